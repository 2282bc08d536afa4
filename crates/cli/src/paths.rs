//! Where custody keeps its state: the database and the installation's fingerprint key.
//!
//! - `CUSTODY_HOME` (default: `custody` in the user's data directory, e.g.
//!   `~/.local/share/custody`) holds `custody.db` and `fingerprint.key`.
//! - `--db` / `CUSTODY_DB` and `CUSTODY_KEY_FILE` override each one.

use anyhow::{Context, Result};
use custody_model::Fingerprinter;
use custody_store::SqliteStore;
use std::path::{Path, PathBuf};

pub fn home() -> Result<PathBuf> {
    if let Some(h) = std::env::var_os("CUSTODY_HOME") {
        return Ok(PathBuf::from(h));
    }
    dirs::data_dir()
        .map(|d| d.join("custody"))
        .context("cannot find a data directory for custody's database and key: set CUSTODY_HOME")
}

pub fn key_file() -> Result<PathBuf> {
    match std::env::var_os("CUSTODY_KEY_FILE") {
        Some(p) => Ok(PathBuf::from(p)),
        None => Ok(home()?.join("fingerprint.key")),
    }
}

pub fn db_path(cli: &crate::global::Global) -> Result<PathBuf> {
    match &cli.db {
        Some(p) => Ok(p.clone()),
        None => Ok(home()?.join("custody.db")),
    }
}

pub fn fingerprinter() -> Result<Fingerprinter> {
    let path = key_file()?;
    let key = custody_store::keyfile::load_or_create(&path)?;
    Ok(Fingerprinter::new(&key)?)
}

/// Opens (creating if needed) the store at `path`.
pub fn open_store_at(path: &Path) -> Result<SqliteStore> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let fp = fingerprinter()?;
    SqliteStore::open(path, fp)
        .with_context(|| format!("cannot open the database {}", path.display()))
}

pub fn open_store(cli: &crate::global::Global) -> Result<SqliteStore> {
    open_store_at(&db_path(cli)?)
}

/// Opens an existing store for reading; a missing database is a clear error.
pub fn open_existing(cli: &crate::global::Global) -> Result<SqliteStore> {
    let path = db_path(cli)?;
    if !path.exists() {
        anyhow::bail!(
            "no database at {} yet: run `custody ingest PATH…` first (or `custody demo`)",
            path.display()
        );
    }
    open_store_at(&path)
}
