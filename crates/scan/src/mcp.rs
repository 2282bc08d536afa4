//! MCP client configurations: which client a file belongs to (by where it
//! is kept, or by what it holds when copied or renamed), and every server it
//! configures — a local command or a remote URL, with or without a
//! credential — with the environment variables it needs.
//!
//! | client | where | shape |
//! |---|---|---|
//! | Claude Desktop | `claude_desktop_config.json` | `mcpServers` |
//! | Claude Code | `~/.claude.json` (`mcpServers`, and each `projects.<dir>.mcpServers`), a project's `.mcp.json` | `mcpServers` |
//! | Cursor | `~/.cursor/mcp.json`, a project's `.cursor/mcp.json` | `mcpServers` |
//! | VS Code | `.vscode/mcp.json`, the user's `Code/User/mcp.json` | `servers` (JSONC) |
//! | VS Code settings | `Code/User/settings.json`, `.vscode/settings.json` | `mcp.servers` or `"mcp": {"servers"}` (JSONC) |
//! | Windsurf | `~/.codeium/windsurf/mcp_config.json` | `mcpServers` (`serverUrl` for remote) |
//! | Cline | `cline_mcp_settings.json` | `mcpServers` |
//! | Gemini CLI | `~/.gemini/settings.json`, a project's `.gemini/settings.json` | `mcpServers` (`httpUrl` for remote) |
//! | Zed | `~/.config/zed/settings.json` | `context_servers` (JSONC; `command` a string or `{path, args, env}`) |
//! | Codex | `~/.codex/config.toml` | `[mcp_servers.<name>]` (TOML) |
//! | Continue | `~/.continue/config.yaml`, a project's `.continue/mcpServers/*.yaml` (or `*.json`, Claude-style) | `mcpServers:` a list of `{name, command, args, env, url, type}` (YAML); `${{ secrets.NAME }}` reads `NAME` from Continue's `.env` |
//!
//! A file elsewhere is read by content: a JSON object with `mcpServers`, or
//! `context_servers`, TOML with `[mcp_servers.…]`, or YAML with a top-level
//! `mcpServers:` list.
//!
//! **Must not:** keep a value. Only variable names, the command's program
//! and package, and a remote URL without its query string are kept.

use serde_json::Value;

/// One configured server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub name: String,
    /// JSON pointer (or TOML table path) of its entry.
    pub pointer: String,
    /// `stdio` (a local command) or `remote` (a URL).
    pub transport: &'static str,
    /// The program and, for package runners (`npx`, `uvx`, `docker run`),
    /// the package or image: `npx @modelcontextprotocol/server-github`.
    pub command: Option<String>,
    /// A remote server's URL, without query or fragment.
    pub url: Option<String>,
    /// Environment variables it reads from its host: `${VAR}`,
    /// `${env:VAR}`, `$VAR` in its env, args or headers, and `docker -e VAR`.
    pub needs: Vec<String>,
    /// Variables its configuration sets to a literal value (scanned as
    /// secrets where they are ones).
    pub sets: Vec<String>,
    /// Variables that name a credential file, and the path they give
    /// (`GOOGLE_APPLICATION_CREDENTIALS`, `AWS_SHARED_CREDENTIALS_FILE`,
    /// `KUBECONFIG`, `NETRC`, `*_KEY_FILE`, `*_CREDENTIALS_FILE`…).
    pub files: Vec<(String, String)>,
    /// The AWS profile it selects (`AWS_PROFILE`), when set literally.
    pub aws_profile: Option<String>,
}

/// Whether a variable names a credential file rather than holding one.
pub fn names_a_file(var: &str) -> bool {
    let v = var.to_ascii_uppercase();
    [
        "GOOGLE_APPLICATION_CREDENTIALS",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_CONFIG_FILE",
        "KUBECONFIG",
        "NETRC",
        "CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE",
    ]
    .contains(&v.as_str())
        || [
            "_KEY_FILE",
            "_CREDENTIALS_FILE",
            "_CREDENTIAL_FILE",
            "_TOKEN_FILE",
            "_SECRET_FILE",
            "_KEY_PATH",
            "_CREDENTIALS_PATH",
            "_PASSWORD_FILE",
        ]
        .iter()
        .any(|s| v.ends_with(s))
}

/// The part of a path below its user's home (`/Users/ana/keys/sa.json`,
/// `/home/ana/…`, `C:\Users\ana\…`, `~/…`, `$HOME/…` → `keys/sa.json`),
/// for finding the file in the home being scanned.
pub fn below_home(path: &str) -> Option<String> {
    let p = path.trim().replace('\\', "/");
    for prefix in ["~/", "$HOME/", "${HOME}/", "%USERPROFILE%/"] {
        if let Some(rest) = p.strip_prefix(prefix) {
            return Some(rest.to_string());
        }
    }
    let lower = p.to_ascii_lowercase();
    for prefix in ["/users/", "/home/", "c:/users/"] {
        if lower.starts_with(prefix) {
            let rest = &p[prefix.len()..];
            return rest.split_once('/').map(|(_, r)| r.to_string());
        }
    }
    p.strip_prefix("/root/").map(str::to_string)
}

/// Which client a configuration belongs to, by where it is kept.
pub fn client_by_path(path: &str) -> Option<&'static str> {
    let p = path.replace('\\', "/");
    let file = p.rsplit('/').next().unwrap_or(&p);
    let under = |dir: &str| p.contains(dir);
    let ext = |e: &str| file.ends_with(e);
    if under(".continue/mcpServers/") {
        if ext(".yaml") || ext(".yml") {
            return Some("continue");
        }
        if ext(".json") {
            return Some("mcp");
        }
    }
    Some(match file {
        "config.yaml" | "config.yml" if under(".continue/") => "continue",
        "claude_desktop_config.json" => "claude-desktop",
        ".claude.json" => "claude-code",
        ".mcp.json" => "claude-code",
        "mcp_config.json" if under("/.codeium/") || under(".codeium/") => "windsurf",
        "cline_mcp_settings.json" => "cline",
        "config.toml" if under(".codex/") => "codex",
        "settings.json" if under(".gemini/") => "gemini-cli",
        "settings.json" if under("zed/") => "zed",
        "settings.json" if under("Code/User/") || under(".vscode/") => "vscode-settings",
        "mcp.json" if under(".cursor/") => "cursor",
        "mcp.json" if under(".vscode/") || under("Code/User/") => "vscode",
        "mcp.json" => "mcp",
        _ => return None,
    })
}

/// Which client a file belongs to: by where it is kept, else by content (a
/// copied or renamed configuration).
pub fn client_of(path: &str, text: &str) -> Option<&'static str> {
    if let Some(c) = client_by_path(path) {
        return Some(c);
    }
    if text.contains("[mcp_servers.") {
        return Some("codex");
    }
    // One search before the line-by-line check: most files never say it.
    if text.contains("mcpServers:") && text.lines().any(|l| l.trim_end() == "mcpServers:") {
        return Some("continue");
    }
    let head = text.trim_start();
    if !(head.starts_with('{') || head.starts_with("//") || head.starts_with("/*")) {
        return None;
    }
    if text.contains("\"mcpServers\"") {
        Some("mcp")
    } else if text.contains("\"context_servers\"") {
        Some("zed")
    } else {
        None
    }
}

/// The server entries of a parsed JSON configuration: `(pointer, name,
/// spec)`, wherever the client keeps them.
pub fn json_entries<'a>(client: &str, doc: &'a Value) -> Vec<(String, &'a str, &'a Value)> {
    let mut out = Vec::new();
    let mut add = |base: String, servers: Option<&'a Value>| {
        for (name, spec) in servers.and_then(Value::as_object).into_iter().flatten() {
            out.push((format!("{base}/{}", escape(name)), name.as_str(), spec));
        }
    };
    match client {
        "vscode" => add("/servers".into(), doc.get("servers")),
        "vscode-settings" => {
            add("/mcp.servers".into(), doc.get("mcp.servers"));
            add(
                "/mcp/servers".into(),
                doc.get("mcp").and_then(|m| m.get("servers")),
            );
        }
        "zed" => add("/context_servers".into(), doc.get("context_servers")),
        _ => {
            add("/mcpServers".into(), doc.get("mcpServers"));
            if doc.get("mcpServers").is_none() {
                add("/servers".into(), doc.get("servers"));
            }
            // Claude Code keeps each project's servers under its folder.
            for (dir, project) in doc
                .get("projects")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                add(
                    format!("/projects/{}/mcpServers", escape(dir)),
                    project.get("mcpServers"),
                );
            }
        }
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Every server a configuration holds, or `None` when it is not one.
/// `text` is the file's text (JSONC comments and trailing commas allowed).
pub fn servers(path: &str, text: &str) -> Option<(&'static str, Vec<Server>)> {
    let client = client_of(path, text)?;
    if client == "codex" {
        let doc: toml::Table = toml::from_str(text).ok()?;
        let table = doc.get("mcp_servers")?.as_table()?;
        let json = serde_json::to_value(table).ok()?;
        let list = json
            .as_object()?
            .iter()
            .map(|(name, spec)| server(name, format!("mcp_servers.{name}"), spec))
            .collect();
        return Some((client, list));
    }
    if client == "continue" {
        let doc: Value = serde_norway::from_str(text).ok()?;
        let list = match doc.get("mcpServers")? {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, spec)| {
                    let name = spec.get("name").and_then(Value::as_str)?;
                    Some(server(name, format!("/mcpServers/{i}"), spec))
                })
                .collect(),
            Value::Object(map) => map
                .iter()
                .map(|(name, spec)| server(name, format!("/mcpServers/{}", escape(name)), spec))
                .collect(),
            _ => return None,
        };
        return Some((client, list));
    }
    let doc: Value = serde_json::from_str(&crate::structured::strip_jsonc(text)).ok()?;
    let entries = json_entries(client, &doc);
    if entries.is_empty() && client_by_path(path).is_none() {
        return None;
    }
    Some((
        client,
        entries
            .into_iter()
            .map(|(pointer, name, spec)| server(name, pointer, spec))
            .collect(),
    ))
}

/// Variable names a string reads: `${VAR}`, `${env:VAR}`, `$VAR`, and
/// Continue's `${{ secrets.VAR }}` (`${input:…}` prompts the user and
/// `${workspaceFolder}`-style editor variables are not the environment).
pub fn references(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    let is_name = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    while i < b.len() {
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        if s[i..].starts_with("${{") {
            let Some(end) = s[i + 3..].find("}}") else {
                break;
            };
            let inner = s[i + 3..i + 3 + end].trim();
            if let Some(name) = inner.strip_prefix("secrets.") {
                if !name.is_empty() && name.bytes().all(is_name) {
                    out.push(name.to_string());
                }
            }
            i += 5 + end;
            continue;
        }
        if b.get(i + 1) == Some(&b'{') {
            if let Some(end) = s[i + 2..].find('}') {
                let inner = &s[i + 2..i + 2 + end];
                let name = inner.strip_prefix("env:").unwrap_or(inner);
                let env_like = inner.starts_with("env:")
                    || name
                        .bytes()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_');
                if env_like && !name.is_empty() && name.bytes().all(is_name) {
                    out.push(name.to_string());
                }
                i += 3 + end;
                continue;
            }
        }
        let start = i + 1;
        let mut j = start;
        while j < b.len() && is_name(b[j]) {
            j += 1;
        }
        if j > start && !b[start].is_ascii_digit() {
            out.push(s[start..j].to_string());
        }
        i = j.max(i + 1);
    }
    out
}

fn strings(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) => vec![s.as_str()],
        _ => Vec::new(),
    }
}

fn server(name: &str, pointer: String, spec: &Value) -> Server {
    // Zed's older form: `"command": {"path", "args", "env"}`.
    let (program, args, env) = match spec.get("command") {
        Some(Value::Object(c)) => (
            c.get("path").and_then(Value::as_str),
            strings(c.get("args")),
            c.get("env").or_else(|| spec.get("env")),
        ),
        other => (
            other.and_then(Value::as_str),
            strings(spec.get("args")),
            spec.get("env"),
        ),
    };
    let url = ["url", "serverUrl", "httpUrl"]
        .iter()
        .find_map(|k| spec.get(*k).and_then(Value::as_str));
    let mut needs = Vec::new();
    let mut sets = Vec::new();
    let mut files = Vec::new();
    let mut aws_profile = None;
    for (k, v) in env.and_then(Value::as_object).into_iter().flatten() {
        match v.as_str() {
            Some(s)
                if !references(s).is_empty()
                    && !s.starts_with("${HOME}/")
                    && !s.starts_with("$HOME/") =>
            {
                needs.extend(references(s))
            }
            Some(s) if !s.is_empty() => {
                sets.push(k.clone());
                if names_a_file(k)
                    || (crate::structured::is_path(s) && k.to_ascii_uppercase().contains("CRED"))
                {
                    files.push((k.clone(), s.to_string()));
                }
                if k == "AWS_PROFILE" {
                    aws_profile = Some(s.to_string());
                }
            }
            _ => {}
        }
    }
    for a in &args {
        needs.extend(references(a));
    }
    // `docker run -e VAR` passes the host's VAR; `-e VAR=value` sets it.
    for w in args.windows(2) {
        if w[0] == "-e" || w[0] == "--env" {
            match w[1].split_once('=') {
                None => needs.push(w[1].to_string()),
                Some((k, v)) if references(v).is_empty() => sets.push(k.to_string()),
                Some(_) => {}
            }
        }
    }
    for field in ["headers", "http_headers", "env_http_headers"] {
        for (_, v) in spec
            .get(field)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if let Some(s) = v.as_str() {
                needs.extend(references(s));
            }
        }
    }
    // Codex: `env_vars = ["VAR"]` passes variables through; a bearer token
    // from the environment names its variable.
    for k in ["env_vars", "bearer_token_env_var"] {
        needs.extend(strings(spec.get(k)).into_iter().map(str::to_string));
    }
    needs.sort();
    needs.dedup();
    sets.sort();
    sets.dedup();
    let command = program.map(|p| {
        let base = p.replace('\\', "/");
        let base = base.rsplit('/').next().unwrap_or(&base).to_string();
        // The package or image a runner starts: the first argument that is
        // not a flag (after `run` for docker).
        let rest: Vec<&str> = args
            .iter()
            .copied()
            .skip_while(|a| base == "docker" && *a != "run")
            .skip(usize::from(base == "docker"))
            .collect();
        let mut it = rest.iter();
        let mut package = None;
        while let Some(a) = it.next() {
            if base == "docker" && (*a == "-e" || *a == "--env" || *a == "-v" || *a == "--name") {
                it.next();
                continue;
            }
            if !a.starts_with('-') {
                package = Some(*a);
                break;
            }
        }
        match package {
            Some(pkg)
                if ["npx", "uvx", "docker", "pnpm", "bunx", "pipx", "uv"]
                    .contains(&base.as_str()) =>
            {
                format!("{base} {pkg}")
            }
            _ => base,
        }
    });
    Server {
        name: name.to_string(),
        pointer,
        transport: if url.is_some() && program.is_none() {
            "remote"
        } else {
            "stdio"
        },
        command,
        url: url.map(|u| u.split(['?', '#']).next().unwrap_or(u).to_string()),
        needs,
        sets,
        files,
        aws_profile,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_environment_variables_only() {
        assert_eq!(references("${GITHUB_TOKEN}"), ["GITHUB_TOKEN"]);
        assert_eq!(
            references("Bearer ${env:LINEAR_API_KEY}"),
            ["LINEAR_API_KEY"]
        );
        assert_eq!(references("$HOME/bin:$PATH"), ["HOME", "PATH"]);
        assert!(references("${input:github_token}").is_empty());
        assert!(references("${workspaceFolder}/src").is_empty());
        assert!(references("ghp_literal").is_empty());
    }

    #[test]
    fn credential_files_are_named_and_found_below_the_home() {
        let cfg = r#"{"mcpServers": {"bq": {"command": "npx", "args": ["-y", "mcp-bigquery"],
            "env": {"GOOGLE_APPLICATION_CREDENTIALS": "/Users/ana/keys/sa.json", "AWS_PROFILE": "analytics",
                    "KUBECONFIG": "~/.kube/prod.yaml", "MODE": "ro"}}}}"#;
        let (_, s) = servers(
            "/Users/ana/Library/Application Support/Claude/claude_desktop_config.json",
            cfg,
        )
        .unwrap();
        let mut files = s[0].files.clone();
        files.sort();
        assert_eq!(
            files,
            [
                (
                    "GOOGLE_APPLICATION_CREDENTIALS".to_string(),
                    "/Users/ana/keys/sa.json".to_string()
                ),
                ("KUBECONFIG".to_string(), "~/.kube/prod.yaml".to_string()),
            ]
        );
        assert_eq!(s[0].aws_profile.as_deref(), Some("analytics"));
        assert_eq!(
            below_home("/Users/ana/keys/sa.json").as_deref(),
            Some("keys/sa.json")
        );
        assert_eq!(
            below_home("/home/ana/.kube/config").as_deref(),
            Some(".kube/config")
        );
        assert_eq!(
            below_home("C:\\Users\\ana\\keys\\sa.json").as_deref(),
            Some("keys/sa.json")
        );
        assert_eq!(below_home("~/.netrc").as_deref(), Some(".netrc"));
        assert_eq!(below_home("/srv/keys/sa.json"), None);
    }

    #[test]
    fn each_client_is_found_by_location_and_by_content() {
        assert_eq!(
            client_by_path(
                "/Users/ana/Library/Application Support/Claude/claude_desktop_config.json"
            ),
            Some("claude-desktop")
        );
        assert_eq!(
            client_by_path("/home/ana/.claude.json"),
            Some("claude-code")
        );
        assert_eq!(client_by_path("repo/.mcp.json"), Some("claude-code"));
        assert_eq!(client_by_path("/home/ana/.cursor/mcp.json"), Some("cursor"));
        assert_eq!(client_by_path("repo/.vscode/mcp.json"), Some("vscode"));
        assert_eq!(
            client_by_path("/home/ana/.config/Code/User/settings.json"),
            Some("vscode-settings")
        );
        assert_eq!(
            client_by_path("/home/ana/.codeium/windsurf/mcp_config.json"),
            Some("windsurf")
        );
        assert_eq!(
            client_by_path("C:\\Users\\ana\\AppData\\Roaming\\Code\\User\\globalStorage\\saoudrizwan.claude-dev\\settings\\cline_mcp_settings.json"),
            Some("cline")
        );
        assert_eq!(
            client_by_path("/home/ana/.gemini/settings.json"),
            Some("gemini-cli")
        );
        assert_eq!(
            client_by_path("/home/ana/.config/zed/settings.json"),
            Some("zed")
        );
        assert_eq!(
            client_by_path("/home/ana/.codex/config.toml"),
            Some("codex")
        );
        assert_eq!(client_by_path("/home/ana/notes/settings.json"), None);
        // Copied or renamed: by content.
        assert_eq!(
            client_of("backup/old.json", r#"{"mcpServers": {}}"#),
            Some("mcp")
        );
        assert_eq!(
            client_of(
                "backup/codex.toml",
                "[mcp_servers.docs]\ncommand = \"npx\"\n"
            ),
            Some("codex")
        );
        assert_eq!(client_of("package.json", r#"{"name": "x"}"#), None);
        assert_eq!(
            client_by_path("/home/ana/.continue/config.yaml"),
            Some("continue")
        );
        assert_eq!(
            client_by_path("repo/.continue/mcpServers/github.yaml"),
            Some("continue")
        );
        assert_eq!(
            client_by_path("repo/.continue/mcpServers/claude.json"),
            Some("mcp")
        );
        assert_eq!(
            client_of(
                "backup/continue.yaml",
                "name: x\nmcpServers:\n  - name: a\n"
            ),
            Some("continue")
        );
        assert_eq!(client_of("ci.yaml", "name: x\njobs:\n"), None);
    }

    #[test]
    fn continue_yaml_lists_servers_with_secrets_read_from_its_env() {
        // As Continue's documentation writes them: a config.yaml block and a
        // standalone .continue/mcpServers/*.yaml file.
        let cfg = "name: My Config\nversion: 0.0.1\nschema: v1\nmodels: []\nmcpServers:\n  - name: GitHub\n    command: npx\n    args:\n      - \"-y\"\n      - \"@modelcontextprotocol/server-github\"\n    env:\n      GITHUB_PERSONAL_ACCESS_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n  - name: Docs\n    type: sse\n    url: https://mcp.example.com/sse?key=abc\n  - name: SQLite\n    command: uvx\n    args: [\"mcp-server-sqlite\", \"--db-path\", \"/tmp/test.db\"]\n";
        let (client, s) = servers("/home/ana/.continue/config.yaml", cfg).unwrap();
        assert_eq!(client, "continue");
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].name, "GitHub");
        assert_eq!(s[0].pointer, "/mcpServers/0");
        assert_eq!(s[0].transport, "stdio");
        assert_eq!(s[0].needs, vec!["GITHUB_TOKEN".to_string()]);
        assert_eq!(s[1].transport, "remote");
        assert_eq!(s[1].url.as_deref(), Some("https://mcp.example.com/sse"));
        assert!(s[2].needs.is_empty() && s[2].sets.is_empty());
        // Malformed YAML is not a configuration (and never a panic).
        assert_eq!(
            servers("/home/ana/.continue/config.yaml", "mcpServers: [\n  - {"),
            None
        );
    }

    #[test]
    fn every_server_is_read_with_what_it_needs() {
        let cfg = r#"{
          // JSONC: comments and trailing commas
          "servers": {
            "github": {"type": "http", "url": "https://api.githubcopilot.com/mcp/?x=1",
                       "headers": {"Authorization": "Bearer ${input:github_token}"}},
            "db": {"command": "docker", "args": ["run", "-i", "--rm", "-e", "PGPASSWORD", "-e", "MODE=ro", "mcp/postgres"]},
            "fs": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "${workspaceFolder}"]},
            "linear": {"command": "npx", "args": ["-y", "mcp-remote", "https://mcp.linear.app/sse"],
                       "env": {"LINEAR_API_KEY": "${env:LINEAR_API_KEY}", "DEBUG": "1"}},
          },
        }"#;
        let (client, s) = servers("repo/.vscode/mcp.json", cfg).unwrap();
        assert_eq!(client, "vscode");
        assert_eq!(s.len(), 4);
        let by = |n: &str| s.iter().find(|x| x.name == n).unwrap();
        assert_eq!(by("github").transport, "remote");
        assert_eq!(
            by("github").url.as_deref(),
            Some("https://api.githubcopilot.com/mcp/")
        );
        assert!(
            by("github").needs.is_empty(),
            "an input prompt is not the environment"
        );
        assert_eq!(by("db").command.as_deref(), Some("docker mcp/postgres"));
        assert_eq!(by("db").needs, ["PGPASSWORD"]);
        assert_eq!(by("db").sets, ["MODE"]);
        assert_eq!(
            by("fs").command.as_deref(),
            Some("npx @modelcontextprotocol/server-filesystem")
        );
        assert_eq!(by("linear").needs, ["LINEAR_API_KEY"]);
        assert_eq!(by("linear").sets, ["DEBUG"]);
        assert_eq!(by("linear").pointer, "/servers/linear");
    }

    #[test]
    fn claude_code_projects_zed_and_codex_shapes() {
        let claude = r#"{"numStartups": 3, "mcpServers": {"sentry": {"type": "sse", "url": "https://mcp.sentry.dev/sse"}},
            "projects": {"/Users/ana/src/api": {"mcpServers": {"pg": {"command": "uvx", "args": ["mcp-server-postgres"], "env": {"DATABASE_URL": "$DATABASE_URL"}}}}}}"#;
        let (_, s) = servers("/Users/ana/.claude.json", claude).unwrap();
        assert_eq!(s.len(), 2);
        let pg = s.iter().find(|x| x.name == "pg").unwrap();
        assert_eq!(pg.pointer, "/projects/~1Users~1ana~1src~1api/mcpServers/pg");
        assert_eq!(pg.needs, ["DATABASE_URL"]);
        let zed = r#"{"theme": "One Dark", "context_servers": {
            "old": {"command": {"path": "/usr/local/bin/mcp-git", "args": [], "env": {"GIT_TOKEN": "${GIT_TOKEN}"}}},
            "new": {"command": "npx", "args": ["-y", "@upstash/context7-mcp"], "env": {}}}}"#;
        let (client, s) = servers("/home/ana/.config/zed/settings.json", zed).unwrap();
        assert_eq!(client, "zed");
        let by = |n: &str| s.iter().find(|x| x.name == n).unwrap();
        assert_eq!(by("old").command.as_deref(), Some("mcp-git"));
        assert_eq!(by("old").needs, ["GIT_TOKEN"]);
        assert_eq!(
            by("new").command.as_deref(),
            Some("npx @upstash/context7-mcp")
        );
        let codex = "model = \"o3\"\n\n[mcp_servers.brave]\ncommand = \"npx\"\nargs = [\"-y\", \"@modelcontextprotocol/server-brave-search\"]\nenv = { \"BRAVE_API_KEY\" = \"${BRAVE_API_KEY}\" }\n\n[mcp_servers.docs]\nurl = \"https://docs.example.com/mcp\"\nbearer_token_env_var = \"DOCS_TOKEN\"\n";
        let (client, s) = servers("/home/ana/.codex/config.toml", codex).unwrap();
        assert_eq!(client, "codex");
        assert_eq!(s.len(), 2);
        let by = |n: &str| s.iter().find(|x| x.name == n).unwrap();
        assert_eq!(by("brave").needs, ["BRAVE_API_KEY"]);
        assert_eq!(by("docs").transport, "remote");
        assert_eq!(by("docs").needs, ["DOCS_TOKEN"]);
    }
}
