//! Printers for the views several commands show: one identity (`show`, the
//! demo) and a blast radius (`blast-radius`, the demo). Command modules print
//! through these instead of importing each other.

use crate::output;
use custody_app::blast::BlastOut;
use custody_app::show::ShowOutput;
use custody_store::{Assertion, NodeBrief};
use serde_json::Value;

/// `custody blast-radius`: who it acts as and can become, and the resources
/// it reaches (at most `limit`; 0: all).
pub fn blast_radius(out: &BlastOut, limit: usize) {
    println!("Blast radius of {}", out.reference);
    let shown = if limit == 0 { usize::MAX } else { limit };
    for p in out.principals.iter().take(shown) {
        let cond = match (p.potential, p.conditional) {
            (Some(inv), _) => format!(" [potential: ingest `{inv}` to settle]"),
            (None, true) => " [only under conditions not evaluated]".to_string(),
            (None, false) => String::new(),
        };
        match &p.from {
            None => println!("  acts as      {} ({})", p.arn, p.kind),
            Some(from) => println!(
                "  can become   {} ({}) ← {} from {from}{cond}",
                p.arn, p.kind, p.how
            ),
        }
    }
    if out.principals.len() > shown {
        println!(
            "  … and {} more principals it can become",
            out.principals.len() - shown
        );
    }
    let counts: Vec<String> = ["critical", "high", "medium", "low"]
        .iter()
        .filter_map(|s| out.by_sensitivity.get(s).map(|n| format!("{n} {s}")))
        .collect();
    println!();
    println!(
        "Reaches {} resource(s){}; score {}.",
        out.resources.len(),
        if counts.is_empty() {
            String::new()
        } else {
            format!(" ({})", counts.join(", "))
        },
        out.score
    );
    if out.resources.is_empty() {
        return;
    }
    println!();
    let rows: Vec<Vec<String>> = out
        .resources
        .iter()
        .take(if limit == 0 { usize::MAX } else { limit })
        .map(|r| {
            let via = if r.path.len() > 1 {
                format!("via {}", r.path[1..].join(" → "))
            } else {
                "directly".into()
            };
            vec![
                r.sensitivity.to_string(),
                format!("{}{}", r.access, if r.conditional { "?" } else { "" }),
                r.arn.clone(),
                format!("{} ({via})", r.action),
            ]
        })
        .collect();
    output::table(
        &[
            "SENSITIVITY",
            "ACCESS",
            "RESOURCE",
            "EXAMPLE ACTION AND PATH",
        ],
        &rows,
    );
    if limit != 0 && out.resources.len() > limit {
        println!(
            "… and {} more (--limit 0 lists all; --format json gives every path and reason).",
            out.resources.len() - limit
        );
    }
    if out.resources.iter().any(|r| r.conditional) {
        println!("ACCESS? = allowed only under conditions custody could not evaluate.");
    }
    for i in &out.incomplete {
        println!("? incomplete: {i}");
    }
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

/// `custody show`: the node, its keys and properties with their sources,
/// its lineage, permissions and edges.
pub fn identity(out: &ShowOutput) {
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
        let verb = if n.brief.label == "Workload" {
            "runs as          "
        } else {
            "authenticates as "
        };
        for p in &l.principals {
            println!("  {verb} {}", brief(p));
        }
        let holds = if n.brief.label == "Agent" {
            "holds            "
        } else {
            "credential       "
        };
        for c in &l.credentials {
            println!("  {holds} {}", brief(c));
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
    if !l.federation.is_empty() {
        println!();
        println!("Federation (the identities it can become, hop by hop):");
        for h in &l.federation {
            let mut how: Vec<String> = ["via", "role", "trusted"]
                .iter()
                .filter_map(|k| h.how.get(*k).map(output::cell))
                .collect();
            how.dedup();
            println!(
                "  {}{} {} → {} [{}]",
                "  ".repeat(h.depth - 1),
                h.depth,
                brief(&h.from),
                brief(&h.to),
                how.join(", ")
            );
            let pad = "  ".repeat(h.depth + 1);
            if let Some(Value::Object(ops)) = &h.trust_conditions {
                for (op, keys) in ops {
                    for (key, want) in keys.as_object().into_iter().flatten() {
                        println!("  {pad}trust: if {key} {op} {}", output::cell(want));
                    }
                }
            }
            match h.trust_accepts {
                Some(true) => println!("  {pad}the role's trust admits this repository's token"),
                Some(false) => {
                    println!("  {pad}the role's trust does NOT admit this repository's token")
                }
                None => {}
            }
            if let Some(Value::Object(c)) = h.how.get("conditions") {
                if let Some(e) = c.get("expression") {
                    println!("  {pad}if {}", output::cell(e));
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
