//! `custody list`, `custody stats`, `custody snapshots`.

use crate::global::{Global, OutputFormat};
use crate::{output, paths};
use anyhow::Result;
use clap::Args;
use custody_model::Label;
use custody_store::{ListFilter, Store};
use std::process::ExitCode;

#[derive(Args)]
pub struct ListArgs {
    /// Node kind (e.g. aws_access_key, aws_iam_user, aws_iam_role, employee, okta_group).
    #[arg(long)]
    pub kind: Option<String>,
    /// Node label: Credential, Principal, Agent, Human, Group, Location, Workload, Resource.
    #[arg(long)]
    pub label: Option<String>,
    /// System: aws, okta, hris…
    #[arg(long)]
    pub system: Option<String>,
    /// At most this many rows (0: all).
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// Include nodes no longer asserted by any source, and placeholders.
    #[arg(long)]
    pub all: bool,
}

pub fn list(cli: &Global, a: &ListArgs) -> Result<ExitCode> {
    let store = paths::open_existing(cli)?;
    let label = a
        .label
        .as_deref()
        .map(|l| l.parse::<Label>().map_err(anyhow::Error::msg))
        .transpose()?;
    let f = ListFilter {
        label: label.map(|l| l.as_str().to_string()),
        kind: a.kind.clone(),
        system: a.system.clone(),
        include_retired: a.all,
        include_placeholders: a.all,
        limit: a.limit,
        offset: a.offset,
    };
    let nodes = store.list(&f)?;
    match cli.format {
        OutputFormat::Json => output::json(&nodes)?,
        OutputFormat::Table => {
            let rows: Vec<Vec<String>> = nodes
                .iter()
                .map(|n| {
                    let mut state = String::new();
                    if n.retired {
                        state.push_str("retired ");
                    }
                    if n.placeholder {
                        state.push_str("placeholder");
                    }
                    vec![
                        n.id.to_string(),
                        n.label.clone(),
                        n.kind.clone(),
                        n.key.clone(),
                        n.name.clone().unwrap_or_default(),
                        state.trim().to_string(),
                    ]
                })
                .collect();
            output::table(&["ID", "LABEL", "KIND", "KEY", "NAME", "STATE"], &rows);
            if a.limit > 0 && nodes.len() == a.limit && !cli.quiet {
                eprintln!(
                    "(first {} rows; --limit 0 for all, --offset to page)",
                    a.limit
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn stats(cli: &Global) -> Result<ExitCode> {
    let store = paths::open_existing(cli)?;
    let s = store.stats()?;
    match cli.format {
        OutputFormat::Json => output::json(&s)?,
        OutputFormat::Table => {
            let humans = s
                .nodes_by_label
                .iter()
                .find(|(l, _)| l == "Human")
                .map(|x| x.1)
                .unwrap_or(0);
            println!(
                "{} nodes ({} non-human identities), {} edges",
                s.nodes, s.identities, s.edges
            );
            if humans > 0 {
                println!(
                    "{humans} humans: {:.1} non-human identities per human",
                    s.identities as f64 / humans as f64
                );
            }
            println!(
                "{} snapshots from {} source files; {} assertions kept (with history); {} input errors recorded",
                s.snapshots, s.sources, s.assertions, s.input_errors
            );
            println!();
            output::kind_tables(&s);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn snapshots(cli: &Global) -> Result<ExitCode> {
    let store = paths::open_existing(cli)?;
    let snaps = store.snapshots()?;
    match cli.format {
        OutputFormat::Json => output::json(&snaps)?,
        OutputFormat::Table => {
            let rows: Vec<Vec<String>> = snaps
                .iter()
                .map(|s| {
                    let g = |k: &str| {
                        s.summary
                            .get(k)
                            .map(output::cell)
                            .unwrap_or_else(|| "-".into())
                    };
                    vec![
                        s.id.to_string(),
                        s.started_at.clone(),
                        g("files"),
                        g("nodes_created"),
                        g("nodes_retired"),
                        g("edges_created"),
                        g("errors"),
                        s.summary
                            .pointer("/audit_logs/status")
                            .and_then(|v| v.as_str())
                            .unwrap_or("-")
                            .to_string(),
                    ]
                })
                .collect();
            output::table(
                &[
                    "SNAPSHOT",
                    "STARTED",
                    "FILES",
                    "NEW NODES",
                    "RETIRED",
                    "NEW EDGES",
                    "ERRORS",
                    "AUDIT LOGS",
                ],
                &rows,
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
