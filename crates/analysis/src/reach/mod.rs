//! Reachability and blast radius across AWS, Google Cloud, Azure and GitHub:
//! from a credential, principal, workload or agent, every principal it can
//! become (role chains through trust policies, instance profiles, privilege
//! escalation; service-account impersonation, managed identities, Graph
//! permissions; federation between clouds; a push to a repository whose
//! workflow assumes an identity) and every resource those principals can act
//! on, with the access level and the path that grants it, on one sensitivity
//! scale. AWS is decided here and in `builder.rs`; each other system in its
//! own file (`gcp.rs`, `azure.rs`, `github.rs`), behind [`Model::direct`] and
//! [`Model::next`].
//!
//! The caller feeds the graph's reach slice into a [`ModelBuilder`] (nodes with
//! their properties, and edges; `builder.rs` turns them into indexes); [`Model`]
//! (this file) then answers queries in memory. Every AWS
//! decision goes through [`crate::eval::evaluate`], so explicit denies, SCPs,
//! permission boundaries, resource policies and conditions apply exactly as they
//! do for a single request.
//!
//! Per principal, what it can reach directly depends only on its policies, its
//! account and (rarely) its own ARN, so results are cached by that signature:
//! thousands of roles sharing a policy set cost one evaluation.
//!
//! Requests are evaluated with `aws:SecureTransport = true` (callers use TLS),
//! `aws:PrincipalArn`, `aws:PrincipalAccount` and, for users, `aws:username`;
//! anything else a condition tests makes the answer *conditional*.

use crate::catalog::AccessLevel;
use crate::escalation::{
    escalations, inventory, technique_context, Actor, Escalation, Inventory, Reaches,
};
use crate::eval::{evaluate, Context, PolicySet, Request};
use crate::pattern::{action_matches, resource_matches};
use crate::policy::{Effect, Match, Policy, Statement};
use crate::sensitivity::Sensitivity;
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

mod admin;
pub mod azure;
mod builder;
mod cloud;
pub mod gcp;
pub mod github;
pub use builder::{EdgeIn, ModelBuilder, NodeIn, EDGE_KINDS, NODE_KINDS};

/// What kind of principal a model entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    User,
    Role,
    InstanceProfile,
    /// An OIDC or SAML identity provider (GitHub Actions, EKS, SSO).
    Provider,
    /// An AWS service (`lambda.amazonaws.com`).
    Service,
    /// Whoever escalates to full control of an account: it stands for "any
    /// principal of the account", limited only by the account's SCPs.
    AccountAdmin,
    /// A Google Cloud service account (`arn`: `serviceAccount:<e-mail>`).
    GcpServiceAccount,
    /// An Entra service principal or managed identity (`arn`: `azure-app:<appId>`).
    AzureServicePrincipal,
    /// A GitHub token, deploy key or App installation: the credential is
    /// its own principal (`arn`: its key).
    GithubCredential,
}

#[derive(Debug, Clone)]
pub struct PrincipalNode {
    /// The graph node (none for [`PrincipalKind::AccountAdmin`]).
    pub node: Option<i64>,
    /// ARN, or the provider/service name trust policies use.
    pub arn: String,
    pub name: String,
    pub kind: PrincipalKind,
    pub account: Option<String>,
    identity: Vec<u32>,
    boundary: Option<u32>,
    trust: Option<u32>,
    /// For an instance profile: the roles it carries.
    carries: Vec<u32>,
    /// For a user: the ARNs of its groups.
    groups: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ResourceNode {
    pub node: i64,
    pub arn: String,
    pub name: String,
    pub kind: String,
    pub account: Option<String>,
    pub sensitivity: Sensitivity,
    /// `tag data-classification=restricted`, `default for aws_s3_bucket`.
    pub sensitivity_reason: String,
    policy: Option<u32>,
    /// Workloads: the principals they run as.
    runs_as: Vec<u32>,
}

/// How a principal can act on one resource.
#[derive(Debug, Clone)]
pub struct Access {
    pub resource: u32,
    /// The most harmful level allowed.
    pub level: AccessLevel,
    /// Every level allowed.
    pub levels: Arc<[AccessLevel]>,
    /// An action allowed at `level`.
    pub action: Arc<str>,
    /// For object-level access granted on part of a bucket: the pattern.
    pub scope: Option<String>,
    /// True when `level` is allowed only under conditions not evaluated.
    pub conditional: bool,
    /// The deciding layer and statement.
    pub reason: Arc<str>,
}

/// One step of a path: a principal reached, and how.
#[derive(Debug, Clone)]
pub struct Hop {
    pub principal: u32,
    /// The hop this one was reached from (`None` for a starting principal).
    pub from: Option<u32>,
    /// `start`, `sts:AssumeRole`, `sts:AssumeRoleWithWebIdentity`, `instance profile`,
    /// `escalation: create-access-key`…
    pub how: Arc<str>,
    pub conditional: bool,
    /// For an escalation through existing resources whose inventory was not
    /// ingested: the export that would settle it. The hop is possible (a role
    /// such resources could run as), not observed.
    pub potential: Option<Inventory>,
}

/// A resource reached, through which hop, and its rank.
#[derive(Debug, Clone)]
pub struct Reached {
    pub access: Access,
    /// Index into [`BlastRadius::hops`] of the principal that has this access.
    pub hop: usize,
    /// Sensitivity × access-level weight: what sorts the list.
    pub score: u32,
}

/// A credential that can reach a resource ([`Model::reaching`]).
#[derive(Debug, Clone)]
pub struct Reaching {
    /// The credential's graph node.
    pub credential: i64,
    pub key: String,
    /// The best access it gets.
    pub access: Access,
    pub score: u32,
    /// True when the access or a step to it holds only under conditions not evaluated.
    pub conditional: bool,
    /// The principals from the one it authenticates as to the one holding the
    /// access, each with how it was reached (`start`, `sts:AssumeRole`…).
    pub path: Vec<(u32, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct BlastRadius {
    pub hops: Vec<Hop>,
    /// Sorted by score, most dangerous first.
    pub reached: Vec<Reached>,
    /// Principals whose policies could not be read completely.
    pub incomplete: Vec<String>,
}

impl BlastRadius {
    /// The principals from the start to `hop`.
    pub fn path(&self, hop: usize) -> Vec<usize> {
        let mut out = vec![hop];
        let mut at = hop;
        while let Some(prev) = self.hops[at].from {
            out.push(prev as usize);
            at = prev as usize;
        }
        out.reverse();
        out
    }

    pub fn score(&self) -> u64 {
        self.reached.iter().map(|r| r.score as u64).sum()
    }
}

/// How harmful each access level is, for ranking.
pub fn level_weight(level: AccessLevel) -> u32 {
    match level {
        AccessLevel::List => 1,
        AccessLevel::Tagging => 1,
        AccessLevel::Read => 3,
        AccessLevel::Write => 4,
        AccessLevel::PermissionsManagement => 5,
    }
}

/// The actions that apply to one resource kind, most harmful level first.
struct KindSpec {
    service: &'static str,
    /// Whether some actions act on objects inside the resource (`arn/*`).
    object: bool,
    levels: Vec<LevelActions>,
}

/// One access level's actions: (`service:Action`, object-level).
type LevelActions = (AccessLevel, Vec<(Arc<str>, bool)>);

type Signature = (Vec<u32>, Option<u32>, Option<String>, Option<String>);

/// The AWS authorization graph in memory.
pub struct Model {
    policies: Vec<Arc<Policy>>,
    policy_names: Vec<String>,
    pub principals: Vec<PrincipalNode>,
    principal_by_node: HashMap<i64, u32>,
    pub resources: Vec<ResourceNode>,
    resource_by_node: HashMap<i64, u32>,
    credentials: HashMap<i64, Vec<u32>>,
    /// AI agents: node → the principals of the credentials they hold.
    agents: HashMap<i64, Vec<u32>>,
    credential_keys: HashMap<i64, String>,
    scps: HashMap<String, Vec<Vec<u32>>>,
    trusting_arn: HashMap<String, Vec<u32>>,
    /// Roles a service may assume, by (service, account): pass-role targets.
    service_roles: HashMap<(String, String), Vec<u32>>,
    trusting_account: HashMap<String, Vec<u32>>,
    trusting_anyone: Vec<u32>,
    resources_by_account: HashMap<String, Vec<u32>>,
    /// The account's users, roles and groups, by ARN: escalation targets.
    users_by_account: HashMap<String, Vec<String>>,
    roles_by_account: HashMap<String, Vec<String>>,
    /// The same as principals.
    user_ids_by_account: HashMap<String, Vec<u32>>,
    role_ids_by_account: HashMap<String, Vec<u32>>,
    /// Per principal: whether a trust or resource policy names it by ARN.
    singled: Vec<bool>,
    groups_by_account: HashMap<String, Vec<String>>,
    principal_by_arn: HashMap<String, u32>,
    /// Per account: the roles its instance profiles carry.
    profile_roles: HashMap<String, Vec<u32>>,
    /// The Google Cloud and Azure slices.
    gcp: gcp::Gcp,
    azure: azure::Azure,
    github: github::Github,
    /// Hops between clouds (an AWS role a Google service account trusts
    /// through Workload Identity Federation), by the principal they leave.
    bridges: HashMap<u32, Vec<Hop>>,
    /// Workloads (a GitHub Actions workflow) → the principals their OIDC
    /// token is exchanged for.
    workloads: HashMap<i64, Vec<u32>>,
    /// (account, resource kind) pairs with at least one resource: that
    /// service's inventory was ingested for the account.
    inventoried: HashSet<(String, String)>,
    granted_to_account: HashMap<String, Vec<u32>>,
    /// Principal ARNs that some resource policy names.
    named: HashSet<String>,
    admins: HashMap<String, u32>,
    kind_actions: HashMap<String, KindSpec>,
    /// Policies that could not be read, or are named but missing.
    pub incomplete: Vec<String>,
    incomplete_of: HashMap<String, Vec<String>>,
    direct_cache: Mutex<HashMap<Signature, Arc<Vec<Access>>>>,
    /// Per principal: its direct reach and its next hops, once computed.
    direct_of: Vec<OnceLock<Arc<Vec<Access>>>>,
    next_of: Vec<OnceLock<Hops>>,
    escalation_cache: Mutex<HashMap<Signature, Hops>>,
    /// Who can become whom in one step, read backwards: (from, index of the
    /// hop in `next(from)`) per principal. Built on the first `reaching`.
    back: OnceLock<Vec<Vec<(u32, u32)>>>,
    /// Every distinct direct-reach list with the principals sharing it. Built
    /// on the first `reaching`.
    groups: OnceLock<Vec<Shared>>,
    /// Distances to full control of an account, for paths read off without
    /// a search ([`Model::warm_admin_paths`]).
    admin_paths: OnceLock<admin::AdminPaths>,
    /// Per policy, once known: whether it uses policy variables, and whether
    /// it may allow an IAM action of an escalation technique ([`PolicyTraits`]).
    policy_traits: Vec<AtomicU8>,
    hows: Hows,
}

/// The fixed `how`s of AWS hops, allocated once: millions of hops share them.
struct Hows(Vec<Arc<str>>);

impl Hows {
    fn new() -> Hows {
        let fixed = [
            "sts:AssumeRole",
            "sts:AssumeRoleWithWebIdentity",
            "sts:AssumeRoleWithSAML",
            "instance profile",
        ];
        Hows(fixed.into_iter().map(Arc::from).collect())
    }

    fn get(&self, how: &str) -> Arc<str> {
        match self.0.iter().find(|h| ***h == *how) {
            Some(h) => h.clone(),
            None => how.into(),
        }
    }
}

/// What a principal's reach depends on, per policy, worked out once (every
/// principal holding the policy asks): bits of an [`AtomicU8`], zero while
/// unknown.
struct PolicyTraits;

impl PolicyTraits {
    const KNOWN: u8 = 1;
    const VARIABLES: u8 = 2;
    const IAM: u8 = 4;
}

/// One direct-reach list and the principals sharing it.
type Shared = (Arc<Vec<Access>>, Vec<u32>);

/// Outgoing hops of one principal (their `from` is unset).
type Hops = Arc<Vec<Hop>>;

impl Model {
    /// Credential nodes (access keys) with the principals they authenticate as.
    pub fn credentials(&self) -> impl Iterator<Item = (i64, &str)> {
        self.credentials.keys().map(move |id| {
            (
                *id,
                self.credential_keys
                    .get(id)
                    .map(String::as_str)
                    .unwrap_or(""),
            )
        })
    }

    pub fn policy_name(&self, i: u32) -> &str {
        &self.policy_names[i as usize]
    }

    /// The principals a graph node acts as: a credential's principals, the
    /// principal itself, or what a workload runs as.
    pub fn start(&self, node: i64) -> Vec<u32> {
        if let Some(p) = self
            .credentials
            .get(&node)
            .or_else(|| self.agents.get(&node))
            .or_else(|| self.workloads.get(&node))
        {
            return p.clone();
        }
        if let Some(&p) = self.principal_by_node.get(&node) {
            return vec![p];
        }
        if let Some(&r) = self.resource_by_node.get(&node) {
            return self.resources[r as usize].runs_as.clone();
        }
        Vec::new()
    }

    fn context(&self, p: &PrincipalNode) -> Context {
        let mut ctx = Context::new()
            .with("aws:SecureTransport", "true")
            .with("aws:PrincipalArn", &p.arn);
        if let Some(a) = &p.account {
            ctx = ctx.with("aws:PrincipalAccount", a);
        }
        if p.kind == PrincipalKind::User {
            ctx = ctx.with("aws:username", &p.name);
        }
        ctx
    }

    fn policy_set(&self, p: &PrincipalNode) -> PolicySet<'_> {
        PolicySet {
            identity: p
                .identity
                .iter()
                .map(|&i| &*self.policies[i as usize])
                .collect(),
            boundary: p.boundary.map(|b| &*self.policies[b as usize]),
            scps: p
                .account
                .as_ref()
                .and_then(|a| self.scps.get(a))
                .map(|layers| {
                    layers
                        .iter()
                        .map(|l| l.iter().map(|&i| &*self.policies[i as usize]).collect())
                        .collect()
                })
                .unwrap_or_default(),
            ..Default::default()
        }
    }

    /// Every resource `p` can act on with its own policies.
    pub fn direct(&self, p: u32) -> Arc<Vec<Access>> {
        self.direct_of[p as usize]
            .get_or_init(|| self.direct_uncached(p))
            .clone()
    }

    fn direct_uncached(&self, p: u32) -> Arc<Vec<Access>> {
        let pn = &self.principals[p as usize];
        match pn.kind {
            PrincipalKind::Provider | PrincipalKind::Service | PrincipalKind::InstanceProfile => {
                return Arc::new(Vec::new())
            }
            PrincipalKind::GcpServiceAccount => return Arc::new(self.gcp.direct(p)),
            PrincipalKind::AzureServicePrincipal => return Arc::new(self.azure.direct(p)),
            PrincipalKind::GithubCredential => return Arc::new(self.github.direct(p)),
            _ => {}
        }
        memo(&self.direct_cache, self.signature(pn), || {
            self.direct_computed(pn)
        })
    }

    fn direct_computed(&self, pn: &PrincipalNode) -> Arc<Vec<Access>> {
        let set = self.policy_set(pn);
        let ctx = self.context(pn);
        let mut out = Vec::new();
        if let Some(acct) = &pn.account {
            let own = self.resources_by_account.get(acct).into_iter().flatten();
            let granted = self.granted_to_account.get(acct).into_iter().flatten();
            for &r in own.chain(granted) {
                if let Some(a) = self.access(pn, &set, &ctx, r) {
                    out.push(a);
                }
            }
        }
        Arc::new(out)
    }

    fn access(
        &self,
        pn: &PrincipalNode,
        set: &PolicySet<'_>,
        ctx: &Context,
        r: u32,
    ) -> Option<Access> {
        let res = &self.resources[r as usize];
        let spec = self.kind_actions.get(&res.kind)?;
        let levels = &spec.levels;
        let mut objects = if spec.object {
            vec![format!("{}/*", res.arn)]
        } else {
            Vec::new()
        };
        let mut relevant: Vec<&Statement> = Vec::new();
        for pol in &set.identity {
            for s in &pol.statements {
                if s.effect == Effect::Allow
                    && statement_touches_service(s, spec.service)
                    && statement_covers(s, &res.arn, &mut objects)
                {
                    relevant.push(s);
                }
            }
        }
        let resource_policy = res.policy.map(|i| &*self.policies[i as usize]);
        if let Some(rp) = resource_policy {
            for s in &rp.statements {
                if s.effect == Effect::Allow
                    && statement_touches_service(s, spec.service)
                    && names_principal(s, pn)
                {
                    relevant.push(s);
                }
            }
        }
        if relevant.is_empty() {
            return None;
        }
        let set = PolicySet {
            resource: resource_policy,
            resource_account: res.account.as_deref(),
            ..set.clone()
        };
        type Found = (Arc<str>, Option<String>, bool, Arc<str>);
        let mut found: Vec<(AccessLevel, Found)> = Vec::new();
        for (level, actions) in levels {
            let mut best: Option<Found> = None;
            'actions: for (action, is_object) in actions {
                if !relevant.iter().any(|s| s.names_action(action)) {
                    continue;
                }
                let arns: &[String] = if *is_object {
                    &objects
                } else {
                    std::slice::from_ref(&res.arn)
                };
                for (i, arn) in arns.iter().enumerate() {
                    let d = evaluate(
                        &set,
                        &Request {
                            principal: &pn.arn,
                            action,
                            resource: arn,
                            context: ctx,
                        },
                    );
                    if d.allowed() {
                        let scope = (*is_object && i > 0).then(|| arn.clone());
                        let reason = match d.identity_policy.and_then(|k| pn.identity.get(k)) {
                            Some(&i) => {
                                Arc::from(format!("{} in {}", d.reason, self.policy_name(i)))
                            }
                            None => Arc::from(d.reason.as_str()),
                        };
                        let better = best.as_ref().map(|b| b.2 && !d.conditional).unwrap_or(true);
                        if better {
                            best = Some((action.clone(), scope, d.conditional, reason));
                        }
                        if !d.conditional {
                            break 'actions;
                        }
                    }
                }
            }
            if let Some(b) = best {
                found.push((*level, b));
            }
        }
        let (level, (action, scope, conditional, reason)) = found.first().cloned()?;
        Some(Access {
            resource: r,
            level,
            levels: found.iter().map(|f| f.0).collect(),
            action,
            scope,
            conditional,
            reason,
        })
    }

    /// Principals `p` can become in one step: roles it may assume, the role an
    /// instance profile carries, and privilege escalation.
    pub fn next(&self, p: u32) -> Hops {
        self.next_of[p as usize]
            .get_or_init(|| self.next_uncached(p))
            .clone()
    }

    fn next_uncached(&self, p: u32) -> Hops {
        let pn = &self.principals[p as usize];
        let out = match pn.kind {
            PrincipalKind::GcpServiceAccount => Arc::new(self.gcp.next(p)),
            PrincipalKind::AzureServicePrincipal => Arc::new(self.azure.next(p)),
            PrincipalKind::GithubCredential => Arc::new(self.github.next(p)),
            _ => self.aws_next(p),
        };
        let Some(bridges) = self.bridges.get(&p) else {
            return out;
        };
        let mut out = Arc::unwrap_or_clone(out);
        for h in bridges {
            if out.iter().any(|o| o.principal == h.principal) {
                continue;
            }
            // Into Azure, an AWS principal needs a web identity token of its own.
            if h.how.starts_with("sts:GetWebIdentityToken") {
                let d = evaluate(
                    &self.policy_set(pn),
                    &Request {
                        principal: &pn.arn,
                        action: "sts:GetWebIdentityToken",
                        resource: "*",
                        context: &self.context(pn),
                    },
                );
                if !d.allowed() {
                    continue;
                }
                let mut h = h.clone();
                h.conditional |= d.conditional;
                out.push(h);
                continue;
            }
            out.push(h.clone());
        }
        Arc::new(out)
    }

    /// An AWS principal's next hops. Without a role to assume they are its
    /// escalation hops alone, and the list is the one every principal with
    /// the same signature shares (not a copy: thousands of roles may share
    /// a list of thousands of hops).
    fn aws_next(&self, p: u32) -> Hops {
        let pn = &self.principals[p as usize];
        let set = self.policy_set(pn);
        let ctx = self.context(pn);
        let mut out = self.assume_hops(p, &set, &ctx);
        if matches!(pn.kind, PrincipalKind::User | PrincipalKind::Role) {
            let assumable: Vec<&str> = out
                .iter()
                .map(|h| &self.principals[h.principal as usize])
                .filter(|r| r.kind == PrincipalKind::Role)
                .map(|r| r.arn.as_str())
                .collect();
            let esc = self.escalation(pn, &set, &ctx, &assumable);
            if out.is_empty() {
                return esc;
            }
            let mut have: HashSet<u32> = out.iter().map(|h| h.principal).collect();
            for h in esc.iter() {
                if have.insert(h.principal) {
                    out.push(h.clone());
                }
            }
        }
        Arc::new(out)
    }

    /// Roles `p` may assume through trust policies, and the roles an instance
    /// profile carries.
    fn assume_hops(&self, p: u32, set: &PolicySet<'_>, ctx: &Context) -> Vec<Hop> {
        let pn = &self.principals[p as usize];
        let mut out = Vec::new();
        for &role in &pn.carries {
            out.push(Hop {
                principal: role,
                from: None,
                how: self.hows.get("instance profile"),
                conditional: false,
                potential: None,
            });
        }
        let mut candidates: Vec<u32> = Vec::new();
        candidates.extend(self.trusting_arn.get(&pn.arn).into_iter().flatten());
        if matches!(
            pn.kind,
            PrincipalKind::User | PrincipalKind::Role | PrincipalKind::AccountAdmin
        ) {
            if let Some(a) = &pn.account {
                candidates.extend(self.trusting_account.get(a).into_iter().flatten());
            }
            candidates.extend(&self.trusting_anyone);
        }
        candidates.sort_unstable();
        candidates.dedup();
        let action = match pn.kind {
            PrincipalKind::Provider if pn.arn.contains(":saml-provider/") => {
                "sts:AssumeRoleWithSAML"
            }
            PrincipalKind::Provider => "sts:AssumeRoleWithWebIdentity",
            _ => "sts:AssumeRole",
        };
        // Without an identity statement naming the action, only a trust
        // policy naming the caller itself can let it in (the rest are not
        // evaluated: they would all deny).
        let identity_may = crate::eval::identity_names(set, action);
        for role in candidates {
            if role == p {
                continue;
            }
            let rn = &self.principals[role as usize];
            let Some(trust) = rn.trust else { continue };
            if !identity_may
                && !crate::eval::may_allow_alone(&self.policies[trust as usize], &pn.arn)
            {
                continue;
            }
            let set = PolicySet {
                resource: Some(&self.policies[trust as usize]),
                resource_account: rn.account.as_deref(),
                ..set.clone()
            };
            let d = evaluate(
                &set,
                &Request {
                    principal: &pn.arn,
                    action,
                    resource: &rn.arn,
                    context: ctx,
                },
            );
            if d.allowed() {
                out.push(Hop {
                    principal: role,
                    from: None,
                    how: self.hows.get(action),
                    conditional: d.conditional,
                    potential: None,
                });
            }
        }
        out
    }

    /// What a principal's policies let it escalate to, cached by signature
    /// (with its ARN when its policies touch IAM: then what it may rewrite
    /// depends on who it is — its groups, policies, the roles it can assume).
    fn escalation(
        &self,
        pn: &PrincipalNode,
        set: &PolicySet<'_>,
        ctx: &Context,
        assumable: &[&str],
    ) -> Hops {
        let mut sig = self.signature(pn);
        if sig.3.is_none() && self.touches_iam(pn) {
            sig.3 = Some(pn.arn.clone());
        }
        memo(&self.escalation_cache, sig, || {
            self.escalation_computed(pn, set, ctx, assumable)
        })
    }

    /// Could the principal's own policies allow an IAM action a technique
    /// aims at a principal (`iam:AttachUserPolicy`, `iam:PassRole`…)? Only
    /// then does its escalation depend on who it is, not just its policies
    /// (`iam:Get*` and `NotAction: iam:*` do not).
    fn touches_iam(&self, pn: &PrincipalNode) -> bool {
        pn.identity
            .iter()
            .any(|&i| self.policy_traits(i) & PolicyTraits::IAM != 0)
    }

    /// The [`PolicyTraits`] of policy `i`, worked out on first use.
    fn policy_traits(&self, i: u32) -> u8 {
        let slot = &self.policy_traits[i as usize];
        let known = slot.load(Ordering::Relaxed);
        if known != 0 {
            return known;
        }
        let statements = &self.policies[i as usize].statements;
        let mut traits = PolicyTraits::KNOWN;
        if statements.iter().any(Statement::has_variables) {
            traits |= PolicyTraits::VARIABLES;
        }
        if statements.iter().any(|s| {
            s.effect == Effect::Allow && crate::escalation::iam_actions().any(|a| s.names_action(a))
        }) {
            traits |= PolicyTraits::IAM;
        }
        slot.store(traits, Ordering::Relaxed);
        traits
    }

    /// The escalation view of a principal: who it is and what its account holds.
    fn actor<'a>(&'a self, pn: &'a PrincipalNode, assumable: &[&'a str]) -> Actor<'a> {
        let account = pn.account.as_deref().unwrap_or("");
        let strs = |m: &'a HashMap<String, Vec<String>>| -> &'a [String] {
            m.get(account).map(Vec::as_slice).unwrap_or_default()
        };
        Actor {
            arn: &pn.arn,
            groups: pn.groups.iter().map(String::as_str).collect(),
            policies: pn
                .identity
                .iter()
                .map(|&i| self.policy_names[i as usize].as_str())
                .filter(|n| {
                    n.starts_with("arn:aws:iam::")
                        && n.contains(":policy/")
                        && !n.starts_with("arn:aws:iam::aws:")
                })
                .collect(),
            assumable: assumable.to_vec(),
            users: strs(&self.users_by_account),
            roles: strs(&self.roles_by_account),
            all_groups: strs(&self.groups_by_account),
        }
    }

    fn escalation_computed(
        &self,
        pn: &PrincipalNode,
        set: &PolicySet<'_>,
        ctx: &Context,
        assumable: &[&str],
    ) -> Hops {
        let (mut out, mut index) = (Vec::new(), HashMap::new());
        let actor = self.actor(pn, assumable);
        let found = escalations(set, &actor, ctx);
        // Full control of the account: only principals named elsewhere are
        // worth a hop of their own (see below), so the others are not tried.
        let full = found.iter().any(|e| e.reaches == Reaches::Account)
            && pn
                .account
                .as_ref()
                .is_some_and(|a| self.admins.contains_key(a));
        for e in &found {
            self.escalation_hops(pn, set, ctx, e, full, (&mut out, &mut index));
        }
        // Full control of the account subsumes becoming any one principal in it,
        // unless that principal is trusted or granted by name elsewhere.
        let admin = pn.account.as_ref().and_then(|a| self.admins.get(a));
        if let Some(admin) = admin.filter(|a| out.iter().any(|h| h.principal == **a)) {
            out.retain(|h| h.principal == *admin || self.singled_out(h.principal));
        }
        Arc::new(out)
    }

    /// What a principal's own reach depends on: its policies and account, and its
    /// ARN only where a policy variable or a resource policy may single it out.
    fn signature(&self, pn: &PrincipalNode) -> Signature {
        let uses_name = pn
            .identity
            .iter()
            .any(|&i| self.policy_traits(i) & PolicyTraits::VARIABLES != 0);
        (
            pn.identity.clone(),
            pn.boundary,
            pn.account.clone(),
            (uses_name || self.named.contains(&pn.arn)).then(|| pn.arn.clone()),
        )
    }

    /// Whether a trust or resource policy names the principal by ARN: then
    /// becoming it is worth a hop even next to full control of its account.
    fn singled_out(&self, p: u32) -> bool {
        self.singled[p as usize]
    }

    /// The hops one technique gives. With `full` (the principal already has
    /// full control of its account) only principals singled out by name are
    /// tried: the others would be pruned.
    fn escalation_hops(
        &self,
        pn: &PrincipalNode,
        set: &PolicySet<'_>,
        ctx: &Context,
        e: &Escalation,
        full: bool,
        (out, index): (&mut Vec<Hop>, &mut HashMap<u32, usize>),
    ) {
        let Some(acct) = &pn.account else { return };
        let wanted = |p: u32| !full || self.singled_out(p);
        let how: Arc<str> = format!("escalation: {}", e.technique).into();
        // Each branch below asks about one action, on many resources: its
        // context is built once (and again only for another action).
        let context: OnceLock<(String, Context)> = OnceLock::new();
        let allowed = |action: &str, resource: &str| {
            let (for_action, cached) = context.get_or_init(|| {
                (
                    action.to_string(),
                    technique_context(action, e.reaches, ctx),
                )
            });
            let other;
            let context = if for_action == action {
                cached
            } else {
                other = technique_context(action, e.reaches, ctx);
                &other
            };
            evaluate(
                set,
                &Request {
                    principal: &pn.arn,
                    action,
                    resource,
                    context,
                },
            )
        };
        let me = self.principal_by_arn(&pn.arn).unwrap_or(u32::MAX);
        let mut push = |principal: u32, conditional: bool, potential: Option<Inventory>| {
            if principal == me {
                return;
            }
            // By index: "any role of the account" pushes thousands.
            match index.get(&principal).map(|&i| &mut out[i]) {
                // A certain way in beats a potential one.
                Some(h) if h.potential.is_some() && potential.is_none() => {
                    h.how = how.clone();
                    h.conditional = conditional;
                    h.potential = None;
                }
                Some(_) => {}
                None => {
                    index.insert(principal, out.len());
                    out.push(Hop {
                        principal,
                        from: None,
                        how: how.clone(),
                        conditional,
                        potential,
                    })
                }
            }
        };
        let by_arn = |arns: &[String], push: &mut dyn FnMut(u32, bool, Option<Inventory>)| {
            for a in arns {
                if let Some(p) = self.principal_by_arn(a).filter(|&p| wanted(p)) {
                    push(p, e.conditional, None);
                }
            }
        };
        match e.reaches {
            Reaches::Account => {
                if let Some(&admin) = self.admins.get(acct) {
                    push(admin, e.conditional, None);
                }
            }
            Reaches::Users | Reaches::Roles => match &e.on {
                Some(list) => by_arn(list, &mut push),
                None => {
                    // Any user (role) of the account: each of them.
                    let all = if e.reaches == Reaches::Users {
                        self.user_ids_by_account.get(acct)
                    } else {
                        self.role_ids_by_account.get(acct)
                    };
                    for &p in all.into_iter().flatten() {
                        if wanted(p) {
                            push(p, e.conditional, None);
                        }
                    }
                }
            },
            Reaches::PassRole(service) => {
                let key = (service.to_string(), acct.clone());
                for &role in self.service_roles.get(&key).into_iter().flatten() {
                    if !wanted(role) {
                        continue;
                    }
                    let d = allowed("iam:PassRole", &self.principals[role as usize].arn);
                    if d.allowed() {
                        push(role, e.conditional || d.conditional, None);
                    }
                }
            }
            Reaches::ServiceRoles(service) => {
                // No inventory of these services is read: any role trusting the
                // service could be what an existing resource runs as.
                let key = (service.to_string(), acct.clone());
                for &role in self.service_roles.get(&key).into_iter().flatten() {
                    if wanted(role) {
                        push(role, e.conditional, inventory(e.reaches));
                    }
                }
            }
            Reaches::FunctionRoles | Reaches::InstanceRoles => {
                let kind = if e.reaches == Reaches::FunctionRoles {
                    "aws_lambda_function"
                } else {
                    "aws_ec2_instance"
                };
                // The technique's first action is the one done to the resource.
                let Some((action, ..)) = e.granted.first() else {
                    return;
                };
                // What a resource runs as: its role, or the roles its profile carries.
                let targets = |res: &ResourceNode| -> Vec<u32> {
                    res.runs_as
                        .iter()
                        .flat_map(|&p| {
                            let pr = &self.principals[p as usize];
                            if pr.kind == PrincipalKind::InstanceProfile {
                                pr.carries.clone()
                            } else {
                                vec![p]
                            }
                        })
                        .filter(|&p| wanted(p))
                        .collect()
                };
                if self.inventoried.contains(&(acct.clone(), kind.to_string())) {
                    for &r in self.resources_by_account.get(acct).into_iter().flatten() {
                        let res = &self.resources[r as usize];
                        if res.kind != kind {
                            continue;
                        }
                        let to = targets(res);
                        if to.is_empty() {
                            continue;
                        }
                        let d = allowed(action, &res.arn);
                        if d.allowed() {
                            for t in to {
                                push(t, e.conditional || d.conditional, None);
                            }
                        }
                    }
                } else {
                    // Not inventoried: the roles such resources could run as —
                    // those instance profiles carry, or those trusting Lambda.
                    let potential = inventory(e.reaches);
                    if e.reaches == Reaches::InstanceRoles {
                        for &t in self.profile_roles.get(acct).into_iter().flatten() {
                            if wanted(t) {
                                push(t, e.conditional, potential);
                            }
                        }
                    } else {
                        let key = ("lambda.amazonaws.com".to_string(), acct.clone());
                        for &role in self.service_roles.get(&key).into_iter().flatten() {
                            if wanted(role) {
                                push(role, e.conditional, potential);
                            }
                        }
                    }
                }
            }
        }
    }

    fn principal_by_arn(&self, arn: &str) -> Option<u32> {
        self.principal_by_arn.get(arn).copied()
    }

    /// True when the principal's own policies allow every action on every
    /// resource, unconditionally and without a deny or boundary
    /// (AdministratorAccess or its equal): it needs no escalation.
    pub fn is_admin(&self, p: u32) -> bool {
        let pn = &self.principals[p as usize];
        if pn.kind == PrincipalKind::AccountAdmin {
            return true;
        }
        if pn.boundary.is_some() {
            return false;
        }
        let statements = || {
            pn.identity
                .iter()
                .flat_map(|&i| self.policies[i as usize].statements.iter())
        };
        statements().all(|s| s.effect == Effect::Allow) && statements().any(|s| {
            s.conditions.is_empty()
                && matches!(&s.actions, Match::Only(l) if l.iter().any(|a| a == "*" || a == "*:*"))
                && match &s.resources {
                    None => true,
                    Some(Match::Only(l)) => l.iter().any(|r| r == "*"),
                    Some(Match::Not(_)) => false,
                }
        }) && !self.scps.contains_key(pn.account.as_deref().unwrap_or(""))
    }

    /// The shortest path from `start` to full control of an account (the
    /// account-administrator stand-in that privilege escalation reaches), as
    /// the principals walked with how each was reached; `None` when no path
    /// exists. A path through certain hops is preferred to one resting on a
    /// condition or on a potential hop. Follows the same hops as
    /// [`Model::blast_radius`] without evaluating what each principal can
    /// reach, so it costs a fraction.
    pub fn path_to_admin(&self, start: &[u32]) -> Option<Vec<Hop>> {
        self.admin_path(start, true)
            .or_else(|| self.admin_path(start, false))
    }

    fn admin_path(&self, start: &[u32], certain_only: bool) -> Option<Vec<Hop>> {
        if let Some(known) = self.admin_path_known(start, certain_only) {
            return known;
        }
        let mut hops: Vec<Hop> = Vec::new();
        let mut seen: HashSet<u32> = HashSet::new();
        let mut queue = VecDeque::new();
        for &p in start {
            if seen.insert(p) {
                queue.push_back(hops.len());
                hops.push(Hop {
                    principal: p,
                    from: None,
                    how: "start".into(),
                    conditional: false,
                    potential: None,
                });
            }
        }
        while let Some(h) = queue.pop_front() {
            if self.principals[hops[h].principal as usize].kind == PrincipalKind::AccountAdmin {
                let mut path = vec![hops[h].clone()];
                let mut at = hops[h].from;
                while let Some(i) = at {
                    path.push(hops[i as usize].clone());
                    at = hops[i as usize].from;
                }
                path.reverse();
                // `from` counts along the path, not the search.
                for (i, hop) in path.iter_mut().enumerate() {
                    hop.from = i.checked_sub(1).map(|f| f as u32);
                }
                return Some(path);
            }
            let p = hops[h].principal;
            for next in self.next(p).iter() {
                if certain_only && (next.conditional || next.potential.is_some()) {
                    continue;
                }
                if seen.insert(next.principal) {
                    queue.push_back(hops.len());
                    hops.push(Hop {
                        from: Some(h as u32),
                        conditional: next.conditional || hops[h].conditional,
                        potential: next.potential.or(hops[h].potential),
                        ..next.clone()
                    });
                }
            }
        }
        None
    }

    /// Everything `start` can reach, ranked.
    pub fn blast_radius(&self, start: &[u32]) -> BlastRadius {
        let mut br = BlastRadius::default();
        let mut seen: HashMap<u32, usize> = HashMap::new();
        let mut queue = VecDeque::new();
        for &p in start {
            if seen.contains_key(&p) {
                continue;
            }
            seen.insert(p, br.hops.len());
            queue.push_back(br.hops.len());
            br.hops.push(Hop {
                principal: p,
                from: None,
                how: "start".into(),
                conditional: false,
                potential: None,
            });
        }
        while let Some(h) = queue.pop_front() {
            let p = br.hops[h].principal;
            for next in self.next(p).iter() {
                if seen.contains_key(&next.principal) {
                    continue;
                }
                seen.insert(next.principal, br.hops.len());
                queue.push_back(br.hops.len());
                br.hops.push(Hop {
                    from: Some(h as u32),
                    conditional: next.conditional || br.hops[h].conditional,
                    potential: next.potential.or(br.hops[h].potential),
                    ..next.clone()
                });
            }
        }
        // Best access per resource: highest score (level, sensitivity, certainty);
        // on a tie the hop found first, i.e. the shortest path.
        let directs: Vec<Arc<Vec<Access>>> =
            br.hops.iter().map(|h| self.direct(h.principal)).collect();
        // Hops sharing a policy set share one list: the first (shortest path) wins.
        let mut merged: HashSet<(usize, bool)> = HashSet::new();
        let lists: Vec<usize> = (0..directs.len())
            .filter(|&h| merged.insert((Arc::as_ptr(&directs[h]) as usize, br.hops[h].conditional)))
            .collect();
        let total: usize = lists.iter().map(|&h| directs[h].len()).sum();
        let offer = |best: &mut dyn FnMut(u32, (u32, usize, usize)), h: usize| {
            let hop_conditional = br.hops[h].conditional;
            for (i, a) in directs[h].iter().enumerate() {
                let res = &self.resources[a.resource as usize];
                let certain = if a.conditional || hop_conditional {
                    1
                } else {
                    2
                };
                best(
                    a.resource,
                    (
                        res.sensitivity.weight() * level_weight(a.level) * certain,
                        h,
                        i,
                    ),
                );
            }
        };
        let mut winners: Vec<(u32, usize, usize)> = Vec::new();
        if total > 4096 {
            // Large reach: a dense table beats hashing.
            let mut table: Vec<(u32, usize, usize)> = vec![(0, 0, 0); self.resources.len()];
            for &h in &lists {
                offer(
                    &mut |r, c| {
                        if c.0 > table[r as usize].0 {
                            table[r as usize] = c;
                        }
                    },
                    h,
                );
            }
            winners.extend(table.into_iter().filter(|c| c.0 > 0));
        } else {
            let mut map: HashMap<u32, (u32, usize, usize)> = HashMap::with_capacity(total);
            for &h in &lists {
                offer(
                    &mut |r, c| {
                        let e = map.entry(r).or_insert((0, 0, 0));
                        if c.0 > e.0 {
                            *e = c;
                        }
                    },
                    h,
                );
            }
            winners.extend(map.into_values());
        }
        let best = winners;
        br.reached = best
            .into_iter()
            .map(|(score, h, i)| {
                let mut access = directs[h][i].clone();
                access.conditional |= br.hops[h].conditional;
                Reached {
                    access,
                    hop: h,
                    score,
                }
            })
            .collect();
        br.reached
            .sort_unstable_by_key(|r| (std::cmp::Reverse(r.score), r.access.resource));
        for h in &br.hops {
            let arn = &self.principals[h.principal as usize].arn;
            if let Some(list) = self.incomplete_of.get(arn) {
                br.incomplete.extend(list.iter().cloned());
            }
        }
        br
    }

    /// The resource a graph node is, if the model knows it.
    pub fn resource(&self, node: i64) -> Option<u32> {
        self.resource_by_node.get(&node).copied()
    }

    /// Who can reach `resource`: every credential whose blast radius holds it,
    /// with the best access it gets and the principals it goes through — the
    /// blast radius read backwards. Computes every principal's direct reach and
    /// next hops (what [`Model::warm`] does), so the first call on a large
    /// graph takes as long as warming it.
    ///
    /// As in [`Model::blast_radius`], the best access wins (level weighted by
    /// certainty), then the shortest path to a principal that holds it.
    pub fn reaching(&self, resource: u32) -> Vec<Reaching> {
        let n = self.principals.len();
        let sensitivity = self.resources[resource as usize].sensitivity.weight();
        // Principals holding the resource themselves, by the score of that
        // access: each distinct reach list (principals sharing a policy set
        // share one) is searched once.
        let groups = self.groups.get_or_init(|| {
            let mut by_list: HashMap<usize, usize> = HashMap::new();
            let mut groups: Vec<Shared> = Vec::new();
            for p in 0..n as u32 {
                let list = self.direct(p);
                if list.is_empty() {
                    continue;
                }
                let at = *by_list
                    .entry(Arc::as_ptr(&list) as usize)
                    .or_insert_with(|| {
                        groups.push((list.clone(), Vec::new()));
                        groups.len() - 1
                    });
                groups[at].1.push(p);
            }
            groups
        });
        let mut holders: Vec<(u32, u32, Access)> = Vec::new();
        for (list, principals) in groups {
            if let Some(a) = list.iter().find(|a| a.resource == resource) {
                let certain = if a.conditional { 1 } else { 2 };
                for &p in principals {
                    holders.push((sensitivity * level_weight(a.level) * certain, p, a.clone()));
                }
            }
        }
        if holders.is_empty() {
            return Vec::new();
        }
        let back = self.back.get_or_init(|| {
            let mut back: Vec<Vec<(u32, u32)>> = vec![Vec::new(); n];
            for p in 0..n as u32 {
                for (i, h) in self.next(p).iter().enumerate() {
                    back[h.principal as usize].push((p, i as u32));
                }
            }
            back
        });
        // Per principal: (holder index, step toward it: next principal, hop index).
        const UNSEEN: u32 = u32::MAX;
        let mut holder_of = vec![UNSEEN; n];
        let mut step: Vec<Option<(u32, u32)>> = vec![None; n];
        holders.sort_by_key(|h| (std::cmp::Reverse(h.0), h.1));
        let mut at = 0;
        while at < holders.len() {
            // One tier of equal score at a time, breadth first, so a principal
            // keeps the best access it can get and the shortest way to it.
            let tier = holders[at].0;
            let mut queue = VecDeque::new();
            while at < holders.len() && holders[at].0 == tier {
                let p = holders[at].1 as usize;
                if holder_of[p] == UNSEEN {
                    holder_of[p] = at as u32;
                    queue.push_back(p as u32);
                }
                at += 1;
            }
            while let Some(q) = queue.pop_front() {
                for &(from, hop) in &back[q as usize] {
                    if holder_of[from as usize] == UNSEEN {
                        holder_of[from as usize] = holder_of[q as usize];
                        step[from as usize] = Some((q, hop));
                        queue.push_back(from);
                    }
                }
            }
        }
        let mut out = Vec::new();
        for (&node, starts) in &self.credentials {
            let best = starts
                .iter()
                .filter(|&&p| holder_of[p as usize] != UNSEEN)
                .min_by_key(|&&p| {
                    let mut len = 0;
                    let mut at = p;
                    while let Some((next, _)) = step[at as usize] {
                        len += 1;
                        at = next;
                    }
                    (holder_of[p as usize], len)
                });
            let Some(&start) = best else { continue };
            let (score, _, access) = &holders[holder_of[start as usize] as usize];
            let mut path = vec![(start, "start".to_string())];
            let mut conditional = access.conditional;
            let mut at = start;
            while let Some((next, hop)) = step[at as usize] {
                let h = &self.next(at)[hop as usize];
                conditional |= h.conditional;
                path.push((next, h.how.to_string()));
                at = next;
            }
            out.push(Reaching {
                credential: node,
                key: self.credential_keys.get(&node).cloned().unwrap_or_default(),
                access: access.clone(),
                score: *score,
                conditional,
                path,
            });
        }
        out.sort_by(|a, b| {
            (std::cmp::Reverse(a.score), a.path.len(), &a.key).cmp(&(
                std::cmp::Reverse(b.score),
                b.path.len(),
                &b.key,
            ))
        });
        out
    }

    /// Fills every principal's caches (for bulk runs and benchmarks).
    pub fn warm(&self, principals: impl Iterator<Item = u32>) {
        for p in principals {
            self.direct(p);
            self.next(p);
        }
    }

    /// Computes what [`Model::blast_radius`] from `start` will read: the
    /// principals it reaches, a breadth-first layer at a time, each layer
    /// handed to `warm` first (the caller computes their next hops and
    /// direct reach, on every core; this crate spawns no threads), but for
    /// those already computed. The query that follows then only reads caches.
    pub fn warm_reach(&self, start: &[u32], warm: &dyn Fn(&[u32])) {
        let mut seen: HashSet<u32> = start.iter().copied().collect();
        let mut layer: Vec<u32> = seen.iter().copied().collect();
        layer.sort_unstable();
        let mut cold = Vec::new();
        while !layer.is_empty() {
            cold.clear();
            cold.extend(layer.iter().copied().filter(|&p| {
                self.next_of[p as usize].get().is_none()
                    || self.direct_of[p as usize].get().is_none()
            }));
            if !cold.is_empty() {
                warm(&cold);
            }
            let mut next_layer = Vec::new();
            for &p in &layer {
                for h in self.next(p).iter() {
                    if seen.insert(h.principal) {
                        next_layer.push(h.principal);
                    }
                }
            }
            layer = next_layer;
        }
    }
}

/// The cached value for `sig`, computing it (outside the lock) when absent.
/// A signature that names its principal is not cached: it is asked once,
/// for that principal, whose own cache ([`Model::next`], [`Model::direct`])
/// keeps the answer — a second copy here would only hold memory (hundreds
/// of megabytes of escalation hops at 10,000 people).
fn memo<T: Clone>(
    cache: &Mutex<HashMap<Signature, T>>,
    sig: Signature,
    f: impl FnOnce() -> T,
) -> T {
    if sig.3.is_some() {
        return f();
    }
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(&sig).cloned()) {
        return hit;
    }
    let value = f();
    if let Ok(mut c) = cache.lock() {
        c.insert(sig, value.clone());
    }
    value
}

/// Does an identity statement's `Resource` cover the resource (or objects in it)?
/// Object-level patterns narrower than `arn/*` are added to `objects`.
fn statement_covers(s: &Statement, arn: &str, objects: &mut Vec<String>) -> bool {
    match &s.resources {
        None => true,
        Some(Match::Only(list)) => {
            let mut hit = false;
            for p in list {
                if resource_matches(p, arn)
                    || objects.first().is_some_and(|o| resource_matches(p, o))
                {
                    hit = true;
                } else if !objects.is_empty()
                    && p.len() > arn.len()
                    && p.starts_with(arn)
                    && p.as_bytes()[arn.len()] == b'/'
                {
                    if !objects.contains(p) && objects.len() < 8 {
                        objects.push(p.clone());
                    }
                    hit = true;
                }
            }
            hit
        }
        Some(Match::Not(list)) => !list.iter().any(|p| resource_matches(p, arn)),
    }
}

/// Could any of the statement's actions belong to `service`?
fn statement_touches_service(s: &Statement, service: &str) -> bool {
    match &s.actions {
        Match::Only(list) => list.iter().any(|p| {
            let prefix = p.split(':').next().unwrap_or(p);
            p == "*" || action_matches(prefix, service) || prefix.contains('*')
        }),
        Match::Not(_) => true,
    }
}

/// Does a resource-policy statement name the principal, its account, or anyone?
fn names_principal(s: &Statement, p: &PrincipalNode) -> bool {
    let Some(Match::Only(list)) = &s.principals else {
        return matches!(s.principals, Some(Match::Not(_)));
    };
    list.iter().any(|pr| {
        pr.value == "*"
            || pr.value == p.arn
            || p.account
                .as_deref()
                .is_some_and(|a| pr.value == a || pr.value == format!("arn:aws:iam::{a}:root"))
    })
}
