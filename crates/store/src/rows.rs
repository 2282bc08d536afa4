//! Row helpers shared by the reading (`sqlite`) and writing (`ingest`) sides
//! of the SQLite store: times, property maps as JSON text, the merged view of
//! one node or edge, folding one node into another, and the batched reader
//! every scan uses.

use crate::merge::{merge, Said};
use crate::Result;
use rusqlite::{params, OptionalExtension, Transaction};
use serde_json::{Map, Value};

pub(crate) fn now() -> String {
    custody_model::time::canonical(chrono::Utc::now())
}

pub(crate) fn parse_map(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

pub(crate) fn map_text(m: &Map<String, Value>) -> String {
    serde_json::to_string(m).unwrap_or_else(|_| "{}".into())
}

/// Recomputes the merged view of one node or edge from its live assertions,
/// oldest first by the snapshot of the source that last stated each (an
/// assertion a changed export states again counts as that export's), then
/// file order, then read order.
pub(crate) fn recompute(tx: &Transaction<'_>, table: &str, id: i64) -> Result<()> {
    let column = if table == "nodes" {
        "node_id"
    } else {
        "edge_id"
    };
    let sql = format!(
        "SELECT a.props, s.path, a.location FROM assertions a JOIN sources s ON s.id = a.source_id
         WHERE a.{column} = ?1 AND a.valid_to IS NULL ORDER BY s.snapshot_id, COALESCE(s.seq, s.id), a.id"
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    let rows: Vec<(Map<String, Value>, String)> = stmt
        .query_map([id], |r| {
            Ok((
                parse_map(&r.get::<_, String>(0)?),
                format!(
                    "{}{}",
                    r.get::<_, String>(1)?,
                    loc_suffix(&r.get::<_, String>(2)?)
                ),
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let said: Vec<Said<'_>> = rows
        .iter()
        .map(|(p, s)| Said {
            props: p,
            source: s.clone(),
        })
        .collect();
    let (props, conflicts) = merge(&said);
    if table == "nodes" {
        tx.prepare_cached("UPDATE nodes SET props = ?2, conflicts = ?3 WHERE id = ?1")?
            .execute(params![id, map_text(&props), map_text(&conflicts)])?;
    } else {
        tx.prepare_cached("UPDATE edges SET props = ?2 WHERE id = ?1")?
            .execute(params![id, map_text(&props)])?;
    }
    Ok(())
}

pub(crate) fn loc_suffix(loc: &str) -> String {
    if loc.is_empty() {
        String::new()
    } else if loc.starts_with('#') {
        loc.to_string()
    } else {
        format!("#{loc}")
    }
}

/// Folds stored node `gone` into `kept`: keys, assertions and edges move over.
pub(crate) fn merge_nodes(tx: &Transaction<'_>, gone: i64, kept: i64, snap: i64) -> Result<()> {
    tx.execute(
        "UPDATE node_keys SET node_id = ?2 WHERE node_id = ?1",
        params![gone, kept],
    )?;
    tx.execute(
        "UPDATE assertions SET node_id = ?2 WHERE node_id = ?1",
        params![gone, kept],
    )?;
    let edges: Vec<(i64, i64, String, i64)> = tx
        .prepare("SELECT id, src, kind, dst FROM edges WHERE src = ?1 OR dst = ?1")?
        .query_map([gone], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, src, kind, dst) in edges {
        let (s, d) = (
            if src == gone { kept } else { src },
            if dst == gone { kept } else { dst },
        );
        let twin: Option<i64> = tx
            .query_row(
                "SELECT id FROM edges WHERE src = ?1 AND kind = ?2 AND dst = ?3",
                params![s, kind, d],
                |r| r.get(0),
            )
            .optional()?;
        match twin {
            Some(t) => {
                tx.execute(
                    "UPDATE assertions SET edge_id = ?2 WHERE edge_id = ?1",
                    params![id, t],
                )?;
                tx.execute("DELETE FROM edges WHERE id = ?1", [id])?;
                recompute(tx, "edges", t)?;
            }
            None => {
                tx.execute(
                    "UPDATE edges SET src = ?2, dst = ?3 WHERE id = ?1",
                    params![id, s, d],
                )?;
            }
        }
    }
    tx.execute("DELETE FROM nodes WHERE id = ?1", [gone])?;
    tx.execute(
        "UPDATE node_merges SET kept = ?2 WHERE kept = ?1",
        params![gone, kept],
    )?;
    tx.execute(
        "INSERT OR REPLACE INTO node_merges(gone, kept, snapshot_id) VALUES (?1, ?2, ?3)",
        params![gone, kept, snap],
    )?;
    Ok(())
}

/// Something read with its properties as JSON text, parsed on first read.
pub(crate) trait WithProps: Send + Sync {
    fn props(&self) -> &custody_model::Props;
}

impl WithProps for crate::GraphNode {
    fn props(&self) -> &custody_model::Props {
        &self.props
    }
}

impl WithProps for crate::GraphEdge {
    fn props(&self) -> &custody_model::Props {
        &self.props
    }
}

/// Rows per batch of [`batched`].
const BATCH: usize = 16_384;

/// How [`batched`] treats the rows' properties.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Parse {
    /// Parse each batch's properties on every core while SQLite stays on this
    /// thread (parsing is most of a full scan's cost): for a visitor that
    /// reads them all.
    Eager,
    /// Leave them as text for whoever reads them (a graph held in memory
    /// parses only what its questions touch).
    Lazy,
}

/// Runs `stmt` with `args`, turns each row into an item (`read`), parses the
/// properties as `parse` says and hands the items to `visit` in row order.
pub(crate) fn batched<T: WithProps>(
    stmt: &mut rusqlite::Statement<'_>,
    args: impl rusqlite::Params,
    read: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    parse: Parse,
    visit: &mut dyn FnMut(T),
) -> Result<()> {
    use rayon::prelude::*;
    let mut rows = stmt.query(args)?;
    let mut batch: Vec<T> = Vec::with_capacity(BATCH);
    let mut flush = |batch: &mut Vec<T>| {
        if parse == Parse::Eager {
            batch.par_iter().for_each(|item| {
                item.props().map();
            });
        }
        for item in batch.drain(..) {
            visit(item);
        }
    };
    while let Some(r) = rows.next()? {
        batch.push(read(r)?);
        if batch.len() == BATCH {
            flush(&mut batch);
        }
    }
    flush(&mut batch);
    Ok(())
}
