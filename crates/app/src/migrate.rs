//! Migration plans: from a static AWS access key to ephemeral identity, as
//! `custody migrate` and the API show them. Every consumer comes from the
//! graph (every place the key is stored and who reads it) and from observed
//! use (the usage profile); each gets the ephemeral identity that fits it; the
//! replacement role's policy grants exactly the actions the key was seen
//! using (checked with custody's own policy evaluator); and the artefacts to
//! apply (Terraform, the workflow change, the ServiceAccount) are generated,
//! with a cutover checklist that ends with the old key's deactivation.
//!
//! Only a plan: custody changes nothing.

use crate::respond::{self, Action, Place};
use anyhow::Result;
use custody_analysis::catalog::Catalog;
use custody_analysis::eval::{evaluate, Context, Outcome, PolicySet, Request};
use custody_analysis::policy::Policy;
use custody_analysis::usage::Profile;
use custody_store::Store;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The ephemeral identity that replaces the key for one consumer.
#[derive(Debug, Serialize)]
pub struct Target {
    /// `github-actions-oidc`, `eks-irsa`, `iam-identity-center`, `workload-role`.
    pub kind: &'static str,
    pub how: String,
}

#[derive(Debug, Serialize)]
pub struct Consumer {
    /// Where the key is today and who reads it there.
    #[serde(flatten)]
    pub place: Place,
    pub target: Target,
}

/// The least-privilege policy and what custody's evaluator says of it.
#[derive(Debug, Serialize)]
pub struct LeastPrivilege {
    /// IAM actions, from the actions seen in the audit logs.
    pub actions: Vec<String>,
    /// Calls seen that map to no IAM action custody knows (listed, not granted).
    pub unmapped: Vec<String>,
    pub policy: Value,
    /// Every used action is allowed by the policy.
    pub grants_every_used_action: bool,
    /// Every other action of the same services is denied.
    pub denies_everything_else: bool,
    /// How many actions the check evaluated.
    pub checked_actions: usize,
}

#[derive(Debug, Serialize)]
pub struct Artefacts {
    /// The role, its trust policy (one statement per consumer's federation)
    /// and its policy.
    pub terraform: String,
    /// The workflow change, when a GitHub Actions workflow consumes the key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub github_workflow: Option<String>,
    /// The annotated ServiceAccount, when a Kubernetes workload consumes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubernetes_service_account: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Migration {
    pub credential: String,
    pub principal: Option<String>,
    pub owners: Vec<String>,
    pub consumers: Vec<Consumer>,
    /// What the logs say: events, last use, where from, with what.
    pub observed: Option<Value>,
    pub role_name: String,
    pub least_privilege: LeastPrivilege,
    pub artefacts: Artefacts,
    pub checklist: Vec<String>,
}

/// CloudTrail operation names that are not their IAM action's name.
const API_TO_IAM: &[(&str, &str)] = &[
    ("s3:ListObjects", "s3:ListBucket"),
    ("s3:ListObjectsV2", "s3:ListBucket"),
    ("s3:HeadObject", "s3:GetObject"),
    ("s3:HeadBucket", "s3:ListBucket"),
    ("lambda:Invoke", "lambda:InvokeFunction"),
    ("lambda:Invoke20150331", "lambda:InvokeFunction"),
    ("lambda:GetFunction20150331v2", "lambda:GetFunction"),
];

/// The IAM action a logged call needs, if custody knows it.
pub fn iam_action(catalog: &Catalog, service: &str, api: &str) -> Option<String> {
    let call = format!("{service}:{api}");
    if let Some((_, a)) = API_TO_IAM.iter().find(|(c, _)| *c == call) {
        return Some((*a).to_string());
    }
    catalog.get(&call).map(|a| a.qualified())
}

fn target_for(place: &Place) -> Target {
    match place.kind.as_str() {
        "github_actions_secret" => Target {
            kind: "github-actions-oidc",
            how: "the workflow assumes the role with GitHub's OIDC token (aws-actions/configure-aws-credentials with role-to-assume, permissions: id-token: write); delete the secret".into(),
        },
        "k8s_secret" => Target {
            kind: "eks-irsa",
            how: "the pods run as a ServiceAccount annotated with the role (EKS IRSA; or an EKS Pod Identity association); delete the Secret".into(),
        },
        "mcp_config" => Target {
            kind: "iam-identity-center",
            how: "the developer's agent uses short-lived credentials from IAM Identity Center (`aws sso login`, a named profile in the MCP server's env: AWS_PROFILE) instead of a key".into(),
        },
        "terraform_state" => Target {
            kind: "github-actions-oidc",
            how: "the Terraform run assumes the role through its runner's OIDC identity; the key leaves the state with the next apply".into(),
        },
        "aws_secretsmanager_secret" => Target {
            kind: "workload-role",
            how: "whoever reads the secret gets the role's permissions through its own role (instance profile, task or function role) instead; delete the key from the secret".into(),
        },
        "git_blob" => Target {
            kind: "workload-role",
            how: "nothing should read a key from a repository: its deployments get a role of their own; the history keeps the old value, so the old key must be deactivated".into(),
        },
        _ => Target {
            kind: "workload-role",
            how: format!("whatever reads this {} gets a role of its own (instance profile, task role, IRSA, OIDC)", place.kind),
        },
    }
}

/// `owner/repo` of a `github://owner/repo/actions/secrets/NAME` place.
fn repo_of(place: &str) -> Option<&str> {
    place
        .strip_prefix("github://")?
        .split_once("/actions/secrets/")
        .map(|(r, _)| r)
}

/// `(namespace, name)` of a `k8s://cluster/ns/secrets/name` place.
fn secret_of(place: &str) -> Option<(&str, &str)> {
    custody_model::key::k8s_secret_of(place).map(|(_, ns, name)| (ns, name))
}

/// A Terraform/IAM-safe role name from the key's user.
fn role_name(user: Option<&str>) -> String {
    let base: String = user
        .unwrap_or("migrated")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut name = format!("{base}-ephemeral");
    name.truncate(64);
    name
}

fn hcl_ident(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The least-privilege policy for these IAM actions, checked: every used
/// action allowed, every other action of those services denied.
pub fn least_privilege(actions: &BTreeSet<String>, unmapped: Vec<String>) -> LeastPrivilege {
    let catalog = Catalog::builtin();
    let mut by_service: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for a in actions {
        let (svc, _) = a.split_once(':').unwrap_or((a, ""));
        by_service.entry(svc).or_default().push(a);
    }
    let statements: Vec<Value> = by_service
        .iter()
        .map(|(svc, acts)| {
            json!({
                "Sid": format!("Used{}", svc.replace('-', "")),
                "Effect": "Allow",
                "Action": acts,
                "Resource": "*"
            })
        })
        .collect();
    let policy = json!({"Version": "2012-10-17", "Statement": statements});
    let (mut grants, mut denies, mut checked) = (true, true, 0);
    if let Ok(p) = Policy::from_value(&policy) {
        let set = PolicySet {
            identity: vec![&p],
            ..PolicySet::default()
        };
        let ctx = Context::new();
        for svc in by_service.keys() {
            for info in catalog.expand(&format!("{svc}:*")) {
                let action = info.qualified();
                let d = evaluate(
                    &set,
                    &Request {
                        principal: "arn:aws:iam::000000000000:role/check",
                        action: &action,
                        resource: "*",
                        context: &ctx,
                    },
                );
                checked += 1;
                let allowed = d.outcome == Outcome::Allow;
                if actions.contains(&action) {
                    grants &= allowed;
                } else {
                    denies &= !allowed;
                }
            }
        }
    } else {
        grants = false;
        denies = false;
    }
    LeastPrivilege {
        actions: actions.iter().cloned().collect(),
        unmapped,
        policy,
        grants_every_used_action: grants,
        denies_everything_else: denies,
        checked_actions: checked,
    }
}

/// The migration plan for the AWS access key node `id`; `profile` is its usage
/// profile, if the logs have one.
pub fn plan(store: &dyn Store, id: i64, profile: Option<&Profile>) -> Result<Migration> {
    plan_owned(store, id, profile, None)
}

/// [`plan`] with the attribution already in memory (see
/// [`respond::plan_with`]).
pub fn plan_owned(
    store: &dyn Store,
    id: i64,
    profile: Option<&Profile>,
    ownership: Option<&crate::owner::Ownership>,
) -> Result<Migration> {
    if let Some(why) = unsupported(store, id)? {
        anyhow::bail!("{why}");
    }
    let base = respond::plan_with(store, id, Action::Rotate, ownership)?;
    let account = base
        .principal
        .as_deref()
        .and_then(|p| p.split(':').nth(4))
        .unwrap_or("<account id>")
        .to_string();
    let role = role_name(base.user_name.as_deref());
    let consumers: Vec<Consumer> = base
        .places
        .into_iter()
        .map(|place| Consumer {
            target: target_for(&place),
            place,
        })
        .collect();
    let catalog = Catalog::builtin();
    let mut actions = BTreeSet::new();
    let mut unmapped = Vec::new();
    if let Some(p) = profile {
        for a in &p.actions {
            match iam_action(catalog, &a.service, &a.action) {
                Some(x) => {
                    actions.insert(x);
                }
                None => unmapped.push(format!("{}:{}", a.service, a.action)),
            }
        }
    }
    let lp = least_privilege(&actions, unmapped);
    let repos: BTreeSet<&str> = consumers
        .iter()
        .filter_map(|c| repo_of(&c.place.place))
        .collect();
    let secrets: Vec<(&str, &str)> = consumers
        .iter()
        .filter_map(|c| secret_of(&c.place.place))
        .collect();

    // Terraform: the role, trusted by each consumer's federation, with the policy.
    let mut tf = String::new();
    let ident = hcl_ident(&role);
    let mut trust: Vec<Value> = Vec::new();
    for r in &repos {
        trust.push(json!({
            "Effect": "Allow",
            "Principal": {"Federated": format!("arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com")},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                "StringLike": {"token.actions.githubusercontent.com:sub": format!("repo:{r}:ref:refs/heads/main")}
            }
        }));
    }
    if !secrets.is_empty() {
        let subs: Vec<String> = secrets
            .iter()
            .map(|(ns, name)| format!("system:serviceaccount:{ns}:{}", sa_name(name)))
            .collect();
        tf.push_str("variable \"eks_oidc_issuer\" {\n  description = \"The EKS cluster's OIDC issuer without https:// (aws eks describe-cluster --query cluster.identity.oidc.issuer)\"\n  type        = string\n}\n\n");
        trust.push(json!({
            "Effect": "Allow",
            "Principal": {"Federated": format!("arn:aws:iam::{account}:oidc-provider/${{var.eks_oidc_issuer}}")},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {"${var.eks_oidc_issuer}:sub": subs, "${var.eks_oidc_issuer}:aud": "sts.amazonaws.com"}}
        }));
    }
    if trust.is_empty() {
        // Humans and workloads in the account: the account decides who assumes it.
        trust.push(json!({
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
            "Action": "sts:AssumeRole"
        }));
    }
    let trust_doc = json!({"Version": "2012-10-17", "Statement": trust});
    tf.push_str(&format!(
        "resource \"aws_iam_role\" \"{ident}\" {{\n  name               = \"{role}\"\n  description        = \"Replaces the static access key {key} (custody migrate)\"\n  assume_role_policy = <<-EOT\n{trust}\n  EOT\n}}\n\n",
        key = base.credential.trim_start_matches("aws-access-key:"),
        trust = heredoc_json(&trust_doc),
    ));
    tf.push_str(&format!(
        "resource \"aws_iam_role_policy\" \"{ident}_used\" {{\n  name   = \"used-actions\"\n  role   = aws_iam_role.{ident}.id\n  policy = <<-EOT\n{}\n  EOT\n}}\n",
        heredoc_json(&lp.policy)
    ));

    let github_workflow = (!repos.is_empty()).then(|| {
        format!(
            "# In the workflow that used the key ({repos}): replace the key inputs with the role.\npermissions:\n  id-token: write\n  contents: read\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          role-to-assume: arn:aws:iam::{account}:role/{role}\n          aws-region: {region}\n",
            repos = repos.iter().copied().collect::<Vec<_>>().join(", "),
            region = profile
                .and_then(|p| p.regions.iter().max_by_key(|s| s.count))
                .map_or("us-east-1".to_string(), |s| s.value.clone()),
        )
    });
    let kubernetes_service_account = (!secrets.is_empty()).then(|| {
        secrets
            .iter()
            .map(|(ns, name)| {
                format!(
                    "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {sa}\n  namespace: {ns}\n  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::{account}:role/{role}\n",
                    sa = sa_name(name)
                )
            })
            .collect::<Vec<_>>()
            .join("---\n")
    });

    let observed = profile.map(|p| {
        json!({
            "events": p.events,
            "first_used": custody_model::time::from_unix(p.first),
            "last_used": custody_model::time::from_unix(p.last),
            "regions": p.regions.iter().map(|s| &s.value).collect::<Vec<_>>(),
            "networks": p.networks.iter().map(|s| custody_analysis::usage::show_network(&s.value)).collect::<Vec<_>>(),
            "clients": p.agents.iter().map(|s| &s.value).collect::<Vec<_>>(),
        })
    });
    let key_id = base
        .credential
        .trim_start_matches("aws-access-key:")
        .to_string();
    let user = base.user_name.clone().unwrap_or_else(|| "<user>".into());
    let mut checklist = vec![format!(
        "Apply the Terraform: role {role} with the trust and least-privilege policy above."
    )];
    for c in &consumers {
        checklist.push(format!(
            "{}: {} — {}",
            c.place.kind, c.place.place, c.target.how
        ));
    }
    if profile.is_none() {
        checklist.push("No audit log has shown this key in use: ingest CloudTrail first, or the policy grants nothing.".into());
    } else if !lp.unmapped.is_empty() {
        checklist.push(format!(
            "Review calls custody could not map to IAM actions before cutover: {}",
            lp.unmapped.join(", ")
        ));
    }
    checklist.push(format!(
        "Watch the key's use fall to zero: custody ingest <new CloudTrail> && custody usage {key_id} (last used must stop moving)."
    ));
    checklist.push(format!(
        "Deactivate the old key once unused for a full business cycle: aws iam update-access-key --user-name {user} --access-key-id {key_id} --status Inactive"
    ));
    checklist.push(format!(
        "After a grace period with no errors: aws iam delete-access-key --user-name {user} --access-key-id {key_id}"
    ));
    if consumers.is_empty() {
        return Err(NothingToMigrate(format!(
            "custody knows no place or consumer of {key_id}: nothing to migrate yet (ingest and scan first)"
        ))
        .into());
    }
    Ok(Migration {
        credential: base.credential,
        principal: base.principal,
        owners: base.owners,
        consumers,
        observed,
        role_name: role,
        least_privilege: lp,
        artefacts: Artefacts {
            terraform: tf,
            github_workflow,
            kubernetes_service_account,
        },
        checklist,
    })
}

/// The ServiceAccount for pods that mounted Secret `name`.
fn sa_name(secret: &str) -> String {
    let base = secret
        .trim_end_matches("-credentials")
        .trim_end_matches("-aws");
    format!("{base}-aws")
}

/// A JSON document for a Terraform heredoc (`<<-EOT`): pretty, indented
/// four spaces (the heredoc strips the common indent).
fn heredoc_json(v: &Value) -> String {
    serde_json::to_string_pretty(v)
        .unwrap_or_default()
        .lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Why custody cannot plan a migration for this node, if it cannot: the
/// planner targets AWS access keys (the ephemeral identities it writes are
/// AWS roles).
pub fn unsupported(store: &dyn Store, id: i64) -> Result<Option<String>> {
    let Some(node) = store.node(id)? else {
        return Ok(Some(format!("node {id} vanished while reading")));
    };
    let b = &node.brief;
    Ok((b.kind != "aws_access_key").then(|| {
        format!(
            "`{}` is a {} {}: custody plans migrations from AWS access keys to AWS roles so far (`custody respond` plans rotating or revoking any credential)",
            b.key, b.label, b.kind
        )
    }))
}

/// The key is known but no place or consumer of it is: there is nothing to
/// plan (not a failure of custody; surfaces answer it as "not applicable").
#[derive(Debug)]
pub struct NothingToMigrate(pub String);

impl std::fmt::Display for NothingToMigrate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NothingToMigrate {}

/// [`plan`] with the identity's own usage profile from the audit logs read
/// so far (what the CLI, the API and the web UI ask for).
pub fn plan_with_usage(
    store: &dyn Store,
    id: i64,
    ownership: Option<&crate::owner::Ownership>,
) -> Result<Migration> {
    let node = store
        .node(id)?
        .ok_or_else(|| anyhow::anyhow!("node {id} vanished"))?;
    let profile: Option<Profile> = store
        .usage_profiles(&[node.brief.key.as_str()])?
        .remove(&node.brief.key)
        .and_then(|j| serde_json::from_str(&j).ok());
    plan_owned(store, id, profile.as_ref(), ownership)
}
