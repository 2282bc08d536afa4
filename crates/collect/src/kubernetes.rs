//! Kubernetes, one kubeconfig context: service accounts, Secrets (key
//! names only), workloads and RBAC, every namespace, written as the one
//! `List` that `kubectl get … -A -o json` prints
//! (`kubernetes/<cluster>/objects.json`, `docs/CONNECTORS.md#kubernetes`).
//!
//! Credentials are the kubeconfig's: a bearer token (inline or a file), a
//! client certificate, or an exec plugin (`aws eks get-token`,
//! `gke-gcloud-auth-plugin`, `kubelogin`) run as kubectl runs it. Secret
//! values are never kept: each `data`/`stringData` value is emptied, and a
//! Secret's `last-applied-configuration` annotation (which repeats them) is
//! dropped, before anything is written.

use crate::http::{Api, Failed, Patience};
use crate::{write, Error, Progress, Report, Tally};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What to collect.
#[derive(Debug, Clone)]
pub struct KubeOptions {
    /// The kubeconfig file (`KUBECONFIG`'s first file, else `~/.kube/config`).
    pub kubeconfig: PathBuf,
    /// The context (default: the file's `current-context`).
    pub context: Option<String>,
    /// The cluster's name in custody (default: the context's name): the
    /// folder after `kubernetes/`, part of every object's key.
    pub cluster_name: Option<String>,
    /// Attempts, rate-limit waits and backoff.
    pub patience: Patience,
}

impl KubeOptions {
    pub fn new(kubeconfig: PathBuf) -> KubeOptions {
        KubeOptions {
            kubeconfig,
            context: None,
            cluster_name: None,
            patience: Patience::default(),
        }
    }
}

/// The kubeconfig kubectl reads: `KUBECONFIG`'s first file, else
/// `~/.kube/config`.
pub fn default_kubeconfig() -> PathBuf {
    match std::env::var_os("KUBECONFIG").filter(|k| !k.is_empty()) {
        Some(k) => std::env::split_paths(&k).next().unwrap_or_default(),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".kube/config"),
    }
}

/// The kinds read, with their list path and API version (list items carry
/// neither `kind` nor `apiVersion`: they are filled in, as kubectl does).
const KINDS: &[(&str, &str, &str)] = &[
    ("/api/v1/serviceaccounts", "ServiceAccount", "v1"),
    ("/api/v1/secrets", "Secret", "v1"),
    ("/apis/apps/v1/deployments", "Deployment", "apps/v1"),
    ("/apis/apps/v1/statefulsets", "StatefulSet", "apps/v1"),
    ("/apis/apps/v1/daemonsets", "DaemonSet", "apps/v1"),
    ("/apis/batch/v1/jobs", "Job", "batch/v1"),
    ("/apis/batch/v1/cronjobs", "CronJob", "batch/v1"),
    ("/api/v1/pods", "Pod", "v1"),
    (
        "/apis/rbac.authorization.k8s.io/v1/roles",
        "Role",
        "rbac.authorization.k8s.io/v1",
    ),
    (
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        "ClusterRole",
        "rbac.authorization.k8s.io/v1",
    ),
    (
        "/apis/rbac.authorization.k8s.io/v1/rolebindings",
        "RoleBinding",
        "rbac.authorization.k8s.io/v1",
    ),
    (
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        "ClusterRoleBinding",
        "rbac.authorization.k8s.io/v1",
    ),
];

/// How to reach the cluster, from the kubeconfig.
struct Target {
    context: String,
    server: String,
    authorization: String,
    tls: Option<rustls::ClientConfig>,
}

fn config_error(path: &Path, message: impl std::fmt::Display) -> Error {
    Error::Config(format!("{}: {message}", path.display()))
}

/// A field's bytes: `<name>-data` (base64) inline, else `<name>` a file
/// (relative to the kubeconfig's folder).
fn file_or_data(m: &Value, name: &str, base: &Path, path: &Path) -> Result<Option<Vec<u8>>, Error> {
    use base64::Engine;
    if let Some(d) = m.get(format!("{name}-data")).and_then(Value::as_str) {
        return base64::engine::general_purpose::STANDARD
            .decode(d.trim())
            .map(Some)
            .map_err(|e| config_error(path, format!("`{name}-data` is not base64: {e}")));
    }
    match m.get(name).and_then(Value::as_str) {
        Some(f) => {
            let p = base.join(f);
            std::fs::read(&p).map(Some).map_err(|e| {
                config_error(path, format!("cannot read `{name}` {}: {e}", p.display()))
            })
        }
        None => Ok(None),
    }
}

fn named<'a>(list: &'a Value, name: &str, what: &str, path: &Path) -> Result<&'a Value, Error> {
    list.as_array()
        .and_then(|l| {
            l.iter()
                .find(|e| e.get("name").and_then(Value::as_str) == Some(name))
        })
        .and_then(|e| e.get(what))
        .ok_or_else(|| config_error(path, format!("no {what} named `{name}`")))
}

/// A client certificate chain and its key, PEM.
type CertAndKey = (Vec<u8>, Vec<u8>);

/// Runs an exec credential plugin as kubectl does; its token or certificate.
fn exec_plugin(exec: &Value, path: &Path) -> Result<(Option<String>, Option<CertAndKey>), Error> {
    let command = exec
        .get("command")
        .and_then(Value::as_str)
        .ok_or_else(|| config_error(path, "an exec plugin without `command`"))?;
    let mut cmd = std::process::Command::new(command);
    for a in exec
        .get("args")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(a) = a.as_str() {
            cmd.arg(a);
        }
    }
    for e in exec
        .get("env")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(k), Some(v)) = (
            e.get("name").and_then(Value::as_str),
            e.get("value").and_then(Value::as_str),
        ) {
            cmd.env(k, v);
        }
    }
    let version = exec
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("client.authentication.k8s.io/v1");
    cmd.env(
        "KUBERNETES_EXEC_INFO",
        json!({"apiVersion": version, "kind": "ExecCredential", "spec": {"interactive": false}})
            .to_string(),
    );
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| config_error(path, format!("cannot run the exec plugin `{command}`: {e}")))?;
    if !out.status.success() {
        // Its stderr says why (expired SSO session…); it never holds the token.
        let why: String = String::from_utf8_lossy(&out.stderr)
            .chars()
            .take(300)
            .collect();
        return Err(Error::Credentials(format!(
            "the exec plugin `{command}` failed ({}): {}",
            out.status,
            why.trim()
        )));
    }
    let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        config_error(
            path,
            format!("the exec plugin `{command}` printed no ExecCredential JSON: {e}"),
        )
    })?;
    let status = v.get("status").cloned().unwrap_or(Value::Null);
    let token = status
        .get("token")
        .and_then(Value::as_str)
        .map(str::to_string);
    let cert = match (
        status.get("clientCertificateData").and_then(Value::as_str),
        status.get("clientKeyData").and_then(Value::as_str),
    ) {
        (Some(c), Some(k)) => Some((c.as_bytes().to_vec(), k.as_bytes().to_vec())),
        _ => None,
    };
    if token.is_none() && cert.is_none() {
        return Err(config_error(
            path,
            format!("the exec plugin `{command}` gave neither a token nor a certificate"),
        ));
    }
    Ok((token, cert))
}

fn target(options: &KubeOptions) -> Result<Target, Error> {
    let path = &options.kubeconfig;
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::Credentials(format!(
            "cannot read the kubeconfig {}: {e}",
            path.display()
        ))
    })?;
    let config: Value =
        serde_norway::from_str(&text).map_err(|e| config_error(path, format!("not YAML: {e}")))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let context = options
        .context
        .clone()
        .or_else(|| {
            config
                .get("current-context")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .filter(|c| !c.is_empty())
        .ok_or_else(|| config_error(path, "no --context and no current-context"))?;
    let ctx = named(&config["contexts"], &context, "context", path)?;
    let cluster_name = ctx
        .get("cluster")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let user_name = ctx.get("user").and_then(Value::as_str).unwrap_or_default();
    let cluster = named(&config["clusters"], cluster_name, "cluster", path)?;
    let server = cluster
        .get("server")
        .and_then(Value::as_str)
        .ok_or_else(|| config_error(path, format!("cluster `{cluster_name}` has no server")))?
        .trim_end_matches('/')
        .to_string();
    if cluster
        .get("insecure-skip-tls-verify")
        .and_then(Value::as_bool)
        == Some(true)
    {
        return Err(config_error(
            path,
            format!("cluster `{cluster_name}` skips TLS verification: custody will not send credentials that way; give its certificate-authority"),
        ));
    }
    let user = if user_name.is_empty() {
        Value::Null
    } else {
        named(&config["users"], user_name, "user", path)?.clone()
    };
    let mut token = user
        .get("token")
        .and_then(Value::as_str)
        .map(str::to_string);
    if token.is_none() {
        if let Some(f) = user.get("tokenFile").and_then(Value::as_str) {
            let p = base.join(f);
            token = Some(
                std::fs::read_to_string(&p)
                    .map_err(|e| {
                        config_error(path, format!("cannot read tokenFile {}: {e}", p.display()))
                    })?
                    .trim()
                    .to_string(),
            );
        }
    }
    let mut cert = match (
        file_or_data(&user, "client-certificate", base, path)?,
        file_or_data(&user, "client-key", base, path)?,
    ) {
        (Some(c), Some(k)) => Some((c, k)),
        _ => None,
    };
    if token.is_none() && cert.is_none() {
        if let Some(exec) = user.get("exec").filter(|e| e.is_object()) {
            let (t, c) = exec_plugin(exec, path)?;
            token = t;
            cert = c;
        }
    }
    if token.is_none() && cert.is_none() {
        return Err(Error::Credentials(format!(
            "context `{context}` in {} has no token, client certificate or exec plugin custody can use",
            path.display()
        )));
    }
    let ca = file_or_data(cluster, "certificate-authority", base, path)?;
    let tls = if ca.is_some() || cert.is_some() {
        let mut roots = rustls::RootCertStore::empty();
        match &ca {
            Some(pem) => {
                for c in CertificateDer::pem_slice_iter(pem) {
                    let c = c.map_err(|e| {
                        config_error(path, format!("the certificate authority is not PEM: {e}"))
                    })?;
                    roots.add(c).map_err(|e| {
                        config_error(path, format!("the certificate authority: {e}"))
                    })?;
                }
            }
            None => {
                roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            }
        }
        let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
        Some(match &cert {
            Some((c, k)) => {
                let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(c)
                    .collect::<Result<_, _>>()
                    .map_err(|e| {
                        config_error(path, format!("the client certificate is not PEM: {e}"))
                    })?;
                let key = PrivateKeyDer::from_pem_slice(k)
                    .map_err(|e| config_error(path, format!("the client key is not PEM: {e}")))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| config_error(path, format!("the client certificate: {e}")))?
            }
            None => builder.with_no_client_auth(),
        })
    } else {
        None
    };
    Ok(Target {
        context,
        server,
        authorization: token.map(|t| format!("Bearer {t}")).unwrap_or_default(),
        tls,
    })
}

/// Every page of one kind (`limit` and `continue`), each item given its
/// `kind` and `apiVersion`.
async fn list_kind(
    api: &Api,
    path: &str,
    kind: &str,
    version: &str,
    tally: &Tally,
) -> Result<Vec<Value>, Failed> {
    let mut items = api
        .get_items(
            &format!("{path}?limit=500"),
            "items",
            "/metadata/continue",
            "continue",
            tally,
        )
        .await?;
    for item in &mut items {
        if let Some(o) = item.as_object_mut() {
            o.insert("kind".into(), json!(kind));
            o.insert("apiVersion".into(), json!(version));
        }
        if kind == "Secret" {
            redact_secret(item);
        }
    }
    Ok(items)
}

/// A Secret's values emptied (its key names kept: the places custody
/// tracks), and the annotation that repeats them dropped.
fn redact_secret(item: &mut Value) {
    for field in ["data", "stringData"] {
        if let Some(Value::Object(m)) = item.get_mut(field) {
            for v in m.values_mut() {
                *v = Value::String(String::new());
            }
        }
    }
    if let Some(Value::Object(a)) = item.pointer_mut("/metadata/annotations") {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

/// Collects the context's cluster into `dir`.
pub async fn collect(
    options: &KubeOptions,
    dir: &Path,
    progress: &dyn Progress,
) -> Result<Report, Error> {
    let started = Instant::now();
    write::snapshot(dir)?;
    let t = target(options)?;
    let cluster = options
        .cluster_name
        .clone()
        .unwrap_or_else(|| t.context.clone());
    if cluster.is_empty() || cluster.contains(['/', '\\']) || cluster.starts_with('.') {
        return Err(Error::Config(format!(
            "`{cluster}` cannot name a cluster folder: give --cluster-name"
        )));
    }
    let mut api = Api::with_tls(&t.server, t.authorization, t.tls);
    api = api.patient(options.patience);
    let tally = Tally::default();
    progress.scopes(1);
    let mut items = Vec::new();
    for (path, kind, version) in KINDS {
        match list_kind(&api, path, kind, version, &tally).await {
            Ok(mut i) => items.append(&mut i),
            Err(Failed::Refused {
                status: 401,
                message,
            }) => return Err(Error::Refused("Kubernetes", format!("HTTP 401: {message}"))),
            Err(e) => tally.fail(format!("GET {path}"), e.describe()),
        }
    }
    // One file, written only whole: a kind missing from it would retire
    // every object of that kind.
    let scope = format!("kubernetes:{cluster}");
    let complete = tally.failures.lock().map(|f| f.is_empty()).unwrap_or(false);
    if complete {
        let list = json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items});
        write::json(
            dir,
            &format!("kubernetes/{cluster}/objects.json"),
            &list,
            &tally,
        );
    }
    let mut report = tally.report(scope, started.elapsed());
    report.covers = vec![format!("kubernetes/{cluster}/")];
    progress.scope_done(&report);
    Ok(Report::new(
        "kubernetes",
        Some(format!("context {}", t.context)),
        vec![report],
        started.elapsed(),
    ))
}

/// [`collect`] on a runtime of its own.
pub fn collect_blocking(
    options: &KubeOptions,
    dir: &Path,
    progress: &dyn Progress,
) -> Result<Report, Error> {
    crate::block_on(collect(options, dir, progress))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_lose_their_values_and_last_applied_copy() {
        let mut s = json!({"kind": "Secret", "metadata": {"name": "db", "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"password\":\"aHVudGVyMg==\"}}",
            "team": "payments"}},
            "data": {"password": "aHVudGVyMg=="}, "stringData": {"user": "app"}});
        redact_secret(&mut s);
        let text = s.to_string();
        assert!(!text.contains("aHVudGVyMg=="), "{text}");
        assert_eq!(s["data"]["password"], "");
        assert_eq!(s["stringData"]["user"], "");
        assert_eq!(s["metadata"]["annotations"]["team"], "payments");
    }
}
