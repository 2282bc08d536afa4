//! Audit logs shaped like a busy estate's, for `custody bench logs`: no
//! company and no answers, only the shapes real deliveries have.
//!
//! The synthetic company's own trail is steady by design (it is an answer
//! key: each key keeps one region, network and client). Real logs are not:
//! a busy account's CloudTrail delivery holds thousands of events from
//! hundreds of principals, assumed-role sessions with a fresh `ASIA` key
//! each, AWS services calling for themselves and on a principal's behalf,
//! thousands of source addresses and client strings, throttling and denials.
//! This module writes all seven audit logs custody reads that way:
//!
//! * file sizes drawn log-uniformly between ~100 KB and ~10 MB of JSON;
//! * about half the files gzipped (as S3 and storage exports deliver them),
//!   the rest plain; about one in seven pretty-printed (as `jq .`, `aws logs` or a
//!   portal download leaves them), the rest compact;
//! * each format in its native envelope: CloudTrail's `{"Records": [...]}`,
//!   Okta's and `gcloud logging read`'s JSON arrays or one event per line,
//!   GitHub's, Kubernetes', Vault's and Entra's JSON lines;
//! * identities drawn with a heavy head (a few callers make most calls),
//!   addresses from thousands of public /24s and private ranges, thousands
//!   of distinct user agents, a few percent errors of which half are denials.

use crate::cloudtrail::{fmt_time as fmt, uuid};
use crate::rng::Rng;
use crate::SynthError;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{json, Value};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The seven logs, by the name custody gives their format.
pub const FORMATS: [&str; 7] = [
    "aws-cloudtrail",
    "okta-system-log",
    "github-audit-log",
    "kubernetes-audit-log",
    "vault-audit-log",
    "gcp-audit-log",
    "entra-service-principal-sign-ins",
];

/// One file written.
#[derive(Debug, Clone)]
pub struct LogBenchFile {
    pub path: PathBuf,
    pub format: &'static str,
    pub events: usize,
    /// Size on disk.
    pub bytes: u64,
    /// Size of the JSON (uncompressed).
    pub json_bytes: u64,
    pub gzip: bool,
    pub pretty: bool,
}

/// Writes about `events` events of `format` under `dir/<format>/`. The same
/// (format, events, seed) writes the same files.
pub fn write(
    dir: &Path,
    format: &'static str,
    events: usize,
    seed: u64,
) -> Result<Vec<LogBenchFile>, SynthError> {
    let kind = FORMATS
        .iter()
        .position(|f| *f == format)
        .ok_or_else(|| SynthError::Invalid(format!("no such log format: {format}")))?;
    let mut rng = Rng::new(seed ^ (kind as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let pool = Pool::new(&mut rng, events);
    let root = dir.join(format);
    let day = NaiveDate::from_ymd_opt(2026, 11, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .unwrap_or_default();
    let mut out = Vec::new();
    let mut left = events;
    let mut n = 0usize;
    while left > 0 {
        // Log-uniform between 100 KB and 10 MB of JSON.
        let target = (100_000f64 * 100f64.powf(rng.range(0, 1_000_000) as f64 / 1e6)) as usize;
        let count = (target / pool.event_size(kind)).clamp(1, left);
        left -= count;
        let gzip = rng.chance(0.5);
        let pretty = rng.chance(0.15);
        let start = day + Duration::seconds(rng.range(0, 86_400 - 3_600));
        let mut evs = Vec::with_capacity(count);
        for i in 0..count {
            let t = start + Duration::milliseconds((i as i64 * 3_600_000) / count as i64);
            evs.push(pool.event(&mut rng, kind, t, n + i));
        }
        let text = envelope(kind, &evs, pretty, &mut rng)?;
        let rel = file_name(kind, n, start, gzip, &pool, &mut rng);
        let path = root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(&path, e))?;
        }
        let bytes = if gzip {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(text.as_bytes()).map_err(|e| io(&path, e))?;
            enc.finish().map_err(|e| io(&path, e))?
        } else {
            text.clone().into_bytes()
        };
        std::fs::write(&path, &bytes).map_err(|e| io(&path, e))?;
        out.push(LogBenchFile {
            path,
            format,
            events: count,
            bytes: bytes.len() as u64,
            json_bytes: text.len() as u64,
            gzip,
            pretty,
        });
        n += count;
    }
    Ok(out)
}

fn io(path: &Path, source: std::io::Error) -> SynthError {
    SynthError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Where each format's files are kept (Kubernetes' path names its cluster).
fn file_name(
    kind: usize,
    n: usize,
    start: DateTime<Utc>,
    gzip: bool,
    pool: &Pool,
    rng: &mut Rng,
) -> String {
    let stamp = start.format("%Y%m%dT%H%MZ");
    let gz = if gzip { ".gz" } else { "" };
    match kind {
        0 => {
            let acct = rng.pick(&pool.accounts);
            let region = rng.pick(REGIONS);
            format!(
                "AWSLogs/{acct}/CloudTrail/{region}/2026/11/01/{acct}_CloudTrail_{region}_{stamp}_{n:08}.json{gz}"
            )
        }
        1 => format!("okta-system-log-{stamp}-{n:08}.json{gz}"),
        2 => format!("github-audit-{stamp}-{n:08}.json{gz}"),
        3 => format!(
            "kubernetes/{}/audit/audit-{stamp}-{n:08}.log{gz}",
            rng.pick(&pool.clusters)
        ),
        4 => format!("vault-audit-{stamp}-{n:08}.log{gz}"),
        5 => format!("gcp-audit-{stamp}-{n:08}.json{gz}"),
        _ => format!("entra-signins-PT1H-{stamp}-{n:08}.json{gz}"),
    }
}

/// The file around the events: CloudTrail's `Records`, an array for Okta's
/// API and `gcloud logging read` (half the time), Entra's `records` (half
/// the time), else one event per line.
fn envelope(kind: usize, evs: &[Value], pretty: bool, rng: &mut Rng) -> Result<String, SynthError> {
    let to = |v: &Value| -> Result<String, SynthError> {
        let r = if pretty {
            serde_json::to_string_pretty(v)
        } else {
            serde_json::to_string(v)
        };
        r.map_err(|e| SynthError::Invalid(e.to_string()))
    };
    let array = kind == 1 || kind == 5;
    if kind == 0 {
        return to(&json!({ "Records": evs }));
    }
    if kind == 6 && rng.chance(0.5) {
        // A storage account's diagnostic delivery.
        return to(&json!({ "records": evs }));
    }
    if array && rng.chance(0.5) {
        return to(&Value::Array(evs.to_vec()));
    }
    // JSON lines are one event per line, however they are printed elsewhere.
    let mut s = String::new();
    for e in evs {
        s.push_str(&serde_json::to_string(e).map_err(|e| SynthError::Invalid(e.to_string()))?);
        s.push('\n');
    }
    Ok(s)
}

const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-1",
    "ap-northeast-1",
];

const SERVICES: &[(&str, &[&str])] = &[
    (
        "s3",
        &[
            "GetObject",
            "PutObject",
            "ListObjects",
            "HeadObject",
            "ListBuckets",
        ],
    ),
    (
        "sts",
        &[
            "GetCallerIdentity",
            "AssumeRole",
            "AssumeRoleWithWebIdentity",
        ],
    ),
    (
        "ec2",
        &[
            "DescribeInstances",
            "DescribeSecurityGroups",
            "RunInstances",
            "DescribeVolumes",
        ],
    ),
    ("kms", &["Decrypt", "GenerateDataKey", "Encrypt"]),
    (
        "secretsmanager",
        &["GetSecretValue", "DescribeSecret", "ListSecrets"],
    ),
    (
        "dynamodb",
        &["GetItem", "PutItem", "Query", "DescribeTable"],
    ),
    ("lambda", &["Invoke", "GetFunction", "ListFunctions"]),
    (
        "iam",
        &[
            "ListRoles",
            "GetRole",
            "ListAttachedRolePolicies",
            "PassRole",
        ],
    ),
    (
        "logs",
        &["PutLogEvents", "CreateLogStream", "DescribeLogGroups"],
    ),
    ("ssm", &["GetParameter", "GetParametersByPath"]),
];

const AWS_CALLERS: &[&str] = &[
    "cloudformation.amazonaws.com",
    "lambda.amazonaws.com",
    "ec2.amazonaws.com",
    "autoscaling.amazonaws.com",
    "ecs-tasks.amazonaws.com",
    "AWS Internal",
    "config.amazonaws.com",
];

/// Who calls, from where and with what: drawn once per run.
struct Pool {
    accounts: Vec<String>,
    clusters: Vec<String>,
    /// Long-lived callers: (key or id, name, account index).
    users: Vec<(String, String, usize)>,
    roles: Vec<(String, String, usize)>,
    ips: Vec<String>,
    agents: Vec<String>,
}

impl Pool {
    fn new(rng: &mut Rng, events: usize) -> Pool {
        let callers = (events / 250).clamp(50, 20_000);
        let accounts: Vec<String> = (0..(callers / 40).clamp(3, 200))
            .map(|_| rng.digits(12))
            .collect();
        let clusters = (0..8).map(|i| format!("prod-{i}")).collect();
        let users = (0..callers)
            .map(|i| {
                (
                    rng.aws_id("AKIA", 16),
                    format!("svc-{i}-{}", rng.hex(4)),
                    rng.below(accounts.len()),
                )
            })
            .collect();
        let roles = (0..callers / 2)
            .map(|i| {
                (
                    format!("AROA{}", rng.hex(17).to_uppercase()),
                    format!("role-{i}-{}", rng.hex(4)),
                    rng.below(accounts.len()),
                )
            })
            .collect();
        let mut ips = Vec::new();
        for _ in 0..(events / 50).clamp(500, 50_000) {
            let ip = if rng.chance(0.3) {
                format!(
                    "10.{}.{}.{}",
                    rng.below(256),
                    rng.below(256),
                    1 + rng.below(254)
                )
            } else {
                format!(
                    "{}.{}.{}.{}",
                    [3, 13, 18, 34, 35, 44, 52, 54, 20, 40, 4, 104, 151, 185, 203][rng.below(15)],
                    rng.below(256),
                    rng.below(256),
                    1 + rng.below(254)
                )
            };
            ips.push(ip);
        }
        let mut agents = Vec::new();
        for _ in 0..(events / 200).clamp(200, 5_000) {
            let (a, b, c) = (rng.below(3), rng.below(60), rng.below(20));
            agents.push(match rng.below(8) {
                0 => format!("aws-cli/2.{b}.{c} Python/3.11.{a} Linux/5.10.{b} exe/x86_64.amzn.2 prompt/off command/s3.cp"),
                1 => format!("Boto3/1.34.{b} md/Botocore#1.34.{b} ua/2.0 os/linux#5.10.{c} md/arch#x86_64 lang/python#3.12.{a} cfg/retry-mode#standard Botocore/1.34.{b}"),
                2 => format!("aws-sdk-go-v2/1.{b}.{c} os/linux lang/go#1.22.{a} md/GOOS#linux md/GOARCH#amd64 api/s3#1.{c}.{b}"),
                3 => format!("APN/1.0 HashiCorp/1.0 Terraform/1.{c}.{a} (+https://www.terraform.io) terraform-provider-aws/5.{b}.0 aws-sdk-go-v2/1.{b}.{c}"),
                4 => format!("aws-sdk-java/2.{b}.{c} Linux/5.10.{b} OpenJDK_64-Bit_Server_VM/17.0.{c}+7-LTS Java/17.0.{c} vendor/Amazon.com_Inc. io/sync http/Apache"),
                5 => format!("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_{a}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/12{a}.0.{b}{c}.0 Safari/537.36"),
                6 => format!("kubectl/v1.{}.{c} (linux/amd64) kubernetes/{}", 25 + a, rng.hex(7)),
                _ => format!("google-api-go-client/0.{b}.{c} gcloud/4{b}.0.{c} command/gcloud.storage.cp"),
            });
        }
        Pool {
            accounts,
            clusters,
            users,
            roles,
            ips,
            agents,
        }
    }

    /// About how many bytes of compact JSON one event of `kind` takes.
    fn event_size(&self, kind: usize) -> usize {
        [1_300, 1_200, 450, 900, 1_100, 1_100, 1_300][kind]
    }

    /// A heavy-headed pick: a few callers make most calls.
    fn skewed(rng: &mut Rng, n: usize) -> usize {
        let u = rng.range(0, 1_000_000) as f64 / 1e6;
        ((n as f64) * u * u * u) as usize % n.max(1)
    }

    fn ip<'a>(&'a self, rng: &mut Rng, who: usize) -> &'a str {
        // Most calls of a caller come from its own few addresses.
        if rng.chance(0.8) {
            &self.ips[(who * 7 + rng.below(3)) % self.ips.len()]
        } else {
            rng.pick(&self.ips).as_str()
        }
    }

    fn agent<'a>(&'a self, rng: &mut Rng, who: usize) -> &'a str {
        if rng.chance(0.85) {
            &self.agents[(who * 13) % self.agents.len()]
        } else {
            rng.pick(&self.agents).as_str()
        }
    }

    fn event(&self, rng: &mut Rng, kind: usize, t: DateTime<Utc>, n: usize) -> Value {
        match kind {
            0 => self.cloudtrail(rng, t),
            1 => self.okta(rng, t, n),
            2 => self.github(rng, t),
            3 => self.kubernetes(rng, t, n),
            4 => self.vault(rng, t),
            5 => self.gcp(rng, t, n),
            _ => self.entra(rng, t, n),
        }
    }

    fn cloudtrail(&self, rng: &mut Rng, t: DateTime<Utc>) -> Value {
        let (service, actions) = SERVICES[Self::skewed(rng, SERVICES.len())];
        let action = *rng.pick(actions);
        let region = REGIONS[Self::skewed(rng, REGIONS.len())];
        let source = format!("{service}.amazonaws.com");
        let roll = rng.below(100);
        let (identity, ip, agent, acct): (Value, String, String, &str);
        if roll < 12 {
            // An AWS service acting for itself: no customer identity.
            let caller = *rng.pick(AWS_CALLERS);
            acct = rng.pick(&self.accounts).as_str();
            identity = json!({"type": "AWSService", "invokedBy": caller});
            ip = caller.to_string();
            agent = caller.to_string();
        } else if roll < 50 {
            let who = Self::skewed(rng, self.users.len());
            let (key, name, a) = &self.users[who];
            acct = &self.accounts[*a];
            identity = json!({
                "type": "IAMUser",
                "principalId": format!("AIDA{}", &key[4..]),
                "arn": format!("arn:aws:iam::{acct}:user/{name}"),
                "accountId": acct,
                "accessKeyId": key,
                "userName": name,
            });
            if rng.chance(0.05) {
                // On the principal's behalf (CloudFormation, Athena…).
                let caller = *rng.pick(AWS_CALLERS);
                ip = caller.to_string();
                agent = caller.to_string();
            } else {
                ip = self.ip(rng, who).to_string();
                agent = self.agent(rng, who).to_string();
            }
        } else {
            let who = Self::skewed(rng, self.roles.len());
            let (id, name, a) = &self.roles[who];
            acct = &self.accounts[*a];
            let session = if rng.chance(0.3) {
                format!("i-{}", rng.hex(17))
            } else {
                format!("{name}-session-{}", rng.below(50))
            };
            identity = json!({
                "type": "AssumedRole",
                "principalId": format!("{id}:{session}"),
                "arn": format!("arn:aws:sts::{acct}:assumed-role/{name}/{session}"),
                "accountId": acct,
                "accessKeyId": rng.aws_id("ASIA", 16),
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": id,
                        "arn": format!("arn:aws:iam::{acct}:role/{name}"),
                        "accountId": acct,
                        "userName": name,
                    },
                    "webIdFederationData": {},
                    "attributes": {
                        "creationDate": fmt(t - Duration::minutes(rng.range(1, 55))),
                        "mfaAuthenticated": "false",
                    },
                },
            });
            ip = self.ip(rng, who + 50_000).to_string();
            agent = self.agent(rng, who + 50_000).to_string();
        }
        let mut ev = json!({
            "eventVersion": "1.09",
            "userIdentity": identity,
            "eventTime": fmt(t),
            "eventSource": source,
            "eventName": action,
            "awsRegion": region,
            "sourceIPAddress": ip,
            "userAgent": agent,
            "requestParameters": if rng.chance(0.3) { Value::Null } else { json!({
                "bucketName": format!("data-{}", rng.hex(6)),
                "key": format!("exports/{}/{}.parquet", rng.below(400), rng.hex(12)),
                "Host": format!("{service}.{region}.amazonaws.com"),
            })},
            "responseElements": Value::Null,
            "additionalEventData": {
                "SignatureVersion": "SigV4",
                "CipherSuite": "TLS_AES_128_GCM_SHA256",
                "bytesTransferredIn": rng.below(4096),
                "AuthenticationMethod": "AuthHeader",
                "x-amz-id-2": rng.hex(60),
            },
            "requestID": rng.hex(16).to_uppercase(),
            "eventID": uuid(rng),
            "readOnly": action.starts_with("Get") || action.starts_with("List") || action.starts_with("Describe"),
            "resources": [{
                "type": "AWS::S3::Object",
                "ARN": format!("arn:aws:s3:::data-{}/exports/{}", rng.hex(6), rng.hex(10)),
            }],
            "eventType": "AwsApiCall",
            "managementEvent": service != "s3",
            "recipientAccountId": acct,
            "eventCategory": if service == "s3" { "Data" } else { "Management" },
            "tlsDetails": {
                "tlsVersion": "TLSv1.3",
                "cipherSuite": "TLS_AES_128_GCM_SHA256",
                "clientProvidedHostHeader": format!("{service}.{region}.amazonaws.com"),
            },
        });
        let err = rng.below(100);
        if err < 2 {
            ev["errorCode"] = json!("AccessDenied");
            ev["errorMessage"] = json!(format!(
                "User is not authorized to perform: {service}:{action}"
            ));
        } else if err < 4 {
            ev["errorCode"] = json!(*rng.pick(&[
                "ThrottlingException",
                "NoSuchKey",
                "ResourceNotFoundException"
            ]));
            ev["errorMessage"] = json!("Rate exceeded");
        }
        ev
    }

    fn okta(&self, rng: &mut Rng, t: DateTime<Utc>, n: usize) -> Value {
        let who = Self::skewed(rng, self.users.len());
        let app = rng.chance(0.4);
        let id = if app {
            format!("0oa{}", &self.users[who].0[4..])
        } else {
            format!("00u{}", &self.users[who].0[4..])
        };
        let (event_type, denied) = match rng.below(100) {
            0..=2 => ("app.oauth2.as.token.grant", true),
            _ if app => ("app.oauth2.as.token.grant.access_token", false),
            3..=40 => ("user.session.start", false),
            41..=70 => ("user.authentication.sso", false),
            _ => ("policy.evaluate_sign_on", false),
        };
        let ip = self.ip(rng, who);
        json!({
            "uuid": uuid(rng),
            "published": t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            "eventType": event_type,
            "version": "0",
            "severity": if denied { "WARN" } else { "INFO" },
            "displayMessage": event_type,
            "actor": {
                "id": id,
                "type": if app { "PublicClientApp" } else { "User" },
                "alternateId": self.users[who].1,
                "displayName": self.users[who].1,
                "detailEntry": Value::Null,
            },
            "client": {
                "userAgent": {"rawUserAgent": self.agent(rng, who), "os": "Linux", "browser": "UNKNOWN"},
                "zone": "null",
                "device": "Computer",
                "id": Value::Null,
                "ipAddress": ip,
                "geographicalContext": {
                    "city": "Ashburn", "state": "Virginia", "country": "United States", "postalCode": "20149",
                    "geolocation": {"lat": 39.0 + (who % 40) as f64 / 10.0, "lon": -77.4 - (who % 30) as f64 / 10.0},
                },
            },
            "device": Value::Null,
            "authenticationContext": {
                "authenticationProvider": Value::Null, "credentialProvider": Value::Null,
                "credentialType": Value::Null, "issuer": Value::Null, "interface": Value::Null,
                "authenticationStep": 0, "externalSessionId": format!("idx{}", rng.hex(20)),
            },
            "outcome": {
                "result": if denied { "FAILURE" } else { "SUCCESS" },
                "reason": if denied { json!("no_matching_policy") } else { Value::Null },
            },
            "securityContext": {
                "asNumber": ([16509, 14618, 8075, 15169, 7018])[who % 5],
                "asOrg": "amazon.com inc.", "isp": "amazon.com inc.", "domain": "amazonaws.com", "isProxy": false,
            },
            "debugContext": {"debugData": {"requestId": rng.hex(24), "requestUri": "/oauth2/v1/token", "url": "/oauth2/v1/token?"}},
            "legacyEventType": Value::Null,
            "transaction": {"type": "WEB", "id": rng.hex(24), "detail": {}},
            "request": {"ipChain": [{"ip": ip, "version": "V4", "source": Value::Null}]},
            "target": [{"id": format!("0oa{:017}", n % 997), "type": "AppInstance", "alternateId": "aws", "displayName": "AWS"}],
        })
    }

    fn github(&self, rng: &mut Rng, t: DateTime<Utc>) -> Value {
        let who = Self::skewed(rng, self.users.len());
        let action = *rng.pick(&[
            "git.clone",
            "git.fetch",
            "git.push",
            "repo.download_zip",
            "workflows.completed_workflow_run",
            "protected_branch.policy_override",
            "repo.access",
        ]);
        let mut ev = json!({
            "@timestamp": t.timestamp_millis(),
            "_document_id": rng.hex(22),
            "action": action,
            "actor": format!("{}-bot", self.users[who].1),
            "actor_id": 100_000 + who,
            "actor_ip": self.ip(rng, who),
            "actor_location": {"country_code": "US"},
            "org": "northwind",
            "org_id": 4242,
            "repo": format!("northwind/repo-{}", rng.below(900)),
            "repository_public": false,
            "user_agent": self.agent(rng, who),
            "transport_protocol_name": "http",
            "transport_protocol": 1,
            "business": "northwind-ent",
        });
        match rng.below(3) {
            0 => {
                ev["programmatic_access_type"] = json!("Fine-grained personal access token");
                ev["token_id"] = json!(9_000_000 + who);
                ev["hashed_token"] = json!(format!("{}=", rng.hex(43)));
            }
            1 => {
                ev["programmatic_access_type"] = json!("GitHub App server-to-server token");
                ev["integration"] = json!(format!("app-{}", who % 40));
            }
            _ => {}
        }
        ev
    }

    fn kubernetes(&self, rng: &mut Rng, t: DateTime<Utc>, n: usize) -> Value {
        let who = Self::skewed(rng, self.users.len());
        let ns = format!("ns-{}", who % 60);
        let user = if rng.chance(0.9) {
            format!("system:serviceaccount:{ns}:sa-{}", who % 500)
        } else {
            format!("{}@corp.example", self.users[who].1)
        };
        let verb = *rng.pick(&[
            "get", "list", "watch", "create", "update", "patch", "delete",
        ]);
        let resource = *rng.pick(&[
            "secrets",
            "configmaps",
            "pods",
            "deployments",
            "leases",
            "events",
        ]);
        let code = match rng.below(100) {
            0..=2 => 403,
            3..=5 => 404,
            _ => 200,
        };
        let time = t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
        json!({
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "level": "Metadata",
            "auditID": uuid(rng),
            "stage": if n.is_multiple_of(5) { "RequestReceived" } else { "ResponseComplete" },
            "requestURI": format!("/api/v1/namespaces/{ns}/{resource}/obj-{}", rng.below(300)),
            "verb": verb,
            "user": {"username": user, "uid": uuid(rng), "groups": ["system:serviceaccounts", format!("system:serviceaccounts:{ns}"), "system:authenticated"],
                     "extra": {"authentication.kubernetes.io/pod-name": [format!("pod-{}", rng.hex(5))]}},
            "sourceIPs": [self.ip(rng, who)],
            "userAgent": self.agent(rng, who),
            "objectRef": {"resource": resource, "namespace": ns, "name": format!("obj-{}", rng.below(300)), "apiVersion": "v1"},
            "responseStatus": {"metadata": {}, "code": code},
            "requestReceivedTimestamp": time,
            "stageTimestamp": time,
            "annotations": {"authorization.k8s.io/decision": if code == 403 { "forbid" } else { "allow" },
                            "authorization.k8s.io/reason": "RBAC: allowed by ClusterRoleBinding"},
        })
    }

    fn vault(&self, rng: &mut Rng, t: DateTime<Utc>) -> Value {
        let who = Self::skewed(rng, self.users.len());
        let role = format!("role-{}", who % 2_000);
        let accessor = format!("hmac-sha256:{}", rng.hex(64));
        let token = format!("hmac-sha256:{}", rng.hex(64));
        let denied = rng.below(100) < 2;
        let response = rng.chance(0.5);
        let mut ev = json!({
            "time": t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            "type": if response { "response" } else { "request" },
            "auth": {
                "client_token": token,
                "accessor": accessor,
                "display_name": format!("approle-{role}"),
                "policies": ["default", role],
                "token_policies": ["default", role],
                "metadata": {"role_name": role},
                "entity_id": format!("{:08x}-0000-4000-8000-{:012x}", who, who),
                "token_type": "service",
                "token_ttl": 3600,
                "token_issue_time": fmt(t - Duration::minutes(10)),
            },
            "request": {
                "id": uuid(rng),
                "operation": *rng.pick(&["read", "update", "list"]),
                "mount_type": "kv",
                "mount_accessor": "kv_1a2b3c4d",
                "client_token": token,
                "client_token_accessor": accessor,
                "namespace": {"id": "root"},
                "path": format!("secret/data/team-{}/app-{}", who % 90, rng.below(40)),
                "remote_address": self.ip(rng, who),
                "remote_port": 40_000 + rng.below(20_000),
            },
        });
        if response {
            ev["response"] = json!({"mount_type": "kv", "mount_accessor": "kv_1a2b3c4d", "data": {"data": "hmac-sha256:redacted"}});
        }
        if denied {
            ev["error"] = json!("1 error occurred:\n\t* permission denied\n\n");
        }
        ev
    }

    fn gcp(&self, rng: &mut Rng, t: DateTime<Utc>, n: usize) -> Value {
        let who = Self::skewed(rng, self.users.len());
        let project = format!("proj-{}", who % 80);
        let email = format!("sa-{}@{project}.iam.gserviceaccount.com", who % 3_000);
        let method = *rng.pick(&[
            "storage.objects.get",
            "storage.objects.create",
            "google.iam.admin.v1.ListServiceAccounts",
            "google.cloud.secretmanager.v1.SecretManagerService.AccessSecretVersion",
            "v1.compute.instances.list",
        ]);
        let denied = rng.below(100) < 2;
        let time = t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string();
        let mut payload = json!({
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "authenticationInfo": {"principalEmail": email},
            "requestMetadata": {"callerIp": self.ip(rng, who), "callerSuppliedUserAgent": self.agent(rng, who),
                                "requestAttributes": {"time": time, "auth": {}}, "destinationAttributes": {}},
            "serviceName": method.split('.').next().map(|s| format!("{s}.googleapis.com")).unwrap_or_default(),
            "methodName": method,
            "authorizationInfo": [{"resource": format!("projects/_/buckets/{project}-data/objects/{}", rng.hex(10)),
                                   "permission": "storage.objects.get", "granted": !denied, "resourceAttributes": {}}],
            "resourceName": format!("projects/_/buckets/{project}-data/objects/{}", rng.hex(10)),
            "resourceLocation": {"currentLocations": [*rng.pick(&["us-central1", "europe-west1", "us"])]},
        });
        if rng.chance(0.3) {
            // A key of the account's own (each has one or two).
            payload["authenticationInfo"]["serviceAccountKeyName"] = json!(format!(
                "//iam.googleapis.com/projects/{project}/serviceAccounts/{email}/keys/{:040x}",
                (who % 3_000) * 2 + rng.below(2)
            ));
        }
        if denied {
            payload["status"] = json!({"code": 7, "message": "PERMISSION_DENIED"});
        }
        json!({
            "protoPayload": payload,
            "insertId": format!("{}{n}", rng.hex(10)),
            "resource": {"type": "gcs_bucket", "labels": {"project_id": project, "bucket_name": format!("{project}-data"), "location": "us-central1"}},
            "timestamp": time,
            "severity": if denied { "ERROR" } else { "INFO" },
            "logName": format!("projects/{project}/logs/cloudaudit.googleapis.com%2Fdata_access"),
            "receiveTimestamp": time,
        })
    }

    fn entra(&self, rng: &mut Rng, t: DateTime<Utc>, n: usize) -> Value {
        let who = Self::skewed(rng, self.users.len());
        let app = format!("{:08x}-{:04x}-4000-8000-{:012x}", who, n % 65_536, who * 7);
        let sp = format!("{:08x}-1111-4000-8000-{:012x}", who, who * 3);
        let code = if rng.below(100) < 3 { 7_000_215 } else { 0 };
        let ip = self.ip(rng, who).to_string();
        let time = format!("{}0Z", t.format("%Y-%m-%dT%H:%M:%S%.6f"));
        json!({
            "time": time,
            "resourceId": "/tenants/0f6c2d4e-1a2b-4c3d-8e9f-aa11bb22cc33/providers/Microsoft.aadiam",
            "operationName": "Sign-in activity",
            "operationVersion": "1.0",
            "category": "ServicePrincipalSignInLogs",
            "tenantId": "0f6c2d4e-1a2b-4c3d-8e9f-aa11bb22cc33",
            "resultType": code.to_string(),
            "resultSignature": "None",
            "durationMs": 0,
            "callerIpAddress": ip,
            "correlationId": uuid(rng),
            "Level": 4,
            "location": "US",
            "properties": {
                "id": uuid(rng),
                "createdDateTime": format!("{}0+00:00", t.format("%Y-%m-%dT%H:%M:%S%.6f")),
                "userId": Value::Null,
                "appId": app,
                "ipAddress": ip,
                "status": {"errorCode": code},
                "location": {"city": "Dublin", "state": "Dublin", "countryOrRegion": "IE",
                             "geoCoordinates": {"latitude": 53.3 + (who % 9) as f64 / 10.0, "longitude": -6.2}},
                "resourceDisplayName": *rng.pick(&["Microsoft Graph", "Azure Key Vault", "Windows Azure Service Management API"]),
                "resourceId": "00000003-0000-0000-c000-000000000000",
                "servicePrincipalName": format!("app-{who}"),
                "servicePrincipalId": sp,
                "servicePrincipalCredentialKeyId": format!("{:08x}-2222-4000-8000-{:012x}", who, who),
                "servicePrincipalCredentialThumbprint": "",
                "clientCredentialType": "clientSecret",
                "isInteractive": false,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_writes_its_events_in_files_of_varied_shapes() {
        let dir = tempfile::tempdir().unwrap();
        for f in FORMATS {
            let files = write(dir.path(), f, 3_000, 7).unwrap();
            assert_eq!(files.iter().map(|f| f.events).sum::<usize>(), 3_000, "{f}");
            for x in &files {
                let raw = std::fs::read(&x.path).unwrap();
                assert_eq!(raw.starts_with(&[0x1f, 0x8b]), x.gzip);
                assert_eq!(raw.len() as u64, x.bytes);
            }
        }
        // Deterministic.
        let a = write(dir.path(), "okta-system-log", 500, 1).unwrap();
        let b = std::fs::read(&a[0].path).unwrap();
        write(dir.path(), "okta-system-log", 500, 1).unwrap();
        assert_eq!(std::fs::read(&a[0].path).unwrap(), b);
    }
}
