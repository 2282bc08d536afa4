//! How sensitive a resource is, from its tags, with a documented default per kind.
//!
//! The first tag whose key is a classification key ([`CLASSIFICATION_TAGS`], any
//! case) and whose value custody recognises decides. Values map to four levels:
//!
//! | level | tag values |
//! |---|---|
//! | low | `public`, `low`, `none`, `non-sensitive`, `unclassified` |
//! | medium | `internal`, `medium`, `moderate`, `private`, `general` |
//! | high | `confidential`, `high`, `sensitive` |
//! | critical | `restricted`, `critical`, `secret`, `top-secret`, `highly-confidential`, `pii`, `phi`, `pci`, `regulated` |
//!
//! Untagged resources get their kind's default ([`default_for`]): secrets, KMS keys
//! and databases are *high* (they hold or unlock data), everything else *medium*.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Sensitivity {
    Low = 1,
    Medium = 2,
    High = 3,
    Critical = 4,
}

impl Sensitivity {
    pub fn as_str(self) -> &'static str {
        match self {
            Sensitivity::Low => "low",
            Sensitivity::Medium => "medium",
            Sensitivity::High => "high",
            Sensitivity::Critical => "critical",
        }
    }

    pub fn weight(self) -> u32 {
        self as u32
    }
}

impl fmt::Display for Sensitivity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Tag keys that carry a classification.
pub const CLASSIFICATION_TAGS: &[&str] = &[
    "data-classification",
    "data_classification",
    "dataclassification",
    "classification",
    "data-sensitivity",
    "sensitivity",
    "confidentiality",
];

/// A tag value's level, if custody knows the word.
pub fn from_value(value: &str) -> Option<Sensitivity> {
    let v = value.trim().to_ascii_lowercase().replace(['_', ' '], "-");
    Some(match v.as_str() {
        "public" | "low" | "none" | "non-sensitive" | "unclassified" => Sensitivity::Low,
        "internal" | "medium" | "moderate" | "private" | "general" => Sensitivity::Medium,
        "confidential" | "high" | "sensitive" => Sensitivity::High,
        "restricted"
        | "critical"
        | "secret"
        | "top-secret"
        | "highly-confidential"
        | "pii"
        | "phi"
        | "pci"
        | "regulated" => Sensitivity::Critical,
        _ => return None,
    })
}

/// The level of a resource kind nobody tagged.
pub fn default_for(kind: &str) -> Sensitivity {
    match kind {
        "aws_secretsmanager_secret" | "aws_kms_key" | "aws_rds_instance" | "aws_rds_cluster" => {
            Sensitivity::High
        }
        _ => Sensitivity::Medium,
    }
}

/// The level and why: `tag data-classification=restricted` or `default for aws_s3_bucket`.
pub fn assess<'a>(
    kind: &str,
    tags: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> (Sensitivity, String) {
    for (k, v) in tags {
        let key = k.to_ascii_lowercase();
        if CLASSIFICATION_TAGS.contains(&key.as_str()) {
            if let Some(s) = from_value(v) {
                return (s, format!("tag {k}={v}"));
            }
        }
    }
    (default_for(kind), format!("default for {kind}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_decide_and_kinds_default() {
        let (s, why) = assess(
            "aws_s3_bucket",
            [("team", "x"), ("Data-Classification", "Restricted")],
        );
        assert_eq!(s, Sensitivity::Critical);
        assert_eq!(why, "tag Data-Classification=Restricted");
        assert_eq!(
            assess("aws_s3_bucket", [("sensitivity", "whatever")]).0,
            Sensitivity::Medium
        );
        assert_eq!(assess("aws_secretsmanager_secret", []).0, Sensitivity::High);
        assert_eq!(from_value("non_sensitive"), Some(Sensitivity::Low));
        assert!(Sensitivity::Critical > Sensitivity::High);
    }
}
