//! Collects from live systems (`custody collect`): read-only API calls whose
//! answers are written, each as the native export it equals (what the
//! system's own CLI prints), into a snapshot folder that `custody ingest`
//! then reads with the same parsers as a hand-made export.
//!
//! This crate owns the API clients, pagination, retries and the snapshot's
//! files, and says per *scope* (an AWS account, the organisation) whether
//! everything arrived. It must not parse answers into the graph or touch
//! the store — ingest does — and it never writes or prints a secret value:
//! the calls it makes list metadata (Kubernetes Secrets, whose listing
//! carries values, are emptied first); a value is read only when asked
//! (`--read-secret-values`) and handed to the caller in memory
//! ([`SecretValue`], zeroed on drop) to fingerprint. Credentials come from
//! each ecosystem's own chain (the AWS SDK's profiles, environment, SSO and
//! instance metadata; gcloud, az and kubectl's sources) and are held only in
//! memory.
//!
//! A file is written only when every page of it arrived: a scope that lost
//! a call is marked incomplete and its file is absent, so ingest supersedes
//! nothing there (an outage never looks like a mass deletion).

pub mod aws;
mod aws_cloudtrail;
mod aws_inventory;
pub mod entra;
pub mod gcp;
pub mod github;
mod http;
pub use http::Patience;
pub mod kubernetes;
pub mod okta;
pub mod vault;
mod write;

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// What went wrong before anything could be collected (no credentials, an
/// unusable snapshot folder). Failures within a scope are [`Failure`]s.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no credentials: {0}")]
    Credentials(String),
    #[error("no AWS credentials: {0} (set AWS_PROFILE or --profile, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; docs/COLLECT.md lists the permissions)")]
    NoCredentials(String),
    #[error("no {0} token: set {1} (docs/COLLECT.md lists the scopes it needs)")]
    NoToken(&'static str, &'static str),
    #[error("{0} refused the token: {1} (docs/COLLECT.md lists the scopes it needs)")]
    Refused(&'static str, String),
    #[error("{0}")]
    Config(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(String),
    #[error("cannot write the snapshot folder {path}: {detail}")]
    Snapshot { path: String, detail: String },
}

/// One call that failed for good (after its retries), with what it was.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// The API call and its target: `iam:GetAccountAuthorizationDetails`,
    /// `sts:AssumeRole arn:aws:iam::…:role/…`.
    pub call: String,
    pub error: String,
}

/// A secret value read on request (`--read-secret-values`), held only in
/// memory for the caller to fingerprint and drop: never written, printed or
/// serialised, zeroed when dropped.
#[derive(Clone)]
pub struct SecretValue {
    /// Where it was read: the call and its target
    /// (`secretsmanager:GetSecretValue arn:aws:secretsmanager:…`).
    pub label: String,
    /// The API's answer as it came (for Secrets Manager, the
    /// `get-secret-value` JSON).
    pub answer: zeroize::Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SecretValue({}, <{} bytes>)",
            self.label,
            self.answer.len()
        )
    }
}

/// How one scope's collection went.
#[derive(Debug, Clone, Serialize)]
pub struct ScopeReport {
    /// `aws:organization`, `aws:123456789012`.
    pub scope: String,
    /// True when every call of the scope succeeded: its files are whole.
    pub complete: bool,
    /// Files written, relative to the snapshot folder.
    pub files: Vec<String>,
    pub failures: Vec<Failure>,
    /// Listings this credential may not read (a 403 or 404 where the API
    /// answers only some tokens): nothing written, nothing superseded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<Failure>,
    /// The snapshot folders this scope is the whole of when complete
    /// (`github/repos/acme/`): an earlier file there that this collection
    /// did not write is gone from the system.
    #[serde(skip)]
    pub covers: Vec<String>,
    /// Files or folders under `covers` this credential could not read: not
    /// known to be gone.
    #[serde(skip)]
    pub keeps: Vec<String>,
    /// Secret values read on request, for fingerprinting (never serialised).
    #[serde(skip)]
    pub values: Vec<SecretValue>,
    pub calls: u64,
    pub retries: u64,
    pub throttles: u64,
    /// Pages the API said had not changed since the last run (`304`).
    #[serde(skip_serializing_if = "is_zero")]
    pub unchanged: u64,
    pub pages: u64,
    pub records: u64,
    pub elapsed_seconds: f64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A whole collection of one system.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub system: String,
    /// Who the calls ran as (an ARN or login: an identifier, never a secret).
    pub caller: Option<String>,
    pub scopes: Vec<ScopeReport>,
    pub calls: u64,
    pub retries: u64,
    pub throttles: u64,
    pub pages: u64,
    pub records: u64,
    pub elapsed_seconds: f64,
}

impl Report {
    pub(crate) fn new(
        system: &str,
        caller: Option<String>,
        mut scopes: Vec<ScopeReport>,
        elapsed: Duration,
    ) -> Report {
        scopes.sort_by(|a, b| a.scope.cmp(&b.scope));
        let sum = |f: fn(&ScopeReport) -> u64| scopes.iter().map(f).sum();
        Report {
            system: system.to_string(),
            caller,
            calls: sum(|s| s.calls),
            retries: sum(|s| s.retries),
            throttles: sum(|s| s.throttles),
            pages: sum(|s| s.pages),
            records: sum(|s| s.records),
            scopes,
            elapsed_seconds: elapsed.as_secs_f64(),
        }
    }

    /// The scopes that lost a call.
    pub fn incomplete(&self) -> impl Iterator<Item = &ScopeReport> {
        self.scopes.iter().filter(|s| !s.complete)
    }
}

/// Told as scopes start and end (a progress bar per scope on a terminal).
pub trait Progress: Sync {
    /// The number of scopes is known (after listing the organisation).
    fn scopes(&self, _total: u64) {}
    fn scope_done(&self, _report: &ScopeReport) {}
}

/// No progress shown.
pub struct Quiet;
impl Progress for Quiet {}

/// Counters one scope's calls add to (shared by its concurrent calls).
#[derive(Default, Debug)]
pub(crate) struct Tally {
    pub calls: AtomicU64,
    pub attempts: AtomicU64,
    pub throttles: AtomicU64,
    /// Pages answered `304 Not Modified` (kept from an earlier run).
    pub unchanged: AtomicU64,
    pub pages: AtomicU64,
    pub records: AtomicU64,
    pub failures: Mutex<Vec<Failure>>,
    pub unavailable: Mutex<Vec<Failure>>,
    pub keeps: Mutex<Vec<String>>,
    pub files: Mutex<Vec<String>>,
    pub values: Mutex<Vec<SecretValue>>,
}

impl Tally {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn fail(&self, call: impl Into<String>, error: impl Into<String>) {
        if let Ok(mut f) = self.failures.lock() {
            f.push(Failure {
                call: call.into(),
                error: error.into(),
            });
        }
    }

    /// Records a listing this credential may not read, and its file (kept).
    pub fn unavailable(&self, call: String, error: String, file: &str) {
        if let Ok(mut u) = self.unavailable.lock() {
            u.push(Failure { call, error });
        }
        if let Ok(mut k) = self.keeps.lock() {
            k.push(file.to_string());
        }
    }

    pub fn report(&self, scope: String, elapsed: Duration) -> ScopeReport {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut failures = self.failures.lock().map(|f| f.clone()).unwrap_or_default();
        failures.sort_by(|a, b| a.call.cmp(&b.call));
        let mut unavailable = self
            .unavailable
            .lock()
            .map(|f| f.clone())
            .unwrap_or_default();
        unavailable.sort_by(|a, b| a.call.cmp(&b.call));
        let mut files = self.files.lock().map(|f| f.clone()).unwrap_or_default();
        files.sort();
        let calls = get(&self.calls);
        ScopeReport {
            scope,
            complete: failures.is_empty(),
            files,
            failures,
            unavailable,
            covers: Vec::new(),
            keeps: self.keeps.lock().map(|k| k.clone()).unwrap_or_default(),
            values: self
                .values
                .lock()
                .map(|mut v| std::mem::take(&mut *v))
                .unwrap_or_default(),
            calls,
            retries: get(&self.attempts).saturating_sub(calls),
            throttles: get(&self.throttles),
            unchanged: get(&self.unchanged),
            pages: get(&self.pages),
            records: get(&self.records),
            elapsed_seconds: elapsed.as_secs_f64(),
        }
    }
}

/// An error and its causes on one line, without the SDK's debug dumps.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = s.source();
    }
    out
}

/// Runs a collection on an async runtime of its own, for callers that are
/// not async.
pub(crate) fn block_on<F: std::future::Future>(f: F) -> Result<F::Output, Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Runtime(e.to_string()))?;
    Ok(runtime.block_on(f))
}

/// An environment variable's value, when set and not blank.
pub(crate) fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|t| !t.trim().is_empty())
        .map(|t| t.trim().to_string())
}
