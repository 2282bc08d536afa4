//! `custody export`: the whole graph for other tools — JSON, CSV (nodes.csv and
//! edges.csv) or BloodHound OpenGraph JSON. Files are written beside their
//! destination and renamed into place, so a failed export never leaves half a
//! file where a good one was.

use crate::global::Global;
use crate::paths;
use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use custody_app::export::{self, Summary};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Copy, Clone, PartialEq, Eq, ValueEnum, Debug)]
pub enum ExportFormat {
    Json,
    Csv,
    Opengraph,
}

#[derive(Args)]
pub struct ExportArgs {
    /// Where to write: a file for json and opengraph (default: standard output),
    /// a folder for csv (nodes.csv and edges.csv; required).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Set from the global `--format` (json, csv or opengraph; default json).
    #[arg(skip = ExportFormat::Json)]
    pub format: ExportFormat,
}

/// A file written under a temporary name and renamed into place on success.
struct Staged {
    temp: tempfile::NamedTempFile,
    dest: PathBuf,
}

impl Staged {
    fn new(dest: &Path) -> Result<Staged> {
        let dir = match dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            Some(d) => d.to_path_buf(),
            None => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let temp = tempfile::NamedTempFile::new_in(&dir)
            .with_context(|| format!("cannot write in {}", dir.display()))?;
        Ok(Staged {
            temp,
            dest: dest.to_path_buf(),
        })
    }

    fn writer(&mut self) -> BufWriter<&mut std::fs::File> {
        BufWriter::with_capacity(1 << 20, self.temp.as_file_mut())
    }

    fn commit(self) -> Result<()> {
        self.temp
            .persist(&self.dest)
            .with_context(|| format!("cannot write {}", self.dest.display()))?;
        Ok(())
    }
}

pub fn run(cli: &Global, a: &ExportArgs) -> Result<ExitCode> {
    let store = paths::open_existing(cli)?;
    let (summary, place): (Summary, String) = match (a.format, &a.out) {
        (ExportFormat::Csv, None) => {
            anyhow::bail!("a CSV export is two files: give a folder with --out DIR")
        }
        (ExportFormat::Csv, Some(dir)) => {
            let mut nodes = Staged::new(&dir.join("nodes.csv"))?;
            let mut edges = Staged::new(&dir.join("edges.csv"))?;
            let (_, _, s) = export::csv(&store, nodes.writer(), edges.writer())?;
            nodes.commit()?;
            edges.commit()?;
            (s, format!("{}/{{nodes,edges}}.csv", dir.display()))
        }
        (f, Some(file)) => {
            let mut staged = Staged::new(file)?;
            let s = write_one(&store, f, staged.writer())?;
            staged.commit()?;
            (s, file.display().to_string())
        }
        (f, None) => {
            let stdout = std::io::stdout();
            let s = write_one(&store, f, BufWriter::new(stdout.lock()))?;
            (s, "standard output".into())
        }
    };
    if !cli.quiet {
        let mut note = format!(
            "exported {} nodes and {} edges to {place}",
            summary.nodes, summary.edges
        );
        if summary.edges_to_unobserved > 0 {
            note.push_str(&format!(
                " ({} edges to identities named but never observed left out)",
                summary.edges_to_unobserved
            ));
        }
        eprintln!("{note}");
    }
    Ok(ExitCode::SUCCESS)
}

fn write_one<W: Write>(store: &dyn custody_store::Store, f: ExportFormat, w: W) -> Result<Summary> {
    Ok(match f {
        ExportFormat::Opengraph => export::opengraph(store, w)?.1,
        _ => export::json(store, w)?.1,
    })
}
