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
    /// The account, workspace, org or host the format names beside the
    /// secret (the rule's `account` group), when it has one.
    pub account: Option<String>,
}

pub struct Scanner {
    rules: Rules,
    keywords: AhoCorasick,
    /// Keyword pattern index → the rules it enables.
    enables: Vec<Vec<usize>>,
    /// Some rule runs in windows: every keyword hit must be seen.
    windowed: bool,
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
        // Every occurrence of every keyword, overlapping ones included (a
        // keyword inside or across another still enables its rules). With a
        // few hundred keywords no SIMD prefilter applies, so the automaton is
        // a DFA: one table lookup per byte.
        let keywords = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(&patterns)
            // Literal keywords always build; an empty set builds an automaton that never matches.
            .expect("keywords are plain literals");
        let windowed = rules.rules.iter().any(|r| r.window.is_some());
        Scanner {
            rules,
            keywords,
            enables,
            windowed,
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
        let rules = &self.rules.rules;
        let n = rules.len();
        let mut enabled = vec![false; n];
        // Windowed rules: the merged byte ranges around their keyword hits.
        let mut windows: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
        let mut left = n;
        // Enables a keyword's rules (and widens their windows); returns how
        // many rules it newly enabled.
        let mut hit = |pattern: usize, start: usize, end: usize| {
            let mut newly = 0;
            for &r in &self.enables[pattern] {
                if !enabled[r] {
                    enabled[r] = true;
                    newly += 1;
                }
                if let Some(w) = rules[r].window {
                    let (a, b) = (start.saturating_sub(w), (end + w).min(input.len()));
                    // Hits come in order of their end: merged here when they
                    // touch the last window, sorted and merged again below.
                    match windows[r].last_mut() {
                        Some(last) if a <= last.1 && b >= last.0 => {
                            *last = (last.0.min(a), last.1.max(b));
                        }
                        _ => windows[r].push((a, b)),
                    }
                }
            }
            newly
        };
        for m in self.keywords.find_overlapping_iter(input) {
            left -= hit(m.pattern().as_usize(), m.start(), m.end());
            if left == 0 && !self.windowed {
                break;
            }
        }
        for w in windows.iter_mut().filter(|w| w.len() > 1) {
            w.sort_unstable();
            let mut merged: Vec<(usize, usize)> = Vec::with_capacity(w.len());
            for &(a, b) in w.iter() {
                match merged.last_mut() {
                    Some(last) if a <= last.1 => last.1 = last.1.max(b),
                    _ => merged.push((a, b)),
                }
            }
            *w = merged;
        }
        let mut out = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            if !enabled[i] {
                continue;
            }
            let whole = [(0, input.len())];
            let ranges: &[(usize, usize)] = if rule.window.is_some() {
                &windows[i]
            } else {
                &whole
            };
            for &(from, to) in ranges {
                // Searched from `from` in the input itself (not a slice of
                // it), so `\b` and other look-behind see the byte before the
                // window; ended at `to`.
                let hay = &input[..to];
                let mut at = from;
                while at <= to {
                    let Some(caps) = rule.regex.captures_at(hay, at) else {
                        break;
                    };
                    let Some(whole) = caps.get(0) else {
                        break;
                    };
                    at = whole.end().max(whole.start() + 1);
                    let Some(m) = caps.get(rule.group).or_else(|| caps.get(0)) else {
                        continue;
                    };
                    let Ok(value) = std::str::from_utf8(m.as_bytes()) else {
                        continue;
                    };
                    if !rule.accepts(value) {
                        continue;
                    }
                    let name = caps.name("name").map(|n| {
                        let (mut start, end) = (n.start(), n.end());
                        if rule.name_before {
                            let floor = start.saturating_sub(40);
                            while start > floor
                                && matches!(input[start - 1], b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-')
                            {
                                start -= 1;
                            }
                        }
                        &input[start..end]
                    });
                    if name.is_some_and(|n| !rule.accepts_name(&String::from_utf8_lossy(n))) {
                        continue;
                    }
                    let account = rule
                        .account_group
                        .and_then(|g| caps.get(g))
                        .and_then(|a| std::str::from_utf8(a.as_bytes()).ok())
                        .map(str::to_string);
                    if account.as_deref().is_some_and(|a| !rule.accepts_account(a)) {
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
                        account,
                    });
                }
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
    fn keywords_hidden_inside_another_still_enable_their_rules() {
        let rules = Rules::parse(
            r#"
[[rule]]
id = "a"
name = "a"
provider = "p"
kind = "k"
pattern = 'aws_secret=(?P<secret>[0-9]{8})'
keywords = ["aws_secret"]
[[rule]]
id = "b"
name = "b"
provider = "p"
kind = "k"
pattern = 'secret_access_key=(?P<secret>[a-z]{8})'
keywords = ["secret_access_key"]
"#,
        )
        .unwrap();
        let s = Scanner::new(rules);
        // The leftmost keyword is `aws_secret`; `secret_access_key` overlaps it.
        let found = s.scan(b"aws_secret_access_key=abcdefgh");
        assert_eq!(found.len(), 1);
        assert_eq!(s.rule(found[0].rule).id, "b");
    }

    #[test]
    fn a_keyword_starting_where_another_does_enables_its_rule() {
        let rules = Rules::parse(
            r#"
[[rule]]
id = "short"
name = "short"
provider = "p"
kind = "k"
pattern = 'abc=(?P<secret>[0-9]{8})'
keywords = ["abc"]
[[rule]]
id = "long"
name = "long"
provider = "p"
kind = "k"
pattern = 'abcdef=(?P<secret>[a-z]{8})'
keywords = ["abcdef"]
"#,
        )
        .unwrap();
        let s = Scanner::new(rules);
        let found = s.scan(b"x abcdef=qwertyui");
        assert_eq!(found.len(), 1);
        assert_eq!(s.rule(found[0].rule).id, "long");
    }

    #[test]
    fn inputs_without_keywords_run_no_pattern() {
        let s = Scanner::builtin();
        assert!(s.scan(b"fn main() { println!(\"hello\"); }").is_empty());
        assert!(s.scan(b"").is_empty());
    }
}
