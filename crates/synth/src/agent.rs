//! The planted AI agent: an engineer's Claude Desktop runs an `ops-assistant`
//! MCP server whose environment holds a GitHub PAT, an OpenAI key, an
//! Anthropic key, an Okta API token and the server's own API key, on a
//! laptop whose `~/.aws/credentials` holds a real IAM access key and whose
//! gcloud Application Default Credentials are a real service-account key
//! file. Seven credentials, one subject: what custody must show as one agent.
//!
//! Values are synthetic but shaped as each issuer makes them (the GitHub
//! token carries its CRC32 checksum), so a scanner finds each for what it is.

use crate::aws::KeyUse;
use crate::people::Org;
use crate::rng::Rng;
use crate::surfaces::secret_key;
use crate::write::Writer;
use crate::SynthError;
use serde_json::{json, Value};

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn chars(rng: &mut Rng, n: usize) -> String {
    (0..n).map(|_| ALNUM[rng.below(62)] as char).collect()
}

/// A classic PAT with its checksum: `ghp_` + 30 random + base62(CRC32) in 6.
fn github_pat(rng: &mut Rng) -> String {
    let body = chars(rng, 30);
    let mut crc = flate2::Crc::new();
    crc.update(body.as_bytes());
    let mut n = crc.sum() as u64;
    let mut digits = [b'0'; 6];
    for d in digits.iter_mut().rev() {
        *d = ALNUM_BASE62[(n % 62) as usize];
        n /= 62;
    }
    format!("ghp_{body}{}", String::from_utf8_lossy(&digits))
}

/// GitHub's base62 alphabet for the checksum: digits, upper, lower.
const ALNUM_BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Writes the agent's host; returns the answer.
pub fn write(
    w: &mut Writer,
    rng: &mut Rng,
    org: &Org,
    keys: &[KeyUse],
    gcp_key: Option<&(String, String, String)>,
    avoid: &[String],
) -> Result<Option<Value>, SynthError> {
    // An active engineer who is not another scenario's subject.
    let Some(person) = org.people.iter().find(|p| {
        p.department == "Engineering" && p.terminated.is_none() && !avoid.contains(&p.email)
    }) else {
        return Ok(None);
    };
    // The engineer's own IAM user's key if they have one, else a service
    // key of theirs, else any active key (a shared one, copied around).
    let handle = person.email.split('@').next().unwrap_or("dev");
    let me = org.people.iter().position(|p| p.email == person.email);
    let Some(aws_key) = keys
        .iter()
        .find(|k| k.active && k.human && k.user_name.contains(handle))
        .or_else(|| {
            keys.iter()
                .find(|k| k.active && me.is_some() && k.owner == me)
        })
        .or_else(|| keys.iter().find(|k| k.active))
    else {
        return Ok(None);
    };
    let Some((sa, key_id, project)) = gcp_key else {
        return Ok(None);
    };
    let home = format!("workstations/{handle}");
    let config = format!("{home}/.config/Claude/claude_desktop_config.json");
    let doc = json!({"mcpServers": {
        "ops-assistant": {"command": "npx", "args": ["-y", "@northwind/ops-assistant-mcp@2.3.1"],
            "env": {
                "GITHUB_PERSONAL_ACCESS_TOKEN": github_pat(rng),
                "OPENAI_API_KEY": format!("sk-proj-{}T3BlbkFJ{}", chars(rng, 28), chars(rng, 28)),
                "ANTHROPIC_API_KEY": format!("sk-ant-api03-{}-{}AA", chars(rng, 60), chars(rng, 30)),
                "OKTA_API_TOKEN": format!("00{}", chars(rng, 40)),
                "OPS_ASSISTANT_API_KEY": format!("oa_live_{}", chars(rng, 40)),
                "AWS_PROFILE": "default",
                "GOOGLE_CLOUD_PROJECT": project
            }},
        "filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", format!("/home/{handle}/src")]}
    }});
    w.json(&config, &doc, false)?;
    w.text(
        &format!("{home}/.aws/credentials"),
        &format!(
            "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\nregion = us-east-1\n",
            aws_key.id,
            secret_key(rng)
        ),
    )?;
    let pem_body: String = (0..16)
        .map(|_| chars(rng, 64))
        .collect::<Vec<_>>()
        .join("\\n");
    let adc = format!(
        "{{\n  \"type\": \"service_account\",\n  \"project_id\": \"{project}\",\n  \"private_key_id\": \"{key_id}\",\n  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ{pem_body}\\n-----END PRIVATE KEY-----\\n\",\n  \"client_email\": \"{sa}\",\n  \"client_id\": \"{}\",\n  \"auth_uri\": \"https://accounts.google.com/o/oauth2/auth\",\n  \"token_uri\": \"https://oauth2.googleapis.com/token\",\n  \"auth_provider_x509_cert_url\": \"https://www.googleapis.com/oauth2/v1/certs\",\n  \"client_x509_cert_url\": \"https://www.googleapis.com/robot/v1/metadata/x509/{}\",\n  \"universe_domain\": \"googleapis.com\"\n}}\n",
        rng.digits(21),
        sa.replace('@', "%40")
    );
    w.text(
        &format!("{home}/.config/gcloud/application_default_credentials.json"),
        &adc,
    )?;
    Ok(Some(json!({
        "config": config,
        "server": "ops-assistant",
        "owner_email": person.email,
        "credentials": [
            {"kind": "aws_access_key", "key": format!("aws-access-key:{}", aws_key.id), "where": ".aws/credentials (ambient)"},
            {"kind": "gcp_service_account_key", "key": format!("id:gcp-sa-key/{key_id}"), "where": ".config/gcloud/application_default_credentials.json (ambient)"},
            {"kind": "github_token", "where": "env GITHUB_PERSONAL_ACCESS_TOKEN"},
            {"kind": "openai_api_key", "where": "env OPENAI_API_KEY"},
            {"kind": "anthropic_api_key", "where": "env ANTHROPIC_API_KEY"},
            {"kind": "okta_api_token", "where": "env OKTA_API_TOKEN"},
            {"kind": "own", "where": "env OPS_ASSISTANT_API_KEY"}
        ],
        "count": 7,
        "why": "one MCP server holds five credentials in its environment and can use the two its host keeps for every process (the AWS CLI's credentials file and gcloud's Application Default Credentials)",
        "requires": "custody scan --ingest of workstations/ (the config and the host's credential files in one scan) and custody ingest of aws/ and gcp/",
    })))
}
