//! The merged view of a node or edge from its live assertions.
//!
//! Each property takes the value of the most recent assertion (by snapshot, then
//! read order). Where live sources disagree, every distinct value is kept in
//! `conflicts` with the source that said it: nothing is silently overwritten.

use serde_json::{json, Map, Value};

pub struct Said<'a> {
    pub props: &'a Map<String, Value>,
    /// `path#location`, for the conflict list.
    pub source: String,
}

/// Merges assertions given oldest first.
pub fn merge(said: &[Said<'_>]) -> (Map<String, Value>, Map<String, Value>) {
    let mut merged = Map::new();
    let mut conflicts: Map<String, Value> = Map::new();
    let mut first_source: Map<String, Value> = Map::new();
    for s in said {
        for (k, v) in s.props {
            match merged.get(k) {
                Some(old) if old != v => {
                    let entry = conflicts.entry(k.clone()).or_insert_with(|| {
                        Value::Array(vec![json!({"value": old, "source": first_source.get(k).cloned().unwrap_or(Value::Null)})])
                    });
                    if let Value::Array(list) = entry {
                        if !list.iter().any(|e| e.get("value") == Some(v)) {
                            list.push(json!({"value": v, "source": s.source}));
                        }
                    }
                    merged.insert(k.clone(), v.clone());
                }
                Some(_) => {}
                None => {
                    merged.insert(k.clone(), v.clone());
                    first_source.insert(k.clone(), json!(s.source));
                }
            }
        }
    }
    (merged, conflicts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disagreement_is_kept_not_overwritten() {
        let a = json!({"department": "Sales", "title": "Rep"});
        let b = json!({"department": "Marketing", "title": "Rep"});
        let (Value::Object(a), Value::Object(b)) = (a, b) else {
            panic!()
        };
        let (m, c) = merge(&[
            Said {
                props: &a,
                source: "roster.csv#L3".into(),
            },
            Said {
                props: &b,
                source: "okta.json#/1".into(),
            },
        ]);
        assert_eq!(m["department"], "Marketing");
        assert_eq!(m["title"], "Rep");
        assert_eq!(c["department"].as_array().unwrap().len(), 2);
        assert_eq!(c["department"][0]["source"], "roster.csv#L3");
        assert!(!c.contains_key("title"));
    }
}
