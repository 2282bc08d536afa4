//! Conformance: custody's parsers on public samples from real systems
//! (`../shared/samples` beside the repository, or `CUSTODY_SAMPLES`), which
//! the repository does not hold. Run when the folder is present; in CI
//! (`CI=true`) a missing folder is a failure, elsewhere a notice. Each test
//! prints the files it checked. The tests `cargo test` relies on use the
//! repository's own fixtures (`fixtures/`).

use custody_connectors::audit::{detect as detect_log, read, LogFormat};
use custody_connectors::{aws, detect, Format, SourceFile};
use custody_model::{EdgeKind, Fact, Key, Location, NodeFact};
use serde_json::json;
use std::path::PathBuf;

/// The samples folder, or `None` (skip) when it is absent outside CI.
fn samples() -> Option<PathBuf> {
    let dir = std::env::var_os("CUSTODY_SAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples")
        });
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "CI=true but the public samples are not at {}: the conformance suite must run in CI",
            dir.display()
        );
    }
    eprintln!(
        "conformance: no public samples at {} (set CUSTODY_SAMPLES): skipped",
        dir.display()
    );
    None
}

fn sample(dir: &std::path::Path, rel: &str) -> Vec<u8> {
    let p = dir.join(rel);
    eprintln!("conformance: checking {}", p.display());
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn nodes(facts: &[Fact]) -> Vec<&NodeFact> {
    facts
        .iter()
        .filter_map(|f| if let Fact::Node(n) = f { Some(n) } else { None })
        .collect()
}

#[test]
fn the_testbench_credential_report() {
    let Some(dir) = samples() else { return };
    let bytes = sample(&dir, "aws-iam/credential_report-AWS_testbench.csv");
    assert_eq!(detect("r.csv", &bytes), Some(Format::AwsCredentialReport));
    let p = aws::credential_report::parse(&SourceFile {
        path: "report.csv",
        bytes: &bytes,
    });
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(p.records, 5);
    let n = nodes(&p.facts);
    assert_eq!(n.iter().filter(|n| n.kind == "aws_root_user").count(), 1);
    let keys: Vec<_> = n.iter().filter(|n| n.kind == "aws_access_key").collect();
    assert_eq!(
        keys.len(),
        3,
        "cloudgoat, jake and test_key_account each have key 1"
    );
    let jake = keys.iter().find(|k| k.props["user"] == "jake").unwrap();
    assert_eq!(
        jake.keys[0].as_str(),
        "aws-key-created:278368863034/jake@2022-05-18T09:51:58Z"
    );
    assert_eq!(jake.props["last_used_region"], "eu-central-1");
    assert_eq!(jake.props["status"], "Active");
    assert_eq!(jake.prov.location, Location::Line(4));
    let test_account = n
        .iter()
        .find(|n| n.name.as_deref() == Some("test_account"))
        .unwrap();
    assert!(
        !test_account.props.contains_key("password_last_used"),
        "no_information is no value"
    );
    assert_eq!(p.scope, "aws-iam-credential-report:278368863034");
}

#[test]
fn the_cloudsplaining_authorization_details() {
    let Some(dir) = samples() else { return };
    let v2 = sample(&dir, "aws-iam/cloudsplaining-test-example_authz_v2.json");
    assert_eq!(detect("a.json", &v2), Some(Format::AwsAuthDetails));
    let bytes = sample(
        &dir,
        "aws-iam/cloudsplaining-test-example-authz-details.json",
    );
    let p = aws::auth_details::parse(&SourceFile {
        path: "authz.json",
        bytes: &bytes,
    });
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let nodes = nodes(&p.facts);
    let count = |k: &str| nodes.iter().filter(|n| n.kind == k).count();
    assert_eq!(count("aws_iam_user"), 3);
    assert_eq!(count("aws_iam_group"), 2);
    assert_eq!(
        count("aws_iam_role") + count("aws_iam_service_linked_role"),
        3
    );
    assert_eq!(count("aws_iam_policy"), 32);
    assert_eq!(p.scope, "aws-iam-authorization-details:012345678901");
    let obama = nodes
        .iter()
        .find(|n| n.name.as_deref() == Some("obama"))
        .unwrap();
    assert_eq!(
        obama.keys[0],
        Key::arn("arn:aws:iam::012345678901:user/obama")
    );
    assert_eq!(obama.props["created"], json!("2019-12-18T19:10:08Z"));
    let member_of = p
        .facts
        .iter()
        .filter(|f| matches!(f, Fact::Edge(e) if e.kind == EdgeKind::MemberOf))
        .count();
    assert!(member_of >= 3);
}

#[test]
fn the_panther_cloudtrail_sample() {
    let Some(dir) = samples() else { return };
    let bytes = sample(&dir, "aws-cloudtrail/panther-tests-AWS_CloudTrail.jsonl");
    assert_eq!(detect_log(&bytes), Some(LogFormat::CloudTrail));
    let mut keys = Vec::new();
    let mut denied = 0;
    let r = read(LogFormat::CloudTrail, "ct.jsonl", &bytes, &mut |ev, _| {
        keys.push(format!("{}{}", ev.actor_prefix, ev.actor));
        denied += usize::from(ev.denied);
    });
    assert!(r.complete, "{:?}", r.errors);
    // Records with no or a redacted eventTime: each reported by line, the rest read.
    let no_time = r
        .errors
        .iter()
        .filter(|e| e.message.contains("no eventTime"))
        .count();
    assert!(no_time >= 14, "{:?}", r.errors);
    assert_eq!(r.events as usize + r.errors.len(), 436);
    assert!(r
        .errors
        .iter()
        .all(|e| matches!(e.location, Location::Line(_))));
    assert!(keys.contains(&"aws-access-key:AKIAI123456789EXAMPLE".to_string()));
    assert!(keys
        .iter()
        .any(|k| k == "arn:aws:iam::123456789012:role/tester"));
    assert!(!keys.iter().any(|k| k.contains(":assumed-role/")));
    assert!(!keys.iter().any(|k| k.contains("ASIA")));
    assert!(keys.iter().any(|k| k.ends_with(":root")));
    assert!(r.unattributed > 0);
    assert!(denied > 0);
}

#[test]
fn the_panther_okta_sample() {
    let Some(dir) = samples() else { return };
    let bytes = sample(&dir, "okta/panther-tests-Okta_SystemLog.jsonl");
    assert_eq!(detect_log(&bytes), Some(LogFormat::OktaSystemLog));
    let mut nets = Vec::new();
    let mut keys = Vec::new();
    let mut geo = Vec::new();
    let r = read(LogFormat::OktaSystemLog, "o.jsonl", &bytes, &mut |e, _| {
        keys.push(format!("{}{}", e.actor_prefix, e.actor));
        nets.push(e.network.to_string());
        geo.extend(e.geo);
    });
    assert!(geo.contains(&(33.9794, -84.3459)), "{geo:?}");
    assert!(r.complete, "{:?}", r.errors);
    assert_eq!(r.events as usize + r.errors.len(), 30, "{r:?}");
    assert!(r.errors.iter().all(|e| e.message.contains("published")));
    assert!(keys.contains(&"okta:00ubewfku1EX0WCFk697".to_string()));
    assert!(nets.contains(&"AS7018".to_string()));
}

fn keys_of(format: LogFormat, path: &str, bytes: &[u8]) -> Vec<String> {
    let mut keys = Vec::new();
    let r = read(format, path, bytes, &mut |e, _| {
        keys.push(format!("{}{}", e.actor_prefix, e.actor));
    });
    assert!(r.complete, "{path}: {:?}", r.errors);
    keys
}

#[test]
fn the_github_kubernetes_vault_gcp_and_entra_samples() {
    let Some(dir) = samples() else { return };
    let gh = sample(&dir, "github-audit/panther-tests-GitHub_Audit.jsonl");
    assert_eq!(detect_log(&gh), Some(LogFormat::GitHubAudit));
    let keys = keys_of(LogFormat::GitHubAudit, "gh.jsonl", &gh);
    assert!(keys.len() > 50, "{}", keys.len());
    assert!(
        keys.iter().any(|k| k.starts_with("id:github-token/")),
        "{keys:?}"
    );
    assert!(keys.contains(&"id:github/bobert".to_string()));

    let k8s = sample(
        &dir,
        "kubernetes-audit/panther-tests-Amazon_EKS_Audit.jsonl",
    );
    assert_eq!(detect_log(&k8s), Some(LogFormat::KubernetesAudit));
    let keys = keys_of(
        LogFormat::KubernetesAudit,
        "kubernetes/prod/audit.jsonl",
        &k8s,
    );
    assert!(keys.iter().any(|k| k.starts_with("k8s:prod/")), "{keys:?}");
    assert!(
        keys.contains(&"id:k8s-user/prod/kubernetes-admin".to_string()),
        "{keys:?}"
    );

    let vault = sample(&dir, "vault-audit/elastic-test-audit.log");
    assert_eq!(detect_log(&vault), Some(LogFormat::VaultAudit));
    let keys = keys_of(LogFormat::VaultAudit, "vault/audit.log", &vault);
    assert!(
        !keys.is_empty() && keys.iter().all(|k| k.starts_with("id:vault-")),
        "{keys:?}"
    );

    let gcp = sample(&dir, "gcp-audit/panther-tests-GCP_AuditLog.jsonl");
    assert_eq!(detect_log(&gcp), Some(LogFormat::GcpAudit));
    let keys = keys_of(LogFormat::GcpAudit, "gcp.jsonl", &gcp);
    assert!(
        keys.contains(&"id:gcp-sa-key/a378358365ff3d22e9c1a72fecf4605ddff76b47".to_string()),
        "{keys:?}"
    );
    assert!(keys.iter().any(|k| k.starts_with("email:")));

    let entra = sample(
        &dir,
        "azure-entra/elastic-test-service-principal-signinlogs-sample.log",
    );
    assert_eq!(detect_log(&entra), Some(LogFormat::EntraSignIns));
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
            "id:entra-credential/dbcd79c0-c3ea-46b9-9604-ff40d43b8618".to_string(),
            "id:entra-sp/b029d485-a308-4311-8720-fb3192e5284e".to_string()
        )),
        "{got:?}"
    );
}
