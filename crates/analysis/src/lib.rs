//! # custody-analysis
//!
//! Answers computed over the identity graph. Today: the IAM action catalogue
//! ([`catalog`]) and AWS policy evaluation ([`eval`]): given the policies that
//! apply to a request, is it allowed, denied, or allowed only under conditions
//! that cannot be decided statically? Attribution ([`attribution`]) combines
//! ownership evidence into an owner with a confidence. Reachability, blast radius,
//! posture and usage analyses build on these.
//!
//! **Owns:** decision logic, as pure functions over parsed policies.
//! **Must not:** do I/O or read the store directly (callers pass what the graph
//! holds), or call a decision certain when a condition was not evaluated.

pub mod attribution;
pub mod audit;
pub mod catalog;
pub mod escalation;
pub mod eval;
pub mod input;
pub mod ownership;
pub mod pattern;
pub mod policy;
pub mod reach;
pub mod sensitivity;
pub mod usage;

pub use catalog::{AccessLevel, Catalog};
pub use escalation::{escalations, Escalation, TECHNIQUES};
pub use eval::{evaluate, Context, Decision, Outcome, PolicySet, Request};
pub use policy::{Policy, PolicyError};
pub use reach::{BlastRadius, Model, ModelBuilder, Reaching};
pub use sensitivity::Sensitivity;
