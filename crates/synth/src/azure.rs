//! Microsoft Entra ID and Azure RBAC as `az … --output json` prints them,
//! below `azure/`: `applications.json` (`az ad app list --all`),
//! `service-principals.json` (`az ad sp list --all`: the apps' service
//! principals, managed identities and Microsoft's own first-party ones),
//! `applications/<appId>/owners.json` and `federated-credentials.json`, and
//! `role-assignments.json` (`az role assignment list --all`). Client secrets
//! come back as metadata and a three-character hint, as Graph returns them.

use crate::names::COMPONENTS;
use crate::people::Org;
use crate::rng::Rng;
use crate::surfaces::org_slug;
use crate::vault::uuid;
use crate::write::Writer;
use crate::SynthError;
use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};

pub struct AzureOut {
    pub nhis: Vec<(&'static str, usize)>,
    /// Secrets and certificates of apps whose owner has left
    /// (`id:entra-credential/<keyId>`): what `owner-left` must find.
    pub terminated_owner_credentials: Vec<String>,
    pub tenant: String,
    pub subscriptions: Vec<String>,
}

const MICROSOFT: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";
const ROLES: [&str; 6] = [
    "Reader",
    "Contributor",
    "Storage Blob Data Contributor",
    "Key Vault Secrets User",
    "Owner",
    "AcrPull",
];

fn ts(d: NaiveDate, secs: i64) -> String {
    format!(
        "{d}T{:02}:{:02}:{:02}Z",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}

pub fn write(w: &mut Writer, rng: &mut Rng, org: &Org) -> Result<AzureOut, SynthError> {
    let tenant = uuid(rng);
    let slug = org_slug(&org.domain).to_string();
    let subs: Vec<String> = (0..(org.people.len() / 500).max(2))
        .map(|_| uuid(rng))
        .collect();
    let mut apps = Vec::new();
    let mut sps = Vec::new();
    let mut assignments = Vec::new();
    let (mut secrets, mut certs, mut managed) = (0, 0, 0);
    let mut left = Vec::new();
    let engineers: Vec<usize> = (0..org.people.len())
        .filter(|&i| org.people[i].department == "Engineering" && !org.people[i].planted)
        .collect();
    let assign = |rng: &mut Rng, sp: &str, subs: &[String], out: &mut Vec<Value>| {
        let sub = rng.pick(subs).clone();
        let scope = if rng.chance(0.4) {
            format!("/subscriptions/{sub}")
        } else {
            format!(
                "/subscriptions/{sub}/resourceGroups/rg-{}",
                rng.pick(COMPONENTS)
            )
        };
        let role = ROLES[rng.below(ROLES.len())];
        out.push(json!({"condition": null, "conditionVersion": null, "createdBy": uuid(rng),
            "id": format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{}", uuid(rng)),
            "name": uuid(rng), "principalId": sp, "principalType": "ServicePrincipal",
            "roleDefinitionId": format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{}", uuid(rng)),
            "roleDefinitionName": role, "scope": scope, "type": "Microsoft.Authorization/roleAssignments"}));
    };
    let n_apps = org.people.len();
    for i in 0..n_apps {
        let team = &org.teams[i % org.teams.len().max(1)];
        let name = format!("{}-{}-{i}", team.name, rng.pick(COMPONENTS));
        let app_id = uuid(rng);
        let object_id = uuid(rng);
        let created = org.as_of - Duration::days(rng.range(20, 2000));
        let mut pw = Vec::new();
        let mut creds = Vec::new();
        let n_secrets = if rng.chance(0.75) {
            1 + rng.below(3)
        } else {
            0
        };
        for s in 0..n_secrets {
            let start = created + Duration::days(s as i64 * 180);
            let end = if rng.chance(0.2) {
                start + Duration::days(36_500)
            } else {
                start + Duration::days(730)
            };
            let hint: String = (0..3)
                .map(|_| {
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"[rng.below(62)]
                        as char
                })
                .collect();
            let key_id = uuid(rng);
            creds.push(format!("id:entra-credential/{key_id}"));
            pw.push(
                json!({"customKeyIdentifier": null, "displayName": format!("secret-{s}"),
                "endDateTime": ts(end, 3600), "hint": hint, "keyId": key_id, "secretText": null,
                "startDateTime": ts(start, 3600)}),
            );
            secrets += 1;
        }
        let mut kc = Vec::new();
        if rng.chance(0.2) {
            let key_id = uuid(rng);
            creds.push(format!("id:entra-credential/{key_id}"));
            kc.push(json!({"customKeyIdentifier": rng.hex(40).to_uppercase(), "displayName": format!("CN={name}"),
                "endDateTime": ts(created + Duration::days(365), 0), "key": null, "keyId": key_id,
                "startDateTime": ts(created, 0), "type": "AsymmetricX509Cert", "usage": "Verify"}));
            certs += 1;
        }
        apps.push(json!({"id": object_id, "appId": app_id, "displayName": name, "createdDateTime": ts(created, 36_000),
            "signInAudience": "AzureADMyOrg", "publisherDomain": org.domain, "tags": [],
            "passwordCredentials": pw, "keyCredentials": kc, "requiredResourceAccess": [],
            "identifierUris": [], "notes": null}));
        let sp_id = uuid(rng);
        sps.push(json!({"id": sp_id, "appId": app_id, "displayName": name, "servicePrincipalType": "Application",
            "appOwnerOrganizationId": tenant, "accountEnabled": true, "alternativeNames": [],
            "passwordCredentials": [], "keyCredentials": [], "tags": ["WindowsAzureActiveDirectoryIntegratedApp"]}));
        assign(rng, &sp_id, &subs, &mut assignments);
        if !engineers.is_empty() && rng.chance(0.5) {
            let owner = &org.people[*rng.pick(&engineers)];
            if owner.terminated.is_some() {
                left.extend(creds.iter().cloned());
            }
            w.json(
                &format!("azure/applications/{app_id}/owners.json"),
                &json!([{"@odata.type": "#microsoft.graph.user", "id": uuid(rng), "businessPhones": [],
                    "displayName": format!("{} {}", owner.first, owner.last), "mail": owner.email,
                    "userPrincipalName": owner.email}]),
                false,
            )?;
        }
        if rng.chance(0.05) {
            let repo = format!("{}-{}", team.name, rng.pick(COMPONENTS));
            w.json(
                &format!("azure/applications/{app_id}/federated-credentials.json"),
                &json!([{"audiences": ["api://AzureADTokenExchange"], "description": "GitHub Actions deploy",
                    "id": uuid(rng), "issuer": "https://token.actions.githubusercontent.com", "name": "main",
                    "subject": format!("repo:{slug}/{repo}:ref:refs/heads/main")}]),
                false,
            )?;
        }
    }
    // Managed identities: VMs, functions and AKS workloads.
    for _ in 0..org.people.len() {
        let sub = rng.pick(&subs).clone();
        let comp = rng.pick(COMPONENTS);
        let name = format!("id-{comp}-{}", rng.hex(4));
        let sp_id = uuid(rng);
        sps.push(json!({"id": sp_id, "appId": uuid(rng), "displayName": name, "servicePrincipalType": "ManagedIdentity",
            "appOwnerOrganizationId": null, "accountEnabled": true,
            "alternativeNames": ["isExplicit=True", format!("/subscriptions/{sub}/resourcegroups/rg-{comp}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}")],
            "passwordCredentials": [], "keyCredentials": [], "tags": []}));
        managed += 1;
        assign(rng, &sp_id, &subs, &mut assignments);
    }
    // Microsoft's first-party service principals, in every tenant.
    for i in 0..250 {
        sps.push(json!({"id": uuid(rng), "appId": uuid(rng), "displayName": format!("Microsoft service {i}"),
            "servicePrincipalType": "Application", "appOwnerOrganizationId": MICROSOFT, "accountEnabled": true,
            "alternativeNames": [], "passwordCredentials": [], "keyCredentials": [], "tags": []}));
    }
    let first_party = 250;
    w.json("azure/applications.json", &Value::Array(apps), false)?;
    w.json("azure/service-principals.json", &Value::Array(sps), false)?;
    w.json(
        "azure/role-assignments.json",
        &Value::Array(assignments),
        false,
    )?;
    left.sort();
    Ok(AzureOut {
        tenant,
        subscriptions: subs,
        terminated_owner_credentials: left,
        nhis: vec![
            ("azure_app_registration", n_apps),
            ("azure_service_principal", first_party),
            ("azure_managed_identity", managed),
            ("azure_client_secret", secrets),
            ("azure_certificate", certs),
        ],
    })
}
