//! End-to-end: the network surfaces. `custody mcp` (stdio) and `custody serve`
//! (HTTP API and MCP over streamable HTTP) driven by real clients: the official
//! Python MCP SDK (`mcp`, installed into a virtual environment under the target
//! folder on first run) and plain HTTP/1.1 requests, with and without the token.

mod common;
use common::Env;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const MCP_SDK: &str = "mcp==2.3.0";

/// A Python with the MCP SDK (see [`common::python_venv`]).
fn python_with_mcp() -> PathBuf {
    common::python_venv("mcp-venv-2.3.0", MCP_SDK)
}

/// Runs the MCP client script (`stdio BINARY DB KEY` or `http URL TOKEN KEY`).
fn mcp_client(env: &Env, args: &[&str]) -> (bool, String, String) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/client.py");
    let run = Command::new(python_with_mcp())
        .arg(script)
        .args(args)
        .env("CUSTODY_HOME", env.path("home"))
        .output()
        .unwrap();
    (
        run.status.success(),
        String::from_utf8_lossy(&run.stdout).to_string(),
        String::from_utf8_lossy(&run.stderr).to_string(),
    )
}

/// What the client script prints, checked the same for both transports.
fn check_mcp_answers(stdout: &str, key: &str, owner: &str, stale: &[String]) {
    let v: Value = serde_json::from_str(stdout).unwrap();
    // One definition of stale: the saved question says what `custody stale` says.
    assert_eq!(common::credentials_of(&v["stale"]), stale, "{}", v["stale"]);
    assert_eq!(v["server"], "custody");
    for tool in [
        "ask",
        "blast_radius",
        "get_identity",
        "list_alerts",
        "list_findings",
        "owner_of",
        "response_plan",
        "run_query",
        "search_identities",
        "usage_profile",
        "what_changed",
        "who_can_reach",
    ] {
        assert!(
            v["tools"].as_array().unwrap().iter().any(|t| t == tool),
            "{tool}: {}",
            v["tools"]
        );
    }
    assert!(v["blast_radius"]["resources"]
        .as_array()
        .is_some_and(|r| !r.is_empty()));
    // The planted key is used every day in the synthetic CloudTrail.
    assert!(
        v["usage"]["profiles"][0]["profile"]["events"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{}",
        v["usage"]
    );
    assert!(v["alerts"]
        .as_array()
        .is_some_and(|a| !a.is_empty() && a.iter().all(|x| x["severity"] != "medium")));
    assert_eq!(v["query"]["rows"][0]["owner"], format!("email:{owner}"));
    assert!(v["write"]["error"].as_str().unwrap().contains("read-only"));
    assert!(v["surfaces"]["row_count"].as_u64().unwrap() >= 6);
    assert_eq!(
        v["identity"]["node"]["key"],
        format!("aws-access-key:{key}")
    );
    assert_eq!(
        v["findings"]["findings"][0]["rule"], "secret-in-git-history",
        "{}",
        v["findings"]
    );
}

/// The secret access key planted in the Secrets Manager value the scan read:
/// no answer may carry it.
fn planted_secret(out: &Path) -> String {
    let sm_dir = out.join("secretsmanager-values");
    let sm_file = std::fs::read_dir(sm_dir.read_dir().unwrap().next().unwrap().unwrap().path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let sm: Value = serde_json::from_slice(&std::fs::read(sm_file).unwrap()).unwrap();
    let inner: Value = serde_json::from_str(sm["SecretString"].as_str().unwrap()).unwrap();
    let secret = inner["AWS_SECRET_ACCESS_KEY"].as_str().unwrap();
    assert_eq!(secret.len(), 40);
    secret.to_string()
}

#[test]
fn an_mcp_client_lists_tools_and_gets_answers_never_secrets() {
    let env = Env::new();
    let (out, answers) = env.synthetic(200);
    env.scan_snapshot(&out);
    let key = answers["scenarios"][0]["access_key_id"].as_str().unwrap();
    let owner = answers["scenarios"][0]["owner_email"].as_str().unwrap();
    let db = env.db();
    let (ok, stdout, stderr) = mcp_client(
        &env,
        &[
            "stdio",
            env!("CARGO_BIN_EXE_custody"),
            db.to_str().unwrap(),
            key,
        ],
    );
    assert!(ok, "client failed: {stderr}\n{stdout}");
    check_mcp_answers(&stdout, key, owner, &common::stale_keys(&env));
    assert!(
        !stdout.contains(&planted_secret(&out)),
        "an MCP answer contains the secret"
    );
}

/// `custody serve` on an ephemeral port; killed (SIGTERM) when dropped.
struct Server {
    child: Child,
    addr: String,
    token: String,
}

impl Server {
    fn start(env: &Env) -> Server {
        let token_file = env.path("api-token");
        let mut child = env
            .cmd()
            .args(["serve", "--listen", "127.0.0.1:0", "--lazy", "--token-file"])
            .arg(&token_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let addr = first
            .split("http://")
            .nth(1)
            .and_then(|s| s.split('/').next())
            .unwrap_or_else(|| panic!("no address in `{first}`"))
            .to_string();
        let banner: Vec<String> = lines.by_ref().take(2).map(|l| l.unwrap()).collect();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let token = std::fs::read_to_string(&token_file)
            .unwrap()
            .trim()
            .to_string();
        assert_eq!(token.len(), 64);
        for line in std::iter::once(&first).chain(&banner) {
            assert!(!line.contains(&token), "the token was printed: {line}");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        Server { child, addr, token }
    }

    /// One HTTP/1.1 request; returns the status and the body as JSON.
    fn request(&self, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        // A body only where the method takes one, and the request in one
        // write: a server that answers and closes with request bytes still
        // unread makes the kernel reset the connection, and the client may
        // then lose the answer (seen once on CI, a GET with a body sent in
        // pieces).
        let body = if matches!(method, "POST" | "PUT" | "PATCH") {
            body
        } else {
            ""
        };
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        s.write_all(request.as_bytes()).unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        let (head, rest) = raw.split_once("\r\n\r\n").unwrap();
        let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
        let v = serde_json::from_str(rest).unwrap_or(Value::String(rest.to_string()));
        (status, v)
    }

    fn get(&self, path: &str) -> (u16, Value) {
        self.request("GET", path, Some(&self.token.clone()), "")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        common::terminate(&mut self.child);
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn the_http_api_answers_with_the_token_and_refuses_without() {
    let env = Env::new();
    let (out, answers) = env.synthetic(200);
    env.scan_snapshot(&out);
    let key = answers["scenarios"][0]["access_key_id"].as_str().unwrap();
    let owner = answers["scenarios"][0]["owner_email"].as_str().unwrap();
    let resource = answers["expected"]["reachability"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["reachable"] == true)
        .unwrap()["resource"]
        .as_str()
        .unwrap();
    let server = Server::start(&env);
    let mut seen = String::new();

    // Health and the API description need no token; everything else does.
    let (status, v) = server.request("GET", "/v1/health", None, "");
    assert_eq!((status, v["status"].as_str()), (200, Some("ok")));
    let (status, openapi) = server.request("GET", "/v1/openapi.json", None, "");
    assert_eq!(status, 200);
    assert_eq!(openapi["openapi"], "3.1.0");
    for path in ["/v1/stats", "/v1/ask", &format!("/v1/nodes/{key}")] {
        let (status, v) = server.request("GET", path, None, "");
        assert_eq!(status, 401, "{path} without a token: {v}");
        assert!(v["error"].as_str().unwrap().contains("bearer token"));
        let (status, _) = server.request("GET", path, Some(&"0".repeat(64)), "");
        assert_eq!(status, 401, "{path} with a wrong token");
    }
    let (status, _) = server.request(
        "POST",
        "/v1/query",
        None,
        r#"{"query": "MATCH (n) RETURN n"}"#,
    );
    assert_eq!(status, 401);

    // With the token.
    let (status, stats) = server.get("/v1/stats");
    assert_eq!(status, 200);
    assert!(stats["nodes"].as_u64().unwrap() > 1000);

    let (status, node) = server.get(&format!("/v1/nodes/{key}"));
    assert_eq!(status, 200, "{node}");
    assert_eq!(node["node"]["key"], format!("aws-access-key:{key}"));
    seen.push_str(&node.to_string());

    let (status, owners) = server.get(&format!("/v1/nodes/aws-access-key:{key}/owner"));
    assert_eq!(status, 200, "{owners}");
    assert_eq!(
        owners["owners"][0]["human"]["key"],
        format!("email:{owner}")
    );

    // An ARN (with `/`) as a percent-encoded path segment.
    let principal = owners["owners"][0]["via"].as_str().unwrap().to_string();
    assert!(principal.contains('/'), "{principal}");
    let (status, nb) = server.get(&format!(
        "/v1/nodes/{}/neighbours?edge=AUTHENTICATES_AS&direction=in",
        encode(&principal)
    ));
    assert_eq!(status, 200, "{nb}");
    assert!(nb["edges"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["other"]["key"] == format!("aws-access-key:{key}")));
    let (status, _) = server.get(&format!("/v1/nodes/{key}/neighbours?direction=up"));
    assert_eq!(status, 400);

    let (status, blast) = server.get(&format!("/v1/nodes/{key}/blast-radius?limit=3"));
    assert_eq!(status, 200, "{blast}");
    let resources = blast["resources"].as_array().unwrap();
    assert!(!resources.is_empty() && resources.len() <= 3);
    seen.push_str(&blast.to_string());

    let q = serde_json::json!({
        "query": "MATCH (k:Credential)-[:STORED_IN]->(l:Location) WHERE k.key = $k RETURN l.kind AS surface ORDER BY surface",
        "params": {"k": format!("aws-access-key:{key}")},
    });
    let (status, rows) = server.request("POST", "/v1/query", Some(&server.token), &q.to_string());
    assert_eq!(status, 200, "{rows}");
    assert!(rows["rows"].as_array().unwrap().len() >= 6);
    assert_eq!(rows["columns"][0], "surface");
    seen.push_str(&rows.to_string());

    let (status, e) = server.request(
        "POST",
        "/v1/query",
        Some(&server.token),
        r#"{"query": "MATCH (n:Credential) SET n.status = 'x'"}"#,
    );
    assert_eq!(status, 400);
    assert!(e["error"].as_str().unwrap().contains("read-only"), "{e}");
    let (status, e) = server.request(
        "POST",
        "/v1/query",
        Some(&server.token),
        r#"{"query": "MATCH (n:Credential RETURN n"}"#,
    );
    assert_eq!(status, 400);
    assert!(
        e["error"].as_str().unwrap().contains("line 1, column"),
        "{e}"
    );
    let (status, e) = server.request("POST", "/v1/query", Some(&server.token), "{nope");
    assert_eq!(status, 400);
    assert!(
        e["error"].as_str().unwrap().contains("line 1 column 2"),
        "{e}"
    );

    let (status, reach) = server.get(&format!(
        "/v1/nodes/{}/reached-by?limit=5",
        encode(resource)
    ));
    assert_eq!(status, 200, "{reach}");
    assert!(reach["credentials"].as_u64().unwrap() >= 1);
    assert!(reach["reachers"].as_array().unwrap().len() <= 5);
    let (status, e) = server.get(&format!("/v1/nodes/{key}/reached-by"));
    assert_eq!(status, 400, "a credential is not a resource: {e}");

    let (status, plan) = server.get(&format!("/v1/nodes/{key}/response-plan?action=revoke"));
    assert_eq!(status, 200, "{plan}");
    assert!(plan["steps"][0]["command"]
        .as_str()
        .unwrap()
        .contains("--status Inactive"));
    let (status, _) = server.get(&format!("/v1/nodes/{key}/response-plan?action=nuke"));
    assert_eq!(status, 400);

    let (status, found) = server.get(&format!("/v1/findings?identity={key}&severity=high"));
    assert_eq!(status, 200, "{found}");
    let rules: Vec<&str> = found["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    for rule in ["owner-left", "secret-in-git-history", "ci-static-cloud-key"] {
        assert!(rules.contains(&rule), "{rule} in {rules:?}");
    }
    let (status, _) = server.get("/v1/findings?severity=severe");
    assert_eq!(status, 400);
    let (status, _) = server.get("/v1/findings?rule=nope");
    assert_eq!(status, 404);
    // The riskiest identity is the planted six-surface key, with its reach.
    let (status, risk) = server.get("/v1/risk?top=3");
    assert_eq!(status, 200, "{risk}");
    assert_eq!(risk.as_array().unwrap().len(), 3);
    assert_eq!(risk[0]["identity"], format!("aws-access-key:{key}"));
    assert!(risk[0]["reach"]["resources"].as_u64().unwrap() > 0);
    let (status, _) = server.get("/v1/risk?top=1000");
    assert_eq!(status, 400);

    // One definition of stale, over HTTP and on the command line.
    let (status, stale) = server.get(&format!(
        "/v1/ask/stale-keys?before={}",
        common::STALE_BEFORE
    ));
    assert_eq!(status, 200, "{stale}");
    let stale_cli = common::stale_keys(&env);
    assert_eq!(common::credentials_of(&stale), stale_cli);
    let asked = env
        .run(&[
            "--format",
            "json",
            "ask",
            "stale-keys",
            "--param",
            &format!("before={}", common::STALE_BEFORE),
        ])
        .ok()
        .json();
    assert_eq!(common::credentials_of(&asked), stale_cli);
    let (status, saved) = server.get("/v1/ask");
    assert_eq!(status, 200);
    assert!(saved
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == "surfaces"));
    let (status, surfaces) = server.get(&format!(
        "/v1/ask/surfaces?credential={}",
        encode(&format!("aws-access-key:{key}"))
    ));
    assert_eq!(status, 200, "{surfaces}");
    assert!(surfaces["rows"].as_array().unwrap().len() >= 6);
    let (status, e) = server.get("/v1/ask/surfaces");
    assert_eq!(status, 400);
    assert!(e["error"].as_str().unwrap().contains("credential"), "{e}");
    let (status, _) = server.request("POST", "/v1/ask/outside-vaults", Some(&server.token), "");
    assert_eq!(status, 200);
    let (status, _) = server.get("/v1/ask/no-such-question");
    assert_eq!(status, 404);
    let (status, e) = server.get("/v1/nodes/AKIANOTHINGHERE22222");
    assert_eq!(status, 404);
    assert!(e["error"].as_str().unwrap().contains("nothing matches"));

    // Every path the OpenAPI document describes is served.
    for (path, ops) in openapi["paths"].as_object().unwrap() {
        if path == "/mcp" {
            continue;
        }
        let reference = if path.ends_with("/reached-by") {
            encode(resource)
        } else if path.starts_with("/v1/people/") {
            owner.to_string()
        } else {
            key.to_string()
        };
        let concrete = path
            .replace("{reference}", &reference)
            .replace("{name}", "outside-vaults");
        for method in ops
            .as_object()
            .unwrap()
            .keys()
            .filter(|m| *m != "parameters")
        {
            let (status, v) = server.request(
                &method.to_uppercase(),
                &format!("{concrete}?label=Credential"),
                Some(&server.token),
                r#"{"query": "MATCH (n:Human) RETURN count(n) AS people"}"#,
            );
            assert_eq!(status, 200, "{method} {path}: {v}");
        }
    }

    // MCP over streamable HTTP: the same answers with the token, refused without.
    let url = format!("http://{}/mcp", server.addr);
    let (ok, stdout, stderr) = mcp_client(&env, &["http", &url, &server.token, key]);
    assert!(ok, "client failed: {stderr}\n{stdout}");
    check_mcp_answers(&stdout, key, owner, &common::stale_keys(&env));
    seen.push_str(&stdout);
    let (ok, _, stderr) = mcp_client(&env, &["http", &url, "-", key]);
    assert!(!ok, "MCP over HTTP answered without a token");
    assert!(
        stderr.contains("401") || stderr.contains("Unauthorized") || stderr.contains("error"),
        "{stderr}"
    );

    assert!(
        !seen.contains(&planted_secret(&out)),
        "an HTTP answer contains the secret"
    );
}

#[test]
fn a_message_that_is_not_json_gets_a_parse_error_and_the_session_goes_on() {
    let env = Env::new();
    env.write(
        "roster.csv",
        b"email,name,status\nana@corp.example,Ana,active\n",
    );
    env.run(&[
        "--quiet",
        "ingest",
        env.path("roster.csv").to_str().unwrap(),
    ])
    .ok();
    let mut child = env
        .cmd()
        .args(["--quiet", "mcp"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut next = || {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        serde_json::from_str::<Value>(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
    };
    stdin
        .write_all(b"{\"jsonrpc\": \"2.0\", \"id\": 1, \"meth\n")
        .unwrap();
    stdin.flush().unwrap();
    let e = next();
    assert_eq!(e["error"]["code"], -32700, "{e}");
    assert_eq!(e["id"], Value::Null);
    stdin.write_all(b"\xff\xfe not utf-8\n").unwrap();
    stdin.flush().unwrap();
    assert_eq!(next()["error"]["code"], -32700);
    stdin
        .write_all(br#"{"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"probe","version":"1"}}}"#)
        .unwrap();
    stdin.write_all(b"\n").unwrap();
    stdin.flush().unwrap();
    let init = next();
    assert_eq!(init["id"], 2, "{init}");
    assert_eq!(init["result"]["serverInfo"]["name"], "custody", "{init}");
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}

/// Slow clients (headers sent a piece at a time, never finished) neither
/// stop the service answering nor stay connected: each is closed once the
/// header deadline passes (10 s), with no token needed to be a nuisance.
#[test]
fn clients_that_never_finish_their_headers_are_closed_and_health_still_answers() {
    let env = Env::new();
    env.write(
        "roster.csv",
        b"email,name,status\nana@corp.example,Ana,active\n",
    );
    env.run(&[
        "--quiet",
        "ingest",
        env.path("roster.csv").to_str().unwrap(),
    ])
    .ok();
    let server = Server::start(&env);
    let mut slow: Vec<TcpStream> = (0..200)
        .map(|_| {
            let mut s = TcpStream::connect(&server.addr).unwrap();
            s.write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .unwrap();
            s
        })
        .collect();
    let (status, v) = server.request("GET", "/v1/health", None, "");
    assert_eq!((status, v["status"].as_str()), (200, Some("ok")));
    std::thread::sleep(std::time::Duration::from_secs(12));
    for s in &mut slow {
        s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let mut buf = [0u8; 512];
        // Closed by the server: end of stream (or a reset), possibly after
        // a 408 it sent first.
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    panic!("a slow client is still connected after the header deadline")
                }
                Err(_) => break,
            }
        }
    }
    let (status, _) = server.request("GET", "/v1/health", None, "");
    assert_eq!(status, 200);
}
