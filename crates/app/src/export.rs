//! The whole graph out, for other tools: JSON (custody's own shape), CSV (one
//! file of nodes, one of edges, for spreadsheets and bulk loaders) and
//! BloodHound OpenGraph JSON (so the graph opens in BloodHound CE).
//!
//! Streams straight from the store: nodes as they are read, then edges, with
//! only an id → key map held in memory. Exports hold what the store holds —
//! keys, names, merged properties, fingerprints and redacted previews — and
//! never a secret value. Live nodes and edges only; an edge to a node that was
//! named but never observed (a placeholder) is left out and counted.

use custody_store::{GraphEdge, GraphNode, Store};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::io::Write;

/// What an export wrote.
#[derive(Debug, Default, serde::Serialize)]
pub struct Summary {
    pub nodes: usize,
    pub edges: usize,
    /// Edges left out because an end is a node named but never observed.
    pub edges_to_unobserved: usize,
}

/// The first write error, kept while the store streams (its callbacks cannot fail).
struct Sink<W: Write> {
    out: W,
    error: Option<std::io::Error>,
}

impl<W: Write> Sink<W> {
    fn new(out: W) -> Self {
        Sink { out, error: None }
    }

    fn write(&mut self, f: impl FnOnce(&mut W) -> std::io::Result<()>) {
        if self.error.is_none() {
            if let Err(e) = f(&mut self.out) {
                self.error = Some(e);
            }
        }
    }

    fn finish(mut self) -> anyhow::Result<W> {
        if let Some(e) = self.error.take() {
            return Err(anyhow::anyhow!("cannot write the export: {e}"));
        }
        self.out
            .flush()
            .map_err(|e| anyhow::anyhow!("cannot write the export: {e}"))?;
        Ok(self.out)
    }
}

fn json_to<W: Write>(w: &mut W, v: &impl serde::Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *w, v).map_err(std::io::Error::other)
}

/// Streams nodes then edges, giving each edge its ends' keys; edges whose ends
/// were not exported are counted, not passed on.
fn stream(
    store: &dyn Store,
    mut node: impl FnMut(&GraphNode),
    mut edge: impl FnMut(&GraphEdge, &str, &str),
) -> anyhow::Result<Summary> {
    let keys: std::cell::RefCell<HashMap<i64, String>> = Default::default();
    let (mut nodes, mut edges, mut unobserved) = (0, 0, 0);
    store.scan_graph(
        &mut |n| {
            nodes += 1;
            node(&n);
            keys.borrow_mut().insert(n.id, n.key);
        },
        &mut |_, _| {},
        &mut |e| {
            let keys = keys.borrow();
            match (keys.get(&e.src), keys.get(&e.dst)) {
                (Some(s), Some(d)) => {
                    edges += 1;
                    edge(&e, s, d);
                }
                _ => unobserved += 1,
            }
        },
    )?;
    let summary = Summary {
        nodes,
        edges,
        edges_to_unobserved: unobserved,
    };
    Ok(summary)
}

/// Writes one JSON document: `head`, the nodes (each `node(n)`), then
/// `"edges": [...]` (each `edge(e, src_key, dst_key)`), then `close` — one
/// element per line, streamed.
fn json_document<W: Write>(
    store: &dyn Store,
    out: W,
    head: &str,
    close: &str,
    node: impl Fn(&GraphNode) -> Value,
    edge: impl Fn(&GraphEdge, &str, &str) -> Value,
) -> anyhow::Result<(W, Summary)> {
    let sink = std::cell::RefCell::new(Sink::new(out));
    sink.borrow_mut().write(|w| w.write_all(head.as_bytes()));
    let mut first_node = true;
    let mut first_edge = true;
    let summary = stream(
        store,
        |n| {
            let sep = if std::mem::take(&mut first_node) {
                "\n"
            } else {
                ",\n"
            };
            let v = node(n);
            sink.borrow_mut().write(|w| {
                w.write_all(sep.as_bytes())?;
                json_to(w, &v)
            });
        },
        |e, src, dst| {
            let sep = if std::mem::take(&mut first_edge) {
                "],\n\"edges\": [\n"
            } else {
                ",\n"
            };
            let v = edge(e, src, dst);
            sink.borrow_mut().write(|w| {
                w.write_all(sep.as_bytes())?;
                json_to(w, &v)
            });
        },
    )?;
    let mut sink = sink.into_inner();
    let edges_close = if first_edge { "],\n\"edges\": [" } else { "" };
    sink.write(|w| writeln!(w, "{edges_close}]{close}"));
    Ok((sink.finish()?, summary))
}

/// `{"nodes": [{id, label, kind, system, key, name, props}], "edges": [{id,
/// kind, src, src_key, dst, dst_key, props}]}`.
pub fn json<W: Write>(store: &dyn Store, out: W) -> anyhow::Result<(W, Summary)> {
    json_document(
        store,
        out,
        "{\"nodes\": [",
        "}",
        |n| {
            json!({"id": n.id, "label": n.label, "kind": n.kind, "system": n.system,
                   "key": n.key, "name": n.name, "props": n.props})
        },
        |e, src, dst| {
            json!({"id": e.id, "kind": e.kind, "src": e.src, "src_key": src,
                   "dst": e.dst, "dst_key": dst, "props": e.props})
        },
    )
}

/// A CSV field: quoted when it holds a comma, quote or line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Two CSV files: nodes (`id,label,kind,system,key,name,properties`) and edges
/// (`id,kind,src,src_key,dst,dst_key,properties`); properties are JSON text.
pub fn csv<N: Write, E: Write>(
    store: &dyn Store,
    nodes: N,
    edges: E,
) -> anyhow::Result<(N, E, Summary)> {
    let mut ns = Sink::new(nodes);
    let mut es = Sink::new(edges);
    ns.write(|w| w.write_all(b"id,label,kind,system,key,name,properties\n"));
    es.write(|w| w.write_all(b"id,kind,src,src_key,dst,dst_key,properties\n"));
    let summary = stream(
        store,
        |n| {
            let props = serde_json::to_string(&n.props).unwrap_or_default();
            ns.write(|w| {
                writeln!(
                    w,
                    "{},{},{},{},{},{},{}",
                    n.id,
                    csv_field(&n.label),
                    csv_field(&n.kind),
                    csv_field(&n.system),
                    csv_field(&n.key),
                    csv_field(n.name.as_deref().unwrap_or("")),
                    csv_field(&props)
                )
            });
        },
        |e, src, dst| {
            let props = serde_json::to_string(&e.props).unwrap_or_default();
            es.write(|w| {
                writeln!(
                    w,
                    "{},{},{},{},{},{},{}",
                    e.id,
                    csv_field(&e.kind),
                    e.src,
                    csv_field(src),
                    e.dst,
                    csv_field(dst),
                    csv_field(&props)
                )
            });
        },
    )?;
    Ok((ns.finish()?, es.finish()?, summary))
}

/// `STORED_IN` → `StoredIn`; `aws_access_key` → `AwsAccessKey`.
fn camel(s: &str) -> String {
    s.split(['_', '-', ' ', '.', ':'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let lower = p.to_ascii_lowercase();
            let mut c = lower.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<String>()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// OpenGraph property values are primitives or homogeneous arrays of
/// primitives: nulls are dropped, anything else becomes its JSON text.
fn opengraph_props(into: &mut Map<String, Value>, props: &Map<String, Value>) {
    for (k, v) in props {
        let v = match v {
            Value::Null => continue,
            Value::Bool(_) | Value::Number(_) | Value::String(_) => v.clone(),
            Value::Array(items) => {
                let same_primitive = items
                    .windows(2)
                    .all(|p| std::mem::discriminant(&p[0]) == std::mem::discriminant(&p[1]))
                    && items
                        .iter()
                        .all(|i| matches!(i, Value::Bool(_) | Value::Number(_) | Value::String(_)));
                if same_primitive {
                    v.clone()
                } else {
                    Value::String(v.to_string())
                }
            }
            Value::Object(_) => Value::String(v.to_string()),
        };
        into.insert(k.clone(), v);
    }
}

/// The kind every exported node carries (BloodHound adds it from `metadata`).
pub const OPENGRAPH_SOURCE_KIND: &str = "Custody";

/// BloodHound OpenGraph JSON: `{"metadata": {"source_kind": "Custody"},
/// "graph": {"nodes": [...], "edges": [...]}}`. A node's id is its custody key
/// (stable across exports); its kinds are `NHI<Label>` and `NHI<Kind>` (e.g.
/// `NHICredential`, `NHIAwsAccessKey`); edge kinds are the custody edge in
/// CamelCase (`StoredIn`, `AuthenticatesAs`, `OwnedBy`, `CanAssume`…), matched
/// by id.
pub fn opengraph<W: Write>(store: &dyn Store, out: W) -> anyhow::Result<(W, Summary)> {
    json_document(
        store,
        out,
        &format!(
            "{{\"metadata\": {{\"source_kind\": \"{OPENGRAPH_SOURCE_KIND}\"}},\n\"graph\": {{\"nodes\": ["
        ),
        "}}",
        |n| {
            let mut properties = Map::new();
            opengraph_props(&mut properties, &n.props);
            let name = n.name.clone().unwrap_or_else(|| n.key.clone());
            properties.insert("name".into(), json!(name.to_uppercase()));
            properties.insert("displayname".into(), json!(name));
            properties.insert("objectid".into(), json!(n.key));
            properties.insert("custody_id".into(), json!(n.id));
            properties.insert("label".into(), json!(n.label));
            properties.insert("kind".into(), json!(n.kind));
            properties.insert("system".into(), json!(n.system));
            let mut kinds = vec![format!("NHI{}", camel(&n.label))];
            let specific = format!("NHI{}", camel(&n.kind));
            if !n.kind.is_empty() && !kinds.contains(&specific) {
                kinds.push(specific);
            }
            json!({"id": n.key, "kinds": kinds, "properties": properties})
        },
        |e, src, dst| {
            let mut properties = Map::new();
            opengraph_props(&mut properties, &e.props);
            properties.insert("custody_id".into(), json!(e.id));
            json!({"kind": camel(&e.kind),
                   "start": {"value": src, "match_by": "id"},
                   "end": {"value": dst, "match_by": "id"},
                   "properties": properties})
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_fields() {
        assert_eq!(camel("STORED_IN"), "StoredIn");
        assert_eq!(camel("aws_access_key"), "AwsAccessKey");
        assert_eq!(camel("k8s_secret"), "K8sSecret");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }

    #[test]
    fn opengraph_properties_are_flat() {
        let props: Map<String, Value> = serde_json::from_value(json!({
            "n": null, "s": "x", "b": true, "i": 3,
            "tags": ["a", "b"], "mixed": ["a", 1], "obj": {"k": "v"}, "nested": [["a"]]
        }))
        .unwrap();
        let mut out = Map::new();
        opengraph_props(&mut out, &props);
        assert!(!out.contains_key("n"));
        assert_eq!(out["tags"], json!(["a", "b"]));
        assert_eq!(out["mixed"], json!("[\"a\",1]"));
        assert_eq!(out["obj"], json!("{\"k\":\"v\"}"));
        assert_eq!(out["nested"], json!("[[\"a\"]]"));
    }
}
