//! `custody scan PATH...`: find secrets in files, report each credential once with
//! every place it was found (never the value), optionally as SARIF, and with
//! `--ingest` store them in the graph, where they join the inventory by key id or
//! fingerprint.

use crate::ingest::{walk_with, Candidate};
use crate::{output, paths, Cli, OutputFormat};
use anyhow::Result;
use clap::Args;
use custody_model::{InputError, Location};
use custody_scan::facts::{facts, scan_file as scan_found, Finding};
use custody_scan::Scanner;
use custody_store::{SourceBatch, Store};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Args)]
pub struct ScanArgs {
    /// Files or folders (recursively, hidden folders such as `.vscode` included;
    /// `.git`, `target`, `node_modules`, `.terraform` and binary files are skipped).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Also store what was found in the graph, as one snapshot: each secret a
    /// credential (the same node as the inventory's when the key id or value
    /// matches), each place a location.
    #[arg(long)]
    pub ingest: bool,
    /// Print SARIF 2.1.0 (for code-scanning tools) instead of a table or JSON.
    #[arg(long)]
    pub sarif: bool,
}

/// Files larger than this are skipped and reported (generated or data files).
const MAX_FILE: u64 = 64 * 1024 * 1024;

struct Scanned {
    path: String,
    findings: Vec<Finding>,
    batch: Option<SourceBatch>,
    error: Option<InputError>,
    bytes: u64,
}

fn scan_file(scanner: &Scanner, fp: &custody_model::Fingerprinter, c: &Candidate) -> Scanned {
    let path = c.path.display().to_string();
    let fail = |message: String| Scanned {
        path: path.clone(),
        findings: Vec::new(),
        batch: None,
        error: Some(InputError::new(
            "secret-scan",
            &path,
            Location::File,
            message,
        )),
        bytes: 0,
    };
    match std::fs::metadata(&c.path) {
        Ok(m) if m.len() > MAX_FILE => {
            return fail(format!(
                "skipped: {} MB is larger than the {} MB limit",
                m.len() >> 20,
                MAX_FILE >> 20
            ))
        }
        Err(e) => return fail(format!("cannot read the file: {e}")),
        _ => {}
    }
    let bytes = match std::fs::read(&c.path) {
        Ok(b) => b,
        Err(e) => return fail(format!("cannot read the file: {e}")),
    };
    // Binary files (a NUL byte early on) are not text a secret is pasted into.
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return Scanned {
            path,
            findings: Vec::new(),
            batch: None,
            error: None,
            bytes: 0,
        };
    }
    let found = scan_found(scanner, &path, &bytes);
    let (findings, facts) = facts(fp, &path, &found);
    let batch = SourceBatch {
        path: path.clone(),
        format: "secret-scan".into(),
        scope: format!("secret-scan:{path}"),
        sha256: Some(format!("{:x}", Sha256::digest(&bytes))),
        observed_at: None,
        records: found.len(),
        facts,
        errors: Vec::new(),
    };
    Scanned {
        path,
        findings,
        batch: Some(batch),
        error: None,
        bytes: bytes.len() as u64,
    }
}

/// One credential and every place it was found.
#[derive(Serialize)]
pub struct CredentialOut {
    /// `aws-access-key:AKIA…` or `fp:<keyed fingerprint>`.
    pub credential: String,
    pub kind: &'static str,
    pub rules: Vec<String>,
    pub preview: String,
    pub locations: Vec<LocationOut>,
}

#[derive(Serialize)]
pub struct LocationOut {
    /// `path:line:column`, or the Kubernetes Secret key or MCP server field and where it is.
    pub place: String,
    pub path: String,
    pub line: u64,
    pub column: u64,
    pub rule: String,
}

#[derive(Serialize)]
pub struct ScanOut {
    pub files: usize,
    pub megabytes: f64,
    pub seconds: f64,
    pub credentials: Vec<CredentialOut>,
    pub errors: Vec<InputError>,
    /// The snapshot written with `--ingest`.
    pub snapshot: Option<i64>,
}

/// Scans `inputs` and groups what was found by credential; also returns one
/// source batch per scanned file, for `--ingest`.
pub fn collect(inputs: &[PathBuf]) -> Result<(ScanOut, Vec<SourceBatch>)> {
    let started = Instant::now();
    let fp = paths::fingerprinter()?;
    let scanner = Scanner::builtin();
    let mut candidates = Vec::new();
    let mut errors = Vec::new();
    for p in inputs {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => walk_with(p, &mut candidates, &mut errors, true),
            Ok(_) => candidates.push(Candidate {
                path: p.clone(),
                explicit: true,
            }),
            Err(e) => errors.push(InputError::new(
                "secret-scan",
                &p.display().to_string(),
                Location::File,
                format!("cannot read: {e}"),
            )),
        }
    }
    let scanned: Vec<Scanned> = candidates
        .par_iter()
        .map(|c| scan_file(&scanner, &fp, c))
        .collect();
    let files = scanned.len();
    let bytes: u64 = scanned.iter().map(|s| s.bytes).sum();
    let mut by_credential: BTreeMap<String, CredentialOut> = BTreeMap::new();
    let mut batches = Vec::new();
    for s in scanned {
        errors.extend(s.error);
        batches.extend(s.batch);
        for f in s.findings {
            let e = by_credential
                .entry(f.credential.clone())
                .or_insert_with(|| CredentialOut {
                    credential: f.credential.clone(),
                    kind: f.kind,
                    rules: Vec::new(),
                    preview: f.preview.clone(),
                    locations: Vec::new(),
                });
            if !e.rules.contains(&f.rule) {
                e.rules.push(f.rule.clone());
            }
            e.locations.push(LocationOut {
                place: f.place,
                path: s.path.clone(),
                line: f.line,
                column: f.column,
                rule: f.rule,
            });
        }
    }
    let out = ScanOut {
        files,
        megabytes: bytes as f64 / 1e6,
        seconds: started.elapsed().as_secs_f64(),
        credentials: by_credential.into_values().collect(),
        errors,
        snapshot: None,
    };
    Ok((out, batches))
}

pub fn run(cli: &Cli, a: &ScanArgs) -> Result<ExitCode> {
    let (mut out, batches) = collect(&a.paths)?;
    let scanner = Scanner::builtin();
    if a.ingest {
        let mut store = paths::open_store(cli)?;
        let report = store.ingest_all(batches, &mut |_| {})?;
        out.snapshot = Some(report.snapshot);
    }
    if a.sarif {
        output::json(&sarif(&scanner, &out))?;
    } else {
        match cli.format {
            OutputFormat::Json => output::json(&out)?,
            OutputFormat::Table => print(&out),
        }
    }
    Ok(output::exit_for_errors(&out.errors))
}

fn print(out: &ScanOut) {
    let rows: Vec<Vec<String>> = out
        .credentials
        .iter()
        .flat_map(|c| {
            c.locations.iter().enumerate().map(move |(i, l)| {
                let head = |s: String| if i == 0 { s } else { String::new() };
                vec![
                    head(c.kind.to_string()),
                    head(c.preview.clone()),
                    head(c.credential.clone()),
                    l.place.clone(),
                ]
            })
        })
        .collect();
    if !rows.is_empty() {
        output::table(&["KIND", "PREVIEW", "CREDENTIAL", "FOUND AT"], &rows);
        println!();
    }
    let places: usize = out.credentials.iter().map(|c| c.locations.len()).sum();
    println!(
        "{} credential(s) in {places} place(s); {} files, {:.1} MB scanned in {:.2}s.",
        out.credentials.len(),
        out.files,
        out.megabytes,
        out.seconds
    );
    if let Some(s) = out.snapshot {
        println!("Stored as snapshot {s}: `custody show <credential>` lists every surface.");
    }
    println!(
        "Values are never shown or stored: keyed fingerprints (fp:…) and redacted previews only."
    );
}

/// SARIF 2.1.0: one result per place, fingerprinted so code-scanning tools
/// track a secret across commits without seeing it.
fn sarif(scanner: &Scanner, out: &ScanOut) -> serde_json::Value {
    let rules: Vec<serde_json::Value> = scanner
        .rules()
        .iter()
        .map(|r| {
            json!({"id": r.id, "name": r.id, "shortDescription": {"text": r.name},
                        "defaultConfiguration": {"level": "error"}})
        })
        .collect();
    let mut results = Vec::new();
    for c in &out.credentials {
        for l in &c.locations {
            results.push(json!({
                "ruleId": l.rule,
                "level": "error",
                "message": {"text": format!("{} ({}, {}) found here; custody never stores the value.", c.kind, c.preview, c.credential)},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": l.path},
                    "region": {"startLine": l.line, "startColumn": l.column}}}],
                "partialFingerprints": {"custodyCredential/v1": c.credential},
            }));
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "custody", "informationUri": "https://example.invalid/custody",
                                "version": env!("CARGO_PKG_VERSION"), "rules": rules}},
            "results": results,
        }]
    })
}
