//! # custody-graph
//!
//! Identity resolution: turns observations from many sources into one node per
//! subject. An access key id seen in the credential report, `list-access-keys` and
//! CloudTrail is one node; an e-mail seen in the HR roster and Okta is one human.
//!
//! **Owns:** the merge rules ([`Resolver`]).
//! **Must not:** do I/O. Nodes already stored are reached through a lookup the
//! caller passes in, so the same resolver serves SQLite, PostgreSQL and tests.

pub mod resolve;

pub use resolve::{Existing, Resolution, ResolvedEdge, ResolvedNode, Resolver};
