//! The register workload: random reads, writes and compare-and-sets on a few keys.
//!
//! Written values are unique per key (1, 2, 3, … for each key), so every read names the write it
//! observed; that keeps the checker's job small and lets it explain a stale read exactly. With
//! `--ops-per-key`, keys are retired after their share and fresh ones take their place, as
//! Jepsen's `independent` generator does: a long run checks many small keys, never one huge one.

use crate::client::Operations;
use crate::mix::Weights;
use crate::op::Op;
use crate::register_op::RegisterOp;
use crate::workload::{FinalPhase, Generator, Shape, Workload};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The register workload (`--workload register`): judged for linearizability against a
/// cas-register, key by key; its history needs no final phase.
#[derive(Debug, Clone, Copy)]
pub struct Register;

impl Workload for Register {
    fn needs(&self) -> &'static [Operations] {
        &[Operations::Register]
    }

    fn model(&self) -> checker::ModelKind {
        checker::ModelKind::CasRegister
    }

    fn generator(&self, shape: &Shape) -> Box<dyn Generator> {
        Box::new(RegisterGenerator::new(shape))
    }

    fn kinds(&self) -> &'static [(&'static str, u32)] {
        &KINDS
    }

    fn keyed(&self) -> bool {
        true
    }

    fn final_phase(&self) -> FinalPhase {
        FinalPhase::None
    }
}

/// About half reads, a quarter writes and a quarter cas.
const KINDS: [(&str, u32); 3] = [("read", 2), ("write", 1), ("cas", 1)];

/// A seeded generator of register operations over `keys` keys in use at once, named `k0`, `k1`,
/// …; with `ops_per_key`, a key that has had its share is retired and the next name takes its
/// place.
///
/// A cas expects one of the last few values written to its key, so that some succeed and some do
/// not.
pub struct RegisterGenerator {
    rng: StdRng,
    weights: Weights,
    slots: Vec<Slot>,
    ops_per_key: Option<u64>,
    /// The number the next fresh key is named with.
    next_key: usize,
}

/// A key in use: its name, the next value to write to it, and how many operations it has had.
struct Slot {
    key: String,
    next_value: i64,
    ops: u64,
}

impl Slot {
    fn fresh(n: usize) -> Slot {
        Slot {
            key: format!("k{n}"),
            next_value: 1,
            ops: 0,
        }
    }
}

impl RegisterGenerator {
    /// A generator for `shape.keys` keys (at least one); the same shape gives the same stream.
    pub fn new(shape: &Shape) -> RegisterGenerator {
        let keys = shape.keys.max(1);
        RegisterGenerator {
            rng: StdRng::seed_from_u64(shape.seed),
            weights: shape.weights_or(&KINDS),
            slots: (0..keys).map(Slot::fresh).collect(),
            // A share of 0 would retire a key before its first operation.
            ops_per_key: shape.ops_per_key.map(|n| n.max(1)),
            next_key: keys,
        }
    }

    /// The next operation and the key it addresses.
    pub fn next_key_op(&mut self) -> (String, RegisterOp) {
        let k = self.rng.random_range(0..self.slots.len());
        let kind = self.weights.draw(&mut self.rng);
        let slot = &mut self.slots[k];
        let op = match kind {
            0 => RegisterOp::Read,
            1 => RegisterOp::Write(slot.fresh_value()),
            _ => {
                let written = slot.next_value - 1;
                // Expect a recent value: most often the latest, so cas succeeds often enough to matter.
                let expected = (written - self.rng.random_range(0..3)).max(1);
                RegisterOp::Cas(expected, slot.fresh_value())
            }
        };
        slot.ops += 1;
        let key = slot.key.clone();
        if self.ops_per_key.is_some_and(|n| slot.ops >= n) {
            *slot = Slot::fresh(self.next_key);
            self.next_key += 1;
        }
        (key, op)
    }
}

impl Slot {
    fn fresh_value(&mut self) -> i64 {
        let v = self.next_value;
        self.next_value += 1;
        v
    }
}

impl Generator for RegisterGenerator {
    fn next_op(&mut self) -> Op {
        let (key, op) = self.next_key_op();
        Op::Register(key, op)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{ClientError, RegisterClient};
    use crate::completion::Completion;
    use crate::register_op::invoke;
    use checker::{EventType, CAS_MISMATCH};
    use serde_json::{json, Value};
    use std::collections::HashSet;

    fn shape(seed: u64, keys: usize, ops_per_key: Option<u64>) -> Shape {
        Shape {
            seed,
            keys,
            ops_per_key,
            weights: None,
        }
    }

    #[test]
    fn keys_retire_after_their_share_and_fresh_ones_take_their_place() {
        let mut g = RegisterGenerator::new(&shape(3, 4, Some(25)));
        let mut per_key: std::collections::BTreeMap<String, u64> = Default::default();
        for _ in 0..1000 {
            *per_key.entry(g.next_key_op().0).or_default() += 1;
        }
        // Every retired key had exactly its share; the four in use at the end have had less.
        let open: HashSet<&str> = g.slots.iter().map(|s| s.key.as_str()).collect();
        for (key, n) in &per_key {
            match open.contains(key.as_str()) {
                true => assert!(*n < 25, "{key}: {n}"),
                false => assert_eq!(*n, 25, "{key}"),
            }
        }
        assert_eq!(open.len(), 4);
        assert!(per_key.len() >= 40, "{per_key:?}");
        // Fresh keys are numbered in order (one just made may not have been drawn yet).
        let numbers: Vec<usize> = per_key.keys().map(|k| k[1..].parse().unwrap()).collect();
        assert!(numbers.iter().all(|&i| i < g.next_key), "{numbers:?}");
        assert!(per_key.len() + open.len() >= g.next_key, "{numbers:?}");
        // Without a share the keys stay.
        let mut kept = RegisterGenerator::new(&shape(3, 4, None));
        let names: HashSet<String> = (0..1000).map(|_| kept.next_key_op().0).collect();
        assert_eq!(names.len(), 4);
    }

    #[test]
    fn same_seed_same_stream() {
        let mut a = RegisterGenerator::new(&shape(7, 3, None));
        let mut b = RegisterGenerator::new(&shape(7, 3, None));
        let xs: Vec<_> = (0..200).map(|_| a.next_key_op()).collect();
        let ys: Vec<_> = (0..200).map(|_| b.next_key_op()).collect();
        assert_eq!(xs, ys);
        let mut c = RegisterGenerator::new(&shape(8, 3, None));
        let zs: Vec<_> = (0..200).map(|_| c.next_key_op()).collect();
        assert_ne!(xs, zs);
    }

    #[test]
    fn written_values_are_unique_per_key() {
        let mut g = RegisterGenerator::new(&shape(1, 2, Some(50)));
        let mut seen = HashSet::new();
        let mut kinds = HashSet::new();
        for _ in 0..1000 {
            let (key, op) = g.next_key_op();
            kinds.insert(op.f());
            let new = match op {
                RegisterOp::Write(v) | RegisterOp::Cas(_, v) => v,
                RegisterOp::Read => continue,
            };
            assert!(seen.insert((key, new)), "value written twice");
        }
        assert_eq!(kinds.len(), 3, "all three kinds appear");
    }

    struct Scripted(Result<bool, ClientError>);

    impl RegisterClient for Scripted {
        async fn read(&mut self, _: &str) -> Result<Option<i64>, ClientError> {
            self.0.clone().map(|b| b.then_some(5))
        }
        async fn write(&mut self, _: &str, _: i64) -> Result<(), ClientError> {
            self.0.clone().map(|_| ())
        }
        async fn cas(&mut self, _: &str, _: i64, _: i64) -> Result<bool, ClientError> {
            self.0.clone()
        }
    }

    fn run(client: Result<bool, ClientError>, op: RegisterOp) -> Completion {
        let mut c = Scripted(client);
        crate::at_once::at_once(invoke(&mut c, "k", &op))
    }

    #[test]
    fn completions_map_to_history_types() {
        let read = run(Ok(true), RegisterOp::Read);
        assert_eq!((read.kind, read.value), (EventType::Ok, json!(5)));
        let missing = run(Ok(false), RegisterOp::Read);
        assert_eq!(missing.value, Value::Null);
        let mismatch = run(Ok(false), RegisterOp::Cas(1, 2));
        assert_eq!(mismatch.kind, EventType::Fail);
        assert_eq!(mismatch.error.as_deref(), Some(CAS_MISMATCH));
        let refused = run(
            Err(ClientError::DidNotHappen("refused".into())),
            RegisterOp::Write(3),
        );
        assert_eq!((refused.kind, refused.value), (EventType::Fail, json!(3)));
        let timeout = run(
            Err(ClientError::MayHaveHappened("timeout".into())),
            RegisterOp::Cas(1, 2),
        );
        assert_eq!(
            (timeout.kind, timeout.value),
            (EventType::Info, json!([1, 2]))
        );
    }
}
