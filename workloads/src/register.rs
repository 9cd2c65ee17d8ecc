//! The register workload: random reads, writes and compare-and-sets on a few keys.
//!
//! Written values are unique per key (1, 2, 3, … for each key), so every read names the write it
//! observed; that keeps the checker's job small and lets it explain a stale read exactly.

use crate::client::Operations;
use crate::op::Op;
use crate::register_op::RegisterOp;
use crate::workload::{FinalPhase, Generator, Workload};
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

    fn generator(&self, seed: u64, keys: usize) -> Box<dyn Generator> {
        Box::new(RegisterGenerator::new(seed, keys))
    }

    fn final_phase(&self) -> FinalPhase {
        FinalPhase::None
    }
}

/// A seeded generator of register operations over `keys` keys named `k0`, `k1`, ….
///
/// The mix is about half reads, a quarter writes and a quarter cas; a cas expects one of the last
/// few values written to its key, so that some succeed and some do not.
pub struct RegisterGenerator {
    rng: StdRng,
    keys: Vec<String>,
    next_value: Vec<i64>,
}

impl RegisterGenerator {
    /// A generator for `keys` keys (at least one); the same seed gives the same stream.
    pub fn new(seed: u64, keys: usize) -> RegisterGenerator {
        let keys = keys.max(1);
        RegisterGenerator {
            rng: StdRng::seed_from_u64(seed),
            keys: (0..keys).map(|i| format!("k{i}")).collect(),
            next_value: vec![1; keys],
        }
    }

    /// The key names this generator uses.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// The next operation and the key it addresses.
    pub fn next_key_op(&mut self) -> (String, RegisterOp) {
        let k = self.rng.random_range(0..self.keys.len());
        let roll = self.rng.random_range(0..4);
        let op = match roll {
            0 | 1 => RegisterOp::Read,
            2 => RegisterOp::Write(self.fresh(k)),
            _ => {
                let written = self.next_value[k] - 1;
                // Expect a recent value: most often the latest, so cas succeeds often enough to matter.
                let expected = (written - self.rng.random_range(0..3)).max(1);
                RegisterOp::Cas(expected, self.fresh(k))
            }
        };
        (self.keys[k].clone(), op)
    }

    fn fresh(&mut self, k: usize) -> i64 {
        let v = self.next_value[k];
        self.next_value[k] += 1;
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

    #[test]
    fn same_seed_same_stream() {
        let mut a = RegisterGenerator::new(7, 3);
        let mut b = RegisterGenerator::new(7, 3);
        let xs: Vec<_> = (0..200).map(|_| a.next_key_op()).collect();
        let ys: Vec<_> = (0..200).map(|_| b.next_key_op()).collect();
        assert_eq!(xs, ys);
        let mut c = RegisterGenerator::new(8, 3);
        let zs: Vec<_> = (0..200).map(|_| c.next_key_op()).collect();
        assert_ne!(xs, zs);
    }

    #[test]
    fn written_values_are_unique_per_key() {
        let mut g = RegisterGenerator::new(1, 2);
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
        // A client future that never awaits anything finishes on its first poll.
        let fut = std::pin::pin!(invoke(&mut c, "k", &op));
        let waker = std::task::Waker::noop();
        match fut.poll(&mut std::task::Context::from_waker(waker)) {
            std::task::Poll::Ready(c) => c,
            std::task::Poll::Pending => panic!("scripted client never pends"),
        }
    }

    use std::future::Future;

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
