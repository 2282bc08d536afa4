//! The last line of defence: before anything is stored, every text property is
//! checked for secret-shaped values (a token pasted into an IAM tag, a password in
//! an HR export's spare column…) and each one found is replaced by a redacted
//! preview and its keyed fingerprint.
//!
//! This is not the secret scanner (that is the `scan` crate, with rules as data);
//! it is a short list of high-confidence shapes that must never reach the database.

use crate::secret::{preview, Fingerprinter, Secret};
use regex::{Regex, RegexSet};
use serde_json::{Map, Value};
use std::sync::OnceLock;

/// High-confidence secret shapes. Key *ids* (AKIA…) are identifiers, not secrets,
/// and are deliberately absent.
const PATTERNS: &[&str] = &[
    // AWS secret access key in an assignment
    r#"(?i)aws_?secret_?(?:access_?)?key["']?\s*[:=]\s*["']?[A-Za-z0-9/+=]{40}"#,
    // GitHub tokens: classic PAT, OAuth, user-to-server, server-to-server, refresh; fine-grained PAT
    r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b",
    r"\bgithub_pat_[A-Za-z0-9_]{60,255}\b",
    // GitLab PAT
    r"\bglpat-[A-Za-z0-9_\-]{20,}\b",
    // Slack tokens
    r"\bxox[abposr]-[A-Za-z0-9\-]{10,}\b",
    // OpenAI / Anthropic style keys
    r"\bsk-(?:proj-|ant-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}\b",
    // Stripe live/test secret and restricted keys
    r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}\b",
    // Google API key
    r"\bAIza[0-9A-Za-z_\-]{35}\b",
    // npm and PyPI tokens
    r"\bnpm_[A-Za-z0-9]{36}\b",
    r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,}",
    // Okta API token (SSWS header)
    r"\bSSWS\s+[A-Za-z0-9_\-]{30,}",
    // PEM / OpenSSH private keys
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----",
    // JSON Web Tokens
    r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
    // Password or secret in a connection string or URL userinfo
    r"[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/\s@]+:[^@/\s]{3,}@",
];

struct Compiled {
    set: RegexSet,
    each: Vec<Regex>,
}

fn compiled() -> &'static Compiled {
    static C: OnceLock<Compiled> = OnceLock::new();
    C.get_or_init(|| Compiled {
        set: RegexSet::new(PATTERNS).expect("guard patterns are valid"),
        each: PATTERNS
            .iter()
            .map(|p| Regex::new(p).expect("guard patterns are valid"))
            .collect(),
    })
}

/// Replaces every secret-shaped span in `text` by `[REDACTED <preview> fp:<12 hex>]`.
/// Returns `None` when nothing was found.
pub fn redact_text(text: &str, fp: &Fingerprinter) -> Option<String> {
    let c = compiled();
    let hits = c.set.matches(text);
    if !hits.matched_any() {
        return None;
    }
    // For a PEM block, redact from the header to its END line (or the rest).
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for i in hits.iter() {
        for m in c.each[i].find_iter(text) {
            let end = if PATTERNS[i].contains("PRIVATE KEY") {
                text[m.end()..]
                    .find("-----END")
                    .and_then(|e| {
                        text[m.end() + e..]
                            .find("KEY-----")
                            .map(|k| m.end() + e + k + 8)
                    })
                    .unwrap_or(text.len())
            } else {
                m.end()
            };
            spans.push((m.start(), end));
        }
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in spans {
        if start < at {
            continue;
        }
        out.push_str(&text[at..start]);
        let secret = Secret::new(&text[start..end]);
        out.push_str(&format!(
            "[REDACTED {} fp:{}]",
            preview(&text[start..end]),
            fp.fingerprint(&secret).short()
        ));
        at = end;
    }
    out.push_str(&text[at..]);
    Some(out)
}

/// Scrubs every string inside `value` in place; returns how many were redacted.
pub fn scrub_value(value: &mut Value, fp: &Fingerprinter) -> usize {
    match value {
        Value::String(s) => match redact_text(s, fp) {
            Some(r) => {
                *s = r;
                1
            }
            None => 0,
        },
        Value::Array(items) => items.iter_mut().map(|v| scrub_value(v, fp)).sum(),
        Value::Object(map) => scrub_map(map, fp),
        _ => 0,
    }
}

/// [`scrub_value`] over every value of a property map.
pub fn scrub_map(map: &mut Map<String, Value>, fp: &Fingerprinter) -> usize {
    map.values_mut().map(|v| scrub_value(v, fp)).sum()
}

/// Scrubs a fact's name and properties; returns how many values were redacted.
pub fn scrub_fact(fact: &mut crate::Fact, fp: &Fingerprinter) -> usize {
    let mut n = 0;
    if let crate::Fact::Node(node) = fact {
        if let Some(name) = &mut node.name {
            if let Some(r) = redact_text(name, fp) {
                *name = r;
                n += 1;
            }
        }
    }
    n + scrub_map(fact.props_mut(), fp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fp() -> Fingerprinter {
        Fingerprinter::new(&[7u8; 32]).unwrap()
    }

    #[test]
    fn secret_shapes_are_redacted_and_the_rest_kept() {
        let tok = format!("ghp_{}", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8");
        let text = format!("deploy token {tok} for ci");
        let out = redact_text(&text, &fp()).unwrap();
        assert!(!out.contains(&tok));
        assert!(out.starts_with("deploy token [REDACTED ghp_****q7R8 fp:"));
        assert!(out.ends_with(" for ci"));
        assert_eq!(
            redact_text("arn:aws:iam::123456789012:user/svc", &fp()),
            None
        );
        assert_eq!(
            redact_text(&format!("AKIA{}", "IOSFODNN7EXAMPL3"), &fp()),
            None,
            "key ids are not secrets"
        );
    }

    #[test]
    fn private_keys_are_redacted_to_their_end_line() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\ntail";
        let out = redact_text(pem, &fp()).unwrap();
        assert!(!out.contains("MIIEow"));
        assert!(out.ends_with("\ntail"));
    }

    #[test]
    fn nested_values_are_scrubbed() {
        let mut v = json!({"tags": [{"Key": "db", "Value": "postgres://app:s3cretpass@db:5432/x"}], "n": 1});
        assert_eq!(scrub_value(&mut v, &fp()), 1);
        assert!(!v.to_string().contains("s3cretpass"));
        let mut clean = json!({"a": "b"});
        assert_eq!(scrub_value(&mut clean, &fp()), 0);
    }
}
