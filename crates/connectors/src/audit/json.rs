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

pub struct Cursor<'a> {
    text: &'a str,
    pub pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(text: &'a str) -> Cursor<'a> {
        Cursor { text, pos: 0 }
    }

    pub fn at(text: &'a str, pos: usize) -> Cursor<'a> {
        Cursor { text, pos }
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

    pub fn ws(&mut self) {
        let b = self.bytes();
        while self.pos < b.len() && matches!(b[self.pos], b' ' | b'\n' | b'\r' | b'\t') {
            self.pos += 1;
        }
    }

    /// The next non-blank byte, not consumed.
    pub fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.bytes().get(self.pos).copied()
    }

    pub fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    pub fn eat(&mut self, want: u8) -> Result<()> {
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
    pub fn string(&mut self) -> Result<Cow<'a, str>> {
        self.eat(b'"')?;
        let b = self.bytes();
        let start = self.pos;
        match memchr::memchr2(b'"', b'\\', &b[start..]) {
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

    /// Is the next value `null`? (Consumed if so.)
    pub fn null(&mut self) -> Result<bool> {
        if self.peek() == Some(b'n') {
            self.literal(b"null")?;
            return Ok(true);
        }
        Ok(false)
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

    fn skip_string(&mut self) -> Result<()> {
        // At the opening quote.
        let b = self.bytes();
        let mut i = self.pos + 1;
        loop {
            match memchr::memchr2(b'"', b'\\', &b[i.min(b.len())..]) {
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
    /// what it opened), skipping strings whole.
    fn skip_nested(&mut self) -> Result<()> {
        let b = self.bytes();
        // One bit per level: 1 = object, 0 = array; 64 levels are plenty for logs.
        let mut stack: u64 = 0;
        let mut depth = 0u32;
        let mut i = self.pos;
        while i < b.len() {
            let c = b[i];
            if !STRUCTURAL[c as usize] {
                i += 1;
                continue;
            }
            match c {
                b'"' => {
                    self.pos = i;
                    self.skip_string()?;
                    i = self.pos;
                    continue;
                }
                b'{' | b'[' => {
                    if depth == 64 {
                        self.pos = i;
                        return self.error("nested more than 64 levels deep");
                    }
                    stack = (stack << 1) | u64::from(c == b'{');
                    depth += 1;
                }
                _ => {
                    let object = stack & 1 == 1;
                    if depth == 0 || object != (c == b'}') {
                        self.pos = i;
                        return self.error(format!("unexpected `{}`", c as char));
                    }
                    stack >>= 1;
                    depth -= 1;
                    if depth == 0 {
                        self.pos = i + 1;
                        return Ok(());
                    }
                }
            }
            i += 1;
        }
        self.pos = b.len();
        self.error("an object or array does not end (truncated?)")
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
