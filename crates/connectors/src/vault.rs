//! HashiCorp Vault, as `vault … -format=json` prints it. Vault's answers do
//! not say what path they are about, so each is saved under the API path it
//! came from (below a `vault/` folder):
//!
//! | file | command | becomes |
//! |---|---|---|
//! | `<mount>/metadata/<path>.json` | `vault kv metadata get -format=json <mount>/<path>` | a `Location` `vault://<mount>/<path>` (versions, dates, custom metadata; an `owner` e-mail is an `OWNED_BY` edge) |
//! | `sys/policy/<name>.json` | `vault read -format=json sys/policy/<name>` (or `sys/policies/acl/<name>`) | a `Resource` `id:vault-policy/<name>` with its path rules (the HCL is parsed), `CAN_ACCESS` to every literal KV path it grants |
//! | `auth/<mount>/role/<name>.json` | `vault read -format=json auth/<mount>/role/<name>` (AppRole, Kubernetes, JWT/OIDC, AWS) | a `Principal` `id:vault-role/<mount>/<name>` that `HAS_POLICY` its token policies; who may log in as it (a Kubernetes service account, an AWS IAM role) `CAN_ASSUME` it |
//! | `auth/<mount>/role/<name>/secret-id.json` | `vault list -format=json auth/<mount>/role/<name>/secret-id` | a `Credential` `id:vault-secret-id/<accessor>` per AppRole secret-id, `AUTHENTICATES_AS` the role |
//! | `auth/<mount>/role/<name>/secret-id/<accessor>.json` | `vault write -format=json auth/<mount>/role/<name>/secret-id-accessor/lookup secret_id_accessor=…` | the same credential with its creation, expiry and metadata |
//!
//! A Kubernetes auth mount says which cluster it trusts only in its config
//! (`kubernetes_host`); custody takes the cluster from the mount's name
//! (`kubernetes-<cluster>` or `kubernetes/<cluster>`), as for `kubernetes/<cluster>/` exports.
//! Secret values are never read: `kv metadata` carries none.

use crate::util::{parse_json, record};
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
    crate::util::node_at("vault", label, kind, keys, Some(name), props, at)
}

use crate::util::edge_between as edge;

pub fn role_key(mount: &str, name: &str) -> Key {
    Key::other("vault-role", &format!("{mount}/{name}"))
}

pub fn policy_key(name: &str) -> Key {
    Key::other("vault-policy", name)
}

pub fn secret_uri(mount: &str, path: &str) -> String {
    format!("vault://{mount}/{path}")
}

/// What a saved Vault answer is about, from its path.
#[derive(Debug, PartialEq)]
pub enum VaultPath {
    KvMetadata { mount: String, path: String },
    Policy(String),
    Role { mount: String, name: String },
    SecretIds { mount: String, role: String },
    SecretId { mount: String, role: String },
}

fn segments(path: &str) -> Vec<&str> {
    let parts: Vec<&str> = path.split(['/', '\\']).filter(|p| !p.is_empty()).collect();
    let start = parts
        .iter()
        .rposition(|p| *p == "vault")
        .map_or(0, |i| i + 1);
    let mut out: Vec<&str> = parts[start..].to_vec();
    if let Some(last) = out.last_mut() {
        *last = last.strip_suffix(".json").unwrap_or(last);
    }
    out
}

pub fn classify(path: &str) -> Option<VaultPath> {
    let s = segments(path);
    if let Some(i) = s.iter().position(|p| *p == "auth") {
        let rest = &s[i + 1..];
        let r = rest.iter().position(|p| *p == "role")?;
        let mount = rest[..r].join("/");
        let after = &rest[r + 1..];
        let name = after.first()?.to_string();
        if mount.is_empty() {
            return None;
        }
        return Some(match after.get(1) {
            Some(&"secret-id") if after.len() >= 3 => VaultPath::SecretId { mount, role: name },
            Some(&"secret-id") => VaultPath::SecretIds { mount, role: name },
            Some(_) => return None,
            None => VaultPath::Role { mount, name },
        });
    }
    if let Some(i) = s.iter().position(|p| *p == "sys") {
        let rest = &s[i + 1..];
        let name = match rest {
            ["policy", name] | ["policies", "acl", name] => name,
            _ => return None,
        };
        return Some(VaultPath::Policy(name.to_string()));
    }
    let m = s.iter().position(|p| *p == "metadata")?;
    if m == 0 || m + 1 >= s.len() {
        return None;
    }
    Some(VaultPath::KvMetadata {
        mount: s[..m].join("/"),
        path: s[m + 1..].join("/"),
    })
}

fn locate_error(connector: &str, path: &str) -> InputError {
    InputError::new(
        connector,
        path,
        Location::File,
        "cannot tell what this Vault answer is about: save it under its API path \
         (`vault/<mount>/metadata/<path>.json`, `vault/sys/policy/<name>.json`, \
         `vault/auth/<mount>/role/<name>.json`, `vault/auth/<mount>/role/<name>/secret-id.json`)",
    )
}

/// The `data` object of a `vault read -format=json` answer.
fn data<'v>(
    connector: &str,
    path: &str,
    doc: &'v Value,
) -> Result<&'v Map<String, Value>, InputError> {
    doc.get("data").and_then(Value::as_object).ok_or_else(|| {
        InputError::new(
            connector,
            path,
            Location::Pointer("/data".into()),
            "expected the `data` object of `vault read -format=json`",
        )
    })
}

fn put_time(props: &mut Map<String, Value>, key: &str, v: Option<&Value>) {
    // Vault writes `0001-01-01T00:00:00Z` for "never".
    if let Some(t) = v
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty() && !t.starts_with("0001-"))
        .and_then(time::normalise)
    {
        props.insert(key.into(), json!(t));
    }
}

/// Parses any of the Vault answers above; which one comes from the path.
pub fn parse(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "vault";
    let mut parsed = Parsed::default();
    let Some(what) = classify(file.path) else {
        parsed.errors.push(locate_error(CONNECTOR, file.path));
        return parsed;
    };
    let doc = match parse_json(CONNECTOR, file.path, file.bytes) {
        Ok(d) => d,
        Err(e) => {
            parsed.errors.push(e);
            return parsed;
        }
    };
    match &what {
        VaultPath::KvMetadata { mount, path } => kv_metadata(file, &doc, mount, path, &mut parsed),
        VaultPath::Policy(name) => policy(file, &doc, name, &mut parsed),
        VaultPath::Role { mount, name } => role(file, &doc, mount, name, &mut parsed),
        VaultPath::SecretIds { mount, role } => secret_ids(file, &doc, mount, role, &mut parsed),
        VaultPath::SecretId { mount, role } => secret_id(file, &doc, mount, role, &mut parsed),
    }
    parsed.scope = format!("vault:{what:?}");
    parsed
}

fn kv_metadata(file: &SourceFile<'_>, doc: &Value, mount: &str, path: &str, parsed: &mut Parsed) {
    const CONNECTOR: &str = "vault-kv-metadata";
    let d = match data(CONNECTOR, file.path, doc) {
        Ok(d) => d,
        Err(e) => return parsed.errors.push(e),
    };
    parsed.records += 1;
    let uri = secret_uri(mount, path);
    let mut props = Map::new();
    props.insert("mount".into(), json!(mount));
    props.insert("path".into(), json!(path));
    put_time(&mut props, "created", d.get("created_time"));
    put_time(&mut props, "updated", d.get("updated_time"));
    if let Some(v) = d.get("current_version").and_then(Value::as_u64) {
        props.insert("current_version".into(), json!(v));
    }
    if let Some(v) = d.get("versions").and_then(Value::as_object) {
        let live = v
            .values()
            .filter(|x| {
                x.get("destroyed") != Some(&json!(true))
                    && x.get("deletion_time")
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
            })
            .count();
        props.insert("versions".into(), json!(v.len()));
        props.insert("live_versions".into(), json!(live));
    }
    let mut owner_email = None;
    if let Some(m) = d.get("custom_metadata").and_then(Value::as_object) {
        props.insert("custom_metadata".into(), Value::Object(m.clone()));
        for (k, v) in m {
            let Some(v) = v.as_str().map(str::trim).filter(|v| !v.is_empty()) else {
                continue;
            };
            match k.to_ascii_lowercase().as_str() {
                "owner" | "owner_email" | "created_by" | "contact" if v.contains('@') => {
                    owner_email = owner_email.or(Some((k.clone(), v.to_string())));
                }
                "team" | "owner_team" | "owner" => {
                    props.insert("team".into(), json!(v));
                }
                _ => {}
            }
        }
    }
    parsed.facts.push(node(
        Label::Location,
        "vault_kv_secret",
        vec![Key::uri(&uri)],
        &format!("{mount}/{path}"),
        props,
        "",
    ));
    if let Some((k, email)) = owner_email {
        parsed.facts.push(edge(
            EdgeKind::OwnedBy,
            (Label::Location, Key::uri(&uri)),
            (Label::Human, Key::email(&email)),
            json!({"evidence": format!("Vault KV custom metadata `{k}`"), "method": "vault-metadata"}),
            &format!("/data/custom_metadata/{}", Location::escape_token(&k)),
        ));
    }
}

/// One `path "…" { capabilities = [...] }` block of a policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub path: String,
    pub capabilities: Vec<String>,
    /// Line of the block in the HCL.
    pub line: u64,
}

/// Reads the `path` blocks of a Vault ACL policy (HCL). Other attributes
/// (`allowed_parameters`, `min_wrapping_ttl`…) are skipped; an error gives
/// the line.
pub fn parse_policy_hcl(text: &str) -> Result<Vec<Rule>, (u64, String)> {
    #[derive(Debug, PartialEq)]
    enum Tok {
        Str(String),
        Word(String),
        Punct(char),
    }
    let mut toks: Vec<(Tok, u64)> = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1u64;
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            c if c.is_whitespace() => {}
            '#' => {
                while chars.peek().is_some_and(|&c| c != '\n') {
                    chars.next();
                }
            }
            '/' if chars.peek() == Some(&'/') => {
                while chars.peek().is_some_and(|&c| c != '\n') {
                    chars.next();
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                loop {
                    match chars.next() {
                        Some('/') if prev == '*' => break,
                        Some(c) => {
                            if c == '\n' {
                                line += 1;
                            }
                            prev = c;
                        }
                        None => return Err((line, "unterminated comment".into())),
                    }
                }
            }
            '"' => {
                let start = line;
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => {
                            if let Some(c) = chars.next() {
                                s.push(c);
                            }
                        }
                        Some('"') => break,
                        Some('\n') | None => return Err((start, "unterminated string".into())),
                        Some(c) => s.push(c),
                    }
                }
                toks.push((Tok::Str(s), start));
            }
            '{' | '}' | '[' | ']' | '=' | ',' | ':' => toks.push((Tok::Punct(c), line)),
            c if c.is_alphanumeric() || c == '_' || c == '-' || c == '.' => {
                let mut w = String::from(c);
                while chars
                    .peek()
                    .is_some_and(|&c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.')
                {
                    w.extend(chars.next());
                }
                toks.push((Tok::Word(w), line));
            }
            other => return Err((line, format!("unexpected character `{other}`"))),
        }
    }
    let mut rules = Vec::new();
    let mut i = 0;
    let at = |i: usize| toks.get(i).map_or(line, |t| t.1);
    while i < toks.len() {
        let (Tok::Word(w), l) = &toks[i] else {
            return Err((at(i), "expected a `path \"…\" { … }` block".into()));
        };
        if w != "path" {
            // The word is not quoted back: it may be anything, a secret too.
            return Err((*l, "expected a `path \"…\" { … }` block".into()));
        }
        let Some((Tok::Str(p), _)) = toks.get(i + 1) else {
            return Err((*l, "expected the quoted path after `path`".into()));
        };
        if toks.get(i + 2).map(|t| &t.0) != Some(&Tok::Punct('{')) {
            return Err((*l, "expected `{` after the path".into()));
        }
        let mut rule = Rule {
            path: p.clone(),
            capabilities: Vec::new(),
            line: *l,
        };
        i += 3;
        let mut depth = 1;
        while depth > 0 {
            match toks.get(i) {
                None => return Err((*l, "the block is not closed".into())),
                Some((Tok::Punct('{' | '['), _)) => depth += 1,
                Some((Tok::Punct('}' | ']'), _)) => depth -= 1,
                Some((Tok::Word(w), _)) if depth == 1 && w == "capabilities" => {
                    let mut j = i + 1;
                    if toks.get(j).map(|t| &t.0) == Some(&Tok::Punct('=')) {
                        j += 1;
                    }
                    if toks.get(j).map(|t| &t.0) != Some(&Tok::Punct('[')) {
                        return Err((at(i), "expected `capabilities = [ … ]`".into()));
                    }
                    j += 1;
                    while let Some((t, _)) = toks.get(j) {
                        match t {
                            Tok::Str(c) => rule.capabilities.push(c.clone()),
                            Tok::Punct(',') => {}
                            Tok::Punct(']') => break,
                            _ => return Err((at(j), "expected a quoted capability".into())),
                        }
                        j += 1;
                    }
                    i = j;
                }
                _ => {}
            }
            i += 1;
        }
        rules.push(rule);
    }
    Ok(rules)
}

/// Whether a policy path (`secret/data/app/*`, `secret/data/+/db`) covers a
/// request path: `*` at the end matches any suffix, `+` one segment.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let (pat, glob) = match pattern.strip_suffix('*') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let ps: Vec<&str> = pat.split('/').collect();
    let xs: Vec<&str> = path.split('/').collect();
    let seg = |p: &str, x: &str| p == "+" || p == x;
    if !glob {
        return ps.len() == xs.len() && ps.iter().zip(&xs).all(|(p, x)| seg(p, x));
    }
    let last = ps.len() - 1;
    xs.len() >= ps.len()
        && ps[..last].iter().zip(&xs).all(|(p, x)| seg(p, x))
        && (ps[last] == "+" || xs[last].starts_with(ps[last]))
}

/// The KV v2 location a policy path names, if it names one literally
/// (`secret/data/app/db` → `vault://secret/app/db`).
fn literal_kv(path: &str) -> Option<String> {
    if path.contains(['*', '+']) {
        return None;
    }
    let (mount, rest) = path.split_once("/data/")?;
    (!mount.is_empty() && !rest.is_empty()).then(|| secret_uri(mount, rest))
}

fn policy(file: &SourceFile<'_>, doc: &Value, name: &str, parsed: &mut Parsed) {
    const CONNECTOR: &str = "vault-policy";
    let d = match data(CONNECTOR, file.path, doc) {
        Ok(d) => d,
        Err(e) => return parsed.errors.push(e),
    };
    parsed.records += 1;
    let name = d.get("name").and_then(Value::as_str).unwrap_or(name);
    let (field, text) = match (d.get("policy"), d.get("rules")) {
        (Some(Value::String(t)), _) => ("policy", t),
        (_, Some(Value::String(t))) => ("rules", t),
        _ => {
            return parsed.errors.push(InputError::new(
                CONNECTOR,
                file.path,
                Location::Pointer("/data/policy".into()),
                "expected the policy's HCL in `policy` (or `rules`)",
            ))
        }
    };
    let rules = match parse_policy_hcl(text) {
        Ok(r) => r,
        Err((line, why)) => {
            return parsed.errors.push(InputError::new(
                CONNECTOR,
                file.path,
                Location::Pointer(format!("/data/{field}")),
                format!("line {line} of the policy: {why}"),
            ))
        }
    };
    let key = policy_key(name);
    let reads = |r: &Rule| {
        r.capabilities
            .iter()
            .any(|c| c == "read" || c == "sudo" || c == "root")
            && !r.capabilities.iter().any(|c| c == "deny")
    };
    let mut props = Map::new();
    props.insert(
        "rules".into(),
        json!(rules
            .iter()
            .map(|r| json!({"path": r.path, "capabilities": r.capabilities}))
            .collect::<Vec<_>>()),
    );
    let admin = rules.iter().any(|r| {
        (r.path == "*" || r.path == "sys/*") && r.capabilities.iter().any(|c| c == "sudo")
    });
    if admin {
        props.insert("admin".into(), json!(true));
    }
    parsed.facts.push(node(
        Label::Resource,
        "vault_policy",
        vec![key.clone()],
        name,
        props,
        "/data",
    ));
    for r in rules.iter().filter(|r| reads(r)) {
        if let Some(uri) = literal_kv(&r.path) {
            parsed.facts.push(edge(
                EdgeKind::CanAccess,
                (Label::Resource, key.clone()),
                (Label::Location, Key::uri(&uri)),
                json!({"capabilities": r.capabilities, "policy_line": r.line}),
                &format!("/data/{field}"),
            ));
        }
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) if !s.is_empty() => {
            s.split(',').map(|s| s.trim().to_string()).collect()
        }
        _ => Vec::new(),
    }
}

/// The cluster a Kubernetes auth mount stands for, from its name.
fn cluster_of_mount(mount: &str) -> Option<&str> {
    mount
        .strip_prefix("kubernetes-")
        .or_else(|| mount.strip_prefix("k8s-"))
        .or_else(|| mount.strip_prefix("kubernetes/"))
        .filter(|c| !c.is_empty() && !c.contains('/'))
}

fn role(file: &SourceFile<'_>, doc: &Value, mount: &str, name: &str, parsed: &mut Parsed) {
    const CONNECTOR: &str = "vault-auth-role";
    let d = match data(CONNECTOR, file.path, doc) {
        Ok(d) => d,
        Err(e) => return parsed.errors.push(e),
    };
    parsed.records += 1;
    let key = role_key(mount, name);
    let method = if d.contains_key("bound_service_account_names") {
        "kubernetes"
    } else if d.contains_key("bound_iam_principal_arn") || d.contains_key("auth_type") {
        "aws"
    } else if d.contains_key("user_claim")
        || d.contains_key("bound_claims")
        || d.contains_key("role_type")
    {
        "jwt"
    } else if d.contains_key("bind_secret_id") || d.contains_key("secret_id_ttl") {
        "approle"
    } else {
        "unknown"
    };
    let mut policies = strings(d.get("token_policies"));
    for p in strings(d.get("policies")) {
        if !policies.contains(&p) {
            policies.push(p);
        }
    }
    let mut props = Map::new();
    props.insert("mount".into(), json!(mount));
    props.insert("auth_method".into(), json!(method));
    props.insert("policies".into(), json!(policies));
    for k in [
        "token_ttl",
        "token_max_ttl",
        "secret_id_ttl",
        "secret_id_num_uses",
        "bind_secret_id",
        "secret_id_bound_cidrs",
        "token_bound_cidrs",
        "bound_service_account_names",
        "bound_service_account_namespaces",
        "bound_iam_principal_arn",
        "bound_audiences",
        "bound_claims",
        "bound_subject",
        "user_claim",
    ] {
        if let Some(v) = d.get(k).filter(|v| !v.is_null()) {
            props.insert(k.into(), v.clone());
        }
    }
    // A secret-id that never expires and binds to no network is a static credential.
    if method == "approle"
        && d.get("secret_id_ttl").and_then(Value::as_u64) == Some(0)
        && strings(d.get("secret_id_bound_cidrs")).is_empty()
    {
        props.insert("static_secret_id".into(), json!(true));
    }
    parsed.facts.push(node(
        Label::Principal,
        "vault_role",
        vec![key.clone()],
        &format!("{mount}/{name}"),
        props,
        "/data",
    ));
    for p in &policies {
        if p == "default" {
            continue;
        }
        parsed.facts.push(edge(
            EdgeKind::HasPolicy,
            (Label::Principal, key.clone()),
            (Label::Resource, policy_key(p)),
            Value::Null,
            "/data/token_policies",
        ));
    }
    match method {
        "kubernetes" => {
            let Some(cluster) = cluster_of_mount(mount) else {
                return;
            };
            let names = strings(d.get("bound_service_account_names"));
            let namespaces = strings(d.get("bound_service_account_namespaces"));
            for ns in namespaces.iter().filter(|n| !n.contains('*')) {
                for sa in names.iter().filter(|n| !n.contains('*')) {
                    parsed.facts.push(edge(
                        EdgeKind::CanAssume,
                        (Label::Principal, Key::k8s(cluster, ns, sa)),
                        (Label::Principal, key.clone()),
                        json!({"via": "vault-kubernetes-auth"}),
                        "/data/bound_service_account_names",
                    ));
                }
            }
        }
        "aws" => {
            for arn in strings(d.get("bound_iam_principal_arn")) {
                if arn.contains('*') {
                    continue;
                }
                parsed.facts.push(edge(
                    EdgeKind::CanAssume,
                    (Label::Principal, Key::arn(&arn)),
                    (Label::Principal, key.clone()),
                    json!({"via": "vault-aws-auth"}),
                    "/data/bound_iam_principal_arn",
                ));
            }
        }
        _ => {}
    }
}

fn secret_id_node(
    mount: &str,
    role: &str,
    accessor: &str,
    props: Map<String, Value>,
    at: &str,
    parsed: &mut Parsed,
) {
    let cred = Key::other("vault-secret-id", accessor);
    let mut props = props;
    props.insert("role".into(), json!(format!("{mount}/{role}")));
    props.insert("accessor".into(), json!(accessor));
    props.entry("status").or_insert(json!("Active"));
    parsed.facts.push(node(
        Label::Credential,
        "vault_approle_secret_id",
        vec![cred.clone()],
        &format!(
            "{role} secret-id {}",
            accessor.chars().take(8).collect::<String>()
        ),
        props,
        at,
    ));
    parsed.facts.push(edge(
        EdgeKind::AuthenticatesAs,
        (Label::Credential, cred),
        (Label::Principal, role_key(mount, role)),
        Value::Null,
        at,
    ));
}

fn secret_ids(file: &SourceFile<'_>, doc: &Value, mount: &str, role: &str, parsed: &mut Parsed) {
    const CONNECTOR: &str = "vault-approle-secret-ids";
    // `vault list -format=json` prints the keys as an array; the raw API nests them.
    let (items, base) = match (doc, doc.pointer("/data/keys")) {
        (Value::Array(a), _) => (a, String::new()),
        (_, Some(Value::Array(a))) => (a, "/data/keys".to_string()),
        _ => {
            return parsed.errors.push(InputError::new(
                CONNECTOR,
                file.path,
                Location::Pointer(String::new()),
                "expected the list of secret-id accessors",
            ))
        }
    };
    for (i, v) in items.iter().enumerate() {
        parsed.records += 1;
        let at = format!("{base}/{i}");
        match v.as_str().filter(|s| !s.is_empty()) {
            Some(acc) => secret_id_node(mount, role, acc, Map::new(), &at, parsed),
            None => parsed.errors.push(InputError::new(
                CONNECTOR,
                file.path,
                Location::Pointer(at),
                "expected an accessor string",
            )),
        }
    }
}

#[derive(Deserialize)]
struct SecretIdLookup {
    secret_id_accessor: String,
    #[serde(default)]
    creation_time: Option<String>,
    #[serde(default)]
    expiration_time: Option<String>,
    #[serde(default)]
    last_updated_time: Option<String>,
    #[serde(default)]
    metadata: Map<String, Value>,
    #[serde(default)]
    cidr_list: Option<Vec<String>>,
    #[serde(default)]
    secret_id_num_uses: Option<u64>,
}

fn secret_id(file: &SourceFile<'_>, doc: &Value, mount: &str, role: &str, parsed: &mut Parsed) {
    const CONNECTOR: &str = "vault-approle-secret-id";
    let Some(d) = doc.get("data") else {
        return parsed.errors.push(InputError::new(
            CONNECTOR,
            file.path,
            Location::Pointer("/data".into()),
            "expected the `data` of a secret-id accessor lookup",
        ));
    };
    parsed.records += 1;
    let l: SecretIdLookup = match record(CONNECTOR, file.path, "/data", d) {
        Ok(l) => l,
        Err(e) => return parsed.errors.push(e),
    };
    let mut props = Map::new();
    put_time(
        &mut props,
        "created",
        l.creation_time.as_ref().map(|s| json!(s)).as_ref(),
    );
    put_time(
        &mut props,
        "expires",
        l.expiration_time.as_ref().map(|s| json!(s)).as_ref(),
    );
    put_time(
        &mut props,
        "updated",
        l.last_updated_time.as_ref().map(|s| json!(s)).as_ref(),
    );
    if !props.contains_key("expires") {
        props.insert("never_expires".into(), json!(true));
    }
    if let Some(c) = l.cidr_list.filter(|c| !c.is_empty()) {
        props.insert("cidr_list".into(), json!(c));
    }
    if let Some(n) = l.secret_id_num_uses {
        props.insert("num_uses".into(), json!(n));
    }
    let creator = l
        .metadata
        .iter()
        .find(|(k, v)| {
            matches!(k.as_str(), "created_by" | "owner" | "requested_by")
                && v.as_str().is_some_and(|v| v.contains('@'))
        })
        .and_then(|(k, v)| Some((k.clone(), v.as_str()?.to_string())));
    if !l.metadata.is_empty() {
        props.insert("metadata".into(), Value::Object(l.metadata));
    }
    secret_id_node(mount, role, &l.secret_id_accessor, props, "/data", parsed);
    if let Some((k, email)) = creator {
        parsed.facts.push(edge(
            EdgeKind::CreatedBy,
            (
                Label::Credential,
                Key::other("vault-secret-id", &l.secret_id_accessor),
            ),
            (Label::Human, Key::email(&email)),
            json!({"evidence": format!("secret-id metadata `{k}`"), "method": "metadata-creator"}),
            &format!("/data/metadata/{}", Location::escape_token(&k)),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_model::EdgeKind as E;

    fn run(path: &str, text: &str) -> Parsed {
        parse(&SourceFile {
            path,
            bytes: text.as_bytes(),
        })
    }

    #[test]
    fn paths_say_what_an_answer_is() {
        assert_eq!(
            classify("vault/secret/metadata/payments/db.json"),
            Some(VaultPath::KvMetadata {
                mount: "secret".into(),
                path: "payments/db".into()
            })
        );
        assert_eq!(
            classify("x/vault/sys/policies/acl/app.json"),
            Some(VaultPath::Policy("app".into()))
        );
        assert_eq!(
            classify("vault/auth/kubernetes-prod/role/api.json"),
            Some(VaultPath::Role {
                mount: "kubernetes-prod".into(),
                name: "api".into()
            })
        );
        assert_eq!(
            classify("vault/auth/approle/role/ci/secret-id.json"),
            Some(VaultPath::SecretIds {
                mount: "approle".into(),
                role: "ci".into()
            })
        );
        assert_eq!(
            classify("vault/auth/approle/role/ci/secret-id/abc.json"),
            Some(VaultPath::SecretId {
                mount: "approle".into(),
                role: "ci".into()
            })
        );
        assert_eq!(classify("vault/whatever.json"), None);
    }

    #[test]
    fn kv_metadata_is_a_place_with_its_owner_and_never_a_value() {
        let body = r#"{"request_id": "1", "lease_id": "", "lease_duration": 0, "renewable": false,
          "data": {"cas_required": false, "created_time": "2018-03-22T02:24:06.945319214Z", "current_version": 3,
            "custom_metadata": {"owner": "Alice@Corp.com", "team": "payments"}, "delete_version_after": "0s",
            "max_versions": 0, "oldest_version": 0, "updated_time": "2018-03-22T02:36:43.986212308Z",
            "versions": {"1": {"created_time": "2018-03-22T02:24:06Z", "deletion_time": "", "destroyed": true},
                         "2": {"created_time": "2018-03-22T02:36:33Z", "deletion_time": "", "destroyed": false},
                         "3": {"created_time": "2018-03-22T02:36:43Z", "deletion_time": "", "destroyed": false}}},
          "warnings": null}"#;
        let p = run("vault/secret/metadata/payments/db.json", body);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let n = p.nodes();
        assert_eq!(n[0].keys[0].as_str(), "uri:vault://secret/payments/db");
        assert_eq!(n[0].props["live_versions"], json!(2));
        assert_eq!(n[0].props["team"], json!("payments"));
        let o = p.edges(Some(E::OwnedBy));
        assert_eq!(o[0].to.key.as_str(), "email:alice@corp.com");
    }

    #[test]
    fn policy_hcl_is_read_with_comments_and_nested_parameters() {
        let hcl = r#"
# Read the app's secrets
path "secret/data/payments/db" {
  capabilities = ["read"]
}
/* block
   comment */
path "secret/data/payments/*" {
  capabilities = ["read", "list"]
  allowed_parameters = {
    "ttl" = ["1h", "2h"]
  }
}
path "sys/*" { capabilities = ["deny"] } // trailing
"#;
        let rules = parse_policy_hcl(hcl).unwrap();
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[1].path, "secret/data/payments/*");
        assert_eq!(rules[1].capabilities, ["read", "list"]);
        assert_eq!(rules[1].line, 8);
        let open = parse_policy_hcl("\npath \"a\" {\n capabilities = [\"read\"\n").unwrap_err();
        assert_eq!(open, (2, "the block is not closed".to_string()));
        assert!(parse_policy_hcl("key \"x\" {}").is_err());

        let body = json!({"data": {"name": "payments", "policy": hcl}}).to_string();
        let p = run("vault/sys/policy/payments.json", &body);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let e = p.edges(Some(E::CanAccess));
        assert_eq!(e.len(), 1, "only the literal KV path is an edge");
        assert_eq!(e[0].to.key.as_str(), "uri:vault://secret/payments/db");
        let bad = json!({"data": {"name": "x", "policy": "path \"a\" { capabilities = [read] }"}});
        let p = run("vault/sys/policy/x.json", &bad.to_string());
        assert_eq!(
            p.errors[0].location,
            Location::Pointer("/data/policy".into())
        );
        assert!(
            p.errors[0].message.starts_with("line 1"),
            "{}",
            p.errors[0].message
        );
    }

    #[test]
    fn path_globs_match_like_vault() {
        assert!(path_matches("secret/data/app/*", "secret/data/app/db"));
        assert!(path_matches("secret/data/app/*", "secret/data/app/x/y"));
        assert!(path_matches("secret/data/+/db", "secret/data/app/db"));
        assert!(!path_matches("secret/data/+/db", "secret/data/app/x/db"));
        assert!(path_matches("secret/data/app/db", "secret/data/app/db"));
        assert!(!path_matches("secret/data/app/db", "secret/data/app/db2"));
        assert!(path_matches("secret/data/app*", "secret/data/app2/x"));
        assert!(path_matches("*", "anything/at/all"));
    }

    #[test]
    fn auth_roles_bind_workloads_and_policies() {
        let k8s = r#"{"data": {"bound_service_account_names": ["api"], "bound_service_account_namespaces": ["payments", "*"],
            "token_policies": ["default", "payments"], "token_ttl": 3600}}"#;
        let p = run("vault/auth/kubernetes-prod/role/payments-api.json", k8s);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let n = p.nodes();
        assert_eq!(
            n[0].keys[0].as_str(),
            "id:vault-role/kubernetes-prod/payments-api"
        );
        assert_eq!(n[0].props["auth_method"], json!("kubernetes"));
        let a = p.edges(Some(E::CanAssume));
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].from.key.as_str(), "k8s:prod/payments/api");
        assert_eq!(
            p.edges(Some(E::HasPolicy))[0].to.key.as_str(),
            "id:vault-policy/payments"
        );

        let aws = r#"{"data": {"auth_type": "iam", "bound_iam_principal_arn": ["arn:aws:iam::111122223333:role/etl"], "token_policies": ["etl"]}}"#;
        let p = run("vault/auth/aws/role/etl.json", aws);
        assert_eq!(
            p.edges(Some(E::CanAssume))[0].from.key.as_str(),
            "arn:aws:iam::111122223333:role/etl"
        );

        let approle = r#"{"data": {"bind_secret_id": true, "secret_id_ttl": 0, "secret_id_bound_cidrs": null, "token_policies": ["ci"]}}"#;
        let p = run("vault/auth/approle/role/ci.json", approle);
        assert_eq!(p.nodes()[0].props["static_secret_id"], json!(true));
    }

    #[test]
    fn secret_ids_authenticate_as_their_role() {
        let list =
            r#"["4d7f1b4e-5b6a-8ad1-0d2b-a2c40f5c8a33", "b2d2c8a8-14f3-4a5e-9d0b-1c3f0d9e7a12"]"#;
        let p = run("vault/auth/approle/role/ci/secret-id.json", list);
        assert_eq!(p.nodes().len(), 2);
        let e = p.edges(Some(E::AuthenticatesAs));
        assert_eq!(e[0].to.key.as_str(), "id:vault-role/approle/ci");

        let lookup = r#"{"data": {"cidr_list": [], "creation_time": "2024-01-05T10:00:00.12345Z",
            "expiration_time": "0001-01-01T00:00:00Z", "last_updated_time": "2024-01-05T10:00:00Z",
            "metadata": {"created_by": "dana@corp.com"}, "secret_id_accessor": "4d7f1b4e-5b6a-8ad1-0d2b-a2c40f5c8a33",
            "secret_id_num_uses": 0, "secret_id_ttl": 0, "token_bound_cidrs": []}}"#;
        let p = run(
            "vault/auth/approle/role/ci/secret-id/4d7f1b4e-5b6a-8ad1-0d2b-a2c40f5c8a33.json",
            lookup,
        );
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let n = p.nodes();
        assert_eq!(n[0].props["never_expires"], json!(true));
        assert_eq!(n[0].props["created"], json!("2024-01-05T10:00:00Z"));
        assert_eq!(
            p.edges(Some(E::CreatedBy))[0].to.key.as_str(),
            "email:dana@corp.com"
        );
    }

    #[test]
    fn unplaceable_or_malformed_answers_are_errors() {
        let p = run("vault/x.json", "{}");
        assert!(p.errors[0].message.contains("API path"));
        let p = run("vault/secret/metadata/a.json", "{\"data\": ");
        assert!(matches!(p.errors[0].location, Location::LineCol(1, _)));
        let p = run("vault/auth/approle/role/ci.json", "{\"nodata\": 1}");
        assert_eq!(p.errors[0].location, Location::Pointer("/data".into()));
    }
}
