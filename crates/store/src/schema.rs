//! The SQLite schema. Version 1.
//!
//! - `snapshots`: one row per ingest; `sources`: one row per input file, with the
//!   *scope* it is authoritative for, and its place in its snapshot's read
//!   order (`seq`; NULL: its id). A changed export that states facts of the
//!   last one again takes over that one's row (`ingest.rs`).
//! - `assertions`: every fact as read (props JSON, location, observed time), valid
//!   from the snapshot that read it until (`valid_to`) a newer source of the same
//!   scope supersedes it. This is the provenance and the history `diff` reads.
//!   `digest` identifies the statement (`ingest.rs`): a changed export of the
//!   scope that states it again in the same words keeps it live, re-pointed
//!   to the new source, instead of ending it and writing it anew.
//! - `nodes` / `edges`: the merged, current view derived from live assertions;
//!   `retired_snapshot` is set when nothing asserts them any more.
//! - `node_keys`: every strong key of every node, for resolution and lookup.
//! - `node_merges`: nodes later proven to be one subject (old id → kept id).
//! - `usage_profiles`: per identity key, what audit logs showed it doing (a JSON
//!   profile, `custody-analysis::usage`); `usage_sources`: log files already
//!   counted (by content hash, so a file read twice counts once); `alerts`:
//!   usage anomalies with their evidence event.

pub const VERSION: i64 = 1;

pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    inputs TEXT NOT NULL,
    summary TEXT
);
CREATE TABLE IF NOT EXISTS sources (
    id INTEGER PRIMARY KEY,
    snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),
    format TEXT NOT NULL,
    path TEXT NOT NULL,
    scope TEXT NOT NULL,
    sha256 TEXT,
    observed_at TEXT,
    records INTEGER NOT NULL,
    facts INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    seq INTEGER
);
CREATE INDEX IF NOT EXISTS sources_scope ON sources(scope, snapshot_id);
CREATE TABLE IF NOT EXISTS nodes (
    id INTEGER PRIMARY KEY,
    label TEXT NOT NULL,
    kind TEXT NOT NULL,
    system TEXT NOT NULL,
    key TEXT NOT NULL,
    name TEXT,
    props TEXT NOT NULL DEFAULT '{}',
    conflicts TEXT NOT NULL DEFAULT '{}',
    placeholder INTEGER NOT NULL DEFAULT 0,
    first_seen TEXT,
    last_seen TEXT,
    first_snapshot INTEGER,
    last_snapshot INTEGER,
    retired_snapshot INTEGER
);
CREATE TABLE IF NOT EXISTS node_keys (
    key TEXT PRIMARY KEY,
    node_id INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS node_merges (
    gone INTEGER PRIMARY KEY,
    kept INTEGER NOT NULL,
    snapshot_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS edges (
    id INTEGER PRIMARY KEY,
    src INTEGER NOT NULL,
    kind TEXT NOT NULL,
    dst INTEGER NOT NULL,
    props TEXT NOT NULL DEFAULT '{}',
    first_snapshot INTEGER,
    last_snapshot INTEGER,
    retired_snapshot INTEGER
);
CREATE TABLE IF NOT EXISTS assertions (
    id INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES sources(id),
    node_id INTEGER,
    edge_id INTEGER,
    kind TEXT,
    location TEXT NOT NULL,
    observed_at TEXT,
    props TEXT NOT NULL,
    valid_from INTEGER NOT NULL,
    valid_to INTEGER,
    digest BLOB
);
CREATE TABLE IF NOT EXISTS usage_profiles (
    key TEXT PRIMARY KEY,
    first INTEGER NOT NULL,
    last INTEGER NOT NULL,
    events INTEGER NOT NULL,
    denied INTEGER NOT NULL,
    profile TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS usage_sources (
    sha256 TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    format TEXT NOT NULL,
    events INTEGER NOT NULL,
    read_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    time INTEGER NOT NULL,
    summary TEXT NOT NULL,
    evidence TEXT NOT NULL,
    raised_at TEXT NOT NULL,
    UNIQUE (key, rule, time)
);
CREATE INDEX IF NOT EXISTS alerts_time ON alerts(time);
CREATE TABLE IF NOT EXISTS network_ranges (
    source TEXT NOT NULL,
    format TEXT NOT NULL,
    published TEXT,
    cidr TEXT NOT NULL,
    name TEXT NOT NULL,
    loaded_at TEXT NOT NULL,
    loaded_by TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS network_ranges_source ON network_ranges(source);
CREATE TABLE IF NOT EXISTS alert_suppressions (
    id INTEGER PRIMARY KEY,
    identity TEXT NOT NULL,
    rule TEXT NOT NULL,
    value TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    removed_by TEXT,
    removed_at TEXT,
    removed_reason TEXT
);
CREATE TABLE IF NOT EXISTS responses (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    credential TEXT NOT NULL,
    action TEXT NOT NULL,
    step INTEGER NOT NULL,
    system TEXT NOT NULL,
    target TEXT NOT NULL,
    operation TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS responses_credential ON responses(credential);
CREATE TABLE IF NOT EXISTS input_errors (
    id INTEGER PRIMARY KEY,
    snapshot_id INTEGER NOT NULL,
    connector TEXT NOT NULL,
    path TEXT NOT NULL,
    location TEXT NOT NULL,
    message TEXT NOT NULL
);
"#;

/// Indexes, created with the schema. A first load into an empty database drops
/// them, keeps what ingest needs in memory (edge identity, keys), and rebuilds them
/// once at its end (see `ingest.rs`): far cheaper than row-by-row maintenance.
pub const INDEXES: &str = r#"
CREATE INDEX IF NOT EXISTS node_keys_node ON node_keys(node_id);
CREATE UNIQUE INDEX IF NOT EXISTS edges_unique ON edges(src, kind, dst);
CREATE INDEX IF NOT EXISTS assertions_source ON assertions(source_id);
CREATE INDEX IF NOT EXISTS nodes_label_kind ON nodes(label, kind);
CREATE INDEX IF NOT EXISTS nodes_kind ON nodes(kind);
CREATE INDEX IF NOT EXISTS nodes_name ON nodes(name);
CREATE INDEX IF NOT EXISTS nodes_placeholder ON nodes(id) WHERE placeholder = 1;
CREATE INDEX IF NOT EXISTS edges_dst ON edges(dst, kind);
CREATE INDEX IF NOT EXISTS assertions_node ON assertions(node_id) WHERE node_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS assertions_edge ON assertions(edge_id) WHERE edge_id IS NOT NULL;
"#;
