//! What a key holds in `--mode gossip`: a value every replica can merge with any other in any
//! order and end up the same — a last-writer-wins register, a grow-only set, or a counter that
//! keeps each node's increments and decrements apart.
//!
//! The conflict rule, stated once: of two register writes, the one with the higher timestamp
//! wins, and of equal timestamps the one from the node with the higher name. A timestamp is the
//! writing node's clock in milliseconds, kept above every timestamp it has seen (a hybrid
//! logical clock), so a write made after seeing another wins over it.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

/// One key's value, mergeable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Crdt {
    /// A register: the write with the highest (timestamp, node) wins.
    Register {
        /// The writing node's hybrid clock when it wrote.
        at: u64,
        /// The node that wrote it, breaking timestamp ties.
        node: Bytes,
        /// What was written.
        value: Bytes,
    },
    /// A grow-only set: merged by union, so no add is ever undone.
    Set(BTreeSet<Bytes>),
    /// A counter: per node, the sum of its increments and of its decrements (each only grows),
    /// merged by the larger of each; its value is the increments less the decrements.
    Counter(BTreeMap<Bytes, (u64, u64)>),
}

/// Registers, sets and counters ordered, so that a key two replicas made different kinds of
/// still ends up the same kind everywhere.
fn rank(c: &Crdt) -> u8 {
    match c {
        Crdt::Register { .. } => 0,
        Crdt::Set(_) => 1,
        Crdt::Counter(_) => 2,
    }
}

impl Crdt {
    /// Folds `other` in; true if this changed. Commutative, associative and idempotent.
    pub fn merge(&mut self, other: &Crdt) -> bool {
        match (&mut *self, other) {
            (
                Crdt::Register { at, node, .. },
                Crdt::Register {
                    at: their_at,
                    node: their_node,
                    ..
                },
            ) => {
                if (*their_at, their_node) > (*at, &*node) {
                    *self = other.clone();
                    return true;
                }
                false
            }
            (Crdt::Set(mine), Crdt::Set(theirs)) => {
                let before = mine.len();
                mine.extend(theirs.iter().cloned());
                mine.len() > before
            }
            (Crdt::Counter(mine), Crdt::Counter(theirs)) => {
                let mut changed = false;
                for (node, &(up, down)) in theirs {
                    let held = mine.entry(node.clone()).or_default();
                    let merged = (held.0.max(up), held.1.max(down));
                    changed |= merged != *held;
                    *held = merged;
                }
                changed
            }
            (mine, theirs) if rank(theirs) > rank(mine) => {
                *self = theirs.clone();
                true
            }
            _ => false,
        }
    }

    /// The part of `other` that merging it would add to this one (merging the part gives what
    /// merging the whole would); `None` if merging it changes nothing. What a replica logs.
    pub fn delta(&self, other: &Crdt) -> Option<Crdt> {
        match (self, other) {
            (
                Crdt::Register { at, node, .. },
                Crdt::Register {
                    at: their_at,
                    node: their_node,
                    ..
                },
            ) => ((*their_at, their_node) > (*at, node)).then(|| other.clone()),
            (Crdt::Set(mine), Crdt::Set(theirs)) => {
                let new: BTreeSet<Bytes> = theirs.difference(mine).cloned().collect();
                (!new.is_empty()).then_some(Crdt::Set(new))
            }
            (Crdt::Counter(mine), Crdt::Counter(theirs)) => {
                // An entry this one lacks counts even at zero: merging adds it (and the digest
                // sees it).
                let grown: BTreeMap<Bytes, (u64, u64)> = theirs
                    .iter()
                    .filter(|(node, &(up, down))| {
                        mine.get(*node)
                            .is_none_or(|&(held_up, held_down)| up > held_up || down > held_down)
                    })
                    .map(|(node, &counts)| (node.clone(), counts))
                    .collect();
                (!grown.is_empty()).then_some(Crdt::Counter(grown))
            }
            (mine, theirs) => (rank(theirs) > rank(mine)).then(|| theirs.clone()),
        }
    }

    /// A counter's value: every node's increments less its decrements.
    pub fn sum(counts: &BTreeMap<Bytes, (u64, u64)>) -> i64 {
        counts
            .values()
            .map(|&(up, down)| up as i64 - down as i64)
            .sum()
    }

    /// Appends its wire form: `r at node value`, `s count member...`, or `c count (node up down)...`.
    pub fn encode(&self, out: &mut Vec<Bytes>) {
        let num = |n: u64| Bytes::from(n.to_string());
        match self {
            Crdt::Register { at, node, value } => out.extend([
                Bytes::from_static(b"r"),
                num(*at),
                node.clone(),
                value.clone(),
            ]),
            Crdt::Set(members) => {
                out.extend([Bytes::from_static(b"s"), num(members.len() as u64)]);
                out.extend(members.iter().cloned());
            }
            Crdt::Counter(counts) => {
                out.extend([Bytes::from_static(b"c"), num(counts.len() as u64)]);
                for (node, &(up, down)) in counts {
                    out.extend([node.clone(), num(up), num(down)]);
                }
            }
        }
    }

    /// Reads one value in [`Crdt::encode`]'s form off the front of `parts`.
    pub fn decode(parts: &mut std::slice::Iter<'_, Bytes>) -> Option<Crdt> {
        let num = |b: Option<&Bytes>| -> Option<u64> { std::str::from_utf8(b?).ok()?.parse().ok() };
        match parts.next()?.as_ref() {
            b"r" => {
                let at = num(parts.next())?;
                let node = parts.next()?.clone();
                let value = parts.next()?.clone();
                Some(Crdt::Register { at, node, value })
            }
            b"s" => {
                let n = num(parts.next())?;
                let members: Option<BTreeSet<Bytes>> =
                    (0..n).map(|_| parts.next().cloned()).collect();
                members.map(Crdt::Set)
            }
            b"c" => {
                let n = num(parts.next())?;
                let counts: Option<BTreeMap<Bytes, (u64, u64)>> = (0..n)
                    .map(|_| {
                        let node = parts.next()?.clone();
                        Some((node, (num(parts.next())?, num(parts.next())?)))
                    })
                    .collect();
                counts.map(Crdt::Counter)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    fn reg(at: u64, node: &'static str, value: &'static str) -> Crdt {
        Crdt::Register {
            at,
            node: b(node),
            value: b(value),
        }
    }

    fn set(members: &[&'static str]) -> Crdt {
        Crdt::Set(members.iter().map(|m| b(m)).collect())
    }

    fn counter(counts: &[(&'static str, u64, u64)]) -> Crdt {
        Crdt::Counter(counts.iter().map(|&(n, u, d)| (b(n), (u, d))).collect())
    }

    /// Every order of merging the same values ends in the same value.
    fn converges(values: &[Crdt]) -> Crdt {
        let orders: [&[usize]; 4] = [&[0, 1, 2], &[2, 1, 0], &[1, 0, 2, 1], &[0, 0, 2, 1, 2]];
        let results: Vec<Crdt> = orders
            .iter()
            .map(|order| {
                let mut acc = values[order[0]].clone();
                for &i in &order[1..] {
                    acc.merge(&values[i]);
                }
                acc
            })
            .collect();
        for r in &results {
            assert_eq!(r, &results[0], "{values:?}");
        }
        results[0].clone()
    }

    #[test]
    fn the_last_writer_wins_and_the_higher_name_breaks_ties() {
        let last = converges(&[reg(5, "n1", "a"), reg(7, "n2", "b"), reg(7, "n3", "c")]);
        assert_eq!(last, reg(7, "n3", "c"));
    }

    #[test]
    fn sets_keep_every_add_and_counters_every_increment() {
        assert_eq!(
            converges(&[set(&["1"]), set(&["2", "3"]), set(&["1", "4"])]),
            set(&["1", "2", "3", "4"])
        );
        let total = converges(&[
            counter(&[("n1", 5, 0)]),
            counter(&[("n1", 3, 0), ("n2", 2, 1)]),
            counter(&[("n2", 4, 1)]),
        ]);
        let Crdt::Counter(counts) = &total else {
            panic!("{total:?}")
        };
        assert_eq!(Crdt::sum(counts), 5 + 4 - 1);
    }

    #[test]
    fn kinds_that_differ_settle_on_one_everywhere() {
        assert_eq!(
            converges(&[reg(1, "n1", "a"), set(&["x"]), counter(&[("n1", 1, 0)])]),
            counter(&[("n1", 1, 0)])
        );
    }

    #[test]
    fn merging_the_delta_is_merging_the_whole() {
        let values = [
            reg(5, "n1", "a"),
            reg(7, "n2", "b"),
            set(&["1", "2"]),
            set(&["2", "3"]),
            set(&["1"]),
            counter(&[("n1", 5, 0), ("n2", 1, 1)]),
            counter(&[("n1", 3, 2)]),
            counter(&[("n3", 0, 0)]),
        ];
        for a in &values {
            for b in &values {
                let mut whole = a.clone();
                let changed = whole.merge(b);
                let mut part = a.clone();
                match a.delta(b) {
                    Some(d) => {
                        part.merge(&d);
                    }
                    None => assert!(!changed, "{a:?} ← {b:?} changed, yet no delta"),
                }
                assert_eq!(part, whole, "{a:?} ← {b:?}");
            }
        }
    }

    #[test]
    fn the_wire_form_round_trips() {
        let values = [
            reg(9, "n 1", "\r\n"),
            set(&["a", "b"]),
            set(&[]),
            counter(&[("n1", 3, 2), ("n2", 0, 7)]),
        ];
        let mut wire = Vec::new();
        for v in &values {
            v.encode(&mut wire);
        }
        let mut parts = wire.iter();
        for v in &values {
            assert_eq!(Crdt::decode(&mut parts).as_ref(), Some(v));
        }
        assert!(parts.next().is_none());
        assert_eq!(
            Crdt::decode(&mut [b("s"), b("2"), b("a")].iter()),
            None,
            "short"
        );
        assert_eq!(Crdt::decode(&mut [b("x")].iter()), None);
    }
}
