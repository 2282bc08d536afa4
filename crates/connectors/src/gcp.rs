//! Google Cloud IAM, as `gcloud … --format=json` prints it:
//!
//! - service accounts: `gcloud iam service-accounts list --project P`;
//! - their keys: `gcloud iam service-accounts keys list --iam-account EMAIL`
//!   (only user-managed keys are credentials someone holds; Google-managed
//!   ones are counted and skipped);
//! - IAM policies: `gcloud projects get-iam-policy P` and
//!   `gcloud iam service-accounts get-iam-policy EMAIL`. The output does not
//!   say whose policy it is, so the path must: a folder or file named for the
//!   service account's e-mail, else a `projects/<id>/` folder;
//! - Workload Identity Federation providers:
//!   `gcloud iam workload-identity-pools providers list --workload-identity-pool POOL --location global`
//!   (or one `describe`).
//!
//! Keys are shared with the rest of custody: a service account is its e-mail
//! (as a scanned key file's `client_email`), a key is `id:gcp-sa-key/<KEY_ID>`
//! (a key file's `private_key_id`, an audit log's `serviceAccountKeyName`).
//!
//! Federation is resolved here: a policy binding that lets a workload-identity
//! principal act as a service account whose subject or `attribute.aws_role` is
//! an AWS assumed-role ARN becomes a `CAN_ASSUME` edge from that IAM role, so
//! a chain from GitHub through AWS to Google Cloud is one path in the graph.

use crate::util::{load_array, parse_json, record, records};
use crate::{InputError, Parsed, SourceFile};
use custody_model::{time, EdgeKind, Endpoint, Fact, Key, Label, Location};
use serde::Deserialize;
use serde_json::{json, Map, Value};

pub(crate) fn node(
    label: Label,
    kind: &str,
    keys: Vec<Key>,
    name: &str,
    props: Map<String, Value>,
    at: &str,
) -> Fact {
    crate::util::node_at("gcp", label, kind, keys, Some(name), props, at)
}

pub(crate) fn edge(
    kind: EdgeKind,
    from: Endpoint,
    to: Endpoint,
    props: Map<String, Value>,
    at: &str,
) -> Fact {
    crate::util::edge_at(kind, from, to, Value::Object(props), at)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServiceAccount {
    email: String,
    #[serde(default)]
    project_id: Option<String>,
    #[serde(default)]
    unique_id: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    disabled: bool,
    #[serde(default)]
    oauth2_client_id: Option<String>,
}

/// `…@<project>.iam.gserviceaccount.com` → the project id (Google's default
/// service accounts live elsewhere and say nothing).
fn project_of_email(email: &str) -> Option<&str> {
    email
        .split_once('@')?
        .1
        .strip_suffix(".iam.gserviceaccount.com")
}

pub fn parse_service_accounts(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "gcp-service-accounts";
    let mut parsed = Parsed::default();
    let Some(items) = load_array(CONNECTOR, file, &mut parsed) else {
        return parsed;
    };
    let mut project = None;
    for (base, sa) in records::<ServiceAccount>(CONNECTOR, file.path, "", &items, &mut parsed) {
        let email = sa.email.trim().to_ascii_lowercase();
        let proj = sa
            .project_id
            .clone()
            .or_else(|| project_of_email(&email).map(str::to_string));
        project = project.or_else(|| proj.clone());
        let mut keys = vec![Key::email(&email)];
        let mut props = Map::new();
        if let Some(id) = &sa.unique_id {
            keys.push(Key::other("gcp-sa", id));
            props.insert("unique_id".into(), json!(id));
        }
        if let Some(p) = &proj {
            props.insert("project_id".into(), json!(p));
        }
        for (k, v) in [
            ("display_name", &sa.display_name),
            ("description", &sa.description),
            ("oauth2_client_id", &sa.oauth2_client_id),
        ] {
            if let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                props.insert(k.into(), json!(v));
            }
        }
        props.insert("disabled".into(), json!(sa.disabled));
        props.insert(
            "status".into(),
            json!(if sa.disabled { "Disabled" } else { "Active" }),
        );
        parsed.facts.push(node(
            Label::Principal,
            "gcp_service_account",
            keys,
            &email,
            props,
            &base,
        ));
    }
    parsed.scope = format!(
        "{CONNECTOR}:{}",
        project.unwrap_or_else(|| file.path.to_string())
    );
    parsed
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SaKey {
    name: String,
    #[serde(default)]
    key_type: Option<String>,
    #[serde(default)]
    key_origin: Option<String>,
    #[serde(default)]
    key_algorithm: Option<String>,
    #[serde(default)]
    valid_after_time: Option<String>,
    #[serde(default)]
    valid_before_time: Option<String>,
    #[serde(default)]
    disabled: bool,
}

/// `projects/P/serviceAccounts/EMAIL/keys/ID` → (EMAIL, ID).
fn key_name(name: &str) -> Option<(String, &str)> {
    let (head, id) = name.rsplit_once("/keys/")?;
    let email = head.rsplit_once("/serviceAccounts/")?.1;
    (!id.is_empty() && email.contains('@')).then(|| (email.to_ascii_lowercase(), id))
}

pub fn parse_service_account_keys(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "gcp-service-account-keys";
    let mut parsed = Parsed::default();
    let Some(items) = load_array(CONNECTOR, file, &mut parsed) else {
        return parsed;
    };
    let mut owner = None;
    for (base, k) in records::<SaKey>(CONNECTOR, file.path, "", &items, &mut parsed) {
        let Some((email, id)) = key_name(&k.name) else {
            parsed.errors.push(InputError::new(
                CONNECTOR,
                file.path,
                Location::Pointer(format!("{base}/name")),
                "expected `projects/<project>/serviceAccounts/<e-mail>/keys/<key id>`",
            ));
            continue;
        };
        owner = owner.or_else(|| Some(email.clone()));
        // Google rotates its own keys and never hands them out.
        if k.key_type.as_deref() == Some("SYSTEM_MANAGED") {
            continue;
        }
        let mut props = Map::new();
        props.insert("service_account".into(), json!(email));
        props.insert("key_id".into(), json!(id));
        for (p, v) in [
            ("key_type", &k.key_type),
            ("key_origin", &k.key_origin),
            ("key_algorithm", &k.key_algorithm),
        ] {
            if let Some(v) = v {
                props.insert(p.into(), json!(v));
            }
        }
        if let Some(t) = k.valid_after_time.as_deref().and_then(time::normalise) {
            props.insert("created".into(), json!(t));
        }
        // `9999-12-31T23:59:59Z` is Google's "never expires".
        if let Some(t) = k
            .valid_before_time
            .as_deref()
            .filter(|t| !t.starts_with("9999"))
            .and_then(time::normalise)
        {
            props.insert("expires".into(), json!(t));
        }
        props.insert(
            "status".into(),
            json!(if k.disabled { "Inactive" } else { "Active" }),
        );
        let cred = Key::other("gcp-sa-key", id);
        parsed.facts.push(node(
            Label::Credential,
            "gcp_service_account_key",
            vec![cred.clone()],
            id,
            props,
            &base,
        ));
        parsed.facts.push(edge(
            EdgeKind::AuthenticatesAs,
            Endpoint::new(Label::Credential, cred),
            Endpoint::new(Label::Principal, Key::email(&email)),
            Map::new(),
            &base,
        ));
    }
    parsed.scope = format!(
        "{CONNECTOR}:{}",
        owner.unwrap_or_else(|| file.path.to_string())
    );
    parsed
}

/// Whose IAM policy a file holds, from its path.
#[derive(Debug, PartialEq)]
pub enum PolicyOf {
    Project(String),
    ServiceAccount(String),
}

pub fn policy_of(path: &str) -> Option<PolicyOf> {
    let parts: Vec<&str> = path.split(['/', '\\']).collect();
    if let Some(sa) = parts.iter().rev().find_map(|p| {
        let p = p.strip_suffix(".json").unwrap_or(p);
        (p.contains('@') && p.ends_with(".gserviceaccount.com")).then_some(p)
    }) {
        return Some(PolicyOf::ServiceAccount(sa.to_ascii_lowercase()));
    }
    parts
        .windows(2)
        .rev()
        .find(|w| w[0] == "projects" && !w[1].is_empty() && !w[1].ends_with(".json"))
        .map(|w| PolicyOf::Project(w[1].to_string()))
}

/// Roles that let a member act as a service account (or mint its credentials).
const ACT_AS: [&str; 9] = [
    "roles/iam.workloadIdentityUser",
    "roles/iam.serviceAccountTokenCreator",
    "roles/iam.serviceAccountUser",
    "roles/iam.serviceAccountKeyAdmin",
    "roles/iam.serviceAccountOpenIdTokenCreator",
    "roles/iam.serviceAccountAdmin",
    "roles/owner",
    "roles/editor",
    "roles/iam.securityAdmin",
];

/// One `members` entry as an endpoint, with a node for what only the policy
/// knows about (workload-identity principals, the public).
pub(crate) fn member(m: &str, at: &str) -> Option<(Endpoint, Option<Fact>)> {
    let (kind, value) = m.split_once(':')?;
    let value = value.trim();
    Some(match kind {
        "user" => (Endpoint::new(Label::Human, Key::email(value)), None),
        "serviceAccount" => (Endpoint::new(Label::Principal, Key::email(value)), None),
        "group" => {
            let key = Key::other("google-group", &value.to_ascii_lowercase());
            let f = node(
                Label::Group,
                "google_group",
                vec![key.clone()],
                value,
                Map::new(),
                at,
            );
            (Endpoint::new(Label::Group, key), Some(f))
        }
        "principal" | "principalSet" => {
            let key = Key::uri(m);
            let mut p = Map::new();
            // //iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/POOL/<what>
            let rest = value.trim_start_matches("//iam.googleapis.com/");
            if let Some((pool, what)) = rest.split_once("/subject/") {
                p.insert("pool".into(), json!(pool));
                p.insert("subject".into(), json!(what));
            } else if let Some((pool, what)) = rest.split_once("/attribute.") {
                p.insert("pool".into(), json!(pool));
                if let Some((attr, v)) = what.split_once('/') {
                    p.insert("attribute".into(), json!(attr));
                    p.insert("value".into(), json!(v));
                }
            } else if let Some((pool, _)) = rest.split_once("/*") {
                p.insert("pool".into(), json!(pool));
                p.insert("attribute".into(), json!("*"));
            } else {
                p.insert("pool".into(), json!(rest));
            }
            let f = node(
                Label::Principal,
                "gcp_workload_identity_principal",
                vec![key.clone()],
                m,
                p,
                at,
            );
            (Endpoint::new(Label::Principal, key), Some(f))
        }
        "allUsers" | "allAuthenticatedUsers" => (
            Endpoint::new(Label::Principal, Key::other("gcp", kind)),
            None,
        ),
        "domain" => (
            Endpoint::new(Label::Principal, Key::other("gcp-domain", value)),
            None,
        ),
        // `deleted:…` members and legacy convenience values name nobody current.
        _ => return None,
    })
}

/// The IAM role a workload-identity member stands for, when its subject or
/// `aws_role` attribute is an AWS assumed-role ARN.
pub fn aws_role_of(member: &str) -> Option<String> {
    let at = member.find("arn:aws:sts::")?;
    let arn = &member[at..];
    let (account, rest) = arn
        .strip_prefix("arn:aws:sts::")?
        .split_once(":assumed-role/")?;
    let role = rest.split('/').next().filter(|r| !r.is_empty())?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("arn:aws:iam::{account}:role/{role}"))
}

#[derive(Deserialize)]
struct Binding {
    role: String,
    #[serde(default)]
    members: Vec<String>,
    #[serde(default)]
    condition: Option<Value>,
}

/// The bindings of one allow policy as edges from each member to `target`,
/// one edge per member with every role it is granted there
/// (`grants: [{role, condition}]`; `role` is the first). On a service account
/// only roles that may let a member act as it are kept (predefined ones that
/// do, and every custom role: its permissions decide), as `CAN_ASSUME`; on
/// anything else `CAN_ACCESS`. A workload-identity member whose subject is an
/// AWS assumed role also gives a `CAN_ASSUME` from that IAM role.
pub(crate) fn emit_bindings(
    connector: &str,
    path: &str,
    prefix: &str,
    bindings: &[Value],
    target: &Endpoint,
    on_account: bool,
    parsed: &mut Parsed,
) {
    // member → (pointer of its first mention, grants)
    let mut per: Vec<(String, String, Vec<Value>)> = Vec::new();
    for (i, b) in bindings.iter().enumerate() {
        let base = format!("{prefix}/bindings/{i}");
        let b: Binding = match record(connector, path, &base, b) {
            Ok(b) => b,
            Err(e) => {
                parsed.errors.push(e);
                continue;
            }
        };
        let custom = !b.role.starts_with("roles/");
        if on_account && !(ACT_AS.contains(&b.role.as_str()) || custom) {
            // Reading a service account's metadata is not acting as it.
            parsed.records += b.members.len();
            continue;
        }
        let mut grant = Map::new();
        grant.insert("role".into(), json!(b.role));
        if let Some(c) = &b.condition {
            grant.insert("condition".into(), c.clone());
        }
        for (j, m) in b.members.iter().enumerate() {
            parsed.records += 1;
            match per.iter_mut().find(|(x, ..)| x == m) {
                Some((.., grants)) => grants.push(Value::Object(grant.clone())),
                None => per.push((
                    m.clone(),
                    format!("{base}/members/{j}"),
                    vec![Value::Object(grant.clone())],
                )),
            }
        }
    }
    for (m, at, grants) in per {
        let Some((from, fact)) = member(&m, &at) else {
            continue;
        };
        parsed.facts.extend(fact);
        let mut props = Map::new();
        props.insert("via".into(), json!("gcp-iam-policy"));
        props.insert("role".into(), grants[0]["role"].clone());
        let conditional = grants.iter().all(|g| g.get("condition").is_some());
        if let Some(c) = grants[0].get("condition") {
            props.insert("conditions".into(), c.clone());
        }
        props.insert("conditional".into(), json!(conditional));
        props.insert("grants".into(), Value::Array(grants));
        let kind = if on_account {
            EdgeKind::CanAssume
        } else {
            EdgeKind::CanAccess
        };
        parsed
            .facts
            .push(edge(kind, from, target.clone(), props.clone(), &at));
        // Cross-cloud: the AWS role behind a workload-identity member.
        if let (true, Some(role)) = (on_account, aws_role_of(&m)) {
            props.insert("via".into(), json!("gcp-workload-identity-federation"));
            props.insert("member".into(), json!(m));
            parsed.facts.push(edge(
                EdgeKind::CanAssume,
                Endpoint::new(Label::Principal, Key::arn(&role)),
                target.clone(),
                props,
                &at,
            ));
        }
    }
}

pub fn parse_iam_policy(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "gcp-iam-policy";
    let mut parsed = Parsed::default();
    let Some(of) = policy_of(file.path) else {
        parsed.errors.push(InputError::new(
            CONNECTOR,
            file.path,
            Location::File,
            "cannot tell whose IAM policy this is: save it as projects/<project>/iam-policy.json \
             or service-accounts/<e-mail>/iam-policy.json",
        ));
        return parsed;
    };
    let doc = match parse_json(CONNECTOR, file.path, file.bytes) {
        Ok(d) => d,
        Err(e) => {
            parsed.errors.push(e);
            return parsed;
        }
    };
    let bindings = match crate::util::array_at(CONNECTOR, file.path, &doc, "bindings") {
        Ok(b) => b,
        Err(e) => {
            parsed.errors.push(e);
            return parsed;
        }
    };
    let target = match &of {
        PolicyOf::Project(p) => {
            let key = Key::other("gcp-project", p);
            let mut props = Map::new();
            props.insert("project_id".into(), json!(p));
            parsed.facts.push(node(
                Label::Resource,
                "gcp_project",
                vec![key.clone()],
                p,
                props,
                "",
            ));
            Endpoint::new(Label::Resource, key)
        }
        PolicyOf::ServiceAccount(sa) => Endpoint::new(Label::Principal, Key::email(sa)),
    };
    let on_account = matches!(of, PolicyOf::ServiceAccount(_));
    emit_bindings(
        CONNECTOR,
        file.path,
        "",
        bindings,
        &target,
        on_account,
        &mut parsed,
    );
    parsed.scope = match of {
        PolicyOf::Project(p) => format!("{CONNECTOR}:projects/{p}"),
        PolicyOf::ServiceAccount(sa) => format!("{CONNECTOR}:serviceAccounts/{sa}"),
    };
    parsed
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Provider {
    name: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    disabled: bool,
    #[serde(default)]
    attribute_mapping: Option<Map<String, Value>>,
    #[serde(default)]
    attribute_condition: Option<String>,
    #[serde(default)]
    oidc: Option<Value>,
    #[serde(default)]
    aws: Option<Value>,
    #[serde(default)]
    saml: Option<Value>,
}

pub fn parse_wif_providers(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "gcp-workload-identity-providers";
    let mut parsed = Parsed::default();
    // `providers list` prints an array, `providers describe` one object.
    let items = match parse_json(CONNECTOR, file.path, file.bytes) {
        Ok(Value::Array(items)) => items,
        Ok(one @ Value::Object(_)) => vec![one],
        Ok(_) => {
            parsed.errors.push(InputError::new(
                CONNECTOR,
                file.path,
                Location::Pointer(String::new()),
                "expected a JSON array of providers or one provider",
            ));
            return parsed;
        }
        Err(e) => {
            parsed.errors.push(e);
            return parsed;
        }
    };
    let mut pool_seen = None;
    for (base, p) in records::<Provider>(CONNECTOR, file.path, "", &items, &mut parsed) {
        let Some((pool, id)) = p.name.split_once("/providers/") else {
            parsed.errors.push(InputError::new(
                CONNECTOR,
                file.path,
                Location::Pointer(format!("{base}/name")),
                "expected `projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<id>`",
            ));
            continue;
        };
        pool_seen = pool_seen.or_else(|| Some(pool.to_string()));
        let mut props = Map::new();
        props.insert("pool".into(), json!(pool));
        if let Some(s) = &p.state {
            props.insert("state".into(), json!(s));
        }
        props.insert("disabled".into(), json!(p.disabled));
        if let Some(m) = &p.attribute_mapping {
            props.insert("attribute_mapping".into(), Value::Object(m.clone()));
        }
        match p.attribute_condition.as_deref().map(str::trim) {
            Some(c) if !c.is_empty() && c != "true" => {
                props.insert("attribute_condition".into(), json!(c));
            }
            _ => {}
        }
        let issuer = p
            .oidc
            .as_ref()
            .and_then(|o| o.get("issuerUri"))
            .and_then(Value::as_str);
        if let Some(iss) = issuer {
            props.insert("protocol".into(), json!("oidc"));
            props.insert("issuer".into(), json!(iss));
        } else if let Some(acct) = p
            .aws
            .as_ref()
            .and_then(|a| a.get("accountId"))
            .and_then(Value::as_str)
        {
            props.insert("protocol".into(), json!("aws"));
            props.insert("aws_account_id".into(), json!(acct));
        } else if p.saml.is_some() {
            props.insert("protocol".into(), json!("saml"));
        }
        let name = p.display_name.clone().unwrap_or_else(|| id.to_string());
        parsed.facts.push(node(
            Label::Principal,
            "gcp_workload_identity_provider",
            vec![Key::uri(&format!("//iam.googleapis.com/{}", p.name))],
            &name,
            props,
            &base,
        ));
    }
    parsed.scope = format!(
        "{CONNECTOR}:{}",
        pool_seen.unwrap_or_else(|| file.path.to_string())
    );
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_model::{EdgeFact, NodeFact};

    fn file<'a>(path: &'a str, text: &'a str) -> SourceFile<'a> {
        SourceFile {
            path,
            bytes: text.as_bytes(),
        }
    }

    fn nodes(p: &Parsed) -> Vec<&NodeFact> {
        p.nodes()
    }

    fn edges(p: &Parsed) -> Vec<&EdgeFact> {
        p.edges(None)
    }

    #[test]
    fn service_accounts_are_principals_keyed_by_email() {
        let doc = r#"[
          {"description": "deploys", "displayName": "CI deployer", "email": "ci-deployer@acme-prod.iam.gserviceaccount.com",
           "etag": "MDEwMjE5MjA=", "name": "projects/acme-prod/serviceAccounts/ci-deployer@acme-prod.iam.gserviceaccount.com",
           "oauth2ClientId": "104238119214587032451", "projectId": "acme-prod", "uniqueId": "104238119214587032451"},
          {"displayName": "no email"},
          {"disabled": true, "email": "old@acme-prod.iam.gserviceaccount.com", "projectId": "acme-prod", "uniqueId": "1"}
        ]"#;
        let p = parse_service_accounts(&file("gcp/acme-prod/service-accounts.json", doc));
        assert_eq!(p.records, 3);
        assert_eq!(p.errors.len(), 1);
        assert_eq!(p.errors[0].location, Location::Pointer("/1".into()));
        let n = nodes(&p);
        assert_eq!(
            n[0].keys[0],
            Key::email("ci-deployer@acme-prod.iam.gserviceaccount.com")
        );
        assert_eq!(n[0].props["project_id"], "acme-prod");
        assert_eq!(n[1].props["status"], "Disabled");
        assert_eq!(p.scope, "gcp-service-accounts:acme-prod");
    }

    #[test]
    fn user_managed_keys_are_credentials_and_google_managed_are_skipped() {
        let doc = r#"[
          {"keyAlgorithm": "KEY_ALG_RSA_2048", "keyOrigin": "GOOGLE_PROVIDED", "keyType": "USER_MANAGED",
           "name": "projects/acme-prod/serviceAccounts/ci@acme-prod.iam.gserviceaccount.com/keys/4f1c2b7d9e0a8f6b5c3d2e1f0a9b8c7d6e5f4a3b",
           "validAfterTime": "2024-02-01T10:00:00Z", "validBeforeTime": "9999-12-31T23:59:59Z"},
          {"keyAlgorithm": "KEY_ALG_RSA_2048", "keyOrigin": "GOOGLE_PROVIDED", "keyType": "SYSTEM_MANAGED",
           "name": "projects/acme-prod/serviceAccounts/ci@acme-prod.iam.gserviceaccount.com/keys/aaaa",
           "validAfterTime": "2026-11-01T10:00:00Z", "validBeforeTime": "2026-11-17T10:00:00Z"},
          {"name": "keys/bad"}
        ]"#;
        let p = parse_service_account_keys(&file("k.json", doc));
        assert_eq!(p.records, 3);
        assert_eq!(p.errors.len(), 1);
        assert_eq!(p.errors[0].location, Location::Pointer("/2/name".into()));
        let n = nodes(&p);
        assert_eq!(n.len(), 1);
        assert_eq!(
            n[0].keys[0].as_str(),
            "id:gcp-sa-key/4f1c2b7d9e0a8f6b5c3d2e1f0a9b8c7d6e5f4a3b"
        );
        assert!(n[0].props.get("expires").is_none());
        assert_eq!(n[0].props["created"], "2024-02-01T10:00:00Z");
        let e = edges(&p);
        assert_eq!(
            e[0].to.key,
            Key::email("ci@acme-prod.iam.gserviceaccount.com")
        );
    }

    #[test]
    fn policy_owner_comes_from_the_path() {
        assert_eq!(
            policy_of("gcp/projects/acme-prod/iam-policy.json"),
            Some(PolicyOf::Project("acme-prod".into()))
        );
        assert_eq!(
            policy_of(
                "gcp/projects/acme-prod/service-accounts/CI@acme-prod.iam.gserviceaccount.com.json"
            ),
            Some(PolicyOf::ServiceAccount(
                "ci@acme-prod.iam.gserviceaccount.com".into()
            ))
        );
        assert_eq!(policy_of("policy.json"), None);
        let p = parse_iam_policy(&file("policy.json", r#"{"bindings": []}"#));
        assert!(p.errors[0].message.contains("whose IAM policy"));
    }

    #[test]
    fn federation_from_an_aws_role_is_resolved_to_the_role() {
        assert_eq!(
            aws_role_of("principalSet://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/aws/attribute.aws_role/arn:aws:sts::111122223333:assumed-role/deployer"),
            Some("arn:aws:iam::111122223333:role/deployer".into())
        );
        assert_eq!(
            aws_role_of("principal://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/aws/subject/arn:aws:sts::111122223333:assumed-role/deployer/session-1"),
            Some("arn:aws:iam::111122223333:role/deployer".into())
        );
        assert_eq!(aws_role_of("user:a@b.c"), None);
        let doc = r#"{"bindings": [
            {"members": ["principalSet://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/aws/attribute.aws_role/arn:aws:sts::111122223333:assumed-role/deployer",
                         "user:ana@acme.example", "deleted:serviceAccount:x@y.iam.gserviceaccount.com?uid=1"],
             "role": "roles/iam.workloadIdentityUser"},
            {"members": ["user:bo@acme.example"], "role": "roles/iam.serviceAccountViewer"},
            {"members": "not a list", "role": "roles/owner"}
          ], "etag": "BwX=", "version": 1}"#;
        let p = parse_iam_policy(&file(
            "gcp/service-accounts/ci@acme-prod.iam.gserviceaccount.com/iam-policy.json",
            doc,
        ));
        assert_eq!(p.errors.len(), 1);
        assert_eq!(
            p.errors[0].location,
            Location::Pointer("/bindings/2/members".into())
        );
        let e = edges(&p);
        let from: Vec<&str> = e.iter().map(|e| e.from.key.as_str()).collect();
        assert_eq!(from.len(), 3, "{from:?}");
        assert!(from.contains(&"arn:aws:iam::111122223333:role/deployer"));
        assert!(from.contains(&"email:ana@acme.example"));
        assert!(e.iter().all(|e| e.kind == EdgeKind::CanAssume));
        let wi = nodes(&p);
        assert_eq!(wi[0].props["attribute"], "aws_role");
    }

    #[test]
    fn project_bindings_are_access_to_the_project() {
        let doc = r#"{"bindings": [{"role": "roles/storage.admin", "members": ["serviceAccount:ci@acme-prod.iam.gserviceaccount.com", "group:sre@acme.example"],
            "condition": {"title": "until 2027", "expression": "request.time < timestamp('2027-01-01T00:00:00Z')"}}]}"#;
        let p = parse_iam_policy(&file("gcp/projects/acme-prod/iam-policy.json", doc));
        assert!(p.errors.is_empty());
        let e = edges(&p);
        assert_eq!(e.len(), 2);
        assert!(e
            .iter()
            .all(|e| e.kind == EdgeKind::CanAccess && e.props["conditional"] == true));
        assert_eq!(e[0].to.key.as_str(), "id:gcp-project/acme-prod");
        assert_eq!(p.scope, "gcp-iam-policy:projects/acme-prod");
    }

    #[test]
    fn providers_keep_issuer_and_condition() {
        let doc = r#"[{"name": "projects/123/locations/global/workloadIdentityPools/github/providers/actions",
            "displayName": "GitHub Actions", "state": "ACTIVE",
            "attributeMapping": {"google.subject": "assertion.sub", "attribute.repository": "assertion.repository"},
            "attributeCondition": "assertion.repository_owner == 'acme'",
            "oidc": {"issuerUri": "https://token.actions.githubusercontent.com"}},
           {"name": "projects/123/locations/global/workloadIdentityPools/aws/providers/prod", "aws": {"accountId": "111122223333"}, "attributeCondition": "true"},
           {"displayName": "nameless"}]"#;
        let p = parse_wif_providers(&file("wif.json", doc));
        assert_eq!(p.errors.len(), 1);
        let n = nodes(&p);
        assert_eq!(
            n[0].props["issuer"],
            "https://token.actions.githubusercontent.com"
        );
        assert!(n[0].props.contains_key("attribute_condition"));
        assert_eq!(n[1].props["aws_account_id"], "111122223333");
        // `true` is no condition at all.
        assert!(!n[1].props.contains_key("attribute_condition"));
    }
}
