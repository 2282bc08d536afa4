//! End-to-end: `custody respond` plans for the planted six-surface key: every
//! place and consumer, in an order that cannot cause an outage.

mod common;
use common::Env;
use std::collections::BTreeSet;

#[test]
fn response_plans_cover_every_copy_in_a_safe_order() {
    let env = Env::new();
    let (out, answers) = env.synthetic(200);
    env.scan_snapshot(&out);
    let key = answers["scenarios"][0]["access_key_id"].as_str().unwrap();

    let plan = env
        .run(&["--format", "json", "respond", key, "--action", "rotate"])
        .ok()
        .json();
    assert_eq!(plan["credential"], format!("aws-access-key:{key}"));
    assert_eq!(
        plan["principal"],
        answers["scenarios"][0]["principal_arn"].as_str().unwrap()
    );
    let kinds: BTreeSet<&str> = plan["places"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            "aws_secretsmanager_secret",
            "git_blob",
            "github_actions_secret",
            "k8s_secret",
            "mcp_config"
        ])
    );
    let consumers: Vec<&str> = plan["places"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["consumers"].as_array().unwrap())
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(
        consumers
            .iter()
            .any(|c| c.starts_with("uri:github-workflow://")),
        "{consumers:?}"
    );
    assert!(
        consumers.iter().any(|c| c.starts_with("uri:mcp://")),
        "{consumers:?}"
    );
    let steps = plan["steps"].as_array().unwrap();
    let command = |i: usize| steps[i]["command"].as_str().unwrap_or("");
    // Replacement first; the old key is deactivated only after every copy is
    // updated, and deleted last.
    assert!(command(0).starts_with("aws iam create-access-key"));
    let deactivate = steps
        .iter()
        .position(|s| {
            s["command"]
                .as_str()
                .is_some_and(|c| c.contains("--status Inactive"))
        })
        .unwrap();
    let updates: Vec<usize> = steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s["system"] != "aws")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(updates.len(), kinds.len());
    assert!(updates.iter().all(|&u| u < deactivate));
    assert!(command(steps.len() - 1).starts_with("aws iam delete-access-key"));
    assert!(steps.iter().any(|s| s["command"]
        .as_str()
        .is_some_and(|c| c.starts_with("gh secret set AWS_SECRET_ACCESS_KEY --repo "))));

    // A compromise cuts access first; disabling says what will break.
    let revoke = env
        .run(&["--format", "json", "respond", key, "--action", "revoke"])
        .ok()
        .json();
    assert!(revoke["steps"][0]["command"]
        .as_str()
        .unwrap()
        .contains("--status Inactive"));
    let disable = env
        .run(&["respond", key, "--action", "disable"])
        .ok()
        .stdout;
    assert!(disable.contains("will lose access") && disable.contains("custody changes nothing"));

    // Only AWS access keys, for now; unknown actions are usage errors.
    let r = env.run(&[
        "respond",
        answers["scenarios"][0]["principal_arn"].as_str().unwrap(),
        "--action",
        "rotate",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("AWS access keys"), "{}", r.stderr);
    let r = env.run(&["respond", key, "--action", "nuke"]);
    assert_eq!(r.code, 2);
}
