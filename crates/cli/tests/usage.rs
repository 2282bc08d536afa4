//! End-to-end: audit logs into usage profiles and alerts. The synthetic
//! company's CloudTrail is ingested with the exports; every planted anomaly and
//! stale key is found (eval), a file is counted once, a truncated file is
//! reported and not counted, and a secret in a log never reaches the database
//! or any output.

mod common;
use common::Env;
use std::io::Write;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn audit_logs_become_profiles_and_alerts() {
    let env = Env::new();
    let out = env.path("synthetic");
    let out_s = out.to_str().unwrap().to_string();
    env.run(&[
        "synth",
        "--people",
        "200",
        "--as-of",
        "2026-11-01",
        "--out",
        &out_s,
    ])
    .ok();
    let answers: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("answers.json")).unwrap()).unwrap();
    let r = env
        .run(&["--format", "json", "--quiet", "ingest", &out_s])
        .ok()
        .json();
    // The scan comes after the logs: the planted key's copy in git history is
    // checked against the use already read.
    env.scan_snapshot(&out);
    let logs = &r["logs"];
    let events = answers["expected"]["usage"]["events"].as_u64().unwrap();
    assert_eq!(logs["events"].as_u64().unwrap(), events, "{logs}");
    assert!(logs["events_unattributed"].as_u64().unwrap() > 0);
    assert!(logs["errors"].as_array().unwrap().is_empty(), "{logs}");

    // Every planted anomaly and stale key, nothing else.
    let e = env
        .run(&[
            "--format",
            "json",
            "eval",
            out.join("answers.json").to_str().unwrap(),
        ])
        .ok()
        .json();
    for part in ["alerts", "stale"] {
        assert_eq!(e[part]["precision"], 1.0, "{part}: {e:#}");
        assert_eq!(e[part]["recall"], 1.0, "{part}: {e:#}");
    }
    for rule in [
        "new-region",
        "new-network",
        "new-user-agent",
        "denied-burst",
        "dormant-reuse",
    ] {
        assert!(
            e["by_rule"][rule]["true_positives"].as_u64().unwrap() >= 3,
            "{rule}: {e:#}"
        );
    }

    // Alerts carry their evidence event and the owners.
    let alerts = env
        .run(&["--format", "json", "alerts", "--since", "2026-01-01"])
        .ok()
        .json();
    let alerts = alerts.as_array().unwrap();
    let region = alerts.iter().find(|a| a["rule"] == "new-region").unwrap();
    let ev = &region["evidence"];
    assert!(
        ev["source"].as_str().unwrap().ends_with(".json.gz"),
        "{region}"
    );
    assert!(
        ev["at"].as_str().unwrap().starts_with("#/Records/"),
        "{region}"
    );
    assert!(!ev["region"].as_str().unwrap().is_empty());
    // The six-surface key: used after it was committed to git.
    let planted = format!(
        "aws-access-key:{}",
        answers["scenarios"][0]["access_key_id"].as_str().unwrap()
    );
    assert!(
        alerts
            .iter()
            .any(|a| a["rule"] == "leaked-credential-used" && a["identity"] == planted.as_str()),
        "{alerts:#?}"
    );
    let left = alerts
        .iter()
        .find(|a| a["rule"] == "used-after-owner-left")
        .unwrap();
    assert!(!left["owners"].as_array().unwrap().is_empty());
    // ...and as graph nodes, queryable with ownership.
    let q = env
        .run(&[
            "--format",
            "json",
            "query",
            "MATCH (k:Credential)-[:RAISED]->(a:Alert) WHERE a.rule = 'denied-burst' RETURN k.key AS key, a.time AS time",
        ])
        .ok()
        .json();
    assert_eq!(
        q["rows"].as_array().unwrap().len(),
        e["by_rule"]["denied-burst"]["expected"].as_u64().unwrap() as usize
    );

    // Alerts of one identity within an hour are one incident.
    assert!(alerts.iter().all(|a| a["incident"].as_u64().unwrap() >= 1));

    // An operator accepts the new network of one identity: its alert is no
    // longer listed but counted, and stays on record with who and why.
    // (One whose new value is a /24, given as the address the alert shows.)
    let network = alerts
        .iter()
        .find(|a| {
            a["rule"] == "new-network"
                && a["evidence"]["values"][0]
                    .as_str()
                    .is_some_and(|v| v.ends_with("/24"))
        })
        .unwrap();
    let who = network["identity"].as_str().unwrap();
    let ip = network["evidence"]["ip"].as_str().unwrap();
    assert_eq!(network["evidence"]["values"].as_array().unwrap().len(), 1);
    let add = env
        .run(&[
            "--format",
            "json",
            "suppress",
            "add",
            "--rule",
            "new-network",
            "--value",
            ip,
            "--identity",
            who,
            "--reason",
            "the vendor's new egress",
        ])
        .ok()
        .json();
    assert_eq!(add["value"], network["evidence"]["values"][0], "{add}");
    assert_eq!(add["identity"], who);
    let id = add["id"].as_i64().unwrap().to_string();
    let listed = env
        .run(&["--format", "json", "alerts", "--since", "2026-01-01"])
        .ok()
        .json();
    assert_eq!(listed.as_array().unwrap().len(), alerts.len() - 1);
    let table = env.run(&["alerts", "--since", "2026-01-01"]).ok().stdout;
    assert!(table.contains("1 more covered by a suppression"), "{table}");
    let hidden = env
        .run(&[
            "--format",
            "json",
            "alerts",
            "--since",
            "2026-01-01",
            "--suppressed",
        ])
        .ok()
        .json();
    assert_eq!(hidden.as_array().unwrap().len(), 1, "{hidden}");
    assert_eq!(hidden[0]["suppressed_by"], add["id"]);
    let list = env
        .run(&["--format", "json", "suppress", "list"])
        .ok()
        .json();
    assert_eq!(list[0]["alerts_covered"], 1, "{list}");
    assert_eq!(list[0]["reason"], "the vendor's new egress");
    // A reason is required; a rule without values takes none.
    let no_reason = env.run(&[
        "suppress",
        "add",
        "--rule",
        "new-region",
        "--all",
        "--reason",
        " ",
    ]);
    assert!(
        no_reason.stderr.contains("needs a reason"),
        "{}",
        no_reason.stderr
    );
    let bad = env.run(&[
        "suppress",
        "add",
        "--rule",
        "denied-burst",
        "--value",
        "x",
        "--all",
        "--reason",
        "r",
    ]);
    assert!(bad.stderr.contains("have no value"), "{}", bad.stderr);
    // Removed: listed again, kept on record.
    env.run(&[
        "suppress",
        "remove",
        &id,
        "--reason",
        "vendor confirmed it was not them",
    ])
    .ok();
    let again = env
        .run(&["--format", "json", "alerts", "--since", "2026-01-01"])
        .ok()
        .json();
    assert_eq!(again.as_array().unwrap().len(), alerts.len());
    let all = env
        .run(&["--format", "json", "suppress", "list", "--all"])
        .ok()
        .json();
    assert!(all[0]["removed_by"].is_string(), "{all}");
    assert_eq!(all[0]["removed_reason"], "vendor confirmed it was not them");

    // One identity's profile.
    let key = region["identity"].as_str().unwrap();
    let u = env.run(&["--format", "json", "usage", key]).ok().json();
    let p = &u["profiles"][0]["profile"];
    assert!(p["events"].as_u64().unwrap() > 10);
    assert_eq!(p["regions"].as_array().unwrap().len(), 2);
    let table = env.run(&["usage", key]).ok().stdout;
    assert!(
        table.contains("regions") && table.contains("hours (UTC)"),
        "{table}"
    );

    // Stale: as of the snapshot, the answers' keys.
    let stale = env
        .run(&[
            "--format",
            "json",
            "stale",
            "--as-of",
            "2026-11-01",
            "--limit",
            "0",
        ])
        .ok()
        .json();
    assert_eq!(
        stale.as_array().unwrap().len(),
        answers["expected"]["usage"]["stale_keys"]
            .as_array()
            .unwrap()
            .len()
    );

    // Ingesting the same logs again counts nothing twice.
    let again = env
        .run(&["--format", "json", "--quiet", "ingest", &out_s])
        .ok()
        .json();
    assert_eq!(
        again["logs"]["files_already_counted"],
        again["logs"]["files"]
    );
    assert_eq!(again["logs"]["alerts_raised"], 0);
    let u2 = env.run(&["--format", "json", "usage", key]).ok().json();
    assert_eq!(u2["profiles"][0]["profile"]["events"], p["events"]);
}

#[test]
fn bad_log_files_are_located_and_lose_nothing() {
    let env = Env::new();
    let line = |t: &str, ua: &str| {
        format!(
            r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/ci","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE23456ABCD","userName":"ci"}},"eventTime":"{t}","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"eu-west-1","sourceIPAddress":"198.51.100.7","userAgent":"{ua}","requestParameters":{{"bucketName":"b"}},"responseElements":null,"eventType":"AwsApiCall"}}"#
        )
    };
    // A token someone put in a user agent: custody must never store or print it.
    let secret = "ghp_ZQ3xV9kLmN2pR8sT4uW6yA1bC5dE7fG9hJ0K";
    let good = format!(
        "{{\"Records\":[{},{},{}]}}",
        line("2026-11-01T10:00:00Z", "aws-cli/2.13"),
        line("2026-11-01T11:00:00Z", &format!("curl/8 token={secret}")),
        line("2026-11-01T12:00:00Z", "aws-cli/2.13")
    );
    env.write("logs/a.json.gz", &gzip(good.as_bytes()));
    // The same file copied elsewhere in the tree counts once.
    env.write("logs/copy/a.json.gz", &gzip(good.as_bytes()));
    // One event without a time: reported by its pointer, the rest counted.
    let odd = format!(
        "{{\"Records\":[{},{}]}}",
        line("2026-11-02T10:00:00Z", "aws-cli/2.13"),
        line("", "aws-cli/2.13").replace(r#""eventTime":"","#, "")
    );
    env.write("logs/b.json", odd.as_bytes());
    // Truncated in transfer: reported at its line and column, none of it counted.
    let cut = gzip(&good.as_bytes()[..good.len() / 2]);
    env.write("logs/c.json.gz", &cut);
    // Not gzip at all, though named so.
    env.write("logs/d.json.gz", &gzip(b"{\"Records\": [")[..10]);

    let logs_dir = env.path("logs");
    let r = env.run(&[
        "--format",
        "json",
        "--quiet",
        "ingest",
        logs_dir.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = r.json();
    // Log problems are in `logs.errors`; an unreadable file is an input error.
    let text = format!("{} {}", v["logs"]["errors"], v["report"]["errors"]);
    assert!(
        text.contains("b.json") && text.contains("/Records/1") && text.contains("eventTime"),
        "{text}"
    );
    assert!(
        text.contains("c.json.gz") && text.contains("truncated"),
        "{text}"
    );
    assert!(text.contains("d.json.gz"), "{text}");
    assert!(v["logs"]["events"].as_u64().unwrap() >= 4, "{v:#}");
    let u = env
        .run(&["--format", "json", "usage", "AKIAEXAMPLE23456ABCD"])
        .ok()
        .json();
    // a.json.gz (3) and b.json (1): the truncated file added nothing.
    assert_eq!(u["profiles"][0]["profile"]["events"], 4);
    // Human-readable output too.
    let table = env.run(&["ingest", logs_dir.to_str().unwrap()]);
    assert!(
        table.stdout.contains("problem(s) in the logs"),
        "{}",
        table.stdout
    );

    // The planted token: nowhere in the database or any output.
    let mut outputs = vec![
        r.stdout.clone(),
        r.stderr.clone(),
        table.stdout.clone(),
        serde_json::to_string(&u).unwrap(),
    ];
    for args in [
        vec!["usage", "AKIAEXAMPLE23456ABCD"],
        vec!["--format", "json", "alerts", "--since", "2000-01-01"],
        vec!["--format", "json", "stale"],
    ] {
        let r = env.run(&args);
        outputs.push(r.stdout);
        outputs.push(r.stderr);
    }
    for o in &outputs {
        assert!(
            !o.contains(secret),
            "the secret leaked into an output:\n{o}"
        );
    }
    for entry in std::fs::read_dir(env.db().parent().unwrap()).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            let bytes = std::fs::read(&p).unwrap();
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "the secret is stored in {}",
                p.display()
            );
        }
    }
}

/// CloudTrail's `CreateAccessKey` and `CreateUser` events name who created an
/// identity: the person of an Identity Center session (its name is their
/// e-mail), or a person's own IAM user. `custody owner` shows it as creator
/// evidence; a pipeline's role session names nobody.
#[test]
fn cloudtrail_creations_are_ownership_evidence() {
    let env = Env::new();
    let dir = env.path("exports");
    std::fs::create_dir_all(dir.join("hr")).unwrap();
    std::fs::write(
        dir.join("hr/roster.csv"),
        "employee_id,email,first_name,last_name,department,title,manager_email,status,hire_date,termination_date\n\
         E1,kofi.khan@northwind.example,Kofi,Khan,Engineering,Engineer,,active,2024-01-02,\n\
         E2,ana.ruiz@northwind.example,Ana,Ruiz,Engineering,Engineer,,active,2024-01-02,\n",
    )
    .unwrap();
    let ident = |kind: &str, arn: &str, extra: &str| {
        format!(
            r#"{{"type":"{kind}","principalId":"AROAEXAMPLE:x","arn":"{arn}","accountId":"111122223333"{extra}}}"#
        )
    };
    let sso = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_0123456789abcdef";
    let event = |who: String, name: &str, response: &str, t: &str| {
        format!(
            r#"{{"eventVersion":"1.09","userIdentity":{who},"eventTime":"2026-11-20T10:{t}:00Z","eventSource":"iam.amazonaws.com","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.13.25","requestParameters":{{"userName":"svc"}},"responseElements":{response},"requestID":"1","eventID":"1","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}}"#
        )
    };
    let records = [
        event(
            ident(
                "AssumedRole",
                "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/ana.ruiz@northwind.example",
                &format!(r#","sessionContext":{{"sessionIssuer":{{"type":"Role","arn":"{sso}"}}}}"#),
            ),
            "CreateAccessKey",
            r#"{"accessKey":{"accessKeyId":"AKIAEXAMPLEEXAMPLE77","status":"Active","userName":"svc-export","createDate":"Nov 20, 2026 10:00:00 AM"}}"#,
            "00",
        ),
        event(
            ident(
                "IAMUser",
                "arn:aws:iam::111122223333:user/kofi.khan-2",
                r#","accessKeyId":"AKIAEXAMPLEEXAMPLE11","userName":"kofi.khan-2""#,
            ),
            "CreateUser",
            r#"{"user":{"path":"/","userName":"svc-ledger","userId":"AIDAEXAMPLEEXAMPLE02","arn":"arn:aws:iam::111122223333:user/svc-ledger","createDate":"Nov 20, 2026 10:05:00 AM"}}"#,
            "05",
        ),
        event(
            ident(
                "AssumedRole",
                "arn:aws:sts::111122223333:assumed-role/OrganizationAccountAccessRole/terraform-ci",
                r#","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/OrganizationAccountAccessRole"}}"#,
            ),
            "CreateAccessKey",
            r#"{"accessKey":{"accessKeyId":"AKIAEXAMPLEEXAMPLE88","status":"Active","userName":"svc-batch","createDate":"Nov 20, 2026 10:09:00 AM"}}"#,
            "09",
        ),
    ];
    let trail = dir.join("AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20");
    std::fs::create_dir_all(&trail).unwrap();
    std::fs::write(
        trail.join("111122223333_CloudTrail_us-east-1_20261120T1010Z_abc.json.gz"),
        gzip(format!(r#"{{"Records":[{}]}}"#, records.join(",")).as_bytes()),
    )
    .unwrap();
    let ingest = || {
        env.run(&[
            "--format",
            "json",
            "--quiet",
            "ingest",
            dir.to_str().unwrap(),
        ])
        .ok()
        .json()
    };
    let r = ingest();
    assert_eq!(r["logs"]["creations_recorded"], 2, "{r:#}");

    let owner = |r: &str| env.run(&["--format", "json", "owner", r]).ok().json();
    let key = owner("AKIAEXAMPLEEXAMPLE77");
    assert_eq!(
        key["owner"]["email"], "ana.ruiz@northwind.example",
        "{key:#}"
    );
    let said = key["evidence"][0]["said"].as_str().unwrap();
    assert!(
        said.starts_with("CreateAccessKey by ana.ruiz@northwind.example on 2026-11-20"),
        "{said}"
    );
    assert!(said.contains("#/Records/0"), "{said}");
    // Created by kofi.khan's second IAM user: kofi.khan.
    let user = owner("arn:aws:iam::111122223333:user/svc-ledger");
    assert_eq!(
        user["owner"]["email"], "kofi.khan@northwind.example",
        "{user:#}"
    );
    assert_eq!(user["evidence"][0]["method"], "creator");
    // The pipeline's session names nobody: nothing is recorded (the key is
    // not even in the graph, as no export lists it here).
    let piped = env.run(&["owner", "AKIAEXAMPLEEXAMPLE88"]);
    assert_eq!(piped.code, 2, "{}", piped.stdout);
    assert!(piped.stderr.contains("no node matches"), "{}", piped.stderr);

    // Ingesting the same file again records nothing new.
    assert_eq!(ingest()["logs"]["creations_recorded"], 0);
}

/// Killed between the exports and the audit logs (`CUSTODY_FAILPOINT`, as
/// `kill -9`): the snapshot says its logs are pending, no profile is half
/// written, and the next ingest warns and counts them.
#[test]
fn an_ingest_killed_before_its_logs_shows_them_pending_and_the_next_counts_them() {
    let env = Env::new();
    env.write(
        "in/hr/roster.csv",
        b"email,name,status\nana.ng@corp.example,Ana,active\n",
    );
    env.write(
        "in/logs/cloudtrail.jsonl",
        &common::fixture("audit/cloudtrail-events.jsonl"),
    );
    let input = env.path("in");
    let input = input.to_str().unwrap();
    let r = env.run_with(
        &["--quiet", "ingest", input],
        &[("CUSTODY_FAILPOINT", "after-exports")],
    );
    assert_ne!(r.code, 0, "the failpoint kills the process");
    let snaps = env.run(&["--format", "json", "snapshots"]).ok().json();
    assert_eq!(snaps.as_array().unwrap().len(), 1, "{snaps:#}");
    assert_eq!(snaps[0]["summary"]["audit_logs"]["status"], "pending");
    assert_ne!(env.run(&["usage", "AKIAEXAMPLEDEPLOY001"]).code, 0);

    let again = env
        .run(&["--format", "json", "--quiet", "ingest", input])
        .json();
    let warnings = again["report"]["warnings"].to_string();
    assert!(
        warnings.contains("snapshot 1 stopped before its audit logs"),
        "{again:#}"
    );
    assert_eq!(again["logs"]["events"], 8);
    let snaps = env.run(&["--format", "json", "snapshots"]).ok().json();
    assert_eq!(snaps[1]["summary"]["audit_logs"]["status"], "counted");
    assert_eq!(snaps[0]["summary"]["audit_logs"]["status"], "interrupted");
    assert_eq!(snaps[0]["summary"]["audit_logs"]["logs_read_again_in"], 2);
    let usage = env
        .run(&["--format", "json", "usage", "AKIAEXAMPLEDEPLOY001"])
        .ok()
        .json();
    assert_eq!(usage["profiles"][0]["profile"]["events"], 2, "{usage:#}");
}

/// A log saved by PowerShell's `>` (UTF-16 with a byte-order mark) is read.
#[test]
fn an_audit_log_saved_as_utf16_is_read() {
    let env = Env::new();
    let text = String::from_utf8(common::fixture("audit/cloudtrail-events.jsonl")).unwrap();
    let mut utf16 = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        utf16.extend(u.to_le_bytes());
    }
    let log = env.write("logs/cloudtrail.jsonl", &utf16);
    let out = env
        .run(&[
            "--format",
            "json",
            "--quiet",
            "ingest",
            log.to_str().unwrap(),
        ])
        .json();
    assert_eq!(out["logs"]["events"], 8, "{out:#}");
}

/// A key's CloudTrail: ten days from 198.51.100.0/24, then one day from
/// 198.51.101.0/24 (the same corporate egress /23) and 192.0.2.0/24.
fn egress_trail() -> String {
    let mut records = Vec::new();
    let mut push = |day: u32, hour: u32, ip: &str| {
        records.push(serde_json::json!({
            "eventVersion": "1.09",
            "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLEEXAMPLE01",
                "arn": "arn:aws:iam::111122223333:user/svc-reports", "accountId": "111122223333",
                "accessKeyId": "AKIAEXAMPLEEXAMPLE44", "userName": "svc-reports"},
            "eventTime": format!("2026-11-{day:02}T{hour:02}:00:00Z"),
            "eventSource": "s3.amazonaws.com", "eventName": "GetObject", "awsRegion": "eu-west-1",
            "sourceIPAddress": ip, "userAgent": "aws-sdk-go/1.44.298 (go1.20.6; linux; amd64)",
            "requestParameters": null, "responseElements": null, "eventType": "AwsApiCall",
            "recipientAccountId": "111122223333"
        }));
    };
    for day in 1..=10 {
        for hour in [9, 13] {
            push(day, hour, "198.51.100.20");
        }
    }
    push(12, 9, "198.51.101.7");
    push(12, 10, "192.0.2.44");
    serde_json::json!({ "Records": records }).to_string()
}

#[test]
fn named_ranges_make_one_network_of_an_egress() {
    let new_networks = |env: &Env| -> Vec<serde_json::Value> {
        let logs = env.write("logs/trail.json", egress_trail().as_bytes());
        env.run(&["--quiet", "ingest", logs.to_str().unwrap()]).ok();
        let alerts = env
            .run(&[
                "--format",
                "json",
                "alerts",
                "--since",
                "2026-01-01",
                "--rule",
                "new-network",
            ])
            .ok()
            .json();
        assert_eq!(alerts.as_array().unwrap().len(), 1, "{alerts}");
        alerts[0]["evidence"]["values"].as_array().unwrap().clone()
    };
    // Without ranges: two new /24s.
    let plain = Env::new();
    assert_eq!(new_networks(&plain), ["198.51.101.0/24", "192.0.2.0/24"]);

    // With the company's egress loaded: only the address outside it.
    let env = Env::new();
    let toml = env.write(
        "corp.toml",
        b"[[network]]\nname = \"corp-egress\"\ncidrs = [\"198.51.100.0/23\"]\n",
    );
    let aws = env.write(
        "ip-ranges.json",
        br#"{"syncToken":"1","createDate":"2026-11-20-22-13-07","prefixes":[{"ip_prefix":"3.5.140.0/22","region":"ap-northeast-2","service":"AMAZON","network_border_group":"ap-northeast-2"}],"ipv6_prefixes":[]}"#,
    );
    let loaded = env
        .run(&[
            "--format",
            "json",
            "networks",
            "load",
            toml.to_str().unwrap(),
            aws.to_str().unwrap(),
        ])
        .ok()
        .json();
    assert_eq!(loaded[0]["source"], "corp");
    assert_eq!(loaded[1]["source"], "aws-ip-ranges");
    assert_eq!(new_networks(&env), ["192.0.2.0/24"]);
    let list = env
        .run(&["--format", "json", "networks", "list"])
        .ok()
        .json();
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    assert_eq!(list[0]["published"], "2026-11-20-22-13-07");
    assert_eq!(list[1]["networks"]["corp-egress"], 1);

    // A bad file says where, and stores nothing of it.
    let bad = env.write(
        "bad.toml",
        b"[[network]]\nname = \"x\"\ncidrs = [\"10.0.0.0/8\", \"10.0.0/33\"]\n",
    );
    let r = env.run(&["networks", "load", bad.to_str().unwrap()]);
    assert!(
        r.stderr.contains("bad.toml") && r.stderr.contains("cidrs[1]"),
        "{}",
        r.stderr
    );
    let list = env
        .run(&["--format", "json", "networks", "list"])
        .ok()
        .json();
    assert_eq!(list.as_array().unwrap().len(), 2);
    env.run(&["networks", "remove", "corp"]).ok();
    let list = env
        .run(&["--format", "json", "networks", "list"])
        .ok()
        .json();
    assert_eq!(list.as_array().unwrap().len(), 1);
}
