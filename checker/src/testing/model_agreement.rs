//! A brute-force reference for the kv, set, counter and queue models, and the randomized tests
//! that hold the search (through [`check_events`]) to it.
//!
//! As in `brute_force.rs`, the reference enumerates every subset of the indeterminate updates
//! and every order of the chosen operations that respects real time, replaying each against a
//! plain-value implementation of the object written here from the models' docs, not from their
//! code. Agreement per key, on the verdict and on the longest consistent order, over thousands
//! of small random histories is evidence both are right.

use crate::check::check_events;
use crate::history::event::{Event, EventType, Process};
use crate::history::operation::{pair, Operation, Outcome};
use crate::options::{CheckOptions, ModelKind};
use crate::search::partition;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::{BTreeSet, VecDeque};
use std::time::Instant;

/// A reference object: its state, which indeterminate operations may be linearized, and what
/// each operation does to it.
trait Reference {
    type State: Clone;
    fn init(&self) -> Self::State;
    /// Whether an indeterminate `op` may have taken effect (an update, not an observation).
    fn optional(&self, op: &Operation) -> bool;
    /// The state after `op`, or `None` if `op` cannot happen from `state`.
    fn apply(&self, op: &Operation, state: &Self::State) -> Option<Self::State>;
}

/// Whether `a` certainly finished before `b` began (only acknowledged operations finish).
fn precedes(a: &Operation, b: &Operation) -> bool {
    a.outcome == Outcome::Ok
        && a.span
            .complete_index
            .is_some_and(|c| c < b.span.invoke_index)
}

/// The operations that may be placed in some order: acknowledged ones, and the optional ones.
fn candidates<'a, R: Reference>(r: &R, ops: &[&'a Operation]) -> Vec<&'a Operation> {
    ops.iter()
        .copied()
        .filter(|op| op.outcome == Outcome::Ok || (op.outcome == Outcome::Info && r.optional(op)))
        .collect()
}

/// Whether some choice of the optional operations, with every acknowledged one, has a legal
/// real-time order.
fn linearizable<R: Reference>(r: &R, ops: &[&Operation]) -> bool {
    fn some_order<R: Reference>(
        r: &R,
        chosen: &[&Operation],
        placed: &mut [bool],
        done: usize,
        state: &R::State,
    ) -> bool {
        if done == chosen.len() {
            return true;
        }
        (0..chosen.len()).any(|i| {
            let waits =
                (0..chosen.len()).any(|j| !placed[j] && j != i && precedes(chosen[j], chosen[i]));
            if placed[i] || waits {
                return false;
            }
            let Some(next) = r.apply(chosen[i], state) else {
                return false;
            };
            placed[i] = true;
            let found = some_order(r, chosen, placed, done + 1, &next);
            placed[i] = false;
            found
        })
    }
    let all = candidates(r, ops);
    let optional: Vec<usize> = (0..all.len())
        .filter(|&i| all[i].outcome != Outcome::Ok)
        .collect();
    (0u32..1 << optional.len()).any(|mask| {
        let chosen: Vec<&Operation> = (0..all.len())
            .filter(|i| match optional.iter().position(|o| o == i) {
                Some(bit) => mask & (1 << bit) != 0,
                None => true,
            })
            .map(|i| all[i])
            .collect();
        some_order(r, &chosen, &mut vec![false; chosen.len()], 0, &r.init())
    })
}

/// The length of the longest real-time-respecting order of candidates the object accepts.
fn longest_prefix<R: Reference>(r: &R, ops: &[&Operation]) -> usize {
    fn deepest<R: Reference>(
        r: &R,
        ops: &[&Operation],
        placed: &mut [bool],
        depth: usize,
        state: &R::State,
    ) -> usize {
        let mut best = depth;
        for i in 0..ops.len() {
            let waits = (0..ops.len()).any(|j| !placed[j] && j != i && precedes(ops[j], ops[i]));
            if placed[i] || waits {
                continue;
            }
            if let Some(next) = r.apply(ops[i], state) {
                placed[i] = true;
                best = best.max(deepest(r, ops, placed, depth + 1, &next));
                placed[i] = false;
            }
        }
        best
    }
    let all = candidates(r, ops);
    deepest(r, &all, &mut vec![false; all.len()], 0, &r.init())
}

/// Per key, in report order: `None` if linearizable, else the longest prefix's length.
fn reference_keys<R: Reference>(r: &R, events: &[Event]) -> Vec<Option<usize>> {
    let ops = pair(events).expect("generated histories pair");
    partition::by_key(&ops)
        .iter()
        .map(|(_, ops)| (!linearizable(r, ops)).then(|| longest_prefix(r, ops)))
        .collect()
}

/// Strings with get, put and append; a null get read the empty string.
struct KvRef;

impl Reference for KvRef {
    type State = String;
    fn init(&self) -> String {
        String::new()
    }
    fn optional(&self, op: &Operation) -> bool {
        op.f != "get"
    }
    fn apply(&self, op: &Operation, state: &String) -> Option<String> {
        let text = |v: &Value| v.as_str().unwrap_or("").to_string();
        match op.f.as_str() {
            "get" => (text(&op.output) == *state).then(|| state.clone()),
            "put" => Some(text(&op.value)),
            "append" => Some(state.clone() + &text(&op.value)),
            other => panic!("unexpected f {other}"),
        }
    }
}

/// A set of elements, compared by their JSON text.
struct SetRef;

impl Reference for SetRef {
    type State = BTreeSet<String>;
    fn init(&self) -> BTreeSet<String> {
        BTreeSet::new()
    }
    fn optional(&self, op: &Operation) -> bool {
        op.f == "add"
    }
    fn apply(&self, op: &Operation, state: &BTreeSet<String>) -> Option<BTreeSet<String>> {
        match op.f.as_str() {
            "read" => {
                let seen: BTreeSet<String> = op
                    .output
                    .as_array()
                    .expect("reads return arrays")
                    .iter()
                    .map(Value::to_string)
                    .collect();
                (seen == *state).then(|| state.clone())
            }
            "add" => {
                let mut next = state.clone();
                next.insert(op.value.to_string());
                Some(next)
            }
            other => panic!("unexpected f {other}"),
        }
    }
}

/// An integer.
struct CounterRef;

impl Reference for CounterRef {
    type State = i64;
    fn init(&self) -> i64 {
        0
    }
    fn optional(&self, op: &Operation) -> bool {
        op.f == "add"
    }
    fn apply(&self, op: &Operation, state: &i64) -> Option<i64> {
        match op.f.as_str() {
            "read" => (op.output.as_i64() == Some(*state)).then_some(*state),
            "add" => Some(state + op.value.as_i64().expect("integer deltas")),
            other => panic!("unexpected f {other}"),
        }
    }
}

/// A FIFO queue; an indeterminate dequeue removes the head if there is one.
struct QueueRef;

impl Reference for QueueRef {
    type State = VecDeque<Value>;
    fn init(&self) -> VecDeque<Value> {
        VecDeque::new()
    }
    fn optional(&self, _: &Operation) -> bool {
        true
    }
    fn apply(&self, op: &Operation, state: &VecDeque<Value>) -> Option<VecDeque<Value>> {
        let mut next = state.clone();
        match (op.f.as_str(), &op.outcome) {
            ("enqueue", _) => next.push_back(op.value.clone()),
            ("dequeue", Outcome::Info) => {
                next.pop_front();
            }
            ("dequeue", _) if op.output.is_null() => return state.is_empty().then_some(next),
            ("dequeue", _) => {
                if next.pop_front().as_ref() != Some(&op.output) {
                    return None;
                }
            }
            (other, _) => panic!("unexpected f {other}"),
        }
        Some(next)
    }
}

/// A simulated object that generates histories, linearizable by construction.
trait Simulated: Default {
    /// A random invocation: its function and argument.
    fn invoke(rng: &mut StdRng) -> (&'static str, Value);
    /// Whether an `ok` completion of `f` carries a result (else it repeats the argument).
    fn observes(f: &str) -> bool;
    /// Applies an invocation to the object; returns what it observed.
    fn apply(&mut self, rng: &mut StdRng, f: &str, arg: &Value) -> Value;
    /// A random, possibly wrong, observation for `f`.
    fn garble(rng: &mut StdRng, f: &str) -> Value;
}

#[derive(Default)]
struct KvSim(String);

impl Simulated for KvSim {
    fn invoke(rng: &mut StdRng) -> (&'static str, Value) {
        match rng.random_range(0..3) {
            0 => ("get", Value::Null),
            1 => ("put", json!(["a", "b"][rng.random_range(0..2)])),
            _ => ("append", json!(["x", "y"][rng.random_range(0..2)])),
        }
    }
    fn observes(f: &str) -> bool {
        f == "get"
    }
    fn apply(&mut self, rng: &mut StdRng, f: &str, arg: &Value) -> Value {
        let arg = arg.as_str().unwrap_or("");
        match f {
            // A missing key reads as null, which means the empty string.
            "get" if self.0.is_empty() && rng.random_bool(0.5) => Value::Null,
            "get" => json!(self.0),
            "put" => {
                self.0 = arg.to_string();
                Value::Null
            }
            _ => {
                self.0.push_str(arg);
                Value::Null
            }
        }
    }
    fn garble(rng: &mut StdRng, _: &str) -> Value {
        json!(["", "a", "x", "ax", "b", "by", "xy"][rng.random_range(0..7)])
    }
}

#[derive(Default)]
struct SetSim(BTreeSet<i64>);

impl Simulated for SetSim {
    fn invoke(rng: &mut StdRng) -> (&'static str, Value) {
        if rng.random_bool(0.5) {
            ("read", Value::Null)
        } else {
            ("add", json!(rng.random_range(0..3)))
        }
    }
    fn observes(f: &str) -> bool {
        f == "read"
    }
    fn apply(&mut self, rng: &mut StdRng, f: &str, arg: &Value) -> Value {
        if f == "add" {
            self.0.insert(arg.as_i64().expect("integer elements"));
            return Value::Null;
        }
        // Order within a read is arbitrary.
        let mut seen: Vec<i64> = self.0.iter().copied().collect();
        seen.shuffle(rng);
        json!(seen)
    }
    fn garble(rng: &mut StdRng, _: &str) -> Value {
        let seen: Vec<i64> = (0..4).filter(|_| rng.random_bool(0.4)).collect();
        json!(seen)
    }
}

#[derive(Default)]
struct CounterSim(i64);

impl Simulated for CounterSim {
    fn invoke(rng: &mut StdRng) -> (&'static str, Value) {
        if rng.random_bool(0.5) {
            ("read", Value::Null)
        } else {
            ("add", json!(rng.random_range(-1..=2)))
        }
    }
    fn observes(f: &str) -> bool {
        f == "read"
    }
    fn apply(&mut self, _: &mut StdRng, f: &str, arg: &Value) -> Value {
        if f == "add" {
            self.0 += arg.as_i64().expect("integer deltas");
            return Value::Null;
        }
        json!(self.0)
    }
    fn garble(rng: &mut StdRng, _: &str) -> Value {
        json!(rng.random_range(-1..=4))
    }
}

#[derive(Default)]
struct QueueSim(VecDeque<Value>);

impl Simulated for QueueSim {
    fn invoke(rng: &mut StdRng) -> (&'static str, Value) {
        if rng.random_bool(0.5) {
            ("dequeue", Value::Null)
        } else {
            ("enqueue", json!(rng.random_range(1..=3)))
        }
    }
    fn observes(f: &str) -> bool {
        f == "dequeue"
    }
    fn apply(&mut self, _: &mut StdRng, f: &str, arg: &Value) -> Value {
        if f == "enqueue" {
            self.0.push_back(arg.clone());
            return Value::Null;
        }
        self.0.pop_front().unwrap_or(Value::Null)
    }
    fn garble(rng: &mut StdRng, _: &str) -> Value {
        match rng.random_range(0..4) {
            0 => Value::Null,
            v => json!(v),
        }
    }
}

/// An operation a generated worker has invoked and not yet completed.
struct Flight {
    f: &'static str,
    key: Option<Value>,
    arg: Value,
    /// Set once the operation has taken effect on the simulated object: what it observed.
    effect: Option<Value>,
}

/// A history of up to 7 operations by 2–3 workers, on one object or (sometimes) two keys.
fn generate<S: Simulated>(rng: &mut StdRng) -> Vec<Event> {
    let workers: u64 = rng.random_range(2..=3);
    let ops = rng.random_range(1..=7);
    let keyed = rng.random_bool(0.3);
    let mut process: Vec<u64> = (0..workers).collect();
    let mut next_process = workers;
    let mut flights: Vec<Option<Flight>> = (0..workers).map(|_| None).collect();
    let mut objects = [S::default(), S::default()];
    let mut events: Vec<Event> = Vec::new();
    let mut invoked = 0;

    loop {
        let busy = flights.iter().any(Option::is_some);
        // Stopping with operations in flight leaves them pending.
        if invoked == ops && (!busy || rng.random_bool(0.1)) {
            break;
        }
        let w = rng.random_range(0..workers as usize);
        let mut emit = |kind, f: &str, key: &Option<Value>, value: Value| {
            events.push(Event {
                index: events.len() as u64,
                time: events.len() as u64 * 1_000_000,
                process: Process::Client(process[w]),
                kind,
                f: f.to_string(),
                key: key.clone(),
                value,
                error: None,
                node: None,
            })
        };
        match &mut flights[w] {
            None if invoked < ops => {
                invoked += 1;
                let (f, arg) = S::invoke(rng);
                let key = keyed.then(|| json!(["a", "b"][rng.random_range(0..2)]));
                emit(EventType::Invoke, f, &key, arg.clone());
                flights[w] = Some(Flight {
                    f,
                    key,
                    arg,
                    effect: None,
                });
            }
            None => {}
            Some(flight) if flight.effect.is_none() && rng.random_bool(0.6) => {
                let object = &mut objects[usize::from(flight.key == Some(json!("b")))];
                flight.effect = Some(object.apply(rng, flight.f, &flight.arg));
            }
            Some(_) => {
                let flight = flights[w].take().expect("matched Some");
                let (kind, value) = match flight.effect {
                    _ if rng.random_bool(0.25) => (EventType::Info, flight.arg),
                    Some(seen) if S::observes(flight.f) => (EventType::Ok, seen),
                    Some(_) => (EventType::Ok, flight.arg),
                    None => (EventType::Fail, flight.arg),
                };
                emit(kind, flight.f, &flight.key, value);
                if kind == EventType::Info {
                    process[w] = next_process;
                    next_process += 1;
                }
            }
        }
    }
    events
}

/// Changes one completion so that the history may no longer be linearizable.
fn mutate<S: Simulated>(rng: &mut StdRng, events: &mut [Event]) {
    let completions: Vec<usize> = (0..events.len())
        .filter(|&i| events[i].kind != EventType::Invoke)
        .collect();
    if completions.is_empty() {
        return;
    }
    let e = &mut events[completions[rng.random_range(0..completions.len())]];
    if S::observes(&e.f) {
        e.kind = EventType::Ok;
        e.value = S::garble(rng, &e.f);
        return;
    }
    e.kind = match e.kind {
        EventType::Ok => EventType::Fail,
        _ => EventType::Ok,
    };
}

/// Checks `histories` random histories of `S` with `model` against the reference `r`.
fn agree<S: Simulated, R: Reference>(model: ModelKind, r: &R, seed: u64, histories: usize) {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut valid, mut invalid) = (0, 0);
    let opts = CheckOptions {
        model,
        ..CheckOptions::default()
    };
    for n in 0..histories {
        let mut events = generate::<S>(&mut rng);
        for _ in 0..rng.random_range(0..=2) {
            mutate::<S>(&mut rng, &mut events);
        }
        let report = check_events(&events, &opts).expect("generated histories are well-formed");
        let expected = reference_keys(r, &events);
        // With unobserved indeterminate updates left out, the search's longest order is over
        // fewer operations: it may be shorter than brute force's, never longer.
        let got: Vec<Option<usize>> = report
            .keys
            .iter()
            .zip(&expected)
            .map(|(k, reference)| {
                let a = k.anomaly.as_ref()?;
                match reference {
                    Some(r) if a.left_out > 0 && a.longest_prefix <= *r => Some(*r),
                    _ => Some(a.longest_prefix),
                }
            })
            .collect();
        assert_eq!(
            got,
            expected,
            "{model} history {n}: per key, the search's longest prefix if invalid vs brute \
             force's\n{}",
            events
                .iter()
                .map(|e| serde_json::to_string(e).unwrap())
                .collect::<Vec<_>>()
                .join("\n")
        );
        if expected.iter().all(Option::is_none) {
            valid += 1;
        } else {
            invalid += 1;
        }
    }
    // Both verdicts must be well represented, or the test proves little.
    assert!(
        valid > histories / 5 && invalid > histories / 5,
        "{model}: {valid} valid, {invalid} invalid"
    );
    eprintln!(
        "{model}: {histories} histories ({valid} valid, {invalid} invalid) in {:?}",
        started.elapsed()
    );
}

const HISTORIES: usize = 20_000;

#[test]
fn kv_agrees_with_brute_force() {
    agree::<KvSim, _>(ModelKind::Kv, &KvRef, 0x6b76, HISTORIES);
}

#[test]
fn set_agrees_with_brute_force() {
    agree::<SetSim, _>(ModelKind::Set, &SetRef, 0x5e7, HISTORIES);
}

#[test]
fn counter_agrees_with_brute_force() {
    agree::<CounterSim, _>(ModelKind::Counter, &CounterRef, 0xc0, HISTORIES);
}

#[test]
fn queue_agrees_with_brute_force() {
    agree::<QueueSim, _>(ModelKind::Queue, &QueueRef, 0xf1f0, HISTORIES);
}

#[test]
fn references_agree_on_known_histories() {
    use crate::testing::history_builder::*;
    let lost_append = history([
        invoke(0, 1, "append", json!("a")),
        ok(1, 1, "append", json!("a")),
        invoke(2, 2, "get", json!(null)),
        ok(3, 2, "get", json!("")),
    ]);
    assert_eq!(reference_keys(&KvRef, &lost_append), [Some(1)]);
    let info_dequeue = history([
        invoke(0, 1, "enqueue", json!(1)),
        ok(1, 1, "enqueue", json!(1)),
        invoke(2, 2, "dequeue", json!(null)),
        info(3, 2, "dequeue", json!(null)),
        invoke(4, 3, "dequeue", json!(null)),
        ok(5, 3, "dequeue", json!(null)),
    ]);
    assert_eq!(reference_keys(&QueueRef, &info_dequeue), [None]);
    let unordered_read = history([
        invoke(0, 1, "add", json!(1)),
        ok(1, 1, "add", json!(1)),
        invoke(2, 1, "add", json!(2)),
        ok(3, 1, "add", json!(2)),
        invoke(4, 2, "read", json!(null)),
        ok(5, 2, "read", json!([2, 1])),
    ]);
    assert_eq!(reference_keys(&SetRef, &unordered_read), [None]);
}
