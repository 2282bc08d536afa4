//! AWS access keys: `sts:GetCallerIdentity` through the official SDK, signed
//! with the found key. It needs no permission, changes nothing, and names the
//! principal and account the key belongs to.

use crate::{verdict, Candidate, State, Verdict, AWS_STS};
use aws_sdk_sts::error::ProvideErrorMetadata;
use std::time::Duration;

/// Where to send it: `CUSTODY_VALIDATE_AWS_URL`, else the SDK's own
/// `AWS_ENDPOINT_URL_STS` / `AWS_ENDPOINT_URL` (a local emulator), else STS.
fn endpoint() -> Option<String> {
    crate::override_for("aws")
        .or_else(|| std::env::var("AWS_ENDPOINT_URL_STS").ok())
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .filter(|v| !v.trim().is_empty())
}

pub(crate) async fn check(c: &Candidate, timeout: Duration) -> Verdict {
    let unknown = |detail: String| verdict(c, AWS_STS, "aws", State::Unknown, detail);
    let Some(key_id) = c.key_id.clone() else {
        return unknown("no access key id was found beside the secret".into());
    };
    let credentials = c.secret.with_value(|secret| {
        aws_sdk_sts::config::Credentials::new(
            key_id.clone(),
            secret.to_string(),
            None,
            None,
            "custody-validate",
        )
    });
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut config = aws_sdk_sts::Config::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        // STS answers for every key in the partition from its global endpoint.
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .http_client(http)
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_timeout(timeout)
                .connect_timeout(timeout)
                .build(),
        )
        // One retry: a throttled or failed call is then `unknown`, not retried into a storm.
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2));
    if let Some(url) = endpoint() {
        config = config.endpoint_url(url);
    }
    let client = aws_sdk_sts::Client::from_conf(config.build());
    match client.get_caller_identity().send().await {
        Ok(who) => {
            let mut v = verdict(
                c,
                AWS_STS,
                "aws",
                State::Live,
                "GetCallerIdentity succeeded".into(),
            );
            v.principal = who.arn().map(str::to_string);
            v.account = who.account().map(str::to_string);
            v
        }
        Err(e) => {
            // The error code, never the message (it may quote the request).
            // Emulators that wrap it as IAM does (`<Errors><Error>`) are read
            // from the raw answer, which holds no secret.
            let code = e
                .code()
                .map(str::to_string)
                .or_else(|| {
                    let body = e.raw_response()?.body().bytes()?;
                    let text = std::str::from_utf8(body).ok()?;
                    let start = text.find("<Code>")? + "<Code>".len();
                    let len = text[start..].find("</Code>")?;
                    Some(text[start..start + len].to_string())
                })
                .filter(|c| {
                    c.len() <= 64 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
                })
                .unwrap_or_default();
            match code.as_str() {
                // Unknown, deleted or deactivated key; expired session.
                "InvalidClientTokenId" | "ExpiredToken" | "ExpiredTokenException" => {
                    verdict(c, AWS_STS, "aws", State::Revoked, code)
                }
                // The key exists but this secret is not its secret.
                "SignatureDoesNotMatch" => verdict(
                    c,
                    AWS_STS,
                    "aws",
                    State::Revoked,
                    "SignatureDoesNotMatch: the secret found is not this key's".into(),
                ),
                // Authenticated, then refused: the key works.
                "AccessDenied" | "AccessDeniedException" => {
                    verdict(c, AWS_STS, "aws", State::Live, code)
                }
                "" => unknown(match &e {
                    aws_sdk_sts::error::SdkError::TimeoutError(_) => {
                        format!("no answer from STS within {} s", timeout.as_secs())
                    }
                    aws_sdk_sts::error::SdkError::DispatchFailure(_) => {
                        "cannot reach STS".to_string()
                    }
                    _ => "STS gave no error code".to_string(),
                }),
                other => unknown(other.to_string()),
            }
        }
    }
}
