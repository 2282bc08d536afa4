//! The [`ModelBuilder`]: the graph's AWS slice (nodes with their properties,
//! and edges) into a [`Model`]'s indexes — policies, principals with their
//! identity policies and boundaries, SCP layers per account, trust indexes,
//! resources by account and the accounts their policies name, one
//! administrator stand-in per account, and the actions of each resource kind.

use super::{azure, cloud, gcp, github, Hop};
use super::{KindSpec, LevelActions, Model, PrincipalKind, PrincipalNode, ResourceNode};
use crate::catalog::{AccessLevel, Catalog};
pub use crate::input::{EdgeIn, NodeIn};
use crate::policy::{Effect, Match, Policy};
use crate::sensitivity;
use serde_json::{Map, Value};
// foldhash: the model looks up ARNs and signatures millions of times; SipHash was a tenth of `findings --reach`.
use foldhash::{HashMap, HashMapExt, HashSet};
use std::sync::atomic::AtomicU8;
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
    "gcp_service_account",
    "gcp_service_account_key",
    "gcp_role",
    "gcp_deny_policy",
    "gcp_organization",
    "gcp_folder",
    "gcp_project",
    "gcp_storage_bucket",
    "gcp_secret",
    "gcp_kms_key",
    "gcp_bigquery_dataset",
    "gcp_sql_instance",
    "gcp_gke_cluster",
    "azure_app_registration",
    "azure_service_principal",
    "azure_managed_identity",
    "azure_client_secret",
    "azure_certificate",
    "azure_role_definition",
    "azure_scope",
    "azure_management_group",
    "azure_subscription",
    "azure_resource_group",
    "azure_key_vault",
    "azure_key_vault_secret",
    "azure_storage_account",
    "azure_virtual_machine",
    "azure_web_app",
    "azure_sql_server",
    "github_classic_pat",
    "github_fine_grained_pat",
    "github_deploy_key",
    "github_app_installation",
    "github_repository",
    "github_actions_workflow",
];
pub const EDGE_KINDS: &[&str] = &[
    "HAS_POLICY",
    "MEMBER_OF",
    "AUTHENTICATES_AS",
    "CAN_ASSUME",
    "CAN_ACCESS",
    "RUNS_AS",
    "HOLDS",
];

#[derive(Default)]
pub struct ModelBuilder {
    /// Equal documents share one parse (hundreds of thousands of roles
    /// carry a few thousand distinct inline and trust policies); each
    /// keeps its own index and name.
    policies: Vec<Arc<Policy>>,
    /// Parsed policies by their hash, to find an equal one.
    distinct: HashMap<u64, Vec<u32>>,
    hasher: foldhash::fast::RandomState,
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
    cloud: CloudRaw,
    own_principals: Vec<(i64, u32)>,
}

/// The Google Cloud and Azure indexes, hops between clouds by the principal
/// they leave, and workloads with the principals their OIDC token becomes.
type CloudIndexes = (
    gcp::Gcp,
    azure::Azure,
    github::Github,
    HashMap<u32, Vec<Hop>>,
    HashMap<i64, Vec<u32>>,
);

/// What the Google Cloud and Azure nodes and edges say, before indexing.
#[derive(Default)]
struct CloudRaw {
    /// Node → the scope it is (`projects/p`, a full resource name,
    /// `serviceAccount:<e-mail>`, a lower-case Azure id).
    gcp_scope: HashMap<i64, Arc<str>>,
    azure_scope: HashMap<i64, Arc<str>>,
    /// GCP resources: (resource, scope, ancestors top-down).
    gcp_resources: Vec<(u32, Arc<str>, Vec<String>)>,
    /// Service accounts: (principal, e-mail, project id).
    gcp_accounts: Vec<(u32, String, Option<String>)>,
    /// Project number → project id.
    project_ids: HashMap<String, String>,
    /// Project id → ancestors (organisation, folders).
    project_ancestors: HashMap<String, Vec<String>>,
    gcp: gcp::Gcp,
    azure: azure::Azure,
    /// Azure principals: (principal, object id).
    azure_objects: Vec<(u32, String)>,
    /// Key Vault secrets: (secret resource, vault id lower case).
    secrets: Vec<(u32, String)>,
    /// Secrets from `az keyvault secret list`: (resource, vault URI, name).
    listed_secrets: Vec<(u32, String, String)>,
    /// Vault URI → vault id (lower case).
    vault_uris: HashMap<String, String>,
    github: github::Github,
    /// GitHub credentials, each its own principal: (credential node, principal).
    own_principals: Vec<(i64, u32)>,
    /// Workflows: node → repository full name (lower case) and path.
    workflows: HashMap<i64, (String, String)>,
    /// Binding and federation edges: (src, kind, dst, props).
    edges: Vec<(i64, String, i64, Map<String, Value>)>,
}

/// The roles a binding or assignment edge grants: `grants: [{role, condition}]`
/// or a single `role` (with `conditional`).
fn granted_roles(props: &Map<String, Value>) -> Vec<(String, bool)> {
    if let Some(Value::Array(list)) = props.get("grants") {
        return list
            .iter()
            .filter_map(|g| {
                let role = g.get("role")?.as_str()?.to_string();
                let cond = g.get("condition").is_some_and(|c| !c.is_null());
                Some((role, cond))
            })
            .collect();
    }
    let conditional = props.get("conditional").and_then(Value::as_bool) == Some(true);
    props
        .get("role")
        .and_then(Value::as_str)
        .map(|r| vec![(r.to_string(), conditional)])
        .unwrap_or_default()
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
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
                self.push_policy(p, name);
                Some(self.policies.len() as u32 - 1)
            }
            Err(e) => {
                self.incomplete.push(format!("{name}: {e}"));
                None
            }
        }
    }

    /// Appends a policy, sharing the parse of an equal one.
    fn push_policy(&mut self, p: Policy, name: String) {
        use std::hash::BuildHasher;
        let hash = self.hasher.hash_one(&p);
        let same = self.distinct.entry(hash).or_default();
        let shared = same
            .iter()
            .map(|&i| &self.policies[i as usize])
            .find(|q| ***q == p)
            .cloned();
        if shared.is_none() {
            same.push(self.policies.len() as u32);
        }
        self.policies.push(shared.unwrap_or_else(|| Arc::new(p)));
        self.policy_names.push(name);
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
            "aws_access_key"
            | "gcp_service_account_key"
            | "azure_client_secret"
            | "azure_certificate" => {
                self.credentials.insert(n.id, n.key.to_string());
            }
            kind if kind.starts_with("gcp_")
                || kind.starts_with("azure_")
                || kind.starts_with("github_") =>
            {
                self.cloud_node(&n, name);
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

    /// A Google Cloud or Azure node: principals, resources, roles, deny policies.
    fn cloud_node(&mut self, n: &NodeIn<'_>, name: String) {
        let str_prop = |k: &str| n.props.get(k).and_then(Value::as_str);
        match n.kind {
            "gcp_service_account" => {
                let email = n.key.strip_prefix("email:").unwrap_or(n.key).to_string();
                let p = self.add_principal(
                    n.id,
                    format!("serviceAccount:{email}"),
                    name,
                    PrincipalKind::GcpServiceAccount,
                    Vec::new(),
                    None,
                );
                let project = str_prop("project_id").map(str::to_string);
                self.principals[p as usize].account = project.clone();
                self.cloud
                    .gcp_scope
                    .insert(n.id, Arc::from(format!("serviceAccount:{email}")));
                self.cloud.gcp_accounts.push((p, email, project));
            }
            "azure_app_registration" | "azure_service_principal" | "azure_managed_identity" => {
                let app = str_prop("app_id").unwrap_or(n.key).to_string();
                let p = self.add_principal(
                    n.id,
                    format!("azure-app:{app}"),
                    name,
                    PrincipalKind::AzureServicePrincipal,
                    Vec::new(),
                    None,
                );
                let oid = str_prop("sp_object_id").or_else(|| {
                    n.props
                        .contains_key("service_principal_type")
                        .then(|| str_prop("object_id"))
                        .flatten()
                });
                if let Some(o) = oid {
                    self.cloud.azure_objects.push((p, o.to_ascii_lowercase()));
                }
                if n.kind != "azure_managed_identity" {
                    self.cloud.azure.apps.push(p);
                }
            }
            "github_classic_pat"
            | "github_fine_grained_pat"
            | "github_deploy_key"
            | "github_app_installation" => {
                let Some(grant) = github::Grant::from_node(n.kind, n.props) else {
                    return;
                };
                let p = self.add_principal(
                    n.id,
                    n.key.to_string(),
                    name,
                    PrincipalKind::GithubCredential,
                    Vec::new(),
                    None,
                );
                self.principals[p as usize].account = grant.org.clone();
                self.cloud.github.grants.insert(p, grant);
                self.cloud.own_principals.push((n.id, p));
                self.credentials.insert(n.id, n.key.to_string());
            }
            "github_repository" => {
                let full = n
                    .key
                    .strip_prefix("id:github-repo/")
                    .map(str::to_string)
                    .unwrap_or_else(|| name.clone());
                let org = str_prop("org")
                    .map(str::to_string)
                    .unwrap_or_else(|| full.split('/').next().unwrap_or("").to_string());
                let public = str_prop("visibility") == Some("public");
                let r =
                    self.cloud_resource(n, name, n.kind, full.clone(), Some(org.clone()), "tags");
                let g = &mut self.cloud.github;
                g.by_org
                    .entry(org.to_ascii_lowercase())
                    .or_default()
                    .push(r);
                g.by_name.insert(full.to_ascii_lowercase(), r);
                g.repos.insert(
                    r,
                    github::Repo {
                        full_name: full,
                        org,
                        public,
                    },
                );
            }
            "github_actions_workflow" => {
                if let (Some(repo), Some(path)) = (str_prop("repository"), str_prop("path")) {
                    self.cloud
                        .workflows
                        .insert(n.id, (repo.to_ascii_lowercase(), path.to_string()));
                }
            }
            "gcp_role" => {
                // `role` is the full name bindings use; the key carries it too.
                let name = str_prop("role").unwrap_or(n.key.trim_start_matches("id:gcp-role/"));
                let perms = strings(n.props.get("permissions"));
                self.cloud
                    .gcp
                    .custom
                    .insert(name.to_string(), Arc::from(perms));
            }
            "gcp_deny_policy" => {
                let attachment = str_prop("attachment").unwrap_or("");
                if let Some(doc) = n.props.get("policy") {
                    self.cloud
                        .gcp
                        .deny
                        .extend(gcp::Deny::from_policy(attachment, &name, doc));
                }
            }
            "azure_role_definition" => {
                if let Some(doc) = n.props.get("definition") {
                    match serde_json::from_value::<azure::RoleDefinition>(doc.clone()) {
                        Ok(r) => {
                            let r = Arc::new(r);
                            self.cloud
                                .azure
                                .custom
                                .insert(r.role_name.to_ascii_lowercase(), r.clone());
                            self.cloud
                                .azure
                                .custom
                                .insert(r.name.to_ascii_lowercase(), r);
                        }
                        Err(e) => self
                            .incomplete
                            .push(format!("{name}: role definition unreadable: {e}")),
                    }
                }
            }
            "azure_scope" => {
                if let Some(scope) = str_prop("scope") {
                    self.cloud
                        .azure_scope
                        .insert(n.id, Arc::from(scope.to_ascii_lowercase()));
                }
            }
            kind if gcp::spec_index(kind).is_some() => {
                let scope = match str_prop("scope") {
                    Some(s) => s.to_string(),
                    None if kind == "gcp_project" => {
                        format!("projects/{}", str_prop("project_id").unwrap_or(&name))
                    }
                    None => return,
                };
                let ancestors = strings(n.props.get("ancestors"));
                if kind == "gcp_project" {
                    if let Some(id) = str_prop("project_id") {
                        if let Some(num) = str_prop("project_number") {
                            self.cloud
                                .project_ids
                                .insert(num.to_string(), id.to_string());
                        }
                        if !ancestors.is_empty() {
                            self.cloud
                                .project_ancestors
                                .insert(id.to_string(), ancestors.clone());
                        }
                    }
                }
                let account = str_prop("project_id").map(str::to_string);
                let r = self.cloud_resource(n, name, kind, scope.clone(), account, "labels");
                let scope: Arc<str> = Arc::from(scope);
                self.cloud.gcp_scope.insert(n.id, scope.clone());
                self.cloud.gcp_resources.push((r, scope, ancestors));
                self.cloud
                    .gcp
                    .spec_of
                    .insert(r, gcp::spec_index(kind).unwrap_or(0));
            }
            kind if azure::spec_index(kind).is_some() => {
                // A listed Key Vault secret names its vault by URI: its id is
                // settled once every vault is known.
                let listed = match (kind, str_prop("id")) {
                    ("azure_key_vault_secret", None) => {
                        match (str_prop("vault_uri"), str_prop("secret_name")) {
                            (Some(u), Some(s)) => Some((u.to_ascii_lowercase(), s.to_string())),
                            _ => return,
                        }
                    }
                    _ => None,
                };
                let id = match (&listed, str_prop("id")) {
                    (Some((u, s)), _) => format!("{u}secrets/{s}"),
                    (None, Some(id)) => id.to_ascii_lowercase(),
                    (None, None) => return,
                };
                let sub = id
                    .strip_prefix("/subscriptions/")
                    .map(|r| r.split('/').next().unwrap_or(r).to_string());
                let r = self.cloud_resource(n, name, kind, id.clone(), sub.clone(), "tags");
                if kind == "azure_subscription" {
                    if let Some(sub) = sub {
                        let groups = strings(n.props.get("management_groups"))
                            .into_iter()
                            .map(|g| g.to_ascii_lowercase())
                            .collect();
                        self.cloud.azure.groups_of.insert(sub, groups);
                    }
                }
                if kind == "azure_key_vault" {
                    let policies = n
                        .props
                        .get("access_policies")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|p| {
                            let oid = p.get("objectId")?.as_str()?.to_ascii_lowercase();
                            let perms =
                                strings(p.get("permissions").and_then(|x| x.get("secrets")));
                            Some((oid, perms))
                        })
                        .collect();
                    let rbac = n
                        .props
                        .get("enable_rbac_authorization")
                        .and_then(Value::as_bool)
                        == Some(true);
                    self.cloud.azure.vaults.insert(
                        r,
                        azure::Vault {
                            id: id.clone(),
                            rbac,
                            policies,
                        },
                    );
                }
                if kind == "azure_key_vault" {
                    if let Some(u) = str_prop("vault_uri") {
                        self.cloud
                            .vault_uris
                            .insert(u.to_ascii_lowercase(), id.clone());
                    }
                }
                if let Some((uri, secret)) = listed {
                    self.cloud.listed_secrets.push((r, uri, secret));
                    return;
                }
                if kind == "azure_key_vault_secret" {
                    if let Some(v) = id.rsplit_once("/secrets/").map(|(v, _)| v.to_string()) {
                        self.cloud.secrets.push((r, v));
                    }
                }
                self.cloud.azure_scope.insert(n.id, Arc::from(id.as_str()));
                self.cloud.azure.by_id.insert(id, r);
                self.cloud
                    .azure
                    .spec_of
                    .insert(r, azure::spec_index(kind).unwrap_or(0));
            }
            _ => {}
        }
    }

    fn cloud_resource(
        &mut self,
        n: &NodeIn<'_>,
        name: String,
        kind: &str,
        arn: String,
        account: Option<String>,
        tags_prop: &str,
    ) -> u32 {
        let tags: Vec<(&str, &str)> = match n.props.get(tags_prop) {
            Some(Value::Object(m)) => m
                .iter()
                .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
                .collect(),
            _ => Vec::new(),
        };
        let (mut sens, mut why) = sensitivity::assess(kind, tags);
        if why.starts_with("default for") && cloud::high_by_default(kind) {
            sens = sensitivity::Sensitivity::High;
            why = format!("default for {kind}");
        }
        let idx = self.resources.len() as u32;
        self.resources.push(ResourceNode {
            node: n.id,
            account,
            arn,
            name,
            kind: kind.to_string(),
            sensitivity: sens,
            sensitivity_reason: why,
            policy: None,
            runs_as: Vec::new(),
        });
        self.resource_by_node.insert(n.id, idx);
        idx
    }

    pub fn edge(&mut self, e: EdgeIn<'_>) {
        let via = e.props.get("via").and_then(Value::as_str).unwrap_or("");
        let cloud = match e.kind {
            "CAN_ACCESS" => true,
            "CAN_ASSUME" => {
                e.props.contains_key("grants")
                    || e.props.contains_key("role")
                    || matches!(
                        via,
                        "gcp-workload-identity-federation"
                            | "azure-workload-identity-federation"
                            | "github-actions-oidc"
                    )
            }
            _ => false,
        };
        if cloud {
            self.cloud
                .edges
                .push((e.src, e.kind.to_string(), e.dst, e.props.clone()));
            if e.kind == "CAN_ACCESS" {
                return;
            }
        }
        let profile = e.kind == "CAN_ASSUME"
            && e.props.get("trusted").and_then(Value::as_str) == Some("instance-profile");
        if e.kind != "CAN_ASSUME" || profile {
            self.edges.push((e.src, e.kind.to_string(), e.dst, profile));
        }
    }

    /// Every index the [`Model`] answers from.
    pub fn build(mut self) -> Model {
        let mut links = self.link_edges();
        let (gcp, azure, github, bridges, workloads) = self.cloud_indexes();
        // A GitHub credential starts as itself.
        for (node, p) in std::mem::take(&mut self.own_principals) {
            links.credentials.entry(node).or_default().push(p);
        }
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
        let n_policies = self.policies.len();
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
        // The same lists as principals (the last with each ARN, as a lookup
        // by ARN finds), for walking an account's users or roles unhashed.
        let ids = |by: &HashMap<String, Vec<String>>| -> HashMap<String, Vec<u32>> {
            by.iter()
                .map(|(a, arns)| {
                    let ids = arns.iter().filter_map(|x| principal_by_arn.get(x).copied());
                    (a.clone(), ids.collect())
                })
                .collect()
        };
        let user_ids_by_account = ids(&users_by_account);
        let role_ids_by_account = ids(&roles_by_account);
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
        let singled = self
            .principals
            .iter()
            .map(|p| trust.arn.contains_key(&p.arn) || res.named.contains(&p.arn))
            .collect();
        Model {
            singled,
            gcp,
            azure,
            github,
            bridges,
            workloads,
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
            user_ids_by_account,
            role_ids_by_account,
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
            groups: OnceLock::new(),
            admin_paths: OnceLock::new(),
            hows: super::Hows::new(),
            policy_traits: (0..n_policies).map(|_| AtomicU8::new(0)).collect(),
        }
    }

    /// The Google Cloud and Azure indexes, the hops between clouds, and the
    /// principals workloads exchange their OIDC tokens for.
    fn cloud_indexes(&mut self) -> CloudIndexes {
        let mut raw = std::mem::take(&mut self.cloud);
        let ids = std::mem::take(&mut raw.project_ids);
        let norm = |s: &str| -> String {
            match s.strip_prefix("projects/").and_then(|n| ids.get(n)) {
                Some(id) => format!("projects/{id}"),
                None => s.to_string(),
            }
        };
        let mut g = std::mem::take(&mut raw.gcp);
        for (r, scope, ancestors) in &raw.gcp_resources {
            // A project named by number is its id, as bindings are.
            let own = norm(scope);
            let mut scopes: Vec<Arc<str>> = vec![Arc::from(own.as_str())];
            let mut ancestors: Vec<String> = ancestors.iter().map(|a| norm(a)).collect();
            // A project's own ancestors, when only the project knows them.
            if let Some(pid) = ancestors
                .iter()
                .chain(std::iter::once(&own))
                .find_map(|a| a.strip_prefix("projects/").map(str::to_string))
            {
                for a in raw.project_ancestors.get(&pid).into_iter().flatten() {
                    if !ancestors.contains(a) {
                        ancestors.push(a.clone());
                    }
                }
            }
            scopes.extend(ancestors.into_iter().map(Arc::from));
            scopes.dedup();
            for s in &scopes {
                g.under.entry(s.clone()).or_default().push(*r);
            }
            g.scopes_of.insert(*r, scopes);
        }
        for (p, email, project) in &raw.gcp_accounts {
            let mut scopes: Vec<Arc<str>> = vec![Arc::from(format!("serviceAccount:{email}"))];
            if let Some(pid) = project {
                scopes.push(Arc::from(format!("projects/{pid}")));
                for a in raw.project_ancestors.get(pid).into_iter().flatten() {
                    scopes.push(Arc::from(norm(a)));
                }
            }
            for s in &scopes {
                g.accounts_under.entry(s.clone()).or_default().push(*p);
            }
            g.account_scopes.insert(*p, scopes);
            g.email.insert(*p, email.clone());
        }
        let mut gh = std::mem::take(&mut raw.github);
        let mut az = std::mem::take(&mut raw.azure);
        for (p, oid) in &raw.azure_objects {
            az.object_id.insert(*p, oid.clone());
        }
        for (r, uri, name) in std::mem::take(&mut raw.listed_secrets) {
            let Some(vault) = raw.vault_uris.get(&uri) else {
                continue;
            };
            let id = format!("{vault}/secrets/{}", name.to_ascii_lowercase());
            self.resources[r as usize].arn = id.clone();
            self.resources[r as usize].account = vault
                .strip_prefix("/subscriptions/")
                .map(|v| v.split('/').next().unwrap_or(v).to_string());
            raw.secrets.push((r, vault.clone()));
            az.by_id.insert(id, r);
            az.spec_of
                .insert(r, azure::spec_index("azure_key_vault_secret").unwrap_or(0));
        }
        for (s, vault) in &raw.secrets {
            if let Some(&v) = az.by_id.get(vault) {
                az.vault_of.insert(*s, v);
                // An untagged secret is as sensitive as its vault says.
                let (vs, vr) = {
                    let vr = &self.resources[v as usize];
                    (
                        vr.sensitivity,
                        format!("in {}: {}", vr.name, vr.sensitivity_reason),
                    )
                };
                let sr = &mut self.resources[*s as usize];
                if sr.sensitivity_reason.starts_with("default for") && vs > sr.sensitivity {
                    sr.sensitivity = vs;
                    sr.sensitivity_reason = vr;
                }
            }
        }
        for (&r, _) in az.spec_of.iter() {
            let runs = &self.resources[r as usize].runs_as;
            if !runs.is_empty() {
                az.runs_as.insert(r, runs.clone());
            }
        }
        let mut bridges: HashMap<u32, Vec<Hop>> = HashMap::new();
        let mut workloads: HashMap<i64, Vec<u32>> = HashMap::new();
        for (src, kind, dst, props) in &raw.edges {
            let via = props.get("via").and_then(Value::as_str).unwrap_or("");
            let from = self.principal_by_node.get(src).copied();
            let to = self.principal_by_node.get(dst).copied();
            if let (None, Some(to), "github-actions-oidc") = (from, to, via) {
                let v = workloads.entry(*src).or_default();
                if !v.contains(&to) {
                    v.push(to);
                }
                continue;
            }
            let Some(from) = from else { continue };
            if let (Some(to), "gcp-workload-identity-federation") = (to, via) {
                let role = props
                    .get("role")
                    .and_then(Value::as_str)
                    .unwrap_or("a role");
                bridges.entry(from).or_default().push(Hop {
                    principal: to,
                    from: None,
                    how: format!(
                        "gcp workload identity federation ({role} on the service account)"
                    )
                    .into(),
                    conditional: props.get("conditional").and_then(Value::as_bool) == Some(true),
                    potential: None,
                });
                continue;
            }
            if let (Some(to), "azure-workload-identity-federation") = (to, via) {
                let name = props.get("name").and_then(Value::as_str).unwrap_or("?");
                bridges.entry(from).or_default().push(Hop {
                    principal: to,
                    from: None,
                    how: format!(
                        "sts:GetWebIdentityToken: the app's federated credential {name} trusts this role"
                    )
                    .into(),
                    conditional: false,
                    potential: None,
                });
                continue;
            }
            let kind_of = |p: u32| self.principals[p as usize].kind;
            match kind_of(from) {
                PrincipalKind::GcpServiceAccount => {
                    let Some(scope) = raw.gcp_scope.get(dst) else {
                        continue;
                    };
                    let scope: Arc<str> = Arc::from(norm(scope));
                    for (role, conditional) in granted_roles(props) {
                        g.grants.entry(from).or_default().push(gcp::Grant {
                            scope: scope.clone(),
                            role: Arc::from(role),
                            conditional,
                        });
                    }
                }
                PrincipalKind::AzureServicePrincipal if via == "entra-app-role-assignment" => {
                    let takes_over = props
                        .get("app_roles")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .find_map(|r| r.get("permission")?.as_str());
                    if let Some(permission) = takes_over {
                        az.takeover.insert(from, permission.to_string());
                    }
                }
                PrincipalKind::AzureServicePrincipal if kind == "CAN_ACCESS" => {
                    let Some(scope) = raw.azure_scope.get(dst) else {
                        continue;
                    };
                    for (role, conditional) in granted_roles(props) {
                        az.assignments
                            .entry(from)
                            .or_default()
                            .push(azure::Assignment {
                                scope: scope.clone(),
                                role: Arc::from(role),
                                conditional,
                            });
                    }
                }
                _ => {}
            }
        }
        for (wf, starts) in &workloads {
            if let Some((repo, path)) = raw.workflows.get(wf) {
                let v = gh.workflows.entry(repo.clone()).or_default();
                for &p in starts {
                    v.push((path.clone(), p));
                }
            }
        }
        self.own_principals = std::mem::take(&mut raw.own_principals);
        for p in gh.unlisted() {
            self.incomplete.push(format!(
                "{}: its selected repositories are not in the exports (the token's or installation's repositories listing)",
                self.principals[p as usize].arn
            ));
        }
        let unknown_gcp = g.unknown_roles();
        for (&p, grants) in &g.grants {
            for gr in grants
                .iter()
                .filter(|gr| unknown_gcp.iter().any(|u| **u == *gr.role))
            {
                self.incomplete.push(format!(
                    "{}: role {} has permissions neither in custody's catalogue nor in the exports (gcloud iam roles describe)",
                    self.principals[p as usize].arn, gr.role
                ));
            }
        }
        let unknown_azure = az.unknown_roles();
        for (&p, list) in &az.assignments {
            for a in list
                .iter()
                .filter(|a| unknown_azure.iter().any(|u| **u == *a.role))
            {
                self.incomplete.push(format!(
                    "{}: role {} is neither built in nor defined in the exports (az role definition list)",
                    self.principals[p as usize].arn, a.role
                ));
            }
        }
        (g, az, gh, bridges, workloads)
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
            self.policies.push(Arc::new(Policy::admin()));
            self.policy_names
                .push("full control of the account (privilege escalation)".into());
            self.policies.len() as u32 - 1
        };
        let mut admins = HashMap::new();
        let accounts: HashSet<String> = self
            .principals
            .iter()
            .filter(|p| {
                !matches!(
                    p.kind,
                    PrincipalKind::GcpServiceAccount
                        | PrincipalKind::AzureServicePrincipal
                        | PrincipalKind::GithubCredential
                )
            })
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
