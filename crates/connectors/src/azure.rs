//! Microsoft Entra ID and Azure RBAC, as `az … --output json` prints them
//! (Microsoft Graph objects):
//!
//! - app registrations: `az ad app list --all`;
//! - service principals (including managed identities): `az ad sp list --all`;
//! - an app's federated identity credentials:
//!   `az ad app federated-credential list --id <appId>`, saved under
//!   `applications/<appId>/` (the answer does not name its app);
//! - an app's or service principal's owners: `az ad app owner list --id <appId>`
//!   (or `az ad sp owner list`), saved under `applications/<appId>/` or
//!   `servicePrincipals/<object id>/`;
//! - role assignments: `az role assignment list --all`;
//! - Microsoft Graph application permissions granted to service principals:
//!   `az rest --url https://graph.microsoft.com/v1.0/servicePrincipals/<graph sp>/appRoleAssignedTo`
//!   (the whole tenant) or `…/servicePrincipals/<id>/appRoleAssignments` (one).
//!
//! An application and its service principal are one subject: both carry
//! `id:azure-app/<appId>` (the client id a workload identity annotation or a
//! sign-in log names); the service principal also `id:entra-sp/<object id>`,
//! as Entra sign-in logs name it. Client secrets and certificates are
//! `Credential`s `id:entra-credential/<keyId>` (the sign-in log's
//! `servicePrincipalCredentialKeyId`): Graph returns only their metadata and a
//! three-character hint, never the value.

use crate::util::{load_array, record, records};
use crate::{InputError, Parsed, SourceFile};
use custody_model::{time, EdgeKind, Fact, Key, Label, Location};
use serde::Deserialize;
use serde_json::{json, Map, Value};

fn node(
    label: Label,
    kind: &str,
    keys: Vec<Key>,
    name: &str,
    props: Map<String, Value>,
    at: &str,
) -> Fact {
    crate::util::node_at("entra", label, kind, keys, Some(name), props, at)
}

use crate::util::edge_between as edge;

pub fn app_key(app_id: &str) -> Key {
    Key::other("azure-app", &app_id.trim().to_ascii_lowercase())
}

pub fn sp_key(object_id: &str) -> Key {
    Key::other("entra-sp", &object_id.trim().to_ascii_lowercase())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PasswordCredential {
    key_id: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    start_date_time: Option<String>,
    #[serde(default)]
    end_date_time: Option<String>,
    #[serde(default)]
    hint: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyCredential {
    key_id: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    start_date_time: Option<String>,
    #[serde(default)]
    end_date_time: Option<String>,
    #[serde(default, rename = "type")]
    key_type: Option<String>,
    #[serde(default)]
    usage: Option<String>,
    #[serde(default)]
    custom_key_identifier: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Object {
    id: String,
    app_id: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    sign_in_audience: Option<String>,
    #[serde(default)]
    service_principal_type: Option<String>,
    #[serde(default)]
    app_owner_organization_id: Option<String>,
    #[serde(default)]
    account_enabled: Option<bool>,
    #[serde(default)]
    created_date_time: Option<String>,
    #[serde(default)]
    alternative_names: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    password_credentials: Vec<Value>,
    #[serde(default)]
    key_credentials: Vec<Value>,
}

fn put_time(props: &mut Map<String, Value>, key: &str, v: &Option<String>) {
    if let Some(t) = v.as_deref().and_then(time::normalise) {
        props.insert(key.into(), json!(t));
    }
}

/// Apps (`az ad app list`) and service principals (`az ad sp list`): one
/// reader, since both are Graph objects with credentials.
pub fn parse_objects(file: &SourceFile<'_>, service_principals: bool) -> Parsed {
    let connector = if service_principals {
        "entra-service-principals"
    } else {
        "entra-applications"
    };
    let mut parsed = Parsed::default();
    let Some(items) = load_array(connector, file, &mut parsed) else {
        return parsed;
    };
    for (base, o) in records::<Object>(connector, file.path, "", &items, &mut parsed) {
        let app = app_key(&o.app_id);
        let mut props = Map::new();
        props.insert("app_id".into(), json!(o.app_id.to_ascii_lowercase()));
        props.insert("object_id".into(), json!(o.id));
        let (kind, keys) = if service_principals {
            let t = o.service_principal_type.as_deref().unwrap_or("Application");
            props.insert("service_principal_type".into(), json!(t));
            // The app's object id differs; role assignments and Key Vault
            // access policies name this one.
            props.insert("sp_object_id".into(), json!(o.id.to_ascii_lowercase()));
            if let Some(org) = &o.app_owner_organization_id {
                props.insert("app_owner_tenant".into(), json!(org));
            }
            // Managed identities name their Azure resource in alternativeNames.
            if let Some(res) = o
                .alternative_names
                .iter()
                .find(|n| n.starts_with("/subscriptions/"))
            {
                props.insert("azure_resource".into(), json!(res));
            }
            let kind = match t {
                "ManagedIdentity" => "azure_managed_identity",
                _ => "azure_service_principal",
            };
            (kind, vec![sp_key(&o.id), app.clone()])
        } else {
            if let Some(a) = &o.sign_in_audience {
                props.insert("sign_in_audience".into(), json!(a));
            }
            (
                "azure_app_registration",
                vec![
                    app.clone(),
                    Key::other("entra-app", &o.id.to_ascii_lowercase()),
                ],
            )
        };
        if let Some(e) = o.account_enabled {
            props.insert(
                "status".into(),
                json!(if e { "Active" } else { "Disabled" }),
            );
        }
        put_time(&mut props, "created", &o.created_date_time);
        if !o.tags.is_empty() {
            props.insert("tags".into(), json!(o.tags));
        }
        if let Some(n) = o.notes.as_deref().filter(|n| !n.is_empty()) {
            props.insert("notes".into(), json!(n));
        }
        let name = o.display_name.clone().unwrap_or_else(|| o.app_id.clone());
        let subject = keys[0].clone();
        parsed
            .facts
            .push(node(Label::Principal, kind, keys, &name, props, &base));
        for (j, pc) in o.password_credentials.iter().enumerate() {
            let at = format!("{base}/passwordCredentials/{j}");
            let c: PasswordCredential = match record(connector, file.path, &at, pc) {
                Ok(v) => v,
                Err(e) => {
                    parsed.errors.push(e);
                    continue;
                }
            };
            let mut p = Map::new();
            put_time(&mut p, "created", &c.start_date_time);
            put_time(&mut p, "expires", &c.end_date_time);
            if let Some(h) = c.hint.as_deref().filter(|h| h.len() <= 3) {
                p.insert("secret_preview".into(), json!(format!("{h}…")));
            }
            credential(
                &mut parsed,
                "azure_client_secret",
                &c.key_id,
                c.display_name.as_deref(),
                &name,
                p,
                &subject,
                &at,
            );
        }
        for (j, kc) in o.key_credentials.iter().enumerate() {
            let at = format!("{base}/keyCredentials/{j}");
            let c: KeyCredential = match record(connector, file.path, &at, kc) {
                Ok(v) => v,
                Err(e) => {
                    parsed.errors.push(e);
                    continue;
                }
            };
            let mut p = Map::new();
            put_time(&mut p, "created", &c.start_date_time);
            put_time(&mut p, "expires", &c.end_date_time);
            for (k, v) in [
                ("key_type", &c.key_type),
                ("usage", &c.usage),
                ("thumbprint", &c.custom_key_identifier),
            ] {
                if let Some(v) = v {
                    p.insert(k.into(), json!(v));
                }
            }
            credential(
                &mut parsed,
                "azure_certificate",
                &c.key_id,
                c.display_name.as_deref(),
                &name,
                p,
                &subject,
                &at,
            );
        }
    }
    parsed.scope = format!("{connector}:{}", file.path);
    parsed
}

#[allow(clippy::too_many_arguments)]
fn credential(
    parsed: &mut Parsed,
    kind: &str,
    key_id: &str,
    display: Option<&str>,
    owner_name: &str,
    mut props: Map<String, Value>,
    subject: &Key,
    at: &str,
) {
    let cred = Key::other("entra-credential", &key_id.to_ascii_lowercase());
    props.insert("key_id".into(), json!(key_id));
    props.insert("status".into(), json!("Active"));
    let name = match display.filter(|d| !d.is_empty()) {
        Some(d) => format!("{owner_name}: {d}"),
        None => format!(
            "{owner_name}: {kind} {}",
            key_id.chars().take(8).collect::<String>()
        ),
    };
    parsed.facts.push(node(
        Label::Credential,
        kind,
        vec![cred.clone()],
        &name,
        props,
        at,
    ));
    parsed.facts.push(edge(
        EdgeKind::AuthenticatesAs,
        (Label::Credential, cred),
        (Label::Principal, subject.clone()),
        Value::Null,
        at,
    ));
}

/// Whose answer an owner or federated-credential listing is, from its path.
fn object_of_path(path: &str) -> Option<(Label, Key)> {
    let parts: Vec<&str> = path.split(['/', '\\']).filter(|p| !p.is_empty()).collect();
    parts.windows(2).rev().find_map(|w| match w[0] {
        "applications" | "apps" => Some((Label::Principal, app_key(w[1]))),
        "servicePrincipals" | "service-principals" => Some((Label::Principal, sp_key(w[1]))),
        _ => None,
    })
}

fn placed(connector: &str, file: &SourceFile<'_>, parsed: &mut Parsed) -> Option<(Label, Key)> {
    let who = object_of_path(file.path);
    if who.is_none() {
        parsed.errors.push(InputError::new(
            connector,
            file.path,
            Location::File,
            "cannot tell whose listing this is: save it under `applications/<appId>/` \
             or `servicePrincipals/<object id>/`",
        ));
    }
    who
}

#[derive(Deserialize)]
struct FederatedCredential {
    issuer: String,
    subject: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    audiences: Vec<String>,
}

pub fn parse_federated_credentials(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "entra-federated-credentials";
    let mut parsed = Parsed::default();
    let Some(target) = placed(CONNECTOR, file, &mut parsed) else {
        return parsed;
    };
    let Some(items) = load_array(CONNECTOR, file, &mut parsed) else {
        return parsed;
    };
    for (base, f) in records::<FederatedCredential>(CONNECTOR, file.path, "", &items, &mut parsed) {
        let host = f
            .issuer
            .split("://")
            .nth(1)
            .unwrap_or(&f.issuer)
            .trim_end_matches('/')
            .to_string();
        let issuer = Key::other("oidc-issuer", &host);
        let mut ip = Map::new();
        ip.insert("issuer".into(), json!(f.issuer));
        parsed.facts.push(node(
            Label::Principal,
            "oidc_issuer",
            vec![issuer.clone()],
            &host,
            ip,
            &base,
        ));
        let mut p = Map::new();
        p.insert("via".into(), json!("azure-federated-credential"));
        p.insert("subject".into(), json!(f.subject));
        p.insert("audiences".into(), json!(f.audiences));
        if let Some(n) = &f.name {
            p.insert("name".into(), json!(n));
        }
        // GitHub Actions: `repo:<owner>/<repo>:…` says which repository's token is trusted.
        if host == "token.actions.githubusercontent.com" {
            if let Some(repo) = f
                .subject
                .strip_prefix("repo:")
                .and_then(|r| r.split(':').next())
            {
                p.insert("github_repository".into(), json!(repo));
            }
        }
        // AWS outbound identity federation: an AWS role's web identity token
        // (`sts:GetWebIdentityToken`, issuer `https://<id>.tokens.sts.global.api.aws`)
        // names the role in `sub`: the role can act as the app.
        if let Some(role) = aws_role_in(&f.subject) {
            let mut rp = p.clone();
            rp.insert("via".into(), json!("azure-workload-identity-federation"));
            rp.insert("issuer".into(), json!(f.issuer));
            parsed.facts.push(edge(
                EdgeKind::CanAssume,
                (Label::Principal, Key::arn(&role)),
                target.clone(),
                Value::Object(rp),
                &base,
            ));
        }
        parsed.facts.push(edge(
            EdgeKind::CanAssume,
            (Label::Principal, issuer),
            target.clone(),
            Value::Object(p),
            &base,
        ));
    }
    parsed.scope = format!("{CONNECTOR}:{}", target.1.as_str());
    parsed
}

/// The IAM role a subject names: `arn:aws:iam::<account>:role/<name>` or an
/// assumed-role session of it.
fn aws_role_in(subject: &str) -> Option<String> {
    if let Some(role) = crate::gcp::aws_role_of(subject) {
        return Some(role);
    }
    let rest = subject.trim().strip_prefix("arn:aws:iam::")?;
    let (account, role) = rest.split_once(":role/")?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && !role.is_empty())
        .then(|| subject.trim().to_string())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Owner {
    #[serde(default, rename = "@odata.type")]
    odata_type: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    user_principal_name: Option<String>,
    #[serde(default)]
    mail: Option<String>,
    #[serde(default)]
    app_id: Option<String>,
}

pub fn parse_owners(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "entra-owners";
    let mut parsed = Parsed::default();
    let Some(target) = placed(CONNECTOR, file, &mut parsed) else {
        return parsed;
    };
    let Some(items) = load_array(CONNECTOR, file, &mut parsed) else {
        return parsed;
    };
    for (base, o) in records::<Owner>(CONNECTOR, file.path, "", &items, &mut parsed) {
        let is_sp = o
            .odata_type
            .as_deref()
            .is_some_and(|t| t.ends_with("servicePrincipal"));
        let owner = if is_sp {
            o.app_id.as_deref().map(|a| (Label::Principal, app_key(a)))
        } else {
            o.mail
                .as_deref()
                .or(o.user_principal_name.as_deref())
                .filter(|m| m.contains('@'))
                .map(|m| (Label::Human, Key::email(m)))
        };
        let Some(owner) = owner else {
            parsed.errors.push(InputError::new(
                CONNECTOR,
                file.path,
                Location::Pointer(base),
                format!(
                    "owner {} has no e-mail (`mail`, `userPrincipalName`) or app id",
                    o.id.as_deref().unwrap_or("?")
                ),
            ));
            continue;
        };
        parsed.facts.push(edge(
            EdgeKind::OwnedBy,
            target.clone(),
            owner,
            json!({"evidence": "Entra owner of the application", "method": "system-owner", "confidence": 1.0}),
            &base,
        ));
    }
    parsed.scope = format!("{CONNECTOR}:{}", target.1.as_str());
    parsed
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Assignment {
    principal_id: String,
    #[serde(default)]
    principal_type: Option<String>,
    #[serde(default)]
    role_definition_name: Option<String>,
    #[serde(default)]
    role_definition_id: Option<String>,
    scope: String,
    #[serde(default)]
    condition: Option<String>,
}

/// Roles that control everything at their scope.
const ADMIN_ROLES: [&str; 3] = ["Owner", "Contributor", "User Access Administrator"];

pub fn parse_role_assignments(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "azure-role-assignments";
    let mut parsed = Parsed::default();
    let Some(items) = load_array(CONNECTOR, file, &mut parsed) else {
        return parsed;
    };
    let mut per: Vec<(Key, Key, String, Vec<Value>)> = Vec::new();
    for (base, a) in records::<Assignment>(CONNECTOR, file.path, "", &items, &mut parsed) {
        // People and groups are the IdP's business; custody follows machines.
        if a.principal_type
            .as_deref()
            .is_some_and(|t| t != "ServicePrincipal")
        {
            continue;
        }
        let scope = a.scope.to_ascii_lowercase();
        let role = a
            .role_definition_name
            .clone()
            .or_else(|| {
                a.role_definition_id
                    .as_deref()
                    .and_then(|r| r.rsplit('/').next())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "role".into());
        let res = Key::other("azure-scope", &scope);
        let mut rp = Map::new();
        rp.insert("scope".into(), json!(a.scope));
        let depth = scope.split('/').filter(|s| !s.is_empty()).count();
        rp.insert(
            "scope_level".into(),
            json!(match depth {
                0 | 1 => "root",
                2 => "subscription",
                4 => "resource_group",
                _ => "resource",
            }),
        );
        parsed.facts.push(node(
            Label::Resource,
            "azure_scope",
            vec![res.clone()],
            &a.scope,
            rp,
            &base,
        ));
        // One edge per principal and scope, with every role assigned there.
        let mut grant = Map::new();
        grant.insert("role".into(), json!(role));
        if let Some(id) = &a.role_definition_id {
            grant.insert("role_id".into(), json!(id.rsplit('/').next().unwrap_or(id)));
        }
        if let Some(c) = a.condition.as_deref().filter(|c| !c.is_empty()) {
            grant.insert("condition".into(), json!(c));
        }
        let who = sp_key(&a.principal_id);
        match per.iter_mut().find(|(w, r, ..)| *w == who && *r == res) {
            Some((.., grants)) => grants.push(Value::Object(grant)),
            None => per.push((who, res, base, vec![Value::Object(grant)])),
        }
    }
    for (who, res, at, grants) in per {
        let mut p = Map::new();
        let role = grants[0]["role"].as_str().unwrap_or("role").to_string();
        if grants
            .iter()
            .any(|g| ADMIN_ROLES.contains(&g["role"].as_str().unwrap_or("")))
        {
            p.insert("admin".into(), json!(true));
        }
        if let Some(c) = grants[0].get("condition") {
            p.insert("condition".into(), c.clone());
        }
        if grants.iter().all(|g| g.get("condition").is_some()) {
            p.insert("conditional".into(), json!(true));
        }
        p.insert("role".into(), json!(role));
        p.insert("grants".into(), Value::Array(grants));
        parsed.facts.push(edge(
            EdgeKind::CanAccess,
            (Label::Principal, who),
            (Label::Resource, res),
            Value::Object(p),
            &at,
        ));
    }
    parsed.scope = format!("{CONNECTOR}:{}", file.path);
    parsed
}

/// Microsoft Graph application permissions that let a service principal take
/// over other apps: add a credential to any of them, or grant itself what does.
pub const GRAPH_TAKEOVER: [(&str, &str); 4] = [
    (
        "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
        "Application.ReadWrite.All",
    ),
    (
        "06b708a9-e830-4db3-a914-8e69da51d44f",
        "AppRoleAssignment.ReadWrite.All",
    ),
    (
        "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8",
        "RoleManagement.ReadWrite.Directory",
    ),
    (
        "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
        "Directory.ReadWrite.All",
    ),
];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AppRoleAssignment {
    app_role_id: String,
    principal_id: String,
    #[serde(default)]
    principal_type: Option<String>,
    resource_id: String,
    #[serde(default)]
    resource_display_name: Option<String>,
}

/// App role assignments (Graph's `{"value": [...]}` or a bare list): one
/// `CAN_ACCESS` per service principal and resource API with every app role
/// (`app_roles`: ids, and the Graph permission names custody knows).
pub fn parse_app_role_assignments(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "entra-app-role-assignments";
    let mut parsed = Parsed::default();
    let Some((prefix, items)) = crate::util::load_list(
        CONNECTOR,
        file,
        &mut parsed,
        "value",
        "the app role assignments Graph returns",
    ) else {
        return parsed;
    };
    // (principal, resource API, pointer, app roles, API name)
    type Grants = (String, String, String, Vec<Value>, Option<String>);
    let mut per: Vec<Grants> = Vec::new();
    for (base, a) in
        records::<AppRoleAssignment>(CONNECTOR, file.path, &prefix, &items, &mut parsed)
    {
        if a.principal_type
            .as_deref()
            .is_some_and(|t| t != "ServicePrincipal")
        {
            continue;
        }
        let name = GRAPH_TAKEOVER
            .iter()
            .find(|(id, _)| id.eq_ignore_ascii_case(&a.app_role_id))
            .map(|(_, n)| *n);
        let role = json!({"id": a.app_role_id.to_ascii_lowercase(), "permission": name});
        let (p, r) = (
            a.principal_id.to_ascii_lowercase(),
            a.resource_id.to_ascii_lowercase(),
        );
        match per.iter_mut().find(|x| x.0 == p && x.1 == r) {
            Some(x) => x.3.push(role),
            None => per.push((p, r, base, vec![role], a.resource_display_name.clone())),
        }
    }
    for (principal, resource, at, roles, api) in per {
        let mut props = Map::new();
        props.insert("via".into(), json!("entra-app-role-assignment"));
        if let Some(api) = api {
            props.insert("api".into(), json!(api));
        }
        props.insert("app_roles".into(), Value::Array(roles));
        parsed.facts.push(edge(
            EdgeKind::CanAccess,
            (Label::Principal, sp_key(&principal)),
            (Label::Principal, sp_key(&resource)),
            Value::Object(props),
            &at,
        ));
    }
    parsed.scope = format!("{CONNECTOR}:{}", file.path);
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_model::EdgeKind as E;

    #[test]
    fn graph_application_permissions_are_kept_per_service_principal() {
        let text = r#"{"@odata.context": "x", "value": [
 {"id": "a", "appRoleId": "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9", "principalId": "P1", "principalType": "ServicePrincipal", "resourceId": "G", "resourceDisplayName": "Microsoft Graph"},
 {"id": "b", "appRoleId": "df021288-bdef-4463-88db-98f22de89214", "principalId": "P1", "principalType": "ServicePrincipal", "resourceId": "G", "resourceDisplayName": "Microsoft Graph"},
 {"id": "c", "appRoleId": "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9", "principalId": "U1", "principalType": "User", "resourceId": "G"}]}"#;
        let p = parse_app_role_assignments(&SourceFile {
            path: "azure/graph/app-role-assigned-to.json",
            bytes: text.as_bytes(),
        });
        assert!(p.errors.is_empty());
        let e = p.edges(Some(E::CanAccess));
        assert_eq!(e.len(), 1);
        assert_eq!(
            e[0].props["app_roles"][0]["permission"],
            "Application.ReadWrite.All"
        );
        assert_eq!(e[0].props["app_roles"].as_array().unwrap().len(), 2);
    }

    fn run(f: impl Fn(&SourceFile<'_>) -> Parsed, path: &str, text: &str) -> Parsed {
        f(&SourceFile {
            path,
            bytes: text.as_bytes(),
        })
    }

    #[test]
    fn apps_and_their_service_principals_are_one_subject_with_credentials() {
        let apps = r#"[{"id": "1b2c3d4e-0000-4000-8000-000000000001", "appId": "00000000-AAAA-4000-8000-0000000000B1",
            "displayName": "billing-sync", "signInAudience": "AzureADMyOrg", "createdDateTime": "2023-04-01T10:00:00Z",
            "passwordCredentials": [{"customKeyIdentifier": null, "displayName": "ci", "endDateTime": "2099-04-01T10:00:00Z",
               "hint": "Q~a", "keyId": "7A1C0000-0000-4000-8000-0000000000C1", "secretText": null, "startDateTime": "2023-04-01T10:00:00Z"}],
            "keyCredentials": [{"customKeyIdentifier": "52D7A4F3B1", "displayName": "CN=billing", "endDateTime": "2025-04-01T10:00:00Z",
               "key": null, "keyId": "7A1C0000-0000-4000-8000-0000000000C2", "startDateTime": "2024-04-01T10:00:00Z",
               "type": "AsymmetricX509Cert", "usage": "Verify"}],
            "requiredResourceAccess": []},
            {"id": "bad"}]"#;
        let p = run(|f| parse_objects(f, false), "azure/applications.json", apps);
        assert_eq!(p.errors.len(), 1);
        assert_eq!(p.errors[0].location, Location::Pointer("/1".into()));
        assert!(p.errors[0].message.contains("appId"));
        let n = p.nodes();
        assert_eq!(
            n[0].keys[0].as_str(),
            "id:azure-app/00000000-aaaa-4000-8000-0000000000b1"
        );
        assert_eq!(n[1].kind, "azure_client_secret");
        assert_eq!(
            n[1].keys[0].as_str(),
            "id:entra-credential/7a1c0000-0000-4000-8000-0000000000c1"
        );
        assert_eq!(n[1].props["secret_preview"], json!("Q~a…"));
        assert_eq!(n[2].kind, "azure_certificate");
        assert_eq!(p.edges(Some(E::AuthenticatesAs)).len(), 2);

        let sps = r#"[{"id": "9F000000-0000-4000-8000-0000000000D1", "appId": "00000000-aaaa-4000-8000-0000000000b1",
            "displayName": "billing-sync", "servicePrincipalType": "Application", "accountEnabled": true,
            "passwordCredentials": [], "keyCredentials": [], "alternativeNames": []},
            {"id": "9F000000-0000-4000-8000-0000000000D2", "appId": "00000000-aaaa-4000-8000-0000000000b2",
            "displayName": "vm-reporting", "servicePrincipalType": "ManagedIdentity", "accountEnabled": true,
            "alternativeNames": ["isExplicit=False", "/subscriptions/sub1/resourcegroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"]}]"#;
        let p = run(
            |f| parse_objects(f, true),
            "azure/service-principals.json",
            sps,
        );
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let n = p.nodes();
        let keys: Vec<&str> = n[0].keys.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "id:entra-sp/9f000000-0000-4000-8000-0000000000d1",
                "id:azure-app/00000000-aaaa-4000-8000-0000000000b1"
            ]
        );
        assert_eq!(n[1].kind, "azure_managed_identity");
        assert!(n[1].props["azure_resource"]
            .as_str()
            .unwrap()
            .contains("virtualMachines/vm1"));
    }

    #[test]
    fn federated_credentials_owners_and_role_assignments() {
        let fed = r#"[{"audiences": ["api://AzureADTokenExchange"], "description": "deploy", "id": "x",
            "issuer": "https://token.actions.githubusercontent.com", "name": "main", "subject": "repo:acme/infra:ref:refs/heads/main"}]"#;
        let p = run(
            parse_federated_credentials,
            "azure/applications/00000000-aaaa-4000-8000-0000000000b1/federated-credentials.json",
            fed,
        );
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let e = p.edges(Some(E::CanAssume));
        assert_eq!(
            e[0].from.key.as_str(),
            "id:oidc-issuer/token.actions.githubusercontent.com"
        );
        assert_eq!(
            e[0].to.key.as_str(),
            "id:azure-app/00000000-aaaa-4000-8000-0000000000b1"
        );
        assert_eq!(e[0].props["github_repository"], json!("acme/infra"));
        let nowhere = run(parse_federated_credentials, "fed.json", fed);
        assert!(nowhere.errors[0].message.contains("applications/<appId>/"));

        let owners = r##"[{"@odata.type": "#microsoft.graph.user", "id": "u1", "userPrincipalName": "Dana@Corp.com", "mail": null},
            {"@odata.type": "#microsoft.graph.user", "id": "u2", "userPrincipalName": null}]"##;
        let p = run(
            parse_owners,
            "azure/applications/00000000-aaaa-4000-8000-0000000000b1/owners.json",
            owners,
        );
        assert_eq!(p.errors.len(), 1);
        assert_eq!(
            p.edges(Some(E::OwnedBy))[0].to.key.as_str(),
            "email:dana@corp.com"
        );

        let ra = r#"[{"principalId": "9f000000-0000-4000-8000-0000000000d1", "principalType": "ServicePrincipal",
            "roleDefinitionName": "Contributor", "scope": "/subscriptions/sub1"},
            {"principalId": "u1", "principalType": "User", "roleDefinitionName": "Owner", "scope": "/subscriptions/sub1"}]"#;
        let p = run(parse_role_assignments, "azure/role-assignments.json", ra);
        let e = p.edges(Some(E::CanAccess));
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].props["admin"], json!(true));
        assert_eq!(p.nodes()[0].props["scope_level"], json!("subscription"));
    }
}
