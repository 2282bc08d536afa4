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

/// Every file under `dir`, sorted, hidden folders skipped.
pub fn walk(dir: &Path, out: &mut Vec<Candidate>, errors: &mut Vec<InputError>) {
    walk_with(dir, out, errors, false)
}

/// [`walk`], optionally into hidden folders (`.vscode`, `.cursor`, `.github`:
/// where a secret scan must look); `.git` and build output are always skipped.
pub fn walk_with(dir: &Path, out: &mut Vec<Candidate>, errors: &mut Vec<InputError>, hidden: bool) {
    let mut entries: Vec<_> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok()).collect(),
        Err(e) => {
            errors.push(InputError::new(
                "ingest",
                &dir.display().to_string(),
                Location::File,
                format!("cannot read the folder: {e}"),
            ));
            return;
        }
    };
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        let name = e.file_name().to_string_lossy().to_string();
        if ft.is_dir() {
            if !SKIP_DIRS.contains(&name.as_str())
                && (hidden || !name.starts_with('.'))
                && !is_bare_repo(&p)
            {
                walk_with(&p, out, errors, hidden);
            }
        } else if ft.is_file() {
            out.push(Candidate {
                path: p,
                explicit: false,
            });
        }
    }
}

/// The files of `inputs`: folders walked, files taken as named, unreadable
/// paths reported as `source` errors.
pub fn candidates(
    inputs: &[PathBuf],
    hidden: bool,
    source: &str,
    errors: &mut Vec<InputError>,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    for p in inputs {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => walk_with(p, &mut out, errors, hidden),
            Ok(_) => out.push(Candidate {
                path: p.clone(),
                explicit: true,
            }),
            Err(e) => errors.push(InputError::new(
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
