//! # custody-posture
//!
//! What is wrong with each non-human identity, as data: every rule
//! (`rules/default.toml`) is a read-only graph query with an id, the OWASP
//! Non-Human Identities Top 10 (2025) risk it covers, a severity, a rationale
//! and a remediation. [`run`] evaluates the rules over a [`Graph`] and returns
//! one [`Finding`] per identity and rule, with the query's other columns as
//! evidence.
//!
//! **Must not:** write to the graph, or hold logic a rule's query can express.
//! Findings carry keys, names and dates from the graph, never secret values
//! (the graph has none).

use custody_query::{Graph, Limits, QueryError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The rules custody ships.
pub const DEFAULT_RULES: &str = include_str!("../rules/default.toml");

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("posture rules: {0}")]
    Parse(String),
    #[error("posture rule `{id}`: {message}")]
    Invalid { id: String, message: String },
    #[error("posture rule `{id}`: {source}")]
    Query { id: String, source: QueryError },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s.to_ascii_lowercase().as_str() {
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }

    /// Weight in an identity's risk score.
    pub fn weight(self) -> u32 {
        match self {
            Severity::Low => 1,
            Severity::Medium => 3,
            Severity::High => 7,
            Severity::Critical => 10,
        }
    }
}

/// One posture rule.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub owasp: String,
    pub severity: Severity,
    pub title: String,
    pub rationale: String,
    pub remediation: String,
    /// Parameters and their defaults (`-90d`: the date 90 days ago).
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// The read-only query; empty for a rule the reach model computes.
    #[serde(default)]
    pub query: String,
    /// `reach`: computed from effective permissions (`custody findings
    /// --reach`), which no query can see (reach is derived, not stored);
    /// `ownership`: from the attribution of every piece of ownership
    /// evidence (custody-analysis `ownership`), which no one edge says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub computed: Option<String>,
}

impl Rule {
    /// Whether [`run`] evaluates it (else the caller computes it).
    pub fn is_query(&self) -> bool {
        self.computed.is_none()
    }
}

/// The rule the reach model computes: a credential that can make itself
/// administrator of an account.
pub const ADMIN_EQUIVALENT: &str = "admin-equivalent";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    rule: Vec<Rule>,
}

/// Parses a rules file and checks each rule's query parses and is read-only.
pub fn parse_rules(text: &str) -> Result<Vec<Rule>, RuleError> {
    let file: RuleFile = toml::from_str(text).map_err(|e| RuleError::Parse(e.to_string()))?;
    let mut seen = std::collections::HashSet::new();
    for r in &file.rule {
        if !seen.insert(r.id.clone()) {
            return Err(RuleError::Invalid {
                id: r.id.clone(),
                message: "the id is used twice".into(),
            });
        }
        match r.computed.as_deref() {
            Some("reach" | "ownership") if r.query.is_empty() => continue,
            Some(other) => {
                return Err(RuleError::Invalid {
                    id: r.id.clone(),
                    message: format!(
                        "`computed = \"{other}\"` needs an empty query and names what computes it: `reach` or `ownership`"
                    ),
                })
            }
            None => {}
        }
        custody_query::parse(&r.query).map_err(|source| RuleError::Query {
            id: r.id.clone(),
            source,
        })?;
    }
    Ok(file.rule)
}

/// The rules custody ships, parsed.
pub fn default_rules() -> Vec<Rule> {
    // The shipped file is tested to parse (see the tests below).
    parse_rules(DEFAULT_RULES).unwrap_or_default()
}

/// One thing wrong with one identity.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: String,
    pub owasp: String,
    pub severity: Severity,
    pub title: String,
    /// The key of the identity (credential, principal, role…) it is about.
    pub identity: String,
    /// The query's other columns: who, where, since when.
    pub evidence: Map<String, Value>,
    pub remediation: String,
}

/// Findings and what it took to find them.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// Per rule: how many findings, and milliseconds taken.
    pub rules: Vec<RuleRun>,
}

#[derive(Debug, Serialize)]
pub struct RuleRun {
    pub rule: String,
    pub severity: Severity,
    pub findings: usize,
    pub milliseconds: f64,
}

/// Runs `rules` over `graph`. A rule that fails (a limit reached, a bad
/// parameter) is an error naming it; `limits` bound each rule's query.
pub fn run(graph: &dyn Graph, rules: &[Rule], limits: &Limits) -> Result<Report, RuleError> {
    run_on(graph, rules, limits, chrono::Utc::now().date_naive())
}

/// [`run`] with relative dates (`-90d`) counted from `today`: posture as of a
/// snapshot's date rather than the clock's.
pub fn run_on(
    graph: &dyn Graph,
    rules: &[Rule],
    limits: &Limits,
    today: chrono::NaiveDate,
) -> Result<Report, RuleError> {
    let mut report = Report::default();
    for rule in rules.iter().filter(|r| r.is_query()) {
        let started = std::time::Instant::now();
        let mut params = Map::new();
        for (k, v) in &rule.params {
            params.insert(
                k.clone(),
                Value::String(custody_query::saved::default_value_on(v, today)),
            );
        }
        let result =
            custody_query::run(graph, &rule.query, &params, limits.clone()).map_err(|source| {
                RuleError::Query {
                    id: rule.id.clone(),
                    source,
                }
            })?;
        if !result.columns.iter().any(|c| c == "identity") {
            return Err(RuleError::Invalid {
                id: rule.id.clone(),
                message: "its query must return a column named `identity`".into(),
            });
        }
        let before = report.findings.len();
        for mut row in result.rows {
            let Some(Value::String(identity)) = row.remove("identity") else {
                continue;
            };
            report.findings.push(Finding {
                rule: rule.id.clone(),
                owasp: rule.owasp.clone(),
                severity: rule.severity,
                title: rule.title.clone(),
                identity,
                evidence: row,
                remediation: rule.remediation.clone(),
            });
        }
        report.rules.push(RuleRun {
            rule: rule.id.clone(),
            severity: rule.severity,
            findings: report.findings.len() - before,
            milliseconds: started.elapsed().as_secs_f64() * 1000.0,
        });
    }
    report.findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule.cmp(&b.rule))
            .then_with(|| a.identity.cmp(&b.identity))
    });
    Ok(report)
}

/// Per identity: its findings' severities summed by weight, highest first.
pub fn risk_by_identity(findings: &[Finding]) -> Vec<(String, u32, usize)> {
    let mut by: BTreeMap<&str, (u32, usize)> = BTreeMap::new();
    for f in findings {
        let e = by.entry(&f.identity).or_default();
        e.0 += f.severity.weight();
        e.1 += 1;
    }
    let mut out: Vec<(String, u32, usize)> = by
        .into_iter()
        .map(|(k, (score, n))| (k.to_string(), score, n))
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

/// The source scope recorded findings are stored under: each recording
/// supersedes the previous one, so a finding no longer found is retired.
pub const SCOPE: &str = "custody:posture";

/// Findings as graph facts: a `Finding` node per finding (kind: the rule id;
/// key `id:custody-finding/<rule>/<identity>`) and a `HAS_FINDING` edge from
/// its identity. `label_of` gives an identity key's label (`Credential`,
/// `Principal`…); findings whose identity it cannot place are left out.
pub fn facts(
    findings: &[Finding],
    label_of: &dyn Fn(&str) -> Option<String>,
    observed_at: &str,
) -> Vec<custody_model::Fact> {
    use custody_model::{
        EdgeFact, EdgeKind, Endpoint, Fact, Key, Label, Location, NodeFact, Provenance,
    };
    let mut out = Vec::with_capacity(findings.len() * 2);
    for (i, f) in findings.iter().enumerate() {
        let Some(label) =
            label_of(&f.identity).and_then(|l| Label::ALL.into_iter().find(|x| x.as_str() == l))
        else {
            continue;
        };
        let Some(identity) = custody_model::Key::parse(&f.identity) else {
            continue;
        };
        let key = Key::other("custody-finding", &format!("{}/{}", f.rule, f.identity));
        let prov = Provenance::at(Location::Pointer(format!("/findings/{i}")))
            .observed(Some(observed_at.to_string()));
        let mut props = Map::new();
        props.insert("rule".into(), Value::String(f.rule.clone()));
        props.insert("severity".into(), Value::String(f.severity.as_str().into()));
        props.insert("owasp".into(), Value::String(f.owasp.clone()));
        props.insert("identity".into(), Value::String(f.identity.clone()));
        props.insert("evidence".into(), Value::Object(f.evidence.clone()));
        props.insert("remediation".into(), Value::String(f.remediation.clone()));
        out.push(Fact::Node(NodeFact {
            label: Label::Finding,
            kind: f.rule.clone(),
            system: "custody".into(),
            keys: vec![key.clone()],
            name: Some(f.title.clone()),
            props,
            prov: prov.clone(),
        }));
        let mut edge = Map::new();
        edge.insert("severity".into(), Value::String(f.severity.as_str().into()));
        out.push(Fact::Edge(EdgeFact {
            kind: EdgeKind::HasFinding,
            from: Endpoint::new(label, identity),
            to: Endpoint::new(Label::Finding, key),
            props: edge,
            prov,
        }));
    }
    out
}

pub mod risk;

#[cfg(test)]
mod tests;

/// The findings as SARIF 2.1.0 (one run; each rule a reporting descriptor,
/// each finding a result located at its identity as a logical location).
pub fn sarif(rules: &[Rule], findings: &[Finding], version: &str) -> Value {
    let level = |s: Severity| match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    };
    let descriptors: Vec<Value> = rules
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id, "name": r.id,
                "shortDescription": {"text": r.title},
                "fullDescription": {"text": r.rationale},
                "help": {"text": r.remediation},
                "defaultConfiguration": {"level": level(r.severity)},
                "properties": {"owasp": r.owasp, "severity": r.severity.as_str()},
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            serde_json::json!({
                "ruleId": f.rule,
                "level": level(f.severity),
                "message": {"text": format!("{}: {}", f.title, f.identity)},
                "locations": [{"logicalLocations": [{"fullyQualifiedName": f.identity, "kind": "resource"}]}],
                "partialFingerprints": {"custodyFinding/v1": format!("{}|{}", f.rule, f.identity)},
                "properties": {"owasp": f.owasp, "severity": f.severity.as_str(), "evidence": f.evidence},
            })
        })
        .collect();
    serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "custody", "informationUri": "https://example.invalid/custody",
                                "version": version, "rules": descriptors}},
            "results": results,
        }]
    })
}

/// One finding as an OCSF 1.3.0 Detection Finding event (class 2004, activity
/// Create), for SIEMs; `time` is epoch milliseconds.
pub fn ocsf(f: &Finding, time: i64, version: &str) -> Value {
    let (severity_id, severity) = match f.severity {
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    };
    serde_json::json!({
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": 1,
        "activity_name": "Create",
        "type_uid": 200401,
        "type_name": "Detection Finding: Create",
        "time": time,
        "severity_id": severity_id,
        "severity": severity,
        "status_id": 1,
        "status": "New",
        "message": format!("{}: {}", f.title, f.identity),
        "metadata": {
            "version": "1.3.0",
            "product": {"name": "custody", "vendor_name": "custody", "version": version},
        },
        "finding_info": {
            "uid": format!("{}|{}", f.rule, f.identity),
            "title": f.title,
            "types": [f.owasp],
            "analytic": {"uid": f.rule, "name": f.rule, "type_id": 1, "type": "Rule"},
        },
        "resources": [{"uid": f.identity, "type": "Non-Human Identity"}],
        "remediation": {"desc": f.remediation},
        "unmapped": {"evidence": f.evidence},
    })
}
