//! Checking a history against a model that reads its own operations from the history: the kv,
//! set, counter and queue models all go through here.
//!
//! ```text
//!   operations ──by key──► per key: a fresh model, model.op(each) ──► intervals ──wgl──► KeyReport
//! ```
//!
//! Each key is its own object (P-compositionality: a history is linearizable if and only if
//! each key's history is), so each key gets its own model and its states stay small. As in
//! [`crate::check`], every key is validated before any is searched, and the keys are searched in
//! parallel within one shared [`Budget`] (the timeout and `memory_limit`).

use crate::budget::{Budget, Stop};
use crate::check::{Anomaly, CheckOptions, KeyReport};
use crate::history_error::HistoryError;
use crate::key_progress::KeyCounter;
use crate::model::Model;
use crate::op_summary::{describe_key, OpSummary};
use crate::operation::{Operation, Outcome};
use crate::partition;
use crate::validity::Validity;
use crate::wgl::{self, Interval, Linearization};
use crate::witness::{self, Witness};
use rayon::prelude::*;
use serde_json::Value;
use std::time::Instant;

/// A sequential specification that takes its operations from a history.
///
/// Keys are searched in parallel, hence the `Send` and `Sync` bounds.
pub trait HistoryModel: Model<Op: Send + Sync + Clone, State: Send> + Sized + Send + Sync {
    /// The model's name, as `--model` spells it.
    const NAME: &'static str;
    /// What the object is called in prose ("the set", "the value of x").
    const NOUN: &'static str;
    /// The functions whose `ok` completion carries what the operation returned.
    const OBSERVING: &'static [&'static str];

    /// A model whose object starts as `initial` says (`--initial`; null is always accepted and
    /// means the object's natural empty state).
    fn from_initial(initial: &Value) -> Result<Self, BadInitial>;

    /// Whether `op` never changes the state (a read): a witness may leave such an operation out
    /// without losing soundness (see [`crate::witness`]). `false` is always safe.
    fn observes_only(op: &Self::Op) -> bool {
        let _ = op;
        false
    }

    /// The operation the search must consider for `op`, or `None` if it cannot affect the
    /// outcome (a failed operation, an indeterminate read).
    fn op(&mut self, op: &Operation) -> Result<Option<Self::Op>, HistoryError>;
}

/// An initial value (`--initial`) a model cannot start from.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the {model} model cannot start from {value}: the initial value must be {expected}")]
pub struct BadInitial {
    /// The model's name.
    pub model: &'static str,
    /// The value given.
    pub value: Value,
    /// What the model accepts.
    pub expected: &'static str,
}

/// Checks each key's operations against its own `M`.
///
/// An initial value the model rejects makes every key unknown, with the reason, rather than an
/// error: it is not the history that is wrong, and the history is still validated.
pub(crate) fn check_keys<M: HistoryModel>(
    ops: &[Operation],
    opts: &CheckOptions,
    deadline: Option<Instant>,
) -> Result<Vec<KeyReport>, HistoryError> {
    let bad_initial = M::from_initial(&opts.initial).err();
    let model = || match &bad_initial {
        None => M::from_initial(&opts.initial),
        // Still validate the history, from the natural empty state.
        Some(_) => M::from_initial(&Value::Null),
    };
    let keys = partition::by_key(ops)
        .into_iter()
        .map(|(key, ops)| {
            KeyCheck::new(
                key,
                ops,
                model().expect("null is every model's empty state"),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let budget = Budget::new(deadline, opts.memory_limit);
    let counter = KeyCounter::new(opts.progress.as_ref(), keys.len());
    // An indexed parallel map keeps the keys' order.
    Ok(keys
        .into_par_iter()
        .map(|k| {
            let report = match &bad_initial {
                None => k.run(opts, &budget),
                Some(bad) => KeyReport {
                    key: k.key,
                    validity: Validity::Unknown,
                    operations: k.operations,
                    reason: Some(bad.to_string()),
                    anomaly: None,
                },
            };
            counter.tick();
            report
        })
        .collect())
}

/// One key, validated and ready to search.
pub(crate) struct KeyCheck<'a, M: HistoryModel> {
    pub(crate) key: Value,
    /// How many client operations addressed the key, whatever their outcome.
    pub(crate) operations: usize,
    pub(crate) model: M,
    /// The operations the search considers.
    pub(crate) intervals: Vec<Interval<M::Op>>,
    /// The operation behind each interval.
    pub(crate) sources: Vec<&'a Operation>,
}

impl<'a, M: HistoryModel> KeyCheck<'a, M> {
    pub(crate) fn new(
        key: Value,
        ops: Vec<&'a Operation>,
        mut model: M,
    ) -> Result<Self, HistoryError> {
        let (intervals, sources) = crate::wgl::intervals_of(&ops, |op| model.op(op))?;
        Ok(KeyCheck {
            key,
            operations: ops.len(),
            model,
            intervals,
            sources,
        })
    }

    fn run(self, opts: &CheckOptions, budget: &Budget) -> KeyReport {
        let mut report = KeyReport {
            key: self.key.clone(),
            validity: Validity::Valid,
            operations: self.operations,
            reason: None,
            anomaly: None,
        };
        let stopped = |stop: Stop| match (stop, opts.timeout) {
            (Stop::Deadline, Some(t)) => {
                format!("the search did not finish within the {t:?} timeout")
            }
            (Stop::Deadline | Stop::Steps, _) => "the search did not finish".to_string(),
            (Stop::Memory(_), _) => stop.to_string(),
        };
        let started = Instant::now();
        let searched = budget
            .check_clock()
            .and_then(|()| wgl::check_within(&self.model, &self.intervals, budget, None));
        match searched {
            Ok(Linearization::Linearizable { .. }) => {}
            Ok(Linearization::Unknown) => {
                report.validity = Validity::Unknown;
                report.reason = Some(stopped(Stop::Deadline));
            }
            Err(stop) => {
                report.validity = Validity::Unknown;
                report.reason = Some(stopped(stop));
            }
            Ok(Linearization::NotLinearizable {
                longest_prefix,
                stuck,
                state,
            }) => {
                report.validity = Validity::Invalid;
                let unlinearizable: Vec<OpSummary> = stuck
                    .iter()
                    .map(|&i| summary::<M>(self.sources[i]))
                    .collect();
                let next: Vec<String> = unlinearizable.iter().map(|o| o.to_string()).collect();
                let object = match &self.key {
                    Value::Null => format!("the {}", M::NOUN),
                    key => describe_key(key),
                };
                let message = format!(
                    "no linearization of {object}: the longest consistent order covers {} of {} \
                     operations, after which the {} is {}; none of these can take effect next: \
                     {}",
                    longest_prefix.len(),
                    self.intervals.len(),
                    M::NOUN,
                    self.model.describe_state(&state),
                    next.join("; ")
                );
                let seed = longest_prefix.iter().chain(&stuck).copied().collect();
                let witness = self.witness(vec![seed], started, budget);
                report.anomaly = Some(Anomaly {
                    unlinearizable,
                    longest_prefix: longest_prefix.len(),
                    stale_reads: Vec::new(),
                    message,
                    witness: Some(witness),
                });
            }
        }
        report
    }
}

impl<M: HistoryModel> KeyCheck<'_, M> {
    /// A minimal witness of the invalid key, shrinking for at most [`witness::budget_for`] the
    /// time the check took since `started`, trying `seeds` first.
    fn witness(&self, seeds: Vec<Vec<usize>>, started: Instant, budget: &Budget) -> Witness {
        let allowed = witness::budget_for(started.elapsed());
        let began = Instant::now();
        let shrunk = witness::shrink(
            &self.intervals,
            seeds,
            allowed,
            budget,
            witness::updates_closure::<M>(&self.intervals),
            |sub, oracle| witness::verdict(wgl::check_within(&self.model, sub, oracle, None)),
        );
        Witness::new(
            &shrunk,
            &|i| summary::<M>(self.sources[i]),
            self.intervals.len(),
            began.elapsed(),
        )
    }
}

/// An operation as a report shows it: an ok observation by what it returned.
fn summary<M: HistoryModel>(op: &Operation) -> OpSummary {
    let mut summary = OpSummary::from(op);
    if op.outcome == Outcome::Ok && M::OBSERVING.contains(&op.f.as_str()) {
        summary.value = op.output.clone();
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{check_events, ModelKind};
    use crate::history_builder::*;
    use serde_json::json;

    fn opts(model: ModelKind, initial: Value) -> CheckOptions {
        CheckOptions {
            model,
            initial,
            ..CheckOptions::default()
        }
    }

    #[test]
    fn anomaly_names_the_object_and_shows_what_observations_returned() {
        let report = check_events(
            &history([
                invoke(0, 1, "enqueue", json!(1)),
                ok(10, 1, "enqueue", json!(1)),
                invoke(20, 2, "dequeue", json!(null)),
                ok(30, 2, "dequeue", json!(2)),
            ]),
            &opts(ModelKind::Queue, Value::Null),
        )
        .unwrap();
        assert_eq!(report.validity, Validity::Invalid);
        let anomaly = report.keys[0].anomaly.as_ref().unwrap();
        assert_eq!(anomaly.longest_prefix, 1);
        assert_eq!(anomaly.unlinearizable[0].value, json!(2));
        assert_eq!(
            anomaly.message,
            "no linearization of the queue: the longest consistent order covers 1 of 2 \
             operations, after which the queue is [1]; none of these can take effect next: \
             dequeue 2 by process 2 (invoked 0.020 s, ok at 0.030 s)"
        );
    }

    #[test]
    fn the_witness_drops_observations_the_anomaly_does_not_need() {
        let report = check_events(
            &history([
                invoke(0, 1, "put", json!("a")),
                ok(10, 1, "put", json!("a")),
                invoke(20, 2, "get", json!(null)),
                ok(30, 2, "get", json!("a")),
                invoke(40, 1, "append", json!("b")),
                ok(50, 1, "append", json!("b")),
                invoke(60, 2, "get", json!(null)),
                ok(70, 2, "get", json!("ab")),
                invoke(80, 3, "get", json!(null)),
                ok(90, 3, "get", json!("a")),
            ]),
            &opts(ModelKind::Kv, Value::Null),
        )
        .unwrap();
        let witness = report.keys[0].anomaly.as_ref().unwrap().witness.as_ref();
        let witness = witness.unwrap();
        assert!(witness.minimal);
        assert_eq!(witness.shrunk_from, 5);
        assert_eq!(
            witness.timeline,
            [
                r#"put "a" by process 1: invoked at 0.000 s, ok at 0.010 s"#,
                r#"append "b" by process 1: invoked at 0.040 s, ok at 0.050 s"#,
                r#"get returned "a" by process 3: invoked at 0.080 s, ok at 0.090 s"#,
            ]
        );
    }

    #[test]
    fn a_rejected_initial_value_makes_every_key_unknown_but_the_history_is_still_validated() {
        let events = history([
            on(json!("a"), invoke(0, 1, "add", json!(1))),
            on(json!("a"), ok(10, 1, "add", json!(1))),
            on(json!("b"), invoke(20, 2, "read", json!(null))),
            on(json!("b"), ok(30, 2, "read", json!(0))),
        ]);
        let report = check_events(&events, &opts(ModelKind::Counter, json!("zero"))).unwrap();
        assert_eq!(report.validity, Validity::Unknown);
        let reasons: Vec<Option<&str>> = report.keys.iter().map(|k| k.reason.as_deref()).collect();
        let reason = "the counter model cannot start from \"zero\": the initial value must be \
                      an integer";
        assert_eq!(reasons, [Some(reason), Some(reason)]);

        let malformed = history([invoke(0, 1, "add", json!("one"))]);
        assert!(matches!(
            check_events(&malformed, &opts(ModelKind::Counter, json!("zero"))),
            Err(HistoryError::MalformedValue { index: 0, .. })
        ));
    }

    #[test]
    fn a_memory_limit_too_small_for_the_search_is_unknown() {
        let events = history([
            invoke(0, 1, "put", json!("a")),
            invoke(1, 2, "append", json!("b")),
            ok(10, 1, "put", json!("a")),
            ok(11, 2, "append", json!("b")),
        ]);
        let report = check_events(
            &events,
            &CheckOptions {
                memory_limit: Some(1),
                ..opts(ModelKind::Kv, Value::Null)
            },
        )
        .unwrap();
        assert_eq!(report.validity, Validity::Unknown);
        let reason = report.keys[0].reason.as_deref().unwrap();
        assert!(reason.starts_with("memory limit of"), "{reason}");
    }

    #[test]
    fn past_deadline_is_unknown() {
        let events = history([invoke(0, 1, "add", json!(1)), ok(10, 1, "add", json!(1))]);
        let report = check_events(
            &events,
            &CheckOptions {
                timeout: Some(std::time::Duration::ZERO),
                ..opts(ModelKind::Set, Value::Null)
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
