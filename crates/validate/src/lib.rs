//! Liveness of found credentials (`custody scan --validate`): asks each
//! credential's issuer, with the least-privileged read-only call it documents
//! (`sts:GetCallerIdentity` through the AWS SDK, GitHub `GET /user`, Slack
//! `auth.test`…), whether the credential still works, and when the answer
//! names who the credential is, says so.
//!
//! Owns: the checks (`checks.toml`, data like the scanner's rules), pacing per
//! provider, timeouts, retries on rate limits, and endpoint overrides
//! (`CUSTODY_VALIDATE_<PROVIDER>_URL`, and the SDK's `AWS_ENDPOINT_URL` for
//! AWS) so tests run against local servers.
//!
//! Must not: keep, log or return a secret. A [`Candidate`] carries the value
//! only as a [`Secret`], which goes to its own issuer and nowhere else; a
//! [`Verdict`] holds no value, and its `detail` is built from status codes and
//! the issuer's error codes, never from a URL (which may hold the secret) or a
//! response body. It makes no change anywhere: every call is a read.

mod aws;
mod http;

use custody_model::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use http::{Check, Checks};

/// The built-in check for AWS access keys (not HTTP: through the SDK).
pub const AWS_STS: &str = "aws-sts";

/// A found credential to check: the value (only as a [`Secret`]), the check
/// its rule names, and what the find said beside it.
pub struct Candidate {
    /// The credential's key in the graph (`aws-access-key:AKIA…`, `fp:…`).
    pub credential: String,
    /// The check id (`github-user`, `aws-sts`).
    pub check: String,
    pub secret: Secret,
    /// For AWS: the access key id the secret belongs to.
    pub key_id: Option<String>,
    /// The account, org or host the format named beside it (a Twilio
    /// account SID): some checks need it.
    pub account: Option<String>,
}

/// What the issuer said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// The issuer accepted it.
    Live,
    /// The issuer refused it as unknown, revoked, expired or wrong.
    Revoked,
    /// No answer that says either: a timeout, a network error, a rate limit,
    /// an unexpected status, or a check that cannot run here.
    Unknown,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Live => "live",
            State::Revoked => "revoked",
            State::Unknown => "unknown",
        }
    }
}

/// One credential's liveness, without its value.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub credential: String,
    pub check: String,
    pub provider: String,
    pub state: State,
    /// RFC 3339, UTC.
    pub checked_at: String,
    /// Why, in words: `HTTP 401`, `InvalidClientTokenId`, `no answer within 10 s`.
    pub detail: String,
    /// Who the credential is, when the answer says (an IAM ARN, a login).
    pub principal: Option<String>,
    /// The account the answer names (an AWS account id, a team id).
    pub account: Option<String>,
}

/// How to validate.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Per call, connection included.
    pub timeout: Duration,
    /// Calls in flight at once, across providers.
    pub concurrency: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            timeout: Duration::from_secs(10),
            concurrency: 8,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("liveness checks file: {0}")]
    Checks(String),
    #[error("cannot start the validation runtime: {0}")]
    Runtime(String),
}

/// Spacing between calls to one provider, shared by every task.
#[derive(Default)]
struct Pacer {
    next: tokio::sync::Mutex<HashMap<String, Instant>>,
}

impl Pacer {
    /// Waits for this provider's next slot.
    async fn wait(&self, provider: &str, per_second: f64) {
        let gap = Duration::from_secs_f64(1.0 / per_second.max(0.01));
        let at = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let at = next
                .get(provider)
                .copied()
                .filter(|t| *t > now)
                .unwrap_or(now);
            next.insert(provider.to_string(), at + gap);
            at
        };
        tokio::time::sleep_until(at.into()).await;
    }
}

/// Checks every candidate and returns one verdict each, in order. Candidates
/// whose check is unknown get `unknown` with the reason; nothing is dropped.
/// `done` is called once per verdict (for progress).
pub fn validate_all(
    candidates: Vec<Candidate>,
    options: &Options,
    done: &(dyn Fn() + Sync),
) -> Result<Vec<Verdict>, Error> {
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let checks = Arc::new(Checks::builtin()?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Runtime(e.to_string()))?;
    let options = *options;
    runtime.block_on(async move {
        let pacer = Arc::new(Pacer::default());
        let gate = Arc::new(tokio::sync::Semaphore::new(options.concurrency.max(1)));
        let client = http::client();
        let mut tasks = Vec::with_capacity(candidates.len());
        for c in candidates {
            let (checks, pacer, gate, client, options) = (
                checks.clone(),
                pacer.clone(),
                gate.clone(),
                client.clone(),
                options,
            );
            tasks.push(tokio::spawn(async move {
                let _slot = gate.acquire().await;
                check_one(&checks, &pacer, &client, &options, c).await
            }));
        }
        let mut out = Vec::with_capacity(tasks.len());
        for t in tasks {
            // A task only fails by panicking; that is a defect, reported as such.
            let v = t.await.unwrap_or_else(|e| Verdict {
                credential: String::new(),
                check: String::new(),
                provider: String::new(),
                state: State::Unknown,
                checked_at: now(),
                detail: format!("the check failed unexpectedly: {e}"),
                principal: None,
                account: None,
            });
            done();
            out.push(v);
        }
        Ok(out)
    })
}

async fn check_one(
    checks: &Checks,
    pacer: &Pacer,
    client: &http::Client,
    options: &Options,
    c: Candidate,
) -> Verdict {
    if c.check == AWS_STS {
        pacer.wait("aws", 5.0).await;
        return aws::check(&c, options.timeout).await;
    }
    match checks.get(&c.check) {
        Some(check) => {
            pacer.wait(&check.provider, check.per_second).await;
            http::check(check, client, pacer, options.timeout, &c).await
        }
        None => verdict(
            &c,
            &c.check,
            "unknown",
            State::Unknown,
            format!("no liveness check named `{}`", c.check),
        ),
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn verdict(c: &Candidate, check: &str, provider: &str, state: State, detail: String) -> Verdict {
    Verdict {
        credential: c.credential.clone(),
        check: check.to_string(),
        provider: provider.to_string(),
        state,
        checked_at: now(),
        detail,
        principal: None,
        account: None,
    }
}

/// The variable that overrides a provider's endpoint:
/// `CUSTODY_VALIDATE_<PROVIDER>_URL` (`-` and `.` as `_`).
pub fn override_var(provider: &str) -> String {
    format!(
        "CUSTODY_VALIDATE_{}_URL",
        provider.to_ascii_uppercase().replace(['-', '.'], "_")
    )
}

/// The endpoint override for a provider, when set.
pub fn override_for(provider: &str) -> Option<String> {
    std::env::var(override_var(provider))
        .ok()
        .filter(|v| !v.trim().is_empty())
}
