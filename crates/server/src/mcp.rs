//! The Model Context Protocol server, so AI assistants (Claude Desktop, Cursor,
//! VS Code) can ask the graph questions: on stdio (`custody mcp`) and as
//! streamable HTTP under `custody serve` (`/mcp`). Built on the official Rust
//! SDK (`rmcp`). Every tool is read-only; results are bounded and, like
//! everything custody prints, never contain a secret value (the store holds
//! fingerprints and previews only).

use crate::service::{self, Service};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{Implementation, ServerCapabilities, ServerConfig};
use rmcp::{schemars, tool, tool_handler, tool_router, ServerHandler, ServiceExt};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The MCP tool handler over a shared [`Service`].
#[derive(Clone)]
pub struct Mcp {
    service: Arc<Service>,
    #[allow(dead_code)] // read by the tool_handler macro
    tool_router: ToolRouter<Mcp>,
    queries: Arc<tokio::sync::Semaphore>,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct Reference {
    /// An access key id (AKIA…), ARN, e-mail, natural key (`kind:value`, e.g.
    /// `aws-access-key:AKIA…`, `email:ana@corp.example`) or node id.
    reference: String,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct BlastRequest {
    /// An access key id (AKIA…), ARN, natural key or node id of an AWS
    /// credential, IAM user or role, or workload.
    reference: String,
    /// At most this many resources, most sensitive first (default 50; 0: all).
    #[serde(default)]
    limit: Option<usize>,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct ReachRequest {
    /// The resource's ARN (e.g. `arn:aws:s3:::payroll-exports`), natural key or node id.
    resource: String,
    /// At most this many credentials, most harmful access first (default 50; 0: all).
    #[serde(default)]
    limit: Option<usize>,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct AlertsRequest {
    /// Events at or after: a duration back from now (30m, 1h, 7d, 2w, 1y) or
    /// a time (RFC 3339 or a date). Default 30d.
    #[serde(default)]
    since: Option<String>,
    /// One rule: new-region, new-network, new-user-agent, region-shift, denied-burst,
    /// dormant-reuse, impossible-travel, used-after-owner-left,
    /// leaked-credential-used.
    #[serde(default)]
    rule: Option<String>,
    /// At least this severe: low, medium, high or critical.
    #[serde(default)]
    severity: Option<String>,
    /// Only alerts about this identity (access key id, ARN, natural key…)
    /// or the principal it authenticates as.
    #[serde(default)]
    identity: Option<String>,
    /// At most this many (default 50), oldest first.
    #[serde(default)]
    limit: Option<usize>,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct FindingsRequest {
    /// At least this severe: low, medium, high or critical.
    #[serde(default)]
    severity: Option<String>,
    /// One rule: owner-left, secret-in-git-history, secret-outside-vault,
    /// ci-static-cloud-key, oidc-trust-without-subject, admin-credential,
    /// admin-equivalent, key-not-rotated, unused-active-key, credential-reused,
    /// third-party-trust-without-external-id, password-login-without-mfa,
    /// root-access-key, credential-across-environments,
    /// interactive-login-as-service-user.
    #[serde(default)]
    rule: Option<String>,
    /// Only this identity's findings (access key id, ARN, natural key…).
    #[serde(default)]
    identity: Option<String>,
    /// At most this many (default 50), most severe first.
    #[serde(default)]
    limit: Option<usize>,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct DiffRequest {
    /// The earlier snapshot: its id, `previous`, or `latest-N` (default: the
    /// one before `to`).
    #[serde(default)]
    from: Option<String>,
    /// The later snapshot: its id, `latest` (the default) or `latest-N`.
    #[serde(default)]
    to: Option<String>,
    /// At most this many entries per section (default 50; 0: all).
    #[serde(default)]
    limit: Option<usize>,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct RiskRequest {
    /// How many (default 10, at most 100), riskiest first.
    #[serde(default)]
    top: Option<usize>,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct RespondRequest {
    /// The AWS access key id (AKIA…) or natural key.
    reference: String,
    /// rotate (replace everywhere, then retire; the default), disable
    /// (deactivate, knowing what breaks) or revoke (compromised: cut access first).
    #[serde(default)]
    action: Option<String>,
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
    /// A saved question (`GET /v1/ask` lists them): outside-vaults, leavers-active-keys, owned-by, surfaces, agents, stale-keys, most-copied, in-git-history, mcp-config-credentials, ci-secrets, kubernetes-secrets, role-chains, reports-of, group-members, terminated-people.
    name: String,
    /// Parameters the question takes (owned-by: person; surfaces: credential; stale-keys: before; reports-of: manager; group-members: group).
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

/// Tool results are JSON text; errors are `{"error": …}` so the assistant can
/// read and correct them.
fn text(v: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn answer<T: serde::Serialize>(r: service::Result<T>) -> String {
    match r {
        Ok(v) => text(&v),
        Err(e) => text(&json!({"error": e.to_string()})),
    }
}

fn rows(r: service::Result<custody_query::QueryResult>) -> String {
    answer(r.map(|r| json!({"columns": r.columns, "row_count": r.rows.len(), "rows": r.rows})))
}

/// Ad-hoc queries an MCP session runs at once (`run_query`, `ask`): the rest
/// wait, so one client cannot fill memory with many heavy queries.
const QUERIES_AT_ONCE: usize = 2;

impl Mcp {
    pub fn new(service: Arc<Service>) -> Mcp {
        Mcp {
            service,
            tool_router: Mcp::tool_router(),
            queries: Arc::new(tokio::sync::Semaphore::new(QUERIES_AT_ONCE)),
        }
    }

    /// [`Mcp::blocking`] for an ad-hoc query, one of [`QUERIES_AT_ONCE`].
    async fn query<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Service) -> service::Result<T> + Send + 'static,
    ) -> service::Result<T> {
        let _permit = self.queries.clone().acquire_owned().await.map_err(|e| {
            service::Error::Internal(anyhow::anyhow!("the query queue closed: {e}"))
        })?;
        self.blocking(f).await
    }

    /// Runs blocking work off the async runtime.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Service) -> service::Result<T> + Send + 'static,
    ) -> service::Result<T> {
        let s = self.service.clone();
        tokio::task::spawn_blocking(move || f(&s))
            .await
            .unwrap_or_else(|e| {
                Err(service::Error::Internal(anyhow::anyhow!(
                    "the request failed: {e}"
                )))
            })
    }
}

#[tool_router]
impl Mcp {
    #[tool(
        description = "One identity (credential, principal, agent, human, location…) by reference: what it is, every key, every edge (surfaces, owner, principal), lineage and the sources that said each thing. Never includes secret values."
    )]
    async fn get_identity(&self, Parameters(r): Parameters<Reference>) -> String {
        answer(self.blocking(move |s| s.identity(&r.reference)).await)
    }

    #[tool(
        description = "Who owns an identity: the accountable humans with their employment status, manager, the evidence and its confidence."
    )]
    async fn owner_of(&self, Parameters(r): Parameters<Reference>) -> String {
        answer(self.blocking(move |s| s.owners(&r.reference)).await)
    }

    #[tool(
        description = "What a credential, principal, workload or agent can reach across AWS, Google Cloud, Azure and GitHub: resources ranked on one sensitivity scale, with the path of principals (role chains, impersonation, federation between clouds) and the policy, binding or role assignment that grants each."
    )]
    async fn blast_radius(&self, Parameters(r): Parameters<BlastRequest>) -> String {
        let limit = r.limit.unwrap_or(50);
        answer(
            self.blocking(move |s| s.blast_radius(&r.reference, limit))
                .await,
        )
    }

    #[tool(
        description = "Who can reach a resource (an AWS ARN, a Google Cloud full resource name, an Azure id, a Key Vault secret URI, a GitHub repository): every credential whose blast radius holds it, with its best access, the path, and its owners; most harmful first. The first call computes every principal's reach (seconds to a minute on a large estate)."
    )]
    async fn who_can_reach(&self, Parameters(r): Parameters<ReachRequest>) -> String {
        let limit = r.limit.unwrap_or(50);
        answer(
            self.blocking(move |s| s.reached_by(&r.resource, limit))
                .await,
        )
    }

    #[tool(
        description = "Posture findings (OWASP Non-Human Identities Top 10): what is wrong with which identity — owner left, secret in git history or plain text, static key in CI, OIDC trust without subject, vendor trust without ExternalId, password without MFA, root keys, admin or admin-equivalent credentials, one credential across prod and non-prod, people logging in as service users, unrotated or unused keys, reuse — with evidence and remediation, most severe first. Filter by severity, rule or identity."
    )]
    async fn list_findings(&self, Parameters(f): Parameters<FindingsRequest>) -> String {
        let filter = crate::service::FindingsFilter {
            severity: f.severity,
            rule: f.rule,
            identity: f.identity,
            limit: f.limit.unwrap_or(50),
            ..Default::default()
        };
        answer(self.blocking(move |s| s.findings(&filter)).await)
    }

    #[tool(
        description = "The riskiest non-human identities: each scored severity of its findings × (1 + kinds of place holding a copy) × (1 + log10(1 + blast-radius score)), with its findings count, places and reach (resources, critical ones, whether it can make itself an account administrator). The first call computes findings and reach (seconds to a minute on a large estate)."
    )]
    async fn riskiest_identities(&self, Parameters(r): Parameters<RiskRequest>) -> String {
        let top = r.top.unwrap_or(10);
        answer(self.blocking(move |s| s.risk(top)).await)
    }

    #[tool(
        description = "Usage anomalies from audit logs (CloudTrail, Okta, GitHub, Kubernetes, Vault, GCP, Entra): an identity used from a new region, network or client after its learning week, bursts of access-denied errors, reuse after months dormant, use after its owner left, use of a credential found in git history. Each with the event that shows it and the owners. Filter by since (30m, 1h, 7d, a time; default 30d), rule and severity."
    )]
    async fn list_alerts(&self, Parameters(a): Parameters<AlertsRequest>) -> String {
        let q = crate::service::AlertsQuery {
            since: a.since,
            rule: a.rule,
            severity: a.severity,
            identity: a.identity,
            limit: a.limit.unwrap_or(50),
        };
        answer(self.blocking(move |s| s.alerts(&q)).await)
    }

    #[tool(
        description = "How an identity was really used, from the audit logs read so far: first and last use, events, errors and denials, regions, networks, client families, actions by service, active days and hourly rhythm, for it and every credential that authenticates as it."
    )]
    async fn usage_profile(&self, Parameters(r): Parameters<Reference>) -> String {
        answer(self.blocking(move |s| s.usage(&r.reference)).await)
    }

    #[tool(
        description = "The plan to rotate, disable or revoke an AWS access key without an outage: every place it is stored and who reads each, then ordered steps with the aws/kubectl/gh command for each. Only a plan: nothing is changed."
    )]
    async fn response_plan(&self, Parameters(r): Parameters<RespondRequest>) -> String {
        let action = r.action.unwrap_or_else(|| "rotate".into());
        answer(
            self.blocking(move |s| s.respond(&r.reference, &action))
                .await,
        )
    }

    #[tool(
        description = "What changed between two snapshots of the estate (by default the two newest): new and retired identities and people, new places an existing credential was copied to and places it left, owner changes, status changes (disabled keys, people who left), new and resolved findings. Each section counted in full; `limit` entries listed."
    )]
    async fn what_changed(&self, Parameters(d): Parameters<DiffRequest>) -> String {
        let limit = d.limit.unwrap_or(50);
        answer(
            self.blocking(move |s| s.diff(d.from.as_deref(), d.to.as_deref(), limit))
                .await,
        )
    }

    #[tool(
        description = "Find identities whose key or name contains a text, within one label or kind. Returns id, label, kind, key and name."
    )]
    async fn search_identities(&self, Parameters(q): Parameters<SearchRequest>) -> String {
        let limit = q.limit.unwrap_or(50);
        rows(
            self.blocking(move |s| s.search(&q.text, &q.label, limit))
                .await,
        )
    }

    #[tool(
        description = "Run a read-only openCypher query over the identity graph (MATCH, OPTIONAL MATCH, WHERE, WITH, RETURN, ORDER BY, SKIP, LIMIT, count/collect/min/max, variable-length paths). Edges: AUTHENTICATES_AS, STORED_IN, OWNED_BY, CAN_ASSUME, HOLDS, USED_BY, MEMBER_OF, REPORTS_TO, HAS_POLICY, DEFINED_IN, RUNS_AS. Start patterns from a label or a key. Writes are refused."
    )]
    async fn run_query(&self, Parameters(q): Parameters<QueryRequest>) -> String {
        rows(self.query(move |s| s.query(&q.query, &q.params)).await)
    }

    #[tool(
        description = "Answer a saved question: outside-vaults (credentials stored outside a vault), leavers-active-keys (people who left while their identities' keys are active), owned-by (person), surfaces (credential), agents (AI agents and the credentials they hold), stale-keys (before), most-copied, in-git-history, mcp-config-credentials, ci-secrets, kubernetes-secrets, role-chains, reports-of (manager), group-members (group), terminated-people."
    )]
    async fn ask(&self, Parameters(a): Parameters<AskRequest>) -> String {
        rows(self.query(move |s| s.ask(&a.name, a.params)).await)
    }
}

#[tool_handler]
impl ServerHandler for Mcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("custody", env!("CARGO_PKG_VERSION")))
            .with_instructions(
            "custody: one graph of every non-human identity (cloud keys and roles, tokens, service accounts, AI agents), where each is stored, who owns it and what it can reach. Start with `list_findings`, `riskiest_identities`, `list_alerts`, `ask` or `search_identities`, then `get_identity`, `owner_of`, `usage_profile`, `blast_radius` and `who_can_reach`; `run_query` for anything else. Read-only; secret values are never returned.",
        )
    }
}

/// Serves MCP on stdin/stdout until the client disconnects.
pub async fn stdio(service: Arc<Service>) -> anyhow::Result<()> {
    use anyhow::Context;
    let running = Mcp::new(service)
        .serve(answered_stdio())
        .await
        .context("the MCP handshake failed")?;
    running.waiting().await.context("the MCP server stopped")?;
    Ok(())
}

/// JSON-RPC's answer to a message that is not JSON (`id` null: none can be read).
const PARSE_ERROR: &str = r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error: the message is not JSON"}}"#;

/// stdin and stdout for the MCP session, one JSON-RPC message per line, with
/// a line that is not JSON (or not UTF-8) answered with a parse error
/// (`-32700`) as JSON-RPC asks, and the session kept: the SDK's own reader
/// would end the session without a reply.
fn answered_stdio() -> (tokio::io::DuplexStream, tokio::io::DuplexStream) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let (session_in, mut feed) = tokio::io::duplex(1 << 20);
    let (session_out, from_session) = tokio::io::duplex(1 << 20);
    let (errors, mut errors_rx) = tokio::sync::mpsc::unbounded_channel::<&'static str>();
    tokio::spawn(async move {
        let mut stdin = BufReader::new(tokio::io::stdin());
        let mut line = Vec::new();
        loop {
            line.clear();
            match stdin.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => break, // end of input: the session ends
                Ok(_) => {}
            }
            let text = std::str::from_utf8(&line).map(str::trim);
            match text {
                Ok("") => continue,
                Ok(t) if serde_json::from_str::<serde::de::IgnoredAny>(t).is_ok() => {
                    if feed.write_all(t.as_bytes()).await.is_err()
                        || feed.write_all(b"\n").await.is_err()
                    {
                        break;
                    }
                }
                _ => {
                    let _ = errors.send(PARSE_ERROR);
                }
            }
        }
    });
    tokio::spawn(async move {
        let mut out = tokio::io::stdout();
        let mut lines = BufReader::new(from_session).lines();
        loop {
            let line = tokio::select! {
                l = lines.next_line() => match l {
                    Ok(Some(l)) => l,
                    _ => break,
                },
                Some(e) = errors_rx.recv() => e.to_string(),
            };
            if out.write_all(line.as_bytes()).await.is_err()
                || out.write_all(b"\n").await.is_err()
                || out.flush().await.is_err()
            {
                break;
            }
        }
    });
    (session_in, session_out)
}
