//! End-to-end: `custody migrate` on the planted six-surface key — every place
//! and consumer, a target for each, a policy custody's evaluator confirms
//! grants exactly the used actions, and artefacts that validate (Terraform
//! with `terraform fmt` where it is installed, YAML with a YAML parser).

mod common;
use common::Env;
use std::collections::BTreeSet;
use std::process::Command;

#[test]
fn the_planted_key_migrates_with_every_consumer_and_valid_artefacts() {
    let env = Env::new();
    let (out, answers) = env.synthetic(200);
    env.scan_snapshot(&out);
    let key = answers["scenarios"][0]["access_key_id"].as_str().unwrap();
    let dir = env.path("migration");
    let m = env
        .run(&[
            "--format",
            "json",
            "migrate",
            key,
            "--out",
            dir.to_str().unwrap(),
        ])
        .ok()
        .json();
    let kinds: BTreeSet<&str> = m["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    // With IAM itself, the six surfaces the answers list.
    assert_eq!(
        kinds,
        BTreeSet::from([
            "aws_secretsmanager_secret",
            "git_blob",
            "github_actions_secret",
            "k8s_secret",
            "mcp_config"
        ]),
        "{m:#}"
    );
    let surfaces = answers["scenarios"][0]["surfaces"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(surfaces, 6);
    let targets: BTreeSet<&str> = m["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["target"]["kind"].as_str().unwrap())
        .collect();
    assert!(
        targets.contains("github-actions-oidc")
            && targets.contains("eks-irsa")
            && targets.contains("iam-identity-center")
    );
    let lp = &m["least_privilege"];
    assert_eq!(lp["grants_every_used_action"], true, "{lp:#}");
    assert_eq!(lp["denies_everything_else"], true, "{lp:#}");
    assert!(
        lp["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a.as_str().unwrap().starts_with("s3:")),
        "{lp:#}"
    );
    assert!(m["checklist"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .as_str()
        .unwrap()
        .contains("delete-access-key"));

    // The artefacts.
    let tf = std::fs::read_to_string(dir.join("main.tf")).unwrap();
    assert!(
        tf.contains("resource \"aws_iam_role\"")
            && tf.contains("token.actions.githubusercontent.com")
    );
    if Command::new("terraform")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        let fmt = Command::new("terraform")
            .args(["fmt", "-check", "-diff"])
            .current_dir(&dir)
            .env("TF_CLI_CONFIG_FILE", "/dev/null")
            .output()
            .unwrap();
        assert!(
            fmt.status.success(),
            "terraform fmt:\n{}",
            String::from_utf8_lossy(&fmt.stdout)
        );
    }
    for f in ["github-workflow.yml", "serviceaccount.yaml"] {
        let p = dir.join(f);
        assert!(p.exists(), "{f}");
        let parsed = Command::new("python3")
            .args([
                "-c",
                "import sys, yaml; list(yaml.safe_load_all(open(sys.argv[1])))",
                p.to_str().unwrap(),
            ])
            .output();
        if let Ok(o) = parsed {
            let err = String::from_utf8_lossy(&o.stderr);
            // Only where PyYAML is there to ask.
            if !err.contains("No module named") {
                assert!(o.status.success(), "{f} is not YAML: {err}");
            }
        }
    }
    let sa = std::fs::read_to_string(dir.join("serviceaccount.yaml")).unwrap();
    assert!(sa.contains("eks.amazonaws.com/role-arn: arn:aws:iam::"));
    let wf = std::fs::read_to_string(dir.join("github-workflow.yml")).unwrap();
    assert!(wf.contains("id-token: write") && wf.contains("role-to-assume:"));
}
