//! Okta System Log: `GET /api/v1/logs` (a JSON array of LogEvent objects) or
//! the same events one per line (as log shippers and `okta-logs` exports write).
//!
//! The actor is `actor.id` as an Okta key (`okta:00u…` for a user, `okta:0oa…`
//! for an OAuth service app using client credentials); a denial is
//! `outcome.result` `DENY` or `FAILURE` with a reason naming access. The
//! "region" is the client's `geographicalContext` (`country/state`).

use super::json::{Cursor, Result};
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

fn event<'a>(c: &mut Cursor<'a>, ev: &mut Event<'a>) -> Result<std::result::Result<(), String>> {
    let mut time: Cow<'a, str> = Cow::Borrowed("");
    let mut result: Cow<'a, str> = Cow::Borrowed("");
    let mut reason: Cow<'a, str> = Cow::Borrowed("");
    let (mut country, mut state): (Cow<'a, str>, Cow<'a, str>) = Default::default();
    c.object(|c, key| {
        match key {
            "published" => time = c.string()?,
            "eventType" => ev.action = c.string()?,
            "actor" => ev.actor = c.member("id")?,
            "outcome" => c.object_or_skip(|c, k| {
                match k {
                    "result" => result = c.string_or_null()?,
                    "reason" => reason = c.string_or_null()?,
                    _ => c.skip_value()?,
                }
                Ok(())
            })?,
            "client" => c.object_or_skip(|c, k| {
                match k {
                    "ipAddress" => ev.source_ip = c.string_or_null()?,
                    "userAgent" => ev.user_agent = c.member("rawUserAgent")?,
                    "geographicalContext" => c.object_or_skip(|c, k| {
                        match k {
                            "country" => country = c.string_or_null()?,
                            "state" => state = c.string_or_null()?,
                            "geolocation" => ev.geo = super::stream::lat_lon(c, "lat", "lon")?,
                            _ => c.skip_value()?,
                        }
                        Ok(())
                    })?,
                    _ => c.skip_value()?,
                }
                Ok(())
            })?,
            "securityContext" => c.object_or_skip(|c, k| {
                if k == "asNumber" {
                    let n = c.scalar_text()?;
                    if !n.is_empty() {
                        ev.network = Cow::Owned(format!("AS{n}"));
                    }
                    Ok(())
                } else {
                    c.skip_value()
                }
            })?,
            _ => c.skip_value()?,
        }
        Ok(())
    })?;
    ev.time = match super::stream::time(&time, "published") {
        Ok(t) => t,
        Err(why) => return Ok(Err(why)),
    };
    ev.service = Cow::Borrowed("okta");
    if !ev.actor.is_empty() {
        ev.actor_prefix = "okta:";
    }
    ev.region = match (country.is_empty(), state.is_empty()) {
        (true, _) => Cow::Borrowed(""),
        (false, true) => country,
        (false, false) => Cow::Owned(format!("{country}/{state}")),
    };
    let failed = matches!(&*result, "FAILURE" | "DENY");
    if failed {
        ev.error = if reason.is_empty() {
            result.clone()
        } else {
            reason
        };
    }
    ev.denied = result == "DENY"
        || (failed && {
            let r = ev.error.to_ascii_lowercase();
            r.contains("denied") || r.contains("not allowed") || r.contains("unauthorized")
        });
    Ok(Ok(()))
}
