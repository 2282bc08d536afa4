//! `custody respond REF --action rotate|disable|revoke [--execute]`: the plan to
//! rotate, disable or revoke a credential — every copy and consumer from the
//! graph, in the order that avoids an outage, with the command for each system.
//! Without `--execute` (the default, `--dry-run`) custody changes nothing. With
//! it, custody takes the steps it can take through the system's API (AWS:
//! deactivating the key), checks the result, and writes each to the response
//! log with who, when and why; `--history` reads that log.

use crate::{output, paths, Cli, OutputFormat};
use anyhow::{bail, Context, Result};
use clap::Args;
use custody_app::respond::{plan, Action, Operation, Plan};
use custody_response::{AwsOptions, Iam};
use custody_store::{ResponseRow, Store};
use serde::Serialize;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

#[derive(Args)]
pub struct RespondArgs {
    /// The credential: an access key id or natural key (optional with --history).
    #[arg(required_unless_present = "history")]
    pub reference: Option<String>,
    /// rotate (replace everywhere, then retire), disable (deactivate, knowing
    /// what breaks) or revoke (compromised: cut access first).
    #[arg(long, value_parser = parse_action, required_unless_present = "history")]
    pub action: Option<Action>,
    /// Only print the plan (the default).
    #[arg(long, conflicts_with = "execute")]
    pub dry_run: bool,
    /// Take the steps marked `[custody]` through the system's API (AWS IAM via the
    /// AWS SDK and its usual credentials), check each, and log it.
    #[arg(long, requires = "reason")]
    pub execute: bool,
    /// Why: recorded in the response log with each executed step (required with --execute).
    #[arg(long)]
    pub reason: Option<String>,
    /// Do not ask for confirmation (needed with --execute when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// The AWS profile to act with (default: the SDK's chain: AWS_PROFILE, env keys, SSO cache, instance role…).
    #[arg(long)]
    pub profile: Option<String>,
    /// An IAM endpoint other than AWS's (a local emulator); AWS_ENDPOINT_URL works too.
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// Print the response log (every executed step: when, who, why, outcome), for REF or for all.
    #[arg(long, conflicts_with_all = ["execute", "action"])]
    pub history: bool,
}

fn parse_action(s: &str) -> Result<Action, String> {
    Action::parse(s).ok_or_else(|| format!("`{s}` is not an action: rotate, disable or revoke"))
}

pub fn run(cli: &Cli, a: &RespondArgs) -> Result<ExitCode> {
    let mut store = paths::open_existing(cli)?;
    let credential = match &a.reference {
        Some(r) => {
            let Some(id) = store.find(r)? else {
                bail!(
                    "nothing matches `{r}`: give an access key id or natural key (`custody list --kind aws_access_key`)"
                );
            };
            Some((
                id,
                store
                    .node(id)?
                    .context("node vanished while reading")?
                    .brief
                    .key,
            ))
        }
        None => None,
    };
    if a.history {
        let rows = store.responses(credential.as_ref().map(|(_, k)| k.as_str()))?;
        match cli.format {
            OutputFormat::Json => output::json(&rows)?,
            OutputFormat::Table => print_history(&rows),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (Some((id, _)), Some(action)) = (credential, a.action) else {
        bail!("give a credential and --action (or --history)");
    };
    let p = plan(&store, id, action)?;
    if !a.execute {
        match cli.format {
            OutputFormat::Json => output::json(&p)?,
            OutputFormat::Table => print(&p),
        }
        return Ok(ExitCode::SUCCESS);
    }
    execute(cli, a, &mut store, &p)
}

/// What `--execute` did with one step.
#[derive(Serialize)]
struct Executed {
    order: usize,
    system: String,
    target: String,
    /// `done`, `failed`, `not-run` (an earlier step failed) or `operator`
    /// (left to a person: the plan's command says how).
    outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    operation: Option<&'static str>,
    detail: String,
}

#[derive(Serialize)]
struct Execution<'a> {
    plan: &'a Plan,
    acting_as: String,
    reason: &'a str,
    executed: Vec<Executed>,
}

fn execute(cli: &Cli, a: &RespondArgs, store: &mut dyn Store, p: &Plan) -> Result<ExitCode> {
    if p.action == Action::Rotate {
        bail!(
            "custody does not execute rotations: the replacement key is a new secret, which custody never handles. \
             Run the plan's steps (`custody respond {} --action rotate`), and once `custody usage` shows the old key idle, \
             `--action disable --execute` deactivates it",
            p.credential
        );
    }
    if !p.credential.starts_with("aws-access-key:") {
        bail!(
            "custody executes AWS access key deactivation only, so it cannot act on it: revoking {} needs its value, \
             which only its holder has (custody never stores it). Run the plan's steps (`custody respond {} --action {}`)",
            p.credential,
            p.credential,
            format!("{:?}", p.action).to_lowercase()
        );
    }
    if !p.steps.iter().any(|s| s.operation.is_some()) {
        bail!(
            "custody does not know which IAM user holds {}, so it cannot act on it: ingest `aws iam list-access-keys` \
             or the authorization details and credential report first",
            p.credential
        );
    }
    let reason = a.reason.as_deref().unwrap_or_default().trim();
    if reason.is_empty() {
        bail!("--reason must say why: it is recorded with every step custody takes");
    }
    // The log keeps no secret, even one pasted into the reason.
    let redacted = custody_model::guard::redact_text(reason, &paths::fingerprinter()?);
    let reason = redacted.as_deref().unwrap_or(reason);
    if !a.yes {
        confirm(p)?;
    }
    let options = AwsOptions {
        profile: a.profile.clone(),
        endpoint_url: a.endpoint_url.clone(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let iam = runtime
        .block_on(Iam::connect(&options))
        .context("cannot act on AWS")?;
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let actor = format!("{user} (AWS access key {})", iam.acting_key_id);
    let mut executed = Vec::new();
    let mut failed = false;
    for s in &p.steps {
        let mut e = Executed {
            order: s.order,
            system: s.system.clone(),
            target: s.target.clone(),
            outcome: "operator".into(),
            operation: None,
            detail: String::new(),
        };
        if let Some(op) = &s.operation {
            e.operation = Some(op.api());
            if failed {
                e.outcome = "not-run".into();
                e.detail = "an earlier step failed".into();
            } else {
                let result = match op {
                    Operation::DeactivateAccessKey {
                        user_name,
                        access_key_id,
                    } => runtime.block_on(iam.deactivate_key(user_name, access_key_id)),
                };
                match result {
                    Ok(done) => {
                        e.outcome = "done".into();
                        e.detail = match &done.request_id {
                            Some(r) => format!("{} → {} (request {r})", done.before, done.after),
                            None => format!("already {}; nothing changed", done.before),
                        };
                        if done.after != custody_response::KeyStatus::Inactive {
                            e.outcome = "failed".into();
                            e.detail
                                .push_str(": IAM still reports the key as not inactive");
                        }
                    }
                    Err(err) => {
                        e.outcome = "failed".into();
                        e.detail = err.to_string();
                    }
                }
                failed |= e.outcome == "failed";
            }
            store.response_log(&ResponseRow {
                at: String::new(),
                actor: actor.clone(),
                reason: reason.to_string(),
                credential: p.credential.clone(),
                action: format!("{:?}", p.action).to_lowercase(),
                step: s.order as i64,
                system: s.system.clone(),
                target: s.target.clone(),
                operation: op.api().to_string(),
                outcome: e.outcome.clone(),
                detail: e.detail.clone(),
            })?;
            tracing::info!(step = s.order, operation = op.api(), outcome = %e.outcome, "response step");
        }
        executed.push(e);
    }
    let run = Execution {
        plan: p,
        acting_as: actor,
        reason,
        executed,
    };
    match cli.format {
        OutputFormat::Json => output::json(&run)?,
        OutputFormat::Table => print_execution(&run),
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Asks the operator to type the key id back: a deliberate act, not a reflex.
fn confirm(p: &Plan) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!("--execute changes AWS: pass --yes to confirm when not at a terminal");
    }
    print(p);
    let short = p.credential.trim_start_matches("aws-access-key:");
    eprint!("\ncustody will take the steps marked [custody] above. Type the key id ({short}) to go on: ");
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    if line.trim() != short {
        bail!("not confirmed: nothing was changed");
    }
    Ok(())
}

fn print(p: &Plan) {
    println!(
        "Plan to {:?} {} (dry run: custody changes nothing; `--execute` takes the [custody] steps)",
        p.action, p.credential
    );
    if let Some(principal) = &p.principal {
        println!("authenticates as {principal}");
    }
    if !p.owners.is_empty() {
        println!("owned by {}", p.owners.join(", "));
    }
    println!("stored in {} place(s)", p.places.len());
    println!();
    for s in &p.steps {
        let by = if s.operation.is_some() {
            " [custody]"
        } else {
            ""
        };
        println!(
            "{:>2}. [{}] {} — {}{by}",
            s.order, s.system, s.target, s.what
        );
        if let Some(c) = &s.command {
            println!("      $ {c}");
        }
    }
}

fn print_execution(run: &Execution<'_>) {
    println!(
        "{:?} {} as {} — why: {}",
        run.plan.action, run.plan.credential, run.acting_as, run.reason
    );
    for (s, e) in run.plan.steps.iter().zip(&run.executed) {
        let mark = match e.outcome.as_str() {
            "done" => "done    ",
            "failed" => "FAILED  ",
            "not-run" => "not run ",
            _ => "yours   ",
        };
        println!(
            "{mark}{:>2}. [{}] {} — {}",
            s.order, s.system, s.target, s.what
        );
        if !e.detail.is_empty() {
            println!("          {}", e.detail);
        } else if let Some(c) = &s.command {
            println!("          $ {c}");
        }
    }
    println!("\nLogged: `custody respond {} --history`. The graph shows the key's old status until the next ingest of IAM data.",
        run.plan.credential.trim_start_matches("aws-access-key:"));
}

fn print_history(rows: &[ResponseRow]) {
    if rows.is_empty() {
        println!("no response steps executed yet");
        return;
    }
    for r in rows {
        println!(
            "{}  {:<7} {} step {} {} {} → {}: {}\n    by {} — why: {}",
            r.at,
            r.outcome,
            r.action,
            r.step,
            r.operation,
            r.target,
            r.credential,
            r.detail,
            r.actor,
            r.reason
        );
    }
}
