//! Microsoft Entra ID service-principal sign-ins: Azure Monitor diagnostic
//! export (`"category": "ServicePrincipalSignInLogs"`, the sign-in under
//! `properties`; one per line as Event Hubs or storage deliver them, or
//! `{"records": [...]}`) and Microsoft Graph `auditLogs/signIns` objects.
//!
//! The credential used (`servicePrincipalCredentialKeyId`) is the identity
//! when the log names it (`id:entra-credential/<keyId>`), with the service
//! principal (`id:entra-sp/<servicePrincipalId>`) as principal; otherwise the
//! service principal. `status.errorCode` non-zero is an error; the Entra
//! codes for a missing assignment, a disabled app or a blocked sign-in are
//! denials.

use super::json::{Cursor, Result};
use super::stream::EventResult;
use super::At;
use custody_model::event::Event;
use std::borrow::Cow;

/// AADSTS codes that mean "not allowed": no assignment, app disabled, blocked
/// by policy, consent missing.
const DENIALS: &[&str] = &[
    "50105", "7000112", "53003", "65001", "50097", "700016", "7000215",
];

pub(super) fn read<'a>(
    text: &'a str,
    on_event: &mut dyn FnMut(&Event<'a>, At),
    on_bad: &mut dyn FnMut(At, String),
) -> Result<()> {
    // `{"records": [...]}` (storage delivery) or `{"value": [...]}` (Graph).
    if let Some(r) = super::stream::wrapped(
        text,
        &["records", "value"],
        At::Index,
        &mut event,
        on_event,
        on_bad,
    ) {
        return r;
    }
    super::stream::array_or_lines(text, &mut event, on_event, on_bad)
}

#[derive(Default)]
struct SignIn<'a> {
    time: Cow<'a, str>,
    sp: Cow<'a, str>,
    app: Cow<'a, str>,
    key: Cow<'a, str>,
    code: Cow<'a, str>,
}

fn fields<'a>(c: &mut Cursor<'a>, ev: &mut Event<'a>, s: &mut SignIn<'a>) -> Result<()> {
    c.object(|c, key| {
        match key {
            "createdDateTime" => s.time = c.string_or_null()?,
            "time" if s.time.is_empty() => s.time = c.string_or_null()?,
            "servicePrincipalId" => s.sp = c.string_or_null()?,
            "appId" => s.app = c.string_or_null()?,
            "servicePrincipalCredentialKeyId" => s.key = c.string_or_null()?,
            "ipAddress" => ev.source_ip = c.string_or_null()?,
            "callerIpAddress" if ev.source_ip.is_empty() => ev.source_ip = c.string_or_null()?,
            "resourceDisplayName" => ev.action = c.string_or_null()?,
            "userAgent" => ev.user_agent = c.string_or_null()?,
            "location" => match c.peek() {
                Some(b'{') => c.object(|c, k| {
                    match k {
                        "countryOrRegion" => ev.region = c.string_or_null()?,
                        "geoCoordinates" => {
                            ev.geo = super::stream::lat_lon(c, "latitude", "longitude")?
                        }
                        _ => c.skip_value()?,
                    }
                    Ok(())
                })?,
                _ => {
                    let l = c.string_or_null()?;
                    if ev.region.is_empty() {
                        ev.region = l;
                    }
                }
            },
            "status" => s.code = c.member("errorCode")?,
            "properties" => fields(c, ev, s)?,
            _ => c.skip_value()?,
        }
        Ok(())
    })
}

fn event<'a>(c: &mut Cursor<'a>, ev: &mut Event<'a>) -> EventResult {
    let mut s = SignIn::default();
    fields(c, ev, &mut s)?;
    ev.time = match super::stream::time(&s.time, "createdDateTime") {
        Ok(t) => t,
        Err(why) => return Ok(Err(why)),
    };
    ev.service = Cow::Borrowed("entra");
    if ev.action.is_empty() {
        ev.action = Cow::Borrowed("sign-in");
    }
    let sp = if s.sp.is_empty() { s.app } else { s.sp };
    if !s.key.is_empty() {
        ev.actor_prefix = "id:entra-credential/";
        ev.actor = s.key;
        if !sp.is_empty() {
            ev.principal = Cow::Owned(format!("id:entra-sp/{sp}"));
        }
    } else if !sp.is_empty() {
        ev.actor_prefix = "id:entra-sp/";
        ev.actor = sp;
    }
    if !s.code.is_empty() && s.code != "0" {
        ev.denied = DENIALS.contains(&&*s.code);
        ev.error = s.code;
    }
    Ok(Ok(()))
}
