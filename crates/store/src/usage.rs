//! Usage profiles, the log files already counted, alerts, their
//! suppressions and the response log (SQLite): the tables beside the graph.

use crate::rows::now;
use crate::sqlite::SqliteStore;
use crate::{
    AlertRow, NetworkRangeRow, ResponseRow, Result, SuppressionRow, UsageRow, UsageSource,
};
use rusqlite::{params, OptionalExtension};
use std::collections::{HashMap, HashSet};

impl SqliteStore {
    pub(crate) fn usage_known_sources_all(&self) -> Result<HashSet<String>> {
        let mut st = self.conn.prepare("SELECT sha256 FROM usage_sources")?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(crate) fn usage_profiles_of(&self, keys: &[&str]) -> Result<HashMap<String, String>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT profile FROM usage_profiles WHERE key = ?1")?;
        let mut out = HashMap::new();
        for k in keys {
            if let Some(p) = st.query_row([k], |r| r.get::<_, String>(0)).optional()? {
                out.insert((*k).to_string(), p);
            }
        }
        Ok(out)
    }

    pub(crate) fn usage_write_all(
        &mut self,
        profiles: &[UsageRow],
        sources: &[UsageSource],
        alerts: &[AlertRow],
    ) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let at = now();
        {
            let mut p = tx.prepare_cached(
                "INSERT INTO usage_profiles(key, first, last, events, denied, profile) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(key) DO UPDATE SET first = excluded.first, last = excluded.last,
                   events = excluded.events, denied = excluded.denied, profile = excluded.profile",
            )?;
            for r in profiles {
                p.execute(params![
                    r.key,
                    r.first,
                    r.last,
                    r.events as i64,
                    r.denied as i64,
                    r.profile
                ])?;
            }
            let mut s = tx.prepare_cached(
                "INSERT OR IGNORE INTO usage_sources(sha256, path, format, events, read_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for r in sources {
                s.execute(params![r.sha256, r.path, r.format, r.events as i64, at])?;
            }
        }
        let mut raised = 0;
        {
            let mut a = tx.prepare_cached(
                "INSERT OR IGNORE INTO alerts(key, rule, severity, time, summary, evidence, raised_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for r in alerts {
                raised += a.execute(params![
                    r.key, r.rule, r.severity, r.time, r.summary, r.evidence, at
                ])?;
            }
        }
        tx.commit()?;
        Ok(raised)
    }

    pub(crate) fn usage_visit(&self, visit: &mut dyn FnMut(UsageRow)) -> Result<()> {
        let mut st = self
            .conn
            .prepare("SELECT key, first, last, events, denied, profile FROM usage_profiles")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            visit(UsageRow {
                key: r.get(0)?,
                first: r.get(1)?,
                last: r.get(2)?,
                events: r.get::<_, i64>(3)? as u64,
                denied: r.get::<_, i64>(4)? as u64,
                profile: r.get(5)?,
            });
        }
        Ok(())
    }

    pub(crate) fn alerts_since(&self, since: i64) -> Result<Vec<AlertRow>> {
        let mut st = self.conn.prepare(
            "SELECT key, rule, severity, time, summary, evidence FROM alerts WHERE time >= ?1 ORDER BY time, key, rule",
        )?;
        let rows = st.query_map([since], |r| {
            Ok(AlertRow {
                key: r.get(0)?,
                rule: r.get(1)?,
                severity: r.get(2)?,
                time: r.get(3)?,
                summary: r.get(4)?,
                evidence: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(crate) fn response_append(&mut self, r: &ResponseRow) -> Result<()> {
        self.conn.execute(
            "INSERT INTO responses(at, actor, reason, credential, action, step, system, target, operation, outcome, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                now(),
                r.actor,
                r.reason,
                r.credential,
                r.action,
                r.step,
                r.system,
                r.target,
                r.operation,
                r.outcome,
                r.detail
            ],
        )?;
        Ok(())
    }

    pub(crate) fn response_rows(&self, credential: Option<&str>) -> Result<Vec<ResponseRow>> {
        let mut st = self.conn.prepare(
            "SELECT at, actor, reason, credential, action, step, system, target, operation, outcome, detail
             FROM responses WHERE ?1 IS NULL OR credential = ?1 ORDER BY id",
        )?;
        let rows = st.query_map([credential], |r| {
            Ok(ResponseRow {
                at: r.get(0)?,
                actor: r.get(1)?,
                reason: r.get(2)?,
                credential: r.get(3)?,
                action: r.get(4)?,
                step: r.get(5)?,
                system: r.get(6)?,
                target: r.get(7)?,
                operation: r.get(8)?,
                outcome: r.get(9)?,
                detail: r.get(10)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(crate) fn suppression_add(&mut self, r: &SuppressionRow) -> Result<SuppressionRow> {
        let at = now();
        self.conn.execute(
            "INSERT INTO alert_suppressions(identity, rule, value, reason, created_by, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![r.identity, r.rule, r.value, r.reason, r.created_by, at],
        )?;
        Ok(SuppressionRow {
            id: self.conn.last_insert_rowid(),
            created_at: at,
            removed_by: None,
            removed_at: None,
            removed_reason: None,
            ..r.clone()
        })
    }

    pub(crate) fn suppression_rows(&self) -> Result<Vec<SuppressionRow>> {
        let mut st = self.conn.prepare(
            "SELECT id, identity, rule, value, reason, created_by, created_at, removed_by, removed_at, removed_reason
             FROM alert_suppressions ORDER BY id",
        )?;
        let rows = st.query_map([], |r| {
            Ok(SuppressionRow {
                id: r.get(0)?,
                identity: r.get(1)?,
                rule: r.get(2)?,
                value: r.get(3)?,
                reason: r.get(4)?,
                created_by: r.get(5)?,
                created_at: r.get(6)?,
                removed_by: r.get(7)?,
                removed_at: r.get(8)?,
                removed_reason: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(crate) fn suppression_remove(&mut self, id: i64, by: &str, reason: &str) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE alert_suppressions SET removed_by = ?2, removed_at = ?3, removed_reason = ?4
             WHERE id = ?1 AND removed_at IS NULL",
            params![id, by, now(), reason],
        )?;
        Ok(n == 1)
    }

    pub(crate) fn ranges_replace(
        &mut self,
        source: &str,
        rows: &[NetworkRangeRow],
    ) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let before = tx.execute("DELETE FROM network_ranges WHERE source = ?1", [source])?;
        {
            let at = now();
            let mut st = tx.prepare(
                "INSERT INTO network_ranges(source, format, published, cidr, name, loaded_at, loaded_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for r in rows {
                st.execute(params![
                    source,
                    r.format,
                    r.published,
                    r.cidr,
                    r.name,
                    at,
                    r.loaded_by
                ])?;
            }
        }
        tx.commit()?;
        Ok(before)
    }

    pub(crate) fn ranges_all(&self) -> Result<Vec<NetworkRangeRow>> {
        let mut st = self.conn.prepare(
            "SELECT source, format, published, cidr, name, loaded_at, loaded_by
             FROM network_ranges ORDER BY source, rowid",
        )?;
        let rows = st.query_map([], |r| {
            Ok(NetworkRangeRow {
                source: r.get(0)?,
                format: r.get(1)?,
                published: r.get(2)?,
                cidr: r.get(3)?,
                name: r.get(4)?,
                loaded_at: r.get(5)?,
                loaded_by: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
