//! `custody collect`: a live collection written as native exports into a
//! dated snapshot folder ([`custody_collect`]), then ingested from there.
//!
//! Every file of a collection names its scope under a stable label
//! (`collected:aws`), so the next collection of the same account supersedes
//! this one; a scope that lost a call wrote no file for what it lost, so
//! nothing there is superseded (an outage never retires anything).

use crate::ingest::{IngestOutput, StableRoot};
use crate::progress::{Progress, Unit};
use anyhow::Result;
use custody_collect::{Report, ScopeReport};
use custody_store::Store;
use serde::Serialize;
use std::path::Path;

pub use custody_collect::aws::{AwsOptions, DEFAULT_ROLE};
pub use custody_collect::github::GithubOptions;
pub use custody_collect::kubernetes::KubeOptions;
pub use custody_collect::okta::OktaOptions;
pub use custody_collect::vault::VaultOptions;

/// A collection and, unless asked not to, its ingest.
#[derive(Serialize)]
pub struct CollectOutput {
    /// The snapshot folder the answers were written to.
    pub snapshot_dir: String,
    pub collection: Report,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingest: Option<IngestOutput>,
}

impl CollectOutput {
    /// True when a scope lost a call (its data was not replaced).
    pub fn incomplete(&self) -> bool {
        self.collection.incomplete().next().is_some()
    }
}

/// Shows a collection's scopes on the application's progress.
struct Scopes<'a>(&'a dyn Progress);

impl custody_collect::Progress for Scopes<'_> {
    fn scopes(&self, total: u64) {
        self.0.stage("collecting", Some(total), Unit::Scopes);
    }
    fn scope_done(&self, report: &ScopeReport) {
        let state = if report.complete { "" } else { " (incomplete)" };
        self.0.note(&format!("{}{state}", report.scope));
        self.0.advance(1);
    }
}

/// Collects AWS into `snapshot` (a new folder) and ingests it into `store`
/// (when given).
pub fn aws(
    options: &AwsOptions,
    snapshot: &Path,
    store: Option<&mut dyn Store>,
    progress: &dyn Progress,
) -> Result<CollectOutput> {
    crate::progress::step(progress, "AWS: reading the organisation");
    let collection = custody_collect::aws::collect_blocking(options, snapshot, &Scopes(progress))?;
    progress.done();
    finish(collection, snapshot, "collected:aws", store, progress)
}

/// Collects a GitHub organisation into `snapshot` and ingests it into
/// `store` (when given).
pub fn github(
    options: &GithubOptions,
    snapshot: &Path,
    store: Option<&mut dyn Store>,
    progress: &dyn Progress,
) -> Result<CollectOutput> {
    crate::progress::step(progress, "GitHub: reading the organisation");
    let collection =
        custody_collect::github::collect_blocking(options, snapshot, &Scopes(progress))?;
    progress.done();
    finish(collection, snapshot, "collected:github", store, progress)
}

/// Collects a Vault cluster into `snapshot` and ingests it into `store`
/// (when given).
pub fn vault(
    options: &VaultOptions,
    snapshot: &Path,
    store: Option<&mut dyn Store>,
    progress: &dyn Progress,
) -> Result<CollectOutput> {
    crate::progress::step(progress, "Vault: reading mounts, policies and roles");
    let collection =
        custody_collect::vault::collect_blocking(options, snapshot, &Scopes(progress))?;
    progress.done();
    finish(collection, snapshot, "collected:vault", store, progress)
}

/// Collects a Kubernetes cluster (a kubeconfig context) into `snapshot` and
/// ingests it into `store` (when given).
pub fn kubernetes(
    options: &KubeOptions,
    snapshot: &Path,
    store: Option<&mut dyn Store>,
    progress: &dyn Progress,
) -> Result<CollectOutput> {
    crate::progress::step(progress, "Kubernetes: reading the cluster");
    let collection =
        custody_collect::kubernetes::collect_blocking(options, snapshot, &Scopes(progress))?;
    progress.done();
    finish(
        collection,
        snapshot,
        "collected:kubernetes",
        store,
        progress,
    )
}

/// Where the System Log starts: `since` when given (a duration back or a
/// time), else where the last complete collection of this org ended (kept in
/// `state`), else `first_window` back.
pub fn okta_logs_since(
    state: &Path,
    org_url: &str,
    since: Option<&str>,
    first_window: chrono::Duration,
) -> Result<chrono::DateTime<chrono::Utc>> {
    let now = chrono::Utc::now();
    if let Some(s) = since {
        let t = crate::service::since_time(s, now.timestamp()).map_err(anyhow::Error::msg)?;
        return chrono::DateTime::from_timestamp(t, 0)
            .ok_or_else(|| anyhow::anyhow!("`{s}` is out of range"));
    }
    let last = read_state(state)
        .pointer(&format!("/{}/logs_until", pointer_key(org_url)))
        .and_then(serde_json::Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc));
    Ok(last.unwrap_or(now - first_window))
}

/// Collects an Okta org into `snapshot`, ingests it into `store` (when
/// given), and records in `state` where its System Log ended (when the log
/// arrived whole), so the next collection reads on from there.
pub fn okta(
    options: &OktaOptions,
    snapshot: &Path,
    state: &Path,
    store: Option<&mut dyn Store>,
    progress: &dyn Progress,
) -> Result<CollectOutput> {
    crate::progress::step(progress, "Okta: reading the org");
    let out = custody_collect::okta::collect_blocking(options, snapshot, &Scopes(progress))?;
    progress.done();
    let result = finish(out.report, snapshot, "collected:okta", store, progress)?;
    let ingested = result.ingest.as_ref().is_none_or(|i| !i.had_errors());
    if let (Some(until), true) = (out.logs_until, ingested) {
        let mut all = read_state(state);
        if !all.is_object() {
            all = serde_json::json!({});
        }
        all[pointer_key(&options.org_url)] = serde_json::json!({"logs_until": until.to_rfc3339()});
        write_state(state, &all)?;
    }
    Ok(result)
}

/// A state key for an org URL (no `/`, which a JSON pointer would split).
fn pointer_key(url: &str) -> String {
    url.split("://")
        .nth(1)
        .unwrap_or(url)
        .trim_end_matches('/')
        .replace('/', "_")
}

fn read_state(path: &Path) -> serde_json::Value {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null)
}

fn write_state(path: &Path, state: &serde_json::Value) -> Result<()> {
    use anyhow::Context;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, serde_json::to_vec_pretty(state)?)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn finish(
    collection: Report,
    snapshot: &Path,
    label: &str,
    store: Option<&mut dyn Store>,
    progress: &dyn Progress,
) -> Result<CollectOutput> {
    let ingest = match store {
        Some(store) if collection.scopes.iter().any(|s| !s.files.is_empty()) => {
            Some(crate::ingest::run_snapshot(
                store,
                &[snapshot.to_path_buf()],
                progress,
                Some(StableRoot {
                    root: snapshot,
                    label,
                }),
            )?)
        }
        _ => None,
    };
    Ok(CollectOutput {
        snapshot_dir: snapshot.display().to_string(),
        collection,
        ingest,
    })
}
