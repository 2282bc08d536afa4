//! Bytes as the text they hold, whatever editor or shell saved them: a UTF-8
//! byte-order mark dropped, UTF-16 (what PowerShell's `>` writes, with or
//! without a byte-order mark) decoded to UTF-8; and whether bytes are text at
//! all.

use std::borrow::Cow;

/// The encoding `bytes` were written in, as far as their first bytes say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16Le,
    Utf16Be,
}

/// The encoding of `bytes`: a byte-order mark, else UTF-16's pattern of a
/// zero byte beside each ASCII character, else UTF-8.
pub fn encoding(bytes: &[u8]) -> Encoding {
    if bytes.starts_with(&[0xFF, 0xFE]) {
        return Encoding::Utf16Le;
    }
    if bytes.starts_with(&[0xFE, 0xFF]) {
        return Encoding::Utf16Be;
    }
    let head = &bytes[..bytes.len().min(1024) & !1];
    if head.len() < 4 {
        return Encoding::Utf8;
    }
    let pairs = head.len() / 2;
    let (mut even_zero, mut odd_zero) = (0usize, 0usize);
    for pair in head.chunks_exact(2) {
        even_zero += usize::from(pair[0] == 0);
        odd_zero += usize::from(pair[1] == 0);
    }
    // ASCII text in UTF-16: nearly every other byte is zero, the rest not.
    if odd_zero * 10 >= pairs * 6 && even_zero * 20 <= pairs {
        Encoding::Utf16Le
    } else if even_zero * 10 >= pairs * 6 && odd_zero * 20 <= pairs {
        Encoding::Utf16Be
    } else {
        Encoding::Utf8
    }
}

/// The text of `bytes` as UTF-8 bytes: a UTF-8 byte-order mark dropped,
/// UTF-16 decoded (unpaired surrogates become U+FFFD). Borrowed when nothing
/// needed changing.
pub fn decode(bytes: &[u8]) -> Cow<'_, [u8]> {
    match encoding(bytes) {
        Encoding::Utf8 => Cow::Borrowed(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)),
        e => {
            let body = bytes
                .strip_prefix(&[0xFF, 0xFE])
                .or_else(|| bytes.strip_prefix(&[0xFE, 0xFF]))
                .unwrap_or(bytes);
            let units = body.chunks_exact(2).map(|p| match e {
                Encoding::Utf16Be => u16::from_be_bytes([p[0], p[1]]),
                _ => u16::from_le_bytes([p[0], p[1]]),
            });
            let text: String = char::decode_utf16(units)
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect();
            Cow::Owned(text.into_bytes())
        }
    }
}

/// Whether (decoded) bytes are binary rather than text with a few odd bytes
/// in it: more than a tenth of the first 8 KiB are control characters other
/// than tab, newline, carriage return and form feed. One NUL appended to a
/// `.env` does not make it binary. Returns that share when binary.
pub fn binary_share(bytes: &[u8]) -> Option<f64> {
    let head = &bytes[..bytes.len().min(8192)];
    if head.is_empty() {
        return None;
    }
    let odd = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C) || b == 0x7F)
        .count();
    let share = odd as f64 / head.len() as f64;
    (share > 0.1).then_some(share)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, le: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend(if le { [0xFF, 0xFE] } else { [0xFE, 0xFF] });
        }
        for u in text.encode_utf16() {
            out.extend(if le { u.to_le_bytes() } else { u.to_be_bytes() });
        }
        out
    }

    #[test]
    fn utf16_is_decoded_with_or_without_a_mark() {
        let text = "AWS_SECRET_ACCESS_KEY=abc\nname = \"Zoë\"\n";
        for (le, bom) in [(true, true), (true, false), (false, true), (false, false)] {
            let bytes = utf16(text, le, bom);
            assert_eq!(
                decode(&bytes).as_ref(),
                text.as_bytes(),
                "le {le} bom {bom}"
            );
        }
        assert_eq!(decode(b"\xEF\xBB\xBFplain").as_ref(), b"plain");
        assert!(matches!(decode(b"plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn text_with_a_stray_byte_is_text() {
        let mut env = b"API_KEY=abc\nDB=postgres://x\n".to_vec();
        env.push(0);
        assert_eq!(binary_share(&env), None);
        let png = [
            0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, 1, 2, 3, 0,
        ];
        assert!(binary_share(&png).is_some());
    }
}
