//! Secret material, which custody reads but never keeps.
//!
//! A [`Secret`] can only be turned into a keyed [`Fingerprint`] (HMAC-SHA256 under
//! the installation's key) or a redacted [`Secret::preview`]. It has no `Display`,
//! no `Serialize`, and its `Debug` prints only the preview. Its memory is zeroed
//! when dropped.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::fmt;
use zeroize::Zeroizing;

/// Secret material read from an input. Construct, fingerprint, preview, drop.
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(Zeroizing::new(value.into()))
    }

    /// A redacted preview: the first and last four characters of long secrets
    /// (`AKIA****7Q2Z`), nothing but `****` for short ones, where four characters
    /// would be too much of the whole.
    pub fn preview(&self) -> String {
        preview(&self.0)
    }

    pub fn len(&self) -> usize {
        self.0.chars().count()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Lends the value to `f`, for one purpose only: sending it to its own
    /// issuer to ask whether it still works (`custody-validate`). Nothing
    /// that `f` returns may hold the value.
    pub fn with_value<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        f(&self.0)
    }

    fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// Redacted preview of any text that may be secret (see [`Secret::preview`]).
pub fn preview(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() < 16 {
        return "****".to_string();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.preview())
    }
}

/// A keyed fingerprint: lowercase hex of HMAC-SHA256(installation key, secret).
/// Equal secrets have equal fingerprints within one installation; without the key
/// a fingerprint cannot be tested against guesses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fingerprint(String);

impl Fingerprint {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The first 12 hex digits, for display.
    pub fn short(&self) -> &str {
        &self.0[..12.min(self.0.len())]
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Computes fingerprints under one installation key (32 random bytes, created on
/// first run by the store and kept in a 0600 file).
#[derive(Clone)]
pub struct Fingerprinter {
    key: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Fingerprinter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprinter(key id {})", self.key_id())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the fingerprint key must be at least 32 bytes, got {0}")]
pub struct ShortKey(pub usize);

impl Fingerprinter {
    pub fn new(key: &[u8]) -> Result<Fingerprinter, ShortKey> {
        if key.len() < 32 {
            return Err(ShortKey(key.len()));
        }
        Ok(Fingerprinter {
            key: Zeroizing::new(key.to_vec()),
        })
    }

    fn mac(&self, domain: &[u8], data: &[u8]) -> String {
        // HMAC accepts keys of any length; `new` checked ours is 32+ bytes.
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(domain);
        mac.update(data);
        hex(&mac.finalize().into_bytes())
    }

    pub fn fingerprint(&self, secret: &Secret) -> Fingerprint {
        Fingerprint(self.mac(b"", secret.expose()))
    }

    /// A public identifier of the key (not the key), stored with the database so a
    /// database is never read with fingerprints made under another key.
    pub fn key_id(&self) -> String {
        self.mac(b"custody key id\0", b"")[..16].to_string()
    }
}

fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_only_show_previews() {
        let s = Secret::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
        assert_eq!(s.preview(), "wJal****EKEY");
        assert_eq!(format!("{s:?}"), "Secret(wJal****EKEY)");
        assert_eq!(Secret::new("hunter2").preview(), "****");
    }

    #[test]
    fn fingerprints_are_keyed_and_stable() {
        let a = Fingerprinter::new(&[1u8; 32]).unwrap();
        let b = Fingerprinter::new(&[2u8; 32]).unwrap();
        let s = Secret::new("correct horse battery staple");
        assert_eq!(
            a.fingerprint(&s),
            a.fingerprint(&Secret::new("correct horse battery staple"))
        );
        assert_ne!(a.fingerprint(&s), b.fingerprint(&s));
        assert_eq!(a.fingerprint(&s).as_str().len(), 64);
        assert_ne!(a.key_id(), b.key_id());
        assert!(Fingerprinter::new(&[0u8; 8]).is_err());
    }
}
