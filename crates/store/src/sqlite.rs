//! The SQLite backend (bundled SQLite, no server).

use crate::rows::{each_row, parse_map, parsed_ahead};
use crate::schema::{SCHEMA, VERSION};
use crate::{
    Assertion, EdgeRecord, IngestReport, ListFilter, NodeBrief, NodeRecord, Progress, Result,
    ScanNode, SnapshotInfo, SourceBatch, Stats, Store, StoreError,
};
use custody_model::{Fingerprinter, Key, Label};
use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;
use std::path::Path;

/// Set to `after-nodes:N` to make an ingest fail after writing N nodes (a fault
/// injection hook for testing that ingest is all-or-nothing).
pub const FAILPOINT_ENV: &str = "CUSTODY_FAILPOINT";

pub struct SqliteStore {
    pub(crate) conn: Connection,
    fingerprinter: Fingerprinter,
    /// Fault injection: fail (or, when `true`, kill the process) after N nodes.
    fail_after_nodes: Option<(usize, bool)>,
}

impl SqliteStore {
    /// Visits every live node matching `filter` (SQL over `nodes`, with `?`
    /// parameters) with its merged properties.
    fn visit_nodes(
        &self,
        filter: &str,
        params: &[&str],
        visit: &mut dyn FnMut(ScanNode<'_>),
    ) -> Result<()> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT id, label, kind, system, key, name, props FROM nodes WHERE retired_snapshot IS NULL AND {filter}"
        ))?;
        parsed_ahead(
            &mut stmt,
            rusqlite::params_from_iter(params.iter()),
            graph_node,
            &mut |n: &crate::GraphNode| {
                visit(ScanNode {
                    id: n.id,
                    label: &n.label,
                    kind: &n.kind,
                    key: &n.key,
                    name: n.name.as_deref(),
                    props: &n.props,
                })
            },
        )
    }

    /// The `AND …` conditions of a [`ListFilter`], with their arguments.
    fn list_filter(f: &ListFilter) -> (String, Vec<String>) {
        let mut sql = String::new();
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
        (sql, args)
    }

    /// Opens (creating if needed) the database at `path`. Refuses a database made
    /// under another fingerprint key: its fingerprints would never match.
    /// Opens the database at `path`, creating it readable by its owner only
    /// (0600; SQLite gives its journal and WAL files the same mode).
    pub fn open(path: &Path, fingerprinter: Fingerprinter) -> Result<SqliteStore> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // An empty file is an empty database; one that exists is kept as is.
            let _ = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path);
        }
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
             PRAGMA cache_size = -524288; PRAGMA foreign_keys = OFF;",
        )?;
        conn.execute_batch(SCHEMA)?;
        // Added to version 1 later; older databases gain them (their assertions
        // have no digest, so a changed export rewrites them once).
        for (table, column, kind) in [
            ("assertions", "digest", "BLOB"),
            ("sources", "seq", "INTEGER"),
        ] {
            let has: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2)",
                [table, column],
                |r| r.get(0),
            )?;
            if !has {
                conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))?;
            }
        }
        conn.execute_batch(crate::schema::INDEXES)?;
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
        self.fail_after_nodes = n.map(|n| (n, false));
    }

    pub(crate) fn brief_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<NodeBrief> {
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

/// `after-nodes:N` fails the ingest after N nodes (an error, rolled back);
/// `kill-after-nodes:N` kills the process there, as `kill -9` would, in
/// the middle of the transaction. Returns (N, kill).
fn failpoint() -> Option<(usize, bool)> {
    let v = std::env::var(FAILPOINT_ENV).ok()?;
    if let Some(n) = v.strip_prefix("kill-after-nodes:") {
        return Some((n.parse().ok()?, true));
    }
    Some((v.strip_prefix("after-nodes:")?.parse().ok()?, false))
}

impl SqliteStore {
    fn ingest_in_transaction(
        &mut self,
        chunks: &mut dyn Iterator<Item = Vec<SourceBatch>>,
        authoritative: &[crate::Covered],
        progress: &mut dyn FnMut(Progress),
        fp: &Fingerprinter,
        fail_after: Option<(usize, bool)>,
    ) -> Result<IngestReport> {
        let tx = self.conn.transaction()?;
        let mut run = crate::ingest::Run::begin(&tx, fp, fail_after)?;
        for (i, chunk) in chunks.enumerate() {
            progress(Progress::Chunk {
                index: i,
                files: chunk.len(),
            });
            run.add(chunk, progress)?;
        }
        progress(Progress::Finishing);
        run.retire_absent(authoritative)?;
        let report = run.finish()?;
        tx.commit()?;
        Ok(report)
    }

    /// Runs `read` with the SQLite cache at 8 MiB: a pass over whole tables
    /// reads each page once, and the 512 MiB kept for ingest would sit
    /// beside whatever the caller builds from them.
    fn with_small_cache<T>(&self, read: impl FnOnce() -> Result<T>) -> Result<T> {
        let cache: i64 = self.conn.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
        self.conn.execute_batch("PRAGMA cache_size = -8192")?;
        let out = read();
        self.conn
            .execute_batch(&format!("PRAGMA cache_size = {cache}"))?;
        out
    }

    /// A second connection to this database for a reader on another thread
    /// (none for an in-memory database).
    fn reader(&self) -> Result<Option<Connection>> {
        let Some(path) = self.conn.path().filter(|p| !p.is_empty()) else {
            return Ok(None);
        };
        use rusqlite::OpenFlags;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch("PRAGMA cache_size = -8192")?;
        Ok(Some(conn))
    }
}

/// The live nodes, then every node's keys.
fn read_nodes(
    conn: &Connection,
    node: &mut dyn FnMut(crate::GraphNode),
    key: &mut dyn FnMut(i64, &str),
) -> Result<()> {
    read_node_block(conn, (i64::MIN, i64::MAX), node)?;
    read_keys(conn, key)
}

/// The live nodes of ids in `from..=to`, in id order.
fn read_node_block(
    conn: &Connection,
    (from, to): (i64, i64),
    node: &mut dyn FnMut(crate::GraphNode),
) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, label, kind, system, key, name, props FROM nodes
         WHERE retired_snapshot IS NULL AND placeholder = 0 AND id BETWEEN ?1 AND ?2",
    )?;
    each_row(&mut stmt, [from, to], graph_node, node)
}

/// Every node's keys.
fn read_keys(conn: &Connection, key: &mut dyn FnMut(i64, &str)) -> Result<()> {
    let mut stmt = conn.prepare("SELECT node_id, key FROM node_keys")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let k: String = r.get(1)?;
        key(r.get(0)?, &k);
    }
    Ok(())
}

/// Blocks of node ids that two connections share out: one takes them from
/// the front, the other from the back, until they meet.
struct NodeBlocks {
    first: i64,
    width: i64,
    count: usize,
    /// The next block from the front, and one past the next from the back.
    left: std::sync::Mutex<(usize, usize)>,
}

impl NodeBlocks {
    /// Ids `first..=last` in at most `count` blocks of equal width.
    fn new(first: i64, last: i64, count: usize) -> Self {
        let span = last.saturating_sub(first).saturating_add(1).max(1);
        let asked = i64::try_from(count.max(1)).unwrap_or(i64::MAX);
        let width = (span / asked + i64::from(span % asked != 0)).max(1);
        let count = usize::try_from(span / width + i64::from(span % width != 0)).unwrap_or(1);
        NodeBlocks {
            first,
            width,
            count,
            left: std::sync::Mutex::new((0, count)),
        }
    }

    /// The ids of block `b`, both ends included (the last block runs to
    /// the largest id there can be).
    fn range(&self, b: usize) -> (i64, i64) {
        let from = self
            .first
            .saturating_add(self.width.saturating_mul(b as i64));
        let to = if b + 1 == self.count {
            i64::MAX
        } else {
            from.saturating_add(self.width - 1)
        };
        (from, to)
    }

    fn take(&self, from_front: bool) -> Option<usize> {
        let mut left = self.left.lock().unwrap_or_else(|p| p.into_inner());
        let (front, back) = &mut *left;
        if *front >= *back {
            return None;
        }
        Some(if from_front {
            *front += 1;
            *front - 1
        } else {
            *back -= 1;
            *back
        })
    }
}

/// The live edges.
fn read_edges(conn: &Connection, edge: &mut dyn FnMut(crate::GraphEdge)) -> Result<()> {
    let mut stmt =
        conn.prepare("SELECT id, src, kind, dst, props FROM edges WHERE retired_snapshot IS NULL")?;
    each_row(&mut stmt, [], graph_edge, edge)
}

impl Store for SqliteStore {
    fn fingerprinter(&self) -> &Fingerprinter {
        &self.fingerprinter
    }

    fn compact(&mut self) -> Result<crate::Compacted> {
        let started = std::time::Instant::now();
        let c = &self.conn;
        let pages = |pragma: &str| -> Result<u64> {
            let n: i64 = c.query_row(&format!("PRAGMA {pragma}"), [], |r| r.get(0))?;
            Ok(n.max(0) as u64)
        };
        let page = pages("page_size")?;
        let (before, free) = (pages("page_count")?, pages("freelist_count")?);
        // VACUUM builds the new file as a temporary database: on disk (beside
        // the system's temporary files), not in memory as this connection's
        // other temporary tables are, or a 10,000-person database would need
        // its size in RAM.
        c.execute_batch("PRAGMA temp_store = FILE")?;
        let vacuumed = c.execute_batch("VACUUM");
        c.execute_batch("PRAGMA temp_store = MEMORY")?;
        vacuumed.map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::Invalid(format!(
                "the disk filled up while compacting ({e}); nothing was changed. \
                 Compacting needs free space of about twice the database ({} MB): \
                 beside it for the write-ahead log, and in the temporary folder \
                 (SQLITE_TMPDIR, else /var/tmp or /tmp) for the copy",
                before * page / 1_000_000
            )),
            _ => StoreError::Sqlite(e),
        })?;
        // The rewrite went through the write-ahead log: copy it back and
        // give its space back.
        c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(crate::Compacted {
            bytes_before: before * page,
            free_bytes_before: free * page,
            bytes_after: pages("page_count")? * page,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    fn snapshot_note(&mut self, id: i64, key: &str, value: Value) -> Result<()> {
        let tx = self.conn.transaction()?;
        let summary: Option<String> = tx
            .query_row("SELECT summary FROM snapshots WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        let mut summary = summary.map(|t| parse_map(&t)).unwrap_or_default();
        summary.insert(key.to_string(), value);
        tx.execute(
            "UPDATE snapshots SET summary = ?2 WHERE id = ?1",
            rusqlite::params![id, Value::Object(summary).to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn usage_known_sources(&self) -> Result<std::collections::HashSet<String>> {
        self.usage_known_sources_all()
    }
    fn usage_profiles(&self, keys: &[&str]) -> Result<std::collections::HashMap<String, String>> {
        self.usage_profiles_of(keys)
    }
    fn usage_write(
        &mut self,
        profiles: &[crate::UsageRow],
        sources: &[crate::UsageSource],
        alerts: &[crate::AlertRow],
    ) -> Result<usize> {
        self.usage_write_all(profiles, sources, alerts)
    }
    fn usage_scan(&self, visit: &mut dyn FnMut(crate::UsageRow)) -> Result<()> {
        self.usage_visit(visit)
    }
    fn alerts(&self, since: i64) -> Result<Vec<crate::AlertRow>> {
        self.alerts_since(since)
    }
    fn response_log(&mut self, row: &crate::ResponseRow) -> Result<()> {
        self.response_append(row)
    }
    fn responses(&self, credential: Option<&str>) -> Result<Vec<crate::ResponseRow>> {
        self.response_rows(credential)
    }
    fn suppress(&mut self, row: &crate::SuppressionRow) -> Result<crate::SuppressionRow> {
        self.suppression_add(row)
    }
    fn suppressions(&self) -> Result<Vec<crate::SuppressionRow>> {
        self.suppression_rows()
    }
    fn unsuppress(&mut self, id: i64, by: &str, reason: &str) -> Result<bool> {
        self.suppression_remove(id, by, reason)
    }
    fn network_ranges_replace(
        &mut self,
        source: &str,
        rows: &[crate::NetworkRangeRow],
    ) -> Result<usize> {
        self.ranges_replace(source, rows)
    }
    fn network_ranges(&self) -> Result<Vec<crate::NetworkRangeRow>> {
        self.ranges_all()
    }

    fn ingest_authoritative(
        &mut self,
        chunks: &mut dyn Iterator<Item = Vec<SourceBatch>>,
        authoritative: &[crate::Covered],
        progress: &mut dyn FnMut(Progress),
    ) -> Result<IngestReport> {
        let fail_after = self.fail_after_nodes;
        let fp = self.fingerprinter.clone();
        // A first load into an empty database writes every page once with a
        // rollback journal (nearly empty: new pages need no undo), where WAL would
        // write each page twice (log, then checkpoint). WAL is restored after.
        let empty: bool =
            self.conn
                .query_row("SELECT NOT EXISTS (SELECT 1 FROM nodes)", [], |r| r.get(0))?;
        let bulk = empty
            && self
                .conn
                .query_row("PRAGMA journal_mode = DELETE", [], |r| {
                    r.get::<_, String>(0)
                })
                .is_ok_and(|m| m == "delete");
        // A first load appends every table in id order and resolves keys in
        // memory: the pages it needs are the last few of each table, so the
        // 512 MiB cache kept for later ingests would only hold written pages
        // (~400 MB of the first load's peak at 10,000 people). Its indexes
        // are built at the end, each sort on two threads (~0.8 s of ~10 s).
        let cache: i64 = self.conn.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
        if bulk {
            self.conn
                .execute_batch("PRAGMA cache_size = -65536; PRAGMA threads = 2")?;
        }
        let result = self.ingest_in_transaction(chunks, authoritative, progress, &fp, fail_after);
        if bulk {
            let _ = self
                .conn
                .execute_batch(&format!("PRAGMA cache_size = {cache}; PRAGMA threads = 0"));
            let _ = self
                .conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0));
        }
        result
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
        let candidates = Key::candidates(r);
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
        // Point lookups come by the thousand (ownership, alerts, pages):
        // each statement is compiled once per connection.
        let row = self
            .conn
            .prepare_cached(
                "SELECT id, label, kind, system, key, name, placeholder, retired_snapshot, props, conflicts,
                        first_seen, last_seen, first_snapshot, last_snapshot FROM nodes WHERE id = ?1",
            )?
            .query_row(
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
            .prepare_cached("SELECT key FROM node_keys WHERE node_id = ?1 ORDER BY key")?
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
            let mut stmt = self.conn.prepare_cached(&sql)?;
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

    fn scan_nodes(&self, kinds: &[&str], visit: &mut dyn FnMut(ScanNode<'_>)) -> Result<()> {
        let marks = vec!["?"; kinds.len()].join(", ");
        self.with_small_cache(|| self.visit_nodes(&format!("kind IN ({marks})"), kinds, visit))
    }

    fn scan_label(&self, label: &str, visit: &mut dyn FnMut(ScanNode<'_>)) -> Result<()> {
        self.visit_nodes("label = ?1", &[label], visit)
    }

    fn scan_placeholders(&self, visit: &mut dyn FnMut(ScanNode<'_>)) -> Result<()> {
        // `nodes_placeholder` (a partial index) finds them without a table scan.
        self.visit_nodes("placeholder = 1", &[], visit)
    }

    fn scan_label_keys(&self, label: &str, visit: &mut dyn FnMut(i64, &str)) -> Result<()> {
        let mut stmt = self.conn.prepare(
            "SELECT k.node_id, k.key FROM node_keys k JOIN nodes n ON n.id = k.node_id
             WHERE n.label = ?1 AND n.retired_snapshot IS NULL ORDER BY k.node_id, k.key",
        )?;
        let mut rows = stmt.query([label])?;
        while let Some(r) = rows.next()? {
            let k: String = r.get(1)?;
            visit(r.get(0)?, &k);
        }
        Ok(())
    }

    fn current_exports(&self) -> Result<std::collections::HashMap<String, crate::CurrentExport>> {
        // Every source that holds live assertions (or is an empty export):
        // what the ingest's own check (`ingest.rs`, `previous`) looks for.
        let mut stmt = self.conn.prepare(
            "SELECT s.path, s.sha256, s.scope, s.observed_at, s.records, s.facts, s.errors FROM sources s
             WHERE s.facts = 0 OR EXISTS (SELECT 1 FROM assertions a WHERE a.source_id = s.id AND a.valid_to IS NULL)",
        )?;
        use std::collections::{HashMap, HashSet};
        let mut holders: HashMap<String, Vec<(String, Option<crate::CurrentExport>)>> =
            HashMap::new();
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let (path, sha, scope): (String, Option<String>, String) =
                (r.get(0)?, r.get(1)?, r.get(2)?);
            let clean = r.get::<_, i64>(6)? == 0;
            let export = sha.filter(|_| clean).map(|sha256| crate::CurrentExport {
                sha256,
                scope: scope.clone(),
                observed_at: r.get(3).unwrap_or_default(),
                records: r.get::<_, i64>(4).unwrap_or_default() as usize,
                facts: r.get::<_, i64>(5).unwrap_or_default() as usize,
            });
            holders.entry(scope).or_default().push((path, export));
        }
        let mut out: HashMap<String, crate::CurrentExport> = HashMap::new();
        let mut twice = HashSet::new();
        for (_, mut list) in holders {
            if let [(path, Some(_))] = list.as_slice() {
                let path = path.clone();
                if let Some((_, Some(e))) = list.pop() {
                    if out.insert(path.clone(), e).is_some() {
                        twice.insert(path);
                    }
                }
            }
        }
        // A path holding two scopes is left to be parsed.
        for p in twice {
            out.remove(&p);
        }
        Ok(out)
    }

    fn scan_key_prefix(&self, prefix: &str, visit: &mut dyn FnMut(i64, &str)) -> Result<()> {
        // A range over the primary key: `prefix` ≤ key < `prefix` + U+10FFFF.
        let upper = format!("{prefix}\u{10FFFF}");
        let mut stmt = self.conn.prepare(
            "SELECT k.node_id, k.key FROM node_keys k JOIN nodes n ON n.id = k.node_id
             WHERE k.key >= ?1 AND k.key < ?2 AND n.retired_snapshot IS NULL ORDER BY k.key",
        )?;
        let mut rows = stmt.query([prefix, upper.as_str()])?;
        while let Some(r) = rows.next()? {
            let k: String = r.get(1)?;
            visit(r.get(0)?, &k);
        }
        Ok(())
    }

    fn scan_graph(
        &self,
        node: &mut dyn FnMut(crate::GraphNode),
        key: &mut dyn FnMut(i64, &str),
        edge: &mut dyn FnMut(crate::GraphEdge),
    ) -> Result<()> {
        self.with_small_cache(|| {
            // Both tables as one state of the graph.
            self.conn.execute_batch("SAVEPOINT graph_scan_one")?;
            let out = read_nodes(&self.conn, node, key).and_then(|()| read_edges(&self.conn, edge));
            let released = self.conn.execute_batch("RELEASE graph_scan_one");
            out?;
            Ok(released?)
        })
    }

    fn another(&self) -> Result<Option<Box<dyn Store + Send>>> {
        Ok(self.reader()?.map(|conn| {
            Box::new(SqliteStore {
                conn,
                fingerprinter: self.fingerprinter.clone(),
                fail_after_nodes: None,
            }) as Box<dyn Store + Send>
        }))
    }

    fn scan_graph_concurrent(
        &self,
        node: &mut dyn FnMut(crate::GraphNode),
        key: &mut dyn FnMut(i64, &str),
        edge: &mut (dyn FnMut(crate::GraphEdge) + Send),
    ) -> Result<()> {
        let Some(reader) = self.reader()? else {
            return self.scan_graph(node, key, edge);
        };
        self.with_small_cache(|| {
            // Both connections read one state of the graph: each holds a
            // read transaction, and every change to nodes or edges is an
            // ingest's, which adds a snapshot in the same commit. Should one
            // land between the two starts, this connection reads it all.
            self.conn.execute_batch("SAVEPOINT graph_scan")?;
            let out = (|| {
                let version = |c: &Connection| -> Result<(Option<i64>, Option<i64>, Option<i64>)> {
                    Ok(c.query_row(
                        "SELECT (SELECT max(id) FROM snapshots), (SELECT min(id) FROM nodes), (SELECT max(id) FROM nodes)",
                        [],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )?)
                };
                let mine = version(&self.conn)?;
                reader.execute_batch("BEGIN")?;
                let (Some(first), Some(last)) = (mine.1, mine.2) else {
                    return self.scan_graph(node, key, edge);
                };
                if version(&reader)? != mine {
                    return self.scan_graph(node, key, edge);
                }
                // The edges on the reader, while this connection reads nodes
                // from the first id up; the reader then reads nodes from the
                // last id down (kept for their turn) until the two meet. At
                // 10,000 people the nodes took ~1.7 s and the edges ~0.9 s.
                let blocks = NodeBlocks::new(first, last, 64);
                std::thread::scope(|s| {
                    let blocks = &blocks;
                    let other = s.spawn(move || -> Result<Vec<Vec<crate::GraphNode>>> {
                        read_edges(&reader, edge)?;
                        let mut taken = Vec::new();
                        while let Some(b) = blocks.take(false) {
                            let mut block = Vec::new();
                            read_node_block(&reader, blocks.range(b), &mut |n| {
                                block.push(n)
                            })?;
                            taken.push(block);
                        }
                        Ok(taken)
                    });
                    let mine: Result<()> = (|| {
                        while let Some(b) = blocks.take(true) {
                            read_node_block(&self.conn, blocks.range(b), node)?;
                        }
                        Ok(())
                    })();
                    if mine.is_err() {
                        // The reader takes no more blocks.
                        while blocks.take(false).is_some() {}
                    }
                    let theirs = other
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                    mine?;
                    // Taken from the back: the last block is first.
                    for block in theirs?.into_iter().rev() {
                        block.into_iter().for_each(&mut *node);
                    }
                    read_keys(&self.conn, key)
                })
            })();
            let released = self.conn.execute_batch("RELEASE graph_scan");
            out?;
            Ok(released?)
        })
    }

    fn scan_edges(&self, kinds: &[&str], visit: &mut crate::EdgeVisitor<'_>) -> Result<()> {
        let marks = vec!["?"; kinds.len()].join(", ");
        let sql = format!(
            "SELECT id, src, kind, dst, props FROM edges WHERE retired_snapshot IS NULL AND kind IN ({marks})"
        );
        self.with_small_cache(|| {
            let mut stmt = self.conn.prepare(&sql)?;
            parsed_ahead(
                &mut stmt,
                rusqlite::params_from_iter(kinds.iter()),
                graph_edge,
                &mut |e: &crate::GraphEdge| visit(e.src, &e.kind, e.dst, &e.props),
            )
        })
    }

    fn count(&self, f: &ListFilter) -> Result<usize> {
        let (filter, args) = Self::list_filter(f);
        let n: i64 = self.conn.query_row(
            &format!("SELECT COUNT(*) FROM nodes WHERE 1 = 1{filter}"),
            rusqlite::params_from_iter(args.iter()),
            |r| r.get(0),
        )?;
        Ok(n as usize)
    }

    fn list(&self, f: &ListFilter) -> Result<Vec<NodeBrief>> {
        let (filter, args) = Self::list_filter(f);
        let mut sql = format!("SELECT id, label, kind, system, key, name, placeholder, retired_snapshot FROM nodes WHERE 1 = 1{filter}");
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
        // One pass over each of the two large tables (a pass per figure
        // cost seconds at 10,000 people); totals are sums of the groups.
        let nodes_by_kind: Vec<(String, String, usize)> = c
            .prepare(
                "SELECT label, kind, COUNT(*) FROM nodes WHERE retired_snapshot IS NULL AND placeholder = 0
                 GROUP BY label, kind ORDER BY label, kind",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as usize)))?
            .collect::<rusqlite::Result<_>>()?;
        let edges_by_kind: Vec<(String, usize)> = c
            .prepare("SELECT kind, COUNT(*) FROM edges WHERE retired_snapshot IS NULL GROUP BY kind ORDER BY kind")?
            .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as usize)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut nodes_by_label: Vec<(String, usize)> = Vec::new();
        for (label, _, n) in &nodes_by_kind {
            match nodes_by_label.last_mut() {
                Some((l, total)) if l == label => *total += n,
                _ => nodes_by_label.push((label.clone(), *n)),
            }
        }
        let identities = nodes_by_label
            .iter()
            .filter(|(l, _)| {
                Label::ALL
                    .iter()
                    .any(|x| x.is_identity() && x.as_str() == l)
            })
            .map(|(_, n)| n)
            .sum();
        Ok(Stats {
            nodes: nodes_by_label.iter().map(|(_, n)| n).sum(),
            identities,
            edges: edges_by_kind.iter().map(|(_, n)| n).sum(),
            nodes_by_label,
            nodes_by_kind,
            edges_by_kind,
            snapshots: count("SELECT COUNT(*) FROM snapshots")?,
            sources: count("SELECT COUNT(*) FROM sources")?,
            assertions: count("SELECT COUNT(*) FROM assertions")?,
            input_errors: count("SELECT COUNT(*) FROM input_errors")?,
        })
    }

    fn history(&self, from: i64, to: i64) -> Result<crate::History> {
        self.read_history(from, to)
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

/// A node row (`id, label, kind, system, key, name, props`) for [`each_row`] and [`parsed_ahead`].
fn graph_node(r: &rusqlite::Row<'_>) -> rusqlite::Result<crate::GraphNode> {
    Ok(crate::GraphNode {
        id: r.get(0)?,
        label: r.get(1)?,
        kind: r.get(2)?,
        system: r.get(3)?,
        key: r.get(4)?,
        name: r.get(5)?,
        props: custody_model::Props::from_json(r.get(6)?),
    })
}

/// An edge row (`id, src, kind, dst, props`) for [`each_row`] and [`parsed_ahead`].
fn graph_edge(r: &rusqlite::Row<'_>) -> rusqlite::Result<crate::GraphEdge> {
    Ok(crate::GraphEdge {
        id: r.get(0)?,
        src: r.get(1)?,
        kind: r.get(2)?,
        dst: r.get(3)?,
        props: custody_model::Props::from_json(r.get(4)?),
    })
}

#[cfg(test)]
mod tests {
    use super::NodeBlocks;

    /// Taken from both ends in turn, blocks cover every id once, in order.
    #[test]
    fn node_blocks_taken_from_both_ends_cover_every_id_once() {
        for (first, last, count) in [
            (1, 1, 64),
            (1, 10, 64),
            (5, 1_000, 64),
            (1, 1_333_547, 64),
            (-3, 3, 2),
        ] {
            let blocks = NodeBlocks::new(first, last, count);
            let (mut front, mut back) = (Vec::new(), Vec::new());
            let mut turn = false;
            loop {
                turn = !turn;
                match blocks.take(turn) {
                    Some(b) if turn => front.push(blocks.range(b)),
                    Some(b) => back.push(blocks.range(b)),
                    None => break,
                }
            }
            assert!(front.len() + back.len() <= count);
            let ranges: Vec<(i64, i64)> = front.into_iter().chain(back.into_iter().rev()).collect();
            assert_eq!(ranges[0].0, first);
            assert_eq!(ranges.last().map(|r| r.1), Some(i64::MAX));
            assert!(ranges
                .windows(2)
                .all(|w| w[0].1 + 1 == w[1].0 && w[0].0 <= w[0].1));
        }
    }
}
