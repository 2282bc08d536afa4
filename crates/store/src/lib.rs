//! # custody-store
//!
//! Persistence of the Identity Lineage graph: nodes, their keys, edges, and every
//! assertion with its provenance (source file, location, observed time, snapshot).
//! SQLite ([`SqliteStore`]) is the default and needs no server; the [`Store`] trait
//! is what a PostgreSQL backend will implement.
//!
//! **Owns:** the schema, transactional ingest (all of a batch or nothing), the
//! merged view of each node (conflicting values are kept, never overwritten),
//! snapshot history, and the installation's fingerprint key file ([`keyfile`]).
//! **Must not:** parse native formats (that is `connectors`), decide identity
//! (that is `graph`'s resolver), or store any secret value.

mod history;
mod ingest;
pub mod keyfile;
mod merge;
mod rows;
mod schema;
mod sqlite;
mod usage;

pub use history::{EdgeChange, History, NodeChange, STATUS_PROPS};
pub use sqlite::{SqliteStore, FAILPOINT_ENV};

use custody_model::{Fact, Fingerprinter, InputError};
use serde::Serialize;
use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0}")]
    Invalid(String),
    #[error("injected failure ({0}): the ingest was rolled back")]
    Injected(&'static str),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Everything read from one input file, ready to store.
pub struct SourceBatch {
    pub path: String,
    pub format: String,
    pub scope: String,
    pub sha256: Option<String>,
    pub observed_at: Option<String>,
    pub records: usize,
    pub facts: Vec<Fact>,
    pub errors: Vec<InputError>,
    /// `Some(n)`: not parsed, because its content is that of the export
    /// holding its scope's live assertions, which had `n` facts
    /// ([`Store::current_exports`]); `facts` is empty. Such a file is
    /// written first in its ingest, and must still be unchanged then.
    pub unparsed: Option<usize>,
    /// Its facts scrubbed and serialised ahead of the write
    /// ([`SourceBatch::prepare`]); `None`: the store does it.
    pub prepared: Option<Prepared>,
}

/// A batch's facts as the store writes them: secrets scrubbed, each one's
/// properties serialised and its statement digested.
pub struct Prepared {
    redacted: usize,
    texts: Vec<(String, [u8; 16])>,
}

impl Prepared {
    /// Whether it was prepared from `facts` as they are (one text each).
    fn fits(&self, facts: &[Fact]) -> bool {
        self.texts.len() == facts.len()
    }
}

impl SourceBatch {
    /// Does now, on the caller's thread, what the store would do first
    /// with this batch's facts (scrub secrets, serialise and digest each
    /// one), so a reader can do it while the chunk before is written. Call
    /// it once the facts are final: the store writes what was prepared.
    /// `fp` must be the store's ([`Store::fingerprinter`]): redacted values
    /// carry its fingerprints.
    pub fn prepare(&mut self, fp: &Fingerprinter) {
        let (redacted, texts) = ingest::prepare(self, fp);
        self.prepared = Some(Prepared { redacted, texts });
    }
}

/// The one export holding a scope's live assertions, by path
/// ([`Store::current_exports`]).
#[derive(Debug, Clone)]
pub struct CurrentExport {
    pub sha256: String,
    pub scope: String,
    pub observed_at: Option<String>,
    pub records: usize,
    pub facts: usize,
}

/// What a complete live collection is the whole of. Earlier sources read
/// from a folder under `under` (an earlier collection of the same system:
/// `…/collect/vault/<time>/`) whose path below that folder starts with
/// `cover`, and whose scope the new ingest does not repeat, are superseded —
/// except below one of `except` (listings this collection's credential
/// could not read: not known to be gone).
#[derive(Debug, Clone)]
pub struct Covered {
    pub under: String,
    pub cover: String,
    pub except: Vec<String>,
}

/// Progress of a long ingest, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    /// A chunk of files arrived.
    Chunk { index: usize, files: usize },
    /// Its facts are being resolved.
    Resolving { facts: usize },
    /// Nodes and edges of the current chunk are being written.
    Writing { done: usize, total: usize },
    /// Every chunk is in: superseding, retiring, merging views, committing.
    Finishing,
}

/// What one ingest did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct IngestReport {
    pub snapshot: i64,
    pub files: usize,
    /// Files identical to the last export of their scope: their facts were kept, not rewritten.
    pub files_unchanged: usize,
    /// Facts of changed files that their scope's last export stated in the same
    /// words: their assertions stay live instead of being rewritten.
    pub facts_unchanged: usize,
    pub records: usize,
    /// Facts written: those of changed files not stated as before.
    pub facts: usize,
    pub nodes_created: usize,
    pub nodes_updated: usize,
    pub nodes_merged: usize,
    pub nodes_retired: usize,
    pub edges_created: usize,
    pub edges_retired: usize,
    pub secrets_redacted: usize,
    pub errors: Vec<InputError>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeBrief {
    pub id: i64,
    pub label: String,
    pub kind: String,
    pub system: String,
    pub key: String,
    pub name: Option<String>,
    pub placeholder: bool,
    pub retired: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeRecord {
    #[serde(flatten)]
    pub brief: NodeBrief,
    pub props: Map<String, Value>,
    /// Properties on which live sources disagree: `{prop: [{value, source}]}`.
    pub conflicts: Map<String, Value>,
    pub keys: Vec<String>,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub first_snapshot: Option<i64>,
    pub last_snapshot: Option<i64>,
}

/// One source's assertion about a node or edge.
#[derive(Debug, Clone, Serialize)]
pub struct Assertion {
    pub source: String,
    pub format: String,
    /// `#/UserDetailList/3`, `L12`… (empty: the whole file).
    pub location: String,
    pub observed_at: Option<String>,
    pub snapshot: i64,
    pub kind: Option<String>,
    pub props: Map<String, Value>,
    /// False once a newer export of the same scope superseded it.
    pub live: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct EdgeRecord {
    pub id: i64,
    pub kind: String,
    /// `out` (this node → other) or `in` (other → this node).
    pub direction: &'static str,
    pub other: NodeBrief,
    pub props: Map<String, Value>,
    pub retired: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SnapshotInfo {
    pub id: i64,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub inputs: Value,
    pub summary: Value,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub nodes: usize,
    pub identities: usize,
    pub edges: usize,
    pub nodes_by_label: Vec<(String, usize)>,
    pub nodes_by_kind: Vec<(String, String, usize)>,
    pub edges_by_kind: Vec<(String, usize)>,
    pub snapshots: usize,
    pub sources: usize,
    /// Every assertion kept, live and superseded (history).
    pub assertions: usize,
    pub input_errors: usize,
}

/// Filter for [`Store::list`].
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub label: Option<String>,
    pub kind: Option<String>,
    pub system: Option<String>,
    pub include_retired: bool,
    pub include_placeholders: bool,
    pub limit: usize,
    pub offset: usize,
}

/// One identity's usage profile as stored: summary columns and the profile
/// (`custody-analysis::usage::Profile`) as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct UsageRow {
    pub key: String,
    pub first: i64,
    pub last: i64,
    pub events: u64,
    pub denied: u64,
    pub profile: String,
}

/// A log file whose events are in the profiles (by content hash).
#[derive(Debug, Clone, Serialize)]
pub struct UsageSource {
    pub sha256: String,
    pub path: String,
    pub format: String,
    pub events: u64,
}

/// A usage anomaly; `evidence` is the event's JSON.
#[derive(Debug, Clone, Serialize)]
pub struct AlertRow {
    pub key: String,
    pub rule: String,
    pub severity: String,
    pub time: i64,
    pub summary: String,
    pub evidence: String,
}

/// One named address range (a cloud's published range, a corporate egress).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct NetworkRangeRow {
    /// What loaded it, replaced as a whole by the next load of the same
    /// source: `aws-ip-ranges`, `gcp-cloud`, `azure-service-tags`,
    /// `github-meta`, or the name given to a TOML file.
    pub source: String,
    pub format: String,
    /// When the publisher made the file, as it says.
    pub published: Option<String>,
    pub cidr: String,
    pub name: String,
    /// RFC 3339; set by the store.
    pub loaded_at: String,
    pub loaded_by: String,
}

/// An operator's acceptance of an alert value: alerts it covers are not
/// listed (but counted), and it stays on record when removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SuppressionRow {
    /// Set by the store.
    pub id: i64,
    /// An identity key, or `*` for every identity.
    pub identity: String,
    pub rule: String,
    /// A value as alerts show it (`198.51.100.0/24`, `private`, `us-west-2`,
    /// `python-requests`), or `*` for any.
    pub value: String,
    pub reason: String,
    pub created_by: String,
    /// RFC 3339; set by the store.
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed_reason: Option<String>,
}

/// One step custody carried out (or tried to) on a real system, for the
/// response log: who, when, why, what and how it went. Never a secret.
#[derive(Debug, Clone, Serialize)]
pub struct ResponseRow {
    /// RFC 3339; set by the store when the row is written.
    pub at: String,
    /// Who ran it: the local user, and the cloud identity it acted as.
    pub actor: String,
    pub reason: String,
    /// The credential's natural key.
    pub credential: String,
    pub action: String,
    /// The step's number in the plan.
    pub step: i64,
    pub system: String,
    pub target: String,
    /// The API call (`iam:UpdateAccessKey`).
    pub operation: String,
    /// `done`, `failed` or `skipped`.
    pub outcome: String,
    /// The system's answer: request id, status before/after, or the error.
    pub detail: String,
}

/// The storage backend. One implementation per database engine.
pub trait Store {
    /// Stores the sources `chunks` yields as one new snapshot, atomically: on any
    /// error nothing of it is visible and the previous state is intact. Chunks keep
    /// memory bounded: each is resolved against everything stored before it.
    fn ingest(
        &mut self,
        chunks: &mut dyn Iterator<Item = Vec<SourceBatch>>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<IngestReport> {
        self.ingest_authoritative(chunks, &[], progress)
    }

    /// [`Store::ingest`] of sources that are the whole of what they cover
    /// ([`Covered`]): an earlier source of a covered scope that this ingest
    /// does not repeat is superseded too (a file a complete live collection
    /// no longer writes: a deleted repository, Vault secret or project).
    fn ingest_authoritative(
        &mut self,
        chunks: &mut dyn Iterator<Item = Vec<SourceBatch>>,
        authoritative: &[Covered],
        progress: &mut dyn FnMut(Progress),
    ) -> Result<IngestReport>;

    /// [`Store::ingest`] of a single chunk.
    fn ingest_all(
        &mut self,
        batch: Vec<SourceBatch>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<IngestReport> {
        self.ingest(&mut std::iter::once(batch), progress)
    }
    /// Finds a node by node id (`123`, `n123`), natural key (`email:…`), access key
    /// id, ARN or e-mail.
    fn find(&self, reference: &str) -> Result<Option<i64>>;
    fn node(&self, id: i64) -> Result<Option<NodeRecord>>;
    fn node_assertions(&self, id: i64) -> Result<Vec<Assertion>>;
    fn edges(&self, id: i64) -> Result<Vec<EdgeRecord>>;
    fn edge_assertions(&self, edge_id: i64) -> Result<Vec<Assertion>>;
    fn list(&self, filter: &ListFilter) -> Result<Vec<NodeBrief>>;
    /// How many nodes [`Store::list`] would return, ignoring limit and offset.
    fn count(&self, filter: &ListFilter) -> Result<usize>;
    fn stats(&self) -> Result<Stats>;
    fn snapshots(&self) -> Result<Vec<SnapshotInfo>>;
    /// What changed after snapshot `from` up to and including `to`: nodes
    /// and edges that exist at one and not the other, and status properties
    /// ([`STATUS_PROPS`]) changed on nodes present at both.
    fn history(&self, from: i64, to: i64) -> Result<History>;
    /// Visits every live node of the given kinds with its merged properties, in
    /// one pass: for analyses that load a slice of the graph into memory.
    fn scan_nodes(&self, kinds: &[&str], visit: &mut dyn FnMut(ScanNode<'_>)) -> Result<()>;
    /// Visits every live node with this label, placeholders included (an
    /// owner tag may name a person no directory lists).
    fn scan_label(&self, label: &str, visit: &mut dyn FnMut(ScanNode<'_>)) -> Result<()>;
    /// Visits every live placeholder node: one only an edge names (an owner
    /// e-mail no directory lists, a user only a log names), which
    /// [`Store::scan_graph`] leaves out.
    fn scan_placeholders(&self, visit: &mut dyn FnMut(ScanNode<'_>)) -> Result<()>;
    /// Visits every strong key (`node id`, `key`) of every live node with
    /// this label: a person's every address, login and GitHub handle, which
    /// one canonical key cannot carry.
    fn scan_label_keys(&self, label: &str, visit: &mut dyn FnMut(i64, &str)) -> Result<()>;
    /// Visits every key starting with `prefix` of a live node (`node id`,
    /// `key`), in key order: e.g. every IAM user known by account and name
    /// (`id:aws-iam-user/`).
    fn scan_key_prefix(&self, prefix: &str, visit: &mut dyn FnMut(i64, &str)) -> Result<()>;
    /// By path, each export that alone holds its scope's live assertions and
    /// was read without errors: a file of that path with the same content
    /// hash need not be parsed again ([`SourceBatch::unparsed`]).
    fn current_exports(&self) -> Result<std::collections::HashMap<String, CurrentExport>>;
    /// Visits every live edge of the given kinds (`src`, `kind`, `dst`, properties).
    fn scan_edges(&self, kinds: &[&str], visit: &mut EdgeVisitor<'_>) -> Result<()>;
    /// Every live node (placeholders excluded) in id order, then every key
    /// of each, then every live edge, for an in-memory copy of the graph:
    /// one state of it, whatever is committed meanwhile.
    fn scan_graph(
        &self,
        node: &mut dyn FnMut(GraphNode),
        key: &mut dyn FnMut(i64, &str),
        edge: &mut dyn FnMut(GraphEdge),
    ) -> Result<()>;

    /// [`Store::scan_graph`] where the caller does not need the nodes
    /// before the edges: a store may read the edges on another thread at
    /// the same time (`edge` is then called there), and share the nodes'
    /// reading with it; `node` is still called on this thread, in id order.
    /// As with `scan_graph`, everything handed over is one state of the
    /// graph: a change committed during the scan is not seen.
    fn scan_graph_concurrent(
        &self,
        node: &mut dyn FnMut(GraphNode),
        key: &mut dyn FnMut(i64, &str),
        edge: &mut (dyn FnMut(GraphEdge) + Send),
    ) -> Result<()> {
        self.scan_graph(node, key, edge)
    }

    /// Another handle on the same database for reading on another thread
    /// while this one is busy (the graph and the permission model load at
    /// once); `None` where there is none to open (a database in memory).
    fn another(&self) -> Result<Option<Box<dyn Store + Send>>> {
        Ok(None)
    }

    /// The SHA-256 of every log file already counted in the profiles.
    fn usage_known_sources(&self) -> Result<std::collections::HashSet<String>>;
    /// The stored profiles (JSON) of these identity keys; absent keys have none.
    fn usage_profiles(&self, keys: &[&str]) -> Result<std::collections::HashMap<String, String>>;
    /// Replaces these profiles, records the files they now count and adds the
    /// alerts (an alert already raised is kept once), in one transaction.
    /// Returns how many alerts are new.
    fn usage_write(
        &mut self,
        profiles: &[UsageRow],
        sources: &[UsageSource],
        alerts: &[AlertRow],
    ) -> Result<usize>;
    /// Every stored profile.
    fn usage_scan(&self, visit: &mut dyn FnMut(UsageRow)) -> Result<()>;
    /// Alerts whose event happened at or after `since` (Unix seconds), oldest first.
    fn alerts(&self, since: i64) -> Result<Vec<AlertRow>>;
    /// Appends one executed response step to the response log (committed at
    /// once: a later failure must not lose the record of what was done).
    fn response_log(&mut self, row: &ResponseRow) -> Result<()>;
    /// The response log, oldest first; only this credential's when given.
    fn responses(&self, credential: Option<&str>) -> Result<Vec<ResponseRow>>;
    /// Records an alert suppression (committed at once); returns it with
    /// its id and time.
    fn suppress(&mut self, row: &SuppressionRow) -> Result<SuppressionRow>;
    /// Every suppression, removed ones included, oldest first.
    fn suppressions(&self) -> Result<Vec<SuppressionRow>>;
    /// Marks a suppression removed (kept on record). False: no such active one.
    fn unsuppress(&mut self, id: i64, by: &str, reason: &str) -> Result<bool>;
    /// Replaces the named ranges of `rows`' source (all rows share one), in
    /// one transaction; with no rows, removes the source. Returns how many
    /// rows the source had before.
    fn network_ranges_replace(&mut self, source: &str, rows: &[NetworkRangeRow]) -> Result<usize>;
    /// Every named range, by source.
    fn network_ranges(&self) -> Result<Vec<NetworkRangeRow>>;
    /// Sets `key` in a snapshot's summary to `value` (its own transaction):
    /// what a pipeline that goes on after the snapshot committed (audit logs)
    /// says of its progress, so an interrupted run shows.
    fn snapshot_note(&mut self, id: i64, key: &str, value: Value) -> Result<()>;
    /// The installation's fingerprinter, which the store's guard uses: what a
    /// pipeline writing to this store redacts and fingerprints with.
    fn fingerprinter(&self) -> &custody_model::Fingerprinter;
    /// Rewrites the whole database, each table's rows together in key
    /// order, and gives its free pages back to the file system (SQLite:
    /// `VACUUM`). Nothing it holds changes. A database written by an earlier
    /// build gains the layout later builds write (see `docs/PERFORMANCE.md`).
    /// Like any write it waits for another writer (then fails: the database
    /// is locked); it needs free disk space of about twice the database's
    /// size while it runs.
    fn compact(&mut self) -> Result<Compacted>;
}

/// What [`Store::compact`] did: the database's size before and after, the
/// free (reusable) space it held before, and how long it took.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Compacted {
    pub bytes_before: u64,
    pub free_bytes_before: u64,
    pub bytes_after: u64,
    pub seconds: f64,
}

/// What [`Store::scan_edges`] calls for each edge: (`src`, `kind`, `dst`, properties).
pub type EdgeVisitor<'a> = dyn FnMut(i64, &str, i64, &Map<String, Value>) + 'a;

/// A live node as [`Store::scan_graph`] hands it over.
pub struct GraphNode {
    pub id: i64,
    pub label: String,
    pub kind: String,
    pub system: String,
    pub key: String,
    pub name: Option<String>,
    pub props: custody_model::Props,
}

/// A live edge as [`Store::scan_graph`] hands it over.
pub struct GraphEdge {
    pub id: i64,
    pub src: i64,
    pub kind: String,
    pub dst: i64,
    pub props: custody_model::Props,
}

/// A node as [`Store::scan_nodes`] hands it over.
pub struct ScanNode<'a> {
    pub id: i64,
    pub label: &'a str,
    pub kind: &'a str,
    pub key: &'a str,
    pub name: Option<&'a str>,
    pub props: &'a Map<String, Value>,
}
