//! `custody show ID`: one node, its keys and edges, its lineage (principal, owner,
//! the owner's employment status), and for every fact the source that said it.

use crate::{output, paths, Cli, OutputFormat};
use anyhow::{Context, Result};
use clap::Args;
use custody_store::{Assertion, EdgeRecord, NodeBrief, NodeRecord, Store};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::process::ExitCode;

#[derive(Args)]
pub struct ShowArgs {
    /// An access key id, ARN, e-mail, natural key (`kind:value`), node id, or unique name.
    pub reference: String,
}

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
    /// Plain-language observations that follow from the facts above.
    pub notes: Vec<String>,
}

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
            for p in out_edges(&edges, "AUTHENTICATES_AS") {
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
                format!("inline {}", output::cell(&p["name"])),
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
        for g in out_edges(&edges, "MEMBER_OF") {
            if let Some(group) = store.node(g.other.id)? {
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
        for e in escalations(&set, &arn, &ctx) {
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

pub fn run(cli: &Cli, a: &ShowArgs) -> Result<ExitCode> {
    let store = paths::open_existing(cli)?;
    let Some(id) = store.find(&a.reference)? else {
        anyhow::bail!(
            "nothing matches `{}`: give an access key id, ARN, e-mail, `kind:value` key, node id or unique name (`custody list` shows keys)",
            a.reference
        );
    };
    let out = build(&store, id)?;
    match cli.format {
        OutputFormat::Json => output::json(&out)?,
        OutputFormat::Table => print(&out),
    }
    Ok(ExitCode::SUCCESS)
}

fn brief(n: &NodeBrief) -> String {
    let mut s = format!(
        "{} {} {}",
        n.label,
        if n.kind.is_empty() {
            "(unknown kind)"
        } else {
            &n.kind
        },
        n.key
    );
    if let Some(name) = &n.name {
        if !n.key.ends_with(name.as_str()) {
            s.push_str(&format!(" ({name})"));
        }
    }
    if n.placeholder {
        s.push_str(" [named only by an edge]");
    }
    if n.retired {
        s.push_str(" [retired]");
    }
    s
}

fn where_(a: &Assertion) -> String {
    let loc = if a.location.is_empty() {
        String::new()
    } else if a.location.starts_with('#') {
        a.location.clone()
    } else {
        format!(" {}", a.location)
    };
    format!("{}{loc}", a.source)
}

pub fn print(out: &ShowOutput) {
    let n = &out.node;
    println!("{}  (node {})", brief(&n.brief), n.brief.id);
    let others: Vec<&str> = n
        .keys
        .iter()
        .map(String::as_str)
        .filter(|k| *k != n.brief.key)
        .collect();
    if !others.is_empty() {
        println!("  also known as  {}", others.join(", "));
    }
    println!(
        "  seen           {} → {} (snapshots {} → {})",
        n.first_seen.as_deref().unwrap_or("-"),
        n.last_seen.as_deref().unwrap_or("-"),
        n.first_snapshot.map(|s| s.to_string()).unwrap_or_default(),
        n.last_snapshot.map(|s| s.to_string()).unwrap_or_default()
    );
    if !n.props.is_empty() {
        println!();
        println!("Properties (sources in brackets, listed below):");
        let width = n.props.keys().map(|k| k.len()).max().unwrap_or(0);
        for (k, v) in &n.props {
            let refs: Vec<String> = out
                .property_sources
                .get(k)
                .map(|v| v.iter().map(|i| (i + 1).to_string()).collect())
                .unwrap_or_default();
            println!("  {k:<width$}  {}  [{}]", output::cell(v), refs.join(","));
        }
    }
    if !n.conflicts.is_empty() {
        println!();
        println!("Sources disagree on:");
        for (k, v) in &n.conflicts {
            let said: Vec<String> = v
                .as_array()
                .map(|list| {
                    list.iter()
                        .map(|e| {
                            format!(
                                "{} ({})",
                                output::cell(&e["value"]),
                                output::cell(&e["source"])
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            println!("  {k}: {}", said.join(" vs "));
        }
    }
    let l = &out.lineage;
    if !l.principals.is_empty()
        || !l.owners.is_empty()
        || !l.credentials.is_empty()
        || !l.owns.is_empty()
        || l.manager.is_some()
        || !l.assumable_by.is_empty()
        || !l.can_assume.is_empty()
    {
        println!();
        println!("Lineage:");
        for p in &l.principals {
            println!("  authenticates as  {}", brief(p));
        }
        for c in &l.credentials {
            println!("  credential        {}", brief(c));
        }
        for o in &l.owners {
            let via = o
                .via
                .as_deref()
                .map(|v| format!(" (via {v})"))
                .unwrap_or_default();
            println!("  owned by          {}{via}", brief(&o.human));
            let mut status = Vec::new();
            if let Some(s) = &o.employment_status {
                status.push(format!("HR: {}", output::cell(s)));
            }
            if let Some(t) = &o.termination_date {
                status.push(format!("left {}", output::cell(t)));
            }
            if let Some(s) = &o.idp_status {
                status.push(format!("IdP: {}", output::cell(s)));
            }
            if !status.is_empty() {
                println!("                    {}", status.join(" · "));
            }
            if let Some(e) = o.edge.get("evidence") {
                let conf = o
                    .edge
                    .get("confidence")
                    .map(|c| format!(", confidence {}", output::cell(c)))
                    .unwrap_or_default();
                println!("                    evidence: {}{conf}", output::cell(e));
            }
            for a in &o.sources {
                println!("                    said by {} ({})", where_(a), a.format);
            }
            if let Some(m) = &o.manager {
                println!("                    manager: {}", brief(m));
            }
        }
        for c in &l.owns {
            println!("  owns              {}", brief(c));
        }
        if let Some(m) = &l.manager {
            println!("  reports to        {}", brief(m));
        }
        for g in &l.groups {
            println!("  member of         {}", brief(g));
        }
        for (label, list) in [
            ("assumable by", &l.assumable_by),
            ("can assume", &l.can_assume),
        ] {
            for t in list {
                let how = t.trust.get("trusted").map(output::cell).unwrap_or_default();
                println!("  {label:<17} {} [{how}]", brief(&t.principal));
                if let Some(Value::Object(ops)) = t.trust.get("conditions") {
                    for (op, keys) in ops {
                        for (key, want) in keys.as_object().into_iter().flatten() {
                            println!("                    if {key} {op} {}", output::cell(want));
                        }
                    }
                }
            }
        }
    }
    for note in &l.notes {
        println!();
        println!("! {note}");
    }
    let perms = &out.permissions;
    if !perms.escalations.is_empty() || !perms.incomplete.is_empty() {
        println!();
        println!(
            "Privilege escalation (its own {} policies, evaluated statically):",
            perms.policies
        );
        for e in &perms.escalations {
            let cond = if e.conditional {
                " [only under conditions not evaluated]"
            } else {
                ""
            };
            println!("  {:<30} {}{cond}", e.technique, e.summary);
            for (action, why) in &e.granted {
                println!("      {action}: {why}");
            }
        }
        for i in &perms.incomplete {
            println!("  ? incomplete: {i}");
        }
    }
    if !out.edges.is_empty() {
        println!();
        println!("Edges:");
        for e in &out.edges {
            let arrow = if e.edge.direction == "out" {
                "→"
            } else {
                "←"
            };
            let srcs: Vec<String> = e.sources.iter().filter(|a| a.live).map(where_).collect();
            println!("  {arrow} {:<16} {}", e.edge.kind, brief(&e.edge.other));
            if !srcs.is_empty() {
                println!("      said by {}", srcs.join("; "));
            }
        }
    }
    println!();
    println!("Sources:");
    for (i, a) in out.sources.iter().enumerate() {
        let observed = a
            .observed_at
            .as_deref()
            .map(|o| format!(", observed {o}"))
            .unwrap_or_default();
        let state = if a.live { "" } else { " [superseded]" };
        println!(
            "  [{}] {} — {} (snapshot {}{observed}){state}",
            i + 1,
            a.format,
            where_(a),
            a.snapshot
        );
    }
}
