//! The saved questions (`custody ask`, `GET /v1/ask/{name}`, the MCP `ask`
//! tool): the queries of `custody-query`'s catalogue, and the questions a
//! query cannot answer alone, answered here in code with the same
//! parameters and a table of the same shape. Every surface asks through
//! [`answer`], so a question has one answer whichever surface asks it.
//!
//! Answered in code:
//! - `stale-keys`: active access keys unused since a date, from the audit
//!   logs' last use and the credential report's, whichever is later — the
//!   same definition as `custody stale` ([`crate::usage::stale_keys`]).
//! - `leavers-active-keys`: people who left while credentials they are
//!   accountable for are active — the `owner-left` finding's definition
//!   ([`crate::posture::left_behind`]), grouped by person.

use anyhow::Result;
use custody_analysis::ownership::Ownership;
use custody_query::saved::{self, Saved};
use custody_query::{Graph, Limits, QueryResult};
use custody_store::Store;
use serde_json::{json, Map, Value};

/// The questions answered in code rather than by their query text.
const COMPUTED: [&str; 2] = ["stale-keys", "leavers-active-keys"];

/// Whether `name` is answered in code (its query text is then only a
/// sketch of the question: `custody ask --show` says so).
pub fn is_computed(name: &str) -> bool {
    COMPUTED.contains(&name)
}

/// The question `name`, or an error naming every question.
pub fn find(name: &str) -> std::result::Result<&'static Saved, String> {
    saved::find(name)
        .ok_or_else(|| format!("no saved question `{name}`; there are: {}", saved::names()))
}

/// Every saved question as the surfaces list them: name, question,
/// parameters (name, meaning, default), and how it is answered.
pub fn listing() -> Value {
    Value::Array(
        saved::SAVED
            .iter()
            .map(|s| {
                json!({
                    "name": s.name,
                    "question": s.question,
                    "tags": s.tags,
                    "query": s.text.lines().map(str::trim).collect::<Vec<_>>().join("\n"),
                    "params": s.params.iter().map(|(p, meaning, default)| json!({
                        "name": p, "meaning": meaning, "default": default,
                    })).collect::<Vec<_>>(),
                    "answered_by": if is_computed(s.name) { "custody" } else { "query" },
                })
            })
            .collect(),
    )
}

/// Why a question could not be answered.
#[derive(Debug)]
pub enum AskError {
    /// Unknown question, missing or malformed parameter.
    BadRequest(String),
    /// The query failed (limits, store).
    Query(custody_query::QueryError),
    Internal(anyhow::Error),
}

impl std::fmt::Display for AskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AskError::BadRequest(m) => f.write_str(m),
            AskError::Query(e) => write!(f, "{e}"),
            AskError::Internal(e) => write!(f, "{e:#}"),
        }
    }
}

impl std::error::Error for AskError {}

/// Answers the saved question `name` with `given` parameters (defaults
/// filled in; a required one missing is an error): a query over `graph`
/// within `limits`, or the computed answer over `store` (with `ownership`
/// when the caller holds it; otherwise it is loaded when needed).
pub fn answer(
    store: &dyn Store,
    graph: &dyn Graph,
    ownership: Option<&Ownership>,
    name: &str,
    given: Map<String, Value>,
    limits: Limits,
) -> std::result::Result<QueryResult, AskError> {
    let q = find(name).map_err(AskError::BadRequest)?;
    let params = saved::bind(q, given).map_err(AskError::BadRequest)?;
    match name {
        "stale-keys" => stale(store, &params).map_err(AskError::Internal),
        "leavers-active-keys" => {
            let loaded;
            let o = match ownership {
                Some(o) => o,
                None => {
                    loaded =
                        crate::owner::load(store, &crate::Quiet).map_err(AskError::Internal)?;
                    &loaded
                }
            };
            Ok(leavers(graph, o))
        }
        _ => {
            crate::reach_query::run(store, graph, None, q.text, &params, limits).map_err(
                |e| match e {
                    crate::reach_query::RunError::Query(q) => AskError::Query(q),
                    crate::reach_query::RunError::Load(e) => AskError::Internal(e),
                },
            )
        }
    }
}

/// People who left with credentials they answer for still active: one row
/// per person, most credentials first.
fn leavers(graph: &dyn Graph, o: &Ownership) -> QueryResult {
    use std::collections::BTreeMap;
    struct Row {
        left: Option<String>,
        manager: Option<String>,
        credentials: Vec<String>,
        principals: Vec<String>,
    }
    let mut by_owner: BTreeMap<String, Row> = BTreeMap::new();
    for l in crate::posture::left_behind(graph, o) {
        let row = by_owner.entry(l.owner.clone()).or_insert_with(|| Row {
            left: l.left_on.clone(),
            manager: l.manager.clone(),
            credentials: Vec::new(),
            principals: Vec::new(),
        });
        row.credentials.push(l.key.clone());
        if let Some(p) = l.through {
            if !row.principals.contains(&p) {
                row.principals.push(p);
            }
        }
    }
    let mut rows: Vec<(String, Row)> = by_owner.into_iter().collect();
    rows.sort_by(|a, b| {
        b.1.credentials
            .len()
            .cmp(&a.1.credentials.len())
            .then(a.0.cmp(&b.0))
    });
    let columns = [
        "owner",
        "left",
        "manager",
        "active_credentials",
        "principals",
    ];
    QueryResult {
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows: rows
            .into_iter()
            .take(MAX_ROWS)
            .map(|(owner, r)| {
                let mut row = Map::new();
                row.insert("owner".into(), json!(owner));
                row.insert("left".into(), json!(r.left));
                row.insert("manager".into(), json!(r.manager));
                row.insert("active_credentials".into(), json!(r.credentials.len()));
                row.insert("principals".into(), json!(r.principals));
                row
            })
            .collect(),
    }
}

/// At most this many rows of a computed answer (as the queries' `LIMIT`).
const MAX_ROWS: usize = 1000;

fn stale(store: &dyn Store, params: &Map<String, Value>) -> Result<QueryResult> {
    let before = params
        .get("before")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let cutoff = custody_model::time::parse(before)
        .ok_or_else(|| anyhow::anyhow!("`before` must be a date (YYYY-MM-DD), not `{before}`"))?
        .timestamp();
    let now = chrono::Utc::now().timestamp();
    let keys = crate::usage::stale_since(store, cutoff, now)?;
    let columns = [
        "credential",
        "created",
        "last_used",
        "according_to",
        "principal",
        "owner",
    ];
    let rows = keys
        .into_iter()
        .take(MAX_ROWS)
        .map(|k| {
            let mut row = Map::new();
            row.insert("credential".into(), json!(k.key));
            row.insert("created".into(), json!(k.created));
            row.insert("last_used".into(), json!(k.last_used));
            row.insert("according_to".into(), json!(k.evidence));
            row.insert("principal".into(), json!(k.principal));
            row.insert("owner".into(), json!(k.owners.first()));
            row
        })
        .collect();
    Ok(QueryResult {
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows,
    })
}
