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

    // Only credentials; unknown actions are usage errors.
    let r = env.run(&[
        "respond",
        answers["scenarios"][0]["principal_arn"].as_str().unwrap(),
        "--action",
        "rotate",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("not a credential"), "{}", r.stderr);
    let r = env.run(&["respond", key, "--action", "nuke"]);
    assert_eq!(r.code, 2);
}

/// `respond --execute` deactivates a key through the AWS SDK against a real
/// IAM API (moto): the executed steps are the dry run's, the key is Inactive
/// afterwards as IAM itself reports, the step is logged with who and why, and
/// the secret appears nowhere.
#[test]
fn execute_deactivates_the_key_in_iam() {
    let env = Env::new();
    let moto = common::Moto::start();
    let data = env.path("data");
    let key = moto.iam(&["seed", data.to_str().unwrap()]);
    assert!(key.starts_with("AKIA"), "{key}");
    let dotenv = std::fs::read_to_string(data.join("app/.env")).unwrap();
    let secret = dotenv
        .lines()
        .find_map(|l| l.strip_prefix("AWS_SECRET_ACCESS_KEY="))
        .unwrap()
        .to_string();
    env.run(&["ingest", data.join("aws").to_str().unwrap()])
        .ok();
    env.run(&["scan", data.join("app").to_str().unwrap(), "--ingest"])
        .ok();

    let aws = [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
    ];
    let dry = env
        .run(&[
            "--format",
            "json",
            "respond",
            &key,
            "--action",
            "disable",
            "--dry-run",
        ])
        .ok();
    let reason = "INC-4711: key found in app/.env";
    let mut outputs = vec![dry.stdout.clone(), dry.stderr.clone()];
    let dry = dry.json();
    assert_eq!(dry["user_name"], "svc-payments");

    // Rotation is never executed (it would create a secret); a reason is required.
    let r = env.run_with(
        &[
            "respond",
            &key,
            "--action",
            "rotate",
            "--execute",
            "--yes",
            "--reason",
            "x",
        ],
        &aws,
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("never handles"), "{}", r.stderr);
    let r = env.run(&["respond", &key, "--action", "disable", "--execute", "--yes"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--reason"), "{}", r.stderr);
    // Not at a terminal and no --yes: refused before touching AWS.
    let r = env.run_with(
        &[
            "respond",
            &key,
            "--action",
            "disable",
            "--execute",
            "--reason",
            reason,
        ],
        &aws,
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--yes"), "{}", r.stderr);
    assert_eq!(moto.iam(&["status", "svc-payments", &key]), "Active");

    let run = env
        .run_with(
            &[
                "--format",
                "json",
                "respond",
                &key,
                "--action",
                "disable",
                "--execute",
                "--yes",
                "--reason",
                reason,
                "--endpoint-url",
                &moto.endpoint,
            ],
            &aws,
        )
        .ok();
    outputs.extend([run.stdout.clone(), run.stderr.clone()]);
    let run = run.json();
    // The same steps as the dry run, and the one custody takes is done.
    assert_eq!(run["plan"]["steps"], dry["steps"]);
    let executed = run["executed"].as_array().unwrap();
    let done: Vec<&serde_json::Value> =
        executed.iter().filter(|e| e["outcome"] == "done").collect();
    assert_eq!(done.len(), 1, "{executed:?}");
    assert_eq!(done[0]["operation"], "iam:UpdateAccessKey");
    assert!(
        done[0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("Active → Inactive (request "),
        "{done:?}"
    );
    assert!(executed
        .iter()
        .all(|e| e["outcome"] == "done" || e["outcome"] == "operator"));
    assert_eq!(moto.iam(&["status", "svc-payments", &key]), "Inactive");

    // Again: nothing to change, and said so. A secret pasted into the reason
    // is redacted before it is logged.
    let pasted = ["ghp_", "CustodyExampleNotARealToken0011VcBGt"].concat();
    let careless = format!("{reason}; see {pasted}");
    let again = env
        .run_with(
            &[
                "respond",
                &key,
                "--action",
                "revoke",
                "--execute",
                "--yes",
                "--reason",
                &careless,
                "--endpoint-url",
                &moto.endpoint,
            ],
            &aws,
        )
        .ok();
    assert!(
        again.stdout.contains("already Inactive"),
        "{}",
        again.stdout
    );
    let again_out = format!("{}{}", again.stdout, again.stderr);
    outputs.extend([again.stdout, again.stderr]);

    // The log: who (the local user and the acting key id), when, why, what.
    let history = env
        .run(&["--format", "json", "respond", &key, "--history"])
        .ok();
    outputs.push(history.stdout.clone());
    let history = history.json();
    let rows = history.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["reason"], reason);
    assert_eq!(rows[0]["operation"], "iam:UpdateAccessKey");
    assert_eq!(rows[0]["outcome"], "done");
    assert_eq!(rows[0]["credential"], format!("aws-access-key:{key}"));
    assert!(rows[0]["actor"].as_str().unwrap().contains("testing"));
    let logged = rows[1]["reason"].as_str().unwrap();
    assert!(
        !logged.contains(&pasted) && logged.contains("[REDACTED"),
        "{logged}"
    );
    assert!(!again_out.contains(&pasted));
    assert!(rows[1]["detail"]
        .as_str()
        .unwrap()
        .contains("already Inactive"));

    for text in &outputs {
        assert!(!text.contains(&secret), "the secret leaked into output");
    }
    for suffix in ["", "-wal"] {
        let mut path = env.db().into_os_string();
        path.push(suffix);
        let db = std::fs::read(path).unwrap_or_default();
        assert!(
            !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the secret is in the database"
        );
    }
}

/// Tokens other than AWS keys get a plan too: revoke at the issuer first (with
/// the issuer's own revocation call), then every copy; disabling says it means
/// revoking. Nothing is executed and the value appears nowhere.
#[test]
fn plans_cover_tokens_from_other_issuers() {
    let env = Env::new();
    let token = ["ghp_", "CustodyExampleNotARealToken0011VcBGt"].concat();
    let slack = ["xoxb-", "2222222222-CustodyExampleNotReal"].concat();
    env.write(
        "app/.env",
        format!("GITHUB_TOKEN={token}\nSLACK_BOT_TOKEN={slack}\n").as_bytes(),
    );
    let scanned = env
        .run(&[
            "--format",
            "json",
            "scan",
            env.path("app").to_str().unwrap(),
            "--ingest",
        ])
        .ok()
        .json();
    let credential = |kind: &str| {
        scanned["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["kind"] == kind)
            .unwrap()["credential"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let github = credential("github_token");
    let revoke = env
        .run(&["--format", "json", "respond", &github, "--action", "revoke"])
        .ok();
    assert!(!revoke.stdout.contains(&token));
    let revoke = revoke.json();
    let steps = revoke["steps"].as_array().unwrap();
    assert_eq!(steps[0]["system"], "github");
    assert!(steps[0]["command"]
        .as_str()
        .unwrap()
        .contains("api.github.com/credentials/revoke"));
    assert!(steps.iter().all(|s| s.get("operation").is_none()));
    let last = steps.last().unwrap();
    assert_eq!(last["system"], "file");
    assert!(last["target"].as_str().unwrap().ends_with("app/.env"));
    // Rotation replaces first and revokes last; disabling is revoking.
    let rotate = env
        .run(&["--format", "json", "respond", &github, "--action", "rotate"])
        .ok()
        .json();
    let steps = rotate["steps"].as_array().unwrap();
    assert!(steps[0]["what"]
        .as_str()
        .unwrap()
        .starts_with("create a replacement"));
    assert!(steps.last().unwrap()["what"]
        .as_str()
        .unwrap()
        .starts_with("once nothing uses the old value"));
    let disable = env
        .run(&["respond", &credential("slack_token"), "--action", "disable"])
        .ok();
    assert!(
        disable.stdout.contains("disabling means revoking"),
        "{}",
        disable.stdout
    );
    assert!(disable.stdout.contains("slack.com/api/auth.revoke"));
    assert!(!disable.stdout.contains(&slack));
    // --execute acts on AWS keys only.
    let r = env.run(&[
        "respond",
        &github,
        "--action",
        "revoke",
        "--execute",
        "--yes",
        "--reason",
        "test",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("cannot act on it"), "{}", r.stderr);
    // A principal is not a credential.
    let r = env.run(&["respond", "app/.env", "--action", "revoke"]);
    assert_eq!(r.code, 2);
}
