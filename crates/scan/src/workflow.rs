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

/// A cloud identity a workflow assumes with GitHub's OIDC token instead of a
/// stored secret: `aws-actions/configure-aws-credentials` with
/// `role-to-assume`, or `google-github-actions/auth` with
/// `workload_identity_provider` and `service_account`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcTarget {
    /// `aws` or `gcp`.
    pub cloud: &'static str,
    /// The role ARN or the service account's e-mail.
    pub target: String,
    /// The Workload Identity Federation provider, for Google Cloud.
    pub provider: Option<String>,
    pub line: u64,
    pub column: u64,
}

fn oidc_patterns() -> &'static [(Regex, &'static str); 4] {
    static RE: OnceLock<[(Regex, &'static str); 4]> = OnceLock::new();
    RE.get_or_init(|| {
        let re = |p: &str| {
            Regex::new(p).unwrap_or_else(|e| panic!("the built-in workflow pattern is valid: {e}"))
        };
        [
            (
                re(r#"^\s*-?\s*role-to-assume\s*:\s*['"]?(arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+)"#),
                "aws",
            ),
            (
                re(r#"^\s*-?\s*service_account\s*:\s*['"]?([\w.-]+@[\w.-]+\.gserviceaccount\.com)"#),
                "gcp",
            ),
            (
                re(r#"^\s*-?\s*workload_identity_provider\s*:\s*['"]?(projects/[\w-]+/locations/global/workloadIdentityPools/[\w-]+/providers/[\w-]+)"#),
                "gcp-provider",
            ),
            // azure/login with OIDC: the app (client) id the token is exchanged for.
            (
                re(r#"^\s*-?\s*client-id\s*:\s*['"]?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"#),
                "azure",
            ),
        ]
    })
}

/// The cloud identities a workflow assumes through OIDC, and whether it asks
/// for the token (`permissions: id-token: write`, at the workflow or a job).
pub fn oidc_targets(text: &str) -> (Vec<OidcTarget>, bool) {
    let mut out: Vec<OidcTarget> = Vec::new();
    let mut provider: Option<(String, u64)> = None;
    let mut id_token = false;
    for (i, line) in text.lines().enumerate() {
        let code = line.split(" #").next().unwrap_or(line);
        if code.trim_start().starts_with('#') {
            continue;
        }
        let t = code.trim();
        if t.replace(' ', "") == "id-token:write" || t == "permissions: write-all" {
            id_token = true;
        }
        for (re, cloud) in oidc_patterns() {
            let Some(m) = re.captures(code).and_then(|c| c.get(1)) else {
                continue;
            };
            let line = i as u64 + 1;
            if *cloud == "gcp-provider" {
                provider = Some((m.as_str().to_string(), line));
                continue;
            }
            out.push(OidcTarget {
                cloud: match *cloud {
                    "aws" => "aws",
                    "azure" => "azure",
                    _ => "gcp",
                },
                target: m.as_str().to_string(),
                provider: None,
                line,
                column: m.start() as u64 + 1,
            });
        }
    }
    // The auth step names its provider beside the account, in either order.
    if let Some((p, pline)) = provider {
        for t in out.iter_mut().filter(|t| t.cloud == "gcp") {
            if t.line.abs_diff(pline) <= 6 {
                t.provider = Some(p.clone());
            }
        }
    }
    (out, id_token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oidc_targets_are_found() {
        let wf = "permissions:\n  id-token: write\n  contents: read\njobs:\n  deploy:\n    steps:\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          role-to-assume: arn:aws:iam::111122223333:role/gh-deploy\n          aws-region: us-east-1\n      - uses: google-github-actions/auth@v2\n        with:\n          workload_identity_provider: 'projects/123456/locations/global/workloadIdentityPools/github/providers/actions'\n          service_account: 'deployer@acme-prod.iam.gserviceaccount.com'\n      # role-to-assume: arn:aws:iam::111122223333:role/old\n      - uses: azure/login@v2\n        with:\n          client-id: 0d6c1b4e-1f5a-4c1e-9a55-2f0b8a7c9e11\n          tenant-id: ${{ secrets.AZURE_TENANT_ID }}\n";
        let (t, id_token) = oidc_targets(wf);
        assert!(id_token);
        assert_eq!(t.len(), 3);
        assert_eq!(
            (t[2].cloud, t[2].target.as_str()),
            ("azure", "0d6c1b4e-1f5a-4c1e-9a55-2f0b8a7c9e11")
        );
        assert_eq!(
            (t[0].cloud, t[0].target.as_str(), t[0].line),
            ("aws", "arn:aws:iam::111122223333:role/gh-deploy", 9)
        );
        assert_eq!(t[1].target, "deployer@acme-prod.iam.gserviceaccount.com");
        assert!(t[1]
            .provider
            .as_deref()
            .unwrap()
            .ends_with("providers/actions"));
        let (none, id_token) = oidc_targets("jobs:\n  a:\n    steps:\n      - run: make\n");
        assert!(none.is_empty() && !id_token);
    }

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
