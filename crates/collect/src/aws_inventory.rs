//! An account's resource inventory, region by region: Secrets Manager
//! (metadata and resource policies: never a value unless asked), KMS keys
//! and their policies, Lambda functions (environment variable names are
//! kept by the connector, values dropped there), EC2 instances, EKS
//! clusters, and S3 buckets with their policies and tags — the files and layout of
//! `docs/CONNECTORS.md#aws-resources-and-organizations`.
//!
//! These services' answers are read through SigV4-signed HTTP calls (the
//! SDK's own signer, `aws-sigv4`, with the SDK's credentials): their JSON
//! answers are what the AWS CLI prints, and no per-service SDK crate is
//! built for a handful of list calls. S3's XML listing is turned into the
//! CLI's JSON for the two small shapes read.

use crate::http::{Api, Failed, Signer};
use crate::{write, Tally};
use aws_credential_types::Credentials;
use hyper::body::Bytes;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

/// Signs for `service` in `region` with `credentials`.
fn signer(credentials: Credentials, region: String, service: &'static str) -> Signer {
    Arc::new(move |request, body| {
        use aws_sigv4::http_request::{
            sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest,
            SigningSettings, UriPathNormalizationMode,
        };
        let identity = credentials.clone().into();
        let mut settings = SigningSettings::default();
        // S3 signs its path as sent and wants the payload's hash in a header.
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        if service == "s3" {
            settings.percent_encoding_mode = PercentEncodingMode::Single;
            settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        }
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&region)
            .name(service)
            .time(std::time::SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| e.to_string())?
            .into();
        let headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect();
        let uri = request.uri().to_string();
        let signable = SignableRequest::new(
            request.method().as_str(),
            uri,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body),
        )
        .map_err(|e| e.to_string())?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| e.to_string())?
            .into_parts();
        instructions.apply_to_request_http1x(request);
        Ok(())
    })
}

/// A signed client of one service in one region.
pub(crate) fn client(
    endpoint: Option<&str>,
    credentials: &Credentials,
    region: &str,
    service: &'static str,
    max_attempts: u32,
) -> Api {
    let host = match service {
        "s3" if region == "us-east-1" => "https://s3.amazonaws.com".to_string(),
        _ => format!("https://{service}.{region}.amazonaws.com"),
    };
    let mut api = Api::new(endpoint.unwrap_or(&host), String::new());
    api.max_attempts = max_attempts.max(1);
    api.signer = Some(signer(credentials.clone(), region.to_string(), service));
    api
}

fn json_of(bytes: &Bytes, call: &str) -> Result<Value, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("{call}: the answer is not JSON: {e}"))
}

/// One JSON-protocol call (`X-Amz-Target`): its answer.
pub(crate) async fn json_call(
    api: &Api,
    target: &str,
    body: &Value,
    tally: &Tally,
) -> Result<Value, String> {
    let headers = [
        ("X-Amz-Target", target.to_string()),
        ("Content-Type", "application/x-amz-json-1.1".to_string()),
    ];
    let answer = api
        .raw(
            "POST",
            "/",
            Some(Bytes::from(body.to_string())),
            &headers,
            tally,
        )
        .await
        .map_err(|e| format!("{target}: {}", e.describe()))?;
    json_of(&answer, target)
}

/// A JSON-protocol call (`X-Amz-Target`), every page (`NextToken`,
/// `NextMarker`) with `field` merged.
async fn json_pages(
    api: &Api,
    target: &str,
    request: Value,
    field: &str,
    next: (&str, &str),
    tally: &Tally,
) -> Result<Vec<Value>, String> {
    let mut items = Vec::new();
    let mut body = request;
    loop {
        let page = json_call(api, target, &body, tally).await?;
        let list = page
            .get(field)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Tally::add(&tally.records, list.len() as u64);
        items.extend(list);
        match page.get(next.0).and_then(Value::as_str) {
            Some(token) if !token.is_empty() => body[next.1] = json!(token),
            _ => return Ok(items),
        }
    }
}

/// Inventory of one account in `regions` into `aws/<account>/`.
#[allow(clippy::too_many_arguments)]
pub async fn collect(
    endpoint: Option<&str>,
    credentials: &Credentials,
    account: &str,
    regions: &[String],
    max_attempts: u32,
    read_values: bool,
    dir: &Path,
    tally: &Tally,
) {
    let base = format!("aws/{account}");
    for region in regions {
        let r = region.as_str();
        // Secrets Manager: the listing and each secret's resource policy.
        let sm = client(endpoint, credentials, r, "secretsmanager", max_attempts);
        match json_pages(
            &sm,
            "secretsmanager.ListSecrets",
            json!({}),
            "SecretList",
            ("NextToken", "NextToken"),
            tally,
        )
        .await
        {
            Ok(secrets) => {
                for (i, s) in secrets.iter().enumerate() {
                    let Some(arn) = s.get("ARN").and_then(Value::as_str) else {
                        continue;
                    };
                    if read_values {
                        secret_value(&sm, arn, tally).await;
                    }
                    match policy_of(&sm, arn, tally).await {
                        Ok(p) => write::json(
                            dir,
                            &format!("{base}/{r}/secret-policies/{}.json", i + 1),
                            &p,
                            tally,
                        ),
                        Err(e) => tally.fail(format!("secretsmanager:GetResourcePolicy {arn}"), e),
                    }
                }
                write::json(
                    dir,
                    &format!("{base}/{r}/secretsmanager-list-secrets.json"),
                    &json!({"SecretList": secrets}),
                    tally,
                );
            }
            Err(e) => tally.fail(format!("secretsmanager:ListSecrets {r}"), e),
        }
        // KMS: customer keys, described, with their default policy.
        let kms = client(endpoint, credentials, r, "kms", max_attempts);
        match json_pages(
            &kms,
            "TrentService.ListKeys",
            json!({}),
            "Keys",
            ("NextMarker", "Marker"),
            tally,
        )
        .await
        {
            Ok(keys) => {
                for k in keys {
                    let Some(id) = k.get("KeyId").and_then(Value::as_str) else {
                        continue;
                    };
                    kms_key(&kms, &base, id, dir, tally).await;
                }
            }
            Err(e) => tally.fail(format!("kms:ListKeys {r}"), e),
        }
        // Lambda (REST-JSON): every function, paged by Marker.
        let lambda = client(endpoint, credentials, r, "lambda", max_attempts);
        match rest_pages(
            &lambda,
            "/2015-03-31/functions/",
            "Functions",
            "NextMarker",
            "Marker",
            tally,
        )
        .await
        {
            Ok(functions) => write::json(
                dir,
                &format!("{base}/{r}/lambda-list-functions.json"),
                &json!({"Functions": functions}),
                tally,
            ),
            Err(e) => tally.fail(format!("lambda:ListFunctions {r}"), e),
        }
        // EC2 (Query API, XML): the instances and the profile each runs as.
        let ec2 = client(endpoint, credentials, r, "ec2", max_attempts);
        match ec2_instances(&ec2, tally).await {
            Ok(reservations) => write::json(
                dir,
                &format!("{base}/{r}/ec2-describe-instances.json"),
                &json!({ "Reservations": reservations }),
                tally,
            ),
            Err(e) => tally.fail(format!("ec2:DescribeInstances {r}"), e),
        }
        // EKS (REST-JSON): each cluster described.
        let eks = client(endpoint, credentials, r, "eks", max_attempts);
        match rest_pages(
            &eks,
            "/clusters",
            "clusters",
            "nextToken",
            "nextToken",
            tally,
        )
        .await
        {
            Ok(names) => {
                for name in names.iter().filter_map(Value::as_str) {
                    match eks
                        .raw("GET", &format!("/clusters/{name}"), None, &[], tally)
                        .await
                    {
                        Ok(b) => match json_of(&b, "eks:DescribeCluster") {
                            Ok(v) => write::json(
                                dir,
                                &format!("{base}/eks/{name}/describe-cluster.json"),
                                &v,
                                tally,
                            ),
                            Err(e) => tally.fail(format!("eks:DescribeCluster {name}"), e),
                        },
                        Err(e) => tally.fail(format!("eks:DescribeCluster {name}"), e.describe()),
                    }
                }
            }
            Err(e) => tally.fail(format!("eks:ListClusters {r}"), e),
        }
    }
    s3(
        endpoint,
        credentials,
        regions.first().map(String::as_str).unwrap_or("us-east-1"),
        max_attempts,
        &base,
        dir,
        tally,
    )
    .await;
}

/// `GetSecretValue`, kept in memory for the caller to fingerprint: the
/// answer is never parsed here, written or printed.
async fn secret_value(sm: &Api, arn: &str, tally: &Tally) {
    let headers = [
        ("X-Amz-Target", "secretsmanager.GetSecretValue".to_string()),
        ("Content-Type", "application/x-amz-json-1.1".to_string()),
    ];
    let body = Bytes::from(json!({ "SecretId": arn }).to_string());
    match sm.raw("POST", "/", Some(body), &headers, tally).await {
        Ok(answer) => {
            if let Ok(mut v) = tally.values.lock() {
                v.push(crate::SecretValue {
                    label: format!("secretsmanager:GetSecretValue {arn}"),
                    answer: zeroize::Zeroizing::new(answer.to_vec()),
                });
            }
        }
        // Only the status and the API's code: an error answer names no value.
        Err(e) => tally.fail(format!("secretsmanager:GetSecretValue {arn}"), e.describe()),
    }
}

async fn policy_of(sm: &Api, arn: &str, tally: &Tally) -> Result<Value, String> {
    json_call(
        sm,
        "secretsmanager.GetResourcePolicy",
        &json!({"SecretId": arn}),
        tally,
    )
    .await
}

async fn kms_key(kms: &Api, base: &str, id: &str, dir: &Path, tally: &Tally) {
    let call = |target: &'static str, body: Value| async move {
        json_call(kms, target, &body, tally).await
    };
    match call("TrentService.DescribeKey", json!({"KeyId": id})).await {
        Ok(v) => {
            // AWS-managed keys are not the customer's to attribute; their
            // policies are AWS's. Kept, as the CLI lists them.
            write::json(
                dir,
                &format!("{base}/kms/{id}/describe-key.json"),
                &v,
                tally,
            );
        }
        Err(e) => return tally.fail(format!("kms:DescribeKey {id}"), e),
    }
    match call(
        "TrentService.GetKeyPolicy",
        json!({"KeyId": id, "PolicyName": "default"}),
    )
    .await
    {
        Ok(v) => write::json(dir, &format!("{base}/kms/{id}/key-policy.json"), &v, tally),
        Err(e) => tally.fail(format!("kms:GetKeyPolicy {id}"), e),
    }
}

/// A REST-JSON listing (`GET path?marker`), every page's `field` merged.
async fn rest_pages(
    api: &Api,
    path: &str,
    field: &str,
    next: &str,
    param: &str,
    tally: &Tally,
) -> Result<Vec<Value>, String> {
    api.get_items(path, field, &format!("/{next}"), param, tally)
        .await
        .map_err(|e| e.describe())
}

/// S3: the account's buckets, each bucket's policy and tags. A bucket
/// without a policy or tags answers 404 (`NoSuchBucketPolicy`,
/// `NoSuchTagSet`): no file, as the hand-made loop removes it.
async fn s3(
    endpoint: Option<&str>,
    credentials: &Credentials,
    region: &str,
    max_attempts: u32,
    base: &str,
    dir: &Path,
    tally: &Tally,
) {
    let api = client(endpoint, credentials, region, "s3", max_attempts);
    let listing = match api.raw("GET", "/", None, &[], tally).await {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => return tally.fail("s3:ListBuckets", e.describe()),
    };
    let buckets: Vec<Value> = elements(&listing, "Bucket")
        .iter()
        .map(|b| json!({"Name": text(b, "Name"), "CreationDate": text(b, "CreationDate")}))
        .collect();
    Tally::add(&tally.records, buckets.len() as u64);
    write::json(
        dir,
        &format!("{base}/s3/list-buckets.json"),
        &json!({"Buckets": buckets}),
        tally,
    );
    for b in &buckets {
        let Some(name) = b["Name"].as_str() else {
            continue;
        };
        // Path-style requests against the bucket's own region.
        let location = match api
            .raw("GET", &format!("/{name}?location"), None, &[], tally)
            .await
        {
            Ok(x) => text(&String::from_utf8_lossy(&x), "LocationConstraint").unwrap_or_default(),
            Err(e) => {
                tally.fail(format!("s3:GetBucketLocation {name}"), e.describe());
                continue;
            }
        };
        // An empty constraint is us-east-1; `EU` is the old name of eu-west-1.
        let bucket_region = match location.as_str() {
            "" => "us-east-1".to_string(),
            "EU" => "eu-west-1".to_string(),
            _ => location,
        };
        let api = client(endpoint, credentials, &bucket_region, "s3", max_attempts);
        match api
            .raw("GET", &format!("/{name}?policy"), None, &[], tally)
            .await
        {
            Ok(p) => write::json(
                dir,
                &format!("{base}/s3/{name}/policy.json"),
                &json!({"Policy": String::from_utf8_lossy(&p)}),
                tally,
            ),
            Err(Failed::Refused { status: 404, .. }) => {}
            Err(e) => tally.fail(format!("s3:GetBucketPolicy {name}"), e.describe()),
        }
        match api
            .raw("GET", &format!("/{name}?tagging"), None, &[], tally)
            .await
        {
            Ok(t) => {
                let tags: Vec<Value> = elements(&String::from_utf8_lossy(&t), "Tag")
                    .iter()
                    .map(|t| json!({"Key": text(t, "Key"), "Value": text(t, "Value")}))
                    .collect();
                write::json(
                    dir,
                    &format!("{base}/s3/{name}/tagging.json"),
                    &json!({"TagSet": tags}),
                    tally,
                );
            }
            Err(Failed::Refused { status: 404, .. }) => {}
            Err(e) => tally.fail(format!("s3:GetBucketTagging {name}"), e.describe()),
        }
    }
}

/// The inner text of every `<tag>…</tag>` (S3's flat answers need no more).
pub(crate) fn elements(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(after[..j].to_string());
        rest = &after[j + close.len()..];
    }
    out
}

/// One child's text, XML entities decoded.
pub(crate) fn text(xml: &str, tag: &str) -> Option<String> {
    elements(xml, tag).into_iter().next().map(|t| {
        t.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_listings_read_as_the_cli_prints_them() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>abc</ID></Owner><Buckets><Bucket><Name>payroll</Name><CreationDate>2024-01-01T00:00:00.000Z</CreationDate></Bucket><Bucket><Name>logs&amp;more</Name><CreationDate>2024-02-01T00:00:00.000Z</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>"#;
        let names: Vec<Option<String>> = elements(xml, "Bucket")
            .iter()
            .map(|b| text(b, "Name"))
            .collect();
        assert_eq!(names, [Some("payroll".into()), Some("logs&more".into())]);
        assert_eq!(
            text(
                "<LocationConstraint>eu-west-1</LocationConstraint>",
                "LocationConstraint"
            )
            .as_deref(),
            Some("eu-west-1")
        );
    }
}

/// A minimal XML tree (elements and text; attributes, comments and
/// declarations skipped): enough for the EC2 Query API's answers, whose
/// `<item>` lists nest.
#[derive(Debug, Default)]
pub(crate) struct Node {
    pub name: String,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    pub fn parse(xml: &str) -> Option<Node> {
        let mut stack: Vec<Node> = vec![Node::default()];
        let mut rest = xml;
        while let Some(lt) = rest.find('<') {
            let text = &rest[..lt];
            if let Some(top) = stack.last_mut() {
                top.text.push_str(&decode(text));
            }
            let gt = rest[lt..].find('>')? + lt;
            let tag = &rest[lt + 1..gt];
            rest = &rest[gt + 1..];
            if tag.starts_with('?') || tag.starts_with('!') {
                continue;
            }
            if let Some(name) = tag.strip_prefix('/') {
                let done = stack.pop()?;
                if done.name != name.trim() {
                    return None;
                }
                stack.last_mut()?.children.push(done);
            } else {
                let closed = tag.ends_with('/');
                let name = tag
                    .trim_end_matches('/')
                    .split_whitespace()
                    .next()?
                    .to_string();
                let node = Node {
                    name,
                    ..Node::default()
                };
                if closed {
                    stack.last_mut()?.children.push(node);
                } else {
                    stack.push(node);
                }
            }
        }
        let mut root = stack.pop()?;
        stack.is_empty().then(|| root.children.pop()).flatten()
    }

    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The `<item>`s of a child list (`reservationSet`, `tagSet`).
    pub fn items(&self, list: &str) -> impl Iterator<Item = &Node> {
        self.child(list)
            .into_iter()
            .flat_map(|l| l.children.iter().filter(|c| c.name == "item"))
    }

    pub fn text_of(&self, path: &[&str]) -> Option<&str> {
        let mut n = self;
        for p in path {
            n = n.child(p)?;
        }
        Some(n.text.as_str()).filter(|t| !t.is_empty())
    }
}

fn decode(t: &str) -> String {
    t.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// `ec2 describe-instances` as the CLI prints it, for the fields the
/// connector reads (what is absent from the answer is absent here too).
pub(crate) fn ec2_instances_json(answer: &Node) -> Vec<Value> {
    let put = |m: &mut serde_json::Map<String, Value>, k: &str, v: Option<&str>| {
        if let Some(v) = v {
            m.insert(k.to_string(), json!(v));
        }
    };
    answer
        .items("reservationSet")
        .map(|r| {
            let instances: Vec<Value> = r
                .items("instancesSet")
                .map(|i| {
                    let mut m = serde_json::Map::new();
                    put(&mut m, "InstanceId", i.text_of(&["instanceId"]));
                    put(&mut m, "ImageId", i.text_of(&["imageId"]));
                    put(&mut m, "InstanceType", i.text_of(&["instanceType"]));
                    put(&mut m, "LaunchTime", i.text_of(&["launchTime"]));
                    put(&mut m, "PrivateIpAddress", i.text_of(&["privateIpAddress"]));
                    put(&mut m, "PublicIpAddress", i.text_of(&["ipAddress"]));
                    if let Some(z) = i.text_of(&["placement", "availabilityZone"]) {
                        m.insert("Placement".into(), json!({ "AvailabilityZone": z }));
                    }
                    if let Some(s) = i.text_of(&["instanceState", "name"]) {
                        m.insert("State".into(), json!({ "Name": s }));
                    }
                    if let Some(arn) = i.text_of(&["iamInstanceProfile", "arn"]) {
                        let mut p = serde_json::Map::new();
                        p.insert("Arn".into(), json!(arn));
                        put(&mut p, "Id", i.text_of(&["iamInstanceProfile", "id"]));
                        m.insert("IamInstanceProfile".into(), Value::Object(p));
                    }
                    let tags: Vec<Value> = i
                        .items("tagSet")
                        .map(|t| json!({"Key": t.text_of(&["key"]).unwrap_or(""), "Value": t.text_of(&["value"]).unwrap_or("")}))
                        .collect();
                    if !tags.is_empty() {
                        m.insert("Tags".into(), Value::Array(tags));
                    }
                    Value::Object(m)
                })
                .collect();
            let mut m = serde_json::Map::new();
            put(&mut m, "ReservationId", r.text_of(&["reservationId"]));
            put(&mut m, "OwnerId", r.text_of(&["ownerId"]));
            m.insert("Instances".into(), Value::Array(instances));
            Value::Object(m)
        })
        .collect()
}

/// Every page of `ec2:DescribeInstances` in `region`.
pub(crate) async fn ec2_instances(ec2: &Api, tally: &Tally) -> Result<Vec<Value>, String> {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut form = "Action=DescribeInstances&Version=2016-11-15&MaxResults=1000".to_string();
        if let Some(t) = &token {
            form.push_str("&NextToken=");
            form.push_str(
                &percent_encoding::utf8_percent_encode(t, percent_encoding::NON_ALPHANUMERIC)
                    .to_string(),
            );
        }
        let headers = [(
            "Content-Type",
            "application/x-www-form-urlencoded; charset=utf-8".to_string(),
        )];
        let answer = ec2
            .raw("POST", "/", Some(Bytes::from(form)), &headers, tally)
            .await
            .map_err(|e| e.describe())?;
        let text = String::from_utf8_lossy(&answer);
        let root =
            Node::parse(&text).ok_or_else(|| "the answer is not the XML EC2 sends".to_string())?;
        let page = ec2_instances_json(&root);
        Tally::add(
            &tally.records,
            page.iter()
                .map(|r| r["Instances"].as_array().map_or(0, Vec::len))
                .sum::<usize>() as u64,
        );
        all.extend(page);
        match root.text_of(&["nextToken"]) {
            Some(t) => token = Some(t.to_string()),
            None => return Ok(all),
        }
    }
}

#[cfg(test)]
mod xml_tests {
    use super::*;

    #[test]
    fn ec2_answers_read_as_the_cli_prints_them() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>r</requestId>
  <reservationSet><item><reservationId>r-1</reservationId><ownerId>123456789012</ownerId><groupSet/>
    <instancesSet><item><instanceId>i-0abc</instanceId><imageId>ami-1</imageId>
      <instanceState><code>16</code><name>running</name></instanceState>
      <privateIpAddress>10.0.0.5</privateIpAddress><instanceType>t3.micro</instanceType>
      <placement><availabilityZone>us-east-1a</availabilityZone></placement>
      <iamInstanceProfile><arn>arn:aws:iam::123456789012:instance-profile/web</arn><id>AIPA1</id></iamInstanceProfile>
      <networkInterfaceSet><item><privateIpAddress>10.9.9.9</privateIpAddress></item></networkInterfaceSet>
      <tagSet><item><key>Name</key><value>web &amp; api</value></item></tagSet>
    </item></instancesSet></item></reservationSet>
</DescribeInstancesResponse>"#;
        let root = Node::parse(xml).unwrap();
        let r = ec2_instances_json(&root);
        let i = &r[0]["Instances"][0];
        assert_eq!(r[0]["OwnerId"], "123456789012");
        assert_eq!(i["InstanceId"], "i-0abc");
        assert_eq!(
            i["PrivateIpAddress"], "10.0.0.5",
            "the instance's own, not a nested interface's"
        );
        assert_eq!(i["Placement"]["AvailabilityZone"], "us-east-1a");
        assert_eq!(
            i["IamInstanceProfile"]["Arn"],
            "arn:aws:iam::123456789012:instance-profile/web"
        );
        assert_eq!(i["Tags"][0]["Value"], "web & api");
        assert_eq!(i["State"]["Name"], "running");
        assert!(Node::parse("<a><b></a>").is_none());
    }
}
