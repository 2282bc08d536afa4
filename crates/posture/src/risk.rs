//! Risk per identity: what is wrong with it (its findings' severities), how
//! exposed it is (how many kinds of place hold a copy), and how far it reaches
//! (its blast radius, when the caller evaluates reach), combined into one
//! score that ranks identities:
//!
//! `risk = severity × (1 + places) × liveness × (1 + log10(1 + reach score))`
//!
//! - **severity**: the sum of its findings' weights (critical 10, high 7,
//!   medium 3, low 1);
//! - **places**: the number of distinct kinds of place it is stored in (git
//!   history, Kubernetes Secret, CI secret, MCP config, vault…): each kind is
//!   another audience that can leak it;
//! - **reach score**: the blast radius's sum over reached resources of
//!   sensitivity × access level (`custody blast-radius`), so a credential that
//!   can write restricted data outranks one that lists a log bucket. Without
//!   reach the factor is 1.
//! - **liveness**: what its issuer said when asked (`custody scan
//!   --validate`): 2 for a credential the issuer still accepts (a leak that
//!   works), 0.5 for one it refuses (revoked, deleted, expired), 1 when never
//!   asked or the answer said neither.
//!
//! Ranking evaluates reach lazily: identities are taken by their score without
//! reach, highest first, and reach stops being computed once no remaining
//! identity could enter the top even with the largest possible reach.

use crate::Finding;
use custody_query::Graph;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// What the reach model says of one identity.
#[derive(Debug, Clone, Serialize)]
pub struct Reach {
    /// Resources it can reach (directly or through roles it can become).
    pub resources: usize,
    /// Of which critical by sensitivity.
    pub critical: usize,
    /// Σ sensitivity × access level: the blast radius's weight.
    pub score: u64,
    /// The principals it can act as, beyond its own.
    pub can_become: usize,
    /// It can make itself administrator of an account.
    pub admin_equivalent: bool,
}

/// One identity's risk and what it is made of.
#[derive(Debug, Clone, Serialize)]
pub struct Risk {
    pub identity: String,
    /// Rounded to one decimal.
    pub risk: f64,
    /// Σ of its findings' severity weights.
    pub severity: u32,
    pub findings: usize,
    /// Distinct kinds of place holding a copy.
    pub places: usize,
    /// What its issuer said when last asked (`live`, `revoked`, `unknown`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub liveness: Option<String>,
    /// `None` when reach was not evaluated (or the identity is not AWS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reach: Option<Reach>,
}

/// The reach factor for a reach score.
pub fn reach_factor(score: u64) -> f64 {
    1.0 + (1.0 + score as f64).log10()
}

/// The liveness factor: 2 for `live`, 0.5 for `revoked`, else 1.
pub fn liveness_factor(liveness: Option<&str>) -> f64 {
    match liveness {
        Some("live") => 2.0,
        Some("revoked") => 0.5,
        _ => 1.0,
    }
}

/// What the identity's issuer said when asked (`liveness`), if it was.
pub fn liveness(graph: &dyn Graph, key: &str) -> Option<String> {
    let id = graph.find(key).ok()??;
    let mut out = None;
    let _ = graph.with_node(id, &mut |n| {
        out = n
            .props
            .value("liveness")
            .as_ref()
            .and_then(|v| v.as_str())
            .map(str::to_string);
    });
    out
}

/// Distinct kinds of place (`STORED_IN` targets) holding the identity.
pub fn places(graph: &dyn Graph, key: &str) -> usize {
    let Ok(Some(id)) = graph.find(key) else {
        return 0;
    };
    let Ok(edges) = graph.edges(id) else {
        return 0;
    };
    let mut kinds = BTreeSet::new();
    for e in edges
        .iter()
        .filter(|e| e.from == id && e.kind == "STORED_IN")
    {
        let _ = graph.with_node(e.to, &mut |n| {
            kinds.insert(n.kind.clone());
        });
    }
    kinds.len()
}

/// Evaluates identities' reach (by their keys), one answer per key in
/// order; `None` for one that has none. Asked for a few at a time, so a
/// caller may work them out at once.
pub type ReachOf<'a> = &'a dyn Fn(&[&str]) -> Vec<Option<Reach>>;

/// The most identities [`rank`] asks reach for at once: it asks for 1, 2,
/// 4… up to this, so a ranking that stops early asks for few it does not use.
const REACH_BATCH: usize = 16;

/// The `top` riskiest identities among those with findings. `reach` (when
/// given) evaluates one identity's blast radius; `max_reach_score` bounds
/// every reach score, so evaluation stops once nothing left could rank.
pub fn rank(
    findings: &[Finding],
    graph: &dyn Graph,
    reach: Option<ReachOf<'_>>,
    max_reach_score: u64,
    top: usize,
) -> Vec<Risk> {
    let mut by: BTreeMap<&str, (u32, usize)> = BTreeMap::new();
    for f in findings {
        let e = by.entry(&f.identity).or_default();
        e.0 += f.severity.weight();
        e.1 += 1;
    }
    let mut candidates: Vec<Risk> = by
        .into_iter()
        .map(|(identity, (severity, n))| {
            let places = places(graph, identity);
            let liveness = liveness(graph, identity);
            Risk {
                identity: identity.to_string(),
                risk: (severity as f64)
                    * (1.0 + places as f64)
                    * liveness_factor(liveness.as_deref()),
                severity,
                findings: n,
                places,
                liveness,
                reach: None,
            }
        })
        .collect();
    let by_score = |a: &Risk, b: &Risk| {
        b.risk
            .total_cmp(&a.risk)
            .then_with(|| a.identity.cmp(&b.identity))
    };
    candidates.sort_by(by_score);
    let Some(reach) = reach else {
        candidates.truncate(top);
        for c in &mut candidates {
            c.risk = (c.risk * 10.0).round() / 10.0;
        }
        return candidates;
    };
    let bound = reach_factor(max_reach_score);
    let mut ranked: Vec<Risk> = Vec::new();
    let mut asked: std::collections::VecDeque<Option<Reach>> = Default::default();
    let mut batch = 1;
    for i in 0..candidates.len() {
        if ranked.len() >= top {
            let floor = ranked[top - 1].risk;
            if candidates[i].risk * bound < floor {
                break;
            }
        }
        if asked.is_empty() {
            let keys: Vec<&str> = candidates[i..(i + batch).min(candidates.len())]
                .iter()
                .map(|c| c.identity.as_str())
                .collect();
            asked.extend(reach(&keys));
            batch = (batch * 2).min(REACH_BATCH);
        }
        let mut c = candidates[i].clone();
        c.reach = asked.pop_front().flatten();
        c.risk *= c.reach.as_ref().map_or(1.0, |r| reach_factor(r.score));
        ranked.push(c);
        ranked.sort_by(by_score);
        ranked.truncate(top.max(1));
    }
    ranked.truncate(top);
    for c in &mut ranked {
        c.risk = (c.risk * 10.0).round() / 10.0;
    }
    ranked
}
