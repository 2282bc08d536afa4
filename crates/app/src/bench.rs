//! Benchmarks `custody bench` runs: a child process measured from outside
//! (wall time, CPU time and peak resident memory from `wait4`), and the
//! audit-log benchmark on files shaped like a busy estate's
//! ([`custody_synth::logbench`]) beside `jq` on the same files.

use anyhow::{Context, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// What one measured child process cost.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    pub seconds: f64,
    /// User plus system CPU time of the child.
    pub cpu_seconds: f64,
    pub peak_rss_mb: f64,
    #[serde(skip)]
    pub stdout: String,
}

/// Runs `cmd` to completion (exit status 0 or 1: 1 is "done, with input
/// errors") and measures it.
pub fn measure(mut cmd: Command) -> Result<Measured> {
    let started = Instant::now();
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start the measured process")?;
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
            "waiting for the measured process failed: {}",
            std::io::Error::last_os_error()
        );
    }
    let seconds = started.elapsed().as_secs_f64();
    let exited_ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) <= 1;
    if !exited_ok {
        anyhow::bail!("the measured process failed (status {status})");
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(Measured {
        seconds,
        cpu_seconds: tv(usage.ru_utime) + tv(usage.ru_stime),
        peak_rss_mb: (usage.ru_maxrss as f64 / 1024.0).round(),
        stdout: text,
    })
}

/// One `custody ingest` of a format's files into a new database.
#[derive(Debug, Clone, Serialize)]
pub struct IngestRun {
    /// Worker threads (`RAYON_NUM_THREADS`).
    pub threads: usize,
    pub seconds: f64,
    pub cpu_seconds: f64,
    pub peak_rss_mb: f64,
    /// Events over wall time.
    pub events_per_second: f64,
    /// Events over CPU time: what one core does.
    pub events_per_core_second: f64,
    /// JSON (uncompressed) megabytes over CPU time.
    pub mb_per_core_second: f64,
}

/// `jq` over some of the same files (uncompressed copies: jq reads no gzip).
#[derive(Debug, Clone, Serialize)]
pub struct JqRun {
    pub files: usize,
    pub events: usize,
    pub seconds: f64,
    pub events_per_second: f64,
}

/// The audit-log benchmark's answer for one format.
#[derive(Debug, Clone, Serialize)]
pub struct LogBenchRow {
    pub format: String,
    pub files: usize,
    pub gzip_files: usize,
    pub pretty_files: usize,
    pub events: usize,
    pub disk_mb: f64,
    pub json_mb: f64,
    pub smallest_file_kb: f64,
    pub largest_file_kb: f64,
    /// Events custody counted (the ingest's own summary): one per request
    /// where a log writes a request and its response (Vault) or a record per
    /// stage (Kubernetes).
    pub events_read: u64,
    pub identities: u64,
    pub alerts_raised: u64,
    pub one_core: IngestRun,
    pub all_cores: IngestRun,
    pub jq: Option<JqRun>,
    /// custody's events per core-second (the one-core run) over jq's events
    /// per second (jq uses one core).
    pub times_jq: Option<f64>,
}

/// How the audit-log benchmark runs.
pub struct LogBenchOptions {
    /// The custody executable to run (`std::env::current_exe()`).
    pub exe: PathBuf,
    pub dir: PathBuf,
    /// CloudTrail events; every other log gets a fifth of it.
    pub events: usize,
    pub seed: u64,
    /// Formats to measure (names as `custody` gives them); empty: all seven.
    pub formats: Vec<String>,
    /// How many of each format's events jq reads (it is slow).
    pub jq_events: usize,
    /// Worker threads of the all-cores run.
    pub threads: usize,
}

fn r2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Writes each format's files (kept in `dir` and reused when the same size
/// was written before), ingests them on one worker and on all, and runs jq.
pub fn logs(o: &LogBenchOptions, note: &dyn Fn(&str)) -> Result<Vec<LogBenchRow>> {
    use custody_synth::logbench::{self, LogBenchFile, FORMATS};
    let mut rows = Vec::new();
    for &format in FORMATS.iter() {
        if !o.formats.is_empty() && !o.formats.iter().any(|f| f == format) {
            continue;
        }
        let events = if format == FORMATS[0] {
            o.events
        } else {
            (o.events / 5).max(1)
        };
        let root = o.dir.join(format!("{format}-{events}-{}", o.seed));
        let files: Vec<LogBenchFile> = match read_manifest(&root) {
            Some(f) => f,
            None => {
                note(&format!("writing ~{events} {format} events…"));
                let _ = std::fs::remove_dir_all(&root);
                let f = logbench::write(&root, format, events, o.seed)?;
                write_manifest(&root, &f)?;
                f
            }
        };
        let json_bytes: u64 = files.iter().map(|f| f.json_bytes).sum();
        let kb = |b: u64| r2(b as f64 / 1e3);
        let run = |threads: usize| -> Result<(IngestRun, serde_json::Value)> {
            note(&format!(
                "custody ingest of {} {format} files on {threads} thread(s)…",
                files.len()
            ));
            let db = o.dir.join(format!("{format}.db"));
            for s in ["", "-wal", "-shm", "-journal"] {
                let _ = std::fs::remove_file(format!("{}{s}", db.display()));
            }
            let mut cmd = Command::new(&o.exe);
            cmd.env("RAYON_NUM_THREADS", threads.to_string())
                .arg("--db")
                .arg(&db)
                .arg("--format")
                .arg("json")
                .arg("--quiet")
                .arg("ingest")
                .arg(root.join(format));
            let m = measure(cmd)?;
            let v: serde_json::Value = serde_json::from_str(&m.stdout)
                .context("the ingest process printed no JSON summary")?;
            let logs = v["logs"].clone();
            // Per event in the files (as jq counts them): some logs write a
            // request and its response, or a stage per request, and custody
            // counts one of them.
            let events = files.iter().map(|f| f.events).sum::<usize>() as f64;
            let out = IngestRun {
                threads,
                seconds: r2(m.seconds),
                cpu_seconds: r2(m.cpu_seconds),
                peak_rss_mb: m.peak_rss_mb,
                events_per_second: (events / m.seconds.max(1e-9)).round(),
                events_per_core_second: (events / m.cpu_seconds.max(1e-9)).round(),
                mb_per_core_second: r2(json_bytes as f64 / 1e6 / m.cpu_seconds.max(1e-9)),
            };
            for s in ["", "-wal", "-shm", "-journal"] {
                let _ = std::fs::remove_file(format!("{}{s}", db.display()));
            }
            Ok((out, logs))
        };
        let (one_core, logs_summary) = run(1)?;
        let (all_cores, _) = run(o.threads)?;
        let jq = jq_run(&o.dir, &files, o.jq_events, note)?;
        let times_jq = jq
            .as_ref()
            .map(|j| r2(one_core.events_per_core_second / j.events_per_second.max(1e-9)));
        rows.push(LogBenchRow {
            format: format.to_string(),
            files: files.len(),
            gzip_files: files.iter().filter(|f| f.gzip).count(),
            pretty_files: files.iter().filter(|f| f.pretty).count(),
            events: files.iter().map(|f| f.events).sum(),
            disk_mb: r2(files.iter().map(|f| f.bytes).sum::<u64>() as f64 / 1e6),
            json_mb: r2(json_bytes as f64 / 1e6),
            smallest_file_kb: kb(files.iter().map(|f| f.json_bytes).min().unwrap_or(0)),
            largest_file_kb: kb(files.iter().map(|f| f.json_bytes).max().unwrap_or(0)),
            events_read: logs_summary["events"].as_u64().unwrap_or(0),
            identities: logs_summary["identities"].as_u64().unwrap_or(0),
            alerts_raised: logs_summary["alerts_raised"].as_u64().unwrap_or(0),
            one_core,
            all_cores,
            jq,
            times_jq,
        });
    }
    Ok(rows)
}

const MANIFEST: &str = "manifest.tsv";

fn write_manifest(root: &Path, files: &[custody_synth::logbench::LogBenchFile]) -> Result<()> {
    let mut s = String::new();
    for f in files {
        s.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            f.path.display(),
            f.format,
            f.events,
            f.bytes,
            f.json_bytes,
            f.gzip,
            f.pretty
        ));
    }
    std::fs::write(root.join(MANIFEST), s)?;
    Ok(())
}

fn read_manifest(root: &Path) -> Option<Vec<custody_synth::logbench::LogBenchFile>> {
    use custody_synth::logbench::{LogBenchFile, FORMATS};
    let text = std::fs::read_to_string(root.join(MANIFEST)).ok()?;
    text.lines()
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            let path = PathBuf::from(c.first()?);
            path.exists().then_some(())?;
            Some(LogBenchFile {
                path,
                format: {
                    let name = *c.get(1)?;
                    FORMATS.iter().find(|f| **f == name)?
                },
                events: c.get(2)?.parse().ok()?,
                bytes: c.get(3)?.parse().ok()?,
                json_bytes: c.get(4)?.parse().ok()?,
                gzip: c.get(5)?.parse().ok()?,
                pretty: c.get(6)?.parse().ok()?,
            })
        })
        .collect()
}

/// jq on the first files of a format, up to `limit` events, with the filter
/// that prints each event: `.Records[]`, `.records[]`, `.[]` or `.` (lines).
fn jq_run(
    dir: &Path,
    files: &[custody_synth::logbench::LogBenchFile],
    limit: usize,
    note: &dyn Fn(&str),
) -> Result<Option<JqRun>> {
    if limit == 0 {
        return Ok(None);
    }
    let jq_dir = dir.join("jq");
    let _ = std::fs::remove_dir_all(&jq_dir);
    std::fs::create_dir_all(&jq_dir)?;
    let mut groups: std::collections::BTreeMap<&str, Vec<PathBuf>> = Default::default();
    let (mut n, mut events) = (0usize, 0usize);
    for f in files {
        if events >= limit {
            break;
        }
        let raw = std::fs::read(&f.path)?;
        let text = if crate::logs::is_gzip(&raw) {
            crate::logs::gunzip(&raw)?
        } else {
            raw
        };
        let first = text
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .map(|i| &text[i..])
            .unwrap_or_default();
        let filter = if first.starts_with(b"[") {
            ".[]"
        } else if f.format == "aws-cloudtrail" {
            ".Records[]"
        } else if first.starts_with(b"{\"records\"") || first.starts_with(b"{\n  \"records\"") {
            ".records[]"
        } else {
            "."
        };
        let p = jq_dir.join(format!("{n}.json"));
        std::fs::write(&p, &text)?;
        groups.entry(filter).or_default().push(p);
        n += 1;
        events += f.events;
    }
    note(&format!("jq on {n} files ({events} events)…"));
    let started = Instant::now();
    for (filter, paths) in &groups {
        for part in paths.chunks(200) {
            let status = Command::new("jq")
                .arg("-c")
                .arg(filter)
                .args(part)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            if !matches!(status, Ok(s) if s.success()) {
                note("jq is not installed or failed: no comparison");
                let _ = std::fs::remove_dir_all(&jq_dir);
                return Ok(None);
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&jq_dir);
    Ok(Some(JqRun {
        files: n,
        events,
        seconds: r2(seconds),
        events_per_second: (events as f64 / seconds.max(1e-9)).round(),
    }))
}
