//! End-to-end: `custody query` over an ingested synthetic enterprise.

mod common;
use common::Env;

#[test]
fn query_answers_from_the_stored_graph_and_refuses_writes() {
    let env = Env::new();
    let (_, answers) = env.synthetic(200);
    let key = answers["scenarios"][0]["access_key_id"].as_str().unwrap();
    let owner = answers["scenarios"][0]["owner_email"].as_str().unwrap();

    // The planted key, by parameter, to its owner through its principal.
    let r = env
        .run(&[
            "--format",
            "json",
            "query",
            "MATCH (k:Credential)-[:AUTHENTICATES_AS]->(p:Principal)-[:OWNED_BY]->(h:Human) WHERE k.key = $k RETURN p.name AS principal, h.key AS owner, h.employment_status AS status",
            "--param",
            &format!("k=aws-access-key:{key}"),
        ])
        .ok()
        .json();
    assert_eq!(
        r["columns"],
        serde_json::json!(["principal", "owner", "status"])
    );
    assert_eq!(r["rows"][0]["owner"], format!("email:{owner}"));
    assert_eq!(r["rows"][0]["status"], "terminated");

    // Aggregation over a label scan, as a table.
    let t = env
        .run(&[
            "query",
            "MATCH (k:aws_access_key) RETURN k.status AS status, count(*) AS keys ORDER BY status",
        ])
        .ok();
    assert!(t.stdout.contains("Active"), "{}", t.stdout);

    // Saved questions: listed, answered, and their parameters required.
    assert!(env
        .run(&["ask"])
        .ok()
        .stdout
        .contains("leavers-active-keys"));
    let leavers = env
        .run(&["--format", "json", "ask", "leavers-active-keys"])
        .ok()
        .json();
    assert!(leavers["rows"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["owner"] == format!("email:{owner}")));
    // Every other saved question answers on the company (the ones whose
    // answer the synthetic export holds, with rows).
    let manager = answers["scenarios"][0]["owner_manager_email"]
        .as_str()
        .unwrap();
    for (name, param, rows) in [
        ("most-copied", None, true),
        ("in-git-history", None, false),
        ("mcp-config-credentials", None, false),
        ("ci-secrets", None, false),
        ("kubernetes-secrets", None, true),
        ("role-chains", None, true),
        ("terminated-people", None, true),
        ("reports-of", Some(format!("manager=email:{manager}")), true),
        ("group-members", Some("group=Everyone".to_string()), true),
    ] {
        let mut args = vec!["--format", "json", "ask", name];
        if let Some(p) = &param {
            args.extend(["--param", p.as_str()]);
        }
        let r = env.run(&args).ok().json();
        let n = r["rows"].as_array().map_or(0, Vec::len);
        assert!(!rows || n > 0, "{name}: no rows");
    }
    let r = env
        .run(&[
            "--format",
            "json",
            "ask",
            "reports-of",
            "--param",
            &format!("manager=email:{manager}"),
        ])
        .ok()
        .json();
    assert!(r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["person"] == format!("email:{owner}")));
    let r = env.run(&["ask", "surfaces"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--param credential="), "{}", r.stderr);

    // Errors: located syntax errors, writes refused, unbounded scans refused.
    for (q, says) in [
        ("MATCH (k:Credential RETURN k", "line 1, column 21"),
        ("MATCH (k:Credential) DETACH DELETE k", "read-only"),
        ("MATCH (n) RETURN n", "must start from a key, a label"),
    ] {
        let r = env.run(&["query", q]);
        assert_eq!(r.code, 2, "{q}");
        assert!(r.stderr.contains(says), "{q}: {}", r.stderr);
    }
}
