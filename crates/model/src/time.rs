//! Timestamps as the systems write them, normalised to UTC.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};

/// Parses the timestamp shapes real exports use: RFC 3339 (`2022-05-27T10:25:43+00:00`,
/// `…Z`, with fractions), the AWS CLI's Python form (`2019-12-18 19:10:08+00:00`),
/// a naive `YYYY-MM-DD HH:MM:SS` (taken as UTC) and a bare date (midnight UTC).
pub fn parse(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%:z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// The one text form custody stores: RFC 3339, UTC, whole seconds, `Z`.
pub fn canonical(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Epoch seconds (as the AWS SDKs and some CLI versions print timestamps) in the
/// canonical form.
pub fn from_epoch(seconds: f64) -> Option<String> {
    DateTime::from_timestamp(seconds.floor() as i64, 0).map(canonical)
}

/// [`parse`] then [`canonical`].
pub fn normalise(s: &str) -> Option<String> {
    parse(s).map(canonical)
}

/// A Unix time (seconds) in custody's canonical form; an out-of-range time
/// as its number.
pub fn from_unix(t: i64) -> String {
    DateTime::from_timestamp(t, 0)
        .map(canonical)
        .unwrap_or_else(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_export_shapes_parse_to_one_form() {
        let want = Some("2022-05-27T10:25:43Z".to_string());
        assert_eq!(normalise("2022-05-27T10:25:43+00:00"), want);
        assert_eq!(normalise("2022-05-27T10:25:43Z"), want);
        assert_eq!(normalise("2022-05-27 10:25:43+00:00"), want);
        assert_eq!(normalise("2022-05-27T10:25:43.000Z"), want);
        assert_eq!(normalise("2022-05-27 12:25:43+02:00"), want);
        assert_eq!(normalise("2022-05-27"), Some("2022-05-27T00:00:00Z".into()));
        assert_eq!(normalise("N/A"), None);
        assert_eq!(normalise(""), None);
    }
}
