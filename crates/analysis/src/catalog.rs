//! The IAM action catalogue: every action of every AWS service with its access
//! level and resource types, shipped as data (`data/iam-actions.csv`; origin and
//! license in `data/README.md`).

use crate::pattern::action_matches;
use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

const DATA: &str = include_str!("../data/iam-actions.csv");

/// AWS's access levels, ordered by how much harm the action can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccessLevel {
    List,
    Read,
    Tagging,
    Write,
    PermissionsManagement,
}

impl AccessLevel {
    pub fn parse(s: &str) -> Option<AccessLevel> {
        match s.trim() {
            "List" => Some(AccessLevel::List),
            "Read" => Some(AccessLevel::Read),
            "Tagging" => Some(AccessLevel::Tagging),
            "Write" => Some(AccessLevel::Write),
            "Permissions management" => Some(AccessLevel::PermissionsManagement),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AccessLevel::List => "List",
            AccessLevel::Read => "Read",
            AccessLevel::Tagging => "Tagging",
            AccessLevel::Write => "Write",
            AccessLevel::PermissionsManagement => "Permissions management",
        }
    }
}

impl fmt::Display for AccessLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One IAM action.
#[derive(Debug, Clone)]
pub struct ActionInfo {
    pub service: &'static str,
    pub name: &'static str,
    pub level: AccessLevel,
    pub resource_types: Vec<&'static str>,
}

impl ActionInfo {
    /// `service:Action`.
    pub fn qualified(&self) -> String {
        format!("{}:{}", self.service, self.name)
    }
}

pub struct Catalog {
    actions: Vec<ActionInfo>,
    by_name: HashMap<String, usize>,
    by_service: HashMap<String, Vec<usize>>,
}

impl Catalog {
    /// The catalogue shipped with custody, parsed once.
    pub fn builtin() -> &'static Catalog {
        static C: OnceLock<Catalog> = OnceLock::new();
        C.get_or_init(|| Catalog::parse(DATA))
    }

    /// Parses `service_prefix,action,access_level,resource_types` rows; rows that do
    /// not fit are skipped (the shipped file is checked by a test).
    pub fn parse(data: &'static str) -> Catalog {
        let mut actions = Vec::new();
        for line in data.lines().skip(1) {
            let mut f = line.splitn(4, ',');
            let (Some(service), Some(name), Some(level)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            let Some(level) = AccessLevel::parse(level) else {
                continue;
            };
            let resource_types = f
                .next()
                .unwrap_or("")
                .split(';')
                .filter(|t| !t.is_empty())
                .collect();
            actions.push(ActionInfo {
                service,
                name,
                level,
                resource_types,
            });
        }
        let mut by_name = HashMap::with_capacity(actions.len());
        let mut by_service: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, a) in actions.iter().enumerate() {
            by_name.insert(format!("{}:{}", a.service, a.name).to_ascii_lowercase(), i);
            by_service
                .entry(a.service.to_ascii_lowercase())
                .or_default()
                .push(i);
        }
        Catalog {
            actions,
            by_name,
            by_service,
        }
    }

    pub fn len(&self) -> usize {
        self.actions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    pub fn services(&self) -> usize {
        self.by_service.len()
    }

    /// One action by name (`s3:GetObject`, any case).
    pub fn get(&self, action: &str) -> Option<&ActionInfo> {
        self.by_name
            .get(&action.to_ascii_lowercase())
            .map(|&i| &self.actions[i])
    }

    /// Every catalogued action a pattern (`s3:Get*`, `*`, `iam:*AccessKey*`) matches.
    pub fn expand(&self, pattern: &str) -> Vec<&ActionInfo> {
        let (service, _) = pattern.split_once(':').unwrap_or((pattern, ""));
        let candidates: Box<dyn Iterator<Item = &ActionInfo>> = if service.contains(['*', '?']) {
            Box::new(self.actions.iter())
        } else {
            match self.by_service.get(&service.to_ascii_lowercase()) {
                Some(ix) => Box::new(ix.iter().map(|&i| &self.actions[i])),
                None => Box::new(std::iter::empty()),
            }
        };
        candidates
            .filter(|a| {
                let q = a.qualified();
                action_matches(pattern, &q)
            })
            .collect()
    }

    /// The `i`-th action, in [`Catalog::iter`] order.
    pub fn at(&self, i: usize) -> Option<&ActionInfo> {
        self.actions.get(i)
    }

    /// Every action.
    pub fn iter(&self) -> impl Iterator<Item = &ActionInfo> {
        self.actions.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalogue_is_complete_and_parses() {
        let c = Catalog::builtin();
        assert_eq!(c.len(), 20_455, "every row of data/iam-actions.csv parses");
        assert_eq!(c.services(), 445);
        let pass = c.get("IAM:passrole").unwrap();
        assert_eq!(pass.level, AccessLevel::PermissionsManagement);
        assert_eq!(pass.resource_types, vec!["role"]);
        assert_eq!(c.get("s3:GetObject").unwrap().level, AccessLevel::Read);
        assert!(c.get("s3:NoSuchAction").is_none());
    }

    #[test]
    fn patterns_expand_to_catalogued_actions() {
        let c = Catalog::builtin();
        let keys: Vec<String> = c
            .expand("iam:*AccessKey*")
            .iter()
            .map(|a| a.qualified())
            .collect();
        assert!(keys.contains(&"iam:CreateAccessKey".to_string()));
        assert!(keys.contains(&"iam:DeleteAccessKey".to_string()));
        assert!(keys
            .iter()
            .all(|k| k.to_ascii_lowercase().contains("accesskey")));
        assert_eq!(c.expand("*").len(), c.len());
        assert!(c.expand("nosuchservice:*").is_empty());
        assert!(c.expand("s3:*").len() > 100);
    }
}
