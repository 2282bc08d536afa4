//! GitHub `CODEOWNERS`: who must review a change to a path, read as
//! ownership evidence for the infrastructure code under it.
//!
//! GitHub reads the first of `.github/CODEOWNERS`, `CODEOWNERS` and
//! `docs/CODEOWNERS` on the branch ([`priority`]). Each line is a pattern and
//! its owners (`@login`, `@org/team-slug`, or an e-mail address); `#` starts
//! a comment; the *last* matching line wins, and a line with no owners leaves
//! the path unowned. Patterns follow `.gitignore` rules with GitHub's
//! exceptions: `!` negation and `[ ]` ranges are not supported (such lines
//! are reported and skipped, as GitHub skips them), and `docs/*` matches files
//! directly in `docs/` only.

use regex::Regex;

/// Where GitHub looks for the file, first found wins: 0 is read before 1.
pub fn priority(path: &str) -> Option<u8> {
    match path {
        ".github/CODEOWNERS" => Some(0),
        "CODEOWNERS" => Some(1),
        "docs/CODEOWNERS" => Some(2),
        _ => None,
    }
}

/// One line: a pattern and its owners.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The pattern as written.
    pub pattern: String,
    /// `@login`, `@org/team` or e-mail addresses, as written.
    pub owners: Vec<String>,
    /// 1-based line number.
    pub line: u64,
    re: Regex,
}

/// A parsed `CODEOWNERS` file.
#[derive(Debug, Clone, Default)]
pub struct CodeOwners {
    pub rules: Vec<Rule>,
    /// Lines GitHub would skip, with why (line number, message).
    pub errors: Vec<(u64, String)>,
}

/// What an owner entry names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner<'a> {
    /// `@login`.
    User(&'a str),
    /// `@org/team-slug`: (org, slug).
    Team(&'a str, &'a str),
    /// `someone@example.com`.
    Email(&'a str),
}

impl Rule {
    pub fn owners(&self) -> impl Iterator<Item = Owner<'_>> {
        self.owners
            .iter()
            .filter_map(|o| match o.strip_prefix('@') {
                Some(rest) => match rest.split_once('/') {
                    Some((org, team)) if !org.is_empty() && !team.is_empty() => {
                        Some(Owner::Team(org, team))
                    }
                    Some(_) => None,
                    None if !rest.is_empty() => Some(Owner::User(rest)),
                    None => None,
                },
                None if o.contains('@') => Some(Owner::Email(o)),
                None => None,
            })
    }
}

impl CodeOwners {
    pub fn parse(text: &str) -> CodeOwners {
        let mut out = CodeOwners::default();
        for (i, raw) in text.lines().enumerate() {
            let line = i as u64 + 1;
            // `#` starts a comment unless escaped (`\#` in a pattern).
            let mut content = String::new();
            let mut chars = raw.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '\\' if chars.peek() == Some(&'#') => {
                        content.push('\\');
                        content.push('#');
                        chars.next();
                    }
                    '#' => break,
                    c => content.push(c),
                }
            }
            let mut parts = content.split_whitespace();
            let Some(pattern) = parts.next() else {
                continue;
            };
            let owners: Vec<String> = parts.map(str::to_string).collect();
            match compile(pattern) {
                Ok(re) => out.rules.push(Rule {
                    pattern: pattern.replace("\\#", "#"),
                    owners,
                    line,
                    re,
                }),
                Err(why) => out.errors.push((line, format!("`{pattern}`: {why}"))),
            }
        }
        out
    }

    /// The rule that decides `path` (relative to the repository root): the
    /// last one that matches. Its owners may be empty (explicitly unowned).
    pub fn rule_for(&self, path: &str) -> Option<&Rule> {
        let path = path.trim_start_matches('/');
        self.rules.iter().rev().find(|r| r.re.is_match(path))
    }
}

/// A `.gitignore`-style pattern as an anchored regex over a file's path.
fn compile(pattern: &str) -> Result<Regex, String> {
    if pattern.starts_with('!') {
        return Err("negation (`!`) is not supported in CODEOWNERS".into());
    }
    if pattern.contains('[') || pattern.contains(']') {
        return Err("character ranges (`[ ]`) are not supported in CODEOWNERS".into());
    }
    let dir_only = pattern.ends_with('/') && pattern.len() > 1;
    let body = pattern.trim_end_matches('/');
    // A slash at the start or in the middle anchors it to the root.
    let anchored = body.contains('/');
    let body = body.trim_start_matches('/');
    if body.is_empty() {
        return Err("the pattern is empty".into());
    }
    let last_has_wildcard = body.rsplit('/').next().is_some_and(|s| s.contains('*'));
    let mut re = String::from(if anchored { "^" } else { "^(?:.*/)?" });
    let b = body.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"**/") {
            re.push_str("(?:.*/)?");
            i += 3;
        } else if b[i..].starts_with(b"**") {
            re.push_str(".*");
            i += 2;
        } else if b[i] == b'*' {
            re.push_str("[^/]*");
            i += 1;
        } else if b[i] == b'?' {
            re.push_str("[^/]");
            i += 1;
        } else if b[i..].starts_with(b"\\#") {
            re.push('#');
            i += 2;
        } else {
            // Multi-byte characters: copy the whole character, escaped.
            let ch = body[i..].chars().next().unwrap_or('?');
            re.push_str(&regex::escape(ch.encode_utf8(&mut [0; 4])));
            i += ch.len_utf8();
        }
    }
    re.push_str(if dir_only {
        "/.*$"
    } else if last_has_wildcard {
        "$"
    } else {
        // A name matches the file, or the directory and all under it.
        "(?:/.*)?$"
    });
    Regex::new(&re).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner_of<'a>(c: &'a CodeOwners, path: &str) -> Option<&'a str> {
        c.rule_for(path)
            .map(|r| r.owners.first().map_or("", String::as_str))
    }

    // The examples of GitHub's CODEOWNERS documentation.
    const GITHUB: &str = "\
# This is a comment.
*       @global-owner1 @global-owner2
*.js    @js-owner #This is an inline comment.
*.go docs@example.com
*.txt @octo-org/octocats
/build/logs/ @doctocat
docs/*  docs@example.com
apps/ @octocat
/docs/ @doctocat
/scripts/ @doctocat @octocat
**/logs @octocat
/apps/ @octocat
/apps/github
/apps/ @octocat
/apps/github @doctocat
";

    #[test]
    fn githubs_documented_examples() {
        let c = CodeOwners::parse(GITHUB);
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        assert_eq!(owner_of(&c, "README.md"), Some("@global-owner1"));
        assert_eq!(owner_of(&c, "src/app.js"), Some("@js-owner"));
        assert_eq!(owner_of(&c, "main.go"), Some("docs@example.com"));
        assert_eq!(owner_of(&c, "a/b/notes.txt"), Some("@octo-org/octocats"));
        assert_eq!(owner_of(&c, "build/logs/x.log"), Some("@octocat")); // `**/logs` is later
        assert_eq!(owner_of(&c, "scripts/deploy.sh"), Some("@doctocat"));
        assert_eq!(owner_of(&c, "deep/logs/y"), Some("@octocat"));
        assert_eq!(owner_of(&c, "apps/github/index.rb"), Some("@doctocat"));
        assert_eq!(owner_of(&c, "apps/web/index.rb"), Some("@octocat"));
        // `docs/*` is files directly in docs/; `/docs/` (later) is all of it.
        assert_eq!(owner_of(&c, "docs/getting-started.md"), Some("@doctocat"));
        let owners: Vec<Owner> = c
            .rule_for("x.txt")
            .into_iter()
            .flat_map(Rule::owners)
            .collect();
        assert_eq!(owners, vec![Owner::Team("octo-org", "octocats")]);
    }

    #[test]
    fn nested_wildcards_and_unowned_lines() {
        let c = CodeOwners::parse("docs/* @docs\n/terraform/ @org/platform\n/terraform/sandbox/\n");
        assert_eq!(owner_of(&c, "docs/a.md"), Some("@docs"));
        assert_eq!(owner_of(&c, "docs/deep/a.md"), None);
        assert_eq!(
            owner_of(&c, "terraform/prod/main.tf"),
            Some("@org/platform")
        );
        // A line without owners: the path is explicitly unowned.
        assert_eq!(owner_of(&c, "terraform/sandbox/main.tf"), Some(""));
        assert!(CodeOwners::parse("* @a\n").rule_for("x/y/z.tf").is_some());
    }

    #[test]
    fn unsupported_lines_are_reported_and_skipped() {
        let c = CodeOwners::parse("!secret.tf @a\n[ab].tf @b\n*.tf @c\n");
        assert_eq!(c.errors.len(), 2);
        assert_eq!(c.errors[0].0, 1);
        assert_eq!(owner_of(&c, "x.tf"), Some("@c"));
    }

    #[test]
    fn only_the_three_documented_places_count() {
        assert_eq!(priority(".github/CODEOWNERS"), Some(0));
        assert_eq!(priority("CODEOWNERS"), Some(1));
        assert_eq!(priority("docs/CODEOWNERS"), Some(2));
        assert_eq!(priority("src/CODEOWNERS"), None);
    }
}
