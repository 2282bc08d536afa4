//! Terraform state (format version 4) as `terraform state pull` prints it,
//! at `terraform/<team>/terraform.tfstate`: some teams manage their service
//! IAM users and access keys in Terraform, and the state holds each key's
//! secret in clear, as the AWS provider stores it.

use crate::aws::KeyUse;
use crate::people::Org;
use crate::rng::Rng;
use crate::surfaces::secret_key;
use crate::write::Writer;
use crate::SynthError;
use serde_json::json;
use std::collections::BTreeMap;

pub struct TerraformOut {
    pub states: usize,
    /// Access keys whose secret sits in a state file.
    pub keys_in_state: Vec<String>,
}

pub fn write(
    w: &mut Writer,
    rng: &mut Rng,
    org: &Org,
    keys: &[KeyUse],
) -> Result<TerraformOut, SynthError> {
    let mut out = TerraformOut {
        states: 0,
        keys_in_state: Vec::new(),
    };
    // Service users' keys, by the owning person's team.
    let mut by_team: BTreeMap<usize, Vec<&KeyUse>> = BTreeMap::new();
    for k in keys.iter().filter(|k| !k.human && k.active) {
        if let Some(team) = k.owner.and_then(|o| org.people[o].team) {
            by_team.entry(team).or_default().push(k);
        }
    }
    let provider = "provider[\"registry.terraform.io/hashicorp/aws\"]";
    for (team, ks) in by_team {
        if !rng.chance(0.3) {
            continue;
        }
        let tname = &org.teams[team].name;
        let mut resources = Vec::new();
        for k in ks.iter().take(6) {
            let arn = format!("arn:aws:iam::{}:user/{}", k.account, k.user_name);
            let name = k.user_name.replace('-', "_");
            resources.push(json!({"module": format!("module.{tname}_service_users"), "mode": "managed",
                "type": "aws_iam_user", "name": name, "provider": provider,
                "instances": [{"schema_version": 0, "attributes": {"arn": arn, "force_destroy": false,
                    "id": k.user_name, "name": k.user_name, "path": "/", "permissions_boundary": null,
                    "tags": {"team": tname}, "tags_all": {"team": tname}, "unique_id": k.user_id},
                    "sensitive_attributes": [], "private": "bnVsbA=="}]}));
            resources.push(json!({"module": format!("module.{tname}_service_users"), "mode": "managed",
                "type": "aws_iam_access_key", "name": name, "provider": provider,
                "instances": [{"schema_version": 0, "attributes": {"create_date": k.created.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    "encrypted_secret": null, "encrypted_ses_smtp_password_v4": null, "id": k.id, "key_fingerprint": null,
                    "pgp_key": null, "secret": secret_key(rng), "ses_smtp_password_v4": secret_key(rng),
                    "status": "Active", "user": k.user_name},
                    "sensitive_attributes": [[{"type": "get_attr", "value": "secret"}], [{"type": "get_attr", "value": "ses_smtp_password_v4"}]],
                    "dependencies": [format!("module.{tname}_service_users.aws_iam_user.{name}")]}]}));
            out.keys_in_state.push(k.id.clone());
        }
        let state = json!({"version": 4, "terraform_version": "1.7.5", "serial": 10 + rng.below(300),
            "lineage": crate::vault::uuid(rng), "outputs": {}, "resources": resources, "check_results": null});
        w.json(
            &format!("terraform/{tname}/terraform.tfstate"),
            &state,
            false,
        )?;
        out.states += 1;
    }
    Ok(out)
}
