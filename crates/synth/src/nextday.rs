//! The same estate exported again a day later, for the re-ingest benchmark.
//!
//! A real daily re-export changes little: every credential and role used
//! since the last export shows a newer last-used time, and the rest of each
//! listing reads as before. [`advance`] makes that change in place, in the
//! files' own formats and layout (only the date of a last-used value moves),
//! so the folder is what the systems would export the next morning. With
//! `every_file`, each other export file is rewritten too (a trailing newline:
//! its bytes differ, its records do not), the worst case for re-ingest.
//! Audit logs, repositories and workstation files are left alone.

use crate::SynthError;
use chrono::{Duration, NaiveDate};
use regex::Regex;
use std::path::{Path, PathBuf};

/// What [`advance`] changed.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct NextDay {
    /// Files whose last-used values moved.
    pub files_advanced: usize,
    /// Last-used values moved a day on.
    pub values_advanced: usize,
    /// Other export files rewritten (with `every_file`).
    pub files_rewritten: usize,
}

/// JSON fields holding a last-used time, in the exports the synthetic
/// company writes (IAM `RoleLastUsed`, Okta users, GitHub tokens and keys,
/// access-key listings).
const JSON_FIELDS: &str = r#""(LastUsedDate|lastLogin|token_last_used_at|last_used|key_last_used)"(\s*:\s*)"(\d{4}-\d{2}-\d{2})"#;

/// Credential report columns holding a last-used time.
const REPORT_COLUMNS: [&str; 3] = [
    "password_last_used",
    "access_key_1_last_used_date",
    "access_key_2_last_used_date",
];

/// Moves every last-used date of the week up to `as_of` one day on, in
/// every export under `root`; with `every_file`, rewrites the others too.
pub fn advance(root: &Path, as_of: NaiveDate, every_file: bool) -> Result<NextDay, SynthError> {
    let re = Regex::new(JSON_FIELDS).map_err(|e| SynthError::Invalid(e.to_string()))?;
    let mut files = Vec::new();
    walk(root, root, &mut files)?;
    files.sort();
    let io = |path: &Path, source| SynthError::Io {
        path: path.display().to_string(),
        source,
    };
    let recent = |date: &str| -> Option<String> {
        let d = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
        (d <= as_of && d > as_of - Duration::days(7))
            .then(|| (d + Duration::days(1)).format("%Y-%m-%d").to_string())
    };
    let mut out = NextDay::default();
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let mut moved = 0;
        let new = if path.extension().is_some_and(|e| e == "csv") && text.starts_with("user,arn,") {
            report(&text, &recent, &mut moved)
        } else {
            re.replace_all(&text, |c: &regex::Captures<'_>| match recent(&c[3]) {
                Some(next) => {
                    moved += 1;
                    format!("\"{}\"{}\"{next}", &c[1], &c[2])
                }
                None => c[0].to_string(),
            })
            .into_owned()
        };
        if moved > 0 {
            std::fs::write(&path, new).map_err(|e| io(&path, e))?;
            out.files_advanced += 1;
            out.values_advanced += moved;
        } else if every_file {
            std::fs::write(&path, format!("{text}\n")).map_err(|e| io(&path, e))?;
            out.files_rewritten += 1;
        }
    }
    Ok(out)
}

/// A credential report with its last-used columns moved on (the layout of
/// every line kept: these columns never hold commas or quotes).
fn report(text: &str, recent: &dyn Fn(&str) -> Option<String>, moved: &mut usize) -> String {
    let mut lines = text.split_inclusive('\n');
    let Some(header) = lines.next() else {
        return text.to_string();
    };
    let columns: Vec<usize> = header
        .trim_end()
        .split(',')
        .enumerate()
        .filter(|(_, h)| REPORT_COLUMNS.contains(h))
        .map(|(i, _)| i)
        .collect();
    let mut out = String::with_capacity(text.len());
    out.push_str(header);
    for line in lines {
        let body = line.trim_end_matches(['\n', '\r']);
        let mut cells: Vec<String> = body.split(',').map(str::to_string).collect();
        for &i in &columns {
            let Some(cell) = cells.get_mut(i) else {
                continue;
            };
            if let Some(next) = cell.get(..10).and_then(recent) {
                cell.replace_range(..10, &next);
                *moved += 1;
            }
        }
        out.push_str(&cells.join(","));
        out.push_str(&line[body.len()..]);
    }
    out
}

/// Export files under `dir`: not audit logs (new days are new files, read
/// by the logs benchmark), repositories, workstations or the answer key.
fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), SynthError> {
    let entries = std::fs::read_dir(dir).map_err(|e| SynthError::Io {
        path: dir.display().to_string(),
        source: e,
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let top = path
            .strip_prefix(root)
            .ok()
            .and_then(|p| p.components().next())
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .unwrap_or_default();
        if matches!(
            top.as_str(),
            "repos" | "workstations" | "keyvault-values" | "secretsmanager-values"
        ) || name == "cloudtrail"
            || name.starts_with("answers")
        {
            continue;
        }
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(root, &path, out)?,
            Ok(t) if t.is_file() && !name.ends_with(".gz") => out.push(path),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_used_dates_of_the_week_move_a_day_on_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let as_of = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let json = dir.path().join("authorization-details.json");
        std::fs::write(
            &json,
            "{\"RoleLastUsed\": {\"LastUsedDate\": \"2026-10-30T06:00:00+00:00\"},\n \"x\": {\"LastUsedDate\": \"2026-09-01T06:00:00+00:00\"}}\n",
        )
        .unwrap();
        let csv = dir.path().join("credential-report.csv");
        std::fs::write(
            &csv,
            "user,arn,password_last_used,access_key_1_last_used_date\nsvc,arn:aws:iam::1:user/svc,N/A,2026-11-01T13:32:30+00:00\n",
        )
        .unwrap();
        let other = dir.path().join("keys.json");
        std::fs::write(&other, "[]").unwrap();
        let r = advance(dir.path(), as_of, false).unwrap();
        assert_eq!(
            (r.files_advanced, r.values_advanced, r.files_rewritten),
            (2, 2, 0)
        );
        let j = std::fs::read_to_string(&json).unwrap();
        assert!(
            j.contains("\"LastUsedDate\": \"2026-10-31T06:00:00+00:00\""),
            "{j}"
        );
        assert!(j.contains("2026-09-01T06"), "older dates stay: {j}");
        let c = std::fs::read_to_string(&csv).unwrap();
        assert!(c.ends_with(",N/A,2026-11-02T13:32:30+00:00\n"), "{c}");
        assert_eq!(std::fs::read_to_string(&other).unwrap(), "[]");
        // A second day: the role's date moves again, the report's (now
        // after `as_of`) does not, and the files left are rewritten.
        let r = advance(dir.path(), as_of, true).unwrap();
        assert_eq!((r.files_advanced, r.files_rewritten), (1, 2));
        assert_eq!(std::fs::read_to_string(&other).unwrap(), "[]\n");
    }
}
