//! Where the planted key was copied: the seed's "one credential, many surfaces".
//! Besides IAM (authorization details, credential report, `list-access-keys`),
//! the leaver's export key sits in a repository's `.env`, in a Kubernetes Secret
//! (as `kubectl get secret -A -o json` prints it: base64 `data`) and in an
//! engineer's Cursor MCP configuration. Values are synthetic; the files are what
//! those systems hold.

use crate::rng::Rng;
use crate::write::Writer;
use crate::SynthError;
use serde_json::{json, Value};

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn b64(data: &str) -> String {
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
fn secret_key(rng: &mut Rng) -> String {
    (0..40).map(|_| B64[rng.below(64)] as char).collect()
}

/// Writes the surfaces; returns what `custody show <key>` should list as places.
pub fn write(
    w: &mut Writer,
    rng: &mut Rng,
    scenario: &Value,
    team: &str,
    owner_handle: &str,
) -> Result<Vec<String>, SynthError> {
    let Some(key) = scenario["access_key_id"].as_str() else {
        return Ok(Vec::new());
    };
    let secret = secret_key(rng);
    let repo = format!("repos/{team}-reporting");
    w.text(
        &format!("{repo}/.env"),
        &format!("# nightly finance export\nAWS_REGION=us-east-1\nAWS_ACCESS_KEY_ID={key}\nAWS_SECRET_ACCESS_KEY={secret}\nREPORT_BUCKET=s3://{team}-reports\nLOG_LEVEL=info\n"),
    )?;
    w.text(
        &format!("{repo}/README.md"),
        "# reporting export\n\nCopy `.env.example` to `.env` and fill in the credentials.\n",
    )?;
    w.text(
        &format!("{repo}/.env.example"),
        "AWS_REGION=us-east-1\nAWS_ACCESS_KEY_ID=\nAWS_SECRET_ACCESS_KEY=\n",
    )?;
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
    Ok(vec![
        format!("{repo}/.env"),
        "k8s://finance/secrets/reporting-export-aws".to_string(),
        mcp_path,
    ])
}

fn rng_uid(name: &str) -> String {
    format!("{:08x}", crate::surfaces_hash(name))
}
