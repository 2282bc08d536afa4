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
    std::process::ExitCode::from(u8::from(!errors.is_empty()))
}

pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    use std::io::Write;
    // Streamed: a report of tens of megabytes is never held whole in memory.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(out.flush()?)
}

pub use custody_app::show::cell;

/// Progress bars on stderr for the application layer's long work (hidden
/// when quiet): a new bar for each stage.
pub struct Bar {
    quiet: bool,
    bar: std::sync::Mutex<indicatif::ProgressBar>,
}

impl Bar {
    pub fn new(quiet: bool) -> Bar {
        Bar {
            quiet,
            bar: std::sync::Mutex::new(indicatif::ProgressBar::hidden()),
        }
    }

    fn current(&self) -> indicatif::ProgressBar {
        match self.bar.lock() {
            Ok(b) => b.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
}

impl crate::global::Global {
    /// Progress bars for the application layer's long work (none when quiet).
    pub fn progress(&self) -> Bar {
        Bar::new(self.quiet)
    }
}

impl custody_app::Progress for Bar {
    fn stage(&self, name: &str, total: Option<u64>, unit: custody_app::progress::Unit) {
        use custody_app::progress::Unit;
        use indicatif::{ProgressBar, ProgressStyle};
        self.current().finish_and_clear();
        if self.quiet {
            return;
        }
        let what = match unit {
            Unit::Files => "files",
            Unit::Blobs => "blobs",
            Unit::Credentials => "credentials",
            Unit::Scopes => "scopes",
            Unit::Bytes | Unit::Steps => "",
        };
        let (bar, template) = match (total, unit) {
            (Some(n), Unit::Bytes) => (
                ProgressBar::new(n),
                format!("{{spinner}} {name} [{{bar:30}}] {{bytes}}/{{total_bytes}} {{msg}}"),
            ),
            (Some(n), Unit::Files | Unit::Blobs | Unit::Credentials | Unit::Scopes) => (
                ProgressBar::new(n),
                format!("{{spinner}} {name:<24} [{{bar:30}}] {{pos}}/{{len}} {what} {{msg}}"),
            ),
            _ => {
                let b = ProgressBar::new_spinner();
                b.enable_steady_tick(std::time::Duration::from_millis(120));
                b.set_message(name.to_string());
                (b, "{spinner} {msg} {elapsed}".to_string())
            }
        };
        bar.set_style(
            ProgressStyle::with_template(&template)
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        if let Ok(mut b) = self.bar.lock() {
            *b = bar;
        }
    }
    fn advance(&self, n: u64) {
        self.current().inc(n);
    }
    fn note(&self, message: &str) {
        self.current().set_message(message.to_string());
    }
    fn done(&self) {
        self.current().finish_and_clear();
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.current().finish_and_clear();
    }
}

/// Several answers of one kind: JSON prints one object, or an array when
/// several; tables are printed one after the other.
pub fn each<T: Serialize>(
    format: crate::global::OutputFormat,
    outs: &[T],
    mut table: impl FnMut(usize, &T),
) -> anyhow::Result<()> {
    match format {
        crate::global::OutputFormat::Json if outs.len() == 1 => json(&outs[0]),
        crate::global::OutputFormat::Json => json(&outs),
        crate::global::OutputFormat::Table => {
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
