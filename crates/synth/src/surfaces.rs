//! Where the planted key was copied: the seed's "one credential, many surfaces".
//! Besides IAM (authorization details, credential report, `list-access-keys`),
//! the leaver's export key sits in a repository's history (a `.env` committed,
//! edited and deleted), in a Kubernetes Secret
//! (as `kubectl get secret -A -o json` prints it: base64 `data`) and in an
//! engineer's Cursor MCP configuration. Values are synthetic; the files are what
//! those systems hold.

use crate::rng::Rng;
use crate::write::Writer;
use crate::SynthError;
use serde_json::{json, Value};

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub(crate) fn b64(data: &str) -> String {
    let bytes = data.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A synthetic secret access key: 40 characters of the AWS alphabet.
pub(crate) fn secret_key(rng: &mut Rng) -> String {
    (0..40).map(|_| B64[rng.below(64)] as char).collect()
}

/// Writes the surfaces; returns what `custody show <key>` should list as places.
pub fn write(
    w: &mut Writer,
    rng: &mut Rng,
    scenario: &Value,
    team: &str,
    owner_name: &str,
    owner_email: &str,
    domain: &str,
) -> Result<Vec<String>, SynthError> {
    let owner_handle = owner_email.split('@').next().unwrap_or("dev");
    let Some(key) = scenario["access_key_id"].as_str() else {
        return Ok(Vec::new());
    };
    let secret = secret_key(rng);
    // The repository, mirrored as the security team scans it: the key was
    // committed in `.env`, edited once, then deleted, so only history has it.
    let repo = format!("repos/{team}-reporting.git");
    let slug = org_slug(domain);
    let remote = format!("https://github.com/{slug}/{team}-reporting.git");
    let who = (owner_name, owner_email);
    let day = 86_400;
    // The repository's story ends a year before its author left.
    let start = scenario["owner_terminated_on"]
        .as_str()
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .and_then(|d| d.and_hms_opt(11, 6, 40))
        .map_or(1_741_000_000, |t| t.and_utc().timestamp() - 450 * day);
    let env = |level: &str| {
        format!("# nightly finance export\nAWS_REGION=us-east-1\nAWS_ACCESS_KEY_ID={key}\nAWS_SECRET_ACCESS_KEY={secret}\nREPORT_BUCKET=s3://{team}-reports\nLOG_LEVEL={level}\n")
    };
    let export_py = |hour: u32| {
        format!("import os\nimport boto3\n\n# Runs nightly at {hour:02}:00 UTC.\ns3 = boto3.client(\"s3\")\nBUCKET = os.environ[\"REPORT_BUCKET\"].removeprefix(\"s3://\")\n\n\ndef main():\n    s3.put_object(Bucket=BUCKET, Key=\"daily.csv\", Body=b\"...\")\n")
    };
    // The key id is written into the workflow (ids are not secret); its secret
    // is the repository's Actions secret, whose value GitHub never returns.
    let workflow = format!("name: nightly export\non:\n  schedule:\n    - cron: \"0 2 * * *\"\n  workflow_dispatch:\n\njobs:\n  export:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          aws-access-key-id: {key}\n          aws-secret-access-key: ${{{{ secrets.AWS_SECRET_ACCESS_KEY }}}}\n          aws-region: us-east-1\n      - run: python export.py\n        env:\n          REPORT_BUCKET: s3://{team}-reports\n          SLACK_WEBHOOK: ${{{{ secrets.SLACK_WEBHOOK_URL }}}}\n");
    let commits = [
        crate::git::Commit {
            author: who,
            time: start,
            message: "Reporting export: first version",
            changes: vec![
                ("README.md", Some("# reporting export\n\nCopy `.env.example` to `.env` and fill in the credentials.\n".into())),
                (".env.example", Some("AWS_REGION=us-east-1\nAWS_ACCESS_KEY_ID=\nAWS_SECRET_ACCESS_KEY=\n".into())),
                ("export.py", Some(export_py(1))),
                // The AWS documentation's example key: a placeholder, not a leak.
                ("tests/fixtures/credentials", Some("[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n".into())),
            ],
        },
        crate::git::Commit {
            author: who,
            time: start + 7 * day,
            message: "Add the nightly export configuration",
            changes: vec![(".env", Some(env("info")))],
        },
        crate::git::Commit {
            author: who,
            time: start + 30 * day,
            message: "Debug logging for the export",
            changes: vec![(".env", Some(env("debug")))],
        },
        crate::git::Commit {
            author: who,
            time: start + 31 * day,
            message: "Remove .env: run the export in GitHub Actions",
            changes: vec![
                (".env", None),
                (".gitignore", Some(".env\n".into())),
                (".github/workflows/export.yml", Some(workflow)),
            ],
        },
        crate::git::Commit {
            author: who,
            time: start + 60 * day,
            message: "Run the export at 02:00",
            changes: vec![("export.py", Some(export_py(2)))],
        },
    ];
    let ids = crate::git::write_repo(w, &repo, &remote, &commits)?;
    let history: Vec<String> = ids[1..3]
        .iter()
        .map(|id| format!("git://github.com/{slug}/{team}-reporting@{id}/.env"))
        .collect();
    let secret_obj = |name: &str, ns: &str, data: Value| {
        json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
               "metadata": {"name": name, "namespace": ns, "creationTimestamp": "2025-06-02T09:14:21Z",
                            "labels": {"team": team}, "resourceVersion": "48213", "uid": format!("{}-{}", rng_uid(name), ns)},
               "data": data})
    };
    let list = json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": [
        secret_obj("reporting-export-aws", "finance", json!({"AWS_ACCESS_KEY_ID": b64(key), "AWS_SECRET_ACCESS_KEY": b64(&secret)})),
        secret_obj("reporting-config", "finance", json!({"region": b64("us-east-1"), "bucket": b64(&format!("{team}-reports"))})),
    ]});
    w.json("kubernetes/prod/secrets.json", &list, false)?;
    let mcp = json!({"mcpServers": {
        "aws": {"command": "uvx", "args": ["awslabs.aws-api-mcp-server@latest"],
                "env": {"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret}},
        "filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/Users/dev/src"]}
    }});
    let mcp_path = format!("workstations/{owner_handle}/.cursor/mcp.json");
    w.json(&mcp_path, &mcp, false)?;
    // The same key, kept in Secrets Manager as `get-secret-value` returns it
    // (custody reads the value to fingerprint it, never to keep it).
    let account = scenario["account_id"].as_str().unwrap_or("000000000000");
    let sm_name = format!("{team}-reporting/aws-export");
    let arn = format!(
        "arn:aws:secretsmanager:us-east-1:{account}:secret:{sm_name}-{}",
        &rng_uid(&sm_name)[..6]
    );
    let inner = json!({"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret}).to_string();
    w.json(
        &format!("secretsmanager-values/{account}/{team}-reporting-aws-export.json"),
        &json!({"ARN": arn, "Name": sm_name, "VersionId": format!("{}-5e1c-4a0b-9d3f-8c2e7b6a1f04", rng_uid(&arn)),
                "SecretString": inner, "VersionStages": ["AWSCURRENT"], "CreatedDate": 1_741_592_800.123}),
        true,
    )?;
    let mut places = history;
    places.push(format!(
        "github://{slug}/{team}-reporting/actions/secrets/AWS_SECRET_ACCESS_KEY"
    ));
    places.push(format!("secretsmanager://{arn}"));
    places.push("k8s://prod/finance/secrets/reporting-export-aws".to_string());
    places.push(mcp_path);
    Ok(places)
}

/// The company's GitHub organisation: the first label of its domain.
pub(crate) fn org_slug(domain: &str) -> &str {
    domain.split('.').next().unwrap_or(domain)
}

fn rng_uid(name: &str) -> String {
    format!("{:08x}", crate::surfaces_hash(name))
}
