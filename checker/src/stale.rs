//! Stale reads: an explanation of a non-linearizable register history in terms a person can
//! check by eye, for keys whose written values are unique.
//!
//! A read of `v` is stale when another acknowledged write must fall between `v`'s write and the
//! read:
//!
//! ```text
//!   write 3   |--|                          v's write completes...
//!   write 4         |--|ok                  ...before the overwrite is invoked,
//!   read → 3               |--|             which completes before the read is invoked.
//! ```
//!
//! Real time then orders write 3 < write 4 < read, so the read should have seen 4 (or later).
//! The initial value is treated as written before everything. A write that ended `info` may take
//! effect arbitrarily late, so a read of its value is never called stale. With duplicate values
//! the writer of `v` is ambiguous, and no explanation is given.

use crate::cas_register::cas_arguments;
use crate::op_summary::{describe_key, seconds, OpSummary};
use crate::operation::{Operation, Outcome};
use serde::Serialize;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// A read that returned a value already overwritten before the read began.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StaleRead {
    /// The stale read.
    pub read: OpSummary,
    /// The write whose value it returned; `None` when it returned the initial value.
    pub writer: Option<OpSummary>,
    /// An acknowledged write that real time places after the writer and before the read (the
    /// latest-acknowledged such write).
    pub overwrite: OpSummary,
    /// One sentence saying all of the above.
    pub message: String,
}

/// The stale reads among `ops` (the operations on one key), or none if the key's written values
/// are not unique.
pub fn stale_reads(key: &Value, ops: &[&Operation], initial: &Value) -> Vec<StaleRead> {
    let mut writes: Vec<(&Operation, &Value)> = Vec::new();
    for &op in ops {
        match op.f.as_str() {
            "write" => writes.push((op, &op.value)),
            "cas" => match cas_arguments(op) {
                Ok((_, new)) => writes.push((op, new)),
                Err(_) => return Vec::new(),
            },
            _ => {}
        }
    }
    let mut written: HashSet<&Value> = HashSet::from([initial]);
    if !writes.iter().all(|&(_, v)| written.insert(v)) {
        return Vec::new();
    }

    // A failed write certainly did not write its value: a read of it is another anomaly.
    let writer_of: HashMap<&Value, &Operation> = writes
        .iter()
        .filter(|(op, _)| !matches!(op.outcome, Outcome::Fail { .. }))
        .map(|&(op, v)| (v, op))
        .collect();
    let acknowledged: Vec<(&Operation, u64)> = writes
        .iter()
        .filter(|(op, _)| op.outcome == Outcome::Ok)
        .filter_map(|&(op, _)| Some((op, op.complete_index?)))
        .collect();

    let mut stale = Vec::new();
    for &read in ops {
        if read.f != "read" || read.outcome != Outcome::Ok {
            continue;
        }
        let value = &read.output;
        // When the writer completed: before everything for the initial value.
        let writer = if value == initial {
            None
        } else {
            match writer_of.get(value) {
                Some(&w) if w.outcome == Outcome::Ok => Some(w),
                _ => continue,
            }
        };
        let written_by = writer.and_then(|w| w.complete_index);
        let overwrite = acknowledged
            .iter()
            .filter(|(w2, done)| {
                writer.is_none_or(|w| w.id != w2.id)
                    && written_by.is_none_or(|c| c < w2.invoke_index)
                    && *done < read.invoke_index
            })
            .max_by_key(|&&(_, done)| done);
        if let Some(&(overwrite, _)) = overwrite {
            stale.push(explain(key, read, writer, overwrite));
        }
    }
    stale
}

fn explain(
    key: &Value,
    read: &Operation,
    writer: Option<&Operation>,
    overwrite: &Operation,
) -> StaleRead {
    let k = describe_key(key);
    let read = OpSummary::from(read);
    let writer = writer.map(OpSummary::from);
    let overwrite = OpSummary::from(overwrite);
    let preposition = if overwrite.f == "cas" { "on" } else { "to" };
    let mut message = format!(
        "read of {k} returned {} at {}, but {} {preposition} {k} was acknowledged at {}, ",
        read.value,
        seconds(read.complete_time.unwrap_or(read.invoke_time)),
        overwrite.action(),
        seconds(overwrite.complete_time.unwrap_or(overwrite.invoke_time)),
    );
    match &writer {
        Some(w) => message.push_str(&format!(
            "after {} had completed at {}",
            w.action(),
            seconds(w.complete_time.unwrap_or(w.invoke_time))
        )),
        None => message.push_str(&format!("and {} is the initial value of {k}", read.value)),
    }
    StaleRead {
        read,
        writer,
        overwrite,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use crate::history_builder::*;
    use crate::operation::pair;
    use serde_json::json;

    fn stale(events: Vec<Event>) -> Vec<StaleRead> {
        let ops = pair(&history(events)).unwrap();
        let refs: Vec<&Operation> = ops.iter().collect();
        stale_reads(&json!("x"), &refs, &json!(null))
    }

    fn messages(events: Vec<Event>) -> Vec<String> {
        stale(events).into_iter().map(|s| s.message).collect()
    }

    #[test]
    fn read_of_an_overwritten_value() {
        let found = stale(vec![
            invoke(1000, 1, "write", json!(3)),
            ok(1100, 1, "write", json!(3)),
            invoke(1150, 2, "write", json!(4)),
            ok(1180, 2, "write", json!(4)),
            invoke(1190, 3, "read", json!(null)),
            ok(1204, 3, "read", json!(3)),
        ]);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].message,
            "read of x returned 3 at 1.204 s, but write 4 to x was acknowledged at 1.180 s, \
             after write 3 had completed at 1.100 s"
        );
        assert_eq!(found[0].read.invoke_index, 4);
        assert_eq!(found[0].writer.as_ref().unwrap().invoke_index, 0);
        assert_eq!(found[0].overwrite.invoke_index, 2);
    }

    #[test]
    fn read_of_the_initial_value_after_a_cas() {
        assert_eq!(
            messages(vec![
                invoke(0, 1, "write", json!(1)),
                ok(10, 1, "write", json!(1)),
                invoke(20, 1, "cas", json!([1, 2])),
                ok(30, 1, "cas", json!([1, 2])),
                invoke(40, 2, "read", json!(null)),
                ok(50, 2, "read", json!(null)),
            ]),
            [
                "read of x returned null at 0.050 s, but cas 1 -> 2 on x was acknowledged at \
              0.030 s, and null is the initial value of x"
            ]
        );
    }

    #[test]
    fn names_the_latest_overwrite() {
        let found = stale(vec![
            invoke(0, 1, "write", json!(1)),
            ok(10, 1, "write", json!(1)),
            invoke(20, 1, "write", json!(2)),
            ok(30, 1, "write", json!(2)),
            invoke(40, 1, "write", json!(3)),
            ok(50, 1, "write", json!(3)),
            invoke(60, 2, "read", json!(null)),
            ok(70, 2, "read", json!(1)),
        ]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].overwrite.value, json!(3));
    }

    #[test]
    fn concurrent_overwrite_is_not_stale() {
        // The overwrite is still running when the read starts: the read may precede it.
        assert!(messages(vec![
            invoke(0, 1, "write", json!(1)),
            ok(10, 1, "write", json!(1)),
            invoke(20, 1, "write", json!(2)),
            invoke(30, 2, "read", json!(null)),
            ok(40, 1, "write", json!(2)),
            ok(50, 2, "read", json!(1)),
        ])
        .is_empty());
        // The overwrite overlaps v's write: it may have come first.
        assert!(messages(vec![
            invoke(0, 1, "write", json!(1)),
            invoke(5, 2, "write", json!(2)),
            ok(10, 1, "write", json!(1)),
            ok(15, 2, "write", json!(2)),
            invoke(30, 2, "read", json!(null)),
            ok(50, 2, "read", json!(1)),
        ])
        .is_empty());
    }

    #[test]
    fn reads_of_indeterminate_or_failed_writes_are_not_stale() {
        assert!(messages(vec![
            invoke(0, 1, "write", json!(1)),
            info(10, 1, "write", json!(1)),
            invoke(20, 2, "write", json!(2)),
            ok(30, 2, "write", json!(2)),
            invoke(40, 2, "read", json!(null)),
            ok(50, 2, "read", json!(1)),
        ])
        .is_empty());
        assert!(messages(vec![
            invoke(0, 1, "write", json!(1)),
            fail(10, 1, "write", json!(1)),
            invoke(20, 2, "write", json!(2)),
            ok(30, 2, "write", json!(2)),
            invoke(40, 2, "read", json!(null)),
            ok(50, 2, "read", json!(1)),
        ])
        .is_empty());
    }

    #[test]
    fn duplicate_values_give_no_explanation() {
        assert!(messages(vec![
            invoke(0, 1, "write", json!(1)),
            ok(10, 1, "write", json!(1)),
            invoke(20, 1, "write", json!(2)),
            ok(30, 1, "write", json!(2)),
            invoke(40, 1, "write", json!(1)),
            fail(50, 1, "write", json!(1)),
            invoke(60, 2, "read", json!(null)),
            ok(70, 2, "read", json!(1)),
        ])
        .is_empty());
        // Writing the initial value makes a read of it ambiguous too.
        assert!(messages(vec![
            invoke(0, 1, "write", json!(null)),
            ok(10, 1, "write", json!(null)),
            invoke(20, 1, "write", json!(2)),
            ok(30, 1, "write", json!(2)),
            invoke(60, 2, "read", json!(null)),
            ok(70, 2, "read", json!(null)),
        ])
        .is_empty());
    }
}
