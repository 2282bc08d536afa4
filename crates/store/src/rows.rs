//! Row helpers shared by the reading (`sqlite`) and writing (`ingest`) sides
//! of the SQLite store: times, property maps as JSON text, the merged view of
//! one node or edge, folding one node into another, and the row readers
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

/// Rows per batch of [`parsed_ahead`].
const BATCH: usize = 16_384;

/// Runs `stmt` with `args`, turns each row into an item (`read`) and hands
/// the items to `visit` in row order, their properties left as JSON text for
/// whoever reads them (a graph held in memory parses only what its questions
/// touch).
pub(crate) fn each_row<T>(
    stmt: &mut rusqlite::Statement<'_>,
    args: impl rusqlite::Params,
    read: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    visit: &mut dyn FnMut(T),
) -> Result<()> {
    let mut rows = stmt.query(args)?;
    while let Some(r) = rows.next()? {
        visit(read(r)?);
    }
    Ok(())
}

/// Like [`each_row`] for a visitor that reads every item's properties: each
/// batch's properties are parsed on the thread pool while this thread reads
/// the next batch from SQLite and visits the one before, and each visited
/// batch is freed on the pool too (parsing and freeing the parsed maps are
/// most of a full scan's cost: on the permission model's scan at 10,000
/// people this thread spent ~0.9 s of its ~4 s freeing maps, and waited
/// for each batch's parse).
/// Called from a pool thread it parses each batch and waits, as blocking
/// pool threads on one another could deadlock.
pub(crate) fn parsed_ahead<T: WithProps + 'static>(
    stmt: &mut rusqlite::Statement<'_>,
    args: impl rusqlite::Params,
    read: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    visit: &mut dyn FnMut(&T),
) -> Result<()> {
    use rayon::prelude::*;
    use std::sync::mpsc;
    let on_pool = rayon::current_thread_index().is_some();
    // Batches being parsed, oldest first: at most two ahead of the visitor.
    let mut ahead: std::collections::VecDeque<mpsc::Receiver<Vec<T>>> = Default::default();
    let mut visit_one = |rx: mpsc::Receiver<Vec<T>>| -> Result<()> {
        let batch = rx.recv().map_err(|_| {
            crate::StoreError::Invalid("a batch of rows was lost while parsing".into())
        })?;
        for item in &batch {
            visit(item);
        }
        rayon::spawn(move || drop(batch));
        Ok(())
    };
    let send = |batch: Vec<T>| {
        let (tx, rx) = mpsc::sync_channel(1);
        let parse = move || {
            batch.par_iter().for_each(|item| {
                item.props().map();
            });
            let _ = tx.send(batch);
        };
        if on_pool {
            parse();
        } else {
            rayon::spawn(parse);
        }
        rx
    };
    let mut rows = stmt.query(args)?;
    let mut batch: Vec<T> = Vec::with_capacity(BATCH);
    while let Some(r) = rows.next()? {
        batch.push(read(r)?);
        if batch.len() == BATCH {
            ahead.push_back(send(std::mem::replace(
                &mut batch,
                Vec::with_capacity(BATCH),
            )));
            if ahead.len() > 2 {
                if let Some(rx) = ahead.pop_front() {
                    visit_one(rx)?;
                }
            }
        }
    }
    ahead.push_back(send(batch));
    while let Some(rx) = ahead.pop_front() {
        visit_one(rx)?;
    }
    Ok(())
}
