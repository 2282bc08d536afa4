//! Carries out response steps on real systems through their official SDKs:
//! AWS IAM so far (`custody respond --execute`).
//!
//! This crate owns the API clients and the calls, and turns each system's
//! answer into a plain outcome (status before and after, request id) or a
//! clear error. It must not decide *what* to do — the response plan
//! (`custody-app::respond`) does — and it never reads, creates or prints a
//! secret value: the calls it makes (list, deactivate) carry key ids only.

use aws_config::meta::region::RegionProviderChain;
use aws_config::BehaviorVersion;
use aws_sdk_iam::config::ProvideCredentials;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::operation::RequestId;
use aws_sdk_iam::types::StatusType;
use std::time::Duration;

/// What went wrong talking to a system, said so an operator can act on it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no AWS credentials to act with: {0} (set AWS_PROFILE or --profile, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")]
    NoCredentials(String),
    #[error("IAM refused {operation} on {target}: {code}: {message}")]
    Refused {
        operation: &'static str,
        target: String,
        code: String,
        message: String,
    },
    #[error("could not reach IAM for {operation} on {target}: {detail}")]
    Unreachable {
        operation: &'static str,
        target: String,
        detail: String,
    },
}

/// Where to act: the AWS profile and endpoint (defaults: the SDK's own chain,
/// which reads `AWS_PROFILE`, `AWS_ENDPOINT_URL`, `AWS_REGION`…).
#[derive(Debug, Default, Clone)]
pub struct AwsOptions {
    pub profile: Option<String>,
    /// An IAM-compatible endpoint (a local emulator such as moto or LocalStack).
    pub endpoint_url: Option<String>,
}

/// An IAM client with the identity it acts as.
pub struct Iam {
    client: aws_sdk_iam::Client,
    /// The access key id of the credentials in use (an identifier, not a
    /// secret), for the response log's "who".
    pub acting_key_id: String,
}

/// An access key's status as IAM reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyStatus {
    Active,
    Inactive,
    /// The user has no such key (already deleted, or another account).
    Absent,
}

impl std::fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeyStatus::Active => "Active",
            KeyStatus::Inactive => "Inactive",
            KeyStatus::Absent => "absent",
        })
    }
}

/// What one call did.
#[derive(Debug, Clone)]
pub struct Done {
    pub before: KeyStatus,
    pub after: KeyStatus,
    /// The request id of the changing call; `None` when nothing had to change.
    pub request_id: Option<String>,
}

fn refused<E>(operation: &'static str, target: &str, e: SdkError<E>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match &e {
        SdkError::ServiceError(s) => Error::Refused {
            operation,
            target: target.to_string(),
            code: s.err().code().unwrap_or("error").to_string(),
            message: s.err().message().unwrap_or("no message").to_string(),
        },
        _ => Error::Unreachable {
            operation,
            target: target.to_string(),
            detail: chain(&e),
        },
    }
}

/// An error and its causes on one line, without the SDK's debug dumps.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = s.source();
    }
    out
}

impl Iam {
    /// Loads the AWS configuration and checks that credentials are there (IAM is
    /// global: the region only picks the signing region, `us-east-1` by default).
    pub async fn connect(options: &AwsOptions) -> Result<Iam, Error> {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .operation_timeout(Duration::from_secs(60))
                    .connect_timeout(Duration::from_secs(10))
                    .build(),
            );
        // IAM is global: the region only picks the partition's endpoint and the
        // signing region. From the environment or the profile, never from the
        // instance metadata service (a slow, noisy probe off EC2).
        let mut profile_region = aws_config::profile::ProfileFileRegionProvider::builder();
        if let Some(p) = &options.profile {
            loader = loader.profile_name(p);
            profile_region = profile_region.profile_name(p);
        }
        loader = loader.region(
            RegionProviderChain::first_try(
                aws_config::environment::EnvironmentVariableRegionProvider::new(),
            )
            .or_else(profile_region.build())
            .or_else("us-east-1"),
        );
        if let Some(u) = &options.endpoint_url {
            loader = loader.endpoint_url(u);
        }
        let config = loader.load().await;
        let provider = config
            .credentials_provider()
            .ok_or_else(|| Error::NoCredentials("no credentials provider configured".into()))?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| Error::NoCredentials(chain(&e)))?;
        Ok(Iam {
            client: aws_sdk_iam::Client::new(&config),
            acting_key_id: credentials.access_key_id().to_string(),
        })
    }

    /// The key's status under this user (`ListAccessKeys`).
    pub async fn key_status(&self, user: &str, key_id: &str) -> Result<KeyStatus, Error> {
        let target = format!("user {user}");
        let mut pages = self
            .client
            .list_access_keys()
            .user_name(user)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| refused("iam:ListAccessKeys", &target, e))?;
            for k in page.access_key_metadata() {
                if k.access_key_id() == Some(key_id) {
                    return Ok(match k.status() {
                        Some(StatusType::Active) => KeyStatus::Active,
                        _ => KeyStatus::Inactive,
                    });
                }
            }
        }
        Ok(KeyStatus::Absent)
    }

    /// Deactivates the key (`UpdateAccessKey` to `Inactive`), then reads its
    /// status back. A key already inactive is left alone; a key the user does
    /// not hold is an error (wrong account or profile, or already deleted).
    pub async fn deactivate_key(&self, user: &str, key_id: &str) -> Result<Done, Error> {
        let before = self.key_status(user, key_id).await?;
        let request_id = match before {
            KeyStatus::Absent => {
                return Err(Error::Refused {
                    operation: "iam:UpdateAccessKey",
                    target: key_id.to_string(),
                    code: "NoSuchEntity".into(),
                    message: format!(
                        "user {user} holds no key {key_id} in the account these credentials reach (another account or profile? already deleted?)"
                    ),
                })
            }
            KeyStatus::Inactive => None,
            KeyStatus::Active => {
                let out = self
                    .client
                    .update_access_key()
                    .user_name(user)
                    .access_key_id(key_id)
                    .status(StatusType::Inactive)
                    .send()
                    .await
                    .map_err(|e| refused("iam:UpdateAccessKey", key_id, e))?;
                Some(out.request_id().unwrap_or("none").to_string())
            }
        };
        let after = self.key_status(user, key_id).await?;
        Ok(Done {
            before,
            after,
            request_id,
        })
    }
}
