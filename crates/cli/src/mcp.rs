//! `custody mcp`: a Model Context Protocol server on stdio, so AI assistants
//! (Claude Desktop, Cursor, VS Code) can ask the graph questions. Built on the
//! official Rust SDK (`rmcp`). Every tool is read-only; results are bounded and,
//! like everything custody prints, never contain a secret value (the store holds
//! fingerprints and previews only). Queries run on an in-memory copy of the
//! graph, loaded on the first one (seconds for a 10,000-person company), so
//! each question after that takes milliseconds.

use crate::{blast, paths, show, Cli};
use anyhow::{Context, Result};
use clap::Args;
use custody_analysis::reach::Model;
use custody_query::{Limits, MemGraph};
use custody_store::{SqliteStore, Store};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{Implementation, ServerCapabilities, ServerConfig};
use rmcp::{schemars, tool, tool_handler, tool_router, ServerHandler, ServiceExt};
use serde_json::{json, Map, Value};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

#[derive(Args)]
pub struct McpArgs {
    /// At most this many rows from `run_query` and `ask`.
    #[arg(long, default_value_t = 1000)]
    pub max_rows: usize,
    /// Stop a query after this many seconds.
    #[arg(long, default_value_t = 20.0)]
    pub timeout: f64,
}

#[derive(Clone)]
struct Custody {
    store: Arc<Mutex<SqliteStore>>,
    /// The AWS reach model, loaded on the first blast-radius question.
    model: Arc<OnceLock<Model>>,
    /// The whole graph in memory, loaded on the first query.
    graph: Arc<OnceLock<MemGraph>>,
    limits: Limits,
    #[allow(dead_code)] // read by the tool_handler macro
    tool_router: ToolRouter<Custody>,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct Reference {
    /// An access key id (AKIA…), ARN, e-mail, natural key (`kind:value`, e.g.
    /// `aws-access-key:AKIA…`, `email:ana@corp.example`) or node id.
    reference: String,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct QueryRequest {
    /// A read-only openCypher query, e.g. `MATCH (k:Credential)-[:STORED_IN]->(l)
    /// RETURN k.key, count(l) AS places ORDER BY places DESC LIMIT 10`. Labels:
    /// Credential, Principal, Agent, Human, Group, Location, Workload, Resource
    /// (or a kind such as aws_access_key); node properties: key, kind, name,
    /// system and the merged properties.
    query: String,
    /// Values for `$name` parameters.
    #[serde(default)]
    params: Map<String, Value>,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct AskRequest {
    /// One of: outside-vaults, leavers-active-keys, owned-by, surfaces, agents, stale-keys.
    name: String,
    /// Parameters the question takes (owned-by: person; surfaces: credential; stale-keys: before).
    #[serde(default)]
    params: Map<String, Value>,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct SearchRequest {
    /// Text the key or name contains (case-sensitive), e.g. `reporting` or `AKIA`.
    text: String,
    /// A label (Credential, Principal, Agent, Human, Group, Location, Workload,
    /// Resource) or a kind (aws_access_key, aws_iam_role…) to search in.
    label: String,
    /// At most this many results (default 50).
    #[serde(default)]
    limit: Option<usize>,
}

fn text(v: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn error(message: impl std::fmt::Display) -> String {
    text(&json!({"error": message.to_string()}))
}

impl Custody {
    fn with_store<T>(&self, f: impl FnOnce(&SqliteStore) -> Result<T>) -> Result<T> {
        let store = self
            .store
            .lock()
            .map_err(|_| anyhow::anyhow!("the store lock is poisoned"))?;
        f(&store)
    }

    fn find(&self, store: &SqliteStore, reference: &str) -> Result<i64> {
        store.find(reference)?.with_context(|| {
            format!("nothing matches `{reference}`: give an access key id, ARN, e-mail, natural key (`kind:value`) or node id")
        })
    }

    fn query(&self, text: &str, params: &Map<String, Value>) -> String {
        let limits = self.limits.clone();
        let r = self.with_store(|store| {
            if self.graph.get().is_none() {
                let _ = self.graph.set(MemGraph::load(store)?);
            }
            let graph = self.graph.get().context("the graph did not load")?;
            custody_query::run(graph, text, params, limits).map_err(anyhow::Error::from)
        });
        match r {
            Ok(r) => text_rows(&r),
            Err(e) => error(e),
        }
    }
}

fn text_rows(r: &custody_query::QueryResult) -> String {
    text(&json!({"columns": r.columns, "rows": r.rows, "row_count": r.rows.len()}))
}

#[tool_router]
impl Custody {
    #[tool(
        description = "One identity (credential, principal, agent, human, location…) by reference: what it is, every key, every edge (surfaces, owner, principal), lineage and the sources that said each thing. Never includes secret values."
    )]
    fn get_identity(&self, Parameters(r): Parameters<Reference>) -> String {
        let out = self.with_store(|store| {
            let id = self.find(store, &r.reference)?;
            Ok(serde_json::to_value(show::build(store, id)?)?)
        });
        match out {
            Ok(v) => text(&v),
            Err(e) => error(e),
        }
    }

    #[tool(
        description = "Who owns an identity: the accountable humans with their employment status, manager, the evidence and its confidence."
    )]
    fn owner_of(&self, Parameters(r): Parameters<Reference>) -> String {
        let out = self.with_store(|store| {
            let id = self.find(store, &r.reference)?;
            let shown = show::build(store, id)?;
            Ok(json!({"identity": shown.node.brief.key, "owners": shown.lineage.owners}))
        });
        match out {
            Ok(v) => text(&v),
            Err(e) => error(e),
        }
    }

    #[tool(
        description = "What an AWS credential, IAM user or role, or workload can reach: resources ranked by sensitivity, with the role chain and policy that grant each, and privilege-escalation paths."
    )]
    fn blast_radius(&self, Parameters(r): Parameters<Reference>) -> String {
        let out = self.with_store(|store| {
            let id = self.find(store, &r.reference)?;
            if self.model.get().is_none() {
                let (model, _) = blast::load(store, true)?;
                let _ = self.model.set(model);
            }
            let model = self.model.get().context("the reach model did not load")?;
            let start = model.start(id);
            if start.is_empty() {
                anyhow::bail!(
                    "`{}` is not an AWS credential, IAM user or role, or workload with an execution role that custody has inventoried",
                    r.reference
                );
            }
            Ok(serde_json::to_value(blast::describe(model, &r.reference, &model.blast_radius(&start)))?)
        });
        match out {
            Ok(v) => text(&v),
            Err(e) => error(e),
        }
    }

    #[tool(
        description = "Find identities whose key or name contains a text, within one label or kind. Returns id, label, kind, key and name."
    )]
    fn search_identities(&self, Parameters(s): Parameters<SearchRequest>) -> String {
        let limit = s.limit.unwrap_or(50).min(self.limits.max_rows);
        let mut params = Map::new();
        params.insert("t".into(), json!(s.text));
        let label: String = s
            .label
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        self.query(
            &format!(
                "MATCH (n:`{label}`) WHERE n.key CONTAINS $t OR n.name CONTAINS $t
                 RETURN id(n) AS id, n.label AS label, n.kind AS kind, n.key AS key, n.name AS name
                 ORDER BY key LIMIT {limit}"
            ),
            &params,
        )
    }

    #[tool(
        description = "Run a read-only openCypher query over the identity graph (MATCH, OPTIONAL MATCH, WHERE, WITH, RETURN, ORDER BY, SKIP, LIMIT, count/collect/min/max, variable-length paths). Edges: AUTHENTICATES_AS, STORED_IN, OWNED_BY, CAN_ASSUME, HOLDS, USED_BY, MEMBER_OF, REPORTS_TO, HAS_POLICY, DEFINED_IN, RUNS_AS. Start patterns from a label or a key. Writes are refused."
    )]
    fn run_query(&self, Parameters(q): Parameters<QueryRequest>) -> String {
        self.query(&q.query, &q.params)
    }

    #[tool(
        description = "Answer a saved question: outside-vaults (credentials stored outside a vault), leavers-active-keys (people who left while their identities' keys are active), owned-by (person), surfaces (credential), agents (AI agents and the credentials they hold), stale-keys (before)."
    )]
    fn ask(&self, Parameters(a): Parameters<AskRequest>) -> String {
        let Some(saved) = custody_query::saved::find(&a.name) else {
            let names: Vec<&str> = custody_query::saved::SAVED.iter().map(|s| s.name).collect();
            return error(format!(
                "no saved question `{}`; there are: {}",
                a.name,
                names.join(", ")
            ));
        };
        let mut params = a.params;
        for (p, meaning, default) in saved.params {
            if !params.contains_key(*p) {
                match default {
                    Some(d) => {
                        params.insert(p.to_string(), json!(crate::query::default_value(d)));
                    }
                    None => {
                        return error(format!(
                            "`{}` needs the parameter `{p}` ({meaning})",
                            a.name
                        ))
                    }
                }
            }
        }
        self.query(saved.text, &params)
    }
}

#[tool_handler]
impl ServerHandler for Custody {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("custody", env!("CARGO_PKG_VERSION")))
            .with_instructions(
            "custody: one graph of every non-human identity (cloud keys and roles, tokens, service accounts, AI agents), where each is stored, who owns it and what it can reach. Start with `ask` or `search_identities`, then `get_identity`, `owner_of` and `blast_radius`; `run_query` for anything else. Read-only; secret values are never returned.",
        )
    }
}

pub fn run(cli: &Cli, a: &McpArgs) -> Result<ExitCode> {
    let store = paths::open_existing(cli)?;
    let server = Custody {
        store: Arc::new(Mutex::new(store)),
        model: Arc::new(OnceLock::new()),
        graph: Arc::new(OnceLock::new()),
        limits: Limits {
            timeout: Duration::from_secs_f64(a.timeout.max(0.001)),
            max_rows: a.max_rows,
            ..Limits::default()
        },
        tool_router: Custody::tool_router(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let service = server
            .serve(rmcp::transport::stdio())
            .await
            .context("the MCP handshake failed")?;
        service.waiting().await.context("the MCP server stopped")?;
        Ok::<(), anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}
