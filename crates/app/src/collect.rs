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
