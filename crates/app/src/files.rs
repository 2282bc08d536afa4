//! Walking the folders a user names: which files an ingest or a scan reads,
//! and which folders are git repositories.

use custody_model::{InputError, Location};
use std::path::{Path, PathBuf};

/// A file to read, and whether the user named it (an unrecognised file the
/// user named is an error; one found in a folder is skipped).
pub struct Candidate {
    pub path: PathBuf,
    pub explicit: bool,
}

/// Folders never walked: git's objects and build or dependency output.
pub const SKIP_DIRS: &[&str] = &[".git", "target", "node_modules", ".terraform"];

/// What a walk does with hidden folders (`.vscode`, `.cursor`, `.github`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Hidden {
    /// Not walked (ingest: exports are not kept there).
    Skip,
    /// Walked like any other (where a secret scan must look).
    Walk,
    /// Walked, their files kept apart ([`Walked::hidden`]).
    Apart,
}

/// The files a walk found, each list sorted by path.
#[derive(Default)]
pub struct Walked {
    pub files: Vec<Candidate>,
    /// With [`Hidden::Apart`]: the files inside hidden folders.
    pub hidden: Vec<Candidate>,
    pub errors: Vec<InputError>,
}

impl Walked {
    /// Adds what was found after this (later in path order).
    fn then(mut self, mut next: Walked) -> Walked {
        self.files.append(&mut next.files);
        self.hidden.append(&mut next.hidden);
        self.errors.append(&mut next.errors);
        self
    }
}

/// Every file under `dir`, sorted by path. Folders are read on every core (a
/// large estate holds tens of thousands); `.git` and build output are never
/// walked, nor bare repositories (`scan --git` reads their history).
pub fn walk(dir: &Path, hidden: Hidden) -> Walked {
    walk_in(dir, hidden, false)
}

fn walk_in(dir: &Path, hidden: Hidden, in_hidden: bool) -> Walked {
    use rayon::prelude::*;
    let mut entries: Vec<_> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok()).collect(),
        Err(e) => {
            return Walked {
                errors: vec![InputError::new(
                    "ingest",
                    &dir.display().to_string(),
                    Location::File,
                    format!("cannot read the folder: {e}"),
                )],
                ..Walked::default()
            }
        }
    };
    entries.sort_by_key(|e| e.file_name());
    entries
        .into_par_iter()
        .map(|e| {
            let mut found = Walked::default();
            let Ok(ft) = e.file_type() else {
                return found;
            };
            let p = e.path();
            if ft.is_dir() {
                let name = e.file_name();
                let name = name.to_string_lossy();
                let dot = name.starts_with('.');
                if !SKIP_DIRS.contains(&name.as_ref())
                    && (hidden != Hidden::Skip || !dot)
                    && !is_bare_repo(&p)
                {
                    found = walk_in(&p, hidden, in_hidden || dot);
                }
            } else if ft.is_file() {
                let c = Candidate {
                    path: p,
                    explicit: false,
                };
                if in_hidden && hidden == Hidden::Apart {
                    found.hidden.push(c);
                } else {
                    found.files.push(c);
                }
            }
            found
        })
        .reduce(Walked::default, Walked::then)
}

/// The files of `inputs`: folders walked, files taken as named, unreadable
/// paths reported as `source` errors.
pub fn candidates(inputs: &[PathBuf], hidden: Hidden, source: &str) -> Walked {
    let mut out = Walked::default();
    for p in inputs {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => {
                let mut w = walk(p, hidden);
                for e in &mut w.errors {
                    e.connector = source.to_string();
                }
                out = out.then(w);
            }
            Ok(_) => out.files.push(Candidate {
                path: p.clone(),
                explicit: true,
            }),
            Err(e) => out.errors.push(InputError::new(
                source,
                &p.display().to_string(),
                Location::File,
                format!("cannot read: {e}"),
            )),
        }
    }
    out
}

/// A bare git repository (`git clone --mirror`): its files are git's objects,
/// not exports; `scan --git` reads its history.
pub fn is_bare_repo(dir: &Path) -> bool {
    dir.join("HEAD").is_file() && dir.join("objects").is_dir() && dir.join("refs").is_dir()
}

/// Git repositories in `dir`: work trees (a `.git` folder or file) and bare
/// repositories, not descending into one once found.
pub fn find_repos(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.join(".git").exists() || is_bare_repo(dir) {
        out.push(dir.to_path_buf());
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut subdirs: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| !SKIP_DIRS.contains(&e.file_name().to_string_lossy().as_ref()))
        .map(|e| e.path())
        .collect();
    subdirs.sort();
    for d in subdirs {
        find_repos(&d, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_walk_lists_files_in_path_order_with_hidden_folders_apart() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in [
            "b/2.json",
            "a/z.json",
            "a/.cursor/mcp.json",
            "a/m/1.json",
            ".vscode/mcp.json",
            ".vscode/deep/.x/k.json",
            "node_modules/p/package.json",
            "c.json",
            "bare.git/HEAD",
            "bare.git/objects/x",
            "bare.git/refs/y",
        ] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, b"{}").unwrap();
        }
        let rel = |c: &[Candidate]| -> Vec<String> {
            c.iter()
                .map(|c| c.path.strip_prefix(root).unwrap().display().to_string())
                .collect()
        };
        let w = walk(root, Hidden::Apart);
        assert_eq!(
            rel(&w.files),
            ["a/m/1.json", "a/z.json", "b/2.json", "c.json"]
        );
        assert_eq!(
            rel(&w.hidden),
            [
                ".vscode/deep/.x/k.json",
                ".vscode/mcp.json",
                "a/.cursor/mcp.json"
            ]
        );
        assert!(w.errors.is_empty());
        let skip = walk(root, Hidden::Skip);
        assert_eq!(rel(&skip.files), rel(&w.files));
        assert!(skip.hidden.is_empty());
        let all = walk(root, Hidden::Walk);
        assert_eq!(
            rel(&all.files),
            [
                ".vscode/deep/.x/k.json",
                ".vscode/mcp.json",
                "a/.cursor/mcp.json",
                "a/m/1.json",
                "a/z.json",
                "b/2.json",
                "c.json"
            ]
        );
        let missing = candidates(&[root.join("nowhere")], Hidden::Skip, "ingest");
        assert_eq!(missing.errors.len(), 1);
        assert!(missing.files.is_empty());
    }
}
