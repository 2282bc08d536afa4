//! Rules as data: `rules/default.toml` is compiled in; [`Rules::parse`] reads
//! the same format from elsewhere. Every rule is checked when loaded: its
//! pattern must compile and have keywords, and (in tests) its examples must
//! match and its negative examples must not.

use regex::bytes::Regex;
use serde::Deserialize;

const DEFAULT: &str = include_str!("../rules/default.toml");

/// An offline check a rule's matches must pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Checksum {
    #[serde(rename = "github-crc32")]
    GithubCrc32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    id: String,
    name: String,
    pattern: String,
    keywords: Vec<String>,
    #[serde(default)]
    checksum: Option<Checksum>,
    #[serde(default)]
    min_entropy: Option<f64>,
    #[serde(default)]
    reject: Vec<String>,
    #[serde(default)]
    identifier: bool,
    #[serde(default)]
    window: Option<usize>,
    #[serde(default)]
    reject_pattern: Option<String>,
    #[serde(default)]
    reject_names: Vec<String>,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    negative_examples: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    rule: Vec<RuleSpec>,
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub regex: Regex,
    /// The capture group holding the secret (0: the whole match).
    pub group: usize,
    pub keywords: Vec<String>,
    pub checksum: Option<Checksum>,
    pub min_entropy: Option<f64>,
    /// Lower-cased substrings that mark a placeholder.
    pub reject: Vec<String>,
    /// The match is an identifier (shown and stored), not secret material.
    pub identifier: bool,
    /// When set, every match lies within this many bytes of one of the rule's
    /// keyword occurrences, so the pattern runs only there, not over the whole
    /// input (for rules whose keywords are common words).
    pub window: Option<usize>,
    /// Values this pattern matches are not secrets (identifiers, ARNs, paths).
    pub reject_pattern: Option<regex::Regex>,
    /// Lower-cased names (separators removed) that hold something other than a
    /// credential: `NextToken`, `ClientToken`, `SecretId`. Compared with the
    /// pattern's `name` group.
    pub reject_names: Vec<String>,
    pub examples: Vec<String>,
    pub negative_examples: Vec<String>,
}

impl Rule {
    /// Whether a candidate value passes this rule's offline checks.
    pub fn accepts(&self, secret: &str) -> bool {
        if let Some(Checksum::GithubCrc32) = self.checksum {
            if !crate::check::github_checksum_ok(secret) {
                return false;
            }
        }
        if let Some(min) = self.min_entropy {
            if crate::check::entropy(secret) < min {
                return false;
            }
        }
        if self
            .reject_pattern
            .as_ref()
            .is_some_and(|p| p.is_match(secret))
        {
            return false;
        }
        let lower = secret.to_ascii_lowercase();
        !self.reject.iter().any(|r| lower.contains(r.as_str()))
    }

    /// Whether the name a value was assigned to (the pattern's `name` group)
    /// can hold a credential.
    pub fn accepts_name(&self, name: &str) -> bool {
        if self.reject_names.is_empty() {
            return true;
        }
        let n: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        !self.reject_names.iter().any(|r| n.contains(r.as_str()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("rules file: {0}")]
    Syntax(String),
    #[error("rule `{id}`: {message}")]
    Rule { id: String, message: String },
}

/// A set of rules.
#[derive(Debug, Clone)]
pub struct Rules {
    pub rules: Vec<Rule>,
}

impl Rules {
    /// The rules shipped with custody.
    pub fn builtin() -> Rules {
        // The shipped file is checked by the tests below; a failure here is a build defect.
        Rules::parse(DEFAULT).expect("the built-in rules file is valid (tested)")
    }

    /// Reads a rules file (the format of `rules/default.toml`).
    pub fn parse(text: &str) -> Result<Rules, RuleError> {
        let file: File = toml::from_str(text).map_err(|e| RuleError::Syntax(e.to_string()))?;
        let mut rules = Vec::with_capacity(file.rule.len());
        let mut seen = std::collections::HashSet::new();
        for r in file.rule {
            let err = |message: String| RuleError::Rule {
                id: r.id.clone(),
                message,
            };
            if !seen.insert(r.id.clone()) {
                return Err(err("the id is used twice".into()));
            }
            if r.keywords.iter().all(|k| k.is_empty()) {
                return Err(err(
                    "needs at least one keyword (the prefilter runs a pattern only where one occurs)"
                        .into(),
                ));
            }
            let regex = Regex::new(&r.pattern).map_err(|e| err(format!("pattern: {e}")))?;
            let reject_pattern = match &r.reject_pattern {
                Some(p) => {
                    Some(regex::Regex::new(p).map_err(|e| err(format!("reject_pattern: {e}")))?)
                }
                None => None,
            };
            let group = match regex.capture_names().position(|n| n == Some("secret")) {
                Some(i) => i,
                None if regex.captures_len() > 1 => 1,
                None => 0,
            };
            rules.push(Rule {
                id: r.id,
                name: r.name,
                regex,
                group,
                keywords: r.keywords,
                checksum: r.checksum,
                min_entropy: r.min_entropy,
                reject: r.reject.iter().map(|s| s.to_ascii_lowercase()).collect(),
                identifier: r.identifier,
                window: r.window,
                reject_pattern,
                reject_names: r
                    .reject_names
                    .iter()
                    .map(|s| s.to_ascii_lowercase().replace(['_', '-', '.'], ""))
                    .collect(),
                examples: r.examples,
                negative_examples: r.negative_examples,
            });
        }
        Ok(Rules { rules })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scanner;

    #[test]
    fn every_rule_matches_its_examples_and_not_its_negative_examples() {
        let rules = Rules::builtin();
        assert!(rules.rules.len() >= 20);
        for rule in &rules.rules {
            assert!(!rule.examples.is_empty(), "{}: no examples", rule.id);
            // Each rule alone, so an example is credited to its own rule.
            let one = Scanner::new(Rules {
                rules: vec![rule.clone()],
            });
            for ex in &rule.examples {
                let found = one.scan(ex.as_bytes());
                assert!(
                    !found.is_empty(),
                    "{}: example does not match: {ex:?}",
                    rule.id
                );
            }
            for ex in &rule.negative_examples {
                let found = one.scan(ex.as_bytes());
                assert!(
                    found.is_empty(),
                    "{}: negative example matches: {ex:?}",
                    rule.id
                );
            }
        }
    }

    #[test]
    fn bad_rules_are_refused_with_their_id() {
        let e = Rules::parse(
            "[[rule]]\nid = \"x\"\nname = \"x\"\npattern = \"(\"\nkeywords = [\"a\"]\n",
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("rule `x`: pattern"), "{e}");
        let e =
            Rules::parse("[[rule]]\nid = \"x\"\nname = \"x\"\npattern = \"a\"\nkeywords = []\n")
                .unwrap_err();
        assert!(e.to_string().contains("keyword"), "{e}");
        assert!(Rules::parse("[[rule]]\nid = 1").is_err());
    }
}
