//! `custody respond REF --action rotate|disable|revoke`: the plan to rotate,
//! disable or revoke a credential — every copy and consumer from the graph, in
//! the order that avoids an outage, with the command for each system. custody
//! changes nothing: it prints the plan.

use crate::{output, paths, Cli, OutputFormat};
use anyhow::Result;
use clap::Args;
use custody_server::respond::{plan, Action, Plan};
use custody_store::Store;
use std::process::ExitCode;

#[derive(Args)]
pub struct RespondArgs {
    /// The credential: an access key id or natural key.
    pub reference: String,
    /// rotate (replace everywhere, then retire), disable (deactivate, knowing
    /// what breaks) or revoke (compromised: cut access first).
    #[arg(long, value_parser = parse_action)]
    pub action: Action,
}

fn parse_action(s: &str) -> Result<Action, String> {
    Action::parse(s).ok_or_else(|| format!("`{s}` is not an action: rotate, disable or revoke"))
}

pub fn run(cli: &Cli, a: &RespondArgs) -> Result<ExitCode> {
    let store = paths::open_existing(cli)?;
    let Some(id) = store.find(&a.reference)? else {
        anyhow::bail!(
            "nothing matches `{}`: give an access key id or natural key (`custody list --kind aws_access_key`)",
            a.reference
        );
    };
    let p = plan(&store, id, a.action)?;
    match cli.format {
        OutputFormat::Json => output::json(&p)?,
        OutputFormat::Table => print(&p),
    }
    Ok(ExitCode::SUCCESS)
}

fn print(p: &Plan) {
    println!(
        "Plan to {:?} {} (custody changes nothing; run the steps yourself, in order)",
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
        println!("{:>2}. [{}] {} — {}", s.order, s.system, s.target, s.what);
        if let Some(c) = &s.command {
            println!("      $ {c}");
        }
    }
}
