//! The set model: `add` puts an element in, `read` returns the whole set.
//!
//! ```text
//!   add 1        |--|                 {1}
//!   add 2            |------|         {1, 2}
//!   read → [1]         |--|           ok: before add 2 took effect
//!   read → [2, 1]              |--|   ok: order within a read does not matter
//!   read → [2]                   |--| invalid: 1 was added and never removed
//! ```
//!
//! A read observes every element at once, so a set cannot be split into one object per
//! element: its state is the whole set (keep histories small). Different keys are different
//! sets and are checked apart. A read's value is a JSON array; duplicates in it count once.
//! Elements are JSON values, interned, so the state is a sorted list of small integers.
//!
//! Which operations reach the search: `ok` ones, and `info` adds (which may take effect at any
//! time after their invocation, or never). Failed adds and indeterminate reads are dropped.

use crate::explain::ties::{ByLabel, Ties};
use crate::history::history_error::HistoryError;
use crate::history::operation::{Operation, Outcome};
use crate::models::history_model::{BadInitial, HistoryModel};
use crate::models::interner::{Interner, ValueId};
use crate::models::model::Model;
use crate::options::ModelKind;
use crate::search::partition::compare_keys;
use crate::search::wgl::Interval;
use serde_json::Value;

/// One set operation, with elements interned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SetOp {
    /// An add of this element.
    Add(ValueId),
    /// A read that returned exactly these elements (sorted, without duplicates).
    Read(Box<[ValueId]>),
}

/// A set of JSON values.
#[derive(Debug, Clone)]
pub struct Set {
    elements: Interner,
    initial: Box<[ValueId]>,
}

impl Set {
    /// A set holding `initial`'s elements before any add.
    pub fn new(initial: &[Value]) -> Self {
        let mut set = Set {
            elements: Interner::new(),
            initial: Box::new([]),
        };
        set.initial = set.intern_all(initial);
        set
    }

    /// The ids of `elements`, sorted and without duplicates.
    fn intern_all(&mut self, elements: &[Value]) -> Box<[ValueId]> {
        let mut ids: Vec<ValueId> = elements.iter().map(|e| self.elements.intern(e)).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_boxed_slice()
    }
}

impl HistoryModel for Set {
    const KIND: ModelKind = ModelKind::Set;
    const NOUN: &'static str = "set";
    const OBSERVING: &'static [&'static str] = &["read"];

    fn from_initial(initial: &Value) -> Result<Self, BadInitial> {
        match initial {
            Value::Null => Ok(Set::new(&[])),
            Value::Array(elements) => Ok(Set::new(elements)),
            other => Err(BadInitial {
                model: Self::KIND.name(),
                value: other.clone(),
                expected: "an array of elements",
            }),
        }
    }

    /// An indeterminate add of an element no read returned: every read after it would have.
    fn unobserved(&self, ops: &[Interval<SetOp>]) -> Vec<bool> {
        let mut seen: Vec<ValueId> = ops
            .iter()
            .filter_map(|i| match &i.op {
                SetOp::Read(elements) => Some(elements.iter().copied()),
                SetOp::Add(_) => None,
            })
            .flatten()
            .collect();
        seen.sort_unstable();
        seen.dedup();
        ops.iter()
            .map(|i| match i.op {
                SetOp::Add(e) => i.ret.is_none() && seen.binary_search(&e).is_err(),
                SetOp::Read(_) => false,
            })
            .collect()
    }

    /// A read needs every add of each element it returned. Any other add may go: in a
    /// linearization it comes after every kept read that lacks its element.
    fn ties(&self, ops: &[SetOp]) -> Ties {
        let adds = ByLabel::new(ops.iter().enumerate().filter_map(|(i, op)| match op {
            SetOp::Add(e) => Some((*e, i)),
            SetOp::Read(_) => None,
        }));
        let mut ties = Ties::none(ops.len());
        for (i, op) in ops.iter().enumerate() {
            if let SetOp::Read(seen) = op {
                ties.need(i, seen.iter().flat_map(|e| adds.of(e)));
            }
        }
        ties
    }

    fn op(&mut self, op: &Operation) -> Result<Option<SetOp>, HistoryError> {
        let info = match op.outcome {
            Outcome::Fail { .. } => return Ok(None),
            Outcome::Info => true,
            Outcome::Ok => false,
        };
        Ok(Some(match op.f.as_str() {
            "read" if info => return Ok(None),
            "read" => match &op.output {
                Value::Array(elements) => SetOp::Read(self.intern_all(elements)),
                other => {
                    return Err(HistoryError::MalformedValue {
                        index: op.span.invoke_index,
                        f: op.f.clone(),
                        value: other.clone(),
                        reason: "a set read must return an array of elements".into(),
                    })
                }
            },
            "add" => SetOp::Add(self.elements.intern(&op.value)),
            _ => return Err(Self::KIND.unsupported(op)),
        }))
    }
}

impl Model for Set {
    /// The elements' ids, sorted.
    type State = Box<[ValueId]>;
    type Op = SetOp;

    fn observes_only(op: &SetOp) -> bool {
        matches!(op, SetOp::Read(_))
    }

    fn init(&self) -> Box<[ValueId]> {
        self.initial.clone()
    }

    fn step(&self, state: &Box<[ValueId]>, op: &SetOp) -> Option<Box<[ValueId]>> {
        match op {
            SetOp::Read(seen) => (seen == state).then(|| state.clone()),
            SetOp::Add(e) => Some(match state.binary_search(e) {
                Ok(_) => state.clone(),
                Err(at) => {
                    let mut next = Vec::with_capacity(state.len() + 1);
                    next.extend_from_slice(&state[..at]);
                    next.push(*e);
                    next.extend_from_slice(&state[at..]);
                    next.into_boxed_slice()
                }
            }),
        }
    }

    fn legal(&self, state: &Box<[ValueId]>, op: &SetOp) -> bool {
        match op {
            SetOp::Read(seen) => seen == state,
            SetOp::Add(_) => true,
        }
    }

    /// A set only grows: a read can come to succeed only if it holds every element the set
    /// holds now, and pending adds could add the rest.
    fn may_become_legal(
        &self,
        state: &Box<[ValueId]>,
        op: &SetOp,
        updates: &mut dyn Iterator<Item = &SetOp>,
    ) -> bool {
        let SetOp::Read(seen) = op else { return true };
        if state.iter().any(|e| seen.binary_search(e).is_err()) {
            return false;
        }
        let mut missing: Vec<ValueId> = seen
            .iter()
            .filter(|e| state.binary_search(e).is_err())
            .copied()
            .collect();
        for u in updates {
            if let SetOp::Add(e) = u {
                missing.retain(|m| m != e);
            }
        }
        missing.is_empty()
    }

    #[cfg(test)]
    fn describe(&self, op: &SetOp) -> String {
        match op {
            SetOp::Add(e) => format!("add {}", self.elements.value(*e)),
            SetOp::Read(seen) => format!("read {}", self.describe_state(seen)),
        }
    }

    /// The elements as a JSON array, in [`compare_keys`] order.
    fn describe_state(&self, state: &Box<[ValueId]>) -> String {
        let mut elements: Vec<Value> = state
            .iter()
            .map(|&e| self.elements.value(e).clone())
            .collect();
        elements.sort_by(compare_keys);
        Value::Array(elements).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check_events;
    use crate::history::event::Event;
    use crate::history::operation::pair;
    use crate::options::{CheckOptions, ModelKind};
    use crate::testing::history_builder::*;
    use crate::validity::Validity;
    use serde_json::json;

    fn set(initial: Value) -> CheckOptions {
        options(ModelKind::Set, initial)
    }

    fn validity(events: Vec<Event>) -> Validity {
        verdict(ModelKind::Set, events)
    }

    fn add(ms: u64, p: u64, e: i64) -> Vec<Event> {
        done(ms, p, "add", json!(e), json!(e))
    }

    fn read(ms: u64, p: u64, seen: Value) -> Vec<Event> {
        done(ms, p, "read", json!(null), seen)
    }

    #[test]
    fn an_indeterminate_add_no_read_returned_is_left_out() {
        let mut events = add(0, 1, 1);
        events.extend([invoke(5, 2, "add", json!(9)), info(15, 2, "add", json!(9))]);
        events.extend(read(20, 3, json!([])));
        let lost = report(ModelKind::Set, events);
        assert_eq!(lost.validity, Validity::Invalid);
        let anomaly = lost.keys[0].anomaly.as_ref().unwrap();
        assert_eq!(anomaly.left_out, 1);
        assert!(
            anomaly
                .message
                .contains("(and 1 indeterminate update that no observation shows, left out)"),
            "{}",
            anomaly.message
        );
        assert!(
            lost.to_string()
                .contains("(1 unobserved indeterminate updates left out)"),
            "{lost}"
        );
        // An indeterminate add some read returned stays in.
        let mut seen = add(0, 1, 1);
        seen.extend([invoke(5, 2, "add", json!(9)), info(15, 2, "add", json!(9))]);
        seen.extend(read(20, 3, json!([9])));
        let kept = report(ModelKind::Set, seen);
        assert_eq!(kept.keys[0].anomaly.as_ref().unwrap().left_out, 0);
    }

    #[test]
    fn steps_follow_set_semantics() {
        let mut m = Set::new(&[json!(1)]);
        let ops = pair(&history(
            [add(0, 1, 2), read(20, 1, json!([2, 1, 2])), add(40, 1, 1)].concat(),
        ))
        .unwrap();
        let [add_2, read_12, add_1] = [0, 1, 2].map(|i| m.op(&ops[i]).unwrap().unwrap());
        let s0 = m.init();
        assert_eq!(m.describe_state(&s0), "[1]");
        assert_eq!(m.step(&s0, &read_12), None);
        // Read [1,2] needs an add of 2 still to come; read [1] is past once 2 is in.
        assert!(!m.legal(&s0, &read_12));
        assert!(m.may_become_legal(&s0, &read_12, &mut [&add_1, &add_2].into_iter()));
        assert!(!m.may_become_legal(&s0, &read_12, &mut [&add_1].into_iter()));
        let s1 = m.step(&s0, &add_2).unwrap();
        let read_1 = SetOp::Read(s0.clone());
        assert!(!m.may_become_legal(&s1, &read_1, &mut [&add_1].into_iter()));
        assert_eq!(m.step(&s1, &read_12), Some(s1.clone()));
        // Adding an element already there changes nothing.
        assert_eq!(m.step(&s1, &add_1), Some(s1.clone()));
        assert_eq!(m.describe(&read_12), "read [1,2]");
        assert_eq!(m.describe(&add_2), "add 2");
    }

    #[test]
    fn a_read_concurrent_with_adds_sees_any_consistent_subset() {
        //   p1 add 1  |-----------|
        //   p2 add 2    |-----------|
        //   p3 read        |--|
        let history = |seen: Value| {
            vec![
                invoke(0, 1, "add", json!(1)),
                invoke(5, 2, "add", json!(2)),
                invoke(10, 3, "read", json!(null)),
                ok(20, 3, "read", seen),
                ok(30, 1, "add", json!(1)),
                ok(35, 2, "add", json!(2)),
            ]
        };
        for seen in [json!([]), json!([1]), json!([2]), json!([2, 1])] {
            assert_eq!(validity(history(seen.clone())), Validity::Valid, "{seen}");
        }
        assert_eq!(validity(history(json!([3]))), Validity::Invalid);
    }

    #[test]
    fn two_reads_that_saw_the_adds_in_opposite_orders_are_invalid() {
        //   p1 add 1  |-------------------|
        //   p2 add 2  |-------------------|
        //   p3 read → [1]  |--|
        //   p4 read → [2]  |--|          no single order of the adds explains both
        let h = vec![
            invoke(0, 1, "add", json!(1)),
            invoke(1, 2, "add", json!(2)),
            invoke(10, 3, "read", json!(null)),
            invoke(11, 4, "read", json!(null)),
            ok(20, 3, "read", json!([1])),
            ok(21, 4, "read", json!([2])),
            ok(30, 1, "add", json!(1)),
            ok(31, 2, "add", json!(2)),
        ];
        let report = check_events(&history(h), &set(Value::Null)).unwrap();
        assert_eq!(report.validity, Validity::Invalid);
        let anomaly = report.keys[0].anomaly.as_ref().unwrap();
        // add 1, read → [1], add 2: then read → [2] cannot follow.
        assert_eq!(anomaly.longest_prefix, 3);
        assert!(anomaly.message.starts_with(
            "no linearization of the set: the longest consistent order covers 3 of 4 operations"
        ));
    }

    #[test]
    fn losing_an_acknowledged_element_is_invalid() {
        let h = [
            add(0, 1, 1),
            read(20, 2, json!([1])),
            read(40, 2, json!([])),
        ]
        .concat();
        assert_eq!(validity(h), Validity::Invalid);
    }

    #[test]
    fn indeterminate_adds_are_optional_and_failed_ones_never_happened() {
        let attempt = |outcome: fn(u64, u64, &str, Value) -> Event| {
            vec![
                invoke(0, 1, "add", json!(1)),
                outcome(10, 1, "add", json!(1)),
            ]
        };
        let seen = |v: Value| read(20, 2, v);
        assert_eq!(
            validity([attempt(info), seen(json!([]))].concat()),
            Validity::Valid
        );
        assert_eq!(
            validity([attempt(info), seen(json!([1]))].concat()),
            Validity::Valid
        );
        assert_eq!(
            validity([attempt(fail), seen(json!([1]))].concat()),
            Validity::Invalid
        );
        // Once seen, an indeterminate add stays.
        let late = [attempt(info), seen(json!([1])), read(40, 2, json!([]))].concat();
        assert_eq!(validity(late), Validity::Invalid);
    }

    #[test]
    fn initial_elements_and_malformed_reads() {
        let h = history(read(0, 1, json!(["a"])));
        assert_eq!(
            check_events(&h, &set(json!(["a"]))).unwrap().validity,
            Validity::Valid
        );
        assert_eq!(
            Set::from_initial(&json!({"a": 1})).unwrap_err().to_string(),
            r#"the set model cannot start from {"a":1}: the initial value must be an array of elements"#
        );
        let h = history(read(0, 1, json!(1)));
        assert_eq!(
            check_events(&h, &set(Value::Null)).unwrap_err().to_string(),
            "operation invoked at event 0: read value 1 is malformed: a set read must return an \
             array of elements"
        );
    }
}
