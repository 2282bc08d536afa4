//! Okta, one org: users (deprovisioned ones too: the default listing leaves
//! them out, and they are the leavers), groups and their members, apps and
//! their grants, API tokens, and the System Log since the last collection —
//! saved as the `curl` loops of `docs/CONNECTORS.md#workforce` save them.

use crate::http::{fetch, listing, Api, Failed, Patience};
use crate::{write, Error, Progress, Report, Tally};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// What to collect and as whom.
pub struct OktaOptions {
    /// `https://acme.okta.com`.
    pub org_url: String,
    /// The `Authorization` value: `SSWS <API token>` or `Bearer <OAuth
    /// access token>`. Sent to `org_url` only, never written or printed.
    pub authorization: String,
    /// Groups (member listings) and apps (grants) read at once.
    pub concurrency: usize,
    /// Attempts, rate-limit waits and backoff.
    pub patience: Patience,
    /// The System Log from here (the last collection's end) to now; `None`:
    /// no System Log.
    pub logs_since: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for OktaOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OktaOptions")
            .field("org_url", &self.org_url)
            .field("authorization", &"<redacted>")
            .field("logs_since", &self.logs_since)
            .finish()
    }
}

impl OktaOptions {
    pub fn new(org_url: &str, authorization: String) -> OktaOptions {
        OktaOptions {
            org_url: org_url.trim_end_matches('/').to_string(),
            authorization,
            concurrency: 4,
            patience: Patience::default(),
            logs_since: None,
        }
    }
}

/// The `Authorization` value from the environment: an API token in
/// `OKTA_API_TOKEN` (`SSWS …`), else an OAuth access token in
/// `OKTA_ACCESS_TOKEN` (`Bearer …`). Empty when neither is set.
pub fn authorization_from_env() -> String {
    match (
        crate::env("OKTA_API_TOKEN"),
        crate::env("OKTA_ACCESS_TOKEN"),
    ) {
        (Some(t), _) => format!("SSWS {t}"),
        (None, Some(t)) => format!("Bearer {t}"),
        (None, None) => String::new(),
    }
}

/// A collection, and the end of the System Log window when the log arrived
/// whole (the next collection starts there).
pub struct OktaReport {
    pub report: Report,
    pub logs_until: Option<DateTime<Utc>>,
}

/// Collects the org into `dir`.
pub async fn collect(
    options: &OktaOptions,
    dir: &Path,
    progress: &dyn Progress,
) -> Result<OktaReport, Error> {
    let started = Instant::now();
    write::snapshot(dir)?;
    if options.authorization.split_whitespace().nth(1).is_none() {
        return Err(Error::NoToken(
            "Okta",
            "OKTA_API_TOKEN (or an OAuth access token in OKTA_ACCESS_TOKEN)",
        ));
    }
    let mut api = Api::new(&options.org_url, options.authorization.clone());
    api = api.patient(options.patience);
    api.page_size = "limit=200";
    let api = Arc::new(api);
    let tally = Arc::new(Tally::default());
    let host = options
        .org_url
        .split("://")
        .nth(1)
        .unwrap_or(&options.org_url)
        .to_string();
    progress.scopes(1);

    // Who the token is: the admin an API token acts for.
    let caller = match api.get_all("/api/v1/users/me", None, &tally).await {
        Ok(v) => v
            .pointer("/profile/login")
            .and_then(Value::as_str)
            .map(str::to_string),
        Err(Failed::Refused {
            status: 401,
            message,
        }) => return Err(Error::Refused("Okta", format!("HTTP 401: {message}"))),
        Err(_) => None,
    };

    // Users: the default listing, then the deprovisioned ones, as one file
    // (written only when both arrived: a half would retire the other half).
    let active = api.get_all("/api/v1/users", None, &tally).await;
    let gone = api
        .get_all(
            "/api/v1/users?search=status%20eq%20%22DEPROVISIONED%22",
            None,
            &tally,
        )
        .await;
    match (active, gone) {
        (Ok(Value::Array(mut a)), Ok(Value::Array(b))) => {
            let seen: std::collections::HashSet<String> = a
                .iter()
                .filter_map(|u| u.get("id").and_then(Value::as_str).map(str::to_string))
                .collect();
            a.extend(b.into_iter().filter(|u| {
                u.get("id")
                    .and_then(Value::as_str)
                    .is_none_or(|id| !seen.contains(id))
            }));
            write::json(dir, "okta/users.json", &Value::Array(a), &tally);
        }
        (Err(e), _) | (_, Err(e)) => tally.fail("GET /api/v1/users", e.describe()),
        _ => tally.fail("GET /api/v1/users", "the answer is not a JSON array"),
    }

    let groups = listing(
        "/api/v1/groups".into(),
        "okta/groups.json".into(),
        None,
        false,
    );
    let groups = fetch(&api, &groups, dir, &tally).await;
    let apps = listing("/api/v1/apps".into(), "okta/apps.json".into(), None, false);
    let apps = fetch(&api, &apps, dir, &tally).await;
    // API tokens need the super administrator role: a refusal is an answer.
    let tokens = listing(
        "/api/v1/api-tokens".into(),
        "okta/api-tokens.json".into(),
        None,
        true,
    );
    fetch(&api, &tokens, dir, &tally).await;

    let ids = |v: Option<Value>| -> Vec<String> {
        v.and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|x| x.get("id").and_then(Value::as_str).map(str::to_string))
            .collect()
    };
    let mut work: Vec<crate::http::Listing> = Vec::new();
    for g in ids(groups) {
        work.push(listing(
            format!("/api/v1/groups/{g}/users"),
            format!("okta/groups/{g}/users.json"),
            None,
            false,
        ));
    }
    for a in ids(apps) {
        work.push(listing(
            format!("/api/v1/apps/{a}/grants"),
            format!("okta/apps/{a}/grants.json"),
            None,
            true,
        ));
    }
    let limit = Arc::new(tokio::sync::Semaphore::new(options.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for l in work {
        let (api, tally, limit, dir) =
            (api.clone(), tally.clone(), limit.clone(), dir.to_path_buf());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            fetch(&api, &l, &dir, &tally).await;
        });
    }
    while let Some(done) = tasks.join_next().await {
        if let Err(e) = done {
            tally.fail("a listing", format!("the collection task stopped: {e}"));
        }
    }

    // The System Log, a bounded window (an open one never ends: Okta's
    // polling `next` link is always there).
    let mut logs_until = None;
    if let Some(since) = options.logs_since {
        let until = Utc::now();
        let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        let path = format!(
            "/api/v1/logs?since={}&until={}&limit=1000&sortOrder=ASCENDING",
            fmt(since),
            fmt(until)
        );
        // Larger pages for the log (Okta allows 1000).
        match api.get_all(&path, None, &tally).await {
            Ok(events) => {
                let file = format!(
                    "okta/logs/system-log-{}.json",
                    until.format("%Y%m%dT%H%M%SZ")
                );
                let before = tally.files.lock().map(|f| f.len()).unwrap_or(0);
                write::json(dir, &file, &events, &tally);
                let after = tally.files.lock().map(|f| f.len()).unwrap_or(0);
                if after > before {
                    logs_until = Some(until);
                }
            }
            Err(e) => tally.fail("GET /api/v1/logs", e.describe()),
        }
    }
    let mut report = tally.report(format!("okta:{host}"), started.elapsed());
    report.covers = vec!["okta/".into()];
    progress.scope_done(&report);
    Ok(OktaReport {
        report: Report::new("okta", caller, vec![report], started.elapsed()),
        logs_until,
    })
}

/// [`collect`] on a runtime of its own.
pub fn collect_blocking(
    options: &OktaOptions,
    dir: &Path,
    progress: &dyn Progress,
) -> Result<OktaReport, Error> {
    crate::block_on(collect(options, dir, progress))?
}
