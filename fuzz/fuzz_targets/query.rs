//! The query language on arbitrary text: parsed, and what parses run on a
//! small graph within tight limits. Deep nesting must be a located error.
#![no_main]
use custody_query::{Limits, MemGraph, NodeData};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if custody_query::parse(text).is_err() {
        return;
    }
    let node = |id: i64, label: &str, key: &str| NodeData {
        id,
        label: label.into(),
        kind: "k".into(),
        system: "s".into(),
        key: key.into(),
        name: None,
        keys: vec![key.into()],
        props: Default::default(),
    };
    let graph = MemGraph::build(
        vec![node(1, "Credential", "a"), node(2, "Principal", "b")],
        Vec::new(),
    );
    let limits = Limits {
        timeout: Duration::from_millis(200),
        max_rows: 100,
        max_work: 10_000,
        max_matches: 1_000,
        allow_full_scan: true,
        ..Limits::default()
    };
    let _ = custody_query::run(&graph, text, &serde_json::Map::new(), limits);
});
