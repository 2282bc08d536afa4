//! GitHub reach: the repositories a personal access token (classic or
//! fine-grained), a deploy key or a GitHub App installation can use, and at
//! what level, ranked like cloud resources; and the cloud identities it
//! reaches by pushing to a repository whose workflow exchanges GitHub's OIDC
//! token for them.
//!
//! - A deploy key reaches its repository: *Write* unless read-only.
//! - A classic token's scopes (`repo`, `public_repo`, `delete_repo`) apply to
//!   every repository of the organisation it was authorised for, but only as
//!   far as its owner's own access goes, which the exports do not list: the
//!   access is *conditional*.
//! - A fine-grained token or an installation has permissions
//!   (`administration`, `contents`, `actions`, `secrets`, `workflows`,
//!   `metadata`); with `repository_selection: all` they apply to every
//!   repository, otherwise to the selected ones — which the organisation
//!   listings do not name, so such a credential is reported incomplete rather
//!   than guessed. A fine-grained token is also bounded by its owner's access
//!   (conditional).
//! - Pushing to a repository runs its workflows: a credential that can write
//!   a repository's contents reaches what those workflows assume. Branch
//!   protection and the trust's ref conditions are not evaluated, so the hop
//!   is conditional.

use super::cloud::Levels;
use super::{Access, Hop};
use crate::catalog::AccessLevel;
use foldhash::HashMap;
use serde_json::{Map, Value};
use std::sync::Arc;

/// What one GitHub credential is allowed.
#[derive(Debug, Clone, Default)]
pub struct Grant {
    pub org: Option<String>,
    /// A deploy key's repository.
    pub repository: Option<String>,
    pub read_only: bool,
    /// Classic token scopes.
    pub scopes: Vec<String>,
    /// Fine-grained token and installation permissions: name → `read`/`write`/`admin`.
    pub permissions: HashMap<String, String>,
    /// `all`, `selected`, `subset`, `none`.
    pub selection: Option<String>,
    /// Bounded by a person's access (tokens), which is not exported.
    pub bounded_by_owner: bool,
}

impl Grant {
    /// From a credential node's kind and properties.
    pub fn from_node(kind: &str, props: &Map<String, Value>) -> Option<Grant> {
        let s = |k: &str| props.get(k).and_then(Value::as_str).map(str::to_string);
        let mut g = Grant {
            org: s("org"),
            selection: s("repository_selection"),
            ..Grant::default()
        };
        match kind {
            "github_deploy_key" => {
                g.repository = s("repository");
                g.read_only = props.get("read_only").and_then(Value::as_bool) != Some(false);
            }
            "github_classic_pat" => {
                g.scopes = props
                    .get("scopes")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                g.bounded_by_owner = true;
            }
            "github_fine_grained_pat" | "github_app_installation" => {
                let mut flat = Map::new();
                match props.get("permissions") {
                    Some(Value::Object(m)) => {
                        for (k, v) in m {
                            match v {
                                Value::Object(inner) => flat.extend(inner.clone()),
                                other => {
                                    flat.insert(k.clone(), other.clone());
                                }
                            }
                        }
                    }
                    _ => return None,
                }
                g.permissions = flat
                    .into_iter()
                    .filter_map(|(k, v)| Some((k, v.as_str()?.to_string())))
                    .collect();
                g.bounded_by_owner = kind == "github_fine_grained_pat";
            }
            _ => return None,
        }
        Some(g)
    }

    fn has(&self, permission: &str, at_least_write: bool) -> bool {
        self.permissions
            .get(permission)
            .is_some_and(|v| !at_least_write || matches!(v.as_str(), "write" | "admin"))
    }

    /// The levels on one repository: (level, what allows it), and whether
    /// it can push (run the repository's workflows).
    fn levels(&self, public: bool) -> (Vec<(AccessLevel, &'static str)>, bool) {
        let mut out = Vec::new();
        if self.repository.is_some() {
            if self.read_only {
                out.push((AccessLevel::Read, "git clone (read-only deploy key)"));
                return (out, false);
            }
            out.push((AccessLevel::Write, "git push (deploy key)"));
            out.push((AccessLevel::Read, "git clone (deploy key)"));
            return (out, true);
        }
        let scope = |s: &str| self.scopes.iter().any(|x| x == s);
        if scope("repo") || (public && scope("public_repo")) {
            out.push((AccessLevel::Write, "git push (scope repo)"));
            out.push((AccessLevel::Read, "git clone (scope repo)"));
            return (out, true);
        }
        if scope("delete_repo") {
            out.push((
                AccessLevel::Write,
                "delete the repository (scope delete_repo)",
            ));
        }
        if self.has("administration", true) {
            out.push((AccessLevel::PermissionsManagement, "administration: write"));
        }
        let push = self.has("contents", true);
        if push {
            out.push((AccessLevel::Write, "contents: write"));
        } else if let Some(p) = ["secrets", "actions", "workflows"]
            .iter()
            .find(|p| self.has(p, true))
        {
            out.push((
                AccessLevel::Write,
                match *p {
                    "secrets" => "secrets: write",
                    "actions" => "actions: write",
                    _ => "workflows: write",
                },
            ));
        }
        if self.has("contents", false) {
            out.push((AccessLevel::Read, "contents: read"));
        }
        if self.has("metadata", false) {
            out.push((AccessLevel::List, "metadata: read"));
        }
        (out, push || self.has("workflows", true))
    }
}

/// A repository custody knows: its full name, whether public, its resource.
#[derive(Debug, Clone)]
pub struct Repo {
    pub full_name: String,
    pub org: String,
    pub public: bool,
}

/// The GitHub slice of a [`super::Model`].
#[derive(Default)]
pub struct Github {
    pub grants: HashMap<u32, Grant>,
    /// Resource → repository.
    pub repos: HashMap<u32, Repo>,
    /// Organisation → its repositories.
    pub by_org: HashMap<String, Vec<u32>>,
    pub by_name: HashMap<String, u32>,
    /// Repository full name → the principals its workflows' OIDC tokens become
    /// (workflow path, principal).
    pub workflows: HashMap<String, Vec<(String, u32)>>,
}

impl Github {
    /// The repositories a grant applies to. A selection that is not
    /// exported (`selected`, `subset`) names none: the principal is reported
    /// incomplete instead ([`Github::unlisted`]).
    fn targets(&self, g: &Grant) -> &[u32] {
        if let Some(r) = &g.repository {
            return self
                .by_name
                .get(&r.to_ascii_lowercase())
                .map(std::slice::from_ref)
                .unwrap_or(&[]);
        }
        let Some(org) = &g.org else { return &[] };
        if !matches!(g.selection.as_deref(), None | Some("all")) {
            return &[];
        }
        self.by_org
            .get(&org.to_ascii_lowercase())
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Principals whose repositories are a selection the exports do not list.
    pub fn unlisted(&self) -> Vec<u32> {
        let mut out: Vec<u32> = self
            .grants
            .iter()
            .filter(|(_, g)| {
                g.repository.is_none()
                    && matches!(g.selection.as_deref(), Some("selected" | "subset"))
            })
            .map(|(&p, _)| p)
            .collect();
        out.sort_unstable();
        out
    }

    pub fn direct(&self, p: u32) -> Vec<Access> {
        let Some(g) = self.grants.get(&p) else {
            return Vec::new();
        };
        let reason: Arc<str> = Arc::from(if g.bounded_by_owner {
            format!(
                "{} (as far as the token owner's own access goes)",
                describe(g)
            )
        } else {
            describe(g)
        });
        // One access per visibility, shared by every repository of it.
        let template = |public: bool| {
            let mut l = Levels::default();
            for (level, why) in g.levels(public).0 {
                l.offer(level, why, g.bounded_by_owner, &reason);
            }
            l.into_access(0)
        };
        let (private, public) = (template(false), template(true));
        let mut out = Vec::new();
        for &r in self.targets(g) {
            let t = if self.repos[&r].public {
                &public
            } else {
                &private
            };
            if let Some(a) = t {
                out.push(Access {
                    resource: r,
                    ..a.clone()
                });
            }
        }
        out
    }

    pub fn next(&self, p: u32) -> Vec<Hop> {
        let Some(g) = self.grants.get(&p) else {
            return Vec::new();
        };
        let mut out: Vec<Hop> = Vec::new();
        for r in self.targets(g) {
            let repo = &self.repos[r];
            let (_, push) = g.levels(repo.public);
            if !push {
                continue;
            }
            for (wf, to) in self
                .workflows
                .get(&repo.full_name.to_ascii_lowercase())
                .into_iter()
                .flatten()
            {
                if out.iter().any(|h| h.principal == *to) {
                    continue;
                }
                out.push(Hop {
                    principal: *to,
                    from: None,
                    how: format!(
                        "push to {}: {wf} exchanges GitHub's OIDC token (branch protection not evaluated)",
                        repo.full_name
                    )
                    .into(),
                    conditional: true,
                    potential: None,
                });
            }
        }
        out
    }
}

fn describe(g: &Grant) -> String {
    if let Some(r) = &g.repository {
        return format!("deploy key of {r}");
    }
    if !g.scopes.is_empty() {
        return format!("classic token scopes {}", g.scopes.join(", "));
    }
    let mut perms: Vec<String> = g
        .permissions
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    perms.sort();
    format!(
        "permissions {} on {} repositories",
        perms.join(", "),
        g.selection.as_deref().unwrap_or("the selected")
    )
}
