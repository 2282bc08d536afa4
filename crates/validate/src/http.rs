//! Checks over HTTPS, as data (`checks.toml`): one request, and what its
//! answer means.

use crate::{verdict, Candidate, Error, Pacer, State, Verdict};
use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

const BUILTIN: &str = include_str!("../checks.toml");

/// Rate-limited answers are retried this many times, waiting as told.
const RETRIES: u32 = 2;
/// The longest wait a `Retry-After` is honoured for; beyond, `unknown`.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// Bytes of an answer read at most: who-am-I answers are small.
const MAX_BODY: usize = 256 * 1024;

pub type Client = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

/// An HTTPS client with the platform's trusted roots (plain HTTP is allowed
/// for endpoint overrides: a local test server). Without roots on this
/// machine, HTTPS calls fail with a clear error and local overrides still work.
pub fn client() -> Client {
    let connector = match hyper_rustls::HttpsConnectorBuilder::new().with_native_roots() {
        Ok(b) => b.https_or_http().enable_http1().build(),
        Err(_) => hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(
                rustls::ClientConfig::builder()
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth(),
            )
            .https_or_http()
            .enable_http1()
            .build(),
    };
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(connector)
}

/// A condition on a JSON answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    pub pointer: String,
    #[serde(default)]
    pub equals: Option<Value>,
    #[serde(default)]
    pub any_of: Vec<String>,
    #[serde(default)]
    pub present: bool,
}

impl When {
    fn holds(&self, answer: &Value) -> bool {
        let Some(v) = answer.pointer(&self.pointer) else {
            return false;
        };
        if let Some(e) = &self.equals {
            return v == e;
        }
        if !self.any_of.is_empty() {
            return v
                .as_str()
                .is_some_and(|s| self.any_of.iter().any(|a| a == s));
        }
        self.present && !v.is_null()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Basic {
    pub user: String,
    pub password: String,
}

/// One liveness check (see `checks.toml` for the fields).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    pub id: String,
    pub provider: String,
    pub base: String,
    #[serde(default = "get")]
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub basic: Option<Basic>,
    pub live: Vec<u16>,
    pub revoked: Vec<u16>,
    #[serde(default)]
    pub live_when: Option<When>,
    #[serde(default)]
    pub revoked_when: Option<When>,
    #[serde(default)]
    pub principal: Option<String>,
    #[serde(default)]
    pub account_of: Option<String>,
    #[serde(default = "one")]
    pub per_second: f64,
}

fn get() -> String {
    "GET".into()
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    check: Vec<Check>,
}

/// The checks shipped with custody.
#[derive(Debug, Clone)]
pub struct Checks {
    pub checks: Vec<Check>,
}

impl Checks {
    pub fn builtin() -> Result<Checks, Error> {
        Checks::parse(BUILTIN)
    }

    pub fn parse(text: &str) -> Result<Checks, Error> {
        let file: File = toml::from_str(text).map_err(|e| Error::Checks(e.to_string()))?;
        let mut seen = std::collections::HashSet::new();
        for c in &file.check {
            if !seen.insert(c.id.as_str()) || c.id == crate::AWS_STS {
                return Err(Error::Checks(format!("check `{}`: the id is taken", c.id)));
            }
            if !hyper::Method::from_bytes(c.method.as_bytes())
                .is_ok_and(|m| m == "GET" || m == "POST")
            {
                return Err(Error::Checks(format!(
                    "check `{}`: method must be GET or POST (checks only read)",
                    c.id
                )));
            }
        }
        Ok(Checks { checks: file.check })
    }

    pub fn get(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// Every check id, the SDK's included.
    pub fn ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.checks.iter().map(|c| c.id.as_str()).collect();
        ids.push(crate::AWS_STS);
        ids
    }
}

/// Fills `{secret}` and `{account}`.
fn fill(template: &str, secret: &str, account: &str) -> String {
    template
        .replace("{account}", account)
        .replace("{secret}", secret)
}

pub(crate) async fn check(
    check: &Check,
    client: &Client,
    pacer: &Pacer,
    timeout: Duration,
    c: &Candidate,
) -> Verdict {
    let unknown = |detail: String| verdict(c, &check.id, &check.provider, State::Unknown, detail);
    let overridden = crate::override_for(&check.provider);
    // An overridden base (an Okta org) stands for the account it names; an
    // account in the path or the login (a Twilio SID) must be found with it.
    let in_request = check.path.contains("{account}")
        || check
            .basic
            .as_ref()
            .is_some_and(|b| b.user.contains("{account}"));
    let in_base = check.base.contains("{account}") && overridden.is_none();
    let account = c.account.clone().unwrap_or_default();
    if (in_request || in_base) && account.is_empty() {
        let fix = if in_request {
            "it must be written beside the credential".to_string()
        } else {
            format!("set {} to check it", crate::override_var(&check.provider))
        };
        return unknown(format!(
            "the {} account is not named where it was found ({fix})",
            check.provider
        ));
    }
    let base = overridden.unwrap_or_else(|| check.base.clone());
    let host = base
        .split("://")
        .nth(1)
        .unwrap_or(&base)
        .split('/')
        .next()
        .unwrap_or_default()
        .replace("{account}", &account);
    let mut attempt = 0;
    loop {
        let request = c.secret.with_value(|secret| {
            let url = format!(
                "{}{}",
                fill(&base, secret, &account),
                fill(&check.path, secret, &account)
            );
            let mut r = hyper::Request::builder()
                .method(check.method.as_str())
                .uri(url)
                .header("User-Agent", concat!("custody/", env!("CARGO_PKG_VERSION")));
            for (k, v) in &check.headers {
                r = r.header(k.as_str(), fill(v, secret, &account));
            }
            if let Some(b) = &check.basic {
                let pair = format!(
                    "{}:{}",
                    fill(&b.user, secret, &account),
                    fill(&b.password, secret, &account)
                );
                let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
                r = r.header("Authorization", format!("Basic {encoded}"));
            }
            let body = check
                .body
                .as_deref()
                .map(|b| fill(b, secret, &account))
                .unwrap_or_default();
            r.body(Full::new(Bytes::from(body)))
        });
        // Never the error text: it may quote the URL, which may hold the secret.
        let Ok(request) = request else {
            return unknown(format!("cannot build the request to {host}"));
        };
        let sent = tokio::time::timeout(timeout, async {
            let response = client.request(request).await?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let body = response.into_body().collect().await.map(|b| b.to_bytes());
            Ok::<_, hyper_util::client::legacy::Error>((status, retry_after, body.ok()))
        })
        .await;
        let (status, retry_after, body) = match sent {
            Err(_) => {
                return unknown(format!(
                    "no answer from {host} within {} s",
                    timeout.as_secs()
                ))
            }
            Ok(Err(e)) if e.is_connect() => return unknown(format!("cannot connect to {host}")),
            Ok(Err(_)) => return unknown(format!("the request to {host} failed")),
            Ok(Ok(r)) => r,
        };
        if status == 429 {
            let wait = Duration::from_secs(retry_after.unwrap_or(2));
            if attempt < RETRIES && wait <= MAX_RETRY_AFTER {
                attempt += 1;
                tokio::time::sleep(wait).await;
                pacer.wait(&check.provider, check.per_second).await;
                continue;
            }
            return unknown(format!("rate limited by {host} (HTTP 429)"));
        }
        let answer: Value = body
            .filter(|b| b.len() <= MAX_BODY)
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        let mut v = verdict(
            c,
            &check.id,
            &check.provider,
            State::Unknown,
            format!("HTTP {status}"),
        );
        let live_status = check.live.contains(&status);
        if check.revoked.contains(&status)
            || check
                .revoked_when
                .as_ref()
                .is_some_and(|w| w.holds(&answer))
        {
            v.state = State::Revoked;
            if let Some(code) = check
                .revoked_when
                .as_ref()
                .and_then(|w| answer.pointer(&w.pointer))
                .and_then(Value::as_str)
                .filter(|s| {
                    s.len() <= 40 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                })
            {
                v.detail = format!("HTTP {status}, {code}");
            }
        } else if live_status && check.live_when.as_ref().is_none_or(|w| w.holds(&answer)) {
            v.state = State::Live;
            let text = |p: &Option<String>| {
                p.as_deref()
                    .and_then(|p| answer.pointer(p))
                    .and_then(|x| match x {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    })
                    .filter(|s| s.len() <= 200)
            };
            v.principal = text(&check.principal);
            v.account = text(&check.account_of);
        } else if live_status {
            v.detail = format!("HTTP {status}, but the answer does not say the credential works");
        }
        return v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_checks_parse_and_only_read() {
        let checks = Checks::builtin().unwrap();
        assert!(checks.checks.len() >= 30);
        for c in &checks.checks {
            assert!(c.base.starts_with("https://"), "{}: HTTPS only", c.id);
            assert!(!c.live.is_empty(), "{}", c.id);
            assert!(
                c.live.iter().all(|s| !c.revoked.contains(s)),
                "{}: a status is both live and revoked",
                c.id
            );
            let uses_secret = c.headers.values().any(|v| v.contains("{secret}"))
                || c.path.contains("{secret}")
                || c.basic
                    .as_ref()
                    .is_some_and(|b| b.password.contains("{secret}"));
            assert!(uses_secret, "{}: never sends the credential", c.id);
        }
        let e = Checks::parse(
            "[[check]]\nid='x'\nprovider='p'\nbase='https://x'\nmethod='DELETE'\npath='/'\nlive=[200]\nrevoked=[401]\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("GET or POST"), "{e}");
    }

    #[test]
    fn every_check_a_rule_names_exists() {
        let checks = Checks::builtin().unwrap();
        let ids = checks.ids();
        let rules = custody_scan::Rules::builtin();
        let mut named = 0;
        for r in &rules.rules {
            if let Some(v) = &r.validate {
                assert!(ids.contains(&v.as_str()), "rule {}: no check `{v}`", r.id);
                named += 1;
            }
        }
        assert!(named >= 30, "{named} rules have a liveness check");
    }

    #[test]
    fn conditions_read_json_pointers() {
        let w = When {
            pointer: "/error".into(),
            equals: None,
            any_of: vec!["invalid_auth".into()],
            present: false,
        };
        assert!(w.holds(&serde_json::json!({"ok": false, "error": "invalid_auth"})));
        assert!(!w.holds(&serde_json::json!({"ok": true})));
        let p = When {
            pointer: "/data/viewer/email".into(),
            equals: None,
            any_of: vec![],
            present: true,
        };
        assert!(p.holds(&serde_json::json!({"data": {"viewer": {"email": "a@b"}}})));
        assert!(!p.holds(&serde_json::json!({"data": {"viewer": null}})));
    }
}
