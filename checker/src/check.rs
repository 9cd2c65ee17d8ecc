//! The checker's entry point: is a history linearizable, key by key, or does it keep a weaker
//! guarantee?
//!
//! ```text
//!   events ──pair──► operations ──every f one the model reads? counts──┬─► weak checker (weak/)
//!                                                                     └─► per key (key_check)
//!                                                  ──► CheckReport: merged verdict, keys, counts
//! ```
//!
//! All validation (pairing, supported functions, argument shapes) happens before any search, so
//! a malformed history fails fast with a [`HistoryError`] instead of after minutes of searching.

use crate::history::event::{Event, Process};
use crate::history::history_error::HistoryError;
use crate::history::operation::{pair, Operation, Outcome};
use crate::key_check;
use crate::models::cas_register::CasRegister;
use crate::models::counter::Counter;
use crate::models::kv::Kv;
use crate::models::multi_register::MultiRegister;
use crate::models::queue::Queue;
use crate::models::set::Set;
use crate::options::{CheckOptions, ModelKind};
use crate::report::{CheckReport, Counts, KeyReport};
use crate::search::partition::compare_keys;
use crate::validity::Validity;
use crate::weak::check_weak;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashSet;
use std::time::Instant;

/// Checks a history of events: pairs them, then checks each key.
pub fn check_events(events: &[Event], opts: &CheckOptions) -> Result<CheckReport, HistoryError> {
    check_reusing(&pair(events)?, opts, Vec::new(), faults_end(events))
}

/// The index of the nemesis's last event: the weak checkers' final reads come after it.
fn faults_end(events: &[Event]) -> Option<u64> {
    events
        .iter()
        .filter(|e| e.process == Process::Nemesis)
        .map(|e| e.index)
        .max()
}

/// Checks a history some of whose keys were already checked on their own (a run checks each
/// key as it finishes): the reports in `decided` stand for their keys' operations, the other keys
/// are checked, and the report is the one [`check_events`] gives. Linearizability is
/// compositional, so a key's verdict depends on its own operations only. The weak checkers judge
/// the history whole and ignore `decided`.
pub fn check_events_reusing(
    events: &[Event],
    opts: &CheckOptions,
    decided: Vec<KeyReport>,
) -> Result<CheckReport, HistoryError> {
    check_reusing(&pair(events)?, opts, decided, faults_end(events))
}

/// Checks paired operations, each key on its own, taking the reports in `decided` for their
/// keys, on a history whose nemesis's last event is `faults_end`.
fn check_reusing(
    ops: &[Operation],
    opts: &CheckOptions,
    decided: Vec<KeyReport>,
    faults_end: Option<u64>,
) -> Result<CheckReport, HistoryError> {
    // The clock starts before validation so the timeout bounds the whole check.
    let deadline = opts.timeout.and_then(|t| Instant::now().checked_add(t));
    let supported = opts.model.functions();
    let mut counts = Counts::default();
    for op in ops {
        if !supported.contains(&op.f.as_str()) {
            return Err(HistoryError::UnsupportedFunction {
                index: op.span.invoke_index,
                f: op.f.clone(),
                model: opts.model.to_string(),
                supported: supported.join(", "),
            });
        }
        match op.outcome {
            Outcome::Ok => counts.ok += 1,
            Outcome::Fail { .. } => counts.fail += 1,
            Outcome::Info => counts.info += 1,
        }
    }

    if let Some(weak) = check_weak(ops, opts, faults_end) {
        let weak = weak?;
        return Ok(CheckReport {
            validity: weak.validity(),
            keys: Vec::new(),
            counts,
            weak: Some(weak),
        });
    }
    // Most checks have nothing decided: they search the operations as given, uncopied.
    let undecided: Cow<[Operation]> = if decided.is_empty() {
        Cow::Borrowed(ops)
    } else {
        let known: HashSet<&Value> = decided.iter().map(|k| &k.key).collect();
        let fresh = |op: &&Operation| !known.contains(op.key.as_ref().unwrap_or(&Value::Null));
        Cow::Owned(ops.iter().filter(fresh).cloned().collect())
    };
    let Some(keys) = check_model_keys(&undecided, opts, deadline) else {
        unreachable!("the weaker-guarantee models were checked above");
    };
    let mut keys = keys?;
    keys.extend(decided);
    keys.sort_by(|a, b| compare_keys(&a.key, &b.key));
    Ok(CheckReport {
        validity: Validity::merge_all(keys.iter().map(|k| k.validity)),
        keys,
        counts,
        weak: None,
    })
}

/// Checks a linearizability model key by key ([`key_check`]); `None` for the weaker-guarantee
/// checkers.
fn check_model_keys(
    ops: &[Operation],
    opts: &CheckOptions,
    deadline: Option<Instant>,
) -> Option<Result<Vec<KeyReport>, HistoryError>> {
    Some(match opts.model {
        ModelKind::Register | ModelKind::CasRegister => {
            key_check::check_keys::<CasRegister>(ops, opts, deadline)
        }
        ModelKind::Kv => key_check::check_keys::<Kv>(ops, opts, deadline),
        ModelKind::Set => key_check::check_keys::<Set>(ops, opts, deadline),
        ModelKind::Counter => key_check::check_keys::<Counter>(ops, opts, deadline),
        ModelKind::Queue => key_check::check_keys::<Queue>(ops, opts, deadline),
        ModelKind::MultiRegister => key_check::check_keys::<MultiRegister>(ops, opts, deadline),
        ModelKind::SetFull | ModelKind::CounterBounds | ModelKind::Convergence => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::event::EventType;
    use crate::history::failed_cas::FailedCas;
    use crate::report::Anomaly;
    use crate::testing::history_builder::*;
    use serde_json::json;
    use serde_json::Value;
    use std::time::Duration;

    fn check(events: Vec<Event>) -> CheckReport {
        check_events(&history(events), &patient()).unwrap()
    }

    fn validity(events: Vec<Event>) -> Validity {
        check(events).validity
    }

    #[test]
    fn concurrent_register_history_is_valid() {
        //   p1  write 1 |------|
        //   p2  read → 1    |------|
        //   p3  read → null   |--|          (before the write takes effect)
        //   p1  write 2             |--|
        //   p3  read → 2                 |--|
        let report = check(vec![
            invoke(0, 1, "write", json!(1)),
            invoke(10, 2, "read", json!(null)),
            invoke(20, 3, "read", json!(null)),
            ok(30, 3, "read", json!(null)),
            ok(40, 1, "write", json!(1)),
            ok(50, 2, "read", json!(1)),
            invoke(60, 1, "write", json!(2)),
            ok(70, 1, "write", json!(2)),
            invoke(80, 3, "read", json!(null)),
            ok(90, 3, "read", json!(2)),
        ]);
        assert_eq!(
            report,
            CheckReport {
                validity: Validity::Valid,
                keys: vec![KeyReport {
                    key: json!(null),
                    validity: Validity::Valid,
                    operations: 5,
                    reason: None,
                    anomaly: None,
                }],
                counts: Counts {
                    ok: 5,
                    fail: 0,
                    info: 0
                },
                weak: None,
            }
        );
    }

    #[test]
    fn stale_read_is_invalid_and_named() {
        let report = check(
            stale_read()
                .into_iter()
                .map(|e| on(json!("x"), e))
                .collect(),
        );
        assert_eq!(report.validity, Validity::Invalid);
        let key = &report.keys[0];
        assert_eq!(key.key, json!("x"));
        let anomaly = key.anomaly.as_ref().unwrap();
        assert_eq!(anomaly.longest_prefix, 2);
        assert_eq!(anomaly.unlinearizable.len(), 1);
        assert_eq!(anomaly.unlinearizable[0].span.invoke_index, 4);
        assert_eq!(anomaly.stale_reads.len(), 1);
        let stale = &anomaly.stale_reads[0];
        assert_eq!(stale.read.span.invoke_index, 4);
        assert_eq!(stale.read.value, json!(1));
        assert_eq!(stale.overwrite.span.invoke_index, 2);
        assert_eq!(stale.writer.as_ref().unwrap().span.invoke_index, 0);
        let message = "read of x returned 1 at 1.204 s, but write 2 to x was acknowledged at \
                       1.180 s, after write 1 had completed at 1.100 s";
        assert_eq!(anomaly.message, message);
        assert_eq!(
            report.to_string(),
            format!(
                "invalid: 1 key checked, 1 invalid, 0 unknown (3 ok, 0 fail, 0 info operations)\n\
                 x: invalid (3 operations)\n  {message}\n  minimal witness (1 of 3 operations, \
                 shown with 2 more for context):\n\
                 \x20   write 1 by process 1: invoked at 1.000 s, ok at 1.100 s (context)\n\
                 \x20   write 2 by process 1: invoked at 1.150 s, ok at 1.180 s (context)\n\
                 \x20   read returned 1 by process 2: invoked at 1.190 s, ok at 1.204 s\n\
                 \x20 because: read of x returned 1 at 1.204 s, but write 2 to x was acknowledged \
                 at 1.180 s, and every write of 1 before the read had completed before write 2 \
                 began\n\
                 \x20 cycle: write 1 (process 1) → (real time) write 2 (process 1) → (read 1 \
                 follows it, yet returned the value of write 1) write 1 (process 1)\n"
            )
        );
    }

    #[test]
    fn cas_succeeds_only_on_a_match() {
        let base = vec![
            invoke(0, 1, "write", json!(1)),
            ok(10, 1, "write", json!(1)),
            invoke(20, 1, "cas", json!([1, 2])),
            ok(30, 1, "cas", json!([1, 2])),
            invoke(40, 2, "cas", json!([1, 3])),
            with_error(
                crate::history::event::CAS_MISMATCH,
                fail(50, 2, "cas", json!([1, 3])),
            ),
        ];
        let read = |v: Value| vec![invoke(60, 3, "read", json!(null)), ok(70, 3, "read", v)];
        assert_eq!(
            validity([base.clone(), read(json!(2))].concat()),
            Validity::Valid
        );
        // The failed cas certainly did not swap.
        assert_eq!(
            validity([base.clone(), read(json!(3))].concat()),
            Validity::Invalid
        );
        // An ok cas whose compare cannot have matched.
        let bad_cas = vec![
            invoke(60, 3, "cas", json!([7, 8])),
            ok(70, 3, "cas", json!([7, 8])),
        ];
        assert_eq!(
            validity([base.clone(), bad_cas].concat()),
            Validity::Invalid
        );
        // A failed cas, though its compare would have matched, is fine: it did not happen.
        let failed_match = vec![
            invoke(60, 3, "cas", json!([2, 9])),
            fail(70, 3, "cas", json!([2, 9])),
        ];
        assert_eq!(validity([base, failed_match].concat()), Validity::Valid);
    }

    #[test]
    fn a_failed_cas_observes_a_mismatch_unless_dropped() {
        // The register holds 1 from before the cas began until after it failed: its compare
        // against 1 cannot have failed. Knossos (dropped) calls this valid.
        let events = history([
            on(json!("x"), invoke(0, 1, "write", json!(1))),
            on(json!("x"), ok(10, 1, "write", json!(1))),
            on(json!("x"), invoke(20, 2, "cas", json!([1, 2]))),
            on(
                json!("x"),
                with_error(
                    crate::history::event::CAS_MISMATCH,
                    fail(30, 2, "cas", json!([1, 2])),
                ),
            ),
            on(json!("x"), invoke(40, 1, "read", json!(null))),
            on(json!("x"), ok(50, 1, "read", json!(1))),
        ]);
        let observes = check_events(&events, &patient()).unwrap();
        assert_eq!(observes.validity, Validity::Invalid);
        assert_eq!(
            first_witness(&observes).timeline,
            [
                "write 1 by process 1: invoked at 0.000 s, ok at 0.010 s",
                "cas 1 -> 2 by process 2: invoked at 0.020 s, failed at 0.030 s, reporting the \
                 value was not 1"
            ]
        );
        let dropped = CheckOptions {
            failed_cas: FailedCas::Dropped,
            ..patient()
        };
        assert_eq!(
            check_events(&events, &dropped).unwrap().validity,
            Validity::Valid
        );
        // A failure without the mismatch error never happened, whatever the option.
        let mut unexplained = events.clone();
        unexplained[3].error = Some("timeout".into());
        assert_eq!(
            check_events(&unexplained, &patient()).unwrap().validity,
            Validity::Valid
        );
    }

    #[test]
    fn a_mismatch_fits_where_the_value_differed() {
        // Concurrent with the write of 1, the cas may see null; against a value nobody writes
        // it always fails (the fast path decides that); with values repeating, the search.
        let mismatch = |expected: Value, t: u64| {
            vec![
                on(
                    json!("x"),
                    invoke(t, 2, "cas", json!([expected.clone(), 9])),
                ),
                on(
                    json!("x"),
                    with_error(
                        crate::history::event::CAS_MISMATCH,
                        fail(t + 10, 2, "cas", json!([expected, 9])),
                    ),
                ),
            ]
        };
        let write = |v: u64, t: u64| {
            vec![
                on(json!("x"), invoke(t, 1, "write", json!(v))),
                on(json!("x"), ok(t + 10, 1, "write", json!(v))),
            ]
        };
        let concurrent = history(
            [
                vec![
                    on(json!("x"), invoke(0, 1, "write", json!(1))),
                    on(json!("x"), invoke(1, 2, "cas", json!([1, 9]))),
                ],
                vec![
                    on(json!("x"), ok(10, 1, "write", json!(1))),
                    with_error(
                        crate::history::event::CAS_MISMATCH,
                        on(json!("x"), fail(11, 2, "cas", json!([1, 9]))),
                    ),
                ],
            ]
            .concat(),
        );
        assert_eq!(
            check_events(&concurrent, &patient()).unwrap().validity,
            Validity::Valid
        );
        let never_written = history([write(1, 0), mismatch(json!(7), 20)].concat());
        assert_eq!(validity(never_written), Validity::Valid);
        let repeated = history(
            [
                write(1, 0),
                write(2, 20),
                write(1, 40),
                mismatch(json!(1), 60),
            ]
            .concat(),
        );
        assert_eq!(validity(repeated), Validity::Invalid);
        let overwritten = history(
            [
                write(1, 0),
                write(2, 20),
                write(2, 40),
                mismatch(json!(1), 60),
            ]
            .concat(),
        );
        assert_eq!(validity(overwritten), Validity::Valid);
    }

    #[test]
    fn indeterminate_write_may_or_may_not_happen() {
        let write = vec![
            invoke(0, 1, "write", json!(1)),
            info(10, 1, "write", json!(1)),
        ];
        let read = |t: u64, p: u64, v: Value| {
            vec![invoke(t, p, "read", json!(null)), ok(t + 5, p, "read", v)]
        };
        assert_eq!(
            validity([write.clone(), read(20, 2, json!(1))].concat()),
            Validity::Valid
        );
        assert_eq!(
            validity([write.clone(), read(20, 2, json!(null))].concat()),
            Validity::Valid
        );
        // It may take effect long after its info: first unseen, then seen.
        let late = [
            write.clone(),
            read(20, 2, json!(null)),
            read(40, 2, json!(1)),
        ]
        .concat();
        assert_eq!(validity(late), Validity::Valid);
        // But once seen, it cannot be undone.
        let undone = [write, read(20, 2, json!(1)), read(40, 2, json!(null))].concat();
        let report = check(undone);
        assert_eq!(report.validity, Validity::Invalid);
        assert_eq!(
            report.counts,
            Counts {
                ok: 2,
                fail: 0,
                info: 1
            }
        );
    }

    #[test]
    fn indeterminate_cas_may_or_may_not_happen() {
        let setup = vec![
            invoke(0, 1, "write", json!(1)),
            ok(10, 1, "write", json!(1)),
            invoke(20, 1, "cas", json!([1, 2])),
            info(30, 1, "cas", json!([1, 2])),
        ];
        let read = |v: Value| vec![invoke(40, 2, "read", json!(null)), ok(50, 2, "read", v)];
        assert_eq!(
            validity([setup.clone(), read(json!(2))].concat()),
            Validity::Valid
        );
        assert_eq!(
            validity([setup.clone(), read(json!(1))].concat()),
            Validity::Valid
        );
        assert_eq!(
            validity([setup, read(json!(3))].concat()),
            Validity::Invalid
        );
    }

    #[test]
    fn reading_a_failed_write_is_invalid() {
        let report = check(vec![
            invoke(0, 1, "write", json!(1)),
            fail(10, 1, "write", json!(1)),
            invoke(20, 2, "read", json!(null)),
            ok(30, 2, "read", json!(1)),
        ]);
        assert_eq!(report.validity, Validity::Invalid);
        let anomaly = report.keys[0].anomaly.as_ref().unwrap();
        assert!(anomaly.stale_reads.is_empty());
        assert_eq!(anomaly.longest_prefix, 0);
        assert_eq!(
            anomaly.message,
            "no linearization of the register: the longest consistent order covers 0 of 1 \
             operations and leaves the value null; none of these can take effect next: \
             read 1 by process 2 (invoked 0.020 s, ok at 0.030 s)"
        );
        assert_eq!(
            report.to_string(),
            "invalid: 1 key checked, 1 invalid, 0 unknown (1 ok, 1 fail, 0 info operations)\n\
             the register: invalid (2 operations)\n\
             \x20 consistent for 0 operations; then none of these can take effect:\n\
             \x20   read 1 by process 2 (invoked 0.020 s, ok at 0.030 s)\n\
             \x20 minimal witness (1 of 1 operation):\n\
             \x20   read returned 1 by process 2: invoked at 0.020 s, ok at 0.030 s\n\
             \x20 because: read of the register returned 1 at 0.030 s, but no write of 1 that \
             may have taken effect began before the read ended\n"
        );
    }

    /// Issue 12, point 10: Knossos's EDN has no times (each event's time is its index); the
    /// stuck operations printed `(invoked 0.000 s, ok at 0.000 s)` while the witness printed
    /// event numbers.
    #[test]
    fn a_history_without_times_shows_event_numbers_everywhere() {
        let mut events = history([
            invoke(0, 1, "write", json!(1)),
            fail(10, 1, "write", json!(1)),
            invoke(20, 2, "read", json!(null)),
            ok(30, 2, "read", json!(1)),
        ]);
        for e in &mut events {
            e.time = e.index;
        }
        let report = check_events(&events, &patient()).unwrap();
        assert_eq!(
            report.to_string(),
            "invalid: 1 key checked, 1 invalid, 0 unknown (1 ok, 1 fail, 0 info operations)\n\
             the register: invalid (2 operations)\n\
             \x20 consistent for 0 operations; then none of these can take effect:\n\
             \x20   read 1 by process 2 (invoked event 2, ok at event 3)\n\
             \x20 minimal witness (1 of 1 operation):\n\
             \x20   read returned 1 by process 2: invoked at event 2, ok at event 3\n\
             \x20 because: read of the register returned 1 at event 3, but no write of 1 that \
             may have taken effect began before the read ended\n"
        );
    }

    #[test]
    fn pending_invocation_counts_as_info() {
        let report = check(vec![
            invoke(0, 1, "write", json!(1)),
            invoke(10, 2, "read", json!(null)),
            ok(20, 2, "read", json!(1)),
        ]);
        assert_eq!(report.validity, Validity::Valid);
        assert_eq!(
            report.counts,
            Counts {
                ok: 1,
                fail: 0,
                info: 1
            }
        );
    }

    #[test]
    fn nemesis_events_are_ignored() {
        let report = check(vec![
            nemesis(0, EventType::Invoke, "partition"),
            invoke(5, 1, "write", json!(1)),
            nemesis(7, EventType::Info, "partition"),
            ok(10, 1, "write", json!(1)),
            nemesis(12, EventType::Info, "heal"),
            invoke(15, 1, "read", json!(null)),
            ok(20, 1, "read", json!(1)),
        ]);
        assert_eq!(report.validity, Validity::Valid);
        assert_eq!(
            report.counts,
            Counts {
                ok: 2,
                fail: 0,
                info: 0
            }
        );
        assert_eq!(report.keys[0].operations, 2);
    }

    #[test]
    fn nemesis_events_from_jsonl_are_ignored() {
        let text = r#"{"index":0,"time":0,"process":"nemesis","type":"info","f":"start-partition","value":"majority"}
{"index":1,"time":1,"process":0,"type":"invoke","f":"write","key":"x","value":3}
{"index":2,"time":2,"process":0,"type":"ok","f":"write","key":"x","value":3}
{"index":3,"time":3,"process":"nemesis","type":"info","f":"stop-partition"}
{"index":4,"time":4,"process":1,"type":"invoke","f":"read","key":"x","value":null}
{"index":5,"time":5,"process":1,"type":"ok","f":"read","key":"x","value":3}
"#;
        let events = crate::history::jsonl::read_jsonl(text.as_bytes()).unwrap();
        let report = check_events(&events, &patient()).unwrap();
        assert_eq!(report.validity, Validity::Valid);
        assert_eq!(report.keys.len(), 1);
        assert_eq!(report.keys[0].key, json!("x"));
    }

    #[test]
    fn initial_value_option() {
        let events = history([
            invoke(0, 1, "read", json!(null)),
            ok(10, 1, "read", json!(0)),
        ]);
        let zero = CheckOptions {
            initial: json!(0),
            ..patient()
        };
        assert_eq!(
            check_events(&events, &zero).unwrap().validity,
            Validity::Valid
        );
        let null = patient();
        assert_eq!(
            check_events(&events, &null).unwrap().validity,
            Validity::Invalid
        );
    }

    #[test]
    fn keys_are_checked_separately_and_sorted() {
        let report = check(vec![
            on(json!("y"), invoke(0, 1, "write", json!(1))),
            on(json!("y"), ok(10, 1, "write", json!(1))),
            on(json!("x"), invoke(20, 2, "read", json!(null))),
            on(json!("x"), ok(30, 2, "read", json!(1))),
            on(json!("y"), invoke(40, 2, "read", json!(null))),
            on(json!("y"), ok(50, 2, "read", json!(1))),
        ]);
        let keys = key_verdicts(&report);
        assert_eq!(
            keys,
            [
                (json!("x"), Validity::Invalid),
                (json!("y"), Validity::Valid)
            ]
        );
        assert_eq!(report.validity, Validity::Invalid);
    }

    #[test]
    fn unsupported_functions_are_errors() {
        let cas = history([
            invoke(0, 1, "write", json!(1)),
            invoke(1, 2, "cas", json!([1, 2])),
        ]);
        let register = CheckOptions {
            model: ModelKind::Register,
            ..patient()
        };
        assert_eq!(
            check_events(&cas, &register).unwrap_err().to_string(),
            "operation invoked at event 1: f \"cas\" is not supported by the register model \
             (it supports read, write)"
        );
        assert!(check_events(&cas, &patient()).is_ok());

        let append = history([invoke(0, 1, "append", json!(1))]);
        assert_eq!(
            check_events(&append, &patient()).unwrap_err(),
            HistoryError::UnsupportedFunction {
                index: 0,
                f: "append".into(),
                model: "cas-register".into(),
                supported: "read, write, cas".into()
            }
        );
    }

    #[test]
    fn pairing_errors_surface() {
        let events = history([ok(0, 1, "read", json!(1))]);
        assert!(matches!(
            check_events(&events, &patient()),
            Err(HistoryError::CompletionWithoutInvocation { index: 0, .. })
        ));
    }

    /// 24 concurrent writes of 12 values (each twice, so the unique-value path cannot help),
    /// then a read of 0 and a read of 1: no order of the writes leaves both, but the search
    /// learns so only after placing every write, so it must try every subset of them.
    fn hard_history() -> Vec<Event> {
        let mut events = Vec::new();
        for p in 0..24 {
            events.push(invoke(p, p, "write", json!(p % 12)));
        }
        for p in 0..24 {
            events.push(ok(24 + p, p, "write", json!(p % 12)));
        }
        for (at, v) in [(48, 0), (50, 1)] {
            events.push(invoke(at, 100, "read", json!(null)));
            events.push(ok(at + 1, 100, "read", json!(v)));
        }
        history(events)
    }

    #[test]
    fn a_tiny_memory_limit_is_unknown_with_the_reason() {
        let opts = CheckOptions {
            memory_limit: Some(1 << 20),
            ..patient()
        };
        let report = check_events(&hard_history(), &opts).unwrap();
        assert_eq!(report.validity, Validity::Unknown);
        assert_eq!(
            report.keys[0].reason.as_deref(),
            Some("memory limit of 1 MiB reached")
        );
        assert_eq!(
            report.to_string(),
            "unknown: 1 key checked, 0 invalid, 1 unknown (26 ok, 0 fail, 0 info operations)\n\
             the register: unknown (26 operations): memory limit of 1 MiB reached\n"
        );
    }

    #[test]
    fn a_deadline_is_honoured_mid_search() {
        let timeout = Duration::from_millis(100);
        let opts = CheckOptions {
            timeout: Some(timeout),
            ..patient()
        };
        let started = Instant::now();
        let report = check_events(&hard_history(), &opts).unwrap();
        let took = started.elapsed();
        assert_eq!(report.validity, Validity::Unknown);
        assert_eq!(
            report.keys[0].reason.as_deref(),
            Some("the search did not finish within the 100ms timeout")
        );
        // 100 ms of slack for a loaded test machine; the search itself reads the clock every
        // few hundred steps (well under a millisecond).
        assert!(took < timeout * 2, "took {took:?}");
    }

    #[test]
    fn unique_values_are_decided_without_the_search() {
        // 20,000 operations by 10 clients, 10% indeterminate: the search alone takes seconds
        // (Porcupine: 15 s); the fast path, milliseconds.
        let sim = crate::testing::simulation::Simulation {
            ops: 20_000,
            clients: 10,
            values: crate::testing::simulation::Values::Unique,
            info_rate: 0.1,
            seed: 5,
            ..Default::default()
        };
        let opts = CheckOptions {
            timeout: Some(Duration::from_secs(10)),
            ..patient()
        };
        let started = Instant::now();
        let report = check_events(&sim.events(), &opts).unwrap();
        assert_eq!(report.validity, Validity::Valid);
        let stale = crate::testing::simulation::Simulation {
            stale_read: true,
            ..sim
        };
        let report = check_events(&stale.events(), &opts).unwrap();
        assert_eq!(report.validity, Validity::Invalid);
        let anomaly = report.keys[0].anomaly.as_ref().unwrap();
        assert_eq!(anomaly.stale_reads.len(), 1);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_proof_without_a_longest_order_is_shown_as_the_fast_path_gives_it() {
        let report = CheckReport {
            validity: Validity::Invalid,
            keys: vec![KeyReport {
                key: json!("x"),
                validity: Validity::Invalid,
                operations: 3,
                reason: None,
                anomaly: Some(Anomaly {
                    unlinearizable: Vec::new(),
                    longest_prefix: 0,
                    stale_reads: Vec::new(),
                    message: "no linearization of x: because".into(),
                    witness: None,
                    left_out: 0,
                }),
            }],
            counts: Counts {
                ok: 3,
                fail: 0,
                info: 0,
            },
            weak: None,
        };
        assert_eq!(
            report.to_string(),
            "invalid: 1 key checked, 1 invalid, 0 unknown (3 ok, 0 fail, 0 info operations)\n\
             x: invalid (3 operations)\n  no linearization of x: because\n"
        );
    }

    #[test]
    fn past_deadline_is_unknown_never_a_verdict() {
        let valid = vec![
            on(json!("a"), invoke(0, 1, "write", json!(1))),
            on(json!("a"), ok(10, 1, "write", json!(1))),
        ];
        let invalid = vec![
            on(json!("b"), invoke(20, 2, "read", json!(null))),
            on(json!("b"), ok(30, 2, "read", json!(7))),
        ];
        let opts = CheckOptions {
            timeout: Some(Duration::ZERO),
            ..patient()
        };
        let report = check_events(&history([valid, invalid].concat()), &opts).unwrap();
        assert_eq!(report.validity, Validity::Unknown);
        for key in &report.keys {
            assert_eq!(key.validity, Validity::Unknown);
            assert_eq!(
                key.reason.as_deref(),
                Some("the search did not finish within the 0ns timeout")
            );
            assert_eq!(key.anomaly, None);
        }
        assert_eq!(
            report.to_string(),
            "unknown: 2 keys checked, 0 invalid, 2 unknown (2 ok, 0 fail, 0 info operations)\n\
             a: unknown (1 operation): the search did not finish within the 0ns timeout\n\
             b: unknown (1 operation): the search did not finish within the 0ns timeout\n"
        );
    }

    /// Keys checked on their own, as a run checks them while it goes, and the rest checked at
    /// the end: the same report as checking the whole history at once.
    #[test]
    fn keys_decided_apart_give_the_whole_history_s_report() {
        use crate::testing::simulation::{Object, Simulation, Values};
        for (seed, stale_read) in [(1, false), (2, true), (3, true)] {
            let events = Simulation {
                object: Object::Register,
                ops: 400,
                keys: 6,
                values: Values::Unique,
                stale_read,
                seed,
                ..Simulation::default()
            }
            .events();
            let opts = options(ModelKind::CasRegister, Value::Null);
            let whole = check_events(&events, &opts).unwrap();
            // Every other key decided apart, from its own events only.
            let decided: Vec<KeyReport> = whole
                .keys
                .iter()
                .step_by(2)
                .map(|k| {
                    let own: Vec<Event> = events
                        .iter()
                        .filter(|e| e.key.as_ref() == Some(&k.key))
                        .cloned()
                        .collect();
                    let alone = check_events(&own, &opts).unwrap();
                    assert_eq!(alone.keys.len(), 1);
                    alone.keys.into_iter().next().unwrap()
                })
                .collect();
            assert!(decided.len() >= 3);
            let reused = check_events_reusing(&events, &opts, decided).unwrap();
            let summary = |r: &CheckReport| -> Vec<(Value, Validity, usize, Option<String>)> {
                r.keys
                    .iter()
                    .map(|k| {
                        let message = k.anomaly.as_ref().map(|a| a.message.clone());
                        (k.key.clone(), k.validity, k.operations, message)
                    })
                    .collect()
            };
            assert_eq!(summary(&reused), summary(&whole));
            assert_eq!(reused.validity, whole.validity);
            assert_eq!(reused.counts, whole.counts);
            assert_eq!(
                whole.validity,
                if stale_read {
                    Validity::Invalid
                } else {
                    Validity::Valid
                }
            );
        }
    }
}
