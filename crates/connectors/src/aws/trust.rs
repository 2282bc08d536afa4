//! Who a role's trust policy lets assume it: `CAN_ASSUME` edges read straight from
//! the document, one per trusted principal of each `Allow` statement whose action
//! is an `sts:AssumeRole*`.
//!
//! The trusted side is a service (`lambda.amazonaws.com`), an identity provider
//! (an OIDC or SAML provider ARN, or a public one such as `accounts.google.com`),
//! a specific principal ARN, a whole account (`arn:aws:iam::123456789012:root` or
//! `123456789012`: any principal there whose own policies allow it), or anyone
//! (`*`). Conditions travel with the edge, and a web-identity trust that does not
//! pin the token's subject (`…:sub`) is flagged: with GitHub's OIDC provider it
//! lets every repository on GitHub assume the role.

use custody_model::{
    EdgeFact, EdgeKind, Endpoint, Fact, Key, Label, Location, NodeFact, Provenance,
};
use serde_json::{json, Map, Value};

fn list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

fn node(kind: &str, key: Key, name: &str, props: Map<String, Value>, loc: &Location) -> Fact {
    Fact::Node(NodeFact {
        label: Label::Principal,
        kind: kind.into(),
        system: "aws".into(),
        keys: vec![key],
        name: Some(name.to_string()),
        props,
        prov: Provenance::at(loc.clone()),
    })
}

/// The trusted principal as an endpoint (and a node fact for what the trust
/// policy itself proves exists: services and identity providers).
fn trusted(kind: &str, value: &str, loc: &Location) -> (Endpoint, Option<Fact>, &'static str) {
    match kind {
        "Service" => {
            let key = Key::other("aws-service", value);
            let mut p = Map::new();
            p.insert("service".into(), json!(value));
            (
                Endpoint::new(Label::Principal, key.clone()),
                Some(node("aws_service_principal", key, value, p, loc)),
                "service",
            )
        }
        "Federated" => {
            let key = if value.starts_with("arn:") {
                Key::arn(value)
            } else {
                Key::other("aws-federated", value)
            };
            let provider_kind = if value.contains(":saml-provider/") {
                "aws_saml_provider"
            } else if value.contains(":oidc-provider/") {
                "aws_oidc_provider"
            } else {
                "aws_public_identity_provider"
            };
            let name = value.rsplit('/').next().unwrap_or(value);
            let mut p = Map::new();
            p.insert("provider".into(), json!(value));
            (
                Endpoint::new(Label::Principal, key.clone()),
                Some(node(provider_kind, key, name, p, loc)),
                "identity-provider",
            )
        }
        "CanonicalUser" => (
            Endpoint::new(Label::Principal, Key::other("aws-canonical-user", value)),
            None,
            "principal",
        ),
        _ if value == "*" => (
            Endpoint::new(Label::Principal, Key::other("aws", "*")),
            None,
            "anyone",
        ),
        _ => {
            let is_account = value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit());
            if is_account || value.ends_with(":root") {
                let arn = if is_account {
                    format!("arn:aws:iam::{value}:root")
                } else {
                    value.to_string()
                };
                // The trust policy proves the account exists: its root
                // principal becomes a node (a vendor's account is known from
                // nothing else), which organization data marks as ours or not.
                let mut p = Map::new();
                let id = super::account_of(&arn).unwrap_or(value);
                p.insert("account_id".into(), json!(id));
                (
                    Endpoint::new(Label::Principal, Key::arn(&arn)),
                    Some(node("aws_root_user", Key::arn(&arn), id, p, loc)),
                    "account",
                )
            } else if value.starts_with("arn:") {
                (
                    Endpoint::new(Label::Principal, Key::arn(value)),
                    None,
                    "principal",
                )
            } else {
                // A unique id (AROA…/AIDA…): IAM writes these when the named principal was deleted.
                (
                    Endpoint::new(Label::Principal, Key::aws_unique_id(value)),
                    None,
                    "principal",
                )
            }
        }
    }
}

/// Facts for every trust relationship in `trust` (a decoded trust policy),
/// located under `base` (the document's JSON pointer).
pub fn edges(trust: &Value, role: &Endpoint, base: &str) -> Vec<Fact> {
    let statements: Vec<&Value> = match trust.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => return Vec::new(),
    };
    let single = !matches!(trust.get("Statement"), Some(Value::Array(_)));
    let mut out = Vec::new();
    for (i, s) in statements.into_iter().enumerate() {
        if s.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        let actions: Vec<String> = list(s.get("Action"))
            .into_iter()
            .filter(|a| a.to_ascii_lowercase().starts_with("sts:assumerole"))
            .collect();
        if actions.is_empty() {
            continue;
        }
        let at = if single {
            format!("{base}/Statement")
        } else {
            format!("{base}/Statement/{i}")
        };
        let loc = Location::Pointer(at);
        let condition = s
            .get("Condition")
            .cloned()
            .filter(|c| c.as_object().is_some_and(|m| !m.is_empty()));
        let condition_keys: Vec<String> = condition
            .as_ref()
            .and_then(Value::as_object)
            .map(|ops| {
                ops.values()
                    .filter_map(Value::as_object)
                    .flat_map(|keys| keys.keys().cloned())
                    .collect()
            })
            .unwrap_or_default();
        let principals: Vec<(String, String)> = match s.get("Principal") {
            Some(Value::String(star)) if star == "*" => vec![("AWS".into(), "*".into())],
            Some(Value::Object(map)) => map
                .iter()
                .flat_map(|(k, v)| list(Some(v)).into_iter().map(move |x| (k.clone(), x)))
                .collect(),
            _ => Vec::new(),
        };
        for (kind, value) in principals {
            let (from, fact, trust_kind) = trusted(&kind, &value, &loc);
            if let Some(f) = fact {
                out.push(f);
            }
            let mut props = Map::new();
            props.insert("via".into(), json!("trust-policy"));
            props.insert("trusted".into(), json!(trust_kind));
            props.insert("actions".into(), json!(actions));
            if let Some(sid) = s
                .get("Sid")
                .and_then(Value::as_str)
                .filter(|x| !x.is_empty())
            {
                props.insert("sid".into(), json!(sid));
            }
            if let Some(c) = &condition {
                props.insert("conditions".into(), c.clone());
            }
            props.insert("conditional".into(), json!(condition.is_some()));
            if actions
                .iter()
                .any(|a| a.eq_ignore_ascii_case("sts:AssumeRoleWithWebIdentity"))
            {
                let pinned = condition_keys
                    .iter()
                    .any(|k| k.to_ascii_lowercase().ends_with(":sub"));
                props.insert("subject_pinned".into(), json!(pinned));
            }
            if trust_kind == "account" {
                props.insert("note".into(), json!("any principal of this account whose own policies allow sts:AssumeRole on the role"));
            }
            if trust_kind == "account" || trust_kind == "principal" {
                // Another account's principals: a partner or vendor unless the
                // organization says the account is ours. The confused-deputy
                // guard for third parties is an `sts:ExternalId` condition.
                let other = super::account_of(from.key.value());
                let mine = super::account_of(role.key.value());
                if let (Some(other), Some(mine)) = (other, mine) {
                    props.insert("cross_account".into(), json!(other != mine));
                    props.insert(
                        "external_id".into(),
                        json!(condition_keys
                            .iter()
                            .any(|k| k.eq_ignore_ascii_case("sts:ExternalId"))),
                    );
                }
            }
            out.push(Fact::Edge(EdgeFact {
                kind: EdgeKind::CanAssume,
                from,
                to: role.clone(),
                props,
                prov: Provenance::at(loc.clone()),
            }));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edges_of(trust: Value) -> Vec<EdgeFact> {
        let role = Endpoint::new(
            Label::Principal,
            Key::arn("arn:aws:iam::111122223333:role/r"),
        );
        edges(&trust, &role, "/RoleDetailList/0/AssumeRolePolicyDocument")
            .into_iter()
            .filter_map(|f| if let Fact::Edge(e) = f { Some(e) } else { None })
            .collect()
    }

    #[test]
    fn every_kind_of_trusted_principal_becomes_an_edge() {
        let e = edges_of(json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com", "edgelambda.amazonaws.com"]}, "Action": "sts:AssumeRole"},
            {"Effect": "Allow", "Principal": {"AWS": ["123456789012", "arn:aws:iam::444455556666:role/ci"]}, "Action": ["sts:AssumeRole", "sts:TagSession"]},
            {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"},
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:user/x"}, "Action": "s3:GetObject"}
        ]}));
        assert_eq!(e.len(), 4);
        assert_eq!(
            e[0].from.key,
            Key::other("aws-service", "lambda.amazonaws.com")
        );
        assert_eq!(
            e[2].from.key,
            Key::arn("arn:aws:iam::123456789012:root"),
            "an account id means the account"
        );
        assert_eq!(e[2].props["trusted"], "account");
        assert_eq!(e[3].props["trusted"], "principal");
        assert_eq!(
            e[3].prov.location,
            Location::Pointer("/RoleDetailList/0/AssumeRolePolicyDocument/Statement/1".into())
        );
        assert!(e.iter().all(|x| x.kind == EdgeKind::CanAssume));
    }

    #[test]
    fn web_identity_trust_says_whether_the_subject_is_pinned() {
        let provider =
            "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com";
        let pinned = edges_of(
            json!({"Statement": {"Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:o/r:*"}}}}),
        );
        assert_eq!(pinned[0].props["subject_pinned"], true);
        assert_eq!(pinned[0].props["conditional"], true);
        assert_eq!(pinned[0].from.key, Key::arn(provider));
        let open = edges_of(
            json!({"Statement": {"Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}}}),
        );
        assert_eq!(open[0].props["subject_pinned"], false);
        assert_eq!(
            open[0].prov.location,
            Location::Pointer("/RoleDetailList/0/AssumeRolePolicyDocument/Statement".into())
        );
    }

    #[test]
    fn another_accounts_trust_says_whether_it_needs_an_external_id() {
        let facts = edges(
            &json!({"Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::464622532012:root"}, "Action": "sts:AssumeRole",
                 "Condition": {"StringEquals": {"sts:ExternalId": "f3b1c0de"}}},
                {"Effect": "Allow", "Principal": {"AWS": "777788889999"}, "Action": "sts:AssumeRole"},
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/same"}, "Action": "sts:AssumeRole"}
            ]}),
            &Endpoint::new(
                Label::Principal,
                Key::arn("arn:aws:iam::111122223333:role/r"),
            ),
            "/x",
        );
        let e: Vec<&EdgeFact> = facts
            .iter()
            .filter_map(|f| if let Fact::Edge(e) = f { Some(e) } else { None })
            .collect();
        assert_eq!(e[0].props["cross_account"], true);
        assert_eq!(e[0].props["external_id"], true);
        assert_eq!(e[1].props["cross_account"], true);
        assert_eq!(e[1].props["external_id"], false);
        assert_eq!(e[2].props["cross_account"], false);
        // The trusted accounts become nodes, so rules can ask whether they are ours.
        let roots: Vec<&str> = facts
            .iter()
            .filter_map(|f| match f {
                Fact::Node(n) if n.kind == "aws_root_user" => n.name.as_deref(),
                _ => None,
            })
            .collect();
        assert_eq!(roots, ["464622532012", "777788889999"]);
    }
}
