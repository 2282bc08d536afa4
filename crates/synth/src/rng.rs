//! A seeded, portable random source (ChaCha8: the same stream on every platform
//! and every `rand` release, unlike `StdRng`).

use rand::{Rng as _, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub struct Rng(ChaCha8Rng);

const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(ChaCha8Rng::seed_from_u64(seed))
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            self.0.gen_range(0..n)
        }
    }
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            self.0.gen_range(lo..hi)
        }
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.0.gen_bool(p.clamp(0.0, 1.0))
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn chars(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| alphabet[self.below(alphabet.len())] as char)
            .collect()
    }
    /// An AWS-style id: prefix + upper-case base32 (`AKIA…`, `AIDA…`).
    pub fn aws_id(&mut self, prefix: &str, n: usize) -> String {
        format!("{prefix}{}", self.chars(BASE32, n))
    }
    /// An Okta-style id: prefix + alphanumerics, 20 characters in all.
    pub fn okta_id(&mut self, prefix: &str) -> String {
        format!("{prefix}{}", self.chars(ALNUM, 20 - prefix.len()))
    }
    pub fn hex(&mut self, n: usize) -> String {
        self.chars(b"0123456789abcdef", n)
    }
    pub fn digits(&mut self, n: usize) -> String {
        let first = (b'1' + self.below(9) as u8) as char;
        format!("{first}{}", self.chars(b"0123456789", n - 1))
    }
}
