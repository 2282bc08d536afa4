//! `custody mcp` (MCP on stdio) and `custody serve` (HTTP API + MCP over HTTP):
//! the arguments, where the token lives, and the runtime. The endpoints and
//! tools themselves are in the `server` crate.

use crate::global::Global;
use crate::paths;
use anyhow::{Context, Result};
use clap::Args;
use custody_query::Limits;
use custody_server::http::{self, Options};
use custody_server::Service;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Bounds on each question, shared by `mcp` and `serve`.
#[derive(Args)]
pub struct LimitArgs {
    /// At most this many rows from a query or saved question.
    #[arg(long, default_value_t = 1000)]
    pub max_rows: usize,
    /// Stop a query after this many seconds.
    #[arg(long, default_value_t = 20.0)]
    pub timeout: f64,
}

#[derive(Args)]
pub struct McpArgs {
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Args)]
pub struct ServeArgs {
    /// The address to listen on. Loopback by default; any other address needs
    /// --allow-remote (and put TLS in front of it).
    #[arg(long, default_value = "127.0.0.1:8700")]
    pub listen: SocketAddr,
    /// Listen on a non-loopback address.
    #[arg(long)]
    pub allow_remote: bool,
    /// Host names clients use to reach a non-loopback server (checked on /mcp
    /// against DNS rebinding), e.g. custody.corp.example.
    #[arg(long = "allow-host", value_name = "HOST")]
    pub allow_hosts: Vec<String>,
    /// The file holding the bearer token (created on first run, mode 0600).
    /// Default: `api-token` beside the database's default location (CUSTODY_HOME).
    #[arg(long, env = "CUSTODY_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// Requests that do work at once; the rest wait.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// The largest request body, in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_body: usize,
    /// Load the graph on the first question instead of at start.
    #[arg(long)]
    pub lazy: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

fn service(cli: &Global, l: &LimitArgs) -> Result<Arc<Service>> {
    // Fail now, with a clear message, if there is no database.
    drop(paths::open_existing(cli)?);
    let path = paths::db_path(cli)?;
    let limits = Limits {
        timeout: Duration::from_secs_f64(l.timeout.max(0.001)),
        max_rows: l.max_rows,
        ..Limits::default()
    };
    Ok(Arc::new(Service::new(
        Box::new(move || paths::open_store_at(&path)),
        limits,
    )))
}

pub fn mcp(cli: &Global, a: &McpArgs) -> Result<ExitCode> {
    let service = service(cli, &a.limits)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(custody_server::mcp::stdio(service))?;
    Ok(ExitCode::SUCCESS)
}

pub fn serve(cli: &Global, a: &ServeArgs) -> Result<ExitCode> {
    if !a.listen.ip().is_loopback() && !a.allow_remote {
        anyhow::bail!(
            "{} is not a loopback address: custody serve listens on loopback unless you pass --allow-remote (and put TLS in front of it)",
            a.listen
        );
    }
    let token_file = match &a.token_file {
        Some(p) => p.clone(),
        None => paths::home()?.join("api-token"),
    };
    let service = service(cli, &a.limits)?;
    let existed = token_file.exists();
    let token: String = custody_store::keyfile::load_or_create_secret(&token_file, "API token")?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let opts = Options {
        token,
        allowed_hosts: a.allow_hosts.clone(),
        max_body: a.max_body,
        concurrency: a.concurrency,
        login_code: Some(custody_server::ui::random_hex()).filter(|c| !c.is_empty()),
        secure_cookie: !a.listen.ip().is_loopback(),
        ..Options::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let served = rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(a.listen)
            .await
            .with_context(|| format!("cannot listen on {}", a.listen))?;
        let addr = listener.local_addr()?;
        let (router, stop_mcp) = http::router(service.clone(), &opts);
        // The token itself is never printed or logged: only where it is.
        // The login link carries a one-time code (used once, valid a day) in
        // its fragment, which browsers do not send to the server.
        if let Some(code) = &opts.login_code {
            println!("web UI: open http://{addr}/ui/#login={code}");
            println!(
                "        (a one-time link; afterwards sign in at http://{addr}/ui/ with the token)"
            );
        }
        println!("custody API on http://{addr}/v1 (MCP at http://{addr}/mcp)");
        println!(
            "bearer token: {} ({})",
            token_file.display(),
            if existed { "existing" } else { "created" }
        );
        println!("API description: http://{addr}/v1/openapi.json; stop with Ctrl-C");
        if !a.lazy {
            let s = service.clone();
            tokio::task::spawn_blocking(move || {
                if let Err(e) = s.warm() {
                    tracing::warn!("could not preload the graph: {e}");
                }
            });
        }
        http::serve(listener, router, async move {
            http::signal().await;
            stop_mcp();
        })
        .await
        .context("the HTTP server failed")
    });
    // Stopped (Ctrl-C, SIGTERM): do not wait for a warm-up still loading the
    // graph or computing reach on the blocking pool; nothing it holds needs
    // saving (it only reads).
    rt.shutdown_background();
    served?;
    Ok(ExitCode::SUCCESS)
}
