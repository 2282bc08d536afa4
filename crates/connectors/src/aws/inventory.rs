//! AWS resources and organisation structure, from the `aws` CLI's JSON output:
//! what a principal can reach (buckets, databases, secrets, keys), what runs as a
//! role (Lambda functions, EC2 instances through instance profiles), EKS clusters'
//! OIDC issuers, and the Organizations service control policies that cap every
//! principal of an account.
//!
//! | command | what it gives |
//! |---|---|
//! | `s3api list-buckets` | buckets (account from the path) |
//! | `s3api get-bucket-tagging --bucket B` | tags; the bucket is the file's folder |
//! | `s3api get-bucket-policy --bucket B`, `kms get-key-policy --key-id K` | resource policies; the bucket or key id is the file's folder, under `s3/` or `kms/` |
//! | `rds describe-db-instances`, `describe-db-clusters` | databases with tags |
//! | `secretsmanager list-secrets`, `get-resource-policy --secret-id S` | secrets, their metadata and policies (never values) |
//! | `kms describe-key --key-id K` | keys |
//! | `lambda list-functions` | functions and their execution roles (environment variable *names* only) |
//! | `iam list-instance-profiles` | which role each instance profile carries |
//! | `ec2 describe-instances` | instances and their instance profiles |
//! | `eks describe-cluster --name C` | the cluster's OIDC issuer (IRSA) |
//! | `organizations describe-policy --policy-id P` | an SCP's document |
//! | `organizations list-targets-for-policy --policy-id P` | where it is attached; the policy id is the file's folder |
//! | `organizations list-parents --child-id C` | the OU tree; the child id is the file's name or folder |
//!
//! Sensitivity is not decided here: connectors keep the tags, and the analysis maps
//! them (see `custody_analysis::sensitivity`).

use super::{account_from_path, account_of, owner_tag, OwnerTag};
use crate::util::{array_at, parse_json, policy_document};
use crate::{Format, InputError, Parsed, SourceFile};
use custody_model::{time, EdgeKind, Endpoint, Key, Label, Location};
use serde_json::{json, Map, Value};

struct Emit<'a> {
    connector: &'static str,
    path: &'a str,
    parsed: Parsed,
}

impl Emit<'_> {
    fn node(
        &mut self,
        label: Label,
        kind: &str,
        keys: Vec<Key>,
        name: Option<&str>,
        props: Map<String, Value>,
        at: &str,
    ) {
        self.parsed.facts.push(crate::util::node_at(
            "aws", label, kind, keys, name, props, at,
        ));
    }

    fn edge(&mut self, kind: EdgeKind, from: Endpoint, to: Endpoint, props: Value, at: &str) {
        self.parsed
            .facts
            .push(crate::util::edge_at(kind, from, to, props, at));
    }

    fn error(&mut self, at: &str, message: impl Into<String>) {
        self.parsed.errors.push(InputError::new(
            self.connector,
            self.path,
            Location::Pointer(at.to_string()),
            message,
        ));
    }

    fn file_error(&mut self, message: impl Into<String>) {
        self.parsed.errors.push(InputError::new(
            self.connector,
            self.path,
            Location::File,
            message,
        ));
    }

    /// A required string field, or an error at its pointer (and `None`).
    fn required<'v>(&mut self, item: &'v Value, field: &str, at: &str) -> Option<&'v str> {
        match item.get(field).and_then(Value::as_str) {
            Some(s) if !s.is_empty() => Some(s),
            _ => {
                self.error(
                    &format!("{at}/{field}"),
                    format!("missing `{field}` (a non-empty string)"),
                );
                None
            }
        }
    }

    /// Tags naming an owner by e-mail become `OWNED_BY` edges, as for IAM.
    fn owner_tags(&mut self, me: &Endpoint, tags: &Map<String, Value>, at: &str) {
        for (k, v) in tags {
            let Some(value) = v.as_str().map(str::trim) else {
                continue;
            };
            let key = k.to_ascii_lowercase();
            let tag = owner_tag(&key);
            if tag.is_some() && value.contains('@') && !value.contains(' ') {
                self.edge(
                    EdgeKind::OwnedBy,
                    me.clone(),
                    Endpoint::new(Label::Human, Key::email(value)),
                    json!({"evidence": format!("resource tag {k}={value}"), "method": if tag == Some(OwnerTag::Creator) { "created-by-tag" } else { "resource-tag" },
                           "confidence": if tag == Some(OwnerTag::Creator) { 0.7 } else { 0.9 }}),
                    at,
                );
            }
        }
    }
}

/// `[{"Key": k, "Value": v}]` (or KMS's `TagKey`/`TagValue`, or EKS's plain object) as a map.
fn tag_map(v: Option<&Value>) -> Map<String, Value> {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|t| {
                let k = t.get("Key").or_else(|| t.get("TagKey"))?.as_str()?;
                let v = t.get("Value").or_else(|| t.get("TagValue"));
                Some((k.to_string(), v.cloned().unwrap_or(json!(""))))
            })
            .collect(),
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    }
}

/// Copies present fields, normalising those that are timestamps (ISO strings or
/// the epoch seconds some SDKs print).
fn copy(props: &mut Map<String, Value>, item: &Value, fields: &[(&str, &str)]) {
    for (from, to) in fields {
        let Some(v) = item.get(*from) else { continue };
        if v.is_null() {
            continue;
        }
        let v = if to.ends_with("_at") || *to == "created" || to.starts_with("last_") {
            match v {
                Value::String(s) => time::normalise(s).map(Value::from).unwrap_or(v.clone()),
                Value::Number(n) => n
                    .as_f64()
                    .and_then(time::from_epoch)
                    .map(Value::from)
                    .unwrap_or(v.clone()),
                _ => v.clone(),
            }
        } else {
            v.clone()
        };
        props.insert(to.to_string(), v);
    }
}

/// `arn:partition:service:region:account:…` → (region, account).
fn region_account(arn: &str) -> (Option<&str>, Option<&str>) {
    let mut parts = arn.split(':');
    let region = parts.nth(3).filter(|r| !r.is_empty());
    let account = parts.next().filter(|a| !a.is_empty());
    (region, account)
}

fn arn_props(props: &mut Map<String, Value>, arn: &str) {
    let (region, account) = region_account(arn);
    props.insert("arn".into(), json!(arn));
    if let Some(r) = region {
        props.insert("region".into(), json!(r));
    }
    if let Some(a) = account {
        props.insert("account_id".into(), json!(a));
    }
}

/// The path component after `marker` (`…/s3/<bucket>/policy.json` → bucket), or
/// else the file's folder.
fn named_by_path<'p>(path: &'p str, marker: &str) -> Option<&'p str> {
    let parts: Vec<&str> = path.split(['/', '\\']).collect();
    if let Some(i) = parts.iter().position(|p| *p == marker) {
        if i + 2 < parts.len() {
            return Some(parts[i + 1]);
        }
    }
    None
}

fn folder(path: &str) -> Option<&str> {
    let parts: Vec<&str> = path.split(['/', '\\']).collect();
    (parts.len() >= 2).then(|| parts[parts.len() - 2])
}

fn stem(path: &str) -> &str {
    let file = path.rsplit(['/', '\\']).next().unwrap_or(path);
    file.split('.').next().unwrap_or(file)
}

pub fn bucket_arn(name: &str) -> String {
    format!("arn:aws:s3:::{name}")
}

fn bucket_node(e: &mut Emit<'_>, name: &str, props: Map<String, Value>, at: &str) {
    e.node(
        Label::Resource,
        "aws_s3_bucket",
        vec![Key::arn(&bucket_arn(name))],
        Some(name),
        props,
        at,
    );
}

pub fn kms_key_id_key(id: &str) -> Key {
    Key::other("aws-kms-key", id)
}

pub fn parse(format: Format, file: &SourceFile<'_>) -> Parsed {
    let mut e = Emit {
        connector: format.name(),
        path: file.path,
        parsed: Parsed::default(),
    };
    let doc = match parse_json(format.name(), file.path, file.bytes) {
        Ok(d) => d,
        Err(err) => {
            e.parsed.errors.push(err);
            return e.parsed;
        }
    };
    match format {
        Format::AwsS3Buckets => s3_buckets(&mut e, &doc),
        Format::AwsS3BucketTagging => s3_tagging(&mut e, &doc),
        Format::AwsResourcePolicy => resource_policy(&mut e, &doc),
        Format::AwsRds => rds(&mut e, &doc),
        Format::AwsSecrets => secrets(&mut e, &doc),
        Format::AwsSecretPolicy => secret_policy(&mut e, &doc),
        Format::AwsKmsKey => kms_key(&mut e, &doc),
        Format::AwsLambdaFunctions => lambda(&mut e, &doc),
        Format::AwsInstanceProfiles => instance_profiles(&mut e, &doc),
        Format::AwsEc2Instances => ec2(&mut e, &doc),
        Format::AwsEksCluster => eks(&mut e, &doc),
        Format::AwsOrgPolicy => org_policy(&mut e, &doc),
        Format::AwsOrgTargets => org_targets(&mut e, &doc),
        Format::AwsOrgParents => org_parents(&mut e, &doc),
        _ => e.file_error("not an AWS inventory format"),
    }
    e.parsed
}

/// Runs `each` over the array at `key`, counting records and reporting a missing list.
fn each_item(
    e: &mut Emit<'_>,
    doc: &Value,
    key: &str,
    mut each: impl FnMut(&mut Emit<'_>, &Value, &str),
) {
    let items = match array_at(e.connector, e.path, doc, key) {
        Ok(items) => items,
        Err(err) => {
            e.parsed.errors.push(err);
            return;
        }
    };
    if doc.get(key).is_none() {
        e.error("", format!("expected an object with `{key}`"));
        return;
    }
    for (i, item) in items.iter().enumerate() {
        e.parsed.records += 1;
        let at = format!("/{key}/{i}");
        if !item.is_object() {
            e.error(&at, "expected an object");
            continue;
        }
        each(e, item, &at);
    }
}

fn s3_buckets(e: &mut Emit<'_>, doc: &Value) {
    let account = account_from_path(e.path);
    each_item(e, doc, "Buckets", |e, b, at| {
        let Some(name) = e.required(b, "Name", at) else {
            return;
        };
        let mut props = Map::new();
        props.insert("arn".into(), json!(bucket_arn(name)));
        if let Some(a) = &account {
            props.insert("account_id".into(), json!(a));
        }
        copy(
            &mut props,
            b,
            &[("CreationDate", "created"), ("BucketRegion", "region")],
        );
        e.node(
            Label::Resource,
            "aws_s3_bucket",
            vec![Key::arn(&bucket_arn(name))],
            Some(name),
            props,
            at,
        );
    });
    if let Some(a) = account {
        e.parsed.scope = format!("{}:{a}", e.connector);
    }
}

fn s3_tagging(e: &mut Emit<'_>, doc: &Value) {
    let Some(bucket) = named_by_path(e.path, "s3").or_else(|| folder(e.path)) else {
        e.file_error(
            "get-bucket-tagging does not name its bucket: save it as s3/<bucket>/tagging.json",
        );
        return;
    };
    let bucket = bucket.to_string();
    if let Err(err) = array_at(e.connector, e.path, doc, "TagSet") {
        e.parsed.errors.push(err);
        return;
    }
    e.parsed.records = 1;
    let tags = tag_map(doc.get("TagSet"));
    let me = Endpoint::new(Label::Resource, Key::arn(&bucket_arn(&bucket)));
    e.owner_tags(&me, &tags, "/TagSet");
    let mut props = Map::new();
    props.insert("tags".into(), Value::Object(tags));
    bucket_node(e, &bucket, props, "/TagSet");
    e.parsed.scope = format!("{}:{bucket}", e.connector);
}

/// `{"Policy": "<JSON string>"}` from `get-bucket-policy` or `get-key-policy`.
fn resource_policy(e: &mut Emit<'_>, doc: &Value) {
    let Some(raw) = doc.get("Policy") else {
        e.error("", "expected an object with `Policy`");
        return;
    };
    let policy = policy_document(raw);
    if !policy.is_object() {
        e.error("/Policy", "the policy is not a JSON document");
        return;
    }
    e.parsed.records = 1;
    let text = policy.to_string();
    let kms = named_by_path(e.path, "kms").is_some()
        || (named_by_path(e.path, "s3").is_none() && text.contains("\"kms:"));
    let mut props = Map::new();
    props.insert("policy".into(), policy);
    if kms {
        let Some(id) = named_by_path(e.path, "kms").or_else(|| folder(e.path)) else {
            e.file_error(
                "get-key-policy does not name its key: save it as kms/<key-id>/key-policy.json",
            );
            return;
        };
        let id = id.to_string();
        e.node(
            Label::Resource,
            "aws_kms_key",
            vec![kms_key_id_key(&id)],
            None,
            props,
            "/Policy",
        );
        e.parsed.scope = format!("{}:kms:{id}", e.connector);
    } else {
        let Some(bucket) = named_by_path(e.path, "s3").or_else(|| folder(e.path)) else {
            e.file_error(
                "get-bucket-policy does not name its bucket: save it as s3/<bucket>/policy.json",
            );
            return;
        };
        let bucket = bucket.to_string();
        bucket_node(e, &bucket, props, "/Policy");
        e.parsed.scope = format!("{}:s3:{bucket}", e.connector);
    }
}

fn rds(e: &mut Emit<'_>, doc: &Value) {
    let (list, kind, id_field, arn_field) = if doc.get("DBClusters").is_some() {
        (
            "DBClusters",
            "aws_rds_cluster",
            "DBClusterIdentifier",
            "DBClusterArn",
        )
    } else {
        (
            "DBInstances",
            "aws_rds_instance",
            "DBInstanceIdentifier",
            "DBInstanceArn",
        )
    };
    each_item(e, doc, list, |e, db, at| {
        let (Some(id), Some(arn)) = (e.required(db, id_field, at), e.required(db, arn_field, at))
        else {
            return;
        };
        let mut props = Map::new();
        arn_props(&mut props, arn);
        copy(
            &mut props,
            db,
            &[
                ("Engine", "engine"),
                ("EngineVersion", "engine_version"),
                ("DBInstanceStatus", "status"),
                ("Status", "status"),
                ("PubliclyAccessible", "publicly_accessible"),
                ("StorageEncrypted", "storage_encrypted"),
                ("KmsKeyId", "kms_key_id"),
                ("IAMDatabaseAuthenticationEnabled", "iam_auth"),
                ("DBClusterIdentifier", "cluster"),
                ("InstanceCreateTime", "created"),
                ("ClusterCreateTime", "created"),
                ("DbiResourceId", "resource_id"),
                ("DbClusterResourceId", "resource_id"),
            ],
        );
        if let Some(ep) = db.get("Endpoint") {
            // Instances: {"Address", "Port"}; clusters: the address string.
            let address = ep.get("Address").unwrap_or(ep);
            if address.is_string() {
                props.insert("endpoint".into(), address.clone());
            }
        }
        let tags = tag_map(db.get("TagList"));
        let me = Endpoint::new(Label::Resource, Key::arn(arn));
        e.owner_tags(&me, &tags, &format!("{at}/TagList"));
        props.insert("tags".into(), Value::Object(tags));
        e.node(
            Label::Resource,
            kind,
            vec![Key::arn(arn)],
            Some(id),
            props,
            at,
        );
    });
}

fn secrets(e: &mut Emit<'_>, doc: &Value) {
    each_item(e, doc, "SecretList", |e, s, at| {
        let (Some(arn), Some(name)) = (e.required(s, "ARN", at), e.required(s, "Name", at)) else {
            return;
        };
        let mut props = Map::new();
        arn_props(&mut props, arn);
        copy(
            &mut props,
            s,
            &[
                ("Description", "description"),
                ("KmsKeyId", "kms_key_id"),
                ("RotationEnabled", "rotation_enabled"),
                ("RotationLambdaARN", "rotation_lambda"),
                ("LastRotatedDate", "last_rotated"),
                ("LastChangedDate", "last_changed"),
                ("LastAccessedDate", "last_accessed"),
                ("CreatedDate", "created"),
                ("DeletedDate", "deleted_at"),
                ("OwningService", "owning_service"),
                ("PrimaryRegion", "primary_region"),
            ],
        );
        let tags = tag_map(s.get("Tags"));
        let me = Endpoint::new(Label::Resource, Key::arn(arn));
        e.owner_tags(&me, &tags, &format!("{at}/Tags"));
        props.insert("tags".into(), Value::Object(tags));
        e.node(
            Label::Resource,
            "aws_secretsmanager_secret",
            vec![Key::arn(arn)],
            Some(name),
            props,
            at,
        );
    });
}

fn secret_policy(e: &mut Emit<'_>, doc: &Value) {
    let Some(arn) = e.required(doc, "ARN", "") else {
        return;
    };
    let arn = arn.to_string();
    e.parsed.records = 1;
    let mut props = Map::new();
    arn_props(&mut props, &arn);
    if let Some(raw) = doc.get("ResourcePolicy") {
        let policy = policy_document(raw);
        if !policy.is_object() {
            e.error("/ResourcePolicy", "the policy is not a JSON document");
            return;
        }
        props.insert("policy".into(), policy);
    }
    let name = doc.get("Name").and_then(Value::as_str).map(str::to_string);
    e.node(
        Label::Resource,
        "aws_secretsmanager_secret",
        vec![Key::arn(&arn)],
        name.as_deref(),
        props,
        "",
    );
    e.parsed.scope = format!("{}:{arn}", e.connector);
}

/// A one-record document (`describe-key`, `describe-cluster`): the object under
/// `key` and two required string fields of it. Counts the record.
fn single<'v>(
    e: &mut Emit<'_>,
    doc: &'v Value,
    key: &str,
    first: &str,
    second: &str,
) -> Option<(&'v Value, String, String)> {
    let Some(obj) = doc.get(key).filter(|m| m.is_object()) else {
        e.error("", format!("expected an object with `{key}`"));
        return None;
    };
    let at = format!("/{key}");
    let (Some(a), Some(b)) = (e.required(obj, first, &at), e.required(obj, second, &at)) else {
        return None;
    };
    e.parsed.records = 1;
    Some((obj, a.to_string(), b.to_string()))
}

fn kms_key(e: &mut Emit<'_>, doc: &Value) {
    let Some((meta, id, arn)) = single(e, doc, "KeyMetadata", "KeyId", "Arn") else {
        return;
    };
    let mut props = Map::new();
    arn_props(&mut props, &arn);
    copy(
        &mut props,
        meta,
        &[
            ("Description", "description"),
            ("Enabled", "enabled"),
            ("KeyState", "key_state"),
            ("KeyUsage", "key_usage"),
            ("KeyManager", "key_manager"),
            ("KeySpec", "key_spec"),
            ("Origin", "origin"),
            ("MultiRegion", "multi_region"),
            ("CreationDate", "created"),
        ],
    );
    e.node(
        Label::Resource,
        "aws_kms_key",
        vec![Key::arn(&arn), kms_key_id_key(&id)],
        Some(&id),
        props,
        "/KeyMetadata",
    );
    e.parsed.scope = format!("{}:{arn}", e.connector);
}

fn lambda(e: &mut Emit<'_>, doc: &Value) {
    each_item(e, doc, "Functions", |e, f, at| {
        let (Some(name), Some(arn)) = (
            e.required(f, "FunctionName", at),
            e.required(f, "FunctionArn", at),
        ) else {
            return;
        };
        let mut props = Map::new();
        arn_props(&mut props, arn);
        copy(
            &mut props,
            f,
            &[
                ("Runtime", "runtime"),
                ("Role", "role"),
                ("Handler", "handler"),
                ("LastModified", "last_modified"),
                ("PackageType", "package_type"),
                ("Description", "description"),
            ],
        );
        // Environment values can be secrets: keep only the names (the scanner looks at values).
        if let Some(Value::Object(vars)) = f.pointer("/Environment/Variables") {
            let names: Vec<&String> = vars.keys().collect();
            props.insert("environment_variables".into(), json!(names));
        }
        e.node(
            Label::Workload,
            "aws_lambda_function",
            vec![Key::arn(arn)],
            Some(name),
            props,
            at,
        );
        if let Some(role) = f.get("Role").and_then(Value::as_str) {
            e.edge(
                EdgeKind::RunsAs,
                Endpoint::new(Label::Workload, Key::arn(arn)),
                Endpoint::new(Label::Principal, Key::arn(role)),
                json!({"via": "execution role"}),
                &format!("{at}/Role"),
            );
        }
    });
}

fn profile_to_role(e: &mut Emit<'_>, profile_arn: &str, role_arn: &str, at: &str) {
    e.edge(
        EdgeKind::CanAssume,
        Endpoint::new(Label::Principal, Key::arn(profile_arn)),
        Endpoint::new(Label::Principal, Key::arn(role_arn)),
        json!({"trusted": "instance-profile", "actions": ["sts:AssumeRole"]}),
        at,
    );
}

fn instance_profiles(e: &mut Emit<'_>, doc: &Value) {
    let mut account = None;
    each_item(e, doc, "InstanceProfiles", |e, p, at| {
        let (Some(name), Some(arn)) = (
            e.required(p, "InstanceProfileName", at),
            e.required(p, "Arn", at),
        ) else {
            return;
        };
        let mut props = Map::new();
        props.insert("arn".into(), json!(arn));
        if let Some(a) = account_of(arn) {
            props.insert("account_id".into(), json!(a));
            account.get_or_insert_with(|| a.to_string());
        }
        copy(
            &mut props,
            p,
            &[("CreateDate", "created"), ("Path", "path")],
        );
        let mut keys = vec![Key::arn(arn)];
        if let Some(id) = p.get("InstanceProfileId").and_then(Value::as_str) {
            keys.push(Key::aws_unique_id(id));
        }
        e.node(
            Label::Principal,
            "aws_iam_instance_profile",
            keys,
            Some(name),
            props,
            at,
        );
        let roles = p
            .get("Roles")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (j, r) in roles.iter().enumerate() {
            if let Some(role) = r.get("Arn").and_then(Value::as_str) {
                profile_to_role(e, arn, role, &format!("{at}/Roles/{j}"));
            }
        }
    });
    if let Some(a) = account {
        e.parsed.scope = format!("{}:{a}", e.connector);
    }
}

fn ec2(e: &mut Emit<'_>, doc: &Value) {
    let reservations = match array_at(e.connector, e.path, doc, "Reservations") {
        Ok(r) => r.to_vec(),
        Err(err) => {
            e.parsed.errors.push(err);
            return;
        }
    };
    for (r, res) in reservations.iter().enumerate() {
        let owner = res.get("OwnerId").and_then(Value::as_str);
        let instances = res
            .get("Instances")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (i, inst) in instances.iter().enumerate() {
            e.parsed.records += 1;
            let at = format!("/Reservations/{r}/Instances/{i}");
            let Some(id) = e.required(inst, "InstanceId", &at) else {
                continue;
            };
            let id = id.to_string();
            let zone = inst
                .pointer("/Placement/AvailabilityZone")
                .and_then(Value::as_str);
            let region = zone.map(|z| z.trim_end_matches(|c: char| c.is_ascii_lowercase()));
            let arn = format!(
                "arn:aws:ec2:{}:{}:instance/{id}",
                region.unwrap_or(""),
                owner.unwrap_or("")
            );
            let mut props = Map::new();
            arn_props(&mut props, &arn);
            copy(
                &mut props,
                inst,
                &[
                    ("InstanceType", "instance_type"),
                    ("LaunchTime", "launched_at"),
                    ("PrivateIpAddress", "private_ip"),
                    ("PublicIpAddress", "public_ip"),
                    ("ImageId", "image_id"),
                ],
            );
            if let Some(state) = inst.pointer("/State/Name") {
                props.insert("state".into(), state.clone());
            }
            let tags = tag_map(inst.get("Tags"));
            let me = Endpoint::new(Label::Workload, Key::arn(&arn));
            e.owner_tags(&me, &tags, &format!("{at}/Tags"));
            let name = tags.get("Name").and_then(Value::as_str).map(str::to_string);
            props.insert("tags".into(), Value::Object(tags));
            e.node(
                Label::Workload,
                "aws_ec2_instance",
                vec![Key::arn(&arn)],
                Some(name.as_deref().unwrap_or(&id)),
                props,
                &at,
            );
            if let Some(profile) = inst
                .pointer("/IamInstanceProfile/Arn")
                .and_then(Value::as_str)
            {
                e.edge(
                    EdgeKind::RunsAs,
                    me,
                    Endpoint::new(Label::Principal, Key::arn(profile)),
                    json!({"via": "instance profile"}),
                    &format!("{at}/IamInstanceProfile"),
                );
            }
        }
    }
}

fn eks(e: &mut Emit<'_>, doc: &Value) {
    let Some((c, name, arn)) = single(e, doc, "cluster", "name", "arn") else {
        return;
    };
    let mut props = Map::new();
    arn_props(&mut props, &arn);
    copy(
        &mut props,
        c,
        &[
            ("version", "version"),
            ("status", "status"),
            ("roleArn", "role"),
            ("endpoint", "endpoint"),
            ("createdAt", "created"),
        ],
    );
    let tags = tag_map(c.get("tags"));
    let me = Endpoint::new(Label::Resource, Key::arn(&arn));
    e.owner_tags(&me, &tags, "/cluster/tags");
    props.insert("tags".into(), Value::Object(tags));
    let issuer = c.pointer("/identity/oidc/issuer").and_then(Value::as_str);
    let account = region_account(&arn).1.map(str::to_string);
    if let Some(issuer) = issuer {
        props.insert("oidc_issuer".into(), json!(issuer));
        if let Some(acct) = &account {
            // The IAM OIDC provider IRSA roles trust is named for the issuer's host and path.
            let provider = format!(
                "arn:aws:iam::{acct}:oidc-provider/{}",
                issuer.trim_start_matches("https://")
            );
            props.insert("oidc_provider".into(), json!(provider));
            e.edge(
                EdgeKind::DefinedIn,
                Endpoint::new(Label::Principal, Key::arn(&provider)),
                me.clone(),
                json!({"via": "cluster OIDC issuer"}),
                "/cluster/identity/oidc/issuer",
            );
        }
    }
    e.node(
        Label::Resource,
        "aws_eks_cluster",
        vec![Key::arn(&arn)],
        Some(&name),
        props,
        "/cluster",
    );
    e.parsed.scope = format!("{}:{arn}", e.connector);
}

fn org_policy_key(id: &str) -> Key {
    Key::other("aws-org-policy", id)
}

/// Accounts, OUs and roots as endpoints: an account is its root principal (the
/// same node trust policies name), an OU or root a group.
fn org_target(id: &str) -> Endpoint {
    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
        Endpoint::new(
            Label::Principal,
            Key::arn(&format!("arn:aws:iam::{id}:root")),
        )
    } else {
        Endpoint::new(Label::Group, Key::other("aws-org", id))
    }
}

fn org_policy(e: &mut Emit<'_>, doc: &Value) {
    let Some(p) = doc.get("Policy").filter(|p| p.is_object()) else {
        e.error("", "expected an object with `Policy`");
        return;
    };
    let Some(summary) = p.get("PolicySummary") else {
        e.error("/Policy", "missing `PolicySummary`");
        return;
    };
    let Some(id) = e.required(summary, "Id", "/Policy/PolicySummary") else {
        return;
    };
    let id = id.to_string();
    e.parsed.records = 1;
    let mut props = Map::new();
    copy(
        &mut props,
        summary,
        &[
            ("Arn", "arn"),
            ("Description", "description"),
            ("Type", "policy_type"),
            ("AwsManaged", "aws_managed"),
        ],
    );
    let content = p.get("Content").map(policy_document);
    match content {
        Some(doc @ Value::Object(_)) => {
            props.insert("document".into(), doc);
        }
        _ => e.error("/Policy/Content", "missing or unreadable policy document"),
    }
    let mut keys = vec![org_policy_key(&id)];
    if let Some(arn) = summary.get("Arn").and_then(Value::as_str) {
        keys.push(Key::arn(arn));
    }
    let name = summary
        .get("Name")
        .and_then(Value::as_str)
        .map(str::to_string);
    e.node(
        Label::Resource,
        "aws_organizations_policy",
        keys,
        name.as_deref(),
        props,
        "/Policy",
    );
    e.parsed.scope = format!("{}:{id}", e.connector);
}

fn org_targets(e: &mut Emit<'_>, doc: &Value) {
    let policy = e
        .path
        .split(['/', '\\'])
        .find(|p| p.starts_with("p-"))
        .map(str::to_string);
    let Some(policy) = policy else {
        e.file_error("list-targets-for-policy does not name its policy: save it under a folder named for the policy id (organizations/policies/p-abcd1234/targets.json)");
        return;
    };
    each_item(e, doc, "Targets", |e, t, at| {
        let Some(id) = e.required(t, "TargetId", at) else {
            return;
        };
        let target = org_target(id);
        let kind = match t.get("Type").and_then(Value::as_str) {
            Some("ACCOUNT") => "aws_account",
            Some("ROOT") => "aws_organizations_root",
            _ => "aws_organizations_unit",
        };
        let mut props = Map::new();
        if let Some(arn) = t.get("Arn") {
            props.insert("organizations_arn".into(), arn.clone());
        }
        let name = t.get("Name").and_then(Value::as_str).map(str::to_string);
        let mut keys = vec![target.key.clone()];
        if kind == "aws_account" {
            keys.push(Key::other("aws-org", id));
        }
        e.node(target.label, kind, keys, name.as_deref(), props, at);
        e.edge(
            EdgeKind::HasPolicy,
            target,
            Endpoint::new(Label::Resource, org_policy_key(&policy)),
            json!({"attachment": "scp"}),
            at,
        );
    });
    e.parsed.scope = format!("{}:{policy}", e.connector);
}

fn is_org_id(s: &str) -> bool {
    (s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()))
        || s.starts_with("ou-")
        || s.starts_with("r-")
}

fn org_parents(e: &mut Emit<'_>, doc: &Value) {
    let child = [stem(e.path), folder(e.path).unwrap_or("")]
        .into_iter()
        .find(|s| is_org_id(s))
        .map(str::to_string);
    let Some(child) = child else {
        e.file_error("list-parents does not name its child: save it as organizations/parents/<account or OU id>.json");
        return;
    };
    // The child exists whether or not another export names it: an account is its
    // root principal (so SCPs reach it without a credential report).
    let child_node = org_target(&child);
    if child_node.label == Label::Principal {
        e.node(
            Label::Principal,
            "aws_account",
            vec![child_node.key.clone(), Key::other("aws-org", &child)],
            Some(&child),
            Map::new(),
            "",
        );
    }
    each_item(e, doc, "Parents", |e, p, at| {
        let Some(id) = e.required(p, "Id", at) else {
            return;
        };
        let kind = if p.get("Type").and_then(Value::as_str) == Some("ROOT") {
            "aws_organizations_root"
        } else {
            "aws_organizations_unit"
        };
        let parent = org_target(id);
        e.node(
            parent.label,
            kind,
            vec![parent.key.clone()],
            Some(id),
            Map::new(),
            at,
        );
        e.edge(
            EdgeKind::MemberOf,
            org_target(&child),
            parent,
            json!({}),
            at,
        );
    });
    e.parsed.scope = format!("{}:{child}", e.connector);
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_model::{EdgeFact, NodeFact};

    fn run(format: Format, path: &str, text: &str) -> Parsed {
        parse(
            format,
            &SourceFile {
                path,
                bytes: text.as_bytes(),
            },
        )
    }

    fn nodes(p: &Parsed) -> Vec<&NodeFact> {
        p.nodes()
    }

    fn edges(p: &Parsed, kind: EdgeKind) -> Vec<&EdgeFact> {
        p.edges(Some(kind))
    }

    #[test]
    fn buckets_tags_and_policies_meet_on_the_bucket_arn() {
        let p = run(
            Format::AwsS3Buckets,
            "aws/123456789012/s3/list-buckets.json",
            r#"{"Buckets": [{"Name": "corp-payroll", "CreationDate": "2021-03-01T10:00:00+00:00"}, {"CreationDate": "x"}],
                "Owner": {"DisplayName": "ops", "ID": "abc"}}"#,
        );
        assert_eq!(p.records, 2);
        assert_eq!(p.errors.len(), 1);
        assert_eq!(
            p.errors[0].location,
            Location::Pointer("/Buckets/1/Name".into())
        );
        let n = nodes(&p);
        assert_eq!(n[0].keys, vec![Key::arn("arn:aws:s3:::corp-payroll")]);
        assert_eq!(n[0].props["account_id"], json!("123456789012"));
        assert_eq!(n[0].props["created"], json!("2021-03-01T10:00:00Z"));

        let t = run(
            Format::AwsS3BucketTagging,
            "aws/123456789012/s3/corp-payroll/tagging.json",
            r#"{"TagSet": [{"Key": "data-classification", "Value": "restricted"}, {"Key": "owner", "Value": "ana@corp.example"}]}"#,
        );
        assert!(t.errors.is_empty(), "{:?}", t.errors);
        assert_eq!(nodes(&t)[0].keys, n[0].keys);
        assert_eq!(
            nodes(&t)[0].props["tags"]["data-classification"],
            json!("restricted")
        );
        assert_eq!(edges(&t, EdgeKind::OwnedBy).len(), 1);

        let policy = r#"{"Policy": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::210987654321:root\"},\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::corp-payroll/*\"}]}"}"#;
        let bp = run(
            Format::AwsResourcePolicy,
            "aws/123456789012/s3/corp-payroll/policy.json",
            policy,
        );
        assert!(bp.errors.is_empty());
        assert_eq!(nodes(&bp)[0].keys, n[0].keys);
        assert_eq!(
            nodes(&bp)[0].props["policy"]["Statement"][0]["Action"],
            json!("s3:GetObject")
        );
    }

    #[test]
    fn key_policies_join_their_key() {
        let d = run(
            Format::AwsKmsKey,
            "aws/123456789012/kms/1234abcd-12ab-34cd-56ef-1234567890ab/describe-key.json",
            r#"{"KeyMetadata": {"AWSAccountId": "123456789012", "KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab",
                "Arn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                "CreationDate": "2020-01-01T00:00:00+00:00", "Enabled": true, "KeyManager": "CUSTOMER", "KeyState": "Enabled"}}"#,
        );
        assert!(d.errors.is_empty());
        let kp = run(
            Format::AwsResourcePolicy,
            "aws/123456789012/kms/1234abcd-12ab-34cd-56ef-1234567890ab/key-policy.json",
            r#"{"Policy": "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::123456789012:root\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]}", "PolicyName": "default"}"#,
        );
        assert!(kp.errors.is_empty());
        let key = &nodes(&kp)[0].keys[0];
        assert!(nodes(&d)[0].keys.contains(key));
        assert_eq!(nodes(&d)[0].props["region"], json!("us-east-1"));
    }

    #[test]
    fn workloads_run_as_their_roles_and_keep_only_variable_names() {
        let l = run(
            Format::AwsLambdaFunctions,
            "aws/123456789012/us-east-1/lambda-functions.json",
            r#"{"Functions": [{"FunctionName": "export", "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:export",
                "Runtime": "python3.12", "Role": "arn:aws:iam::123456789012:role/export-lambda",
                "Environment": {"Variables": {"DB_PASSWORD": "hunter2-not-to-be-kept"}}}]}"#,
        );
        assert!(l.errors.is_empty());
        let text = serde_json::to_string(&l.facts).unwrap();
        assert!(!text.contains("hunter2"));
        assert!(text.contains("DB_PASSWORD"));
        assert_eq!(edges(&l, EdgeKind::RunsAs).len(), 1);

        let ip = run(
            Format::AwsInstanceProfiles,
            "aws/123456789012/iam/instance-profiles.json",
            r#"{"InstanceProfiles": [{"Path": "/", "InstanceProfileName": "web", "InstanceProfileId": "AIPAEXAMPLEID00000001",
                "Arn": "arn:aws:iam::123456789012:instance-profile/web", "CreateDate": "2020-01-01T00:00:00Z",
                "Roles": [{"RoleName": "web", "Arn": "arn:aws:iam::123456789012:role/web"}]}]}"#,
        );
        assert!(ip.errors.is_empty());
        assert_eq!(edges(&ip, EdgeKind::CanAssume).len(), 1);

        let ec2 = run(
            Format::AwsEc2Instances,
            "aws/123456789012/us-east-1/ec2-instances.json",
            r#"{"Reservations": [{"OwnerId": "123456789012", "Instances": [{"InstanceId": "i-0abc", "Placement": {"AvailabilityZone": "us-east-1a"},
                "IamInstanceProfile": {"Arn": "arn:aws:iam::123456789012:instance-profile/web", "Id": "AIPAEXAMPLEID00000001"},
                "Tags": [{"Key": "Name", "Value": "web-1"}], "State": {"Name": "running"}}, {"State": {}}]}]}"#,
        );
        assert_eq!(ec2.errors.len(), 1);
        let n = nodes(&ec2);
        assert_eq!(
            n[0].keys,
            vec![Key::arn(
                "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"
            )]
        );
        assert_eq!(n[0].name.as_deref(), Some("web-1"));
        assert_eq!(edges(&ec2, EdgeKind::RunsAs).len(), 1);
    }

    #[test]
    fn eks_names_the_oidc_provider_irsa_roles_trust() {
        let c = run(
            Format::AwsEksCluster,
            "aws/123456789012/eks/prod.json",
            r#"{"cluster": {"name": "prod", "arn": "arn:aws:eks:us-east-1:123456789012:cluster/prod",
                "identity": {"oidc": {"issuer": "https://oidc.eks.us-east-1.amazonaws.com/id/ABC123"}}, "tags": {"team": "platform"}}}"#,
        );
        assert!(c.errors.is_empty());
        let e = edges(&c, EdgeKind::DefinedIn);
        assert_eq!(
            e[0].from.key,
            Key::arn("arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC123")
        );
    }

    #[test]
    fn scps_attach_to_accounts_and_ous() {
        let p = run(
            Format::AwsOrgPolicy,
            "organizations/policies/p-abcd1234/describe-policy.json",
            r#"{"Policy": {"PolicySummary": {"Id": "p-abcd1234", "Arn": "arn:aws:organizations::111111111111:policy/o-x/service_control_policy/p-abcd1234",
                "Name": "DenyLeaveOrg", "Type": "SERVICE_CONTROL_POLICY", "AwsManaged": false},
                "Content": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"organizations:LeaveOrganization\",\"Resource\":\"*\"}]}"}}"#,
        );
        assert!(p.errors.is_empty());
        assert!(nodes(&p)[0].props["document"]["Statement"].is_array());
        let t = run(
            Format::AwsOrgTargets,
            "organizations/policies/p-abcd1234/targets.json",
            r#"{"Targets": [{"TargetId": "123456789012", "Arn": "arn:aws:organizations::1:account/o-x/123456789012", "Name": "prod", "Type": "ACCOUNT"},
                            {"TargetId": "ou-ab12-cdef3456", "Name": "Workloads", "Type": "ORGANIZATIONAL_UNIT"}]}"#,
        );
        assert!(t.errors.is_empty());
        let h = edges(&t, EdgeKind::HasPolicy);
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].from.key, Key::arn("arn:aws:iam::123456789012:root"));
        assert_eq!(h[0].to.key, Key::other("aws-org-policy", "p-abcd1234"));
        let par = run(
            Format::AwsOrgParents,
            "organizations/parents/123456789012.json",
            r#"{"Parents": [{"Id": "ou-ab12-cdef3456", "Type": "ORGANIZATIONAL_UNIT"}]}"#,
        );
        assert!(par.errors.is_empty());
        assert_eq!(edges(&par, EdgeKind::MemberOf).len(), 1);
        let orphan = run(Format::AwsOrgTargets, "targets.json", r#"{"Targets": []}"#);
        assert_eq!(orphan.errors.len(), 1);
    }

    #[test]
    fn secrets_keep_metadata_and_policies() {
        let s = run(
            Format::AwsSecrets,
            "aws/123456789012/us-east-1/secrets.json",
            r#"{"SecretList": [{"ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:payroll/db-AbCdEf", "Name": "payroll/db",
                "LastAccessedDate": 1700000000.0, "Tags": [{"Key": "sensitivity", "Value": "high"}]}]}"#,
        );
        assert!(s.errors.is_empty());
        assert_eq!(
            nodes(&s)[0].props["last_accessed"],
            json!("2023-11-14T22:13:20Z")
        );
        let rp = run(
            Format::AwsSecretPolicy,
            "x/policy.json",
            r#"{"ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:payroll/db-AbCdEf", "Name": "payroll/db",
                "ResourcePolicy": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"*\"},\"Action\":\"secretsmanager:GetSecretValue\",\"Resource\":\"*\"}]}"}"#,
        );
        assert!(rp.errors.is_empty());
        assert_eq!(nodes(&rp)[0].keys, nodes(&s)[0].keys);
        let rds = run(
            Format::AwsRds,
            "aws/123456789012/us-east-1/rds-instances.json",
            r#"{"DBInstances": [{"DBInstanceIdentifier": "payroll", "DBInstanceArn": "arn:aws:rds:us-east-1:123456789012:db:payroll",
                "Engine": "postgres", "Endpoint": {"Address": "payroll.x.rds.amazonaws.com", "Port": 5432}, "TagList": []}]}"#,
        );
        assert!(rds.errors.is_empty());
        assert_eq!(nodes(&rds)[0].kind, "aws_rds_instance");
    }
}
