//! AWS CloudTrail: the files a trail delivers to S3 (`{"Records": [...]}`,
//! usually gzipped), and single events as CloudTrail Lake, `lookup-events`
//! `CloudTrailEvent` strings saved one per line, or EventBridge (`"detail-type":
//! "AWS API Call via CloudTrail"`, the event under `detail`) deliver them.
//!
//! The actor (`userIdentity`) becomes a natural key:
//! - `IAMUser` with a long-term key (`AKIA…`): the access key, the user ARN as
//!   its principal; with a session key (`ASIA…`, console or `GetSessionToken`)
//!   or none: the user ARN.
//! - `AssumedRole`: the role (`sessionContext.sessionIssuer.arn`), not the session.
//! - `WebIdentityUser` / `SAMLUser` (`AssumeRoleWithWebIdentity`/`…WithSAML`):
//!   the role assumed (`requestParameters.roleArn`), with the federated subject
//!   (`userName`: e.g. `repo:org/repo:ref:refs/heads/main`).
//! - `Root`: the account root ARN. `AWSService`, `AWSAccount` without an ARN
//!   and events with no identity are counted but attributed to nobody.
//!
//! Who created an identity is ownership evidence: a successful
//! `CreateAccessKey` (`responseElements.accessKey.accessKeyId`), `CreateUser`
//! (`responseElements.user.arn`) or `CreateRole` (`responseElements.role.arn`)
//! sets [`Event::created`], and an assumed-role actor's session name (the
//! last part of `userIdentity.arn`; an IAM Identity Center user's name)
//! [`Event::session`]. CloudTrail never logs the secret access key.

use super::json::{Cursor, Result};
use super::At;
use custody_model::event::{is_denial, rfc3339_seconds, Event};
use std::borrow::Cow;

#[derive(Default)]
struct Identity<'a> {
    kind: Cow<'a, str>,
    arn: Cow<'a, str>,
    access_key: Cow<'a, str>,
    user_name: Cow<'a, str>,
    issuer_arn: Cow<'a, str>,
}

/// Reads a whole file, calling `on_event` for each event in order. Returns the
/// first structural error (after which nothing more of the file can be read);
/// per-event problems go to `on_bad` and that event is skipped.
pub(super) fn read<'a>(
    text: &'a str,
    on_event: &mut dyn FnMut(&Event<'a>, At),
    on_bad: &mut dyn FnMut(At, String),
) -> Result<()> {
    if let Some(r) =
        super::stream::wrapped(text, &["Records"], At::Record, &mut event, on_event, on_bad)
    {
        return r;
    }
    // One event per line (or one pretty-printed event per file).
    let mut c = Cursor::new(text);
    let mut ev = Event::default();
    super::stream::lines(&mut c, text, &mut ev, &mut event, on_event, on_bad)
}

/// One event object into `ev`. The outer `Result` is a structural error; the
/// inner one a readable event custody cannot use (said why).
fn event<'a>(c: &mut Cursor<'a>, ev: &mut Event<'a>) -> Result<std::result::Result<(), String>> {
    let mut who = Identity::default();
    let mut time: Cow<'a, str> = Cow::Borrowed("");
    let mut role_arn: Cow<'a, str> = Cow::Borrowed("");
    fields(c, ev, &mut who, &mut time, &mut role_arn)?;
    if time.is_empty() {
        return Ok(Err("the event has no eventTime".into()));
    }
    let Some(t) = rfc3339_seconds(&time) else {
        // Never echo the value: a field can hold anything, a token included.
        return Ok(Err(format!(
            "eventTime is not an RFC 3339 time ({} characters)",
            time.chars().count()
        )));
    };
    ev.time = t;
    ev.denied = !ev.error.is_empty() && is_denial(&ev.error);
    attribute(ev, who, role_arn);
    Ok(Ok(()))
}

fn fields<'a>(
    c: &mut Cursor<'a>,
    ev: &mut Event<'a>,
    who: &mut Identity<'a>,
    time: &mut Cow<'a, str>,
    role_arn: &mut Cow<'a, str>,
) -> Result<()> {
    c.object(|c, key| {
        match key {
            "eventTime" => *time = c.string()?,
            "eventSource" => ev.service = c.string()?,
            "eventName" => ev.action = c.string()?,
            "awsRegion" => ev.region = c.string()?,
            "sourceIPAddress" => ev.source_ip = c.string_or_null()?,
            "userAgent" => ev.user_agent = c.string_or_null()?,
            "errorCode" => ev.error = c.string_or_null()?,
            "userIdentity" => identity(c, who)?,
            // Only federation events need it (`roleArn`); CloudTrail writes
            // `eventName` first, so the others are skipped unread.
            "requestParameters"
                if !ev.action.is_empty() && !ev.action.starts_with("AssumeRoleWith") =>
            {
                c.skip_value()?
            }
            "requestParameters" => c.object_or_skip(|c, k| {
                if k == "roleArn" {
                    *role_arn = c.string_or_null()?;
                    Ok(())
                } else {
                    c.skip_value()
                }
            })?,
            // Only the creation of an identity is read (rare events).
            "responseElements" => match (&*ev.action, ev.error.is_empty()) {
                ("CreateAccessKey", true) => {
                    let mut id = Cow::Borrowed("");
                    nested(c, "accessKey", "accessKeyId", &mut id)?;
                    if !id.is_empty() {
                        ev.created = Cow::Owned(format!("aws-access-key:{id}"));
                    }
                }
                ("CreateUser", true) => nested(c, "user", "arn", &mut ev.created)?,
                ("CreateRole", true) => nested(c, "role", "arn", &mut ev.created)?,
                _ => c.skip_value()?,
            },
            // EventBridge: the CloudTrail event is the `detail`.
            "detail" => fields(c, ev, who, time, role_arn)?,
            _ => c.skip_value()?,
        }
        Ok(())
    })
}

/// `{"<outer>": {"<inner>": "…"}}` of a response (`user.arn`,
/// `accessKey.accessKeyId`) into `out`; anything else is skipped.
fn nested<'a>(c: &mut Cursor<'a>, outer: &str, inner: &str, out: &mut Cow<'a, str>) -> Result<()> {
    c.object_or_skip(|c, k| {
        if k != outer {
            return c.skip_value();
        }
        c.object_or_skip(|c, k| {
            if k == inner {
                *out = c.string_or_null()?;
                Ok(())
            } else {
                c.skip_value()
            }
        })
    })
}

fn identity<'a>(c: &mut Cursor<'a>, who: &mut Identity<'a>) -> Result<()> {
    c.object_or_skip(|c, key| {
        match key {
            "type" => who.kind = c.string_or_null()?,
            "arn" => who.arn = c.string_or_null()?,
            "accessKeyId" => who.access_key = c.string_or_null()?,
            "userName" => who.user_name = c.string_or_null()?,
            "sessionContext" => c.object_or_skip(|c, k| {
                if k != "sessionIssuer" {
                    return c.skip_value();
                }
                c.object_or_skip(|c, k| {
                    if k == "arn" {
                        who.issuer_arn = c.string_or_null()?;
                        Ok(())
                    } else {
                        c.skip_value()
                    }
                })
            })?,
            _ => c.skip_value()?,
        }
        Ok(())
    })
}

fn attribute<'a>(ev: &mut Event<'a>, who: Identity<'a>, role_arn: Cow<'a, str>) {
    match &*who.kind {
        "IAMUser" if who.access_key.starts_with("AKIA") => {
            ev.actor_prefix = "aws-access-key:";
            ev.actor = who.access_key;
            ev.principal = who.arn;
        }
        "IAMUser" | "Root" if who.arn.starts_with("arn:") => ev.actor = who.arn,
        "AssumedRole" if who.issuer_arn.starts_with("arn:") => {
            ev.session = session_name(who.arn);
            ev.actor = who.issuer_arn;
        }
        "WebIdentityUser" | "SAMLUser" if role_arn.starts_with("arn:") => {
            ev.actor = role_arn;
            ev.subject = who.user_name;
        }
        "AWSAccount" if who.arn.starts_with("arn:") => ev.actor = who.arn,
        _ => {}
    }
}

/// The session name of `arn:aws:sts::<account>:assumed-role/<role>/<session>`.
fn session_name(arn: Cow<'_, str>) -> Cow<'_, str> {
    fn part(a: &str) -> &str {
        match a.rsplit_once('/') {
            Some((head, s)) if head.contains(":assumed-role/") => s,
            _ => "",
        }
    }
    match arn {
        Cow::Borrowed(a) => Cow::Borrowed(part(a)),
        Cow::Owned(a) => Cow::Owned(part(&a).to_string()),
    }
}
