//! # custody-app: the application layer
//!
//! Every answer custody gives and every pipeline that changes the store live
//! here, once. The surfaces — the `custody` command (`cli`), the HTTP API and
//! MCP server (`server`), the web UI — parse a request, call one function of
//! this crate and print or send what it returns; a new view written here is
//! served by all of them.
//!
//! Pipelines (they write to the store; nothing else does):
//! - [`ingest`]: native exports into one snapshot, then audit logs
//!   ([`logs`]) into usage profiles, alerts and creator evidence.
//! - [`scan`]: secrets in files and git history, and `scan --ingest`
//!   ([`scan::scan_and_ingest`]: scan → ingest → recheck the usage rules).
//! - [`posture`]: the posture run (query rules, reach rules, risk) and its
//!   recording; [`respond::execute`] logs the response steps it takes.
//! - [`demo`]: synthesise a company and grade every answer ([`grade`]).
//! - [`networks`]: named address ranges that usage judges networks by;
//!   [`usage::suppress`]: accepted alert values, on record.
//!
//! Views (read only):
//! - [`show`], [`blast`], [`owner`], [`usage`], [`respond`], [`migrate`],
//!   [`export`], [`questions`]: one identity, and the estate.
//! - [`search`] (type-ahead), [`paths`] (an identity's paths, for drawing),
//!   [`people`] (a person, the leavers, the offboarding CSV), [`diff`] (what
//!   changed between two snapshots): what the web UI shows, served to every
//!   surface.
//! - [`service`]: the shared, read-only state of a long-running surface (a
//!   pool of store connections, the in-memory graph and reach model, each
//!   loaded once) and the questions it answers.
//!
//! Long work reports through [`Progress`]; files are walked by [`files`].
//!
//! **Must not:** parse command-line arguments, print to a terminal, speak HTTP
//! or MCP, or decide where files live (the surfaces pass paths and the
//! fingerprint key in). Progress is reported through a callback, never
//! printed. It never sees a secret value: connectors and the scanner hand it
//! fingerprints and previews only.

pub mod audit;
pub mod bench;
pub mod blast;
pub mod collect;
pub mod demo;
pub mod diff;
pub mod export;
pub mod files;
pub mod grade;
pub mod ingest;
pub mod logs;
pub mod migrate;
pub mod networks;
pub mod owner;
pub mod paths;
pub mod people;
pub mod posture;
pub mod progress;
pub mod questions;
pub mod reach_query;
pub mod respond;
pub mod scan;
pub mod search;
pub mod service;
pub mod show;
pub mod usage;

pub use progress::{Progress, Quiet};
pub use service::Service;
