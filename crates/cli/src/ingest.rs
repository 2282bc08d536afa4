//! `custody ingest PATH...`: detect, parse (in parallel), resolve and store as one snapshot.

use crate::global::{Global, OutputFormat};
use crate::{output, paths};
use anyhow::Result;
use clap::Args;
use custody_app::ingest::IngestOutput;
use custody_app::logs::LogSummary;
use custody_store::Store;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct IngestArgs {
    /// Files or folders of native exports. Folders are read recursively; files whose
    /// format is not recognised there are skipped (named ones are an error).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

pub fn run(cli: &Global, args: &IngestArgs) -> Result<ExitCode> {
    let mut store = paths::open_store(cli)?;
    let out = custody_app::ingest::run(&mut store, &args.paths, &cli.progress())?;
    let failed = out.had_errors();
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
    if r.files_unchanged + r.facts_unchanged > 0 {
        println!(
            "  {} file(s) unchanged since the last ingest of their scope, and {} fact(s) of changed files stated as before: kept and marked seen, not rewritten.",
            r.files_unchanged, r.facts_unchanged
        );
    }
    if r.secrets_redacted > 0 {
        println!(
            "  {} secret-shaped value(s) in the input were redacted before storage.",
            r.secrets_redacted
        );
    }
    if !out.for_scan.is_empty() {
        println!(
            "  {} file(s) are read by `custody scan`, not ingest (run `custody scan` on the same folders):",
            out.for_scan.len()
        );
        for f in out.for_scan.iter().take(20) {
            println!("    {}: {}", f.path, f.what);
        }
        if out.for_scan.len() > 20 {
            println!(
                "    … and {} more (--format json lists all)",
                out.for_scan.len() - 20
            );
        }
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

fn print_logs(l: &LogSummary) {
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
