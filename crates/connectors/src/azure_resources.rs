//! Azure's resource hierarchy, resources and role definitions, as `az`
//! prints them:
//!
//! - Azure Resource Graph: `az graph query -q "resourcecontainers"` (management
//!   groups, subscriptions with `properties.managementGroupAncestorsChain`,
//!   resource groups) and `az graph query -q "resources"` (Key Vaults with
//!   their access policies and `enableRbacAuthorization`, storage accounts,
//!   virtual machines, web and function apps, SQL servers), each with its
//!   `tags` and `identity` — the managed identities it runs as. The answer is
//!   `{"count", "data": [...], "skip_token", "total_records"}`; a bare list of
//!   rows is read too;
//! - role definitions: `az role definition list` (built-in and custom);
//! - Key Vault secrets: `az keyvault secret list --vault-name V` — names,
//!   attributes and tags; values are never listed.
//!
//! A resource is keyed by its id in lower case (`azure-resource:<id>`), which
//! is also the scope role assignments name.

use crate::util::records;
use crate::{InputError, Parsed, SourceFile};
use custody_model::{EdgeKind, Fact, Key, Label, Location};
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
    crate::util::node_at("azure", label, kind, keys, Some(name), props, at)
}

/// Resource types custody reads (lower case), and the node kind each becomes.
const KINDS: &[(&str, &str)] = &[
    (
        "microsoft.management/managementgroups",
        "azure_management_group",
    ),
    ("microsoft.resources/subscriptions", "azure_subscription"),
    (
        "microsoft.resources/subscriptions/resourcegroups",
        "azure_resource_group",
    ),
    ("microsoft.keyvault/vaults", "azure_key_vault"),
    ("microsoft.storage/storageaccounts", "azure_storage_account"),
    ("microsoft.compute/virtualmachines", "azure_virtual_machine"),
    ("microsoft.web/sites", "azure_web_app"),
    ("microsoft.sql/servers", "azure_sql_server"),
];

pub fn resource_key(id: &str) -> Key {
    Key::other("azure-resource", &id.trim().to_ascii_lowercase())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    tags: Option<Map<String, Value>>,
    #[serde(default)]
    identity: Option<Value>,
    #[serde(default)]
    properties: Option<Value>,
    #[serde(default)]
    location: Option<String>,
}

/// The principal ids of a resource's managed identities.
fn identities(identity: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(p) = identity.get("principalId").and_then(Value::as_str) {
        out.push(p.to_ascii_lowercase());
    }
    if let Some(Value::Object(m)) = identity.get("userAssignedIdentities") {
        for v in m.values() {
            if let Some(p) = v.get("principalId").and_then(Value::as_str) {
                out.push(p.to_ascii_lowercase());
            }
        }
    }
    out
}

pub fn parse_resource_graph(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "azure-resource-graph";
    let mut parsed = Parsed::default();
    let Some((prefix, items)) = crate::util::load_list(
        CONNECTOR,
        file,
        &mut parsed,
        "data",
        "the rows of `az graph query`",
    ) else {
        return parsed;
    };
    for (base, r) in records::<Row>(CONNECTOR, file.path, &prefix, &items, &mut parsed) {
        let t = r.kind.to_ascii_lowercase();
        let Some(kind) = KINDS.iter().find(|(k, _)| *k == t).map(|(_, k)| *k) else {
            continue;
        };
        let id = r.id.to_ascii_lowercase();
        let mut props = Map::new();
        props.insert("id".into(), json!(r.id));
        props.insert("type".into(), json!(r.kind));
        if let Some(l) = &r.location {
            props.insert("location".into(), json!(l));
        }
        if let Some(tags) = r.tags.as_ref().filter(|t| !t.is_empty()) {
            props.insert("tags".into(), Value::Object(tags.clone()));
        }
        let p = r.properties.clone().unwrap_or(Value::Null);
        match kind {
            "azure_subscription" => {
                let chain: Vec<String> = p
                    .get("managementGroupAncestorsChain")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|g| g.get("name")?.as_str().map(str::to_string))
                    .collect();
                props.insert("management_groups".into(), json!(chain));
            }
            "azure_key_vault" => {
                let rbac = p.get("enableRbacAuthorization").and_then(Value::as_bool) == Some(true);
                props.insert("enable_rbac_authorization".into(), json!(rbac));
                if let Some(u) = p.get("vaultUri").and_then(Value::as_str) {
                    props.insert("vault_uri".into(), json!(u.to_ascii_lowercase()));
                }
                // Object ids and permission names only: no secret is in a policy.
                let policies: Vec<Value> = p
                    .get("accessPolicies")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|a| {
                        json!({"objectId": a.get("objectId"), "tenantId": a.get("tenantId"),
                               "permissions": a.get("permissions")})
                    })
                    .collect();
                props.insert("access_policies".into(), Value::Array(policies));
            }
            _ => {}
        }
        let name = r
            .name
            .clone()
            .unwrap_or_else(|| id.rsplit('/').next().unwrap_or(&id).to_string());
        let key = resource_key(&id);
        parsed.facts.push(node(
            Label::Resource,
            kind,
            vec![key.clone()],
            &name,
            props,
            &base,
        ));
        for principal in r.identity.as_ref().map(identities).unwrap_or_default() {
            let mut ep = Map::new();
            ep.insert("via".into(), json!("azure-managed-identity"));
            parsed.facts.push(crate::util::edge_between(
                EdgeKind::RunsAs,
                (Label::Resource, key.clone()),
                (Label::Principal, crate::azure::sp_key(&principal)),
                Value::Object(ep),
                &format!("{base}/identity"),
            ));
        }
    }
    parsed.scope = format!("{CONNECTOR}:{}", file.path);
    parsed
}

pub fn parse_role_definitions(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "azure-role-definitions";
    let mut parsed = Parsed::default();
    let Some(items) = crate::util::load_array(CONNECTOR, file, &mut parsed) else {
        return parsed;
    };
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Def {
        name: String,
        role_name: String,
        #[serde(default)]
        role_type: Option<String>,
        #[serde(default)]
        permissions: Vec<Value>,
    }
    for (base, d) in records::<Def>(CONNECTOR, file.path, "", &items, &mut parsed) {
        let mut props = Map::new();
        props.insert(
            "definition".into(),
            json!({"name": d.name, "roleName": d.role_name, "permissions": d.permissions}),
        );
        if let Some(t) = &d.role_type {
            props.insert("role_type".into(), json!(t));
        }
        parsed.facts.push(node(
            Label::Resource,
            "azure_role_definition",
            vec![Key::other("azure-role", &d.name.to_ascii_lowercase())],
            &d.role_name,
            props,
            &base,
        ));
    }
    parsed.scope = format!("{CONNECTOR}:{}", file.path);
    parsed
}

pub fn parse_keyvault_secrets(file: &SourceFile<'_>) -> Parsed {
    const CONNECTOR: &str = "azure-keyvault-secrets";
    let mut parsed = Parsed::default();
    let Some(items) = crate::util::load_array(CONNECTOR, file, &mut parsed) else {
        return parsed;
    };
    #[derive(Deserialize)]
    struct Secret {
        id: String,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        tags: Option<Map<String, Value>>,
        #[serde(default)]
        attributes: Option<Value>,
    }
    for (base, s) in records::<Secret>(CONNECTOR, file.path, "", &items, &mut parsed) {
        // https://<vault>.vault.azure.net/secrets/<name>[/<version>]
        let Some((vault, rest)) = s.id.split_once("/secrets/") else {
            parsed.errors.push(InputError::new(
                CONNECTOR,
                file.path,
                Location::Pointer(format!("{base}/id")),
                "not a Key Vault secret id (https://<vault>.vault.azure.net/secrets/<name>)",
            ));
            continue;
        };
        let name = s
            .name
            .clone()
            .unwrap_or_else(|| rest.split('/').next().unwrap_or(rest).to_string());
        let vault_uri = format!("{}/", vault.trim_end_matches('/').to_ascii_lowercase());
        let mut props = Map::new();
        props.insert("vault_uri".into(), json!(vault_uri));
        props.insert("secret_name".into(), json!(name));
        if let Some(tags) = s.tags.as_ref().filter(|t| !t.is_empty()) {
            props.insert("tags".into(), Value::Object(tags.clone()));
        }
        if let Some(e) = s
            .attributes
            .as_ref()
            .and_then(|a| a.get("enabled"))
            .and_then(Value::as_bool)
        {
            props.insert("enabled".into(), json!(e));
        }
        parsed.facts.push(node(
            Label::Location,
            "azure_key_vault_secret",
            vec![Key::uri(&format!("{vault_uri}secrets/{name}"))],
            &name,
            props,
            &base,
        ));
    }
    parsed.scope = format!("{CONNECTOR}:{}", file.path);
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: fn(&SourceFile<'_>) -> Parsed, text: &str) -> Parsed {
        f(&SourceFile {
            path: "azure/resource-graph/resources.json",
            bytes: text.as_bytes(),
        })
    }

    #[test]
    fn resource_graph_rows_with_identities_and_vault_policies() {
        let text = r#"{"count": 3, "data": [
 {"id": "/subscriptions/S1", "name": "prod", "type": "microsoft.resources/subscriptions",
  "properties": {"managementGroupAncestorsChain": [{"name": "mg-prod", "displayName": "Prod"}, {"name": "tenant-root", "displayName": "Root"}]}},
 {"id": "/subscriptions/S1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1", "name": "kv1", "type": "microsoft.keyvault/vaults",
  "tags": {"data-classification": "restricted"},
  "properties": {"enableRbacAuthorization": false, "vaultUri": "https://kv1.vault.azure.net/",
                 "accessPolicies": [{"tenantId": "T", "objectId": "OID", "permissions": {"secrets": ["get", "list"]}}]}},
 {"id": "/subscriptions/S1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1", "name": "vm1", "type": "microsoft.compute/virtualmachines",
  "identity": {"type": "SystemAssigned", "principalId": "PID"}},
 {"id": "/subscriptions/S1/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v", "type": "microsoft.network/virtualnetworks"}
], "skip_token": null, "total_records": 4}"#;
        let p = run(parse_resource_graph, text);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let n = p.nodes();
        assert_eq!(n.len(), 3);
        assert_eq!(
            n[0].props["management_groups"],
            json!(["mg-prod", "tenant-root"])
        );
        assert_eq!(n[1].props["enable_rbac_authorization"], false);
        assert_eq!(n[1].props["access_policies"][0]["objectId"], "OID");
        let runs: Vec<_> = p
            .facts
            .iter()
            .filter_map(|f| match f {
                Fact::Edge(e) if e.kind == EdgeKind::RunsAs => Some(e),
                _ => None,
            })
            .collect();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].to.key.as_str(), "id:entra-sp/pid");
        // An answer without its rows is an error at `/data`, not an empty estate.
        let bad = run(parse_resource_graph, r#"{"count": 0, "total_records": 0}"#);
        assert_eq!(bad.errors.len(), 1);
        assert!(
            bad.errors[0].to_string().contains("/data"),
            "{}",
            bad.errors[0]
        );
    }

    #[test]
    fn secrets_listing_names_its_vault_and_a_bad_id_is_located() {
        let text = r#"[{"id": "https://kv1.vault.azure.net/secrets/aws-deploy", "name": "aws-deploy", "attributes": {"enabled": true}, "tags": {}},
                       {"id": "https://kv1.vault.azure.net/keys/k"}]"#;
        let p = run(parse_keyvault_secrets, text);
        assert_eq!(
            p.nodes()[0].props["vault_uri"],
            "https://kv1.vault.azure.net/"
        );
        assert_eq!(p.errors.len(), 1);
        assert!(p.errors[0].to_string().contains("/1/id"));
    }
}
