//! The questions every network surface answers, over one shared state: a small
//! pool of store connections, the in-memory graph for queries and the AWS reach
//! model for blast radius (each loaded once, on first use or by [`Service::warm`]).
//!
//! Everything here blocks (SQLite, graph traversal); async callers run it with
//! `tokio::task::spawn_blocking`.

use crate::{blast, show};
use custody_analysis::Model;
use custody_query::{Limits, MemGraph, QueryError, QueryResult};
use custody_store::{EdgeRecord, SqliteStore, Stats, Store};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// Why a question could not be answered; each maps to an HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The reference matches nothing (404).
    #[error("{0}")]
    NotFound(String),
    /// The question is malformed: bad query, unknown saved question, missing
    /// parameter (400).
    #[error("{0}")]
    BadRequest(String),
    /// A query ran into its time, row or work limit (422).
    #[error("{0}")]
    Limit(String),
    /// The store or the analysis failed (500).
    #[error("{0:#}")]
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Self {
        Error::Internal(e)
    }
}

impl From<custody_store::StoreError> for Error {
    fn from(e: custody_store::StoreError) -> Self {
        Error::Internal(e.into())
    }
}

impl From<QueryError> for Error {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::Limit(_) => Error::Limit(e.to_string()),
            QueryError::Store(_) => Error::Internal(anyhow::anyhow!("{e}")),
            _ => Error::BadRequest(e.to_string()),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Opens one more connection to the store.
pub type Opener = Box<dyn Fn() -> anyhow::Result<SqliteStore> + Send + Sync>;

/// Shared, read-only state behind every request.
pub struct Service {
    open: Opener,
    /// Idle connections; a request takes one (or opens one) and gives it back,
    /// so concurrent requests do not queue on one connection.
    idle: Mutex<Vec<SqliteStore>>,
    graph: OnceLock<MemGraph>,
    /// Held while the graph loads, so concurrent first queries load it once.
    graph_loading: Mutex<()>,
    model: OnceLock<Model>,
    model_loading: Mutex<()>,
    /// Set once every principal's reach is computed (for `reached_by`).
    model_warm: OnceLock<()>,
    /// The posture findings, computed once on the in-memory graph.
    findings: OnceLock<custody_posture::Report>,
    findings_running: Mutex<()>,
    /// The riskiest identities (the first [`RISK_TOP`]), ranked once.
    risk: OnceLock<Vec<custody_posture::risk::Risk>>,
    risk_running: Mutex<()>,
    /// The type-ahead index over every node's keys and names.
    index: OnceLock<crate::search::Index>,
    index_loading: Mutex<()>,
    /// The attribution of every identity (people pages, findings' owners).
    ownership_all: OnceLock<custody_analysis::ownership::Ownership>,
    ownership_all_loading: Mutex<()>,
    /// The findings with system, owner and environment, once.
    rows: OnceLock<Vec<crate::posture::FindingRow>>,
    rows_loading: Mutex<()>,
    pub limits: Limits,
}

/// How many of the riskiest identities the server ranks (and `top` may ask for).
pub const RISK_TOP: usize = 100;

/// One edge of a node, for `neighbours`.
#[derive(Serialize)]
pub struct Neighbours {
    pub node: custody_store::NodeBrief,
    pub edges: Vec<EdgeRecord>,
    /// Edges that matched the filter but were left out by `limit`.
    pub truncated: usize,
}

/// Which findings to list.
#[derive(Debug, Default, serde::Deserialize)]
pub struct FindingsFilter {
    /// At least this severe: low, medium, high, critical.
    pub severity: Option<String>,
    pub rule: Option<String>,
    /// Only this identity's findings (any reference).
    pub identity: Option<String>,
    /// Only identities of this system (`aws`, `github`, `kubernetes`…).
    #[serde(default)]
    pub system: Option<String>,
    /// Only identities whose accountable owner's e-mail or name contains
    /// this (case-insensitive); `none` for those without an owner.
    #[serde(default)]
    pub owner: Option<String>,
    /// `production`, `non-production` or `unknown`.
    #[serde(default)]
    pub environment: Option<String>,
    /// Order by `severity` (the default), `rule`, `identity`, `system`,
    /// `owner` or `environment`; a leading `-` reverses it.
    #[serde(default)]
    pub sort: Option<String>,
    /// Skip this many (for paging).
    #[serde(default)]
    pub offset: usize,
    #[serde(default = "default_findings_limit")]
    pub limit: usize,
}

fn default_findings_limit() -> usize {
    100
}

/// `GET /v1/alerts` and the MCP `list_alerts` tool.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct AlertsQuery {
    /// Events at or after: a duration back from now (`30m`, `1h`, `7d`, `2w`,
    /// `1y`) or a time (RFC 3339 or a date). Default `30d`.
    pub since: Option<String>,
    /// Only this rule (`new-region`, `denied-burst`, `used-after-owner-left`…).
    pub rule: Option<String>,
    /// At least this severe: low, medium, high, critical.
    pub severity: Option<String>,
    /// Only alerts about this identity (any reference) or the principal it
    /// authenticates as.
    #[serde(default)]
    pub identity: Option<String>,
    #[serde(default = "default_findings_limit")]
    pub limit: usize,
}

/// A duration back from `now` (`30m`, `1h`, `7d`, `2w`, `1y`) or a time, as Unix seconds.
pub fn since_time(s: &str, now: i64) -> std::result::Result<i64, String> {
    let s = s.trim();
    let unit = |c: char| match c {
        's' => Some(1),
        'm' => Some(60),
        'h' => Some(3600),
        'd' => Some(86_400),
        'w' => Some(7 * 86_400),
        'y' => Some(365 * 86_400),
        _ => None,
    };
    if let Some(last) = s.chars().last() {
        if let (Some(mult), Ok(n)) = (unit(last), s[..s.len() - last.len_utf8()].parse::<i64>()) {
            return Ok(now - n * mult);
        }
    }
    custody_model::time::parse(s).map(|t| t.timestamp()).ok_or_else(|| {
        format!("`{s}` is neither a duration (30m, 1h, 7d, 2w, 1y) nor a time (2026-11-23T10:00:00Z, 2026-11-23)")
    })
}

/// Findings, for `list_findings` and `GET /v1/findings`.
#[derive(Serialize)]
pub struct FindingsOut {
    /// How many match the filter (`findings` holds `limit` of them from
    /// `offset`).
    pub total: usize,
    pub offset: usize,
    pub by_rule: std::collections::BTreeMap<String, usize>,
    pub by_severity: std::collections::BTreeMap<String, usize>,
    pub by_system: std::collections::BTreeMap<String, usize>,
    pub by_environment: std::collections::BTreeMap<String, usize>,
    pub findings: Vec<crate::posture::FindingRow>,
}

/// The CSV columns of a findings export.
pub const FINDINGS_COLUMNS: [&str; 11] = [
    "severity",
    "rule",
    "owasp",
    "title",
    "identity",
    "system",
    "owner",
    "owner_left",
    "environment",
    "evidence",
    "remediation",
];

/// Owners of an identity, for `owner_of`.
#[derive(Serialize)]
pub struct Owners {
    pub identity: String,
    /// The owners the sources name (tags, owner fields), with provenance.
    pub owners: Vec<show::Owner>,
    /// Who is accountable now, attributed from all the evidence (as
    /// `custody owner` says): the owner, the confidence, every piece of
    /// evidence, any conflict, and who takes over from an owner who left.
    pub accountable: Option<crate::owner::OwnerView>,
}

impl Service {
    pub fn new(open: Opener, limits: Limits) -> Service {
        Service {
            open,
            idle: Mutex::new(Vec::new()),
            graph: OnceLock::new(),
            graph_loading: Mutex::new(()),
            model: OnceLock::new(),
            model_loading: Mutex::new(()),
            model_warm: OnceLock::new(),
            findings: OnceLock::new(),
            findings_running: Mutex::new(()),
            risk: OnceLock::new(),
            risk_running: Mutex::new(()),
            index: OnceLock::new(),
            index_loading: Mutex::new(()),
            ownership_all: OnceLock::new(),
            ownership_all_loading: Mutex::new(()),
            rows: OnceLock::new(),
            rows_loading: Mutex::new(()),
            limits,
        }
    }

    /// Runs `f` with a store connection from the pool.
    pub fn with_store<T>(&self, f: impl FnOnce(&SqliteStore) -> Result<T>) -> Result<T> {
        let taken = self.idle.lock().ok().and_then(|mut v| v.pop());
        let store = match taken {
            Some(s) => s,
            None => (self.open)()?,
        };
        let out = f(&store);
        if let Ok(mut v) = self.idle.lock() {
            if v.len() < 8 {
                v.push(store);
            }
        }
        out
    }

    /// Loads the in-memory graph, the findings (with their owners), the
    /// search index and the reach model now rather than on the first question
    /// (what `custody serve` does at start).
    pub fn warm(&self) -> Result<()> {
        let t = Instant::now();
        self.graph()?;
        tracing::info!("graph loaded in {:.1}s", t.elapsed().as_secs_f64());
        let t = Instant::now();
        self.report()?;
        tracing::info!(
            "posture findings computed in {:.1}s",
            t.elapsed().as_secs_f64()
        );
        let t = Instant::now();
        self.search_index()?;
        tracing::info!("search index built in {:.1}s", t.elapsed().as_secs_f64());
        let t = Instant::now();
        self.finding_rows()?;
        tracing::info!(
            "findings' owners and environments in {:.1}s",
            t.elapsed().as_secs_f64()
        );
        let t = Instant::now();
        self.model()?;
        tracing::info!("reach model loaded in {:.1}s", t.elapsed().as_secs_f64());
        let t = Instant::now();
        self.warm_model()?;
        tracing::info!(
            "every principal's reach computed in {:.1}s",
            t.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// Computes every principal's direct reach and next hops, on every core:
    /// blast-radius answers then take microseconds, and `reached_by` needs it.
    pub fn warm_model(&self) -> Result<&Model> {
        let model = self.model()?;
        self.model_warm.get_or_init(|| blast::warm(model));
        Ok(model)
    }

    pub fn graph(&self) -> Result<&MemGraph> {
        once(&self.graph, &self.graph_loading, || {
            self.with_store(|s| Ok(MemGraph::load(s)?))
        })
    }

    pub fn model(&self) -> Result<&Model> {
        once(&self.model, &self.model_loading, || {
            self.with_store(|s| Ok(blast::load(s, &crate::progress::Quiet)?))
        })
    }

    /// What is loaded: `graph` (queries run in memory), `reach` (every
    /// principal's reach computed: blast radius in microseconds).
    pub fn readiness(&self) -> (bool, bool) {
        (self.graph.get().is_some(), self.model_warm.get().is_some())
    }

    /// The node a reference names.
    pub fn find(&self, store: &SqliteStore, reference: &str) -> Result<i64> {
        store.find(reference)?.ok_or_else(|| {
            Error::NotFound(format!(
                "nothing matches `{reference}`: give an access key id, ARN, e-mail, natural key (`kind:value`) or node id"
            ))
        })
    }

    pub fn stats(&self) -> Result<Stats> {
        self.with_store(|s| Ok(s.stats()?))
    }

    /// One identity with its keys, edges, lineage, permissions and sources.
    pub fn identity(&self, reference: &str) -> Result<show::ShowOutput> {
        self.with_store(|s| {
            let id = self.find(s, reference)?;
            Ok(show::build(s, id)?)
        })
    }

    /// The accountable humans of an identity, with evidence.
    pub fn owners(&self, reference: &str) -> Result<Owners> {
        let shown = self.identity(reference)?;
        let id = shown.node.brief.id;
        // The attribution every other answer of the server uses (in memory).
        let accountable = crate::owner::view(self.ownership_all()?, id);
        Ok(Owners {
            identity: shown.node.brief.key,
            owners: shown.lineage.owners,
            accountable,
        })
    }

    /// A node's live edges, optionally of one kind and direction (`out`, `in`).
    pub fn neighbours(
        &self,
        reference: &str,
        kind: Option<&str>,
        direction: Option<&str>,
        limit: usize,
    ) -> Result<Neighbours> {
        if let Some(d) = direction.filter(|d| !matches!(*d, "in" | "out")) {
            return Err(Error::BadRequest(format!(
                "direction must be `in` or `out`, not `{d}`"
            )));
        }
        self.with_store(|s| {
            let id = self.find(s, reference)?;
            let node = s
                .node(id)?
                .ok_or_else(|| Error::NotFound(format!("node {id} vanished")))?;
            let mut edges: Vec<EdgeRecord> = s
                .edges(id)?
                .into_iter()
                .filter(|e| !e.retired)
                .filter(|e| kind.is_none_or(|k| e.kind.eq_ignore_ascii_case(k)))
                .filter(|e| direction.is_none_or(|d| e.direction == d))
                .collect();
            let truncated = edges.len().saturating_sub(limit);
            edges.truncate(limit);
            Ok(Neighbours {
                node: node.brief,
                edges,
                truncated,
            })
        })
    }

    /// What a credential, principal, workload or agent can reach, across clouds.
    pub fn blast_radius(&self, reference: &str, limit: usize) -> Result<blast::BlastOut> {
        let id = self.with_store(|s| self.find(s, reference))?;
        let model = self.model()?;
        let start = model.start(id);
        if start.is_empty() {
            return Err(Error::BadRequest(format!(
                "`{reference}` is not a credential, principal, workload or agent custody can evaluate (AWS keys, IAM users and roles; GCP service accounts and keys; Entra apps, managed identities and their secrets; GitHub tokens, deploy keys and installations; workloads that run as or federate into them)"
            )));
        }
        let mut out = blast::describe(model, reference, &blast::radius(model, &start));
        if limit > 0 {
            out.resources.truncate(limit);
        }
        Ok(out)
    }

    /// Every credential that can reach a resource, with access, path and owners.
    pub fn reached_by(&self, reference: &str, limit: usize) -> Result<blast::ReachedByOut> {
        let id = self.with_store(|s| self.find(s, reference))?;
        let model = self.model()?;
        let resource = model.resource(id).ok_or_else(|| {
            Error::BadRequest(format!(
                "`{reference}` is not a resource custody has inventoried (AWS buckets, secrets, keys, databases, functions…; GCP hierarchy and asset inventory; Azure Resource Graph and Key Vault secrets; GitHub repositories)"
            ))
        })?;
        let model = self.warm_model()?;
        self.with_store(|s| Ok(blast::reached_by(s, model, resource, limit)?))
    }

    /// Posture findings, most severe first, filtered by minimum severity,
    /// rule, identity (a reference: the identity's key or anything that
    /// finds it), system, owner and environment, sorted and paged. The
    /// rules run once, on the first call.
    pub fn findings(&self, filter: &FindingsFilter) -> Result<FindingsOut> {
        let matching = self.matching_findings(filter)?;
        let count = |f: &dyn Fn(&crate::posture::FindingRow) -> String| {
            let mut m: std::collections::BTreeMap<String, usize> = Default::default();
            for r in &matching {
                *m.entry(f(r)).or_default() += 1;
            }
            m
        };
        Ok(FindingsOut {
            total: matching.len(),
            offset: filter.offset,
            by_rule: count(&|r| r.finding.rule.clone()),
            by_severity: count(&|r| r.finding.severity.as_str().to_string()),
            by_system: count(&|r| r.system.clone()),
            by_environment: count(&|r| r.environment.clone().unwrap_or_else(|| "unknown".into())),
            findings: matching
                .iter()
                .skip(filter.offset)
                .take(filter.limit.max(1))
                .map(|r| (*r).clone())
                .collect(),
        })
    }

    /// The findings `filter` selects, as CSV ([`FINDINGS_COLUMNS`]) or SARIF
    /// 2.1.0 (`format`: `csv`, `sarif`): every match, unless `limit` is set.
    pub fn findings_export(
        &self,
        filter: &FindingsFilter,
        format: &str,
        limit: Option<usize>,
    ) -> Result<String> {
        let matching = self.matching_findings(filter)?;
        let take = limit.unwrap_or(usize::MAX);
        let rows = matching.iter().skip(filter.offset).take(take);
        match format {
            "csv" => {
                let rows: Vec<Vec<String>> = rows
                    .map(|r| {
                        let f = &r.finding;
                        vec![
                            f.severity.as_str().to_string(),
                            f.rule.clone(),
                            f.owasp.clone(),
                            f.title.clone(),
                            f.identity.clone(),
                            r.system.clone(),
                            r.owner.clone().unwrap_or_default(),
                            r.owner_left.to_string(),
                            r.environment.clone().unwrap_or_default(),
                            Value::Object(f.evidence.clone()).to_string(),
                            f.remediation.clone(),
                        ]
                    })
                    .collect();
                Ok(crate::people::csv(&FINDINGS_COLUMNS, &rows)?)
            }
            "sarif" => {
                let findings: Vec<custody_posture::Finding> =
                    rows.map(|r| r.finding.clone()).collect();
                let rules = custody_posture::default_rules();
                let doc = custody_posture::sarif(&rules, &findings, env!("CARGO_PKG_VERSION"));
                serde_json::to_string_pretty(&doc).map_err(|e| Error::Internal(e.into()))
            }
            other => Err(Error::BadRequest(format!(
                "`{other}` is not an export format: csv or sarif (json is the default answer)"
            ))),
        }
    }

    fn matching_findings(
        &self,
        filter: &FindingsFilter,
    ) -> Result<Vec<&crate::posture::FindingRow>> {
        let severity = match filter.severity.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(custody_posture::Severity::parse(s).ok_or_else(|| {
                Error::BadRequest(format!(
                    "`{s}` is not a severity: low, medium, high or critical"
                ))
            })?),
        };
        let identity = match filter.identity.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(r) => {
                let graph = self.graph()?;
                let id = custody_query::Graph::find(graph, r)?
                    .ok_or_else(|| Error::NotFound(format!("nothing matches `{r}`")))?;
                custody_query::Graph::node(graph, id)?.map(|n| n.key.clone())
            }
        };
        let report = self.report()?;
        let rule = filter.rule.as_deref().filter(|s| !s.is_empty());
        if let Some(rule) = rule {
            if !report.rules.iter().any(|r| r.rule == rule) {
                let ids: Vec<&str> = report.rules.iter().map(|r| r.rule.as_str()).collect();
                return Err(Error::NotFound(format!(
                    "no rule `{rule}`; there are: {}",
                    ids.join(", ")
                )));
            }
        }
        let environment = filter.environment.as_deref().filter(|s| !s.is_empty());
        if let Some(e) = environment {
            if !matches!(e, "production" | "non-production" | "unknown") {
                return Err(Error::BadRequest(format!(
                    "`{e}` is not an environment: production, non-production or unknown"
                )));
            }
        }
        let system = filter.system.as_deref().filter(|s| !s.is_empty());
        let owner = filter
            .owner
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase);
        let rows = self.finding_rows()?;
        let mut matching: Vec<&crate::posture::FindingRow> = rows
            .iter()
            .filter(|r| severity.is_none_or(|s| r.finding.severity >= s))
            .filter(|r| rule.is_none_or(|x| r.finding.rule == x))
            .filter(|r| identity.as_ref().is_none_or(|k| &r.finding.identity == k))
            .filter(|r| system.is_none_or(|x| r.system == x))
            .filter(|r| {
                environment.is_none_or(|e| r.environment.as_deref().unwrap_or("unknown") == e)
            })
            .filter(|r| match (&owner, &r.owner) {
                (None, _) => true,
                (Some(o), None) => o == "none",
                (Some(o), Some(x)) => x.to_lowercase().contains(o.as_str()),
            })
            .collect();
        if let Some(sort) = filter.sort.as_deref().filter(|s| !s.is_empty()) {
            let (desc, key) = match sort.strip_prefix('-') {
                Some(k) => (true, k),
                None => (false, sort),
            };
            let text = |r: &crate::posture::FindingRow| -> String {
                match key {
                    "rule" => r.finding.rule.clone(),
                    "identity" => r.finding.identity.clone(),
                    "system" => r.system.clone(),
                    "owner" => r.owner.clone().unwrap_or_default(),
                    "environment" => r.environment.clone().unwrap_or_default(),
                    _ => String::new(),
                }
            };
            match key {
                "severity" => matching.sort_by_key(|b| std::cmp::Reverse(b.finding.severity)),
                "rule" | "identity" | "system" | "owner" | "environment" => {
                    matching.sort_by_cached_key(|r| text(r))
                }
                other => {
                    return Err(Error::BadRequest(format!(
                        "cannot sort by `{other}`: severity, rule, identity, system, owner or environment"
                    )))
                }
            }
            if desc {
                matching.reverse();
            }
        }
        Ok(matching)
    }

    /// Every finding with its system, owner and environment, once.
    pub fn finding_rows(&self) -> Result<&Vec<crate::posture::FindingRow>> {
        once(&self.rows, &self.rows_loading, || {
            let report = self.report()?;
            let graph = self.graph()?;
            let ownership = self.ownership_all()?;
            Ok(crate::posture::rows(graph, ownership, &report.findings))
        })
    }

    /// The attribution of every identity, from the in-memory graph, once:
    /// what the ownership rule, the saved questions, the owners of findings
    /// and alerts, the plans and the people pages ask about (one build
    /// serves them all).
    pub fn ownership_all(&self) -> Result<&custody_analysis::ownership::Ownership> {
        once(&self.ownership_all, &self.ownership_all_loading, || {
            let graph = self.graph()?;
            self.with_store(|s| Ok(crate::owner::from_graph(graph, s)?))
        })
    }

    /// The type-ahead index, built once from the in-memory graph.
    pub fn search_index(&self) -> Result<&crate::search::Index> {
        once(&self.index, &self.index_loading, || {
            Ok(crate::search::Index::build(self.graph()?))
        })
    }

    /// Type-ahead: nodes whose key, name, e-mail or fingerprint's short form
    /// matches `text`, best first, at most `per_label` of each label.
    pub fn typeahead(
        &self,
        text: &str,
        per_label: usize,
        label: Option<&str>,
    ) -> Result<crate::search::Results> {
        let per_label = per_label.clamp(1, 100);
        Ok(self.search_index()?.search(text, per_label, label))
    }

    /// The paths from an identity through role chains and federation to what
    /// it reaches, for drawing (summarised above the node budget).
    pub fn paths(
        &self,
        reference: &str,
        req: &crate::paths::Request,
    ) -> Result<crate::paths::Paths> {
        let model = self.model()?;
        self.with_store(|s| {
            let id = self.find(s, reference)?;
            let find = |arn: &str| -> Option<custody_store::NodeBrief> {
                let id = s.find(arn).ok().flatten()?;
                s.node(id).ok().flatten().map(|n| n.brief)
            };
            Ok(crate::paths::paths(s, Some(model), id, req, &find)?)
        })
    }

    /// One person: manager, reports, teams, and what they own or created
    /// with who takes each over.
    pub fn person(&self, reference: &str) -> Result<crate::people::PersonView> {
        let o = self.ownership_all()?;
        let graph = self.graph()?;
        let model = self.model()?;
        self.with_store(|s| {
            let id = self.find(s, reference)?;
            let blast = |id: i64, key: &str| blast::summary(model, id, key);
            crate::people::person(o, graph, s, id, &blast)?.ok_or_else(|| {
                Error::BadRequest(format!(
                    "`{reference}` is not a person (a Human node from the roster or IdP): give an e-mail"
                ))
            })
        })
    }

    /// Everyone who left and is still named by an identity.
    pub fn leavers(&self) -> Result<Vec<crate::people::Leaver>> {
        Ok(crate::people::leavers(self.ownership_all()?))
    }

    /// The offboarding CSV of one person, or of every leaver.
    pub fn offboarding_csv(&self, reference: Option<&str>) -> Result<String> {
        let o = self.ownership_all()?;
        let model = self.model()?;
        let blast = |id: i64, key: &str| blast::summary(model, id, key);
        self.with_store(|s| {
            let people: Vec<i64> = match reference {
                Some(r) => {
                    let id = self.find(s, r)?;
                    if !o.people.contains_key(&id) {
                        return Err(Error::BadRequest(format!("`{r}` is not a person")));
                    }
                    vec![id]
                }
                None => {
                    let mut v: Vec<i64> = o
                        .people
                        .iter()
                        .filter(|(_, p)| p.standing == custody_analysis::ownership::Standing::Left)
                        .map(|(id, _)| *id)
                        .collect();
                    v.sort_unstable();
                    v
                }
            };
            let mut reports = Vec::new();
            for p in people {
                reports.push(crate::owner::offboard(o, s, p, &blast)?);
            }
            let all: Vec<&crate::owner::Offboarding> = reports.iter().collect();
            Ok(crate::people::offboarding_csv(&all)?)
        })
    }

    /// The plan to move a static credential to ephemeral identity.
    pub fn migration(&self, reference: &str) -> Result<crate::migrate::Migration> {
        let o = self.ownership_all()?;
        self.with_store(|s| {
            let id = self.find(s, reference)?;
            if let Some(why) = crate::migrate::unsupported(s, id)? {
                return Err(Error::BadRequest(why));
            }
            crate::migrate::plan_with_usage(s, id, Some(o)).map_err(|e| {
                match e.downcast_ref::<crate::migrate::NothingToMigrate>() {
                    Some(n) => Error::NotFound(n.0.clone()),
                    None => Error::Internal(e),
                }
            })
        })
    }

    /// The snapshots, newest first.
    pub fn snapshots(&self) -> Result<Vec<crate::diff::SnapshotBrief>> {
        self.with_store(|s| Ok(crate::diff::snapshots(s)?))
    }

    /// What changed between two snapshots (`from`, `to`: ids, `latest`,
    /// `previous`, `latest-N`; by default the two newest).
    pub fn diff(
        &self,
        from: Option<&str>,
        to: Option<&str>,
        limit: usize,
    ) -> Result<crate::diff::Diff> {
        self.with_store(|s| {
            let (from, to) = crate::diff::resolve(s, from, to)
                .map_err(|e| Error::BadRequest(format!("{e:#}")))?;
            Ok(crate::diff::diff(s, &from, &to, limit)?)
        })
    }

    fn report(&self) -> Result<&custody_posture::Report> {
        once(&self.findings, &self.findings_running, || {
            // The server has the permission model: the reach rules run too.
            let rules = custody_posture::default_rules();
            let today = chrono::Utc::now().date_naive();
            crate::posture::run(
                self.graph()?,
                &rules,
                Some(self.ownership_all()?),
                Some(self.model()?),
                today,
            )
            .map_err(Error::Internal)
        })
    }

    /// The `top` riskiest identities (at most [`RISK_TOP`]): severity × exposure
    /// × blast radius, as `custody findings --reach` ranks them. Ranked once.
    pub fn risk(&self, top: usize) -> Result<Vec<custody_posture::risk::Risk>> {
        if top == 0 || top > RISK_TOP {
            return Err(Error::BadRequest(format!(
                "top must be between 1 and {RISK_TOP}"
            )));
        }
        let ranked = once(&self.risk, &self.risk_running, || {
            let report = self.report()?;
            Ok(crate::posture::risk(
                self.graph()?,
                Some(self.model()?),
                &report.findings,
                RISK_TOP,
            ))
        })?;
        Ok(ranked.iter().take(top).cloned().collect())
    }

    /// The plan to rotate, disable or revoke a credential (only a plan).
    /// The usage profiles of an identity (and of the credentials that
    /// authenticate as it), from the audit logs read so far.
    pub fn usage(&self, reference: &str) -> Result<crate::usage::UsageView> {
        self.with_store(|s| {
            crate::usage::usage(s, reference)?
                .map(|(_, v)| v)
                .ok_or_else(|| {
                    Error::NotFound(format!(
                        "`{reference}` is neither in the graph nor in any audit log read so far"
                    ))
                })
        })
    }

    /// Usage alerts, oldest first, with their evidence and owners.
    pub fn alerts(&self, q: &AlertsQuery) -> Result<Vec<crate::usage::AlertView>> {
        let since = since_time(
            q.since.as_deref().unwrap_or("30d"),
            chrono::Utc::now().timestamp(),
        )
        .map_err(Error::BadRequest)?;
        let min_severity = match q.severity.as_deref() {
            None => 0,
            Some(x) => match crate::usage::severity_rank(x) {
                0 => {
                    return Err(Error::BadRequest(format!(
                        "`{x}` is not a severity: low, medium, high or critical"
                    )))
                }
                r => r,
            },
        };
        if let Some(r) = &q.rule {
            if !custody_analysis::usage::RULES.iter().any(|x| x.0 == r) {
                return Err(Error::BadRequest(format!("no alert rule `{r}`")));
            }
        }
        let graph = self.graph()?;
        let keys = match q.identity.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(r) => {
                use custody_query::Graph;
                let id = graph
                    .find(r)?
                    .ok_or_else(|| Error::NotFound(format!("nothing matches `{r}`")))?;
                let mut keys = Vec::new();
                if let Some(n) = graph.node(id)? {
                    keys.push(n.key.clone());
                }
                for e in graph.edges(id)?.iter() {
                    if e.from == id && e.kind == "AUTHENTICATES_AS" {
                        if let Some(p) = graph.node(e.to)? {
                            keys.push(p.key.clone());
                        }
                    }
                }
                Some(keys)
            }
        };
        let filter = crate::usage::AlertsFilter {
            since,
            rule: q.rule.clone(),
            min_severity,
            limit: q.limit.min(self.limits.max_rows.max(1)),
            keys,
            suppressed: false,
        };
        let o = self.ownership_all()?;
        let find = |k: &str| custody_query::Graph::find(graph, k).ok().flatten();
        self.with_store(|s| {
            Ok(crate::usage::alerts_with(
                s,
                &filter,
                None,
                Some((o, &find)),
            )?)
        })
    }

    pub fn respond(&self, reference: &str, action: &str) -> Result<crate::respond::Plan> {
        let action = crate::respond::Action::parse(action).ok_or_else(|| {
            Error::BadRequest(format!(
                "`{action}` is not an action: rotate, disable or revoke"
            ))
        })?;
        let o = self.ownership_all()?;
        self.with_store(|s| {
            let id = self.find(s, reference)?;
            let node = s
                .node(id)?
                .ok_or_else(|| Error::NotFound(format!("node {id} vanished")))?;
            if let Some(why) = crate::respond::unsupported(&node.brief) {
                return Err(Error::BadRequest(why));
            }
            Ok(crate::respond::plan_with(s, id, action, Some(o))?)
        })
    }

    /// Runs a read-only query on the in-memory graph.
    /// A query naming `REACHES` follows reach (`crate::reach_query`) with the
    /// service's reach model.
    pub fn query(&self, text: &str, params: &Map<String, Value>) -> Result<QueryResult> {
        let graph = self.graph()?;
        if !crate::reach_query::wants_reach(text) {
            return Ok(custody_query::run(
                graph,
                text,
                params,
                self.limits.clone(),
            )?);
        }
        let model = self.warm_model()?;
        let reach = crate::reach_query::ReachGraph::new(graph, model);
        Ok(custody_query::run(
            &reach,
            text,
            params,
            self.limits.clone(),
        )?)
    }

    /// Answers a saved question (`crate::questions`).
    pub fn ask(&self, name: &str, params: Map<String, Value>) -> Result<QueryResult> {
        use crate::questions::{self, AskError};
        crate::questions::find(name).map_err(Error::NotFound)?;
        let graph = self.graph()?;
        let ownership = match questions::is_computed(name) {
            true => Some(self.ownership_all()?),
            false => None,
        };
        self.with_store(|s| {
            questions::answer(s, graph, ownership, name, params, self.limits.clone()).map_err(|e| {
                match e {
                    AskError::BadRequest(m) => Error::BadRequest(m),
                    AskError::Query(q) => q.into(),
                    AskError::Internal(e) => Error::Internal(e),
                }
            })
        })
    }

    /// Identities whose key or name contains `text`, within a label or kind.
    pub fn search(&self, text: &str, label: &str, limit: usize) -> Result<QueryResult> {
        let label: String = label
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if label.is_empty() {
            return Err(Error::BadRequest(
                "give a label (Credential, Principal, Agent, Human, Group, Location, Workload, Resource) or a kind (aws_access_key…)".into(),
            ));
        }
        let limit = limit.clamp(1, self.limits.max_rows.max(1));
        let mut params = Map::new();
        params.insert("t".into(), json!(text));
        self.query(
            &format!(
                "MATCH (n:`{label}`) WHERE n.key CONTAINS $t OR n.name CONTAINS $t
                 RETURN id(n) AS id, n.label AS label, n.kind AS kind, n.key AS key, n.name AS name
                 ORDER BY key LIMIT {limit}"
            ),
            &params,
        )
    }
}

/// The value in `cell`, computed by `init` on first use; `lock` makes
/// concurrent first callers wait for one computation instead of each running
/// it. A failed computation is reported and tried again next time.
fn once<'a, T>(
    cell: &'a OnceLock<T>,
    lock: &Mutex<()>,
    init: impl FnOnce() -> Result<T>,
) -> Result<&'a T> {
    if let Some(v) = cell.get() {
        return Ok(v);
    }
    let _computing = lock.lock();
    if let Some(v) = cell.get() {
        return Ok(v);
    }
    let _ = cell.set(init()?);
    cell.get()
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("a cached value was not kept")))
}

/// The saved questions, for listings.
pub fn saved_questions() -> Value {
    crate::questions::listing()
}
