//! The counter workload: clients add small positive deltas to one counter and read it; after the
//! faults heal and the cluster recovers, every node catches up with the primary and its counter
//! is read. Jepsen's counter checker judges them ([`checker::ModelKind::CounterBounds`]): every
//! read between what had certainly been added when it began and what may have been added by the
//! time it ended. On a system whose options promise linearizable reads and writes (etcd's
//! linearizable reads, own nodes read from the primary) the run asks the stronger question
//! instead, with the linearizable counter model.

use crate::client::Operations;
use crate::mix::Weights;
use crate::op::Op;
use crate::workload::{FinalPhase, Generator, Shape, Workload};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The counter workload (`--workload counter`): judged by counter-bounds with its final reads.
#[derive(Debug, Clone, Copy)]
pub struct Counter;

impl Workload for Counter {
    fn needs(&self) -> &'static [Operations] {
        &[Operations::Counter]
    }

    fn model(&self) -> checker::ModelKind {
        checker::ModelKind::CounterBounds
    }

    /// Where reads are linearizable, every read must be the sum of some set of adds in an order
    /// real time allows: stronger than the bounds, which it implies.
    fn linearizable_model(&self) -> Option<checker::ModelKind> {
        Some(checker::ModelKind::Counter)
    }

    fn generator(&self, shape: &Shape) -> Box<dyn Generator> {
        Box::new(CounterGenerator::new(shape.seed, shape.weights_or(&KINDS)))
    }

    fn kinds(&self) -> &'static [(&'static str, u32)] {
        &KINDS
    }

    /// An add is lost only if a node that has caught up reads less than every acknowledged add.
    fn final_phase(&self) -> FinalPhase {
        FinalPhase::ReadEveryNode(Op::ReadCounter)
    }
}

/// Draws adds of 1 to [`MAX_DELTA`] and reads.
#[derive(Debug)]
pub struct CounterGenerator {
    rng: StdRng,
    weights: Weights,
}

/// The largest delta an add draws. Deltas are positive: the counter only grows, so the bounds
/// on each read are as tight as Jepsen's.
pub const MAX_DELTA: i64 = 5;

/// Three adds to a read.
const KINDS: [(&str, u32); 2] = [("add", 3), ("read", 1)];

impl CounterGenerator {
    /// A generator; the same seed draws the same stream.
    pub fn new(seed: u64, weights: Weights) -> CounterGenerator {
        CounterGenerator {
            rng: StdRng::seed_from_u64(seed),
            weights,
        }
    }
}

impl Generator for CounterGenerator {
    fn next_op(&mut self) -> Op {
        match self.weights.draw(&mut self.rng) {
            0 => Op::Incr(self.rng.random_range(1..=MAX_DELTA)),
            _ => Op::ReadCounter,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::at_once::at_once as now;
    use crate::client::{ClientError, CounterClient};
    use crate::counter_op::{add, read};
    use checker::EventType;
    use serde_json::{json, Value};

    struct Scripted(Result<i64, ClientError>);

    impl CounterClient for Scripted {
        async fn incr(&mut self, _: &str, _: i64) -> Result<(), ClientError> {
            self.0.clone().map(|_| ())
        }
        async fn read_counter(&mut self, _: &str) -> Result<i64, ClientError> {
            self.0.clone()
        }
    }

    #[test]
    fn adds_are_small_and_positive_reads_about_one_in_four() {
        let mut g = CounterGenerator::new(3, Weights::defaults(&KINDS));
        let ops: Vec<Op> = (0..2000).map(|_| g.next_op()).collect();
        let reads = ops.iter().filter(|op| **op == Op::ReadCounter).count();
        assert!((400..600).contains(&reads), "{reads}");
        assert!(ops
            .iter()
            .all(|op| matches!(op, Op::ReadCounter | Op::Incr(1..=MAX_DELTA))));
        let mut again = CounterGenerator::new(3, Weights::defaults(&KINDS));
        assert!(
            ops.iter().all(|op| *op == again.next_op()),
            "same seed, same stream"
        );
    }

    #[test]
    fn completions_map_to_history_types() {
        let ok = now(add(&mut Scripted(Ok(0)), 3));
        assert_eq!((ok.kind, ok.value), (EventType::Ok, json!(3)));
        let maybe = now(add(
            &mut Scripted(Err(ClientError::MayHaveHappened("timeout".into()))),
            4,
        ));
        assert_eq!((maybe.kind, maybe.value), (EventType::Info, json!(4)));
        let seen = now(read(&mut Scripted(Ok(17))));
        assert_eq!((seen.kind, seen.value), (EventType::Ok, json!(17)));
        let refused = now(read(&mut Scripted(Err(ClientError::DidNotHappen(
            "down".into(),
        )))));
        assert_eq!(
            (refused.kind, refused.value),
            (EventType::Fail, Value::Null)
        );
    }
}
