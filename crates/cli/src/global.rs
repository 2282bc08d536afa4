//! The options every command takes, as the command modules see them.

use std::path::PathBuf;

/// `--db`, `--format` and `--quiet`, after `main` has checked them.
pub struct Global {
    /// The database (default: under `$CUSTODY_HOME`; see `paths`).
    pub db: Option<PathBuf>,
    /// What every command but SARIF, OCSF and CSV output prints.
    pub format: OutputFormat,
    /// No progress bars or notes on stderr.
    pub quiet: bool,
}

#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum OutputFormat {
    Table,
    Json,
}

/// The local user (`USER`, `USERNAME`), for the records of who did what
/// (response steps, suppressions, loaded ranges).
pub fn local_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".to_string())
}
