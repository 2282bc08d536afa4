//! End-to-end: `custody mcp` driven by a real MCP client, the official Python
//! SDK (`mcp`, installed into a virtual environment under the target folder on
//! first run), over stdio.

mod common;
use common::Env;
use std::path::PathBuf;
use std::process::Command;

const MCP_SDK: &str = "mcp==2.3.0";

/// A Python with the MCP SDK: created once per target folder.
fn python_with_mcp() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mcp-venv-2.3.0");
    let py = dir.join("bin").join("python");
    if py.exists() {
        return py;
    }
    let ok = |c: &mut Command, what: &str| {
        let out = c.output().unwrap_or_else(|e| {
            panic!("{what}: cannot run ({e}); this test needs python3 with venv")
        });
        assert!(
            out.status.success(),
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(
        Command::new("python3").args(["-m", "venv"]).arg(&dir),
        "python3 -m venv",
    );
    ok(
        Command::new(&py).args(["-m", "pip", "install", "--quiet", MCP_SDK]),
        "pip install mcp (PyPI)",
    );
    py
}

#[test]
fn an_mcp_client_lists_tools_and_gets_answers_never_secrets() {
    let env = Env::new();
    let (out, answers) = env.synthetic(200);
    env.scan_snapshot(&out);
    let key = answers["scenarios"][0]["access_key_id"].as_str().unwrap();
    let owner = answers["scenarios"][0]["owner_email"].as_str().unwrap();

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/client.py");
    let run = Command::new(python_with_mcp())
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_custody"))
        .arg(env.db())
        .arg(key)
        .env("CUSTODY_HOME", env.path("home"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout).to_string();
    assert!(
        run.status.success(),
        "client failed: {}\n{stdout}",
        String::from_utf8_lossy(&run.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["server"], "custody");
    for tool in [
        "ask",
        "blast_radius",
        "get_identity",
        "owner_of",
        "run_query",
        "search_identities",
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
    assert_eq!(v["query"]["rows"][0]["owner"], format!("email:{owner}"));
    assert!(v["write"]["error"].as_str().unwrap().contains("read-only"));
    assert!(v["surfaces"]["row_count"].as_u64().unwrap() >= 6);
    assert_eq!(
        v["identity"]["node"]["key"],
        format!("aws-access-key:{key}")
    );

    // The secret access key sits in the Secrets Manager value the scan read; no
    // answer carries it.
    let sm_dir = out.join("secretsmanager-values");
    let sm_file = std::fs::read_dir(sm_dir.read_dir().unwrap().next().unwrap().unwrap().path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let sm: serde_json::Value = serde_json::from_slice(&std::fs::read(sm_file).unwrap()).unwrap();
    let inner: serde_json::Value =
        serde_json::from_str(sm["SecretString"].as_str().unwrap()).unwrap();
    let secret = inner["AWS_SECRET_ACCESS_KEY"].as_str().unwrap();
    assert_eq!(secret.len(), 40);
    assert!(
        !stdout.contains(secret),
        "an MCP answer contains the secret"
    );
}
