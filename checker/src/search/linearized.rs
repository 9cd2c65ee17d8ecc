//! The set of operations a search configuration has linearized, and the compact keys the search
//! caches it under.
//!
//! The set has two parts, kept apart because the memo treats them differently (see
//! `explored.rs`): the `ok` operations linearized, which every completion must extend to all of
//! them, and the indeterminate ones used, which a covering configuration may have fewer of.
//! Each part numbers its operations in call order, apart from the other's.
//!
//! The cache holds one key per explored configuration, so a full bitset per key costs
//! O(n²/64) memory over a search of n operations: gigabytes at 50,000. But in call order a
//! linearized set of `ok` operations is nearly a prefix: everything below some rank, except the
//! few operations still concurrent with the frontier:
//!
//! ```text
//!   rank:    0 1 2 3 4 5 6 7 8 9
//!   member:  x x x . x x . x . .      end = 8, gaps = [3, 6]
//! ```
//!
//! So the key is `end` plus the gaps below it, unless the gaps outnumber the words of a bitset
//! of `0..end`, in which case it is that bitset. A search of at most 128 `ok` operations (the
//! common case: a key of a Jepsen test) keys by the whole bitset, two words. The choice depends
//! only on the set and the search's size, so within a search equal sets always get equal keys.
//! Keys are written as words (see [`Linearized::write_key`]) for the memo's arena:
//!
//! ```text
//!   small:  [bits 0..64, bits 64..128]
//!   gaps:   [end | count << 32, gap0 | gap1 << 32, …]        (bit 63 clear)
//!   bits:   [1 << 63 | words, word0, word1, …]
//! ```
//!
//! The indeterminate operations used are few and scattered (most never took effect, and stay
//! gaps forever: in one key they once made every key a bitset of all operations), so they are
//! kept apart ([`Split::used`]): as a count per chain of identical ones (`indeterminate.rs`),
//! the used ones of a chain being always its first, in lanes just wide enough for the longest
//! chain. With unique values every chain has one operation and this is a bitset; with values
//! `0..5` and 1,300 indeterminate operations it is 30 lanes of 6 bits, three words, where a
//! bitset up to the highest one used took 20.

use crate::search::bitset::Bitset;

/// Searches of at most this many operations key by the whole bitset.
const SMALL: usize = 128;

/// Marks a key in bitset form.
const BITS_TAG: u64 = 1 << 63;

/// A set of ranks (operations numbered in call order), kept in gap form.
#[derive(Debug, Clone)]
pub(crate) struct Linearized {
    /// Whether keys are the whole bitset; then `end` and `gaps` are not kept.
    small: bool,
    bits: Bitset,
    /// One past the highest member; 0 when empty.
    end: usize,
    /// The non-members below `end`, ascending.
    gaps: Vec<u32>,
}

/// Ranks are stored as `u32` in keys: 4 billion operations is far beyond any search.
fn rank32(rank: usize) -> u32 {
    u32::try_from(rank).expect("fewer than 2^32 operations")
}

impl Linearized {
    /// An empty set of ranks below `len`.
    pub(crate) fn new(len: usize) -> Self {
        Linearized {
            small: len <= SMALL,
            bits: Bitset::new(len),
            end: 0,
            gaps: Vec::new(),
        }
    }

    /// Adds `rank`, which must not be a member.
    pub(crate) fn insert(&mut self, rank: usize) {
        self.bits.set(rank);
        if self.small {
            return;
        }
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
        if self.small {
            return;
        }
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

    /// Replaces `out` with the set's cache key (the module docs give its forms).
    pub(crate) fn write_key(&self, out: &mut Vec<u64>) {
        out.clear();
        let bits = self.bits.words();
        if self.small {
            out.push(bits.first().copied().unwrap_or(0));
            out.push(bits.get(1).copied().unwrap_or(0));
            return;
        }
        let words = self.end.div_ceil(64);
        if self.gaps.len() <= 2 * words {
            out.push(self.end as u64 | (self.gaps.len() as u64) << 32);
            out.extend(
                self.gaps
                    .chunks(2)
                    .map(|g| u64::from(g[0]) | u64::from(g.get(1).copied().unwrap_or(0)) << 32),
            );
        } else {
            out.push(BITS_TAG | words as u64);
            out.extend_from_slice(&bits[..words]);
        }
    }

    /// The set's cache key, as a new vector.
    #[cfg(test)]
    pub(crate) fn key(&self) -> Vec<u64> {
        let mut out = Vec::new();
        self.write_key(&mut out);
        out
    }
}

/// A configuration's linearized operations, `ok` ones and indeterminate ones apart.
#[derive(Debug, Clone)]
pub(crate) struct Split {
    /// The `ok` operations linearized, by rank among the `ok` operations.
    ok: Linearized,
    /// How many of each chain's indeterminate operations are used, a lane of `bits` bits per
    /// chain.
    used: Vec<u64>,
    /// Words of `used` up to its highest nonzero one.
    used_words: usize,
    /// Each operation's rank among the `ok` ones, or its chain if indeterminate.
    place: Vec<(usize, bool)>,
    bits: u32,
}

impl Split {
    /// An empty set of `ops` operations, given in call order, `chain` giving each indeterminate
    /// one's chain (`None` for an `ok` one), `bits` wide enough for any chain's length.
    pub(crate) fn new(
        ops: usize,
        by_call: &[usize],
        chain: impl Fn(usize) -> Option<usize>,
        bits: u32,
    ) -> Self {
        let mut place = vec![(0, false); ops];
        let (mut oks, mut chains) = (0, 0);
        for &i in by_call {
            place[i] = match chain(i) {
                Some(c) => {
                    chains = chains.max(c + 1);
                    (c, true)
                }
                None => {
                    oks += 1;
                    (oks - 1, false)
                }
            };
        }
        Split {
            ok: Linearized::new(oks),
            used: vec![0; chains.div_ceil(lanes_per_word(bits))],
            used_words: 0,
            place,
            bits,
        }
    }

    /// The word and shift of `chain`'s lane.
    fn lane(&self, chain: usize) -> (usize, u32) {
        let per_word = lanes_per_word(self.bits);
        let shift = u32::try_from(chain % per_word).expect("a word has 64 bits") * self.bits;
        (chain / per_word, shift)
    }

    /// Adds operation `op`, which must not be a member (an indeterminate one: the next of its
    /// chain).
    pub(crate) fn insert(&mut self, op: usize) {
        match self.place[op] {
            (r, false) => self.ok.insert(r),
            (chain, true) => {
                let (word, shift) = self.lane(chain);
                self.used[word] += 1 << shift;
                self.used_words = self.used_words.max(word + 1);
            }
        }
    }

    /// Removes operation `op`, which must be a member (an indeterminate one: the last of its
    /// chain used).
    pub(crate) fn remove(&mut self, op: usize) {
        match self.place[op] {
            (r, false) => self.ok.remove(r),
            (chain, true) => {
                let (word, shift) = self.lane(chain);
                self.used[word] -= 1 << shift;
                while self.used_words > 0 && self.used[self.used_words - 1] == 0 {
                    self.used_words -= 1;
                }
            }
        }
    }

    /// The `ok` part's cache key, into `out` (the module docs give its forms).
    pub(crate) fn write_key(&self, out: &mut Vec<u64>) {
        self.ok.write_key(out);
    }

    /// The indeterminate operations used, as counts per chain without trailing zero words
    /// (equal sets, equal slices).
    pub(crate) fn used(&self) -> &[u64] {
        &self.used[..self.used_words]
    }
}

/// How many lanes of `bits` bits a word holds (a lane never straddles two words).
pub(crate) fn lanes_per_word(bits: u32) -> usize {
    (64 / bits.clamp(1, 64)) as usize
}

/// Whether every lane of `a` is at most the same lane of `b` (missing words are zeros): with
/// lanes of one bit, whether `a` is a subset of `b`.
pub(crate) fn within(a: &[u64], b: &[u64], bits: u32) -> bool {
    if a.len() > b.len() {
        return false;
    }
    if bits == 1 {
        return a.iter().zip(b).all(|(x, y)| x & !y == 0);
    }
    let mask = (1u64 << bits) - 1;
    let lanes = lanes_per_word(bits) as u32;
    a.iter().zip(b).all(|(&x, &y)| {
        x == y || (0..lanes).all(|l| (x >> (l * bits)) & mask <= (y >> (l * bits)) & mask)
    })
}

/// The lane width for chains of at most `longest` operations.
pub(crate) fn lane_bits(longest: usize) -> u32 {
    (usize::BITS - longest.leading_zeros()).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::collections::{BTreeSet, HashMap};

    #[test]
    fn gap_form_of_a_nearly_full_prefix() {
        let mut s = Linearized::new(200);
        for r in [0, 1, 2, 4, 5, 7] {
            s.insert(r);
        }
        assert_eq!(s.key(), [8 | 2 << 32, 3 | 6 << 32]);
        s.remove(7);
        assert_eq!(s.key(), [6 | 1 << 32, 3]);
        s.remove(0);
        assert_eq!(s.key(), [6 | 2 << 32, 3 << 32]);
    }

    #[test]
    fn many_gaps_fall_back_to_bits() {
        let mut s = Linearized::new(200);
        s.insert(150);
        s.insert(3);
        let mut words = vec![0u64; 3];
        words[0] = 1 << 3;
        words[2] = 1 << (150 - 128);
        assert_eq!(s.key(), [[BITS_TAG | 3].as_slice(), &words].concat());
    }

    #[test]
    fn keys_are_equal_exactly_when_sets_are() {
        // Random walks of inserts and removes; every set seen must map to one key and back.
        let mut rng = StdRng::seed_from_u64(7);
        let mut by_key: HashMap<Vec<u64>, BTreeSet<usize>> = HashMap::new();
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
            assert_eq!(s.key(), Linearized::new(len).key());
        }
    }

    #[test]
    fn small_searches_key_by_inline_words() {
        let mut s = Linearized::new(128);
        s.insert(0);
        s.insert(127);
        assert_eq!(s.key(), [1, 1 << 63]);
        s.remove(127);
        assert_eq!(s.key(), [1, 0]);
        let mut one_word = Linearized::new(3);
        one_word.insert(2);
        assert_eq!(one_word.key(), [4, 0]);
    }

    #[test]
    fn split_keeps_ok_and_indeterminate_apart() {
        // Operations 0..6 in call order 5, 0, 1, 4, 2, 3; 1 and 4 indeterminate.
        let by_call = [5, 0, 1, 4, 2, 3];
        let chain = |i| match i {
            1 => Some(0),
            4 => Some(1),
            _ => None,
        };
        let mut s = Split::new(6, &by_call, chain, 1);
        for op in [5, 0, 2] {
            s.insert(op);
        }
        // `ok` ranks: 5 → 0, 0 → 1, 2 → 2, 3 → 3; indeterminate: 1 → 0, 4 → 1.
        assert_eq!(s.used(), [0u64; 0]);
        let mut key = Vec::new();
        s.write_key(&mut key);
        assert_eq!(key, [0b111, 0]);
        s.insert(4);
        assert_eq!(s.used(), [0b10]);
        s.insert(1);
        assert_eq!(s.used(), [0b11]);
        s.remove(4);
        s.remove(1);
        assert_eq!(s.used(), [0u64; 0]);
        s.write_key(&mut key);
        assert_eq!(key, [0b111, 0]);
    }

    #[test]
    fn used_counts_per_chain_in_lanes() {
        // Chains of up to 5 operations: lanes of 3 bits, 21 to a word.
        let bits = lane_bits(5);
        assert_eq!((bits, lanes_per_word(bits)), (3, 21));
        // Operations 0..10 in chains 0 (ops 0..5), 22 (ops 5..8), 1 (ops 8..10).
        let by_call: Vec<usize> = (0..10).collect();
        let chain = |i: usize| Some([0, 0, 0, 0, 0, 22, 22, 22, 1, 1][i]);
        let mut s = Split::new(10, &by_call, chain, bits);
        for op in [0, 1, 2, 5, 8] {
            s.insert(op);
        }
        assert_eq!(s.used(), [3 | 1 << 3, 1 << 3]);
        let a = s.used().to_vec();
        s.insert(3);
        assert!(within(&a, s.used(), bits) && !within(s.used(), &a, bits));
        s.remove(3);
        s.remove(5);
        assert_eq!(s.used(), [3 | 1 << 3]);
        assert!(within(s.used(), &a, bits) && !within(&a, s.used(), bits));
        // Incomparable: more of chain 1, fewer of chain 0.
        let b = [2 | 2 << 3];
        assert!(!within(&b, &a, bits) && !within(&a[..1], &b, bits));
        assert!(within(&[], &b, bits));
    }

    #[test]
    fn used_sets_drop_trailing_words() {
        let by_call: Vec<usize> = (0..200).collect();
        let mut s = Split::new(200, &by_call, Some, 1);
        s.insert(150);
        s.insert(3);
        assert_eq!(s.used().len(), 3);
        s.remove(150);
        assert_eq!(s.used(), [1 << 3]);
        s.remove(3);
        assert!(s.used().is_empty());
    }
}
