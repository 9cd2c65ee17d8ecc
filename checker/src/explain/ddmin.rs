//! Delta debugging: shrinking a failing set of items to a 1-minimal failing subset.
//!
//! Zeller & Hildebrandt's `ddmin` ("Simplifying and Isolating Failure-Inducing Input", 2002):
//! split the current set into `n` chunks; if one chunk alone still fails, keep it; else if the
//! set without one chunk still fails, keep that; else split finer. It ends when the chunks are
//! single items and none can be removed: the set is then *1-minimal* (removing any one item makes
//! the failure go away), though not necessarily the smallest failing set.
//!
//! ```text
//!   [a b c d e f g h]  n=2: [a b c d] passes, [e f g h] passes
//!                      n=4: without [a b] fails ─► [c d e f g h], n=3
//!                      ...                        ─► [c f] (each of [c], [f] alone passes)
//! ```
//!
//! The test here is a linearizability check with a deadline, which may answer neither way: such
//! an answer counts as "not shown failing" (the set is never shrunk on a guess), but the result
//! is then not *proven* 1-minimal.

use std::collections::HashSet;
use std::time::Instant;

/// What the test says about one subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probe {
    /// The subset certainly fails (is not linearizable).
    Fails,
    /// The subset certainly passes.
    Passes,
    /// The test could not tell (out of time or memory).
    Unknown,
}

/// The result of shrinking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shrunk {
    /// The failing subset, in the order of the input.
    pub(crate) kept: Vec<usize>,
    /// Whether every single-item removal from `kept` was shown to pass: a proof of 1-minimality.
    pub(crate) minimal: bool,
}

/// Shrinks `items`, which must fail, to a 1-minimal failing subset, stopping at `deadline` with
/// the smallest failing subset found so far.
pub(crate) fn ddmin(
    items: Vec<usize>,
    deadline: Instant,
    mut test: impl FnMut(&[usize]) -> Probe,
) -> Shrunk {
    let mut current = items;
    // Subsets already shown not to fail: ddmin revisits some after it restarts at n = 2.
    let mut passed: HashSet<Vec<usize>> = HashSet::new();
    let mut probe = |subset: &[usize], passed: &mut HashSet<Vec<usize>>| {
        if passed.contains(subset) {
            return Probe::Passes;
        }
        let got = test(subset);
        if got == Probe::Passes {
            passed.insert(subset.to_vec());
        }
        got
    };
    let mut n = 2;
    loop {
        if current.len() < 2 {
            // One item: the empty set passes (an empty history is linearizable).
            return Shrunk {
                kept: current,
                minimal: true,
            };
        }
        let mut unsure = false;
        let chunks = split(&current, n);
        let mut next: Option<(Vec<usize>, usize)> = None;
        for chunk in &chunks {
            if Instant::now() >= deadline {
                return Shrunk {
                    kept: current,
                    minimal: false,
                };
            }
            match probe(chunk, &mut passed) {
                Probe::Fails => {
                    next = Some((chunk.clone(), 2));
                    break;
                }
                Probe::Unknown => unsure = true,
                Probe::Passes => {}
            }
        }
        // With two chunks each complement is the other chunk: already tested.
        if next.is_none() && chunks.len() > 2 {
            for skip in 0..chunks.len() {
                if Instant::now() >= deadline {
                    return Shrunk {
                        kept: current,
                        minimal: false,
                    };
                }
                let complement: Vec<usize> = chunks
                    .iter()
                    .enumerate()
                    .filter(|&(i, _)| i != skip)
                    .flat_map(|(_, c)| c.iter().copied())
                    .collect();
                match probe(&complement, &mut passed) {
                    Probe::Fails => {
                        next = Some((complement, (n - 1).max(2)));
                        break;
                    }
                    Probe::Unknown => unsure = true,
                    Probe::Passes => {}
                }
            }
        }
        match next {
            Some((smaller, granularity)) => {
                current = smaller;
                n = granularity;
            }
            // Single items, none removable: 1-minimal, if every answer was certain.
            None if n >= current.len() => {
                return Shrunk {
                    kept: current,
                    minimal: !unsure,
                }
            }
            None => n = (2 * n).min(current.len()),
        }
    }
}

/// `items` in `n` contiguous chunks of nearly equal size (the first ones one larger).
fn split(items: &[usize], n: usize) -> Vec<Vec<usize>> {
    let (size, extra) = (items.len() / n, items.len() % n);
    let mut chunks = Vec::with_capacity(n);
    let mut at = 0;
    for i in 0..n {
        let len = size + usize::from(i < extra);
        chunks.push(items[at..at + len].to_vec());
        at += len;
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    #[test]
    fn chunks_cover_the_items_in_order() {
        assert_eq!(split(&[1, 2, 3, 4, 5], 2), [vec![1, 2, 3], vec![4, 5]]);
        assert_eq!(split(&[1, 2, 3], 3), [vec![1], vec![2], vec![3]]);
    }

    #[test]
    fn finds_the_two_items_that_fail_together() {
        let fails = |s: &[usize]| {
            if s.contains(&3) && s.contains(&17) {
                Probe::Fails
            } else {
                Probe::Passes
            }
        };
        let shrunk = ddmin((0..40).collect(), far(), fails);
        assert_eq!(
            shrunk,
            Shrunk {
                kept: vec![3, 17],
                minimal: true
            }
        );
    }

    #[test]
    fn is_one_minimal_even_where_smaller_sets_exist() {
        // Fails with {0, 1} or with {5}: ddmin may end at either, but nothing removable stays.
        let fails = |s: &[usize]| {
            if s.contains(&5) || (s.contains(&0) && s.contains(&1)) {
                Probe::Fails
            } else {
                Probe::Passes
            }
        };
        let shrunk = ddmin((0..8).collect(), far(), fails);
        assert!(shrunk.minimal);
        for i in 0..shrunk.kept.len() {
            let mut without = shrunk.kept.clone();
            without.remove(i);
            assert_eq!(fails(&without), Probe::Passes, "{:?}", shrunk.kept);
        }
    }

    #[test]
    fn an_unknown_answer_never_shrinks_and_leaves_minimality_unproven() {
        // {2, 4} fails; any set without 4 is unknown rather than passing.
        let test = |s: &[usize]| match (s.contains(&2), s.contains(&4)) {
            (true, true) => Probe::Fails,
            (_, false) => Probe::Unknown,
            _ => Probe::Passes,
        };
        let shrunk = ddmin((0..6).collect(), far(), test);
        assert_eq!(shrunk.kept, [2, 4]);
        assert!(!shrunk.minimal);
    }

    #[test]
    fn a_past_deadline_returns_the_input_unproven() {
        let shrunk = ddmin((0..6).collect(), Instant::now(), |_| Probe::Fails);
        assert_eq!(
            shrunk,
            Shrunk {
                kept: (0..6).collect(),
                minimal: false
            }
        );
    }
}
