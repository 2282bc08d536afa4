//! Grading against a synthetic enterprise's answers (`answers.json`, and
//! `answers-ownership.json` beside it): what `custody eval` and `custody demo`
//! check. Each function scores one kind of answer — reachability, posture,
//! usage alerts and stale keys, ownership, the federation chain, the planted
//! agent and leaver — and returns what it found beside what was expected.

use crate::blast::{describe, BlastOut};
use crate::owner;
use crate::show::{self, ShowOutput};
use anyhow::{bail, Result};
use custody_analysis::Model;
use custody_posture::Finding;
use custody_store::Store;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// One planted reachability answer (from `answers.json`) checked against the model.
#[derive(Serialize)]
pub struct Check {
    pub id: String,
    pub expected: Option<String>,
    pub found: Option<String>,
    pub holds: bool,
}

/// Checks `expected.reachability` answers: each access key reaches the resource
/// at the stated level, or not at all.
pub fn reachability(
    store: &dyn Store,
    model: &Model,
    expected: &serde_json::Value,
) -> Result<Vec<Check>> {
    let mut out = Vec::new();
    for want in expected.as_array().into_iter().flatten() {
        let key = want["access_key_id"].as_str().unwrap_or_default();
        let resource = want["resource"].as_str().unwrap_or_default();
        let expected = want["access"].as_str().map(str::to_string);
        let found = match store.find(key)? {
            Some(node) => {
                let br = model.blast_radius(&model.start(node));
                br.reached
                    .iter()
                    .find(|r| model.resources[r.access.resource as usize].arn == resource)
                    .map(|r| r.access.level.as_str().to_string())
            }
            None => None,
        };
        out.push(Check {
            id: want["id"].as_str().unwrap_or_default().to_string(),
            holds: found == expected,
            expected,
            found,
        });
    }
    Ok(out)
}

/// Checks findings against a synthetic enterprise's `answers.json`: each
/// planted case of `expected.posture` found and none of its negatives, and
/// `expected.posture_exact` matched exactly (root keys aside: they have no key
/// id to list). Returns one line per mismatch, and how many checks ran.
pub fn posture(findings: &[Finding], answers: &serde_json::Value) -> (usize, Vec<String>) {
    let mut checks = 0;
    let mut wrong = Vec::new();
    fn of<'a>(findings: &'a [Finding], rule: &'a str) -> impl Iterator<Item = &'a Finding> {
        findings.iter().filter(move |f| f.rule == rule)
    }
    let named = |rule: &str, who: &serde_json::Value| {
        of(findings, rule).any(|f| {
            f.identity == who.as_str().unwrap_or_default() || f.evidence.get("root") == Some(who)
        })
    };
    for (rule, case) in answers["expected"]["posture"]
        .as_object()
        .into_iter()
        .flatten()
    {
        for who in case["found"].as_array().into_iter().flatten() {
            checks += 1;
            if !named(rule, who) {
                wrong.push(format!("{rule} misses {who}"));
            }
        }
        for who in case["not_found"].as_array().into_iter().flatten() {
            checks += 1;
            if named(rule, who) {
                wrong.push(format!("{rule} fires on its negative {who}"));
            }
        }
    }
    for (rule, want) in answers["expected"]["posture_exact"]
        .as_object()
        .into_iter()
        .flatten()
    {
        checks += 1;
        let want: std::collections::BTreeSet<&str> = want
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
            .collect();
        let got: std::collections::BTreeSet<&str> = of(findings, rule)
            .map(|f| f.identity.as_str())
            .filter(|k| !k.starts_with("aws-key-created:"))
            .collect();
        if got != want {
            wrong.push(format!(
                "{rule}: {} expected, {} found, {} missed, {} unexpected",
                want.len(),
                got.len(),
                want.difference(&got).count(),
                got.difference(&want).count()
            ));
        }
    }
    (checks, wrong)
}

#[derive(Debug, Serialize)]
pub struct Score {
    pub expected: usize,
    pub found: usize,
    pub true_positives: usize,
    pub precision: f64,
    pub recall: f64,
    /// Up to 20 of each, for looking into.
    pub missed: Vec<String>,
    pub unexpected: Vec<String>,
}

fn score(
    expected: &std::collections::BTreeSet<String>,
    found: &std::collections::BTreeSet<String>,
) -> Score {
    let tp = expected.intersection(found).count();
    Score {
        expected: expected.len(),
        found: found.len(),
        true_positives: tp,
        precision: if found.is_empty() {
            1.0
        } else {
            tp as f64 / found.len() as f64
        },
        recall: if expected.is_empty() {
            1.0
        } else {
            tp as f64 / expected.len() as f64
        },
        missed: expected.difference(found).take(20).cloned().collect(),
        unexpected: found.difference(expected).take(20).cloned().collect(),
    }
}

#[derive(Debug, Serialize)]
pub struct UsageEval {
    pub events_in_answers: u64,
    pub alerts: Score,
    pub by_rule: std::collections::BTreeMap<String, Score>,
    pub stale: Score,
    /// False alerts per 10 million events.
    pub false_alerts_per_10m_events: f64,
    /// Alerts that are not planted (benign variation taken for an anomaly)
    /// per million events, over all rules and per rule.
    pub benign_alerts_per_million_events: f64,
    pub benign_per_million_by_rule: std::collections::BTreeMap<String, f64>,
}

/// Scores the stored alerts and `stale` against a synthetic enterprise's answers.
pub fn eval_usage(store: &dyn Store, answers: &serde_json::Value) -> Result<UsageEval> {
    use std::collections::{BTreeMap, BTreeSet};
    let u = answers.pointer("/expected/usage").ok_or_else(|| {
        anyhow::anyhow!("the answers have no expected.usage (written by an older custody synth?)")
    })?;
    let pair = |rule: &str, id: &str| format!("{rule} {id}");
    let mut expected: BTreeSet<String> = BTreeSet::new();
    let mut by_rule_expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    // Answers that need the git history in the graph count only when it is.
    let scanned = store.count(&custody_store::ListFilter {
        kind: Some("git_blob".into()),
        ..Default::default()
    })? > 0;
    for a in u["alerts"].as_array().into_iter().flatten() {
        if a.get("requires").is_some() && !scanned {
            continue;
        }
        let (r, i) = (
            a["rule"].as_str().unwrap_or(""),
            a["identity"].as_str().unwrap_or(""),
        );
        expected.insert(pair(r, i));
        by_rule_expected
            .entry(r.to_string())
            .or_default()
            .insert(pair(r, i));
    }
    let mut found: BTreeSet<String> = BTreeSet::new();
    let mut by_rule_found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for a in store.alerts(i64::MIN)? {
        found.insert(pair(&a.rule, &a.key));
        by_rule_found
            .entry(a.rule.clone())
            .or_default()
            .insert(pair(&a.rule, &a.key));
    }
    let rules: BTreeSet<String> = by_rule_expected
        .keys()
        .chain(by_rule_found.keys())
        .cloned()
        .collect();
    let empty = BTreeSet::new();
    let by_rule: BTreeMap<String, Score> = rules
        .into_iter()
        .map(|r| {
            let s = score(
                by_rule_expected.get(&r).unwrap_or(&empty),
                by_rule_found.get(&r).unwrap_or(&empty),
            );
            (r, s)
        })
        .collect();
    let days = u["stale_days"].as_i64().unwrap_or(90);
    let as_of = answers["as_of"]
        .as_str()
        .and_then(custody_model::time::parse)
        .map(|t| t.timestamp())
        .ok_or_else(|| anyhow::anyhow!("the answers have no as_of date"))?;
    let want: BTreeSet<String> = u["stale_keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    let got: BTreeSet<String> = crate::usage::stale_keys(store, days, as_of)?
        .into_iter()
        .map(|s| s.key)
        .collect();
    let alerts = score(&expected, &found);
    let events = u["events"].as_u64().unwrap_or(0);
    let false_alerts = (alerts.found - alerts.true_positives) as f64;
    let per_million = |n: usize| {
        if events == 0 {
            0.0
        } else {
            n as f64 * 1e6 / events as f64
        }
    };
    let benign_per_million_by_rule = by_rule
        .iter()
        .map(|(r, s): (&String, &Score)| (r.clone(), per_million(s.found - s.true_positives)))
        .collect();
    Ok(UsageEval {
        benign_alerts_per_million_events: per_million(alerts.found - alerts.true_positives),
        benign_per_million_by_rule,
        events_in_answers: events,
        false_alerts_per_10m_events: if events == 0 {
            0.0
        } else {
            false_alerts * 1e7 / events as f64
        },
        alerts,
        by_rule,
        stale: score(&want, &got),
    })
}

/// Attribution scored against the generator's truth (`answers-ownership.json`
/// beside `answers.json`): precision and recall of the owners custody names
/// at the documented threshold.
#[derive(Debug, serde::Serialize)]
pub struct OwnershipScore {
    pub threshold: f64,
    /// Identities the truth lists (and the graph holds).
    pub identities: usize,
    /// Of those, how many have an owner in the truth (the rest must stay unowned).
    pub with_owner: usize,
    /// How many custody attributes (a person or a team).
    pub attributed: usize,
    pub correct: usize,
    pub precision: f64,
    pub recall: f64,
    /// Truth rows whose identity is not in the graph.
    pub not_in_graph: usize,
    /// Load and attribute, seconds.
    pub seconds: f64,
    /// Per kind: (identities, attributed, correct).
    pub by_kind: BTreeMap<String, (usize, usize, usize)>,
    /// Up to 10 wrong or missed, for looking into.
    pub examples: Vec<String>,
}

pub fn eval_ownership(
    store: &dyn Store,
    truth: &std::path::Path,
    progress: &dyn crate::Progress,
) -> Result<Option<OwnershipScore>> {
    if !truth.exists() {
        return Ok(None);
    }
    let started = std::time::Instant::now();
    let o = owner::load(store, progress)?;
    let by_key: std::collections::HashMap<&str, i64> = o
        .identities
        .iter()
        .map(|d| (d.key.as_str(), d.id))
        .collect();
    let text = std::fs::read_to_string(truth)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", truth.display()))?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: not JSON: {e}", truth.display()))?;
    let Some(rows) = doc.get("owners").and_then(serde_json::Value::as_object) else {
        bail!(
            "{}: expected {{\"owners\": {{identity: owner}}}}",
            truth.display()
        );
    };
    let mut s = OwnershipScore {
        threshold: custody_analysis::attribution::THRESHOLD,
        identities: 0,
        with_owner: 0,
        attributed: 0,
        correct: 0,
        precision: 0.0,
        recall: 0.0,
        not_in_graph: 0,
        seconds: 0.0,
        by_kind: BTreeMap::new(),
        examples: Vec::new(),
    };
    for (key, want) in rows {
        let (key, Some(want)) = (key.as_str(), want.as_str()) else {
            continue;
        };
        let id = match by_key.get(key) {
            Some(id) => Some(*id),
            None => store.find(key)?,
        };
        let Some(d) = id.and_then(|id| o.ident(id)) else {
            s.not_in_graph += 1;
            continue;
        };
        let a = o.attribute(d.id);
        let want = want.to_ascii_lowercase();
        let got = match a.owner {
            // A person answers to any of their addresses (the roster's
            // `wchen@` and the IdP login `wen.chen@` are one person).
            Some(custody_analysis::attribution::Party::Person(p)) => {
                o.people.get(&p).and_then(|x| {
                    let mut all = x.addresses.iter().chain(x.email.iter());
                    let wanted = want.strip_prefix("person:");
                    all.find(|e| Some(e.to_ascii_lowercase().as_str()) == wanted)
                        .or(x.email.as_ref())
                        .or(x.addresses.first())
                        .map(|e| format!("person:{}", e.to_ascii_lowercase()))
                })
            }
            Some(custody_analysis::attribution::Party::Team(t)) => o
                .teams
                .get(&t)
                .map(|n| format!("team:{}", n.to_ascii_lowercase())),
            None => None,
        };
        s.identities += 1;
        let has_owner = want != "none";
        s.with_owner += usize::from(has_owner);
        let entry = s.by_kind.entry(d.kind.to_string()).or_default();
        entry.0 += 1;
        if let Some(g) = &got {
            s.attributed += 1;
            entry.1 += 1;
            if *g == want {
                s.correct += 1;
                entry.2 += 1;
            }
        }
        if (has_owner || got.is_some())
            && got.as_deref() != Some(want.as_str())
            && s.examples.len() < 10
        {
            s.examples.push(format!(
                "{key}: expected {want}, custody says {}",
                got.as_deref().unwrap_or("nobody")
            ));
        }
    }
    s.precision = if s.attributed == 0 {
        1.0
    } else {
        s.correct as f64 / s.attributed as f64
    };
    s.recall = if s.with_owner == 0 {
        1.0
    } else {
        s.correct as f64 / s.with_owner as f64
    };
    s.seconds = started.elapsed().as_secs_f64();
    Ok(Some(s))
}

/// The planted GitHub → AWS → GCP chain, as `custody show` on the workflow
/// sees it, and whether every hop `answers.json` names is there.
pub fn federation(
    store: &dyn Store,
    expected: Option<&Value>,
) -> Result<Option<(ShowOutput, bool)>> {
    let Some(f) = expected else {
        return Ok(None);
    };
    let Some(id) = store.find(f["workflow"].as_str().unwrap_or_default())? else {
        return Ok(None);
    };
    let shown = show::build(store, id)?;
    let role = format!(
        "arn:{}",
        f["aws_role"]
            .as_str()
            .unwrap_or_default()
            .trim_start_matches("arn:")
    );
    let sa = format!(
        "email:{}",
        f["gcp_service_account"].as_str().unwrap_or_default()
    );
    let hops = &shown.lineage.federation;
    let first = hops
        .iter()
        .any(|h| h.depth == 1 && h.to.key == role && h.trust_accepts == Some(true));
    let second = hops
        .iter()
        .any(|h| h.depth == 2 && h.from.key == role && h.to.key == sa);
    Ok(Some((shown, first && second)))
}

/// The planted workload's one blast radius across AWS, Google Cloud and Azure.
#[derive(Serialize)]
pub struct CrossCloud {
    pub workflow: String,
    /// Per cloud: the planted resource (for AWS, the role whose reach counts),
    /// and the reached resource that shows it, with its path.
    pub clouds: Vec<CloudHit>,
    pub reach: BlastOut,
    /// The seed's question (`custody ask cross-cloud-keys`): the AWS keys it
    /// found, and the ones answers.json plants.
    pub question_found: Vec<String>,
    pub question_expected: Vec<String>,
    pub holds: bool,
}

#[derive(Serialize)]
pub struct CloudHit {
    pub cloud: &'static str,
    pub expected: String,
    pub found: Option<crate::blast::ResourceOut>,
}

/// From the planted workflow: an AWS resource through the AWS role, the
/// planted GCP bucket and the planted Key Vault secret, in one blast radius.
pub fn cross_cloud(
    store: &dyn Store,
    graph: &dyn custody_query::Graph,
    model: &custody_analysis::Model,
    expected: Option<&Value>,
) -> Result<Option<CrossCloud>> {
    let Some(f) = expected else {
        return Ok(None);
    };
    let Some(reaches) = f.get("reaches") else {
        return Ok(None);
    };
    let workflow = f["workflow"].as_str().unwrap_or_default();
    let Some(id) = store.find(workflow)? else {
        return Ok(None);
    };
    let br = model.blast_radius(&model.start(id));
    let mut reach = describe(model, workflow, &br);
    let text = |k: &str| reaches[k].as_str().unwrap_or_default().to_string();
    let role = text("aws");
    let pick = |want: &dyn Fn(&crate::blast::ResourceOut) -> bool| {
        reach.resources.iter().find(|r| want(r)).cloned()
    };
    let (gcp, azure) = (text("gcp"), text("azure"));
    let clouds = vec![
        CloudHit {
            cloud: "aws",
            found: pick(&|r| r.arn.starts_with("arn:aws:") && r.path.first() == Some(&role)),
            expected: role.clone(),
        },
        CloudHit {
            cloud: "gcp",
            found: pick(&|r| r.arn == gcp),
            expected: gcp.clone(),
        },
        CloudHit {
            cloud: "azure",
            found: pick(&|r| r.arn.eq_ignore_ascii_case(&azure)),
            expected: azure.clone(),
        },
    ];
    let mut clouds = clouds;
    // A credential that can push to the workflow's repository runs it: the
    // repository's writable deploy key reaches the same Google Cloud bucket.
    if let Some(key) = f["deploy_key"].as_str().filter(|k| !k.is_empty()) {
        let found = match store.find(key)? {
            Some(id) => {
                let out = describe(model, key, &model.blast_radius(&model.start(id)));
                out.resources.into_iter().find(|r| r.arn == gcp)
            }
            None => None,
        };
        clouds.push(CloudHit {
            cloud: "github",
            expected: key.to_string(),
            found,
        });
    }
    // The seed's question, asked as every surface asks it.
    let rows = crate::reach_query::run(
        store,
        graph,
        Some(model),
        crate::questions::find("cross-cloud-keys")
            .map_err(anyhow::Error::msg)?
            .text,
        &serde_json::Map::new(),
        custody_query::Limits::default(),
    )?;
    let mut question_found: Vec<String> = rows
        .rows
        .iter()
        .filter_map(|r| r.get("credential")?.as_str().map(str::to_string))
        .collect();
    question_found.sort();
    let mut question_expected: Vec<String> = f["cross_cloud_keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect();
    question_expected.sort();
    let holds = clouds.iter().all(|c| c.found.is_some()) && question_found == question_expected;
    reach.resources.truncate(20);
    Ok(Some(CrossCloud {
        workflow: workflow.to_string(),
        clouds,
        reach,
        question_found,
        question_expected,
        holds,
    }))
}

#[derive(Serialize)]
pub struct AgentCheck {
    pub shown: ShowOutput,
    pub reach: BlastOut,
    pub expected: usize,
    pub holds: bool,
}

/// The planted agent as `custody show` sees it: every credential it holds
/// (the kinds answers.json names, the ambient AWS and GCP keys by key), and
/// their combined blast radius.
pub fn agent(
    store: &dyn Store,
    model: &custody_analysis::Model,
    snapshot: &std::path::Path,
    expected: Option<&Value>,
) -> Result<Option<AgentCheck>> {
    let Some(a) = expected else {
        return Ok(None);
    };
    let config = snapshot.join(a["config"].as_str().unwrap_or_default());
    let key = format!(
        "mcp://{}#{}",
        config.display(),
        a["server"].as_str().unwrap_or_default()
    );
    let Some(id) = store.find(&key)? else {
        return Ok(None);
    };
    let shown = show::build(store, id)?;
    let want: Vec<&Value> = a["credentials"].as_array().into_iter().flatten().collect();
    let held = &shown.lineage.credentials;
    let mut by_key = true;
    for k in want.iter().filter_map(|c| c["key"].as_str()) {
        let id = store.find(k)?;
        by_key &= id.is_some_and(|id| held.iter().any(|h| h.id == id));
    }
    let kinds = want
        .iter()
        .filter_map(|c| c["kind"].as_str())
        .filter(|k| *k != "own")
        .all(|k| held.iter().any(|h| h.kind == k));
    let reach = describe(model, &key, &model.blast_radius(&model.start(id)));
    Ok(Some(AgentCheck {
        holds: by_key && kinds && held.len() == want.len(),
        expected: want.len(),
        shown,
        reach,
    }))
}

/// The system a location belongs to, in words: a repository's history is one
/// surface however many commits carry the key.
pub fn surface(at: &custody_store::NodeBrief) -> String {
    let key = at.key.trim_start_matches("uri:");
    let name = at.name.clone().unwrap_or_else(|| key.to_string());
    match at.kind.as_str() {
        "git_blob" => {
            let repo = key
                .trim_start_matches("git://")
                .split('@')
                .next()
                .unwrap_or(key);
            format!("git history of {repo}")
        }
        "github_actions_secret" => format!("GitHub Actions secret: {name}"),
        "k8s_secret" => format!(
            "Kubernetes Secret {}",
            name.split('[').next().unwrap_or(&name)
        ),
        "aws_secretsmanager_secret" => format!(
            "AWS Secrets Manager secret {}",
            name.split('[').next().unwrap_or(&name)
        ),
        "mcp_config" => format!(
            "MCP configuration {}",
            key.trim_start_matches("file://")
                .split('#')
                .next()
                .unwrap_or(key)
        ),
        _ => key.split('#').next().unwrap_or(key).to_string(),
    }
}

/// The planted leaver's offboarding, checked against `answers.json`.
#[derive(Serialize)]
pub struct LeaverCheck {
    pub email: String,
    pub manager: String,
    pub expected: usize,
    pub found: usize,
    pub from_code: usize,
    pub contested: usize,
    pub systems: Vec<String>,
    pub missing: Vec<String>,
    pub unexpected: Vec<String>,
    pub holds: bool,
}

/// Runs `custody offboard` for the planted leaver: exactly the identities
/// answers.json lists, routed to the planted manager.
pub fn offboarding(store: &dyn Store, want: Option<&Value>) -> Result<Option<LeaverCheck>> {
    let Some(want) = want else {
        return Ok(None);
    };
    let email = want["email"].as_str().unwrap_or_default().to_string();
    let Some(person) = store.find(&email)? else {
        return Ok(None);
    };
    let o = owner::load(store, &crate::progress::Quiet)?;
    let report = owner::offboard(&o, store, person, &|_, _| None)?;
    // Each handover's node, resolved once.
    let handed: Vec<(&str, Option<i64>)> = report
        .identities
        .iter()
        .map(|h| Ok((h.identity.key.as_str(), store.find(&h.identity.key)?)))
        .collect::<Result<_>>()?;
    let found: std::collections::BTreeSet<i64> = handed.iter().filter_map(|(_, id)| *id).collect();
    let mut expected = std::collections::BTreeSet::new();
    let mut missing = Vec::new();
    for i in want["identities"].as_array().into_iter().flatten() {
        let k = i["identity"].as_str().unwrap_or_default();
        match store.find(k)? {
            Some(id) => {
                expected.insert(id);
                if !found.contains(&id) {
                    missing.push(k.to_string());
                }
            }
            None => missing.push(k.to_string()),
        }
    }
    let unexpected: Vec<String> = handed
        .iter()
        .filter(|(_, id)| id.is_none_or(|id| !expected.contains(&id)))
        .map(|(k, _)| k.to_string())
        .collect();
    let manager = want["manager"].as_str().unwrap_or_default().to_string();
    let routed = report
        .identities
        .iter()
        .filter(|h| h.relation == "owner")
        .all(|h| h.to.as_ref().and_then(|p| p.email.as_deref()) == Some(manager.as_str()));
    let n_expected = want["identities"].as_array().map_or(0, Vec::len);
    Ok(Some(LeaverCheck {
        email,
        expected: n_expected,
        found: report.identities.len(),
        from_code: report
            .identities
            .iter()
            .filter(|h| {
                h.evidence
                    .iter()
                    .any(|e| e.method == "iac-author" && e.via.is_none())
            })
            .count(),
        contested: report
            .identities
            .iter()
            .filter(|h| h.relation.contains("contested"))
            .count(),
        systems: report.systems.keys().cloned().collect(),
        holds: missing.is_empty()
            && unexpected.is_empty()
            && routed
            && report.identities.len() == n_expected,
        manager,
        missing,
        unexpected,
    }))
}
