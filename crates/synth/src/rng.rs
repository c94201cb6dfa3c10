//! The seeded generator and the random-text helpers built on it. Only integer arithmetic and basic
//! IEEE operations are used, so a seed gives the same records on every platform.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, SeedableRng};

use crate::text::HEX;

const UPPER_ALNUM: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const LOWER_ALNUM: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const MIXED_ALNUM: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub(crate) struct Rand(Xoshiro256PlusPlus);

impl Rand {
    pub(crate) fn new(seed: u64) -> Self {
        Rand(Xoshiro256PlusPlus::seed_from_u64(seed))
    }

    #[inline]
    pub(crate) fn u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    #[inline]
    pub(crate) fn u32(&mut self) -> u32 {
        (self.0.next_u64() >> 32) as u32
    }

    /// Uniform in `0..n` (`n` > 0; multiply-shift, bias below 2^-32 · n).
    #[inline]
    pub(crate) fn below(&mut self, n: usize) -> usize {
        debug_assert!(n > 0 && n <= u32::MAX as usize);
        ((u64::from(self.u32()) * n as u64) >> 32) as usize
    }

    /// Uniform in `lo..=hi`.
    #[inline]
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below((hi - lo + 1) as usize) as u64
    }

    /// Uniform in `[0, 1)`.
    #[inline]
    pub(crate) fn unit(&mut self) -> f64 {
        (self.u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p`.
    #[inline]
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    #[inline]
    pub(crate) fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }

    fn chars(&mut self, out: &mut String, n: usize, alphabet: &[u8]) {
        for _ in 0..n {
            out.push(alphabet[self.below(alphabet.len())] as char);
        }
    }

    /// `n` lowercase hex digits.
    pub(crate) fn hex(&mut self, out: &mut String, n: usize) {
        let mut left = n;
        while left > 0 {
            let mut bits = self.u64();
            for _ in 0..left.min(16) {
                out.push(HEX[(bits & 15) as usize] as char);
                bits >>= 4;
            }
            left = left.saturating_sub(16);
        }
    }

    pub(crate) fn upper_alnum(&mut self, out: &mut String, n: usize) {
        self.chars(out, n, UPPER_ALNUM);
    }

    pub(crate) fn lower_alnum(&mut self, out: &mut String, n: usize) {
        self.chars(out, n, LOWER_ALNUM);
    }

    pub(crate) fn mixed_alnum(&mut self, out: &mut String, n: usize) {
        self.chars(out, n, MIXED_ALNUM);
    }

    /// `n` base64 characters (6 bits each, no padding).
    pub(crate) fn base64(&mut self, out: &mut String, n: usize) {
        let mut left = n;
        while left > 0 {
            let mut bits = self.u64();
            for _ in 0..left.min(10) {
                out.push(BASE64[(bits & 63) as usize] as char);
                bits >>= 6;
            }
            left = left.saturating_sub(10);
        }
    }

    /// `n` decimal digits (the first may be zero).
    pub(crate) fn digits(&mut self, out: &mut String, n: usize) {
        for _ in 0..n {
            out.push((b'0' + self.below(10) as u8) as char);
        }
    }

    /// A random (version 4) UUID in its 8-4-4-4-12 lowercase form.
    pub(crate) fn uuid(&mut self, out: &mut String) {
        let hi = self.u64();
        let lo = self.u64();
        let hi = (hi & !0xf000) | 0x4000; // version 4
        let lo = (lo & !(0xc << 60)) | (0x8 << 60); // variant 10xx
        let v = (u128::from(hi) << 64) | u128::from(lo);
        for i in 0..32 {
            if matches!(i, 8 | 12 | 16 | 20) {
                out.push('-');
            }
            out.push(HEX[((v >> (124 - 4 * i)) & 15) as usize] as char);
        }
    }

    pub(crate) fn uuid_upper(&mut self, out: &mut String) {
        let start = out.len();
        self.uuid(out);
        out[start..].make_ascii_uppercase();
    }

    /// A string built from `f` (for population set-up, not the hot path).
    pub(crate) fn string(&mut self, f: impl FnOnce(&mut Self, &mut String)) -> String {
        let mut s = String::new();
        f(self, &mut s);
        s
    }
}

/// A Zipf-like discrete distribution over `0..n`, sampled by binary search over a scaled CDF.
#[derive(Debug, Clone)]
pub(crate) struct Zipf {
    cdf: Vec<u64>,
}

impl Zipf {
    /// Weights `1 / (k + 1 + offset)`: `offset` 0 is classic Zipf (s = 1); larger is flatter.
    pub(crate) fn new(n: usize, offset: f64) -> Self {
        let w: Vec<f64> = (0..n.max(1)).map(|k| 1.0 / (k as f64 + 1.0 + offset)).collect();
        Self::weighted(&w)
    }

    pub(crate) fn weighted(weights: &[f64]) -> Self {
        let total: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let mut cdf: Vec<u64> = weights
            .iter()
            .map(|w| {
                acc += w;
                ((acc / total) * 4_294_967_296.0) as u64
            })
            .collect();
        if let Some(last) = cdf.last_mut() {
            *last = 1 << 32;
        }
        Zipf { cdf }
    }

    #[inline]
    pub(crate) fn sample(&self, r: &mut Rand) -> usize {
        let x = u64::from(r.u32());
        self.cdf.partition_point(|&c| c <= x).min(self.cdf.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        let mut r = Rand::new(7);
        for _ in 0..100 {
            let s = r.string(|r, s| r.uuid(s));
            assert_eq!(s.len(), 36);
            let b = s.as_bytes();
            assert_eq!(b[14], b'4');
            assert!(matches!(b[19], b'8' | b'9' | b'a' | b'b'), "{s}");
            assert_eq!(s.matches('-').count(), 4);
        }
    }

    #[test]
    fn zipf_is_skewed_and_in_range() {
        let z = Zipf::new(50, 0.0);
        let mut r = Rand::new(1);
        let mut counts = [0usize; 50];
        for _ in 0..100_000 {
            counts[z.sample(&mut r)] += 1;
        }
        assert!(counts[0] > counts[10] * 5);
        assert!(counts[49] > 0);
    }
}
