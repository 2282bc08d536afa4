//! The resolver: union-find over strong keys.
//!
//! Rules:
//! - Every node fact lists one or more strong keys of its subject; facts sharing a
//!   key are the same subject, transitively (a credential-report slot and a
//!   `list-access-keys` entry share `aws-key-created:…`; the entry also carries the
//!   `AKIA…` id, so everything that names that id joins them).
//! - Keys never merge across labels: a key claimed by a `Human` and a `Principal` is
//!   a data problem, reported in [`Resolution::warnings`], and the two stay apart.
//! - An edge endpoint that no node fact asserts becomes a *placeholder* node of the
//!   endpoint's label (e.g. an owner e-mail that is in no roster).
//! - Properties are never merged here: every fact stays a separate assertion with
//!   its provenance; the store derives the merged view and keeps conflicts.

use custody_model::{Fact, Key, Label};
use std::collections::HashMap;

/// A node already in the store, found by one of its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Existing {
    pub id: i64,
    pub label: Label,
}

/// One resolved subject.
#[derive(Debug, Clone)]
pub struct ResolvedNode {
    /// The stored node this is, if it existed before this batch.
    pub existing: Option<i64>,
    pub label: Label,
    pub kind: String,
    pub system: String,
    pub name: Option<String>,
    /// Every key this batch saw for the subject (the store adds them to its index).
    pub keys: Vec<Key>,
    /// True if only edges named it.
    pub placeholder: bool,
    /// Indexes (into the batch) of the node facts about this subject.
    pub facts: Vec<usize>,
}

impl ResolvedNode {
    /// The most canonical key (lowest [`custody_model::KeyKind::rank`]).
    pub fn canonical_key(&self) -> Option<&Key> {
        self.keys
            .iter()
            .min_by(|a, b| (a.kind().rank(), a.as_str()).cmp(&(b.kind().rank(), b.as_str())))
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ResolvedEdge {
    /// Index of the edge fact in the batch.
    pub fact: usize,
    /// Indexes into [`Resolution::nodes`].
    pub from: usize,
    pub to: usize,
}

#[derive(Debug, Default)]
pub struct Resolution {
    pub nodes: Vec<ResolvedNode>,
    pub edges: Vec<ResolvedEdge>,
    /// Stored nodes this batch proved to be one subject: `(merged away, kept)`.
    pub merges: Vec<(i64, i64)>,
    /// Keys claimed by nodes of different labels, and similar data problems.
    pub warnings: Vec<String>,
}

struct Slot {
    existing: Option<i64>,
    label: Label,
    kind: String,
    system: String,
    name: Option<String>,
    keys: Vec<Key>,
    placeholder: bool,
    facts: Vec<usize>,
}

impl Slot {
    /// What a slot holds once it has been folded into another.
    fn vacant() -> Slot {
        Slot {
            existing: None,
            label: Label::Resource,
            kind: String::new(),
            system: String::new(),
            name: None,
            keys: Vec::new(),
            placeholder: true,
            facts: Vec::new(),
        }
    }
}

/// Resolves one batch of facts against what is already stored.
#[derive(Default)]
pub struct Resolver {
    by_key: HashMap<Key, usize>,
    by_existing: HashMap<i64, usize>,
    slots: Vec<Slot>,
    parent: Vec<usize>,
    merges: Vec<(i64, i64)>,
    warnings: Vec<String>,
}

impl Resolver {
    pub fn new() -> Resolver {
        Resolver::default()
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn new_slot(&mut self, slot: Slot) -> usize {
        let i = self.slots.len();
        if let Some(id) = slot.existing {
            self.by_existing.insert(id, i);
        }
        self.slots.push(slot);
        self.parent.push(i);
        i
    }

    /// Joins two slots; refuses (with a warning) to join different real labels.
    fn union(&mut self, a: usize, b: usize, via: &Key) -> usize {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return ra;
        }
        let (la, lb) = (&self.slots[ra], &self.slots[rb]);
        if la.label != lb.label && !la.placeholder && !lb.placeholder {
            self.warnings.push(format!(
                "key {via} is claimed by a {} and a {}; they are kept apart",
                la.label, lb.label
            ));
            return ra;
        }
        // Keep a real node over a placeholder; between two stored nodes keep the
        // older (smaller id); otherwise the first seen.
        let keep_a = match (la.placeholder, lb.placeholder) {
            (false, true) => true,
            (true, false) => false,
            _ => match (la.existing, lb.existing) {
                (Some(x), Some(y)) => x < y,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => ra < rb,
            },
        };
        let (root, child) = if keep_a { (ra, rb) } else { (rb, ra) };
        self.parent[child] = root;
        let moved = std::mem::replace(&mut self.slots[child], Slot::vacant());
        let r = &mut self.slots[root];
        match (r.existing, moved.existing) {
            (Some(keep), Some(gone)) => self.merges.push((gone, keep)),
            (None, Some(id)) => r.existing = Some(id),
            _ => {}
        }
        if r.placeholder && !moved.placeholder {
            r.label = moved.label;
            r.kind = moved.kind;
            r.system = moved.system;
            r.placeholder = false;
        }
        if r.name.is_none() {
            r.name = moved.name;
        }
        for k in moved.keys {
            if !r.keys.contains(&k) {
                r.keys.push(k);
            }
        }
        r.facts.extend(moved.facts);
        if let Some(id) = self.slots[root].existing {
            self.by_existing.insert(id, root);
        }
        root
    }

    /// The slot for `key`: known in this batch, found in the store, or none.
    fn slot_for(
        &mut self,
        key: &Key,
        lookup: &mut dyn FnMut(&Key) -> Option<Existing>,
    ) -> Option<usize> {
        if let Some(&s) = self.by_key.get(key) {
            return Some(self.find(s));
        }
        let found = lookup(key)?;
        let slot = match self.by_existing.get(&found.id) {
            Some(&s) => self.find(s),
            None => self.new_slot(Slot {
                existing: Some(found.id),
                label: found.label,
                kind: String::new(),
                system: String::new(),
                name: None,
                keys: Vec::new(),
                placeholder: false,
                facts: Vec::new(),
            }),
        };
        self.by_key.insert(key.clone(), slot);
        Some(slot)
    }

    /// Resolves `facts`. `lookup` finds a stored node by key (return `None` always
    /// for an empty store).
    pub fn resolve(
        mut self,
        facts: &[Fact],
        lookup: &mut dyn FnMut(&Key) -> Option<Existing>,
    ) -> Resolution {
        // Pass 1: node facts.
        for (i, fact) in facts.iter().enumerate() {
            let Fact::Node(n) = fact else { continue };
            let mut slot: Option<usize> = None;
            for key in &n.keys {
                if let Some(s) = self.slot_for(key, lookup) {
                    // A stored node found by key has no kind yet: this fact gives it one.
                    slot = Some(match slot {
                        None => s,
                        Some(cur) => self.union(cur, s, key),
                    });
                }
            }
            let s = match slot {
                Some(s) => {
                    let s = self.find(s);
                    if self.slots[s].label != n.label && !self.slots[s].placeholder {
                        // Kept apart; the key loop below reports the clash.
                        self.new_slot(slot_of(n, i))
                    } else {
                        let r = &mut self.slots[s];
                        if r.kind.is_empty() {
                            r.kind = n.kind.clone();
                            r.system = n.system.clone();
                        }
                        if r.name.is_none() {
                            r.name = n.name.clone();
                        }
                        r.facts.push(i);
                        s
                    }
                }
                None => self.new_slot(slot_of(n, i)),
            };
            for key in &n.keys {
                let root = self.find(s);
                if !self.slots[root].keys.contains(key) {
                    self.slots[root].keys.push(key.clone());
                }
                match self.by_key.get(key).copied() {
                    Some(other) => {
                        if self.find(other) != root {
                            self.union(root, other, key);
                        }
                    }
                    None => {
                        self.by_key.insert(key.clone(), root);
                    }
                }
            }
        }
        // Pass 2: edges, creating placeholders for endpoints nobody asserted.
        let mut edges = Vec::new();
        for (i, fact) in facts.iter().enumerate() {
            let Fact::Edge(e) = fact else { continue };
            let mut ends = [0usize; 2];
            for (j, ep) in [&e.from, &e.to].into_iter().enumerate() {
                ends[j] = match self.slot_for(&ep.key, lookup) {
                    Some(s) => s,
                    None => {
                        let s = self.new_slot(Slot {
                            existing: None,
                            label: ep.label,
                            kind: String::new(),
                            system: String::new(),
                            name: None,
                            keys: vec![ep.key.clone()],
                            placeholder: true,
                            facts: Vec::new(),
                        });
                        self.by_key.insert(ep.key.clone(), s);
                        s
                    }
                };
            }
            edges.push((i, ends[0], ends[1]));
        }
        // Compact: one output node per root slot.
        let mut out_index: HashMap<usize, usize> = HashMap::new();
        let mut nodes = Vec::new();
        for s in 0..self.slots.len() {
            let root = self.find(s);
            if root != s {
                continue;
            }
            let slot = std::mem::replace(&mut self.slots[s], Slot::vacant());
            out_index.insert(s, nodes.len());
            nodes.push(ResolvedNode {
                existing: slot.existing,
                label: slot.label,
                kind: slot.kind,
                system: slot.system,
                name: slot.name,
                keys: slot.keys,
                placeholder: slot.placeholder && slot.existing.is_none(),
                facts: slot.facts,
            });
        }
        let edges = edges
            .into_iter()
            .map(|(fact, a, b)| {
                let (ra, rb) = (self.find(a), self.find(b));
                ResolvedEdge {
                    fact,
                    from: out_index[&ra],
                    to: out_index[&rb],
                }
            })
            .collect();
        Resolution {
            nodes,
            edges,
            merges: self.merges,
            warnings: self.warnings,
        }
    }
}

fn slot_of(n: &custody_model::NodeFact, i: usize) -> Slot {
    Slot {
        existing: None,
        label: n.label,
        kind: n.kind.clone(),
        system: n.system.clone(),
        name: n.name.clone(),
        keys: Vec::new(),
        placeholder: false,
        facts: vec![i],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_model::{EdgeFact, EdgeKind, Endpoint, Location, NodeFact, Provenance};
    use serde_json::Map;

    fn node(label: Label, kind: &str, keys: Vec<Key>) -> Fact {
        Fact::Node(NodeFact {
            label,
            kind: kind.into(),
            system: "test".into(),
            keys,
            name: None,
            props: Map::new(),
            prov: Provenance::at(Location::File),
        })
    }

    fn edge(kind: EdgeKind, from: (Label, Key), to: (Label, Key)) -> Fact {
        Fact::Edge(EdgeFact {
            kind,
            from: Endpoint::new(from.0, from.1),
            to: Endpoint::new(to.0, to.1),
            props: Map::new(),
            prov: Provenance::at(Location::File),
        })
    }

    fn none(_: &Key) -> Option<Existing> {
        None
    }

    #[test]
    fn one_access_key_from_three_sources_is_one_node() {
        let id = Key::aws_access_key(&format!("AKIA{}", "0000000000000001"));
        let created = Key::aws_key_created("111122223333/svc", "2024-01-01T00:00:00Z");
        let facts = vec![
            // credential report: no id, only user + creation time
            node(Label::Credential, "aws_access_key", vec![created.clone()]),
            // list-access-keys: id and creation time
            node(
                Label::Credential,
                "aws_access_key",
                vec![id.clone(), created.clone()],
            ),
            // somewhere else: the id alone
            node(Label::Credential, "aws_access_key", vec![id.clone()]),
            edge(
                EdgeKind::AuthenticatesAs,
                (Label::Credential, created),
                (
                    Label::Principal,
                    Key::arn("arn:aws:iam::111122223333:user/svc"),
                ),
            ),
        ];
        let r = Resolver::new().resolve(&facts, &mut none);
        let creds: Vec<_> = r
            .nodes
            .iter()
            .filter(|n| n.label == Label::Credential)
            .collect();
        assert_eq!(creds.len(), 1);
        assert_eq!(creds[0].facts, vec![0, 1, 2]);
        assert_eq!(creds[0].canonical_key(), Some(&id));
        let principal = r
            .nodes
            .iter()
            .find(|n| n.label == Label::Principal)
            .unwrap();
        assert!(principal.placeholder);
        assert_eq!(r.edges.len(), 1);
    }

    #[test]
    fn emails_join_roster_and_idp_transitively() {
        let facts = vec![
            node(
                Label::Human,
                "employee",
                vec![Key::email("bo@corp.example")],
            ),
            node(
                Label::Human,
                "okta_user",
                vec![Key::okta("00u1"), Key::email("BO@corp.example")],
            ),
            edge(
                EdgeKind::MemberOf,
                (Label::Human, Key::okta("00u1")),
                (Label::Group, Key::okta("00g1")),
            ),
        ];
        let r = Resolver::new().resolve(&facts, &mut none);
        let humans: Vec<_> = r.nodes.iter().filter(|n| n.label == Label::Human).collect();
        assert_eq!(humans.len(), 1);
        assert_eq!(
            humans[0].kind, "employee",
            "the first source names the kind"
        );
        assert_eq!(r.nodes[r.edges[0].from].label, Label::Human);
    }

    #[test]
    fn a_bridging_fact_merges_two_stored_nodes() {
        let a = Key::email("a@x.example");
        let b = Key::okta("00u9");
        let mut lookup = |k: &Key| match k.as_str() {
            "email:a@x.example" => Some(Existing {
                id: 7,
                label: Label::Human,
            }),
            "okta:00u9" => Some(Existing {
                id: 3,
                label: Label::Human,
            }),
            _ => None,
        };
        let facts = vec![node(Label::Human, "okta_user", vec![b, a])];
        let r = Resolver::new().resolve(&facts, &mut lookup);
        assert_eq!(r.nodes.len(), 1);
        assert_eq!(r.nodes[0].existing, Some(3));
        assert_eq!(r.merges, vec![(7, 3)]);
    }

    #[test]
    fn keys_never_merge_across_labels() {
        let k = Key::other("x", "1");
        let facts = vec![
            node(Label::Human, "a", vec![k.clone()]),
            node(Label::Principal, "b", vec![k]),
        ];
        let r = Resolver::new().resolve(&facts, &mut none);
        assert_eq!(r.nodes.len(), 2);
        assert_eq!(r.warnings.len(), 1);
    }

    #[test]
    fn a_placeholder_becomes_real_when_asserted() {
        let owner = Key::email("c@x.example");
        let facts = vec![
            edge(
                EdgeKind::OwnedBy,
                (Label::Principal, Key::arn("arn:aws:iam::1:user/u")),
                (Label::Human, owner.clone()),
            ),
            node(Label::Human, "employee", vec![owner]),
        ];
        let r = Resolver::new().resolve(&facts, &mut none);
        let human = r.nodes.iter().find(|n| n.label == Label::Human).unwrap();
        assert!(!human.placeholder);
        assert_eq!(r.nodes.len(), 2);
    }
}
