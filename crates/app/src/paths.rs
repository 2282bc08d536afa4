//! The paths of one identity, as a graph to draw (`GET
//! /v1/nodes/{ref}/paths`, the web UI's Paths page): where its secret is
//! stored, what it authenticates as, the role chains and federation it can
//! follow (across clouds), and the resources it reaches, each edge with what
//! grants it.
//!
//! A drawing of thousands of nodes helps no one: above `budget` nodes the
//! resources are summarised per account and kind (a group node with its
//! count and highest sensitivity); `expand` names the groups to draw in full.
//! Columns say where each node sits left to right: surfaces −1, the identity
//! 0, then each hop, resources last.

use crate::show;
use anyhow::Result;
use custody_analysis::Model;
use custody_store::{NodeBrief, Store};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The default node budget: above it, resources are grouped.
pub const DEFAULT_BUDGET: usize = 2000;

#[derive(Debug, Clone, Serialize)]
pub struct PathNode {
    /// `n<id>` for a graph node, `p:<arn>` for a principal only the
    /// permission model knows, `g:<account>|<kind>` for a group.
    pub id: String,
    /// The graph node, when there is one.
    pub node: Option<i64>,
    pub label: String,
    pub kind: String,
    pub key: String,
    pub name: Option<String>,
    pub column: i32,
    /// Resources: how sensitive (a group: its most sensitive member).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensitivity: Option<&'static str>,
    /// Groups: how many resources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PathEdge {
    pub from: String,
    pub to: String,
    /// `STORED_IN`, `USED_BY`, `HELD_BY`, `AUTHENTICATES_AS`, `CAN_ASSUME`
    /// (role chains, federation, escalation) or `CAN_ACCESS`.
    pub kind: String,
    /// How: the access level and action, the trust or technique.
    pub detail: String,
    /// What grants it: the policy and statement, the trust policy.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    pub conditional: bool,
    /// Groups: how many resources the edge stands for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct Paths {
    pub identity: NodeBrief,
    pub nodes: Vec<PathNode>,
    pub edges: Vec<PathEdge>,
    /// Edge kind → how many (for the filters).
    pub edge_kinds: BTreeMap<String, usize>,
    /// Resources reached in all (drawn or grouped).
    pub resources: usize,
    /// Whether resources were grouped to stay within the budget.
    pub summarised: bool,
    pub budget: usize,
    /// The resource whose path is highlighted, and the indexes in `edges`
    /// of that path (identity → … → resource).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub highlight: Vec<usize>,
    pub notes: Vec<String>,
}

/// What to draw.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub budget: usize,
    /// Groups (`g:<account>|<kind>`) to draw member by member.
    pub expand: Vec<String>,
    /// A resource (ARN or key) whose path to highlight.
    pub target: Option<String>,
}

struct Builder {
    nodes: Vec<PathNode>,
    index: HashMap<String, usize>,
    edges: Vec<PathEdge>,
    edge_seen: HashMap<(String, String, String), usize>,
}

impl Builder {
    fn node(&mut self, n: PathNode) -> String {
        let id = n.id.clone();
        match self.index.get(&id) {
            Some(&i) => {
                // A node reached again keeps its leftmost column.
                if n.column < self.nodes[i].column && n.column >= 0 {
                    self.nodes[i].column = n.column;
                }
            }
            None => {
                self.index.insert(id.clone(), self.nodes.len());
                self.nodes.push(n);
            }
        }
        id
    }

    fn brief(&mut self, b: &NodeBrief, column: i32) -> String {
        self.node(PathNode {
            id: format!("n{}", b.id),
            node: Some(b.id),
            label: b.label.clone(),
            kind: b.kind.clone(),
            key: b.key.clone(),
            name: b.name.clone(),
            column,
            sensitivity: None,
            count: None,
        })
    }

    fn edge(&mut self, e: PathEdge) -> usize {
        let k = (e.from.clone(), e.to.clone(), e.kind.clone());
        if let Some(&i) = self.edge_seen.get(&k) {
            if let (Some(c), Some(add)) = (self.edges[i].count.as_mut(), e.count) {
                *c += add;
            }
            return i;
        }
        self.edge_seen.insert(k, self.edges.len());
        self.edges.push(e);
        self.edges.len() - 1
    }
}

fn plain(from: &str, to: &str, kind: &str, detail: String) -> PathEdge {
    PathEdge {
        from: from.into(),
        to: to.into(),
        kind: kind.into(),
        detail,
        reason: String::new(),
        conditional: false,
        count: None,
    }
}

fn sensitivity_rank(s: &str) -> u8 {
    match s {
        "critical" => 4,
        "high" => 3,
        "medium" => 2,
        "low" => 1,
        _ => 0,
    }
}

/// The paths of node `id`. `model` is the AWS permission model (its reach
/// gives the resources); `find` resolves an ARN to a graph node.
pub fn paths(
    store: &dyn Store,
    model: Option<&Model>,
    id: i64,
    req: &Request,
    find: &dyn Fn(&str) -> Option<NodeBrief>,
) -> Result<Paths> {
    let budget = if req.budget == 0 {
        DEFAULT_BUDGET
    } else {
        req.budget.max(10)
    };
    let shown = show::build(store, id)?;
    let me = shown.node.brief.clone();
    let mut b = Builder {
        nodes: Vec::new(),
        index: HashMap::new(),
        edges: Vec::new(),
        edge_seen: HashMap::new(),
    };
    let root = b.brief(&me, 0);
    let mut notes = Vec::new();

    // Where it lives, and who holds or uses it.
    for e in shown.edges.iter().filter(|e| !e.edge.retired) {
        let e = &e.edge;
        let kind = match (e.kind.as_str(), e.direction) {
            ("STORED_IN", "out") => "STORED_IN",
            ("USED_BY", "out") => "USED_BY",
            ("HOLDS", "in") => "HELD_BY",
            ("DEFINED_IN", "out") => "DEFINED_IN",
            _ => continue,
        };
        let other = b.brief(&e.other, -1);
        b.edge(plain(&other, &root, kind, e.other.kind.clone()));
    }
    // What it authenticates as.
    for p in &shown.lineage.principals {
        let p = b.brief(p, 1);
        b.edge(plain(&root, &p, "AUTHENTICATES_AS", String::new()));
    }
    // Role chains and federation, across clouds.
    let base = if shown.lineage.principals.is_empty() {
        0
    } else {
        1
    };
    for h in &shown.lineage.federation {
        let from_col = if h.from.id == me.id {
            0
        } else {
            base + h.depth as i32 - 1
        };
        let from = b.brief(&h.from, from_col);
        let to = b.brief(&h.to, from_col + 1);
        let via = h
            .how
            .get("via")
            .and_then(|v| v.as_str())
            .unwrap_or("trust policy")
            .to_string();
        let mut edge = plain(&from, &to, "CAN_ASSUME", via);
        edge.conditional = h.how.get("conditions").is_some_and(|c| !c.is_null());
        b.edge(edge);
    }

    // The AWS reach: principals hop by hop, then each resource.
    let mut resources = 0;
    let mut summarised = false;
    let mut highlight = Vec::new();
    let mut target_key = None;
    let start = model.map(|m| m.start(id)).unwrap_or_default();
    if let (Some(model), false) = (model, start.is_empty()) {
        let out = crate::blast::describe(model, &me.key, &crate::blast::radius(model, &start));
        // ARN → node id in this drawing, and its column.
        let mut at: HashMap<String, (String, i32)> = HashMap::new();
        for p in &out.principals {
            let column = match &p.from {
                None => 1,
                Some(f) => at.get(f).map_or(2, |(_, c)| c + 1),
            };
            let nid = match find(&p.arn) {
                Some(brief) => b.brief(&brief, column),
                None => b.node(PathNode {
                    id: format!("p:{}", p.arn),
                    node: None,
                    label: "Principal".into(),
                    kind: p.kind.into(),
                    key: p.arn.clone(),
                    name: Some(p.name.clone()),
                    column,
                    sensitivity: None,
                    count: None,
                }),
            };
            let column = b.nodes[b.index[&nid]].column;
            match &p.from {
                None => {
                    if nid != root {
                        b.edge(plain(&root, &nid, "AUTHENTICATES_AS", String::new()));
                    }
                }
                Some(f) => {
                    if let Some((fid, _)) = at.get(f).cloned() {
                        let mut e = plain(&fid, &nid, "CAN_ASSUME", p.how.clone());
                        e.conditional = p.conditional;
                        b.edge(e);
                    }
                }
            }
            at.insert(p.arn.clone(), (nid, column));
        }
        resources = out.resources.len();
        let last_col = b.nodes.iter().map(|n| n.column).max().unwrap_or(1) + 1;
        let fixed = b.nodes.len();
        summarised = fixed + resources > budget;
        let group_of = |r: &crate::blast::ResourceOut| {
            format!(
                "g:{}|{}",
                r.account.as_deref().unwrap_or("unknown account"),
                r.kind
            )
        };
        // Groups that fit are drawn in full; the rest stay groups.
        let mut sizes: BTreeMap<String, usize> = BTreeMap::new();
        for r in &out.resources {
            *sizes.entry(group_of(r)).or_default() += 1;
        }
        let mut expanded: BTreeSet<String> = BTreeSet::new();
        if summarised {
            let mut room = budget.saturating_sub(fixed + sizes.len());
            for g in &req.expand {
                if let Some(&n) = sizes.get(g) {
                    if n <= room {
                        room -= n;
                        expanded.insert(g.clone());
                    } else {
                        notes.push(format!(
                            "{g} has {n} resources: more than the drawing has room for ({room}); filter with `custody blast-radius` or a query"
                        ));
                    }
                }
            }
        }
        // The target as given and as the key of the node it names, resolved
        // once (not once per resource).
        let target: Vec<String> = match req.target.as_deref() {
            Some(t) => {
                let mut v = vec![t.to_string()];
                v.extend(find(t).map(|n| n.key));
                v
            }
            None => Vec::new(),
        };
        for r in &out.resources {
            let via = r
                .path
                .last()
                .and_then(|a| at.get(a))
                .map(|(id, _)| id.clone());
            let from = via.unwrap_or_else(|| root.clone());
            let group = group_of(r);
            let is_target = target.contains(&r.arn);
            let drawn = !summarised || expanded.contains(&group) || is_target;
            let to = if drawn {
                match find(&r.arn) {
                    Some(brief) => {
                        let id = b.brief(&brief, last_col);
                        let i = b.index[&id];
                        b.nodes[i].sensitivity = Some(r.sensitivity);
                        id
                    }
                    None => b.node(PathNode {
                        id: format!("p:{}", r.arn),
                        node: None,
                        label: "Resource".into(),
                        kind: r.kind.clone(),
                        key: r.arn.clone(),
                        name: Some(r.name.clone()),
                        column: last_col,
                        sensitivity: Some(r.sensitivity),
                        count: None,
                    }),
                }
            } else {
                let (account, kind) = group[2..].split_once('|').unwrap_or(("", ""));
                let id = b.node(PathNode {
                    id: group.clone(),
                    node: None,
                    label: "Group".into(),
                    kind: kind.to_string(),
                    key: group.clone(),
                    name: Some(format!("{} × {kind} in {account}", sizes[&group])),
                    column: last_col,
                    sensitivity: Some(r.sensitivity),
                    count: Some(sizes[&group]),
                });
                let i = b.index[&id];
                if sensitivity_rank(r.sensitivity)
                    > b.nodes[i].sensitivity.map_or(0, sensitivity_rank)
                {
                    b.nodes[i].sensitivity = Some(r.sensitivity);
                }
                id
            };
            let e = b.edge(PathEdge {
                from: from.clone(),
                to: to.clone(),
                kind: "CAN_ACCESS".into(),
                detail: format!("{} ({})", r.access, r.action),
                reason: r.reason.clone(),
                conditional: r.conditional,
                count: (!drawn).then_some(1),
            });
            if is_target && target_key.is_none() {
                target_key = Some(r.arn.clone());
                // Walk back: resource ← principal ← … ← identity.
                highlight.push(e);
                let mut cur = from;
                let mut guard = 0;
                while cur != root && guard < 64 {
                    guard += 1;
                    let Some(i) = b.edges.iter().position(|x| {
                        x.to == cur && matches!(x.kind.as_str(), "CAN_ASSUME" | "AUTHENTICATES_AS")
                    }) else {
                        break;
                    };
                    highlight.push(i);
                    cur = b.edges[i].from.clone();
                }
                highlight.reverse();
            }
        }
        if summarised {
            notes.push(format!(
                "{resources} resources: more than the {budget}-node budget, so they are grouped by account and kind; expand a group to draw it"
            ));
        }
        for p in &out.incomplete {
            notes.push(format!("policy not readable, reach may be incomplete: {p}"));
        }
    } else if model.is_some() {
        notes.push(
            "no AWS reach from this identity: it is not an inventoried AWS credential, principal or workload (reach in Google Cloud and Azure is not evaluated yet; their grants show as edges of the identity)".into(),
        );
    }
    if req.target.is_some() && target_key.is_none() {
        notes.push(format!(
            "{} is not among the resources this identity reaches",
            req.target.as_deref().unwrap_or_default()
        ));
    }
    let mut edge_kinds = BTreeMap::new();
    for e in &b.edges {
        *edge_kinds.entry(e.kind.clone()).or_default() += 1;
    }
    Ok(Paths {
        identity: me,
        nodes: b.nodes,
        edges: b.edges,
        edge_kinds,
        resources,
        summarised,
        budget,
        target: target_key,
        highlight,
        notes,
    })
}
