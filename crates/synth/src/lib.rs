//! # custody-synth
//!
//! A synthetic enterprise written **in its systems' native export formats**
//! (exactly what `aws iam get-account-authorization-details`, the credential
//! report, `list-access-keys`, Okta's API and an HR roster export contain, and
//! nothing they would not), plus `answers.json`: the known answers of the
//! scenarios planted in it.
//!
//! **Owns:** the generator. Deterministic for a given (seed, people, as-of date).
//! **Must not:** write anything a real system would not export (e.g. access key
//! ids in the credential report), or depend on custody's parsers: the output must
//! stand on its own as a realistic snapshot.

mod account;
mod agent;
mod aws;
mod azure;
mod clouds;
mod cloudtrail;
mod gcp;
mod git;
mod github;
mod kubernetes;
mod leaver;
pub mod logbench;
mod names;
pub mod nextday;
mod okta;
mod people;
mod resources;
mod rng;
mod surfaces;
mod terraform;
mod vault;
mod write;

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    pub people: usize,
    pub seed: u64,
    /// The day the snapshot is taken: all dates are relative to it.
    pub as_of: NaiveDate,
    pub out: PathBuf,
    /// CloudTrail events to write over the two weeks before `as_of` (about).
    pub audit_events: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

/// What was generated (also written as `answers.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Answers {
    pub generator: String,
    pub seed: u64,
    pub people: usize,
    pub as_of: String,
    pub domain: String,
    pub counts: Counts,
    pub scenarios: Vec<Value>,
    pub expected: BTreeMap<String, Value>,
    pub layout: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub people: usize,
    pub terminated: usize,
    pub okta_groups: usize,
    pub aws_accounts: usize,
    pub gcp_projects: usize,
    pub k8s_clusters: usize,
    pub github_repos: usize,
    pub terraform_states: usize,
    /// Non-human identities by kind.
    pub nhis: BTreeMap<String, usize>,
    pub nhi_total: usize,
    pub nhi_per_person: f64,
    pub files: usize,
    pub bytes: u64,
}

/// Generates the enterprise into `opts.out` (created if needed; existing files
/// of the same names are replaced).
pub fn generate(opts: &Options) -> Result<Answers, SynthError> {
    if opts.people < 10 {
        return Err(SynthError::Invalid(
            "--people must be at least 10 (a CEO, departments and teams)".into(),
        ));
    }
    let mut w = write::Writer::new(&opts.out)?;
    let mut rng = rng::Rng::new(opts.seed);
    let mut org = people::generate(&mut rng, opts);
    aws::choose_planted(&mut org);
    let leaver = leaver::add(&mut org, &mut rng);
    let mut answers = Answers {
        generator: format!("custody synth {}", env!("CARGO_PKG_VERSION")),
        seed: opts.seed,
        people: opts.people,
        as_of: opts.as_of.to_string(),
        domain: org.domain.clone(),
        counts: Counts::default(),
        scenarios: Vec::new(),
        expected: BTreeMap::new(),
        layout: BTreeMap::new(),
    };
    people::write_roster(&mut w, &org)?;
    let okta_groups = okta::write(&mut w, &mut rng, &org)?;
    let mut aws = aws::write(&mut w, &mut rng, &org)?;
    for (path, value) in &aws.secret_values {
        w.json(path, value, true)?;
    }
    answers.counts.people = org.people.len();
    answers.counts.terminated = org.people.iter().filter(|p| p.terminated.is_some()).count();
    answers.counts.okta_groups = okta_groups;
    answers.counts.aws_accounts = aws.accounts;
    answers.counts.nhis = aws.nhis;
    answers.counts.nhi_total = answers.counts.nhis.values().sum();
    answers.counts.nhi_per_person =
        (answers.counts.nhi_total as f64 / org.people.len() as f64 * 10.0).round() / 10.0;
    answers.scenarios = aws.scenarios;
    let mut trail = cloudtrail::write(&mut w, &org, &aws.key_uses, opts.seed, opts.audit_events)?;
    // The planted key's other surfaces: a repository, a Kubernetes Secret, an MCP config.
    if let Some(first) = answers.scenarios.first().cloned() {
        let owner = first["owner_email"].as_str().unwrap_or("dev");
        let handle = owner.split('@').next().unwrap_or("dev").to_string();
        let team = first["principal_arn"]
            .as_str()
            .and_then(|a| a.rsplit('/').next())
            .and_then(|u| u.strip_prefix("svc-"))
            .and_then(|u| u.strip_suffix("-reporting-export"))
            .unwrap_or("team")
            .to_string();
        let name = org
            .people
            .iter()
            .find(|p| p.email == owner)
            .map(|p| format!("{} {}", p.first, p.last))
            .unwrap_or_else(|| handle.clone());
        let places = surfaces::write(&mut w, &mut rng, &first, &team, &name, owner, &org.domain)?;
        answers.scenarios[0]["surfaces"] = serde_json::json!(places);
        // It is used every day and was committed to git long before: once the
        // history is scanned into the graph, its use is an alert.
        if let (Some(id), Some(alerts)) = (
            first["access_key_id"].as_str(),
            trail.answers["alerts"].as_array_mut(),
        ) {
            alerts.push(serde_json::json!({
                "rule": "leaked-credential-used",
                "identity": format!("aws-access-key:{id}"),
                "requires": "custody scan --git --ingest of repos/",
            }));
        }
    }
    // Kubernetes clusters behind the EKS describe-cluster outputs, Google
    // Cloud projects, and the planted chain from GitHub through AWS to GCP.
    let leaver_k8s = leaver::k8s_items(&org, &mut rng, leaver);
    let k8s = kubernetes::write(&mut w, &mut rng, &org, &aws.clusters, &leaver_k8s)?;
    let gcp = gcp::write(&mut w, &mut rng, &org, aws.federation.as_ref())?;
    answers.counts.k8s_clusters = k8s.clusters;
    answers.counts.gcp_projects = gcp.projects;
    for (kind, n) in [
        ("k8s_service_account", k8s.service_accounts),
        ("k8s_service_account_token", k8s.tokens),
        ("gcp_service_account", gcp.service_accounts),
        ("gcp_service_account_key", gcp.keys),
    ] {
        if n > 0 {
            answers.counts.nhis.insert(kind.into(), n);
        }
    }
    // The rest of the estate: GitHub, Vault, Entra ID, Okta's apps and
    // tokens, Terraform state, and the planted agent.
    let gh = github::write(&mut w, &mut rng, &org)?;
    let vault = vault::write(&mut w, &mut rng, &org, &aws.clusters)?;
    let azure = azure::write(&mut w, &mut rng, &org)?;
    let okta_apps = okta::write_apps(&mut w, &mut rng, &org)?;
    let tf = terraform::write(&mut w, &mut rng, &org, &aws.key_uses)?;
    // The leaver's own estate, and everything theirs the modules above wrote.
    let mut also: Vec<(String, &str)> = gh
        .planted
        .iter()
        .map(|k| {
            (
                k.clone(),
                "the token's owner (joined to the person by their SAML identity)",
            )
        })
        .collect();
    if let Some(t) = &okta_apps.planted_token {
        also.push((t.clone(), "the API token's user"));
    }
    let login = gh.logins[leaver].clone().unwrap_or_default();
    let left = leaver::write(
        &mut w,
        &mut rng,
        &org,
        leaver,
        aws.clusters.first().map(|c| c.1.as_str()),
        &login,
        &also,
    )?;
    answers.expected.insert("offboarding".into(), left.answer);
    // Its access keys are old and unused, as posture rules must say.
    for k in &left.access_keys {
        if let Some(v) = trail.answers["stale_keys"].as_array_mut() {
            v.push(Value::String(k.clone()));
        }
        if let Some(n) = trail.answers["never_used_active_keys"].as_u64() {
            trail.answers["never_used_active_keys"] = serde_json::json!(n + 1);
        }
        for rule in ["key-not-rotated", "unused-active-key"] {
            if let Some(Value::Array(v)) = aws.posture_exact.get_mut(rule) {
                v.push(Value::String(k.clone()));
            }
        }
    }
    for (kind, n) in [
        ("aws_iam_user", 2),
        ("aws_access_key", 3),
        ("aws_iam_role", 1),
        ("gcp_service_account", 1),
        ("gcp_service_account_key", 1),
        ("vault_approle_secret_id", 1),
    ] {
        *answers.counts.nhis.entry(kind.into()).or_default() += n;
    }
    // Who the generator made accountable, for `custody eval` (not an export).
    // JSON, like answers.json, so that ingesting the folder passes it by.
    let truth: serde_json::Map<String, Value> = aws
        .owners
        .iter()
        .chain(&k8s.owners)
        .chain(&left.owners)
        .map(|(k, o)| (k.clone(), Value::String(o.clone())))
        .collect();
    w.json(
        "answers-ownership.json",
        &serde_json::json!({"generator": answers.generator, "owners": truth}),
        false,
    )?;
    answers.counts.github_repos = gh.repos;
    answers.counts.terraform_states = tf.states;
    let mut more: Vec<(&str, usize)> = gh.nhis.clone();
    more.extend(azure.nhis.iter().copied());
    more.extend([
        ("vault_role", vault.roles),
        ("vault_approle_secret_id", vault.secret_ids),
        ("okta_service_app", okta_apps.service_apps),
        ("okta_client_secret", okta_apps.client_secrets),
        ("okta_api_token", okta_apps.api_tokens),
    ]);
    for (kind, n) in more {
        if n > 0 {
            *answers.counts.nhis.entry(kind.into()).or_default() += n;
        }
    }
    answers.expected.insert(
        "terminated_owner_entra_credentials".into(),
        serde_json::json!(azure.terminated_owner_credentials),
    );
    answers.expected.insert(
        "terraform_state_secrets".into(),
        serde_json::json!({"access_keys": tf.keys_in_state, "why": "the AWS provider keeps each aws_iam_access_key's secret in the state: whoever reads the state holds the key"}),
    );
    let avoid: Vec<String> = answers
        .scenarios
        .iter()
        .filter_map(|s| s["owner_email"].as_str().map(str::to_string))
        .collect();
    if let Some(a) = agent::write(
        &mut w,
        &mut rng,
        &org,
        &aws.key_uses,
        gcp.user_keys.first(),
        &avoid,
    )? {
        answers.expected.insert("agent".into(), a);
    }
    answers.counts.nhi_total = answers.counts.nhis.values().sum();
    answers.counts.nhi_per_person =
        (answers.counts.nhi_total as f64 / org.people.len() as f64 * 10.0).round() / 10.0;
    let github_org = surfaces::org_slug(&org.domain).to_string();
    let planted = clouds::write(
        &mut w,
        opts.seed,
        &clouds::Estate {
            projects: &gcp.project_list,
            subscriptions: &azure.subscriptions,
            tenant: &azure.tenant,
            github_org: &github_org,
            repos: &gh.repo_names,
            as_of: opts.as_of,
        },
        gcp.federation.as_ref(),
    )?;
    if planted.is_some() {
        // The planted cross-cloud identities are NHIs like any other.
        for kind in [
            "aws_iam_user",
            "aws_access_key",
            "github_deploy_key",
            "azure_app_registration",
        ] {
            *answers.counts.nhis.entry(kind.into()).or_default() += 1;
        }
        answers.counts.nhi_total = answers.counts.nhis.values().sum();
        answers.counts.nhi_per_person =
            (answers.counts.nhi_total as f64 / org.people.len() as f64 * 10.0).round() / 10.0;
    }
    if let Some(mut f) = gcp.federation {
        if let Some(p) = &planted {
            f["azure_client_id"] = serde_json::json!(p.azure_client_id);
            f["reaches"] = serde_json::json!({"aws": f["aws_role"], "gcp": p.gcp_bucket, "azure": p.azure_secret});
            f["deploy_key"] = serde_json::json!(p.deploy_key);
            f["cross_cloud_keys"] = serde_json::json!([p.bridge_key]);
        }
        let workflow = gcp::write_repo(&mut w, &org, &f)?;
        f["workflow"] = serde_json::json!(workflow);
        f["chain"] = serde_json::json!([workflow, f["aws_role"], f["gcp_service_account"]]);
        f["why"] = serde_json::json!("the workflow assumes the AWS role with GitHub's OIDC token (its trust pins the repository's main branch); Google Cloud lets that role act as the service account through Workload Identity Federation: one subject across GitHub, AWS and Google Cloud");
        f["requires"] = serde_json::json!("custody scan --git --ingest of repos/ (the workflow) and custody ingest of aws/ and gcp/");
        answers.expected.insert("federation".into(), f);
    }
    answers.expected.insert(
        "terminated_owner_active_keys".into(),
        serde_json::json!(aws.terminated_owner_active_keys),
    );
    answers
        .expected
        .insert("reachability".into(), serde_json::json!(aws.reachability));
    answers.expected.insert("usage".into(), trail.answers);
    answers
        .expected
        .insert("posture".into(), serde_json::json!(aws.posture));
    answers
        .expected
        .insert("posture_exact".into(), serde_json::json!(aws.posture_exact));
    for (k, v) in [
        ("hr/roster.csv", "HR roster export (CSV)"),
        (
            "aws/<account id>/cloudtrail/AWSLogs/<account id>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz",
            "CloudTrail delivery files as a trail writes them to S3 (gzipped {\"Records\": [...]})",
        ),
        ("okta/users.json", "Okta GET /api/v1/users"),
        ("okta/groups.json", "Okta GET /api/v1/groups"),
        (
            "okta/groups/<group id>/users.json",
            "Okta GET /api/v1/groups/{id}/users",
        ),
        (
            "aws/<account id>/authorization-details.json",
            "aws iam get-account-authorization-details",
        ),
        (
            "aws/<account id>/credential-report.csv",
            "aws iam get-credential-report (Content, base64-decoded)",
        ),
        (
            "aws/<account id>/access-keys.json",
            "aws iam list-access-keys --user-name U, for every user, concatenated",
        ),
        (
            "aws/<account id>/s3/list-buckets.json",
            "aws s3api list-buckets",
        ),
        (
            "aws/<account id>/s3/<bucket>/tagging.json",
            "aws s3api get-bucket-tagging --bucket B (tagged buckets only)",
        ),
        (
            "aws/<account id>/s3/<bucket>/policy.json",
            "aws s3api get-bucket-policy --bucket B (buckets with a policy only)",
        ),
        (
            "aws/<account id>/kms/<key id>/describe-key.json",
            "aws kms describe-key --key-id K",
        ),
        (
            "aws/<account id>/kms/<key id>/key-policy.json",
            "aws kms get-key-policy --key-id K --policy-name default",
        ),
        (
            "aws/<account id>/<region>/secretsmanager-list-secrets.json",
            "aws secretsmanager list-secrets",
        ),
        (
            "aws/<account id>/<region>/rds-db-instances.json",
            "aws rds describe-db-instances",
        ),
        (
            "aws/<account id>/<region>/lambda-list-functions.json",
            "aws lambda list-functions",
        ),
        (
            "aws/<account id>/<region>/ec2-describe-instances.json",
            "aws ec2 describe-instances",
        ),
        (
            "aws/<account id>/iam/instance-profiles.json",
            "aws iam list-instance-profiles",
        ),
        (
            "aws/<account id>/eks/<cluster>/describe-cluster.json",
            "aws eks describe-cluster --name C",
        ),
        (
            "organizations/policies/<policy id>/describe-policy.json",
            "aws organizations describe-policy --policy-id P",
        ),
        (
            "organizations/policies/<policy id>/targets.json",
            "aws organizations list-targets-for-policy --policy-id P",
        ),
        (
            "organizations/parents/<account or OU id>.json",
            "aws organizations list-parents --child-id C",
        ),
    ] {
        answers.layout.insert(k.into(), v.into());
    }
    for (k, v) in [
        (
            "repos/<repo>/.env",
            "a repository's environment file (scan with `custody scan`)",
        ),
        (
            "kubernetes/<cluster>/secrets.json",
            "kubectl get secret -A -o json",
        ),
        (
            "kubernetes/<cluster>/objects.json",
            "kubectl get serviceaccounts,secrets,deployments,cronjobs,roles,clusterroles,rolebindings,clusterrolebindings -A -o json",
        ),
        (
            "gcp/projects/<project>/service-accounts.json",
            "gcloud iam service-accounts list --project P --format=json",
        ),
        (
            "gcp/projects/<project>/service-accounts/<e-mail>/keys.json",
            "gcloud iam service-accounts keys list --iam-account E --format=json",
        ),
        (
            "gcp/projects/<project>/service-accounts/<e-mail>/iam-policy.json",
            "gcloud iam service-accounts get-iam-policy E --format=json",
        ),
        (
            "gcp/projects/<project>/iam-policy.json",
            "gcloud projects get-iam-policy P --format=json",
        ),
        (
            "gcp/projects/<project>/workload-identity-pools/<pool>/providers.json",
            "gcloud iam workload-identity-pools providers list --workload-identity-pool W --location global --format=json",
        ),
        (
            "repos/infra-deploy.git",
            "the repository whose workflow starts the planted GitHub → AWS → GCP chain",
        ),
        (
            "workstations/<user>/.cursor/mcp.json",
            "a Cursor MCP client configuration",
        ),
        (
            "workstations/<user>/.config/Claude/claude_desktop_config.json",
            "the planted agent's Claude Desktop MCP configuration (with its host's ~/.aws/credentials and gcloud ADC file beside it)",
        ),
        ("github/orgs/<org>/members.json", "GitHub GET /orgs/{org}/members"),
        ("github/orgs/<org>/teams.json", "GitHub GET /orgs/{org}/teams"),
        (
            "github/orgs/<org>/teams/<team>/members.json",
            "GitHub GET /orgs/{org}/teams/{team_slug}/members",
        ),
        (
            "github/orgs/<org>/saml-identities.json",
            "GitHub GraphQL organization.samlIdentityProvider.externalIdentities",
        ),
        ("github/orgs/<org>/installations.json", "GitHub GET /orgs/{org}/installations"),
        (
            "github/orgs/<org>/personal-access-tokens.json",
            "GitHub GET /orgs/{org}/personal-access-tokens",
        ),
        (
            "github/orgs/<org>/credential-authorizations.json",
            "GitHub GET /orgs/{org}/credential-authorizations",
        ),
        (
            "github/orgs/<org>/actions/secrets.json",
            "GitHub GET /orgs/{org}/actions/secrets",
        ),
        (
            "github/repos/<org>/<repo>/actions/secrets.json",
            "GitHub GET /repos/{owner}/{repo}/actions/secrets",
        ),
        ("github/repos/<org>/<repo>/keys.json", "GitHub GET /repos/{owner}/{repo}/keys"),
        (
            "vault/secret/metadata/<team>/<app>.json",
            "vault kv metadata get -format=json secret/<team>/<app>",
        ),
        ("vault/sys/policy/<name>.json", "vault read -format=json sys/policy/<name>"),
        (
            "vault/auth/<mount>/role/<name>.json",
            "vault read -format=json auth/<mount>/role/<name> (AppRole, Kubernetes)",
        ),
        (
            "vault/auth/approle/role/<name>/secret-id.json",
            "vault list -format=json auth/approle/role/<name>/secret-id",
        ),
        ("azure/applications.json", "az ad app list --all"),
        ("azure/service-principals.json", "az ad sp list --all"),
        ("azure/applications/<appId>/owners.json", "az ad app owner list --id <appId>"),
        (
            "azure/applications/<appId>/federated-credentials.json",
            "az ad app federated-credential list --id <appId>",
        ),
        ("azure/role-assignments.json", "az role assignment list --all"),
        ("okta/apps.json", "Okta GET /api/v1/apps"),
        ("okta/apps/<app id>/grants.json", "Okta GET /api/v1/apps/{appId}/grants"),
        ("okta/api-tokens.json", "Okta GET /api/v1/api-tokens"),
        ("terraform/<team>/terraform.tfstate", "terraform state pull (format version 4)"),
        (
            "repos/infra-<team>.git",
            "git clone --mirror of the code behind each state (its authors; CODEOWNERS)",
        ),
    ] {
        answers.layout.insert(k.into(), v.into());
    }
    let (files, bytes) = w.totals();
    answers.counts.files = files + 1;
    answers.counts.bytes = bytes;
    w.json(
        "answers.json",
        &serde_json::to_value(&answers).unwrap_or(Value::Null),
        false,
    )?;
    Ok(answers)
}

/// A stable 32-bit hash for synthetic ids (FNV-1a).
pub(crate) fn surfaces_hash(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}
