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
    /// What its issuer said when last asked whether it works
    /// (`custody scan --validate`): `live` makes the plan urgent; `revoked`
    /// means the issuer already refuses it and what is left is removing copies.
    pub liveness: Option<Liveness>,
}

/// The issuer's last answer about a credential.
#[derive(Debug, Serialize)]
pub struct Liveness {
    pub state: String,
    pub checked_at: String,
    pub detail: Option<String>,
}

fn liveness(node: &custody_store::NodeRecord) -> Option<Liveness> {
    let get = |k: &str| {
        node.props
            .get(k)
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
    };
    Some(Liveness {
        state: get("liveness")?,
        checked_at: get("liveness_checked_at").unwrap_or_default(),
        detail: get("liveness_detail"),
    })
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

/// The steps that update one place with the replacement (`aws`: an access
/// key pair; otherwise one value).
fn update(place: &Place, aws: bool) -> (String, String, String, Option<String>) {
    let literals = if aws {
        "--from-literal=AWS_ACCESS_KEY_ID=<new-id> --from-literal=AWS_SECRET_ACCESS_KEY=<new-secret>"
    } else {
        "--from-literal=<FIELD>=<new-value>"
    };
    let what_new = if aws {
        "the new key id and secret"
    } else {
        "the new value"
    };
    let p = &place.place;
    match place.kind.as_str() {
        "aws_secretsmanager_secret" => {
            let arn = p.strip_prefix("secretsmanager://").unwrap_or(p);
            (
                "aws-secretsmanager".into(),
                arn.into(),
                format!("store {what_new} in the secret (a new version)"),
                Some(format!(
                    "aws secretsmanager put-secret-value --secret-id {arn} --secret-string file://<new-value.json>"
                )),
            )
        }
        "k8s_secret" => {
            let (cluster, ns, name) =
                custody_model::key::k8s_secret_of(p).unwrap_or(("<cluster>", "<namespace>", p));
            (
                "kubernetes".into(),
                format!("{cluster}/{ns}/{name}"),
                "replace the Secret's values, then restart the pods that mount it".into(),
                Some(format!(
                    "kubectl --context {cluster} -n {ns} create secret generic {name} {literals} --dry-run=client -o yaml | kubectl --context {cluster} apply -f -"
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
            "the repository's history keeps the old value (every clone has it): revoking the old credential is what neutralises it; remove the files from the current branch and keep the new one out of the repository".into(),
            None,
        ),
        "mcp_config" => (
            "workstation".into(),
            p.strip_prefix("file://").unwrap_or(p).to_string(),
            "replace the value in the MCP client configuration (better: reference an environment variable or a credential helper), then restart the client".into(),
            None,
        ),
        _ => (
            "file".into(),
            p.strip_prefix("file://").unwrap_or(p).to_string(),
            format!("replace the value in this {}", place.kind),
            None,
        ),
    }
}

/// Why custody cannot plan a response for this node, if it cannot.
pub fn unsupported(node: &custody_store::NodeBrief) -> Option<String> {
    (node.label != "Credential").then(|| {
        format!(
            "`{}` is a {} {}, not a credential: respond acts on credentials (access keys, tokens, keys); `custody show {}` lists the ones it holds",
            node.key, node.label, node.kind, node.key
        )
    })
}

/// How to revoke and replace one kind of credential at its issuer: the system,
/// what to do and the command (values to fill in are `<…>`; `<the value>` is
/// the secret itself, which only its holder has: custody never stores it).
struct Issuer {
    system: &'static str,
    revoke: Todo,
    replace: Todo,
}

/// What to do, and the command that does it where one exists.
type Todo = (&'static str, Option<&'static str>);

fn issuer(kind: &str) -> Issuer {
    let (system, revoke, replace): (&str, Todo, Todo) = match kind {
        "github_token" => (
            "github",
            ("revoke the token: its owner under Settings → Developer settings → tokens, an org owner under the organization's personal access tokens, or anyone who holds the value through GitHub's revocation API (unauthenticated; the owner is notified)",
             Some("curl -X POST -H 'Accept: application/vnd.github+json' https://api.github.com/credentials/revoke -d '{\"credentials\": [\"<the value>\"]}'")),
            ("create a replacement: a fine-grained token limited to the repositories and permissions used, or better a GitHub App installation token or Actions' GITHUB_TOKEN", None),
        ),
        "gitlab_token" => (
            "gitlab",
            ("revoke the token (it can revoke itself)",
             Some("curl -X DELETE -H 'PRIVATE-TOKEN: <the value>' https://gitlab.com/api/v4/personal_access_tokens/self")),
            ("create a replacement with only the scopes used, with an expiry", None),
        ),
        "slack_token" => (
            "slack",
            ("revoke the token", Some("curl -X POST -H 'Authorization: Bearer <the value>' https://slack.com/api/auth.revoke")),
            ("reinstall the app or issue a new token for the workspace", None),
        ),
        "slack_webhook" => (
            "slack",
            ("remove the incoming webhook from the app's configuration (api.slack.com/apps → Incoming Webhooks)", None),
            ("add a new webhook URL for the channel", None),
        ),
        "stripe_key" => (
            "stripe",
            ("roll the key in the Dashboard (Developers → API keys → Roll key); rolling expires the old one", None),
            ("use the rolled key, or a restricted key with only the permissions used", None),
        ),
        "openai_api_key" => (
            "openai",
            ("delete the key (platform.openai.com → API keys, or the Admin API for the project's key)", None),
            ("create a project key with only the permissions used", None),
        ),
        "anthropic_api_key" => (
            "anthropic",
            ("disable, then delete the key (console.anthropic.com → API keys, or the Admin API)", None),
            ("create a key in a workspace limited to the use", None),
        ),
        "google_api_key" => (
            "gcp",
            ("delete the API key (or restrict it at once to the APIs and referrers used)", Some("gcloud services api-keys delete <key-id>")),
            ("create a restricted key", Some("gcloud services api-keys create --api-target=service=<service> --display-name=<name>")),
        ),
        "gcp_service_account_key" => (
            "gcp",
            ("disable, then delete the service-account key (the key file's private_key_id)",
             Some("gcloud iam service-accounts keys disable <private_key_id> --iam-account=<client_email>")),
            ("prefer workload identity (GKE, Workload Identity Federation) to a new key file", Some("gcloud iam service-accounts keys create <file> --iam-account=<client_email>")),
        ),
        "azure_client_secret" => (
            "azure",
            ("delete the client secret from the app registration", Some("az ad app credential delete --id <app-id> --key-id <key-id>")),
            ("prefer a federated credential or managed identity; else add a short-lived secret", Some("az ad app credential reset --id <app-id> --append --years 1")),
        ),
        "azure_storage_key" => (
            "azure",
            ("regenerate the storage account key the connection string holds", Some("az storage account keys renew --account-name <account> --key <key1|key2>")),
            ("use the regenerated key, or better Entra ID authorization / SAS with an expiry", None),
        ),
        "okta_api_token" => (
            "okta",
            ("revoke the API token (Security → API → Tokens, or the API)", Some("curl -X DELETE -H 'Authorization: SSWS <an admin token>' https://<org>.okta.com/api/v1/api-tokens/<token-id>")),
            ("prefer an OAuth 2.0 service app with scoped access; else create a token as a dedicated service user", None),
        ),
        "npm_token" => (
            "npm",
            ("revoke the token", Some("npm token revoke <token-id>")),
            ("create a granular access token limited to the packages used, or publish with OIDC trusted publishing", Some("npm token create")),
        ),
        "pypi_token" => (
            "pypi",
            ("remove the API token (pypi.org → Account settings → API tokens)", None),
            ("use trusted publishing (OIDC) from CI, or a project-scoped token", None),
        ),
        "private_key" => (
            "pki",
            ("remove the public half wherever it is trusted (authorized_keys, deploy keys, certificate authority), and revoke its certificate if any", None),
            ("generate a new key pair on the host that uses it; distribute only the public half", Some("ssh-keygen -t ed25519 -f <path>")),
        ),
        "database_password" => (
            "database",
            ("change the database user's password (or lock the user) so the exposed one stops working", Some("ALTER ROLE <user> WITH PASSWORD '<new password>';")),
            ("prefer IAM database authentication or a secrets manager with rotation", None),
        ),
        "jwt" => (
            "issuer",
            ("invalidate the token: revoke its session or rotate the signing key at its issuer; otherwise it works until `exp`", None),
            ("have the client request a new token", None),
        ),
        _ => (
            "issuer",
            ("revoke or change the secret at the system that issued it", None),
            ("issue a replacement there", None),
        ),
    };
    Issuer {
        system,
        revoke,
        replace,
    }
}

/// The plan for `action` on the credential node `id`.
pub fn plan(store: &dyn Store, id: i64, action: Action) -> Result<Plan> {
    plan_with(store, id, action, None)
}

/// [`plan`] with the attribution already in memory (a long-running surface
/// holds it); without it, the owners come from a scoped load of the store.
pub fn plan_with(
    store: &dyn Store,
    id: i64,
    action: Action,
    ownership: Option<&crate::owner::Ownership>,
) -> Result<Plan> {
    let node = store.node(id)?.context("node vanished while reading")?;
    if let Some(why) = unsupported(&node.brief) {
        bail!("{why}");
    }
    let aws = node.brief.kind == "aws_access_key";
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
    let owners = match ownership {
        Some(o) => crate::owner::owner_keys(o, id),
        None => crate::owner::owner_keys(&crate::owner::load_for(store, &[id])?, id),
    };
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

    if !aws {
        let steps = issuer_steps(&node.brief, action, &places);
        return Ok(Plan {
            liveness: liveness(&node),
            credential: node.brief.key,
            action,
            principal: principal.map(|p| p.key),
            user_name: None,
            owners,
            places,
            steps,
        });
    }
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
                let (system, t, what, command) = update(p, true);
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
                let (system, target, _, _) = update(p, true);
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
                let (system, t, what, command) = update(p, true);
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
        liveness: liveness(&node),
        credential: node.brief.key,
        action,
        principal: principal.map(|p| p.key),
        user_name,
        owners,
        places,
        steps,
    })
}

/// The steps for a credential other than an AWS access key: at its issuer and
/// in every place it is stored, in the order the action needs. None of these
/// can be deactivated reversibly, so `disable` means revoking, after saying
/// who loses access.
fn issuer_steps(node: &custody_store::NodeBrief, action: Action, places: &[Place]) -> Vec<Step> {
    let is = issuer(&node.kind);
    let target = node.name.clone().unwrap_or_else(|| node.key.clone());
    let mut steps: Vec<Step> = Vec::new();
    let mut step = |system: &str, target: &str, what: String, command: Option<&str>| {
        steps.push(Step {
            order: steps.len() + 1,
            system: system.into(),
            target: target.into(),
            what,
            command: command.map(str::to_string),
            operation: None,
        });
    };
    let with_consumers = |p: &Place, what: String| {
        if p.consumers.is_empty() {
            what
        } else {
            format!("{what}; consumers: {}", p.consumers.join(", "))
        }
    };
    match action {
        Action::Rotate => {
            step(is.system, &target, is.replace.0.to_string(), is.replace.1);
            for p in places {
                let (system, t, what, command) = update(p, false);
                step(&system, &t, with_consumers(p, what), command.as_deref());
            }
            step(
                is.system,
                &target,
                format!("once nothing uses the old value: {}", is.revoke.0),
                is.revoke.1,
            );
        }
        Action::Disable => {
            for p in places {
                let (system, t, _, _) = update(p, false);
                step(
                    &system,
                    &t,
                    with_consumers(p, "will lose access: whatever reads this copy".into()),
                    None,
                );
            }
            step(
                is.system,
                &target,
                format!(
                    "this kind cannot be switched off and on again: disabling means revoking. {}",
                    is.revoke.0
                ),
                is.revoke.1,
            );
        }
        Action::Revoke => {
            step(
                is.system,
                &target,
                format!("now, before anything else: {}", is.revoke.0),
                is.revoke.1,
            );
            step(
                is.system,
                &target,
                "find what it was used for while exposed: the issuer's audit log for this credential".into(),
                None,
            );
            step(is.system, &target, is.replace.0.to_string(), is.replace.1);
            for p in places {
                let (system, t, what, command) = update(p, false);
                step(&system, &t, with_consumers(p, what), command.as_deref());
            }
        }
    }
    steps
}

/// What carries out an [`Operation`] on the real system: the surface that
/// holds the credentials to act with implements it (the CLI, over the AWS
/// SDK), so this crate decides and logs but never connects anywhere.
pub trait Actor {
    /// Who is acting, for the log (the operator and the key they act with).
    fn acting_as(&self) -> String;
    /// Runs one operation and reads the result back.
    fn run(&self, op: &Operation) -> std::result::Result<Outcome, String>;
}

/// What an operation changed, as the system reports it.
pub struct Outcome {
    pub before: String,
    pub after: String,
    /// The system's request id; `None` when nothing needed changing.
    pub request_id: Option<String>,
    /// The system now reports the intended state.
    pub took_effect: bool,
}

/// What `--execute` did with one step.
#[derive(Serialize)]
pub struct Executed {
    pub order: usize,
    pub system: String,
    pub target: String,
    /// `done`, `failed`, `not-run` (an earlier step failed) or `operator`
    /// (left to a person: the plan's command says how).
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<&'static str>,
    pub detail: String,
}

#[derive(Serialize)]
pub struct Execution<'a> {
    pub plan: &'a Plan,
    pub acting_as: String,
    pub reason: String,
    pub executed: Vec<Executed>,
}

impl Execution<'_> {
    pub fn failed(&self) -> bool {
        self.executed.iter().any(|e| e.outcome == "failed")
    }
}

/// Whether custody can take any step of `p` itself; the error says why not
/// and what to do instead.
pub fn executable(p: &Plan) -> Result<()> {
    if p.action == Action::Rotate {
        bail!(
            "custody does not execute rotations: the replacement key is a new secret, which custody never handles. \
             Run the plan's steps (`custody respond {} --action rotate`), and once `custody usage` shows the old key idle, \
             `--action disable --execute` deactivates it",
            p.credential
        );
    }
    if !p.credential.starts_with("aws-access-key:") {
        bail!(
            "custody executes AWS access key deactivation only, so it cannot act on it: revoking {} needs its value, \
             which only its holder has (custody never stores it). Run the plan's steps (`custody respond {} --action {}`)",
            p.credential,
            p.credential,
            format!("{:?}", p.action).to_lowercase()
        );
    }
    if !p.steps.iter().any(|s| s.operation.is_some()) {
        bail!(
            "custody does not know which IAM user holds {}, so it cannot act on it: ingest `aws iam list-access-keys` \
             or the authorization details and credential report first",
            p.credential
        );
    }
    Ok(())
}

/// Takes the steps of `p` that carry an [`Operation`] through `actor`, in
/// order, stopping at the first failure (later steps are `not-run`), and
/// writes each to the store's response log with who, when and why (the
/// reason is redacted like any stored text). Steps left to a person are
/// reported as `operator`.
pub fn execute<'a>(
    store: &mut dyn Store,
    p: &'a Plan,
    reason: &str,
    actor: &dyn Actor,
) -> Result<Execution<'a>> {
    executable(p)?;
    let reason = reason.trim();
    if reason.is_empty() {
        bail!("--reason must say why: it is recorded with every step custody takes");
    }
    // The log keeps no secret, even one pasted into the reason.
    let reason = custody_model::guard::redact_text(reason, store.fingerprinter())
        .unwrap_or_else(|| reason.to_string());
    let acting_as = actor.acting_as();
    let mut executed = Vec::new();
    let mut failed = false;
    for s in &p.steps {
        let mut e = Executed {
            order: s.order,
            system: s.system.clone(),
            target: s.target.clone(),
            outcome: "operator".into(),
            operation: None,
            detail: String::new(),
        };
        if let Some(op) = &s.operation {
            e.operation = Some(op.api());
            if failed {
                e.outcome = "not-run".into();
                e.detail = "an earlier step failed".into();
            } else {
                match actor.run(op) {
                    Ok(done) => {
                        e.outcome = "done".into();
                        e.detail = match &done.request_id {
                            Some(r) => format!("{} → {} (request {r})", done.before, done.after),
                            None => format!("already {}; nothing changed", done.before),
                        };
                        if !done.took_effect {
                            e.outcome = "failed".into();
                            e.detail
                                .push_str(": the system still reports the old state");
                        }
                    }
                    Err(err) => {
                        e.outcome = "failed".into();
                        e.detail = err;
                    }
                }
                failed |= e.outcome == "failed";
            }
            store.response_log(&custody_store::ResponseRow {
                at: String::new(),
                actor: acting_as.clone(),
                reason: reason.clone(),
                credential: p.credential.clone(),
                action: format!("{:?}", p.action).to_lowercase(),
                step: s.order as i64,
                system: s.system.clone(),
                target: s.target.clone(),
                operation: op.api().to_string(),
                outcome: e.outcome.clone(),
                detail: e.detail.clone(),
            })?;
            tracing::info!(step = s.order, operation = op.api(), outcome = %e.outcome, "response step");
        }
        executed.push(e);
    }
    Ok(Execution {
        plan: p,
        acting_as,
        reason,
        executed,
    })
}
