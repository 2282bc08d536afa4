//! GitHub organization / enterprise audit log: the JSON or JSON Lines export
//! (`GET /orgs/{org}/audit-log`, the web UI's export, audit-log streaming).
//!
//! A token-authenticated event (`programmatic_access_type`, `token_id`) is the
//! token's: `id:github-token/<token_id>`, with the user as its principal
//! (`id:github/<actor>`); otherwise the actor's login is the identity. Time is
//! `@timestamp` (epoch milliseconds), else `created_at` (milliseconds or a
//! time). The network is `actor_ip` (enterprise logs), the region the
//! actor's country.

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

fn millis_or_time(c: &mut Cursor<'_>) -> Result<Option<i64>> {
    Ok(match c.peek() {
        Some(b'-' | b'0'..=b'9') => Some((c.number()? / 1000.0).floor() as i64),
        _ => {
            let t = c.string_or_null()?;
            custody_model::event::rfc3339_seconds(&t)
        }
    })
}

fn event<'a>(c: &mut Cursor<'a>, ev: &mut Event<'a>) -> EventResult {
    let (mut at, mut created): (Option<i64>, Option<i64>) = (None, None);
    let mut token: Cow<'a, str> = Cow::Borrowed("");
    let mut via: Cow<'a, str> = Cow::Borrowed("");
    c.object(|c, key| {
        match key {
            "@timestamp" | "at_sign_timestamp" => at = millis_or_time(c)?,
            "created_at" => created = millis_or_time(c)?,
            "action" => ev.action = c.string_or_null()?,
            "actor" => ev.actor = c.string_or_null()?,
            "actor_ip" => ev.source_ip = c.string_or_null()?,
            "user_agent" => ev.user_agent = c.string_or_null()?,
            "token_id" => token = c.scalar_text()?,
            "programmatic_access_type" => via = c.string_or_null()?,
            "actor_location" => ev.region = c.member("country_code")?,
            _ => c.skip_value()?,
        }
        Ok(())
    })?;
    let Some(t) = at.or(created) else {
        return Ok(Err("the event has no `@timestamp` or `created_at`".into()));
    };
    ev.time = t;
    ev.service = Cow::Borrowed("github");
    if !token.is_empty() {
        ev.principal = Cow::Owned(format!("id:github/{}", ev.actor));
        ev.subject = via;
        ev.actor = token;
        ev.actor_prefix = "id:github-token/";
    } else if !ev.actor.is_empty() {
        ev.actor_prefix = "id:github/";
    }
    Ok(Ok(()))
}
