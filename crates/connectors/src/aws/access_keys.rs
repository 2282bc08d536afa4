//! `aws iam list-access-keys` output (`{"AccessKeyMetadata": [...]}`), as one
//! document, several concatenated (a shell loop over users), or a JSON array of
//! them; and `aws iam create-access-key` output (`{"AccessKey": {...}}`), whose
//! `SecretAccessKey` is fingerprinted and dropped.
//!
//! Neither names the AWS account. A 12-digit account id in the file's path
//! (`aws/123456789012/access-keys.json`) places it; a listing saved anywhere
//! else (`aws iam list-access-keys --user-name svc-x > keys.json`) is parsed
//! with its account [`UNPLACED`], and [`place`] ties each key to its account
//! once the caller knows which accounts have a user of that name (the IAM
//! users of the same ingest and of the database).

#[cfg(test)]
use super::user_name_key;
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

/// The account of a listing whose path names none, until [`place`] finds it.
pub const UNPLACED: &str = "?";

/// Whether a parsed listing still waits for [`place`].
pub fn unplaced(scope: &str) -> bool {
    scope.starts_with(&format!("{CONNECTOR}:{UNPLACED}:"))
}

pub fn parse(file: &SourceFile<'_>, ctx: &ParseContext<'_>) -> Parsed {
    let mut parsed = Parsed::default();
    let account = account_from_path(file.path).unwrap_or_else(|| UNPLACED.to_string());
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
    if account != UNPLACED {
        props.insert("account_id".into(), json!(account));
    }
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

/// Ties the keys of an [`UNPLACED`] listing to their accounts: `accounts`
/// gives the accounts that have an IAM user of a name. Exactly one → the key
/// is that user's; none or several → a located error naming the candidates
/// and the fix, and that key's facts are dropped (nothing is guessed). The
/// scope becomes `aws-iam-access-keys:by-user-name:<path>`.
pub fn place(
    facts: &mut Vec<Fact>,
    errors: &mut Vec<InputError>,
    scope: &mut String,
    path: &str,
    accounts: &dyn Fn(&str) -> Vec<String>,
) {
    let unplaced_user = |k: &Key| -> Option<String> {
        k.as_str()
            .strip_prefix(&format!("id:aws-iam-user/{UNPLACED}/"))
            .map(str::to_string)
    };
    let user_of = |f: &Fact| -> Option<String> {
        match f {
            Fact::Node(n) => n
                .props
                .get("user")
                .and_then(Value::as_str)
                .map(str::to_string),
            Fact::Edge(e) => unplaced_user(&e.to.key),
        }
    };
    let mut decided: std::collections::HashMap<String, Option<String>> = Default::default();
    let mut kept = Vec::with_capacity(facts.len());
    for mut f in std::mem::take(facts) {
        let Some(user) = user_of(&f) else {
            kept.push(f);
            continue;
        };
        let account = decided.entry(user.clone()).or_insert_with(|| {
            let found = accounts(&user);
            match found.as_slice() {
                [one] => Some(one.clone()),
                _ => None,
            }
        });
        let Some(account) = account.clone() else {
            if let Fact::Node(n) = &f {
                let found = accounts(&user);
                let message = if found.is_empty() {
                    format!("the listing names no AWS account and no IAM user named {user} is known (in this ingest or the database): ingest the account's authorization details with it, or put the file under a folder named for the 12-digit account id (aws/<account>/access-keys.json)")
                } else {
                    format!("the listing names no AWS account and {} accounts have an IAM user named {user} ({}): put the file under a folder named for the right one (aws/<account>/access-keys.json)", found.len(), found.join(", "))
                };
                errors.push(InputError::new(
                    CONNECTOR,
                    path,
                    n.prov.location.clone(),
                    message,
                ));
            }
            continue;
        };
        match &mut f {
            Fact::Node(n) => {
                for k in &mut n.keys {
                    if let Some(rest) = k
                        .as_str()
                        .strip_prefix(&format!("aws-key-created:{UNPLACED}/"))
                    {
                        if let Some((_, created)) = rest.rsplit_once('@') {
                            *k = key_created_key(&account, &user, created);
                        }
                    }
                }
                n.props.insert("account_id".into(), json!(account));
                n.props.insert(
                    "account_from".into(),
                    json!(format!("the one IAM user named {user}")),
                );
            }
            Fact::Edge(e) => {
                e.to = user_endpoint(&account, &user);
            }
        }
        kept.push(f);
    }
    *facts = kept;
    *scope = format!("{CONNECTOR}:by-user-name:{path}");
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
    fn a_listing_saved_anywhere_is_placed_by_its_users_name() {
        let id = format!("AKIA{}", "Q2Z3X4C5V6B7N8M9");
        let doc = format!(
            r#"{{"AccessKeyMetadata": [{{"UserName": "svc-x", "AccessKeyId": "{id}", "Status": "Active", "CreateDate": "2024-01-02T03:04:05+00:00"}}]}}
{{"AccessKeyMetadata": [{{"UserName": "svc-twice", "AccessKeyId": "AKIAEXAMPLE000000002", "Status": "Active"}}]}}
{{"AccessKeyMetadata": [{{"UserName": "svc-nobody", "AccessKeyId": "AKIAEXAMPLE000000003", "Status": "Active"}}]}}"#
        );
        let mut p = ctx_parse("Downloads/keys.json", doc.as_bytes());
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert!(unplaced(&p.scope));
        let accounts = |user: &str| match user {
            "svc-x" => vec!["111122223333".to_string()],
            "svc-twice" => vec!["111122223333".to_string(), "444455556666".to_string()],
            _ => vec![],
        };
        place(
            &mut p.facts,
            &mut p.errors,
            &mut p.scope,
            "Downloads/keys.json",
            &accounts,
        );
        assert!(!unplaced(&p.scope));
        // svc-x's key joins its user in the one account that has one.
        let Fact::Node(n) = &p.facts[0] else { panic!() };
        assert_eq!(n.keys[0], Key::aws_access_key(&id));
        assert_eq!(
            n.keys[1].as_str(),
            "aws-key-created:111122223333/svc-x@2024-01-02T03:04:05Z"
        );
        assert_eq!(n.props["account_id"], "111122223333");
        let Fact::Edge(e) = &p.facts[1] else { panic!() };
        assert_eq!(e.to.key, user_name_key("111122223333", "svc-x"));
        assert_eq!(p.facts.len(), 2, "the other two are not guessed");
        // Two accounts, or none: a located error naming them and the fix.
        assert_eq!(p.errors.len(), 2);
        assert_eq!(
            p.errors[0].location,
            Location::LinePointer(2, "/AccessKeyMetadata/0".into())
        );
        assert!(p.errors[0].message.contains("111122223333, 444455556666"));
        assert!(p.errors[1].message.contains("no IAM user named svc-nobody"));
    }
}
