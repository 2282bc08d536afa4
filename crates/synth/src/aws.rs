//! AWS: one account per slice of engineering teams, each exported as
//! `get-account-authorization-details`, the credential report CSV, and
//! `list-access-keys` for every user. Key ids appear only in the last, as in AWS.

use crate::account::Account;
use crate::names::{COMPONENTS, ENVS, TEAM_WORDS};
use crate::people::Org;
use crate::resources;
use crate::rng::Rng;
use crate::write::Writer;
use crate::SynthError;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};

pub struct AwsOut {
    pub accounts: usize,
    pub nhis: BTreeMap<String, usize>,
    pub scenarios: Vec<Value>,
    pub terminated_owner_active_keys: Vec<String>,
    /// Planted reachability answers: from an access key, is a resource reachable,
    /// at what access level, through which principals.
    pub reachability: Vec<Value>,
    /// Every access key with who holds it, for the audit logs (`cloudtrail.rs`).
    pub(crate) key_uses: Vec<KeyUse>,
    /// Planted posture cases: per rule, what must be found and what must not.
    pub posture: BTreeMap<String, Value>,
    /// Per rule, every identity it must find across the enterprise (rules whose
    /// answer the generator knows exactly: AWS access keys and roles).
    pub posture_exact: BTreeMap<String, Value>,
    /// Secrets Manager secrets to write (`get-secret-value` output): the
    /// environment-isolation case keeps one key in a prod and a staging secret.
    pub(crate) secret_values: Vec<(String, Value)>,
    /// The planted cross-cloud chain's AWS end: the deploy role a GitHub
    /// workflow assumes through OIDC, which Google Cloud trusts in turn.
    pub(crate) federation: Option<Value>,
    /// EKS clusters and the IRSA service accounts their roles trust, for the
    /// Kubernetes exports: (account, cluster, [(namespace, account, role ARN)]).
    pub(crate) clusters: Vec<Cluster>,
    /// Who the generator made accountable for each identity (natural key →
    /// `person:<e-mail>`, `team:<name>` or `none`), for scoring attribution.
    pub(crate) owners: Vec<(String, String)>,
}

/// An EKS cluster: its account, its name, and (namespace, service account,
/// role ARN) of each IRSA role that trusts it.
pub(crate) type Cluster = (String, String, Vec<(String, String, String)>);

impl AwsOut {
    /// Adds an identity a rule must find on the whole enterprise (exact sets in
    /// `expected.posture_exact`).
    fn expected_rule(&mut self, rule: &str, identity: String) {
        let e = self
            .posture_exact
            .entry(rule.to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = e {
            items.push(Value::String(identity));
        }
    }
}

/// An access key as the audit-log generator needs it.
pub(crate) struct KeyUse {
    pub(crate) id: String,
    pub(crate) account: String,
    pub(crate) user_name: String,
    pub(crate) user_id: String,
    pub(crate) created: DateTime<Utc>,
    pub(crate) active: bool,
    /// As the credential report says: time, region, service.
    pub(crate) last_used: Option<(DateTime<Utc>, &'static str, &'static str)>,
    /// The person the user's `owner` tag names (service users only).
    pub(crate) owner: Option<usize>,
    /// A person's own IAM user.
    pub(crate) human: bool,
    /// The person whose user it is or whom its `owner` tag names: who
    /// creates its keys (through the account's Identity Center admin role).
    pub(crate) holder: Option<usize>,
    /// The account's IAM Identity Center administrator role, if it has one.
    pub(crate) sso_admin: Option<String>,
}

/// The planted leaver: a team member who left at least 30 days ago.
pub fn choose_planted(org: &mut Org) -> usize {
    let as_of = org.as_of;
    let found = (0..org.people.len()).find(|&i| {
        let p = &org.people[i];
        p.team.is_some() && p.terminated.is_some_and(|t| (as_of - t).num_days() >= 30)
    });
    match found {
        Some(i) => i,
        None => {
            // Small enterprises may have no such leaver: make one.
            let i = (1..org.people.len())
                .rev()
                .find(|&i| {
                    org.people[i].team.is_some() && org.people[i].title != "Engineering Manager"
                })
                .unwrap_or(1);
            org.people[i].terminated = Some(as_of - Duration::days(45));
            i
        }
    }
}

fn aws_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

fn at(d: NaiveDate, rng: &mut Rng) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() + Duration::seconds(rng.range(0, 86_400))
}

const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-1",
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-2",
];
const KEY_SERVICES: &[&str] = &[
    "s3",
    "sts",
    "dynamodb",
    "sqs",
    "secretsmanager",
    "ec2",
    "lambda",
    "kms",
    "ssm",
    "ecr",
];

const AWS_MANAGED: &[(&str, &str, &str)] = &[
    (
        "AdministratorAccess",
        "ANPAIWMBCKSKIEE64ZLYK",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    ),
    (
        "ReadOnlyAccess",
        "ANPAILL3HVNFSB6DCOWYQ",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*","ec2:Describe*","iam:Get*","iam:List*","dynamodb:Describe*","dynamodb:List*","lambda:Get*","lambda:List*","rds:Describe*"],"Resource":"*"}]}"#,
    ),
    (
        "PowerUserAccess",
        "ANPAJYRXTHIB4FOVS3ZXS",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:*","organizations:*","account:*"],"Resource":"*"},{"Effect":"Allow","Action":["iam:CreateServiceLinkedRole","iam:DeleteServiceLinkedRole","iam:ListRoles","organizations:DescribeOrganization","account:ListRegions"],"Resource":"*"}]}"#,
    ),
    (
        "AmazonS3FullAccess",
        "ANPAIFIR6V6BVTRAHWINE",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","s3-object-lambda:*"],"Resource":"*"}]}"#,
    ),
    (
        "AmazonS3ReadOnlyAccess",
        "ANPAIZTJ4DXE7G6AGAE6M",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*","s3-object-lambda:Get*","s3-object-lambda:List*"],"Resource":"*"}]}"#,
    ),
    (
        "AmazonDynamoDBFullAccess",
        "ANPAINUGF2JSOSUY76KYA",
        r#"{"Version":"2012-10-17","Statement":[{"Action":["dynamodb:*","dax:*","application-autoscaling:*","cloudwatch:*","iam:GetRole","iam:ListRoles","kms:DescribeKey","kms:ListAliases","sns:*","lambda:*"],"Effect":"Allow","Resource":"*"}]}"#,
    ),
    (
        "SecretsManagerReadWrite",
        "ANPAIEBZGAP6ZMUWDXQJQ",
        r#"{"Version":"2012-10-17","Statement":[{"Action":["secretsmanager:*","kms:DescribeKey","kms:ListAliases","kms:ListKeys","tag:GetResources"],"Effect":"Allow","Resource":"*"}]}"#,
    ),
    (
        "AmazonSSMManagedInstanceCore",
        "ANPAIXSHM2BNB2D3AXXRU",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ssm:DescribeAssociation","ssm:GetDocument","ssm:UpdateInstanceInformation","ssmmessages:CreateControlChannel","ssmmessages:OpenDataChannel","ec2messages:GetMessages"],"Resource":"*"}]}"#,
    ),
    (
        "CloudWatchLogsFullAccess",
        "ANPAJ3ZGNWK2R5HW5BQFO",
        r#"{"Version":"2012-10-17","Statement":[{"Action":["logs:*","cloudwatch:GenerateQuery"],"Effect":"Allow","Resource":"*"}]}"#,
    ),
    (
        "IAMFullAccess",
        "ANPAI7XKCFMBPM3QQRRVQ",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","organizations:DescribeAccount","organizations:DescribeOrganization","organizations:ListAccounts"],"Resource":"*"}]}"#,
    ),
];
const SERVICE_POLICY: &[(&str, &str)] = &[
    ("AWSLambdaBasicExecutionRole", "service-role/"),
    ("AmazonECSTaskExecutionRolePolicy", "service-role/"),
];

const SERVICE_LINKED: &[(&str, &str)] = &[
    ("AWSServiceRoleForSupport", "support.amazonaws.com"),
    (
        "AWSServiceRoleForTrustedAdvisor",
        "trustedadvisor.amazonaws.com",
    ),
    (
        "AWSServiceRoleForOrganizations",
        "organizations.amazonaws.com",
    ),
    (
        "AWSServiceRoleForElasticLoadBalancing",
        "elasticloadbalancing.amazonaws.com",
    ),
    ("AWSServiceRoleForRDS", "rds.amazonaws.com"),
    ("AWSServiceRoleForECS", "ecs.amazonaws.com"),
    ("AWSServiceRoleForAutoScaling", "autoscaling.amazonaws.com"),
    ("AWSServiceRoleForCloudTrail", "cloudtrail.amazonaws.com"),
    ("AWSServiceRoleForSSO", "sso.amazonaws.com"),
];

fn managed_arn(name: &str) -> String {
    match SERVICE_POLICY.iter().find(|(n, _)| *n == name) {
        Some((n, path)) => format!("arn:aws:iam::aws:policy/{path}{n}"),
        None => format!("arn:aws:iam::aws:policy/{name}"),
    }
}

fn service_trust(service: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})
}

fn tags(pairs: &[(&str, String)]) -> Value {
    Value::Array(
        pairs
            .iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect(),
    )
}

struct Key {
    id: String,
    created: DateTime<Utc>,
    active: bool,
    last_used: Option<(DateTime<Utc>, &'static str, &'static str)>,
}

impl Account<'_> {
    fn when(&self, rng: &mut Rng, min_days: i64, max_days: i64) -> DateTime<Utc> {
        at(
            self.as_of - Duration::days(rng.range(min_days, max_days)),
            rng,
        )
    }
}

fn new_key(rng: &mut Rng, as_of: NaiveDate, not_before: NaiveDate, second: bool) -> Key {
    let span = (as_of - not_before).num_days().max(2);
    let created = at(as_of - Duration::days(rng.range(1, span)), rng);
    let active = if second {
        rng.chance(0.5)
    } else {
        rng.chance(0.92)
    };
    let roll = rng.below(100);
    let days_old = (as_of - created.date_naive()).num_days().max(1);
    let last_used = if roll < 78 || !active && roll < 90 {
        let ago = if active && roll < 66 {
            rng.range(0, 30.min(days_old))
        } else {
            rng.range(0, days_old)
        };
        let t = at(as_of - Duration::days(ago), rng).max(created + Duration::hours(1));
        Some((t, *rng.pick(REGIONS), *rng.pick(KEY_SERVICES)))
    } else {
        None
    };
    Key {
        id: rng.aws_id("AKIA", 16),
        created,
        active,
        last_used,
    }
}

fn report_row(
    user: &str,
    arn: &str,
    created: DateTime<Utc>,
    human: Option<(DateTime<Utc>, bool)>,
    keys: &[Key],
) -> String {
    let na = "N/A".to_string();
    let mut f: Vec<String> = vec![user.into(), arn.into(), aws_time(created)];
    match human {
        Some((last, mfa)) => {
            f.extend([
                "true".into(),
                aws_time(last),
                aws_time(created + Duration::minutes(5)),
                na.clone(),
                mfa.to_string(),
            ]);
        }
        None => f.extend([
            "false".into(),
            na.clone(),
            na.clone(),
            na.clone(),
            "false".into(),
        ]),
    }
    for slot in 0..2 {
        match keys.get(slot) {
            Some(k) => {
                f.push(k.active.to_string());
                f.push(aws_time(k.created));
                match &k.last_used {
                    Some((t, region, service)) => {
                        f.extend([aws_time(*t), region.to_string(), service.to_string()])
                    }
                    None => f.extend([na.clone(), na.clone(), na.clone()]),
                }
            }
            None => f.extend([
                "false".into(),
                na.clone(),
                na.clone(),
                na.clone(),
                na.clone(),
            ]),
        }
    }
    f.extend(["false".into(), na.clone(), "false".into(), na]);
    f.join(",") + "\n"
}

pub(crate) const REPORT_HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n";

pub fn write(w: &mut Writer, rng: &mut Rng, org: &Org) -> Result<AwsOut, SynthError> {
    let n_accounts = (org.people.len() / 20).max(2);
    let per_account = org.people.len() as f64 / n_accounts as f64;
    let planted_person = (0..org.people.len()).find(|&i| {
        let p = &org.people[i];
        p.team.is_some()
            && p.terminated
                .is_some_and(|t| (org.as_of - t).num_days() >= 30)
    });
    let mut out = AwsOut {
        accounts: n_accounts,
        nhis: BTreeMap::new(),
        scenarios: Vec::new(),
        terminated_owner_active_keys: Vec::new(),
        reachability: Vec::new(),
        key_uses: Vec::new(),
        posture: BTreeMap::new(),
        posture_exact: BTreeMap::new(),
        secret_values: Vec::new(),
        federation: None,
        clusters: Vec::new(),
        owners: Vec::new(),
    };
    let account_ids: Vec<String> = (0..n_accounts).map(|_| rng.digits(12)).collect();
    let planted_team = planted_person.and_then(|p| org.people[p].team);
    let mut planted_done = false;
    let team_of = |a: usize| (!org.teams.is_empty()).then(|| a % org.teams.len());
    let planted_account =
        (0..n_accounts).find(|&a| team_of(a) == planted_team && planted_person.is_some());
    // Every seventh account is a sandbox under an SCP that denies reading secrets.
    let sandbox: Vec<String> = (0..n_accounts)
        .filter(|&a| a % 7 == 3 && Some(a) != planted_account)
        .map(|a| account_ids[a].clone())
        .collect();
    let mut sandbox_planted = false;
    for (a, account_id) in account_ids.iter().enumerate() {
        let team = if org.teams.is_empty() {
            None
        } else {
            Some(a % org.teams.len())
        };
        let team_name = team
            .map(|t| org.teams[t].name.clone())
            .unwrap_or_else(|| "platform".into());
        let members: Vec<usize> = team
            .map(|t| org.teams[t].members.clone())
            .unwrap_or_else(|| (0..org.people.len()).collect());
        let mut acct = Account {
            id: account_id.clone(),
            as_of: org.as_of,
            org,
            names: HashSet::new(),
            users: Vec::new(),
            roles: Vec::new(),
            groups: Vec::new(),
            policies: Vec::new(),
            attached: BTreeMap::new(),
            report: String::from(REPORT_HEADER),
            key_docs: Vec::new(),
            buckets: Vec::new(),
            secret_prefixes: Vec::new(),
            lambda_roles: Vec::new(),
            instance_roles: Vec::new(),
            eks_issuer: None,
            irsa: Vec::new(),
            team: team_name.clone(),
            members: members.clone(),
            sso_admin: None,
        };
        let account_created = acct.when(rng, 1500, 3000);
        // The planted leaver's account also has an active root access key (in
        // the credential report, the only export that shows root keys).
        let root_key = if Some(a) == planted_account {
            let made = acct.when(rng, 700, 1200);
            let used = acct.when(rng, 1, 20);
            *out.nhis.entry("aws_access_key".into()).or_default() += 1;
            format!("true,{},{},us-east-1,iam", aws_time(made), aws_time(used))
        } else {
            "false,N/A,N/A,N/A,N/A".to_string()
        };
        acct.report.push_str(&format!(
            "<root_account>,arn:aws:iam::{account_id}:root,{},not_supported,{},not_supported,not_supported,true,{root_key},false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n",
            aws_time(account_created),
            aws_time(acct.when(rng, 30, 400)),
        ));
        let customer_policies = customer_policies(&mut acct, rng, &team_name);
        groups(&mut acct, rng, &customer_policies);
        let n_roles = (per_account * 28.0).round() as usize;
        roles(
            &mut acct,
            rng,
            &team_name,
            &members,
            &account_ids,
            n_roles,
            &customer_policies,
            &mut out,
        );
        let n_users = (per_account * 6.0).round().max(1.0) as usize;
        users(
            &mut acct,
            rng,
            &team_name,
            &members,
            n_users,
            &customer_policies,
            &mut out,
        );
        let mut chain = None;
        if !planted_done && team == planted_team {
            if let Some(p) = planted_person {
                let leaver_key = plant(&mut acct, rng, p, &team_name, &mut out);
                chain = Some((leaver_key, plant_reachability(&mut acct, rng, &mut out)));
                plant_posture(&mut acct, rng, &account_ids, &mut out);
                plant_federation(&mut acct, rng, &mut out);
                planted_done = true;
            }
        }
        let mut sandbox_admin = None;
        if !sandbox_planted && sandbox.contains(account_id) {
            sandbox_admin = Some(plant_sandbox_admin(&mut acct, rng, &mut out));
            sandbox_planted = true;
        }
        // AWS managed policies attached in this account appear in `Policies` too.
        let mut managed: Vec<Value> = Vec::new();
        for (arn, count) in &acct.attached {
            if let Some(name) = arn.strip_prefix("arn:aws:iam::aws:policy/") {
                let short = name.rsplit('/').next().unwrap_or(name);
                let doc = AWS_MANAGED
                    .iter()
                    .find(|(n, _, _)| *n == short)
                    .map(|(_, _, d)| serde_json::from_str::<Value>(d).unwrap_or(Value::Null))
                    .unwrap_or_else(|| json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}]}));
                let id = AWS_MANAGED
                    .iter()
                    .find(|(n, _, _)| *n == short)
                    .map(|(_, id, _)| id.to_string())
                    .unwrap_or_else(|| rng.aws_id("ANPA", 17));
                let path = if name.contains('/') {
                    "/service-role/"
                } else {
                    "/"
                };
                managed.push(json!({
                    "PolicyName": short, "PolicyId": id, "Arn": arn, "Path": path, "DefaultVersionId": "v1",
                    "AttachmentCount": count, "PermissionsBoundaryUsageCount": 0, "IsAttachable": true,
                    "CreateDate": "2015-02-06T18:39:46+00:00", "UpdateDate": "2015-02-06T18:39:46+00:00",
                    "PolicyVersionList": [{"Document": doc, "VersionId": "v1", "IsDefaultVersion": true, "CreateDate": "2015-02-06T18:39:46+00:00"}]
                }));
            }
        }
        for p in acct.policies.iter_mut() {
            let arn = p["Arn"].as_str().unwrap_or_default().to_string();
            p["AttachmentCount"] = json!(acct.attached.get(&arn).copied().unwrap_or(0));
        }
        let mut policies = std::mem::take(&mut acct.policies);
        policies.extend(managed);
        let doc = json!({
            "UserDetailList": acct.users,
            "GroupDetailList": acct.groups,
            "RoleDetailList": acct.roles,
            "Policies": policies,
        });
        w.json(
            &format!("aws/{account_id}/authorization-details.json"),
            &doc,
            true,
        )?;
        w.text(
            &format!("aws/{account_id}/credential-report.csv"),
            &acct.report,
        )?;
        w.json_docs(
            &format!("aws/{account_id}/access-keys.json"),
            &acct.key_docs,
            true,
        )?;
        let inv = resources::write(w, rng, &acct, &account_ids)?;
        if acct.eks_issuer.is_some() {
            // The cluster `resources` describes, and the IRSA accounts its roles trust.
            out.clusters.push((
                acct.id.clone(),
                format!("{}-prod", acct.team),
                std::mem::take(&mut acct.irsa),
            ));
        }
        let other_bucket = acct.buckets.first().map(|b| format!("arn:aws:s3:::{b}"));
        let lake = format!("arn:aws:s3:::{}", inv.data_lake);
        let answer = |id: &str,
                      key: &str,
                      resource: &str,
                      access: Option<&str>,
                      via: Vec<String>,
                      why: &str| {
            json!({"id": id, "access_key_id": key, "resource": resource, "reachable": access.is_some(),
                   "access": access, "via": via, "why": why})
        };
        if let Some((leaver_key, c)) = chain {
            out.reachability.push(answer("role-chain-to-restricted-secret", &c.chain_key, &inv.restricted_secret,
                Some("Permissions management"), vec![c.chain_user.clone(), c.role.clone()],
                "the CI user may assume a role (its trust policy names the user) that has AdministratorAccess"));
            out.reachability.push(answer(
                "explicit-deny-overrides-allow",
                &c.deny_key,
                &lake,
                None,
                vec![c.deny_user.clone()],
                "AmazonS3FullAccess allows s3:*, but an inline policy denies s3:* on the data lake",
            ));
            if let Some(b) = &other_bucket {
                out.reachability.push(answer("deny-is-scoped-to-its-resource", &c.deny_key, b,
                    Some("Permissions management"), vec![c.deny_user.clone()],
                    "the same user's AmazonS3FullAccess still reaches the team's other buckets (s3:PutBucketPolicy)"));
            }
            if let Some(k) = leaver_key {
                out.reachability.push(answer("leaver-key-reaches-data-lake", &k, &lake, Some("Permissions management"),
                    vec![], "the terminated owner's export key has AmazonS3FullAccess in the data lake's account"));
            }
        }
        if let Some((key, user)) = sandbox_admin {
            if let Some(secret) = inv.secrets.first() {
                out.reachability.push(answer("scp-denies-secret-read", &key, secret, None, vec![user.clone()],
                    "AdministratorAccess allows it, but the Sandbox OU's SCP denies secretsmanager:*"));
            }
            if let Some(b) = &other_bucket {
                out.reachability.push(answer(
                    "scp-leaves-other-services",
                    &key,
                    b,
                    Some("Permissions management"),
                    vec![user],
                    "the sandbox SCP denies only secrets and decryption",
                ));
            }
        }
    }
    resources::organization(w, rng, &account_ids, &sandbox)?;
    Ok(out)
}

fn customer_policies(acct: &mut Account<'_>, rng: &mut Rng, team: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for i in 0..12 {
        let word = if i < 4 {
            team.to_string()
        } else {
            rng.pick(TEAM_WORDS).to_string()
        };
        let name = acct.unique(format!("{word}-{}-access", rng.pick(COMPONENTS)));
        let arn = format!("arn:aws:iam::{}:policy/{name}", acct.id);
        // Bucket names are global: the account id keeps them unique, as real companies do.
        let bucket = format!("northwind-{word}-{}-{}", rng.pick(ENVS), acct.id);
        if !acct.buckets.contains(&bucket) {
            acct.buckets.push(bucket.clone());
        }
        if !acct.secret_prefixes.contains(&word) {
            acct.secret_prefixes.push(word.clone());
        }
        let doc = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "Data", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
             "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")]},
            {"Sid": "Queue", "Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"],
             "Resource": format!("arn:aws:sqs:us-east-1:{}:{word}-*", acct.id)},
            {"Sid": "Secrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
             "Resource": format!("arn:aws:secretsmanager:us-east-1:{}:secret:{word}/*", acct.id)}
        ]});
        let created = acct.when(rng, 200, 1500);
        acct.policies.push(json!({
            "PolicyName": name, "PolicyId": rng.aws_id("ANPA", 17), "Arn": arn, "Path": "/", "DefaultVersionId": "v2",
            "AttachmentCount": 0, "PermissionsBoundaryUsageCount": 0, "IsAttachable": true,
            "CreateDate": aws_time(created), "UpdateDate": aws_time(created + Duration::days(30)),
            "PolicyVersionList": [
                {"Document": doc, "VersionId": "v2", "IsDefaultVersion": true, "CreateDate": aws_time(created + Duration::days(30))},
                {"Document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}, "VersionId": "v1", "IsDefaultVersion": false, "CreateDate": aws_time(created)}
            ]
        }));
        out.push((arn, name));
    }
    out
}

fn groups(acct: &mut Account<'_>, rng: &mut Rng, customer: &[(String, String)]) {
    for (name, policy) in [
        ("admins", "AdministratorAccess"),
        ("developers", "PowerUserAccess"),
        ("readonly", "ReadOnlyAccess"),
        ("deployers", ""),
    ] {
        let mut attached = Vec::new();
        if !policy.is_empty() {
            attached.push(acct.attach(&managed_arn(policy), policy));
        } else {
            let (arn, n) = rng.pick(customer).clone();
            attached.push(acct.attach(&arn, &n));
        }
        let created = acct.when(rng, 1000, 1500);
        acct.groups.push(json!({
            "Path": "/", "GroupName": name, "GroupId": rng.aws_id("AGPA", 17),
            "Arn": format!("arn:aws:iam::{}:group/{name}", acct.id), "CreateDate": aws_time(created),
            "GroupPolicyList": [], "AttachedManagedPolicies": attached
        }));
    }
}

#[allow(clippy::too_many_arguments)]
fn roles(
    acct: &mut Account<'_>,
    rng: &mut Rng,
    team: &str,
    members: &[usize],
    accounts: &[String],
    n: usize,
    customer: &[(String, String)],
    out: &mut AwsOut,
) {
    let as_of = acct.as_of;
    let mut unpinned_roles = Vec::new();
    let mut push_role = |acct: &mut Account<'_>,
                         rng: &mut Rng,
                         path: &str,
                         name: String,
                         trust: Value,
                         attached: Vec<Value>,
                         inline: Vec<Value>,
                         tags_v: Value,
                         profile: bool,
                         kind: &str| {
        let created = acct.when(rng, 10, 1500);
        let last = if rng.chance(0.85) {
            json!({"LastUsedDate": aws_time(at(as_of - Duration::days(rng.range(0, 60)), rng).max(created)), "Region": rng.pick(REGIONS)})
        } else {
            json!({})
        };
        let arn = format!("arn:aws:iam::{}:role{path}{name}", acct.id);
        let profiles = if profile {
            json!([{"Path": "/", "InstanceProfileName": name, "InstanceProfileId": rng.aws_id("AIPA", 17),
                "Arn": format!("arn:aws:iam::{}:instance-profile/{name}", acct.id), "CreateDate": aws_time(created), "Roles": []}])
        } else {
            json!([])
        };
        acct.roles.push(json!({
            "Path": path, "RoleName": name, "RoleId": rng.aws_id("AROA", 17), "Arn": arn, "CreateDate": aws_time(created),
            "AssumeRolePolicyDocument": trust, "InstanceProfileList": profiles, "RolePolicyList": inline,
            "AttachedManagedPolicies": attached, "Tags": tags_v, "RoleLastUsed": last
        }));
        *out.nhis.entry(kind.to_string()).or_default() += 1;
    };
    for (name, service) in SERVICE_LINKED {
        let path = format!("/aws-service-role/{service}/");
        push_role(
            acct,
            rng,
            &path,
            name.to_string(),
            service_trust(service),
            vec![],
            vec![],
            json!([]),
            false,
            "aws_iam_service_linked_role",
        );
    }
    for set in [
        "AdministratorAccess",
        "ReadOnlyAccess",
        "PowerUserAccess",
        "Billing",
    ] {
        let name = format!("AWSReservedSSO_{set}_{}", rng.hex(16));
        if set == "AdministratorAccess" {
            acct.sso_admin = Some(format!(
                "arn:aws:iam::{}:role/aws-reserved/sso.amazonaws.com/{name}",
                acct.id
            ));
        }
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Federated": format!("arn:aws:iam::{}:saml-provider/AWSSSO_{}_DO_NOT_DELETE", acct.id, rng.hex(16))},
            "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"], "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}}]});
        let policy = if set == "Billing" {
            "ReadOnlyAccess"
        } else {
            set
        };
        let attached = vec![acct.attach(&managed_arn(policy), policy)];
        push_role(
            acct,
            rng,
            "/aws-reserved/sso.amazonaws.com/",
            name,
            trust,
            attached,
            vec![],
            json!([]),
            false,
            "aws_iam_role",
        );
    }
    let org_trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{}:root", accounts[0])}, "Action": "sts:AssumeRole"}]});
    let admin = vec![acct.attach(&managed_arn("AdministratorAccess"), "AdministratorAccess")];
    push_role(
        acct,
        rng,
        "/",
        "OrganizationAccountAccessRole".into(),
        org_trust,
        admin,
        vec![],
        json!([]),
        false,
        "aws_iam_role",
    );
    let fixed = SERVICE_LINKED.len() + 5;
    let eks_issuer = format!(
        "oidc.eks.us-east-1.amazonaws.com/id/{}",
        rng.hex(32).to_ascii_uppercase()
    );
    for _ in fixed..n.max(fixed) {
        let word = if rng.chance(0.6) {
            team.to_string()
        } else {
            rng.pick(TEAM_WORDS).to_string()
        };
        let comp = *rng.pick(COMPONENTS);
        let env = *rng.pick(ENVS);
        let flavour = rng.below(100);
        let mut unpinned = false;
        let (suffix, trust, profile) = match flavour {
            0..=29 => ("task", service_trust("ecs-tasks.amazonaws.com"), false),
            30..=54 => ("lambda", service_trust("lambda.amazonaws.com"), false),
            55..=66 => ("instance", service_trust("ec2.amazonaws.com"), true),
            67..=79 => {
                let sa = format!("{word}-{comp}");
                let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"Federated": format!("arn:aws:iam::{}:oidc-provider/{eks_issuer}", acct.id)},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {format!("{eks_issuer}:sub"): format!("system:serviceaccount:{word}:{sa}"), format!("{eks_issuer}:aud"): "sts.amazonaws.com"}}}]});
                ("irsa", trust, false)
            }
            80..=87 => {
                let mut cond = json!({"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}});
                // Some deploy roles trust every repository of the organisation: no `sub` pinning.
                if rng.chance(0.8) {
                    cond["StringLike"] = json!({"token.actions.githubusercontent.com:sub": format!("repo:northwind-labs/{word}-{comp}:ref:refs/heads/main")});
                } else {
                    unpinned = true;
                }
                let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"Federated": format!("arn:aws:iam::{}:oidc-provider/token.actions.githubusercontent.com", acct.id)},
                    "Action": "sts:AssumeRoleWithWebIdentity", "Condition": cond}]});
                ("github-deploy", trust, false)
            }
            88..=93 => {
                let other = rng.pick(accounts).clone();
                let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{other}:root")}, "Action": "sts:AssumeRole"}]});
                ("cross-account", trust, false)
            }
            _ => ("codebuild", service_trust("codebuild.amazonaws.com"), false),
        };
        let name = acct.unique(format!("{word}-{comp}-{env}-{suffix}"));
        let role_arn = format!("arn:aws:iam::{}:role/{name}", acct.id);
        if unpinned {
            unpinned_roles.push(role_arn.clone());
        }
        match suffix {
            "lambda" => acct.lambda_roles.push((name.clone(), role_arn)),
            "instance" => acct.instance_roles.push((name.clone(), role_arn)),
            "irsa" => {
                acct.eks_issuer = Some(eks_issuer.clone());
                acct.irsa
                    .push((word.clone(), format!("{word}-{comp}"), role_arn.clone()));
            }
            _ => {}
        }
        let mut attached = Vec::new();
        let (arn, pname) = rng.pick(customer).clone();
        attached.push(acct.attach(&arn, &pname));
        match suffix {
            "lambda" => attached.push(acct.attach(
                &managed_arn("AWSLambdaBasicExecutionRole"),
                "AWSLambdaBasicExecutionRole",
            )),
            "task" => attached.push(acct.attach(
                &managed_arn("AmazonECSTaskExecutionRolePolicy"),
                "AmazonECSTaskExecutionRolePolicy",
            )),
            "instance" => attached.push(acct.attach(
                &managed_arn("AmazonSSMManagedInstanceCore"),
                "AmazonSSMManagedInstanceCore",
            )),
            "github-deploy" if rng.chance(0.3) => attached
                .push(acct.attach(&managed_arn("AdministratorAccess"), "AdministratorAccess")),
            _ => {}
        }
        let inline = if rng.chance(0.2) {
            vec![
                json!({"PolicyName": "inline-extra", "PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"], "Resource": format!("arn:aws:dynamodb:us-east-1:{}:table/{word}-*", acct.id)}]}}),
            ]
        } else {
            vec![]
        };
        let mut t = vec![
            ("team", word.clone()),
            ("service", format!("{word}-{comp}")),
            ("env", env.to_string()),
        ];
        let role_arn = format!("arn:aws:iam::{}:role/{name}", acct.id);
        if rng.chance(0.5) && !members.is_empty() {
            let email = acct.org.people[*rng.pick(members)].email.clone();
            out.owners.push((role_arn, format!("person:{email}")));
            t.push(("owner", email));
        } else {
            out.owners.push((role_arn, format!("team:{word}")));
        }
        push_role(
            acct,
            rng,
            "/",
            name,
            trust,
            attached,
            inline,
            tags(&t),
            profile,
            "aws_iam_role",
        );
    }
    for arn in unpinned_roles {
        out.expected_rule("oidc-trust-without-subject", arn);
    }
}

#[allow(clippy::too_many_arguments)]
fn users(
    acct: &mut Account<'_>,
    rng: &mut Rng,
    team: &str,
    members: &[usize],
    n: usize,
    customer: &[(String, String)],
    out: &mut AwsOut,
) {
    let org = acct.org;
    for i in 0..n {
        let human = if i % 10 == 9 && !members.is_empty() {
            Some(*rng.pick(members))
        } else {
            None
        };
        let (name, owner) = match human {
            Some(p) => (
                acct.unique(
                    org.people[p]
                        .email
                        .split('@')
                        .next()
                        .unwrap_or("user")
                        .to_string(),
                ),
                Some(p),
            ),
            None => {
                let word = if rng.chance(0.6) {
                    team.to_string()
                } else {
                    rng.pick(TEAM_WORDS).to_string()
                };
                let base = if rng.chance(0.25) {
                    format!("ci-{word}-deployer")
                } else {
                    format!("svc-{word}-{}", rng.pick(COMPONENTS))
                };
                let owner = if rng.chance(0.7) && !members.is_empty() {
                    Some(*rng.pick(members))
                } else {
                    None
                };
                (acct.unique(base), owner)
            }
        };
        let mut t = vec![("team", team.to_string())];
        if let (Some(p), None) = (owner, human) {
            t.push(("owner", org.people[p].email.clone()));
        }
        let group = match human {
            Some(_) => *rng.pick(&["developers", "readonly", "admins"]),
            None => *rng.pick(&["deployers", "deployers", "developers"]),
        };
        let mut attached = Vec::new();
        if rng.chance(0.6) {
            let (arn, pname) = rng.pick(customer).clone();
            attached.push(acct.attach(&arn, &pname));
        }
        if human.is_none() && rng.chance(0.08) {
            attached.push(acct.attach(&managed_arn("AdministratorAccess"), "AdministratorAccess"));
        }
        let created_floor = match human {
            Some(p) => org.people[p].hired,
            None => acct.as_of - Duration::days(1800),
        };
        let user_created = at(created_floor.max(acct.as_of - Duration::days(1800)), rng);
        let n_keys = match rng.below(100) {
            0..=14 => 0,
            15..=79 => 1,
            _ => 2,
        };
        let mut keys: Vec<Key> = (0..n_keys)
            .map(|k| new_key(rng, acct.as_of, user_created.date_naive(), k == 1))
            .collect();
        keys.sort_by_key(|k| k.created);
        let human_info = human.map(|p| {
            let last = match org.people[p].terminated {
                Some(end) => at(end - Duration::days(1), rng),
                None => at(acct.as_of - Duration::days(rng.range(0, 20)), rng),
            };
            (last.max(user_created), rng.chance(0.7))
        });
        add_user(
            acct,
            rng,
            &name,
            user_created,
            tags(&t),
            group,
            attached,
            keys,
            human_info,
            owner,
            out,
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn add_user(
    acct: &mut Account<'_>,
    rng: &mut Rng,
    name: &str,
    created: DateTime<Utc>,
    tags_v: Value,
    group: &str,
    attached: Vec<Value>,
    keys: Vec<Key>,
    human: Option<(DateTime<Utc>, bool)>,
    owner: Option<usize>,
    out: &mut AwsOut,
) {
    let arn = format!("arn:aws:iam::{}:user/{name}", acct.id);
    let user_id = rng.aws_id("AIDA", 17);
    // A service user's owner is its `owner` tag, else its `team` tag; a
    // person's IAM user is theirs (named by their handle).
    let truth = match (owner, human.is_some()) {
        (Some(p), _) => format!("person:{}", acct.org.people[p].email),
        (None, _) => tags_v
            .as_array()
            .and_then(|t| t.iter().find(|t| t["Key"] == "team"))
            .and_then(|t| t["Value"].as_str())
            .map_or("none".to_string(), |t| format!("team:{t}")),
    };
    out.owners.push((arn.clone(), truth.clone()));
    for k in &keys {
        out.owners
            .push((format!("aws-access-key:{}", k.id), truth.clone()));
    }
    out.key_uses.extend(keys.iter().map(|k| KeyUse {
        id: k.id.clone(),
        account: acct.id.clone(),
        user_name: name.to_string(),
        user_id: user_id.clone(),
        created: k.created,
        active: k.active,
        last_used: k.last_used,
        owner: if human.is_none() { owner } else { None },
        human: human.is_some(),
        holder: owner,
        sso_admin: acct.sso_admin.clone(),
    }));
    acct.users.push(json!({
        "Path": "/", "UserName": name, "UserId": user_id, "Arn": arn, "CreateDate": aws_time(created),
        "UserPolicyList": [], "GroupList": [group], "AttachedManagedPolicies": attached, "Tags": tags_v
    }));
    *out.nhis.entry("aws_iam_user".into()).or_default() += 1;
    *out.nhis.entry("aws_access_key".into()).or_default() += keys.len();
    let admin_arn = managed_arn("AdministratorAccess");
    let admin = group == "admins"
        || attached
            .iter()
            .any(|a| a["PolicyArn"].as_str() == Some(admin_arn.as_str()));
    let before = acct.as_of - Duration::days(90);
    for k in keys.iter().filter(|k| k.active) {
        let id = format!("aws-access-key:{}", k.id);
        if admin {
            out.expected_rule("admin-credential", id.clone());
        }
        if k.created.date_naive() < before {
            out.expected_rule("key-not-rotated", id.clone());
        }
        if k.last_used.is_none_or(|(t, _, _)| t.date_naive() < before) {
            out.expected_rule("unused-active-key", id);
        }
    }
    acct.report
        .push_str(&report_row(name, &arn, created, human, &keys));
    let meta: Vec<Value> = keys
        .iter()
        .map(|k| json!({"UserName": name, "AccessKeyId": k.id, "Status": if k.active { "Active" } else { "Inactive" }, "CreateDate": aws_time(k.created)}))
        .collect();
    acct.key_docs.push(json!({"AccessKeyMetadata": meta}));
    // The accountable owner (a person's own user is theirs) has left.
    if let Some(p) = owner {
        if acct.org.people[p].terminated.is_some() {
            out.terminated_owner_active_keys
                .extend(keys.iter().filter(|k| k.active).map(|k| k.id.clone()));
        }
    }
}

/// Plants the leaver's key; returns its id.
fn plant(
    acct: &mut Account<'_>,
    rng: &mut Rng,
    person: usize,
    team: &str,
    out: &mut AwsOut,
) -> Option<String> {
    let org = acct.org;
    let p = &org.people[person];
    let left = p.terminated?;
    let name = acct.unique(format!("svc-{team}-reporting-export"));
    let user_created = at(left - Duration::days(400), rng);
    let key_created = at(left - Duration::days(200), rng);
    let last_used = at(acct.as_of - Duration::days(2), rng);
    let key = Key {
        id: rng.aws_id("AKIA", 16),
        created: key_created,
        active: true,
        last_used: Some((last_used, "us-east-1", "s3")),
    };
    let key_id = key.id.clone();
    let attached = vec![acct.attach(&managed_arn("AmazonS3FullAccess"), "AmazonS3FullAccess")];
    let t = tags(&[
        ("team", team.to_string()),
        ("owner", p.email.clone()),
        ("purpose", "nightly finance report export".into()),
    ]);
    add_user(
        acct,
        rng,
        &name,
        user_created,
        t,
        "deployers",
        attached,
        vec![key],
        None,
        Some(person),
        out,
    );
    out.scenarios.push(json!({
        "id": "terminated-owner-active-key",
        "summary": "An IAM user's access key is still active and in use although the human who owns it has left the company.",
        "access_key_id": key_id,
        "principal_arn": format!("arn:aws:iam::{}:user/{name}", acct.id),
        "account_id": acct.id,
        "owner_email": p.email,
        "owner_terminated_on": left.to_string(),
        "owner_manager_email": p.manager.map(|m| org.people[m].email.clone()),
        "key_last_used": aws_time(last_used),
        "evidence": ["IAM tag owner on the user (authorization details)", "roster status terminated (HR)", "key status Active (list-access-keys, credential report)", "last used after the termination date (credential report)"]
    }));
    Some(key_id)
}

/// Principals whose reachability the answers state.
struct Chain {
    chain_key: String,
    chain_user: String,
    role: String,
    deny_key: String,
    deny_user: String,
}

/// A user with one active key, used recently.
fn keyed_user(
    acct: &mut Account<'_>,
    rng: &mut Rng,
    name: &str,
    group: &str,
    attached: Vec<Value>,
    inline: Vec<Value>,
    out: &mut AwsOut,
) -> (String, String) {
    let created = acct.when(rng, 300, 900);
    let key = Key {
        id: rng.aws_id("AKIA", 16),
        created: created + Duration::days(10),
        active: true,
        last_used: Some((acct.when(rng, 0, 5), "us-east-1", "s3")),
    };
    let id = key.id.clone();
    let team = acct.team.clone();
    add_user(
        acct,
        rng,
        name,
        created,
        tags(&[("team", team)]),
        group,
        attached,
        vec![key],
        None,
        None,
        out,
    );
    if let Some(u) = acct.users.last_mut() {
        u["UserPolicyList"] = Value::Array(inline);
    }
    (id, format!("arn:aws:iam::{}:user/{name}", acct.id))
}

/// A CI user that may assume an admin role, and a user whose S3 access is cut by
/// an explicit deny on the data lake.
fn plant_reachability(acct: &mut Account<'_>, rng: &mut Rng, out: &mut AwsOut) -> Chain {
    let team = acct.team.clone();
    let user_name = acct.unique(format!("ci-{team}-release"));
    let role_name = acct.unique(format!("{team}-release-admin"));
    let role = format!("arn:aws:iam::{}:role/{role_name}", acct.id);
    let assume = json!({"PolicyName": "assume-release-admin", "PolicyDocument": {"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role}]}});
    let (chain_key, chain_user) =
        keyed_user(acct, rng, &user_name, "readonly", vec![], vec![assume], out);
    let admin = vec![acct.attach(&managed_arn("AdministratorAccess"), "AdministratorAccess")];
    let created = acct.when(rng, 100, 900);
    acct.roles.push(json!({
        "Path": "/", "RoleName": role_name, "RoleId": rng.aws_id("AROA", 17), "Arn": role, "CreateDate": aws_time(created),
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": chain_user}, "Action": "sts:AssumeRole"}]},
        "InstanceProfileList": [], "RolePolicyList": [], "AttachedManagedPolicies": admin,
        "Tags": tags(&[("team", team.clone())]), "RoleLastUsed": {}
    }));
    let lake = resources::data_lake(acct);
    let deny_name = acct.unique(format!("svc-{team}-analytics"));
    let deny = json!({"PolicyName": "no-data-lake", "PolicyDocument": {"Version": "2012-10-17",
        "Statement": [{"Sid": "DenyDataLake", "Effect": "Deny", "Action": "s3:*",
                       "Resource": [format!("arn:aws:s3:::{lake}"), format!("arn:aws:s3:::{lake}/*")]}]}});
    let s3 = vec![acct.attach(&managed_arn("AmazonS3FullAccess"), "AmazonS3FullAccess")];
    let (deny_key, deny_user) = keyed_user(acct, rng, &deny_name, "readonly", s3, vec![deny], out);
    Chain {
        chain_key,
        chain_user,
        role,
        deny_key,
        deny_user,
    }
}

/// An administrator in a sandbox account, whose SCP denies reading secrets.
fn plant_sandbox_admin(
    acct: &mut Account<'_>,
    rng: &mut Rng,
    out: &mut AwsOut,
) -> (String, String) {
    let name = acct.unique("sandbox-admin".to_string());
    let admin = vec![acct.attach(&managed_arn("AdministratorAccess"), "AdministratorAccess")];
    keyed_user(acct, rng, &name, "readonly", admin, vec![], out)
}

/// Posture cases, each with a positive and a negative, in the leaver's account:
/// a vendor role without and with an `sts:ExternalId`; service users whose
/// console password has no MFA, or is used alongside their key; and one key kept
/// in a production and a staging secret. The root key is set with the report.
/// The seed's first worked example, AWS part: `infra-deploy`'s workflow
/// assumes this role with GitHub's OIDC token (its trust pins the
/// repository's main branch), and Google Cloud trusts the role in turn.
/// The release-tooling account outside the organisation, from the deploy
/// account's id (no draw from the random stream).
pub fn bridge_account(deploy_account: &str) -> String {
    let n: u64 = deploy_account.parse().unwrap_or(0);
    format!(
        "{:012}",
        (n.wrapping_mul(7).wrapping_add(104_729)) % 1_000_000_000_000
    )
}

/// The user in [`bridge_account`] the deploy role still trusts.
pub const BRIDGE_USER: &str = "svc-release-bridge";

fn plant_federation(acct: &mut Account<'_>, rng: &mut Rng, out: &mut AwsOut) {
    let slug = crate::surfaces::org_slug(&acct.org.domain).to_string();
    let repository = format!("{slug}/infra-deploy");
    let name = acct.unique("github-infra-deploy".into());
    let arn = format!("arn:aws:iam::{}:role/{name}", acct.id);
    // The release tooling's account, outside the organisation, kept a user
    // that may still assume the deploy role (the static path before OIDC).
    let bridge = format!(
        "arn:aws:iam::{}:user/{BRIDGE_USER}",
        bridge_account(&acct.id)
    );
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::{}:oidc-provider/token.actions.githubusercontent.com", acct.id)},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                      "StringLike": {"token.actions.githubusercontent.com:sub": format!("repo:{repository}:ref:refs/heads/main")}}},
        {"Effect": "Allow", "Principal": {"AWS": bridge}, "Action": "sts:AssumeRole"}]});
    let created = acct.when(rng, 200, 500);
    let attached = vec![acct.attach(&managed_arn("PowerUserAccess"), "PowerUserAccess")];
    acct.roles.push(json!({
        "Path": "/", "RoleName": name, "RoleId": rng.aws_id("AROA", 17), "Arn": arn, "CreateDate": aws_time(created),
        "AssumeRolePolicyDocument": trust,
        "InstanceProfileList": [], "RolePolicyList": [], "AttachedManagedPolicies": attached,
        "Tags": tags(&[("team", "platform".to_string()), ("service", "infra-deploy".to_string())]),
        "RoleLastUsed": {"LastUsedDate": aws_time(acct.when(rng, 0, 2)), "Region": "us-east-1"}
    }));
    *out.nhis.entry("aws_iam_role".into()).or_default() += 1;
    out.federation = Some(json!({
        "account_id": acct.id, "aws_role": arn, "role_name": name, "repository": repository,
    }));
}

fn plant_posture(acct: &mut Account<'_>, rng: &mut Rng, accounts: &[String], out: &mut AwsOut) {
    let id = acct.id.clone();
    let team = acct.team.clone();
    let as_of = acct.as_of;
    let mut vendor = || loop {
        let v = rng.digits(12);
        if !accounts.contains(&v) {
            break v;
        }
    };
    let (open_vendor, guarded_vendor) = (vendor(), vendor());
    let mut role = |acct: &mut Account<'_>,
                    rng: &mut Rng,
                    name: &str,
                    vendor: &str,
                    external_id: Option<String>| {
        let mut statement = json!({"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{vendor}:root")}, "Action": "sts:AssumeRole"});
        if let Some(x) = external_id {
            statement["Condition"] = json!({"StringEquals": {"sts:ExternalId": x}});
        }
        let created = acct.when(rng, 100, 600);
        let attached = vec![acct.attach(&managed_arn("ReadOnlyAccess"), "ReadOnlyAccess")];
        let arn = format!("arn:aws:iam::{}:role/{name}", acct.id);
        acct.roles.push(json!({
            "Path": "/", "RoleName": name, "RoleId": rng.aws_id("AROA", 17), "Arn": arn, "CreateDate": aws_time(created),
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [statement]},
            "InstanceProfileList": [], "RolePolicyList": [], "AttachedManagedPolicies": attached,
            "Tags": tags(&[("vendor", name.trim_end_matches("-integration").to_string())]),
            "RoleLastUsed": {"LastUsedDate": aws_time(acct.when(rng, 0, 3)), "Region": "us-east-1"}
        }));
        *out.nhis.entry("aws_iam_role".into()).or_default() += 1;
        arn
    };
    let open_name = acct.unique("observability-vendor-integration".into());
    let guarded_name = acct.unique("backup-vendor-integration".into());
    let open = role(acct, rng, &open_name, &open_vendor, None);
    let external_id = rng.hex(32);
    let guarded = role(acct, rng, &guarded_name, &guarded_vendor, Some(external_id));
    out.posture.insert("third-party-trust-without-external-id".into(), json!({
        "found": [open], "not_found": [guarded],
        "why": format!("{open_name} trusts account {open_vendor} (outside the organization) with no sts:ExternalId condition; {guarded_name} requires one")}));

    // Service users with console passwords. Key used yesterday in each.
    let mut user = |acct: &mut Account<'_>,
                    rng: &mut Rng,
                    base: &str,
                    password: Option<(i64, bool)>,
                    active: bool| {
        let name = acct.unique(format!("svc-{team}-{base}"));
        let created = acct.when(rng, 400, 900);
        let key = Key {
            id: rng.aws_id("AKIA", 16),
            created: created + Duration::days(30),
            active,
            last_used: Some((at(as_of - Duration::days(1), rng), "us-east-1", "ec2")),
        };
        let human = password.map(|(days, mfa)| (at(as_of - Duration::days(days), rng), mfa));
        let attached = vec![acct.attach(&managed_arn("ReadOnlyAccess"), "ReadOnlyAccess")];
        add_user(
            acct,
            rng,
            &name,
            created,
            tags(&[("team", team.clone())]),
            "deployers",
            attached,
            vec![key],
            human,
            None,
            out,
        );
        format!("arn:aws:iam::{id}:user/{name}")
    };
    // No MFA, password last used 200 days ago: insecure authentication only.
    let no_mfa = user(acct, rng, "legacy-console", Some((200, false)), true);
    // MFA, password used three days ago beside the key: someone logs in as it.
    let shared = user(acct, rng, "ops-shared", Some((3, true)), true);
    // MFA and a recent login, but its key is inactive: neither.
    let break_glass = user(acct, rng, "break-glass", Some((3, true)), false);
    out.posture.insert(
        "password-login-without-mfa".into(),
        json!({
        "found": [no_mfa], "not_found": [shared, break_glass]}),
    );
    out.posture.insert(
        "interactive-login-as-service-user".into(),
        json!({
        "found": [shared], "not_found": [no_mfa, break_glass]}),
    );
    out.posture.insert("root-access-key".into(), json!({
        "found": [format!("arn:aws:iam::{id}:root")], "note": "evidence `root` of the finding; every other account's root has no key"}));

    // One key in a production and a staging secret; its user's other key only in production.
    let name = acct.unique(format!("svc-{team}-orders-api"));
    let created = acct.when(rng, 300, 600);
    let mut keys = Vec::new();
    for _ in 0..2 {
        keys.push(Key {
            id: rng.aws_id("AKIA", 16),
            created: created + Duration::days(rng.range(5, 100)),
            active: true,
            last_used: Some((at(as_of - Duration::days(1), rng), "us-east-1", "dynamodb")),
        });
    }
    let (shared_key, prod_key) = (keys[0].id.clone(), keys[1].id.clone());
    let attached = vec![acct.attach(
        &managed_arn("AmazonDynamoDBFullAccess"),
        "AmazonDynamoDBFullAccess",
    )];
    add_user(
        acct,
        rng,
        &name,
        created,
        tags(&[("team", team.clone())]),
        "deployers",
        attached,
        keys,
        None,
        None,
        out,
    );
    let mut secret = |env: &str, key: &str, rng: &mut Rng| {
        let secret_name = format!("{team}-orders-api/{env}/aws-credentials");
        let arn = format!(
            "arn:aws:secretsmanager:us-east-1:{id}:secret:{secret_name}-{}",
            rng.hex(6)
        );
        let value = crate::surfaces::secret_key(rng);
        let inner = json!({"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": value}).to_string();
        out.secret_values.push((
            format!("secretsmanager-values/{id}/{team}-orders-api-{env}-{}.json", &key[16..]),
            json!({"ARN": arn, "Name": secret_name, "VersionId": format!("{}-7c1e-4f0a-9b2d-3e8f6a5c1d07", rng.hex(8)),
                   "SecretString": inner, "VersionStages": ["AWSCURRENT"], "CreatedDate": 1_741_592_800.123}),
        ));
    };
    secret("prod", &shared_key, rng);
    secret("staging", &shared_key, rng);
    secret("prod", &prod_key, rng);
    out.posture.insert("credential-across-environments".into(), json!({
        "found": [format!("aws-access-key:{shared_key}")], "not_found": [format!("aws-access-key:{prod_key}")],
        "requires": "custody scan --ingest of secretsmanager-values/"}));
}
