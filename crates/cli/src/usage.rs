//! Audit logs: `ingest` streams them into usage profiles and alerts;
//! `custody usage ID`, `custody stale`, `custody alerts` read them back.

use crate::{output, paths, Cli, OutputFormat};
use anyhow::Result;
use clap::Args;
use custody_analysis::usage::{self, Alert, Config, Evidence, Profile, Tally};
use custody_app::usage::{time_text, KeyProfile};
use custody_connectors::audit::{self, LogFormat};
use custody_model::{InputError, Location};
use custody_store::{AlertRow, Store, UsageRow, UsageSource};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// A log file found by `ingest`.
pub struct LogFile {
    pub path: PathBuf,
    pub format: LogFormat,
    pub len: u64,
}

/// Is this gzip (by its magic bytes)?
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Decompresses a whole gzip file (several members are read as one stream, as
/// `zcat` does).
pub fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    // The trailer holds the size modulo 2^32: a good first guess.
    let hint = bytes
        .len()
        .checked_sub(4)
        .map(|i| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]) as usize)
        .unwrap_or(0);
    let mut out = Vec::with_capacity(hint.min(1 << 30).max(bytes.len() * 4));
    flate2::read::MultiGzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
}

/// The first `n` bytes of a (possibly gzipped) file's content, for detection.
pub fn head_of(head: &[u8], n: usize) -> Vec<u8> {
    if !is_gzip(head) {
        return head[..head.len().min(n)].to_vec();
    }
    let mut out = Vec::with_capacity(n);
    let mut d = flate2::read::MultiGzDecoder::new(head).take(n as u64);
    // A truncated head is expected (only the first bytes were read).
    let _ = d.read_to_end(&mut out);
    out
}

#[derive(Debug, Default, Serialize)]
pub struct LogSummary {
    pub files: usize,
    /// Files already counted by an earlier ingest (same content): skipped.
    pub files_already_counted: usize,
    pub events: u64,
    /// Events by AWS services and others with no customer identity.
    pub events_unattributed: u64,
    pub bytes_read: u64,
    pub bytes_decompressed: u64,
    pub seconds: f64,
    pub events_per_second: f64,
    pub identities: usize,
    pub alerts_raised: usize,
    /// Identities the logs show being created by someone custody can name
    /// (recorded as `CREATED_BY` ownership evidence).
    pub creations_recorded: usize,
    pub errors: Vec<InputError>,
}

/// One identity an audit-log event created (CloudTrail `CreateAccessKey`,
/// `CreateUser`, `CreateRole`): ownership evidence, not usage.
struct Creation {
    /// The natural key of what was created.
    created: String,
    /// The actor's natural key (an access key, a role ARN…).
    actor: String,
    /// The principal behind the actor (an access key's IAM user), if named.
    principal: String,
    /// An assumed-role actor's session name (an Identity Center user name).
    session: String,
    /// The operation (`CreateAccessKey`).
    action: String,
    time: i64,
    /// The log file, and where in it the event is (`#/Records/3`) as text
    /// and as a location.
    source: String,
    at: String,
    location: Location,
}

struct FileResult {
    tally: Option<Tally>,
    creations: Vec<Creation>,
    source: Option<UsageSource>,
    read: audit::LogRead,
    decompressed: u64,
    errors: Vec<InputError>,
}

fn read_one(f: &LogFile, known: &dyn Fn(&str) -> bool) -> FileResult {
    let shown = f.path.display().to_string();
    let mut out = FileResult {
        tally: None,
        creations: Vec::new(),
        source: None,
        read: audit::LogRead::default(),
        decompressed: 0,
        errors: Vec::new(),
    };
    let fail = |msg: String| InputError::new(f.format.name(), &shown, Location::File, msg);
    let raw = match std::fs::read(&f.path) {
        Ok(b) => b,
        Err(e) => {
            out.errors.push(fail(format!("cannot read the file: {e}")));
            return out;
        }
    };
    let sha = format!("{:x}", Sha256::digest(&raw));
    if known(&sha) {
        out.read.complete = true;
        return out;
    }
    let text = if is_gzip(&raw) {
        match gunzip(&raw) {
            Ok(t) => t,
            Err(e) => {
                out.errors.push(fail(format!(
                    "not a readable gzip file ({e}; truncated?): nothing of it was counted"
                )));
                return out;
            }
        }
    } else {
        raw
    };
    out.decompressed = text.len() as u64;
    let mut tally = Tally::default();
    let mut creations = Vec::new();
    out.read = audit::read(f.format, &shown, &text, &mut |ev, at| {
        if !ev.created.is_empty() {
            creations.push(Creation {
                created: ev.created.to_string(),
                actor: format!("{}{}", ev.actor_prefix, ev.actor),
                principal: ev.principal.to_string(),
                session: ev.session.to_string(),
                action: ev.action.to_string(),
                time: ev.time,
                source: shown.clone(),
                at: at.to_string(),
                location: at.location(),
            });
        }
        tally.add(ev, &shown, &at)
    });
    if out.read.complete {
        out.source = Some(UsageSource {
            sha256: sha,
            path: shown,
            format: f.format.name().to_string(),
            events: out.read.events,
        });
        out.tally = Some(tally);
        out.creations = creations;
    } else if let Some(e) = out.read.errors.last_mut() {
        // A file is counted whole or not at all: a fixed copy can be read later.
        e.message
            .push_str("; none of this file's events were counted");
    }
    out
}

/// Reads audit logs into the stored usage profiles and raises alerts.
pub fn ingest_logs(
    store: &mut dyn Store,
    mut files: Vec<LogFile>,
    quiet: bool,
) -> Result<LogSummary> {
    let started = Instant::now();
    let mut sum = LogSummary {
        files: files.len(),
        ..LogSummary::default()
    };
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let total: u64 = files.iter().map(|f| f.len).sum();
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total)
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} audit logs [{bar:30}] {bytes}/{total_bytes} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    // Which files are already counted (by content hash): loaded once.
    let known = store.usage_known_sources()?;
    let mut run = Tally::default();
    let mut creations = Vec::new();
    let mut sources = Vec::new();
    let mut counted = std::collections::HashSet::new();
    for chunk in files.chunks(256) {
        let results: Vec<FileResult> = chunk
            .par_iter()
            .map(|f| {
                let r = read_one(f, &|s| known.contains(s));
                bar.inc(f.len);
                r
            })
            .collect();
        for r in results {
            sum.events += r.read.events;
            sum.events_unattributed += r.read.unattributed;
            sum.bytes_decompressed += r.decompressed;
            sum.errors.extend(r.errors);
            sum.errors.extend(r.read.errors);
            match (r.tally, r.source) {
                // The same content under two paths (a copied log) counts once.
                (Some(t), Some(s)) if counted.insert(s.sha256.clone()) => {
                    run.merge(t);
                    creations.extend(r.creations);
                    sources.push(s);
                }
                _ if r.read.complete => sum.files_already_counted += 1,
                _ => {}
            }
        }
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        bar.set_message(format!("{:.0} events/s", sum.events as f64 / secs));
    }
    sum.bytes_read = total;
    tracing::info!("logs read in {:.2}s", started.elapsed().as_secs_f64());
    bar.set_message("updating profiles");
    let cfg = Config::default();
    let keys: Vec<&str> = run.profiles.keys().map(String::as_str).collect();
    let mut stored = HashMap::new();
    for part in keys.chunks(10_000) {
        stored.extend(store.usage_profiles(part)?);
    }
    let mut rows = Vec::with_capacity(run.profiles.len());
    let mut alerts = Vec::new();
    let owners = Owners::new(store);
    let fp = paths::fingerprinter()?;
    let scrub = |v: serde_json::Value| -> String {
        // Logs are free text in places (a user agent can carry a token):
        // anything secret-shaped is redacted before it is stored.
        let mut v = v;
        custody_model::guard::scrub_value(&mut v, &fp);
        v.to_string()
    };
    for (key, delta) in &run.profiles {
        let before: Option<Profile> = stored.get(key).and_then(|j| serde_json::from_str(j).ok());
        let mut after = before.clone().unwrap_or_default();
        after.merge(delta);
        let mut raised = usage::detect(before.as_ref(), delta, &after, &cfg);
        raised.extend(owners.alerts(key, delta, &after)?);
        alerts.extend(raised.into_iter().map(|a| {
            let mut row = alert_row(key, a);
            row.evidence = scrub(serde_json::from_str(&row.evidence).unwrap_or_default());
            if let Some(r) = custody_model::guard::redact_text(&row.summary, &fp) {
                row.summary = r;
            }
            row
        }));
        rows.push(UsageRow {
            key: key.clone(),
            first: after.first,
            last: after.last,
            events: after.events,
            denied: after.denied,
            profile: scrub(serde_json::to_value(&after)?),
        });
    }
    sum.identities = rows.len();
    tracing::info!(
        "profiles merged and checked in {:.2}s",
        started.elapsed().as_secs_f64()
    );
    // Creations first: if writing profiles fails, the files stay unknown and
    // a later ingest records the same edges again.
    if !creations.is_empty() {
        bar.set_message("recording who created identities");
        sum.creations_recorded = record_creations(store, &creations)?;
    }
    sum.alerts_raised = store.usage_write(&rows, &sources, &alerts)?;
    tracing::info!(
        "profiles written in {:.2}s",
        started.elapsed().as_secs_f64()
    );
    if sum.alerts_raised > 0 {
        bar.set_message("alerts into the graph");
        record_alerts(store)?;
    }
    bar.finish_and_clear();
    sum.seconds = started.elapsed().as_secs_f64();
    sum.events_per_second = sum.events as f64 / sum.seconds.max(1e-9);
    Ok(sum)
}

/// The credential keys in `batches` (what a scan is about to store), for
/// [`recheck`] once they are stored.
pub fn credential_keys(batches: &[custody_store::SourceBatch]) -> Vec<String> {
    let mut keys: Vec<String> = batches
        .iter()
        .flat_map(|b| &b.facts)
        .filter_map(|f| match f {
            custody_model::Fact::Node(n) if n.label == custody_model::Label::Credential => {
                Some(&n.keys)
            }
            _ => None,
        })
        .flatten()
        .map(|k| k.as_str().to_string())
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Re-reads the graph-level rules (owner left, leaked) for these identities'
/// stored profiles: after a scan puts a used credential in git history, or an
/// ingest marks its owner as gone. Returns how many alerts are new.
pub fn recheck(store: &mut dyn Store, keys: &[String]) -> Result<usize> {
    let mut profiles = Vec::new();
    for part in keys.chunks(10_000) {
        let refs: Vec<&str> = part.iter().map(String::as_str).collect();
        profiles.extend(store.usage_profiles(&refs)?);
    }
    if profiles.is_empty() {
        return Ok(0);
    }
    let fp = paths::fingerprinter()?;
    let mut alerts = Vec::new();
    {
        let owners = Owners::new(store);
        for (key, json) in &profiles {
            let Ok(p) = serde_json::from_str::<Profile>(json) else {
                continue;
            };
            for a in owners.alerts(key, &p, &p)? {
                let mut row = alert_row(key, a);
                let mut ev: serde_json::Value =
                    serde_json::from_str(&row.evidence).unwrap_or_default();
                custody_model::guard::scrub_value(&mut ev, &fp);
                row.evidence = ev.to_string();
                alerts.push(row);
            }
        }
    }
    let raised = store.usage_write(&[], &[], &alerts)?;
    if raised > 0 {
        record_alerts(store)?;
    }
    Ok(raised)
}

/// Scope of the graph's `Alert` nodes: each recording replaces the last.
pub const ALERT_SCOPE: &str = "custody:usage-alerts";

/// Who created an identity, as the log names them: the person of an IAM
/// Identity Center (or other SAML) session whose name is an e-mail, else the
/// IAM user that called. A role session with no e-mail names nobody.
fn creator_of(c: &Creation) -> Option<(custody_model::Label, custody_model::Key, String)> {
    use custody_model::{Key, Label};
    if c.session.contains('@') {
        return Some((Label::Human, Key::email(&c.session), c.session.clone()));
    }
    [&c.principal, &c.actor]
        .into_iter()
        .find(|a| a.starts_with("arn:") && a.contains(":user/"))
        .map(|a| (Label::Principal, Key::arn(a), a.clone()))
}

/// `CREATED_BY` edges from what the logs show being created to who created
/// it, one source per log file (so a file is recorded once however often it
/// is ingested). Returns how many were recorded.
fn record_creations(store: &mut dyn Store, creations: &[Creation]) -> Result<usize> {
    use custody_model::{EdgeFact, EdgeKind, Endpoint, Fact, Key, Label, Provenance};
    let mut by_file: std::collections::BTreeMap<&str, Vec<Fact>> = Default::default();
    for c in creations {
        let Some((label, who, named)) = creator_of(c) else {
            continue;
        };
        let created = match c.created.strip_prefix("aws-access-key:") {
            Some(id) => Endpoint::new(Label::Credential, Key::aws_access_key(id)),
            None => Endpoint::new(Label::Principal, Key::arn(&c.created)),
        };
        let when = time_text(c.time);
        let mut props = serde_json::Map::new();
        props.insert("method".into(), "cloudtrail-create".into());
        props.insert("action".into(), c.action.clone().into());
        props.insert("time".into(), when.clone().into());
        props.insert("actor".into(), c.actor.clone().into());
        props.insert(
            "evidence".into(),
            format!(
                "{} by {named} on {} ({}{})",
                c.action,
                when.get(..10).unwrap_or(&when),
                c.source,
                c.at
            )
            .into(),
        );
        by_file
            .entry(c.source.as_str())
            .or_default()
            .push(Fact::Edge(EdgeFact {
                kind: EdgeKind::CreatedBy,
                from: created,
                to: Endpoint::new(label, who),
                props,
                prov: Provenance::at(c.location.clone()),
            }));
    }
    let recorded = by_file.values().map(Vec::len).sum();
    if recorded == 0 {
        return Ok(0);
    }
    let batches = by_file
        .into_iter()
        .map(|(file, facts)| custody_store::SourceBatch {
            path: file.to_string(),
            format: "aws-cloudtrail-creations".into(),
            scope: format!("aws-cloudtrail-creations:{file}"),
            sha256: None,
            observed_at: None,
            records: facts.len(),
            facts,
            errors: Vec::new(),
        })
        .collect();
    store.ingest_all(batches, &mut |_| {})?;
    Ok(recorded)
}

/// Every stored alert as an `Alert` node with a `RAISED` edge from its
/// identity (when the graph has it), so queries can join alerts with
/// ownership and reach.
fn record_alerts(store: &mut dyn Store) -> Result<()> {
    use custody_model::{EdgeFact, EdgeKind, Endpoint, Fact, Key, Label, NodeFact, Provenance};
    let all = store.alerts(i64::MIN)?;
    let now = custody_model::time::canonical(chrono::Utc::now());
    let mut facts = Vec::with_capacity(all.len() * 2);
    for (i, a) in all.iter().enumerate() {
        let key = Key::other("custody-alert", &format!("{}/{}/{}", a.rule, a.key, a.time));
        let prov =
            Provenance::at(Location::Pointer(format!("/alerts/{i}"))).observed(Some(now.clone()));
        let mut props = serde_json::Map::new();
        props.insert("rule".into(), a.rule.clone().into());
        props.insert("severity".into(), a.severity.clone().into());
        props.insert("identity".into(), a.key.clone().into());
        props.insert("time".into(), time_text(a.time).into());
        props.insert("summary".into(), a.summary.clone().into());
        props.insert(
            "evidence".into(),
            serde_json::from_str(&a.evidence).unwrap_or(serde_json::Value::Null),
        );
        facts.push(Fact::Node(NodeFact {
            label: Label::Alert,
            kind: a.rule.clone(),
            system: "custody".into(),
            keys: vec![key.clone()],
            name: Some(format!("{} at {}", a.rule, time_text(a.time))),
            props,
            prov: prov.clone(),
        }));
        let label = match store.find(&a.key)? {
            Some(id) => store
                .node(id)?
                .and_then(|n| Label::ALL.into_iter().find(|l| l.as_str() == n.brief.label)),
            None => None,
        };
        if let (Some(label), Some(identity)) = (label, Key::parse(&a.key)) {
            let mut edge = serde_json::Map::new();
            edge.insert("severity".into(), a.severity.clone().into());
            facts.push(Fact::Edge(EdgeFact {
                kind: EdgeKind::Raised,
                from: Endpoint::new(label, identity),
                to: Endpoint::new(Label::Alert, key),
                props: edge,
                prov,
            }));
        }
    }
    let batch = custody_store::SourceBatch {
        path: "custody usage alerts".into(),
        format: "custody-usage".into(),
        scope: ALERT_SCOPE.into(),
        sha256: None,
        observed_at: Some(now),
        records: all.len(),
        facts,
        errors: Vec::new(),
    };
    store.ingest_all(vec![batch], &mut |_| {})?;
    Ok(())
}

fn alert_row(key: &str, a: Alert) -> AlertRow {
    AlertRow {
        key: key.to_string(),
        rule: a.rule,
        severity: a.severity,
        time: a.time,
        summary: a.summary,
        evidence: serde_json::to_string(&a.evidence).unwrap_or_default(),
    }
}

/// Graph facts the logs are read against: who owns a credential (and whether
/// they left), and where it leaked.
struct Owners<'a> {
    store: &'a dyn Store,
}

impl<'a> Owners<'a> {
    fn new(store: &'a dyn Store) -> Owners<'a> {
        Owners { store }
    }

    /// `used-after-owner-left` and `leaked-credential-used` for one identity.
    fn alerts(&self, key: &str, delta: &Profile, after: &Profile) -> Result<Vec<Alert>> {
        let mut out = Vec::new();
        let Some(id) = self.store.find(key)? else {
            return Ok(out);
        };
        let edges = self.store.edges(id)?;
        let mut principals = vec![id];
        let mut leaks = Vec::new();
        for e in &edges {
            if e.direction != "out" {
                continue;
            }
            match e.kind.as_str() {
                "AUTHENTICATES_AS" => principals.push(e.other.id),
                "STORED_IN" if e.other.kind == "git_blob" => {
                    if let Some(n) = self.store.node(e.other.id)? {
                        if let Some(t) = n.props.get("commit_time").and_then(|v| v.as_str()) {
                            if let Some(t) = custody_model::time::parse(t) {
                                leaks.push((t.timestamp(), n.brief.key.clone()));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        let mut left: Vec<(i64, String)> = Vec::new();
        for p in principals {
            let pe = if p == id {
                edges.clone()
            } else {
                self.store.edges(p)?
            };
            for e in pe
                .iter()
                .filter(|e| e.direction == "out" && e.kind == "OWNED_BY")
            {
                let Some(h) = self.store.node(e.other.id)? else {
                    continue;
                };
                let terminated =
                    h.props.get("employment_status").and_then(|v| v.as_str()) == Some("terminated");
                let date = h
                    .props
                    .get("termination_date")
                    .and_then(|v| v.as_str())
                    .and_then(custody_model::time::parse);
                if let (true, Some(d)) = (terminated, date) {
                    // The day after the last day.
                    left.push((d.timestamp() + 86_400, h.brief.key.clone()));
                }
            }
        }
        // The first use at or after `t`, from the whole profile: the same answer
        // whichever batch brings it, so a recheck raises an alert once (the
        // store keeps one per identity, rule and time).
        let first_use_after = |t: i64| -> Option<i64> {
            if after.last < t {
                return None;
            }
            after
                .days
                .iter()
                .filter(|d| (d.day + 1) * 86_400 > t)
                .map(|d| d.first.max(t))
                .min()
        };
        if let Some((t, who)) = left.iter().min() {
            if let Some(at) = first_use_after(*t) {
                out.push(day_alert(
                    "used-after-owner-left",
                    at,
                    format!(
                        "used after its owner {} left ({} event(s) since)",
                        who.trim_start_matches("email:"),
                        events_since(after, *t)
                    ),
                    delta,
                ));
            }
        }
        if let Some((t, place)) = leaks.iter().min() {
            if let Some(at) = first_use_after(*t) {
                out.push(day_alert(
                    "leaked-credential-used",
                    at,
                    format!(
                        "used after it was committed to {place} ({} event(s) since)",
                        events_since(after, *t)
                    ),
                    delta,
                ));
            }
        }
        Ok(out)
    }
}

fn events_since(p: &Profile, t: i64) -> u64 {
    p.days
        .iter()
        .filter(|d| (d.day + 1) * 86_400 > t)
        .map(|d| d.events)
        .sum()
}

/// An alert about a day of use: the evidence is the batch's earliest kept
/// event on or after `at`, else the time alone.
fn day_alert(rule: &str, at: i64, summary: String, delta: &Profile) -> Alert {
    let evidence = delta
        .regions
        .iter()
        .chain(&delta.networks)
        .chain(&delta.agents)
        .map(|s| &s.evidence)
        .filter(|e| e.time >= at)
        .min_by_key(|e| e.time)
        .cloned()
        .unwrap_or(Evidence {
            source: String::new(),
            at: String::new(),
            time: at,
            action: String::new(),
            ip: String::new(),
            region: String::new(),
            agent: String::new(),
            error: String::new(),
        });
    Alert {
        rule: rule.into(),
        severity: usage::severity_of(rule).into(),
        time: at,
        summary,
        evidence,
    }
}

#[derive(Args)]
pub struct UsageArgs {
    /// A credential or principal: access key id, ARN, node key or id.
    #[arg(value_name = "ID")]
    pub id: String,
    /// Compare what its own policies grant (AWS, by service) with what it used:
    /// services granted and never called are what right-sizing removes.
    #[arg(long)]
    pub right_size: bool,
}

#[derive(Serialize)]
struct UsageOut {
    #[serde(flatten)]
    view: custody_app::usage::UsageView,
    #[serde(skip_serializing_if = "Option::is_none")]
    right_size: Option<RightSize>,
}

#[derive(Serialize, Default)]
struct Granted {
    resources: usize,
    /// The most harmful access level granted on any of them.
    level: String,
}

/// Granted (by the identity's own policies, per service) against used.
#[derive(Serialize, Default)]
struct RightSize {
    granted: std::collections::BTreeMap<String, Granted>,
    /// Calls per service, from the profiles.
    used: std::collections::BTreeMap<String, u64>,
    /// Granted, never called in the logs read.
    unused: Vec<String>,
    /// Called but not granted by its own policies (reached through a role,
    /// a resource policy, or a service custody does not inventory).
    used_not_granted: Vec<String>,
}

fn right_size(
    cli: &Cli,
    store: &dyn Store,
    node: i64,
    profiles: &[KeyProfile],
) -> Result<RightSize> {
    let (model, _) = crate::blast::load(store, cli.quiet)?;
    let start = model.start(node);
    let br = model.blast_radius(&start);
    let mut out = RightSize::default();
    for r in &br.reached {
        if br.hops[r.hop].from.is_some() {
            continue; // reached through another principal: not its own grant
        }
        let service = r.access.action.split(':').next().unwrap_or("").to_string();
        let g = out.granted.entry(service).or_default();
        g.resources += 1;
        let level = r.access.level.as_str().to_string();
        if custody_analysis::reach::level_weight(r.access.level)
            > custody_analysis::AccessLevel::parse(&g.level)
                .map_or(0, custody_analysis::reach::level_weight)
        {
            g.level = level;
        }
    }
    for kp in profiles {
        for a in &kp.profile.actions {
            *out.used.entry(a.service.clone()).or_default() += a.count;
        }
    }
    out.unused = out
        .granted
        .keys()
        .filter(|s| !out.used.contains_key(*s))
        .cloned()
        .collect();
    out.used_not_granted = out
        .used
        .keys()
        .filter(|s| !out.granted.contains_key(*s))
        .cloned()
        .collect();
    Ok(out)
}

pub fn show(cli: &Cli, a: &UsageArgs) -> Result<ExitCode> {
    let store = paths::open_existing(cli)?;
    let Some((node, view)) = custody_app::usage::usage(&store, &a.id)? else {
        anyhow::bail!(
            "`{}` is neither in the graph nor in any audit log read so far",
            a.id
        );
    };
    let profiles = &view.profiles;
    let right_size = match (a.right_size, node) {
        (true, Some(n)) => Some(right_size(cli, &store, n, profiles)?),
        (true, None) => anyhow::bail!(
            "--right-size needs an identity in the graph: `{}` is not",
            a.id
        ),
        _ => None,
    };
    let out = UsageOut { view, right_size };
    match cli.format {
        OutputFormat::Json => output::json(&out)?,
        OutputFormat::Table => print_usage(&out),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_usage(out: &UsageOut) {
    println!("{}", out.view.identity);
    if out.view.profiles.is_empty() {
        println!("  no use in the audit logs read so far (custody ingest <CloudTrail, Okta System Log…>)");
        return;
    }
    for kp in &out.view.profiles {
        let p = &kp.profile;
        println!();
        println!("  {}", kp.key);
        if !p.principal.is_empty() {
            println!("    principal     {}", p.principal);
        }
        println!("    first used    {}", time_text(p.first));
        println!("    last used     {}", time_text(p.last));
        println!(
            "    events        {} on {} day(s); {} error(s), {} denied",
            p.events,
            p.days.len(),
            p.errors,
            p.denied
        );
        let list = |v: &[usage::Seen], net: bool| -> String {
            let mut v: Vec<&usage::Seen> = v.iter().collect();
            v.sort_by_key(|s| std::cmp::Reverse(s.count));
            v.iter()
                .take(6)
                .map(|s| {
                    let name = if net {
                        usage::show_network(&s.value)
                    } else {
                        s.value.clone()
                    };
                    format!("{name} ({})", s.count)
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!("    regions       {}", list(&p.regions, false));
        println!("    networks      {}", list(&p.networks, true));
        println!("    clients       {}", list(&p.agents, false));
        if !p.subjects.is_empty() {
            println!("    via subjects  {}", list(&p.subjects, false));
        }
        let mut acts: Vec<&usage::ActionUse> = p.actions.iter().collect();
        acts.sort_by_key(|a| std::cmp::Reverse(a.count));
        let shown: Vec<String> = acts
            .iter()
            .take(8)
            .map(|a| format!("{}:{} ({})", a.service, a.action, a.count))
            .collect();
        println!(
            "    actions       {} distinct: {}",
            p.actions.len(),
            shown.join(", ")
        );
        let peak = p.hours.iter().copied().max().unwrap_or(0).max(1);
        let bars: String = p
            .hours
            .iter()
            .map(|&h| {
                [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'][(h * 8).div_ceil(peak) as usize]
            })
            .collect();
        println!("    hours (UTC)   |{bars}| 00–23");
    }
    if let Some(r) = &out.right_size {
        println!();
        println!("  right-sizing (its own policies, by service, against the logs read):");
        for (svc, g) in &r.granted {
            let used = r.used.get(svc).copied().unwrap_or(0);
            println!(
                "    {:<16} {:>5} resource(s), up to {:<22} {}",
                svc,
                g.resources,
                g.level,
                if used == 0 {
                    "never used: remove".to_string()
                } else {
                    format!("used {used} time(s)")
                }
            );
        }
        if !r.used_not_granted.is_empty() {
            println!(
                "    used but not granted by its own policies: {}",
                r.used_not_granted.join(", ")
            );
        }
    }
}

#[derive(Args)]
pub struct StaleArgs {
    /// Not used for this many days (or never) counts as stale.
    #[arg(long, default_value_t = 90)]
    pub days: i64,
    /// Judge as of this date (YYYY-MM-DD or RFC 3339). Default: now.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// At most this many rows (0: all).
    #[arg(long, default_value_t = 200)]
    pub limit: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct StaleKey {
    pub key: String,
    pub user: Option<String>,
    pub account: Option<String>,
    pub created: Option<String>,
    pub last_used: Option<String>,
    /// `cloudtrail` (an audit log), `credential report`, or `never`.
    pub evidence: &'static str,
    pub days_unused: Option<i64>,
}

/// Active access keys not used in `days` days before `as_of` (or never, and
/// older than that): the later of the audit logs' last use and the credential
/// report's.
pub fn stale_keys(store: &dyn Store, days: i64, as_of: i64) -> Result<Vec<StaleKey>> {
    let mut used: HashMap<String, i64> = HashMap::new();
    store.usage_scan(&mut |r| {
        used.insert(r.key, r.last);
    })?;
    let cutoff = as_of - days * 86_400;
    let mut out = Vec::new();
    store.scan_nodes(&["aws_access_key"], &mut |n| {
        let prop = |k: &str| n.props.get(k).and_then(|v| v.as_str());
        if prop("status") != Some("Active") {
            return;
        }
        let created = prop("created")
            .and_then(custody_model::time::parse)
            .map(|t| t.timestamp());
        let from_log = used.get(n.key).copied();
        let from_report = prop("last_used")
            .and_then(custody_model::time::parse)
            .map(|t| t.timestamp());
        let (last, evidence) = match (from_log, from_report) {
            (Some(l), Some(r)) if r > l => (Some(r), "credential report"),
            (Some(l), _) => (Some(l), "cloudtrail"),
            (None, Some(r)) => (Some(r), "credential report"),
            (None, None) => (None, "never"),
        };
        let stale = match last {
            Some(t) => t < cutoff,
            None => created.is_some_and(|c| c < cutoff),
        };
        if stale {
            out.push(StaleKey {
                key: n.key.to_string(),
                user: prop("user").map(str::to_string),
                account: prop("account_id").map(str::to_string),
                created: created.map(time_text),
                last_used: last.map(time_text),
                evidence,
                days_unused: last.or(created).map(|t| (as_of - t) / 86_400),
            });
        }
    })?;
    out.sort_by(|a, b| b.days_unused.cmp(&a.days_unused).then(a.key.cmp(&b.key)));
    Ok(out)
}

pub fn stale(cli: &Cli, a: &StaleArgs) -> Result<ExitCode> {
    let store = paths::open_existing(cli)?;
    let as_of = match &a.as_of {
        Some(s) => custody_model::time::parse(s)
            .ok_or_else(|| anyhow::anyhow!("--as-of `{s}` is not a date"))?
            .timestamp(),
        None => chrono::Utc::now().timestamp(),
    };
    let all = stale_keys(&store, a.days, as_of)?;
    let shown = if a.limit == 0 {
        &all[..]
    } else {
        &all[..all.len().min(a.limit)]
    };
    match cli.format {
        OutputFormat::Json => output::json(&shown)?,
        OutputFormat::Table => {
            println!(
                "{} active access key(s) not used in {} days (as of {}):",
                all.len(),
                a.days,
                time_text(as_of)
            );
            let rows: Vec<Vec<String>> = shown
                .iter()
                .map(|s| {
                    vec![
                        s.key.trim_start_matches("aws-access-key:").to_string(),
                        s.user.clone().unwrap_or_default(),
                        s.account.clone().unwrap_or_default(),
                        s.last_used.clone().unwrap_or_else(|| "never".into()),
                        s.evidence.to_string(),
                        s.days_unused.map(|d| d.to_string()).unwrap_or_default(),
                    ]
                })
                .collect();
            output::table(
                &[
                    "key",
                    "user",
                    "account",
                    "last used",
                    "according to",
                    "days",
                ],
                &rows,
            );
            if shown.len() < all.len() {
                println!("… {} more (--limit 0 for all)", all.len() - shown.len());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct AlertsArgs {
    /// Alerts whose event is this recent: a duration (30m, 1h, 7d, 2w, 1y) or a time.
    #[arg(long, default_value = "30d")]
    pub since: String,
    /// Only this rule (new-region, new-network, new-user-agent, denied-burst,
    /// dormant-reuse, impossible-travel, used-after-owner-left,
    /// leaked-credential-used; --list-rules).
    #[arg(long)]
    pub rule: Option<String>,
    /// Only this severity or worse (low, medium, high, critical).
    #[arg(long)]
    pub severity: Option<String>,
    /// Only identities that can reach this resource (ARN or key): the seed's
    /// "who can reach the customer database and did something unusual".
    #[arg(long, value_name = "RESOURCE")]
    pub reaching: Option<String>,
    /// List the rules and stop.
    #[arg(long)]
    pub list_rules: bool,
}

pub fn alerts(cli: &Cli, a: &AlertsArgs) -> Result<ExitCode> {
    if a.list_rules {
        let rows: Vec<Vec<String>> = usage::RULES
            .iter()
            .map(|(id, sev, what)| vec![id.to_string(), sev.to_string(), what.to_string()])
            .collect();
        output::table(&["rule", "severity", "raised when the identity is"], &rows);
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(r) = &a.rule {
        if !usage::RULES.iter().any(|x| x.0 == r) {
            anyhow::bail!("no alert rule `{r}` (custody alerts --list-rules)");
        }
    }
    let min = match &a.severity {
        Some(s) if custody_app::usage::severity_rank(s) == 0 => {
            anyhow::bail!("--severity is one of low, medium, high, critical")
        }
        Some(s) => custody_app::usage::severity_rank(s),
        None => 0,
    };
    let store = paths::open_existing(cli)?;
    let since = custody_app::service::since_time(&a.since, chrono::Utc::now().timestamp())
        .map_err(anyhow::Error::msg)?;
    let reach: Option<HashMap<String, String>> = match &a.reaching {
        None => None,
        Some(r) => {
            let node = store.find(r)?.ok_or_else(|| {
                anyhow::anyhow!(
                    "nothing matches `{r}`: give a resource ARN, natural key or node id"
                )
            })?;
            let (model, _) = crate::blast::load(&store, cli.quiet)?;
            let res = model.resource(node).ok_or_else(|| {
                anyhow::anyhow!(
                    "`{r}` is not an AWS resource custody has inventoried (from the resource exports)"
                )
            })?;
            let bar = output::spinner(cli.quiet)?;
            bar.set_message("computing who can reach it…");
            crate::blast::warm(&model);
            let out = custody_app::blast::reached_by(&store, &model, res, 0)?;
            bar.finish_and_clear();
            Some(
                out.reachers
                    .into_iter()
                    .map(|x| (x.credential, x.access.to_string()))
                    .collect(),
            )
        }
    };
    let filter = custody_app::usage::AlertsFilter {
        since,
        rule: a.rule.clone(),
        min_severity: min,
        limit: 0,
    };
    let rows = custody_app::usage::alerts(&store, &filter, reach.as_ref())?;
    match cli.format {
        OutputFormat::Json => output::json(&rows)?,
        OutputFormat::Table => {
            println!("{} alert(s) since {}:", rows.len(), time_text(since));
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    let ev = &r.evidence;
                    let s = |k: &str| ev.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
                    vec![
                        r.time.clone(),
                        r.severity.clone(),
                        r.rule.clone(),
                        match &r.access {
                            Some(level) => format!("{} ({level})", r.identity),
                            None => r.identity.clone(),
                        },
                        r.owners
                            .iter()
                            .map(|o| o.trim_start_matches("email:"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        r.summary.clone(),
                        format!(
                            "{}{} {} {}",
                            s("source").rsplit('/').next().unwrap_or(""),
                            s("at"),
                            s("action"),
                            s("ip")
                        ),
                    ]
                })
                .collect();
            output::table(
                &[
                    "time", "severity", "rule", "identity", "owners", "what", "evidence",
                ],
                &table,
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct EvalArgs {
    /// The `answers.json` that `custody synth` wrote for the data in the database.
    #[arg(value_name = "ANSWERS")]
    pub answers: PathBuf,
}

#[derive(Debug, Serialize)]
pub struct Score {
    pub expected: usize,
    pub found: usize,
    pub true_positives: usize,
    pub precision: f64,
    pub recall: f64,
    /// Up to 20 of each, for looking into.
    pub missed: Vec<String>,
    pub unexpected: Vec<String>,
}

fn score(
    expected: &std::collections::BTreeSet<String>,
    found: &std::collections::BTreeSet<String>,
) -> Score {
    let tp = expected.intersection(found).count();
    Score {
        expected: expected.len(),
        found: found.len(),
        true_positives: tp,
        precision: if found.is_empty() {
            1.0
        } else {
            tp as f64 / found.len() as f64
        },
        recall: if expected.is_empty() {
            1.0
        } else {
            tp as f64 / expected.len() as f64
        },
        missed: expected.difference(found).take(20).cloned().collect(),
        unexpected: found.difference(expected).take(20).cloned().collect(),
    }
}

#[derive(Debug, Serialize)]
pub struct UsageEval {
    pub events_in_answers: u64,
    pub alerts: Score,
    pub by_rule: std::collections::BTreeMap<String, Score>,
    pub stale: Score,
    /// False alerts per 10 million events.
    pub false_alerts_per_10m_events: f64,
}

/// Scores the stored alerts and `stale` against a synthetic enterprise's answers.
pub fn eval_usage(store: &dyn Store, answers: &serde_json::Value) -> Result<UsageEval> {
    use std::collections::{BTreeMap, BTreeSet};
    let u = answers.pointer("/expected/usage").ok_or_else(|| {
        anyhow::anyhow!("the answers have no expected.usage (written by an older custody synth?)")
    })?;
    let pair = |rule: &str, id: &str| format!("{rule} {id}");
    let mut expected: BTreeSet<String> = BTreeSet::new();
    let mut by_rule_expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    // Answers that need the git history in the graph count only when it is.
    let scanned = store.count(&custody_store::ListFilter {
        kind: Some("git_blob".into()),
        ..Default::default()
    })? > 0;
    for a in u["alerts"].as_array().into_iter().flatten() {
        if a.get("requires").is_some() && !scanned {
            continue;
        }
        let (r, i) = (
            a["rule"].as_str().unwrap_or(""),
            a["identity"].as_str().unwrap_or(""),
        );
        expected.insert(pair(r, i));
        by_rule_expected
            .entry(r.to_string())
            .or_default()
            .insert(pair(r, i));
    }
    let mut found: BTreeSet<String> = BTreeSet::new();
    let mut by_rule_found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for a in store.alerts(i64::MIN)? {
        found.insert(pair(&a.rule, &a.key));
        by_rule_found
            .entry(a.rule.clone())
            .or_default()
            .insert(pair(&a.rule, &a.key));
    }
    let rules: BTreeSet<String> = by_rule_expected
        .keys()
        .chain(by_rule_found.keys())
        .cloned()
        .collect();
    let empty = BTreeSet::new();
    let by_rule = rules
        .into_iter()
        .map(|r| {
            let s = score(
                by_rule_expected.get(&r).unwrap_or(&empty),
                by_rule_found.get(&r).unwrap_or(&empty),
            );
            (r, s)
        })
        .collect();
    let days = u["stale_days"].as_i64().unwrap_or(90);
    let as_of = answers["as_of"]
        .as_str()
        .and_then(custody_model::time::parse)
        .map(|t| t.timestamp())
        .ok_or_else(|| anyhow::anyhow!("the answers have no as_of date"))?;
    let want: BTreeSet<String> = u["stale_keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    let got: BTreeSet<String> = stale_keys(store, days, as_of)?
        .into_iter()
        .map(|s| s.key)
        .collect();
    let alerts = score(&expected, &found);
    let events = u["events"].as_u64().unwrap_or(0);
    let false_alerts = (alerts.found - alerts.true_positives) as f64;
    Ok(UsageEval {
        events_in_answers: events,
        false_alerts_per_10m_events: if events == 0 {
            0.0
        } else {
            false_alerts * 1e7 / events as f64
        },
        alerts,
        by_rule,
        stale: score(&want, &got),
    })
}

pub fn eval(cli: &Cli, a: &EvalArgs) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&a.answers)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", a.answers.display()))?;
    let answers: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: not JSON: {e}", a.answers.display()))?;
    let store = paths::open_existing(cli)?;
    let started = Instant::now();
    let e = eval_usage(&store, &answers)?;
    let usage_seconds = started.elapsed().as_secs_f64();
    let truth = a.answers.with_file_name("answers-ownership.json");
    let owners = crate::owner::eval_ownership(&store, &truth, cli.quiet)?;
    match cli.format {
        OutputFormat::Json => {
            let mut v = serde_json::to_value(&e)?;
            if let (Some(m), Some(o)) = (v.as_object_mut(), &owners) {
                m.insert("ownership".into(), serde_json::to_value(o)?);
            }
            output::json(&v)?
        }
        OutputFormat::Table => {
            println!(
                "Usage: alerts and stale keys against {} ({} events in the answers; scored in {:.1}s)",
                a.answers.display(),
                e.events_in_answers,
                usage_seconds
            );
            let row = |name: &str, s: &Score| {
                vec![
                    name.to_string(),
                    s.expected.to_string(),
                    s.found.to_string(),
                    s.true_positives.to_string(),
                    format!("{:.3}", s.precision),
                    format!("{:.3}", s.recall),
                ]
            };
            let mut rows = vec![row("all alerts", &e.alerts)];
            rows.extend(e.by_rule.iter().map(|(r, s)| row(&format!("  {r}"), s)));
            rows.push(row("stale keys", &e.stale));
            output::table(
                &["", "expected", "found", "correct", "precision", "recall"],
                &rows,
            );
            println!(
                "False alerts: {:.1} per 10 million events.",
                e.false_alerts_per_10m_events
            );
            for (what, s) in [("alerts", &e.alerts), ("stale keys", &e.stale)] {
                for m in &s.missed {
                    println!("  missed ({what}): {m}");
                }
                for u in &s.unexpected {
                    println!("  not expected ({what}): {u}");
                }
            }
            if let Some(o) = &owners {
                crate::owner::print_ownership_score(o);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
