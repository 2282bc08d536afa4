//! Ownership: who is accountable for each identity, the identities nobody
//! active owns, and what a leaver leaves behind.
//!
//! [`Ownership::load`] reads the workforce (people, their status and
//! managers, teams) and every piece of ownership evidence the graph holds,
//! once; [`Ownership::attribute`] then combines one identity's evidence with
//! `custody-analysis::attribution` (scoring documented in
//! `docs/OWNERSHIP.md`). Evidence read:
//!
//! | evidence | from | method |
//! |---|---|---|
//! | `OWNED_BY` an owner tag, label or annotation | IAM, S3/KMS/EKS tags, Kubernetes metadata | `owner-tag` |
//! | `OWNED_BY` the system's own owner field | Entra app owners, GitHub token owners and SAML authorizations, Okta API tokens, Vault metadata | `system-owner` |
//! | `OWNED_BY` a `created-by` tag, `CREATED_BY` | tags, Vault secret-id metadata, deploy keys' `added_by`, Okta tokens, CloudTrail `CreateAccessKey`/`CreateUser`/`CreateRole` (the session's e-mail, or the calling user when it is one person's own) | `creator` |
//! | the author who added the Terraform code that defines it | `DEFINED_IN` state → code (`custody scan --git`) | `iac-author` / `iac-editor` |
//! | the `CODEOWNERS` rule of that code's file (person or team) | code `OWNED_BY` (`custody scan --git`) | `codeowners` |
//! | `APPROVED_BY` | Okta OAuth grants | `approver` |
//! | an `owner` label naming a handle, a name that is one person's handle | node properties | `owner-tag` / `handle` |
//! | a `team` tag or label | node properties, matched to groups | `team-tag` |
//!
//! A credential also inherits its principal's evidence (at 0.9 its weight).

use crate::progress::{step, Progress};
use anyhow::Result;
use custody_analysis::attribution::{self, Attribution, Evidence, Method, Party, Route, Status};
use custody_store::Store;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};

/// Where a person stands in the workforce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Standing {
    Active,
    /// Terminated in the roster, or deprovisioned in the IdP.
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
    pub left_on: Option<String>,
    pub manager: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Ident {
    pub id: i64,
    pub label: &'static str,
    pub key: String,
    pub kind: String,
    pub name: Option<String>,
}

/// The workforce and the evidence, in memory.
pub struct Ownership {
    pub people: HashMap<i64, Person>,
    /// Team party ids (a group's node id, or a negative id for a team only
    /// tags name) → name.
    pub teams: HashMap<i64, String>,
    pub identities: Vec<Ident>,
    index: HashMap<i64, usize>,
    evidence: HashMap<i64, Vec<Evidence>>,
    principals: HashMap<i64, Vec<i64>>,
    /// Person → the identities whose own evidence names them.
    named: HashMap<i64, Vec<i64>>,
    /// Principal → the credentials that authenticate as it (and inherit
    /// its evidence).
    credentials: HashMap<i64, Vec<i64>>,
}

const IDENTITY_LABELS: [&str; 3] = ["Credential", "Principal", "Agent"];

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

fn standing(props: &Map<String, Value>) -> Standing {
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

impl Ownership {
    /// Reads the workforce and the evidence. `progress` names each stage.
    pub fn load(store: &dyn Store, progress: &dyn Progress) -> Result<Ownership> {
        step(progress, "loading people and teams…");
        let mut people = HashMap::new();
        let mut by_handle: HashMap<String, Vec<i64>> = HashMap::new();
        store.scan_label("Human", &mut |n| {
            for h in handles(n.key, n.props) {
                by_handle.entry(h).or_default().push(n.id);
            }
            let email = text(n.props, "email")
                .map(str::to_string)
                .or_else(|| n.key.strip_prefix("email:").map(str::to_string));
            let gone = standing(n.props);
            people.insert(
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
                },
            );
        })?;
        let mut teams: HashMap<i64, String> = HashMap::new();
        let mut team_ids: HashMap<String, i64> = HashMap::new();
        let mut groups: Vec<(i64, String, String)> = Vec::new();
        store.scan_label("Group", &mut |n| {
            let name = n.name.unwrap_or(n.key).to_string();
            let slug = n
                .key
                .rsplit('/')
                .next()
                .unwrap_or(n.key)
                .to_ascii_lowercase();
            groups.push((n.id, name, slug));
        })?;
        groups.sort();
        for (id, name, slug) in groups {
            for k in [name.to_ascii_lowercase(), slug] {
                team_ids.entry(k).or_insert(id);
            }
            teams.insert(id, name);
        }
        let mut team = |name: &str| -> i64 {
            let k = name.trim().to_ascii_lowercase();
            if let Some(&id) = team_ids.get(&k) {
                return id;
            }
            let id = -(team_ids.len() as i64) - 1;
            team_ids.insert(k, id);
            teams.insert(id, name.trim().to_string());
            id
        };
        let unique = |h: &str| -> Option<i64> {
            match by_handle.get(&h.to_ascii_lowercase()).map(Vec::as_slice) {
                Some([one]) => Some(*one),
                _ => None,
            }
        };
        step(progress, "loading identities…");
        let mut identities = Vec::new();
        let mut evidence: HashMap<i64, Vec<Evidence>> = HashMap::new();
        for label in IDENTITY_LABELS {
            store.scan_label(label, &mut |n| {
                let mut ev = Vec::new();
                if let Some(o) = text(n.props, "owner").filter(|o| !o.contains('@')) {
                    if let Some(p) = unique(o) {
                        ev.push(Evidence::new(
                            Party::Person(p),
                            Method::OwnerTag,
                            format!("owner={o} (one person's handle)"),
                        ));
                    }
                }
                if label == "Principal" {
                    if let Some((p, said)) = n.name.and_then(|name| named_after(name, &unique)) {
                        ev.push(Evidence::new(Party::Person(p), Method::Handle, said));
                    }
                }
                if let Some(t) = team_of(n.props) {
                    ev.push(Evidence::new(
                        Party::Team(team(t)),
                        Method::TeamTag,
                        format!("team={t}"),
                    ));
                }
                if !ev.is_empty() {
                    evidence.insert(n.id, ev);
                }
                identities.push(Ident {
                    id: n.id,
                    label,
                    key: n.key.to_string(),
                    kind: n.kind.to_string(),
                    name: n.name.map(str::to_string),
                });
            })?;
        }
        let index: HashMap<i64, usize> = identities
            .iter()
            .enumerate()
            .map(|(i, d)| (d.id, i))
            .collect();
        step(progress, "loading Terraform state and code…");
        let mut states: HashMap<i64, (String, String)> = HashMap::new();
        let mut code: HashMap<i64, Code> = HashMap::new();
        let mut roots: Vec<(String, String, String)> = Vec::new();
        store.scan_nodes(
            &["terraform_resource", "terraform_code", "terraform_root"],
            &mut |n| match n.kind {
                "terraform_resource" => {
                    if let (Some(f), Some(a)) =
                        (text(n.props, "state_file"), text(n.props, "address"))
                    {
                        states.insert(n.id, (f.to_string(), a.to_string()));
                    }
                }
                "terraform_code" => {
                    if let (Some(r), Some(d), Some(a)) = (
                        text(n.props, "repository"),
                        n.props.get("dir").and_then(Value::as_str),
                        text(n.props, "address"),
                    ) {
                        code.insert(
                            n.id,
                            Code {
                                repo: r.to_string(),
                                dir: d.to_string(),
                                address: a.to_string(),
                            },
                        );
                    }
                }
                _ => {
                    if let (Some(r), Some(d), Some(k)) = (
                        text(n.props, "repository"),
                        n.props.get("dir").and_then(Value::as_str),
                        text(n.props, "backend_key"),
                    ) {
                        roots.push((r.to_string(), d.to_string(), k.to_string()));
                    }
                }
            },
        )?;
        step(progress, "loading ownership evidence…");
        let mut principals: HashMap<i64, Vec<i64>> = HashMap::new();
        let mut defined: Vec<(i64, i64)> = Vec::new();
        let mut code_authors: HashMap<i64, Vec<(i64, bool, String)>> = HashMap::new();
        let mut code_owners: HashMap<i64, Vec<(i64, String)>> = HashMap::new();
        let mut managers: Vec<(i64, i64)> = Vec::new();
        let mut made_by_principal: Vec<(i64, i64, String)> = Vec::new();
        store.scan_edges(
            &[
                "OWNED_BY",
                "CREATED_BY",
                "APPROVED_BY",
                "AUTHENTICATES_AS",
                "DEFINED_IN",
                "REPORTS_TO",
            ],
            &mut |src, kind, dst, props| {
                let said = |default: &str| text(props, "evidence").unwrap_or(default).to_string();
                match kind {
                    "AUTHENTICATES_AS" => principals.entry(src).or_default().push(dst),
                    "DEFINED_IN" => defined.push((src, dst)),
                    "REPORTS_TO" => managers.push((src, dst)),
                    "OWNED_BY" if code.contains_key(&src) => {
                        code_owners
                            .entry(src)
                            .or_default()
                            .push((dst, said("named in CODEOWNERS")));
                    }
                    "CREATED_BY" if code.contains_key(&src) => {
                        let added = text(props, "role") != Some("edited");
                        let commit = text(props, "commit")
                            .map(|c| c.get(..12).unwrap_or(c))
                            .unwrap_or("?");
                        code_authors
                            .entry(src)
                            .or_default()
                            .push((dst, added, commit.to_string()));
                    }
                    // Created by an IAM user (CloudTrail): a person's own
                    // user names the person, below.
                    "CREATED_BY" if index.contains_key(&src) && index.contains_key(&dst) => {
                        made_by_principal.push((src, dst, said("created it")));
                    }
                    _ if index.contains_key(&src) && people.contains_key(&dst) => {
                        let method = match (kind, text(props, "method")) {
                            ("CREATED_BY", _) | (_, Some("created-by-tag")) => Method::Creator,
                            ("APPROVED_BY", _) => Method::Approver,
                            (_, Some("resource-tag" | "k8s-metadata")) => Method::OwnerTag,
                            _ => Method::SystemOwner,
                        };
                        let default = match kind {
                            "APPROVED_BY" => "approved the OAuth grant",
                            "CREATED_BY" => "created it",
                            _ => "named as owner",
                        };
                        evidence.entry(src).or_default().push(Evidence::new(
                            Party::Person(dst),
                            method,
                            said(default),
                        ));
                    }
                    _ => {}
                }
            },
        )?;
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
        // State → code: the directory whose backend key names the state
        // file, then the declaration of the same resource there.
        let mut state_root: HashMap<&str, Option<(&str, &str)>> = HashMap::new();
        for (file, _) in states.values() {
            let matching: Vec<(&str, &str)> = roots
                .iter()
                .filter(|(_, _, k)| file == k || file.ends_with(&format!("/{k}")))
                .map(|(r, d, _)| (r.as_str(), d.as_str()))
                .collect();
            state_root.insert(file, (matching.len() == 1).then(|| matching[0]));
        }
        let mut decls: HashMap<(&str, &str), Vec<(i64, &str)>> = HashMap::new();
        for (id, c) in &code {
            decls
                .entry((c.repo.as_str(), c.address.as_str()))
                .or_default()
                .push((*id, c.dir.as_str()));
        }
        for (ident, loc) in defined {
            let Some((file, addr)) = states.get(&loc) else {
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
            let Some(c) = code.get(&code_id) else {
                continue;
            };
            for (who, added, commit) in code_authors.get(&code_id).into_iter().flatten() {
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
            for (who, said) in code_owners.get(&code_id).into_iter().flatten() {
                let party = if people.contains_key(who) {
                    Party::Person(*who)
                } else if let Some(name) = teams.get(who) {
                    // One party per team name: the GitHub team CODEOWNERS
                    // names is the team a `team` tag names.
                    Party::Team(
                        team_ids
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
        let mut named: HashMap<i64, Vec<i64>> = HashMap::new();
        for (ident, evs) in &evidence {
            for e in evs {
                if let Party::Person(p) = e.party {
                    named.entry(p).or_default().push(*ident);
                }
            }
        }
        let mut credentials: HashMap<i64, Vec<i64>> = HashMap::new();
        for (cred, ps) in &principals {
            for p in ps {
                credentials.entry(*p).or_default().push(*cred);
            }
        }
        Ok(Ownership {
            people,
            teams,
            identities,
            index,
            evidence,
            principals,
            named,
            credentials,
        })
    }

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
        let mut ev: Vec<Evidence> = self.evidence.get(&id).cloned().unwrap_or_default();
        for p in self.principals.get(&id).into_iter().flatten() {
            let via = self.ident(*p).map_or("its principal", |d| d.key.as_str());
            for e in self.evidence.get(p).into_iter().flatten() {
                ev.push(e.inherited(via));
            }
        }
        attribution::attribute(ev)
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

    pub fn party(&self, p: Party) -> PartyOut {
        match p {
            Party::Person(id) => match self.people.get(&id) {
                Some(x) => PartyOut {
                    kind: "person",
                    key: x.key.clone(),
                    name: x.name.clone(),
                    email: x.email.clone(),
                    standing: Some(x.standing),
                    left_on: x.left_on.clone(),
                },
                None => PartyOut::unknown(id),
            },
            Party::Team(id) => PartyOut {
                kind: "team",
                key: self.teams.get(&id).cloned().unwrap_or_default(),
                name: self.teams.get(&id).cloned(),
                email: None,
                standing: None,
                left_on: None,
            },
        }
    }

    /// The attribution as every surface shows it.
    pub fn view(&self, id: i64) -> Option<OwnerView> {
        let d = self.ident(id)?;
        let a = self.attribute(id);
        let owner_person = match a.owner {
            Some(Party::Person(p)) => Some(p),
            _ => None,
        };
        let route = owner_person.filter(|p| !self.active(*p)).map(|p| {
            let r = self.route(p, a.team);
            RouteOut {
                to: r.to.map(|t| self.party(t)),
                why: r.why,
            }
        });
        Some(OwnerView {
            identity: IdentOut::of(d),
            status: a.status,
            owner: a.owner.map(|p| self.party(p)),
            confidence: a.confidence,
            team: a.team.map(|t| self.party(t)),
            conflicts: a
                .conflicts()
                .map(|s| ScoreOut {
                    party: self.party(s.party),
                    score: s.score,
                })
                .collect(),
            evidence: a
                .evidence
                .iter()
                .map(|e| EvidenceOut {
                    party: self.party(e.party),
                    method: e.method.as_str(),
                    weight: e.weight,
                    said: e.said.clone(),
                    via: e.via.clone(),
                })
                .collect(),
            route,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PartyOut {
    /// `person` or `team`.
    pub kind: &'static str,
    pub key: String,
    pub name: Option<String>,
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standing: Option<Standing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left_on: Option<String>,
}

impl PartyOut {
    fn unknown(id: i64) -> PartyOut {
        PartyOut {
            kind: "person",
            key: format!("n{id}"),
            name: None,
            email: None,
            standing: Some(Standing::Unknown),
            left_on: None,
        }
    }

    /// An e-mail, a name, or the key.
    pub fn label(&self) -> String {
        match (self.kind, &self.email, &self.name) {
            ("team", _, Some(n)) => format!("team {n}"),
            (_, Some(e), _) => e.clone(),
            (_, _, Some(n)) => n.clone(),
            _ => self.key.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct IdentOut {
    pub key: String,
    pub label: &'static str,
    pub kind: String,
    pub name: Option<String>,
}

impl IdentOut {
    fn of(d: &Ident) -> IdentOut {
        IdentOut {
            key: d.key.clone(),
            label: d.label,
            kind: d.kind.clone(),
            name: d.name.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct EvidenceOut {
    pub party: PartyOut,
    pub method: &'static str,
    pub weight: f64,
    pub said: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScoreOut {
    pub party: PartyOut,
    pub score: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RouteOut {
    pub to: Option<PartyOut>,
    pub why: String,
}

/// `custody owner ID`.
#[derive(Debug, Clone, Serialize)]
pub struct OwnerView {
    pub identity: IdentOut,
    /// `owned`, `team`, `contested`, `weak` or `unowned`.
    pub status: Status,
    pub owner: Option<PartyOut>,
    pub confidence: f64,
    pub team: Option<PartyOut>,
    /// Other people the evidence names.
    pub conflicts: Vec<ScoreOut>,
    pub evidence: Vec<EvidenceOut>,
    /// When the owner has left: who takes over.
    pub route: Option<RouteOut>,
}

/// One identity nobody active owns (`custody orphans`).
#[derive(Debug, Clone, Serialize)]
pub struct Orphan {
    pub identity: IdentOut,
    /// `owner-left`, `owner-unknown`, `contested`, `weak` or `unowned`.
    pub reason: &'static str,
    pub former_owner: Option<PartyOut>,
    pub confidence: f64,
    /// Who should take it: the leaver's manager chain, else the team.
    pub proposed: Option<PartyOut>,
    pub why: String,
}

/// Every identity without an active owner, most actionable first: those
/// whose owner left (with a new owner to route to), then unknown owners,
/// contested, weak and unowned.
pub fn orphans(o: &Ownership) -> Vec<Orphan> {
    let mut out = Vec::new();
    for d in &o.identities {
        let a = o.attribute(d.id);
        let (reason, former, proposed, why) = match (a.status, a.owner) {
            (Status::Owned, Some(Party::Person(p))) if o.active(p) => continue,
            (Status::Team, _) => continue,
            (Status::Owned, Some(Party::Person(p))) => {
                let r = o.route(p, a.team);
                let reason = match o.people.get(&p).map(|x| x.standing) {
                    Some(Standing::Left) => "owner-left",
                    _ => "owner-unknown",
                };
                (reason, Some(o.party(Party::Person(p))), r.to, r.why)
            }
            (Status::Contested, _) => (
                "contested",
                None,
                a.team,
                format!(
                    "{} people are named: decide between {}",
                    a.conflicts().count(),
                    a.scores
                        .iter()
                        .filter(|s| matches!(s.party, Party::Person(_)))
                        .take(3)
                        .map(|s| o.party(s.party).label())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            (Status::Weak, _) => ("weak", None, a.team, "only weak evidence".to_string()),
            _ => (
                "unowned",
                None,
                None,
                "no evidence names anyone".to_string(),
            ),
        };
        out.push(Orphan {
            identity: IdentOut::of(d),
            reason,
            former_owner: former,
            confidence: a.confidence,
            proposed: proposed.map(|p| o.party(p)),
            why,
        });
    }
    let rank = |r: &str| match r {
        "owner-left" => 0,
        "owner-unknown" => 1,
        "contested" => 2,
        "weak" => 3,
        _ => 4,
    };
    out.sort_by(|a, b| {
        rank(a.reason)
            .cmp(&rank(b.reason))
            .then_with(|| {
                let l = |x: &Orphan| x.proposed.as_ref().map(PartyOut::label);
                l(a).cmp(&l(b))
            })
            .then_with(|| a.identity.key.cmp(&b.identity.key))
    });
    out
}

/// What one leaver leaves behind, identity by identity.
#[derive(Debug, Clone, Serialize)]
pub struct Offboarding {
    pub person: PartyOut,
    pub manager: Option<PartyOut>,
    /// Every identity they own or created.
    pub identities: Vec<Handover>,
    /// By system: how many.
    pub systems: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Handover {
    pub identity: IdentOut,
    pub system: String,
    /// `owner`, `creator` (someone else owns it) or `creator (contested)`.
    pub relation: String,
    pub confidence: f64,
    /// The owner when it is not the leaver.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<PartyOut>,
    /// The evidence that names the leaver, and any that names someone else.
    pub evidence: Vec<EvidenceOut>,
    /// Where its secret material is stored (or where it is defined).
    pub surfaces: Vec<String>,
    /// Last use seen in audit logs, and whether that was after they left.
    pub last_used: Option<String>,
    pub used_after_leaving: bool,
    /// For AWS: what it can reach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blast_radius: Option<String>,
    pub action: String,
    /// Who takes it over.
    pub to: Option<PartyOut>,
    pub why: String,
}

/// The system an identity belongs to, from its kind and key.
pub fn system_of(kind: &str, key: &str) -> String {
    let k = kind.to_ascii_lowercase();
    let s =
        if k.starts_with("aws") || key.starts_with("aws-access-key:") || key.starts_with("arn:aws")
        {
            "aws"
        } else if k.starts_with("gcp") || k.starts_with("google") {
            "gcp"
        } else if k.starts_with("k8s") || k.starts_with("kubernetes") || key.starts_with("k8s:") {
            "kubernetes"
        } else if k.starts_with("github") {
            "github"
        } else if k.starts_with("vault") {
            "vault"
        } else if k.starts_with("okta") {
            "okta"
        } else if k.starts_with("entra") || k.starts_with("azure") {
            "azure"
        } else if k.contains("agent") || k.starts_with("mcp") {
            "ai-agent"
        } else {
            k.split('_').next().unwrap_or("other")
        };
    s.to_string()
}

/// The identities `person` owns or created, with what to do about each.
/// `blast` ranks an AWS identity's reach (None when not modelled).
pub fn offboard(
    o: &Ownership,
    store: &dyn Store,
    person: i64,
    blast: &dyn Fn(i64, &str) -> Option<String>,
) -> Result<Offboarding> {
    let who = o.party(Party::Person(person));
    let me = Party::Person(person);
    let left_at = o
        .people
        .get(&person)
        .and_then(|p| p.left_on.as_deref())
        .and_then(|d| custody_model::event::rfc3339_seconds(&format!("{d}T00:00:00Z")));
    let mut picked: Vec<(&Ident, Attribution)> = Vec::new();
    for d in o.naming(person).into_iter().filter_map(|id| o.ident(id)) {
        let a = o.attribute(d.id);
        if a.owner == Some(me) || a.creators().any(|c| c == me) {
            picked.push((d, a));
        }
    }
    let keys: Vec<&str> = picked.iter().map(|(d, _)| d.key.as_str()).collect();
    let profiles = store.usage_profiles(&keys)?;
    let mut out = Vec::new();
    let mut systems: BTreeMap<String, usize> = BTreeMap::new();
    for (d, a) in picked {
        let system = system_of(&d.kind, &d.key);
        *systems.entry(system.clone()).or_default() += 1;
        let owned = a.owner == Some(me);
        let relation = match (owned, a.status) {
            (true, _) => "owner".to_string(),
            (false, Status::Owned | Status::Team) => "creator".to_string(),
            (false, s) => format!(
                "creator ({})",
                serde_json::to_value(s)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            ),
        };
        let mut surfaces = Vec::new();
        for e in store.edges(d.id)? {
            if e.direction == "out" && matches!(e.kind.as_str(), "STORED_IN" | "DEFINED_IN") {
                surfaces.push(format!(
                    "{} {}",
                    e.kind,
                    e.other.name.clone().unwrap_or(e.other.key.clone())
                ));
            }
            if e.direction == "in" && e.kind == "HOLDS" {
                surfaces.push(format!(
                    "HELD BY {}",
                    e.other.name.clone().unwrap_or(e.other.key.clone())
                ));
            }
        }
        // Audit logs, else what the system itself records (a token's
        // `last_used`, a credential authorization's `accessed`).
        let logged = profiles.get(&d.key).and_then(|p| {
            serde_json::from_str::<Value>(p)
                .ok()
                .and_then(|v| v.get("last").and_then(Value::as_i64))
        });
        let recorded = store.node(d.id)?.and_then(|n| {
            n.props
                .iter()
                .filter(|(k, _)| k.contains("last_used") || k.contains("accessed"))
                .filter_map(|(_, v)| v.as_str())
                .filter_map(|t| {
                    custody_model::event::rfc3339_seconds(t).or_else(|| {
                        custody_model::event::rfc3339_seconds(&format!(
                            "{}T00:00:00Z",
                            t.get(..10)?
                        ))
                    })
                })
                .max()
        });
        let last = logged.max(recorded);
        let used_after = matches!((last, left_at), (Some(l), Some(t)) if l >= t);
        let is_cred = d.label == "Credential";
        let action = match (owned, used_after, is_cred) {
            (false, _, _) if a.owner.is_none() => {
                "settle the owner first (the evidence conflicts), then review it".to_string()
            }
            (false, _, _) => "confirm the current owner knows it exists; nothing moves".to_string(),
            (true, true, true) => {
                "in use after they left: find the consumer, rotate it, hand it to the new owner"
                    .into()
            }
            (true, false, true) => {
                "unused since they left: disable it, then revoke after the new owner confirms"
                    .into()
            }
            (true, true, false) => {
                "in use: transfer ownership (tags, owners) to the new owner and review its access"
                    .into()
            }
            (true, false, false) => {
                "transfer ownership to the new owner, or delete it if nobody needs it".into()
            }
        };
        let (to, why) = if owned {
            let r = o.route(person, a.team);
            (r.to.map(|t| o.party(t)), r.why)
        } else if let Some(p) = a.owner {
            (Some(o.party(p)), "already owned by someone else".into())
        } else {
            let named: Vec<String> = a
                .scores
                .iter()
                .filter(|s| matches!(s.party, Party::Person(_)) && s.party != me)
                .map(|s| o.party(s.party).label())
                .collect();
            (
                None,
                format!(
                    "the evidence disagrees: confirm with {} who owns it",
                    named.join(", ")
                ),
            )
        };
        out.push(Handover {
            identity: IdentOut::of(d),
            system,
            relation,
            confidence: a.confidence,
            owner: if owned {
                None
            } else {
                a.owner.map(|p| o.party(p))
            },
            evidence: a
                .evidence
                .iter()
                .filter(|e| matches!(e.party, Party::Person(_)))
                .map(|e| EvidenceOut {
                    party: o.party(e.party),
                    method: e.method.as_str(),
                    weight: e.weight,
                    said: e.said.clone(),
                    via: e.via.clone(),
                })
                .collect(),
            surfaces,
            last_used: last.map(crate::usage::time_text),
            used_after_leaving: used_after,
            blast_radius: blast(d.id, &d.key),
            action,
            to,
            why,
        });
    }
    out.sort_by(|a, b| {
        a.system
            .cmp(&b.system)
            .then(a.identity.key.cmp(&b.identity.key))
    });
    let manager = o
        .people
        .get(&person)
        .and_then(|p| p.manager)
        .map(|m| o.party(Party::Person(m)));
    Ok(Offboarding {
        person: who,
        manager,
        identities: out,
        systems,
    })
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
    fn systems_are_named_from_kinds() {
        assert_eq!(system_of("aws_access_key", "aws-access-key:AKIA"), "aws");
        assert_eq!(system_of("k8s_service_account_token", "x"), "kubernetes");
        assert_eq!(system_of("gcp_service_account_key", "x"), "gcp");
        assert_eq!(system_of("vault_approle_secret_id", "x"), "vault");
    }
}
