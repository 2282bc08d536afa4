use super::*;

/// A fixture of the repository's own (`fixtures/audit/`, written in each
/// system's documented format: `fixtures/README.md`).
fn fixture(name: &str) -> Vec<u8> {
    let p = format!("{}/../../fixtures/audit/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

#[derive(Debug, Default)]
struct Seen {
    keys: Vec<String>,
    at: Vec<At>,
    denied: usize,
}

fn collect(format: LogFormat, bytes: &[u8]) -> (Seen, LogRead) {
    let mut seen = Seen::default();
    let r = read(format, "test.json", bytes, &mut |ev, at| {
        seen.keys.push(format!("{}{}", ev.actor_prefix, ev.actor));
        seen.at.push(at);
        seen.denied += usize::from(ev.denied);
    });
    (seen, r)
}

#[test]
fn cloudtrail_records_read_with_their_oddities_reported() {
    let bytes = fixture("cloudtrail-events.jsonl");
    assert_eq!(detect(&bytes), Some(LogFormat::CloudTrail));
    let (seen, r) = collect(LogFormat::CloudTrail, &bytes);
    assert!(r.complete, "{:?}", r.errors);
    // Records with no or a redacted eventTime: each reported by line, the rest read.
    assert_eq!(r.errors.len(), 2, "{:?}", r.errors);
    assert!(r
        .errors
        .iter()
        .all(|e| e.message.contains("eventTime") && matches!(e.location, Location::Line(8 | 9))));
    assert_eq!(r.events, 8);
    // Long-term keys are their own identity; roles are the role, not the session.
    assert!(seen
        .keys
        .contains(&"aws-access-key:AKIAEXAMPLEDEPLOY001".to_string()));
    assert!(seen
        .keys
        .iter()
        .any(|k| k == "arn:aws:iam::111122223333:role/lambda-admin"));
    assert!(!seen.keys.iter().any(|k| k.contains(":assumed-role/")));
    assert!(!seen.keys.iter().any(|k| k.contains("ASIA")));
    assert!(seen.keys.iter().any(|k| k.ends_with(":root")));
    assert_eq!(r.unattributed, 1, "the AWS service's call");
    assert_eq!(seen.denied, 1, "the AccessDenied");
}

#[test]
fn a_delivery_file_is_read_by_record_and_a_truncated_one_is_located() {
    let lines = String::from_utf8(fixture("cloudtrail-events.jsonl")).unwrap();
    let good: Vec<&str> = lines
        .lines()
        .filter(|l| l.contains("\"eventTime\": \"2026"))
        .collect();
    let events: Vec<&str> = good.iter().cycle().take(20).copied().collect();
    let file = format!("{{\"Records\": [\n{}\n]}}", events.join(",\n"));
    assert_eq!(detect(file.as_bytes()), Some(LogFormat::CloudTrail));
    let (seen, r) = collect(LogFormat::CloudTrail, file.as_bytes());
    assert!(r.complete && r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.events, 20);
    assert!(seen.at.iter().all(|a| matches!(a, At::Record(_))));
    assert_eq!(
        At::Record(3).location(),
        Location::Pointer("/Records/3".into())
    );

    let cut = &file[..file.len() * 2 / 3];
    let (seen2, r) = collect(LogFormat::CloudTrail, cut.as_bytes());
    assert!(!r.complete);
    let e = r.errors.last().unwrap();
    assert!(e.message.contains("truncated"), "{e}");
    assert!(matches!(e.location, Location::LineCol(..)), "{e}");
    assert!(seen2.keys.len() < 20);
}

#[test]
fn eventbridge_and_web_identity_events() {
    let ev = r#"{"version":"0","id":"6f","detail-type":"AWS API Call via CloudTrail","source":"aws.sts","account":"111122223333","time":"2026-11-20T10:00:00Z","region":"us-east-1","resources":[],"detail":{"eventVersion":"1.08","userIdentity":{"type":"WebIdentityUser","principalId":"arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com:sts.amazonaws.com:repo:northwind/api:ref:refs/heads/main","userName":"repo:northwind/api:ref:refs/heads/main","identityProvider":"arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},"eventTime":"2026-11-20T10:00:00Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRoleWithWebIdentity","awsRegion":"us-east-1","sourceIPAddress":"140.82.112.3","userAgent":"aws-sdk-js/3","requestParameters":{"roleArn":"arn:aws:iam::111122223333:role/gha-deploy","roleSessionName":"GitHubActions"},"responseElements":null}}"#;
    assert_eq!(detect(ev.as_bytes()), Some(LogFormat::CloudTrail));
    let mut got = Vec::new();
    let r = read(
        LogFormat::CloudTrail,
        "e.json",
        ev.as_bytes(),
        &mut |e, _| got.push((e.actor.to_string(), e.subject.to_string(), e.time)),
    );
    assert!(r.complete && r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(
        got,
        vec![(
            "arn:aws:iam::111122223333:role/gha-deploy".to_string(),
            "repo:northwind/api:ref:refs/heads/main".to_string(),
            1_795_168_800
        )]
    );
}

#[test]
fn okta_events_read_with_network_and_place() {
    let bytes = fixture("okta-system-log.jsonl");
    assert_eq!(detect(&bytes), Some(LogFormat::OktaSystemLog));
    let mut nets = Vec::new();
    let mut keys = Vec::new();
    let mut geo = Vec::new();
    let mut regions = Vec::new();
    let mut denied = 0;
    let r = read(LogFormat::OktaSystemLog, "o.jsonl", &bytes, &mut |e, _| {
        keys.push(format!("{}{}", e.actor_prefix, e.actor));
        nets.push(e.network.to_string());
        regions.push(e.region.to_string());
        geo.extend(e.geo);
        denied += usize::from(e.denied);
    });
    assert!(r.complete, "{:?}", r.errors);
    assert_eq!(r.events, 3, "{r:?}");
    assert_eq!(r.errors.len(), 1, "{r:?}");
    assert!(r.errors[0].message.contains("published"));
    assert!(geo.contains(&(33.749, -84.388)), "{geo:?}");
    assert!(keys.contains(&"okta:00uexampleana0000001".to_string()));
    assert!(keys.contains(&"okta:0oaexamplesync000001".to_string()));
    assert!(nets.contains(&"AS7018".to_string()));
    assert!(regions.contains(&"United States/Georgia".to_string()));
    assert_eq!(denied, 1);
}

#[test]
fn bad_input_is_reported_not_panicked_on() {
    for bytes in [
        &b""[..],
        b"   ",
        b"{\"Records\": [",
        b"\xff\xfe",
        b"[1, 2",
        b"{\"Records\": [{\"eventTime\": 5}]}",
    ] {
        for f in LogFormat::ALL {
            let r = read(f, "x", bytes, &mut |_, _| {});
            assert!(!r.errors.is_empty() || r.events == 0, "{f} {bytes:?}");
        }
    }
}

fn keys_of(format: LogFormat, path: &str, bytes: &[u8]) -> (Vec<String>, LogRead) {
    let mut keys = Vec::new();
    let r = read(format, path, bytes, &mut |e, _| {
        keys.push(format!("{}{}", e.actor_prefix, e.actor));
    });
    (keys, r)
}

#[test]
fn github_kubernetes_vault_gcp_and_entra_logs_read() {
    let gh = fixture("github-audit.jsonl");
    assert_eq!(detect(&gh), Some(LogFormat::GitHubAudit));
    let (keys, r) = keys_of(LogFormat::GitHubAudit, "gh.jsonl", &gh);
    assert!(r.complete, "{:?}", r.errors);
    assert_eq!(r.events, 3, "{r:?}");
    assert_eq!(r.errors.len(), 1, "the event with no time: {r:?}");
    assert!(
        keys.contains(&"id:github-token/98000182".to_string()),
        "{keys:?}"
    );
    assert!(keys.contains(&"id:github/ana-ng".to_string()));

    let k8s = fixture("kubernetes-audit.jsonl");
    assert_eq!(detect(&k8s), Some(LogFormat::KubernetesAudit));
    let (keys, r) = keys_of(
        LogFormat::KubernetesAudit,
        "kubernetes/prod/audit.jsonl",
        &k8s,
    );
    assert!(r.complete, "{:?}", r.errors);
    assert_eq!(r.events, 3, "a request logged at two stages counts once");
    assert!(
        keys.contains(&"k8s:prod/payments/api".to_string()),
        "{keys:?}"
    );
    assert!(
        keys.contains(&"id:k8s-user/prod/kubernetes-admin".to_string()),
        "{keys:?}"
    );

    let vault = fixture("vault-audit.log");
    assert_eq!(detect(&vault), Some(LogFormat::VaultAudit));
    let (keys, r) = keys_of(LogFormat::VaultAudit, "vault/audit.log", &vault);
    assert!(r.complete, "{:?}", r.errors);
    assert_eq!(
        keys,
        vec![
            "id:vault-entity/6f1e2b4c-0000-4000-8000-000000000001".to_string(),
            "id:vault-accessor/hmac-sha256:bbbb".to_string()
        ],
        "responses only"
    );

    let gcp = fixture("gcp-audit.jsonl");
    assert_eq!(detect(&gcp), Some(LogFormat::GcpAudit));
    let (keys, r) = keys_of(LogFormat::GcpAudit, "gcp.jsonl", &gcp);
    assert!(r.complete, "{:?}", r.errors);
    assert!(
        keys.contains(&"id:gcp-sa-key/de60a6b3cbbec548cd6035c1cee11c895ed11e5b".to_string()),
        "{keys:?}"
    );
    assert!(
        keys.contains(&"email:ana.ng@corp.example".to_string()),
        "{keys:?}"
    );

    let entra = fixture("entra-signins.log");
    assert_eq!(detect(&entra), Some(LogFormat::EntraSignIns));
    let mut got = Vec::new();
    let r = read(LogFormat::EntraSignIns, "entra.log", &entra, &mut |e, _| {
        got.push((
            format!("{}{}", e.actor_prefix, e.actor),
            e.principal.to_string(),
        ));
    });
    assert!(r.complete, "{:?}", r.errors);
    // The client secret or certificate used is the identity; its service principal the principal.
    assert!(
        got.contains(&(
            "id:entra-credential/c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f".to_string(),
            "id:entra-sp/7d1e9a40-3b2c-4d5e-9f60-112233445566".to_string()
        )),
        "{got:?}"
    );
}

#[test]
fn a_request_logged_at_two_stages_counts_once() {
    let line = |stage: &str| {
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1","stage":"{stage}","requestURI":"/api/v1/namespaces/pay/secrets/db","verb":"get","user":{{"username":"system:serviceaccount:pay:api"}},"sourceIPs":["10.0.3.7"],"userAgent":"api/1.0","objectRef":{{"resource":"secrets","namespace":"pay","name":"db"}},"responseStatus":{{"code":403}},"requestReceivedTimestamp":"2026-11-20T10:00:00.000000Z","stageTimestamp":"2026-11-20T10:00:00.010000Z","annotations":{{"authorization.k8s.io/decision":"forbid"}}}}"#
        )
    };
    let text = format!(
        "{}\n{}\n",
        line("RequestReceived"),
        line("ResponseComplete")
    );
    let mut got = Vec::new();
    let r = read(
        LogFormat::KubernetesAudit,
        "kubernetes/prod/audit.log",
        text.as_bytes(),
        &mut |e, at| {
            got.push((
                format!("{}{}", e.actor_prefix, e.actor),
                e.action.to_string(),
                e.denied,
                at,
            ));
        },
    );
    assert!(r.complete && r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(
        got,
        vec![(
            "k8s:prod/pay/api".to_string(),
            "get secrets".to_string(),
            true,
            At::Line(2)
        )]
    );
    assert_eq!(cluster_of("/data/kubernetes/prod/audit.log"), "prod");
    assert_eq!(cluster_of("logs/eks-staging/audit.log"), "eks-staging");
}

#[test]
fn identity_creations_name_what_was_created_and_the_session() {
    // An IAM Identity Center session creates a key for a service user; an IAM
    // user creates a user; a denied CreateAccessKey creates nothing.
    let file = r#"{"Records":[
{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLEID:kofi.khan@northwind.example","arn":"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/kofi.khan@northwind.example","accountId":"111122223333","accessKeyId":"ASIAEXAMPLEEXAMPLE01","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLEID","arn":"arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_0123456789abcdef","accountId":"111122223333","userName":"AWSReservedSSO_AdministratorAccess_0123456789abcdef"},"attributes":{"creationDate":"2026-11-20T09:58:00Z","mfaAuthenticated":"false"}}},"eventTime":"2026-11-20T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.13.25","requestParameters":{"userName":"svc-payments-export"},"responseElements":{"accessKey":{"accessKeyId":"AKIAEXAMPLEEXAMPLE77","status":"Active","userName":"svc-payments-export","createDate":"Nov 20, 2026 10:00:00 AM"}},"requestID":"1","eventID":"1","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"},
{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEEXAMPLE01","arn":"arn:aws:iam::111122223333:user/kofi.khan","accountId":"111122223333","accessKeyId":"AKIAEXAMPLEEXAMPLE11","userName":"kofi.khan"},"eventTime":"2026-11-20T10:05:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.13.25","requestParameters":{"userName":"svc-ledger"},"responseElements":{"user":{"path":"/","userName":"svc-ledger","userId":"AIDAEXAMPLEEXAMPLE02","arn":"arn:aws:iam::111122223333:user/svc-ledger","createDate":"Nov 20, 2026 10:05:00 AM"}},"requestID":"2","eventID":"2","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"},
{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEEXAMPLE01","arn":"arn:aws:iam::111122223333:user/kofi.khan","accountId":"111122223333","accessKeyId":"AKIAEXAMPLEEXAMPLE11","userName":"kofi.khan"},"eventTime":"2026-11-20T10:06:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.13.25","errorCode":"AccessDenied","errorMessage":"not authorized","requestParameters":{"userName":"root-admin"},"responseElements":null,"requestID":"3","eventID":"3","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}
]}"#;
    let mut got = Vec::new();
    let r = read(
        LogFormat::CloudTrail,
        "c.json",
        file.as_bytes(),
        &mut |e, _| {
            got.push((
                e.actor.to_string(),
                e.session.to_string(),
                e.created.to_string(),
            ))
        },
    );
    assert!(r.complete && r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(
        got,
        vec![
            (
                "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_0123456789abcdef".into(),
                "kofi.khan@northwind.example".into(),
                "aws-access-key:AKIAEXAMPLEEXAMPLE77".into()
            ),
            (
                "AKIAEXAMPLEEXAMPLE11".into(),
                String::new(),
                "arn:aws:iam::111122223333:user/svc-ledger".into()
            ),
            ("AKIAEXAMPLEEXAMPLE11".into(), String::new(), String::new()),
        ]
    );
}

#[test]
fn errors_say_which_field_and_where_never_its_value() {
    let token = format!("ghp_{}", "TimeFieldHeldAToken0123456789abcdefgh");
    let ct = format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/x","accessKeyId":"AKIAEXAMPLEKEY000001"}},"eventTime":"{token}","eventSource":"s3.amazonaws.com","eventName":"GetObject"}}"#
    );
    let okta = format!(
        r#"{{"published":"{token}","eventType":"user.session.start","actor":{{"id":"00u1"}}}}"#
    );
    for (format, text) in [
        (LogFormat::CloudTrail, ct),
        (LogFormat::OktaSystemLog, okta),
    ] {
        let r = read(format, "x.jsonl", text.as_bytes(), &mut |_, _| {});
        assert_eq!(r.errors.len(), 1, "{format}: {:?}", r.errors);
        let e = r.errors[0].to_string();
        assert!(!e.contains(&token), "{e}");
        assert!(e.contains("not an RFC 3339 time"), "{e}");
        assert!(matches!(r.errors[0].location, Location::Line(1)), "{e}");
    }
}

#[test]
fn a_broken_line_of_json_lines_costs_only_that_line() {
    let good = String::from_utf8(fixture("cloudtrail-events.jsonl")).unwrap();
    let lines: Vec<&str> = good.lines().take(3).collect();
    // A line cut short, and a line of garbage bytes, between good lines.
    let text = format!(
        "{}\n{}\n{}\n\u{1}\u{2}not json at all\n{}\n",
        lines[0],
        &lines[1][..lines[1].len() / 2],
        lines[2],
        lines[0]
    );
    let (seen, r) = collect(LogFormat::CloudTrail, text.as_bytes());
    assert!(r.complete, "{:?}", r.errors);
    assert_eq!(r.events, 3, "{:?}", r.errors);
    assert_eq!(seen.keys.len(), 3);
    let at: Vec<Location> = r.errors.iter().map(|e| e.location.clone()).collect();
    assert_eq!(
        at,
        vec![Location::Line(2), Location::Line(4)],
        "{:?}",
        r.errors
    );
    assert!(r
        .errors
        .iter()
        .all(|e| e.message.contains("this line was skipped")));
    // Pretty-printed events have no line to resume at: the file ends there.
    let pretty = "{\n  \"eventVersion\": \"1.08\",\n  \"eventTime\": \"2026-10-29T09:00:00Z\",\n  \"userIdentity\": {\n";
    let (_, r) = collect(LogFormat::CloudTrail, pretty.as_bytes());
    assert!(!r.complete);
}
