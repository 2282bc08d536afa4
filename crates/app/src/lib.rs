//! # custody-app: the application layer
//!
//! Every answer custody gives and every pipeline that changes the store live
//! here, once. The surfaces — the `custody` command (`cli`), the HTTP API and
//! MCP server (`server`), the web UI — parse a request, call one function of
//! this crate and print or send what it returns; a new view written here is
//! served by all of them.
//!
//! - [`show`], [`blast`], [`owner`], [`usage`], [`respond`], [`migrate`],
//!   [`export`], [`posture`]: the views of one identity and of the estate.
//! - [`service`]: the shared, read-only state of a long-running surface (a
//!   pool of store connections, the in-memory graph and reach model, each
//!   loaded once) and the questions it answers.
//!
//! **Must not:** parse command-line arguments, print to a terminal, speak HTTP
//! or MCP, or decide where files live (the surfaces pass paths and the
//! fingerprint key in). Progress is reported through a callback, never
//! printed. It never sees a secret value: connectors and the scanner hand it
//! fingerprints and previews only.

pub mod blast;
pub mod export;
pub mod migrate;
pub mod owner;
pub mod posture;
pub mod respond;
pub mod service;
pub mod show;
pub mod usage;

pub use service::Service;
