//! The register and compare-and-set register models.
//!
//! One model serves both: a `register` history simply contains no `cas`. Values are JSON,
//! interned per key so the state is a small integer.
//!
//! ```text
//!   write 1    |--|                       state 1
//!   cas 1 2         |--|                  state 2 (compare matched)
//!   cas 7 3              |--|fail         cas-mismatch: observed a value other than 7
//!   cas 1 3              |--|fail         any other failure: never happened, dropped
//!   read → 2                  |--|        ok: must return exactly the current value
//! ```
//!
//! Which operations reach the search: `ok` ones, `info` writes and cas (which, if they are
//! linearized at all, take effect as if they had succeeded), and, unless told otherwise
//! ([`FailedCas`]), a cas that failed with error `cas-mismatch`: it changed nothing but was
//! evaluated, so it must be linearized where the value differed from its expected one. Other
//! failed operations certainly did not happen and indeterminate reads change nothing, so both
//! are dropped.

use crate::explain::explainer::Explainer;
use crate::explain::register_witness::RegisterWitness;
use crate::explain::stale::{stale_reads, StaleRead};
use crate::history::event::CAS_MISMATCH;
use crate::history::failed_cas::FailedCas;
use crate::history::history_error::HistoryError;
use crate::history::operation::{Operation, Outcome};
use crate::models::history_model::{BadInitial, Early, HistoryModel, Proof};
use crate::models::interner::{Interner, ValueId};
use crate::models::model::Model;
use crate::models::register_op::{cas_arguments, RegisterOp};
use crate::options::{CheckOptions, ModelKind};
use crate::search::unique::{self, Decision, Violation};
use crate::search::wgl::Interval;
use serde_json::Value;

/// A single register holding a JSON value, with read, write and compare-and-set.
#[derive(Debug, Clone)]
pub struct CasRegister {
    values: Interner,
    initial: ValueId,
    failed_cas: FailedCas,
}

impl CasRegister {
    /// A register that holds `initial` before any write (Jepsen's registers start at null),
    /// keeping failed cas that report a mismatch as observations.
    pub fn new(initial: &Value) -> Self {
        let mut values = Interner::new();
        let initial = values.intern(initial);
        CasRegister {
            values,
            initial,
            failed_cas: FailedCas::default(),
        }
    }

    /// The same register, treating failed cas as `failed_cas` says.
    pub fn with_failed_cas(mut self, failed_cas: FailedCas) -> Self {
        self.failed_cas = failed_cas;
        self
    }

    /// The operation the search must consider for `op`, or `None` if it cannot affect the
    /// outcome (a failed operation that observed nothing, an indeterminate read).
    pub fn op(&mut self, op: &Operation) -> Result<Option<RegisterOp>, HistoryError> {
        if let Outcome::Fail { error } = &op.outcome {
            let mismatch = op.f == "cas" && error.as_deref() == Some(CAS_MISMATCH);
            if !mismatch || self.failed_cas == FailedCas::Dropped {
                return Ok(None);
            }
            let (expected, _) = cas_arguments(op)?;
            return Ok(Some(RegisterOp::CasMismatch(self.values.intern(expected))));
        }
        let info = op.outcome == Outcome::Info;
        Ok(Some(match op.f.as_str() {
            "read" if info => return Ok(None),
            "read" => RegisterOp::Read(self.values.intern(&op.output)),
            "write" => RegisterOp::Write(self.values.intern(&op.value)),
            "cas" => {
                let (expected, new) = cas_arguments(op)?;
                RegisterOp::Cas {
                    expected: self.values.intern(expected),
                    new: self.values.intern(new),
                }
            }
            _ => return Err(ModelKind::CasRegister.unsupported(op)),
        }))
    }

    /// The JSON value an interned id stands for.
    pub fn value(&self, id: ValueId) -> &Value {
        self.values.value(id)
    }
}

impl Model for CasRegister {
    type State = ValueId;
    type Op = RegisterOp;

    fn observes_only(op: &RegisterOp) -> bool {
        matches!(op, RegisterOp::Read(_) | RegisterOp::CasMismatch(_))
    }

    /// Reads and written values only: which writes are pending, not how many.
    const UPDATES_AS_SET: bool = true;

    fn init(&self) -> ValueId {
        self.initial
    }

    /// A read in its value, a cas in its expected one.
    fn applies_only_in(&self, op: &RegisterOp) -> Option<ValueId> {
        op.observed()
    }

    /// A write; a read or cas that can come to succeed needs only some write of its value.
    fn overwrites(&self, op: &RegisterOp) -> Option<ValueId> {
        match *op {
            RegisterOp::Write(v) => Some(v),
            _ => None,
        }
    }

    fn step(&self, state: &ValueId, op: &RegisterOp) -> Option<ValueId> {
        match *op {
            RegisterOp::Read(v) => (v == *state).then_some(*state),
            RegisterOp::Write(v) => Some(v),
            RegisterOp::Cas { expected, new } => (expected == *state).then_some(new),
            RegisterOp::CasMismatch(expected) => (expected != *state).then_some(*state),
        }
    }

    /// A read or a cas can come to succeed only after a write of the value it needs; a failed
    /// cas only after a write of another value.
    fn may_become_legal(
        &self,
        _state: &ValueId,
        op: &RegisterOp,
        updates: &mut dyn Iterator<Item = &RegisterOp>,
    ) -> bool {
        let mut written = updates.filter_map(RegisterOp::wrote);
        match *op {
            RegisterOp::Read(v) | RegisterOp::Cas { expected: v, .. } => written.any(|w| w == v),
            RegisterOp::CasMismatch(v) => written.any(|w| w != v),
            RegisterOp::Write(_) => true,
        }
    }

    #[cfg(test)]
    fn describe(&self, op: &RegisterOp) -> String {
        match *op {
            RegisterOp::Read(v) => format!("read {}", self.value(v)),
            RegisterOp::Write(v) => format!("write {}", self.value(v)),
            RegisterOp::Cas { expected, new } => {
                format!("cas {} -> {}", self.value(expected), self.value(new))
            }
            RegisterOp::CasMismatch(expected) => {
                format!("failed cas (the value was not {})", self.value(expected))
            }
        }
    }

    fn describe_state(&self, state: &ValueId) -> String {
        self.value(*state).to_string()
    }
}

/// The register in the per-key check: its unique-value fast path decides before the search,
/// its stale reads explain an invalid key, and its sources rule its witnesses.
impl HistoryModel for CasRegister {
    const KIND: ModelKind = ModelKind::CasRegister;
    const NOUN: &'static str = "register";
    const OBSERVING: &'static [&'static str] = &["read"];
    /// Not probed: a register key the fast path leaves to the search is searched whole, as
    /// before probes existed, so its reports name the longest consistent order.
    const PROBES: bool = false;

    fn from_initial(initial: &Value) -> Result<Self, BadInitial> {
        Ok(CasRegister::new(initial))
    }

    fn for_check(opts: &CheckOptions) -> Result<Self, BadInitial> {
        Ok(CasRegister::new(&opts.initial).with_failed_cas(opts.failed_cas))
    }

    fn op(&mut self, op: &Operation) -> Result<Option<RegisterOp>, HistoryError> {
        CasRegister::op(self, op)
    }

    /// Keys whose written values are unique are decided in O(n log n) ([`unique`]).
    fn decide_first(&self, ops: &[Interval<RegisterOp>]) -> Option<Early> {
        Some(match unique::decide(self.initial, ops)? {
            Decision::Linearizable => Early::Linearizable,
            Decision::NotLinearizable(violation) => Early::NotLinearizable(Box::new(violation)),
        })
    }

    fn leaves(&self, state: &ValueId) -> String {
        format!(" and leaves the value {}", self.value(*state))
    }

    fn stale_reads(&self, key: &Value, ops: &[&Operation]) -> Vec<StaleRead> {
        stale_reads(key, ops, self.value(self.initial))
    }

    fn explainer<'a>(
        &'a self,
        key: &'a Value,
        ops: &'a [Interval<RegisterOp>],
    ) -> Box<dyn Explainer + 'a> {
        Box::new(RegisterWitness::new(key, self.initial, ops))
    }
}

impl Proof for Violation {
    fn operations(&self) -> Vec<usize> {
        Violation::operations(self)
    }

    fn describe(&self, name: &dyn Fn(usize) -> String) -> String {
        Violation::describe(self, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::operation::pair;
    use crate::testing::history_builder::*;
    use serde_json::json;

    /// The register operations the search sees for a history, as descriptions.
    fn search_ops(
        model: &mut CasRegister,
        events: Vec<crate::history::event::Event>,
    ) -> Vec<String> {
        let ops: Vec<RegisterOp> = pair(&history(events))
            .unwrap()
            .iter()
            .filter_map(|op| model.op(op).unwrap())
            .collect();
        ops.iter().map(|op| model.describe(op)).collect()
    }

    #[test]
    fn steps_follow_register_semantics() {
        let mut m = CasRegister::new(&json!(null));
        let mut op = |f: &str, value: Value, output: Value| {
            let events = vec![invoke(0, 1, f, value), ok(1, 1, f, output)];
            let ops = pair(&history(events)).unwrap();
            m.op(&ops[0]).unwrap().unwrap()
        };
        let read_null = op("read", json!(null), json!(null));
        let read_1 = op("read", json!(null), json!(1));
        let write_1 = op("write", json!(1), json!(1));
        let cas_1_2 = op("cas", json!([1, 2]), json!([1, 2]));

        let s0 = m.init();
        assert_eq!(m.step(&s0, &read_null), Some(s0));
        assert_eq!(m.step(&s0, &read_1), None);
        assert_eq!(m.step(&s0, &cas_1_2), None);
        // Reading 1, or swapping it, needs a write of 1 still to come.
        for needs_1 in [read_1, cas_1_2] {
            assert!(m.may_become_legal(&s0, &needs_1, &mut [read_1, write_1].iter()));
            assert!(!m.may_become_legal(&s0, &needs_1, &mut [read_1, cas_1_2].iter()));
        }
        let s1 = m.step(&s0, &write_1).unwrap();
        assert_eq!(m.describe_state(&s1), "1");
        assert_eq!(m.step(&s1, &read_1), Some(s1));
        let s2 = m.step(&s1, &cas_1_2).unwrap();
        assert_eq!(m.describe_state(&s2), "2");
        assert_eq!(m.step(&s2, &read_1), None);
    }

    #[test]
    fn initial_value_is_the_first_state() {
        let m = CasRegister::new(&json!("start"));
        assert_eq!(m.describe_state(&m.init()), r#""start""#);
    }

    #[test]
    fn failed_ops_and_indeterminate_reads_are_dropped_but_mismatches_kept() {
        let mut m = CasRegister::new(&json!(null));
        let described = search_ops(
            &mut m,
            vec![
                invoke(0, 1, "write", json!(1)),
                fail(1, 1, "write", json!(1)),
                invoke(2, 2, "read", json!(null)),
                info(3, 2, "read", json!(null)),
                invoke(4, 3, "cas", json!([1, 2])),
                with_error("cas-mismatch", fail(5, 3, "cas", json!([1, 2]))),
                invoke(6, 4, "write", json!(5)),
                info(7, 4, "write", json!(5)),
                invoke(8, 5, "cas", json!([5, 6])),
                invoke(9, 6, "read", json!(null)),
                ok(10, 6, "read", json!(5)),
            ],
        );
        assert_eq!(
            described,
            [
                "failed cas (the value was not 1)",
                "write 5",
                "cas 5 -> 6",
                "read 5"
            ]
        );
    }

    #[test]
    fn a_mismatch_observes_another_value_and_changes_nothing() {
        let mut m = CasRegister::new(&json!(null));
        let ops = pair(&history([
            invoke(0, 1, "cas", json!([1, 2])),
            with_error(CAS_MISMATCH, fail(1, 1, "cas", json!([1, 2]))),
            invoke(2, 1, "write", json!(1)),
            ok(3, 1, "write", json!(1)),
        ]))
        .unwrap();
        let mismatch = m.op(&ops[0]).unwrap().unwrap();
        let write_1 = m.op(&ops[1]).unwrap().unwrap();
        let s0 = m.init();
        assert_eq!(m.step(&s0, &mismatch), Some(s0));
        let s1 = m.step(&s0, &write_1).unwrap();
        assert_eq!(m.step(&s1, &mismatch), None);

        let mut dropped = CasRegister::new(&json!(null)).with_failed_cas(FailedCas::Dropped);
        assert_eq!(dropped.op(&ops[0]).unwrap(), None);
    }

    #[test]
    fn malformed_cas_and_unknown_functions_are_errors() {
        let mut m = CasRegister::new(&json!(null));
        let ops = pair(&history([
            invoke(0, 1, "cas", json!(3)),
            invoke(1, 2, "append", json!(3)),
        ]))
        .unwrap();
        assert_eq!(
            m.op(&ops[0]).unwrap_err().to_string(),
            "operation invoked at event 0: cas value 3 is malformed: a cas value must be [expected, new]"
        );
        assert_eq!(
            m.op(&ops[1]).unwrap_err().to_string(),
            "operation invoked at event 1: f \"append\" is not supported by the cas-register model \
             (it supports read, write, cas)"
        );
    }
}
