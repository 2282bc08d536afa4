//! What changed between two snapshots, read from the assertions' history
//! (`valid_from` .. `valid_to`): every node and edge that existed at one
//! snapshot and not the other, and the status properties that changed on
//! nodes present at both. The reader behind `custody diff`.
//!
//! A node or edge *exists at snapshot S* when one of its assertions was
//! read at or before S and not superseded by S. One pass over the
//! assertions decides it for all of them, so a diff costs about one table
//! scan whatever the range.

use crate::rows::parse_map;
use crate::sqlite::SqliteStore;
use crate::{NodeBrief, Result};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Properties whose change on a node present at both snapshots is reported
/// (a key disabled, a person who left): the rest change with every export
/// (`last_used`…) and would drown the answer.
pub const STATUS_PROPS: [&str; 5] = [
    "status",
    "employment_status",
    "idp_status",
    "termination_date",
    "enabled",
];

/// A node that appeared or went away (`before` != `after`), or whose status
/// properties changed.
#[derive(Debug, Clone, Serialize)]
pub struct NodeChange {
    pub node: NodeBrief,
    /// It existed at the earlier snapshot.
    pub before: bool,
    /// It exists at the later snapshot.
    pub after: bool,
    /// Status properties that changed: name → (earlier value, later value).
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub changed: Map<String, Value>,
}

/// An edge that appeared or went away.
#[derive(Debug, Clone, Serialize)]
pub struct EdgeChange {
    pub id: i64,
    pub src: NodeBrief,
    pub kind: String,
    pub dst: NodeBrief,
    pub props: Map<String, Value>,
    pub before: bool,
    pub after: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct History {
    pub nodes: Vec<NodeChange>,
    pub edges: Vec<EdgeChange>,
}

/// Per node or edge: exists at `from`, exists at `to`, changed in between.
#[derive(Default, Clone, Copy)]
struct Seen {
    at_from: bool,
    at_to: bool,
}

impl SqliteStore {
    /// What changed after snapshot `from` up to and including `to`.
    pub(crate) fn read_history(&self, from: i64, to: i64) -> Result<History> {
        let mut nodes: HashMap<i64, Seen> = HashMap::new();
        let mut edges: HashMap<i64, Seen> = HashMap::new();
        // Status values stated by assertions that ended (before) or began
        // (after) in the range, for nodes present at both ends.
        let mut before: HashMap<i64, Map<String, Value>> = HashMap::new();
        let mut after: HashMap<i64, Map<String, Value>> = HashMap::new();
        let status_like = STATUS_PROPS
            .iter()
            .map(|p| format!("instr(props, '\"{p}\":') > 0"))
            .collect::<Vec<_>>()
            .join(" OR ");
        let mut stmt = self.conn.prepare(&format!(
            "SELECT node_id, edge_id, valid_from, valid_to,
                    CASE WHEN node_id IS NOT NULL
                          AND (valid_from > ?1 OR (valid_to > ?1 AND valid_to <= ?2))
                          AND ({status_like}) THEN props END
             FROM assertions WHERE valid_from <= ?2"
        ))?;
        let mut rows = stmt.query([from, to])?;
        while let Some(r) = rows.next()? {
            let node: Option<i64> = r.get(0)?;
            let edge: Option<i64> = r.get(1)?;
            let valid_from: i64 = r.get(2)?;
            let valid_to: Option<i64> = r.get(3)?;
            let at_from = valid_from <= from && valid_to.is_none_or(|t| t > from);
            let at_to = valid_to.is_none_or(|t| t > to);
            let (map, id) = match (node, edge) {
                (Some(n), _) => (&mut nodes, n),
                (None, Some(e)) => (&mut edges, e),
                _ => continue,
            };
            let s = map.entry(id).or_default();
            s.at_from |= at_from;
            s.at_to |= at_to;
            if let (Some(n), Some(text)) = (node, r.get::<_, Option<String>>(4)?) {
                let props = parse_map(&text);
                let ended = valid_from <= from && valid_to.is_some_and(|t| t > from && t <= to);
                let began = valid_from > from && at_to;
                for p in STATUS_PROPS {
                    if let Some(v) = props.get(p) {
                        if ended {
                            before.entry(n).or_default().insert(p.into(), v.clone());
                        }
                        if began {
                            after.entry(n).or_default().insert(p.into(), v.clone());
                        }
                    }
                }
            }
        }
        drop(rows);
        let mut out = History::default();
        let mut node_ids: Vec<i64> = nodes
            .iter()
            .filter(|(_, s)| s.at_from != s.at_to)
            .map(|(id, _)| *id)
            .collect();
        let mut changed: HashMap<i64, Map<String, Value>> = HashMap::new();
        for (id, b) in &before {
            let Some(a) = after.get(id) else { continue };
            if !nodes.get(id).is_some_and(|s| s.at_from && s.at_to) {
                continue;
            }
            let mut c = Map::new();
            for (k, v) in b {
                if let Some(w) = a.get(k).filter(|w| *w != v) {
                    c.insert(k.clone(), Value::Array(vec![v.clone(), w.clone()]));
                }
            }
            if !c.is_empty() {
                changed.insert(*id, c);
                node_ids.push(*id);
            }
        }
        node_ids.sort_unstable();
        for chunk in node_ids.chunks(500) {
            let list = id_list(chunk);
            let mut stmt = self.conn.prepare(&format!(
                "SELECT id, label, kind, system, key, name, placeholder, retired_snapshot FROM nodes WHERE id IN ({list})"
            ))?;
            let briefs = stmt.query_map([], Self::brief_row)?;
            for b in briefs {
                let b = b?;
                let s = nodes.get(&b.id).copied().unwrap_or_default();
                out.nodes.push(NodeChange {
                    changed: changed.remove(&b.id).unwrap_or_default(),
                    before: s.at_from,
                    after: s.at_to,
                    node: b,
                });
            }
        }
        let mut edge_ids: Vec<i64> = edges
            .iter()
            .filter(|(_, s)| s.at_from != s.at_to)
            .map(|(id, _)| *id)
            .collect();
        edge_ids.sort_unstable();
        let mut briefs: HashMap<i64, NodeBrief> = HashMap::new();
        for chunk in edge_ids.chunks(500) {
            let list = id_list(chunk);
            let mut stmt = self.conn.prepare(&format!(
                "SELECT id, src, kind, dst, props FROM edges WHERE id IN ({list}) ORDER BY id"
            ))?;
            let rows: Vec<(i64, i64, String, i64, String)> = stmt
                .query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            for (id, src, kind, dst, props) in rows {
                let (Some(src), Some(dst)) =
                    (self.brief(&mut briefs, src)?, self.brief(&mut briefs, dst)?)
                else {
                    continue;
                };
                let s = edges.get(&id).copied().unwrap_or_default();
                out.edges.push(EdgeChange {
                    id,
                    src,
                    kind,
                    dst,
                    props: parse_map(&props),
                    before: s.at_from,
                    after: s.at_to,
                });
            }
        }
        Ok(out)
    }

    fn brief(&self, cache: &mut HashMap<i64, NodeBrief>, id: i64) -> Result<Option<NodeBrief>> {
        if let Some(b) = cache.get(&id) {
            return Ok(Some(b.clone()));
        }
        let b: Option<NodeBrief> = rusqlite::OptionalExtension::optional(self.conn.query_row(
            "SELECT id, label, kind, system, key, name, placeholder, retired_snapshot FROM nodes WHERE id = ?1",
            [id],
            Self::brief_row,
        ))?;
        if let Some(b) = &b {
            cache.insert(id, b.clone());
        }
        Ok(b)
    }
}

/// `1,2,3`: ids for an `IN (…)` list (integers only, so nothing to escape).
fn id_list(ids: &[i64]) -> String {
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}
