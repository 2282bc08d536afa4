//! `aws iam list-access-keys` output (`{"AccessKeyMetadata": [...]}`), as one
//! document, several concatenated (a shell loop over users), or a JSON array of
//! them; and `aws iam create-access-key` output (`{"AccessKey": {...}}`), whose
//! `SecretAccessKey` is fingerprinted and dropped.
//!
//! Neither names the AWS account: the file's path must contain the 12-digit
//! account id (`aws/123456789012/access-keys.json`).

use super::{account_from_path, key_created_key, user_endpoint};
use crate::util::{json_error, record, strip_bom};
use crate::{InputError, ParseContext, Parsed, SourceFile};
use custody_model::{
    secret::Secret, time, EdgeFact, EdgeKind, Endpoint, Fact, Key, Label, Location, NodeFact,
    Provenance,
};
use serde::Deserialize;
use serde_json::{json, Map, Value};

const CONNECTOR: &str = "aws-iam-access-keys";

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyMeta {
    user_name: String,
    access_key_id: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    create_date: Option<String>,
    #[serde(default)]
    secret_access_key: Option<String>,
}

pub fn parse(file: &SourceFile<'_>, ctx: &ParseContext<'_>) -> Parsed {
    let mut parsed = Parsed::default();
    let Some(account) = account_from_path(file.path) else {
        parsed.errors.push(InputError::new(
            CONNECTOR,
            file.path,
            Location::File,
            "access-key listings do not name their AWS account: put the file under a folder named for the 12-digit account id (e.g. aws/123456789012/access-keys.json)",
        ));
        return parsed;
    };
    let text = strip_bom(file.bytes);
    // One document, several concatenated, or an array of documents.
    // Each document: (line it starts on, pointer prefix, value).
    let mut docs: Vec<(u64, String, Value)> = Vec::new();
    let mut stream = serde_json::Deserializer::from_slice(text).into_iter::<Value>();
    let (mut offset, mut line, mut counted) = (0usize, 1u64, 0usize);
    loop {
        let start = offset
            + text[offset..]
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
        line += text[counted..start].iter().filter(|&&b| b == b'\n').count() as u64;
        counted = start;
        match stream.next() {
            None => break,
            Some(Ok(Value::Array(items))) => {
                docs.extend(
                    items
                        .into_iter()
                        .enumerate()
                        .map(|(j, v)| (line, format!("/{j}"), v)),
                );
            }
            Some(Ok(v)) => docs.push((line, String::new(), v)),
            Some(Err(e)) => {
                parsed.errors.push(json_error(CONNECTOR, file.path, &e));
                break;
            }
        }
        offset = stream.byte_offset();
    }
    let several = docs.len() > 1;
    let locate = |line: u64, pointer: String| {
        if several {
            Location::LinePointer(line, pointer)
        } else {
            Location::Pointer(pointer)
        }
    };
    for (line, base, doc) in &docs {
        let (items, list_base): (Vec<&Value>, String) = match (
            doc.get("AccessKeyMetadata"),
            doc.get("AccessKey"),
        ) {
            (Some(Value::Array(items)), _) => {
                (items.iter().collect(), format!("{base}/AccessKeyMetadata"))
            }
            (_, Some(one @ Value::Object(_))) => (vec![one], format!("{base}/AccessKey")),
            _ => {
                parsed.errors.push(InputError::new(
                    CONNECTOR,
                    file.path,
                    locate(*line, base.clone()),
                    "expected `AccessKeyMetadata` (list-access-keys) or `AccessKey` (create-access-key)",
                ));
                continue;
            }
        };
        let single = doc.get("AccessKey").is_some();
        for (i, item) in items.into_iter().enumerate() {
            let at = if single {
                list_base.clone()
            } else {
                format!("{list_base}/{i}")
            };
            parsed.records += 1;
            match record::<KeyMeta>(CONNECTOR, file.path, &at, item) {
                Ok(meta) => emit(&mut parsed, ctx, &account, meta, locate(*line, at)),
                Err(mut e) => {
                    if let Location::Pointer(p) = &e.location {
                        e.location = locate(*line, p.clone());
                    }
                    parsed.errors.push(e)
                }
            }
        }
    }
    parsed.scope = format!("{CONNECTOR}:{account}:{}", file.path);
    parsed
}

fn emit(parsed: &mut Parsed, ctx: &ParseContext<'_>, account: &str, meta: KeyMeta, loc: Location) {
    let mut keys = vec![Key::aws_access_key(&meta.access_key_id)];
    let mut props = Map::new();
    props.insert("account_id".into(), json!(account));
    props.insert("user".into(), json!(meta.user_name));
    if let Some(s) = &meta.status {
        props.insert("status".into(), json!(s));
    }
    if let Some(created) = meta.create_date.as_deref().and_then(time::normalise) {
        keys.push(key_created_key(account, &meta.user_name, &created));
        props.insert("created".into(), json!(created));
    }
    if let Some(secret) = meta.secret_access_key.map(Secret::new) {
        // create-access-key output: keep only the fingerprint and a preview.
        let fp = ctx.fingerprinter.fingerprint(&secret);
        props.insert("secret_preview".into(), json!(secret.preview()));
        props.insert("secret_fingerprint".into(), json!(fp.as_str()));
        keys.push(Key::fingerprint(&fp));
    }
    let me = Endpoint::new(Label::Credential, Key::aws_access_key(&meta.access_key_id));
    parsed.facts.push(Fact::Node(NodeFact {
        label: Label::Credential,
        kind: "aws_access_key".into(),
        system: "aws".into(),
        keys,
        name: Some(meta.access_key_id.clone()),
        props,
        prov: Provenance::at(loc.clone()),
    }));
    parsed.facts.push(Fact::Edge(EdgeFact {
        kind: EdgeKind::AuthenticatesAs,
        from: me,
        to: user_endpoint(account, &meta.user_name),
        props: Map::new(),
        prov: Provenance::at(loc),
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_model::Fingerprinter;

    fn ctx_parse(path: &str, bytes: &[u8]) -> Parsed {
        let fp = Fingerprinter::new(&[9u8; 32]).unwrap();
        parse(
            &SourceFile { path, bytes },
            &ParseContext { fingerprinter: &fp },
        )
    }

    #[test]
    fn concatenated_listings_parse() {
        let id1 = format!("AKIA{}", "Q2Z3X4C5V6B7N8M9");
        let doc = format!(
            r#"{{"AccessKeyMetadata": [{{"UserName": "svc-a", "AccessKeyId": "{id1}", "Status": "Active", "CreateDate": "2024-01-02T03:04:05+00:00"}}]}}
{{"AccessKeyMetadata": []}}
{{"AccessKeyMetadata": [{{"UserName": "svc-b", "Status": "Inactive"}}]}}"#
        );
        let p = ctx_parse("snap/aws/111122223333/access-keys.json", doc.as_bytes());
        assert_eq!(p.records, 2);
        assert_eq!(p.errors.len(), 1, "svc-b's entry has no AccessKeyId");
        assert_eq!(
            p.errors[0].location,
            Location::LinePointer(3, "/AccessKeyMetadata/0".into())
        );
        let Fact::Node(n) = &p.facts[0] else { panic!() };
        assert_eq!(n.keys[0], Key::aws_access_key(&id1));
        assert_eq!(
            n.keys[1].as_str(),
            "aws-key-created:111122223333/svc-a@2024-01-02T03:04:05Z"
        );
    }

    #[test]
    fn create_access_key_output_keeps_no_secret() {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY";
        let doc = format!(
            r#"{{"AccessKey": {{"UserName": "svc", "AccessKeyId": "AKIA{}", "Status": "Active", "SecretAccessKey": "{secret}", "CreateDate": "2024-01-02T03:04:05Z"}}}}"#,
            "1234567890ABCDEF"
        );
        let p = ctx_parse("aws/111122223333/new-key.json", doc.as_bytes());
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let all = format!("{:?}", p.facts);
        assert!(!all.contains(secret));
        assert!(all.contains("wJal****EKEY"));
    }

    #[test]
    fn a_listing_without_an_account_in_its_path_is_refused_clearly() {
        let p = ctx_parse("keys.json", br#"{"AccessKeyMetadata": []}"#);
        assert!(p.errors[0].message.contains("12-digit account id"));
    }
}
