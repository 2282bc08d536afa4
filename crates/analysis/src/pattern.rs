//! IAM wildcard matching: `*` matches any run of characters (including `:` and
//! `/`), `?` matches one character. Actions compare case-insensitively, ARNs
//! case-sensitively.

/// Does `pattern` (with `*` and `?`) match `text`?
pub fn matches(pattern: &str, text: &str, ignore_case: bool) -> bool {
    if pattern == "*" {
        return true;
    }
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    if ignore_case {
        glob(p, t, |a, b| a.eq_ignore_ascii_case(&b))
    } else {
        glob(p, t, |a, b| a == b)
    }
}

/// Byte by byte is character by character, but for `?`. A literal run of
/// the pattern is whole characters, so it matches only whole characters of
/// the text: its first byte never equals a continuation byte. `?` takes one
/// byte and the continuation bytes after it: from a character's first byte,
/// that character; from inside one (where backing up over a `*` may
/// land), the rest of it, which is what the `*` taking that whole character
/// and `?` the next would give. So no pattern is scanned first for `?` or
/// non-ASCII text, a cost every evaluation paid (a third of a one-off blast
/// radius's time at 10,000 people).
fn glob(p: &[u8], t: &[u8], eq: impl Fn(u8, u8) -> bool) -> bool {
    let one_char = |mut i: usize| {
        i += 1;
        while i < t.len() && t[i] & 0xC0 == 0x80 {
            i += 1;
        }
        i
    };
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'?' {
            pi += 1;
            ti = one_char(ti);
        } else if pi < p.len() && p[pi] != b'*' && eq(p[pi], t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

pub fn action_matches(pattern: &str, action: &str) -> bool {
    matches(pattern, action, true)
}

/// A resource pattern (`arn:aws:s3:::bucket/*`, `*`) against an ARN.
pub fn resource_matches(pattern: &str, arn: &str) -> bool {
    matches(pattern, arn, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_iam_does() {
        assert!(action_matches("*", "s3:GetObject"));
        assert!(
            action_matches("s3:get*", "s3:GetObject"),
            "actions ignore case"
        );
        assert!(
            action_matches("iam:*AccessKey*", "iam:CreateAccessKey"),
            "a star in the middle"
        );
        assert!(action_matches("iam:*AccessKey*", "iam:UpdateAccessKey"));
        assert!(!action_matches("iam:*AccessKey*", "iam:CreateUser"));
        assert!(action_matches(
            "ec2:Describe?nstances",
            "ec2:DescribeInstances"
        ));
        assert!(!action_matches("s3:Get", "s3:GetObject"));
        assert!(
            resource_matches("arn:aws:s3:::logs-*/*", "arn:aws:s3:::logs-prod/2024/a.gz"),
            "a star spans slashes"
        );
        assert!(
            resource_matches("arn:aws:iam::*:role/*", "arn:aws:iam::123456789012:role/x"),
            "and colons"
        );
        assert!(
            !resource_matches("arn:aws:s3:::Logs/*", "arn:aws:s3:::logs/a"),
            "ARNs are case-sensitive"
        );
        assert!(resource_matches("*", ""));
        assert!(
            resource_matches("arn:aws:s3:::caf?/*", "arn:aws:s3:::café/menü"),
            "`?` is one character, however many bytes"
        );
        assert!(!resource_matches("arn:aws:s3:::caf??", "arn:aws:s3:::café"));
        assert!(action_matches("s3:*ü", "S3:Menü"));
        assert!(
            !action_matches("s3:*Ü", "s3:menü"),
            "case folds in ASCII only"
        );
        assert!(!resource_matches("a*b*c", "abx"));
        assert!(
            !resource_matches("*??", "€"),
            "backing up into a character of three bytes leaves one character, not two"
        );
        assert!(resource_matches("*?", "€"));
        assert!(resource_matches("x*??y", "x€éy"));
        assert!(!resource_matches("x*???y", "x€éy"));
        assert!(resource_matches("*€?", "a€€"));
    }

    /// Every pattern of up to four symbols against every text of up to
    /// three characters, ASCII and not, beside a matcher over characters.
    #[test]
    fn bytes_match_as_characters_would() {
        fn by_chars(p: &[char], t: &[char]) -> bool {
            match p.split_first() {
                None => t.is_empty(),
                Some(('*', rest)) => (0..=t.len()).any(|i| by_chars(rest, &t[i..])),
                Some(('?', rest)) => !t.is_empty() && by_chars(rest, &t[1..]),
                Some((c, rest)) => t.first() == Some(c) && by_chars(rest, &t[1..]),
            }
        }
        fn all(symbols: &[char], up_to: usize) -> Vec<String> {
            let mut out = vec![String::new()];
            let mut last = vec![String::new()];
            for _ in 0..up_to {
                last = last
                    .iter()
                    .flat_map(|s| symbols.iter().map(move |c| format!("{s}{c}")))
                    .collect();
                out.extend(last.iter().cloned());
            }
            out
        }
        let texts = all(&['a', 'é', '€'], 3);
        for pattern in all(&['a', 'é', '€', '*', '?'], 4) {
            let pc: Vec<char> = pattern.chars().collect();
            for text in &texts {
                let tc: Vec<char> = text.chars().collect();
                assert_eq!(
                    resource_matches(&pattern, text),
                    by_chars(&pc, &tc),
                    "`{pattern}` against `{text}`"
                );
            }
        }
    }
}
