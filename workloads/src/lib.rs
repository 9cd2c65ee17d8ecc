//! faultline's workloads: what clients do during a run, and what they need from a client.
//!
//! A workload is one unit ([`Workload`]): a pure generator of operations (seeded, so the same
//! seed gives the same stream), the client operations it needs (traits the systems' clients
//! implement, [`Operations`]), the checker that judges it, its final phase, and the mapping of a
//! client's answer onto history events. The workloads are registered in one list,
//! [`WorkloadKind::unit`]; adding one takes its file, its variant and its line there.

#[cfg(test)]
mod at_once;
pub mod client;
pub mod completion;
pub mod counter;
pub mod counter_op;
pub mod mix;
pub mod op;
pub mod register;
pub mod register_op;
pub mod set;
pub mod set_op;
pub mod workload;

pub use client::{ClientError, CounterClient, Operations, RegisterClient, SetClient};
pub use completion::Completion;
pub use counter::{Counter, CounterGenerator};
pub use counter_op::COUNTER_KEY;
pub use mix::{Mix, Weights};
pub use op::Op;
pub use register::{Register, RegisterGenerator};
pub use register_op::RegisterOp;
pub use set::{Set, SetGenerator};
pub use set_op::SET_KEY;
pub use workload::{FinalPhase, Generator, Shape, Workload};

use clap::ValueEnum;
use serde::Serialize;

/// Which workload a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum WorkloadKind {
    /// Reads, writes and compare-and-sets on a few registers; checked for linearizability.
    Register,
    /// Adds of unique integers to one set, then a final read on every node; checked for lost
    /// and unexpected elements.
    Set,
    /// Adds of small deltas to one counter and reads, then a final read on every node; every
    /// read checked to lie within what may have been added (Jepsen's counter checker).
    Counter,
}

impl WorkloadKind {
    /// The workload itself: the one list of workloads.
    pub fn unit(self) -> &'static dyn Workload {
        match self {
            WorkloadKind::Register => &Register,
            WorkloadKind::Set => &Set,
            WorkloadKind::Counter => &Counter,
        }
    }

    /// The checker that judges a run of this workload.
    pub fn model(self) -> checker::ModelKind {
        self.unit().model()
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_parse_and_draw_their_operations() {
        assert!(WorkloadKind::from_str("queue", false).is_err());
        assert_eq!(WorkloadKind::Set.to_string(), "set");
        let set = WorkloadKind::from_str("set", false).unwrap().unit();
        let shape = Shape {
            seed: 1,
            keys: 3,
            ops_per_key: None,
            weights: None,
        };
        let mut draw = set.generator(&shape);
        // Reads come among the adds; the adds count up.
        let ops: Vec<Op> = (0..40)
            .map(|_| draw.next_op())
            .filter(|op| matches!(op, Op::Add(_)))
            .take(3)
            .collect();
        assert_eq!(ops, [Op::Add(0), Op::Add(1), Op::Add(2)]);
        assert_eq!(
            (ops[1].f(), ops[1].key(), ops[1].invoke_value()),
            ("add", SET_KEY, json!(1))
        );
        let mut reg = WorkloadKind::Register.unit().generator(&shape);
        assert!(matches!(reg.next_op(), Op::Register(k, _) if k.starts_with('k')));
    }

    #[test]
    fn each_workload_declares_its_checker_operations_and_end() {
        let register = WorkloadKind::Register.unit();
        assert_eq!(register.model(), checker::ModelKind::CasRegister);
        assert_eq!(register.needs(), [Operations::Register]);
        assert_eq!(register.final_phase(), FinalPhase::None);
        let set = WorkloadKind::Set.unit();
        assert_eq!(set.model(), checker::ModelKind::SetFull);
        assert_eq!(set.needs(), [Operations::Set]);
        let FinalPhase::ReadEveryNode(read) = set.final_phase() else {
            panic!("the set workload ends with final reads");
        };
        // The final read is recorded as the set's read: f, key and invocation as before.
        assert_eq!(
            (read.f(), read.key(), read.invoke_value()),
            ("read", SET_KEY, serde_json::Value::Null)
        );
    }
}
