//! The [`ModelBuilder`]: the graph's AWS slice (nodes with their properties,
//! and edges) into a [`Model`]'s indexes — policies, principals with their
//! identity policies and boundaries, SCP layers per account, trust indexes,
//! resources by account and the accounts their policies name, one
//! administrator stand-in per account, and the actions of each resource kind.

use super::{KindSpec, LevelActions, Model, PrincipalKind, PrincipalNode, ResourceNode};
use crate::catalog::{AccessLevel, Catalog};
pub use crate::input::{EdgeIn, NodeIn};
use crate::policy::{Effect, Match, Policy};
use crate::sensitivity;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

/// Resource kinds custody evaluates, their service and the catalogue resource
/// types whose actions apply (`true`: object-level, evaluated on `arn/*`).
/// (kind, service, [(catalogue resource type, object-level)]).
type KindRow = (&'static str, &'static str, &'static [(&'static str, bool)]);
const KINDS: &[KindRow] = &[
    (
        "aws_s3_bucket",
        "s3",
        &[("bucket", false), ("object", true)],
    ),
    (
        "aws_secretsmanager_secret",
        "secretsmanager",
        &[("Secret", false)],
    ),
    ("aws_kms_key", "kms", &[("key", false)]),
    ("aws_rds_instance", "rds", &[("db", false)]),
    ("aws_rds_cluster", "rds", &[("cluster", false)]),
    ("aws_lambda_function", "lambda", &[("function", false)]),
    ("aws_eks_cluster", "eks", &[("cluster", false)]),
    ("aws_ec2_instance", "ec2", &[("instance", false)]),
];

/// The actions shown as examples when allowed, before any other of their level.
const EXAMPLES: &[&str] = &[
    "s3:PutBucketPolicy",
    "s3:DeleteObject",
    "s3:PutObject",
    "s3:GetObject",
    "s3:ListBucket",
    "secretsmanager:PutResourcePolicy",
    "secretsmanager:PutSecretValue",
    "secretsmanager:GetSecretValue",
    "secretsmanager:ListSecretVersionIds",
    "kms:PutKeyPolicy",
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DescribeKey",
    "rds:DeleteDBInstance",
    "rds:DescribeDBInstances",
    "rds:DeleteDBCluster",
    "rds:DescribeDBClusters",
    "lambda:AddPermission",
    "lambda:UpdateFunctionCode",
    "lambda:InvokeFunction",
    "lambda:GetFunction",
    "eks:CreateAccessEntry",
    "eks:DeleteCluster",
    "eks:AccessKubernetesApi",
    "eks:DescribeCluster",
    "ec2:TerminateInstances",
    "ec2:StartInstances",
    "ec2:GetConsoleOutput",
];

const LEVELS: [AccessLevel; 5] = [
    AccessLevel::PermissionsManagement,
    AccessLevel::Write,
    AccessLevel::Read,
    AccessLevel::Tagging,
    AccessLevel::List,
];

/// The node kinds and edge kinds a [`ModelBuilder`] uses; callers may load only these.
pub const NODE_KINDS: &[&str] = &[
    "aws_iam_user",
    "aws_iam_role",
    "aws_iam_service_linked_role",
    "aws_iam_group",
    "aws_iam_policy",
    "aws_iam_instance_profile",
    "aws_oidc_provider",
    "aws_saml_provider",
    "aws_public_identity_provider",
    "aws_service_principal",
    "aws_root_user",
    "aws_account",
    "aws_organizations_root",
    "aws_organizations_unit",
    "aws_organizations_policy",
    "aws_access_key",
    "aws_s3_bucket",
    "aws_secretsmanager_secret",
    "aws_kms_key",
    "aws_rds_instance",
    "aws_rds_cluster",
    "aws_lambda_function",
    "aws_eks_cluster",
    "aws_ec2_instance",
];
pub const EDGE_KINDS: &[&str] = &[
    "HAS_POLICY",
    "MEMBER_OF",
    "AUTHENTICATES_AS",
    "CAN_ASSUME",
    "RUNS_AS",
    "HOLDS",
];

#[derive(Default)]
pub struct ModelBuilder {
    policies: Vec<Policy>,
    policy_names: Vec<String>,
    policy_by_node: HashMap<i64, u32>,
    policy_by_arn: HashMap<String, u32>,
    /// Principals and groups: node → inline policy indexes.
    inline: HashMap<i64, Vec<u32>>,
    /// Groups: node → ARN.
    group_arn: HashMap<i64, String>,
    principals: Vec<PrincipalNode>,
    principal_by_node: HashMap<i64, u32>,
    boundaries: Vec<(u32, String)>,
    resources: Vec<ResourceNode>,
    resource_by_node: HashMap<i64, u32>,
    /// Account root principals and org units: node → account id / org id.
    account_nodes: HashMap<i64, String>,
    org_nodes: HashSet<i64>,
    credentials: HashMap<i64, String>,
    edges: Vec<(i64, String, i64, bool)>,
    incomplete: Vec<String>,
}

fn account_of(arn: &str) -> Option<String> {
    let a = arn.split(':').nth(4)?;
    (a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())).then(|| a.to_string())
}

impl ModelBuilder {
    pub fn new() -> ModelBuilder {
        ModelBuilder::default()
    }

    fn add_policy(&mut self, name: String, doc: &Value) -> Option<u32> {
        match Policy::from_value(doc) {
            Ok(p) => {
                self.policies.push(p);
                self.policy_names.push(name);
                Some(self.policies.len() as u32 - 1)
            }
            Err(e) => {
                self.incomplete.push(format!("{name}: {e}"));
                None
            }
        }
    }

    fn inline_policies(&mut self, owner: &str, props: &Map<String, Value>) -> Vec<u32> {
        let mut out = Vec::new();
        if let Some(Value::Array(list)) = props.get("inline_policies") {
            for p in list {
                let name = p.get("name").and_then(Value::as_str).unwrap_or("?");
                if let Some(doc) = p.get("document") {
                    if let Some(i) = self.add_policy(format!("{owner} inline {name}"), doc) {
                        out.push(i);
                    }
                }
            }
        }
        out
    }

    fn add_principal(
        &mut self,
        node: i64,
        arn: String,
        name: String,
        kind: PrincipalKind,
        identity: Vec<u32>,
        trust: Option<u32>,
    ) -> u32 {
        let idx = self.principals.len() as u32;
        self.principals.push(PrincipalNode {
            node: Some(node),
            account: account_of(&arn),
            arn,
            name,
            kind,
            identity,
            boundary: None,
            trust,
            carries: Vec::new(),
            groups: Vec::new(),
        });
        self.principal_by_node.insert(node, idx);
        idx
    }

    pub fn node(&mut self, n: NodeIn<'_>) {
        let str_prop = |k: &str| n.props.get(k).and_then(Value::as_str);
        let arn = str_prop("arn").unwrap_or(n.key).to_string();
        let name = n.name.unwrap_or(n.key).to_string();
        match n.kind {
            "aws_iam_policy" | "aws_organizations_policy" => {
                if let Some(doc) = n.props.get("document") {
                    if let Some(i) = self.add_policy(arn.clone(), doc) {
                        self.policy_by_node.insert(n.id, i);
                        self.policy_by_arn.insert(arn, i);
                    }
                }
            }
            "aws_iam_group" => {
                let inline = self.inline_policies(&arn, n.props);
                self.inline.insert(n.id, inline);
                self.group_arn.insert(n.id, arn);
            }
            "aws_iam_user" | "aws_iam_role" | "aws_iam_service_linked_role" => {
                let kind = if n.kind == "aws_iam_user" {
                    PrincipalKind::User
                } else {
                    PrincipalKind::Role
                };
                let identity = self.inline_policies(&arn, n.props);
                let trust = n
                    .props
                    .get("trust_policy")
                    .and_then(|d| self.add_policy(format!("{arn} trust policy"), d));
                let idx = self.add_principal(n.id, arn, name, kind, identity, trust);
                if let Some(b) = str_prop("permissions_boundary") {
                    self.boundaries.push((idx, b.to_string()));
                }
            }
            "aws_iam_instance_profile"
            | "aws_oidc_provider"
            | "aws_saml_provider"
            | "aws_public_identity_provider"
            | "aws_service_principal" => {
                let (kind, arn) = match n.kind {
                    "aws_iam_instance_profile" => (PrincipalKind::InstanceProfile, arn),
                    "aws_service_principal" => (
                        PrincipalKind::Service,
                        str_prop("service").unwrap_or(&name).to_string(),
                    ),
                    _ => (
                        PrincipalKind::Provider,
                        str_prop("provider").map(str::to_string).unwrap_or(arn),
                    ),
                };
                self.add_principal(n.id, arn, name, kind, Vec::new(), None);
            }
            "aws_root_user" | "aws_account" => {
                if let Some(a) = account_of(n.key) {
                    self.account_nodes.insert(n.id, a);
                }
            }
            "aws_organizations_root" | "aws_organizations_unit" => {
                self.org_nodes.insert(n.id);
            }
            "aws_access_key" => {
                self.credentials.insert(n.id, n.key.to_string());
            }
            kind if KINDS.iter().any(|(k, _, _)| *k == kind) => {
                let tags: Vec<(&str, &str)> = match n.props.get("tags") {
                    Some(Value::Object(m)) => m
                        .iter()
                        .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
                        .collect(),
                    _ => Vec::new(),
                };
                let (sens, why) = sensitivity::assess(kind, tags);
                let policy = n
                    .props
                    .get("policy")
                    .and_then(|d| self.add_policy(format!("{arn} resource policy"), d));
                let idx = self.resources.len() as u32;
                self.resources.push(ResourceNode {
                    node: n.id,
                    account: str_prop("account_id")
                        .map(str::to_string)
                        .or_else(|| account_of(&arn)),
                    arn,
                    name,
                    kind: kind.to_string(),
                    sensitivity: sens,
                    sensitivity_reason: why,
                    policy,
                    runs_as: Vec::new(),
                });
                self.resource_by_node.insert(n.id, idx);
            }
            _ => {}
        }
    }

    pub fn edge(&mut self, e: EdgeIn<'_>) {
        let profile = e.kind == "CAN_ASSUME"
            && e.props.get("trusted").and_then(Value::as_str) == Some("instance-profile");
        if e.kind != "CAN_ASSUME" || profile {
            self.edges.push((e.src, e.kind.to_string(), e.dst, profile));
        }
    }

    /// Every index the [`Model`] answers from.
    pub fn build(mut self) -> Model {
        let links = self.link_edges();
        self.identity_policies(&links);
        self.resolve_boundaries();
        let scps = self.scp_layers(&links);
        let trust = self.trust_indexes();
        let res = self.resource_indexes();
        let admins = self.account_admins();
        let kind_actions = kind_actions();
        let resources_by_node = std::mem::take(&mut self.resource_by_node);
        self.incomplete.sort();
        self.incomplete.dedup();
        // Every message starts with the ARN of what it is about.
        let mut incomplete_of: HashMap<String, Vec<String>> = HashMap::new();
        for m in &self.incomplete {
            let about = m.split(' ').next().unwrap_or("").trim_end_matches(':');
            incomplete_of
                .entry(about.to_string())
                .or_default()
                .push(m.clone());
        }
        let n_principals = self.principals.len();
        let mut users_by_account: HashMap<String, Vec<String>> = HashMap::new();
        let mut roles_by_account: HashMap<String, Vec<String>> = HashMap::new();
        let mut principal_by_arn = HashMap::new();
        for (i, p) in self.principals.iter().enumerate() {
            principal_by_arn.insert(p.arn.clone(), i as u32);
            let Some(a) = &p.account else { continue };
            match p.kind {
                PrincipalKind::User => users_by_account.entry(a.clone()).or_default(),
                PrincipalKind::Role => roles_by_account.entry(a.clone()).or_default(),
                _ => continue,
            }
            .push(p.arn.clone());
        }
        let mut groups_by_account: HashMap<String, Vec<String>> = HashMap::new();
        for arn in self.group_arn.values() {
            if let Some(a) = account_of(arn) {
                groups_by_account.entry(a).or_default().push(arn.clone());
            }
        }
        for v in groups_by_account.values_mut() {
            v.sort();
        }
        let mut profile_roles: HashMap<String, Vec<u32>> = HashMap::new();
        for p in &self.principals {
            if let (PrincipalKind::InstanceProfile, Some(a)) = (p.kind, &p.account) {
                let v = profile_roles.entry(a.clone()).or_default();
                v.extend(&p.carries);
                v.sort_unstable();
                v.dedup();
            }
        }
        let inventoried = self
            .resources
            .iter()
            .filter_map(|r| Some((r.account.clone()?, r.kind.clone())))
            .collect();
        // An agent starts from every principal its credentials authenticate as.
        let mut agents: HashMap<i64, Vec<u32>> = HashMap::new();
        for (agent, cred) in &links.holds {
            if let Some(ps) = links.credentials.get(cred) {
                let e = agents.entry(*agent).or_default();
                for p in ps {
                    if !e.contains(p) {
                        e.push(*p);
                    }
                }
            }
        }
        Model {
            agents,
            policies: self.policies,
            policy_names: self.policy_names,
            principals: self.principals,
            principal_by_node: self.principal_by_node,
            resources: self.resources,
            resource_by_node: resources_by_node,
            credentials: links.credentials,
            credential_keys: self.credentials,
            scps,
            trusting_arn: trust.arn,
            service_roles: trust.service_roles,
            trusting_account: trust.account,
            trusting_anyone: trust.anyone,
            resources_by_account: res.by_account,
            users_by_account,
            roles_by_account,
            groups_by_account,
            principal_by_arn,
            profile_roles,
            inventoried,
            granted_to_account: res.granted_to_account,
            named: res.named,
            admins,
            kind_actions,
            incomplete: self.incomplete,
            incomplete_of,
            direct_cache: Mutex::new(HashMap::new()),
            direct_of: (0..n_principals).map(|_| OnceLock::new()).collect(),
            next_of: (0..n_principals).map(|_| OnceLock::new()).collect(),
            escalation_cache: Mutex::new(HashMap::new()),
            back: OnceLock::new(),
        }
    }

    /// Reads the edges: policy attachments, group and OU membership,
    /// credentials, what agents hold; role chains (instance profiles) and
    /// what resources run as go straight onto principals and resources.
    fn link_edges(&mut self) -> Links {
        let mut l = Links::default();
        for (src, kind, dst, _) in &self.edges {
            match kind.as_str() {
                "HAS_POLICY" => match self.policy_by_node.get(dst) {
                    Some(&p) => l.attached.entry(*src).or_default().push(p),
                    None => {
                        l.missing.insert(*src);
                    }
                },
                "MEMBER_OF" => {
                    if self.org_nodes.contains(dst) {
                        l.parent.insert(*src, *dst);
                    } else {
                        l.groups_of.entry(*src).or_default().push(*dst);
                    }
                }
                "AUTHENTICATES_AS" => {
                    if let Some(&p) = self.principal_by_node.get(dst) {
                        l.credentials.entry(*src).or_default().push(p);
                    }
                }
                "HOLDS" => l.holds.push((*src, *dst)),
                "CAN_ASSUME" => {
                    if let (Some(&from), Some(&to)) = (
                        self.principal_by_node.get(src),
                        self.principal_by_node.get(dst),
                    ) {
                        self.principals[from as usize].carries.push(to);
                    }
                }
                "RUNS_AS" => {
                    if let (Some(&r), Some(&p)) = (
                        self.resource_by_node.get(src),
                        self.principal_by_node.get(dst),
                    ) {
                        self.resources[r as usize].runs_as.push(p);
                    }
                }
                _ => {}
            }
        }
        l
    }

    /// Identity policies: inline, attached, and those of every group.
    fn identity_policies(&mut self, l: &Links) {
        for p in self.principals.iter_mut() {
            let Some(node) = p.node else { continue };
            if let Some(a) = l.attached.get(&node) {
                p.identity.extend(a);
            }
            for g in l.groups_of.get(&node).into_iter().flatten() {
                if let Some(arn) = self.group_arn.get(g) {
                    p.groups.push(arn.clone());
                }
                p.identity.extend(self.inline.get(g).into_iter().flatten());
                p.identity.extend(l.attached.get(g).into_iter().flatten());
                if l.missing.contains(g) {
                    self.incomplete.push(format!(
                        "{}: a group policy has no readable document in the exports",
                        p.arn
                    ));
                }
            }
            if l.missing.contains(&node) {
                self.incomplete.push(format!(
                    "{}: an attached policy has no readable document in the exports",
                    p.arn
                ));
            }
            p.identity.sort_unstable();
            p.identity.dedup();
        }
    }

    fn resolve_boundaries(&mut self) {
        for (idx, arn) in std::mem::take(&mut self.boundaries) {
            match self.policy_by_arn.get(&arn) {
                Some(&b) => self.principals[idx as usize].boundary = Some(b),
                None => self.incomplete.push(format!(
                    "{}: permissions boundary {arn} has no document in the exports",
                    self.principals[idx as usize].arn
                )),
            }
        }
    }

    /// SCP layers per account: root first, down the OU chain, the account last.
    fn scp_layers(&self, l: &Links) -> HashMap<String, Vec<Vec<u32>>> {
        let mut scps: HashMap<String, Vec<Vec<u32>>> = HashMap::new();
        for (node, account) in &self.account_nodes {
            if !l.parent.contains_key(node) && !l.attached.contains_key(node) {
                continue;
            }
            let mut chain = vec![*node];
            let mut at = *node;
            while let Some(&up) = l.parent.get(&at) {
                if chain.contains(&up) || chain.len() > 8 {
                    break;
                }
                chain.push(up);
                at = up;
            }
            let layers: Vec<Vec<u32>> = chain
                .iter()
                .rev()
                .map(|n| l.attached.get(n).cloned().unwrap_or_default())
                .filter(|l| !l.is_empty())
                .collect();
            scps.insert(account.clone(), layers);
        }
        scps
    }

    /// Which roles' trust policies name an ARN, an account, anyone, or a
    /// service (per account).
    fn trust_indexes(&self) -> Trust {
        let mut t = Trust::default();
        for (i, p) in self.principals.iter().enumerate() {
            let Some(trust) = p.trust else { continue };
            for s in &self.policies[trust as usize].statements {
                if s.effect != Effect::Allow {
                    continue;
                }
                let Some(Match::Only(list)) = &s.principals else {
                    continue;
                };
                for pr in list {
                    let v = pr.value.as_str();
                    if v == "*" {
                        t.anyone.push(i as u32);
                    } else if pr.kind == "AWS"
                        && (v.ends_with(":root")
                            || (v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit())))
                    {
                        let acct = account_of(v).unwrap_or_else(|| v.to_string());
                        t.account.entry(acct).or_default().push(i as u32);
                    } else {
                        t.arn.entry(v.to_string()).or_default().push(i as u32);
                    }
                }
            }
        }
        for v in t.arn.values_mut().chain(t.account.values_mut()) {
            v.sort_unstable();
            v.dedup();
        }
        t.anyone.dedup();
        for (who, roles) in &t.arn {
            if !who.ends_with(".amazonaws.com") {
                continue;
            }
            for &r in roles {
                if let Some(a) = &self.principals[r as usize].account {
                    t.service_roles
                        .entry((who.clone(), a.clone()))
                        .or_default()
                        .push(r);
                }
            }
        }
        t
    }

    /// Resources by account, and those whose policy names another account or
    /// a principal in it.
    fn resource_indexes(&self) -> ResourceIndexes {
        let mut x = ResourceIndexes::default();
        for (i, r) in self.resources.iter().enumerate() {
            if let Some(a) = &r.account {
                x.by_account.entry(a.clone()).or_default().push(i as u32);
            }
            let Some(pi) = r.policy else { continue };
            for s in &self.policies[pi as usize].statements {
                let Some(Match::Only(list)) = &s.principals else {
                    continue;
                };
                for pr in list.iter().filter(|p| p.kind == "AWS") {
                    if pr.value.starts_with("arn:") && !pr.value.ends_with(":root") {
                        x.named.insert(pr.value.clone());
                    }
                    let acct = account_of(&pr.value).or_else(|| {
                        (pr.value.len() == 12 && pr.value.bytes().all(|b| b.is_ascii_digit()))
                            .then(|| pr.value.clone())
                    });
                    if let Some(acct) = acct.filter(|a| Some(a) != r.account.as_ref()) {
                        let v = x.granted_to_account.entry(acct).or_default();
                        if v.last() != Some(&(i as u32)) {
                            v.push(i as u32);
                        }
                    }
                }
            }
        }
        x
    }

    /// One administrator stand-in per account, for privilege escalation.
    fn account_admins(&mut self) -> HashMap<String, u32> {
        let admin_policy = {
            self.policies.push(Policy::admin());
            self.policy_names
                .push("full control of the account (privilege escalation)".into());
            self.policies.len() as u32 - 1
        };
        let mut admins = HashMap::new();
        let accounts: HashSet<String> = self
            .principals
            .iter()
            .filter_map(|p| p.account.clone())
            .collect();
        for a in accounts {
            admins.insert(a.clone(), self.principals.len() as u32);
            self.principals.push(PrincipalNode {
                node: None,
                arn: format!("arn:aws:iam::{a}:root"),
                name: format!("administrator of account {a}"),
                kind: PrincipalKind::AccountAdmin,
                account: Some(a),
                identity: vec![admin_policy],
                boundary: None,
                trust: None,
                carries: Vec::new(),
                groups: Vec::new(),
            });
        }
        admins
    }
}

/// What the edges say, for [`ModelBuilder::build`].
#[derive(Default)]
struct Links {
    groups_of: HashMap<i64, Vec<i64>>,
    attached: HashMap<i64, Vec<u32>>,
    parent: HashMap<i64, i64>,
    credentials: HashMap<i64, Vec<u32>>,
    /// Nodes with an attached policy whose document is not in the exports.
    missing: HashSet<i64>,
    holds: Vec<(i64, i64)>,
}

#[derive(Default)]
struct Trust {
    arn: HashMap<String, Vec<u32>>,
    account: HashMap<String, Vec<u32>>,
    anyone: Vec<u32>,
    service_roles: HashMap<(String, String), Vec<u32>>,
}

#[derive(Default)]
struct ResourceIndexes {
    by_account: HashMap<String, Vec<u32>>,
    granted_to_account: HashMap<String, Vec<u32>>,
    named: HashSet<String>,
}

/// The actions of each resource kind, by access level, well-known ones
/// first (from the catalogue).
fn kind_actions() -> HashMap<String, KindSpec> {
    let catalog = Catalog::builtin();
    let mut kind_actions = HashMap::new();
    for (kind, service, types) in KINDS {
        let mut levels: Vec<LevelActions> = Vec::new();
        for level in LEVELS {
            let actions: Vec<(Arc<str>, bool)> = catalog
                .expand(&format!("{service}:*"))
                .into_iter()
                .filter(|a| a.level == level)
                .filter_map(|a| {
                    types
                        .iter()
                        .find(|(t, _)| a.resource_types.contains(t))
                        .map(|(_, object)| (Arc::from(a.qualified()), *object))
                })
                .collect();
            if !actions.is_empty() {
                // Well-known actions first, so examples read naturally.
                let mut actions = actions;
                actions.sort_by_key(|(a, _)| {
                    EXAMPLES
                        .iter()
                        .position(|e| e.eq_ignore_ascii_case(a))
                        .unwrap_or(usize::MAX)
                });
                levels.push((level, actions));
            }
        }
        kind_actions.insert(
            kind.to_string(),
            KindSpec {
                service,
                object: types.iter().any(|(_, o)| *o),
                levels,
            },
        );
    }
    kind_actions
}
