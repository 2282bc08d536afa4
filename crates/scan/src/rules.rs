//! Rules as data: the files under `rules/` (one per group of providers; the
//! format is in `rules/README.md`) are compiled in; [`Rules::parse`] reads the
//! same format from elsewhere. Every rule is checked when loaded: its pattern
//! must compile and have keywords, and (in tests) its examples must match and
//! its negative examples must not.

use regex::bytes::Regex;
use serde::Deserialize;
use std::sync::OnceLock;

/// The shipped rule files, in the order their rules are tried: where two rules
/// match the same span the earlier keeps it, so the generic rules come last.
pub const BUILTIN_FILES: &[(&str, &str)] = &[
    // Before cloud: a Duo or Okta secret under `*_SECRET_KEY` is not the AWS
    // secret key that name also fits.
    ("identity.toml", include_str!("../rules/identity.toml")),
    ("cloud.toml", include_str!("../rules/cloud.toml")),
    ("source.toml", include_str!("../rules/source.toml")),
    ("registries.toml", include_str!("../rules/registries.toml")),
    ("ai.toml", include_str!("../rules/ai.toml")),
    ("saas.toml", include_str!("../rules/saas.toml")),
    ("databases.toml", include_str!("../rules/databases.toml")),
    ("keys.toml", include_str!("../rules/keys.toml")),
    ("generic.toml", include_str!("../rules/generic.toml")),
];

/// An offline check a rule's matches must pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Checksum {
    /// GitHub and npm tokens carry a CRC-32 of their random part.
    #[serde(rename = "github-crc32")]
    GithubCrc32,
    /// Header and payload are base64url JSON objects, the header naming `alg`.
    #[serde(rename = "jwt")]
    Jwt,
    /// A PEM body that decodes to DER (a SEQUENCE) or an OpenSSH key blob.
    #[serde(rename = "pem")]
    Pem,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    id: String,
    name: String,
    provider: String,
    kind: String,
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
    reject_accounts: Vec<String>,
    #[serde(default)]
    name_before: bool,
    #[serde(default)]
    validate: Option<String>,
    #[serde(default)]
    props: serde_json::Map<String, serde_json::Value>,
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
    /// Who issues the credential (`aws`, `github`, `slack`…): what it is for.
    pub provider: String,
    /// The kind of credential node its matches become (`github_token`).
    pub kind: String,
    pub regex: Regex,
    /// The capture group holding the secret (0: the whole match).
    pub group: usize,
    /// The capture group named `account`: the account, org, workspace or host
    /// the format encodes (never secret material).
    pub account_group: Option<usize>,
    /// The liveness check that applies (`custody scan --validate`).
    pub validate: Option<String>,
    /// Properties every match carries (`encrypted = true`).
    pub props: serde_json::Map<String, serde_json::Value>,
    pub keywords: Vec<String>,
    pub checksum: Option<Checksum>,
    pub min_entropy: Option<f64>,
    /// Lower-cased substrings that mark a placeholder.
    pub reject: Vec<String>,
    /// The match is an identifier (shown and stored), not secret material.
    pub identifier: bool,
    /// When set, every match lies within this many bytes of one of the rule's
    /// keyword occurrences, so the pattern runs only there, not over the whole
    /// input: given by the file (`window = N`), else the pattern's longest
    /// possible match when it has one.
    pub window: Option<usize>,
    /// Values this pattern matches are not secrets (identifiers, ARNs, paths).
    pub reject_pattern: Option<regex::Regex>,
    /// Lower-cased names (separators removed) that hold something other than a
    /// credential: `NextToken`, `ClientToken`, `SecretId`. Compared with the
    /// pattern's `name` group.
    pub reject_names: Vec<String>,
    /// Lower-cased substrings of the `account` group that mark documentation
    /// (`example.com`, `localhost`): a password for such a host is a sample.
    pub reject_accounts: Vec<String>,
    /// The `name` group is only the end of the name (the keyword the match
    /// starts with): the name is read back from there over `[A-Za-z0-9_.-]`
    /// (up to 40 bytes), so the pattern can start with a literal.
    pub name_before: bool,
    pub examples: Vec<String>,
    pub negative_examples: Vec<String>,
}

impl Rule {
    /// Whether a candidate value passes this rule's offline checks.
    pub fn accepts(&self, secret: &str) -> bool {
        let checked = match self.checksum {
            None => true,
            Some(Checksum::GithubCrc32) => crate::check::github_checksum_ok(secret),
            Some(Checksum::Jwt) => crate::check::jwt_ok(secret),
            Some(Checksum::Pem) => crate::check::pem_ok(secret),
        };
        if !checked {
            return false;
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

    /// Whether the account the format names (the `account` group) is a real one.
    pub fn accepts_account(&self, account: &str) -> bool {
        let a = account.to_ascii_lowercase();
        !self.reject_accounts.iter().any(|r| a.contains(r.as_str()))
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
        Rules::builtin_ref().clone()
    }

    /// The rules shipped with custody, compiled once per process.
    pub fn builtin_ref() -> &'static Rules {
        static RULES: OnceLock<Rules> = OnceLock::new();
        RULES.get_or_init(|| {
            // The shipped files are checked by the tests below; a failure here is a build defect.
            Rules::parse_files(BUILTIN_FILES).expect("the built-in rule files are valid (tested)")
        })
    }

    /// The built-in rule with this id.
    pub fn builtin_rule(id: &str) -> Option<&'static Rule> {
        Rules::builtin_ref().rules.iter().find(|r| r.id == id)
    }

    /// Reads several rule files as one set, in order; ids are unique across them.
    pub fn parse_files(files: &[(&str, &str)]) -> Result<Rules, RuleError> {
        let mut all = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (name, text) in files {
            let rules = Rules::parse(text).map_err(|e| match e {
                RuleError::Syntax(m) => RuleError::Syntax(format!("{name}: {m}")),
                other => other,
            })?;
            for r in rules.rules {
                if !seen.insert(r.id.clone()) {
                    return Err(RuleError::Rule {
                        id: r.id,
                        message: format!("{name}: the id is used in another file too"),
                    });
                }
                all.push(r);
            }
        }
        Ok(Rules { rules: all })
    }

    /// Reads a rules file (the format of the files under `rules/`).
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
            // Credentials are ASCII: `\w`, `\s`, `\b` and `(?i)` mean their
            // ASCII forms (Unicode classes compile to automata hundreds of times
            // larger, for nothing a token can hold).
            let regex = regex::bytes::RegexBuilder::new(&r.pattern)
                .unicode(false)
                .build()
                .map_err(|e| err(format!("pattern: {e}")))?;
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
            let account_group = regex.capture_names().position(|n| n == Some("account"));
            // Keywords lie inside their rule's matches (tested for the shipped
            // rules), so a pattern whose matches are at most N bytes long only
            // needs to run within N bytes of a keyword hit: that window is
            // implied when the file does not give one.
            let window = r.window.or_else(|| {
                regex_syntax::ParserBuilder::new()
                    .unicode(false)
                    .utf8(false)
                    .build()
                    .parse(&r.pattern)
                    .ok()?
                    .properties()
                    .maximum_len()
            });
            if r.provider.is_empty() || r.kind.is_empty() {
                return Err(err("needs a provider and a kind".into()));
            }
            rules.push(Rule {
                id: r.id,
                name: r.name,
                provider: r.provider,
                kind: r.kind,
                regex,
                group,
                account_group,
                validate: r.validate,
                props: r.props,
                keywords: r.keywords,
                checksum: r.checksum,
                min_entropy: r.min_entropy,
                reject: r.reject.iter().map(|s| s.to_ascii_lowercase()).collect(),
                identifier: r.identifier,
                window,
                reject_pattern,
                reject_names: r
                    .reject_names
                    .iter()
                    .map(|s| s.to_ascii_lowercase().replace(['_', '-', '.'], ""))
                    .collect(),
                name_before: r.name_before,
                reject_accounts: r
                    .reject_accounts
                    .iter()
                    .map(|s| s.to_ascii_lowercase())
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
        assert!(rules.rules.len() >= 150, "{} rules", rules.rules.len());
        let all = Scanner::builtin();
        let all_rules = all.rules();
        let mut failures = Vec::new();
        for rule in &rules.rules {
            assert!(!rule.examples.is_empty(), "{}: no examples", rule.id);
            assert!(
                !rule.negative_examples.is_empty(),
                "{}: no negative examples (a near miss that must stay quiet)",
                rule.id
            );
            // Each rule alone, so an example is credited to its own rule.
            let one = Scanner::new(Rules {
                rules: vec![rule.clone()],
            });
            for ex in &rule.examples {
                if one.scan(ex.as_bytes()).is_empty() {
                    failures.push(format!("{}: example does not match: {ex:?}", rule.id));
                }
                // With every rule loaded, the example is still credited to its
                // own rule: no earlier rule takes its span.
                let all = all.scan(ex.as_bytes());
                if !all.iter().any(|m| all_rules[m.rule].id == rule.id) {
                    let by: Vec<&str> = all.iter().map(|m| all_rules[m.rule].id.as_str()).collect();
                    failures.push(format!(
                        "{}: example is credited to {by:?}: {ex:?}",
                        rule.id
                    ));
                }
            }
            // Windows assume a keyword lies inside every match.
            for ex in &rule.examples {
                for m in rule.regex.find_iter(ex.as_bytes()) {
                    let text = String::from_utf8_lossy(m.as_bytes()).to_ascii_lowercase();
                    if !rule
                        .keywords
                        .iter()
                        .any(|k| text.contains(&k.to_ascii_lowercase()))
                    {
                        failures.push(format!(
                            "{}: no keyword inside the match of {ex:?}",
                            rule.id
                        ));
                    }
                }
            }
            for ex in &rule.negative_examples {
                if !one.scan(ex.as_bytes()).is_empty() {
                    failures.push(format!("{}: negative example matches: {ex:?}", rule.id));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn every_rule_says_what_it_finds() {
        for rule in &Rules::builtin().rules {
            assert!(
                !rule.provider.is_empty() && !rule.kind.is_empty(),
                "{}",
                rule.id
            );
            assert!(
                rule.kind
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{}: kind {:?} is not snake_case",
                rule.id,
                rule.kind
            );
            // An `account` group names an account, never the secret itself.
            if let Some(g) = rule.account_group {
                assert_ne!(g, rule.group, "{}", rule.id);
            }
        }
    }

    #[test]
    fn bad_rules_are_refused_with_their_id() {
        let e = Rules::parse(
            "[[rule]]\nid = \"x\"\nname = \"x\"\nprovider = \"p\"\nkind = \"k\"\npattern = \"(\"\nkeywords = [\"a\"]\n",
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("rule `x`: pattern"), "{e}");
        let e =
            Rules::parse("[[rule]]\nid = \"x\"\nname = \"x\"\nprovider = \"p\"\nkind = \"k\"\npattern = \"a\"\nkeywords = []\n")
                .unwrap_err();
        assert!(e.to_string().contains("keyword"), "{e}");
        assert!(Rules::parse("[[rule]]\nid = 1").is_err());
    }
}
