//! AWS, organisation-wide: the accounts, OUs and SCPs from Organizations,
//! then in every account (a role assumed there, accounts in parallel)
//! IAM's authorization details, the credential report, each user's access
//! keys and the instance profiles — the files and folder layout
//! `docs/CONNECTORS.md` gives for hand-made exports.
//!
//! Retries are the SDK's standard mode (exponential backoff with jitter on
//! throttling and transient errors) with more attempts than its default; a
//! call that still fails is a [`Failure`] of its scope.

use crate::{chain, write, Error, Progress, Report, ScopeReport, Tally};
use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_iam::config::{ConfigBag, Intercept, ProvideCredentials, RuntimeComponents};
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::primitives::{DateTime, DateTimeFormat};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The role assumed in each member account unless told otherwise: the one
/// Organizations creates in every account it creates.
pub const DEFAULT_ROLE: &str = "OrganizationAccountAccessRole";

/// What to collect and as whom.
#[derive(Debug, Clone)]
pub struct AwsOptions {
    /// A named profile (default: the SDK's chain: `AWS_PROFILE`, the
    /// environment, SSO, instance metadata).
    pub profile: Option<String>,
    /// An AWS-compatible endpoint (a local emulator such as moto).
    pub endpoint_url: Option<String>,
    /// The role assumed in each account other than the caller's own.
    pub role_name: String,
    /// Only these account ids (empty: every active account of the
    /// organisation, or the caller's account outside an organisation).
    pub accounts: Vec<String>,
    /// Accounts collected at once.
    pub concurrency: usize,
    /// Attempts per call, retries included.
    pub max_attempts: u32,
    /// How long to wait for IAM to generate a credential report.
    pub report_wait: Duration,
    /// Regions whose resources are listed (Secrets Manager, KMS, Lambda,
    /// EKS); empty: the configured region (`AWS_REGION`, the profile's).
    pub regions: Vec<String>,
    /// Skip the resource inventory (IAM and Organizations only).
    pub no_inventory: bool,
    /// Read each Secrets Manager secret's value (`GetSecretValue`) into
    /// memory for fingerprinting: opt-in, never written.
    pub read_secret_values: bool,
    /// CloudTrail log files the caller's trails delivered in this window
    /// (from, to); `None`: no CloudTrail.
    pub cloudtrail: Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>,
}

impl Default for AwsOptions {
    fn default() -> Self {
        AwsOptions {
            profile: None,
            endpoint_url: None,
            role_name: DEFAULT_ROLE.to_string(),
            accounts: Vec::new(),
            concurrency: 8,
            max_attempts: 8,
            report_wait: Duration::from_secs(120),
            regions: Vec::new(),
            no_inventory: false,
            read_secret_values: false,
            cloudtrail: None,
        }
    }
}

/// Collects the organisation into `dir` (created, owner-only).
pub async fn collect(
    options: &AwsOptions,
    dir: &Path,
    progress: &dyn Progress,
) -> Result<Report, Error> {
    let started = Instant::now();
    write::snapshot(dir)?;
    let base = load(options).await;
    let provider = base
        .credentials_provider()
        .ok_or_else(|| Error::NoCredentials("no credentials provider configured".into()))?;
    provider
        .provide_credentials()
        .await
        .map_err(|e| Error::NoCredentials(chain(&e)))?;
    let sts = aws_sdk_sts::Client::new(&base);
    let me = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| Error::NoCredentials(describe(&e)))?;
    let caller = me.arn().unwrap_or_default().to_string();
    let own_account = me.account().unwrap_or_default().to_string();
    let partition = caller.split(':').nth(1).unwrap_or("aws").to_string();

    let mut scopes = Vec::new();
    let org = organization(&base, dir).await;
    let mut accounts = match &org {
        Org::Listed(accounts, _) => accounts.clone(),
        Org::None | Org::Failed(_) => vec![own_account.clone()],
    };
    match org {
        Org::Listed(_, report) | Org::Failed(report) => scopes.push(report),
        Org::None => {}
    }
    if !options.accounts.is_empty() {
        accounts = options.accounts.clone();
    }
    accounts.sort();
    accounts.dedup();
    progress.scopes(
        accounts.len() as u64 + scopes.len() as u64 + u64::from(options.cloudtrail.is_some()),
    );
    for s in &scopes {
        progress.scope_done(s);
    }

    let regions: Vec<String> = if options.regions.is_empty() {
        vec![base
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".into())]
    } else {
        options.regions.clone()
    };
    let limit = Arc::new(tokio::sync::Semaphore::new(options.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for account in accounts {
        let limit = limit.clone();
        let base = base.clone();
        let dir = dir.to_path_buf();
        let role = (account != own_account)
            .then(|| format!("arn:{partition}:iam::{account}:role/{}", options.role_name));
        let inventory = Inventory {
            endpoint: options.endpoint_url.clone(),
            read_values: options.read_secret_values,
            regions: if options.no_inventory {
                None
            } else {
                Some(regions.clone())
            },
            max_attempts: options.max_attempts,
        };
        let wait = options.report_wait;
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            collect_account(&base, &account, role, &dir, wait, &inventory).await
        });
    }
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(report) => {
                progress.scope_done(&report);
                scopes.push(report);
            }
            Err(e) => scopes.push(crashed(e)),
        }
    }
    if let Some((since, until)) = options.cloudtrail {
        let started = Instant::now();
        let tally = Tally::default();
        match credentials_of(&base).await {
            Ok(c) => {
                let window = crate::aws_cloudtrail::Window { since, until };
                crate::aws_cloudtrail::collect(
                    options.endpoint_url.as_deref(),
                    &c,
                    &regions[0],
                    &window,
                    options.max_attempts,
                    dir,
                    &tally,
                )
                .await
            }
            Err(e) => tally.fail("CloudTrail", e),
        }
        let report = tally.report("aws:cloudtrail".into(), started.elapsed());
        progress.scope_done(&report);
        scopes.push(report);
    }
    Ok(Report::new("aws", Some(caller), scopes, started.elapsed()))
}

fn crashed(e: tokio::task::JoinError) -> ScopeReport {
    let tally = Tally::default();
    tally.fail("collect", format!("the collection task stopped: {e}"));
    tally.report("aws:unknown".into(), Duration::ZERO)
}

async fn load(options: &AwsOptions) -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(RetryConfig::standard().with_max_attempts(options.max_attempts.max(1)))
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_secs(60))
                .connect_timeout(Duration::from_secs(10))
                .build(),
        );
    // IAM and Organizations are global: the region only picks the
    // partition's endpoint and the signing region.
    let mut profile_region = aws_config::profile::ProfileFileRegionProvider::builder();
    if let Some(p) = &options.profile {
        loader = loader.profile_name(p);
        profile_region = profile_region.profile_name(p);
    }
    loader = loader.region(
        RegionProviderChain::first_try(
            aws_config::environment::EnvironmentVariableRegionProvider::new(),
        )
        .or_else(profile_region.build())
        .or_else("us-east-1"),
    );
    if let Some(u) = &options.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    loader.load().await
}

/// Counts a scope's calls, attempts and throttling answers.
#[derive(Debug)]
struct Counter(Arc<Tally>);

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "custody-collect-counter"
    }

    fn read_before_execution(
        &self,
        _: &aws_sdk_iam::config::interceptors::BeforeSerializationInterceptorContextRef<'_>,
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_iam::error::BoxError> {
        Tally::add(&self.0.calls, 1);
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _: &aws_sdk_iam::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_iam::error::BoxError> {
        Tally::add(&self.0.attempts, 1);
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        ctx: &aws_sdk_iam::config::interceptors::AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_iam::error::BoxError> {
        let status = ctx.response().status().as_u16();
        let throttled = status == 429
            || matches!(ctx.output_or_error(), Err(e) if format!("{e:?}").contains("Throttl"));
        if throttled {
            Tally::add(&self.0.throttles, 1);
        }
        Ok(())
    }
}

fn iam_client(config: &SdkConfig, tally: &Arc<Tally>) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::config::Builder::from(config)
            .interceptor(Counter(tally.clone()))
            .build(),
    )
}

/// "Code: message" from an SDK error, or its causes. An answer whose error
/// the SDK could not place (an emulator wrapping it as IAM does,
/// `<ErrorResponse><Error>` for STS) is read from the raw body.
fn describe<E>(e: &SdkError<E, aws_sdk_iam::config::http::HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let raw = e.raw_response();
    let tag = |name: &str| -> Option<String> {
        let text = std::str::from_utf8(raw?.body().bytes()?).ok()?;
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let len = text[start..].find(&format!("</{name}>"))?;
        Some(text[start..start + len].to_string())
    };
    let code = e.code().map(str::to_string).or_else(|| tag("Code"));
    let message = e.message().map(str::to_string).or_else(|| tag("Message"));
    let status = raw
        .map(|r| format!(" (HTTP {})", r.status().as_u16()))
        .unwrap_or_default();
    match (code, message) {
        (Some(c), Some(m)) => format!("{c}: {m}{status}"),
        (Some(c), None) => format!("{c}{status}"),
        _ => format!("{}{status}", chain(e)),
    }
}

// ---------------------------------------------------------------- Organizations

enum Org {
    /// Not in an organisation: the caller's account alone.
    None,
    /// The active accounts, with the organisation scope's report.
    Listed(Vec<String>, ScopeReport),
    /// The organisation could not be read: the caller's account alone.
    Failed(ScopeReport),
}

async fn organization(base: &SdkConfig, dir: &Path) -> Org {
    let started = Instant::now();
    let tally = Arc::new(Tally::default());
    let client = aws_sdk_organizations::Client::from_conf(
        aws_sdk_organizations::config::Builder::from(base)
            .interceptor(Counter(tally.clone()))
            .build(),
    );
    let scope = "aws:organization".to_string();
    let mut roots = Vec::new();
    let mut pages = client.list_roots().into_paginator().send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(p) => {
                Tally::add(&tally.pages, 1);
                roots.extend(p.roots().iter().filter_map(|r| r.id().map(str::to_string)));
            }
            Err(e) if e.code() == Some("AWSOrganizationsNotInUseException") => return Org::None,
            Err(e) => {
                tally.fail("organizations:ListRoots", describe(&e));
                return Org::Failed(tally.report(scope, started.elapsed()));
            }
        }
    }
    // The tree, root down: each OU's and account's parent is the node it
    // was listed under, written as the `list-parents` answer it equals.
    let mut parents: Vec<(String, &'static str)> =
        roots.iter().map(|r| (r.clone(), "ROOT")).collect();
    let mut accounts = Vec::new();
    while let Some((parent, kind)) = parents.pop() {
        let parent_doc = |_: &str| json!({"Parents": [{"Id": parent, "Type": kind}]});
        let mut ous = client
            .list_organizational_units_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send();
        while let Some(page) = ous.next().await {
            match page {
                Ok(p) => {
                    Tally::add(&tally.pages, 1);
                    for ou in p.organizational_units() {
                        if let Some(id) = ou.id() {
                            Tally::add(&tally.records, 1);
                            let rel = format!("organizations/parents/{id}.json");
                            write::json(dir, &rel, &parent_doc(id), &tally);
                            parents.push((id.to_string(), "ORGANIZATIONAL_UNIT"));
                        }
                    }
                }
                Err(e) => {
                    tally.fail(
                        format!("organizations:ListOrganizationalUnitsForParent {parent}"),
                        describe(&e),
                    );
                    break;
                }
            }
        }
        let mut listed = client
            .list_accounts_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send();
        while let Some(page) = listed.next().await {
            match page {
                Ok(p) => {
                    Tally::add(&tally.pages, 1);
                    for a in p.accounts() {
                        let Some(id) = a.id() else { continue };
                        Tally::add(&tally.records, 1);
                        let rel = format!("organizations/parents/{id}.json");
                        write::json(dir, &rel, &parent_doc(id), &tally);
                        if active(a) {
                            accounts.push(id.to_string());
                        }
                    }
                }
                Err(e) => {
                    tally.fail(
                        format!("organizations:ListAccountsForParent {parent}"),
                        describe(&e),
                    );
                    break;
                }
            }
        }
    }
    scps(&client, dir, &tally).await;
    let mut report = tally.report(scope, started.elapsed());
    report.covers = vec!["organizations/".into()];
    Org::Listed(accounts, report)
}

/// Suspended and closed accounts cannot be entered.
#[allow(deprecated)] // `status` is what every SDK and CLI still returns beside `state`
fn active(a: &aws_sdk_organizations::types::Account) -> bool {
    use aws_sdk_organizations::types::{AccountState, AccountStatus};
    match (a.state(), a.status()) {
        (Some(s), _) => *s == AccountState::Active,
        (None, Some(s)) => *s == AccountStatus::Active,
        (None, None) => true,
    }
}

async fn scps(client: &aws_sdk_organizations::Client, dir: &Path, tally: &Tally) {
    use aws_sdk_organizations::types::PolicyType;
    let mut ids = Vec::new();
    let mut pages = client
        .list_policies()
        .filter(PolicyType::ServiceControlPolicy)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(p) => {
                Tally::add(&tally.pages, 1);
                ids.extend(
                    p.policies()
                        .iter()
                        .filter_map(|s| s.id().map(str::to_string)),
                );
            }
            Err(e) => {
                // SCPs disabled (all-features off) is an answer, not a failure.
                if e.code() != Some("PolicyTypeNotEnabledException") {
                    tally.fail(
                        "organizations:ListPolicies SERVICE_CONTROL_POLICY",
                        describe(&e),
                    );
                }
                return;
            }
        }
    }
    for id in ids {
        Tally::add(&tally.records, 1);
        match client.describe_policy().policy_id(&id).send().await {
            Ok(out) => {
                let mut policy = Map::new();
                if let Some(p) = out.policy() {
                    if let Some(s) = p.policy_summary() {
                        let mut summary = Map::new();
                        put(&mut summary, "Id", s.id());
                        put(&mut summary, "Arn", s.arn());
                        put(&mut summary, "Name", s.name());
                        put(&mut summary, "Description", s.description());
                        put(&mut summary, "Type", s.r#type().map(|t| t.as_str()));
                        summary.insert("AwsManaged".into(), json!(s.aws_managed()));
                        policy.insert("PolicySummary".into(), Value::Object(summary));
                    }
                    put(&mut policy, "Content", p.content());
                }
                let rel = format!("organizations/policies/{id}/describe-policy.json");
                write::json(dir, &rel, &json!({ "Policy": policy }), tally);
            }
            Err(e) => tally.fail(format!("organizations:DescribePolicy {id}"), describe(&e)),
        }
        let mut targets = Vec::new();
        let mut pages = client
            .list_targets_for_policy()
            .policy_id(&id)
            .into_paginator()
            .send();
        let mut whole = true;
        while let Some(page) = pages.next().await {
            match page {
                Ok(p) => {
                    Tally::add(&tally.pages, 1);
                    for t in p.targets() {
                        let mut m = Map::new();
                        put(&mut m, "TargetId", t.target_id());
                        put(&mut m, "Arn", t.arn());
                        put(&mut m, "Name", t.name());
                        put(&mut m, "Type", t.r#type().map(|k| k.as_str()));
                        targets.push(Value::Object(m));
                    }
                }
                Err(e) => {
                    tally.fail(
                        format!("organizations:ListTargetsForPolicy {id}"),
                        describe(&e),
                    );
                    whole = false;
                    break;
                }
            }
        }
        if whole {
            let rel = format!("organizations/policies/{id}/targets.json");
            write::json(dir, &rel, &json!({ "Targets": targets }), tally);
        }
    }
}

// ---------------------------------------------------------------- one account

/// Where and whether an account's resources are listed.
struct Inventory {
    endpoint: Option<String>,
    read_values: bool,
    regions: Option<Vec<String>>,
    max_attempts: u32,
}

async fn collect_account(
    base: &SdkConfig,
    account: &str,
    role: Option<String>,
    dir: &Path,
    report_wait: Duration,
    inventory: &Inventory,
) -> ScopeReport {
    let started = Instant::now();
    let tally = Arc::new(Tally::default());
    let scope = format!("aws:{account}");
    let config = match role {
        None => base.clone(),
        Some(arn) => match assume(base, &arn, &tally).await {
            Ok(c) => c,
            Err(e) => {
                tally.fail(format!("sts:AssumeRole {arn}"), e);
                return tally.report(scope, started.elapsed());
            }
        },
    };
    let iam = iam_client(&config, &tally);
    let root: PathBuf = dir.to_path_buf();
    let users = authorization_details(&iam, account, &root, &tally).await;
    let users = match users {
        Some(u) => Some(u),
        None => list_users(&iam, &tally).await,
    };
    if let Some(users) = users {
        access_keys(&iam, account, &users, &root, &tally).await;
    }
    credential_report(&iam, account, &root, &tally, report_wait).await;
    instance_profiles(&iam, account, &root, &tally).await;
    if let Some(regions) = &inventory.regions {
        match credentials_of(&config).await {
            Ok(c) => {
                crate::aws_inventory::collect(
                    inventory.endpoint.as_deref(),
                    &c,
                    account,
                    regions,
                    inventory.max_attempts,
                    inventory.read_values,
                    &root,
                    &tally,
                )
                .await
            }
            Err(e) => tally.fail("resource inventory", e),
        }
    }
    let mut report = tally.report(scope, started.elapsed());
    report.covers = vec![format!("aws/{account}/")];
    report
}

async fn credentials_of(config: &SdkConfig) -> Result<aws_credential_types::Credentials, String> {
    let provider = config
        .credentials_provider()
        .ok_or_else(|| "no credentials provider".to_string())?;
    provider.provide_credentials().await.map_err(|e| chain(&e))
}

async fn assume(base: &SdkConfig, arn: &str, tally: &Arc<Tally>) -> Result<SdkConfig, String> {
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(base)
            .interceptor(Counter(tally.clone()))
            .build(),
    );
    let out = sts
        .assume_role()
        .role_arn(arn)
        .role_session_name("custody-collect")
        .duration_seconds(3600)
        .send()
        .await
        .map_err(|e| describe(&e))?;
    let c = out
        .credentials()
        .ok_or_else(|| "STS answered without credentials".to_string())?;
    let credentials = aws_sdk_iam::config::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        std::time::SystemTime::try_from(*c.expiration()).ok(),
        "custody-collect-assumed-role",
    );
    Ok(base
        .to_builder()
        .credentials_provider(aws_sdk_iam::config::SharedCredentialsProvider::new(
            credentials,
        ))
        .build())
}

fn date(d: Option<&DateTime>) -> Option<String> {
    d.and_then(|d| d.fmt(DateTimeFormat::DateTime).ok())
}

fn put(m: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(v) = value {
        m.insert(key.to_string(), Value::String(v.to_string()));
    }
}

fn put_date(m: &mut Map<String, Value>, key: &str, value: Option<&DateTime>) {
    if let Some(v) = date(value) {
        m.insert(key.to_string(), Value::String(v));
    }
}

/// IAM returns policy documents URL-encoded; the AWS CLI prints them as
/// the JSON they encode.
fn policy_document(doc: Option<&str>) -> Option<Value> {
    let doc = doc?;
    let decoded = percent_encoding::percent_decode_str(doc).decode_utf8_lossy();
    Some(serde_json::from_str(&decoded).unwrap_or_else(|_| Value::String(doc.to_string())))
}

fn inline(list: &[aws_sdk_iam::types::PolicyDetail]) -> Value {
    Value::Array(
        list.iter()
            .map(|p| {
                let mut m = Map::new();
                put(&mut m, "PolicyName", p.policy_name());
                if let Some(d) = policy_document(p.policy_document()) {
                    m.insert("PolicyDocument".into(), d);
                }
                Value::Object(m)
            })
            .collect(),
    )
}

fn attached(list: &[aws_sdk_iam::types::AttachedPolicy]) -> Value {
    Value::Array(
        list.iter()
            .map(|p| {
                let mut m = Map::new();
                put(&mut m, "PolicyName", p.policy_name());
                put(&mut m, "PolicyArn", p.policy_arn());
                Value::Object(m)
            })
            .collect(),
    )
}

fn boundary(
    m: &mut Map<String, Value>,
    b: Option<&aws_sdk_iam::types::AttachedPermissionsBoundary>,
) {
    if let Some(b) = b {
        let mut inner = Map::new();
        put(
            &mut inner,
            "PermissionsBoundaryType",
            b.permissions_boundary_type().map(|t| t.as_str()),
        );
        put(
            &mut inner,
            "PermissionsBoundaryArn",
            b.permissions_boundary_arn(),
        );
        m.insert("PermissionsBoundary".into(), Value::Object(inner));
    }
}

fn tags(m: &mut Map<String, Value>, tags: &[aws_sdk_iam::types::Tag]) {
    if !tags.is_empty() {
        let list = tags
            .iter()
            .map(|t| json!({"Key": t.key(), "Value": t.value()}))
            .collect();
        m.insert("Tags".into(), Value::Array(list));
    }
}

fn role_json(
    path: &str,
    name: &str,
    id: &str,
    arn: &str,
    created: Option<&DateTime>,
    trust: Option<&str>,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("Path".into(), json!(path));
    m.insert("RoleName".into(), json!(name));
    m.insert("RoleId".into(), json!(id));
    m.insert("Arn".into(), json!(arn));
    put_date(&mut m, "CreateDate", created);
    if let Some(d) = policy_document(trust) {
        m.insert("AssumeRolePolicyDocument".into(), d);
    }
    m
}

fn instance_profile(p: &aws_sdk_iam::types::InstanceProfile) -> Value {
    let mut m = Map::new();
    m.insert("Path".into(), json!(p.path()));
    m.insert(
        "InstanceProfileName".into(),
        json!(p.instance_profile_name()),
    );
    m.insert("InstanceProfileId".into(), json!(p.instance_profile_id()));
    m.insert("Arn".into(), json!(p.arn()));
    put_date(&mut m, "CreateDate", Some(p.create_date()));
    let roles = p
        .roles()
        .iter()
        .map(|r| {
            Value::Object(role_json(
                r.path(),
                r.role_name(),
                r.role_id(),
                r.arn(),
                Some(r.create_date()),
                r.assume_role_policy_document(),
            ))
        })
        .collect();
    m.insert("Roles".into(), Value::Array(roles));
    tags(&mut m, p.tags());
    Value::Object(m)
}

/// `get-account-authorization-details`, every page merged into the one
/// document the AWS CLI prints. Returns the users' names (for the key
/// listings) when every page arrived.
async fn authorization_details(
    iam: &aws_sdk_iam::Client,
    account: &str,
    dir: &Path,
    tally: &Tally,
) -> Option<Vec<String>> {
    let (mut users, mut groups, mut roles, mut policies) = (vec![], vec![], vec![], vec![]);
    let mut names = Vec::new();
    let mut pages = iam
        .get_account_authorization_details()
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let p = match page {
            Ok(p) => p,
            Err(e) => {
                tally.fail("iam:GetAccountAuthorizationDetails", describe(&e));
                return None;
            }
        };
        Tally::add(&tally.pages, 1);
        for u in p.user_detail_list() {
            let mut m = Map::new();
            put(&mut m, "Path", u.path());
            put(&mut m, "UserName", u.user_name());
            put(&mut m, "UserId", u.user_id());
            put(&mut m, "Arn", u.arn());
            put_date(&mut m, "CreateDate", u.create_date());
            m.insert("UserPolicyList".into(), inline(u.user_policy_list()));
            m.insert("GroupList".into(), json!(u.group_list()));
            m.insert(
                "AttachedManagedPolicies".into(),
                attached(u.attached_managed_policies()),
            );
            boundary(&mut m, u.permissions_boundary());
            tags(&mut m, u.tags());
            names.extend(u.user_name().map(str::to_string));
            users.push(Value::Object(m));
        }
        for g in p.group_detail_list() {
            let mut m = Map::new();
            put(&mut m, "Path", g.path());
            put(&mut m, "GroupName", g.group_name());
            put(&mut m, "GroupId", g.group_id());
            put(&mut m, "Arn", g.arn());
            put_date(&mut m, "CreateDate", g.create_date());
            m.insert("GroupPolicyList".into(), inline(g.group_policy_list()));
            m.insert(
                "AttachedManagedPolicies".into(),
                attached(g.attached_managed_policies()),
            );
            groups.push(Value::Object(m));
        }
        for r in p.role_detail_list() {
            let mut m = role_json(
                r.path().unwrap_or("/"),
                r.role_name().unwrap_or_default(),
                r.role_id().unwrap_or_default(),
                r.arn().unwrap_or_default(),
                r.create_date(),
                r.assume_role_policy_document(),
            );
            let profiles = r
                .instance_profile_list()
                .iter()
                .map(instance_profile)
                .collect();
            m.insert("InstanceProfileList".into(), Value::Array(profiles));
            m.insert("RolePolicyList".into(), inline(r.role_policy_list()));
            m.insert(
                "AttachedManagedPolicies".into(),
                attached(r.attached_managed_policies()),
            );
            boundary(&mut m, r.permissions_boundary());
            tags(&mut m, r.tags());
            let mut last = Map::new();
            if let Some(l) = r.role_last_used() {
                put_date(&mut last, "LastUsedDate", l.last_used_date());
                put(&mut last, "Region", l.region());
            }
            m.insert("RoleLastUsed".into(), Value::Object(last));
            roles.push(Value::Object(m));
        }
        for p in p.policies() {
            let mut m = Map::new();
            put(&mut m, "PolicyName", p.policy_name());
            put(&mut m, "PolicyId", p.policy_id());
            put(&mut m, "Arn", p.arn());
            put(&mut m, "Path", p.path());
            put(&mut m, "DefaultVersionId", p.default_version_id());
            if let Some(n) = p.attachment_count() {
                m.insert("AttachmentCount".into(), json!(n));
            }
            if let Some(n) = p.permissions_boundary_usage_count() {
                m.insert("PermissionsBoundaryUsageCount".into(), json!(n));
            }
            m.insert("IsAttachable".into(), json!(p.is_attachable()));
            put(&mut m, "Description", p.description());
            put_date(&mut m, "CreateDate", p.create_date());
            put_date(&mut m, "UpdateDate", p.update_date());
            let versions = p
                .policy_version_list()
                .iter()
                .map(|v| {
                    let mut vm = Map::new();
                    if let Some(d) = policy_document(v.document()) {
                        vm.insert("Document".into(), d);
                    }
                    put(&mut vm, "VersionId", v.version_id());
                    vm.insert("IsDefaultVersion".into(), json!(v.is_default_version()));
                    put_date(&mut vm, "CreateDate", v.create_date());
                    Value::Object(vm)
                })
                .collect();
            m.insert("PolicyVersionList".into(), Value::Array(versions));
            policies.push(Value::Object(m));
        }
    }
    let records = users.len() + groups.len() + roles.len() + policies.len();
    Tally::add(&tally.records, records as u64);
    let doc = json!({
        "UserDetailList": users,
        "GroupDetailList": groups,
        "RoleDetailList": roles,
        "Policies": policies,
    });
    write::json(
        dir,
        &format!("aws/{account}/authorization-details.json"),
        &doc,
        tally,
    );
    Some(names)
}

/// `list-users`, when the authorization details did not arrive.
async fn list_users(iam: &aws_sdk_iam::Client, tally: &Tally) -> Option<Vec<String>> {
    let mut names = Vec::new();
    let mut pages = iam.list_users().into_paginator().send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(p) => {
                Tally::add(&tally.pages, 1);
                names.extend(p.users().iter().map(|u| u.user_name().to_string()));
            }
            Err(e) => {
                tally.fail("iam:ListUsers", describe(&e));
                return None;
            }
        }
    }
    Some(names)
}

/// Users whose keys are listed at once within one account.
const KEY_LISTINGS_IN_FLIGHT: usize = 4;

/// `list-access-keys` for every user: the JSON array of their answers.
async fn access_keys(
    iam: &aws_sdk_iam::Client,
    account: &str,
    users: &[String],
    dir: &Path,
    tally: &Arc<Tally>,
) {
    let limit = Arc::new(tokio::sync::Semaphore::new(KEY_LISTINGS_IN_FLIGHT));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, user) in users.iter().enumerate() {
        let (iam, limit, tally, user) = (iam.clone(), limit.clone(), tally.clone(), user.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let mut keys = Vec::new();
            let mut pages = iam
                .list_access_keys()
                .user_name(&user)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                match page {
                    Ok(p) => {
                        Tally::add(&tally.pages, 1);
                        for k in p.access_key_metadata() {
                            let mut m = Map::new();
                            put(&mut m, "UserName", k.user_name());
                            put(&mut m, "AccessKeyId", k.access_key_id());
                            put(&mut m, "Status", k.status().map(|s| s.as_str()));
                            put_date(&mut m, "CreateDate", k.create_date());
                            keys.push(Value::Object(m));
                        }
                    }
                    // Deleted between the listing of users and now: no keys.
                    Err(e) if e.code() == Some("NoSuchEntity") => break,
                    Err(e) => {
                        tally.fail(format!("iam:ListAccessKeys {user}"), describe(&e));
                        return None;
                    }
                }
            }
            Tally::add(&tally.records, keys.len() as u64);
            Some((i, json!({"AccessKeyMetadata": keys})))
        });
    }
    let mut docs = Vec::new();
    let mut whole = true;
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Some(d)) => docs.push(d),
            Ok(None) => whole = false,
            Err(e) => {
                tally.fail(
                    "iam:ListAccessKeys",
                    format!("the listing task stopped: {e}"),
                );
                whole = false;
            }
        }
    }
    if whole {
        docs.sort_by_key(|(i, _)| *i);
        let list = docs.into_iter().map(|(_, d)| d).collect();
        write::json(
            dir,
            &format!("aws/{account}/access-keys.json"),
            &Value::Array(list),
            tally,
        );
    }
}

/// `generate-credential-report` until it is ready, then
/// `get-credential-report` as the JSON envelope the CLI prints.
async fn credential_report(
    iam: &aws_sdk_iam::Client,
    account: &str,
    dir: &Path,
    tally: &Tally,
    wait: Duration,
) {
    use aws_sdk_iam::types::ReportStateType;
    let deadline = Instant::now() + wait;
    let mut pause = Duration::from_millis(250);
    loop {
        match iam.generate_credential_report().send().await {
            Ok(out) if out.state() == Some(&ReportStateType::Complete) => break,
            Ok(_) if Instant::now() < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            Ok(_) => {
                return tally.fail(
                    "iam:GenerateCredentialReport",
                    format!("the report was not ready after {} s", wait.as_secs()),
                )
            }
            Err(e) => return tally.fail("iam:GenerateCredentialReport", describe(&e)),
        }
    }
    match iam.get_credential_report().send().await {
        Ok(out) => {
            use base64::Engine;
            let content = out
                .content()
                .map(|b| base64::engine::general_purpose::STANDARD.encode(b.as_ref()));
            let rows = out
                .content()
                .map(|b| b.as_ref().iter().filter(|&&c| c == b'\n').count())
                .unwrap_or(0);
            Tally::add(&tally.records, rows as u64);
            let mut m = Map::new();
            put(&mut m, "Content", content.as_deref());
            put(
                &mut m,
                "ReportFormat",
                out.report_format().map(|f| f.as_str()),
            );
            put_date(&mut m, "GeneratedTime", out.generated_time());
            write::json(
                dir,
                &format!("aws/{account}/credential-report.json"),
                &Value::Object(m),
                tally,
            );
        }
        Err(e) => tally.fail("iam:GetCredentialReport", describe(&e)),
    }
}

/// `list-instance-profiles`: what an EC2 instance runs as.
async fn instance_profiles(iam: &aws_sdk_iam::Client, account: &str, dir: &Path, tally: &Tally) {
    let mut profiles = Vec::new();
    let mut pages = iam.list_instance_profiles().into_paginator().send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(p) => {
                Tally::add(&tally.pages, 1);
                profiles.extend(p.instance_profiles().iter().map(instance_profile));
            }
            Err(e) => return tally.fail("iam:ListInstanceProfiles", describe(&e)),
        }
    }
    Tally::add(&tally.records, profiles.len() as u64);
    let doc = json!({ "InstanceProfiles": profiles });
    write::json(
        dir,
        &format!("aws/{account}/iam/instance-profiles.json"),
        &doc,
        tally,
    );
}

/// [`collect`] on a runtime of its own, for callers that are not async.
pub fn collect_blocking(
    options: &AwsOptions,
    dir: &Path,
    progress: &dyn Progress,
) -> Result<Report, Error> {
    crate::block_on(collect(options, dir, progress))?
}
