//! Every shipped rule fires on its positive case and not on its negative one,
//! on one small graph that holds both for each.

use super::*;
use custody_query::{EdgeData, MemGraph, NodeData};
use serde_json::json;
use std::collections::BTreeSet;

struct Fixture {
    nodes: Vec<NodeData>,
    edges: Vec<EdgeData>,
}

impl Fixture {
    fn node(&mut self, label: &str, kind: &str, key: &str, props: Value) -> i64 {
        let id = self.nodes.len() as i64 + 1;
        self.nodes.push(NodeData {
            id,
            label: label.into(),
            kind: kind.into(),
            system: "test".into(),
            key: key.into(),
            name: None,
            keys: vec![key.into()],
            props: props.as_object().cloned().unwrap_or_default().into(),
        });
        id
    }

    fn edge(&mut self, from: i64, kind: &str, to: i64, props: Value) {
        self.edges.push(EdgeData {
            id: self.edges.len() as i64 + 1,
            kind: kind.into(),
            from,
            to,
            props: props.as_object().cloned().unwrap_or_default().into(),
        });
    }

    fn key(&mut self, name: &str, props: Value) -> i64 {
        self.node(
            "Credential",
            "aws_access_key",
            &format!("aws-access-key:{name}"),
            props,
        )
    }

    fn place(&mut self, kind: &str, key: &str) -> i64 {
        self.node("Location", kind, key, json!({}))
    }
}

const OLD: &str = "2020-01-01T00:00:00Z";

fn fixture() -> MemGraph {
    let recent = custody_query::saved::default_value("-10d");
    let mut f = Fixture {
        nodes: Vec::new(),
        edges: Vec::new(),
    };
    let active_recent = json!({"status": "Active", "created": recent, "last_used": recent});
    let left = f.node(
        "Human",
        "employee",
        "email:left@corp.example",
        json!({"employment_status": "terminated", "termination_date": "2026-10-01"}),
    );
    let boss = f.node(
        "Human",
        "employee",
        "email:boss@corp.example",
        json!({"employment_status": "active"}),
    );
    let stays = f.node(
        "Human",
        "employee",
        "email:stays@corp.example",
        json!({"employment_status": "active"}),
    );
    f.edge(left, "REPORTS_TO", boss, json!({}));

    // owner-left: a key of a user owned by a leaver (positive), an inactive
    // one of the same user and an active one of a user owned by someone who
    // stays (negatives).
    let leaver_user = f.node(
        "Principal",
        "aws_iam_user",
        "arn:aws:iam::111122223333:user/svc-export",
        json!({}),
    );
    f.edge(leaver_user, "OWNED_BY", left, json!({}));
    let k = f.key("LEAVERKEY", active_recent.clone());
    f.edge(k, "AUTHENTICATES_AS", leaver_user, json!({}));
    let k = f.key(
        "LEAVERINACTIVE",
        json!({"status": "Inactive", "created": recent, "last_used": recent}),
    );
    f.edge(k, "AUTHENTICATES_AS", leaver_user, json!({}));
    let staying_user = f.node(
        "Principal",
        "aws_iam_user",
        "arn:aws:iam::111122223333:user/svc-report",
        json!({}),
    );
    f.edge(staying_user, "OWNED_BY", stays, json!({}));
    let k = f.key("STAYERKEY", active_recent.clone());
    f.edge(k, "AUTHENTICATES_AS", staying_user, json!({}));

    // secret-in-git-history, secret-outside-vault, ci-static-cloud-key,
    // credential-reused: one key in git, a K8s Secret and an Actions secret;
    // another only in Secrets Manager.
    let spread = f.key("SPREADKEY", active_recent.clone());
    f.edge(spread, "AUTHENTICATES_AS", staying_user, json!({}));
    let git = f.place("git_blob", "git://github.com/corp/app@abc/.env#L1");
    let k8s = f.place("k8s_secret", "k8s://prod/default/secret/app#AWS_KEY");
    let gha = f.place(
        "github_actions_secret",
        "github://corp/app/actions/secrets/AWS",
    );
    for l in [git, k8s, gha] {
        f.edge(spread, "STORED_IN", l, json!({}));
    }
    let vaulted = f.key("VAULTEDKEY", active_recent.clone());
    f.edge(vaulted, "AUTHENTICATES_AS", staying_user, json!({}));
    let sm = f.place(
        "aws_secretsmanager_secret",
        "secretsmanager://arn:aws:secretsmanager:us-east-1:111122223333:secret:app#KEY",
    );
    f.edge(vaulted, "STORED_IN", sm, json!({}));

    // oidc-trust-without-subject: two roles trusting the GitHub provider, one
    // pinned to a repository.
    let idp = f.node(
        "Principal",
        "aws_oidc_provider",
        "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com",
        json!({}),
    );
    let open = f.node(
        "Principal",
        "aws_iam_role",
        "arn:aws:iam::111122223333:role/deploy-any-repo",
        json!({}),
    );
    let pinned = f.node(
        "Principal",
        "aws_iam_role",
        "arn:aws:iam::111122223333:role/deploy-app",
        json!({}),
    );
    f.edge(
        idp,
        "CAN_ASSUME",
        open,
        json!({"trusted": "identity-provider", "subject_pinned": false}),
    );
    f.edge(
        idp,
        "CAN_ASSUME",
        pinned,
        json!({"trusted": "identity-provider", "subject_pinned": true}),
    );

    // admin-credential: AdministratorAccess through a group (positive), a
    // read-only user (negative).
    let admin_policy = f.node(
        "Resource",
        "aws_iam_policy",
        "arn:aws:iam::aws:policy/AdministratorAccess",
        json!({}),
    );
    let ro_policy = f.node(
        "Resource",
        "aws_iam_policy",
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
        json!({}),
    );
    let admins = f.node(
        "Group",
        "aws_iam_group",
        "arn:aws:iam::111122223333:group/admins",
        json!({}),
    );
    f.edge(admins, "HAS_POLICY", admin_policy, json!({}));
    let ops = f.node(
        "Principal",
        "aws_iam_user",
        "arn:aws:iam::111122223333:user/svc-ops",
        json!({}),
    );
    f.edge(ops, "MEMBER_OF", admins, json!({}));
    let k = f.key("ADMINKEY", active_recent.clone());
    f.edge(k, "AUTHENTICATES_AS", ops, json!({}));
    let reader = f.node(
        "Principal",
        "aws_iam_user",
        "arn:aws:iam::111122223333:user/svc-reader",
        json!({}),
    );
    f.edge(reader, "HAS_POLICY", ro_policy, json!({}));
    let k = f.key("READERKEY", active_recent.clone());
    f.edge(k, "AUTHENTICATES_AS", reader, json!({}));

    // key-not-rotated and unused-active-key: an old key never used, and an
    // old key used yesterday; an old key that is inactive.
    let k = f.key("OLDUNUSED", json!({"status": "Active", "created": OLD}));
    f.edge(k, "AUTHENTICATES_AS", staying_user, json!({}));
    let k = f.key(
        "OLDBUSY",
        json!({"status": "Active", "created": OLD, "last_used": recent}),
    );
    f.edge(k, "AUTHENTICATES_AS", staying_user, json!({}));
    let k = f.key("OLDINACTIVE", json!({"status": "Inactive", "created": OLD}));
    f.edge(k, "AUTHENTICATES_AS", staying_user, json!({}));

    // third-party-trust-without-external-id: a role trusting a vendor's
    // account bare (positive); one requiring an ExternalId and one trusting an
    // account of the organization (negatives).
    let ou = f.node(
        "Group",
        "aws_organizations_unit",
        "id:aws-ou/ou-1",
        json!({}),
    );
    let sibling = f.node(
        "Principal",
        "aws_root_user",
        "arn:aws:iam::444455556666:root",
        json!({}),
    );
    f.edge(sibling, "MEMBER_OF", ou, json!({}));
    let vendor = f.node(
        "Principal",
        "aws_root_user",
        "arn:aws:iam::999988887777:root",
        json!({}),
    );
    for (name, from, external_id) in [
        ("vendor-open", vendor, false),
        ("vendor-guarded", vendor, true),
        ("sibling-access", sibling, false),
    ] {
        let role = f.node(
            "Principal",
            "aws_iam_role",
            &format!("arn:aws:iam::111122223333:role/{name}"),
            json!({}),
        );
        f.edge(
            from,
            "CAN_ASSUME",
            role,
            json!({"trusted": "account", "cross_account": true, "external_id": external_id}),
        );
    }

    // password-login-without-mfa, interactive-login-as-service-user: users
    // with active keys and console passwords; root-access-key.
    for (name, pw, mfa, key_status) in [
        ("svc-nomfa", json!(OLD), false, "Active"),
        ("svc-shared", json!(recent), true, "Active"),
        ("svc-glass", json!(recent), true, "Inactive"),
    ] {
        let u = f.node(
            "Principal",
            "aws_iam_user",
            &format!("arn:aws:iam::111122223333:user/{name}"),
            json!({"password_enabled": true, "password_last_used": pw, "mfa_active": mfa}),
        );
        let k = f.key(
            &format!("{name}-KEY"),
            json!({"status": key_status, "created": recent, "last_used": recent}),
        );
        f.edge(k, "AUTHENTICATES_AS", u, json!({}));
    }
    let root = f.node(
        "Principal",
        "aws_root_user",
        "arn:aws:iam::111122223333:root",
        json!({}),
    );
    let k = f.key("ROOTKEY", active_recent.clone());
    f.edge(k, "AUTHENTICATES_AS", root, json!({}));
    let k = f.key(
        "ROOTOLD",
        json!({"status": "Inactive", "created": recent, "last_used": recent}),
    );
    f.edge(k, "AUTHENTICATES_AS", sibling, json!({}));

    // credential-across-environments: one key in a prod and a staging secret;
    // another in two production places.
    let prod = |f: &mut Fixture, key: &str, env: &str| {
        f.node(
            "Location",
            "aws_secretsmanager_secret",
            key,
            json!({"environment": env}),
        )
    };
    let p1 = prod(&mut f, "secretsmanager://app/prod", "production");
    let p2 = prod(&mut f, "k8s://prod/app", "production");
    let s1 = prod(&mut f, "secretsmanager://app/staging", "non-production");
    let both = f.key("BOTHENVS", active_recent.clone());
    f.edge(both, "STORED_IN", p1, json!({}));
    f.edge(both, "STORED_IN", s1, json!({}));
    let prod_only = f.key("PRODONLY", active_recent.clone());
    f.edge(prod_only, "STORED_IN", p1, json!({}));
    f.edge(prod_only, "STORED_IN", p2, json!({}));

    MemGraph::build(f.nodes, f.edges)
}

fn fired(report: &Report, rule: &str) -> BTreeSet<String> {
    report
        .findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| {
            f.identity
                .trim_start_matches("aws-access-key:")
                .trim_start_matches("arn:aws:iam::111122223333:")
                .to_string()
        })
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_shipped_rules_parse_and_each_covers_an_owasp_risk() {
    let rules = parse_rules(DEFAULT_RULES).unwrap();
    assert!(rules.len() >= 9);
    for r in &rules {
        assert!(r.owasp.starts_with("NHI"), "{}", r.id);
        assert!(!r.rationale.is_empty() && !r.remediation.is_empty());
    }
}

#[test]
fn each_rule_fires_on_its_positive_case_only() {
    let graph = fixture();
    let report = run(&graph, &default_rules(), &Limits::default()).unwrap();
    let cases: &[(&str, &[&str])] = &[
        ("secret-in-git-history", &["SPREADKEY"]),
        ("secret-outside-vault", &["SPREADKEY"]),
        ("ci-static-cloud-key", &["SPREADKEY"]),
        ("credential-reused", &["SPREADKEY"]),
        ("oidc-trust-without-subject", &["role/deploy-any-repo"]),
        ("admin-credential", &["ADMINKEY"]),
        ("key-not-rotated", &["OLDBUSY", "OLDUNUSED"]),
        ("unused-active-key", &["OLDUNUSED"]),
        (
            "third-party-trust-without-external-id",
            &["role/vendor-open"],
        ),
        ("password-login-without-mfa", &["user/svc-nomfa"]),
        ("interactive-login-as-service-user", &["user/svc-shared"]),
        ("root-access-key", &["ROOTKEY"]),
        ("credential-across-environments", &["BOTHENVS"]),
    ];
    for (rule, want) in cases {
        assert_eq!(fired(&report, rule), set(want), "{rule}");
    }
    // Every query rule ran; the reach and ownership rules are left to the caller.
    let rules = default_rules();
    assert_eq!(report.rules.len(), rules.len() - 2);
    assert!(rules
        .iter()
        .any(|r| r.id == ADMIN_EQUIVALENT && !r.is_query()));
    assert!(rules
        .iter()
        .any(|r| r.id == "owner-left" && r.computed.as_deref() == Some("ownership")));
    // Most severe first.
    assert_eq!(report.findings[0].severity, Severity::Critical);
    let risk = risk_by_identity(&report.findings);
    assert_eq!(risk[0].0, "aws-access-key:SPREADKEY");
}

#[test]
fn bad_rules_are_refused_with_their_id() {
    let e = parse_rules(
        r#"[[rule]]
id = "x"
owasp = "NHI2:2025"
severity = "high"
title = "t"
rationale = "r"
remediation = "m"
query = "MATCH (k:Credential) DETACH DELETE k"
"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("`x`") && e.to_string().contains("read-only"));
    let e = parse_rules("[[rule]]\nid = \"y\"\n").unwrap_err();
    assert!(e.to_string().contains("missing field"), "{e}");
    let rules = parse_rules(
        r#"[[rule]]
id = "no-identity"
owasp = "NHI2:2025"
severity = "low"
title = "t"
rationale = "r"
remediation = "m"
query = "MATCH (k:Credential) RETURN k.key AS key"
"#,
    )
    .unwrap();
    let e = run(&fixture(), &rules, &Limits::default()).unwrap_err();
    assert!(e.to_string().contains("`identity`"), "{e}");
}

#[test]
fn risk_combines_severity_places_and_reach_and_stops_early() {
    use crate::risk::{rank, reach_factor, Reach};
    let graph = fixture();
    let report = run(&graph, &default_rules(), &Limits::default()).unwrap();
    // Without reach: severity × (1 + kinds of place). SPREADKEY is in three kinds.
    let plain = rank(&report.findings, &graph, None, 0, 3);
    assert_eq!(plain[0].identity, "aws-access-key:SPREADKEY");
    assert_eq!(plain[0].places, 3);
    assert_eq!(plain[0].risk, f64::from(plain[0].severity) * 4.0);
    assert!(plain[0].reach.is_none());
    // With reach: a huge blast radius lifts an identity; evaluation stops once
    // nothing left can enter the top even with the largest reach.
    let asked = std::cell::RefCell::new(Vec::new());
    let one = |key: &str| {
        Some(Reach {
            resources: 1,
            critical: 0,
            score: if key.ends_with("ROOTKEY") {
                1_000_000
            } else {
                1
            },
            can_become: 0,
            admin_equivalent: false,
        })
    };
    let reach = |keys: &[&str]| {
        asked
            .borrow_mut()
            .extend(keys.iter().map(|k| k.to_string()));
        keys.iter().map(|key| one(key)).collect()
    };
    let ranked = rank(&report.findings, &graph, Some(&reach), 1_000_000, 1);
    assert_eq!(ranked.len(), 1);
    let root = 10.0 * reach_factor(1_000_000);
    let spread = plain[0].risk * reach_factor(1);
    assert_eq!(
        ranked[0].identity,
        if root > spread {
            "aws-access-key:ROOTKEY"
        } else {
            "aws-access-key:SPREADKEY"
        }
    );
    let identities = report
        .findings
        .iter()
        .map(|f| &f.identity)
        .collect::<BTreeSet<_>>()
        .len();
    assert!(
        asked.borrow().len() < identities,
        "reach was evaluated for every identity"
    );
}
