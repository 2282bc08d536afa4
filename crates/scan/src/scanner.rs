//! The scanner: one keyword pass, then only the rules whose keywords occur.

use crate::rules::{Rule, Rules};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use custody_model::secret::Secret;

/// One secret found: which rule, where (byte range of the secret, 1-based line
/// and column of its first byte), and the value, only as a [`Secret`].
#[derive(Debug)]
pub struct Match {
    /// Index into the scanner's rules.
    pub rule: usize,
    pub start: usize,
    pub end: usize,
    pub line: u64,
    pub column: u64,
    pub secret: Secret,
    /// For rules whose match is an identifier, not secret material (an AWS
    /// access key id): the value, which may be stored and shown.
    pub identifier: Option<String>,
}

pub struct Scanner {
    rules: Rules,
    keywords: AhoCorasick,
    /// Keyword pattern index → the rules it enables.
    enables: Vec<Vec<usize>>,
}

impl Scanner {
    pub fn new(rules: Rules) -> Scanner {
        let mut patterns: Vec<String> = Vec::new();
        let mut enables: Vec<Vec<usize>> = Vec::new();
        for (i, r) in rules.rules.iter().enumerate() {
            for k in r.keywords.iter().filter(|k| !k.is_empty()) {
                let k = k.to_ascii_lowercase();
                match patterns.iter().position(|p| *p == k) {
                    Some(j) => enables[j].push(i),
                    None => {
                        patterns.push(k);
                        enables.push(vec![i]);
                    }
                }
            }
        }
        let keywords = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            // Literal keywords always build; an empty set builds an automaton that never matches.
            .expect("keywords are plain literals");
        Scanner {
            rules,
            keywords,
            enables,
        }
    }

    /// The built-in rules.
    pub fn builtin() -> Scanner {
        Scanner::new(Rules::builtin())
    }

    pub fn rule(&self, i: usize) -> &Rule {
        &self.rules.rules[i]
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules.rules
    }

    /// Every secret in `input`, in order of position.
    pub fn scan(&self, input: &[u8]) -> Vec<Match> {
        let n = self.rules.rules.len();
        let mut enabled = vec![false; n];
        let mut left = n;
        for m in self.keywords.find_overlapping_iter(input) {
            for &r in &self.enables[m.pattern().as_usize()] {
                if !enabled[r] {
                    enabled[r] = true;
                    left -= 1;
                }
            }
            if left == 0 {
                break;
            }
        }
        let mut out = Vec::new();
        for (i, rule) in self.rules.rules.iter().enumerate() {
            if !enabled[i] {
                continue;
            }
            for caps in rule.regex.captures_iter(input) {
                let Some(m) = caps.get(rule.group).or_else(|| caps.get(0)) else {
                    continue;
                };
                let Ok(value) = std::str::from_utf8(m.as_bytes()) else {
                    continue;
                };
                if !rule.accepts(value) {
                    continue;
                }
                out.push(Match {
                    rule: i,
                    start: m.start(),
                    end: m.end(),
                    line: 0,
                    column: 0,
                    secret: Secret::new(value),
                    identifier: rule.identifier.then(|| value.to_string()),
                });
            }
        }
        // One secret, one match: where spans overlap, the rule listed first
        // (the more specific one) keeps it and the generic one drops it.
        out.sort_by_key(|m| (m.rule, m.start));
        let mut kept: Vec<Match> = Vec::with_capacity(out.len());
        for m in out {
            let clash = kept
                .iter()
                .any(|k| k.rule != m.rule && k.start < m.end && m.start < k.end);
            if !clash {
                kept.push(m);
            }
        }
        let mut out = kept;
        out.sort_by_key(|m| (m.start, m.rule));
        // Lines and columns in one pass over the input, in position order.
        let (mut line, mut line_start, mut at) = (1u64, 0usize, 0usize);
        for m in &mut out {
            for (off, &b) in input[at..m.start].iter().enumerate() {
                if b == b'\n' {
                    line += 1;
                    line_start = at + off + 1;
                }
            }
            at = m.start;
            m.line = line;
            m.column = (m.start - line_start) as u64 + 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_carry_rule_line_and_column_and_no_printable_value() {
        let s = Scanner::builtin();
        let key = format!("AKIA{}", "QYLPMN5HFIQR7ZTC");
        let text = format!("# config\n\nregion = us-east-1\naws_access_key_id = {key}\n");
        let found = s.scan(text.as_bytes());
        assert_eq!(found.len(), 1);
        let m = &found[0];
        assert_eq!(s.rule(m.rule).id, "aws-access-key-id");
        assert_eq!((m.line, m.column), (4, 21));
        assert_eq!(&text[m.start..m.end], key);
        assert_eq!(
            m.identifier.as_deref(),
            Some(key.as_str()),
            "an id is not secret"
        );
        let token = format!("ghp_{}{}", "CustodyExampleNotARealToken001", "1VcBGt");
        let found = s.scan(format!("x = {token}").as_bytes());
        assert_eq!(found.len(), 1);
        assert!(found[0].identifier.is_none());
        assert!(
            !format!("{:?}", found[0]).contains(&token),
            "Debug shows only a preview"
        );
    }

    #[test]
    fn a_secret_two_rules_match_is_reported_by_the_specific_one() {
        let s = Scanner::builtin();
        let secret = format!("abc8Q~{}", "Zq81LmNo4PvWx7Rt2Ys5Ku9Ab3CdE6fG");
        let found = s.scan(format!("client_secret = \"{secret}\"").as_bytes());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(s.rule(found[0].rule).id, "azure-client-secret");
    }

    #[test]
    fn inputs_without_keywords_run_no_pattern() {
        let s = Scanner::builtin();
        assert!(s.scan(b"fn main() { println!(\"hello\"); }").is_empty());
        assert!(s.scan(b"").is_empty());
    }
}
