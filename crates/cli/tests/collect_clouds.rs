//! `custody collect gcp` and `custody collect entra` against local servers
//! serving Google's IAM / Resource Manager and Microsoft Graph / Azure
//! Resource Manager answers: body-cursor pagination (`nextPageToken`,
//! `@odata.nextLink`, `nextLink`), the OAuth client-credentials exchange
//! for Entra, and the answers written as gcloud and az print them.

mod common;

use common::{Answer, Env, FakeApi, Seen};
use serde_json::{json, Value};
use std::sync::{Arc, OnceLock};

const GCP_TOKEN: &str = "ya29.collect-test-token-not-real";
const SA: &str = "deployer@acme-prod.iam.gserviceaccount.com";

fn gcp(req: &Seen) -> Answer {
    let path = req
        .path
        .split_once('?')
        .map_or(req.path.as_str(), |(p, _)| p);
    let ok = |v: Value| Answer::json(200, v);
    match (req.method.as_str(), path) {
        ("POST", "/v1/projects/acme-prod:getIamPolicy") => {
            ok(json!({"version": 1, "etag": "BwX=", "bindings": [
            {"role": "roles/editor", "members": [format!("serviceAccount:{SA}")]}]}))
        }
        ("GET", "/v1/projects/acme-prod/serviceAccounts") if req.path.contains("pageToken=p2") => {
            ok(json!({"accounts": [
            {"email": "batch@acme-prod.iam.gserviceaccount.com", "uniqueId": "102", "projectId": "acme-prod",
             "name": "projects/acme-prod/serviceAccounts/batch@acme-prod.iam.gserviceaccount.com"}]}))
        }
        ("GET", "/v1/projects/acme-prod/serviceAccounts") => ok(json!({"accounts": [
            {"email": SA, "uniqueId": "101", "projectId": "acme-prod", "displayName": "deployer",
             "name": format!("projects/acme-prod/serviceAccounts/{SA}")}], "nextPageToken": "p2"})),
        ("GET", p) if p.ends_with("/keys") && p.contains(SA) => ok(json!({"keys": [{
            "name": format!("projects/acme-prod/serviceAccounts/{SA}/keys/0123456789abcdef0123456789abcdef01234567"),
            "validAfterTime": "2024-01-01T00:00:00Z", "validBeforeTime": "9999-12-31T23:59:59Z",
            "keyAlgorithm": "KEY_ALG_RSA_2048", "keyOrigin": "GOOGLE_PROVIDED", "keyType": "USER_MANAGED"}]})),
        ("GET", p) if p.ends_with("/keys") => ok(json!({})),
        ("POST", p) if p.ends_with(":getIamPolicy") => ok(json!({"etag": "ACAB"})),
        ("GET", "/v1/projects/acme-prod/locations/global/workloadIdentityPools") => {
            ok(json!({"workloadIdentityPools": [
            {"name": "projects/867190537791/locations/global/workloadIdentityPools/github", "state": "ACTIVE"}]}))
        }
        (
            "GET",
            "/v1/projects/867190537791/locations/global/workloadIdentityPools/github/providers",
        ) => ok(json!({
            "workloadIdentityPoolProviders": [{"name": "projects/867190537791/locations/global/workloadIdentityPools/github/providers/actions",
            "state": "ACTIVE", "oidc": {"issuerUri": "https://token.actions.githubusercontent.com"},
            "attributeMapping": {"google.subject": "assertion.sub"}, "attributeCondition": "assertion.repository_owner == 'acme'"}]})),
        _ => Answer::json(
            404,
            json!({"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}}),
        ),
    }
}

#[test]
fn google_cloud_projects_are_collected_as_gcloud_prints_them() {
    let env = Env::new();
    let api = FakeApi::start(|req, _| gcp(req));
    let r = env.run_with(
        &[
            "--format",
            "json",
            "collect",
            "gcp",
            "--project",
            "acme-prod",
            "--api-url",
            &api.url,
        ],
        &[("GOOGLE_OAUTH_ACCESS_TOKEN", GCP_TOKEN)],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains(GCP_TOKEN));
    let v = r.json();
    let scope = &v["collection"]["scopes"][0];
    assert_eq!(scope["scope"], "gcp:acme-prod");
    let snapshot = std::path::PathBuf::from(v["snapshot_dir"].as_str().unwrap());
    let accounts: Value = serde_json::from_slice(
        &std::fs::read(snapshot.join("gcp/projects/acme-prod/service-accounts.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        accounts.as_array().unwrap().len(),
        2,
        "both pages, as gcloud's array"
    );
    common::ingested_cleanly(&v);
    let key = env
        .run(&[
            "--format",
            "json",
            "show",
            "id:gcp-sa-key/0123456789abcdef0123456789abcdef01234567",
        ])
        .ok()
        .stdout;
    assert!(
        key.contains(SA),
        "the key authenticates as its account: {key}"
    );
    for s in api.seen() {
        assert!(s
            .headers
            .iter()
            .any(|(k, v)| k == "authorization" && v == &format!("Bearer {GCP_TOKEN}")));
    }
}

const CLIENT_SECRET: &str = "entra-client-secret-for-the-collect-test";
const ACCESS: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.entra-test.";

fn entra(url: &str, req: &Seen) -> Answer {
    let path = req
        .path
        .split_once('?')
        .map_or(req.path.as_str(), |(p, _)| p);
    let ok = |v: Value| Answer::json(200, v);
    let app = "9f000000-0000-4000-8000-0000000000a1";
    match (req.method.as_str(), path) {
        ("POST", "/tenant-1/oauth2/v2.0/token") => {
            ok(json!({"token_type": "Bearer", "expires_in": 3599, "access_token": ACCESS}))
        }
        ("GET", "/v1.0/applications") if req.path.contains("skiptoken") => ok(json!({"value": [
            {"id": "obj-2", "appId": "9f000000-0000-4000-8000-0000000000a2", "displayName": "reports",
             "passwordCredentials": [], "keyCredentials": []}]})),
        ("GET", "/v1.0/applications") => ok(json!({"value": [
            {"id": "obj-1", "appId": app, "displayName": "deployer",
             "passwordCredentials": [{"keyId": "5e000000-0000-4000-8000-0000000000c1", "displayName": "ci",
               "hint": "Ab1", "startDateTime": "2025-01-01T00:00:00Z", "endDateTime": "2027-01-01T00:00:00Z"}],
             "keyCredentials": []}],
            "@odata.nextLink": format!("{url}/v1.0/applications?$skiptoken=X1")})),
        ("GET", "/v1.0/servicePrincipals") => ok(json!({"value": [
            {"id": "sp-1", "appId": app, "displayName": "deployer", "servicePrincipalType": "Application",
             "accountEnabled": true, "passwordCredentials": [], "keyCredentials": []}]})),
        ("GET", "/v1.0/applications/obj-1/owners") => ok(json!({"value": [
            {"@odata.type": "#microsoft.graph.user", "id": "u1", "userPrincipalName": "dana@acme.example", "mail": "dana@acme.example"}]})),
        ("GET", p) if p.starts_with("/v1.0/applications/") => ok(json!({"value": []})),
        ("GET", "/subscriptions") => {
            ok(json!({"value": [{"subscriptionId": "sub-1", "displayName": "prod"}]}))
        }
        ("GET", "/subscriptions/sub-1/providers/Microsoft.Authorization/roleDefinitions") => {
            ok(json!({"value": [
            {"id": "/subscriptions/sub-1/providers/Microsoft.Authorization/roleDefinitions/b24988ac",
             "properties": {"roleName": "Contributor"}}]}))
        }
        ("GET", "/subscriptions/sub-1/providers/Microsoft.Authorization/roleAssignments") => {
            ok(json!({"value": [
            {"id": "/subscriptions/sub-1/providers/Microsoft.Authorization/roleAssignments/ra-1", "name": "ra-1",
             "type": "Microsoft.Authorization/roleAssignments",
             "properties": {"roleDefinitionId": "/subscriptions/sub-1/providers/Microsoft.Authorization/roleDefinitions/b24988ac",
               "principalId": "sp-1", "principalType": "ServicePrincipal", "scope": "/subscriptions/sub-1"}}]}))
        }
        _ => Answer::json(
            404,
            json!({"error": {"code": "NotFound", "message": "not found"}}),
        ),
    }
}

#[test]
fn an_entra_tenant_is_collected_with_a_client_secret() {
    let env = Env::new();
    let url = Arc::new(OnceLock::<String>::new());
    let u = url.clone();
    let api = FakeApi::start(move |req, _| entra(u.get().map(String::as_str).unwrap_or(""), req));
    url.set(api.url.clone()).unwrap();
    let r = env.run_with(
        &[
            "--format",
            "json",
            "collect",
            "entra",
            "--api-url",
            &api.url,
        ],
        &[
            ("AZURE_TENANT_ID", "tenant-1"),
            ("AZURE_CLIENT_ID", "collector-app"),
            ("AZURE_CLIENT_SECRET", CLIENT_SECRET),
            ("AZURE_AUTHORITY_HOST", &api.url),
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let out = format!("{}{}", r.stdout, r.stderr);
    assert!(!out.contains(CLIENT_SECRET) && !out.contains(ACCESS));
    let v = r.json();
    assert_eq!(v["collection"]["scopes"][0]["scope"], "entra:tenant-1");
    let snapshot = std::path::PathBuf::from(v["snapshot_dir"].as_str().unwrap());
    let apps: Value =
        serde_json::from_slice(&std::fs::read(snapshot.join("azure/applications.json")).unwrap())
            .unwrap();
    assert_eq!(apps.as_array().unwrap().len(), 2, "both pages");
    let ra: Value = serde_json::from_slice(
        &std::fs::read(snapshot.join("azure/role-assignments.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        ra[0]["roleDefinitionName"], "Contributor",
        "flattened as az prints it: {ra}"
    );
    assert_eq!(ra[0]["principalId"], "sp-1");
    common::ingested_cleanly(&v);

    // The app and its service principal are one subject, owned by Dana, with
    // Contributor on the subscription.
    let shown = env
        .run(&[
            "--format",
            "json",
            "show",
            "id:azure-app/9f000000-0000-4000-8000-0000000000a1",
        ])
        .ok()
        .stdout;
    assert!(shown.contains("dana@acme.example"), "{shown}");
    assert!(
        shown.contains("azure-scope//subscriptions/sub-1"),
        "{shown}"
    );
    // The client secret went only to the token endpoint; every API call
    // carried the access token.
    let db = String::from_utf8_lossy(&std::fs::read(env.db()).unwrap()).into_owned();
    assert!(!db.contains(CLIENT_SECRET) && !db.contains(ACCESS));
    for s in api.seen() {
        if !s.path.contains("oauth2") {
            assert!(
                s.headers
                    .iter()
                    .any(|(k, v)| k == "authorization" && v == &format!("Bearer {ACCESS}")),
                "{}",
                s.path
            );
        }
    }
}
