//! `custody bench`: synthesise and ingest at given sizes; time, throughput and the
//! ingest's peak resident memory (measured on a child process, so synthesis does
//! not count).

use crate::{output, Cli, OutputFormat};
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
fn measure(mut cmd: Command) -> Result<(f64, u64, String)> {
    let started = Instant::now();
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start the ingest process")?;
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.context("no stdout")?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut text)?;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own child, not yet reaped; both pointers are valid.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if r < 0 {
        anyhow::bail!(
            "waiting for the ingest process failed: {}",
            std::io::Error::last_os_error()
        );
    }
    let secs = started.elapsed().as_secs_f64();
    let exited_ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) <= 1;
    if !exited_ok {
        anyhow::bail!("the ingest process failed (status {status})");
    }
    Ok((secs, usage.ru_maxrss as u64, text))
}

pub fn run(cli: &Cli, a: &BenchArgs) -> Result<ExitCode> {
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
        let answers = crate::demo::run_synth(people, a.seed, as_of, &dir, None)?;
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
