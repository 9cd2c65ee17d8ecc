//! Jepsen's set-full checker, simplified: was every acknowledged add kept, and did reads return
//! only what was added? A weaker guarantee than a linearizable set ([`crate::models::set`]): reads
//! may lag, as long as nothing acknowledged is lost for good.
//!
//! ```text
//!   add 1   |--|ok
//!   add 2      |--|ok
//!   add 3         |--|info
//!   read → [1]          |--|           stale: 2 was acknowledged before it began, and is read later
//!   read → [1, 2, 7]          |--|     final: 7 unexpected (never added); 3 never read (fine)
//!   read → [2]                |--|     final: 1 lost (acknowledged, missing from a final read)
//! ```
//!
//! Operations: `add` (the value is the element) and `read` (its `ok` value is an array of the
//! elements). A final read is one that began after every add had ended (`final_reads.rs`);
//! with several (one per node, say) each is checked and reported on its own. The findings:
//! - **lost**: acknowledged (`ok`) adds missing from a final read;
//! - **unexpected**: elements a read returned that no add may have added (never added, or only
//!   by adds that failed);
//! - **stale**: elements acknowledged before a non-final read began, missing from it, yet
//!   present in a read that began later;
//! - **never read**: elements added only indeterminately and in no read (fine: they may never
//!   have happened).
//!
//! A history with lost or unexpected elements is invalid. Stale reads make it invalid only
//! under [`SetFullOptions::linearizable_reads`]. Without a final read lost elements cannot be
//! told, and the verdict is at best unknown.

use crate::history::history_error::HistoryError;
use crate::history::op_summary::OpSummary;
use crate::history::operation::{Operation, Outcome};
use crate::options::ModelKind;
use crate::search::partition::compare_keys;
use crate::validity::Validity;
use crate::weak::final_reads::FinalReads;
use serde::Serialize;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::fmt;

/// How strict the set-full checker is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SetFullOptions {
    /// Reads must see every add acknowledged before they began: stale reads are invalid.
    pub linearizable_reads: bool,
    /// The index of the history's last nemesis event, if any: only reads after it are final.
    pub faults_end: Option<u64>,
}

/// The set-full verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetFullReport {
    /// Invalid on lost or unexpected elements (or stale ones under linearizable reads); unknown
    /// without a final read.
    pub validity: Validity,
    /// Why the verdict is unknown.
    pub reason: Option<String>,
    /// Distinct elements some add that did not fail tried to add.
    pub attempted: usize,
    /// Distinct elements some `ok` add added.
    pub acknowledged: usize,
    /// `ok` reads, final or not.
    pub reads: usize,
    /// Every final read, with the acknowledged elements it lacks.
    pub final_reads: Vec<SetRead>,
    /// Acknowledged elements missing from some final read.
    pub lost: Elements,
    /// Elements read that no add may have added.
    pub unexpected: Elements,
    /// Each read that returned unexpected elements, with them (`missing` holds what it should
    /// not have returned): the node that answered it is the one that made them up.
    pub unexpected_reads: Vec<SetRead>,
    /// Elements some non-final read lacked though acknowledged before it and read later.
    pub stale: Elements,
    /// Each non-final read that lacked stale elements, with them.
    pub stale_reads: Vec<SetRead>,
    /// Elements added only indeterminately and never read.
    pub never_read: Elements,
}

/// One read and the elements it got wrong.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetRead {
    /// The read (its value is what it returned).
    pub read: OpSummary,
    /// The elements it should have returned and did not (or, among `unexpected_reads`, those it
    /// returned and should not have), sorted.
    pub missing: Vec<Value>,
}

/// A set of elements and how many there are.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Elements {
    /// How many elements.
    pub count: usize,
    /// The elements, sorted ([`compare_keys`] order).
    pub elements: Vec<Value>,
}

impl Elements {
    fn new(mut elements: Vec<Value>) -> Self {
        elements.sort_by(compare_keys);
        elements.dedup();
        Elements {
            count: elements.len(),
            elements,
        }
    }
}

/// What the history says about one element.
#[derive(Debug, Default)]
struct Element {
    /// The earliest completion of an `ok` add of it.
    acknowledged: Option<u64>,
    /// Some add of it ended `info` (or never ended).
    indeterminate: bool,
    /// The latest invocation of an `ok` read that returned it.
    last_read: Option<u64>,
}

/// Checks a set-full history (see the module docs).
pub fn check_set_full(
    ops: &[Operation],
    opts: &SetFullOptions,
) -> Result<SetFullReport, HistoryError> {
    let mut elements: HashMap<&Value, Element> = HashMap::new();
    let mut reads: Vec<(&Operation, HashSet<&Value>)> = Vec::new();
    for op in ops {
        match (op.f.as_str(), &op.outcome) {
            ("add", Outcome::Ok) => {
                let e = elements.entry(&op.value).or_default();
                e.acknowledged = e
                    .acknowledged
                    .min(op.span.complete_index)
                    .or(op.span.complete_index);
            }
            ("add", Outcome::Info) => elements.entry(&op.value).or_default().indeterminate = true,
            ("add" | "read", _) => {}
            _ => return Err(ModelKind::SetFull.unsupported(op)),
        }
        if op.f != "read" || op.outcome != Outcome::Ok {
            continue;
        }
        let Value::Array(seen) = &op.output else {
            return Err(HistoryError::MalformedValue {
                index: op.span.invoke_index,
                f: op.f.clone(),
                value: op.output.clone(),
                reason: "a set-full read must return an array of elements".into(),
            });
        };
        reads.push((op, seen.iter().collect()));
    }
    for (read, seen) in &reads {
        for &v in seen {
            let e = elements.entry(v).or_default();
            e.last_read = e.last_read.max(Some(read.span.invoke_index));
        }
    }

    let boundary = FinalReads::new(ops, "add", opts.faults_end);
    let acknowledged: Vec<(&Value, u64)> = elements
        .iter()
        .filter_map(|(&v, e)| Some((v, e.acknowledged?)))
        .collect();
    let mut final_reads = Vec::new();
    let mut stale_reads = Vec::new();
    for (read, seen) in &reads {
        let missing: Vec<Value> = if boundary.is_final(read) {
            acknowledged
                .iter()
                .filter(|(v, _)| !seen.contains(v))
                .map(|(v, _)| (*v).clone())
                .collect()
        } else {
            acknowledged
                .iter()
                .filter(|&&(v, at)| {
                    at < read.span.invoke_index
                        && !seen.contains(v)
                        && elements[v].last_read > Some(read.span.invoke_index)
                })
                .map(|(v, _)| (*v).clone())
                .collect()
        };
        let report = SetRead {
            read: OpSummary::from(*read),
            missing: Elements::new(missing).elements,
        };
        if boundary.is_final(read) {
            final_reads.push(report);
        } else if !report.missing.is_empty() {
            stale_reads.push(report);
        }
    }

    let lost = Elements::new(final_reads.iter().flat_map(|r| r.missing.clone()).collect());
    let stale = Elements::new(stale_reads.iter().flat_map(|r| r.missing.clone()).collect());
    // Read, yet never added by an add that may have taken effect.
    let is_unexpected =
        |e: &Element| e.last_read.is_some() && e.acknowledged.is_none() && !e.indeterminate;
    let unexpected_reads: Vec<SetRead> = reads
        .iter()
        .filter_map(|(read, seen)| {
            let wrong: Vec<Value> = seen
                .iter()
                .filter(|v| is_unexpected(&elements[*v]))
                .map(|v| (*v).clone())
                .collect();
            (!wrong.is_empty()).then(|| SetRead {
                read: OpSummary::from(*read),
                missing: Elements::new(wrong).elements,
            })
        })
        .collect();
    // Every element read was read by one of `reads`: the union of what they returned wrongly.
    let unexpected = Elements::new(
        unexpected_reads
            .iter()
            .flat_map(|r| r.missing.clone())
            .collect(),
    );
    let never_read = Elements::new(
        elements
            .iter()
            .filter(|(_, e)| e.indeterminate && e.acknowledged.is_none() && e.last_read.is_none())
            .map(|(&v, _)| v.clone())
            .collect(),
    );
    let attempted = elements
        .values()
        .filter(|e| e.acknowledged.is_some() || e.indeterminate)
        .count();

    let broken =
        lost.count > 0 || unexpected.count > 0 || (opts.linearizable_reads && stale.count > 0);
    let (validity, reason) = if broken {
        (Validity::Invalid, None)
    } else if final_reads.is_empty() {
        (
            Validity::Unknown,
            Some("no read began after the last add ended, so lost adds cannot be told".into()),
        )
    } else {
        (Validity::Valid, None)
    };
    Ok(SetFullReport {
        validity,
        reason,
        attempted,
        acknowledged: acknowledged.len(),
        reads: reads.len(),
        final_reads,
        lost,
        unexpected,
        unexpected_reads,
        stale,
        stale_reads,
        never_read,
    })
}

/// At most this many reads, and this many elements per list, are shown in the human summary.
const SHOWN: usize = 5;
const SHOWN_ELEMENTS: usize = 10;

/// `[1, 2, 3]`, or `[1, 2, ... 8 more]` past [`SHOWN_ELEMENTS`].
fn list(elements: &[Value]) -> String {
    let mut shown: Vec<String> = elements
        .iter()
        .take(SHOWN_ELEMENTS)
        .map(Value::to_string)
        .collect();
    if elements.len() > SHOWN_ELEMENTS {
        shown.push(format!("... {} more", elements.len() - SHOWN_ELEMENTS));
    }
    format!("[{}]", shown.join(", "))
}

/// `read by process 3 on n2 (invoked 1.000 s, ok at 1.100 s)`: a read without its (long) value.
fn describe_read(read: &OpSummary) -> String {
    let ended = match read.span.complete_time {
        Some(t) => format!("ok at {}", read.at(t)),
        None => "no reply".into(),
    };
    format!(
        "read by process {}{} (invoked {}, {ended})",
        read.process,
        read.on_node(),
        read.at(read.span.invoke_time)
    )
}

impl fmt::Display for SetFullReport {
    /// A verdict line with the counts, then what is wrong and where.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: set-full: {} of {} elements acknowledged, {} reads ({} final); {} lost, {} \
             unexpected, {} stale, {} never read",
            self.validity,
            self.acknowledged,
            self.attempted,
            self.reads,
            self.final_reads.len(),
            self.lost.count,
            self.unexpected.count,
            self.stale.count,
            self.never_read.count
        )?;
        if let Some(reason) = &self.reason {
            writeln!(f, "  {reason}")?;
        }
        let reads = |f: &mut fmt::Formatter<'_>, reads: Vec<&SetRead>, what: &str| {
            for r in reads.iter().take(SHOWN) {
                writeln!(
                    f,
                    "    {} {what} {}",
                    describe_read(&r.read),
                    list(&r.missing)
                )?;
            }
            if reads.len() > SHOWN {
                writeln!(f, "    ... and {} more reads", reads.len() - SHOWN)?;
            }
            Ok(())
        };
        if self.lost.count > 0 {
            writeln!(f, "  lost: {}", list(&self.lost.elements))?;
            let lacking = self.final_reads.iter().filter(|r| !r.missing.is_empty());
            reads(f, lacking.collect(), "(final) lacked")?;
        }
        if self.unexpected.count > 0 {
            writeln!(f, "  unexpected: {}", list(&self.unexpected.elements))?;
            reads(f, self.unexpected_reads.iter().collect(), "returned")?;
        }
        if self.stale.count > 0 {
            writeln!(f, "  stale: {}", list(&self.stale.elements))?;
            reads(f, self.stale_reads.iter().collect(), "lacked")?;
        }
        if self.never_read.count > 0 {
            writeln!(f, "  never read: {}", list(&self.never_read.elements))?;
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

    fn check(events: Vec<Event>) -> SetFullReport {
        check_set_full(&pair(&history(events)).unwrap(), &SetFullOptions::default()).unwrap()
    }

    fn add(ms: u64, p: u64, e: i64) -> Vec<Event> {
        done(ms, p, "add", json!(e), json!(e))
    }

    fn read(ms: u64, p: u64, seen: Value) -> Vec<Event> {
        done(ms, p, "read", json!(null), seen)
    }

    fn elements(values: Value) -> Elements {
        let elements = values.as_array().unwrap().clone();
        Elements {
            count: elements.len(),
            elements,
        }
    }

    #[test]
    fn every_acknowledged_add_in_the_final_read_is_valid() {
        //   add 1 |--|
        //   add 2        |--------|
        //   read → [1]     |--|          concurrent with add 2: need not see it
        //   read → [2, 1]               |--|   final
        let report = check(
            [
                add(0, 1, 1),
                vec![
                    invoke(20, 1, "add", json!(2)),
                    invoke(22, 2, "read", json!(null)),
                    ok(25, 2, "read", json!([1])),
                    ok(30, 1, "add", json!(2)),
                ],
                read(40, 2, json!([2, 1])),
            ]
            .concat(),
        );
        assert_eq!(report.validity, Validity::Valid);
        assert_eq!((report.attempted, report.acknowledged), (2, 2));
        assert_eq!(report.reads, 2);
        assert_eq!(report.final_reads.len(), 1);
        assert_eq!(report.final_reads[0].read.value, json!([2, 1]));
        assert_eq!(report.final_reads[0].missing, Vec::<Value>::new());
        assert_eq!(report.lost, Elements::default());
        assert_eq!(
            report.to_string(),
            "valid: set-full: 2 of 2 elements acknowledged, 2 reads (1 final); 0 lost, 0 \
             unexpected, 0 stale, 0 never read\n"
        );
    }

    #[test]
    fn the_module_example() {
        let report = check(vec![
            invoke(0, 1, "add", json!(1)),
            ok(10, 1, "add", json!(1)),
            invoke(20, 1, "add", json!(2)),
            ok(30, 1, "add", json!(2)),
            invoke(40, 1, "add", json!(3)),
            invoke(45, 2, "read", json!(null)),
            info(50, 1, "add", json!(3)),
            ok(55, 2, "read", json!([1])),
            invoke(60, 2, "read", json!(null)),
            invoke(60, 3, "read", json!(null)),
            answered_by("n2", ok(70, 2, "read", json!([1, 2, 7]))),
            ok(70, 3, "read", json!([2])),
        ]);
        assert_eq!(report.validity, Validity::Invalid);
        assert_eq!(report.lost, elements(json!([1])));
        assert_eq!(report.unexpected, elements(json!([7])));
        assert_eq!(report.stale, elements(json!([2])));
        assert_eq!(report.never_read, elements(json!([3])));
        assert_eq!((report.attempted, report.acknowledged), (3, 2));
        let lacked: Vec<(u64, &[Value])> = report
            .final_reads
            .iter()
            .map(|r| (r.read.span.invoke_index, r.missing.as_slice()))
            .collect();
        assert_eq!(lacked, [(8, &[][..]), (9, &[json!(1)][..])]);
        assert_eq!(report.stale_reads.len(), 1);
        assert_eq!(report.stale_reads[0].read.span.invoke_index, 5);
        assert_eq!(
            report.to_string(),
            "invalid: set-full: 2 of 3 elements acknowledged, 3 reads (2 final); 1 lost, 1 \
             unexpected, 1 stale, 1 never read\n\
             \x20 lost: [1]\n\
             \x20   read by process 3 (invoked 0.060 s, ok at 0.070 s) (final) lacked [1]\n\
             \x20 unexpected: [7]\n\
             \x20   read by process 2 on n2 (invoked 0.060 s, ok at 0.070 s) returned [7]\n\
             \x20 stale: [2]\n\
             \x20   read by process 2 (invoked 0.045 s, ok at 0.055 s) lacked [2]\n\
             \x20 never read: [3]\n"
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["lost"], json!({"count": 1, "elements": [1]}));
        assert_eq!(json["final_reads"][1]["missing"], json!([1]));
        assert_eq!(json["unexpected_reads"][0]["missing"], json!([7]));
        assert_eq!(json["unexpected_reads"][0]["read"]["node"], "n2");
    }

    #[test]
    fn stale_reads_are_invalid_only_when_reads_must_be_linearizable() {
        let h = pair(&history(
            [
                add(0, 1, 1),
                read(20, 2, json!([])),
                add(40, 1, 2),
                read(60, 2, json!([1, 2])),
            ]
            .concat(),
        ))
        .unwrap();
        let relaxed = check_set_full(&h, &SetFullOptions::default()).unwrap();
        assert_eq!(relaxed.validity, Validity::Valid);
        assert_eq!(relaxed.stale, elements(json!([1])));
        let strict = check_set_full(
            &h,
            &SetFullOptions {
                linearizable_reads: true,
                ..SetFullOptions::default()
            },
        )
        .unwrap();
        assert_eq!(strict.validity, Validity::Invalid);
    }

    #[test]
    fn an_element_missing_from_every_later_read_is_lost_not_stale() {
        let report = check(
            [
                add(0, 1, 1),
                read(20, 2, json!([1])),
                add(40, 1, 2),
                read(60, 2, json!([2])),
            ]
            .concat(),
        );
        assert_eq!(report.validity, Validity::Invalid);
        assert_eq!(report.lost, elements(json!([1])));
        assert_eq!(report.stale, Elements::default());
    }

    #[test]
    fn elements_of_failed_adds_are_unexpected_and_concurrent_adds_need_not_be_seen() {
        let report = check(
            [
                vec![invoke(0, 1, "add", json!(1)), fail(10, 1, "add", json!(1))],
                // The add of 2 is concurrent with the first read: not stale there.
                vec![invoke(20, 1, "add", json!(2))],
                read(22, 2, json!([1])),
                vec![ok(40, 1, "add", json!(2))],
                read(50, 2, json!([2])),
            ]
            .concat(),
        );
        assert_eq!(report.validity, Validity::Invalid);
        assert_eq!(report.unexpected, elements(json!([1])));
        assert_eq!(report.stale, Elements::default());
        assert_eq!(report.lost, Elements::default());
    }

    #[test]
    fn without_a_final_read_the_verdict_is_unknown() {
        let report = check([read(0, 2, json!([])), add(20, 1, 1)].concat());
        assert_eq!(report.validity, Validity::Unknown);
        assert_eq!(
            report.to_string(),
            "unknown: set-full: 1 of 1 elements acknowledged, 1 reads (0 final); 0 lost, 0 \
             unexpected, 0 stale, 0 never read\n\
             \x20 no read began after the last add ended, so lost adds cannot be told\n"
        );
        // Unexpected elements need no final read.
        let report = check([read(0, 2, json!([5])), add(20, 1, 1)].concat());
        assert_eq!(report.validity, Validity::Invalid);
    }

    #[test]
    fn malformed_reads_and_other_functions_are_errors() {
        let ops = pair(&history(read(0, 1, json!({"a": 1})))).unwrap();
        assert_eq!(
            check_set_full(&ops, &SetFullOptions::default())
                .unwrap_err()
                .to_string(),
            r#"operation invoked at event 0: read value {"a":1} is malformed: a set-full read must return an array of elements"#
        );
        let ops = pair(&history([invoke(0, 1, "write", json!(1))])).unwrap();
        assert!(matches!(
            check_set_full(&ops, &SetFullOptions::default()),
            Err(HistoryError::UnsupportedFunction { .. })
        ));
    }

    #[test]
    fn long_lists_are_cut_in_the_summary() {
        let values: Vec<Value> = (0..12).map(|i| json!(i)).collect();
        assert_eq!(list(&values), "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ... 2 more]");
    }
}
