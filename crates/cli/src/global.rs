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
