//! Formats where secrets sit in known places, read as structures rather than
//! grepped: Kubernetes Secrets (`kubectl get secret -o json`, one object or a
//! `List`; `data` values are base64 and invisible to a text scan) and MCP client
//! configurations (Claude Desktop `claude_desktop_config.json`, Cursor
//! `.cursor/mcp.json`, VS Code `.vscode/mcp.json`, which is JSONC: comments and
//! trailing commas allowed). Each value is scanned with the rules; a value under a
//! secret-like name (`*_TOKEN`, `*_API_KEY`, `Authorization`…) that no rule knows
//! is still a secret when it is not a reference (`${input:…}`, `${env:…}`).
//! Terraform state v4, AWS Secrets Manager `get-secret-value` output, Docker
//! `config.json` (base64 `auths`), `.npmrc` and `~/.aws/credentials` are read
//! the same way: each value under its name and section, so an AWS secret pairs
//! with the key id of its own profile or object, not the nearest line.

use crate::Scanner;
use custody_model::secret::Secret;
use serde_json::Value;

/// Where a structured value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A Kubernetes Secret: namespace, name, data key, and for a legacy
    /// service-account token Secret the account it authenticates as.
    K8sSecret {
        namespace: String,
        name: String,
        key: String,
        account: Option<String>,
    },
    /// An MCP server's environment variable or HTTP header.
    McpServer {
        client: &'static str,
        server: String,
        field: String,
    },
    /// A Terraform state resource attribute (state v4 keeps them in plain text).
    Terraform { address: String, attribute: String },
    /// A client configuration file: Docker `config.json` (`auths` entries,
    /// base64 `user:password`), `.npmrc` (`_authToken`, `_auth`, `_password`
    /// per registry) or `~/.aws/credentials` (per profile).
    Config {
        format: &'static str,
        section: String,
        field: String,
    },
    /// A Google Cloud service-account key file (`gcloud iam service-accounts
    /// keys create`): the key's id and the account it authenticates as.
    GcpKey {
        key_id: String,
        client_email: String,
        project_id: String,
    },
    /// An AWS Secrets Manager secret's value (`get-secret-value`): the JSON
    /// key inside `SecretString`, empty for a plain string.
    SecretsManager {
        arn: String,
        name: String,
        key: String,
    },
    /// An Azure Key Vault secret's value (`az keyvault secret show`): the
    /// secret's URI without its version, and the JSON key inside `value`,
    /// empty for a plain string.
    KeyVault {
        uri: String,
        name: String,
        key: String,
    },
}

impl Holder {
    /// What values of one object share: an AWS secret pairs with the key id of
    /// the same Secret, MCP server or Terraform resource.
    pub fn group(&self) -> String {
        match self {
            Holder::K8sSecret {
                namespace, name, ..
            } => format!("k8s:{namespace}/{name}"),
            Holder::McpServer { server, .. } => format!("mcp:{server}"),
            Holder::Terraform { address, .. } => format!("tf:{address}"),
            Holder::SecretsManager { arn, .. } => format!("sm:{arn}"),
            Holder::KeyVault { uri, .. } => format!("kv:{uri}"),
            Holder::GcpKey { key_id, .. } => format!("gcp-key:{key_id}"),
            Holder::Config {
                format, section, ..
            } => format!("{format}:{section}"),
        }
    }
}

/// A secret found in a structured value.
#[derive(Debug)]
pub struct StructuredMatch {
    pub holder: Holder,
    /// The rule that matched, or `named-secret-value` for a secret known by its name.
    pub rule: String,
    /// Index into the scanner's rules, when a rule matched.
    pub rule_index: Option<usize>,
    pub line: u64,
    pub column: u64,
    pub secret: Secret,
    pub identifier: Option<String>,
    /// The account the rule's format names (see [`crate::Match::account`]).
    pub account: Option<String>,
}

/// Names whose values are secrets whatever they look like.
fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    let n = n.trim_start_matches("X-");
    [
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "API_KEY",
        "APIKEY",
        "API-KEY",
        "PRIVATE_KEY",
        "CREDENTIAL",
        "AUTHORIZATION",
        "_PAT",
        "ACCESS_KEY",
    ]
    .iter()
    .any(|w| n.contains(w) || n.ends_with(w.trim_start_matches('_')))
        && !n.ends_with("_ID")
        && !n.ends_with("_FILE")
        && !n.ends_with("_PATH")
        && !n.ends_with("_URL")
}

/// The rule a value's name alone implies: an AWS secret access key under an
/// `AWS_SECRET_ACCESS_KEY`-like name (so it pairs with the key id beside it).
fn named_rule(name: &str, value: &str) -> &'static str {
    let n = name.to_ascii_lowercase().replace(['-', '_'], "");
    if n.contains("secretaccesskey")
        && value.len() == 40
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+')
    {
        "aws-secret-access-key"
    } else {
        "named-secret-value"
    }
}

/// A value that points elsewhere rather than holding the secret.
fn is_reference(v: &str) -> bool {
    let t = v.trim();
    t.is_empty()
        || t.starts_with("${")
        || t.starts_with("$(")
        || t.starts_with("{{")
        || t.starts_with("op://")
        || t.starts_with("vault:")
        || (t.starts_with('$')
            && t[1..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// A value that is a file's path (`GOOGLE_APPLICATION_CREDENTIALS=
/// /Users/ana/keys/sa.json`): it names where a credential is, it is not one.
pub fn is_path(v: &str) -> bool {
    let t = v.trim();
    if t.is_empty() || t.contains(char::is_whitespace) {
        return false;
    }
    let b = t.as_bytes();
    let drive = b.len() > 3
        && b[0].is_ascii_alphabetic()
        && b[1] == b':'
        && (b[2] == b'\\' || b[2] == b'/');
    let homes = [
        "/home/",
        "/Users/",
        "/root/",
        "/etc/",
        "/var/",
        "/opt/",
        "/run/secrets/",
    ];
    let extension = t
        .rsplit(['/', '\\'])
        .next()
        .and_then(|f| f.rsplit_once('.'))
        .is_some_and(|(stem, ext)| {
            !stem.is_empty()
                && [
                    "json", "pem", "key", "p12", "pfx", "crt", "cer", "toml", "yaml", "yml", "cfg",
                    "conf", "ini", "txt", "jks", "kdbx", "netrc", "env",
                ]
                .contains(&ext.to_ascii_lowercase().as_str())
        });
    t.starts_with("~/")
        || t.starts_with("./")
        || t.starts_with("../")
        || t.starts_with("%USERPROFILE%")
        || t.starts_with("$HOME/")
        || drive
        || homes.iter().any(|h| t.starts_with(h))
        || (t.starts_with('/') && t.matches('/').count() >= 2 && extension)
}

/// A value a template leaves for someone to fill in.
fn is_placeholder(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    (l.starts_with('<') && l.ends_with('>'))
        || [
            "changeme",
            "change-me",
            "change_me",
            "replace-me",
            "replace_me",
            "replaceme",
            "your-",
            "your_",
            "example",
            "xxxx",
            "placeholder",
            "dummy",
            "redacted",
            "todo",
        ]
        .iter()
        .any(|w| l.contains(w))
}

/// JSONC to JSON: drops `//` and `/* */` comments and trailing commas, keeping
/// every newline so line numbers still hold.
pub fn strip_jsonc(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut in_str = false;
    while i < b.len() {
        let c = b[i];
        if in_str {
            out.push(c as char);
            if c == b'\\' && i + 1 < b.len() {
                out.push(b[i + 1] as char);
                i += 2;
                continue;
            }
            if c == b'"' {
                in_str = false;
            }
            i += 1;
            continue;
        }
        match c {
            b'"' => {
                in_str = true;
                out.push('"');
                i += 1;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    if b[i] == b'\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
                i += 2;
            }
            b',' => {
                // A comma followed (after blanks and comments) by `}` or `]` is trailing.
                let mut j = i + 1;
                loop {
                    while j < b.len() && b[j].is_ascii_whitespace() {
                        j += 1;
                    }
                    if b.get(j) == Some(&b'/') && b.get(j + 1) == Some(&b'/') {
                        while j < b.len() && b[j] != b'\n' {
                            j += 1;
                        }
                        continue;
                    }
                    if b.get(j) == Some(&b'/') && b.get(j + 1) == Some(&b'*') {
                        j += 2;
                        while j < b.len() && !(b[j] == b'*' && b.get(j + 1) == Some(&b'/')) {
                            j += 1;
                        }
                        j += 2;
                        continue;
                    }
                    break;
                }
                if !matches!(b.get(j), Some(b'}') | Some(b']')) {
                    out.push(',');
                }
                i += 1;
            }
            _ => {
                // Multi-byte UTF-8 passes through byte by byte.
                let len = utf8_len(c);
                out.push_str(std::str::from_utf8(&b[i..(i + len).min(b.len())]).unwrap_or(""));
                i += len;
            }
        }
    }
    out
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Line and column (1-based) of the first occurrence of `needle` in `text` at or
/// after `from`, as JSON would quote it.
fn locate(text: &str, needle: &str) -> (u64, u64) {
    let quoted = serde_json::to_string(needle).unwrap_or_default();
    let inner = quoted.trim_matches('"');
    match text.find(inner) {
        Some(at) => {
            let line = text[..at].bytes().filter(|&b| b == b'\n').count() as u64 + 1;
            let col = at - text[..at].rfind('\n').map(|p| p + 1).unwrap_or(0) + 1;
            (line, col as u64)
        }
        None => (0, 0),
    }
}

/// Shell start-up files whose `export VAR=value` lines set a user's
/// environment: read like `.env` files.
const SHELL_FILES: [&str; 6] = [
    ".bashrc",
    ".zshrc",
    ".profile",
    ".bash_profile",
    ".zshenv",
    ".envrc",
];

/// What `custody scan` reads in a file that is not an inventory export, by
/// its path and first bytes: for `custody ingest` to say which command
/// reads the files it skips. `None`: nothing custody reads specially (scan
/// still looks for secrets in any text).
pub fn scan_reads(path: &str, head: &[u8]) -> Option<&'static str> {
    let p = path.replace('\\', "/");
    let file = p.rsplit('/').next().unwrap_or(&p);
    let text = std::str::from_utf8(head).unwrap_or("");
    if crate::mcp::client_of(&p, text).is_some() {
        return Some("an MCP client configuration");
    }
    if crate::workflow::is_workflow(&p) {
        return Some("a GitHub Actions workflow");
    }
    if crate::iac::is_terraform(&p) {
        return Some("Terraform code");
    }
    if file == ".env" || file.starts_with(".env.") || file.ends_with(".env") {
        return Some("an environment file");
    }
    if file == ".npmrc" || (file == "credentials" && p.contains(".aws/")) {
        return Some("a client credentials file");
    }
    if p.ends_with(".docker/config.json") || p.ends_with(".kube/config") {
        return Some("a client credentials file");
    }
    if text.contains("\"service_account\"") && text.contains("\"private_key\"") {
        return Some("a service-account key file");
    }
    if text.contains("\"SecretString\"") {
        return Some("a Secrets Manager value");
    }
    if is_key_vault_value(text) {
        return Some("a Key Vault secret value");
    }
    None
}

/// Structured secrets in one file, or `None` when the file is not one of these formats.
pub fn scan(scanner: &Scanner, path: &str, bytes: &[u8]) -> Option<Vec<StructuredMatch>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let p = path.replace('\\', "/");
    let file = p.rsplit('/').next().unwrap_or(&p);
    if file == ".npmrc" || file == "npmrc" {
        return Some(npmrc(scanner, text));
    }
    if file == "credentials" && (p.contains(".aws/") || text.contains("aws_access_key_id")) {
        return Some(aws_credentials(scanner, text));
    }
    if file == ".env"
        || file.starts_with(".env.")
        || file.ends_with(".env")
        || SHELL_FILES.contains(&file)
    {
        return Some(dotenv(scanner, text));
    }
    if file.ends_with(".csv")
        && text
            .lines()
            .next()
            .is_some_and(|h| h.contains("Secret access key"))
    {
        return Some(aws_console_csv(scanner, text));
    }
    if p.ends_with(".docker/config.json") || (file == "config.json" && text.contains("\"auths\"")) {
        return docker_config(scanner, text);
    }
    let client = crate::mcp::client_of(path, text);
    if client == Some("codex") {
        return Some(codex(scanner, text));
    }
    let head = text.trim_start();
    if !head.starts_with('{') && !head.starts_with("//") && !head.starts_with("/*") {
        return None;
    }
    if text.contains("\"terraform_version\"") && text.contains("\"resources\"") {
        return terraform(scanner, text);
    }
    if text.contains("\"service_account\"") && text.contains("\"private_key\"") {
        if let Some(found) = gcp_key(text) {
            return Some(found);
        }
    }
    if text.contains("\"SecretString\"") && text.contains("arn:aws:secretsmanager:") {
        return secrets_manager(scanner, text);
    }
    if is_key_vault_value(text) {
        return key_vault(scanner, text);
    }
    let is_k8s = text.contains("\"kind\"") && text.contains("Secret");
    if client.is_none() && !is_k8s {
        return None;
    }
    // Editors' files are JSONC (comments, trailing commas); stripping
    // them from plain JSON changes nothing.
    let json = if client.is_some() {
        strip_jsonc(text)
    } else {
        text.to_string()
    };
    let doc: Value = serde_json::from_str(&json).ok()?;
    let mut out = Vec::new();
    if let Some(client) = client {
        for (_, server, spec) in crate::mcp::json_entries(client, &doc) {
            // Zed's older form keeps `env` inside `command`.
            let nested = spec.get("command").filter(|c| c.is_object());
            for (field, vars) in [
                ("env", spec.get("env")),
                ("env", nested.and_then(|c| c.get("env"))),
                ("headers", spec.get("headers")),
            ] {
                let Some(vars) = vars.and_then(Value::as_object) else {
                    continue;
                };
                for (name, v) in vars {
                    let Some(v) = v.as_str() else { continue };
                    let holder = Holder::McpServer {
                        client,
                        server: server.to_string(),
                        field: format!("{field}.{name}"),
                    };
                    value(scanner, locate(text, v), name, v, holder, &mut out);
                }
            }
        }
        return Some(out);
    }
    let items: Vec<&Value> = match doc.get("items").and_then(Value::as_array) {
        Some(items) => items.iter().collect(),
        None => vec![&doc],
    };
    for item in items {
        if item.get("kind").and_then(Value::as_str) != Some("Secret") {
            continue;
        }
        let meta = item.get("metadata");
        let name = meta
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("?");
        let namespace = meta
            .and_then(|m| m.get("namespace"))
            .and_then(Value::as_str)
            .unwrap_or("default");
        let account = (item.get("type").and_then(Value::as_str)
            == Some("kubernetes.io/service-account-token"))
        .then(|| {
            meta.and_then(|m| m.pointer("/annotations/kubernetes.io~1service-account.name"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .flatten();
        let decode = |v: &str| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(v.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
        };
        for (field, encoded) in [("data", true), ("stringData", false)] {
            let Some(data) = item.get(field).and_then(Value::as_object) else {
                continue;
            };
            for (key, v) in data {
                let Some(raw) = v.as_str() else { continue };
                let Some(plain) = (if encoded {
                    decode(raw)
                } else {
                    Some(raw.to_string())
                }) else {
                    continue;
                };
                let holder = Holder::K8sSecret {
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                    key: key.clone(),
                    account: account.clone(),
                };
                value(scanner, locate(text, raw), key, &plain, holder, &mut out);
            }
        }
    }
    Some(out)
}

/// Codex's `config.toml`: each `[mcp_servers.<name>]`'s `env` and
/// `http_headers` values.
fn codex(scanner: &Scanner, text: &str) -> Vec<StructuredMatch> {
    let mut out = Vec::new();
    let Ok(doc) = toml::from_str::<toml::Table>(text) else {
        return out;
    };
    let Some(servers) = doc.get("mcp_servers").and_then(|v| v.as_table()) else {
        return out;
    };
    for (server, spec) in servers {
        for field in ["env", "http_headers"] {
            let Some(vars) = spec.get(field).and_then(|v| v.as_table()) else {
                continue;
            };
            for (name, v) in vars {
                let Some(v) = v.as_str() else { continue };
                let holder = Holder::McpServer {
                    client: "codex",
                    server: server.clone(),
                    field: format!("{field}.{name}"),
                };
                value(scanner, locate(text, v), name, v, holder, &mut out);
            }
        }
    }
    out
}

/// Attributes that hold secret material, by Terraform resource type. Attributes
/// the state marks `sensitive_attributes` count too, for every type.
const TF_SECRETS: &[(&str, &[&str])] = &[
    ("aws_iam_access_key", &["secret", "ses_smtp_password_v4"]),
    ("aws_db_instance", &["password"]),
    ("aws_rds_cluster", &["master_password"]),
    ("google_service_account_key", &["private_key"]),
    ("azuread_application_password", &["value"]),
    ("azuread_service_principal_password", &["value"]),
    (
        "azurerm_storage_account",
        &["primary_access_key", "secondary_access_key"],
    ),
    ("github_actions_secret", &["plaintext_value"]),
    ("github_actions_organization_secret", &["plaintext_value"]),
    ("random_password", &["result"]),
    (
        "tls_private_key",
        &["private_key_pem", "private_key_openssh"],
    ),
];

/// Terraform state v4: every managed resource instance's attributes.
fn terraform(scanner: &Scanner, text: &str) -> Option<Vec<StructuredMatch>> {
    let doc: Value = serde_json::from_str(text).ok()?;
    let mut out = Vec::new();
    for r in doc.get("resources")?.as_array()? {
        if r.get("mode").and_then(Value::as_str) != Some("managed") {
            continue;
        }
        let (Some(ty), Some(name)) = (
            r.get("type").and_then(Value::as_str),
            r.get("name").and_then(Value::as_str),
        ) else {
            continue;
        };
        let module = r
            .get("module")
            .and_then(Value::as_str)
            .map(|m| format!("{m}."))
            .unwrap_or_default();
        let known: &[&str] = TF_SECRETS
            .iter()
            .find(|(t, _)| *t == ty)
            .map(|(_, a)| *a)
            .unwrap_or(&[]);
        for inst in r
            .get("instances")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let index = match inst.get("index_key") {
                Some(Value::String(k)) => format!("[\"{k}\"]"),
                Some(Value::Number(n)) => format!("[{n}]"),
                _ => String::new(),
            };
            let address = format!("{module}{ty}.{name}{index}");
            let Some(attrs) = inst.get("attributes").and_then(Value::as_object) else {
                continue;
            };
            let sensitive: Vec<&str> = inst
                .get("sensitive_attributes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|path| path.as_array()?.first()?.get("value")?.as_str())
                .collect();
            for (attr, v) in attrs {
                let Some(v) = v.as_str().filter(|v| !v.is_empty()) else {
                    continue;
                };
                let holder = Holder::Terraform {
                    address: address.clone(),
                    attribute: attr.clone(),
                };
                let at = locate(text, v);
                if ty == "aws_iam_access_key" && attr == "id" {
                    // The key id names the credential; it is not secret.
                    out.push(StructuredMatch {
                        holder,
                        rule: "aws-access-key-id".into(),
                        rule_index: None,
                        line: at.0,
                        column: at.1,
                        secret: Secret::new(v),
                        identifier: Some(v.to_string()),
                        account: None,
                    });
                } else if known.contains(&attr.as_str()) || sensitive.contains(&attr.as_str()) {
                    let rule = if ty == "aws_iam_access_key" && attr == "secret" {
                        "aws-secret-access-key"
                    } else {
                        "terraform-sensitive-attribute"
                    };
                    out.push(StructuredMatch {
                        holder,
                        rule: rule.into(),
                        rule_index: None,
                        line: at.0,
                        column: at.1,
                        secret: Secret::new(v),
                        identifier: None,
                        account: None,
                    });
                } else {
                    value(scanner, at, "", v, holder, &mut out);
                }
            }
        }
    }
    Some(out)
}

fn decode_b64(v: &str) -> Option<String> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(v.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
}

/// Docker `config.json`: `auths.<registry>.auth` is base64 `user:password`
/// (the password, or token, is the secret); `identitytoken` is a refresh token.
fn docker_config(scanner: &Scanner, text: &str) -> Option<Vec<StructuredMatch>> {
    let doc: Value = serde_json::from_str(text).ok()?;
    let mut out = Vec::new();
    for (registry, entry) in doc.get("auths")?.as_object()? {
        let holder = |field: &str| Holder::Config {
            format: "docker_config",
            section: registry.clone(),
            field: field.to_string(),
        };
        if let Some(auth) = entry.get("auth").and_then(Value::as_str) {
            if let Some((_, password)) = decode_b64(auth).as_deref().and_then(|d| d.split_once(':'))
            {
                value(
                    scanner,
                    locate(text, auth),
                    "password",
                    password,
                    holder("auth"),
                    &mut out,
                );
            }
        }
        for field in ["identitytoken", "registrytoken", "password"] {
            if let Some(v) = entry.get(field).and_then(Value::as_str) {
                value(
                    scanner,
                    locate(text, v),
                    "token",
                    v,
                    holder(field),
                    &mut out,
                );
            }
        }
    }
    Some(out)
}

/// Line-oriented `key = value` files, with the 1-based line and the column of
/// the value; `#` and `;` start comments.
fn assignments(text: &str) -> impl Iterator<Item = (u64, &str, &str, u64)> {
    text.lines().enumerate().filter_map(|(i, line)| {
        let t = line.trim_start();
        if t.starts_with('#') || t.starts_with(';') {
            return None;
        }
        let (k, v) = line.split_once('=')?;
        let v_trim = v.trim();
        let col = line.len() - v.trim_start().len() + 1;
        Some((i as u64 + 1, k.trim(), v_trim.trim_matches('"'), col as u64))
    })
}

/// `.npmrc`: `//registry/:_authToken=…`, `_auth` (base64 `user:password`) and
/// `_password` (base64), per registry; `${NPM_TOKEN}` references are skipped.
fn npmrc(scanner: &Scanner, text: &str) -> Vec<StructuredMatch> {
    let mut out = Vec::new();
    for (line, key, v, column) in assignments(text) {
        let (registry, field) = match key.rsplit_once(':') {
            Some((r, f)) if r.starts_with("//") => (r.trim_end_matches('/'), f),
            _ => ("(default)", key),
        };
        let plain = match field {
            "_authToken" => Some(v.to_string()),
            "_auth" => decode_b64(v).and_then(|d| d.split_once(':').map(|(_, p)| p.to_string())),
            "_password" => decode_b64(v),
            _ => None,
        };
        let Some(plain) = plain else { continue };
        let holder = Holder::Config {
            format: "npmrc",
            section: registry.to_string(),
            field: field.to_string(),
        };
        value(scanner, (line, column), "token", &plain, holder, &mut out);
    }
    out
}

/// `.env` files: `KEY=value` (optionally `export KEY="value"`), each value
/// scanned under its name, so an unquoted `SMTP_PASSWORD=…` is found too.
fn dotenv(scanner: &Scanner, text: &str) -> Vec<StructuredMatch> {
    let mut out = Vec::new();
    for (line, key, v, column) in assignments(text) {
        let key = key.strip_prefix("export ").unwrap_or(key).trim();
        let v = v.trim_matches('\'');
        if key.is_empty() || key.contains(' ') {
            continue;
        }
        let holder = Holder::Config {
            format: "dotenv",
            section: String::new(),
            field: key.to_string(),
        };
        value(scanner, (line, column), key, v, holder, &mut out);
    }
    out
}

/// The IAM console's access key download (`*_accessKeys.csv`, or
/// `credentials.csv` with the console password): one key per row.
fn aws_console_csv(scanner: &Scanner, text: &str) -> Vec<StructuredMatch> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .collect();
    let mut out = Vec::new();
    for (i, row) in lines.enumerate() {
        let line = i as u64 + 2;
        let mut column = 1u64;
        for (name, v) in header.iter().zip(row.split(',')) {
            let field = match *name {
                "Access key ID" => Some("aws_access_key_id"),
                "Secret access key" => Some("aws_secret_access_key"),
                "Password" => Some("password"),
                _ => None,
            };
            if let Some(field) = field {
                let holder = Holder::Config {
                    format: "aws_console_csv",
                    section: format!("row {line}"),
                    field: field.to_string(),
                };
                value(scanner, (line, column), field, v.trim(), holder, &mut out);
            }
            column += v.len() as u64 + 1;
        }
    }
    out
}

/// `~/.aws/credentials`: per `[profile]`, the key id, secret and session token.
fn aws_credentials(scanner: &Scanner, text: &str) -> Vec<StructuredMatch> {
    let mut out = Vec::new();
    let mut profile = "default".to_string();
    let mut starts = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let t = l.trim();
        if t.starts_with('[') && t.ends_with(']') {
            starts.push((i as u64 + 1, t[1..t.len() - 1].trim().to_string()));
        }
    }
    for (line, key, v, column) in assignments(text) {
        if let Some((_, p)) = starts.iter().rev().find(|(l, _)| *l < line) {
            profile.clone_from(p);
        }
        let k = key.to_ascii_lowercase();
        if !matches!(
            k.as_str(),
            "aws_access_key_id" | "aws_secret_access_key" | "aws_session_token"
        ) {
            continue;
        }
        let holder = Holder::Config {
            format: "aws_credentials",
            section: profile.clone(),
            field: k.clone(),
        };
        value(scanner, (line, column), &k, v, holder, &mut out);
    }
    out
}

/// A Google Cloud service-account key file: `private_key` is the secret,
/// `private_key_id` the key's id in IAM, `client_email` its service account.
fn gcp_key(text: &str) -> Option<Vec<StructuredMatch>> {
    let doc: Value = serde_json::from_str(text).ok()?;
    let field = |k: &str| doc.get(k).and_then(Value::as_str);
    if field("type") != Some("service_account") {
        return None;
    }
    let key = field("private_key")?;
    if !key.contains("PRIVATE KEY") {
        return Some(Vec::new());
    }
    let (line, column) = locate(text, key);
    Some(vec![StructuredMatch {
        holder: Holder::GcpKey {
            key_id: field("private_key_id").unwrap_or_default().to_string(),
            client_email: field("client_email").unwrap_or_default().to_string(),
            project_id: field("project_id").unwrap_or_default().to_string(),
        },
        rule: "gcp-service-account-key".into(),
        rule_index: None,
        line,
        column,
        secret: Secret::new(key),
        identifier: None,
        account: None,
    }])
}

/// `aws secretsmanager get-secret-value` output: `SecretString` is a JSON
/// object of named values (each scanned under its name, so an
/// `AWS_SECRET_ACCESS_KEY` pairs with the `AWS_ACCESS_KEY_ID` beside it) or
/// one plain string. Custody reads it to fingerprint the value, never to keep it.
fn secrets_manager(scanner: &Scanner, text: &str) -> Option<Vec<StructuredMatch>> {
    let doc: Value = serde_json::from_str(text).ok()?;
    let arn = doc.get("ARN")?.as_str()?.to_string();
    let name = doc
        .get("Name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let secret = doc.get("SecretString")?.as_str()?;
    Some(vault_value(scanner, text, "SecretString", secret, |key| {
        Holder::SecretsManager {
            arn: arn.clone(),
            name: name.clone(),
            key: key.to_string(),
        }
    }))
}

/// A secret store's value found under `field`: a JSON object of named values
/// (each scanned under its name, so a secret key pairs with the key id
/// beside it) or one plain string, which is a secret by where it is,
/// whatever it looks like. `holder` names the place, given the JSON key
/// (empty for a plain string).
fn vault_value(
    scanner: &Scanner,
    text: &str,
    field: &str,
    secret: &str,
    holder: impl Fn(&str) -> Holder,
) -> Vec<StructuredMatch> {
    let at = locate(text, field);
    let mut out = Vec::new();
    match serde_json::from_str::<Value>(secret) {
        Ok(Value::Object(fields)) => {
            for (key, v) in &fields {
                if let Some(v) = v.as_str() {
                    value(scanner, at, key, v, holder(key), &mut out);
                }
            }
        }
        _ => value(scanner, at, field, secret, holder(""), &mut out),
    }
    out
}

/// `az keyvault secret show` output: an object whose `id` is a Key Vault
/// secret's URI and which carries its `value`.
fn is_key_vault_value(text: &str) -> bool {
    text.trim_start().starts_with('{')
        && text.contains(".vault.azure.net/secrets/")
        && text.contains("\"value\"")
}

/// `az keyvault secret show` output: `value` is read as [`vault_value`]
/// reads it, to fingerprint it, never to keep it.
fn key_vault(scanner: &Scanner, text: &str) -> Option<Vec<StructuredMatch>> {
    let doc: Value = serde_json::from_str(text).ok()?;
    let id = doc.get("id")?.as_str()?;
    let (vault, rest) = id.split_once("/secrets/")?;
    let name = rest.split('/').next().unwrap_or(rest).to_string();
    // The listing's key for the same secret: no version, the vault in lower case.
    let uri = format!(
        "{}/secrets/{name}",
        vault.trim_end_matches('/').to_ascii_lowercase()
    );
    let secret = doc.get("value")?.as_str()?;
    Some(vault_value(scanner, text, "value", secret, |key| {
        Holder::KeyVault {
            uri: uri.clone(),
            name: name.clone(),
            key: key.to_string(),
        }
    }))
}

/// Scans one structured value found at `(line, column)` under `name`.
fn value(
    scanner: &Scanner,
    (line, column): (u64, u64),
    name: &str,
    v: &str,
    holder: Holder,
    out: &mut Vec<StructuredMatch>,
) {
    let mut found = scanner.scan(v.as_bytes());
    if found.is_empty() {
        // Some formats are only told apart by their name (an Okta token is
        // `00` and 40 characters): read the pair as a `.env` line would be,
        // but not as a generic assignment, which the named rule below is.
        found = scanner.scan(format!("{name}={v}").as_bytes());
        found.retain(|m| scanner.rule(m.rule).id != "generic-secret-assignment");
    }
    if found.is_empty() {
        // `Authorization: Bearer <token>` keeps only the token.
        let bare = v.strip_prefix("Bearer ").unwrap_or(v).trim();
        if secret_name(name)
            && !is_reference(bare)
            && !is_placeholder(bare)
            && !is_path(bare)
            && bare.len() >= 8
        {
            out.push(StructuredMatch {
                holder,
                rule: named_rule(name, bare).into(),
                rule_index: None,
                line,
                column,
                secret: Secret::new(bare),
                identifier: None,
                account: None,
            });
        }
        return;
    }
    for m in found {
        out.push(StructuredMatch {
            holder: holder.clone(),
            rule: scanner.rule(m.rule).id.clone(),
            rule_index: Some(m.rule),
            line,
            column,
            secret: m.secret,
            identifier: m.identifier,
            account: m.account,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_to_a_key_file_is_not_a_secret() {
        for p in [
            "/Users/ana/keys/sa.json",
            "~/.config/gcloud/key.json",
            "C:\\Users\\ana\\keys\\sa.json",
            "/run/secrets/db_password",
            "./certs/client.pem",
        ] {
            assert!(is_path(p), "{p}");
        }
        for v in [
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "s3cr3t-value",
            "/abc",
        ] {
            assert!(!is_path(v), "{v}");
        }
        let s = Scanner::builtin();
        let cfg = r#"{"mcpServers": {"bq": {"command": "npx", "env": {"GOOGLE_APPLICATION_CREDENTIALS": "/Users/ana/keys/sa.json"}}}}"#;
        let found = scan(&s, "/Users/ana/.cursor/mcp.json", cfg.as_bytes()).unwrap();
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn jsonc_comments_and_trailing_commas_are_dropped_and_lines_kept() {
        let text = "{\n  // a comment\n  \"servers\": {\"a\": {\"url\": \"http://x//y\",}, /* c\n */},\n}\n";
        let json = strip_jsonc(text);
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["servers"]["a"]["url"], "http://x//y");
        assert_eq!(json.lines().count(), text.lines().count());
    }

    #[test]
    fn mcp_env_and_headers_are_read_for_each_client() {
        let s = Scanner::builtin();
        let token = format!("ghp_{}{}", "CustodyExampleNotARealToken001", "1VcBGt");
        let vscode = format!(
            "{{\n  // VS Code\n  \"inputs\": [],\n  \"servers\": {{\n    \"github\": {{\"type\": \"stdio\", \"command\": \"docker\",\n      \"env\": {{\"GITHUB_PERSONAL_ACCESS_TOKEN\": \"{token}\", \"FROM_INPUT\": \"${{input:pat}}\"}},\n    }},\n    \"remote\": {{\"type\": \"http\", \"url\": \"https://mcp.example/\", \"headers\": {{\"Authorization\": \"Bearer Zq8Yx3Wv6Tt1Rs5Pp0Nn\"}}}}\n  }}\n}}\n"
        );
        let found = scan(&s, "proj/.vscode/mcp.json", vscode.as_bytes()).unwrap();
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].rule, "github-token");
        assert_eq!(found[0].line, 6);
        assert_eq!(found[1].rule, "named-secret-value");
        assert!(
            matches!(&found[1].holder, Holder::McpServer { client: "vscode", field, .. } if field == "headers.Authorization")
        );
        let claude = format!("{{\"mcpServers\": {{\"gh\": {{\"command\": \"npx\", \"env\": {{\"GITHUB_TOKEN\": \"{token}\"}}}}}}}}");
        let found = scan(
            &s,
            "/home/a/Library/Application Support/Claude/claude_desktop_config.json",
            claude.as_bytes(),
        )
        .unwrap();
        assert_eq!(found.len(), 1);
        // A copied or renamed configuration is read by what it holds.
        let copied = scan(&s, "backup/claude-old.json", claude.as_bytes()).unwrap();
        assert_eq!(copied.len(), 1);
        assert!(scan(&s, "package.json", br#"{"name": "x", "env": {"A": "b"}}"#).is_none());
    }

    #[test]
    fn terraform_state_secrets_are_read_by_resource_type() {
        let s = Scanner::builtin();
        let id = format!("AKIA{}", "CUSTODYTFSTATEAA");
        let state = format!(
            "{{\"version\": 4, \"terraform_version\": \"1.6.6\", \"serial\": 3, \"lineage\": \"x\", \"outputs\": {{}}, \"resources\": [\n  {{\"module\": \"module.reporting\", \"mode\": \"managed\", \"type\": \"aws_iam_access_key\", \"name\": \"export\", \"provider\": \"provider[\\\"registry.terraform.io/hashicorp/aws\\\"]\",\n   \"instances\": [{{\"schema_version\": 0, \"attributes\": {{\"id\": \"{id}\", \"user\": \"svc-export\", \"status\": \"Active\",\n     \"secret\": \"Zx9vQ2mL8pR4tY7uW1eA3sD5fG6hJ0kLqWeRtYuI\"}}, \"sensitive_attributes\": []}}]}},\n  {{\"mode\": \"managed\", \"type\": \"aws_db_instance\", \"name\": \"main\", \"instances\": [{{\"attributes\": {{\"identifier\": \"orders\", \"password\": \"k2P!x9Lq7Zr4Vm8T\"}}}}]}},\n  {{\"mode\": \"data\", \"type\": \"aws_caller_identity\", \"name\": \"me\", \"instances\": []}}]}}"
        );
        let found = scan(&s, "infra/terraform.tfstate", state.as_bytes()).unwrap();
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(found[0].identifier.as_deref(), Some(id.as_str()));
        assert!(
            matches!(&found[0].holder, Holder::Terraform { address, .. } if address == "module.reporting.aws_iam_access_key.export")
        );
        assert_eq!(found[1].rule, "aws-secret-access-key");
        assert_eq!(found[0].holder.group(), found[1].holder.group());
        assert_eq!(found[2].rule, "terraform-sensitive-attribute");
    }

    #[test]
    fn key_vault_values_are_read_by_json_key_and_name_the_secret() {
        let s = Scanner::builtin();
        let id = format!("AKIA{}", "QYLPMN5HFIQR7ZTD");
        let secret = format!("Tq8vX2rLm9Pz/K4wNb7Yc1Hd3F{}", "g6Js0Ua5Ie+Wo3");
        let inner = format!(r#"{{"AWS_ACCESS_KEY_ID":"{id}","AWS_SECRET_ACCESS_KEY":"{secret}"}}"#);
        let doc = serde_json::json!({
            "attributes": {"enabled": true}, "contentType": null,
            "id": "https://KV-Pay.vault.azure.net/secrets/aws-deploy/0f1e2d3c4b5a69788796a5b4c3d2e1f0",
            "kid": null, "managed": null, "name": "aws-deploy", "tags": {}, "value": inner
        });
        let text = serde_json::to_string_pretty(&doc).unwrap();
        assert_eq!(
            scan_reads("kv/aws-deploy.json", text.as_bytes()),
            Some("a Key Vault secret value")
        );
        let found = scan(&s, "kv/aws-deploy.json", text.as_bytes()).unwrap();
        assert_eq!(found.len(), 2);
        assert!(found.iter().all(|m| matches!(&m.holder,
            Holder::KeyVault { uri, .. } if uri == "https://kv-pay.vault.azure.net/secrets/aws-deploy")));
        assert_eq!(found[0].holder.group(), found[1].holder.group());
    }

    #[test]
    fn secrets_manager_values_are_read_by_json_key() {
        let s = Scanner::builtin();
        let id = format!("AKIA{}", "QYLPMN5HFIQR7ZTC");
        let secret = format!("Tq8vX2rLm9Pz/K4wNb7Yc1Hd3F{}", "g6Js0Ua5Ie+Wo2");
        let inner = format!(
            r#"{{"AWS_ACCESS_KEY_ID":"{id}","AWS_SECRET_ACCESS_KEY":"{secret}","region":"us-east-1"}}"#
        );
        let doc = serde_json::json!({
            "ARN": "arn:aws:secretsmanager:us-east-1:111122223333:secret:export-Ab12Cd",
            "Name": "export", "VersionId": "v1", "SecretString": inner,
            "VersionStages": ["AWSCURRENT"], "CreatedDate": 1_700_000_000.5
        });
        let text = serde_json::to_string_pretty(&doc).unwrap();
        let found = scan(&s, "export.json", text.as_bytes()).unwrap();
        assert_eq!(found.len(), 2);
        assert!(found
            .iter()
            .any(|m| m.identifier.as_deref() == Some(id.as_str())));
        assert!(found.iter().any(|m| m.rule == "aws-secret-access-key"
            && matches!(&m.holder, Holder::SecretsManager { key, .. } if key == "AWS_SECRET_ACCESS_KEY")));
        assert_eq!(found[0].holder.group(), found[1].holder.group());
        // A plain SecretString is one secret.
        let plain = serde_json::json!({"ARN": "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-x1", "Name": "db", "SecretString": "correct-horse-battery-staple-42"});
        let found = scan(&s, "db.json", plain.to_string().as_bytes()).unwrap();
        assert_eq!(found.len(), 1);
    }

    #[test]
    fn docker_npm_and_aws_client_configs_are_read_per_section() {
        use base64::Engine;
        let b64 = |v: &str| base64::engine::general_purpose::STANDARD.encode(v);
        let s = Scanner::builtin();
        let pw = format!("dckr_pat_{}", "Zq81LmNo4PvWx7Rt2Ys5Ku9Ab3C");
        let docker = format!(
            r#"{{"auths": {{"https://index.docker.io/v1/": {{"auth": "{}"}}, "ghcr.io": {{}}}}, "credsStore": "desktop"}}"#,
            b64(&format!("ci-bot:{pw}"))
        );
        let found = scan(&s, "/home/ci/.docker/config.json", docker.as_bytes()).unwrap();
        assert_eq!(found.len(), 1);
        assert!(
            matches!(&found[0].holder, Holder::Config { format: "docker_config", section, .. } if section == "https://index.docker.io/v1/")
        );

        let tok = format!("npm_{}", "Zq81LmNo4PvWx7Rt2Ys5Ku9Ab3CdE6fGh123");
        let npmrc = format!(
            "registry=https://registry.npmjs.org/
//registry.npmjs.org/:_authToken={tok}
//npm.pkg.github.com/:_authToken=${{GH_TOKEN}}
; comment
//nexus.corp/repository/npm/:_auth={}
",
            b64("deploy:Hx7Lq2Vz9Rt4Wm1P")
        );
        let found = scan(&s, "app/.npmrc", npmrc.as_bytes()).unwrap();
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!((found[0].line, found[0].column), (2, 34));

        let id = format!("AKIA{}", "QYLPMN5HFIQR7ZTC");
        let creds = format!(
            "[default]
aws_access_key_id = {id}

# old

aws_secret_access_key = Tq8vX2rLm9Pz/K4wNb7Yc1Hd3F{}
[ci]
aws_access_key_id=ASIAY34FZKBOKMUTVV7A
",
            "g6Js0Ua5Ie+Wo2"
        );
        let found = scan(&s, "/home/dev/.aws/credentials", creds.as_bytes()).unwrap();
        assert_eq!(found.len(), 3);
        // Secret and id share the profile, however far apart they are.
        assert_eq!(found[0].holder.group(), found[1].holder.group());
        assert_ne!(found[1].holder.group(), found[2].holder.group());
    }

    #[test]
    fn a_gcp_service_account_key_file_names_its_key_and_account() {
        let s = Scanner::builtin();
        let body = format!("MIIEvgIBADANBgkqhkiG9w0BAQEFAASC{}", "BKgwggSkAgEAAoIBAQC7");
        let doc = serde_json::json!({
            "type": "service_account", "project_id": "payments-prod",
            "private_key_id": "3f7c2d9e8b1a4c6d5e0f9a8b7c6d5e4f3a2b1c0d",
            "private_key": format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"),
            "client_email": "exporter@payments-prod.iam.gserviceaccount.com",
            "client_id": "104958371029384756102", "token_uri": "https://oauth2.googleapis.com/token"
        });
        let text = serde_json::to_string_pretty(&doc).unwrap();
        let found = scan(&s, "keys/exporter.json", text.as_bytes()).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rule, "gcp-service-account-key");
        assert!(
            matches!(&found[0].holder, Holder::GcpKey { key_id, client_email, .. }
            if key_id.starts_with("3f7c") && client_email.starts_with("exporter@"))
        );
        assert_eq!(found[0].line, 4);
    }

    #[test]
    fn kubernetes_secret_data_is_decoded() {
        use base64::Engine;
        let s = Scanner::builtin();
        let id = format!("AKIA{}", "CUSTODYKSTESTAAA");
        let b64 = |v: &str| base64::engine::general_purpose::STANDARD.encode(v);
        let list = format!(
            "{{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n {{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {{\"name\": \"aws\", \"namespace\": \"payments\"}}, \"type\": \"Opaque\",\n  \"data\": {{\"AWS_ACCESS_KEY_ID\": \"{}\", \"DB_PASSWORD\": \"{}\", \"region\": \"{}\"}}}}]}}",
            b64(&id),
            b64("k2P!x9Lq7Zr4Vm8T"),
            b64("us-east-1")
        );
        let found = scan(&s, "k8s/secrets.json", list.as_bytes()).unwrap();
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].identifier.as_deref(), Some(id.as_str()));
        assert_eq!(found[0].line, 3);
        assert!(
            matches!(&found[0].holder, Holder::K8sSecret { namespace, name, .. } if namespace == "payments" && name == "aws")
        );
    }

    #[test]
    fn a_value_only_its_name_identifies_is_found_by_that_rule() {
        let s = Scanner::builtin();
        let cfg = "{\"mcpServers\": {\"ops\": {\"command\": \"npx\", \"env\": {\"OKTA_API_TOKEN\": \"00CustodyExampleNotARealOktaTokenCustody00\"}}}}";
        let found = scan(&s, "/home/a/.cursor/mcp.json", cfg.as_bytes()).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rule, "okta-api-token");
    }
}
