//! End-to-end: the web UI of `custody serve` in a real browser — Debian's
//! headless Chromium driven through chromedriver by Selenium (Python, from
//! PyPI into a virtual environment; the browser and driver are the system's,
//! nothing is downloaded). `.ci/run` installs `chromium` and
//! `chromium-driver` when missing; outside CI the test skips with a notice
//! when they are not there, in CI it fails.
//!
//! The test signs in with the one-time link, searches the planted key by
//! keyboard, checks its six surfaces and terminated owner, opens the path
//! from a role-chained key to the restricted secret, sorts and exports the
//! findings, runs a saved question found by searching, opens the diff after a
//! second ingest, signs out and in with the token; every page is grepped for
//! the planted secrets, audited for labels and names, and the console for CSP
//! violations and script errors. Screenshots go to `CUSTODY_SCREENSHOTS`
//! (default: a folder under the target directory).

mod common;
use common::Env;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

const SELENIUM: &str = "selenium==4.27.1";

fn tool(var: &str, default: &str) -> Option<PathBuf> {
    let p = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    p.exists().then_some(p)
}

/// `custody serve` on an ephemeral port, with its login link.
struct Server {
    child: Child,
    addr: String,
    login: String,
}

impl Server {
    fn start(env: &Env, token_file: &Path) -> Server {
        let mut child = env
            .cmd()
            .args(["serve", "--listen", "127.0.0.1:0", "--token-file"])
            .arg(token_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let login = first
            .split_once("open ")
            .map(|(_, l)| l.trim().to_string())
            .unwrap_or_else(|| panic!("no login link in `{first}`"));
        assert!(login.contains("/ui/#login="), "{login}");
        let addr = login
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_string();
        std::thread::spawn(move || for _ in lines {});
        Server { child, addr, login }
    }

    /// One raw HTTP/1.1 request: status, headers (lower-cased), body.
    fn raw(&self, head: &str, body: &str) -> (u16, String, String) {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        write!(
            s,
            "{head}\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        let (h, b) = raw.split_once("\r\n\r\n").unwrap();
        let status = h.split(' ').nth(1).unwrap().parse().unwrap();
        (status, h.to_ascii_lowercase(), b.to_string())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        common::terminate(&mut self.child);
    }
}

/// Every secret value the synthetic company planted: the secret access keys
/// in the Secrets Manager values and the workstation files.
fn planted_secrets(out: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![out.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                if !p.ends_with(".git") {
                    stack.push(p);
                }
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&p) else {
                continue;
            };
            for marker in ["AWS_SECRET_ACCESS_KEY", "aws_secret_access_key"] {
                for part in text.split(marker).skip(1) {
                    let v: String = part
                        .trim_start_matches(['"', ':', '=', ' ', '\\'])
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '/' || *c == '+')
                        .collect();
                    if v.len() == 40 && !found.contains(&v) {
                        found.push(v);
                    }
                }
            }
        }
    }
    found
}

/// The first file under `dir` whose text `wanted` accepts.
fn find_file(dir: &Path, wanted: &dyn Fn(&str) -> bool) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = find_file(&p, wanted) {
                return Some(f);
            }
        } else if std::fs::read_to_string(&p).is_ok_and(|t| wanted(&t)) {
            return Some(p);
        }
    }
    None
}

#[test]
fn the_web_ui_in_headless_chromium() {
    let (Some(chromium), Some(driver)) = (
        tool("CUSTODY_CHROMIUM", "/usr/bin/chromium"),
        tool("CUSTODY_CHROMEDRIVER", "/usr/bin/chromedriver"),
    ) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs Debian's chromium and chromium-driver (.ci/run installs them)"
        );
        eprintln!("skipping the browser test: install chromium and chromium-driver (apt-get install chromium chromium-driver)");
        return;
    };
    let env = Env::new();
    let (out, answers) = env.synthetic(200);
    env.scan_snapshot(&out);
    env.run(&["--quiet", "findings", "--record"]).ok();
    let scenario = &answers["scenarios"][0];
    let key = scenario["access_key_id"].as_str().unwrap();
    let owner = scenario["owner_email"].as_str().unwrap();
    let chain = answers["expected"]["reachability"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "role-chain-to-restricted-secret")
        .expect("the role chain to the restricted secret is planted");
    let chain_key = chain["access_key_id"].as_str().unwrap();
    let secret_arn = chain["resource"].as_str().unwrap();
    let secrets = planted_secrets(&out);
    assert!(!secrets.is_empty(), "no planted secret found to grep for");

    // A second ingest: the workstation file holding the planted key and its
    // secret copied into one more place, and the findings recorded again —
    // the History page's diff shows the new surface.
    let original = find_file(&out.join("workstations"), &|text| {
        text.contains(key) && text.to_ascii_lowercase().contains("aws_secret_access_key")
    })
    .expect("the planted key and its secret are in a workstation file");
    let name = original.file_name().unwrap();
    let parent = original.parent().unwrap().file_name().unwrap();
    let leak = env.path("second/deploy").join(parent);
    std::fs::create_dir_all(&leak).unwrap();
    std::fs::copy(&original, leak.join(name)).unwrap();
    let leak = env.path("second");
    env.run(&["--quiet", "scan", "--ingest", leak.to_str().unwrap()])
        .ok();
    env.run(&["--quiet", "findings", "--record"]).ok();

    let token_file = env.path("api-token");
    let server = Server::start(&env, &token_file);
    let token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_string();

    // Headers, sessions and CSRF, by hand.
    let (status, head, _) = server.raw("GET /ui/ HTTP/1.1", "");
    assert_eq!(status, 200);
    for h in [
        "content-security-policy: default-src 'none'; script-src 'self'",
        "frame-ancestors 'none'",
        "x-content-type-options: nosniff",
        "referrer-policy: no-referrer",
        "x-frame-options: deny",
    ] {
        assert!(head.contains(h), "missing `{h}` in\n{head}");
    }
    assert!(!head.contains("unsafe-inline"));
    let (status, head, _) = server.raw(
        &format!("GET /v1/stats HTTP/1.1\r\nAuthorization: Bearer {token}"),
        "",
    );
    assert_eq!(status, 200);
    assert!(head.contains("cache-control: no-store"), "{head}");
    // A session from the token; a non-GET without its CSRF header is refused.
    let (status, head, body) = server.raw(
        "POST /ui/session HTTP/1.1\r\nContent-Type: application/json",
        &format!(r#"{{"token": "{token}"}}"#),
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        head.contains("httponly") && head.contains("samesite=strict"),
        "{head}"
    );
    assert!(!head.contains(&token) && !body.contains(&token));
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string();
    let csrf = serde_json::from_str::<Value>(&body).unwrap()["csrf"]
        .as_str()
        .unwrap()
        .to_string();
    let query = r#"{"query": "MATCH (n:Credential) RETURN count(n) AS n"}"#;
    let (status, _, _) = server.raw(
        &format!("POST /v1/query HTTP/1.1\r\nCookie: {cookie}\r\nContent-Type: application/json"),
        query,
    );
    assert_eq!(status, 403, "a cookie POST without the CSRF header");
    let (status, _, body) = server.raw(
        &format!("POST /v1/query HTTP/1.1\r\nCookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\nContent-Type: application/json"),
        query,
    );
    assert_eq!(status, 200, "{body}");
    let (status, _, _) = server.raw(&format!("GET /v1/stats HTTP/1.1\r\nCookie: {cookie}"), "");
    assert_eq!(status, 200, "a cookie GET");
    // A form post (not JSON) cannot sign in; nor can a wrong token.
    let (status, _, _) = server.raw(
        "POST /ui/session HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded",
        &format!("token={token}"),
    );
    assert_eq!(status, 415);
    let (status, _, _) = server.raw(
        "POST /ui/session HTTP/1.1\r\nContent-Type: application/json",
        r#"{"token": "0000"}"#,
    );
    assert_eq!(status, 401);

    // The browser.
    let python = common::python_venv("selenium-venv-4.27.1", SELENIUM);
    let shots = std::env::var_os("CUSTODY_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots"));
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/ui.py");
    let run = std::process::Command::new(python)
        .arg(script)
        .args([
            &server.login,
            &token,
            key,
            owner,
            &format!("{chain_key}|{secret_arn}"),
            shots.to_str().unwrap(),
        ])
        .env("CUSTODY_CHROMIUM", &chromium)
        .env("CUSTODY_CHROMEDRIVER", &driver)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "the browser run failed:\n{stderr}\n{stdout}"
    );
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let c = &v["checks"];

    // The one-time code left the address bar; the cookie is HttpOnly.
    let url = c["url_after_login"].as_str().unwrap();
    assert!(!url.contains("login="), "{url}");
    assert_eq!(c["cookie_http_only"], true);
    assert!(!c["cookie_visible_to_script"]
        .as_str()
        .unwrap()
        .contains("custody_session"));
    // The login link is used up.
    let code = server.login.split("login=").nth(1).unwrap();
    let (status, _, _) = server.raw(
        "POST /ui/session HTTP/1.1\r\nContent-Type: application/json",
        &format!(r#"{{"code": "{code}"}}"#),
    );
    assert_eq!(status, 401, "the one-time code worked twice");

    // Search → identity: six surfaces, the owner who left.
    assert!(
        c["typeahead_groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g.as_str().unwrap().eq_ignore_ascii_case("credential")),
        "{}",
        c["typeahead_groups"]
    );
    assert!(c["typeahead_first"].as_str().unwrap().contains(key));
    assert!(c["active_descendant"].as_str().unwrap().starts_with("opt-"));
    let heading = c["surfaces_heading"].as_str().unwrap();
    let n: usize = heading
        .split('(')
        .nth(1)
        .and_then(|x| x.split(' ').next())
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    // IAM, git history, a GitHub Actions secret, a Kubernetes Secret,
    // Secrets Manager and MCP configs (two of them after the second ingest).
    assert_eq!(n, 6, "{heading}");
    let owner_panel = c["owner_panel"].as_str().unwrap();
    assert!(owner_panel.contains(owner), "{owner_panel}");
    assert!(owner_panel.contains("left"), "{owner_panel}");

    // The path to the restricted secret is drawn and highlighted.
    assert!(c["highlighted_edges"].as_u64().unwrap() >= 2, "{c}");

    // The findings CSV.
    let csv = c["findings_csv"].as_str().unwrap();
    assert!(
        csv.starts_with("severity,rule,owasp,title,identity,system,owner,owner_left,environment"),
        "{}",
        &csv[..csv.len().min(300)]
    );
    assert!(csv.lines().count() > 5);
    assert_eq!(c["sorted_by_keyboard"], true);

    // The saved question, found by searching, ran.
    let rows = c["saved_rows"].as_str().unwrap();
    let n: usize = rows
        .split(' ')
        .next()
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    assert!(n >= 6, "{rows}");

    // The diff after the second ingest shows the key's new surface.
    let history = c["history"].as_str().unwrap();
    assert!(history.contains("New surfaces"), "{history}");
    assert!(history.contains(key), "{history}");
    assert_eq!(c["token_login"], true);

    // Every page: no secret, no token; accessible; no CSP violation or error.
    let pages = v["pages"].as_object().unwrap();
    for page in [
        "home", "identity", "paths", "findings", "alerts", "person", "people", "query", "history",
        "login",
    ] {
        assert!(pages.contains_key(page), "page {page} was not rendered");
    }
    for (name, p) in pages {
        let all = format!("{}{}", p["text"], p["html"]);
        for s in &secrets {
            assert!(
                !all.contains(s.as_str()),
                "page {name} shows a planted secret"
            );
        }
        assert!(!all.contains(&token), "page {name} shows the API token");
    }
    assert!(stdout.len() > 10_000);
    for s in &secrets {
        assert!(!stdout.contains(s.as_str()) && !stderr.contains(s.as_str()));
    }
    let a11y: Vec<&str> = v["a11y"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(a11y.is_empty(), "accessibility problems: {a11y:#?}");
    let console: Vec<&str> = v["console"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .filter(|m| {
            // An answer that does not apply (blast radius of a non-AWS
            // identity) is a 400 the page explains; anything else is a bug.
            !(m.contains("Failed to load resource") && (m.contains("400") || m.contains("404")))
        })
        .collect();
    assert!(console.is_empty(), "browser console errors: {console:#?}");
}
