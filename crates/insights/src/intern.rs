//! A fast non-cryptographic hasher and a string interner, so series keys and attribution values
//! are small integers in the hot path.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FxHash-style hasher (as used inside rustc): one rotate, xor and multiply per 8 bytes. Keys are
/// our own small integers and API strings, not attacker-chosen hash-flooding input that could
/// hurt more than an audit log's ordinary volume.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 56));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        // A final avalanche so the low bits (bucket index) depend on every input bit.
        let mut h = self.hash;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h
    }
}

pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;
pub(crate) type FxMap<K, V> = HashMap<K, V, FxBuild>;

/// Strings to dense `u32` ids and back.
#[derive(Default)]
pub(crate) struct Interner {
    map: FxMap<Box<str>, u32>,
    strings: Vec<Box<str>>,
    string_bytes: usize,
}

impl Interner {
    #[inline]
    pub(crate) fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.map.get(s) {
            return id;
        }
        let id = u32::try_from(self.strings.len()).expect("fewer than 2^32 distinct strings");
        self.strings.push(s.into());
        self.map.insert(s.into(), id);
        self.string_bytes += 2 * s.len();
        id
    }

    #[inline]
    pub(crate) fn get(&self, s: &str) -> Option<u32> {
        self.map.get(s).copied()
    }

    #[inline]
    pub(crate) fn resolve(&self, id: u32) -> &str {
        &self.strings[id as usize]
    }

    pub(crate) fn len(&self) -> usize {
        self.strings.len()
    }

    /// Bytes held: string bytes (stored twice: table and map key) plus table and map slots.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.string_bytes
            + self.strings.capacity() * size_of::<Box<str>>()
            + self.map.capacity() * (size_of::<Box<str>>() + size_of::<u32>() + 1)
    }
}

/// FNV-1a, 128 bit: a stable hash (unlike `std`'s) for deterministic shared event ids.
pub(crate) fn fnv1a_128(parts: &[&[u8]]) -> u128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let mut h = OFFSET;
    for part in parts {
        for &b in *part {
            h ^= u128::from(b);
            h = h.wrapping_mul(PRIME);
        }
        // Separator so ("ab","c") and ("a","bc") differ.
        h ^= 0xff;
        h = h.wrapping_mul(PRIME);
    }
    h
}

/// Formats 128 bits as a UUID string with version 8 (custom) and the RFC 9562 variant.
pub(crate) fn uuid_v8(h: u128) -> String {
    let mut v = h;
    v &= !(0xf_u128 << 76);
    v |= 0x8_u128 << 76;
    v &= !(0x3_u128 << 62);
    v |= 0x2_u128 << 62;
    let hex = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// SplitMix64: a tiny, fast, deterministic PRNG for the workload generator and benchmarks.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    #[inline]
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [0, n); 0 when n == 0.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
        }
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.next_f64().max(f64::MIN_POSITIVE);
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Poisson(lambda): Knuth's product method below 30, a rounded normal approximation above.
    pub fn poisson(&mut self, lambda: f64) -> u64 {
        if lambda <= 0.0 {
            return 0;
        }
        if lambda < 30.0 {
            let limit = (-lambda).exp();
            let mut k = 0;
            let mut p = self.next_f64();
            while p > limit {
                k += 1;
                p *= self.next_f64();
            }
            k
        } else {
            (lambda + lambda.sqrt() * self.normal()).round().max(0.0) as u64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_ids_are_stable_uuids() {
        let id = uuid_v8(fnv1a_128(&[b"a", b"bc"]));
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "8");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(id, uuid_v8(fnv1a_128(&[b"a", b"bc"])));
        assert_ne!(id, uuid_v8(fnv1a_128(&[b"ab", b"c"])));
        // Fixed forever: ids of insights already delivered must not change with a new build.
        assert_eq!(
            uuid_v8(fnv1a_128(&[b"123456789012", b"us-east-1"])),
            "18d5e94c-ca5f-8a66-b2ec-b850e65bb605"
        );
    }

    #[test]
    fn interner_round_trips() {
        let mut i = Interner::default();
        let a = i.intern("ec2.amazonaws.com");
        let b = i.intern("s3.amazonaws.com");
        assert_ne!(a, b);
        assert_eq!(i.intern("ec2.amazonaws.com"), a);
        assert_eq!(i.resolve(b), "s3.amazonaws.com");
        assert_eq!(i.get("nope"), None);
    }

    #[test]
    fn poisson_mean() {
        let mut r = SplitMix64::new(1);
        for lambda in [0.5, 5.0, 80.0] {
            let n = 20_000;
            let mean = (0..n).map(|_| r.poisson(lambda) as f64).sum::<f64>() / f64::from(n);
            assert!((mean - lambda).abs() < 0.05 * lambda + 0.05, "{lambda}: {mean}");
        }
    }
}
