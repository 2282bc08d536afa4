//! Reachability on small hand-built graphs: each case states what AWS would allow.

mod common;

use common::{level, obj, reach, G};
use serde_json::{json, Value};

const A: &str = "111122223333";
const B: &str = "444455556666";

fn allow(actions: Value, resources: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resources}]})
}

/// AWS nodes: each carries its ARN.
trait Aws {
    fn node(&mut self, kind: &str, key: &str, props: Value) -> i64;
    fn user(&mut self, account: &str, name: &str, inline: &[Value]) -> i64;
    fn role(&mut self, account: &str, name: &str, trust: Value, inline: &[Value]) -> i64;
    fn key(&mut self, principal: i64, id: &str) -> i64;
    fn bucket(&mut self, account: &str, name: &str, extra: Value) -> i64;
    fn secret(&mut self, account: &str, name: &str) -> i64;
}

impl Aws for G {
    fn node(&mut self, kind: &str, key: &str, props: Value) -> i64 {
        let mut p = obj(props);
        p.entry("arn").or_insert(json!(key));
        self.add(kind, key, p)
    }
    fn user(&mut self, account: &str, name: &str, inline: &[Value]) -> i64 {
        let docs: Vec<Value> = inline
            .iter()
            .enumerate()
            .map(|(i, d)| json!({"name": format!("p{i}"), "document": d}))
            .collect();
        self.node(
            "aws_iam_user",
            &format!("arn:aws:iam::{account}:user/{name}"),
            json!({"inline_policies": docs}),
        )
    }
    fn role(&mut self, account: &str, name: &str, trust: Value, inline: &[Value]) -> i64 {
        let docs: Vec<Value> = inline
            .iter()
            .map(|d| json!({"name": "p", "document": d}))
            .collect();
        self.node(
            "aws_iam_role",
            &format!("arn:aws:iam::{account}:role/{name}"),
            json!({"inline_policies": docs, "trust_policy": trust}),
        )
    }
    fn key(&mut self, principal: i64, id: &str) -> i64 {
        let k = self.node("aws_access_key", &format!("aws-access-key:{id}"), json!({}));
        self.edge(k, "AUTHENTICATES_AS", principal, json!({}));
        k
    }
    fn bucket(&mut self, account: &str, name: &str, extra: Value) -> i64 {
        let mut props = obj(extra);
        props.insert("account_id".into(), json!(account));
        self.node(
            "aws_s3_bucket",
            &format!("arn:aws:s3:::{name}"),
            Value::Object(props),
        )
    }
    fn secret(&mut self, account: &str, name: &str) -> i64 {
        self.node(
            "aws_secretsmanager_secret",
            &format!("arn:aws:secretsmanager:us-east-1:{account}:secret:{name}-AbCdEf"),
            json!({"account_id": account, "tags": {"data-classification": "restricted"}}),
        )
    }
}

#[test]
fn an_explicit_deny_removes_one_bucket_and_keeps_the_rest() {
    let mut g = G::default();
    let deny = json!({"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": ["arn:aws:s3:::payroll", "arn:aws:s3:::payroll/*"]}]});
    let u = g.user(A, "analyst", &[allow(json!("s3:*"), json!("*")), deny]);
    let k = g.key(u, "AKIAEXAMPLEANALYST01");
    g.bucket(A, "payroll", json!({}));
    g.bucket(A, "logs", json!({}));
    let m = g.model();
    assert_eq!(level(&m, k, "arn:aws:s3:::payroll"), None);
    assert_eq!(
        level(&m, k, "arn:aws:s3:::logs").as_deref(),
        Some("Permissions management")
    );
}

#[test]
fn not_action_and_mid_action_wildcards_grant_what_they_say() {
    let mut g = G::default();
    let power = json!({"Statement": [{"Effect": "Allow", "NotAction": ["iam:*", "s3:*"], "Resource": "*"}]});
    let u = g.user(A, "power", &[power]);
    g.secret(A, "db");
    g.bucket(A, "data", json!({}));
    let reader = g.user(
        A,
        "reader",
        &[allow(json!("secretsmanager:Get*Value"), json!("*"))],
    );
    let m = g.model();
    let secret = format!("arn:aws:secretsmanager:us-east-1:{A}:secret:db-AbCdEf");
    assert_eq!(
        level(&m, u, &secret).as_deref(),
        Some("Permissions management")
    );
    assert_eq!(
        level(&m, u, "arn:aws:s3:::data"),
        None,
        "NotAction s3:* excludes S3"
    );
    assert_eq!(level(&m, reader, &secret).as_deref(), Some("Read"));
}

#[test]
fn a_permissions_boundary_caps_an_administrator() {
    let mut g = G::default();
    let boundary = g.node(
        "aws_iam_policy",
        &format!("arn:aws:iam::{A}:policy/s3-read-only"),
        json!({"document": allow(json!(["s3:Get*", "s3:List*"]), json!("*"))}),
    );
    let _ = boundary;
    let u = g.node(
        "aws_iam_user",
        &format!("arn:aws:iam::{A}:user/capped"),
        json!({"inline_policies": [{"name": "admin", "document": allow(json!("*"), json!("*"))}],
               "permissions_boundary": format!("arn:aws:iam::{A}:policy/s3-read-only")}),
    );
    g.bucket(A, "data", json!({}));
    g.secret(A, "db");
    let m = g.model();
    assert_eq!(level(&m, u, "arn:aws:s3:::data").as_deref(), Some("Read"));
    assert_eq!(
        level(
            &m,
            u,
            &format!("arn:aws:secretsmanager:us-east-1:{A}:secret:db-AbCdEf")
        ),
        None
    );
}

#[test]
fn scps_apply_layer_by_layer_down_the_ou_tree() {
    let mut g = G::default();
    let full = g.node(
        "aws_organizations_policy",
        "id:aws-org-policy/p-FullAWSAccess",
        json!({"arn": "p-FullAWSAccess", "document": allow(json!("*"), json!("*"))}),
    );
    let deny = g.node(
        "aws_organizations_policy",
        "id:aws-org-policy/p-nosecrets",
        json!({"arn": "p-nosecrets", "document": {"Statement": [{"Effect": "Deny", "Action": "secretsmanager:*", "Resource": "*"}]}}),
    );
    let only_s3 = g.node(
        "aws_organizations_policy",
        "id:aws-org-policy/p-onlys3",
        json!({"arn": "p-onlys3", "document": allow(json!("s3:*"), json!("*"))}),
    );
    let root = g.node("aws_organizations_root", "id:aws-org/r-ab12", json!({}));
    let ou = g.node(
        "aws_organizations_unit",
        "id:aws-org/ou-ab12-sandbox",
        json!({}),
    );
    let acct_a = g.node(
        "aws_root_user",
        &format!("arn:aws:iam::{A}:root"),
        json!({}),
    );
    let acct_b = g.node(
        "aws_root_user",
        &format!("arn:aws:iam::{B}:root"),
        json!({}),
    );
    g.edge(root, "HAS_POLICY", full, json!({}));
    g.edge(ou, "HAS_POLICY", full, json!({}));
    g.edge(ou, "HAS_POLICY", deny, json!({}));
    g.edge(ou, "MEMBER_OF", root, json!({}));
    g.edge(acct_a, "MEMBER_OF", ou, json!({}));
    g.edge(acct_a, "HAS_POLICY", full, json!({}));
    // Account B sits under the root with only an S3 allow at its own level.
    g.edge(acct_b, "MEMBER_OF", root, json!({}));
    g.edge(acct_b, "HAS_POLICY", only_s3, json!({}));
    let admin = allow(json!("*"), json!("*"));
    let ua = g.user(A, "admin", std::slice::from_ref(&admin));
    let ub = g.user(B, "admin", &[admin]);
    g.secret(A, "db");
    g.secret(B, "db");
    g.bucket(A, "a-data", json!({}));
    g.bucket(B, "b-data", json!({}));
    let m = g.model();
    let secret = |acct: &str| format!("arn:aws:secretsmanager:us-east-1:{acct}:secret:db-AbCdEf");
    assert_eq!(level(&m, ua, &secret(A)), None, "the OU's SCP denies it");
    assert_eq!(
        level(&m, ua, "arn:aws:s3:::a-data").as_deref(),
        Some("Permissions management")
    );
    assert_eq!(
        level(&m, ub, &secret(B)),
        None,
        "the account-level SCP allows only S3"
    );
    assert_eq!(
        level(&m, ub, "arn:aws:s3:::b-data").as_deref(),
        Some("Permissions management")
    );
}

#[test]
fn role_chains_follow_trust_and_identity_policies() {
    let mut g = G::default();
    let ci = g.user(
        A,
        "ci",
        &[allow(
            json!("sts:AssumeRole"),
            json!(format!("arn:aws:iam::{A}:role/deployer")),
        )],
    );
    let bystander = g.user(
        A,
        "bystander",
        &[allow(json!("s3:ListAllMyBuckets"), json!("*"))],
    );
    let key = g.key(ci, "AKIAEXAMPLECI0000001");
    // deployer trusts account A: members need their own sts:AssumeRole allow.
    g.role(
        A,
        "deployer",
        json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{A}:root")}, "Action": "sts:AssumeRole"}]}),
        &[allow(
            json!("sts:AssumeRole"),
            json!(format!("arn:aws:iam::{B}:role/prod-admin")),
        )],
    );
    // prod-admin in account B trusts deployer by ARN.
    g.role(
        B,
        "prod-admin",
        json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{A}:role/deployer")}, "Action": "sts:AssumeRole"}]}),
        &[allow(json!("*"), json!("*"))],
    );
    g.secret(B, "payroll");
    let m = g.model();
    let secret = format!("arn:aws:secretsmanager:us-east-1:{B}:secret:payroll-AbCdEf");
    assert_eq!(
        level(&m, key, &secret).as_deref(),
        Some("Permissions management")
    );
    let br = m.blast_radius(&m.start(key));
    let hit = br
        .reached
        .iter()
        .find(|r| m.resources[r.access.resource as usize].arn == secret)
        .unwrap();
    let path: Vec<&str> = br
        .path(hit.hop)
        .iter()
        .map(|&h| m.principals[br.hops[h].principal as usize].arn.as_str())
        .collect();
    assert_eq!(
        path,
        vec![
            format!("arn:aws:iam::{A}:user/ci"),
            format!("arn:aws:iam::{A}:role/deployer"),
            format!("arn:aws:iam::{B}:role/prod-admin"),
        ]
    );
    assert_eq!(
        level(&m, bystander, &secret),
        None,
        "trusting an account is not enough without the member's own allow"
    );
}

#[test]
fn cross_account_bucket_access_needs_both_sides() {
    let mut g = G::default();
    let policy = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{B}:root")},
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared/*"}]});
    g.bucket(A, "shared", json!({"policy": policy}));
    g.bucket(A, "private", json!({}));
    let reader = g.user(B, "reader", &[allow(json!("s3:GetObject"), json!("*"))]);
    let nobody = g.user(B, "nobody", &[allow(json!("ec2:Describe*"), json!("*"))]);
    let m = g.model();
    assert_eq!(
        level(&m, reader, "arn:aws:s3:::shared").as_deref(),
        Some("Read")
    );
    assert_eq!(level(&m, reader, "arn:aws:s3:::private"), None);
    assert_eq!(level(&m, nobody, "arn:aws:s3:::shared"), None);
}

#[test]
fn undecidable_conditions_make_access_conditional() {
    let mut g = G::default();
    let doc = json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
        "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]});
    let u = g.user(A, "vpn-only", &[doc]);
    // aws:SecureTransport is assumed true: a TLS-only deny does not block.
    let tls = json!({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::data/*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]});
    g.bucket(A, "data", json!({"policy": tls}));
    let m = g.model();
    assert_eq!(
        reach(&m, u, "arn:aws:s3:::data"),
        Some(("Read".to_string(), true))
    );
}

#[test]
fn object_grants_on_a_prefix_count_with_their_scope() {
    let mut g = G::default();
    let u = g.user(
        A,
        "exporter",
        &[allow(
            json!("s3:PutObject"),
            json!("arn:aws:s3:::reports/exports/*"),
        )],
    );
    g.bucket(A, "reports", json!({}));
    let m = g.model();
    let br = m.blast_radius(&m.start(u));
    let hit = &br.reached[0];
    assert_eq!(hit.access.level.as_str(), "Write");
    assert_eq!(
        hit.access.scope.as_deref(),
        Some("arn:aws:s3:::reports/exports/*")
    );
}

#[test]
fn privilege_escalation_and_instance_profiles_are_hops() {
    let mut g = G::default();
    let lambda_trust = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let fn_role = g.role(
        A,
        "fn-role",
        lambda_trust.clone(),
        &[allow(json!("secretsmanager:GetSecretValue"), json!("*"))],
    );
    let f = g.node(
        "aws_lambda_function",
        &format!("arn:aws:lambda:us-east-1:{A}:function:f"),
        json!({"account_id": A}),
    );
    g.edge(f, "RUNS_AS", fn_role, json!({}));
    g.secret(A, "db");
    // A developer who can rewrite any function's code becomes its role.
    let dev = g.user(
        A,
        "dev",
        &[allow(json!("lambda:UpdateFunctionCode"), json!("*"))],
    );
    // An IAM writer escalates to full control of the account.
    let iam = g.user(
        A,
        "iam-writer",
        &[allow(json!("iam:AttachUserPolicy"), json!("*"))],
    );
    // An instance profile carries its role.
    let web = g.role(A, "web", json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
        &[allow(json!("s3:GetObject"), json!("*"))]);
    let profile = g.node(
        "aws_iam_instance_profile",
        &format!("arn:aws:iam::{A}:instance-profile/web"),
        json!({}),
    );
    g.edge(
        profile,
        "CAN_ASSUME",
        web,
        json!({"trusted": "instance-profile"}),
    );
    let inst = g.node(
        "aws_ec2_instance",
        &format!("arn:aws:ec2:us-east-1:{A}:instance/i-1"),
        json!({"account_id": A}),
    );
    g.edge(inst, "RUNS_AS", profile, json!({}));
    g.bucket(A, "assets", json!({}));
    let m = g.model();
    let secret = format!("arn:aws:secretsmanager:us-east-1:{A}:secret:db-AbCdEf");
    assert_eq!(level(&m, dev, &secret).as_deref(), Some("Read"));
    let br = m.blast_radius(&m.start(dev));
    assert!(br
        .hops
        .iter()
        .any(|h| &*h.how == "escalation: update-function-code"));
    assert_eq!(
        level(&m, iam, &secret).as_deref(),
        Some("Permissions management"),
        "attach-user-policy: full control of the account"
    );
    assert_eq!(
        level(&m, inst, "arn:aws:s3:::assets").as_deref(),
        Some("Read")
    );
}

#[test]
fn web_identity_trust_is_conditional_on_the_token() {
    let mut g = G::default();
    let provider_arn =
        format!("arn:aws:iam::{A}:oidc-provider/token.actions.githubusercontent.com");
    let provider = g.node(
        "aws_oidc_provider",
        &provider_arn,
        json!({"provider": provider_arn}),
    );
    g.role(
        A,
        "gha-deploy",
        json!({"Statement": [{"Effect": "Allow", "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:org/app:*"}}}]}),
        &[allow(json!("s3:*"), json!("*"))],
    );
    g.bucket(A, "site", json!({}));
    let m = g.model();
    assert_eq!(
        reach(&m, provider, "arn:aws:s3:::site"),
        Some(("Permissions management".to_string(), true))
    );
}

#[test]
fn paths_to_admin_read_off_distances_are_the_paths_the_search_finds() {
    let mut g = G::default();
    let root_trust = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{A}:root")}, "Action": "sts:AssumeRole"}]});
    let mfa_trust = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{A}:root")}, "Action": "sts:AssumeRole",
        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]});
    let assume = allow(json!("sts:AssumeRole"), json!("*"));
    // Two ways to full control from one user: a short one through a role
    // that trusts only MFA sessions (conditional), a longer certain one.
    let mut users = Vec::new();
    users.push(g.user(A, "u-two-ways", std::slice::from_ref(&assume)));
    g.role(
        A,
        "mfa-admin",
        mfa_trust,
        &[allow(json!("iam:*"), json!("*"))],
    );
    g.role(A, "hop", root_trust.clone(), std::slice::from_ref(&assume));
    g.role(
        A,
        "attacher",
        root_trust.clone(),
        &[allow(json!("iam:AttachRolePolicy"), json!("*"))],
    );
    // Two equally short ways: the search takes the first in hop order.
    g.role(
        A,
        "policy-writer",
        root_trust.clone(),
        &[allow(json!("iam:CreatePolicyVersion"), json!("*"))],
    );
    // Escalation of its own, and none at all.
    users.push(g.user(
        A,
        "u-keys",
        &[allow(json!("iam:CreateAccessKey"), json!("*"))],
    ));
    users.push(g.user(A, "u-reader", &[allow(json!("s3:GetObject"), json!("*"))]));
    // A loop of roles trusting each other by name, without a way out.
    let loop_a = format!("arn:aws:iam::{B}:role/loop-a");
    let loop_b = format!("arn:aws:iam::{B}:role/loop-b");
    let trusts = |arn: &str| json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": arn}, "Action": "sts:AssumeRole"}]});
    g.role(B, "loop-a", trusts(&loop_b), std::slice::from_ref(&assume));
    g.role(B, "loop-b", trusts(&loop_a), std::slice::from_ref(&assume));
    let m = g.model();
    let n = m.principals.len() as u32;
    let view = |path: Option<Vec<custody_analysis::reach::Hop>>| {
        path.map(|p| {
            p.into_iter()
                .map(|h| (h.principal, h.how, h.conditional, h.potential, h.from))
                .collect::<Vec<_>>()
        })
    };
    let starts: Vec<Vec<u32>> = (0..n)
        .map(|p| vec![p])
        .chain(users.iter().map(|&u| m.start(u)))
        .chain([users.iter().rev().flat_map(|&u| m.start(u)).collect()])
        .collect();
    let searched: Vec<_> = starts.iter().map(|s| view(m.path_to_admin(s))).collect();
    assert!(
        searched.iter().filter(|p| p.is_some()).count() >= 4,
        "the fixture has paths to read: {searched:?}"
    );
    let two_ways = view(m.path_to_admin(&m.start(users[0]))).expect("a path");
    assert!(
        two_ways.len() > 2 && two_ways.iter().all(|h| !h.2),
        "the certain path wins over the shorter conditional one: {two_ways:?}"
    );
    // Warmed from one user only: the others are still searched, and agree.
    let warmed = std::cell::Cell::new(0);
    m.warm_admin_paths(m.start(users[0]), &|layer| {
        warmed.set(warmed.get() + layer.len())
    });
    assert!(warmed.get() > 0, "the layers are offered for warming");
    let read: Vec<_> = starts.iter().map(|s| view(m.path_to_admin(s))).collect();
    assert_eq!(read, searched);
    // Warmed from every principal: every path is read off. (A model built
    // again may number the account administrators in another order.)
    let all = g.model();
    let searched: Vec<_> = starts.iter().map(|s| view(all.path_to_admin(s))).collect();
    all.warm_admin_paths(0..n, &|_| {});
    let read: Vec<_> = starts.iter().map(|s| view(all.path_to_admin(s))).collect();
    assert_eq!(read, searched);
}

#[test]
fn a_blast_radius_warmed_a_layer_at_a_time_is_the_one_computed_lazily() {
    let mut g = G::default();
    let root_trust = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{A}:root")}, "Action": "sts:AssumeRole"}]});
    let assume = allow(json!("sts:AssumeRole"), json!("*"));
    let user = g.user(A, "chain-start", std::slice::from_ref(&assume));
    g.role(
        A,
        "middle",
        root_trust.clone(),
        std::slice::from_ref(&assume),
    );
    g.role(
        A,
        "reader",
        root_trust.clone(),
        &[allow(json!("s3:GetObject"), json!("*"))],
    );
    g.role(
        A,
        "keys",
        root_trust,
        &[allow(json!("iam:CreateAccessKey"), json!("*"))],
    );
    g.bucket(A, "payroll", json!({}));
    g.bucket(B, "elsewhere", json!({}));
    let view = |br: &custody_analysis::BlastRadius| {
        let hops: Vec<_> = br
            .hops
            .iter()
            .map(|h| (h.principal, h.how.to_string(), h.from, h.conditional))
            .collect();
        let reached: Vec<_> = br
            .reached
            .iter()
            .map(|r| (r.access.resource, r.access.level, r.hop, r.score))
            .collect();
        (hops, reached)
    };
    let lazy = g.model();
    let start = lazy.start(user);
    let expected = view(&lazy.blast_radius(&start));
    assert!(expected.0.len() >= 4, "the chain is followed: {expected:?}");
    assert!(!expected.1.is_empty(), "something is reached");
    let warmed = g.model();
    let offered = std::cell::RefCell::new(Vec::new());
    warmed.warm_reach(&start, &|layer| {
        offered.borrow_mut().extend_from_slice(layer);
        warmed.warm(layer.iter().copied());
    });
    let mut offered = offered.into_inner();
    offered.sort_unstable();
    let mut read: Vec<u32> = expected.0.iter().map(|h| h.0).collect();
    read.sort_unstable();
    assert_eq!(offered, read, "every principal the query reads, once");
    assert_eq!(view(&warmed.blast_radius(&start)), expected);
    // Warmed again: nothing is left to compute.
    warmed.warm_reach(&start, &|layer| panic!("{layer:?} computed twice"));
}
