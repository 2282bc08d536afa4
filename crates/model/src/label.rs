//! Node labels and edge types of the Identity Lineage graph (see `docs/DESIGN.md`).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a node is. Every identity (credential, principal, agent) is the subject;
/// every other label is a place, a person or a thing it touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Label {
    /// Secret material or its handle: access key, token, API key, certificate…
    Credential,
    /// What a credential authenticates as: IAM user/role, service account…
    Principal,
    /// An AI agent or MCP server holding credentials.
    Agent,
    /// A workforce identity.
    Human,
    /// An IdP group, IAM group or team.
    Group,
    /// Where secret material is stored.
    Location,
    /// What consumes a credential.
    Workload,
    /// What can be reached (bucket, database, policy, repo…).
    Resource,
    /// A posture finding.
    Finding,
    /// A usage anomaly.
    Alert,
}

impl Label {
    pub const ALL: [Label; 10] = [
        Label::Credential,
        Label::Principal,
        Label::Agent,
        Label::Human,
        Label::Group,
        Label::Location,
        Label::Workload,
        Label::Resource,
        Label::Finding,
        Label::Alert,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Label::Credential => "Credential",
            Label::Principal => "Principal",
            Label::Agent => "Agent",
            Label::Human => "Human",
            Label::Group => "Group",
            Label::Location => "Location",
            Label::Workload => "Workload",
            Label::Resource => "Resource",
            Label::Finding => "Finding",
            Label::Alert => "Alert",
        }
    }

    /// Credentials, principals and agents are the non-human identities (`Identity:*`).
    pub fn is_identity(self) -> bool {
        matches!(self, Label::Credential | Label::Principal | Label::Agent)
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Label {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.strip_prefix("Identity:").unwrap_or(s);
        Label::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<_> = Label::ALL.iter().map(|l| l.as_str()).collect();
                format!(
                    "unknown label `{s}` (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

/// A relationship type between two nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EdgeKind {
    AuthenticatesAs,
    StoredIn,
    UsedBy,
    RunsAs,
    CanAssume,
    CanAccess,
    OwnedBy,
    CreatedBy,
    ApprovedBy,
    MemberOf,
    ReportsTo,
    DefinedIn,
    Holds,
    HasFinding,
    Raised,
    /// A principal or group has a policy attached (managed) or embedded (inline).
    HasPolicy,
}

impl EdgeKind {
    pub const ALL: [EdgeKind; 16] = [
        EdgeKind::AuthenticatesAs,
        EdgeKind::StoredIn,
        EdgeKind::UsedBy,
        EdgeKind::RunsAs,
        EdgeKind::CanAssume,
        EdgeKind::CanAccess,
        EdgeKind::OwnedBy,
        EdgeKind::CreatedBy,
        EdgeKind::ApprovedBy,
        EdgeKind::MemberOf,
        EdgeKind::ReportsTo,
        EdgeKind::DefinedIn,
        EdgeKind::Holds,
        EdgeKind::HasFinding,
        EdgeKind::Raised,
        EdgeKind::HasPolicy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::AuthenticatesAs => "AUTHENTICATES_AS",
            EdgeKind::StoredIn => "STORED_IN",
            EdgeKind::UsedBy => "USED_BY",
            EdgeKind::RunsAs => "RUNS_AS",
            EdgeKind::CanAssume => "CAN_ASSUME",
            EdgeKind::CanAccess => "CAN_ACCESS",
            EdgeKind::OwnedBy => "OWNED_BY",
            EdgeKind::CreatedBy => "CREATED_BY",
            EdgeKind::ApprovedBy => "APPROVED_BY",
            EdgeKind::MemberOf => "MEMBER_OF",
            EdgeKind::ReportsTo => "REPORTS_TO",
            EdgeKind::DefinedIn => "DEFINED_IN",
            EdgeKind::Holds => "HOLDS",
            EdgeKind::HasFinding => "HAS_FINDING",
            EdgeKind::Raised => "RAISED",
            EdgeKind::HasPolicy => "HAS_POLICY",
        }
    }
}

impl fmt::Display for EdgeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EdgeKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EdgeKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown edge type `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_edges_round_trip_through_text() {
        for l in Label::ALL {
            assert_eq!(l.as_str().parse::<Label>().unwrap(), l);
        }
        assert_eq!(
            "Identity:Credential".parse::<Label>().unwrap(),
            Label::Credential
        );
        for k in EdgeKind::ALL {
            assert_eq!(k.as_str().parse::<EdgeKind>().unwrap(), k);
        }
        assert!("Nope"
            .parse::<Label>()
            .unwrap_err()
            .contains("expected one of"));
    }
}
