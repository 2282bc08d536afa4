//! Policy evaluation edge cases, each with the decision AWS makes.

use custody_analysis::{evaluate, Context, Outcome, Policy, PolicySet, Request};
use serde_json::{json, Value};

const USER: &str = "arn:aws:iam::111122223333:user/alice";
const OTHER_ACCOUNT_ROLE: &str = "arn:aws:iam::444455556666:role/partner";

fn policy(v: Value) -> Policy {
    Policy::from_value(&v).expect("valid test policy")
}

fn allow(action: Value, resource: Value) -> Policy {
    policy(
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}),
    )
}

fn ask(
    set: &PolicySet<'_>,
    principal: &str,
    action: &str,
    resource: &str,
    ctx: &Context,
) -> (Outcome, bool) {
    let d = evaluate(
        set,
        &Request {
            principal,
            action,
            resource,
            context: ctx,
        },
    );
    (d.outcome, d.conditional)
}

fn ask_plain(set: &PolicySet<'_>, action: &str, resource: &str) -> Outcome {
    let d = evaluate(
        set,
        &Request {
            principal: USER,
            action,
            resource,
            context: &Context::new(),
        },
    );
    assert!(
        !d.conditional,
        "{action} on {resource}: unexpectedly conditional: {d:?}"
    );
    d.outcome
}

#[test]
fn nothing_allows_means_implicit_deny() {
    let set = PolicySet::default();
    assert_eq!(
        ask_plain(&set, "s3:GetObject", "arn:aws:s3:::b/k"),
        Outcome::ImplicitDeny
    );
}

#[test]
fn an_explicit_deny_overrides_any_allow() {
    let admin = allow(json!("*"), json!("*"));
    let deny = policy(
        json!({"Statement": [{"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "arn:aws:s3:::prod-*"}]}),
    );
    let set = PolicySet {
        identity: vec![&admin, &deny],
        ..Default::default()
    };
    assert_eq!(
        ask_plain(&set, "s3:DeleteBucket", "arn:aws:s3:::prod-data"),
        Outcome::ExplicitDeny
    );
    assert_eq!(
        ask_plain(&set, "s3:DeleteBucket", "arn:aws:s3:::dev-data"),
        Outcome::Allow
    );
    let d = evaluate(
        &set,
        &Request {
            principal: USER,
            action: "s3:DeleteBucket",
            resource: "arn:aws:s3:::prod-data",
            context: &Context::new(),
        },
    );
    assert!(d.reason.contains("explicitly denied"), "{}", d.reason);
}

#[test]
fn not_action_allows_everything_else() {
    // PowerUserAccess's shape: everything but IAM and Organizations.
    let power = policy(
        json!({"Statement": [{"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}]}),
    );
    let set = PolicySet {
        identity: vec![&power],
        ..Default::default()
    };
    assert_eq!(
        ask_plain(&set, "s3:GetObject", "arn:aws:s3:::b/k"),
        Outcome::Allow
    );
    assert_eq!(
        ask_plain(
            &set,
            "iam:CreateAccessKey",
            "arn:aws:iam::111122223333:user/bob"
        ),
        Outcome::ImplicitDeny
    );
}

#[test]
fn not_resource_allows_everything_but_the_named_resources() {
    let p = policy(
        json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "NotResource": ["arn:aws:s3:::secrets", "arn:aws:s3:::secrets/*"]}]}),
    );
    let set = PolicySet {
        identity: vec![&p],
        ..Default::default()
    };
    assert_eq!(
        ask_plain(&set, "s3:GetObject", "arn:aws:s3:::public/x"),
        Outcome::Allow
    );
    assert_eq!(
        ask_plain(&set, "s3:GetObject", "arn:aws:s3:::secrets/x"),
        Outcome::ImplicitDeny
    );
}

#[test]
fn wildcards_in_the_middle_of_actions() {
    let p = allow(json!("iam:*AccessKey*"), json!("*"));
    let set = PolicySet {
        identity: vec![&p],
        ..Default::default()
    };
    assert_eq!(
        ask_plain(
            &set,
            "iam:CreateAccessKey",
            "arn:aws:iam::111122223333:user/bob"
        ),
        Outcome::Allow
    );
    assert_eq!(
        ask_plain(
            &set,
            "IAM:updateaccesskey",
            "arn:aws:iam::111122223333:user/bob"
        ),
        Outcome::Allow,
        "actions ignore case"
    );
    assert_eq!(
        ask_plain(&set, "iam:CreateUser", "arn:aws:iam::111122223333:user/bob"),
        Outcome::ImplicitDeny
    );
}

#[test]
fn a_permissions_boundary_caps_what_identity_policies_grant() {
    let admin = allow(json!("*"), json!("*"));
    let boundary = allow(json!(["s3:*", "dynamodb:*"]), json!("*"));
    let set = PolicySet {
        identity: vec![&admin],
        boundary: Some(&boundary),
        ..Default::default()
    };
    assert_eq!(
        ask_plain(&set, "s3:PutObject", "arn:aws:s3:::b/k"),
        Outcome::Allow
    );
    assert_eq!(
        ask_plain(&set, "iam:AttachUserPolicy", USER),
        Outcome::ImplicitDeny
    );
    // A boundary grants nothing by itself.
    let set = PolicySet {
        boundary: Some(&boundary),
        ..Default::default()
    };
    assert_eq!(
        ask_plain(&set, "s3:PutObject", "arn:aws:s3:::b/k"),
        Outcome::ImplicitDeny
    );
}

#[test]
fn every_scp_layer_must_allow_and_scp_denies_win() {
    let admin = allow(json!("*"), json!("*"));
    let full = allow(json!("*"), json!("*"));
    let no_leaving = policy(
        json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}]}),
    );
    let only_s3 = allow(json!("s3:*"), json!("*"));
    let set = PolicySet {
        identity: vec![&admin],
        scps: vec![vec![&full], vec![&no_leaving]],
        ..Default::default()
    };
    assert_eq!(ask_plain(&set, "ec2:RunInstances", "*"), Outcome::Allow);
    assert_eq!(
        ask_plain(&set, "organizations:LeaveOrganization", "*"),
        Outcome::ExplicitDeny
    );
    let set = PolicySet {
        identity: vec![&admin],
        scps: vec![vec![&full], vec![&only_s3]],
        ..Default::default()
    };
    assert_eq!(
        ask_plain(&set, "ec2:RunInstances", "*"),
        Outcome::ImplicitDeny,
        "the account-level SCP does not allow EC2"
    );
    assert_eq!(
        ask_plain(&set, "s3:GetObject", "arn:aws:s3:::b/k"),
        Outcome::Allow
    );
    // An SCP grants nothing by itself.
    let set = PolicySet {
        scps: vec![vec![&full]],
        ..Default::default()
    };
    assert_eq!(
        ask_plain(&set, "s3:GetObject", "arn:aws:s3:::b/k"),
        Outcome::ImplicitDeny
    );
}

#[test]
fn a_resource_policy_naming_the_principal_allows_within_the_account() {
    let bucket = policy(
        json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": USER}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}),
    );
    let set = PolicySet {
        resource: Some(&bucket),
        resource_account: Some("111122223333"),
        ..Default::default()
    };
    assert_eq!(
        ask_plain(&set, "s3:GetObject", "arn:aws:s3:::b/k"),
        Outcome::Allow
    );
    // Naming only the account delegates to the account's identity policies.
    let to_account = policy(
        json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}),
    );
    let set = PolicySet {
        resource: Some(&to_account),
        resource_account: Some("111122223333"),
        ..Default::default()
    };
    assert_eq!(
        ask_plain(&set, "s3:GetObject", "arn:aws:s3:::b/k"),
        Outcome::ImplicitDeny
    );
}

#[test]
fn across_accounts_both_sides_must_allow() {
    let identity = allow(json!("s3:GetObject"), json!("*"));
    let bucket_to_account = policy(
        json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "444455556666"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}),
    );
    let ctx = Context::new();
    let both = PolicySet {
        identity: vec![&identity],
        resource: Some(&bucket_to_account),
        resource_account: Some("111122223333"),
        ..Default::default()
    };
    assert_eq!(
        ask(
            &both,
            OTHER_ACCOUNT_ROLE,
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            &ctx
        )
        .0,
        Outcome::Allow
    );
    let no_identity = PolicySet {
        resource: Some(&bucket_to_account),
        resource_account: Some("111122223333"),
        ..Default::default()
    };
    assert_eq!(
        ask(
            &no_identity,
            OTHER_ACCOUNT_ROLE,
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            &ctx
        )
        .0,
        Outcome::ImplicitDeny
    );
    let no_resource = PolicySet {
        identity: vec![&identity],
        resource_account: Some("111122223333"),
        ..Default::default()
    };
    assert_eq!(
        ask(
            &no_resource,
            OTHER_ACCOUNT_ROLE,
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            &ctx
        )
        .0,
        Outcome::ImplicitDeny
    );
}

#[test]
fn undecidable_conditions_make_an_allow_conditional() {
    let p = policy(
        json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*",
        "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}]}),
    );
    let set = PolicySet {
        identity: vec![&p],
        ..Default::default()
    };
    let d = evaluate(
        &set,
        &Request {
            principal: USER,
            action: "s3:GetObject",
            resource: "arn:aws:s3:::b/k",
            context: &Context::new(),
        },
    );
    assert_eq!(d.outcome, Outcome::Allow);
    assert!(d.conditional);
    assert_eq!(d.unresolved, vec!["IpAddress aws:SourceIp".to_string()]);
}

#[test]
fn a_conditional_deny_makes_the_allow_conditional() {
    let admin = allow(json!("*"), json!("*"));
    let mfa = policy(
        json!({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
        "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}]}),
    );
    let set = PolicySet {
        identity: vec![&admin, &mfa],
        ..Default::default()
    };
    // Unknown MFA state: IfExists makes the missing key count as a match, so deny.
    assert_eq!(
        ask(&set, USER, "s3:GetObject", "*", &Context::new()).0,
        Outcome::ExplicitDeny
    );
    assert_eq!(
        ask(
            &set,
            USER,
            "s3:GetObject",
            "*",
            &Context::new().with("aws:MultiFactorAuthPresent", "true")
        ),
        (Outcome::Allow, false)
    );
    let plain = policy(
        json!({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
        "Condition": {"NumericGreaterThan": {"aws:MultiFactorAuthAge": "3600"}}}]}),
    );
    let set = PolicySet {
        identity: vec![&admin, &plain],
        ..Default::default()
    };
    assert_eq!(
        ask(&set, USER, "s3:GetObject", "*", &Context::new()),
        (Outcome::Allow, true)
    );
}

#[test]
fn known_context_decides_conditions() {
    let p = policy(
        json!({"Statement": [{"Effect": "Allow", "Action": "ec2:StopInstances", "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalTag/team": "payments"}}}]}),
    );
    let set = PolicySet {
        identity: vec![&p],
        ..Default::default()
    };
    let payments = Context::new().with("aws:PrincipalTag/team", "payments");
    let search = Context::new().with("aws:principaltag/TEAM", "search");
    assert_eq!(
        ask(&set, USER, "ec2:StopInstances", "*", &payments),
        (Outcome::Allow, false)
    );
    assert_eq!(
        ask(&set, USER, "ec2:StopInstances", "*", &search),
        (Outcome::ImplicitDeny, false),
        "condition keys ignore case"
    );
}

#[test]
fn policy_variables_resolve_from_the_context() {
    let home = allow(json!("s3:*"), json!("arn:aws:s3:::home/${aws:username}/*"));
    let set = PolicySet {
        identity: vec![&home],
        ..Default::default()
    };
    let alice = Context::new().with("aws:username", "alice");
    assert_eq!(
        ask(
            &set,
            USER,
            "s3:GetObject",
            "arn:aws:s3:::home/alice/notes",
            &alice
        ),
        (Outcome::Allow, false)
    );
    assert_eq!(
        ask(
            &set,
            USER,
            "s3:GetObject",
            "arn:aws:s3:::home/bob/notes",
            &alice
        ),
        (Outcome::ImplicitDeny, false)
    );
    // Unknown user name: it may match, but only conditionally.
    let d = evaluate(
        &set,
        &Request {
            principal: USER,
            action: "s3:GetObject",
            resource: "arn:aws:s3:::home/bob/notes",
            context: &Context::new(),
        },
    );
    assert_eq!((d.outcome, d.conditional), (Outcome::Allow, true));
    assert_eq!(d.unresolved, vec!["${aws:username}".to_string()]);
}

#[test]
fn github_oidc_trust_is_decided_by_the_sub_claim() {
    let provider = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com";
    let trust = policy(
        json!({"Statement": [{"Effect": "Allow", "Principal": {"Federated": provider},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                      "StringLike": {"token.actions.githubusercontent.com:sub": "repo:northwind/payments:ref:refs/heads/main"}}}]}),
    );
    let role = "arn:aws:iam::111122223333:role/deploy";
    let set = PolicySet {
        resource: Some(&trust),
        resource_account: Some("111122223333"),
        ..Default::default()
    };
    let main = Context::new()
        .with(
            "token.actions.githubusercontent.com:aud",
            "sts.amazonaws.com",
        )
        .with(
            "token.actions.githubusercontent.com:sub",
            "repo:northwind/payments:ref:refs/heads/main",
        );
    let fork = Context::new()
        .with(
            "token.actions.githubusercontent.com:aud",
            "sts.amazonaws.com",
        )
        .with(
            "token.actions.githubusercontent.com:sub",
            "repo:someone/payments:ref:refs/heads/main",
        );
    assert_eq!(
        ask(&set, provider, "sts:AssumeRoleWithWebIdentity", role, &main),
        (Outcome::Allow, false)
    );
    assert_eq!(
        ask(&set, provider, "sts:AssumeRoleWithWebIdentity", role, &fork),
        (Outcome::ImplicitDeny, false)
    );
    assert_eq!(
        ask(
            &set,
            provider,
            "sts:AssumeRoleWithWebIdentity",
            role,
            &Context::new()
        ),
        (Outcome::Allow, true)
    );
    // A stranger's provider is not trusted at all.
    let stranger = "arn:aws:iam::999999999999:oidc-provider/token.actions.githubusercontent.com";
    assert_eq!(
        ask(&set, stranger, "sts:AssumeRoleWithWebIdentity", role, &main).0,
        Outcome::ImplicitDeny
    );
}

#[test]
fn not_principal_excludes_the_named_principal() {
    let p = policy(
        json!({"Statement": [{"Effect": "Deny", "NotPrincipal": {"AWS": USER}, "Action": "s3:*", "Resource": "*"}]}),
    );
    let allow_all = allow(json!("s3:*"), json!("*"));
    let set = PolicySet {
        identity: vec![&allow_all],
        resource: Some(&p),
        resource_account: Some("111122223333"),
        ..Default::default()
    };
    let ctx = Context::new();
    assert_eq!(
        ask(&set, USER, "s3:GetObject", "arn:aws:s3:::b/k", &ctx).0,
        Outcome::Allow
    );
    assert_eq!(
        ask(
            &set,
            "arn:aws:iam::111122223333:user/mallory",
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            &ctx
        )
        .0,
        Outcome::ExplicitDeny
    );
}
