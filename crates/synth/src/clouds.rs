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
//!   `az keyvault secret list`; `azure/role-definitions.json`: the tenant's custom
//!   role (`az role definition list --custom-role-only true`);
//! - `gcp/roles/dbSecretReader.json`: the organisation's custom role
//!   (`gcloud iam roles describe`), bound on every project's database secret;
//! - `keyvault-values/<vault>/aws-deploy-credentials.json`: `az keyvault secret
//!   show` of the vault secret holding the release account's static key, for
//!   `custody scan` to fingerprint (as `secretsmanager-values/`);
//! - the planted `infra-deploy` app: `az ad app list --filter`, `az ad sp list
//!   --filter`, its federated credential trusting the infra-deploy repository's
//!   main branch, and `az role assignment list --assignee`: Key Vault Secrets
//!   User on the platform vault.
//!
//! - `github/orgs/<org>/repos.json`: `GET /orgs/{org}/repos`, every repository
//!   with its visibility and a `data-classification` custom property, and a
//!   writable deploy key on the infra-deploy repository
//!   (`github/repos/<org>/infra-deploy/keys.json`): pushing there runs the
//!   workflow that reaches the three clouds.
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
    /// The writable deploy key of the workflow's repository (natural key).
    pub deploy_key: String,
    /// The static AWS key that reaches Key Vault and Google Cloud through the
    /// deploy role: the seed's question's answer.
    pub bridge_key: String,
}

/// The estate this module completes.
pub struct Estate<'a> {
    /// GCP projects: (id, number, team, environment).
    pub projects: &'a [(String, String, String, String)],
    pub subscriptions: &'a [String],
    pub tenant: &'a str,
    /// GitHub organisation and its repositories: (name, team).
    pub github_org: &'a str,
    pub repos: &'a [(String, String)],
    pub as_of: chrono::NaiveDate,
}

pub fn write(
    w: &mut Writer,
    seed: u64,
    estate: &Estate<'_>,
    federation: Option<&Value>,
) -> Result<Option<Planted>, SynthError> {
    let mut rng = Rng::new(seed ^ 0x5eed_c10d);
    let (projects, subscriptions, tenant) = (estate.projects, estate.subscriptions, estate.tenant);
    let deploy_key = github(w, &mut rng, estate, federation)?;
    let planted = inventories(
        w,
        &mut rng,
        projects,
        subscriptions,
        tenant,
        federation,
        estate.as_of,
    )?;
    Ok(planted.map(|mut p| {
        p.deploy_key = deploy_key.unwrap_or_default();
        p
    }))
}

/// The organisation's repository listing, and the planted deploy key.
fn github(
    w: &mut Writer,
    rng: &mut Rng,
    estate: &Estate<'_>,
    federation: Option<&Value>,
) -> Result<Option<String>, SynthError> {
    let org = estate.github_org;
    let api = "https://api.github.com";
    let mut id = 700_000_000u64;
    let mut repo = |name: &str, team: &str, class: &str, rng: &mut Rng| {
        id += 1;
        json!({"id": id, "node_id": format!("R_kgDO{}", rng.hex(6)), "name": name, "full_name": format!("{org}/{name}"),
            "private": true, "visibility": "private", "archived": false, "default_branch": "main",
            "owner": {"login": org, "id": 1, "type": "Organization", "site_admin": false},
            "html_url": format!("https://github.com/{org}/{name}"), "url": format!("{api}/repos/{org}/{name}"),
            "topics": [team], "custom_properties": {"data-classification": class, "team": team}})
    };
    let mut list: Vec<Value> = estate
        .repos
        .iter()
        .map(|(name, team)| repo(name, team, "internal", rng))
        .collect();
    let planted = federation
        .and_then(|f| f["repository"].as_str())
        .map(|r| r.split('/').next_back().unwrap_or(r).to_string());
    if let Some(name) = &planted {
        list.push(repo(name, "platform", "confidential", rng));
    }
    w.json(
        &format!("github/orgs/{org}/repos.json"),
        &Value::Array(list),
        false,
    )?;
    let Some(name) = planted else {
        return Ok(None);
    };
    let key_id = 61_000_000 + rng.below(1000) as u64;
    w.json(
        &format!("github/repos/{org}/{name}/keys.json"),
        &json!([{"id": key_id, "key": format!("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{}", rng.hex(32)),
            "url": format!("{api}/repos/{org}/{name}/keys/{key_id}"), "title": "release-bot",
            "verified": true, "created_at": "2025-11-20T08:00:00Z", "read_only": false,
            "added_by": "platform-bot", "last_used": "2026-10-30T06:00:00Z", "enabled": true}]),
        false,
    )?;
    Ok(Some(format!("id:github-deploy-key/{key_id}")))
}

fn inventories(
    w: &mut Writer,
    rng: &mut Rng,
    projects: &[(String, String, String, String)],
    subscriptions: &[String],
    tenant: &str,
    federation: Option<&Value>,
    as_of: chrono::NaiveDate,
) -> Result<Option<Planted>, SynthError> {
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
        // Each project's runtime account reads its own database password,
        // through the organisation's custom role.
        policies.push(with(json!({"resource": secret, "assetType": "secretmanager.googleapis.com/Secret",
            "policy": {"bindings": [{"role": format!("{org}/roles/dbSecretReader"),
                "members": [format!("serviceAccount:{number}-compute@developer.gserviceaccount.com")]}]}})));
    }
    policies.push(json!({"resource": format!("//cloudresourcemanager.googleapis.com/{org}"),
        "assetType": "cloudresourcemanager.googleapis.com/Organization", "organization": org,
        "policy": {"bindings": [{"role": "roles/resourcemanager.organizationAdmin", "members": ["group:gcp-admins@example.com"]}]}}));
    w.json(
        "gcp/roles/dbSecretReader.json",
        &json!({"name": format!("{org}/roles/dbSecretReader"), "title": "Database secret reader",
            "description": "Reads database passwords from Secret Manager", "stage": "GA", "etag": "BwYc8Zc4xJU=",
            "includedPermissions": ["secretmanager.secrets.get", "secretmanager.versions.access"]}),
        false,
    )?;
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
    let (app_id, app_object, sp_object) = (uuid(rng), uuid(rng), uuid(rng));
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
    // GitHub's main branch, and the AWS deploy role through AWS's outbound
    // identity federation (its web identity token names the role).
    let role = f["aws_role"].as_str().unwrap_or_default();
    w.json(
        &format!("azure/applications/{app_id}/federated-credentials.json"),
        &json!([{"audiences": ["api://AzureADTokenExchange"], "description": "infra-deploy main",
            "id": uuid(rng), "issuer": "https://token.actions.githubusercontent.com",
            "name": "github-main", "subject": format!("repo:{repository}:ref:refs/heads/main")},
            {"audiences": ["api://AzureADTokenExchange"], "description": "the AWS deploy role",
            "id": uuid(rng), "issuer": format!("https://{}.tokens.sts.global.api.aws", uuid(rng)),
            "name": "aws-deploy-role", "subject": role}]),
        false,
    )?;
    let bridge_key = bridge(w, rng, f, as_of)?;
    // The platform team keeps the static key in the vault too; the security
    // team read its value (`az keyvault secret show`) for custody to
    // fingerprint, as it does Secrets Manager values: the key joins the secret.
    let inner = json!({"AWS_ACCESS_KEY_ID": bridge_key.trim_start_matches("aws-access-key:"),
        "AWS_SECRET_ACCESS_KEY": crate::surfaces::secret_key(rng)});
    w.json(
        &format!("keyvault-values/{vault}/aws-deploy-credentials.json"),
        &json!({"attributes": {"enabled": true, "created": "2026-03-02T10:00:00+00:00"}, "contentType": "application/json",
            "id": format!("https://{vault}.vault.azure.net/secrets/aws-deploy-credentials/{}", rng.hex(32)),
            "kid": null, "managed": null, "name": "aws-deploy-credentials", "tags": {}, "value": inner.to_string()}),
        false,
    )?;
    let vault_id = format!(
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{vault}"
    );
    let role_guid = uuid(rng);
    // The tenant's custom role the assignment names (`az role definition list --custom-role-only true`).
    w.json(
        "azure/role-definitions.json",
        &json!([{"assignableScopes": [format!("/subscriptions/{sub}")], "description": "Reads secrets of the platform vaults",
            "id": format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}"),
            "name": role_guid, "permissions": [{"actions": ["Microsoft.KeyVault/vaults/read"], "notActions": [],
                "dataActions": ["Microsoft.KeyVault/vaults/secrets/getSecret/action", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"],
                "notDataActions": []}],
            "roleName": "Platform Secret Reader", "roleType": "CustomRole", "type": "Microsoft.Authorization/roleDefinitions"}]),
        false,
    )?;
    w.json(
        "azure/role-assignments-infra-deploy.json",
        &json!([{"condition": null, "conditionVersion": null, "id": format!("{vault_id}/providers/Microsoft.Authorization/roleAssignments/{}", uuid(rng)),
            "name": uuid(rng), "principalId": sp_object, "principalName": app_id, "principalType": "ServicePrincipal",
            "roleDefinitionId": format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}"),
            "roleDefinitionName": "Platform Secret Reader", "scope": vault_id, "type": "Microsoft.Authorization/roleAssignments"}]),
        false,
    )?;
    Ok(Some(Planted {
        azure_client_id: app_id,
        gcp_bucket: planted_bucket,
        azure_secret: format!(
            "{}/secrets/aws-deploy-credentials",
            vault_id.to_ascii_lowercase()
        ),
        deploy_key: String::new(),
        bridge_key,
    }))
}

/// The release-tooling account's user and its key: it may assume the deploy
/// role, so one static AWS key reaches Google Cloud and Azure Key Vault.
fn bridge(
    w: &mut Writer,
    rng: &mut Rng,
    f: &Value,
    as_of: chrono::NaiveDate,
) -> Result<String, SynthError> {
    // Rotated last month and in daily use: a well-kept key, risky only for
    // what it reaches.
    let day = |n: i64| {
        (as_of - chrono::Duration::days(n))
            .format("%Y-%m-%dT06:20:00+00:00")
            .to_string()
    };
    let deploy = f["account_id"].as_str().unwrap_or_default();
    let account = crate::aws::bridge_account(deploy);
    let role = f["aws_role"].as_str().unwrap_or_default();
    let user = crate::aws::BRIDGE_USER;
    let key_id = rng.aws_id("AKIA", 16);
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role}]});
    w.json(
        &format!("aws/{account}/authorization-details.json"),
        &json!({"UserDetailList": [{"Path": "/", "UserName": user, "UserId": rng.aws_id("AIDA", 17),
            "Arn": format!("arn:aws:iam::{account}:user/{user}"), "CreateDate": day(400),
            "UserPolicyList": [{"PolicyName": "assume-deploy-role", "PolicyDocument": policy}],
            "GroupList": [], "AttachedManagedPolicies": [],
            "Tags": [{"Key": "team", "Value": "platform"}, {"Key": "service", "Value": "release-bridge"}]}],
            "GroupDetailList": [], "RoleDetailList": [], "Policies": []}),
        false,
    )?;
    w.json(
        &format!("aws/{account}/access-keys.json"),
        &json!({"AccessKeyMetadata": [{"AccessKeyId": key_id, "CreateDate": day(35),
            "Status": "Active", "UserName": user}]}),
        false,
    )?;
    let header = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";
    let report = format!(
        "{header}\n<root_account>,arn:aws:iam::{account}:root,{},not_supported,N/A,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n{user},arn:aws:iam::{account}:user/{user},{},false,N/A,N/A,N/A,false,true,{},{},us-east-1,sts,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n",
        day(900),
        day(400),
        day(35),
        day(1)
    );
    w.text(&format!("aws/{account}/credential-report.csv"), &report)?;
    Ok(format!("aws-access-key:{key_id}"))
}
