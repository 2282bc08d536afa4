//! AWS: IAM authorization details, the credential report, access keys, and the
//! resource and Organizations inventory ([`inventory`]).
//!
//! Neither the authorization details nor the credential report carries access key
//! ids; `list-access-keys` (and CloudTrail) do. A credential-report slot is tied to
//! its `list-access-keys` entry by user and creation time (the report's
//! `access_key_N_last_rotated` is the key's creation time).

pub mod access_keys;
pub mod auth_details;
pub mod credential_report;
pub mod inventory;
pub mod trust;

use custody_model::{Endpoint, Key, Label};

/// `arn:aws:iam::123456789012:user/path/name` → `123456789012`.
pub fn account_of(arn: &str) -> Option<&str> {
    let acct = arn.split(':').nth(4)?;
    (acct.len() == 12 && acct.bytes().all(|b| b.is_ascii_digit())).then_some(acct)
}

/// The path-independent key of an IAM user: names are unique within an account
/// whatever the user's path, and `list-access-keys` gives only the name.
pub fn user_name_key(account: &str, user_name: &str) -> Key {
    Key::other("aws-iam-user", &format!("{account}/{user_name}"))
}

/// The key tying a credential-report slot to a `list-access-keys` entry.
pub fn key_created_key(account: &str, user_name: &str, created: &str) -> Key {
    Key::aws_key_created(&format!("{account}/{user_name}"), created)
}

pub fn user_endpoint(account: &str, user_name: &str) -> Endpoint {
    Endpoint::new(Label::Principal, user_name_key(account, user_name))
}

/// A 12-digit path component (e.g. `aws/123456789012/access-keys.json`, or a file
/// named `123456789012-access-keys.json`): how files that name no account are tied
/// to one.
pub fn account_from_path(path: &str) -> Option<String> {
    path.split(['/', '\\', '-', '_', '.'])
        .find(|part| part.len() == 12 && part.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_string)
}

/// Tag keys whose value names an accountable human (by e-mail).
pub const OWNER_TAG_KEYS: &[&str] = &[
    "owner",
    "owner-email",
    "owner_email",
    "contact",
    "created-by",
    "createdby",
    "created_by",
];

/// Owner tags whose value is not an e-mail address (a bare handle:
/// `owner=wchen`), as `owner_claims` entries for the node: attribution
/// resolves a handle against the workforce (exactly one person has it → that
/// person; several → each is listed, none is sure). An e-mail value is an
/// `OWNED_BY` edge instead. `what` names where the tag is (`IAM tag`).
pub fn handle_claims<'a>(
    tags: impl IntoIterator<Item = (&'a str, &'a str)>,
    what: &str,
) -> Vec<serde_json::Value> {
    tags.into_iter()
        .filter_map(|(k, v)| {
            let key = k.to_ascii_lowercase();
            let v = v.trim();
            if !OWNER_TAG_KEYS.contains(&key.as_str())
                || v.is_empty()
                || v.contains('@')
                || v.contains(char::is_whitespace)
            {
                return None;
            }
            let method = if key.starts_with("created") {
                "creator"
            } else {
                "owner-tag"
            };
            Some(serde_json::json!({"value": v, "said": format!("{what} {k}={v}"), "method": method}))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_come_from_arns_and_paths() {
        assert_eq!(
            account_of("arn:aws:iam::123456789012:user/x"),
            Some("123456789012")
        );
        assert_eq!(account_of("arn:aws:iam::aws:policy/ReadOnlyAccess"), None);
        assert_eq!(
            account_from_path("snap/aws/123456789012/access-keys.json").as_deref(),
            Some("123456789012")
        );
        assert_eq!(
            account_from_path("x/123456789012-access-keys.json").as_deref(),
            Some("123456789012")
        );
        assert_eq!(account_from_path("x/keys.json"), None);
    }
}
