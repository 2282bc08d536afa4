//! Small hand-built graphs for the reach tests: nodes get ids in order, and
//! the model is built from them as the store would feed it.

#![allow(dead_code)]

use custody_analysis::reach::{EdgeIn, NodeIn};
use custody_analysis::{Model, ModelBuilder};
use serde_json::{Map, Value};

#[derive(Default)]
pub struct G {
    pub nodes: Vec<(i64, String, String, Map<String, Value>)>,
    pub edges: Vec<(i64, &'static str, i64, Map<String, Value>)>,
}

pub fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

impl G {
    /// A node with these properties as given.
    pub fn add(&mut self, kind: &str, key: &str, props: Map<String, Value>) -> i64 {
        let id = self.nodes.len() as i64 + 1;
        self.nodes.push((id, kind.into(), key.into(), props));
        id
    }

    pub fn edge(&mut self, src: i64, kind: &'static str, dst: i64, props: Value) {
        self.edges.push((src, kind, dst, obj(props)));
    }

    /// The node whose key is `key`.
    pub fn id(&self, key: &str) -> i64 {
        self.nodes
            .iter()
            .find(|n| n.2 == key)
            .map(|n| n.0)
            .unwrap_or(0)
    }

    pub fn model(&self) -> Model {
        let mut b = ModelBuilder::new();
        for (id, kind, key, props) in &self.nodes {
            b.node(NodeIn {
                id: *id,
                label: "",
                kind,
                key,
                name: key.rsplit('/').next(),
                props,
            });
        }
        for (src, kind, dst, props) in &self.edges {
            b.edge(EdgeIn {
                src: *src,
                kind,
                dst: *dst,
                props,
            });
        }
        b.build()
    }
}

/// The access level `from` has on the resource named `arn` (`None`: not
/// reachable), and whether conditional.
pub fn reach(m: &Model, from: i64, arn: &str) -> Option<(String, bool)> {
    let br = m.blast_radius(&m.start(from));
    br.reached
        .iter()
        .find(|r| m.resources[r.access.resource as usize].arn == arn)
        .map(|r| (r.access.level.as_str().to_string(), r.access.conditional))
}

/// As [`reach`], and the access must not be conditional.
pub fn level(m: &Model, from: i64, arn: &str) -> Option<String> {
    reach(m, from, arn).map(|(l, c)| {
        assert!(!c, "{arn}: unexpectedly conditional");
        l
    })
}
