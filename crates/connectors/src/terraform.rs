//! Terraform state, format version 4 (`terraform state pull`, or the
//! `terraform.tfstate` object a backend keeps).
//!
//! Each managed resource instance that is an identity or a credential becomes
//! that node (keyed as its own system keys it, so the state's IAM user is the
//! same node as the IAM export's) `DEFINED_IN` a `Location`
//! `tfstate://<state file>#<resource address>`: the infrastructure code that
//! owns it, which attribution follows to the code's authors.
//!
//! State files hold secrets in clear (`aws_iam_access_key.secret`, an Entra
//! application password's `value`, an AppRole `secret_id`…). Those are
//! fingerprinted, never kept, and the credential is also `STORED_IN` the
//! state: whoever can read the state can use it.
//!
//! | resource type | node |
//! |---|---|
//! | `aws_iam_user`, `aws_iam_role` | `Principal` by ARN |
//! | `aws_iam_access_key` | `Credential` by access key id (+ the secret's fingerprint) |
//! | `google_service_account` | `Principal` by e-mail |
//! | `google_service_account_key` | `Credential` `id:gcp-sa-key/<key id>` |
//! | `azuread_application`, `azuread_application_registration` | `Principal` `id:azure-app/<client id>` |
//! | `azuread_service_principal` | `Principal` `id:entra-sp/<object id>` + `id:azure-app/<client id>` |
//! | `azuread_application_password`, `azuread_service_principal_password` | `Credential` `id:entra-credential/<key id>` |
//! | `vault_approle_auth_backend_role_secret_id` | `Credential` `id:vault-secret-id/<accessor>` |

use crate::util::parse_json;
use crate::{InputError, ParseContext, Parsed, SourceFile};
use custody_model::{secret::Secret, EdgeKind, Fact, Key, Label, Location};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

fn node(
    label: Label,
    kind: &str,
    keys: Vec<Key>,
    name: &str,
    props: Map<String, Value>,
    at: &str,
) -> Fact {
    crate::util::node_at("terraform", label, kind, keys, Some(name), props, at)
}

use crate::util::edge_between as edge;

/// `module.a.module.b.aws_iam_user.ci["x"]`, as Terraform prints addresses.
fn address(module: Option<&str>, kind: &str, name: &str, index: Option<&Value>) -> String {
    let mut a = String::new();
    if let Some(m) = module.filter(|m| !m.is_empty()) {
        a.push_str(m);
        a.push('.');
    }
    a.push_str(kind);
    a.push('.');
    a.push_str(name);
    match index {
        Some(Value::Number(n)) => a.push_str(&format!("[{n}]")),
        Some(Value::String(s)) => a.push_str(&format!("[\"{s}\"]")),
        _ => {}
    }
    a
}

fn attr<'v>(a: &'v Map<String, Value>, k: &str) -> Option<&'v str> {
    a.get(k).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// What one resource instance is, as keys and a kind.
struct Subject {
    label: Label,
    kind: &'static str,
    keys: Vec<Key>,
    name: String,
    props: Map<String, Value>,
    /// The attribute holding secret material, if the state has it in clear.
    secret: Option<&'static str>,
    /// What the credential authenticates as.
    authenticates_as: Option<(Label, Key)>,
}

fn subject(kind: &str, a: &Map<String, Value>) -> Option<Subject> {
    let mut props = Map::new();
    let s = |label, k, keys: Vec<Key>, name: &str| Subject {
        label,
        kind: k,
        keys,
        name: name.to_string(),
        props: Map::new(),
        secret: None,
        authenticates_as: None,
    };
    let mut out = match kind {
        "aws_iam_user" | "aws_iam_role" => {
            let arn = attr(a, "arn")?;
            let k = if kind == "aws_iam_user" {
                "aws_iam_user"
            } else {
                "aws_iam_role"
            };
            let mut keys = vec![Key::arn(arn)];
            if let Some(u) = attr(a, "unique_id") {
                keys.push(Key::aws_unique_id(u));
            }
            s(Label::Principal, k, keys, attr(a, "name").unwrap_or(arn))
        }
        "aws_iam_access_key" => {
            let id = attr(a, "id")?;
            let mut x = s(
                Label::Credential,
                "aws_access_key",
                vec![Key::aws_access_key(id)],
                id,
            );
            if let Some(st) = attr(a, "status") {
                props.insert("status".into(), json!(st));
            }
            if let Some(u) = attr(a, "user") {
                props.insert("user_name".into(), json!(u));
            }
            x.secret = Some("secret");
            x
        }
        "google_service_account" => {
            let email = attr(a, "email")?;
            let mut keys = vec![Key::email(email)];
            if let Some(u) = attr(a, "unique_id") {
                keys.push(Key::other("gcp-sa", u));
            }
            s(Label::Principal, "gcp_service_account", keys, email)
        }
        "google_service_account_key" => {
            // id: projects/P/serviceAccounts/E/keys/KEY_ID
            let id = attr(a, "name").or_else(|| attr(a, "id"))?;
            let (head, key_id) = id.rsplit_once("/keys/")?;
            let email = head
                .rsplit_once("/serviceAccounts/")?
                .1
                .to_ascii_lowercase();
            let mut x = s(
                Label::Credential,
                "gcp_service_account_key",
                vec![Key::other("gcp-sa-key", key_id)],
                key_id,
            );
            props.insert("service_account".into(), json!(email));
            x.authenticates_as = Some((Label::Principal, Key::email(&email)));
            // `private_key` is the base64 of the whole key file: material in clear.
            x.secret = Some("private_key");
            x
        }
        "azuread_application" | "azuread_application_registration" => {
            let client = attr(a, "client_id").or_else(|| attr(a, "application_id"))?;
            let mut keys = vec![Key::other("azure-app", client)];
            if let Some(o) = attr(a, "object_id") {
                keys.push(Key::other("entra-app", o));
            }
            s(
                Label::Principal,
                "azure_app_registration",
                keys,
                attr(a, "display_name").unwrap_or(client),
            )
        }
        "azuread_service_principal" => {
            let client = attr(a, "client_id").or_else(|| attr(a, "application_id"))?;
            let mut keys = vec![Key::other("azure-app", client)];
            if let Some(o) = attr(a, "object_id") {
                keys.insert(0, Key::other("entra-sp", o));
            }
            s(
                Label::Principal,
                "azure_service_principal",
                keys,
                attr(a, "display_name").unwrap_or(client),
            )
        }
        "azuread_application_password" | "azuread_service_principal_password" => {
            let key_id = attr(a, "key_id")?;
            let mut x = s(
                Label::Credential,
                "azure_client_secret",
                vec![Key::other("entra-credential", key_id)],
                attr(a, "display_name").unwrap_or(key_id),
            );
            for k in ["end_date", "start_date"] {
                if let Some(t) = attr(a, k).and_then(custody_model::time::normalise) {
                    props.insert(
                        if k == "end_date" {
                            "expires"
                        } else {
                            "created"
                        }
                        .into(),
                        json!(t),
                    );
                }
            }
            x.authenticates_as = attr(a, "service_principal_id")
                .map(|sp| {
                    let sp = sp.rsplit('/').next().unwrap_or(sp);
                    (Label::Principal, Key::other("entra-sp", sp))
                })
                .or_else(|| {
                    attr(a, "application_object_id")
                        .or_else(|| attr(a, "application_id"))
                        .map(|app| {
                            let app = app.rsplit('/').next().unwrap_or(app);
                            (Label::Principal, Key::other("entra-app", app))
                        })
                });
            x.secret = Some("value");
            x
        }
        "vault_approle_auth_backend_role_secret_id" => {
            let acc = attr(a, "accessor")?;
            let mut x = s(
                Label::Credential,
                "vault_approle_secret_id",
                vec![Key::other("vault-secret-id", acc)],
                &format!("{} secret-id", attr(a, "role_name").unwrap_or("approle")),
            );
            if let Some(role) = attr(a, "role_name") {
                let mount = attr(a, "backend").unwrap_or("approle");
                x.authenticates_as = Some((
                    Label::Principal,
                    crate::vault::role_key(mount.trim_start_matches("auth/"), role),
                ));
            }
            x.secret = Some("secret_id");
            x
        }
        _ => return None,
    };
    out.props = props;
    Some(out)
}

pub fn parse(file: &SourceFile<'_>, ctx: &ParseContext<'_>) -> Parsed {
    const CONNECTOR: &str = "terraform-state";
    let mut parsed = Parsed::default();
    let doc = match parse_json(CONNECTOR, file.path, file.bytes) {
        Ok(d) => d,
        Err(e) => {
            parsed.errors.push(e);
            return parsed;
        }
    };
    match doc.get("version").and_then(Value::as_u64) {
        Some(4) => {}
        v => {
            parsed.errors.push(InputError::new(
                CONNECTOR,
                file.path,
                Location::Pointer("/version".into()),
                format!(
                    "state format version {} is not read (only 4, Terraform 0.12 and later)",
                    v.map_or("missing".to_string(), |v| v.to_string())
                ),
            ));
            return parsed;
        }
    }
    let lineage = doc.get("lineage").and_then(Value::as_str).unwrap_or("");
    let serial = doc.get("serial").and_then(Value::as_u64);
    let resources = match crate::util::array_at(CONNECTOR, file.path, &doc, "resources") {
        Ok(r) => r,
        Err(e) => {
            parsed.errors.push(e);
            return parsed;
        }
    };
    let user_arns: HashMap<&str, &str> = resources
        .iter()
        .filter(|r| r.get("type").and_then(Value::as_str) == Some("aws_iam_user"))
        .filter_map(|r| r.get("instances")?.as_array())
        .flatten()
        .filter_map(|i| {
            let a = i.get("attributes")?.as_object()?;
            Some((attr(a, "name")?, attr(a, "arn")?))
        })
        .collect();
    for (i, r) in resources.iter().enumerate() {
        let base = format!("/resources/{i}");
        if r.get("mode").and_then(Value::as_str) == Some("data") {
            continue;
        }
        let (Some(kind), Some(name)) = (
            r.get("type").and_then(Value::as_str),
            r.get("name").and_then(Value::as_str),
        ) else {
            parsed.errors.push(InputError::new(
                CONNECTOR,
                file.path,
                Location::Pointer(base),
                "a resource needs `type` and `name`",
            ));
            continue;
        };
        let module = r.get("module").and_then(Value::as_str);
        let Some(instances) = r.get("instances").and_then(Value::as_array) else {
            continue;
        };
        for (j, inst) in instances.iter().enumerate() {
            let at = format!("{base}/instances/{j}");
            let Some(attrs) = inst.get("attributes").and_then(Value::as_object) else {
                parsed.errors.push(InputError::new(
                    CONNECTOR,
                    file.path,
                    Location::Pointer(format!("{at}/attributes")),
                    "expected the instance's `attributes` object",
                ));
                continue;
            };
            parsed.records += 1;
            let addr = address(module, kind, name, inst.get("index_key"));
            let Some(mut subj) = subject(kind, attrs) else {
                continue;
            };
            let place = Key::uri(&format!("tfstate://{}#{addr}", file.path));
            let mut lp = Map::new();
            lp.insert("state_file".into(), json!(file.path));
            lp.insert("address".into(), json!(addr));
            lp.insert("resource_type".into(), json!(kind));
            if let Some(m) = module {
                lp.insert("module".into(), json!(m));
            }
            if !lineage.is_empty() {
                lp.insert("lineage".into(), json!(lineage));
            }
            if let Some(s) = serial {
                lp.insert("serial".into(), json!(s));
            }
            parsed.facts.push(node(
                Label::Location,
                "terraform_resource",
                vec![place.clone()],
                &addr,
                lp,
                &at,
            ));
            let in_clear = subj.secret.and_then(|k| attr(attrs, k).map(|v| (k, v)));
            if let Some((field, value)) = in_clear {
                let fp = ctx.fingerprinter.fingerprint(&Secret::new(value));
                subj.keys.push(Key::fingerprint(&fp));
                subj.props.insert("secret_in_state".into(), json!(field));
            }
            subj.props.insert("terraform_address".into(), json!(addr));
            let primary = subj.keys[0].clone();
            let label = subj.label;
            // The owner the code declares (`tags = { owner = … }`): beside
            // the live system's tag, a drift between them is a conflict.
            let tags = attrs.get("tags").and_then(Value::as_object);
            let declared: Vec<(&str, &str)> = tags
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
                .collect();
            let handles = crate::aws::handle_claims(
                declared.iter().copied(),
                &format!("Terraform state {addr} tag"),
            );
            if !handles.is_empty() {
                subj.props
                    .insert("iac_owner_claims".into(), Value::Array(handles));
            }
            for (k, v) in &declared {
                let v = v.trim();
                if crate::aws::owner_tag(k) == Some(crate::aws::OwnerTag::Owner)
                    && v.contains('@')
                    && !v.contains(char::is_whitespace)
                {
                    parsed.facts.push(edge(
                        EdgeKind::OwnedBy,
                        (label, primary.clone()),
                        (Label::Human, Key::email(v)),
                        json!({"evidence": format!("Terraform state {addr} tag {k}={v}"),
                               "method": "iac-tag", "confidence": 0.9}),
                        &format!("{at}/attributes/tags/{}", Location::escape_token(k)),
                    ));
                }
            }
            parsed.facts.push(node(
                label, subj.kind, subj.keys, &subj.name, subj.props, &at,
            ));
            parsed.facts.push(edge(
                EdgeKind::DefinedIn,
                (label, primary.clone()),
                (Label::Location, place.clone()),
                json!({"address": addr}),
                &at,
            ));
            if let Some((field, _)) = in_clear {
                parsed.facts.push(edge(
                    EdgeKind::StoredIn,
                    (label, primary.clone()),
                    (Label::Location, place),
                    json!({"attribute": field, "rule": "terraform-state"}),
                    &format!("{at}/attributes/{field}"),
                ));
            }
            if let Some(to) = subj.authenticates_as {
                parsed.facts.push(edge(
                    EdgeKind::AuthenticatesAs,
                    (label, primary.clone()),
                    to,
                    Value::Null,
                    &at,
                ));
            }
            // The key's attributes name its user, not the user's ARN: the
            // state's own aws_iam_user says it (else the IAM export will).
            if let Some(arn) = attr(attrs, "user")
                .filter(|_| kind == "aws_iam_access_key")
                .and_then(|u| user_arns.get(u))
            {
                parsed.facts.push(edge(
                    EdgeKind::AuthenticatesAs,
                    (label, primary),
                    (Label::Principal, Key::arn(arn)),
                    Value::Null,
                    &at,
                ));
            }
        }
    }
    parsed.scope = format!("{CONNECTOR}:{}", file.path);
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_model::{EdgeKind as E, Fingerprinter};

    const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY";

    fn state() -> String {
        json!({
          "version": 4, "terraform_version": "1.6.6", "serial": 42, "lineage": "3f1e2a4b-0000-4000-8000-000000000001",
          "outputs": {},
          "resources": [
            {"mode": "data", "type": "aws_iam_policy_document", "name": "x", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]", "instances": []},
            {"module": "module.ci", "mode": "managed", "type": "aws_iam_user", "name": "deployer",
             "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
             "instances": [{"schema_version": 0, "attributes": {"arn": "arn:aws:iam::111122223333:user/ci-deployer", "name": "ci-deployer", "unique_id": "AIDAEXAMPLEUSERID0001", "path": "/", "tags": {"owner": "dana@corp.com"}}}]},
            {"module": "module.ci", "mode": "managed", "type": "aws_iam_access_key", "name": "deployer",
             "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
             "instances": [{"schema_version": 0, "attributes": {"id": "AKIAIOSFODNN7EXAMPLE", "user": "ci-deployer", "status": "Active",
               "secret": AWS_SECRET, "ses_smtp_password_v4": "BFakeSmtpPasswordValue0000000000000000000000",
               "create_date": "2024-02-01T10:00:00Z", "encrypted_secret": null, "pgp_key": null},
               "sensitive_attributes": [[{"type": "get_attr", "value": "secret"}]]}]},
            {"mode": "managed", "type": "google_service_account_key", "name": "k", "provider": "provider[\"registry.terraform.io/hashicorp/google\"]",
             "instances": [{"index_key": "etl", "attributes": {"id": "projects/acme-data/serviceAccounts/etl@acme-data.iam.gserviceaccount.com/keys/1a2b3c4d5e6f",
               "name": "projects/acme-data/serviceAccounts/etl@acme-data.iam.gserviceaccount.com/keys/1a2b3c4d5e6f", "private_key": "ZXhhbXBsZS1rZXktZmlsZQ=="}}]},
            {"mode": "managed", "type": "azuread_application_password", "name": "p", "provider": "provider[\"registry.terraform.io/hashicorp/azuread\"]",
             "instances": [{"attributes": {"key_id": "8e3c1c4e-0000-4000-8000-0000000000aa", "application_id": "/applications/00000000-0000-4000-8000-0000000000bb",
               "display_name": "ci", "end_date": "2026-01-01T00:00:00Z", "value": "Abc8Q~example.secret.value_0000000000000"}}]},
            {"mode": "managed", "type": "random_password", "name": "db", "instances": [{"attributes": {"result": "hunter2hunter2"}}]},
            {"mode": "managed", "name": "broken"}
          ]
        }).to_string()
    }

    #[test]
    fn identities_are_defined_in_the_state_and_secrets_in_clear_are_stored_there() {
        let fp = Fingerprinter::new(&[7u8; 32]).unwrap();
        let text = state();
        let p = parse(
            &SourceFile {
                path: "infra/ci/terraform.tfstate",
                bytes: text.as_bytes(),
            },
            &ParseContext { fingerprinter: &fp },
        );
        assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
        assert_eq!(
            p.errors[0].location,
            Location::Pointer("/resources/6".into())
        );
        let key = p
            .nodes()
            .into_iter()
            .find(|n| n.kind == "aws_access_key")
            .unwrap();
        assert_eq!(key.keys[0].as_str(), "aws-access-key:AKIAIOSFODNN7EXAMPLE");
        let fpk = Key::fingerprint(&fp.fingerprint(&Secret::new(AWS_SECRET)));
        assert!(
            key.keys.contains(&fpk),
            "the scanner's key for the same secret"
        );
        let stored = p.edges(Some(E::StoredIn));
        assert_eq!(stored.len(), 3);
        assert_eq!(
            stored[0].to.key.as_str(),
            "uri:tfstate://infra/ci/terraform.tfstate#module.ci.aws_iam_access_key.deployer"
        );
        let defined = p.edges(Some(E::DefinedIn));
        assert_eq!(defined.len(), 4);
        assert!(defined.iter().any(|e| e
            .to
            .key
            .as_str()
            .ends_with("#google_service_account_key.k[\"etl\"]")));
        let auth = p.edges(Some(E::AuthenticatesAs));
        assert!(auth
            .iter()
            .any(|e| e.to.key.as_str() == "arn:aws:iam::111122223333:user/ci-deployer"));
        assert!(auth
            .iter()
            .any(|e| e.to.key.as_str() == "email:etl@acme-data.iam.gserviceaccount.com"));
        assert!(auth
            .iter()
            .any(|e| e.to.key.as_str() == "id:entra-app/00000000-0000-4000-8000-0000000000bb"));
        let all = format!("{:?}", p.facts);
        for secret in [
            AWS_SECRET,
            "hunter2hunter2",
            "Abc8Q~example",
            "ZXhhbXBsZS1rZXktZmlsZQ",
            "BFakeSmtp",
        ] {
            assert!(!all.contains(secret), "{secret} leaked");
        }
    }

    #[test]
    fn other_state_versions_are_refused_with_a_reason() {
        let fp = Fingerprinter::new(&[7u8; 32]).unwrap();
        let p = parse(
            &SourceFile {
                path: "old.tfstate",
                bytes: br#"{"version": 3, "modules": []}"#,
            },
            &ParseContext { fingerprinter: &fp },
        );
        assert!(p.errors[0].message.contains("version 3"));
    }
}
