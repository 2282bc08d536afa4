//! `custody collect github` against a local server serving GitHub's
//! documented REST answers: `Link` pagination, a secondary rate limit
//! (`Retry-After`) and an exhausted primary one (`X-RateLimit-Reset`) waited
//! out without losing a page, endpoints this token may not read (reported,
//! not failures), one page that fails for good and one malformed body (the
//! scope is incomplete, exit 1, everything else stored), and the token never
//! written anywhere.

mod common;

use common::{walk, Answer, Env, FakeApi, Seen};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const TOKEN: &str = "ghp_collectTestTokenNotARealOne000000000";

fn user(login: &str, id: u64) -> Value {
    json!({"login": login, "id": id, "node_id": format!("U_{id}"), "type": "User", "site_admin": false,
           "url": format!("https://api.github.com/users/{login}")})
}

/// `hits[0]` counts the members' second page, `hits[1]` the team's members.
fn route(
    url: String,
    hits: Arc<[AtomicUsize; 2]>,
) -> impl Fn(&Seen, usize) -> Answer + Send + Sync {
    move |req: &Seen, _| {
        let path = req.path.as_str();
        let (p, query) = path.split_once('?').unwrap_or((path, ""));
        let ok = |body: Value| Answer::json(200, body);
        match p {
            "/user" => ok(json!({"login": "auditor", "id": 9})),
            "/orgs/acme/members" if query.contains("page=2") => {
                // A secondary rate limit once, then the page.
                if hits[0].fetch_add(1, Ordering::SeqCst) == 0 {
                    let mut a = Answer::json(
                        403,
                        json!({"message": "You have exceeded a secondary rate limit."}),
                    );
                    a.headers.push(("retry-after".into(), "1".into()));
                    return a;
                }
                ok(json!([user("carol", 3)]))
            }
            "/orgs/acme/members" => {
                let mut a = ok(json!([user("alice", 1), user("bob", 2)]));
                a.headers.push((
                    "link".into(),
                    format!(r#"<{url}/orgs/acme/members?per_page=100&page=2>; rel="next", <{url}/orgs/acme/members?per_page=100&page=2>; rel="last""#),
                ));
                a
            }
            "/orgs/acme/teams" => {
                // Conditional requests: the same ETag back is a 304 with no body.
                const ETAG: &str = "W/\"teams-v1\"";
                if req
                    .headers
                    .iter()
                    .any(|(k, v)| k == "if-none-match" && v == ETAG)
                {
                    return Answer {
                        status: 304,
                        headers: Vec::new(),
                        body: String::new(),
                        delay: std::time::Duration::ZERO,
                    };
                }
                let mut a =
                    ok(json!([{"id": 7, "slug": "payments", "name": "payments", "parent": null}]));
                a.headers.push(("etag".into(), ETAG.into()));
                a
            }
            "/orgs/acme/teams/payments/members" => {
                // The primary rate limit is spent once: wait for the reset.
                if hits[1].fetch_add(1, Ordering::SeqCst) == 0 {
                    let reset = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_secs();
                    let mut a = Answer::json(
                        403,
                        json!({"message": "API rate limit exceeded for user ID 9."}),
                    );
                    a.headers.push(("x-ratelimit-remaining".into(), "0".into()));
                    a.headers
                        .push(("x-ratelimit-reset".into(), reset.to_string()));
                    return a;
                }
                ok(json!([user("alice", 1)]))
            }
            "/orgs/acme/installations" => Answer::json(
                403,
                json!({"message": "You must be an organization owner."}),
            ),
            "/orgs/acme/personal-access-tokens" => Answer::json(
                403,
                json!({"message": "Resource not accessible by personal access token"}),
            ),
            "/orgs/acme/credential-authorizations" => {
                Answer::json(404, json!({"message": "Not Found"}))
            }
            "/orgs/acme/actions/secrets" => ok(json!({"total_count": 1, "secrets": [
                {"name": "NPM_TOKEN", "created_at": "2024-01-10T10:00:00Z", "updated_at": "2024-01-10T10:00:00Z", "visibility": "all"}]})),
            "/orgs/acme/repos" => ok(json!([{"id": 11, "name": "api", "full_name": "acme/api"},
                                          {"id": 12, "name": "web", "full_name": "acme/web"}])),
            "/repos/acme/api/actions/secrets" => ok(json!({"total_count": 1, "secrets": [
                {"name": "AWS_ACCESS_KEY_ID", "created_at": "2024-02-01T10:00:00Z", "updated_at": "2024-02-01T10:00:00Z"}]})),
            "/repos/acme/api/keys" => ok(
                json!([{"id": 501, "key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIexample",
                "url": "https://api.github.com/repos/acme/api/keys/501", "title": "deploy", "verified": true,
                "created_at": "2024-03-01T10:00:00Z", "read_only": false, "added_by": "alice", "last_used": "2026-11-30T10:00:00Z",
                "enabled": true}]),
            ),
            "/repos/acme/api/environments" => {
                ok(json!({"total_count": 1, "environments": [{"id": 1, "name": "prod"}]}))
            }
            "/repos/acme/api/environments/prod/secrets" => {
                Answer::json(502, json!({"message": "Server Error"}))
            }
            "/repos/acme/web/actions/secrets" => Answer {
                status: 200,
                headers: Vec::new(),
                body: "{\"total_count\": 1, \"secrets\": [".into(),
                delay: std::time::Duration::ZERO,
            },
            "/repos/acme/web/keys" => ok(json!([])),
            "/repos/acme/web/environments" => ok(json!({"total_count": 0, "environments": []})),
            _ => Answer::json(404, json!({"message": "Not Found"})),
        }
    }
}

#[test]
fn a_github_org_is_collected_through_rate_limits_and_failures() {
    let env = Env::new();
    let hits = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    // The Link headers name the server's own URL, known once it started.
    let url = Arc::new(std::sync::OnceLock::<String>::new());
    let (u, h) = (url.clone(), hits.clone());
    let api = FakeApi::start(move |req, n| {
        route(u.get().cloned().unwrap_or_default(), h.clone())(req, n)
    });
    url.set(api.url.clone()).unwrap();

    let r = env.run_with(
        &[
            "--format",
            "json",
            "collect",
            "github",
            "--org",
            "acme",
            "--api-url",
            &api.url,
            "--max-attempts",
            "2",
        ],
        &[("GITHUB_TOKEN", TOKEN), ("GH_TOKEN", "")],
    );
    let out = format!("{}{}", r.stdout, r.stderr);
    assert_eq!(r.code, 1, "an incomplete scope exits 1: {out}");
    let v = r.json();
    let scope = &v["collection"]["scopes"][0];
    assert_eq!(scope["scope"], "github:acme");
    assert_eq!(scope["complete"], false);
    assert_eq!(v["collection"]["caller"], "auditor");
    let failed: Vec<&str> = scope["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["call"].as_str().unwrap())
        .collect();
    assert_eq!(
        failed,
        [
            "GET /repos/acme/api/environments/prod/secrets",
            "GET /repos/acme/web/actions/secrets"
        ],
        "{scope:#}"
    );
    let malformed = scope["failures"][1]["error"].as_str().unwrap();
    assert!(
        malformed.contains("not JSON") && malformed.contains("line 1"),
        "{malformed}"
    );
    let unavailable: Vec<&str> = scope["unavailable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["call"].as_str().unwrap())
        .collect();
    assert_eq!(
        unavailable,
        [
            "GET /orgs/acme/credential-authorizations",
            "GET /orgs/acme/installations",
            "GET /orgs/acme/personal-access-tokens"
        ]
    );
    // Both rate limits were waited out: no page lost.
    assert!(scope["throttles"].as_u64().unwrap() >= 2, "{scope:#}");
    let snapshot = std::path::PathBuf::from(v["snapshot_dir"].as_str().unwrap());
    let members: Value = serde_json::from_slice(
        &std::fs::read(snapshot.join("github/orgs/acme/members.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        members.as_array().unwrap().len(),
        3,
        "both pages: {members}"
    );
    assert!(snapshot
        .join("github/orgs/acme/teams/payments/members.json")
        .exists());
    // What failed was not written (so ingest supersedes nothing there).
    assert!(!snapshot
        .join("github/repos/acme/web/actions/secrets.json")
        .exists());
    assert!(!snapshot
        .join("github/repos/acme/api/environments/prod/secrets.json")
        .exists());

    // Ingested: the members, the deploy key and the secrets' places.
    common::ingested_cleanly(&v);
    let carol = env
        .run(&["--format", "json", "show", "id:github/carol"])
        .ok()
        .json();
    assert_eq!(carol["node"]["kind"], "github_user");
    let key = env
        .run(&["--format", "json", "show", "id:github-deploy-key/501"])
        .ok()
        .json();
    assert_eq!(key["node"]["kind"], "github_deploy_key");

    // Every request carried the token, and only as the bearer header.
    let seen = api.seen();
    assert!(seen.len() >= 18, "{}", seen.len());
    for s in &seen {
        assert!(
            s.headers
                .iter()
                .any(|(k, v)| k == "authorization" && v == &format!("Bearer {TOKEN}")),
            "{}",
            s.path
        );
        assert!(!s.path.contains(TOKEN));
    }
    // A second run asks for the teams with their ETag: GitHub's 304 (free
    // against the rate limit) reuses the kept page.
    let r2 = env.run_with(
        &[
            "--format",
            "json",
            "collect",
            "github",
            "--org",
            "acme",
            "--api-url",
            &api.url,
            "--max-attempts",
            "2",
        ],
        &[("GITHUB_TOKEN", TOKEN), ("GH_TOKEN", "")],
    );
    let v2 = r2.json();
    assert!(
        v2["collection"]["scopes"][0]["unchanged"]
            .as_u64()
            .unwrap_or(0)
            >= 1,
        "{v2:#}"
    );
    let snapshot2 = std::path::PathBuf::from(v2["snapshot_dir"].as_str().unwrap());
    let teams: Value = serde_json::from_slice(
        &std::fs::read(snapshot2.join("github/orgs/acme/teams.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(teams[0]["slug"], "payments");
    assert!(snapshot2
        .join("github/orgs/acme/teams/payments/members.json")
        .exists());

    // …and was written nowhere.
    let db = String::from_utf8_lossy(&std::fs::read(env.db()).unwrap()).into_owned();
    assert!(!out.contains(TOKEN) && !db.contains(TOKEN));
    for f in walk(&env.path("home/collect")) {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(!text.contains(TOKEN), "{}", f.display());
    }
}

#[test]
fn a_missing_or_refused_token_is_a_clear_error() {
    let env = Env::new();
    let r = env.run_with(
        &[
            "collect",
            "github",
            "--org",
            "acme",
            "--api-url",
            "http://127.0.0.1:9",
        ],
        &[("GITHUB_TOKEN", ""), ("GH_TOKEN", "")],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("no GitHub token: set GITHUB_TOKEN"),
        "{}",
        r.stderr
    );

    let api = FakeApi::start(|_, _| Answer::json(401, json!({"message": "Bad credentials"})));
    let r = env.run_with(
        &["collect", "github", "--org", "acme", "--api-url", &api.url],
        &[("GITHUB_TOKEN", TOKEN)],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("GitHub refused the token: HTTP 401: Bad credentials"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains(TOKEN));
}
