//! GitHub, one organisation: members, teams and their members, App
//! installations, fine-grained token grants, SAML credential
//! authorizations, Actions secrets (names only: GitHub never returns
//! values) of the organisation, of every repository and of its
//! environments, and deploy keys — each saved under its REST path, as
//! `gh api --paginate` would (`docs/CONNECTORS.md#github`).
//!
//! Some endpoints answer only some tokens (fine-grained token grants: a
//! GitHub App; credential authorizations: an organisation with SAML SSO;
//! secrets and deploy keys: admin rights). Their refusal (403, 404) is
//! recorded as *unavailable* to this token — nothing written, nothing
//! superseded — not as a failure.

use crate::http::{fetch, listing, Api, Failed, Patience};
use crate::{write, Error, Progress, Report, Tally};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// What to collect and as whom.
pub struct GithubOptions {
    pub org: String,
    /// `https://api.github.com`, or a GitHub Enterprise Server's
    /// `https://HOST/api/v3`.
    pub api_url: String,
    /// A token (`GITHUB_TOKEN`, `GH_TOKEN`, a GitHub App installation token):
    /// sent to `api_url` only, never written or printed.
    pub token: String,
    /// Repositories read at once.
    pub concurrency: usize,
    /// Attempts, rate-limit waits and backoff.
    pub patience: Patience,
    /// Where answers are kept for conditional requests (`If-None-Match`):
    /// a later run's unchanged pages cost no rate limit.
    pub etags: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for GithubOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubOptions")
            .field("org", &self.org)
            .field("api_url", &self.api_url)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl GithubOptions {
    pub fn new(org: &str, token: String) -> GithubOptions {
        GithubOptions {
            org: org.to_string(),
            api_url: "https://api.github.com".into(),
            token,
            concurrency: 4,
            patience: Patience::default(),
            etags: None,
        }
    }
}

/// The token, where GitHub's CLIs look: `GITHUB_TOKEN`, then `GH_TOKEN`
/// (what `gh auth token` prints). Empty when neither is set.
pub fn token_from_env() -> String {
    crate::env("GITHUB_TOKEN")
        .or_else(|| crate::env("GH_TOKEN"))
        .unwrap_or_default()
}

/// Collects the organisation into `dir`.
pub async fn collect(
    options: &GithubOptions,
    dir: &Path,
    progress: &dyn Progress,
) -> Result<Report, Error> {
    let started = Instant::now();
    write::snapshot(dir)?;
    if options.token.trim().is_empty() {
        return Err(Error::NoToken("GitHub", "GITHUB_TOKEN (or GH_TOKEN)"));
    }
    let mut api = Api::new(&options.api_url, format!("Bearer {}", options.token.trim()));
    api = api.patient(options.patience);
    api.etags = options.etags.clone();
    let api = Arc::new(api);
    let tally = Arc::new(Tally::default());
    progress.scopes(1);

    // Who the token is (an App installation token has no user: no caller).
    let caller = match api.get_all("/user", None, &tally).await {
        Ok(v) => v.get("login").and_then(Value::as_str).map(str::to_string),
        Err(Failed::Refused {
            status: 401,
            message,
        }) => return Err(Error::Refused("GitHub", format!("HTTP 401: {message}"))),
        Err(_) => None,
    };

    let o = &options.org;
    let base = format!("github/orgs/{o}");
    let org_listings = [
        listing(
            format!("/orgs/{o}/members"),
            format!("{base}/members.json"),
            None,
            false,
        ),
        listing(
            format!("/orgs/{o}/installations"),
            format!("{base}/installations.json"),
            Some("installations"),
            true,
        ),
        listing(
            format!("/orgs/{o}/personal-access-tokens"),
            format!("{base}/personal-access-tokens.json"),
            None,
            true,
        ),
        listing(
            format!("/orgs/{o}/credential-authorizations"),
            format!("{base}/credential-authorizations.json"),
            None,
            true,
        ),
        listing(
            format!("/orgs/{o}/actions/secrets"),
            format!("{base}/actions/secrets.json"),
            Some("secrets"),
            true,
        ),
    ];
    for l in &org_listings {
        fetch(&api, l, dir, &tally).await;
    }
    let teams = listing(
        format!("/orgs/{o}/teams"),
        format!("{base}/teams.json"),
        None,
        false,
    );
    if let Some(Value::Array(teams)) = fetch(&api, &teams, dir, &tally).await {
        for slug in teams
            .iter()
            .filter_map(|t| t.get("slug").and_then(Value::as_str))
        {
            let l = listing(
                format!("/orgs/{o}/teams/{slug}/members"),
                format!("{base}/teams/{slug}/members.json"),
                None,
                false,
            );
            fetch(&api, &l, dir, &tally).await;
        }
    }

    // Every repository: its secrets, environments' secrets and deploy keys.
    // The listing is kept too: repositories are what GitHub credentials reach.
    let repos = listing(
        format!("/orgs/{o}/repos?type=all"),
        format!("{base}/repos.json"),
        None,
        false,
    );
    let repos = match fetch(&api, &repos, dir, &tally).await {
        Some(Value::Array(r)) => r,
        _ => Vec::new(),
    };
    let limit = Arc::new(tokio::sync::Semaphore::new(options.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for repo in repos {
        let Some(full) = repo
            .get("full_name")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            continue;
        };
        let (api, tally, limit, dir) =
            (api.clone(), tally.clone(), limit.clone(), dir.to_path_buf());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let base = format!("github/repos/{full}");
            let secrets = listing(
                format!("/repos/{full}/actions/secrets"),
                format!("{base}/actions/secrets.json"),
                Some("secrets"),
                true,
            );
            fetch(&api, &secrets, &dir, &tally).await;
            let keys = listing(
                format!("/repos/{full}/keys"),
                format!("{base}/keys.json"),
                None,
                true,
            );
            fetch(&api, &keys, &dir, &tally).await;
            let envs = api
                .get_all(
                    &format!("/repos/{full}/environments"),
                    Some("environments"),
                    &tally,
                )
                .await;
            if let Ok(envs) = envs {
                let names = envs
                    .get("environments")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|e| e.get("name").and_then(Value::as_str))
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_else(Vec::new);
                for env in names {
                    let l = listing(
                        format!("/repos/{full}/environments/{env}/secrets"),
                        format!("{base}/environments/{env}/secrets.json"),
                        Some("secrets"),
                        true,
                    );
                    fetch(&api, &l, &dir, &tally).await;
                }
            } else if let Err(e) = envs {
                match e {
                    Failed::Refused { status, message } => tally.unavailable(
                        format!("GET /repos/{full}/environments"),
                        format!("HTTP {status}: {message}"),
                        &format!("{base}/environments/"),
                    ),
                    Failed::Other(e) => tally.fail(format!("GET /repos/{full}/environments"), e),
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        if let Err(e) = done {
            tally.fail("a repository", format!("the collection task stopped: {e}"));
        }
    }
    let mut report = tally.report(format!("github:{o}"), started.elapsed());
    report.covers = vec![format!("github/orgs/{o}/"), format!("github/repos/{o}/")];
    progress.scope_done(&report);
    Ok(Report::new(
        "github",
        caller,
        vec![report],
        started.elapsed(),
    ))
}

/// [`collect`] on a runtime of its own.
pub fn collect_blocking(
    options: &GithubOptions,
    dir: &Path,
    progress: &dyn Progress,
) -> Result<Report, Error> {
    crate::block_on(collect(options, dir, progress))?
}
