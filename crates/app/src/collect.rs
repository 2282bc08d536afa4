//! `custody collect`: live collections written as native exports into dated
//! snapshot folders ([`custody_collect`]), then ingested from there — one
//! system ([`one`]) or every configured one into one snapshot ([`all`]).
//!
//! Every file of a collection names its scope under a stable label
//! (`collected:aws`), so the next collection of the same account supersedes
//! this one; a scope that lost a call wrote no file for what it lost, so
//! nothing there is superseded (an outage never retires anything).

use crate::ingest::{IngestOutput, StableRoot};
use crate::progress::{Progress, Unit};
use anyhow::Result;
use custody_store::Store;
use serde::Serialize;
use std::path::{Path, PathBuf};

pub use custody_collect::aws::{AwsOptions, DEFAULT_ROLE};
pub use custody_collect::entra::EntraOptions;
pub use custody_collect::gcp::GcpOptions;
pub use custody_collect::github::token_from_env as github_token;
pub use custody_collect::github::GithubOptions;
pub use custody_collect::kubernetes::default_kubeconfig;
pub use custody_collect::kubernetes::KubeOptions;
pub use custody_collect::okta::authorization_from_env as okta_authorization;
pub use custody_collect::okta::OktaOptions;
pub use custody_collect::vault::from_env as vault_from_env;
pub use custody_collect::vault::VaultOptions;
pub use custody_collect::{Failure, Patience, Report, ScopeReport};

/// One system to collect, and how.
#[derive(Debug)]
pub enum Source {
    Aws(AwsOptions),
    Github(GithubOptions),
    Okta(OktaOptions),
    Vault(VaultOptions),
    Kubernetes(KubeOptions),
    Gcp(GcpOptions),
    Entra(EntraOptions),
}

impl Source {
    /// `aws`, `github`…: the snapshot folder's parent and the scopes' label.
    pub fn system(&self) -> &'static str {
        match self {
            Source::Aws(_) => "aws",
            Source::Github(_) => "github",
            Source::Okta(_) => "okta",
            Source::Vault(_) => "vault",
            Source::Kubernetes(_) => "kubernetes",
            Source::Gcp(_) => "gcp",
            Source::Entra(_) => "entra",
        }
    }

    fn what(&self) -> &'static str {
        match self {
            Source::Aws(_) => "AWS: reading the organisation",
            Source::Github(_) => "GitHub: reading the organisation",
            Source::Okta(_) => "Okta: reading the org",
            Source::Vault(_) => "Vault: reading mounts, policies and roles",
            Source::Kubernetes(_) => "Kubernetes: reading the cluster",
            Source::Gcp(_) => "Google Cloud: reading the projects",
            Source::Entra(_) => "Entra ID: reading apps, service principals and role assignments",
        }
    }
}

/// A Google access token from the usual places (`GOOGLE_OAUTH_ACCESS_TOKEN`,
/// Application Default Credentials, gcloud).
pub fn gcp_token() -> Result<String> {
    Ok(custody_collect::gcp::token()?)
}

/// Entra ID tokens for Microsoft Graph and Azure Resource Manager from the
/// usual places (a service principal's secret in the environment, the Azure
/// CLI), and the tenant.
pub fn entra_tokens() -> Result<(String, String, String)> {
    use custody_collect::entra::{token, ARM, GRAPH};
    let (graph, tenant) = token(GRAPH)?;
    let (arm, _) = token(ARM)?;
    Ok((graph, arm, tenant))
}

/// A source and the new folder its answers go to.
pub struct Job {
    pub source: Source,
    pub snapshot: PathBuf,
    /// The snapshot sits beside this system's earlier collections (the
    /// usual `…/collect/<system>/<time>/`): what they held and a complete
    /// scope of this one no longer has is retired. False for a folder
    /// chosen by hand, whose siblings are anything.
    pub beside_earlier: bool,
}

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

/// One system of [`all`]: its collection, or why there is none.
#[derive(Serialize)]
pub struct Collected {
    pub system: &'static str,
    pub snapshot_dir: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection: Option<Report>,
    /// Nothing could be collected (no credentials, a refused token…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Every configured system, then one ingest of them all.
#[derive(Serialize)]
pub struct AllOutput {
    pub collections: Vec<Collected>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingest: Option<IngestOutput>,
}

impl AllOutput {
    /// True when a system failed or a scope lost a call.
    pub fn incomplete(&self) -> bool {
        self.collections.iter().any(|c| {
            c.error.is_some()
                || c.collection
                    .as_ref()
                    .is_some_and(|r| r.incomplete().next().is_some())
        })
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

/// Runs one collection. For Okta, the System Log's window end when the log
/// arrived whole.
fn collect(
    source: &Source,
    snapshot: &Path,
    progress: &dyn Progress,
) -> Result<(Report, Option<chrono::DateTime<chrono::Utc>>)> {
    use custody_collect::{aws, entra, gcp, github, kubernetes, okta, vault};
    crate::progress::step(progress, source.what());
    let scopes = Scopes(progress);
    let out = match source {
        Source::Aws(o) => {
            let r = aws::collect_blocking(o, snapshot, &scopes)?;
            let trail_whole = r
                .scopes
                .iter()
                .any(|s| s.scope == "aws:cloudtrail" && s.complete);
            let until = o.cloudtrail.filter(|_| trail_whole).map(|(_, until)| until);
            (r, until)
        }
        Source::Github(o) => (github::collect_blocking(o, snapshot, &scopes)?, None),
        Source::Vault(o) => (vault::collect_blocking(o, snapshot, &scopes)?, None),
        Source::Kubernetes(o) => (kubernetes::collect_blocking(o, snapshot, &scopes)?, None),
        Source::Gcp(o) => (gcp::collect_blocking(o, snapshot, &scopes)?, None),
        Source::Entra(o) => (entra::collect_blocking(o, snapshot, &scopes)?, None),
        Source::Okta(o) => {
            let r = okta::collect_blocking(o, snapshot, &scopes)?;
            (r.report, r.logs_until)
        }
    };
    progress.done();
    Ok(out)
}

/// Collects one system into `job.snapshot` and ingests it into `store`
/// (when given). `state` keeps where each Okta org's System Log ended.
pub fn one(
    job: &Job,
    state: &Path,
    store: Option<&mut dyn Store>,
    progress: &dyn Progress,
) -> Result<CollectOutput> {
    let (collection, logs_until) = collect(&job.source, &job.snapshot, progress)?;
    let ingest = match store {
        Some(store) if wrote(&collection) => {
            let one = [(job, &collection)];
            Some(ingest(store, &one, progress)?)
        }
        _ => None,
    };
    remember_logs(&job.source, logs_until, ingest.as_ref(), state)?;
    Ok(CollectOutput {
        snapshot_dir: job.snapshot.display().to_string(),
        collection,
        ingest,
    })
}

fn wrote(r: &Report) -> bool {
    r.scopes.iter().any(|s| !s.files.is_empty())
}

/// Collects every job in turn (a system that cannot be collected is
/// reported and the others go on), then ingests all their snapshots as one.
pub fn all(
    jobs: &[Job],
    state: &Path,
    store: Option<&mut dyn Store>,
    progress: &dyn Progress,
) -> Result<AllOutput> {
    let mut collections = Vec::new();
    let mut okta = Vec::new();
    for job in jobs {
        let snapshot_dir = job.snapshot.display().to_string();
        match collect(&job.source, &job.snapshot, progress) {
            Ok((report, logs_until)) => {
                okta.push((&job.source, logs_until));
                collections.push(Collected {
                    system: job.source.system(),
                    snapshot_dir,
                    collection: Some(report),
                    error: None,
                });
            }
            Err(e) => {
                progress.done();
                collections.push(Collected {
                    system: job.source.system(),
                    snapshot_dir,
                    collection: None,
                    error: Some(format!("{e:#}")),
                });
            }
        }
    }
    let written: Vec<(&Job, &Report)> = jobs
        .iter()
        .zip(&collections)
        .filter_map(|(job, c)| Some((job, c.collection.as_ref().filter(|r| wrote(r))?)))
        .collect();
    let ingest = match store {
        Some(store) if !written.is_empty() => Some(ingest(store, &written, progress)?),
        _ => None,
    };
    for (source, until) in okta {
        remember_logs(source, until, ingest.as_ref(), state)?;
    }
    Ok(AllOutput {
        collections,
        ingest,
    })
}

/// One ingest of collections: each snapshot's scopes named under its
/// system's label, and what its complete scopes cover retired where absent.
fn ingest(
    store: &mut dyn Store,
    collected: &[(&Job, &Report)],
    progress: &dyn Progress,
) -> Result<IngestOutput> {
    let labels: Vec<String> = collected
        .iter()
        .map(|(j, _)| format!("collected:{}", j.source.system()))
        .collect();
    // Only complete scopes speak for what is gone.
    let covers: Vec<(Vec<String>, Vec<String>)> = collected
        .iter()
        .map(|(job, r)| {
            let complete: Vec<_> = r
                .scopes
                .iter()
                .filter(|s| s.complete && job.beside_earlier)
                .collect();
            let covers = complete
                .iter()
                .flat_map(|s| s.covers.iter().cloned())
                .collect();
            let keeps = complete
                .iter()
                .flat_map(|s| s.keeps.iter().cloned())
                .collect();
            (covers, keeps)
        })
        .collect();
    let stable: Vec<StableRoot<'_>> = collected
        .iter()
        .zip(&labels)
        .zip(&covers)
        .map(|(((job, _), label), (covers, keeps))| StableRoot {
            root: &job.snapshot,
            label,
            covers,
            keeps,
        })
        .collect();
    let inputs: Vec<PathBuf> = collected.iter().map(|(j, _)| j.snapshot.clone()).collect();
    // Secret values read on request: fingerprinted here, then dropped with
    // the reports.
    let values: Vec<(&str, &[u8])> = collected
        .iter()
        .flat_map(|(_, r)| r.scopes.iter().flat_map(|s| &s.values))
        .map(|v| (v.label.as_str(), v.answer.as_slice()))
        .collect();
    let extra = crate::scan::scan_values(&values, store.fingerprinter());
    crate::ingest::run_snapshot(store, &inputs, progress, &stable, extra)
}

/// The key under which a source's audit-log window is remembered: the Okta
/// org, or AWS CloudTrail as this profile and endpoint see it.
fn log_key(source: &Source) -> Option<String> {
    match source {
        Source::Okta(o) => Some(pointer_key(&o.org_url)),
        Source::Aws(o) => Some(format!(
            "aws-cloudtrail:{}@{}",
            o.profile.as_deref().unwrap_or("default"),
            pointer_key(o.endpoint_url.as_deref().unwrap_or("aws"))
        )),
        _ => None,
    }
}

/// After a collection whose audit log window arrived whole and was
/// ingested without error (or not ingested at all), the next one starts
/// where it ended.
fn remember_logs(
    source: &Source,
    until: Option<chrono::DateTime<chrono::Utc>>,
    ingest: Option<&IngestOutput>,
    state: &Path,
) -> Result<()> {
    let (Some(key), Some(until)) = (log_key(source), until) else {
        return Ok(());
    };
    if ingest.is_some_and(|i| i.had_errors()) {
        return Ok(());
    }
    let mut all = read_state(state);
    if !all.is_object() {
        all = serde_json::json!({});
    }
    all[key] = serde_json::json!({"logs_until": until.to_rfc3339()});
    write_state(state, &all)
}

/// Gives `source` its audit-log window (Okta's System Log, AWS CloudTrail):
/// from `since` (a duration back or a time), else from where the last
/// complete collection of the same source ended (kept in `state`), else a
/// first window back (Okta: 7 days; CloudTrail: 24 hours), to now.
pub fn set_log_window(source: &mut Source, state: &Path, since: Option<&str>) -> Result<()> {
    let Some(key) = log_key(source) else {
        return Ok(());
    };
    match source {
        Source::Okta(o) => {
            o.logs_since = Some(logs_since(state, &key, since, chrono::Duration::days(7))?);
        }
        Source::Aws(o) => {
            let from = logs_since(state, &key, since, chrono::Duration::hours(24))?;
            o.cloudtrail = Some((from, chrono::Utc::now()));
        }
        _ => {}
    }
    Ok(())
}

/// Where an audit log window starts: `since` when given (a duration back or
/// a time), else where the last complete collection under `key` ended (kept
/// in `state`), else `first_window` back.
fn logs_since(
    state: &Path,
    key: &str,
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
        .get(key)
        .and_then(|v| v.get("logs_until"))
        .and_then(serde_json::Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc));
    Ok(last.unwrap_or(now - first_window))
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
