//! The set of operations a search configuration has linearized, and the compact key the search
//! caches it under.
//!
//! The cache holds one key per explored configuration, so a full bitset per key costs
//! O(n²/64) memory over a search of n operations: gigabytes at 50,000. But in call order a
//! linearized set is nearly a prefix: everything below some rank, except the few operations
//! still concurrent with the frontier and indeterminate ones never linearized:
//!
//! ```text
//!   rank:    0 1 2 3 4 5 6 7 8 9
//!   member:  x x x . x x . x . .      end = 8, gaps = [3, 6]
//! ```
//!
//! So the key is `end` plus the gaps below it, unless the gaps outnumber the words of a bitset
//! of `0..end` (many stuck indeterminate operations), in which case it is that bitset. The
//! choice depends only on the set, so equal sets always get equal keys.

use crate::bitset::Bitset;

/// A set of ranks (operations numbered in call order), kept in gap form.
#[derive(Debug, Clone)]
pub(crate) struct Linearized {
    bits: Bitset,
    /// One past the highest member; 0 when empty.
    end: usize,
    /// The non-members below `end`, ascending.
    gaps: Vec<u32>,
}

/// A canonical, compact form of a [`Linearized`] set, for hashing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum LinearizedKey {
    /// Every rank below `end` except `gaps`.
    Gaps {
        /// One past the highest member.
        end: u32,
        /// The non-members below `end`, ascending.
        gaps: Box<[u32]>,
    },
    /// The members, as bitset words up to the one holding the highest member.
    Bits(Box<[u64]>),
}

/// Ranks are stored as `u32` in keys: 4 billion operations is far beyond any search.
fn rank32(rank: usize) -> u32 {
    u32::try_from(rank).expect("fewer than 2^32 operations")
}

impl Linearized {
    /// An empty set of ranks below `len`.
    pub(crate) fn new(len: usize) -> Self {
        Linearized {
            bits: Bitset::new(len),
            end: 0,
            gaps: Vec::new(),
        }
    }

    /// Adds `rank`, which must not be a member.
    pub(crate) fn insert(&mut self, rank: usize) {
        self.bits.set(rank);
        if rank >= self.end {
            self.gaps.extend(rank32(self.end)..rank32(rank));
            self.end = rank + 1;
        } else {
            let at = self
                .gaps
                .binary_search(&rank32(rank))
                .expect("a rank below end that is not a member is a gap");
            self.gaps.remove(at);
        }
    }

    /// Removes `rank`, which must be a member.
    pub(crate) fn remove(&mut self, rank: usize) {
        self.bits.clear(rank);
        if rank + 1 == self.end {
            let mut end = rank;
            while end > 0 && self.gaps.last() == Some(&rank32(end - 1)) {
                self.gaps.pop();
                end -= 1;
            }
            self.end = end;
        } else {
            let at = self
                .gaps
                .binary_search(&rank32(rank))
                .expect_err("a member is not a gap");
            self.gaps.insert(at, rank32(rank));
        }
    }

    /// The set's cache key.
    pub(crate) fn key(&self) -> LinearizedKey {
        let words = self.end.div_ceil(64);
        if self.gaps.len() <= 2 * words {
            LinearizedKey::Gaps {
                end: rank32(self.end),
                gaps: self.gaps.as_slice().into(),
            }
        } else {
            LinearizedKey::Bits(self.bits.words()[..words].into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::collections::{BTreeSet, HashMap};

    #[test]
    fn gap_form_of_a_nearly_full_prefix() {
        let mut s = Linearized::new(10);
        for r in [0, 1, 2, 4, 5, 7] {
            s.insert(r);
        }
        assert_eq!(
            s.key(),
            LinearizedKey::Gaps {
                end: 8,
                gaps: vec![3, 6].into()
            }
        );
        s.remove(7);
        assert_eq!(
            s.key(),
            LinearizedKey::Gaps {
                end: 6,
                gaps: vec![3].into()
            }
        );
        s.remove(0);
        assert_eq!(
            s.key(),
            LinearizedKey::Gaps {
                end: 6,
                gaps: vec![0, 3].into()
            }
        );
    }

    #[test]
    fn many_gaps_fall_back_to_bits() {
        let mut s = Linearized::new(200);
        s.insert(150);
        s.insert(3);
        let mut words = vec![0u64; 3];
        words[0] = 1 << 3;
        words[2] = 1 << (150 - 128);
        assert_eq!(s.key(), LinearizedKey::Bits(words.into()));
    }

    #[test]
    fn keys_are_equal_exactly_when_sets_are() {
        // Random walks of inserts and removes; every set seen must map to one key and back.
        let mut rng = StdRng::seed_from_u64(7);
        let mut by_key: HashMap<LinearizedKey, BTreeSet<usize>> = HashMap::new();
        for _ in 0..200 {
            let len = rng.random_range(1..150);
            let mut s = Linearized::new(len);
            let mut reference = BTreeSet::new();
            for _ in 0..300 {
                let r = rng.random_range(0..len);
                if reference.insert(r) {
                    s.insert(r);
                } else {
                    reference.remove(&r);
                    s.remove(r);
                }
                let previous = by_key.insert(s.key(), reference.clone());
                assert!(
                    previous.is_none_or(|p| p == reference),
                    "two sets share a key"
                );
            }
            // Emptying it returns to the empty key.
            for r in std::mem::take(&mut reference) {
                s.remove(r);
            }
            assert_eq!(
                s.key(),
                LinearizedKey::Gaps {
                    end: 0,
                    gaps: Box::new([])
                }
            );
        }
    }
}
