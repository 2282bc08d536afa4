//! The whole graph in memory, for a long-running server (`custody mcp`): loaded
//! once from the store, then every node, edge and label scan is a lookup, so a
//! question that sweeps every access key takes milliseconds, not one SQLite
//! query per node.

use crate::{EdgeData, Graph, NodeData, QueryError};
use custody_model::Key;
use custody_store::Store;
use std::collections::HashMap;
use std::sync::Arc;

/// Nodes and adjacency are dense vectors indexed by node id (the store's ids
/// are dense row ids): a lookup is an index, not a hash.
pub struct MemGraph {
    nodes: Vec<Option<Arc<NodeData>>>,
    node_count: usize,
    keys: HashMap<String, i64>,
    /// Node id → the edges touching it, either direction.
    adjacency: Vec<Option<Arc<Vec<Arc<EdgeData>>>>>,
    by_label: HashMap<String, Vec<i64>>,
    by_kind: HashMap<String, Vec<i64>>,
    empty: Arc<Vec<Arc<EdgeData>>>,
}

impl MemGraph {
    /// Reads every live node, key and edge.
    pub fn load(store: &dyn Store) -> Result<MemGraph, QueryError> {
        let mut nodes: HashMap<i64, NodeData> = HashMap::new();
        let mut keys = HashMap::new();
        let mut adjacency: HashMap<i64, Vec<Arc<EdgeData>>> = HashMap::new();
        store
            .scan_graph(
                &mut |n| {
                    nodes.insert(
                        n.id,
                        NodeData {
                            id: n.id,
                            keys: vec![n.key.clone()],
                            label: n.label,
                            kind: n.kind,
                            system: n.system,
                            key: n.key,
                            name: n.name,
                            props: n.props,
                        },
                    );
                },
                &mut |id, k| {
                    keys.insert(k.to_string(), id);
                },
                &mut |e| {
                    let edge = Arc::new(EdgeData {
                        id: e.id,
                        kind: e.kind,
                        from: e.src,
                        to: e.dst,
                        props: e.props,
                    });
                    if e.src != e.dst {
                        adjacency.entry(e.dst).or_default().push(edge.clone());
                    }
                    adjacency.entry(e.src).or_default().push(edge);
                },
            )
            .map_err(|e| QueryError::Store(e.to_string()))?;
        Ok(Self::assemble(nodes, keys, adjacency))
    }

    /// A graph from nodes and edges held in memory (fixtures, tests): each
    /// node's `keys` (its `key` included) find it.
    pub fn build(nodes: Vec<NodeData>, edges: Vec<EdgeData>) -> MemGraph {
        let mut keys = HashMap::new();
        let mut by_id = HashMap::new();
        for n in nodes {
            keys.insert(n.key.clone(), n.id);
            for k in &n.keys {
                keys.insert(k.clone(), n.id);
            }
            by_id.insert(
                n.id,
                NodeData {
                    keys: vec![n.key.clone()],
                    ..n
                },
            );
        }
        let mut adjacency: HashMap<i64, Vec<Arc<EdgeData>>> = HashMap::new();
        for e in edges {
            let (src, dst) = (e.from, e.to);
            let edge = Arc::new(e);
            if src != dst {
                adjacency.entry(dst).or_default().push(edge.clone());
            }
            adjacency.entry(src).or_default().push(edge);
        }
        Self::assemble(by_id, keys, adjacency)
    }

    fn assemble(
        mut nodes: HashMap<i64, NodeData>,
        keys: HashMap<String, i64>,
        adjacency: HashMap<i64, Vec<Arc<EdgeData>>>,
    ) -> MemGraph {
        for (k, id) in &keys {
            if let Some(n) = nodes.get_mut(id) {
                if *k != n.key {
                    n.keys.push(k.clone());
                }
            }
        }
        let mut by_label: HashMap<String, Vec<i64>> = HashMap::new();
        let mut by_kind: HashMap<String, Vec<i64>> = HashMap::new();
        for n in nodes.values() {
            by_label.entry(n.label.clone()).or_default().push(n.id);
            by_kind.entry(n.kind.clone()).or_default().push(n.id);
        }
        for ids in by_label.values_mut().chain(by_kind.values_mut()) {
            ids.sort_unstable();
        }
        let slots = nodes
            .keys()
            .chain(adjacency.keys())
            .filter(|&&id| id >= 0)
            .max()
            .map_or(0, |&m| m as usize + 1);
        let node_count = nodes.len();
        let mut dense_nodes: Vec<Option<Arc<NodeData>>> = vec![None; slots];
        for (id, n) in nodes {
            if id >= 0 {
                dense_nodes[id as usize] = Some(Arc::new(n));
            }
        }
        let mut dense_edges: Vec<Option<Arc<Vec<Arc<EdgeData>>>>> = vec![None; slots];
        for (id, mut es) in adjacency {
            if id >= 0 {
                es.sort_by_key(|e| e.id);
                dense_edges[id as usize] = Some(Arc::new(es));
            }
        }
        MemGraph {
            nodes: dense_nodes,
            node_count,
            keys,
            adjacency: dense_edges,
            by_label,
            by_kind,
            empty: Arc::new(Vec::new()),
        }
    }

    fn get(&self, id: i64) -> Option<&Arc<NodeData>> {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.nodes.get(i))
            .and_then(Option::as_ref)
    }

    /// Every live node, in id order.
    pub fn iter(&self) -> impl Iterator<Item = &NodeData> {
        self.nodes.iter().flatten().map(|n| n.as_ref())
    }

    pub fn node_count(&self) -> usize {
        self.node_count
    }

    pub fn edge_count(&self) -> usize {
        // Each edge is listed at both ends (once for a self-loop).
        let ends: usize = self.adjacency.iter().flatten().map(|e| e.len()).sum();
        let loops: usize = self
            .adjacency
            .iter()
            .flatten()
            .flat_map(|es| es.iter())
            .filter(|e| e.from == e.to)
            .count();
        (ends + loops) / 2
    }
}

impl Graph for MemGraph {
    fn find(&self, reference: &str) -> Result<Option<i64>, QueryError> {
        let r = reference.trim();
        if let Ok(id) = r.strip_prefix('n').unwrap_or(r).parse::<i64>() {
            if self.get(id).is_some() {
                return Ok(Some(id));
            }
        }
        if let Some(id) = self.keys.get(r) {
            return Ok(Some(*id));
        }
        Ok(Key::candidates(r)
            .iter()
            .find_map(|k| self.keys.get(k.as_str()).copied()))
    }

    fn node(&self, id: i64) -> Result<Option<Arc<NodeData>>, QueryError> {
        Ok(self.get(id).cloned())
    }

    fn with_node(&self, id: i64, f: &mut dyn FnMut(&NodeData)) -> Result<bool, QueryError> {
        Ok(match self.get(id) {
            Some(n) => {
                f(n);
                true
            }
            None => false,
        })
    }

    fn edges(&self, id: i64) -> Result<Arc<Vec<Arc<EdgeData>>>, QueryError> {
        Ok(usize::try_from(id)
            .ok()
            .and_then(|i| self.adjacency.get(i))
            .and_then(Option::as_ref)
            .cloned()
            .unwrap_or_else(|| self.empty.clone()))
    }

    fn scan(&self, label: Option<&str>, kind: Option<&str>) -> Result<Vec<i64>, QueryError> {
        let pick = |ids: Option<&Vec<i64>>| ids.cloned().unwrap_or_default();
        Ok(match (label, kind) {
            (Some(l), None) => pick(self.by_label.get(l)),
            (None, Some(k)) => pick(self.by_kind.get(k)),
            (Some(l), Some(k)) => pick(self.by_kind.get(k))
                .into_iter()
                .filter(|&id| self.get(id).is_some_and(|n| n.label == l))
                .collect(),
            (None, None) => self.nodes.iter().flatten().map(|n| n.id).collect(),
        })
    }

    fn count(&self, label: Option<&str>, kind: Option<&str>) -> Result<usize, QueryError> {
        Ok(match (label, kind) {
            (Some(l), None) => self.by_label.get(l).map_or(0, Vec::len),
            (None, Some(k)) => self.by_kind.get(k).map_or(0, Vec::len),
            _ => self.scan(label, kind)?.len(),
        })
    }
}
