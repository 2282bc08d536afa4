//! Offline checks on a candidate secret.

/// CRC-32 (IEEE 802.3), the checksum GitHub and npm tokens carry.
pub fn crc32(data: &[u8]) -> u32 {
    const fn table() -> [u32; 256] {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    }
    const TABLE: [u32; 256] = table();
    let mut crc = !0u32;
    for &b in data {
        crc = TABLE[((crc ^ b as u32) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// GitHub's token format (and npm's): `prefix_` + 30 base62 characters + the
/// CRC-32 of those 30 in base62 (digits, upper, lower), left-padded to 6.
pub fn github_checksum_ok(token: &str) -> bool {
    let Some((_, rest)) = token.split_once('_') else {
        return false;
    };
    if rest.len() != 36 || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let (body, sum) = rest.split_at(30);
    let mut n = crc32(body.as_bytes()) as u64;
    let mut digits = [b'0'; 6];
    for d in digits.iter_mut().rev() {
        *d = BASE62[(n % 62) as usize];
        n /= 62;
    }
    n == 0 && digits == sum.as_bytes()
}

/// A JSON Web Token's structure: a header that is a base64url JSON object
/// naming its `alg`, and a payload that is a base64url JSON object.
pub fn jwt_ok(token: &str) -> bool {
    use base64::Engine;
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let object = |part: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .filter(serde_json::Value::is_object)
    };
    object(header).is_some_and(|h| h.get("alg").is_some()) && object(payload).is_some()
}

/// A PEM block's body (the lines between the armour, `\n` escapes allowed,
/// header lines skipped) decodes to DER — a SEQUENCE with a length — or to an
/// OpenSSH key blob. Only the start is decoded: enough to tell a key from a
/// placeholder, a truncated paste or text.
pub fn pem_ok(block: &str) -> bool {
    use base64::Engine;
    let body: String = block
        .lines()
        .flat_map(|l| l.split("\\n"))
        .filter(|l| !l.starts_with("-----") && !l.contains(':'))
        .flat_map(str::chars)
        .filter(|c| c.is_ascii_alphanumeric() || *c == '+' || *c == '/')
        .take(64)
        .collect();
    let usable = body.len() - body.len() % 4;
    let Ok(bytes) = base64::engine::general_purpose::STANDARD_NO_PAD.decode(&body[..usable]) else {
        return false;
    };
    if bytes.starts_with(b"openssh-key-v1\0") {
        return true;
    }
    match bytes.as_slice() {
        // SEQUENCE, then a short length or a long one of 1 to 3 bytes.
        [0x30, len, ..] => *len < 0x80 || (0x81..=0x83).contains(len),
        _ => false,
    }
}

/// Shannon entropy in bits per character.
pub fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    if n == 0.0 {
        return 0.0;
    }
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn github_checksums_are_verified() {
        // Built at run time: the body and its checksum, then one character off.
        let good = format!("ghp_{}{}", "CustodyExampleNotARealToken001", "1VcBGt");
        assert!(github_checksum_ok(&good));
        let bad = format!("ghp_{}{}", "CustodyExampleNotARealToken001", "1VcBGu");
        assert!(!github_checksum_ok(&bad));
        assert!(!github_checksum_ok("ghp_short"));
    }

    #[test]
    fn jwt_structure_is_checked() {
        let good =
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjdXN0b2R5LWV4YW1wbGUifQ.Q3VzdG9keUV4YW1wbGVTaWc";
        assert!(jwt_ok(good));
        // Base64 of prose, not JSON.
        assert!(!jwt_ok(
            "eyJzZWVtcyBsaWtlIGEgSldU.eyJidXQgaXMgbm90IEpTT04.c2lnbmF0dXJlcw"
        ));
        // JSON without `alg` in the header.
        assert!(!jwt_ok("eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJ4In0.c2ln"));
        assert!(!jwt_ok("eyJhbGciOiJIUzI1NiJ9"));
    }

    #[test]
    fn pem_bodies_must_decode_to_a_key_structure() {
        let rsa = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ\n-----END PRIVATE KEY-----";
        assert!(pem_ok(rsa));
        let escaped = rsa.replace('\n', "\\n");
        assert!(pem_ok(&escaped), "a key pasted into JSON with \\n escapes");
        let ssh = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----";
        assert!(pem_ok(ssh));
        let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00FF\n\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ\n-----END RSA PRIVATE KEY-----";
        assert!(pem_ok(legacy), "header lines are skipped");
        let placeholder = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----",
            "x".repeat(64)
        );
        assert!(!pem_ok(&placeholder));
        assert!(!pem_ok(
            "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----"
        ));
    }

    #[test]
    fn entropy_separates_words_from_keys() {
        assert_eq!(entropy("aaaa"), 0.0);
        assert!(entropy("t9R#vQ2x!Lm8Zp4W") >= 4.0);
    }
}
