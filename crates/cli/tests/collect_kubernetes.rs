//! `custody collect kubernetes` against a local server serving the API's
//! list answers, through a kubeconfig whose user is an exec plugin (as EKS,
//! GKE and AKS configure it): `limit`/`continue` pages, a 429 waited out,
//! Secrets written without their values, and a kind RBAC refuses making the
//! cluster incomplete (its file not written: nothing retired).

mod common;

use common::{Answer, Env, FakeApi, Seen};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// base64 of a password that must never be written.
const VALUE_B64: &str = "czNjcjN0LXBhc3N3b3JkLWZvci10ZXN0";
const TOKEN: &str = "k8s-exec-token-for-the-collect-test";

fn list(kind: &str, items: Value, cont: &str) -> Answer {
    Answer::json(
        200,
        json!({"kind": format!("{kind}List"), "apiVersion": "v1",
        "metadata": {"resourceVersion": "1", "continue": cont}, "items": items}),
    )
}

fn route(refuse_cronjobs: bool, limited: &AtomicUsize, req: &Seen) -> Answer {
    let (path, query) = req.path.split_once('?').unwrap_or((req.path.as_str(), ""));
    match path {
        "/api/v1/serviceaccounts" if query.contains("continue=c1") => list(
            "ServiceAccount",
            json!([
            {"metadata": {"name": "worker", "namespace": "payments"}}]),
            "",
        ),
        "/api/v1/serviceaccounts" => list(
            "ServiceAccount",
            json!([
            {"metadata": {"name": "api", "namespace": "payments",
              "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/payments-api"}}}]),
            "c1",
        ),
        "/api/v1/secrets" => list(
            "Secret",
            json!([{"metadata": {"name": "db", "namespace": "payments",
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": format!("{{\"data\":{{\"password\":\"{VALUE_B64}\"}}}}")}},
            "type": "Opaque", "data": {"password": VALUE_B64}}]),
            "",
        ),
        "/apis/apps/v1/deployments" => list(
            "Deployment",
            json!([{"metadata": {"name": "api", "namespace": "payments"},
            "spec": {"template": {"spec": {"serviceAccountName": "api", "containers": [{"name": "api", "image": "api:1",
                "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]}]}}}}]),
            "",
        ),
        "/apis/batch/v1/cronjobs" if refuse_cronjobs => Answer::json(
            403,
            json!({"kind": "Status", "status": "Failure",
            "message": "cronjobs.batch is forbidden: User \"auditor\" cannot list resource \"cronjobs\"", "reason": "Forbidden", "code": 403}),
        ),
        "/apis/rbac.authorization.k8s.io/v1/roles"
            if limited.fetch_add(1, Ordering::SeqCst) == 0 =>
        {
            let mut a = Answer::json(
                429,
                json!({"kind": "Status", "message": "Too many requests", "code": 429}),
            );
            a.headers.push(("retry-after".into(), "1".into()));
            a
        }
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings" => list(
            "ClusterRoleBinding",
            json!([{
            "metadata": {"name": "api-admin"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": "api", "namespace": "payments"}]}]),
            "",
        ),
        _ => list("Thing", json!([]), ""),
    }
}

fn kubeconfig(env: &Env, server: &str) -> std::path::PathBuf {
    // The plugin prints an ExecCredential, as `aws eks get-token` does.
    let credential = env.write(
        "kube/credential.json",
        json!({"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
               "status": {"token": TOKEN}})
        .to_string()
        .as_bytes(),
    );
    env.write(
        "kube/config",
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: prod\nclusters:\n- name: prod-cluster\n  cluster:\n    server: {server}\n\
             contexts:\n- name: prod\n  context:\n    cluster: prod-cluster\n    user: prod-user\n\
             users:\n- name: prod-user\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: cat\n      args:\n      - {}\n",
            credential.display()
        )
        .as_bytes(),
    )
}

/// `collect kubernetes` against a fresh fake cluster (`refuse_cronjobs`;
/// `limited`: how many role listings were answered before the 429 test).
fn collect(env: &Env, refuse_cronjobs: bool, limited: usize) -> (FakeApi, common::Run) {
    let limited = Arc::new(AtomicUsize::new(limited));
    let api = FakeApi::start(move |req, _| route(refuse_cronjobs, &limited, req));
    let config = kubeconfig(env, &api.url);
    let r = env.run(&[
        "--format",
        "json",
        "collect",
        "kubernetes",
        "--kubeconfig",
        config.to_str().unwrap(),
    ]);
    (api, r)
}

#[test]
fn a_cluster_is_collected_through_an_exec_plugin_without_secret_values() {
    let env = Env::new();
    let (api, r) = collect(&env, false, 0);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let v = r.json();
    let scope = &v["collection"]["scopes"][0];
    assert_eq!(scope["scope"], "kubernetes:prod");
    assert!(scope["throttles"].as_u64().unwrap() >= 1, "{scope:#}");
    let snapshot = std::path::PathBuf::from(v["snapshot_dir"].as_str().unwrap());
    let text = std::fs::read_to_string(snapshot.join("kubernetes/prod/objects.json")).unwrap();
    let objects: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(objects["kind"], "List");
    let kinds: Vec<&str> = objects["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "ServiceAccount",
            "ServiceAccount",
            "Secret",
            "Deployment",
            "ClusterRoleBinding"
        ]
    );
    assert!(!text.contains(VALUE_B64), "a Secret value was written");
    common::ingested_cleanly(&v);

    // IRSA, the Secret's key as a place, and the token sent as a bearer.
    let sa = env
        .run(&["--format", "json", "show", "k8s:prod/payments/api"])
        .ok()
        .stdout;
    assert!(
        sa.contains("arn:aws:iam::123456789012:role/payments-api"),
        "{sa}"
    );
    env.run(&["show", "k8s://prod/payments/secrets/db#password"])
        .ok();
    for s in api.seen() {
        assert!(s
            .headers
            .iter()
            .any(|(k, v)| k == "authorization" && v == &format!("Bearer {TOKEN}")));
    }
    let db = String::from_utf8_lossy(&std::fs::read(env.db()).unwrap()).into_owned();
    assert!(!db.contains(VALUE_B64) && !db.contains(TOKEN));
}

#[test]
fn a_kind_rbac_refuses_leaves_the_cluster_incomplete_and_unwritten() {
    let env = Env::new();
    let (_api, r) = collect(&env, true, 1);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let v = r.json();
    let scope = &v["collection"]["scopes"][0];
    assert_eq!(scope["failures"][0]["call"], "GET /apis/batch/v1/cronjobs");
    assert!(
        scope["failures"][0]["error"]
            .as_str()
            .unwrap()
            .contains("forbidden"),
        "{scope:#}"
    );
    assert!(scope["files"].as_array().unwrap().is_empty());

    // A kubeconfig that names no usable credential is a clear error.
    let bad = env.write(
        "kube/bad",
        b"apiVersion: v1\ncurrent-context: x\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:9\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\nusers:\n- name: u\n  user: {}\n",
    );
    let r = env.run(&[
        "collect",
        "kubernetes",
        "--kubeconfig",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("has no token, client certificate or exec plugin"),
        "{}",
        r.stderr
    );
}
