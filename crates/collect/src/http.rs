//! Paged REST reads for the collectors that speak HTTP (GitHub, Okta):
//! `Link: <…>; rel="next"` pagination, and waits that never lose a page —
//! a rate limit's reset time (`X-RateLimit-Reset`, Okta's
//! `X-Rate-Limit-Reset`), `Retry-After`, exponential backoff with jitter on
//! 5xx and dropped connections.
//!
//! The token is sent in one header and never appears in an error: errors
//! say the call (method and path), the status and the API's own message.

use crate::{write, Tally};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

type Client = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

/// Bytes of one page read at most (a page of 100 records is far smaller).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// How long a collector keeps trying: attempts per call (5xx, timeouts,
/// dropped connections), the longest wait for a rate limit to reset, and
/// the first backoff (doubled each attempt, jittered).
#[derive(Debug, Clone, Copy)]
pub struct Patience {
    pub max_attempts: u32,
    pub max_wait: Duration,
    pub backoff: Duration,
}

impl Default for Patience {
    fn default() -> Self {
        Patience {
            max_attempts: 6,
            max_wait: Duration::from_secs(15 * 60),
            backoff: Duration::from_secs(1),
        }
    }
}

/// Rate-limit waits one call may sit through before it fails.
const MAX_RATE_LIMIT_WAITS: u32 = 20;

/// How one API is called.
pub struct Api {
    client: Client,
    base: String,
    /// The credential header (`Authorization`, Vault's `X-Vault-Token`) and
    /// its value: held in memory only, never printed.
    auth_header: &'static str,
    authorization: String,
    pub max_attempts: u32,
    /// The longest single wait for a rate limit to reset; beyond it the
    /// call fails (its scope is then incomplete).
    pub max_wait: Duration,
    /// The first backoff on 5xx or a dropped connection (doubled each time).
    pub backoff: Duration,
    /// The page-size parameter added to a listing's first page
    /// (`per_page=100` for GitHub, `limit=200` for Okta).
    pub page_size: &'static str,
    /// Where answers with an `ETag` are kept (owner-only), so the next run
    /// asks `If-None-Match` and a `304 Not Modified` (free against GitHub's
    /// rate limit) reuses the kept page.
    pub etags: Option<std::path::PathBuf>,
    /// Signs each attempt (AWS SigV4) instead of a credential header.
    pub signer: Option<Signer>,
}

/// Signs a request given its body (each attempt anew: the signature holds
/// the time).
pub type Signer = std::sync::Arc<
    dyn Fn(&mut hyper::Request<Full<Bytes>>, &[u8]) -> Result<(), String> + Send + Sync,
>;

/// Why a call gave no answer.
#[derive(Debug)]
pub enum Failed {
    /// The API refused or does not have it (403 without a rate limit, 404,
    /// 410): for some endpoints, an answer ("not available to this token").
    Refused { status: u16, message: String },
    /// Anything else, after the retries: said with the call.
    Other(String),
}

impl Failed {
    pub fn describe(&self) -> String {
        match self {
            Failed::Refused { status, message } => format!("HTTP {status}: {message}"),
            Failed::Other(m) => m.clone(),
        }
    }
}

impl Api {
    pub fn new(base: &str, authorization: String) -> Api {
        Api::with_tls(base, authorization, None)
    }

    /// With TLS as given (a cluster's own CA, a client certificate) instead
    /// of the platform's roots. An empty `authorization` sends no credential
    /// header (the client certificate is the credential).
    pub fn with_tls(base: &str, authorization: String, tls: Option<rustls::ClientConfig>) -> Api {
        let connector = match (
            tls,
            hyper_rustls::HttpsConnectorBuilder::new().with_native_roots(),
        ) {
            (Some(config), _) => hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(config)
                .https_or_http()
                .enable_http1()
                .build(),
            (None, Ok(b)) => b.https_or_http().enable_http1().build(),
            (None, Err(_)) => hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(
                    rustls::ClientConfig::builder()
                        .with_root_certificates(rustls::RootCertStore::empty())
                        .with_no_client_auth(),
                )
                .https_or_http()
                .enable_http1()
                .build(),
        };
        Api {
            client: hyper_util::client::legacy::Client::builder(
                hyper_util::rt::TokioExecutor::new(),
            )
            .build(connector),
            base: base.trim_end_matches('/').to_string(),
            auth_header: "Authorization",
            authorization,
            max_attempts: 6,
            max_wait: Duration::from_secs(15 * 60),
            backoff: Duration::from_secs(1),
            page_size: "per_page=100",
            etags: None,
            signer: None,
        }
    }

    /// Every page of `path`, merged: a body that is an array is
    /// concatenated; an object has its `field` array concatenated (GitHub's
    /// `{"total_count": …, "secrets": […]}`).
    pub async fn get_all(
        &self,
        path: &str,
        field: Option<&str>,
        tally: &Tally,
    ) -> Result<Value, Failed> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let key = self.page_size.split('=').next().unwrap_or_default();
        let mut url = if path.contains(&format!("{key}=")) {
            format!("{}{path}", self.base)
        } else {
            format!("{}{path}{sep}{}", self.base, self.page_size)
        };
        let mut merged: Option<Value> = None;
        loop {
            let (body, next) = self.send("GET", &url, None, &[], tally).await?;
            Tally::add(&tally.pages, 1);
            let page = page_json("GET", &url, &body)?;
            let items = match (&page, field) {
                (Value::Array(a), _) => a.len(),
                (Value::Object(o), Some(f)) => {
                    o.get(f).and_then(Value::as_array).map_or(0, Vec::len)
                }
                _ => 1,
            };
            Tally::add(&tally.records, items as u64);
            merged = Some(match (merged, page) {
                (None, p) => p,
                (Some(Value::Array(mut a)), Value::Array(b)) => {
                    a.extend(b);
                    Value::Array(a)
                }
                (Some(Value::Object(mut a)), Value::Object(mut b)) => {
                    if let Some(f) = field {
                        let more = b.remove(f).and_then(|v| match v {
                            Value::Array(v) => Some(v),
                            _ => None,
                        });
                        if let (Some(Value::Array(list)), Some(more)) = (a.get_mut(f), more) {
                            list.extend(more);
                        }
                    }
                    Value::Object(a)
                }
                (Some(_), _) => {
                    return Err(Failed::Other(format!(
                        "GET {}: a later page is not shaped like the first",
                        shown(&url)
                    )))
                }
            });
            match next {
                Some(n) => url = n,
                None => return Ok(merged.unwrap_or(Value::Null)),
            }
        }
    }

    /// Every page of a listing that pages in its body (Google's
    /// `nextPageToken`, Microsoft Graph's `@odata.nextLink`, Azure Resource
    /// Manager's `nextLink`, Kubernetes' `metadata.continue`): the `items`
    /// arrays concatenated. `next` is a JSON pointer to the next page: a URL
    /// is followed as is; a token is sent as `param`.
    pub async fn get_items(
        &self,
        path: &str,
        items: &str,
        next: &str,
        param: &str,
        tally: &Tally,
    ) -> Result<Vec<Value>, Failed> {
        let mut url = if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let first = url.clone();
        let mut all = Vec::new();
        loop {
            let (body, _) = self.send("GET", &url, None, &[], tally).await?;
            Tally::add(&tally.pages, 1);
            let page = page_json("GET", &url, &body)?;
            if let Some(list) = page.get(items).and_then(Value::as_array) {
                Tally::add(&tally.records, list.len() as u64);
                all.extend(list.iter().cloned());
            }
            match page
                .pointer(next)
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
            {
                Some(n) if n.starts_with("http://") || n.starts_with("https://") => {
                    url = n.to_string()
                }
                Some(token) => {
                    let sep = if first.contains('?') { '&' } else { '?' };
                    let token = percent_encoding::utf8_percent_encode(
                        token,
                        percent_encoding::NON_ALPHANUMERIC,
                    );
                    url = format!("{first}{sep}{param}={token}");
                }
                None => return Ok(all),
            }
        }
    }

    /// The kept answer of `url`: its ETag, body and next page.
    fn kept(&self, url: &str) -> Option<(String, Bytes, Option<String>)> {
        let (meta, body) = self.kept_paths(url)?;
        let meta: Value = serde_json::from_slice(&std::fs::read(meta).ok()?).ok()?;
        let body = std::fs::read(body).ok()?;
        Some((
            meta.get("etag")?.as_str()?.to_string(),
            Bytes::from(body),
            meta.get("next").and_then(Value::as_str).map(str::to_string),
        ))
    }

    /// Keeps an answer for the next run (a failure to keep is not an error:
    /// the next run asks again in full).
    fn keep(&self, url: &str, etag: &str, body: &Bytes, next: Option<&str>) {
        let Some((meta, file)) = self.kept_paths(url) else {
            return;
        };
        let meta_json =
            serde_json::json!({"url": shown(url), "etag": etag, "next": next}).to_string();
        let (Some(dir), Some(meta_name), Some(body_name)) =
            (meta.parent(), meta.file_name(), file.file_name())
        else {
            return;
        };
        let _ = write::bytes(dir, &body_name.to_string_lossy(), body);
        let _ = write::bytes(dir, &meta_name.to_string_lossy(), meta_json.as_bytes());
    }

    fn kept_paths(&self, url: &str) -> Option<(std::path::PathBuf, std::path::PathBuf)> {
        use sha2::Digest;
        let dir = self.etags.as_ref()?;
        let key = format!("{:x}", sha2::Sha256::digest(url.as_bytes()));
        Some((
            dir.join(format!("{key}.json")),
            dir.join(format!("{key}.body")),
        ))
    }

    /// One call with extra headers (an AWS `X-Amz-Target`), its raw answer.
    pub async fn raw(
        &self,
        method: &'static str,
        path: &str,
        body: Option<Bytes>,
        headers: &[(&'static str, String)],
        tally: &Tally,
    ) -> Result<Bytes, Failed> {
        let url = if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let (answer, _) = self.send(method, &url, body, headers, tally).await?;
        Tally::add(&tally.pages, 1);
        Ok(answer)
    }

    /// Keeps trying as `patience` says.
    pub fn patient(mut self, patience: Patience) -> Api {
        self.max_attempts = patience.max_attempts.max(1);
        self.max_wait = patience.max_wait;
        self.backoff = patience.backoff;
        self
    }

    /// Sends the credential in `header` instead of `Authorization`.
    pub fn with_auth_header(mut self, header: &'static str) -> Api {
        self.auth_header = header;
        self
    }

    /// One call without pagination (Vault's `LIST`, a lookup `POST`): the
    /// answer as JSON.
    pub async fn call(
        &self,
        method: &'static str,
        path: &str,
        body: Option<&Value>,
        tally: &Tally,
    ) -> Result<Value, Failed> {
        let url = format!("{}{path}", self.base);
        let body = body.map(|b| Bytes::from(b.to_string()));
        let (answer, _) = self.send(method, &url, body, &[], tally).await?;
        Tally::add(&tally.pages, 1);
        page_json(method, &url, &answer)
    }

    /// One call, retried and waited as the API says; the body and the next
    /// page's URL.
    async fn send(
        &self,
        method: &'static str,
        url: &str,
        body: Option<Bytes>,
        headers: &[(&'static str, String)],
        tally: &Tally,
    ) -> Result<(Bytes, Option<String>), Failed> {
        Tally::add(&tally.calls, 1);
        let mut attempt = 0u32;
        let mut last = String::new();
        // Rate-limited answers wait and do not use up attempts, up to a bound.
        let mut throttled = 0u32;
        loop {
            attempt += 1;
            Tally::add(&tally.attempts, 1);
            let mut request = hyper::Request::builder()
                .method(method)
                .uri(url)
                .header("Accept", "application/vnd.github+json, application/json")
                .header("User-Agent", concat!("custody/", env!("CARGO_PKG_VERSION")));
            let kept = (method == "GET").then(|| self.kept(url)).flatten();
            if let Some((etag, _, _)) = &kept {
                request = request.header("If-None-Match", etag.as_str());
            }
            if !self.authorization.is_empty() {
                request = request.header(self.auth_header, &self.authorization);
            }
            if body.is_some()
                && !headers
                    .iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                request = request.header("Content-Type", "application/json");
            }
            for (k, v) in headers {
                request = request.header(*k, v.as_str());
            }
            let payload = body.clone().unwrap_or_default();
            let mut request = request
                .body(Full::new(payload.clone()))
                .map_err(|_| Failed::Other(format!("{method} {}: not a valid URL", shown(url))))?;
            if let Some(sign) = &self.signer {
                sign(&mut request, &payload).map_err(|e| {
                    Failed::Other(format!("{method} {}: cannot sign: {e}", shown(url)))
                })?;
            }
            let answer = tokio::time::timeout(Duration::from_secs(60), async {
                let response = self.client.request(request).await?;
                let (parts, body) = response.into_parts();
                let body = http_body_util::Limited::new(body, MAX_BODY).collect().await;
                Ok::<_, hyper_util::client::legacy::Error>((parts, body.map(|b| b.to_bytes())))
            })
            .await;
            let wait: Option<Duration> = match answer {
                Ok(Ok((parts, Ok(body)))) => {
                    let status = parts.status.as_u16();
                    let header = |name: &str| {
                        parts
                            .headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string)
                    };
                    if status == 304 {
                        if let Some((_, body, next)) = kept {
                            Tally::add(&tally.unchanged, 1);
                            return Ok((body, next));
                        }
                    }
                    if (200..300).contains(&status) {
                        let next = header("link").and_then(|l| next_link(&l));
                        if let (Some(etag), "GET") = (header("etag"), method) {
                            self.keep(url, &etag, &body, next.as_deref());
                        }
                        return Ok((body, next));
                    }
                    let remaining = header("x-ratelimit-remaining")
                        .or_else(|| header("x-rate-limit-remaining"));
                    let reset =
                        header("x-ratelimit-reset").or_else(|| header("x-rate-limit-reset"));
                    let retry_after =
                        header("retry-after").and_then(|v| v.trim().parse::<u64>().ok());
                    let message = api_message(&body);
                    // AWS's JSON and XML APIs throttle with a 400 naming it.
                    let aws_throttled = status == 400
                        && (body.windows(10).any(|w| w == b"Throttling")
                            || body.windows(22).any(|w| w == b"TooManyRequestsExcepti"));
                    let limited = aws_throttled
                        || status == 429
                        || (status == 403
                            && (remaining.as_deref() == Some("0")
                                || retry_after.is_some()
                                || message.to_ascii_lowercase().contains("rate limit")));
                    if limited {
                        Tally::add(&tally.throttles, 1);
                        let until_reset = reset
                            .and_then(|r| r.trim().parse::<u64>().ok())
                            .map(|r| Duration::from_secs(r.saturating_sub(now()) + 1));
                        // GitHub: without a header, wait at least a minute.
                        let wait = retry_after
                            .map(Duration::from_secs)
                            .or(until_reset)
                            .unwrap_or_else(|| {
                                Duration::from_secs(60)
                                    .max(self.backoff * 2u32.pow(throttled.min(10)))
                            });
                        throttled += 1;
                        attempt -= 1; // a wait for the limit is not a failed attempt
                        if throttled > MAX_RATE_LIMIT_WAITS {
                            return Err(Failed::Other(format!(
                                "{method} {}: still rate limited (HTTP {status}) after {MAX_RATE_LIMIT_WAITS} waits",
                                shown(url)
                            )));
                        }
                        if wait > self.max_wait {
                            return Err(Failed::Other(format!(
                                "{method} {}: rate limited (HTTP {status}) for {} s, longer than the longest wait ({} s)",
                                shown(url),
                                wait.as_secs(),
                                self.max_wait.as_secs()
                            )));
                        }
                        Some(wait)
                    } else if status >= 500 {
                        last = format!("HTTP {status}: {message}");
                        None
                    } else {
                        return Err(Failed::Refused { status, message });
                    }
                }
                Ok(Ok((_, Err(e)))) => {
                    last = format!("the answer was cut off: {e}");
                    None
                }
                Ok(Err(e)) => {
                    last = crate::chain(&e);
                    None
                }
                Err(_) => {
                    last = "no answer within 60 s".into();
                    None
                }
            };
            if wait.is_none() && attempt >= self.max_attempts {
                return Err(Failed::Other(format!(
                    "{method} {}: {last} (after {attempt} attempts)",
                    shown(url)
                )));
            }
            let wait = wait.unwrap_or_else(|| jitter(self.backoff * 2u32.pow(attempt.min(10) - 1)));
            tokio::time::sleep(wait).await;
        }
    }
}

/// What one listing is: its REST path, the file it is saved as, the array
/// field a paged object answer carries, and whether a refusal is an answer.
pub struct Listing {
    path: String,
    file: String,
    field: Option<&'static str>,
    optional: bool,
}

/// Reads the listing and writes it whole, or records why not. Returns the
/// answer.
pub async fn fetch(api: &Api, l: &Listing, dir: &Path, tally: &Tally) -> Option<Value> {
    match api.get_all(&l.path, l.field, tally).await {
        Ok(v) => {
            write::json(dir, &l.file, &v, tally);
            Some(v)
        }
        Err(Failed::Refused { status, message })
            if l.optional && matches!(status, 403 | 404 | 410) =>
        {
            tally.unavailable(
                format!("GET {}", l.path),
                format!("HTTP {status}: {message}"),
                &l.file,
            );
            None
        }
        Err(e) => {
            tally.fail(format!("GET {}", l.path), e.describe());
            None
        }
    }
}

pub fn listing(path: String, file: String, field: Option<&'static str>, optional: bool) -> Listing {
    Listing {
        path,
        file,
        field,
        optional,
    }
}

/// An OAuth 2.0 token request (`application/x-www-form-urlencoded`, no
/// credential header): the `access_token` of the answer. Errors carry the
/// endpoint's `error` and `error_description`, never the form.
pub async fn oauth_token(url: &str, form: &[(&str, String)]) -> Result<String, String> {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    let body: Vec<String> = form
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, NON_ALPHANUMERIC)))
        .collect();
    let api = Api::new("", String::new());
    let request = hyper::Request::builder()
        .method("POST")
        .uri(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Accept", "application/json")
        .body(Full::new(Bytes::from(body.join("&"))))
        .map_err(|_| format!("{url} is not a valid URL"))?;
    let answer = tokio::time::timeout(Duration::from_secs(60), async {
        let response = api.client.request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.map(|b| b.to_bytes());
        Ok::<_, hyper_util::client::legacy::Error>((status, body))
    })
    .await
    .map_err(|_| format!("no answer from {} within 60 s", shown(url)))?
    .map_err(|e| crate::chain(&e))?;
    let (status, body) = answer;
    let v: Value = body
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    match v.get("access_token").and_then(Value::as_str) {
        Some(t) if status == 200 => Ok(t.to_string()),
        _ => {
            let field = |k: &str| {
                v.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .chars()
                    .take(200)
                    .collect::<String>()
            };
            Err(format!(
                "HTTP {status}: {} {}",
                field("error"),
                field("error_description")
            )
            .trim()
            .to_string())
        }
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Between half and all of `d`, so clients that failed together do not
/// retry together.
fn jitter(d: Duration) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    d / 2 + d.mul_f64(f64::from(nanos % 1000) / 2000.0)
}

/// The path and query of a URL (the host is the API's; a page cursor is no secret).
fn shown(url: &str) -> &str {
    url.find("://")
        .and_then(|i| url[i + 3..].find('/').map(|j| &url[i + 3 + j..]))
        .unwrap_or(url)
}

/// The API's own error message (`{"message": …}` for GitHub,
/// `errorSummary` for Okta, `__type` and `message` for AWS's JSON APIs,
/// `<Code>` and `<Message>` for its XML ones), cut short; else nothing.
fn api_message(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = |k: &str| v.get(k).and_then(Value::as_str);
    let xml = |tag: &str| -> Option<String> {
        let t = std::str::from_utf8(body).ok()?;
        let open = format!("<{tag}>");
        let start = t.find(&open)? + open.len();
        Some(t[start..start + t[start..].find('<')?].to_string())
    };
    let message = text("message")
        .or_else(|| text("Message"))
        .or_else(|| text("errorSummary"))
        .map(str::to_string)
        .or_else(|| xml("Message"))
        .unwrap_or_default();
    let code = text("__type")
        .map(|t| t.rsplit('#').next().unwrap_or(t).to_string())
        .or_else(|| xml("Code"));
    let m = match code {
        Some(c) if !message.is_empty() => format!("{c}: {message}"),
        Some(c) => c,
        None => message,
    };
    m.chars().take(200).collect()
}

/// An answer as JSON, or where it stops being JSON.
fn page_json(method: &str, url: &str, body: &[u8]) -> Result<Value, Failed> {
    serde_json::from_slice(body).map_err(|e| {
        Failed::Other(format!(
            "{method} {}: the answer is not JSON (line {}, column {}): {}",
            shown(url),
            e.line(),
            e.column(),
            strip_position(&e)
        ))
    })
}

fn strip_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.find(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// The `rel="next"` URL of a `Link` header.
pub fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers_name_the_next_page() {
        let l = r#"<https://api.github.com/organizations/1/members?per_page=100&page=2>; rel="next", <https://api.github.com/organizations/1/members?per_page=100&page=5>; rel="last""#;
        assert_eq!(
            next_link(l).as_deref(),
            Some("https://api.github.com/organizations/1/members?per_page=100&page=2")
        );
        assert_eq!(next_link(r#"<https://x/a?page=1>; rel="prev""#), None);
        // Okta puts `self` first.
        let okta = r#"<https://acme.okta.com/api/v1/users?limit=200>; rel="self", <https://acme.okta.com/api/v1/users?after=00u1&limit=200>; rel="next""#;
        assert_eq!(
            next_link(okta).as_deref(),
            Some("https://acme.okta.com/api/v1/users?after=00u1&limit=200")
        );
    }

    #[test]
    fn errors_show_the_path_not_the_host() {
        assert_eq!(
            shown("https://api.github.com/orgs/acme/members?page=2"),
            "/orgs/acme/members?page=2"
        );
    }

    #[test]
    fn jitter_stays_between_half_and_all() {
        let d = Duration::from_millis(800);
        let j = jitter(d);
        assert!(j >= d / 2 && j <= d, "{j:?}");
    }
}
