//! `custody list`, `custody stats`, `custody snapshots`, `custody diff`.

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

pub fn compact(cli: &Global) -> Result<ExitCode> {
    let progress = cli.progress();
    custody_app::progress::step(&progress, "compacting: the database is rewritten whole…");
    let c = paths::open_existing(cli)?.compact()?;
    drop(progress);
    match cli.format {
        OutputFormat::Json => output::json(&c)?,
        OutputFormat::Table => println!(
            "Compacted {}: {:.1} MB ({:.1} MB of it free) → {:.1} MB in {:.1}s.",
            paths::db_path(cli)?.display(),
            c.bytes_before as f64 / 1e6,
            c.free_bytes_before as f64 / 1e6,
            c.bytes_after as f64 / 1e6,
            c.seconds
        ),
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
                .map_or(0, |x| x.1);
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

#[derive(Args)]
pub struct DiffArgs {
    /// The earlier snapshot: an id (`custody snapshots`), `previous` or
    /// `latest-N`. Default: the one before `--to`.
    #[arg(long)]
    pub from: Option<String>,
    /// The later snapshot. Default: `latest`.
    #[arg(long)]
    pub to: Option<String>,
    /// At most this many entries per section (0: all); each section is
    /// counted in full.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

/// `custody diff`: what changed between two snapshots.
pub fn diff(cli: &Global, a: &DiffArgs) -> Result<ExitCode> {
    let store = paths::open_existing(cli)?;
    let (from, to) = custody_app::diff::resolve(&store, a.from.as_deref(), a.to.as_deref())?;
    let d = custody_app::diff::diff(&store, &from, &to, a.limit)?;
    match cli.format {
        OutputFormat::Json => output::json(&d)?,
        OutputFormat::Table => print_diff(&d),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_diff(d: &custody_app::diff::Diff) {
    use custody_app::diff::Item;
    let snap = |s: &custody_app::diff::SnapshotBrief| {
        format!(
            "snapshot {} ({}, {}, {} inputs)",
            s.id, s.started_at, s.what, s.inputs
        )
    };
    println!("From {}\n  to {}", snap(&d.from), snap(&d.to));
    let name = |i: &Item| match &i.name {
        Some(n) if !i.key.ends_with(n.as_str()) => format!("{} ({n})", i.key),
        _ => i.key.clone(),
    };
    let section = |title: &str, count: usize, lines: Vec<String>| {
        if count == 0 {
            return;
        }
        println!("\n{title}: {count}");
        for l in &lines {
            println!("  {l}");
        }
        if count > lines.len() {
            println!("  … and {} more (--limit 0 lists all)", count - lines.len());
        }
    };
    let items = |v: &[Item], sign: &str| -> Vec<String> {
        v.iter()
            .map(|i| format!("{sign} {:<10} {:<28} {}", i.label, i.kind, name(i)))
            .collect()
    };
    let c = |k: &str| d.counts.get(k).copied().unwrap_or(0);
    section(
        "New identities",
        c("new_identities"),
        items(&d.new_identities, "+"),
    );
    section(
        "Retired identities",
        c("retired_identities"),
        items(&d.retired_identities, "-"),
    );
    section("New people", c("new_people"), items(&d.new_people, "+"));
    section(
        "People removed",
        c("removed_people"),
        items(&d.removed_people, "-"),
    );
    let surfaces = |v: &[custody_app::diff::SurfaceChange], sign: &str| -> Vec<String> {
        v.iter()
            .map(|s| {
                format!(
                    "{sign} {} {} {} ({}){}",
                    s.credential.key,
                    s.relation,
                    s.place.key,
                    s.place.kind,
                    if s.credential_is_new {
                        ""
                    } else {
                        "  ← a credential that already existed"
                    }
                )
            })
            .collect()
    };
    section(
        "New surfaces",
        c("new_surfaces"),
        surfaces(&d.new_surfaces, "+"),
    );
    section(
        "Surfaces removed",
        c("removed_surfaces"),
        surfaces(&d.removed_surfaces, "-"),
    );
    section(
        "Ownership evidence changed",
        c("owner_changes"),
        d.owner_changes
            .iter()
            .map(|o| {
                let ev = |e: &custody_app::diff::OwnerEvidence, sign: &str| {
                    format!(
                        "{sign}{} {}{}",
                        e.relation,
                        e.party.key,
                        e.said
                            .as_deref()
                            .map(|s| format!(" ({s})"))
                            .unwrap_or_default()
                    )
                };
                let mut parts: Vec<String> = o.removed.iter().map(|e| ev(e, "-")).collect();
                parts.extend(o.added.iter().map(|e| ev(e, "+")));
                format!("{}: {}", o.identity.key, parts.join("; "))
            })
            .collect(),
    );
    section(
        "Status changed",
        c("status_changes"),
        d.status_changes
            .iter()
            .map(|s| {
                let parts: Vec<String> = s
                    .changed
                    .iter()
                    .map(|(k, v)| format!("{k} {} → {}", output::cell(&v[0]), output::cell(&v[1])))
                    .collect();
                format!("{}: {}", name(&s.node), parts.join(", "))
            })
            .collect(),
    );
    let findings = |v: &[custody_app::diff::FindingChange], sign: &str| -> Vec<String> {
        v.iter()
            .map(|f| format!("{sign} {:<8} {:<34} {}", f.severity, f.rule, f.identity))
            .collect()
    };
    section(
        "New findings",
        c("new_findings"),
        findings(&d.new_findings, "+"),
    );
    section(
        "Resolved findings",
        c("resolved_findings"),
        findings(&d.resolved_findings, "-"),
    );
    if d.counts.values().all(|&n| n == 0) {
        println!("\nNothing changed.");
    }
    for n in &d.notes {
        println!("\nnote: {n}");
    }
}
