//! Minimal witnesses: the few operations of an invalid key that are already not linearizable on
//! their own, so a person can check the verdict by eye.
//!
//! ```text
//!   key x, 250 operations, invalid ──ddmin (the search as oracle, under a deadline)──►
//!     write 1 by process 1: invoked at 1.000 s, ok at 1.100 s
//!     write 2 by process 1: invoked at 1.150 s, ok at 1.180 s      3 operations, and removing
//!     read returned 1 by process 2: invoked at 1.190 s, ok at 1.204 s    any one makes them valid
//! ```
//!
//! Shrinking works on whole operations (an invocation with its completion); an indeterminate
//! operation stays indeterminate. The oracle is the key's own decision procedure on the subset
//! (the unique-value fast path where it applies, else the search) with a deadline: an answer it
//! could not reach in time counts as "not shown invalid", so the witness is always really
//! invalid, but it is then not proven 1-minimal. Candidate subsets the check already points at
//! (a stale read and its two writes, the operations a fast-path violation names, the longest
//! consistent order with the operations stuck after it) are tried first: when one is invalid,
//! delta debugging starts from it instead of from the whole key.
//!
//! Shrinking may take at most [`budget_for`] the key's own check time: twice it, plus a small
//! floor, capped, and never past the check's deadline.

use crate::budget::{Budget, Stop};
use crate::cas_register::RegisterOp;
use crate::cycle::Cycle;
use crate::ddmin::{ddmin, Probe, Shrunk};
use crate::event::EventType;
use crate::interner::ValueId;
use crate::model_check::HistoryModel;
use crate::op_summary::{seconds, OpSummary};
use crate::wgl::{Interval, Linearization};
use serde::Serialize;
use std::collections::HashMap;
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
    /// How long shrinking took, in seconds.
    pub seconds: f64,
    /// The witness as a timeline in words, one line per operation.
    pub timeline: Vec<String>,
    /// For register keys with unique values: the loop of ordering constraints among the
    /// witness's operations that no linearization can satisfy, when there is one.
    pub cycle: Option<Cycle>,
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
/// trying `seeds` (subsets by position) first, within `allowed` and the check's `budget`.
///
/// Every subset tested is first passed through `close`, which adds back what the subset's own
/// operations depend on (see [`register_closure`]): only such a subset is a *sound* witness,
/// one whose non-linearizability proves the whole key's. Returns the positions kept, in order.
pub(crate) fn shrink<O: Clone>(
    intervals: &[Interval<O>],
    seeds: Vec<Vec<usize>>,
    allowed: Duration,
    budget: &Budget,
    close: impl Fn(&[usize]) -> Vec<usize>,
    decide: impl Fn(&[Interval<O>], &Budget) -> Result<Linearization<()>, Stop>,
) -> Shrunk {
    let own = Instant::now() + allowed;
    let deadline = budget.deadline().map_or(own, |d| d.min(own));
    // Memory other keys' searches hold now is not available to this one.
    let memory = budget
        .memory_limit()
        .map(|limit| limit.saturating_sub(budget.reserved()));
    let oracle = Budget::new(Some(deadline), memory);
    let test = |closed: &[usize]| {
        let sub: Vec<Interval<O>> = closed.iter().map(|&i| intervals[i].clone()).collect();
        match decide(&sub, &oracle) {
            Ok(Linearization::NotLinearizable { .. }) => Probe::Fails,
            Ok(Linearization::Linearizable { .. }) => Probe::Passes,
            Ok(Linearization::Unknown) | Err(_) => Probe::Unknown,
        }
    };
    let mut start: Vec<usize> = (0..intervals.len()).collect();
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
            return Shrunk {
                kept,
                minimal: false,
            };
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
    Shrunk {
        kept,
        minimal: certain,
    }
}

/// What a subset of register operations depends on: every write (or cas) of a value some
/// operation in it observed, repeatedly (a cas it adds observes a value too); and, once it holds
/// a failed cas that observed a mismatch, every write.
///
/// Why that makes the subset sound: take a linearization of the whole key and delete the
/// operations outside the subset. Deleting a read or a mismatch changes no state. Deleting a
/// write of `u` changes the state only between it and the next write, from `u` to the value
/// before it; no read or cas left observes `u` (all of `u`'s writes are kept when one does), and
/// a mismatch might then see its expected value, hence all writes stay when one is present. So
/// the rest is still a legal order within the same intervals: if the subset is not
/// linearizable, neither is the key.
pub(crate) fn register_closure(
    ops: &[Interval<RegisterOp>],
) -> impl Fn(&[usize]) -> Vec<usize> + '_ {
    let mut writers: HashMap<ValueId, Vec<usize>> = HashMap::new();
    for (i, o) in ops.iter().enumerate() {
        match o.op {
            RegisterOp::Write(v) | RegisterOp::Cas { new: v, .. } => {
                writers.entry(v).or_default().push(i)
            }
            RegisterOp::Read(_) | RegisterOp::CasMismatch(_) => {}
        }
    }
    move |subset: &[usize]| {
        let mut kept = vec![false; ops.len()];
        let mut work: Vec<usize> = subset.to_vec();
        let mut all_writes = false;
        while let Some(i) = work.pop() {
            if std::mem::replace(&mut kept[i], true) {
                continue;
            }
            let observed = match ops[i].op {
                RegisterOp::Read(v) | RegisterOp::Cas { expected: v, .. } => Some(v),
                RegisterOp::CasMismatch(_) => {
                    all_writes = true;
                    None
                }
                RegisterOp::Write(_) => None,
            };
            if let Some(w) = observed.and_then(|v| writers.get(&v)) {
                work.extend(w.iter().copied().filter(|&w| !kept[w]));
            }
        }
        if all_writes {
            // Every write, so every value a kept cas expected has its writers too.
            for &w in writers.values().flatten() {
                kept[w] = true;
            }
        }
        (0..ops.len()).filter(|&i| kept[i]).collect()
    }
}

/// What a subset of a [`HistoryModel`]'s operations depends on: every operation that may change
/// the state. Deleting a pure observation from a linearization leaves it legal; deleting an
/// update might not (a later read saw its effect), so updates are kept and only observations
/// are shrunk away.
pub(crate) fn updates_closure<M: HistoryModel>(
    ops: &[Interval<M::Op>],
) -> impl Fn(&[usize]) -> Vec<usize> + '_ {
    move |subset: &[usize]| {
        let mut kept = vec![false; ops.len()];
        for &i in subset {
            kept[i] = true;
        }
        (0..ops.len())
            .filter(|&i| kept[i] || !M::observes_only(&ops[i].op))
            .collect()
    }
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
    /// operations in `took`, explained by `cycle` if one was found.
    pub(crate) fn new(
        shrunk: &Shrunk,
        name: &dyn Fn(usize) -> OpSummary,
        from: usize,
        took: Duration,
        cycle: Option<Cycle>,
    ) -> Witness {
        let mut operations: Vec<OpSummary> = shrunk.kept.iter().map(|&i| name(i)).collect();
        operations.sort_by_key(|o| o.invoke_index);
        let timeline = timeline(&operations);
        Witness {
            operations,
            shrunk_from: from,
            minimal: shrunk.minimal,
            seconds: took.as_secs_f64(),
            timeline,
            cycle,
        }
    }

    /// `minimal witness (3 of 250 operations)`, or why it may not be minimal.
    pub fn heading(&self) -> String {
        let n = self.operations.len();
        let ops = if n == 1 { "operation" } else { "operations" };
        if self.minimal {
            format!("minimal witness ({n} of {} {ops}):", self.shrunk_from)
        } else {
            format!(
                "witness ({n} of {} {ops}; shrinking ran out of time, so it may not be minimal):",
                self.shrunk_from
            )
        }
    }
}

/// One line per operation, in invocation order.
///
/// Times are seconds since the history began (the history format's times are already relative
/// to it). A history without times (Knossos's EDN, a Jepsen log: each event's time is its index)
/// shows event numbers instead, which order the operations just as well.
fn timeline(ops: &[OpSummary]) -> Vec<String> {
    let indexed = ops.iter().all(|o| {
        o.invoke_time == o.invoke_index
            && o.complete_time.is_none_or(|t| Some(t) == o.complete_index)
    });
    let at = |nanos: u64| {
        if indexed {
            format!("event {nanos}")
        } else {
            seconds(nanos)
        }
    };
    ops.iter().map(|o| line(o, &at)).collect()
}

/// `read returned 1 by process 2: invoked at 1.190 s, ok at 1.204 s`.
fn line(op: &OpSummary, at: &dyn Fn(u64) -> String) -> String {
    let what = match (op.outcome, op.f.as_str()) {
        (EventType::Ok, "read" | "get" | "dequeue") => format!("{} returned {}", op.f, op.value),
        _ => op.action(),
    };
    let invoked = at(op.invoke_time);
    let ended = match (op.outcome, op.complete_time) {
        (EventType::Ok, Some(t)) => format!("ok at {}", at(t)),
        // Only a failed cas that was evaluated reaches a witness: it observed the value.
        (EventType::Fail, Some(t)) => match op.value.as_array().map(Vec::as_slice) {
            Some([expected, _]) if op.f == "cas" => {
                format!("failed at {} because the value was not {expected}", at(t))
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
        "{what} by process {}: invoked at {invoked}, {ended}",
        op.process
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{check_events, CheckOptions};
    use crate::history_builder::*;
    use serde_json::json;

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
    fn a_stale_read_among_many_operations_shrinks_to_three() {
        // Fifty unrelated writes by process 3 surround the stale read.
        let mut events = Vec::new();
        for i in 0..50u64 {
            events.push(on(json!("x"), invoke(10 * i, 3, "write", json!(100 + i))));
            events.push(on(json!("x"), ok(10 * i + 1, 3, "write", json!(100 + i))));
        }
        events.extend([
            on(json!("x"), invoke(1000, 1, "write", json!(1))),
            on(json!("x"), ok(1100, 1, "write", json!(1))),
            on(json!("x"), invoke(1150, 1, "write", json!(2))),
            on(json!("x"), ok(1180, 1, "write", json!(2))),
            on(json!("x"), invoke(1190, 2, "read", json!(null))),
            on(json!("x"), ok(1204, 2, "read", json!(1))),
        ]);
        let report = check_events(&history(events), &CheckOptions::default()).unwrap();
        let witness = report.keys[0]
            .anomaly
            .as_ref()
            .unwrap()
            .witness
            .clone()
            .unwrap();
        assert!(witness.minimal);
        assert_eq!(witness.shrunk_from, 53);
        assert_eq!(
            witness.timeline,
            [
                "write 1 by process 1: invoked at 1.000 s, ok at 1.100 s",
                "write 2 by process 1: invoked at 1.150 s, ok at 1.180 s",
                "read returned 1 by process 2: invoked at 1.190 s, ok at 1.204 s",
            ]
        );
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
        let report = check_events(&events, &CheckOptions::default()).unwrap();
        let witness = report.keys[0]
            .anomaly
            .as_ref()
            .unwrap()
            .witness
            .clone()
            .unwrap();
        assert!(witness.minimal);
        // The read alone would be invalid too (nothing writes 1), but that would not prove the
        // key invalid: every write of 1 stays, and one write of 2 makes the read stale.
        let kept: Vec<u64> = witness.operations.iter().map(|o| o.invoke_index).collect();
        assert!(kept == [0, 2, 6, 8] || kept == [0, 4, 6, 8], "{kept:?}");
    }

    #[test]
    fn indeterminate_operations_stay_indeterminate() {
        let ops = [OpSummary {
            process: crate::event::Process::Client(3),
            f: "write".into(),
            value: json!(5),
            outcome: EventType::Info,
            invoke_index: 4,
            complete_index: None,
            invoke_time: 2_500_000_000,
            complete_time: None,
        }];
        assert_eq!(
            timeline(&ops),
            [
                "write 5 by process 3: invoked at 2.500 s, never answered (it may take effect any \
              time after its invocation, or never)"
            ]
        );
    }

    #[test]
    fn histories_without_times_show_event_numbers() {
        let ops = [OpSummary {
            process: crate::event::Process::Client(1),
            f: "cas".into(),
            value: json!([1, 2]),
            outcome: EventType::Fail,
            invoke_index: 7,
            complete_index: Some(9),
            invoke_time: 7,
            complete_time: Some(9),
        }];
        assert_eq!(
            timeline(&ops),
            [
                "cas 1 -> 2 by process 1: invoked at event 7, failed at event 9 because the value \
              was not 1"
            ]
        );
    }
}
