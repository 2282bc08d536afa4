//! `custody respond REF --action rotate|disable|revoke [--execute]`: the plan to
//! rotate, disable or revoke a credential — every copy and consumer from the
//! graph, in the order that avoids an outage, with the command for each system.
//! Without `--execute` (the default, `--dry-run`) custody changes nothing. With
//! it, custody takes the steps it can take through the system's API (AWS:
//! deactivating the key), checks the result, and writes each to the response
//! log with who, when and why; `--history` reads that log.

use crate::global::{Global, OutputFormat};
use crate::{output, paths};
use anyhow::{bail, Context, Result};
use clap::Args;
use custody_app::respond::{plan, Action, Actor, Execution, Operation, Outcome, Plan};
use custody_response::{AwsOptions, Iam};
use custody_store::{ResponseRow, Store};
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

pub fn run(cli: &Global, a: &RespondArgs) -> Result<ExitCode> {
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

/// The AWS SDK, acting for `custody-app`'s response execution.
struct Aws {
    runtime: tokio::runtime::Runtime,
    iam: Iam,
    actor: String,
}

impl Actor for Aws {
    fn acting_as(&self) -> String {
        self.actor.clone()
    }
    fn run(&self, op: &Operation) -> std::result::Result<Outcome, String> {
        let result = match op {
            Operation::DeactivateAccessKey {
                user_name,
                access_key_id,
            } => self
                .runtime
                .block_on(self.iam.deactivate_key(user_name, access_key_id)),
        };
        result
            .map(|done| Outcome {
                before: done.before.to_string(),
                after: done.after.to_string(),
                request_id: done.request_id.clone(),
                took_effect: done.after == custody_response::KeyStatus::Inactive,
            })
            .map_err(|e| e.to_string())
    }
}

fn execute(cli: &Global, a: &RespondArgs, store: &mut dyn Store, p: &Plan) -> Result<ExitCode> {
    custody_app::respond::executable(p)?;
    let reason = a.reason.as_deref().unwrap_or_default();
    if reason.trim().is_empty() {
        bail!("--reason must say why: it is recorded with every step custody takes");
    }
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
    let actor = format!(
        "{} (AWS access key {})",
        crate::global::local_user(),
        iam.acting_key_id
    );
    let aws = Aws {
        runtime,
        iam,
        actor,
    };
    let run = custody_app::respond::execute(store, p, reason, &aws)?;
    match cli.format {
        OutputFormat::Json => output::json(&run)?,
        OutputFormat::Table => print_execution(&run),
    }
    Ok(if run.failed() {
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
    if let Some(l) = &p.liveness {
        match l.state.as_str() {
            "live" => println!("its issuer accepted it on {}: it still works", l.checked_at),
            "revoked" => println!(
                "its issuer refused it on {} ({}): it no longer works; what is left is removing the copies",
                l.checked_at,
                l.detail.as_deref().unwrap_or("revoked")
            ),
            _ => println!("asked on {} whether it works, its issuer gave no clear answer", l.checked_at),
        }
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
