//! People: who a person is in the estate (manager, reports, teams), what they
//! own and created, and — for a leaver — where each of those goes. The web
//! UI's People page and `/v1/people` read this; `custody offboard` prints the
//! same [`Offboarding`] and its CSV rows come from [`offboarding_csv`].

use crate::owner::{self, Offboarding, PartyOut};
use anyhow::Result;
use custody_analysis::attribution::Party;
use custody_analysis::ownership::{Ownership, Standing};
use custody_query::{Graph, MemGraph};
use custody_store::Store;
use serde::Serialize;
use serde_json::{Map, Value};

/// One person's page.
#[derive(Debug, Serialize)]
pub struct PersonView {
    pub person: PartyOut,
    /// What the roster and the IdP say of them (title, department, status,
    /// dates…).
    pub props: Map<String, Value>,
    pub manager: Option<PartyOut>,
    /// Their direct reports.
    pub reports: Vec<PartyOut>,
    /// The groups and teams they belong to.
    pub groups: Vec<String>,
    /// Every identity they own or created, with who takes it over when they
    /// leave (for a leaver: their offboarding).
    pub holdings: Offboarding,
}

/// A person who left, for the People page's list.
#[derive(Debug, Serialize)]
pub struct Leaver {
    pub person: PartyOut,
    pub manager: Option<PartyOut>,
    /// Identities that name them (owner or creator evidence).
    pub identities: usize,
}

/// The page of the person `id` (a Human node).
pub fn person(
    o: &Ownership,
    graph: &MemGraph,
    store: &dyn Store,
    id: i64,
    blast: &dyn Fn(i64, &str) -> Option<String>,
) -> Result<Option<PersonView>> {
    let Some(p) = o.people.get(&id) else {
        return Ok(None);
    };
    let mut props = Map::new();
    let mut groups = Vec::new();
    if let Some(n) = graph.node(id)? {
        props = n.props.map().clone();
    }
    for e in graph.edges(id)?.iter() {
        if e.from == id && e.kind == "MEMBER_OF" {
            if let Some(g) = graph.node(e.to)? {
                groups.push(g.name.clone().unwrap_or_else(|| g.key.clone()));
            }
        }
    }
    groups.sort();
    groups.dedup();
    let mut reports: Vec<(i64, PartyOut)> = o
        .people
        .iter()
        .filter(|(_, x)| x.manager == Some(id))
        .map(|(r, _)| (*r, owner::party(o, Party::Person(*r))))
        .collect();
    reports.sort_by(|a, b| a.1.label().cmp(&b.1.label()).then(a.0.cmp(&b.0)));
    Ok(Some(PersonView {
        person: owner::party(o, Party::Person(id)),
        props,
        manager: p.manager.map(|m| owner::party(o, Party::Person(m))),
        reports: reports.into_iter().map(|(_, p)| p).collect(),
        groups,
        holdings: owner::offboard(o, store, id, blast)?,
    }))
}

/// Everyone who left and is still named by an identity, most identities
/// first.
pub fn leavers(o: &Ownership) -> Vec<Leaver> {
    let mut out: Vec<Leaver> = o
        .people
        .iter()
        .filter(|(_, p)| p.standing == Standing::Left)
        .map(|(id, p)| Leaver {
            person: owner::party(o, Party::Person(*id)),
            manager: p.manager.map(|m| owner::party(o, Party::Person(m))),
            identities: o.naming(*id).len(),
        })
        .filter(|l| l.identities > 0)
        .collect();
    out.sort_by(|a, b| {
        b.identities
            .cmp(&a.identities)
            .then_with(|| a.person.label().cmp(&b.person.label()))
    });
    out
}

/// The columns of the offboarding CSV.
pub const OFFBOARDING_COLUMNS: [&str; 14] = [
    "person",
    "identity",
    "kind",
    "system",
    "relation",
    "confidence",
    "evidence",
    "surfaces",
    "last_used",
    "used_after_leaving",
    "blast_radius",
    "action",
    "new_owner",
    "why",
];

/// The offboarding reports as CSV rows (one per identity), under
/// [`OFFBOARDING_COLUMNS`].
pub fn offboarding_rows(reports: &[&Offboarding]) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for r in reports {
        for h in &r.identities {
            rows.push(vec![
                r.person.label(),
                h.identity.key.clone(),
                h.identity.kind.clone(),
                h.system.clone(),
                h.relation.clone(),
                format!("{:.2}", h.confidence),
                h.evidence
                    .iter()
                    .map(|e| format!("{}: {}", e.method, e.said))
                    .collect::<Vec<_>>()
                    .join("; "),
                h.surfaces.join("; "),
                h.last_used.clone().unwrap_or_default(),
                h.used_after_leaving.to_string(),
                h.blast_radius.clone().unwrap_or_default(),
                h.action.clone(),
                h.to.as_ref().map(|p| p.label()).unwrap_or_default(),
                h.why.clone(),
            ]);
        }
    }
    rows
}

/// A CSV document: `headers`, then `rows`. Cells a spreadsheet would run as
/// a formula (`=`, `+`, `-`, `@` first) are quoted with a leading `'`.
pub fn csv(headers: &[&str], rows: &[Vec<String>]) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(headers)?;
    for r in rows {
        w.write_record(r.iter().map(|c| defuse(c).into_owned()))?;
    }
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(String::from_utf8(bytes)?)
}

/// Keeps a cell from being read as a formula by a spreadsheet.
fn defuse(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        Some('-') if cell.len() > 1 && !cell[1..].starts_with(|c: char| c.is_ascii_digit()) => {
            format!("'{cell}").into()
        }
        _ => cell.into(),
    }
}

/// The offboarding CSV of `reports`.
pub fn offboarding_csv(reports: &[&Offboarding]) -> Result<String> {
    csv(&OFFBOARDING_COLUMNS, &offboarding_rows(reports))
}

#[cfg(test)]
mod tests {
    #[test]
    fn formulas_are_defused() {
        let out = super::csv(
            &["a", "b", "c"],
            &[vec!["=HYPERLINK(1)".into(), "-5".into(), "@x".into()]],
        )
        .unwrap();
        assert_eq!(out, "a,b,c\n'=HYPERLINK(1),-5,'@x\n");
    }
}
