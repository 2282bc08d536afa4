//! `audit-policies`: per-policy risk findings (privilege escalation, data
//! exfiltration, resource exposure, infrastructure modification) straight
//! from `aws iam get-account-authorization-details` files, without a
//! database: the questions `cloudsplaining scan` answers.

use anyhow::{Context, Result};
use custody_analysis::audit::{excluded_by_default, Auditor, PolicyFindings};
use custody_analysis::Policy;
use custody_connectors::{aws::auth_details, detect, Format, SourceFile};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Serialize)]
pub struct Technique {
    pub technique: &'static str,
    pub summary: &'static str,
    pub actions: Vec<&'static str>,
}

#[derive(Serialize)]
pub struct PolicyOut {
    pub file: String,
    /// `customer-managed`, `aws-managed` or `inline`.
    pub kind: &'static str,
    pub name: String,
    /// Managed policies: the policy ARN. Inline: none (see `owner`).
    pub arn: Option<String>,
    /// Inline policies: the user, group or role that holds it.
    pub owner: Option<String>,
    /// Users, groups and roles it is attached to (managed policies).
    pub attached_to: Vec<String>,
    pub excluded: bool,
    pub privilege_escalation: Vec<Technique>,
    pub data_exfiltration: Vec<String>,
    pub resource_exposure: Vec<String>,
    pub infrastructure_modification: Vec<String>,
    /// Some finding rests on a statement with a condition custody did not evaluate.
    pub conditional: bool,
}

#[derive(Serialize)]
pub struct AuditOut {
    pub policies: Vec<PolicyOut>,
    /// Policies with at least one finding in each category.
    pub summary: BTreeMap<&'static str, usize>,
    pub errors: Vec<String>,
    pub seconds: f64,
}

/// Who a policy is and where it came from, before its findings.
struct Subject {
    file: String,
    kind: &'static str,
    name: String,
    arn: Option<String>,
    owner: Option<String>,
    attached_to: Vec<String>,
    excluded: bool,
}

fn out(s: Subject, f: PolicyFindings) -> PolicyOut {
    PolicyOut {
        file: s.file,
        kind: s.kind,
        name: s.name,
        arn: s.arn,
        owner: s.owner,
        attached_to: s.attached_to,
        excluded: s.excluded,
        privilege_escalation: f
            .privilege_escalation
            .iter()
            .map(|t| Technique {
                technique: t.id,
                summary: t.summary,
                actions: t.actions.iter().map(|(a, _)| *a).collect(),
            })
            .collect(),
        data_exfiltration: f.data_exfiltration,
        resource_exposure: f.resource_exposure,
        infrastructure_modification: f.infrastructure_modification,
        conditional: f.conditional,
    }
}

/// Audits every policy of one authorization-details file.
fn audit_file(
    path: &str,
    bytes: &[u8],
    auditor: &mut Auditor,
    include_excluded: bool,
    policies: &mut Vec<PolicyOut>,
    errors: &mut Vec<String>,
) {
    let t = Instant::now();
    let docs = match auth_details::policy_documents(&SourceFile { path, bytes }) {
        Ok(d) => d,
        Err(e) => {
            errors.push(e.to_string());
            return;
        }
    };
    tracing::info!("{path}: read in {:.3}s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let before = policies.len();
    for d in docs {
        // Inline policies of excluded holders (service roles) are skipped with them.
        let holder = d
            .owner
            .as_deref()
            .map(|o| o.rsplit('/').next().unwrap_or(o));
        let excluded = match holder {
            Some(h) => excluded_by_default(h, &d.path),
            None => excluded_by_default(&d.name, &d.path),
        };
        if excluded && !include_excluded {
            continue;
        }
        match Policy::from_value(&d.document) {
            Ok(p) => policies.push(out(
                Subject {
                    file: path.to_string(),
                    kind: d.kind,
                    name: d.name,
                    arn: d.arn,
                    owner: d.owner,
                    attached_to: d.attached_to,
                    excluded,
                },
                auditor.audit(&p),
            )),
            Err(e) => errors.push(format!("{path}: policy {}: {e}", d.name)),
        }
    }
    tracing::info!(
        "{path}: {} policies audited in {:.3}s",
        policies.len() - before,
        t.elapsed().as_secs_f64()
    );
}

/// Audits every policy of every file (each must be authorization details);
/// `include_excluded` keeps AdministratorAccess and service-role policies.
pub fn run(files: &[PathBuf], include_excluded: bool) -> Result<AuditOut> {
    let started = Instant::now();
    let mut auditor = Auditor::new();
    let mut policies = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        let shown = file.display().to_string();
        let bytes = std::fs::read(file).with_context(|| format!("cannot read {shown}"))?;
        if detect(&shown, &bytes) != Some(Format::AwsAuthDetails) {
            anyhow::bail!(
                "{shown} is not `aws iam get-account-authorization-details` output (no UserDetailList, GroupDetailList or RoleDetailList)"
            );
        }
        audit_file(
            &shown,
            &bytes,
            &mut auditor,
            include_excluded,
            &mut policies,
            &mut errors,
        );
    }
    let mut summary = BTreeMap::new();
    for (k, n) in [
        (
            "privilege_escalation",
            policies
                .iter()
                .filter(|p| !p.privilege_escalation.is_empty())
                .count(),
        ),
        (
            "data_exfiltration",
            policies
                .iter()
                .filter(|p| !p.data_exfiltration.is_empty())
                .count(),
        ),
        (
            "resource_exposure",
            policies
                .iter()
                .filter(|p| !p.resource_exposure.is_empty())
                .count(),
        ),
        (
            "infrastructure_modification",
            policies
                .iter()
                .filter(|p| !p.infrastructure_modification.is_empty())
                .count(),
        ),
        ("policies", policies.len()),
    ] {
        summary.insert(k, n);
    }
    Ok(AuditOut {
        policies,
        summary,
        errors,
        seconds: started.elapsed().as_secs_f64(),
    })
}
