//! Google Cloud's resource hierarchy and resources, as Cloud Asset Inventory
//! and IAM print them:
//!
//! - `gcloud asset search-all-resources --scope=organizations/ORG --format=json`:
//!   the organisation, folders, projects and the resources custody evaluates
//!   (buckets, Secret Manager secrets, KMS keys, BigQuery datasets, Cloud SQL
//!   instances, GKE clusters), each with its `project`, `folders` and
//!   `organization` — where it sits in the hierarchy — and its `labels`;
//! - `gcloud asset search-all-iam-policies --scope=organizations/ORG --format=json`:
//!   every allow policy set on the organisation, a folder, a project or a
//!   resource, with the same placement;
//! - custom roles: `gcloud iam roles describe ROLE --project P` (or
//!   `--organization O`), one object or a list of them, with `includedPermissions`;
//! - deny policies: `gcloud iam policies get POLICY --attachment-point=… --kind=denypolicies`,
//!   one object or a list of them.
//!
//! A resource's scope is its full resource name; the organisation, folders and
//! projects are `organizations/N`, `folders/N` and `projects/<id>` (a project
//! given by number is mapped to its id when the same listing holds the
//! project). Secret values are never in these exports.

use crate::gcp::{emit_bindings, node};
use crate::util::{load_array, load_one_or_many, records};
use crate::{InputError, Parsed, SourceFile};
use custody_model::{Endpoint, Key, Label, Location};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// Asset types custody reads, and the node kind each becomes.
const KINDS: &[(&str, &str)] = &[
    (
        "cloudresourcemanager.googleapis.com/Organization",
        "gcp_organization",
    ),
    ("cloudresourcemanager.googleapis.com/Folder", "gcp_folder"),
    ("cloudresourcemanager.googleapis.com/Project", "gcp_project"),
    ("storage.googleapis.com/Bucket", "gcp_storage_bucket"),
    ("secretmanager.googleapis.com/Secret", "gcp_secret"),
    ("cloudkms.googleapis.com/CryptoKey", "gcp_kms_key"),
    ("bigquery.googleapis.com/Dataset", "gcp_bigquery_dataset"),
    ("sqladmin.googleapis.com/Instance", "gcp_sql_instance"),
    ("container.googleapis.com/Cluster", "gcp_gke_cluster"),
    ("iam.googleapis.com/ServiceAccount", "gcp_service_account"),
];

fn kind_of(asset_type: &str) -> Option<&'static str> {
    KINDS
        .iter()
        .find(|(t, _)| *t == asset_type)
        .map(|(_, k)| *k)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Placement {
    #[serde(default)]
    project: Option<String>,
    #[serde(default)]
    folders: Vec<String>,
    #[serde(default)]
    organization: Option<String>,
}

impl Placement {
    /// Organisation first, then folders, then the project (as `projects/<id>`
    /// when the number is known).
    fn ancestors(&self, ids: &HashMap<String, String>, own: &str) -> Vec<String> {
        let mut out = Vec::new();
        out.extend(self.organization.clone());
        out.extend(self.folders.iter().rev().cloned());
        if let Some(p) = &self.project {
            out.push(project_scope(p, ids));
        }
        out.retain(|a| a != own && !a.is_empty());
        out
    }
}

fn project_scope(p: &str, ids: &HashMap<String, String>) -> String {
    let n = p.trim_start_matches("projects/");
    match ids.get(n) {
        Some(id) => format!("projects/{id}"),
        None => format!("projects/{n}"),
    }
}

/// The scope, node key and display name of a hierarchy node or resource.
fn scope_of(
    kind: &str,
    full_name: &str,
    project_id: Option<&str>,
    ids: &HashMap<String, String>,
) -> (String, Key) {
    let last = full_name.rsplit('/').next().unwrap_or(full_name);
    match kind {
        "gcp_organization" => (
            format!("organizations/{last}"),
            Key::other("gcp-organization", last),
        ),
        "gcp_folder" => (format!("folders/{last}"), Key::other("gcp-folder", last)),
        "gcp_project" => {
            let id = project_id
                .map(str::to_string)
                .or_else(|| ids.get(last).cloned())
                .unwrap_or_else(|| last.to_string());
            (format!("projects/{id}"), Key::other("gcp-project", &id))
        }
        // Named by e-mail, or by unique id (`…/serviceAccounts/1234…`), as
        // the account listing keys it too.
        "gcp_service_account" if last.contains('@') => (String::new(), Key::email(last)),
        "gcp_service_account" => (String::new(), Key::other("gcp-sa", last)),
        _ => (full_name.to_string(), Key::uri(full_name)),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Resource {
    name: String,
    asset_type: String,
    #[serde(flatten)]
    placement: Placement,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    labels: Map<String, Value>,
    #[serde(default)]
    additional_attributes: Map<String, Value>,
    #[serde(default)]
    create_time: Option<String>,
}

/// The project id of a Project asset: its name when not a number, else
/// `additionalAttributes.projectId`.
fn project_id(r: &Resource) -> Option<String> {
    let last = r.name.rsplit('/').next().unwrap_or(&r.name);
    if !last.bytes().all(|b| b.is_ascii_digit()) {
        return Some(last.to_string());
    }
    r.additional_attributes
        .get("projectId")
        .and_then(Value::as_str)
        .map(str::to_string)
}

pub fn parse_resources(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "gcp-asset-resources";
    let mut parsed = Parsed::default();
    let Some(items) = load_array(CONNECTOR, file, &mut parsed) else {
        return parsed;
    };
    let list = records::<Resource>(CONNECTOR, file.path, "", &items, &mut parsed);
    // Project number → id, from the projects in this listing.
    let mut ids = HashMap::new();
    for (_, r) in &list {
        if r.asset_type == "cloudresourcemanager.googleapis.com/Project" {
            if let (Some(p), Some(id)) = (&r.placement.project, project_id(r)) {
                ids.insert(p.trim_start_matches("projects/").to_string(), id);
            }
        }
    }
    for (base, r) in &list {
        // Assets of types custody does not evaluate are counted, not kept.
        let Some(kind) = kind_of(&r.asset_type) else {
            continue;
        };
        let pid = (kind == "gcp_project").then(|| project_id(r)).flatten();
        let (scope, key) = scope_of(kind, &r.name, pid.as_deref(), &ids);
        let mut props = Map::new();
        props.insert("full_name".into(), json!(r.name));
        props.insert("asset_type".into(), json!(r.asset_type));
        if let Some(l) = &r.location {
            props.insert("location".into(), json!(l));
        }
        if let Some(t) = &r.create_time {
            props.insert("created".into(), json!(t));
        }
        if kind == "gcp_service_account" {
            // The account itself comes from `service-accounts list`; here only
            // where it sits.
            if let Some(p) = &r.placement.project {
                let p = project_scope(p, &ids);
                props.insert(
                    "project_id".into(),
                    json!(p.trim_start_matches("projects/")),
                );
            }
            let name = r.name.rsplit('/').next().unwrap_or(&r.name);
            parsed
                .facts
                .push(node(Label::Principal, kind, vec![key], name, props, base));
            continue;
        }
        props.insert("scope".into(), json!(scope));
        props.insert(
            "ancestors".into(),
            json!(r.placement.ancestors(&ids, &scope)),
        );
        if !r.labels.is_empty() {
            props.insert("labels".into(), Value::Object(r.labels.clone()));
        }
        let mut keys = vec![key];
        if kind == "gcp_project" {
            if let Some(id) = &pid {
                props.insert("project_id".into(), json!(id));
            }
            if let Some(p) = &r.placement.project {
                let n = p.trim_start_matches("projects/");
                props.insert("project_number".into(), json!(n));
                keys.push(Key::other("gcp-project-number", n));
            }
        } else if let Some(p) = &r.placement.project {
            let p = project_scope(p, &ids);
            props.insert(
                "project_id".into(),
                json!(p.trim_start_matches("projects/")),
            );
        }
        let name = r
            .display_name
            .clone()
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| r.name.rsplit('/').next().unwrap_or(&r.name).to_string());
        parsed
            .facts
            .push(node(Label::Resource, kind, keys, &name, props, base));
    }
    parsed.scope = format!("{CONNECTOR}:{}", file.path);
    parsed
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PolicyResult {
    resource: String,
    #[serde(default)]
    asset_type: Option<String>,
    #[serde(flatten)]
    placement: Placement,
    #[serde(default)]
    policy: Value,
}

pub fn parse_iam_policies(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "gcp-asset-iam-policies";
    let mut parsed = Parsed::default();
    let Some(items) = load_array(CONNECTOR, file, &mut parsed) else {
        return parsed;
    };
    let ids = HashMap::new();
    for (base, r) in records::<PolicyResult>(CONNECTOR, file.path, "", &items, &mut parsed) {
        let asset_type = r.asset_type.as_deref().unwrap_or("");
        let Some(kind) = kind_of(asset_type) else {
            // A policy on something custody does not evaluate (a topic, a
            // dataset table…): its bindings are counted, not followed.
            continue;
        };
        let bindings = match r.policy.get("bindings") {
            Some(Value::Array(b)) => b.as_slice(),
            None | Some(Value::Null) => &[],
            Some(_) => {
                parsed.errors.push(InputError::new(
                    CONNECTOR,
                    file.path,
                    Location::Pointer(format!("{base}/policy/bindings")),
                    "`bindings` should be a list",
                ));
                continue;
            }
        };
        let (scope, key) = scope_of(kind, &r.resource, None, &ids);
        let target = if kind == "gcp_service_account" {
            Endpoint::new(Label::Principal, key)
        } else {
            // The policy's own resource: where it sits is known here too.
            let mut props = Map::new();
            let mut keys = vec![key.clone()];
            let scope = if kind == "gcp_project" {
                let n = r.resource.rsplit('/').next().unwrap_or("");
                if n.bytes().all(|b| b.is_ascii_digit()) {
                    // Named by number: the project listing says its id.
                    keys = vec![Key::other("gcp-project-number", n)];
                    props.insert("project_number".into(), json!(n));
                } else {
                    props.insert("project_id".into(), json!(n));
                }
                format!("projects/{n}")
            } else {
                scope
            };
            props.insert("scope".into(), json!(scope));
            props.insert(
                "ancestors".into(),
                json!(r.placement.ancestors(&ids, &scope)),
            );
            let name = r
                .resource
                .rsplit('/')
                .next()
                .unwrap_or(&r.resource)
                .to_string();
            parsed.facts.push(node(
                Label::Resource,
                kind,
                keys.clone(),
                &name,
                props,
                &base,
            ));
            Endpoint::new(Label::Resource, keys.swap_remove(0))
        };
        emit_bindings(
            CONNECTOR,
            file.path,
            &format!("{base}/policy"),
            bindings,
            &target,
            kind == "gcp_service_account",
            &mut parsed,
        );
    }
    parsed.scope = format!("{CONNECTOR}:{}", file.path);
    parsed
}

/// A custom role (`gcloud iam roles describe`): one object or a list.
pub fn parse_roles(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "gcp-iam-roles";
    let mut parsed = Parsed::default();
    let Some(items) = load_one_or_many(CONNECTOR, file, &mut parsed) else {
        return parsed;
    };
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Role {
        name: String,
        #[serde(default)]
        title: Option<String>,
        #[serde(default)]
        included_permissions: Vec<String>,
        #[serde(default)]
        stage: Option<String>,
        #[serde(default)]
        deleted: bool,
    }
    for (base, r) in records::<Role>(CONNECTOR, file.path, "", &items, &mut parsed) {
        if r.deleted {
            continue;
        }
        let mut props = Map::new();
        props.insert("role".into(), json!(r.name));
        props.insert("permissions".into(), json!(r.included_permissions));
        if let Some(s) = &r.stage {
            props.insert("stage".into(), json!(s));
        }
        let title = r.title.clone().unwrap_or_else(|| r.name.clone());
        parsed.facts.push(node(
            Label::Resource,
            "gcp_role",
            vec![Key::other("gcp-role", &r.name)],
            &title,
            props,
            &base,
        ));
    }
    parsed.scope = format!("{CONNECTOR}:{}", file.path);
    parsed
}

/// Deny policies (`gcloud iam policies get … --kind=denypolicies`): the
/// attachment point is in the policy's name,
/// `policies/<url-encoded attachment>/denypolicies/<id>`.
pub fn parse_deny_policies(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "gcp-deny-policies";
    let mut parsed = Parsed::default();
    let Some(items) = load_one_or_many(CONNECTOR, file, &mut parsed) else {
        return parsed;
    };
    for (i, p) in items.iter().enumerate() {
        parsed.records += 1;
        let base = format!("/{i}");
        let Some(name) = p.get("name").and_then(Value::as_str) else {
            parsed.errors.push(InputError::new(
                CONNECTOR,
                file.path,
                Location::Pointer(format!("{base}/name")),
                "a deny policy without its `name` (policies/<attachment point>/denypolicies/<id>)",
            ));
            continue;
        };
        let Some(attachment) = attachment_of(name) else {
            parsed.errors.push(InputError::new(
                CONNECTOR,
                file.path,
                Location::Pointer(format!("{base}/name")),
                "cannot read the attachment point from the policy's name",
            ));
            continue;
        };
        let mut props = Map::new();
        props.insert("attachment".into(), json!(attachment));
        props.insert("policy".into(), p.clone());
        let display = p.get("displayName").and_then(Value::as_str).unwrap_or(name);
        parsed.facts.push(node(
            Label::Resource,
            "gcp_deny_policy",
            vec![Key::other("gcp-deny-policy", name)],
            display,
            props,
            &base,
        ));
    }
    parsed.scope = format!("{CONNECTOR}:{}", file.path);
    parsed
}

/// `policies/cloudresourcemanager.googleapis.com%2Fprojects%2Fmy-proj/denypolicies/x`
/// → `projects/my-proj`.
pub fn attachment_of(name: &str) -> Option<String> {
    let enc = name
        .strip_prefix("policies/")?
        .split("/denypolicies/")
        .next()?;
    let dec = enc.replace("%2F", "/").replace("%2f", "/");
    let rest = dec.strip_prefix("cloudresourcemanager.googleapis.com/")?;
    Some(rest.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_model::{EdgeKind, Fact};

    fn run(f: fn(&SourceFile<'_>) -> Parsed, path: &str, text: &str) -> Parsed {
        f(&SourceFile {
            path,
            bytes: text.as_bytes(),
        })
    }

    #[test]
    fn resources_sit_in_the_hierarchy() {
        let text = r#"[
 {"name": "//cloudresourcemanager.googleapis.com/projects/123", "assetType": "cloudresourcemanager.googleapis.com/Project",
  "project": "projects/123", "folders": ["folders/9"], "organization": "organizations/1", "displayName": "Shop prod",
  "additionalAttributes": {"projectId": "shop-prod"}},
 {"name": "//storage.googleapis.com/shop-exports", "assetType": "storage.googleapis.com/Bucket",
  "project": "projects/123", "folders": ["folders/9"], "organization": "organizations/1", "displayName": "shop-exports",
  "labels": {"data-classification": "restricted"}},
 {"name": "//pubsub.googleapis.com/projects/shop-prod/topics/t", "assetType": "pubsub.googleapis.com/Topic", "project": "projects/123"}
]"#;
        let p = run(parse_resources, "gcp/assets/resources.json", text);
        assert!(p.errors.is_empty());
        let n = p.nodes();
        assert_eq!(n.len(), 2);
        assert_eq!(n[0].props["scope"], "projects/shop-prod");
        assert_eq!(n[0].props["project_number"], "123");
        assert_eq!(n[1].props["scope"], "//storage.googleapis.com/shop-exports");
        assert_eq!(
            n[1].props["ancestors"],
            json!(["organizations/1", "folders/9", "projects/shop-prod"])
        );
    }

    #[test]
    fn policies_become_grants_per_member() {
        let text = r#"[
 {"resource": "//cloudresourcemanager.googleapis.com/folders/9", "assetType": "cloudresourcemanager.googleapis.com/Folder",
  "organization": "organizations/1", "folders": ["folders/9"],
  "policy": {"bindings": [{"role": "roles/storage.admin", "members": ["serviceAccount:a@p.iam.gserviceaccount.com"]},
                          {"role": "roles/viewer", "members": ["serviceAccount:a@p.iam.gserviceaccount.com"],
                           "condition": {"expression": "request.time < timestamp('2027-01-01T00:00:00Z')", "title": "expires"}}]}},
 {"resource": "//secretmanager.googleapis.com/projects/123/secrets/db", "assetType": "secretmanager.googleapis.com/Secret",
  "project": "projects/123", "policy": {"bindings": [{"role": "roles/secretmanager.secretAccessor", "members": ["serviceAccount:b@p.iam.gserviceaccount.com"]}]}}
]"#;
        let p = run(parse_iam_policies, "gcp/assets/iam-policies.json", text);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let edges: Vec<_> = p
            .facts
            .iter()
            .filter_map(|f| match f {
                Fact::Edge(e) => Some(e),
                _ => None,
            })
            .collect();
        assert_eq!(edges.len(), 2);
        assert!(edges.iter().all(|e| e.kind == EdgeKind::CanAccess));
        assert_eq!(edges[0].props["grants"].as_array().unwrap().len(), 2);
        assert_eq!(edges[0].props["conditional"], false);
        let folder = &p.nodes()[0];
        assert_eq!(folder.props["scope"], "folders/9");
    }

    #[test]
    fn deny_policy_attachment_is_read_from_its_name() {
        assert_eq!(
            attachment_of("policies/cloudresourcemanager.googleapis.com%2Fprojects%2Fshop-prod/denypolicies/no-delete").as_deref(),
            Some("projects/shop-prod")
        );
        let text = r#"{"name": "policies/cloudresourcemanager.googleapis.com%2Forganizations%2F1/denypolicies/x", "rules": [{"denyRule": {"deniedPrincipals": ["principalSet://goog/public:all"], "deniedPermissions": ["secretmanager.googleapis.com/versions.access"]}}]}"#;
        let p = run(parse_deny_policies, "gcp/deny.json", text);
        assert_eq!(p.nodes()[0].props["attachment"], "organizations/1");
        let bad = run(parse_deny_policies, "gcp/deny.json", r#"{"rules": []}"#);
        assert_eq!(bad.errors.len(), 1);
    }
}
