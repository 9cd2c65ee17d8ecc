//! The counter model: `add` changes an integer by its delta, `read` returns it.
//!
//! ```text
//!   add 1        |--|                  1
//!   add 2            |------|          3
//!   read → 1           |--|            ok: before add 2 took effect
//!   read → 3                  |--|     ok
//!   read → 2                    |--|   invalid: no set of the adds sums to 2 after 3 was read
//! ```
//!
//! Deltas are integers and may be negative. Different keys are different counters. The
//! counter starts at 0 unless `--initial` gives another integer.
//!
//! Which operations reach the search: `ok` ones, and `info` adds (which may take effect at any
//! time after their invocation, or never). Failed adds and indeterminate reads are dropped. For
//! what a counter can promise without linearizability, see [`crate::weak::counter_bounds`].

use crate::history::history_error::HistoryError;
use crate::history::operation::{Operation, Outcome};
use crate::models::history_model::{BadInitial, HistoryModel};
use crate::models::model::Model;
use crate::options::ModelKind;
use serde_json::Value;

/// One counter operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CounterOp {
    /// An add of this delta.
    Add(i64),
    /// A read that returned this value.
    Read(i64),
}

/// An integer counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    initial: i64,
}

impl Counter {
    /// A counter holding `initial` before any add.
    pub fn new(initial: i64) -> Self {
        Counter { initial }
    }
}

impl HistoryModel for Counter {
    const KIND: ModelKind = ModelKind::Counter;
    const NOUN: &'static str = "counter";
    const OBSERVING: &'static [&'static str] = &["read"];

    fn from_initial(initial: &Value) -> Result<Self, BadInitial> {
        match initial {
            Value::Null => Ok(Counter::new(0)),
            other => other.as_i64().map(Counter::new).ok_or_else(|| BadInitial {
                model: Self::KIND.name(),
                value: other.clone(),
                expected: "an integer",
            }),
        }
    }

    fn op(&mut self, op: &Operation) -> Result<Option<CounterOp>, HistoryError> {
        let info = match op.outcome {
            Outcome::Fail { .. } => return Ok(None),
            Outcome::Info => true,
            Outcome::Ok => false,
        };
        let integer = |value: &Value, reason: &str| {
            value.as_i64().ok_or_else(|| HistoryError::MalformedValue {
                index: op.span.invoke_index,
                f: op.f.clone(),
                value: value.clone(),
                reason: reason.into(),
            })
        };
        Ok(Some(match op.f.as_str() {
            "read" if info => return Ok(None),
            "read" => CounterOp::Read(integer(
                &op.output,
                "a counter read must return an integer",
            )?),
            "add" => CounterOp::Add(integer(&op.value, "a counter add must be an integer")?),
            _ => return Err(Self::KIND.unsupported(op)),
        }))
    }
}

impl Model for Counter {
    /// Wider than any delta, so that no sum of a history's deltas overflows.
    type State = i128;
    type Op = CounterOp;

    fn observes_only(op: &CounterOp) -> bool {
        matches!(op, CounterOp::Read(_) | CounterOp::Add(0))
    }

    fn init(&self) -> i128 {
        self.initial.into()
    }

    fn step(&self, state: &i128, op: &CounterOp) -> Option<i128> {
        match *op {
            CounterOp::Read(v) => (i128::from(v) == *state).then_some(*state),
            CounterOp::Add(d) => Some(state + i128::from(d)),
        }
    }

    /// A read can come to succeed only if its value lies between the counter now plus every
    /// pending negative add and the counter now plus every pending positive one.
    fn may_become_legal(
        &self,
        state: &i128,
        op: &CounterOp,
        updates: &mut dyn Iterator<Item = &CounterOp>,
    ) -> bool {
        let CounterOp::Read(v) = *op else { return true };
        let (mut low, mut high) = (*state, *state);
        for u in updates {
            if let CounterOp::Add(d) = *u {
                let d = i128::from(d);
                if d < 0 {
                    low += d;
                } else {
                    high += d;
                }
            }
        }
        (low..=high).contains(&i128::from(v))
    }

    #[cfg(test)]
    fn describe(&self, op: &CounterOp) -> String {
        match op {
            CounterOp::Add(d) => format!("add {d}"),
            CounterOp::Read(v) => format!("read {v}"),
        }
    }

    fn describe_state(&self, state: &i128) -> String {
        state.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check_events;
    use crate::history::event::Event;
    use crate::options::{CheckOptions, ModelKind};
    use crate::testing::history_builder::*;
    use crate::validity::Validity;
    use serde_json::json;

    fn counter(initial: Value) -> CheckOptions {
        options(ModelKind::Counter, initial)
    }

    fn validity(events: Vec<Event>) -> Validity {
        verdict(ModelKind::Counter, events)
    }

    fn add(ms: u64, p: u64, d: i64) -> Vec<Event> {
        done(ms, p, "add", json!(d), json!(d))
    }

    fn read(ms: u64, p: u64, v: i64) -> Vec<Event> {
        done(ms, p, "read", json!(null), json!(v))
    }

    #[test]
    fn steps_follow_counter_semantics() {
        let m = Counter::new(5);
        let s = m.step(&m.init(), &CounterOp::Add(-7)).unwrap();
        assert_eq!(s, -2);
        assert_eq!(m.step(&s, &CounterOp::Read(-2)), Some(-2));
        assert_eq!(m.step(&s, &CounterOp::Read(5)), None);
        // From -2, pending adds reach anywhere in [-3, 5].
        let adds = [CounterOp::Add(3), CounterOp::Add(4), CounterOp::Add(-1)];
        for (read, may) in [(5, true), (6, false), (-3, true), (-4, false)] {
            let got = m.may_become_legal(&s, &CounterOp::Read(read), &mut adds.iter());
            assert_eq!(got, may, "read {read}");
        }
        // i64::MAX twice does not overflow.
        let big = m.step(&s, &CounterOp::Add(i64::MAX)).unwrap();
        let bigger = m.step(&big, &CounterOp::Add(i64::MAX)).unwrap();
        assert_eq!(m.describe_state(&bigger), "18446744073709551612");
    }

    #[test]
    fn reads_see_a_prefix_of_concurrent_adds() {
        //   p1 add 1   |-----------|
        //   p2 add 2   |-----------|
        //   p3 read       |--|
        let history = |seen: i64| {
            [
                vec![invoke(0, 1, "add", json!(1)), invoke(1, 2, "add", json!(2))],
                read(5, 3, seen),
                vec![ok(30, 1, "add", json!(1)), ok(31, 2, "add", json!(2))],
                read(40, 3, 3),
            ]
            .concat()
        };
        for seen in [0, 1, 2, 3] {
            assert_eq!(validity(history(seen)), Validity::Valid, "read {seen}");
        }
        assert_eq!(validity(history(4)), Validity::Invalid);
    }

    #[test]
    fn a_read_that_goes_back_is_invalid() {
        let h = [add(0, 1, 2), read(20, 2, 2), add(40, 1, -1), read(60, 2, 2)].concat();
        let report = check_events(&history(h), &counter(Value::Null)).unwrap();
        assert_eq!(report.validity, Validity::Invalid);
        assert_eq!(
            report.keys[0].anomaly.as_ref().unwrap().message,
            "no linearization of the counter: the longest consistent order covers 3 of 4 \
             operations, after which the counter is 1; none of these can take effect next: read \
             2 by process 2 (invoked 0.060 s, ok at 0.070 s)"
        );
    }

    #[test]
    fn indeterminate_adds_are_optional_and_failed_ones_never_happened() {
        let attempt = |outcome: fn(u64, u64, &str, Value) -> Event| {
            vec![
                invoke(0, 1, "add", json!(5)),
                outcome(10, 1, "add", json!(5)),
            ]
        };
        assert_eq!(
            validity([attempt(info), read(20, 2, 0)].concat()),
            Validity::Valid
        );
        assert_eq!(
            validity([attempt(info), read(20, 2, 5)].concat()),
            Validity::Valid
        );
        assert_eq!(
            validity([attempt(info), read(20, 2, 10)].concat()),
            Validity::Invalid
        );
        assert_eq!(
            validity([attempt(fail), read(20, 2, 5)].concat()),
            Validity::Invalid
        );
    }

    #[test]
    fn initial_value_and_malformed_values() {
        let h = history(read(0, 1, 7));
        assert_eq!(
            check_events(&h, &counter(json!(7))).unwrap().validity,
            Validity::Valid
        );
        assert_eq!(
            check_events(&h, &counter(Value::Null)).unwrap().validity,
            Validity::Invalid
        );
        let h = history([invoke(0, 1, "add", json!(1.5))]);
        assert_eq!(
            check_events(&h, &counter(Value::Null))
                .unwrap_err()
                .to_string(),
            "operation invoked at event 0: add value 1.5 is malformed: a counter add must be an \
             integer"
        );
        let h = history([
            invoke(0, 1, "read", json!(null)),
            ok(1, 1, "read", json!("3")),
        ]);
        assert!(check_events(&h, &counter(Value::Null)).is_err());
    }
}
