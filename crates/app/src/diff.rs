//! What changed between two snapshots (`custody diff`, `GET /v1/diff`, the
//! MCP `diff` tool, the web UI's History page): new and retired identities
//! and people, new and removed surfaces of credentials, changes in the
//! evidence of who owns what, status changes (a key disabled, a person who
//! left), and findings that appeared or were resolved.
//!
//! Read from the assertions' history ([`Store::history`]), so any two
//! snapshots can be compared, not only the last two. Findings are compared
//! as recorded (`custody findings --record`): a range without a recording
//! says so instead of reporting none.

use anyhow::{bail, Result};
use custody_store::{NodeBrief, SnapshotInfo, Store};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Labels whose nodes are identities (people are reported apart).
const IDENTITY_LABELS: [&str; 4] = ["Credential", "Principal", "Agent", "Workload"];

/// Edges that say where a credential's secret is, or who holds it.
const SURFACE_EDGES: [&str; 3] = ["STORED_IN", "USED_BY", "HOLDS"];

/// Edges that carry evidence of ownership (what attribution weighs).
const OWNER_EDGES: [&str; 3] = ["OWNED_BY", "CREATED_BY", "APPROVED_BY"];

/// The source path of a posture recording, and of the usage alerts.
const POSTURE_INPUT: &str = "custody findings";
const ALERTS_INPUT: &str = "custody usage alerts";

/// One snapshot, briefly: what it read.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotBrief {
    pub id: i64,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// What it was: `ingest` (exports, audit-log evidence, a scan),
    /// `usage alerts`, `findings` (a posture recording) or `interrupted`.
    pub what: String,
    /// How many inputs it read, and the first few.
    pub inputs: usize,
    pub first_inputs: Vec<String>,
    pub summary: Value,
}

impl SnapshotBrief {
    pub fn of(s: &SnapshotInfo) -> SnapshotBrief {
        let inputs: Vec<String> = s
            .inputs
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let what = if s.finished_at.is_none() {
            "interrupted"
        } else if inputs.iter().any(|i| i == POSTURE_INPUT) {
            "findings"
        } else if inputs.iter().any(|i| i == ALERTS_INPUT) {
            "usage alerts"
        } else {
            "ingest"
        };
        SnapshotBrief {
            id: s.id,
            started_at: s.started_at.clone(),
            finished_at: s.finished_at.clone(),
            what: what.into(),
            inputs: inputs.len(),
            first_inputs: inputs.into_iter().take(5).collect(),
            summary: s.summary.clone(),
        }
    }
}

/// Every snapshot, newest first.
pub fn snapshots(store: &dyn Store) -> Result<Vec<SnapshotBrief>> {
    let mut v: Vec<SnapshotBrief> = store.snapshots()?.iter().map(SnapshotBrief::of).collect();
    v.reverse();
    Ok(v)
}

#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub id: i64,
    pub label: String,
    pub kind: String,
    pub key: String,
    pub name: Option<String>,
}

impl From<&NodeBrief> for Item {
    fn from(b: &NodeBrief) -> Item {
        Item {
            id: b.id,
            label: b.label.clone(),
            kind: b.kind.clone(),
            key: b.key.clone(),
            name: b.name.clone(),
        }
    }
}

/// A credential's surface that appeared or went away.
#[derive(Debug, Clone, Serialize)]
pub struct SurfaceChange {
    pub credential: Item,
    /// `STORED_IN`, `USED_BY` or `HELD_BY`.
    pub relation: String,
    pub place: Item,
    /// The credential itself is new in this range (otherwise: a new copy of
    /// a credential that already existed).
    pub credential_is_new: bool,
}

/// Evidence of ownership that appeared or went away for one identity.
#[derive(Debug, Clone, Serialize)]
pub struct OwnerChange {
    pub identity: Item,
    pub added: Vec<OwnerEvidence>,
    pub removed: Vec<OwnerEvidence>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OwnerEvidence {
    /// `OWNED_BY`, `CREATED_BY` or `APPROVED_BY`.
    pub relation: String,
    pub party: Item,
    /// What the source said (`IAM tag owner=…`), when it says.
    pub said: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusChange {
    pub node: Item,
    /// Property → [before, after].
    pub changed: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FindingChange {
    pub rule: String,
    pub severity: String,
    pub title: Option<String>,
    /// The identity's key.
    pub identity: String,
}

/// What changed from one snapshot to another.
#[derive(Debug, Serialize)]
pub struct Diff {
    pub from: SnapshotBrief,
    pub to: SnapshotBrief,
    /// Section → how many changes (before `limit`).
    pub counts: BTreeMap<&'static str, usize>,
    pub new_identities: Vec<Item>,
    pub retired_identities: Vec<Item>,
    pub new_people: Vec<Item>,
    pub removed_people: Vec<Item>,
    pub new_surfaces: Vec<SurfaceChange>,
    pub removed_surfaces: Vec<SurfaceChange>,
    pub owner_changes: Vec<OwnerChange>,
    pub status_changes: Vec<StatusChange>,
    pub new_findings: Vec<FindingChange>,
    pub resolved_findings: Vec<FindingChange>,
    /// At most this many of each section are listed (0: all).
    pub limit: usize,
    pub notes: Vec<String>,
}

/// The snapshots `from` and `to` name: ids, or `latest`, `previous`
/// (the one before latest) and `latest-N`. Defaults: the two newest.
pub fn resolve(
    store: &dyn Store,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(SnapshotInfo, SnapshotInfo)> {
    let all = store.snapshots()?;
    if all.len() < 2 {
        bail!(
            "a diff needs two snapshots and this database has {}: ingest again (custody ingest) and compare",
            all.len()
        );
    }
    let pick = |s: &str| -> Result<SnapshotInfo> {
        let s = s.trim();
        let back = match s {
            "latest" => Some(0),
            "previous" => Some(1),
            _ => s
                .strip_prefix("latest-")
                .and_then(|n| n.parse::<usize>().ok()),
        };
        let found = match back {
            Some(n) => all.len().checked_sub(n + 1).and_then(|i| all.get(i)),
            None => match s.parse::<i64>() {
                Ok(id) => all.iter().find(|x| x.id == id),
                Err(_) => bail!(
                    "`{s}` is not a snapshot: give its id (custody snapshots lists them), `latest`, `previous` or `latest-N`"
                ),
            },
        };
        found.cloned().ok_or_else(|| {
            anyhow::anyhow!(
                "no snapshot `{s}`: there are {} (ids {}–{})",
                all.len(),
                all[0].id,
                all[all.len() - 1].id
            )
        })
    };
    let to = pick(to.unwrap_or("latest"))?;
    let from = match from {
        Some(f) => pick(f)?,
        None => match all.iter().rev().find(|s| s.id < to.id) {
            Some(s) => s.clone(),
            None => bail!(
                "snapshot {} is the first: nothing before it to compare",
                to.id
            ),
        },
    };
    if from.id >= to.id {
        bail!(
            "`from` ({}) must be an earlier snapshot than `to` ({})",
            from.id,
            to.id
        );
    }
    Ok((from, to))
}

fn capped<T>(mut v: Vec<T>, limit: usize) -> Vec<T> {
    if limit > 0 {
        v.truncate(limit);
    }
    v
}

/// What changed after snapshot `from` up to and including `to`; at most
/// `limit` entries per section (0: all), each section counted in full.
pub fn diff(
    store: &dyn Store,
    from: &SnapshotInfo,
    to: &SnapshotInfo,
    limit: usize,
) -> Result<Diff> {
    let h = store.history(from.id, to.id)?;
    let mut new_identities = Vec::new();
    let mut retired_identities = Vec::new();
    let mut new_people = Vec::new();
    let mut removed_people = Vec::new();
    let mut status_changes = Vec::new();
    let mut new_findings = Vec::new();
    let mut resolved_findings = Vec::new();
    let mut new_nodes = std::collections::HashSet::new();
    for c in &h.nodes {
        let item = Item::from(&c.node);
        if !c.changed.is_empty() {
            status_changes.push(StatusChange {
                node: item.clone(),
                changed: c.changed.clone(),
            });
        }
        if c.before == c.after {
            continue;
        }
        if c.after {
            new_nodes.insert(c.node.id);
        }
        let label = c.node.label.as_str();
        if IDENTITY_LABELS.contains(&label) {
            match c.after {
                true => new_identities.push(item),
                false => retired_identities.push(item),
            }
        } else if label == "Human" {
            match c.after {
                true => new_people.push(item),
                false => removed_people.push(item),
            }
        } else if label == "Finding" {
            let f = finding(store, &c.node)?;
            match c.after {
                true => new_findings.push(f),
                false => resolved_findings.push(f),
            }
        }
    }
    let mut new_surfaces = Vec::new();
    let mut removed_surfaces = Vec::new();
    let mut owners: BTreeMap<i64, OwnerChange> = BTreeMap::new();
    for e in &h.edges {
        if SURFACE_EDGES.contains(&e.kind.as_str()) {
            // HOLDS points from the holder to the credential.
            let (cred, place, relation) = match e.kind.as_str() {
                "HOLDS" => (&e.dst, &e.src, "HELD_BY"),
                k => (&e.src, &e.dst, k),
            };
            if cred.label != "Credential" {
                continue;
            }
            let change = SurfaceChange {
                credential: cred.into(),
                relation: relation.into(),
                place: place.into(),
                credential_is_new: new_nodes.contains(&cred.id),
            };
            match e.after {
                true => new_surfaces.push(change),
                false => removed_surfaces.push(change),
            }
        } else if OWNER_EDGES.contains(&e.kind.as_str()) {
            let ev = OwnerEvidence {
                relation: e.kind.clone(),
                party: (&e.dst).into(),
                said: e
                    .props
                    .get("evidence")
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
            };
            let o = owners.entry(e.src.id).or_insert_with(|| OwnerChange {
                identity: (&e.src).into(),
                added: Vec::new(),
                removed: Vec::new(),
            });
            match e.after {
                true => o.added.push(ev),
                false => o.removed.push(ev),
            }
        }
    }
    // New identities bring their owner evidence along: only changes on
    // identities that existed before are owner changes.
    let owner_changes: Vec<OwnerChange> = owners
        .into_values()
        .filter(|o| !new_nodes.contains(&o.identity.id))
        .collect();
    let by_key = |a: &Item, b: &Item| (&a.label, &a.key).cmp(&(&b.label, &b.key));
    new_identities.sort_by(by_key);
    retired_identities.sort_by(by_key);
    new_people.sort_by(by_key);
    removed_people.sort_by(by_key);
    status_changes.sort_by(|a, b| by_key(&a.node, &b.node));
    let surface_order = |a: &SurfaceChange, b: &SurfaceChange| {
        (a.credential_is_new, &a.credential.key, &a.place.key).cmp(&(
            b.credential_is_new,
            &b.credential.key,
            &b.place.key,
        ))
    };
    new_surfaces.sort_by(surface_order);
    removed_surfaces.sort_by(surface_order);
    let finding_order = |a: &FindingChange, b: &FindingChange| {
        (
            crate::usage::severity_rank(&b.severity),
            &a.rule,
            &a.identity,
        )
            .cmp(&(
                crate::usage::severity_rank(&a.severity),
                &b.rule,
                &b.identity,
            ))
    };
    new_findings.sort_by(finding_order);
    resolved_findings.sort_by(finding_order);

    let mut notes = Vec::new();
    let all = store.snapshots()?;
    let recorded = |upto: i64| {
        all.iter()
            .filter(|s| s.id <= upto)
            .any(|s| SnapshotBrief::of(s).what == "findings")
    };
    let recorded_between = all
        .iter()
        .filter(|s| s.id > from.id && s.id <= to.id)
        .any(|s| SnapshotBrief::of(s).what == "findings");
    if !recorded_between {
        notes.push(if recorded(to.id) {
            format!(
                "findings were not recorded between snapshots {} and {}: new and resolved findings show once `custody findings --record` runs after the ingest",
                from.id, to.id
            )
        } else {
            "findings are compared as recorded, and none has been: run `custody findings --record` after each ingest".to_string()
        });
    }
    let mut counts = BTreeMap::new();
    counts.insert("new_identities", new_identities.len());
    counts.insert("retired_identities", retired_identities.len());
    counts.insert("new_people", new_people.len());
    counts.insert("removed_people", removed_people.len());
    counts.insert("new_surfaces", new_surfaces.len());
    counts.insert("removed_surfaces", removed_surfaces.len());
    counts.insert("owner_changes", owner_changes.len());
    counts.insert("status_changes", status_changes.len());
    counts.insert("new_findings", new_findings.len());
    counts.insert("resolved_findings", resolved_findings.len());
    Ok(Diff {
        from: SnapshotBrief::of(from),
        to: SnapshotBrief::of(to),
        counts,
        new_identities: capped(new_identities, limit),
        retired_identities: capped(retired_identities, limit),
        new_people: capped(new_people, limit),
        removed_people: capped(removed_people, limit),
        new_surfaces: capped(new_surfaces, limit),
        removed_surfaces: capped(removed_surfaces, limit),
        owner_changes: capped(owner_changes, limit),
        status_changes: capped(status_changes, limit),
        new_findings: capped(new_findings, limit),
        resolved_findings: capped(resolved_findings, limit),
        limit,
        notes,
    })
}

fn finding(store: &dyn Store, b: &NodeBrief) -> Result<FindingChange> {
    // A resolved finding has no live assertion left: its last one says what it was.
    let props = store
        .node_assertions(b.id)?
        .pop()
        .map(|a| a.props)
        .unwrap_or_default();
    let text = |k: &str| {
        props
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    Ok(FindingChange {
        rule: if props.contains_key("rule") {
            text("rule")
        } else {
            b.kind.clone()
        },
        severity: text("severity"),
        title: b.name.clone(),
        identity: text("identity"),
    })
}
