//! Saved queries: the questions custody is asked most, by name
//! (`custody ask NAME`). Each is plain query text over the same language, so
//! `custody ask --show NAME` prints it to adapt.

/// A named question and the query that answers it.
pub struct Saved {
    pub name: &'static str,
    pub question: &'static str,
    /// Parameters: name, meaning, default (`None`: required; `-90d`: the date
    /// that many days before today).
    pub params: &'static [(&'static str, &'static str, Option<&'static str>)],
    pub text: &'static str,
    /// Words to find it by in a library of questions (`leavers`, `vault`…).
    pub tags: &'static [&'static str],
}

/// Location kinds that are not a secrets manager or vault.
pub const OUTSIDE_VAULTS: &str = "['file', 'git_blob', 'mcp_config', 'k8s_secret', 'terraform_state', 'dotenv', 'aws_credentials', 'aws_console_csv', 'docker_config', 'npmrc', 'gcp_key_file', 'github_actions_secret']";

pub const SAVED: &[Saved] = &[
    Saved {
        name: "outside-vaults",
        question: "Which credentials are stored outside a vault, and where?",
        params: &[],
        text: "MATCH (k:Credential)-[:STORED_IN]->(l:Location)
               WHERE l.kind IN ['file', 'git_blob', 'mcp_config', 'k8s_secret', 'terraform_state', 'dotenv', 'aws_credentials', 'aws_console_csv', 'docker_config', 'npmrc', 'gcp_key_file', 'github_actions_secret']
               RETURN k.key AS credential, k.kind AS kind, k.status AS status,
                      collect(DISTINCT l.kind) AS surfaces, count(DISTINCT l) AS places
               ORDER BY places DESC, credential LIMIT 500",
        tags: &["surfaces", "vault", "hygiene"],
    },
    Saved {
        name: "leavers-active-keys",
        question: "Which people have left while credentials of identities they own are still active?",
        params: &[],
        text: "MATCH (k:Credential)-[:AUTHENTICATES_AS]->(p:Principal)-[:OWNED_BY]->(h:Human)
               WHERE h.employment_status = 'terminated' AND k.status = 'Active'
               OPTIONAL MATCH (h)-[:REPORTS_TO]->(m:Human)
               RETURN h.key AS owner, h.termination_date AS left, m.key AS manager,
                      count(DISTINCT k) AS active_credentials, collect(DISTINCT p.key) AS principals
               ORDER BY active_credentials DESC, owner LIMIT 500",
        tags: &["leavers", "ownership", "offboarding"],
    },
    Saved {
        name: "owned-by",
        question: "What does this person own (identities, and the credentials that authenticate as them)?",
        params: &[("person", "the person's key, e.g. email:ana@corp.example", None)],
        text: "MATCH (h:Human)<-[:OWNED_BY]-(p)
               WHERE h.key = $person
               OPTIONAL MATCH (k:Credential)-[:AUTHENTICATES_AS]->(p)
               RETURN p.key AS identity, p.kind AS kind, collect(DISTINCT k.key) AS credentials
               ORDER BY identity",
        tags: &["ownership", "people"],
    },
    Saved {
        name: "surfaces",
        question: "Where does this credential live?",
        params: &[("credential", "the credential's key, e.g. aws-access-key:AKIA…", None)],
        text: "MATCH (k:Credential)-[s:STORED_IN]->(l:Location)
               WHERE k.key = $credential
               RETURN l.kind AS surface, l.key AS place, s.rule AS found_by, s.confidence AS confidence
               ORDER BY surface, place",
        tags: &["surfaces", "lineage"],
    },
    Saved {
        name: "agents",
        question: "Which AI agents and MCP servers hold credentials, and what do those authenticate as?",
        params: &[],
        text: "MATCH (a:Agent)-[:HOLDS]->(k:Credential)
               OPTIONAL MATCH (k)-[:AUTHENTICATES_AS]->(p:Principal)
               RETURN a.key AS agent, a.client AS client, collect(DISTINCT k.key) AS credentials,
                      collect(DISTINCT p.key) AS principals
               ORDER BY agent LIMIT 500",
        tags: &["ai", "mcp", "agents"],
    },
    Saved {
        name: "stale-keys",
        question: "Which active access keys have not been used since a date (or never)?",
        params: &[("before", "an ISO date (default: 90 days ago)", Some("-90d"))],
        text: "MATCH (k:aws_access_key)-[:AUTHENTICATES_AS]->(p:Principal)
               WHERE k.status = 'Active' AND (k.last_used IS NULL OR k.last_used < $before)
               OPTIONAL MATCH (p)-[:OWNED_BY]->(h:Human)
               RETURN k.key AS credential, k.created AS created, k.last_used AS last_used,
                      p.key AS principal, h.key AS owner
               ORDER BY last_used, credential LIMIT 1000",
        tags: &["aws", "stale", "usage", "hygiene"],
    },
    Saved {
        name: "most-copied",
        question: "Which credentials are copied to the most places?",
        params: &[],
        text: "MATCH (k:Credential)-[:STORED_IN]->(l:Location)
               RETURN k.key AS credential, k.kind AS kind, count(DISTINCT l) AS places,
                      collect(DISTINCT l.kind) AS surfaces
               ORDER BY places DESC, credential LIMIT 100",
        tags: &["surfaces", "reuse", "blast radius"],
    },
    Saved {
        name: "in-git-history",
        question: "Which credentials were found in git history, and in which repositories?",
        params: &[],
        text: "MATCH (k:Credential)-[:STORED_IN]->(l:Location)
               WHERE l.kind = 'git_blob'
               RETURN k.key AS credential, k.kind AS kind, k.status AS status, l.key AS place
               ORDER BY credential, place LIMIT 1000",
        tags: &["git", "leak", "surfaces"],
    },
    Saved {
        name: "mcp-config-credentials",
        question: "Which credentials sit in MCP client configs (Claude Desktop, Cursor, VS Code)?",
        params: &[],
        text: "MATCH (k:Credential)-[:STORED_IN]->(l:Location)
               WHERE l.kind = 'mcp_config'
               RETURN k.key AS credential, k.kind AS kind, l.key AS config
               ORDER BY credential LIMIT 1000",
        tags: &["ai", "mcp", "agents", "surfaces"],
    },
    Saved {
        name: "ci-secrets",
        question: "Which credentials are stored as CI secrets (GitHub Actions)?",
        params: &[],
        text: "MATCH (k:Credential)-[:STORED_IN]->(l:Location)
               WHERE l.kind = 'github_actions_secret'
               RETURN k.key AS credential, k.kind AS kind, l.key AS secret
               ORDER BY credential LIMIT 1000",
        tags: &["ci", "github", "oidc", "migration"],
    },
    Saved {
        name: "kubernetes-secrets",
        question: "Which credentials are stored in Kubernetes Secrets?",
        params: &[],
        text: "MATCH (k:Credential)-[:STORED_IN]->(l:Location)
               WHERE l.kind = 'k8s_secret'
               RETURN k.key AS credential, k.kind AS kind, l.key AS secret, l.environment AS environment
               ORDER BY credential LIMIT 1000",
        tags: &["kubernetes", "surfaces", "irsa", "migration"],
    },
    Saved {
        name: "role-chains",
        question: "Which principals can assume which roles (role chaining and federation)?",
        params: &[],
        text: "MATCH (a:Principal)-[:CAN_ASSUME]->(b:Principal)
               RETURN a.key AS principal, a.kind AS kind, b.key AS can_assume
               ORDER BY principal, can_assume LIMIT 1000",
        tags: &["aws", "roles", "federation", "blast radius"],
    },
    Saved {
        name: "cross-cloud-keys",
        question: "Which AWS access keys can read secrets in Azure Key Vault and also reach Google Cloud resources, widest blast radius first?",
        params: &[],
        text: "MATCH (k:aws_access_key)-[v:REACHES]->(s:azure_key_vault_secret)
               WHERE v.access IN ['Read', 'Write', 'Permissions management']
               MATCH (k)-[g:REACHES]->(r:Resource) WHERE r.kind STARTS WITH 'gcp_'
               RETURN k.key AS credential, count(DISTINCT s) AS key_vault_secrets,
                      count(DISTINCT r) AS gcp_resources, max(g.blast_score) AS blast_score,
                      collect(DISTINCT s.name) AS secrets
               ORDER BY blast_score DESC, credential LIMIT 1000",
        tags: &["aws", "azure", "gcp", "cross-cloud", "blast radius", "key vault"],
    },
    Saved {
        name: "reports-of",
        question: "Who reports to this manager, and are they still employed?",
        params: &[("manager", "the manager's key, e.g. email:ana@corp.example", None)],
        text: "MATCH (h:Human)-[:REPORTS_TO]->(m:Human)
               WHERE m.key = $manager
               RETURN h.key AS person, h.name AS name, h.employment_status AS status,
                      h.termination_date AS left
               ORDER BY person",
        tags: &["people", "leavers", "offboarding"],
    },
    Saved {
        name: "group-members",
        question: "Who belongs to this group or team?",
        params: &[("group", "the group's key or name", None)],
        text: "MATCH (h:Human)-[:MEMBER_OF]->(g:Group)
               WHERE g.key = $group OR g.name = $group
               RETURN h.key AS person, h.name AS name, h.employment_status AS status
               ORDER BY person",
        tags: &["people", "groups", "ownership"],
    },
    Saved {
        name: "terminated-people",
        question: "Which people have left, and who was their manager?",
        params: &[],
        text: "MATCH (h:Human)
               WHERE h.employment_status = 'terminated'
               OPTIONAL MATCH (h)-[:REPORTS_TO]->(m:Human)
               RETURN h.key AS person, h.termination_date AS left, m.key AS manager
               ORDER BY left DESC, person LIMIT 1000",
        tags: &["people", "leavers", "offboarding"],
    },
];

pub fn find(name: &str) -> Option<&'static Saved> {
    SAVED.iter().find(|s| s.name == name)
}

/// A saved question's default: `-90d` is the date 90 days before today
/// (`YYYY-MM-DD`); anything else is the value itself.
pub fn default_value(d: &str) -> String {
    default_value_on(d, chrono::Utc::now().date_naive())
}

/// [`default_value`] counted from `today` instead of the clock (`--as-of`).
pub fn default_value_on(d: &str, today: chrono::NaiveDate) -> String {
    match d.strip_prefix('-').and_then(|x| x.strip_suffix('d')) {
        Some(days) => {
            let days: i64 = days.parse().unwrap_or(90);
            (today - chrono::Duration::days(days))
                .format("%Y-%m-%d")
                .to_string()
        }
        None => d.to_string(),
    }
}

/// Fills in the defaults of the parameters `given` leaves out; a required
/// parameter left out is an error naming it and what it means.
pub fn bind(
    saved: &Saved,
    mut given: serde_json::Map<String, serde_json::Value>,
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    for (p, meaning, default) in saved.params {
        if !given.contains_key(*p) {
            match default {
                Some(d) => {
                    given.insert(p.to_string(), serde_json::Value::String(default_value(d)));
                }
                None => {
                    return Err(format!(
                        "`{}` needs the parameter `{p}` ({meaning})",
                        saved.name
                    ))
                }
            }
        }
    }
    Ok(given)
}

/// The names of every saved question, for error messages.
pub fn names() -> String {
    SAVED.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_saved_query_parses_and_declares_its_parameters() {
        for s in SAVED {
            crate::parse(s.text).unwrap_or_else(|e| panic!("{}: {e}", s.name));
            for (p, _, _) in s.params {
                assert!(s.text.contains(&format!("${p}")), "{}: ${p} unused", s.name);
            }
        }
        assert!(SAVED[0]
            .text
            .contains(OUTSIDE_VAULTS.trim_matches(['[', ']'])));
    }
}
