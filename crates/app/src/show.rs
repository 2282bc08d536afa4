//! One identity as every surface shows it (`custody show`, `GET /v1/nodes/{id}`,
//! the MCP `get_identity` tool): the node, its keys and edges, its lineage
//! (principal, owner, the owner's employment status), the permissions analysis,
//! and for every fact the source that said it.

use anyhow::{Context, Result};
use custody_store::{Assertion, EdgeRecord, NodeBrief, NodeRecord, Store};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

#[derive(Serialize)]
pub struct EdgeOut {
    #[serde(flatten)]
    pub edge: EdgeRecord,
    pub sources: Vec<Assertion>,
}

#[derive(Serialize)]
pub struct Owner {
    /// The principal through which ownership was found, if not the node itself.
    pub via: Option<String>,
    pub human: NodeBrief,
    pub employment_status: Option<Value>,
    pub termination_date: Option<Value>,
    pub idp_status: Option<Value>,
    pub manager: Option<NodeBrief>,
    pub edge: Map<String, Value>,
    pub sources: Vec<Assertion>,
}

#[derive(Serialize)]
pub struct Trust {
    pub principal: NodeBrief,
    /// The edge's properties: `trusted` (service, identity-provider, account,
    /// principal, anyone), `actions`, `conditions`, `subject_pinned`…
    pub trust: Map<String, Value>,
}

#[derive(Serialize, Default)]
pub struct Lineage {
    pub principals: Vec<NodeBrief>,
    pub credentials: Vec<NodeBrief>,
    pub owners: Vec<Owner>,
    pub owns: Vec<NodeBrief>,
    pub manager: Option<NodeBrief>,
    pub groups: Vec<NodeBrief>,
    /// Who may assume this role, with the trust statement's conditions.
    pub assumable_by: Vec<Trust>,
    /// Roles whose trust policies name this principal.
    pub can_assume: Vec<Trust>,
    /// Everything reachable by assuming identities from here (role chains,
    /// OIDC and workload-identity federation), across clouds, hop by hop.
    pub federation: Vec<Hop>,
    /// Plain-language observations that follow from the facts above.
    pub notes: Vec<String>,
}

/// One step of a federation chain: `from` can assume `to`.
#[derive(Serialize)]
pub struct Hop {
    /// 1 for what this node (or the principal it runs as) assumes directly.
    pub depth: usize,
    pub from: NodeBrief,
    pub to: NodeBrief,
    /// The edge's properties: `via` (github-actions-oidc, eks-irsa,
    /// gcp-workload-identity-federation, trust-policy…), `role`, `conditions`…
    pub how: Map<String, Value>,
    /// For a workflow's OIDC hop into an AWS role: the conditions of the
    /// role's trust in GitHub's token issuer, and whether this repository's
    /// token meets them (`None` when the trust is not in the exports).
    pub trust_conditions: Option<Value>,
    pub trust_accepts: Option<bool>,
}

/// Most hops a chain shows: role chains in real estates are short, and a
/// cycle or an `*` trust must not make `show` walk the whole graph.
const MAX_HOPS: usize = 200;
const MAX_DEPTH: usize = 8;

/// A privilege-escalation technique one of the node's principals can use.
#[derive(Serialize)]
pub struct EscalationOut {
    pub principal: String,
    pub technique: &'static str,
    pub summary: &'static str,
    /// Each action it needs, with the policy and statement that allow it.
    pub granted: Vec<(String, String)>,
    pub conditional: bool,
}

/// The permissions analysis of the node's AWS principals.
#[derive(Serialize, Default)]
pub struct Permissions {
    /// How many policy documents were evaluated.
    pub policies: usize,
    pub escalations: Vec<EscalationOut>,
    /// Policies named but not readable (no document in the exports, or malformed):
    /// the analysis cannot see what they grant.
    pub incomplete: Vec<String>,
}

#[derive(Serialize)]
pub struct ShowOutput {
    pub node: NodeRecord,
    /// Every source's assertion about this node, oldest first (superseded ones have `live: false`).
    pub sources: Vec<Assertion>,
    /// For each merged property, the indexes in `sources` of the live assertions that state it.
    pub property_sources: BTreeMap<String, Vec<usize>>,
    pub edges: Vec<EdgeOut>,
    pub lineage: Lineage,
    pub permissions: Permissions,
}

fn out_edges<'a>(edges: &'a [EdgeRecord], kind: &'a str) -> impl Iterator<Item = &'a EdgeRecord> {
    edges
        .iter()
        .filter(move |e| e.kind == kind && e.direction == "out" && !e.retired)
}

fn in_edges<'a>(edges: &'a [EdgeRecord], kind: &'a str) -> impl Iterator<Item = &'a EdgeRecord> {
    edges
        .iter()
        .filter(move |e| e.kind == kind && e.direction == "in" && !e.retired)
}

fn owner(store: &dyn Store, e: &EdgeRecord, via: Option<String>) -> Result<Owner> {
    let human = store.node(e.other.id)?;
    let prop = |k: &str| human.as_ref().and_then(|h| h.props.get(k).cloned());
    let manager = match &human {
        Some(h) => out_edges(&store.edges(h.brief.id)?, "REPORTS_TO")
            .next()
            .map(|m| m.other.clone()),
        None => None,
    };
    Ok(Owner {
        via,
        human: e.other.clone(),
        employment_status: prop("employment_status"),
        termination_date: prop("termination_date"),
        idp_status: prop("idp_status"),
        manager,
        edge: e.props.clone(),
        sources: store.edge_assertions(e.id)?,
    })
}

pub fn build(store: &dyn Store, id: i64) -> Result<ShowOutput> {
    let node = store.node(id)?.context("node vanished while reading")?;
    let sources = store.node_assertions(id)?;
    let mut property_sources: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for k in node.props.keys() {
        let idx: Vec<usize> = sources
            .iter()
            .enumerate()
            .filter(|(_, a)| a.live && a.props.contains_key(k))
            .map(|(i, _)| i)
            .collect();
        property_sources.insert(k.clone(), idx);
    }
    let edges = store.edges(id)?;
    let mut lineage = Lineage::default();
    match node.brief.label.as_str() {
        "Credential" | "Agent" => {
            for e in out_edges(&edges, "OWNED_BY") {
                lineage.owners.push(owner(store, e, None)?);
            }
            // An agent is every credential it holds (in its configuration
            // and, ambient, on its host), and what those authenticate as.
            let mut via: Vec<EdgeRecord> = out_edges(&edges, "AUTHENTICATES_AS").cloned().collect();
            for h in out_edges(&edges, "HOLDS") {
                let mut brief = h.other.clone();
                if h.props.get("ambient") == Some(&Value::Bool(true)) {
                    brief.name = Some(format!(
                        "{} (ambient: {})",
                        brief.name.as_deref().unwrap_or(&brief.key),
                        h.props
                            .get("file")
                            .and_then(Value::as_str)
                            .unwrap_or("host")
                    ));
                }
                lineage.credentials.push(brief);
                via.extend(out_edges(&store.edges(h.other.id)?, "AUTHENTICATES_AS").cloned());
            }
            for p in &via {
                lineage.principals.push(p.other.clone());
                for e in out_edges(&store.edges(p.other.id)?, "OWNED_BY") {
                    lineage
                        .owners
                        .push(owner(store, e, Some(p.other.key.clone()))?);
                }
            }
        }
        "Principal" => {
            lineage.credentials = in_edges(&edges, "AUTHENTICATES_AS")
                .map(|e| e.other.clone())
                .collect();
            let trust = |e: &EdgeRecord| Trust {
                principal: e.other.clone(),
                trust: e.props.clone(),
            };
            lineage.assumable_by = in_edges(&edges, "CAN_ASSUME").map(trust).collect();
            lineage.can_assume = out_edges(&edges, "CAN_ASSUME").map(trust).collect();
            for e in out_edges(&edges, "OWNED_BY") {
                lineage.owners.push(owner(store, e, None)?);
            }
        }
        "Workload" => {
            lineage.principals = out_edges(&edges, "RUNS_AS")
                .map(|e| e.other.clone())
                .collect();
            for e in out_edges(&edges, "OWNED_BY") {
                lineage.owners.push(owner(store, e, None)?);
            }
        }
        "Human" => {
            lineage.owns = in_edges(&edges, "OWNED_BY")
                .map(|e| e.other.clone())
                .collect();
            lineage.manager = out_edges(&edges, "REPORTS_TO")
                .next()
                .map(|e| e.other.clone());
            lineage.groups = out_edges(&edges, "MEMBER_OF")
                .map(|e| e.other.clone())
                .collect();
        }
        _ => {}
    }
    if matches!(
        node.brief.label.as_str(),
        "Workload" | "Principal" | "Agent" | "Credential"
    ) {
        lineage.federation = federation(store, &node, &edges, &lineage.principals)?;
    }
    lineage.notes = notes(&node, &lineage);
    let edges = edges
        .into_iter()
        .map(|e| {
            Ok(EdgeOut {
                sources: store.edge_assertions(e.id)?,
                edge: e,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let permissions = permissions(store, &node, &lineage)?;
    Ok(ShowOutput {
        node,
        sources,
        property_sources,
        edges,
        lineage,
        permissions,
    })
}

/// The chain of identities reachable by assuming from `node` and the
/// principals it authenticates or runs as, breadth first.
fn federation(
    store: &dyn Store,
    node: &NodeRecord,
    edges: &[EdgeRecord],
    principals: &[NodeBrief],
) -> Result<Vec<Hop>> {
    use std::collections::{HashSet, VecDeque};
    let mut seen: HashSet<i64> = HashSet::from([node.brief.id]);
    let mut queue: VecDeque<(NodeBrief, Vec<EdgeRecord>, usize)> = VecDeque::new();
    queue.push_back((node.brief.clone(), edges.to_vec(), 1));
    for p in principals {
        if seen.insert(p.id) {
            queue.push_back((p.clone(), store.edges(p.id)?, 1));
        }
    }
    let mut hops = Vec::new();
    while let Some((from, edges, depth)) = queue.pop_front() {
        for e in out_edges(&edges, "CAN_ASSUME") {
            if hops.len() >= MAX_HOPS {
                return Ok(hops);
            }
            let (trust_conditions, trust_accepts) = match e.props.get("via").and_then(Value::as_str)
            {
                Some("github-actions-oidc") if e.other.kind == "aws_iam_role" => {
                    github_trust(store, e.other.id, node.props.get("repository"))?
                }
                _ => (None, None),
            };
            hops.push(Hop {
                depth,
                from: from.clone(),
                to: e.other.clone(),
                how: e.props.clone(),
                trust_conditions,
                trust_accepts,
            });
            if depth < MAX_DEPTH && seen.insert(e.other.id) {
                queue.push_back((e.other.clone(), store.edges(e.other.id)?, depth + 1));
            }
        }
    }
    Ok(hops)
}

/// The role's trust in GitHub's OIDC issuer, and whether a token of
/// `repository` (`owner/repo`, any ref) meets its `sub` conditions.
fn github_trust(
    store: &dyn Store,
    role: i64,
    repository: Option<&Value>,
) -> Result<(Option<Value>, Option<bool>)> {
    let edges = store.edges(role)?;
    let Some(t) = in_edges(&edges, "CAN_ASSUME")
        .find(|e| e.other.key.contains("token.actions.githubusercontent.com"))
    else {
        return Ok((None, None));
    };
    let conditions = t.props.get("conditions").cloned();
    let Some(repo) = repository.and_then(Value::as_str) else {
        return Ok((conditions, None));
    };
    // Every `…:sub` condition must admit some `repo:<repo>:<ref>` subject.
    let mut accepts = true;
    if let Some(Value::Object(ops)) = &conditions {
        for (op, keys) in ops {
            for (key, want) in keys.as_object().into_iter().flatten() {
                if !key.to_ascii_lowercase().ends_with(":sub") {
                    continue;
                }
                let wants: Vec<&str> = match want {
                    Value::String(s) => vec![s.as_str()],
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                    _ => Vec::new(),
                };
                let prefix = format!("repo:{repo}:").to_ascii_lowercase();
                let like = op.to_ascii_lowercase().contains("like");
                accepts &= wants.iter().any(|w| {
                    let w = w.to_ascii_lowercase();
                    // The literal part before any wildcard must agree with
                    // `repo:<repo>:`; a subject's ref is not known here.
                    let lit = match w.find(['*', '?']) {
                        Some(i) if like => &w[..i],
                        _ => w.as_str(),
                    };
                    if lit.len() <= prefix.len() && lit.len() < w.len() {
                        prefix.starts_with(lit)
                    } else {
                        lit.starts_with(&prefix)
                    }
                });
            }
        }
    }
    Ok((conditions, Some(accepts)))
}

/// Documents of the policies in `props` (a principal's or group's
/// `inline_policies` property) and attached through its HAS_POLICY `edges`.
fn collect_policies(
    store: &dyn Store,
    edges: &[EdgeRecord],
    props: &Map<String, Value>,
    docs: &mut Vec<(String, Value)>,
    incomplete: &mut Vec<String>,
) -> Result<()> {
    if let Some(Value::Array(inline)) = props.get("inline_policies") {
        for p in inline {
            docs.push((
                format!("inline {}", cell(&p["name"])),
                p["document"].clone(),
            ));
        }
    }
    for e in out_edges(edges, "HAS_POLICY") {
        match store
            .node(e.other.id)?
            .and_then(|n| n.props.get("document").cloned())
        {
            Some(doc) => docs.push((e.other.key.clone(), doc)),
            None => incomplete.push(format!("{}: no document in the exports", e.other.key)),
        }
    }
    Ok(())
}

/// Privilege escalation for each AWS IAM user or role this node is or acts as.
fn permissions(store: &dyn Store, node: &NodeRecord, l: &Lineage) -> Result<Permissions> {
    use custody_analysis::{escalations, Context, Policy, PolicySet};
    let mut out = Permissions::default();
    let mut principals: Vec<NodeRecord> = Vec::new();
    if matches!(node.brief.kind.as_str(), "aws_iam_user" | "aws_iam_role") {
        principals.push(node.clone());
    }
    for p in &l.principals {
        if matches!(p.kind.as_str(), "aws_iam_user" | "aws_iam_role") {
            principals.extend(store.node(p.id)?);
        }
    }
    for p in principals {
        let mut docs = Vec::new();
        let edges = store.edges(p.brief.id)?;
        collect_policies(store, &edges, &p.props, &mut docs, &mut out.incomplete)?;
        let mut groups = Vec::new();
        for g in out_edges(&edges, "MEMBER_OF") {
            if let Some(group) = store.node(g.other.id)? {
                if let Some(arn) = group.props.get("arn").and_then(Value::as_str) {
                    groups.push(arn.to_string());
                }
                collect_policies(
                    store,
                    &store.edges(group.brief.id)?,
                    &group.props,
                    &mut docs,
                    &mut out.incomplete,
                )?;
            }
        }
        let boundary_doc = match p.props.get("permissions_boundary").and_then(Value::as_str) {
            Some(arn) => match store
                .find(arn)?
                .map(|id| store.node(id))
                .transpose()?
                .flatten()
                .and_then(|n| n.props.get("document").cloned())
            {
                Some(doc) => Some(doc),
                None => {
                    out.incomplete.push(format!(
                        "{arn} (permissions boundary): no document in the exports"
                    ));
                    None
                }
            },
            None => None,
        };
        let mut parsed = Vec::new();
        let mut names = Vec::new();
        for (name, doc) in &docs {
            match Policy::from_value(doc) {
                Ok(policy) => {
                    parsed.push(policy);
                    names.push(name.clone());
                }
                Err(e) => out.incomplete.push(format!("{name}: {e}")),
            }
        }
        let boundary = boundary_doc
            .as_ref()
            .and_then(|d| Policy::from_value(d).ok());
        out.policies += parsed.len() + boundary.is_some() as usize;
        let set = PolicySet {
            identity: parsed.iter().collect(),
            boundary: boundary.as_ref(),
            ..Default::default()
        };
        let mut ctx = Context::new();
        if p.brief.kind == "aws_iam_user" {
            if let Some(name) = &p.brief.name {
                ctx = ctx.with("aws:username", name);
            }
        }
        let arn = p
            .props
            .get("arn")
            .and_then(Value::as_str)
            .unwrap_or(&p.brief.key)
            .to_string();
        // Its own groups and customer-managed policies are what it may rewrite.
        let actor = custody_analysis::escalation::Actor {
            groups: groups.iter().map(String::as_str).collect(),
            policies: names
                .iter()
                .map(String::as_str)
                .filter(|n| n.starts_with("arn:aws:iam::") && !n.starts_with("arn:aws:iam::aws:"))
                .collect(),
            ..custody_analysis::escalation::Actor::new(&arn)
        };
        for e in escalations(&set, &actor, &ctx) {
            // Name each allowing policy: the inline policy's name or the managed policy's ARN.
            let granted = e
                .granted
                .into_iter()
                .map(
                    |(action, reason, policy)| match policy.and_then(|i| names.get(i)) {
                        Some(name) => (action, format!("{reason} in {name}")),
                        None => (action, reason),
                    },
                )
                .collect();
            out.escalations.push(EscalationOut {
                principal: arn.clone(),
                technique: e.technique,
                summary: e.summary,
                granted,
                conditional: e.conditional,
            });
        }
    }
    Ok(out)
}

fn notes(node: &NodeRecord, l: &Lineage) -> Vec<String> {
    let mut out = Vec::new();
    if node.brief.label == "Agent" && !l.credentials.is_empty() {
        let kinds: std::collections::BTreeSet<&str> =
            l.credentials.iter().map(|c| c.kind.as_str()).collect();
        let ambient = l
            .credentials
            .iter()
            .filter(|c| c.name.as_deref().is_some_and(|n| n.contains("(ambient: ")))
            .count();
        out.push(format!(
            "This agent holds {} credentials of {} kinds{}; a prompt injection that reaches it can use every one (`custody blast-radius {}` for their combined reach).",
            l.credentials.len(),
            kinds.len(),
            if ambient > 0 {
                format!(", {ambient} of them ambient on its host (any process started there picks them up)")
            } else {
                String::new()
            },
            node.brief.id
        ));
    }
    for h in &l.federation {
        if h.trust_accepts == Some(false) {
            out.push(format!(
                "{} names {} but the role's trust in GitHub's token does not admit this repository: the step would fail.",
                h.from.name.as_deref().unwrap_or(&h.from.key),
                h.to.key
            ));
        }
    }
    let clouds: std::collections::BTreeSet<&str> = l
        .federation
        .iter()
        .flat_map(|h| [h.from.system.as_str(), h.to.system.as_str()])
        .filter(|s| ["aws", "gcp", "azure", "github", "kubernetes"].contains(s))
        .collect();
    if clouds.len() >= 3 {
        out.push(format!(
            "One subject across {} systems ({}): whoever controls the first hop controls every identity in the chain.",
            clouds.len(),
            clouds.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    for t in &l.assumable_by {
        if t.trust.get("subject_pinned") == Some(&Value::Bool(false)) {
            out.push(format!(
                "Any token from {} can assume this role: its trust policy does not pin the token's subject (`sub`).",
                t.principal.name.as_deref().unwrap_or(&t.principal.key)
            ));
        }
        if t.trust.get("trusted").and_then(Value::as_str) == Some("anyone") {
            out.push(
                "Anyone can assume this role: its trust policy names the principal `*`."
                    .to_string(),
            );
        }
    }
    if let (Some(state), Some(at)) = (
        node.props.get("liveness").and_then(Value::as_str),
        node.props
            .get("liveness_checked_at")
            .and_then(Value::as_str),
    ) {
        let detail = node
            .props
            .get("liveness_detail")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let who = node
            .props
            .get("validated_principal")
            .and_then(Value::as_str)
            .map(|p| format!(" as {p}"))
            .unwrap_or_default();
        out.push(match state {
            "live" => format!("Its issuer accepted it{who} when asked on {at}: it still works. Revoke or rotate it (custody respond)."),
            "revoked" => format!("Its issuer refused it when asked on {at} ({detail}): it no longer works."),
            _ => format!("Asked on {at} whether it still works, its issuer gave no clear answer ({detail})."),
        });
    }
    let status = node.props.get("status").and_then(Value::as_str);
    let last_used = node.props.get("last_used").and_then(Value::as_str);
    for o in &l.owners {
        let gone = o.employment_status.as_ref().and_then(Value::as_str) == Some("terminated");
        if !gone {
            continue;
        }
        let left = o
            .termination_date
            .as_ref()
            .and_then(Value::as_str)
            .unwrap_or("an unknown date");
        let mut s = format!(
            "Owner {} left the company on {left}",
            o.human.key.trim_start_matches("email:")
        );
        if status == Some("Active") {
            s.push_str("; this credential is still Active");
        }
        if let Some(used) = last_used {
            if used[..10.min(used.len())] > *left {
                s.push_str(&format!(" and was last used {used}, after they left"));
            }
        }
        s.push('.');
        if let Some(m) = &o.manager {
            s.push_str(&format!(
                " Their manager is {}.",
                m.key.trim_start_matches("email:")
            ));
        }
        out.push(s);
    }
    out
}

/// A compact one-line rendering of a JSON value for tables.
pub fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "-".into(),
        other => {
            let s = other.to_string();
            if s.chars().count() > 80 {
                let cut: String = s.chars().take(77).collect();
                format!("{cut}…")
            } else {
                s
            }
        }
    }
}
