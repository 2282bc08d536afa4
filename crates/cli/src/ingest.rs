//! `custody ingest PATH...`: detect, parse (in parallel), resolve and store as one snapshot.

use crate::{output, paths, Cli, OutputFormat};
use anyhow::Result;
use clap::Args;
use custody_connectors::{detect, parse, Format, ParseContext, SourceFile};
use custody_model::{InputError, Location};
use custody_store::{IngestReport, Progress, SourceBatch, Store};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Args)]
pub struct IngestArgs {
    /// Files or folders of native exports. Folders are read recursively; files whose
    /// format is not recognised there are skipped (named ones are an error).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

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
    pub logs: Option<crate::usage::LogSummary>,
    pub elapsed_seconds: f64,
    pub files: Vec<FileSummary>,
    pub skipped: Vec<String>,
    pub report: IngestReport,
}

pub(crate) struct Candidate {
    pub(crate) path: PathBuf,
    pub(crate) explicit: bool,
}

pub(crate) const SKIP_DIRS: &[&str] = &[".git", "target", "node_modules", ".terraform"];
const DATA_EXTENSIONS: &[&str] = &["json", "jsonl", "csv", "ndjson", "gz", "log"];

pub(crate) fn walk(dir: &Path, out: &mut Vec<Candidate>, errors: &mut Vec<InputError>) {
    walk_with(dir, out, errors, false)
}

/// [`walk`], optionally into hidden folders (`.vscode`, `.cursor`, `.github`:
/// where a secret scan must look); `.git` and build output are always skipped.
pub(crate) fn walk_with(
    dir: &Path,
    out: &mut Vec<Candidate>,
    errors: &mut Vec<InputError>,
    hidden: bool,
) {
    let mut entries: Vec<_> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok()).collect(),
        Err(e) => {
            errors.push(InputError::new(
                "ingest",
                &dir.display().to_string(),
                Location::File,
                format!("cannot read the folder: {e}"),
            ));
            return;
        }
    };
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        let name = e.file_name().to_string_lossy().to_string();
        if ft.is_dir() {
            if !SKIP_DIRS.contains(&name.as_str())
                && (hidden || !name.starts_with('.'))
                && !is_bare_repo(&p)
            {
                walk_with(&p, out, errors, hidden);
            }
        } else if ft.is_file() {
            out.push(Candidate {
                path: p,
                explicit: false,
            });
        }
    }
}

/// A bare git repository (`git clone --mirror`): its files are git's objects,
/// not exports; `scan --git` reads its history.
pub(crate) fn is_bare_repo(dir: &Path) -> bool {
    dir.join("HEAD").is_file() && dir.join("objects").is_dir() && dir.join("refs").is_dir()
}

fn is_csv(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// What one file's head says it is.
enum Detected {
    Format(Candidate, Format, u64),
    Log(crate::usage::LogFile),
    Skipped(String),
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
    let content = crate::usage::head_of(&head, 8 * 1024);
    if crate::usage::is_gzip(&head) && content.is_empty() {
        return Detected::Failed(InputError::new(
            "ingest",
            &shown,
            Location::File,
            "cannot decompress: a corrupt or truncated gzip file",
        ));
    }
    if let Some(format) = custody_connectors::audit::detect(&content) {
        return Detected::Log(crate::usage::LogFile {
            path: c.path,
            format,
            len,
        });
    }
    if crate::usage::is_gzip(&head) {
        return if c.explicit {
            Detected::Failed(InputError::new(
                "ingest",
                &shown,
                Location::File,
                "a gzip file that is not an audit log custody reads (see docs/CONNECTORS.md)",
            ))
        } else {
            Detected::Skipped(shown)
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
        None if c.explicit => Detected::Failed(InputError::new(
            "ingest",
            &shown,
            Location::File,
            "format not recognised (see docs/CONNECTORS.md for the formats custody reads)",
        )),
        None => Detected::Skipped(shown),
    }
}

fn parse_one(c: &Candidate, format: Format, ctx: &ParseContext<'_>) -> SourceBatch {
    let shown = c.path.display().to_string();
    let bytes = match std::fs::read(&c.path) {
        Ok(b) => b,
        Err(e) => {
            return SourceBatch {
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

/// Reads every input into the store as one snapshot. Files are recognised from
/// their first 64 KiB, ordered by system, folder and format (HR before the IdP, so a human's
/// kind comes from HR), and parsed in parallel in chunks of about 64 MiB, each
/// written before the next is read.
pub fn ingest(store: &mut dyn Store, inputs: &[PathBuf], quiet: bool) -> Result<IngestOutput> {
    let started = Instant::now();
    let fp = paths::fingerprinter()?;
    let mut candidates = Vec::new();
    let mut errors = Vec::new();
    for p in inputs {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => walk(p, &mut candidates, &mut errors),
            Ok(_) => candidates.push(Candidate {
                path: p.clone(),
                explicit: true,
            }),
            Err(e) => errors.push(InputError::new(
                "ingest",
                &p.display().to_string(),
                Location::File,
                format!("cannot read: {e}"),
            )),
        }
    }
    let detected: Vec<Detected> = candidates.into_par_iter().map(detect_one).collect();
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let mut logs = Vec::new();
    for d in detected {
        match d {
            Detected::Format(c, f, len) => files.push((c, f, len)),
            Detected::Log(l) => logs.push(l),
            Detected::Skipped(p) => skipped.push(p),
            Detected::Failed(e) => errors.push(e),
        }
    }
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
    let total_files: usize = chunks.iter().map(Vec::len).sum();
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total_files as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:<24} [{bar:30}] {pos}/{len} files")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let ctx = ParseContext { fingerprinter: &fp };
    let mut summaries: Vec<FileSummary> = Vec::new();
    let read_errors = std::mem::take(&mut errors);
    let first: Option<Vec<SourceBatch>> = (!read_errors.is_empty()).then(|| {
        // Unreadable inputs are recorded with the snapshot like any input error.
        vec![SourceBatch {
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
        }]
    });
    // Parse the next chunk on another thread while this one is written.
    let report = std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<SourceBatch>>(1);
        let parser_bar = bar.clone();
        let ctx = &ctx;
        scope.spawn(move || {
            for chunk in chunks {
                let batches: Vec<SourceBatch> = chunk
                    .par_iter()
                    .map(|(c, f)| parse_one(c, *f, ctx))
                    .collect();
                parser_bar.inc(batches.len() as u64);
                if tx.send(batches).is_err() {
                    break; // the writer stopped (an error): stop reading
                }
            }
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
        let mut all = first.into_iter().chain(parsed).peekable();
        if all.peek().is_none() && !logs.is_empty() {
            // Only audit logs: no snapshot of the graph.
            return Ok(IngestReport::default());
        }
        store.ingest(&mut all, &mut |p| match p {
            Progress::Chunk { .. } => {}
            Progress::Resolving { facts } => bar.set_message(format!("resolving {facts} facts")),
            Progress::Writing { .. } => bar.set_message("writing"),
            Progress::Finishing => bar.set_message("finishing"),
        })
    })?;
    bar.finish_and_clear();
    // Logs after the exports: alerts read the graph this ingest just updated.
    let logs = if logs.is_empty() {
        None
    } else {
        Some(crate::usage::ingest_logs(store, logs, quiet)?)
    };
    Ok(IngestOutput {
        snapshot: report.snapshot,
        logs,
        elapsed_seconds: started.elapsed().as_secs_f64(),
        files: summaries,
        skipped,
        report,
    })
}

pub fn run(cli: &Cli, args: &IngestArgs) -> Result<ExitCode> {
    let mut store = paths::open_store(cli)?;
    let out = ingest(&mut store, &args.paths, cli.quiet)?;
    let failed =
        !out.report.errors.is_empty() || out.logs.as_ref().is_some_and(|l| !l.errors.is_empty());
    match cli.format {
        OutputFormat::Json => output::json(&out)?,
        OutputFormat::Table => print_summary(&out, &store)?,
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn print_summary(out: &IngestOutput, store: &dyn Store) -> Result<()> {
    let r = &out.report;
    if let Some(l) = &out.logs {
        print_logs(l);
        if out.files.is_empty() && r.errors.is_empty() {
            return Ok(());
        }
        println!();
    }
    println!(
        "Ingested {} file(s) as snapshot {} in {:.1}s: {} records, {} facts.",
        out.files.len(),
        out.snapshot,
        out.elapsed_seconds,
        r.records,
        r.facts
    );
    println!(
        "  nodes: {} new, {} updated, {} merged, {} retired · edges: {} new, {} retired",
        r.nodes_created,
        r.nodes_updated,
        r.nodes_merged,
        r.nodes_retired,
        r.edges_created,
        r.edges_retired
    );
    if r.files_unchanged > 0 {
        println!(
            "  {} file(s) unchanged since the last ingest of their scope: their facts were kept and marked seen.",
            r.files_unchanged
        );
    }
    if r.secrets_redacted > 0 {
        println!(
            "  {} secret-shaped value(s) in the input were redacted before storage.",
            r.secrets_redacted
        );
    }
    if !out.skipped.is_empty() {
        println!(
            "  {} file(s) skipped: format not recognised (run with -v to list them).",
            out.skipped.len()
        );
        for s in &out.skipped {
            tracing::info!("skipped {s}");
        }
    }
    let stats = store.stats()?;
    println!();
    output::kind_tables(&stats);
    for w in &r.warnings {
        println!("warning: {w}");
    }
    if !r.errors.is_empty() {
        println!();
        println!(
            "{} input error(s); everything else was stored:",
            r.errors.len()
        );
        for e in r.errors.iter().take(50) {
            println!("  {e}");
        }
        if r.errors.len() > 50 {
            println!(
                "  … and {} more (use --format json for all)",
                r.errors.len() - 50
            );
        }
    }
    Ok(())
}

fn print_logs(l: &crate::usage::LogSummary) {
    println!(
        "Read {} audit log file(s) in {:.1}s: {} events ({:.0}/s), {} without a customer identity; {} identities' usage profiles updated, {} new alert(s).",
        l.files - l.files_already_counted,
        l.seconds,
        l.events,
        l.events_per_second,
        l.events_unattributed,
        l.identities,
        l.alerts_raised
    );
    if l.files_already_counted > 0 {
        println!(
            "  {} file(s) were already counted by an earlier ingest (same content): skipped.",
            l.files_already_counted
        );
    }
    if l.alerts_raised > 0 {
        println!("  See them with `custody alerts`.");
    }
    if l.creations_recorded > 0 {
        println!(
            "  {} identity creation(s) recorded as ownership evidence (who created them; `custody owner`).",
            l.creations_recorded
        );
    }
    if !l.errors.is_empty() {
        println!(
            "{} problem(s) in the logs; everything else was counted:",
            l.errors.len()
        );
        for e in l.errors.iter().take(50) {
            println!("  {e}");
        }
        if l.errors.len() > 50 {
            println!(
                "  … and {} more (use --format json for all)",
                l.errors.len() - 50
            );
        }
    }
}
