//! The shapes log exports share: a JSON array of events, or one event per line
//! (or one pretty-printed event per file; concatenated objects work too).

use super::json::{Cursor, Result};
use super::At;
use custody_model::event::Event;

/// What one event reader returns: `Ok(Err(why))` for a readable event that
/// cannot be used (reported, skipped); `Err` for broken JSON (ends the file).
pub(super) type EventResult = Result<std::result::Result<(), String>>;

/// Reads `text` as an array or a stream of events, calling `event` to read
/// each into a reused [`Event`].
pub(super) fn array_or_lines<'a>(
    text: &'a str,
    event: &mut dyn FnMut(&mut Cursor<'a>, &mut Event<'a>) -> EventResult,
    on_event: &mut dyn FnMut(&Event<'a>, At),
    on_bad: &mut dyn FnMut(At, String),
) -> Result<()> {
    let mut c = Cursor::new(text);
    let mut ev = Event::default();
    if c.peek() == Some(b'[') {
        return c.array(|c, i| {
            ev.clear();
            match event(c, &mut ev)? {
                Ok(()) => on_event(&ev, At::Index(i)),
                Err(why) => on_bad(At::Index(i), why),
            }
            Ok(())
        });
    }
    lines(&mut c, text, &mut ev, event, on_event, on_bad)
}

/// If `text` is an object whose first member is one of `names`, reads that
/// member's array of events (`{"Records": [...]}`), locating each with `at`;
/// `None` when it is not (nothing consumed).
pub(super) fn wrapped<'a>(
    text: &'a str,
    names: &[&str],
    at: fn(usize) -> At,
    event: &mut dyn FnMut(&mut Cursor<'a>, &mut Event<'a>) -> EventResult,
    on_event: &mut dyn FnMut(&Event<'a>, At),
    on_bad: &mut dyn FnMut(At, String),
) -> Option<Result<()>> {
    let mut c = Cursor::new(text);
    let first = c.eat(b'{').is_ok()
        && c.peek() == Some(b'"')
        && c.string().is_ok_and(|k| names.contains(&&*k));
    if !first {
        return None;
    }
    let mut c = Cursor::new(text);
    let mut ev = Event::default();
    Some(c.object(|c, key| {
        if !names.contains(&key) {
            return c.skip_value();
        }
        c.array(|c, i| {
            ev.clear();
            match event(c, &mut ev)? {
                Ok(()) => on_event(&ev, at(i)),
                Err(why) => on_bad(at(i), why),
            }
            Ok(())
        })
    }))
}

/// Reads like [`array_or_lines`], handing over only the events `event`
/// finished (set an action): a log that writes a call in several entries
/// (Kubernetes stages, Vault's request and response) counts each call once.
pub(super) fn finished_only<'a>(
    text: &'a str,
    event: &mut dyn FnMut(&mut Cursor<'a>, &mut Event<'a>) -> EventResult,
    on_event: &mut dyn FnMut(&Event<'a>, At),
    on_bad: &mut dyn FnMut(At, String),
) -> Result<()> {
    let mut each = |ev: &Event<'a>, at: At| {
        if !ev.action.is_empty() {
            on_event(ev, at)
        }
    };
    array_or_lines(text, event, &mut each, on_bad)
}

/// One event after another from the cursor's position, located by line.
///
/// In JSON Lines (one event per line) broken JSON costs only its line: it is
/// reported, skipped, and the next line read. In a file whose events span
/// several lines (pretty-printed) there is no line to resume at: broken JSON
/// ends the file, as it does in an array.
pub(super) fn lines<'a>(
    c: &mut Cursor<'a>,
    text: &'a str,
    ev: &mut Event<'a>,
    event: &mut dyn FnMut(&mut Cursor<'a>, &mut Event<'a>) -> EventResult,
    on_event: &mut dyn FnMut(&Event<'a>, At),
    on_bad: &mut dyn FnMut(At, String),
) -> Result<()> {
    let mut line = 1;
    let mut counted = 0;
    // Whether events are one per line, from the first one read.
    let mut one_per_line: Option<bool> = None;
    while !c.at_end() {
        line += memchr::memchr_iter(b'\n', &text.as_bytes()[counted..c.pos]).count();
        counted = c.pos;
        let start = c.pos;
        ev.clear();
        match event(c, ev) {
            Ok(Ok(())) => on_event(ev, At::Line(line)),
            Ok(Err(why)) => on_bad(At::Line(line), why),
            Err(e) => {
                let jsonl = *one_per_line.get_or_insert_with(|| first_line_is_whole(text, start));
                if !jsonl {
                    return Err(e);
                }
                let col = e.offset.saturating_sub(start) + 1;
                on_bad(
                    At::Line(line),
                    format!("{} (column {col}); this line was skipped", e.message),
                );
                c.pos = memchr::memchr(b'\n', &text.as_bytes()[start..])
                    .map_or(text.len(), |i| start + i + 1);
                continue;
            }
        }
        one_per_line.get_or_insert_with(|| !text[start..c.pos].contains('\n'));
    }
    Ok(())
}

/// Whether the line starting at `start` holds a whole object (`{…}` on one
/// line): the file is JSON Lines.
fn first_line_is_whole(text: &str, start: usize) -> bool {
    let rest = &text[start..];
    let line = rest.split('\n').next().unwrap_or(rest).trim();
    line.starts_with('{') && line.ends_with('}')
}

/// `{"<lat>": n, "<lon>": n}` as a position; anything else is skipped.
pub(super) fn lat_lon(c: &mut Cursor<'_>, lat: &str, lon: &str) -> Result<Option<(f64, f64)>> {
    let (mut a, mut b) = (None, None);
    c.object_or_skip(|c, k| {
        let numeric = matches!(c.peek(), Some(b'-' | b'0'..=b'9'));
        match k {
            _ if !numeric => c.skip_value()?,
            _ if k == lat => a = Some(c.number()?),
            _ if k == lon => b = Some(c.number()?),
            _ => c.skip_value()?,
        }
        Ok(())
    })?;
    Ok(a.zip(b)
        .filter(|(a, b)| a.abs() <= 90.0 && b.abs() <= 180.0))
}

/// The time of an event, or why not.
pub(super) fn time(raw: &str, field: &str) -> std::result::Result<i64, String> {
    if raw.is_empty() {
        return Err(format!("the event has no `{field}` time"));
    }
    custody_model::event::rfc3339_seconds(raw)
        // Never echo the value: a field can hold anything, a token included.
        .ok_or_else(|| {
            format!(
                "`{field}` is not an RFC 3339 time ({} characters)",
                raw.chars().count()
            )
        })
}
