//! A forward-only JSON reader for audit logs: it reads the few fields usage
//! needs and *skips* everything else without building values, so parsing runs
//! at memory speed (`docs/PERFORMANCE.md`). Strings without escapes are
//! borrowed from the input; skipped strings are found with `memchr`.
//!
//! What it checks: the structure of everything it reads, that brackets and
//! braces of skipped values balance and match, and that strings end. Inside a
//! *skipped* value it does not check number or literal grammar: a malformed
//! number in a field custody never reads is not an error.

use std::borrow::Cow;

/// Where and why the input stopped being JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// Byte offset in the input.
    pub offset: usize,
    pub message: Cow<'static, str>,
}

pub type Result<T> = std::result::Result<T, JsonError>;

/// Structural bytes of a nested value being skipped: `"`, `{`, `}`, `[`, `]`.
static STRUCTURAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b'"' as usize] = true;
    t[b'{' as usize] = true;
    t[b'}' as usize] = true;
    t[b'[' as usize] = true;
    t[b']' as usize] = true;
    t
};

/// Where a skip of nested values is: inside a string or not, and the open
/// brackets (one bit per level: 1 = object, 0 = array; 64 levels).
#[derive(Default)]
struct Nesting {
    in_string: bool,
    stack: u64,
    depth: u32,
    /// Where the fast path stopped (too few bytes left for a block).
    resume: usize,
}

enum Step {
    Go,
    Done,
    Bad,
}

impl Nesting {
    /// One structural byte outside a string.
    #[inline]
    fn step(&mut self, c: u8) -> Step {
        match c {
            b'"' => {
                self.in_string = true;
                Step::Go
            }
            b'{' | b'[' => {
                if self.depth == 64 {
                    return Step::Bad;
                }
                self.stack = (self.stack << 1) | u64::from(c == b'{');
                self.depth += 1;
                Step::Go
            }
            _ => {
                let object = self.stack & 1 == 1;
                if self.depth == 0 || object != (c == b'}') {
                    return Step::Bad;
                }
                self.stack >>= 1;
                self.depth -= 1;
                if self.depth == 0 {
                    Step::Done
                } else {
                    Step::Go
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod simd {
    //! SSE2 (every x86-64 CPU has it): per 16-byte block, one mask of the
    //! bytes that matter inside strings (`"`, `\\`) and one of those that
    //! matter outside (`"` and brackets); only their set bits are visited.
    use super::{Nesting, Step};
    use std::arch::x86_64::*;

    /// The first `"` or `\\` in the whole 16-byte blocks of `b` (the caller
    /// looks at the remainder).
    #[inline]
    pub(super) fn quote_or_backslash(b: &[u8]) -> Option<usize> {
        let mut i = 0;
        // SAFETY: SSE2 is part of x86-64; each load reads 16 bytes inside `b`.
        unsafe {
            let quote = _mm_set1_epi8(b'"' as i8);
            let slash = _mm_set1_epi8(b'\\' as i8);
            while i + 16 <= b.len() {
                let v = _mm_loadu_si128(b.as_ptr().add(i) as *const __m128i);
                let m = _mm_movemask_epi8(_mm_or_si128(
                    _mm_cmpeq_epi8(v, quote),
                    _mm_cmpeq_epi8(v, slash),
                ));
                if m != 0 {
                    return Some(i + m.trailing_zeros() as usize);
                }
                i += 16;
            }
        }
        None
    }

    /// `Ok(Some(end))`: the value ends before `end`; `Ok(None)`: fewer than 16
    /// bytes left, go on from `n.resume`; `Err(at)`: bad nesting at `at`.
    pub(super) fn skip(b: &[u8], mut i: usize, n: &mut Nesting) -> Result<Option<usize>, usize> {
        // SAFETY: SSE2 is part of x86-64; every load reads 16 bytes inside `b`
        // (checked by the loop condition) with an unaligned load.
        unsafe {
            let quote = _mm_set1_epi8(b'"' as i8);
            let slash = _mm_set1_epi8(b'\\' as i8);
            let (ob, cb) = (_mm_set1_epi8(b'{' as i8), _mm_set1_epi8(b'}' as i8));
            let (os, cs) = (_mm_set1_epi8(b'[' as i8), _mm_set1_epi8(b']' as i8));
            while i + 16 <= b.len() {
                let v = _mm_loadu_si128(b.as_ptr().add(i) as *const __m128i);
                let q = _mm_cmpeq_epi8(v, quote);
                let in_str = _mm_movemask_epi8(_mm_or_si128(q, _mm_cmpeq_epi8(v, slash))) as u32;
                let brackets = _mm_or_si128(
                    _mm_or_si128(_mm_cmpeq_epi8(v, ob), _mm_cmpeq_epi8(v, cb)),
                    _mm_or_si128(_mm_cmpeq_epi8(v, os), _mm_cmpeq_epi8(v, cs)),
                );
                let outside = _mm_movemask_epi8(_mm_or_si128(q, brackets)) as u32;
                // Visit the bits from position `p` of this block.
                let mut p = 0u32;
                loop {
                    let mask = if n.in_string { in_str } else { outside };
                    let live = if p >= 16 { 0 } else { mask >> p << p };
                    if live == 0 {
                        break;
                    }
                    let j = live.trailing_zeros();
                    let at = i + j as usize;
                    let c = b[at];
                    if n.in_string {
                        if c == b'\\' {
                            p = j + 2;
                        } else {
                            n.in_string = false;
                            p = j + 1;
                        }
                        continue;
                    }
                    match n.step(c) {
                        Step::Go => p = j + 1,
                        Step::Done => return Ok(Some(at + 1)),
                        Step::Bad => return Err(at),
                    }
                }
                // An escape at the block's last byte skips the next block's first.
                i += 16.max(p as usize);
            }
        }
        n.resume = i;
        Ok(None)
    }
}

/// The offset (from `from`) of the next `"` or `\\`.
#[inline]
fn quote_or_backslash(b: &[u8], from: usize) -> Option<usize> {
    let rest = b.get(from..)?;
    #[cfg(target_arch = "x86_64")]
    let i = match simd::quote_or_backslash(rest) {
        Some(j) => return Some(j),
        None => rest.len() - rest.len() % 16,
    };
    #[cfg(not(target_arch = "x86_64"))]
    let i = 0;
    rest[i..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\')
        .map(|j| i + j)
}

pub struct Cursor<'a> {
    text: &'a str,
    pub pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(text: &'a str) -> Cursor<'a> {
        Cursor { text, pos: 0 }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    pub fn error<T>(&self, message: impl Into<Cow<'static, str>>) -> Result<T> {
        Err(JsonError {
            offset: self.pos,
            message: message.into(),
        })
    }

    #[inline]
    pub fn ws(&mut self) {
        let b = self.bytes();
        while self.pos < b.len() && matches!(b[self.pos], b' ' | b'\n' | b'\r' | b'\t') {
            self.pos += 1;
        }
    }

    /// The next non-blank byte, not consumed.
    #[inline(always)]
    pub fn peek(&mut self) -> Option<u8> {
        match self.bytes().get(self.pos) {
            Some(&c) if !matches!(c, b' ' | b'\n' | b'\r' | b'\t') => Some(c),
            _ => {
                self.ws();
                self.bytes().get(self.pos).copied()
            }
        }
    }

    pub fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    #[inline(always)]
    pub fn eat(&mut self, want: u8) -> Result<()> {
        if self.bytes().get(self.pos) == Some(&want) {
            self.pos += 1;
            return Ok(());
        }
        self.eat_slow(want)
    }

    #[cold]
    fn eat_slow(&mut self, want: u8) -> Result<()> {
        match self.peek() {
            Some(b) if b == want => {
                self.pos += 1;
                Ok(())
            }
            Some(b) => self.error(format!(
                "expected `{}`, found `{}`",
                want as char,
                printable(b)
            )),
            None => self.error(format!(
                "expected `{}`, found the end of the input (truncated?)",
                want as char
            )),
        }
    }

    /// Reads a string value; borrowed unless it has escapes.
    #[inline]
    pub fn string(&mut self) -> Result<Cow<'a, str>> {
        self.eat(b'"')?;
        let b = self.bytes();
        let start = self.pos;
        match quote_or_backslash(b, start) {
            Some(i) if b[start + i] == b'"' => {
                self.pos = start + i + 1;
                Ok(Cow::Borrowed(&self.text[start..start + i]))
            }
            Some(_) => self.unescape(start).map(Cow::Owned),
            None => self.error("a string does not end (truncated?)"),
        }
    }

    /// A string, or `null` as the empty string.
    pub fn string_or_null(&mut self) -> Result<Cow<'a, str>> {
        if self.peek() == Some(b'n') {
            self.literal(b"null")?;
            return Ok(Cow::Borrowed(""));
        }
        self.string()
    }

    /// A string or a number, as text (GitHub writes some ids as numbers).
    pub fn scalar_text(&mut self) -> Result<Cow<'a, str>> {
        match self.peek() {
            Some(b'"') => self.string(),
            Some(b'n') => {
                self.literal(b"null")?;
                Ok(Cow::Borrowed(""))
            }
            Some(b'-' | b'0'..=b'9') => {
                let start = self.pos;
                let b = self.bytes();
                while self.pos < b.len()
                    && matches!(b[self.pos], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    self.pos += 1;
                }
                Ok(Cow::Borrowed(&self.text[start..self.pos]))
            }
            Some(b't') => self.literal(b"true").map(|_| Cow::Borrowed("true")),
            Some(b'f') => self.literal(b"false").map(|_| Cow::Borrowed("false")),
            _ => self.error("expected a string or a number"),
        }
    }

    /// A number as f64 (epoch milliseconds in GitHub's audit log).
    pub fn number(&mut self) -> Result<f64> {
        let at = self.pos;
        let t = self.scalar_text()?;
        t.parse::<f64>().map_err(|_| JsonError {
            offset: at,
            message: "expected a number".into(),
        })
    }

    fn literal(&mut self, word: &[u8]) -> Result<()> {
        if self.bytes()[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            self.error("expected a value")
        }
    }

    fn unescape(&mut self, start: usize) -> Result<String> {
        let b = self.bytes();
        let mut out = String::new();
        let mut i = start;
        loop {
            let Some(j) = memchr::memchr2(b'"', b'\\', &b[i..]) else {
                self.pos = b.len();
                return self.error("a string does not end (truncated?)");
            };
            out.push_str(&self.text[i..i + j]);
            i += j;
            if b[i] == b'"' {
                self.pos = i + 1;
                return Ok(out);
            }
            let Some(&e) = b.get(i + 1) else {
                self.pos = i;
                return self.error("a string does not end (truncated?)");
            };
            i += 2;
            match e {
                b'"' => out.push('"'),
                b'\\' => out.push('\\'),
                b'/' => out.push('/'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => {
                    let hex = |at: usize| -> Option<u32> {
                        let h = self.text.get(at..at + 4)?;
                        u32::from_str_radix(h, 16).ok()
                    };
                    let Some(hi) = hex(i) else {
                        self.pos = i;
                        return self.error("a \\u escape needs four hex digits");
                    };
                    i += 4;
                    let c = if (0xD800..0xDC00).contains(&hi)
                        && b.get(i) == Some(&b'\\')
                        && b.get(i + 1) == Some(&b'u')
                    {
                        match hex(i + 2) {
                            Some(lo) if (0xDC00..0xE000).contains(&lo) => {
                                i += 6;
                                char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                            }
                            _ => None,
                        }
                    } else {
                        char::from_u32(hi)
                    };
                    out.push(c.unwrap_or('\u{FFFD}'));
                }
                _ => {
                    self.pos = i - 2;
                    return self.error("an invalid escape in a string");
                }
            }
        }
    }

    #[inline]
    fn skip_string(&mut self) -> Result<()> {
        // At the opening quote.
        let b = self.bytes();
        let mut i = self.pos + 1;
        loop {
            match quote_or_backslash(b, i.min(b.len())) {
                Some(j) if b[i + j] == b'"' => {
                    self.pos = i + j + 1;
                    return Ok(());
                }
                Some(j) => i += j + 2,
                None => {
                    self.pos = b.len();
                    return self.error("a string does not end (truncated?)");
                }
            }
        }
    }

    /// Skips one value of any type.
    #[inline]
    pub fn skip_value(&mut self) -> Result<()> {
        match self.peek() {
            Some(b'"') => self.skip_string(),
            Some(b'{' | b'[') => self.skip_nested(),
            Some(b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => {
                let b = self.bytes();
                let start = self.pos;
                while self.pos < b.len()
                    && !matches!(
                        b[self.pos],
                        b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t'
                    )
                {
                    self.pos += 1;
                }
                if self.pos == start {
                    return self.error("expected a value");
                }
                Ok(())
            }
            Some(b) => self.error(format!("expected a value, found `{}`", printable(b))),
            None => self.error("expected a value, found the end of the input (truncated?)"),
        }
    }

    /// Skips an object or array: balances brackets (and checks that each closes
    /// what it opened), skipping strings whole. Sixteen bytes at a time where
    /// the CPU allows: only quotes, backslashes and brackets cost anything.
    fn skip_nested(&mut self) -> Result<()> {
        let b = self.bytes();
        let mut n = Nesting::default();
        let mut i = self.pos;
        #[cfg(target_arch = "x86_64")]
        {
            match simd::skip(b, i, &mut n) {
                Ok(Some(end)) => {
                    self.pos = end;
                    return Ok(());
                }
                Ok(None) => i = n.resume,
                Err(at) => {
                    self.pos = at;
                    return self.nesting_error(b, at);
                }
            }
        }
        // Scalar: the tail (and other CPUs).
        while i < b.len() {
            let c = b[i];
            if n.in_string {
                match c {
                    b'\\' => i += 2,
                    b'"' => {
                        n.in_string = false;
                        i += 1;
                    }
                    _ => i += 1,
                }
                continue;
            }
            if STRUCTURAL[c as usize] {
                match n.step(c) {
                    Step::Go => {}
                    Step::Done => {
                        self.pos = i + 1;
                        return Ok(());
                    }
                    Step::Bad => {
                        self.pos = i;
                        return self.nesting_error(b, i);
                    }
                }
            }
            i += 1;
        }
        self.pos = b.len();
        if n.in_string {
            return self.error("a string does not end (truncated?)");
        }
        self.error("an object or array does not end (truncated?)")
    }

    fn nesting_error<T>(&self, b: &[u8], at: usize) -> Result<T> {
        match b.get(at) {
            Some(b'{' | b'[') => self.error("nested more than 64 levels deep"),
            Some(&c) => self.error(format!("unexpected `{}`", c as char)),
            None => self.error("an object or array does not end (truncated?)"),
        }
    }

    /// Reads an object, calling `field` with each key; `field` must consume the
    /// value (read it or [`Cursor::skip_value`]).
    pub fn object(&mut self, mut field: impl FnMut(&mut Self, &str) -> Result<()>) -> Result<()> {
        self.eat(b'{')?;
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            let key = self.string()?;
            self.eat(b':')?;
            field(self, &key)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b) => {
                    return self.error(format!("expected `,` or `}}`, found `{}`", printable(b)))
                }
                None => return self.error("an object does not end (truncated?)"),
            }
        }
    }

    /// [`Cursor::object`] if the value is an object; any other value (`null`, a
    /// string some exporters write instead) is skipped.
    pub fn object_or_skip(
        &mut self,
        field: impl FnMut(&mut Self, &str) -> Result<()>,
    ) -> Result<()> {
        if self.peek() == Some(b'{') {
            self.object(field)
        } else {
            self.skip_value()
        }
    }

    /// The one member `key` of an object, as text (a string, a number, or ""
    /// for null or absent); every other member is skipped, and so is a value
    /// that is not an object.
    pub fn member(&mut self, key: &str) -> Result<Cow<'a, str>> {
        let mut out = Cow::Borrowed("");
        self.object_or_skip(|c, k| {
            if k == key
                && matches!(
                    c.peek(),
                    Some(b'"' | b'-' | b'0'..=b'9' | b'n' | b't' | b'f')
                )
            {
                out = c.scalar_text()?;
                Ok(())
            } else {
                c.skip_value()
            }
        })?;
        Ok(out)
    }

    /// The first item of an array, as text (`""` for an empty array or null);
    /// the rest is skipped, and so is a value that is not an array.
    pub fn first_item(&mut self) -> Result<Cow<'a, str>> {
        let mut out = Cow::Borrowed("");
        if self.peek() != Some(b'[') {
            self.skip_value()?;
            return Ok(out);
        }
        self.array(|c, i| {
            if i == 0
                && matches!(
                    c.peek(),
                    Some(b'"' | b'-' | b'0'..=b'9' | b'n' | b't' | b'f')
                )
            {
                out = c.scalar_text()?;
                Ok(())
            } else {
                c.skip_value()
            }
        })?;
        Ok(out)
    }

    /// Reads an array, calling `item` with each index; `item` must consume the value.
    pub fn array(&mut self, mut item: impl FnMut(&mut Self, usize) -> Result<()>) -> Result<()> {
        self.eat(b'[')?;
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        let mut n = 0;
        loop {
            item(self, n)?;
            n += 1;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b) => {
                    return self.error(format!("expected `,` or `]`, found `{}`", printable(b)))
                }
                None => return self.error("an array does not end (truncated?)"),
            }
        }
    }
}

fn printable(b: u8) -> String {
    if b.is_ascii_graphic() {
        (b as char).to_string()
    } else {
        format!("\\x{b:02x}")
    }
}

/// 1-based line and column of a byte offset (for error messages only: it
/// scans the input).
pub fn line_col(text: &str, offset: usize) -> (u64, u64) {
    let b = &text.as_bytes()[..offset.min(text.len())];
    let line = memchr::memchr_iter(b'\n', b).count() as u64 + 1;
    let start = memchr::memrchr(b'\n', b).map_or(0, |i| i + 1);
    (line, (b.len() - start) as u64 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_it_asks_for_and_skips_the_rest() {
        let text = r#" {"a": {"x": [1, {"y": "}]"}, null, true, -1.5e3]}, "b": "he said \"hi\" \u00e9\ud83d\ude00", "c": "plain", "d": null} "#;
        let mut c = Cursor::new(text);
        let (mut b, mut plain, mut d) = (String::new(), None, None);
        c.object(|c, k| {
            match k {
                "b" => b = c.string()?.into_owned(),
                "c" => plain = Some(matches!(c.string()?, Cow::Borrowed("plain"))),
                "d" => d = Some(c.string_or_null()?.into_owned()),
                _ => c.skip_value()?,
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(b, "he said \"hi\" é😀");
        assert_eq!(plain, Some(true));
        assert_eq!(d.as_deref(), Some(""));
        assert!(c.at_end());
    }

    #[test]
    fn skipping_agrees_with_a_full_parser_at_every_block_offset() {
        // Escapes, quotes and brackets at every position relative to the
        // 16-byte blocks, inside strings and out.
        for pad in 0..40 {
            for tail in ["\\\"", "\\\\", "}]", "\\u00e9{["] {
                let filler = "x".repeat(pad);
                let value = format!(
                    r#"{{"{filler}": ["{filler}{tail}", {{"k": [1, 2, {{}}], "s": "]{tail}}}"}}, [[[]]], "{tail}"], "z": null}}"#
                );
                let text = format!("{value} ,");
                let want: serde_json::Value = serde_json::from_str(&value).expect(&value);
                let mut c = Cursor::new(&text);
                c.skip_value().unwrap_or_else(|e| panic!("{value}: {e:?}"));
                assert_eq!(c.pos, value.len(), "{value}");
                assert!(want.is_object());
                // Cut anywhere inside: an error, never a panic or a false end.
                for cut in 1..value.len() - 1 {
                    let mut c = Cursor::new(&value[..cut]);
                    assert!(c.skip_value().is_err(), "{}", &value[..cut]);
                }
            }
        }
    }

    #[test]
    fn truncation_and_mismatches_are_located() {
        for (text, at) in [
            (r#"{"a": [1, 2"#, 11),
            (r#"{"a": "abc"#, 10),
            (r#"{"a": [1, 2}"#, 11),
            (r#"{"a" 1}"#, 5),
            (r#"{"a": 1"#, 7),
        ] {
            let mut c = Cursor::new(text);
            let e = c.object(|c, _| c.skip_value()).expect_err(text);
            assert_eq!(e.offset, at, "{text}: {}", e.message);
        }
        assert_eq!(line_col("a\nb\ncd", 5), (3, 2));
    }
}
