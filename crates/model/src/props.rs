//! A node's or an edge's properties, kept as the JSON text the store holds
//! until something reads them.
//!
//! Parsed, a JSON object is a tree of `BTreeMap`s whose every node is a
//! ~640-byte allocation: the 10,000-person graph's 1.3 million nodes and 1.8
//! million edges cost ~5 GB that way against ~0.6 GB of text, and most of
//! those properties are never read by a given command. [`Props`] holds the
//! text and parses it once, on first read; it dereferences to the parsed
//! [`Map`], so readers use the map's API unchanged.

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use std::fmt;
use std::ops::Deref;
use std::sync::OnceLock;

/// A JSON object's properties, parsed on first read (thread-safe, once).
#[derive(Default)]
pub struct Props {
    /// The object's JSON text; empty once there is nothing left to parse
    /// (built from a map, or an empty object).
    text: Box<str>,
    parsed: OnceLock<Map<String, Value>>,
}

impl Props {
    /// Properties from the JSON text of an object. Text that is not a JSON
    /// object reads as no properties (what the store writes always is one).
    pub fn from_json(text: String) -> Props {
        let t = text.trim();
        if t.is_empty() || t == "{}" {
            return Props::default();
        }
        Props {
            text: text.into_boxed_str(),
            parsed: OnceLock::new(),
        }
    }

    /// The parsed properties (parsing them now if nothing has read them yet).
    pub fn map(&self) -> &Map<String, Value> {
        self.parsed.get_or_init(|| self.parse())
    }

    /// A parse of the text, not kept.
    fn parse(&self) -> Map<String, Value> {
        if self.text.is_empty() {
            Map::new()
        } else {
            serde_json::from_str(&self.text).unwrap_or_default()
        }
    }

    /// One property, read from the parsed map if something parsed it
    /// already, else picked out of the text on its own (the others are
    /// skipped, nothing is kept): for a question that reads a property or
    /// two of many nodes, without each node keeping its whole parse.
    pub fn value(&self, key: &str) -> Option<Value> {
        if let Some(m) = self.parsed.get() {
            return m.get(key).cloned();
        }
        if self.text.is_empty() {
            return None;
        }
        let mut de = serde_json::Deserializer::from_str(&self.text);
        Pick(key).deserialize(&mut de).ok().flatten()
    }

    /// Calls `f` with the parsed properties: the kept parse if there is one,
    /// else a parse of its own that is dropped afterwards.
    pub fn with<R>(&self, f: impl FnOnce(&Map<String, Value>) -> R) -> R {
        match self.parsed.get() {
            Some(m) => f(m),
            None => f(&self.parse()),
        }
    }

    /// Whether the properties have been parsed (or never needed to be).
    #[cfg(test)]
    fn is_parsed(&self) -> bool {
        self.parsed.get().is_some() || self.text.is_empty()
    }
}

/// Picks one key's value out of a JSON object, skipping the others.
struct Pick<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for Pick<'_> {
    type Value = Option<Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Value>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Pick<'_> {
    type Value = Option<Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Option<Value>, A::Error> {
        // The last of repeated keys wins, as in a parsed map.
        let mut found = None;
        while let Some(is) = m.next_key_seed(KeyIs(self.0))? {
            if is {
                found = Some(m.next_value::<Value>()?);
            } else {
                m.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Whether an object's key is this one (compared where it lies in the text).
struct KeyIs<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(v == self.0)
    }
}

impl Deref for Props {
    type Target = Map<String, Value>;
    fn deref(&self) -> &Map<String, Value> {
        self.map()
    }
}

impl From<Map<String, Value>> for Props {
    fn from(m: Map<String, Value>) -> Props {
        Props {
            text: Box::default(),
            parsed: OnceLock::from(m),
        }
    }
}

impl Clone for Props {
    fn clone(&self) -> Props {
        match self.parsed.get() {
            Some(m) => Props::from(m.clone()),
            None => Props {
                text: self.text.clone(),
                parsed: OnceLock::new(),
            },
        }
    }
}

impl PartialEq for Props {
    fn eq(&self, other: &Props) -> bool {
        self.map() == other.map()
    }
}

impl fmt::Debug for Props {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.map().fmt(f)
    }
}

impl Serialize for Props {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.map().serialize(s)
    }
}

impl<'a> IntoIterator for &'a Props {
    type Item = (&'a String, &'a Value);
    type IntoIter = serde_json::map::Iter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.map().iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_on_first_read_and_reads_like_a_map() {
        let p = Props::from_json(r#"{"b": 2, "a": {"x": [1, "y"]}}"#.to_string());
        assert!(!p.is_parsed());
        assert_eq!(p.get("b"), Some(&json!(2)));
        assert!(p.is_parsed());
        assert_eq!(p.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(p.clone(), p);
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({"b": 2, "a": {"x": [1, "y"]}})
        );
    }

    #[test]
    fn one_property_is_picked_without_keeping_a_parse() {
        let text = r#"{"a": {"x": [1, "}"]}, "b\"q": 2, "c": "s", "c": "last"}"#;
        let p = Props::from_json(text.to_string());
        assert_eq!(p.value("a"), Some(json!({"x": [1, "}"]})));
        assert_eq!(p.value("b\"q"), Some(json!(2)));
        assert_eq!(p.value("c"), Some(json!("last")));
        assert_eq!(p.value("missing"), None);
        assert_eq!(p.with(|m| m.len()), 3);
        assert!(!p.is_parsed());
        assert_eq!(p.get("c"), Some(&json!("last")));
        assert_eq!(p.value("c"), Some(json!("last")));
        for bad in ["{\"a\":", "[1]", "null"] {
            assert_eq!(Props::from_json(bad.to_string()).value("a"), None, "{bad}");
        }
    }

    #[test]
    fn empty_and_malformed_text_read_as_no_properties() {
        for t in ["", "{}", " {} ", "null", "[1]", "{\"a\":"] {
            let p = Props::from_json(t.to_string());
            assert!(p.is_empty(), "{t}");
        }
        let m: Map<String, Value> = json!({"k": "v"}).as_object().cloned().unwrap();
        let p = Props::from(m.clone());
        assert!(p.is_parsed());
        assert_eq!(*p, m);
    }
}
