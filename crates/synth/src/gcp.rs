//! Google Cloud projects as `gcloud … --format=json` prints them, under
//! `gcp/projects/<project>/`:
//!
//! - `service-accounts.json`: `gcloud iam service-accounts list`;
//! - `service-accounts/<e-mail>/keys.json`: `gcloud iam service-accounts keys list`
//!   (Google-managed keys included, as gcloud lists them);
//! - `service-accounts/<e-mail>/iam-policy.json`: `gcloud iam service-accounts get-iam-policy`
//!   (only accounts someone may act as);
//! - `iam-policy.json`: `gcloud projects get-iam-policy`;
//! - `workload-identity-pools/<pool>/providers.json`:
//!   `gcloud iam workload-identity-pools providers list`.
//!
//! The planted chain's Google end: in the platform's production project, the
//! `infra-deployer` service account lets the AWS role a GitHub workflow
//! assumes act as it (Workload Identity Federation with an AWS provider).

use crate::names::{COMPONENTS, ENVS};
use crate::people::Org;
use crate::rng::Rng;
use crate::write::Writer;
use crate::SynthError;
use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};

pub struct GcpOut {
    pub projects: usize,
    pub service_accounts: usize,
    pub keys: usize,
    /// The planted chain, completed with its Google end.
    pub federation: Option<Value>,
    /// Some user-managed keys (e-mail, key id, project), for key files on disks.
    pub user_keys: Vec<(String, String, String)>,
    /// Every project: (id, number, team, environment), for the asset inventory.
    pub project_list: Vec<(String, String, String, String)>,
}

const SA_ROLES: [&str; 8] = [
    "roles/storage.objectViewer",
    "roles/storage.objectAdmin",
    "roles/bigquery.dataEditor",
    "roles/pubsub.publisher",
    "roles/cloudsql.client",
    "roles/secretmanager.secretAccessor",
    "roles/logging.logWriter",
    "roles/editor",
];

fn time(d: NaiveDate, secs: i64) -> String {
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        d,
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}

pub fn write(
    w: &mut Writer,
    rng: &mut Rng,
    org: &Org,
    federation: Option<&Value>,
) -> Result<GcpOut, SynthError> {
    let n = (org.people.len() / 10).max(2);
    let mut out = GcpOut {
        projects: n,
        service_accounts: 0,
        keys: 0,
        federation: None,
        user_keys: Vec::new(),
        project_list: Vec::new(),
    };
    for p in 0..n {
        let team = if org.teams.is_empty() {
            None
        } else {
            Some(&org.teams[p % org.teams.len()])
        };
        // The planted chain lives in the first project: the platform's production.
        let planted = p == 0 && federation.is_some();
        let tname = if planted {
            "platform".to_string()
        } else {
            team.map_or("platform".into(), |t| t.name.clone())
        };
        let env = if planted { "prod" } else { *rng.pick(ENVS) };
        let project = format!("{tname}-{env}-{}", rng.hex(4));
        let number = rng.digits(12);
        out.project_list.push((
            project.clone(),
            number.clone(),
            tname.clone(),
            env.to_string(),
        ));
        let base = format!("gcp/projects/{project}");
        let members: Vec<&str> = team
            .map(|t| {
                t.members
                    .iter()
                    .map(|&m| org.people[m].email.as_str())
                    .collect()
            })
            .unwrap_or_default();
        let mut accounts = Vec::new();
        let mut bindings: Vec<(String, Vec<String>)> = Vec::new();
        let mut bind = |role: &str, member: String| match bindings.iter_mut().find(|b| b.0 == role)
        {
            Some(b) => b.1.push(member),
            None => bindings.push((role.to_string(), vec![member])),
        };
        // Google's default compute account: every project with Compute has it.
        let compute = format!("{number}-compute@developer.gserviceaccount.com");
        accounts.push(
            json!({"displayName": "Compute Engine default service account", "email": compute,
            "etag": "MDEwMjE5MjA=", "name": format!("projects/{project}/serviceAccounts/{compute}"),
            "oauth2ClientId": rng.digits(21), "projectId": project, "uniqueId": rng.digits(21)}),
        );
        bind("roles/editor", format!("serviceAccount:{compute}"));
        let count = 10 + rng.below(20);
        let mut names: Vec<String> = Vec::new();
        for k in 0..count {
            let comp = *rng.pick(COMPONENTS);
            let mut name: String = format!("{tname}-{comp}").chars().take(30).collect();
            if names.contains(&name) {
                let suffix = format!("-{k}");
                name = name.chars().take(30 - suffix.len()).collect::<String>() + &suffix;
            }
            names.push(name);
        }
        if planted {
            names.insert(0, "infra-deployer".into());
        }
        for (i, name) in names.iter().enumerate() {
            let email = format!("{name}@{project}.iam.gserviceaccount.com");
            let mut sa = json!({"displayName": name.replace('-', " "), "email": email, "etag": "MDEwMjE5MjA=",
                "name": format!("projects/{project}/serviceAccounts/{email}"),
                "oauth2ClientId": rng.digits(21), "projectId": project, "uniqueId": rng.digits(21)});
            if rng.chance(0.05) {
                sa["disabled"] = json!(true);
            }
            if rng.chance(0.4) {
                sa["description"] = json!(format!("{name} workload"));
            }
            accounts.push(sa);
            out.service_accounts += 1;
            bind(
                SA_ROLES[rng.below(SA_ROLES.len())],
                format!("serviceAccount:{email}"),
            );
            // Keys: Google's own (always), and user-managed ones someone downloaded.
            let mut keys = vec![
                json!({"keyAlgorithm": "KEY_ALG_RSA_2048", "keyOrigin": "GOOGLE_PROVIDED", "keyType": "SYSTEM_MANAGED",
                "name": format!("projects/{project}/serviceAccounts/{email}/keys/{}", rng.hex(40)),
                "validAfterTime": time(org.as_of - Duration::days(rng.range(1, 14)), rng.range(0, 86_399)),
                "validBeforeTime": time(org.as_of + Duration::days(rng.range(1, 14)), rng.range(0, 86_399))}),
            ];
            let user_keys = if planted && i == 0 {
                0
            } else if rng.chance(0.35) {
                1 + rng.below(2)
            } else {
                0
            };
            for _ in 0..user_keys {
                let key_id = rng.hex(40);
                if out.user_keys.len() < 16 {
                    out.user_keys
                        .push((email.clone(), key_id.clone(), project.clone()));
                }
                let mut k = json!({"keyAlgorithm": "KEY_ALG_RSA_2048", "keyOrigin": "GOOGLE_PROVIDED", "keyType": "USER_MANAGED",
                    "name": format!("projects/{project}/serviceAccounts/{email}/keys/{key_id}"),
                    "validAfterTime": time(org.as_of - Duration::days(rng.range(10, 1200)), rng.range(0, 86_399)),
                    "validBeforeTime": "9999-12-31T23:59:59Z"});
                if rng.chance(0.1) {
                    k["disabled"] = json!(true);
                }
                keys.push(k);
                out.keys += 1;
            }
            w.json(
                &format!("{base}/service-accounts/{email}/keys.json"),
                &Value::Array(keys),
                false,
            )?;
            // Who may act as it: an engineer of the team, sometimes.
            if !members.is_empty() && rng.chance(0.3) && !(planted && i == 0) {
                let who = *rng.pick(&members);
                let policy = json!({"bindings": [{"members": [format!("user:{who}")], "role": "roles/iam.serviceAccountTokenCreator"}],
                    "etag": "BwYc8Zc4xJU=", "version": 1});
                w.json(
                    &format!("{base}/service-accounts/{email}/iam-policy.json"),
                    &policy,
                    false,
                )?;
            }
        }
        for who in members.iter().take(3) {
            bind("roles/viewer", format!("user:{who}"));
        }
        if let Some(lead) = members.first() {
            bind("roles/owner", format!("user:{lead}"));
        }
        if planted {
            let f = federation.cloned().unwrap_or(Value::Null);
            let account = f["account_id"].as_str().unwrap_or("000000000000");
            let role = f["role_name"].as_str().unwrap_or("github-infra-deploy");
            let deployer = format!("infra-deployer@{project}.iam.gserviceaccount.com");
            let pool = "aws-federation";
            let provider = format!("aws-{account}");
            let member = format!(
                "principalSet://iam.googleapis.com/projects/{number}/locations/global/workloadIdentityPools/{pool}/attribute.aws_role/arn:aws:sts::{account}:assumed-role/{role}"
            );
            w.json(
                &format!("{base}/workload-identity-pools/{pool}/providers.json"),
                &json!([{"name": format!("projects/{number}/locations/global/workloadIdentityPools/{pool}/providers/{provider}"),
                    "displayName": "AWS production", "state": "ACTIVE", "aws": {"accountId": account},
                    "attributeMapping": {"google.subject": "assertion.arn",
                        "attribute.aws_role": "assertion.arn.contains('assumed-role') ? assertion.arn.extract('{account_arn}assumed-role/') + 'assumed-role/' + assertion.arn.extract('assumed-role/{role_name}/') : assertion.arn"}}]),
                false,
            )?;
            w.json(
                &format!("{base}/service-accounts/{deployer}/iam-policy.json"),
                &json!({"bindings": [{"members": [member], "role": "roles/iam.workloadIdentityUser"}], "etag": "BwYc8Zc4xJU=", "version": 1}),
                false,
            )?;
            bind(
                "roles/container.developer",
                format!("serviceAccount:{deployer}"),
            );
            bind("roles/storage.admin", format!("serviceAccount:{deployer}"));
            let mut done = f;
            done["gcp_project"] = json!(project);
            done["gcp_service_account"] = json!(deployer);
            done["gcp_member"] = json!(member);
            out.federation = Some(done);
        }
        w.json(
            &format!("{base}/service-accounts.json"),
            &Value::Array(accounts),
            false,
        )?;
        let policy = json!({"bindings": bindings.into_iter().map(|(role, members)| json!({"role": role, "members": members})).collect::<Vec<_>>(),
            "etag": "BwYc8Zc4xJU=", "version": 1});
        w.json(&format!("{base}/iam-policy.json"), &policy, false)?;
    }
    Ok(out)
}

/// The repository whose workflow starts the chain, mirrored as the security
/// team scans it: it deployed with static keys, then moved to OIDC.
pub fn write_repo(w: &mut Writer, org: &Org, federation: &Value) -> Result<String, SynthError> {
    let repository = federation["repository"]
        .as_str()
        .unwrap_or("acme/infra-deploy");
    let role = federation["aws_role"].as_str().unwrap_or_default();
    let project = federation["gcp_project"].as_str().unwrap_or_default();
    let sa = federation["gcp_service_account"]
        .as_str()
        .unwrap_or_default();
    let number = federation["gcp_member"]
        .as_str()
        .and_then(|m| m.split("/projects/").nth(1))
        .and_then(|m| m.split('/').next())
        .unwrap_or("0");
    let author = org
        .people
        .iter()
        .find(|p| p.terminated.is_none() && p.title.contains("Engineer"))
        .or(org.people.first());
    let (name, email) = author.map_or(
        (
            "Platform Bot".to_string(),
            "platform@example.com".to_string(),
        ),
        |p| (format!("{} {}", p.first, p.last), p.email.clone()),
    );
    let static_wf = "name: deploy\non:\n  push:\n    branches: [main]\n\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}\n          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}\n          aws-region: us-east-1\n      - run: ./deploy.sh\n".to_string();
    let oidc_wf = format!("name: deploy\non:\n  push:\n    branches: [main]\n\npermissions:\n  id-token: write\n  contents: read\n\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          role-to-assume: {role}\n          aws-region: us-east-1\n      - run: ./deploy.sh\n      # Google Cloud trusts the AWS role through Workload Identity Federation.\n      - run: |\n          gcloud iam workload-identity-pools create-cred-config \\\n            projects/{number}/locations/global/workloadIdentityPools/aws-federation/providers/aws-{acct} \\\n            --service-account={sa} --aws --enable-imdsv2 --output-file=gcp.json\n          gcloud auth login --cred-file=gcp.json\n          gcloud container clusters get-credentials prod --project {project} --region us-central1\n          ./deploy-gke.sh\n{azure}", acct = federation["account_id"].as_str().unwrap_or_default(),
        azure = federation["azure_client_id"].as_str().map(|id| format!("      # Azure trusts the repository's main branch (a federated credential).\n      - uses: azure/login@v2\n        with:\n          client-id: {id}\n          tenant-id: ${{{{ secrets.AZURE_TENANT_ID }}}}\n          allow-no-subscriptions: true\n      - run: az keyvault secret show --vault-name \"$VAULT\" --name aws-deploy-credentials --query id\n")).unwrap_or_default());
    let start = 1_735_000_000;
    let day = 86_400;
    let who = (name.as_str(), email.as_str());
    let commits = [
        crate::git::Commit {
            author: who,
            time: start,
            message: "Deploy from GitHub Actions",
            changes: vec![
                ("README.md", Some("# infra-deploy\n\nDeploys the platform on every push to main.\n".into())),
                ("deploy.sh", Some("#!/bin/sh\nset -eu\nterraform -chdir=infra apply -auto-approve\n".into())),
                (".github/workflows/deploy.yml", Some(static_wf)),
            ],
        },
        crate::git::Commit {
            author: who,
            time: start + 90 * day,
            message: "Deploy with OIDC: no more static AWS keys; GKE through workload identity federation",
            changes: vec![
                (".github/workflows/deploy.yml", Some(oidc_wf)),
                ("deploy-gke.sh", Some("#!/bin/sh\nset -eu\nkubectl apply -k k8s/overlays/prod\n".into())),
            ],
        },
    ];
    let slug = repository.split('/').next_back().unwrap_or("infra-deploy");
    crate::git::write_repo(
        w,
        &format!("repos/{slug}.git"),
        &format!("https://github.com/{repository}.git"),
        &commits,
    )?;
    Ok(format!(
        "github-workflow://{repository}/.github/workflows/deploy.yml"
    ))
}
