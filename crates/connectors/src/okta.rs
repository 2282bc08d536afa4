//! Okta Management API exports: users (`GET /api/v1/users`), groups
//! (`GET /api/v1/groups`) and group members (`GET /api/v1/groups/{id}/users`),
//! each a JSON array (all pages concatenated into one array).
//!
//! A member listing does not say which group it lists, so its path must: either a
//! folder named for the group id (`okta/groups/00g1abcd/users.json`) or a file
//! named `00g1abcd.json` under a folder called `group-members`.

use crate::util::{load_array, record};
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
    for (i, item) in items.iter().enumerate() {
        parsed.records += 1;
        let base = format!("/{i}");
        let u: User = match record(CONNECTOR, file.path, &base, item) {
            Ok(u) => u,
            Err(e) => {
                parsed.errors.push(e);
                continue;
            }
        };
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
    for (i, item) in items.iter().enumerate() {
        parsed.records += 1;
        let base = format!("/{i}");
        let g: Group = match record(CONNECTOR, file.path, &base, item) {
            Ok(g) => g,
            Err(e) => {
                parsed.errors.push(e);
                continue;
            }
        };
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
