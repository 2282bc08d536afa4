//! # custody-model
//!
//! The vocabulary every other custody crate speaks: the Identity Lineage graph's
//! node [`Label`]s and [`EdgeKind`]s, natural [`Key`]s, [`Fact`]s (observations)
//! with [`Provenance`], and the [`Secret`] type with its keyed [`Fingerprint`]s and
//! redacted previews.
//!
//! **Owns:** types and pure functions over them.
//! **Must not:** do I/O (files, network, database), depend on another custody crate,
//! or offer any way to turn a [`Secret`] back into text outside this crate.

pub mod environment;
pub mod event;
pub mod fact;
pub mod guard;
pub mod key;
pub mod label;
pub mod net;
pub mod props;
pub mod secret;
pub mod text;
pub mod time;

pub use fact::{EdgeFact, Endpoint, Fact, InputError, Location, NodeFact, Provenance};
pub use key::{Key, KeyKind};
pub use label::{EdgeKind, Label};
pub use props::Props;
pub use secret::{Fingerprint, Fingerprinter, Secret};
