//! Facts: what one source said about one subject, and where it said it.

use crate::{EdgeKind, Key, Label};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// Where inside a source file a fact (or an error) comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    /// A 1-based line (CSV rows, JSON Lines, text files).
    Line(u64),
    /// A 1-based line and column (JSON syntax errors).
    LineCol(u64, u64),
    /// An RFC 6901 JSON pointer (`/UserDetailList/3/UserName`).
    Pointer(String),
    /// A JSON pointer inside the document that starts at a 1-based line, for files
    /// holding several concatenated JSON documents.
    LinePointer(u64, String),
    /// The file as a whole.
    File,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(l) => write!(f, "line {l}"),
            Location::LineCol(l, c) => write!(f, "line {l}, column {c}"),
            Location::Pointer(p) if p.is_empty() => f.write_str("#/"),
            Location::Pointer(p) => write!(f, "#{p}"),
            Location::LinePointer(l, p) => write!(f, "document at line {l}, #{p}"),
            Location::File => f.write_str("(whole file)"),
        }
    }
}

impl Location {
    /// Compact form used in storage and JSON output: `L12`, `L3:7`, `#/a/0`, ``.
    pub fn compact(&self) -> String {
        match self {
            Location::Line(l) => format!("L{l}"),
            Location::LineCol(l, c) => format!("L{l}:{c}"),
            Location::Pointer(p) => format!("#{p}"),
            Location::LinePointer(l, p) => format!("L{l}#{p}"),
            Location::File => String::new(),
        }
    }

    /// Escapes one JSON-pointer reference token (RFC 6901).
    pub fn escape_token(token: &str) -> String {
        token.replace('~', "~0").replace('/', "~1")
    }

    /// `/a/0` + `b` → `/a/0/b`.
    pub fn pointer(parts: &[&dyn fmt::Display]) -> Location {
        let mut p = String::new();
        for part in parts {
            p.push('/');
            p.push_str(&Location::escape_token(&part.to_string()));
        }
        Location::Pointer(p)
    }
}

/// Per-fact provenance. The source (connector, file) is recorded once per file by
/// the caller; each fact carries where in that file it was read and when the
/// source says it was true.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    pub location: Location,
    /// When the source observed this (RFC 3339, UTC), if the source says.
    pub observed_at: Option<String>,
}

impl Provenance {
    pub fn at(location: Location) -> Provenance {
        Provenance {
            location,
            observed_at: None,
        }
    }
    pub fn observed(mut self, at: Option<String>) -> Provenance {
        self.observed_at = at;
        self
    }
}

/// One source's assertion that a node exists, with its properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeFact {
    pub label: Label,
    /// Finer type within the label, e.g. `aws_iam_user`, `aws_access_key`, `okta_user`.
    pub kind: String,
    /// The system this node lives in: `aws`, `okta`, `hris`…
    pub system: String,
    /// Strong keys, at least one. All of them identify this same subject.
    pub keys: Vec<Key>,
    /// A human-friendly name (never used to merge).
    pub name: Option<String>,
    pub props: Map<String, Value>,
    pub prov: Provenance,
}

/// An edge endpoint, named by one of its keys. If no node fact asserts a node with
/// that key, the resolver creates a placeholder node of this label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub label: Label,
    pub key: Key,
}

impl Endpoint {
    pub fn new(label: Label, key: Key) -> Endpoint {
        Endpoint { label, key }
    }
}

/// One source's assertion of a relationship.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeFact {
    pub kind: EdgeKind,
    pub from: Endpoint,
    pub to: Endpoint,
    pub props: Map<String, Value>,
    pub prov: Provenance,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum Fact {
    Node(NodeFact),
    Edge(EdgeFact),
}

impl Fact {
    pub fn props_mut(&mut self) -> &mut Map<String, Value> {
        match self {
            Fact::Node(n) => &mut n.props,
            Fact::Edge(e) => &mut e.props,
        }
    }
}

/// A problem in the input: which file, where in it, and what is wrong. The message
/// never quotes input values that could be secret material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{source_path}: {location}: {message}")]
pub struct InputError {
    /// The connector (format) that read the file, or `detect` before one was chosen.
    pub connector: String,
    pub source_path: String,
    pub location: Location,
    pub message: String,
}

impl InputError {
    pub fn new(
        connector: &str,
        source_path: &str,
        location: Location,
        message: impl Into<String>,
    ) -> Self {
        InputError {
            connector: connector.to_string(),
            source_path: source_path.to_string(),
            location,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_print_for_humans_and_compactly() {
        let p = Location::pointer(&[&"UserDetailList", &3, &"a/b"]);
        assert_eq!(p, Location::Pointer("/UserDetailList/3/a~1b".into()));
        assert_eq!(p.to_string(), "#/UserDetailList/3/a~1b");
        assert_eq!(Location::Line(4).compact(), "L4");
        assert_eq!(Location::LineCol(4, 2).to_string(), "line 4, column 2");
        let e = InputError::new("aws-iam", "x.json", Location::Line(2), "bad");
        assert_eq!(e.to_string(), "x.json: line 2: bad");
    }
}
