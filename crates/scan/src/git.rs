//! Git history: every blob reachable from every ref, each scanned once.
//!
//! [`History::open`] walks the commits of every ref (branches, tags, remotes,
//! stashes) from the oldest, and each commit's tree, skipping trees already
//! seen: the work grows with the number of distinct trees and blobs, not with
//! commits × files. Each distinct blob is kept with the first commit and path
//! that introduced it, so a secret pasted once and carried through 40 later
//! commits is one finding, while a file edited 40 times around the same secret
//! is 40 blobs, each a place the secret was stored. [`History::read`] then reads
//! blobs from any thread (the caller decides how to parallelise).
//!
//! Reading is done with `gix` (no `git` process, no working-tree checkout), with
//! the repository opened isolated: neither the user's git configuration nor the
//! environment changes what is read.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gix::ObjectId;

/// A git repository that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{repo}: {what}: {message}")]
pub struct GitError {
    pub repo: String,
    pub what: &'static str,
    pub message: String,
}

/// The commit that introduced a blob at a path.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Commit {
    /// The full commit id.
    pub id: String,
    pub author_name: String,
    pub author_email: String,
    /// Author time, seconds since the Unix epoch.
    pub time: i64,
    /// The first line of the message.
    pub summary: String,
}

/// One distinct blob, where it was first seen.
#[derive(Debug, Clone)]
pub struct Blob {
    pub id: ObjectId,
    /// The path in the commit's tree, `/`-separated.
    pub path: String,
    pub commit: Arc<Commit>,
    /// Whether HEAD's tree holds this blob at this path: what the repository
    /// says today, as opposed to what it once said.
    pub current: bool,
}

/// The distinct blobs of a repository's history.
pub struct History {
    /// The repository as the caller named it (used in location URIs).
    pub name: String,
    pub refs: usize,
    pub commits: usize,
    pub trees: usize,
    pub blobs: Vec<Blob>,
    repo: gix::ThreadSafeRepository,
}

/// Thread-local access to a repository's objects; see [`History::reader`].
pub struct Reader(gix::Repository);

impl Reader {
    /// The blob's bytes, or why it cannot be read. Blobs larger than `max`
    /// bytes are not read: the error says how large they are.
    pub fn read(&self, blob: &Blob, max: u64) -> Result<Vec<u8>, String> {
        let header = self.0.find_header(blob.id).map_err(|e| e.to_string())?;
        if header.size() > max {
            return Err(format!(
                "skipped: {} MB is larger than the {} MB limit",
                header.size() >> 20,
                max >> 20
            ));
        }
        let object = self.0.find_object(blob.id).map_err(|e| e.to_string())?;
        Ok(object.detach().data)
    }
}

fn fail(repo: &str, what: &'static str, e: impl std::fmt::Display) -> GitError {
    GitError {
        repo: repo.to_string(),
        what,
        message: e.to_string(),
    }
}

impl History {
    /// Opens the repository at `dir` (a work tree with `.git`, or a bare
    /// repository) and lists its distinct blobs.
    pub fn open(dir: &Path, name: &str) -> Result<History, GitError> {
        let opts = gix::open::Options::isolated();
        let mut repo = gix::open_opts(dir, opts)
            .map_err(|e| fail(name, "not a readable git repository", e))?;
        repo.object_cache_size_if_unset(16 * 1024 * 1024);
        let mut tips: Vec<ObjectId> = Vec::new();
        let platform = repo
            .references()
            .map_err(|e| fail(name, "cannot list refs", e))?;
        let iter = platform
            .all()
            .map_err(|e| fail(name, "cannot list refs", e))?;
        let mut refs = 0;
        for r in iter {
            let mut r = r.map_err(|e| fail(name, "cannot read a ref", e))?;
            // Tags may point at tags; only commits start a walk.
            let Ok(commit) = r.peel_to_commit() else {
                continue;
            };
            refs += 1;
            tips.push(commit.id);
        }
        // A fresh repository's HEAD may be the only ref (detached).
        if let Ok(head) = repo.head_id() {
            tips.push(head.detach());
        }
        tips.sort_unstable();
        tips.dedup();
        let mut commit_ids: Vec<ObjectId> = Vec::new();
        if !tips.is_empty() {
            let walk = repo
                .rev_walk(tips)
                .all()
                .map_err(|e| fail(name, "cannot walk the history", e))?;
            for info in walk {
                let info = info.map_err(|e| fail(name, "cannot walk the history", e))?;
                commit_ids.push(info.id);
            }
        }
        // Oldest first, so each blob is credited to the commit that added it.
        commit_ids.reverse();
        let mut seen_trees: HashSet<ObjectId> = HashSet::new();
        let mut seen_blobs: HashSet<ObjectId> = HashSet::new();
        let mut blobs = Vec::new();
        for id in &commit_ids {
            let commit = repo
                .find_commit(*id)
                .map_err(|e| fail(name, "cannot read a commit", e))?;
            let tree = commit
                .tree_id()
                .map_err(|e| fail(name, "cannot read a commit", e))?
                .detach();
            if !seen_trees.insert(tree) {
                continue;
            }
            let author = commit.author().ok();
            let info = Arc::new(Commit {
                id: id.to_string(),
                author_name: author.map(|a| a.name.to_string()).unwrap_or_default(),
                author_email: author.map(|a| a.email.to_string()).unwrap_or_default(),
                time: author
                    .and_then(|a| a.time().ok())
                    .map(|t| t.seconds)
                    .unwrap_or_default(),
                summary: commit
                    .message_raw_sloppy()
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .take(120)
                    .collect(),
            });
            let mut stack = vec![(tree, String::new())];
            while let Some((tree_id, prefix)) = stack.pop() {
                let tree = repo
                    .find_tree(tree_id)
                    .map_err(|e| fail(name, "cannot read a tree", e))?;
                let decoded = tree
                    .decode()
                    .map_err(|e| fail(name, "cannot decode a tree", e))?;
                for entry in &decoded.entries {
                    let oid = entry.oid.to_owned();
                    let path = if prefix.is_empty() {
                        entry.filename.to_string()
                    } else {
                        format!("{prefix}/{}", entry.filename)
                    };
                    if entry.mode.is_tree() {
                        if seen_trees.insert(oid) {
                            stack.push((oid, path));
                        }
                    } else if entry.mode.is_blob() && seen_blobs.insert(oid) {
                        blobs.push(Blob {
                            id: oid,
                            path,
                            commit: info.clone(),
                            current: false,
                        });
                    }
                }
            }
        }
        // HEAD's files: a blob is current if HEAD has it at the same path.
        let mut current: std::collections::HashMap<ObjectId, Vec<String>> =
            std::collections::HashMap::new();
        if let Ok(tree) = repo.head_commit().and_then(|c| Ok(c.tree_id()?.detach())) {
            let mut stack = vec![(tree, String::new())];
            while let Some((tree_id, prefix)) = stack.pop() {
                let Ok(tree) = repo.find_tree(tree_id) else {
                    continue;
                };
                let Ok(decoded) = tree.decode() else {
                    continue;
                };
                for entry in &decoded.entries {
                    let path = if prefix.is_empty() {
                        entry.filename.to_string()
                    } else {
                        format!("{prefix}/{}", entry.filename)
                    };
                    if entry.mode.is_tree() {
                        stack.push((entry.oid.to_owned(), path));
                    } else {
                        current.entry(entry.oid.to_owned()).or_default().push(path);
                    }
                }
            }
        }
        for b in &mut blobs {
            b.current = current
                .get(&b.id)
                .is_some_and(|paths| paths.contains(&b.path));
        }
        let name = remote_name(&repo).unwrap_or_else(|| name.to_string());
        Ok(History {
            name,
            refs,
            commits: commit_ids.len(),
            trees: seen_trees.len(),
            blobs,
            repo: repo.into_sync(),
        })
    }

    /// Object access for the calling thread.
    pub fn reader(&self) -> Reader {
        let mut repo = self.repo.to_thread_local();
        repo.object_cache_size_if_unset(16 * 1024 * 1024);
        Reader(repo)
    }

    /// The repository's directory on disk.
    pub fn dir(&self) -> PathBuf {
        self.repo.path().to_path_buf()
    }
}

/// `remote.origin.url` as `host/owner/repo` (`https://github.com/acme/x.git`
/// and `git@github.com:acme/x.git` both give `github.com/acme/x`), without
/// any user name or token an URL may carry.
fn remote_name(repo: &gix::Repository) -> Option<String> {
    let url = repo
        .config_snapshot()
        .string("remote.origin.url")?
        .to_string();
    normalise_remote(&url)
}

fn normalise_remote(url: &str) -> Option<String> {
    let rest = match url.split_once("://") {
        Some((_, rest)) => rest.to_string(),
        // scp-like: git@host:owner/repo
        None => url.replacen(':', "/", 1),
    };
    // User information belongs to the host part only.
    let (host, path) = rest.split_once('/').unwrap_or((rest.as_str(), ""));
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let path = path.trim_end_matches('/').trim_end_matches(".git");
    (!path.is_empty()).then(|| format!("{host}/{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_names_drop_scheme_user_and_suffix() {
        for (url, want) in [
            ("https://github.com/acme/x.git", "github.com/acme/x"),
            ("git@github.com:acme/x.git", "github.com/acme/x"),
            (
                "https://user:tok@gitlab.example.com/g/x/",
                "gitlab.example.com/g/x",
            ),
            ("ssh://git@host:2222/a/b", "host:2222/a/b"),
        ] {
            assert_eq!(normalise_remote(url).as_deref(), Some(want), "{url}");
        }
        assert_eq!(normalise_remote("/srv/repo"), Some("/srv/repo".to_string()));
        assert_eq!(
            normalise_remote("https://host/a@b/r"),
            Some("host/a@b/r".to_string())
        );
    }

    #[test]
    fn not_a_repository_is_a_clear_error() {
        let dir = std::env::temp_dir().join("custody-scan-not-a-repo");
        let _ = std::fs::create_dir_all(&dir);
        let err = History::open(&dir, "x").err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("not a readable git repository")));
    }
}
