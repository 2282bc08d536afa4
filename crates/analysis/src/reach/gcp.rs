//! Google Cloud reach: what a service account can do, through allow policies
//! bound on the organisation, its folders, the project and the resource
//! itself (a binding is inherited by everything below it), roles expanded to
//! permissions (predefined roles from `data/gcp-roles.json`, custom roles from
//! `gcloud iam roles describe`), IAM deny policies, and IAM Conditions (a
//! conditional binding gives conditional access, as an AWS condition does).
//!
//! Service-account impersonation is a hop: a principal allowed
//! `iam.serviceAccounts.getAccessToken` (or `signJwt`, `signBlob`,
//! `implicitDelegation`, `iam.serviceAccountKeys.create`,
//! `iam.serviceAccounts.setIamPolicy`) on a service account becomes it;
//! `iam.serviceAccounts.actAs` does when the principal can also deploy a
//! workload in that project (Compute Engine, Cloud Run, Cloud Functions,
//! Cloud Build).

use super::cloud::{glob, Levels};
use super::{Access, Hop};
use crate::catalog::AccessLevel;
use foldhash::{HashMap, HashMapExt};
use serde::Deserialize;
use serde_json::Value;
use std::sync::{Arc, OnceLock};

const DATA: &str = include_str!("../../data/gcp-roles.json");

/// The permissions custody evaluates per resource kind, by level, most
/// harmful first.
type Spec = &'static [(AccessLevel, &'static [&'static str])];
const SPECS: &[(&str, Spec)] = &[
    (
        "gcp_organization",
        &[
            (
                AccessLevel::PermissionsManagement,
                &["resourcemanager.organizations.setIamPolicy"],
            ),
            (AccessLevel::List, &["resourcemanager.organizations.get"]),
        ],
    ),
    (
        "gcp_folder",
        &[
            (
                AccessLevel::PermissionsManagement,
                &["resourcemanager.folders.setIamPolicy"],
            ),
            (AccessLevel::Write, &["resourcemanager.folders.delete"]),
            (AccessLevel::List, &["resourcemanager.folders.get"]),
        ],
    ),
    (
        "gcp_project",
        &[
            (
                AccessLevel::PermissionsManagement,
                &["resourcemanager.projects.setIamPolicy"],
            ),
            (AccessLevel::Write, &["resourcemanager.projects.delete"]),
            (
                AccessLevel::Read,
                &["resourcemanager.projects.getIamPolicy"],
            ),
            (AccessLevel::List, &["resourcemanager.projects.get"]),
        ],
    ),
    (
        "gcp_storage_bucket",
        &[
            (
                AccessLevel::PermissionsManagement,
                &["storage.buckets.setIamPolicy"],
            ),
            (
                AccessLevel::Write,
                &[
                    "storage.objects.delete",
                    "storage.objects.create",
                    "storage.buckets.delete",
                    "storage.buckets.update",
                ],
            ),
            (AccessLevel::Read, &["storage.objects.get"]),
            (
                AccessLevel::List,
                &["storage.objects.list", "storage.buckets.get"],
            ),
        ],
    ),
    (
        "gcp_secret",
        &[
            (
                AccessLevel::PermissionsManagement,
                &["secretmanager.secrets.setIamPolicy"],
            ),
            (
                AccessLevel::Write,
                &[
                    "secretmanager.versions.add",
                    "secretmanager.versions.destroy",
                    "secretmanager.secrets.delete",
                ],
            ),
            (AccessLevel::Read, &["secretmanager.versions.access"]),
            (
                AccessLevel::List,
                &["secretmanager.secrets.get", "secretmanager.versions.list"],
            ),
        ],
    ),
    (
        "gcp_kms_key",
        &[
            (
                AccessLevel::PermissionsManagement,
                &["cloudkms.cryptoKeys.setIamPolicy"],
            ),
            (
                AccessLevel::Write,
                &[
                    "cloudkms.cryptoKeyVersions.destroy",
                    "cloudkms.cryptoKeyVersions.useToEncrypt",
                    "cloudkms.cryptoKeys.update",
                ],
            ),
            (
                AccessLevel::Read,
                &["cloudkms.cryptoKeyVersions.useToDecrypt"],
            ),
            (AccessLevel::List, &["cloudkms.cryptoKeys.get"]),
        ],
    ),
    (
        "gcp_bigquery_dataset",
        &[
            (
                AccessLevel::PermissionsManagement,
                &["bigquery.datasets.setIamPolicy"],
            ),
            (
                AccessLevel::Write,
                &[
                    "bigquery.tables.updateData",
                    "bigquery.tables.delete",
                    "bigquery.datasets.delete",
                ],
            ),
            (AccessLevel::Read, &["bigquery.tables.getData"]),
            (
                AccessLevel::List,
                &["bigquery.tables.list", "bigquery.datasets.get"],
            ),
        ],
    ),
    (
        "gcp_sql_instance",
        &[
            (
                AccessLevel::Write,
                &[
                    "cloudsql.instances.delete",
                    "cloudsql.users.update",
                    "cloudsql.instances.update",
                ],
            ),
            (AccessLevel::Read, &["cloudsql.instances.connect"]),
            (AccessLevel::List, &["cloudsql.instances.get"]),
        ],
    ),
    (
        "gcp_gke_cluster",
        &[
            (
                AccessLevel::PermissionsManagement,
                &["container.clusterRoleBindings.create"],
            ),
            (
                AccessLevel::Write,
                &["container.pods.exec", "container.clusters.delete"],
            ),
            (AccessLevel::Read, &["container.secrets.get"]),
            (AccessLevel::List, &["container.clusters.get"]),
        ],
    ),
];

/// Node kinds that are Google Cloud resources custody evaluates.
pub const RESOURCE_KINDS: &[&str] = &[
    "gcp_organization",
    "gcp_folder",
    "gcp_project",
    "gcp_storage_bucket",
    "gcp_secret",
    "gcp_kms_key",
    "gcp_bigquery_dataset",
    "gcp_sql_instance",
    "gcp_gke_cluster",
];

/// Permissions on a service account that let a principal become it.
const IMPERSONATE: &[&str] = &[
    "iam.serviceAccounts.getAccessToken",
    "iam.serviceAccounts.signJwt",
    "iam.serviceAccounts.signBlob",
    "iam.serviceAccounts.implicitDelegation",
    "iam.serviceAccountKeys.create",
    "iam.serviceAccounts.setIamPolicy",
];
/// With `iam.serviceAccounts.actAs`, any of these deploys a workload that runs
/// as the service account.
const DEPLOY: &[&str] = &[
    "compute.instances.create",
    "run.services.create",
    "cloudfunctions.functions.create",
    "cloudbuild.builds.create",
];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleIn {
    name: String,
    #[serde(default)]
    included_permissions: Vec<String>,
}

/// Predefined roles: name → permissions (patterns for the basic roles).
fn predefined() -> &'static HashMap<String, Arc<[String]>> {
    static ROLES: OnceLock<HashMap<String, Arc<[String]>>> = OnceLock::new();
    ROLES.get_or_init(|| {
        let list: Vec<RoleIn> = serde_json::from_str(DATA).unwrap_or_default();
        list.into_iter()
            .map(|r| (r.name, Arc::from(r.included_permissions)))
            .collect()
    })
}

/// One binding naming a principal: the scope it is set on, the role, and
/// whether an IAM Condition limits it.
#[derive(Debug, Clone)]
pub struct Grant {
    pub scope: Arc<str>,
    pub role: Arc<str>,
    pub conditional: bool,
}

/// One rule of an IAM deny policy, attached at a scope.
#[derive(Debug, Clone)]
pub struct Deny {
    pub name: String,
    pub attachment: Arc<str>,
    pub principals: Vec<String>,
    pub except_principals: Vec<String>,
    /// `service.googleapis.com/resource.verb` patterns.
    pub permissions: Vec<String>,
    pub except_permissions: Vec<String>,
    pub conditional: bool,
}

impl Deny {
    /// The rules of one deny policy (`gcloud iam policies get … --kind=denypolicies`).
    pub fn from_policy(attachment: &str, name: &str, doc: &Value) -> Vec<Deny> {
        let strings = |v: &Value, k: &str| -> Vec<String> {
            v.get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut out = Vec::new();
        for rule in doc
            .get("rules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(d) = rule.get("denyRule") else {
                continue;
            };
            out.push(Deny {
                name: name.to_string(),
                attachment: Arc::from(attachment),
                principals: strings(d, "deniedPrincipals"),
                except_principals: strings(d, "exceptionPrincipals"),
                permissions: strings(d, "deniedPermissions"),
                except_permissions: strings(d, "exceptionPermissions"),
                conditional: d.get("denialCondition").is_some_and(|c| !c.is_null()),
            });
        }
        out
    }

    fn names(&self, email: &str) -> bool {
        let me = format!("principal://iam.googleapis.com/projects/-/serviceAccounts/{email}");
        let hit = |list: &[String]| {
            list.iter()
                .any(|p| p.eq_ignore_ascii_case(&me) || p == "principalSet://goog/public:all")
        };
        hit(&self.principals) && !hit(&self.except_principals)
    }

    fn covers(&self, permission: &str) -> bool {
        // v1 `storage.objects.get` is written `storage.googleapis.com/objects.get`.
        let Some((service, rest)) = permission.split_once('.') else {
            return false;
        };
        let fq = format!("{service}.googleapis.com/{rest}");
        let hit = |list: &[String]| list.iter().any(|p| glob(p, &fq, false));
        hit(&self.permissions) && !hit(&self.except_permissions)
    }
}

/// The Google Cloud slice of a [`super::Model`].
#[derive(Default)]
pub struct Gcp {
    /// Principal → the bindings that name it.
    pub grants: HashMap<u32, Vec<Grant>>,
    /// Custom roles by full name (`projects/p/roles/x`, `organizations/1/roles/x`).
    pub custom: HashMap<String, Arc<[String]>>,
    /// Scope → the resources at or below it.
    pub under: HashMap<Arc<str>, Vec<u32>>,
    /// Scope → the service accounts at or below it (a service account is a
    /// scope of its own: `serviceAccount:<e-mail>`).
    pub accounts_under: HashMap<Arc<str>, Vec<u32>>,
    /// Resource → its scope and every scope above it.
    pub scopes_of: HashMap<u32, Vec<Arc<str>>>,
    /// Service account → its scope and every scope above it.
    pub account_scopes: HashMap<u32, Vec<Arc<str>>>,
    /// Service account → e-mail.
    pub email: HashMap<u32, String>,
    pub deny: Vec<Deny>,
    /// Resource kinds: index into [`SPECS`].
    pub spec_of: HashMap<u32, usize>,
}

pub fn spec_index(kind: &str) -> Option<usize> {
    SPECS.iter().position(|(k, _)| *k == kind)
}

impl Gcp {
    fn permissions(&self, role: &str) -> Option<Arc<[String]>> {
        self.custom
            .get(role)
            .cloned()
            .or_else(|| predefined().get(role).cloned())
    }

    /// Is `permission` denied to the service account on something with these
    /// scopes? `Some(true)`: only under a denial condition.
    fn denied(&self, email: &str, scopes: &[Arc<str>], permission: &str) -> Option<bool> {
        let mut conditional = None;
        for d in &self.deny {
            if scopes.contains(&d.attachment) && d.names(email) && d.covers(permission) {
                if !d.conditional {
                    return Some(false);
                }
                conditional = Some(true);
            }
        }
        conditional
    }

    /// Roles whose permissions are unknown (neither predefined nor described).
    pub fn unknown_roles(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .grants
            .values()
            .flatten()
            .filter(|g| self.permissions(&g.role).is_none())
            .map(|g| g.role.to_string())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Every resource the service account `p` can act on.
    pub fn direct(&self, p: u32) -> Vec<Access> {
        let email = self.email.get(&p).map(String::as_str).unwrap_or("");
        let mut per: HashMap<u32, Levels> = HashMap::new();
        for g in self.grants.get(&p).into_iter().flatten() {
            let Some(perms) = self.permissions(&g.role) else {
                continue;
            };
            let reason: Arc<str> = Arc::from(format!("{} bound on {}", g.role, g.scope));
            for &r in self.under.get(&g.scope).into_iter().flatten() {
                let Some(&spec) = self.spec_of.get(&r) else {
                    continue;
                };
                let scopes = self.scopes_of.get(&r).map(Vec::as_slice).unwrap_or(&[]);
                for (level, wanted) in SPECS[spec].1 {
                    let hit = wanted.iter().find_map(|w| {
                        if !perms.iter().any(|p| glob(p, w, false)) {
                            return None;
                        }
                        match self.denied(email, scopes, w) {
                            Some(false) => None,
                            Some(true) => Some((w, true)),
                            None => Some((w, false)),
                        }
                    });
                    if let Some((w, denied_if)) = hit {
                        per.entry(r).or_default().offer(
                            *level,
                            w,
                            g.conditional || denied_if,
                            &reason,
                        );
                    }
                }
            }
        }
        let mut out: Vec<Access> = per
            .into_iter()
            .filter_map(|(r, l)| l.into_access(r))
            .collect();
        out.sort_by_key(|a| a.resource);
        out
    }

    /// The service accounts `p` can become.
    pub fn next(&self, p: u32) -> Vec<Hop> {
        let email = self.email.get(&p).map(String::as_str).unwrap_or("");
        let grants = self.grants.get(&p).map(Vec::as_slice).unwrap_or(&[]);
        let mut out: Vec<Hop> = Vec::new();
        for g in grants {
            let Some(perms) = self.permissions(&g.role) else {
                continue;
            };
            let has = |w: &str| perms.iter().any(|p| glob(p, w, false));
            let how = IMPERSONATE.iter().find(|w| has(w)).copied().or_else(|| {
                // actAs needs a way to run something as the account.
                let deploys = grants.iter().any(|o| {
                    self.permissions(&o.role).is_some_and(|ps| {
                        DEPLOY.iter().any(|d| ps.iter().any(|p| glob(p, d, false)))
                    })
                });
                (has("iam.serviceAccounts.actAs") && deploys).then_some("iam.serviceAccounts.actAs")
            });
            let Some(how) = how else { continue };
            for &s in self.accounts_under.get(&g.scope).into_iter().flatten() {
                if s == p {
                    continue;
                }
                let scopes = self
                    .account_scopes
                    .get(&s)
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
                let denied = self.denied(email, scopes, how);
                if denied == Some(false) {
                    continue;
                }
                let conditional = g.conditional || denied == Some(true);
                match out.iter_mut().find(|h| h.principal == s) {
                    Some(h) if h.conditional && !conditional => {
                        h.conditional = false;
                        h.how = format!("{how} ({} on {})", g.role, g.scope).into();
                    }
                    Some(_) => {}
                    None => out.push(Hop {
                        principal: s,
                        from: None,
                        how: format!("{how} ({} on {})", g.role, g.scope).into(),
                        conditional,
                        potential: None,
                    }),
                }
            }
        }
        out
    }
}
