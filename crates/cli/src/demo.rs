//! `custody synth` and `custody demo`.

use crate::global::{Global, OutputFormat};
use crate::{output, paths, render};
use anyhow::Result;
use chrono::NaiveDate;
use clap::Args;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct SynthArgs {
    /// Number of people in the company.
    #[arg(long, default_value_t = 1000)]
    pub people: usize,
    /// Random seed: the same seed, size and date give the same files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The snapshot date (YYYY-MM-DD); every date in the output is relative to it. Default: today (UTC).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<NaiveDate>,
    /// Output folder (created; files of the same names are replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// About how many CloudTrail events to write over the two weeks before the
    /// snapshot date. Default: 200 per person.
    #[arg(long, value_name = "N")]
    pub audit_events: Option<usize>,
}

#[derive(Args)]
pub struct DemoArgs {
    /// Size of the synthetic company.
    #[arg(long, default_value_t = 200)]
    pub people: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Where to write the synthetic exports and the demo database. Default: $CUSTODY_HOME/demo.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// How to run this same binary again: relative to the working folder when it is
/// inside it (`target/release/custody` after `cargo run`), else its full path.
fn invocation() -> String {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("custody"));
    let rel = std::env::current_dir()
        .ok()
        .and_then(|cwd| exe.strip_prefix(&cwd).ok().map(|p| p.to_path_buf()));
    match rel {
        Some(r) => format!("./{}", r.display()),
        None if exe.parent().is_some_and(|d| {
            std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|x| x == d))
        }) =>
        {
            "custody".into()
        }
        None => exe.display().to_string(),
    }
}

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

pub fn synth(cli: &Global, a: &SynthArgs) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    let answers = custody_app::demo::synthesize(
        a.people,
        a.seed,
        a.as_of.unwrap_or_else(today),
        &a.out,
        a.audit_events,
    )?;
    match cli.format {
        OutputFormat::Json => output::json(&answers)?,
        OutputFormat::Table => {
            let c = &answers.counts;
            println!(
                "Wrote {} files ({:.1} MB) to {} in {:.1}s.",
                c.files,
                c.bytes as f64 / 1e6,
                a.out.display(),
                started.elapsed().as_secs_f64()
            );
            println!(
                "{} people ({} terminated), {} Okta groups, {} AWS accounts, {} non-human identities ({} per person).",
                c.people, c.terminated, c.okta_groups, c.aws_accounts, c.nhi_total, c.nhi_per_person
            );
            let rows: Vec<Vec<String>> = c
                .nhis
                .iter()
                .map(|(k, n)| vec![k.clone(), n.to_string()])
                .collect();
            output::table(&["KIND", "COUNT"], &rows);
            println!(
                "Planted scenarios and expected answers: {}",
                a.out.join("answers.json").display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn demo(cli: &Global, a: &DemoArgs) -> Result<ExitCode> {
    let dir = match &a.dir {
        Some(d) => d.clone(),
        None => paths::home()?.join("demo"),
    };
    let db = cli.db.clone().unwrap_or_else(|| dir.join("custody.db"));
    let folder = custody_app::demo::take_folder(&dir, &db)?;
    let snapshot = folder.snapshot.clone();
    let progress = cli.progress();
    let mut store = paths::open_store_at(&db)?;
    let d = custody_app::demo::run(&mut store, &snapshot, a.people, a.seed, today(), &progress)?;
    drop(progress);
    let ok = d.checks.all;
    let custody_app::demo::Demo {
        answers,
        ingest: ing,
        scan: scanned,
        stats,
        scenario,
        key_id,
        shown,
        surfaces_found,
        surfaces,
        blast_radius: reach,
        reachability: checks,
        usage: usage_eval,
        alerts_by_rule,
        posture,
        posture_checks,
        posture_wrong,
        risk,
        federation,
        cross_cloud,
        agent,
        leaver,
        checks: passed,
        ..
    } = d;
    match cli.format {
        OutputFormat::Json => output::json(&json!({
            "snapshot_dir": snapshot, "db": db, "answers": answers, "ingest": ing, "stats": stats,
            "planted": {"expected": scenario, "found": shown, "detected": ok},
            "blast_radius": reach, "reachability_checks": checks, "usage_eval": usage_eval, "scan": scanned,
            "posture": {"rules": posture.rules, "checks": posture_checks, "wrong": posture_wrong, "risk": risk},
            "federation": federation.as_ref().map(|(f, holds)| json!({"chain": f.lineage.federation, "holds": holds})),
            "cross_cloud": cross_cloud,
            "agent": agent.as_ref().map(|a| json!({"agent": a.shown.node.brief.key, "credentials": a.shown.lineage.credentials, "combined_blast_radius": a.reach, "holds": a.holds})),
            "offboarding": leaver.as_ref().map(|l| json!({"email": l.email, "manager": l.manager, "expected": l.expected, "found": l.found, "systems": l.systems, "missing": l.missing, "unexpected": l.unexpected, "holds": l.holds})),
        }))?,
        OutputFormat::Table => {
            print_setup(&answers, &snapshot, &ing, &scanned, &stats);
            println!(
                "3. The planted scenario: {}",
                scenario["summary"].as_str().unwrap_or_default()
            );
            println!("   `custody show {key_id}` says:\n");
            render::identity(&shown);
            println!();
            if surfaces_found {
                println!(
                    "   ✓ one credential, {} surfaces: IAM (authorization details, credential report, list-access-keys) and",
                    1 + surfaces.len()
                );
                for s in &surfaces {
                    println!("       {s}");
                }
            } else {
                println!(
                    "   ✗ some planted surfaces were not found: expected {}, found {surfaces:?}",
                    scenario["surfaces"]
                );
            }
            if ok {
                println!(
                    "   ✓ custody tied the key to {} and its owner {} (left {}), from {} sources.",
                    scenario["principal_arn"].as_str().unwrap_or_default(),
                    scenario["owner_email"].as_str().unwrap_or_default(),
                    scenario["owner_terminated_on"].as_str().unwrap_or_default(),
                    shown.sources.len()
                        + shown
                            .lineage
                            .owners
                            .iter()
                            .map(|o| o.sources.len())
                            .sum::<usize>()
                );
            } else {
                println!(
                    "   ✗ custody did not surface the planted scenario as answers.json expects."
                );
            }
            println!(
                "\n4. What that key can reach, through every role it can become (`custody blast-radius {key_id}`):\n"
            );
            render::blast_radius(&reach, 5);
            println!();
            let held = checks.iter().filter(|c| c.holds).count();
            if passed.reachability {
                println!(
                    "   ✓ all {held} planted reachability answers hold (role chain, explicit deny, SCP deny, the leaver's key)."
                );
            } else {
                println!(
                    "   ✗ {held} of {} planted reachability answers hold:",
                    checks.len()
                );
                for c in checks.iter().filter(|c| !c.holds) {
                    println!(
                        "     {}: expected {:?}, found {:?}",
                        c.id, c.expected, c.found
                    );
                }
            }
            if let Some((f, holds)) = &federation {
                println!(
                    "\n   One subject across three clouds (`custody show {}`):",
                    f.node.brief.key.trim_start_matches("uri:")
                );
                for h in &f.lineage.federation {
                    println!(
                        "     {}{} → {} [{}]{}",
                        "  ".repeat(h.depth - 1),
                        h.from.name.as_deref().unwrap_or(&h.from.key),
                        h.to.key.trim_start_matches("email:"),
                        h.how.get("via").map(output::cell).unwrap_or_default(),
                        match h.trust_accepts {
                            Some(true) => " (the role's trust admits this repository)",
                            Some(false) => " (the role's trust does NOT admit this repository)",
                            None => "",
                        }
                    );
                }
                println!(
                    "   {} the planted chain GitHub workflow → AWS role → Google Cloud service account {}.",
                    if *holds { "✓" } else { "✗" },
                    if *holds { "is one path in the graph" } else { "was not found whole" }
                );
            }
            if let Some(c) = &cross_cloud {
                println!(
                    "\n   One blast radius across three clouds (`custody blast-radius {}`): {} resources",
                    c.workflow,
                    c.reach.by_sensitivity.values().sum::<usize>()
                );
                for hit in &c.clouds {
                    match &hit.found {
                        Some(r) => println!(
                            "     {:<5} {} on {} ({}) via {}\n           {}",
                            hit.cloud,
                            r.access,
                            r.arn,
                            r.sensitivity,
                            r.path.join(" → "),
                            r.reason
                        ),
                        None => println!("     {:<5} ✗ {} not reached", hit.cloud, hit.expected),
                    }
                }
                println!(
                    "     The seed's question (`custody ask cross-cloud-keys`): AWS keys that can read Key Vault secrets and reach Google Cloud: {}{}",
                    if c.question_found.is_empty() { "none".to_string() } else { c.question_found.join(", ") },
                    if c.question_found == c.question_expected { " (as planted)".to_string() } else { format!(" (planted: {})", c.question_expected.join(", ")) }
                );
                println!(
                    "   {} the workflow reaches AWS, Google Cloud and Azure resources, each with its path{}.",
                    if c.holds { "✓" } else { "✗" },
                    if c.clouds.iter().any(|h| h.cloud == "github") {
                        "; a deploy key that can push to its repository reaches them too"
                    } else {
                        ""
                    }
                );
            }
            if agent.is_none() && !passed.agent {
                println!(
                    "\n   ✗ the planted AI agent is not in the graph (was workstations/ scanned?)."
                );
            }
            if let Some(a) = &agent {
                println!(
                    "\n   One AI agent, {} credentials (`custody show {}`):",
                    a.shown.lineage.credentials.len(),
                    a.shown.node.brief.key.trim_start_matches("uri:")
                );
                for c in &a.shown.lineage.credentials {
                    println!(
                        "     {:<26} {}",
                        c.kind,
                        c.name.as_deref().unwrap_or(&c.key)
                    );
                }
                println!(
                    "   Together they reach {} AWS resource(s) ({} critical) through {} principal(s) (`custody blast-radius` on the agent).",
                    a.reach.resources.len(),
                    a.reach.resources.iter().filter(|r| r.sensitivity == "critical").count(),
                    a.reach.principals.len()
                );
                println!(
                    "   {} the planted agent holds all {} credentials answers.json names{}.",
                    if a.holds { "✓" } else { "✗" },
                    a.expected,
                    if a.holds {
                        ", the two ambient ones from its host included"
                    } else {
                        ": some are missing"
                    }
                );
            }
            if let Some(l) = &leaver {
                println!(
                    "\n   A developer left: `custody offboard {}` finds {} of the {} identities they left across {} systems ({}), routed to their manager {}:",
                    l.email,
                    l.found,
                    l.expected,
                    l.systems.len(),
                    l.systems.join(", "),
                    l.manager
                );
                println!(
                    "   {} {} from tags, owner fields and metadata, {} through the Terraform code they committed (from a GitHub noreply address SAML ties to them), {} contested{}.",
                    if l.holds { "✓" } else { "✗" },
                    l.found - l.from_code,
                    l.from_code,
                    l.contested,
                    if l.missing.is_empty() && l.unexpected.is_empty() {
                        String::new()
                    } else {
                        format!("; missing {:?}, unexpected {:?}", l.missing, l.unexpected)
                    }
                );
            } else if !passed.leaver {
                println!("\n   ✗ the planted leaver is not in the graph.");
            }
            let dbs = db.display();
            let exe = invocation();
            if let Some(logs) = &ing.logs {
                println!(
                    "\n5. How they were really used: {} CloudTrail events in {} files read in {:.1}s into {} usage profiles (`custody alerts`):\n",
                    logs.events, logs.files, logs.seconds, logs.identities
                );
                for (rule, n) in &alerts_by_rule {
                    println!("   {n:>4}  {rule}");
                }
                let e = &usage_eval;
                println!(
                    "\n   {} {} of {} planted anomalies found (precision {:.2}, recall {:.2}); {} of {} stale keys.",
                    if passed.usage { "✓" } else { "✗" },
                    e.alerts.true_positives,
                    e.alerts.expected,
                    e.alerts.precision,
                    e.alerts.recall,
                    e.stale.true_positives,
                    e.stale.expected
                );
            }
            println!(
                "\n6. What is wrong: {} findings from {} posture rules (OWASP NHI Top 10; `custody findings --reach`):\n",
                posture.findings.len(),
                posture.rules.len()
            );
            for r in &posture.rules {
                println!(
                    "   {:>6}  {:<9} {}",
                    r.findings,
                    r.severity.as_str(),
                    r.rule
                );
            }
            println!("\n   Riskiest identities (severity × kinds of place × blast radius):");
            for r in &risk {
                println!(
                    "   {:>7.1}  {}  ({} findings, {} kinds of place{})",
                    r.risk,
                    r.identity,
                    r.findings,
                    r.places,
                    r.reach
                        .as_ref()
                        .map(|x| format!(", reaches {} resources", x.resources))
                        .unwrap_or_default()
                );
            }
            if passed.posture {
                println!("\n   ✓ all {posture_checks} planted posture checks hold (each rule's case found, its negative not; four rules exactly).");
            } else {
                println!(
                    "\n   ✗ {} of {posture_checks} planted posture checks fail:",
                    posture_wrong.len()
                );
                for w in &posture_wrong {
                    println!("     {w}");
                }
            }
            println!("\n7. Explore the same database:");
            println!("   {exe} --db {dbs} show {key_id}");
            println!(
                "   {exe} --db {dbs} show {}",
                scenario["owner_email"].as_str().unwrap_or_default()
            );
            println!("   {exe} --db {dbs} blast-radius {key_id}");
            println!("   {exe} --db {dbs} blast-radius --all --top 20");
            println!("   {exe} --db {dbs} ask surfaces --param credential=aws-access-key:{key_id}");
            println!("   {exe} --db {dbs} ask leavers-active-keys");
            println!("   {exe} --db {dbs} findings --reach --top 10");
            println!("   {exe} --db {dbs} alerts --severity high");
            println!("   {exe} --db {dbs} usage {key_id} --right-size");
            println!("   {exe} --db {dbs} stale --days 90");
            println!("   {exe} --db {dbs} migrate {key_id} --out migration   # static key → OIDC / IRSA / Identity Center");
            println!(
                "   {exe} --db {dbs} query \"MATCH (a:Agent)-[:HOLDS]->(k:Credential) RETURN a.name, k.key\""
            );
            println!(
                "   {exe} --db {dbs} mcp      # for Claude Desktop, Cursor, VS Code (docs/CLI.md)"
            );
            println!(
                "   {exe} --db {dbs} serve    # the HTTP API and MCP over HTTP, with a bearer token"
            );
            println!(
                "   {exe} --db {dbs} export --format opengraph -o graph.json   # for BloodHound CE"
            );
            println!("   {exe} --db {dbs} list --kind aws_access_key");
            println!("   {exe} --db {dbs} stats");
            println!("\n8. See it in the browser:");
            println!("   {exe} --db {dbs} serve");
            println!("   then open the http://127.0.0.1:8700/ui/#login=… link it prints (one-time; or sign in with the token file it names)");
            println!("   and search {key_id}: its six surfaces, its terminated owner, its paths, findings, alerts and history.");
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Steps 1 and 2 of the tour: the company written, and what was read.
fn print_setup(
    answers: &custody_app::demo::Answers,
    snapshot: &std::path::Path,
    ing: &custody_app::ingest::IngestOutput,
    scanned: &custody_app::scan::ScanOut,
    stats: &custody_store::Stats,
) {
    let c = &answers.counts;
    println!("custody demo: a synthetic enterprise, end to end\n");
    println!(
        "1. Generated Northwind Labs (fictional): {} people ({} have left), {} Okta groups, {} AWS accounts.",
        c.people, c.terminated, c.okta_groups, c.aws_accounts
    );
    println!(
        "   Written as native exports ({} files, {:.1} MB) in {}:",
        c.files,
        c.bytes as f64 / 1e6,
        snapshot.display()
    );
    println!("   HR roster CSV, Okta /api/v1 users and groups, and per AWS account `aws iam get-account-authorization-details`,");
    println!("   the IAM credential report and `aws iam list-access-keys` (the only export that carries access key ids).\n");
    let humans = stats
        .nodes_by_label
        .iter()
        .find(|(l, _)| l == "Human")
        .map_or(0, |x| x.1);
    println!(
        "2. Ingested {} files as snapshot {} in {:.1}s: {} facts resolved into {} nodes and {} edges.",
        ing.files.len(),
        ing.snapshot,
        ing.elapsed_seconds,
        ing.report.facts,
        stats.nodes,
        stats.edges
    );
    println!(
        "   {} non-human identities for {} humans ({:.1} per human: AWS, Kubernetes, Google Cloud, GitHub, Vault,",
        stats.identities,
        humans,
        stats.identities as f64 / humans.max(1) as f64
    );
    println!("   Entra ID, Okta apps and tokens, Terraform state, and AI agents on workstations).");
    println!("   Each access key was seen in two exports (credential report and list-access-keys) and is one node.");
    let commits: usize = scanned.repositories.iter().map(|r| r.commits).sum();
    println!(
        "   `custody scan --git` read {} files (Kubernetes Secrets, MCP configs, Secrets Manager values) and every blob of\n   {} repositories' history ({commits} commits): {} credential(s) found (values never shown or stored),\n   joined to the inventory by key id or fingerprint.\n",
        scanned.files,
        scanned.repositories.len(),
        scanned.credentials.len()
    );
}
