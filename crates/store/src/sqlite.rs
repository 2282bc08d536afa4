//! The SQLite backend (bundled SQLite, no server).

use crate::merge::{merge, Said};
use crate::schema::{SCHEMA, VERSION};
use crate::{
    Assertion, EdgeRecord, IngestReport, ListFilter, NodeBrief, NodeRecord, Progress, Result,
    SnapshotInfo, SourceBatch, Stats, Store, StoreError,
};
use custody_graph::{Existing, Resolver};
use custody_model::{guard, Fact, Fingerprinter, Key, Label};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde_json::{json, Map, Value};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

/// Set to `after-nodes:N` to make an ingest fail after writing N nodes (a fault
/// injection hook for testing that ingest is all-or-nothing).
pub const FAILPOINT_ENV: &str = "CUSTODY_FAILPOINT";

pub struct SqliteStore {
    conn: Connection,
    fingerprinter: Fingerprinter,
    fail_after_nodes: Option<usize>,
}

fn now() -> String {
    custody_model::time::canonical(chrono::Utc::now())
}

fn parse_map(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

fn map_text(m: &Map<String, Value>) -> String {
    serde_json::to_string(m).unwrap_or_else(|_| "{}".into())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`. Refuses a database made
    /// under another fingerprint key: its fingerprints would never match.
    pub fn open(path: &Path, fingerprinter: Fingerprinter) -> Result<SqliteStore> {
        let conn = Connection::open(path)?;
        Self::init(conn, fingerprinter)
    }

    pub fn open_in_memory(fingerprinter: Fingerprinter) -> Result<SqliteStore> {
        Self::init(Connection::open_in_memory()?, fingerprinter)
    }

    fn init(conn: Connection, fingerprinter: Fingerprinter) -> Result<SqliteStore> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -262144; PRAGMA foreign_keys = OFF;",
        )?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch("CREATE INDEX IF NOT EXISTS nodes_name ON nodes(name);")?;
        let get = |k: &str| -> Result<Option<String>> {
            Ok(conn
                .query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
                .optional()?)
        };
        match get("schema_version")? {
            None => {
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES ('schema_version', ?1)",
                    [VERSION.to_string()],
                )?;
            }
            Some(v) if v == VERSION.to_string() => {}
            Some(v) => {
                return Err(StoreError::Invalid(format!(
                    "this database has schema version {v}; this custody reads version {VERSION}"
                )))
            }
        }
        let key_id = fingerprinter.key_id();
        match get("fingerprint_key_id")? {
            None => {
                conn.execute("INSERT INTO meta(key, value) VALUES ('fingerprint_key_id', ?1)", [&key_id])?;
            }
            Some(stored) if stored == key_id => {}
            Some(stored) => {
                return Err(StoreError::Invalid(format!(
                    "this database was built with another fingerprint key (key id {stored}, this installation's is {key_id}); \
                     set CUSTODY_KEY_FILE to the key it was built with, or use a new --db"
                )))
            }
        }
        Ok(SqliteStore {
            conn,
            fingerprinter,
            fail_after_nodes: failpoint(),
        })
    }

    /// Makes the next ingests fail after writing `n` nodes (fault injection for
    /// tests; also set by the `CUSTODY_FAILPOINT=after-nodes:N` environment variable).
    pub fn inject_failure_after_nodes(&mut self, n: Option<usize>) {
        self.fail_after_nodes = n;
    }

    fn brief_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<NodeBrief> {
        Ok(NodeBrief {
            id: r.get(0)?,
            label: r.get(1)?,
            kind: r.get(2)?,
            system: r.get(3)?,
            key: r.get(4)?,
            name: r.get(5)?,
            placeholder: r.get::<_, i64>(6)? != 0,
            retired: r.get::<_, Option<i64>>(7)?.is_some(),
        })
    }

    fn assertions_where(&self, column: &str, id: i64) -> Result<Vec<Assertion>> {
        let sql = format!(
            "SELECT s.path, s.format, a.location, COALESCE(a.observed_at, s.observed_at), a.valid_from, a.kind, a.props, a.valid_to IS NULL
             FROM assertions a JOIN sources s ON s.id = a.source_id WHERE a.{column} = ?1 ORDER BY a.valid_from, a.id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([id], |r| {
            Ok(Assertion {
                source: r.get(0)?,
                format: r.get(1)?,
                location: r.get(2)?,
                observed_at: r.get(3)?,
                snapshot: r.get(4)?,
                kind: r.get(5)?,
                props: parse_map(&r.get::<_, String>(6)?),
                live: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// Recomputes the merged view of one node or edge from its live assertions.
fn recompute(tx: &Transaction<'_>, table: &str, id: i64) -> Result<()> {
    let column = if table == "nodes" {
        "node_id"
    } else {
        "edge_id"
    };
    let sql = format!(
        "SELECT a.props, s.path, a.location FROM assertions a JOIN sources s ON s.id = a.source_id
         WHERE a.{column} = ?1 AND a.valid_to IS NULL ORDER BY a.valid_from, a.id"
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

fn loc_suffix(loc: &str) -> String {
    if loc.is_empty() {
        String::new()
    } else if loc.starts_with('#') {
        loc.to_string()
    } else {
        format!("#{loc}")
    }
}

/// Folds stored node `gone` into `kept`: keys, assertions and edges move over.
fn merge_nodes(tx: &Transaction<'_>, gone: i64, kept: i64, snap: i64) -> Result<()> {
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

fn failpoint() -> Option<usize> {
    let v = std::env::var(FAILPOINT_ENV).ok()?;
    v.strip_prefix("after-nodes:")?.parse().ok()
}

impl Store for SqliteStore {
    fn ingest(
        &mut self,
        mut batch: Vec<SourceBatch>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<IngestReport> {
        let fail_after = self.fail_after_nodes;
        let started = now();
        let mut report = IngestReport {
            files: batch.len(),
            ..Default::default()
        };
        for sb in &mut batch {
            for f in &mut sb.facts {
                report.secrets_redacted += guard::scrub_fact(f, &self.fingerprinter);
            }
            for e in &mut sb.errors {
                if let Some(m) = guard::redact_text(&e.message, &self.fingerprinter) {
                    e.message = m;
                }
            }
        }
        let tx = self.conn.transaction()?;
        let inputs: Vec<&str> = batch.iter().map(|b| b.path.as_str()).collect();
        tx.execute(
            "INSERT INTO snapshots(started_at, inputs) VALUES (?1, ?2)",
            params![started, json!(inputs).to_string()],
        )?;
        let snap = tx.last_insert_rowid();
        report.snapshot = snap;

        // Sources and their input errors.
        let mut source_ids = Vec::with_capacity(batch.len());
        let mut source_observed = Vec::with_capacity(batch.len());
        let mut paths = Vec::with_capacity(batch.len());
        {
            let mut ins = tx.prepare(
                "INSERT INTO sources(snapshot_id, format, path, scope, sha256, observed_at, records, facts, errors)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            let mut err = tx.prepare("INSERT INTO input_errors(snapshot_id, connector, path, location, message) VALUES (?1, ?2, ?3, ?4, ?5)")?;
            for sb in &batch {
                ins.execute(params![
                    snap,
                    sb.format,
                    sb.path,
                    sb.scope,
                    sb.sha256,
                    sb.observed_at,
                    sb.records as i64,
                    sb.facts.len() as i64,
                    sb.errors.len() as i64
                ])?;
                source_ids.push(tx.last_insert_rowid());
                source_observed.push(sb.observed_at.clone());
                paths.push(sb.path.clone());
                report.records += sb.records;
                for e in &sb.errors {
                    err.execute(params![
                        snap,
                        e.connector,
                        e.source_path,
                        e.location.compact(),
                        e.message
                    ])?;
                }
            }
        }

        // A newer export of a scope supersedes what older ones said.
        let scopes: BTreeSet<&str> = batch.iter().map(|b| b.scope.as_str()).collect();
        {
            let mut sup = tx.prepare(
                "UPDATE assertions SET valid_to = ?2 WHERE valid_to IS NULL AND source_id IN
                 (SELECT id FROM sources WHERE scope = ?1 AND snapshot_id < ?2)",
            )?;
            for scope in &scopes {
                sup.execute(params![scope, snap])?;
            }
        }
        let superseded_nodes: Vec<i64> = tx
            .prepare("SELECT DISTINCT node_id FROM assertions WHERE valid_to = ?1 AND node_id IS NOT NULL")?
            .query_map([snap], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let superseded_edges: Vec<i64> = tx
            .prepare("SELECT DISTINCT edge_id FROM assertions WHERE valid_to = ?1 AND edge_id IS NOT NULL")?
            .query_map([snap], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;

        for sb in batch.iter_mut() {
            report.errors.append(&mut sb.errors);
        }
        let mut facts = Vec::new();
        let mut fact_source = Vec::new();
        for (i, sb) in batch.into_iter().enumerate() {
            fact_source.extend(std::iter::repeat_n(i, sb.facts.len()));
            facts.extend(sb.facts);
        }
        report.facts = facts.len();
        progress(Progress::Resolving { facts: facts.len() });

        // Resolve against what is stored.
        let store_empty: bool =
            tx.query_row("SELECT NOT EXISTS (SELECT 1 FROM node_keys)", [], |r| {
                r.get(0)
            })?;
        let resolution = {
            let mut stmt = tx.prepare("SELECT n.id, n.label FROM node_keys k JOIN nodes n ON n.id = k.node_id WHERE k.key = ?1")?;
            let mut lookup_error = None;
            let mut lookup = |k: &Key| -> Option<Existing> {
                if store_empty {
                    return None;
                }
                match stmt
                    .query_row([k.as_str()], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                    })
                    .optional()
                {
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
        report.warnings = resolution.warnings.clone();

        let mut recompute_nodes: HashSet<i64> = superseded_nodes.iter().copied().collect();
        for &(gone, kept) in &resolution.merges {
            merge_nodes(&tx, gone, kept, snap)?;
            recompute_nodes.remove(&gone);
            recompute_nodes.insert(kept);
            report.nodes_merged += 1;
        }

        // Nodes, keys and node assertions.
        let total = resolution.nodes.len() + resolution.edges.len();
        let mut node_ids = vec![0i64; resolution.nodes.len()];
        {
            let mut ins_node = tx.prepare(
                "INSERT INTO nodes(label, kind, system, key, name, props, conflicts, placeholder, first_seen, last_seen, first_snapshot, last_snapshot)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?10)",
            )?;
            let mut get_node =
                tx.prepare("SELECT key, placeholder, name, kind FROM nodes WHERE id = ?1")?;
            let mut upd_node = tx.prepare(
                "UPDATE nodes SET key = ?2, placeholder = ?3, name = ?4, kind = ?5, system = CASE WHEN ?3 = 0 AND placeholder = 1 THEN ?6 ELSE system END,
                 label = CASE WHEN placeholder = 1 THEN ?7 ELSE label END, last_seen = ?8, last_snapshot = ?9, retired_snapshot = NULL WHERE id = ?1",
            )?;
            let mut ins_key =
                tx.prepare("INSERT OR IGNORE INTO node_keys(key, node_id) VALUES (?1, ?2)")?;
            let mut ins_assert = tx.prepare(
                "INSERT INTO assertions(source_id, node_id, edge_id, kind, location, observed_at, props, valid_from)
                 VALUES (?1, ?2, NULL, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for (i, n) in resolution.nodes.iter().enumerate() {
                let canonical = n
                    .canonical_key()
                    .map(|k| k.as_str().to_string())
                    .unwrap_or_default();
                let fact_props: Vec<(&Map<String, Value>, String)> = n
                    .facts
                    .iter()
                    .filter_map(|&fi| match &facts[fi] {
                        Fact::Node(nf) => Some((
                            &nf.props,
                            format!(
                                "{}{}",
                                paths[fact_source[fi]],
                                loc_suffix(&nf.prov.location.compact())
                            ),
                        )),
                        Fact::Edge(_) => None,
                    })
                    .collect();
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
                        let key = match Key::parse(&stored_key) {
                            Some(old)
                                if n.canonical_key().is_some_and(|new| {
                                    (new.kind().rank(), new.as_str())
                                        < (old.kind().rank(), old.as_str())
                                }) =>
                            {
                                canonical.clone()
                            }
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
                            started,
                            snap
                        ])?;
                        recompute_nodes.insert(id);
                        report.nodes_updated += 1;
                        id
                    }
                    None => {
                        let said: Vec<Said<'_>> = fact_props
                            .iter()
                            .map(|(p, s)| Said {
                                props: p,
                                source: s.clone(),
                            })
                            .collect();
                        let (props, conflicts) = merge(&said);
                        ins_node.execute(params![
                            n.label.as_str(),
                            n.kind,
                            n.system,
                            canonical,
                            n.name,
                            map_text(&props),
                            map_text(&conflicts),
                            n.placeholder as i64,
                            started,
                            snap
                        ])?;
                        report.nodes_created += 1;
                        tx.last_insert_rowid()
                    }
                };
                node_ids[i] = id;
                for k in &n.keys {
                    ins_key.execute(params![k.as_str(), id])?;
                }
                for &fi in &n.facts {
                    if let Fact::Node(nf) = &facts[fi] {
                        let observed = nf
                            .prov
                            .observed_at
                            .clone()
                            .or_else(|| source_observed[fact_source[fi]].clone());
                        ins_assert.execute(params![
                            source_ids[fact_source[fi]],
                            id,
                            nf.kind,
                            nf.prov.location.compact(),
                            observed,
                            map_text(&nf.props),
                            snap
                        ])?;
                    }
                }
                if fail_after.is_some_and(|n| i + 1 >= n) {
                    return Err(StoreError::Injected("after-nodes"));
                }
                if i % 20_000 == 0 {
                    progress(Progress::Writing { done: i, total });
                }
            }
        }

        // Edges and edge assertions.
        let mut new_edges: HashMap<i64, Vec<usize>> = HashMap::new();
        let mut recompute_edges: HashSet<i64> = superseded_edges.iter().copied().collect();
        {
            let mut upsert = tx.prepare(
                "INSERT INTO edges(src, kind, dst, first_snapshot, last_snapshot) VALUES (?1, ?2, ?3, ?4, ?4)
                 ON CONFLICT(src, kind, dst) DO UPDATE SET last_snapshot = excluded.last_snapshot, retired_snapshot = NULL
                 RETURNING id, first_snapshot = ?4",
            )?;
            let mut ins_assert = tx.prepare(
                "INSERT INTO assertions(source_id, node_id, edge_id, kind, location, observed_at, props, valid_from)
                 VALUES (?1, NULL, ?2, NULL, ?3, ?4, ?5, ?6)",
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
                let observed = ef
                    .prov
                    .observed_at
                    .clone()
                    .or_else(|| source_observed[fact_source[e.fact]].clone());
                ins_assert.execute(params![
                    source_ids[fact_source[e.fact]],
                    edge_id,
                    ef.prov.location.compact(),
                    observed,
                    map_text(&ef.props),
                    snap
                ])?;
                if is_new && !recompute_edges.contains(&edge_id) {
                    new_edges.entry(edge_id).or_default().push(e.fact);
                } else {
                    new_edges.remove(&edge_id);
                    recompute_edges.insert(edge_id);
                }
                if j % 20_000 == 0 {
                    progress(Progress::Writing {
                        done: resolution.nodes.len() + j,
                        total,
                    });
                }
            }
        }
        progress(Progress::Finishing);
        report.edges_created = new_edges.len();
        {
            let mut upd = tx.prepare("UPDATE edges SET props = ?2 WHERE id = ?1")?;
            for (edge_id, fis) in &new_edges {
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
                if !said.is_empty() {
                    upd.execute(params![edge_id, map_text(&merge(&said).0)])?;
                }
            }
        }
        for &id in &recompute_edges {
            recompute(&tx, "edges", id)?;
        }
        for &id in &recompute_nodes {
            recompute(&tx, "nodes", id)?;
        }

        // Retire what nothing asserts any more.
        let mut retire_candidates: HashSet<i64> = superseded_nodes.into_iter().collect();
        for &e in &superseded_edges {
            let live: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM assertions WHERE edge_id = ?1 AND valid_to IS NULL)",
                [e],
                |r| r.get(0),
            )?;
            if !live {
                let (s, d): (i64, i64) = tx.query_row(
                    "UPDATE edges SET retired_snapshot = ?2 WHERE id = ?1 RETURNING src, dst",
                    params![e, snap],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                retire_candidates.insert(s);
                retire_candidates.insert(d);
                report.edges_retired += 1;
            }
        }
        for id in retire_candidates {
            let live: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM assertions WHERE node_id = ?1 AND valid_to IS NULL)
                     OR EXISTS (SELECT 1 FROM edges WHERE (src = ?1 OR dst = ?1) AND retired_snapshot IS NULL)",
                [id],
                |r| r.get(0),
            )?;
            if !live {
                report.nodes_retired += tx.execute("UPDATE nodes SET retired_snapshot = ?2 WHERE id = ?1 AND retired_snapshot IS NULL", params![id, snap])?;
            }
        }

        let summary = json!({
            "files": report.files, "records": report.records, "facts": report.facts,
            "nodes_created": report.nodes_created, "nodes_updated": report.nodes_updated,
            "nodes_merged": report.nodes_merged, "nodes_retired": report.nodes_retired,
            "edges_created": report.edges_created, "edges_retired": report.edges_retired,
            "errors": report.errors.len(), "secrets_redacted": report.secrets_redacted,
        });
        tx.execute(
            "UPDATE snapshots SET finished_at = ?2, summary = ?3 WHERE id = ?1",
            params![snap, now(), summary.to_string()],
        )?;
        tx.commit()?;
        Ok(report)
    }

    fn find(&self, reference: &str) -> Result<Option<i64>> {
        let r = reference.trim();
        if r.is_empty() {
            return Ok(None);
        }
        let by_id = |id: i64| -> Result<Option<i64>> {
            let direct: Option<i64> = self
                .conn
                .query_row("SELECT id FROM nodes WHERE id = ?1", [id], |r| r.get(0))
                .optional()?;
            if direct.is_some() {
                return Ok(direct);
            }
            Ok(self
                .conn
                .query_row("SELECT kept FROM node_merges WHERE gone = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?)
        };
        if let Ok(id) = r.strip_prefix('n').unwrap_or(r).parse::<i64>() {
            if let Some(found) = by_id(id)? {
                return Ok(Some(found));
            }
        }
        let mut candidates: Vec<Key> = Vec::new();
        if let Some(k) = Key::parse(r) {
            candidates.push(k);
        }
        if r.starts_with("arn:") {
            candidates.push(Key::arn(r));
        } else if r.contains('@') {
            candidates.push(Key::email(r));
        } else if r.len() >= 16 && r.bytes().all(|b| b.is_ascii_alphanumeric()) {
            candidates.push(Key::aws_access_key(r));
            candidates.push(Key::aws_unique_id(r));
            candidates.push(Key::okta(r));
        }
        let mut stmt = self
            .conn
            .prepare_cached("SELECT node_id FROM node_keys WHERE key = ?1")?;
        for k in candidates {
            if let Some(id) = stmt
                .query_row([k.as_str()], |r| r.get::<_, i64>(0))
                .optional()?
            {
                return Ok(Some(id));
            }
        }
        let named: Vec<(i64, String)> = self
            .conn
            .prepare("SELECT id, key FROM nodes WHERE name = ?1 AND placeholder = 0 LIMIT 6")?
            .query_map([r], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        match named.len() {
            0 => Ok(None),
            1 => Ok(Some(named[0].0)),
            _ => Err(StoreError::Invalid(format!(
                "`{r}` is the name of several nodes; name one by its key: {}",
                named
                    .iter()
                    .map(|(_, k)| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    fn node(&self, id: i64) -> Result<Option<NodeRecord>> {
        let row = self
            .conn
            .query_row(
                "SELECT id, label, kind, system, key, name, placeholder, retired_snapshot, props, conflicts,
                        first_seen, last_seen, first_snapshot, last_snapshot FROM nodes WHERE id = ?1",
                [id],
                |r| {
                    Ok(NodeRecord {
                        brief: Self::brief_row(r)?,
                        props: parse_map(&r.get::<_, String>(8)?),
                        conflicts: parse_map(&r.get::<_, String>(9)?),
                        keys: Vec::new(),
                        first_seen: r.get(10)?,
                        last_seen: r.get(11)?,
                        first_snapshot: r.get(12)?,
                        last_snapshot: r.get(13)?,
                    })
                },
            )
            .optional()?;
        let Some(mut rec) = row else { return Ok(None) };
        rec.keys = self
            .conn
            .prepare("SELECT key FROM node_keys WHERE node_id = ?1 ORDER BY key")?
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Some(rec))
    }

    fn node_assertions(&self, id: i64) -> Result<Vec<Assertion>> {
        self.assertions_where("node_id", id)
    }

    fn edge_assertions(&self, edge_id: i64) -> Result<Vec<Assertion>> {
        self.assertions_where("edge_id", edge_id)
    }

    fn edges(&self, id: i64) -> Result<Vec<EdgeRecord>> {
        let mut out = Vec::new();
        for (direction, mine, other) in [("out", "src", "dst"), ("in", "dst", "src")] {
            let sql = format!(
                "SELECT n.id, n.label, n.kind, n.system, n.key, n.name, n.placeholder, n.retired_snapshot, e.id, e.kind, e.props, e.retired_snapshot
                 FROM edges e JOIN nodes n ON n.id = e.{other} WHERE e.{mine} = ?1 ORDER BY e.kind, n.key"
            );
            let mut stmt = self.conn.prepare(&sql)?;
            let rows = stmt.query_map([id], |r| {
                Ok(EdgeRecord {
                    other: Self::brief_row(r)?,
                    id: r.get(8)?,
                    kind: r.get(9)?,
                    props: parse_map(&r.get::<_, String>(10)?),
                    retired: r.get::<_, Option<i64>>(11)?.is_some(),
                    direction,
                })
            })?;
            for row in rows {
                out.push(row?);
            }
        }
        Ok(out)
    }

    fn list(&self, f: &ListFilter) -> Result<Vec<NodeBrief>> {
        let mut sql = String::from("SELECT id, label, kind, system, key, name, placeholder, retired_snapshot FROM nodes WHERE 1 = 1");
        let mut args: Vec<String> = Vec::new();
        for (col, v) in [
            ("label", &f.label),
            ("kind", &f.kind),
            ("system", &f.system),
        ] {
            if let Some(v) = v {
                args.push(v.clone());
                sql.push_str(&format!(" AND {col} = ?{}", args.len()));
            }
        }
        if !f.include_retired {
            sql.push_str(" AND retired_snapshot IS NULL");
        }
        if !f.include_placeholders {
            sql.push_str(" AND placeholder = 0");
        }
        sql.push_str(&format!(
            " ORDER BY label, kind, key LIMIT {} OFFSET {}",
            if f.limit == 0 { -1 } else { f.limit as i64 },
            f.offset
        ));
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), Self::brief_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn stats(&self) -> Result<Stats> {
        let c = &self.conn;
        let count = |sql: &str| -> Result<usize> {
            Ok(c.query_row(sql, [], |r| r.get::<_, i64>(0))? as usize)
        };
        let live = "retired_snapshot IS NULL AND placeholder = 0";
        let mut s = Stats {
            nodes: count(&format!("SELECT COUNT(*) FROM nodes WHERE {live}"))?,
            identities: count(&format!("SELECT COUNT(*) FROM nodes WHERE {live} AND label IN ('Credential', 'Principal', 'Agent')"))?,
            edges: count("SELECT COUNT(*) FROM edges WHERE retired_snapshot IS NULL")?,
            snapshots: count("SELECT COUNT(*) FROM snapshots")?,
            sources: count("SELECT COUNT(*) FROM sources")?,
            assertions: count("SELECT COUNT(*) FROM assertions WHERE valid_to IS NULL")?,
            input_errors: count("SELECT COUNT(*) FROM input_errors")?,
            ..Default::default()
        };
        s.nodes_by_label = c
            .prepare(&format!(
                "SELECT label, COUNT(*) FROM nodes WHERE {live} GROUP BY label ORDER BY label"
            ))?
            .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as usize)))?
            .collect::<rusqlite::Result<_>>()?;
        s.nodes_by_kind = c
            .prepare(&format!("SELECT label, kind, COUNT(*) FROM nodes WHERE {live} GROUP BY label, kind ORDER BY label, kind"))?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as usize)))?
            .collect::<rusqlite::Result<_>>()?;
        s.edges_by_kind = c
            .prepare("SELECT kind, COUNT(*) FROM edges WHERE retired_snapshot IS NULL GROUP BY kind ORDER BY kind")?
            .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as usize)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(s)
    }

    fn snapshots(&self) -> Result<Vec<SnapshotInfo>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, started_at, finished_at, inputs, summary FROM snapshots ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            let text = |i: usize| -> rusqlite::Result<Value> {
                Ok(r.get::<_, Option<String>>(i)?
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .unwrap_or(Value::Null))
            };
            Ok(SnapshotInfo {
                id: r.get(0)?,
                started_at: r.get(1)?,
                finished_at: r.get(2)?,
                inputs: text(3)?,
                summary: text(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
