//! `custody collect okta` against a local server serving Okta's documented
//! answers: cursor pagination in `Link` headers, a 429 with
//! `X-Rate-Limit-Reset` waited out, deprovisioned users (which the default
//! listing leaves out) read too, a listing the token may not read, and the
//! System Log in bounded windows that a second collection continues.

mod common;

use common::{Answer, Env, FakeApi, Seen};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

const TOKEN: &str = "00collectTestOktaTokenNotRealAtAll000000000";

fn user(id: &str, email: &str, status: &str) -> Value {
    json!({"id": id, "status": status, "created": "2022-06-18T10:00:00.000Z",
           "profile": {"login": email, "email": email, "firstName": "A", "lastName": "B"},
           "_links": {"self": {"href": format!("https://acme.okta.com/api/v1/users/{id}")}}})
}

fn query_param<'a>(path: &'a str, name: &str) -> Option<&'a str> {
    path.split_once('?')?
        .1
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
}

fn route(url: &str, limited: &AtomicUsize, req: &Seen) -> Answer {
    let path = req.path.as_str();
    let p = path.split_once('?').map_or(path, |(p, _)| p);
    let ok = |body: Value| Answer::json(200, body);
    match p {
        "/api/v1/users/me" => {
            ok(json!({"id": "00uadmin", "profile": {"login": "auditor@acme.example"}}))
        }
        "/api/v1/users" if path.contains("search=") => ok(json!([user(
            "00ugone",
            "gone@acme.example",
            "DEPROVISIONED"
        )])),
        "/api/v1/users" if query_param(path, "after") == Some("00ubob") => {
            if limited.fetch_add(1, Ordering::SeqCst) == 0 {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                let mut a = Answer::json(
                    429,
                    json!({"errorCode": "E0000047", "errorSummary": "API call exceeded rate limit due to too many requests."}),
                );
                a.headers
                    .push(("x-rate-limit-remaining".into(), "0".into()));
                a.headers
                    .push(("x-rate-limit-reset".into(), now.to_string()));
                return a;
            }
            ok(json!([user("00ucarol", "carol@acme.example", "ACTIVE")]))
        }
        "/api/v1/users" => {
            let mut a = ok(json!([
                user("00uana", "ana@acme.example", "ACTIVE"),
                user("00ubob", "bob@acme.example", "SUSPENDED")
            ]));
            a.headers.push((
                "link".into(),
                format!(r#"<{url}/api/v1/users?limit=200>; rel="self", <{url}/api/v1/users?after=00ubob&limit=200>; rel="next""#),
            ));
            a
        }
        "/api/v1/groups" => ok(
            json!([{"id": "00gops", "type": "OKTA_GROUP", "profile": {"name": "ops", "description": "ops"}}]),
        ),
        "/api/v1/groups/00gops/users" => ok(json!([user("00uana", "ana@acme.example", "ACTIVE")])),
        "/api/v1/apps" => ok(
            json!([{"id": "0oasync", "name": "oidc_client", "label": "sync-service", "status": "ACTIVE",
            "signOnMode": "OPENID_CONNECT", "created": "2024-01-01T00:00:00.000Z",
            "credentials": {"oauthClient": {"client_id": "0oasync", "token_endpoint_auth_method": "client_secret_basic"}},
            "settings": {"oauthClient": {"application_type": "service", "grant_types": ["client_credentials"]}}}]),
        ),
        "/api/v1/apps/0oasync/grants" => ok(json!([])),
        "/api/v1/api-tokens" => Answer::json(
            403,
            json!({"errorCode": "E0000006", "errorSummary": "You do not have permission to perform the requested action"}),
        ),
        "/api/v1/logs" => {
            // The fixture's first three events (its fourth is malformed on purpose).
            let events: Vec<Value> = include_str!("../../../fixtures/audit/okta-system-log.jsonl")
                .lines()
                .take(3)
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            ok(Value::Array(events))
        }
        _ => Answer::json(
            404,
            json!({"errorCode": "E0000007", "errorSummary": "Not found"}),
        ),
    }
}

#[test]
fn an_okta_org_is_collected_and_its_log_continued() {
    let env = Env::new();
    let url = Arc::new(OnceLock::<String>::new());
    let limited = Arc::new(AtomicUsize::new(0));
    let (u, l) = (url.clone(), limited.clone());
    let api =
        FakeApi::start(move |req, _| route(u.get().map(String::as_str).unwrap_or(""), &l, req));
    url.set(api.url.clone()).unwrap();
    let collect = |extra: &[&str]| {
        let mut args = vec![
            "--format",
            "json",
            "collect",
            "okta",
            "--org-url",
            api.url.as_str(),
            "--max-attempts",
            "2",
        ];
        args.extend_from_slice(extra);
        let r = env.run_with(
            &args,
            &[("OKTA_API_TOKEN", TOKEN), ("OKTA_ACCESS_TOKEN", "")],
        );
        assert!(!r.stdout.contains(TOKEN) && !r.stderr.contains(TOKEN));
        (r.code, r.json())
    };

    let (code, first) = collect(&["--since", "2026-10-28T00:00:00Z"]);
    assert_eq!(code, 0, "{first:#}");
    let scope = &first["collection"]["scopes"][0];
    assert_eq!(scope["complete"], true, "{scope:#}");
    assert_eq!(first["collection"]["caller"], "auditor@acme.example");
    assert!(scope["throttles"].as_u64().unwrap() >= 1, "{scope:#}");
    assert_eq!(scope["unavailable"][0]["call"], "GET /api/v1/api-tokens");
    let snapshot = std::path::PathBuf::from(first["snapshot_dir"].as_str().unwrap());
    let users: Value =
        serde_json::from_slice(&std::fs::read(snapshot.join("okta/users.json")).unwrap()).unwrap();
    let ids: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["00uana", "00ubob", "00ucarol", "00ugone"],
        "both pages and the deprovisioned"
    );
    assert!(snapshot.join("okta/groups/00gops/users.json").exists());

    // Ingested: the leaver is known as deprovisioned, the service app is an
    // identity, and the System Log became usage.
    common::ingested_cleanly(&first);
    assert_eq!(first["ingest"]["logs"]["events"], 3, "{first:#}");
    let gone = env
        .run(&["--format", "json", "show", "gone@acme.example"])
        .ok()
        .stdout;
    assert!(gone.contains("DEPROVISIONED"), "{gone}");
    env.run(&["show", "id:okta-app/0oasync"]).ok();

    // The log window asked for, then the next one from where it ended.
    let logs = |seen: &[Seen]| -> Vec<(String, String)> {
        seen.iter()
            .filter(|s| s.path.starts_with("/api/v1/logs"))
            .map(|s| {
                (
                    query_param(&s.path, "since").unwrap().to_string(),
                    query_param(&s.path, "until").unwrap().to_string(),
                )
            })
            .collect()
    };
    let windows = logs(&api.seen());
    assert_eq!(windows.len(), 1);
    assert_eq!(windows[0].0, "2026-10-28T00:00:00.000Z");
    let (code, _) = collect(&[]);
    assert_eq!(code, 0);
    let windows = logs(&api.seen());
    assert_eq!(windows.len(), 2);
    assert_eq!(
        windows[1].0, windows[0].1,
        "the second window starts where the first ended"
    );

    // The token went as Okta's SSWS header, and nowhere else.
    for s in api.seen() {
        assert!(s
            .headers
            .iter()
            .any(|(k, v)| k == "authorization" && v == &format!("SSWS {TOKEN}")));
    }
    let db = String::from_utf8_lossy(&std::fs::read(env.db()).unwrap()).into_owned();
    assert!(!db.contains(TOKEN));
}

#[test]
fn okta_needs_a_token_and_a_url() {
    let env = Env::new();
    let r = env.run_with(
        &[
            "collect",
            "okta",
            "--org-url",
            "http://127.0.0.1:9",
            "--no-logs",
        ],
        &[("OKTA_API_TOKEN", ""), ("OKTA_ACCESS_TOKEN", "")],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("no Okta token: set OKTA_API_TOKEN"),
        "{}",
        r.stderr
    );
    let r = env.run(&["collect", "okta", "--org-url", "acme.okta.com"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("is not a URL"), "{}", r.stderr);
}
