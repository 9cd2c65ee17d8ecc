//! The search's memo: every configuration it has explored, as (the `ok` operations linearized,
//! model state, the indeterminate operations used).
//!
//! A configuration is *covered* by an explored one with the same `ok` operations linearized and
//! the same state whose used indeterminate operations are a subset of its own (as counts per
//! chain of identical ones, each at most its own: see `linearized.rs`): the explored one
//! has every option the new one has (an indeterminate operation may still be taken, or left out
//! as never having happened; the `ok` ones left, and so the order real time imposes, are the
//! same), so if it led nowhere the new one leads nowhere either. With dominance on, the memo
//! answers "explored" for covered configurations, not only for identical ones: on one key with
//! repeating values and many indeterminate cas, where each that may or may not have happened
//! doubles the configurations, every subset of them reaching the same state is one
//! configuration. Without it (the exact search, whose longest prefix must be the true one: a
//! covering configuration may have used fewer operations), only identical ones.
//!
//! A hard key fills it with millions of entries, so besides lookup speed these matter:
//!
//! - no allocation per entry: keys and used sets are copied into a chunked arena, freed in one
//!   go when the search ends (dropping millions of boxed keys took longer than a deadline may
//!   be late);
//! - no long pause when it grows: it is 64 tables, picked by hash, so a growth rehashes a 64th
//!   of the entries, and each entry keeps its hash, so a rehash moves entries without reading
//!   their keys; the arena grows by fixed chunks, never by copying;
//! - its size is known, for the memory budget;
//! - it is freed without delaying the answer: returning the pages of a few gigabytes takes the
//!   kernel a tenth of a second or more, which would make a search stopped at its deadline
//!   late. A large arena is handed to a thread that frees it.
//!
//! With dominance, an entry is an (`ok` key, state) pair with a list of the used sets explored
//! from it, linked through the arena, none a subset of another (a new set drops the ones it is
//! a subset of). Without it, the used set is part of the hashed key and each list holds one set.
//!
//! ```text
//!   insert(ok key, state, used) ─hash─► shard (hash bits 32..38) ─► entry {hash, key, state, sets}
//!                                                                      sets ─► [next, len, words…] ─► …
//! ```

use crate::search::fx_hash::FxHasher;
use crate::search::linearized::within;
use hashbrown::HashTable;
use std::hash::{Hash, Hasher};

/// How many tables the entries are spread over.
const SHARDS: usize = 64;
/// Words per arena chunk (1 MiB).
const CHUNK_WORDS: usize = 1 << 17;
/// The most used sets an entry lists. A configuration whose entry is full is explored without
/// being recorded: sound (the memo only ever skips), and it bounds the subset tests per insert.
const MAX_SETS: usize = 64;
/// The end of a list of used sets.
pub(crate) const END: u64 = u64::MAX;
/// Marks a used set still being explored (in its length word).
const OPEN: u64 = 1 << 63;

/// Where a slice of words is in the arena: chunk in the high half, start in the low. For a used
/// set, what [`Explored::insert`] returns and [`Explored::close`] takes.
pub(crate) type At = u64;

/// One explored (`ok` key, state): where its key words are, its state, and its used sets.
struct Entry<S> {
    hash: u64,
    key: At,
    len: u32,
    state: S,
    /// The first of its used sets, each `[next, len, words…]` in the arena; `END` if none.
    sets: At,
}

/// A set of explored configurations: (`ok` key words, state, used set words).
pub(crate) struct Explored<S> {
    shards: Vec<HashTable<Entry<S>>>,
    chunks: Vec<Vec<u64>>,
    /// Whether a configuration covered by an explored one counts as explored.
    dominance: bool,
    /// The width of a used set's lanes (1: a bitset).
    bits: u32,
    len: usize,
    /// The tables' capacities and the arena's, summed (kept as they change: asked per insert).
    slots: usize,
    arena_words: usize,
}

impl<S: Eq + Hash> Explored<S> {
    /// An empty memo; `dominance` as the module docs say.
    pub(crate) fn new(dominance: bool) -> Self {
        Explored {
            shards: (0..SHARDS).map(|_| HashTable::new()).collect(),
            chunks: Vec::new(),
            dominance,
            bits: 1,
            len: 0,
            slots: 0,
            arena_words: 0,
        }
    }

    /// The same memo with used sets given as counts per chain in lanes of `bits` bits
    /// (`linearized.rs`'s `Split`): one covers another where each count is at most the other's.
    pub(crate) fn with_lanes(mut self, bits: u32) -> Self {
        self.bits = bits;
        self
    }

    /// Records the configuration as being explored; `None` if it was already explored, or
    /// (with dominance) is covered by one that was, else where its used set is (`END` if the
    /// entry is full, see [`MAX_SETS`]), for [`Explored::close`] once its exploration ends.
    /// `used` is a bitset without trailing zero words, so that equal sets are equal slices.
    ///
    /// Only a configuration whose exploration has ended covers others. One still open is an
    /// ancestor of the one asking (same `ok` operations and state, a few more indeterminate ones
    /// taken since): the ancestor will get to every completion the descendant has, but only
    /// after trying its other candidates, so a completion the descendant would have found at
    /// once is found late. On random kv histories that turned searches of thousands of steps
    /// into searches of millions.
    pub(crate) fn insert(&mut self, key: &[u64], state: S, used: &[u64]) -> Option<At> {
        debug_assert!(
            used.last() != Some(&0),
            "used sets come without trailing zeros"
        );
        let mut h = FxHasher::default();
        for &w in key {
            h.write_u64(w);
        }
        h.write_usize(key.len());
        if !self.dominance {
            for &w in used {
                h.write_u64(w);
            }
            h.write_usize(used.len());
        }
        state.hash(&mut h);
        let hash = h.finish();
        // Bits the tables themselves use least: they index by the low bits and tag by the top.
        let shard = (hash >> 32) as usize % SHARDS;
        let chunks = &self.chunks;
        let dominance = self.dominance;
        let found = self.shards[shard].find(hash, |e| {
            e.hash == hash
                && e.state == state
                && words(chunks, e.key, e.len as usize) == key
                && (dominance || set_words(chunks, e.sets) == used)
        });
        let Some(entry) = found else {
            let at = self.store(key);
            let sets = self.store_set(used, END);
            let opened = sets;
            let entry = Entry {
                hash,
                key: at,
                len: u32::try_from(key.len()).expect("keys are small"),
                state,
                sets,
            };
            let table = &mut self.shards[shard];
            let before = table.capacity();
            table.insert_unique(hash, entry, |e| e.hash);
            self.slots = self.slots + table.capacity() - before;
            self.len += 1;
            return Some(opened);
        };
        if !dominance {
            return None;
        }
        // Walk the entry's sets: one inside `used` covers it; the ones `used` is inside are
        // covered from now on and unlinked.
        let head = entry.sets;
        let mut previous: Option<At> = None;
        let mut at = head;
        let mut kept = 0;
        let mut new_head = head;
        while at != END {
            let next = self.word(at);
            let open = self.word(at + 1) & OPEN != 0;
            let set = set_words(&self.chunks, at);
            if !open && within(set, used, self.bits) {
                return None;
            }
            if !open && within(used, set, self.bits) {
                match previous {
                    Some(p) => *self.word_mut(p) = next,
                    None => new_head = next,
                }
            } else {
                kept += 1;
                previous = Some(at);
            }
            at = next;
        }
        if kept >= MAX_SETS {
            self.set_head(shard, hash, key, &state, new_head);
            return Some(END);
        }
        let added = self.store_set(used, new_head);
        self.set_head(shard, hash, key, &state, added);
        self.len += 1;
        Some(added)
    }

    /// Marks the used set at `at` (from [`Explored::insert`]) explored: from now on it covers.
    pub(crate) fn close(&mut self, at: At) {
        if at != END {
            *self.word_mut(at + 1) &= !OPEN;
        }
    }

    /// Points the entry for (`key`, `state`) at the list starting at `head`.
    fn set_head(&mut self, shard: usize, hash: u64, key: &[u64], state: &S, head: At) {
        let chunks = &self.chunks;
        if let Some(e) = self.shards[shard].find_mut(hash, |e| {
            e.hash == hash && e.state == *state && words(chunks, e.key, e.len as usize) == key
        }) {
            e.sets = head;
        }
    }

    /// Room for `n` more words in the last chunk.
    fn reserve(&mut self, n: usize) {
        let room = self
            .chunks
            .last()
            .is_some_and(|c| c.capacity() - c.len() >= n);
        if !room {
            self.chunks.push(Vec::with_capacity(CHUNK_WORDS.max(n)));
            self.arena_words += CHUNK_WORDS.max(n);
        }
    }

    /// Copies `words` into the arena; where they are.
    fn store(&mut self, words: &[u64]) -> At {
        self.reserve(words.len());
        let chunk = self.chunks.len() - 1;
        let arena = &mut self.chunks[chunk];
        let start = arena.len();
        arena.extend_from_slice(words);
        at(chunk, start)
    }

    /// Copies a used set into the arena as `[next, len, words…]`; where it is.
    fn store_set(&mut self, set: &[u64], next: At) -> At {
        self.reserve(set.len() + 2);
        let chunk = self.chunks.len() - 1;
        let arena = &mut self.chunks[chunk];
        let start = arena.len();
        arena.push(next);
        arena.push(set.len() as u64 | OPEN);
        arena.extend_from_slice(set);
        at(chunk, start)
    }

    fn word(&self, at: At) -> u64 {
        self.chunks[(at >> 32) as usize][(at & 0xffff_ffff) as usize]
    }

    fn word_mut(&mut self, at: At) -> &mut u64 {
        &mut self.chunks[(at >> 32) as usize][(at & 0xffff_ffff) as usize]
    }

    /// How many configurations are recorded (with dominance, the used sets listed).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The bytes it holds: tables (entries and control bytes) and arena.
    pub(crate) fn bytes(&self) -> usize {
        self.slots * (size_of::<Entry<S>>() + 1) + self.arena_words * 8
    }
}

/// The arena position of word `start` of chunk `chunk`.
fn at(chunk: usize, start: usize) -> At {
    let chunk = u32::try_from(chunk).expect("fewer than 2^32 chunks");
    let start = u32::try_from(start).expect("chunks are small");
    u64::from(chunk) << 32 | u64::from(start)
}

/// The `len` words at `at`.
fn words(chunks: &[Vec<u64>], at: At, len: usize) -> &[u64] {
    let start = (at & 0xffff_ffff) as usize;
    &chunks[(at >> 32) as usize][start..start + len]
}

/// The words of the used set stored at `at` (`[next, len, words…]`).
fn set_words(chunks: &[Vec<u64>], at: At) -> &[u64] {
    let len = (words(chunks, at, 2)[1] & !OPEN) as usize;
    &words(chunks, at, 2 + len)[2..]
}

/// Arenas larger than this are freed on a thread of their own.
const FREE_APART: usize = 64 << 20;

impl<S> Drop for Explored<S> {
    fn drop(&mut self) {
        if self.arena_words * 8 < FREE_APART {
            return;
        }
        let chunks = std::mem::take(&mut self.chunks);
        // If no thread can be started, the chunks are freed here, as they would have been.
        let _ = std::thread::Builder::new()
            .name("faultline-free".into())
            .spawn(move || drop(chunks));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inserts and closes at once (an exploration with nothing below it); whether it was new.
    fn add<S: Eq + Hash>(e: &mut Explored<S>, key: &[u64], state: S, used: &[u64]) -> bool {
        let at = e.insert(key, state, used);
        at.inspect(|&at| e.close(at)).is_some()
    }

    #[test]
    fn records_each_configuration_once() {
        for dominance in [false, true] {
            let mut e: Explored<u32> = Explored::new(dominance);
            assert!(add(&mut e, &[1, 2], 7, &[]));
            assert!(!add(&mut e, &[1, 2], 7, &[]));
            assert!(add(&mut e, &[1, 2], 8, &[]));
            assert!(add(&mut e, &[1], 7, &[]));
            assert!(add(&mut e, &[1, 2, 0], 7, &[]));
            assert!(add(&mut e, &[], 7, &[]));
            assert!(!add(&mut e, &[], 7, &[]));
            assert!(add(&mut e, &[3], 7, &[0b101]));
            assert!(!add(&mut e, &[3], 7, &[0b101]));
            assert_eq!(e.len(), 6);
        }
    }

    #[test]
    fn without_dominance_each_used_set_is_its_own_configuration() {
        let mut e: Explored<u32> = Explored::new(false);
        assert!(add(&mut e, &[1], 7, &[0b1]));
        assert!(add(&mut e, &[1], 7, &[0b11]));
        assert!(add(&mut e, &[1], 7, &[]));
        assert!(add(&mut e, &[1], 7, &[0, 1]));
        assert!(!add(&mut e, &[1], 7, &[0b11]));
        assert_eq!(e.len(), 4);
    }

    #[test]
    fn a_configuration_that_used_more_is_covered() {
        let mut e: Explored<u32> = Explored::new(true);
        assert!(add(&mut e, &[1], 7, &[0b0110]));
        // A superset of used operations, in the same words or beyond them: covered.
        assert!(!add(&mut e, &[1], 7, &[0b0111]));
        assert!(!add(&mut e, &[1], 7, &[0b0110, 1]));
        // Another state, another `ok` key: not covered.
        assert!(add(&mut e, &[1], 8, &[0b0111]));
        assert!(add(&mut e, &[2], 7, &[0b0111]));
        // Overlapping but not a superset: not covered, and listed beside it.
        assert!(add(&mut e, &[1], 7, &[0b1100]));
        assert!(!add(&mut e, &[1], 7, &[0b1110]));
        assert!(add(&mut e, &[1], 7, &[0b0001]));
        // A subset of both listed sets replaces them: what they covered it covers.
        assert!(add(&mut e, &[1], 7, &[0b0100]));
        assert!(!add(&mut e, &[1], 7, &[0b0100]));
        assert!(!add(&mut e, &[1], 7, &[0b0101]));
        assert!(add(&mut e, &[1], 7, &[0b0010]));
        // The empty set covers everything.
        assert!(add(&mut e, &[1], 7, &[]));
        assert!(!add(&mut e, &[1], 7, &[0b1000, 0b1]));
    }

    #[test]
    fn a_full_entry_explores_without_recording() {
        let mut e: Explored<u32> = Explored::new(true);
        // Single members, pairwise incomparable.
        let single = |i: usize| {
            let mut set = vec![0; i / 64 + 1];
            set[i / 64] = 1 << (i % 64);
            set
        };
        for i in 0..MAX_SETS {
            assert!(add(&mut e, &[1], 7, &single(i)));
        }
        assert!(add(&mut e, &[1], 7, &single(MAX_SETS)));
        // Not recorded: a second time is still new; the listed ones still cover.
        assert!(add(&mut e, &[1], 7, &single(MAX_SETS)));
        assert!(!add(&mut e, &[1], 7, &single(3)));
        assert_eq!(e.len(), MAX_SETS);
    }

    #[test]
    fn many_entries_across_chunks() {
        let mut e: Explored<u8> = Explored::new(false);
        // Keys of 1,000 words: 131 fit a chunk, so this spans several.
        let key = |i: u64| -> Vec<u64> { (0..1000).map(|j| i * 1000 + j).collect() };
        for i in 0..500 {
            assert!(add(&mut e, &key(i), (i % 3) as u8, &[]));
        }
        for i in 0..500 {
            assert!(!add(&mut e, &key(i), (i % 3) as u8, &[]));
            assert!(add(&mut e, &key(i), 3, &[]));
        }
        assert_eq!(e.len(), 1000);
        let slots: usize = e.shards.iter().map(HashTable::capacity).sum();
        let arena: usize = e.chunks.iter().map(Vec::capacity).sum();
        assert_eq!(e.bytes(), slots * (size_of::<Entry<u8>>() + 1) + arena * 8);
        assert!(e.bytes() >= 500 * 1000 * 8);
    }

    #[test]
    fn answers_as_a_list_of_everything_inserted_would() {
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};
        let mut rng = StdRng::seed_from_u64(15);
        for dominance in [false, true] {
            let mut e: Explored<u8> = Explored::new(dominance);
            let mut all: Vec<(Vec<u64>, u8, Vec<u64>)> = Vec::new();
            for _ in 0..20_000 {
                let key = vec![rng.random_range(0..4u64)];
                let state = rng.random_range(0..3u8);
                // Sparse sets over 0..130, so they span up to three words.
                let mut set = vec![0u64; 3];
                for _ in 0..rng.random_range(0..4) {
                    let i = rng.random_range(0..130);
                    set[i / 64] |= 1 << (i % 64);
                }
                while set.last() == Some(&0) {
                    set.pop();
                }
                let covered = all.iter().any(|(k, s, u)| {
                    *k == key
                        && *s == state
                        && if dominance {
                            within(u, &set, 1)
                        } else {
                            *u == set
                        }
                });
                let got = e.insert(&key, state, &set);
                assert_eq!(got.is_some(), !covered, "{key:?} {state} {set:?}");
                // A full entry explores without recording (`END`).
                if let Some(at) = got.filter(|&at| at != END) {
                    e.close(at);
                    all.push((key, state, set));
                }
            }
        }
    }

    #[test]
    fn a_configuration_still_open_covers_nothing() {
        let mut e: Explored<u32> = Explored::new(true);
        let ancestor = e.insert(&[1], 7, &[0b1]).expect("new");
        // Its descendant through another indeterminate operation back to the same state.
        let descendant = e.insert(&[1], 7, &[0b11]).expect("not covered while open");
        e.close(descendant);
        e.close(ancestor);
        assert!(e.insert(&[1], 7, &[0b111]).is_none());
    }
}
