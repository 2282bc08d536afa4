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

use anyhow::Result;
use custody_query::saved::{self, Saved};
use custody_query::{Graph, Limits, QueryResult};
use custody_store::Store;
use serde_json::{json, Map, Value};

/// The questions answered in code rather than by their query text.
const COMPUTED: [&str; 1] = ["stale-keys"];

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
/// within `limits`, or the computed answer over `store`.
pub fn answer(
    store: &dyn Store,
    graph: &dyn Graph,
    name: &str,
    given: Map<String, Value>,
    limits: Limits,
) -> std::result::Result<QueryResult, AskError> {
    let q = find(name).map_err(AskError::BadRequest)?;
    let params = saved::bind(q, given).map_err(AskError::BadRequest)?;
    match name {
        "stale-keys" => stale(store, &params).map_err(AskError::Internal),
        _ => custody_query::run(graph, q.text, &params, limits).map_err(AskError::Query),
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
