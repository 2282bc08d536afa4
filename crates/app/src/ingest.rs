//! Ingest: read native exports and audit logs into the store as one snapshot.
//!
//! Files are recognised from their first 64 KiB ([`detect_one`]), ordered by
//! system, folder and format (HR before the IdP, so a human's kind comes from
//! HR), parsed and prepared in parallel in chunks of about 64 MiB while the
//! store writes the chunk before; audit logs are read once the last export is
//! parsed, and after the commit update the usage profiles and raise alerts
//! against the graph this ingest just updated ([`crate::logs`]).

use crate::files::{candidates, Candidate, Hidden};
use crate::progress::{Progress, Unit};
use anyhow::Result;
use custody_connectors::{detect, parse, Format, ParseContext, SourceFile};
use custody_model::{InputError, Location};
use custody_store::{IngestReport, SourceBatch, Store};
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Serialize)]
pub struct FileSummary {
    pub path: String,
    pub format: String,
    pub records: usize,
    pub facts: usize,
    pub errors: usize,
}

#[derive(Serialize)]
pub struct IngestOutput {
    pub snapshot: i64,
    /// Audit logs read into usage profiles (absent when there were none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logs: Option<crate::logs::LogSummary>,
    pub elapsed_seconds: f64,
    pub files: Vec<FileSummary>,
    pub skipped: Vec<String>,
    /// Files `custody scan` reads and ingest does not (MCP client
    /// configurations, workflows, `.env` files…), each with what it is.
    pub for_scan: Vec<ForScan>,
    pub report: IngestReport,
}

/// A file in the ingested folders that `custody scan` reads, not ingest.
#[derive(Serialize)]
pub struct ForScan {
    pub path: String,
    /// `an MCP client configuration`, `a GitHub Actions workflow`…
    pub what: &'static str,
}

const DATA_EXTENSIONS: &[&str] = &[
    "json", "jsonl", "csv", "ndjson", "gz", "log", "tfstate", "backup",
];

fn is_csv(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// What one file's head says it is.
enum Detected {
    Format(Candidate, Format, u64),
    Log(crate::logs::LogFile),
    /// Not an export: its path, and what `custody scan` reads it as.
    Skipped(String, Option<&'static str>),
    Failed(InputError),
}

const HEAD: usize = 64 * 1024;

fn read_head(path: &Path) -> std::io::Result<(Vec<u8>, u64)> {
    use std::io::Read;
    let f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let mut head = Vec::with_capacity(HEAD.min(len as usize));
    f.take(HEAD as u64).read_to_end(&mut head)?;
    Ok((head, len))
}

fn detect_one(c: Candidate) -> Detected {
    let shown = c.path.display().to_string();
    let (head, len) = match read_head(&c.path) {
        Ok(h) => h,
        Err(e) => {
            return Detected::Failed(InputError::new(
                "ingest",
                &shown,
                Location::File,
                format!("cannot read the file: {e}"),
            ))
        }
    };
    let data_like = c
        .path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| DATA_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
    let blank = len as usize <= HEAD && head.iter().all(|b| b.is_ascii_whitespace());
    // Audit logs name their format in the first event: a few KiB decompressed.
    let content = crate::logs::head_of(&head, 8 * 1024);
    // A log saved as UTF-16 (PowerShell's `>`) is read as the text it holds.
    let content = custody_model::text::decode(&content).into_owned();
    if crate::logs::is_gzip(&head) && content.is_empty() {
        return Detected::Failed(InputError::new(
            "ingest",
            &shown,
            Location::File,
            "cannot decompress: a corrupt or truncated gzip file",
        ));
    }
    if let Some(format) = custody_connectors::audit::detect(&content) {
        let gzip = crate::logs::is_gzip(&head);
        return Detected::Log(crate::logs::LogFile {
            json_len: crate::logs::json_len(&c.path, &head, len),
            path: c.path,
            format,
            len,
            gzip,
        });
    }
    if crate::logs::is_gzip(&head) {
        return if c.explicit {
            Detected::Failed(InputError::new(
                "ingest",
                &shown,
                Location::File,
                "a gzip file that is not an audit log custody reads (see docs/CONNECTORS.md)",
            ))
        } else {
            Detected::Skipped(shown, None)
        };
    }
    match detect(&shown, &head) {
        Some(f) => Detected::Format(c, f, len),
        None if blank && (c.explicit || data_like) => {
            Detected::Failed(InputError::new("ingest", &shown, Location::File, "the file is empty"))
        }
        // A CSV in an export folder is tabular export data: say why it was not read.
        None if is_csv(&c.path) => Detected::Failed(InputError::new(
            "ingest",
            &shown,
            Location::Line(1),
            "CSV header not recognised: expected an IAM credential report (user,arn,user_creation_time,…) \
             or an HR roster (an e-mail column and one of status, manager_email, department, title, termination_date)",
        )),
        // Named as an export: an error, never a silent skip.
        None if custody_connectors::is_terraform_state_name(&shown) => {
            Detected::Failed(InputError::new(
                "ingest",
                &shown,
                Location::File,
                "named as Terraform state, but not Terraform state JSON (a `version`, `terraform_version` and `lineage`)",
            ))
        }
        None if c.explicit => Detected::Failed(InputError::new(
            "ingest",
            &shown,
            Location::File,
            "format not recognised (see docs/CONNECTORS.md for the formats custody reads)",
        )),
        None => {
            let what = custody_scan::structured::scan_reads(&shown, &head);
            Detected::Skipped(shown, what)
        }
    }
}

fn parse_one(c: &Candidate, format: Format, ctx: &ParseContext<'_>) -> SourceBatch {
    let shown = c.path.display().to_string();
    let bytes = match std::fs::read(&c.path) {
        Ok(b) => b,
        Err(e) => {
            return SourceBatch {
                unparsed: None,
                prepared: None,
                path: shown.clone(),
                format: format.name().to_string(),
                scope: format!("{}:{shown}", format.name()),
                sha256: None,
                observed_at: None,
                records: 0,
                facts: Vec::new(),
                errors: vec![InputError::new(
                    "ingest",
                    &shown,
                    Location::File,
                    format!("cannot read the file: {e}"),
                )],
            }
        }
    };
    let parsed = parse(
        format,
        &SourceFile {
            path: &shown,
            bytes: &bytes,
        },
        ctx,
    );
    SourceBatch {
        unparsed: None,
        prepared: None,
        path: shown,
        format: format.name().to_string(),
        scope: parsed.scope,
        sha256: Some(format!("{:x}", Sha256::digest(&bytes))),
        observed_at: parsed.observed_at,
        records: parsed.records,
        facts: parsed.facts,
        errors: parsed.errors,
    }
}

/// How much input one chunk parses before it is written: bounds memory.
const CHUNK_BYTES: u64 = 64 * 1024 * 1024;

/// Reads every input into the store as one snapshot (see the module's
/// documentation for the order). Unreadable inputs and bad records are
/// reported in the result and stored with the snapshot; everything else is
/// stored.
pub fn run(
    store: &mut dyn Store,
    inputs: &[PathBuf],
    progress: &dyn Progress,
) -> Result<IngestOutput> {
    run_snapshot(store, inputs, progress, &[], Vec::new())
}

/// A folder whose files' paths are not part of what they are about: a
/// dated collection (`…/collect/aws/20261205T101500Z`) stands for the
/// same scopes as the previous one. Scopes that name a file's path name it
/// under `label` instead, so a later collection supersedes an earlier
/// one's; provenance still cites the real file.
pub struct StableRoot<'a> {
    pub root: &'a Path,
    pub label: &'a str,
    /// Folders under `root` (`github/repos/acme/`) this collection is the
    /// whole of: what an earlier collection beside it (a sibling of `root`)
    /// read there and this one did not is gone from the system, and is
    /// retired — except under `keeps` (listings its credential could not
    /// read). Empty for a collection written elsewhere (`--out`).
    pub covers: &'a [String],
    pub keeps: &'a [String],
}

/// [`run`], with the scopes of files under each of `stable` named as
/// [`StableRoot`] says, and `extra` sources (fingerprints of secret values a
/// collection read in memory) stored in the same snapshot.
pub fn run_snapshot(
    store: &mut dyn Store,
    inputs: &[PathBuf],
    progress: &dyn Progress,
    stable: &[StableRoot<'_>],
    extra: Vec<SourceBatch>,
) -> Result<IngestOutput> {
    // A collection in the usual layout (`…/collect/<system>/<time>/`) speaks
    // for what earlier collections beside it held.
    let covered: Vec<custody_store::Covered> = stable
        .iter()
        .filter_map(|s| Some((s, s.root.parent()?)))
        .flat_map(|(s, parent)| {
            let sep = std::path::MAIN_SEPARATOR;
            let under = format!(
                "{}{sep}",
                parent.display().to_string().trim_end_matches(sep)
            );
            s.covers.iter().map(move |c| custody_store::Covered {
                under: under.clone(),
                cover: c.clone(),
                except: s.keeps.to_vec(),
            })
        })
        .collect();
    let stable_prefixes: Vec<(String, String)> = stable
        .iter()
        // With the separator: `…/20261205T101500Z` must not match `…/20261205T101500Z-2`.
        .map(|s| {
            let root = s.root.display().to_string();
            let sep = std::path::MAIN_SEPARATOR;
            (
                format!("{}{sep}", root.trim_end_matches(sep)),
                format!("{}/", s.label),
            )
        })
        .collect();
    let started = Instant::now();
    let fp = store.fingerprinter().clone();
    let mut errors = Vec::new();
    // Hidden folders are not exports (`.github`, `.cursor`, `.vscode`), but
    // what scan reads there is worth a word: walked once, kept apart.
    let walked = candidates(inputs, Hidden::Apart, "ingest");
    errors.extend(walked.errors);
    let hidden = walked.hidden;
    let detected: Vec<Detected> = walked.files.into_par_iter().map(detect_one).collect();
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let mut logs = Vec::new();
    let mut for_scan = Vec::new();
    for d in detected {
        match d {
            Detected::Format(c, f, len) => files.push((c, f, len)),
            Detected::Log(l) => logs.push(l),
            Detected::Skipped(p, Some(what)) => for_scan.push(ForScan { path: p, what }),
            Detected::Skipped(p, None) => skipped.push(p),
            Detected::Failed(e) => errors.push(e),
        }
    }
    for_scan.extend(hidden_for_scan(hidden));
    tracing::info!(
        "found {} export(s) and {} audit log(s) in {:.2}s",
        files.len(),
        logs.len(),
        started.elapsed().as_secs_f64()
    );
    // One system's exports of one folder (an AWS account) land in the same chunk,
    // so their facts resolve in memory; HR comes before the IdP, so a human's kind
    // comes from HR.
    let order = |f: Format| match f.system() {
        "aws" => 0,
        "hris" => 1,
        _ => 2,
    };
    files.sort_by(|a, b| {
        (order(a.1), a.0.path.parent(), a.1, &a.0.path).cmp(&(
            order(b.1),
            b.0.path.parent(),
            b.1,
            &b.0.path,
        ))
    });
    // A file whose content is that of the export holding its scope's live
    // assertions is not parsed again: the store marks what it said seen.
    let unparsed = unchanged_exports(store, &mut files)?;
    tracing::info!(
        "checked for unchanged exports in {:.2}s",
        started.elapsed().as_secs_f64()
    );
    let mut chunks: Vec<Vec<(Candidate, Format)>> = Vec::new();
    let mut size = 0u64;
    for (c, f, len) in files {
        if chunks.is_empty() || size + len > CHUNK_BYTES {
            chunks.push(Vec::new());
            size = 0;
        }
        size += len;
        if let Some(last) = chunks.last_mut() {
            last.push((c, f));
        }
    }
    // Access-key listings saved where no account id names them are placed
    // by their users' names, against the IAM users of this ingest and of
    // the database: the database's, read before the ingest starts.
    let mut users = UserAccounts::default();
    let unplaced = chunks.iter().flatten().any(|(c, f)| {
        *f == Format::AwsAccessKeys
            && custody_connectors::aws::account_from_path(&c.path.display().to_string()).is_none()
    });
    if unplaced {
        store.scan_key_prefix(USER_KEY_PREFIX, &mut |_, k| users.add(k))?;
    }
    let total_files: usize = chunks.iter().map(Vec::len).sum();
    progress.stage(
        "exports",
        Some((total_files + unparsed.len()) as u64),
        Unit::Files,
    );
    progress.advance(unparsed.len() as u64);
    let ctx = ParseContext { fingerprinter: &fp };
    let mut summaries: Vec<FileSummary> = Vec::new();
    let read_errors = std::mem::take(&mut errors);
    summaries.extend(unparsed.iter().map(|b| FileSummary {
        path: b.path.clone(),
        format: b.format.clone(),
        records: b.records,
        facts: b.unparsed.unwrap_or_default(),
        errors: 0,
    }));
    // Files not parsed go first: the store checks them against the database
    // as it was when the ingest began.
    let mut first: Vec<SourceBatch> = unparsed;
    if !read_errors.is_empty() {
        // Unreadable inputs are recorded with the snapshot like any input error.
        first.push(SourceBatch {
            unparsed: None,
            prepared: None,
            path: "(inputs)".into(),
            format: "ingest".into(),
            scope: format!(
                "ingest-errors:{}",
                chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
            ),
            sha256: None,
            observed_at: None,
            records: 0,
            facts: Vec::new(),
            errors: read_errors,
        });
    }
    let first = (!first.is_empty()).then_some(first);
    summaries.extend(extra.iter().map(|b| FileSummary {
        path: b.path.clone(),
        format: b.format.clone(),
        records: b.records,
        facts: b.facts.len(),
        errors: b.errors.len(),
    }));
    let extra = (!extra.is_empty()).then_some(extra);
    // Parse the next chunk on another thread while this one is written.
    // Logs are read (not stored) once every export is parsed, while the last
    // chunks are written and the indexes built, which leave a core idle.
    let log_files = logs.len();
    let known = if logs.is_empty() {
        Default::default()
    } else {
        store.usage_known_sources()?
    };
    // With exports to write, the store's stages are the ones shown; with
    // only logs, their reading is.
    let only_logs = chunks.is_empty() && first.is_none() && extra.is_none();
    let writer_failed = std::sync::atomic::AtomicBool::new(false);
    let (report, read_logs) = std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<SourceBatch>>(1);
        let (ctx, fp, known, writer_failed) = (&ctx, &fp, &known, &writer_failed);
        let reader = scope.spawn(move || {
            let mut held: Vec<SourceBatch> = Vec::new();
            for chunk in chunks {
                let mut batches: Vec<SourceBatch> = chunk
                    .par_iter()
                    .map(|(c, f)| {
                        let mut b = parse_one(c, *f, ctx);
                        if let Some((root, label)) = stable_prefixes
                            .iter()
                            .find(|(root, _)| b.scope.contains(root.as_str()))
                        {
                            b.scope = b.scope.replacen(root.as_str(), label.as_str(), 1);
                        }
                        // Scrubbed and serialised here, while the chunk before
                        // is written (a listing still to place: once placed).
                        if !(unplaced && custody_connectors::aws::access_keys::unplaced(&b.scope)) {
                            b.prepare(fp);
                        }
                        b
                    })
                    .collect();
                progress.advance(batches.len() as u64);
                tracing::debug!("chunk parsed at {:.2}s", started.elapsed().as_secs_f64());
                if unplaced {
                    for b in &batches {
                        users.learn(&b.facts);
                    }
                    let (wait, go): (Vec<_>, Vec<_>) = batches
                        .into_iter()
                        .partition(|b| custody_connectors::aws::access_keys::unplaced(&b.scope));
                    held.extend(wait);
                    batches = go;
                }
                if tx.send(batches).is_err() {
                    return None; // the writer stopped (an error): stop reading
                }
            }
            if !held.is_empty() {
                for b in &mut held {
                    custody_connectors::aws::access_keys::place(
                        &mut b.facts,
                        &mut b.errors,
                        &mut b.scope,
                        &b.path,
                        &|name| users.accounts(name),
                    );
                    b.prepare(fp);
                }
                let _ = tx.send(held);
            }
            drop(tx);
            if logs.is_empty() || writer_failed.load(std::sync::atomic::Ordering::Relaxed) {
                return None;
            }
            let shown: &dyn Progress = if only_logs {
                progress
            } else {
                &crate::progress::Quiet
            };
            Some(crate::logs::read_logs(logs, known, shown))
        });
        let parsed = rx.into_iter().inspect(|batches| {
            summaries.extend(batches.iter().map(|b| FileSummary {
                path: b.path.clone(),
                format: b.format.clone(),
                records: b.records,
                facts: b.facts.len(),
                errors: b.errors.len(),
            }))
        });
        let mut all = first.into_iter().chain(parsed).chain(extra).peekable();
        let report = if all.peek().is_none() && log_files > 0 {
            // Only audit logs: no snapshot of the graph.
            Ok(IngestReport::default())
        } else {
            store.ingest_authoritative(&mut all, &covered, &mut |p| store_progress(progress, p))
        };
        if report.is_err() {
            writer_failed.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        drop(all);
        let read = reader
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (report, read)
    });
    let report = report?;
    progress.done();
    let mut report = report;
    let pending = interrupted(store)?;
    report.warnings.extend(
        pending
            .iter()
            .filter(|(id, _)| *id != report.snapshot)
            .map(|(_, w)| w.clone()),
    );
    // Logs after the exports: alerts read the graph this ingest just updated.
    // They commit on their own, so the snapshot says they are pending until
    // they are counted: an interrupted run shows, and the next ingest of the
    // same files counts them (a file is counted once, by its content).
    let logs = if let Some(read) = read_logs {
        let snapshot = report.snapshot;
        if snapshot > 0 {
            store.snapshot_note(
                snapshot,
                "audit_logs",
                serde_json::json!({"status": "pending", "files": log_files}),
            )?;
            failpoint("after-exports");
        }
        crate::progress::step(progress, "audit logs");
        let summary = crate::logs::store_logs(store, read, progress)?;
        if snapshot > 0 {
            store.snapshot_note(
                snapshot,
                "audit_logs",
                serde_json::json!({"status": "counted", "files": summary.files, "events": summary.events}),
            )?;
            // Logs an interrupted run left were read again here (a file
            // already counted is skipped): it is said once, not every time.
            for (id, _) in pending.iter().filter(|(id, _)| *id < snapshot) {
                store.snapshot_note(
                    *id,
                    "audit_logs",
                    serde_json::json!({"status": "interrupted", "logs_read_again_in": snapshot}),
                )?;
            }
        }
        Some(summary)
    } else {
        None
    };
    Ok(IngestOutput {
        snapshot: report.snapshot,
        logs,
        elapsed_seconds: started.elapsed().as_secs_f64(),
        files: summaries,
        skipped,
        for_scan,
        report,
    })
}

/// Takes out of `files` those whose path and content hash are those of the
/// export holding their scope's live assertions, as batches not parsed.
fn unchanged_exports(
    store: &dyn Store,
    files: &mut Vec<(Candidate, Format, u64)>,
) -> Result<Vec<SourceBatch>> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let current = store.current_exports()?;
    if current.is_empty() {
        return Ok(Vec::new());
    }
    let same: Vec<Option<SourceBatch>> = files
        .par_iter()
        .map(|(c, f, _)| {
            let shown = c.path.display().to_string();
            let known = current.get(&shown)?;
            let bytes = std::fs::read(&c.path).ok()?;
            let sha256 = format!("{:x}", Sha256::digest(&bytes));
            (sha256 == known.sha256).then(|| SourceBatch {
                unparsed: Some(known.facts),
                prepared: None,
                path: shown,
                format: f.name().to_string(),
                scope: known.scope.clone(),
                sha256: Some(sha256),
                observed_at: known.observed_at.clone(),
                records: known.records,
                facts: Vec::new(),
                errors: Vec::new(),
            })
        })
        .collect();
    let mut out = Vec::new();
    let mut same = same.into_iter();
    files.retain(|_| match same.next().flatten() {
        Some(b) => {
            out.push(b);
            false
        }
        None => true,
    });
    Ok(out)
}

/// Which of the files inside hidden folders of the input folders `custody
/// scan` reads (ingest does not).
fn hidden_for_scan(hidden: Vec<Candidate>) -> Vec<ForScan> {
    hidden
        .into_par_iter()
        .filter_map(|c| {
            // By path first; only JSON and TOML (a copied MCP configuration,
            // a key file) are opened: hidden folders can be large.
            let shown = c.path.display().to_string();
            let what = custody_scan::structured::scan_reads(&shown, b"").or_else(|| {
                let ext = c.path.extension().and_then(|e| e.to_str()).unwrap_or("");
                ["json", "toml"]
                    .contains(&ext)
                    .then(|| read_head(&c.path).map(|(h, _)| h).unwrap_or_default())
                    .and_then(|head| custody_scan::structured::scan_reads(&shown, &head))
            })?;
            Some(ForScan { path: shown, what })
        })
        .collect()
}

/// How IAM users are keyed by account and name (`id:aws-iam-user/<account>/<name>`).
const USER_KEY_PREFIX: &str = "id:aws-iam-user/";

/// The accounts that have an IAM user of each name: the database's and
/// this ingest's.
#[derive(Default)]
struct UserAccounts {
    by_name: std::collections::HashMap<String, std::collections::BTreeSet<String>>,
}

impl UserAccounts {
    fn add(&mut self, key: &str) {
        let Some((account, name)) = key
            .strip_prefix(USER_KEY_PREFIX)
            .and_then(|rest| rest.split_once('/'))
        else {
            return;
        };
        if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) {
            self.by_name
                .entry(name.to_string())
                .or_default()
                .insert(account.to_string());
        }
    }

    fn learn(&mut self, facts: &[custody_model::Fact]) {
        for f in facts {
            if let custody_model::Fact::Node(n) = f {
                for k in &n.keys {
                    self.add(k.as_str());
                }
            }
        }
    }

    fn accounts(&self, name: &str) -> Vec<String> {
        self.by_name
            .get(name)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// Snapshots whose audit logs were interrupted before they were counted,
/// with the warning to give.
fn interrupted(store: &dyn Store) -> Result<Vec<(i64, String)>> {
    Ok(store
        .snapshots()?
        .iter()
        .filter(|s| {
            s.summary.pointer("/audit_logs/status").and_then(|v| v.as_str()) == Some("pending")
        })
        .map(|s| {
            (
                s.id,
                format!(
                    "snapshot {} stopped before its audit logs were counted: ingest those logs again (files already counted are skipped)",
                    s.id
                ),
            )
        })
        .collect())
}

/// A fault-injection point for the crash-consistency tests:
/// `CUSTODY_FAILPOINT=<name>` kills the process there, as `kill -9` would.
fn failpoint(name: &str) {
    if std::env::var(custody_store::FAILPOINT_ENV).is_ok_and(|v| v == name) {
        std::process::abort();
    }
}

/// The store's progress while it writes, as notes on the current stage.
pub(crate) fn store_progress(progress: &dyn Progress, p: custody_store::Progress) {
    use custody_store::Progress as P;
    match p {
        P::Chunk { .. } => {}
        P::Resolving { facts } => progress.note(&format!("resolving {facts} facts")),
        P::Writing { .. } => progress.note("writing"),
        P::Finishing => progress.note("finishing"),
    }
}

impl IngestOutput {
    /// Some input was reported and skipped (the command exits 1).
    pub fn had_errors(&self) -> bool {
        !self.report.errors.is_empty() || self.logs.as_ref().is_some_and(|l| !l.errors.is_empty())
    }
}
