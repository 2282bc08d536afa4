//! Non-negotiable: no secret value in the database, stdout, stderr or logs.
//! Secrets are planted wherever an input can carry them, then every output is
//! searched for each of them.

mod common;
use common::Env;

fn secrets() -> Vec<String> {
    // Assembled at run time so the source holds no secret-shaped literal.
    vec![
        format!("wJalrXUtnFEMI/K7MDENG/{}", "bPxRfiCYzPLANTEDKEY1"),
        format!("ghp_{}", "PlantedTokenValue0123456789abcdefABCD"),
        format!("xoxb-{}", "2222222222-PlantedSlackTokenValue"),
        format!("sk-proj-{}", "PlantedOpenAIKeyValue0123456789abcdef"),
        format!("postgres://app:{}@db.internal:5432/app", "PlantedDbPassw0rd"),
        format!("-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAAA{}\\n-----END OPENSSH PRIVATE KEY-----", "PlantedKeyBody"),
        format!("{}Hunter2Roster", "PlantedPlain"),
        // Shapes no rule knows, stored under names that say they are secrets.
        format!("{}PlantedTagSecretKey0123456789", "Xq7Zw2Lp9Ry4Tu6V"),
        format!("{}Deploy7okenValue", "Planted"),
        format!("{}VaultPassw0rd", "Planted"),
    ]
}

/// The parts of each secret that must never appear (the connection string's
/// password, the private key's body, the rest whole).
fn needles() -> Vec<String> {
    let s = secrets();
    vec![
        s[0].clone(),
        s[1].clone(),
        s[2].clone(),
        s[3].clone(),
        "PlantedDbPassw0rd".into(),
        "PlantedKeyBody".into(),
        s[6].clone(),
        s[7].clone(),
        s[8].clone(),
        s[9].clone(),
    ]
}

fn plant(env: &Env) {
    let s = secrets();
    let key_id = format!("AKIA{}", "PLANTEDKEY000001");
    // create-access-key output carries the secret access key.
    env.write(
        "in/aws/111122223333/create-access-key.json",
        format!(r#"{{"AccessKey": {{"UserName": "svc-planted", "AccessKeyId": "{key_id}", "Status": "Active", "SecretAccessKey": "{}", "CreateDate": "2026-01-02T03:04:05+00:00"}}}}"#, s[0]).as_bytes(),
    );
    // Secrets pasted into IAM tags and an inline policy.
    env.write(
        "in/aws/111122223333/authorization-details.json",
        format!(
            r#"{{"UserDetailList": [{{"Path": "/", "UserName": "svc-planted", "UserId": "AIDAPLANTED0000000001", "Arn": "arn:aws:iam::111122223333:user/svc-planted",
                "CreateDate": "2025-01-01T00:00:00+00:00", "GroupList": [], "AttachedManagedPolicies": [],
                "UserPolicyList": [{{"PolicyName": "p", "PolicyDocument": {{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {{"StringEquals": {{"aws:UserAgent": "{}"}}}}}}]}}}}],
                "Tags": [{{"Key": "owner", "Value": "ana@corp.example"}}, {{"Key": "deploy-token", "Value": "{}"}}, {{"Key": "db", "Value": "{}"}}, {{"Key": "ssh", "Value": "{}"}},
                         {{"Key": "aws_secret_access_key", "Value": "{}"}}, {{"Key": "deploy_token", "Value": "{}"}}]}}],
              "GroupDetailList": [], "RoleDetailList": [], "Policies": []}}"#,
            s[2], s[1], s[4], s[5], s[7], s[8]
        )
        .as_bytes(),
    );
    // A malformed record whose bad field holds a secret: the error must not echo it.
    env.write(
        "in/aws/222233334444/authorization-details.json",
        format!(r#"{{"UserDetailList": [{{"UserName": "x", "UserId": "AIDAX", "Arn": "arn:aws:iam::222233334444:user/x", "GroupList": "{}"}}]}}"#, s[3]).as_bytes(),
    );
    // A roster with an unknown column and a broken row, both holding secrets.
    env.write(
        "in/hr/roster.csv",
        format!("email,name,status,notes\nana@corp.example,Ana,active,{}\n{},Bo,active,x\nbo@corp.example,Bo,active\n", s[6], s[3]).as_bytes(),
    );
    // A Lambda function whose environment holds secrets: only variable names are kept.
    env.write(
        "in/aws/111122223333/us-east-1/lambda-functions.json",
        format!(r#"{{"Functions": [{{"FunctionName": "export", "FunctionArn": "arn:aws:lambda:us-east-1:111122223333:function:export",
            "Role": "arn:aws:iam::111122223333:user/svc-planted", "Environment": {{"Variables": {{"DATABASE_URL": "{}", "SLACK": "{}"}}}}}}]}}"#, s[4], s[2]).as_bytes(),
    );
    // Terraform state keeps secrets in clear: fingerprinted, never stored.
    env.write(
        "in/terraform/ci/terraform.tfstate",
        format!(r#"{{"version": 4, "terraform_version": "1.7.5", "serial": 3, "lineage": "x", "outputs": {{}}, "resources": [
            {{"mode": "managed", "type": "aws_iam_access_key", "name": "k", "provider": "p", "instances": [{{"attributes": {{"id": "{key_id}", "user": "svc-planted", "secret": "{}", "ses_smtp_password_v4": "{}"}}}}]}},
            {{"mode": "managed", "type": "azuread_application_password", "name": "p", "instances": [{{"attributes": {{"key_id": "8e3c1c4e-0000-4000-8000-0000000000aa", "application_id": "/applications/x", "value": "{}"}}}}]}}]}}"#,
            s[0], s[6], s[3]).as_bytes(),
    );
    // Vault metadata, a policy and an AppRole lookup whose free-form fields hold secrets.
    env.write(
        "in/vault/secret/metadata/app/db.json",
        format!(r#"{{"data": {{"created_time": "2024-01-01T00:00:00Z", "current_version": 1, "custom_metadata": {{"note": "{}", "password": "{}"}}, "versions": {{}}}}}}"#, s[4], s[9]).as_bytes(),
    );
    env.write(
        "in/vault/sys/policy/app.json",
        format!(r#"{{"data": {{"name": "app", "policy": "path "secret/data/app/*" {{ capabilities = ["read"] }} {}"}}}}"#, s[2]).as_bytes(),
    );
    // Entra and GitHub metadata with secrets pasted where a name belongs.
    env.write(
        "in/azure/applications.json",
        format!(r#"[{{"id": "o1", "appId": "a1", "displayName": "app", "signInAudience": "AzureADMyOrg", "notes": "{}",
            "passwordCredentials": [{{"keyId": "k1", "hint": "abc", "secretText": "{}"}}], "keyCredentials": []}}]"#, s[1], s[3]).as_bytes(),
    );
    env.write(
        "in/github/orgs/acme/credential-authorizations.json",
        format!(r#"[{{"login": "ana", "credential_id": 1, "credential_type": "personal access token", "token_last_eight": "{}", "scopes": ["repo"]}}]"#, s[6]).as_bytes(),
    );
    // Truncated JSON that stops right after a secret.
    env.write("in/okta/users.json", format!(r#"[{{"id": "00u1a2b3c4D5E6F7G8H9", "profile": {{"login": "ana@corp.example", "token": "{}""#, s[1]).as_bytes());
}

#[test]
fn planted_secrets_appear_in_no_output_and_not_in_the_database() {
    let env = Env::new();
    plant(&env);
    let input = env.path("in");
    let mut outputs = Vec::new();
    for args in [
        vec!["-vv", "ingest", input.to_str().unwrap()],
        vec!["--format", "json", "-vv", "ingest", input.to_str().unwrap()],
    ] {
        let r = env.run(&args);
        assert_eq!(
            r.code, 1,
            "the malformed files are reported:\n{}\n{}",
            r.stdout, r.stderr
        );
        outputs.push(r.stdout);
        outputs.push(r.stderr);
    }
    let key_id = format!("AKIA{}", "PLANTEDKEY000001");
    for reference in [
        key_id.as_str(),
        "arn:aws:iam::111122223333:user/svc-planted",
        "ana@corp.example",
    ] {
        for fmt in ["table", "json"] {
            let r = env.run(&["--format", fmt, "-vv", "show", reference]).ok();
            outputs.push(r.stdout);
            outputs.push(r.stderr);
        }
    }
    // The scanner reads the same inputs (and a repository file holding every
    // planted value): its outputs, SARIF and what it stores hold no value either.
    let s = secrets();
    env.write(
        "repo/app/.env",
        format!(
            "AWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={}\nGITHUB_TOKEN={}\nSLACK={}\nOPENAI={}\nDATABASE_URL={}\nKEY=\"{}\"\npassword = \"{}\"\n",
            s[0], s[1], s[2], s[3], s[4], s[5], s[6]
        )
        .as_bytes(),
    );
    let repo = env.path("repo");
    // The same file, committed to git history (with the real `git`).
    common::git(&repo, &["init", "-q", "-b", "main"]);
    common::git(&repo, &["add", "."]);
    common::git(&repo, &["commit", "-q", "-m", "config"]);
    for args in [
        vec![
            "-vv",
            "scan",
            "--git",
            repo.to_str().unwrap(),
            input.to_str().unwrap(),
        ],
        vec!["--format", "json", "scan", "--git", repo.to_str().unwrap()],
        vec!["scan", "--git", "--sarif", repo.to_str().unwrap()],
        vec!["-vv", "scan", "--git", "--ingest", repo.to_str().unwrap()],
    ] {
        let r = env.run(&args);
        assert!(r.code <= 1, "{}", r.stderr);
        outputs.push(r.stdout);
        outputs.push(r.stderr);
    }
    // History was read: the committed file is a place of its own.
    let scanned = env
        .run(&["--format", "json", "scan", "--git", repo.to_str().unwrap()])
        .json();
    assert_eq!(scanned["repositories"][0]["commits"], 1);
    assert!(scanned["credentials"][0]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["commit"].is_string()));
    for fmt in ["table", "json"] {
        for args in [
            vec![
                "--format",
                fmt,
                "respond",
                key_id.as_str(),
                "--action",
                "rotate",
            ],
            vec![
                "--format",
                fmt,
                "respond",
                key_id.as_str(),
                "--action",
                "revoke",
            ],
            vec!["--format", fmt, "-vv", "blast-radius", key_id.as_str()],
            vec!["--format", fmt, "-vv", "blast-radius", "--all"],
        ] {
            let r = env.run(&args).ok();
            outputs.push(r.stdout);
            outputs.push(r.stderr);
        }
        // Policy audits read the exports directly, the malformed one included.
        for file in ["111122223333", "222233334444"] {
            let path = input.join(format!("aws/{file}/authorization-details.json"));
            let r = env.run(&[
                "--format",
                fmt,
                "-vv",
                "audit-policies",
                path.to_str().unwrap(),
            ]);
            assert!(r.code <= 1, "{}", r.stderr);
            outputs.push(r.stdout);
            outputs.push(r.stderr);
        }
    }
    for args in [
        vec!["--format", "json", "list", "--all"],
        vec!["--format", "json", "stats"],
        vec!["--format", "json", "snapshots"],
        vec!["list"],
        vec!["--format", "json", "export"],
        vec!["--format", "opengraph", "export"],
        vec!["--format", "json", "findings"],
        vec!["--format", "sarif", "findings"],
        vec!["--format", "ocsf", "findings"],
        vec!["findings", "--limit", "0"],
    ] {
        let r = env.run(&args).ok();
        outputs.push(r.stdout);
        outputs.push(r.stderr);
    }
    // An operator pasting a token into a suppression's reason: stored redacted.
    let reason = format!("approved, the token was {} and {}", s[1], s[3]);
    for args in [
        vec![
            "--format",
            "json",
            "suppress",
            "add",
            "--rule",
            "new-region",
            "--all",
            "--reason",
            reason.as_str(),
        ],
        vec!["--format", "json", "suppress", "list", "--all"],
        vec!["suppress", "list"],
    ] {
        let r = env.run(&args).ok();
        outputs.push(r.stdout);
        outputs.push(r.stderr);
    }
    let csv_dir = env.path("export-csv");
    env.run(&[
        "--format",
        "csv",
        "export",
        "--out",
        csv_dir.to_str().unwrap(),
    ])
    .ok();
    for f in ["nodes.csv", "edges.csv"] {
        outputs.push(std::fs::read_to_string(csv_dir.join(f)).unwrap());
    }
    // The fingerprint of the secret access key is kept, so it is the same node wherever it is found.
    let show = env.run(&["--format", "json", "show", &key_id]).ok().json();
    assert_eq!(show["node"]["props"]["secret_preview"], "wJal****KEY1");
    assert!(show["node"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k.as_str().unwrap().starts_with("fp:")));

    let mut db_bytes = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        if let Ok(b) = std::fs::read(format!("{}{suffix}", env.db().display())) {
            db_bytes.extend(b);
        }
    }
    assert!(!db_bytes.is_empty());
    let db_text = String::from_utf8_lossy(&db_bytes);
    for needle in needles() {
        for (i, o) in outputs.iter().enumerate() {
            assert!(
                !o.contains(&needle),
                "output {i} contains a planted secret:\n{o}"
            );
        }
        assert!(
            !db_text.contains(&needle),
            "the database contains a planted secret"
        );
    }
    // Something was recorded, not just nothing stored: the tag was redacted, not dropped.
    let user = env
        .run(&[
            "--format",
            "json",
            "show",
            "arn:aws:iam::111122223333:user/svc-planted",
        ])
        .ok()
        .json();
    assert!(user["node"]["props"]["tags"]["deploy-token"]
        .as_str()
        .unwrap()
        .starts_with("[REDACTED ghp_****"));
}
