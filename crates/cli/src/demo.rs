//! `custody synth` and `custody demo`.

use crate::{blast, ingest, output, paths, scan, show, Cli, OutputFormat};
use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::Args;
use custody_store::Store;
use serde_json::{json, Value};
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

pub fn run_synth(
    people: usize,
    seed: u64,
    as_of: NaiveDate,
    out: &std::path::Path,
    audit_events: Option<usize>,
) -> Result<custody_synth::Answers> {
    custody_synth::generate(&custody_synth::Options {
        people,
        seed,
        as_of,
        out: out.to_path_buf(),
        audit_events: audit_events.unwrap_or(people * 200),
    })
    .map_err(anyhow::Error::from)
}

pub fn synth(cli: &Cli, a: &SynthArgs) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    let answers = run_synth(
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

pub fn demo(cli: &Cli, a: &DemoArgs) -> Result<ExitCode> {
    let dir = match &a.dir {
        Some(d) => d.clone(),
        None => paths::home()?.join("demo"),
    };
    let snapshot = dir.join("snapshot");
    let db = cli.db.clone().unwrap_or_else(|| dir.join("custody.db"));
    // Start clean: only the paths the demo itself writes.
    if snapshot.exists() {
        std::fs::remove_dir_all(&snapshot)
            .with_context(|| format!("cannot clear {}", snapshot.display()))?;
    }
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", db.display()));
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("cannot remove {}", p.display()))?;
        }
    }
    let table = cli.format == OutputFormat::Table;
    if table {
        println!("custody demo: a synthetic enterprise, end to end\n");
    }
    let answers = run_synth(a.people, a.seed, today(), &snapshot, None)?;
    let c = &answers.counts;
    if table {
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
    }
    let mut store = paths::open_store_at(&db)?;
    let ing = ingest::ingest(&mut store, std::slice::from_ref(&snapshot), cli.quiet)?;
    // The planted key's copies outside IAM: a repository, a Kubernetes Secret, an MCP config.
    let scan_roots: Vec<PathBuf> = [
        "repos",
        "kubernetes",
        "workstations",
        "secretsmanager-values",
    ]
    .iter()
    .map(|d| snapshot.join(d))
    .filter(|p| p.exists())
    .collect();
    let (scanned, batches) = scan::collect(
        &scan_roots,
        scan::Options {
            git: true,
            quiet: cli.quiet,
            ingest: true,
        },
    )?;
    let scanned_keys = crate::usage::credential_keys(&batches);
    store.ingest_all(batches, &mut |_| {})?;
    crate::usage::recheck(&mut store, &scanned_keys)?;
    let stats = store.stats()?;
    let humans = stats
        .nodes_by_label
        .iter()
        .find(|(l, _)| l == "Human")
        .map(|x| x.1)
        .unwrap_or(0);
    if table {
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
        println!(
            "   Entra ID, Okta apps and tokens, Terraform state, and AI agents on workstations)."
        );
        println!("   Each access key was seen in two exports (credential report and list-access-keys) and is one node.");
        let commits: usize = scanned.repositories.iter().map(|r| r.commits).sum();
        println!(
            "   `custody scan --git` read {} files (Kubernetes Secrets, MCP configs, Secrets Manager values) and every blob of\n   {} repositories' history ({commits} commits): {} credential(s) found (values never shown or stored),\n   joined to the inventory by key id or fingerprint.\n",
            scanned.files,
            scanned.repositories.len(),
            scanned.credentials.len()
        );
    }
    let scenario = answers.scenarios.first().cloned().unwrap_or(Value::Null);
    let key_id = scenario["access_key_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let found = store
        .find(&key_id)?
        .context("the planted access key is missing from the graph")?;
    let shown = show::build(&store, found)?;
    let owner_terminated = shown
        .lineage
        .owners
        .iter()
        .any(|o| o.employment_status.as_ref().and_then(Value::as_str) == Some("terminated"));
    // Every surface answers.json names is a STORED_IN place of the one key.
    let places: Vec<&str> = shown
        .edges
        .iter()
        .filter(|e| e.edge.kind == "STORED_IN")
        .map(|e| e.edge.other.key.as_str())
        .collect();
    let surfaces: Vec<&str> = scenario["surfaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let surfaces_found = surfaces
        .iter()
        .all(|s| places.iter().any(|p| p.contains(s)));
    let ok = owner_terminated
        && surfaces_found
        && shown.node.props.get("status").and_then(Value::as_str) == Some("Active");
    let (model, _) = blast::load(&store, cli.quiet)?;
    let reach = blast::describe(&model, &key_id, &model.blast_radius(&model.start(found)));
    let checks = blast::check_expected(&store, &model, &answers.expected["reachability"])?;
    let reach_ok = checks.iter().all(|c| c.holds);
    let usage_eval = crate::usage::eval_usage(&store, &serde_json::to_value(&answers)?)?;
    let usage_ok = usage_eval.alerts.precision == 1.0
        && usage_eval.alerts.recall == 1.0
        && usage_eval.stale.recall == 1.0;
    // What is wrong: every posture rule (the reach rule with the model loaded
    // above), checked against the planted cases; the riskiest identities.
    let graph = custody_query::MemGraph::load(&store)?;
    let rules = custody_posture::default_rules();
    let limits = custody_query::Limits {
        max_rows: usize::MAX,
        timeout: std::time::Duration::from_secs(300),
        ..Default::default()
    };
    let mut posture = custody_posture::run(&graph, &rules, &limits)?;
    if let Some(rule) = rules.iter().find(|r| !r.is_query()) {
        custody_app::posture::admin_equivalent(&graph, &model, rule, &mut posture);
    }
    let risk = custody_app::posture::risk(&graph, Some(&model), &posture.findings, 5);
    let (posture_checks, posture_wrong) =
        crate::findings::check_expected(&posture.findings, &serde_json::to_value(&answers)?);
    let posture_ok = posture_wrong.is_empty();
    let federation = federation_check(&store, answers.expected.get("federation"))?;
    let federation_ok = federation.as_ref().is_none_or(|f| f.1);
    let agent = agent_check(&store, &model, &snapshot, answers.expected.get("agent"))?;
    // Planted but not in the graph is a failure, not a skipped check.
    let agent_ok = match &agent {
        Some(a) => a.holds,
        None => !answers.expected.contains_key("agent"),
    };
    let leaver = offboarding_check(&store, answers.expected.get("offboarding"))?;
    let leaver_ok = match &leaver {
        Some(l) => l.holds,
        None => !answers.expected.contains_key("offboarding"),
    };
    let ok = ok && reach_ok && usage_ok && posture_ok && federation_ok && agent_ok && leaver_ok;
    match cli.format {
        OutputFormat::Json => output::json(&json!({
            "snapshot_dir": snapshot, "db": db, "answers": answers, "ingest": ing, "stats": stats,
            "planted": {"expected": scenario, "found": shown, "detected": ok},
            "blast_radius": reach, "reachability_checks": checks, "usage_eval": usage_eval, "scan": scanned,
            "posture": {"rules": posture.rules, "checks": posture_checks, "wrong": posture_wrong, "risk": risk},
            "federation": federation.as_ref().map(|(f, holds)| json!({"chain": f.lineage.federation, "holds": holds})),
            "agent": agent.as_ref().map(|a| json!({"agent": a.shown.node.brief.key, "credentials": a.shown.lineage.credentials, "combined_blast_radius": a.reach, "holds": a.holds})),
            "offboarding": leaver.as_ref().map(|l| json!({"email": l.email, "manager": l.manager, "expected": l.expected, "found": l.found, "systems": l.systems, "missing": l.missing, "unexpected": l.unexpected, "holds": l.holds})),
        }))?,
        OutputFormat::Table => {
            println!(
                "3. The planted scenario: {}",
                scenario["summary"].as_str().unwrap_or_default()
            );
            println!("   `custody show {key_id}` says:\n");
            show::print(&shown);
            println!();
            if surfaces_found {
                // A surface is a system holding the key, however many lines,
                // keys or commits of it do.
                let mut surfaces: Vec<String> = shown
                    .edges
                    .iter()
                    .filter(|e| e.edge.kind == "STORED_IN")
                    .map(|e| surface(&e.edge.other))
                    .collect();
                surfaces.sort_unstable();
                surfaces.dedup();
                println!(
                    "   ✓ one credential, {} surfaces: IAM (authorization details, credential report, list-access-keys) and",
                    1 + surfaces.len()
                );
                for s in &surfaces {
                    println!("       {s}");
                }
            } else {
                println!("   ✗ some planted surfaces were not found: expected {surfaces:?}, found {places:?}");
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
            blast::print(&reach, 5);
            println!();
            let held = checks.iter().filter(|c| c.holds).count();
            if reach_ok {
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
            if agent.is_none() && !agent_ok {
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
            } else if !leaver_ok {
                println!("\n   ✗ the planted leaver is not in the graph.");
            }
            let dbs = db.display();
            let exe = invocation();
            if let Some(logs) = &ing.logs {
                println!(
                    "\n5. How they were really used: {} CloudTrail events in {} files read in {:.1}s into {} usage profiles (`custody alerts`):\n",
                    logs.events, logs.files, logs.seconds, logs.identities
                );
                let all = store.alerts(i64::MIN)?;
                let mut by_rule: std::collections::BTreeMap<&str, usize> = Default::default();
                for a in &all {
                    *by_rule.entry(a.rule.as_str()).or_default() += 1;
                }
                for (rule, n) in &by_rule {
                    println!("   {n:>4}  {rule}");
                }
                let e = &usage_eval;
                println!(
                    "\n   {} {} of {} planted anomalies found (precision {:.2}, recall {:.2}); {} of {} stale keys.",
                    if usage_ok { "✓" } else { "✗" },
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
            if posture_ok {
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
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The planted GitHub → AWS → GCP chain, as `custody show` on the workflow
/// sees it, and whether every hop `answers.json` names is there.
fn federation_check(
    store: &dyn Store,
    expected: Option<&Value>,
) -> Result<Option<(custody_app::show::ShowOutput, bool)>> {
    let Some(f) = expected else {
        return Ok(None);
    };
    let Some(id) = store.find(f["workflow"].as_str().unwrap_or_default())? else {
        return Ok(None);
    };
    let shown = show::build(store, id)?;
    let role = format!(
        "arn:{}",
        f["aws_role"]
            .as_str()
            .unwrap_or_default()
            .trim_start_matches("arn:")
    );
    let sa = format!(
        "email:{}",
        f["gcp_service_account"].as_str().unwrap_or_default()
    );
    let hops = &shown.lineage.federation;
    let first = hops
        .iter()
        .any(|h| h.depth == 1 && h.to.key == role && h.trust_accepts == Some(true));
    let second = hops
        .iter()
        .any(|h| h.depth == 2 && h.from.key == role && h.to.key == sa);
    Ok(Some((shown, first && second)))
}

struct AgentCheck {
    shown: custody_app::show::ShowOutput,
    reach: blast::BlastOut,
    expected: usize,
    holds: bool,
}

/// The planted agent as `custody show` sees it: every credential it holds
/// (the kinds answers.json names, the ambient AWS and GCP keys by key), and
/// their combined blast radius.
fn agent_check(
    store: &dyn Store,
    model: &custody_analysis::Model,
    snapshot: &std::path::Path,
    expected: Option<&Value>,
) -> Result<Option<AgentCheck>> {
    let Some(a) = expected else {
        return Ok(None);
    };
    let config = snapshot.join(a["config"].as_str().unwrap_or_default());
    let key = format!(
        "mcp://{}#{}",
        config.display(),
        a["server"].as_str().unwrap_or_default()
    );
    let Some(id) = store.find(&key)? else {
        return Ok(None);
    };
    let shown = show::build(store, id)?;
    let want: Vec<&Value> = a["credentials"].as_array().into_iter().flatten().collect();
    let held = &shown.lineage.credentials;
    let mut by_key = true;
    for k in want.iter().filter_map(|c| c["key"].as_str()) {
        let id = store.find(k)?;
        by_key &= id.is_some_and(|id| held.iter().any(|h| h.id == id));
    }
    let kinds = want
        .iter()
        .filter_map(|c| c["kind"].as_str())
        .filter(|k| *k != "own")
        .all(|k| held.iter().any(|h| h.kind == k));
    let reach = blast::describe(model, &key, &model.blast_radius(&model.start(id)));
    Ok(Some(AgentCheck {
        holds: by_key && kinds && held.len() == want.len(),
        expected: want.len(),
        shown,
        reach,
    }))
}

/// The system a location belongs to, in words: a repository's history is one
/// surface however many commits carry the key.
fn surface(at: &custody_store::NodeBrief) -> String {
    let key = at.key.trim_start_matches("uri:");
    let name = at.name.clone().unwrap_or_else(|| key.to_string());
    match at.kind.as_str() {
        "git_blob" => {
            let repo = key
                .trim_start_matches("git://")
                .split('@')
                .next()
                .unwrap_or(key);
            format!("git history of {repo}")
        }
        "github_actions_secret" => format!("GitHub Actions secret: {name}"),
        "k8s_secret" => format!(
            "Kubernetes Secret {}",
            name.split('[').next().unwrap_or(&name)
        ),
        "aws_secretsmanager_secret" => format!(
            "AWS Secrets Manager secret {}",
            name.split('[').next().unwrap_or(&name)
        ),
        "mcp_config" => format!(
            "MCP configuration {}",
            key.trim_start_matches("file://")
                .split('#')
                .next()
                .unwrap_or(key)
        ),
        _ => key.split('#').next().unwrap_or(key).to_string(),
    }
}

/// The planted leaver's offboarding, checked against `answers.json`.
struct LeaverCheck {
    email: String,
    manager: String,
    expected: usize,
    found: usize,
    from_code: usize,
    contested: usize,
    systems: Vec<String>,
    missing: Vec<String>,
    unexpected: Vec<String>,
    holds: bool,
}

/// Runs `custody offboard` for the planted leaver: exactly the identities
/// answers.json lists, routed to the planted manager.
fn offboarding_check(
    store: &custody_store::SqliteStore,
    want: Option<&Value>,
) -> Result<Option<LeaverCheck>> {
    let Some(want) = want else {
        return Ok(None);
    };
    let email = want["email"].as_str().unwrap_or_default().to_string();
    let Some(person) = store.find(&email)? else {
        return Ok(None);
    };
    let o = custody_app::owner::Ownership::load(store, &mut |_| {})?;
    let report = custody_app::owner::offboard(&o, store, person, &|_, _| None)?;
    // Each handover's node, resolved once.
    let handed: Vec<(&str, Option<i64>)> = report
        .identities
        .iter()
        .map(|h| Ok((h.identity.key.as_str(), store.find(&h.identity.key)?)))
        .collect::<Result<_>>()?;
    let found: std::collections::BTreeSet<i64> = handed.iter().filter_map(|(_, id)| *id).collect();
    let mut expected = std::collections::BTreeSet::new();
    let mut missing = Vec::new();
    for i in want["identities"].as_array().into_iter().flatten() {
        let k = i["identity"].as_str().unwrap_or_default();
        match store.find(k)? {
            Some(id) => {
                expected.insert(id);
                if !found.contains(&id) {
                    missing.push(k.to_string());
                }
            }
            None => missing.push(k.to_string()),
        }
    }
    let unexpected: Vec<String> = handed
        .iter()
        .filter(|(_, id)| id.is_none_or(|id| !expected.contains(&id)))
        .map(|(k, _)| k.to_string())
        .collect();
    let manager = want["manager"].as_str().unwrap_or_default().to_string();
    let routed = report
        .identities
        .iter()
        .filter(|h| h.relation == "owner")
        .all(|h| h.to.as_ref().and_then(|p| p.email.as_deref()) == Some(manager.as_str()));
    let n_expected = want["identities"].as_array().map_or(0, Vec::len);
    Ok(Some(LeaverCheck {
        email,
        expected: n_expected,
        found: report.identities.len(),
        from_code: report
            .identities
            .iter()
            .filter(|h| {
                h.evidence
                    .iter()
                    .any(|e| e.method == "iac-author" && e.via.is_none())
            })
            .count(),
        contested: report
            .identities
            .iter()
            .filter(|h| h.relation.contains("contested"))
            .count(),
        systems: report.systems.keys().cloned().collect(),
        holds: missing.is_empty()
            && unexpected.is_empty()
            && routed
            && report.identities.len() == n_expected,
        manager,
        missing,
        unexpected,
    }))
}
