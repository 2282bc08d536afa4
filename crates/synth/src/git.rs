//! Git repositories with history, as `git clone --mirror` leaves them on disk
//! (the copy a security team scans): a bare repository with its objects,
//! `refs/heads/main`, `HEAD` and the `origin` remote.
//! Commits are deterministic (fixed authors and times), so a snapshot's commit
//! ids are the same on every run and `answers.json` can name them.

use crate::write::Writer;
use crate::SynthError;
use gix::bstr::BString;
use gix::objs::tree::{Entry, EntryKind};
use gix::ObjectId;
use std::collections::BTreeMap;
use std::path::Path;

/// One commit: who, when, why, and the files it sets (`Some`) or deletes (`None`).
pub struct Commit<'a> {
    pub author: (&'a str, &'a str),
    /// Seconds since the Unix epoch.
    pub time: i64,
    pub message: &'a str,
    pub changes: Vec<(&'a str, Option<String>)>,
}

fn err(path: &Path, e: impl std::fmt::Display) -> SynthError {
    SynthError::Io {
        path: path.display().to_string(),
        source: std::io::Error::other(e.to_string()),
    }
}

/// Writes the tree of `files` (paths with `/`) and returns its id.
fn write_tree(
    repo: &gix::Repository,
    dir: &Path,
    files: &BTreeMap<String, ObjectId>,
    prefix: &str,
) -> Result<ObjectId, SynthError> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut subdirs: Vec<&str> = Vec::new();
    for (path, id) in files.range(prefix.to_string()..) {
        let Some(rest) = path.strip_prefix(prefix) else {
            break;
        };
        match rest.split_once('/') {
            Some((sub, _)) => {
                if subdirs.last() != Some(&sub) {
                    subdirs.push(sub);
                }
            }
            None => entries.push(Entry {
                mode: EntryKind::Blob.into(),
                filename: BString::from(rest),
                oid: *id,
            }),
        }
    }
    for sub in subdirs {
        let oid = write_tree(repo, dir, files, &format!("{prefix}{sub}/"))?;
        entries.push(Entry {
            mode: EntryKind::Tree.into(),
            filename: BString::from(sub),
            oid,
        });
    }
    entries.sort();
    let id = repo
        .write_object(gix::objs::Tree { entries })
        .map_err(|e| err(dir, e))?;
    Ok(id.detach())
}

/// Creates the bare repository `rel` with `commits` on `main`. Returns each
/// commit's id, oldest first.
pub fn write_repo(
    w: &mut Writer,
    rel: &str,
    remote: &str,
    commits: &[Commit],
) -> Result<Vec<String>, SynthError> {
    let dir = w.root().join(rel);
    std::fs::create_dir_all(&dir).map_err(|e| err(&dir, e))?;
    let repo = gix::init_bare(&dir).map_err(|e| err(&dir, e))?;
    let mut blobs: BTreeMap<String, ObjectId> = BTreeMap::new();
    let mut parent: Option<ObjectId> = None;
    let mut ids = Vec::new();
    for c in commits {
        for (path, content) in &c.changes {
            match content {
                Some(content) => {
                    let id = repo.write_blob(content).map_err(|e| err(&dir, e))?;
                    blobs.insert(path.to_string(), id.detach());
                }
                None => {
                    blobs.remove(*path);
                }
            }
        }
        let tree = write_tree(&repo, &dir, &blobs, "")?;
        let sig = gix::actor::Signature {
            name: c.author.0.into(),
            email: c.author.1.into(),
            time: gix::date::Time {
                seconds: c.time,
                offset: 0,
            },
        };
        let commit = gix::objs::Commit {
            tree,
            parents: parent.into_iter().collect(),
            author: sig.clone(),
            committer: sig,
            encoding: None,
            message: format!("{}\n", c.message).into(),
            extra_headers: Vec::new(),
        };
        let id = repo
            .write_object(commit)
            .map_err(|e| err(&dir, e))?
            .detach();
        ids.push(id.to_string());
        parent = Some(id);
    }
    let git = dir.clone();
    if let Some(head) = parent {
        let refs = git.join("refs/heads");
        std::fs::create_dir_all(&refs).map_err(|e| err(&refs, e))?;
        std::fs::write(refs.join("main"), format!("{head}\n")).map_err(|e| err(&refs, e))?;
    }
    std::fs::write(git.join("HEAD"), "ref: refs/heads/main\n").map_err(|e| err(&git, e))?;
    let config = git.join("config");
    let mut cfg = std::fs::read_to_string(&config).unwrap_or_default();
    cfg.push_str(&format!(
        "[remote \"origin\"]\n\turl = {remote}\n\tfetch = +refs/*:refs/*\n\tmirror = true\n"
    ));
    std::fs::write(&config, cfg).map_err(|e| err(&config, e))?;
    w.count_dir(&dir);
    Ok(ids)
}
