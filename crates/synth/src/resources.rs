//! The AWS resource inventory of each account and the organisation's SCPs, written
//! as the `aws` CLI prints them (see `docs/CONNECTORS.md` for the export loop):
//! buckets with tags and policies, secrets (metadata only: `list-secrets` never
//! returns values), KMS keys and key policies, RDS instances, Lambda functions and
//! EC2 instances running as the account's roles, the EKS cluster IRSA roles trust,
//! and Organizations policies, targets and parents.

use crate::account::Account;
use crate::names::{COMPONENTS, ENVS};
use crate::rng::Rng;
use crate::write::Writer;
use crate::SynthError;
use serde_json::{json, Value};

const REGION: &str = "us-east-1";

/// What the planted answers need to name.
pub struct Inventory {
    pub data_lake: String,
    pub restricted_secret: String,
    pub secrets: Vec<String>,
}

pub fn data_lake(acct: &Account<'_>) -> String {
    format!("northwind-{}-data-lake-{}", acct.team, acct.id)
}

fn classification(rng: &mut Rng) -> &'static str {
    match rng.below(100) {
        0..=4 => "public",
        5..=44 => "internal",
        45..=79 => "confidential",
        _ => "restricted",
    }
}

fn tag_list(pairs: &[(&str, String)]) -> Value {
    Value::Array(
        pairs
            .iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect(),
    )
}

fn time(rng: &mut Rng, acct: &Account<'_>) -> String {
    let days = rng.range(30, 1400);
    format!(
        "{}T{:02}:{:02}:00+00:00",
        acct.as_of - chrono::Duration::days(days),
        rng.below(24),
        rng.below(60)
    )
}

fn uuid(rng: &mut Rng) -> String {
    let h = rng.hex(32);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

pub fn write(
    w: &mut Writer,
    rng: &mut Rng,
    acct: &Account<'_>,
    accounts: &[String],
) -> Result<Inventory, SynthError> {
    let id = &acct.id;
    let base = format!("aws/{id}");
    let owner = |rng: &mut Rng| -> Option<String> {
        acct.members
            .get(rng.below(acct.members.len().max(1)))
            .map(|&p| acct.org.people[p].email.clone())
    };

    // S3: the buckets the policies name, the team's data lake and the trail bucket.
    let lake = data_lake(acct);
    let mut buckets: Vec<(String, Option<&'static str>)> = acct
        .buckets
        .iter()
        .map(|b| (b.clone(), Some(classification(rng))))
        .collect();
    buckets.push((lake.clone(), Some("restricted")));
    buckets.push((format!("northwind-cloudtrail-{id}"), None));
    let listing: Vec<Value> = buckets
        .iter()
        .map(|(b, _)| json!({"Name": b, "CreationDate": time(rng, acct)}))
        .collect();
    w.json(
        &format!("{base}/s3/list-buckets.json"),
        &json!({"Buckets": listing, "Owner": {"DisplayName": format!("aws-{id}"), "ID": rng.hex(64)}}),
        true,
    )?;
    for (b, class) in &buckets {
        // get-bucket-tagging fails with NoSuchTagSet on an untagged bucket: no file.
        if let Some(class) = class {
            let mut tags = vec![
                ("data-classification", class.to_string()),
                ("team", acct.team.clone()),
            ];
            if let Some(o) = owner(rng) {
                tags.push(("owner", o));
            }
            w.json(
                &format!("{base}/s3/{b}/tagging.json"),
                &json!({"TagSet": tag_list(&tags)}),
                true,
            )?;
        }
        let policy = if *b == lake {
            // The analytics account reads the lake; nobody may read it without TLS.
            let reader = &accounts
                [(accounts.iter().position(|a| a == id).unwrap_or(0) + 1) % accounts.len()];
            Some(json!({"Version": "2012-10-17", "Statement": [
                {"Sid": "AnalyticsRead", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{reader}:root")},
                 "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": [format!("arn:aws:s3:::{b}"), format!("arn:aws:s3:::{b}/*")]},
                {"Sid": "TLSOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                 "Resource": [format!("arn:aws:s3:::{b}"), format!("arn:aws:s3:::{b}/*")],
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
        } else if *class == Some("public") {
            Some(
                json!({"Version": "2012-10-17", "Statement": [{"Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
                "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{b}/*")}]}),
            )
        } else if class.is_none() {
            Some(
                json!({"Version": "2012-10-17", "Statement": [{"Sid": "AWSCloudTrailWrite", "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
                "Resource": format!("arn:aws:s3:::{b}/AWSLogs/{id}/*"), "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}}]}),
            )
        } else {
            None
        };
        if let Some(p) = policy {
            // The CLI prints the policy as a JSON string.
            w.json(
                &format!("{base}/s3/{b}/policy.json"),
                &json!({"Policy": p.to_string()}),
                true,
            )?;
        }
    }

    // KMS: one customer key for the team's secrets and one for the databases.
    let mut key_arns = Vec::new();
    for purpose in ["secrets", "databases"] {
        let key_id = uuid(rng);
        let arn = format!("arn:aws:kms:{REGION}:{id}:key/{key_id}");
        w.json(
            &format!("{base}/kms/{key_id}/describe-key.json"),
            &json!({"KeyMetadata": {"AWSAccountId": id, "KeyId": key_id, "Arn": arn, "CreationDate": time(rng, acct),
                "Enabled": true, "Description": format!("{} {purpose}", acct.team), "KeyUsage": "ENCRYPT_DECRYPT",
                "KeyState": "Enabled", "Origin": "AWS_KMS", "KeyManager": "CUSTOMER", "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT",
                "KeySpec": "SYMMETRIC_DEFAULT", "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"], "MultiRegion": false}}),
            true,
        )?;
        let policy = json!({"Version": "2012-10-17", "Id": "key-default-1", "Statement": [
            {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{id}:root")},
             "Action": "kms:*", "Resource": "*"}]});
        w.json(
            &format!("{base}/kms/{key_id}/key-policy.json"),
            &json!({"Policy": policy.to_string(), "PolicyName": "default"}),
            true,
        )?;
        key_arns.push(arn);
    }

    // Secrets Manager: a few per prefix the policies grant, and the team's payroll database credentials.
    let mut secrets = Vec::new();
    let mut names: Vec<(String, &'static str)> = Vec::new();
    for prefix in &acct.secret_prefixes {
        for _ in 0..rng.range(1, 3) {
            names.push((
                format!("{prefix}/{}-{}", rng.pick(COMPONENTS), rng.pick(ENVS)),
                if rng.chance(0.5) { "high" } else { "medium" },
            ));
        }
    }
    let restricted_name = format!("{}/payroll-db-credentials", acct.team);
    names.push((restricted_name.clone(), "critical"));
    let mut restricted = String::new();
    let mut list = Vec::new();
    for (name, sensitivity) in names {
        let arn = format!(
            "arn:aws:secretsmanager:{REGION}:{id}:secret:{name}-{}",
            rng.hex(6)
        );
        if name == restricted_name {
            restricted = arn.clone();
        }
        let mut tags = vec![
            ("sensitivity", sensitivity.to_string()),
            ("team", acct.team.clone()),
        ];
        if let Some(o) = owner(rng) {
            tags.push(("owner", o));
        }
        list.push(json!({"ARN": arn, "Name": name, "KmsKeyId": key_arns[0], "RotationEnabled": rng.chance(0.4),
            "LastChangedDate": time(rng, acct), "LastAccessedDate": format!("{}T00:00:00+00:00", acct.as_of - chrono::Duration::days(rng.range(0, 40))),
            "Tags": tag_list(&tags), "SecretVersionsToStages": {uuid(rng): ["AWSCURRENT"]}, "CreatedDate": time(rng, acct)}));
        secrets.push(arn);
    }
    w.json(
        &format!("{base}/{REGION}/secretsmanager-list-secrets.json"),
        &json!({"SecretList": list}),
        true,
    )?;

    // RDS.
    let dbs: Vec<Value> = ["orders", "payroll"]
        .iter()
        .map(|what| {
            let ident = format!("{}-{what}-prod", acct.team);
            let class = if *what == "payroll" { "restricted" } else { "confidential" };
            json!({"DBInstanceIdentifier": ident, "DBInstanceClass": "db.r6g.large", "Engine": "postgres", "EngineVersion": "15.4",
                "DBInstanceStatus": "available", "Endpoint": {"Address": format!("{ident}.c1a2b3c4d5e6.{REGION}.rds.amazonaws.com"), "Port": 5432},
                "DBInstanceArn": format!("arn:aws:rds:{REGION}:{id}:db:{ident}"), "PubliclyAccessible": false, "StorageEncrypted": true,
                "KmsKeyId": key_arns[1], "IAMDatabaseAuthenticationEnabled": true, "DbiResourceId": format!("db-{}", rng.hex(26).to_ascii_uppercase()),
                "InstanceCreateTime": time(rng, acct), "TagList": tag_list(&[("data-classification", class.to_string()), ("team", acct.team.clone())])})
        })
        .collect();
    w.json(
        &format!("{base}/{REGION}/rds-db-instances.json"),
        &json!({"DBInstances": dbs}),
        true,
    )?;

    // Lambda functions, one per execution role.
    let functions: Vec<Value> = acct
        .lambda_roles
        .iter()
        .map(|(name, role)| {
            let fname = name.trim_end_matches("-lambda");
            json!({"FunctionName": fname, "FunctionArn": format!("arn:aws:lambda:{REGION}:{id}:function:{fname}"),
                "Runtime": "python3.12", "Role": role, "Handler": "app.handler", "CodeSize": 4096 + rng.below(90_000),
                "Timeout": 30, "MemorySize": 512, "LastModified": format!("{}.000+0000", time(rng, acct).trim_end_matches("+00:00")),
                "Version": "$LATEST", "PackageType": "Zip", "Architectures": ["arm64"],
                "Environment": {"Variables": {"LOG_LEVEL": "info", "TABLE_NAME": format!("{fname}-table")}}})
        })
        .collect();
    w.json(
        &format!("{base}/{REGION}/lambda-list-functions.json"),
        &json!({"Functions": functions}),
        true,
    )?;

    // Instance profiles and the instances launched with them.
    let mut profiles = Vec::new();
    let mut instances = Vec::new();
    for (name, role) in &acct.instance_roles {
        let profile_arn = format!("arn:aws:iam::{id}:instance-profile/{name}");
        let profile_id = rng.aws_id("AIPA", 17);
        profiles.push(json!({"Path": "/", "InstanceProfileName": name, "InstanceProfileId": profile_id, "Arn": profile_arn,
            "CreateDate": time(rng, acct), "Roles": [{"Path": "/", "RoleName": name, "Arn": role}]}));
        instances.push(json!({"InstanceId": format!("i-{}", rng.hex(17)), "InstanceType": "m6i.large", "ImageId": format!("ami-{}", rng.hex(17)),
            "LaunchTime": time(rng, acct), "Placement": {"AvailabilityZone": format!("{REGION}a")}, "PrivateIpAddress": format!("10.{}.{}.{}", rng.below(255), rng.below(255), rng.below(255)),
            "State": {"Code": 16, "Name": "running"}, "IamInstanceProfile": {"Arn": profile_arn, "Id": profile_id},
            "Tags": tag_list(&[("Name", name.trim_end_matches("-instance").to_string()), ("team", acct.team.clone())])}));
    }
    w.json(
        &format!("{base}/iam/instance-profiles.json"),
        &json!({"InstanceProfiles": profiles}),
        true,
    )?;
    w.json(
        &format!("{base}/{REGION}/ec2-describe-instances.json"),
        &json!({"Reservations": [{"ReservationId": format!("r-{}", rng.hex(17)), "OwnerId": id, "Groups": [], "Instances": instances}]}),
        true,
    )?;

    // The EKS cluster whose OIDC issuer the IRSA roles trust.
    if let Some(issuer) = &acct.eks_issuer {
        let name = format!("{}-prod", acct.team);
        w.json(
            &format!("{base}/eks/{name}/describe-cluster.json"),
            &json!({"cluster": {"name": name, "arn": format!("arn:aws:eks:{REGION}:{id}:cluster/{name}"), "createdAt": time(rng, acct),
                "version": "1.29", "endpoint": format!("https://{}.gr7.{REGION}.eks.amazonaws.com", rng.hex(32).to_ascii_uppercase()),
                "roleArn": format!("arn:aws:iam::{id}:role/{name}-cluster"), "identity": {"oidc": {"issuer": format!("https://{issuer}")}},
                "status": "ACTIVE", "tags": {"team": acct.team}, "accessConfig": {"authenticationMode": "API_AND_CONFIG_MAP"}}}),
            true,
        )?;
    }
    Ok(Inventory {
        data_lake: lake,
        restricted_secret: restricted,
        secrets,
    })
}

/// Organizations: a root with a Workloads and a Sandbox OU; FullAWSAccess on the
/// root (as AWS attaches it), a guard-rail SCP on the root, and on Sandbox an SCP
/// that denies Secrets Manager and decryption.
pub fn organization(
    w: &mut Writer,
    rng: &mut Rng,
    accounts: &[String],
    sandbox: &[String],
) -> Result<(), SynthError> {
    let mgmt = &accounts[0];
    let org = format!("o-{}", rng.hex(10));
    let root = format!("r-{}", rng.hex(4));
    let ou = |rng: &mut Rng| format!("ou-{}-{}", &root[2..], rng.hex(8));
    let (workloads, sandbox_ou) = (ou(rng), ou(rng));
    let policy = |w: &mut Writer,
                  id: &str,
                  name: &str,
                  managed: bool,
                  doc: Value,
                  targets: Vec<Value>|
     -> Result<(), SynthError> {
        let kind = if managed { "aws" } else { mgmt.as_str() };
        let arn = format!("arn:aws:organizations::{kind}:policy/{org}/service_control_policy/{id}");
        let arn = if managed {
            format!("arn:aws:organizations::aws:policy/service_control_policy/{id}")
        } else {
            arn
        };
        w.json(
            &format!("organizations/policies/{id}/describe-policy.json"),
            &json!({"Policy": {"PolicySummary": {"Id": id, "Arn": arn, "Name": name, "Description": name, "Type": "SERVICE_CONTROL_POLICY", "AwsManaged": managed},
                "Content": doc.to_string()}}),
            true,
        )?;
        w.json(
            &format!("organizations/policies/{id}/targets.json"),
            &json!({"Targets": targets}),
            true,
        )
    };
    let target = |id: &str, name: &str, kind: &str| json!({"TargetId": id, "Arn": format!("arn:aws:organizations::{mgmt}:{}/{org}/{id}", kind.to_ascii_lowercase()), "Name": name, "Type": kind});
    policy(
        w,
        "p-FullAWSAccess",
        "FullAWSAccess",
        true,
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
        // AWS attaches FullAWSAccess to the root, every OU and every account.
        std::iter::once(target(&root, "Root", "ROOT"))
            .chain(
                [(&workloads, "Workloads"), (&sandbox_ou, "Sandbox")]
                    .map(|(id, n)| target(id, n, "ORGANIZATIONAL_UNIT")),
            )
            .chain(
                accounts
                    .iter()
                    .map(|a| target(a, &format!("account-{a}"), "ACCOUNT")),
            )
            .collect(),
    )?;
    policy(
        w,
        &format!("p-{}", rng.hex(8)),
        "GuardRails",
        false,
        json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "DenyLeaveOrganization", "Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"},
            {"Sid": "DenyCloudTrailTampering", "Effect": "Deny", "Action": ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail"], "Resource": "*"}]}),
        vec![target(&root, "Root", "ROOT")],
    )?;
    policy(
        w,
        &format!("p-{}", rng.hex(8)),
        "SandboxNoSecrets",
        false,
        json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "NoSecretsInSandbox", "Effect": "Deny", "Action": ["secretsmanager:*", "kms:Decrypt"], "Resource": "*"}]}),
        vec![target(&sandbox_ou, "Sandbox", "ORGANIZATIONAL_UNIT")],
    )?;
    for ou_id in [&workloads, &sandbox_ou] {
        w.json(
            &format!("organizations/parents/{ou_id}.json"),
            &json!({"Parents": [{"Id": root, "Type": "ROOT"}]}),
            true,
        )?;
    }
    for a in accounts {
        let parent = if sandbox.contains(a) {
            &sandbox_ou
        } else {
            &workloads
        };
        let parents = if a == mgmt {
            json!([{"Id": root, "Type": "ROOT"}])
        } else {
            json!([{"Id": parent, "Type": "ORGANIZATIONAL_UNIT"}])
        };
        w.json(
            &format!("organizations/parents/{a}.json"),
            &json!({"Parents": parents}),
            true,
        )?;
    }
    Ok(())
}
