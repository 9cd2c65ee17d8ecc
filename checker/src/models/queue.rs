//! The FIFO queue model: `enqueue` appends an element, `dequeue` removes and returns the oldest.
//!
//! ```text
//!   enqueue 1    |--|                   [1]
//!   enqueue 2        |--|               [1, 2]
//!   dequeue → 1           |--|          [2]
//!   dequeue → 2               |--|      []
//!   dequeue → null                |--|  ok: the queue was empty
//! ```
//!
//! A dequeue's `ok` value is the element it removed, or null when the queue was empty (so null
//! cannot be enqueued). Elements are JSON values, interned; duplicates are allowed. Different
//! keys are different queues. The queue starts empty unless `--initial` gives an array (oldest
//! first).
//!
//! Which operations reach the search: `ok` ones; `info` enqueues, which may take effect at any
//! time after their invocation, or never; and `info` dequeues, which may likewise have removed
//! whatever element was oldest when they took effect (we do not know what they returned, but
//! leaving them out would wrongly insist that element is still there). Failed operations
//! certainly did not happen and are dropped.

use crate::explain::ties::{ByLabel, Ties};
use crate::history::history_error::HistoryError;
use crate::history::operation::{Operation, Outcome};
use crate::models::history_model::{BadInitial, HistoryModel};
use crate::models::interner::{Interner, ValueId};
use crate::models::model::Model;
use crate::options::ModelKind;
use serde_json::Value;

/// One queue operation, with elements interned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueOp {
    /// An enqueue of this element.
    Enqueue(ValueId),
    /// A dequeue that returned this element.
    Dequeue(ValueId),
    /// A dequeue that found the queue empty.
    DequeueEmpty,
    /// An indeterminate dequeue: it removed the oldest element, if there was one.
    DequeueUnknown,
}

/// A FIFO queue of JSON values.
#[derive(Debug, Clone)]
pub struct Queue {
    elements: Interner,
    initial: Vec<ValueId>,
}

impl Queue {
    /// A queue holding `initial`, oldest first, before any enqueue. Null elements are not
    /// allowed (see the module docs); [`HistoryModel::from_initial`] rejects them.
    pub fn new(initial: &[Value]) -> Self {
        let mut elements = Interner::new();
        let initial = initial.iter().map(|e| elements.intern(e)).collect();
        Queue { elements, initial }
    }
}

impl HistoryModel for Queue {
    const KIND: ModelKind = ModelKind::Queue;
    const NOUN: &'static str = "queue";
    const OBSERVING: &'static [&'static str] = &["dequeue"];

    fn from_initial(initial: &Value) -> Result<Self, BadInitial> {
        match initial {
            Value::Null => Ok(Queue::new(&[])),
            Value::Array(elements) if !elements.contains(&Value::Null) => Ok(Queue::new(elements)),
            other => Err(BadInitial {
                model: Self::KIND.name(),
                value: other.clone(),
                expected: "an array of non-null elements, oldest first",
            }),
        }
    }

    /// An element's enqueues and the dequeues that returned it go together: deleting all of
    /// them from a FIFO run leaves every other dequeue's head where it was. An indeterminate
    /// dequeue removed whatever was oldest, and a dequeue of an initial element has no enqueue
    /// to go with: then every update stays.
    fn ties(&self, ops: &[QueueOp]) -> Ties {
        if !self.initial.is_empty() || ops.contains(&QueueOp::DequeueUnknown) {
            return Ties::pin_updates(ops, Self::observes_only);
        }
        let by_element = ByLabel::new(ops.iter().enumerate().filter_map(|(i, op)| match *op {
            QueueOp::Enqueue(e) | QueueOp::Dequeue(e) => Some((e, i)),
            QueueOp::DequeueEmpty | QueueOp::DequeueUnknown => None,
        }));
        let mut ties = Ties::none(ops.len());
        for (i, op) in ops.iter().enumerate() {
            if let QueueOp::Enqueue(e) | QueueOp::Dequeue(e) = *op {
                ties.need(i, by_element.of(&e));
            }
        }
        ties
    }

    fn op(&mut self, op: &Operation) -> Result<Option<QueueOp>, HistoryError> {
        let info = match op.outcome {
            Outcome::Fail { .. } => return Ok(None),
            Outcome::Info => true,
            Outcome::Ok => false,
        };
        Ok(Some(match op.f.as_str() {
            "dequeue" if info => QueueOp::DequeueUnknown,
            "dequeue" if op.output.is_null() => QueueOp::DequeueEmpty,
            "dequeue" => QueueOp::Dequeue(self.elements.intern(&op.output)),
            "enqueue" if op.value.is_null() => {
                return Err(HistoryError::MalformedValue {
                    index: op.span.invoke_index,
                    f: op.f.clone(),
                    value: Value::Null,
                    reason: "null cannot be enqueued: a dequeue of null means the queue was empty"
                        .into(),
                })
            }
            "enqueue" => QueueOp::Enqueue(self.elements.intern(&op.value)),
            _ => return Err(Self::KIND.unsupported(op)),
        }))
    }
}

impl Model for Queue {
    /// The elements' ids, oldest first.
    type State = Vec<ValueId>;
    type Op = QueueOp;

    fn observes_only(op: &QueueOp) -> bool {
        matches!(op, QueueOp::DequeueEmpty)
    }

    fn init(&self) -> Vec<ValueId> {
        self.initial.clone()
    }

    fn step(&self, state: &Vec<ValueId>, op: &QueueOp) -> Option<Vec<ValueId>> {
        match *op {
            QueueOp::Enqueue(e) => {
                let mut next = Vec::with_capacity(state.len() + 1);
                next.extend_from_slice(state);
                next.push(e);
                Some(next)
            }
            QueueOp::Dequeue(e) => (state.first() == Some(&e)).then(|| state[1..].to_vec()),
            QueueOp::DequeueEmpty => state.is_empty().then(Vec::new),
            QueueOp::DequeueUnknown => Some(state.get(1..).unwrap_or_default().to_vec()),
        }
    }

    fn legal(&self, state: &Vec<ValueId>, op: &QueueOp) -> bool {
        match *op {
            QueueOp::Dequeue(e) => state.first() == Some(&e),
            QueueOp::DequeueEmpty => state.is_empty(),
            QueueOp::Enqueue(_) | QueueOp::DequeueUnknown => true,
        }
    }

    /// A dequeue can come to return an element only once pending dequeues could remove every
    /// element ahead of it, and only if it is queued or a pending enqueue adds it; a dequeue
    /// can come to find the queue empty only once pending dequeues could empty it.
    fn may_become_legal(
        &self,
        state: &Vec<ValueId>,
        op: &QueueOp,
        updates: &mut dyn Iterator<Item = &QueueOp>,
    ) -> bool {
        let (mut dequeues, mut enqueued) = (0, false);
        for u in updates {
            match *u {
                QueueOp::Dequeue(_) | QueueOp::DequeueUnknown => dequeues += 1,
                QueueOp::Enqueue(e) => enqueued |= *op == QueueOp::Dequeue(e),
                QueueOp::DequeueEmpty => {}
            }
        }
        match *op {
            QueueOp::Dequeue(e) => match state.iter().position(|&q| q == e) {
                Some(ahead) => dequeues >= ahead,
                None => enqueued && dequeues >= state.len(),
            },
            QueueOp::DequeueEmpty => dequeues >= state.len(),
            QueueOp::Enqueue(_) | QueueOp::DequeueUnknown => true,
        }
    }

    #[cfg(test)]
    fn describe(&self, op: &QueueOp) -> String {
        match *op {
            QueueOp::Enqueue(e) => format!("enqueue {}", self.elements.value(e)),
            QueueOp::Dequeue(e) => format!("dequeue {}", self.elements.value(e)),
            QueueOp::DequeueEmpty => "dequeue null".into(),
            QueueOp::DequeueUnknown => "dequeue (result unknown)".into(),
        }
    }

    /// The elements as a JSON array, oldest first.
    fn describe_state(&self, state: &Vec<ValueId>) -> String {
        let elements: Vec<Value> = state
            .iter()
            .map(|&e| self.elements.value(e).clone())
            .collect();
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

    fn queue(initial: Value) -> CheckOptions {
        options(ModelKind::Queue, initial)
    }

    fn validity(events: Vec<Event>) -> Validity {
        verdict(ModelKind::Queue, events)
    }

    fn enqueue(ms: u64, p: u64, e: i64) -> Vec<Event> {
        done(ms, p, "enqueue", json!(e), json!(e))
    }

    fn dequeue(ms: u64, p: u64, got: Value) -> Vec<Event> {
        done(ms, p, "dequeue", json!(null), got)
    }

    #[test]
    fn steps_follow_fifo_semantics() {
        let mut m = Queue::new(&[json!(1)]);
        let ops = pair(&history(
            [
                enqueue(0, 1, 2),
                dequeue(20, 1, json!(1)),
                dequeue(40, 1, json!(null)),
            ]
            .concat(),
        ))
        .unwrap();
        let [enq_2, deq_1, deq_empty] = [0, 1, 2].map(|i| m.op(&ops[i]).unwrap().unwrap());
        let s0 = m.init();
        let s1 = m.step(&s0, &enq_2).unwrap();
        assert_eq!(m.describe_state(&s1), "[1,2]");
        assert_eq!(m.step(&s1, &deq_empty), None);
        assert!(!m.legal(&s1, &deq_empty));
        // Emptying [1,2] takes two dequeues; the empty dequeue itself does not count.
        let unknown = QueueOp::DequeueUnknown;
        assert!(!m.may_become_legal(&s1, &deq_empty, &mut [deq_1, deq_empty].iter()));
        assert!(m.may_become_legal(&s1, &deq_empty, &mut [deq_1, unknown].iter()));
        // 2 is behind 1; a 3 nobody enqueues can never come out.
        let deq_2 = QueueOp::Dequeue(s1[1]);
        assert!(m.may_become_legal(&s1, &deq_2, &mut [deq_2, unknown].iter()));
        assert!(!m.may_become_legal(&s1, &deq_2, &mut [enq_2].iter()));
        let s2 = m.step(&s1, &deq_1).unwrap();
        assert_eq!(m.describe_state(&s2), "[2]");
        assert_eq!(m.step(&s2, &deq_1), None);
        let s3 = m.step(&s2, &QueueOp::DequeueUnknown).unwrap();
        assert_eq!(m.step(&s3, &deq_empty), Some(vec![]));
        assert_eq!(m.step(&s3, &QueueOp::DequeueUnknown), Some(vec![]));
        assert_eq!(m.describe(&deq_empty), "dequeue null");
    }

    #[test]
    fn sequential_fifo_history_is_valid_and_lifo_is_not() {
        let fifo = [
            enqueue(0, 1, 1),
            enqueue(20, 1, 2),
            dequeue(40, 2, json!(1)),
            dequeue(60, 2, json!(2)),
            dequeue(80, 2, json!(null)),
        ];
        assert_eq!(validity(fifo.concat()), Validity::Valid);
        let lifo = [
            enqueue(0, 1, 1),
            enqueue(20, 1, 2),
            dequeue(40, 2, json!(2)),
        ];
        let report = check_events(&history(lifo.concat()), &queue(Value::Null)).unwrap();
        assert_eq!(report.validity, Validity::Invalid);
        assert_eq!(
            report.keys[0].anomaly.as_ref().unwrap().message,
            "no linearization of the queue: the longest consistent order covers 2 of 3 \
             operations, after which the queue is [1,2]; none of these can take effect next: \
             dequeue 2 by process 2 (invoked 0.040 s, ok at 0.050 s)"
        );
    }

    #[test]
    fn concurrent_enqueues_may_land_in_either_order() {
        //   p1 enqueue 1  |--------|
        //   p2 enqueue 2  |--------|
        //   p3 dequeue → ?            |--|
        let history = |first: i64| {
            [
                vec![
                    invoke(0, 1, "enqueue", json!(1)),
                    invoke(1, 2, "enqueue", json!(2)),
                    ok(10, 1, "enqueue", json!(1)),
                    ok(11, 2, "enqueue", json!(2)),
                ],
                dequeue(20, 3, json!(first)),
                dequeue(40, 3, json!(3 - first)),
            ]
            .concat()
        };
        assert_eq!(validity(history(1)), Validity::Valid);
        assert_eq!(validity(history(2)), Validity::Valid);
    }

    #[test]
    fn an_element_dequeued_twice_is_invalid() {
        let h = [
            enqueue(0, 1, 1),
            dequeue(20, 2, json!(1)),
            dequeue(40, 3, json!(1)),
        ];
        assert_eq!(validity(h.concat()), Validity::Invalid);
    }

    #[test]
    fn an_indeterminate_dequeue_may_have_removed_the_head() {
        let lost_dequeue = vec![
            invoke(20, 2, "dequeue", json!(null)),
            info(30, 2, "dequeue", json!(null)),
        ];
        // The info dequeue took 1, or did not happen.
        let h = [
            enqueue(0, 1, 1),
            enqueue(10, 1, 2),
            lost_dequeue.clone(),
            dequeue(40, 3, json!(2)),
        ];
        assert_eq!(validity(h.concat()), Validity::Valid);
        let h = [
            enqueue(0, 1, 1),
            enqueue(10, 1, 2),
            lost_dequeue.clone(),
            dequeue(40, 3, json!(1)),
        ];
        assert_eq!(validity(h.concat()), Validity::Valid);
        // It removes at most one element.
        let h = [
            enqueue(0, 1, 1),
            enqueue(10, 1, 2),
            lost_dequeue,
            dequeue(40, 3, json!(null)),
        ];
        assert_eq!(validity(h.concat()), Validity::Invalid);
    }

    #[test]
    fn indeterminate_enqueues_are_optional_and_failed_ones_never_happened() {
        let attempt = |outcome: fn(u64, u64, &str, Value) -> Event| {
            vec![
                invoke(0, 1, "enqueue", json!(1)),
                outcome(10, 1, "enqueue", json!(1)),
            ]
        };
        for got in [json!(1), json!(null)] {
            let h = [attempt(info), dequeue(20, 2, got.clone())].concat();
            assert_eq!(validity(h), Validity::Valid, "dequeue {got}");
        }
        let h = [attempt(fail), dequeue(20, 2, json!(1))].concat();
        assert_eq!(validity(h), Validity::Invalid);
    }

    #[test]
    fn initial_contents_and_null_elements() {
        let h = history(dequeue(0, 1, json!("a")));
        assert_eq!(
            check_events(&h, &queue(json!(["a", "b"])))
                .unwrap()
                .validity,
            Validity::Valid
        );
        assert!(Queue::from_initial(&json!([1, null])).is_err());
        let h = history([invoke(0, 1, "enqueue", json!(null))]);
        assert_eq!(
            check_events(&h, &queue(Value::Null))
                .unwrap_err()
                .to_string(),
            "operation invoked at event 0: enqueue value null is malformed: null cannot be \
             enqueued: a dequeue of null means the queue was empty"
        );
    }
}
