//! GitHub Actions workflows: which repository secrets a workflow reads.
//!
//! GitHub never returns an Actions secret's value (the API lists names and
//! dates only), so a scan cannot fingerprint one. What a workflow file does
//! show is which secrets it passes where: `${{ secrets.NAME }}` in a step. When
//! the same step names an AWS access key id (a literal: key ids are not secret,
//! and `aws-actions/configure-aws-credentials` takes one), the secret beside it
//! is that key's secret access key, and the Actions secret is one more place
//! the credential is stored.

use regex::Regex;
use std::sync::OnceLock;

/// `${{ secrets.NAME }}` (or `secrets['NAME']`) at a line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    pub name: String,
    pub line: u64,
    pub column: u64,
}

/// A workflow file: `.github/workflows/*.yml` or `*.yaml`.
pub fn is_workflow(path: &str) -> bool {
    let p = path.replace('\\', "/");
    (p.starts_with(".github/workflows/") || p.contains("/.github/workflows/"))
        && (p.ends_with(".yml") || p.ends_with(".yaml"))
}

/// The repository a workflow file on disk belongs to: the folder holding `.github`.
pub fn repository_of(path: &str) -> &str {
    path.split_once("/.github/workflows/")
        .map_or(".", |(repo, _)| repo)
}

fn pattern() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        // Inside an expression: `secrets.NAME` or `secrets['NAME']` / `secrets["NAME"]`.
        Regex::new(
            r#"\$\{\{(?:[^}]|\}[^}])*?\bsecrets(?:\.([A-Za-z_][A-Za-z0-9_-]*)|\[\s*['"]([A-Za-z_][A-Za-z0-9_-]*)['"]\s*\])"#,
        )
        .unwrap_or_else(|e| panic!("the built-in workflow pattern is valid: {e}"))
    })
}

/// Every secret the workflow references, in order. `GITHUB_TOKEN` is left
/// out: GitHub mints it for each run; it is not a stored secret.
pub fn references(text: &str) -> Vec<SecretRef> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        // A YAML comment is not a reference.
        let code = line.split(" #").next().unwrap_or(line);
        if code.trim_start().starts_with('#') {
            continue;
        }
        for c in pattern().captures_iter(code) {
            let Some(m) = c.get(1).or_else(|| c.get(2)) else {
                continue;
            };
            if m.as_str().eq_ignore_ascii_case("GITHUB_TOKEN") {
                continue;
            }
            out.push(SecretRef {
                name: m.as_str().to_string(),
                line: i as u64 + 1,
                column: m.start() as u64 + 1,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_found_with_their_lines() {
        let wf = "name: deploy\non: push\njobs:\n  d:\n    runs-on: ubuntu-latest\n    steps:\n      # ${{ secrets.OLD }} is gone\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}\n          token: ${{ secrets['NPM_TOKEN'] }}\n      - run: echo ${{ secrets.GITHUB_TOKEN }} ${{ github.sha }}\n        env:\n          X: ${{ format('{0}', secrets.SLACK_WEBHOOK) }}\n";
        let refs = references(wf);
        let names: Vec<&str> = refs.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["AWS_SECRET_ACCESS_KEY", "NPM_TOKEN", "SLACK_WEBHOOK"]
        );
        assert_eq!((refs[0].line, refs[0].column), (10, 46));
    }

    #[test]
    fn workflow_paths() {
        assert!(is_workflow(".github/workflows/ci.yml"));
        assert!(is_workflow("src/app/.github/workflows/release.yaml"));
        assert!(!is_workflow(".github/dependabot.yml"));
        assert_eq!(repository_of("src/app/.github/workflows/ci.yml"), "src/app");
    }
}
