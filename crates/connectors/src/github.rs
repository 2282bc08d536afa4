//! GitHub's REST (and one GraphQL) responses, saved under their API paths:
//!
//! - Actions secrets (`GET /repos/{owner}/{repo}/actions/secrets`,
//!   `/orgs/{org}/actions/secrets`, `/repos/{o}/{r}/environments/{env}/secrets`):
//!   names and dates only (GitHub never returns a secret's value). The body
//!   does not say whose secrets they are, so the path must:
//!   `…/repos/<owner>/<repo>/actions/secrets.json`, `…/orgs/<org>/actions/secrets.json`
//!   or `…/repos/<owner>/<repo>/environments/<env>/secrets.json`.
//! - deploy keys (`GET /repos/{owner}/{repo}/keys`): the repository comes from
//!   each key's `url`, else the path;
//! - GitHub App installations (`GET /orgs/{org}/installations`) and their permissions;
//! - fine-grained PATs approved for the org (`GET /orgs/{org}/personal-access-tokens`);
//! - SAML SSO credential authorizations (`GET /orgs/{org}/credential-authorizations`):
//!   classic PATs, SSH keys and OAuth tokens that members authorized for the org;
//! - repositories (`GET /orgs/{org}/repos`): visibility, archived, default
//!   branch, topics and custom properties (what GitHub credentials reach,
//!   ranked by a `data-classification` custom property or topic);
//! - teams (`GET /orgs/{org}/teams`), members (`GET /orgs/{org}/members`) and team
//!   members (`GET /orgs/{org}/teams/{slug}/members`, saved under that path);
//! - SAML identities (the GraphQL `organization.samlIdentityProvider.externalIdentities`
//!   query): which IdP e-mail each login is, so a GitHub user is the same human
//!   as the Okta user and the roster row.
//!
//! Keys match the GitHub audit log's: a user is `id:github/<login>`, a token
//! `id:github-token/<token_id>`; an Actions secret is the place the scanner
//! names from a workflow (`uri:github://<owner>/<repo>/actions/secrets/<NAME>`).

use crate::util::{load_array, parse_json, records};
use crate::{InputError, Parsed, SourceFile};
use custody_model::{time, EdgeKind, Fact, Key, Label, Location};
use serde::Deserialize;
use serde_json::{json, Map, Value};

fn node(
    label: Label,
    kind: &str,
    keys: Vec<Key>,
    name: &str,
    props: Map<String, Value>,
    at: &str,
) -> Fact {
    crate::util::node_at("github", label, kind, keys, Some(name), props, at)
}

use crate::util::edge_between as edge;

pub fn user_key(login: &str) -> Key {
    Key::other("github", login.trim())
}

fn org_key(org: &str) -> Key {
    Key::other("github-org", org)
}

fn repo_key(slug: &str) -> Key {
    Key::other("github-repo", slug)
}

/// The folders after `marker` in a path (`repos/acme/app/…` → `["acme", "app", …]`).
fn after<'p>(path: &'p str, marker: &str) -> Vec<&'p str> {
    let parts: Vec<&str> = path.split(['/', '\\']).filter(|p| !p.is_empty()).collect();
    match parts.iter().rposition(|p| *p == marker) {
        Some(i) => parts[i + 1..]
            .iter()
            .map(|p| p.strip_suffix(".json").unwrap_or(p))
            .collect(),
        None => Vec::new(),
    }
}

/// Whose Actions secrets a listing holds, from its path.
#[derive(Debug, PartialEq)]
pub enum SecretsOf {
    Repo(String),
    Environment(String, String),
    Org(String),
}

pub fn secrets_of(path: &str) -> Option<SecretsOf> {
    let r = after(path, "repos");
    if r.len() >= 3 {
        let slug = format!("{}/{}", r[0], r[1]);
        if r[2] == "environments" && r.len() >= 4 {
            return Some(SecretsOf::Environment(slug, r[3].to_string()));
        }
        return Some(SecretsOf::Repo(slug));
    }
    let o = after(path, "orgs");
    (o.len() >= 2).then(|| SecretsOf::Org(o[0].to_string()))
}

/// The org a `/orgs/{org}/…` response was saved under.
fn org_of_path(path: &str) -> Option<String> {
    let o = after(path, "orgs");
    (o.len() >= 2).then(|| o[0].to_string())
}

fn object(
    connector: &str,
    file: &SourceFile<'_>,
    parsed: &mut Parsed,
    list: &str,
) -> Option<Vec<Value>> {
    let doc = match parse_json(connector, file.path, file.bytes) {
        Ok(d) => d,
        Err(e) => {
            parsed.errors.push(e);
            return None;
        }
    };
    match crate::util::array_at(connector, file.path, &doc, list) {
        Ok(items) if doc.is_object() => Some(items.to_vec()),
        Ok(_) => {
            parsed.errors.push(InputError::new(
                connector,
                file.path,
                Location::Pointer(String::new()),
                format!("expected an object with `{list}` (the API's response body)"),
            ));
            None
        }
        Err(e) => {
            parsed.errors.push(e);
            None
        }
    }
}

fn put_time(props: &mut Map<String, Value>, key: &str, v: &Option<String>) {
    if let Some(t) = v.as_deref().and_then(time::normalise) {
        props.insert(key.into(), json!(t));
    }
}

#[derive(Deserialize)]
struct Secret {
    name: String,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    visibility: Option<String>,
}

pub fn parse_actions_secrets(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "github-actions-secrets";
    let mut parsed = Parsed::default();
    let Some(owner) = secrets_of(file.path) else {
        parsed.errors.push(InputError::new(
            CONNECTOR,
            file.path,
            Location::File,
            "cannot tell whose secrets these are: save the response under its API path \
             (`repos/<owner>/<repo>/actions/secrets.json`, `orgs/<org>/actions/secrets.json` \
             or `repos/<owner>/<repo>/environments/<env>/secrets.json`)",
        ));
        return parsed;
    };
    let Some(items) = object(CONNECTOR, file, &mut parsed, "secrets") else {
        return parsed;
    };
    let (prefix, scope_name) = match &owner {
        SecretsOf::Repo(slug) => (format!("github://{slug}/actions/secrets/"), slug.clone()),
        SecretsOf::Environment(slug, env) => (
            format!("github://{slug}/environments/{env}/secrets/"),
            format!("{slug} environment {env}"),
        ),
        SecretsOf::Org(org) => (
            format!("github://{org}/actions/secrets/"),
            format!("org {org}"),
        ),
    };
    for (base, s) in records::<Secret>(CONNECTOR, file.path, "/secrets", &items, &mut parsed) {
        let mut props = Map::new();
        props.insert("secret_name".into(), json!(s.name));
        match &owner {
            SecretsOf::Repo(slug) => {
                props.insert("repository".into(), json!(slug));
            }
            SecretsOf::Environment(slug, env) => {
                props.insert("repository".into(), json!(slug));
                props.insert("environment".into(), json!(env));
            }
            SecretsOf::Org(org) => {
                props.insert("org".into(), json!(org));
            }
        }
        put_time(&mut props, "created", &s.created_at);
        put_time(&mut props, "updated", &s.updated_at);
        if let Some(v) = &s.visibility {
            props.insert("visibility".into(), json!(v));
        }
        parsed.facts.push(node(
            Label::Location,
            "github_actions_secret",
            vec![Key::uri(&format!("{prefix}{}", s.name))],
            &format!("{scope_name} secret {}", s.name),
            props,
            &base,
        ));
    }
    parsed.scope = format!("{CONNECTOR}:{prefix}");
    parsed
}

#[derive(Deserialize)]
struct DeployKey {
    id: u64,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    verified: Option<bool>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    read_only: Option<bool>,
    #[serde(default)]
    added_by: Option<String>,
    #[serde(default)]
    last_used: Option<String>,
    #[serde(default)]
    enabled: Option<bool>,
}

/// `https://api.github.com/repos/o/r/keys/1` → `o/r`.
fn repo_of_url(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("/repos/")?;
    let mut it = rest.split('/');
    let (o, r) = (it.next()?, it.next()?);
    (!o.is_empty() && !r.is_empty()).then(|| format!("{o}/{r}"))
}

pub fn parse_deploy_keys(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "github-deploy-keys";
    let mut parsed = Parsed::default();
    let Some(items) = load_array(CONNECTOR, file, &mut parsed) else {
        return parsed;
    };
    let from_path = {
        let r = after(file.path, "repos");
        (r.len() >= 2).then(|| format!("{}/{}", r[0], r[1]))
    };
    let mut scope = from_path.clone();
    for (base, k) in records::<DeployKey>(CONNECTOR, file.path, "", &items, &mut parsed) {
        let Some(repo) = k
            .url
            .as_deref()
            .and_then(repo_of_url)
            .or_else(|| from_path.clone())
        else {
            parsed.errors.push(InputError::new(
                CONNECTOR,
                file.path,
                Location::Pointer(format!("{base}/url")),
                "cannot tell the key's repository: no `url`, and the path has no `repos/<owner>/<repo>/`",
            ));
            continue;
        };
        scope = scope.or_else(|| Some(repo.clone()));
        let cred = Key::other("github-deploy-key", &k.id.to_string());
        let read_only = k.read_only.unwrap_or(true);
        let mut props = Map::new();
        props.insert("repository".into(), json!(repo));
        props.insert("read_only".into(), json!(read_only));
        if let Some(t) = &k.title {
            props.insert("title".into(), json!(t));
        }
        if let Some(v) = k.verified {
            props.insert("verified".into(), json!(v));
        }
        put_time(&mut props, "created", &k.created_at);
        put_time(&mut props, "last_used", &k.last_used);
        let enabled = k.enabled.unwrap_or(true);
        props.insert(
            "status".into(),
            json!(if enabled { "Active" } else { "Inactive" }),
        );
        if let Some(by) = &k.added_by {
            props.insert("added_by".into(), json!(by));
        }
        let name = format!("{repo} deploy key {}", k.title.as_deref().unwrap_or(""));
        parsed.facts.push(node(
            Label::Credential,
            "github_deploy_key",
            vec![cred.clone()],
            name.trim(),
            props,
            &base,
        ));
        parsed.facts.push(edge(
            EdgeKind::CanAccess,
            (Label::Credential, cred.clone()),
            (Label::Resource, repo_key(&repo)),
            json!({"actions": if read_only { vec!["read"] } else { vec!["read", "write"] }}),
            &base,
        ));
        if let Some(by) = k.added_by.as_deref().filter(|b| !b.is_empty()) {
            parsed.facts.push(edge(
                EdgeKind::CreatedBy,
                (Label::Credential, cred),
                (Label::Human, user_key(by)),
                json!({"evidence": "deploy key added_by", "method": "added-by"}),
                &format!("{base}/added_by"),
            ));
        }
    }
    parsed.scope = format!(
        "{CONNECTOR}:{}",
        scope.unwrap_or_else(|| file.path.to_string())
    );
    parsed
}

/// Permissions that let a holder change code, settings or secrets.
const WRITE_SENSITIVE: [&str; 6] = [
    "administration",
    "contents",
    "secrets",
    "workflows",
    "members",
    "organization_administration",
];

fn permission_props(perms: &Map<String, Value>, props: &mut Map<String, Value>) {
    props.insert("permissions".into(), Value::Object(perms.clone()));
    let level = |k: &str| perms.get(k).and_then(Value::as_str).unwrap_or("");
    let writes: Vec<&str> = WRITE_SENSITIVE
        .into_iter()
        .filter(|k| matches!(level(k), "write" | "admin"))
        .collect();
    if !writes.is_empty() {
        props.insert("writes".into(), json!(writes));
    }
    if matches!(level("administration"), "write")
        || matches!(level("organization_administration"), "write")
    {
        props.insert("admin".into(), json!(true));
    }
    if !level("secrets").is_empty() || !level("organization_secrets").is_empty() {
        props.insert("reads_secrets".into(), json!(true));
    }
}

#[derive(Deserialize)]
struct Account {
    login: String,
}

#[derive(Deserialize)]
struct Installation {
    id: u64,
    #[serde(default)]
    app_id: Option<u64>,
    #[serde(default)]
    app_slug: Option<String>,
    #[serde(default)]
    account: Option<Account>,
    #[serde(default)]
    repository_selection: Option<String>,
    #[serde(default)]
    permissions: Map<String, Value>,
    #[serde(default)]
    events: Vec<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    suspended_at: Option<String>,
}

pub fn parse_installations(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "github-app-installations";
    let mut parsed = Parsed::default();
    let Some(items) = object(CONNECTOR, file, &mut parsed, "installations") else {
        return parsed;
    };
    let mut org = org_of_path(file.path);
    for (base, inst) in
        records::<Installation>(CONNECTOR, file.path, "/installations", &items, &mut parsed)
    {
        let account = inst.account.as_ref().map(|a| a.login.clone());
        org = org.or_else(|| account.clone());
        let key = Key::other("github-app-installation", &inst.id.to_string());
        let slug = inst
            .app_slug
            .clone()
            .unwrap_or_else(|| format!("app {}", inst.id));
        let mut props = Map::new();
        if let Some(a) = inst.app_id {
            props.insert("app_id".into(), json!(a));
        }
        props.insert("app_slug".into(), json!(slug));
        if let Some(a) = &account {
            props.insert("org".into(), json!(a));
        }
        if let Some(s) = &inst.repository_selection {
            props.insert("repository_selection".into(), json!(s));
        }
        permission_props(&inst.permissions, &mut props);
        if !inst.events.is_empty() {
            props.insert("events".into(), json!(inst.events));
        }
        put_time(&mut props, "created", &inst.created_at);
        put_time(&mut props, "updated", &inst.updated_at);
        props.insert(
            "status".into(),
            json!(if inst.suspended_at.is_some() {
                "Suspended"
            } else {
                "Active"
            }),
        );
        let name = match &account {
            Some(a) => format!("{slug} on {a}"),
            None => slug.clone(),
        };
        parsed.facts.push(node(
            Label::Principal,
            "github_app_installation",
            vec![key.clone()],
            &name,
            props.clone(),
            &base,
        ));
        if let Some(a) = &account {
            parsed
                .facts
                .push(org_access((Label::Principal, key), a, &props, &base));
        }
    }
    parsed.scope = format!(
        "{CONNECTOR}:{}",
        org.unwrap_or_else(|| file.path.to_string())
    );
    parsed
}

/// `CAN_ACCESS` the organisation, carrying the grant's permission summary
/// (an App installation's or a fine-grained token's).
fn org_access(from: (Label, Key), org: &str, props: &Map<String, Value>, base: &str) -> Fact {
    let mut ep = Map::new();
    for k in [
        "permissions",
        "writes",
        "admin",
        "reads_secrets",
        "repository_selection",
    ] {
        if let Some(v) = props.get(k) {
            ep.insert(k.into(), v.clone());
        }
    }
    edge(
        EdgeKind::CanAccess,
        from,
        (Label::Resource, org_key(org)),
        Value::Object(ep),
        &format!("{base}/permissions"),
    )
}

#[derive(Deserialize)]
struct PatGrant {
    id: u64,
    owner: Account,
    token_id: u64,
    #[serde(default)]
    token_name: Option<String>,
    #[serde(default)]
    repository_selection: Option<String>,
    #[serde(default)]
    permissions: Map<String, Value>,
    #[serde(default)]
    access_granted_at: Option<String>,
    #[serde(default)]
    token_expired: Option<bool>,
    #[serde(default)]
    token_expires_at: Option<String>,
    #[serde(default)]
    token_last_used_at: Option<String>,
}

#[derive(Deserialize)]
struct Repo {
    full_name: String,
    #[serde(default)]
    private: bool,
    #[serde(default)]
    visibility: Option<String>,
    #[serde(default)]
    archived: bool,
    #[serde(default)]
    default_branch: Option<String>,
    #[serde(default)]
    topics: Vec<String>,
    #[serde(default)]
    custom_properties: Map<String, Value>,
}

pub fn parse_repos(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "github-repos";
    let mut parsed = Parsed::default();
    let Some(items) = load_array(CONNECTOR, file, &mut parsed) else {
        return parsed;
    };
    let mut org = org_of_path(file.path);
    for (base, r) in records::<Repo>(CONNECTOR, file.path, "", &items, &mut parsed) {
        let owner = r.full_name.split('/').next().unwrap_or("").to_string();
        org.get_or_insert(owner.clone());
        let mut props = Map::new();
        props.insert("org".into(), json!(owner));
        props.insert(
            "visibility".into(),
            json!(r.visibility.clone().unwrap_or_else(|| if r.private {
                "private"
            } else {
                "public"
            }
            .into())),
        );
        props.insert("archived".into(), json!(r.archived));
        if let Some(b) = &r.default_branch {
            props.insert("default_branch".into(), json!(b));
        }
        if !r.topics.is_empty() {
            props.insert("topics".into(), json!(r.topics));
        }
        // Custom properties rank the repository as tags rank a bucket; a
        // classification topic (`data-classification-restricted`) does too.
        let mut tags: Map<String, Value> = r
            .custom_properties
            .iter()
            .filter(|(_, v)| v.is_string())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for t in &r.topics {
            if let Some(v) = t.strip_prefix("data-classification-") {
                tags.entry("data-classification".to_string())
                    .or_insert_with(|| json!(v));
            }
        }
        if !tags.is_empty() {
            props.insert("tags".into(), Value::Object(tags));
        }
        parsed.facts.push(node(
            Label::Resource,
            "github_repository",
            vec![repo_key(&r.full_name)],
            &r.full_name,
            props,
            &base,
        ));
    }
    parsed.scope = format!(
        "{CONNECTOR}:{}",
        org.unwrap_or_else(|| file.path.to_string())
    );
    parsed
}

pub fn parse_pat_grants(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "github-pat-grants";
    let mut parsed = Parsed::default();
    let Some(items) = load_array(CONNECTOR, file, &mut parsed) else {
        return parsed;
    };
    let org = org_of_path(file.path);
    for (base, g) in records::<PatGrant>(CONNECTOR, file.path, "", &items, &mut parsed) {
        let cred = Key::other("github-token", &g.token_id.to_string());
        let mut props = Map::new();
        props.insert("grant_id".into(), json!(g.id));
        props.insert("token_id".into(), json!(g.token_id));
        props.insert("owner_login".into(), json!(g.owner.login));
        if let Some(s) = &g.repository_selection {
            props.insert("repository_selection".into(), json!(s));
        }
        // Fine-grained permissions come as {"organization": {...}, "repository": {...}}.
        let mut flat = Map::new();
        for group in g.permissions.values() {
            if let Value::Object(m) = group {
                flat.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        permission_props(&flat, &mut props);
        props.insert("permissions".into(), Value::Object(g.permissions.clone()));
        put_time(&mut props, "approved", &g.access_granted_at);
        put_time(&mut props, "expires", &g.token_expires_at);
        put_time(&mut props, "last_used", &g.token_last_used_at);
        if g.token_expires_at.is_none() {
            props.insert("never_expires".into(), json!(true));
        }
        props.insert(
            "status".into(),
            json!(if g.token_expired == Some(true) {
                "Expired"
            } else {
                "Active"
            }),
        );
        if let Some(o) = &org {
            props.insert("org".into(), json!(o));
        }
        let name = g
            .token_name
            .clone()
            .unwrap_or_else(|| format!("token {}", g.token_id));
        parsed.facts.push(node(
            Label::Credential,
            "github_fine_grained_pat",
            vec![cred.clone()],
            &format!("{} ({})", name, g.owner.login),
            props.clone(),
            &base,
        ));
        parsed.facts.push(edge(
            EdgeKind::OwnedBy,
            (Label::Credential, cred.clone()),
            (Label::Human, user_key(&g.owner.login)),
            json!({"evidence": "the token's owner (GitHub)", "method": "system-owner", "confidence": 1.0}),
            &format!("{base}/owner/login"),
        ));
        if let Some(o) = &org {
            parsed
                .facts
                .push(org_access((Label::Credential, cred), o, &props, &base));
        }
    }
    parsed.scope = format!(
        "{CONNECTOR}:{}",
        org.unwrap_or_else(|| file.path.to_string())
    );
    parsed
}

#[derive(Deserialize)]
struct CredentialAuthorization {
    login: String,
    credential_id: u64,
    credential_type: String,
    #[serde(default)]
    credential_authorized_at: Option<String>,
    #[serde(default)]
    credential_accessed_at: Option<String>,
    #[serde(default)]
    authorized_credential_expires_at: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    fingerprint: Option<String>,
    #[serde(default)]
    authorized_credential_title: Option<String>,
    #[serde(default)]
    authorized_credential_note: Option<String>,
}

fn credential_kind(t: &str) -> &'static str {
    match t.to_ascii_lowercase().as_str() {
        "personal access token" => "github_classic_pat",
        "ssh key" => "github_ssh_key",
        "oauth app token" => "github_oauth_token",
        "github app token" => "github_app_user_token",
        _ => "github_credential",
    }
}

pub fn parse_credential_authorizations(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "github-credential-authorizations";
    let mut parsed = Parsed::default();
    let Some(items) = load_array(CONNECTOR, file, &mut parsed) else {
        return parsed;
    };
    let org = org_of_path(file.path);
    for (base, c) in
        records::<CredentialAuthorization>(CONNECTOR, file.path, "", &items, &mut parsed)
    {
        let cred = Key::other("github-credential", &c.credential_id.to_string());
        let kind = credential_kind(&c.credential_type);
        let mut props = Map::new();
        props.insert("credential_type".into(), json!(c.credential_type));
        props.insert("owner_login".into(), json!(c.login));
        if !c.scopes.is_empty() {
            let admin = c
                .scopes
                .iter()
                .any(|s| s == "admin:org" || s == "admin:enterprise" || s == "delete_repo");
            props.insert("scopes".into(), json!(c.scopes));
            if admin {
                props.insert("admin".into(), json!(true));
            }
        }
        if let Some(f) = &c.fingerprint {
            props.insert("public_key_fingerprint".into(), json!(f));
        }
        put_time(&mut props, "approved", &c.credential_authorized_at);
        put_time(&mut props, "last_used", &c.credential_accessed_at);
        put_time(&mut props, "expires", &c.authorized_credential_expires_at);
        if kind == "github_classic_pat" && c.authorized_credential_expires_at.is_none() {
            props.insert("never_expires".into(), json!(true));
        }
        props.insert("status".into(), json!("Active"));
        if let Some(o) = &org {
            props.insert("org".into(), json!(o));
        }
        let title = c
            .authorized_credential_note
            .as_deref()
            .or(c.authorized_credential_title.as_deref())
            .unwrap_or(&c.credential_type);
        parsed.facts.push(node(
            Label::Credential,
            kind,
            vec![cred.clone()],
            &format!("{title} ({})", c.login),
            props,
            &base,
        ));
        parsed.facts.push(edge(
            EdgeKind::OwnedBy,
            (Label::Credential, cred.clone()),
            (Label::Human, user_key(&c.login)),
            json!({"evidence": "SAML SSO credential authorization (GitHub)", "method": "system-owner", "confidence": 1.0}),
            &format!("{base}/login"),
        ));
        if let Some(o) = &org {
            parsed.facts.push(edge(
                EdgeKind::CanAccess,
                (Label::Credential, cred),
                (Label::Resource, org_key(o)),
                json!({"scopes": c.scopes}),
                &format!("{base}/scopes"),
            ));
        }
    }
    parsed.scope = format!(
        "{CONNECTOR}:{}",
        org.unwrap_or_else(|| file.path.to_string())
    );
    parsed
}

#[derive(Deserialize)]
struct Team {
    slug: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    privacy: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    parent: Option<Box<TeamRef>>,
}

#[derive(Deserialize)]
struct TeamRef {
    slug: String,
}

/// `https://github.com/orgs/acme/teams/x` → `acme`.
fn org_of_team_url(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("/orgs/")?;
    rest.split('/').next().map(str::to_string)
}

fn team_key(org: &str, slug: &str) -> Key {
    Key::other("github-team", &format!("{org}/{slug}"))
}

pub fn parse_teams(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "github-teams";
    let mut parsed = Parsed::default();
    let Some(items) = load_array(CONNECTOR, file, &mut parsed) else {
        return parsed;
    };
    let path_org = org_of_path(file.path);
    let mut scope = path_org.clone();
    for (base, t) in records::<Team>(CONNECTOR, file.path, "", &items, &mut parsed) {
        let Some(org) = t
            .html_url
            .as_deref()
            .and_then(org_of_team_url)
            .or_else(|| path_org.clone())
        else {
            parsed.errors.push(InputError::new(
                CONNECTOR,
                file.path,
                Location::Pointer(format!("{base}/html_url")),
                "cannot tell the team's org: no `html_url`, and the path has no `orgs/<org>/`",
            ));
            continue;
        };
        scope = scope.or_else(|| Some(org.clone()));
        let mut props = Map::new();
        props.insert("org".into(), json!(org));
        props.insert("slug".into(), json!(t.slug));
        for (k, v) in [("description", &t.description), ("privacy", &t.privacy)] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                props.insert(k.into(), json!(v));
            }
        }
        let key = team_key(&org, &t.slug);
        parsed.facts.push(node(
            Label::Group,
            "github_team",
            vec![key.clone()],
            t.name.as_deref().unwrap_or(&t.slug),
            props,
            &base,
        ));
        if let Some(p) = &t.parent {
            parsed.facts.push(edge(
                EdgeKind::MemberOf,
                (Label::Group, key),
                (Label::Group, team_key(&org, &p.slug)),
                Value::Null,
                &format!("{base}/parent"),
            ));
        }
    }
    parsed.scope = format!(
        "{CONNECTOR}:{}",
        scope.unwrap_or_else(|| file.path.to_string())
    );
    parsed
}

#[derive(Deserialize)]
struct Member {
    login: String,
    #[serde(default)]
    id: Option<u64>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    site_admin: Option<bool>,
}

pub fn parse_members(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "github-members";
    let mut parsed = Parsed::default();
    let Some(items) = load_array(CONNECTOR, file, &mut parsed) else {
        return parsed;
    };
    let o = after(file.path, "orgs");
    let org = o.first().map(|s| s.to_string());
    let team = (o.len() >= 3 && o[1] == "teams").then(|| o[2].to_string());
    for (base, m) in records::<Member>(CONNECTOR, file.path, "", &items, &mut parsed) {
        let mut props = Map::new();
        props.insert("github_login".into(), json!(m.login));
        if let Some(id) = m.id {
            props.insert("github_id".into(), json!(id));
        }
        if let Some(o) = &org {
            props.insert("github_org".into(), json!(o));
        }
        if m.site_admin == Some(true) {
            props.insert("site_admin".into(), json!(true));
        }
        // A `Bot` account (a machine user) is a non-human identity.
        let bot = m.kind.as_deref() == Some("Bot");
        let (label, kind) = if bot {
            (Label::Principal, "github_bot")
        } else {
            (Label::Human, "github_user")
        };
        let key = user_key(&m.login);
        parsed
            .facts
            .push(node(label, kind, vec![key.clone()], &m.login, props, &base));
        if let (Some(o), Some(t)) = (&org, &team) {
            parsed.facts.push(edge(
                EdgeKind::MemberOf,
                (label, key),
                (Label::Group, team_key(o, t)),
                Value::Null,
                &base,
            ));
        }
    }
    parsed.scope = match (&org, &team) {
        (Some(o), Some(t)) => format!("{CONNECTOR}:{o}/teams/{t}"),
        (Some(o), None) => format!("{CONNECTOR}:{o}"),
        _ => format!("{CONNECTOR}:{}", file.path),
    };
    parsed
}

/// The GraphQL answer of
/// `organization(login) { samlIdentityProvider { externalIdentities { edges { node { samlIdentity { nameId } user { login } } } } } }`.
pub fn parse_saml_identities(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "github-saml-identities";
    let mut parsed = Parsed::default();
    let doc = match parse_json(CONNECTOR, file.path, file.bytes) {
        Ok(d) => d,
        Err(e) => {
            parsed.errors.push(e);
            return parsed;
        }
    };
    const EDGES: &str = "/data/organization/samlIdentityProvider/externalIdentities/edges";
    let Some(edges) = doc.pointer(EDGES).and_then(Value::as_array) else {
        parsed.errors.push(InputError::new(
            CONNECTOR,
            file.path,
            Location::Pointer(EDGES.into()),
            "expected the externalIdentities edges of the GraphQL answer",
        ));
        return parsed;
    };
    for (i, e) in edges.iter().enumerate() {
        parsed.records += 1;
        let base = format!("{EDGES}/{i}/node");
        let login = e.pointer("/node/user/login").and_then(Value::as_str);
        let email = e
            .pointer("/node/samlIdentity/nameId")
            .and_then(Value::as_str)
            .or_else(|| {
                e.pointer("/node/scimIdentity/username")
                    .and_then(Value::as_str)
            })
            .filter(|v| v.contains('@'));
        // An identity not yet linked to a GitHub account has no user.
        let (Some(login), Some(email)) = (login, email) else {
            if login.is_some() {
                parsed.errors.push(InputError::new(
                    CONNECTOR,
                    file.path,
                    Location::Pointer(format!("{base}/samlIdentity/nameId")),
                    "the identity has no e-mail nameId",
                ));
            }
            continue;
        };
        let mut props = Map::new();
        props.insert("github_login".into(), json!(login));
        props.insert("email".into(), json!(email.to_ascii_lowercase()));
        parsed.facts.push(node(
            Label::Human,
            "github_user",
            vec![Key::email(email), user_key(login)],
            login,
            props,
            &base,
        ));
    }
    parsed.scope = format!(
        "{CONNECTOR}:{}",
        org_of_path(file.path).unwrap_or_else(|| file.path.to_string())
    );
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_model::EdgeKind as E;

    fn run(f: fn(&SourceFile<'_>) -> Parsed, path: &str, text: &str) -> Parsed {
        f(&SourceFile {
            path,
            bytes: text.as_bytes(),
        })
    }

    #[test]
    fn actions_secrets_are_places_named_like_the_scanner_names_them() {
        let body = r#"{"total_count": 2, "secrets": [
            {"name": "AWS_SECRET_ACCESS_KEY", "created_at": "2019-08-10T14:59:22Z", "updated_at": "2020-01-10T14:59:22Z"},
            {"name": "NPM_TOKEN", "created_at": "2021-08-10T14:59:22Z", "updated_at": "2021-08-10T14:59:22Z", "visibility": "selected"}]}"#;
        let p = run(
            parse_actions_secrets,
            "github/repos/acme/payments/actions/secrets.json",
            body,
        );
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let n = p.nodes();
        assert_eq!(n.len(), 2);
        assert_eq!(
            n[0].keys[0].as_str(),
            "uri:github://acme/payments/actions/secrets/AWS_SECRET_ACCESS_KEY"
        );
        assert_eq!(n[0].props["created"], json!("2019-08-10T14:59:22Z"));
        let env = run(
            parse_actions_secrets,
            "github/repos/acme/payments/environments/prod/secrets.json",
            body,
        );
        assert_eq!(
            env.nodes()[1].keys[0].as_str(),
            "uri:github://acme/payments/environments/prod/secrets/NPM_TOKEN"
        );
        let org = run(
            parse_actions_secrets,
            "github/orgs/acme/actions/secrets.json",
            body,
        );
        assert_eq!(
            org.nodes()[0].keys[0].as_str(),
            "uri:github://acme/actions/secrets/AWS_SECRET_ACCESS_KEY"
        );
        // The path must say whose they are.
        let bad = run(parse_actions_secrets, "secrets.json", body);
        assert!(bad.facts.is_empty());
        assert!(bad.errors[0].message.contains("API path"));
    }

    #[test]
    fn deploy_keys_carry_repo_write_access_and_who_added_them() {
        let body = r#"[{"id": 1, "key": "ssh-rsa AAAAB3NzaC1yc2EAAA", "url": "https://api.github.com/repos/octocat/Hello-World/keys/1",
            "title": "octocat@octomac", "verified": true, "created_at": "2014-12-10T15:53:42Z", "read_only": false,
            "added_by": "octocat", "last_used": "2022-01-10T15:53:42Z", "enabled": true},
            {"id": "two"}]"#;
        let p = run(parse_deploy_keys, "keys.json", body);
        assert_eq!(p.records, 2);
        assert_eq!(p.errors.len(), 1);
        assert_eq!(p.errors[0].location, Location::Pointer("/1/id".into()));
        let n = p.nodes();
        assert_eq!(n[0].keys[0].as_str(), "id:github-deploy-key/1");
        assert_eq!(n[0].props["repository"], json!("octocat/Hello-World"));
        assert!(
            !n[0].props.contains_key("key"),
            "the public key is not kept"
        );
        let access = p.edges(Some(E::CanAccess));
        assert_eq!(
            access[0].to.key.as_str(),
            "id:github-repo/octocat/Hello-World"
        );
        assert_eq!(access[0].props["actions"], json!(["read", "write"]));
        let by = p.edges(Some(E::CreatedBy));
        assert_eq!(by[0].to.key.as_str(), "id:github/octocat");
        assert_eq!(p.scope, "github-deploy-keys:octocat/Hello-World");
    }

    #[test]
    fn installations_and_pat_grants_say_what_they_can_write() {
        let inst = r#"{"total_count": 1, "installations": [{"id": 25381, "account": {"login": "acme", "id": 1},
            "repository_selection": "all", "app_id": 1, "app_slug": "deploy-bot", "target_type": "Organization",
            "permissions": {"contents": "write", "metadata": "read", "secrets": "write", "administration": "write"},
            "events": ["push"], "created_at": "2017-07-08T16:18:44-04:00", "updated_at": "2017-07-08T16:18:44-04:00",
            "suspended_at": null}]}"#;
        let p = run(
            parse_installations,
            "github/orgs/acme/installations.json",
            inst,
        );
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let n = p.nodes();
        assert_eq!(n[0].kind, "github_app_installation");
        assert_eq!(n[0].props["admin"], json!(true));
        assert_eq!(n[0].props["created"], json!("2017-07-08T20:18:44Z"));
        let e = p.edges(Some(E::CanAccess));
        assert_eq!(e[0].to.key.as_str(), "id:github-org/acme");
        assert_eq!(e[0].props["reads_secrets"], json!(true));

        let grants = r#"[{"id": 25381, "owner": {"login": "octocat", "id": 1, "type": "User"},
            "repository_selection": "all", "repositories_url": "https://api.github.com/organizations/652551/personal-access-token-requests/25381/repositories",
            "permissions": {"organization": {"members": "read"}, "repository": {"metadata": "read", "contents": "write"}},
            "access_granted_at": "2023-05-16T08:47:09.000-07:00", "token_id": 98716, "token_name": "Some Token",
            "token_expired": false, "token_expires_at": null, "token_last_used_at": null}]"#;
        let g = run(
            parse_pat_grants,
            "github/orgs/acme/personal-access-tokens.json",
            grants,
        );
        assert!(g.errors.is_empty(), "{:?}", g.errors);
        let n = g.nodes();
        assert_eq!(n[0].keys[0].as_str(), "id:github-token/98716");
        assert_eq!(n[0].props["never_expires"], json!(true));
        assert_eq!(n[0].props["writes"], json!(["contents"]));
        let own = g.edges(Some(E::OwnedBy));
        assert_eq!(own[0].to.key.as_str(), "id:github/octocat");
        assert_eq!(own[0].to.label, Label::Human);
    }

    #[test]
    fn credential_authorizations_are_typed_and_owned() {
        let body = r#"[{"login": "octocat", "credential_id": 161195, "credential_type": "personal access token",
            "token_last_eight": "71c3fc11", "credential_authorized_at": "2011-01-26T19:06:43Z",
            "credential_accessed_at": "2011-01-26T19:06:43Z", "scopes": ["user", "repo", "admin:org"]},
            {"login": "hubot", "credential_id": 161196, "credential_type": "SSH key", "fingerprint": "jklmnop12345678",
            "credential_authorized_at": "2011-01-26T19:06:43Z", "credential_accessed_at": null}]"#;
        let p = run(
            parse_credential_authorizations,
            "github/orgs/acme/credential-authorizations.json",
            body,
        );
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let n = p.nodes();
        assert_eq!(n[0].kind, "github_classic_pat");
        assert_eq!(n[0].props["admin"], json!(true));
        assert_eq!(n[0].props["never_expires"], json!(true));
        assert!(!n[0].props.values().any(|v| v == &json!("71c3fc11")));
        assert_eq!(n[1].kind, "github_ssh_key");
        assert_eq!(p.edges(Some(E::OwnedBy)).len(), 2);
    }

    #[test]
    fn teams_members_and_saml_identities_join_logins_to_people() {
        let teams = r#"[{"id": 1, "name": "Justice League", "slug": "justice-league", "description": "A great team.",
            "privacy": "closed", "html_url": "https://github.com/orgs/github/teams/justice-league", "parent": null},
            {"id": 2, "name": "Juniors", "slug": "juniors", "html_url": "https://github.com/orgs/github/teams/juniors",
             "parent": {"id": 1, "slug": "justice-league"}}]"#;
        let t = run(parse_teams, "teams.json", teams);
        assert!(t.errors.is_empty(), "{:?}", t.errors);
        assert_eq!(
            t.nodes()[0].keys[0].as_str(),
            "id:github-team/github/justice-league"
        );
        assert_eq!(t.edges(Some(E::MemberOf)).len(), 1);

        let members = r#"[{"login": "octocat", "id": 1, "type": "User", "site_admin": false},
            {"login": "deploy-bot", "id": 2, "type": "Bot", "site_admin": false}]"#;
        let m = run(
            parse_members,
            "github/orgs/github/teams/justice-league/members.json",
            members,
        );
        let n = m.nodes();
        assert_eq!(n[0].label, Label::Human);
        assert_eq!(n[1].label, Label::Principal);
        let e = m.edges(Some(E::MemberOf));
        assert_eq!(e[0].to.key.as_str(), "id:github-team/github/justice-league");
        assert_eq!(m.scope, "github-members:github/teams/justice-league");

        let saml = r#"{"data": {"organization": {"samlIdentityProvider": {"externalIdentities": {"edges": [
            {"node": {"guid": "a", "samlIdentity": {"nameId": "Mona.Lisa@Example.com"}, "user": {"login": "octocat"}}},
            {"node": {"guid": "b", "samlIdentity": {"nameId": "new@example.com"}, "user": null}}]}}}}}"#;
        let s = run(
            parse_saml_identities,
            "github/orgs/github/saml-identities.json",
            saml,
        );
        assert!(s.errors.is_empty(), "{:?}", s.errors);
        let n = s.nodes();
        assert_eq!(n.len(), 1);
        let keys: Vec<&str> = n[0].keys.iter().map(|k| k.as_str()).collect();
        assert_eq!(keys, ["email:mona.lisa@example.com", "id:github/octocat"]);
    }

    #[test]
    fn malformed_bodies_are_located() {
        let p = run(
            parse_installations,
            "github/orgs/acme/installations.json",
            r#"{"total_count": 1, "installations": {"id": 1}}"#,
        );
        assert_eq!(
            p.errors[0].location,
            Location::Pointer("/installations".into())
        );
        let p = run(
            parse_pat_grants,
            "github/orgs/acme/pats.json",
            "[{\"id\": 1,\n",
        );
        assert!(matches!(p.errors[0].location, Location::LineCol(2, _)));
    }
}
