//! The snapshot's files: owner-only folders (0700) and files (0600), each
//! written whole to a temporary name and renamed, so a reader never sees
//! half a file.

use crate::Tally;
use serde_json::Value;
use std::io::Write;
use std::path::Path;

/// Creates `dir` and its parents readable by the owner alone.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Creates a collection's snapshot folder (owner-only), or says why not.
pub fn snapshot(dir: &Path) -> Result<(), crate::Error> {
    private_dir(dir).map_err(|e| crate::Error::Snapshot {
        path: dir.display().to_string(),
        detail: e.to_string(),
    })
}

/// Writes `value` as pretty-printed JSON (as the systems' CLIs print it) to `rel`
/// under `root`, and records the file in the scope's tally. A write that
/// fails is a failure of the scope (its file is then absent).
pub fn json(root: &Path, rel: &str, value: &Value, tally: &Tally) {
    let text = match serde_json::to_vec_pretty(value) {
        Ok(t) => t,
        Err(e) => return tally.fail(format!("write {rel}"), e.to_string()),
    };
    match write_file(root, rel, &text) {
        Ok(()) => {
            if let Ok(mut files) = tally.files.lock() {
                files.push(rel.to_string());
            }
        }
        Err(e) => tally.fail(format!("write {rel}"), e.to_string()),
    }
}

/// Writes `bytes` as they are to `rel` under `root` (owner-only, whole).
pub fn bytes(root: &Path, rel: &str, bytes: &[u8]) -> std::io::Result<()> {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        private_dir(parent)?;
    }
    let tmp = path.with_extension("partial");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, &path)
}

fn write_file(root: &Path, rel: &str, text: &[u8]) -> std::io::Result<()> {
    let mut all = Vec::with_capacity(text.len() + 1);
    all.extend_from_slice(text);
    all.push(b'\n');
    bytes(root, rel, &all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_whole_and_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let tally = Tally::default();
        json(
            dir.path(),
            "aws/1/x.json",
            &serde_json::json!({"A": 1}),
            &tally,
        );
        let text = std::fs::read_to_string(dir.path().join("aws/1/x.json")).unwrap();
        assert_eq!(text, "{\n  \"A\": 1\n}\n");
        assert_eq!(
            *tally.files.lock().unwrap(),
            vec!["aws/1/x.json".to_string()]
        );
        assert!(!dir.path().join("aws/1/x.partial").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &str| {
                std::fs::metadata(dir.path().join(p))
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777
            };
            assert_eq!(mode("aws/1/x.json"), 0o600);
            assert_eq!(mode("aws/1"), 0o700);
        }
    }
}
