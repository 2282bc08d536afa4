//! # custody-server: custody's answers over the wire
//!
//! - [`http`]: `custody serve` — REST under `/v1`, bearer-token
//!   authentication, limits, an OpenAPI document, and MCP as streamable HTTP
//!   under `/mcp`.
//! - [`mcp`]: the MCP tool handler, on stdio (`custody mcp`) or HTTP.
//! - [`ui`]: the web UI's embedded assets (from `custody-web`) under `/ui/`,
//!   its browser sessions (login with the token or a one-time link, an
//!   `HttpOnly` cookie, CSRF tokens) and the security headers of every
//!   response.
//!
//! Every answer comes from `custody-app` (its [`Service`] holds the shared
//! state); this crate only maps requests onto it and its results and errors
//! onto the protocol.
//!
//! **Must not:** compute an answer itself, write to the store, parse
//! command-line arguments, or log the API token or a session id.

pub mod http;
pub mod mcp;
pub mod ui;

pub use custody_app::service::{self, Service};
