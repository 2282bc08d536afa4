//! # custody-scan
//!
//! Finds secrets in bytes: files, blobs, configuration values. Rules are data
//! (`rules/*.toml`, one file per group of providers, see [`rules`]), each saying
//! what it finds is for (provider, kind, and the account its format names); a
//! keyword prefilter (one Aho-Corasick pass over the input for every rule's
//! keywords) decides which rules' regexes run at all, and where, so the cost of
//! a scan grows with the input, not with the rule count. Offline checks
//! (GitHub/npm CRC32 checksums, JWT and PEM structure, entropy, placeholder
//! words, documentation hosts) remove what cannot be a live secret. Whether a
//! find still works is `custody-validate`'s question, not this crate's.
//!
//! **Owns:** rules, matching, checks, where each match is (line, column), and
//! reading git history (each reachable blob once, see [`git`]).
//! **Must not:** keep or print a secret value: a match holds the value only as a
//! [`custody_model::Secret`] (no Display, zeroed on drop) for the caller to
//! fingerprint; walk directories or touch the store (callers do).

pub mod check;
pub mod codeowners;
pub mod facts;
pub mod git;
pub mod iac;
pub mod mcp;
pub mod rules;
mod scanner;
pub mod structured;
pub mod workflow;

pub use rules::{Rule, RuleError, Rules};
pub use scanner::{Match, Scanner};
