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

use crate::history::op_summary::{describe_key, OpSummary};
use crate::history::operation::{Operation, Outcome};
use crate::models::register_op::cas_arguments;
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
        .filter_map(|&(op, _)| Some((op, op.span.complete_index?)))
        .collect();

    // For each read: the latest-acknowledged write W2 with writer.complete < W2.invoke and
    // W2.complete < read.invoke. Reads are swept in invocation order, adding the writes that
    // completed before each read to a max-tree over the writes' invocations, so a key with
    // n reads and writes costs O(n log n), not O(n²). (A write is never its own overwrite: it
    // is invoked before it completes.)
    let mut queries: Vec<(&Operation, Option<&Operation>)> = Vec::new();
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
        queries.push((read, writer));
    }
    let mut by_done: Vec<usize> = (0..acknowledged.len()).collect();
    by_done.sort_by_key(|&i| acknowledged[i].1);
    let mut invokes: Vec<u64> = acknowledged
        .iter()
        .map(|(w, _)| w.span.invoke_index)
        .collect();
    invokes.sort_unstable();
    let mut latest = SuffixMax::new(acknowledged.len());
    let mut order: Vec<usize> = (0..queries.len()).collect();
    order.sort_by_key(|&q| queries[q].0.span.invoke_index);
    let mut overwrites: Vec<Option<usize>> = vec![None; queries.len()];
    let mut added = 0;
    for q in order {
        let (read, writer) = queries[q];
        while added < by_done.len() && acknowledged[by_done[added]].1 < read.span.invoke_index {
            let w = by_done[added];
            let at = invokes.partition_point(|&i| i < acknowledged[w].0.span.invoke_index);
            latest.raise(at, (acknowledged[w].1, w));
            added += 1;
        }
        let after = writer
            .and_then(|w| w.span.complete_index)
            .map_or(0, |c| invokes.partition_point(|&i| i <= c));
        overwrites[q] = latest.max_from(after).map(|(_, w)| w);
    }
    queries
        .iter()
        .zip(overwrites)
        .filter_map(|(&(read, writer), w2)| Some(explain(key, read, writer, acknowledged[w2?].0)))
        .collect()
}

/// A Fenwick tree answering "the largest value at position ≥ i" as values only grow.
struct SuffixMax {
    tree: Vec<Option<(u64, usize)>>,
}

impl SuffixMax {
    fn new(len: usize) -> Self {
        SuffixMax {
            tree: vec![None; len + 1],
        }
    }

    /// Raises position `at` to at least `value`.
    fn raise(&mut self, at: usize, value: (u64, usize)) {
        // Position `at` from the end, 1-based: suffixes become prefixes.
        let mut i = self.tree.len() - 1 - at;
        while i < self.tree.len() {
            if self.tree[i].is_none_or(|v| v < value) {
                self.tree[i] = Some(value);
            }
            i += i & i.wrapping_neg();
        }
    }

    /// The largest value at a position ≥ `from`.
    fn max_from(&self, from: usize) -> Option<(u64, usize)> {
        let mut i = (self.tree.len() - 1).saturating_sub(from);
        let mut best = None;
        while i > 0 {
            best = best.max(self.tree[i]);
            i -= i & i.wrapping_neg();
        }
        best
    }
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
        "read of {k} returned {}{} at {}, but {} {preposition} {k} was acknowledged at {}, ",
        read.value,
        read.on_node(),
        read.last_seen(),
        overwrite.action(),
        overwrite.last_seen(),
    );
    match &writer {
        Some(w) => message.push_str(&format!(
            "after {} had completed at {}",
            w.action(),
            w.last_seen()
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
    use crate::history::event::Event;
    use crate::history::operation::pair;
    use crate::testing::history_builder::*;
    use serde_json::json;

    fn stale(events: Vec<Event>) -> Vec<StaleRead> {
        let ops = pair(&history(events)).unwrap();
        let refs: Vec<&Operation> = ops.iter().collect();
        stale_reads(&json!("x"), &refs, &json!(null))
    }

    fn messages(events: Vec<Event>) -> Vec<String> {
        stale(events).into_iter().map(|s| s.message).collect()
    }

    /// The definition, checked pair by pair: for each ok read of a value with an ok writer (or
    /// the initial value), the latest-acknowledged write invoked after the writer completed and
    /// acknowledged before the read was invoked.
    fn quadratic(ops: &[&Operation]) -> Vec<(u64, u64)> {
        let writes: Vec<(&Operation, &Value)> = ops
            .iter()
            .filter(|o| o.f == "write" || o.f == "cas")
            .map(|o| {
                (
                    *o,
                    if o.f == "write" {
                        &o.value
                    } else {
                        &o.value[1]
                    },
                )
            })
            .collect();
        let mut found = Vec::new();
        for read in ops
            .iter()
            .filter(|o| o.f == "read" && o.outcome == Outcome::Ok)
        {
            let writer = writes
                .iter()
                .find(|(w, v)| **v == read.output && !matches!(w.outcome, Outcome::Fail { .. }));
            let written_by = match (read.output.is_null(), writer) {
                (true, _) => None,
                (false, Some((w, _))) if w.outcome == Outcome::Ok => w.span.complete_index,
                _ => continue,
            };
            let overwrite = writes
                .iter()
                .filter(|(w, _)| w.outcome == Outcome::Ok)
                .filter(|(w, _)| written_by.is_none_or(|c| c < w.span.invoke_index))
                .filter(|(w, _)| {
                    w.span
                        .complete_index
                        .is_some_and(|d| d < read.span.invoke_index)
                })
                .max_by_key(|(w, _)| w.span.complete_index);
            if let Some((w, _)) = overwrite {
                found.push((read.span.invoke_index, w.span.invoke_index));
            }
        }
        found
    }

    #[test]
    fn the_sweep_finds_what_the_definition_does() {
        use crate::testing::simulation::{Simulation, Values};
        let mut total = 0;
        for seed in 0..300 {
            let sim = Simulation {
                ops: 60,
                clients: 2 + (seed % 6) as usize,
                values: Values::Unique,
                info_rate: 0.15,
                stale_read: seed % 2 == 0,
                seed,
                ..Simulation::default()
            };
            let mut events = sim.events();
            // More stale reads: some reads return an older value.
            for e in events
                .iter_mut()
                .filter(|e| e.f == "read" && e.value.is_u64())
            {
                if e.index % 5 == 0 {
                    e.value = json!(e.value.as_u64().unwrap() / 2);
                }
            }
            let paired = pair(&events).unwrap();
            let ops: Vec<&Operation> = paired.iter().collect();
            let got: Vec<(u64, u64)> = stale_reads(&json!(null), &ops, &Value::Null)
                .iter()
                .map(|s| (s.read.span.invoke_index, s.overwrite.span.invoke_index))
                .collect();
            let expected = quadratic(&ops);
            assert_eq!(got, expected, "seed {seed}");
            total += got.len();
        }
        assert!(total > 300, "{total} stale reads");
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
        assert_eq!(found[0].read.span.invoke_index, 4);
        assert_eq!(found[0].writer.as_ref().unwrap().span.invoke_index, 0);
        assert_eq!(found[0].overwrite.span.invoke_index, 2);
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
