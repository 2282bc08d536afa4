//! How long-running work says where it is, without printing.
//!
//! A pipeline calls [`Progress::stage`] when it starts a stage (with its size
//! when known), [`Progress::advance`] as units finish — from any worker thread
//! — and [`Progress::note`] for a line of detail (a rate, what is being
//! written). The CLI draws bars from it; the server logs it; tests pass
//! [`Quiet`].

/// What a stage counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Files,
    Bytes,
    /// Git objects of a repository's history.
    Blobs,
    Credentials,
    /// Scopes of a live collection (AWS accounts, the organisation).
    Scopes,
    /// A stage of unknown size: a spinner with a message.
    Steps,
}

/// Receives a pipeline's progress. Every method has a no-op default, so an
/// implementation shows only what it cares about. Implementations must be
/// cheap: `advance` is called once per file or blob, from many threads.
pub trait Progress: Sync {
    /// A stage begins: `name` says what it does, `total` how many `unit`s it
    /// holds (`None`: unknown).
    fn stage(&self, name: &str, total: Option<u64>, unit: Unit) {
        let _ = (name, total, unit);
    }
    /// `n` more units of the current stage are done.
    fn advance(&self, n: u64) {
        let _ = n;
    }
    /// A detail about the current stage.
    fn note(&self, message: &str) {
        let _ = message;
    }
    /// The current stage is over (a bar can be cleared).
    fn done(&self) {}
}

/// Reports nothing.
pub struct Quiet;

impl Progress for Quiet {}

/// A stage of unknown size whose steps are named: `stage(name, None, Steps)`.
pub fn step(progress: &dyn Progress, name: &str) {
    progress.stage(name, None, Unit::Steps);
}
