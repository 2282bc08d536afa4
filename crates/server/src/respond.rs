//! Response plans: what to do, in which order, to rotate, disable or revoke a
//! credential without breaking what uses it — every place it is stored and
//! every consumer, from the graph, with the command for each system. Only the
//! plan: custody changes nothing here.
//!
//! Order avoids outages: a rotation creates the replacement and updates every
//! copy and consumer before the old key is deactivated, and deletes it only
//! after a grace period; a revocation (compromise) cuts access first.

use anyhow::{bail, Context, Result};
use custody_store::{EdgeRecord, Store};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Replace the key everywhere, then retire the old one.
    Rotate,
    /// Deactivate it (reversible), knowing what will break.
    Disable,
    /// Compromised: cut access now, then clean up and replace.
    Revoke,
}

impl Action {
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "rotate" => Some(Action::Rotate),
            "disable" => Some(Action::Disable),
            "revoke" => Some(Action::Revoke),
            _ => None,
        }
    }
}

/// One step of a plan.
#[derive(Debug, Serialize)]
pub struct Step {
    pub order: usize,
    /// `aws`, `aws-secretsmanager`, `kubernetes`, `github`, `workstation`, `git`…
    pub system: String,
    /// What the step acts on (an ARN, `namespace/secret`, `owner/repo`, a path).
    pub target: String,
    pub what: String,
    /// The command that does it, where one exists (values to fill in are `<…>`).
    pub command: Option<String>,
    /// The API call `custody respond --execute` makes for this step; steps
    /// without one are left to the operator (they need a person, or a secret
    /// custody must never handle).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
}

/// A step custody can carry out itself, through the system's API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "api")]
pub enum Operation {
    /// `iam:UpdateAccessKey` to `Inactive` (reversible).
    #[serde(rename = "iam:UpdateAccessKey")]
    DeactivateAccessKey {
        user_name: String,
        access_key_id: String,
    },
}

impl Operation {
    /// The API call's name, as IAM policies and CloudTrail spell it.
    pub fn api(&self) -> &'static str {
        match self {
            Operation::DeactivateAccessKey { .. } => "iam:UpdateAccessKey",
        }
    }
}

/// Where a copy of the credential is, grouped by place (all fields of one
/// Kubernetes Secret or Secrets Manager secret are one place).
#[derive(Debug, Serialize)]
pub struct Place {
    pub kind: String,
    pub place: String,
    /// Workloads and agents that read it.
    pub consumers: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Plan {
    pub credential: String,
    pub action: Action,
    pub principal: Option<String>,
    pub user_name: Option<String>,
    pub owners: Vec<String>,
    pub places: Vec<Place>,
    pub steps: Vec<Step>,
}

fn live<'a>(
    edges: &'a [EdgeRecord],
    kind: &'a str,
    dir: &'a str,
) -> impl Iterator<Item = &'a EdgeRecord> {
    edges
        .iter()
        .filter(move |e| e.kind == kind && e.direction == dir && !e.retired)
}

/// A location key without its field or line (`…#L3`, `…#AWS_SECRET_ACCESS_KEY`)
/// and without the `uri:` prefix; a git blob's place is its repository (every
/// commit that holds the key is one history).
fn place_of(kind: &str, key: &str) -> String {
    let k = key.strip_prefix("uri:").unwrap_or(key);
    let k = k.split_once('#').map_or(k, |(p, _)| p);
    if kind == "git_blob" {
        return k.split_once('@').map_or(k, |(repo, _)| repo).to_string();
    }
    k.to_string()
}

/// The steps that update one place with the replacement key.
fn update(place: &Place) -> (String, String, String, Option<String>) {
    let p = &place.place;
    match place.kind.as_str() {
        "aws_secretsmanager_secret" => {
            let arn = p.strip_prefix("secretsmanager://").unwrap_or(p);
            (
                "aws-secretsmanager".into(),
                arn.into(),
                "store the new key id and secret in the secret (a new version)".into(),
                Some(format!(
                    "aws secretsmanager put-secret-value --secret-id {arn} --secret-string file://<new-value.json>"
                )),
            )
        }
        "k8s_secret" => {
            let rest = p.strip_prefix("k8s://").unwrap_or(p);
            let (ns, name) = rest
                .split_once("/secrets/")
                .unwrap_or(("<namespace>", rest));
            (
                "kubernetes".into(),
                format!("{ns}/{name}"),
                "replace the Secret's values, then restart the pods that mount it".into(),
                Some(format!(
                    "kubectl -n {ns} create secret generic {name} --from-literal=AWS_ACCESS_KEY_ID=<new-id> --from-literal=AWS_SECRET_ACCESS_KEY=<new-secret> --dry-run=client -o yaml | kubectl apply -f -"
                )),
            )
        }
        "github_actions_secret" => {
            let rest = p.strip_prefix("github://").unwrap_or(p);
            let (repo, name) = rest
                .split_once("/actions/secrets/")
                .unwrap_or((rest, "<NAME>"));
            (
                "github".into(),
                format!("{repo} secret {name}"),
                "set the repository secret to the new value (better: switch the workflow to OIDC and delete the secret)".into(),
                Some(format!("gh secret set {name} --repo {repo}")),
            )
        }
        "git_blob" => (
            "git".into(),
            p.clone(),
            "the repository's history keeps the old value (every clone has it): deactivating the old key is what neutralises it; remove the files from the current branch and keep the new key out of the repository".into(),
            None,
        ),
        "mcp_config" => (
            "workstation".into(),
            p.strip_prefix("file://").unwrap_or(p).to_string(),
            "replace the key in the MCP client configuration (better: reference an environment variable or a credential helper), then restart the client".into(),
            None,
        ),
        _ => (
            "file".into(),
            p.strip_prefix("file://").unwrap_or(p).to_string(),
            format!("replace the key in this {}", place.kind),
            None,
        ),
    }
}

/// Why custody cannot plan a response for this node, if it cannot.
pub fn unsupported(node: &custody_store::NodeBrief) -> Option<String> {
    (node.kind != "aws_access_key").then(|| {
        format!(
            "`{}` is a {} {}: custody plans responses for AWS access keys so far",
            node.key, node.label, node.kind
        )
    })
}

/// The plan for `action` on the AWS access key node `id`.
pub fn plan(store: &dyn Store, id: i64, action: Action) -> Result<Plan> {
    let node = store.node(id)?.context("node vanished while reading")?;
    if let Some(why) = unsupported(&node.brief) {
        bail!("{why}");
    }
    let key_id = node
        .brief
        .key
        .trim_start_matches("aws-access-key:")
        .to_string();
    let edges = store.edges(id)?;
    let principal = live(&edges, "AUTHENTICATES_AS", "out")
        .next()
        .map(|e| e.other.clone());
    let user_name = principal.as_ref().map(|p| {
        p.name
            .clone()
            .unwrap_or_else(|| p.key.rsplit('/').next().unwrap_or(&p.key).to_string())
    });
    let mut owners = Vec::new();
    let mut holders = vec![id];
    holders.extend(principal.iter().map(|p| p.id));
    for h in holders {
        for e in live(&store.edges(h)?, "OWNED_BY", "out") {
            if !owners.contains(&e.other.key) {
                owners.push(e.other.key.clone());
            }
        }
    }
    let agents: Vec<String> = live(&edges, "HOLDS", "in")
        .map(|e| e.other.key.clone())
        .collect();
    let mut places: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for e in live(&edges, "STORED_IN", "out") {
        let consumers = places
            .entry((e.other.kind.clone(), place_of(&e.other.kind, &e.other.key)))
            .or_default();
        for u in live(&store.edges(e.other.id)?, "USED_BY", "out") {
            if !consumers.contains(&u.other.key) {
                consumers.push(u.other.key.clone());
            }
        }
        if e.other.kind == "mcp_config" {
            for a in &agents {
                if !consumers.contains(a) {
                    consumers.push(a.clone());
                }
            }
        }
    }
    let places: Vec<Place> = places
        .into_iter()
        .map(|((kind, place), consumers)| Place {
            kind,
            place,
            consumers,
        })
        .collect();

    let user = user_name.clone().unwrap_or_else(|| "<user-name>".into());
    let target = principal
        .as_ref()
        .map_or_else(|| key_id.clone(), |p| p.key.clone());
    // Deactivation is the step custody can take itself, when it knows the user.
    let deactivation = user_name
        .as_ref()
        .map(|user| Operation::DeactivateAccessKey {
            user_name: user.clone(),
            access_key_id: key_id.clone(),
        });
    let mut steps: Vec<Step> = Vec::new();
    let mut step = |system: &str, target: &str, what: String, command: Option<String>| {
        steps.push(Step {
            order: steps.len() + 1,
            system: system.into(),
            target: target.into(),
            what,
            command,
            operation: None,
        });
    };
    let deactivate = format!(
        "aws iam update-access-key --user-name {user} --access-key-id {key_id} --status Inactive"
    );
    let deactivate_command = deactivate.clone();
    let delete = format!("aws iam delete-access-key --user-name {user} --access-key-id {key_id}");
    let create = format!("aws iam create-access-key --user-name {user}");
    let last_used = format!("aws iam get-access-key-last-used --access-key-id {key_id}");
    match action {
        Action::Rotate => {
            step(
                "aws",
                &target,
                "create the replacement key (a user may hold two)".into(),
                Some(create),
            );
            for p in &places {
                let (system, t, what, command) = update(p);
                let what = if p.consumers.is_empty() {
                    what
                } else {
                    format!("{what}; consumers: {}", p.consumers.join(", "))
                };
                step(&system, &t, what, command);
            }
            step(
                "aws",
                &key_id,
                "wait until the old key's last use is older than the updates above (nothing still uses it)".into(),
                Some(last_used),
            );
            step(
                "aws",
                &key_id,
                "deactivate the old key (reversible)".into(),
                Some(deactivate),
            );
            step(
                "aws",
                &key_id,
                "after a grace period with no errors, delete the old key".into(),
                Some(delete),
            );
        }
        Action::Disable => {
            for p in &places {
                let who = if p.consumers.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", p.consumers.join(", "))
                };
                let (system, target, _, _) = update(p);
                step(
                    &system,
                    &target,
                    format!("will lose access: whatever reads this copy{who}"),
                    None,
                );
            }
            step(
                "aws",
                &key_id,
                "deactivate the key (reactivate with --status Active to undo)".into(),
                Some(deactivate),
            );
        }
        Action::Revoke => {
            step(
                "aws",
                &key_id,
                "deactivate the key now: cut the attacker's access before anything else".into(),
                Some(deactivate),
            );
            step(
                "aws",
                &key_id,
                "find what the key did: its CloudTrail events (check every region it was used in)".into(),
                Some(format!(
                    "aws cloudtrail lookup-events --lookup-attributes AttributeKey=AccessKeyId,AttributeValue={key_id}"
                )),
            );
            step("aws", &key_id, "delete the key".into(), Some(delete));
            step(
                "aws",
                &target,
                "create a replacement for the legitimate consumers, if they still need one".into(),
                Some(create),
            );
            for p in &places {
                let (system, t, what, command) = update(p);
                step(&system, &t, what, command);
            }
        }
    }
    // A rotation deactivates only after people have moved every consumer, so
    // custody does not take that step for them.
    if action != Action::Rotate {
        for s in &mut steps {
            if s.command.as_deref() == Some(deactivate_command.as_str()) {
                s.operation.clone_from(&deactivation);
            }
        }
    }
    Ok(Plan {
        credential: node.brief.key,
        action,
        principal: principal.map(|p| p.key),
        user_name,
        owners,
        places,
        steps,
    })
}
