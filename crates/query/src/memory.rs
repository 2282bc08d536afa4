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
    keys: KeyIndex,
    /// Node id → the edges touching it, either direction.
    adjacency: Vec<Option<Arc<Vec<Arc<EdgeData>>>>>,
    by_label: HashMap<String, Vec<i64>>,
    by_kind: HashMap<String, Vec<i64>>,
    empty: Arc<Vec<Arc<EdgeData>>>,
}

impl MemGraph {
    /// Reads every live node, key and edge, straight into the dense vectors
    /// (no map of every node beside them); the store may read the edges on
    /// a second thread meanwhile.
    pub fn load(store: &dyn Store) -> Result<MemGraph, QueryError> {
        // Two of the store's callbacks fill it (one at a time).
        let nodes: std::cell::RefCell<Vec<Option<Arc<NodeData>>>> = Default::default();
        let mut edges: Vec<Arc<EdgeData>> = Vec::new();
        store
            .scan_graph_concurrent(
                &mut |n| {
                    let Ok(i) = usize::try_from(n.id) else {
                        return;
                    };
                    let mut nodes = nodes.borrow_mut();
                    if i >= nodes.len() {
                        nodes.resize(i + 1, None);
                    }
                    nodes[i] = Some(Arc::new(NodeData {
                        id: n.id,
                        keys: vec![n.key.clone()],
                        label: n.label,
                        kind: n.kind,
                        system: n.system,
                        key: n.key,
                        name: n.name,
                        props: n.props,
                    }));
                },
                // The store hands the keys over after the nodes (none is
                // shared yet) and before the edges.
                &mut |id, k| {
                    let mut nodes = nodes.borrow_mut();
                    let slot = usize::try_from(id).ok().and_then(|i| nodes.get_mut(i));
                    if let Some(n) = slot.and_then(Option::as_mut).and_then(Arc::get_mut) {
                        if !n.keys.iter().any(|have| have == k) {
                            n.keys.push(k.to_string());
                        }
                    }
                },
                &mut |e| {
                    edges.push(Arc::new(EdgeData {
                        id: e.id,
                        kind: e.kind,
                        from: e.src,
                        to: e.dst,
                        props: e.props,
                    }));
                },
            )
            .map_err(|e| QueryError::Store(e.to_string()))?;
        Ok(Self::assemble(nodes.into_inner(), edges))
    }

    /// A graph from nodes and edges held in memory (fixtures, tests): each
    /// node's `keys` (its `key` included) find it.
    pub fn build(nodes: Vec<NodeData>, edges: Vec<EdgeData>) -> MemGraph {
        let mut dense: Vec<Option<Arc<NodeData>>> = Vec::new();
        for n in nodes {
            let Ok(i) = usize::try_from(n.id) else {
                continue;
            };
            let mut keys = vec![n.key.clone()];
            for k in n.keys.iter() {
                if !keys.contains(k) {
                    keys.push(k.clone());
                }
            }
            if i >= dense.len() {
                dense.resize(i + 1, None);
            }
            dense[i] = Some(Arc::new(NodeData { keys, ..n }));
        }
        Self::assemble(dense, edges.into_iter().map(Arc::new).collect())
    }

    /// The adjacency lists (each allocated once at its size, sorted by edge
    /// id), the label, kind and key indexes.
    fn assemble(mut nodes: Vec<Option<Arc<NodeData>>>, edges: Vec<Arc<EdgeData>>) -> MemGraph {
        let slots = edges
            .iter()
            .flat_map(|e| [e.from, e.to])
            .filter_map(|id| usize::try_from(id).ok())
            .max()
            .map_or(nodes.len(), |m| nodes.len().max(m + 1));
        nodes.resize(slots, None);
        // The edge lists on one thread, the node indexes on another.
        let (adjacency, (by_label, by_kind, keys, node_count)) = std::thread::scope(|s| {
            let lists = s.spawn(move || adjacency(slots, edges));
            let live = || nodes.iter().flatten().map(|n| &**n);
            let (by_label, by_kind) = index(live());
            let indexes = (by_label, by_kind, KeyIndex::new(live()), live().count());
            let lists = lists
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (lists, indexes)
        });
        MemGraph {
            node_count,
            keys,
            nodes,
            adjacency,
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

/// Each slot's edges, either direction, sorted by edge id: each list
/// allocated once at its size.
fn adjacency(slots: usize, edges: Vec<Arc<EdgeData>>) -> Vec<Option<Arc<Vec<Arc<EdgeData>>>>> {
    let mut degree = vec![0u32; slots];
    for e in &edges {
        for end in ends(e) {
            degree[end] += 1;
        }
    }
    let mut lists: Vec<Vec<Arc<EdgeData>>> = degree
        .iter()
        .map(|&d| Vec::with_capacity(d as usize))
        .collect();
    drop(degree);
    for e in edges {
        for end in ends(&e) {
            lists[end].push(e.clone());
        }
    }
    lists
        .into_iter()
        .map(|mut es| {
            (!es.is_empty()).then(|| {
                es.sort_by_key(|e| e.id);
                Arc::new(es)
            })
        })
        .collect()
}

/// The slots of an edge's ends (one for a self-loop; none for a negative id).
fn ends(e: &EdgeData) -> impl Iterator<Item = usize> {
    let to = (e.to != e.from).then_some(e.to);
    [Some(e.from), to]
        .into_iter()
        .flatten()
        .filter_map(|id| usize::try_from(id).ok())
}

/// Every key of every node (`NodeData::keys`) → the node, without a second
/// copy of the keys: (hash, id) pairs sorted, a candidate checked against the
/// node's own keys. A tenth of a map from key strings (1.9 million keys at
/// 10,000 people).
struct KeyIndex {
    entries: Vec<(u64, i64)>,
}

impl KeyIndex {
    fn new<'a>(nodes: impl Iterator<Item = &'a NodeData>) -> KeyIndex {
        let mut entries: Vec<(u64, i64)> = nodes
            .flat_map(|n| n.keys.iter().map(move |k| (key_hash(k), n.id)))
            .collect();
        entries.sort_unstable();
        entries.dedup();
        KeyIndex { entries }
    }

    fn get(&self, graph: &MemGraph, key: &str) -> Option<i64> {
        let h = key_hash(key);
        let from = self.entries.partition_point(|e| e.0 < h);
        self.entries[from..]
            .iter()
            .take_while(|e| e.0 == h)
            .map(|e| e.1)
            .find(|&id| {
                graph
                    .get(id)
                    .is_some_and(|n| n.keys.iter().any(|k| k == key))
            })
    }
}

fn key_hash(key: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::quality::FixedState::with_seed(0).hash_one(key)
}

/// Node ids by label and by kind, each list sorted.
type Index = HashMap<String, Vec<i64>>;

fn index<'a>(nodes: impl Iterator<Item = &'a NodeData>) -> (Index, Index) {
    let mut by_label: Index = HashMap::new();
    let mut by_kind: Index = HashMap::new();
    for n in nodes {
        match by_label.get_mut(n.label.as_str()) {
            Some(ids) => ids.push(n.id),
            None => {
                by_label.insert(n.label.clone(), vec![n.id]);
            }
        }
        match by_kind.get_mut(n.kind.as_str()) {
            Some(ids) => ids.push(n.id),
            None => {
                by_kind.insert(n.kind.clone(), vec![n.id]);
            }
        }
    }
    for ids in by_label.values_mut().chain(by_kind.values_mut()) {
        ids.sort_unstable();
    }
    (by_label, by_kind)
}

impl Graph for MemGraph {
    fn find(&self, reference: &str) -> Result<Option<i64>, QueryError> {
        let r = reference.trim();
        if let Ok(id) = r.strip_prefix('n').unwrap_or(r).parse::<i64>() {
            if self.get(id).is_some() {
                return Ok(Some(id));
            }
        }
        if let Some(id) = self.keys.get(self, r) {
            return Ok(Some(id));
        }
        Ok(Key::candidates(r)
            .iter()
            .find_map(|k| self.keys.get(self, k.as_str())))
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
