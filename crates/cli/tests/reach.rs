//! End-to-end: `blast-radius --reaching RESOURCE` (who can reach a resource)
//! agrees with the planted answers and with each credential's own blast radius.

mod common;
use common::Env;
use serde_json::Value;

#[test]
fn who_can_reach_a_resource_is_the_blast_radius_read_backwards() {
    let env = Env::new();
    let (_, answers) = env.synthetic(200);
    let wants = answers["expected"]["reachability"].as_array().unwrap();
    let mut args = vec!["--format", "json", "blast-radius", "--limit", "0"];
    for want in wants {
        args.extend(["--reaching", want["resource"].as_str().unwrap()]);
    }
    let outs = env.run(&args).ok().json();
    let mut sample: Vec<(String, String, Value)> = Vec::new();
    for (want, out) in wants.iter().zip(outs.as_array().unwrap()) {
        let resource = want["resource"].as_str().unwrap();
        let key = format!("aws-access-key:{}", want["access_key_id"].as_str().unwrap());
        assert_eq!(out["resource"], resource);
        let reachers = out["reachers"].as_array().unwrap();
        assert_eq!(
            out["credentials"].as_u64().unwrap() as usize,
            reachers.len()
        );
        let found = reachers.iter().find(|r| r["credential"] == key.as_str());
        assert_eq!(
            found.map(|r| r["access"].clone()).unwrap_or(Value::Null),
            want["access"],
            "{}: {key} on {resource}",
            want["id"]
        );
        if let (Some(r), Some(via)) = (found, want["via"].as_array()) {
            if !via.is_empty() {
                assert_eq!(
                    &r["path"].as_array().unwrap()[..],
                    &via[..],
                    "{}",
                    want["id"]
                );
            }
        }
        for r in reachers.iter().step_by((reachers.len() / 5).max(1)) {
            sample.push((
                r["credential"].as_str().unwrap().to_string(),
                resource.to_string(),
                r["access"].clone(),
            ));
        }
    }
    // Read forwards, each sampled credential reaches its resource the same way.
    assert!(sample.len() >= 10);
    let mut args = vec!["--format", "json", "blast-radius"];
    args.extend(sample.iter().map(|(k, _, _)| k.as_str()));
    let forward = env.run(&args).ok().json();
    for (b, (k, resource, access)) in forward.as_array().unwrap().iter().zip(&sample) {
        let level = b["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["arn"] == resource.as_str())
            .map(|r| r["access"].clone());
        assert_eq!(level.as_ref(), Some(access), "{k} on {resource}");
    }
    // A credential is not a resource.
    let key = answers["scenarios"][0]["access_key_id"].as_str().unwrap();
    let r = env.run(&["blast-radius", "--reaching", key]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("is not a resource custody has inventoried"),
        "{}",
        r.stderr
    );
}
