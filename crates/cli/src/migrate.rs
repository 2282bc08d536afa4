//! `custody migrate REF`: the plan from a static AWS access key to ephemeral
//! identity (`server::migrate`), printed, and its artefacts written with `--out`.

use crate::global::{Global, OutputFormat};
use crate::{output, paths};
use anyhow::{Context, Result};
use clap::Args;
use custody_store::Store;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct MigrateArgs {
    /// The access key (id, natural key or node id).
    #[arg(value_name = "REF")]
    pub reference: String,
    /// Write the artefacts here: main.tf, github-workflow.yml, serviceaccount.yaml.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn run(cli: &Global, a: &MigrateArgs) -> Result<ExitCode> {
    let store = paths::open_existing(cli)?;
    let id = store.find(&a.reference)?.with_context(|| {
        format!(
            "nothing matches `{}`: give an access key id, natural key or node id",
            a.reference
        )
    })?;
    if let Some(why) = custody_app::migrate::unsupported(&store, id)? {
        anyhow::bail!("{why}");
    }
    let m = custody_app::migrate::plan_with_usage(&store, id, None)?;
    if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let write = |name: &str, text: &str| -> Result<()> {
            let p = dir.join(name);
            std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))
        };
        write("main.tf", &m.artefacts.terraform)?;
        if let Some(w) = &m.artefacts.github_workflow {
            write("github-workflow.yml", w)?;
        }
        if let Some(s) = &m.artefacts.kubernetes_service_account {
            write("serviceaccount.yaml", s)?;
        }
    }
    match cli.format {
        OutputFormat::Json => output::json(&m)?,
        OutputFormat::Table => {
            println!(
                "Migrate {} to ephemeral identity (role {})",
                m.credential, m.role_name
            );
            if let Some(p) = &m.principal {
                println!("  authenticates as {p}; owners: {}", m.owners.join(", "));
            }
            if let Some(o) = &m.observed {
                println!(
                    "  observed: {} event(s), last used {}, regions {}, networks {}, clients {}",
                    o["events"], o["last_used"], o["regions"], o["networks"], o["clients"]
                );
            }
            println!("\nConsumers ({}):", m.consumers.len());
            for c in &m.consumers {
                println!("  {:<26} {}", c.place.kind, c.place.place);
                if !c.place.consumers.is_empty() {
                    println!("  {:<26} read by {}", "", c.place.consumers.join(", "));
                }
                println!("  {:<26} → {}: {}", "", c.target.kind, c.target.how);
            }
            let lp = &m.least_privilege;
            println!(
                "\nLeast privilege: {} action(s) used; custody's evaluator: every used action {}, every other action of those services {} ({} checked).",
                lp.actions.len(),
                if lp.grants_every_used_action { "allowed" } else { "NOT all allowed" },
                if lp.denies_everything_else { "denied" } else { "NOT all denied" },
                lp.checked_actions
            );
            println!("  {}", lp.actions.join(", "));
            println!("\nCutover:");
            for (i, s) in m.checklist.iter().enumerate() {
                println!("  {}. {s}", i + 1);
            }
            match &a.out {
                Some(d) => println!("\nArtefacts written to {}.", d.display()),
                None => println!("\nArtefacts: --out DIR writes them (or --format json)."),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
