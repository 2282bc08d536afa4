//! `custody scan --validate`: found credentials are checked with their issuers
//! — AWS keys through the SDK against a real moto server with authentication
//! on, the other providers against a local server serving each documented
//! answer — and the answer is printed, stored on the credential, shown by
//! `show`, used by `respond`, and never includes the value.

mod common;

use common::{Answer, Env, FakeApi, Moto, Seen};
use serde_json::{json, Value};
use std::time::Duration;

/// The credential of a scan's JSON output with this key.
fn credential<'a>(scan: &'a Value, key: &str) -> &'a Value {
    scan["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["credential"] == key)
        .unwrap_or_else(|| panic!("{key} not found: {scan:#}"))
}

/// Nothing custody printed or stored holds any of `secrets`.
fn never_shown(env: &Env, outputs: &[String], secrets: &[&str]) {
    let db = std::fs::read(env.db()).unwrap_or_default();
    let db = String::from_utf8_lossy(&db);
    for s in secrets {
        for o in outputs {
            assert!(!o.contains(s), "a secret was printed: {o}");
        }
        assert!(!db.contains(s), "a secret was stored");
    }
}

#[test]
fn a_leaked_aws_key_is_live_as_its_user_until_deleted_then_revoked() {
    let env = Env::new();
    // moto refuses unsigned and wrongly signed requests after the admin is made.
    let moto = Moto::start_with_auth_after(3);
    let out = env.path("estate");
    let key = moto.iam(&["leak", out.to_str().unwrap()]);
    let dotenv = std::fs::read_to_string(out.join("repo/deploy.env")).unwrap();
    let secret = dotenv
        .lines()
        .find_map(|l| l.strip_prefix("AWS_SECRET_ACCESS_KEY="))
        .unwrap()
        .to_string();
    let mut outputs = Vec::new();
    let r = env.run(&["ingest", out.join("aws").to_str().unwrap()]).ok();
    outputs.extend([r.stdout, r.stderr]);

    let aws = [("AWS_ENDPOINT_URL", moto.endpoint.as_str())];
    let repo = out.join("repo");
    let scan = |outputs: &mut Vec<String>| {
        let r = env
            .run_with(
                &[
                    "--format",
                    "json",
                    "scan",
                    "--ingest",
                    "--validate",
                    repo.to_str().unwrap(),
                ],
                &aws,
            )
            .ok();
        outputs.extend([r.stdout.clone(), r.stderr.clone()]);
        r.json()
    };
    let id = format!("aws-access-key:{key}");
    let first = scan(&mut outputs);
    let live = &credential(&first, &id)["liveness"];
    assert_eq!(live["state"], "live", "{live}");
    assert_eq!(live["check"], "aws-sts");
    assert_eq!(
        live["principal"],
        "arn:aws:iam::123456789012:user/svc-leaky"
    );
    assert_eq!(live["account"], "123456789012");
    assert!(live["checked_at"].as_str().unwrap().ends_with('Z'));

    // The key joined the IAM user it is, so `show` has the user and the
    // owner tag, and `respond` can deactivate it.
    let show = env.run(&["--format", "json", "show", &id]).ok();
    outputs.extend([show.stdout.clone(), show.stderr.clone()]);
    let show = show.json();
    assert_eq!(show["node"]["props"]["liveness"], "live", "{show:#}");
    let principals = show["lineage"]["principals"].to_string();
    assert!(principals.contains("svc-leaky"), "{principals}");
    let notes = show["lineage"]["notes"].to_string();
    assert!(
        notes.contains("accepted it as arn:aws:iam::123456789012:user/svc-leaky"),
        "{notes}"
    );
    let plan = env
        .run(&["--format", "json", "respond", &id, "--action", "disable"])
        .ok();
    outputs.extend([plan.stdout.clone(), plan.stderr.clone()]);
    let plan = plan.json();
    assert_eq!(plan["liveness"]["state"], "live");
    assert_eq!(plan["user_name"], "svc-leaky");

    // Deleted in IAM: the issuer now refuses it, and the stored state follows.
    moto.iam(&["delete", out.to_str().unwrap(), "svc-leaky", &key]);
    let second = scan(&mut outputs);
    let gone = &credential(&second, &id)["liveness"];
    assert_eq!(gone["state"], "revoked", "{gone}");
    assert_eq!(gone["detail"], "InvalidClientTokenId");
    let show = env.run(&["--format", "json", "show", &id]).ok();
    outputs.extend([show.stdout.clone(), show.stderr.clone()]);
    assert_eq!(show.json()["node"]["props"]["liveness"], "revoked");

    never_shown(&env, &outputs, &[&secret]);
}

/// A GitHub token with a valid checksum (the scanner checks it).
fn github_token(body: &str) -> String {
    const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    assert_eq!(body.len(), 30);
    let mut n = custody_scan::check::crc32(body.as_bytes()) as u64;
    let mut sum = [b'0'; 6];
    for d in sum.iter_mut().rev() {
        *d = B62[(n % 62) as usize];
        n /= 62;
    }
    format!("ghp_{body}{}", String::from_utf8_lossy(&sum))
}

fn header<'a>(r: &'a Seen, name: &str) -> &'a str {
    r.headers
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

#[test]
fn each_issuer_is_asked_its_own_way_and_rate_limits_timeouts_and_errors_stay_unknown() {
    let env = Env::new();
    let gh_live = github_token("Q7fLm2ZxR9pWv4KcT8nYb3HdJ6sAe1");
    let gh_gone = github_token("Uo5Ni0Mh9Lg8Kf7Je6Id5Hc4Gb3Fa2");
    let slack_live = "xoxb-2739104856-6625910384756-Zq8Yx3Wv6Tt1Rs5Pp0Nn2Mm4".to_string();
    let slack_gone = "xoxb-2739104856-6625910384757-Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8".to_string();
    let openai = "sk-proj-Vb2Nm4Qw6Er8Ty0Ui2Op4AsT3BlbkFJDf6Gh8Jk0Lz2Xc4Vb6Nm8Qw".to_string();
    let datadog = "9f86d081884c7d659a2feaa0c55ad015".to_string();
    let stripe = "sk_live_51Hq8Yx3Wv6Tt1Rs5Pp0Nn2Mm4Lk7Jh".to_string();
    let twilio = "0e9a4c7d2b1f8e6a3c5d7b9f1a2e4c6d".to_string();
    let (l1, l2, l3, l4) = (
        gh_live.clone(),
        slack_live.clone(),
        slack_gone.clone(),
        gh_gone.clone(),
    );
    let api = FakeApi::start(move |r, _| {
        let auth = header(r, "authorization");
        let path = r.path.as_str();
        if let Some(p) = path.strip_prefix("/github") {
            assert_eq!(p, "/user");
            if auth == format!("Bearer {l1}") {
                return Answer::json(200, json!({"login": "octocat", "id": 1}));
            }
            assert_eq!(auth, format!("Bearer {l4}"));
            return Answer::json(401, json!({"message": "Bad credentials"}));
        }
        if let Some(p) = path.strip_prefix("/slack") {
            assert_eq!((r.method.as_str(), p), ("POST", "/api/auth.test"));
            if auth == format!("Bearer {l2}") {
                return Answer::json(
                    200,
                    json!({"ok": true, "user": "deploybot", "team_id": "T0CUSTODY"}),
                );
            }
            assert_eq!(auth, format!("Bearer {l3}"));
            return Answer::json(200, json!({"ok": false, "error": "token_revoked"}));
        }
        if path.starts_with("/openai") {
            // Rate limited once, with the documented header; then fine.
            static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            if CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                let mut a = Answer::json(429, json!({"error": {"code": "rate_limit_exceeded"}}));
                a.headers.push(("retry-after".into(), "1".into()));
                return a;
            }
            return Answer::json(200, json!({"object": "list", "data": []}));
        }
        if path.starts_with("/datadog") {
            return Answer::json(500, json!({"errors": ["Internal Server Error"]}));
        }
        if path.starts_with("/stripe") {
            let mut a = Answer::json(200, json!({"id": "acct_1"}));
            a.delay = Duration::from_secs(4);
            return a;
        }
        Answer::json(404, json!({}))
    });
    let dotenv = format!(
        "GITHUB_TOKEN={gh_live}\nOLD_GITHUB_TOKEN={gh_gone}\nSLACK_BOT_TOKEN={slack_live}\n\
         SLACK_LEGACY_TOKEN={slack_gone}\nOPENAI_API_KEY={openai}\nDD_API_KEY={datadog}\n\
         STRIPE_SECRET_KEY={stripe}\nTWILIO_AUTH_TOKEN={twilio}\n"
    );
    let path = env.write("app/.env", dotenv.as_bytes());
    let base = |p: &str| format!("{}/{p}", api.url);
    let overrides = [
        ("CUSTODY_VALIDATE_GITHUB_URL", base("github")),
        ("CUSTODY_VALIDATE_SLACK_URL", base("slack")),
        ("CUSTODY_VALIDATE_OPENAI_URL", base("openai")),
        ("CUSTODY_VALIDATE_DATADOG_URL", base("datadog")),
        ("CUSTODY_VALIDATE_STRIPE_URL", base("stripe")),
        ("CUSTODY_VALIDATE_TWILIO_URL", String::new()),
    ];
    let envs: Vec<(&str, &str)> = overrides.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = env
        .run_with(
            &[
                "--format",
                "json",
                "scan",
                "--ingest",
                "--validate",
                "--validate-timeout",
                "1",
                path.to_str().unwrap(),
            ],
            &envs,
        )
        .ok();
    let mut outputs = vec![r.stdout.clone(), r.stderr.clone()];
    let scan = r.json();
    let by_rule = |rule: &str| -> Value {
        scan["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["rules"].as_array().unwrap().iter().any(|r| r == rule))
            .map(|c| c["liveness"].clone())
            .collect()
    };
    let github = by_rule("github-token");
    let states: Vec<&Value> = github
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["state"])
        .collect();
    assert!(
        states.contains(&&json!("live")) && states.contains(&&json!("revoked")),
        "{github:#}"
    );
    let gh = github
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["state"] == "live")
        .unwrap();
    assert_eq!(gh["principal"], "octocat");
    let gone = github
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["state"] == "revoked")
        .unwrap();
    assert_eq!(gone["detail"], "HTTP 401");
    let slack = by_rule("slack-token");
    let live = slack
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["state"] == "live")
        .unwrap();
    assert_eq!(
        (&live["principal"], &live["account"]),
        (&json!("deploybot"), &json!("T0CUSTODY"))
    );
    let revoked = slack
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["state"] == "revoked")
        .unwrap();
    assert_eq!(revoked["detail"], "HTTP 200, token_revoked");
    assert_eq!(
        by_rule("openai-api-key")[0]["state"],
        "live",
        "retried after the 429"
    );
    let dd = &by_rule("datadog-api-key")[0];
    assert_eq!(
        (&dd["state"], &dd["detail"]),
        (&json!("unknown"), &json!("HTTP 500"))
    );
    let st = &by_rule("stripe-live-key")[0];
    assert_eq!(st["state"], "unknown");
    assert!(
        st["detail"].as_str().unwrap().contains("within 1 s"),
        "{st}"
    );
    let tw = &by_rule("twilio-auth-token")[0];
    assert_eq!(tw["state"], "unknown");
    assert!(
        tw["detail"]
            .as_str()
            .unwrap()
            .contains("account is not named"),
        "{tw}"
    );

    // Each value went to its own issuer only, in the header it documents.
    let seen = api.seen();
    for r in &seen {
        let auth = header(r, "authorization");
        let own = if r.path.starts_with("/github") {
            [&gh_live, &gh_gone]
                .iter()
                .any(|t| auth.ends_with(t.as_str()))
        } else if r.path.starts_with("/slack") {
            [&slack_live, &slack_gone]
                .iter()
                .any(|t| auth.ends_with(t.as_str()))
        } else if r.path.starts_with("/openai") {
            auth == format!("Bearer {openai}")
        } else if r.path.starts_with("/datadog") {
            header(r, "dd-api-key") == datadog && auth.is_empty()
        } else {
            r.path.starts_with("/stripe") && auth == format!("Bearer {stripe}")
        };
        assert!(
            own,
            "a credential went to the wrong place: {} {}",
            r.method, r.path
        );
    }
    assert_eq!(
        seen.iter()
            .filter(|r| r.path.starts_with("/openai"))
            .count(),
        2,
        "one 429, one retry"
    );

    // Stored on the credential: `show` says so, and risk ranks a live leak up.
    let live_key = scan["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["liveness"]["principal"] == "octocat")
        .unwrap()["credential"]
        .as_str()
        .unwrap()
        .to_string();
    let show = env.run(&["show", &live_key]).ok();
    assert!(
        show.stdout.contains("Its issuer accepted it as octocat"),
        "{}",
        show.stdout
    );
    outputs.extend([show.stdout, show.stderr]);
    let table = env
        .run_with(
            &[
                "scan",
                "--validate",
                "--validate-timeout",
                "1",
                path.to_str().unwrap(),
            ],
            &envs,
        )
        .ok();
    assert!(table.stdout.contains("WORKS?"), "{}", table.stdout);
    assert!(table.stdout.contains("live (octocat)"), "{}", table.stdout);
    outputs.extend([table.stdout, table.stderr]);

    never_shown(
        &env,
        &outputs,
        &[
            &gh_live,
            &gh_gone,
            &slack_live,
            &slack_gone,
            &openai,
            &datadog,
            &stripe,
            &twilio,
        ],
    );
}
