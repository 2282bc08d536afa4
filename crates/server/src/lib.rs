//! # custody-server: custody's answers over the wire
//!
//! - [`http`]: `custody serve` — REST under `/v1`, bearer-token
//!   authentication, limits, an OpenAPI document, and MCP as streamable HTTP
//!   under `/mcp`.
//! - [`mcp`]: the MCP tool handler, on stdio (`custody mcp`) or HTTP.
//!
//! Every answer comes from `custody-app` (its [`Service`] holds the shared
//! state); this crate only maps requests onto it and its results and errors
//! onto the protocol.
//!
//! **Must not:** compute an answer itself, write to the store, parse
//! command-line arguments, or log the API token.

pub mod http;
pub mod mcp;

pub use custody_app::service::{self, Service};
