//! When faults happen and which: a seeded, pure schedule (same seed, same faults).
//!
//! Kinds are drawn from a shuffled bag: every requested kind comes once before any comes again,
//! so a short run with room for k faults applies k different kinds, not the same one twice.

use crate::fault::{Fault, FaultKind, NemesisKinds};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::time::Duration;

/// Alternating quiet and fault windows of `interval` each, with seeded fault choices.
pub struct Schedule {
    kinds: NemesisKinds,
    interval: Duration,
    rng: StdRng,
    /// Indices into `kinds` still to draw in this round, drawn from the back.
    bag: Vec<usize>,
}

impl Schedule {
    /// A schedule of `kinds` faults, each window lasting `interval`.
    pub fn new(kinds: NemesisKinds, interval: Duration, seed: u64) -> Schedule {
        // Decorrelate from the workload's stream, which uses the same seed.
        let rng = StdRng::seed_from_u64(seed ^ 0x6e65_6d65_7369_7300);
        Schedule {
            kinds,
            interval,
            rng,
            bag: Vec::new(),
        }
    }

    /// The kinds this schedule draws from, as requested.
    pub fn kinds(&self) -> &NemesisKinds {
        &self.kinds
    }

    /// How long each quiet window and each fault window lasts.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The next fault among `nodes` (`primary` as the cluster reports it), with the requested
    /// kind it was drawn from, or `None` if this schedule injects none.
    pub fn next_fault(
        &mut self,
        nodes: &[String],
        primary: Option<&str>,
    ) -> Option<(FaultKind, Fault)> {
        if nodes.is_empty() || self.kinds.0.is_empty() {
            return None;
        }
        if self.bag.is_empty() {
            self.bag = (0..self.kinds.0.len()).collect();
            self.bag.shuffle(&mut self.rng);
        }
        let kind = self.kinds.0[self.bag.pop().expect("a refilled bag")].clone();
        let fault = kind.draw(nodes, primary, &mut self.rng);
        Some((kind, fault))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes() -> Vec<String> {
        (1..=5).map(|i| format!("n{i}")).collect()
    }

    fn kinds(s: &str) -> NemesisKinds {
        s.parse().unwrap()
    }

    #[test]
    fn same_seed_same_faults() {
        let run = |seed| {
            let mut s = Schedule::new(kinds("pause,kill,partition"), Duration::from_secs(1), seed);
            (0..50)
                .map(|_| s.next_fault(&nodes(), Some("n1")).unwrap().1)
                .collect::<Vec<_>>()
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
        let fs: std::collections::HashSet<_> = run(3).iter().map(|f| f.start_f()).collect();
        assert_eq!(fs.len(), 3, "every kind is chosen");
    }

    #[test]
    fn every_kind_comes_once_before_any_comes_again() {
        for seed in 0..20 {
            let mut s = Schedule::new(
                kinds("pause,kill,partition,latency"),
                Duration::from_secs(1),
                seed,
            );
            let drawn: Vec<String> = (0..12)
                .map(|_| s.next_fault(&nodes(), Some("n1")).unwrap().0.to_string())
                .collect();
            for round in drawn.chunks(4) {
                let mut round = round.to_vec();
                round.sort();
                assert_eq!(
                    round,
                    ["kill", "latency", "partition", "pause"],
                    "seed {seed}: {drawn:?}"
                );
            }
        }
    }

    #[test]
    fn process_targets_are_one_primary_minority_or_all() {
        let mut s = Schedule::new(kinds("pause"), Duration::from_secs(1), 1);
        let mut sizes = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let Some((_, Fault::Pause { nodes: hit })) = s.next_fault(&nodes(), Some("n4")) else {
                panic!("pause schedules pauses")
            };
            assert!(matches!(hit.len(), 1 | 2 | 5), "{hit:?}");
            sizes.insert(hit.len());
        }
        assert_eq!(sizes.into_iter().collect::<Vec<_>>(), vec![1, 2, 5]);
    }

    #[test]
    fn none_injects_nothing() {
        let mut s = Schedule::new(kinds("none"), Duration::from_secs(1), 1);
        assert_eq!(s.next_fault(&nodes(), None), None);
    }
}
