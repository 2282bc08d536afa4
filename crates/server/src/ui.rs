//! The web UI's side of `custody serve`: its embedded assets under `/ui/`,
//! browser sessions, and the security headers every response carries.
//!
//! A browser signs in once — with the API token typed into the login page,
//! or with the one-time code of the link `serve` prints (in the URL
//! fragment, so it never reaches a server log; the page removes it) — and
//! gets an `HttpOnly`, `SameSite=Strict` session cookie holding a random
//! session id. The token itself is never stored in the browser or put in a
//! URL. Anything but a GET made with the cookie must carry the session's
//! `X-CSRF-Token` header.

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The session cookie's name.
pub const COOKIE: &str = "custody_session";
/// The header a cookie-authenticated request other than a GET must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a browser session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// How long the one-time login code `serve` prints stays valid.
pub const CODE_TTL: Duration = Duration::from_secs(24 * 3600);
/// At most this many live sessions; the oldest is dropped beyond it.
pub const MAX_SESSIONS: usize = 256;

struct Session {
    csrf: String,
    expires: Instant,
}

/// The browser sessions and the one-time login code.
pub struct Sessions {
    token: Vec<u8>,
    /// Mark the cookie `Secure` (served off loopback, behind TLS).
    secure: bool,
    live: Mutex<HashMap<String, Session>>,
    code: Mutex<Option<(String, Instant)>>,
}

/// 32 random bytes, hex.
pub fn random_hex() -> String {
    let mut b = [0u8; 32];
    if getrandom::getrandom(&mut b).is_err() {
        // No randomness, no sessions: an id nobody can guess or match.
        return String::new();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Sessions {
    pub fn new(token: &str, code: Option<String>, secure: bool) -> Sessions {
        Sessions {
            token: token.as_bytes().to_vec(),
            secure,
            live: Mutex::new(HashMap::new()),
            code: Mutex::new(
                code.filter(|c| !c.is_empty())
                    .map(|c| (c, Instant::now() + CODE_TTL)),
            ),
        }
    }

    /// Whether `given` is the API token (constant time).
    pub fn is_token(&self, given: &str) -> bool {
        crate::http::same(given.as_bytes(), &self.token)
    }

    /// Uses up the one-time code if `given` is it.
    fn take_code(&self, given: &str) -> bool {
        let Ok(mut code) = self.code.lock() else {
            return false;
        };
        match code.as_ref() {
            Some((c, until))
                if Instant::now() < *until && crate::http::same(given.as_bytes(), c.as_bytes()) =>
            {
                *code = None;
                true
            }
            _ => false,
        }
    }

    /// Starts a session: (session id, CSRF token).
    fn start(&self) -> Option<(String, String)> {
        let (id, csrf) = (random_hex(), random_hex());
        if id.is_empty() || csrf.is_empty() {
            return None;
        }
        let mut live = self.live.lock().ok()?;
        let now = Instant::now();
        live.retain(|_, s| s.expires > now);
        if live.len() >= MAX_SESSIONS {
            if let Some(oldest) = live
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| k.clone())
            {
                live.remove(&oldest);
            }
        }
        live.insert(
            id.clone(),
            Session {
                csrf: csrf.clone(),
                expires: now + SESSION_TTL,
            },
        );
        Some((id, csrf))
    }

    /// The CSRF token of the live session `id`.
    fn csrf(&self, id: &str) -> Option<String> {
        let live = self.live.lock().ok()?;
        // Looked up by the id itself: a HashMap probe, then compared again in
        // constant time.
        let s = live.get(id)?;
        (s.expires > Instant::now()).then(|| s.csrf.clone())
    }

    fn end(&self, id: &str) {
        if let Ok(mut live) = self.live.lock() {
            live.remove(id);
        }
    }
}

/// The session id in the request's cookie.
fn cookie(headers: &HeaderMap) -> Option<String> {
    for v in headers.get_all(header::COOKIE) {
        let Ok(v) = v.to_str() else { continue };
        for part in v.split(';') {
            if let Some((k, val)) = part.trim().split_once('=') {
                if k == COOKIE && !val.is_empty() {
                    return Some(val.to_string());
                }
            }
        }
    }
    None
}

/// How a request is authenticated: the bearer token, or a browser session
/// (and, for anything but GET and HEAD, its CSRF header).
pub enum Auth {
    Ok,
    Missing,
    Csrf,
}

pub fn check(sessions: &Sessions, request: &Request) -> Auth {
    let headers = request.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    if let Some(t) = bearer {
        return match sessions.is_token(t) {
            true => Auth::Ok,
            false => Auth::Missing,
        };
    }
    let Some(id) = cookie(headers) else {
        return Auth::Missing;
    };
    let Some(csrf) = sessions.csrf(&id) else {
        return Auth::Missing;
    };
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return Auth::Ok;
    }
    let given = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match crate::http::same(given.as_bytes(), csrf.as_bytes()) {
        true => Auth::Ok,
        false => Auth::Csrf,
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

fn session_cookie(id: &str, max_age: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("custody_session=; Path=/; Max-Age=0"))
}

/// `POST /ui/session` with `{"token": …}` or `{"code": …}` (JSON only, so
/// a cross-site form cannot send it): starts a session.
pub async fn login(State(s): State<Arc<Sessions>>, headers: HeaderMap, bytes: Bytes) -> Response {
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json_body {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the token as JSON: {\"token\": \"…\"}",
        );
    }
    #[derive(serde::Deserialize)]
    struct Body {
        token: Option<String>,
        code: Option<String>,
    }
    let Ok(b) = serde_json::from_slice::<Body>(&bytes) else {
        return error(
            StatusCode::BAD_REQUEST,
            "the body must be {\"token\": \"…\"} or {\"code\": \"…\"}",
        );
    };
    let ok = match (&b.token, &b.code) {
        (Some(t), _) => s.is_token(t.trim()),
        (None, Some(c)) => s.take_code(c.trim()),
        _ => false,
    };
    if !ok {
        tracing::warn!("a browser sign-in was refused");
        return error(
            StatusCode::UNAUTHORIZED,
            match b.code.is_some() && b.token.is_none() {
                true => "this login link was already used or has expired: sign in with the API token (its file is named when `custody serve` starts)",
                false => "wrong token: paste the contents of the token file `custody serve` names at start",
            },
        );
    }
    let Some((id, csrf)) = s.start() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "cannot start a session");
    };
    let mut r = Json(json!({"csrf": csrf})).into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(&id, SESSION_TTL.as_secs(), s.secure),
    );
    r
}

/// `GET /ui/session`: the page asks whether it is signed in (and gets the
/// CSRF token again after a reload).
pub async fn whoami(State(s): State<Arc<Sessions>>, headers: HeaderMap) -> Response {
    match cookie(&headers).and_then(|id| s.csrf(&id)) {
        Some(csrf) => Json(json!({"csrf": csrf})).into_response(),
        None => error(StatusCode::UNAUTHORIZED, "not signed in"),
    }
}

/// `DELETE /ui/session`: signs out (needs the CSRF header).
pub async fn logout(State(s): State<Arc<Sessions>>, request: Request) -> Response {
    let id = cookie(request.headers());
    match (check(&s, &request), id) {
        (Auth::Ok, Some(id)) => {
            s.end(&id);
            let mut r = StatusCode::NO_CONTENT.into_response();
            r.headers_mut()
                .insert(header::SET_COOKIE, session_cookie("", 0, s.secure));
            r
        }
        (Auth::Csrf, _) => error(StatusCode::FORBIDDEN, "missing or wrong X-CSRF-Token"),
        _ => error(StatusCode::UNAUTHORIZED, "not signed in"),
    }
}

/// `/` → the UI.
pub async fn root() -> Response {
    Redirect::to("/ui/").into_response()
}

/// An embedded asset under `/ui/`; any other path under it is the page
/// (the UI routes by fragment, so this is only for typed URLs).
pub async fn asset(request: Request) -> Response {
    let path = request.uri().path().trim_start_matches("/ui/");
    let (mime, body) = custody_web::asset(path).unwrap_or(custody_web::INDEX_ASSET);
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

/// The page's content security policy: nothing inline, nothing from
/// elsewhere, never framed.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Adds the security headers to every response; API answers are never
/// cached.
pub async fn headers(request: Request, next: Next) -> Response {
    let api = {
        let p = request.uri().path();
        p.starts_with("/v1") || p.starts_with("/ui/session") || p.starts_with("/mcp")
    };
    let mut r = next.run(request).await;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    if api {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_login_code_works_once() {
        let s = Sessions::new("t", Some("abc".into()), false);
        assert!(!s.take_code("abd"));
        assert!(s.take_code("abc"));
        assert!(!s.take_code("abc"));
        assert!(s.is_token("t") && !s.is_token("T"));
    }

    #[test]
    fn a_session_needs_its_csrf_token_for_anything_but_get() {
        let s = Sessions::new("t", None, false);
        let (id, csrf) = s.start().unwrap();
        let req = |method: &str, csrf: Option<&str>| {
            let mut b = axum::http::Request::builder()
                .method(method)
                .uri("/v1/query")
                .header(header::COOKIE, format!("other=1; {COOKIE}={id}"));
            if let Some(c) = csrf {
                b = b.header(CSRF_HEADER, c);
            }
            b.body(axum::body::Body::empty()).unwrap()
        };
        assert!(matches!(check(&s, &req("GET", None)), Auth::Ok));
        assert!(matches!(check(&s, &req("POST", None)), Auth::Csrf));
        assert!(matches!(check(&s, &req("POST", Some("x"))), Auth::Csrf));
        assert!(matches!(check(&s, &req("POST", Some(&csrf))), Auth::Ok));
        s.end(&id);
        assert!(matches!(check(&s, &req("GET", None)), Auth::Missing));
    }

    #[test]
    fn a_cookie_is_secure_off_loopback() {
        let v = session_cookie("x", 10, true);
        assert!(v.to_str().unwrap().ends_with("; Secure"));
        assert!(v.to_str().unwrap().contains("HttpOnly; SameSite=Strict"));
    }
}
