//! A small, fast, deterministic hasher for the aligner's internal maps and
//! keys (FNV-1a with a SplitMix64 finish): the standard SipHash is built to
//! resist flooding, which the aligner's own keys do not need, and costs far
//! more on short keys.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FNV-1a, finished with SplitMix64.
#[derive(Debug, Clone, Copy)]
pub struct FastHasher(u64);

impl Default for FastHasher {
    fn default() -> FastHasher {
        FastHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = mix(self.0 ^ n);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64)
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(n as u64)
    }
    fn finish(&self) -> u64 {
        mix(self.0)
    }
}

/// SplitMix64's finaliser.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A 64-bit hash of `tag` and `bytes`, stable across runs and platforms.
pub fn hash_bytes(tag: u8, bytes: &[u8]) -> u64 {
    let mut h = FastHasher::default();
    h.write(&[tag]);
    h.write(bytes);
    h.write_u64(bytes.len() as u64);
    h.finish()
}

/// A `HashMap` with [`FastHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;
