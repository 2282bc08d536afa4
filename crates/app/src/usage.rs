//! How identities were really used, as every surface shows it (`custody usage`
//! and `custody alerts`, `GET /v1/nodes/{id}/usage` and `/v1/alerts`, the MCP
//! `usage_profile` and `list_alerts` tools): the stored usage profiles of an
//! identity and of the credentials that authenticate as it, and the alerts
//! with their evidence and owners.

use anyhow::Result;
use custody_analysis::usage::Profile;
use custody_store::{Store, SuppressionRow};
use serde::Serialize;
use std::collections::HashMap;

/// A Unix time as custody prints times.
pub use custody_model::time::from_unix as time_text;

#[derive(Debug, Serialize)]
pub struct KeyProfile {
    pub key: String,
    pub profile: Profile,
}

#[derive(Debug, Serialize)]
pub struct UsageView {
    pub identity: String,
    /// The profiles of the identity and of the credentials that authenticate as it.
    pub profiles: Vec<KeyProfile>,
}

/// The profiles of `reference` (a graph identity, or a key seen only in logs).
/// Returns the graph node too, when there is one; `None` when neither the
/// graph nor the logs know it.
pub fn usage(store: &dyn Store, reference: &str) -> Result<Option<(Option<i64>, UsageView)>> {
    let mut keys: Vec<String> = Vec::new();
    let node = store.find(reference)?;
    let identity = match node {
        Some(id) => {
            let n = store
                .node(id)?
                .ok_or_else(|| anyhow::anyhow!("node {id} vanished"))?;
            keys.extend(n.keys.iter().cloned());
            for e in store.edges(id)? {
                if e.direction == "in" && e.kind == "AUTHENTICATES_AS" && !e.retired {
                    if let Some(c) = store.node(e.other.id)? {
                        keys.extend(c.keys);
                    }
                    keys.push(e.other.key);
                }
            }
            n.brief.key
        }
        None => {
            keys.extend(
                custody_model::Key::candidates(reference)
                    .into_iter()
                    .map(|k| k.as_str().to_string()),
            );
            reference.to_string()
        }
    };
    keys.sort();
    keys.dedup();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let found = store.usage_profiles(&refs)?;
    let mut profiles = Vec::new();
    for k in &keys {
        if let Some(j) = found.get(k) {
            profiles.push(KeyProfile {
                key: k.clone(),
                profile: serde_json::from_str(j)?,
            });
        }
    }
    if profiles.is_empty() && node.is_none() {
        return Ok(None);
    }
    Ok(Some((node, UsageView { identity, profiles })))
}

/// `low` 1 … `critical` 4; anything else 0.
pub fn severity_rank(sev: &str) -> u8 {
    match sev {
        "critical" => 4,
        "high" => 3,
        "medium" => 2,
        "low" => 1,
        _ => 0,
    }
}

#[derive(Debug, Serialize)]
pub struct AlertView {
    pub identity: String,
    /// `aws`, `okta`, `github`… (from the identity's key).
    pub system: String,
    pub rule: String,
    pub severity: String,
    pub time: String,
    pub summary: String,
    pub evidence: serde_json::Value,
    /// The accountable humans (owners of the identity or of its principal).
    pub owners: Vec<String>,
    /// With a reach filter: the access it has to the resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
    /// Alerts of one identity less than [`INCIDENT_GAP`] apart are one
    /// incident (a new region, a new network and a burst of denials
    /// together): its number, 1 for the oldest incident in the list.
    pub incident: usize,
    /// How many alerts of the list that incident holds.
    pub incident_alerts: usize,
    /// The suppression that covers it (listed only when suppressed ones are
    /// asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed_by: Option<i64>,
}

/// Alerts of one identity closer than this (seconds) belong to one incident.
pub const INCIDENT_GAP: i64 = 3600;

/// Numbers the incidents of `rows` (oldest first; `times` are theirs).
fn incidents(rows: &mut [AlertView], times: &[i64]) {
    let mut open: HashMap<&str, (usize, i64)> = HashMap::new();
    let mut numbers = Vec::with_capacity(rows.len());
    let mut next = 0;
    for (r, &t) in rows.iter().zip(times) {
        let n = match open.get(r.identity.as_str()) {
            Some(&(n, last)) if t - last < INCIDENT_GAP => n,
            _ => {
                next += 1;
                next
            }
        };
        open.insert(r.identity.as_str(), (n, t));
        numbers.push(n);
    }
    let mut sizes: HashMap<usize, usize> = HashMap::new();
    for &n in &numbers {
        *sizes.entry(n).or_default() += 1;
    }
    for (r, n) in rows.iter_mut().zip(numbers) {
        r.incident = n;
        r.incident_alerts = sizes[&n];
    }
}

/// Which alerts.
#[derive(Debug, Clone, Default)]
pub struct AlertsFilter {
    /// Unix time: events at or after it.
    pub since: i64,
    pub rule: Option<String>,
    /// [`severity_rank`] at least this.
    pub min_severity: u8,
    /// 0: all.
    pub limit: usize,
    /// Only alerts about these identity keys.
    pub keys: Option<Vec<String>>,
    /// List the alerts an operator's suppression covers instead of the others.
    pub suppressed: bool,
}

/// The stored alerts that pass `filter`, oldest first; with `reach` (credential
/// key → access level), only identities in it.
pub fn alerts(
    store: &dyn Store,
    filter: &AlertsFilter,
    reach: Option<&HashMap<String, String>>,
) -> Result<Vec<AlertView>> {
    alerts_with(store, filter, reach, None)
}

/// An attribution already in memory, and how to find a key's node in it.
pub type Owned<'a> = (&'a crate::owner::Ownership, &'a dyn Fn(&str) -> Option<i64>);

/// [`alerts`], with the owners from an attribution already in memory and
/// `find` resolving a key to its node (a long-running surface holds both).
pub fn alerts_with(
    store: &dyn Store,
    filter: &AlertsFilter,
    reach: Option<&HashMap<String, String>>,
    owned: Option<Owned<'_>>,
) -> Result<Vec<AlertView>> {
    Ok(alerts_counted(store, filter, reach, owned)?.0)
}

/// [`alerts_with`], and how many alerts passing the filter a suppression hides.
pub fn alerts_counted(
    store: &dyn Store,
    filter: &AlertsFilter,
    reach: Option<&HashMap<String, String>>,
    owned: Option<Owned<'_>>,
) -> Result<(Vec<AlertView>, usize)> {
    let active: Vec<SuppressionRow> = store
        .suppressions()?
        .into_iter()
        .filter(|s| s.removed_at.is_none())
        .collect();
    let mut hidden = 0;
    let mut rows = Vec::new();
    let mut times = Vec::new();
    for r in store.alerts(filter.since)? {
        if filter.rule.as_ref().is_some_and(|x| *x != r.rule)
            || severity_rank(&r.severity) < filter.min_severity
            || filter.keys.as_ref().is_some_and(|k| !k.contains(&r.key))
        {
            continue;
        }
        let evidence: serde_json::Value =
            serde_json::from_str(&r.evidence).unwrap_or(serde_json::Value::Null);
        let suppressed_by = suppressed_by(&active, &r.key, &r.rule, &evidence);
        if suppressed_by.is_some() != filter.suppressed {
            hidden += usize::from(suppressed_by.is_some());
            continue;
        }
        let access = match reach {
            Some(m) => match m.get(&r.key) {
                Some(level) => Some(level.clone()),
                None => continue,
            },
            None => None,
        };
        times.push(r.time);
        rows.push(AlertView {
            incident: 0,
            incident_alerts: 0,
            owners: Vec::new(),
            system: crate::owner::system_of("", &r.key),
            identity: r.key,
            rule: r.rule,
            severity: r.severity,
            time: time_text(r.time),
            summary: r.summary,
            evidence,
            access,
            suppressed_by,
        });
        if filter.limit > 0 && rows.len() >= filter.limit {
            break;
        }
    }
    incidents(&mut rows, &times);
    // Who is accountable for each, in one scoped load.
    match owned {
        Some((o, find)) => {
            for row in rows.iter_mut() {
                if let Some(id) = find(&row.identity) {
                    row.owners = crate::owner::owner_keys(o, id);
                }
            }
        }
        None => {
            let keys: Vec<&str> = rows.iter().map(|r| r.identity.as_str()).collect();
            let owners = crate::owner::owners_of(store, &keys)?;
            for (row, owners) in rows.iter_mut().zip(owners) {
                row.owners = owners;
            }
        }
    }
    Ok((rows, hidden))
}

/// The active suppression covering an alert: same rule, its identity or
/// every identity, and a value of `*` or, between them, every new value the
/// alert names (rules without values only by `*`).
fn suppressed_by(
    active: &[SuppressionRow],
    key: &str,
    rule: &str,
    evidence: &serde_json::Value,
) -> Option<i64> {
    let mine: Vec<&SuppressionRow> = active
        .iter()
        .filter(|s| s.rule == rule && (s.identity == "*" || s.identity == key))
        .collect();
    if let Some(s) = mine.iter().find(|s| s.value == "*") {
        return Some(s.id);
    }
    let values: Vec<&str> = evidence
        .get("values")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    if values.is_empty() {
        return None;
    }
    let mut by = None;
    for v in values {
        let s = mine.iter().find(|s| s.value == v)?;
        by.get_or_insert(s.id);
    }
    by
}

/// What `custody suppress add` asks for.
#[derive(Debug, Clone, Default)]
pub struct SuppressRequest {
    /// An identity reference (ARN, key, node id); `None`: every identity.
    pub identity: Option<String>,
    pub rule: String,
    /// The value to accept; `None`: any value of the rule.
    pub value: Option<String>,
    pub reason: String,
    /// Who: the local user.
    pub by: String,
}

/// Records a suppression after checking the rule, resolving the identity to
/// the key its alerts carry and writing the value as alerts show it (an IP
/// becomes its network, a user agent its client family).
pub fn suppress(store: &mut dyn Store, req: &SuppressRequest) -> Result<SuppressionRow> {
    use custody_analysis::usage as u;
    if !u::RULES.iter().any(|r| r.0 == req.rule) {
        anyhow::bail!("no alert rule `{}` (custody alerts --list-rules)", req.rule);
    }
    let reason = req.reason.trim();
    if reason.is_empty() {
        anyhow::bail!("a suppression needs a reason (--reason): it is kept on record");
    }
    let with_values = [
        "new-region",
        "new-network",
        "new-user-agent",
        "region-shift",
    ]
    .contains(&req.rule.as_str());
    let value = match req.value.as_deref().map(str::trim) {
        None | Some("*") | Some("") => "*".to_string(),
        Some(v) if !with_values => anyhow::bail!(
            "`{}` alerts have no value to accept (`{v}`): leave out --value to suppress the rule for the identity",
            req.rule
        ),
        Some(v) => match req.rule.as_str() {
            "new-network" => {
                let cidr = v.split('/').next().unwrap_or(v);
                if cidr.parse::<std::net::IpAddr>().is_ok() {
                    u::show_network(u::network_of(cidr, ""))
                } else {
                    v.to_string()
                }
            }
            "new-user-agent" => u::agent_family(v).to_string(),
            _ => v.to_string(),
        },
    };
    let identity = match req.identity.as_deref().map(str::trim) {
        None | Some("*") => "*".to_string(),
        Some(r) => identity_key(store, r)?,
    };
    let fp = store.fingerprinter().clone();
    let clean =
        |t: &str| custody_model::guard::redact_text(t, &fp).unwrap_or_else(|| t.to_string());
    Ok(store.suppress(&SuppressionRow {
        identity,
        rule: req.rule.clone(),
        value: clean(&value),
        reason: clean(reason),
        created_by: req.by.clone(),
        ..Default::default()
    })?)
}

/// The key alerts about `reference` carry: the node's key that has a usage
/// profile, else its main key; a key that only the logs know is taken as it is.
fn identity_key(store: &dyn Store, reference: &str) -> Result<String> {
    if let Some(id) = store.find(reference)? {
        if let Some(n) = store.node(id)? {
            let keys: Vec<&str> = n.keys.iter().map(String::as_str).collect();
            let profiled = store.usage_profiles(&keys)?;
            return Ok(keys
                .iter()
                .find(|k| profiled.contains_key(**k))
                .map_or(n.brief.key.clone(), |k| k.to_string()));
        }
    }
    if !store.usage_profiles(&[reference])?.is_empty() {
        return Ok(reference.to_string());
    }
    anyhow::bail!(
        "nothing matches `{reference}`: give an identity's ARN, key, natural key or node id"
    )
}

/// Removes a suppression (it stays on record, with who removed it and why).
pub fn unsuppress(store: &mut dyn Store, id: i64, by: &str, reason: &str) -> Result<()> {
    if reason.trim().is_empty() {
        anyhow::bail!("removing a suppression needs a reason (--reason): it is kept on record");
    }
    let fp = store.fingerprinter().clone();
    let reason =
        custody_model::guard::redact_text(reason, &fp).unwrap_or_else(|| reason.to_string());
    if !store.unsuppress(id, by, &reason)? {
        anyhow::bail!("no active suppression #{id} (custody suppress list --all)");
    }
    Ok(())
}

/// A suppression and how many stored alerts it covers now.
#[derive(Debug, Serialize)]
pub struct SuppressionOut {
    #[serde(flatten)]
    pub row: SuppressionRow,
    pub alerts_covered: usize,
}

/// The suppressions (only active ones unless `all`), each with the stored
/// alerts it covers.
pub fn suppressions(store: &dyn Store, all: bool) -> Result<Vec<SuppressionOut>> {
    let rows = store.suppressions()?;
    let active: Vec<SuppressionRow> = rows
        .iter()
        .filter(|s| s.removed_at.is_none())
        .cloned()
        .collect();
    let mut covered: HashMap<i64, usize> = HashMap::new();
    for a in store.alerts(i64::MIN)? {
        let evidence: serde_json::Value =
            serde_json::from_str(&a.evidence).unwrap_or(serde_json::Value::Null);
        if let Some(id) = suppressed_by(&active, &a.key, &a.rule, &evidence) {
            *covered.entry(id).or_default() += 1;
        }
    }
    Ok(rows
        .into_iter()
        .filter(|s| all || s.removed_at.is_none())
        .map(|row| SuppressionOut {
            alerts_covered: covered.get(&row.id).copied().unwrap_or(0),
            row,
        })
        .collect())
}

/// `custody usage ID [--right-size]`: the profiles, and what its own
/// policies grant against what it used.
#[derive(Serialize)]
pub struct UsageOut {
    #[serde(flatten)]
    pub view: UsageView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub right_size: Option<RightSize>,
}

#[derive(Serialize, Default)]
pub struct Granted {
    pub resources: usize,
    /// The most harmful access level granted on any of them.
    pub level: String,
}

/// Granted (by the identity's own policies, per service) against used.
#[derive(Serialize, Default)]
pub struct RightSize {
    pub granted: std::collections::BTreeMap<String, Granted>,
    /// Calls per service, from the profiles.
    pub used: std::collections::BTreeMap<String, u64>,
    /// Granted, never called in the logs read.
    pub unused: Vec<String>,
    /// Called but not granted by its own policies (reached through a role,
    /// a resource policy, or a service custody does not inventory).
    pub used_not_granted: Vec<String>,
}

/// Granted against used for `node`: services its own policies grant (per
/// the reach model) that the profiles never called are what right-sizing
/// removes.
pub fn right_size(
    model: &custody_analysis::Model,
    node: i64,
    profiles: &[KeyProfile],
) -> RightSize {
    let start = model.start(node);
    let br = model.blast_radius(&start);
    let mut out = RightSize::default();
    for r in &br.reached {
        if br.hops[r.hop].from.is_some() {
            continue; // reached through another principal: not its own grant
        }
        let service = r.access.action.split(':').next().unwrap_or("").to_string();
        let g = out.granted.entry(service).or_default();
        g.resources += 1;
        let level = r.access.level.as_str().to_string();
        if custody_analysis::reach::level_weight(r.access.level)
            > custody_analysis::AccessLevel::parse(&g.level)
                .map_or(0, custody_analysis::reach::level_weight)
        {
            g.level = level;
        }
    }
    for kp in profiles {
        for a in &kp.profile.actions {
            *out.used.entry(a.service.clone()).or_default() += a.count;
        }
    }
    out.unused = out
        .granted
        .keys()
        .filter(|s| !out.used.contains_key(*s))
        .cloned()
        .collect();
    out.used_not_granted = out
        .used
        .keys()
        .filter(|s| !out.granted.contains_key(*s))
        .cloned()
        .collect();
    out
}

/// One stale access key (`custody stale`, the `stale-keys` question).
#[derive(Debug, Clone, Serialize)]
pub struct StaleKey {
    pub key: String,
    pub user: Option<String>,
    pub account: Option<String>,
    /// The IAM user it authenticates as (`arn:aws:iam::…:user/…`).
    pub principal: Option<String>,
    /// Who is accountable for it (`crate::owner::owner_keys`).
    pub owners: Vec<String>,
    pub created: Option<String>,
    pub last_used: Option<String>,
    /// `cloudtrail` (an audit log), `credential report`, or `never`.
    pub evidence: &'static str,
    pub days_unused: Option<i64>,
}

/// Active access keys not used in `days` days before `as_of` (or never, and
/// older than that): [`stale_since`] the cutoff.
pub fn stale_keys(store: &dyn Store, days: i64, as_of: i64) -> Result<Vec<StaleKey>> {
    stale_since(store, as_of - days * 86_400, as_of)
}

/// Custody's one definition of a stale key: active, and its last use — the
/// later of the audit logs' and the credential report's — before `cutoff`
/// (never used: created before it). Most days unused (as of `as_of`) first.
pub fn stale_since(store: &dyn Store, cutoff: i64, as_of: i64) -> Result<Vec<StaleKey>> {
    let mut used: HashMap<String, i64> = HashMap::new();
    store.usage_scan(&mut |r| {
        used.insert(r.key, r.last);
    })?;
    let mut out = Vec::new();
    let mut ids = Vec::new();
    store.scan_nodes(&["aws_access_key"], &mut |n| {
        let prop = |k: &str| n.props.get(k).and_then(|v| v.as_str());
        if prop("status") != Some("Active") {
            return;
        }
        let created = prop("created")
            .and_then(custody_model::time::parse)
            .map(|t| t.timestamp());
        let from_log = used.get(n.key).copied();
        let from_report = prop("last_used")
            .and_then(custody_model::time::parse)
            .map(|t| t.timestamp());
        let (last, evidence) = match (from_log, from_report) {
            (Some(l), Some(r)) if r > l => (Some(r), "credential report"),
            (Some(l), _) => (Some(l), "cloudtrail"),
            (None, Some(r)) => (Some(r), "credential report"),
            (None, None) => (None, "never"),
        };
        let stale = match last {
            Some(t) => t < cutoff,
            None => created.is_some_and(|c| c < cutoff),
        };
        if stale {
            let user = prop("user").map(str::to_string);
            let account = prop("account_id").map(str::to_string);
            ids.push(n.id);
            out.push(StaleKey {
                key: n.key.to_string(),
                principal: match (&account, &user) {
                    (Some(a), Some(u)) => Some(format!("arn:aws:iam::{a}:user/{u}")),
                    _ => None,
                },
                user,
                account,
                owners: Vec::new(),
                created: created.map(time_text),
                last_used: last.map(time_text),
                evidence,
                days_unused: last.or(created).map(|t| (as_of - t) / 86_400),
            });
        }
    })?;
    let ownership = crate::owner::load_for(store, &ids)?;
    for (k, id) in out.iter_mut().zip(ids) {
        k.owners = crate::owner::owner_keys(&ownership, id);
    }
    out.sort_by(|a, b| b.days_unused.cmp(&a.days_unused).then(a.key.cmp(&b.key)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(identity: &str, rule: &str) -> AlertView {
        AlertView {
            identity: identity.into(),
            system: "aws".into(),
            rule: rule.into(),
            severity: "high".into(),
            time: String::new(),
            summary: String::new(),
            evidence: serde_json::Value::Null,
            owners: Vec::new(),
            access: None,
            incident: 0,
            incident_alerts: 0,
            suppressed_by: None,
        }
    }

    #[test]
    fn alerts_of_one_identity_within_an_hour_are_one_incident() {
        let mut rows = vec![
            alert("k1", "new-region"),
            alert("k2", "new-network"),
            alert("k1", "new-network"),
            alert("k1", "denied-burst"),
            alert("k1", "new-user-agent"),
        ];
        // k1 at 0, 20 min and 70 min (each within an hour of the last), then a day later.
        let times = [0, 60, 1200, 4200, 90_000];
        incidents(&mut rows, &times);
        let got: Vec<(usize, usize)> = rows
            .iter()
            .map(|r| (r.incident, r.incident_alerts))
            .collect();
        assert_eq!(got, [(1, 3), (2, 1), (1, 3), (1, 3), (3, 1)]);
    }
}
