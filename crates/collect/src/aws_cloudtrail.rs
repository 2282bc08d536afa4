//! CloudTrail as delivered: the caller's trails (`DescribeTrails`, an
//! organisation trail included), then every log file the trail's bucket
//! received in a time window, copied byte for byte (gzip) into the snapshot
//! under `cloudtrail/<bucket>/<key>`, where ingest reads it as any
//! CloudTrail file. The window starts where the last collection ended, so
//! each run reads only what is new.
//!
//! Files are found by their documented key layout,
//! `[prefix/]AWSLogs/[o-org/]<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/…`:
//! the accounts and regions are listed with a delimiter, then one listing per
//! day of the window, and objects are kept by their `LastModified`.

use crate::aws_inventory::{client, elements, json_call, text};
use crate::http::Failed;
use crate::{write, Tally};
use aws_credential_types::Credentials;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::path::Path;

/// What SigV4 leaves as it is in a query value; everything else is
/// percent-encoded, as the signer's canonical form expects.
const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Where to read from and what window.
pub struct Window {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// The objects under `prefix` (one level when `delimiter`): keys with their
/// last modified time, and the common prefixes.
async fn list(
    api: &crate::http::Api,
    bucket: &str,
    prefix: &str,
    delimiter: bool,
    tally: &Tally,
) -> Result<(Vec<(String, String)>, Vec<String>), String> {
    use percent_encoding::utf8_percent_encode;
    let mut keys = Vec::new();
    let mut prefixes = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut path = format!(
            "/{bucket}?list-type=2&prefix={}",
            utf8_percent_encode(prefix, UNRESERVED)
        );
        if delimiter {
            path.push_str("&delimiter=%2F");
        }
        if let Some(t) = &token {
            path.push_str(&format!(
                "&continuation-token={}",
                utf8_percent_encode(t, UNRESERVED)
            ));
        }
        let page = api
            .raw("GET", &path, None, &[], tally)
            .await
            .map_err(|e| format!("s3:ListObjectsV2 {bucket}/{prefix}: {}", e.describe()))?;
        let xml = String::from_utf8_lossy(&page).into_owned();
        for c in elements(&xml, "Contents") {
            if let (Some(k), Some(m)) = (text(&c, "Key"), text(&c, "LastModified")) {
                keys.push((k, m));
            }
        }
        for p in elements(&xml, "CommonPrefixes") {
            prefixes.extend(text(&p, "Prefix"));
        }
        match (
            text(&xml, "IsTruncated").as_deref(),
            text(&xml, "NextContinuationToken"),
        ) {
            (Some("true"), Some(t)) => token = Some(t),
            _ => return Ok((keys, prefixes)),
        }
    }
}

/// Reads every trail's log files of the window into `dir`.
pub async fn collect(
    endpoint: Option<&str>,
    credentials: &Credentials,
    region: &str,
    window: &Window,
    max_attempts: u32,
    dir: &Path,
    tally: &Tally,
) {
    let ct = client(endpoint, credentials, region, "cloudtrail", max_attempts);
    let trails = match json_call(
        &ct,
        "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails",
        &json!({"includeShadowTrails": false}),
        tally,
    )
    .await
    {
        Ok(v) => v
            .get("trailList")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        Err(e) => return tally.fail("cloudtrail:DescribeTrails", e),
    };
    let mut buckets: Vec<(String, String)> = trails
        .iter()
        .filter_map(|t| {
            let bucket = t.get("S3BucketName")?.as_str()?.to_string();
            let prefix = t
                .get("S3KeyPrefix")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            Some((bucket, prefix))
        })
        .collect();
    buckets.sort();
    buckets.dedup();
    let s3 = client(endpoint, credentials, "us-east-1", "s3", max_attempts);
    for (bucket, prefix) in buckets {
        // The bucket's own region signs its requests.
        let location = match s3
            .raw("GET", &format!("/{bucket}?location"), None, &[], tally)
            .await
        {
            Ok(x) => text(&String::from_utf8_lossy(&x), "LocationConstraint").unwrap_or_default(),
            Err(e) => {
                tally.fail(format!("s3:GetBucketLocation {bucket}"), e.describe());
                continue;
            }
        };
        let bucket_region = match location.as_str() {
            "" => "us-east-1".to_string(),
            "EU" => "eu-west-1".to_string(),
            _ => location,
        };
        let s3 = client(endpoint, credentials, &bucket_region, "s3", max_attempts);
        let root = if prefix.is_empty() {
            "AWSLogs/".to_string()
        } else {
            format!("{}/AWSLogs/", prefix.trim_end_matches('/'))
        };
        if let Err(e) = read_bucket(&s3, &bucket, &root, window, dir, tally).await {
            tally.fail(format!("CloudTrail logs in s3://{bucket}/{root}"), e);
        }
    }
}

async fn read_bucket(
    s3: &crate::http::Api,
    bucket: &str,
    root: &str,
    window: &Window,
    dir: &Path,
    tally: &Tally,
) -> Result<(), String> {
    // Accounts, or an organisation id whose folders hold accounts.
    let (_, firsts) = list(s3, bucket, root, true, tally).await?;
    let mut accounts = Vec::new();
    for p in firsts {
        let name = p
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        if name.starts_with("o-") {
            accounts.extend(list(s3, bucket, &p, true, tally).await?.1);
        } else {
            accounts.push(p);
        }
    }
    let since = window
        .since
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let until = window
        .until
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    for account in accounts {
        let (_, regions) = list(s3, bucket, &format!("{account}CloudTrail/"), true, tally).await?;
        for region in regions {
            let mut day = Some(window.since.date_naive());
            while let Some(d) = day.filter(|d| *d <= window.until.date_naive()) {
                let prefix = format!("{region}{}/", d.format("%Y/%m/%d"));
                let (objects, _) = list(s3, bucket, &prefix, false, tally).await?;
                for (key, modified) in objects {
                    // S3 times are ISO 8601 in UTC: compared as text after normalising.
                    let m = normalise(&modified);
                    if m.as_str() < since.as_str() || m.as_str() >= until.as_str() {
                        continue;
                    }
                    read_object(s3, bucket, &key, dir, tally).await?;
                }
                day = d.succ_opt();
            }
        }
    }
    Ok(())
}

/// `2026-12-05T10:00:00.000Z` as `2026-12-05T10:00:00Z`.
fn normalise(t: &str) -> String {
    DateTime::parse_from_rfc3339(t)
        .map(|d| {
            d.with_timezone(&Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        })
        .unwrap_or_else(|_| t.to_string())
}

async fn read_object(
    s3: &crate::http::Api,
    bucket: &str,
    key: &str,
    dir: &Path,
    tally: &Tally,
) -> Result<(), String> {
    use percent_encoding::{utf8_percent_encode, AsciiSet};
    // A key's `/` stay path separators.
    const KEY: &AsciiSet = &UNRESERVED.remove(b'/');
    let path = format!("/{bucket}/{}", utf8_percent_encode(key, KEY));
    match s3.raw("GET", &path, None, &[], tally).await {
        Ok(bytes) => {
            let safe = key
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != "..");
            if !safe {
                return Err(format!("{key}: not a path custody writes"));
            }
            Tally::add(&tally.records, 1);
            let rel = format!("cloudtrail/{bucket}/{key}");
            write::bytes(dir, &rel, &bytes).map_err(|e| format!("write {rel}: {e}"))?;
            if let Ok(mut f) = tally.files.lock() {
                f.push(rel);
            }
            Ok(())
        }
        Err(Failed::Refused { status: 404, .. }) => Ok(()), // deleted since the listing
        Err(e) => Err(format!("s3:GetObject {key}: {}", e.describe())),
    }
}
