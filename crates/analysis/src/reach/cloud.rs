//! What Google Cloud's and Azure's evaluators share: permission patterns,
//! the per-resource accumulation of allowed levels into one [`Access`], and
//! the sensitivity defaults of their resource kinds.

use super::Access;
use crate::catalog::AccessLevel;
use std::sync::Arc;

/// `*` matches any run of characters (`storage.*`, `*.setIamPolicy`,
/// `Microsoft.KeyVault/vaults/*/read`); everything else literally.
pub fn glob(pattern: &str, s: &str, ignore_case: bool) -> bool {
    let eq = |a: u8, b: u8| {
        if ignore_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (p, s) = (pattern.as_bytes(), s.as_bytes());
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if pi < p.len() && eq(p[pi], s[si]) {
            pi += 1;
            si += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// The order levels are shown in, most harmful first (as for AWS).
pub const LEVELS: [AccessLevel; 5] = [
    AccessLevel::PermissionsManagement,
    AccessLevel::Write,
    AccessLevel::Read,
    AccessLevel::Tagging,
    AccessLevel::List,
];

/// Every level one principal gets on one resource, from all its grants: per
/// level the first permission found, an unconditional grant beating a
/// conditional one.
#[derive(Default)]
pub struct Levels {
    found: Vec<(AccessLevel, Arc<str>, bool, Arc<str>)>,
}

impl Levels {
    pub fn offer(
        &mut self,
        level: AccessLevel,
        action: &str,
        conditional: bool,
        reason: &Arc<str>,
    ) {
        match self.found.iter_mut().find(|f| f.0 == level) {
            Some(f) if f.2 && !conditional => {
                *f = (level, Arc::from(action), conditional, reason.clone());
            }
            Some(_) => {}
            None => self
                .found
                .push((level, Arc::from(action), conditional, reason.clone())),
        }
    }

    pub fn into_access(mut self, resource: u32) -> Option<Access> {
        self.found
            .sort_by_key(|f| LEVELS.iter().position(|l| *l == f.0));
        let (level, action, conditional, reason) = self.found.first().cloned()?;
        Some(Access {
            resource,
            level,
            levels: self.found.iter().map(|f| f.0).collect(),
            action,
            scope: None,
            conditional,
            reason,
        })
    }
}

/// Resource kinds of Google Cloud and Azure that hold or unlock data, or
/// control everything below them: *high* when nobody tagged them.
pub fn high_by_default(kind: &str) -> bool {
    matches!(
        kind,
        "gcp_organization"
            | "gcp_folder"
            | "gcp_project"
            | "gcp_secret"
            | "gcp_kms_key"
            | "gcp_sql_instance"
            | "gcp_bigquery_dataset"
            | "azure_management_group"
            | "azure_subscription"
            | "azure_key_vault"
            | "azure_key_vault_secret"
            | "azure_sql_server"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(glob("*", "storage.objects.get", false));
        assert!(glob("storage.*", "storage.objects.get", false));
        assert!(glob(
            "*.setIamPolicy",
            "storage.buckets.setIamPolicy",
            false
        ));
        assert!(!glob(
            "*.setIamPolicy",
            "storage.buckets.getIamPolicy",
            false
        ));
        assert!(glob(
            "Microsoft.KeyVault/vaults/*/read",
            "microsoft.keyvault/vaults/secrets/read",
            true
        ));
        assert!(!glob(
            "Microsoft.KeyVault/vaults/*/read",
            "microsoft.keyvault/vaults/secrets/read",
            false
        ));
        assert!(!glob(
            "storage.objects.get",
            "storage.objects.getIamPolicy",
            false
        ));
    }
}
