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

/// What a tag, label or annotation key says its value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerTag {
    /// The accountable person (`owner`, `Owner`, `owner-email`, `contact`,
    /// `TechnicalOwner`, `service_owner`…).
    Owner,
    /// Who created it (`created-by`, `CreatedBy`, `creator`).
    Creator,
}

/// Tag keys naming an owner or creator, compared without case or
/// separators (`OwnerEmail` = `owner-email` = `owner_email`).
const OWNER_KEYS: [&str; 10] = [
    "owner",
    "owneremail",
    "ownedby",
    "contact",
    "contactemail",
    "technicalowner",
    "techowner",
    "serviceowner",
    "appowner",
    "applicationowner",
];
const CREATOR_KEYS: [&str; 3] = ["createdby", "creator", "createdbyemail"];

/// Whether a tag key names an owner or a creator.
pub fn owner_tag(key: &str) -> Option<OwnerTag> {
    let k: String = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if OWNER_KEYS.contains(&k.as_str()) {
        Some(OwnerTag::Owner)
    } else if CREATOR_KEYS.contains(&k.as_str()) {
        Some(OwnerTag::Creator)
    } else {
        None
    }
}

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
            let v = v.trim();
            let tag = owner_tag(k)?;
            if v.is_empty() || v.contains('@') || v.contains(char::is_whitespace) {
                return None;
            }
            let method = match tag {
                OwnerTag::Creator => "creator",
                OwnerTag::Owner => "owner-tag",
            };
            Some(serde_json::json!({"value": v, "said": format!("{what} {k}={v}"), "method": method}))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_tag_keys_ignore_case_and_separators() {
        for k in [
            "owner",
            "Owner",
            "owner-email",
            "OwnerEmail",
            "owner_email",
            "technical-owner",
            "ServiceOwner",
            "contact",
        ] {
            assert_eq!(owner_tag(k), Some(OwnerTag::Owner), "{k}");
        }
        for k in ["created-by", "CreatedBy", "created_by", "creator"] {
            assert_eq!(owner_tag(k), Some(OwnerTag::Creator), "{k}");
        }
        for k in [
            "team",
            "owner-team",
            "cost-center",
            "managed-by",
            "business-unit",
        ] {
            assert_eq!(owner_tag(k), None, "{k}");
        }
    }

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
