//! `custody findings`: what is wrong with each non-human identity — the posture
//! rules (crates/posture/rules/default.toml, OWASP NHI Top 10) run over the
//! graph, most severe first, with evidence and remediation.

use crate::{output, paths, Cli, OutputFormat};
use anyhow::{Context, Result};
use clap::Args;
use custody_posture::{Finding, Rule, Severity};
use custody_query::{Limits, MemGraph};
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

pub fn rules(a: &FindingsArgs) -> Result<Vec<Rule>> {
    let mut rules = match &a.rules_file {
        Some(f) => {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("cannot read {}", f.display()))?;
            custody_posture::parse_rules(&text).with_context(|| f.display().to_string())?
        }
        None => custody_posture::parse_rules(custody_posture::DEFAULT_RULES)?,
    };
    for id in &a.rules {
        if !rules.iter().any(|r| &r.id == id) {
            let ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
            anyhow::bail!("no rule `{id}`; there are: {}", ids.join(", "));
        }
    }
    rules.retain(|r| {
        (a.rules.is_empty() || a.rules.contains(&r.id))
            && a.severity.is_none_or(|s| r.severity >= s)
    });
    Ok(rules)
}

pub fn run(cli: &Cli, a: &FindingsArgs) -> Result<ExitCode> {
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
    let store = paths::open_existing(cli)?;
    let started = Instant::now();
    let bar = output::spinner(cli.quiet)?;
    bar.set_message("loading the graph…");
    let graph = MemGraph::load(&store)?;
    let loaded = started.elapsed();
    bar.set_message(format!("running {} rules…", rules.len()));
    let limits = Limits {
        max_rows: usize::MAX,
        timeout: Duration::from_secs(300),
        ..Limits::default()
    };
    let today = a.as_of.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let mut report = custody_posture::run_on(&graph, &rules, &limits, today)?;
    bar.finish_and_clear();
    tracing::info!(
        "graph loaded in {:.1}s; rules ran in {:.1}s",
        loaded.as_secs_f64(),
        (started.elapsed() - loaded).as_secs_f64()
    );
    let model = if a.reach {
        let (model, took) = crate::blast::load(&store, cli.quiet)?;
        tracing::info!("permission model loaded in {:.1}s", took.as_secs_f64());
        if let Some(rule) = rules
            .iter()
            .find(|r| r.computed.as_deref() == Some("reach"))
        {
            custody_app::posture::admin_equivalent(&graph, &model, rule, &mut report);
        }
        Some(model)
    } else {
        None
    };
    let skipped: Vec<&str> = rules
        .iter()
        .filter(|r| !r.is_query() && model.is_none())
        .map(|r| r.id.as_str())
        .collect();
    if !skipped.is_empty() && !cli.quiet {
        eprintln!(
            "not run without --reach (it evaluates effective permissions): {}",
            skipped.join(", ")
        );
    }
    let ranked =
        custody_app::posture::risk(&graph, model.as_ref(), &report.findings, a.top as usize);
    if a.record {
        if !a.rules.is_empty() || a.severity.is_some() || a.rules_file.is_some() {
            anyhow::bail!(
                "--record stores the full set of findings (a recording replaces the previous one): leave out --rule, --severity and --rules-file"
            );
        }
        let snapshot = record(cli, &graph, &report.findings)?;
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
    Ok(ExitCode::SUCCESS)
}

#[derive(serde::Serialize)]
struct JsonOut<'a> {
    #[serde(flatten)]
    report: &'a custody_posture::Report,
    /// The riskiest identities (severity × exposure × reach).
    risk: &'a [custody_posture::risk::Risk],
}

/// Stores the findings as graph facts in one snapshot under the posture scope.
fn record(cli: &Cli, graph: &MemGraph, findings: &[Finding]) -> Result<i64> {
    use custody_query::Graph;
    use custody_store::Store;
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let label_of = |key: &str| -> Option<String> {
        let id = graph.find(key).ok()??;
        graph.node(id).ok()?.map(|n| n.label.clone())
    };
    let facts = custody_posture::facts(findings, &label_of, &now);
    let batch = custody_store::SourceBatch {
        path: "custody findings".into(),
        format: "custody-posture".into(),
        scope: custody_posture::SCOPE.into(),
        sha256: None,
        observed_at: Some(now),
        records: findings.len(),
        facts,
        errors: Vec::new(),
    };
    let mut store = paths::open_existing(cli)?;
    Ok(store.ingest_all(vec![batch], &mut |_| {})?.snapshot)
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

/// Checks findings against a synthetic enterprise's `answers.json`: each
/// planted case of `expected.posture` found and none of its negatives, and
/// `expected.posture_exact` matched exactly (root keys aside: they have no key
/// id to list). Returns one line per mismatch, and how many checks ran.
pub fn check_expected(findings: &[Finding], answers: &serde_json::Value) -> (usize, Vec<String>) {
    let mut checks = 0;
    let mut wrong = Vec::new();
    fn of<'a>(findings: &'a [Finding], rule: &'a str) -> impl Iterator<Item = &'a Finding> {
        findings.iter().filter(move |f| f.rule == rule)
    }
    let named = |rule: &str, who: &serde_json::Value| {
        of(findings, rule).any(|f| {
            f.identity == who.as_str().unwrap_or_default() || f.evidence.get("root") == Some(who)
        })
    };
    for (rule, case) in answers["expected"]["posture"]
        .as_object()
        .into_iter()
        .flatten()
    {
        for who in case["found"].as_array().into_iter().flatten() {
            checks += 1;
            if !named(rule, who) {
                wrong.push(format!("{rule} misses {who}"));
            }
        }
        for who in case["not_found"].as_array().into_iter().flatten() {
            checks += 1;
            if named(rule, who) {
                wrong.push(format!("{rule} fires on its negative {who}"));
            }
        }
    }
    for (rule, want) in answers["expected"]["posture_exact"]
        .as_object()
        .into_iter()
        .flatten()
    {
        checks += 1;
        let want: std::collections::BTreeSet<&str> = want
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
            .collect();
        let got: std::collections::BTreeSet<&str> = of(findings, rule)
            .map(|f| f.identity.as_str())
            .filter(|k| !k.starts_with("aws-key-created:"))
            .collect();
        if got != want {
            wrong.push(format!(
                "{rule}: {} expected, {} found, {} missed, {} unexpected",
                want.len(),
                got.len(),
                want.difference(&got).count(),
                got.difference(&want).count()
            ));
        }
    }
    (checks, wrong)
}
