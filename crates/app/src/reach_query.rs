//! Reach as a relationship queries can follow: `(c)-[r:REACHES]->(res)` from
//! a credential, agent or workload to every resource in its blast radius —
//! AWS, Google Cloud, Azure and GitHub alike — with the access level, the
//! action, whether it is conditional, the granting statement, the path of
//! principals, the score and the whole blast radius's score
//! (`blast_score`). Followed from the resource's side it is the blast radius
//! read backwards ([`custody_analysis::Model::reaching`]).
//!
//! Derived, never stored: a query that names `REACHES` runs on a
//! [`ReachGraph`], which loads the reach model once and computes each node's
//! reach when the query first touches it. Other queries never pay for it.

use custody_analysis::Model;
use custody_query::{EdgeData, Graph, NodeData, QueryError};
use serde_json::{json, Map};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

/// The relationship type.
pub const REACHES: &str = "REACHES";

/// Whether a query follows reach (so it needs a [`ReachGraph`]).
pub fn wants_reach(text: &str) -> bool {
    text.to_ascii_uppercase().contains(REACHES)
}

/// A graph with `REACHES` relationships added to the stored ones.
pub struct ReachGraph<'a> {
    inner: &'a dyn Graph,
    model: &'a Model,
    cache: RefCell<HashMap<i64, Arc<Vec<Arc<EdgeData>>>>>,
}

impl<'a> ReachGraph<'a> {
    pub fn new(inner: &'a dyn Graph, model: &'a Model) -> ReachGraph<'a> {
        ReachGraph {
            inner,
            model,
            cache: RefCell::new(HashMap::new()),
        }
    }

    /// One relationship's id: the same from either end, and never a stored
    /// edge's (those are positive).
    fn rel_id(from: i64, to: i64) -> i64 {
        let h = (from as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (to as u64).rotate_left(29);
        -((h >> 2) as i64) - 1
    }

    fn reached(&self, id: i64) -> Vec<Arc<EdgeData>> {
        let m = self.model;
        let mut out = Vec::new();
        let start = m.start(id);
        if !start.is_empty() {
            let br = m.blast_radius(&start);
            let total = br.score();
            for r in &br.reached {
                let res = &m.resources[r.access.resource as usize];
                let path: Vec<String> = br
                    .path(r.hop)
                    .iter()
                    .map(|&h| m.principals[br.hops[h].principal as usize].arn.clone())
                    .collect();
                out.push(rel(
                    id,
                    res.node,
                    &r.access,
                    r.score,
                    Some(total),
                    path,
                    r.access.conditional,
                ));
            }
        }
        if let Some(res) = m.resource(id) {
            for c in m.reaching(res) {
                let path = c
                    .path
                    .iter()
                    .map(|(p, _)| m.principals[*p as usize].arn.clone())
                    .collect();
                out.push(rel(
                    c.credential,
                    id,
                    &c.access,
                    c.score,
                    None,
                    path,
                    c.conditional,
                ));
            }
        }
        out
    }
}

fn rel(
    from: i64,
    to: i64,
    a: &custody_analysis::reach::Access,
    score: u32,
    blast: Option<u64>,
    path: Vec<String>,
    conditional: bool,
) -> Arc<EdgeData> {
    let mut props = Map::new();
    props.insert("access".into(), json!(a.level.as_str()));
    props.insert(
        "levels".into(),
        json!(a.levels.iter().map(|l| l.as_str()).collect::<Vec<_>>()),
    );
    props.insert("action".into(), json!(&*a.action));
    props.insert("conditional".into(), json!(conditional));
    props.insert("reason".into(), json!(&*a.reason));
    props.insert("score".into(), json!(score));
    if let Some(b) = blast {
        props.insert("blast_score".into(), json!(b));
    }
    props.insert("path".into(), json!(path));
    Arc::new(EdgeData {
        id: ReachGraph::rel_id(from, to),
        kind: REACHES.to_string(),
        from,
        to,
        props: props.into(),
    })
}

impl Graph for ReachGraph<'_> {
    fn find(&self, key: &str) -> Result<Option<i64>, QueryError> {
        self.inner.find(key)
    }

    fn node(&self, id: i64) -> Result<Option<Arc<NodeData>>, QueryError> {
        self.inner.node(id)
    }

    fn with_node(&self, id: i64, f: &mut dyn FnMut(&NodeData)) -> Result<bool, QueryError> {
        self.inner.with_node(id, f)
    }

    fn edges(&self, id: i64) -> Result<Arc<Vec<Arc<EdgeData>>>, QueryError> {
        if let Some(e) = self.cache.borrow().get(&id) {
            return Ok(e.clone());
        }
        let mut all: Vec<Arc<EdgeData>> = self.inner.edges(id)?.iter().cloned().collect();
        all.extend(self.reached(id));
        let all = Arc::new(all);
        self.cache.borrow_mut().insert(id, all.clone());
        Ok(all)
    }

    fn scan(&self, label: Option<&str>, kind: Option<&str>) -> Result<Vec<i64>, QueryError> {
        self.inner.scan(label, kind)
    }

    fn count(&self, label: Option<&str>, kind: Option<&str>) -> Result<usize, QueryError> {
        self.inner.count(label, kind)
    }
}

/// Runs a query, on a [`ReachGraph`] when it names `REACHES` (with `model`,
/// or the reach model loaded from `store` and warmed), else on `graph` as it is.
pub fn run(
    store: &dyn custody_store::Store,
    graph: &dyn Graph,
    model: Option<&Model>,
    text: &str,
    params: &Map<String, serde_json::Value>,
    limits: custody_query::Limits,
) -> Result<custody_query::QueryResult, RunError> {
    if !wants_reach(text) {
        return custody_query::run(graph, text, params, limits).map_err(RunError::Query);
    }
    let loaded;
    let model = match model {
        Some(m) => m,
        None => {
            loaded = crate::blast::load(store, &crate::Quiet).map_err(RunError::Load)?;
            // Every principal's reach, on every core, before the query's clock
            // starts: a relationship read from a resource's side needs it all.
            crate::blast::warm(&loaded);
            &loaded
        }
    };
    let reach = ReachGraph::new(graph, model);
    custody_query::run(&reach, text, params, limits).map_err(RunError::Query)
}

/// Why [`run`] failed: the query, or loading the reach model.
#[derive(Debug)]
pub enum RunError {
    Query(QueryError),
    Load(anyhow::Error),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Query(e) => write!(f, "{e}"),
            RunError::Load(e) => write!(f, "loading the reach model: {e:#}"),
        }
    }
}

impl std::error::Error for RunError {}
