//! custody's answers over the wire, and the views every surface shares.
//!
//! - [`show`] and [`blast`]: one identity and what it can reach, as the CLI,
//!   the HTTP API and the MCP tools all present them.
//! - [`service`]: the questions the network surfaces answer, over a small pool
//!   of store connections and the in-memory graph and reach model.
//! - [`http`]: `custody serve` — REST under `/v1`, bearer-token authentication,
//!   an OpenAPI document, and MCP as streamable HTTP under `/mcp`.
//! - [`mcp`]: the MCP tool handler, on stdio (`custody mcp`) or HTTP.
//! - [`export`]: the whole graph as JSON, CSV or BloodHound OpenGraph.
//! - [`usage`]: usage profiles and alerts from audit logs.
//!
//! It reads the store and never writes to it; it never sees a secret value (the
//! store holds fingerprints and previews only) and never logs the API token.
//! Argument parsing, terminal output and file locations belong to `cli`.

pub mod blast;
pub mod export;
pub mod http;
pub mod mcp;
pub mod migrate;
pub mod owner;
pub mod posture;
pub mod respond;
pub mod service;
pub mod show;
pub mod usage;

pub use service::Service;
