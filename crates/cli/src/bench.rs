//! `custody bench`: synthesise and ingest at given sizes; time, throughput and the
//! ingest's peak resident memory (measured on a child process, so synthesis does
//! not count).

use crate::global::{Global, OutputFormat};
use crate::output;
use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

#[derive(Args)]
pub struct BenchArgs {
    /// Company sizes to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    pub people: Vec<usize>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Working folder (kept). Default: a temporary folder, removed afterwards.
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
    /// Each format is ingested on one worker and on all, and jq reads
    /// `--jq-events` of the same files.
    #[arg(long, value_name = "EVENTS")]
    pub logs: Option<usize>,
    /// For `--logs`: only these formats (`aws-cloudtrail`, `okta-system-log`…).
    #[arg(long, value_delimiter = ',', value_name = "FORMAT")]
    pub formats: Vec<String>,
    /// For `--logs`: the custody executable whose ingest is measured
    /// (default: this one), to compare two builds on the same files.
    #[arg(long, value_name = "PATH")]
    pub exe: Option<PathBuf>,
}

#[derive(Serialize)]
pub struct BenchRow {
    pub people: usize,
    pub nhis_generated: usize,
    pub files: usize,
    pub megabytes: f64,
    pub synth_seconds: f64,
    pub ingest_seconds: f64,
    pub nodes: u64,
    pub edges: u64,
    pub facts: u64,
    pub facts_per_second: f64,
    pub ingest_peak_rss_mb: f64,
    pub db_megabytes: f64,
}

/// Runs `cmd` to completion and returns (wall seconds, peak RSS in KiB, stdout).
fn measure(cmd: Command) -> Result<(f64, u64, String)> {
    let m = custody_app::bench::measure(cmd)?;
    Ok((m.seconds, (m.peak_rss_mb * 1024.0) as u64, m.stdout))
}

pub fn run(cli: &Global, a: &BenchArgs) -> Result<ExitCode> {
    if let Some(n) = a.cloudtrail_events {
        return cloudtrail(cli, a, n);
    }
    if let Some(n) = a.logs {
        return logs(cli, a, n);
    }
    let tmp;
    let root = match &a.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let exe = std::env::current_exe()?;
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).context("date")?;
    let mut rows = Vec::new();
    for &people in &a.people {
        let dir = root.join(format!("people-{people}"));
        let db = root.join(format!("people-{people}.db"));
        let _ = std::fs::remove_dir_all(&dir);
        for s in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{s}", db.display()));
        }
        if !cli.quiet {
            eprintln!("bench: synthesising {people} people…");
        }
        let t = Instant::now();
        let answers = custody_app::demo::synthesize(people, a.seed, as_of, &dir, None)?;
        let synth_seconds = t.elapsed().as_secs_f64();
        if !cli.quiet {
            eprintln!(
                "bench: ingesting {} files ({:.0} MB)…",
                answers.counts.files,
                answers.counts.bytes as f64 / 1e6
            );
        }
        let mut cmd = Command::new(&exe);
        cmd.arg("--db")
            .arg(&db)
            .arg("--format")
            .arg("json")
            .arg("--quiet")
            .arg("ingest")
            .arg(&dir);
        let (ingest_seconds, rss_kb, text) = measure(cmd)?;
        let v: serde_json::Value =
            serde_json::from_str(&text).context("the ingest process printed no JSON summary")?;
        let r = &v["report"];
        let facts = r["facts"].as_u64().unwrap_or(0);
        rows.push(BenchRow {
            people,
            nhis_generated: answers.counts.nhi_total,
            files: answers.counts.files,
            megabytes: (answers.counts.bytes as f64 / 1e6 * 10.0).round() / 10.0,
            synth_seconds: (synth_seconds * 100.0).round() / 100.0,
            ingest_seconds: (ingest_seconds * 100.0).round() / 100.0,
            nodes: r["nodes_created"].as_u64().unwrap_or(0),
            edges: r["edges_created"].as_u64().unwrap_or(0),
            facts,
            facts_per_second: (facts as f64 / ingest_seconds).round(),
            ingest_peak_rss_mb: (rss_kb as f64 / 1024.0).round(),
            db_megabytes: (std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0) as f64 / 1e6)
                .round(),
        });
        let _ = std::fs::remove_dir_all(&dir);
    }
    match cli.format {
        OutputFormat::Json => output::json(&rows)?,
        OutputFormat::Table => {
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
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
                })
                .collect();
            output::table(
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
                &table,
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
pub struct TrailBench {
    pub events: u64,
    pub files: usize,
    pub gzip_megabytes: f64,
    pub json_megabytes: f64,
    /// One core: gunzip alone. Parse times are the best of three runs per file.
    pub gunzip_seconds: f64,
    pub gunzip_mb_per_second: f64,
    /// One core: reading the events out of uncompressed JSON (no profiles).
    pub parse_seconds: f64,
    pub parse_events_per_second: f64,
    pub parse_mb_per_second: f64,
    /// One core: reading them into usage profiles.
    pub profile_seconds: f64,
    pub profile_events_per_second: f64,
    /// `jq -c '.Records[]'` on the first files (uncompressed), and custody
    /// (parse and profile, one core) on the same files.
    pub jq_events: u64,
    pub jq_seconds: Option<f64>,
    pub custody_seconds_same_files: f64,
    pub speedup_over_jq: Option<f64>,
    /// `custody ingest` of every file (all cores, gzip, profiles, alerts, store).
    pub ingest_seconds: f64,
    pub ingest_events_per_second: f64,
    pub ingest_peak_rss_mb: f64,
    pub bench_peak_rss_mb: f64,
}

fn find_gz(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            find_gz(&p, out);
        } else if p.to_string_lossy().ends_with(".json.gz") {
            out.push(p);
        }
    }
}

fn cloudtrail(cli: &Global, a: &BenchArgs, events: usize) -> Result<ExitCode> {
    use custody_connectors::audit::{self, LogFormat};
    let tmp;
    let root = match &a.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let people = a.people.first().copied().unwrap_or(1000);
    let dir = root.join("enterprise");
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).context("date")?;
    if !dir.join("answers.json").exists() {
        if !cli.quiet {
            eprintln!("bench: synthesising {people} people with ~{events} CloudTrail events…");
        }
        custody_app::demo::synthesize(people, a.seed, as_of, &dir, Some(events))?;
    }
    let mut files = Vec::new();
    find_gz(&dir.join("aws"), &mut files);
    let gz: Vec<Vec<u8>> = files
        .iter()
        .map(std::fs::read)
        .collect::<std::io::Result<_>>()?;
    let gz_bytes: usize = gz.iter().map(Vec::len).sum();
    if !cli.quiet {
        eprintln!(
            "bench: {} files, {:.0} MB gzipped; gunzip…",
            files.len(),
            gz_bytes as f64 / 1e6
        );
    }
    // One core, one file at a time, as a worker thread of ingest sees them.
    let mut gunzip_seconds = 0.0;
    let mut parse_seconds = 0.0;
    let mut profile_seconds = 0.0;
    let mut json_bytes = 0usize;
    let mut n_events = 0u64;
    let mut jq_files = Vec::new();
    let mut custody_same = 0.0;
    let jq_dir = root.join("jq");
    let _ = std::fs::remove_dir_all(&jq_dir);
    std::fs::create_dir_all(&jq_dir)?;
    for (i, (path, bytes)) in files.iter().zip(&gz).enumerate() {
        let t = Instant::now();
        let text = custody_app::logs::gunzip(bytes)?;
        gunzip_seconds += t.elapsed().as_secs_f64();
        json_bytes += text.len();
        let shown = path.display().to_string();
        // Best of three: the machine is shared.
        let mut r = audit::LogRead::default();
        let mut p = f64::MAX;
        let mut q = f64::MAX;
        for _ in 0..3 {
            let t = Instant::now();
            let mut seen = 0u64;
            r = audit::read(LogFormat::CloudTrail, &shown, &text, &mut |ev, _| {
                seen += ev.time as u64 & 1;
            });
            p = p.min(t.elapsed().as_secs_f64());
            std::hint::black_box(seen);
            let t = Instant::now();
            let mut tally = custody_analysis::usage::Tally::default();
            audit::read(LogFormat::CloudTrail, &shown, &text, &mut |ev, at| {
                tally.add(ev, &shown, &at)
            });
            q = q.min(t.elapsed().as_secs_f64());
            std::hint::black_box(&tally);
        }
        parse_seconds += p;
        profile_seconds += q;
        n_events += r.events;
        if (n_events as usize) <= a.jq_events || i == 0 {
            let f = jq_dir.join(format!("{i}.json"));
            std::fs::write(&f, &text)?;
            jq_files.push(f);
            custody_same += q;
        }
    }
    let jq_events: u64 = {
        let mut n = 0;
        for f in &jq_files {
            let t = std::fs::read(f)?;
            n += audit::read(LogFormat::CloudTrail, "", &t, &mut |_, _| {}).events;
        }
        n
    };
    if !cli.quiet {
        eprintln!(
            "bench: jq on {} files ({jq_events} events)…",
            jq_files.len()
        );
    }
    let jq_seconds = {
        let t = Instant::now();
        let status = Command::new("jq")
            .arg("-c")
            .arg(".Records[]")
            .args(&jq_files)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        match status {
            Ok(s) if s.success() => Some(t.elapsed().as_secs_f64()),
            _ => {
                eprintln!("bench: jq is not installed or failed: no comparison");
                None
            }
        }
    };
    let _ = std::fs::remove_dir_all(&jq_dir);
    drop(gz);
    if !cli.quiet {
        eprintln!("bench: custody ingest of every file…");
    }
    let db = root.join("trail.db");
    for s in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{s}", db.display()));
    }
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("--db")
        .arg(&db)
        .arg("--format")
        .arg("json")
        .arg("--quiet")
        .arg("ingest");
    // The trail folders (one per account), not the files: too many for argv.
    let mut trails: Vec<PathBuf> = std::fs::read_dir(dir.join("aws"))?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("cloudtrail"))
        .filter(|p| p.is_dir())
        .collect();
    trails.sort();
    cmd.args(&trails);
    let (ingest_seconds, rss_kb, _) = measure(cmd)?;
    // SAFETY: an all-zero rusage is valid for getrusage to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to our own rusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let r2 = |x: f64| (x * 100.0).round() / 100.0;
    let out = TrailBench {
        events: n_events,
        files: files.len(),
        gzip_megabytes: r2(gz_bytes as f64 / 1e6),
        json_megabytes: r2(json_bytes as f64 / 1e6),
        gunzip_seconds: r2(gunzip_seconds),
        gunzip_mb_per_second: r2(json_bytes as f64 / 1e6 / gunzip_seconds),
        parse_seconds: r2(parse_seconds),
        parse_events_per_second: (n_events as f64 / parse_seconds).round(),
        parse_mb_per_second: r2(json_bytes as f64 / 1e6 / parse_seconds),
        profile_seconds: r2(profile_seconds),
        profile_events_per_second: (n_events as f64 / profile_seconds).round(),
        jq_events,
        jq_seconds: jq_seconds.map(r2),
        custody_seconds_same_files: r2(custody_same),
        speedup_over_jq: jq_seconds.map(|j| r2(j / custody_same.max(1e-9))),
        ingest_seconds: r2(ingest_seconds),
        ingest_events_per_second: (n_events as f64 / ingest_seconds).round(),
        ingest_peak_rss_mb: (rss_kb as f64 / 1024.0).round(),
        bench_peak_rss_mb: (usage.ru_maxrss as f64 / 1024.0).round(),
    };
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
    let tmp;
    let dir = match &a.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    std::fs::create_dir_all(&dir)?;
    let o = custody_app::bench::LogBenchOptions {
        exe: match &a.exe {
            Some(e) => e.clone(),
            None => std::env::current_exe()?,
        },
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
    let quiet = cli.quiet;
    let rows = custody_app::bench::logs(&o, &|m| {
        if !quiet {
            eprintln!("bench: {m}");
        }
    })?;
    match cli.format {
        OutputFormat::Json => output::json(&rows)?,
        OutputFormat::Table => {
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
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
                            r.all_cores.events_per_second,
                            r.all_cores.seconds,
                            r.all_cores.peak_rss_mb
                        ),
                        r.jq.as_ref()
                            .map_or("-".into(), |j| format!("{:.0}", j.events_per_second)),
                        r.times_jq.map_or("-".into(), |x| format!("{x:.1}x")),
                    ]
                })
                .collect();
            output::table(
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
                ],
                &table,
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
