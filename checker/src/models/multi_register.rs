//! Knossos's multi-register: several named registers, read and written together by one
//! operation that takes effect atomically.
//!
//! Jepsen writes each operation as a transaction of micro-operations, `:f :txn` with
//! `:value [[:read :x nil] [:write :y 2]]`; the `ok` completion carries what the reads saw:
//!
//! ```text
//!   txn [[:write :y 2]]                 |-----|ok                 y = 2
//!   txn [[:read :x nil] [:read :y nil]]    |------|ok [[:read :x 0] [:read :y 2]]
//!                                                  x and y read together: x 0, y 2
//! ```
//!
//! Also accepted, one register map per operation: `:f :read` whose `ok` value is the map of
//! registers to the values read, and `:f :write` whose value is the map of registers to write.
//!
//! Micro-operations apply in order, so a transaction may read its own write. Which operations
//! reach the search, as for the cas register: `ok` ones with their completion's value, and
//! `info` ones by their invocation's writes only (what an indeterminate read saw is unknown);
//! failed ones never happened. The initial value is a map of register to value (`{:x 0 :y 0}`);
//! a register it lacks, or every register when it is not a map, starts at that value (or null).

use crate::history::history_error::HistoryError;
use crate::models::history_model::{BadInitial, HistoryModel};
use crate::models::interner::{Interner, ValueId};
use crate::models::model::Model;
use crate::options::ModelKind;

use crate::explain::ties::{ByLabel, Ties};
use crate::history::operation::{Operation, Outcome};
use crate::search::wgl::Interval;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// One step of a multi-register operation, with registers and values interned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MicroOp {
    /// Register `register` held `value`.
    Read {
        /// The register's index.
        register: usize,
        /// The value read.
        value: ValueId,
    },
    /// Register `register` was set to `value`.
    Write {
        /// The register's index.
        register: usize,
        /// The value written.
        value: ValueId,
    },
}

/// Named registers holding JSON values, read and written atomically in groups.
#[derive(Debug, Clone)]
pub struct MultiRegister {
    /// Register names, in order of first appearance (the initial map's first). A register is
    /// named by a string, as JSON object keys are: `1` and `"1"` are one register.
    names: Vec<String>,
    registers: HashMap<String, usize>,
    values: Interner,
    /// The initial value of each register the initial map names, by register index.
    initial: Vec<ValueId>,
    /// The initial value of every other register.
    default: ValueId,
}

impl MultiRegister {
    /// Registers that hold `initial` (see the module docs) before any write.
    pub fn new(initial: &Value) -> Self {
        let mut values = Interner::new();
        let default = values.intern(if initial.is_object() {
            &Value::Null
        } else {
            initial
        });
        let mut m = MultiRegister {
            names: Vec::new(),
            registers: HashMap::new(),
            values,
            initial: Vec::new(),
            default,
        };
        if let Value::Object(map) = initial {
            for (name, v) in map {
                m.register(&Value::String(name.clone()));
                let v = m.values.intern(v);
                m.initial.push(v);
            }
        }
        m
    }

    /// The micro-operations the search must consider for `op`, or `None` if it cannot affect
    /// the outcome (failed, or an indeterminate operation that writes nothing).
    pub fn op(&mut self, op: &Operation) -> Result<Option<Vec<MicroOp>>, HistoryError> {
        let info = match op.outcome {
            Outcome::Fail { .. } => return Ok(None),
            Outcome::Info => true,
            Outcome::Ok => false,
        };
        // An ok operation's completion says what it did; an indeterminate one only its invocation.
        let value = if info { &op.value } else { &op.output };
        let malformed = |reason: String| HistoryError::MalformedValue {
            index: op.span.invoke_index,
            f: op.f.clone(),
            value: value.clone(),
            reason,
        };
        // (is a read, register, value)
        let steps: Vec<(bool, Value, &Value)> = match op.f.as_str() {
            "txn" => {
                let shape = || {
                    malformed(
                        "a txn value must be a list of [f register value] micro-operations, \
                         f read or write"
                            .into(),
                    )
                };
                let micro = value.as_array().ok_or_else(shape)?;
                micro
                    .iter()
                    .map(|m| match m.as_array().map(Vec::as_slice) {
                        Some([Value::String(f), register, value])
                            if f == "read" || f == "write" =>
                        {
                            Ok((f == "read", register.clone(), value))
                        }
                        _ => Err(shape()),
                    })
                    .collect::<Result<_, _>>()?
            }
            "read" | "write" => value
                .as_object()
                .ok_or_else(|| {
                    malformed(format!(
                        "a {} value must be a map of register to value",
                        op.f
                    ))
                })?
                .iter()
                .map(|(register, v)| (op.f == "read", Value::String(register.clone()), v))
                .collect(),
            _ => return Err(Self::KIND.unsupported(op)),
        };
        let mut micro = Vec::with_capacity(steps.len());
        for (read, register, v) in steps {
            if read && info {
                continue;
            }
            let register = self.register(&register);
            let value = self.values.intern(v);
            micro.push(if read {
                MicroOp::Read { register, value }
            } else {
                MicroOp::Write { register, value }
            });
        }
        Ok((!micro.is_empty() || !info).then_some(micro))
    }

    /// The index of a register, allocating one the first time it is named.
    fn register(&mut self, name: &Value) -> usize {
        let name = register_name(name);
        if let Some(&i) = self.registers.get(&name) {
            return i;
        }
        self.names.push(name.clone());
        self.registers.insert(name, self.names.len() - 1);
        self.names.len() - 1
    }

    /// The JSON value an interned id stands for.
    pub fn value(&self, id: ValueId) -> &Value {
        self.values.value(id)
    }
}

/// A register's name: a string is its own name, anything else its JSON text.
fn register_name(register: &Value) -> String {
    match register {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Model for MultiRegister {
    /// Each register's value, by register index.
    type State = Box<[ValueId]>;
    type Op = Vec<MicroOp>;

    fn observes_only(op: &Vec<MicroOp>) -> bool {
        op.iter().all(|m| matches!(m, MicroOp::Read { .. }))
    }

    fn init(&self) -> Box<[ValueId]> {
        (0..self.names.len())
            .map(|i| self.initial.get(i).copied().unwrap_or(self.default))
            .collect()
    }

    fn step(&self, state: &Box<[ValueId]>, op: &Vec<MicroOp>) -> Option<Box<[ValueId]>> {
        // A state from before a register was first named lacks it: it holds its initial value.
        let padded;
        let state = if state.len() < self.names.len() {
            let init = self.init();
            padded = state.iter().chain(&init[state.len()..]).copied().collect();
            &padded
        } else {
            state
        };
        let mut next: Option<Box<[ValueId]>> = None;
        for &m in op {
            let current = next.as_deref().unwrap_or(state);
            match m {
                MicroOp::Read { register, value } => {
                    if current[register] != value {
                        return None;
                    }
                }
                MicroOp::Write { register, value } => {
                    next.get_or_insert_with(|| state.clone())[register] = value;
                }
            }
        }
        Some(next.unwrap_or_else(|| state.clone()))
    }

    /// A transaction can come to succeed only if each register it reads before writing it
    /// holds the value read now or a pending transaction writes that value.
    fn may_become_legal(
        &self,
        state: &Box<[ValueId]>,
        op: &Vec<MicroOp>,
        updates: &mut dyn Iterator<Item = &Vec<MicroOp>>,
    ) -> bool {
        let held = |r: usize| {
            state
                .get(r)
                .or(self.initial.get(r))
                .copied()
                .unwrap_or(self.default)
        };
        let mut written = Vec::new();
        let mut needs = Vec::new();
        for &m in op {
            match m {
                MicroOp::Read { register, value }
                    if !written.contains(&register) && held(register) != value =>
                {
                    needs.push((register, value));
                }
                MicroOp::Read { .. } => {}
                MicroOp::Write { register, .. } => written.push(register),
            }
        }
        for u in updates {
            for m in u {
                if let MicroOp::Write { register, value } = *m {
                    needs.retain(|&n| n != (register, value));
                }
            }
        }
        needs.is_empty()
    }

    #[cfg(test)]
    fn describe(&self, op: &Vec<MicroOp>) -> String {
        let steps: Vec<String> = op
            .iter()
            .map(|m| match *m {
                MicroOp::Read { register, value } => {
                    format!("read {} {}", self.names[register], self.value(value))
                }
                MicroOp::Write { register, value } => {
                    format!("write {} {}", self.names[register], self.value(value))
                }
            })
            .collect();
        format!("txn [{}]", steps.join(", "))
    }

    fn describe_state(&self, state: &Box<[ValueId]>) -> String {
        let map: Map<String, Value> = self
            .names
            .iter()
            .zip(state.iter())
            .map(|(name, &v)| (name.clone(), self.value(v).clone()))
            .collect();
        Value::Object(map).to_string()
    }
}

/// Checked key by key by the per-key check (`key_check`), under the run's budget like every
/// other model.
impl HistoryModel for MultiRegister {
    const KIND: ModelKind = ModelKind::MultiRegister;
    const NOUN: &'static str = "register set";
    // An ok transaction is shown by its completion, which holds the values its reads saw.
    const OBSERVING: &'static [&'static str] = &["txn", "read"];

    fn from_initial(initial: &Value) -> Result<Self, BadInitial> {
        Ok(MultiRegister::new(initial))
    }

    /// An indeterminate transaction (its reads are unknown, so it only writes) none of whose
    /// final values any read saw in its register: every read after it would have.
    fn unobserved(&self, ops: &[Interval<Vec<MicroOp>>]) -> Vec<bool> {
        let seen: HashSet<(usize, ValueId)> = ops
            .iter()
            .flat_map(|i| &i.op)
            .filter_map(|m| match *m {
                MicroOp::Read { register, value } => Some((register, value)),
                MicroOp::Write { .. } => None,
            })
            .collect();
        ops.iter()
            .map(|i| {
                i.ret.is_none()
                    && !Self::observes_only(&i.op)
                    && i.op.iter().all(|m| matches!(m, MicroOp::Write { .. }))
                    && final_writes(&i.op).all(|w| !seen.contains(&w))
            })
            .collect()
    }

    /// A read of a register (before the transaction itself wrote it) needs every transaction
    /// that left the value read in that register. Any other write may go: in a linearization
    /// it is never the last write before a kept read of its register.
    fn ties(&self, ops: &[Vec<MicroOp>]) -> Ties {
        let writers = ByLabel::new(
            ops.iter()
                .enumerate()
                .flat_map(|(i, op)| final_writes(op).map(move |label| (label, i))),
        );
        let mut ties = Ties::none(ops.len());
        for (i, op) in ops.iter().enumerate() {
            let mut written = Vec::new();
            for m in op {
                match *m {
                    MicroOp::Write { register, .. } => written.push(register),
                    MicroOp::Read { register, value } if !written.contains(&register) => {
                        ties.need(i, writers.of(&(register, value)));
                    }
                    MicroOp::Read { .. } => {}
                }
            }
        }
        ties
    }

    fn op(&mut self, op: &Operation) -> Result<Option<Vec<MicroOp>>, HistoryError> {
        MultiRegister::op(self, op)
    }
}

/// What a transaction leaves in each register it writes: (register, its last write there).
fn final_writes(op: &[MicroOp]) -> impl Iterator<Item = (usize, ValueId)> {
    let mut last: HashMap<usize, ValueId> = HashMap::new();
    for m in op {
        if let MicroOp::Write { register, value } = *m {
            last.insert(register, value);
        }
    }
    last.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check_events;
    use crate::history::operation::pair;
    use crate::options::CheckOptions;
    use crate::options::ModelKind;
    use crate::testing::history_builder::*;
    use crate::validity::Validity;
    use serde_json::json;

    fn xy0() -> Value {
        json!({"x": 0, "y": 0})
    }

    /// The model's description of each operation's search form (`-` when dropped).
    fn described(
        model: &mut MultiRegister,
        events: Vec<crate::history::event::Event>,
    ) -> Vec<String> {
        pair(&history(events))
            .unwrap()
            .iter()
            .map(|op| match model.op(op).unwrap() {
                Some(micro) => model.describe(&micro),
                None => "-".into(),
            })
            .collect()
    }

    fn opts(initial: Value) -> CheckOptions {
        CheckOptions {
            model: ModelKind::MultiRegister,
            initial,
            ..CheckOptions::default()
        }
    }

    #[test]
    fn ok_ops_use_their_completion_and_info_ops_only_their_writes() {
        let mut m = MultiRegister::new(&xy0());
        let ops = described(
            &mut m,
            vec![
                invoke(0, 1, "txn", json!([["read", "x", null], ["write", "y", 2]])),
                ok(1, 1, "txn", json!([["read", "x", 0], ["write", "y", 2]])),
                invoke(2, 2, "txn", json!([["read", "x", null], ["write", "x", 5]])),
                info(3, 2, "txn", json!([["read", "x", null], ["write", "x", 5]])),
                invoke(4, 3, "txn", json!([["read", "y", null]])),
                info(5, 3, "txn", json!([["read", "y", null]])),
                invoke(6, 4, "txn", json!([["write", "y", 9]])),
                fail(7, 4, "txn", json!([["write", "y", 9]])),
                invoke(8, 5, "read", json!({"x": null, "y": null})),
                ok(9, 5, "read", json!({"x": 5, "y": 2})),
                invoke(10, 6, "write", json!({"z": 1})),
                ok(11, 6, "write", json!({"z": 1})),
            ],
        );
        assert_eq!(
            ops,
            [
                "txn [read x 0, write y 2]",
                "txn [write x 5]",
                "-",
                "-",
                "txn [read x 5, read y 2]",
                "txn [write z 1]",
            ]
        );
    }

    #[test]
    fn steps_apply_in_order_and_atomically() {
        let mut m = MultiRegister::new(&xy0());
        let ops = pair(&history([
            invoke(
                0,
                1,
                "txn",
                json!([["write", "x", 1], ["read", "x", 1], ["read", "y", 0]]),
            ),
            ok(
                1,
                1,
                "txn",
                json!([["write", "x", 1], ["read", "x", 1], ["read", "y", 0]]),
            ),
            invoke(2, 2, "txn", json!([["write", "y", 3], ["read", "x", 7]])),
            ok(3, 2, "txn", json!([["write", "y", 3], ["read", "x", 7]])),
        ]))
        .unwrap();
        let own_write = m.op(&ops[0]).unwrap().unwrap();
        let bad_read = m.op(&ops[1]).unwrap().unwrap();
        let s0 = m.init();
        assert_eq!(m.describe_state(&s0), r#"{"x":0,"y":0}"#);
        let s1 = m.step(&s0, &own_write).unwrap();
        assert_eq!(m.describe_state(&s1), r#"{"x":1,"y":0}"#);
        // The failing read undoes the write before it: nothing of the txn happens.
        assert_eq!(m.step(&s1, &bad_read), None);
        assert_eq!(m.describe_state(&s1), r#"{"x":1,"y":0}"#);
        // It reads x 7, which only a write of x 7 could make legal; its own write of y is no
        // help, nor a read of x 7.
        let seven = m.values.intern(&json!(7));
        let x = m.names.iter().position(|n| n == "x").unwrap();
        let write_x7 = vec![MicroOp::Write {
            register: x,
            value: seven,
        }];
        let pending =
            |ops: &[&Vec<MicroOp>]| m.may_become_legal(&s1, &bad_read, &mut ops.iter().copied());
        assert!(pending(&[&write_x7]));
        assert!(!pending(&[&bad_read, &own_write]));
    }

    #[test]
    fn initial_values_for_unnamed_registers() {
        let mut m = MultiRegister::new(&json!({"x": 0}));
        let ops = pair(&history([
            invoke(0, 1, "read", json!(null)),
            ok(1, 1, "read", json!({"w": null, "x": 0})),
        ]))
        .unwrap();
        m.op(&ops[0]).unwrap();
        assert_eq!(m.describe_state(&m.init()), r#"{"w":null,"x":0}"#);

        // A state from before `w` was named still steps: `w` holds its initial value.
        let before = MultiRegister::new(&json!({"x": 0})).init();
        let read_w = m.op(&ops[0]).unwrap().unwrap();
        assert_eq!(before.len(), 1);
        assert!(m.step(&before, &read_w).is_some());

        let mut every = MultiRegister::new(&json!(7));
        every.op(&ops[0]).unwrap();
        assert_eq!(every.describe_state(&every.init()), r#"{"w":7,"x":7}"#);
    }

    #[test]
    fn malformed_values_are_errors() {
        let mut m = MultiRegister::new(&xy0());
        let ops = pair(&history([
            invoke(0, 1, "txn", json!([["append", "x", 1]])),
            invoke(1, 2, "write", json!(3)),
            invoke(2, 3, "cas", json!([1, 2])),
        ]))
        .unwrap();
        assert_eq!(
            m.op(&ops[0]).unwrap_err().to_string(),
            r#"operation invoked at event 0: txn value [["append","x",1]] is malformed: a txn value must be a list of [f register value] micro-operations, f read or write"#
        );
        assert_eq!(
            m.op(&ops[1]).unwrap_err().to_string(),
            "operation invoked at event 1: write value 3 is malformed: a write value must be a \
             map of register to value"
        );
        assert_eq!(
            check_events(&history([invoke(0, 1, "cas", json!([1, 2]))]), &opts(xy0()))
                .unwrap_err()
                .to_string(),
            "operation invoked at event 0: f \"cas\" is not supported by the multi-register \
             model (it supports txn, read, write)"
        );
    }

    #[test]
    fn reads_of_two_registers_must_agree_with_one_moment() {
        //   p1 txn write x 1, y 1   |-----|
        //   p2 txn read x, y           |--|   sees x 1, y 0: half the write, never linearizable
        let torn = |x: i64, y: i64| {
            history([
                invoke(0, 1, "txn", json!([["write", "x", 1], ["write", "y", 1]])),
                invoke(
                    10,
                    2,
                    "txn",
                    json!([["read", "x", null], ["read", "y", null]]),
                ),
                ok(20, 2, "txn", json!([["read", "x", x], ["read", "y", y]])),
                ok(30, 1, "txn", json!([["write", "x", 1], ["write", "y", 1]])),
            ])
        };
        for (x, y) in [(0, 0), (1, 1)] {
            let report = check_events(&torn(x, y), &opts(xy0())).unwrap();
            assert_eq!(report.validity, Validity::Valid, "read {x} {y}");
        }
        let report = check_events(&torn(1, 0), &opts(xy0())).unwrap();
        assert_eq!(report.validity, Validity::Invalid);
        let anomaly = report.keys[0].anomaly.as_ref().unwrap();
        assert_eq!(anomaly.longest_prefix, 1);
        assert_eq!(
            anomaly.message,
            r#"no linearization of the register set: the longest consistent order covers 1 of 2 operations, after which the register set is {"x":1,"y":1}; none of these can take effect next: txn [["read","x",1],["read","y",0]] by process 2 (invoked 0.010 s, ok at 0.020 s)"#
        );
    }

    #[test]
    fn memory_limit_applies_as_to_every_model() {
        // A multi-register used to run its own search without the budget, ignoring the limit.
        let events = history([
            invoke(0, 1, "txn", json!([["write", "x", 1]])),
            invoke(1, 2, "txn", json!([["read", "x", null]])),
            ok(2, 1, "txn", json!([["write", "x", 1]])),
            ok(3, 2, "txn", json!([["read", "x", 1]])),
        ]);
        let capped = CheckOptions {
            memory_limit: Some(1),
            ..opts(xy0())
        };
        let report = check_events(&events, &capped).unwrap();
        assert_eq!(report.validity, Validity::Unknown);
        let reason = report.keys[0].reason.as_deref().unwrap_or_default();
        assert!(reason.starts_with("memory limit of"), "{reason}");
        assert_eq!(
            check_events(&events, &opts(xy0())).unwrap().validity,
            Validity::Valid
        );
    }

    #[test]
    fn past_deadline_is_unknown() {
        let events = history([
            invoke(0, 1, "txn", json!([["write", "x", 1]])),
            ok(1, 1, "txn", json!([["write", "x", 1]])),
        ]);
        let report = check_events(
            &events,
            &CheckOptions {
                timeout: Some(std::time::Duration::ZERO),
                ..opts(xy0())
            },
        )
        .unwrap();
        assert_eq!(report.validity, Validity::Unknown);
        assert_eq!(
            report.keys[0].reason.as_deref(),
            Some("the search did not finish within the 0ns timeout")
        );
    }
}
