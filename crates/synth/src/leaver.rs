//! The planted leaver: a platform engineer who left 20 days ago and left 14
//! non-human identities across six systems, with the evidence real estates
//! leave — some only in Terraform commit history, some in tags, one whose
//! owner tag names a colleague while the code says the leaver wrote it.
//!
//! | system | identities | evidence |
//! |---|---|---|
//! | AWS (the sandbox account) | `svc-<handle>-sandbox` and its 2 access keys | `owner` tag |
//! | AWS | `sandbox-ingest-bot` and its access key | tag names a colleague; the leaver added the code (conflict) |
//! | AWS | `sandbox-lambda-exec` role | only the Terraform commit that added it |
//! | Google Cloud | `sandbox-etl` service account and its key | only Terraform commit history (a colleague edited the file later) |
//! | Kubernetes | `sandbox-ci` service account and its token Secret | owner annotation |
//! | Vault | an AppRole secret-id | secret-id metadata `created_by` |
//! | Okta | an API token (`okta.rs`) | the token's user |
//! | GitHub | a fine-grained PAT and an SSH key (`github.rs`) | the token's owner, joined to the person by SAML |
//!
//! The leaver commits from GitHub's web editor, so the commits carry their
//! GitHub `noreply` address: only the SAML identity joins it to the person.

use crate::people::{Org, Person};
use crate::rng::Rng;
use crate::write::Writer;
use crate::SynthError;
use chrono::Duration;
use serde_json::{json, Value};

pub const ACCOUNT: &str = "739201846255";
pub const PROJECT: &str = "northwind-sandbox-7731";
pub const NAMESPACE: &str = "platform-sandbox";

/// Adds the leaver to the workforce (outside every team, so no random
/// assignment reaches them) and returns their index.
pub fn add(org: &mut Org, rng: &mut Rng) -> usize {
    let as_of = org.as_of;
    // Reports to the first engineering team's manager, who is active.
    let manager = org
        .teams
        .iter()
        .filter_map(|t| t.members.first().copied())
        .find(|&m| org.people[m].terminated.is_none());
    let mut local = "robin.achterberg".to_string();
    let mut k = 2;
    while org
        .people
        .iter()
        .any(|p| p.email.starts_with(&format!("{local}@")))
    {
        local = format!("robin.achterberg{k}");
        k += 1;
    }
    org.people.push(Person {
        first: "Robin".into(),
        last: "Achterberg".into(),
        email: format!("{local}@{}", org.domain),
        employee_id: format!("E{:06}", org.people.len() + 1),
        department: "Engineering",
        title: "Senior Platform Engineer".into(),
        manager,
        team: None,
        hired: as_of - Duration::days(1400),
        terminated: Some(as_of - Duration::days(20)),
        okta_id: rng.okta_id("00u"),
        planted: true,
    });
    org.people.len() - 1
}

/// A colleague on the manager's team (active), for the conflicting tag and
/// the later edit.
fn colleague(org: &Org, leaver: usize) -> Option<&Person> {
    let m = org.people[leaver].manager?;
    let team = org.people[m].team?;
    org.teams[team]
        .members
        .iter()
        .map(|&i| &org.people[i])
        .find(|p| p.terminated.is_none() && p.manager == Some(m))
        .or(Some(&org.people[m]))
}

/// The leaver's Kubernetes objects, for the first cluster's export.
pub fn k8s_items(org: &Org, rng: &mut Rng, leaver: usize) -> Vec<Value> {
    let token = crate::kubernetes::token(rng, NAMESPACE, "sandbox-ci");
    let p = &org.people[leaver];
    let created = "2025-02-11T09:30:00Z";
    let b64 = crate::surfaces::b64;
    vec![
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "sandbox-ci", "namespace": NAMESPACE, "creationTimestamp": created,
                "uid": "5b1c0d6e-4f3a-4e8b-9c2d-7a1e0f3b5c90", "resourceVersion": "48121",
                "labels": {"app.kubernetes.io/name": "sandbox-ci"},
                "annotations": {format!("{}/owner", org.domain): p.email.clone()}},
            "secrets": [{"name": "sandbox-ci-token"}]}),
        json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
            "metadata": {"name": "sandbox-ci-token", "namespace": NAMESPACE, "creationTimestamp": created,
                "uid": "8e2f4a1b-6c3d-4b5e-8f7a-9d0c1e2f3a4b", "resourceVersion": "48122",
                "annotations": {"kubernetes.io/service-account.name": "sandbox-ci",
                    "kubernetes.io/service-account.uid": "5b1c0d6e-4f3a-4e8b-9c2d-7a1e0f3b5c90"}},
            "data": {"namespace": b64(NAMESPACE), "token": b64(&token)}}),
    ]
}

fn aws_time(d: chrono::NaiveDate, secs: i64) -> String {
    (d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() + Duration::seconds(secs))
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string()
}

/// What `write` planted: the answer and the truth rows.
pub struct LeaverOut {
    pub answer: Value,
    pub owners: Vec<(String, String)>,
    /// Its access keys (`aws-access-key:…`): none rotated or used in 90 days.
    pub access_keys: Vec<String>,
}

/// Writes the leaver's AWS sandbox account, Google Cloud project, Vault
/// AppRole, Terraform state and infrastructure repository. `also` are the
/// identities other modules planted (GitHub, Okta, Kubernetes).
#[allow(clippy::too_many_arguments)]
pub fn write(
    w: &mut Writer,
    rng: &mut Rng,
    org: &Org,
    leaver: usize,
    cluster: Option<&str>,
    github_login: &str,
    also: &[(String, &str)],
) -> Result<LeaverOut, SynthError> {
    let p = &org.people[leaver];
    let other = colleague(org, leaver).unwrap_or(p);
    let as_of = org.as_of;
    let left = p.terminated.unwrap_or(as_of);
    let handle = p
        .email
        .split('@')
        .next()
        .unwrap_or("robin")
        .replace('.', "-");
    let acct = ACCOUNT;
    let tagged = format!("svc-{handle}-sandbox");
    let bot = "sandbox-ingest-bot";
    let role = "sandbox-lambda-exec";
    let key = |rng: &mut Rng| rng.aws_id("AKIA", 16);
    let (k1, k2, k3) = (key(rng), key(rng), key(rng));
    let uid = |rng: &mut Rng| rng.aws_id("AIDA", 17);
    let (u1, u2) = (uid(rng), uid(rng));
    let role_id = rng.aws_id("AROA", 17);
    let created = left - Duration::days(400);
    let user = |name: &str, id: &str, tags: Value| {
        json!({"Path": "/", "UserName": name, "UserId": id, "Arn": format!("arn:aws:iam::{acct}:user/{name}"),
            "CreateDate": aws_time(created, 36_000), "UserPolicyList": [], "GroupList": [],
            "AttachedManagedPolicies": [{"PolicyName": "AmazonS3FullAccess", "PolicyArn": "arn:aws:iam::aws:policy/AmazonS3FullAccess"}],
            "Tags": tags})
    };
    let details = json!({
        "UserDetailList": [
            user(&tagged, &u1, json!([{"Key": "owner", "Value": p.email}, {"Key": "purpose", "Value": "sandbox experiments"}])),
            user(bot, &u2, json!([{"Key": "owner", "Value": other.email}, {"Key": "managed-by", "Value": "terraform"}])),
        ],
        "GroupDetailList": [],
        "RoleDetailList": [{"Path": "/", "RoleName": role, "RoleId": role_id, "Arn": format!("arn:aws:iam::{acct}:role/{role}"),
            "CreateDate": aws_time(created, 40_000),
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
            "InstanceProfileList": [], "RolePolicyList": [],
            "AttachedManagedPolicies": [{"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}],
            "Tags": [], "RoleLastUsed": {}}],
        "Policies": []
    });
    w.json(
        &format!("aws/{acct}/authorization-details.json"),
        &details,
        true,
    )?;
    let meta = |user: &str, keys: &[(&str, i64)]| {
        json!({"AccessKeyMetadata": keys.iter().map(|(k, d)| json!({"UserName": user, "AccessKeyId": k,
            "Status": "Active", "CreateDate": aws_time(left - Duration::days(*d), 50_000)})).collect::<Vec<_>>()})
    };
    let docs = [
        meta(&tagged, &[(&k1, 380), (&k2, 90)]),
        meta(bot, &[(&k3, 300)]),
    ];
    w.json_docs(&format!("aws/{acct}/access-keys.json"), &docs, true)?;
    let mut report = String::from(crate::aws::REPORT_HEADER);
    for (name, keys) in [(&tagged, vec![380, 90]), (&bot.to_string(), vec![300])] {
        let rot = |i: usize| {
            keys.get(i).map_or("N/A".into(), |d| {
                aws_time(left - Duration::days(*d), 50_000)
            })
        };
        let on = |i: usize| if i < keys.len() { "true" } else { "false" };
        report.push_str(&format!(
            "{name},arn:aws:iam::{acct}:user/{name},{},false,N/A,N/A,N/A,false,{},{},N/A,N/A,N/A,{},{},N/A,N/A,N/A,false,N/A,false,N/A\n",
            aws_time(created, 36_000), on(0), rot(0), on(1), rot(1)
        ));
    }
    w.text(&format!("aws/{acct}/credential-report.csv"), &report)?;

    // Google Cloud: a service account and key only Terraform knows about.
    let sa = format!("sandbox-etl@{PROJECT}.iam.gserviceaccount.com");
    let sa_key = rng.hex(40);
    let base = format!("gcp/projects/{PROJECT}");
    w.json(
        &format!("{base}/service-accounts.json"),
        &json!([{
        "name": format!("projects/{PROJECT}/serviceAccounts/{sa}"), "projectId": PROJECT,
        "uniqueId": "104729301846215573921", "email": sa, "displayName": "sandbox ETL",
        "etag": "MDEwMjE5MjA=", "oauth2ClientId": "104729301846215573921"}]),
        false,
    )?;
    w.json(&format!("{base}/service-accounts/{sa}/keys.json"), &json!([{
        "keyAlgorithm": "KEY_ALG_RSA_2048", "keyOrigin": "GOOGLE_PROVIDED", "keyType": "USER_MANAGED",
        "name": format!("projects/{PROJECT}/serviceAccounts/{sa}/keys/{sa_key}"),
        "validAfterTime": format!("{}T10:00:00Z", left - Duration::days(200)), "validBeforeTime": "9999-12-31T23:59:59Z"}]), false)?;

    // Vault: the AppRole secret-id the leaver minted for the sandbox.
    let accessor = "0b7c9e2a-41f5-4c8e-a9d3-6f1e2b4c8a71";
    let role_path = "vault/auth/approle/role/platform-sandbox";
    w.json(&format!("{role_path}.json"), &json!({"request_id": "2d6f0a4e-8b1c-4e3f-9a7d-5c2b1e0f4a63", "lease_id": "", "lease_duration": 0, "renewable": false,
        "data": {"bind_secret_id": true, "secret_id_bound_cidrs": null, "secret_id_num_uses": 0, "secret_id_ttl": 0,
            "token_policies": ["platform-sandbox"], "token_ttl": 3600, "token_max_ttl": 0, "token_type": "default"}, "warnings": null}), false)?;
    w.json(
        &format!("{role_path}/secret-id.json"),
        &json!([accessor]),
        false,
    )?;
    w.json(&format!("{role_path}/secret-id/{accessor}.json"), &json!({"request_id": "7a3e9c1b-2d4f-4a6e-8b0c-1f5d3e7a9b24", "lease_id": "", "lease_duration": 0, "renewable": false,
        "data": {"cidr_list": [], "creation_time": format!("{}T09:12:44.318Z", left - Duration::days(150)),
            "expiration_time": "0001-01-01T00:00:00Z", "last_updated_time": format!("{}T09:12:44.318Z", left - Duration::days(150)),
            "metadata": {"created_by": p.email, "purpose": "sandbox terraform runs"},
            "secret_id_accessor": accessor, "secret_id_num_uses": 0, "secret_id_ttl": 0, "token_bound_cidrs": []}, "warnings": null}), false)?;

    // Terraform: the state of the sandbox root module (the key's secret is
    // PGP-encrypted, as the provider does when `pgp_key` is set)…
    let provider = |p: &str| format!("provider[\"registry.terraform.io/hashicorp/{p}\"]");
    let res = |kind: &str, name: &str, prov: &str, attrs: Value| {
        json!({"mode": "managed", "type": kind, "name": name, "provider": provider(prov),
            "instances": [{"schema_version": 0, "attributes": attrs, "sensitive_attributes": [], "private": "bnVsbA=="}]})
    };
    let state = json!({"version": 4, "terraform_version": "1.7.5", "serial": 41, "lineage": "3f0c6a1e-9b2d-4e7f-8a5c-1d3e5f7a9b0c", "outputs": {},
        "resources": [
            res("aws_iam_user", "ingest_bot", "aws", json!({"arn": format!("arn:aws:iam::{acct}:user/{bot}"), "id": bot, "name": bot, "path": "/",
                "force_destroy": false, "permissions_boundary": null, "tags": {"owner": other.email, "managed-by": "terraform"},
                "tags_all": {"owner": other.email, "managed-by": "terraform"}, "unique_id": u2})),
            res("aws_iam_access_key", "ingest_bot", "aws", json!({"create_date": aws_time(left - Duration::days(300), 50_000),
                "encrypted_secret": "wcBMA1leaverPGPblob0000", "encrypted_ses_smtp_password_v4": "wcBMA1leaverPGPblob0001",
                "id": k3, "key_fingerprint": "4F2A9C01", "pgp_key": "keybase:robin", "secret": null, "ses_smtp_password_v4": null,
                "status": "Active", "user": bot})),
            res("aws_iam_role", "lambda_exec", "aws", json!({"arn": format!("arn:aws:iam::{acct}:role/{role}"), "id": role, "name": role,
                "path": "/", "unique_id": role_id, "tags": {}, "tags_all": {}})),
            res("google_service_account", "etl", "google", json!({"account_id": "sandbox-etl", "display_name": "sandbox ETL", "email": sa,
                "id": format!("projects/{PROJECT}/serviceAccounts/{sa}"), "name": format!("projects/{PROJECT}/serviceAccounts/{sa}"),
                "project": PROJECT, "unique_id": "104729301846215573921"})),
            res("google_service_account_key", "etl", "google", json!({"id": format!("projects/{PROJECT}/serviceAccounts/{sa}/keys/{sa_key}"),
                "name": format!("projects/{PROJECT}/serviceAccounts/{sa}/keys/{sa_key}"), "key_algorithm": "KEY_ALG_RSA_2048",
                "private_key": null, "public_key_type": "TYPE_X509_PEM_FILE", "service_account_id": sa,
                "valid_after": format!("{}T10:00:00Z", left - Duration::days(200))})),
        ], "check_results": null});
    w.json("terraform/sandbox/terraform.tfstate", &state, false)?;

    // …and the code, whose history says who wrote it.
    let main_tf = format!(
        "terraform {{\n  backend \"s3\" {{\n    bucket = \"northwind-terraform-state\"\n    key    = \"sandbox/terraform.tfstate\"\n    region = \"us-east-1\"\n  }}\n}}\n\nresource \"aws_iam_user\" \"ingest_bot\" {{\n  name = \"{bot}\"\n  tags = {{\n    owner        = \"{}\"\n    \"managed-by\" = \"terraform\"\n  }}\n}}\n\nresource \"aws_iam_access_key\" \"ingest_bot\" {{\n  user    = aws_iam_user.ingest_bot.name\n  pgp_key = \"keybase:robin\"\n}}\n\nresource \"aws_iam_role\" \"lambda_exec\" {{\n  name               = \"{role}\"\n  assume_role_policy = data.aws_iam_policy_document.lambda.json\n}}\n",
        other.email
    );
    let gcp_v1 = format!("resource \"google_service_account\" \"etl\" {{\n  project      = \"{PROJECT}\"\n  account_id   = \"sandbox-etl\"\n  display_name = \"sandbox ETL\"\n}}\n\nresource \"google_service_account_key\" \"etl\" {{\n  service_account_id = google_service_account.etl.name\n}}\n");
    let gcp_v2 = gcp_v1.replace(
        "display_name = \"sandbox ETL\"",
        "display_name = \"sandbox ETL (nightly)\"",
    );
    let gh_id = 10_000_000 + leaver;
    let noreply = format!("{gh_id}+{github_login}@users.noreply.github.com");
    let who = (format!("{} {}", p.first, p.last), noreply);
    let colleague_who = (
        format!("{} {}", other.first, other.last),
        other.email.clone(),
    );
    let start = (left - Duration::days(420))
        .and_hms_opt(10, 0, 0)
        .unwrap_or_default()
        .and_utc()
        .timestamp();
    // The manager's team reviews every change (CODEOWNERS): team evidence
    // beside the leaver's authorship, which still decides.
    let owning_team = p
        .manager
        .and_then(|m| org.people[m].team)
        .map(|t| org.teams[t].name.as_str())
        .unwrap_or("platform");
    let codeowners = format!(
        "# The sandbox is reviewed by the team that runs it.\n*  @{}/{owning_team}\n",
        crate::surfaces::org_slug(&org.domain)
    );
    let commits = [
        crate::git::Commit {
            author: (&who.0, &who.1),
            time: start,
            message: "sandbox: ingest bot, lambda role, ETL service account",
            changes: vec![
                (".github/CODEOWNERS", Some(codeowners)),
                (
                    "README.md",
                    Some(
                        "# infra-sandbox\n\nThe platform team's sandbox account and project.\n"
                            .into(),
                    ),
                ),
                ("sandbox/main.tf", Some(main_tf)),
                ("sandbox/gcp.tf", Some(gcp_v1)),
            ],
        },
        crate::git::Commit {
            author: (&colleague_who.0, &colleague_who.1),
            time: start + 40 * 86_400,
            message: "sandbox: name the ETL account after its schedule",
            changes: vec![("sandbox/gcp.tf", Some(gcp_v2))],
        },
    ];
    crate::git::write_repo(
        w,
        "repos/infra-sandbox.git",
        "https://github.com/northwind-labs/infra-sandbox.git",
        &commits,
    )?;

    let mut nhis: Vec<(String, &str)> = vec![
        (format!("arn:aws:iam::{acct}:user/{tagged}"), "owner tag"),
        (format!("aws-access-key:{k1}"), "its user's owner tag"),
        (format!("aws-access-key:{k2}"), "its user's owner tag"),
        (
            format!("arn:aws:iam::{acct}:user/{bot}"),
            "added its Terraform code; the owner tag names a colleague (conflict)",
        ),
        (
            format!("aws-access-key:{k3}"),
            "added its Terraform code; its user's tag names a colleague (conflict)",
        ),
        (
            format!("arn:aws:iam::{acct}:role/{role}"),
            "only the Terraform commit that added it",
        ),
        (
            sa.clone(),
            "only the Terraform commit that added it (a colleague edited the file later)",
        ),
        (
            format!("id:gcp-sa-key/{sa_key}"),
            "only the Terraform commit that added it",
        ),
        (
            format!("id:vault-secret-id/{accessor}"),
            "secret-id metadata created_by",
        ),
    ];
    if let Some(c) = cluster {
        nhis.push((
            format!("k8s:{c}/{NAMESPACE}/sandbox-ci"),
            "owner annotation",
        ));
        nhis.push((
            format!("id:k8s-sa-token/{c}/{NAMESPACE}/sandbox-ci-token"),
            "its service account's owner annotation",
        ));
    }
    nhis.extend(also.iter().cloned());
    let mut owners = Vec::new();
    for (k, _) in &nhis {
        let owner = if k.ends_with(&format!("user/{bot}")) || *k == format!("aws-access-key:{k3}") {
            format!("person:{}", other.email)
        } else {
            format!("person:{}", p.email)
        };
        owners.push((k.clone(), owner));
    }
    let systems: std::collections::BTreeSet<&str> = nhis
        .iter()
        .map(|(k, _)| match k.split(['/', ':']).next().unwrap_or("") {
            "arn" | "aws-access-key" => "aws",
            "k8s" => "kubernetes",
            "id" if k.starts_with("id:k8s") => "kubernetes",
            "id" if k.starts_with("id:gcp") => "gcp",
            "id" if k.starts_with("id:vault") => "vault",
            "id" if k.starts_with("id:okta") => "okta",
            "id" if k.starts_with("id:github") => "github",
            _ if k.ends_with(".iam.gserviceaccount.com") => "gcp",
            _ => "other",
        })
        .collect();
    let answer = json!({
        "email": p.email,
        "terminated_on": left.to_string(),
        "manager": p.manager.map(|m| org.people[m].email.clone()),
        "colleague": other.email,
        "github_login": github_login,
        "systems": systems,
        "identities": nhis.iter().map(|(k, why)| json!({"identity": k, "evidence": why})).collect::<Vec<_>>(),
        "why": "the leaver's identities across six systems: tags, owner fields, metadata, and code only git history attributes (commits from a GitHub noreply address that SAML joins to the person)",
        "requires": "custody ingest of the snapshot and custody scan --git --ingest of repos/",
    });
    Ok(LeaverOut {
        answer,
        owners,
        access_keys: [k1, k2, k3]
            .iter()
            .map(|k| format!("aws-access-key:{k}"))
            .collect(),
    })
}
