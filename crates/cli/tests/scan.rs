//! End-to-end: `custody scan` finds planted secrets, reports each credential once
//! with every place, never prints a value, writes SARIF, and with `--ingest`
//! joins what it found to the inventory's credential.

mod common;
use common::Env;

#[test]
fn scan_reports_each_credential_once_and_never_its_value() {
    let env = Env::new();
    // Values assembled at run time: the source holds no secret-shaped literal.
    let key_id = format!("AKIA{}", "CUSTODYSCANTESTA");
    let secret = format!("Zx9vQ2mL8pR4tY7u{}", "W1eA3sD5fG6hJ0kLqWeRtYuI");
    let token = format!("ghp_{}{}", "CustodyExampleNotARealToken001", "1VcBGt");
    let password = format!("k2P!x9Lq{}", "7Zr4Vm8T");
    env.write(
        "repo/app/.env",
        format!("AWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={secret}\nDB_PASSWORD=\"{password}\"\n").as_bytes(),
    );
    env.write(
        "repo/app/settings.py",
        format!("GITHUB = {{\"token\": \"{token}\"}}\n").as_bytes(),
    );
    env.write(
        "repo/deploy/ci.yml",
        format!("env:\n  GH: {token}\n").as_bytes(),
    );
    env.write("repo/.git/config", format!("token = {token}\n").as_bytes());
    // An MCP client configuration (JSONC, in a hidden folder) holding the same AWS key.
    env.write(
        "repo/.vscode/mcp.json",
        format!("{{\n  // servers\n  \"servers\": {{\"aws\": {{\"command\": \"uvx\",\n    \"env\": {{\"AWS_ACCESS_KEY_ID\": \"{key_id}\", \"AWS_SECRET_ACCESS_KEY\": \"{secret}\"}},}},}},\n}}\n").as_bytes(),
    );
    env.write("repo/bin/tool", b"\x7fELF\x00\x00binary");
    let repo = env.path("repo");
    let repo = repo.to_str().unwrap();

    let json = env.run(&["--format", "json", "scan", repo]).ok();
    let v = json.json();
    let creds = v["credentials"].as_array().unwrap();
    assert_eq!(creds.len(), 3, "{}", json.stdout);
    let gh = creds.iter().find(|c| c["kind"] == "github_token").unwrap();
    assert_eq!(
        gh["locations"].as_array().unwrap().len(),
        2,
        "one token in two files is one credential in two places (.git is skipped)"
    );
    let aws = creds
        .iter()
        .find(|c| c["kind"] == "aws_access_key")
        .unwrap();
    assert_eq!(aws["credential"], format!("aws-access-key:{key_id}"));
    assert_eq!(
        aws["locations"].as_array().unwrap().len(),
        4,
        "the id and its secret are one credential, in .env and in the MCP config"
    );
    let table = env.run(&["scan", repo]).ok();
    let sarif = env.run(&["scan", "--sarif", repo]).ok();
    let s = sarif.json();
    assert_eq!(s["version"], "2.1.0");
    assert_eq!(s["runs"][0]["results"].as_array().unwrap().len(), 7);
    assert!(s["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64() >= Some(1)));
    // Each result says what the credential is for.
    assert!(s["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(
            |r| r["properties"]["provider"] == "aws" && r["properties"]["kind"] == "aws_access_key"
        ));

    // Stored: the access key found in `.env` is the inventory's node.
    env.write(
        "inv/aws/111122223333/access-keys.json",
        format!(r#"{{"AccessKeyMetadata": [{{"UserName": "svc-app", "AccessKeyId": "{key_id}", "Status": "Active", "CreateDate": "2026-01-02T03:04:05+00:00"}}]}}"#).as_bytes(),
    );
    env.run(&["-q", "ingest", env.path("inv").to_str().unwrap()])
        .ok();
    let stored = env
        .run(&["--format", "json", "-v", "scan", "--ingest", repo])
        .ok();
    assert!(stored.json()["snapshot"].as_i64().is_some());
    let show = env.run(&["--format", "json", "show", &key_id]).ok();
    let node = show.json();
    let places: Vec<&str> = node["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "STORED_IN")
        .map(|e| e["other"]["key"].as_str().unwrap())
        .collect();
    assert_eq!(places.len(), 3, "{}", show.stdout);
    assert!(places.iter().any(|p| p.contains("/repo/app/.env#L")));
    assert!(places
        .iter()
        .any(|p| p.contains("/repo/.vscode/mcp.json#L")));
    assert!(
        node["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "HOLDS" && e["other"]["kind"] == "mcp_server"),
        "the MCP server is an agent holding the key"
    );
    assert!(node["edges"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "AUTHENTICATES_AS"));

    // No output and no byte of the database holds a value.
    let mut db = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        if let Ok(b) = std::fs::read(format!("{}{suffix}", env.db().display())) {
            db.extend(b);
        }
    }
    let db = String::from_utf8_lossy(&db);
    for value in [&secret, &token, &password] {
        for (name, text) in [
            ("json", &json.stdout),
            ("table", &table.stdout),
            ("sarif", &sarif.stdout),
            ("stored", &stored.stdout),
            ("stored stderr", &stored.stderr),
            ("show", &show.stdout),
            ("db", &db.to_string()),
        ] {
            assert!(
                !text.contains(value.as_str()),
                "{name} holds a planted value"
            );
        }
    }
}

#[test]
fn the_planted_key_is_one_credential_with_six_surfaces() {
    let env = Env::new();
    let (out, answers) = env.synthetic(200);
    let scanned = env.scan_snapshot(&out);
    let repo = scanned["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["repository"].as_str().unwrap().ends_with("-reporting"))
        .unwrap();
    assert_eq!(repo["commits"], 5, "{repo}");
    assert!(repo["repository"]
        .as_str()
        .unwrap()
        .starts_with("github.com/"));

    let scenario = &answers["scenarios"][0];
    let key = scenario["access_key_id"].as_str().unwrap();
    let show = env.run(&["--format", "json", "show", key]).ok().json();
    let stored: Vec<&serde_json::Value> = show["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "STORED_IN")
        .collect();
    let places: Vec<&str> = stored
        .iter()
        .map(|e| e["other"]["key"].as_str().unwrap())
        .collect();
    let surfaces = scenario["surfaces"].as_array().unwrap();
    assert!(surfaces.len() >= 6, "{surfaces:?}");
    for s in surfaces {
        let s = s.as_str().unwrap();
        assert!(
            places.iter().any(|p| p.contains(s)),
            "{s} is not a place of {key}: {places:?}"
        );
    }
    // The Actions secret's value is never readable: the link is an inference
    // from the workflow, and says so.
    let actions = stored
        .iter()
        .find(|e| e["other"]["kind"] == "github_actions_secret")
        .unwrap();
    assert_eq!(actions["props"]["confidence"], "inferred");
    // Where history holds it, the commit and its author are kept for attribution.
    let blob = env
        .run(&[
            "--format",
            "json",
            "show",
            places.iter().find(|p| p.contains("/.env#")).unwrap(),
        ])
        .ok()
        .json();
    assert_eq!(
        blob["node"]["props"]["commit_author"],
        scenario["owner_email"]
    );
    // Nothing else in the snapshot is a secret: the planted key and the two
    // keys of the environment-isolation case are the only findings.
    let found: std::collections::BTreeSet<&str> = scanned["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["credential"].as_str().unwrap())
        .collect();
    let isolation = &answers["expected"]["posture"]["credential-across-environments"];
    let key = format!(
        "aws-access-key:{}",
        scenario["access_key_id"].as_str().unwrap()
    );
    let mut expected: std::collections::BTreeSet<&str> = [
        key.as_str(),
        isolation["found"][0].as_str().unwrap(),
        isolation["not_found"][0].as_str().unwrap(),
    ]
    .into();
    // The planted agent's host: its AWS credentials file and gcloud key file.
    expected.extend(
        answers["expected"]["agent"]["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["key"].as_str()),
    );
    // The release key kept in the platform Key Vault (its value scanned).
    expected.extend(
        answers["expected"]["federation"]["cross_cloud_keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|k| k.as_str()),
    );
    // Besides them: the clusters' database passwords and service-account
    // tokens, found by value in Kubernetes Secrets (no other access key).
    let aws: std::collections::BTreeSet<&str> = found
        .iter()
        .copied()
        .filter(|c| !c.starts_with("fp:") && !c.starts_with("id:k8s-sa-token/"))
        .collect();
    assert_eq!(aws, expected, "{scanned}");
    assert!(scanned["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !expected.contains(c["credential"].as_str().unwrap()))
        .all(|c| c["locations"].as_array().unwrap().iter().all(|l| {
            let p = l["path"].as_str().unwrap();
            // …or the planted agent's configuration (its API keys).
            p.contains("/kubernetes/") || p.ends_with("claude_desktop_config.json")
        })));
    // The documentation's example key in the repository's test fixtures is not a finding.
    assert!(!scanned.to_string().contains("EXAMPLE"));
}

#[test]
fn format_sarif_is_the_scan_sarif_flag_and_only_for_scan_and_findings() {
    let env = Env::new();
    let token = format!("ghp_{}{}", "CustodyExampleNotARealToken001", "1VcBGt");
    env.write("repo/ci.sh", format!("export GH={token}\n").as_bytes());
    let repo = env.path("repo");
    let repo = repo.to_str().unwrap();
    let a = env.run(&["--format", "sarif", "scan", repo]).ok();
    let b = env.run(&["scan", "--sarif", repo]).ok();
    assert_eq!(a.json()["version"], "2.1.0");
    assert_eq!(
        a.json()["runs"][0]["results"],
        b.json()["runs"][0]["results"]
    );
    let r = env.run(&["--format", "sarif", "stats"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("is for `custody scan` and `custody findings` only"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_stray_nul_byte_or_utf16_hides_nothing_and_binary_files_are_reported() {
    let env = Env::new();
    // A token with a valid checksum (the first test's).
    let token = format!("ghp_{}{}", "CustodyExampleNotARealToken001", "1VcBGt");
    // A `.env` with one NUL appended (a common evasion), the same saved as
    // UTF-16 by PowerShell (`>`: little-endian with a byte-order mark), and
    // a real binary file.
    let mut nul = format!("GITHUB_TOKEN={token}\n").into_bytes();
    nul.push(0);
    env.write("repo/a/.env", &nul);
    let mut utf16 = vec![0xFF, 0xFE];
    for u in format!("GITHUB_TOKEN={token}\r\n").encode_utf16() {
        utf16.extend(u.to_le_bytes());
    }
    env.write("repo/b/.env", &utf16);
    env.write(
        "repo/bin/tool",
        &[
            0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0x3e, 0,
        ],
    );
    let repo = env.path("repo");
    let v = env
        .run(&["--format", "json", "scan", repo.to_str().unwrap()])
        .ok()
        .json();
    let creds = v["credentials"].as_array().unwrap();
    assert_eq!(creds.len(), 1, "{v:#}");
    let places: Vec<&str> = creds[0]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["path"].as_str().unwrap())
        .collect();
    assert!(places.iter().any(|p| p.ends_with("a/.env")), "{places:?}");
    assert!(places.iter().any(|p| p.ends_with("b/.env")), "{places:?}");
    let skipped = v["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{v:#}");
    assert!(skipped[0]["path"].as_str().unwrap().ends_with("bin/tool"));
    assert!(skipped[0]["why"].as_str().unwrap().starts_with("binary"));
    assert!(!v.to_string().contains(&token));
}

/// Every configured MCP server is an agent, whatever its client and whether
/// or not a secret sits in its entry; a server that reads `${VAR}` holds
/// the credential the same home's shell start-up file sets `VAR` to.
#[test]
fn every_mcp_server_of_every_client_is_an_agent_and_holds_what_its_env_reads() {
    let env = Env::new();
    let token = format!("ghp_{}{}", "CustodyExampleNotARealToken001", "1VcBGt");
    let home = "laptop/home/ana";
    env.write(
        &format!("{home}/.zshrc"),
        format!("alias ll='ls -l'\nexport GITHUB_TOKEN={token}\n").as_bytes(),
    );
    // Claude Code: a user server and a project's, one by reference.
    env.write(
        &format!("{home}/.claude.json"),
        br#"{"numStartups": 4, "mcpServers": {"sentry": {"type": "sse", "url": "https://mcp.sentry.dev/sse?org=x"}},
            "projects": {"/home/ana/src/api": {"mcpServers": {"github": {"command": "docker",
              "args": ["run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "ghcr.io/github/github-mcp-server"],
              "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "${GITHUB_TOKEN}"}}}}}}"#,
    );
    // Windsurf, Gemini CLI, Zed and Codex, each in its own place and shape.
    env.write(
        &format!("{home}/.codeium/windsurf/mcp_config.json"),
        br#"{"mcpServers": {"docs": {"serverUrl": "https://docs.example.com/mcp"}}}"#,
    );
    env.write(
        &format!("{home}/.gemini/settings.json"),
        br#"{"theme": "Default", "mcpServers": {"fs": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/home/ana"]}}}"#,
    );
    env.write(
        &format!("{home}/.config/zed/settings.json"),
        b"// Zed settings\n{\"context_servers\": {\"git\": {\"command\": {\"path\": \"mcp-git\", \"args\": [], \"env\": {}}}},}\n",
    );
    env.write(
        &format!("{home}/.codex/config.toml"),
        b"model = \"o3\"\n[mcp_servers.brave]\ncommand = \"npx\"\nargs = [\"-y\", \"@modelcontextprotocol/server-brave-search\"]\nenv = { BRAVE_API_KEY = \"${BRAVE_API_KEY}\" }\n",
    );
    // Claude Desktop names a Google key file by its path on the user's Mac;
    // the scan maps it onto the home it reads.
    let body = format!("MIIEvgIBADANBgkqhkiG9w0BAQEFAASC{}", "BKgwggSkAgEAAoIBAQC7");
    let key = serde_json::json!({
        "type": "service_account", "project_id": "analytics-prod",
        "private_key_id": "3f7c2d9e8b1a4c6d5e0f9a8b7c6d5e4f3a2b1c0d",
        "private_key": format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"),
        "client_email": "bq-reader@analytics-prod.iam.gserviceaccount.com",
        "client_id": "104958371029384756102", "token_uri": "https://oauth2.googleapis.com/token"
    });
    env.write(
        &format!("{home}/keys/bq-reader.json"),
        serde_json::to_string_pretty(&key).unwrap().as_bytes(),
    );
    env.write(
        &format!("{home}/.config/Claude/claude_desktop_config.json"),
        br#"{"mcpServers": {"bigquery": {"command": "npx", "args": ["-y", "mcp-bigquery"],
            "env": {"GOOGLE_APPLICATION_CREDENTIALS": "/Users/ana/keys/bq-reader.json", "AWS_PROFILE": "analytics"}}}}"#,
    );
    // Two profiles in the shared credentials file; the BigQuery server
    // selects one with AWS_PROFILE.
    env.write(
        &format!("{home}/.aws/credentials"),
        b"[default]\naws_access_key_id = AKIAKESTRELDEFAULTQQ\naws_secret_access_key = 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\n\n[analytics]\naws_access_key_id = AKIAKESTRELANALYTICQ\naws_secret_access_key = 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\n",
    );
    // A renamed copy is found by what it holds.
    env.write(
        "laptop/backup/claude-config-old.json",
        br#"{"mcpServers": {"notes": {"command": "uvx", "args": ["mcp-notes"]}}}"#,
    );
    let laptop = env.path("laptop");
    let scan = env
        .run(&[
            "--format",
            "json",
            "--quiet",
            "scan",
            "--ingest",
            laptop.to_str().unwrap(),
        ])
        .ok();
    assert!(!scan.stdout.contains(&token), "the value is never printed");
    let agents = env
        .run(&[
            "--format",
            "json",
            "query",
            "MATCH (a:Agent) RETURN a.name, a.client, a.transport, a.command",
        ])
        .ok()
        .json();
    let rows: Vec<(String, String)> = agents["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["a.name"].as_str().unwrap_or_default().to_string(),
                r["a.client"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    for (name, client) in [
        ("sentry", "claude-code"),
        ("github", "claude-code"),
        ("docs", "windsurf"),
        ("fs", "gemini-cli"),
        ("git", "zed"),
        ("brave", "codex"),
        ("notes", "mcp"),
        ("bigquery", "claude-desktop"),
    ] {
        assert!(
            rows.contains(&(name.to_string(), client.to_string())),
            "{name} ({client}) in {rows:?}"
        );
    }
    assert_eq!(rows.len(), 8, "{rows:?}");
    assert!(
        agents
            .to_string()
            .contains("docker ghcr.io/github/github-mcp-server"),
        "{agents}"
    );
    // The project's github server reads GITHUB_TOKEN, which ~/.zshrc sets.
    let holds = |agent: &str| -> Vec<String> {
        let q = format!(
            "MATCH (a:Agent {{name: '{agent}'}})-[:HOLDS]->(c:Credential) RETURN c.kind, c.key"
        );
        let r = env.run(&["--format", "json", "query", &q]).ok().json();
        let mut out: Vec<String> = r["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    r["c.kind"].as_str().unwrap_or_default(),
                    r["c.key"].as_str().unwrap_or_default()
                )
            })
            .collect();
        out.sort();
        out
    };
    // The project's github server reads GITHUB_TOKEN, which ~/.zshrc sets;
    // like every server of that home it can use both shared AWS profiles.
    let github = holds("github");
    assert!(
        github.iter().any(|c| c.starts_with("github_token")),
        "{github:?}"
    );
    assert!(
        github.contains(&"aws_access_key aws-access-key:AKIAKESTRELDEFAULTQQ".to_string()),
        "{github:?}"
    );
    assert!(
        github.contains(&"aws_access_key aws-access-key:AKIAKESTRELANALYTICQ".to_string()),
        "{github:?}"
    );
    // BigQuery's key file is held through the path its configuration names
    // (the path itself is no credential), and AWS_PROFILE picks one profile.
    let bq = holds("bigquery");
    assert_eq!(bq.len(), 2, "{bq:?}");
    assert!(
        bq[0] == "aws_access_key aws-access-key:AKIAKESTRELANALYTICQ",
        "{bq:?}"
    );
    assert!(bq[1].starts_with("gcp_service_account_key"), "{bq:?}");
    // Servers that read nothing hold only what their home shares.
    assert!(holds("docs")
        .iter()
        .all(|c| c.starts_with("aws_access_key")));
}

/// The seed's AI-agent record, end to end: a laptop whose Claude Desktop
/// server carries OpenAI, Anthropic and Okta tokens, names a Google key file
/// by its path on the Mac, and runs with the home's shared AWS profile.
/// `custody show` lists every credential — literal, by reference, ambient —
/// and what each authenticates as; `blast-radius` starts from the AWS user.
#[test]
fn the_seed_agent_record_lists_every_credential_and_its_reach() {
    let env = Env::new();
    let account = "111122223333";
    let key_id = "AKIAKESTRELLAPTOPQQZ"; // AKIA and 16 base32 characters
    env.write(
        "exports/hr/roster.csv",
        b"email,first_name,last_name,status\nana.silva@kestrel.example,Ana,Silva,active\n",
    );
    let details = serde_json::json!({
        "UserDetailList": [{"Path": "/", "UserName": "ana-cli", "UserId": "AIDAKESTRELLAPTOPQQZ",
            "Arn": format!("arn:aws:iam::{account}:user/ana-cli"), "CreateDate": "2025-01-10T10:00:00Z",
            "UserPolicyList": [{"PolicyName": "reports", "PolicyDocument": {"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}]}}],
            "GroupList": [], "AttachedManagedPolicies": [],
            "Tags": [{"Key": "owner", "Value": "ana.silva@kestrel.example"}]}],
        "GroupDetailList": [], "RoleDetailList": [], "Policies": []
    });
    env.write(
        &format!("exports/aws/{account}/authorization-details.json"),
        details.to_string().as_bytes(),
    );
    env.write(
        &format!("exports/aws/{account}/access-keys.json"),
        format!(r#"{{"AccessKeyMetadata": [{{"UserName": "ana-cli", "AccessKeyId": "{key_id}", "Status": "Active", "CreateDate": "2025-02-01T10:00:00+00:00"}}]}}"#).as_bytes(),
    );
    let home = "laptop/Users/ana";
    env.write(
        &format!("{home}/.aws/credentials"),
        format!("[default]\naws_access_key_id = {key_id}\naws_secret_access_key = q8Zt3Xw9Lm2Vb7Np4Rs6Tu1Yh5Jk0Gd3Fa8Ce2Wx\n").as_bytes(),
    );
    let body = format!("MIIEvgIBADANBgkqhkiG9w0BAQEFAASC{}", "BKgwggSkAgEAAoIBAQC7");
    let gcp = serde_json::json!({
        "type": "service_account", "project_id": "analytics-prod",
        "private_key_id": "4a8d3e0f9c2b5d7e1f6a0b9c8d7e6f5a4b3c2d1e",
        "private_key": format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"),
        "client_email": "ops-reader@analytics-prod.iam.gserviceaccount.com",
        "client_id": "104958371029384756199", "token_uri": "https://oauth2.googleapis.com/token"
    });
    env.write(
        &format!("{home}/keys/ops-reader.json"),
        serde_json::to_string_pretty(&gcp).unwrap().as_bytes(),
    );
    let openai = format!(
        "sk-proj-{}T3BlbkFJ{}",
        "Kq7Zt2Xw9Lm4Vb6Np3Rs8Tu1Yh5J", "Gd3Fa8Ce2WxQ7mN4bV6cX9zL1kP0"
    );
    let anthropic = format!(
        "sk-ant-api03-{}-{}AA",
        "Zt2Xw9Lm4Vb6Np3Rs8Tu1Yh5JkGd3Fa8Ce2WxQ7mN4bV6cX9zL1kP0aB3cD5eF7gH9iJ",
        "Kq7Zt2Xw9Lm4Vb6Np3Rs8Tu1Yh5JkG"
    );
    let okta = format!("00{}", "Zt2Xw9Lm4Vb6Np3Rs8Tu1Yh5JkGd3Fa8Ce2WxQ7m");
    let config = serde_json::json!({"mcpServers": {"ops-assistant": {"command": "npx",
        "args": ["-y", "@kestrel/ops-assistant-mcp"],
        "env": {"OPENAI_API_KEY": openai, "ANTHROPIC_API_KEY": anthropic, "OKTA_API_TOKEN": okta,
                "GOOGLE_APPLICATION_CREDENTIALS": "/Users/ana/keys/ops-reader.json", "AWS_PROFILE": "default"}}}});
    env.write(
        &format!("{home}/Library/Application Support/Claude/claude_desktop_config.json"),
        serde_json::to_string_pretty(&config).unwrap().as_bytes(),
    );
    env.run(&["--quiet", "ingest", env.path("exports").to_str().unwrap()])
        .ok();
    let scan = env
        .run(&[
            "--quiet",
            "scan",
            "--ingest",
            env.path("laptop").to_str().unwrap(),
        ])
        .ok();
    for secret in [&openai, &anthropic, &okta] {
        assert!(
            !scan.stdout.contains(secret.as_str()),
            "a value is never printed"
        );
    }
    let agent = env
        .run(&["--format", "json", "query", "MATCH (a:Agent) RETURN a.key"])
        .ok()
        .json();
    let agent = agent["rows"][0]["a.key"].as_str().unwrap().to_string();
    let shown = env.run(&["show", &agent]).ok().stdout;
    for kind in [
        "openai_api_key",
        "anthropic_api_key",
        "okta_api_token",
        "gcp_service_account_key",
        "aws_access_key",
    ] {
        assert!(shown.contains(kind), "{kind} in\n{shown}");
    }
    assert!(
        shown.contains(&format!("arn:aws:iam::{account}:user/ana-cli")),
        "{shown}"
    );
    assert!(
        shown.contains("ops-reader@analytics-prod.iam.gserviceaccount.com"),
        "{shown}"
    );
    for secret in [&openai, &anthropic, &okta] {
        assert!(!shown.contains(secret.as_str()));
    }
    let reach = env
        .run(&["--format", "json", "blast-radius", &agent])
        .ok()
        .json();
    assert_eq!(
        reach["principals"][0]["arn"],
        format!("arn:aws:iam::{account}:user/ana-cli"),
        "{reach}"
    );
    let owner = env.run(&["--format", "json", "owner", key_id]).ok().json();
    assert_eq!(
        owner["owner"]["email"], "ana.silva@kestrel.example",
        "{owner}"
    );
}

/// `scan --list-rules` says what custody detects and which finds it can check.
#[test]
fn the_rules_are_listed_with_what_they_find_and_how_they_are_checked() {
    let env = Env::new();
    let rules = env
        .run(&["--format", "json", "scan", "--list-rules"])
        .ok()
        .json();
    let rules = rules.as_array().unwrap();
    assert!(rules.len() >= 150, "{} rules", rules.len());
    let gh = rules.iter().find(|r| r["id"] == "github-token").unwrap();
    assert_eq!(
        (&gh["provider"], &gh["kind"], &gh["validate"]),
        (
            &serde_json::json!("github"),
            &serde_json::json!("github_token"),
            &serde_json::json!("github-user")
        )
    );
    let enc = rules
        .iter()
        .find(|r| r["id"] == "private-key-openssh-encrypted")
        .unwrap();
    assert_eq!(enc["props"]["encrypted"], true);
    assert_eq!(
        rules.last().unwrap()["id"],
        "generic-secret-assignment",
        "generic last"
    );
    let table = env.run(&["scan", "--list-rules"]).ok();
    assert!(table.stdout.contains("LIVENESS CHECK"), "{}", table.stdout);
    assert_eq!(env.run(&["scan", "--list-rules", "--ingest"]).code, 2);
}
