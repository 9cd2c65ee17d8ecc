//! Operations: an invocation paired with its completion.
//!
//! ```text
//!   process 1  |--write 1--|ok            ok: took effect between invoke and ok
//!   process 2     |--write 2--|fail       fail: certainly never took effect
//!   process 3        |--cas 1 2-----------…   info (or no completion): may take effect at
//!                                               any time after its invocation, or never
//! ```
//!
//! Pairing is by process: each client process has at most one open invocation, and the next
//! completion from that process closes it. Nemesis events are not client operations and are
//! skipped.

use crate::history::event::{Event, EventType, Process};
use crate::history::history_error::HistoryError;
use crate::history::span::Span;
use crate::history::times::Times;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

/// How an operation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Outcome {
    /// It took effect, exactly once, between its invocation and its completion.
    Ok,
    /// It certainly did not take effect.
    Fail {
        /// The completion's error, such as `"cas-mismatch"`.
        error: Option<String>,
    },
    /// It may take effect at any time after its invocation, or never: an `info` completion, or
    /// no completion at all.
    Info,
}

/// One client operation: an invocation and, if it came, its completion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Operation {
    /// Position among the operations of its history, in invocation order.
    pub id: usize,
    /// The client process that ran it.
    pub process: Process,
    /// Its function: `read`, `write`, `cas`, ...
    pub f: String,
    /// The key it addressed, if any.
    pub key: Option<Value>,
    /// The invocation's argument.
    pub value: Value,
    /// The `ok` completion's value (what a read returned); null for any other outcome.
    pub output: Value,
    /// How it ended.
    pub outcome: Outcome,
    /// When it was invoked and completed.
    #[serde(flatten)]
    pub span: Span,
    /// The node that answered it, when its completion names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Whether its history has times or event order only (how reports show its times).
    #[serde(skip)]
    pub times: Times,
}

/// Pairs client events into operations, ordered by invocation.
///
/// Events are taken in `index` order (ties in the order given). An invocation left open at the
/// end of the history is an [`Outcome::Info`] operation with no completion.
pub fn pair(events: &[Event]) -> Result<Vec<Operation>, HistoryError> {
    let times = Times::of(events);
    let mut ordered: Vec<&Event> = events.iter().collect();
    ordered.sort_by_key(|e| e.index);

    let mut ops: Vec<Operation> = Vec::new();
    let mut open: HashMap<u64, usize> = HashMap::new();
    for e in ordered {
        let Process::Client(p) = e.process else {
            continue;
        };
        if e.kind == EventType::Invoke {
            if let Some(&id) = open.get(&p) {
                return Err(HistoryError::ProcessBusy {
                    index: e.index,
                    process: e.process,
                    f: e.f.clone(),
                    open_index: ops[id].span.invoke_index,
                });
            }
            open.insert(p, ops.len());
            ops.push(Operation {
                id: ops.len(),
                process: e.process,
                f: e.f.clone(),
                key: e.key.clone(),
                value: e.value.clone(),
                output: Value::Null,
                outcome: Outcome::Info,
                span: Span {
                    invoke_index: e.index,
                    complete_index: None,
                    invoke_time: e.time,
                    complete_time: None,
                },
                node: None,
                times,
            });
            continue;
        }

        let Some(id) = open.remove(&p) else {
            return Err(HistoryError::CompletionWithoutInvocation {
                index: e.index,
                process: e.process,
                f: e.f.clone(),
            });
        };
        let op = &mut ops[id];
        if op.f != e.f {
            return Err(HistoryError::FunctionMismatch {
                index: e.index,
                process: e.process,
                invoke_index: op.span.invoke_index,
                invoked: op.f.clone(),
                completed: e.f.clone(),
            });
        }
        op.span.complete_index = Some(e.index);
        op.span.complete_time = Some(e.time);
        op.node = e.node.clone();
        op.outcome = match e.kind {
            EventType::Ok => {
                op.output = e.value.clone();
                Outcome::Ok
            }
            EventType::Fail => Outcome::Fail {
                error: e.error.clone(),
            },
            EventType::Info | EventType::Invoke => Outcome::Info,
        };
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::event::EventType;
    use crate::testing::history_builder::*;
    use serde_json::json;

    #[test]
    fn an_operation_is_answered_by_the_node_its_completion_names() {
        let mut done = ok(10, 1, "read", json!(3));
        done.node = Some("n2".into());
        let ops = pair(&history([invoke(0, 1, "read", json!(null)), done])).unwrap();
        assert_eq!(ops[0].node.as_deref(), Some("n2"));
        let summary = crate::history::op_summary::OpSummary::from(&ops[0]);
        assert_eq!(
            summary.to_string(),
            "read 3 by process 1 on n2 (invoked 0.000 s, ok at 0.010 s)"
        );
        let line =
            r#"{"index":1,"time":5,"process":1,"type":"ok","f":"read","value":3,"node":"n2"}"#;
        let parsed: crate::history::event::Event = serde_json::from_str(line).unwrap();
        assert_eq!(parsed.node.as_deref(), Some("n2"));
        assert_eq!(
            serde_json::to_string(&parsed).unwrap(),
            line,
            "written back alike"
        );
    }

    #[test]
    fn pairs_by_process_in_invocation_order() {
        let h = history([
            invoke(0, 1, "write", json!(1)),
            invoke(1, 2, "read", json!(null)),
            nemesis(2, EventType::Info, "partition"),
            ok(3, 2, "read", json!(1)),
            with_error("cas-mismatch", fail(4, 1, "write", json!(1))),
            invoke(5, 3, "cas", json!([1, 2])),
        ]);
        let ops = pair(&h).unwrap();
        assert_eq!(ops.len(), 3);

        assert_eq!(ops[0].id, 0);
        assert_eq!(ops[0].process, Process::Client(1));
        assert_eq!(ops[0].value, json!(1));
        assert_eq!(ops[0].output, json!(null));
        assert_eq!(
            ops[0].outcome,
            Outcome::Fail {
                error: Some("cas-mismatch".into())
            }
        );
        assert_eq!(
            (ops[0].span.invoke_index, ops[0].span.complete_index),
            (0, Some(4))
        );
        assert_eq!(ops[0].span.complete_time, Some(4_000_000));

        assert_eq!(ops[1].f, "read");
        assert_eq!(ops[1].output, json!(1));
        assert_eq!(ops[1].outcome, Outcome::Ok);
        assert_eq!(
            (ops[1].span.invoke_index, ops[1].span.complete_index),
            (1, Some(3))
        );

        // Never completed: indeterminate.
        assert_eq!(ops[2].outcome, Outcome::Info);
        assert_eq!(ops[2].span.complete_index, None);
        assert_eq!(ops[2].span.complete_time, None);
        assert_eq!(ops[2].times, Times::Nanos);
    }

    #[test]
    fn a_history_without_times_is_in_event_order() {
        let mut h = history([invoke(0, 1, "write", json!(1)), ok(1, 1, "write", json!(1))]);
        for e in &mut h {
            e.time = e.index;
        }
        assert_eq!(pair(&h).unwrap()[0].times, Times::EventOrder);
    }

    #[test]
    fn info_completion_is_info_and_the_process_may_not_be_reused_while_open() {
        let h = history([
            invoke(0, 1, "write", json!(1)),
            info(5, 1, "write", json!(1)),
            invoke(6, 1, "read", json!(null)),
            ok(7, 1, "read", json!(1)),
        ]);
        let ops = pair(&h).unwrap();
        assert_eq!(ops[0].outcome, Outcome::Info);
        assert_eq!(ops[0].span.complete_index, Some(1));
        assert_eq!(ops[1].outcome, Outcome::Ok);
    }

    #[test]
    fn events_are_taken_in_index_order() {
        let mut h = history([invoke(0, 1, "write", json!(1)), ok(1, 1, "write", json!(1))]);
        h.reverse();
        let ops = pair(&h).unwrap();
        assert_eq!(ops[0].span.complete_index, Some(1));
    }

    #[test]
    fn completion_without_invocation() {
        let h = history([
            invoke(0, 1, "read", json!(null)),
            ok(1, 2, "read", json!(3)),
        ]);
        let err = pair(&h).unwrap_err();
        assert_eq!(
            err,
            HistoryError::CompletionWithoutInvocation {
                index: 1,
                process: Process::Client(2),
                f: "read".into()
            }
        );
        assert_eq!(
            err.to_string(),
            r#"event 1: process 2 completed "read" without an open invocation"#
        );
    }

    #[test]
    fn completion_with_another_function() {
        let h = history([
            invoke(0, 1, "read", json!(null)),
            ok(1, 1, "write", json!(3)),
        ]);
        assert_eq!(
            pair(&h).unwrap_err().to_string(),
            r#"event 1: process 1 completed "write", but its invocation at event 0 was "read""#
        );
    }

    #[test]
    fn second_invocation_on_a_busy_process() {
        let h = history([
            invoke(0, 1, "read", json!(null)),
            invoke(1, 1, "write", json!(3)),
        ]);
        assert_eq!(
            pair(&h).unwrap_err(),
            HistoryError::ProcessBusy {
                index: 1,
                process: Process::Client(1),
                f: "write".into(),
                open_index: 0
            }
        );
    }
}
