//! `custody audit-policies FILE…`: per-policy risk findings (privilege escalation,
//! data exfiltration, resource exposure, infrastructure modification) straight
//! from `aws iam get-account-authorization-details` files, without a database:
//! the same questions `cloudsplaining scan` answers, for comparison and for CI.

use crate::global::{Global, OutputFormat};
use crate::output;
use anyhow::Result;
use clap::Args;
use custody_app::audit::AuditOut;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct AuditArgs {
    /// `aws iam get-account-authorization-details` output files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Also report policies excluded by default (AdministratorAccess, service-role and service-linked policies).
    #[arg(long)]
    pub include_excluded: bool,
}

pub fn run(cli: &Global, a: &AuditArgs) -> Result<ExitCode> {
    let result = custody_app::audit::run(&a.files, a.include_excluded)?;
    match cli.format {
        OutputFormat::Json => output::json(&result)?,
        OutputFormat::Table => print(&result),
    }
    Ok(output::exit_for_errors(&result.errors))
}

fn print(r: &AuditOut) {
    let rows: Vec<Vec<String>> = r
        .policies
        .iter()
        .filter(|p| {
            !(p.privilege_escalation.is_empty()
                && p.data_exfiltration.is_empty()
                && p.resource_exposure.is_empty()
                && p.infrastructure_modification.is_empty())
        })
        .map(|p| {
            let esc: Vec<&str> = p.privilege_escalation.iter().map(|t| t.technique).collect();
            vec![
                p.kind.to_string(),
                match &p.owner {
                    Some(o) => format!("{} (in {o})", p.name),
                    None => p.name.clone(),
                },
                if esc.is_empty() {
                    "-".into()
                } else {
                    esc.join(", ")
                },
                p.data_exfiltration.len().to_string(),
                p.resource_exposure.len().to_string(),
                p.infrastructure_modification.len().to_string(),
            ]
        })
        .collect();
    output::table(
        &[
            "KIND",
            "POLICY",
            "PRIVILEGE ESCALATION",
            "EXFIL",
            "EXPOSURE",
            "MODIFY",
        ],
        &rows,
    );
    println!();
    println!(
        "{} policies audited in {:.2}s: {} allow privilege escalation, {} data exfiltration, {} resource exposure, {} infrastructure modification (on any resource).",
        r.summary["policies"],
        r.seconds,
        r.summary["privilege_escalation"],
        r.summary["data_exfiltration"],
        r.summary["resource_exposure"],
        r.summary["infrastructure_modification"]
    );
    println!("EXFIL, EXPOSURE, MODIFY count actions; --format json lists them. Excluded by default: AdministratorAccess and service-role policies (--include-excluded).");
}
