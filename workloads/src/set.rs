//! The set workload: clients add unique integers to one set during the run and now and then read
//! it whole; after the faults heal and the cluster recovers, every node catches up with the
//! primary and its copy of the set is read, and the checker's set-full rules judge them all
//! (lost, unexpected, stale and never-read elements).

use crate::client::Operations;
use crate::mix::Weights;
use crate::op::Op;
use crate::workload::{FinalPhase, Generator, Shape, Workload};
use rand::rngs::StdRng;
use rand::SeedableRng;

/// The set workload (`--workload set`): judged by set-full with its final reads.
#[derive(Debug, Clone, Copy)]
pub struct Set;

impl Workload for Set {
    fn needs(&self) -> &'static [Operations] {
        &[Operations::Set]
    }

    fn model(&self) -> checker::ModelKind {
        checker::ModelKind::SetFull
    }

    /// Elements are numbered, not drawn; the seed decides when a read comes instead.
    fn generator(&self, shape: &Shape) -> Box<dyn Generator> {
        Box::new(SetGenerator::new(shape.seed, shape.weights_or(&KINDS)))
    }

    fn kinds(&self) -> &'static [(&'static str, u32)] {
        &KINDS
    }

    /// An element is lost only if it is absent where it must be present: from a node that has
    /// caught up, read from that node itself.
    fn final_phase(&self) -> FinalPhase {
        FinalPhase::ReadEveryNode(Op::ReadSet)
    }
}

/// Hands out the elements to add, 0, 1, 2, … so that every element names exactly one add, with
/// reads of the whole set drawn among them.
#[derive(Debug)]
pub struct SetGenerator {
    next: i64,
    rng: StdRng,
    weights: Weights,
}

/// One read in ten operations: enough to see stale reads, few enough that reading a large set
/// does not crowd out the adds.
const KINDS: [(&str, u32); 2] = [("add", 9), ("read", 1)];

impl SetGenerator {
    /// A generator starting at 0; the same seed draws its reads at the same places.
    pub fn new(seed: u64, weights: Weights) -> SetGenerator {
        SetGenerator {
            next: 0,
            rng: StdRng::seed_from_u64(seed),
            weights,
        }
    }

    /// The next element to add.
    pub fn next_element(&mut self) -> i64 {
        let e = self.next;
        self.next += 1;
        e
    }
}

impl Generator for SetGenerator {
    fn next_op(&mut self) -> Op {
        match self.weights.draw(&mut self.rng) {
            0 => Op::Add(self.next_element()),
            _ => Op::ReadSet,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::at_once::at_once as now;
    use crate::client::{ClientError, SetClient};
    use crate::set_op::{add, read};
    use checker::EventType;
    use serde_json::{json, Value};

    struct Scripted(Result<Vec<i64>, ClientError>);

    impl SetClient for Scripted {
        async fn add(&mut self, _: &str, _: i64) -> Result<(), ClientError> {
            self.0.clone().map(|_| ())
        }
        async fn read_set(&mut self, _: &str) -> Result<Vec<i64>, ClientError> {
            self.0.clone()
        }
    }

    #[test]
    fn elements_are_unique_and_completions_map_to_history_types() {
        let mut g = SetGenerator::new(1, Weights::defaults(&KINDS));
        assert_eq!((g.next_element(), g.next_element()), (0, 1));
        // Adds keep counting up between the reads drawn among them.
        let ops: Vec<Op> = (0..1000).map(|_| g.next_op()).collect();
        let adds: Vec<i64> = ops
            .iter()
            .filter_map(|op| match op {
                Op::Add(e) => Some(*e),
                _ => None,
            })
            .collect();
        assert_eq!(adds, (2..2 + adds.len() as i64).collect::<Vec<_>>());
        let reads = ops.len() - adds.len();
        assert!((50..200).contains(&reads), "about one in ten: {reads}");
        let ok = now(add(&mut Scripted(Ok(vec![])), 7));
        assert_eq!((ok.kind, ok.value), (EventType::Ok, json!(7)));
        let lost = now(add(
            &mut Scripted(Err(ClientError::MayHaveHappened("timeout".into()))),
            8,
        ));
        assert_eq!((lost.kind, lost.value), (EventType::Info, json!(8)));
        let read_back = now(read(&mut Scripted(Ok(vec![1, 2]))));
        assert_eq!(
            (read_back.kind, read_back.value),
            (EventType::Ok, json!([1, 2]))
        );
        let refused = now(read(&mut Scripted(Err(ClientError::DidNotHappen(
            "down".into(),
        )))));
        assert_eq!(
            (refused.kind, refused.value),
            (EventType::Fail, Value::Null)
        );
    }
}
