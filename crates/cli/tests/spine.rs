//! End-to-end: synthesise, ingest, show; bad input; atomic ingest.

mod common;
use common::{fixture, Env};
use serde_json::Value;

#[test]
fn synth_ingest_show_finds_the_planted_key_with_every_source() {
    let env = Env::new();
    let out = env.path("synthetic");
    let out_s = out.to_str().unwrap();
    env.run(&[
        "synth",
        "--people",
        "1000",
        "--seed",
        "7",
        "--as-of",
        "2026-11-01",
        "--out",
        out_s,
    ])
    .ok();
    let answers: Value =
        serde_json::from_slice(&std::fs::read(out.join("answers.json")).unwrap()).unwrap();
    let r = env
        .run(&["--format", "json", "--quiet", "ingest", out_s])
        .ok();
    let ingest = r.json();
    assert!(
        ingest["report"]["errors"].as_array().unwrap().is_empty(),
        "{}",
        r.stdout
    );

    // Every access key appears in two exports (credential report, list-access-keys)
    // and must resolve to exactly one node; likewise users and people.
    let stats = env.run(&["--format", "json", "stats"]).ok().json();
    let count = |kind: &str| {
        stats["nodes_by_kind"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r[1] == kind)
            .map(|r| r[2].as_u64().unwrap())
            .unwrap_or(0)
    };
    let nhis = &answers["counts"]["nhis"];
    assert_eq!(
        count("aws_access_key"),
        nhis["aws_access_key"].as_u64().unwrap()
    );
    assert_eq!(
        count("aws_iam_user"),
        nhis["aws_iam_user"].as_u64().unwrap()
    );
    // The roster's people, the planted leaver included.
    assert_eq!(
        count("employee"),
        answers["counts"]["people"].as_u64().unwrap(),
        "HR and Okta people are one human each"
    );
    assert_eq!(
        count("okta_user"),
        0,
        "every Okta user matched an HR record by e-mail"
    );
    // Trust policies become CAN_ASSUME edges from services, identity providers and accounts.
    let edges = |kind: &str| {
        stats["edges_by_kind"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r[0] == kind)
            .map(|r| r[1].as_u64().unwrap())
            .unwrap_or(0)
    };
    let roles = nhis["aws_iam_role"].as_u64().unwrap()
        + nhis["aws_iam_service_linked_role"].as_u64().unwrap();
    assert!(
        edges("CAN_ASSUME") >= roles,
        "every role has at least one trusted principal"
    );
    assert!(count("aws_oidc_provider") > 0 && count("aws_service_principal") > 0);

    let planted = &answers["scenarios"][0];
    let key = planted["access_key_id"].as_str().unwrap();
    let show = env.run(&["--format", "json", "show", key]).ok().json();
    assert_eq!(show["node"]["key"], format!("aws-access-key:{key}"));
    assert_eq!(show["node"]["props"]["status"], "Active");
    let formats: Vec<&str> = show["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["format"].as_str().unwrap())
        .collect();
    assert_eq!(
        formats,
        vec!["aws-iam-credential-report", "aws-iam-access-keys"]
    );
    assert_eq!(
        show["lineage"]["principals"][0]["key"],
        planted["principal_arn"]
    );
    let owner = &show["lineage"]["owners"][0];
    assert_eq!(
        owner["human"]["key"],
        format!("email:{}", planted["owner_email"].as_str().unwrap())
    );
    assert_eq!(owner["employment_status"], "terminated");
    assert_eq!(owner["termination_date"], planted["owner_terminated_on"]);
    assert_eq!(
        owner["sources"][0]["format"],
        "aws-iam-authorization-details"
    );
    assert!(show["lineage"]["notes"][0]
        .as_str()
        .unwrap()
        .contains("after they left"));

    // The table view says the same for a person reading it.
    let table = env.run(&["show", key]).ok().stdout;
    assert!(table.contains("HR: terminated"), "{table}");
    assert!(table.contains("credential-report.csv"));

    // The owner is reachable by e-mail and lists what they own.
    let human = env
        .run(&[
            "--format",
            "json",
            "show",
            planted["owner_email"].as_str().unwrap(),
        ])
        .ok()
        .json();
    assert!(human["lineage"]["owns"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["key"] == planted["principal_arn"]));

    // Every planted reachability answer holds: reachable at the stated access
    // level through the stated principals, or not reachable at all.
    let planted_reach = answers["expected"]["reachability"].as_array().unwrap();
    assert!(planted_reach.len() >= 5, "{planted_reach:?}");
    let mut args = vec!["--format", "json", "--quiet", "blast-radius"];
    args.extend(
        planted_reach
            .iter()
            .map(|w| w["access_key_id"].as_str().unwrap()),
    );
    let all = env.run(&args).ok().json();
    for (want, br) in planted_reach.iter().zip(all.as_array().unwrap()) {
        assert_eq!(br["reference"], want["access_key_id"]);
        let hit = br["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["arn"] == want["resource"]);
        match want["access"].as_str() {
            None => assert!(hit.is_none(), "{}: {hit:?}", want["id"]),
            Some(level) => {
                let hit = hit.unwrap_or_else(|| panic!("{}: not reached", want["id"]));
                assert_eq!(hit["access"], level, "{}: {hit}", want["id"]);
                assert_eq!(hit["conditional"], false, "{}", want["id"]);
                if !want["via"].as_array().unwrap().is_empty() {
                    assert_eq!(hit["path"], want["via"], "{}", want["id"]);
                }
            }
        }
    }
    let ranked = env
        .run(&[
            "--format",
            "json",
            "--quiet",
            "blast-radius",
            "--all",
            "--top",
            "5",
        ])
        .ok()
        .json();
    let ranked = ranked.as_array().unwrap();
    assert_eq!(ranked.len(), 5);
    assert!(ranked[0]["score"].as_u64() >= ranked[4]["score"].as_u64());
    let table = env.run(&["blast-radius", key]).ok().stdout;
    assert!(table.contains("Blast radius of"), "{table}");

    // Ingesting the same snapshot again changes nothing but adds a snapshot.
    let again = env
        .run(&["--format", "json", "--quiet", "ingest", out_s])
        .ok()
        .json();
    assert_eq!(again["report"]["nodes_created"], 0);
    assert_eq!(again["report"]["nodes_retired"], 0);
    assert_eq!(
        again["report"]["files_unchanged"],
        again["files"].as_array().unwrap().len()
    );
    // The first ingest, the key creations its CloudTrail shows (recorded as
    // ownership evidence), the usage alerts it raised (their own scope), and
    // the re-ingest (logs already counted: nothing new to record).
    let created = ingest["logs"]["creations_recorded"].as_u64().unwrap();
    assert!(created > 0, "keys created in the window have their events");
    let snaps = env.run(&["--format", "json", "snapshots"]).ok().json();
    assert_eq!(snaps.as_array().unwrap().len(), 4);
    assert_eq!(again["logs"]["alerts_raised"], 0);
    assert_eq!(again["logs"]["creations_recorded"], 0);
}

#[test]
fn synth_is_deterministic_for_a_seed() {
    let env = Env::new();
    for d in ["a", "b"] {
        env.run(&[
            "--quiet",
            "synth",
            "--people",
            "40",
            "--seed",
            "3",
            "--as-of",
            "2026-01-01",
            "--out",
            env.path(d).to_str().unwrap(),
        ])
        .ok();
    }
    for f in ["hr/roster.csv", "okta/users.json", "answers.json"] {
        assert_eq!(
            std::fs::read(env.path("a").join(f)).unwrap(),
            std::fs::read(env.path("b").join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn the_synthetic_credential_report_carries_no_key_ids() {
    let env = Env::new();
    let out = env.path("s");
    env.run(&[
        "--quiet",
        "synth",
        "--people",
        "40",
        "--out",
        out.to_str().unwrap(),
    ])
    .ok();
    for entry in std::fs::read_dir(out.join("aws")).unwrap() {
        let dir = entry.unwrap().path();
        let report = std::fs::read_to_string(dir.join("credential-report.csv")).unwrap();
        let authz = std::fs::read_to_string(dir.join("authorization-details.json")).unwrap();
        assert!(
            !report.contains("AKIA") && !authz.contains("AKIA"),
            "only list-access-keys carries key ids"
        );
        assert!(std::fs::read_to_string(dir.join("access-keys.json"))
            .unwrap()
            .contains("AKIA"));
    }
}

#[test]
fn malformed_inputs_are_located_and_the_rest_is_stored() {
    let env = Env::new();
    let dir = env.path("in");
    let authz = String::from_utf8(fixture("aws-iam/authorization-details.json")).unwrap();
    env.write(
        "in/truncated-authz.json",
        &authz.as_bytes()[..authz.len() / 2],
    );
    env.write(
        "in/roster-wrong-header.csv",
        b"name,department,status\nAna,Sales,active\n",
    );
    let mut bom_roster = b"\xEF\xBB\xBF".to_vec();
    bom_roster.extend_from_slice(b"email,name,status,manager_email\nana@corp.example,Ana,active,\nbo@corp.example,Bo,terminated,ana@corp.example\n");
    env.write("in/roster.csv", &bom_roster);
    env.write("in/empty.json", b"");
    env.write("in/report.csv", &fixture("aws-iam/credential-report.csv"));
    env.write("in/README.txt", b"not data: skipped");
    let r = env.run(&[
        "--format",
        "json",
        "--quiet",
        "ingest",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(
        r.code, 1,
        "input errors give exit 1:\n{}\n{}",
        r.stdout, r.stderr
    );
    let out = r.json();
    let errors = out["report"]["errors"].as_array().unwrap();
    let find = |name: &str| {
        errors
            .iter()
            .find(|e| e["source_path"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("no error for {name}: {errors:?}"))
    };
    let t = find("truncated-authz.json");
    assert!(t["location"]["line_col"].is_array(), "{t}");
    assert!(t["message"].as_str().unwrap().starts_with("truncated JSON"));
    let e = find("empty.json");
    assert_eq!(e["message"], "the file is empty");
    let w = find("roster-wrong-header.csv");
    assert_eq!(w["location"]["line"], 1, "{w}");
    assert!(
        w["message"]
            .as_str()
            .unwrap()
            .contains("CSV header not recognised"),
        "{w}"
    );
    assert_eq!(out["skipped"].as_array().unwrap().len(), 1);
    // The good files were stored.
    env.run(&["show", "bo@corp.example"]).ok();
    env.run(&["show", "arn:aws:iam::111122223333:user/jake"])
        .ok();
    // The errors are recorded with the snapshot.
    let stats = env.run(&["--format", "json", "stats"]).ok().json();
    assert_eq!(
        stats["input_errors"].as_u64().unwrap() as usize,
        errors.len()
    );
}

#[test]
fn a_failed_ingest_leaves_the_database_as_it_was() {
    let env = Env::new();
    env.write("a/report.csv", &fixture("aws-iam/credential-report.csv"));
    env.write(
        "b/authz.json",
        &fixture("aws-iam/authorization-details.json"),
    );
    env.run(&["--quiet", "ingest", env.path("a").to_str().unwrap()])
        .ok();
    let before = env.run(&["--format", "json", "stats"]).ok().stdout;
    let r = env.run_with(
        &["--quiet", "ingest", env.path("b").to_str().unwrap()],
        &[("CUSTODY_FAILPOINT", "after-nodes:10")],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("rolled back"), "{}", r.stderr);
    let after = env.run(&["--format", "json", "stats"]).ok().stdout;
    assert_eq!(before, after);
    assert_ne!(
        env.run(&["show", "arn:aws:iam::111122223333:user/admin-ana"])
            .code,
        0
    );
}

#[test]
fn show_explains_what_it_cannot_find_and_commands_need_a_database() {
    let env = Env::new();
    let r = env.run(&["stats"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no database"), "{}", r.stderr);
    env.write("a/report.csv", &fixture("aws-iam/credential-report.csv"));
    env.run(&["--quiet", "ingest", env.path("a").to_str().unwrap()])
        .ok();
    let r = env.run(&["show", "nobody@nowhere.example"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("nothing matches"));
    // By node id and by unique name too.
    let list = env
        .run(&["--format", "json", "list", "--kind", "aws_iam_user"])
        .ok()
        .json();
    let id = list[0]["id"].as_i64().unwrap();
    env.run(&["show", &id.to_string()]).ok();
    env.run(&["show", "deploy-bot"]).ok();
    // Compacting rewrites the file and changes nothing it holds.
    let before = env.run(&["--format", "json", "stats"]).ok().json();
    let c = env.run(&["--format", "json", "compact"]).ok().json();
    assert!(c["bytes_after"].as_u64().unwrap() <= c["bytes_before"].as_u64().unwrap());
    assert_eq!(
        std::fs::metadata(env.db()).unwrap().len(),
        c["bytes_after"].as_u64().unwrap()
    );
    assert_eq!(env.run(&["--format", "json", "stats"]).ok().json(), before);
    env.run(&["show", "deploy-bot"]).ok();
}

#[test]
fn show_reports_privilege_escalation_from_a_principals_own_policies() {
    let env = Env::new();
    env.write("authz.json", &fixture("aws-iam/authorization-details.json"));
    env.run(&[
        "--quiet",
        "ingest",
        env.path("authz.json").to_str().unwrap(),
    ])
    .ok();
    let techniques = |arn: &str| common::escalation_techniques(&env, arn);
    let admin = techniques("arn:aws:iam::111122223333:user/admin-ana");
    let missing = common::techniques_missing(&admin);
    assert!(
        missing.is_empty(),
        "AdministratorAccess allows every technique it has a target for: {missing:?}"
    );
    let deployer = techniques("arn:aws:iam::111122223333:user/lambda-deployer");
    assert!(
        deployer.contains(&"passrole-lambda-invoke".to_string()),
        "{deployer:?}"
    );
    assert!(techniques("arn:aws:iam::111122223333:role/MyOtherRole").is_empty());
    let table = env
        .run(&["show", "arn:aws:iam::111122223333:user/admin-ana"])
        .ok()
        .stdout;
    assert!(
        table.contains("in arn:aws:iam::aws:policy/AdministratorAccess"),
        "{table}"
    );
}

#[test]
fn exports_as_people_save_them_are_read_or_reported_never_skipped_silently() {
    let env = Env::new();
    // Terraform writes `outputs` before `resources`: a state with 100 KiB of
    // outputs still is a state.
    let outputs: serde_json::Map<String, Value> = (0..400)
        .map(|i| {
            (
                format!("endpoint_{i}"),
                serde_json::json!({"value": "x".repeat(240), "type": "string"}),
            )
        })
        .collect();
    // In Terraform's own key order (serde_json would sort them).
    let resources = serde_json::json!([{"mode": "managed", "type": "aws_iam_user", "name": "ci", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
        "instances": [{"schema_version": 0, "attributes": {"name": "ci-deployer", "arn": "arn:aws:iam::111122223333:user/ci-deployer", "tags": {}}}]}]);
    let text = format!(
        "{{\n  \"version\": 4,\n  \"terraform_version\": \"1.7.5\",\n  \"serial\": 9,\n  \"lineage\": \"5b2f-lineage\",\n  \"outputs\": {},\n  \"resources\": {},\n  \"check_results\": null\n}}\n",
        serde_json::to_string_pretty(&Value::Object(outputs)).unwrap(),
        serde_json::to_string_pretty(&resources).unwrap()
    );
    assert!(text.find("\"resources\"").unwrap() > 64 * 1024);
    env.write("in/infra/terraform.tfstate", text.as_bytes());
    // An HR roster saved by PowerShell's `>`: UTF-16 with a byte-order mark.
    let mut roster = vec![0xFF, 0xFE];
    for u in "email,name,status\r\nzoe@corp.example,Zoë,active\r\n".encode_utf16() {
        roster.extend(u.to_le_bytes());
    }
    env.write("in/hr/roster.csv", &roster);
    // An empty state and one that is not JSON: errors, not skips.
    env.write("in/old/terraform.tfstate", b"");
    env.write("in/old/other.tfstate.backup", b"not json\n");
    let r = env.run(&[
        "--format",
        "json",
        "--quiet",
        "ingest",
        env.path("in").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let out = r.json();
    let formats: Vec<&str> = out["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["format"].as_str().unwrap())
        .collect();
    assert!(formats.contains(&"terraform-state"), "{formats:?}");
    assert!(formats.contains(&"hr-roster"), "{formats:?}");
    assert!(out["skipped"].as_array().unwrap().is_empty(), "{out:#}");
    let errors = out["report"]["errors"].as_array().unwrap();
    let of = |name: &str| {
        errors
            .iter()
            .find(|e| e["source_path"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("no error for {name}: {errors:?}"))
    };
    assert_eq!(of("old/terraform.tfstate")["message"], "the file is empty");
    assert!(of("other.tfstate.backup")["message"]
        .as_str()
        .unwrap()
        .contains("Terraform state"));
    let zoe = env
        .run(&["--format", "json", "show", "zoe@corp.example"])
        .ok()
        .json();
    assert_eq!(zoe["node"]["name"], "Zoë");
}

/// Crash consistency: an ingest killed (as `kill -9` would) at many points
/// of its transaction leaves the store exactly as it was; the same ingest
/// then completes, and so does one killed after it (the new state stays).
#[test]
fn an_ingest_killed_anywhere_leaves_the_old_state_or_the_new_never_a_mix() {
    let env = Env::new();
    env.write("a/report.csv", &fixture("aws-iam/credential-report.csv"));
    env.write(
        "b/authz.json",
        &fixture("aws-iam/authorization-details.json"),
    );
    env.run(&["--quiet", "ingest", env.path("a").to_str().unwrap()])
        .ok();
    let old = env.run(&["--format", "json", "stats"]).ok().stdout;
    let b = env.path("b");
    let b = b.to_str().unwrap();
    for n in [1, 2, 3, 5, 8, 13] {
        let r = env.run_with(
            &["--quiet", "ingest", b],
            &[("CUSTODY_FAILPOINT", &format!("kill-after-nodes:{n}"))],
        );
        assert_ne!(r.code, 0, "killed after {n} nodes");
        let now = env.run(&["--format", "json", "stats"]).ok().stdout;
        assert_eq!(now, old, "killed after {n} nodes: the old state, whole");
    }
    env.run(&["--quiet", "ingest", b]).ok();
    let new = env.run(&["--format", "json", "stats"]).ok().stdout;
    assert_ne!(new, old);
    env.run(&["show", "arn:aws:iam::111122223333:user/admin-ana"])
        .ok();
    // Killed in a later ingest: the new state stays.
    env.write(
        "c/roster.csv",
        b"email,name,status\nana.ng@corp.example,Ana,active\n",
    );
    let r = env.run_with(
        &["--quiet", "ingest", env.path("c").to_str().unwrap()],
        &[("CUSTODY_FAILPOINT", "kill-after-nodes:1")],
    );
    assert_ne!(r.code, 0);
    assert_eq!(env.run(&["--format", "json", "stats"]).ok().stdout, new);

    // A first load (an empty database is written without WAL, indexes
    // built at the end) killed at several points of a synthetic company:
    // still an empty, usable database.
    let env = Env::new();
    let out = env.path("synthetic");
    env.run(&[
        "synth",
        "--people",
        "60",
        "--as-of",
        "2026-11-01",
        "--out",
        out.to_str().unwrap(),
    ])
    .ok();
    for n in [1, 700, 4000] {
        let r = env.run_with(
            &["--quiet", "ingest", out.to_str().unwrap()],
            &[("CUSTODY_FAILPOINT", &format!("kill-after-nodes:{n}"))],
        );
        assert_ne!(r.code, 0, "killed after {n} nodes");
        let stats = env.run(&["--format", "json", "stats"]).ok().json();
        assert_eq!(stats["nodes"], 0, "killed after {n} nodes: {stats}");
        assert_eq!(stats["snapshots"], 0, "{stats}");
    }
    env.run(&["--quiet", "ingest", out.to_str().unwrap()]).ok();
    assert!(
        env.run(&["--format", "json", "stats"]).ok().json()["nodes"]
            .as_u64()
            .unwrap()
            > 4000
    );
}

/// `aws iam list-access-keys --user-name X > keys.json`, saved anywhere: the
/// listing names no account, so each key joins the one IAM user of that name
/// this ingest or the database knows; a name two accounts have, or none, is
/// a located error naming them and the fix, and nothing is guessed.
#[test]
fn access_key_listings_saved_anywhere_join_their_user_by_name() {
    let env = Env::new();
    let details = |account: &str, users: &[&str]| {
        serde_json::json!({
            "UserDetailList": users.iter().enumerate().map(|(i, u)| serde_json::json!({
                "Path": "/", "UserName": u, "UserId": format!("AIDA{account}{i:05}"),
                "Arn": format!("arn:aws:iam::{account}:user/{u}"), "CreateDate": "2025-01-10T10:00:00Z",
                "UserPolicyList": [], "GroupList": [], "AttachedManagedPolicies": [], "Tags": []})).collect::<Vec<_>>(),
            "GroupDetailList": [], "RoleDetailList": [], "Policies": []
        })
        .to_string()
    };
    // Exports kept in folders that name no account, as people save them.
    env.write(
        "exports/prod-iam.json",
        details("111122223333", &["svc-x", "svc-both"]).as_bytes(),
    );
    env.write(
        "exports/dev-iam.json",
        details("444455556666", &["svc-both"]).as_bytes(),
    );
    let listing = |user: &str, id: &str| {
        format!(
            r#"{{"AccessKeyMetadata": [{{"UserName": "{user}", "AccessKeyId": "{id}", "Status": "Active", "CreateDate": "2025-02-01T10:00:00+00:00"}}]}}"#
        )
    };
    env.write(
        "exports/Downloads/keys.json",
        format!(
            "{}\n{}\n",
            listing("svc-x", "AKIAEXAMPLEPLACED001"),
            listing("svc-both", "AKIAEXAMPLEPLACED002")
        )
        .as_bytes(),
    );
    let exports = env.path("exports");
    let r = env
        .run(&[
            "--format",
            "json",
            "--quiet",
            "ingest",
            exports.to_str().unwrap(),
        ])
        .json();
    let errors = r["report"]["errors"].to_string();
    assert!(
        errors.contains("2 accounts have an IAM user named svc-both (111122223333, 444455556666)"),
        "{errors}"
    );
    let shown = env
        .run(&["--format", "json", "show", "AKIAEXAMPLEPLACED001"])
        .ok()
        .json();
    let text = shown.to_string();
    assert!(
        text.contains("arn:aws:iam::111122223333:user/svc-x"),
        "{text}"
    );
    assert!(env.run(&["show", "AKIAEXAMPLEPLACED002"]).code != 0);
    // A later listing alone joins the users the database already knows.
    env.write(
        "later/keys.json",
        listing("svc-x", "AKIAEXAMPLEPLACED003").as_bytes(),
    );
    env.run(&["--quiet", "ingest", env.path("later").to_str().unwrap()])
        .ok();
    let shown = env
        .run(&["--format", "json", "show", "AKIAEXAMPLEPLACED003"])
        .ok()
        .json()
        .to_string();
    assert!(
        shown.contains("arn:aws:iam::111122223333:user/svc-x"),
        "{shown}"
    );
}

/// `custody ingest` on a folder that also holds what only `custody scan`
/// reads says, file by file, what each is and which command reads it.
#[test]
fn ingest_names_the_files_scan_reads() {
    let env = Env::new();
    env.write(
        "estate/aws/111122223333/credential-report.csv",
        &fixture("aws-iam/credential-report.csv"),
    );
    env.write(
        "estate/laptop/.cursor/mcp.json",
        br#"{"mcpServers": {"gh": {"command": "npx", "env": {"GITHUB_TOKEN": "${env:GITHUB_TOKEN}"}}}}"#,
    );
    env.write("estate/app/.env", b"DATABASE_URL=${DATABASE_URL}\n");
    env.write(
        "estate/app/.github/workflows/deploy.yml",
        b"on: push\njobs:\n  d:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n",
    );
    env.write("estate/notes.txt", b"nothing custody reads\n");
    let estate = env.path("estate");
    let r = env
        .run(&[
            "--format",
            "json",
            "--quiet",
            "ingest",
            estate.to_str().unwrap(),
        ])
        .ok()
        .json();
    let for_scan: Vec<(String, String)> = r["for_scan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let p = f["path"].as_str().unwrap();
            let rel = p.rsplit("estate/").next().unwrap().to_string();
            (rel, f["what"].as_str().unwrap().to_string())
        })
        .collect();
    let want = |p: &str, what: &str| for_scan.contains(&(p.to_string(), what.to_string()));
    assert!(
        want("laptop/.cursor/mcp.json", "an MCP client configuration"),
        "{for_scan:?}"
    );
    assert!(want("app/.env", "an environment file"), "{for_scan:?}");
    assert!(
        want(
            "app/.github/workflows/deploy.yml",
            "a GitHub Actions workflow"
        ),
        "{for_scan:?}"
    );
    assert_eq!(for_scan.len(), 3, "{for_scan:?}");
    let text = env.run(&["ingest", estate.to_str().unwrap()]).ok().stdout;
    assert!(
        text.contains("read by `custody scan`, not ingest"),
        "{text}"
    );
}
