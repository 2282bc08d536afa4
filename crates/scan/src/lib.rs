//! # custody-scan
//!
//! Finds secrets in bytes: files, blobs, configuration values. Rules are data
//! (`rules/default.toml`, see [`rules`]); a keyword prefilter (one Aho-Corasick
//! pass over the input for every rule's keywords) decides which rules' regexes
//! run at all, so the cost of a scan grows with the input, not with the rule
//! count. Offline checks (GitHub/npm CRC32 checksums, entropy, placeholder words)
//! remove what cannot be a live secret.
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
