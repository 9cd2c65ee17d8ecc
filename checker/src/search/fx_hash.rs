//! A fast, non-cryptographic hasher for the search's cache (the multiply-and-rotate hash of
//! Firefox and rustc, "FxHash").
//!
//! The cache is hashed once per explored configuration; std's SipHash spends most of a step
//! there. The keys are the search's own (sets of operations, model states), never chosen by an
//! adversary, so resistance to collision attacks buys nothing.

use std::hash::{BuildHasherDefault, Hasher};

/// The multiplier of rustc-hash 2: odd, with well-spread bits.
const K: u64 = 0xf135_7aea_2e62_a9c5;

/// A word-at-a-time hasher: each word is mixed in with an add and a multiply.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FxHasher {
    hash: u64,
}

/// Builds [`FxHasher`]s for `HashMap` and `HashSet`.
pub(crate) type FxBuildHasher = BuildHasherDefault<FxHasher>;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = self.hash.wrapping_add(word).wrapping_mul(K);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            // The length keeps "ab" and "ab\0" apart.
            self.add(u64::from_le_bytes(last) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u16(&mut self, i: u16) {
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
        // The multiply leaves the best-mixed bits at the top; hash tables index with the low
        // ones, so rotate the top down.
        self.hash.rotate_left(26)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::hash::{BuildHasher, Hash};

    fn hash<T: Hash + ?Sized>(t: &T) -> u64 {
        FxBuildHasher::default().hash_one(t)
    }

    #[test]
    fn equal_values_hash_equally_and_small_changes_spread() {
        assert_eq!(hash(&[1u32, 2, 3][..]), hash(&vec![1u32, 2, 3][..]));
        assert_ne!(hash(&1u32), hash(&2u32));
        assert_ne!(hash(&"ab"), hash(&"ab\0"));
        // Sequential keys land in distinct buckets of a small table.
        let buckets: HashSet<u64> = (0u64..64).map(|i| hash(&i) & 63).collect();
        assert!(buckets.len() > 32, "{} of 64 buckets used", buckets.len());
    }
}
