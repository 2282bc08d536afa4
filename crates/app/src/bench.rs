//! Benchmarks `custody bench` runs, each measuring `custody ingest` as a
//! child process from outside (wall time, CPU time and peak resident memory
//! from `wait4`, so synthesis does not count): [`sizes`] of the synthetic
//! company, the [`cloudtrail`] benchmark (gunzip, parsing and profiles timed
//! apart on one core), and [`logs`] on files shaped like a busy estate's
//! ([`custody_synth::logbench`]), all beside `jq` where it reads the same
//! files, and [`reingest`] of a company the next day. Must not print: the
//! CLI does.

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
    /// The floor under the one-core rate, on the same files in this process:
    /// reading, SHA-256 and gunzip, then parsing, with nothing folded or
    /// stored ([`crate::logs::stages`]).
    pub stages: crate::logs::Stages,
    /// Events per CPU-second that reading, hashing and gunzipping alone
    /// allow: no ingest of these files on one core can be faster.
    pub bytes_events_per_core_second: f64,
    /// The same with parsing.
    pub parsed_events_per_core_second: f64,
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
        // Rates are per event in the files (as jq counts them): some logs
        // write a request and its response, or a stage per request, and
        // custody counts one of them.
        let events_in_files = files.iter().map(|f| f.events).sum::<usize>() as f64;
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
            let out = IngestRun {
                threads,
                seconds: r2(m.seconds),
                cpu_seconds: r2(m.cpu_seconds),
                peak_rss_mb: m.peak_rss_mb,
                events_per_second: (events_in_files / m.seconds.max(1e-9)).round(),
                events_per_core_second: (events_in_files / m.cpu_seconds.max(1e-9)).round(),
                mb_per_core_second: r2(json_bytes as f64 / 1e6 / m.cpu_seconds.max(1e-9)),
            };
            for s in ["", "-wal", "-shm", "-journal"] {
                let _ = std::fs::remove_file(format!("{}{s}", db.display()));
            }
            Ok((out, logs))
        };
        let (one_core, logs_summary) = run(1)?;
        let (all_cores, _) = run(o.threads)?;
        note(&format!(
            "reading, hashing, gunzipping and parsing the {format} files on this thread…"
        ));
        // Every file under `root` is of this format.
        let log_format = custody_connectors::audit::LogFormat::ALL
            .into_iter()
            .find(|l| l.name() == format)
            .with_context(|| format!("no audit-log reader is named {format}"))?;
        let log_files: Vec<crate::logs::LogFile> = files
            .iter()
            .map(|f| crate::logs::LogFile {
                path: f.path.clone(),
                format: log_format,
                len: f.bytes,
                gzip: f.gzip,
                json_len: f.json_bytes,
            })
            .collect();
        let stages = crate::logs::stages(&log_files);
        let bytes_seconds = stages.read_seconds + stages.hash_seconds + stages.inflate_seconds;
        let per_second = |s: f64| (events_in_files / s.max(1e-9)).round();
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
            bytes_events_per_core_second: per_second(bytes_seconds),
            parsed_events_per_core_second: per_second(bytes_seconds + stages.parse_seconds),
            stages,
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

/// How the CloudTrail benchmark runs.
pub struct TrailOptions {
    /// The custody executable whose ingest is measured.
    pub exe: PathBuf,
    /// Working folder (the synthesised company is kept for the next run).
    pub dir: PathBuf,
    pub people: usize,
    pub seed: u64,
    /// About how many CloudTrail events the company writes.
    pub events: usize,
    /// How many of the events jq reads.
    pub jq_events: usize,
}

/// The CloudTrail benchmark: a `people`-person company with about `events`
/// events; gunzip, parsing and profiles timed apart on one core, jq on the
/// first files, and a whole `custody ingest` of every file.
pub fn cloudtrail(o: &TrailOptions, note: &dyn Fn(&str)) -> Result<TrailBench> {
    use custody_connectors::audit::{self, LogFormat};
    let root = o.dir.clone();
    let (people, events) = (o.people, o.events);
    let dir = root.join("enterprise");
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).context("date")?;
    if !dir.join("answers.json").exists() {
        note(&format!(
            "synthesising {people} people with ~{events} CloudTrail events…"
        ));
        crate::demo::synthesize(people, o.seed, as_of, &dir, Some(events))?;
    }
    let mut files = Vec::new();
    find_gz(&dir.join("aws"), &mut files);
    let gz: Vec<Vec<u8>> = files
        .iter()
        .map(std::fs::read)
        .collect::<std::io::Result<_>>()?;
    let gz_bytes: usize = gz.iter().map(Vec::len).sum();
    note(&format!(
        "{} files, {:.0} MB gzipped; gunzip…",
        files.len(),
        gz_bytes as f64 / 1e6
    ));
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
        let text = crate::logs::gunzip(bytes)?;
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
        if (n_events as usize) <= o.jq_events || i == 0 {
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
    note(&format!(
        "jq on {} files ({jq_events} events)…",
        jq_files.len()
    ));
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
                note("jq is not installed or failed: no comparison");
                None
            }
        }
    };
    let _ = std::fs::remove_dir_all(&jq_dir);
    drop(gz);
    note("custody ingest of every file…");
    let db = root.join("trail.db");
    for s in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{s}", db.display()));
    }
    let mut cmd = Command::new(&o.exe);
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
    let m = measure(cmd)?;
    let (ingest_seconds, rss_kb) = (m.seconds, (m.peak_rss_mb * 1024.0) as u64);
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
    Ok(out)
}

/// One size of `custody bench`.
#[derive(Debug, Clone, Serialize)]
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

/// For each size: synthesise a company under `root`, ingest it in a child
/// process into a new database, measure (the company is removed after,
/// unless `keep`; its database stays).
pub fn sizes(
    exe: &Path,
    root: &Path,
    people: &[usize],
    seed: u64,
    keep: bool,
    note: &dyn Fn(&str),
) -> Result<Vec<BenchRow>> {
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).context("date")?;
    let mut rows = Vec::new();
    for &people in people {
        let dir = root.join(format!("people-{people}"));
        let db = root.join(format!("people-{people}.db"));
        let _ = std::fs::remove_dir_all(&dir);
        for s in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{s}", db.display()));
        }
        note(&format!("synthesising {people} people…"));
        let t = Instant::now();
        let answers = crate::demo::synthesize(people, seed, as_of, &dir, None)?;
        let synth_seconds = t.elapsed().as_secs_f64();
        note(&format!(
            "ingesting {} files ({:.0} MB)…",
            answers.counts.files,
            answers.counts.bytes as f64 / 1e6
        ));
        let mut cmd = Command::new(exe);
        cmd.arg("--db")
            .arg(&db)
            .arg("--format")
            .arg("json")
            .arg("--quiet")
            .arg("ingest")
            .arg(&dir);
        let m = measure(cmd)?;
        let (ingest_seconds, rss_kb, text) = (m.seconds, (m.peak_rss_mb * 1024.0) as u64, m.stdout);
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
        if !keep {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    Ok(rows)
}

/// One ingest of [`reingest`].
#[derive(Debug, Clone, Serialize)]
pub struct ReingestRow {
    /// `first load`, `next day`, `every file changed`.
    pub case: String,
    pub files: u64,
    pub files_unchanged: u64,
    /// Facts read from changed files and written.
    pub facts_written: u64,
    /// Facts of changed files stated as before (kept live, not rewritten).
    pub facts_unchanged: u64,
    pub nodes_updated: u64,
    pub seconds: f64,
    pub cpu_seconds: f64,
    pub peak_rss_mb: f64,
}

/// The re-ingest benchmark: a `people` company synthesised under `root` and
/// ingested into a new database (first load); then, each into a copy of
/// that database, the same estate exported the next day
/// ([`custody_synth::nextday`]: last-used times of the week move on) and the
/// next day with every other export file rewritten too. With `keep`, the
/// estate (as the last case left it) and the three databases stay in `root`.
pub fn reingest(
    exe: &Path,
    root: &Path,
    people: usize,
    seed: u64,
    keep: bool,
    note: &dyn Fn(&str),
) -> Result<Vec<ReingestRow>> {
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).context("date")?;
    let dir = root.join(format!("reingest-{people}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(root)?;
    note(&format!("synthesising {people} people…"));
    crate::demo::synthesize(people, seed, as_of, &dir, None)?;
    let db = |name: &str| root.join(format!("reingest-{people}-{name}.db"));
    // Before each case, so that a kept database is not ingested into twice.
    let remove = |p: &Path| {
        for s in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{s}", p.display()));
        }
    };
    let ingest = |case: &str, db: &Path| -> Result<ReingestRow> {
        note(&format!("ingesting ({case})…"));
        let mut cmd = Command::new(exe);
        cmd.arg("--db")
            .arg(db)
            .args(["--format", "json", "--quiet", "ingest"])
            .arg(&dir);
        let m = measure(cmd)?;
        let v: serde_json::Value = serde_json::from_str(&m.stdout)
            .context("the ingest process printed no JSON summary")?;
        let r = &v["report"];
        let n = |k: &str| r[k].as_u64().unwrap_or(0);
        Ok(ReingestRow {
            case: case.into(),
            files: n("files"),
            files_unchanged: n("files_unchanged"),
            facts_written: n("facts"),
            facts_unchanged: n("facts_unchanged"),
            nodes_updated: n("nodes_updated"),
            seconds: r2(m.seconds),
            cpu_seconds: r2(m.cpu_seconds),
            peak_rss_mb: m.peak_rss_mb,
        })
    };
    let first = db("first");
    remove(&first);
    let mut rows = vec![ingest("first load", &first)?];
    for (case, every_file) in [("next day", false), ("every file changed", true)] {
        let copy = db(if every_file { "every" } else { "next" });
        remove(&copy);
        std::fs::copy(&first, &copy).context("copying the first load's database")?;
        let changed = custody_synth::nextday::advance(&dir, as_of, every_file)?;
        note(&format!(
            "{case}: {} last-used values moved in {} files, {} files rewritten",
            changed.values_advanced, changed.files_advanced, changed.files_rewritten
        ));
        rows.push(ingest(case, &copy)?);
        if !keep {
            remove(&copy);
        }
    }
    if !keep {
        remove(&first);
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(rows)
}
