//! The resource inventories of Google Cloud and Azure, as their inventory
//! services export them, and the planted workload that reaches all three
//! clouds:
//!
//! - `gcp/assets/resources.json`: `gcloud asset search-all-resources
//!   --scope=organizations/ORG` — the organisation, a folder per team, every
//!   project, and in each a Cloud Storage bucket and a Secret Manager secret
//!   labelled by environment;
//! - `gcp/assets/iam-policies.json`: `gcloud asset search-all-iam-policies` —
//!   the organisation's policy and resource-level policies on secrets;
//! - `azure/resource-graph/resourcecontainers.json` and `resources.json`:
//!   `az graph query` — subscriptions under a management group, and a Key
//!   Vault (Azure RBAC) per subscription; `azure/keyvault/<vault>/secrets.json`:
//!   `az keyvault secret list`;
//! - the planted `infra-deploy` app: `az ad app list --filter`, `az ad sp list
//!   --filter`, its federated credential trusting the infra-deploy repository's
//!   main branch, and `az role assignment list --assignee`: Key Vault Secrets
//!   User on the platform vault.
//!
//! Everything here draws from its own random stream, so the rest of the
//! company (and every other planted answer) is unchanged by it.

use crate::rng::Rng;
use crate::vault::uuid;
use crate::write::Writer;
use crate::SynthError;
use serde_json::{json, Value};

/// What the demo checks: the workload's reach in Google Cloud and Azure.
pub struct Planted {
    pub azure_client_id: String,
    /// The GCP bucket the workload can administer through the AWS role.
    pub gcp_bucket: String,
    /// The Key Vault secret it can read through its Azure app.
    pub azure_secret: String,
}

pub fn write(
    w: &mut Writer,
    seed: u64,
    projects: &[(String, String, String, String)],
    subscriptions: &[String],
    tenant: &str,
    federation: Option<&Value>,
) -> Result<Option<Planted>, SynthError> {
    let mut rng = Rng::new(seed ^ 0x5eed_c10d);
    let org = format!("organizations/{}", rng.digits(12));
    let mut folders: Vec<(String, String)> = Vec::new();
    let mut resources = vec![
        json!({"name": format!("//cloudresourcemanager.googleapis.com/{org}"),
        "assetType": "cloudresourcemanager.googleapis.com/Organization", "organization": org,
        "displayName": "organization", "state": "ACTIVE"}),
    ];
    let mut policies = Vec::new();
    let mut planted_bucket = String::new();
    for (i, (id, number, team, env)) in projects.iter().enumerate() {
        let folder = match folders.iter().find(|f| f.0 == *team) {
            Some(f) => f.1.clone(),
            None => {
                let f = format!("folders/{}", rng.digits(12));
                resources.push(
                    json!({"name": format!("//cloudresourcemanager.googleapis.com/{f}"),
                    "assetType": "cloudresourcemanager.googleapis.com/Folder", "organization": org,
                    "folders": [f], "displayName": team, "state": "ACTIVE"}),
                );
                folders.push((team.clone(), f.clone()));
                f
            }
        };
        let place = json!({"project": format!("projects/{number}"), "folders": [folder], "organization": org});
        let with = |mut v: Value| {
            for (k, x) in place.as_object().into_iter().flatten() {
                v[k] = x.clone();
            }
            v
        };
        let class = if env == "prod" {
            "restricted"
        } else {
            "internal"
        };
        resources.push(with(
            json!({"name": format!("//cloudresourcemanager.googleapis.com/projects/{number}"),
            "assetType": "cloudresourcemanager.googleapis.com/Project", "displayName": id,
            "additionalAttributes": {"projectId": id}, "state": "ACTIVE", "labels": {"env": env}}),
        ));
        let bucket = format!("{id}-data");
        resources.push(with(json!({"name": format!("//storage.googleapis.com/{bucket}"),
            "assetType": "storage.googleapis.com/Bucket", "displayName": bucket, "location": "us-central1",
            "labels": {"data-classification": class, "team": team}})));
        let secret =
            format!("//secretmanager.googleapis.com/projects/{number}/secrets/db-password");
        resources.push(with(
            json!({"name": secret, "assetType": "secretmanager.googleapis.com/Secret",
            "displayName": "db-password", "location": "global", "labels": {"env": env}}),
        ));
        if i == 0 && federation.is_some() {
            planted_bucket = format!("//storage.googleapis.com/{bucket}");
        }
        // Each project's runtime account reads its own database password.
        policies.push(with(json!({"resource": secret, "assetType": "secretmanager.googleapis.com/Secret",
            "policy": {"bindings": [{"role": "roles/secretmanager.secretAccessor",
                "members": [format!("serviceAccount:{number}-compute@developer.gserviceaccount.com")]}]}})));
    }
    policies.push(json!({"resource": format!("//cloudresourcemanager.googleapis.com/{org}"),
        "assetType": "cloudresourcemanager.googleapis.com/Organization", "organization": org,
        "policy": {"bindings": [{"role": "roles/resourcemanager.organizationAdmin", "members": ["group:gcp-admins@example.com"]}]}}));
    w.json("gcp/assets/resources.json", &Value::Array(resources), false)?;
    w.json(
        "gcp/assets/iam-policies.json",
        &Value::Array(policies),
        false,
    )?;

    let mg = "mg-production";
    let mut containers = vec![
        json!({"id": format!("/providers/Microsoft.Management/managementGroups/{mg}"),
        "name": mg, "type": "microsoft.management/managementgroups", "tenantId": tenant,
        "properties": {"displayName": "Production"}}),
    ];
    let mut rows = Vec::new();
    let mut vaults = Vec::new();
    for (i, sub) in subscriptions.iter().enumerate() {
        containers.push(json!({"id": format!("/subscriptions/{sub}"), "name": format!("sub-{i}"),
            "type": "microsoft.resources/subscriptions", "tenantId": tenant, "subscriptionId": sub,
            "properties": {"managementGroupAncestorsChain": [{"name": mg, "displayName": "Production"},
                {"name": tenant, "displayName": "Tenant Root Group"}], "state": "Enabled"}}));
        let name = format!("kv-platform-{i}-{}", rng.hex(4));
        let rg = "rg-platform";
        rows.push(json!({"id": format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{name}"),
            "name": name, "type": "microsoft.keyvault/vaults", "tenantId": tenant, "location": "eastus",
            "resourceGroup": rg, "subscriptionId": sub, "tags": {"data-classification": "restricted"},
            "properties": {"enableRbacAuthorization": true, "vaultUri": format!("https://{name}.vault.azure.net/"),
                "accessPolicies": [], "tenantId": tenant}}));
        let secrets: Vec<Value> = [
            "aws-deploy-credentials",
            "gcp-terraform-key",
            "datadog-api-key",
        ]
        .iter()
        .map(|s| {
            json!({"attributes": {"enabled": true, "created": "2026-03-02T10:00:00+00:00"},
                "contentType": null, "id": format!("https://{name}.vault.azure.net/secrets/{s}"),
                "managed": null, "name": s, "tags": {}})
        })
        .collect();
        w.json(
            &format!("azure/keyvault/{name}/secrets.json"),
            &Value::Array(secrets),
            false,
        )?;
        vaults.push((sub.clone(), rg, name));
    }
    w.json(
        "azure/resource-graph/resourcecontainers.json",
        &json!({"count": containers.len(), "data": containers, "skip_token": null, "total_records": containers.len()}),
        false,
    )?;
    w.json(
        "azure/resource-graph/resources.json",
        &json!({"count": rows.len(), "data": rows, "skip_token": null, "total_records": rows.len()}),
        false,
    )?;
    let (Some(f), Some((sub, rg, vault))) = (federation, vaults.first()) else {
        return Ok(None);
    };
    let repository = f["repository"].as_str().unwrap_or("acme/infra-deploy");
    let (app_id, app_object, sp_object) = (uuid(&mut rng), uuid(&mut rng), uuid(&mut rng));
    w.json(
        "azure/applications-infra-deploy.json",
        &json!([{"id": app_object, "appId": app_id, "displayName": "infra-deploy",
            "createdDateTime": "2026-01-12T09:30:00Z", "signInAudience": "AzureADMyOrg",
            "passwordCredentials": [], "keyCredentials": [], "requiredResourceAccess": [],
            "identifierUris": [], "tags": [], "notes": "GitHub Actions deploys (OIDC)"}]),
        false,
    )?;
    w.json(
        "azure/service-principals-infra-deploy.json",
        &json!([{"id": sp_object, "appId": app_id, "displayName": "infra-deploy", "servicePrincipalType": "Application",
            "appOwnerOrganizationId": tenant, "accountEnabled": true, "alternativeNames": [],
            "passwordCredentials": [], "keyCredentials": [], "tags": []}]),
        false,
    )?;
    w.json(
        &format!("azure/applications/{app_id}/federated-credentials.json"),
        &json!([{"audiences": ["api://AzureADTokenExchange"], "description": "infra-deploy main",
            "id": uuid(&mut rng), "issuer": "https://token.actions.githubusercontent.com",
            "name": "github-main", "subject": format!("repo:{repository}:ref:refs/heads/main")}]),
        false,
    )?;
    let vault_id = format!(
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{vault}"
    );
    w.json(
        "azure/role-assignments-infra-deploy.json",
        &json!([{"condition": null, "conditionVersion": null, "id": format!("{vault_id}/providers/Microsoft.Authorization/roleAssignments/{}", uuid(&mut rng)),
            "name": uuid(&mut rng), "principalId": sp_object, "principalName": app_id, "principalType": "ServicePrincipal",
            "roleDefinitionId": format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6"),
            "roleDefinitionName": "Key Vault Secrets User", "scope": vault_id, "type": "Microsoft.Authorization/roleAssignments"}]),
        false,
    )?;
    Ok(Some(Planted {
        azure_client_id: app_id,
        gcp_bucket: planted_bucket,
        azure_secret: format!(
            "{}/secrets/aws-deploy-credentials",
            vault_id.to_ascii_lowercase()
        ),
    }))
}
