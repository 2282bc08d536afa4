//! Audit-log events as every log connector hands them over: borrowed from the
//! input, one at a time, never stored. Usage analysis folds them into compact
//! per-identity profiles (`custody-analysis::usage`).

use std::borrow::Cow;

/// One audit-log event, reduced to what usage profiles and anomaly detection read.
/// Strings borrow from the input where it has no escapes.
#[derive(Debug, Default, Clone)]
pub struct Event<'a> {
    /// When it happened, Unix seconds (UTC).
    pub time: i64,
    /// The key prefix of the acting identity's natural key: `aws-access-key:`,
    /// `` (an ARN is its own key), `email:`, `okta:`, `id:github/`, `k8s:`…
    pub actor_prefix: &'static str,
    /// The rest of the acting identity's natural key (`AKIA…`, a role ARN…).
    /// Empty: the event has no actor custody can attribute (an AWS service).
    pub actor: Cow<'a, str>,
    /// The principal behind the actor, when the log names one (the IAM user of
    /// an access key), as a natural key.
    pub principal: Cow<'a, str>,
    /// A federated subject the actor came through (a web-identity `sub`).
    pub subject: Cow<'a, str>,
    /// Source IP address, or the service name a cloud writes instead of one.
    pub source_ip: Cow<'a, str>,
    /// The network the log itself names (Okta's `securityContext.asNumber` as
    /// `AS<n>`); empty: usage derives one from the IP address.
    pub network: Cow<'a, str>,
    /// Where the log places the caller (latitude, longitude), when it does
    /// (Okta's and Entra's geolocation; CloudTrail has none).
    pub geo: Option<(f64, f64)>,
    /// Cloud region or data location.
    pub region: Cow<'a, str>,
    pub user_agent: Cow<'a, str>,
    /// The service called (`s3.amazonaws.com`, `okta`, `github`…).
    pub service: Cow<'a, str>,
    /// The operation (`GetObject`, `user.session.start`, `repo.clone`…).
    pub action: Cow<'a, str>,
    /// The error code or outcome reason; empty on success.
    pub error: Cow<'a, str>,
    /// The error means the caller was not allowed (AccessDenied, 403, DENY).
    pub denied: bool,
    /// The natural key of an identity this event created (CloudTrail
    /// `CreateAccessKey`: `aws-access-key:AKIA…`; `CreateUser`/`CreateRole`:
    /// the new ARN). Empty for every other event.
    pub created: Cow<'a, str>,
    /// The session name of an assumed-role actor (for AWS IAM Identity
    /// Center sessions, the person's user name, usually their e-mail).
    pub session: Cow<'a, str>,
}

impl Event<'_> {
    /// Resets every field, keeping nothing borrowed.
    pub fn clear(&mut self) {
        *self = Event::default();
    }
}

/// Is this error code a denial (AWS `AccessDenied`, `UnauthorizedOperation`,
/// `Client.UnauthorizedOperation`, `*AccessDeniedException`, `Forbidden`)?
pub fn is_denial(code: &str) -> bool {
    code.contains("AccessDenied")
        || code.contains("UnauthorizedOperation")
        || code.contains("Unauthorized")
        || code.eq_ignore_ascii_case("forbidden")
        || code.eq_ignore_ascii_case("deny")
}

/// Seconds since the Unix epoch of an RFC 3339 timestamp as logs write them
/// (`2026-11-23T10:00:00Z`, with or without fractions, `Z` or `±hh:mm`), without
/// allocating. `None` if it is not one.
pub fn rfc3339_seconds(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let mut v = 0i64;
        for &c in &b[r] {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
        }
        Some(v)
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    let offset = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let o = num(i + 1..i + 3)? * 3600 + num(i + 4..i + 6)? * 60;
            if sign == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return None,
    };
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_match_chrono() {
        for s in [
            "2026-11-23T10:00:00Z",
            "2026-11-23T10:00:00.123Z",
            "2026-02-28T23:59:59.123456Z",
            "2024-02-29T00:00:00+02:00",
            "1999-12-31T23:59:59-05:30",
            "2026-11-23T10:00:00",
        ] {
            let want = crate::time::parse(s).map(|t| t.timestamp());
            assert_eq!(rfc3339_seconds(s), want, "{s}");
        }
        for bad in [
            "",
            "2026-11-23",
            "2026-13-01T00:00:00Z",
            "2026-11-23T10:00:00Zx",
            "x026-11-23T10:00:00Z",
        ] {
            assert_eq!(rfc3339_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn denials() {
        for c in [
            "AccessDenied",
            "Client.UnauthorizedOperation",
            "AccessDeniedException",
            "Forbidden",
        ] {
            assert!(is_denial(c), "{c}");
        }
        assert!(!is_denial("NoSuchKey"));
        assert!(!is_denial("ThrottlingException"));
    }
}
