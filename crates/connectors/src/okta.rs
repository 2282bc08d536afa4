//! Okta Management API exports: users (`GET /api/v1/users`), groups
//! (`GET /api/v1/groups`) and group members (`GET /api/v1/groups/{id}/users`),
//! each a JSON array (all pages concatenated into one array).
//!
//! A member listing does not say which group it lists, so its path must: either a
//! folder named for the group id (`okta/groups/00g1abcd/users.json`) or a file
//! named `00g1abcd.json` under a folder called `group-members`.

use crate::util::{load_array, records};
use crate::{InputError, Parsed, SourceFile};
use custody_model::{
    time, EdgeFact, EdgeKind, Endpoint, Fact, Key, Label, Location, NodeFact, Provenance,
};
use serde::Deserialize;
use serde_json::{json, Map, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct User {
    id: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    status_changed: Option<String>,
    #[serde(default)]
    last_login: Option<String>,
    #[serde(default)]
    profile: Map<String, Value>,
    #[serde(default, rename = "_links")]
    links: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupProfile {
    name: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Group {
    id: String,
    #[serde(default, rename = "type")]
    group_type: Option<String>,
    #[serde(default)]
    created: Option<String>,
    profile: GroupProfile,
    #[serde(default, rename = "_links")]
    links: Option<Value>,
}

/// Okta ids: 20 characters, letters and digits.
fn okta_id(s: &str) -> bool {
    s.len() == 20 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The group id a member listing's path names, if it names one.
pub fn group_id_from_path(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split(['/', '\\']).collect();
    for (i, part) in parts.iter().enumerate() {
        let stem = part.strip_suffix(".json").unwrap_or(part);
        let parent = if i > 0 { parts[i - 1] } else { "" };
        let is_last = i + 1 == parts.len();
        if okta_id(stem)
            && stem.starts_with("00g")
            && (parent == "groups" || parent == "group-members")
            && (is_last || parent == "groups")
        {
            return Some(stem.to_string());
        }
    }
    None
}

/// `https://corp.okta.com/api/v1/users/00u…` → `corp.okta.com`.
fn org_of(links: &Option<Value>) -> Option<String> {
    let href = links.as_ref()?.pointer("/self/href")?.as_str()?;
    let host = href.split("://").nth(1)?.split('/').next()?;
    Some(host.to_string())
}

fn profile_str<'p>(profile: &'p Map<String, Value>, key: &str) -> Option<&'p str> {
    profile
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

pub fn parse_users(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "okta-users";
    let mut parsed = Parsed::default();
    let Some(items) = load_array(CONNECTOR, file, &mut parsed) else {
        return parsed;
    };
    let mut org = None;
    for (base, u) in records::<User>(CONNECTOR, file.path, "", &items, &mut parsed) {
        org = org.or_else(|| org_of(&u.links));
        let mut keys = vec![Key::okta(&u.id)];
        for field in ["email", "login"] {
            if let Some(v) = profile_str(&u.profile, field).filter(|v| v.contains('@')) {
                let k = Key::email(v);
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
        let mut props = Map::new();
        if let Some(s) = &u.status {
            props.insert("idp_status".into(), json!(s));
        }
        for (k, v) in [
            ("idp_created", &u.created),
            ("idp_status_changed", &u.status_changed),
            ("last_login", &u.last_login),
        ] {
            if let Some(t) = v.as_deref().and_then(time::normalise) {
                props.insert(k.into(), json!(t));
            }
        }
        for (field, prop) in [
            ("login", "login"),
            ("department", "department"),
            ("title", "title"),
            ("userType", "user_type"),
            ("employeeNumber", "employee_id"),
        ] {
            if let Some(v) = profile_str(&u.profile, field) {
                props.insert(prop.into(), json!(v));
            }
        }
        let name = profile_str(&u.profile, "displayName")
            .map(str::to_string)
            .or_else(|| {
                match (
                    profile_str(&u.profile, "firstName"),
                    profile_str(&u.profile, "lastName"),
                ) {
                    (Some(f), Some(l)) => Some(format!("{f} {l}")),
                    (f, l) => f.or(l).map(str::to_string),
                }
            });
        let me = Endpoint::new(Label::Human, Key::okta(&u.id));
        parsed.facts.push(Fact::Node(NodeFact {
            label: Label::Human,
            kind: "okta_user".into(),
            system: "okta".into(),
            keys,
            name,
            props,
            prov: Provenance::at(Location::Pointer(base.clone())),
        }));
        // Okta's `manager` profile attribute is free text; only an e-mail is a key.
        if let Some(m) =
            profile_str(&u.profile, "manager").filter(|m| m.contains('@') && !m.contains(' '))
        {
            parsed.facts.push(Fact::Edge(EdgeFact {
                kind: EdgeKind::ReportsTo,
                from: me,
                to: Endpoint::new(Label::Human, Key::email(m)),
                props: Map::new(),
                prov: Provenance::at(Location::Pointer(format!("{base}/profile/manager"))),
            }));
        }
    }
    parsed.scope = format!(
        "{CONNECTOR}:{}",
        org.unwrap_or_else(|| file.path.to_string())
    );
    parsed
}

pub fn parse_groups(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "okta-groups";
    let mut parsed = Parsed::default();
    let Some(items) = load_array(CONNECTOR, file, &mut parsed) else {
        return parsed;
    };
    let mut org = None;
    for (base, g) in records::<Group>(CONNECTOR, file.path, "", &items, &mut parsed) {
        org = org.or_else(|| org_of(&g.links));
        let mut props = Map::new();
        if let Some(t) = g.group_type {
            props.insert("group_type".into(), json!(t));
        }
        if let Some(d) = g.profile.description {
            props.insert("description".into(), json!(d));
        }
        if let Some(t) = g.created.as_deref().and_then(time::normalise) {
            props.insert("created".into(), json!(t));
        }
        parsed.facts.push(Fact::Node(NodeFact {
            label: Label::Group,
            kind: "okta_group".into(),
            system: "okta".into(),
            keys: vec![Key::okta(&g.id)],
            name: Some(g.profile.name),
            props,
            prov: Provenance::at(Location::Pointer(base)),
        }));
    }
    parsed.scope = format!(
        "{CONNECTOR}:{}",
        org.unwrap_or_else(|| file.path.to_string())
    );
    parsed
}

pub fn parse_group_members(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "okta-group-members";
    let mut parsed = Parsed::default();
    let Some(group_id) = group_id_from_path(file.path) else {
        parsed.errors.push(InputError::new(
            CONNECTOR,
            file.path,
            Location::File,
            "cannot tell which group this member listing is for: save it as groups/<group id>/users.json",
        ));
        return parsed;
    };
    let Some(items) = load_array(CONNECTOR, file, &mut parsed) else {
        return parsed;
    };
    let group = Endpoint::new(Label::Group, Key::okta(&group_id));
    for (i, item) in items.iter().enumerate() {
        parsed.records += 1;
        match item.get("id").and_then(Value::as_str) {
            Some(uid) => parsed.facts.push(Fact::Edge(EdgeFact {
                kind: EdgeKind::MemberOf,
                from: Endpoint::new(Label::Human, Key::okta(uid)),
                to: group.clone(),
                props: Map::new(),
                prov: Provenance::at(Location::Pointer(format!("/{i}"))),
            })),
            None => parsed.errors.push(InputError::new(
                CONNECTOR,
                file.path,
                Location::Pointer(format!("/{i}/id")),
                "member has no `id`",
            )),
        }
    }
    parsed.scope = format!("{CONNECTOR}:{group_id}");
    parsed
}

fn okta_node(
    kind: &str,
    label: Label,
    keys: Vec<Key>,
    name: &str,
    props: Map<String, Value>,
    at: &str,
) -> Fact {
    crate::util::node_at("okta", label, kind, keys, Some(name), props, at)
}

use crate::util::edge_between as okta_edge;

fn put_time(props: &mut Map<String, Value>, key: &str, v: Option<&str>) {
    if let Some(t) = v.and_then(time::normalise) {
        props.insert(key.into(), json!(t));
    }
}

pub fn app_key(id: &str) -> Key {
    Key::other("okta-app", id.trim())
}

/// `GET /api/v1/apps`. OIDC apps that act for themselves (`service`
/// application type or the `client_credentials` grant) are non-human
/// principals, with their client secret (or key) a credential; every other app
/// (SAML/OIDC sign-on for people) is a `Resource` people and grants reach.
pub fn parse_apps(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "okta-apps";
    let mut parsed = Parsed::default();
    let Some(items) = load_array(CONNECTOR, file, &mut parsed) else {
        return parsed;
    };
    let mut org = None;
    for (i, item) in items.iter().enumerate() {
        parsed.records += 1;
        let base = format!("/{i}");
        let Some(id) = item
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        else {
            parsed.errors.push(InputError::new(
                CONNECTOR,
                file.path,
                Location::Pointer(format!("{base}/id")),
                "the app has no `id`",
            ));
            continue;
        };
        let s = |p: &str| item.pointer(p).and_then(Value::as_str);
        org = org.or_else(|| org_of(&item.get("_links").cloned()));
        let label_text = s("/label").or(s("/name")).unwrap_or(id);
        let grants: Vec<&str> = item
            .pointer("/settings/oauthClient/grant_types")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let app_type = s("/settings/oauthClient/application_type");
        let service = app_type == Some("service") || grants.contains(&"client_credentials");
        let mut props = Map::new();
        props.insert("app_name".into(), json!(s("/name")));
        if let Some(m) = s("/signOnMode") {
            props.insert("sign_on_mode".into(), json!(m));
        }
        if let Some(st) = s("/status") {
            props.insert(
                "status".into(),
                json!(if st == "ACTIVE" { "Active" } else { "Inactive" }),
            );
        }
        put_time(&mut props, "created", s("/created"));
        put_time(&mut props, "updated", s("/lastUpdated"));
        if !grants.is_empty() {
            props.insert("grant_types".into(), json!(grants));
        }
        let key = app_key(id);
        // The System Log names an app actor by its bare id, as `okta:<id>`.
        let keys = vec![key.clone(), Key::okta(id)];
        if !service {
            parsed.facts.push(okta_node(
                "okta_app",
                Label::Resource,
                keys,
                label_text,
                props,
                &base,
            ));
            continue;
        }
        let auth = s("/credentials/oauthClient/token_endpoint_auth_method")
            .unwrap_or("client_secret_basic");
        props.insert("token_endpoint_auth_method".into(), json!(auth));
        parsed.facts.push(okta_node(
            "okta_service_app",
            Label::Principal,
            keys,
            label_text,
            props,
            &base,
        ));
        // The client's secret (or registered key) is what a workload holds.
        let (kind, what) = if auth.starts_with("client_secret") {
            ("okta_client_secret", "client secret")
        } else {
            ("okta_client_key", "private key")
        };
        let client = s("/credentials/oauthClient/client_id").unwrap_or(id);
        let cred = Key::other(kind.replace('_', "-").as_str(), client);
        let mut cp = Map::new();
        cp.insert("client_id".into(), json!(client));
        cp.insert("status".into(), json!("Active"));
        parsed.facts.push(okta_node(
            kind,
            Label::Credential,
            vec![cred.clone()],
            &format!("{label_text} {what}"),
            cp,
            &format!("{base}/credentials/oauthClient"),
        ));
        parsed.facts.push(okta_edge(
            EdgeKind::AuthenticatesAs,
            (Label::Credential, cred),
            (Label::Principal, key),
            Value::Null,
            &format!("{base}/credentials/oauthClient"),
        ));
    }
    parsed.scope = format!(
        "{CONNECTOR}:{}",
        org.unwrap_or_else(|| file.path.to_string())
    );
    parsed
}

/// `GET /api/v1/api-tokens`: each token acts with its creator's admin rights.
pub fn parse_api_tokens(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "okta-api-tokens";
    let mut parsed = Parsed::default();
    let Some(items) = load_array(CONNECTOR, file, &mut parsed) else {
        return parsed;
    };
    for (i, item) in items.iter().enumerate() {
        parsed.records += 1;
        let base = format!("/{i}");
        let s = |k: &str| {
            item.get(k)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
        };
        let (Some(id), Some(user)) = (s("id"), s("userId")) else {
            parsed.errors.push(InputError::new(
                CONNECTOR,
                file.path,
                Location::Pointer(base),
                "a token needs `id` and `userId`",
            ));
            continue;
        };
        let cred = Key::other("okta-api-token", id);
        let mut props = Map::new();
        props.insert("user_id".into(), json!(user));
        for (k, p) in [
            ("clientName", "client_name"),
            ("tokenWindow", "token_window"),
        ] {
            if let Some(v) = s(k) {
                props.insert(p.into(), json!(v));
            }
        }
        if let Some(c) = item.pointer("/network/connection").and_then(Value::as_str) {
            props.insert("network".into(), json!(c));
        }
        put_time(&mut props, "created", s("created"));
        put_time(&mut props, "expires", s("expiresAt"));
        put_time(&mut props, "last_used", s("lastUpdated"));
        props.insert("status".into(), json!("Active"));
        parsed.facts.push(okta_node(
            "okta_api_token",
            Label::Credential,
            vec![cred.clone()],
            s("name").unwrap_or(id),
            props,
            &base,
        ));
        parsed.facts.push(okta_edge(
            EdgeKind::CreatedBy,
            (Label::Credential, cred.clone()),
            (Label::Human, Key::okta(user)),
            json!({"evidence": "Okta API token userId", "method": "system-creator"}),
            &format!("{base}/userId"),
        ));
        parsed.facts.push(okta_edge(EdgeKind::OwnedBy, (Label::Credential, cred), (Label::Human, Key::okta(user)), json!({"evidence": "Okta API token userId (it acts with that admin's rights)", "method": "system-owner", "confidence": 1.0}), &format!("{base}/userId")));
    }
    parsed.scope = format!("{CONNECTOR}:{}", file.path);
    parsed
}

/// `GET /api/v1/apps/{appId}/grants` (or a user's grants): each consent of
/// an OAuth scope to an app, with who approved it.
pub fn parse_grants(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "okta-grants";
    let mut parsed = Parsed::default();
    let Some(items) = load_array(CONNECTOR, file, &mut parsed) else {
        return parsed;
    };
    for (i, item) in items.iter().enumerate() {
        parsed.records += 1;
        let base = format!("/{i}");
        let s = |p: &str| {
            item.pointer(p)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
        };
        let (Some(client), Some(scope)) =
            (s("/clientId"), s("/scopeId").or(s("/_embedded/scope/id")))
        else {
            parsed.errors.push(InputError::new(
                CONNECTOR,
                file.path,
                Location::Pointer(base),
                "a grant needs `clientId` and `scopeId`",
            ));
            continue;
        };
        if s("/status").is_some_and(|st| st != "ACTIVE") {
            continue;
        }
        let app = app_key(client);
        let host = s("/issuer")
            .and_then(|i| i.split("://").nth(1))
            .map(|h| h.split('/').next().unwrap_or(h))
            .unwrap_or("okta");
        let org = Key::other("okta-org", host);
        parsed.facts.push(okta_node(
            "okta_org",
            Label::Resource,
            vec![org.clone()],
            host,
            Map::new(),
            &base,
        ));
        let admin = scope.starts_with("okta.")
            && (scope.ends_with(".manage") || scope == "okta.apps.manage");
        let mut p = Map::new();
        p.insert("scope".into(), json!(scope));
        if let Some(src) = s("/source") {
            p.insert("source".into(), json!(src));
        }
        if admin {
            p.insert("admin".into(), json!(true));
        }
        parsed.facts.push(okta_edge(
            EdgeKind::CanAccess,
            (Label::Principal, app.clone()),
            (Label::Resource, org),
            Value::Object(p),
            &format!("{base}/scopeId"),
        ));
        if let Some(by) = s("/createdBy/id").filter(|_| s("/createdBy/type") != Some("Client")) {
            let mut ap = Map::new();
            ap.insert("scope".into(), json!(scope));
            put_time(&mut ap, "at", s("/created"));
            parsed.facts.push(okta_edge(
                EdgeKind::ApprovedBy,
                (Label::Principal, app),
                (Label::Human, Key::okta(by)),
                Value::Object(ap),
                &format!("{base}/createdBy"),
            ));
        }
    }
    parsed.scope = format!("{CONNECTOR}:{}", file.path);
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    const USERS: &str = r#"[
      {"id": "00u1a2b3c4D5E6F7G8H9", "status": "DEPROVISIONED", "created": "2024-01-12T14:22:11.000Z",
       "lastLogin": null, "type": {"id": "oty1"},
       "profile": {"login": "Bo@corp.example", "email": "bo@corp.example", "firstName": "Bo", "lastName": "Chen", "manager": "ana@corp.example"},
       "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}},
       "_links": {"self": {"href": "https://corp.okta.com/api/v1/users/00u1a2b3c4D5E6F7G8H9"}}},
      {"status": "ACTIVE", "profile": {}}
    ]"#;

    #[test]
    fn users_parse_with_email_keys_and_org_scope() {
        let p = parse_users(&SourceFile {
            path: "okta/users.json",
            bytes: USERS.as_bytes(),
        });
        assert_eq!(p.records, 2);
        assert_eq!(p.errors.len(), 1);
        assert_eq!(p.errors[0].location, Location::Pointer("/1".into()));
        let Fact::Node(bo) = &p.facts[0] else {
            panic!()
        };
        assert_eq!(
            bo.keys,
            vec![
                Key::okta("00u1a2b3c4D5E6F7G8H9"),
                Key::email("bo@corp.example")
            ]
        );
        assert_eq!(bo.props["idp_status"], "DEPROVISIONED");
        assert_eq!(p.scope, "okta-users:corp.okta.com");
        assert!(matches!(&p.facts[1], Fact::Edge(e) if e.kind == EdgeKind::ReportsTo));
    }

    #[test]
    fn members_need_a_group_in_their_path() {
        assert_eq!(
            group_id_from_path("okta/groups/00g1a2b3c4D5E6F7G8H9/users.json").as_deref(),
            Some("00g1a2b3c4D5E6F7G8H9")
        );
        assert_eq!(
            group_id_from_path("okta/group-members/00g1a2b3c4D5E6F7G8H9.json").as_deref(),
            Some("00g1a2b3c4D5E6F7G8H9")
        );
        assert_eq!(group_id_from_path("okta/users.json"), None);
        let p = parse_group_members(&SourceFile {
            path: "okta/groups/00g1a2b3c4D5E6F7G8H9/users.json",
            bytes: USERS.as_bytes(),
        });
        assert_eq!(p.facts.len(), 1);
        assert_eq!(p.errors.len(), 1);
    }

    #[test]
    fn groups_parse() {
        let doc = r#"[{"id": "00g1a2b3c4D5E6F7G8H9", "created": "2024-01-01T00:00:00.000Z", "objectClass": ["okta:user_group"], "type": "OKTA_GROUP", "profile": {"name": "Engineering", "description": "All engineers"}}]"#;
        let p = parse_groups(&SourceFile {
            path: "okta/groups.json",
            bytes: doc.as_bytes(),
        });
        assert!(p.errors.is_empty());
        let Fact::Node(g) = &p.facts[0] else { panic!() };
        assert_eq!(g.name.as_deref(), Some("Engineering"));
        assert_eq!(g.label, Label::Group);
    }
}

#[cfg(test)]
mod app_tests {
    use super::*;

    fn run(f: fn(&SourceFile<'_>) -> Parsed, text: &str) -> Parsed {
        f(&SourceFile {
            path: "okta/apps.json",
            bytes: text.as_bytes(),
        })
    }

    #[test]
    fn service_apps_are_principals_with_a_secret_and_sign_on_apps_are_resources() {
        let apps = r#"[{"id": "0oa1gjh63g214q0Hq0g4", "name": "oidc_client", "label": "billing-sync", "status": "ACTIVE",
            "created": "2023-03-01T10:00:00.000Z", "lastUpdated": "2023-03-01T10:00:00.000Z", "signOnMode": "OPENID_CONNECT",
            "credentials": {"oauthClient": {"autoKeyRotation": true, "client_id": "0oa1gjh63g214q0Hq0g4", "token_endpoint_auth_method": "client_secret_basic"}},
            "settings": {"oauthClient": {"application_type": "service", "grant_types": ["client_credentials"]}},
            "_links": {"self": {"href": "https://acme.okta.com/api/v1/apps/0oa1gjh63g214q0Hq0g4"}}},
            {"id": "0oa2", "name": "salesforce", "label": "Salesforce", "status": "ACTIVE", "signOnMode": "SAML_2_0"},
            {"label": "no id"}]"#;
        let p = run(parse_apps, apps);
        assert_eq!(p.errors.len(), 1);
        let n = p.nodes();
        assert_eq!(n[0].kind, "okta_service_app");
        assert_eq!(n[1].kind, "okta_client_secret");
        assert_eq!(n[2].label, Label::Resource);
        assert_eq!(p.scope, "okta-apps:acme.okta.com");
    }

    #[test]
    fn api_tokens_and_grants_name_their_people() {
        let tokens = r#"[{"clientName": "Okta API", "created": "2021-12-09T20:38:10.000Z", "expiresAt": "2022-01-08T20:38:10.000Z",
            "id": "00Tabcdefg1234567890", "lastUpdated": "2021-12-09T20:38:10.000Z", "name": "Sample Token",
            "network": {"connection": "ANYWHERE"}, "tokenWindow": "P30D", "userId": "00uabcdefg1234567890"}]"#;
        let p = run(parse_api_tokens, tokens);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(
            p.nodes()[0].keys[0].as_str(),
            "id:okta-api-token/00Tabcdefg1234567890"
        );
        assert_eq!(
            p.edges(Some(EdgeKind::OwnedBy))[0].to.key.as_str(),
            "okta:00uabcdefg1234567890"
        );

        let grants = r#"[{"id": "oag3ih1zrm1cBFOiq0h6", "status": "ACTIVE", "created": "2023-03-02T10:00:00.000Z",
            "createdBy": {"id": "00uabcdefg1234567890", "type": "User"}, "issuer": "https://acme.okta.com",
            "clientId": "0oa1gjh63g214q0Hq0g4", "scopeId": "okta.users.manage", "source": "ADMIN"}]"#;
        let p = run(parse_grants, grants);
        let a = p.edges(Some(EdgeKind::ApprovedBy));
        assert_eq!(a[0].to.key.as_str(), "okta:00uabcdefg1234567890");
        assert_eq!(
            p.edges(Some(EdgeKind::CanAccess))[0].props["admin"],
            json!(true)
        );
    }
}
