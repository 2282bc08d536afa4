//! HashiCorp Vault as `vault … -format=json` prints it, each answer under its
//! API path below `vault/`: KV v2 metadata per team secret (no values: `kv
//! metadata get` has none), one ACL policy per team, a Kubernetes auth role
//! per workload service account of each cluster (mount `kubernetes-<cluster>`),
//! and an AppRole per team's CI with its secret-id accessors.

use crate::names::COMPONENTS;
use crate::people::Org;
use crate::rng::Rng;
use crate::write::Writer;
use crate::SynthError;
use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};

pub struct VaultOut {
    pub roles: usize,
    pub secret_ids: usize,
    pub kv_secrets: usize,
}

fn ts(d: NaiveDate, secs: i64, nanos: u32) -> String {
    format!(
        "{d}T{:02}:{:02}:{:02}.{nanos:09}Z",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}

fn read(data: Value) -> Value {
    json!({"request_id": format!("{:08x}-0000-4000-8000-000000000000", crate::surfaces_hash(&data.to_string())),
        "lease_id": "", "lease_duration": 0, "renewable": false, "data": data, "warnings": null})
}

pub(crate) fn uuid(rng: &mut Rng) -> String {
    let h = rng.hex(32);
    format!(
        "{}-{}-4{}-8{}-{}",
        &h[..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

pub fn write(
    w: &mut Writer,
    rng: &mut Rng,
    org: &Org,
    clusters: &[crate::aws::Cluster],
) -> Result<VaultOut, SynthError> {
    let mut out = VaultOut {
        roles: 0,
        secret_ids: 0,
        kv_secrets: 0,
    };
    for team in &org.teams {
        let t = &team.name;
        let active: Vec<usize> = team
            .members
            .iter()
            .copied()
            .filter(|&m| org.people[m].terminated.is_none())
            .collect();
        // KV secrets: the team's app configuration, some with an owner.
        let n = 2 + rng.below(4);
        let mut paths = Vec::new();
        for _ in 0..n {
            let p = format!("{t}/{}", rng.pick(COMPONENTS));
            if paths.contains(&p) {
                continue;
            }
            paths.push(p.clone());
            let created = org.as_of - Duration::days(rng.range(30, 1500));
            let versions = 1 + rng.below(6);
            let mut vs = serde_json::Map::new();
            for v in 1..=versions {
                let at = created + Duration::days(v as i64 * 30);
                vs.insert(
                    v.to_string(),
                    json!({"created_time": ts(at.min(org.as_of), rng.range(0, 86_399), 120_000_000),
                    "deletion_time": "", "destroyed": v + 3 <= versions}),
                );
            }
            let mut custom = json!({"team": t});
            if !active.is_empty() && rng.chance(0.6) {
                custom["owner"] = json!(org.people[*rng.pick(&active)].email);
            }
            let updated = (created + Duration::days(versions as i64 * 30)).min(org.as_of);
            w.json(
                &format!("vault/secret/metadata/{p}.json"),
                &read(json!({"cas_required": false, "created_time": ts(created, 3600, 945_319_214),
                    "current_version": versions, "custom_metadata": custom, "delete_version_after": "0s",
                    "max_versions": 0, "oldest_version": 0, "updated_time": ts(updated, 7200, 986_212_308),
                    "versions": vs})),
                false,
            )?;
            out.kv_secrets += 1;
        }
        let hcl = format!(
            "# {t}: read the team's secrets\npath \"secret/data/{t}/*\" {{\n  capabilities = [\"read\", \"list\"]\n}}\n\npath \"secret/metadata/{t}/*\" {{\n  capabilities = [\"list\"]\n}}\n"
        );
        w.json(
            &format!("vault/sys/policy/{t}.json"),
            &read(json!({"name": t, "rules": hcl})),
            false,
        )?;
        // The team's CI logs in with an AppRole; its secret-ids pile up.
        let static_ids = rng.chance(0.5);
        w.json(
            &format!("vault/auth/approle/role/{t}-ci.json"),
            &read(json!({"bind_secret_id": true, "local_secret_ids": false,
                "secret_id_bound_cidrs": if static_ids { Value::Null } else { json!(["10.0.0.0/8"]) },
                "secret_id_num_uses": 0, "secret_id_ttl": if static_ids { 0 } else { 86_400 },
                "token_bound_cidrs": [], "token_explicit_max_ttl": 0, "token_max_ttl": 0, "token_no_default_policy": false,
                "token_num_uses": 0, "token_period": 0, "token_policies": [t.as_str(), "ci-common"], "token_ttl": 3600,
                "token_type": "default"})),
            false,
        )?;
        out.roles += 1;
        let ids: Vec<String> = (0..10 + rng.below(50)).map(|_| uuid(rng)).collect();
        out.secret_ids += ids.len();
        w.json(
            &format!("vault/auth/approle/role/{t}-ci/secret-id.json"),
            &json!(ids),
            false,
        )?;
    }
    w.json(
        "vault/sys/policy/ci-common.json",
        &read(json!({"name": "ci-common", "rules": "path \"secret/data/shared/ci/*\" {\n  capabilities = [\"read\"]\n}\n"})),
        false,
    )?;
    // Kubernetes auth: each workload service account reads its team's path.
    for (_, cluster, irsa) in clusters {
        let mut seen = std::collections::HashSet::new();
        for (ns, sa, _) in irsa {
            if !seen.insert((ns.clone(), sa.clone())) {
                continue;
            }
            w.json(
                &format!("vault/auth/kubernetes-{cluster}/role/{sa}.json"),
                &read(
                    json!({"alias_name_source": "serviceaccount_uid", "audience": "vault",
                    "bound_service_account_names": [sa], "bound_service_account_namespaces": [ns],
                    "token_bound_cidrs": [], "token_explicit_max_ttl": 0, "token_max_ttl": 0,
                    "token_no_default_policy": false, "token_num_uses": 0, "token_period": 0,
                    "token_policies": [ns.as_str()], "token_ttl": 3600, "token_type": "default"}),
                ),
                false,
            )?;
            out.roles += 1;
        }
    }
    Ok(out)
}
