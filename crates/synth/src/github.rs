//! The company's GitHub organisation as its REST API (and one GraphQL query)
//! returns it, each response saved under its API path below `github/`:
//! members, teams and their members, SAML identities, App installations,
//! fine-grained PATs approved for the org, SAML credential authorizations
//! (classic PATs, SSH keys), and per repository its Actions secrets (names
//! and dates only, as GitHub returns them) and deploy keys.

use crate::names::COMPONENTS;
use crate::people::Org;
use crate::rng::Rng;
use crate::surfaces::org_slug;
use crate::write::Writer;
use crate::SynthError;
use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};

pub struct GithubOut {
    pub repos: usize,
    pub nhis: Vec<(&'static str, usize)>,
    /// Each active engineer's login, by person index.
    pub logins: Vec<Option<String>>,
    /// The planted leaver's tokens (natural keys).
    pub planted: Vec<String>,
    /// Every repository written: (name, team).
    pub repo_names: Vec<(String, String)>,
}

/// A person's login: enterprise-managed style, `<handle>_<org>`.
pub fn login(email: &str, org: &str) -> String {
    let handle = email.split('@').next().unwrap_or(email).replace('.', "-");
    format!("{handle}_{org}")
}

fn ts(d: NaiveDate, secs: i64) -> String {
    format!(
        "{d}T{:02}:{:02}:{:02}Z",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}

fn engineer(dept: &str) -> bool {
    dept == "Engineering" || dept == "Security"
}

pub fn write(w: &mut Writer, rng: &mut Rng, org: &Org) -> Result<GithubOut, SynthError> {
    let slug = org_slug(&org.domain).to_string();
    let base = format!("github/orgs/{slug}");
    let api = "https://api.github.com";
    let days = |rng: &mut Rng, lo: i64, hi: i64| org.as_of - Duration::days(rng.range(lo, hi));
    let mut out = GithubOut {
        repos: 0,
        nhis: Vec::new(),
        logins: vec![None; org.people.len()],
        planted: Vec::new(),
        repo_names: Vec::new(),
    };
    // Members: every engineer still employed; SAML links each login to the IdP.
    let mut members = Vec::new();
    let mut identities = Vec::new();
    for (i, p) in org.people.iter().enumerate() {
        // The planted leaver is still a member: SCIM deprovisioning has not
        // reached GitHub (the gap offboarding closes).
        if !engineer(p.department) || (p.terminated.is_some() && !p.planted) {
            continue;
        }
        let l = login(&p.email, &slug);
        let id = 10_000_000 + i as u64;
        members.push(
            json!({"login": l, "id": id, "node_id": format!("MDQ6VXNlcj{id}"),
            "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
            "url": format!("{api}/users/{l}"), "html_url": format!("https://github.com/{l}"),
            "type": "User", "site_admin": false}),
        );
        identities.push(
            json!({"node": {"guid": format!("{:08x}-saml", crate::surfaces_hash(&l)),
            "samlIdentity": {"nameId": p.email}, "user": {"login": l}}}),
        );
        out.logins[i] = Some(l);
    }
    w.json(
        &format!("{base}/members.json"),
        &Value::Array(members.clone()),
        false,
    )?;
    w.json(
        &format!("{base}/saml-identities.json"),
        &json!({"data": {"organization": {"samlIdentityProvider": {"externalIdentities": {
            "pageInfo": {"hasNextPage": false, "endCursor": null}, "edges": identities}}}}}),
        false,
    )?;
    // Teams: the engineering teams, with their active members.
    let mut teams = Vec::new();
    for (t, team) in org.teams.iter().enumerate() {
        let team_members: Vec<Value> = team
            .members
            .iter()
            .filter_map(|&m| {
                let l = out.logins[m].as_ref()?;
                members.iter().find(|v| v["login"] == json!(l)).cloned()
            })
            .collect();
        if team_members.is_empty() {
            continue;
        }
        teams.push(json!({"id": 100 + t, "node_id": format!("MDQ6VGVhbT{t}"), "name": team.name, "slug": team.name,
            "description": format!("{} team", team.name), "privacy": "closed", "notification_setting": "notifications_enabled",
            "permission": "pull", "url": format!("{api}/organizations/1/team/{}", 100 + t),
            "html_url": format!("https://github.com/orgs/{slug}/teams/{}", team.name),
            "members_url": format!("{api}/organizations/1/team/{}/members{{/member}}", 100 + t),
            "repositories_url": format!("{api}/organizations/1/team/{}/repos", 100 + t), "parent": null}));
        w.json(
            &format!("{base}/teams/{}/members.json", team.name),
            &Value::Array(team_members),
            false,
        )?;
    }
    w.json(&format!("{base}/teams.json"), &Value::Array(teams), false)?;

    // Repositories: a few per team; each with Actions secrets and deploy keys.
    let mut deploy_keys = 0;
    let mut key_id = 60_000_000u64;
    for team in &org.teams {
        let n = 2 + rng.below(4);
        let mut seen = Vec::new();
        for _ in 0..n {
            let repo = format!("{}-{}", team.name, rng.pick(COMPONENTS));
            if seen.contains(&repo) {
                continue;
            }
            seen.push(repo.clone());
            out.repos += 1;
            out.repo_names.push((repo.clone(), team.name.clone()));
            let rbase = format!("github/repos/{slug}/{repo}");
            let mut secrets = Vec::new();
            for name in [
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "NPM_TOKEN",
                "SLACK_WEBHOOK",
                "DATADOG_API_KEY",
                "SENTRY_AUTH_TOKEN",
            ] {
                if rng.chance(0.5) {
                    let created = days(rng, 30, 1500);
                    secrets.push(json!({"name": name, "created_at": ts(created, rng.range(0, 86_399)),
                        "updated_at": ts(created + Duration::days(rng.range(0, 20)), rng.range(0, 86_399))}));
                }
            }
            w.json(
                &format!("{rbase}/actions/secrets.json"),
                &json!({"total_count": secrets.len(), "secrets": secrets}),
                false,
            )?;
            let mut keys = Vec::new();
            for k in 0..rng.below(3) {
                key_id += 1;
                let adder = team
                    .members
                    .get(rng.below(team.members.len().max(1)))
                    .and_then(|&m| out.logins.get(m).cloned().flatten());
                let created = days(rng, 20, 1800);
                let read_only = rng.chance(0.6);
                keys.push(json!({"id": key_id, "key": format!("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{}", rng.hex(32)),
                    "url": format!("{api}/repos/{slug}/{repo}/keys/{key_id}"),
                    "title": format!("{}-deploy-{k}", repo), "verified": true,
                    "created_at": ts(created, rng.range(0, 86_399)), "read_only": read_only,
                    "added_by": adder, "last_used": if rng.chance(0.6) { json!(ts(days(rng, 0, 30), rng.range(0, 86_399))) } else { Value::Null },
                    "enabled": true}));
                deploy_keys += 1;
            }
            w.json(&format!("{rbase}/keys.json"), &Value::Array(keys), false)?;
        }
    }
    let org_secrets: Vec<Value> = [
        "DOCKERHUB_TOKEN",
        "SONAR_TOKEN",
        "CODECOV_TOKEN",
        "ARTIFACTORY_PASSWORD",
    ]
    .iter()
    .map(|n| {
        json!({"name": n, "created_at": ts(org.as_of - Duration::days(900), 3600),
            "updated_at": ts(org.as_of - Duration::days(400), 3600), "visibility": "all"})
    })
    .collect();
    w.json(
        &format!("{base}/actions/secrets.json"),
        &json!({"total_count": org_secrets.len(), "secrets": org_secrets}),
        false,
    )?;

    // GitHub Apps installed on the org.
    const APPS: [(&str, &str); 10] = [
        ("dependabot-preview", "contents:write"),
        ("renovate", "contents:write"),
        ("codecov", "checks:write"),
        ("snyk-security", "contents:read"),
        ("slack", "issues:read"),
        ("jira-cloud", "pull_requests:read"),
        ("argo-cd-deployer", "administration:write"),
        ("sonarcloud", "checks:write"),
        ("linear", "issues:write"),
        ("vercel", "deployments:write"),
    ];
    let n_apps = APPS.len() + org.people.len() / 500;
    let mut installs = Vec::new();
    for i in 0..n_apps {
        let (app, perm) = APPS[i % APPS.len()];
        let app = if i < APPS.len() {
            app.to_string()
        } else {
            format!("{app}-{i}")
        };
        let (p, level) = perm.split_once(':').unwrap_or((perm, "read"));
        let mut perms = json!({"metadata": "read"});
        perms[p] = json!(level);
        if rng.chance(0.2) {
            perms["secrets"] = json!("write");
        }
        let created = days(rng, 30, 2000);
        installs.push(json!({"id": 40_000_000 + i, "account": {"login": slug, "id": 1, "type": "Organization"},
            "repository_selection": if rng.chance(0.5) { "all" } else { "selected" },
            "access_tokens_url": format!("{api}/app/installations/{}/access_tokens", 40_000_000 + i),
            "repositories_url": format!("{api}/installation/repositories"),
            "html_url": format!("https://github.com/organizations/{slug}/settings/installations/{}", 40_000_000 + i),
            "app_id": 900 + i, "app_slug": app, "target_id": 1, "target_type": "Organization",
            "permissions": perms, "events": ["push", "pull_request"],
            "created_at": ts(created, 3600), "updated_at": ts(created + Duration::days(10), 3600),
            "single_file_name": null, "suspended_at": null}));
    }
    w.json(
        &format!("{base}/installations.json"),
        &json!({"total_count": installs.len(), "installations": installs}),
        false,
    )?;

    // Tokens: fine-grained PATs approved for the org, and classic PATs and
    // SSH keys authorized for SAML SSO. Leavers' tokens linger.
    let mut grants = Vec::new();
    let mut auths = Vec::new();
    let mut token_id = 98_000_000u64;
    let mut cred_id = 161_000_000u64;
    for (i, p) in org.people.iter().enumerate() {
        if !engineer(p.department) {
            continue;
        }
        let l = out.logins[i]
            .clone()
            .unwrap_or_else(|| login(&p.email, &slug));
        if p.planted {
            token_id += 1;
            cred_id += 1;
            grants.push(json!({"id": token_id - 97_000_000, "owner": {"login": l, "id": 10_000_000 + i, "type": "User", "site_admin": false},
                "repository_selection": "all",
                "repositories_url": format!("{api}/organizations/1/personal-access-tokens/{}/repositories", token_id - 97_000_000),
                "permissions": {"organization": {"members": "read"}, "repository": {"metadata": "read", "contents": "write", "workflows": "write"}},
                "access_granted_at": ts(org.as_of - Duration::days(300), 36_000), "token_id": token_id,
                "token_name": "terraform-sandbox", "token_expired": false, "token_expires_at": null,
                "token_last_used_at": ts(org.as_of - Duration::days(3), 3600)}));
            auths.push(
                json!({"login": l, "credential_id": cred_id, "credential_type": "SSH key",
                "credential_authorized_at": ts(org.as_of - Duration::days(700), 36_000),
                "credential_accessed_at": ts(org.as_of - Duration::days(22), 40_000),
                "fingerprint": "SHA256:leaverLaptopKey0Rz3Nq8Xw"}),
            );
            out.planted.push(format!("id:github-token/{token_id}"));
            out.planted.push(format!("id:github-credential/{cred_id}"));
            continue;
        }
        if p.terminated.is_some() && !rng.chance(0.35) {
            continue;
        }
        for _ in 0..rng.below(5) {
            token_id += 1;
            let granted = days(rng, 5, 700);
            let expires = if rng.chance(0.3) {
                Value::Null
            } else {
                json!(ts(granted + Duration::days(365), 3600))
            };
            grants.push(json!({"id": token_id - 97_000_000, "owner": {"login": l, "id": 10_000_000 + i, "type": "User", "site_admin": false},
                "repository_selection": if rng.chance(0.4) { "all" } else { "subset" },
                "repositories_url": format!("{api}/organizations/1/personal-access-tokens/{}/repositories", token_id - 97_000_000),
                "permissions": {"organization": {"members": "read"}, "repository": {"metadata": "read", "contents": if rng.chance(0.5) { "write" } else { "read" }}},
                "access_granted_at": ts(granted, 36_000), "token_id": token_id,
                "token_name": format!("{}-{}", rng.pick(&["ci", "local-dev", "release", "scripts", "backstage"]), rng.below(100)),
                "token_expired": false, "token_expires_at": expires,
                "token_last_used_at": if rng.chance(0.7) { json!(ts(days(rng, 0, 60), 3600)) } else { Value::Null }}));
        }
        for kind in ["personal access token", "SSH key"] {
            if !rng.chance(if kind == "SSH key" { 0.7 } else { 0.6 }) {
                continue;
            }
            cred_id += 1;
            let mut a = json!({"login": l, "credential_id": cred_id, "credential_type": kind,
                "credential_authorized_at": ts(days(rng, 30, 1500), 36_000),
                "credential_accessed_at": ts(days(rng, 0, 90), 40_000)});
            if kind == "SSH key" {
                a["fingerprint"] = json!(format!("SHA256:{}", rng.hex(22)));
            } else {
                a["scopes"] = json!(if rng.chance(0.15) {
                    vec!["repo", "admin:org", "workflow"]
                } else {
                    vec!["repo", "read:org"]
                });
                a["authorized_credential_note"] =
                    json!(format!("{} laptop", p.first.to_lowercase()));
            }
            auths.push(a);
        }
    }
    out.nhis = vec![
        ("github_fine_grained_pat", grants.len()),
        (
            "github_classic_pat",
            auths
                .iter()
                .filter(|a| a["credential_type"] == "personal access token")
                .count(),
        ),
        (
            "github_ssh_key",
            auths
                .iter()
                .filter(|a| a["credential_type"] == "SSH key")
                .count(),
        ),
        ("github_deploy_key", deploy_keys),
        ("github_app_installation", n_apps),
    ];
    w.json(
        &format!("{base}/personal-access-tokens.json"),
        &Value::Array(grants),
        false,
    )?;
    w.json(
        &format!("{base}/credential-authorizations.json"),
        &Value::Array(auths),
        false,
    )?;
    Ok(out)
}
