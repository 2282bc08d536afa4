//! What a credential, principal, workload or agent can reach across AWS,
//! Google Cloud and Azure, as every surface
//! shows it (`custody blast-radius`, `GET /v1/nodes/{id}/blast-radius`, the MCP
//! `blast_radius` tool): resources ranked by sensitivity and access level, with
//! the role chain that grants each.

use crate::progress::{step, Progress};
use anyhow::Result;
use custody_analysis::reach::{EdgeIn, Hop, NodeIn, PrincipalKind, EDGE_KINDS, NODE_KINDS};
use custody_analysis::{BlastRadius, Model, ModelBuilder};
use custody_store::Store;
use serde::Serialize;
use std::collections::BTreeMap;

/// Reads the AWS, Google Cloud and Azure slices of the graph into memory.
pub fn load(store: &dyn Store, progress: &dyn Progress) -> Result<Model> {
    step(progress, "loading principals, policies and resources…");
    let mut builder = ModelBuilder::new();
    store.scan_nodes(NODE_KINDS, &mut |n| {
        builder.node(NodeIn {
            id: n.id,
            label: n.label,
            kind: n.kind,
            key: n.key,
            name: n.name,
            props: n.props,
        })
    })?;
    step(progress, "loading edges…");
    store.scan_edges(EDGE_KINDS, &mut |src, kind, dst, props| {
        builder.edge(EdgeIn {
            src,
            kind,
            dst,
            props,
        })
    })?;
    step(progress, "indexing…");
    Ok(builder.build())
}

#[derive(Serialize)]
pub struct PrincipalOut {
    pub arn: String,
    pub name: String,
    pub kind: &'static str,
    /// How it was reached: `start`, `sts:AssumeRole`, `instance profile`, `escalation: <technique>`…
    pub how: String,
    /// The ARN of the principal it was reached from.
    pub from: Option<String>,
    pub conditional: bool,
    /// Set when the step goes through existing resources whose inventory was
    /// not ingested: the export that would settle it.
    pub potential: Option<&'static str>,
}

#[derive(Serialize, Clone)]
pub struct ResourceOut {
    pub arn: String,
    pub name: String,
    pub kind: String,
    pub account: Option<String>,
    pub sensitivity: &'static str,
    pub sensitivity_reason: String,
    /// The most harmful access level allowed.
    pub access: &'static str,
    pub levels: Vec<&'static str>,
    /// An action allowed at that level.
    pub action: String,
    /// For object-level access on part of a bucket: the pattern granted.
    pub scope: Option<String>,
    pub conditional: bool,
    pub reason: String,
    /// The principals from the credential to the one holding this access.
    pub path: Vec<String>,
    pub score: u32,
}

#[derive(Serialize)]
pub struct BlastOut {
    pub reference: String,
    pub principals: Vec<PrincipalOut>,
    pub resources: Vec<ResourceOut>,
    /// Resources reached, by sensitivity.
    pub by_sensitivity: BTreeMap<&'static str, usize>,
    pub score: u64,
    /// Policies that could not be read for these principals: the answer may be incomplete.
    pub incomplete: Vec<String>,
}

fn kind_name(k: PrincipalKind) -> &'static str {
    match k {
        PrincipalKind::User => "aws_iam_user",
        PrincipalKind::Role => "aws_iam_role",
        PrincipalKind::InstanceProfile => "aws_iam_instance_profile",
        PrincipalKind::Provider => "identity_provider",
        PrincipalKind::Service => "aws_service",
        PrincipalKind::AccountAdmin => "account_administrator",
        PrincipalKind::GcpServiceAccount => "gcp_service_account",
        PrincipalKind::AzureServicePrincipal => "azure_service_principal",
        PrincipalKind::GithubCredential => "github_credential",
    }
}

/// How a principal is named in paths: its ARN, e-mail member or key, with
/// the display name where the identifier alone is opaque (Entra, GitHub).
fn label(model: &Model, p: u32) -> String {
    let p = &model.principals[p as usize];
    match p.kind {
        PrincipalKind::AzureServicePrincipal | PrincipalKind::GithubCredential
            if p.name != p.arn =>
        {
            format!("{} ({})", p.name, p.arn)
        }
        _ => p.arn.clone(),
    }
}

pub fn describe(model: &Model, reference: &str, br: &BlastRadius) -> BlastOut {
    let arn = |h: &Hop| label(model, h.principal);
    let principals = br
        .hops
        .iter()
        .map(|h| {
            let p = &model.principals[h.principal as usize];
            PrincipalOut {
                arn: p.arn.clone(),
                name: p.name.clone(),
                kind: kind_name(p.kind),
                how: h.how.to_string(),
                from: h.from.map(|f| arn(&br.hops[f as usize])),
                conditional: h.conditional,
                potential: h.potential.map(|i| i.as_str()),
            }
        })
        .collect();
    let mut by_sensitivity = BTreeMap::new();
    let resources = br
        .reached
        .iter()
        .map(|r| {
            let res = &model.resources[r.access.resource as usize];
            *by_sensitivity.entry(res.sensitivity.as_str()).or_default() += 1;
            ResourceOut {
                arn: res.arn.clone(),
                name: res.name.clone(),
                kind: res.kind.clone(),
                account: res.account.clone(),
                sensitivity: res.sensitivity.as_str(),
                sensitivity_reason: res.sensitivity_reason.clone(),
                access: r.access.level.as_str(),
                levels: r.access.levels.iter().map(|l| l.as_str()).collect(),
                action: r.access.action.to_string(),
                scope: r.access.scope.clone(),
                conditional: r.access.conditional,
                reason: r.access.reason.to_string(),
                path: br.path(r.hop).iter().map(|&h| arn(&br.hops[h])).collect(),
                score: r.score,
            }
        })
        .collect();
    BlastOut {
        reference: reference.to_string(),
        principals,
        resources,
        by_sensitivity,
        score: br.score(),
        incomplete: br.incomplete.clone(),
    }
}

#[derive(Serialize)]
pub struct RankedCredential {
    pub credential: String,
    pub principals: Vec<String>,
    /// Principals it can become, beyond those it authenticates as.
    pub can_become: usize,
    pub resources: usize,
    pub critical: usize,
    pub high: usize,
    /// The highest-ranked resource and the access to it.
    pub top: Option<String>,
    pub score: u64,
}

/// The blast radius from `start`: what it reaches is computed first on
/// every core, a layer of principals at a time ([`Model::warm_reach`]), then
/// read. On one-off queries at 10,000 people (a fresh model, 1,000
/// credentials) this took p99 from 19.7 ms to 15.6–20.1 ms; the tail is one
/// principal's own evaluation, which no layer splits (`docs/PERFORMANCE.md`).
pub fn radius(model: &Model, start: &[u32]) -> BlastRadius {
    use rayon::prelude::*;
    model.warm_reach(start, &|layer| {
        layer
            .par_iter()
            .for_each(|&p| model.warm(std::iter::once(p)));
    });
    model.blast_radius(start)
}

/// One credential ranked by what it can reach.
pub fn rank(model: &Model, node: i64, key: &str) -> RankedCredential {
    let start = model.start(node);
    let br = radius(model, &start);
    let count = |s: &str| {
        br.reached
            .iter()
            .filter(|r| {
                model.resources[r.access.resource as usize]
                    .sensitivity
                    .as_str()
                    == s
            })
            .count()
    };
    RankedCredential {
        credential: key.to_string(),
        principals: start.iter().map(|&p| label(model, p)).collect(),
        can_become: br.hops.len().saturating_sub(start.len()),
        resources: br.reached.len(),
        critical: count("critical"),
        high: count("high"),
        top: br.reached.first().map(|r| {
            format!(
                "{} on {}",
                r.access.level, model.resources[r.access.resource as usize].arn
            )
        }),
        score: br.score(),
    }
}

/// One credential that can reach a resource, as `blast-radius --reaching`,
/// `GET /v1/nodes/{id}/reached-by` and the MCP `who_can_reach` tool show it.
#[derive(Serialize)]
pub struct ReacherOut {
    pub credential: String,
    /// The most harmful access level it gets.
    pub access: &'static str,
    pub levels: Vec<&'static str>,
    /// An action allowed at that level.
    pub action: String,
    pub conditional: bool,
    pub reason: String,
    /// The principals from the one it authenticates as to the one holding the
    /// access (ARNs), and how each was reached.
    pub path: Vec<String>,
    pub how: Vec<String>,
    /// The accountable humans of its principal (or of the credential).
    pub owners: Vec<String>,
    pub score: u32,
}

/// Who can reach one resource.
#[derive(Serialize)]
pub struct ReachedByOut {
    pub resource: String,
    pub kind: String,
    pub sensitivity: &'static str,
    pub sensitivity_reason: String,
    /// Every credential that can reach it.
    pub credentials: usize,
    /// By access level.
    pub by_access: BTreeMap<&'static str, usize>,
    /// The first `limit`, most harmful access first, then shortest path.
    pub reachers: Vec<ReacherOut>,
}

/// The humans accountable for a credential: owners of the principals it
/// authenticates as, or of the credential itself.
/// Reads [`Model::reaching`] for the resource node `node` (the model must know
/// it: [`Model::resource`]); the accountable owners (`crate::owner`) of the first `limit`.
pub fn reached_by(
    store: &dyn Store,
    model: &Model,
    resource: u32,
    limit: usize,
) -> Result<ReachedByOut> {
    let res = &model.resources[resource as usize];
    let all = model.reaching(resource);
    let mut by_access = BTreeMap::new();
    for r in &all {
        *by_access.entry(r.access.level.as_str()).or_default() += 1;
    }
    let shown = if limit == 0 {
        all.len()
    } else {
        limit.min(all.len())
    };
    let ids: Vec<i64> = all[..shown].iter().map(|r| r.credential).collect();
    let ownership = crate::owner::load_for(store, &ids)?;
    let mut reachers = Vec::with_capacity(shown);
    for r in &all[..shown] {
        reachers.push(ReacherOut {
            credential: r.key.clone(),
            access: r.access.level.as_str(),
            levels: r.access.levels.iter().map(|l| l.as_str()).collect(),
            action: r.access.action.to_string(),
            conditional: r.conditional,
            reason: r.access.reason.to_string(),
            path: r.path.iter().map(|(p, _)| label(model, *p)).collect(),
            how: r.path.iter().map(|(_, how)| how.clone()).collect(),
            owners: crate::owner::owner_keys(&ownership, r.credential),
            score: r.score,
        });
    }
    Ok(ReachedByOut {
        resource: res.arn.clone(),
        kind: res.kind.clone(),
        sensitivity: res.sensitivity.as_str(),
        sensitivity_reason: res.sensitivity_reason.clone(),
        credentials: all.len(),
        by_access,
        reachers,
    })
}

/// Computes every principal's direct reach and next hops, on every core:
/// blast-radius answers then take microseconds, and [`reached_by`] needs it.
pub fn warm(model: &Model) {
    use rayon::prelude::*;
    (0..model.principals.len() as u32)
        .into_par_iter()
        .for_each(|p| model.warm(std::iter::once(p)));
}

/// The principals `escalations` considers: IAM users and roles, but not
/// the roles AWS services keep for themselves.
fn considered(model: &Model) -> impl Iterator<Item = u32> + '_ {
    (0..model.principals.len() as u32).filter(|&p| {
        let pn = &model.principals[p as usize];
        matches!(pn.kind, PrincipalKind::User | PrincipalKind::Role)
            && !pn.arn.contains(":role/aws-service-role/")
    })
}

/// Prepares every path to full control of an account from every credential,
/// IAM user and role at once (one walk forward, computing next hops on every
/// core, and one backward; see [`Model::warm_admin_paths`]): then
/// [`Model::path_to_admin`] reads each path off without a search.
pub fn warm_admin_paths(model: &Model) {
    use rayon::prelude::*;
    let starts = model
        .credentials()
        .flat_map(|(node, _)| model.start(node))
        .chain(considered(model));
    model.warm_admin_paths(starts, &|layer| {
        layer.par_iter().for_each(|&p| {
            model.next(p);
        })
    });
}

/// Every credential ranked by what it can reach: how many there are, and the
/// `top` with the widest blast radius.
pub fn rank_all(
    model: &Model,
    top: usize,
    progress: &dyn Progress,
) -> (usize, Vec<RankedCredential>) {
    use rayon::prelude::*;
    let creds: Vec<(i64, String)> = model
        .credentials()
        .map(|(id, k)| (id, display_key(k)))
        .collect();
    progress.stage(
        "ranking credentials",
        Some(creds.len() as u64),
        crate::progress::Unit::Credentials,
    );
    let mut ranked: Vec<RankedCredential> = creds
        .par_iter()
        .map(|(id, key)| {
            let r = rank(model, *id, key);
            progress.advance(1);
            r
        })
        .collect();
    progress.done();
    ranked.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then_with(|| a.credential.cmp(&b.credential))
    });
    let total = ranked.len();
    ranked.truncate(top);
    (total, ranked)
}

/// A credential's key as people write it: the access key id, the GCP key id…
pub fn display_key(key: &str) -> String {
    key.trim_start_matches("aws-access-key:")
        .trim_start_matches("id:")
        .to_string()
}

/// Query latency of one pass of [`measure`].
#[derive(Serialize)]
pub struct Timing {
    pub pass: &'static str,
    pub queries: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_resources: f64,
}

/// `custody blast-radius --measure N`.
#[derive(Serialize)]
pub struct Measured {
    pub load_seconds: f64,
    pub precompute_seconds: f64,
    pub principals: usize,
    pub resources: usize,
    pub passes: Vec<Timing>,
}

/// Times `n` single-credential queries spread over every account, first with
/// empty caches ("lazy"), then after [`warm`] ("precomputed").
pub fn measure(model: &Model, load: std::time::Duration, n: usize) -> Measured {
    use std::time::Instant;
    let mut creds: Vec<i64> = model.credentials().map(|(id, _)| id).collect();
    creds.sort_unstable();
    // A fixed stride over all credentials, so the sample spans every account.
    let step = (creds.len() / n.max(1)).max(1);
    let sample: Vec<i64> = creds.iter().step_by(step).take(n).copied().collect();
    let mut passes = Vec::new();
    let mut precompute = 0.0;
    for pass in ["lazy", "precomputed"] {
        if pass == "precomputed" {
            let t = Instant::now();
            warm(model);
            precompute = t.elapsed().as_secs_f64();
        }
        let mut times = Vec::with_capacity(sample.len());
        let mut reached = 0usize;
        for &c in &sample {
            let t = Instant::now();
            let br = radius(model, &model.start(c));
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            reached += br.reached.len();
        }
        times.sort_by(|a, b| a.total_cmp(b));
        let pct = |p: f64| {
            times
                .get(((times.len() as f64 - 1.0) * p).round() as usize)
                .copied()
                .unwrap_or(0.0)
        };
        passes.push(Timing {
            pass,
            queries: times.len(),
            p50_ms: pct(0.5),
            p99_ms: pct(0.99),
            max_ms: times.last().copied().unwrap_or(0.0),
            mean_resources: reached as f64 / times.len().max(1) as f64,
        });
    }
    Measured {
        load_seconds: load.as_secs_f64(),
        precompute_seconds: precompute,
        principals: model.principals.len(),
        resources: model.resources.len(),
        passes,
    }
}

/// A one-line summary of what `id` can reach, for lists (offboarding):
/// `None` when it is nothing the AWS model knows.
pub fn summary(model: &Model, id: i64, key: &str) -> Option<String> {
    if model.start(id).is_empty() {
        return None;
    }
    let r = rank(model, id, key);
    Some(format!(
        "{} resources ({} critical, {} high){}",
        r.resources,
        r.critical,
        r.high,
        r.top.map(|t| format!("; top: {t}")).unwrap_or_default()
    ))
}

/// One step of an escalation path.
#[derive(Serialize, Clone)]
pub struct StepOut {
    pub principal: String,
    /// `start`, `sts:AssumeRole`, `escalation: <technique>`…
    pub how: String,
    pub conditional: bool,
    /// The export that would settle a step through existing resources.
    pub potential: Option<&'static str>,
}

/// A principal with a path to full control of its account.
#[derive(Serialize, Clone)]
pub struct EscalationOut {
    pub principal: String,
    pub name: String,
    pub kind: &'static str,
    pub account: Option<String>,
    /// The graph node (for findings and links).
    #[serde(skip)]
    pub node: Option<i64>,
    /// The escalation techniques used along the path, in order.
    pub techniques: Vec<String>,
    /// From the principal to the account's administrator stand-in.
    pub path: Vec<StepOut>,
    /// Some step holds only under a condition custody could not evaluate.
    pub conditional: bool,
    /// Some step goes through existing resources whose inventory was not
    /// ingested: the first such export.
    pub potential: Option<&'static str>,
}

/// Every IAM user and role that can escalate, and the counts around them.
#[derive(Serialize)]
pub struct EscalationsOut {
    /// Users and roles considered (service-linked roles are not: only their service assumes them).
    pub principals: usize,
    /// Those whose own policies already allow everything (AdministratorAccess or equal).
    pub administrators: usize,
    /// Paths through certain steps only.
    pub certain: usize,
    pub conditional: usize,
    pub potential: usize,
    pub escalating: Vec<EscalationOut>,
}

/// Every IAM user and role (not already an administrator) with a path to full
/// control of its account — privilege escalation, a role it can become, or
/// both — with the path. Preferred paths are certain ones.
pub fn escalations(model: &Model) -> EscalationsOut {
    use rayon::prelude::*;
    let considered: Vec<u32> = considered(model).collect();
    warm_admin_paths(model);
    let admins: Vec<bool> = considered.par_iter().map(|&p| model.is_admin(p)).collect();
    let mut escalating: Vec<EscalationOut> = considered
        .par_iter()
        .zip(admins.par_iter())
        .filter(|(_, admin)| !**admin)
        .filter_map(|(&p, _)| {
            let path = model.path_to_admin(&[p])?;
            let pn = &model.principals[p as usize];
            let steps: Vec<StepOut> = path
                .iter()
                .map(|h| {
                    let x = &model.principals[h.principal as usize];
                    StepOut {
                        principal: if x.kind == PrincipalKind::AccountAdmin {
                            x.name.clone()
                        } else {
                            x.arn.clone()
                        },
                        how: h.how.to_string(),
                        conditional: h.conditional,
                        potential: h.potential.map(|i| i.as_str()),
                    }
                })
                .collect();
            Some(EscalationOut {
                principal: pn.arn.clone(),
                name: pn.name.clone(),
                kind: kind_name(pn.kind),
                account: pn.account.clone(),
                node: pn.node,
                techniques: path
                    .iter()
                    .filter_map(|h| h.how.strip_prefix("escalation: ").map(str::to_string))
                    .collect(),
                conditional: path.iter().any(|h| h.conditional),
                potential: path.iter().find_map(|h| h.potential).map(|i| i.as_str()),
                path: steps,
            })
        })
        .collect();
    escalating.sort_by(|a, b| (&a.account, &a.principal).cmp(&(&b.account, &b.principal)));
    let potential = escalating.iter().filter(|e| e.potential.is_some()).count();
    let conditional = escalating
        .iter()
        .filter(|e| e.potential.is_none() && e.conditional)
        .count();
    EscalationsOut {
        principals: considered.len(),
        administrators: admins.iter().filter(|a| **a).count(),
        certain: escalating.len() - potential - conditional,
        conditional,
        potential,
        escalating,
    }
}
