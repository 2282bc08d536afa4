//! `custody bench`: parses the options, runs one of `custody_app::bench`'s
//! benchmarks (sizes of the synthetic company, CloudTrail, real-shaped
//! audit logs) and prints its figures.

use crate::global::{Global, OutputFormat};
use crate::output;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct BenchArgs {
    /// Company sizes to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    pub people: Vec<usize>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Working folder: what a benchmark writes is kept there (the synthetic
    /// companies and their databases; the audit-log files, reused by the
    /// next run). Default: a temporary folder, removed afterwards.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Instead: the CloudTrail benchmark on about this many synthetic events
    /// (gzipped delivery files of a `--people` company): gzip and parsing
    /// measured apart on one core, `jq -c '.Records[]'` on the same files, and
    /// the whole `custody ingest` of them.
    #[arg(long, value_name = "EVENTS")]
    pub cloudtrail_events: Option<usize>,
    /// For `--cloudtrail-events`: how many of the events jq reads (it is slow;
    /// custody is timed on the same files for the ratio).
    #[arg(long, value_name = "EVENTS", default_value_t = 1_000_000)]
    pub jq_events: usize,
    /// Instead: the audit-log benchmark on files shaped like a busy estate's
    /// (100 KB–10 MB, gzipped and plain, compact and pretty-printed, thousands
    /// of callers, addresses and clients, service callers, errors): about
    /// this many CloudTrail events and a fifth as many of each other log.
    /// Each format is ingested on one worker and on all, jq reads
    /// `--jq-events` of the same files, and the floor (read, hash, gunzip,
    /// parse on one thread, nothing folded) is timed.
    #[arg(long, value_name = "EVENTS")]
    pub logs: Option<usize>,
    /// For `--logs`: only these formats (`aws-cloudtrail`, `okta-system-log`…).
    #[arg(long, value_delimiter = ',', value_name = "FORMAT")]
    pub formats: Vec<String>,
    /// For `--logs`: the custody executable whose ingest is measured
    /// (default: this one), to compare two builds on the same files.
    #[arg(long, value_name = "PATH")]
    pub exe: Option<PathBuf>,
    /// Instead: re-ingest at the first `--people` size. The company is
    /// ingested into a new database; then, each into a copy of it, the same
    /// estate exported the next day (last-used times of the week moved on)
    /// and the next day with every other export file rewritten too.
    #[arg(long)]
    pub reingest: bool,
}

pub fn run(cli: &Global, a: &BenchArgs) -> Result<ExitCode> {
    if let Some(n) = a.cloudtrail_events {
        return cloudtrail(cli, a, n);
    }
    if let Some(n) = a.logs {
        return logs(cli, a, n);
    }
    if a.reingest {
        return reingest(cli, a);
    }
    let (_tmp, root) = work_dir(a)?;
    let rows = custody_app::bench::sizes(
        &std::env::current_exe()?,
        &root,
        &a.people,
        a.seed,
        a.dir.is_some(),
        &notes(cli),
    )?;
    print_rows(
        cli,
        &rows,
        &[
            "PEOPLE",
            "NHIS",
            "FILES/MB",
            "SYNTH S",
            "INGEST S",
            "FACTS",
            "FACTS/S",
            "NODES",
            "EDGES",
            "PEAK RSS MB",
            "DB MB",
        ],
        |r| {
            vec![
                r.people.to_string(),
                r.nhis_generated.to_string(),
                format!("{} / {:.0}", r.files, r.megabytes),
                format!("{:.1}", r.synth_seconds),
                format!("{:.1}", r.ingest_seconds),
                r.facts.to_string(),
                format!("{:.0}", r.facts_per_second),
                r.nodes.to_string(),
                r.edges.to_string(),
                format!("{:.0}", r.ingest_peak_rss_mb),
                format!("{:.0}", r.db_megabytes),
            ]
        },
    )
}

fn cloudtrail(cli: &Global, a: &BenchArgs, events: usize) -> Result<ExitCode> {
    let (_tmp, dir) = work_dir(a)?;
    let o = custody_app::bench::TrailOptions {
        exe: std::env::current_exe()?,
        dir,
        people: a.people.first().copied().unwrap_or(1000),
        seed: a.seed,
        events,
        jq_events: a.jq_events,
    };
    let out = custody_app::bench::cloudtrail(&o, &notes(cli))?;
    match cli.format {
        OutputFormat::Json => output::json(&out)?,
        OutputFormat::Table => {
            let o = &out;
            println!(
                "CloudTrail: {} events in {} files ({:.0} MB gzipped, {:.0} MB JSON)",
                o.events, o.files, o.gzip_megabytes, o.json_megabytes
            );
            println!(
                "  gunzip (1 core)           {:>8.2} s  {:>10.0} MB/s",
                o.gunzip_seconds, o.gunzip_mb_per_second
            );
            println!(
                "  parse (1 core)            {:>8.2} s  {:>10.0} events/s  {:.0} MB/s",
                o.parse_seconds, o.parse_events_per_second, o.parse_mb_per_second
            );
            println!(
                "  parse + profile (1 core)  {:>8.2} s  {:>10.0} events/s",
                o.profile_seconds, o.profile_events_per_second
            );
            match (o.jq_seconds, o.speedup_over_jq) {
                (Some(j), Some(x)) => println!(
                    "  jq -c '.Records[]'        {:>8.2} s  on {} events; custody on the same files {:.2} s: {x:.1}x faster",
                    j, o.jq_events, o.custody_seconds_same_files
                ),
                _ => println!("  jq: not available"),
            }
            println!("  custody ingest (all cores, gzip, profiles, alerts, store) {:.1} s: {:.0} events/s, peak RSS {:.0} MB", o.ingest_seconds, o.ingest_events_per_second, o.ingest_peak_rss_mb);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn logs(cli: &Global, a: &BenchArgs, events: usize) -> Result<ExitCode> {
    let (_tmp, dir) = work_dir(a)?;
    std::fs::create_dir_all(&dir)?;
    let o = custody_app::bench::LogBenchOptions {
        exe: a.exe.clone().map_or_else(std::env::current_exe, Ok)?,
        dir,
        events,
        seed: a.seed,
        formats: a.formats.clone(),
        jq_events: if a.jq_events == 1_000_000 {
            // The default is CloudTrail's; the logs benchmark reads fewer.
            100_000
        } else {
            a.jq_events
        },
        threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
    };
    let rows = custody_app::bench::logs(&o, &notes(cli))?;
    print_rows(
        cli,
        &rows,
        &[
            "FORMAT",
            "FILES",
            "EVENTS",
            "MB DISK/JSON",
            "EVENTS/S/CORE",
            "MB/S/CORE",
            "ALL CORES EVENTS/S",
            "JQ EVENTS/S",
            "VS JQ",
            "FLOOR: BYTES / +PARSE",
        ],
        |r| {
            vec![
                r.format.clone(),
                format!(
                    "{} ({} gz, {} pretty)",
                    r.files, r.gzip_files, r.pretty_files
                ),
                format!("{} ({} counted)", r.events, r.events_read),
                format!("{:.0} / {:.0}", r.disk_mb, r.json_mb),
                format!("{:.0}", r.one_core.events_per_core_second),
                format!("{:.0}", r.one_core.mb_per_core_second),
                format!(
                    "{:.0} ({:.1} s, {:.0} MB)",
                    r.all_cores.events_per_second, r.all_cores.seconds, r.all_cores.peak_rss_mb
                ),
                r.jq.as_ref()
                    .map_or("-".into(), |j| format!("{:.0}", j.events_per_second)),
                r.times_jq.map_or("-".into(), |x| format!("{x:.1}x")),
                format!(
                    "{:.0} / {:.0}",
                    r.bytes_events_per_core_second, r.parsed_events_per_core_second
                ),
            ]
        },
    )
}

fn reingest(cli: &Global, a: &BenchArgs) -> Result<ExitCode> {
    let (_tmp, root) = work_dir(a)?;
    let people = a.people.first().copied().unwrap_or(1000);
    let rows = custody_app::bench::reingest(
        &std::env::current_exe()?,
        &root,
        people,
        a.seed,
        a.dir.is_some(),
        &notes(cli),
    )?;
    print_rows(
        cli,
        &rows,
        &[
            "CASE",
            "FILES",
            "UNCHANGED",
            "FACTS WRITTEN",
            "FACTS KEPT",
            "NODES UPDATED",
            "SECONDS",
            "CPU S",
            "PEAK RSS MB",
        ],
        |r| {
            vec![
                r.case.clone(),
                r.files.to_string(),
                r.files_unchanged.to_string(),
                r.facts_written.to_string(),
                r.facts_unchanged.to_string(),
                r.nodes_updated.to_string(),
                format!("{:.1}", r.seconds),
                format!("{:.1}", r.cpu_seconds),
                format!("{:.0}", r.peak_rss_mb),
            ]
        },
    )
}

/// Progress notes on stderr, unless `--quiet`.
fn notes(cli: &Global) -> impl Fn(&str) {
    let quiet = cli.quiet;
    move |m: &str| {
        if !quiet {
            eprintln!("bench: {m}");
        }
    }
}

/// The rows as JSON, or as a table of `headers` with one `row` each.
fn print_rows<T: serde::Serialize>(
    cli: &Global,
    rows: &[T],
    headers: &[&str],
    row: impl Fn(&T) -> Vec<String>,
) -> Result<ExitCode> {
    match cli.format {
        OutputFormat::Json => output::json(&rows)?,
        OutputFormat::Table => output::table(headers, &rows.iter().map(row).collect::<Vec<_>>()),
    }
    Ok(ExitCode::SUCCESS)
}

/// `--dir`, or a temporary folder removed when the guard is dropped.
fn work_dir(a: &BenchArgs) -> Result<(Option<tempfile::TempDir>, PathBuf)> {
    Ok(match &a.dir {
        Some(d) => (None, d.clone()),
        None => {
            let tmp = tempfile::tempdir()?;
            let path = tmp.path().to_path_buf();
            (Some(tmp), path)
        }
    })
}
