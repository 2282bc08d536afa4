//! `aws iam get-account-authorization-details` (AWS CLI v1/v2 JSON, or the raw API's
//! URL-encoded policy documents): users, groups, roles with trust policies and
//! instance profiles, managed policies with their versions, inline policies.

use super::{account_of, owner_tag, user_name_key, OwnerTag};
use crate::util::{array_at, parse_json, policy_document, record};
use crate::{Parsed, SourceFile};
use custody_model::{
    time, EdgeFact, EdgeKind, Endpoint, Fact, Key, Label, Location, NodeFact, Provenance,
};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

const CONNECTOR: &str = "aws-iam-authorization-details";

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: String,
    #[serde(default)]
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Attached {
    policy_arn: String,
    #[serde(default)]
    policy_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Inline {
    policy_name: String,
    #[serde(default)]
    policy_document: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Boundary {
    #[serde(default)]
    permissions_boundary_arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct User {
    #[serde(default)]
    path: Option<String>,
    user_name: String,
    user_id: String,
    arn: String,
    #[serde(default)]
    create_date: Option<String>,
    #[serde(default)]
    user_policy_list: Vec<Inline>,
    #[serde(default)]
    group_list: Vec<String>,
    #[serde(default)]
    attached_managed_policies: Vec<Attached>,
    #[serde(default)]
    permissions_boundary: Option<Boundary>,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Group {
    #[serde(default)]
    path: Option<String>,
    group_name: String,
    group_id: String,
    arn: String,
    #[serde(default)]
    create_date: Option<String>,
    #[serde(default)]
    group_policy_list: Vec<Inline>,
    #[serde(default)]
    attached_managed_policies: Vec<Attached>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InstanceProfile {
    instance_profile_name: String,
    #[serde(default)]
    instance_profile_id: Option<String>,
    #[serde(default)]
    arn: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RoleLastUsed {
    #[serde(default)]
    last_used_date: Option<String>,
    #[serde(default)]
    region: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Role {
    #[serde(default)]
    path: Option<String>,
    role_name: String,
    role_id: String,
    arn: String,
    #[serde(default)]
    create_date: Option<String>,
    #[serde(default)]
    assume_role_policy_document: Value,
    #[serde(default)]
    instance_profile_list: Vec<InstanceProfile>,
    #[serde(default)]
    role_policy_list: Vec<Inline>,
    #[serde(default)]
    attached_managed_policies: Vec<Attached>,
    #[serde(default)]
    permissions_boundary: Option<Boundary>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    role_last_used: Option<RoleLastUsed>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyVersion {
    #[serde(default)]
    document: Value,
    #[serde(default)]
    version_id: Option<String>,
    #[serde(default)]
    is_default_version: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Policy {
    // Both always in AWS's answer; an emulator (moto) leaves them out, and
    // the ARN names the policy anyway.
    #[serde(default)]
    policy_name: Option<String>,
    #[serde(default)]
    policy_id: Option<String>,
    arn: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    default_version_id: Option<String>,
    #[serde(default)]
    attachment_count: Option<u64>,
    #[serde(default)]
    is_attachable: Option<bool>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    create_date: Option<String>,
    #[serde(default)]
    update_date: Option<String>,
    #[serde(default)]
    policy_version_list: Vec<PolicyVersion>,
}

struct Out {
    path: String,
    parsed: Parsed,
    trusted_seen: std::collections::HashSet<Key>,
}

impl Out {
    fn node(
        &mut self,
        label: Label,
        kind: &str,
        keys: Vec<Key>,
        name: &str,
        props: Map<String, Value>,
        loc: Location,
    ) {
        self.parsed.facts.push(Fact::Node(NodeFact {
            label,
            kind: kind.to_string(),
            system: "aws".into(),
            keys,
            name: Some(name.to_string()),
            props,
            prov: Provenance::at(loc),
        }));
    }

    fn edge(
        &mut self,
        kind: EdgeKind,
        from: Endpoint,
        to: Endpoint,
        props: Map<String, Value>,
        loc: Location,
    ) {
        self.parsed.facts.push(Fact::Edge(EdgeFact {
            kind,
            from,
            to,
            props,
            prov: Provenance::at(loc),
        }));
    }

    fn policies(&mut self, from: &Endpoint, attached: &[Attached], base: &str) {
        for (i, a) in attached.iter().enumerate() {
            let loc = Location::Pointer(format!("{base}/AttachedManagedPolicies/{i}"));
            let mut props = Map::new();
            props.insert("attachment".into(), json!("managed"));
            if let Some(n) = &a.policy_name {
                props.insert("policy_name".into(), json!(n));
            }
            self.edge(
                EdgeKind::HasPolicy,
                from.clone(),
                Endpoint::new(Label::Resource, Key::arn(&a.policy_arn)),
                props,
                loc,
            );
        }
    }

    /// Tags whose value is an e-mail address name an owner: an `OWNED_BY` edge with
    /// the tag as evidence.
    fn owner_tags(&mut self, from: &Endpoint, tags: &[Tag], base: &str) {
        for (i, t) in tags.iter().enumerate() {
            let key = t.key.to_ascii_lowercase();
            let value = t.value.trim();
            let tag = owner_tag(&key);
            if tag.is_some() && value.contains('@') && !value.contains(' ') {
                let mut props = Map::new();
                props.insert(
                    "evidence".into(),
                    json!(format!("IAM tag {}={}", t.key, value)),
                );
                props.insert(
                    "method".into(),
                    json!(if tag == Some(OwnerTag::Creator) {
                        "created-by-tag"
                    } else {
                        "resource-tag"
                    }),
                );
                props.insert(
                    "confidence".into(),
                    json!(if tag == Some(OwnerTag::Creator) {
                        0.7
                    } else {
                        0.9
                    }),
                );
                self.edge(
                    EdgeKind::OwnedBy,
                    from.clone(),
                    Endpoint::new(Label::Human, Key::email(value)),
                    props,
                    Location::Pointer(format!("{base}/Tags/{i}")),
                );
            }
        }
    }
}

/// Owner tags naming a handle rather than an e-mail (`owner=wchen`).
fn claims(props: &mut Map<String, Value>, tags: &[Tag]) {
    let c = super::handle_claims(
        tags.iter().map(|t| (t.key.as_str(), t.value.as_str())),
        "IAM tag",
    );
    if !c.is_empty() {
        props.insert("owner_claims".into(), Value::Array(c));
    }
}

fn tags_map(tags: &[Tag]) -> Value {
    Value::Object(
        tags.iter()
            .map(|t| (t.key.clone(), json!(t.value)))
            .collect(),
    )
}

fn inline_docs(inline: &[Inline]) -> Value {
    Value::Array(
        inline
            .iter()
            .map(
                |p| json!({"name": p.policy_name, "document": policy_document(&p.policy_document)}),
            )
            .collect(),
    )
}

fn put(props: &mut Map<String, Value>, k: &str, v: Option<impl Into<Value>>) {
    if let Some(v) = v {
        props.insert(k.to_string(), v.into());
    }
}

pub fn parse(file: &SourceFile<'_>) -> Parsed {
    let mut out = Out {
        path: file.path.to_string(),
        parsed: Parsed::default(),
        trusted_seen: Default::default(),
    };
    let doc = match parse_json(CONNECTOR, file.path, file.bytes) {
        Ok(d) => d,
        Err(e) => {
            out.parsed.errors.push(e);
            return out.parsed;
        }
    };
    if !doc.is_object() {
        out.parsed.errors.push(crate::InputError::new(
            CONNECTOR,
            file.path,
            Location::Pointer(String::new()),
            "expected a JSON object with UserDetailList, GroupDetailList, RoleDetailList and Policies",
        ));
        return out.parsed;
    }
    let path = out.path.clone();
    let mut account: Option<String> = None;

    // Groups first: users name their groups only by name.
    let mut group_arns: HashMap<String, String> = HashMap::new();
    let mut lists = Vec::new();
    for key in [
        "GroupDetailList",
        "UserDetailList",
        "RoleDetailList",
        "Policies",
    ] {
        match array_at(CONNECTOR, &path, &doc, key) {
            Ok(items) => lists.push((key, items)),
            Err(e) => out.parsed.errors.push(e),
        }
    }
    for (list, items) in lists {
        for (i, item) in items.iter().enumerate() {
            let base = format!("/{list}/{i}");
            out.parsed.records += 1;
            let result = match list {
                "GroupDetailList" => record::<Group>(CONNECTOR, &path, &base, item).map(|g| {
                    group_arns.insert(g.group_name.clone(), g.arn.clone());
                    group(&mut out, g, &base)
                }),
                "UserDetailList" => record::<User>(CONNECTOR, &path, &base, item)
                    .map(|u| user(&mut out, u, &base, &group_arns)),
                "RoleDetailList" => {
                    record::<Role>(CONNECTOR, &path, &base, item).map(|r| role(&mut out, r, &base))
                }
                _ => record::<Policy>(CONNECTOR, &path, &base, item)
                    .map(|p| policy(&mut out, p, &base)),
            };
            match result {
                Ok(Some(acct)) if account.is_none() => account = Some(acct),
                Ok(_) => {}
                Err(e) => out.parsed.errors.push(e),
            }
        }
    }
    if let Some(acct) = account {
        out.parsed.scope = format!("{CONNECTOR}:{acct}");
    }
    out.parsed
}

fn common(
    props: &mut Map<String, Value>,
    arn: &str,
    path: &Option<String>,
    created: &Option<String>,
) -> Option<String> {
    let account = account_of(arn).map(str::to_string);
    put(props, "account_id", account.clone());
    put(props, "arn", Some(arn));
    put(props, "path", path.clone());
    put(
        props,
        "created",
        created.as_deref().and_then(time::normalise),
    );
    account
}

fn group(out: &mut Out, g: Group, base: &str) -> Option<String> {
    let mut props = Map::new();
    let account = common(&mut props, &g.arn, &g.path, &g.create_date);
    props.insert("inline_policies".into(), inline_docs(&g.group_policy_list));
    let me = Endpoint::new(Label::Group, Key::arn(&g.arn));
    out.node(
        Label::Group,
        "aws_iam_group",
        vec![Key::arn(&g.arn), Key::aws_unique_id(&g.group_id)],
        &g.group_name,
        props,
        Location::Pointer(base.to_string()),
    );
    out.policies(&me, &g.attached_managed_policies, base);
    account
}

fn user(
    out: &mut Out,
    u: User,
    base: &str,
    group_arns: &HashMap<String, String>,
) -> Option<String> {
    let mut props = Map::new();
    let account = common(&mut props, &u.arn, &u.path, &u.create_date);
    props.insert("tags".into(), tags_map(&u.tags));
    claims(&mut props, &u.tags);
    props.insert("groups".into(), json!(u.group_list));
    props.insert("inline_policies".into(), inline_docs(&u.user_policy_list));
    put(
        &mut props,
        "permissions_boundary",
        u.permissions_boundary
            .and_then(|b| b.permissions_boundary_arn),
    );
    let mut keys = vec![Key::arn(&u.arn), Key::aws_unique_id(&u.user_id)];
    if let Some(acct) = &account {
        keys.push(user_name_key(acct, &u.user_name));
    }
    let me = Endpoint::new(Label::Principal, Key::arn(&u.arn));
    out.node(
        Label::Principal,
        "aws_iam_user",
        keys,
        &u.user_name,
        props,
        Location::Pointer(base.to_string()),
    );
    for (i, g) in u.group_list.iter().enumerate() {
        let arn = match (group_arns.get(g), &account) {
            (Some(arn), _) => arn.clone(),
            (None, Some(acct)) => format!("arn:aws:iam::{acct}:group/{g}"),
            (None, None) => continue,
        };
        out.edge(
            EdgeKind::MemberOf,
            me.clone(),
            Endpoint::new(Label::Group, Key::arn(&arn)),
            Map::new(),
            Location::Pointer(format!("{base}/GroupList/{i}")),
        );
    }
    out.policies(&me, &u.attached_managed_policies, base);
    out.owner_tags(&me, &u.tags, base);
    account
}

fn role(out: &mut Out, r: Role, base: &str) -> Option<String> {
    let mut props = Map::new();
    let account = common(&mut props, &r.arn, &r.path, &r.create_date);
    props.insert("tags".into(), tags_map(&r.tags));
    claims(&mut props, &r.tags);
    let trust = policy_document(&r.assume_role_policy_document);
    props.insert("trust_policy".into(), trust.clone());
    props.insert("inline_policies".into(), inline_docs(&r.role_policy_list));
    let service_linked = r
        .path
        .as_deref()
        .is_some_and(|p| p.starts_with("/aws-service-role/"));
    props.insert("service_linked".into(), json!(service_linked));
    if !r.instance_profile_list.is_empty() {
        let profiles: Vec<Value> = r
            .instance_profile_list
            .iter()
            .map(|p| json!({"name": p.instance_profile_name, "arn": p.arn}))
            .collect();
        props.insert("instance_profiles".into(), Value::Array(profiles));
    }
    put(
        &mut props,
        "permissions_boundary",
        r.permissions_boundary
            .and_then(|b| b.permissions_boundary_arn),
    );
    let last = r.role_last_used.unwrap_or_default();
    put(
        &mut props,
        "last_used",
        last.last_used_date.as_deref().and_then(time::normalise),
    );
    put(&mut props, "last_used_region", last.region);
    let me = Endpoint::new(Label::Principal, Key::arn(&r.arn));
    let kind = if service_linked {
        "aws_iam_service_linked_role"
    } else {
        "aws_iam_role"
    };
    out.node(
        Label::Principal,
        kind,
        vec![Key::arn(&r.arn), Key::aws_unique_id(&r.role_id)],
        &r.role_name,
        props,
        Location::Pointer(base.to_string()),
    );
    out.policies(&me, &r.attached_managed_policies, base);
    out.owner_tags(&me, &r.tags, base);
    // The instance profiles carrying the role: what an EC2 instance runs as
    // (the same facts `aws iam list-instance-profiles` gives).
    for (i, p) in r.instance_profile_list.iter().enumerate() {
        let Some(arn) = &p.arn else { continue };
        let at = format!("{base}/InstanceProfileList/{i}");
        let mut props = Map::new();
        props.insert("arn".into(), json!(arn));
        if let Some(a) = &account {
            props.insert("account_id".into(), json!(a));
        }
        let mut keys = vec![Key::arn(arn)];
        if let Some(id) = &p.instance_profile_id {
            keys.push(Key::aws_unique_id(id));
        }
        out.node(
            Label::Principal,
            "aws_iam_instance_profile",
            keys,
            &p.instance_profile_name,
            props,
            Location::Pointer(at.clone()),
        );
        let mut edge = Map::new();
        edge.insert("trusted".into(), json!("instance-profile"));
        edge.insert("actions".into(), json!(["sts:AssumeRole"]));
        out.edge(
            EdgeKind::CanAssume,
            Endpoint::new(Label::Principal, Key::arn(arn)),
            me.clone(),
            edge,
            Location::Pointer(at),
        );
    }
    // Services and identity providers are asserted once per file, not once per role.
    for fact in super::trust::edges(&trust, &me, &format!("{base}/AssumeRolePolicyDocument")) {
        if let custody_model::Fact::Node(n) = &fact {
            if !out.trusted_seen.insert(n.keys[0].clone()) {
                continue;
            }
        }
        out.parsed.facts.push(fact);
    }
    account
}

fn policy(out: &mut Out, p: Policy, base: &str) -> Option<String> {
    let mut props = Map::new();
    let account = common(&mut props, &p.arn, &p.path, &p.create_date);
    put(
        &mut props,
        "updated",
        p.update_date.as_deref().and_then(time::normalise),
    );
    put(&mut props, "default_version", p.default_version_id.clone());
    put(&mut props, "attachment_count", p.attachment_count);
    put(&mut props, "is_attachable", p.is_attachable);
    put(&mut props, "description", p.description);
    props.insert(
        "aws_managed".into(),
        json!(p.arn.starts_with("arn:aws:iam::aws:policy/")),
    );
    if let Some(v) = default_version(&p.policy_version_list, &p.default_version_id) {
        props.insert("document".into(), policy_document(&v.document));
    }
    let mut keys = vec![Key::arn(&p.arn)];
    keys.extend(p.policy_id.as_deref().map(Key::aws_unique_id));
    let name = p.policy_name.unwrap_or_else(|| name_from_arn(&p.arn));
    out.node(
        Label::Resource,
        "aws_iam_policy",
        keys,
        &name,
        props,
        Location::Pointer(base.to_string()),
    );
    account
}

/// A managed policy's name: the ARN's last path segment.
fn name_from_arn(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_string()
}

/// The version AWS applies: the one flagged default, or named by `DefaultVersionId`.
fn default_version<'v>(
    versions: &'v [PolicyVersion],
    default_id: &Option<String>,
) -> Option<&'v PolicyVersion> {
    versions
        .iter()
        .find(|v| v.is_default_version || v.version_id.is_some() && v.version_id == *default_id)
}

/// One policy document of an authorization-details file, for per-policy analysis.
#[derive(Debug, Clone)]
pub struct PolicyDocument {
    /// `customer-managed`, `aws-managed` or `inline`.
    pub kind: &'static str,
    pub name: String,
    /// The policy's IAM path (managed) or its holder's (inline).
    pub path: String,
    /// Managed policies: the policy ARN.
    pub arn: Option<String>,
    /// Inline policies: the ARN of the user, group or role holding it.
    pub owner: Option<String>,
    /// Managed policies: the ARNs of the users, groups and roles it is attached to.
    pub attached_to: Vec<String>,
    /// The default version's document (decoded).
    pub document: Value,
}

mod lean {
    //! Only what per-policy analysis needs; serde skips everything else. Inline
    //! policies, attachments and versions are read as the full reader reads them.
    use super::{Attached, Inline, PolicyVersion};
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    pub struct Holder {
        pub arn: String,
        #[serde(default)]
        pub path: Option<String>,
        #[serde(default, alias = "UserPolicyList", alias = "GroupPolicyList")]
        pub role_policy_list: Vec<Inline>,
        #[serde(default)]
        pub attached_managed_policies: Vec<Attached>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    pub struct Managed {
        #[serde(default)]
        pub policy_name: Option<String>,
        pub arn: String,
        #[serde(default)]
        pub path: Option<String>,
        #[serde(default)]
        pub default_version_id: Option<String>,
        #[serde(default)]
        pub policy_version_list: Vec<PolicyVersion>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    pub struct Doc {
        #[serde(default)]
        pub user_detail_list: Vec<Holder>,
        #[serde(default)]
        pub group_detail_list: Vec<Holder>,
        #[serde(default)]
        pub role_detail_list: Vec<Holder>,
        #[serde(default)]
        pub policies: Vec<Managed>,
    }
}

/// Every policy document in the file: managed policies (default version) with
/// where they are attached, and every inline policy with its holder. A file that
/// does not fit is reported with its location, as [`parse`] would.
pub fn policy_documents(file: &SourceFile<'_>) -> Result<Vec<PolicyDocument>, crate::InputError> {
    let text = crate::util::strip_bom(file.bytes);
    let doc: lean::Doc = match serde_json::from_slice(text) {
        Ok(d) => d,
        Err(e) => {
            // Locate the problem the way the full reader does (record and pointer).
            let full = parse(file);
            return Err(full
                .errors
                .into_iter()
                .next()
                .unwrap_or_else(|| crate::util::json_error(CONNECTOR, file.path, &e)));
        }
    };
    let mut attached: HashMap<String, Vec<String>> = HashMap::new();
    let mut out = Vec::new();
    for h in doc
        .user_detail_list
        .iter()
        .chain(&doc.group_detail_list)
        .chain(&doc.role_detail_list)
    {
        for a in &h.attached_managed_policies {
            attached
                .entry(a.policy_arn.clone())
                .or_default()
                .push(h.arn.clone());
        }
        for p in &h.role_policy_list {
            out.push(PolicyDocument {
                kind: "inline",
                name: p.policy_name.clone(),
                path: h.path.clone().unwrap_or_else(|| "/".into()),
                arn: None,
                owner: Some(h.arn.clone()),
                attached_to: Vec::new(),
                document: policy_document(&p.policy_document),
            });
        }
    }
    for p in doc.policies {
        let Some(v) = default_version(&p.policy_version_list, &p.default_version_id) else {
            continue;
        };
        out.push(PolicyDocument {
            kind: if p.arn.starts_with("arn:aws:iam::aws:policy/") {
                "aws-managed"
            } else {
                "customer-managed"
            },
            attached_to: attached.remove(&p.arn).unwrap_or_default(),
            name: p.policy_name.unwrap_or_else(|| name_from_arn(&p.arn)),
            path: p.path.unwrap_or_else(|| "/".into()),
            arn: Some(p.arn),
            owner: None,
            document: policy_document(&v.document),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_model::Fact;

    /// The repository's own export (`fixtures/aws-iam/`, in the documented
    /// format: `fixtures/README.md`).
    fn sample(name: &str) -> Vec<u8> {
        let p = format!(
            "{}/../../fixtures/aws-iam/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    #[test]
    fn an_export_parses_completely() {
        let bytes = sample("authorization-details.json");
        let p = parse(&SourceFile {
            path: "authz.json",
            bytes: &bytes,
        });
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let nodes: Vec<_> = p
            .facts
            .iter()
            .filter_map(|f| if let Fact::Node(n) = f { Some(n) } else { None })
            .collect();
        let count = |k: &str| nodes.iter().filter(|n| n.kind == k).count();
        assert_eq!(count("aws_iam_user"), 3);
        assert_eq!(count("aws_iam_group"), 2);
        assert_eq!(
            count("aws_iam_role") + count("aws_iam_service_linked_role"),
            3
        );
        assert_eq!(count("aws_iam_policy"), 3);
        assert_eq!(p.scope, "aws-iam-authorization-details:111122223333");
        let admin = nodes
            .iter()
            .find(|n| n.name.as_deref() == Some("admin-ana"))
            .unwrap();
        assert_eq!(
            admin.keys[0],
            Key::arn("arn:aws:iam::111122223333:user/admin-ana")
        );
        assert_eq!(admin.props["created"], json!("2024-03-04T10:20:30Z"));
        let member_of = p
            .facts
            .iter()
            .filter(|f| matches!(f, Fact::Edge(e) if e.kind == EdgeKind::MemberOf))
            .count();
        assert!(member_of >= 3);
    }

    #[test]
    fn a_bad_record_is_located_and_the_rest_kept() {
        let doc = br#"{"UserDetailList": [
            {"UserName": "a", "UserId": "AIDA1", "Arn": "arn:aws:iam::111122223333:user/a"},
            {"UserName": "b", "Arn": "arn:aws:iam::111122223333:user/b"},
            {"UserName": "c", "UserId": "AIDA3", "Arn": "arn:aws:iam::111122223333:user/c", "Tags": [{"Key": "owner", "Value": "Ana@Corp.Example"}]}
        ], "RoleDetailList": [], "GroupDetailList": [], "Policies": []}"#;
        let p = parse(&SourceFile {
            path: "x.json",
            bytes: doc,
        });
        assert_eq!(p.errors.len(), 1);
        assert_eq!(
            p.errors[0].location,
            Location::Pointer("/UserDetailList/1".into())
        );
        assert!(
            p.errors[0].message.contains("UserId"),
            "{}",
            p.errors[0].message
        );
        let users = p
            .facts
            .iter()
            .filter(|f| matches!(f, Fact::Node(_)))
            .count();
        assert_eq!(users, 2);
        let owner = p.facts.iter().find_map(|f| match f {
            Fact::Edge(e) if e.kind == EdgeKind::OwnedBy => Some(e),
            _ => None,
        });
        assert_eq!(owner.unwrap().to.key, Key::email("ana@corp.example"));
    }

    #[test]
    fn wrong_types_are_reported_with_a_pointer_and_no_value() {
        let doc = br#"{"UserDetailList": [{"UserName": "a", "UserId": "AIDA1", "Arn": "arn:aws:iam::111122223333:user/a", "GroupList": "sk-live-should-not-echo-0123456789"}]}"#;
        let p = parse(&SourceFile {
            path: "x.json",
            bytes: doc,
        });
        assert_eq!(
            p.errors[0].location,
            Location::Pointer("/UserDetailList/0/GroupList".into())
        );
        assert!(!p.errors[0].to_string().contains("sk-live"));
    }
}
