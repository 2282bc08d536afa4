//! HashiCorp Vault audit device log (the file device: one JSON object per
//! line, a `request` and a `response` entry per call; sensitive strings are
//! HMAC'd by Vault, and custody keeps them that way).
//!
//! Only `response` entries are counted (each call once). The identity is the
//! token's entity (`auth.entity_id`: stable across tokens of one AppRole or
//! Kubernetes role) as `id:vault-entity/<id>`, else the token accessor
//! (already an HMAC in the log) as `id:vault-accessor/<hmac>`; the role
//! (`auth.metadata.role_name` or `role`) is the subject. The action is the
//! operation on the mount (`read secret/`), a denial is an `error` of
//! `permission denied`.

use super::json::{Cursor, Result};
use super::stream::EventResult;
use super::At;
use custody_model::event::Event;
use std::borrow::Cow;

pub(super) fn read<'a>(
    text: &'a str,
    on_event: &mut dyn FnMut(&Event<'a>, At),
    on_bad: &mut dyn FnMut(At, String),
) -> Result<()> {
    // Request entries come back with no action: each call counts once.
    super::stream::finished_only(text, &mut event, on_event, on_bad)
}

fn event<'a>(c: &mut Cursor<'a>, ev: &mut Event<'a>) -> EventResult {
    let (mut time, mut kind, mut entity, mut accessor, mut role, mut op, mut path) = <(
        Cow<'a, str>,
        Cow<'a, str>,
        Cow<'a, str>,
        Cow<'a, str>,
        Cow<'a, str>,
        Cow<'a, str>,
        Cow<'a, str>,
    )>::default(
    );
    c.object(|c, key| {
        match key {
            "time" => time = c.string_or_null()?,
            "type" => kind = c.string_or_null()?,
            "error" => ev.error = c.string_or_null()?,
            "auth" => c.object_or_skip(|c, k| {
                match k {
                    "entity_id" => entity = c.string_or_null()?,
                    "accessor" => accessor = c.string_or_null()?,
                    "metadata" => c.object_or_skip(|c, k| {
                        if k == "role_name" || (k == "role" && role.is_empty()) {
                            role = c.string_or_null()?;
                            Ok(())
                        } else {
                            c.skip_value()
                        }
                    })?,
                    _ => c.skip_value()?,
                }
                Ok(())
            })?,
            "request" => c.object_or_skip(|c, k| {
                match k {
                    "operation" => op = c.string_or_null()?,
                    "path" => path = c.string_or_null()?,
                    "remote_address" => ev.source_ip = c.string_or_null()?,
                    "headers" => c.object_or_skip(|c, k| {
                        if k.eq_ignore_ascii_case("user-agent") {
                            ev.user_agent = c.first_item()?;
                            Ok(())
                        } else {
                            c.skip_value()
                        }
                    })?,
                    _ => c.skip_value()?,
                }
                Ok(())
            })?,
            _ => c.skip_value()?,
        }
        Ok(())
    })?;
    ev.time = match super::stream::time(&time, "time") {
        Ok(t) => t,
        Err(why) => return Ok(Err(why)),
    };
    if kind != "response" {
        return Ok(Ok(()));
    }
    ev.service = Cow::Borrowed("vault");
    let mount = path.split_inclusive('/').next().unwrap_or("");
    ev.action = Cow::Owned(format!("{op} {mount}"));
    ev.subject = role;
    if !entity.is_empty() {
        ev.actor_prefix = "id:vault-entity/";
        ev.actor = entity;
    } else if !accessor.is_empty() {
        ev.actor_prefix = "id:vault-accessor/";
        ev.actor = accessor;
    }
    ev.denied = ev.error.contains("permission denied");
    Ok(Ok(()))
}
