//! Natural keys: the strong identifiers by which observations of one subject from
//! different sources are merged into one node.
//!
//! A key is written `kind:value` (e.g. `aws-access-key:AKIA…`, `email:ana@corp.example`).
//! Only strong keys merge nodes; display names never do.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The kinds of natural key custody understands, strongest (most canonical) first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum KeyKind {
    /// An AWS access key id (`AKIA…`, `ASIA…`).
    AwsAccessKey,
    /// An AWS ARN.
    Arn,
    /// A keyed fingerprint of secret material (HMAC-SHA256 hex).
    Fingerprint,
    /// A lower-cased e-mail address.
    Email,
    /// An AWS unique id (`AIDA…` user, `AROA…` role, `AGPA…` group, `ANPA…` policy).
    AwsUniqueId,
    /// An Okta object id (user `00u…`, group `00g…`, app `0oa…`).
    Okta,
    /// A Kubernetes object, `cluster/namespace/name`.
    K8s,
    /// An AWS access key identified by its user and creation time
    /// (`<user-arn>@<RFC 3339>`): how a credential-report row is tied to
    /// `list-access-keys`, since the report carries no key id.
    AwsKeyCreated,
    /// A URI of a storage location (`file://…#L3`, `vault://…`).
    Uri,
    /// Anything else, namespaced by system: `system/id`.
    Other,
}

impl KeyKind {
    pub const ALL: [KeyKind; 10] = [
        KeyKind::AwsAccessKey,
        KeyKind::Arn,
        KeyKind::Fingerprint,
        KeyKind::Email,
        KeyKind::AwsUniqueId,
        KeyKind::Okta,
        KeyKind::K8s,
        KeyKind::AwsKeyCreated,
        KeyKind::Uri,
        KeyKind::Other,
    ];

    pub fn prefix(self) -> &'static str {
        match self {
            KeyKind::AwsAccessKey => "aws-access-key",
            KeyKind::Arn => "arn",
            KeyKind::Fingerprint => "fp",
            KeyKind::Email => "email",
            KeyKind::AwsUniqueId => "aws-id",
            KeyKind::Okta => "okta",
            KeyKind::K8s => "k8s",
            KeyKind::AwsKeyCreated => "aws-key-created",
            KeyKind::Uri => "uri",
            KeyKind::Other => "id",
        }
    }

    /// Lower is more canonical: the node's display key is its lowest-ranked key.
    pub fn rank(self) -> u8 {
        self as u8
    }
}

/// The Kubernetes cluster an export or log belongs to, from where it is kept
/// (neither `kubectl` output nor an audit log names its cluster): the folder
/// after the last `kubernetes/` that has one (`kubernetes/<cluster>/…`, also
/// under a collection's `…/collect/kubernetes/<time>/`), else the folder
/// holding it.
pub fn k8s_cluster_of(path: &str) -> &str {
    let parts: Vec<&str> = path.split(['/', '\\']).filter(|p| !p.is_empty()).collect();
    if let Some(i) = (0..parts.len())
        .rev()
        .find(|&i| parts[i] == "kubernetes" && i + 2 < parts.len())
    {
        return parts[i + 1];
    }
    parts.len().checked_sub(2).map_or("cluster", |i| parts[i])
}

/// `(cluster, namespace, secret name)` of a `k8s://<cluster>/<ns>/secrets/<name>[#key]` place.
pub fn k8s_secret_of(place: &str) -> Option<(&str, &str, &str)> {
    let rest = place
        .strip_prefix("uri:")
        .unwrap_or(place)
        .strip_prefix("k8s://")?;
    let (head, name) = rest.split_once("/secrets/")?;
    let (cluster, ns) = head.split_once('/')?;
    Some((cluster, ns, name.split('#').next().unwrap_or(name)))
}

/// A natural key, stored canonically as `prefix:value`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Key(String);

impl Key {
    fn new(kind: KeyKind, value: &str) -> Key {
        Key(format!("{}:{}", kind.prefix(), value))
    }

    pub fn aws_access_key(id: &str) -> Key {
        Key::new(KeyKind::AwsAccessKey, id.trim())
    }
    /// ARNs are case-sensitive in their resource part; kept as given.
    pub fn arn(arn: &str) -> Key {
        let arn = arn.trim();
        Key(if arn.starts_with("arn:") {
            arn.to_string()
        } else {
            format!("arn:{arn}")
        })
    }
    pub fn fingerprint(fp: &crate::Fingerprint) -> Key {
        Key::new(KeyKind::Fingerprint, fp.as_str())
    }
    /// E-mail addresses compare case-insensitively (in practice, for every IdP).
    pub fn email(addr: &str) -> Key {
        Key::new(KeyKind::Email, &addr.trim().to_ascii_lowercase())
    }
    pub fn aws_unique_id(id: &str) -> Key {
        Key::new(KeyKind::AwsUniqueId, id.trim())
    }
    pub fn okta(id: &str) -> Key {
        Key::new(KeyKind::Okta, id.trim())
    }
    pub fn k8s(cluster: &str, namespace: &str, name: &str) -> Key {
        Key(format!("k8s:{cluster}/{namespace}/{name}"))
    }
    /// `created` must already be normalised (see [`crate::time::canonical`]).
    pub fn aws_key_created(user_arn: &str, created: &str) -> Key {
        Key(format!("aws-key-created:{}@{created}", user_arn.trim()))
    }
    pub fn uri(uri: &str) -> Key {
        Key::new(KeyKind::Uri, uri)
    }
    pub fn other(system: &str, id: &str) -> Key {
        Key(format!("id:{system}/{id}"))
    }

    /// The keys a reference a person types may stand for, most specific first:
    /// `kind:value` as written, an ARN, an e-mail, or a bare id (an access key
    /// id, an AWS unique id, an Okta id).
    pub fn candidates(reference: &str) -> Vec<Key> {
        let r = reference.trim();
        let mut out = Vec::new();
        if let Some(k) = Key::parse(r) {
            out.push(k);
        }
        if r.starts_with("arn:") {
            out.push(Key::arn(r));
        } else if r.contains("://") || r.starts_with("//") {
            // A URI as printed without its `uri:` prefix (a workflow, a secret's
            // place, a Google Cloud full resource name).
            out.push(Key::uri(r));
        } else if r.starts_with("/subscriptions/") || r.starts_with("/providers/") {
            // An Azure resource id, any case.
            let id = r.to_ascii_lowercase();
            out.push(Key::other("azure-resource", &id));
            out.push(Key::other("azure-scope", &id));
        } else if r.contains('@') {
            out.push(Key::email(r));
        } else if r.len() >= 16 && r.bytes().all(|b| b.is_ascii_alphanumeric()) {
            out.push(Key::aws_access_key(r));
            out.push(Key::aws_unique_id(r));
            out.push(Key::okta(r));
        }
        out
    }

    /// Parses the `prefix:value` form (as printed by custody) back into a key.
    pub fn parse(s: &str) -> Option<Key> {
        let (prefix, value) = s.split_once(':')?;
        if value.is_empty() {
            return None;
        }
        KeyKind::ALL
            .into_iter()
            .any(|k| k.prefix() == prefix)
            .then(|| Key(s.to_string()))
    }

    pub fn kind(&self) -> KeyKind {
        let prefix = self.0.split_once(':').map(|(p, _)| p).unwrap_or("");
        KeyKind::ALL
            .into_iter()
            .find(|k| k.prefix() == prefix)
            .unwrap_or(KeyKind::Other)
    }

    /// The part after `prefix:` (for ARNs, the whole ARN).
    pub fn value(&self) -> &str {
        if self.kind() == KeyKind::Arn {
            return &self.0;
        }
        self.0.split_once(':').map(|(_, v)| v).unwrap_or(&self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_resource_names_are_references() {
        let gcp = Key::candidates("//storage.googleapis.com/shop-exports");
        assert_eq!(gcp[0].as_str(), "uri://storage.googleapis.com/shop-exports");
        let az = Key::candidates(
            "/subscriptions/S/resourceGroups/RG/providers/Microsoft.KeyVault/vaults/KV",
        );
        assert_eq!(
            az[0].as_str(),
            "id:azure-resource//subscriptions/s/resourcegroups/rg/providers/microsoft.keyvault/vaults/kv"
        );
    }

    #[test]
    fn a_cluster_is_the_folder_after_the_last_kubernetes_folder() {
        assert_eq!(
            k8s_cluster_of("exports/kubernetes/prod/objects.json"),
            "prod"
        );
        assert_eq!(
            k8s_cluster_of(
                "/home/me/custody/collect/kubernetes/20261205T101500Z/kubernetes/prod/objects.json"
            ),
            "prod"
        );
        assert_eq!(
            k8s_cluster_of("kubernetes/kubernetes/objects.json"),
            "kubernetes"
        );
        assert_eq!(k8s_cluster_of("clusters/staging/objects.json"), "staging");
    }

    #[test]
    fn keys_are_canonical_and_typed() {
        let e = Key::email("  Ana.Lopez@Corp.Example ");
        assert_eq!(e.as_str(), "email:ana.lopez@corp.example");
        assert_eq!(e.kind(), KeyKind::Email);
        assert_eq!(e.value(), "ana.lopez@corp.example");

        let a = Key::arn("arn:aws:iam::123456789012:user/svc");
        assert_eq!(a.kind(), KeyKind::Arn);
        assert_eq!(a.value(), "arn:aws:iam::123456789012:user/svc");

        let k = Key::aws_access_key(&format!("AKIA{}", "0000000000000001"));
        assert_eq!(k.kind(), KeyKind::AwsAccessKey);
        assert!(k.kind().rank() < KeyKind::AwsKeyCreated.rank());

        assert_eq!(Key::parse("email:x@y.z"), Some(Key::email("x@y.z")));
        assert_eq!(Key::parse("nonsense:1"), None);
        assert_eq!(Key::parse("email:"), None);
        assert_eq!(Key::k8s("prod", "ns", "sa").kind(), KeyKind::K8s);
    }
}
