//! `custody usage ID`, `custody stale`, `custody alerts` and `custody eval`:
//! what the audit logs read by `ingest` say (custody-app's `usage`, `logs`
//! and `grade`), printed.

use crate::global::{Global, OutputFormat};
use crate::{output, paths};
use anyhow::Result;
use clap::Args;
use custody_analysis::usage;
use custody_app::grade::Score;
use custody_app::usage::{time_text, UsageOut};
use custody_store::Store;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Args)]
pub struct UsageArgs {
    /// A credential or principal: access key id, ARN, node key or id.
    #[arg(value_name = "ID")]
    pub id: String,
    /// Compare what its own policies grant (AWS, by service) with what it used:
    /// services granted and never called are what right-sizing removes.
    #[arg(long)]
    pub right_size: bool,
}

pub fn show(cli: &Global, a: &UsageArgs) -> Result<ExitCode> {
    let store = paths::open_existing(cli)?;
    let Some((node, view)) = custody_app::usage::usage(&store, &a.id)? else {
        anyhow::bail!(
            "`{}` is neither in the graph nor in any audit log read so far",
            a.id
        );
    };
    let right_size = match (a.right_size, node) {
        (true, Some(n)) => {
            let model = custody_app::blast::load(&store, &cli.progress())?;
            Some(custody_app::usage::right_size(&model, n, &view.profiles))
        }
        (true, None) => anyhow::bail!(
            "--right-size needs an identity in the graph: `{}` is not",
            a.id
        ),
        _ => None,
    };
    let out = UsageOut { view, right_size };
    match cli.format {
        OutputFormat::Json => output::json(&out)?,
        OutputFormat::Table => print_usage(&out),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_usage(out: &UsageOut) {
    println!("{}", out.view.identity);
    if out.view.profiles.is_empty() {
        println!("  no use in the audit logs read so far (custody ingest <CloudTrail, Okta System Log…>)");
        return;
    }
    for kp in &out.view.profiles {
        let p = &kp.profile;
        println!();
        println!("  {}", kp.key);
        if !p.principal.is_empty() {
            println!("    principal     {}", p.principal);
        }
        println!("    first used    {}", time_text(p.first));
        println!("    last used     {}", time_text(p.last));
        println!(
            "    events        {} on {} day(s); {} error(s), {} denied",
            p.events,
            p.days.len(),
            p.errors,
            p.denied
        );
        let list = |v: &[usage::Seen], net: bool| -> String {
            let mut v: Vec<&usage::Seen> = v.iter().collect();
            v.sort_by_key(|s| std::cmp::Reverse(s.count));
            v.iter()
                .take(6)
                .map(|s| {
                    let name = if net {
                        usage::show_network(&s.value)
                    } else {
                        s.value.clone()
                    };
                    format!("{name} ({})", s.count)
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!("    regions       {}", list(&p.regions, false));
        println!("    networks      {}", list(&p.networks, true));
        println!("    clients       {}", list(&p.agents, false));
        if !p.subjects.is_empty() {
            println!("    via subjects  {}", list(&p.subjects, false));
        }
        let mut acts: Vec<&usage::ActionUse> = p.actions.iter().collect();
        acts.sort_by_key(|a| std::cmp::Reverse(a.count));
        let shown: Vec<String> = acts
            .iter()
            .take(8)
            .map(|a| format!("{}:{} ({})", a.service, a.action, a.count))
            .collect();
        println!(
            "    actions       {} distinct: {}",
            p.actions.len(),
            shown.join(", ")
        );
        let peak = p.hours.iter().copied().max().unwrap_or(0).max(1);
        let bars: String = p
            .hours
            .iter()
            .map(|&h| {
                [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'][(h * 8).div_ceil(peak) as usize]
            })
            .collect();
        println!("    hours (UTC)   |{bars}| 00–23");
    }
    if let Some(r) = &out.right_size {
        println!();
        println!("  right-sizing (its own policies, by service, against the logs read):");
        for (svc, g) in &r.granted {
            let used = r.used.get(svc).copied().unwrap_or(0);
            println!(
                "    {:<16} {:>5} resource(s), up to {:<22} {}",
                svc,
                g.resources,
                g.level,
                if used == 0 {
                    "never used: remove".to_string()
                } else {
                    format!("used {used} time(s)")
                }
            );
        }
        if !r.used_not_granted.is_empty() {
            println!(
                "    used but not granted by its own policies: {}",
                r.used_not_granted.join(", ")
            );
        }
    }
}

#[derive(Args)]
pub struct StaleArgs {
    /// Not used for this many days (or never) counts as stale.
    #[arg(long, default_value_t = 90)]
    pub days: i64,
    /// Judge as of this date (YYYY-MM-DD or RFC 3339). Default: now.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// At most this many rows (0: all).
    #[arg(long, default_value_t = 200)]
    pub limit: usize,
}

pub fn stale(cli: &Global, a: &StaleArgs) -> Result<ExitCode> {
    let store = paths::open_existing(cli)?;
    let as_of = match &a.as_of {
        Some(s) => custody_model::time::parse(s)
            .ok_or_else(|| anyhow::anyhow!("--as-of `{s}` is not a date"))?
            .timestamp(),
        None => chrono::Utc::now().timestamp(),
    };
    let all = custody_app::usage::stale_keys(&store, a.days, as_of)?;
    let shown = if a.limit == 0 {
        &all[..]
    } else {
        &all[..all.len().min(a.limit)]
    };
    match cli.format {
        OutputFormat::Json => output::json(&shown)?,
        OutputFormat::Table => {
            println!(
                "{} active access key(s) not used in {} days (as of {}):",
                all.len(),
                a.days,
                time_text(as_of)
            );
            let rows: Vec<Vec<String>> = shown
                .iter()
                .map(|s| {
                    vec![
                        s.key.trim_start_matches("aws-access-key:").to_string(),
                        s.user.clone().unwrap_or_default(),
                        s.account.clone().unwrap_or_default(),
                        s.last_used.clone().unwrap_or_else(|| "never".into()),
                        s.evidence.to_string(),
                        s.days_unused.map(|d| d.to_string()).unwrap_or_default(),
                        s.owners
                            .iter()
                            .map(|o| o.trim_start_matches("email:"))
                            .collect::<Vec<_>>()
                            .join(", "),
                    ]
                })
                .collect();
            output::table(
                &[
                    "key",
                    "user",
                    "account",
                    "last used",
                    "according to",
                    "days",
                    "owner",
                ],
                &rows,
            );
            if shown.len() < all.len() {
                println!("… {} more (--limit 0 for all)", all.len() - shown.len());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct AlertsArgs {
    /// Alerts whose event is this recent: a duration (30m, 1h, 7d, 2w, 1y) or a time.
    #[arg(long, default_value = "30d")]
    pub since: String,
    /// Only this rule (new-region, new-network, new-user-agent, region-shift, denied-burst,
    /// dormant-reuse, impossible-travel, used-after-owner-left,
    /// leaked-credential-used; --list-rules).
    #[arg(long)]
    pub rule: Option<String>,
    /// Only this severity or worse (low, medium, high, critical).
    #[arg(long)]
    pub severity: Option<String>,
    /// Only identities that can reach this resource (ARN or key): the seed's
    /// "who can reach the customer database and did something unusual".
    #[arg(long, value_name = "RESOURCE")]
    pub reaching: Option<String>,
    /// List the rules and stop.
    #[arg(long)]
    pub list_rules: bool,
    /// List the alerts a suppression covers (custody suppress) instead of the others.
    #[arg(long)]
    pub suppressed: bool,
}

#[derive(clap::Subcommand)]
pub enum SuppressCommand {
    /// Accept a value of a rule for one identity or for every identity: alerts
    /// it covers are no longer listed (already raised ones included) but counted.
    Add(SuppressAddArgs),
    /// The suppressions, with who made each, why, and how many alerts each covers.
    List(SuppressListArgs),
    /// Remove a suppression (it stays on record with who removed it and why).
    Remove(SuppressRemoveArgs),
}

#[derive(Args)]
pub struct SuppressAddArgs {
    /// The rule (new-region, new-network, new-user-agent, denied-burst…;
    /// custody alerts --list-rules).
    #[arg(long)]
    pub rule: String,
    /// The value to accept, as alerts show it: a region, a network
    /// (198.51.100.0/24 or an address in it, private, AS7018), a client
    /// (python-requests or a whole user agent). Left out: any value.
    #[arg(long)]
    pub value: Option<String>,
    /// The identity (ARN, access key id, natural key or node id).
    #[arg(long, required_unless_present = "all", conflicts_with = "all")]
    pub identity: Option<String>,
    /// For every identity (a corporate egress network, an approved client).
    #[arg(long)]
    pub all: bool,
    /// Why: kept on record and shown with the suppression.
    #[arg(long)]
    pub reason: String,
}

#[derive(Args)]
pub struct SuppressListArgs {
    /// Removed suppressions too.
    #[arg(long)]
    pub all: bool,
}

#[derive(Args)]
pub struct SuppressRemoveArgs {
    /// The suppression's number (custody suppress list).
    pub id: i64,
    /// Why: kept on record.
    #[arg(long)]
    pub reason: String,
}

#[derive(clap::Subcommand)]
pub enum NetworksCommand {
    /// Read ranges files and store their ranges, replacing what the same
    /// source loaded before: AWS ip-ranges.json, Google Cloud cloud.json,
    /// Azure Service Tags, GitHub's meta, or custody's TOML
    /// ([[network]] name = "…", cidrs = […]).
    Load(NetworksLoadArgs),
    /// The stored sources: format, publication date, when loaded, networks.
    List,
    /// Remove a source's ranges.
    Remove(NetworksRemoveArgs),
}

#[derive(Args)]
pub struct NetworksLoadArgs {
    /// The files.
    #[arg(required = true)]
    pub files: Vec<std::path::PathBuf>,
    /// The source's name (default: the format for published files, the file
    /// name for TOML); loading the same source again replaces it.
    #[arg(long)]
    pub source: Option<String>,
}

#[derive(Args)]
pub struct NetworksRemoveArgs {
    /// The source (custody networks list).
    pub source: String,
}

pub fn networks(cli: &Global, c: &NetworksCommand) -> Result<ExitCode> {
    match c {
        NetworksCommand::Load(a) => {
            let mut store = paths::open_store(cli)?;
            let mut out = Vec::new();
            for f in &a.files {
                let shown = f.display().to_string();
                let bytes = std::fs::read(f)
                    .map_err(|e| anyhow::anyhow!("{shown}: cannot read it: {e}"))?;
                let l = custody_app::networks::load(
                    &mut store,
                    &shown,
                    &bytes,
                    a.source.as_deref(),
                    &crate::global::local_user(),
                )?;
                if cli.format != OutputFormat::Json {
                    println!(
                        "{shown}: {} ranges in {} network(s) as `{}` ({}{}){}.",
                        l.ranges,
                        l.networks,
                        l.source,
                        l.format,
                        l.published
                            .as_deref()
                            .map(|p| format!(", published {p}"))
                            .unwrap_or_default(),
                        if l.replaced > 0 {
                            format!("; replaced {} earlier ranges", l.replaced)
                        } else {
                            String::new()
                        }
                    );
                }
                out.push(l);
            }
            if cli.format == OutputFormat::Json {
                output::json(&out)?;
            } else {
                println!("The next ingest judges callers' networks by them.");
            }
        }
        NetworksCommand::List => {
            let store = paths::open_existing(cli)?;
            let sources = custody_app::networks::list(&store)?;
            match cli.format {
                OutputFormat::Json => output::json(&sources)?,
                _ => {
                    println!("{} source(s) of named ranges:", sources.len());
                    let rows: Vec<Vec<String>> = sources
                        .iter()
                        .map(|s| {
                            let names: Vec<&str> =
                                s.networks.keys().take(4).map(String::as_str).collect();
                            vec![
                                s.source.clone(),
                                s.format.clone(),
                                s.published.clone().unwrap_or_default(),
                                format!("{} {}", s.loaded_by, s.loaded_at),
                                s.ranges.to_string(),
                                format!(
                                    "{}{}",
                                    names.join(", "),
                                    if s.networks.len() > names.len() {
                                        format!(" (+{})", s.networks.len() - names.len())
                                    } else {
                                        String::new()
                                    }
                                ),
                            ]
                        })
                        .collect();
                    output::table(
                        &[
                            "source",
                            "format",
                            "published",
                            "loaded",
                            "ranges",
                            "networks",
                        ],
                        &rows,
                    );
                }
            }
        }
        NetworksCommand::Remove(a) => {
            let mut store = paths::open_existing(cli)?;
            let n = custody_app::networks::remove(&mut store, &a.source)?;
            println!("Removed {n} ranges of `{}`.", a.source);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn suppress(cli: &Global, c: &SuppressCommand) -> Result<ExitCode> {
    match c {
        SuppressCommand::Add(a) => {
            let mut store = paths::open_existing(cli)?;
            let row = custody_app::usage::suppress(
                &mut store,
                &custody_app::usage::SuppressRequest {
                    identity: if a.all { None } else { a.identity.clone() },
                    rule: a.rule.clone(),
                    value: a.value.clone(),
                    reason: a.reason.clone(),
                    by: crate::global::local_user(),
                },
            )?;
            match cli.format {
                OutputFormat::Json => output::json(&row)?,
                _ => println!(
                    "Suppression #{}: {} {} for {} ({}).",
                    row.id,
                    row.rule,
                    if row.value == "*" {
                        "any value".to_string()
                    } else {
                        format!("`{}`", row.value)
                    },
                    if row.identity == "*" {
                        "every identity"
                    } else {
                        &row.identity
                    },
                    row.reason
                ),
            }
        }
        SuppressCommand::List(a) => {
            let store = paths::open_existing(cli)?;
            let rows = custody_app::usage::suppressions(&store, a.all)?;
            match cli.format {
                OutputFormat::Json => output::json(&rows)?,
                _ => {
                    println!("{} suppression(s):", rows.len());
                    let table: Vec<Vec<String>> = rows
                        .iter()
                        .map(|s| {
                            let r = &s.row;
                            vec![
                                format!("#{}", r.id),
                                r.rule.clone(),
                                r.value.clone(),
                                r.identity.clone(),
                                r.reason.clone(),
                                format!("{} {}", r.created_by, r.created_at),
                                s.alerts_covered.to_string(),
                                match (&r.removed_at, &r.removed_by) {
                                    (Some(at), Some(by)) => format!(
                                        "removed by {by} {at}: {}",
                                        r.removed_reason.as_deref().unwrap_or("")
                                    ),
                                    _ => "active".to_string(),
                                },
                            ]
                        })
                        .collect();
                    output::table(
                        &[
                            "id", "rule", "value", "identity", "reason", "by", "alerts", "status",
                        ],
                        &table,
                    );
                }
            }
        }
        SuppressCommand::Remove(a) => {
            let mut store = paths::open_existing(cli)?;
            custody_app::usage::unsuppress(
                &mut store,
                a.id,
                &crate::global::local_user(),
                &a.reason,
            )?;
            println!(
                "Suppression #{} removed; its alerts are listed again.",
                a.id
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn alerts(cli: &Global, a: &AlertsArgs) -> Result<ExitCode> {
    if a.list_rules {
        let rows: Vec<Vec<String>> = usage::RULES
            .iter()
            .map(|(id, sev, what)| vec![id.to_string(), sev.to_string(), what.to_string()])
            .collect();
        output::table(&["rule", "severity", "raised when the identity is"], &rows);
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(r) = &a.rule {
        if !usage::RULES.iter().any(|x| x.0 == r) {
            anyhow::bail!("no alert rule `{r}` (custody alerts --list-rules)");
        }
    }
    let min = match &a.severity {
        Some(s) if custody_app::usage::severity_rank(s) == 0 => {
            anyhow::bail!("--severity is one of low, medium, high, critical")
        }
        Some(s) => custody_app::usage::severity_rank(s),
        None => 0,
    };
    let store = paths::open_existing(cli)?;
    let since = custody_app::service::since_time(&a.since, chrono::Utc::now().timestamp())
        .map_err(anyhow::Error::msg)?;
    let reach: Option<HashMap<String, String>> = match &a.reaching {
        None => None,
        Some(r) => {
            let node = store.find(r)?.ok_or_else(|| {
                anyhow::anyhow!(
                    "nothing matches `{r}`: give a resource ARN, natural key or node id"
                )
            })?;
            let progress = cli.progress();
            let model = custody_app::blast::load(&store, &progress)?;
            let res = model.resource(node).ok_or_else(|| {
                anyhow::anyhow!(
                    "`{r}` is not an AWS resource custody has inventoried (from the resource exports)"
                )
            })?;
            custody_app::progress::step(&progress, "computing who can reach it…");
            custody_app::blast::warm(&model);
            let out = custody_app::blast::reached_by(&store, &model, res, 0)?;
            custody_app::Progress::done(&progress);
            Some(
                out.reachers
                    .into_iter()
                    .map(|x| (x.credential, x.access.to_string()))
                    .collect(),
            )
        }
    };
    let filter = custody_app::usage::AlertsFilter {
        since,
        rule: a.rule.clone(),
        min_severity: min,
        limit: 0,
        keys: None,
        suppressed: a.suppressed,
    };
    let (rows, hidden) = custody_app::usage::alerts_counted(&store, &filter, reach.as_ref(), None)?;
    match cli.format {
        OutputFormat::Json => output::json(&rows)?,
        OutputFormat::Table => {
            let incidents = rows.iter().map(|r| r.incident).max().unwrap_or(0);
            println!(
                "{} {}alert(s) in {incidents} incident(s) since {}{}",
                rows.len(),
                if a.suppressed { "suppressed " } else { "" },
                time_text(since),
                if hidden > 0 {
                    format!(
                        "; {hidden} more covered by a suppression (custody alerts --suppressed):"
                    )
                } else {
                    ":".to_string()
                }
            );
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    let ev = &r.evidence;
                    let s = |k: &str| ev.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
                    vec![
                        if r.incident_alerts > 1 {
                            format!("#{} ({} alerts)", r.incident, r.incident_alerts)
                        } else {
                            format!("#{}", r.incident)
                        },
                        r.time.clone(),
                        r.severity.clone(),
                        r.rule.clone(),
                        match &r.access {
                            Some(level) => format!("{} ({level})", r.identity),
                            None => r.identity.clone(),
                        },
                        r.owners
                            .iter()
                            .map(|o| o.trim_start_matches("email:"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        match r.suppressed_by {
                            Some(id) => format!("{} [suppressed by #{id}]", r.summary),
                            None => r.summary.clone(),
                        },
                        format!(
                            "{}{} {} {}",
                            s("source").rsplit('/').next().unwrap_or(""),
                            s("at"),
                            s("action"),
                            s("ip")
                        ),
                    ]
                })
                .collect();
            output::table(
                &[
                    "incident", "time", "severity", "rule", "identity", "owners", "what",
                    "evidence",
                ],
                &table,
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct EvalArgs {
    /// The `answers.json` that `custody synth` wrote for the data in the database.
    #[arg(value_name = "ANSWERS")]
    pub answers: PathBuf,
}

pub fn eval(cli: &Global, a: &EvalArgs) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&a.answers)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", a.answers.display()))?;
    let answers: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: not JSON: {e}", a.answers.display()))?;
    let store = paths::open_existing(cli)?;
    let started = Instant::now();
    // An estate written by hand may answer only some questions: usage
    // alerts, ownership (`answers-ownership.json`), a leaver's offboarding.
    let e = match answers.pointer("/expected/usage") {
        Some(_) => Some(custody_app::grade::eval_usage(&store, &answers)?),
        None => None,
    };
    let usage_seconds = started.elapsed().as_secs_f64();
    let truth = a.answers.with_file_name("answers-ownership.json");
    let owners = custody_app::grade::eval_ownership(&store, &truth, &cli.progress())?;
    let leaver = custody_app::grade::offboarding(&store, answers.pointer("/expected/offboarding"))?;
    if e.is_none() && owners.is_none() && leaver.is_none() {
        anyhow::bail!(
            "{}: nothing to score: no expected.usage or expected.offboarding, and no answers-ownership.json beside it",
            a.answers.display()
        );
    }
    match cli.format {
        OutputFormat::Json => {
            let mut v = match &e {
                Some(e) => serde_json::to_value(e)?,
                None => serde_json::json!({}),
            };
            if let Some(m) = v.as_object_mut() {
                if let Some(o) = &owners {
                    m.insert("ownership".into(), serde_json::to_value(o)?);
                }
                if let Some(l) = &leaver {
                    m.insert("offboarding".into(), serde_json::to_value(l)?);
                }
            }
            output::json(&v)?
        }
        OutputFormat::Table => {
            if let Some(e) = &e {
                print_usage_eval(&a.answers, e, usage_seconds);
            }
            if let Some(o) = &owners {
                crate::owner::print_ownership_score(o);
            }
            if let Some(l) = &leaver {
                println!(
                    "\nOffboarding {}: {} of {} expected identities listed ({} listed in all), routed to {}: {}",
                    l.email,
                    l.expected - l.missing.len().min(l.expected),
                    l.expected,
                    l.found,
                    l.manager,
                    if l.holds { "holds" } else { "does not hold" }
                );
                for m in &l.missing {
                    println!("  missing: {m}");
                }
                for u in &l.unexpected {
                    println!("  not expected: {u}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_usage_eval(
    answers: &std::path::Path,
    e: &custody_app::grade::UsageEval,
    usage_seconds: f64,
) {
    println!(
        "Usage: alerts and stale keys against {} ({} events in the answers; scored in {:.1}s)",
        answers.display(),
        e.events_in_answers,
        usage_seconds
    );
    let row = |name: &str, s: &Score, benign: Option<f64>| {
        vec![
            name.to_string(),
            s.expected.to_string(),
            s.found.to_string(),
            s.true_positives.to_string(),
            format!("{:.3}", s.precision),
            format!("{:.3}", s.recall),
            benign.map_or_else(|| "-".to_string(), |b| format!("{b:.2}")),
        ]
    };
    let mut rows = vec![row(
        "all alerts",
        &e.alerts,
        Some(e.benign_alerts_per_million_events),
    )];
    rows.extend(e.by_rule.iter().map(|(r, s)| {
        row(
            &format!("  {r}"),
            s,
            e.benign_per_million_by_rule.get(r).copied(),
        )
    }));
    rows.push(row("stale keys", &e.stale, None));
    output::table(
        &[
            "",
            "expected",
            "found",
            "correct",
            "precision",
            "recall",
            "benign per M events",
        ],
        &rows,
    );
    println!(
        "Benign alerts (not planted): {:.2} per million events.",
        e.benign_alerts_per_million_events
    );
    for (what, s) in [("alerts", &e.alerts), ("stale keys", &e.stale)] {
        for m in &s.missed {
            println!("  missed ({what}): {m}");
        }
        for u in &s.unexpected {
            println!("  not expected ({what}): {u}");
        }
    }
}
