//! IAM wildcard matching: `*` matches any run of characters (including `:` and
//! `/`), `?` matches one character. Actions compare case-insensitively, ARNs
//! case-sensitively.

/// Does `pattern` (with `*` and `?`) match `text`?
pub fn matches(pattern: &str, text: &str, ignore_case: bool) -> bool {
    if pattern == "*" {
        return true;
    }
    // Byte by byte is character by character, except where `?` (one
    // character) meets a character of several bytes: a literal run of the
    // pattern is whole characters, so it can only match whole characters of
    // the text, and case folding is ASCII's either way.
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    if !p.contains(&b'?') || (pattern.is_ascii() && text.is_ascii()) {
        return if ignore_case {
            glob(p, t, |a: u8, b: u8| a.eq_ignore_ascii_case(&b))
        } else {
            glob(p, t, |a: u8, b: u8| a == b)
        };
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    glob(&p, &t, |a: char, b: char| {
        if ignore_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    })
}

/// Iterative glob with backtracking to the last star: O(len(p) * len(t)) worst case.
fn glob<C: Copy + PartialEq + From<u8>>(p: &[C], t: &[C], eq: impl Fn(C, C) -> bool) -> bool {
    let (star_c, any_c) = (C::from(b'*'), C::from(b'?'));
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == any_c || (p[pi] != star_c && eq(p[pi], t[ti]))) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == star_c {
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
    while pi < p.len() && p[pi] == star_c {
        pi += 1;
    }
    pi == p.len()
}

/// An action pattern (`s3:Get*`, `*`, `iam:*AccessKey*`) against an action (`s3:GetObject`).
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
    }
}
