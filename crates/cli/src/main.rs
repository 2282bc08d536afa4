//! # custody (the command)
//!
//! The `custody` binary: arguments, where the database and key live, printing
//! (tables, JSON, CSV, progress bars) and exit codes. Every answer and every
//! pipeline comes from `custody-app`; each command module parses its
//! arguments, calls it, and prints what it returns.
//!
//! **Must not:** compute an answer, write to the store except through
//! `custody-app`, parse native formats, decide identity, or write SQL. No
//! command module imports another command module.
//!
//! Exit codes: 0 success; 1 input errors were reported and skipped; 2 usage or
//! fatal errors.

mod audit;
mod bench;
mod blast;
mod collect;
mod demo;
mod export;
mod findings;
mod global;
mod ingest;
mod migrate;
mod output;
mod owner;
mod paths;
mod query;
mod render;
mod respond;
mod scan;
mod serve;
mod show;
mod simple;
mod usage;

use clap::{Parser, Subcommand, ValueEnum};
use global::OutputFormat;

/// mimalloc: ingest and analysis allocate millions of small values (see PERFORMANCE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

extern "C" {
    /// mimalloc's `void mi_option_set(mi_option_t, long)`.
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// mimalloc's `mi_option_purge_delay` (the same index in its v2 and v3).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "custody",
    version,
    about = "Identity-centric inventory of non-human identities: one graph of every credential, where it lives, what it is, who owns it.",
    after_help = "Start with `custody demo`. Documentation: docs/CLI.md."
)]
pub struct Cli {
    /// The database (SQLite). Default: $CUSTODY_HOME/custody.db, or custody.db in the user's data directory.
    #[arg(long, global = true, env = "CUSTODY_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Output format. `json` is a stable, documented contract (docs/CLI.md);
    /// `sarif` (SARIF 2.1.0) is for `scan` and `findings`; `ocsf` (OCSF
    /// Detection Findings, one per line) for `findings`; `csv` and `opengraph`
    /// (BloodHound) for `export`.
    #[arg(long = "format", global = true, value_enum, default_value_t = FormatArg::Table)]
    format_arg: FormatArg,
    /// No progress bars or notes on stderr.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// More log output on stderr (-v info, -vv debug).
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Copy, Clone, PartialEq, Eq, ValueEnum)]
enum FormatArg {
    Table,
    Json,
    Sarif,
    Csv,
    Opengraph,
    Ocsf,
}

#[derive(Subcommand)]
pub enum Command {
    /// A guided tour: synthesise a small enterprise, ingest it, show what custody finds.
    Demo(demo::DemoArgs),
    /// Write a synthetic enterprise in its systems' native export formats, with answers.json.
    Synth(demo::SynthArgs),
    /// Read native exports (files or folders; formats are detected) into the graph as one snapshot.
    Ingest(ingest::IngestArgs),
    /// One node: what it is, every key, every edge, and which source said each thing.
    Show(show::ShowArgs),
    /// Inventory: nodes by label, kind or system.
    List(simple::ListArgs),
    /// Counts of nodes, identities and edges by kind.
    Stats,
    /// The ingests so far, with what each changed.
    Snapshots,
    /// Rewrite the database file in table order and give its free space back (SQLite VACUUM); nothing it holds changes.
    Compact,
    /// What changed between two snapshots: new and retired identities, new surfaces of a credential, ownership evidence, status, findings.
    Diff(simple::DiffArgs),
    /// Collect live from a system's API (read-only) into a dated snapshot of native exports, then ingest it.
    #[command(subcommand)]
    Collect(collect::CollectCommand),
    /// Find secrets in files and git history (never shown or stored: fingerprints and previews); `--ingest` adds them to the graph.
    Scan(scan::ScanArgs),
    /// Risky permissions in every policy of IAM authorization-details files (no database needed).
    AuditPolicies(audit::AuditArgs),
    /// What a credential, principal or workload can reach in AWS, ranked, with the path that grants it.
    BlastRadius(blast::BlastArgs),
    /// Every IAM user and role that can reach full control of its account (privilege escalation, role chains), with the path.
    Escalations(blast::EscalationsArgs),
    /// Ask the graph anything: a read-only openCypher subset (MATCH … WHERE … RETURN).
    Query(query::QueryArgs),
    /// The questions asked most, by name (`custody ask` lists them).
    Ask(query::AskArgs),
    /// A Model Context Protocol server on stdio, for AI assistants (read-only).
    Mcp(serve::McpArgs),
    /// What is wrong: posture findings (OWASP NHI Top 10 rules), most severe first.
    Findings(findings::FindingsArgs),
    /// The plan to rotate, disable or revoke a credential: every copy and consumer, in a safe order.
    Respond(respond::RespondArgs),
    /// The whole graph for other tools: JSON, CSV, or BloodHound OpenGraph (`--format opengraph`).
    Export(export::ExportArgs),
    /// The HTTP API (REST + OpenAPI) and the MCP server over HTTP, with a bearer token (read-only).
    Serve(serve::ServeArgs),
    /// The plan from a static access key to ephemeral identity: every consumer, its target, the least-privilege policy from used actions, Terraform/workflow/ServiceAccount artefacts.
    Migrate(migrate::MigrateArgs),
    /// How one identity was really used, from the audit logs: when, where from, with what, doing what.
    Usage(usage::UsageArgs),
    /// Active access keys not used for N days (or never), from audit logs and credential reports.
    Stale(usage::StaleArgs),
    /// Usage anomalies raised while reading audit logs, each with the event that shows it.
    Alerts(usage::AlertsArgs),
    /// Accept an alert value for an identity or for all (a corporate egress network, a new client), with a reason kept on record.
    #[command(subcommand)]
    Suppress(usage::SuppressCommand),
    /// Named address ranges alerts judge networks by: your egress and NAT ranges, the clouds' and GitHub's published ranges.
    #[command(subcommand)]
    Networks(usage::NetworksCommand),
    /// Who is accountable for an identity: the owner, how sure, every piece of evidence and any conflict.
    Owner(owner::OwnerArgs),
    /// Identities no active person owns (owner left or unknown, contested, unowned), grouped by who should take them.
    Orphans(owner::OrphansArgs),
    /// What a leaver owned or created, across every system: surfaces, use since they left, reach, what to do, and to whom it goes.
    Offboard(owner::OffboardArgs),
    /// Score what custody found against a synthetic enterprise's answers.json (precision, recall).
    Eval(usage::EvalArgs),
    /// Measure synthesis and ingest at given sizes (time, throughput, peak memory).
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    // Behave like other Unix tools when stdout is closed early (`custody list | head`).
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // mimalloc gives freed memory back to the kernel after 10 ms; an ingest
    // frees and allocates again megabytes per log file and a chunk of facts
    // every few seconds, which then come back zeroed by the kernel (a third
    // of a re-ingest's time went there). Ten seconds keeps them for reuse
    // across chunks and still returns memory left freed.
    // SAFETY: an option index and value as mimalloc.h declares them.
    unsafe {
        mi_option_set(MI_OPTION_PURGE_DELAY, 10_000);
    }
    let mut cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    let format = match (cli.format_arg, &mut cli.command) {
        (FormatArg::Table, _) => OutputFormat::Table,
        (FormatArg::Json, _) => OutputFormat::Json,
        (FormatArg::Sarif, Command::Scan(a)) => {
            a.sarif = true;
            OutputFormat::Table
        }
        (FormatArg::Csv, Command::Export(a)) => {
            a.format = export::ExportFormat::Csv;
            OutputFormat::Table
        }
        (FormatArg::Opengraph, Command::Export(a)) => {
            a.format = export::ExportFormat::Opengraph;
            OutputFormat::Table
        }
        (FormatArg::Sarif, Command::Findings(a)) => {
            a.output = findings::Output::Sarif;
            OutputFormat::Table
        }
        (FormatArg::Ocsf, Command::Findings(a)) => {
            a.output = findings::Output::Ocsf;
            OutputFormat::Table
        }
        (FormatArg::Csv, Command::Owner(a)) => {
            a.csv = true;
            OutputFormat::Table
        }
        (FormatArg::Csv, Command::Orphans(a)) => {
            a.csv = true;
            OutputFormat::Table
        }
        (FormatArg::Csv, Command::Offboard(a)) => {
            a.csv = true;
            OutputFormat::Table
        }
        (FormatArg::Sarif, _) => {
            eprintln!("error: `--format sarif` is for `custody scan` and `custody findings` only; use table or json");
            return ExitCode::from(2);
        }
        (FormatArg::Ocsf, _) => {
            eprintln!("error: `--format ocsf` is for `custody findings` only; use table or json");
            return ExitCode::from(2);
        }
        (FormatArg::Csv | FormatArg::Opengraph, _) => {
            eprintln!("error: `--format csv` is for `custody export`, `owner`, `orphans` and `offboard`; `--format opengraph` for `custody export` only; use table or json");
            return ExitCode::from(2);
        }
    };
    let command = cli.command;
    let cli = &global::Global {
        db: cli.db,
        format,
        quiet: cli.quiet,
    };
    let result = match &command {
        Command::Demo(a) => demo::demo(cli, a),
        Command::Synth(a) => demo::synth(cli, a),
        Command::Ingest(a) => ingest::run(cli, a),
        Command::Show(a) => show::run(cli, a),
        Command::List(a) => simple::list(cli, a),
        Command::Stats => simple::stats(cli),
        Command::Snapshots => simple::snapshots(cli),
        Command::Compact => simple::compact(cli),
        Command::Diff(a) => simple::diff(cli, a),
        Command::BlastRadius(a) => blast::run(cli, a),
        Command::Escalations(a) => blast::escalations(cli, a),
        Command::AuditPolicies(a) => audit::run(cli, a),
        Command::Scan(a) => scan::run(cli, a),
        Command::Query(a) => query::run(cli, a),
        Command::Ask(a) => query::ask(cli, a),
        Command::Export(a) => export::run(cli, a),
        Command::Findings(a) => findings::run(cli, a),
        Command::Respond(a) => respond::run(cli, a),
        Command::Collect(c) => collect::run(cli, c),
        Command::Suppress(a) => usage::suppress(cli, a),
        Command::Networks(a) => usage::networks(cli, a),
        Command::Mcp(a) => serve::mcp(cli, a),
        Command::Serve(a) => serve::serve(cli, a),
        Command::Migrate(a) => migrate::run(cli, a),
        Command::Usage(a) => usage::show(cli, a),
        Command::Stale(a) => usage::stale(cli, a),
        Command::Alerts(a) => usage::alerts(cli, a),
        Command::Eval(a) => usage::eval(cli, a),
        Command::Owner(a) => owner::owner_cmd(cli, a),
        Command::Orphans(a) => owner::orphans_cmd(cli, a),
        Command::Offboard(a) => owner::offboard_cmd(cli, a),
        Command::Bench(a) => bench::run(cli, a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CUSTODY_LOG").unwrap_or_else(|_| {
        // The AWS SDK warns about each credential or region source it
        // probes (instance metadata off EC2): errors custody reports itself.
        let sdk = if verbose >= 2 { level } else { "error" };
        tracing_subscriber::EnvFilter::new(format!(
            "{level},aws_config={sdk},aws_smithy_runtime={sdk}"
        ))
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
