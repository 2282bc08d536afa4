//! Ownership evidence: which facts of the graph name who is accountable for
//! an identity, and the workforce they are judged against. Every evidence
//! rule lives here, once; [`crate::attribution`] scores what they find.
//!
//! A [`Builder`] is fed the graph's people, groups, identities, Terraform
//! nodes and ownership-related edges (in any order, from the store or from
//! an in-memory copy of the graph, or only the part one question needs) and
//! builds an [`Ownership`]: the workforce and each identity's evidence.
//! [`Ownership::accountable`] answers "who is accountable for this identity
//! now", for every caller: `custody owner`, orphans and offboarding, the
//! `used-after-owner-left` alert, blast radius, response plans, findings.
//!
//! | evidence | from | method |
//! |---|---|---|
//! | `OWNED_BY` an owner tag, label or annotation | IAM, S3/KMS/EKS tags, Kubernetes metadata | `owner-tag` |
//! | `OWNED_BY` the system's own owner field | Entra app owners, GitHub token owners and SAML authorizations, Okta API tokens, Vault metadata | `system-owner` |
//! | `OWNED_BY` a `created-by` tag, `CREATED_BY` | tags, Vault secret-id metadata, deploy keys' `added_by`, Okta tokens, CloudTrail `CreateAccessKey`/`CreateUser`/`CreateRole` (the session's e-mail, or the calling user when it is one person's own) | `creator` |
//! | the author who added the Terraform code that defines it | `DEFINED_IN` state → code (`custody scan --git`) | `iac-author` / `iac-editor` |
//! | the `CODEOWNERS` rule of that code's file (person or team) | code `OWNED_BY` (`custody scan --git`) | `codeowners` |
//! | `APPROVED_BY` | Okta OAuth grants | `approver` |
//! | an owner tag, label or Terraform tag naming a bare handle (`owner_claims`, `iac_owner_claims`) | node properties | `owner-tag` |
//! | an owner in free text: a `description`, a `maintainer`/`contact` annotation | node properties | `free-text` |
//! | a name that is one person's handle | the identity's name | `handle` |
//! | a `team` tag or label | node properties, matched to groups | `team-tag` |
//!
//! A person is matched by every strong key fed ([`Builder::key`]: each
//! address, login and GitHub handle), not only the node's canonical key.
//! Evidence naming a bot, or a commit author no directory lists, is shown
//! and not counted. A credential also inherits its principal's evidence (at
//! [`crate::attribution::INHERITED`] its weight).
//!
//! **Must not:** do I/O (callers feed it), or guess: a handle two people
//! share names each of them at a share of the weight, never one.

use crate::attribution::{self, Attribution, Evidence, Method, Party, Route, Status};
pub use crate::input::{EdgeIn, NodeIn};
use serde::Serialize;
use serde_json::{Map, Value};
/// Maps keyed by node id: foldhash (fast, not DoS-resistant: keys are the
/// store's own ids, never input).
pub type IdMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type Set<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// Where a person stands in the workforce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Standing {
    Active,
    /// Terminated in the roster, or deprovisioned or suspended in the IdP.
    Left,
    /// No roster or IdP lists them (an address only a tag or commit names).
    Unknown,
}

#[derive(Debug, Clone)]
pub struct Person {
    pub key: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub standing: Standing,
    /// The last day (`YYYY-MM-DD`): the roster's termination date, else the
    /// day the IdP deprovisioned them.
    pub left_on: Option<String>,
    pub manager: Option<i64>,
    /// Every e-mail address the person is known by (the roster's, the IdP
    /// login, SAML names, commit e-mails), lower-case, sorted.
    pub addresses: Vec<String>,
    /// Why this party cannot be accountable (a bot account, by its name);
    /// evidence naming it is shown but not counted.
    pub bot: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Ident {
    pub id: i64,
    pub label: &'static str,
    pub key: String,
    /// Interned: a few dozen kinds name ~800k identities.
    pub kind: std::sync::Arc<str>,
    pub name: Option<String>,
}

/// The labels whose nodes are identities ownership is attributed to.
pub const IDENTITY_LABELS: [&str; 3] = ["Credential", "Principal", "Agent"];

/// The node kinds of Terraform state and code the IaC evidence joins.
pub const TERRAFORM_KINDS: [&str; 3] = ["terraform_resource", "terraform_code", "terraform_root"];

/// The edge kinds the evidence rules read.
pub const EDGE_KINDS: [&str; 6] = [
    "OWNED_BY",
    "CREATED_BY",
    "APPROVED_BY",
    "AUTHENTICATES_AS",
    "DEFINED_IN",
    "REPORTS_TO",
];

fn text<'a>(props: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    props
        .get(k)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// A person's handles: e-mail local parts and GitHub logins, lower-case.
fn handles(key: &str, props: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    let mut local = |e: &str| {
        if let Some((l, _)) = e.split_once('@') {
            out.push(l.to_ascii_lowercase());
        }
    };
    if let Some(e) = key.strip_prefix("email:") {
        local(e);
    }
    for k in ["email", "login"] {
        if let Some(e) = text(props, k) {
            local(e);
        }
    }
    if let Some(l) = key.strip_prefix("id:github/") {
        out.push(l.to_ascii_lowercase());
    }
    if let Some(l) = text(props, "github_login") {
        out.push(l.to_ascii_lowercase());
    }
    out.sort();
    out.dedup();
    out
}

/// Suffixes an administrator adds to a person's handle for a second account
/// of theirs (`kofi.khan-2`, `kofi.khan-admin`).
const HANDLE_SUFFIXES: [&str; 7] = ["admin", "adm", "cli", "dev", "test", "old", "new"];

/// The person a principal's name says it belongs to: exactly one person's
/// handle, else one person's handle plus a separator and a numeric or
/// conventional suffix. Returns the person and what the name said.
fn named_after(name: &str, unique: &dyn Fn(&str) -> Option<i64>) -> Option<(i64, String)> {
    if let Some(p) = unique(name) {
        return Some((p, format!("named {name} (one person's handle)")));
    }
    let (base, suffix) = name.rsplit_once(['-', '_'])?;
    let known = (!suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()))
        || HANDLE_SUFFIXES
            .iter()
            .any(|s| suffix.eq_ignore_ascii_case(s));
    if !known || base.is_empty() {
        return None;
    }
    let p = unique(base)?;
    Some((
        p,
        format!("named {name} (one person's handle {base} with the suffix {suffix})"),
    ))
}

/// A person's standing from the roster (`employment_status`), else the IdP
/// (`idp_status`), else GitHub membership.
pub fn standing(props: &Map<String, Value>) -> Standing {
    match text(props, "employment_status") {
        Some("terminated") => return Standing::Left,
        Some(_) => return Standing::Active,
        None => {}
    }
    match text(props, "idp_status") {
        Some("DEPROVISIONED" | "SUSPENDED") => Standing::Left,
        Some(_) => Standing::Active,
        // A GitHub org member the IdP does not list: active in GitHub.
        None if text(props, "github_login").is_some() => Standing::Active,
        None => Standing::Unknown,
    }
}

/// The team a node's properties name: `team`, `tags.team`, `labels.team`.
fn team_of(props: &Map<String, Value>) -> Option<&str> {
    text(props, "team").or_else(|| {
        ["tags", "labels"].iter().find_map(|m| {
            let m = props.get(*m)?.as_object()?;
            m.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("team"))
                .and_then(|(_, v)| v.as_str())
        })
    })
}

/// `module.a.module.b.aws_iam_user.x["k"]` → (`true`, `aws_iam_user.x`).
fn resource_address(addr: &str) -> (bool, String) {
    let mut parts: Vec<&str> = Vec::new();
    let mut in_module = false;
    let base = addr.split('[').next().unwrap_or(addr);
    let mut it = base.split('.').peekable();
    while let Some(p) = it.next() {
        if p == "module" {
            in_module = true;
            it.next();
            continue;
        }
        if p == "data" {
            continue;
        }
        parts.push(p);
    }
    (in_module, parts.join("."))
}

struct Code {
    repo: String,
    dir: String,
    address: String,
}

/// What an identity's own properties say, read once its people are known.
struct IdentProps {
    /// Owners the identity's own properties name by a value that is not an
    /// e-mail (those are edges): `owner_claims`, `iac_owner_claims`, a
    /// `description`.
    claims: Vec<OwnerClaim>,
    /// Interned, as kinds are: a few hundred teams tag most identities.
    team: Option<std::sync::Arc<str>>,
}

/// An owner named in an identity's properties (`owner_claims`), resolved
/// against the workforce at build.
struct OwnerClaim {
    value: String,
    said: String,
    method: Method,
    /// A description: prose, where a lone word is not a handle.
    prose: bool,
}

/// The owner claims in an identity's properties: the connectors'
/// `owner_claims` (live tags, labels and annotations) and
/// `iac_owner_claims` (tags the Terraform state declares), each
/// `{"value", "said", "method"}`; a `description` (free text); and, from a
/// store written before claims were recorded, an `owner` property.
fn owner_claims(props: &Map<String, Value>) -> Vec<OwnerClaim> {
    let mut out = Vec::new();
    for field in ["owner_claims", "iac_owner_claims"] {
        for c in props
            .get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (Some(value), Some(said)) = (
                c.get("value").and_then(Value::as_str),
                c.get("said").and_then(Value::as_str),
            ) else {
                continue;
            };
            let method = match c.get("method").and_then(Value::as_str) {
                Some("creator") => Method::Creator,
                Some("free-text") => Method::FreeText,
                _ => Method::OwnerTag,
            };
            out.push(OwnerClaim {
                value: value.trim().to_string(),
                said: said.to_string(),
                method,
                prose: c.get("prose").and_then(Value::as_bool).unwrap_or(false),
            });
        }
    }
    if out.is_empty() {
        if let Some(o) = text(props, "owner").filter(|o| !o.contains('@')) {
            out.push(OwnerClaim {
                value: o.to_string(),
                said: format!("owner={o}"),
                method: Method::OwnerTag,
                prose: false,
            });
        }
    }
    if let Some(d) = text(props, "description") {
        if !owners_in_text(d, true).is_empty() {
            out.push(OwnerClaim {
                value: d.to_string(),
                said: format!("description \"{d}\""),
                method: Method::FreeText,
                prose: true,
            });
        }
    }
    out
}

/// Words that introduce an owner in free text (`Owner: ana@…`, `owned by
/// @wchen`, `contact - ops@…`), lower-case.
const OWNER_WORDS: [&str; 7] = [
    "owner",
    "owned by",
    "contact",
    "maintainer",
    "maintained by",
    "responsible",
    "point of contact",
];

/// The owners a free text names: every e-mail address in it, and a handle
/// (`@wchen`, or a bare word) right after an owner word and a `:`, `=`, `-`
/// or `is`. A `maintainer`/`contact` value that is one word is taken as a
/// handle; in `prose` (a description: `Deployer`) it is not.
pub fn owners_in_text(text: &str, prose: bool) -> Vec<String> {
    let word = |c: char| c.is_ascii_alphanumeric() || ".-_+@".contains(c);
    let mut out: Vec<String> = Vec::new();
    let mut push = |v: &str| {
        let v = v.trim_matches(|c: char| ".-_".contains(c));
        let v = v.strip_prefix('@').unwrap_or(v);
        if v.len() >= 3 && !out.iter().any(|o| o.eq_ignore_ascii_case(v)) {
            out.push(v.to_ascii_lowercase());
        }
    };
    for tok in text.split(|c: char| !word(c)) {
        if tok.contains('@') && !tok.starts_with('@') {
            if let Some((l, d)) = tok.split_once('@') {
                if !l.is_empty() && d.contains('.') && !d.ends_with('.') {
                    push(tok);
                }
            }
        }
    }
    let lower = text.to_ascii_lowercase();
    let whole = lower.trim();
    if !prose && !whole.is_empty() && whole.chars().all(word) && !whole.contains('@') {
        // The whole value is one handle (a `maintainer: wchen` annotation).
        push(whole);
    }
    for w in OWNER_WORDS {
        let mut from = 0;
        while let Some(at) = lower[from..].find(w) {
            let start = from + at;
            from = start + w.len();
            if start > 0 && lower[..start].ends_with(|c: char| c.is_ascii_alphanumeric()) {
                continue;
            }
            let rest = lower[from..].trim_start();
            let rest = if let Some(r) = rest.strip_prefix(['=', ':', '-']) {
                r
            } else if let Some(r) = rest.strip_prefix("is ") {
                r
            } else if w.ends_with(" by") {
                rest
            } else {
                continue;
            };
            let tok: String = rest.trim_start().chars().take_while(|c| word(*c)).collect();
            if tok.starts_with('@') || (!tok.contains('@') && !tok.is_empty()) {
                push(&tok);
            }
        }
    }
    out
}

/// Names that mark an account as a machine's, not a person's: a GitHub
/// App's `name[bot]`, or an address or login made only of words like these
/// (`automation@`, `ci-bot@`, `terraform-ci@`, `svc.deploy@`).
const BOT_WORDS: [&str; 22] = [
    "bot",
    "bots",
    "robot",
    "automation",
    "automations",
    "ci",
    "cd",
    "cicd",
    "build",
    "builder",
    "builds",
    "deploy",
    "deployer",
    "deploys",
    "jenkins",
    "actions",
    "terraform",
    "atlantis",
    "renovate",
    "dependabot",
    "svc",
    "noreply",
];

/// Why an account is a bot, when its names say so.
fn bot_reason(names: &[&str]) -> Option<String> {
    for n in names {
        let n = n.trim();
        if n.ends_with("[bot]") {
            return Some(format!("{n} is a GitHub App's bot account"));
        }
        let local = n.split('@').next().unwrap_or(n).to_ascii_lowercase();
        let words: Vec<&str> = local
            .split(['.', '-', '_', '+'])
            .filter(|w| !w.is_empty() && !w.bytes().all(|b| b.is_ascii_digit()))
            .collect();
        if local == "no-reply"
            || (!words.is_empty() && words.iter().all(|w| BOT_WORDS.contains(w))
                || words.iter().any(|w| *w == "bot" || *w == "automation"))
        {
            return Some(format!("{n} is a machine account, not a person"));
        }
    }
    None
}

/// An `OWNED_BY`, `CREATED_BY` or `APPROVED_BY` edge, kept until build.
struct Claim {
    src: i64,
    kind: &'static str,
    dst: i64,
    method: Option<String>,
    evidence: Option<String>,
    /// `CREATED_BY` of code: the commit added the block (not an edit).
    added: bool,
    commit: Option<String>,
}

/// Collects what the evidence rules read; [`Builder::build`] applies them.
#[derive(Default)]
pub struct Builder {
    people: IdMap<i64, Person>,
    by_handle: IdMap<String, Vec<i64>>,
    groups: Vec<(i64, String, String)>,
    /// Per identity label, in the order fed.
    identities: [Vec<(Ident, IdentProps)>; 3],
    kinds: IdMap<String, std::sync::Arc<str>>,
    seen: Set<i64>,
    states: IdMap<i64, (String, String)>,
    code: IdMap<i64, Code>,
    roots: Vec<(String, String, String)>,
    principals: IdMap<i64, Vec<i64>>,
    defined: Vec<(i64, i64)>,
    managers: Vec<(i64, i64)>,
    claims: Vec<Claim>,
    /// People's strong keys beyond the canonical one, fed by [`Builder::key`].
    keys: Vec<(i64, String)>,
    /// People the HR roster lists: employees, never taken for bots by name.
    rostered: Set<i64>,
}

impl Builder {
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Any node: people (`Human`), teams (`Group`), identities
    /// (`Credential`, `Principal`, `Agent`) and Terraform state and code;
    /// others are ignored. A node fed twice counts once.
    pub fn node(&mut self, n: NodeIn<'_>) {
        if !self.seen.insert(n.id) {
            return;
        }
        match n.label {
            "Human" => self.person(n),
            "Group" => {
                let name = n.name.unwrap_or(n.key).to_string();
                let slug = n
                    .key
                    .rsplit('/')
                    .next()
                    .unwrap_or(n.key)
                    .to_ascii_lowercase();
                self.groups.push((n.id, name, slug));
            }
            "Credential" | "Principal" | "Agent" => {
                let at = IDENTITY_LABELS
                    .iter()
                    .position(|l| *l == n.label)
                    .unwrap_or(0);
                let kind = self.intern(n.kind);
                let team = team_of(n.props).map(|t| self.intern(t));
                self.identities[at].push((
                    Ident {
                        id: n.id,
                        label: IDENTITY_LABELS[at],
                        key: n.key.to_string(),
                        kind,
                        name: n.name.map(str::to_string),
                    },
                    IdentProps {
                        claims: owner_claims(n.props),
                        team,
                    },
                ));
            }
            _ => self.terraform(n),
        }
    }

    /// A strong key of a node already fed (`email:…`, `id:github/<login>`):
    /// a person known by several addresses and logins is matched by every
    /// one of them, whichever became the node's key. Keys of other nodes
    /// are ignored.
    pub fn key(&mut self, id: i64, key: &str) {
        if key.starts_with("email:") || key.starts_with("id:github/") {
            self.keys.push((id, key.to_string()));
        }
    }

    /// One shared copy of a text many nodes repeat (kinds, team names).
    fn intern(&mut self, text: &str) -> std::sync::Arc<str> {
        match self.kinds.get(text) {
            Some(k) => k.clone(),
            None => {
                let k: std::sync::Arc<str> = text.into();
                self.kinds.insert(text.to_string(), k.clone());
                k
            }
        }
    }

    fn person(&mut self, n: NodeIn<'_>) {
        for h in handles(n.key, n.props) {
            self.by_handle.entry(h).or_default().push(n.id);
        }
        if text(n.props, "employment_status").is_some() {
            self.rostered.insert(n.id);
        }
        // Shown by the roster's address, else the one the IdP or GitHub
        // gave, else the key's.
        let email = text(n.props, "roster_email")
            .or_else(|| text(n.props, "email"))
            .map(str::to_string)
            .or_else(|| n.key.strip_prefix("email:").map(str::to_string));
        let mut addresses: Vec<String> = email
            .iter()
            .chain(text(n.props, "login").map(str::to_string).iter())
            .filter(|a| a.contains('@'))
            .map(|a| a.to_ascii_lowercase())
            .collect();
        addresses.sort();
        addresses.dedup();
        let gone = standing(n.props);
        self.people.insert(
            n.id,
            Person {
                key: n.key.to_string(),
                email,
                name: n
                    .name
                    .map(str::to_string)
                    .or_else(|| text(n.props, "name").map(str::to_string)),
                standing: gone,
                left_on: text(n.props, "termination_date")
                    .or_else(|| {
                        text(n.props, "idp_status_changed").filter(|_| gone == Standing::Left)
                    })
                    .map(|s| s.get(..10).unwrap_or(s).to_string()),
                manager: None,
                addresses,
                bot: None,
            },
        );
    }

    fn terraform(&mut self, n: NodeIn<'_>) {
        match n.kind {
            "terraform_resource" => {
                if let (Some(f), Some(a)) = (text(n.props, "state_file"), text(n.props, "address"))
                {
                    self.states.insert(n.id, (f.to_string(), a.to_string()));
                }
            }
            "terraform_code" => {
                if let (Some(r), Some(d), Some(a)) = (
                    text(n.props, "repository"),
                    n.props.get("dir").and_then(Value::as_str),
                    text(n.props, "address"),
                ) {
                    self.code.insert(
                        n.id,
                        Code {
                            repo: r.to_string(),
                            dir: d.to_string(),
                            address: a.to_string(),
                        },
                    );
                }
            }
            "terraform_root" => {
                if let (Some(r), Some(d), Some(k)) = (
                    text(n.props, "repository"),
                    n.props.get("dir").and_then(Value::as_str),
                    text(n.props, "backend_key"),
                ) {
                    self.roots
                        .push((r.to_string(), d.to_string(), k.to_string()));
                }
            }
            _ => {}
        }
    }

    /// An edge of one of [`EDGE_KINDS`]; others are ignored.
    pub fn edge(&mut self, e: EdgeIn<'_>) {
        let kind = match e.kind {
            "AUTHENTICATES_AS" => {
                self.principals.entry(e.src).or_default().push(e.dst);
                return;
            }
            "DEFINED_IN" => {
                self.defined.push((e.src, e.dst));
                return;
            }
            "REPORTS_TO" => {
                self.managers.push((e.src, e.dst));
                return;
            }
            "OWNED_BY" => "OWNED_BY",
            "CREATED_BY" => "CREATED_BY",
            "APPROVED_BY" => "APPROVED_BY",
            _ => return,
        };
        self.claims.push(Claim {
            src: e.src,
            kind,
            dst: e.dst,
            method: text(e.props, "method").map(str::to_string),
            evidence: text(e.props, "evidence").map(str::to_string),
            added: text(e.props, "role") != Some("edited"),
            commit: text(e.props, "commit").map(|c| c.get(..12).unwrap_or(c).to_string()),
        });
    }

    /// Applies every evidence rule.
    pub fn build(self) -> Ownership {
        let Builder {
            mut people,
            by_handle,
            mut groups,
            identities: fed,
            states,
            code,
            roots,
            principals,
            defined,
            managers,
            claims,
            keys,
            rostered,
            ..
        } = self;
        let mut by_handle = by_handle;
        for (id, key) in &keys {
            let Some(p) = people.get_mut(id) else {
                continue;
            };
            let (handle, address) = match key.strip_prefix("email:") {
                Some(e) => (e.split_once('@').map(|(l, _)| l), Some(e)),
                None => (key.strip_prefix("id:github/"), None),
            };
            if let Some(a) = address {
                let a = a.to_ascii_lowercase();
                if !p.addresses.contains(&a) {
                    p.addresses.push(a);
                    p.addresses.sort();
                }
            }
            if let Some(h) = handle.filter(|h| !h.is_empty()) {
                let ids = by_handle.entry(h.to_ascii_lowercase()).or_default();
                if !ids.contains(id) {
                    ids.push(*id);
                }
            }
        }
        let mut logins: IdMap<i64, Vec<&str>> = IdMap::default();
        for (id, key) in &keys {
            if let Some(l) = key.strip_prefix("id:github/") {
                logins.entry(*id).or_default().push(l);
            }
        }
        // A machine account by its name: one the IdP, GitHub or a commit
        // knows, never an employee the roster lists.
        for (id, p) in people.iter_mut().filter(|(id, _)| !rostered.contains(*id)) {
            let mut names: Vec<&str> = p.addresses.iter().map(String::as_str).collect();
            names.extend(logins.get(id).into_iter().flatten().copied());
            names.extend(p.key.strip_prefix("id:github/"));
            p.bot = bot_reason(&names);
        }
        // An IAM Identity Center user name a CloudTrail session carried
        // (`id:sso-user/wchen`): the person whose handle it is, when exactly
        // one person's.
        let mut alias: IdMap<i64, (i64, String)> = IdMap::default();
        for (id, p) in &people {
            let Some(name) = p.key.strip_prefix("id:sso-user/") else {
                continue;
            };
            if let Some([one]) = by_handle.get(name).map(Vec::as_slice) {
                if one != id {
                    alias.insert(*id, (*one, name.to_string()));
                }
            }
        }
        let by_address: IdMap<String, i64> = people
            .iter()
            .flat_map(|(id, p)| p.addresses.iter().map(move |a| (a.clone(), *id)))
            .collect();
        let mut teams: IdMap<i64, String> = IdMap::default();
        let mut team_ids: IdMap<String, i64> = IdMap::default();
        groups.sort();
        for (id, name, slug) in groups {
            for k in [name.to_ascii_lowercase(), slug] {
                team_ids.entry(k).or_insert(id);
            }
            teams.insert(id, name);
        }
        let mut team = |name: &str| -> i64 {
            let trimmed = name.trim();
            // Most tags are already lower-case: no allocation to look them up.
            if !trimmed.bytes().any(|b| b.is_ascii_uppercase()) {
                if let Some(&id) = team_ids.get(trimmed) {
                    return id;
                }
            }
            let k = trimmed.to_ascii_lowercase();
            if let Some(&id) = team_ids.get(&k) {
                return id;
            }
            let id = -(team_ids.len() as i64) - 1;
            team_ids.insert(k, id);
            teams.insert(id, name.trim().to_string());
            id
        };
        let unique = |h: &str| -> Option<i64> {
            // Handles are stored lower-case; most names already are.
            let found = if h.bytes().any(|b| b.is_ascii_uppercase()) {
                by_handle.get(&h.to_ascii_lowercase())
            } else {
                by_handle.get(h)
            };
            match found.map(Vec::as_slice) {
                Some([one]) => Some(*one),
                _ => None,
            }
        };
        // Identities in label order (credentials, principals, agents), each
        // label in the order fed: negative team ids follow it.
        let fed: Vec<(Ident, IdentProps)> = fed.into_iter().flatten().collect();
        let mut identities = Vec::with_capacity(fed.len());
        let mut evidence: IdMap<i64, Vec<Evidence>> = IdMap::default();
        let mut team_tags: IdMap<i64, i64> = IdMap::default();
        let candidates = |h: &str| -> Vec<i64> {
            let h = h.trim().trim_start_matches('@').to_ascii_lowercase();
            if h.contains('@') {
                return by_address.get(&h).copied().into_iter().collect();
            }
            let mut ids = by_handle.get(&h).cloned().unwrap_or_default();
            ids.sort_unstable();
            ids
        };
        for (d, p) in fed {
            let mut ev = Vec::new();
            for c in &p.claims {
                let values = match c.method {
                    Method::FreeText => owners_in_text(&c.value, c.prose),
                    // An e-mail in a tag is an `OWNED_BY` edge already.
                    _ if c.value.contains('@') => continue,
                    _ => vec![c.value.clone()],
                };
                for v in values {
                    let found = candidates(&v);
                    let n = found.len();
                    for person in found {
                        let said = match n {
                            1 if v.contains('@') || c.method == Method::FreeText => c.said.clone(),
                            1 => format!("{} (one person's handle)", c.said),
                            _ => format!(
                                "{} (ambiguous: {n} people have the handle {v}; each counts 1/{n})",
                                c.said
                            ),
                        };
                        let e = Evidence::new(Party::Person(person), c.method, said);
                        let w = e.weight / n as f64;
                        ev.push(e.weighted(w));
                    }
                }
            }
            if d.label == "Principal" {
                if let Some((person, said)) = d
                    .name
                    .as_deref()
                    .and_then(|name| named_after(name, &unique))
                {
                    ev.push(Evidence::new(Party::Person(person), Method::Handle, said));
                }
            }
            // Team tags are the commonest evidence (most identities carry
            // one): kept as an id, made into evidence when asked.
            if let Some(t) = &p.team {
                team_tags.insert(d.id, team(t));
            }
            if !ev.is_empty() {
                evidence.insert(d.id, ev);
            }
            identities.push(d);
        }
        let index: IdMap<i64, usize> = identities
            .iter()
            .enumerate()
            .map(|(i, d)| (d.id, i))
            .collect();
        let mut code_authors: IdMap<i64, Vec<(i64, bool, String)>> = IdMap::default();
        let mut code_owners: IdMap<i64, Vec<(i64, String)>> = IdMap::default();
        let mut made_by_principal: Vec<(i64, i64, String)> = Vec::new();
        for c in claims {
            let said = |default: &str| c.evidence.clone().unwrap_or_else(|| default.to_string());
            match c.kind {
                "OWNED_BY" if code.contains_key(&c.src) => {
                    code_owners
                        .entry(c.src)
                        .or_default()
                        .push((c.dst, said("named in CODEOWNERS")));
                }
                "CREATED_BY" if code.contains_key(&c.src) => {
                    code_authors.entry(c.src).or_default().push((
                        c.dst,
                        c.added,
                        c.commit.clone().unwrap_or_else(|| "?".into()),
                    ));
                }
                // Created by an IAM user (CloudTrail): a person's own user
                // names the person, below.
                "CREATED_BY" if index.contains_key(&c.src) && index.contains_key(&c.dst) => {
                    made_by_principal.push((c.src, c.dst, said("created it")));
                }
                _ if index.contains_key(&c.src) && people.contains_key(&c.dst) => {
                    let (dst, aka) = match alias.get(&c.dst) {
                        Some((p, name)) => (
                            *p,
                            format!(
                                " (the Identity Center user name {name} is one person's handle)"
                            ),
                        ),
                        None => (c.dst, String::new()),
                    };
                    let method = match (c.kind, c.method.as_deref()) {
                        ("CREATED_BY", _) | (_, Some("created-by-tag")) => Method::Creator,
                        ("APPROVED_BY", _) => Method::Approver,
                        (_, Some("resource-tag" | "k8s-metadata" | "iac-tag")) => Method::OwnerTag,
                        _ => Method::SystemOwner,
                    };
                    let default = match c.kind {
                        "APPROVED_BY" => "approved the OAuth grant",
                        "CREATED_BY" => "created it",
                        _ => "named as owner",
                    };
                    evidence.entry(c.src).or_default().push(Evidence::new(
                        Party::Person(dst),
                        method,
                        said(default) + &aka,
                    ));
                }
                _ => {}
            }
        }
        for (made, by, said) in made_by_principal {
            // The user's name; a user only the log names has just its ARN.
            let name = index.get(&by).and_then(|&i| {
                let d = &identities[i];
                d.name.as_deref().or_else(|| {
                    d.key
                        .split_once(":user/")
                        .and_then(|(_, path)| path.rsplit('/').next())
                })
            });
            if let Some((p, whose)) = name.and_then(|n| named_after(n, &unique)) {
                evidence.entry(made).or_default().push(Evidence::new(
                    Party::Person(p),
                    Method::Creator,
                    format!("{said}; the user is {whose}"),
                ));
            }
        }
        for (p, m) in managers {
            if let Some(person) = people.get_mut(&p) {
                person.manager.get_or_insert(m);
            }
        }
        iac_evidence(
            &IacJoin {
                states: &states,
                code: &code,
                roots: &roots,
                code_authors: &code_authors,
                code_owners: &code_owners,
                people: &people,
                teams: &teams,
                team_ids: &team_ids,
            },
            &defined,
            &mut evidence,
        );
        // Shown, never counted: bots, and commit authors no directory lists
        // (an `automation@` or CI identity writing code is not accountable).
        for evs in evidence.values_mut() {
            for e in evs.iter_mut() {
                let Party::Person(p) = e.party else {
                    continue;
                };
                let Some(person) = people.get(&p) else {
                    continue;
                };
                let why = match (&person.bot, person.standing, e.method) {
                    (Some(b), _, _) => b.clone(),
                    (None, Standing::Unknown, Method::IacAuthor | Method::IacEditor) => format!(
                        "{} is a commit author no roster, IdP or GitHub org lists: not an accountable person",
                        person.email.as_deref().unwrap_or(&person.key)
                    ),
                    _ => continue,
                };
                *e = e.clone().not_counted(why);
            }
        }
        let mut named: IdMap<i64, Vec<i64>> = IdMap::default();
        for (ident, evs) in &evidence {
            for e in evs {
                if let Party::Person(p) = e.party {
                    named.entry(p).or_default().push(*ident);
                }
            }
        }
        let mut credentials: IdMap<i64, Vec<i64>> = IdMap::default();
        for (cred, ps) in &principals {
            for p in ps {
                credentials.entry(*p).or_default().push(*cred);
            }
        }
        Ownership {
            people,
            teams,
            identities,
            index,
            evidence,
            team_tags,
            principals,
            named,
            credentials,
        }
    }
}

/// What the Terraform join reads.
struct IacJoin<'a> {
    states: &'a IdMap<i64, (String, String)>,
    code: &'a IdMap<i64, Code>,
    roots: &'a [(String, String, String)],
    code_authors: &'a IdMap<i64, Vec<(i64, bool, String)>>,
    code_owners: &'a IdMap<i64, Vec<(i64, String)>>,
    people: &'a IdMap<i64, Person>,
    teams: &'a IdMap<i64, String>,
    team_ids: &'a IdMap<String, i64>,
}

/// State → code: the directory whose backend key names the state file, then
/// the declaration of the same resource there; its authors and CODEOWNERS
/// become the identity's evidence.
fn iac_evidence(j: &IacJoin<'_>, defined: &[(i64, i64)], evidence: &mut IdMap<i64, Vec<Evidence>>) {
    let mut state_root: IdMap<&str, Option<(&str, &str)>> = IdMap::default();
    for (file, _) in j.states.values() {
        let matching: Vec<(&str, &str)> = j
            .roots
            .iter()
            .filter(|(_, _, k)| file == k || file.ends_with(&format!("/{k}")))
            .map(|(r, d, _)| (r.as_str(), d.as_str()))
            .collect();
        state_root.insert(file, (matching.len() == 1).then(|| matching[0]));
    }
    let mut decls: IdMap<(&str, &str), Vec<(i64, &str)>> = IdMap::default();
    for (id, c) in j.code {
        decls
            .entry((c.repo.as_str(), c.address.as_str()))
            .or_default()
            .push((*id, c.dir.as_str()));
    }
    for &(ident, loc) in defined {
        let Some((file, addr)) = j.states.get(&loc) else {
            continue;
        };
        let Some(Some((repo, dir))) = state_root.get(file.as_str()) else {
            continue;
        };
        let (in_module, address) = resource_address(addr);
        let Some(cands) = decls.get(&(*repo, address.as_str())) else {
            continue;
        };
        let here: Vec<i64> = cands
            .iter()
            .filter(|(_, d)| in_module || d == dir)
            .map(|(id, _)| *id)
            .collect();
        let [code_id] = here[..] else {
            continue;
        };
        let Some(c) = j.code.get(&code_id) else {
            continue;
        };
        for (who, added, commit) in j.code_authors.get(&code_id).into_iter().flatten() {
            let (method, verb) = if *added {
                (Method::IacAuthor, "added")
            } else {
                (Method::IacEditor, "later changed the file of")
            };
            evidence.entry(ident).or_default().push(Evidence::new(
                Party::Person(*who),
                method,
                format!(
                    "{verb} `{}` in {}/{} (commit {commit})",
                    c.address, c.repo, c.dir
                ),
            ));
        }
        for (who, said) in j.code_owners.get(&code_id).into_iter().flatten() {
            let party = if j.people.contains_key(who) {
                Party::Person(*who)
            } else if let Some(name) = j.teams.get(who) {
                // One party per team name: the GitHub team CODEOWNERS names
                // is the team a `team` tag names.
                Party::Team(
                    j.team_ids
                        .get(&name.to_ascii_lowercase())
                        .copied()
                        .unwrap_or(*who),
                )
            } else {
                continue;
            };
            evidence.entry(ident).or_default().push(Evidence::new(
                party,
                Method::CodeOwner,
                format!("{said} (defines `{}`)", c.address),
            ));
        }
    }
}

/// The workforce and the evidence, in memory.
pub struct Ownership {
    pub people: IdMap<i64, Person>,
    /// Team party ids (a group's node id, or a negative id for a team only
    /// tags name) → name.
    pub teams: IdMap<i64, String>,
    pub identities: Vec<Ident>,
    index: IdMap<i64, usize>,
    evidence: IdMap<i64, Vec<Evidence>>,
    /// Identity → the team its `team` tag or label names.
    team_tags: IdMap<i64, i64>,
    principals: IdMap<i64, Vec<i64>>,
    /// Person → the identities whose own evidence names them.
    named: IdMap<i64, Vec<i64>>,
    /// Principal → the credentials that authenticate as it (and inherit
    /// its evidence).
    credentials: IdMap<i64, Vec<i64>>,
}

/// Who is accountable for an identity now: its attribution, and when the
/// owner is a person who has left, since when and who takes over.
#[derive(Debug, Clone)]
pub struct Accountable {
    pub attribution: Attribution,
    /// The owner is a person who has left: they, and their last day when the
    /// roster or IdP says.
    pub left: Option<(i64, Option<String>)>,
    /// Who takes over from an owner who left.
    pub route: Option<Route>,
}

impl Accountable {
    /// The owner, when it is a person.
    pub fn person(&self) -> Option<i64> {
        match self.attribution.owner {
            Some(Party::Person(p)) => Some(p),
            _ => None,
        }
    }
}

impl Ownership {
    /// Every identity whose evidence, own or inherited from its principal,
    /// names `person`, in load order: what offboarding must look at.
    pub fn naming(&self, person: i64) -> Vec<i64> {
        let mut ids: Vec<i64> = self.named.get(&person).cloned().unwrap_or_default();
        let inherited: Vec<i64> = ids
            .iter()
            .flat_map(|p| self.credentials.get(p).into_iter().flatten().copied())
            .collect();
        ids.extend(inherited);
        ids.retain(|id| self.index.contains_key(id));
        ids.sort_by_key(|id| self.index.get(id).copied());
        ids.dedup();
        ids
    }

    pub fn ident(&self, id: i64) -> Option<&Ident> {
        self.index.get(&id).map(|&i| &self.identities[i])
    }

    /// One identity's attribution: its own evidence and, for a credential,
    /// what its principals' evidence says, inherited.
    pub fn attribute(&self, id: i64) -> Attribution {
        let mut ev: Vec<Evidence> = self.own_evidence(id);
        for p in self.principals.get(&id).into_iter().flatten() {
            let via = self.ident(*p).map_or("its principal", |d| d.key.as_str());
            for e in self.own_evidence(*p) {
                ev.push(e.inherited(via));
            }
        }
        attribution::attribute(ev)
    }

    /// What the graph says of `id` itself (not of its principal).
    fn own_evidence(&self, id: i64) -> Vec<Evidence> {
        let mut ev: Vec<Evidence> = self.evidence.get(&id).cloned().unwrap_or_default();
        if let Some(&t) = self.team_tags.get(&id) {
            let name = self.teams.get(&t).map_or("", String::as_str);
            ev.push(Evidence::new(
                Party::Team(t),
                Method::TeamTag,
                format!("team={name}"),
            ));
        }
        ev
    }

    /// Who is accountable for `id` now: the one answer every surface gives.
    pub fn accountable(&self, id: i64) -> Accountable {
        let attribution = self.attribute(id);
        let (left, route) = match attribution.owner {
            Some(Party::Person(p)) if !self.active(p) => {
                let person = self.people.get(&p);
                let left = person
                    .filter(|x| x.standing == Standing::Left)
                    .map(|x| (p, x.left_on.clone()));
                (left, Some(self.route(p, attribution.team)))
            }
            _ => (None, None),
        };
        Accountable {
            attribution,
            left,
            route,
        }
    }

    pub fn active(&self, person: i64) -> bool {
        self.people
            .get(&person)
            .is_some_and(|p| p.standing == Standing::Active)
    }

    /// Who takes over from a person who left.
    pub fn route(&self, leaver: i64, team: Option<Party>) -> Route {
        attribution::route(
            leaver,
            team,
            |p| self.people.get(&p).and_then(|x| x.manager),
            |p| self.active(p),
        )
    }

    /// A party in words: a person's e-mail (else name, else key) or a team's
    /// name.
    pub fn label(&self, p: Party) -> String {
        match p {
            Party::Person(id) => match self.people.get(&id) {
                Some(x) => x
                    .email
                    .clone()
                    .or_else(|| x.name.clone())
                    .unwrap_or_else(|| x.key.clone()),
                None => format!("n{id}"),
            },
            Party::Team(id) => format!("team {}", self.teams.get(&id).cloned().unwrap_or_default()),
        }
    }

    /// Whether the attribution says nobody owns it for sure.
    pub fn status(&self, id: i64) -> Status {
        self.attribute(id).status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_drop_modules_and_indexes() {
        assert_eq!(
            resource_address("aws_iam_user.x"),
            (false, "aws_iam_user.x".into())
        );
        assert_eq!(
            resource_address("module.a.module.b.aws_iam_user.x[\"k\"]"),
            (true, "aws_iam_user.x".into())
        );
    }

    #[test]
    fn names_point_at_one_persons_handle_with_known_suffixes() {
        let unique = |h: &str| match h {
            "kofi.khan" => Some(1),
            "kofi.khan2" => Some(2),
            _ => None,
        };
        assert_eq!(named_after("kofi.khan", &unique).map(|x| x.0), Some(1));
        assert_eq!(named_after("kofi.khan2", &unique).map(|x| x.0), Some(2));
        assert_eq!(named_after("kofi.khan-2", &unique).map(|x| x.0), Some(1));
        assert_eq!(named_after("kofi.khan2-3", &unique).map(|x| x.0), Some(2));
        assert_eq!(
            named_after("kofi.khan_admin", &unique).map(|x| x.0),
            Some(1)
        );
        // Anything else after the handle is someone's service, not theirs.
        assert_eq!(named_after("kofi.khan-reporting", &unique), None);
        assert_eq!(named_after("svc-payments-2", &unique), None);
        assert_eq!(named_after("-2", &unique), None);
    }

    #[test]
    fn free_text_names_addresses_and_handles_after_owner_words() {
        assert_eq!(
            owners_in_text(
                "Batch exporter. Owner: Wen.Chen@kestrel.example (payments)",
                true
            ),
            vec!["wen.chen@kestrel.example"]
        );
        assert_eq!(
            owners_in_text("owned by @wchen, ask in #payments", true),
            vec!["wchen"]
        );
        assert_eq!(owners_in_text("contact = jdoe", true), vec!["jdoe"]);
        // A `maintainer` annotation's whole value is one handle; a one-word
        // description is not.
        assert_eq!(owners_in_text("wchen", false), vec!["wchen"]);
        assert!(owners_in_text("Deployer", true).is_empty());
        // Words that only contain an owner word, and no value after one.
        assert!(owners_in_text("co-owner of the pipeline's contactless flow", true).is_empty());
        assert!(owners_in_text("Runs the nightly export", true).is_empty());
        assert!(owners_in_text("see user@ for details", true).is_empty());
    }

    #[test]
    fn an_employee_the_roster_lists_is_never_a_bot() {
        let person = |id: i64, key: &str, props: serde_json::Value| {
            let props = props.as_object().cloned().unwrap_or_default();
            (id, key.to_string(), props)
        };
        let fed = [
            person(
                1,
                "email:ci.bot@x.example",
                serde_json::json!({"employment_status": "active"}),
            ),
            person(
                2,
                "email:automation@x.example",
                serde_json::json!({"idp_status": "ACTIVE"}),
            ),
            person(3, "id:github/renovate[bot]", serde_json::json!({})),
        ];
        let mut b = Builder::new();
        for (id, key, props) in &fed {
            b.node(NodeIn {
                id: *id,
                label: "Human",
                kind: "employee",
                key,
                name: None,
                props,
            });
        }
        let o = b.build();
        assert_eq!(o.people[&1].bot, None);
        assert!(o.people[&2].bot.is_some());
        assert!(o.people[&3].bot.is_some());
    }

    #[test]
    fn bots_are_told_apart_by_their_names() {
        assert!(bot_reason(&["dependabot[bot]"]).is_some());
        assert!(bot_reason(&["automation@kestrel.example"]).is_some());
        assert!(bot_reason(&["terraform-ci@kestrel.example"]).is_some());
        assert!(bot_reason(&["ci-bot-2@kestrel.example"]).is_some());
        assert!(bot_reason(&["svc.deploy@kestrel.example"]).is_some());
        // People, whatever their names contain.
        assert!(bot_reason(&["abbott.lee@kestrel.example"]).is_none());
        assert!(bot_reason(&["bo.cid@kestrel.example"]).is_none());
        assert!(bot_reason(&["ci.wang@kestrel.example", "ciwang"]).is_none());
    }
}
