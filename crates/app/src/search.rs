//! Type-ahead search over every identity (`GET /v1/search`, the web UI's
//! search box, the MCP `search_identities` tool): key ids, ARNs, names,
//! e-mails and fingerprints' short forms, grouped by label.
//!
//! The index is one lower-cased text buffer, a line per node (its key, name
//! and other keys), searched with `memchr::memmem` — a substring anywhere,
//! at memory speed (~60 MB for 1.3M nodes is a few milliseconds) — then the
//! hits are ranked: an exact match, then a match at the start of a field, then
//! at the start of a word, then anywhere; shorter keys first. Built once from
//! the in-memory graph.

use custody_query::MemGraph;
use serde::Serialize;
use std::collections::BTreeMap;

/// Labels in the order results are shown; others (alerts, findings) are not
/// indexed.
pub const LABELS: [&str; 8] = [
    "Credential",
    "Principal",
    "Human",
    "Agent",
    "Workload",
    "Group",
    "Resource",
    "Location",
];

/// How many hits a query examines before ranking: bounds the work of a
/// one-letter query on a large estate.
const MAX_HITS: usize = 20_000;

/// One node's line in the buffer.
struct Entry {
    id: i64,
    /// Where its line starts in `text`.
    start: u32,
    /// Where the key ends and the name begins (the key is first).
    key_end: u32,
    label: u8,
}

/// The search index: built once ([`Index::build`]), then read by any thread.
pub struct Index {
    text: Vec<u8>,
    entries: Vec<Entry>,
    kinds: Vec<String>,
    /// Per entry: the index in `kinds`, and the display key and name.
    meta: Vec<(u32, Box<str>, Option<Box<str>>)>,
}

/// One result.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub id: i64,
    pub label: &'static str,
    pub kind: String,
    pub key: String,
    pub name: Option<String>,
    /// What matched: `exact`, `prefix`, `word` or `substring`.
    pub matched: &'static str,
}

/// Results of one query, grouped by label in [`LABELS`] order.
#[derive(Debug, Serialize)]
pub struct Results {
    pub query: String,
    /// Label → its best hits (at most `per_label`).
    pub groups: BTreeMap<&'static str, Vec<Hit>>,
    /// The labels in display order (those with hits).
    pub order: Vec<&'static str>,
    /// Matching nodes examined (capped; `capped` says whether more exist).
    pub examined: usize,
    pub capped: bool,
}

/// The text a key is searched by: without the `kind:` scheme custody adds
/// (`aws-access-key:AKIA…` → `AKIA…`, `email:a@b` → `a@b`); ARNs and URIs
/// are kept whole.
fn searchable_key(key: &str) -> &str {
    if key.starts_with("arn:") {
        return key;
    }
    match key.split_once(':') {
        Some((scheme, rest))
            if !scheme.is_empty()
                && scheme.len() <= 40
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            rest
        }
        _ => key,
    }
}

impl Index {
    /// Indexes every node of the graph whose label is in [`LABELS`].
    pub fn build(graph: &MemGraph) -> Index {
        let mut text = Vec::new();
        let mut entries = Vec::new();
        let mut meta = Vec::new();
        let mut kinds: Vec<String> = Vec::new();
        let mut kind_ids: std::collections::HashMap<String, u32> = Default::default();
        for n in graph.iter() {
            let Some(label) = LABELS.iter().position(|l| *l == n.label) else {
                continue;
            };
            if text.len() > u32::MAX as usize - 4096 {
                tracing::warn!("search index full: later nodes are not searchable");
                break;
            }
            let start = text.len() as u32;
            let key = searchable_key(&n.key);
            push_lower(&mut text, key);
            let key_end = text.len() as u32;
            if let Some(name) = n.name.as_deref().filter(|s| *s != key) {
                text.push(b'\t');
                push_lower(&mut text, name);
            }
            for k in n.keys.iter().filter(|k| **k != n.key) {
                // Fingerprints by their first 16 hex digits (what previews and
                // findings show); other keys whole.
                let k = match k.strip_prefix("fp:") {
                    Some(hex) => &hex[..hex.len().min(16)],
                    None => searchable_key(k),
                };
                text.push(b'\t');
                push_lower(&mut text, k);
            }
            if let Some(email) = n.props.get("email").and_then(|v| v.as_str()) {
                text.push(b'\t');
                push_lower(&mut text, email);
            }
            text.push(b'\n');
            let kind = *kind_ids.entry(n.kind.clone()).or_insert_with(|| {
                kinds.push(n.kind.clone());
                kinds.len() as u32 - 1
            });
            entries.push(Entry {
                id: n.id,
                start,
                key_end,
                label: label as u8,
            });
            meta.push((
                kind,
                n.key.clone().into_boxed_str(),
                n.name.clone().map(String::into_boxed_str),
            ));
        }
        Index {
            text,
            entries,
            kinds,
            meta,
        }
    }

    /// How many nodes are searchable.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The bytes the index holds (for the server's memory report).
    pub fn bytes(&self) -> usize {
        self.text.len()
            + self.entries.len() * std::mem::size_of::<Entry>()
            + self
                .meta
                .iter()
                .map(|(_, k, n)| k.len() + n.as_ref().map_or(0, |n| n.len()) + 40)
                .sum::<usize>()
    }

    /// The entry whose line holds byte `at`.
    fn entry_at(&self, at: usize) -> usize {
        self.entries
            .partition_point(|e| e.start as usize <= at)
            .saturating_sub(1)
    }

    /// Nodes whose key, name, other keys or e-mail contain `query` (case
    /// folded for ASCII), at most `per_label` of each label, best first.
    /// `label` keeps one label only.
    pub fn search(&self, query: &str, per_label: usize, label: Option<&str>) -> Results {
        let q: Vec<u8> = query
            .trim()
            .bytes()
            .map(|b| b.to_ascii_lowercase())
            .collect();
        let mut results = Results {
            query: query.trim().to_string(),
            groups: BTreeMap::new(),
            order: Vec::new(),
            examined: 0,
            capped: false,
        };
        if q.is_empty() || q.contains(&b'\n') || q.contains(&b'\t') {
            return results;
        }
        let only = label.and_then(|l| LABELS.iter().position(|x| x.eq_ignore_ascii_case(l)));
        // (rank, key length, entry) of every matching entry, once, at its
        // best match.
        let mut scored: Vec<(u8, u32, usize)> = Vec::new();
        let finder = memchr::memmem::Finder::new(&q);
        for at in finder.find_iter(&self.text) {
            let i = self.entry_at(at);
            let e = &self.entries[i];
            if only.is_some_and(|l| l != e.label as usize) {
                continue;
            }
            let rank = self.rank(i, at, q.len());
            match scored.last_mut() {
                Some(last) if last.2 == i => last.0 = last.0.min(rank),
                _ => {
                    if scored.len() >= MAX_HITS {
                        results.capped = true;
                        break;
                    }
                    scored.push((rank, e.key_end - e.start, i));
                }
            }
        }
        results.examined = scored.len();
        scored.sort_unstable();
        for (rank, _, i) in scored {
            let e = &self.entries[i];
            let label = LABELS[e.label as usize];
            let group = results.groups.entry(label).or_default();
            if group.len() >= per_label {
                continue;
            }
            let (kind, key, name) = &self.meta[i];
            group.push(Hit {
                id: e.id,
                label,
                kind: self.kinds[*kind as usize].clone(),
                key: key.to_string(),
                name: name.as_ref().map(|n| n.to_string()),
                matched: ["exact", "prefix", "word", "substring"][rank as usize],
            });
        }
        results.order = LABELS
            .iter()
            .copied()
            .filter(|l| results.groups.contains_key(l))
            .collect();
        results
    }

    /// 0: a whole field; 1: the start of a field; 2: the start of a word;
    /// 3: anywhere.
    fn rank(&self, i: usize, at: usize, len: usize) -> u8 {
        let line_end = self
            .entries
            .get(i + 1)
            .map_or(self.text.len(), |n| n.start as usize)
            - 1;
        let field_start = self.text[..at]
            .iter()
            .rposition(|&b| b == b'\t' || b == b'\n')
            .map_or(0, |p| p + 1)
            .max(self.entries[i].start as usize);
        let field_end = self.text[at..line_end]
            .iter()
            .position(|&b| b == b'\t')
            .map_or(line_end, |p| at + p);
        if at == field_start && at + len == field_end {
            0
        } else if at == field_start {
            1
        } else if !self.text[at - 1].is_ascii_alphanumeric() {
            2
        } else {
            3
        }
    }
}

fn push_lower(text: &mut Vec<u8>, s: &str) {
    text.extend(s.bytes().map(|b| match b {
        b'\n' | b'\t' => b' ',
        b => b.to_ascii_lowercase(),
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_query::NodeData;

    fn node(id: i64, label: &str, kind: &str, key: &str, name: Option<&str>) -> NodeData {
        NodeData {
            id,
            label: label.into(),
            kind: kind.into(),
            system: "aws".into(),
            key: key.into(),
            name: name.map(Into::into),
            keys: vec![],
            props: Default::default(),
        }
    }

    fn graph() -> MemGraph {
        let mut key = node(
            1,
            "Credential",
            "aws_access_key",
            "aws-access-key:AKIAIOSFODNN7EXAMPLE",
            Some("AKIAIOSFODNN7EXAMPLE"),
        );
        key.keys = vec![
            "aws-access-key:AKIAIOSFODNN7EXAMPLE".into(),
            "fp:1ef909339786728c929e69cb4da174be63852585454a594431ef8a66115c38a5".into(),
        ];
        MemGraph::build(
            vec![
                key,
                node(
                    2,
                    "Principal",
                    "aws_iam_user",
                    "arn:aws:iam::934417785703:user/svc-shipping-reporting-export",
                    Some("svc-shipping-reporting-export"),
                ),
                node(
                    3,
                    "Human",
                    "employee",
                    "email:amara.jensen@northwind-labs.example",
                    Some("Amara Jensen"),
                ),
                node(4, "Alert", "new-region", "id:alert/1", Some("shipping")),
                node(
                    5,
                    "Principal",
                    "aws_iam_role",
                    "arn:aws:iam::934417785703:role/shipping",
                    Some("shipping"),
                ),
            ],
            vec![],
        )
    }

    #[test]
    fn finds_keys_arns_names_emails_and_fingerprints_ranked() {
        let index = Index::build(&graph());
        assert_eq!(index.len(), 4, "alerts are not indexed");
        let r = index.search("akiaiosf", 10, None);
        assert_eq!(r.groups["Credential"][0].id, 1);
        assert_eq!(r.groups["Credential"][0].matched, "prefix");
        let r = index.search("1EF9093397", 10, None);
        assert_eq!(r.groups["Credential"][0].id, 1, "fingerprint short form");
        let r = index.search("amara", 10, None);
        assert_eq!(
            r.groups["Human"][0].key,
            "email:amara.jensen@northwind-labs.example"
        );
        // The role named exactly `shipping` ranks above the user whose name
        // has the word in it.
        let r = index.search("shipping", 10, None);
        assert_eq!(r.order, vec!["Principal"]);
        let p = &r.groups["Principal"];
        assert_eq!((p[0].id, p[0].matched), (5, "exact"));
        assert_eq!((p[1].id, p[1].matched), (2, "word"));
        let r = index.search("hipping", 10, Some("principal"));
        assert!(r.groups["Principal"]
            .iter()
            .all(|h| h.matched == "substring"));
        assert!(index.search("", 10, None).order.is_empty());
        assert!(index.search("nothing-like-it", 10, None).order.is_empty());
    }

    #[test]
    fn per_label_caps_each_group() {
        let index = Index::build(&graph());
        let r = index.search("arn:aws", 1, None);
        assert_eq!(r.groups["Principal"].len(), 1);
        assert_eq!(r.examined, 2);
    }
}
