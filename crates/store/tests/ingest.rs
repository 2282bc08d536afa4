//! Store behaviour: merging across sources, supersession, conflicts, atomicity.

use custody_model::{
    EdgeFact, EdgeKind, Endpoint, Fact, Fingerprinter, Key, Label, Location, NodeFact, Provenance,
};
use custody_store::{ListFilter, NetworkRangeRow, SourceBatch, SqliteStore, Store};
use serde_json::{json, Map, Value};

fn fp() -> Fingerprinter {
    Fingerprinter::new(&[5u8; 32]).unwrap()
}

fn props(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn node(label: Label, kind: &str, keys: Vec<Key>, p: Value) -> Fact {
    Fact::Node(NodeFact {
        label,
        kind: kind.into(),
        system: "t".into(),
        keys,
        name: None,
        props: props(p),
        prov: Provenance::at(Location::Line(2)),
    })
}

fn edge(kind: EdgeKind, from: Endpoint, to: Endpoint) -> Fact {
    Fact::Edge(EdgeFact {
        kind,
        from,
        to,
        props: Map::new(),
        prov: Provenance::at(Location::Line(2)),
    })
}

fn batch(path: &str, scope: &str, facts: Vec<Fact>) -> SourceBatch {
    SourceBatch {
        unparsed: None,
        prepared: None,
        path: path.into(),
        format: "test".into(),
        scope: scope.into(),
        sha256: None,
        observed_at: None,
        records: facts.len(),
        facts,
        errors: vec![],
    }
}

fn key_id() -> String {
    format!("AKIA{}", "TESTTESTTEST0001")
}

fn three_sources() -> Vec<SourceBatch> {
    let created = Key::aws_key_created("111122223333/svc", "2024-01-01T00:00:00Z");
    let user = Endpoint::new(
        Label::Principal,
        Key::arn("arn:aws:iam::111122223333:user/svc"),
    );
    vec![
        batch(
            "report.csv",
            "report:1111",
            vec![
                node(
                    Label::Credential,
                    "aws_access_key",
                    vec![created.clone()],
                    json!({"status": "Active", "last_used": "2024-05-01T00:00:00Z"}),
                ),
                edge(
                    EdgeKind::AuthenticatesAs,
                    Endpoint::new(Label::Credential, created.clone()),
                    user.clone(),
                ),
            ],
        ),
        batch(
            "keys.json",
            "keys:1111",
            vec![node(
                Label::Credential,
                "aws_access_key",
                vec![Key::aws_access_key(&key_id()), created],
                json!({"status": "Active"}),
            )],
        ),
        batch(
            "authz.json",
            "authz:1111",
            vec![
                node(
                    Label::Principal,
                    "aws_iam_user",
                    vec![Key::arn("arn:aws:iam::111122223333:user/svc")],
                    json!({"tags": {"owner": "bo@corp.example"}}),
                ),
                edge(
                    EdgeKind::OwnedBy,
                    user,
                    Endpoint::new(Label::Human, Key::email("bo@corp.example")),
                ),
            ],
        ),
        batch(
            "roster.csv",
            "roster",
            vec![node(
                Label::Human,
                "employee",
                vec![Key::email("Bo@Corp.Example")],
                json!({"employment_status": "terminated"}),
            )],
        ),
    ]
}

#[test]
fn one_key_from_three_sources_is_one_node_with_every_source() {
    let mut s = SqliteStore::open_in_memory(fp()).unwrap();
    let report = s.ingest_all(three_sources(), &mut |_| {}).unwrap();
    assert!(report.errors.is_empty());
    let id = s.find(&key_id()).unwrap().expect("found by access key id");
    let n = s.node(id).unwrap().unwrap();
    assert_eq!(n.brief.key, format!("aws-access-key:{}", key_id()));
    assert_eq!(n.props["last_used"], "2024-05-01T00:00:00Z");
    let a = s.node_assertions(id).unwrap();
    let sources: Vec<_> = a.iter().map(|a| a.source.as_str()).collect();
    assert_eq!(sources, vec!["report.csv", "keys.json"]);
    let edges = s.edges(id).unwrap();
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0].kind, "AUTHENTICATES_AS");
    assert!(
        !edges[0].other.placeholder,
        "the IAM user was asserted by authz.json"
    );
    // The owner e-mail from the tag and the roster row are one human.
    let bo = s.find("BO@corp.example").unwrap().unwrap();
    assert!(!s.node(bo).unwrap().unwrap().brief.placeholder);
    let stats = s.stats().unwrap();
    assert_eq!(stats.nodes, 3);
    assert_eq!(stats.identities, 2);
}

#[test]
fn the_same_facts_in_a_second_snapshot_change_nothing_but_time() {
    let mut s = SqliteStore::open_in_memory(fp()).unwrap();
    s.ingest_all(three_sources(), &mut |_| {}).unwrap();
    let before = s.stats().unwrap();
    let r = s.ingest_all(three_sources(), &mut |_| {}).unwrap();
    assert_eq!(r.nodes_created, 0);
    assert_eq!(r.nodes_retired, 0);
    let after = s.stats().unwrap();
    assert_eq!((before.nodes, before.edges), (after.nodes, after.edges));
    assert_eq!(
        after.assertions,
        2 * before.assertions,
        "history keeps the first snapshot's assertions"
    );
    assert_eq!(after.snapshots, 2);
    let id = s.find(&key_id()).unwrap().unwrap();
    let a = s.node_assertions(id).unwrap();
    assert_eq!(
        a.iter().filter(|a| a.live).count(),
        2,
        "older assertions of the same scopes are superseded"
    );
    assert_eq!(a.len(), 4, "and kept as history");
}

#[test]
fn a_newer_export_of_a_scope_retires_what_it_no_longer_lists() {
    let mut s = SqliteStore::open_in_memory(fp()).unwrap();
    s.ingest_all(three_sources(), &mut |_| {}).unwrap();
    // The key was deleted: the new report and key listing no longer show it.
    let r = s
        .ingest_all(
            vec![
                batch("report2.csv", "report:1111", vec![]),
                batch("keys2.json", "keys:1111", vec![]),
            ],
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(r.nodes_retired, 1);
    assert_eq!(r.edges_retired, 1);
    let id = s.find(&key_id()).unwrap().unwrap();
    assert!(s.node(id).unwrap().unwrap().brief.retired);
    assert!(s
        .list(&ListFilter {
            label: Some("Credential".into()),
            ..Default::default()
        })
        .unwrap()
        .is_empty());
}

#[test]
fn disagreeing_sources_are_both_kept() {
    let mut s = SqliteStore::open_in_memory(fp()).unwrap();
    let k = Key::email("cy@corp.example");
    s.ingest_all(
        vec![
            batch(
                "roster.csv",
                "roster",
                vec![node(
                    Label::Human,
                    "employee",
                    vec![k.clone()],
                    json!({"department": "Sales"}),
                )],
            ),
            batch(
                "okta.json",
                "okta",
                vec![node(
                    Label::Human,
                    "okta_user",
                    vec![k],
                    json!({"department": "Marketing"}),
                )],
            ),
        ],
        &mut |_| {},
    )
    .unwrap();
    let n = s
        .node(s.find("cy@corp.example").unwrap().unwrap())
        .unwrap()
        .unwrap();
    let c = n.conflicts["department"].as_array().unwrap();
    assert_eq!(c.len(), 2);
    assert_eq!(c[0]["source"], "roster.csv#L2");
    assert_eq!(c[1]["source"], "okta.json#L2");
}

#[test]
fn a_later_fact_can_merge_two_stored_nodes() {
    let mut s = SqliteStore::open_in_memory(fp()).unwrap();
    s.ingest_all(
        vec![
            batch(
                "a",
                "a",
                vec![node(
                    Label::Human,
                    "employee",
                    vec![Key::email("d@corp.example")],
                    json!({}),
                )],
            ),
            batch(
                "b",
                "b",
                vec![
                    node(
                        Label::Human,
                        "okta_user",
                        vec![Key::okta("00u1")],
                        json!({}),
                    ),
                    edge(
                        EdgeKind::MemberOf,
                        Endpoint::new(Label::Human, Key::okta("00u1")),
                        Endpoint::new(Label::Group, Key::okta("00g1")),
                    ),
                ],
            ),
        ],
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(
        s.stats()
            .unwrap()
            .nodes_by_label
            .iter()
            .find(|(l, _)| l == "Human")
            .unwrap()
            .1,
        2
    );
    let old = s.find("okta:00u1").unwrap().unwrap();
    let r = s
        .ingest_all(
            vec![batch(
                "c",
                "c",
                vec![node(
                    Label::Human,
                    "okta_user",
                    vec![Key::okta("00u1"), Key::email("d@corp.example")],
                    json!({}),
                )],
            )],
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(r.nodes_merged, 1);
    let id = s.find("d@corp.example").unwrap().unwrap();
    assert_eq!(s.find("okta:00u1").unwrap(), Some(id));
    assert_eq!(
        s.find(&old.to_string()).unwrap(),
        Some(id),
        "old ids redirect"
    );
    assert_eq!(s.edges(id).unwrap().len(), 1);
    assert_eq!(s.node_assertions(id).unwrap().len(), 3);
}

#[test]
fn a_failure_mid_ingest_leaves_the_store_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let mut s = SqliteStore::open(&path, fp()).unwrap();
    s.ingest_all(
        vec![batch(
            "roster.csv",
            "roster",
            vec![node(
                Label::Human,
                "employee",
                vec![Key::email("e@corp.example")],
                json!({}),
            )],
        )],
        &mut |_| {},
    )
    .unwrap();
    let before = s.stats().unwrap();
    s.inject_failure_after_nodes(Some(2));
    let err = s.ingest_all(three_sources(), &mut |_| {});
    assert!(err.is_err());
    drop(s);
    let s = SqliteStore::open(&path, fp()).unwrap();
    let after = s.stats().unwrap();
    assert_eq!(
        (before.nodes, before.edges, before.snapshots, before.sources),
        (after.nodes, after.edges, after.snapshots, after.sources)
    );
    assert_eq!(s.find(&key_id()).unwrap(), None);
}

#[test]
fn a_database_refuses_another_fingerprint_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    drop(SqliteStore::open(&path, fp()).unwrap());
    let other = Fingerprinter::new(&[6u8; 32]).unwrap();
    let err = SqliteStore::open(&path, other).err().unwrap();
    assert!(err.to_string().contains("another fingerprint key"));
}

#[test]
fn secret_shaped_values_are_redacted_before_storage() {
    let mut s = SqliteStore::open_in_memory(fp()).unwrap();
    let token = format!("xoxb-{}", "1234567890-abcdefghijklmnop");
    let r = s
        .ingest_all(
            vec![batch(
                "a",
                "a",
                vec![node(
                    Label::Principal,
                    "x",
                    vec![Key::other("t", "1")],
                    json!({"tags": {"note": token.clone()}}),
                )],
            )],
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(r.secrets_redacted, 1);
    let n = s.node(s.find("id:t/1").unwrap().unwrap()).unwrap().unwrap();
    assert!(!serde_json::to_string(&n.props).unwrap().contains(&token));
}

#[test]
fn chunks_resolve_against_earlier_chunks_like_one_batch() {
    // One source per chunk, in an order where the edge to the owner arrives before
    // the owner and the key's second observation arrives in a later chunk.
    let mut one = SqliteStore::open_in_memory(fp()).unwrap();
    let whole = one.ingest_all(three_sources(), &mut |_| {}).unwrap();
    let mut chunked = SqliteStore::open_in_memory(fp()).unwrap();
    let mut chunks = three_sources().into_iter().map(|b| vec![b]);
    let r = chunked.ingest(&mut chunks, &mut |_| {}).unwrap();
    assert_eq!(
        r.nodes_created, whole.nodes_created,
        "placeholders are filled in by later chunks, not duplicated"
    );
    assert_eq!(r.nodes_created, 3);
    let (a, b) = (one.stats().unwrap(), chunked.stats().unwrap());
    assert_eq!(
        (a.nodes, a.edges, a.assertions),
        (b.nodes, b.edges, b.assertions)
    );
    let id = chunked.find(&key_id()).unwrap().unwrap();
    let n = chunked.node(id).unwrap().unwrap();
    assert_eq!(n.props["last_used"], "2024-05-01T00:00:00Z");
    assert_eq!(chunked.node_assertions(id).unwrap().len(), 2);
    let owner = chunked.find("bo@corp.example").unwrap().unwrap();
    let human = chunked.node(owner).unwrap().unwrap();
    assert!(!human.brief.placeholder);
    assert_eq!(human.brief.kind, "employee");
}

#[test]
fn a_first_load_survives_merges_between_its_chunks() {
    // Chunk 1 makes two humans (by e-mail and by Okta id), each in the same group;
    // chunk 2 proves them one person; chunk 3 names the group membership again.
    let group = Endpoint::new(Label::Group, Key::okta("00g1"));
    let member = |key: Key| {
        edge(
            EdgeKind::MemberOf,
            Endpoint::new(Label::Human, key),
            group.clone(),
        )
    };
    let chunks = vec![
        vec![batch(
            "a",
            "a",
            vec![
                node(
                    Label::Human,
                    "employee",
                    vec![Key::email("f@corp.example")],
                    json!({}),
                ),
                node(
                    Label::Human,
                    "okta_user",
                    vec![Key::okta("00u7")],
                    json!({}),
                ),
                member(Key::email("f@corp.example")),
                member(Key::okta("00u7")),
            ],
        )],
        vec![batch(
            "b",
            "b",
            vec![node(
                Label::Human,
                "okta_user",
                vec![Key::okta("00u7"), Key::email("f@corp.example")],
                json!({}),
            )],
        )],
        vec![batch("c", "c", vec![member(Key::okta("00u7"))])],
    ];
    let mut s = SqliteStore::open_in_memory(fp()).unwrap();
    let r = s.ingest(&mut chunks.into_iter(), &mut |_| {}).unwrap();
    assert_eq!(r.nodes_merged, 1);
    let id = s.find("f@corp.example").unwrap().unwrap();
    assert_eq!(s.find("okta:00u7").unwrap(), Some(id));
    let edges = s.edges(id).unwrap();
    assert_eq!(edges.len(), 1, "one MEMBER_OF edge, asserted three times");
    assert_eq!(s.edge_assertions(edges[0].id).unwrap().len(), 3);
}

#[test]
fn a_failed_first_load_leaves_an_empty_usable_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let mut s = SqliteStore::open(&path, fp()).unwrap();
    s.inject_failure_after_nodes(Some(2));
    assert!(s.ingest_all(three_sources(), &mut |_| {}).is_err());
    drop(s);
    let mut s = SqliteStore::open(&path, fp()).unwrap();
    let stats = s.stats().unwrap();
    assert_eq!(
        (stats.nodes, stats.edges, stats.snapshots, stats.sources),
        (0, 0, 0, 0)
    );
    s.ingest_all(three_sources(), &mut |_| {}).unwrap();
    assert!(s.find(&key_id()).unwrap().is_some());
    assert!(
        s.find("bo@corp.example").unwrap().is_some(),
        "indexes and keys are in place after a first load"
    );
}

#[test]
fn an_unchanged_export_keeps_its_facts_and_is_seen_again() {
    let hashed = |n: &str| {
        let mut b = three_sources();
        for (i, sb) in b.iter_mut().enumerate() {
            sb.sha256 = Some(format!("{n}-{i}"));
        }
        b
    };
    let mut s = SqliteStore::open_in_memory(fp()).unwrap();
    s.ingest_all(hashed("same"), &mut |_| {}).unwrap();
    let before = s.stats().unwrap();
    let r = s.ingest_all(hashed("same"), &mut |_| {}).unwrap();
    assert_eq!(r.files_unchanged, 4);
    assert_eq!((r.nodes_created, r.nodes_retired, r.facts), (0, 0, 0));
    let after = s.stats().unwrap();
    assert_eq!(after.assertions, before.assertions, "nothing rewritten");
    let id = s.find(&key_id()).unwrap().unwrap();
    let n = s.node(id).unwrap().unwrap();
    assert_eq!(
        (n.first_snapshot, n.last_snapshot),
        (Some(1), Some(2)),
        "seen again in snapshot 2"
    );
    assert_eq!(s.edges(id).unwrap().len(), 1);
    // A changed export of the same scope still supersedes.
    let mut changed = hashed("same");
    changed[0] = batch("report3.csv", "report:1111", vec![]);
    changed[0].sha256 = Some("different".into());
    changed[1] = batch("keys3.json", "keys:1111", vec![]);
    changed[1].sha256 = Some("different too".into());
    let r = s.ingest_all(changed, &mut |_| {}).unwrap();
    assert_eq!(r.files_unchanged, 2);
    assert_eq!(
        r.nodes_retired, 1,
        "the key is gone from the new report and listing"
    );
}

#[test]
fn a_changed_export_rewrites_only_the_facts_that_changed() {
    let day = |d: u32, last_used: &str, status: &str| {
        let mut b = three_sources();
        for (i, sb) in b.iter_mut().enumerate() {
            sb.sha256 = Some(format!("day{d}-{i}"));
            sb.observed_at = Some(format!("2024-06-0{d}T00:00:00Z"));
            sb.path = format!("day{d}/{}", sb.path);
        }
        if let Fact::Node(n) = &mut b[0].facts[0] {
            n.props = props(json!({"status": status, "last_used": last_used}));
        }
        b
    };
    let mut s = SqliteStore::open_in_memory(fp()).unwrap();
    s.ingest_all(day(1, "2024-05-01T00:00:00Z", "Active"), &mut |_| {})
        .unwrap();
    let before = s.stats().unwrap();
    let r = s
        .ingest_all(day(2, "2024-06-01T12:00:00Z", "Active"), &mut |_| {})
        .unwrap();
    assert_eq!(r.files_unchanged, 0, "every file's content changed");
    assert_eq!(
        (r.facts, r.facts_unchanged),
        (1, 5),
        "only the key's report row is new"
    );
    assert_eq!(
        (r.nodes_created, r.nodes_retired, r.edges_retired),
        (0, 0, 0)
    );
    let after = s.stats().unwrap();
    assert_eq!(after.assertions, before.assertions + 1);
    assert_eq!((after.nodes, after.edges), (before.nodes, before.edges));
    let id = s.find(&key_id()).unwrap().unwrap();
    let n = s.node(id).unwrap().unwrap();
    assert_eq!(n.props["last_used"], "2024-06-01T12:00:00Z");
    assert_eq!(n.last_snapshot, Some(2));
    let live: Vec<_> = s
        .node_assertions(id)
        .unwrap()
        .into_iter()
        .filter(|a| a.live)
        .collect();
    // The listing's statement is the new file's now: its path and time,
    // and it has held since the first snapshot.
    let listing = live
        .iter()
        .find(|a| a.source.ends_with("keys.json"))
        .unwrap();
    assert_eq!(listing.source, "day2/keys.json");
    assert_eq!(listing.observed_at.as_deref(), Some("2024-06-02T00:00:00Z"));
    assert_eq!(listing.snapshot, 1);
    let report = live
        .iter()
        .find(|a| a.source.ends_with("report.csv"))
        .unwrap();
    assert_eq!(
        (report.source.as_str(), report.snapshot),
        ("day2/report.csv", 2)
    );
    // What ended is still the first day's file's, with its time.
    let ended: Vec<_> = s
        .node_assertions(id)
        .unwrap()
        .into_iter()
        .filter(|a| !a.live)
        .collect();
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].source, "day1/report.csv");
    assert_eq!(
        ended[0].observed_at.as_deref(),
        Some("2024-06-01T00:00:00Z")
    );
    // Nothing appeared or went away; the edge kept its one live statement.
    let h = s.history(1, 2).unwrap();
    assert!(h.nodes.is_empty() && h.edges.is_empty(), "{h:?}");
    let edges = s.edges(id).unwrap();
    let live_edge = s
        .edge_assertions(edges[0].id)
        .unwrap()
        .into_iter()
        .filter(|a| a.live)
        .count();
    assert_eq!(live_edge, 1);
    // A third day disables the key: the change is reported as before.
    let r = s
        .ingest_all(day(3, "2024-06-01T12:00:00Z", "Inactive"), &mut |_| {})
        .unwrap();
    assert_eq!((r.facts, r.facts_unchanged), (1, 5));
    let h = s.history(2, 3).unwrap();
    assert_eq!(h.nodes.len(), 1);
    assert_eq!(h.nodes[0].changed["status"], json!(["Active", "Inactive"]));
    // The listing, read after the report, still says Active: a conflict.
    let n = s.node(id).unwrap().unwrap();
    assert_eq!(n.conflicts["status"].as_array().map(Vec::len), Some(2));
    assert_eq!(n.conflicts["status"][1]["source"], "day3/keys.json#L2");
    // A record added above the key in the listing moves it down a line:
    // the same statement, now at its new place.
    let mut b = day(4, "2024-06-01T12:00:00Z", "Inactive");
    if let Fact::Node(n) = &mut b[1].facts[0] {
        n.prov.location = Location::Line(3);
    }
    let other = Key::aws_access_key(&format!("AKIA{}", "TESTTESTTEST0002"));
    b[1].facts.insert(
        0,
        node(
            Label::Credential,
            "aws_access_key",
            vec![other],
            json!({"status": "Active"}),
        ),
    );
    let r = s.ingest_all(b, &mut |_| {}).unwrap();
    assert_eq!((r.facts, r.facts_unchanged, r.nodes_created), (1, 6, 1));
    let listing = s
        .node_assertions(id)
        .unwrap()
        .into_iter()
        .find(|a| a.live && a.source.ends_with("keys.json"))
        .unwrap();
    assert_eq!((listing.location.as_str(), listing.snapshot), ("L3", 1));
    // And the same content again is unchanged, file by file.
    let r = s
        .ingest_all(day(5, "2024-06-01T12:00:00Z", "Inactive"), &mut |_| {})
        .unwrap();
    assert_eq!(r.files_unchanged, 0);
    let r = s
        .ingest_all(day(5, "2024-06-01T12:00:00Z", "Inactive"), &mut |_| {})
        .unwrap();
    assert_eq!(r.files_unchanged, 4);
}

#[cfg(unix)]
#[test]
fn the_database_and_its_wal_are_private_to_their_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("custody.db");
    let mut store = SqliteStore::open(&path, fp()).unwrap();
    store
        .ingest_all(
            vec![SourceBatch {
                unparsed: None,
                prepared: None,
                path: "roster.csv".into(),
                format: "hris-roster".into(),
                scope: "hris-roster:x".into(),
                sha256: None,
                observed_at: None,
                records: 1,
                facts: vec![node(
                    Label::Human,
                    "employee",
                    vec![Key::email("ana@corp.example")],
                    json!({}),
                )],
                errors: Vec::new(),
            }],
            &mut |_| {},
        )
        .unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let p = dir.path().join(format!("custody.db{suffix}"));
        if let Ok(m) = std::fs::metadata(&p) {
            assert_eq!(m.permissions().mode() & 0o077, 0, "{}", p.display());
        } else {
            assert!(!suffix.is_empty(), "the database exists");
        }
    }
}

#[test]
fn a_file_not_parsed_again_is_seen_only_if_still_unchanged() {
    let hashed = || {
        let mut b = three_sources();
        for (i, sb) in b.iter_mut().enumerate() {
            sb.sha256 = Some(format!("same-{i}"));
        }
        b
    };
    let mut s = SqliteStore::open_in_memory(fp()).unwrap();
    s.ingest_all(hashed(), &mut |_| {}).unwrap();
    let current = s.current_exports().unwrap();
    assert_eq!(current.len(), 4, "{current:?}");
    let report = &current["report.csv"];
    assert_eq!((report.scope.as_str(), report.facts), ("report:1111", 2));
    let unparsed = |path: &str, sha: &str| {
        let e = &current[path];
        let mut b = batch(path, &e.scope, vec![]);
        b.sha256 = Some(sha.into());
        b.unparsed = Some(e.facts);
        b
    };
    let before = s.stats().unwrap();
    let r = s
        .ingest_all(vec![unparsed("report.csv", "same-0")], &mut |_| {})
        .unwrap();
    assert_eq!((r.files_unchanged, r.nodes_retired), (1, 0));
    assert_eq!(s.stats().unwrap().assertions, before.assertions);
    let id = s.find(&key_id()).unwrap().unwrap();
    assert_eq!(s.node(id).unwrap().unwrap().last_snapshot, Some(2));
    // It stays the scope's current export (its row counts the facts it holds).
    assert_eq!(s.current_exports().unwrap()["report.csv"].sha256, "same-0");
    // A hash that no longer matches is refused, and nothing is written.
    let err = s
        .ingest_all(vec![unparsed("report.csv", "other")], &mut |_| {})
        .unwrap_err();
    assert!(err.to_string().contains("run the ingest again"), "{err}");
    assert_eq!(s.stats().unwrap().snapshots, 2);
    assert!(!s.node(id).unwrap().unwrap().brief.retired);
}

/// What [`Store::scan_graph`] hands over: nodes with their properties' text,
/// keys and edges, in a comparable form.
type Scanned = (
    Vec<(i64, String, String)>,
    Vec<(i64, String)>,
    Vec<(i64, i64, String, i64, String)>,
);

fn scanned(s: &SqliteStore, concurrent: bool) -> Scanned {
    let (mut nodes, mut keys, mut edges) = (Vec::new(), Vec::new(), Vec::new());
    let mut node = |n: custody_store::GraphNode| {
        nodes.push((n.id, n.key, serde_json::to_string(&n.props).unwrap()))
    };
    let mut key = |id: i64, k: &str| keys.push((id, k.to_string()));
    let mut edge = |e: custody_store::GraphEdge| {
        edges.push((
            e.id,
            e.src,
            e.kind,
            e.dst,
            serde_json::to_string(&e.props).unwrap(),
        ))
    };
    if concurrent {
        s.scan_graph_concurrent(&mut node, &mut key, &mut edge)
            .unwrap();
    } else {
        s.scan_graph(&mut node, &mut key, &mut edge).unwrap();
    }
    // Nodes come in id order, whichever connection read them.
    assert!(nodes.windows(2).all(|w| w[0].0 < w[1].0), "{nodes:?}");
    keys.sort();
    edges.sort();
    (nodes, keys, edges)
}

#[test]
fn the_graph_read_on_two_connections_is_the_graph_read_on_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open(&dir.path().join("g.db"), fp()).unwrap();
    s.ingest_all(three_sources(), &mut |_| {}).unwrap();
    let one = scanned(&s, false);
    assert!(!one.0.is_empty() && !one.1.is_empty() && !one.2.is_empty());
    assert!(one
        .0
        .iter()
        .any(|(_, _, props)| props.contains("last_used")));
    assert_eq!(scanned(&s, true), one);
    // In memory there is no second connection: the same, on one thread.
    let mut m = SqliteStore::open_in_memory(fp()).unwrap();
    m.ingest_all(three_sources(), &mut |_| {}).unwrap();
    assert_eq!(scanned(&m, true), scanned(&m, false));
}

#[test]
fn compacting_gives_free_pages_back_and_changes_nothing_held() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let mut s = SqliteStore::open(&path, fp()).unwrap();
    s.ingest_all(three_sources(), &mut |_| {}).unwrap();
    // Rows written and then replaced by none leave free pages behind.
    let rows: Vec<NetworkRangeRow> = (0..20_000)
        .map(|i| NetworkRangeRow {
            source: "office".into(),
            format: "toml".into(),
            published: None,
            cidr: format!("10.{}.{}.0/24", i / 256, i % 256),
            name: format!("a long enough name for office network number {i}"),
            loaded_at: String::new(),
            loaded_by: "test".into(),
        })
        .collect();
    s.network_ranges_replace("office", &rows).unwrap();
    s.network_ranges_replace("office", &[]).unwrap();
    let before = s.stats().unwrap();
    let id = s.find(&key_id()).unwrap();
    let c = s.compact().unwrap();
    assert!(c.free_bytes_before > 1_000_000, "{c:?}");
    assert!(
        c.bytes_after + c.free_bytes_before / 2 <= c.bytes_before,
        "{c:?}"
    );
    let after = s.stats().unwrap();
    assert_eq!(
        (
            before.nodes,
            before.edges,
            before.assertions,
            before.sources
        ),
        (after.nodes, after.edges, after.assertions, after.sources)
    );
    assert_eq!(s.find(&key_id()).unwrap(), id);
    drop(s);
    // The write-ahead log went back into the file.
    let wal = dir.path().join("c.db-wal");
    assert!(std::fs::metadata(&wal).map_or(0, |m| m.len()) == 0);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), c.bytes_after);
}
