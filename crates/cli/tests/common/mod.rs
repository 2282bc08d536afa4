//! Helpers for running the `custody` binary in an isolated home.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Env {
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn db(&self) -> PathBuf {
        self.path("custody.db")
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_custody"));
        c.env("CUSTODY_HOME", self.path("home"))
            .env_remove("CUSTODY_DB")
            .env_remove("CUSTODY_KEY_FILE")
            .env_remove("CUSTODY_FAILPOINT");
        c.arg("--db").arg(self.db());
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    pub fn run_with(&self, args: &[&str], envs: &[(&str, &str)]) -> Run {
        let mut c = self.cmd();
        c.args(args);
        for (k, v) in envs {
            c.env(k, v);
        }
        let Output {
            status,
            stdout,
            stderr,
        } = c.output().expect("run custody");
        Run {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into(),
            stderr: String::from_utf8_lossy(&stderr).into(),
        }
    }

    pub fn write(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, bytes).expect("write");
        p
    }
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// A fixture of the repository's own (`fixtures/`, each in its system's
/// documented format: `fixtures/README.md`).
pub fn fixture(rel: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The public samples beside the repository (`../shared/samples`, or
/// `CUSTODY_SAMPLES`) for the conformance suite: `None` (skip, with a notice)
/// when absent, a failure when absent in CI (`CI=true`).
pub fn samples() -> Option<PathBuf> {
    let dir = std::env::var_os("CUSTODY_SAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples"));
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "CI=true but the public samples are not at {}: the conformance suite must run in CI",
            dir.display()
        );
    }
    eprintln!(
        "conformance: no public samples at {} (set CUSTODY_SAMPLES): skipped",
        dir.display()
    );
    None
}

/// Runs the real `git` in `dir` with a fixed identity, isolated from the
/// user's configuration; panics with git's message if it fails.
#[allow(dead_code)]
pub fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Ana Tester")
        .env("GIT_AUTHOR_EMAIL", "ana@corp.example")
        .env("GIT_COMMITTER_NAME", "Ana Tester")
        .env("GIT_COMMITTER_EMAIL", "ana@corp.example")
        .env("GIT_AUTHOR_DATE", "2026-01-02T03:04:05Z")
        .env("GIT_COMMITTER_DATE", "2026-01-02T03:04:05Z")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The folders of a synthetic snapshot that `custody scan` reads (the rest are
/// inventory exports for `custody ingest`).
pub const SCAN_ROOTS: [&str; 5] = [
    "repos",
    "kubernetes",
    "workstations",
    "secretsmanager-values",
    "keyvault-values",
];

impl Env {
    /// Synthesises a company of `people` (as of 2026-11-01) under `synthetic/`,
    /// ingests it, and returns the snapshot folder and its `answers.json`.
    pub fn synthetic(&self, people: usize) -> (PathBuf, serde_json::Value) {
        let out = self.path("synthetic");
        let out_s = out.to_str().expect("utf-8 path").to_string();
        let people = people.to_string();
        self.run(&[
            "synth",
            "--people",
            &people,
            "--as-of",
            "2026-11-01",
            "--out",
            &out_s,
        ])
        .ok();
        self.run(&["--quiet", "ingest", &out_s]).ok();
        let answers =
            serde_json::from_slice(&std::fs::read(out.join("answers.json")).expect("answers.json"))
                .expect("answers.json is JSON");
        (out, answers)
    }

    /// `custody --format json --quiet scan --git --ingest` over the snapshot's
    /// scan roots; returns the scan's JSON.
    pub fn scan_snapshot(&self, out: &Path) -> serde_json::Value {
        let roots: Vec<String> = SCAN_ROOTS
            .iter()
            .map(|d| out.join(d).display().to_string())
            .collect();
        let mut args = vec!["--format", "json", "--quiet", "scan", "--git", "--ingest"];
        args.extend(roots.iter().map(String::as_str));
        self.run(&args).ok().json()
    }
}

/// A Python virtual environment with `requirement` installed from PyPI,
/// created once per target folder under `name` (kept between runs). Tests of
/// one binary run in parallel: the first caller installs while the others
/// wait; a marker written after pip succeeds tells a finished venv from a
/// half-made one. Returns its `python`.
pub fn python_venv(name: &str, requirement: &str) -> PathBuf {
    static READY: std::sync::Mutex<Vec<(String, PathBuf)>> = std::sync::Mutex::new(Vec::new());
    let mut ready = READY.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, py)) = ready.iter().find(|(n, _)| n == name) {
        return py.clone();
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let py = dir.join("bin").join("python");
    let marker = dir.join("custody-installed");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(requirement) {
        let ok = |c: &mut Command, what: &str| {
            let out = c.output().unwrap_or_else(|e| {
                panic!("{what}: cannot run ({e}); this test needs python3 with venv")
            });
            assert!(
                out.status.success(),
                "{what} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        ok(
            Command::new("python3")
                .args(["-m", "venv", "--clear"])
                .arg(&dir),
            "python3 -m venv",
        );
        ok(
            Command::new(&py).args(["-m", "pip", "install", "--quiet", requirement]),
            &format!("pip install {requirement} (PyPI)"),
        );
        std::fs::write(&marker, requirement).unwrap();
    }
    ready.push((name.to_string(), py.clone()));
    py
}

/// The cutoff the stale checks use: 90 days before the synthetic as-of date.
pub const STALE_BEFORE: &str = "2026-08-03";

/// `custody stale` as of the synthetic as-of date, 90 days: every key it
/// lists, sorted (what the saved question must answer too).
pub fn stale_keys(env: &Env) -> Vec<String> {
    let v = env
        .run(&[
            "--format",
            "json",
            "stale",
            "--as-of",
            "2026-11-01",
            "--days",
            "90",
            "--limit",
            "0",
        ])
        .ok()
        .json();
    let mut keys: Vec<String> = v
        .as_array()
        .expect("stale prints an array")
        .iter()
        .map(|k| k["key"].as_str().expect("key").to_string())
        .collect();
    keys.sort();
    assert!(!keys.is_empty(), "the synthetic company has stale keys");
    keys
}

/// The `credential` column of a saved question's rows, sorted.
pub fn credentials_of(result: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = result["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["credential"].as_str().expect("credential").to_string())
        .collect();
    keys.sort();
    keys
}

/// The privilege-escalation techniques `custody show` finds for a principal
/// (asserting every policy document was in the export).
pub fn escalation_techniques(env: &Env, arn: &str) -> Vec<String> {
    let v = env.run(&["--format", "json", "show", arn]).ok().json();
    assert!(
        v["permissions"]["incomplete"]
            .as_array()
            .expect("incomplete")
            .is_empty(),
        "{arn}: every policy document is in the export"
    );
    v["permissions"]["escalations"]
        .as_array()
        .expect("escalations")
        .iter()
        .map(|e| e["technique"].as_str().expect("technique").to_string())
        .collect()
}

/// The techniques an administrator should have that `found` lacks: every
/// one but those rewriting its own customer-managed policies or roles (an
/// administrator user may have neither).
pub fn techniques_missing(found: &[String]) -> Vec<&'static str> {
    use custody_analysis::escalation::Target;
    custody_analysis::TECHNIQUES
        .iter()
        .filter(|t| {
            !t.actions
                .iter()
                .any(|(_, x)| matches!(x, Target::SelfPolicy | Target::SelfRole))
        })
        .map(|t| t.id)
        .filter(|id| !found.iter().any(|f| f == id))
        .collect()
}

/// Stops a server the test started as a user would (SIGTERM: a graceful
/// shutdown), and waits for it.
pub fn terminate(child: &mut std::process::Child) {
    #[cfg(unix)]
    // SAFETY: signalling a child process we started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    #[cfg(not(unix))]
    let _ = child.kill();
    let _ = child.wait();
}

/// A moto server (a local AWS emulator) on a free port, stopped on drop.
pub struct Moto {
    child: std::process::Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Moto {
        Moto::start_with(&[])
    }

    /// With IAM authentication enforced after the first `n` requests
    /// (moto's `INITIAL_NO_AUTH_ACTION_COUNT`): requests signed with an
    /// unknown, deleted or deactivated key are then refused as AWS does.
    pub fn start_with_auth_after(n: u32) -> Moto {
        Moto::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", &n.to_string())])
    }

    fn start_with(envs: &[(&str, &str)]) -> Moto {
        let py = python_venv("moto-venv-5.2.5", "moto[server]==5.2.5");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(py)
            .envs(envs.iter().copied())
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start moto");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..300 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return moto;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("moto did not start on port {port}");
    }

    /// Runs `tests/moto/iam.py` with these arguments after the endpoint.
    pub fn iam(&self, args: &[&str]) -> String {
        self.script("iam.py", args)
    }

    /// Runs `tests/moto/<file>`: its first argument, the endpoint, the rest.
    pub fn script(&self, file: &str, args: &[&str]) -> String {
        let py = python_venv("moto-venv-5.2.5", "moto[server]==5.2.5");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/moto")
            .join(file);
        let out = std::process::Command::new(py)
            .arg(script)
            .arg(args[0])
            .arg(&self.endpoint)
            .args(&args[1..])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{file} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request a [`FakeApi`] answered: method, path and headers (lower-cased
/// names), for tests that check what was sent where.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

/// What a [`FakeApi`] answers: status, extra headers, body, and a delay.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: std::time::Duration,
}

impl Answer {
    pub fn json(status: u16, body: serde_json::Value) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: body.to_string(),
            delay: std::time::Duration::ZERO,
        }
    }
}

type Route = dyn Fn(&Seen, usize) -> Answer + Send + Sync;

/// A local HTTP/1.1 server serving the documented answers of third-party
/// APIs, on a free loopback port, in a background thread. `route` gets each
/// request and how many requests came before it.
pub struct FakeApi {
    pub url: String,
    pub seen: std::sync::Arc<std::sync::Mutex<Vec<Seen>>>,
}

impl FakeApi {
    pub fn start(route: impl Fn(&Seen, usize) -> Answer + Send + Sync + 'static) -> FakeApi {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Seen>::new()));
        let route: std::sync::Arc<Route> = std::sync::Arc::new(route);
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (log, route) = (log.clone(), route.clone());
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let mut parts = line.split_whitespace();
                        let method = parts.next().unwrap_or_default().to_string();
                        let path = parts.next().unwrap_or_default().to_string();
                        let mut headers = Vec::new();
                        let mut length = 0usize;
                        loop {
                            let mut h = String::new();
                            if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                                break;
                            }
                            if let Some((k, v)) = h.split_once(':') {
                                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
                                if k == "content-length" {
                                    length = v.parse().unwrap_or(0);
                                }
                                headers.push((k, v));
                            }
                        }
                        let mut body = vec![0; length];
                        let _ = reader.read_exact(&mut body);
                        let req = Seen {
                            method,
                            path,
                            headers,
                        };
                        let n = {
                            let mut l = log.lock().unwrap_or_else(|e| e.into_inner());
                            l.push(req.clone());
                            l.len() - 1
                        };
                        let a = route(&req, n);
                        std::thread::sleep(a.delay);
                        let mut out = format!(
                            "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
                            a.status,
                            a.body.len()
                        );
                        for (k, v) in &a.headers {
                            out.push_str(&format!("{k}: {v}\r\n"));
                        }
                        out.push_str("\r\n");
                        out.push_str(&a.body);
                        if stream.write_all(out.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        FakeApi { url, seen }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Every file under `dir`, recursively.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Asserts a `--format json` collection or ingest reported no input error.
pub fn ingested_cleanly(out: &serde_json::Value) {
    let errors = out["ingest"]["report"]["errors"]
        .as_array()
        .expect("an ingest report");
    assert!(errors.is_empty(), "input errors: {out:#}");
}
