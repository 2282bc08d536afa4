//! The IAM credential report: the CSV (`aws iam get-credential-report --query
//! Content --output text | base64 -d`) or the `get-credential-report` JSON
//! envelope (`Content` base64, `GeneratedTime`). One row per user plus
//! `<root_account>`; 22 columns; `N/A`, `not_supported` and `no_information` mean
//! "no value". It carries no access key ids.

use super::{account_of, key_created_key, user_name_key};
use crate::util::{csv_error, csv_value, parse_json, strip_bom};
use crate::{InputError, Parsed, SourceFile};
use base64::Engine;
use custody_model::{
    time, EdgeFact, EdgeKind, Endpoint, Fact, Key, Label, Location, NodeFact, Provenance,
};
use serde_json::{json, Map, Value};

const CONNECTOR: &str = "aws-iam-credential-report";
const REQUIRED: &[&str] = &["user", "arn", "user_creation_time"];

pub fn parse(file: &SourceFile<'_>) -> Parsed {
    let mut parsed = Parsed::default();
    let body = strip_bom(file.bytes);
    let trimmed = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map(|i| &body[i..])
        .unwrap_or(&[]);
    if trimmed.first() == Some(&b'{') {
        // The API/CLI JSON envelope.
        let doc = match parse_json(CONNECTOR, file.path, file.bytes) {
            Ok(d) => d,
            Err(e) => {
                parsed.errors.push(e);
                return parsed;
            }
        };
        parsed.observed_at = doc
            .get("GeneratedTime")
            .and_then(Value::as_str)
            .and_then(time::normalise);
        let content = doc.get("Content").and_then(Value::as_str).unwrap_or("");
        let compact: String = content.chars().filter(|c| !c.is_whitespace()).collect();
        match base64::engine::general_purpose::STANDARD.decode(compact) {
            Ok(csv) => parse_csv(file.path, &csv, &mut parsed),
            Err(_) => parsed.errors.push(InputError::new(
                CONNECTOR,
                file.path,
                Location::Pointer("/Content".into()),
                "`Content` is not valid base64",
            )),
        }
        return parsed;
    }
    parse_csv(file.path, body, &mut parsed);
    parsed
}

fn parse_csv(path: &str, csv_bytes: &[u8], parsed: &mut Parsed) {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(strip_bom(csv_bytes));
    let headers = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            parsed.errors.push(InputError::new(
                CONNECTOR,
                path,
                Location::Line(1),
                format!("unreadable header: {e}"),
            ));
            return;
        }
    };
    let col = |name: &str| headers.iter().position(|h| h.trim() == name);
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|c| col(c).is_none())
        .collect();
    if !missing.is_empty() {
        parsed.errors.push(InputError::new(
            CONNECTOR,
            path,
            Location::Line(1),
            format!(
                "not a credential report header: missing column(s) {}",
                missing.join(", ")
            ),
        ));
        return;
    }
    let mut account: Option<String> = None;
    for result in rdr.records() {
        let rec = match result {
            Ok(r) => r,
            Err(e) => {
                parsed.errors.push(csv_error(CONNECTOR, path, &e));
                continue;
            }
        };
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let get = |name: &str| col(name).and_then(|i| rec.get(i)).and_then(csv_value);
        parsed.records += 1;
        let (Some(user), Some(arn)) = (get("user"), get("arn")) else {
            parsed.errors.push(InputError::new(
                CONNECTOR,
                path,
                Location::Line(line),
                "row has no user or arn",
            ));
            continue;
        };
        let Some(acct) = account_of(arn) else {
            parsed.errors.push(InputError::new(
                CONNECTOR,
                path,
                Location::Line(line),
                "`arn` is not an IAM ARN with an account id",
            ));
            continue;
        };
        account.get_or_insert_with(|| acct.to_string());
        let root = user == "<root_account>";
        let loc = Location::Line(line);
        let mut props = Map::new();
        let flag = |name: &str| get(name).map(|v| json!(v.eq_ignore_ascii_case("true")));
        let date = |name: &str| get(name).and_then(time::normalise).map(Value::String);
        props.insert("account_id".into(), json!(acct));
        for (name, value) in [
            ("created", date("user_creation_time")),
            ("password_enabled", flag("password_enabled")),
            ("password_last_used", date("password_last_used")),
            ("password_last_changed", date("password_last_changed")),
            ("mfa_active", flag("mfa_active")),
        ] {
            if let Some(v) = value {
                props.insert(name.into(), v);
            }
        }
        let mut keys = vec![Key::arn(arn)];
        if !root {
            keys.push(user_name_key(acct, user));
        }
        parsed.facts.push(Fact::Node(NodeFact {
            label: Label::Principal,
            kind: if root {
                "aws_root_user".into()
            } else {
                "aws_iam_user".into()
            },
            system: "aws".into(),
            keys,
            name: Some(user.to_string()),
            props,
            prov: Provenance::at(loc.clone()).observed(parsed.observed_at.clone()),
        }));
        let principal = Endpoint::new(Label::Principal, Key::arn(arn));
        for slot in [1, 2] {
            let Some(created) = date(&format!("access_key_{slot}_last_rotated")) else {
                continue;
            };
            let created = created.as_str().unwrap_or_default().to_string();
            let mut props = Map::new();
            props.insert("account_id".into(), json!(acct));
            props.insert("user".into(), json!(user));
            props.insert("created".into(), json!(created));
            let active = get(&format!("access_key_{slot}_active"))
                .is_some_and(|v| v.eq_ignore_ascii_case("true"));
            props.insert(
                "status".into(),
                json!(if active { "Active" } else { "Inactive" }),
            );
            props.insert("report_slot".into(), json!(slot));
            if let Some(v) = date(&format!("access_key_{slot}_last_used_date")) {
                props.insert("last_used".into(), v);
            }
            for (field, prop) in [
                ("last_used_region", "last_used_region"),
                ("last_used_service", "last_used_service"),
            ] {
                if let Some(v) = get(&format!("access_key_{slot}_{field}")) {
                    props.insert(prop.into(), json!(v));
                }
            }
            let key = if root {
                Key::aws_key_created(&format!("{acct}/<root_account>"), &created)
            } else {
                key_created_key(acct, user, &created)
            };
            let me = Endpoint::new(Label::Credential, key.clone());
            parsed.facts.push(Fact::Node(NodeFact {
                label: Label::Credential,
                kind: "aws_access_key".into(),
                system: "aws".into(),
                keys: vec![key],
                name: None,
                props,
                prov: Provenance::at(loc.clone()).observed(parsed.observed_at.clone()),
            }));
            parsed.facts.push(Fact::Edge(EdgeFact {
                kind: EdgeKind::AuthenticatesAs,
                from: me,
                to: principal.clone(),
                props: Map::new(),
                prov: Provenance::at(loc.clone()).observed(parsed.observed_at.clone()),
            }));
        }
        for slot in [1, 2] {
            let Some(rotated) = date(&format!("cert_{slot}_last_rotated")) else {
                continue;
            };
            let rotated = rotated.as_str().unwrap_or_default().to_string();
            let active =
                get(&format!("cert_{slot}_active")).is_some_and(|v| v.eq_ignore_ascii_case("true"));
            let key = Key::other(
                "aws-signing-certificate",
                &format!("{acct}/{user}@{rotated}"),
            );
            let mut props = Map::new();
            props.insert("account_id".into(), json!(acct));
            props.insert("created".into(), json!(rotated));
            props.insert(
                "status".into(),
                json!(if active { "Active" } else { "Inactive" }),
            );
            parsed.facts.push(Fact::Node(NodeFact {
                label: Label::Credential,
                kind: "aws_signing_certificate".into(),
                system: "aws".into(),
                keys: vec![key.clone()],
                name: None,
                props,
                prov: Provenance::at(loc.clone()).observed(parsed.observed_at.clone()),
            }));
            parsed.facts.push(Fact::Edge(EdgeFact {
                kind: EdgeKind::AuthenticatesAs,
                from: Endpoint::new(Label::Credential, key),
                to: principal.clone(),
                props: Map::new(),
                prov: Provenance::at(loc.clone()).observed(parsed.observed_at.clone()),
            }));
        }
    }
    if let Some(acct) = account {
        parsed.scope = format!("{CONNECTOR}:{acct}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The repository's own report (`fixtures/aws-iam/`, in the documented
    /// format: `fixtures/README.md`).
    fn sample() -> Vec<u8> {
        let p = format!(
            "{}/../../fixtures/aws-iam/credential-report.csv",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    fn nodes(p: &Parsed) -> Vec<&NodeFact> {
        p.facts
            .iter()
            .filter_map(|f| if let Fact::Node(n) = f { Some(n) } else { None })
            .collect()
    }

    #[test]
    fn real_report_parses() {
        let bytes = sample();
        let p = parse(&SourceFile {
            path: "report.csv",
            bytes: &bytes,
        });
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.records, 5);
        let n = nodes(&p);
        assert_eq!(n.iter().filter(|n| n.kind == "aws_root_user").count(), 1);
        let keys: Vec<_> = n.iter().filter(|n| n.kind == "aws_access_key").collect();
        assert_eq!(
            keys.len(),
            3,
            "deploy-bot, jake and build-key each have key 1"
        );
        let jake = keys.iter().find(|k| k.props["user"] == "jake").unwrap();
        assert_eq!(
            jake.keys[0].as_str(),
            "aws-key-created:111122223333/jake@2024-05-18T09:51:58Z"
        );
        assert_eq!(jake.props["last_used_region"], "eu-central-1");
        assert_eq!(jake.props["status"], "Active");
        assert_eq!(jake.prov.location, Location::Line(4));
        let test_account = n
            .iter()
            .find(|n| n.name.as_deref() == Some("console-only"))
            .unwrap();
        assert!(
            !test_account.props.contains_key("password_last_used"),
            "no_information is no value"
        );
        assert_eq!(p.scope, "aws-iam-credential-report:111122223333");
    }

    #[test]
    fn json_envelope_is_decoded() {
        let csv = sample();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&csv);
        let doc = format!(
            r#"{{"Content": "{b64}", "ReportFormat": "text/csv", "GeneratedTime": "2023-01-04T08:00:00+00:00"}}"#
        );
        let p = parse(&SourceFile {
            path: "r.json",
            bytes: doc.as_bytes(),
        });
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.records, 5);
        assert_eq!(p.observed_at.as_deref(), Some("2023-01-04T08:00:00Z"));
    }

    #[test]
    fn wrong_header_and_short_rows_are_located() {
        let p = parse(&SourceFile {
            path: "r.csv",
            bytes: b"name,arn\nx,y\n",
        });
        assert_eq!(p.errors[0].location, Location::Line(1));
        assert!(p.errors[0].message.contains("user"));
        let mut bytes = sample();
        bytes.extend_from_slice(b"broken,arn:aws:iam::111122223333:user/broken\n");
        let p = parse(&SourceFile {
            path: "r.csv",
            bytes: &bytes,
        });
        assert_eq!(p.errors.len(), 1);
        assert_eq!(p.errors[0].location, Location::Line(7));
        assert_eq!(p.records, 5);
    }
}
