//! Google Cloud and Azure reach, and one blast radius across clouds, on small
//! hand-built graphs: each case states what the cloud would allow.

mod common;

use common::{level, obj, reach, G};
use serde_json::{json, Value};

/// Google Cloud, Azure and GitHub nodes.
trait Clouds {
    fn node(&mut self, kind: &str, key: &str, props: Value) -> i64;
    fn sa(&mut self, email: &str, project: &str) -> i64;
    fn gcp(&mut self, kind: &str, scope: &str, ancestors: &[&str], labels: Value) -> i64;
    fn bind(&mut self, member: i64, scope: i64, role: &str, condition: bool);
    fn sp(&mut self, app: &str, object: &str) -> i64;
    fn az(&mut self, kind: &str, id: &str, extra: Value) -> i64;
    fn assign(&mut self, sp: i64, scope: &str, role: &str);
}

impl Clouds for G {
    fn node(&mut self, kind: &str, key: &str, props: Value) -> i64 {
        self.add(kind, key, obj(props))
    }
    /// A GCP service account in `project`.
    fn sa(&mut self, email: &str, project: &str) -> i64 {
        self.node(
            "gcp_service_account",
            &format!("email:{email}"),
            json!({"project_id": project}),
        )
    }
    /// A GCP hierarchy node or resource with its scope and ancestors.
    fn gcp(&mut self, kind: &str, scope: &str, ancestors: &[&str], labels: Value) -> i64 {
        let mut p = json!({"scope": scope, "ancestors": ancestors, "labels": labels});
        if let Some(id) = scope.strip_prefix("projects/") {
            p["project_id"] = json!(id);
        }
        self.node(kind, &format!("uri:{scope}"), p)
    }
    fn bind(&mut self, member: i64, scope: i64, role: &str, condition: bool) {
        let mut g = json!({"role": role});
        if condition {
            g["condition"] = json!({"title": "expires", "expression": "request.time < timestamp('2027-01-01T00:00:00Z')"});
        }
        self.edge(
            member,
            "CAN_ACCESS",
            scope,
            json!({"via": "gcp-iam-policy", "grants": [g]}),
        );
    }
    fn sp(&mut self, app: &str, object: &str) -> i64 {
        self.node(
            "azure_service_principal",
            &format!("id:azure-app/{app}"),
            json!({"app_id": app, "sp_object_id": object, "service_principal_type": "Application"}),
        )
    }
    fn az(&mut self, kind: &str, id: &str, extra: Value) -> i64 {
        let mut p = obj(extra);
        p.insert("id".into(), json!(id));
        self.node(
            kind,
            &format!("id:azure-resource/{}", id.to_lowercase()),
            Value::Object(p),
        )
    }
    fn assign(&mut self, sp: i64, scope: &str, role: &str) {
        let s = self.node(
            "azure_scope",
            &format!("id:azure-scope/{}", scope.to_lowercase()),
            json!({"scope": scope}),
        );
        self.edge(sp, "CAN_ACCESS", s, json!({"grants": [{"role": role}]}));
    }
}

const BUCKET: &str = "//storage.googleapis.com/shop-exports";
const OTHER: &str = "//storage.googleapis.com/hr-exports";

/// An organisation with two folders, a project in each, a bucket in each.
fn hierarchy(g: &mut G) -> i64 {
    g.gcp("gcp_organization", "organizations/1", &[], json!({}));
    let shop = g.gcp("gcp_folder", "folders/10", &["organizations/1"], json!({}));
    g.gcp("gcp_folder", "folders/20", &["organizations/1"], json!({}));
    g.gcp(
        "gcp_project",
        "projects/shop-prod",
        &["organizations/1", "folders/10"],
        json!({}),
    );
    g.gcp(
        "gcp_project",
        "projects/hr-prod",
        &["organizations/1", "folders/20"],
        json!({}),
    );
    g.gcp(
        "gcp_storage_bucket",
        BUCKET,
        &["organizations/1", "folders/10", "projects/shop-prod"],
        json!({"data-classification": "restricted"}),
    );
    g.gcp(
        "gcp_storage_bucket",
        OTHER,
        &["organizations/1", "folders/20", "projects/hr-prod"],
        json!({}),
    );
    shop
}

#[test]
fn gcp_bindings_are_inherited_down_the_hierarchy_only() {
    let mut g = G::default();
    let shop = hierarchy(&mut g);
    let sa = g.sa("exporter@shop-prod.iam.gserviceaccount.com", "shop-prod");
    let key = g.node("gcp_service_account_key", "id:gcp-sa-key/abc", json!({}));
    g.edge(key, "AUTHENTICATES_AS", sa, json!({}));
    g.bind(sa, shop, "roles/storage.objectViewer", false);
    let m = g.model();
    assert_eq!(level(&m, key, BUCKET).as_deref(), Some("Read"));
    assert_eq!(level(&m, key, OTHER), None);
    let br = m.blast_radius(&m.start(key));
    let hit = br
        .reached
        .iter()
        .find(|r| m.resources[r.access.resource as usize].arn == BUCKET)
        .unwrap();
    assert_eq!(&*hit.access.action, "storage.objects.get");
    assert!(hit
        .access
        .reason
        .contains("roles/storage.objectViewer bound on folders/10"));
    assert_eq!(
        m.resources[hit.access.resource as usize]
            .sensitivity
            .as_str(),
        "critical"
    );
}

#[test]
fn gcp_conditions_make_access_conditional_and_custom_roles_are_read() {
    let mut g = G::default();
    hierarchy(&mut g);
    let project = g
        .nodes
        .iter()
        .find(|n| n.2 == "uri:projects/shop-prod")
        .unwrap()
        .0;
    g.node(
        "gcp_role",
        "id:gcp-role/projects/shop-prod/roles/exportWriter",
        json!({"role": "projects/shop-prod/roles/exportWriter", "permissions": ["storage.objects.create"]}),
    );
    let a = g.sa("a@shop-prod.iam.gserviceaccount.com", "shop-prod");
    g.bind(a, project, "roles/storage.objectViewer", true);
    g.bind(a, project, "projects/shop-prod/roles/exportWriter", false);
    let b = g.sa("b@shop-prod.iam.gserviceaccount.com", "shop-prod");
    g.bind(b, project, "roles/unheard.of", false);
    let m = g.model();
    let br = m.blast_radius(&m.start(a));
    let hit = br
        .reached
        .iter()
        .find(|r| m.resources[r.access.resource as usize].arn == BUCKET)
        .unwrap();
    // Write from the custom role without a condition; Read only under the condition.
    assert_eq!(hit.access.level.as_str(), "Write");
    assert!(!hit.access.conditional);
    assert_eq!(&*hit.access.action, "storage.objects.create");
    let only_read = {
        let mut g2 = G::default();
        hierarchy(&mut g2);
        let p = g2
            .nodes
            .iter()
            .find(|n| n.2 == "uri:projects/shop-prod")
            .unwrap()
            .0;
        let s = g2.sa("a@shop-prod.iam.gserviceaccount.com", "shop-prod");
        g2.bind(s, p, "roles/storage.objectViewer", true);
        let m2 = g2.model();
        reach(&m2, s, BUCKET)
    };
    assert_eq!(only_read, Some(("Read".into(), true)));
    // An unknown role is reported, not guessed.
    let br = m.blast_radius(&m.start(b));
    assert!(br.reached.is_empty());
    assert!(br.incomplete.iter().any(|i| i.contains("roles/unheard.of")));
}

#[test]
fn gcp_deny_policies_remove_access_and_conditional_denials_make_it_conditional() {
    for (condition, expected) in [(false, None), (true, Some(("Read".to_string(), true)))] {
        let mut g = G::default();
        let shop = hierarchy(&mut g);
        let sa = g.sa("exporter@shop-prod.iam.gserviceaccount.com", "shop-prod");
        g.bind(sa, shop, "roles/storage.objectViewer", false);
        let mut rule = json!({"deniedPrincipals": ["principal://iam.googleapis.com/projects/-/serviceAccounts/exporter@shop-prod.iam.gserviceaccount.com"],
                              "deniedPermissions": ["storage.googleapis.com/objects.get"]});
        if condition {
            rule["denialCondition"] = json!({"expression": "resource.matchTag('env', 'prod')"});
        }
        g.node(
            "gcp_deny_policy",
            "id:gcp-deny-policy/x",
            json!({"attachment": "projects/shop-prod", "policy": {"rules": [{"denyRule": rule}]}}),
        );
        let m = g.model();
        // List survives the deny of objects.get.
        let got = reach(&m, sa, BUCKET);
        match expected {
            None => assert_eq!(got, Some(("List".into(), false))),
            Some(e) => assert_eq!(got, Some(e)),
        }
    }
}

#[test]
fn gcp_impersonation_is_a_hop_and_the_path_names_it() {
    let mut g = G::default();
    let shop = hierarchy(&mut g);
    let ci = g.sa("ci@tools.iam.gserviceaccount.com", "tools");
    let admin = g.sa(
        "storage-admin@shop-prod.iam.gserviceaccount.com",
        "shop-prod",
    );
    g.bind(admin, shop, "roles/storage.admin", false);
    // Token Creator on the service account itself (its own policy).
    g.edge(
        ci,
        "CAN_ASSUME",
        admin,
        json!({"via": "gcp-iam-policy", "role": "roles/iam.serviceAccountTokenCreator",
               "grants": [{"role": "roles/iam.serviceAccountTokenCreator"}]}),
    );
    // Service Account User alone deploys nothing: no hop.
    let user_only = g.sa("deployer@tools.iam.gserviceaccount.com", "tools");
    g.edge(
        user_only,
        "CAN_ASSUME",
        admin,
        json!({"grants": [{"role": "roles/iam.serviceAccountUser"}]}),
    );
    let m = g.model();
    assert_eq!(
        level(&m, ci, BUCKET).as_deref(),
        Some("Permissions management")
    );
    let br = m.blast_radius(&m.start(ci));
    assert!(br.hops[1]
        .how
        .starts_with("iam.serviceAccounts.getAccessToken"));
    assert_eq!(level(&m, user_only, BUCKET), None);
}

const SUB: &str = "/subscriptions/0000-sub";
const RG: &str = "/subscriptions/0000-sub/resourceGroups/rg-pay";

fn azure_estate(g: &mut G, rbac_vault: bool) -> (i64, i64) {
    g.az(
        "azure_subscription",
        SUB,
        json!({"management_groups": ["mg-prod", "tenant-root"]}),
    );
    g.az(
        "azure_key_vault",
        &format!("{RG}/providers/Microsoft.KeyVault/vaults/kv-pay"),
        json!({"enable_rbac_authorization": rbac_vault, "vault_uri": "https://kv-pay.vault.azure.net/",
               "tags": {"data-classification": "restricted"},
               "access_policies": [{"objectId": "0b1ec7-policy", "permissions": {"secrets": ["get", "list"]}}]}),
    );
    let s = g.node(
        "azure_key_vault_secret",
        "uri:https://kv-pay.vault.azure.net/secrets/aws-deploy",
        json!({"vault_uri": "https://kv-pay.vault.azure.net/", "secret_name": "aws-deploy"}),
    );
    let vm = g.az(
        "azure_virtual_machine",
        &format!("{RG}/providers/Microsoft.Compute/virtualMachines/vm-batch"),
        json!({}),
    );
    (s, vm)
}

fn secret_id() -> String {
    format!(
        "{}/providers/microsoft.keyvault/vaults/kv-pay/secrets/aws-deploy",
        RG.to_lowercase()
    )
}

#[test]
fn azure_management_group_assignments_reach_down_and_not_actions_hold() {
    let mut g = G::default();
    azure_estate(&mut g, true);
    let owner = g.sp("a-owner", "oid-owner");
    g.assign(
        owner,
        "/providers/Microsoft.Management/managementGroups/mg-prod",
        "Owner",
    );
    let contributor = g.sp("a-contrib", "oid-contrib");
    g.assign(contributor, SUB, "b24988ac-6180-42a0-ab88-20f7382dd24c");
    let m = g.model();
    let vault = format!(
        "{}/providers/microsoft.keyvault/vaults/kv-pay",
        RG.to_lowercase()
    );
    assert_eq!(
        level(&m, owner, &vault).as_deref(),
        Some("Permissions management")
    );
    assert_eq!(
        level(&m, owner, &SUB.to_lowercase()).as_deref(),
        Some("Permissions management")
    );
    // Contributor: everything but Microsoft.Authorization writes (NotActions),
    // and no data actions: the vault's secrets are out of reach.
    assert_eq!(level(&m, contributor, &vault).as_deref(), Some("Write"));
    assert_eq!(
        level(&m, contributor, &SUB.to_lowercase()).as_deref(),
        Some("Write")
    );
    assert_eq!(level(&m, contributor, &secret_id()), None);
}

#[test]
fn key_vault_rbac_and_access_policies_are_exclusive() {
    for rbac in [true, false] {
        let mut g = G::default();
        azure_estate(&mut g, rbac);
        let reader = g.sp("a-reader", "oid-reader");
        g.assign(reader, RG, "Key Vault Secrets User");
        let listed = g.sp("a-policy", "0b1ec7-policy");
        let m = g.model();
        let (by_role, by_policy) = (
            level(&m, reader, &secret_id()),
            level(&m, listed, &secret_id()),
        );
        if rbac {
            assert_eq!(by_role.as_deref(), Some("Read"));
            assert_eq!(by_policy, None, "an RBAC vault ignores access policies");
        } else {
            assert_eq!(by_role, None, "an access-policy vault ignores data actions");
            assert_eq!(by_policy.as_deref(), Some("Read"));
        }
    }
}

#[test]
fn a_managed_identity_is_a_hop_from_whoever_can_run_commands_on_its_vm() {
    let mut g = G::default();
    let (_, vm) = azure_estate(&mut g, true);
    let mi = g.node(
        "azure_managed_identity",
        "id:azure-app/mi-batch",
        json!({"app_id": "mi-batch", "sp_object_id": "oid-mi", "service_principal_type": "ManagedIdentity"}),
    );
    g.edge(vm, "RUNS_AS", mi, json!({}));
    g.assign(mi, RG, "Key Vault Secrets User");
    let operator = g.sp("a-operator", "oid-operator");
    g.assign(operator, RG, "Virtual Machine Contributor");
    let m = g.model();
    assert_eq!(level(&m, operator, &secret_id()).as_deref(), Some("Read"));
    let br = m.blast_radius(&m.start(operator));
    assert!(br.hops[1].how.contains("runCommand"), "{}", br.hops[1].how);
}

#[test]
fn one_workload_reaches_aws_gcp_and_azure_in_one_blast_radius() {
    let mut g = G::default();
    let shop = hierarchy(&mut g);
    azure_estate(&mut g, true);
    let account = "111122223333";
    let role_arn = format!("arn:aws:iam::{account}:role/github-deploy");
    let role = g.node(
        "aws_iam_role",
        &role_arn,
        json!({"arn": role_arn, "inline_policies": [{"name": "p", "document":
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}}]}),
    );
    g.node(
        "aws_s3_bucket",
        "arn:aws:s3:::deploy-artifacts",
        json!({"arn": "arn:aws:s3:::deploy-artifacts", "account_id": account}),
    );
    let sa = g.sa("deployer@shop-prod.iam.gserviceaccount.com", "shop-prod");
    g.bind(sa, shop, "roles/storage.objectAdmin", false);
    g.edge(role, "CAN_ASSUME", sa, json!({"via": "gcp-workload-identity-federation", "role": "roles/iam.workloadIdentityUser"}));
    let app = g.sp("a-deploy", "oid-deploy");
    g.assign(app, RG, "Key Vault Secrets User");
    let wf = g.node(
        "github_actions_workflow",
        "uri:github-workflow://acme/deploy/.github/workflows/deploy.yml",
        json!({}),
    );
    g.edge(
        wf,
        "CAN_ASSUME",
        role,
        json!({"via": "github-actions-oidc"}),
    );
    g.edge(wf, "CAN_ASSUME", app, json!({"via": "github-actions-oidc"}));
    let m = g.model();
    assert_eq!(
        level(&m, wf, "arn:aws:s3:::deploy-artifacts").as_deref(),
        Some("Read")
    );
    assert_eq!(level(&m, wf, BUCKET).as_deref(), Some("Write"));
    assert_eq!(level(&m, wf, &secret_id()).as_deref(), Some("Read"));
    let br = m.blast_radius(&m.start(wf));
    let gcp = br
        .reached
        .iter()
        .find(|r| m.resources[r.access.resource as usize].arn == BUCKET)
        .unwrap();
    let path: Vec<&str> = br
        .path(gcp.hop)
        .iter()
        .map(|&h| m.principals[br.hops[h].principal as usize].arn.as_str())
        .collect();
    assert_eq!(
        path,
        [
            role_arn.as_str(),
            "serviceAccount:deployer@shop-prod.iam.gserviceaccount.com"
        ]
    );
    // Read backwards: the GCP bucket is reached by nothing holding a credential here.
    let r = m
        .resource(
            g.nodes
                .iter()
                .find(|n| n.2 == format!("uri:{BUCKET}"))
                .unwrap()
                .0,
        )
        .unwrap();
    assert!(m.reaching(r).is_empty());
}

#[test]
fn github_credentials_reach_repositories_by_their_permissions() {
    let mut g = G::default();
    for (name, class) in [("acme/infra", "restricted"), ("acme/docs", "public")] {
        g.node(
            "github_repository",
            &format!("id:github-repo/{name}"),
            json!({"org": "acme", "visibility": "private", "tags": {"data-classification": class}}),
        );
    }
    let classic = g.node(
        "github_classic_pat",
        "id:github-credential/1",
        json!({"org": "acme", "scopes": ["repo", "read:org"]}),
    );
    let fine_all = g.node(
        "github_fine_grained_pat",
        "id:github-token/2",
        json!({"org": "acme", "repository_selection": "all",
               "permissions": {"repository": {"contents": "read", "metadata": "read"}}}),
    );
    let app = g.node(
        "github_app_installation",
        "id:github-app-installation/3",
        json!({"org": "acme", "repository_selection": "all",
               "permissions": {"administration": "write", "metadata": "read"}}),
    );
    let subset = g.node(
        "github_app_installation",
        "id:github-app-installation/4",
        json!({"org": "acme", "repository_selection": "selected", "permissions": {"contents": "write"}}),
    );
    let ro = g.node(
        "github_deploy_key",
        "id:github-deploy-key/5",
        json!({"repository": "acme/infra", "read_only": true}),
    );
    let m = g.model();
    // A classic token goes as far as its owner's access: conditional.
    assert_eq!(
        reach(&m, classic, "acme/infra"),
        Some(("Write".into(), true))
    );
    // A fine-grained token too, even with every repository selected.
    assert_eq!(
        reach(&m, fine_all, "acme/docs"),
        Some(("Read".into(), true))
    );
    // An installation on every repository is not bounded by a person.
    assert_eq!(
        level(&m, app, "acme/infra").as_deref(),
        Some("Permissions management")
    );
    // Selected repositories that were not exported: reported, not guessed.
    assert_eq!(reach(&m, subset, "acme/docs"), None);
    let br = m.blast_radius(&m.start(subset));
    assert!(
        br.incomplete
            .iter()
            .any(|i| i.contains("selected repositories")),
        "{:?}",
        br.incomplete
    );
    assert_eq!(level(&m, ro, "acme/infra").as_deref(), Some("Read"));
    assert_eq!(level(&m, ro, "acme/docs"), None);
    let br = m.blast_radius(&m.start(classic));
    let top = &m.resources[br.reached[0].access.resource as usize];
    assert_eq!(
        top.arn, "acme/infra",
        "the restricted repository ranks first"
    );
}

#[test]
fn pushing_to_a_repository_reaches_what_its_workflow_assumes() {
    let mut g = G::default();
    let shop = hierarchy(&mut g);
    g.node(
        "github_repository",
        "id:github-repo/acme/deploy",
        json!({"org": "acme"}),
    );
    let sa = g.sa("deployer@shop-prod.iam.gserviceaccount.com", "shop-prod");
    g.bind(sa, shop, "roles/storage.objectAdmin", false);
    let wf = g.node(
        "github_actions_workflow",
        "uri:github-workflow://acme/deploy/.github/workflows/deploy.yml",
        json!({"repository": "acme/deploy", "path": ".github/workflows/deploy.yml"}),
    );
    g.edge(wf, "CAN_ASSUME", sa, json!({"via": "github-actions-oidc"}));
    let writer = g.node(
        "github_deploy_key",
        "id:github-deploy-key/9",
        json!({"repository": "acme/deploy", "read_only": false}),
    );
    let reader = g.node(
        "github_deploy_key",
        "id:github-deploy-key/10",
        json!({"repository": "acme/deploy", "read_only": true}),
    );
    let m = g.model();
    // Through the push: conditional (branch protection is not evaluated).
    assert_eq!(reach(&m, writer, BUCKET), Some(("Write".into(), true)));
    assert_eq!(reach(&m, reader, BUCKET), None);
    let br = m.blast_radius(&m.start(writer));
    assert!(
        br.hops[1].how.starts_with("push to acme/deploy"),
        "{}",
        br.hops[1].how
    );
    // Read backwards, the bucket is reached by the writable key only.
    let r = m
        .resource(
            g.nodes
                .iter()
                .find(|n| n.2 == format!("uri:{BUCKET}"))
                .unwrap()
                .0,
        )
        .unwrap();
    let who: Vec<String> = m.reaching(r).into_iter().map(|x| x.key).collect();
    assert_eq!(who, ["id:github-deploy-key/9"]);
}

#[test]
fn aws_outbound_federation_into_azure_needs_a_web_identity_token() {
    for (allowed, expected) in [(true, Some("Read".to_string())), (false, None)] {
        let mut g = G::default();
        azure_estate(&mut g, true);
        let arn = "arn:aws:iam::111122223333:role/deploy";
        let doc = if allowed {
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"}]})
        } else {
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
        };
        let role = g.node(
            "aws_iam_role",
            arn,
            json!({"arn": arn, "inline_policies": [{"name": "p", "document": doc}]}),
        );
        let app = g.sp("a-deploy", "oid-deploy");
        g.assign(app, RG, "Key Vault Secrets User");
        g.edge(
            role,
            "CAN_ASSUME",
            app,
            json!({"via": "azure-workload-identity-federation", "name": "aws-deploy-role"}),
        );
        let m = g.model();
        assert_eq!(
            level(&m, role, &secret_id()),
            expected,
            "GetWebIdentityToken allowed: {allowed}"
        );
    }
}

#[test]
fn a_graph_permission_that_takes_over_apps_reaches_every_app() {
    let mut g = G::default();
    azure_estate(&mut g, true);
    let reader = g.sp("a-reader", "oid-reader");
    g.assign(reader, RG, "Key Vault Secrets User");
    let automation = g.sp("a-automation", "oid-automation");
    let graph = g.sp("00000003-0000-0000-c000-000000000000", "oid-graph");
    let mi = g.node(
        "azure_managed_identity",
        "id:azure-app/mi-x",
        json!({"app_id": "mi-x", "sp_object_id": "oid-mi", "service_principal_type": "ManagedIdentity"}),
    );
    g.edge(
        automation,
        "CAN_ACCESS",
        graph,
        json!({"via": "entra-app-role-assignment", "app_roles": [{"id": "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9", "permission": "Application.ReadWrite.All"}]}),
    );
    let m = g.model();
    // Through the reader app it can now impersonate.
    assert_eq!(level(&m, automation, &secret_id()).as_deref(), Some("Read"));
    let br = m.blast_radius(&m.start(automation));
    assert!(br
        .hops
        .iter()
        .any(|h| h.how.contains("Application.ReadWrite.All")));
    // A managed identity takes no added credential.
    assert!(!br.hops.iter().any(|h| h.principal == m.start(mi)[0]));
}
