//! One ingest: a snapshot written chunk by chunk inside one transaction.
//!
//! For each chunk: record its sources and input errors; for a file identical
//! to its scope's last export, mark what that export said seen; for a changed
//! one, keep the last export's assertions that it states again (same digest)
//! and end the rest; resolve the remaining facts against everything already
//! stored (including earlier chunks), write nodes, keys, edges and assertions.
//! At the end: recompute the merged view of everything touched, retire what
//! nothing asserts any more, and write the snapshot's summary.

use crate::merge::{merge, Said};
use crate::rows::{loc_suffix, map_text, merge_nodes, now, recompute};
use crate::{IngestReport, Progress, Result, SourceBatch, StoreError};
use custody_graph::{Existing, Resolver};
use custody_model::{guard, Fact, Fingerprinter, Key, Label};
use rayon::prelude::*;
use rusqlite::{params, OptionalExtension, Transaction};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::time::Instant;

/// Exchanges what two source rows say (not their ids): `kept` becomes the
/// export just read, `history` the earlier one. Their order among the
/// snapshot's sources (`seq`) is the one each export was read in.
fn swap_sources(tx: &Transaction<'_>, kept: i64, history: i64) -> Result<()> {
    const COLUMNS: &str =
        "snapshot_id, format, path, scope, sha256, observed_at, records, facts, errors, COALESCE(seq, id)";
    let read = |id: i64| -> Result<Vec<rusqlite::types::Value>> {
        Ok(tx.query_row(
            &format!("SELECT {COLUMNS} FROM sources WHERE id = ?1"),
            [id],
            |r| (0..10).map(|i| r.get(i)).collect(),
        )?)
    };
    let (earlier, now) = (read(kept)?, read(history)?);
    let mut write = tx.prepare_cached(
        "UPDATE sources SET snapshot_id = ?2, format = ?3, path = ?4, scope = ?5, sha256 = ?6,
             observed_at = ?7, records = ?8, facts = ?9, errors = ?10, seq = ?11 WHERE id = ?1",
    )?;
    for (id, values) in [(kept, now), (history, earlier)] {
        let mut args: Vec<rusqlite::types::Value> = vec![id.into()];
        args.extend(values);
        write.execute(rusqlite::params_from_iter(args))?;
    }
    Ok(())
}

/// A fact's properties as stored, and its digest.
pub(crate) type Prepared = (String, [u8; 16]);

/// What identifies one fact's statement, to tell whether a new export of a
/// scope says it again in the same words: SHA-256 (first 16 bytes) of every
/// part that is stored or resolved: label, kind, system, keys, name or
/// endpoints, properties, and a time the fact gives for itself when it is
/// not its file's. Not its location: a record moved down a listing by one
/// added above it says the same, and only its location is updated.
fn digest(f: &Fact, props: &str, file_observed: Option<&str>) -> [u8; 16] {
    let mut h = Sha256::new();
    let mut part = |b: &[u8]| {
        h.update((b.len() as u64).to_le_bytes());
        h.update(b);
    };
    let prov = match f {
        Fact::Node(n) => {
            part(b"node");
            part(n.label.as_str().as_bytes());
            part(n.kind.as_bytes());
            part(n.system.as_bytes());
            for k in &n.keys {
                part(k.as_str().as_bytes());
            }
            part(b"");
            part(n.name.as_deref().unwrap_or("\0").as_bytes());
            &n.prov
        }
        Fact::Edge(e) => {
            part(b"edge");
            part(e.kind.as_str().as_bytes());
            part(e.from.label.as_str().as_bytes());
            part(e.from.key.as_str().as_bytes());
            part(e.to.label.as_str().as_bytes());
            part(e.to.key.as_str().as_bytes());
            &e.prov
        }
    };
    part(props.as_bytes());
    match prov.observed_at.as_deref() {
        Some(t) if Some(t) != file_observed => part(t.as_bytes()),
        _ => part(b"\0"),
    }
    let mut out = [0u8; 16];
    out.copy_from_slice(&h.finalize()[..16]);
    out
}

/// Scrubs a batch's facts and gives each one's properties as stored and
/// its digest, with how many values were redacted.
pub(crate) fn prepare(sb: &mut SourceBatch, fp: &Fingerprinter) -> (usize, Vec<Prepared>) {
    let own = sb.observed_at.as_deref();
    let mut redacted = 0;
    let texts = sb
        .facts
        .iter_mut()
        .map(|f| {
            redacted += guard::scrub_fact(f, fp);
            let text = match &*f {
                Fact::Node(nf) => map_text(&nf.props),
                Fact::Edge(ef) => map_text(&ef.props),
            };
            let digest = digest(f, &text, own);
            (text, digest)
        })
        .collect();
    (redacted, texts)
}

/// Dropped for a first load into an empty store and rebuilt by [`Run::finish`]
/// (`crate::schema::INDEXES`); meanwhile edge identity and keys live in memory.
const DEFERRED_DROP: &str = "DROP INDEX IF EXISTS nodes_label_kind; DROP INDEX IF EXISTS nodes_name;
    DROP INDEX IF EXISTS nodes_placeholder;
    DROP INDEX IF EXISTS assertions_node; DROP INDEX IF EXISTS assertions_edge; DROP INDEX IF EXISTS edges_dst;
    DROP INDEX IF EXISTS edges_unique; DROP INDEX IF EXISTS assertions_source;
    DROP INDEX IF EXISTS node_keys_node;";

pub struct Run<'t, 'c> {
    tx: &'t Transaction<'c>,
    fp: &'t Fingerprinter,
    fail_after_nodes: Option<(usize, bool)>,
    snap: i64,
    started: String,
    report: IngestReport,
    inputs: Vec<String>,
    /// Nodes and edges whose merged view must be recomputed from the database.
    recompute_nodes: HashSet<i64>,
    recompute_edges: HashSet<i64>,
    /// Created by this ingest (a later chunk naming them again is not an "update").
    created_nodes: HashSet<i64>,
    created_edges: HashSet<i64>,
    superseded_nodes: HashSet<i64>,
    superseded_edges: HashSet<i64>,
    nodes_written: usize,
    /// Keys written by this ingest, so later chunks resolve against earlier ones
    /// without a query; the database is asked only if it held nodes before.
    written_keys: HashMap<String, (i64, Label)>,
    /// Nodes this ingest merged away, and the node each became.
    merged: HashMap<i64, i64>,
    store_had_nodes: bool,
    /// First load only: every edge written so far, by (src, kind, dst).
    edge_ids: HashMap<(i64, custody_model::EdgeKind, i64), i64>,
}

impl<'t, 'c> Run<'t, 'c> {
    pub fn begin(
        tx: &'t Transaction<'c>,
        fp: &'t Fingerprinter,
        fail_after_nodes: Option<(usize, bool)>,
    ) -> Result<Self> {
        let started = now();
        tx.execute(
            "INSERT INTO snapshots(started_at, inputs) VALUES (?1, '[]')",
            [&started],
        )?;
        let snap = tx.last_insert_rowid();
        let store_had_nodes: bool =
            tx.query_row("SELECT EXISTS (SELECT 1 FROM node_keys)", [], |r| r.get(0))?;
        if !store_had_nodes {
            // A first load: secondary indexes that ingest never reads are built once
            // at the end, which is much cheaper than maintaining them row by row.
            tx.execute_batch(DEFERRED_DROP)?;
        }
        Ok(Run {
            tx,
            fp,
            fail_after_nodes,
            snap,
            started,
            report: IngestReport {
                snapshot: snap,
                ..Default::default()
            },
            inputs: Vec::new(),
            recompute_nodes: HashSet::new(),
            recompute_edges: HashSet::new(),
            created_nodes: HashSet::new(),
            created_edges: HashSet::new(),
            superseded_nodes: HashSet::new(),
            superseded_edges: HashSet::new(),
            nodes_written: 0,
            written_keys: HashMap::new(),
            merged: HashMap::new(),
            store_had_nodes,
            edge_ids: HashMap::new(),
        })
    }

    /// Adds one chunk of sources.
    pub fn add(
        &mut self,
        mut batch: Vec<SourceBatch>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<()> {
        let t0 = Instant::now();
        let tx = self.tx;
        let snap = self.snap;
        // Scrubbed, serialised and digested on every core (unless the
        // reader did it while the chunk before was written): each fact's
        // properties as stored, and what identifies the statement as a whole.
        let fp = self.fp;
        let take = |sb: &mut SourceBatch| match sb.prepared.take() {
            Some(p) if p.fits(&sb.facts) => (p.redacted, p.texts),
            _ => prepare(sb, fp),
        };
        let ready = |sb: &SourceBatch| sb.prepared.as_ref().is_some_and(|p| p.fits(&sb.facts));
        // Not on the pool when there is nothing to do: the reader's parse of
        // the next chunk holds it, and this thread would wait for its end.
        let prepared: Vec<(usize, Vec<Prepared>)> = if batch.iter().all(ready) {
            batch.iter_mut().map(take).collect()
        } else {
            batch.par_iter_mut().map(take).collect()
        };
        let mut prepared: Vec<Vec<Prepared>> = prepared
            .into_iter()
            .map(|(redacted, texts)| {
                self.report.secrets_redacted += redacted;
                texts
            })
            .collect();
        for sb in &mut batch {
            for e in &mut sb.errors {
                if let Some(m) = guard::redact_text(&e.message, self.fp) {
                    e.message = m;
                }
            }
        }
        self.report.files += batch.len();

        // Sources, their input errors, and supersession of older exports of their scopes.
        let mut source_ids = Vec::with_capacity(batch.len());
        let mut source_observed = Vec::with_capacity(batch.len());
        let mut paths = Vec::with_capacity(batch.len());
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO sources(snapshot_id, format, path, scope, sha256, observed_at, records, facts, errors)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            let mut err = tx.prepare_cached(
                "INSERT INTO input_errors(snapshot_id, connector, path, location, message) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut sup = tx.prepare_cached(
                "UPDATE assertions SET valid_to = ?2 WHERE valid_to IS NULL AND source_id IN
                 (SELECT id FROM sources WHERE scope = ?1 AND snapshot_id < ?2)
                 RETURNING node_id, edge_id",
            )?;
            // The newest earlier source of a scope, if it alone holds the scope's live
            // assertions: when its content is identical, this file changes nothing.
            let mut previous = tx.prepare_cached(
                "SELECT s.id, s.sha256, s.path, s.observed_at FROM sources s WHERE s.scope = ?1 AND s.snapshot_id < ?2
                   AND (s.facts = 0
                        OR EXISTS (SELECT 1 FROM assertions a WHERE a.source_id = s.id AND a.valid_to IS NULL))
                 ORDER BY s.snapshot_id DESC, s.id DESC LIMIT 2",
            )?;
            let mut seen_nodes = tx.prepare_cached(
                "UPDATE nodes SET last_seen = ?2, last_snapshot = ?3, retired_snapshot = NULL
                 WHERE id IN (SELECT node_id FROM assertions WHERE source_id = ?1 AND valid_to IS NULL)",
            )?;
            let mut seen_edges = tx.prepare_cached(
                "UPDATE edges SET last_snapshot = ?2, retired_snapshot = NULL
                 WHERE id IN (SELECT edge_id FROM assertions WHERE source_id = ?1 AND valid_to IS NULL)",
            )?;
            // The live assertions of one earlier source, with their digests.
            let mut live_of = tx.prepare_cached(
                "SELECT id, digest, location, node_id FROM assertions WHERE source_id = ?1 AND valid_to IS NULL",
            )?;
            let mut relocate =
                tx.prepare_cached("UPDATE assertions SET location = ?2 WHERE id = ?1")?;
            let mut has_conflicts =
                tx.prepare_cached("SELECT conflicts != '{}' FROM nodes WHERE id = ?1")?;
            let mut end_one = tx.prepare_cached(
                "UPDATE assertions SET valid_to = ?2, source_id = ?3 WHERE id = ?1 RETURNING node_id, edge_id",
            )?;
            // A time stored as the earlier file's own reads through to the
            // source's time (NULL) once the source row is the new file's.
            let mut observed = tx.prepare_cached(
                "UPDATE assertions SET observed_at = NULL
                 WHERE source_id = ?1 AND valid_to IS NULL AND observed_at = ?2",
            )?;
            let mut conflicted = tx.prepare_cached(
                "SELECT DISTINCT a.node_id FROM assertions a JOIN nodes n ON n.id = a.node_id
                 WHERE a.source_id = ?1 AND a.valid_to IS NULL AND n.conflicts != '{}'",
            )?;
            for (sb, texts) in batch.iter_mut().zip(prepared.iter_mut()) {
                ins.execute(params![
                    snap,
                    sb.format,
                    sb.path,
                    sb.scope,
                    sb.sha256,
                    sb.observed_at,
                    sb.records as i64,
                    sb.unparsed.unwrap_or(sb.facts.len()) as i64,
                    sb.errors.len() as i64
                ])?;
                source_ids.push(tx.last_insert_rowid());
                source_observed.push(sb.observed_at.clone());
                paths.push(sb.path.clone());
                self.inputs.push(sb.path.clone());
                self.report.records += sb.records;
                for e in &sb.errors {
                    err.execute(params![
                        snap,
                        e.connector,
                        e.source_path,
                        e.location.compact(),
                        e.message
                    ])?;
                }
                self.report.errors.append(&mut sb.errors);
                // A first load has nothing to supersede (and its indexes are deferred).
                if !self.store_had_nodes && sb.unparsed.is_none() {
                    continue;
                }
                let source_id = *source_ids.last().unwrap_or(&0);
                if sb.unparsed.is_some() && sb.sha256.is_none() {
                    return Err(StoreError::Invalid(format!(
                        "{}: a file not parsed must carry its content hash",
                        sb.path
                    )));
                }
                if sb.sha256.is_some() {
                    type Prior = (i64, Option<String>, String, Option<String>);
                    let prior: Vec<Prior> = previous
                        .query_map(params![sb.scope, snap], |r| {
                            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                        })?
                        .collect::<rusqlite::Result<_>>()?;
                    if let [(prior_id, prior_sha, _, _)] = prior.as_slice() {
                        if *prior_sha == sb.sha256 {
                            // Unchanged: what it said stays live, now seen again.
                            seen_nodes.execute(params![prior_id, self.started, snap])?;
                            seen_edges.execute(params![prior_id, snap])?;
                            self.report.files_unchanged += 1;
                            sb.facts.clear();
                            texts.clear();
                            continue;
                        }
                    }
                    if sb.unparsed.is_some() {
                        return Err(StoreError::Invalid(format!(
                            "{}: when this ingest started its content was that of its scope's last export, and \
                             it no longer is (another ingest ran meanwhile?); nothing was written: run the ingest again",
                            sb.path
                        )));
                    }
                    if let [(prior_id, _, prior_path, prior_observed)] = prior.as_slice() {
                        // Changed: each statement the earlier export made in the
                        // same words (same digest) stays live; the rest end here.
                        // (Assertions stored before digests were have none: they end.)
                        type Live = (i64, String, Option<i64>);
                        let mut said: HashMap<[u8; 16], Vec<Live>> = HashMap::new();
                        let mut ending = Vec::new();
                        let mut rows = live_of.query([prior_id])?;
                        while let Some(r) = rows.next()? {
                            let live: Live = (r.get(0)?, r.get(2)?, r.get(3)?);
                            let d: Option<Vec<u8>> = r.get(1)?;
                            match d.and_then(|d| <[u8; 16]>::try_from(d.as_slice()).ok()) {
                                Some(d) => said.entry(d).or_default().push(live),
                                None => ending.push(live.0),
                            }
                        }
                        drop(rows);
                        // Equal statements pair up in file order, so a record
                        // listed twice keeps its places.
                        for lives in said.values_mut() {
                            lives.reverse();
                        }
                        let mut keep = Vec::with_capacity(texts.len());
                        let mut moved_nodes = Vec::new();
                        for (f, (_, d)) in sb.facts.iter().zip(texts.iter()) {
                            let Some((id, location, node)) =
                                said.get_mut(d).and_then(|lives| lives.pop())
                            else {
                                keep.push(true);
                                continue;
                            };
                            keep.push(false);
                            let prov = match f {
                                Fact::Node(n) => &n.prov,
                                Fact::Edge(e) => &e.prov,
                            };
                            let now_at = prov.location.compact();
                            if now_at != location {
                                relocate.execute(params![id, now_at])?;
                                moved_nodes.extend(node);
                            }
                        }
                        ending.extend(said.into_values().flatten().map(|(id, _, _)| id));
                        let carried = keep.iter().filter(|k| !**k).count();
                        // What the new export says again stays where it is,
                        // live, its history unbroken: the earlier export's
                        // source row becomes the new file's, and the row just
                        // inserted keeps the earlier export's values for the
                        // assertions that end here.
                        let (kept_row, history_row) = if carried > 0 {
                            if let Some(t) = prior_observed {
                                observed.execute(params![prior_id, t])?;
                            }
                            swap_sources(tx, *prior_id, source_id)?;
                            if let Some(last) = source_ids.last_mut() {
                                *last = *prior_id;
                            }
                            (*prior_id, source_id)
                        } else {
                            (source_id, *prior_id)
                        };
                        for id in ending {
                            if let Some((n, e)) = end_one
                                .query_row(params![id, snap, history_row], |r| {
                                    Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?))
                                })
                                .optional()?
                            {
                                if let Some(n) = n {
                                    self.superseded_nodes.insert(n);
                                }
                                if let Some(e) = e {
                                    self.superseded_edges.insert(e);
                                }
                            }
                        }
                        if carried > 0 {
                            seen_nodes.execute(params![kept_row, self.started, snap])?;
                            seen_edges.execute(params![kept_row, snap])?;
                            // A conflict names the path and place that said each value.
                            if *prior_path != sb.path {
                                for n in conflicted.query_map([kept_row], |r| r.get::<_, i64>(0))? {
                                    self.recompute_nodes.insert(n?);
                                }
                            } else {
                                for n in moved_nodes {
                                    let c = has_conflicts.query_row([n], |r| r.get::<_, bool>(0));
                                    if c.optional()? == Some(true) {
                                        self.recompute_nodes.insert(n);
                                    }
                                }
                            }
                            let mut flags = keep.iter();
                            sb.facts.retain(|_| *flags.next().unwrap_or(&true));
                            let mut flags = keep.iter();
                            texts.retain(|_| *flags.next().unwrap_or(&true));
                            self.report.facts_unchanged += carried;
                        }
                        continue;
                    }
                }
                let rows = sup.query_map(params![sb.scope, snap], |r| {
                    Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?))
                })?;
                for row in rows {
                    match row? {
                        (Some(n), _) => {
                            self.superseded_nodes.insert(n);
                        }
                        (_, Some(e)) => {
                            self.superseded_edges.insert(e);
                        }
                        _ => {}
                    }
                }
            }
        }

        let mut facts = Vec::new();
        let mut fact_source = Vec::new();
        let mut props_text = Vec::new();
        let mut digests = Vec::new();
        for (i, (sb, texts)) in batch.into_iter().zip(prepared).enumerate() {
            fact_source.extend(std::iter::repeat_n(i, sb.facts.len()));
            facts.extend(sb.facts);
            for (text, d) in texts {
                props_text.push(text);
                digests.push(d);
            }
        }
        self.report.facts += facts.len();
        progress(Progress::Resolving { facts: facts.len() });

        // Resolve against what is stored (earlier snapshots and earlier chunks).
        let resolution = {
            let mut stmt = tx.prepare_cached(
                "SELECT n.id, n.label FROM node_keys k JOIN nodes n ON n.id = k.node_id WHERE k.key = ?1",
            )?;
            let mut lookup_error = None;
            let (written, merged, ask_db) =
                (&self.written_keys, &self.merged, self.store_had_nodes);
            let mut lookup = |k: &Key| -> Option<Existing> {
                if let Some(&(mut id, label)) = written.get(k.as_str()) {
                    while let Some(&kept) = merged.get(&id) {
                        id = kept;
                    }
                    return Some(Existing { id, label });
                }
                if !ask_db {
                    return None;
                }
                let found = stmt
                    .query_row([k.as_str()], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                    })
                    .optional();
                match found {
                    Ok(found) => found.and_then(|(id, l)| {
                        Some(Existing {
                            id,
                            label: l.parse::<Label>().ok()?,
                        })
                    }),
                    Err(e) => {
                        lookup_error.get_or_insert(e);
                        None
                    }
                }
            };
            let r = Resolver::new().resolve(&facts, &mut lookup);
            if let Some(e) = lookup_error {
                return Err(e.into());
            }
            r
        };
        let t_resolved = t0.elapsed();
        self.report
            .warnings
            .extend(resolution.warnings.iter().cloned());
        for &(gone, kept) in &resolution.merges {
            merge_nodes(tx, gone, kept, snap)?;
            self.merged.insert(gone, kept);
            if !self.store_had_nodes {
                // Re-point the in-memory edge identities as merge_nodes did the rows.
                let moved: Vec<_> = self
                    .edge_ids
                    .iter()
                    .filter(|((s, _, d), _)| *s == gone || *d == gone)
                    .map(|(k, v)| (*k, *v))
                    .collect();
                for ((s, k, d), id) in moved {
                    self.edge_ids.remove(&(s, k, d));
                    let twin = (
                        if s == gone { kept } else { s },
                        k,
                        if d == gone { kept } else { d },
                    );
                    self.edge_ids.entry(twin).or_insert(id);
                }
            }
            for set in [&mut self.recompute_nodes, &mut self.superseded_nodes] {
                if set.remove(&gone) {
                    set.insert(kept);
                }
            }
            self.recompute_nodes.insert(kept);
            self.report.nodes_merged += 1;
        }

        // Nodes, keys and node assertions. Each fact's properties were serialised once.
        let total = resolution.nodes.len() + resolution.edges.len();
        let mut node_ids = vec![0i64; resolution.nodes.len()];
        {
            let mut ins_node = tx.prepare_cached(
                "INSERT INTO nodes(label, kind, system, key, name, props, conflicts, placeholder, first_seen, last_seen, first_snapshot, last_snapshot)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?10)",
            )?;
            let mut get_node =
                tx.prepare_cached("SELECT key, placeholder, name, kind FROM nodes WHERE id = ?1")?;
            let mut upd_node = tx.prepare_cached(
                "UPDATE nodes SET key = ?2, placeholder = ?3, name = ?4, kind = ?5,
                 system = CASE WHEN ?3 = 0 AND placeholder = 1 THEN ?6 ELSE system END,
                 label = CASE WHEN placeholder = 1 THEN ?7 ELSE label END,
                 last_seen = ?8, last_snapshot = ?9, retired_snapshot = NULL WHERE id = ?1",
            )?;
            let mut ins_key =
                tx.prepare_cached("INSERT OR IGNORE INTO node_keys(key, node_id) VALUES (?1, ?2)")?;
            let mut ins_assert = tx.prepare_cached(
                "INSERT INTO assertions(source_id, node_id, edge_id, kind, location, observed_at, props, valid_from, digest)
                 VALUES (?1, ?2, NULL, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for (i, n) in resolution.nodes.iter().enumerate() {
                let canonical = n
                    .canonical_key()
                    .map(|k| k.as_str().to_string())
                    .unwrap_or_default();
                let id = match n.existing {
                    Some(id) => {
                        let (stored_key, stored_placeholder, stored_name, stored_kind): (
                            String,
                            i64,
                            Option<String>,
                            String,
                        ) = get_node.query_row([id], |r| {
                            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                        })?;
                        let better = |old: &Key| {
                            n.canonical_key().is_some_and(|new| {
                                (new.kind().rank(), new.as_str())
                                    < (old.kind().rank(), old.as_str())
                            })
                        };
                        let key = match Key::parse(&stored_key) {
                            Some(old) if better(&old) => canonical.clone(),
                            _ => stored_key,
                        };
                        let placeholder = stored_placeholder != 0 && n.placeholder;
                        let kind = if stored_kind.is_empty() || stored_placeholder != 0 {
                            n.kind.clone()
                        } else {
                            stored_kind
                        };
                        upd_node.execute(params![
                            id,
                            key,
                            placeholder as i64,
                            stored_name.or_else(|| n.name.clone()),
                            kind,
                            n.system,
                            n.label.as_str(),
                            self.started,
                            snap
                        ])?;
                        self.recompute_nodes.insert(id);
                        if !self.created_nodes.contains(&id) {
                            self.report.nodes_updated += 1;
                        }
                        id
                    }
                    None => {
                        // One fact (the common case): its properties are the view.
                        let (props, conflicts) = match n.facts.as_slice() {
                            [only] => (props_text[*only].clone(), "{}".to_string()),
                            _ => {
                                let said: Vec<Said<'_>> = n
                                    .facts
                                    .iter()
                                    .filter_map(|&fi| match &facts[fi] {
                                        Fact::Node(nf) => Some(Said {
                                            props: &nf.props,
                                            source: format!(
                                                "{}{}",
                                                paths[fact_source[fi]],
                                                loc_suffix(&nf.prov.location.compact())
                                            ),
                                        }),
                                        Fact::Edge(_) => None,
                                    })
                                    .collect();
                                let (p, c) = merge(&said);
                                (map_text(&p), map_text(&c))
                            }
                        };
                        ins_node.execute(params![
                            n.label.as_str(),
                            n.kind,
                            n.system,
                            canonical,
                            n.name,
                            props,
                            conflicts,
                            n.placeholder as i64,
                            self.started,
                            snap
                        ])?;
                        let id = tx.last_insert_rowid();
                        self.created_nodes.insert(id);
                        self.report.nodes_created += 1;
                        id
                    }
                };
                node_ids[i] = id;
                for k in &n.keys {
                    // A first load writes its keys sorted at the end (see `finish`).
                    if self.store_had_nodes {
                        ins_key.execute(params![k.as_str(), id])?;
                    }
                    self.written_keys
                        .entry(k.as_str().to_string())
                        .or_insert((id, n.label));
                }
                self.nodes_written += 1;
                if let Some((limit, kill)) = self.fail_after_nodes {
                    if self.nodes_written >= limit {
                        if kill {
                            // As `kill -9` mid-transaction would.
                            std::process::abort();
                        }
                        return Err(StoreError::Injected("after-nodes"));
                    }
                }
                if i % 20_000 == 0 {
                    progress(Progress::Writing { done: i, total });
                }
            }
            // The assertions after the nodes, not between them: each table's
            // pages are then written in runs, so a later scan of `nodes` (the
            // graph's load) reads the file in order instead of a page here and
            // there among the assertions'.
            for (n, &id) in resolution.nodes.iter().zip(&node_ids) {
                for &fi in &n.facts {
                    if let Fact::Node(nf) = &facts[fi] {
                        // The file's own time is read through its source row.
                        let observed = nf
                            .prov
                            .observed_at
                            .clone()
                            .filter(|t| Some(t) != source_observed[fact_source[fi]].as_ref());
                        ins_assert.execute(params![
                            source_ids[fact_source[fi]],
                            id,
                            nf.kind,
                            nf.prov.location.compact(),
                            observed,
                            props_text[fi],
                            snap,
                            &digests[fi][..]
                        ])?;
                    }
                }
            }
        }
        let t_nodes = t0.elapsed();

        // Edges, then their assertions (in runs of pages, as the nodes').
        let edge_view = |fis: &[usize]| -> Option<String> {
            let said: Vec<Said<'_>> = fis
                .iter()
                .filter_map(|&fi| match &facts[fi] {
                    Fact::Edge(ef) if !ef.props.is_empty() => Some(Said {
                        props: &ef.props,
                        source: format!(
                            "{}{}",
                            paths[fact_source[fi]],
                            loc_suffix(&ef.prov.location.compact())
                        ),
                    }),
                    _ => None,
                })
                .collect();
            (!said.is_empty()).then(|| map_text(&merge(&said).0))
        };
        let mut edge_of = vec![0i64; resolution.edges.len()];
        if self.store_had_nodes {
            // Edges first made in this chunk get their view from memory; any
            // other edge is recomputed from the database at the end.
            let mut new_edges: HashMap<i64, Vec<usize>> = HashMap::new();
            // Only prepared once the unique index exists (SQLite checks ON CONFLICT's target).
            let mut upsert = tx.prepare_cached(
                "INSERT INTO edges(src, kind, dst, first_snapshot, last_snapshot) VALUES (?1, ?2, ?3, ?4, ?4)
                 ON CONFLICT(src, kind, dst) DO UPDATE SET last_snapshot = excluded.last_snapshot, retired_snapshot = NULL
                 RETURNING id, first_snapshot = ?4",
            )?;
            for (j, e) in resolution.edges.iter().enumerate() {
                let Fact::Edge(ef) = &facts[e.fact] else {
                    continue;
                };
                let (src, dst) = (node_ids[e.from], node_ids[e.to]);
                let (edge_id, is_new): (i64, bool) = upsert
                    .query_row(params![src, ef.kind.as_str(), dst, snap], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })?;
                edge_of[j] = edge_id;
                if is_new && !self.created_edges.contains(&edge_id) {
                    new_edges.entry(edge_id).or_default().push(e.fact);
                } else {
                    self.recompute_edges.insert(edge_id);
                }
            }
            let mut upd = tx.prepare_cached("UPDATE edges SET props = ?2 WHERE id = ?1")?;
            for (edge_id, fis) in &new_edges {
                if let Some(view) = edge_view(fis) {
                    upd.execute(params![edge_id, view])?;
                }
            }
            self.report.edges_created += new_edges.len();
            self.created_edges.extend(new_edges.into_keys());
        } else {
            // A first load knows every edge it made: one new in this chunk is
            // written once, with its view, in the order it was first named.
            type EdgeKey = (i64, custody_model::EdgeKind, i64);
            let mut fresh: Vec<(EdgeKey, Vec<usize>)> = Vec::new();
            let mut fresh_at: HashMap<EdgeKey, usize> = HashMap::new();
            let mut fresh_of = vec![usize::MAX; resolution.edges.len()];
            for (j, e) in resolution.edges.iter().enumerate() {
                let Fact::Edge(ef) = &facts[e.fact] else {
                    continue;
                };
                let key = (node_ids[e.from], ef.kind, node_ids[e.to]);
                if let Some(&id) = self.edge_ids.get(&key) {
                    // Made by an earlier chunk.
                    edge_of[j] = id;
                    self.recompute_edges.insert(id);
                    continue;
                }
                let at = *fresh_at.entry(key).or_insert_with(|| {
                    fresh.push((key, Vec::new()));
                    fresh.len() - 1
                });
                fresh[at].1.push(e.fact);
                fresh_of[j] = at;
            }
            let mut insert_edge = tx.prepare_cached(
                "INSERT INTO edges(src, kind, dst, props, first_snapshot, last_snapshot) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            )?;
            let mut fresh_ids = Vec::with_capacity(fresh.len());
            for ((src, kind, dst), fis) in &fresh {
                let view = edge_view(fis).unwrap_or_else(|| "{}".to_string());
                insert_edge.execute(params![src, kind.as_str(), dst, view, snap])?;
                let id = tx.last_insert_rowid();
                self.edge_ids.insert((*src, *kind, *dst), id);
                self.created_edges.insert(id);
                fresh_ids.push(id);
            }
            for (j, &at) in fresh_of.iter().enumerate() {
                if at != usize::MAX {
                    edge_of[j] = fresh_ids[at];
                }
            }
            self.report.edges_created += fresh.len();
        }
        {
            let mut ins_assert = tx.prepare_cached(
                "INSERT INTO assertions(source_id, node_id, edge_id, kind, location, observed_at, props, valid_from, digest)
                 VALUES (?1, NULL, ?2, NULL, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for (j, e) in resolution.edges.iter().enumerate() {
                let Fact::Edge(ef) = &facts[e.fact] else {
                    continue;
                };
                let observed = ef
                    .prov
                    .observed_at
                    .clone()
                    .filter(|t| Some(t) != source_observed[fact_source[e.fact]].as_ref());
                ins_assert.execute(params![
                    source_ids[fact_source[e.fact]],
                    edge_of[j],
                    ef.prov.location.compact(),
                    observed,
                    props_text[e.fact],
                    snap,
                    &digests[e.fact][..]
                ])?;
                if j % 20_000 == 0 {
                    progress(Progress::Writing {
                        done: resolution.nodes.len() + j,
                        total,
                    });
                }
            }
        }
        tracing::info!(
            "chunk: {} facts, {} nodes, {} edges; resolved {:.2}s, nodes written {:.2}s, edges written {:.2}s",
            facts.len(),
            resolution.nodes.len(),
            resolution.edges.len(),
            t_resolved.as_secs_f64(),
            (t_nodes - t_resolved).as_secs_f64(),
            (t0.elapsed() - t_nodes).as_secs_f64()
        );
        Ok(())
    }

    /// Supersedes earlier sources of what `covered` says a complete
    /// collection is the whole of, that this snapshot did not repeat.
    pub fn retire_absent(&mut self, covered: &[crate::Covered]) -> Result<()> {
        if covered.is_empty() || !self.store_had_nodes {
            return Ok(());
        }
        let mut absent = self.tx.prepare_cached(
            "SELECT id, path FROM sources WHERE substr(path, 1, length(?1)) = ?1 AND snapshot_id < ?2
               AND scope NOT IN (SELECT scope FROM sources WHERE snapshot_id = ?2)",
        )?;
        let mut sup = self.tx.prepare_cached(
            "UPDATE assertions SET valid_to = ?2 WHERE valid_to IS NULL AND source_id = ?1
             RETURNING node_id, edge_id",
        )?;
        for c in covered {
            let gone: Vec<(i64, String)> = absent
                .query_map(params![c.under, self.snap], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            for (id, path) in gone {
                // Below `under`: the dated folder, then the file's own path.
                let rest = path.get(c.under.len()..).unwrap_or_default();
                let Some((_, rel)) = rest.split_once(['/', '\\']) else {
                    continue;
                };
                let rel = rel.replace('\\', "/");
                if !rel.starts_with(&c.cover)
                    || c.except.iter().any(|e| rel.starts_with(e.as_str()))
                {
                    continue;
                }
                let rows = sup.query_map(params![id, self.snap], |r| {
                    Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?))
                })?;
                for row in rows {
                    match row? {
                        (Some(n), _) => {
                            self.superseded_nodes.insert(n);
                        }
                        (_, Some(e)) => {
                            self.superseded_edges.insert(e);
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }

    /// Recomputes what must be, retires what nothing asserts, writes the summary.
    pub fn finish(mut self) -> Result<IngestReport> {
        let t0 = Instant::now();
        let tx = self.tx;
        let snap = self.snap;
        if !self.store_had_nodes {
            // Keys in sorted order build the key index in one pass.
            let mut keys: Vec<(&String, i64)> = self
                .written_keys
                .iter()
                .map(|(k, &(mut id, _))| {
                    while let Some(&kept) = self.merged.get(&id) {
                        id = kept;
                    }
                    (k, id)
                })
                .collect();
            keys.par_sort_unstable();
            let mut ins =
                tx.prepare_cached("INSERT OR IGNORE INTO node_keys(key, node_id) VALUES (?1, ?2)")?;
            for (k, id) in keys {
                ins.execute(params![k, id])?;
            }
            tracing::info!("finish: keys written in {:.2}s", t0.elapsed().as_secs_f64());
            tx.execute_batch(crate::schema::INDEXES)?;
            tracing::info!(
                "finish: built indexes in {:.2}s",
                t0.elapsed().as_secs_f64()
            );
        }
        for &id in self.recompute_edges.union(&self.superseded_edges) {
            recompute(tx, "edges", id)?;
        }
        for &id in self.recompute_nodes.union(&self.superseded_nodes) {
            recompute(tx, "nodes", id)?;
        }
        let mut candidates: HashSet<i64> = self.superseded_nodes.iter().copied().collect();
        for &e in &self.superseded_edges {
            let live: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM assertions WHERE edge_id = ?1 AND valid_to IS NULL)",
                [e],
                |r| r.get(0),
            )?;
            if !live {
                let ends: Option<(i64, i64)> = tx
                    .query_row(
                        "UPDATE edges SET retired_snapshot = ?2 WHERE id = ?1 AND retired_snapshot IS NULL RETURNING src, dst",
                        params![e, snap],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                if let Some((s, d)) = ends {
                    candidates.insert(s);
                    candidates.insert(d);
                    self.report.edges_retired += 1;
                }
            }
        }
        for id in candidates {
            let live: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM assertions WHERE node_id = ?1 AND valid_to IS NULL)
                     OR EXISTS (SELECT 1 FROM edges WHERE (src = ?1 OR dst = ?1) AND retired_snapshot IS NULL)",
                [id],
                |r| r.get(0),
            )?;
            if !live {
                self.report.nodes_retired += tx.execute(
                    "UPDATE nodes SET retired_snapshot = ?2 WHERE id = ?1 AND retired_snapshot IS NULL",
                    params![id, snap],
                )?;
            }
        }
        let r = &self.report;
        let summary = json!({
            "files": r.files, "records": r.records, "facts": r.facts,
            "nodes_created": r.nodes_created, "nodes_updated": r.nodes_updated,
            "nodes_merged": r.nodes_merged, "nodes_retired": r.nodes_retired,
            "edges_created": r.edges_created, "edges_retired": r.edges_retired,
            "errors": r.errors.len(), "secrets_redacted": r.secrets_redacted,
            "files_unchanged": r.files_unchanged, "facts_unchanged": r.facts_unchanged,
        });
        tx.execute(
            "UPDATE snapshots SET finished_at = ?2, inputs = ?3, summary = ?4 WHERE id = ?1",
            params![
                snap,
                now(),
                Value::from(self.inputs.clone()).to_string(),
                summary.to_string()
            ],
        )?;
        tracing::info!(
            "finish: recomputed views and retired in {:.2}s",
            t0.elapsed().as_secs_f64()
        );
        Ok(self.report)
    }
}
