//! The one per-key check every linearizability model goes through: a key's operations, run
//! through the model, searched, explained and reported.
//!
//! ```text
//!   operations ──by key, validated──► per key: a fresh model, model.op(each) ──► intervals
//!     ──HistoryModel::unobserved──► without unobserved indeterminate updates
//!     ──HistoryModel::decide_first (the register's unique values)──► verdict, or
//!     ──wgl search (100 ms), then probes (PROBES), then the whole search──► verdict
//!     ──invalid: stale reads or the longest order, minimal witness (explainer)──► KeyReport
//! ```
//!
//! Each key is its own object (P-compositionality: a history is linearizable if and only if
//! each key's history is), so each key gets its own model and its states stay small. Every key
//! is validated before any is searched, so a malformed history fails fast with a
//! [`HistoryError`] instead of after minutes of searching; the keys are prepared and searched in
//! parallel within one shared [`Budget`] (the timeout and `memory_limit`).

use crate::explain::explainer::Explainer;
use crate::explain::witness::{self, Witness};
use crate::history::history_error::HistoryError;
use crate::history::op_summary::{describe_key, OpSummary};
use crate::history::operation::{Operation, Outcome};
use crate::key_progress::KeyCounter;
use crate::models::history_model::{Early, HistoryModel};
use crate::options::CheckOptions;
use crate::report::{Anomaly, KeyReport};
use crate::search::budget::{Budget, Stop};
use crate::search::partition;
use crate::search::probe;
use crate::search::wgl::{self, Interval, Linearization};
use crate::validity::Validity;
use rayon::prelude::*;
use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Checks each key's operations against its own `M`.
///
/// An initial value the model rejects makes every key unknown, with the reason, rather than an
/// error: it is not the history that is wrong, and the history is still validated.
pub(crate) fn check_keys<M: HistoryModel>(
    ops: &[Operation],
    opts: &CheckOptions,
    deadline: Option<Instant>,
) -> Result<Vec<KeyReport>, HistoryError> {
    let bad_initial = M::for_check(opts).err();
    let model = || match &bad_initial {
        None => M::for_check(opts),
        // Still validate the history, from the natural empty state.
        Some(_) => M::from_initial(&Value::Null),
    };
    // Keys are independent: prepare them in parallel. An indexed collect keeps the key order,
    // and the first error in key order is reported, whichever thread met it first.
    let prepared: Vec<Result<KeyCheck<M>, HistoryError>> = partition::by_key(ops)
        .into_par_iter()
        .map(|(key, ops)| {
            KeyCheck::new(
                key,
                ops,
                model().expect("null is every model's empty state"),
            )
        })
        .collect();
    let keys = prepared.into_iter().collect::<Result<Vec<_>, _>>()?;
    let budget = Budget::new(deadline, opts.memory_limit);
    let counter = KeyCounter::new(opts.progress.as_ref(), keys.len());
    // First every verdict, none waiting on any key's explanation.
    let started = Instant::now();
    let decided: Vec<(KeyCheck<M>, Decision)> = keys
        .into_par_iter()
        .map(|k| {
            let decision = match &bad_initial {
                None => k.decide(opts, &budget),
                Some(bad) => {
                    Decision::Final(Box::new(k.report(Validity::Unknown, Some(bad.to_string()))))
                }
            };
            if opts.fail_fast && matches!(decision, Decision::Invalid { .. }) {
                budget.halt();
            }
            counter.tick();
            (k, decision)
        })
        .collect();
    if opts.no_explain {
        return Ok(decided.into_iter().map(|(k, d)| k.unexplained(d)).collect());
    }
    // Then the explanations, together within a time tied to what the verdicts cost.
    let allowed = opts
        .explain_time
        .unwrap_or_else(|| explain_budget(started.elapsed()));
    let until = Instant::now() + allowed;
    let explaining = Budget::new(
        Some(deadline.map_or(until, |d| d.min(until))),
        opts.memory_limit,
    );
    Ok(decided
        .into_par_iter()
        .map(|(k, d)| k.explain(d, &explaining, opts.explain_time))
        .collect())
}

/// Explaining every invalid key may take twice the verdicts' time plus this floor (room for
/// the exact longest orders and a few dozen oracle calls after verdicts of a few
/// milliseconds)...
const EXPLAIN_FLOOR: Duration = Duration::from_millis(200);
/// ...and never more than this in all, however long the verdicts took.
const EXPLAIN_CAP: Duration = Duration::from_secs(10);

/// The time the explanations of a check whose verdicts took `verdicts` may take together.
fn explain_budget(verdicts: Duration) -> Duration {
    (verdicts * 2 + EXPLAIN_FLOOR).min(EXPLAIN_CAP)
}

/// The largest subset a witness's oracle decides with [`wgl::decide_small`].
const SMALL: usize = 64;

/// How long the whole search runs before a key is probed for a small proof of invalidity.
const PROBE_AFTER: Duration = Duration::from_millis(100);

/// A key's verdict, before any explanation.
pub(crate) enum Decision {
    /// Valid, or unknown with the reason: the report is final.
    Final(Box<KeyReport>),
    /// Not linearizable, as `found` shows; deciding took `took`.
    Invalid { found: Found, took: Duration },
}

/// How a key was shown invalid: what its report can say at once, and what its explanation
/// starts from. Positions are among the key's intervals.
pub(crate) enum Found {
    /// The model's own proof, in words, and the operations it names.
    Model {
        described: String,
        operations: Vec<usize>,
    },
    /// A probe's small subset with no legal order.
    Probed(probe::Found),
    /// The pruned search's dead end: a consistent order, what it leaves the object as, and
    /// what cannot follow it.
    Searched {
        longest_prefix: Vec<usize>,
        stuck: Vec<usize>,
        leaves: String,
    },
}

/// One key, validated and ready to search.
pub(crate) struct KeyCheck<'a, M: HistoryModel> {
    pub(crate) key: Value,
    /// All of the key's operations, whatever their outcome.
    pub(crate) ops: Vec<&'a Operation>,
    pub(crate) model: M,
    /// The operations the search considers.
    pub(crate) intervals: Vec<Interval<M::Op>>,
    /// The operation behind each interval.
    pub(crate) sources: Vec<&'a Operation>,
    /// How many indeterminate updates were left out as unobserved.
    pub(crate) left_out: usize,
}

impl<'a, M: HistoryModel> KeyCheck<'a, M> {
    pub(crate) fn new(
        key: Value,
        ops: Vec<&'a Operation>,
        mut model: M,
    ) -> Result<Self, HistoryError> {
        let (mut intervals, mut sources) = wgl::intervals_of(&ops, |op| model.op(op))?;
        let unobserved = model.unobserved(&intervals);
        let left_out = unobserved.iter().filter(|&&u| u).count();
        // Most keys leave nothing out: they keep their vectors as they are.
        if left_out > 0 {
            (intervals, sources) = intervals
                .into_iter()
                .zip(sources)
                .zip(unobserved)
                .filter_map(|(kept, unobserved)| (!unobserved).then_some(kept))
                .unzip();
        }
        Ok(KeyCheck {
            key,
            ops,
            model,
            intervals,
            sources,
            left_out,
        })
    }

    /// Decides the key: by the model's own proof where it has one, else by the search (with
    /// probes first, for the models that probe). Explains nothing: an invalid key's
    /// explanation is [`KeyCheck::explain`]'s, after every key is decided.
    fn decide(&self, opts: &CheckOptions, budget: &Budget) -> Decision {
        let stopped = |stop: Stop| {
            let reason = match (stop, opts.timeout) {
                (Stop::Deadline, Some(t)) => {
                    format!("the search did not finish within the {t:?} timeout")
                }
                (Stop::Deadline | Stop::Steps, _) => "the search did not finish".to_string(),
                (Stop::Memory(_) | Stop::Halted, _) => stop.to_string(),
            };
            Decision::Final(Box::new(self.report(Validity::Unknown, Some(reason))))
        };
        if let Err(stop) = budget.check_clock() {
            return stopped(stop);
        }
        let started = Instant::now();
        let invalid = |found: Found| Decision::Invalid {
            found,
            took: started.elapsed(),
        };
        let searched = |result: Result<Linearization<M::State>, Stop>| match result {
            Ok(Linearization::Linearizable { .. }) => {
                Decision::Final(Box::new(self.report(Validity::Valid, None)))
            }
            Ok(Linearization::NotLinearizable {
                longest_prefix,
                stuck,
                state,
            }) => invalid(Found::Searched {
                longest_prefix,
                stuck,
                leaves: self.model.leaves(&state),
            }),
            Ok(Linearization::Unknown) => stopped(Stop::Deadline),
            Err(stop) => stopped(stop),
        };
        let search = |budget: &Budget| {
            budget
                .check_clock()
                .and_then(|()| wgl::decide_within(&self.model, &self.intervals, budget, None))
        };
        match self.model.decide_first(&self.intervals) {
            Some(Early::Linearizable) => {
                Decision::Final(Box::new(self.report(Validity::Valid, None)))
            }
            Some(Early::NotLinearizable(proof)) => invalid(Found::Model {
                described: proof.describe(&|i| self.summary(i).to_string()),
                operations: proof.operations(),
            }),
            // Most keys are decided at once. One that is not may be invalid, which the search
            // can only show by exhausting every order: a probe may show it in microseconds.
            None if M::PROBES => match search(&budget.side(Instant::now() + PROBE_AFTER)) {
                Err(Stop::Deadline) | Ok(Linearization::Unknown)
                    if budget.check_clock().is_ok() =>
                {
                    let explainer = self.model.explainer(&self.key, &self.intervals);
                    match probe::probe(&self.model, &self.intervals, &*explainer, budget) {
                        Some(found) => invalid(Found::Probed(found)),
                        None => searched(search(budget)),
                    }
                }
                result => searched(result),
            },
            None => searched(search(budget)),
        }
    }

    /// The report of a key decided `validity`, with the reason if unknown.
    fn report(&self, validity: Validity, reason: Option<String>) -> KeyReport {
        KeyReport {
            key: self.key.clone(),
            validity,
            operations: self.ops.len(),
            reason,
            anomaly: None,
        }
    }

    /// The report of `decision` without explanation (`--no-explain`): an invalid key says how
    /// it was found so, without the exact longest order or a witness.
    fn unexplained(&self, decision: Decision) -> KeyReport {
        match decision {
            Decision::Final(report) => *report,
            Decision::Invalid { found, .. } => self.invalid(found),
        }
    }

    /// The report of `decision`, an invalid key explained within `budget`: the exact longest
    /// order, a minimal witness and why it has no legal order, as far as time allows; what does
    /// not fit is reported as not done ("not shrunk: out of time"), never waited for. The
    /// witness may shrink for `patience` where the user set the explanations' time, else for
    /// [`witness::budget_for`] the time the verdict took.
    fn explain(
        &self,
        decision: Decision,
        budget: &Budget,
        patience: Option<Duration>,
    ) -> KeyReport {
        let (found, shrinking) = match decision {
            Decision::Final(report) => return *report,
            Decision::Invalid { found, took } => {
                (found, patience.unwrap_or_else(|| witness::budget_for(took)))
            }
        };
        let explainer = self.model.explainer(&self.key, &self.intervals);
        // The exact search names the true longest order where it ends within its steps and the
        // explanations' time; for the model's own proof, an order it finds means the proof is
        // wrong, which is reported, never guessed over.
        let exact = match found {
            // A probe's subset is the proof: the whole key's order is not searched for.
            Found::Probed(_) => Err(Stop::Steps),
            _ => budget.check_clock().and_then(|()| {
                wgl::check_within(
                    &self.model,
                    &self.intervals,
                    budget,
                    Some(wgl::DETAIL_STEPS),
                )
            }),
        };
        let mut seeds = Vec::new();
        let found = match (found, exact) {
            (Found::Model { described, .. }, Ok(Linearization::Linearizable { .. })) => {
                let reason = format!(
                    "internal error: the model's own proof and the search disagree (please \
                     report this history): {described}"
                );
                return self.report(Validity::Unknown, Some(reason));
            }
            (
                found @ (Found::Model { .. } | Found::Searched { .. }),
                Ok(Linearization::NotLinearizable {
                    longest_prefix,
                    stuck,
                    state,
                }),
            ) => {
                if let Found::Model { operations, .. } = found {
                    seeds.push(operations);
                }
                Found::Searched {
                    longest_prefix,
                    stuck,
                    leaves: self.model.leaves(&state),
                }
            }
            (found, _) => found,
        };
        if let Found::Model { operations, .. } = &found {
            seeds.push(operations.clone());
        }
        self.explained(found, seeds, shrinking, budget, &*explainer)
    }

    /// The report of the invalid key `found` shows, with its witness shrunk within `budget`.
    fn explained(
        &self,
        found: Found,
        mut seeds: Vec<Vec<usize>>,
        shrinking: Duration,
        budget: &Budget,
        explainer: &dyn Explainer,
    ) -> KeyReport {
        let mut proven = None;
        match &found {
            Found::Searched {
                longest_prefix,
                stuck,
                ..
            } => seeds.push(longest_prefix.iter().chain(stuck).copied().collect()),
            Found::Probed(probed) => proven = Some(probed.subset.clone()),
            Found::Model { .. } => {}
        }
        let mut report = self.invalid(found);
        let anomaly = report
            .anomaly
            .as_mut()
            .expect("an invalid key has an anomaly");
        anomaly.witness = Some(self.witness(anomaly, seeds, proven, shrinking, budget, explainer));
        report
    }

    /// The report of the invalid key `found` shows, its anomaly without a witness.
    fn invalid(&self, found: Found) -> KeyReport {
        let object = self.object();
        let left_out = match self.left_out {
            0 => String::new(),
            n => format!(
                " (and {n} indeterminate update{} that no observation shows, left out)",
                if n == 1 { "" } else { "s" }
            ),
        };
        let described = |ops: &[usize]| -> Vec<String> {
            ops.iter().map(|&i| self.summary(i).to_string()).collect()
        };
        let (longest_prefix, stuck, message, proof) = match found {
            Found::Searched {
                longest_prefix,
                stuck,
                leaves,
            } => {
                let message = format!(
                    "no linearization of {object}: the longest consistent order covers {} of {} \
                     operations{left_out}{leaves}; none of these can take effect next: {}",
                    longest_prefix.len(),
                    self.intervals.len(),
                    described(&stuck).join("; ")
                );
                (longest_prefix.len(), stuck, message, false)
            }
            Found::Probed(found) => {
                let message = format!(
                    "no linearization of {object}: {} of its {} operations{left_out} already \
                     have none, with every operation they depend on (the whole key's longest \
                     consistent order was not searched for); none of these can take effect \
                     after the subset's longest consistent order: {}",
                    found.subset.len(),
                    self.intervals.len(),
                    described(&found.stuck).join("; ")
                );
                // No longest order of the whole key to name: the message says what is known.
                (0, Vec::new(), message, false)
            }
            // It names no longest order (`longest_prefix` 0, `unlinearizable` empty); the
            // operations are named in the message.
            Found::Model { described, .. } => (
                0,
                Vec::new(),
                format!("no linearization of {object}: {described}"),
                true,
            ),
        };
        let stale_reads = self.model.stale_reads(&self.key, &self.ops);
        // The model's proof is the message; otherwise stale reads say it best.
        let message = if proof || stale_reads.is_empty() {
            message
        } else {
            let lines: Vec<&str> = stale_reads.iter().map(|s| s.message.as_str()).collect();
            lines.join("\n")
        };
        let mut report = self.report(Validity::Invalid, None);
        report.anomaly = Some(Anomaly {
            unlinearizable: stuck.iter().map(|&i| self.summary(i)).collect(),
            longest_prefix,
            stale_reads,
            message,
            witness: None,
            left_out: self.left_out,
        });
        report
    }
}

impl<M: HistoryModel> KeyCheck<'_, M> {
    /// The key as prose, as the reports name it: `x`, or `the set` for operations without a
    /// key.
    fn object(&self) -> String {
        match &self.key {
            Value::Null => format!("the {}", M::NOUN),
            key => describe_key(key),
        }
    }

    /// The operation behind the interval at `i` as a report shows it: an ok observation by
    /// what it returned.
    fn summary(&self, i: usize) -> OpSummary {
        let op = self.sources[i];
        let mut summary = OpSummary::from(op);
        if op.outcome == Outcome::Ok && M::OBSERVING.contains(&op.f.as_str()) {
            summary.value = op.output.clone();
        }
        summary
    }

    /// A minimal witness of the invalid key, shrinking for at most `allowed`, within `budget`. `proven`, a subset already shown to
    /// have no legal order, is where shrinking starts (else the whole key); `seeds`, then the
    /// operations `anomaly` names (its stale reads with their writes), are tried first.
    fn witness(
        &self,
        anomaly: &Anomaly,
        mut seeds: Vec<Vec<usize>>,
        proven: Option<Vec<usize>>,
        allowed: Duration,
        budget: &Budget,
        explainer: &dyn Explainer,
    ) -> Witness {
        let began = Instant::now();
        if !anomaly.stale_reads.is_empty() {
            let position: HashMap<u64, usize> = self
                .sources
                .iter()
                .enumerate()
                .map(|(i, op)| (op.span.invoke_index, i))
                .collect();
            for stale in &anomaly.stale_reads {
                let named = [
                    Some(&stale.read),
                    stale.writer.as_ref(),
                    Some(&stale.overwrite),
                ];
                seeds.push(
                    named
                        .into_iter()
                        .flatten()
                        .filter_map(|o| position.get(&o.span.invoke_index).copied())
                        .collect(),
                );
            }
        }
        let shrunk = witness::shrink(
            &self.intervals,
            proven,
            seeds,
            allowed,
            budget,
            |subset| explainer.close(subset),
            |sub, oracle| match self.model.decide_first(sub) {
                Some(Early::Linearizable) => Ok(Linearization::Linearizable { order: Vec::new() }),
                Some(Early::NotLinearizable(_)) => Ok(Linearization::NotLinearizable {
                    longest_prefix: Vec::new(),
                    stuck: Vec::new(),
                    state: (),
                }),
                // The small search's every step walks all that is left: worth it on a few dozen
                // operations, not on the whole key.
                None if sub.len() <= SMALL => {
                    witness::verdict(wgl::decide_small(&self.model, sub, oracle, None))
                }
                None => witness::verdict(wgl::decide_within(&self.model, sub, oracle, None)),
            },
        );
        let name = |i: usize| self.summary(i);
        let mut witness = Witness::new(&shrunk, &name, self.intervals.len(), began.elapsed());
        let shrunk = &shrunk.0;
        if budget.check_clock().is_err() {
            // Why the witness has no legal order is explanation too: out of time, it is left out.
            return witness;
        }
        match explainer.context(&shrunk.kept, &name) {
            Some(context) => {
                witness.explain(
                    context.context.iter().map(|&i| name(i)).collect(),
                    context.because,
                );
                witness.cycle = context.cycle;
            }
            None => {
                if let Some(sentence) = self.unordered(&shrunk.kept, budget) {
                    witness.explain(Vec::new(), vec![sentence]);
                }
            }
        }
        witness
    }

    /// Why the operations at `kept` have no legal order, in words: how far the longest legal
    /// order gets and what cannot follow it.
    fn unordered(&self, kept: &[usize], budget: &Budget) -> Option<String> {
        let sub: Vec<Interval<M::Op>> = kept.iter().map(|&i| self.intervals[i].clone()).collect();
        // A witness is a handful of operations: this search is short, but stays within bounds.
        let bounded = budget.side(Instant::now() + Duration::from_millis(100));
        let Ok(Linearization::NotLinearizable {
            longest_prefix,
            stuck,
            state,
        }) = wgl::check_within(&self.model, &sub, &bounded, None)
        else {
            return None;
        };
        let what = |j: &usize| witness::what(&self.summary(kept[*j]));
        let object = self.object();
        let stuck: Vec<String> = stuck.iter().map(what).collect();
        let state = self.model.describe_state(&state);
        let ops = kept.len();
        let head = format!("no order of these {ops} operations that respects real time is legal");
        Some(match (longest_prefix.as_slice(), stuck.as_slice()) {
            ([], [one]) => format!("{head}: {one} cannot come first, from {object} being {state}"),
            ([], _) => format!(
                "{head}: from {object} being {state}, none of {} can come first",
                stuck.join(", ")
            ),
            (prefix, _) => {
                let prefix: Vec<String> = prefix.iter().map(what).collect();
                let next = match stuck.as_slice() {
                    [one] => format!("{one} cannot come next"),
                    _ => format!("none of {} can come next", stuck.join(", ")),
                };
                format!(
                    "{head}: the longest legal one, {}, leaves {object} as {state}, and {next}",
                    prefix.join(" then ")
                )
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check_events;
    use crate::options::ModelKind;
    use crate::testing::history_builder::*;
    use serde_json::json;

    #[test]
    fn anomaly_names_the_object_and_shows_what_observations_returned() {
        let report = check_events(
            &history([
                invoke(0, 1, "enqueue", json!(1)),
                ok(10, 1, "enqueue", json!(1)),
                invoke(20, 2, "dequeue", json!(null)),
                ok(30, 2, "dequeue", json!(2)),
            ]),
            &options(ModelKind::Queue, Value::Null),
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
            &options(ModelKind::Kv, Value::Null),
        )
        .unwrap();
        let witness = first_witness(&report);
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

    /// The witness of the only key of `events`, checked as `model`.
    fn witness_of(model: ModelKind, events: Vec<crate::history::event::Event>) -> Witness {
        first_witness(&report(model, events)).clone()
    }

    #[test]
    fn a_kv_witness_keeps_only_the_updates_its_gets_are_spelled_from() {
        // Forty unrelated appends, then a get that missed the acknowledged append "c;".
        let mut events = done(0, 1, "put", json!("a;"), json!("a;"));
        for i in 0..40u64 {
            events.extend(done(
                20 + 10 * i,
                2,
                "append",
                json!(format!("{i};")),
                json!(null),
            ));
            events.extend(done(
                25 + 10 * i,
                3,
                "put",
                json!(format!("p{i};")),
                json!(null),
            ));
        }
        events.extend(done(500, 1, "put", json!("b;"), json!(null)));
        events.extend(done(520, 1, "append", json!("c;"), json!(null)));
        events.extend(done(540, 3, "get", json!(null), json!("b;")));
        let witness = witness_of(ModelKind::Kv, history(events));
        assert!(witness.minimal);
        assert_eq!(witness.shrunk_from, 84);
        assert_eq!(
            witness.timeline,
            [
                r#"put "b;" by process 1: invoked at 0.500 s, ok at 0.510 s"#,
                r#"append "c;" by process 1: invoked at 0.520 s, ok at 0.530 s"#,
                r#"get returned "b;" by process 3: invoked at 0.540 s, ok at 0.550 s"#,
            ]
        );
        assert_eq!(
            witness.because,
            [
                "no order of these 3 operations that respects real time is legal: the longest \
              legal one, put \"b;\" then append \"c;\", leaves the value as \"b;c;\", and get \
              returned \"b;\" cannot come next"
            ]
        );
    }

    #[test]
    fn a_set_witness_keeps_the_adds_its_read_returned_and_the_one_it_missed() {
        // Adds 0..5 precede the read, which misses 3; adds 6..29 come after it.
        let mut events = Vec::new();
        for e in 0..30u64 {
            if e == 6 {
                events.extend(done(400, 9, "read", json!(null), json!([0, 1, 2, 4, 5])));
            }
            let at = if e < 6 { 10 * e } else { 500 + 10 * e };
            events.extend(done(at, e % 5, "add", json!(e), json!(null)));
        }
        let witness = witness_of(ModelKind::Set, history(events));
        assert!(witness.minimal);
        assert_eq!(witness.shrunk_from, 31);
        let kept: Vec<String> = witness.operations.iter().map(witness::what).collect();
        assert_eq!(
            kept,
            [
                "add 0",
                "add 1",
                "add 2",
                "add 3",
                "add 4",
                "add 5",
                "read returned [0,1,2,4,5]"
            ]
        );
        assert_eq!(
            witness.because,
            [
                "no order of these 7 operations that respects real time is legal: the longest \
              legal one, add 0 then add 1 then add 2 then add 3 then add 4 then add 5, leaves \
              the set as [0,1,2,3,4,5], and read returned [0,1,2,4,5] cannot come next"
            ]
        );
    }

    #[test]
    fn a_queue_witness_keeps_each_element_with_its_dequeues() {
        let mut events = Vec::new();
        for e in 1..=20u64 {
            events.extend(done(10 * e, 1, "enqueue", json!(e), json!(null)));
        }
        // 1..=20 dequeued in order, but 7 and 8 swapped.
        for (i, e) in (1..=20u64).enumerate() {
            let got = match e {
                7 => 8,
                8 => 7,
                e => e,
            };
            events.extend(done(
                300 + 10 * i as u64,
                2,
                "dequeue",
                json!(null),
                json!(got),
            ));
        }
        let witness = witness_of(ModelKind::Queue, history(events));
        assert!(witness.minimal);
        let kept: Vec<String> = witness.operations.iter().map(witness::what).collect();
        assert_eq!(
            kept,
            [
                "enqueue 7",
                "enqueue 8",
                "dequeue returned 8",
                "dequeue returned 7"
            ]
        );
        assert_eq!(witness.because.len(), 1, "{:?}", witness.because);
    }

    #[test]
    fn a_key_too_large_to_exhaust_is_proven_invalid_by_a_probe() {
        // 1,000 kv operations from 50 clients with one stale get: exhausting every order takes
        // the search seconds; a probe around the stale get takes microseconds.
        let events = crate::testing::simulation::Simulation {
            object: crate::testing::simulation::Object::Kv,
            ops: 1_000,
            clients: 50,
            values: crate::testing::simulation::Values::Unique,
            info_rate: 0.05,
            stale_read: true,
            seed: 7,
            ..crate::testing::simulation::Simulation::default()
        }
        .events();
        let started = Instant::now();
        // Bounded, so that if the probe ever missed, this fails in a minute instead of searching
        // every order of 1,000 operations for hours.
        let options = CheckOptions {
            timeout: Some(std::time::Duration::from_secs(60)),
            memory_limit: Some(1 << 30),
            ..options(ModelKind::Kv, Value::Null)
        };
        let report = check_events(&events, &options).unwrap();
        assert_eq!(
            report.validity,
            Validity::Invalid,
            "{:?}",
            report.keys[0].reason
        );
        let anomaly = report.keys[0].anomaly.as_ref().unwrap();
        assert!(
            anomaly.message.contains("already have none"),
            "{} after {:?}",
            anomaly.message,
            started.elapsed()
        );
        assert_eq!(anomaly.longest_prefix, 0);
        assert!(anomaly.unlinearizable.is_empty());
        assert!(anomaly.message.contains("none of these can take effect"));
        let witness = anomaly.witness.as_ref().unwrap();
        assert!(witness.minimal && witness.operations.len() <= 10);
        assert_eq!(witness.because.len(), 1);
    }

    #[test]
    fn a_rejected_initial_value_makes_every_key_unknown_but_the_history_is_still_validated() {
        let events = history([
            on(json!("a"), invoke(0, 1, "add", json!(1))),
            on(json!("a"), ok(10, 1, "add", json!(1))),
            on(json!("b"), invoke(20, 2, "read", json!(null))),
            on(json!("b"), ok(30, 2, "read", json!(0))),
        ]);
        let report = check_events(&events, &options(ModelKind::Counter, json!("zero"))).unwrap();
        assert_eq!(report.validity, Validity::Unknown);
        let reasons: Vec<Option<&str>> = report.keys.iter().map(|k| k.reason.as_deref()).collect();
        let reason = "the counter model cannot start from \"zero\": the initial value must be \
                      an integer";
        assert_eq!(reasons, [Some(reason), Some(reason)]);

        let malformed = history([invoke(0, 1, "add", json!("one"))]);
        assert!(matches!(
            check_events(&malformed, &options(ModelKind::Counter, json!("zero"))),
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
                ..options(ModelKind::Kv, Value::Null)
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
                ..options(ModelKind::Set, Value::Null)
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
