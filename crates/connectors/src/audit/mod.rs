//! Audit-log connectors: native log files streamed as [`Event`]s, one at a
//! time, never stored. Unlike the inventory connectors these produce no facts:
//! usage analysis folds events into per-identity profiles.
//!
//! Each reader takes the whole (decompressed) file as text and calls back per
//! event with its [`At`] (`/Records/17`, line 12). A structural error (a
//! truncated file) ends the file and comes back located; an event that is
//! readable but unusable (no time) is reported and skipped.

mod cloudtrail;
mod entra;
mod gcp;
mod github;
pub mod json;
mod kubernetes;
mod okta;
mod stream;
mod vault;

use custody_model::event::Event;
use custody_model::{InputError, Location};
use std::fmt;

/// The audit-log formats custody reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LogFormat {
    /// AWS CloudTrail: S3 delivery files, CloudTrail Lake / EventBridge events.
    CloudTrail,
    /// Okta System Log (`/api/v1/logs`).
    OktaSystemLog,
    /// GitHub organization or enterprise audit log (JSON or JSON Lines export).
    GitHubAudit,
    /// Kubernetes API server audit log (`audit.k8s.io/v1` Events).
    KubernetesAudit,
    /// HashiCorp Vault file audit device.
    VaultAudit,
    /// Google Cloud Audit Logs (LogEntry with an AuditLog payload).
    GcpAudit,
    /// Microsoft Entra ID service-principal sign-in logs.
    EntraSignIns,
}

impl LogFormat {
    pub const ALL: [LogFormat; 7] = [
        LogFormat::CloudTrail,
        LogFormat::OktaSystemLog,
        LogFormat::GitHubAudit,
        LogFormat::KubernetesAudit,
        LogFormat::VaultAudit,
        LogFormat::GcpAudit,
        LogFormat::EntraSignIns,
    ];

    pub fn name(self) -> &'static str {
        match self {
            LogFormat::CloudTrail => "aws-cloudtrail",
            LogFormat::OktaSystemLog => "okta-system-log",
            LogFormat::GitHubAudit => "github-audit-log",
            LogFormat::KubernetesAudit => "kubernetes-audit-log",
            LogFormat::VaultAudit => "vault-audit-log",
            LogFormat::GcpAudit => "gcp-audit-log",
            LogFormat::EntraSignIns => "entra-service-principal-sign-ins",
        }
    }

    pub fn system(self) -> &'static str {
        match self {
            LogFormat::CloudTrail => "aws",
            LogFormat::OktaSystemLog => "okta",
            LogFormat::GitHubAudit => "github",
            LogFormat::KubernetesAudit => "kubernetes",
            LogFormat::VaultAudit => "vault",
            LogFormat::GcpAudit => "gcp",
            LogFormat::EntraSignIns => "entra",
        }
    }
}

/// The cluster a Kubernetes audit log belongs to, from where it is kept
/// (see [`custody_model::key::k8s_cluster_of`]).
pub fn cluster_of(path: &str) -> &str {
    custody_model::key::k8s_cluster_of(path)
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where an event is in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// `/Records/N` of a CloudTrail delivery file.
    Record(usize),
    /// `/N` of a JSON array.
    Index(usize),
    /// Line N (1-based) of a one-event-per-line file.
    Line(usize),
}

impl At {
    pub fn location(self) -> Location {
        match self {
            At::Record(i) => Location::Pointer(format!("/Records/{i}")),
            At::Index(i) => Location::Pointer(format!("/{i}")),
            At::Line(n) => Location::Line(n as u64),
        }
    }
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Record(i) => write!(f, "#/Records/{i}"),
            At::Index(i) => write!(f, "#/{i}"),
            At::Line(n) => write!(f, "L{n}"),
        }
    }
}

/// Recognises an audit log from its first bytes (decompressed; the first few
/// KiB are enough: every format names its fields in its first event).
pub fn detect(head: &[u8]) -> Option<LogFormat> {
    let head = &head[..head.len().min(8 * 1024)];
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let t = &head[start..];
    if !(t[0] == b'{' || t[0] == b'[') {
        return None;
    }
    let has = |s: &str| memchr::memmem::find(t, s.as_bytes()).is_some();
    let first_key_records = t[1..]
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .is_some_and(|i| t[1 + i..].starts_with(b"\"Records\""));
    if (first_key_records && (has("\"eventSource\"") || has("\"eventVersion\"") || has("[]")))
        || (has("\"eventVersion\"") && has("\"eventSource\"") && has("\"userIdentity\""))
    {
        return Some(LogFormat::CloudTrail);
    }
    if has("\"eventType\"") && has("\"published\"") && has("\"actor\"") {
        return Some(LogFormat::OktaSystemLog);
    }
    if has("\"audit.k8s.io/") && has("\"auditID\"") {
        return Some(LogFormat::KubernetesAudit);
    }
    if has("\"protoPayload\"") && (has("\"logName\"") || has("\"authenticationInfo\"")) {
        return Some(LogFormat::GcpAudit);
    }
    if has("ServicePrincipalSignInLogs")
        || (has("\"servicePrincipalId\"") && has("\"createdDateTime\""))
    {
        return Some(LogFormat::EntraSignIns);
    }
    if (has("\"type\":\"response\"") || has("\"type\":\"request\"") || has("\"type\": \"request\""))
        && has("\"auth\"")
        && (has("\"client_token\"") || has("\"accessor\"") || has("\"mount_type\""))
    {
        return Some(LogFormat::VaultAudit);
    }
    if has("\"action\"")
        && has("\"actor\"")
        && (has("\"@timestamp\"") || has("\"created_at\"") || has("\"org\""))
    {
        return Some(LogFormat::GitHubAudit);
    }
    None
}

/// What reading one log file gave.
#[derive(Debug, Default)]
pub struct LogRead {
    /// Events handed to the callback (attributed or not).
    pub events: u64,
    /// Of those, events with no identity custody can attribute (AWS services).
    pub unattributed: u64,
    /// Problems, located. Events before a structural error were handed over;
    /// `complete` says whether the file was read to its end.
    pub errors: Vec<InputError>,
    pub complete: bool,
}

/// Reads one whole log file (already decompressed), calling `on_event` for
/// every event with an actor.
pub fn read<'a>(
    format: LogFormat,
    path: &str,
    bytes: &'a [u8],
    on_event: &mut dyn FnMut(&Event<'a>, At),
) -> LogRead {
    let mut out = LogRead::default();
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = memchr::memchr_iter(b'\n', &bytes[..e.valid_up_to()]).count() as u64 + 1;
            out.errors.push(InputError::new(
                format.name(),
                path,
                Location::Line(line),
                "the file is not UTF-8 text (is it still compressed, or truncated mid-character?)",
            ));
            return out;
        }
    };
    if text.trim().is_empty() {
        out.errors.push(InputError::new(
            format.name(),
            path,
            Location::File,
            "the file is empty",
        ));
        return out;
    }
    let (mut events, mut unattributed) = (0u64, 0u64);
    let mut bad = Vec::new();
    let mut each = |ev: &Event<'a>, at: At| {
        events += 1;
        if ev.actor.is_empty() {
            unattributed += 1;
        } else {
            on_event(ev, at);
        }
    };
    let mut on_bad =
        |at: At, why: String| bad.push(InputError::new(format.name(), path, at.location(), why));
    let r = match format {
        LogFormat::CloudTrail => cloudtrail::read(text, &mut each, &mut on_bad),
        LogFormat::OktaSystemLog => okta::read(text, &mut each, &mut on_bad),
        LogFormat::GitHubAudit => github::read(text, &mut each, &mut on_bad),
        LogFormat::KubernetesAudit => {
            kubernetes::read(text, cluster_of(path), &mut each, &mut on_bad)
        }
        LogFormat::VaultAudit => vault::read(text, &mut each, &mut on_bad),
        LogFormat::GcpAudit => gcp::read(text, &mut each, &mut on_bad),
        LogFormat::EntraSignIns => entra::read(text, &mut each, &mut on_bad),
    };
    out.events = events;
    out.unattributed = unattributed;
    out.errors = bad;
    match r {
        Ok(()) => out.complete = true,
        Err(e) => out.errors.push(InputError::new(
            format.name(),
            path,
            {
                let (line, col) = json::line_col(text, e.offset);
                Location::LineCol(line, col)
            },
            format!(
                "{} (byte {}); the rest of this file was not read",
                e.message, e.offset
            ),
        )),
    }
    out
}

#[cfg(test)]
mod tests;
