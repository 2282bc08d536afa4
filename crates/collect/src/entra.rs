//! Microsoft Entra ID and Azure RBAC: app registrations, service principals
//! (managed identities among them), each app's federated credentials and
//! owners from Microsoft Graph, and every subscription's role assignments
//! from Azure Resource Manager — written as the `az` outputs of
//! `docs/CONNECTORS.md#microsoft-entra-id-and-azure-rbac` (`azure/…`).
//!
//! Tokens come from Azure's usual places, in azure-identity's order: a
//! service principal's secret in `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and
//! `AZURE_CLIENT_SECRET` (at `AZURE_AUTHORITY_HOST`, default
//! `https://login.microsoftonline.com`), else the Azure CLI's
//! `az account get-access-token`. Held in memory only.

use crate::http::{Api, Failed, Patience};
use crate::{write, Error, Progress, Report, Tally};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

/// What to collect and as whom.
pub struct EntraOptions {
    /// The tenant's name in the scope (`entra:<tenant>`).
    pub tenant: String,
    /// `Bearer …` for Microsoft Graph.
    pub graph_authorization: String,
    /// `Bearer …` for Azure Resource Manager (role assignments).
    pub arm_authorization: String,
    /// Stands in for `https://graph.microsoft.com` and
    /// `https://management.azure.com` (a test server).
    pub api_url: Option<String>,
    /// Attempts, rate-limit waits and backoff.
    pub patience: Patience,
}

impl std::fmt::Debug for EntraOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntraOptions")
            .field("tenant", &self.tenant)
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

pub const GRAPH: &str = "https://graph.microsoft.com";
pub const ARM: &str = "https://management.azure.com";

/// An access token for `resource` (`GRAPH` or `ARM`) from Azure's usual
/// places (see the module's doc), and the tenant it is for.
pub fn token(resource: &str) -> Result<(String, String), Error> {
    let env = crate::env;
    if let (Some(tenant), Some(client), Some(secret)) = (
        env("AZURE_TENANT_ID"),
        env("AZURE_CLIENT_ID"),
        env("AZURE_CLIENT_SECRET"),
    ) {
        let host = env("AZURE_AUTHORITY_HOST")
            .unwrap_or_else(|| "https://login.microsoftonline.com".into());
        let url = format!("{}/{tenant}/oauth2/v2.0/token", host.trim_end_matches('/'));
        let form = [
            ("grant_type", "client_credentials".to_string()),
            ("client_id", client),
            ("client_secret", secret),
            ("scope", format!("{resource}/.default")),
        ];
        let t = crate::block_on(crate::http::oauth_token(&url, &form))?
            .map_err(|e| Error::Credentials(format!("Entra ID's token endpoint: {e}")))?;
        return Ok((t, tenant));
    }
    let out = std::process::Command::new("az")
        .args(["account", "get-access-token", "--resource", resource, "--output", "json"])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            Error::Credentials(format!(
                "no Azure credentials: set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or install the Azure CLI and `az login` ({e})"
            ))
        })?;
    if !out.status.success() {
        let why: String = String::from_utf8_lossy(&out.stderr)
            .chars()
            .take(300)
            .collect();
        return Err(Error::Credentials(format!(
            "`az account get-access-token` failed: {}",
            why.trim()
        )));
    }
    let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        Error::Credentials(format!(
            "`az account get-access-token` printed no JSON: {e}"
        ))
    })?;
    let field = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    if field("accessToken").is_empty() {
        return Err(Error::Credentials(
            "`az account get-access-token` gave no accessToken".into(),
        ));
    }
    Ok((field("accessToken"), field("tenant")))
}

fn api(options: &EntraOptions, base: &str, authorization: &str) -> Api {
    let mut api = Api::new(
        options.api_url.as_deref().unwrap_or(base),
        authorization.to_string(),
    );
    api = api.patient(options.patience);
    api
}

/// Collects the tenant into `dir`.
pub async fn collect(
    options: &EntraOptions,
    dir: &Path,
    progress: &dyn Progress,
) -> Result<Report, Error> {
    let started = Instant::now();
    write::snapshot(dir)?;
    let graph = api(options, GRAPH, &options.graph_authorization);
    let arm = api(options, ARM, &options.arm_authorization);
    let tally = Tally::default();
    progress.scopes(1);
    let list = |path: &'static str| {
        graph.get_items(path, "value", "/@odata.nextLink", "$skiptoken", &tally)
    };

    let apps = match list("/v1.0/applications").await {
        Ok(a) => {
            write::json(
                dir,
                "azure/applications.json",
                &Value::Array(a.clone()),
                &tally,
            );
            a
        }
        Err(Failed::Refused {
            status: 401,
            message,
        }) => {
            return Err(Error::Refused(
                "Microsoft Graph",
                format!("HTTP 401: {message}"),
            ))
        }
        Err(e) => {
            tally.fail("GET /v1.0/applications", e.describe());
            Vec::new()
        }
    };
    match list("/v1.0/servicePrincipals").await {
        Ok(sps) => write::json(
            dir,
            "azure/service-principals.json",
            &Value::Array(sps),
            &tally,
        ),
        Err(e) => tally.fail("GET /v1.0/servicePrincipals", e.describe()),
    }
    for app in &apps {
        let (Some(id), Some(app_id)) = (
            app.get("id").and_then(Value::as_str),
            app.get("appId").and_then(Value::as_str),
        ) else {
            continue;
        };
        for (what, file) in [
            ("federatedIdentityCredentials", "federated-credentials"),
            ("owners", "owners"),
        ] {
            let path = format!("/v1.0/applications/{id}/{what}");
            match graph
                .get_items(&path, "value", "/@odata.nextLink", "$skiptoken", &tally)
                .await
            {
                Ok(v) => write::json(
                    dir,
                    &format!("azure/applications/{app_id}/{file}.json"),
                    &Value::Array(v),
                    &tally,
                ),
                Err(e) => tally.fail(format!("GET {path}"), e.describe()),
            }
        }
    }

    // Role assignments of every subscription, as `az role assignment list --all`
    // prints them: `properties` flattened, the role's name beside its id.
    match role_assignments(&arm, &tally).await {
        Ok(all) => write::json(
            dir,
            "azure/role-assignments.json",
            &Value::Array(all),
            &tally,
        ),
        Err(e) => tally.fail("Azure Resource Manager role assignments", e),
    }
    let mut report = tally.report(format!("entra:{}", options.tenant), started.elapsed());
    report.covers = vec!["azure/".into()];
    progress.scope_done(&report);
    Ok(Report::new("entra", None, vec![report], started.elapsed()))
}

async fn role_assignments(arm: &Api, tally: &Tally) -> Result<Vec<Value>, String> {
    let subs = arm
        .get_items(
            "/subscriptions?api-version=2022-12-01",
            "value",
            "/nextLink",
            "$skiptoken",
            tally,
        )
        .await
        .map_err(|e| format!("GET /subscriptions: {}", e.describe()))?;
    let mut out = Vec::new();
    for sub in subs {
        let Some(id) = sub.get("subscriptionId").and_then(Value::as_str) else {
            continue;
        };
        let auth = format!("/subscriptions/{id}/providers/Microsoft.Authorization");
        let defs = arm
            .get_items(
                &format!("{auth}/roleDefinitions?api-version=2022-04-01"),
                "value",
                "/nextLink",
                "$skiptoken",
                tally,
            )
            .await
            .map_err(|e| format!("roleDefinitions of {id}: {}", e.describe()))?;
        let names: HashMap<String, String> = defs
            .iter()
            .filter_map(|d| {
                let name = d.pointer("/properties/roleName")?.as_str()?;
                Some((
                    d.get("id")?.as_str()?.to_ascii_lowercase(),
                    name.to_string(),
                ))
            })
            .collect();
        let assignments = arm
            .get_items(
                &format!("{auth}/roleAssignments?api-version=2022-04-01"),
                "value",
                "/nextLink",
                "$skiptoken",
                tally,
            )
            .await
            .map_err(|e| format!("roleAssignments of {id}: {}", e.describe()))?;
        for a in assignments {
            let mut flat = Map::new();
            for k in ["id", "name", "type"] {
                if let Some(v) = a.get(k) {
                    flat.insert(k.into(), v.clone());
                }
            }
            if let Some(Value::Object(p)) = a.get("properties") {
                for (k, v) in p {
                    flat.insert(k.clone(), v.clone());
                }
            }
            let role = flat
                .get("roleDefinitionId")
                .and_then(Value::as_str)
                .and_then(|r| names.get(&r.to_ascii_lowercase()).cloned());
            if let Some(role) = role {
                flat.insert("roleDefinitionName".into(), Value::String(role));
            }
            out.push(Value::Object(flat));
        }
    }
    Ok(out)
}

/// [`collect`] on a runtime of its own.
pub fn collect_blocking(
    options: &EntraOptions,
    dir: &Path,
    progress: &dyn Progress,
) -> Result<Report, Error> {
    crate::block_on(collect(options, dir, progress))?
}
