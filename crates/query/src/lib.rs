//! # custody-query
//!
//! A read-only openCypher subset over the Identity Lineage graph, evaluated
//! against the store (no graph database): `MATCH` / `OPTIONAL MATCH` with
//! labels, properties, directed or undirected and variable-length
//! relationships, `WHERE`, `WITH`, `RETURN` with aliases, `DISTINCT`,
//! aggregates, `ORDER BY`, `SKIP`, `LIMIT` and `$parameters`. See
//! `docs/QUERY.md` for the language and examples.
//!
//! **Owns:** parsing (errors with line and column), planning (a pattern starts
//! from a key lookup when the query names a key, else from its smallest label),
//! evaluation and limits (time, work, rows).
//! **Must not:** write to the store (writing clauses are refused at parse time),
//! or return secret values (the store holds none).

mod exec;
mod memory;
mod parse;
pub mod saved;

pub use exec::Rel as EdgeData;
pub use memory::MemGraph;
pub use parse::{parse, Query};

use custody_model::Props;
use custody_store::Store;
use serde::Serialize;
use serde_json::{json, Map, Value as Json};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("syntax error at line {line}, column {col}: {message}")]
    Syntax {
        line: usize,
        col: usize,
        message: String,
    },
    #[error("line {line}, column {col}: custody queries are read-only; `{clause}` is not allowed")]
    ReadOnly {
        line: usize,
        col: usize,
        clause: String,
    },
    #[error("{0}")]
    Semantic(String),
    #[error("limit reached: {0}")]
    Limit(String),
    #[error("store: {0}")]
    Store(String),
}

/// Bounds on one query's work.
#[derive(Debug, Clone)]
pub struct Limits {
    pub timeout: Duration,
    /// Rows a `RETURN` may produce.
    pub max_rows: usize,
    /// Rows, nodes and edges visited.
    pub max_work: u64,
    /// The longest variable-length relationship (`*` alone means up to this).
    pub max_hops: u32,
    /// Rows a pattern may match before `RETURN` folds them (each row is held
    /// in memory until then): bounds a query's memory, as `max_work` bounds
    /// its time.
    pub max_matches: usize,
    /// Whether a pattern with no key, label or bound variable may scan every node.
    pub allow_full_scan: bool,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            timeout: Duration::from_secs(30),
            max_rows: 10_000,
            max_work: 20_000_000,
            max_hops: 8,
            max_matches: 1_000_000,
            allow_full_scan: false,
        }
    }
}

/// A node as queries see it.
#[derive(Debug, Clone)]
pub struct NodeData {
    pub id: i64,
    pub label: String,
    pub kind: String,
    pub system: String,
    pub key: String,
    pub name: Option<String>,
    pub keys: Vec<String>,
    /// Parsed on first read (see [`Props`]).
    pub props: Props,
}

/// What evaluation needs from a graph.
pub trait Graph {
    /// The node a key (or any reference `custody show` accepts) names.
    fn find(&self, key: &str) -> Result<Option<i64>, QueryError>;
    fn node(&self, id: i64) -> Result<Option<Arc<NodeData>>, QueryError>;
    /// Calls `f` with the node, borrowed where the graph holds it (no reference
    /// count to touch: the hot path of property reads); false if there is none.
    fn with_node(&self, id: i64, f: &mut dyn FnMut(&NodeData)) -> Result<bool, QueryError> {
        Ok(match self.node(id)? {
            Some(n) => {
                f(&n);
                true
            }
            None => false,
        })
    }
    /// Every live edge touching the node, either direction.
    fn edges(&self, id: i64) -> Result<Arc<Vec<Arc<EdgeData>>>, QueryError>;
    /// Live nodes with this label and/or kind.
    fn scan(&self, label: Option<&str>, kind: Option<&str>) -> Result<Vec<i64>, QueryError>;
    /// How many nodes [`Graph::scan`] would return (to pick where a path starts).
    fn count(&self, label: Option<&str>, kind: Option<&str>) -> Result<usize, QueryError> {
        Ok(self.scan(label, kind)?.len())
    }
}

/// A [`Graph`] read from a [`Store`], with per-query caches.
pub struct StoreGraph<'s> {
    store: &'s dyn Store,
    nodes: RefCell<HashMap<i64, Option<Arc<NodeData>>>>,
    edges: RefCell<HashMap<i64, Arc<Vec<Arc<EdgeData>>>>>,
}

impl<'s> StoreGraph<'s> {
    pub fn new(store: &'s dyn Store) -> StoreGraph<'s> {
        StoreGraph {
            store,
            nodes: RefCell::default(),
            edges: RefCell::default(),
        }
    }
}

fn filter(label: Option<&str>, kind: Option<&str>) -> custody_store::ListFilter {
    custody_store::ListFilter {
        label: label.map(str::to_string),
        kind: kind.map(str::to_string),
        limit: 0,
        ..Default::default()
    }
}

fn store_err(e: impl std::fmt::Display) -> QueryError {
    QueryError::Store(e.to_string())
}

impl Graph for StoreGraph<'_> {
    fn find(&self, key: &str) -> Result<Option<i64>, QueryError> {
        self.store.find(key).map_err(store_err)
    }

    fn node(&self, id: i64) -> Result<Option<Arc<NodeData>>, QueryError> {
        if let Some(n) = self.nodes.borrow().get(&id) {
            return Ok(n.clone());
        }
        let n = self.store.node(id).map_err(store_err)?.map(|r| {
            Arc::new(NodeData {
                id,
                label: r.brief.label,
                kind: r.brief.kind,
                system: r.brief.system,
                key: r.brief.key,
                name: r.brief.name,
                keys: r.keys,
                props: r.props.into(),
            })
        });
        self.nodes.borrow_mut().insert(id, n.clone());
        Ok(n)
    }

    fn edges(&self, id: i64) -> Result<Arc<Vec<Arc<EdgeData>>>, QueryError> {
        if let Some(e) = self.edges.borrow().get(&id) {
            return Ok(e.clone());
        }
        let list: Vec<Arc<EdgeData>> = self
            .store
            .edges(id)
            .map_err(store_err)?
            .into_iter()
            .filter(|e| !e.retired)
            .map(|e| {
                let (from, to) = if e.direction == "out" {
                    (id, e.other.id)
                } else {
                    (e.other.id, id)
                };
                Arc::new(EdgeData {
                    id: e.id,
                    kind: e.kind,
                    from,
                    to,
                    props: e.props.into(),
                })
            })
            .collect();
        let list = Arc::new(list);
        self.edges.borrow_mut().insert(id, list.clone());
        Ok(list)
    }

    fn count(&self, label: Option<&str>, kind: Option<&str>) -> Result<usize, QueryError> {
        self.store.count(&filter(label, kind)).map_err(store_err)
    }

    fn scan(&self, label: Option<&str>, kind: Option<&str>) -> Result<Vec<i64>, QueryError> {
        let filter = filter(label, kind);
        Ok(self
            .store
            .list(&filter)
            .map_err(store_err)?
            .into_iter()
            .map(|n| n.id)
            .collect())
    }
}

/// A query's answer: column names in order, and each row as an object keyed
/// by column (nodes as objects with `id`, `label`, `kind`, `key`, `name` and
/// properties; relationships with `type`, `from`, `to` and properties).
#[derive(Debug, Clone, Serialize)]
pub struct QueryResult {
    pub columns: Vec<String>,
    pub rows: Vec<Map<String, Json>>,
}

/// Parses and runs `text` with `params` against `graph`, within `limits`.
pub fn run(
    graph: &dyn Graph,
    text: &str,
    params: &Map<String, Json>,
    limits: Limits,
) -> Result<QueryResult, QueryError> {
    let q = parse(text)?;
    let mut ex = exec::Exec::new(graph, params, limits);
    let out = ex.run(&q)?;
    let mut rows = Vec::with_capacity(out.rows.len());
    for r in out.rows {
        let mut row = Map::new();
        for (c, v) in out.columns.iter().zip(r) {
            row.insert(c.clone(), to_json(graph, &v)?);
        }
        rows.push(row);
    }
    Ok(QueryResult {
        columns: out.columns,
        rows,
    })
}

fn to_json(graph: &dyn Graph, v: &exec::Val) -> Result<Json, QueryError> {
    use exec::Val;
    Ok(match v {
        Val::Null => Json::Null,
        Val::Bool(b) => json!(b),
        Val::Int(i) => json!(i),
        Val::Float(f) => json!(f),
        Val::Str(s) => json!(s),
        Val::List(xs) => Json::Array(
            xs.iter()
                .map(|x| to_json(graph, x))
                .collect::<Result<_, _>>()?,
        ),
        Val::Node(id) => match graph.node(*id)? {
            Some(n) => json!({"id": n.id, "label": n.label, "kind": n.kind, "system": n.system,
                              "key": n.key, "name": n.name, "props": n.props}),
            None => Json::Null,
        },
        Val::Rel(r) => {
            json!({"id": r.id, "type": r.kind, "from": r.from, "to": r.to, "props": r.props})
        }
    })
}
