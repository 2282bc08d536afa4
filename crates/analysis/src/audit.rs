//! Per-policy risk findings, the questions `cloudsplaining scan` asks of every
//! policy in an authorization-details export, answered with custody's evaluator:
//! which actions does the policy allow on *any* resource (`Resource: "*"`), and
//! what does that allow?
//!
//! - **Privilege escalation**: every action of a [`TECHNIQUES`] entry is allowed
//!   unconstrained (conditional statements count, as in cloudsplaining).
//! - **Data exfiltration**: [`DATA_EXFILTRATION_ACTIONS`] allowed unconstrained.
//! - **Resource exposure**: *Permissions management* actions that could be
//!   restricted to resources but are allowed on `*` without a condition.
//! - **Infrastructure modification**: the same for *Write*, *Permissions
//!   management* and *Tagging* actions.
//!
//! Unlike a per-statement reading, denies subtract exactly what they deny (a
//! `Deny` on some resources does not remove an action allowed on `*`), and an
//! `Allow` with `NotResource` counts as unconstrained. Differences from
//! cloudsplaining are listed in `docs/IAM-ANALYSIS.md`.

use crate::catalog::{AccessLevel, Catalog};
use crate::escalation::{Technique, TECHNIQUES};
use crate::eval::{evaluate, Context, PolicySet, Request};
use crate::pattern::{action_matches, resource_matches};
use crate::policy::{Effect, Match, Policy};
use std::collections::{BTreeSet, HashMap};

/// Read-only actions that expose data when allowed on every resource.
pub const DATA_EXFILTRATION_ACTIONS: &[&str] = &[
    "s3:GetObject",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
    "secretsmanager:GetSecretValue",
];

/// Policy names (or `/path/name`) excluded by default, as cloudsplaining's
/// default exclusions: AWS service-linked and service-role policies, and
/// AdministratorAccess (admin by design).
pub const DEFAULT_EXCLUDED_POLICIES: &[&str] = &[
    "AWSServiceRoleFor*",
    "*ServiceRolePolicy",
    "*ServiceLinkedRolePolicy",
    "AdministratorAccess",
    "service-role*",
    "aws-service-role*",
    "/service-role*",
    "/aws-service-role*",
];

/// Is a policy excluded by default? `path` is the IAM path (`/service-role/`).
pub fn excluded_by_default(name: &str, path: &str) -> bool {
    let full = format!("{}{name}", path);
    DEFAULT_EXCLUDED_POLICIES
        .iter()
        .any(|p| action_matches(p, name) || action_matches(p, &full))
}

/// What one policy allows on any resource, by risk.
#[derive(Debug, Clone, Default)]
pub struct PolicyFindings {
    /// Technique ids, in [`TECHNIQUES`] order.
    pub privilege_escalation: Vec<&'static Technique>,
    pub data_exfiltration: Vec<String>,
    pub resource_exposure: Vec<String>,
    pub infrastructure_modification: Vec<String>,
    /// True when some finding rests on a statement with a condition.
    pub conditional: bool,
}

impl PolicyFindings {
    pub fn is_empty(&self) -> bool {
        self.privilege_escalation.is_empty()
            && self.data_exfiltration.is_empty()
            && self.resource_exposure.is_empty()
            && self.infrastructure_modification.is_empty()
    }
}

/// Expands action patterns against the catalogue, remembering each pattern.
pub struct Auditor {
    catalog: &'static Catalog,
    expanded: HashMap<String, Vec<u32>>,
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl Default for Auditor {
    fn default() -> Self {
        Auditor::new()
    }
}

impl Auditor {
    pub fn new() -> Auditor {
        let catalog = Catalog::builtin();
        let names: Vec<String> = catalog.iter().map(|a| a.qualified()).collect();
        let index = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.to_ascii_lowercase(), i as u32))
            .collect();
        Auditor {
            catalog,
            expanded: HashMap::new(),
            names,
            index,
        }
    }

    fn expand(&mut self, pattern: &str) -> &[u32] {
        if !self.expanded.contains_key(pattern) {
            let list: Vec<u32> = self
                .catalog
                .expand(pattern)
                .iter()
                .filter_map(|a| self.index.get(&a.qualified().to_ascii_lowercase()).copied())
                .collect();
            self.expanded.insert(pattern.to_string(), list);
        }
        &self.expanded[pattern]
    }

    /// The catalogued actions `policy` allows on any resource: (action index, conditional).
    fn unconstrained(&mut self, policy: &Policy) -> Vec<(u32, bool)> {
        let mut candidates: BTreeSet<(u32, bool)> = BTreeSet::new();
        for s in &policy.statements {
            if s.effect != Effect::Allow {
                continue;
            }
            let any_resource = match &s.resources {
                None => true,
                Some(Match::Only(list)) => list.iter().any(|p| resource_matches(p, "*")),
                Some(Match::Not(list)) => !list.iter().any(|p| resource_matches(p, "*")),
            };
            if !any_resource {
                continue;
            }
            let conditional = !s.conditions.is_empty();
            match &s.actions {
                Match::Only(list) => {
                    for p in list {
                        let ix: Vec<u32> = self.expand(p).to_vec();
                        candidates.extend(ix.into_iter().map(|i| (i, conditional)));
                    }
                }
                Match::Not(list) => {
                    let mut excluded = std::collections::HashSet::new();
                    for p in list {
                        excluded.extend(self.expand(p).iter().copied());
                    }
                    candidates.extend(
                        (0..self.names.len() as u32)
                            .filter(|i| !excluded.contains(i))
                            .map(|i| (i, conditional)),
                    );
                }
            }
        }
        // The same action may come unconditionally and conditionally: keep the stronger.
        let mut best: HashMap<u32, bool> = HashMap::new();
        for (i, c) in candidates {
            let e = best.entry(i).or_insert(c);
            *e = *e && c;
        }
        let has_deny = policy.statements.iter().any(|s| s.effect == Effect::Deny);
        if !has_deny {
            return best.into_iter().collect();
        }
        // Denies: ask the evaluator, with a resource only `*` patterns match.
        let set = PolicySet {
            identity: vec![policy],
            ..Default::default()
        };
        let ctx = Context::new();
        best.into_iter()
            .filter_map(|(i, c)| {
                let d = evaluate(
                    &set,
                    &Request {
                        principal: "arn:aws:iam::000000000000:user/custody-audit",
                        action: &self.names[i as usize],
                        resource: "*",
                        context: &ctx,
                    },
                );
                d.allowed().then_some((i, c || d.conditional))
            })
            .collect()
    }

    /// The findings of one policy document.
    pub fn audit(&mut self, policy: &Policy) -> PolicyFindings {
        let allowed = self.unconstrained(policy);
        let mut out = PolicyFindings::default();
        let by_name: HashMap<String, bool> = allowed
            .iter()
            .map(|&(i, c)| (self.names[i as usize].to_ascii_lowercase(), c))
            .collect();
        for t in TECHNIQUES {
            let hits: Option<Vec<bool>> = t
                .actions
                .iter()
                .map(|(a, _)| by_name.get(&a.to_ascii_lowercase()).copied())
                .collect();
            if let Some(hits) = hits {
                out.conditional |= hits.iter().any(|c| *c);
                out.privilege_escalation.push(t);
            }
        }
        for a in DATA_EXFILTRATION_ACTIONS {
            if let Some(&c) = by_name.get(&a.to_ascii_lowercase()) {
                out.conditional |= c;
                out.data_exfiltration.push(a.to_string());
            }
        }
        let mut sorted: Vec<&(u32, bool)> = allowed.iter().filter(|(_, c)| !c).collect();
        sorted.sort();
        for &&(i, _) in &sorted {
            let Some(info) = self.catalog.at(i as usize) else {
                continue;
            };
            if info.resource_types.is_empty() {
                continue; // cannot be restricted to a resource: not a finding
            }
            let name = self.names[i as usize].clone();
            match info.level {
                AccessLevel::PermissionsManagement => {
                    out.resource_exposure.push(name.clone());
                    out.infrastructure_modification.push(name);
                }
                AccessLevel::Write | AccessLevel::Tagging => {
                    out.infrastructure_modification.push(name)
                }
                _ => {}
            }
        }
        out.resource_exposure.sort();
        out.infrastructure_modification.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn audit(doc: serde_json::Value) -> PolicyFindings {
        Auditor::new().audit(&Policy::from_value(&doc).unwrap())
    }

    fn ids(f: &PolicyFindings) -> Vec<&'static str> {
        f.privilege_escalation.iter().map(|t| t.id).collect()
    }

    #[test]
    fn wildcard_resources_make_findings_and_arns_do_not() {
        let f = audit(json!({"Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"},
            {"Effect": "Allow", "Action": "iam:CreateAccessKey", "Resource": "arn:aws:iam::1:user/me"}]}));
        assert_eq!(f.data_exfiltration, vec!["s3:GetObject"]);
        assert_eq!(f.infrastructure_modification, vec!["s3:PutObject"]);
        assert!(f.resource_exposure.is_empty());
        assert!(ids(&f).is_empty());
    }

    #[test]
    fn escalation_needs_every_action_and_denies_subtract() {
        let f = audit(
            json!({"Statement": [{"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances", "iam:PutUserPolicy"], "Resource": "*"}]}),
        );
        assert!(ids(&f).contains(&"passrole-ec2"));
        assert!(ids(&f).contains(&"put-user-policy"));
        assert!(f
            .resource_exposure
            .contains(&"iam:PutUserPolicy".to_string()));
        let f = audit(json!({"Statement": [
            {"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"}]}));
        assert!(ids(&f).is_empty());
        // A deny on one resource leaves the action allowed on others.
        let f = audit(json!({"Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::payroll/*"}]}));
        assert_eq!(f.data_exfiltration, vec!["s3:GetObject"]);
    }

    #[test]
    fn conditions_count_for_escalation_but_not_for_modification() {
        let f = audit(
            json!({"Statement": [{"Effect": "Allow", "Action": ["iam:CreateAccessKey", "s3:PutObject"], "Resource": "*",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}),
        );
        assert_eq!(ids(&f), vec!["create-access-key"]);
        assert!(f.conditional);
        assert!(f.infrastructure_modification.is_empty());
    }

    #[test]
    fn not_action_expands_to_everything_else() {
        let f = audit(
            json!({"Statement": [{"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}]}),
        );
        assert!(ids(&f).contains(&"update-function-code"));
        assert!(!ids(&f).contains(&"create-access-key"));
        assert!(f
            .data_exfiltration
            .contains(&"secretsmanager:GetSecretValue".to_string()));
    }

    #[test]
    fn default_exclusions_match_names_and_paths() {
        assert!(excluded_by_default("AdministratorAccess", "/"));
        assert!(excluded_by_default("AWSServiceRoleForSupportPolicy", "/"));
        assert!(excluded_by_default(
            "AWSLambdaBasicExecutionRole",
            "/service-role/"
        ));
        assert!(!excluded_by_default("ReadOnlyAccess", "/"));
    }
}
