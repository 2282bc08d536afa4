//! The installation's secrets — the fingerprint key, the HTTP API's bearer
//! token: 32 random bytes each, created on first use in a file only its owner
//! can read (mode 0600 on Unix), as 64 hex digits.

use std::fs;
use std::io::Write;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read the {what} {path}: {source}")]
    Read {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("cannot create the {what} {path}: {source}")]
    Create {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("the {what} {path} is damaged (expected 64 hex digits)")]
    Damaged { what: &'static str, path: String },
    #[error("no random source for a new {what}: {message}")]
    Random { what: &'static str, message: String },
    #[error("the {what} {path} can be read by others (mode {mode:o}); run `chmod 600 {path}`")]
    Permissions {
        what: &'static str,
        path: String,
        mode: u32,
    },
}

/// Loads the fingerprint key at `path`, creating it (and its folder) if absent.
pub fn load_or_create(path: &Path) -> Result<Vec<u8>, KeyFileError> {
    load_or_create_secret(path, "fingerprint key")
}

/// Loads the 32-byte secret at `path` (`what` names it in errors), creating
/// it (and its folder) if absent.
pub fn load_or_create_secret(path: &Path, what: &'static str) -> Result<Vec<u8>, KeyFileError> {
    let shown = path.display().to_string();
    match fs::read_to_string(path) {
        Ok(text) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = fs::metadata(path)
                    .map(|m| m.permissions().mode() & 0o777)
                    .unwrap_or(0o600);
                if mode & 0o077 != 0 {
                    return Err(KeyFileError::Permissions {
                        what,
                        path: shown,
                        mode,
                    });
                }
            }
            decode_hex(text.trim())
                .filter(|k| k.len() == 32)
                .ok_or(KeyFileError::Damaged { what, path: shown })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = vec![0u8; 32];
            getrandom::getrandom(&mut key).map_err(|e| KeyFileError::Random {
                what,
                message: e.to_string(),
            })?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                fs::create_dir_all(dir).map_err(|source| KeyFileError::Create {
                    what,
                    path: shown.clone(),
                    source,
                })?;
            }
            // Written whole to a private temporary file, then linked into
            // place: the key appears complete or not at all, and when several
            // first runs race, one link wins and the others read its key.
            let tmp = path.with_extension(format!(
                "tmp.{}.{:08x}",
                std::process::id(),
                u32::from_le_bytes([key[0], key[1], key[2], key[3]])
            ));
            let create = |source| KeyFileError::Create {
                what,
                path: shown.clone(),
                source,
            };
            let mut opts = fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            let written = opts.open(&tmp).and_then(|mut f| {
                f.write_all(format!("{hex}\n").as_bytes())?;
                f.sync_all()
            });
            if let Err(source) = written {
                let _ = fs::remove_file(&tmp);
                return Err(create(source));
            }
            let linked = fs::hard_link(&tmp, path);
            let _ = fs::remove_file(&tmp);
            match linked {
                Ok(()) => Ok(key),
                // Another process created it first: theirs is the key.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    load_or_create_secret(path, what)
                }
                Err(source) => Err(create(source)),
            }
        }
        Err(source) => Err(KeyFileError::Read {
            what,
            path: shown,
            source,
        }),
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_first_runs_agree_on_one_key() {
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("home/fingerprint.key");
            let keys: Vec<Vec<u8>> = std::thread::scope(|s| {
                let runs: Vec<_> = (0..12).map(|_| s.spawn(|| load_or_create(&p))).collect();
                runs.into_iter()
                    .map(|r| r.join().unwrap().expect("every first run succeeds"))
                    .collect()
            });
            assert!(keys.windows(2).all(|w| w[0] == w[1]));
            let left: Vec<_> = fs::read_dir(p.parent().unwrap()).unwrap().collect();
            assert_eq!(left.len(), 1, "no temporary file is left behind");
        }
    }

    #[test]
    fn created_once_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/fingerprint.key");
        let a = load_or_create(&p).unwrap();
        let b = load_or_create(&p).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
            fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                load_or_create(&p),
                Err(KeyFileError::Permissions { .. })
            ));
        }
    }
}
