//! Okta: users, groups and group members as the Management API returns them.

use crate::people::{Org, Person};
use crate::rng::Rng;
use crate::write::Writer;
use crate::SynthError;
use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};

const ORG: &str = "https://northwind-labs.okta.com";

fn ts(d: NaiveDate, secs: i64) -> String {
    let t = d.and_hms_opt(0, 0, 0).unwrap_or_default() + Duration::seconds(secs);
    format!("{}.000Z", t.format("%Y-%m-%dT%H:%M:%S"))
}

fn user(rng: &mut Rng, p: &Person, org: &Org) -> Value {
    // Most leavers are deactivated in Okta; a few are not yet (deprovisioning lag).
    let (status, changed) = match p.terminated {
        Some(end) if rng.chance(0.93) => ("DEPROVISIONED", Some(ts(end, 64_800))),
        _ => ("ACTIVE", Some(ts(p.hired, 3600))),
    };
    let last_login = match p.terminated {
        Some(end) => Some(ts(
            end - Duration::days(rng.range(0, 3)),
            rng.range(28_800, 64_800),
        )),
        None => Some(ts(
            org.as_of - Duration::days(rng.range(0, 10)),
            rng.range(28_800, 64_800),
        )),
    };
    let manager = p.manager.map(|m| org.people[m].email.clone());
    json!({
        "id": p.okta_id,
        "status": status,
        "created": ts(p.hired - Duration::days(3), 36_000),
        "activated": ts(p.hired, 3600),
        "statusChanged": changed,
        "lastLogin": last_login,
        "lastUpdated": changed,
        "passwordChanged": ts(p.hired, 3700),
        "type": {"id": "oty1kf8sg2qMVmkDe5d7"},
        "profile": {
            "firstName": p.first,
            "lastName": p.last,
            "mobilePhone": null,
            "secondEmail": null,
            "login": p.email,
            "email": p.email,
            "employeeNumber": p.employee_id,
            "department": p.department,
            "title": p.title,
            "manager": manager,
        },
        "credentials": {
            "password": {},
            "provider": {"type": "OKTA", "name": "OKTA"}
        },
        "_links": {"self": {"href": format!("{ORG}/api/v1/users/{}", p.okta_id)}}
    })
}

fn group(id: &str, name: &str, description: &str, kind: &str, created: &str) -> Value {
    let object_class = if kind == "APP_GROUP" {
        "okta:windows_security_principal"
    } else {
        "okta:user_group"
    };
    json!({
        "id": id,
        "created": created,
        "lastUpdated": created,
        "lastMembershipUpdated": created,
        "objectClass": [object_class],
        "type": kind,
        "profile": {"name": name, "description": description},
        "_links": {
            "logo": [{"name": "medium", "href": "https://ok12static.oktacdn.com/assets/img/logos/groups/okta-medium.png", "type": "image/png"}],
            "users": {"href": format!("{ORG}/api/v1/groups/{id}/users")},
            "apps": {"href": format!("{ORG}/api/v1/groups/{id}/apps")}
        }
    })
}

/// Writes users, groups and memberships; returns the number of groups.
pub fn write(w: &mut Writer, rng: &mut Rng, org: &Org) -> Result<usize, SynthError> {
    let users: Vec<Value> = org.people.iter().map(|p| user(rng, p, org)).collect();
    let created = ts(org.as_of - Duration::days(2000), 0);
    let mut groups: Vec<Value> = Vec::new();
    let mut members: Vec<(String, Vec<usize>)> = Vec::new();
    let everyone = rng.okta_id("00g");
    groups.push(group(
        &everyone,
        "Everyone",
        "All users in your organization",
        "BUILT_IN",
        &created,
    ));
    members.push((everyone, (0..org.people.len()).collect()));
    let mut departments: Vec<&str> = org.people.iter().map(|p| p.department).collect();
    departments.sort_unstable();
    departments.dedup();
    for d in departments {
        let id = rng.okta_id("00g");
        groups.push(group(
            &id,
            &format!("dept-{}", d.to_ascii_lowercase().replace(' ', "-")),
            &format!("Everyone in {d}"),
            "OKTA_GROUP",
            &created,
        ));
        members.push((
            id,
            (0..org.people.len())
                .filter(|&i| org.people[i].department == d)
                .collect(),
        ));
    }
    for t in &org.teams {
        let id = rng.okta_id("00g");
        groups.push(group(
            &id,
            &format!("team-{}", t.name),
            &format!("Engineering team {}", t.name),
            "OKTA_GROUP",
            &created,
        ));
        members.push((id, t.members.clone()));
    }
    let admins = rng.okta_id("00g");
    groups.push(group(
        &admins,
        "aws-administrators",
        "AWS IAM Identity Center: AdministratorAccess",
        "OKTA_GROUP",
        &created,
    ));
    members.push((
        admins,
        (0..org.people.len())
            .filter(|&i| {
                org.people[i].department == "Security"
                    || org.people[i].title == "Engineering Manager"
            })
            .collect(),
    ));
    w.json("okta/users.json", &Value::Array(users.clone()), false)?;
    w.json("okta/groups.json", &Value::Array(groups.clone()), false)?;
    for (gid, list) in &members {
        let listed: Vec<Value> = list.iter().map(|&i| users[i].clone()).collect();
        w.json(
            &format!("okta/groups/{gid}/users.json"),
            &Value::Array(listed),
            false,
        )?;
    }
    Ok(groups.len())
}

/// What `write_apps` planted, by kind.
pub struct OktaAppsOut {
    pub service_apps: usize,
    pub client_secrets: usize,
    pub api_tokens: usize,
    /// The planted leaver's API token (`id:okta-api-token/<id>`).
    pub planted_token: Option<String>,
}

/// `GET /api/v1/apps` (sign-on apps for people, and OAuth service apps that
/// act for themselves), each service app's grants, and `GET /api/v1/api-tokens`.
pub fn write_apps(w: &mut Writer, rng: &mut Rng, org: &Org) -> Result<OktaAppsOut, SynthError> {
    const SAAS: [&str; 12] = [
        "Salesforce",
        "Slack",
        "Zoom",
        "Workday",
        "Atlassian Cloud",
        "GitHub Enterprise",
        "AWS IAM Identity Center",
        "Google Workspace",
        "Datadog",
        "PagerDuty",
        "Snowflake",
        "Figma",
    ];
    let mut apps = Vec::new();
    let made = |rng: &mut Rng| {
        ts(
            org.as_of - Duration::days(rng.range(60, 2000)),
            rng.range(0, 86_399),
        )
    };
    for name in SAAS {
        let id = rng.okta_id("0oa");
        apps.push(json!({"id": id, "name": name.to_lowercase().replace(' ', "_"), "label": name, "status": "ACTIVE",
            "created": made(rng), "lastUpdated": made(rng), "signOnMode": "SAML_2_0",
            "credentials": {"userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"}, "signing": {}},
            "_links": {"self": {"href": format!("{ORG}/api/v1/apps/{id}")}}}));
    }
    let admins: Vec<usize> = (0..org.people.len())
        .filter(|&i| {
            matches!(org.people[i].department, "Security" | "Engineering") && !org.people[i].planted
        })
        .collect();
    let mut out = OktaAppsOut {
        service_apps: 0,
        client_secrets: 0,
        api_tokens: 0,
        planted_token: None,
    };
    for i in 0..(org.people.len() / 40).max(3) {
        let id = rng.okta_id("0oa");
        let team = &org.teams[i % org.teams.len().max(1)].name;
        let secret = rng.chance(0.8);
        apps.push(json!({"id": id, "name": "oidc_client", "label": format!("{team}-{}-service", crate::names::COMPONENTS[i % crate::names::COMPONENTS.len()]),
            "status": "ACTIVE", "created": made(rng), "lastUpdated": made(rng), "signOnMode": "OPENID_CONNECT",
            "credentials": {"oauthClient": {"autoKeyRotation": true, "client_id": id,
                "token_endpoint_auth_method": if secret { "client_secret_basic" } else { "private_key_jwt" }}},
            "settings": {"oauthClient": {"application_type": "service", "grant_types": ["client_credentials"], "response_types": ["token"]}},
            "_links": {"self": {"href": format!("{ORG}/api/v1/apps/{id}")}}}));
        out.service_apps += 1;
        out.client_secrets += 1;
        if !admins.is_empty() {
            let by = &org.people[*rng.pick(&admins)];
            let scopes: &[&str] = if rng.chance(0.3) {
                &["okta.users.manage", "okta.groups.read"]
            } else {
                &["okta.users.read"]
            };
            let grants: Vec<Value> = scopes.iter().map(|s| json!({"id": rng.okta_id("oag"), "status": "ACTIVE",
                "created": made(rng), "createdBy": {"id": by.okta_id, "type": "User"}, "lastUpdated": made(rng),
                "issuer": ORG, "clientId": id, "scopeId": s, "source": "ADMIN",
                "_links": {"app": {"href": format!("{ORG}/api/v1/apps/{id}")}}})).collect();
            w.json(
                &format!("okta/apps/{id}/grants.json"),
                &Value::Array(grants),
                false,
            )?;
        }
    }
    w.json("okta/apps.json", &Value::Array(apps), false)?;
    let mut tokens = Vec::new();
    for _ in 0..(org.people.len() / 300).max(2) {
        let Some(&who) = admins.get(rng.below(admins.len().max(1))) else {
            break;
        };
        let created = org.as_of - Duration::days(rng.range(10, 900));
        tokens.push(json!({"clientName": "Okta API", "created": ts(created, 36_000),
            "expiresAt": ts(org.as_of + Duration::days(rng.range(1, 30)), 36_000), "id": rng.okta_id("00T"),
            "lastUpdated": ts(org.as_of - Duration::days(rng.range(0, 20)), 36_000), "name": format!("{} automation", org.people[who].first),
            "network": {"connection": "ANYWHERE"}, "tokenWindow": "P30D", "userId": org.people[who].okta_id}));
        out.api_tokens += 1;
    }
    // The planted leaver made one for a sync script; Okta keeps it after
    // the user is deactivated until someone revokes it.
    if let Some(p) = org.people.iter().find(|p| p.planted) {
        let id = "00Tleaver0sync0token1".to_string();
        let created = org.as_of - Duration::days(240);
        tokens.push(
            json!({"clientName": "Okta API", "created": ts(created, 36_000),
            "expiresAt": ts(org.as_of + Duration::days(10), 36_000), "id": id,
            "lastUpdated": ts(org.as_of - Duration::days(25), 36_000), "name": "group sync script",
            "network": {"connection": "ANYWHERE"}, "tokenWindow": "P30D", "userId": p.okta_id}),
        );
        out.api_tokens += 1;
        out.planted_token = Some(format!("id:okta-api-token/{id}"));
    }
    w.json("okta/api-tokens.json", &Value::Array(tokens), false)?;
    Ok(out)
}
