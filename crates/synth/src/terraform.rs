//! Terraform state (format version 4) as `terraform state pull` prints it,
//! at `terraform/<team>/terraform.tfstate`: some teams manage their service
//! IAM users and access keys in Terraform, and the state holds each key's
//! secret in clear, as the AWS provider stores it.
//!
//! Each state has its code: a repository `repos/infra-<team>.git` whose
//! `<team>/main.tf` names the state (`backend "s3"`, key
//! `<team>/terraform.tfstate`) and calls the module whose
//! `modules/service_users/users.tf` declares the users and keys. Each user's
//! blocks were added by a commit of its owner (the person its `owner` tag
//! names), the day before its key was created; `.github/CODEOWNERS` names the
//! team. No secret is in the code.

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
        // The code: one block pair per user name, added by its owner; a
        // name two owners share (users in two accounts) is left out.
        let mut blocks: BTreeMap<String, (i64, Option<usize>, &str)> = BTreeMap::new();
        for k in ks.iter().take(6) {
            let t = k.created.timestamp() - 86_400;
            let e =
                blocks
                    .entry(k.user_name.replace('-', "_"))
                    .or_insert((t, k.owner, &k.user_name));
            e.0 = e.0.min(t);
            if e.1 != k.owner {
                e.1 = None;
            }
        }
        let mut added: Vec<(i64, usize, String, &str)> = blocks
            .into_iter()
            .filter_map(|(name, (t, owner, user))| Some((t, owner?, name, user)))
            .collect();
        added.sort();
        write_code(w, org, tname, &added)?;
    }
    Ok(out)
}

/// `repos/infra-<team>.git`: one commit per user, by its owner (see the
/// module docs). `added`: (time, owner, block name, user name), oldest first.
fn write_code(
    w: &mut Writer,
    org: &Org,
    team: &str,
    added: &[(i64, usize, String, &str)],
) -> Result<(), SynthError> {
    if added.is_empty() {
        return Ok(());
    }
    let slug = crate::surfaces::org_slug(&org.domain);
    let main_tf = format!(
        "terraform {{\n  backend \"s3\" {{\n    bucket = \"northwind-terraform-state\"\n    key    = \"{team}/terraform.tfstate\"\n    region = \"us-east-1\"\n  }}\n}}\n\nmodule \"{team}_service_users\" {{\n  source = \"../modules/service_users\"\n}}\n"
    );
    let main_path = format!("{team}/main.tf");
    let codeowners = format!("# {team} reviews its infrastructure.\n*  @{slug}/{team}\n");
    let mut users_tf = String::new();
    let mut bodies = Vec::with_capacity(added.len());
    for (_, _, name, user) in added {
        users_tf.push_str(&format!(
            "resource \"aws_iam_user\" \"{name}\" {{\n  name = \"{user}\"\n  tags = {{\n    team = \"{team}\"\n  }}\n}}\n\nresource \"aws_iam_access_key\" \"{name}\" {{\n  user = aws_iam_user.{name}.name\n}}\n\n"
        ));
        bodies.push(users_tf.clone());
    }
    let authors: Vec<(String, String, String)> = added
        .iter()
        .map(|(_, p, name, _)| {
            let p = &org.people[*p];
            (
                format!("{} {}", p.first, p.last),
                p.email.clone(),
                format!("service users: add {name}"),
            )
        })
        .collect();
    let mut commits = Vec::with_capacity(added.len());
    for (i, ((t, ..), (name, email, message))) in added.iter().zip(&authors).enumerate() {
        let mut changes = vec![("modules/service_users/users.tf", Some(bodies[i].clone()))];
        if i == 0 {
            changes.push((".github/CODEOWNERS", Some(codeowners.clone())));
            changes.push((main_path.as_str(), Some(main_tf.clone())));
        }
        commits.push(crate::git::Commit {
            author: (name.as_str(), email.as_str()),
            time: *t,
            message,
            changes,
        });
    }
    crate::git::write_repo(
        w,
        &format!("repos/infra-{team}.git"),
        &format!("https://github.com/{slug}/infra-{team}.git"),
        &commits,
    )?;
    Ok(())
}
