//! `custody collect aws` against a real moto server holding an organisation
//! (tests/moto/org.py), with authentication on: every account collected
//! through its OrganizationAccountAccessRole, each key joined to its user,
//! account and owner; a key deleted in AWS is retired by the next
//! collection; an account whose role cannot be assumed is incomplete, exits
//! 1, and retires nothing.

mod common;

use common::{walk, Env, Moto};
use serde_json::Value;

struct Org {
    moto: Moto,
    seed: Value,
}

impl Org {
    fn collector(&self) -> (String, String) {
        let c = &self.seed["collector"];
        (
            c["id"].as_str().unwrap().to_string(),
            c["secret"].as_str().unwrap().to_string(),
        )
    }

    fn account(&self, name: &str) -> String {
        self.seed["accounts"][name].as_str().unwrap().to_string()
    }

    /// `org.py VERB ENDPOINT COLLECTOR_ID COLLECTOR_SECRET ARGS…`.
    fn as_collector(&self, verb: &str, args: &[&str]) {
        let (id, secret) = self.collector();
        let mut all = vec![verb, id.as_str(), secret.as_str()];
        all.extend_from_slice(args);
        self.moto.script("org.py", &all);
    }

    /// `custody collect aws` as the collector, JSON out.
    fn collect(&self, env: &Env) -> (i32, Value, String) {
        self.collect_with(env, &[])
    }

    fn collect_with(&self, env: &Env, extra: &[&str]) -> (i32, Value, String) {
        let (id, secret) = self.collector();
        let mut args = vec![
            "--format",
            "json",
            "collect",
            "aws",
            "--endpoint-url",
            &self.moto.endpoint,
        ];
        args.extend_from_slice(extra);
        let r = env.run_with(
            &args,
            &[
                ("AWS_ACCESS_KEY_ID", &id),
                ("AWS_SECRET_ACCESS_KEY", &secret),
                ("AWS_REGION", "us-east-1"),
                ("AWS_CONFIG_FILE", "/nonexistent"),
                ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
                ("AWS_EC2_METADATA_DISABLED", "true"),
            ],
        );
        let out = format!("{}{}", r.stdout, r.stderr);
        (r.code, r.json(), out)
    }
}

fn scope<'a>(collection: &'a Value, name: &str) -> &'a Value {
    collection["collection"]["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["scope"] == name)
        .unwrap_or_else(|| panic!("no scope {name}: {collection:#}"))
}

fn shown(env: &Env, key: &str) -> Value {
    env.run(&["--format", "json", "show", key]).ok().json()
}

#[test]
fn an_organisation_is_collected_joined_and_kept_current() {
    let env = Env::new();
    let moto = Moto::start();
    let seed: Value = serde_json::from_str(&moto.script("org.py", &["seed"])).unwrap();
    let org = Org { moto, seed };
    let management = org.seed["management"].as_str().unwrap().to_string();
    let (payments, sandbox) = (org.account("payments"), org.account("sandbox"));

    // First collection: the organisation and all four accounts, whole.
    let (code, first, out1) = org.collect(&env);
    assert_eq!(code, 0, "{first:#}");
    assert_eq!(
        first["collection"]["caller"],
        format!("arn:aws:iam::{management}:user/collector")
    );
    let names: Vec<&str> = first["collection"]["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["scope"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 5, "{names:?}");
    assert!(names.contains(&"aws:organization"));
    for s in first["collection"]["scopes"].as_array().unwrap() {
        assert_eq!(s["complete"], true, "{s:#}");
    }
    let files: Vec<&str> = scope(&first, &format!("aws:{payments}"))["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    let bucket = org.seed["resources"]["bucket"]
        .as_str()
        .unwrap()
        .to_string();
    for f in [
        format!("aws/{payments}/access-keys.json"),
        format!("aws/{payments}/authorization-details.json"),
        format!("aws/{payments}/credential-report.json"),
        format!("aws/{payments}/iam/instance-profiles.json"),
        format!("aws/{payments}/us-east-1/secretsmanager-list-secrets.json"),
        format!("aws/{payments}/us-east-1/secret-policies/1.json"),
        format!("aws/{payments}/us-east-1/lambda-list-functions.json"),
        format!("aws/{payments}/us-east-1/ec2-describe-instances.json"),
        format!("aws/{payments}/s3/list-buckets.json"),
        format!("aws/{payments}/s3/{bucket}/policy.json"),
        format!("aws/{payments}/s3/{bucket}/tagging.json"),
    ] {
        assert!(files.contains(&f.as_str()), "{f} not in {files:?}");
    }
    assert!(
        files.iter().any(|f| f.ends_with("/key-policy.json")),
        "{files:?}"
    );
    // The snapshot is a dated folder of native exports, owner-only.
    let snapshot = std::path::PathBuf::from(first["snapshot_dir"].as_str().unwrap());
    assert!(snapshot.starts_with(env.path("home/collect/aws")));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&snapshot).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
    common::ingested_cleanly(&first);

    // Every key joins its user in its account; tagged users name their owner.
    for k in org.seed["keys"].as_array().unwrap() {
        let (key, account, user) = (
            k["key"].as_str().unwrap(),
            k["account"].as_str().unwrap(),
            k["user"].as_str().unwrap(),
        );
        let v = shown(&env, key);
        assert_eq!(v["node"]["retired"], false, "{key}");
        let principals = v["lineage"]["principals"].as_array().unwrap();
        assert_eq!(
            principals[0]["key"],
            format!("arn:aws:iam::{account}:user/{user}"),
            "{key}: {v:#}"
        );
        if let Some(owner) = k["owner"].as_str() {
            assert_eq!(
                v["lineage"]["owners"][0]["human"]["key"],
                format!("email:{owner}"),
                "{key}"
            );
        }
    }
    // The inventory joined the graph: the bucket with its owner tag, the
    // secret's resource policy, the function running as its role. No secret
    // value was read.
    let b = env
        .run(&[
            "--format",
            "json",
            "show",
            &format!("arn:aws:s3:::{bucket}"),
        ])
        .ok()
        .stdout;
    assert!(b.contains("payments-lead@example.com"), "{b}");
    let secret = org.seed["resources"]["secret"].as_str().unwrap();
    let sm = env.run(&["--format", "json", "show", secret]).ok().stdout;
    assert!(sm.contains("secretsmanager:GetSecretValue"), "{sm}");
    let f = env
        .run(&[
            "--format",
            "json",
            "show",
            &format!("arn:aws:lambda:us-east-1:{payments}:function:payments-api"),
        ])
        .ok()
        .stdout;
    assert!(
        f.contains(&format!("arn:aws:iam::{payments}:role/payments-app")),
        "{f}"
    );
    let instance = org.seed["resources"]["instance"].as_str().unwrap();
    let i = env
        .run(&[
            "--format",
            "json",
            "show",
            &format!("arn:aws:ec2:us-east-1:{payments}:instance/{instance}"),
        ])
        .ok()
        .stdout;
    assert!(
        i.contains(&format!(
            "arn:aws:iam::{payments}:instance-profile/payments-web"
        )),
        "{i}"
    );
    for file in walk(&snapshot) {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        assert!(
            !text.contains("not-collected"),
            "a secret value in {}",
            file.display()
        );
    }

    // The SCP on the OU and the account's place in the tree.
    let scp = env
        .run(&[
            "--format",
            "json",
            "list",
            "--kind",
            "aws_organizations_policy",
        ])
        .ok()
        .stdout;
    assert!(scp.contains("deny-leave"), "{scp}");

    // A key deleted in AWS; then the collector loses the sandbox account,
    // where a key is deleted too.
    let key_of = |user: &str| {
        org.seed["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["user"] == user)
            .unwrap()["key"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (gone, kept) = (key_of("svc-payments-deploy"), key_of("svc-sandbox-deploy"));
    org.as_collector("delete", &[&payments, "svc-payments-deploy", &gone]);
    org.as_collector("delete", &[&sandbox, "svc-sandbox-deploy", &kept]);
    org.as_collector("deny", &[&sandbox]);

    let (code, second, out2) = org.collect(&env);
    assert_eq!(code, 1, "an incomplete scope exits 1: {second:#}");
    let lost = scope(&second, &format!("aws:{sandbox}"));
    assert_eq!(lost["complete"], false);
    let failure = &lost["failures"][0];
    assert!(
        failure["call"]
            .as_str()
            .unwrap()
            .starts_with("sts:AssumeRole"),
        "{failure}"
    );
    assert!(
        failure["error"].as_str().unwrap().contains("AccessDenied"),
        "{failure}"
    );
    assert_eq!(scope(&second, &format!("aws:{payments}"))["complete"], true);
    // Deleted in a complete account: retired. Deleted where the collection
    // failed: still current (an outage is not a deletion).
    assert_eq!(shown(&env, &gone)["node"]["retired"], true);
    assert_eq!(shown(&env, &kept)["node"]["retired"], false);
    // Unchanged exports of the same account are recognised across snapshots.
    assert!(
        second["ingest"]["report"]["files_unchanged"]
            .as_u64()
            .unwrap()
            > 0,
        "{second:#}"
    );

    // The table says which scope is incomplete and why.
    let (id, secret) = org.collector();
    let table = env.run_with(
        &[
            "collect",
            "aws",
            "--endpoint-url",
            &org.moto.endpoint,
            "--no-ingest",
        ],
        &[
            ("AWS_ACCESS_KEY_ID", &id),
            ("AWS_SECRET_ACCESS_KEY", &secret),
            ("AWS_REGION", "us-east-1"),
            ("AWS_CONFIG_FILE", "/nonexistent"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
        ],
    );
    assert_eq!(table.code, 1);
    assert!(table.stdout.contains("INCOMPLETE"), "{}", table.stdout);
    assert!(table.stdout.contains("Not ingested"), "{}", table.stdout);

    // The collector's secret is in no output, snapshot or database.
    let db = String::from_utf8_lossy(&std::fs::read(env.db()).unwrap()).into_owned();
    for text in [&out1, &out2, &table.stdout, &table.stderr, &db] {
        assert!(!text.contains(&secret), "the collector's secret leaked");
    }
    for f in walk(&env.path("home/collect")) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        assert!(!text.contains(&secret), "{} holds the secret", f.display());
    }
}

#[test]
fn no_credentials_is_a_clear_error() {
    let env = Env::new();
    let r = env.run_with(
        &["collect", "aws", "--endpoint-url", "http://127.0.0.1:9"],
        &[
            ("AWS_ACCESS_KEY_ID", ""),
            ("AWS_SECRET_ACCESS_KEY", ""),
            ("AWS_PROFILE", "custody-test-no-such-profile"),
            ("AWS_CONFIG_FILE", "/nonexistent"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_REGION", "us-east-1"),
        ],
    );
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("no AWS credentials"), "{}", r.stderr);
    assert!(r.stderr.contains("docs/COLLECT.md"), "{}", r.stderr);
}

/// CloudTrail as delivered: the trail's bucket read for the window, the
/// log files ingested into usage, and the next collection reading on from
/// where this one ended (nothing twice).
#[test]
fn cloudtrail_is_read_from_the_trail_bucket_and_continued() {
    let env = Env::new();
    let moto = Moto::start();
    let seed: Value = serde_json::from_str(&moto.script("org.py", &["seed"])).unwrap();
    let org = Org { moto, seed };
    let bucket = org.seed["trail"]["bucket"].as_str().unwrap().to_string();
    // A window ends at the second the collection starts and the next one
    // begins there: files delivered in that same second are the next run's.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (code, first, _) = org.collect_with(
        &env,
        &[
            "--accounts",
            "123456789012",
            "--no-inventory",
            "--cloudtrail",
            "--since",
            "1d",
        ],
    );
    assert_eq!(code, 0, "{first:#}");
    let trail = scope(&first, "aws:cloudtrail");
    assert_eq!(trail["complete"], true, "{trail:#}");
    let files: Vec<&str> = trail["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(
        files.iter().all(|f| f.starts_with(&format!(
            "cloudtrail/{bucket}/AWSLogs/123456789012/CloudTrail/us-east-1/"
        )) && f.ends_with(".json.gz")),
        "{files:?}"
    );
    assert_eq!(first["ingest"]["logs"]["events"], 2, "{first:#}");
    let key = org.seed["trail"]["key"].as_str().unwrap();
    let usage = env.run(&["--format", "json", "usage", key]).ok().stdout;
    assert!(usage.contains("GetObject"), "{usage}");

    // The next collection starts where this one ended: no file read twice.
    let (code, second, _) = org.collect_with(
        &env,
        &[
            "--accounts",
            "123456789012",
            "--no-inventory",
            "--cloudtrail",
        ],
    );
    assert_eq!(code, 0, "{second:#}");
    assert_eq!(
        scope(&second, "aws:cloudtrail")["files"]
            .as_array()
            .unwrap()
            .len(),
        0,
        "{second:#}"
    );
}

/// `--read-secret-values`: a key pair kept in Secrets Manager is read in
/// memory, fingerprinted and joined to its key; the value is in no output,
/// snapshot or database.
#[test]
fn secret_values_are_fingerprinted_on_request_and_never_kept() {
    let env = Env::new();
    let moto = Moto::start();
    let seed: Value = serde_json::from_str(&moto.script("org.py", &["seed"])).unwrap();
    let org = Org { moto, seed };
    let payments = org.account("payments");
    let res = &org.seed["resources"];
    let (key, stored, value) = (
        res["stored_key"].as_str().unwrap().to_string(),
        res["stored_secret"].as_str().unwrap().to_string(),
        res["stored_key_secret"].as_str().unwrap().to_string(),
    );
    let (code, v, out) = org.collect_with(&env, &["--accounts", &payments, "--read-secret-values"]);
    assert_eq!(code, 0, "{v:#}");
    let shown = env.run(&["--format", "json", "show", &key]).ok().stdout;
    assert!(
        shown.contains(&stored),
        "the key is stored in that secret: {shown}"
    );
    let db = String::from_utf8_lossy(&std::fs::read(env.db()).unwrap()).into_owned();
    for text in [&out, &shown, &db] {
        assert!(!text.contains(&value), "a secret value leaked");
    }
    for f in walk(&env.path("home/collect")) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        assert!(!text.contains(&value), "{} holds the value", f.display());
        assert!(
            !text.contains("not-collected"),
            "{} holds a value",
            f.display()
        );
    }
}
