//! `custody query 'MATCH …'`: the read-only Cypher subset (custody-query) over
//! the stored graph, as a table or JSON.

use crate::global::{Global, OutputFormat};
use crate::{output, paths};
use anyhow::{Context, Result};
use clap::Args;
use custody_query::{Limits, StoreGraph};
use serde_json::{Map, Value};
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct QueryArgs {
    /// The query, e.g. "MATCH (k:Credential)-[:STORED_IN]->(l) RETURN k.key, count(l) AS places
    /// ORDER BY places DESC LIMIT 10" (docs/QUERY.md). Read-only: writing clauses are refused.
    #[arg(value_name = "QUERY")]
    pub query: String,
    /// A parameter, `name=value` (used as `$name`); the value is JSON if it parses
    /// as JSON (`n=3`, `xs=["a","b"]`), else a string.
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 30.0)]
    pub timeout: f64,
    /// At most this many result rows (more is an error: add LIMIT).
    #[arg(long, default_value_t = 10_000)]
    pub max_rows: usize,
    /// Let a pattern with no key, label or bound variable scan every node.
    #[arg(long)]
    pub allow_full_scan: bool,
}

fn params(list: &[String]) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for p in list {
        let (k, v) = p
            .split_once('=')
            .with_context(|| format!("--param {p}: expected NAME=VALUE"))?;
        let v = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()));
        out.insert(k.trim_start_matches('$').to_string(), v);
    }
    Ok(out)
}

/// A value in a table cell: nodes as `Label kind key`, relationships by type.
fn cell(v: &Value) -> String {
    match v {
        Value::Object(o) if o.contains_key("label") && o.contains_key("key") => format!(
            "{} {} {}",
            o["label"].as_str().unwrap_or_default(),
            o["kind"].as_str().unwrap_or_default(),
            o["key"].as_str().unwrap_or_default()
        ),
        Value::Object(o) if o.contains_key("type") && o.contains_key("from") => {
            format!("[:{}]", o["type"].as_str().unwrap_or_default())
        }
        Value::Array(xs) => format!("[{}]", xs.iter().map(cell).collect::<Vec<_>>().join(", ")),
        other => output::cell(other),
    }
}

#[derive(Args)]
pub struct AskArgs {
    /// The saved question (omit to list them).
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// A parameter the question takes, `name=value`.
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Print the question's query instead of running it.
    #[arg(long)]
    pub show: bool,
    /// Measure instead of answering: run every saved question (or NAME) N times,
    /// plus N key lookups, and print p50/p99 latency.
    #[arg(long, value_name = "N")]
    pub measure: Option<usize>,
    /// With --measure: load the whole graph into memory first (as `custody mcp`
    /// does) and measure queries against it; prints the load time.
    #[arg(long)]
    pub memory: bool,
}

/// The p-th percentile (0–100) of sorted milliseconds.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Latency of saved questions and key lookups on the stored graph.
fn measure(cli: &Global, only: Option<&str>, n: usize, memory: bool) -> Result<ExitCode> {
    use custody_query::saved::SAVED;
    use custody_store::{ListFilter, Store};
    let store = paths::open_existing(cli)?;
    let n = n.max(1);
    // Sample references for the questions that take one, and for key lookups.
    let sample = |label: &str| -> Result<Vec<String>> {
        let all = store.list(&ListFilter {
            label: Some(label.into()),
            limit: 0,
            ..Default::default()
        })?;
        let step = (all.len() / n).max(1);
        Ok(all
            .iter()
            .step_by(step)
            .take(n)
            .map(|b| b.key.clone())
            .collect())
    };
    let credentials = sample("Credential")?;
    let people = sample("Human")?;
    let mut rows_out = Vec::new();
    let mut json_rows = Vec::new();
    // (question, query text, one parameter set per run)
    type Case<'q> = (String, &'q str, Vec<Map<String, Value>>);
    let mut cases: Vec<Case> = Vec::new();
    for s in SAVED.iter().filter(|s| only.is_none_or(|o| o == s.name)) {
        let mut runs = Vec::new();
        for i in 0..n {
            let mut p = Map::new();
            for (name, _, default) in s.params {
                let v = match (*name, default) {
                    ("credential", _) => credentials
                        .get(i % credentials.len().max(1))
                        .cloned()
                        .unwrap_or_default(),
                    ("person", _) => people
                        .get(i % people.len().max(1))
                        .cloned()
                        .unwrap_or_default(),
                    (_, Some(d)) => custody_query::saved::default_value(d),
                    _ => String::new(),
                };
                p.insert(name.to_string(), Value::String(v));
            }
            runs.push(p);
        }
        cases.push((s.name.to_string(), s.text, runs));
    }
    if only.is_none() {
        let runs = credentials
            .iter()
            .map(|k| {
                let mut p = Map::new();
                p.insert("k".into(), Value::String(k.clone()));
                p
            })
            .collect();
        cases.push((
            "key lookup".into(),
            "MATCH (n) WHERE n.key = $k RETURN n",
            runs,
        ));
    }
    let mem = if memory {
        let t = Instant::now();
        let g = custody_query::MemGraph::load(&store)?;
        eprintln!(
            "loaded {} nodes and {} edges into memory in {:.1}s",
            g.node_count(),
            g.edge_count(),
            t.elapsed().as_secs_f64()
        );
        Some(g)
    } else {
        None
    };
    for (name, text, runs) in cases {
        let mut ms = Vec::with_capacity(runs.len());
        let mut rows = 0;
        for p in &runs {
            // From the store: a fresh graph each time, no cache carried over.
            let fresh = StoreGraph::new(&store);
            let graph: &dyn custody_query::Graph = match &mem {
                Some(g) => g,
                None => &fresh,
            };
            let t = Instant::now();
            let r = custody_query::run(graph, text, p, Limits::default())
                .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            rows = rows.max(r.rows.len());
        }
        ms.sort_by(|a, b| a.total_cmp(b));
        let (p50, p99) = (percentile(&ms, 50.0), percentile(&ms, 99.0));
        rows_out.push(vec![
            name.clone(),
            ms.len().to_string(),
            format!("{p50:.2}"),
            format!("{p99:.2}"),
            rows.to_string(),
        ]);
        json_rows.push(serde_json::json!({"question": name, "runs": ms.len(), "p50_ms": p50, "p99_ms": p99, "max_rows": rows}));
    }
    match cli.format {
        OutputFormat::Json => output::json(&json_rows)?,
        OutputFormat::Table => {
            output::table(&["QUESTION", "RUNS", "P50 MS", "P99 MS", "ROWS"], &rows_out)
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn ask(cli: &Global, a: &AskArgs) -> Result<ExitCode> {
    use custody_app::questions;
    use custody_query::saved::SAVED;
    if let Some(n) = a.measure {
        return measure(cli, a.name.as_deref(), n, a.memory);
    }
    let Some(name) = &a.name else {
        let rows: Vec<Vec<String>> = SAVED
            .iter()
            .map(|s| {
                let params: Vec<String> =
                    s.params.iter().map(|(p, _, _)| format!("{p}=…")).collect();
                vec![s.name.to_string(), s.question.to_string(), params.join(" ")]
            })
            .collect();
        output::table(&["NAME", "QUESTION", "PARAMETERS"], &rows);
        return Ok(ExitCode::SUCCESS);
    };
    let saved = questions::find(name).map_err(anyhow::Error::msg)?;
    if a.show {
        if questions::is_computed(name) {
            println!("# custody answers `{name}` itself (a query cannot see the audit logs' last use); this query is the credential report's part of it:");
        }
        println!("{}", saved.text);
        return Ok(ExitCode::SUCCESS);
    }
    let given = params(&a.params)?;
    if let Some((p, meaning, _)) = saved
        .params
        .iter()
        .find(|(p, _, d)| d.is_none() && !given.contains_key(*p))
    {
        anyhow::bail!("`{name}` needs --param {p}=… ({meaning})");
    }
    let store = paths::open_existing(cli)?;
    let graph = StoreGraph::new(&store);
    let started = Instant::now();
    let result = questions::answer(&store, &graph, None, name, given, Limits::default());
    print_result(cli, result.map_err(|e| e.to_string()), started)
}

pub fn run(cli: &Global, a: &QueryArgs) -> Result<ExitCode> {
    let limits = Limits {
        timeout: Duration::from_secs_f64(a.timeout.max(0.001)),
        max_rows: a.max_rows,
        allow_full_scan: a.allow_full_scan,
        ..Limits::default()
    };
    execute(cli, &a.query, params(&a.params)?, limits)
}

fn execute(
    cli: &Global,
    text: &str,
    params: Map<String, Value>,
    limits: Limits,
) -> Result<ExitCode> {
    let store = paths::open_existing(cli)?;
    let graph = StoreGraph::new(&store);
    let started = Instant::now();
    let result = custody_app::reach_query::run(&store, &graph, None, text, &params, limits);
    print_result(cli, result.map_err(|e| e.to_string()), started)
}

fn print_result(
    cli: &Global,
    result: std::result::Result<custody_query::QueryResult, String>,
    started: Instant,
) -> Result<ExitCode> {
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    match cli.format {
        OutputFormat::Json => output::json(&serde_json::json!({
            "columns": result.columns, "rows": result.rows, "milliseconds": ms,
        }))?,
        OutputFormat::Table => {
            let headers: Vec<&str> = result.columns.iter().map(String::as_str).collect();
            let rows: Vec<Vec<String>> = result
                .rows
                .iter()
                .map(|r| {
                    result
                        .columns
                        .iter()
                        .map(|c| r.get(c).map(cell).unwrap_or_default())
                        .collect()
                })
                .collect();
            if !rows.is_empty() {
                output::table(&headers, &rows);
            }
            if !cli.quiet {
                eprintln!("{} row(s) in {ms:.1} ms", rows.len());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
