//! End-to-end: `custody findings` on a synthetic company whose planted leaver
//! key also sits in six places: the posture rules find exactly what was planted.

mod common;
use common::Env;
use std::collections::BTreeSet;

#[test]
fn findings_match_the_planted_answers() {
    let env = Env::new();
    let (out, answers) = env.synthetic(200);
    env.scan_snapshot(&out);
    let planted = &answers["scenarios"][0];
    let key = format!(
        "aws-access-key:{}",
        planted["access_key_id"].as_str().unwrap()
    );

    let report = env.run(&["--format", "json", "findings"]).ok().json();
    let findings = report["findings"].as_array().unwrap();
    let of = |rule: &str| -> BTreeSet<String> {
        findings
            .iter()
            .filter(|f| f["rule"] == rule)
            .map(|f| f["identity"].as_str().unwrap().to_string())
            .collect()
    };
    // Improper offboarding: exactly the active keys whose accountable owner
    // left (a person's own user's keys are theirs), and the secrets of Entra
    // apps whose owner left.
    let mut leavers: BTreeSet<String> = answers["expected"]["terminated_owner_active_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| format!("aws-access-key:{}", k.as_str().unwrap()))
        .collect();
    leavers.extend(
        answers["expected"]["terminated_owner_entra_credentials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_string()),
    );
    // The planted leaver's credentials whose accountable owner is the leaver
    // (Terraform authorship counts; the one a colleague's tag contests does
    // not); the Kubernetes token is keyed by its value's fingerprint.
    let leaver = &answers["expected"]["offboarding"];
    for i in leaver["identities"].as_array().unwrap() {
        let k = i["identity"].as_str().unwrap();
        let why = i["evidence"].as_str().unwrap();
        let credential = k.starts_with("aws-access-key:")
            || k.starts_with("id:github-")
            || k.starts_with("id:okta-api-token/")
            || k.starts_with("id:gcp-sa-key/")
            || k.starts_with("id:vault-secret-id/");
        if credential && !why.contains("conflict") {
            leavers.insert(k.to_string());
        }
    }
    let found = of("owner-left");
    let extra: Vec<&String> = found.difference(&leavers).collect();
    assert!(
        extra.len() == 1 && extra[0].starts_with("fp:"),
        "only the leaver's Kubernetes token (by fingerprint) beyond the answers: {extra:?}"
    );
    assert!(
        leavers.is_subset(&found),
        "{:?}",
        leavers.difference(&found).collect::<Vec<_>>()
    );
    let f = findings
        .iter()
        .find(|f| f["rule"] == "owner-left" && f["identity"] == key.as_str())
        .unwrap();
    assert_eq!(
        f["evidence"]["manager"],
        format!("email:{}", planted["owner_manager_email"].as_str().unwrap())
    );
    // The six-surface key: history, plain text, CI, reuse; it is the only one.
    for rule in [
        "secret-in-git-history",
        "ci-static-cloud-key",
        "credential-reused",
    ] {
        assert_eq!(of(rule), BTreeSet::from([key.clone()]), "{rule}");
    }
    // Outside a vault: the key, the database passwords the clusters keep in
    // Kubernetes Secrets, and the planted agent's credentials (its host's AWS
    // key among them); no other access key.
    let agent: BTreeSet<&str> = answers["expected"]["agent"]["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["key"].as_str())
        .collect();
    let outside = of("secret-outside-vault");
    assert!(outside.contains(&key));
    assert!(
        outside
            .iter()
            .all(|k| k == &key || k.starts_with("fp:") || agent.contains(k.as_str())),
        "{outside:?}"
    );
    assert!(!of("oidc-trust-without-subject").is_empty());
    assert!(!of("admin-credential").is_empty());
    // Every finding carries its risk, rule and remediation; most severe first.
    assert_eq!(findings[0]["severity"], "critical");
    assert!(findings
        .iter()
        .all(|f| f["owasp"].as_str().unwrap().starts_with("NHI")
            && !f["remediation"].as_str().unwrap().is_empty()));

    // Each planted posture case: found, and its negative not. Periods count
    // from the snapshot's date (`--as-of`), not the clock's.
    let dated = env
        .run(&["--format", "json", "findings", "--as-of", "2026-11-01"])
        .ok()
        .json();
    let dated = dated["findings"].as_array().unwrap();
    let planted = answers["expected"]["posture"].as_object().unwrap();
    assert_eq!(planted.len(), 5);
    for (rule, case) in planted {
        let hits: Vec<&serde_json::Value> = dated
            .iter()
            .filter(|f| f["rule"] == rule.as_str())
            .collect();
        let named = |who: &serde_json::Value| {
            hits.iter()
                .any(|f| f["identity"] == *who || f["evidence"]["root"] == *who)
        };
        for who in case["found"].as_array().unwrap() {
            assert!(named(who), "{rule} misses {who}");
        }
        for who in case["not_found"].as_array().into_iter().flatten() {
            assert!(!named(who), "{rule} fires on its negative {who}");
        }
    }
    // Rules whose answer the generator knows for the whole enterprise: exactly
    // those identities (the root key, found by key-not-rotated too, aside).
    let exact = answers["expected"]["posture_exact"].as_object().unwrap();
    assert_eq!(exact.len(), 4, "{:?}", exact.keys());
    for (rule, want) in exact {
        let want: BTreeSet<&str> = want
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let got: BTreeSet<&str> = dated
            .iter()
            .filter(|f| f["rule"] == rule.as_str())
            .map(|f| f["identity"].as_str().unwrap())
            .filter(|k| !k.starts_with("aws-key-created:"))
            .collect();
        assert_eq!(got, want, "{rule}");
    }
    // Only the planted account's root has a key.
    assert_eq!(
        dated
            .iter()
            .filter(|f| f["rule"] == "root-access-key")
            .count(),
        1
    );

    // With reach: a key that can become an administrator through a role chain
    // is admin-equivalent (with its path); a key whose S3 access is cut by a
    // deny is not; the planted six-surface key is the riskiest identity.
    let reach = env
        .run(&[
            "--format",
            "json",
            "findings",
            "--as-of",
            "2026-11-01",
            "--reach",
            "--top",
            "5",
        ])
        .ok()
        .json();
    let planted_reach = answers["expected"]["reachability"].as_array().unwrap();
    let key_of = |id: &str| {
        let a = planted_reach.iter().find(|r| r["id"] == id).unwrap();
        format!("aws-access-key:{}", a["access_key_id"].as_str().unwrap())
    };
    let admin_eq: Vec<&serde_json::Value> = reach["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "admin-equivalent")
        .collect();
    let chain = admin_eq
        .iter()
        .find(|f| f["identity"] == key_of("role-chain-to-restricted-secret").as_str())
        .expect("the role-chain key is admin-equivalent");
    let path = chain["evidence"]["path"].as_array().unwrap();
    assert!(path.len() >= 3, "{path:?}");
    assert!(path
        .last()
        .unwrap()
        .as_str()
        .unwrap()
        .starts_with("administrator of account"));
    assert!(!admin_eq
        .iter()
        .any(|f| f["identity"] == key_of("explicit-deny-overrides-allow").as_str()));
    let risk = reach["risk"].as_array().unwrap();
    assert_eq!(risk.len(), 5);
    assert_eq!(risk[0]["identity"], key.as_str());
    assert!(risk[0]["reach"]["resources"].as_u64().unwrap() > 0);
    assert!(risk
        .windows(2)
        .all(|w| w[0]["risk"].as_f64() >= w[1]["risk"].as_f64()));
    // Without --reach the rule is named as not run, and risk has no reach.
    assert!(dated.iter().all(|f| f["rule"] != "admin-equivalent"));

    // SARIF for code-scanning dashboards, OCSF Detection Findings for SIEMs.
    let sarif = env.run(&["--format", "sarif", "findings"]).ok().json();
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(run["results"].as_array().unwrap().len(), findings.len());
    let rule_ids: BTreeSet<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(run["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| rule_ids.contains(r["ruleId"].as_str().unwrap())
            && r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].is_string()));
    let ocsf = env.run(&["--format", "ocsf", "findings"]).ok().stdout;
    let events: Vec<serde_json::Value> = ocsf
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), findings.len());
    for e in &events {
        assert_eq!(e["class_uid"], 2004);
        assert_eq!(e["type_uid"], 200401);
        assert_eq!(e["category_uid"], 2);
        assert!((1..=6).contains(&e["severity_id"].as_u64().unwrap()));
        assert!(e["time"].as_i64().unwrap() > 1_700_000_000_000);
        assert!(e["finding_info"]["uid"].is_string() && e["finding_info"]["title"].is_string());
        assert_eq!(e["metadata"]["product"]["name"], "custody");
    }
    let r = env.run(&["--format", "ocsf", "stats"]);
    assert_eq!(r.code, 2);

    // Recorded in the graph: Finding nodes with HAS_FINDING edges, queryable;
    // recording again changes nothing.
    let r = env.run(&["findings", "--record", "--limit", "1"]).ok();
    assert!(
        r.stderr
            .contains(&format!("recorded {} finding(s)", findings.len())),
        "{}",
        r.stderr
    );
    let q = format!(
        "MATCH (k:Credential)-[:HAS_FINDING]->(f:Finding) WHERE k.key = '{key}' RETURN f.kind AS rule ORDER BY rule"
    );
    let rows = env.run(&["--format", "json", "query", &q]).ok().json();
    let recorded: Vec<&str> = rows["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert!(
        recorded.contains(&"owner-left") && recorded.contains(&"secret-in-git-history"),
        "{recorded:?}"
    );
    let count = |env: &Env| {
        env.run(&[
            "--format",
            "json",
            "query",
            "MATCH (f:Finding) RETURN count(f) AS n",
        ])
        .ok()
        .json()["rows"][0]["n"]
            .as_u64()
            .unwrap() as usize
    };
    assert_eq!(count(&env), findings.len());
    env.run(&["findings", "--record", "-q"]).ok();
    assert_eq!(count(&env), findings.len());
    let r = env.run(&["findings", "--record", "--rule", "owner-left"]);
    assert_eq!(r.code, 2);

    // Filters, the rule list and mistakes.
    let high = env
        .run(&["--format", "json", "findings", "--severity", "high"])
        .ok()
        .json();
    assert!(high["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["severity"] == "high" || f["severity"] == "critical"));
    let table = env.run(&["findings", "--list-rules"]).ok().stdout;
    assert!(table.contains("oidc-trust-without-subject"));
    let r = env.run(&["findings", "--rule", "nope"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no rule `nope`"), "{}", r.stderr);
    let r = env.run(&["findings", "--severity", "severe"]);
    assert_eq!(r.code, 2);
}
