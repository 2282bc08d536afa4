//! Named address ranges (`custody networks`): a company's egress and NAT
//! ranges and the clouds' and CI providers' published ranges, stored so every
//! ingest judges a caller's network by the range it falls in.

use anyhow::{Context, Result};
use custody_analysis::usage::Networks;
use custody_store::{NetworkRangeRow, Store};
use serde::Serialize;
use std::collections::BTreeMap;

/// What one `load` stored.
#[derive(Debug, Serialize)]
pub struct Loaded {
    pub source: String,
    pub format: String,
    pub published: Option<String>,
    pub ranges: usize,
    /// The networks (names) the ranges make.
    pub networks: usize,
    /// Ranges of the same source replaced.
    pub replaced: usize,
}

/// Reads a ranges file (`file` is only named in errors) and replaces its
/// source's ranges: the published formats are one source each
/// (`aws-ip-ranges`, `gcp-cloud`, `azure-service-tags`, `github-meta`), a
/// TOML file is the `source` given, else the file's name.
pub fn load(
    store: &mut dyn Store,
    file: &str,
    bytes: &[u8],
    source: Option<&str>,
    by: &str,
) -> Result<Loaded> {
    let f =
        custody_connectors::networks::parse(bytes).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    if f.ranges.is_empty() {
        anyhow::bail!("{file}: no address ranges in it");
    }
    let source = match (source, f.format) {
        (Some(s), _) => s.trim().to_string(),
        (None, "custody") => std::path::Path::new(file)
            .file_stem()
            .map_or_else(|| file.to_string(), |s| s.to_string_lossy().into_owned()),
        (None, format) => format.to_string(),
    };
    if source.is_empty() {
        anyhow::bail!("the source name is empty");
    }
    let rows: Vec<NetworkRangeRow> = f
        .ranges
        .iter()
        .map(|(cidr, name)| NetworkRangeRow {
            source: source.clone(),
            format: f.format.to_string(),
            published: f.published.clone(),
            cidr: cidr.clone(),
            name: name.clone(),
            loaded_at: String::new(),
            loaded_by: by.to_string(),
        })
        .collect();
    let networks = {
        let mut n: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        n.sort_unstable();
        n.dedup();
        n.len()
    };
    let replaced = store
        .network_ranges_replace(&source, &rows)
        .with_context(|| format!("storing the ranges of {file}"))?;
    Ok(Loaded {
        source,
        format: f.format.to_string(),
        published: f.published,
        ranges: rows.len(),
        networks,
        replaced,
    })
}

/// One source of ranges.
#[derive(Debug, Serialize)]
pub struct Source {
    pub source: String,
    pub format: String,
    pub published: Option<String>,
    pub loaded_at: String,
    pub loaded_by: String,
    pub ranges: usize,
    /// Each network it names, with its number of ranges.
    pub networks: BTreeMap<String, usize>,
}

/// The stored sources of ranges.
pub fn list(store: &dyn Store) -> Result<Vec<Source>> {
    let mut out: Vec<Source> = Vec::new();
    for r in store.network_ranges()? {
        if out.last().is_none_or(|s| s.source != r.source) {
            out.push(Source {
                source: r.source.clone(),
                format: r.format.clone(),
                published: r.published.clone(),
                loaded_at: r.loaded_at.clone(),
                loaded_by: r.loaded_by.clone(),
                ranges: 0,
                networks: BTreeMap::new(),
            });
        }
        if let Some(s) = out.last_mut() {
            s.ranges += 1;
            *s.networks.entry(r.name).or_default() += 1;
        }
    }
    Ok(out)
}

/// Removes a source's ranges; how many there were (an unknown source is an error).
pub fn remove(store: &mut dyn Store, source: &str) -> Result<usize> {
    let n = store.network_ranges_replace(source, &[])?;
    if n == 0 {
        anyhow::bail!("no ranges from `{source}` (custody networks list)");
    }
    Ok(n)
}

/// The stored ranges as usage judges networks with them.
pub fn table(store: &dyn Store) -> Result<Networks> {
    let rows = store.network_ranges()?;
    Networks::new(rows.iter().map(|r| (r.cidr.as_str(), r.name.as_str()))).map_err(|e| {
        anyhow::anyhow!("a stored range is not valid: {e} (custody networks remove it)")
    })
}
