//! Jepsen's counter checker: a weaker promise than a linearizable counter
//! ([`crate::models::counter`]). Every read must lie between what had certainly been added when
//! it began and what may have been added by the time it ended.
//!
//! ```text
//!   add 1   |--|ok
//!   add 2      |------|ok
//!   add 4         |--------------|info
//!   read → ?    |--|                       within [1, 7]: add 1 done; adds 2 and 4 invoked
//!   read → ?                        |--|   final: within [3, 7]
//! ```
//!
//! Operations: `add`, whose value is a non-negative delta, and `read`, whose `ok` value is an
//! integer. For each `ok` read the lower bound is the initial value plus the `ok` adds that
//! completed before the read was invoked; the upper bound adds every `ok` or `info` add invoked
//! before the read completed (failed adds certainly did not happen). A final read (one that began
//! after every add had ended, `final_reads.rs`) is thus held to [sum of ok adds, sum of ok
//! and info adds]: that is where lost adds show, so without a final read the verdict is at best
//! unknown. The counter starts at 0 unless `--initial` gives another integer.

use crate::history::history_error::HistoryError;
use crate::history::op_summary::OpSummary;
use crate::history::operation::{Operation, Outcome};
use crate::models::history_model::BadInitial;
use crate::options::ModelKind;
use crate::validity::Validity;
use crate::weak::final_reads::FinalReads;
use serde::Serialize;
use serde_json::Value;
use std::fmt;

/// The counter-bounds verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CounterBoundsReport {
    /// Invalid if any read is out of bounds; unknown without a final read.
    pub validity: Validity,
    /// Why the verdict is unknown.
    pub reason: Option<String>,
    /// `ok` reads checked.
    pub reads: usize,
    /// How many of them were final.
    pub final_reads: usize,
    /// The initial value plus every `ok` add: a final read's lower bound.
    pub acknowledged: i64,
    /// The initial value plus every add that did not fail: a final read's upper bound.
    pub possible: i64,
    /// The reads outside their bounds, in invocation order.
    pub violations: Vec<BoundsViolation>,
}

/// A read outside its bounds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BoundsViolation {
    /// The read (its value is what it returned).
    pub read: OpSummary,
    /// What it returned.
    pub value: i64,
    /// What had certainly been added when it began.
    pub lower: i64,
    /// What may have been added by the time it ended.
    pub upper: i64,
    /// Whether it began after every add had ended.
    pub final_read: bool,
}

/// Running totals of deltas, ordered by an event index, to sum those before any index.
struct PrefixSums {
    /// (event index, total of the deltas at or before it), by index.
    totals: Vec<(u64, i64)>,
}

impl PrefixSums {
    fn new(mut deltas: Vec<(u64, i64)>) -> Self {
        deltas.sort_unstable();
        let mut total = 0i64;
        let totals = deltas
            .into_iter()
            .map(|(at, d)| {
                total = total.saturating_add(d);
                (at, total)
            })
            .collect();
        PrefixSums { totals }
    }

    /// The sum of the deltas at indexes before `index`.
    fn before(&self, index: u64) -> i64 {
        match self.totals.partition_point(|&(at, _)| at < index) {
            0 => 0,
            n => self.totals[n - 1].1,
        }
    }

    /// The sum of every delta.
    fn all(&self) -> i64 {
        self.totals.last().map_or(0, |&(_, t)| t)
    }
}

/// Checks a counter history's reads against their bounds (see the module docs).
pub fn check_counter_bounds(
    ops: &[Operation],
    initial: &Value,
    faults_end: Option<u64>,
) -> Result<CounterBoundsReport, HistoryError> {
    let mut acknowledged = Vec::new();
    let mut possible = Vec::new();
    let mut reads = Vec::new();
    for op in ops {
        let malformed = |value: &Value, reason: &str| HistoryError::MalformedValue {
            index: op.span.invoke_index,
            f: op.f.clone(),
            value: value.clone(),
            reason: reason.into(),
        };
        match op.f.as_str() {
            "add" => {
                let delta = op.value.as_i64().filter(|d| *d >= 0).ok_or_else(|| {
                    malformed(
                        &op.value,
                        "a counter-bounds add must be a non-negative integer",
                    )
                })?;
                match op.outcome {
                    Outcome::Ok => {
                        let done = op.span.complete_index.expect("an ok operation completed");
                        acknowledged.push((done, delta));
                        possible.push((op.span.invoke_index, delta));
                    }
                    Outcome::Info => possible.push((op.span.invoke_index, delta)),
                    Outcome::Fail { .. } => {}
                }
            }
            "read" if op.outcome == Outcome::Ok => {
                let value = op.output.as_i64().ok_or_else(|| {
                    malformed(&op.output, "a counter read must return an integer")
                })?;
                reads.push((op, value));
            }
            "read" => {}
            _ => return Err(ModelKind::CounterBounds.unsupported(op)),
        }
    }

    let boundary = FinalReads::new(ops, "add", faults_end);
    let final_reads = reads.iter().filter(|(r, _)| boundary.is_final(r)).count();
    let acknowledged = PrefixSums::new(acknowledged);
    let possible = PrefixSums::new(possible);
    let mut report = CounterBoundsReport {
        validity: Validity::Valid,
        reason: None,
        reads: reads.len(),
        final_reads,
        acknowledged: acknowledged.all(),
        possible: possible.all(),
        violations: Vec::new(),
    };
    let start = match initial {
        Value::Null => 0,
        other => match other.as_i64() {
            Some(start) => start,
            None => {
                let bad = BadInitial {
                    model: ModelKind::CounterBounds.name(),
                    value: other.clone(),
                    expected: "an integer",
                };
                report.validity = Validity::Unknown;
                report.reason = Some(bad.to_string());
                return Ok(report);
            }
        },
    };
    report.acknowledged = report.acknowledged.saturating_add(start);
    report.possible = report.possible.saturating_add(start);
    for &(read, value) in &reads {
        let done = read.span.complete_index.expect("an ok operation completed");
        let lower = start.saturating_add(acknowledged.before(read.span.invoke_index));
        let upper = start.saturating_add(possible.before(done));
        if value < lower || value > upper {
            report.violations.push(BoundsViolation {
                read: OpSummary::from(read),
                value,
                lower,
                upper,
                final_read: boundary.is_final(read),
            });
        }
    }
    if !report.violations.is_empty() {
        report.validity = Validity::Invalid;
    } else if final_reads == 0 {
        report.validity = Validity::Unknown;
        report.reason =
            Some("no read began after the last add ended, so lost adds cannot be told".into());
    }
    Ok(report)
}

/// At most this many violations are listed in the human summary.
const SHOWN: usize = 5;

impl fmt::Display for CounterBoundsReport {
    /// A verdict line with the counts, then each read out of bounds.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: counter-bounds: {} reads ({} final), acknowledged adds reach {}, indeterminate \
             ones up to {}; {} out of bounds",
            self.validity,
            self.reads,
            self.final_reads,
            self.acknowledged,
            self.possible,
            self.violations.len()
        )?;
        if let Some(reason) = &self.reason {
            writeln!(f, "  {reason}")?;
        }
        for v in self.violations.iter().take(SHOWN) {
            let kind = if v.final_read { "final " } else { "" };
            writeln!(f, "  {kind}{} outside [{}, {}]", v.read, v.lower, v.upper)?;
        }
        if self.violations.len() > SHOWN {
            writeln!(f, "  ... and {} more", self.violations.len() - SHOWN)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::event::Event;
    use crate::history::operation::pair;
    use crate::testing::history_builder::*;
    use serde_json::json;

    fn check(events: Vec<Event>) -> CounterBoundsReport {
        check_counter_bounds(&pair(&history(events)).unwrap(), &Value::Null, None).unwrap()
    }

    /// The module docs' history, its two reads returning `first` and `last`.
    fn example(first: i64, last: i64) -> Vec<Event> {
        vec![
            invoke(0, 1, "add", json!(1)),
            ok(10, 1, "add", json!(1)),
            invoke(20, 1, "add", json!(2)),
            invoke(25, 2, "read", json!(null)),
            invoke(30, 3, "add", json!(4)),
            ok(35, 2, "read", json!(first)),
            ok(40, 1, "add", json!(2)),
            info(50, 3, "add", json!(4)),
            invoke(60, 2, "read", json!(null)),
            ok(70, 2, "read", json!(last)),
        ]
    }

    /// Each violation as (invoke index, value, lower, upper, final).
    fn violations(report: &CounterBoundsReport) -> Vec<(u64, i64, i64, i64, bool)> {
        report
            .violations
            .iter()
            .map(|v| {
                (
                    v.read.span.invoke_index,
                    v.value,
                    v.lower,
                    v.upper,
                    v.final_read,
                )
            })
            .collect()
    }

    #[test]
    fn reads_within_their_bounds_are_valid() {
        for (first, last) in [(1, 3), (7, 7), (3, 7), (1, 5)] {
            let report = check(example(first, last));
            assert_eq!(report.validity, Validity::Valid, "reads {first}, {last}");
        }
        let report = check(example(1, 3));
        assert_eq!((report.reads, report.final_reads), (2, 1));
        assert_eq!((report.acknowledged, report.possible), (3, 7));
        assert_eq!(
            report.to_string(),
            "valid: counter-bounds: 2 reads (1 final), acknowledged adds reach 3, indeterminate \
             ones up to 7; 0 out of bounds\n"
        );
    }

    #[test]
    fn reads_outside_their_bounds_are_invalid() {
        let report = check(example(0, 2));
        assert_eq!(report.validity, Validity::Invalid);
        assert_eq!(
            violations(&report),
            [(3, 0, 1, 7, false), (8, 2, 3, 7, true)]
        );
        assert_eq!(
            report.to_string(),
            "invalid: counter-bounds: 2 reads (1 final), acknowledged adds reach 3, \
             indeterminate ones up to 7; 2 out of bounds\n\
             \x20 read 0 by process 2 (invoked 0.025 s, ok at 0.035 s) outside [1, 7]\n\
             \x20 final read 2 by process 2 (invoked 0.060 s, ok at 0.070 s) outside [3, 7]\n"
        );
        assert_eq!(violations(&check(example(8, 3))), [(3, 8, 1, 7, false)]);
        assert_eq!(violations(&check(example(1, 8))), [(8, 8, 3, 7, true)]);
    }

    #[test]
    fn failed_adds_never_happened_and_the_initial_value_offsets_both_bounds() {
        let h = pair(&history([
            invoke(0, 1, "add", json!(5)),
            fail(10, 1, "add", json!(5)),
            invoke(20, 2, "read", json!(null)),
            ok(30, 2, "read", json!(5)),
        ]))
        .unwrap();
        let report = check_counter_bounds(&h, &Value::Null, None).unwrap();
        assert_eq!(violations(&report), [(2, 5, 0, 0, true)]);
        let report = check_counter_bounds(&h, &json!(5), None).unwrap();
        assert_eq!(report.validity, Validity::Valid);
        assert_eq!((report.acknowledged, report.possible), (5, 5));
    }

    #[test]
    fn without_a_final_read_the_verdict_is_unknown() {
        let report = check(vec![
            invoke(0, 2, "read", json!(null)),
            ok(10, 2, "read", json!(0)),
            invoke(20, 1, "add", json!(1)),
        ]);
        assert_eq!(report.validity, Validity::Unknown);
        assert_eq!(
            report.reason.as_deref(),
            Some("no read began after the last add ended, so lost adds cannot be told")
        );
    }

    #[test]
    fn negative_deltas_bad_reads_and_bad_initial_values() {
        let ops = pair(&history([invoke(0, 1, "add", json!(-1))])).unwrap();
        assert_eq!(
            check_counter_bounds(&ops, &Value::Null, None)
                .unwrap_err()
                .to_string(),
            "operation invoked at event 0: add value -1 is malformed: a counter-bounds add must \
             be a non-negative integer"
        );
        let ops = pair(&history([
            invoke(0, 1, "read", json!(null)),
            ok(1, 1, "read", json!("1")),
        ]))
        .unwrap();
        assert!(check_counter_bounds(&ops, &Value::Null, None).is_err());
        let ops = pair(&history([
            invoke(0, 1, "read", json!(null)),
            ok(1, 1, "read", json!(1)),
        ]))
        .unwrap();
        let report = check_counter_bounds(&ops, &json!([1]), None).unwrap();
        assert_eq!(report.validity, Validity::Unknown);
        assert_eq!(
            report.reason.as_deref(),
            Some(
                "the counter-bounds model cannot start from [1]: the initial value must be an \
                 integer"
            )
        );
    }
}
