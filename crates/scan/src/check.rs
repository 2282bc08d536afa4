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
    fn entropy_separates_words_from_keys() {
        assert_eq!(entropy("aaaa"), 0.0);
        assert!(entropy("t9R#vQ2x!Lm8Zp4W") >= 4.0);
    }
}
