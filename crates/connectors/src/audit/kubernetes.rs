//! Kubernetes API server audit log (`audit.k8s.io/v1` Events, one per line:
//! the log backend's file, or EKS control-plane logs exported from CloudWatch).
//!
//! Only the `ResponseComplete` (or `Panic`) stage of a request is counted, so
//! a request logged at several stages counts once. The identity is
//! `user.username`; a service account (`system:serviceaccount:NS:NAME`) is
//! `k8s:<cluster>/NS/NAME`, the cluster named by the caller (the folder the
//! log sits in: `kubernetes/<cluster>/…`). A denial is a 403 or an
//! `authorization.k8s.io/decision` of `forbid`.

use super::json::{Cursor, Result};
use super::stream::EventResult;
use super::At;
use custody_model::event::Event;
use std::borrow::Cow;

pub(super) fn read<'a>(
    text: &'a str,
    cluster: &str,
    on_event: &mut dyn FnMut(&Event<'a>, At),
    on_bad: &mut dyn FnMut(At, String),
) -> Result<()> {
    // Other stages of a request come back with no action: not counted.
    super::stream::finished_only(text, &mut |c, ev| event(c, ev, cluster), on_event, on_bad)
}

fn event<'a>(c: &mut Cursor<'a>, ev: &mut Event<'a>, cluster: &str) -> EventResult {
    let (mut time, mut stage, mut verb, mut resource, mut user, mut decision) = <(
        Cow<'a, str>,
        Cow<'a, str>,
        Cow<'a, str>,
        Cow<'a, str>,
        Cow<'a, str>,
        Cow<'a, str>,
    )>::default();
    let mut code: Cow<'a, str> = Cow::Borrowed("");
    c.object(|c, key| {
        match key {
            "stageTimestamp" => time = c.string_or_null()?,
            "requestReceivedTimestamp" if time.is_empty() => time = c.string_or_null()?,
            "stage" => stage = c.string_or_null()?,
            "verb" => verb = c.string_or_null()?,
            "userAgent" => ev.user_agent = c.string_or_null()?,
            "sourceIPs" => ev.source_ip = c.first_item()?,
            "user" => user = c.member("username")?,
            "objectRef" => resource = c.member("resource")?,
            "responseStatus" => code = c.member("code")?,
            "annotations" => decision = c.member("authorization.k8s.io/decision")?,
            _ => c.skip_value()?,
        }
        Ok(())
    })?;
    ev.time = match super::stream::time(&time, "stageTimestamp") {
        Ok(t) => t,
        Err(why) => return Ok(Err(why)),
    };
    if !(stage.is_empty() || stage == "ResponseComplete" || stage == "Panic") {
        // Another stage of a request counted at its end: handed over with no
        // action, and dropped by `read`.
        return Ok(Ok(()));
    }
    ev.service = Cow::Borrowed("kubernetes");
    ev.action = Cow::Owned(if resource.is_empty() {
        verb.into_owned()
    } else {
        format!("{verb} {resource}")
    });
    if let Some(sa) = user.strip_prefix("system:serviceaccount:") {
        let (ns, name) = sa.split_once(':').unwrap_or(("", sa));
        ev.actor_prefix = "k8s:";
        ev.actor = Cow::Owned(format!("{cluster}/{ns}/{name}"));
    } else if !user.is_empty() && user != "system:anonymous" {
        ev.actor_prefix = "id:k8s-user/";
        ev.actor = Cow::Owned(format!("{cluster}/{user}"));
    }
    if code.starts_with('4') || code.starts_with('5') {
        ev.error = code.clone();
    }
    ev.denied = code == "403" || decision == "forbid";
    Ok(Ok(()))
}
