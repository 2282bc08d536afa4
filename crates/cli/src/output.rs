//! Plain-text tables and JSON output.

use serde::Serialize;

/// Prints rows as aligned columns (no borders, like `kubectl get`).
pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        println!("{}", s.trim_end());
    };
    line(headers.to_vec());
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
}

/// Prints each input error on stderr; exit 1 when there were any (the rest of
/// the input was processed), else success.
pub fn exit_for_errors<E: std::fmt::Display>(errors: &[E]) -> std::process::ExitCode {
    for e in errors {
        eprintln!("error: {e}");
    }
    if errors.is_empty() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(1)
    }
}

pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub use custody_app::show::cell;

/// A spinner with a message and the elapsed time on stderr (hidden when quiet).
pub fn spinner(quiet: bool) -> anyhow::Result<indicatif::ProgressBar> {
    use indicatif::{ProgressBar, ProgressStyle};
    if quiet {
        return Ok(ProgressBar::hidden());
    }
    let b = ProgressBar::new_spinner();
    b.set_style(ProgressStyle::with_template("{spinner} {msg} {elapsed}")?);
    b.enable_steady_tick(std::time::Duration::from_millis(120));
    Ok(b)
}

/// Several answers of one kind: JSON prints one object, or an array when
/// several; tables are printed one after the other.
pub fn each<T: Serialize>(
    format: crate::OutputFormat,
    outs: &[T],
    mut table: impl FnMut(usize, &T),
) -> anyhow::Result<()> {
    match format {
        crate::OutputFormat::Json if outs.len() == 1 => json(&outs[0]),
        crate::OutputFormat::Json => json(&outs),
        crate::OutputFormat::Table => {
            for (i, out) in outs.iter().enumerate() {
                if i > 0 {
                    println!();
                }
                table(i, out);
            }
            Ok(())
        }
    }
}

/// The node and edge counts by kind, as `ingest` and `stats` print them.
pub fn kind_tables(stats: &custody_store::Stats) {
    let rows: Vec<Vec<String>> = stats
        .nodes_by_kind
        .iter()
        .map(|(l, k, n)| vec![l.clone(), k.clone(), n.to_string()])
        .collect();
    table(&["LABEL", "KIND", "NODES"], &rows);
    println!();
    let rows: Vec<Vec<String>> = stats
        .edges_by_kind
        .iter()
        .map(|(k, n)| vec![k.clone(), n.to_string()])
        .collect();
    table(&["EDGE", "COUNT"], &rows);
}
