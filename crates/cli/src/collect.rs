//! `custody collect aws|github|okta|vault|kubernetes|gcp|entra|all`:
//! parse the options and find the credentials where each ecosystem keeps
//! them, then hand the collection to `custody_app::collect` (read-only calls,
//! answers written as native exports into a dated snapshot folder under
//! `$CUSTODY_HOME/collect`, then ingested) and print its summary. Exit code
//! 1 when a scope is incomplete.

use crate::global::{Global, OutputFormat};
use crate::{ingest, output, paths};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use custody_app::collect::{
    AwsOptions, EntraOptions, GcpOptions, GithubOptions, Job, KubeOptions, OktaOptions, Patience,
    Report, Source, DEFAULT_ROLE,
};
use custody_app::ingest::IngestOutput;
use custody_store::Store;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Subcommand)]
pub enum CollectCommand {
    /// An AWS organisation: every account (a role assumed in each, in parallel),
    /// its IAM users, roles, groups, policies, access keys, credential report and
    /// instance profiles, its resources (Secrets Manager, KMS, Lambda, EC2, EKS,
    /// S3), and the OUs and SCPs; with --cloudtrail, the trails' log files.
    /// Outside an organisation: the caller's account.
    Aws(AwsArgs),
    /// A GitHub organisation: members, teams, App installations, token grants,
    /// SAML credential authorizations, Actions secrets (names only) of the org,
    /// every repository and its environments, and deploy keys. The token comes
    /// from GITHUB_TOKEN or GH_TOKEN.
    Github(GithubArgs),
    /// An Okta org: users (deprovisioned too), groups and their members, apps and
    /// their grants, API tokens, and the System Log since the last collection.
    /// The token comes from OKTA_API_TOKEN (an API token) or OKTA_ACCESS_TOKEN
    /// (an OAuth service app's access token).
    Okta(OktaArgs),
    /// A Vault cluster: KV v2 metadata (never values), ACL policies, auth roles
    /// (AppRole, Kubernetes, JWT/OIDC, AWS) and AppRole secret-id accessors.
    /// The address and token come from VAULT_ADDR and VAULT_TOKEN (or ~/.vault-token).
    Vault(VaultArgs),
    /// A Kubernetes cluster through a kubeconfig context (token, client certificate or
    /// exec plugin): service accounts, Secrets (key names only: values are emptied
    /// before anything is written), workloads and RBAC in every namespace.
    Kubernetes(KubernetesArgs),
    /// Google Cloud projects: service accounts, their keys and IAM policies, the
    /// project's IAM policy, workload identity providers. The token comes from
    /// GOOGLE_OAUTH_ACCESS_TOKEN, Application Default Credentials, or gcloud.
    Gcp(GcpArgs),
    /// Entra ID and Azure RBAC: app registrations, service principals, federated
    /// credentials, owners, and every subscription's role assignments. Tokens come
    /// from AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET, or the Azure CLI.
    Entra(EntraArgs),
    /// Every system of the configuration file ($CUSTODY_HOME/collect.toml, or
    /// --config): one table per system holding that command's options, each
    /// collected in turn, then one ingest of them all (for a scheduled run).
    All(AllArgs),
}

#[derive(Args)]
pub struct GcpArgs {
    /// A project id (repeat, or comma-separate); default: every active project the token can see.
    #[arg(long = "project", value_delimiter = ',', value_name = "ID")]
    pub projects: Vec<String>,
    /// An API root standing in for Google's (a test server).
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,
    /// Projects read at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=32))]
    pub concurrency: u32,
    #[command(flatten)]
    pub patience: PatienceArgs,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args)]
pub struct EntraArgs {
    /// An API root standing in for Microsoft Graph and Azure Resource Manager (a test server).
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,
    #[command(flatten)]
    pub patience: PatienceArgs,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args)]
pub struct AllArgs {
    /// The configuration file (default: $CUSTODY_HOME/collect.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Only collect: write the snapshots, do not ingest them.
    #[arg(long)]
    pub no_ingest: bool,
}

#[derive(Args)]
pub struct KubernetesArgs {
    /// The context (default: the kubeconfig's current-context).
    #[arg(long)]
    pub context: Option<String>,
    /// The kubeconfig (default: KUBECONFIG's first file, else ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The cluster's name in custody (default: the context's name): part of every object's key.
    #[arg(long, value_name = "NAME")]
    pub cluster_name: Option<String>,
    #[command(flatten)]
    pub patience: PatienceArgs,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args)]
pub struct VaultArgs {
    /// The server (default: VAULT_ADDR, else https://127.0.0.1:8200).
    #[arg(long, value_name = "URL")]
    pub address: Option<String>,
    /// Reads at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub concurrency: u32,
    #[command(flatten)]
    pub patience: PatienceArgs,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args)]
pub struct OktaArgs {
    /// The org's URL, e.g. https://acme.okta.com.
    #[arg(long, value_name = "URL")]
    pub org_url: String,
    /// The System Log from this far back (30m, 24h, 7d) or this time; default:
    /// where the last collection of this org ended, or 7 days back the first time.
    #[arg(long, conflicts_with = "no_logs")]
    pub since: Option<String>,
    /// Skip the System Log.
    #[arg(long)]
    pub no_logs: bool,
    /// Group member listings and app grants read at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=32))]
    pub concurrency: u32,
    #[command(flatten)]
    pub patience: PatienceArgs,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args)]
pub struct GithubArgs {
    /// The organisation's login.
    #[arg(long)]
    pub org: String,
    /// The REST API's root (GitHub Enterprise Server: https://HOST/api/v3).
    #[arg(long, default_value = "https://api.github.com", value_name = "URL")]
    pub api_url: String,
    /// Repositories read at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=32))]
    pub concurrency: u32,
    #[command(flatten)]
    pub patience: PatienceArgs,
    #[command(flatten)]
    pub common: Common,
}

/// How long an HTTP collector keeps trying.
#[derive(Args)]
pub struct PatienceArgs {
    /// Attempts per call (5xx, timeouts, dropped connections); a rate limit
    /// waits for its reset without spending one.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: u32,
    /// The longest wait for a rate limit to reset, in seconds; beyond it the call fails.
    #[arg(long, default_value_t = 900, value_name = "SECONDS")]
    pub max_wait: u64,
}

impl PatienceArgs {
    fn patience(&self) -> Patience {
        Patience {
            max_attempts: self.max_attempts,
            max_wait: Duration::from_secs(self.max_wait),
            ..Patience::default()
        }
    }
}

#[derive(Args)]
pub struct Common {
    /// Write the snapshot here instead of $CUSTODY_HOME/collect/<system>/<time>.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Only collect: write the snapshot, do not ingest it.
    #[arg(long)]
    pub no_ingest: bool,
}

#[derive(Args)]
pub struct AwsArgs {
    /// The AWS profile to collect as (default: the SDK's chain: AWS_PROFILE, env keys, SSO cache, instance role…).
    #[arg(long)]
    pub profile: Option<String>,
    /// An endpoint other than AWS's (a local emulator such as moto); AWS_ENDPOINT_URL works too.
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// The role assumed in every account other than the caller's (e.g. a SecurityAudit role).
    #[arg(long, default_value = DEFAULT_ROLE, value_name = "NAME")]
    pub role: String,
    /// Only these account ids (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "ID,…")]
    pub accounts: Vec<String>,
    /// Accounts collected at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub concurrency: u32,
    /// Attempts per API call (retries with backoff and jitter on throttling included).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: u32,
    /// Regions whose resources are listed (Secrets Manager, KMS, Lambda, EKS; comma-separated).
    /// Default: the configured region (AWS_REGION or the profile's).
    #[arg(long, value_delimiter = ',', value_name = "REGION,…")]
    pub regions: Vec<String>,
    /// Only IAM and Organizations: skip the resource inventory.
    #[arg(long)]
    pub no_inventory: bool,
    /// Read every Secrets Manager secret's value (GetSecretValue) into memory,
    /// fingerprint it and drop it, so a key stored there joins its credential.
    /// Opt-in; nothing of a value is written, printed or stored.
    #[arg(long, conflicts_with = "no_inventory")]
    pub read_secret_values: bool,
    /// Also read the log files the caller's CloudTrail trails delivered to S3
    /// since the last collection (the first time: --since, or 24 hours back).
    #[arg(long)]
    pub cloudtrail: bool,
    /// The CloudTrail window's start (30m, 24h, 7d or a time), instead of
    /// where the last collection ended.
    #[arg(long, requires = "cloudtrail")]
    pub since: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

/// Parses one system's options as `custody collect <system> …` would (for
/// the configuration file's tables).
#[derive(clap::Parser)]
#[command(name = "collect")]
struct OneCommand {
    #[command(subcommand)]
    command: CollectCommand,
}

impl CollectCommand {
    fn common(&self) -> Option<&Common> {
        match self {
            CollectCommand::Aws(a) => Some(&a.common),
            CollectCommand::Github(a) => Some(&a.common),
            CollectCommand::Okta(a) => Some(&a.common),
            CollectCommand::Vault(a) => Some(&a.common),
            CollectCommand::Kubernetes(a) => Some(&a.common),
            CollectCommand::Gcp(a) => Some(&a.common),
            CollectCommand::Entra(a) => Some(&a.common),
            CollectCommand::All(_) => None,
        }
    }

    /// What to collect: the options, with credentials from each
    /// ecosystem's usual place (read here, handed down, never printed).
    fn source(&self, state: &Path) -> Result<Source> {
        use custody_app::collect as c;
        let mut source = match self {
            CollectCommand::Aws(a) => {
                for id in &a.accounts {
                    if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
                        anyhow::bail!("--accounts: `{id}` is not a 12-digit AWS account id");
                    }
                }
                Source::Aws(AwsOptions {
                    profile: a.profile.clone(),
                    endpoint_url: a.endpoint_url.clone(),
                    role_name: a.role.clone(),
                    accounts: a.accounts.clone(),
                    concurrency: a.concurrency as usize,
                    max_attempts: a.max_attempts,
                    regions: a.regions.clone(),
                    no_inventory: a.no_inventory,
                    read_secret_values: a.read_secret_values,
                    ..AwsOptions::default()
                })
            }
            CollectCommand::Github(a) => {
                let mut o = GithubOptions::new(&a.org, c::github_token());
                o.api_url = a.api_url.clone();
                o.concurrency = a.concurrency as usize;
                o.patience = a.patience.patience();
                o.etags = Some(paths::home()?.join("collect").join("github").join("etags"));
                Source::Github(o)
            }
            CollectCommand::Okta(a) => {
                if !a.org_url.starts_with("https://") && !a.org_url.starts_with("http://") {
                    anyhow::bail!(
                        "--org-url: `{}` is not a URL (https://acme.okta.com)",
                        a.org_url
                    );
                }
                let mut o = OktaOptions::new(&a.org_url, c::okta_authorization());
                o.concurrency = a.concurrency as usize;
                o.patience = a.patience.patience();
                Source::Okta(o)
            }
            CollectCommand::Vault(a) => {
                let mut o = c::vault_from_env(a.address.clone());
                o.concurrency = a.concurrency as usize;
                o.patience = a.patience.patience();
                Source::Vault(o)
            }
            CollectCommand::Kubernetes(a) => {
                let kubeconfig = a.kubeconfig.clone().unwrap_or_else(c::default_kubeconfig);
                let mut o = KubeOptions::new(kubeconfig);
                o.context = a.context.clone();
                o.cluster_name = a.cluster_name.clone();
                o.patience = a.patience.patience();
                Source::Kubernetes(o)
            }
            CollectCommand::Gcp(a) => {
                let token = c::gcp_token()?;
                let mut o = GcpOptions::new(format!("Bearer {token}"));
                o.projects = a.projects.clone();
                o.api_url = a.api_url.clone();
                o.concurrency = a.concurrency as usize;
                o.patience = a.patience.patience();
                Source::Gcp(o)
            }
            CollectCommand::Entra(a) => {
                let (graph, arm, tenant) = c::entra_tokens()?;
                Source::Entra(EntraOptions {
                    tenant: if tenant.is_empty() {
                        "default".into()
                    } else {
                        tenant
                    },
                    graph_authorization: format!("Bearer {graph}"),
                    arm_authorization: format!("Bearer {arm}"),
                    api_url: a.api_url.clone(),
                    patience: a.patience.patience(),
                })
            }
            CollectCommand::All(_) => anyhow::bail!("`all` is not one system"),
        };
        match self {
            CollectCommand::Aws(a) if a.cloudtrail => {
                c::set_log_window(&mut source, state, a.since.as_deref())?
            }
            CollectCommand::Okta(a) if !a.no_logs => {
                c::set_log_window(&mut source, state, a.since.as_deref())?
            }
            _ => {}
        }
        Ok(source)
    }
}

pub fn run(cli: &Global, command: &CollectCommand) -> Result<ExitCode> {
    let state = paths::home()?
        .join("collect")
        .join("okta")
        .join("state.json");
    if let CollectCommand::All(a) = command {
        return run_all(cli, a, &state);
    }
    let common = command.common().expect("one system");
    let source = command.source(&state)?;
    let job = Job {
        snapshot: snapshot_dir(common, source.system())?,
        beside_earlier: common.out.is_none(),
        source,
    };
    let mut store = store(cli, common.no_ingest)?;
    let out = custody_app::collect::one(
        &job,
        &state,
        store.as_mut().map(|s| s as &mut dyn Store),
        &cli.progress(),
    )?;
    match cli.format {
        OutputFormat::Json => output::json(&out)?,
        OutputFormat::Table => {
            print(&out.snapshot_dir, &out.collection);
            print_ingest(
                out.ingest.as_ref(),
                store.as_ref().map(|s| s as &dyn Store),
                &out.snapshot_dir,
            )?;
        }
    }
    let ingest_failed = out.ingest.as_ref().is_some_and(|i| i.had_errors());
    Ok(if out.incomplete() || ingest_failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The configuration file's tables as `custody collect <system>` commands:
/// `key = value` is `--key value` (`_` as `-`), a list is comma-separated,
/// `true` is the flag alone.
fn commands_of(path: &Path) -> Result<Vec<CollectCommand>> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read {} (write one table per system: docs/COLLECT.md#collect-all)",
            path.display()
        )
    })?;
    let doc: toml::Table = text
        .parse()
        .map_err(|e| anyhow::anyhow!("{}: not TOML: {e}", path.display()))?;
    let mut commands = Vec::new();
    for (system, entry) in &doc {
        let tables: Vec<&toml::Table> = match entry {
            toml::Value::Table(t) => vec![t],
            toml::Value::Array(a) => a.iter().filter_map(toml::Value::as_table).collect(),
            _ => anyhow::bail!("{}: `{system}` is not a table", path.display()),
        };
        for table in tables {
            let mut argv = vec!["collect".to_string(), system.clone()];
            for (key, value) in table {
                let flag = format!("--{}", key.replace('_', "-"));
                match value {
                    toml::Value::Boolean(true) => argv.push(flag),
                    toml::Value::Boolean(false) => {}
                    toml::Value::String(s) => argv.extend([flag, s.clone()]),
                    toml::Value::Integer(n) => argv.extend([flag, n.to_string()]),
                    toml::Value::Array(items) => {
                        let list: Vec<String> = items
                            .iter()
                            .map(|i| match i {
                                toml::Value::String(s) => s.clone(),
                                toml::Value::Integer(n) => n.to_string(),
                                other => other.type_str().to_string(),
                            })
                            .collect();
                        argv.extend([flag, list.join(",")]);
                    }
                    other => anyhow::bail!(
                        "{}: [{system}] {key} is a {}: expected a string, number, list or true",
                        path.display(),
                        other.type_str()
                    ),
                }
            }
            let parsed = <OneCommand as clap::Parser>::try_parse_from(&argv).map_err(|e| {
                anyhow::anyhow!("{}: [{system}]: {}", path.display(), e.to_string().trim())
            })?;
            if matches!(parsed.command, CollectCommand::All(_)) {
                anyhow::bail!("{}: [all] cannot be a table", path.display());
            }
            commands.push(parsed.command);
        }
    }
    if commands.is_empty() {
        anyhow::bail!(
            "{}: no system to collect (one table per system: docs/COLLECT.md#collect-all)",
            path.display()
        );
    }
    Ok(commands)
}

fn run_all(cli: &Global, a: &AllArgs, state: &Path) -> Result<ExitCode> {
    let config = match &a.config {
        Some(c) => c.clone(),
        None => paths::home()?.join("collect.toml"),
    };
    let commands = commands_of(&config)?;
    let mut jobs = Vec::new();
    for c in &commands {
        let source = c.source(state)?;
        let common = c.common().expect("one system");
        jobs.push(Job {
            snapshot: snapshot_dir(common, source.system())?,
            beside_earlier: common.out.is_none(),
            source,
        });
    }
    let mut store = store(cli, a.no_ingest)?;
    let out = custody_app::collect::all(
        &jobs,
        state,
        store.as_mut().map(|s| s as &mut dyn Store),
        &cli.progress(),
    )?;
    match cli.format {
        OutputFormat::Json => output::json(&out)?,
        OutputFormat::Table => {
            for c in &out.collections {
                match (&c.collection, &c.error) {
                    (Some(r), _) => print(&c.snapshot_dir, r),
                    (None, Some(e)) => println!("{}: nothing collected: {e}", c.system),
                    (None, None) => {}
                }
                println!();
            }
            let dirs: Vec<&str> = out
                .collections
                .iter()
                .map(|c| c.snapshot_dir.as_str())
                .collect();
            print_ingest(
                out.ingest.as_ref(),
                store.as_ref().map(|s| s as &dyn Store),
                &dirs.join(" "),
            )?;
        }
    }
    let ingest_failed = out.ingest.as_ref().is_some_and(|i| i.had_errors());
    Ok(if out.incomplete() || ingest_failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn store(cli: &Global, no_ingest: bool) -> Result<Option<custody_store::SqliteStore>> {
    Ok(if no_ingest {
        None
    } else {
        Some(paths::open_store(cli)?)
    })
}

/// A new folder for this collection: `--out`, or a dated one under the home.
fn snapshot_dir(common: &Common, system: &str) -> Result<PathBuf> {
    if let Some(d) = &common.out {
        return Ok(d.clone());
    }
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let parent = paths::home()?.join("collect").join(system);
    // Two collections in the same second get `-2`, `-3`…
    let mut dir = parent.join(&stamp);
    let mut n = 1;
    while dir.exists() {
        n += 1;
        dir = parent.join(format!("{stamp}-{n}"));
    }
    Ok(dir)
}

fn print(snapshot_dir: &str, c: &Report) {
    println!(
        "Collected {} scope(s) of {} in {:.1}s{}: {} calls ({} retried, {} throttled), {} pages, {} records.",
        c.scopes.len(),
        c.system,
        c.elapsed_seconds,
        c.caller.as_deref().map(|a| format!(" as {a}")).unwrap_or_default(),
        c.calls,
        c.retries,
        c.throttles,
        c.pages,
        c.records
    );
    println!("  snapshot: {snapshot_dir}");
    println!();
    println!(
        "  {:<22} {:>6} {:>7} {:>8} {:>6} {:>8} {:>7} {:>8}  status",
        "scope", "calls", "retries", "throttles", "pages", "records", "files", "seconds"
    );
    for s in &c.scopes {
        println!(
            "  {:<22} {:>6} {:>7} {:>8} {:>6} {:>8} {:>7} {:>8.1}  {}",
            s.scope,
            s.calls,
            s.retries,
            s.throttles,
            s.pages,
            s.records,
            s.files.len(),
            s.elapsed_seconds,
            if s.complete { "complete" } else { "INCOMPLETE" }
        );
    }
    let incomplete: Vec<_> = c.incomplete().collect();
    if !incomplete.is_empty() {
        println!();
        println!(
            "{} scope(s) incomplete: what they lost was not written, so nothing there is retired from the graph.",
            incomplete.len()
        );
        for s in incomplete {
            for f in &s.failures {
                println!("  {}: {}: {}", s.scope, f.call, f.error);
            }
        }
    }
    for s in &c.scopes {
        if !s.unavailable.is_empty() {
            println!();
            println!(
                "{}: {} listing(s) this credential may not read (nothing written or retired for them):",
                s.scope,
                s.unavailable.len()
            );
            for u in &s.unavailable {
                println!("  {}: {}", u.call, u.error);
            }
        }
    }
}

fn print_ingest(
    ingest: Option<&IngestOutput>,
    store: Option<&dyn Store>,
    dirs: &str,
) -> Result<()> {
    match (ingest, store) {
        (Some(i), Some(store)) => {
            println!();
            ingest::print_summary(i, store)?;
        }
        _ => {
            println!();
            println!("Not ingested. Ingest it with: custody ingest {dirs}");
        }
    }
    Ok(())
}
