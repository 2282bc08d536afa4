//! End-to-end: `custody demo`, the README's one command, on a small company:
//! it exits 0 only when every planted answer holds (the six-surface key and
//! its owner, reachability, usage alerts and stale keys, posture, the
//! GitHub → AWS → GCP federation chain).

mod common;
use common::Env;

#[test]
fn the_demo_checks_every_planted_answer_and_passes() {
    let env = Env::new();
    let dir = env.path("demo");
    let run = env
        .run(&["demo", "--people", "150", "--dir", dir.to_str().unwrap()])
        .ok();
    let out = &run.stdout;
    for step in [
        "1. Generated",
        "2. Ingested",
        "3. The planted scenario",
        "4. What that key can reach",
        "5. How they were really used",
        "6. What is wrong",
        "7. Explore the same database",
    ] {
        assert!(out.contains(step), "missing `{step}` in:\n{out}");
    }
    assert!(!out.contains('✗'), "a planted answer failed:\n{out}");
    assert!(out.contains("planted posture checks hold"), "{out}");
    assert!(
        out.contains("GitHub workflow → AWS role → Google Cloud service account is one path"),
        "{out}"
    );
    // JSON says the same, for scripts.
    let json = env
        .run(&[
            "--format",
            "json",
            "demo",
            "--people",
            "150",
            "--dir",
            dir.to_str().unwrap(),
        ])
        .ok()
        .json();
    assert_eq!(json["planted"]["detected"], true);
    assert_eq!(json["posture"]["wrong"].as_array().unwrap().len(), 0);
    assert!(json["posture"]["checks"].as_u64().unwrap() >= 15);
    // One subject across three clouds: workflow → AWS role → GCP service account.
    assert_eq!(json["federation"]["holds"], true);
    let chain = json["federation"]["chain"].as_array().unwrap();
    let fed = &json["answers"]["expected"]["federation"];
    assert_eq!(chain[0]["to"]["key"], fed["aws_role"]);
    assert_eq!(chain[0]["how"]["via"], "github-actions-oidc");
    assert_eq!(chain[0]["trust_accepts"], true);
    let sa = format!("email:{}", fed["gcp_service_account"].as_str().unwrap());
    assert!(
        chain
            .iter()
            .any(|h| h["to"]["key"] == sa.as_str() && h["from"]["key"] == fed["aws_role"]),
        "{chain:?}"
    );
    // The same workflow logs in to Azure as the planted app.
    let app = format!("id:azure-app/{}", fed["azure_client_id"].as_str().unwrap());
    assert!(
        chain.iter().any(|h| h["to"]["key"] == app.as_str()),
        "{chain:?}"
    );
    // One blast radius across the three clouds, each resource with its path,
    // and the seed's question answered as planted.
    let cc = &json["cross_cloud"];
    assert_eq!(cc["holds"], true, "{cc}");
    for hit in cc["clouds"].as_array().unwrap() {
        assert!(
            !hit["found"]["path"].as_array().unwrap().is_empty(),
            "{hit}"
        );
    }
    assert_eq!(cc["question_found"], fed["cross_cloud_keys"]);
    // Read backwards from the Google Cloud bucket: the static key and the
    // repository's deploy key are among who reaches it.
    let bucket = fed["reaches"]["gcp"].as_str().unwrap();
    let by = env
        .run(&[
            "--format",
            "json",
            "blast-radius",
            "--reaching",
            bucket,
            "--limit",
            "0",
        ])
        .ok()
        .json();
    let by = if by.is_array() { by[0].clone() } else { by };
    let who: Vec<&str> = by["reachers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["credential"].as_str())
        .collect();
    let bridge = fed["cross_cloud_keys"][0].as_str().unwrap();
    assert!(who.contains(&bridge), "{who:?}");
    // That key is also kept in the vault: its scanned value joins the secret
    // the Key Vault listing names.
    let shown = env.run(&["--format", "json", "show", bridge]).ok().json();
    assert!(
        shown["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "STORED_IN" && e["other"]["kind"] == "azure_key_vault_secret"),
        "{}",
        shown["edges"]
    );
    assert!(
        who.contains(&fed["deploy_key"].as_str().unwrap()),
        "{who:?}"
    );
    // The planted leaver: exactly the 14 identities across 6 systems, to the manager.
    let off = &json["offboarding"];
    assert_eq!(off["holds"], true, "{off}");
    assert_eq!(off["found"], 14);
    assert_eq!(off["systems"].as_array().unwrap().len(), 6);
    let leaver = &json["answers"]["expected"]["offboarding"];
    // The demo wrote the environment's database (`--db`): ask it.
    let email = leaver["email"].as_str().unwrap();
    let report = env
        .run(&["--format", "json", "offboard", email, "--no-blast-radius"])
        .ok()
        .json();
    assert_eq!(report["identities"].as_array().unwrap().len(), 14);
    assert_eq!(report["manager"]["email"], leaver["manager"]);
    // The conflict is shown: the colleague's owner tag against the leaver's code.
    let contested = report["identities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["relation"] == "creator (contested)")
        .expect("the contested key");
    assert!(contested["evidence"].as_array().unwrap().len() >= 2);
    assert_eq!(contested["to"], serde_json::Value::Null);
    // The Terraform-only role: its owner is the leaver, from the commit they made
    // under their GitHub noreply address (merged through the SAML identity).
    let role = leaver["identities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["identity"].as_str().unwrap().contains(":role/"))
        .unwrap()["identity"]
        .as_str()
        .unwrap()
        .to_string();
    let owner = env.run(&["--format", "json", "owner", &role]).ok().json();
    assert_eq!(owner["owner"]["email"], leaver["email"]);
    assert_eq!(owner["evidence"][0]["method"], "iac-author");
    assert_eq!(owner["route"]["to"]["email"], leaver["manager"]);
    let csv = env
        .run(&["--format", "csv", "orphans", "--reason", "owner-left"])
        .ok();
    assert!(csv
        .stdout
        .starts_with("identity,kind,reason,former_owner,confidence,proposed_owner,why"));
    assert!(
        csv.stdout.contains(&role),
        "the role is an orphan routed to the manager"
    );
    assert_eq!(
        json["posture"]["risk"][0]["identity"],
        format!(
            "aws-access-key:{}",
            json["answers"]["scenarios"][0]["access_key_id"]
                .as_str()
                .unwrap()
        )
    );
}

/// A second demo into a folder one is running in is refused before it
/// touches a file there: clearing the folder under a running demo corrupted
/// its database.
#[test]
fn a_second_demo_in_the_same_folder_is_refused_and_clears_nothing() {
    let env = Env::new();
    let dir = env.path("demo");
    let db = env.write("demo/custody.db", b"the running demo's database");
    let snapshot = env.write("demo/snapshot/okta/users.json", b"[]");
    // The running demo: a process holding the folder's lock.
    let held = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(dir.join("demo.lock"))
        .unwrap();
    held.try_lock().unwrap();
    std::fs::write(dir.join("demo.lock"), "4242").unwrap();
    let run = env.run(&["demo", "--people", "20", "--dir", dir.to_str().unwrap()]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stderr.contains("another `custody demo` is running in")
            && run.stderr.contains("(process 4242)"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        b"the running demo's database".to_vec()
    );
    assert!(snapshot.exists());
    drop(held);
}
