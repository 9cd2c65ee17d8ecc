//! Which model a history's operations fit, for `--model auto`: the one linearizability model
//! that can read every operation, by its functions (`f`) and the shapes of its values.
//!
//! ```text
//!   read, write, cas (scalar values)         → cas-register (a register without cas is one too)
//!   txn; or read, write of maps              → multi-register
//!   get, put, append                         → kv
//!   enqueue, dequeue                         → queue
//!   add, read returning arrays               → set
//!   add of integers, read returning integers → counter
//!   add with no read that tells (all nil)    → set or counter: ambiguous, the caller must say
//! ```
//!
//! Only linearizability models are guessed: the weaker checkers (set-full, counter-bounds,
//! convergence) judge other guarantees, which a history cannot say it wants. A value that is
//! `nil` tells nothing about the shape (an invocation's read value, an empty register).

use crate::history::event::{Event, EventType, Process};
use crate::options::ModelKind;
use std::collections::BTreeSet;
use std::fmt;

/// Why no single model was picked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoModelFits {
    /// Several models read these operations and may judge them differently.
    #[error(
        "cannot tell which model to check against: the operations' f values are {}, which {} \
         could each read",
        list(.functions),
        list(.models)
    )]
    Ambiguous {
        /// The client operations' functions, sorted.
        functions: Vec<String>,
        /// The models that could read every operation.
        models: Vec<ModelKind>,
    },
    /// No model reads every operation.
    #[error(
        "no model reads these operations: their f values are {}, and {}",
        list(.functions),
        readers(.functions)
    )]
    Unreadable {
        /// The client operations' functions, sorted.
        functions: Vec<String>,
    },
}

/// `a, b, c`.
fn list<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// For each function found, which models read it: `cas is read by cas-register; foo by none`.
fn readers(functions: &[String]) -> String {
    let parts: Vec<String> = functions
        .iter()
        .map(|f| {
            let by: Vec<&str> = ModelKind::ALL
                .into_iter()
                .filter(|m| m.functions().contains(&f.as_str()))
                .map(ModelKind::name)
                .collect();
            match by.as_slice() {
                [] => format!("{f} by no model"),
                by => format!("{f} by {}", by.join(", ")),
            }
        })
        .collect();
    format!("{} reads them", parts.join("; "))
}

/// The one model every client operation of `events` fits, or why there is none (the default
/// model for a history of nemesis operations only, which every model judges alike).
pub fn infer_model(events: &[Event]) -> Result<ModelKind, NoModelFits> {
    let clients: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e.process, Process::Client(_)))
        .collect();
    if clients.is_empty() {
        // Nemesis operations only: every model finds nothing to judge, and agrees.
        return Ok(ModelKind::default());
    }
    let functions: BTreeSet<&str> = clients.iter().map(|e| e.f.as_str()).collect();
    let functions_list = || functions.iter().map(|f| f.to_string()).collect();
    let readable: Vec<ModelKind> = ModelKind::ALL
        .into_iter()
        .filter(|m| m.inferable())
        .filter(|m| functions.iter().all(|f| m.functions().contains(f)))
        .collect();
    if readable.is_empty() {
        return Err(NoModelFits::Unreadable {
            functions: functions_list(),
        });
    }
    let fitting: Vec<ModelKind> = readable
        .iter()
        .copied()
        .filter(|&m| clients.iter().all(|e| shape_fits(m, e)))
        .collect();
    match fitting.as_slice() {
        [one] => Ok(*one),
        // Shapes rule every reader out (a register written with maps and arrays, say): the
        // models that read the functions are what the user chooses among.
        [] => Err(NoModelFits::Ambiguous {
            functions: functions_list(),
            models: readable,
        }),
        several => Err(NoModelFits::Ambiguous {
            functions: functions_list(),
            models: several.to_vec(),
        }),
    }
}

/// Whether `event`'s value has a shape `model` reads: only values that tell are looked at
/// (what an update writes, what an ok read returned), and nil tells nothing.
fn shape_fits(model: ModelKind, event: &Event) -> bool {
    let observed = event.kind == EventType::Ok && event.f == "read";
    let written = event.kind == EventType::Invoke && matches!(event.f.as_str(), "write" | "add");
    if !(observed || written) || event.value.is_null() {
        return true;
    }
    let v = &event.value;
    match model {
        ModelKind::CasRegister => !v.is_object() && !v.is_array(),
        ModelKind::MultiRegister => v.is_object(),
        ModelKind::Set => !observed || v.is_array(),
        ModelKind::Counter => v.is_i64() || v.is_u64(),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::history_builder::*;
    use serde_json::json;

    fn infer(events: Vec<Event>) -> Result<ModelKind, NoModelFits> {
        infer_model(&history(events))
    }

    #[test]
    fn each_model_is_picked_by_its_operations() {
        let register = vec![
            invoke(0, 1, "write", json!(1)),
            ok(1, 1, "write", json!(1)),
            invoke(2, 2, "cas", json!([1, 2])),
            invoke(3, 3, "read", json!(null)),
            ok(4, 3, "read", json!(2)),
        ];
        assert_eq!(infer(register), Ok(ModelKind::CasRegister));
        let txn = vec![invoke(0, 1, "txn", json!([["read", "x", null]]))];
        assert_eq!(infer(txn), Ok(ModelKind::MultiRegister));
        let maps = vec![
            invoke(0, 1, "write", json!({"x": 1})),
            invoke(1, 2, "read", json!(null)),
            ok(2, 2, "read", json!({"x": 1})),
        ];
        assert_eq!(infer(maps), Ok(ModelKind::MultiRegister));
        let kv = vec![
            invoke(0, 1, "put", json!("a")),
            invoke(1, 2, "get", json!(null)),
        ];
        assert_eq!(infer(kv), Ok(ModelKind::Kv));
        let queue = vec![invoke(0, 1, "enqueue", json!(1))];
        assert_eq!(infer(queue), Ok(ModelKind::Queue));
        let set = done(0, 1, "add", json!(1), json!(1))
            .into_iter()
            .chain(done(20, 2, "read", json!(null), json!([1])))
            .collect();
        assert_eq!(infer(set), Ok(ModelKind::Set));
        let counter = done(0, 1, "add", json!(1), json!(1))
            .into_iter()
            .chain(done(20, 2, "read", json!(null), json!(1)))
            .collect();
        assert_eq!(infer(counter), Ok(ModelKind::Counter));
    }

    #[test]
    fn nemesis_events_do_not_count() {
        let events = vec![
            nemesis(0, EventType::Info, "partition"),
            invoke(1, 1, "write", json!(1)),
        ];
        assert_eq!(infer(events), Ok(ModelKind::CasRegister));
        let only = vec![nemesis(0, EventType::Info, "kill")];
        assert_eq!(infer(only), Ok(ModelKind::default()));
    }

    #[test]
    fn adds_with_no_telling_read_are_ambiguous() {
        let events = vec![
            invoke(0, 1, "add", json!(1)),
            invoke(1, 2, "read", json!(null)),
            info(2, 2, "read", json!(null)),
        ];
        let err = infer(events).unwrap_err();
        assert_eq!(
            err,
            NoModelFits::Ambiguous {
                functions: vec!["add".into(), "read".into()],
                models: vec![ModelKind::Set, ModelKind::Counter],
            }
        );
        assert_eq!(
            err.to_string(),
            "cannot tell which model to check against: the operations' f values are add, read, \
             which set, counter could each read"
        );
    }

    #[test]
    fn unknown_functions_name_who_reads_what() {
        let events = vec![
            invoke(0, 1, "write", json!(1)),
            invoke(1, 2, "incr", json!(1)),
        ];
        assert_eq!(
            infer(events).unwrap_err().to_string(),
            "no model reads these operations: their f values are incr, write, and incr by no \
             model; write by register, cas-register, multi-register, convergence reads them"
        );
    }
}
