//! `custody blast-radius`: what a credential, principal or workload can reach in
//! AWS, ranked by the sensitivity of each resource and the access level, with the
//! path that grants it; `--all` ranks every credential.

use crate::global::{Global, OutputFormat};
use crate::{output, paths, render};
use anyhow::Result;
use clap::Args;
use custody_analysis::Model;
use custody_app::blast::describe;
use custody_app::progress::step;
use custody_app::Progress;
use custody_store::Store;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct BlastArgs {
    /// Access key ids, ARNs, natural keys or node ids (credentials, IAM users or
    /// roles, workloads). Several are answered from one load of the graph; JSON
    /// output is then an array.
    #[arg(required_unless_present_any = ["all", "measure", "reaching"])]
    pub references: Vec<String>,
    /// Rank every credential by what it can reach.
    #[arg(long, conflicts_with = "references")]
    pub all: bool,
    /// The other way round: every credential that can reach this resource (an
    /// ARN, key or node id), with its access, path and owners. Repeat it for
    /// several (JSON output is then an array). Computes every principal's reach
    /// first (a minute at 10,000 people).
    #[arg(long, value_name = "RESOURCE", conflicts_with_all = ["references", "all"])]
    pub reaching: Vec<String>,
    /// With --all: how many credentials to list.
    #[arg(long, default_value_t = 50)]
    pub top: usize,
    /// For one reference: how many resources to list (0: all). JSON always lists all.
    #[arg(long, default_value_t = 25)]
    pub limit: usize,
    /// Time N single-credential queries after loading (p50, p99, max), first with
    /// empty caches, then again.
    #[arg(long, value_name = "N", conflicts_with_all = ["references", "all"])]
    pub measure: Option<usize>,
}

#[derive(Args)]
pub struct EscalationsArgs {
    /// Only principals of this AWS account.
    #[arg(long)]
    pub account: Option<String>,
    /// Also list paths that rest on a potential step (existing resources whose
    /// inventory was not ingested) in the table; JSON always lists them.
    #[arg(long)]
    pub potential: bool,
}

/// `custody escalations`: every user and role with a path to full control of
/// its account, with the techniques and the path.
pub fn escalations(cli: &Global, a: &EscalationsArgs) -> Result<ExitCode> {
    let store = paths::open_existing(cli)?;
    let progress = cli.progress();
    let model = custody_app::blast::load(&store, &progress)?;
    step(&progress, "following every principal's escalation paths…");
    let mut out = custody_app::blast::escalations(&model);
    progress.done();
    if let Some(acct) = &a.account {
        out.escalating
            .retain(|e| e.account.as_deref() == Some(acct.as_str()));
    }
    if cli.format == OutputFormat::Json {
        return output::json(&out).map(|_| ExitCode::SUCCESS);
    }
    println!(
        "{} of {} users and roles can reach full control of their account ({} certain, {} conditional, {} potential); {} are administrators already.",
        out.escalating.len(),
        out.principals,
        out.certain,
        out.conditional,
        out.potential,
        out.administrators
    );
    let mut hidden = 0;
    for e in &out.escalating {
        if e.potential.is_some() && !a.potential {
            hidden += 1;
            continue;
        }
        let mark = match (e.potential, e.conditional) {
            (Some(inv), _) => format!("  [potential: ingest `{inv}` to settle]"),
            (None, true) => "  [conditional]".to_string(),
            _ => String::new(),
        };
        println!("\n{} ({}){mark}", e.principal, e.kind);
        for s in e.path.iter().skip(1) {
            println!("  → {} ({})", s.principal, s.how);
        }
    }
    if hidden > 0 {
        println!("\n{hidden} more rest on a potential step; --potential lists them.");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run(cli: &Global, a: &BlastArgs) -> Result<ExitCode> {
    let store = paths::open_existing(cli)?;
    let mut nodes = Vec::new();
    for r in &a.references {
        let node = store.find(r)?.ok_or_else(|| {
            anyhow::anyhow!(
                "nothing matches `{r}`: give an access key id, ARN, natural key (`kind:value`) or node id"
            )
        })?;
        nodes.push((r.clone(), node));
    }
    let progress = cli.progress();
    let started = Instant::now();
    let model = custody_app::blast::load(&store, &progress)?;
    progress.done();
    let took = started.elapsed();
    tracing::info!(
        "loaded {} principals and {} resources in {:.1}s",
        model.principals.len(),
        model.resources.len(),
        took.as_secs_f64()
    );
    if let Some(n) = a.measure {
        return measure(cli, &model, took, n);
    }
    if a.all {
        return all(cli, &model, a.top);
    }
    if !a.reaching.is_empty() {
        return reaching(cli, &store, &model, &a.reaching, a.limit);
    }
    let mut outs = Vec::new();
    for (reference, node) in nodes {
        let start = model.start(node);
        if start.is_empty() {
            anyhow::bail!(
                "`{reference}` is not a credential, principal, workload or agent custody can evaluate (AWS keys, IAM users and roles; GCP service accounts and keys; Entra apps, managed identities and their secrets; GitHub tokens, deploy keys and installations; workloads that run as or federate into them)"
            );
        }
        outs.push(describe(
            &model,
            &reference,
            &custody_app::blast::radius(&model, &start),
        ));
    }
    output::each(cli.format, &outs, |_, out| {
        render::blast_radius(out, a.limit)
    })?;
    Ok(ExitCode::SUCCESS)
}

fn reaching(
    cli: &Global,
    store: &dyn Store,
    model: &Model,
    references: &[String],
    limit: usize,
) -> Result<ExitCode> {
    let mut resources = Vec::new();
    for reference in references {
        let node = store.find(reference)?.ok_or_else(|| {
            anyhow::anyhow!(
                "nothing matches `{reference}`: give a resource ARN, natural key or node id"
            )
        })?;
        resources.push(model.resource(node).ok_or_else(|| {
            anyhow::anyhow!(
                "`{reference}` is not a resource custody has inventoried (AWS buckets, secrets, keys, databases, functions…; GCP hierarchy and asset inventory; Azure Resource Graph and Key Vault secrets; GitHub repositories)"
            )
        })?);
    }
    let started = Instant::now();
    let progress = cli.progress();
    step(&progress, "computing every principal's reach…");
    custody_app::blast::warm(model);
    let warmed = started.elapsed();
    step(&progress, "following role chains backwards…");
    let mut outs = Vec::new();
    let mut took = Vec::new();
    for r in resources {
        let t = Instant::now();
        outs.push(custody_app::blast::reached_by(store, model, r, limit)?);
        took.push(t.elapsed());
    }
    progress.done();
    tracing::info!(
        "every principal's reach computed in {:.1}s",
        warmed.as_secs_f64()
    );
    output::each(cli.format, &outs, |i, out| print_reached_by(out, took[i]))?;
    Ok(ExitCode::SUCCESS)
}

fn print_reached_by(out: &custody_app::blast::ReachedByOut, took: Duration) {
    println!(
        "{} ({}, sensitivity {}: {}): {} credential(s) can reach it ({:.0} ms)",
        out.resource,
        out.kind,
        out.sensitivity,
        out.sensitivity_reason,
        out.credentials,
        took.as_secs_f64() * 1000.0
    );
    let levels: Vec<String> = out
        .by_access
        .iter()
        .map(|(l, n)| format!("{l} {n}"))
        .collect();
    if !levels.is_empty() {
        println!("by access: {}", levels.join(", "));
    }
    println!();
    let rows: Vec<Vec<String>> = out
        .reachers
        .iter()
        .map(|r| {
            let via = if r.path.len() > 1 {
                format!(" via {}", r.path[1..].join(" → "))
            } else {
                String::new()
            };
            vec![
                format!("{}{}", r.access, if r.conditional { "?" } else { "" }),
                r.credential.clone(),
                if r.owners.is_empty() {
                    "(no owner)".into()
                } else {
                    r.owners.join(", ")
                },
                format!("{}{via}", r.action),
            ]
        })
        .collect();
    output::table(
        &["ACCESS", "CREDENTIAL", "OWNER", "EXAMPLE ACTION AND PATH"],
        &rows,
    );
    if out.credentials > out.reachers.len() {
        println!(
            "… and {} more (--limit 0 lists all).",
            out.credentials - out.reachers.len()
        );
    }
}

fn all(cli: &Global, model: &Model, top: usize) -> Result<ExitCode> {
    let started = Instant::now();
    let (total, ranked) = custody_app::blast::rank_all(model, top, &cli.progress());
    match cli.format {
        OutputFormat::Json => output::json(&ranked)?,
        OutputFormat::Table => {
            println!(
                "{total} credential(s) evaluated in {:.1}s; the {} with the widest blast radius:",
                started.elapsed().as_secs_f64(),
                ranked.len()
            );
            println!();
            let rows: Vec<Vec<String>> = ranked
                .iter()
                .map(|r| {
                    vec![
                        r.credential.clone(),
                        r.principals.join(", "),
                        r.can_become.to_string(),
                        r.resources.to_string(),
                        r.critical.to_string(),
                        r.score.to_string(),
                        r.top.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            output::table(
                &[
                    "CREDENTIAL",
                    "ACTS AS",
                    "BECOMES",
                    "REACHES",
                    "CRITICAL",
                    "SCORE",
                    "MOST DANGEROUS",
                ],
                &rows,
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn measure(cli: &Global, model: &Model, load: Duration, n: usize) -> Result<ExitCode> {
    let m = custody_app::blast::measure(model, load, n);
    match cli.format {
        OutputFormat::Json => output::json(&m)?,
        OutputFormat::Table => {
            println!(
                "Loaded {} principals and {} resources in {:.2}s.",
                model.principals.len(),
                model.resources.len(),
                load.as_secs_f64()
            );
            let table: Vec<Vec<String>> = m
                .passes
                .iter()
                .map(|r| {
                    vec![
                        r.pass.to_string(),
                        r.queries.to_string(),
                        format!("{:.3}", r.p50_ms),
                        format!("{:.3}", r.p99_ms),
                        format!("{:.3}", r.max_ms),
                        format!("{:.1}", r.mean_resources),
                    ]
                })
                .collect();
            println!(
                "lazy: each query computes what it needs (caches fill as queries run); precomputed: after {:.2}s computing every principal's reach in parallel.",
                m.precompute_seconds
            );
            output::table(
                &[
                    "PASS",
                    "QUERIES",
                    "P50 MS",
                    "P99 MS",
                    "MAX MS",
                    "MEAN RESOURCES",
                ],
                &table,
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
