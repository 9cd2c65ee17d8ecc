//! Test helpers that build small histories in the order they read:
//!
//! ```text
//! history([invoke(0, 1, "write", json!(1)), ok(10, 1, "write", json!(1))])
//! ```
//!
//! Times are given in milliseconds (stored as nanoseconds) so messages read `0.010 s`; indexes
//! are assigned by position.

use crate::check::check_events;
use crate::history::event::{Event, EventType, Process};
use crate::options::{CheckOptions, ModelKind};
use crate::report::CheckReport;
use crate::validity::Validity;
use serde_json::{json, Value};

const NANOS_PER_MILLI: u64 = 1_000_000;

fn event(ms: u64, process: Process, kind: EventType, f: &str, value: Value) -> Event {
    Event {
        index: 0,
        time: ms * NANOS_PER_MILLI,
        process,
        kind,
        f: f.to_string(),
        key: None,
        value,
        error: None,
        node: None,
    }
}

/// Process `p` invokes `f` with argument `value` at `ms`.
pub(crate) fn invoke(ms: u64, p: u64, f: &str, value: Value) -> Event {
    event(ms, Process::Client(p), EventType::Invoke, f, value)
}

/// Process `p`'s `f` completes ok with `value` at `ms`.
pub(crate) fn ok(ms: u64, p: u64, f: &str, value: Value) -> Event {
    event(ms, Process::Client(p), EventType::Ok, f, value)
}

/// Process `p`'s `f` certainly failed at `ms`.
pub(crate) fn fail(ms: u64, p: u64, f: &str, value: Value) -> Event {
    event(ms, Process::Client(p), EventType::Fail, f, value)
}

/// Process `p`'s `f` ended indeterminately at `ms`.
pub(crate) fn info(ms: u64, p: u64, f: &str, value: Value) -> Event {
    event(ms, Process::Client(p), EventType::Info, f, value)
}

/// A nemesis event at `ms`.
pub(crate) fn nemesis(ms: u64, kind: EventType, f: &str) -> Event {
    event(ms, Process::Nemesis, kind, f, Value::Null)
}

/// The same event, answered by `node`.
pub(crate) fn answered_by(node: &str, mut e: Event) -> Event {
    e.node = Some(node.to_string());
    e
}

/// The same event, addressed to `key`.
pub(crate) fn on(key: Value, mut e: Event) -> Event {
    e.key = Some(key);
    e
}

/// The same event, carrying an error.
pub(crate) fn with_error(error: &str, mut e: Event) -> Event {
    e.error = Some(error.to_string());
    e
}

/// The events in the order given, indexed from 0.
pub(crate) fn history<I: IntoIterator<Item = Event>>(events: I) -> Vec<Event> {
    events
        .into_iter()
        .enumerate()
        .map(|(i, mut e)| {
            e.index = i as u64;
            e
        })
        .collect()
}

/// `f` by process `p`: invoked with `arg` at `ms`, completed ok with `out` 10 ms later.
pub(crate) fn done(ms: u64, p: u64, f: &str, arg: Value, out: Value) -> Vec<Event> {
    vec![invoke(ms, p, f, arg), ok(ms + 10, p, f, out)]
}

/// The canonical stale read: write 1 acknowledged at 1.100 s, write 2 at 1.180 s, then a read
/// invoked at 1.190 s returns 1 at 1.204 s.
pub(crate) fn stale_read() -> Vec<Event> {
    vec![
        invoke(1000, 1, "write", json!(1)),
        ok(1100, 1, "write", json!(1)),
        invoke(1150, 1, "write", json!(2)),
        ok(1180, 1, "write", json!(2)),
        invoke(1190, 2, "read", json!(null)),
        ok(1204, 2, "read", json!(1)),
    ]
}

/// Check options for `model`, every key starting at `initial`, with a minute for explanations:
/// tests that judge a witness must not depend on how loaded the machine is.
pub(crate) fn options(model: ModelKind, initial: Value) -> CheckOptions {
    CheckOptions {
        model,
        initial,
        explain_time: Some(std::time::Duration::from_secs(60)),
        ..CheckOptions::default()
    }
}

/// The default check options, with [`options`]' minute for explanations.
pub(crate) fn patient() -> CheckOptions {
    options(ModelKind::default(), Value::Null)
}

/// The report on `events` (indexed in order) under `model` from the initial value null.
pub(crate) fn report(model: ModelKind, events: Vec<Event>) -> CheckReport {
    check_events(&history(events), &options(model, Value::Null)).expect("a well-formed history")
}

/// The verdict on `events` under `model` from the initial value null.
pub(crate) fn verdict(model: ModelKind, events: Vec<Event>) -> Validity {
    report(model, events).validity
}

/// Each key's verdict, in key order.
pub(crate) fn key_verdicts(report: &CheckReport) -> Vec<(Value, Validity)> {
    report
        .keys
        .iter()
        .map(|k| (k.key.clone(), k.validity))
        .collect()
}

/// The witness of the first key of `report`, which must be invalid.
pub(crate) fn first_witness(report: &CheckReport) -> &crate::explain::witness::Witness {
    let anomaly = report.keys[0].anomaly.as_ref().expect("an invalid key");
    anomaly.witness.as_ref().expect("a witness")
}
