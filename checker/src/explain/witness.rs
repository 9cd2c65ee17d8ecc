//! Minimal witnesses: the few operations of an invalid key that are already not linearizable on
//! their own, so a person can check the verdict by eye.
//!
//! ```text
//!   key x, 250 operations, invalid ──ddmin (the search as oracle, under a deadline)──►
//!   minimal witness (1 of 250 operations, shown with 2 more for context):
//!     write 1 by process 1: invoked at 1.000 s, ok at 1.100 s (context)
//!     write 2 by process 1: invoked at 1.150 s, ok at 1.180 s (context)
//!     read returned 1 by process 2: invoked at 1.190 s, ok at 1.204 s
//!   because: read of x returned 1 at 1.204 s, but write 2 to x was acknowledged at 1.180 s,
//!     and every write of 1 before the read had completed before write 2 began
//! ```
//!
//! Shrinking works on whole operations (an invocation with its completion); an indeterminate
//! operation stays indeterminate. Only *sound* subsets are tested: the subset's own
//! dependencies are added back first (for registers the writes its reads may have read from,
//! `sources.rs`; for other models what the model ties together, `ties.rs`), which makes a non-linearizable subset a
//! proof that the whole key is not linearizable. (Without that, deleting the write a read saw
//! would make any read "invalid".) The oracle is the key's own decision procedure on the subset
//! (the unique-value fast path where it applies, else the search) with a deadline: an answer it
//! could not reach in time counts as "not shown invalid", so the witness is always really
//! invalid, but it is then not proven 1-minimal. Candidate subsets the check already points at
//! (a stale read and its two writes, the operations a fast-path violation names, the longest
//! consistent order with the operations stuck after it) are tried first: when one is invalid,
//! delta debugging starts from it instead of from the whole key.
//!
//! Shrinking may take at most `budget_for` the key's own check time: twice it, plus a small
//! floor, capped, and never past the check's deadline.

use crate::explain::cycle::Cycle;
use crate::explain::ddmin::{ddmin, Probe, Shrunk};
use crate::history::event::EventType;
use crate::history::op_summary::OpSummary;
use crate::search::budget::{Budget, Stop};
use crate::search::wgl::{Interval, Linearization};
use serde::Serialize;
use std::time::{Duration, Instant};

/// The smallest invalid subset of a key's operations found, and how sure it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Witness {
    /// The operations, in invocation order.
    pub operations: Vec<OpSummary>,
    /// How many operations the key's check considered (what the witness was shrunk from).
    pub shrunk_from: usize,
    /// Whether removing any one operation was shown to make the rest linearizable.
    pub minimal: bool,
    /// Whether shrinking got anywhere: `false` ("not shrunk: out of time") when the
    /// explanations' time ran out before it could test one subset, and the witness is what the
    /// verdict itself showed invalid (a probe's subset, or the whole key).
    pub shrunk: bool,
    /// How long shrinking took, in seconds.
    pub seconds: f64,
    /// The witness as a timeline in words, one line per operation.
    pub timeline: Vec<String>,
    /// For register keys with unique values: the loop of ordering constraints among the
    /// witness's operations (and its context) that no linearization can satisfy, if one is found.
    pub cycle: Option<Cycle>,
    /// Operations not needed for the proof but shown because they explain it: the acknowledged
    /// overwrite that rules out the earlier writes of a value a witness operation observed, and
    /// the latest of those writes.
    pub context: Vec<OpSummary>,
    /// Sentences saying what the context shows.
    pub because: Vec<String>,
}

/// Shrinking may take twice the check's time plus this: a fast check still leaves room for a
/// few dozen oracle calls on small subsets.
const FLOOR: Duration = Duration::from_millis(10);
/// ...and never more than this, however long the check took.
const CAP: Duration = Duration::from_secs(10);

/// The time shrinking may take after a check that took `check`.
pub(crate) fn budget_for(check: Duration) -> Duration {
    (check * 2 + FLOOR).min(CAP)
}

/// Shrinks the invalid `intervals` to a 1-minimal invalid subset with `decide` as the oracle,
/// from `proven` (a closed subset already shown invalid; else all of `intervals`), trying
/// `seeds` (subsets by position) first, within `allowed` and the check's `budget`.
///
/// Every subset tested is first passed through `close`, which adds back what the subset's own
/// operations depend on (see [`crate::explain::sources`]): only such a subset is a *sound* witness,
/// one whose non-linearizability proves the whole key's. Returns the positions kept, in order,
/// and whether any subset was tested (see [`Witness::shrunk`]).
pub(crate) fn shrink<O: Clone>(
    intervals: &[Interval<O>],
    proven: Option<Vec<usize>>,
    seeds: Vec<Vec<usize>>,
    allowed: Duration,
    budget: &Budget,
    close: impl Fn(&[usize]) -> Vec<usize>,
    decide: impl Fn(&[Interval<O>], &Budget) -> Result<Linearization<()>, Stop>,
) -> (Shrunk, bool) {
    // Memory other keys' searches hold now is not available to this one.
    let oracle = budget.side(Instant::now() + allowed);
    let deadline = oracle.deadline().expect("a side budget has a deadline");
    let answered = std::cell::Cell::new(false);
    let test = |closed: &[usize]| {
        let sub: Vec<Interval<O>> = closed.iter().map(|&i| intervals[i].clone()).collect();
        let probe = match decide(&sub, &oracle) {
            Ok(Linearization::NotLinearizable { .. }) => Probe::Fails,
            Ok(Linearization::Linearizable { .. }) => Probe::Passes,
            Ok(Linearization::Unknown) | Err(_) => Probe::Unknown,
        };
        answered.set(answered.get() || probe != Probe::Unknown);
        probe
    };
    let mut start: Vec<usize> = proven.unwrap_or_else(|| (0..intervals.len()).collect());
    let mut seeds: Vec<Vec<usize>> = seeds.iter().map(|s| close(s)).collect();
    seeds.sort_by_key(Vec::len);
    for seed in seeds {
        if seed.is_empty() || seed.len() >= start.len() || Instant::now() >= deadline {
            continue;
        }
        if test(&seed) == Probe::Fails {
            start = seed;
            break;
        }
    }
    let roots = ddmin(start, deadline, |subset| test(&close(subset)));
    // ddmin proves its roots 1-minimal; the witness is their closure, so prove it directly:
    // no single operation whose removal leaves a sound subset can go.
    let mut kept = close(&roots.kept);
    let mut certain = true;
    let mut at = 0;
    while at < kept.len() {
        if Instant::now() >= deadline {
            let shrunk = Shrunk {
                kept,
                minimal: false,
            };
            return (shrunk, answered.get());
        }
        let mut without = kept.clone();
        let removed = without.remove(at);
        let without = close(&without);
        if without.contains(&removed) {
            // Something left depends on it.
            at += 1;
            continue;
        }
        match test(&without) {
            Probe::Fails => {
                kept = without;
                at = 0;
            }
            Probe::Unknown => {
                certain = false;
                at += 1;
            }
            Probe::Passes => at += 1,
        }
    }
    let shrunk = Shrunk {
        kept,
        minimal: certain,
    };
    let tried = answered.get() || certain;
    (shrunk, tried)
}

/// Drops the state from a search's answer: the oracle only needs the verdict.
pub(crate) fn verdict<S>(found: Result<Linearization<S>, Stop>) -> Result<Linearization<()>, Stop> {
    found.map(|l| match l {
        Linearization::Linearizable { order } => Linearization::Linearizable { order },
        Linearization::NotLinearizable {
            longest_prefix,
            stuck,
            ..
        } => Linearization::NotLinearizable {
            longest_prefix,
            stuck,
            state: (),
        },
        Linearization::Unknown => Linearization::Unknown,
    })
}

impl Witness {
    /// The witness of `shrunk`, each kept position named by `name`, shrunk from `from`
    /// operations in `took`.
    pub(crate) fn new(
        (shrunk, tried): &(Shrunk, bool),
        name: &dyn Fn(usize) -> OpSummary,
        from: usize,
        took: Duration,
    ) -> Witness {
        let mut operations: Vec<OpSummary> = shrunk.kept.iter().map(|&i| name(i)).collect();
        operations.sort_by_key(|o| o.span.invoke_index);
        let mut witness = Witness {
            operations,
            shrunk_from: from,
            minimal: shrunk.minimal,
            shrunk: *tried,
            seconds: took.as_secs_f64(),
            timeline: Vec::new(),
            cycle: None,
            context: Vec::new(),
            because: Vec::new(),
        };
        witness.timeline = witness.render();
        witness
    }

    /// Adds operations shown for context and the sentences that say why.
    pub(crate) fn explain(&mut self, mut context: Vec<OpSummary>, because: Vec<String>) {
        context.sort_by_key(|o| o.span.invoke_index);
        context.dedup_by_key(|o| o.span.invoke_index);
        context.retain(|c| {
            !self
                .operations
                .iter()
                .any(|o| o.span.invoke_index == c.span.invoke_index)
        });
        self.context = context;
        self.because = because;
        self.timeline = self.render();
    }

    /// The timeline: every operation, context ones marked, in invocation order.
    fn render(&self) -> Vec<String> {
        let mut all: Vec<(&OpSummary, bool)> = self
            .operations
            .iter()
            .map(|o| (o, false))
            .chain(self.context.iter().map(|o| (o, true)))
            .collect();
        all.sort_by_key(|(o, _)| o.span.invoke_index);
        all.into_iter()
            .map(|(o, context)| {
                let line = line(o);
                if context {
                    format!("{line} (context)")
                } else {
                    line
                }
            })
            .collect()
    }

    /// `minimal witness (3 of 250 operations)`, or why it may not be minimal.
    pub fn heading(&self) -> String {
        let n = self.operations.len();
        let ops = if self.shrunk_from == 1 {
            "operation"
        } else {
            "operations"
        };
        let context = match self.context.len() {
            0 => String::new(),
            c => format!(", shown with {c} more for context"),
        };
        if self.minimal {
            format!(
                "minimal witness ({n} of {} {ops}{context}):",
                self.shrunk_from
            )
        } else if !self.shrunk {
            format!(
                "witness ({n} of {} {ops}{context}; not shrunk: out of time):",
                self.shrunk_from
            )
        } else {
            format!(
                "witness ({n} of {} {ops}{context}; shrinking ran out of time, so it may not be \
                 minimal):",
                self.shrunk_from
            )
        }
    }
}

/// What an operation did, by what it returned if it observed: `read returned 1`, `write 2`.
pub(crate) fn what(op: &OpSummary) -> String {
    match (op.outcome, op.f.as_str()) {
        (EventType::Ok, "read" | "get" | "dequeue") => format!("{} returned {}", op.f, op.value),
        _ => op.action(),
    }
}

/// `read returned 1 by process 2: invoked at 1.190 s, ok at 1.204 s` (event numbers for a
/// history without times).
fn line(op: &OpSummary) -> String {
    let at = |time| op.at(time);
    let what = what(op);
    let invoked = at(op.span.invoke_time);
    let ended = match (op.outcome, op.span.complete_time) {
        (EventType::Ok, Some(t)) => format!("ok at {}", at(t)),
        // Only a failed cas that was evaluated reaches a witness: it observed the value.
        (EventType::Fail, Some(t)) => match op.value.as_array().map(Vec::as_slice) {
            Some([expected, _]) if op.f == "cas" => {
                format!(
                    "failed at {}, reporting the value was not {expected}",
                    at(t)
                )
            }
            _ => format!("failed at {}", at(t)),
        },
        (_, Some(t)) => format!(
            "no definite answer at {} (it may take effect any time after its invocation, or \
             never)",
            at(t)
        ),
        (_, None) => {
            "never answered (it may take effect any time after its invocation, or never)".into()
        }
    };
    format!(
        "{what} by process {}{}: invoked at {invoked}, {ended}",
        op.process,
        op.on_node()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check_events;
    use crate::history::span::Span;
    use crate::history::times::Times;
    use crate::options::ModelKind;
    use crate::testing::history_builder::*;
    use serde_json::{json, Value};

    #[test]
    fn budget_is_twice_the_check_plus_a_floor_and_capped() {
        assert_eq!(budget_for(Duration::ZERO), FLOOR);
        assert_eq!(
            budget_for(Duration::from_millis(100)),
            Duration::from_millis(210)
        );
        assert_eq!(budget_for(Duration::from_secs(3600)), CAP);
    }

    #[test]
    fn a_stale_read_among_many_operations_shrinks_to_the_read_with_its_context() {
        // Fifty unrelated writes by process 3 surround the stale read.
        let mut events = Vec::new();
        for i in 0..50u64 {
            events.push(on(json!("x"), invoke(10 * i, 3, "write", json!(100 + i))));
            events.push(on(json!("x"), ok(10 * i + 1, 3, "write", json!(100 + i))));
        }
        events.extend(stale_read().into_iter().map(|e| on(json!("x"), e)));
        let report = check_events(
            &history(events),
            &options(ModelKind::CasRegister, Value::Null),
        )
        .unwrap();
        let witness = first_witness(&report);
        assert!(witness.minimal);
        assert_eq!(witness.shrunk_from, 53);
        // The read alone proves it: write 2 always falls between write 1 and the read. The two
        // writes are shown as context, with the sentence that says so.
        assert_eq!(witness.operations.len(), 1);
        assert_eq!(witness.context.len(), 2);
        assert_eq!(
            witness.timeline,
            [
                "write 1 by process 1: invoked at 1.000 s, ok at 1.100 s (context)",
                "write 2 by process 1: invoked at 1.150 s, ok at 1.180 s (context)",
                "read returned 1 by process 2: invoked at 1.190 s, ok at 1.204 s",
            ]
        );
        assert_eq!(
            witness.because,
            ["read of x returned 1 at 1.204 s, but write 2 to x was acknowledged at 1.180 s, and \
              every write of 1 before the read had completed before write 2 began"]
        );
        assert!(witness.cycle.is_some());
    }

    #[test]
    fn repeated_values_shrink_through_the_search() {
        // Values repeat, so the search is the oracle: write 1, write 2, then a read of 1 that
        // only an indeterminate write of 1 (invoked after the read ended) could explain.
        let events = history([
            invoke(0, 1, "write", json!(1)),
            ok(10, 1, "write", json!(1)),
            invoke(20, 1, "write", json!(2)),
            ok(30, 1, "write", json!(2)),
            invoke(35, 4, "write", json!(2)),
            ok(36, 4, "write", json!(2)),
            invoke(40, 2, "read", json!(null)),
            ok(50, 2, "read", json!(1)),
            invoke(60, 3, "write", json!(1)),
            info(70, 3, "write", json!(1)),
        ]);
        let report = check_events(&events, &options(ModelKind::CasRegister, Value::Null)).unwrap();
        let witness = first_witness(&report);
        assert!(witness.minimal);
        // The read alone proves it: the acknowledged write of 2 at 35–36 always falls between
        // the only earlier write of 1 and the read, and the other write of 1 began too late.
        let kept: Vec<u64> = witness
            .operations
            .iter()
            .map(|o| o.span.invoke_index)
            .collect();
        assert_eq!(kept, [6]);
        let context: Vec<u64> = witness
            .context
            .iter()
            .map(|o| o.span.invoke_index)
            .collect();
        assert_eq!(context, [0, 4]);
    }

    #[test]
    fn indeterminate_operations_stay_indeterminate() {
        let ops = [OpSummary {
            process: crate::history::event::Process::Client(3),
            f: "write".into(),
            value: json!(5),
            outcome: EventType::Info,
            span: Span {
                invoke_index: 4,
                complete_index: None,
                invoke_time: 2_500_000_000,
                complete_time: None,
            },
            node: None,
            times: Times::Nanos,
        }];
        assert_eq!(
            ops.iter().map(line).collect::<Vec<_>>(),
            [
                "write 5 by process 3: invoked at 2.500 s, never answered (it may take effect any \
              time after its invocation, or never)"
            ]
        );
    }

    #[test]
    fn histories_without_times_show_event_numbers() {
        let ops = [OpSummary {
            process: crate::history::event::Process::Client(1),
            f: "cas".into(),
            value: json!([1, 2]),
            outcome: EventType::Fail,
            span: Span {
                invoke_index: 7,
                complete_index: Some(9),
                invoke_time: 7,
                complete_time: Some(9),
            },
            node: None,
            times: Times::EventOrder,
        }];
        assert_eq!(
            ops.iter().map(line).collect::<Vec<_>>(),
            [
                "cas 1 -> 2 by process 1: invoked at event 7, failed at event 9, reporting the \
                 value was not 1"
            ]
        );
    }
}
