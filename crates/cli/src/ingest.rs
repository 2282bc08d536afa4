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
    pub elapsed_seconds: f64,
    pub files: Vec<FileSummary>,
    pub skipped: Vec<String>,
    pub report: IngestReport,
}

struct Candidate {
    path: PathBuf,
    explicit: bool,
}

const SKIP_DIRS: &[&str] = &[".git", "target", "node_modules", ".terraform"];
const DATA_EXTENSIONS: &[&str] = &["json", "jsonl", "csv", "ndjson"];

fn walk(dir: &Path, out: &mut Vec<Candidate>, errors: &mut Vec<InputError>) {
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
            if !SKIP_DIRS.contains(&name.as_str()) && !name.starts_with('.') {
                walk(&p, out, errors);
            }
        } else if ft.is_file() {
            out.push(Candidate {
                path: p,
                explicit: false,
            });
        }
    }
}

fn is_csv(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

enum Loaded {
    Parsed(SourceBatch),
    Skipped(String),
    Failed(InputError),
}

fn load(c: &Candidate, ctx: &ParseContext<'_>) -> Loaded {
    let shown = c.path.display().to_string();
    let bytes = match std::fs::read(&c.path) {
        Ok(b) => b,
        Err(e) => {
            return Loaded::Failed(InputError::new(
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
    let format = match detect(&shown, &bytes) {
        Some(f) => f,
        None if bytes.iter().all(|b| b.is_ascii_whitespace()) && (c.explicit || data_like) => {
            return Loaded::Failed(InputError::new(
                "ingest",
                &shown,
                Location::File,
                "the file is empty",
            ))
        }
        // A CSV in an export folder is tabular export data: say why it was not read.
        None if is_csv(&c.path) => {
            return Loaded::Failed(InputError::new(
                "ingest",
                &shown,
                Location::Line(1),
                "CSV header not recognised: expected an IAM credential report (user,arn,user_creation_time,…) \
                 or an HR roster (an e-mail column and one of status, manager_email, department, title, termination_date)",
            ))
        }
        None if c.explicit => {
            return Loaded::Failed(InputError::new(
                "ingest",
                &shown,
                Location::File,
                "format not recognised (see docs/CONNECTORS.md for the formats custody reads)",
            ))
        }
        None => return Loaded::Skipped(shown),
    };
    let parsed = parse(
        format,
        &SourceFile {
            path: &shown,
            bytes: &bytes,
        },
        ctx,
    );
    Loaded::Parsed(SourceBatch {
        path: shown,
        format: format.name().to_string(),
        scope: parsed.scope,
        sha256: Some(format!("{:x}", Sha256::digest(&bytes))),
        observed_at: parsed.observed_at,
        records: parsed.records,
        facts: parsed.facts,
        errors: parsed.errors,
    })
}

/// Reads, detects and parses every input; returns batches in a stable order
/// (by format, then path: HR before IdP, so a human's kind comes from HR).
pub fn read_inputs(
    inputs: &[PathBuf],
    quiet: bool,
) -> Result<(Vec<SourceBatch>, Vec<String>, Vec<InputError>)> {
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
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(candidates.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} reading  [{bar:30}] {pos}/{len} files {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let ctx = ParseContext { fingerprinter: &fp };
    let loaded: Vec<Loaded> = candidates
        .par_iter()
        .map(|c| {
            let l = load(c, &ctx);
            bar.inc(1);
            l
        })
        .collect();
    bar.finish_and_clear();
    let mut batches = Vec::new();
    let mut skipped = Vec::new();
    for l in loaded {
        match l {
            Loaded::Parsed(b) => batches.push(b),
            Loaded::Skipped(p) => skipped.push(p),
            Loaded::Failed(e) => errors.push(e),
        }
    }
    let rank = |b: &SourceBatch| Format::from_name(&b.format);
    batches.sort_by(|a, b| (rank(a), &a.path).cmp(&(rank(b), &b.path)));
    Ok((batches, skipped, errors))
}

pub fn ingest(store: &mut dyn Store, inputs: &[PathBuf], quiet: bool) -> Result<IngestOutput> {
    let started = Instant::now();
    let (mut batches, skipped, read_errors) = read_inputs(inputs, quiet)?;
    if !read_errors.is_empty() {
        // Unreadable inputs are recorded with the snapshot like any input error.
        batches.push(SourceBatch {
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
    let files: Vec<FileSummary> = batches
        .iter()
        .filter(|b| b.format != "ingest")
        .map(|b| FileSummary {
            path: b.path.clone(),
            format: b.format.clone(),
            records: b.records,
            facts: b.facts.len(),
            errors: b.errors.len(),
        })
        .collect();
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report = store.ingest(batches, &mut |p| match p {
        Progress::Resolving { facts } => bar.set_message(format!("resolving {facts} facts")),
        Progress::Writing { done, total } => {
            bar.set_message("writing");
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
        Progress::Finishing => bar.set_message("finishing"),
    })?;
    bar.finish_and_clear();
    Ok(IngestOutput {
        snapshot: report.snapshot,
        elapsed_seconds: started.elapsed().as_secs_f64(),
        files,
        skipped,
        report,
    })
}

pub fn run(cli: &Cli, args: &IngestArgs) -> Result<ExitCode> {
    let mut store = paths::open_store(cli)?;
    let out = ingest(&mut store, &args.paths, cli.quiet)?;
    let failed = !out.report.errors.is_empty();
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
    let rows: Vec<Vec<String>> = stats
        .nodes_by_kind
        .iter()
        .map(|(l, k, n)| vec![l.clone(), k.clone(), n.to_string()])
        .collect();
    output::table(&["LABEL", "KIND", "NODES"], &rows);
    println!();
    let rows: Vec<Vec<String>> = stats
        .edges_by_kind
        .iter()
        .map(|(k, n)| vec![k.clone(), n.to_string()])
        .collect();
    output::table(&["EDGE", "COUNT"], &rows);
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
