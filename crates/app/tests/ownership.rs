//! The scoped ownership load (`owner::load_for`, what alerts, blast radius
//! and response plans use) and the load from the in-memory graph
//! (`owner::from_graph`, what posture and the server use) attribute every
//! identity exactly as the full load (`owner::load`, what `custody owner`,
//! orphans and offboarding use),
//! on a synthetic company with every kind of evidence: tags, owner fields,
//! creators from CloudTrail, handles, teams, Terraform authors and CODEOWNERS.

use custody_app::{demo, owner, Quiet};
use custody_model::Fingerprinter;
use custody_store::SqliteStore;

#[test]
fn the_scoped_load_attributes_like_the_full_load() {
    let dir = tempfile::tempdir().unwrap();
    let fp = Fingerprinter::new(&[7u8; 32]).unwrap();
    let mut store = SqliteStore::open(&dir.path().join("c.db"), fp).unwrap();
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let d = demo::run(
        &mut store,
        &dir.path().join("snapshot"),
        60,
        7,
        as_of,
        &Quiet,
    )
    .unwrap();
    assert!(d.checks.leaver, "the planted leaver is attributed");
    let full = owner::load(&store, &Quiet).unwrap();
    let ids: Vec<i64> = full.identities.iter().map(|d| d.id).collect();
    assert!(ids.len() > 1000, "{} identities", ids.len());
    let same = |scoped: &custody_analysis::ownership::Ownership, id: i64| {
        let (a, b) = (full.attribute(id), scoped.attribute(id));
        let label = |o: &custody_analysis::ownership::Ownership, p| o.label(p);
        assert_eq!(a.status, b.status, "identity {id}");
        assert_eq!(a.confidence, b.confidence, "identity {id}");
        assert_eq!(
            a.owner.map(|p| label(&full, p)),
            b.owner.map(|p| label(scoped, p)),
            "identity {id}"
        );
        let said = |x: &custody_analysis::attribution::Attribution| -> Vec<String> {
            x.evidence
                .iter()
                .map(|e| format!("{} {}", e.method.as_str(), e.said))
                .collect()
        };
        assert_eq!(said(&a), said(&b), "identity {id}");
    };
    // From the in-memory graph, as the posture run and the server ask.
    let graph = custody_query::MemGraph::load(&store).unwrap();
    let from_graph = owner::from_graph(&graph, &store).unwrap();
    assert_eq!(from_graph.identities.len(), full.identities.len());
    assert_eq!(from_graph.people.len(), full.people.len());
    for &id in &ids {
        same(&from_graph, id);
    }
    // Only the credentials, as the ownership rule asks.
    let creds = owner::credentials_from_graph(&graph, &store).unwrap();
    let mut n = 0;
    for d in full.identities.iter().filter(|d| d.label == "Credential") {
        same(&creds, d.id);
        n += 1;
    }
    assert!(n > 500, "{n} credentials");
    // In batches, as alerts and blast radius ask.
    for chunk in ids.chunks(400) {
        let scoped = owner::load_for(&store, chunk).unwrap();
        for &id in chunk {
            same(&scoped, id);
        }
    }
    // One at a time, as a response plan asks.
    for &id in ids.iter().step_by(97) {
        same(&owner::load_for(&store, &[id]).unwrap(), id);
    }
}
