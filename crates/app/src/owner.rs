//! Ownership as every surface shows it: who is accountable for each
//! identity (`custody owner`), the identities nobody active owns
//! (`custody orphans`), and what a leaver leaves behind (`custody offboard`).
//!
//! The evidence rules and the scoring live in `custody-analysis`
//! (`ownership` and `attribution`, documented in `docs/OWNERSHIP.md`); this
//! module feeds them from the store — the whole graph ([`load`]) or only
//! what some identities' evidence depends on ([`load_for`]) — and turns the
//! answers into views.

use crate::progress::{step, Progress};
use anyhow::Result;
use custody_analysis::attribution::{Attribution, Party, Status};
use custody_analysis::ownership::{
    Builder, EdgeIn, NodeIn, EDGE_KINDS, IDENTITY_LABELS, TERRAFORM_KINDS,
};
pub use custody_analysis::ownership::{Ident, Ownership, Person, Standing};
use custody_store::Store;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Reads the workforce and every identity's evidence from the store.
pub fn load(store: &dyn Store, progress: &dyn Progress) -> Result<Ownership> {
    let mut b = Builder::new();
    step(progress, "loading people and teams…");
    for label in ["Human", "Group"] {
        store.scan_label(label, &mut |n| b.node(node_in(&n)))?;
    }
    store.scan_label_keys("Human", &mut |id, k| b.key(id, k))?;
    step(progress, "loading identities…");
    for label in IDENTITY_LABELS {
        store.scan_label(label, &mut |n| b.node(node_in(&n)))?;
    }
    step(progress, "loading Terraform state and code…");
    store.scan_nodes(&TERRAFORM_KINDS, &mut |n| b.node(node_in(&n)))?;
    step(progress, "loading ownership evidence…");
    store.scan_edges(&EDGE_KINDS, &mut |src, kind, dst, props| {
        b.edge(EdgeIn {
            src,
            kind,
            dst,
            props,
        })
    })?;
    Ok(b.build())
}

/// [`load`] from the in-memory graph a surface already holds (posture, the
/// server): no second pass over the store but for the placeholder nodes the
/// in-memory graph leaves out (people only a tag names, users only a log
/// names). The same answer as [`load`] (a test holds them together).
pub fn from_graph(graph: &custody_query::MemGraph, store: &dyn Store) -> Result<Ownership> {
    from_graph_of(graph, store, None)
}

/// [`from_graph`] for the credentials only (what `owner-left` and the
/// `leavers-active-keys` question ask about): the credentials, the
/// principals they inherit from and the users that created those — about
/// half the identities of an estate, whose roles and unused service
/// accounts no credential inherits from. Each credential is attributed as
/// after a full load.
pub fn credentials_from_graph(
    graph: &custody_query::MemGraph,
    store: &dyn Store,
) -> Result<Ownership> {
    use custody_query::Graph;
    let creds = graph.scan(Some("Credential"), None)?;
    let mut ids = creds.clone();
    for &c in &creds {
        for e in graph.edges(c)?.iter() {
            if e.from == c && e.kind == "AUTHENTICATES_AS" {
                ids.push(e.to);
            }
        }
    }
    let principals = ids.len();
    for i in 0..principals {
        let id = ids[i];
        for e in graph.edges(id)?.iter() {
            if e.from == id && e.kind == "CREATED_BY" {
                ids.push(e.to);
            }
        }
    }
    ids.sort_unstable();
    ids.dedup();
    from_graph_of(graph, store, Some(&ids))
}

/// The in-memory graph's people, groups, Terraform nodes and placeholders,
/// and its identities (only those of `only`, when given), into the builder.
fn from_graph_of(
    graph: &custody_query::MemGraph,
    store: &dyn Store,
    only: Option<&[i64]>,
) -> Result<Ownership> {
    use custody_query::Graph;
    let t = std::time::Instant::now();
    let mut b = Builder::new();
    let feed = |b: &mut Builder, id: i64| -> Result<()> {
        // Each node's properties parsed for this and dropped: kept, they
        // would double the graph's memory for a pass that reads a few.
        graph.with_node(id, &mut |n| {
            n.props.with(|props| {
                b.node(NodeIn {
                    id,
                    label: &n.label,
                    kind: &n.kind,
                    key: &n.key,
                    name: n.name.as_deref(),
                    props,
                })
            })
        })?;
        Ok(())
    };
    let mut ids = Vec::new();
    for label in ["Human", "Group"] {
        ids.extend(graph.scan(Some(label), None)?);
    }
    match only {
        Some(only) => ids.extend_from_slice(only),
        None => {
            for label in IDENTITY_LABELS {
                ids.extend(graph.scan(Some(label), None)?);
            }
        }
    }
    for kind in TERRAFORM_KINDS {
        ids.extend(graph.scan(None, Some(kind))?);
    }
    for &id in &ids {
        feed(&mut b, id)?;
    }
    tracing::debug!("ownership: nodes {:.2}s", t.elapsed().as_secs_f64());
    store.scan_placeholders(&mut |n| {
        ids.push(n.id);
        b.node(node_in(&n))
    })?;
    store.scan_label_keys("Human", &mut |id, k| b.key(id, k))?;
    // Managers are edges of people; everything else of identities and code.
    for id in ids {
        for e in graph.edges(id)?.iter() {
            if e.from == id && EDGE_KINDS.contains(&e.kind.as_str()) {
                e.props.with(|props| {
                    b.edge(EdgeIn {
                        src: e.from,
                        kind: &e.kind,
                        dst: e.to,
                        props,
                    })
                });
            }
        }
    }
    tracing::debug!("ownership: edges {:.2}s", t.elapsed().as_secs_f64());
    let o = b.build();
    tracing::debug!("ownership: built {:.2}s", t.elapsed().as_secs_f64());
    Ok(o)
}

/// [`load`] for only what the evidence of `ids` can depend on: the
/// workforce and teams, the identities and the principals they authenticate
/// as, the users that created them, their Terraform state and its code.
/// Every identity of `ids` is attributed exactly as after a full load (a
/// test holds the two against each other); it costs a few queries per
/// identity instead of a pass over the graph.
pub fn load_for(store: &dyn Store, ids: &[i64]) -> Result<Ownership> {
    let mut b = Builder::new();
    for label in ["Human", "Group"] {
        store.scan_label(label, &mut |n| b.node(node_in(&n)))?;
    }
    store.scan_label_keys("Human", &mut |id, k| b.key(id, k))?;
    store.scan_edges(&["REPORTS_TO"], &mut |src, kind, dst, props| {
        b.edge(EdgeIn {
            src,
            kind,
            dst,
            props,
        })
    })?;
    let feed = |b: &mut Builder, id: i64| -> Result<bool> {
        let Some(n) = store.node(id)? else {
            return Ok(false);
        };
        if n.brief.retired {
            return Ok(false);
        }
        b.node(NodeIn {
            id,
            label: &n.brief.label,
            kind: &n.brief.kind,
            key: &n.brief.key,
            name: n.brief.name.as_deref(),
            props: &n.props,
        });
        Ok(true)
    };
    // Each identity, then the principals they inherit from (one level).
    let mut done = std::collections::HashSet::new();
    let mut terraform = false;
    let mut level: Vec<i64> = ids.to_vec();
    for first in [true, false] {
        let mut next = Vec::new();
        for id in std::mem::take(&mut level) {
            if !done.insert(id) || !feed(&mut b, id)? {
                continue;
            }
            for e in store.edges(id)? {
                if e.direction != "out" || e.retired || !EDGE_KINDS.contains(&e.kind.as_str()) {
                    continue;
                }
                match e.kind.as_str() {
                    "AUTHENTICATES_AS" if first => next.push(e.other.id),
                    // A user who created it: its name may be a person's handle.
                    "CREATED_BY" if e.other.label != "Human" => {
                        feed(&mut b, e.other.id)?;
                    }
                    "DEFINED_IN" => {
                        terraform |= feed(&mut b, e.other.id)?;
                    }
                    _ => {}
                }
                b.edge(EdgeIn {
                    src: id,
                    kind: &e.kind,
                    dst: e.other.id,
                    props: &e.props,
                });
            }
        }
        level = next;
    }
    if terraform {
        // The code side of the join: every declaration and directory, and
        // who wrote and owns each declaration.
        let mut code = Vec::new();
        store.scan_nodes(&["terraform_code", "terraform_root"], &mut |n| {
            if n.kind == "terraform_code" {
                code.push(n.id);
            }
            b.node(node_in(&n));
        })?;
        for id in code {
            for e in store.edges(id)? {
                if e.direction == "out" && !e.retired {
                    b.edge(EdgeIn {
                        src: id,
                        kind: &e.kind,
                        dst: e.other.id,
                        props: &e.props,
                    });
                }
            }
        }
    }
    Ok(b.build())
}

/// Who is accountable for the identities `keys` name, as lists show them
/// ([`owner_keys`]): one scoped load for all of them. Keys the graph does not
/// know get an empty list.
pub fn owners_of(store: &dyn Store, keys: &[&str]) -> Result<Vec<Vec<String>>> {
    let mut ids = Vec::with_capacity(keys.len());
    for k in keys {
        ids.push(store.find(k)?);
    }
    let known: Vec<i64> = ids.iter().flatten().copied().collect();
    let o = load_for(store, &known)?;
    Ok(ids
        .into_iter()
        .map(|id| id.map(|id| owner_keys(&o, id)).unwrap_or_default())
        .collect())
}

/// Who is accountable for `id`, as lists show it: the owner (a person's key,
/// `email:…`, or `team:<name>`); when people contest it, each of them; empty
/// when nobody is.
pub fn owner_keys(o: &Ownership, id: i64) -> Vec<String> {
    let key = |p: Party| match p {
        Party::Person(id) => o
            .people
            .get(&id)
            .map(|x| x.key.clone())
            .unwrap_or_else(|| format!("n{id}")),
        Party::Team(id) => format!("team:{}", o.teams.get(&id).cloned().unwrap_or_default()),
    };
    let a = o.attribute(id);
    match (a.status, a.owner) {
        (_, Some(owner)) => vec![key(owner)],
        (Status::Contested, None) => a
            .scores
            .iter()
            .filter(|s| matches!(s.party, Party::Person(_)))
            .map(|s| key(s.party))
            .collect(),
        _ => Vec::new(),
    }
}

fn node_in<'a>(n: &'a custody_store::ScanNode<'a>) -> NodeIn<'a> {
    NodeIn {
        id: n.id,
        label: n.label,
        kind: n.kind,
        key: n.key,
        name: n.name,
        props: n.props,
    }
}

/// A piece of evidence as every surface shows it.
fn evidence_out(o: &Ownership, e: &custody_analysis::attribution::Evidence) -> EvidenceOut {
    EvidenceOut {
        party: party(o, e.party),
        method: e.method.as_str(),
        weight: e.weight,
        said: e.said.clone(),
        via: e.via.clone(),
        not_counted: e.not_counted.clone(),
    }
}

/// A party as every surface shows it.
pub fn party(o: &Ownership, p: Party) -> PartyOut {
    match p {
        Party::Person(id) => match o.people.get(&id) {
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
            key: o.teams.get(&id).cloned().unwrap_or_default(),
            name: o.teams.get(&id).cloned(),
            email: None,
            standing: None,
            left_on: None,
        },
    }
}

/// The attribution as every surface shows it.
pub fn view(o: &Ownership, id: i64) -> Option<OwnerView> {
    let d = o.ident(id)?;
    let a = o.attribute(id);
    let owner_person = match a.owner {
        Some(Party::Person(p)) => Some(p),
        _ => None,
    };
    let route = owner_person.filter(|p| !o.active(*p)).map(|p| {
        let r = o.route(p, a.team);
        RouteOut {
            to: r.to.map(|t| party(o, t)),
            why: r.why,
        }
    });
    Some(OwnerView {
        identity: IdentOut::of(d),
        status: a.status,
        owner: a.owner.map(|p| party(o, p)),
        confidence: a.confidence,
        team: a.team.map(|t| party(o, t)),
        conflicts: a
            .conflicts()
            .map(|s| ScoreOut {
                party: party(o, s.party),
                score: s.score,
            })
            .collect(),
        evidence: a.evidence.iter().map(|e| evidence_out(o, e)).collect(),
        route,
    })
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
            kind: d.kind.to_string(),
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
    /// Shown but not counted, and why (a bot, a commit author no
    /// directory lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_counted: Option<String>,
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
                (reason, Some(party(o, Party::Person(p))), r.to, r.why)
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
                        .map(|s| party(o, s.party).label())
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
            proposed: proposed.map(|p| party(o, p)),
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
    let who = party(o, Party::Person(person));
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
            (r.to.map(|t| party(o, t)), r.why)
        } else if let Some(p) = a.owner {
            (Some(party(o, p)), "already owned by someone else".into())
        } else {
            let named: Vec<String> = a
                .scores
                .iter()
                .filter(|s| matches!(s.party, Party::Person(_)) && s.party != me)
                .map(|s| party(o, s.party).label())
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
                a.owner.map(|p| party(o, p))
            },
            evidence: a
                .evidence
                .iter()
                .filter(|e| matches!(e.party, Party::Person(_)))
                .map(|e| evidence_out(o, e))
                .collect(),
            surfaces,
            last_used: last.map(custody_model::time::from_unix),
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
        .map(|m| party(o, Party::Person(m)));
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
    fn systems_are_named_from_kinds() {
        assert_eq!(system_of("aws_access_key", "aws-access-key:AKIA"), "aws");
        assert_eq!(system_of("k8s_service_account_token", "x"), "kubernetes");
        assert_eq!(system_of("gcp_service_account_key", "x"), "gcp");
        assert_eq!(system_of("vault_approle_secret_id", "x"), "vault");
    }
}
