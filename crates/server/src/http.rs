//! The HTTP API (`custody serve`): REST endpoints under `/v1` and the MCP
//! server as streamable HTTP under `/mcp`, all read-only JSON.
//!
//! Every endpoint but `/v1/health` and `/v1/openapi.json` needs
//! `Authorization: Bearer <token>` or a browser session of the web UI
//! (`/ui/`, see [`crate::ui`]); the token is compared in constant time and
//! never logged. Bodies are capped, queries carry the service's time and row
//! limits, and at most `concurrency` requests work at once (the rest wait).
//! Every response carries the security headers of [`crate::ui::headers`].

use crate::mcp::Mcp;
use crate::service::{self, saved_questions, Service};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// The OpenAPI 3.1 description of this API, served at `/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// How the API is served.
#[derive(Clone, Debug)]
pub struct Options {
    /// The bearer token every authenticated request must carry.
    pub token: String,
    /// Host names (besides loopback) that `/mcp` accepts in `Host`, against
    /// DNS rebinding; needed when listening on a non-loopback address.
    pub allowed_hosts: Vec<String>,
    /// The largest request body, in bytes.
    pub max_body: usize,
    /// Requests doing work at once; the rest wait (up to `queue_timeout`).
    pub concurrency: usize,
    pub queue_timeout: Duration,
    /// The one-time code of the login link `serve` prints (valid for
    /// [`crate::ui::CODE_TTL`], once).
    pub login_code: Option<String>,
    /// Mark the session cookie `Secure`: set when listening off loopback
    /// (where TLS must be in front).
    pub secure_cookie: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            token: String::new(),
            allowed_hosts: Vec::new(),
            max_body: 1 << 20,
            concurrency: 4,
            queue_timeout: Duration::from_secs(30),
            login_code: None,
            secure_cookie: false,
        }
    }
}

#[derive(Clone)]
struct App {
    service: Arc<Service>,
    permits: Arc<Semaphore>,
    /// Ad-hoc queries at once: at most half the permits, so lighter requests
    /// are served while heavy queries run.
    heavy: Arc<Semaphore>,
    queue_timeout: Duration,
}

/// A JSON error body with its status.
fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, Json(json!({"error": message.to_string()}))).into_response()
}

fn failure(e: service::Error) -> Response {
    use service::Error::*;
    match e {
        NotFound(m) => error(StatusCode::NOT_FOUND, m),
        BadRequest(m) => error(StatusCode::BAD_REQUEST, m),
        Limit(m) => error(StatusCode::UNPROCESSABLE_ENTITY, m),
        Internal(e) => {
            tracing::error!("request failed: {e:#}");
            error(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}"))
        }
    }
}

impl App {
    /// [`App::run`] for an ad-hoc query: it first waits for one of the
    /// query permits, so queries never take every permit.
    async fn run_heavy<T: serde::Serialize + Send + 'static>(
        &self,
        f: impl FnOnce(&Service) -> service::Result<T> + Send + 'static,
    ) -> Response {
        let Ok(Ok(_heavy)) =
            tokio::time::timeout(self.queue_timeout, self.heavy.clone().acquire_owned()).await
        else {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many queries are running; try again shortly",
            );
        };
        self.run(f).await
    }

    /// Runs blocking work on the blocking pool, holding a permit.
    async fn run<T: serde::Serialize + Send + 'static>(
        &self,
        f: impl FnOnce(&Service) -> service::Result<T> + Send + 'static,
    ) -> Response {
        self.run_as(f, |v| Json(v).into_response()).await
    }

    /// [`App::run`] for a download: `text` with its content type, offered
    /// as the file `name`.
    async fn download(
        &self,
        mime: &'static str,
        name: String,
        f: impl FnOnce(&Service) -> service::Result<String> + Send + 'static,
    ) -> Response {
        self.run_as(f, move |text| {
            let disposition = format!(
                "attachment; filename=\"{}\"",
                name.replace(
                    |c: char| !c.is_ascii_alphanumeric() && !".-_".contains(c),
                    "_"
                )
            );
            let mut r = ([(header::CONTENT_TYPE, mime)], text).into_response();
            if let Ok(v) = HeaderValue::from_str(&disposition) {
                r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            r
        })
        .await
    }

    async fn run_as<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Service) -> service::Result<T> + Send + 'static,
        respond: impl FnOnce(T) -> Response,
    ) -> Response {
        let permit =
            match tokio::time::timeout(self.queue_timeout, self.permits.clone().acquire_owned())
                .await
            {
                Ok(Ok(p)) => p,
                _ => {
                    return error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the server is busy; try again shortly",
                    )
                }
            };
        let service = self.service.clone();
        let done = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f(&service)
        })
        .await;
        match done {
            Ok(Ok(v)) => respond(v),
            Ok(Err(e)) => failure(e),
            Err(e) => failure(service::Error::Internal(anyhow::anyhow!(
                "the request failed: {e}"
            ))),
        }
    }
}

/// Checks `Authorization: Bearer <token>` (in constant time) or the web
/// UI's session cookie and, for anything but a GET, its CSRF header.
async fn authenticate(
    State(sessions): State<Arc<crate::ui::Sessions>>,
    request: Request,
    next: Next,
) -> Response {
    match crate::ui::check(&sessions, &request) {
        crate::ui::Auth::Ok => next.run(request).await,
        crate::ui::Auth::Csrf => error(
            StatusCode::FORBIDDEN,
            "a request other than GET made with the browser session must carry its X-CSRF-Token header",
        ),
        crate::ui::Auth::Missing => {
            let mut r = error(
                StatusCode::UNAUTHORIZED,
                "missing or wrong bearer token: send `Authorization: Bearer <token>` (the token is in the file `custody serve` names at start)",
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"custody\""),
            );
            r
        }
    }
}

/// Constant-time equality (the length is not secret).
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Deserialize)]
struct SearchParams {
    q: Option<String>,
    label: Option<String>,
    limit: Option<usize>,
}

#[derive(Deserialize)]
struct NeighbourParams {
    edge: Option<String>,
    direction: Option<String>,
    limit: Option<usize>,
}

#[derive(Deserialize)]
struct LimitParams {
    limit: Option<usize>,
}

#[derive(Deserialize)]
struct QueryBody {
    query: String,
    #[serde(default)]
    params: Map<String, Value>,
}

#[derive(Deserialize, Default)]
struct AskBody {
    #[serde(default)]
    params: Map<String, Value>,
}

/// Parses a JSON body whatever its content type (so `curl -d` works); an empty
/// body is `{}`. Errors name the line and column.
fn body<T: serde::de::DeserializeOwned>(bytes: &Bytes) -> Result<T, String> {
    let text: &[u8] = if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        b"{}"
    } else {
        bytes
    };
    serde_json::from_slice(text).map_err(|e| format!("request body: {e}"))
}

async fn health(State(app): State<App>) -> Response {
    let (graph, reach) = app.service.readiness();
    Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION"),
                "graph_loaded": graph, "reach_computed": reach}))
    .into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn stats(State(app): State<App>) -> Response {
    app.run(|s| s.stats()).await
}

async fn search(State(app): State<App>, Query(p): Query<SearchParams>) -> Response {
    let Some(label) = p.label else {
        return error(
            StatusCode::BAD_REQUEST,
            "give `label` (Credential, Principal, Agent, Human, Group, Location, Workload, Resource, or a kind) and `q`, the text a key or name contains",
        );
    };
    let q = p.q.unwrap_or_default();
    let limit = p.limit.unwrap_or(50);
    app.run(move |s| s.search(&q, &label, limit)).await
}

async fn node(State(app): State<App>, Path(reference): Path<String>) -> Response {
    app.run(move |s| s.identity(&reference)).await
}

async fn owner(State(app): State<App>, Path(reference): Path<String>) -> Response {
    app.run(move |s| s.owners(&reference)).await
}

async fn neighbours(
    State(app): State<App>,
    Path(reference): Path<String>,
    Query(p): Query<NeighbourParams>,
) -> Response {
    let limit = p.limit.unwrap_or(500);
    app.run(move |s| s.neighbours(&reference, p.edge.as_deref(), p.direction.as_deref(), limit))
        .await
}

async fn blast_radius(
    State(app): State<App>,
    Path(reference): Path<String>,
    Query(p): Query<LimitParams>,
) -> Response {
    let limit = p.limit.unwrap_or(0);
    app.run(move |s| s.blast_radius(&reference, limit)).await
}

async fn reached_by(
    State(app): State<App>,
    Path(reference): Path<String>,
    Query(p): Query<LimitParams>,
) -> Response {
    let limit = p.limit.unwrap_or(100);
    app.run(move |s| s.reached_by(&reference, limit)).await
}

#[derive(Deserialize)]
struct ExportParams {
    /// `csv` or `sarif` (a download); absent: JSON.
    format: Option<String>,
    limit: Option<usize>,
}

async fn findings(
    State(app): State<App>,
    Query(f): Query<crate::service::FindingsFilter>,
    Query(x): Query<ExportParams>,
) -> Response {
    match x.format.as_deref() {
        None | Some("json") | Some("") => app.run(move |s| s.findings(&f)).await,
        Some(format) => {
            let format = format.to_string();
            let (mime, name) = match format.as_str() {
                "sarif" => ("application/sarif+json", "custody-findings.sarif"),
                _ => ("text/csv; charset=utf-8", "custody-findings.csv"),
            };
            app.download(mime, name.into(), move |s| {
                s.findings_export(&f, &format, x.limit)
            })
            .await
        }
    }
}

#[derive(Deserialize)]
struct TypeaheadParams {
    q: Option<String>,
    label: Option<String>,
    per_label: Option<usize>,
}

async fn typeahead(State(app): State<App>, Query(p): Query<TypeaheadParams>) -> Response {
    let q = p.q.unwrap_or_default();
    let per_label = p.per_label.unwrap_or(8);
    app.run(move |s| s.typeahead(&q, per_label, p.label.as_deref()))
        .await
}

#[derive(Deserialize)]
struct PathsParams {
    budget: Option<usize>,
    /// Groups to draw member by member, comma-separated.
    expand: Option<String>,
    target: Option<String>,
}

async fn paths(
    State(app): State<App>,
    Path(reference): Path<String>,
    Query(p): Query<PathsParams>,
) -> Response {
    let req = custody_app::paths::Request {
        budget: p.budget.unwrap_or(0),
        expand: p
            .expand
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect(),
        target: p.target.filter(|t| !t.is_empty()),
    };
    app.run(move |s| s.paths(&reference, &req)).await
}

async fn migration(State(app): State<App>, Path(reference): Path<String>) -> Response {
    app.run(move |s| s.migration(&reference)).await
}

async fn leavers(State(app): State<App>) -> Response {
    app.run(|s| s.leavers()).await
}

async fn person(State(app): State<App>, Path(reference): Path<String>) -> Response {
    app.run(move |s| s.person(&reference)).await
}

async fn person_offboarding(State(app): State<App>, Path(reference): Path<String>) -> Response {
    let name = format!("offboarding-{reference}.csv");
    app.download("text/csv; charset=utf-8", name, move |s| {
        s.offboarding_csv(Some(&reference))
    })
    .await
}

async fn all_offboarding(State(app): State<App>) -> Response {
    app.download(
        "text/csv; charset=utf-8",
        "offboarding-all-leavers.csv".into(),
        |s| s.offboarding_csv(None),
    )
    .await
}

async fn snapshots(State(app): State<App>) -> Response {
    app.run(|s| s.snapshots()).await
}

#[derive(Deserialize)]
struct DiffParams {
    from: Option<String>,
    to: Option<String>,
    limit: Option<usize>,
}

async fn diff(State(app): State<App>, Query(p): Query<DiffParams>) -> Response {
    let limit = p.limit.unwrap_or(50);
    app.run(move |s| s.diff(p.from.as_deref(), p.to.as_deref(), limit))
        .await
}

#[derive(serde::Deserialize)]
struct RiskQuery {
    top: Option<usize>,
}

async fn risk(State(app): State<App>, Query(q): Query<RiskQuery>) -> Response {
    let top = q.top.unwrap_or(10);
    app.run(move |s| s.risk(top)).await
}

async fn alerts(State(app): State<App>, Query(q): Query<crate::service::AlertsQuery>) -> Response {
    app.run(move |s| s.alerts(&q)).await
}

async fn usage(State(app): State<App>, Path(reference): Path<String>) -> Response {
    app.run(move |s| s.usage(&reference)).await
}

#[derive(Deserialize)]
struct RespondParams {
    action: Option<String>,
}

async fn respond(
    State(app): State<App>,
    Path(reference): Path<String>,
    Query(p): Query<RespondParams>,
) -> Response {
    let action = p.action.unwrap_or_else(|| "rotate".into());
    app.run(move |s| s.respond(&reference, &action)).await
}

async fn query(State(app): State<App>, bytes: Bytes) -> Response {
    let q: QueryBody = match body(&bytes) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    app.run_heavy(move |s| s.query(&q.query, &q.params)).await
}

async fn saved() -> Response {
    Json(saved_questions()).into_response()
}

async fn ask_get(
    State(app): State<App>,
    Path(name): Path<String>,
    Query(p): Query<BTreeMap<String, String>>,
) -> Response {
    let params: Map<String, Value> = p.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    app.run_heavy(move |s| s.ask(&name, params)).await
}

async fn ask_post(State(app): State<App>, Path(name): Path<String>, bytes: Bytes) -> Response {
    let b: AskBody = match body(&bytes) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    app.run_heavy(move |s| s.ask(&name, b.params)).await
}

async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "no such endpoint; the API is described at /v1/openapi.json",
    )
}

/// The whole application: REST under `/v1`, MCP under `/mcp`. `mcp_stop`
/// ends the MCP sessions (call it when shutting down).
pub fn router(service: Arc<Service>, opts: &Options) -> (Router, impl FnOnce()) {
    let app = App {
        service: service.clone(),
        permits: Arc::new(Semaphore::new(opts.concurrency.max(1))),
        heavy: Arc::new(Semaphore::new((opts.concurrency / 2).max(1))),
        queue_timeout: opts.queue_timeout,
    };
    let mut hosts = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
    hosts.extend(opts.allowed_hosts.iter().cloned());
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(hosts)
        .with_max_request_body_bytes(opts.max_body);
    let cancel = config.cancellation_token.clone();
    let mcp = StreamableHttpService::new(
        move || Ok(Mcp::new(service.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let sessions = Arc::new(crate::ui::Sessions::new(
        &opts.token,
        opts.login_code.clone(),
        opts.secure_cookie,
    ));
    let protected = Router::new()
        .route("/v1/stats", get(stats))
        .route("/v1/nodes", get(search))
        .route("/v1/nodes/{reference}", get(node))
        .route("/v1/nodes/{reference}/owner", get(owner))
        .route("/v1/nodes/{reference}/neighbours", get(neighbours))
        .route("/v1/nodes/{reference}/blast-radius", get(blast_radius))
        .route("/v1/nodes/{reference}/reached-by", get(reached_by))
        .route("/v1/nodes/{reference}/response-plan", get(respond))
        .route("/v1/findings", get(findings))
        .route("/v1/risk", get(risk))
        .route("/v1/alerts", get(alerts))
        .route("/v1/nodes/{reference}/usage", get(usage))
        .route("/v1/nodes/{reference}/paths", get(paths))
        .route("/v1/nodes/{reference}/migration", get(migration))
        .route("/v1/search", get(typeahead))
        .route("/v1/people", get(leavers))
        .route("/v1/people/{reference}", get(person))
        .route(
            "/v1/people/{reference}/offboarding.csv",
            get(person_offboarding),
        )
        .route("/v1/offboarding.csv", get(all_offboarding))
        .route("/v1/snapshots", get(snapshots))
        .route("/v1/diff", get(diff))
        .route("/v1/query", post(query))
        .route("/v1/ask", get(saved))
        .route("/v1/ask/{name}", get(ask_get).post(ask_post))
        .with_state(app.clone())
        .nest_service("/mcp", mcp)
        .layer(middleware::from_fn_with_state(
            sessions.clone(),
            authenticate,
        ));
    let ui = Router::new()
        .route(
            "/ui/session",
            get(crate::ui::whoami)
                .post(crate::ui::login)
                .delete(crate::ui::logout),
        )
        .with_state(sessions);
    let router = Router::new()
        .route("/v1/health", get(health))
        .route("/v1/openapi.json", get(openapi))
        .with_state(app)
        .merge(protected)
        .merge(ui)
        .route("/", get(crate::ui::root))
        .route("/ui", get(crate::ui::root))
        .route("/ui/", get(crate::ui::asset))
        .route("/ui/{*path}", get(crate::ui::asset))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(opts.max_body))
        .layer(middleware::from_fn(crate::ui::headers));
    (router, move || cancel.cancel())
}

/// At most this many connections at once; more wait in the kernel's queue
/// until one closes (so a flood cannot exhaust the file descriptors).
pub const MAX_CONNECTIONS: usize = 1024;

/// A request's headers must arrive within this long (a client that sends
/// them a byte at a time is closed).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `shutdown` resolves, then lets open
/// connections finish (up to 30 s). Each connection must send a request's
/// headers within [`HEADER_TIMEOUT`]; at most [`MAX_CONNECTIONS`] are served
/// at once.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let (closing, closing_rx) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                // Out of file descriptors or a reset before accept: try again shortly.
                Err(e) => {
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(router.clone());
        let mut closing = closing_rx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = closing.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(30), conn).await;
                }
            }
        });
    }
    let _ = closing.send(true);
    drop(closing_rx);
    // Wait for the connections to finish (each holds a permit).
    let _ = tokio::time::timeout(
        Duration::from_secs(31),
        permits.acquire_many(MAX_CONNECTIONS as u32),
    )
    .await;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
