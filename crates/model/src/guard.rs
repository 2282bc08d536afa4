//! The last line of defence: before anything is stored, every text property is
//! checked for secret-shaped values (a token pasted into an IAM tag, a password in
//! an HR export's spare column…) and each one found is replaced by a redacted
//! preview and its keyed fingerprint.
//!
//! This is not the secret scanner (that is the `scan` crate, with rules as data);
//! it is a short list of high-confidence shapes that must never reach the
//! database, and a rule by name: a value stored under a name that says it is
//! a secret (`password`, `aws_secret_access_key`, `deploy_token`, `api-key`…,
//! as a property, a tag's `Key`/`Value` pair, a label or metadata field) is
//! redacted whatever its shape, unless it is plainly not one (a reference
//! such as `${VAR}`, a path, an ARN, a placeholder).

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
    // A secret-named assignment in free text (`password=…`, `api_key: …`)
    // (a word on its own, then `=` or `: `: not `…:secret:name` in an ARN)
    r#"(?i)(?:^|[\s,;{(\[])["']?(?:password|passwd|pwd|client_secret|api[_-]?key|access[_-]?token|auth[_-]?token)["']?\s*(?:=|:\s)\s*["']?[^\s"',;]{6,}"#,
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
    // Nearly every text matches nothing: asked first without the set of hits.
    if !c.set.is_match(text) {
        return None;
    }
    let hits = c.set.matches(text);
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

/// Scrubs one stored text in place: secret-shaped spans redacted, the
/// length capped. Returns whether anything was redacted.
pub fn scrub_text(text: &mut String, fp: &Fingerprinter) -> bool {
    let redacted = match redact_text(text, fp) {
        Some(r) => {
            *text = r;
            true
        }
        None => false,
    };
    cap(text);
    redacted
}

/// Scrubs every string inside `value` in place; returns how many were redacted.
pub fn scrub_value(value: &mut Value, fp: &Fingerprinter) -> usize {
    match value {
        Value::String(s) => usize::from(scrub_text(s, fp)),
        Value::Array(items) => items.iter_mut().map(|v| scrub_value(v, fp)).sum(),
        Value::Object(map) => scrub_map(map, fp),
        _ => 0,
    }
}

/// [`scrub_value`] over every value of a property map.
pub fn scrub_map(map: &mut Map<String, Value>, fp: &Fingerprinter) -> usize {
    let mut n = 0;
    // A tag as the APIs write one: `{"Key": "deploy_token", "Value": "…"}`.
    let tag_name = ["Key", "key", "Name", "name"]
        .iter()
        .find_map(|k| map.get(*k).and_then(Value::as_str))
        .filter(|k| is_secret_name(k))
        .is_some();
    for (k, v) in map.iter_mut() {
        let named = is_secret_name(k) || (tag_name && matches!(k.as_str(), "Value" | "value"));
        match v {
            Value::String(text) if named && could_be_secret(text) => {
                *text = redacted(text, fp);
                n += 1;
            }
            _ => n += scrub_value(v, fp),
        }
    }
    n
}

/// The longest text stored in one property: an input can put anything in a
/// field (a 200 MB description); what is longer is cut, with a marker.
pub const MAX_STORED_TEXT: usize = 64 * 1024;

/// Cuts `text` to [`MAX_STORED_TEXT`] bytes (on a character boundary) with a
/// marker saying how much was dropped.
pub fn cap(text: &mut String) {
    if text.len() <= MAX_STORED_TEXT {
        return;
    }
    let mut end = MAX_STORED_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let dropped = text.len() - end;
    text.truncate(end);
    text.push_str(&format!("…[{dropped} more bytes]"));
}

/// Words a field's name ends with when its value is a secret.
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "privatekey",
    "secretkey",
    "accesskey",
    "credential",
    "credentials",
    "connectionstring",
    "sas",
];

/// Compounds a secret's name ends with, its words joined: `api_key`,
/// `private_key`, `secret_key`, `access_key` with a secret word before it
/// (`aws_secret_access_key`); or holds, before `value`
/// (`client_secret_value`).
const SECRET_COMPOUNDS: [&str; 9] = [
    "apikey",
    "privatekey",
    "secretkey",
    "secretaccesskey",
    "clientsecret",
    "connectionstring",
    "signingkey",
    "encryptionkey",
    "masterkey",
];

/// Whether a field's name says its value is a secret: its last word (after
/// `_`, `-`, `.`, spaces or a camelCase step) is `password`, `secret`,
/// `token`… or the name is a secret's compound (`api_key`, `private_key`,
/// `aws_secret_access_key`). A name ending in `_id`, `_name`, `_arn`,
/// `_type`, a date or a flag (`password_enabled`, `token_id`,
/// `secret_name`) is about a secret, not one.
pub fn is_secret_name(name: &str) -> bool {
    // Its words lowercased and joined, and where the last word lies in them,
    // without allocating: every property name of every fact comes here.
    let mut small = [0u8; 64];
    let mut big = Vec::new();
    let joined: &mut [u8] = if name.len() <= small.len() {
        &mut small
    } else {
        big.resize(name.len(), 0);
        &mut big
    };
    let (mut len, mut start) = (0, 0);
    let mut last = None;
    let mut prev_lower = false;
    // Bytes, not characters: a non-ASCII character's bytes are all
    // separators, as the character is.
    for &b in name.as_bytes() {
        if !b.is_ascii_alphanumeric() {
            if len > start {
                last = Some((start, len));
                start = len;
            }
            prev_lower = false;
            continue;
        }
        if b.is_ascii_uppercase() && prev_lower && len > start {
            last = Some((start, len));
            start = len;
        }
        prev_lower = b.is_ascii_lowercase() || b.is_ascii_digit();
        joined[len] = b.to_ascii_lowercase();
        len += 1;
    }
    if len > start {
        last = Some((start, len));
    }
    let Some((from, to)) = last else {
        return false;
    };
    let joined = &joined[..len];
    let last = &joined[from..to];
    if SECRET_WORDS.iter().any(|w| w.as_bytes() == last) {
        return true;
    }
    let contains = |c: &[u8]| joined.windows(c.len()).any(|w| w == c);
    SECRET_COMPOUNDS
        .iter()
        .any(|c| joined.ends_with(c.as_bytes()) || (last == b"value" && contains(c.as_bytes())))
}

/// Whether a text stored under a secret's name could be the secret: not
/// empty or a placeholder, not a reference to where the secret is (`${VAR}`,
/// `{{ … }}`, a path, a URL without credentials, an ARN, a vault path), not
/// a yes/no.
fn could_be_secret(text: &str) -> bool {
    let t = text.trim();
    if t.len() < 6 || t.starts_with("[REDACTED") {
        return false;
    }
    let lower = t.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "true" | "false" | "enabled" | "disabled" | "required" | "none" | "null" | "changeme"
    ) || lower.chars().all(|c| c == '*' || c == 'x' || c == '.')
    {
        return false;
    }
    let reference = t.starts_with("${")
        || t.starts_with("{{")
        || t.starts_with("$(")
        || t.starts_with('/')
        || t.starts_with("arn:")
        || t.starts_with("vault:")
        || t.starts_with("ref+")
        || t.starts_with("op://")
        || t.starts_with("secretsmanager:")
        || t.starts_with("projects/")
        || (t.contains("://") && !t.contains('@'));
    !reference
}

/// `[REDACTED <preview> fp:<short fingerprint>]` for a whole value.
fn redacted(text: &str, fp: &Fingerprinter) -> String {
    let secret = Secret::new(text);
    format!(
        "[REDACTED {} fp:{}]",
        preview(text),
        fp.fingerprint(&secret).short()
    )
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
            cap(name);
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
    fn values_under_a_secrets_name_are_redacted_whatever_their_shape() {
        let sk = format!("{}EXAMPLEKEYplanted0123456789abcdef", "wJalrXUtnF");
        let mut v = json!({
            "tags": {"aws_secret_access_key": sk, "deploy_token": "PlantedDeployTok3n", "team": "payments"},
            "Tags": [{"Key": "db-password", "Value": "Hunter2Hunter2"}, {"Key": "owner", "Value": "ana@corp.example"}],
            "custom_metadata": {"password": "correct horse battery"},
            "clientSecret": "abcDEF123456",
            "password_enabled": "true", "token_id": "98000182", "secret_name": "prod/db", "password_last_used": "2026-01-01T00:00:00Z",
            "api_key": "${OPENAI_API_KEY}", "db_password": "/run/secrets/db", "token": "changeme",
            "description": "rotate me: password=Sup3rS3cretPw please",
            "policy": "arn:aws:secretsmanager:us-east-1:111122223333:secret:payments/*",
        });
        let n = scrub_value(&mut v, &fp());
        let text = v.to_string();
        for planted in [
            sk.as_str(),
            "PlantedDeployTok3n",
            "Hunter2Hunter2",
            "correct horse battery",
            "abcDEF123456",
            "Sup3rS3cretPw",
        ] {
            assert!(!text.contains(planted), "{planted} in {text}");
        }
        assert_eq!(n, 6, "{text}");
        // About a secret, or where it is: kept.
        for kept in [
            "payments",
            "ana@corp.example",
            "98000182",
            "prod/db",
            "${OPENAI_API_KEY}",
            "/run/secrets/db",
            "2026-01-01T00:00:00Z",
        ] {
            assert!(text.contains(kept), "{kept} lost: {text}");
        }
        assert_eq!(v["password_enabled"], "true");
    }

    #[test]
    fn secret_names_are_told_from_names_about_secrets() {
        for yes in [
            "password",
            "db_password",
            "aws_secret_access_key",
            "deploy-token",
            "apiKey",
            "api_key",
            "private_key",
            "clientSecret",
            "SLACK_TOKEN",
            "connection_string",
            "sas",
        ] {
            assert!(is_secret_name(yes), "{yes}");
        }
        for no in [
            "password_enabled",
            "password_last_used",
            "token_id",
            "secret_name",
            "secret_arn",
            "private_key_id",
            "access_key_1_active",
            "key",
            "owner",
            "api_key_id",
            "tokens_used",
            "key_vault",
        ] {
            assert!(!is_secret_name(no), "{no}");
        }
    }

    /// The rule as first written: split into words, then compare.
    fn secret_name_by_words(name: &str) -> bool {
        let mut words: Vec<String> = Vec::new();
        let mut cur = String::new();
        let mut prev_lower = false;
        for ch in name.chars() {
            if !ch.is_ascii_alphanumeric() {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
                prev_lower = false;
                continue;
            }
            if ch.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = ch.is_ascii_lowercase() || ch.is_ascii_digit();
            cur.push(ch.to_ascii_lowercase());
        }
        if !cur.is_empty() {
            words.push(cur);
        }
        let Some(last) = words.last() else {
            return false;
        };
        if SECRET_WORDS.contains(&last.as_str()) {
            return true;
        }
        let joined = words.join("");
        SECRET_COMPOUNDS
            .iter()
            .any(|c| joined.ends_with(c) || (last == "value" && joined.contains(c)))
    }

    #[test]
    fn secret_names_are_told_as_the_word_rule_tells_them() {
        // Every name of up to three parts from these, joined every way a
        // name is written: each secret word, compound and near miss, cases,
        // digits, non-ASCII letters, and names longer than the stack buffer.
        let parts = [
            "",
            "password",
            "Password",
            "PASSWORD",
            "api",
            "Key",
            "key",
            "value",
            "Value",
            "client",
            "Secret",
            "secret",
            "access",
            "token",
            "Token",
            "id",
            "ID",
            "x9",
            "9x",
            "é",
            "naïve",
            "private",
            "aws",
            "connection",
            "String",
            "sas",
            "SAS",
            "name",
            &"long".repeat(20),
        ];
        let seps = ["", "_", "-", ".", " ", "é"];
        let mut n = 0;
        for a in parts {
            for b in parts {
                for c in ["", "key", "Token", "value", "secret"] {
                    for s1 in seps {
                        for s2 in ["", "_", "é"] {
                            let name = format!("{a}{s1}{b}{s2}{c}");
                            assert_eq!(
                                is_secret_name(&name),
                                secret_name_by_words(&name),
                                "{name:?}"
                            );
                            n += 1;
                        }
                    }
                }
            }
        }
        assert!(n > 70_000);
    }

    #[test]
    fn a_huge_text_is_stored_cut_with_a_marker() {
        let mut v = json!({"description": "é".repeat(100_000), "short": "x"});
        scrub_value(&mut v, &fp());
        let d = v["description"].as_str().unwrap();
        assert!(d.len() < MAX_STORED_TEXT + 64);
        assert!(d.ends_with("more bytes]"), "{}", &d[d.len() - 40..]);
        assert_eq!(v["short"], "x");
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
