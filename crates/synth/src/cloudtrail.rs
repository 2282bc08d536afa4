//! CloudTrail for the synthetic enterprise: what a trail delivers to S3
//! (`AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<time>_<id>.json.gz`,
//! gzipped `{"Records": [...]}`), consistent with the credential report: a key
//! the report says was last used at T in region R calling service S has its
//! last event at T in R on S, and no events after; a key never used has none.
//!
//! Normal use is steady in what matters and noisy where real workloads are:
//! each key has one region, one client family and a few actions, at its own
//! hours; but a workload in a VPC calls through a VPC endpoint from a new
//! private address of its /16 nearly every time, a CI runner from rotating
//! public addresses of Azure (AS8075), others from their account's NAT addresses
//! (people's own keys: the office); SDKs are upgraded mid-window (a new
//! version, sometimes a new major: `aws-sdk-go` → `aws-sdk-go-v2`); and AWS
//! services (CloudFormation) call on some keys' behalf; four keys of one
//! account fail over to another region together for a few minutes (the
//! answer: one `region-shift` about the account). Planted anomalies (answers under
//! `expected.usage`): first use from a new region, network (a VPS
//! provider's address, AS14061) or client family after the learning week, a burst of AccessDenied (enumeration), a key used
//! again after months of dormancy; keys whose owner left and that are still
//! used are in the answers too (not planted: they follow from the roster and
//! the ownership truth — a person's own user's keys are theirs).
//!
//! Every key created inside the window has its `CreateAccessKey` event: by
//! the person who holds it (their own user's, or the one its `owner` tag
//! names), signed in through the account's IAM Identity Center admin role
//! (the session name is their e-mail); keys nobody holds are created by the
//! Terraform pipeline (`OrganizationAccountAccessRole`, session
//! `terraform-ci`), which names no person.

use crate::aws::KeyUse;
use crate::people::Org;
use crate::rng::Rng;
use crate::write::Writer;
use crate::SynthError;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Days of logs written, ending on the snapshot day.
pub const WINDOW_DAYS: i64 = 14;
/// The learning period `custody` uses by default (docs/USAGE.md).
const LEARNING_DAYS: i64 = 7;

const UAS: &[&str] = &[
    "aws-sdk-go/1.44.298 (go1.20.6; linux; amd64)",
    "Boto3/1.28.62 md/Botocore#1.31.62 ua/2.0 os/linux#5.10.192 md/arch#x86_64 lang/python#3.11.5 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.31.62",
    "aws-sdk-java/2.20.162 Linux/5.10.192 OpenJDK_64-Bit_Server_VM/17.0.8+7-LTS Java/17.0.8 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy",
    "APN/1.0 HashiCorp/1.0 Terraform/1.5.7 (+https://www.terraform.io) terraform-provider-aws/5.21.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go/1.45.24 (go1.20.8; linux; amd64)",
    "aws-sdk-js/3.427.0 ua/2.0 os/linux#5.10.192 lang/js md/nodejs#18.18.0 api/s3#3.427.0",
];
/// What each of [`UAS`] becomes after its SDK upgrade.
const UAS_NEXT: &[&str] = &[
    "aws-sdk-go-v2/1.21.2 os/linux lang/go#1.21.3 md/GOOS#linux md/GOARCH#amd64 api/s3#1.40.2",
    "Boto3/1.33.2 md/Botocore#1.33.2 ua/2.0 os/linux#5.10.201 md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.33.2",
    "aws-sdk-java/2.21.29 Linux/5.10.201 OpenJDK_64-Bit_Server_VM/17.0.9+8-LTS Java/17.0.9 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy",
    "APN/1.0 HashiCorp/1.0 Terraform/1.6.4 (+https://www.terraform.io) terraform-provider-aws/5.26.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go/1.48.2 (go1.20.11; linux; amd64)",
    "aws-sdk-js/3.465.0 ua/2.0 os/linux#5.10.201 lang/js md/nodejs#20.10.0 api/s3#3.465.0",
];
const HUMAN_UA: &str =
    "aws-cli/2.13.25 Python/3.11.5 Darwin/22.6.0 exe/x86_64 prompt/off command/s3.ls";
const HUMAN_UA_NEXT: &str =
    "aws-cli/2.15.0 Python/3.11.6 Darwin/23.1.0 exe/x86_64 prompt/off command/s3.ls";
/// An AWS service acting for a key: CloudTrail writes its name as both the
/// address and the user agent.
const SERVICE_CALLER: &str = "cloudformation.amazonaws.com";
/// Rotating callers (GitHub-hosted runners) come from Azure:
/// 4.144.0.0–4.212.255.255 is announced by AS8075 (Microsoft).
const ROTATING: (u8, std::ops::RangeInclusive<usize>) = (4, 144..=212);
/// /16s of a VPS provider (DigitalOcean, AS14061) a stolen key is used from.
const ATTACKER: &[&str] = &["45.55", "46.101", "68.183", "104.131", "104.236", "128.199"];
const ODD_UA: &str = "python-requests/2.31.0";
const ODD_REGIONS: &[&str] = &["sa-east-1", "ap-northeast-1", "me-south-1", "af-south-1"];
const PROBES: &[(&str, &str)] = &[
    ("iam", "ListUsers"),
    ("iam", "ListRoles"),
    ("iam", "GetAccountAuthorizationDetails"),
    ("s3", "ListBuckets"),
    ("secretsmanager", "ListSecrets"),
    ("ec2", "DescribeInstances"),
    ("kms", "ListKeys"),
    ("organizations", "DescribeOrganization"),
];

fn actions(service: &str) -> &'static [&'static str] {
    match service {
        "s3" => &["GetObject", "PutObject", "ListObjects", "HeadObject"],
        "sts" => &["GetCallerIdentity", "AssumeRole"],
        "dynamodb" => &["GetItem", "PutItem", "Query"],
        "sqs" => &["SendMessage", "ReceiveMessage", "DeleteMessage"],
        "secretsmanager" => &["GetSecretValue", "DescribeSecret"],
        "ec2" => &[
            "DescribeInstances",
            "DescribeSecurityGroups",
            "DescribeVolumes",
        ],
        "lambda" => &["Invoke", "GetFunction"],
        "kms" => &["Decrypt", "GenerateDataKey", "Encrypt"],
        "ssm" => &["GetParameter", "GetParametersByPath"],
        "ecr" => &[
            "GetAuthorizationToken",
            "BatchGetImage",
            "GetDownloadUrlForLayer",
        ],
        _ => &["GetCallerIdentity"],
    }
}

fn read_only(action: &str) -> bool {
    [
        "Get", "List", "Describe", "Head", "Query", "Receive", "Batch",
    ]
    .iter()
    .any(|p| action.starts_with(p))
}

/// How one key behaves.
struct Habit<'a> {
    key: &'a KeyUse,
    service: &'static str,
    ip: String,
    ua: &'static str,
    hours: (i64, i64),
    net: Net,
    /// The client after its upgrade, from then on.
    upgrade: Option<(&'static str, DateTime<Utc>)>,
    /// One call in this many is made by an AWS service on its behalf (0: none).
    by_service: usize,
}

/// Where a key's calls come from.
#[derive(Debug, Clone, PartialEq)]
enum Net {
    /// One address of its account's NAT gateways (or the office).
    Fixed,
    /// Through a VPC endpoint, from any private address of `10.<n>.0.0/16`.
    Vpc(u8, String),
    /// From a new public address of a cloud's ranges on nearly every call.
    Rotating,
}

/// How a key varies: its network and whether its SDK is upgraded or an AWS
/// service calls for it. From its own random stream, so the events' times
/// and actions are those of the steady trail.
fn variation(seed: u64, k: &KeyUse) -> (Net, Option<usize>, usize) {
    let mut r = Rng::new(seed_of(seed, &k.id) ^ 0x6e6f_6973_6520);
    let roll = r.below(100);
    let net = if k.human {
        Net::Fixed
    } else if roll < 40 {
        Net::Vpc(r.below(256) as u8, format!("vpce-{}", r.hex(17)))
    } else if roll < 55 {
        Net::Rotating
    } else {
        Net::Fixed
    };
    let upgrade = (r.below(100) < 30).then(|| 2 + r.below(WINDOW_DAYS as usize - 3));
    let by_service = if !k.human && r.below(100) < 10 { 30 } else { 0 };
    (net, upgrade, by_service)
}

impl Habit<'_> {
    /// The address and client of a call at `t`; `noise` draws the varying parts.
    fn caller(&self, noise: &mut Rng, t: DateTime<Utc>) -> (String, &'static str) {
        if self.by_service > 0 && noise.below(self.by_service) == 0 {
            return (SERVICE_CALLER.to_string(), SERVICE_CALLER);
        }
        let ua = match self.upgrade {
            Some((next, at)) if t >= at => next,
            _ => self.ua,
        };
        match &self.net {
            Net::Fixed => (self.ip.clone(), ua),
            Net::Vpc(n, _) => (
                format!("10.{n}.{}.{}", noise.below(256), 2 + noise.below(250)),
                ua,
            ),
            Net::Rotating => (
                format!(
                    "{}.{}.{}.{}",
                    ROTATING.0,
                    ROTATING.1.start() + noise.below(ROTATING.1.end() - ROTATING.1.start() + 1),
                    noise.below(256),
                    1 + noise.below(254)
                ),
                ua,
            ),
        }
    }
}

/// One rendered event.
struct Rec {
    time: DateTime<Utc>,
    region: String,
    json: String,
}

struct Odd {
    rule: &'static str,
    region: Option<&'static str>,
    ip: Option<String>,
    ua: Option<&'static str>,
}

pub(crate) fn fmt_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub(crate) fn uuid(rng: &mut Rng) -> String {
    let h = rng.hex(32);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[allow(clippy::too_many_arguments)]
fn render(
    rng: &mut Rng,
    h: &Habit<'_>,
    t: DateTime<Utc>,
    service: &str,
    action: &str,
    region: &str,
    ip: &str,
    ua: &str,
    denied: bool,
) -> Rec {
    let k = h.key;
    // Calls through a VPC endpoint come from a private address and name it.
    let vpce = match &h.net {
        Net::Vpc(_, id) if ip.starts_with("10.") => id.as_str(),
        _ => "",
    };
    let acct = &k.account;
    let user_arn = format!("arn:aws:iam::{acct}:user/{}", k.user_name);
    let mut j = String::with_capacity(1400);
    let _ = write!(
        j,
        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","principalId":"{}","arn":"{user_arn}","accountId":"{acct}","accessKeyId":"{}","userName":"{}"}},"eventTime":"{}","eventSource":"{service}.amazonaws.com","eventName":"{action}","awsRegion":"{region}","sourceIPAddress":"{ip}","userAgent":"{ua}","#,
        k.user_id,
        k.id,
        k.user_name,
        fmt_time(t)
    );
    if denied {
        let _ = write!(
            j,
            r#""errorCode":"AccessDenied","errorMessage":"User: {user_arn} is not authorized to perform: {service}:{action} because no identity-based policy allows the {service}:{action} action","requestParameters":null,"responseElements":null,"#
        );
    } else if service == "s3" {
        let bucket = format!("northwind-{}-{}", h.service, &acct[8..]);
        let _ = write!(
            j,
            r#""requestParameters":{{"bucketName":"{bucket}","Host":"{bucket}.s3.{region}.amazonaws.com","key":"exports/{}/part-{:05}.parquet"}},"responseElements":null,"additionalEventData":{{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":0,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"{}","bytesTransferredOut":{}}},"resources":[{{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::{bucket}/exports/part"}},{{"accountId":"{acct}","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::{bucket}"}}],"#,
            t.format("%Y/%m/%d"),
            rng.below(5000),
            rng.hex(40),
            rng.below(9_000_000)
        );
    } else {
        let _ = write!(
            j,
            r#""requestParameters":{{"maxResults":100}},"responseElements":null,"#
        );
    }
    let category = if service == "s3" {
        "Data"
    } else {
        "Management"
    };
    let _ = write!(
        j,
        r#""requestID":"{}","eventID":"{}","readOnly":{},"eventType":"AwsApiCall","managementEvent":{},"recipientAccountId":"{acct}",{}"eventCategory":"{category}","tlsDetails":{{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"{service}.{region}.amazonaws.com"}}}}"#,
        rng.hex(16).to_uppercase(),
        uuid(rng),
        read_only(action),
        category == "Management",
        if vpce.is_empty() {
            String::new()
        } else {
            format!(r#""vpcEndpointId":"{vpce}","vpcEndpointAccountId":"{acct}","#)
        }
    );
    Rec {
        time: t,
        region: region.to_string(),
        json: j,
    }
}

fn service_event(rng: &mut Rng, acct: &str, region: &str, t: DateTime<Utc>) -> Rec {
    let json = format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"AWSService","invokedBy":"ec2.amazonaws.com"}},"eventTime":"{}","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"{region}","sourceIPAddress":"ec2.amazonaws.com","userAgent":"ec2.amazonaws.com","requestParameters":{{"roleArn":"arn:aws:iam::{acct}:role/ec2-default","roleSessionName":"i-{}"}},"responseElements":{{"credentials":{{"accessKeyId":"ASIA{}","expiration":"{}"}}}},"requestID":"{}","eventID":"{}","readOnly":true,"resources":[{{"accountId":"{acct}","type":"AWS::IAM::Role","ARN":"arn:aws:iam::{acct}:role/ec2-default"}}],"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{acct}","sharedEventID":"{}","eventCategory":"Management"}}"#,
        fmt_time(t),
        rng.hex(17),
        rng.aws_id("", 16),
        fmt_time(t + Duration::hours(1)),
        uuid(rng),
        uuid(rng),
        uuid(rng)
    );
    Rec {
        time: t,
        region: region.to_string(),
        json,
    }
}

/// Files an event under its account, region and six-hour bucket (a trail
/// delivers about every five minutes; files here hold six hours).
fn file_rec(
    per_file: &mut BTreeMap<(String, String, DateTime<Utc>), Vec<Rec>>,
    acct: &str,
    r: Rec,
) {
    let bucket = day_start(r.time.date_naive()) + Duration::hours(i64::from(r.time.hour() / 6 * 6));
    per_file
        .entry((acct.to_string(), r.region.clone(), bucket))
        .or_default()
        .push(r);
}

/// The `CreateAccessKey` event of a key created inside the window.
fn creation(org: &Org, k: &KeyUse, acct_index: usize) -> Option<Rec> {
    let sso = k.sso_admin.as_deref()?;
    let mut rng = Rng::new(seed_of(0xc2ea7e, &k.id));
    let t = k.created;
    let acct = &k.account;
    let person = k.holder.filter(|&p| {
        org.people[p]
            .terminated
            .is_none_or(|left| left >= t.date_naive())
    });
    let (role_arn, session, ip, ua) = match person {
        Some(p) => (
            sso.to_string(),
            org.people[p].email.clone(),
            "203.0.113.5".to_string(),
            "aws-cli/2.13.25 Python/3.11.5 Darwin/22.6.0 exe/x86_64 prompt/off command/iam.create-access-key",
        ),
        None => (
            format!("arn:aws:iam::{acct}:role/OrganizationAccountAccessRole"),
            "terraform-ci".to_string(),
            format!("52.{}.{}.9", 20 + acct_index / 250, acct_index % 250),
            UAS[3],
        ),
    };
    let role_name = role_arn.rsplit('/').next().unwrap_or("");
    let role_id = format!("AROA{}", rng.hex(17).to_uppercase());
    let mut j = String::with_capacity(1600);
    let _ = write!(
        j,
        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"AssumedRole","principalId":"{role_id}:{session}","arn":"arn:aws:sts::{acct}:assumed-role/{role_name}/{session}","accountId":"{acct}","accessKeyId":"ASIA{}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"{role_id}","arn":"{role_arn}","accountId":"{acct}","userName":"{role_name}"}},"attributes":{{"creationDate":"{}","mfaAuthenticated":"false"}}}}}},"eventTime":"{}","eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","awsRegion":"us-east-1","sourceIPAddress":"{ip}","userAgent":"{ua}","requestParameters":{{"userName":"{}"}},"responseElements":{{"accessKey":{{"accessKeyId":"{}","status":"Active","userName":"{}","createDate":"{}"}}}},"requestID":"{}","eventID":"{}","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{acct}","eventCategory":"Management","tlsDetails":{{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"iam.amazonaws.com"}}}}"#,
        rng.hex(16).to_uppercase(),
        fmt_time(t - Duration::minutes(3)),
        fmt_time(t),
        k.user_name,
        k.id,
        k.user_name,
        t.format("%b %-d, %Y %-I:%M:%S %p"),
        rng.hex(16).to_uppercase(),
        uuid(&mut rng),
    );
    Some(Rec {
        time: t,
        region: "us-east-1".into(),
        json: j,
    })
}

fn day_start(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

fn seed_of(seed: u64, s: &str) -> u64 {
    s.bytes().fold(seed ^ 0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// What `write` produced, for answers.json.
pub struct Out {
    pub answers: Value,
}

/// Writes the trail's files and returns the answers.
pub fn write(
    w: &mut Writer,
    org: &Org,
    keys: &[KeyUse],
    seed: u64,
    target_events: usize,
) -> Result<Out, SynthError> {
    let as_of = org.as_of;
    let start = day_start(as_of - Duration::days(WINDOW_DAYS - 1));
    let end = day_start(as_of + Duration::days(1));
    let accounts: Vec<&str> = {
        let mut a: Vec<&str> = keys.iter().map(|k| k.account.as_str()).collect();
        a.sort_unstable();
        a.dedup();
        a
    };
    let acct_index: BTreeMap<&str, usize> =
        accounts.iter().enumerate().map(|(i, a)| (*a, i)).collect();
    // Keys with use in the window, and how many key-days that is.
    let used: Vec<&KeyUse> = keys
        .iter()
        .filter(|k| {
            k.last_used
                .is_some_and(|(t, _, _)| t >= start && t < end && t > k.created)
        })
        .collect();
    let key_days: i64 = used
        .iter()
        .filter_map(|k| {
            k.last_used
                .map(|(t, _, _)| (t - start.max(k.created)).num_days() + 1)
        })
        .sum();
    let per_day = (target_events as f64 / key_days.max(1) as f64).max(1.0);

    // Plant anomalies on keys in steady use since before the window, used in its last two days.
    let n = (org.people.len() / 1000).clamp(3, 20);
    let mut candidates: Vec<&KeyUse> = used
        .iter()
        .copied()
        .filter(|k| {
            let (t, _, _) = k.last_used.unwrap_or((start, "", ""));
            k.created < start - Duration::days(120)
                && t >= day_start(as_of - Duration::days(1)) + Duration::hours(8)
                && !k.human
                && k.owner.is_none_or(|p| org.people[p].terminated.is_none())
        })
        .collect();
    candidates.sort_by_key(|k| seed_of(seed, &k.id));
    let mut planned: BTreeMap<&str, &'static str> = BTreeMap::new();
    let mut pool = candidates;
    pool.reverse();
    for (rule, count) in [
        ("new-region", n),
        ("new-network", n),
        ("new-user-agent", n),
        ("denied-burst", n),
        ("dormant-reuse", n.min(3)),
    ] {
        for i in 0..count {
            // One new network on a key whose runners rotate through Azure's
            // addresses: only the operator (the AS) tells it apart.
            let at = (rule == "new-network" && i == 0)
                .then(|| {
                    pool.iter()
                        .rposition(|k| variation(seed, k).0 == Net::Rotating)
                })
                .flatten()
                .unwrap_or(pool.len().saturating_sub(1));
            if pool.is_empty() {
                break;
            }
            let k = pool.remove(at);
            planned.insert(k.id.as_str(), rule);
        }
    }
    // A regional failover: four steady keys of one account call from another
    // region for a few minutes, together (benign, and one move: the answer
    // is one region-shift about the account, not four new regions).
    let failover_at = day_start(as_of - Duration::days(1)) + Duration::hours(3);
    let mut by_account: BTreeMap<&str, Vec<&KeyUse>> = BTreeMap::new();
    for k in &pool {
        by_account.entry(k.account.as_str()).or_default().push(k);
    }
    let failover: Vec<&KeyUse> = by_account
        .into_values()
        .find(|v| v.len() >= 4)
        .map(|v| v.into_iter().take(4).collect())
        .unwrap_or_default();
    let failover_region = ["us-west-2", "us-east-2", "eu-central-1"]
        .into_iter()
        .find(|r| {
            failover
                .iter()
                .all(|k| k.last_used.is_none_or(|(_, kr, _)| kr != *r))
        })
        .unwrap_or("eu-central-1");

    let mut per_file: BTreeMap<(String, String, DateTime<Utc>), Vec<Rec>> = BTreeMap::new();
    let mut events = 0u64;
    let mut alerts = Vec::new();
    let mut owner_left = Vec::new();
    let mut files = 0;
    let mut rng = Rng::new(seed ^ 0x7a11);
    // Written account by account: memory holds one account's events at a time.
    let mut flush = |per_file: &mut BTreeMap<(String, String, DateTime<Utc>), Vec<Rec>>,
                     events: &mut u64|
     -> Result<(), SynthError> {
        for ((acct, region, bucket), mut recs) in std::mem::take(per_file) {
            // Every file also has calls by AWS services, which belong to no customer identity.
            recs.push(service_event(
                &mut rng,
                &acct,
                &region,
                bucket + Duration::minutes(3),
            ));
            *events += 1;
            recs.sort_by_key(|r| r.time);
            let mut body =
                String::with_capacity(recs.iter().map(|r| r.json.len() + 1).sum::<usize>() + 16);
            body.push_str("{\"Records\":[");
            for (i, r) in recs.iter().enumerate() {
                if i > 0 {
                    body.push(',');
                }
                body.push_str(&r.json);
            }
            body.push_str("]}");
            let stamp = (bucket + Duration::hours(6) - Duration::minutes(5)).format("%Y%m%dT%H%MZ");
            let rel = format!(
                "aws/{acct}/cloudtrail/AWSLogs/{acct}/CloudTrail/{region}/{:04}/{:02}/{:02}/{acct}_CloudTrail_{region}_{stamp}_{}.json.gz",
                bucket.year(),
                bucket.month(),
                bucket.day(),
                rng.aws_id("", 16)
            );
            w.gzip(&rel, body.as_bytes())?;
            files += 1;
        }
        Ok(())
    };
    // Keys created inside the window, by account: their CreateAccessKey events.
    let mut created: BTreeMap<&str, Vec<&KeyUse>> = BTreeMap::new();
    for k in keys
        .iter()
        .filter(|k| k.created >= start && k.created < end)
    {
        created.entry(k.account.as_str()).or_default().push(k);
    }
    let mut creations = |acct: &str,
                         per_file: &mut BTreeMap<(String, String, DateTime<Utc>), Vec<Rec>>,
                         events: &mut u64| {
        let ai = acct_index.get(acct).copied().unwrap_or(0);
        for k in created.remove(acct).unwrap_or_default() {
            if let Some(r) = creation(org, k, ai) {
                *events += 1;
                file_rec(per_file, acct, r);
            }
        }
    };
    // Keys in a VPC, rotating, upgraded, called for by a service.
    let mut varied = (0usize, 0usize, 0usize, 0usize);
    let mut used = used;
    used.sort_by(|a, b| (&a.account, &a.id).cmp(&(&b.account, &b.id)));
    let mut current: Option<&str> = None;
    for k in &used {
        if let Some(c) = current.filter(|c| *c != k.account) {
            creations(c, &mut per_file, &mut events);
            flush(&mut per_file, &mut events)?;
        }
        current = Some(k.account.as_str());
        let Some((last, region, service)) = k.last_used else {
            continue;
        };
        let mut rng = Rng::new(seed_of(seed, &k.id));
        let ai = acct_index.get(k.account.as_str()).copied().unwrap_or(0);
        let ip = if k.human {
            format!("203.0.113.{}", 10 + rng.below(200))
        } else {
            format!("52.{}.{}.{}", 20 + ai / 250, ai % 250, 10 + rng.below(3))
        };
        let hours = if k.human {
            (8, 18)
        } else {
            let h = rng.range(0, 16);
            (h, h + 8)
        };
        let ua = if k.human {
            HUMAN_UA
        } else {
            rng.pick(UAS) as &str
        };
        let (net, upgrade, by_service) = variation(seed, k);
        match net {
            Net::Vpc(..) => varied.0 += 1,
            Net::Rotating => varied.1 += 1,
            Net::Fixed => {}
        }
        varied.2 += usize::from(upgrade.is_some());
        varied.3 += usize::from(by_service > 0);
        let next = if k.human {
            HUMAN_UA_NEXT
        } else {
            UAS.iter()
                .position(|u| *u == ua)
                .map_or(ua, |i| UAS_NEXT[i])
        };
        let h = Habit {
            key: k,
            service,
            ip,
            ua,
            hours,
            net,
            upgrade: upgrade.map(|d| (next, start + Duration::days(d as i64))),
            by_service,
        };
        let mut noise = Rng::new(seed_of(seed, &k.id) ^ 0x6361_6c6c);
        let rule = planned.get(k.id.as_str()).copied();
        let from = if rule == Some("dormant-reuse") {
            day_start(last.date_naive())
        } else {
            start.max(k.created + Duration::hours(1))
        };
        let mut recs = Vec::new();
        let mut day = day_start(from.date_naive());
        let acts = actions(service);
        while day <= last {
            let count = (per_day * (0.5 + rng.range(0, 100) as f64 / 100.0))
                .round()
                .max(1.0) as i64;
            for _ in 0..count {
                let secs = rng.range(h.hours.0 * 3600, h.hours.1 * 3600);
                let t = day + Duration::seconds(secs);
                if t < from || t >= last {
                    continue;
                }
                let act = acts[rng.below(acts.len())];
                let (ip, ua) = h.caller(&mut noise, t);
                recs.push(render(
                    &mut rng, &h, t, service, act, region, &ip, ua, false,
                ));
            }
            day += Duration::days(1);
        }
        // The credential report's last use is the last event.
        let (ip, ua) = h.caller(&mut noise, last);
        recs.push(render(
            &mut rng, &h, last, service, acts[0], region, &ip, ua, false,
        ));
        if let Some(rule) = rule {
            let t = (last - Duration::minutes(rng.range(60, 360)))
                .max(start + Duration::days(LEARNING_DAYS + 1));
            let odd = match rule {
                "new-region" => Odd {
                    rule,
                    region: Some(*rng.pick(ODD_REGIONS)),
                    ip: None,
                    ua: None,
                },
                "new-network" => Odd {
                    rule,
                    region: None,
                    ip: Some(format!(
                        "{}.{}.{}",
                        ATTACKER[rng.below(50) % ATTACKER.len()],
                        rng.below(250),
                        2 + rng.below(250)
                    )),
                    ua: None,
                },
                "new-user-agent" => Odd {
                    rule,
                    region: None,
                    ip: None,
                    ua: Some(ODD_UA),
                },
                "denied-burst" => Odd {
                    rule,
                    region: None,
                    ip: None,
                    ua: None,
                },
                _ => Odd {
                    rule,
                    region: None,
                    ip: None,
                    ua: None,
                },
            };
            match odd.rule {
                "dormant-reuse" => {
                    // Its earlier life: a day of use four months before the window.
                    let old = day_start(as_of - Duration::days(120)) + Duration::hours(h.hours.0);
                    for i in 0..5 {
                        let t = old + Duration::minutes(i * 37);
                        let (ip, ua) = h.caller(&mut noise, t);
                        recs.push(render(
                            &mut rng, &h, t, service, acts[0], region, &ip, ua, false,
                        ));
                    }
                    alerts.push(json!({"rule": "dormant-reuse", "identity": format!("aws-access-key:{}", k.id)}));
                }
                "denied-burst" => {
                    let t0 = t - Duration::seconds(t.timestamp().rem_euclid(600))
                        + Duration::seconds(30);
                    for i in 0..30 {
                        let (svc, act) = PROBES[i % PROBES.len()];
                        let t = t0 + Duration::seconds(i as i64 * 9);
                        let (ip, ua) = h.caller(&mut noise, t);
                        recs.push(render(&mut rng, &h, t, svc, act, region, &ip, ua, true));
                    }
                    alerts.push(json!({"rule": odd.rule, "identity": format!("aws-access-key:{}", k.id), "time": fmt_time(t0)}));
                }
                _ => {
                    for i in 0..3 {
                        let t = t + Duration::minutes(i * 4);
                        let (usual_ip, usual_ua) = h.caller(&mut noise, t);
                        let ip = odd.ip.clone().unwrap_or(usual_ip);
                        recs.push(render(
                            &mut rng,
                            &h,
                            t,
                            service,
                            acts[0],
                            odd.region.unwrap_or(region),
                            &ip,
                            odd.ua.unwrap_or(usual_ua),
                            false,
                        ));
                    }
                    alerts.push(json!({"rule": odd.rule, "identity": format!("aws-access-key:{}", k.id), "time": fmt_time(t)}));
                }
            }
        }
        if let Some(j) = failover.iter().position(|f| f.id == k.id) {
            for i in 0..3 {
                let t = failover_at + Duration::minutes(j as i64 * 4 + i);
                let (ip, ua) = h.caller(&mut noise, t);
                recs.push(render(
                    &mut rng,
                    &h,
                    t,
                    service,
                    acts[0],
                    failover_region,
                    &ip,
                    ua,
                    false,
                ));
            }
        }
        // Whoever is accountable for the key (the person whose own user it
        // is, or whom its `owner` tag names: answers-ownership.json) left.
        if let Some((p, left)) = k.holder.and_then(|p| Some((p, org.people[p].terminated?))) {
            if recs.iter().any(|r| r.time.date_naive() > left) {
                owner_left.push(json!({"rule": "used-after-owner-left", "identity": format!("aws-access-key:{}", k.id),
                    "owner": org.people[p].email, "left": left.to_string()}));
            }
        }
        events += recs.len() as u64;
        for r in recs {
            file_rec(&mut per_file, &k.account, r);
        }
    }
    if let Some(c) = current {
        creations(c, &mut per_file, &mut events);
    }
    flush(&mut per_file, &mut events)?;
    // Accounts where keys were created but none was used.
    for acct in accounts.iter() {
        creations(acct, &mut per_file, &mut events);
        flush(&mut per_file, &mut events)?;
    }
    let stale: Vec<String> = keys
        .iter()
        .filter(|k| {
            k.active
                && k.created < day_start(as_of - Duration::days(90))
                && k.last_used
                    .is_none_or(|(t, _, _)| t < day_start(as_of - Duration::days(90)))
        })
        .map(|k| format!("aws-access-key:{}", k.id))
        .collect();
    let never: usize = keys
        .iter()
        .filter(|k| k.active && k.last_used.is_none())
        .count();
    if let Some(f) = failover.first() {
        alerts.push(
            json!({"rule": "region-shift", "identity": format!("arn:aws:iam::{}:root", f.account),
            "region": failover_region, "time": fmt_time(failover_at)}),
        );
    }
    alerts.extend(owner_left);
    Ok(Out {
        answers: json!({
            "window": {"from": fmt_time(start), "to": fmt_time(end), "days": WINDOW_DAYS},
            "events": events,
            "files": files,
            "learning_days": LEARNING_DAYS,
            "variation": {
                "keys_in_a_vpc": varied.0,
                "keys_rotating_public_addresses": varied.1,
                "keys_whose_sdk_is_upgraded": varied.2,
                "keys_an_aws_service_calls_for": varied.3,
            },
            "alerts": alerts,
            "stale_days": 90,
            "stale_keys": stale,
            "never_used_active_keys": never,
        }),
    })
}
