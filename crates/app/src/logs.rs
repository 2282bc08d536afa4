//! Audit logs into usage: what `ingest` does with CloudTrail, Okta, GitHub,
//! Kubernetes, Vault, GCP and Entra logs.
//!
//! Files are hashed (a file already counted is skipped), gunzipped, read and
//! tallied in parallel ([`custody_analysis::usage::Tally`]), merged with the
//! stored profiles, checked by the anomaly rules and by the graph-level rules
//! (`used-after-owner-left`, `leaked-credential-used`), and written in one
//! transaction; identities the logs show being created become `CREATED_BY`
//! ownership evidence, and alerts become `Alert` nodes of the graph.

use crate::progress::{Progress, Unit};
use anyhow::Result;
use custody_analysis::usage::{self, Alert, Config, Evidence, Profile, Tally};
use custody_connectors::audit::{self, LogFormat};
use custody_model::time::from_unix as time_text;
use custody_model::{InputError, Location};
use custody_store::{AlertRow, Store, UsageRow, UsageSource};
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

/// A log file found by `ingest`.
pub struct LogFile {
    pub path: PathBuf,
    pub format: LogFormat,
    pub len: u64,
    /// Gzipped (by its first bytes).
    pub gzip: bool,
    /// About how many bytes of text it holds (see [`json_len`]).
    pub json_len: u64,
}

/// About how many bytes of text a log file holds: its size, or for gzip the
/// size its trailer records (modulo 2^32, so never taken below the
/// compressed size). `head` is the file's first bytes.
pub fn json_len(path: &std::path::Path, head: &[u8], len: u64) -> u64 {
    if !is_gzip(head) || len < 18 {
        return len;
    }
    let trailer = if head.len() as u64 == len {
        head.get(head.len() - 4..).map(|t| [t[0], t[1], t[2], t[3]])
    } else {
        (|| {
            use std::io::{Seek, SeekFrom};
            let mut f = std::fs::File::open(path).ok()?;
            f.seek(SeekFrom::End(-4)).ok()?;
            let mut t = [0u8; 4];
            f.read_exact(&mut t).ok()?;
            Some(t)
        })()
    };
    trailer.map_or(len.saturating_mul(8), |t| {
        u64::from(u32::from_le_bytes(t)).max(len)
    })
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

/// What reading a run of files (consecutive in path order) gave: one tally
/// for all of them, so a value already seen costs no allocation.
#[derive(Default)]
struct BlockResult {
    tally: Tally,
    creations: Vec<Creation>,
    sources: Vec<UsageSource>,
    events: u64,
    unattributed: u64,
    decompressed: u64,
    /// Files whose content was already counted (by an earlier ingest, or
    /// under another path in this one).
    already_counted: usize,
    errors: Vec<InputError>,
}

/// A worker thread's buffers, kept from file to file: a fresh multi-megabyte
/// buffer per file comes back from the kernel zeroed, which cost more than
/// parsing the file.
#[derive(Default)]
struct Buffers {
    raw: Vec<u8>,
    text: Vec<u8>,
    /// The file's events, held until it is read to its end (a file counts
    /// whole or not at all). Empty between files; only its allocation is kept.
    events: Vec<(custody_model::event::Event<'static>, audit::At)>,
}

thread_local! {
    static BUFFERS: std::cell::RefCell<Buffers> = std::cell::RefCell::default();
}

/// How much reading a file costs, roughly: its text, and a quarter more
/// to decompress it.
fn weight(f: &LogFile) -> u64 {
    if f.gzip {
        f.json_len + f.json_len / 4
    } else {
        f.json_len
    }
}

/// Splits the files (in path order) into one block of consecutive files per
/// thread, of about equal weight. A block is tallied on its own, so a value
/// its identity has shown already costs nothing (a block per file, or many
/// small blocks, rebuilt every identity's values and their evidence again
/// and again); blocks merge in path order, so the profiles do not depend on
/// which thread read which block.
fn blocks(files: &[LogFile], threads: usize) -> Vec<&[LogFile]> {
    let total: u64 = files.iter().map(weight).sum();
    let size = (total / threads.max(1) as u64).max(1);
    let mut out = Vec::new();
    let (mut start, mut acc) = (0, 0u64);
    for (i, f) in files.iter().enumerate() {
        acc += weight(f);
        if acc >= size || i + 1 == files.len() {
            out.push(&files[start..=i]);
            start = i + 1;
            acc = 0;
        }
    }
    out
}

/// Reads a block of files into one tally, with this thread's buffers.
fn read_block(
    files: &[LogFile],
    known: &std::collections::HashSet<String>,
    claimed: &std::sync::Mutex<std::collections::HashSet<String>>,
    progress: &dyn Progress,
) -> BlockResult {
    let mut out = BlockResult::default();
    BUFFERS.with(|b| {
        let mut b = b.borrow_mut();
        for f in files {
            read_one(f, &mut b, known, claimed, &mut out);
            progress.advance(f.len);
        }
        // A block is this thread's share of the ingest: buffers grown for a
        // large file are not kept past it.
        if b.raw.capacity() + b.text.capacity() > 64 << 20 {
            *b = Buffers::default();
        }
    });
    out
}

impl BlockResult {
    /// Adds the files read after this one's.
    fn then(mut self, next: BlockResult) -> BlockResult {
        self.tally.merge(next.tally);
        self.creations.extend(next.creations);
        self.sources.extend(next.sources);
        self.events += next.events;
        self.unattributed += next.unattributed;
        self.decompressed += next.decompressed;
        self.already_counted += next.already_counted;
        self.errors.extend(next.errors);
        self
    }
}

/// Reads `path` into `buf` (cleared first; its allocation is reused).
fn read_into(path: &std::path::Path, buf: &mut Vec<u8>) -> std::io::Result<()> {
    buf.clear();
    let mut file = std::fs::File::open(path)?;
    if let Ok(m) = file.metadata() {
        buf.reserve(m.len() as usize);
    }
    file.read_to_end(buf)?;
    Ok(())
}

/// Decompresses a whole gzip file into `out` (cleared first; several members
/// are read as one stream, as `zcat` does).
fn gunzip_into(bytes: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
    out.clear();
    // The trailer holds the size modulo 2^32: a good first guess.
    let hint = bytes
        .len()
        .checked_sub(4)
        .map(|i| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]) as usize)
        .unwrap_or(0);
    out.reserve(hint.min(1 << 30).max(bytes.len() * 4));
    flate2::read::MultiGzDecoder::new(bytes).read_to_end(out)?;
    Ok(())
}

/// The text a log file's bytes hold: gunzipped into `text` when gzipped,
/// UTF-16 (PowerShell's `>`) read as the text it holds.
fn text_of<'b>(
    raw: &'b [u8],
    text: &'b mut Vec<u8>,
) -> std::io::Result<std::borrow::Cow<'b, [u8]>> {
    let bytes: &[u8] = if is_gzip(raw) {
        gunzip_into(raw, text)?;
        text
    } else {
        raw
    };
    Ok(custody_model::text::decode(bytes))
}

/// The buffer's allocation, for events borrowing from another file.
fn recycle<'a, 'b>(
    mut v: Vec<(custody_model::event::Event<'a>, audit::At)>,
) -> Vec<(custody_model::event::Event<'b>, audit::At)> {
    v.clear();
    // An empty vector collected in place: the same allocation, a new lifetime.
    v.into_iter()
        .map(|_| unreachable!("the vector is empty"))
        .collect()
}

fn read_one(
    f: &LogFile,
    b: &mut Buffers,
    known: &std::collections::HashSet<String>,
    claimed: &std::sync::Mutex<std::collections::HashSet<String>>,
    out: &mut BlockResult,
) {
    let shown = f.path.display().to_string();
    let fail = |msg: String| InputError::new(f.format.name(), &shown, Location::File, msg);
    if let Err(e) = read_into(&f.path, &mut b.raw) {
        out.errors.push(fail(format!("cannot read the file: {e}")));
        return;
    }
    let sha = format!("{:x}", Sha256::digest(&b.raw));
    if known.contains(&sha) {
        out.already_counted += 1;
        return;
    }
    let Buffers { raw, text, events } = b;
    let decoded = match text_of(raw, text) {
        Ok(d) => d,
        Err(e) => {
            out.errors.push(fail(format!(
                "not a readable gzip file ({e}; truncated?): nothing of it was counted"
            )));
            return;
        }
    };
    let bytes: &[u8] = &decoded;
    let mut evs = recycle(std::mem::take(events));
    let read = audit::read(f.format, &shown, bytes, &mut |ev, at| {
        evs.push((ev.clone(), at));
    });
    out.events += read.events;
    out.unattributed += read.unattributed;
    out.errors.extend(read.errors);
    let fresh = read.complete && claimed.lock().is_ok_and(|mut c| c.insert(sha.clone()));
    if fresh {
        out.decompressed += bytes.len() as u64;
        for (ev, at) in &evs {
            if !ev.created.is_empty() {
                out.creations.push(Creation {
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
            out.tally.add(ev, &shown, at);
        }
        out.sources.push(UsageSource {
            sha256: sha,
            path: shown,
            format: f.format.name().to_string(),
            events: read.events,
        });
    } else if read.complete {
        // The same content under another path (a copied log) counts once.
        out.already_counted += 1;
    } else if let Some(e) = out.errors.last_mut() {
        // A file is counted whole or not at all: a fixed copy can be read later.
        e.message
            .push_str("; none of this file's events were counted");
    }
    *events = recycle(evs);
}

/// Where one thread's time goes before anything is folded into a profile
/// (see [`stages`]): CPU seconds of each stage.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stages {
    pub files: usize,
    /// Events with an actor (what `ingest` counts).
    pub events: u64,
    /// Bytes of text parsed (after gunzip).
    pub text_bytes: u64,
    pub read_seconds: f64,
    pub hash_seconds: f64,
    pub inflate_seconds: f64,
    pub parse_seconds: f64,
}

/// This thread's CPU time, in seconds (what one core spent).
fn thread_cpu_seconds() -> f64 {
    // SAFETY: an all-zero timespec is a valid value for clock_gettime to fill in.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: the pointer is valid; the clock id is a constant the kernel knows.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// Reads `files` on this thread the way `ingest` does (one set of buffers,
/// SHA-256 of each file, gunzip, the same parsers) and times each stage in
/// CPU seconds; nothing is tallied or stored. It is the floor under an
/// ingest's rate on one core: what an ingest costs beyond it is folding the
/// events into profiles, the alerts and the store. A file that fails to
/// read or to gunzip counts the time it took up to there.
pub fn stages(files: &[LogFile]) -> Stages {
    let mut out = Stages {
        files: files.len(),
        ..Stages::default()
    };
    let (mut raw, mut text) = (Vec::new(), Vec::new());
    for f in files {
        let mut t = thread_cpu_seconds();
        let mut lap = |stage: &mut f64| {
            let now = thread_cpu_seconds();
            *stage += now - t;
            t = now;
        };
        let read = read_into(&f.path, &mut raw);
        lap(&mut out.read_seconds);
        if read.is_err() {
            continue;
        }
        std::hint::black_box(format!("{:x}", Sha256::digest(&raw)));
        lap(&mut out.hash_seconds);
        let decoded = text_of(&raw, &mut text);
        lap(&mut out.inflate_seconds);
        let Ok(decoded) = decoded else {
            continue;
        };
        let shown = f.path.display().to_string();
        let read = audit::read(f.format, &shown, &decoded, &mut |ev, at| {
            std::hint::black_box((ev, at));
        });
        lap(&mut out.parse_seconds);
        out.events += read.events;
        out.text_bytes += decoded.len() as u64;
    }
    out
}

/// Audit logs read into one tally, not yet stored ([`read_logs`]).
pub struct ReadLogs {
    files: usize,
    bytes: u64,
    seconds: f64,
    read: BlockResult,
}

/// Reads and tallies `files` on every core, skipping those whose content
/// `known` holds (already counted: [`Store::usage_known_sources`]). It
/// touches no store, so it can run while the exports are written;
/// [`store_logs`] then merges the tally into the stored profiles.
pub fn read_logs(
    mut files: Vec<LogFile>,
    known: &std::collections::HashSet<String>,
    progress: &dyn Progress,
) -> ReadLogs {
    let started = Instant::now();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let total: u64 = files.iter().map(|f| f.len).sum();
    progress.stage("audit logs", Some(total), Unit::Bytes);
    let claimed = std::sync::Mutex::new(std::collections::HashSet::new());
    // A block per thread, merged in path order (rayon's reduce keeps it).
    let read = blocks(&files, rayon::current_num_threads())
        .par_iter()
        .map(|b| read_block(b, known, &claimed, progress))
        .reduce(BlockResult::default, BlockResult::then);
    let seconds = started.elapsed().as_secs_f64();
    progress.note(&format!(
        "{:.0} events/s",
        read.events as f64 / seconds.max(1e-9)
    ));
    tracing::info!("logs read in {seconds:.2}s");
    ReadLogs {
        files: files.len(),
        bytes: total,
        seconds,
        read,
    }
}

/// Merges logs read by [`read_logs`] into the stored usage profiles, raises
/// alerts and records who created identities, in one transaction.
pub fn store_logs(
    store: &mut dyn Store,
    logs: ReadLogs,
    progress: &dyn Progress,
) -> Result<LogSummary> {
    let started = Instant::now();
    let ReadLogs {
        files,
        bytes,
        seconds: read_seconds,
        read,
    } = logs;
    let mut sum = LogSummary {
        files,
        bytes_read: bytes,
        ..LogSummary::default()
    };
    let BlockResult {
        tally: run,
        creations,
        sources,
        ..
    } = read;
    sum.events = read.events;
    sum.events_unattributed = read.unattributed;
    sum.bytes_decompressed = read.decompressed;
    sum.files_already_counted = read.already_counted;
    sum.errors = read.errors;
    progress.note("updating profiles");
    let cfg = Config::default();
    let networks = crate::networks::table(store)?;
    // In key order: the same files give the same rows and alerts in the same
    // order, whichever thread read which file.
    let mut deltas: Vec<(String, Profile)> = run.profiles.into_iter().collect();
    deltas.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let keys: Vec<&str> = deltas.iter().map(|(k, _)| k.as_str()).collect();
    let mut stored = HashMap::new();
    for part in keys.chunks(10_000) {
        stored.extend(store.usage_profiles(part)?);
    }
    let owners = Owners::new(store, &keys)?;
    drop(keys);
    let fp = store.fingerprinter().clone();
    let scrub = |v: serde_json::Value| -> String {
        // Logs are free text in places (a user agent can carry a token):
        // anything secret-shaped is redacted before it is stored.
        let mut v = v;
        custody_model::guard::scrub_value(&mut v, &fp);
        v.to_string()
    };
    // Every identity's profile before and after this batch (an identity
    // new to custody: after is the batch's own profile, not a copy), then
    // what the identities of each account used (an alert's value a peer
    // already used weighs less).
    let mut merged = Vec::with_capacity(deltas.len());
    let mut peers = usage::Peers::default();
    for (i, (key, delta)) in deltas.iter().enumerate() {
        let before: Option<Profile> = stored
            .remove(key)
            .and_then(|j| serde_json::from_str(&j).ok());
        let after = before.as_ref().map(|b| {
            let mut a = b.clone();
            a.merge(delta);
            a
        });
        let view = after.as_ref().unwrap_or(delta);
        let account = usage::account_of(key, &view.principal).map(str::to_string);
        if let Some(account) = &account {
            peers.add(i as u32, account, view, &networks);
        }
        merged.push((before, after, account));
    }
    let mut pending: Vec<usage::Raised> = Vec::new();
    for (i, ((key, delta), (before, after, account))) in deltas.iter().zip(&merged).enumerate() {
        let view = after.as_ref().unwrap_or(delta);
        let mut raised = usage::detect(before.as_ref(), delta, view, &cfg, &networks);
        if let Some(account) = account {
            for a in &mut raised {
                peers.weigh(i as u32, account, a);
            }
        }
        raised.extend(owners.alerts(key, delta, view)?);
        pending.extend(raised.into_iter().map(|alert| usage::Raised {
            key: key.clone(),
            account: account.clone(),
            alert,
        }));
    }
    tracing::info!(
        "profiles merged and checked in {:.2}s",
        started.elapsed().as_secs_f64()
    );
    // Logs are free text in places (a user agent can carry a token): every
    // text is scrubbed before it is stored, each distinct one once per
    // thread; profiles are serialised in parallel.
    let profiles: Vec<(String, Profile)> = deltas
        .into_iter()
        .zip(merged)
        .map(|((key, delta), (_, after, _))| (key, after.unwrap_or(delta)))
        .collect();
    let rows: Vec<UsageRow> = profiles
        .into_par_iter()
        .map_init(
            std::collections::HashSet::<String, foldhash::fast::RandomState>::default,
            |clean, (key, mut p)| {
                p.texts_mut(&mut |t| {
                    if t.is_empty() || clean.contains(t) {
                        return None;
                    }
                    let mut s = t.to_string();
                    let redacted = custody_model::guard::scrub_text(&mut s, &fp);
                    if redacted || s != t {
                        return Some(s);
                    }
                    if s.len() <= 4096 {
                        clean.insert(s);
                    }
                    None
                });
                Ok(UsageRow {
                    key,
                    first: p.first,
                    last: p.last,
                    events: p.events,
                    denied: p.denied,
                    profile: serde_json::to_string(&p)?,
                })
            },
        )
        .collect::<Result<_>>()?;
    let mut alerts = Vec::new();
    // Several identities of an account moving to one region at once are one move.
    usage::region_shifts(&mut pending, &cfg);
    alerts.extend(pending.into_iter().map(|r| {
        let mut row = alert_row(&r.key, r.alert);
        row.evidence = scrub(serde_json::from_str(&row.evidence).unwrap_or_default());
        if let Some(x) = custody_model::guard::redact_text(&row.summary, &fp) {
            row.summary = x;
        }
        row
    }));
    sum.identities = rows.len();
    tracing::info!(
        "profiles serialised in {:.2}s",
        started.elapsed().as_secs_f64()
    );
    // Creations first: if writing profiles fails, the files stay unknown and
    // a later ingest records the same edges again.
    if !creations.is_empty() {
        progress.note("recording who created identities");
        sum.creations_recorded = record_creations(store, &creations)?;
    }
    sum.alerts_raised = store.usage_write(&rows, &sources, &alerts)?;
    tracing::info!(
        "profiles written in {:.2}s",
        started.elapsed().as_secs_f64()
    );
    if sum.alerts_raised > 0 {
        progress.note("alerts into the graph");
        record_alerts(store)?;
    }
    progress.done();
    // The logs' own time: reading them (perhaps beside other work) and storing.
    sum.seconds = read_seconds + started.elapsed().as_secs_f64();
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
    let fp = store.fingerprinter().clone();
    let mut alerts = Vec::new();
    {
        let keys: Vec<&str> = profiles.iter().map(|(k, _)| k.as_str()).collect();
        let owners = Owners::new(store, &keys)?;
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
/// Identity Center (or other SAML) session whose name is an e-mail; an
/// Identity Center user name (`wchen`, a session of an `AWSReservedSSO_`
/// role), which attribution resolves when it is one person's handle; else
/// the IAM user that called. Any other role session names nobody.
fn creator_of(c: &Creation) -> Option<(custody_model::Label, custody_model::Key, String)> {
    use custody_model::{Key, Label};
    if c.session.contains('@') {
        return Some((Label::Human, Key::email(&c.session), c.session.clone()));
    }
    let sso = [&c.principal, &c.actor]
        .into_iter()
        .any(|a| a.contains("/AWSReservedSSO_"));
    let user_name = !c.session.is_empty()
        && c.session.len() <= 64
        && c.session
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if sso && user_name {
        return Some((
            Label::Human,
            Key::other("sso-user", &c.session.to_ascii_lowercase()),
            format!("the Identity Center user {}", c.session),
        ));
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
            unparsed: None,
            prepared: None,
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
        unparsed: None,
        prepared: None,
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
        // The new values ride with the evidence: what an operator accepts.
        evidence: {
            let mut e = serde_json::to_value(&a.evidence).unwrap_or_default();
            if let (Some(o), false) = (e.as_object_mut(), a.values.is_empty()) {
                o.insert("values".into(), serde_json::json!(a.values));
            }
            e.to_string()
        },
    }
}

/// Graph facts the logs are read against: who is accountable for each
/// identity (and whether they left: `crate::owner`, the same answer as
/// `custody owner` and `offboard`), and where it leaked.
struct Owners<'a> {
    store: &'a dyn Store,
    /// Identity key → node.
    ids: HashMap<String, i64>,
    ownership: custody_analysis::ownership::Ownership,
}

impl<'a> Owners<'a> {
    /// What the graph says of the identities `keys` name, read once.
    fn new(store: &'a dyn Store, keys: &[&str]) -> Result<Owners<'a>> {
        let mut ids = HashMap::new();
        for k in keys {
            if let Some(id) = store.find(k)? {
                ids.insert(k.to_string(), id);
            }
        }
        let nodes: Vec<i64> = ids.values().copied().collect();
        let ownership = crate::owner::load_for(store, &nodes)?;
        Ok(Owners {
            store,
            ids,
            ownership,
        })
    }

    /// `used-after-owner-left` and `leaked-credential-used` for one identity.
    fn alerts(&self, key: &str, delta: &Profile, after: &Profile) -> Result<Vec<Alert>> {
        let mut out = Vec::new();
        let Some(&id) = self.ids.get(key) else {
            return Ok(out);
        };
        let mut leaks = Vec::new();
        for e in self.store.edges(id)? {
            if e.direction != "out" || e.retired {
                continue;
            }
            if e.kind == "STORED_IN" && e.other.kind == "git_blob" {
                if let Some(n) = self.store.node(e.other.id)? {
                    if let Some(t) = n.props.get("commit_time").and_then(|v| v.as_str()) {
                        if let Some(t) = custody_model::time::parse(t) {
                            leaks.push((t.timestamp(), n.brief.key.clone()));
                        }
                    }
                }
            }
        }
        // The accountable owner left: from the day after their last day.
        let acc = self.ownership.accountable(id);
        let left: Vec<(i64, String)> = acc
            .left
            .iter()
            .filter_map(|(p, day)| {
                let day = custody_model::time::parse(day.as_deref()?)?;
                let who = self.ownership.people.get(p)?.key.clone();
                Some((day.timestamp() + 86_400, who))
            })
            .collect();
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
            time: at,
            ..Evidence::default()
        });
    Alert {
        rule: rule.into(),
        severity: usage::severity_of(rule).into(),
        time: at,
        summary,
        evidence,
        values: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const TRAIL: &str = r#"{"Records":[
{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE1","arn":"arn:aws:iam::111122223333:user/ci","accountId":"111122223333","accessKeyId":"AKIAIOSFODNN7EXAMPLE","userName":"ci"},"eventTime":"2026-11-01T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.15.0","requestID":"1","eventID":"1","eventType":"AwsApiCall","recipientAccountId":"111122223333"},
{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE1","arn":"arn:aws:iam::111122223333:user/ci","accountId":"111122223333","accessKeyId":"AKIAIOSFODNN7EXAMPLE","userName":"ci"},"eventTime":"2026-11-01T10:05:00Z","eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.15.0","requestID":"2","eventID":"2","eventType":"AwsApiCall","recipientAccountId":"111122223333"}
]}"#;

    /// The stages read what `ingest` reads: plain and gzipped files alike,
    /// every event counted, and a file that cannot be read left out.
    #[test]
    fn stages_count_the_events_of_plain_and_gzipped_files() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let plain = dir.path().join("a.json");
        std::fs::write(&plain, TRAIL).expect("written");
        let gz = dir.path().join("b.json.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(TRAIL.as_bytes()).expect("compressed");
        std::fs::write(&gz, enc.finish().expect("compressed")).expect("written");
        let file = |path: PathBuf, gzip: bool| LogFile {
            len: std::fs::metadata(&path).map_or(0, |m| m.len()),
            path,
            format: LogFormat::CloudTrail,
            gzip,
            json_len: TRAIL.len() as u64,
        };
        let files = [
            file(plain, false),
            file(gz, true),
            file(dir.path().join("gone.json"), false),
        ];
        let s = stages(&files);
        assert_eq!(s.files, 3);
        assert_eq!(s.events, 4);
        assert_eq!(s.text_bytes, 2 * TRAIL.len() as u64);
        for t in [
            s.read_seconds,
            s.hash_seconds,
            s.inflate_seconds,
            s.parse_seconds,
        ] {
            assert!(t >= 0.0);
        }
    }
}
