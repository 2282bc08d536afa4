//! The synthetic enterprise and the guided tour over it.
//!
//! [`synthesize`] writes a company in its systems' native export formats
//! with the planted answers; [`run`] is the whole `custody demo`: synthesise,
//! ingest (with the CloudTrail), scan the copies outside IAM into the graph,
//! then answer every planted question the way a user would and grade each
//! answer against `answers.json` ([`crate::grade`]). The CLI prints the tour.

use crate::blast::{self, BlastOut};
use crate::grade::{self, AgentCheck, Check, LeaverCheck, UsageEval};
use crate::ingest::IngestOutput;
use crate::progress::{step, Progress};
use crate::scan::{self, ScanOut};
use crate::show::{self, ShowOutput};
use anyhow::{Context, Result};
use chrono::NaiveDate;
use custody_posture::risk::Risk;
use custody_posture::Report;
use custody_store::{Stats, Store};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use custody_synth::Answers;

/// The folders of a synthetic snapshot that `custody scan` reads: the planted
/// key's copies outside IAM (a repository, Kubernetes Secrets, MCP configs,
/// Secrets Manager values). The rest are inventory exports for `ingest`.
pub const SCAN_ROOTS: [&str; 5] = [
    "repos",
    "kubernetes",
    "workstations",
    "secretsmanager-values",
    "keyvault-values",
];

/// Writes a synthetic enterprise of `people` to `out` (deterministic for
/// seed, size and date), with about `audit_events` CloudTrail events
/// (default: 200 per person).
pub fn synthesize(
    people: usize,
    seed: u64,
    as_of: NaiveDate,
    out: &Path,
    audit_events: Option<usize>,
) -> Result<Answers> {
    custody_synth::generate(&custody_synth::Options {
        people,
        seed,
        as_of,
        out: out.to_path_buf(),
        audit_events: audit_events.unwrap_or(people * 200),
    })
    .map_err(anyhow::Error::from)
}

/// What the demo found, each planted answer beside what custody said.
#[derive(Serialize)]
pub struct Demo {
    pub snapshot_dir: PathBuf,
    pub answers: Answers,
    pub ingest: IngestOutput,
    pub scan: ScanOut,
    pub stats: Stats,
    /// The planted scenario (`answers.json`'s first) and its access key.
    pub scenario: Value,
    pub key_id: String,
    /// `custody show` of that key.
    pub shown: ShowOutput,
    /// Every surface `answers.json` names is a place of the one key.
    pub surfaces_found: bool,
    /// The systems holding the key outside IAM, in words.
    pub surfaces: Vec<String>,
    /// The key is active, its owner has left and every surface was found.
    pub planted_found: bool,
    pub blast_radius: BlastOut,
    pub reachability: Vec<Check>,
    pub usage: UsageEval,
    /// Alerts raised, by rule.
    pub alerts_by_rule: BTreeMap<String, usize>,
    pub posture: Report,
    pub posture_checks: usize,
    pub posture_wrong: Vec<String>,
    pub risk: Vec<Risk>,
    /// The planted GitHub → AWS → GCP chain as `show` sees the workflow, and
    /// whether it is whole.
    pub federation: Option<(ShowOutput, bool)>,
    /// The same workflow's one blast radius across AWS, Google Cloud and Azure.
    pub cross_cloud: Option<grade::CrossCloud>,
    pub agent: Option<AgentCheck>,
    pub leaver: Option<LeaverCheck>,
    /// Whether each part holds, and all together.
    pub checks: DemoChecks,
}

#[derive(Serialize)]
pub struct DemoChecks {
    pub planted: bool,
    pub reachability: bool,
    pub usage: bool,
    pub posture: bool,
    pub federation: bool,
    pub cross_cloud: bool,
    pub agent: bool,
    pub leaver: bool,
    pub all: bool,
}

/// The demo's folder, held for one run ([`take_folder`]): other demos are
/// kept out until it is dropped (or the process ends, however it ends).
pub struct Folder {
    /// Where the company is synthesised (cleared).
    pub snapshot: PathBuf,
    _lock: std::fs::File,
}

/// Takes `dir` for one demo and clears what a demo writes there: the
/// snapshot folder and the database `db` (with its WAL files). A demo
/// already running in `dir` holds it: this one is refused, naming that
/// process, rather than clearing the files under it.
pub fn take_folder(dir: &Path, db: &Path) -> Result<Folder> {
    use std::io::Write;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join("demo.lock");
    let mut lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            let holder = match holder.trim() {
                "" => String::new(),
                pid => format!(" (process {pid})"),
            };
            anyhow::bail!(
                "another `custody demo` is running in {}{holder}: wait for it to finish, \
                 or give this one its own folder (--dir, or another CUSTODY_HOME)",
                dir.display()
            );
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
    lock.set_len(0)
        .and_then(|()| write!(lock, "{}", std::process::id()))
        .with_context(|| format!("cannot write {}", path.display()))?;
    let snapshot = dir.join("snapshot");
    if snapshot.exists() {
        std::fs::remove_dir_all(&snapshot)
            .with_context(|| format!("cannot clear {}", snapshot.display()))?;
    }
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", db.display()));
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("cannot remove {}", p.display()))?;
        }
    }
    Ok(Folder {
        snapshot,
        _lock: lock,
    })
}

/// Synthesises `people` people into `snapshot` (which should be empty),
/// ingests it into `store`, scans the copies outside IAM into the graph, and
/// checks every planted answer.
pub fn run(
    store: &mut dyn Store,
    snapshot: &Path,
    people: usize,
    seed: u64,
    as_of: NaiveDate,
    progress: &dyn Progress,
) -> Result<Demo> {
    step(progress, "synthesising the company…");
    let answers = synthesize(people, seed, as_of, snapshot, None)?;
    progress.done();
    let ingest = crate::ingest::run(store, &[snapshot.to_path_buf()], progress)?;
    let scan_roots: Vec<PathBuf> = SCAN_ROOTS
        .iter()
        .map(|d| snapshot.join(d))
        .filter(|p| p.exists())
        .collect();
    let (scanned, _) = scan::scan_and_ingest(
        store,
        &scan_roots,
        scan::Options {
            git: true,
            ingest: true,
            validate: None,
        },
        progress,
    )?;
    let stats = store.stats()?;
    let answers_json = serde_json::to_value(&answers)?;
    let scenario = answers.scenarios.first().cloned().unwrap_or(Value::Null);
    let key_id = scenario["access_key_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let found = store
        .find(&key_id)?
        .context("the planted access key is missing from the graph")?;
    let shown = show::build(store, found)?;
    let owner_terminated = shown
        .lineage
        .owners
        .iter()
        .any(|o| o.employment_status.as_ref().and_then(Value::as_str) == Some("terminated"));
    // Every surface answers.json names is a STORED_IN place of the one key.
    let places: Vec<&str> = shown
        .edges
        .iter()
        .filter(|e| e.edge.kind == "STORED_IN")
        .map(|e| e.edge.other.key.as_str())
        .collect();
    let surfaces_found = scenario["surfaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .all(|s| places.iter().any(|p| p.contains(s)));
    // A surface is a system holding the key, however many lines, keys or
    // commits of it do.
    let mut surfaces: Vec<String> = shown
        .edges
        .iter()
        .filter(|e| e.edge.kind == "STORED_IN")
        .map(|e| grade::surface(&e.edge.other))
        .collect();
    surfaces.sort_unstable();
    surfaces.dedup();
    let planted = owner_terminated
        && surfaces_found
        && shown.node.props.get("status").and_then(Value::as_str) == Some("Active");
    step(progress, "loading the AWS permission model…");
    let model = blast::load(store, progress)?;
    let reach = blast::describe(&model, &key_id, &blast::radius(&model, &model.start(found)));
    let reachability = grade::reachability(store, &model, &answers.expected["reachability"])?;
    let usage = grade::eval_usage(store, &answers_json)?;
    let usage_ok =
        usage.alerts.precision == 1.0 && usage.alerts.recall == 1.0 && usage.stale.recall == 1.0;
    let mut alerts_by_rule: BTreeMap<String, usize> = BTreeMap::new();
    for a in store.alerts(i64::MIN)? {
        *alerts_by_rule.entry(a.rule).or_default() += 1;
    }
    // What is wrong: every posture rule (the reach rule with the model loaded
    // above), checked against the planted cases; the riskiest identities.
    step(progress, "running the posture rules…");
    let graph = custody_query::MemGraph::load(store)?;
    let rules = custody_posture::default_rules();
    let ownership = crate::owner::credentials_from_graph(&graph, store)?;
    let posture = crate::posture::run(&graph, &rules, Some(&ownership), Some(&model), as_of)?;
    let risk = crate::posture::risk(&graph, Some(&model), &posture.findings, 5);
    let (posture_checks, posture_wrong) = grade::posture(&posture.findings, &answers_json);
    step(progress, "checking the planted answers…");
    let federation = grade::federation(store, answers.expected.get("federation"))?;
    let cross_cloud =
        grade::cross_cloud(store, &graph, &model, answers.expected.get("federation"))?;
    let agent = grade::agent(store, &model, snapshot, answers.expected.get("agent"))?;
    let leaver = grade::offboarding(store, answers.expected.get("offboarding"))?;
    // Findings recorded as a snapshot, as `custody findings --record` does,
    // so `custody diff` and the History page show them new or resolved.
    step(progress, "recording the findings…");
    crate::posture::record(&mut *store, &graph, &posture.findings)?;
    progress.done();
    // Planted but not in the graph is a failure, not a skipped check.
    let checks = DemoChecks {
        planted,
        reachability: reachability.iter().all(|c| c.holds),
        usage: usage_ok,
        posture: posture_wrong.is_empty(),
        federation: federation.as_ref().is_none_or(|f| f.1),
        cross_cloud: match &cross_cloud {
            Some(c) => c.holds,
            None => !answers.expected.contains_key("federation"),
        },
        agent: match &agent {
            Some(a) => a.holds,
            None => !answers.expected.contains_key("agent"),
        },
        leaver: match &leaver {
            Some(l) => l.holds,
            None => !answers.expected.contains_key("offboarding"),
        },
        all: false,
    };
    let all = checks.planted
        && checks.reachability
        && checks.usage
        && checks.posture
        && checks.federation
        && checks.cross_cloud
        && checks.agent
        && checks.leaver;
    Ok(Demo {
        snapshot_dir: snapshot.to_path_buf(),
        answers,
        ingest,
        scan: scanned,
        stats,
        scenario,
        key_id,
        shown,
        surfaces_found,
        surfaces,
        planted_found: planted,
        blast_radius: reach,
        reachability,
        usage,
        alerts_by_rule,
        posture,
        posture_checks,
        posture_wrong,
        risk,
        federation,
        cross_cloud,
        agent,
        leaver,
        checks: DemoChecks { all, ..checks },
    })
}
