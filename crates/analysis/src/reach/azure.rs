//! Azure reach: what a service principal or managed identity can do, through
//! role assignments on a management group, subscription, resource group or
//! resource (inherited by everything below it), role definitions expanded to
//! actions and data actions with `notActions`/`notDataActions` honoured
//! (built-in roles from `data/azure-roles.json`, custom ones from
//! `az role definition list`), and Key Vault's two data-plane models: a vault
//! with `enableRbacAuthorization` answers only to data actions, any other
//! vault only to its access policies.
//!
//! A managed identity is a hop: a principal that can run commands on, or
//! rewrite, a virtual machine or app that runs as a managed identity can act
//! as that identity. A service principal granted a Microsoft Graph
//! application permission that takes over apps (`Application.ReadWrite.All`,
//! `AppRoleAssignment.ReadWrite.All`, `RoleManagement.ReadWrite.Directory`,
//! `Directory.ReadWrite.All`) can add a credential to any app: every app is a
//! hop.

use super::cloud::{glob, Levels};
use super::{Access, Hop};
use crate::catalog::AccessLevel;
use foldhash::{HashMap, HashMapExt};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

const DATA: &str = include_str!("../../data/azure-roles.json");

/// (action, is a data action), by level, most harmful first.
type Spec = &'static [(AccessLevel, &'static [(&'static str, bool)])];
const ASSIGN: (&str, bool) = ("Microsoft.Authorization/roleAssignments/write", false);
const SECRETS: Spec = &[
    (AccessLevel::PermissionsManagement, &[ASSIGN]),
    (
        AccessLevel::Write,
        &[
            ("Microsoft.KeyVault/vaults/secrets/setSecret/action", true),
            ("Microsoft.KeyVault/vaults/secrets/delete", true),
        ],
    ),
    (
        AccessLevel::Read,
        &[("Microsoft.KeyVault/vaults/secrets/getSecret/action", true)],
    ),
    (
        AccessLevel::List,
        &[(
            "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
            true,
        )],
    ),
];
const SPECS: &[(&str, Spec)] = &[
    ("azure_management_group", SCOPE),
    ("azure_subscription", SCOPE),
    ("azure_resource_group", SCOPE),
    ("azure_key_vault_secret", SECRETS),
    (
        "azure_key_vault",
        &[
            (
                AccessLevel::PermissionsManagement,
                &[
                    ASSIGN,
                    ("Microsoft.KeyVault/vaults/accessPolicies/write", false),
                ],
            ),
            (
                AccessLevel::Write,
                &[
                    ("Microsoft.KeyVault/vaults/secrets/setSecret/action", true),
                    ("Microsoft.KeyVault/vaults/delete", false),
                    ("Microsoft.KeyVault/vaults/write", false),
                ],
            ),
            (
                AccessLevel::Read,
                &[("Microsoft.KeyVault/vaults/secrets/getSecret/action", true)],
            ),
            (
                AccessLevel::List,
                &[
                    (
                        "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
                        true,
                    ),
                    ("Microsoft.KeyVault/vaults/read", false),
                ],
            ),
        ],
    ),
    (
        "azure_storage_account",
        &[
            (AccessLevel::PermissionsManagement, &[ASSIGN]),
            (
                AccessLevel::Write,
                &[
                    ("Microsoft.Storage/storageAccounts/listKeys/action", false),
                    (
                        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
                        true,
                    ),
                    ("Microsoft.Storage/storageAccounts/delete", false),
                ],
            ),
            (
                AccessLevel::Read,
                &[(
                    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
                    true,
                )],
            ),
            (
                AccessLevel::List,
                &[("Microsoft.Storage/storageAccounts/read", false)],
            ),
        ],
    ),
    ("azure_virtual_machine", VM),
    (
        "azure_web_app",
        &[
            (AccessLevel::PermissionsManagement, &[ASSIGN]),
            (AccessLevel::Write, &[("Microsoft.Web/sites/write", false)]),
            (
                AccessLevel::Read,
                &[("Microsoft.Web/sites/config/list/action", false)],
            ),
            (AccessLevel::List, &[("Microsoft.Web/sites/read", false)]),
        ],
    ),
    (
        "azure_sql_server",
        &[
            (AccessLevel::PermissionsManagement, &[ASSIGN]),
            (
                AccessLevel::Write,
                &[
                    ("Microsoft.Sql/servers/write", false),
                    ("Microsoft.Sql/servers/delete", false),
                ],
            ),
            (AccessLevel::List, &[("Microsoft.Sql/servers/read", false)]),
        ],
    ),
];
const SCOPE: Spec = &[
    (AccessLevel::PermissionsManagement, &[ASSIGN]),
    (
        AccessLevel::Write,
        &[("Microsoft.Resources/deployments/write", false)],
    ),
    (
        AccessLevel::List,
        &[(
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            false,
        )],
    ),
];
const VM: Spec = &[
    (AccessLevel::PermissionsManagement, &[ASSIGN]),
    (
        AccessLevel::Write,
        &[
            ("Microsoft.Compute/virtualMachines/runCommand/action", false),
            ("Microsoft.Compute/virtualMachines/write", false),
        ],
    ),
    (
        AccessLevel::List,
        &[("Microsoft.Compute/virtualMachines/read", false)],
    ),
];

/// Node kinds that are Azure resources custody evaluates.
pub const RESOURCE_KINDS: &[&str] = &[
    "azure_management_group",
    "azure_subscription",
    "azure_resource_group",
    "azure_key_vault",
    "azure_key_vault_secret",
    "azure_storage_account",
    "azure_virtual_machine",
    "azure_web_app",
    "azure_sql_server",
];

/// Actions on a workload that let a principal act as its managed identity.
const TAKE_OVER: &[&str] = &[
    "Microsoft.Compute/virtualMachines/runCommand/action",
    "Microsoft.Compute/virtualMachines/write",
    "Microsoft.Web/sites/write",
];

pub fn spec_index(kind: &str) -> Option<usize> {
    SPECS.iter().position(|(k, _)| *k == kind)
}

/// One role definition's permissions.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permissions {
    #[serde(default)]
    pub actions: Vec<String>,
    #[serde(default)]
    pub not_actions: Vec<String>,
    #[serde(default)]
    pub data_actions: Vec<String>,
    #[serde(default)]
    pub not_data_actions: Vec<String>,
}

/// A role definition as `az role definition list` prints it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleDefinition {
    /// The GUID.
    pub name: String,
    pub role_name: String,
    #[serde(default)]
    pub permissions: Vec<Permissions>,
}

impl RoleDefinition {
    /// Does the role allow the action (a data action when `data`)?
    pub fn allows(&self, action: &str, data: bool) -> bool {
        self.permissions.iter().any(|p| {
            let (yes, no) = if data {
                (&p.data_actions, &p.not_data_actions)
            } else {
                (&p.actions, &p.not_actions)
            };
            yes.iter().any(|a| glob(a, action, true)) && !no.iter().any(|a| glob(a, action, true))
        })
    }
}

/// Built-in roles, by lower-case name and by GUID.
fn builtin() -> &'static HashMap<String, Arc<RoleDefinition>> {
    static ROLES: OnceLock<HashMap<String, Arc<RoleDefinition>>> = OnceLock::new();
    ROLES.get_or_init(|| {
        let list: Vec<RoleDefinition> = serde_json::from_str(DATA).unwrap_or_default();
        let mut out = HashMap::new();
        for r in list {
            let r = Arc::new(r);
            out.insert(r.role_name.to_ascii_lowercase(), r.clone());
            out.insert(r.name.to_ascii_lowercase(), r);
        }
        out
    })
}

/// One role assignment naming a principal.
#[derive(Debug, Clone)]
pub struct Assignment {
    /// Lower case.
    pub scope: Arc<str>,
    /// The role's name or GUID, as the assignment gives it.
    pub role: Arc<str>,
    pub conditional: bool,
}

/// A Key Vault's data-plane model.
#[derive(Debug, Clone, Default)]
pub struct Vault {
    /// Its id (lower case).
    pub id: String,
    pub rbac: bool,
    /// Access policies: object id (lower case) → secret permissions (`get`, `list`…).
    pub policies: Vec<(String, Vec<String>)>,
}

/// The Azure slice of a [`super::Model`].
#[derive(Default)]
pub struct Azure {
    pub assignments: HashMap<u32, Vec<Assignment>>,
    /// Custom role definitions, by lower-case name and GUID.
    pub custom: HashMap<String, Arc<RoleDefinition>>,
    /// Resource id (lower case) → resource.
    pub by_id: BTreeMap<String, u32>,
    /// Subscription id (lower case) → its management groups (lower-case names).
    pub groups_of: HashMap<String, Vec<String>>,
    pub vaults: HashMap<u32, Vault>,
    /// Secret resource → its vault resource.
    pub vault_of: HashMap<u32, u32>,
    /// Principal → object id (lower case).
    pub object_id: HashMap<u32, String>,
    /// Resource → index into [`SPECS`].
    pub spec_of: HashMap<u32, usize>,
    /// Workloads → the managed identities they run as.
    pub runs_as: HashMap<u32, Vec<u32>>,
    /// Service principals granted a Graph application permission that takes
    /// over apps (`Application.ReadWrite.All`…), with its name.
    pub takeover: HashMap<u32, String>,
    /// Apps and service principals a credential can be added to (not managed
    /// identities).
    pub apps: Vec<u32>,
}

impl Azure {
    fn role(&self, r: &str) -> Option<Arc<RoleDefinition>> {
        let k = r.to_ascii_lowercase();
        self.custom
            .get(&k)
            .cloned()
            .or_else(|| builtin().get(&k).cloned())
    }

    pub fn unknown_roles(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .assignments
            .values()
            .flatten()
            .filter(|a| self.role(&a.role).is_none())
            .map(|a| a.role.to_string())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The resources at or below a scope, with their ids.
    pub fn under(&self, scope: &str) -> Vec<(&str, u32)> {
        let scope = scope.trim_end_matches('/');
        if scope.is_empty() {
            return self.by_id.iter().map(|(id, &r)| (id.as_str(), r)).collect();
        }
        let mut out = Vec::new();
        let mut prefixes = vec![scope.to_string()];
        if let Some(mg) = scope.strip_prefix("/providers/microsoft.management/managementgroups/") {
            out.extend(
                self.by_id
                    .get_key_value(scope)
                    .map(|(id, &r)| (id.as_str(), r)),
            );
            for (sub, groups) in &self.groups_of {
                if groups.iter().any(|g| g == mg) {
                    prefixes.push(format!("/subscriptions/{sub}"));
                }
            }
        }
        for p in prefixes {
            for (id, &r) in self.by_id.range(p.clone()..) {
                if !id.starts_with(&p) {
                    break;
                }
                if id.len() == p.len() || id.as_bytes()[p.len()] == b'/' {
                    out.push((id.as_str(), r));
                }
            }
        }
        out.sort_unstable_by_key(|&(_, r)| r);
        out.dedup_by_key(|&mut (_, r)| r);
        out
    }

    /// The vault whose data-plane rules apply to a resource, if any.
    fn vault(&self, r: u32) -> Option<&Vault> {
        self.vaults
            .get(&r)
            .or_else(|| self.vaults.get(self.vault_of.get(&r)?))
    }

    /// Every resource the principal `p` can act on.
    pub fn direct(&self, p: u32) -> Vec<Access> {
        let mut per: HashMap<u32, Levels> = HashMap::new();
        for a in self.assignments.get(&p).into_iter().flatten() {
            let Some(role) = self.role(&a.role) else {
                continue;
            };
            let reason: Arc<str> = Arc::from(format!("{} assigned on {}", role.role_name, a.scope));
            for (_, r) in self.under(&a.scope) {
                let Some(&spec) = self.spec_of.get(&r) else {
                    continue;
                };
                let vault = self.vault(r);
                for (level, wanted) in SPECS[spec].1 {
                    let hit = wanted.iter().find(|(action, data)| {
                        // A vault on access policies ignores data actions.
                        if *data && vault.is_some_and(|v| !v.rbac) {
                            return false;
                        }
                        // Writing access policies grants data access only
                        // where access policies are what the vault obeys.
                        if action.ends_with("/accessPolicies/write")
                            && vault.is_some_and(|v| v.rbac)
                        {
                            return false;
                        }
                        role.allows(action, *data)
                    });
                    if let Some((action, _)) = hit {
                        per.entry(r)
                            .or_default()
                            .offer(*level, action, a.conditional, &reason);
                    }
                }
            }
        }
        if let Some(oid) = self.object_id.get(&p) {
            for (&v, vault) in &self.vaults {
                if vault.rbac {
                    continue;
                }
                for (who, perms) in &vault.policies {
                    if who != oid {
                        continue;
                    }
                    let reason: Arc<str> = Arc::from(format!(
                        "access policy of {} (secrets: {})",
                        vault.id,
                        perms.join(", ")
                    ));
                    let targets = std::iter::once(v).chain(
                        self.vault_of
                            .iter()
                            .filter(|(_, &vv)| vv == v)
                            .map(|(&s, _)| s),
                    );
                    for r in targets {
                        let l = per.entry(r).or_default();
                        for (level, action) in policy_levels(perms) {
                            l.offer(level, action, false, &reason);
                        }
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

    /// The managed identities `p` can act as, and with a Graph permission that
    /// takes over apps, every app.
    pub fn next(&self, p: u32) -> Vec<Hop> {
        let mut out: Vec<Hop> = Vec::new();
        if let Some(permission) = self.takeover.get(&p) {
            let how: Arc<str> =
                format!("escalation: add a credential to the app (Microsoft Graph {permission})")
                    .into();
            for &app in self.apps.iter().filter(|&&a| a != p) {
                out.push(Hop {
                    principal: app,
                    from: None,
                    how: how.clone(),
                    conditional: false,
                    potential: None,
                });
            }
        }
        for a in self.assignments.get(&p).into_iter().flatten() {
            let Some(role) = self.role(&a.role) else {
                continue;
            };
            let Some(action) = TAKE_OVER.iter().find(|t| role.allows(t, false)) else {
                continue;
            };
            for (id, r) in self.under(&a.scope) {
                for &mi in self.runs_as.get(&r).into_iter().flatten() {
                    if mi == p || out.iter().any(|h| h.principal == mi) {
                        continue;
                    }
                    out.push(Hop {
                        principal: mi,
                        from: None,
                        how: format!(
                            "{action} on {id} ({} assigned on {}): its managed identity",
                            role.role_name, a.scope
                        )
                        .into(),
                        conditional: a.conditional,
                        potential: None,
                    });
                }
            }
        }
        out
    }
}

/// Key Vault access-policy secret permissions as levels.
fn policy_levels(perms: &[String]) -> Vec<(AccessLevel, &'static str)> {
    let has = |p: &str| {
        perms
            .iter()
            .any(|x| x.eq_ignore_ascii_case(p) || x.eq_ignore_ascii_case("all"))
    };
    let mut out = Vec::new();
    if ["set", "delete", "purge", "restore"].iter().any(|p| has(p)) {
        out.push((AccessLevel::Write, "secrets/set (access policy)"));
    }
    if has("get") {
        out.push((AccessLevel::Read, "secrets/get (access policy)"));
    }
    if has("list") {
        out.push((AccessLevel::List, "secrets/list (access policy)"));
    }
    out
}
