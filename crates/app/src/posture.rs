//! The posture run, once for every surface (`custody findings`, the demo,
//! `/v1/findings` and `/v1/risk`, the MCP tools): the rules as queries over
//! the graph, the ownership rule (`owner-left`, from the attribution every
//! surface gives), then the rules the reach model computes (`admin-equivalent`),
//! and the risk ranking that weighs findings by exposure and blast radius;
//! recording findings in the graph as a snapshot.

use anyhow::{Context, Result};
use custody_analysis::ownership::Ownership;
use custody_analysis::Model;
use custody_posture::{Finding, Report, Rule, Severity};
use custody_query::{Graph, Limits};
use custody_store::Store;
use std::path::Path;
use std::time::{Duration, Instant};

/// What one posture run found, with what it read to find it (the caller
/// may record the findings, or print evidence from the graph).
pub struct Posture {
    pub graph: custody_query::MemGraph,
    /// With `reach`: the permission model the reach rules and the risk
    /// ranking used.
    pub model: Option<Model>,
    /// When a rule needs it: the ownership attribution `owner-left` used.
    pub ownership: Option<Ownership>,
    pub report: Report,
    /// The `top` riskiest identities (severity × exposure × reach).
    pub risk: Vec<custody_posture::risk::Risk>,
}

/// One posture run over the store: the graph in memory, ownership when a rule
/// needs it, every rule, the risk ranking. With `reach` the permission model
/// loads on a second connection (where the store can open one) while the
/// graph loads and the query and ownership rules run, which need only the
/// graph; the reach rules and the risk ranking then use both. Measured at
/// 10,000 people: the model's load (~6 s, one thread) outlasts the graph's
/// (~3 s), so the rules no longer wait for it.
pub fn findings(
    store: &dyn Store,
    rules: &[Rule],
    reach: bool,
    today: chrono::NaiveDate,
    top: usize,
    progress: &dyn crate::progress::Progress,
) -> Result<Posture> {
    let started = Instant::now();
    let second = if reach { store.another()? } else { None };
    std::thread::scope(|s| {
        let loading = second.map(|second| s.spawn(move || crate::blast::load(&*second, progress)));
        crate::progress::step(progress, "loading the graph…");
        let graph = custody_query::MemGraph::load(store)?;
        tracing::info!("graph loaded in {:.1}s", started.elapsed().as_secs_f64());
        let owner_rule = computed(rules, "ownership");
        crate::progress::step(progress, &format!("running {} rules…", rules.len()));
        // The query rules need only the graph, and ownership's attribution
        // the graph and the store (which stays on this thread): one runs
        // beside the other (at 10,000 people ~0.7 s and ~0.45 s).
        let (ownership, mut report) = std::thread::scope(|beside| -> Result<_> {
            let queries = beside.spawn(|| query_rules(&graph, rules, today));
            let ownership = owner_rule.map(|_| crate::owner::credentials_from_graph(&graph, store));
            let report = queries
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            Ok((ownership.transpose()?, report?))
        })?;
        if let (Some(o), Some(rule)) = (&ownership, owner_rule) {
            owner_left(&graph, o, rule, &mut report);
        }
        tracing::info!(
            "query and ownership rules done after {:.1}s",
            started.elapsed().as_secs_f64()
        );
        let model = match loading {
            Some(thread) => Some(
                thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?,
            ),
            None if reach => Some(crate::blast::load(store, progress)?),
            None => None,
        };
        if let Some(model) = &model {
            tracing::info!(
                "permission model ready after {:.1}s",
                started.elapsed().as_secs_f64()
            );
            reach_rules(&graph, model, rules, &mut report);
        }
        let risk = risk(&graph, model.as_ref(), &report.findings, top);
        Ok(Posture {
            graph,
            model,
            ownership,
            report,
            risk,
        })
    })
}

/// The rules to run: the shipped ones or a file's, only those named (each
/// must exist) and at least `severity`.
pub fn rules(
    file: Option<&Path>,
    only: &[String],
    severity: Option<Severity>,
) -> Result<Vec<Rule>> {
    let mut rules = match file {
        Some(f) => {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("cannot read {}", f.display()))?;
            custody_posture::parse_rules(&text).with_context(|| f.display().to_string())?
        }
        None => custody_posture::parse_rules(custody_posture::DEFAULT_RULES)?,
    };
    for id in only {
        if !rules.iter().any(|r| &r.id == id) {
            let ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
            anyhow::bail!("no rule `{id}`; there are: {}", ids.join(", "));
        }
    }
    rules.retain(|r| {
        (only.is_empty() || only.contains(&r.id)) && severity.is_none_or(|s| r.severity >= s)
    });
    Ok(rules)
}

/// Runs `rules` over `graph` with relative dates counted from `today`: every
/// query rule, the ownership rule with `ownership`, and with the reach model
/// the reach rules (without it they are left out; [`needs_reach`] names
/// them). Rules get the whole graph: no row limit, five minutes each.
pub fn run<G: Graph + Sync>(
    graph: &G,
    rules: &[Rule],
    ownership: Option<&Ownership>,
    model: Option<&Model>,
    today: chrono::NaiveDate,
) -> Result<Report> {
    let mut report = query_rules(graph, rules, today)?;
    if let (Some(o), Some(rule)) = (ownership, computed(rules, "ownership")) {
        owner_left(graph, o, rule, &mut report);
    }
    if let Some(model) = model {
        reach_rules(graph, model, rules, &mut report);
    }
    Ok(report)
}

/// The query rules of `rules`, with relative dates counted from `today`.
fn query_rules<G: Graph>(graph: &G, rules: &[Rule], today: chrono::NaiveDate) -> Result<Report> {
    // The rules are custody's own (or the operator's): the whole graph.
    let limits = Limits {
        max_rows: usize::MAX,
        max_matches: usize::MAX,
        max_work: u64::MAX,
        timeout: Duration::from_secs(300),
        ..Limits::default()
    };
    Ok(custody_posture::run_on(graph, rules, &limits, today)?)
}

/// The rule of `rules` that custody computes as `what` (`ownership`,
/// `reach`) rather than asks the graph.
fn computed<'r>(rules: &'r [Rule], what: &str) -> Option<&'r Rule> {
    rules.iter().find(|r| r.computed.as_deref() == Some(what))
}

/// The rules of `rules` the reach model computes, added to `report`.
fn reach_rules<G: Graph + Sync>(graph: &G, model: &Model, rules: &[Rule], report: &mut Report) {
    if let Some(rule) = computed(rules, "reach") {
        admin_equivalent(graph, model, rule, report);
    }
}

/// The rules of `rules` that only run with the reach model.
pub fn needs_reach(rules: &[Rule]) -> Vec<&str> {
    rules
        .iter()
        .filter(|r| r.computed.as_deref() == Some("reach"))
        .map(|r| r.id.as_str())
        .collect()
}

/// Stores the findings as graph facts in one snapshot under the posture
/// scope: a `Finding` node per finding with a `HAS_FINDING` edge from its
/// identity; findings no longer found are retired. Returns the snapshot.
pub fn record<G: Graph>(store: &mut dyn Store, graph: &G, findings: &[Finding]) -> Result<i64> {
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let label_of = |key: &str| -> Option<String> {
        let id = graph.find(key).ok()??;
        graph.node(id).ok()?.map(|n| n.label.clone())
    };
    let facts = custody_posture::facts(findings, &label_of, &now);
    let batch = custody_store::SourceBatch {
        unparsed: None,
        prepared: None,
        path: "custody findings".into(),
        format: "custody-posture".into(),
        scope: custody_posture::SCOPE.into(),
        sha256: None,
        observed_at: Some(now),
        records: findings.len(),
        facts,
        errors: Vec::new(),
    };
    Ok(store.ingest_all(vec![batch], &mut |_| {})?.snapshot)
}

/// The reach rule: every active access key with a path to full control of an
/// account (escalation, or a role it can become), unless `admin-credential`
/// already reports it (AdministratorAccess itself); and every IAM user and
/// role with such a path, keys or not (an IAM-only export names no keys).
/// Evidence: the path.
pub fn admin_equivalent<G: Graph + Sync>(
    graph: &G,
    model: &Model,
    rule: &Rule,
    report: &mut Report,
) {
    use rayon::prelude::*;
    let started = Instant::now();
    let direct: std::collections::HashSet<&str> = report
        .findings
        .iter()
        .filter(|f| f.rule == "admin-credential")
        .map(|f| f.identity.as_str())
        .collect();
    let keys: Vec<(i64, &str)> = model
        .credentials()
        .filter(|(_, key)| !direct.contains(key))
        .collect();
    crate::blast::warm_admin_paths(model);
    let found: Vec<Finding> = keys
        .par_iter()
        .filter_map(|&(node, key)| {
            let mut active = false;
            graph
                .with_node(node, &mut |n| {
                    active = n
                        .props
                        .value("status")
                        .as_ref()
                        .and_then(|v| v.as_str())
                        .is_none_or(|s| s == "Active");
                })
                .ok()?;
            if !active {
                return None;
            }
            let path = model.path_to_admin(&model.start(node))?;
            let steps: Vec<String> = path
                .iter()
                .map(|h| {
                    let p = &model.principals[h.principal as usize];
                    let who = if p.kind == custody_analysis::reach::PrincipalKind::AccountAdmin {
                        &p.name
                    } else {
                        &p.arn
                    };
                    format!("{who} ({})", h.how)
                })
                .collect();
            let account = path
                .last()
                .and_then(|h| model.principals[h.principal as usize].account.clone());
            let mut evidence = serde_json::Map::new();
            evidence.insert("account".into(), serde_json::json!(account));
            evidence.insert("path".into(), serde_json::json!(steps));
            evidence.insert(
                "conditional".into(),
                serde_json::json!(path.iter().any(|h| h.conditional)),
            );
            Some(Finding {
                rule: rule.id.clone(),
                owasp: rule.owasp.clone(),
                severity: rule.severity,
                title: rule.title.clone(),
                identity: key.to_string(),
                evidence,
                remediation: rule.remediation.clone(),
            })
        })
        .collect();
    let mut found = found;
    for e in crate::blast::escalations(model).escalating {
        let Some(node) = e.node else { continue };
        let mut key = None;
        let _ = graph.with_node(node, &mut |n| key = Some(n.key.clone()));
        let Some(key) = key else { continue };
        let mut evidence = serde_json::Map::new();
        evidence.insert("account".into(), serde_json::json!(e.account));
        evidence.insert(
            "path".into(),
            serde_json::json!(e
                .path
                .iter()
                .map(|s| format!("{} ({})", s.principal, s.how))
                .collect::<Vec<_>>()),
        );
        evidence.insert("techniques".into(), serde_json::json!(e.techniques));
        evidence.insert("conditional".into(), serde_json::json!(e.conditional));
        if let Some(p) = e.potential {
            evidence.insert("potential".into(), serde_json::json!(p));
        }
        found.push(Finding {
            rule: rule.id.clone(),
            owasp: rule.owasp.clone(),
            severity: rule.severity,
            title: rule.title.clone(),
            identity: key,
            evidence,
            remediation: rule.remediation.clone(),
        });
    }
    add(report, rule, found, started);
}

/// An active credential whose accountable owner has left.
pub struct LeftBehind {
    pub credential: i64,
    pub key: String,
    /// The owner's key (`email:…`) and their last day.
    pub owner: String,
    pub left_on: Option<String>,
    pub confidence: f64,
    /// The principal the owner's evidence came through, if not the credential.
    pub through: Option<String>,
    /// Who takes over: a person's key, or `team:<name>`.
    pub manager: Option<String>,
}

/// Every active credential whose accountable owner (the attribution every
/// surface gives: `crate::owner`) has left — terminated in the roster, or
/// deprovisioned or suspended in the IdP — with who takes over.
pub fn left_behind<G: Graph + ?Sized>(graph: &G, o: &Ownership) -> Vec<LeftBehind> {
    use custody_analysis::attribution::Party;
    let key = |p: Party| match p {
        Party::Person(id) => o.people.get(&id).map(|x| x.key.clone()),
        Party::Team(id) => o.teams.get(&id).map(|t| format!("team:{t}")),
    };
    let mut out = Vec::new();
    for d in o.identities.iter().filter(|d| d.label == "Credential") {
        let mut active = false;
        let _ = graph.with_node(d.id, &mut |n| {
            active = n
                .props
                .value("status")
                .as_ref()
                .and_then(|v| v.as_str())
                .is_none_or(|s| s == "Active");
        });
        if !active {
            continue;
        }
        let acc = o.accountable(d.id);
        let Some((person, left_on)) = &acc.left else {
            continue;
        };
        let Some(owner) = key(Party::Person(*person)) else {
            continue;
        };
        out.push(LeftBehind {
            credential: d.id,
            key: d.key.clone(),
            owner,
            left_on: left_on.clone(),
            confidence: acc.attribution.confidence,
            through: acc
                .attribution
                .evidence
                .iter()
                .find(|e| e.party == Party::Person(*person))
                .and_then(|e| e.via.clone()),
            manager: acc.route.as_ref().and_then(|r| r.to).and_then(key),
        });
    }
    out
}

/// The ownership rule (`owner-left`): [`left_behind`] as findings. Evidence:
/// the owner, their last day, how sure, the principal the evidence came
/// through, and who takes over (the manager chain, else the team).
pub fn owner_left<G: Graph>(graph: &G, o: &Ownership, rule: &Rule, report: &mut Report) {
    let started = Instant::now();
    tracing::debug!("owner-left: start");
    let found = left_behind(graph, o)
        .into_iter()
        .map(|l| {
            let mut evidence = serde_json::Map::new();
            evidence.insert("owner".into(), serde_json::json!(l.owner));
            evidence.insert("left_on".into(), serde_json::json!(l.left_on));
            evidence.insert("confidence".into(), serde_json::json!(l.confidence));
            evidence.insert("through".into(), serde_json::json!(l.through));
            evidence.insert("manager".into(), serde_json::json!(l.manager));
            Finding {
                rule: rule.id.clone(),
                owasp: rule.owasp.clone(),
                severity: rule.severity,
                title: rule.title.clone(),
                identity: l.key,
                evidence,
                remediation: rule.remediation.clone(),
            }
        })
        .collect();
    add(report, rule, found, started);
}

/// Adds a computed rule's findings and run to the report, most severe first.
fn add(report: &mut Report, rule: &Rule, mut found: Vec<Finding>, started: Instant) {
    found.sort_by(|a, b| a.identity.cmp(&b.identity));
    report.rules.push(custody_posture::RuleRun {
        rule: rule.id.clone(),
        severity: rule.severity,
        findings: found.len(),
        milliseconds: started.elapsed().as_secs_f64() * 1000.0,
    });
    report.findings.extend(found);
    report.findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule.cmp(&b.rule))
            .then_with(|| a.identity.cmp(&b.identity))
    });
}

/// The riskiest identities; with the permission model, blast radius counts too.
pub fn risk<G: Graph + Sync>(
    graph: &G,
    model: Option<&Model>,
    findings: &[Finding],
    top: usize,
) -> Vec<custody_posture::risk::Risk> {
    use custody_posture::risk::{rank, Reach};
    use rayon::prelude::*;
    let Some(model) = model else {
        return rank(findings, graph, None, 0, top);
    };
    let started = Instant::now();
    let evaluated = std::sync::atomic::AtomicUsize::new(0);
    let one = |key: &str| -> Option<Reach> {
        let node = graph.find(key).ok()??;
        let start = model.start(node);
        if start.is_empty() {
            return None;
        }
        let r = crate::blast::rank(model, node, key);
        Some(Reach {
            resources: r.resources,
            critical: r.critical,
            score: r.score,
            can_become: r.can_become,
            admin_equivalent: model.path_to_admin(&start).is_some(),
        })
    };
    // The ranking asks a few at a time: their blast radii on every core.
    let reach = |keys: &[&str]| -> Vec<Option<Reach>> {
        evaluated.fetch_add(keys.len(), std::sync::atomic::Ordering::Relaxed);
        keys.par_iter().map(|key| one(key)).collect()
    };
    // Every resource at the most sensitive weight (4), the most harmful level
    // (5), with certainty (2): no blast radius can score more.
    let max = model.resources.len() as u64 * 4 * 5 * 2;
    let ranked = rank(findings, graph, Some(&reach), max, top);
    tracing::info!(
        "risk: {} blast radii evaluated in {:.1}s",
        evaluated.into_inner(),
        started.elapsed().as_secs_f64()
    );
    ranked
}

/// A finding as the findings table shows it: with the system, the
/// accountable owner and the environment of its identity, so a reader can
/// filter by them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FindingRow {
    #[serde(flatten)]
    pub finding: Finding,
    /// The identity's node, when it is in the graph.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<i64>,
    /// `aws`, `github`, `kubernetes`… ([`crate::owner::system_of`]).
    pub system: String,
    /// Who is accountable (name or e-mail), as `custody owner` says.
    pub owner: Option<String>,
    /// Whether that owner has left.
    pub owner_left: bool,
    /// `production`, `non-production`, or unknown.
    pub environment: Option<String>,
}

/// [`FindingRow`]s of `findings`, in order.
pub fn rows<G: Graph>(graph: &G, ownership: &Ownership, findings: &[Finding]) -> Vec<FindingRow> {
    use custody_analysis::attribution::Party;
    findings
        .iter()
        .map(|f| {
            let id = graph.find(&f.identity).ok().flatten();
            let node = id.and_then(|id| graph.node(id).ok().flatten());
            let (kind, name, env_prop) = match &node {
                Some(n) => (
                    n.kind.clone(),
                    n.name.clone().unwrap_or_default(),
                    n.props
                        .value("environment")
                        .as_ref()
                        .and_then(|v| v.as_str())
                        .map(str::to_string),
                ),
                None => (String::new(), String::new(), None),
            };
            let (owner, owner_left) = match id.map(|id| ownership.attribute(id).owner) {
                Some(Some(p)) => {
                    let out = crate::owner::party(ownership, p);
                    let left = matches!(p, Party::Person(x) if ownership.people.get(&x).is_some_and(|x| x.standing == custody_analysis::ownership::Standing::Left));
                    (Some(out.label()), left)
                }
                _ => (None, false),
            };
            let environment = env_prop.or_else(|| {
                custody_model::environment::of(&[&f.identity, &name]).map(str::to_string)
            });
            FindingRow {
                node: id,
                system: crate::owner::system_of(&kind, &f.identity),
                owner,
                owner_left,
                environment,
                finding: f.clone(),
            }
        })
        .collect()
}
