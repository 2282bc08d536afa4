//! Privilege escalation on a lab account nobody planted for the synthetic
//! company: `fixtures/iam-escalation` (written by `make.py` as
//! `get-account-authorization-details`, `lambda list-functions` and
//! `ec2 describe-instances` export it) holds one principal per technique
//! that escalates and one near miss per technique that does not.
//! `custody escalations` must name exactly the first set; `findings --reach`
//! reports each as `admin-equivalent`, and `blast-radius` shows the path.

mod common;
use common::Env;
use serde_json::Value;
use std::collections::BTreeSet;

fn lab() -> (Env, Value) {
    let env = Env::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/iam-escalation/111122223333");
    env.run(&["ingest", dir.to_str().unwrap()]).ok();
    let answers: Value =
        serde_json::from_slice(&common::fixture("iam-escalation/answers.json")).unwrap();
    (env, answers)
}

fn names(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn every_technique_is_found_and_no_near_miss_is() {
    let (env, answers) = lab();
    let out = env.run(&["--format", "json", "escalations"]).ok().json();
    let found: BTreeSet<String> = out["escalating"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect();
    let want = names(&answers["escalates"]);
    let near = names(&answers["does_not"]);
    let false_alarms: Vec<_> = found.intersection(&near).collect();
    let missed: Vec<_> = want.difference(&found).collect();
    assert!(false_alarms.is_empty(), "false alarms: {false_alarms:?}");
    assert!(missed.is_empty(), "missed: {missed:?}");
    assert_eq!(out["administrators"], 2, "admin-ana and high-priv-role");
    let by_name = |n: &str| {
        out["escalating"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == n)
            .unwrap()
            .clone()
    };
    // Each is found by the technique it was built for (or, for the power
    // user, by one of the service techniques it allows).
    for (name, a) in answers["escalates"].as_object().unwrap() {
        let e = by_name(name);
        let techniques: Vec<&str> = e["techniques"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        let t = a["technique"].as_str().unwrap();
        if name != "esc-power-user" {
            assert!(techniques.contains(&t), "{name}: {techniques:?}");
        }
    }
    // Stacks, dev endpoints, notebooks, build projects and tasks are not
    // inventoried: those paths are potential, and say what would settle them.
    let stack = by_name("esc-cloudformation-update-stack");
    assert_eq!(stack["potential"], "aws cloudformation describe-stacks");
    // Functions and instances are: those paths are certain.
    for n in ["esc-update-function-code", "esc-ssm-send-command"] {
        let e = by_name(n);
        assert!(
            e["potential"].is_null() && e["conditional"] == false,
            "{n}: {e}"
        );
    }
    // A grant resting on MFA is conditional; one on a region the caller picks is not.
    assert_eq!(by_name("esc-mfa-create-access-key")["conditional"], true);
    assert_eq!(by_name("esc-passrole-cloudformation")["conditional"], false);
    // The chain: user → helpdesk-role → admin-ana → the account.
    let chain_user = by_name("esc-chain-user");
    let chain: Vec<&str> = chain_user["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["how"].as_str().unwrap())
        .collect();
    assert_eq!(chain[1], "sts:AssumeRole");
    assert_eq!(chain[2], "escalation: create-access-key");
}

#[test]
fn findings_reach_reports_principals_without_access_keys() {
    let (env, answers) = lab();
    let out = env
        .run(&[
            "--format",
            "json",
            "findings",
            "--reach",
            "--rule",
            "admin-equivalent",
        ])
        .ok()
        .json();
    let flagged: BTreeSet<String> = out["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "admin-equivalent")
        .map(|f| {
            let id = f["identity"].as_str().unwrap();
            id.rsplit('/').next().unwrap().to_string()
        })
        .collect();
    assert_eq!(flagged, names(&answers["escalates"]));
    // The path is the evidence.
    let one = out["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["identity"]
                .as_str()
                .unwrap()
                .ends_with("user/esc-passrole-ec2")
        })
        .unwrap();
    let path = one["evidence"]["path"].as_array().unwrap();
    assert!(
        path[1]
            .as_str()
            .unwrap()
            .contains("high-priv-role (escalation: passrole-ec2)"),
        "{path:?}"
    );
}

#[test]
fn blast_radius_marks_a_potential_step_and_names_the_export() {
    let (env, _) = lab();
    let out = env
        .run(&[
            "blast-radius",
            "arn:aws:iam::111122223333:user/esc-update-glue-dev-endpoint",
        ])
        .ok();
    assert!(
        out.stdout
            .contains("[potential: ingest `aws glue get-dev-endpoints / get-jobs` to settle]"),
        "{}",
        out.stdout
    );
}
