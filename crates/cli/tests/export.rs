//! End-to-end: `custody export` in each format on a synthetic company, checked
//! against the format's rules (BloodHound OpenGraph's node and edge schema, CSV
//! quoting) and against each other.

mod common;
use common::Env;
use serde_json::Value;
use std::collections::HashSet;

fn primitive(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

#[test]
fn exports_agree_and_opengraph_follows_its_schema() {
    let env = Env::new();
    let (out, answers) = env.synthetic(200);
    env.scan_snapshot(&out);
    let key = format!(
        "aws-access-key:{}",
        answers["scenarios"][0]["access_key_id"].as_str().unwrap()
    );

    // JSON, to standard output.
    let json = env.run(&["--format", "json", "export"]).ok();
    assert!(json.stderr.contains("exported"), "{}", json.stderr);
    let json: Value = serde_json::from_str(&json.stdout).unwrap();
    let nodes = json["nodes"].as_array().unwrap();
    let edges = json["edges"].as_array().unwrap();
    assert!(nodes.len() > 1000 && edges.len() > nodes.len());
    let keys: HashSet<&str> = nodes.iter().map(|n| n["key"].as_str().unwrap()).collect();
    assert_eq!(keys.len(), nodes.len(), "node keys are unique");
    for e in edges {
        assert!(keys.contains(e["src_key"].as_str().unwrap()));
        assert!(keys.contains(e["dst_key"].as_str().unwrap()));
    }
    let stored_in = edges
        .iter()
        .filter(|e| e["src_key"] == key.as_str() && e["kind"] == "STORED_IN")
        .count();
    assert!(stored_in >= 6, "{key} has {stored_in} surfaces");

    // OpenGraph, to a file.
    let og_path = env.path("out/graph.opengraph.json");
    env.run(&[
        "--format",
        "opengraph",
        "export",
        "--out",
        og_path.to_str().unwrap(),
    ])
    .ok();
    let og: Value = serde_json::from_slice(&std::fs::read(&og_path).unwrap()).unwrap();
    assert_eq!(og["metadata"]["source_kind"], "Custody");
    let og_nodes = og["graph"]["nodes"].as_array().unwrap();
    let og_edges = og["graph"]["edges"].as_array().unwrap();
    assert_eq!((og_nodes.len(), og_edges.len()), (nodes.len(), edges.len()));
    let mut ids = HashSet::new();
    for n in og_nodes {
        let id = n["id"].as_str().unwrap();
        assert!(!id.is_empty() && ids.insert(id), "ids are unique: {id}");
        // With the source kind BloodHound adds, at most three kinds.
        let kinds = n["kinds"].as_array().unwrap();
        assert!((1..=2).contains(&kinds.len()), "{n}");
        assert!(kinds
            .iter()
            .all(|k| k.as_str().is_some_and(|k| k.starts_with("NHI"))));
        for (p, v) in n["properties"].as_object().unwrap() {
            let ok = primitive(v)
                || v.as_array().is_some_and(|a| {
                    a.iter().all(primitive)
                        && a.windows(2)
                            .all(|w| std::mem::discriminant(&w[0]) == std::mem::discriminant(&w[1]))
                });
            assert!(ok, "property {p} of {id} is not flat: {v}");
        }
    }
    let mut kinds = HashSet::new();
    for e in og_edges {
        let kind = e["kind"].as_str().unwrap();
        assert!(
            !kind.is_empty() && kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{kind}"
        );
        kinds.insert(kind.to_string());
        for end in ["start", "end"] {
            assert_eq!(e[end]["match_by"], "id");
            assert!(ids.contains(e[end]["value"].as_str().unwrap()));
        }
    }
    for k in ["StoredIn", "AuthenticatesAs", "OwnedBy", "HasPolicy"] {
        assert!(kinds.contains(k), "{k} in {kinds:?}");
    }
    let planted = og_nodes.iter().find(|n| n["id"] == key.as_str()).unwrap();
    assert_eq!(planted["kinds"][0], "NHICredential");
    assert_eq!(planted["kinds"][1], "NHIAwsAccessKey");

    // CSV: two files, one row per node and edge, properties as JSON text.
    let dir = env.path("out/csv");
    env.run(&["--format", "csv", "export", "--out", dir.to_str().unwrap()])
        .ok();
    let mut r = csv::Reader::from_path(dir.join("nodes.csv")).unwrap();
    assert_eq!(
        r.headers().unwrap(),
        vec!["id", "label", "kind", "system", "key", "name", "properties"]
    );
    let rows: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), nodes.len());
    for row in &rows {
        let props: Value = serde_json::from_str(&row[6]).unwrap();
        assert!(props.is_object());
    }
    let mut r = csv::Reader::from_path(dir.join("edges.csv")).unwrap();
    assert_eq!(
        r.headers().unwrap(),
        vec![
            "id",
            "kind",
            "src",
            "src_key",
            "dst",
            "dst_key",
            "properties"
        ]
    );
    assert_eq!(r.records().count(), edges.len());

    // Mistakes are usage errors.
    let r = env.run(&["--format", "csv", "export"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--out DIR"), "{}", r.stderr);
    let r = env.run(&["--format", "opengraph", "stats"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("export"), "{}", r.stderr);
}
