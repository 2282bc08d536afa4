//! `custody collect vault` against a local server serving Vault's documented
//! answers: `LIST` walks of KV v2 metadata, policies, auth roles and AppRole
//! secret-id accessors (with their lookups); one read that keeps failing
//! makes the scope incomplete; the token goes only in `X-Vault-Token`.

mod common;

use common::{Answer, Env, FakeApi, Seen};
use serde_json::json;

const TOKEN: &str = "hvs.collectTestVaultTokenNotReal0000";

fn envelope(data: serde_json::Value) -> Answer {
    Answer::json(
        200,
        json!({"request_id": "r-1", "lease_id": "", "renewable": false, "lease_duration": 0, "data": data, "warnings": null}),
    )
}

fn route(req: &Seen, _: usize) -> Answer {
    route_at(0, req)
}

/// The cluster at a phase: 0 as above; 1 as above plus a `legacy` secret; 2 after
/// `legacy` and `payments/db` were deleted and `readme` recovered, with the
/// token no longer allowed to read the `payments` policy.
fn route_at(phase: usize, req: &Seen) -> Answer {
    match (phase, req.method.as_str(), req.path.as_str()) {
        (1, "LIST", "/v1/secret/metadata/") => {
            return envelope(json!({"keys": ["payments/", "readme", "legacy"]}))
        }
        (1, "GET", "/v1/secret/metadata/legacy") => {
            return envelope(
                json!({"created_time": "2021-01-01T00:00:00Z", "current_version": 1,
                "updated_time": "2021-01-01T00:00:00Z", "custom_metadata": null,
                "versions": {"1": {"created_time": "2021-01-01T00:00:00Z", "deletion_time": "", "destroyed": false}}}),
            )
        }
        (2, "LIST", "/v1/secret/metadata/") => return envelope(json!({"keys": ["readme"]})),
        (2, "GET", "/v1/secret/metadata/readme") => {
            return envelope(
                json!({"created_time": "2025-11-14T01:00:00Z", "current_version": 1,
                "updated_time": "2025-11-14T01:00:00Z", "custom_metadata": null,
                "versions": {"1": {"created_time": "2025-11-14T01:00:00Z", "deletion_time": "", "destroyed": false}}}),
            )
        }
        (2, "GET", "/v1/sys/policy/payments") => {
            return Answer::json(
                403,
                json!({"errors": ["1 error occurred:\n\t* permission denied\n\n"]}),
            )
        }
        _ => {}
    }
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/v1/auth/token/lookup-self") => envelope(json!({"display_name": "token-auditor"})),
        ("GET", "/v1/sys/mounts") => envelope(json!({
            "secret/": {"type": "kv", "options": {"version": "2"}},
            "kv1/": {"type": "kv", "options": {"version": "1"}},
            "sys/": {"type": "system", "options": null}})),
        ("LIST", "/v1/secret/metadata/") => envelope(json!({"keys": ["payments/", "readme"]})),
        ("LIST", "/v1/secret/metadata/payments/") => envelope(json!({"keys": ["db"]})),
        ("GET", "/v1/secret/metadata/payments/db") => envelope(json!({
            "created_time": "2025-11-14T01:00:00.945319214Z", "current_version": 1, "oldest_version": 0,
            "updated_time": "2025-11-14T01:00:00.945319214Z", "max_versions": 0, "cas_required": false,
            "delete_version_after": "0s", "custom_metadata": {"owner": "ana@acme.example"},
            "versions": {"1": {"created_time": "2025-11-14T01:00:00.945319214Z", "deletion_time": "", "destroyed": false}}})),
        ("GET", "/v1/secret/metadata/readme") => {
            Answer::json(503, json!({"errors": ["Vault is sealed"]}))
        }
        ("LIST", "/v1/sys/policies/acl") => envelope(json!({"keys": ["payments"]})),
        ("GET", "/v1/sys/policy/payments") => envelope(json!({"name": "payments",
            "rules": "path \"secret/data/payments/db\" {\n  capabilities = [\"read\"]\n}\n"})),
        ("GET", "/v1/sys/auth") => envelope(json!({
            "approle/": {"type": "approle", "options": null}, "token/": {"type": "token", "options": null}})),
        ("LIST", "/v1/auth/approle/role") => envelope(json!({"keys": ["ci"]})),
        ("GET", "/v1/auth/approle/role/ci") => {
            envelope(json!({"token_policies": ["payments"], "secret_id_ttl": 0,
            "secret_id_bound_cidrs": null, "token_bound_cidrs": [], "bind_secret_id": true}))
        }
        ("LIST", "/v1/auth/approle/role/ci/secret-id") => {
            envelope(json!({"keys": ["6f1e2b4c-0000-4000-8000-00000000a001"]}))
        }
        ("POST", "/v1/auth/approle/role/ci/secret-id-accessor/lookup") => envelope(json!({
            "cidr_list": [], "creation_time": "2026-05-15T09:12:44.318Z", "expiration_time": "0001-01-01T00:00:00Z",
            "last_updated_time": "2026-05-15T09:12:44.318Z", "metadata": {"created_by": "ana@acme.example"},
            "secret_id_accessor": "6f1e2b4c-0000-4000-8000-00000000a001", "secret_id_num_uses": 0, "secret_id_ttl": 0,
            "token_bound_cidrs": []})),
        _ => Answer::json(404, json!({"errors": []})),
    }
}

#[test]
fn a_vault_cluster_is_collected_without_values() {
    let env = Env::new();
    let api = FakeApi::start(route);
    let r = env.run_with(
        &[
            "--format",
            "json",
            "collect",
            "vault",
            "--address",
            &api.url,
            "--max-attempts",
            "2",
        ],
        &[("VAULT_TOKEN", TOKEN), ("HOME", "/nonexistent")],
    );
    assert!(!r.stdout.contains(TOKEN) && !r.stderr.contains(TOKEN));
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let v = r.json();
    let scope = &v["collection"]["scopes"][0];
    assert_eq!(v["collection"]["caller"], "token-auditor");
    assert_eq!(
        scope["failures"][0]["call"], "GET /v1/secret/metadata/readme",
        "{scope:#}"
    );
    assert!(
        scope["failures"][0]["error"]
            .as_str()
            .unwrap()
            .contains("HTTP 503"),
        "{scope:#}"
    );
    let files: Vec<&str> = scope["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "vault/auth/approle/role/ci.json",
            "vault/auth/approle/role/ci/secret-id.json",
            "vault/auth/approle/role/ci/secret-id/6f1e2b4c-0000-4000-8000-00000000a001.json",
            "vault/secret/metadata/payments/db.json",
            "vault/sys/policy/payments.json",
        ]
    );
    common::ingested_cleanly(&v);

    // The graph: the KV secret owned by its owner, the secret-id joined to its role.
    let kv = env
        .run(&["--format", "json", "show", "vault://secret/payments/db"])
        .ok()
        .json();
    assert_eq!(kv["node"]["kind"], "vault_kv_secret");
    let sid = env
        .run(&[
            "--format",
            "json",
            "show",
            "id:vault-secret-id/6f1e2b4c-0000-4000-8000-00000000a001",
        ])
        .ok()
        .stdout;
    assert!(sid.contains("vault-role/approle/ci"), "{sid}");

    // Only metadata was asked for, with the token in Vault's header.
    for s in api.seen() {
        assert!(
            !s.path.contains("/data/"),
            "a value was requested: {}",
            s.path
        );
        assert!(s
            .headers
            .iter()
            .any(|(k, v)| k == "x-vault-token" && v == TOKEN));
        assert!(!s.headers.iter().any(|(k, _)| k == "authorization"));
    }
}

#[test]
fn a_complete_collection_retires_what_is_gone_and_keeps_what_it_cannot_read() {
    let env = Env::new();
    let phase = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(1));
    let p = phase.clone();
    let api =
        FakeApi::start(move |req, _| route_at(p.load(std::sync::atomic::Ordering::SeqCst), req));
    let collect = || {
        env.run_with(
            &[
                "--format",
                "json",
                "collect",
                "vault",
                "--address",
                &api.url,
                "--max-attempts",
                "1",
            ],
            &[("VAULT_TOKEN", TOKEN), ("HOME", "/nonexistent")],
        )
    };
    assert_eq!(collect().code, 1, "phase 1: readme fails");
    let retired = |key: &str| {
        env.run(&["--format", "json", "show", key]).ok().json()["node"]["retired"].clone()
    };
    assert_eq!(retired("vault://secret/legacy"), false);
    assert_eq!(retired("id:vault-policy/payments"), false);

    phase.store(2, std::sync::atomic::Ordering::SeqCst);
    let r = collect();
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let v = r.json();
    assert_eq!(
        v["collection"]["scopes"][0]["unavailable"][0]["call"],
        "GET /v1/sys/policy/payments"
    );
    // Deleted in Vault: no file any more, and the collection was complete.
    assert_eq!(retired("vault://secret/legacy"), true);
    // Deleted too, but the policy (kept) still names it.
    assert_eq!(retired("vault://secret/payments/db"), false);
    // Unreadable now, not known to be gone: kept.
    assert_eq!(retired("id:vault-policy/payments"), false);
    assert_eq!(retired("vault://secret/readme"), false);
}

#[test]
fn vault_needs_a_token() {
    let env = Env::new();
    let r = env.run_with(
        &["collect", "vault", "--address", "http://127.0.0.1:9"],
        &[("VAULT_TOKEN", ""), ("HOME", "/nonexistent")],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("no Vault token: set VAULT_TOKEN"),
        "{}",
        r.stderr
    );
}

/// `collect all`: every table of the configuration file is collected in
/// turn, a system that cannot be collected is reported while the others go
/// on, and everything collected is ingested as one snapshot.
#[test]
fn collect_all_runs_every_configured_system() {
    let env = Env::new();
    let api = FakeApi::start(route);
    let config = env.write(
        "collect.toml",
        format!(
            "# every system, as `custody collect <system>` options\n\
             [vault]\naddress = \"{}\"\nmax_attempts = 2\n\n[github]\norg = \"acme\"\napi_url = \"http://127.0.0.1:9\"\n",
            api.url
        )
        .as_bytes(),
    );
    let r = env.run_with(
        &[
            "--format",
            "json",
            "collect",
            "all",
            "--config",
            config.to_str().unwrap(),
        ],
        &[
            ("VAULT_TOKEN", TOKEN),
            ("GITHUB_TOKEN", ""),
            ("GH_TOKEN", ""),
            ("HOME", "/nonexistent"),
        ],
    );
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let v = r.json();
    let systems: Vec<&str> = v["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["system"].as_str().unwrap())
        .collect();
    assert_eq!(systems, ["github", "vault"], "the tables, by name");
    assert!(
        v["collections"][0]["error"]
            .as_str()
            .unwrap()
            .contains("no GitHub token"),
        "{v:#}"
    );
    assert_eq!(
        v["collections"][1]["collection"]["scopes"][0]["files"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    common::ingested_cleanly(&v);
    env.run(&["show", "vault://secret/payments/db"]).ok();

    // A table with an option its command does not take is a located error.
    let bad = env.write("bad.toml", b"[vault]\nadress = \"http://x\"\n");
    let r = env.run(&["collect", "all", "--config", bad.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("bad.toml: [vault]") && r.stderr.contains("--adress"),
        "{}",
        r.stderr
    );
    let r = env.run(&[
        "collect",
        "all",
        "--config",
        env.path("none.toml").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("cannot read"), "{}", r.stderr);
}
