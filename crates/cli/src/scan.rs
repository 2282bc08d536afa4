//! `custody scan PATH...`: find secrets in files, report each credential once with
//! every place it was found (never the value), optionally as SARIF, and with
//! `--ingest` store them in the graph, where they join the inventory by key id or
//! fingerprint.

use crate::global::{Global, OutputFormat};
use crate::{output, paths};
use anyhow::Result;
use clap::Args;
use custody_app::scan::{self, Options, ScanOut};
use custody_scan::Scanner;
use std::path::PathBuf;
use std::process::ExitCode;

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
    /// Print SARIF 2.1.0 (for code-scanning tools) instead of a table or JSON;
    /// the same as `--format sarif`.
    #[arg(long)]
    pub sarif: bool,
    /// Also scan the history of every git repository in PATH (a work tree's
    /// `.git` or a bare repository): every blob reachable from any ref, each
    /// read once, credited to the commit that introduced it.
    #[arg(long)]
    pub git: bool,
}

pub fn run(cli: &Global, a: &ScanArgs) -> Result<ExitCode> {
    let opts = Options {
        git: a.git,
        ingest: a.ingest,
    };
    let progress = cli.progress();
    let out = if a.ingest {
        let mut store = paths::open_store(cli)?;
        let (out, raised) = scan::scan_and_ingest(&mut store, &a.paths, opts, &progress)?;
        if raised > 0 {
            tracing::warn!("{raised} new usage alert(s) now that these credentials are in the graph: custody alerts");
        }
        out
    } else {
        scan::collect(&a.paths, opts, &paths::fingerprinter()?, &progress)?.0
    };
    if a.sarif {
        output::json(&scan::sarif(&Scanner::builtin(), &out))?;
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
    for r in &out.repositories {
        println!(
            "History of {}: {} refs, {} commits, {} distinct blobs ({:.1} MB).",
            r.repository, r.refs, r.commits, r.blobs, r.megabytes
        );
    }
    println!(
        "{} credential(s) in {places} place(s); {} files, {:.1} MB scanned in {:.2}s.",
        out.credentials.len(),
        out.files,
        out.megabytes,
        out.seconds
    );
    if !out.skipped.is_empty() {
        println!(
            "{} file(s) skipped as binary (--format json lists them and why).",
            out.skipped.len()
        );
    }
    if let Some(s) = out.snapshot {
        println!("Stored as snapshot {s}: `custody show <credential>` lists every surface.");
    }
    println!(
        "Values are never shown or stored: keyed fingerprints (fp:…) and redacted previews only."
    );
}
