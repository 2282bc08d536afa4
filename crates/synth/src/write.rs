//! Output files, counted.

use crate::SynthError;
use serde::Serialize;
use serde_json::ser::PrettyFormatter;
use serde_json::Value;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub struct Writer {
    root: PathBuf,
    files: usize,
    bytes: u64,
}

impl Writer {
    pub fn new(root: &Path) -> Result<Writer, SynthError> {
        fs::create_dir_all(root).map_err(|source| SynthError::Io {
            path: root.display().to_string(),
            source,
        })?;
        Ok(Writer {
            root: root.to_path_buf(),
            files: 0,
            bytes: 0,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Counts the files under `dir` (written by something else, such as git).
    pub fn count_dir(&mut self, dir: &Path) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => self.count_dir(&e.path()),
                Ok(_) => {
                    self.files += 1;
                    self.bytes += e.metadata().map(|m| m.len()).unwrap_or(0);
                }
                Err(_) => {}
            }
        }
    }

    pub fn totals(&self) -> (usize, u64) {
        (self.files, self.bytes)
    }

    fn open(&mut self, rel: &str) -> Result<(BufWriter<fs::File>, String), SynthError> {
        let path = self.root.join(rel);
        let shown = path.display().to_string();
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|source| SynthError::Io {
                path: shown.clone(),
                source,
            })?;
        }
        let f = fs::File::create(&path).map_err(|source| SynthError::Io {
            path: shown.clone(),
            source,
        })?;
        self.files += 1;
        Ok((BufWriter::with_capacity(1 << 20, f), shown))
    }

    /// Writes JSON; `aws_style` indents by four spaces as the AWS CLI does.
    pub fn json(&mut self, rel: &str, value: &Value, aws_style: bool) -> Result<(), SynthError> {
        self.json_docs(rel, std::slice::from_ref(value), aws_style)
    }

    /// Writes several JSON documents one after another (a shell loop's output).
    pub fn json_docs(
        &mut self,
        rel: &str,
        docs: &[Value],
        aws_style: bool,
    ) -> Result<(), SynthError> {
        let (mut out, shown) = self.open(rel)?;
        let indent: &[u8] = if aws_style { b"    " } else { b"  " };
        let io = |source| SynthError::Io {
            path: shown.clone(),
            source,
        };
        let mut buf = Vec::with_capacity(1 << 16);
        for doc in docs {
            buf.clear();
            let mut ser = serde_json::Serializer::with_formatter(
                &mut buf,
                PrettyFormatter::with_indent(indent),
            );
            doc.serialize(&mut ser)
                .map_err(|e| io(std::io::Error::other(e)))?;
            buf.push(b'\n');
            out.write_all(&buf).map_err(io)?;
            self.bytes += buf.len() as u64;
        }
        out.flush().map_err(io)
    }

    /// Writes `data` gzipped (fast level: the logs are large); counts the
    /// bytes on disk.
    pub fn gzip(&mut self, rel: &str, data: &[u8]) -> Result<(), SynthError> {
        let (mut out, shown) = self.open(rel)?;
        let io = |source| SynthError::Io {
            path: shown.clone(),
            source,
        };
        let mut gz = flate2::write::GzEncoder::new(
            Vec::with_capacity(data.len() / 8),
            flate2::Compression::fast(),
        );
        gz.write_all(data).map_err(io)?;
        let packed = gz.finish().map_err(io)?;
        out.write_all(&packed).map_err(io)?;
        out.flush().map_err(io)?;
        self.bytes += packed.len() as u64;
        Ok(())
    }

    pub fn text(&mut self, rel: &str, text: &str) -> Result<(), SynthError> {
        let (mut out, shown) = self.open(rel)?;
        out.write_all(text.as_bytes())
            .map_err(|source| SynthError::Io {
                path: shown.clone(),
                source,
            })?;
        self.bytes += text.len() as u64;
        out.flush().map_err(|source| SynthError::Io {
            path: shown,
            source,
        })
    }
}
