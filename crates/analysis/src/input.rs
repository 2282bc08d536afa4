//! The graph as the analyses' builders receive it: each node and edge fed
//! by the caller (from the store, from an in-memory copy of the graph, or from
//! a test), borrowed for the call. The analyses never read a store.

use serde_json::{Map, Value};

/// A node as a builder receives it.
pub struct NodeIn<'a> {
    pub id: i64,
    /// `Human`, `Credential`, `Principal`… (builders that key on kinds may
    /// leave it empty).
    pub label: &'a str,
    pub kind: &'a str,
    pub key: &'a str,
    pub name: Option<&'a str>,
    pub props: &'a Map<String, Value>,
}

/// An edge as a builder receives it.
pub struct EdgeIn<'a> {
    pub src: i64,
    pub kind: &'a str,
    pub dst: i64,
    pub props: &'a Map<String, Value>,
}
