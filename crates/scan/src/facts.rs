//! Scan matches as graph facts: each secret becomes a `Credential` (keyed by its
//! keyed fingerprint, and an AWS access key also by its id) `STORED_IN` a
//! `Location` (`file://path#L12`). The same value found anywhere is the same
//! fingerprint, so the same node: one credential, every surface. An AWS secret
//! access key found within a few lines of an access key id is taken to be that
//! key's secret, so the id and the secret's fingerprint name one credential.

use crate::structured::Holder;
use crate::{Match, Scanner};
use custody_model::{
    EdgeFact, EdgeKind, Endpoint, Fact, Fingerprinter, Key, Label, Location, NodeFact, Provenance,
};
use serde_json::{json, Map, Value};

/// How far (in lines) an AWS secret may sit from its access key id.
const PAIR_LINES: u64 = 5;

/// What a find of `rule` is: the node kind its credential gets, who issues
/// it (`aws`, `github`…; `unknown` for a secret known only by its name), and
/// the built-in rule itself (for the properties every find carries). The
/// structured readers' own rules are not in the rules files: they say theirs.
fn about(rule: &str) -> (&'static str, &'static str, Option<&'static crate::Rule>) {
    match rule {
        "gcp-service-account-key" => ("gcp_service_account_key", "gcp", None),
        "github-actions-secret-reference" => ("aws_access_key", "aws", None),
        _ => match crate::rules::Rules::builtin_rule(rule) {
            Some(r) => (r.kind.as_str(), r.provider.as_str(), Some(r)),
            None => ("secret", "unknown", None),
        },
    }
}

/// One finding, as reported (never the value).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Finding {
    pub rule: String,
    pub kind: &'static str,
    /// Who issues it (`aws`, `github`, `slack`…).
    pub provider: &'static str,
    /// The account, org, workspace or host its format names, when it does.
    pub account: Option<String>,
    /// The credential's strongest key: `aws-access-key:AKIA…` or `fp:<hmac>`.
    pub credential: String,
    pub preview: String,
    pub path: String,
    pub line: u64,
    pub column: u64,
    /// Where, in words: `path:line:column`, or the Secret key or MCP server field.
    pub place: String,
    /// The environment variable it is assigned to (a `.env` or shell
    /// start-up file's `VAR=value`): what an MCP server's `${VAR}` reads.
    pub variable: Option<String>,
    /// The `~/.aws/credentials` profile it is in: what `AWS_PROFILE` selects.
    pub profile: Option<String>,
}

/// The location key of a match: `file://<path>#L<line>`.
pub fn location_uri(path: &str, line: u64) -> String {
    format!("file://{path}#L{line}")
}

/// A secret found in a file, by a text rule or in a structure.
#[derive(Debug)]
pub struct Found {
    pub rule: String,
    pub line: u64,
    pub column: u64,
    pub secret: custody_model::secret::Secret,
    pub identifier: Option<String>,
    /// The account, org, workspace or host the format names beside it.
    pub account: Option<String>,
    /// The structure and field that held it; `None` for plain text.
    pub place: Option<Holder>,
    /// Values of one object (a Secret, an MCP server, a Terraform resource): an
    /// AWS secret pairs with the key id of its group before any by distance.
    pub group: Option<String>,
}

impl Found {
    pub fn from_match(scanner: &Scanner, m: Match) -> Found {
        Found {
            rule: scanner.rule(m.rule).id.clone(),
            line: m.line,
            column: m.column,
            secret: m.secret,
            identifier: m.identifier,
            account: m.account,
            place: None,
            group: None,
        }
    }

    pub fn from_structured(m: crate::structured::StructuredMatch) -> Found {
        let group = Some(m.holder.group());
        Found {
            group,
            rule: m.rule,
            line: m.line,
            column: m.column,
            secret: m.secret,
            identifier: m.identifier,
            account: m.account,
            place: Some(m.holder),
        }
    }
}

/// Everything found in one file: structured formats are read as structures,
/// anything else as text.
pub fn scan_file(scanner: &Scanner, path: &str, bytes: &[u8]) -> Vec<Found> {
    if let Some(found) = crate::structured::scan(scanner, path, bytes) {
        return found.into_iter().map(Found::from_structured).collect();
    }
    scanner
        .scan(bytes)
        .into_iter()
        .map(|m| Found::from_match(scanner, m))
        .collect()
}

/// Where scanned bytes came from: a file on disk, or a blob in git history.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// The file's path, or the blob's path inside its commit.
    pub path: &'a str,
    pub git: Option<GitOrigin<'a>>,
}

/// A blob's repository and the commit that introduced it at the path.
#[derive(Debug, Clone, Copy)]
pub struct GitOrigin<'a> {
    pub repo: &'a str,
    pub commit: &'a crate::git::Commit,
    /// Whether the blob is what HEAD holds at this path today.
    pub current: bool,
}

impl<'a> Origin<'a> {
    pub fn file(path: &'a str) -> Origin<'a> {
        Origin { path, git: None }
    }

    /// How a finding names the file: the path, or `repo@commit:path` (12-digit
    /// commit) for history.
    pub fn display(&self) -> String {
        match &self.git {
            None => self.path.to_string(),
            Some(g) => format!(
                "{}@{}:{}",
                g.repo,
                g.commit.id.get(..12).unwrap_or(&g.commit.id),
                self.path
            ),
        }
    }

    /// The location key of a line: `file://path#L3`, or
    /// `git://repo@<commit>/path#L3` for history.
    fn uri(&self, line: u64) -> String {
        match &self.git {
            None => location_uri(self.path, line),
            Some(g) => format!("git://{}@{}/{}#L{line}", g.repo, g.commit.id, self.path),
        }
    }
}

/// Findings and facts for one scanned file or blob.
pub fn facts(fp: &Fingerprinter, origin: &Origin, found: &[Found]) -> (Vec<Finding>, Vec<Fact>) {
    let shown = origin.display();
    let path = shown.as_str();
    // Pair AWS secrets with the nearest access key id above or below them.
    let ids: Vec<(u64, String, Option<&String>)> = found
        .iter()
        .filter_map(|m| Some((m.line, m.identifier.clone()?, m.group.as_ref())))
        .collect();
    let mut findings = Vec::new();
    let mut out = Vec::new();
    for m in found {
        let rule = m.rule.as_str();
        let (kind, provider, spec) = about(rule);
        let fingerprint = Key::fingerprint(&fp.fingerprint(&m.secret));
        let (primary, keys) = if let Some(Holder::GcpKey { key_id, .. }) = m
            .place
            .as_ref()
            .filter(|_| rule == "gcp-service-account-key")
        {
            // Google's key id is the credential's own name, as in GCP IAM.
            let id = Key::other("gcp-sa-key", key_id);
            (id.clone(), vec![id, fingerprint])
        } else if let Some(id) = &m.identifier {
            let id = Key::aws_access_key(id);
            (id.clone(), vec![id])
        } else if rule == "aws-secret-access-key" {
            let same_group = ids
                .iter()
                .filter(|(_, _, g)| g.is_some() && *g == m.group.as_ref())
                .min_by_key(|(line, _, _)| line.abs_diff(m.line));
            let near = same_group.or_else(|| {
                ids.iter()
                    .filter(|(line, _, _)| line.abs_diff(m.line) <= PAIR_LINES)
                    .min_by_key(|(line, _, _)| line.abs_diff(m.line))
            });
            match near {
                Some((_, id, _)) => {
                    let id = Key::aws_access_key(id);
                    (id.clone(), vec![id, fingerprint])
                }
                None => (fingerprint.clone(), vec![fingerprint]),
            }
        } else if let Some(Holder::K8sSecret {
            namespace,
            name,
            key,
            account: Some(_),
        }) = m.place.as_ref()
        {
            // A token Kubernetes minted for an account: named as the
            // `kubernetes-objects` connector names it, so the two are one node.
            if key == "token" {
                let cluster = custody_model::key::k8s_cluster_of(origin.path);
                let id = Key::other("k8s-sa-token", &format!("{cluster}/{namespace}/{name}"));
                (id.clone(), vec![id, fingerprint])
            } else {
                (fingerprint.clone(), vec![fingerprint])
            }
        } else {
            (fingerprint.clone(), vec![fingerprint])
        };
        let preview = m.identifier.clone().unwrap_or_else(|| m.secret.preview());
        // The rule that found it travels on the STORED_IN edge: one node may be
        // found by two rules (an access key id and its secret).
        let mut props = Map::new();
        if m.identifier.is_none() {
            props.insert("secret_preview".into(), json!(preview));
        }
        // What it is for: who issues it, and the account its format names.
        props.insert("provider".into(), json!(provider));
        if let Some(a) = &m.account {
            props.insert("account".into(), json!(a));
        }
        if let Some(r) = spec {
            props.extend(r.props.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let at = Provenance::at(Location::LineCol(m.line, m.column));
        // A service-account key file says which account it authenticates as.
        if let Some(Holder::GcpKey {
            client_email,
            project_id,
            ..
        }) = &m.place
        {
            props.insert("service_account".into(), json!(client_email));
            props.insert("project_id".into(), json!(project_id));
            let sa = Key::email(client_email);
            let mut pp = Map::new();
            pp.insert("project_id".into(), json!(project_id));
            out.push(Fact::Node(NodeFact {
                label: Label::Principal,
                kind: "gcp_service_account".into(),
                system: "gcp".into(),
                keys: vec![sa.clone()],
                name: Some(client_email.clone()),
                props: pp,
                prov: at.clone(),
            }));
            out.push(Fact::Edge(EdgeFact {
                kind: EdgeKind::AuthenticatesAs,
                from: Endpoint::new(Label::Credential, primary.clone()),
                to: Endpoint::new(Label::Principal, sa),
                props: Map::new(),
                prov: at.clone(),
            }));
        }
        out.push(Fact::Node(NodeFact {
            label: Label::Credential,
            kind: kind.into(),
            system: "scan".into(),
            keys,
            name: None,
            props,
            prov: at.clone(),
        }));
        let (uri, location_kind, name, place) = match &m.place {
            // In history, a structure is a file that was committed: the
            // place is the blob's line, whatever the structure says.
            _ if origin.git.is_some() => (
                origin.uri(m.line),
                "git_blob",
                format!("{path}:{}", m.line),
                format!("{path}:{}:{}", m.line, m.column),
            ),
            None => (
                location_uri(path, m.line),
                "file",
                format!("{path}:{}", m.line),
                format!("{path}:{}:{}", m.line, m.column),
            ),
            Some(Holder::K8sSecret {
                namespace,
                name,
                key,
                ..
            }) => (
                format!(
                    "k8s://{}/{namespace}/secrets/{name}#{key}",
                    custody_model::key::k8s_cluster_of(path)
                ),
                "k8s_secret",
                format!("{namespace}/{name}[{key}]"),
                format!(
                    "Kubernetes Secret {namespace}/{name} key {key} ({path}:{})",
                    m.line
                ),
            ),
            Some(Holder::Terraform { address, attribute }) => (
                format!("terraform://{path}#{address}"),
                "terraform_state",
                address.clone(),
                format!("Terraform {address}.{attribute} ({path}:{})", m.line),
            ),
            Some(Holder::SecretsManager { arn, name, key }) => (
                if key.is_empty() {
                    format!("secretsmanager://{arn}")
                } else {
                    format!("secretsmanager://{arn}#{key}")
                },
                "aws_secretsmanager_secret",
                if key.is_empty() {
                    name.clone()
                } else {
                    format!("{name}[{key}]")
                },
                format!("Secrets Manager secret {name} key {key} ({path})"),
            ),
            // The secret itself (as `az keyvault secret list` names it), so the
            // credential joins the Key Vault secret the reach model knows.
            Some(Holder::KeyVault { uri, name, key }) => (
                uri.clone(),
                "azure_key_vault_secret",
                name.clone(),
                format!("Key Vault secret {name} key {key} ({path})"),
            ),
            Some(Holder::Config {
                format,
                section,
                field,
            }) => (
                location_uri(path, m.line),
                *format,
                format!("{path}:{}", m.line),
                format!("{format} [{section}] {field} ({path}:{})", m.line),
            ),
            Some(Holder::GcpKey { client_email, .. }) => (
                location_uri(path, m.line),
                "gcp_key_file",
                format!("{path}:{}", m.line),
                format!("service-account key of {client_email} ({path}:{})", m.line),
            ),
            Some(Holder::McpServer { server, field, .. }) => (
                location_uri(path, m.line),
                "mcp_config",
                format!("{path}:{}", m.line),
                format!("MCP server {server} {field} ({path}:{})", m.line),
            ),
        };
        let mut lp = Map::new();
        lp.insert("path".into(), json!(origin.path));
        lp.insert("line".into(), json!(m.line));
        if let Some(g) = &origin.git {
            lp.insert("repository".into(), json!(g.repo));
            lp.insert("commit".into(), json!(g.commit.id));
            lp.insert("commit_author".into(), json!(g.commit.author_email));
            lp.insert(
                "commit_time".into(),
                json!(custody_model::time::from_epoch(g.commit.time as f64)),
            );
            lp.insert("commit_summary".into(), json!(g.commit.summary));
        }
        if let Some(Holder::SecretsManager { arn, .. }) = &m.place {
            lp.insert("arn".into(), json!(arn));
        }
        // The place's environment from its name and the end of its path
        // (`kubernetes/prod/secrets.json`, `…-staging`), for the
        // environment-isolation rule. Only the last three components: where
        // the scan was started (`/srv/prod-exports/…`) says nothing.
        let tail: Vec<&str> = origin.path.rsplit(['/', '\\']).take(3).collect();
        if let Some(env) = custody_model::environment::of(&[&name, &tail.join("/")]) {
            lp.insert("environment".into(), json!(env));
        }
        out.push(Fact::Node(NodeFact {
            label: Label::Location,
            kind: location_kind.into(),
            system: "scan".into(),
            keys: vec![Key::uri(&uri)],
            name: Some(name),
            props: lp,
            prov: at.clone(),
        }));
        let mut ep: Map<String, Value> = Map::new();
        ep.insert("rule".into(), json!(rule));
        ep.insert("column".into(), json!(m.column));
        if let Some(
            Holder::McpServer { field, .. }
            | Holder::K8sSecret { key: field, .. }
            | Holder::SecretsManager { key: field, .. }
            | Holder::KeyVault { key: field, .. }
            | Holder::Config { field, .. }
            | Holder::Terraform {
                attribute: field, ..
            },
        ) = &m.place
        {
            ep.insert("field".into(), json!(field));
        }

        out.push(Fact::Edge(EdgeFact {
            kind: EdgeKind::StoredIn,
            from: Endpoint::new(Label::Credential, primary.clone()),
            to: Endpoint::new(Label::Location, Key::uri(&uri)),
            props: ep,
            prov: at.clone(),
        }));
        // An MCP server is an agent that holds the credential (a configuration
        // in history is not a running agent).
        if let (Some(Holder::McpServer { client, server, .. }), None) = (&m.place, &origin.git) {
            let agent = Key::uri(&format!("mcp://{path}#{server}"));
            let mut ap = Map::new();
            ap.insert("client".into(), json!(client));
            ap.insert("config".into(), json!(path));
            out.push(Fact::Node(NodeFact {
                label: Label::Agent,
                kind: "mcp_server".into(),
                system: "scan".into(),
                keys: vec![agent.clone()],
                name: Some(server.clone()),
                props: ap,
                prov: at.clone(),
            }));
            out.push(Fact::Edge(EdgeFact {
                kind: EdgeKind::Holds,
                from: Endpoint::new(Label::Agent, agent),
                to: Endpoint::new(Label::Credential, primary.clone()),
                props: Map::new(),
                prov: at,
            }));
        }
        let variable = match &m.place {
            Some(Holder::Config {
                format: "dotenv",
                field,
                ..
            }) => Some(field.clone()),
            _ => None,
        };
        let profile = match &m.place {
            Some(Holder::Config {
                format: "aws_credentials",
                section,
                ..
            }) => Some(section.clone()),
            _ => None,
        };
        findings.push(Finding {
            rule: rule.to_string(),
            kind,
            provider,
            account: m.account.clone(),
            credential: primary.as_str().to_string(),
            preview,
            path: path.to_string(),
            line: m.line,
            column: m.column,
            place,
            variable,
            profile,
        });
    }
    (findings, out)
}

/// Every server of an MCP client configuration as an `Agent`
/// (`mcp://<config>#<server>`, the key a server holding a found secret has),
/// credential or not: its client, transport, program or URL, and the
/// environment variables it reads (`needs_env`) or sets (`sets_env`).
pub fn agents(path: &str, client: &str, servers: &[crate::mcp::Server]) -> Vec<Fact> {
    servers
        .iter()
        .map(|s| {
            let mut p = Map::new();
            p.insert("client".into(), json!(client));
            p.insert("config".into(), json!(path));
            p.insert("transport".into(), json!(s.transport));
            if let Some(c) = &s.command {
                p.insert("command".into(), json!(c));
            }
            if let Some(u) = &s.url {
                p.insert("url".into(), json!(u));
            }
            p.insert("needs_env".into(), json!(s.needs));
            p.insert("sets_env".into(), json!(s.sets));
            if !s.files.is_empty() {
                let files: Map<String, Value> =
                    s.files.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
                p.insert("credential_files".into(), Value::Object(files));
            }
            if let Some(profile) = &s.aws_profile {
                p.insert("aws_profile".into(), json!(profile));
            }
            Fact::Node(NodeFact {
                label: Label::Agent,
                kind: "mcp_server".into(),
                system: "scan".into(),
                keys: vec![Key::uri(&format!("mcp://{path}#{}", s.name))],
                name: Some(s.name.clone()),
                props: p,
                prov: Provenance::at(Location::Pointer(s.pointer.clone())),
            })
        })
        .collect()
}

/// `HOLDS` edges from agents to credentials, each pair once (the first
/// reason found is kept).
#[derive(Default)]
struct HoldsEdges {
    seen: std::collections::BTreeSet<(Key, Key)>,
    edges: Vec<Fact>,
}

impl HoldsEdges {
    /// An edge from `agent` to the credential keyed `credential` (a key as
    /// text), unless that pair has one already.
    fn add(&mut self, agent: &Key, credential: &str, props: Map<String, Value>) {
        let Some(cred) = Key::parse(credential) else {
            return;
        };
        if !self.seen.insert((agent.clone(), cred.clone())) {
            return;
        }
        self.edges.push(Fact::Edge(EdgeFact {
            kind: EdgeKind::Holds,
            from: Endpoint::new(Label::Agent, agent.clone()),
            to: Endpoint::new(Label::Credential, cred),
            props,
            prov: Provenance::at(Location::File),
        }));
    }
}

/// `HOLDS` edges from MCP servers to the credentials their host provides
/// for the variables they read: a `.env` or shell start-up file in the same
/// home (or, for a project's configuration, the same project) that assigns
/// `VAR` a credential the scan found. `agents`: (agent key, config path,
/// variables it needs); `found`: (path, variable, credential key).
pub fn env_holds(
    agents: &[(Key, String, Vec<String>)],
    found: &[(String, String, String)],
) -> Vec<Fact> {
    let mut out = HoldsEdges::default();
    for (agent, config, needs) in agents {
        let root = home_of(config)
            .map(str::to_string)
            .or_else(|| project_of(config));
        let Some(root) = root else { continue };
        for (path, variable, credential) in found {
            if !needs.contains(variable) || !path.starts_with(&format!("{root}/")) {
                continue;
            }
            let mut p = Map::new();
            p.insert("variable".into(), json!(variable));
            p.insert("file".into(), json!(path));
            out.add(agent, credential, p);
        }
    }
    out.edges
}

/// An agent, its configuration's path, and the (variable, path) pairs that
/// name credential files.
pub type NamedFiles = (Key, String, Vec<(String, String)>);

/// `HOLDS` edges from MCP servers to the credentials inside the files their
/// configuration names (`GOOGLE_APPLICATION_CREDENTIALS=/Users/ana/keys/
/// sa.json`): the path is mapped onto the home being scanned (`/Users/<u>`,
/// `/home/<u>`, `C:\Users\<u>`, `~` → the folder the client's configuration
/// sits in) or, relative, onto the project. `agents`: (agent key, config
/// path, (variable, path) pairs); `found`: (path, credential key).
pub fn file_holds(agents: &[NamedFiles], found: &[(String, String)]) -> Vec<Fact> {
    let mut out = HoldsEdges::default();
    for (agent, config, files) in agents {
        for (variable, named) in files {
            let target = match crate::mcp::below_home(named) {
                Some(rel) => home_of(config).map(|h| format!("{h}/{rel}")),
                None if named.starts_with("./") || named.starts_with("../") => {
                    project_of(config).map(|p| format!("{p}/{}", named.trim_start_matches("./")))
                }
                None => Some(named.replace('\\', "/")),
            };
            let Some(target) = target else { continue };
            for (path, credential) in found {
                if path.replace('\\', "/") != target {
                    continue;
                }
                let mut p = Map::new();
                p.insert("variable".into(), json!(variable));
                p.insert("file".into(), json!(path));
                p.insert("named".into(), json!(named));
                out.add(agent, credential, p);
            }
        }
    }
    out.edges
}

/// The project a project-level configuration belongs to: the folder
/// holding `.vscode/`, `.cursor/`, `.gemini/` or `.mcp.json`.
fn project_of(config: &str) -> Option<String> {
    let p = config.replace('\\', "/");
    for marker in ["/.vscode/", "/.cursor/", "/.gemini/"] {
        if let Some(i) = p.find(marker) {
            return Some(p[..i].to_string());
        }
    }
    p.strip_suffix("/.mcp.json").map(str::to_string)
}

/// Files where CLIs and SDKs keep credentials that every process of the user
/// picks up (relative to the home folder): an agent started there can use them.
pub const AMBIENT_FILES: [&str; 10] = [
    ".aws/credentials",
    ".aws/config",
    ".config/gcloud/application_default_credentials.json",
    ".azure/msal_token_cache.json",
    ".docker/config.json",
    ".kube/config",
    ".netrc",
    ".git-credentials",
    ".npmrc",
    ".config/gh/hosts.yml",
];

/// The home folder an MCP client's user configuration sits in
/// (`<home>/.cursor/mcp.json`, `<home>/Library/Application Support/Claude/…`,
/// `<home>/.config/Claude/…`, `<home>/.codeium/windsurf/…`, `<home>/.claude.json`).
/// A project's `.vscode/mcp.json` has no home: `None`.
pub fn home_of(config: &str) -> Option<&str> {
    const MARKERS: [&str; 9] = [
        "/.cursor/",
        "/.codeium/",
        "/Library/Application Support/",
        "/.config/",
        "/AppData/Roaming/",
        "/.claude/",
        "/.gemini/",
        "/.codex/",
        "/.continue/",
    ];
    if let Some(i) = MARKERS.iter().filter_map(|m| config.find(m)).min() {
        return Some(&config[..i]);
    }
    config
        .strip_suffix("/.claude.json")
        .filter(|h| !h.is_empty())
}

/// `HOLDS` edges from each MCP server (agent key, its configuration's path) to
/// the credentials found in the ambient files of the same home (`found`: the
/// path each credential was found in, and the credential's key).
pub fn ambient_holds(agents: &[(Key, String)], found: &[(String, String)]) -> Vec<Fact> {
    let mut out = HoldsEdges::default();
    for (agent, config) in agents {
        let Some(home) = home_of(config) else {
            continue;
        };
        for (path, credential) in found {
            let Some(rel) = path
                .strip_prefix(home)
                .and_then(|r| r.strip_prefix('/'))
                .filter(|r| AMBIENT_FILES.contains(r))
            else {
                continue;
            };
            let mut p = Map::new();
            p.insert("ambient".into(), json!(true));
            p.insert("file".into(), json!(rel));
            out.add(agent, credential, p);
        }
    }
    out.edges
}

/// A GitHub Actions workflow's facts: the workflow (a `Workload`), each
/// repository secret it reads (a `Location` the workflow `USED_BY`), and, when
/// a step names an AWS access key id beside a `secrets.*SECRET*` reference,
/// that key `STORED_IN` the Actions secret and `USED_BY` the workflow.
pub fn workflow(origin: &Origin, text: &str, found: &[Found]) -> (Vec<Finding>, Vec<Fact>) {
    let refs = crate::workflow::references(text);
    // An old version of a workflow is not what runs now: only the working
    // tree's or HEAD's workflow claims the cloud identities it assumes.
    let (oidc, id_token) = match origin.git {
        Some(g) if !g.current => (Vec::new(), false),
        _ => crate::workflow::oidc_targets(text),
    };
    let mut findings = Vec::new();
    let mut out = Vec::new();
    if refs.is_empty() && oidc.is_empty() {
        return (findings, out);
    }
    let (repo, file) = match &origin.git {
        Some(g) => (g.repo, origin.path),
        None => {
            let repo = crate::workflow::repository_of(origin.path);
            let file = origin
                .path
                .strip_prefix(repo)
                .map_or(origin.path, |f| f.trim_start_matches('/'));
            (repo, file)
        }
    };
    // github.com/acme/app is GitHub's acme/app; other hosts (GHES) keep theirs.
    let slug = repo.strip_prefix("github.com/").unwrap_or(repo);
    let at = |line: u64, column: u64| Provenance::at(Location::LineCol(line, column));
    let wf = Key::uri(&format!("github-workflow://{slug}/{file}"));
    let mut wp = Map::new();
    wp.insert("repository".into(), json!(slug));
    wp.insert("path".into(), json!(file));
    // Only HEAD's version says which commit the workflow is at; older
    // versions would contradict it.
    if let Some(g) = origin.git.filter(|g| g.current) {
        wp.insert("commit".into(), json!(g.commit.id));
    }
    let historical = origin.git.is_some_and(|g| !g.current);
    out.push(Fact::Node(NodeFact {
        label: Label::Workload,
        kind: "github_actions_workflow".into(),
        system: "github".into(),
        keys: vec![wf.clone()],
        name: Some(format!("{slug}/{file}")),
        props: wp,
        prov: refs
            .first()
            .map(|r| at(r.line, r.column))
            .or_else(|| oidc.first().map(|o| at(o.line, o.column)))
            .unwrap_or_else(|| Provenance::at(Location::File)),
    }));
    // No stored secret: the job trades GitHub's OIDC token for the cloud
    // identity. The token's subject is `repo:<owner>/<repo>:…`, which the
    // target's trust (an IAM trust policy, a WIF attribute condition) checks.
    for o in &oidc {
        let to = match o.cloud {
            "aws" => Key::arn(&o.target),
            "azure" => Key::other("azure-app", &o.target.to_ascii_lowercase()),
            _ => Key::email(&o.target),
        };
        let mut p = Map::new();
        p.insert("via".into(), json!("github-actions-oidc"));
        p.insert("subject".into(), json!(format!("repo:{slug}:*")));
        p.insert("id_token_write".into(), json!(id_token));
        p.insert("line".into(), json!(o.line));
        if let Some(pr) = &o.provider {
            p.insert("provider".into(), json!(pr));
        }
        out.push(Fact::Edge(EdgeFact {
            kind: EdgeKind::CanAssume,
            from: Endpoint::new(Label::Workload, wf.clone()),
            to: Endpoint::new(Label::Principal, to),
            props: p,
            prov: at(o.line, o.column),
        }));
    }
    for r in &refs {
        let uri = format!("github://{slug}/actions/secrets/{}", r.name);
        let mut lp = Map::new();
        lp.insert("repository".into(), json!(slug));
        lp.insert("secret_name".into(), json!(r.name));
        out.push(Fact::Node(NodeFact {
            label: Label::Location,
            kind: "github_actions_secret".into(),
            system: "github".into(),
            keys: vec![Key::uri(&uri)],
            name: Some(format!("{slug} secret {}", r.name)),
            props: lp,
            prov: at(r.line, r.column),
        }));
        let mut up = Map::new();
        up.insert("line".into(), json!(r.line));
        if historical {
            // An older version of the workflow read it; HEAD may not.
            up.insert("historical".into(), json!(true));
        }
        out.push(Fact::Edge(EdgeFact {
            kind: EdgeKind::UsedBy,
            from: Endpoint::new(Label::Location, Key::uri(&uri)),
            to: Endpoint::new(Label::Workload, wf.clone()),
            props: up,
            prov: at(r.line, r.column),
        }));
        if !r.name.to_ascii_uppercase().contains("SECRET") {
            continue;
        }
        let Some((line, id)) = found
            .iter()
            .filter(|m| m.rule == "aws-access-key-id")
            .filter_map(|m| Some((m.line, m.identifier.as_ref()?)))
            .filter(|(line, _)| line.abs_diff(r.line) <= PAIR_LINES)
            .min_by_key(|(line, _)| line.abs_diff(r.line))
        else {
            continue;
        };
        let cred = Key::aws_access_key(id);
        let evidence = format!(
            "{file}:{line} passes access key id {id} with secrets.{} (line {})",
            r.name, r.line
        );
        let mut ep = Map::new();
        ep.insert("rule".into(), json!("github-actions-secret-reference"));
        ep.insert("evidence".into(), json!(evidence));
        ep.insert("confidence".into(), json!("inferred"));
        out.push(Fact::Edge(EdgeFact {
            kind: EdgeKind::StoredIn,
            from: Endpoint::new(Label::Credential, cred.clone()),
            to: Endpoint::new(Label::Location, Key::uri(&uri)),
            props: ep,
            prov: at(r.line, r.column),
        }));
        out.push(Fact::Edge(EdgeFact {
            kind: EdgeKind::UsedBy,
            from: Endpoint::new(Label::Credential, cred.clone()),
            to: Endpoint::new(Label::Workload, wf.clone()),
            props: Map::new(),
            prov: at(r.line, r.column),
        }));
        findings.push(Finding {
            rule: "github-actions-secret-reference".into(),
            kind: "aws_access_key",
            provider: "aws",
            account: None,
            credential: cred.as_str().to_string(),
            preview: id.clone(),
            path: origin.display(),
            line: r.line,
            column: r.column,
            place: format!(
                "GitHub Actions secret {} of {slug} (read by {}:{})",
                r.name,
                origin.display(),
                r.line
            ),
            variable: None,
            profile: None,
        });
    }
    (findings, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agent_holds_the_ambient_credentials_of_its_home() {
        assert_eq!(home_of("w/dana/.cursor/mcp.json"), Some("w/dana"));
        assert_eq!(
            home_of("/Users/dana/Library/Application Support/Claude/claude_desktop_config.json"),
            Some("/Users/dana")
        );
        assert_eq!(home_of("/home/dana/.claude.json"), Some("/home/dana"));
        assert_eq!(
            home_of("/home/dana/.continue/config.yaml"),
            Some("/home/dana")
        );
        assert_eq!(home_of("repo/.vscode/mcp.json"), None);
        let agent = Key::uri("mcp://w/dana/.cursor/mcp.json#ops");
        let found = vec![
            (
                "w/dana/.aws/credentials".to_string(),
                "aws-access-key:AKIAEXAMPLE".to_string(),
            ),
            (
                "w/dana/.aws/credentials".to_string(),
                "aws-access-key:AKIAEXAMPLE".to_string(),
            ),
            ("w/dana/src/.env".to_string(), "fp:abc".to_string()),
            ("w/erin/.aws/credentials".to_string(), "fp:def".to_string()),
        ];
        let holds = ambient_holds(&[(agent, "w/dana/.cursor/mcp.json".into())], &found);
        assert_eq!(holds.len(), 1);
        let Fact::Edge(e) = &holds[0] else {
            panic!("an edge")
        };
        assert_eq!(e.to.key.as_str(), "aws-access-key:AKIAEXAMPLE");
        assert_eq!(e.props["file"], ".aws/credentials");
    }
}
