//! Each EKS cluster's objects as `kubectl get serviceaccounts,secrets,
//! deployments,cronjobs,roles,clusterroles,rolebindings,clusterrolebindings
//! -A -o json` prints them (one `List`), at `kubernetes/<cluster>/objects.json`.
//!
//! Every namespace has its `default` service account; each IRSA role the
//! account's IAM trusts (`system:serviceaccount:<ns>:<name>`) has its
//! service account annotated with the role, and a Deployment running as it
//! that reads its Secret. Some namespaces let their workload read Secrets; a
//! CI deployer in `kube-system` is cluster-admin through a legacy token Secret.

use crate::people::Org;
use crate::rng::Rng;
use crate::surfaces::b64;
use crate::write::Writer;
use crate::SynthError;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub struct K8sOut {
    pub clusters: usize,
    pub service_accounts: usize,
    pub tokens: usize,
    /// Accountable party per service account (see `AwsOut::owners`).
    pub owners: Vec<(String, String)>,
}

fn meta(name: &str, ns: Option<&str>, created: &str, labels: Value, annotations: Value) -> Value {
    let mut m = json!({"name": name, "creationTimestamp": created, "uid": uid(name, ns.unwrap_or("")),
                       "resourceVersion": format!("{}", crate::surfaces_hash(name) % 900_000 + 1000)});
    if let Some(ns) = ns {
        m["namespace"] = json!(ns);
    }
    if labels.as_object().is_some_and(|l| !l.is_empty()) {
        m["labels"] = labels;
    }
    if annotations.as_object().is_some_and(|a| !a.is_empty()) {
        m["annotations"] = annotations;
    }
    m
}

fn uid(name: &str, ns: &str) -> String {
    let a = crate::surfaces_hash(name);
    let b = crate::surfaces_hash(ns);
    format!(
        "{a:08x}-{:04x}-4{:03x}-8{:03x}-{b:08x}{:04x}",
        a >> 16,
        b & 0xfff,
        a & 0xfff,
        (a ^ b) & 0xffff
    )
}

pub(crate) fn token(rng: &mut Rng, ns: &str, sa: &str) -> String {
    let header = b64(r#"{"alg":"RS256","kid":"synthetic"}"#);
    let claims = b64(&format!(
        r#"{{"iss":"kubernetes/serviceaccount","kubernetes.io/serviceaccount/namespace":"{ns}","kubernetes.io/serviceaccount/service-account.name":"{sa}","sub":"system:serviceaccount:{ns}:{sa}"}}"#
    ));
    let sig: String = (0..86)
        .map(|_| {
            let c = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            c[rng.below(64)] as char
        })
        .collect();
    format!(
        "{}.{}.{sig}",
        header.trim_end_matches('='),
        claims.trim_end_matches('=')
    )
}

pub fn write(
    w: &mut Writer,
    rng: &mut Rng,
    org: &Org,
    clusters: &[crate::aws::Cluster],
    extra: &[Value],
) -> Result<K8sOut, SynthError> {
    let mut out = K8sOut {
        clusters: 0,
        service_accounts: 0,
        tokens: 0,
        owners: Vec::new(),
    };
    let owner_of = |ns: &str, rng: &mut Rng| -> Option<String> {
        let t = org.teams.iter().find(|t| t.name == ns)?;
        let active: Vec<usize> = t
            .members
            .iter()
            .copied()
            .filter(|&m| org.people[m].terminated.is_none())
            .collect();
        (!active.is_empty()).then(|| org.people[*rng.pick(&active)].email.clone())
    };
    for (_, cluster, irsa) in clusters {
        out.clusters += 1;
        let created = format!(
            "2025-0{}-1{}T0{}:12:44Z",
            1 + rng.below(8),
            rng.below(10),
            rng.below(10)
        );
        let mut by_ns: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for (ns, sa, role) in irsa {
            by_ns
                .entry(ns.clone())
                .or_default()
                .push((sa.clone(), role.clone()));
        }
        let mut items: Vec<Value> = Vec::new();
        if out.clusters == 1 {
            // A planted scenario's objects live in the first cluster.
            for x in extra {
                match x["kind"].as_str() {
                    Some("ServiceAccount") => out.service_accounts += 1,
                    Some("Secret") => out.tokens += 1,
                    _ => {}
                }
                items.push(x.clone());
            }
        }
        for ns in by_ns
            .keys()
            .map(String::as_str)
            .chain(["kube-system", "monitoring"])
        {
            items.push(json!({"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": meta("default", Some(ns), &created, json!({}), json!({}))}));
            out.service_accounts += 1;
            out.owners
                .push((format!("k8s:{cluster}/{ns}/default"), "none".into()));
        }
        let domain = &org.domain;
        for (ns, accounts) in &by_ns {
            let mut seen = std::collections::HashSet::new();
            let owner = owner_of(ns, rng);
            for (sa, role) in accounts {
                // Two roles may trust one account; the annotation names one.
                if !seen.insert(sa.clone()) {
                    continue;
                }
                let mut ann = json!({"eks.amazonaws.com/role-arn": role});
                if let Some(o) = &owner {
                    ann[format!("{domain}/owner")] = json!(o);
                }
                items.push(json!({"apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": meta(sa, Some(ns), &created, json!({"team": ns, "app.kubernetes.io/name": sa}), ann)}));
                out.service_accounts += 1;
                out.owners.push((
                    format!("k8s:{cluster}/{ns}/{sa}"),
                    owner
                        .as_ref()
                        .map_or_else(|| format!("team:{ns}"), |o| format!("person:{o}")),
                ));
                let secret = format!("{sa}-config");
                let mut data = json!({"LOG_LEVEL": b64("info"), "FEATURE_FLAGS": b64("checkout-v2,fast-refunds")});
                if rng.chance(0.3) {
                    let pw: String = (0..24)
                        .map(|_| (b'a' + rng.below(26) as u8) as char)
                        .collect();
                    data["DB_PASSWORD"] = json!(b64(&format!("Pg{pw}9!")));
                }
                items.push(json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                    "metadata": meta(&secret, Some(ns), &created, json!({"team": ns}), json!({})), "data": data}));
                let image = format!(
                    "123456789012.dkr.ecr.us-east-1.amazonaws.com/{sa}:1.{}.{}",
                    rng.below(20),
                    rng.below(10)
                );
                items.push(json!({"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": meta(sa, Some(ns), &created, json!({"team": ns, "app.kubernetes.io/name": sa}), json!({"deployment.kubernetes.io/revision": "3"})),
                    "spec": {"replicas": 2 + rng.below(3), "selector": {"matchLabels": {"app.kubernetes.io/name": sa}},
                        "template": {"metadata": {"labels": {"app.kubernetes.io/name": sa}},
                            "spec": {"serviceAccountName": sa, "containers": [{"name": "app", "image": image,
                                "envFrom": [{"secretRef": {"name": secret}}],
                                "env": [{"name": "AWS_REGION", "value": "us-east-1"}]}]}}}}));
            }
            // Services that need no cloud identity: their own account, no annotation.
            for k in 0..14 + rng.below(25) {
                let sa = format!(
                    "{ns}-{}-{k}",
                    crate::names::COMPONENTS[rng.below(crate::names::COMPONENTS.len())]
                );
                items.push(json!({"apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": meta(&sa, Some(ns), &created, json!({"team": ns, "app.kubernetes.io/name": sa}), json!({}))}));
                out.service_accounts += 1;
                items.push(json!({"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": meta(&sa, Some(ns), &created, json!({"team": ns, "app.kubernetes.io/name": sa}), json!({})),
                    "spec": {"replicas": 1 + rng.below(3), "selector": {"matchLabels": {"app.kubernetes.io/name": sa}},
                        "template": {"metadata": {"labels": {"app.kubernetes.io/name": sa}},
                            "spec": {"serviceAccountName": sa, "containers": [{"name": "app",
                                "image": format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/{sa}:2.{}.0", rng.below(30))}]}}}}));
            }
            let first = &accounts[0].0;
            if rng.chance(0.35) {
                items.push(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                    "metadata": meta("secret-reader", Some(ns), &created, json!({}), json!({})),
                    "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]}]}));
                items.push(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                    "metadata": meta(&format!("{first}-reads-secrets"), Some(ns), &created, json!({}), json!({})),
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "secret-reader"},
                    "subjects": [{"kind": "ServiceAccount", "name": first, "namespace": ns}]}));
            }
            if rng.chance(0.25) {
                items.push(json!({"apiVersion": "batch/v1", "kind": "CronJob",
                    "metadata": meta(&format!("{ns}-nightly"), Some(ns), &created, json!({"team": ns}), json!({})),
                    "spec": {"schedule": "30 1 * * *", "jobTemplate": {"spec": {"template": {"spec": {
                        "serviceAccountName": first, "restartPolicy": "OnFailure",
                        "containers": [{"name": "job", "image": "public.ecr.aws/docker/library/python:3.12-slim",
                            "envFrom": [{"secretRef": {"name": format!("{first}-config")}}]}]}}}}}}));
            }
        }
        // The CI deployer: cluster-admin, with a long-lived token Secret a
        // pipeline copied years ago.
        items.push(json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": meta("ci-deployer", Some("kube-system"), &created, json!({"team": "platform"}), json!({})),
            "secrets": [{"name": "ci-deployer-token"}]}));
        out.service_accounts += 1;
        let tok = token(rng, "kube-system", "ci-deployer");
        items.push(json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
            "metadata": meta("ci-deployer-token", Some("kube-system"), &created, json!({}),
                             json!({"kubernetes.io/service-account.name": "ci-deployer", "kubernetes.io/service-account.uid": uid("ci-deployer", "kube-system")})),
            "data": {"ca.crt": b64("-----BEGIN CERTIFICATE-----\nsynthetic\n-----END CERTIFICATE-----\n"), "namespace": b64("kube-system"), "token": b64(&tok)}}));
        out.tokens += 1;
        items.push(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": meta("ci-deployer-admin", None, &created, json!({}), json!({})),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": "ci-deployer", "namespace": "kube-system"}]}));
        items.push(json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": meta("prometheus", Some("monitoring"), &created, json!({"team": "platform"}), json!({}))}));
        out.service_accounts += 1;
        items.push(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": meta("prometheus", None, &created, json!({}), json!({})),
            "rules": [{"apiGroups": [""], "resources": ["nodes", "pods", "services", "endpoints"], "verbs": ["get", "list", "watch"]}]}));
        items.push(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": meta("prometheus", None, &created, json!({}), json!({})),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "prometheus"},
            "subjects": [{"kind": "ServiceAccount", "name": "prometheus", "namespace": "monitoring"}]}));
        let list = json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items});
        w.json(&format!("kubernetes/{cluster}/objects.json"), &list, false)?;
    }
    Ok(out)
}
