//! `custody show ID`: one node, its keys and edges, its lineage (principal, owner,
//! the owner's employment status), and for every fact the source that said it.

use crate::global::{Global, OutputFormat};
use crate::{output, paths, render};
use anyhow::Result;
use clap::Args;
use custody_app::show::build;
use custody_store::Store;
use std::process::ExitCode;

#[derive(Args)]
pub struct ShowArgs {
    /// An access key id, ARN, e-mail, natural key (`kind:value`), node id, or unique name.
    pub reference: String,
}

pub fn run(cli: &Global, a: &ShowArgs) -> Result<ExitCode> {
    let store = paths::open_existing(cli)?;
    let Some(id) = store.find(&a.reference)? else {
        anyhow::bail!(
            "nothing matches `{}`: give an access key id, ARN, e-mail, `kind:value` key, node id or unique name (`custody list` shows keys)",
            a.reference
        );
    };
    let out = build(&store, id)?;
    match cli.format {
        OutputFormat::Json => output::json(&out)?,
        OutputFormat::Table => render::identity(&out),
    }
    Ok(ExitCode::SUCCESS)
}
