//! Kubernetes objects as `kubectl get … -A -o json` prints them: a `List` (or
//! `ServiceAccountList`, …) of items, or one object. One export may mix kinds
//! (`kubectl get serviceaccounts,secrets,deployments,statefulsets,daemonsets,
//! jobs,cronjobs,pods,roles,clusterroles,rolebindings,clusterrolebindings -A -o json`).
//!
//! | object | becomes |
//! |---|---|
//! | ServiceAccount | a `Principal` `k8s:<cluster>/<ns>/<name>` (the key audit logs use); IRSA (`eks.amazonaws.com/role-arn`), GKE Workload Identity (`iam.gke.io/gcp-service-account`) and Azure workload identity (`azure.workload.identity/client-id`) annotations become `CAN_ASSUME` edges to the cloud identity |
//! | Secret | a `Location` per data key, `k8s://<cluster>/<ns>/secrets/<name>#<key>` (the key `custody scan` gives the values it fingerprints); a legacy service-account token Secret is also a `Credential` that `AUTHENTICATES_AS` its account |
//! | Deployment, StatefulSet, DaemonSet, Job, CronJob, bare Pod | a `Workload` that `RUNS_AS` its service account; each Secret key it reads (env, envFrom, volumes, projected volumes, image pull secrets) is `USED_BY` it |
//! | Role/ClusterRole + bindings | `CAN_ACCESS` from each bound service account to the namespace or cluster, with the verbs it has on Secrets and whether it is cluster admin |
//!
//! Only names are read from a Secret, never its `data`: values are the
//! scanner's business, and it keeps only fingerprints. The cluster's name is
//! not in the export; it comes from the path (`kubernetes/<cluster>/…`, else the
//! folder holding the file), as for Kubernetes audit logs.

use crate::util::parse_json;
use crate::{InputError, Parsed, SourceFile};
use custody_model::{time, EdgeKind, Endpoint, Key, Label, Location};
use serde_json::{json, Map, Value};
use std::collections::{BTreeSet, HashMap};

const CONNECTOR: &str = "kubernetes-objects";

/// The workload kinds, with where their pod template sits.
const WORKLOADS: [(&str, &str); 6] = [
    ("Deployment", "/spec/template/spec"),
    ("StatefulSet", "/spec/template/spec"),
    ("DaemonSet", "/spec/template/spec"),
    ("Job", "/spec/template/spec"),
    ("CronJob", "/spec/jobTemplate/spec/template/spec"),
    ("Pod", "/spec"),
];

struct Emit<'a> {
    cluster: &'a str,
    parsed: Parsed,
    /// Data keys of every Secret in the export, by (namespace, name).
    secret_keys: HashMap<(String, String), Vec<String>>,
    /// Rules of every Role/ClusterRole, by (namespace or "", name).
    roles: HashMap<(String, String), RoleSummary>,
}

#[derive(Default, Clone)]
struct RoleSummary {
    secret_verbs: BTreeSet<String>,
    admin: bool,
    rules: usize,
}

fn str_at<'v>(v: &'v Value, ptr: &str) -> Option<&'v str> {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

impl Emit<'_> {
    fn node(
        &mut self,
        label: Label,
        kind: &str,
        key: Key,
        name: &str,
        props: Map<String, Value>,
        at: &str,
    ) {
        self.parsed.facts.push(crate::util::node_at(
            "kubernetes",
            label,
            kind,
            vec![key],
            Some(name),
            props,
            at,
        ));
    }

    fn edge(&mut self, kind: EdgeKind, from: Endpoint, to: Endpoint, props: Value, at: &str) {
        self.parsed
            .facts
            .push(crate::util::edge_at(kind, from, to, props, at));
    }

    fn error(&mut self, at: &str, msg: impl Into<String>, path: &str) {
        self.parsed.errors.push(InputError::new(
            CONNECTOR,
            path,
            Location::Pointer(at.to_string()),
            msg,
        ));
    }

    /// Namespace, cluster, creation time, and who owns it by label or annotation.
    fn common(&mut self, me: &Endpoint, item: &Value, ns: &str, at: &str) -> Map<String, Value> {
        let mut p = Map::new();
        p.insert("cluster".into(), json!(self.cluster));
        if !ns.is_empty() {
            p.insert("namespace".into(), json!(ns));
        }
        if let Some(t) = str_at(item, "/metadata/creationTimestamp").and_then(time::normalise) {
            p.insert("created".into(), json!(t));
        }
        if let Some(env) = custody_model::environment::of(&[ns, self.cluster]) {
            p.insert("environment".into(), json!(env));
        }
        let mut claims: Vec<Value> = Vec::new();
        for (field, ptr) in [
            ("labels", "/metadata/labels"),
            ("annotations", "/metadata/annotations"),
        ] {
            let Some(m) = item.pointer(ptr).and_then(Value::as_object) else {
                continue;
            };
            let what = &field[..field.len() - 1];
            for (k, v) in m {
                let Some(v) = v.as_str().map(str::trim).filter(|v| !v.is_empty()) else {
                    continue;
                };
                // `team`, `app.kubernetes.io/part-of`, `owner`, `example.com/owner`…
                let short = k.rsplit('/').next().unwrap_or(k).to_ascii_lowercase();
                if short == "team" || short == "owner-team" {
                    p.insert("team".into(), json!(v));
                }
                let tag = crate::aws::owner_tag(&short);
                if tag.is_some() {
                    p.insert("owner".into(), json!(v));
                    if v.contains('@') && !v.contains(' ') {
                        self.edge(
                            EdgeKind::OwnedBy,
                            me.clone(),
                            Endpoint::new(Label::Human, Key::email(v)),
                            json!({"evidence": format!("Kubernetes {what} {k}={v}"),
                                   "method": "k8s-metadata", "confidence": 0.9}),
                            &format!("{at}{ptr}/{}", Location::escape_token(k)),
                        );
                    } else {
                        // A handle (`owner: wchen`): attribution resolves it.
                        let method = match tag {
                            Some(crate::aws::OwnerTag::Creator) => "creator",
                            _ => "owner-tag",
                        };
                        claims.push(json!({"value": v, "said": format!("Kubernetes {what} {k}={v}"), "method": method}));
                    }
                } else if FREE_TEXT_KEYS.contains(&short.as_str()) {
                    claims.push(json!({"value": v, "said": format!("Kubernetes {what} {k}={v}"), "method": "free-text",
                                       "prose": short == "description"}));
                }
            }
        }
        if !claims.is_empty() {
            p.insert("owner_claims".into(), Value::Array(claims));
        }
        p
    }
}

/// Label and annotation names (after any `prefix/`) whose value names a
/// person in free text: weaker evidence than an `owner` label.
const FREE_TEXT_KEYS: [&str; 12] = [
    "maintainer",
    "maintainers",
    "maintained-by",
    "contact-email",
    "contacts",
    "responsible",
    "point-of-contact",
    "poc",
    "oncall",
    "on-call",
    "description",
    "owned-by",
];

/// A Secret's place, as `custody scan` names the values it finds there.
fn secret_location(cluster: &str, ns: &str, name: &str, key: Option<&str>) -> Key {
    match key {
        Some(k) => Key::uri(&format!("k8s://{cluster}/{ns}/secrets/{name}#{k}")),
        None => Key::uri(&format!("k8s://{cluster}/{ns}/secrets/{name}")),
    }
}

/// Parses one export. `cluster` names the cluster its objects live in.
pub fn parse(file: &SourceFile<'_>, cluster: &str) -> Parsed {
    let mut e = Emit {
        cluster,
        parsed: Parsed::default(),
        secret_keys: HashMap::new(),
        roles: HashMap::new(),
    };
    let doc = match parse_json(CONNECTOR, file.path, file.bytes) {
        Ok(d) => d,
        Err(err) => {
            e.parsed.errors.push(err);
            return e.parsed;
        }
    };
    let items: Vec<(String, &Value)> = match doc.get("items") {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("/items/{i}"), v))
            .collect(),
        Some(_) => {
            e.error("/items", "`items` should be a list", file.path);
            return e.parsed;
        }
        None if doc.get("kind").is_some() => vec![(String::new(), &doc)],
        None => {
            e.error(
                "",
                "expected a Kubernetes object or list (`kubectl get … -o json`)",
                file.path,
            );
            return e.parsed;
        }
    };
    // First what others refer to: Secrets' keys and Roles' rules.
    for (_, item) in &items {
        let kind = str_at(item, "/kind").unwrap_or("");
        let ns = str_at(item, "/metadata/namespace")
            .unwrap_or("")
            .to_string();
        let Some(name) = str_at(item, "/metadata/name").map(str::to_string) else {
            continue;
        };
        match kind {
            "Secret" => {
                let mut keys: Vec<String> = ["data", "stringData"]
                    .iter()
                    .filter_map(|f| item.get(*f).and_then(Value::as_object))
                    .flat_map(|m| m.keys().cloned())
                    .collect();
                keys.sort();
                keys.dedup();
                e.secret_keys.insert((ns, name), keys);
            }
            "Role" | "ClusterRole" => {
                let mut s = RoleSummary::default();
                let rules = item.get("rules").and_then(Value::as_array);
                for r in rules.into_iter().flatten() {
                    s.rules += 1;
                    let verbs = strings(r.get("verbs"));
                    let resources = strings(r.get("resources"));
                    let groups = strings(r.get("apiGroups"));
                    let core = groups.is_empty() || groups.iter().any(|g| g.is_empty() || g == "*");
                    if core && resources.iter().any(|x| x == "secrets" || x == "*") {
                        s.secret_verbs.extend(verbs.iter().cloned());
                    }
                    if verbs.iter().any(|v| v == "*")
                        && resources.iter().any(|x| x == "*")
                        && groups.iter().any(|g| g == "*")
                    {
                        s.admin = true;
                    }
                }
                let scope = if kind == "Role" { ns } else { String::new() };
                e.roles.insert((scope, name), s);
            }
            _ => {}
        }
    }
    for (at, item) in &items {
        e.parsed.records += 1;
        let Some(kind) = str_at(item, "/kind") else {
            e.error(&format!("{at}/kind"), "object has no `kind`", file.path);
            continue;
        };
        let Some(name) = str_at(item, "/metadata/name") else {
            e.error(
                &format!("{at}/metadata/name"),
                "object has no `metadata.name`",
                file.path,
            );
            continue;
        };
        let ns = str_at(item, "/metadata/namespace").unwrap_or("");
        match kind {
            "ServiceAccount" => service_account(&mut e, item, ns, name, at),
            "Secret" => secret(&mut e, item, ns, name, at),
            "RoleBinding" | "ClusterRoleBinding" => binding(&mut e, item, kind, ns, at, file.path),
            "Role" | "ClusterRole" => {}
            k => {
                if let Some((_, spec)) = WORKLOADS.iter().find(|(w, _)| *w == k) {
                    // A pod a controller made is that controller's; only bare pods count.
                    let owned = item
                        .pointer("/metadata/ownerReferences")
                        .and_then(Value::as_array)
                        .is_some_and(|o| !o.is_empty());
                    if !(k == "Pod" && owned) {
                        workload(&mut e, item, k, spec, ns, name, at);
                    }
                }
                // Other kinds (ConfigMaps, Services…) say nothing about identity.
            }
        }
    }
    e.parsed.scope = format!("{CONNECTOR}:{cluster}:{}", file.path);
    e.parsed
}

fn service_account(e: &mut Emit<'_>, item: &Value, ns: &str, name: &str, at: &str) {
    let key = Key::k8s(e.cluster, ns, name);
    let me = Endpoint::new(Label::Principal, key.clone());
    let mut p = e.common(&me, item, ns, at);
    if let Some(b) = item
        .get("automountServiceAccountToken")
        .and_then(Value::as_bool)
    {
        p.insert("automount_token".into(), json!(b));
    }
    let ann = |k: &str| {
        item.pointer("/metadata/annotations")
            .and_then(|a| a.get(k))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let ann_at = |k: &str| format!("{at}/metadata/annotations/{}", Location::escape_token(k));
    if let Some(role) = ann("eks.amazonaws.com/role-arn") {
        p.insert("aws_role".into(), json!(role));
        e.edge(
            EdgeKind::CanAssume,
            me.clone(),
            Endpoint::new(Label::Principal, Key::arn(&role)),
            json!({"via": "eks-irsa", "evidence": format!("annotation eks.amazonaws.com/role-arn={role}")}),
            &ann_at("eks.amazonaws.com/role-arn"),
        );
    }
    if let Some(gsa) = ann("iam.gke.io/gcp-service-account") {
        p.insert("gcp_service_account".into(), json!(gsa));
        e.edge(
            EdgeKind::CanAssume,
            me.clone(),
            Endpoint::new(Label::Principal, Key::email(&gsa)),
            json!({"via": "gke-workload-identity", "evidence": format!("annotation iam.gke.io/gcp-service-account={gsa}")}),
            &ann_at("iam.gke.io/gcp-service-account"),
        );
    }
    if let Some(client) = ann("azure.workload.identity/client-id") {
        p.insert("azure_client_id".into(), json!(client));
        e.edge(
            EdgeKind::CanAssume,
            me.clone(),
            Endpoint::new(Label::Principal, Key::other("azure-app", &client.to_ascii_lowercase())),
            json!({"via": "azure-workload-identity", "evidence": format!("annotation azure.workload.identity/client-id={client}")}),
            &ann_at("azure.workload.identity/client-id"),
        );
    }
    e.node(
        Label::Principal,
        "k8s_service_account",
        key,
        &format!("{ns}/{name}"),
        p,
        at,
    );
}

fn secret(e: &mut Emit<'_>, item: &Value, ns: &str, name: &str, at: &str) {
    let stype = str_at(item, "/type").unwrap_or("Opaque").to_string();
    let keys = e
        .secret_keys
        .get(&(ns.to_string(), name.to_string()))
        .cloned()
        .unwrap_or_default();
    let account = item
        .pointer("/metadata/annotations/kubernetes.io~1service-account.name")
        .and_then(Value::as_str)
        .map(str::to_string);
    for k in &keys {
        let loc = secret_location(e.cluster, ns, name, Some(k));
        let me = Endpoint::new(Label::Location, loc.clone());
        let mut p = e.common(&me, item, ns, at);
        p.insert("secret_type".into(), json!(stype));
        p.insert("secret_name".into(), json!(name));
        p.insert("field".into(), json!(k));
        e.node(
            Label::Location,
            "k8s_secret",
            loc.clone(),
            &format!("{ns}/{name}[{k}]"),
            p,
            at,
        );
    }
    // A long-lived token Kubernetes minted for an account (before 1.24, or on
    // request): a credential of its own, whoever copies it.
    if let (Some(sa), "kubernetes.io/service-account-token") = (&account, stype.as_str()) {
        // Keyed as `custody scan` keys the token it reads from the same
        // Secret, so the two are one node.
        let cred = Key::other("k8s-sa-token", &format!("{}/{ns}/{name}", e.cluster));
        let me = Endpoint::new(Label::Credential, cred.clone());
        let mut p = e.common(&me, item, ns, at);
        p.insert("service_account".into(), json!(sa));
        p.insert("status".into(), json!("Active"));
        e.node(
            Label::Credential,
            "k8s_service_account_token",
            cred,
            &format!("{ns}/{name}"),
            p,
            at,
        );
        e.edge(
            EdgeKind::AuthenticatesAs,
            me.clone(),
            Endpoint::new(Label::Principal, Key::k8s(e.cluster, ns, sa)),
            json!({"via": "kubernetes.io/service-account.name"}),
            at,
        );
        if keys.iter().any(|k| k == "token") {
            e.edge(
                EdgeKind::StoredIn,
                me,
                Endpoint::new(
                    Label::Location,
                    secret_location(e.cluster, ns, name, Some("token")),
                ),
                json!({"field": "token"}),
                at,
            );
        }
    }
}

/// The Secret keys a pod spec reads, each with the pointer that reads it.
fn secret_refs(e: &Emit<'_>, spec: &Value, ns: &str, base: &str) -> Vec<(Key, String)> {
    let mut out = Vec::new();
    let whole = |name: &str, at: String, out: &mut Vec<(Key, String)>| {
        match e.secret_keys.get(&(ns.to_string(), name.to_string())) {
            Some(keys) if !keys.is_empty() => out.extend(
                keys.iter()
                    .map(|k| (secret_location(e.cluster, ns, name, Some(k)), at.clone())),
            ),
            // Not in this export: the Secret as a whole.
            _ => out.push((secret_location(e.cluster, ns, name, None), at)),
        }
    };
    for group in ["containers", "initContainers", "ephemeralContainers"] {
        let Some(cs) = spec.get(group).and_then(Value::as_array) else {
            continue;
        };
        for (i, c) in cs.iter().enumerate() {
            let cat = format!("{base}/{group}/{i}");
            for (j, env) in c
                .get("env")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                if let (Some(n), Some(k)) = (
                    str_at(env, "/valueFrom/secretKeyRef/name"),
                    str_at(env, "/valueFrom/secretKeyRef/key"),
                ) {
                    out.push((
                        secret_location(e.cluster, ns, n, Some(k)),
                        format!("{cat}/env/{j}"),
                    ));
                }
            }
            for (j, from) in c
                .get("envFrom")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                if let Some(n) = str_at(from, "/secretRef/name") {
                    whole(n, format!("{cat}/envFrom/{j}"), &mut out);
                }
            }
        }
    }
    for (i, v) in spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let vat = format!("{base}/volumes/{i}");
        let one = |s: &Value, at: String, out: &mut Vec<(Key, String)>, name_field: &str| {
            let Some(n) = s.get(name_field).and_then(Value::as_str) else {
                return;
            };
            let items = strings_of(s.get("items"), "key");
            if items.is_empty() {
                whole(n, at, out);
            } else {
                out.extend(
                    items
                        .iter()
                        .map(|k| (secret_location(e.cluster, ns, n, Some(k)), at.clone())),
                );
            }
        };
        if let Some(s) = v.get("secret") {
            one(s, format!("{vat}/secret"), &mut out, "secretName");
        }
        for (j, src) in v
            .pointer("/projected/sources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(s) = src.get("secret") {
                one(
                    s,
                    format!("{vat}/projected/sources/{j}/secret"),
                    &mut out,
                    "name",
                );
            }
        }
    }
    for (i, p) in spec
        .get("imagePullSecrets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(n) = p.get("name").and_then(Value::as_str) {
            whole(n, format!("{base}/imagePullSecrets/{i}"), &mut out);
        }
    }
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

fn strings_of(v: Option<&Value>, field: &str) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.get(field)?.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn workload(
    e: &mut Emit<'_>,
    item: &Value,
    kind: &str,
    spec_at: &str,
    ns: &str,
    name: &str,
    at: &str,
) {
    let key = Key::k8s(
        e.cluster,
        ns,
        &format!("{}/{name}", kind.to_ascii_lowercase()),
    );
    let me = Endpoint::new(Label::Workload, key.clone());
    let mut p = e.common(&me, item, ns, at);
    let spec = item.pointer(spec_at).cloned().unwrap_or(Value::Null);
    let base = format!("{at}{spec_at}");
    let images: Vec<String> = spec
        .get("containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("image")?.as_str().map(str::to_string))
        .collect();
    if !images.is_empty() {
        p.insert("images".into(), json!(images));
    }
    if let Some(s) = item.pointer("/spec/schedule").and_then(Value::as_str) {
        p.insert("schedule".into(), json!(s));
    }
    let sa = str_at(&spec, "/serviceAccountName")
        .or_else(|| str_at(&spec, "/serviceAccount"))
        .unwrap_or("default")
        .to_string();
    p.insert("service_account".into(), json!(sa));
    if let Some(b) = spec
        .get("automountServiceAccountToken")
        .and_then(Value::as_bool)
    {
        p.insert("automount_token".into(), json!(b));
    }
    let refs = secret_refs(e, &spec, ns, &base);
    e.node(
        Label::Workload,
        &format!("k8s_{}", kind.to_ascii_lowercase()),
        key,
        &format!("{ns}/{name}"),
        p,
        at,
    );
    e.edge(
        EdgeKind::RunsAs,
        me.clone(),
        Endpoint::new(Label::Principal, Key::k8s(e.cluster, ns, &sa)),
        json!({"via": "serviceAccountName"}),
        &format!("{base}/serviceAccountName"),
    );
    for (loc, rat) in refs {
        e.edge(
            EdgeKind::UsedBy,
            Endpoint::new(Label::Location, loc),
            me.clone(),
            json!({}),
            &rat,
        );
    }
}

fn binding(e: &mut Emit<'_>, item: &Value, kind: &str, ns: &str, at: &str, path: &str) {
    let Some(role_kind) = str_at(item, "/roleRef/kind") else {
        e.error(
            &format!("{at}/roleRef"),
            "binding has no `roleRef.kind`",
            path,
        );
        return;
    };
    let Some(role) = str_at(item, "/roleRef/name") else {
        e.error(
            &format!("{at}/roleRef"),
            "binding has no `roleRef.name`",
            path,
        );
        return;
    };
    let role_scope = if role_kind == "Role" { ns } else { "" };
    // `cluster-admin` and friends are built in; an export rarely includes them.
    let summary = e
        .roles
        .get(&(role_scope.to_string(), role.to_string()))
        .cloned()
        .or_else(|| builtin(role));
    let (target, tname, tkind) = if kind == "ClusterRoleBinding" {
        (
            Key::other("k8s-cluster", e.cluster),
            e.cluster.to_string(),
            "k8s_cluster",
        )
    } else {
        let n = format!("{}/{ns}", e.cluster);
        (Key::other("k8s-namespace", &n), n, "k8s_namespace")
    };
    let mut tp = Map::new();
    tp.insert("cluster".into(), json!(e.cluster));
    if kind == "RoleBinding" {
        tp.insert("namespace".into(), json!(ns));
    }
    e.node(Label::Resource, tkind, target.clone(), &tname, tp, at);
    for (i, s) in item
        .get("subjects")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if str_at(s, "/kind") != Some("ServiceAccount") {
            continue;
        }
        let Some(sname) = str_at(s, "/name") else {
            continue;
        };
        let sns = str_at(s, "/namespace").unwrap_or(ns);
        let mut p = Map::new();
        p.insert("via".into(), json!(kind));
        p.insert("binding".into(), json!(str_at(item, "/metadata/name")));
        p.insert("role".into(), json!(role));
        p.insert("role_kind".into(), json!(role_kind));
        match &summary {
            Some(s) => {
                p.insert("secret_verbs".into(), json!(s.secret_verbs));
                p.insert(
                    "reads_secrets".into(),
                    json!(s
                        .secret_verbs
                        .iter()
                        .any(|v| ["get", "list", "watch", "*"].contains(&v.as_str()))),
                );
                p.insert("admin".into(), json!(s.admin));
                p.insert("rules".into(), json!(s.rules));
            }
            None => {
                p.insert("note".into(), json!("the role is not in this export"));
            }
        }
        e.edge(
            EdgeKind::CanAccess,
            Endpoint::new(Label::Principal, Key::k8s(e.cluster, sns, sname)),
            Endpoint::new(Label::Resource, target.clone()),
            Value::Object(p),
            &format!("{at}/subjects/{i}"),
        );
    }
}

/// The built-in cluster roles that matter for reach.
fn builtin(role: &str) -> Option<RoleSummary> {
    let all = |admin| RoleSummary {
        secret_verbs: ["*".to_string()].into(),
        admin,
        rules: 1,
    };
    match role {
        "cluster-admin" => Some(all(true)),
        "admin" | "edit" => Some(all(false)),
        "view" => Some(RoleSummary::default()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_model::{EdgeFact, Fact, NodeFact};

    /// What `kubectl get serviceaccounts,secrets,deployments,cronjobs,pods,
    /// roles,rolebindings,clusterrolebindings -A -o json` prints, trimmed.
    const LIST: &str = r#"{
      "apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
      "items": [
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": "payments-api", "namespace": "payments", "uid": "9f0c",
           "creationTimestamp": "2025-03-04T10:00:00Z",
           "labels": {"team": "payments"},
           "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/payments-api",
                           "iam.gke.io/gcp-service-account": "payments@acme-prod.iam.gserviceaccount.com",
                           "acme.example/owner": "ana@acme.example"}}},
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
         "metadata": {"name": "stripe", "namespace": "payments"},
         "data": {"api-key": "c2tfbGl2ZV9ub3RyZWFs", "webhook": "d2hzZWNfbm90cmVhbA=="}},
        {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
         "metadata": {"name": "ci-token", "namespace": "payments",
           "annotations": {"kubernetes.io/service-account.name": "payments-api"}},
         "data": {"ca.crt": "Y2E=", "namespace": "cGF5bWVudHM=", "token": "ZXlKaGJHY2lPaUpTVXpJMU5pSjkubm90LnJlYWw="}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "api", "namespace": "payments", "labels": {"app": "api"}},
         "spec": {"replicas": 3, "template": {"spec": {
           "serviceAccountName": "payments-api",
           "containers": [{"name": "api", "image": "ghcr.io/acme/api:1.4",
             "env": [{"name": "STRIPE_KEY", "valueFrom": {"secretKeyRef": {"name": "stripe", "key": "api-key"}}},
                     {"name": "PLAIN", "value": "x"}],
             "envFrom": [{"secretRef": {"name": "elsewhere"}}]}],
           "volumes": [{"name": "hooks", "secret": {"secretName": "stripe", "items": [{"key": "webhook", "path": "wh"}]}}],
           "imagePullSecrets": [{"name": "regcred"}]}}}},
        {"apiVersion": "batch/v1", "kind": "CronJob",
         "metadata": {"name": "nightly", "namespace": "payments"},
         "spec": {"schedule": "0 2 * * *", "jobTemplate": {"spec": {"template": {"spec": {
           "containers": [{"name": "n", "image": "busybox", "envFrom": [{"secretRef": {"name": "stripe"}}]}]}}}}}},
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": "api-5d9c-abcde", "namespace": "payments",
           "ownerReferences": [{"kind": "ReplicaSet", "name": "api-5d9c"}]},
         "spec": {"serviceAccountName": "payments-api", "containers": [{"name": "api", "image": "x"}]}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": "secret-reader", "namespace": "payments"},
         "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "api-reads-secrets", "namespace": "payments"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "secret-reader"},
         "subjects": [{"kind": "ServiceAccount", "name": "payments-api", "namespace": "payments"},
                      {"kind": "User", "name": "ana@acme.example"}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "ops-admin"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
         "subjects": [{"kind": "ServiceAccount", "name": "ops", "namespace": "kube-system"}]},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "payments"}}
      ]}"#;

    fn parsed() -> Parsed {
        parse(
            &SourceFile {
                path: "kubernetes/prod-eks/objects.json",
                bytes: LIST.as_bytes(),
            },
            "prod-eks",
        )
    }

    fn edges(p: &Parsed, kind: EdgeKind) -> Vec<&EdgeFact> {
        p.edges(Some(kind))
    }

    fn node<'p>(p: &'p Parsed, key: &str) -> &'p NodeFact {
        p.facts
            .iter()
            .find_map(|f| match f {
                Fact::Node(n) if n.keys[0].as_str() == key => Some(n),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no node {key}"))
    }

    #[test]
    fn service_accounts_federate_to_cloud_identities() {
        let p = parsed();
        let sa = node(&p, "k8s:prod-eks/payments/payments-api");
        assert_eq!(sa.label, Label::Principal);
        assert_eq!(sa.props["team"], "payments");
        assert_eq!(sa.props["environment"], "production");
        let assume = edges(&p, EdgeKind::CanAssume);
        let to: Vec<&str> = assume.iter().map(|e| e.to.key.as_str()).collect();
        assert_eq!(
            to,
            [
                "arn:aws:iam::111122223333:role/payments-api",
                "email:payments@acme-prod.iam.gserviceaccount.com"
            ]
        );
        assert_eq!(
            assume[0].prov.location,
            Location::Pointer("/items/0/metadata/annotations/eks.amazonaws.com~1role-arn".into())
        );
        let owned = edges(&p, EdgeKind::OwnedBy);
        assert_eq!(owned[0].to.key, Key::email("ana@acme.example"));
    }

    #[test]
    fn workloads_run_as_their_account_and_use_secret_keys() {
        let p = parsed();
        let runs = edges(&p, EdgeKind::RunsAs);
        // The deployment and the cron job; the controller-made pod is skipped.
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[1].to.key.as_str(), "k8s:prod-eks/payments/default");
        let used: Vec<(&str, &str)> = edges(&p, EdgeKind::UsedBy)
            .iter()
            .map(|e| (e.from.key.as_str(), e.to.key.as_str()))
            .collect();
        let api = "k8s:prod-eks/payments/deployment/api";
        for loc in [
            "uri:k8s://prod-eks/payments/secrets/stripe#api-key",
            "uri:k8s://prod-eks/payments/secrets/stripe#webhook",
            "uri:k8s://prod-eks/payments/secrets/elsewhere",
            "uri:k8s://prod-eks/payments/secrets/regcred",
        ] {
            assert!(used.contains(&(loc, api)), "{loc}: {used:?}");
        }
        // envFrom the whole Secret: every key of it.
        let nightly = "k8s:prod-eks/payments/cronjob/nightly";
        assert_eq!(used.iter().filter(|(_, w)| *w == nightly).count(), 2);
        assert_eq!(node(&p, nightly).props["schedule"], "0 2 * * *");
    }

    #[test]
    fn secrets_are_locations_by_key_and_never_carry_values() {
        let p = parsed();
        let loc = node(&p, "uri:k8s://prod-eks/payments/secrets/stripe#api-key");
        assert_eq!(loc.label, Label::Location);
        let text = format!("{:?}", p.facts);
        assert!(!text.contains("c2tfbGl2ZV9ub3RyZWFs"));
        assert!(!text.contains("ZXlKaGJHY2lPaUpTVXpJMU5pSjkubm90LnJlYWw="));
        let token = node(&p, "id:k8s-sa-token/prod-eks/payments/ci-token");
        assert_eq!(token.label, Label::Credential);
        let auth = edges(&p, EdgeKind::AuthenticatesAs);
        assert_eq!(
            auth[0].to.key.as_str(),
            "k8s:prod-eks/payments/payments-api"
        );
        assert_eq!(edges(&p, EdgeKind::StoredIn).len(), 1);
    }

    #[test]
    fn rbac_says_who_reads_secrets_and_who_is_admin() {
        let p = parsed();
        let access = edges(&p, EdgeKind::CanAccess);
        assert_eq!(access.len(), 2);
        assert_eq!(
            access[0].to.key.as_str(),
            "id:k8s-namespace/prod-eks/payments"
        );
        assert_eq!(access[0].props["reads_secrets"], true);
        assert_eq!(access[0].props["admin"], false);
        assert_eq!(access[1].from.key.as_str(), "k8s:prod-eks/kube-system/ops");
        assert_eq!(access[1].props["admin"], true);
    }

    #[test]
    fn bad_objects_are_located_and_the_rest_kept() {
        let p = parsed();
        assert_eq!(p.errors.len(), 1);
        assert_eq!(
            p.errors[0].location,
            Location::Pointer("/items/9/metadata/name".into())
        );
        let one = parse(
            &SourceFile {
                path: "sa.json",
                bytes: br#"{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "x", "namespace": "d"}}"#,
            },
            "c",
        );
        assert!(one.errors.is_empty());
        assert_eq!(one.records, 1);
        let bad = parse(
            &SourceFile {
                path: "x.json",
                bytes: br#"{"items": 3}"#,
            },
            "c",
        );
        assert_eq!(bad.errors[0].location, Location::Pointer("/items".into()));
    }
}
