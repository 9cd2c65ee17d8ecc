//! What a witness must keep together: for each operation of a key, the operations whose
//! deletion could change what it observed or what it leaves behind.
//!
//! A subset of a key's operations is a *sound* witness when its non-linearizability proves the
//! whole key's: every linearization of the key, cut down to the subset, must stay legal. Reads
//! can always go (they change nothing); an update can go when no kept operation depends on it.
//! Each model says what depends on what ([`crate::models::history_model::HistoryModel::ties`]):
//!
//! ```text
//!   set      read → {1, 3}      needs every add of 1 and of 3
//!   queue    enqueue 5  ⇄  dequeue → 5          kept or dropped together
//!   kv       get → "a;b;"       needs the puts and appends its string can be spelled from
//!   other    every update pinned (always kept); only observations are shrunk
//! ```
//!
//! [`Ties::close`] adds to a subset everything pinned and, repeatedly, everything its members
//! need.

use std::collections::HashMap;
use std::hash::Hash;

/// The dependencies among one key's operations, by position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ties {
    /// Operations every sound subset keeps.
    pinned: Vec<usize>,
    /// For each operation, the operations it needs kept with it.
    needs: Vec<Vec<usize>>,
}

impl Ties {
    /// No dependencies among `len` operations yet.
    pub fn none(len: usize) -> Self {
        Ties {
            pinned: Vec::new(),
            needs: vec![Vec::new(); len],
        }
    }

    /// Every operation that may change the state is always kept: safe for any model.
    pub fn pin_updates<O>(ops: &[O], observes_only: impl Fn(&O) -> bool) -> Self {
        let mut ties = Ties::none(ops.len());
        ties.pinned = (0..ops.len())
            .filter(|&i| !observes_only(&ops[i]))
            .collect();
        ties
    }

    /// `op` needs every operation in `needed` kept with it.
    pub fn need(&mut self, op: usize, needed: impl IntoIterator<Item = usize>) {
        self.needs[op].extend(needed.into_iter().filter(|&n| n != op));
    }

    /// `subset` with everything pinned and everything its members need, repeatedly; in order.
    pub fn close(&self, subset: &[usize]) -> Vec<usize> {
        let mut kept = vec![false; self.needs.len()];
        let mut work: Vec<usize> = subset.iter().chain(&self.pinned).copied().collect();
        while let Some(i) = work.pop() {
            if std::mem::replace(&mut kept[i], true) {
                continue;
            }
            work.extend(self.needs[i].iter().copied().filter(|&n| !kept[n]));
        }
        (0..kept.len()).filter(|&i| kept[i]).collect()
    }
}

/// Positions grouped by a label (an element, a value): the operations a dependency on that
/// label must keep.
#[derive(Debug)]
pub struct ByLabel<L> {
    positions: HashMap<L, Vec<usize>>,
}

impl<L: Hash + Eq> ByLabel<L> {
    /// The positions of `labelled`, each under its label (an operation may have several).
    pub fn new(labelled: impl IntoIterator<Item = (L, usize)>) -> Self {
        let mut positions: HashMap<L, Vec<usize>> = HashMap::new();
        for (label, at) in labelled {
            positions.entry(label).or_default().push(at);
        }
        ByLabel { positions }
    }

    /// Every position labelled `label`.
    pub fn of(&self, label: &L) -> impl Iterator<Item = usize> + '_ {
        self.positions.get(label).into_iter().flatten().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_adds_what_is_pinned_and_needed_transitively() {
        let mut ties = Ties::none(6);
        ties.pinned = vec![5];
        ties.need(0, [2]);
        ties.need(2, [3, 2]);
        ties.need(4, [1]);
        assert_eq!(ties.close(&[0]), [0, 2, 3, 5]);
        assert_eq!(ties.close(&[]), [5]);
        assert_eq!(ties.close(&[4, 0]), [0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn pinning_updates_keeps_everything_but_observations() {
        let ops = ["read", "write", "read", "write"];
        let ties = Ties::pin_updates(&ops, |o| *o == "read");
        assert_eq!(ties.close(&[2]), [1, 2, 3]);
    }

    #[test]
    fn labels_group_positions() {
        let by = ByLabel::new([("a", 0), ("b", 1), ("a", 4)]);
        assert_eq!(by.of(&"a").collect::<Vec<_>>(), [0, 4]);
        assert_eq!(by.of(&"c").count(), 0);
    }
}
