//! When faults happen and which: a seeded, pure schedule (same seed, same faults).

use crate::fault::{Fault, NemesisKind};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Duration;

/// Alternating quiet and fault windows of `interval` each, with seeded fault choices.
pub struct Schedule {
    kind: NemesisKind,
    interval: Duration,
    rng: StdRng,
}

impl Schedule {
    /// A schedule of `kind` faults, each window lasting `interval`.
    pub fn new(kind: NemesisKind, interval: Duration, seed: u64) -> Schedule {
        // Decorrelate from the workload's stream, which uses the same seed.
        let rng = StdRng::seed_from_u64(seed ^ 0x6e65_6d65_7369_7300);
        Schedule {
            kind,
            interval,
            rng,
        }
    }

    /// How long each quiet window and each fault window lasts.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The next fault to inject among `nodes`, or `None` if this schedule injects none.
    pub fn next_fault(&mut self, nodes: &[String]) -> Option<Fault> {
        if nodes.is_empty() {
            return None;
        }
        match self.kind {
            NemesisKind::None => None,
            NemesisKind::Pause => {
                let node = nodes[self.rng.random_range(0..nodes.len())].clone();
                Some(Fault::Pause { node })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes() -> Vec<String> {
        (1..=5).map(|i| format!("n{i}")).collect()
    }

    #[test]
    fn same_seed_same_faults() {
        let run = |seed| {
            let mut s = Schedule::new(NemesisKind::Pause, Duration::from_secs(1), seed);
            (0..50)
                .map(|_| s.next_fault(&nodes()).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
        let hit: std::collections::HashSet<_> = run(3).into_iter().collect();
        assert!(hit.len() > 1, "the schedule spreads faults over nodes");
    }

    #[test]
    fn none_injects_nothing() {
        let mut s = Schedule::new(NemesisKind::None, Duration::from_secs(1), 1);
        assert_eq!(s.next_fault(&nodes()), None);
    }
}
