//! Google Cloud, project by project: service accounts, their user-managed
//! keys and IAM policies, the project's IAM policy and its workload
//! identity pools' providers — each written as the `gcloud … --format=json`
//! output of `docs/CONNECTORS.md#google-cloud` (`gcp/projects/P/…`).
//!
//! The token comes from Google's usual places, in gcloud's order:
//! `GOOGLE_OAUTH_ACCESS_TOKEN`, Application Default Credentials
//! (`GOOGLE_APPLICATION_CREDENTIALS`, else gcloud's
//! `application_default_credentials.json`: a service account key signs a
//! JWT, a user's refresh token is exchanged), else `gcloud auth
//! print-access-token`. It is held in memory only.

use crate::http::{Api, Failed, Patience};
use crate::{write, Error, Progress, Report, Tally};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to collect.
pub struct GcpOptions {
    /// Projects by id; empty: every active project the token can see.
    pub projects: Vec<String>,
    /// The API root standing in for `https://iam.googleapis.com` and
    /// `https://cloudresourcemanager.googleapis.com` (a test server); `None`:
    /// Google's.
    pub api_url: Option<String>,
    /// `Bearer …`, from [`token`].
    pub authorization: String,
    pub concurrency: usize,
    /// Attempts, rate-limit waits and backoff.
    pub patience: Patience,
}

impl std::fmt::Debug for GcpOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcpOptions")
            .field("projects", &self.projects)
            .field("api_url", &self.api_url)
            .field("authorization", &"<redacted>")
            .finish()
    }
}

impl GcpOptions {
    pub fn new(authorization: String) -> GcpOptions {
        GcpOptions {
            projects: Vec::new(),
            api_url: None,
            authorization,
            concurrency: 4,
            patience: Patience::default(),
        }
    }
}

const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// An access token from Google's usual places (see the module's doc), or
/// why there is none.
pub fn token() -> Result<String, Error> {
    if let Some(t) = std::env::var("GOOGLE_OAUTH_ACCESS_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty())
    {
        return Ok(t.trim().to_string());
    }
    let adc = std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            let home = std::env::var_os("HOME")?;
            Some(
                std::path::PathBuf::from(home)
                    .join(".config/gcloud/application_default_credentials.json"),
            )
        })
        .filter(|p| p.is_file());
    if let Some(path) = adc {
        return crate::block_on(adc_token(&path))?;
    }
    let out = std::process::Command::new("gcloud")
        .args(["auth", "print-access-token"])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            Error::Credentials(format!(
                "no Google credentials: set GOOGLE_OAUTH_ACCESS_TOKEN or GOOGLE_APPLICATION_CREDENTIALS, or install gcloud and `gcloud auth login` ({e})"
            ))
        })?;
    let t = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || t.is_empty() {
        let why: String = String::from_utf8_lossy(&out.stderr)
            .chars()
            .take(300)
            .collect();
        return Err(Error::Credentials(format!(
            "`gcloud auth print-access-token` failed: {}",
            why.trim()
        )));
    }
    Ok(t)
}

/// Exchanges Application Default Credentials for an access token.
async fn adc_token(path: &Path) -> Result<String, Error> {
    let bad = |m: String| Error::Credentials(format!("{}: {m}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let adc: Value = serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
    let field = |k: &str| {
        adc.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (token_uri, form) = match field("type").as_str() {
        "authorized_user" => (
            "https://oauth2.googleapis.com/token".to_string(),
            vec![
                ("grant_type", "refresh_token".to_string()),
                ("client_id", field("client_id")),
                ("client_secret", field("client_secret")),
                ("refresh_token", field("refresh_token")),
            ],
        ),
        "service_account" => {
            let uri = Some(field("token_uri"))
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| "https://oauth2.googleapis.com/token".into());
            let jwt =
                signed_jwt(&field("client_email"), &uri, &field("private_key")).map_err(bad)?;
            (
                uri,
                vec![
                    (
                        "grant_type",
                        "urn:ietf:params:oauth:grant-type:jwt-bearer".to_string(),
                    ),
                    ("assertion", jwt),
                ],
            )
        }
        other => {
            return Err(bad(format!(
                "credentials of type `{other}` are not supported"
            )))
        }
    };
    crate::http::oauth_token(&token_uri, &form)
        .await
        .map_err(|e| Error::Credentials(format!("Google's token endpoint: {e}")))
}

/// A service account's JWT bearer assertion (RS256), as Google's client
/// libraries sign it.
fn signed_jwt(email: &str, audience: &str, pem: &str) -> Result<String, String> {
    use base64::Engine;
    use rustls::pki_types::pem::PemObject;
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let header = b64(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = b64(
        json!({"iss": email, "scope": SCOPE, "aud": audience, "iat": now, "exp": now + 3600})
            .to_string()
            .as_bytes(),
    );
    let signing = format!("{header}.{claims}");
    let der = rustls::pki_types::PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes())
        .map_err(|_| "the private_key is not a PKCS#8 PEM key".to_string())?;
    let key = ring::signature::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
        .map_err(|_| "the private_key is not an RSA key".to_string())?;
    let mut sig = vec![0; key.public().modulus_len()];
    key.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        signing.as_bytes(),
        &mut sig,
    )
    .map_err(|_| "cannot sign the token request".to_string())?;
    Ok(format!("{signing}.{}", b64(&sig)))
}

/// Collects the projects into `dir`.
pub async fn collect(
    options: &GcpOptions,
    dir: &Path,
    progress: &dyn Progress,
) -> Result<Report, Error> {
    let started = Instant::now();
    write::snapshot(dir)?;
    let make = |base: &str| {
        let mut api = Api::new(
            options.api_url.as_deref().unwrap_or(base),
            options.authorization.clone(),
        );
        api = api.patient(options.patience);
        Arc::new(api)
    };
    let iam = make("https://iam.googleapis.com");
    let crm = make("https://cloudresourcemanager.googleapis.com");
    let listing = Tally::default();
    let mut projects = options.projects.clone();
    if projects.is_empty() {
        match crm
            .get_items(
                "/v1/projects?filter=lifecycleState%3AACTIVE",
                "projects",
                "/nextPageToken",
                "pageToken",
                &listing,
            )
            .await
        {
            Ok(all) => projects.extend(
                all.iter()
                    .filter_map(|p| p.get("projectId").and_then(Value::as_str))
                    .map(str::to_string),
            ),
            Err(Failed::Refused {
                status: 401,
                message,
            }) => {
                return Err(Error::Refused(
                    "Google Cloud",
                    format!("HTTP 401: {message}"),
                ))
            }
            Err(e) => {
                return Err(Error::Credentials(format!(
                    "cannot list projects (give --project): {}",
                    e.describe()
                )))
            }
        }
    }
    progress.scopes(projects.len() as u64);
    let limit = Arc::new(tokio::sync::Semaphore::new(options.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for p in projects {
        let (iam, crm, limit, dir) = (iam.clone(), crm.clone(), limit.clone(), dir.to_path_buf());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let started = Instant::now();
            let tally = Tally::default();
            project(&iam, &crm, &p, &dir, &tally).await;
            let mut r = tally.report(format!("gcp:{p}"), started.elapsed());
            r.covers = vec![format!("gcp/projects/{p}/")];
            r
        });
    }
    let mut scopes = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(r) => {
                progress.scope_done(&r);
                scopes.push(r);
            }
            Err(e) => {
                let t = Tally::default();
                t.fail("a project", format!("the collection task stopped: {e}"));
                scopes.push(t.report("gcp:unknown".into(), Duration::ZERO));
            }
        }
    }
    Ok(Report::new("gcp", None, scopes, started.elapsed()))
}

async fn project(iam: &Api, crm: &Api, p: &str, dir: &Path, tally: &Tally) {
    let base = format!("gcp/projects/{p}");
    match crm
        .call(
            "POST",
            &format!("/v1/projects/{p}:getIamPolicy"),
            Some(&json!({"options": {"requestedPolicyVersion": 3}})),
            tally,
        )
        .await
    {
        Ok(policy) => write::json(dir, &format!("{base}/iam-policy.json"), &policy, tally),
        Err(e) => tally.fail(format!("projects.getIamPolicy {p}"), e.describe()),
    }
    let accounts = match iam
        .get_items(
            &format!("/v1/projects/{p}/serviceAccounts"),
            "accounts",
            "/nextPageToken",
            "pageToken",
            tally,
        )
        .await
    {
        Ok(a) => {
            write::json(
                dir,
                &format!("{base}/service-accounts.json"),
                &Value::Array(a.clone()),
                tally,
            );
            a
        }
        Err(e) => {
            tally.fail(format!("serviceAccounts.list {p}"), e.describe());
            Vec::new()
        }
    };
    for a in &accounts {
        let Some(email) = a.get("email").and_then(Value::as_str) else {
            continue;
        };
        let sa = format!("/v1/projects/{p}/serviceAccounts/{email}");
        // gcloud lists user-managed and system-managed keys alike.
        match iam.call("GET", &format!("{sa}/keys"), None, tally).await {
            Ok(v) => {
                let keys = v.get("keys").cloned().unwrap_or_else(|| json!([]));
                Tally::add(&tally.records, keys.as_array().map_or(0, Vec::len) as u64);
                write::json(
                    dir,
                    &format!("{base}/service-accounts/{email}/keys.json"),
                    &keys,
                    tally,
                );
            }
            Err(e) => tally.fail(format!("serviceAccounts.keys.list {email}"), e.describe()),
        }
        match iam
            .call("POST", &format!("{sa}:getIamPolicy"), None, tally)
            .await
        {
            Ok(policy) => write::json(
                dir,
                &format!("{base}/service-accounts/{email}/iam-policy.json"),
                &policy,
                tally,
            ),
            Err(e) => tally.fail(
                format!("serviceAccounts.getIamPolicy {email}"),
                e.describe(),
            ),
        }
    }
    let pools = format!("/v1/projects/{p}/locations/global/workloadIdentityPools");
    match iam
        .get_items(
            &pools,
            "workloadIdentityPools",
            "/nextPageToken",
            "pageToken",
            tally,
        )
        .await
    {
        Ok(list) => {
            for pool in list {
                let Some(name) = pool.get("name").and_then(Value::as_str) else {
                    continue;
                };
                let id = name.rsplit('/').next().unwrap_or(name);
                match iam
                    .get_items(
                        &format!("/v1/{name}/providers"),
                        "workloadIdentityPoolProviders",
                        "/nextPageToken",
                        "pageToken",
                        tally,
                    )
                    .await
                {
                    Ok(providers) => write::json(
                        dir,
                        &format!("{base}/workload-identity-pools/{id}/providers.json"),
                        &Value::Array(providers),
                        tally,
                    ),
                    Err(e) => tally.fail(
                        format!("workloadIdentityPools.providers.list {id}"),
                        e.describe(),
                    ),
                }
            }
        }
        // The IAM API's pools need `iam.workloadIdentityPools.list`: its refusal is an answer.
        Err(Failed::Refused {
            status: 403,
            message,
        }) => tally.unavailable(
            format!("workloadIdentityPools.list {p}"),
            format!("HTTP 403: {message}"),
            &format!("{base}/workload-identity-pools/"),
        ),
        Err(e) => tally.fail(format!("workloadIdentityPools.list {p}"), e.describe()),
    }
}

/// [`collect`] on a runtime of its own.
pub fn collect_blocking(
    options: &GcpOptions,
    dir: &Path,
    progress: &dyn Progress,
) -> Result<Report, Error> {
    crate::block_on(collect(options, dir, progress))?
}
