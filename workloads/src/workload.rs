//! The workload a run drives (`--workload`): one generator shared by every client, and the
//! operation each draw gives.

use crate::client::{RegisterClient, SetClient};
use crate::register::{self, Completion, RegisterGenerator, RegisterOp};
use crate::set::{self, SetGenerator, SET_KEY};
use clap::ValueEnum;
use serde::Serialize;
use serde_json::{json, Value};

/// Which workload a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum WorkloadKind {
    /// Reads, writes and compare-and-sets on a few registers; checked for linearizability.
    Register,
    /// Adds of unique integers to one set, then a final read on every node; checked for lost
    /// and unexpected elements.
    Set,
}

impl WorkloadKind {
    /// The checker that judges a run of this workload: the register workload for
    /// linearizability against a cas-register, the set workload by set-full with its final reads.
    pub fn model(self) -> checker::ModelKind {
        match self {
            WorkloadKind::Register => checker::ModelKind::CasRegister,
            WorkloadKind::Set => checker::ModelKind::SetFull,
        }
    }
}

impl std::fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Spelled as on the command line: clap's derive is the one list of names.
        f.write_str(
            self.to_possible_value()
                .expect("no skipped variant")
                .get_name(),
        )
    }
}

/// A workload's generator.
pub enum Workload {
    /// The register workload (boxed: its generator carries an RNG).
    Register(Box<RegisterGenerator>),
    /// The set workload.
    Set(SetGenerator),
}

/// One operation a workload drew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A register operation on a key.
    Register(String, RegisterOp),
    /// Add an element to the set.
    Add(i64),
}

impl Workload {
    /// The generator for `kind`: `seed` and `keys` shape the register workload.
    pub fn new(kind: WorkloadKind, seed: u64, keys: usize) -> Workload {
        match kind {
            WorkloadKind::Register => {
                Workload::Register(Box::new(RegisterGenerator::new(seed, keys)))
            }
            WorkloadKind::Set => Workload::Set(SetGenerator::new()),
        }
    }

    /// The next operation.
    pub fn next_op(&mut self) -> Op {
        match self {
            Workload::Register(g) => {
                let (key, op) = g.next_op();
                Op::Register(key, op)
            }
            Workload::Set(g) => Op::Add(g.next_element()),
        }
    }
}

impl Op {
    /// The history's `f`.
    pub fn f(&self) -> &'static str {
        match self {
            Op::Register(_, op) => op.f(),
            Op::Add(_) => "add",
        }
    }

    /// The history's `key`.
    pub fn key(&self) -> &str {
        match self {
            Op::Register(key, _) => key,
            Op::Add(_) => SET_KEY,
        }
    }

    /// The history's invocation value.
    pub fn invoke_value(&self) -> Value {
        match self {
            Op::Register(_, op) => op.invoke_value(),
            Op::Add(e) => json!(e),
        }
    }

    /// Runs the operation through `client`.
    pub async fn invoke<C: RegisterClient + SetClient>(&self, client: &mut C) -> Completion {
        match self {
            Op::Register(key, op) => register::invoke(client, key, op).await,
            Op::Add(e) => set::add(client, *e).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_and_draw_their_operations() {
        assert!(WorkloadKind::from_str("queue", false).is_err());
        assert_eq!(WorkloadKind::Set.to_string(), "set");
        let mut set = Workload::new(WorkloadKind::from_str("set", false).unwrap(), 1, 3);
        let ops: Vec<Op> = (0..3).map(|_| set.next_op()).collect();
        assert_eq!(ops, [Op::Add(0), Op::Add(1), Op::Add(2)]);
        assert_eq!(
            (ops[1].f(), ops[1].key(), ops[1].invoke_value()),
            ("add", SET_KEY, json!(1))
        );
        let mut reg = Workload::new(WorkloadKind::Register, 1, 3);
        assert!(matches!(reg.next_op(), Op::Register(k, _) if k.starts_with('k')));
    }
}
