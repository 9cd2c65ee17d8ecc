//! Property tests: a sequential run, stretched into overlapping intervals without reordering the
//! instants the operations took effect, is linearizable; a read of the value from before an
//! acknowledged overwrite is not.
//!
//! ```text
//!   sequential:  w1    r1    w2    r2          each at its own instant p
//!   stretched:  |--w1--|                       invoked before p, completed after p
//!                  |----r1---|
//!                      |--w2---------|
//!                           |--r2-|
//! ```
//!
//! Each operation keeps its instant inside its interval, so the run itself is a linearization of
//! the stretched history, whatever the overlaps. Some operations end `info` (they took effect, or
//! for an `info` that never completed they still did), some extra ones `fail` without taking
//! effect, and a failed compare of a cas is reported as `cas-mismatch`: all must still check
//! valid. Every model is covered, each by a few thousand seeded histories.
//!
//! The same runs test witnesses' soundness: cut down to any subset closed under the model's
//! ties ([`crate::explain::ties`]), a linearizable history must stay linearizable, or a "witness"
//! could blame a valid key.

use crate::check::check_events;
use crate::history::event::{Event, EventType, Process, CAS_MISMATCH};
use crate::history::operation::{pair, Operation};
use crate::key_check::KeyCheck;
use crate::models::counter::Counter;
use crate::models::history_model::HistoryModel;
use crate::models::kv::Kv;
use crate::models::multi_register::MultiRegister;
use crate::models::queue::Queue;
use crate::models::set::Set;
use crate::options::{CheckOptions, ModelKind};
use crate::search::budget::Budget;
use crate::search::wgl::{self, Interval, Linearization};
use crate::validity::Validity;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// One operation of a sequential run, with the instant it took effect.
#[derive(Debug, Clone)]
struct Step {
    f: &'static str,
    arg: Value,
    /// What an `ok` completion carries (a read's result; the argument for updates).
    result: Value,
    /// How it ended: `Ok`, `Info` (took effect, answer lost), or `Fail` (never took effect
    /// unless `error` is a mismatch, which took effect as an observation).
    kind: EventType,
    error: Option<&'static str>,
    /// The instant it took effect (or, for a failed one, an instant inside its interval).
    at: u64,
}

/// A sequential object: draws the next operation, applies it, and says what it returned.
trait Object {
    fn new() -> Self;
    /// The next operation, already applied: (f, argument, result, failed compare).
    fn next(&mut self, rng: &mut StdRng) -> (&'static str, Value, Value, bool);
    /// An update that fails without taking effect.
    fn failed(rng: &mut StdRng) -> (&'static str, Value);
}

/// A register of small integers: values repeat, so the search decides (unless `UNIQUE`).
struct Register<const CAS: bool, const UNIQUE: bool> {
    value: Value,
    next: u64,
}

impl<const CAS: bool, const UNIQUE: bool> Object for Register<CAS, UNIQUE> {
    fn new() -> Self {
        Register {
            value: Value::Null,
            next: 0,
        }
    }
    fn next(&mut self, rng: &mut StdRng) -> (&'static str, Value, Value, bool) {
        let mut fresh = |rng: &mut StdRng| {
            self.next += 1;
            if UNIQUE {
                json!(self.next)
            } else {
                json!(rng.random_range(0..4))
            }
        };
        match rng.random_range(0..if CAS { 3 } else { 2 }) {
            0 => ("read", Value::Null, self.value.clone(), false),
            1 => {
                let v = fresh(rng);
                self.value = v.clone();
                ("write", v.clone(), v, false)
            }
            _ => {
                let expected = if rng.random_bool(0.6) {
                    self.value.clone()
                } else {
                    json!(rng.random_range(0..4))
                };
                let new = fresh(rng);
                let arg = json!([expected, new]);
                if expected == self.value {
                    self.value = new;
                    ("cas", arg.clone(), arg, false)
                } else {
                    ("cas", arg.clone(), arg, true)
                }
            }
        }
    }
    fn failed(rng: &mut StdRng) -> (&'static str, Value) {
        ("write", json!(100 + rng.random_range(0..3)))
    }
}

/// A string per key with get, put and append.
struct KvObject(String);

impl Object for KvObject {
    fn new() -> Self {
        KvObject(String::new())
    }
    fn next(&mut self, rng: &mut StdRng) -> (&'static str, Value, Value, bool) {
        match rng.random_range(0..3) {
            0 => ("get", Value::Null, json!(self.0), false),
            1 => {
                let v = ["a", "b"][rng.random_range(0..2)];
                self.0 = v.to_string();
                ("put", json!(v), json!(v), false)
            }
            _ => {
                let v = ["x", "y"][rng.random_range(0..2)];
                self.0.push_str(v);
                ("append", json!(v), json!(v), false)
            }
        }
    }
    fn failed(_: &mut StdRng) -> (&'static str, Value) {
        ("append", json!("z"))
    }
}

/// A set of small integers with add and whole-set reads.
struct SetObject(BTreeSet<i64>);

impl Object for SetObject {
    fn new() -> Self {
        SetObject(BTreeSet::new())
    }
    fn next(&mut self, rng: &mut StdRng) -> (&'static str, Value, Value, bool) {
        if rng.random_bool(0.5) {
            let seen: Vec<i64> = self.0.iter().copied().collect();
            ("read", Value::Null, json!(seen), false)
        } else {
            let e = rng.random_range(0..8);
            self.0.insert(e);
            ("add", json!(e), json!(e), false)
        }
    }
    fn failed(_: &mut StdRng) -> (&'static str, Value) {
        ("add", json!(99))
    }
}

/// A counter with positive and negative adds.
struct CounterObject(i64);

impl Object for CounterObject {
    fn new() -> Self {
        CounterObject(0)
    }
    fn next(&mut self, rng: &mut StdRng) -> (&'static str, Value, Value, bool) {
        if rng.random_bool(0.5) {
            ("read", Value::Null, json!(self.0), false)
        } else {
            let d = rng.random_range(-2..=3);
            self.0 += d;
            ("add", json!(d), json!(d), false)
        }
    }
    fn failed(_: &mut StdRng) -> (&'static str, Value) {
        ("add", json!(50))
    }
}

/// A FIFO queue of small integers.
struct QueueObject(std::collections::VecDeque<i64>);

impl Object for QueueObject {
    fn new() -> Self {
        QueueObject(Default::default())
    }
    fn next(&mut self, rng: &mut StdRng) -> (&'static str, Value, Value, bool) {
        if rng.random_bool(0.5) {
            let got = self.0.pop_front().map_or(Value::Null, |e| json!(e));
            ("dequeue", Value::Null, got, false)
        } else {
            let e = rng.random_range(1..5);
            self.0.push_back(e);
            ("enqueue", json!(e), json!(e), false)
        }
    }
    fn failed(_: &mut StdRng) -> (&'static str, Value) {
        ("enqueue", json!(77))
    }
}

/// Two registers, starting null, read and written together by transactions of one or two
/// steps.
struct MultiObject([Value; 2]);

impl Object for MultiObject {
    fn new() -> Self {
        MultiObject([Value::Null, Value::Null])
    }
    fn next(&mut self, rng: &mut StdRng) -> (&'static str, Value, Value, bool) {
        let (mut asked, mut got) = (Vec::new(), Vec::new());
        for _ in 0..rng.random_range(1..=2) {
            let r = rng.random_range(0..2);
            let name = ["x", "y"][r];
            if rng.random_bool(0.5) {
                asked.push(json!(["read", name, null]));
                got.push(json!(["read", name, self.0[r]]));
            } else {
                let v = rng.random_range(0..4);
                self.0[r] = json!(v);
                asked.push(json!(["write", name, v]));
                got.push(json!(["write", name, v]));
            }
        }
        ("txn", Value::Array(asked), Value::Array(got), false)
    }
    fn failed(_: &mut StdRng) -> (&'static str, Value) {
        ("txn", json!([["write", "x", 9]]))
    }
}

/// A sequential run of `O`: operations at instants 100, 110, 120, …, a few ending `info`, with
/// failed updates that took no effect mixed in.
fn run<O: Object>(rng: &mut StdRng) -> Vec<Step> {
    let mut object = O::new();
    let n = rng.random_range(3..=25);
    let mut steps = Vec::new();
    for i in 0..n {
        // Far enough from 0 for the widest stretch.
        let at = 100 + 10 * i;
        let (f, arg, result, mismatch) = object.next(rng);
        let (kind, error) = if mismatch {
            // Jepsen and faultline report an evaluated compare that did not match as a fail.
            (EventType::Fail, Some(CAS_MISMATCH))
        } else if rng.random_bool(0.1) {
            (EventType::Info, None)
        } else {
            (EventType::Ok, None)
        };
        steps.push(Step {
            f,
            arg,
            result,
            kind,
            error,
            at,
        });
        if rng.random_bool(0.05) {
            let (f, arg) = O::failed(rng);
            steps.push(Step {
                f,
                arg: arg.clone(),
                result: arg,
                kind: EventType::Fail,
                error: None,
                at: at + 5,
            });
        }
    }
    steps
}

/// The run as a history: each step invoked up to `spread` before its instant and completed up
/// to `spread` after (an `info` sometimes never completes), on processes that are free.
fn stretch(steps: &[Step], spread: u64, rng: &mut StdRng) -> Vec<Event> {
    struct Timed {
        time: u64,
        step: usize,
        kind: EventType,
    }
    let mut spans: Vec<(u64, Option<u64>, usize)> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let invoke = s.at - rng.random_range(1..=spread);
            let never = s.kind == EventType::Info && rng.random_bool(0.3);
            let complete = (!never).then(|| s.at + rng.random_range(1..=spread));
            (invoke, complete, i)
        })
        .collect();
    spans.sort_by_key(|&(invoke, _, i)| (invoke, i));
    // A process is free once its last operation completed; after an `info` it is retired.
    let mut busy_until: Vec<Option<u64>> = Vec::new();
    let mut process = vec![0u64; steps.len()];
    let mut timed = Vec::new();
    for &(invoke, complete, i) in &spans {
        let free = busy_until
            .iter()
            .position(|b| b.is_some_and(|until| until < invoke));
        let p = free.unwrap_or_else(|| {
            busy_until.push(None);
            busy_until.len() - 1
        });
        let retired = steps[i].kind == EventType::Info;
        busy_until[p] = if retired { None } else { complete };
        process[i] = p as u64;
        timed.push(Timed {
            time: invoke,
            step: i,
            kind: EventType::Invoke,
        });
        if let Some(c) = complete {
            timed.push(Timed {
                time: c,
                step: i,
                kind: steps[i].kind,
            });
        }
    }
    timed.sort_by_key(|t| (t.time, t.kind != EventType::Invoke));
    timed
        .iter()
        .enumerate()
        .map(|(index, t)| {
            let s = &steps[t.step];
            let value = match t.kind {
                EventType::Invoke => s.arg.clone(),
                EventType::Ok => s.result.clone(),
                _ => s.arg.clone(),
            };
            Event {
                index: index as u64,
                time: t.time * 1_000_000,
                process: Process::Client(process[t.step]),
                kind: t.kind,
                f: s.f.to_string(),
                key: None,
                value,
                error: match t.kind {
                    EventType::Fail => s.error.map(str::to_string),
                    _ => None,
                },
                node: None,
            }
        })
        .collect()
}

/// Checks `cases` stretched runs of `O` against `model`: every one must be valid. Returns how
/// many held a failed cas reported as a mismatch.
fn stretched_runs_are_linearizable<O: Object>(model: ModelKind, seed: u64, cases: usize) -> usize {
    let mut rng = StdRng::seed_from_u64(seed);
    let opts = CheckOptions {
        model,
        ..CheckOptions::default()
    };
    let (mut concurrent, mut indeterminate, mut mismatches) = (0, 0, 0);
    for n in 0..cases {
        let steps = run::<O>(&mut rng);
        // From barely overlapping to each operation spanning several others.
        let spread = [2, 8, 25, 60][n % 4];
        let events = stretch(&steps, spread, &mut rng);
        let mut open = 0i32;
        let mut most = 0;
        for e in &events {
            open += if e.kind == EventType::Invoke { 1 } else { -1 };
            most = most.max(open);
        }
        concurrent += usize::from(most > 1);
        indeterminate += usize::from(steps.iter().any(|s| s.kind == EventType::Info));
        mismatches += usize::from(steps.iter().any(|s| s.error.is_some()));
        let report = check_events(&events, &opts).expect("stretched runs are well-formed");
        assert_eq!(
            report.validity,
            Validity::Valid,
            "{model} case {n}: {}\n{}",
            report,
            events
                .iter()
                .map(|e| serde_json::to_string(e).unwrap())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    // Overlap and indeterminacy must be common, or the property proves little.
    assert!(
        concurrent > cases * 2 / 3,
        "{model}: {concurrent} concurrent"
    );
    assert!(
        indeterminate > cases / 4,
        "{model}: {indeterminate} with info"
    );
    mismatches
}

const CASES: usize = 3_000;

#[test]
fn stretched_register_runs_are_linearizable() {
    stretched_runs_are_linearizable::<Register<false, false>>(ModelKind::Register, 1, CASES);
    stretched_runs_are_linearizable::<Register<false, true>>(ModelKind::Register, 2, CASES);
}

#[test]
fn stretched_cas_register_runs_are_linearizable() {
    let repeated =
        stretched_runs_are_linearizable::<Register<true, false>>(ModelKind::CasRegister, 3, CASES);
    let unique =
        stretched_runs_are_linearizable::<Register<true, true>>(ModelKind::CasRegister, 4, CASES);
    // Failed compares, kept as observations, are in most of them.
    assert!(
        repeated > CASES / 2 && unique > CASES / 2,
        "{repeated}, {unique}"
    );
}

#[test]
fn stretched_kv_runs_are_linearizable() {
    stretched_runs_are_linearizable::<KvObject>(ModelKind::Kv, 5, CASES);
}

#[test]
fn stretched_set_runs_are_linearizable() {
    stretched_runs_are_linearizable::<SetObject>(ModelKind::Set, 6, CASES);
}

#[test]
fn stretched_counter_runs_are_linearizable() {
    stretched_runs_are_linearizable::<CounterObject>(ModelKind::Counter, 7, CASES);
}

#[test]
fn stretched_queue_runs_are_linearizable() {
    stretched_runs_are_linearizable::<QueueObject>(ModelKind::Queue, 8, CASES);
}

#[test]
fn stretched_multi_register_runs_are_linearizable() {
    stretched_runs_are_linearizable::<MultiObject>(ModelKind::MultiRegister, 9, CASES);
}

/// Cuts stretched runs of `O` down to random subsets closed under `M`'s ties: each must stay
/// linearizable. Returns how many updates the closures left out (the caller asserts there
/// were some, or the ties tie everything and the property proves nothing).
fn closed_subsets_stay_linearizable<O: Object, M: HistoryModel>(seed: u64, cases: usize) -> usize {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut dropped_updates = 0;
    for n in 0..cases {
        let steps = run::<O>(&mut rng);
        let events = stretch(&steps, [2, 8, 25, 60][n % 4], &mut rng);
        let ops = pair(&events).expect("stretched runs are well-formed");
        let ops: Vec<&Operation> = ops.iter().collect();
        let model = M::from_initial(&Value::Null).expect("null is every model's empty state");
        let key = KeyCheck::new(Value::Null, ops, model).expect("stretched runs are well-formed");
        let plain: Vec<M::Op> = key.intervals.iter().map(|i| i.op.clone()).collect();
        let ties = key.model.ties(&plain);
        for _ in 0..5 {
            let subset: Vec<usize> = (0..plain.len()).filter(|_| rng.random_bool(0.4)).collect();
            let closed = ties.close(&subset);
            dropped_updates += (0..plain.len())
                .filter(|i| !M::observes_only(&plain[*i]) && !closed.contains(i))
                .count();
            let sub: Vec<Interval<M::Op>> =
                closed.iter().map(|&i| key.intervals[i].clone()).collect();
            let got = wgl::check_within(&key.model, &sub, &Budget::unlimited(), None);
            assert!(
                matches!(got, Ok(Linearization::Linearizable { .. })),
                "{} case {n}: the closed subset {closed:?} of a linearizable history is not \
                 linearizable\n{}",
                M::KIND.name(),
                events
                    .iter()
                    .map(|e| serde_json::to_string(e).unwrap())
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
    dropped_updates
}

#[test]
fn witnesses_of_every_model_are_sound() {
    const N: usize = 1_000;
    assert!(closed_subsets_stay_linearizable::<KvObject, Kv>(10, N) > N);
    assert!(closed_subsets_stay_linearizable::<SetObject, Set>(11, N) > N);
    assert!(closed_subsets_stay_linearizable::<QueueObject, Queue>(12, N) > N);
    assert!(closed_subsets_stay_linearizable::<MultiObject, MultiRegister>(13, N) > N);
    // The counter ties every update (an add shifts every later read).
    assert_eq!(
        closed_subsets_stay_linearizable::<CounterObject, Counter>(14, N),
        0
    );
}

/// Stretches runs of `O` and, where `stale` finds a read to falsify, checks the result is
/// invalid; returns how many cases were falsified (the caller asserts there were enough).
fn stale_reads_are_not_linearizable<O: Object>(
    model: ModelKind,
    seed: u64,
    cases: usize,
    stale: fn(&mut [Event]) -> bool,
) -> usize {
    let mut rng = StdRng::seed_from_u64(seed);
    let opts = CheckOptions {
        model,
        ..CheckOptions::default()
    };
    let mut falsified = 0;
    for n in 0..cases {
        let steps = run::<O>(&mut rng);
        let mut events = stretch(&steps, [2, 8, 25][n % 3], &mut rng);
        if !stale(&mut events) {
            continue;
        }
        falsified += 1;
        let report = check_events(&events, &opts).expect("well-formed");
        assert_eq!(
            report.validity,
            Validity::Invalid,
            "{model} case {n}\n{}",
            events
                .iter()
                .map(|e| serde_json::to_string(e).unwrap())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    falsified
}

/// Each operation's invocation and `ok` completion, by process: (invoke index, completion).
fn acknowledged(events: &[Event]) -> Vec<(usize, usize)> {
    let mut open = std::collections::HashMap::new();
    let mut ops = Vec::new();
    for (i, e) in events.iter().enumerate() {
        match e.kind {
            EventType::Invoke => {
                open.insert(e.process, i);
            }
            EventType::Ok => ops.push((open[&e.process], i)),
            _ => {}
        }
    }
    ops
}

/// Makes the last acknowledged read of a unique-value register return the value from before
/// an acknowledged write that completed before the read began, where that value's own write
/// (or the initial value) completed before the overwrite began: real time then orders
/// writer < overwrite < read.
fn stale_register_read(events: &mut [Event]) -> bool {
    let ops = acknowledged(events);
    let written = |(_, c): (usize, usize)| match events[c].f.as_str() {
        "write" => Some(events[c].value.clone()),
        "cas" => Some(events[c].value[1].clone()),
        _ => None,
    };
    let Some(&(read, read_done)) = ops.iter().rev().find(|&&(_, c)| events[c].f == "read") else {
        return false;
    };
    for &(w, w_done) in &ops {
        if w_done >= read || written((w, w_done)).is_none() {
            continue;
        }
        // The value before w: the initial value, or one an acknowledged write that completed
        // before w began wrote (the latest such by completion).
        let before = ops
            .iter()
            .filter(|&&(_, c)| c < w && written((0, c)).is_some())
            .max_by_key(|&&(_, c)| c)
            .and_then(|&op| written(op))
            .unwrap_or(Value::Null);
        // Only if nothing else was in flight that could have written it again in between.
        let unique = events
            .iter()
            .filter(|e| e.kind == EventType::Invoke)
            .filter(|e| match e.f.as_str() {
                "write" => e.value == before,
                "cas" => e.value[1] == before,
                _ => false,
            })
            .count()
            <= 1;
        if unique && before != events[read_done].value {
            events[read_done].value = before;
            return true;
        }
    }
    false
}

/// Makes the last acknowledged read of a set miss an element whose add was acknowledged before
/// the read began: adds are never undone.
fn stale_set_read(events: &mut [Event]) -> bool {
    let ops = acknowledged(events);
    let Some(&(read, read_done)) = ops.iter().rev().find(|&&(_, c)| events[c].f == "read") else {
        return false;
    };
    let Some(&(_, add_done)) = ops.iter().find(|&&(_, c)| events[c].f == "add" && c < read) else {
        return false;
    };
    let element = events[add_done].value.clone();
    let seen: Vec<Value> = events[read_done]
        .value
        .as_array()
        .expect("a set read is an array")
        .iter()
        .filter(|&e| *e != element)
        .cloned()
        .collect();
    events[read_done].value = json!(seen);
    true
}

#[test]
fn a_read_of_an_overwritten_register_value_is_not_linearizable() {
    for (model, seed) in [(ModelKind::Register, 11), (ModelKind::CasRegister, 12)] {
        let falsified = if model == ModelKind::Register {
            stale_reads_are_not_linearizable::<Register<false, true>>(
                model,
                seed,
                CASES,
                stale_register_read,
            )
        } else {
            stale_reads_are_not_linearizable::<Register<true, true>>(
                model,
                seed,
                CASES,
                stale_register_read,
            )
        };
        assert!(
            falsified > CASES / 3,
            "{model}: {falsified} stale reads made"
        );
    }
}

#[test]
fn a_set_read_missing_an_acknowledged_add_is_not_linearizable() {
    let falsified =
        stale_reads_are_not_linearizable::<SetObject>(ModelKind::Set, 13, CASES, stale_set_read);
    assert!(falsified > CASES / 3, "{falsified} stale reads made");
}
