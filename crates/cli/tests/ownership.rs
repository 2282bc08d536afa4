//! One answer to "who is accountable for this key now": the
//! `used-after-owner-left` alert, `custody owner`, `custody offboard`, the
//! `owner-left` finding and the `leavers-active-keys` question agree,
//! on a key whose owner tag was changed (the old owner edge retired) and on a
//! key whose owner only the IdP says has left.
//!
//! The exports are written here in their native formats: an HR roster CSV,
//! Okta's `/api/v1/users`, `aws iam get-account-authorization-details`,
//! `aws iam list-access-keys` and a CloudTrail delivery file.

mod common;
use common::Env;
use serde_json::{json, Value};

const ACCOUNT: &str = "111122223333";

fn authz(owner_a: &str) -> String {
    let user = |name: &str, id: &str, owner: &str| {
        json!({"Path": "/", "UserName": name, "UserId": id,
               "Arn": format!("arn:aws:iam::{ACCOUNT}:user/{name}"),
               "CreateDate": "2024-01-05T10:00:00Z", "UserPolicyList": [], "GroupList": [],
               "AttachedManagedPolicies": [],
               "Tags": [{"Key": "owner", "Value": owner}]})
    };
    json!({
        "UserDetailList": [
            user("svc-a", "AIDAAAAAAAAAAAAAAAAA1", owner_a),
            user("svc-b", "AIDAAAAAAAAAAAAAAAAA2", "cara.lee@corp.example"),
        ],
        "GroupDetailList": [], "RoleDetailList": [], "Policies": []
    })
    .to_string()
}

const KEY_A: &str = "AKIAOWNERTESTKEYAAAA";
const KEY_B: &str = "AKIAOWNERTESTKEYBBBB";

fn event(key: &str, user: &str, time: &str) -> Value {
    json!({"eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAAAAAAAAAAAAAAAAA1",
            "arn": format!("arn:aws:iam::{ACCOUNT}:user/{user}"), "accountId": ACCOUNT,
            "accessKeyId": key, "userName": user},
        "eventTime": time, "eventSource": "s3.amazonaws.com", "eventName": "ListBuckets",
        "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.10",
        "userAgent": "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64", "requestParameters": null,
        "responseElements": null, "requestID": format!("req-{key}-{time}"),
        "eventID": format!("ev-{key}-{time}"), "readOnly": true, "eventType": "AwsApiCall",
        "managementEvent": true, "recipientAccountId": ACCOUNT, "eventCategory": "Management"})
}

#[test]
fn alerts_owner_and_offboard_agree_on_who_is_accountable() {
    let env = Env::new();
    env.write(
        "exports/hr/roster.csv",
        b"employee_id,email,first_name,last_name,department,title,manager_email,status,hire_date,termination_date\n\
          E1,ana.ng@corp.example,Ana,Ng,Engineering,Director,,active,2020-01-01,\n\
          E2,ben.ruiz@corp.example,Ben,Ruiz,Engineering,Engineer,ana.ng@corp.example,active,2021-01-01,\n\
          E3,dan.ode@corp.example,Dan,Ode,Engineering,Engineer,ana.ng@corp.example,terminated,2021-01-01,2026-09-01\n",
    );
    // Cara is a contractor: only the IdP knows her, and it deprovisioned her.
    let okta = json!([{
        "id": "00ucara0000000000001", "status": "DEPROVISIONED",
        "created": "2023-01-01T10:00:00.000Z", "activated": "2023-01-01T10:00:00.000Z",
        "statusChanged": "2026-10-01T09:00:00.000Z", "lastLogin": "2026-09-30T09:00:00.000Z",
        "lastUpdated": "2026-10-01T09:00:00.000Z", "passwordChanged": null,
        "type": {"id": "oty1"},
        "profile": {"firstName": "Cara", "lastName": "Lee", "email": "cara.lee@corp.example",
                    "login": "cara.lee@corp.example", "manager": "ana.ng@corp.example",
                    "mobilePhone": null, "secondEmail": null},
        "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}},
        "_links": {"self": {"href": "https://corp.okta.com/api/v1/users/00ucara0000000000001"}}
    }]);
    env.write("exports/okta/users.json", okta.to_string().as_bytes());
    let dir = format!("exports/aws/{ACCOUNT}");
    env.write(
        &format!("{dir}/authorization-details.json"),
        authz("dan.ode@corp.example").as_bytes(),
    );
    let keys = |user: &str, key: &str| {
        json!({"AccessKeyMetadata": [{"UserName": user, "AccessKeyId": key,
               "Status": "Active", "CreateDate": "2024-02-01T10:00:00+00:00"}]})
        .to_string()
    };
    env.write(
        &format!("{dir}/access-keys.json"),
        format!("{}\n{}", keys("svc-a", KEY_A), keys("svc-b", KEY_B)).as_bytes(),
    );
    let exports = env.path("exports");
    env.run(&["--quiet", "ingest", exports.to_str().unwrap()])
        .ok();
    // The tag is fixed: svc-a is Ben's now, and Dan's owner edge retires.
    env.write(
        &format!("{dir}/authorization-details.json"),
        authz("ben.ruiz@corp.example").as_bytes(),
    );
    env.run(&["--quiet", "ingest", exports.to_str().unwrap()])
        .ok();
    // Both keys used in November, after Dan and Cara left.
    let trail = json!({"Records": [
        event(KEY_A, "svc-a", "2026-11-02T10:00:00Z"),
        event(KEY_B, "svc-b", "2026-11-02T11:00:00Z"),
    ]});
    let log = env.write(
        &format!(
            "logs/AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2026/11/02/{ACCOUNT}_CloudTrail_us-east-1_20261102T1100Z_test.json"
        ),
        trail.to_string().as_bytes(),
    );
    env.run(&["--quiet", "ingest", log.to_str().unwrap()]).ok();

    // Who `custody owner` says is accountable.
    let owners = env
        .run(&["--format", "json", "owner", KEY_A, KEY_B])
        .ok()
        .json();
    let owner_a = &owners[0];
    let owner_b = &owners[1];
    assert_eq!(
        owner_a["owner"]["email"], "ben.ruiz@corp.example",
        "{owner_a:#}"
    );
    assert_eq!(owner_a["owner"]["standing"], "active", "{owner_a:#}");
    assert_eq!(
        owner_b["owner"]["email"], "cara.lee@corp.example",
        "{owner_b:#}"
    );
    assert_eq!(owner_b["owner"]["standing"], "left", "{owner_b:#}");
    assert_eq!(owner_b["owner"]["left_on"], "2026-10-01", "{owner_b:#}");
    assert_eq!(
        owner_b["route"]["to"]["email"], "ana.ng@corp.example",
        "{owner_b:#}"
    );

    // The alert fires for the key whose accountable owner left, not for the
    // key whose old owner edge was retired.
    let alerts = env
        .run(&[
            "--format",
            "json",
            "alerts",
            "--since",
            "2026-01-01",
            "--rule",
            "used-after-owner-left",
        ])
        .ok()
        .json();
    let alerted: Vec<&str> = alerts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["identity"].as_str().unwrap())
        .collect();
    assert_eq!(
        alerted,
        vec![format!("aws-access-key:{KEY_B}").as_str()],
        "{alerts:#}"
    );
    let b = &alerts[0];
    assert_eq!(b["owners"][0], "email:cara.lee@corp.example", "{b:#}");
    assert!(
        b["summary"]
            .as_str()
            .unwrap()
            .contains("cara.lee@corp.example"),
        "{b:#}"
    );

    // Findings and the saved question: the same one key.
    let findings = env
        .run(&["--format", "json", "findings", "--rule", "owner-left"])
        .ok()
        .json();
    let found: Vec<&str> = findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["identity"].as_str().unwrap())
        .collect();
    assert_eq!(found, alerted, "{findings:#}");
    assert_eq!(
        findings["findings"][0]["evidence"]["manager"],
        "email:ana.ng@corp.example"
    );
    let leavers = env
        .run(&["--format", "json", "ask", "leavers-active-keys"])
        .ok()
        .json();
    let rows = leavers["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{leavers:#}");
    assert_eq!(rows[0]["owner"], "email:cara.lee@corp.example");
    assert_eq!(rows[0]["active_credentials"], 1);

    // Offboarding: Dan left nothing behind any more; Cara's key is hers and
    // goes to her manager.
    let dan = env
        .run(&[
            "--format",
            "json",
            "offboard",
            "dan.ode@corp.example",
            "--no-blast-radius",
        ])
        .ok()
        .json();
    assert!(
        dan["identities"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| !h["identity"]["key"].as_str().unwrap().contains(KEY_A)),
        "{dan:#}"
    );
    let cara = env
        .run(&[
            "--format",
            "json",
            "offboard",
            "cara.lee@corp.example",
            "--no-blast-radius",
        ])
        .ok()
        .json();
    let handed: Vec<&Value> = cara["identities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["identity"]["key"] == format!("aws-access-key:{KEY_B}").as_str())
        .collect();
    assert_eq!(handed.len(), 1, "{cara:#}");
    assert_eq!(handed[0]["relation"], "owner", "{cara:#}");
    assert_eq!(handed[0]["used_after_leaving"], true, "{cara:#}");
    assert_eq!(handed[0]["to"]["email"], "ana.ng@corp.example", "{cara:#}");
}

/// `fixtures/estate-kestrel`: an estate written by hand with conventions the
/// synthetic company does not use (addresses that differ between the roster
/// and the IdP, bare handles in tags, one handle two people share, bot
/// commit authors, a label and an annotation that disagree, drift between
/// the live tag and the Terraform code, owners in free text, deactivated
/// users exported separately, a leaver whose manager left too). Its
/// `answers-ownership.json` says who owns each identity and why.
#[test]
fn the_hand_built_estate_scores_every_owner_and_the_leavers_offboarding() {
    let env = Env::new();
    let estate =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/estate-kestrel");
    // The Terraform repository's history, as `git fast-import` rebuilds it.
    let repos = env.path("repos");
    std::fs::create_dir_all(&repos).expect("mkdir");
    common::git(
        &repos,
        &[
            "init",
            "--quiet",
            "--bare",
            "--initial-branch=main",
            "infra.git",
        ],
    );
    let stream = std::fs::read(estate.join("git/infra.fast-import")).expect("fast-import stream");
    let mut fi = std::process::Command::new("git")
        .current_dir(repos.join("infra.git"))
        .args(["fast-import", "--quiet"])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("git fast-import runs");
    {
        use std::io::Write;
        fi.stdin
            .take()
            .expect("stdin")
            .write_all(&stream)
            .expect("write the stream");
    }
    assert!(fi.wait().expect("git fast-import ends").success());
    let estate_s = estate.to_str().expect("utf-8 path");
    env.run(&["--quiet", "ingest", estate_s]).ok();
    env.run(&[
        "--quiet",
        "scan",
        "--git",
        "--ingest",
        repos.to_str().expect("utf-8 path"),
        &format!("{estate_s}/kubernetes"),
    ])
    .ok();
    let answers = estate.join("answers.json");
    let eval = env
        .run(&[
            "--format",
            "json",
            "eval",
            answers.to_str().expect("utf-8 path"),
        ])
        .ok()
        .json();
    let o = &eval["ownership"];
    assert_eq!(o["not_in_graph"], 0, "{o:#}");
    assert_eq!(o["identities"], 50, "{o:#}");
    assert!(o["precision"].as_f64().unwrap_or(0.0) >= 0.95, "{o:#}");
    assert!(o["recall"].as_f64().unwrap_or(0.0) >= 0.90, "{o:#}");
    // Every answer, in fact: the estate is small enough to hold exactly.
    assert_eq!(o["correct"], o["with_owner"], "{o:#}");
    assert_eq!(o["attributed"], o["with_owner"], "{o:#}");
    let leaver = &eval["offboarding"];
    assert_eq!(leaver["holds"], true, "{leaver:#}");
    assert_eq!(leaver["expected"], 10);

    // How the answers are shown: both candidates of an ambiguous handle,
    // both sides of a drift with their sources, a bot shown and not counted.
    let owner = |r: &str| env.run(&["--format", "json", "owner", r]).ok().json();
    let sync = owner("arn:aws:iam::444455556666:user/reporting-sync");
    assert_eq!(sync["status"], "contested", "{sync:#}");
    let named: Vec<&str> = sync["conflicts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["party"]["email"].as_str())
        .collect();
    assert_eq!(
        named,
        ["jpark@kestrel.example", "joon.park@kestrel.example"],
        "{sync:#}"
    );
    let drift = owner("arn:aws:iam::444455556666:user/search-indexer");
    assert_eq!(drift["status"], "contested", "{drift:#}");
    let said: Vec<&str> = drift["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["method"] == "owner-tag")
        .filter_map(|e| e["said"].as_str())
        .collect();
    assert!(
        said.iter()
            .any(|s| s.starts_with("IAM tag owner=dana.kim@")),
        "{said:?}"
    );
    assert!(
        said.iter()
            .any(|s| s
                .starts_with("Terraform state aws_iam_user.search_indexer tag owner=sam.okoro@")),
        "{said:?}"
    );
    let bot = owner("arn:aws:iam::444455556666:user/deploy-bot");
    assert_eq!(bot["owner"]["name"], "Platform", "{bot:#}");
    let automation = bot["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["party"]["email"] == "automation@kestrel.example")
        .unwrap_or_else(|| panic!("the bot's commit is shown: {bot:#}"));
    assert!(automation["not_counted"].is_string(), "{automation:#}");
}
