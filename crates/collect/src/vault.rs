//! HashiCorp Vault: KV v2 metadata (never a value: the metadata endpoint
//! has none), ACL policies, the roles of AppRole, Kubernetes, JWT/OIDC and
//! AWS auth mounts, and each AppRole's secret-id accessors with their
//! lookups — saved under the paths `docs/CONNECTORS.md#hashicorp-vault-vault`
//! gives (`vault/<mount>/metadata/<path>.json`, `vault/sys/policy/<name>.json`,
//! `vault/auth/<mount>/role/<name>.json`…), each the `-format=json` answer
//! of the `vault` command there.

use crate::http::{Api, Failed, Patience};
use crate::{write, Error, Progress, Report, Tally};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// What to collect and as whom.
pub struct VaultOptions {
    /// `VAULT_ADDR`: `https://vault.example.com:8200`.
    pub address: String,
    /// `VAULT_TOKEN`: sent as `X-Vault-Token` to `address` only.
    pub token: String,
    /// KV paths read at once.
    pub concurrency: usize,
    /// Attempts, rate-limit waits and backoff.
    pub patience: Patience,
}

impl std::fmt::Debug for VaultOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultOptions")
            .field("address", &self.address)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl VaultOptions {
    pub fn new(address: &str, token: String) -> VaultOptions {
        VaultOptions {
            address: address.trim_end_matches('/').to_string(),
            token,
            concurrency: 8,
            patience: Patience::default(),
        }
    }
}

/// The server and token as the Vault CLI finds them: `address`, else
/// `VAULT_ADDR`, else `https://127.0.0.1:8200`; `VAULT_TOKEN`, else the token
/// helper's `~/.vault-token`.
pub fn from_env(address: Option<String>) -> VaultOptions {
    let address = address
        .or_else(|| crate::env("VAULT_ADDR"))
        .unwrap_or_else(|| "https://127.0.0.1:8200".into());
    let token = crate::env("VAULT_TOKEN")
        .or_else(|| {
            let home = std::env::var_os("HOME")?;
            std::fs::read_to_string(std::path::PathBuf::from(home).join(".vault-token")).ok()
        })
        .unwrap_or_default();
    VaultOptions::new(&address, token)
}

/// Auth methods whose roles custody reads.
const ROLE_METHODS: &[&str] = &["approle", "kubernetes", "jwt", "oidc", "aws"];

/// `data` of a Vault answer (older servers also repeat it at the top).
fn data(v: &Value) -> &Value {
    v.get("data").filter(|d| d.is_object()).unwrap_or(v)
}

/// The keys of a `LIST` (a 404 is an empty list, as Vault answers one).
async fn list(api: &Api, path: &str, tally: &Tally) -> Result<Vec<String>, Failed> {
    match api.call("LIST", path, None, tally).await {
        Ok(v) => Ok(data(&v)
            .get("keys")
            .and_then(Value::as_array)
            .map(|k| {
                k.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()),
        Err(Failed::Refused { status: 404, .. }) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Reads `path` and writes it to `file`, or records why not.
async fn read(
    api: &Api,
    method: &'static str,
    path: &str,
    body: Option<&Value>,
    file: &str,
    dir: &Path,
    tally: &Tally,
) {
    match api.call(method, path, body, tally).await {
        Ok(v) => {
            Tally::add(&tally.records, 1);
            write::json(dir, file, &v, tally);
        }
        Err(Failed::Refused {
            status: 403,
            message,
        }) => tally.unavailable(
            format!("{method} {path}"),
            format!("HTTP 403: {message}"),
            file,
        ),
        Err(e) => tally.fail(format!("{method} {path}"), e.describe()),
    }
}

/// The mounts of `sys/mounts` or `sys/auth`: (path with its `/`, type, options).
async fn mounts(api: &Api, path: &str, tally: &Tally) -> Option<Vec<(String, String, Value)>> {
    match api.call("GET", path, None, tally).await {
        Ok(v) => Some(
            data(&v)
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter(|(k, v)| k.ends_with('/') && v.is_object())
                        .map(|(k, v)| {
                            let kind = v
                                .get("type")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_string();
                            (
                                k.clone(),
                                kind,
                                v.get("options").cloned().unwrap_or(Value::Null),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
        ),
        Err(e) => {
            tally.fail(format!("GET {path}"), e.describe());
            None
        }
    }
}

/// Collects the Vault cluster into `dir`.
pub async fn collect(
    options: &VaultOptions,
    dir: &Path,
    progress: &dyn Progress,
) -> Result<Report, Error> {
    let started = Instant::now();
    write::snapshot(dir)?;
    if options.token.trim().is_empty() {
        return Err(Error::NoToken(
            "Vault",
            "VAULT_TOKEN (or log in with `vault login`)",
        ));
    }
    let mut api = Api::new(&options.address, options.token.trim().to_string())
        .with_auth_header("X-Vault-Token");
    api = api.patient(options.patience);
    let api = Arc::new(api);
    let tally = Arc::new(Tally::default());
    progress.scopes(1);

    let caller = match api
        .call("GET", "/v1/auth/token/lookup-self", None, &tally)
        .await
    {
        Ok(v) => data(&v)
            .get("display_name")
            .and_then(Value::as_str)
            .map(str::to_string),
        Err(Failed::Refused {
            status: 403,
            message,
        }) => return Err(Error::Refused("Vault", format!("HTTP 403: {message}"))),
        Err(_) => None,
    };

    // KV v2 mounts: every secret's metadata, the folders walked breadth-first.
    let mut reads: Vec<(String, String)> = Vec::new();
    for (mount, kind, opts) in mounts(&api, "/v1/sys/mounts", &tally)
        .await
        .unwrap_or_default()
    {
        let v2 = opts.get("version").and_then(Value::as_str) == Some("2");
        if kind != "kv" || !v2 {
            continue;
        }
        let name = mount.trim_end_matches('/');
        let mut folders = vec![String::new()];
        while let Some(folder) = folders.pop() {
            match list(&api, &format!("/v1/{mount}metadata/{folder}"), &tally).await {
                Ok(keys) => {
                    for k in keys {
                        let path = format!("{folder}{k}");
                        if k.ends_with('/') {
                            folders.push(path);
                        } else {
                            reads.push((
                                format!("/v1/{mount}metadata/{path}"),
                                format!("vault/{name}/metadata/{path}.json"),
                            ));
                        }
                    }
                }
                Err(e) => tally.fail(format!("LIST /v1/{mount}metadata/{folder}"), e.describe()),
            }
        }
    }
    // ACL policies.
    match list(&api, "/v1/sys/policies/acl", &tally).await {
        Ok(names) => reads.extend(names.into_iter().map(|n| {
            (
                format!("/v1/sys/policy/{n}"),
                format!("vault/sys/policy/{n}.json"),
            )
        })),
        Err(e) => tally.fail("LIST /v1/sys/policies/acl", e.describe()),
    }
    // Auth roles, and each AppRole's secret-id accessors.
    let mut lookups: Vec<(String, String, String)> = Vec::new();
    for (mount, kind, _) in mounts(&api, "/v1/sys/auth", &tally)
        .await
        .unwrap_or_default()
    {
        if !ROLE_METHODS.contains(&kind.as_str()) {
            continue;
        }
        let name = mount.trim_end_matches('/');
        let roles = match list(&api, &format!("/v1/auth/{mount}role"), &tally).await {
            Ok(r) => r,
            Err(e) => {
                tally.fail(format!("LIST /v1/auth/{mount}role"), e.describe());
                continue;
            }
        };
        for role in roles {
            reads.push((
                format!("/v1/auth/{mount}role/{role}"),
                format!("vault/auth/{name}/role/{role}.json"),
            ));
            if kind != "approle" {
                continue;
            }
            let path = format!("/v1/auth/{mount}role/{role}/secret-id");
            match api.call("LIST", &path, None, &tally).await {
                Ok(v) => {
                    let accessors: Vec<String> = data(&v)
                        .get("keys")
                        .and_then(Value::as_array)
                        .map(|k| {
                            k.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default();
                    write::json(
                        dir,
                        &format!("vault/auth/{name}/role/{role}/secret-id.json"),
                        &v,
                        &tally,
                    );
                    for a in accessors {
                        lookups.push((
                            format!("/v1/auth/{mount}role/{role}/secret-id-accessor/lookup"),
                            a.clone(),
                            format!("vault/auth/{name}/role/{role}/secret-id/{a}.json"),
                        ));
                    }
                }
                // No secret-ids: Vault answers 404 to an empty LIST.
                Err(Failed::Refused { status: 404, .. }) => {
                    let empty = json!({"data": {"keys": []}});
                    write::json(
                        dir,
                        &format!("vault/auth/{name}/role/{role}/secret-id.json"),
                        &empty,
                        &tally,
                    );
                }
                Err(e) => tally.fail(format!("LIST {path}"), e.describe()),
            }
        }
    }

    let limit = Arc::new(tokio::sync::Semaphore::new(options.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (path, file) in reads {
        let (api, tally, limit, dir) =
            (api.clone(), tally.clone(), limit.clone(), dir.to_path_buf());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            read(&api, "GET", &path, None, &file, &dir, &tally).await;
        });
    }
    for (path, accessor, file) in lookups {
        let (api, tally, limit, dir) =
            (api.clone(), tally.clone(), limit.clone(), dir.to_path_buf());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let body = json!({ "secret_id_accessor": accessor });
            read(&api, "POST", &path, Some(&body), &file, &dir, &tally).await;
        });
    }
    while let Some(done) = tasks.join_next().await {
        if let Err(e) = done {
            tally.fail("a read", format!("the collection task stopped: {e}"));
        }
    }
    let host = options
        .address
        .split("://")
        .nth(1)
        .unwrap_or(&options.address)
        .to_string();
    let mut report = tally.report(format!("vault:{host}"), started.elapsed());
    report.covers = vec!["vault/".into()];
    progress.scope_done(&report);
    Ok(Report::new(
        "vault",
        caller,
        vec![report],
        started.elapsed(),
    ))
}

/// [`collect`] on a runtime of its own.
pub fn collect_blocking(
    options: &VaultOptions,
    dir: &Path,
    progress: &dyn Progress,
) -> Result<Report, Error> {
    crate::block_on(collect(options, dir, progress))?
}
