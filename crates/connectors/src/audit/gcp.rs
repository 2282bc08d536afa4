//! Google Cloud Audit Logs (`LogEntry` with an `AuditLog` `protoPayload`): the
//! JSON Lines of a log sink to Cloud Storage, or `gcloud logging read
//! --format=json` (an array).
//!
//! A call made with a service-account key names it
//! (`authenticationInfo.serviceAccountKeyName`, `…/keys/<KEY_ID>`): the key is
//! the identity (`id:gcp-sa-key/<KEY_ID>`, as `custody scan` keys a key file),
//! its service account the principal. Otherwise the identity is
//! `principalEmail` (`email:`). Status code 7 (PERMISSION_DENIED) or 16
//! (UNAUTHENTICATED) is a denial.

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
    super::stream::array_or_lines(text, &mut event, on_event, on_bad)
}

fn event<'a>(c: &mut Cursor<'a>, ev: &mut Event<'a>) -> EventResult {
    let (mut time, mut email, mut key_name, mut code, mut location) = <(
        Cow<'a, str>,
        Cow<'a, str>,
        Cow<'a, str>,
        Cow<'a, str>,
        Cow<'a, str>,
    )>::default();
    c.object(|c, key| {
        match key {
            "timestamp" => time = c.string_or_null()?,
            "resource" => c.object_or_skip(|c, k| {
                if k != "labels" {
                    return c.skip_value();
                }
                c.object_or_skip(|c, k| {
                    if matches!(k, "location" | "region" | "zone") && location.is_empty() {
                        location = c.string_or_null()?;
                        Ok(())
                    } else {
                        c.skip_value()
                    }
                })
            })?,
            "protoPayload" => c.object_or_skip(|c, k| {
                match k {
                    "methodName" => ev.action = c.string_or_null()?,
                    "serviceName" => ev.service = c.string_or_null()?,
                    "authenticationInfo" => c.object_or_skip(|c, k| {
                        match k {
                            "principalEmail" => email = c.string_or_null()?,
                            "serviceAccountKeyName" => key_name = c.string_or_null()?,
                            _ => c.skip_value()?,
                        }
                        Ok(())
                    })?,
                    "requestMetadata" => c.object_or_skip(|c, k| {
                        match k {
                            "callerIp" | "callerIP" => ev.source_ip = c.string_or_null()?,
                            "callerSuppliedUserAgent" => ev.user_agent = c.string_or_null()?,
                            _ => c.skip_value()?,
                        }
                        Ok(())
                    })?,
                    "status" => code = c.member("code")?,
                    "resourceLocation" => c.object_or_skip(|c, k| {
                        if k == "currentLocations" {
                            let l = c.first_item()?;
                            if !l.is_empty() {
                                location = l;
                            }
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
    ev.time = match super::stream::time(&time, "timestamp") {
        Ok(t) => t,
        Err(why) => return Ok(Err(why)),
    };
    ev.region = location;
    if !code.is_empty() && code != "0" {
        ev.denied = code == "7" || code == "16";
        ev.error = code;
    }
    match key_name.rsplit_once("/keys/") {
        Some((_, id)) if !id.is_empty() => {
            ev.actor_prefix = "id:gcp-sa-key/";
            ev.actor = Cow::Owned(id.to_string());
            if !email.is_empty() {
                ev.principal = Cow::Owned(format!("email:{}", email.to_ascii_lowercase()));
            }
        }
        _ if !email.is_empty() => {
            ev.actor_prefix = "email:";
            ev.actor = Cow::Owned(email.to_ascii_lowercase());
        }
        _ => {}
    }
    Ok(Ok(()))
}
