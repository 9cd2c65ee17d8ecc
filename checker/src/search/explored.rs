//! The search's memo: every configuration (linearized set, model state) it has explored.
//!
//! A hard key fills it with millions of entries, so besides lookup speed three things matter:
//!
//! - no allocation per entry: a set's key words are copied into a chunked arena, freed in one
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
//! ```text
//!   insert(key words, state) ─hash─► shard (hash bits 32..38) ─► entry {hash, arena slice, state}
//! ```

use crate::search::fx_hash::FxHasher;
use hashbrown::HashTable;
use std::hash::{Hash, Hasher};

/// How many tables the entries are spread over.
const SHARDS: usize = 64;
/// Words per arena chunk (1 MiB).
const CHUNK_WORDS: usize = 1 << 17;

/// One explored configuration: where its key words are, and its state.
struct Entry<S> {
    hash: u64,
    chunk: u32,
    start: u32,
    len: u32,
    state: S,
}

/// A set of (key words, state) pairs.
pub(crate) struct Explored<S> {
    shards: Vec<HashTable<Entry<S>>>,
    chunks: Vec<Vec<u64>>,
    len: usize,
    /// The tables' capacities and the arena's, summed (kept as they change: asked per insert).
    slots: usize,
    arena_words: usize,
}

impl<S: Eq + Hash> Explored<S> {
    /// An empty memo.
    pub(crate) fn new() -> Self {
        Explored {
            shards: (0..SHARDS).map(|_| HashTable::new()).collect(),
            chunks: Vec::new(),
            len: 0,
            slots: 0,
            arena_words: 0,
        }
    }

    /// Records the configuration; `false` if it was already recorded.
    pub(crate) fn insert(&mut self, key: &[u64], state: S) -> bool {
        let mut h = FxHasher::default();
        for &w in key {
            h.write_u64(w);
        }
        h.write_usize(key.len());
        state.hash(&mut h);
        let hash = h.finish();
        // Bits the tables themselves use least: they index by the low bits and tag by the top.
        let shard = &mut self.shards[(hash >> 32) as usize % SHARDS];
        let chunks = &self.chunks;
        let words = |e: &Entry<S>| {
            &chunks[e.chunk as usize][e.start as usize..e.start as usize + e.len as usize]
        };
        if shard
            .find(hash, |e| {
                e.hash == hash && e.state == state && words(e) == key
            })
            .is_some()
        {
            return false;
        }
        let room = self
            .chunks
            .last()
            .is_some_and(|c| c.capacity() - c.len() >= key.len());
        if !room {
            self.chunks
                .push(Vec::with_capacity(CHUNK_WORDS.max(key.len())));
            self.arena_words += CHUNK_WORDS.max(key.len());
        }
        let chunk = self.chunks.len() - 1;
        let arena = &mut self.chunks[chunk];
        let start = arena.len();
        arena.extend_from_slice(key);
        let entry = Entry {
            hash,
            chunk: u32::try_from(chunk).expect("fewer than 2^32 chunks"),
            start: u32::try_from(start).expect("chunks are small"),
            len: u32::try_from(key.len()).expect("keys are small"),
            state,
        };
        let before = shard.capacity();
        shard.insert_unique(hash, entry, |e| e.hash);
        self.slots = self.slots + shard.capacity() - before;
        self.len += 1;
        true
    }

    /// How many configurations are recorded.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The bytes it holds: tables (entries and control bytes) and arena.
    pub(crate) fn bytes(&self) -> usize {
        self.slots * (size_of::<Entry<S>>() + 1) + self.arena_words * 8
    }
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

    #[test]
    fn records_each_configuration_once() {
        let mut e: Explored<u32> = Explored::new();
        assert!(e.insert(&[1, 2], 7));
        assert!(!e.insert(&[1, 2], 7));
        assert!(e.insert(&[1, 2], 8));
        assert!(e.insert(&[1], 7));
        assert!(e.insert(&[1, 2, 0], 7));
        assert!(e.insert(&[], 7));
        assert!(!e.insert(&[], 7));
        assert_eq!(e.len(), 5);
    }

    #[test]
    fn many_entries_across_chunks() {
        let mut e: Explored<u8> = Explored::new();
        // Keys of 1,000 words: 131 fit a chunk, so this spans several.
        let key = |i: u64| -> Vec<u64> { (0..1000).map(|j| i * 1000 + j).collect() };
        for i in 0..500 {
            assert!(e.insert(&key(i), (i % 3) as u8));
        }
        for i in 0..500 {
            assert!(!e.insert(&key(i), (i % 3) as u8));
            assert!(e.insert(&key(i), 3));
        }
        assert_eq!(e.len(), 1000);
        let slots: usize = e.shards.iter().map(HashTable::capacity).sum();
        let arena: usize = e.chunks.iter().map(Vec::capacity).sum();
        assert_eq!(e.bytes(), slots * (size_of::<Entry<u8>>() + 1) + arena * 8);
        assert!(e.bytes() >= 500 * 1000 * 8);
    }
}
