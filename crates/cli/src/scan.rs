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
    #[arg(required_unless_present = "list_rules", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// List the detection rules instead of scanning: id, provider, the
    /// credential kind each find becomes, the liveness check `--validate`
    /// runs for it, and the name.
    #[arg(long, conflicts_with_all = ["ingest", "validate", "git", "sarif"])]
    pub list_rules: bool,
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
    /// Ask each found credential's issuer whether it still works, with the
    /// least-privileged read-only call it documents (AWS `sts:GetCallerIdentity`,
    /// GitHub `GET /user`, Slack `auth.test`…): `live`, `revoked` or `unknown`,
    /// with the time checked and, where the answer says, who it is. Opt-in:
    /// each value is sent to its own issuer, and nowhere else. With `--ingest`
    /// the result is stored on the credential.
    #[arg(long)]
    pub validate: bool,
    /// Seconds to wait for each issuer's answer (`--validate`).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 10,
        requires = "validate"
    )]
    pub validate_timeout: u64,
}

pub fn run(cli: &Global, a: &ScanArgs) -> Result<ExitCode> {
    if a.list_rules {
        let rules = scan::rule_catalog();
        match cli.format {
            OutputFormat::Json => output::json(&rules)?,
            OutputFormat::Table => {
                let rows: Vec<Vec<String>> = rules
                    .iter()
                    .map(|r| {
                        vec![
                            r.id.clone(),
                            r.provider.clone(),
                            r.kind.clone(),
                            r.validate.clone().unwrap_or_else(|| "-".into()),
                            r.name.clone(),
                        ]
                    })
                    .collect();
                output::table(
                    &["RULE", "PROVIDER", "KIND", "LIVENESS CHECK", "NAME"],
                    &rows,
                );
                let checked = rules.iter().filter(|r| r.validate.is_some()).count();
                println!(
                    "\n{} rules ({} with a liveness check); structured readers add gcp-service-account-key and named-secret-value.",
                    rules.len(),
                    checked
                );
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let opts = Options {
        git: a.git,
        ingest: a.ingest,
        validate: a.validate.then(|| custody_validate::Options {
            timeout: std::time::Duration::from_secs(a.validate_timeout.max(1)),
            ..Default::default()
        }),
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
    let validated = out.credentials.iter().any(|c| c.liveness.is_some());
    let rows: Vec<Vec<String>> = out
        .credentials
        .iter()
        .flat_map(|c| {
            c.locations.iter().enumerate().map(move |(i, l)| {
                let head = |s: String| if i == 0 { s } else { String::new() };
                let mut row = vec![
                    head(c.kind.to_string()),
                    head(c.preview.clone()),
                    head(c.credential.clone()),
                ];
                if validated {
                    row.push(head(liveness(c)));
                }
                row.push(l.place.clone());
                row
            })
        })
        .collect();
    if !rows.is_empty() {
        if validated {
            output::table(
                &["KIND", "PREVIEW", "CREDENTIAL", "WORKS?", "FOUND AT"],
                &rows,
            );
        } else {
            output::table(&["KIND", "PREVIEW", "CREDENTIAL", "FOUND AT"], &rows);
        }
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
    if validated {
        let count = |s: custody_validate::State| {
            out.credentials
                .iter()
                .filter(|c| c.liveness.as_ref().is_some_and(|v| v.state == s))
                .count()
        };
        println!(
            "Asked the issuers: {} live, {} revoked, {} unknown; {} credential(s) have no liveness check.",
            count(custody_validate::State::Live),
            count(custody_validate::State::Revoked),
            count(custody_validate::State::Unknown),
            out.credentials.iter().filter(|c| c.liveness.is_none()).count()
        );
    }
    println!(
        "Values are never shown or stored: keyed fingerprints (fp:…) and redacted previews only."
    );
}

/// `live (arn:aws:iam::…:user/x)`, `revoked (InvalidClientTokenId)`, `-` when not checked.
fn liveness(c: &scan::CredentialOut) -> String {
    match &c.liveness {
        None => "-".into(),
        Some(v) => match (&v.state, &v.principal) {
            (custody_validate::State::Live, Some(p)) => format!("live ({p})"),
            _ => format!("{} ({})", v.state.as_str(), v.detail),
        },
    }
}
