//! `custody findings`: what is wrong with each non-human identity — the posture
//! rules (crates/posture/rules/default.toml, OWASP NHI Top 10) run over the
//! graph, most severe first, with evidence and remediation.

use crate::global::{Global, OutputFormat};
use crate::{output, paths};
use anyhow::Result;
use clap::Args;
use custody_app::Progress;
use custody_posture::{Finding, Rule, Severity};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// What `findings` prints besides table and JSON (set from the global `--format`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Output {
    Plain,
    Sarif,
    Ocsf,
}

#[derive(Args)]
pub struct FindingsArgs {
    /// Only findings at least this severe: low, medium, high, critical.
    #[arg(long, value_parser = parse_severity)]
    pub severity: Option<Severity>,
    /// Only these rules (repeat; `--list-rules` names them).
    #[arg(long = "rule", value_name = "ID")]
    pub rules: Vec<String>,
    /// Rules from this file instead of the shipped ones (same format as
    /// crates/posture/rules/default.toml).
    #[arg(long, value_name = "FILE")]
    pub rules_file: Option<PathBuf>,
    /// List the rules and exit.
    #[arg(long)]
    pub list_rules: bool,
    /// Count relative periods ("90 days ago") from this date instead of today
    /// (YYYY-MM-DD): posture as of the data's export date.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub as_of: Option<chrono::NaiveDate>,
    /// Table: at most this many findings (0: all). JSON lists all.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Also evaluate effective permissions (loads the AWS permission model):
    /// the `admin-equivalent` rule, and blast radius in the risk score.
    #[arg(long)]
    pub reach: bool,
    /// How many of the riskiest identities to rank (table and JSON `risk`).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub top: u64,
    /// Record the findings in the graph as a snapshot: a `Finding` node per
    /// finding with a `HAS_FINDING` edge from its identity (so `custody show`
    /// and queries see them); findings no longer found are retired.
    #[arg(long)]
    pub record: bool,
    #[arg(skip = Output::Plain)]
    pub output: Output,
}

fn parse_date(s: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("`{s}` is not a date: YYYY-MM-DD"))
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(s)
        .ok_or_else(|| format!("`{s}` is not a severity: low, medium, high or critical"))
}

fn rules(a: &FindingsArgs) -> Result<Vec<Rule>> {
    custody_app::posture::rules(a.rules_file.as_deref(), &a.rules, a.severity)
}

pub fn run(cli: &Global, a: &FindingsArgs) -> Result<ExitCode> {
    let rules = rules(a)?;
    if a.list_rules {
        match cli.format {
            OutputFormat::Json => output::json(&rules)?,
            OutputFormat::Table => {
                let rows: Vec<Vec<String>> = rules
                    .iter()
                    .map(|r| {
                        vec![
                            r.id.clone(),
                            r.severity.as_str().into(),
                            r.owasp.clone(),
                            r.title.clone(),
                        ]
                    })
                    .collect();
                output::table(&["RULE", "SEVERITY", "OWASP", "TITLE"], &rows);
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    if a.record && (!a.rules.is_empty() || a.severity.is_some() || a.rules_file.is_some()) {
        anyhow::bail!(
            "--record stores the full set of findings (a recording replaces the previous one): leave out --rule, --severity and --rules-file"
        );
    }
    let mut store = paths::open_existing(cli)?;
    let started = Instant::now();
    let progress = cli.progress();
    if !a.reach {
        let skipped = custody_app::posture::needs_reach(&rules);
        if !skipped.is_empty() && !cli.quiet {
            eprintln!(
                "not run without --reach (it evaluates effective permissions): {}",
                skipped.join(", ")
            );
        }
    }
    let today = a.as_of.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let custody_app::posture::Posture {
        graph,
        model,
        ownership,
        report,
        risk: ranked,
    } = custody_app::posture::findings(&store, &rules, a.reach, today, a.top as usize, &progress)?;
    progress.done();
    if a.record {
        let snapshot = custody_app::posture::record(&mut store, &graph, &report.findings)?;
        if !cli.quiet {
            eprintln!(
                "recorded {} finding(s) as snapshot {snapshot}",
                report.findings.len()
            );
        }
    }
    let version = env!("CARGO_PKG_VERSION");
    match (a.output, cli.format) {
        (Output::Sarif, _) => {
            output::json(&custody_posture::sarif(&rules, &report.findings, version))?
        }
        (Output::Ocsf, _) => {
            let now = chrono::Utc::now().timestamp_millis();
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for f in &report.findings {
                use std::io::Write;
                writeln!(out, "{}", custody_posture::ocsf(f, now, version))?;
            }
        }
        (_, OutputFormat::Json) => output::json(&JsonOut {
            report: &report,
            risk: &ranked,
        })?,
        (_, OutputFormat::Table) => print(&report, &ranked, a.limit, started.elapsed()),
    }
    // The process ends here: freeing millions of nodes, edges and property
    // maps one by one would add seconds for nothing.
    std::mem::forget(graph);
    std::mem::forget(model);
    std::mem::forget(ownership);
    Ok(ExitCode::SUCCESS)
}

#[derive(serde::Serialize)]
struct JsonOut<'a> {
    #[serde(flatten)]
    report: &'a custody_posture::Report,
    /// The riskiest identities (severity × exposure × reach).
    risk: &'a [custody_posture::risk::Risk],
}

fn evidence(f: &Finding) -> String {
    f.evidence
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| format!("{k}: {}", output::cell(v)))
        .collect::<Vec<_>>()
        .join("; ")
}

fn print(
    report: &custody_posture::Report,
    risk: &[custody_posture::risk::Risk],
    limit: usize,
    took: Duration,
) {
    let rows: Vec<Vec<String>> = report
        .rules
        .iter()
        .map(|r| {
            vec![
                r.rule.clone(),
                r.severity.as_str().into(),
                r.findings.to_string(),
                format!("{:.0}", r.milliseconds),
            ]
        })
        .collect();
    println!(
        "{} finding(s) from {} rule(s) in {:.1}s",
        report.findings.len(),
        report.rules.len(),
        took.as_secs_f64()
    );
    println!();
    output::table(&["RULE", "SEVERITY", "FINDINGS", "MS"], &rows);
    if report.findings.is_empty() {
        return;
    }
    println!();
    let shown = if limit == 0 {
        report.findings.len()
    } else {
        limit.min(report.findings.len())
    };
    let rows: Vec<Vec<String>> = report.findings[..shown]
        .iter()
        .map(|f| {
            vec![
                f.severity.as_str().to_uppercase(),
                f.rule.clone(),
                f.identity.clone(),
                evidence(f),
            ]
        })
        .collect();
    output::table(&["SEVERITY", "RULE", "IDENTITY", "EVIDENCE"], &rows);
    if shown < report.findings.len() {
        println!(
            "… and {} more (--limit 0 lists all; --format json gives remediation too).",
            report.findings.len() - shown
        );
    }
    println!();
    let with_reach = risk.iter().any(|r| r.reach.is_some());
    println!(
        "Riskiest identities (severity × (1 + kinds of place){}):",
        if with_reach {
            " × (1 + log10(1 + blast-radius score))"
        } else {
            "; --reach adds blast radius"
        }
    );
    let rows: Vec<Vec<String>> = risk
        .iter()
        .map(|r| {
            let mut row = vec![
                r.identity.clone(),
                format!("{:.1}", r.risk),
                r.severity.to_string(),
                r.findings.to_string(),
                r.places.to_string(),
            ];
            if with_reach {
                row.push(match &r.reach {
                    Some(x) => format!(
                        "{} resources ({} critical){}",
                        x.resources,
                        x.critical,
                        if x.admin_equivalent { ", admin" } else { "" }
                    ),
                    None => "-".into(),
                });
            }
            row
        })
        .collect();
    let mut headers = vec!["IDENTITY", "RISK", "SEVERITY", "FINDINGS", "PLACES"];
    if with_reach {
        headers.push("REACH");
    }
    output::table(&headers, &rows);
}
