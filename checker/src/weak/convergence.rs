//! Convergence: after the faults are healed and the nodes recovered, do all replicas hold the
//! same data, and does it keep every acknowledged write?
//!
//! The input is the run's history plus one final read per replica: an operation with f
//! `final-read`, its node named in the `key` field and, completed `ok`, the replica's whole
//! contents as a map of key to value:
//!
//! ```text
//!   {"process":7,"type":"invoke","f":"final-read","key":"n2","value":null}
//!   {"process":7,"type":"ok","f":"final-read","key":"n2","value":{"x":3,"y":1}}
//! ```
//!
//! Writes are `write` operations with a key and a value; reads (`read`) are allowed and ignored.
//! Per key, the findings are:
//! - **divergent**: replicas disagree (a key a replica lacks reads as null);
//! - **lost write**: an `ok` write not certainly overwritten (no later `ok` write began after it
//!   was acknowledged) that no replica's final value can come after: the value is neither its
//!   own nor that of a write that may have taken effect after it (one that did not fail and was
//!   not acknowledged before it began). Of two concurrent writes, the one that lost the race is
//!   thus not lost. Leaving out certainly overwritten writes names only the last write of each
//!   chain: when one of those is lost, so are the writes before it;
//! - **unexpected value**: a final value no write (that did not fail) wrote, other than the
//!   initial value.
//!
//! ```text
//!   write x 1  |--|ok
//!   write x 2        |--|ok
//!   write x 3    |-----------|ok
//!   final x = 2                    nothing lost: 1 certainly overwritten (by 2), and 3 concurrent
//!                                  with 2, so 3 then 2 is possible
//!   final x = 1                    write 2 lost: 1 was acknowledged before 2 began (3 is not: it
//!                                  is concurrent with 1)
//! ```
//!
//! When a replica has several final reads, its last one counts. Each key starts as the initial
//! value: `--initial` (null by default), or for a map, the map's value for the key. Any of the
//! findings makes the history invalid; without a completed final read it is unknown.

use crate::history::history_error::HistoryError;
use crate::history::op_summary::OpSummary;
use crate::history::operation::{Operation, Outcome};
use crate::options::ModelKind;
use crate::validity::Validity;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

/// The convergence verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConvergenceReport {
    /// Invalid on any divergent key, lost write or unexpected value; unknown without a final
    /// read.
    pub validity: Validity,
    /// Why the verdict is unknown.
    pub reason: Option<String>,
    /// The replicas with a completed final read, sorted.
    pub nodes: Vec<String>,
    /// How many keys were checked: every key written or finally read.
    pub keys: usize,
    /// Keys the replicas disagree on, sorted by key.
    pub divergent: Vec<DivergentKey>,
    /// Acknowledged writes, not certainly overwritten, that no final value can follow, by key
    /// then invocation.
    pub lost_writes: Vec<LostWrite>,
    /// Final values nothing wrote, by key.
    pub unexpected: Vec<UnexpectedValue>,
}

/// A key the replicas disagree on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DivergentKey {
    /// The key.
    pub key: String,
    /// Each replica's value (null when it lacks the key).
    pub values: BTreeMap<String, Value>,
}

/// An acknowledged write, not certainly overwritten, that no final value can follow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LostWrite {
    /// The key it wrote.
    pub key: String,
    /// The write.
    pub write: OpSummary,
    /// The key's distinct final values across replicas.
    pub final_values: Vec<Value>,
}

/// A final value no write wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnexpectedValue {
    /// The key.
    pub key: String,
    /// The value.
    pub value: Value,
    /// The replicas holding it, sorted.
    pub nodes: Vec<String>,
}

/// What the writes of one value to one key allow.
#[derive(Debug, Default)]
struct Writers {
    /// Some write of it ended `info` (or never ended): it may take effect at any later time.
    indeterminate: bool,
    /// The latest completion of an `ok` write of it.
    last_ok: Option<u64>,
}

/// Checks that the replicas' final reads agree and keep every acknowledged write (see the
/// module docs).
pub fn check_convergence(
    ops: &[Operation],
    initial: &Value,
) -> Result<ConvergenceReport, HistoryError> {
    let malformed = |op: &Operation, value: &Value, reason: &str| HistoryError::MalformedValue {
        index: op.span.invoke_index,
        f: op.f.clone(),
        value: value.clone(),
        reason: reason.into(),
    };
    let mut writes: BTreeMap<String, Vec<&Operation>> = BTreeMap::new();
    let mut finals: BTreeMap<String, &Map<String, Value>> = BTreeMap::new();
    for op in ops {
        match op.f.as_str() {
            "write" => {
                let key = op
                    .key
                    .as_ref()
                    .ok_or_else(|| malformed(op, &op.value, "a write needs a key"))?;
                writes.entry(name(key)).or_default().push(op);
            }
            "final-read" if op.outcome == Outcome::Ok => {
                let node = op.key.as_ref().ok_or_else(|| {
                    malformed(
                        op,
                        &op.output,
                        "a final-read names its node in the key field",
                    )
                })?;
                let Value::Object(contents) = &op.output else {
                    return Err(malformed(
                        op,
                        &op.output,
                        "a final-read must return a map of key to value",
                    ));
                };
                // Operations come in invocation order: a replica's last read wins.
                finals.insert(name(node), contents);
            }
            "final-read" | "read" => {}
            _ => return Err(ModelKind::Convergence.unsupported(op)),
        }
    }

    let mut keys: BTreeSet<String> = writes.keys().cloned().collect();
    keys.extend(finals.values().flat_map(|m| m.keys().cloned()));
    let mut report = ConvergenceReport {
        validity: Validity::Valid,
        reason: None,
        nodes: finals.keys().cloned().collect(),
        keys: keys.len(),
        divergent: Vec::new(),
        lost_writes: Vec::new(),
        unexpected: Vec::new(),
    };
    if finals.is_empty() {
        report.validity = Validity::Unknown;
        report.reason = Some("no replica's final read completed".into());
        return Ok(report);
    }

    let no_writes = Vec::new();
    for key in keys {
        let values: BTreeMap<String, Value> = finals
            .iter()
            .map(|(node, m)| (node.clone(), m.get(&key).cloned().unwrap_or(Value::Null)))
            .collect();
        let mut distinct: Vec<Value> = Vec::new();
        for v in values.values() {
            if !distinct.contains(v) {
                distinct.push(v.clone());
            }
        }
        let key_writes = writes.get(&key).unwrap_or(&no_writes);
        let mut writers: HashMap<&Value, Writers> = HashMap::new();
        for w in key_writes {
            match w.outcome {
                Outcome::Ok => {
                    let e = writers.entry(&w.value).or_default();
                    e.last_ok = e.last_ok.max(w.span.complete_index);
                }
                Outcome::Info => writers.entry(&w.value).or_default().indeterminate = true,
                Outcome::Fail { .. } => {}
            }
        }

        let start = match initial {
            Value::Object(m) => m.get(&key).unwrap_or(&Value::Null),
            other => other,
        };
        for v in &distinct {
            if v != start && !writers.contains_key(v) {
                report.unexpected.push(UnexpectedValue {
                    key: key.clone(),
                    value: v.clone(),
                    nodes: nodes_holding(&values, v),
                });
            }
        }
        // The latest invocation of an ok write: any write acknowledged before it is overwritten.
        let last_ok_invoke = key_writes
            .iter()
            .filter(|w| w.outcome == Outcome::Ok)
            .map(|w| w.span.invoke_index)
            .max();
        for w in key_writes.iter().filter(|w| w.outcome == Outcome::Ok) {
            if last_ok_invoke > w.span.complete_index {
                continue;
            }
            // Some write of v may have taken effect after w: v can be w's successor.
            let may_follow = |v: &Value| {
                v == &w.value
                    || writers.get(v).is_some_and(|x| {
                        x.indeterminate || x.last_ok.is_some_and(|c| c > w.span.invoke_index)
                    })
            };
            if !distinct.iter().any(may_follow) {
                report.lost_writes.push(LostWrite {
                    key: key.clone(),
                    write: OpSummary::from(*w),
                    final_values: distinct.clone(),
                });
            }
        }
        if distinct.len() > 1 {
            report.divergent.push(DivergentKey { key, values });
        }
    }
    if !(report.divergent.is_empty()
        && report.lost_writes.is_empty()
        && report.unexpected.is_empty())
    {
        report.validity = Validity::Invalid;
    }
    Ok(report)
}

/// A key or node as a string: a string is its own name, anything else its JSON text (as JSON
/// object keys are written).
fn name(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn nodes_holding(values: &BTreeMap<String, Value>, v: &Value) -> Vec<String> {
    values
        .iter()
        .filter(|(_, held)| *held == v)
        .map(|(node, _)| node.clone())
        .collect()
}

/// `1`, `1, 2`.
fn joined<T: fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// At most this many findings of each kind are listed in the human summary.
const SHOWN: usize = 5;

impl fmt::Display for ConvergenceReport {
    /// A verdict line with the counts, then each finding.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: convergence: {} nodes, {} keys; {} divergent, {} lost writes, {} unexpected \
             values",
            self.validity,
            self.nodes.len(),
            self.keys,
            self.divergent.len(),
            self.lost_writes.len(),
            self.unexpected.len()
        )?;
        if let Some(reason) = &self.reason {
            writeln!(f, "  {reason}")?;
        }
        let more = |f: &mut fmt::Formatter<'_>, n: usize| {
            if n > SHOWN {
                writeln!(f, "  ... and {} more", n - SHOWN)?;
            }
            Ok(())
        };
        for d in self.divergent.iter().take(SHOWN) {
            let held = d.values.iter().map(|(node, v)| format!("{node} {v}"));
            writeln!(f, "  {} diverges: {}", d.key, joined(held))?;
        }
        more(f, self.divergent.len())?;
        for l in self.lost_writes.iter().take(SHOWN) {
            writeln!(
                f,
                "  {}: lost {}; final value {}",
                l.key,
                l.write,
                joined(&l.final_values)
            )?;
        }
        more(f, self.lost_writes.len())?;
        for u in self.unexpected.iter().take(SHOWN) {
            writeln!(
                f,
                "  {}: {} on {} was never written",
                u.key,
                u.value,
                joined(&u.nodes)
            )?;
        }
        more(f, self.unexpected.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::event::Event;
    use crate::history::operation::pair;
    use crate::testing::history_builder::*;
    use serde_json::json;

    fn check(events: Vec<Event>) -> ConvergenceReport {
        check_convergence(&pair(&history(events)).unwrap(), &Value::Null).unwrap()
    }

    fn write(ms: u64, p: u64, key: &str, v: i64) -> Vec<Event> {
        vec![
            on(json!(key), invoke(ms, p, "write", json!(v))),
            on(json!(key), ok(ms + 10, p, "write", json!(v))),
        ]
    }

    fn final_read(ms: u64, p: u64, node: &str, contents: Value) -> Vec<Event> {
        vec![
            on(json!(node), invoke(ms, p, "final-read", json!(null))),
            on(json!(node), ok(ms + 10, p, "final-read", contents)),
        ]
    }

    /// The module docs' history: write x 1, then 2, with 3 concurrent with both.
    fn example(finals: &[(&str, Value)]) -> Vec<Event> {
        let mut h = vec![
            on(json!("x"), invoke(0, 1, "write", json!(1))),
            on(json!("x"), invoke(5, 3, "write", json!(3))),
            on(json!("x"), ok(10, 1, "write", json!(1))),
        ];
        h.extend(write(20, 1, "x", 2));
        h.push(on(json!("x"), ok(40, 3, "write", json!(3))));
        for (i, (node, contents)) in finals.iter().enumerate() {
            h.extend(final_read(100, 10 + i as u64, node, contents.clone()));
        }
        h
    }

    /// Each lost write as (key, value written).
    fn lost(report: &ConvergenceReport) -> Vec<(&str, Value)> {
        report
            .lost_writes
            .iter()
            .map(|l| (l.key.as_str(), l.write.value.clone()))
            .collect()
    }

    #[test]
    fn agreeing_replicas_holding_a_last_write_are_valid() {
        for last in [2, 3] {
            let v = json!({"x": last});
            let report = check(example(&[("n1", v.clone()), ("n2", v)]));
            assert_eq!(report.validity, Validity::Valid, "final x = {last}");
            assert_eq!(report.nodes, ["n1", "n2"]);
            assert_eq!(report.keys, 1);
        }
        let v = json!({"x": 2});
        assert_eq!(
            check(example(&[("n1", v)])).to_string(),
            "valid: convergence: 1 nodes, 1 keys; 0 divergent, 0 lost writes, 0 unexpected \
             values\n"
        );
    }

    #[test]
    fn an_overwritten_value_loses_the_writes_after_it() {
        let report = check(example(&[("n1", json!({"x": 1}))]));
        assert_eq!(report.validity, Validity::Invalid);
        assert_eq!(lost(&report), [("x", json!(2))]);
        assert_eq!(report.lost_writes[0].final_values, [json!(1)]);
        assert_eq!(
            report.to_string(),
            "invalid: convergence: 1 nodes, 1 keys; 0 divergent, 1 lost writes, 0 unexpected \
             values\n\
             \x20 x: lost write 2 by process 1 (invoked 0.020 s, ok at 0.030 s); final value 1\n"
        );
    }

    #[test]
    fn only_the_last_write_of_a_chain_is_named_lost() {
        let report = check(
            [
                write(0, 1, "x", 0),
                write(20, 1, "x", 1),
                write(40, 1, "x", 2),
                final_read(100, 10, "n1", json!({"x": 0})),
            ]
            .concat(),
        );
        assert_eq!(report.validity, Validity::Invalid);
        assert_eq!(lost(&report), [("x", json!(2))]);
    }

    #[test]
    fn divergent_replicas_are_invalid_and_a_missing_key_reads_as_null() {
        let report = check(
            [
                write(0, 1, "x", 1),
                write(20, 1, "y", 5),
                final_read(100, 10, "n1", json!({"x": 1, "y": 5})),
                final_read(100, 11, "n2", json!({"x": 1})),
            ]
            .concat(),
        );
        assert_eq!(report.validity, Validity::Invalid);
        assert_eq!(
            report.divergent,
            [DivergentKey {
                key: "y".into(),
                values: BTreeMap::from([("n1".into(), json!(5)), ("n2".into(), json!(null))]),
            }]
        );
        // Held by n1, so y's write is not lost everywhere.
        assert_eq!(report.lost_writes, []);
        assert_eq!(
            report.to_string(),
            "invalid: convergence: 2 nodes, 2 keys; 1 divergent, 0 lost writes, 0 unexpected \
             values\n\
             \x20 y diverges: n1 5, n2 null\n"
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(
            json["divergent"],
            json!([{"key": "y", "values": {"n1": 5, "n2": null}}])
        );
    }

    #[test]
    fn values_nobody_wrote_are_unexpected_and_failed_writes_wrote_nothing() {
        let report = check(
            [
                vec![
                    on(json!("x"), invoke(0, 1, "write", json!(7))),
                    on(json!("x"), fail(10, 1, "write", json!(7))),
                ],
                final_read(100, 10, "n1", json!({"x": 7, "z": 9})),
                final_read(100, 11, "n2", json!({"x": 7, "z": 9})),
            ]
            .concat(),
        );
        let unexpected: Vec<(&str, Value, Vec<String>)> = report
            .unexpected
            .iter()
            .map(|u| (u.key.as_str(), u.value.clone(), u.nodes.clone()))
            .collect();
        let both = vec!["n1".to_string(), "n2".to_string()];
        assert_eq!(
            unexpected,
            [("x", json!(7), both.clone()), ("z", json!(9), both)]
        );
        assert_eq!(report.validity, Validity::Invalid);
        assert!(report
            .to_string()
            .ends_with("  z: 9 on n1, n2 was never written\n"));
    }

    #[test]
    fn an_indeterminate_write_may_land_last_and_the_initial_value_needs_no_writer() {
        let h = [
            write(0, 1, "x", 1),
            vec![
                on(json!("x"), invoke(20, 2, "write", json!(2))),
                on(json!("x"), info(30, 2, "write", json!(2))),
            ],
        ]
        .concat();
        for (last, validity) in [(1, Validity::Valid), (2, Validity::Valid)] {
            let report = check([h.clone(), final_read(100, 10, "n1", json!({"x": last}))].concat());
            assert_eq!(report.validity, validity, "final x = {last}");
        }
        let ops = pair(&history(final_read(0, 1, "n1", json!({"x": 0, "y": null})))).unwrap();
        let report = check_convergence(&ops, &json!({"x": 0})).unwrap();
        assert_eq!(report.validity, Validity::Valid);
        assert_eq!(
            check_convergence(&ops, &Value::Null).unwrap().validity,
            Validity::Invalid
        );
    }

    #[test]
    fn a_replicas_last_final_read_counts_and_without_one_the_verdict_is_unknown() {
        let report = check(
            [
                write(0, 1, "x", 1),
                final_read(100, 10, "n1", json!({})),
                final_read(200, 10, "n1", json!({"x": 1})),
            ]
            .concat(),
        );
        assert_eq!(report.validity, Validity::Valid);
        let report = check(
            [
                write(0, 1, "x", 1),
                vec![on(json!("n1"), invoke(100, 10, "final-read", json!(null)))],
            ]
            .concat(),
        );
        assert_eq!(report.validity, Validity::Unknown);
        assert_eq!(report.keys, 1);
        assert_eq!(
            report.reason.as_deref(),
            Some("no replica's final read completed")
        );
    }

    #[test]
    fn malformed_operations_are_errors() {
        let no_key = pair(&history([invoke(0, 1, "write", json!(1))])).unwrap();
        assert_eq!(
            check_convergence(&no_key, &Value::Null)
                .unwrap_err()
                .to_string(),
            "operation invoked at event 0: write value 1 is malformed: a write needs a key"
        );
        let not_a_map = pair(&history(final_read(0, 1, "n1", json!([1])))).unwrap();
        assert!(check_convergence(&not_a_map, &Value::Null).is_err());
        let no_node = pair(&history([
            invoke(0, 1, "final-read", json!(null)),
            ok(1, 1, "final-read", json!({})),
        ]))
        .unwrap();
        assert!(check_convergence(&no_node, &Value::Null).is_err());
        let cas = pair(&history([invoke(0, 1, "cas", json!([1, 2]))])).unwrap();
        assert!(matches!(
            check_convergence(&cas, &Value::Null),
            Err(HistoryError::UnsupportedFunction { .. })
        ));
    }
}
