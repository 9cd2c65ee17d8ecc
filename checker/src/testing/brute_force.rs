//! A brute-force reference checker, and the randomized test that holds the real one to it.
//!
//! The reference enumerates, for every subset of the indeterminate writes and cas, every order
//! of the chosen operations that respects real time, replaying each against a register of plain
//! JSON values. It shares nothing with the search but [`pair`] and the event types, so agreement
//! on many small histories is evidence both are right.

use crate::check::check_events;
use crate::history::event::{Event, EventType, Process, CAS_MISMATCH};
use crate::history::failed_cas::FailedCas;
use crate::history::operation::{pair, Operation, Outcome};
use crate::key_check::KeyCheck;
use crate::models::cas_register::CasRegister;
use crate::models::model::Model;
use crate::options::{CheckOptions, ModelKind};
use crate::search::wgl::{self, Linearization};
use crate::validity::Validity;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::time::Instant;

/// Whether `op` is a failed cas the reference keeps as an observation under `failed_cas`.
fn observed_mismatch(op: &Operation, failed_cas: FailedCas) -> bool {
    failed_cas == FailedCas::Observes
        && op.f == "cas"
        && matches!(&op.outcome, Outcome::Fail { error } if error.as_deref() == Some(CAS_MISMATCH))
}

/// Whether some order of `ops` (one key's operations) is legal for a register holding `initial`.
pub(crate) fn linearizable(ops: &[&Operation], initial: &Value, failed_cas: FailedCas) -> bool {
    let required: Vec<&Operation> = ops
        .iter()
        .copied()
        .filter(|op| op.outcome == Outcome::Ok || observed_mismatch(op, failed_cas))
        .collect();
    let optional: Vec<&Operation> = ops
        .iter()
        .copied()
        .filter(|op| op.outcome == Outcome::Info && op.f != "read")
        .collect();
    (0u32..1 << optional.len()).any(|mask| {
        let mut chosen = required.clone();
        chosen.extend(
            optional
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, op)| *op),
        );
        let mut placed = vec![false; chosen.len()];
        some_order(&chosen, &mut placed, 0, initial)
    })
}

/// Whether the unplaced operations of `chosen` can follow, in some real-time-respecting order.
fn some_order(chosen: &[&Operation], placed: &mut [bool], done: usize, state: &Value) -> bool {
    if done == chosen.len() {
        return true;
    }
    for i in 0..chosen.len() {
        let waits =
            (0..chosen.len()).any(|j| !placed[j] && j != i && precedes(chosen[j], chosen[i]));
        if placed[i] || waits {
            continue;
        }
        if let Some(next) = apply(chosen[i], state) {
            placed[i] = true;
            if some_order(chosen, placed, done + 1, &next) {
                return true;
            }
            placed[i] = false;
        }
    }
    false
}

/// The length of the longest order of some of `ops` that respects real time and the register:
/// what the search reports as the longest linearizable prefix.
fn longest_prefix(ops: &[&Operation], initial: &Value, failed_cas: FailedCas) -> usize {
    fn deepest(ops: &[&Operation], placed: &mut [bool], depth: usize, state: &Value) -> usize {
        let mut best = depth;
        for i in 0..ops.len() {
            let waits = (0..ops.len()).any(|j| !placed[j] && j != i && precedes(ops[j], ops[i]));
            if placed[i] || waits {
                continue;
            }
            if let Some(next) = apply(ops[i], state) {
                placed[i] = true;
                best = best.max(deepest(ops, placed, depth + 1, &next));
                placed[i] = false;
            }
        }
        best
    }
    let candidates: Vec<&Operation> = ops
        .iter()
        .copied()
        .filter(|op| {
            op.outcome == Outcome::Ok
                || (op.outcome == Outcome::Info && op.f != "read")
                || observed_mismatch(op, failed_cas)
        })
        .collect();
    deepest(&candidates, &mut vec![false; candidates.len()], 0, initial)
}

/// Whether `a` certainly finished before `b` began. Only acknowledged operations finish, and
/// kept mismatches (the only failed operations ever placed): they were evaluated.
fn precedes(a: &Operation, b: &Operation) -> bool {
    matches!(a.outcome, Outcome::Ok | Outcome::Fail { .. })
        && a.span
            .complete_index
            .is_some_and(|c| c < b.span.invoke_index)
}

/// The register after `op`, or `None` if `op` cannot happen from `state`.
fn apply(op: &Operation, state: &Value) -> Option<Value> {
    match op.f.as_str() {
        "read" => (op.output == *state).then(|| state.clone()),
        "write" => Some(op.value.clone()),
        // A kept failed cas saw something other than its expected value, and changed nothing.
        "cas" if matches!(op.outcome, Outcome::Fail { .. }) => {
            (op.value[0] != *state).then(|| state.clone())
        }
        "cas" => (op.value[0] == *state).then(|| op.value[1].clone()),
        other => panic!("unexpected f {other}"),
    }
}

/// An operation a generated worker has invoked and not yet completed.
struct Flight {
    process: u64,
    f: &'static str,
    key: Option<Value>,
    arg: Value,
    /// Set once the operation has taken effect on the simulated register: what it returned.
    effect: Option<Value>,
}

/// A history of up to 7 operations by 2–3 workers on one or two registers. A simulated register
/// makes it linearizable by construction, unless `random_reads` lets reads return anything.
fn generate(rng: &mut StdRng, cas: bool, random_reads: bool) -> Vec<Event> {
    let workers = rng.random_range(2..=3);
    let ops = rng.random_range(1..=7);
    let keyed = rng.random_bool(0.2);
    let mut process: Vec<u64> = (0..workers).collect();
    let mut next_process = workers;
    let mut flights: Vec<Option<Flight>> = (0..workers).map(|_| None).collect();
    let mut registers = [Value::Null, Value::Null];
    let mut events: Vec<Event> = Vec::new();
    let mut invoked = 0;
    let value = |rng: &mut StdRng| json!(rng.random_range(0..3));

    loop {
        let busy = flights.iter().any(Option::is_some);
        // Stopping with operations in flight leaves them pending.
        if invoked == ops && (!busy || rng.random_bool(0.1)) {
            break;
        }
        let w = rng.random_range(0..workers as usize);
        let mut emit = |kind, f: &str, key: &Option<Value>, v: Value, error: Option<&str>| {
            events.push(Event {
                index: events.len() as u64,
                time: events.len() as u64 * 1_000_000,
                process: Process::Client(process[w]),
                kind,
                f: f.to_string(),
                key: key.clone(),
                value: v,
                error: error.map(str::to_string),
                node: None,
            })
        };
        match &mut flights[w] {
            None if invoked < ops => {
                invoked += 1;
                let f = match rng.random_range(0..if cas { 3 } else { 2 }) {
                    0 => "read",
                    1 => "write",
                    _ => "cas",
                };
                let arg = match f {
                    "read" => Value::Null,
                    "write" => value(rng),
                    _ => {
                        let expected = if rng.random_bool(0.2) {
                            Value::Null
                        } else {
                            value(rng)
                        };
                        json!([expected, value(rng)])
                    }
                };
                let key = keyed.then(|| json!(["a", "b"][rng.random_range(0..2)]));
                emit(EventType::Invoke, f, &key, arg.clone(), None);
                flights[w] = Some(Flight {
                    process: process[w],
                    f,
                    key,
                    arg,
                    effect: None,
                });
            }
            None => {}
            Some(flight) if flight.effect.is_none() && rng.random_bool(0.6) => {
                let reg = &mut registers[usize::from(flight.key == Some(json!("b")))];
                flight.effect = Some(match flight.f {
                    "read" if random_reads => json!(rng.random_range(0..3)),
                    "read" => reg.clone(),
                    "write" => {
                        *reg = flight.arg.clone();
                        Value::Null
                    }
                    _ => {
                        let swapped = *reg == flight.arg[0];
                        if swapped {
                            *reg = flight.arg[1].clone();
                        }
                        json!(swapped)
                    }
                });
            }
            Some(_) => {
                let flight = flights[w].take().expect("matched Some");
                debug_assert_eq!(flight.process, process[w]);
                let indeterminate = rng.random_bool(0.25);
                let (kind, v, error) = match (&flight.effect, flight.f) {
                    _ if indeterminate => (EventType::Info, flight.arg.clone(), None),
                    (Some(read), "read") => (EventType::Ok, read.clone(), None),
                    (Some(swapped), "cas") if *swapped == json!(false) => {
                        (EventType::Fail, flight.arg.clone(), Some(CAS_MISMATCH))
                    }
                    (Some(_), _) => (EventType::Ok, flight.arg.clone(), None),
                    (None, _) => (EventType::Fail, flight.arg.clone(), None),
                };
                emit(kind, flight.f, &flight.key, v, error);
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
fn mutate(rng: &mut StdRng, events: &mut [Event]) {
    let completions: Vec<usize> = (0..events.len())
        .filter(|&i| events[i].kind != EventType::Invoke)
        .collect();
    if completions.is_empty() {
        return;
    }
    let e = &mut events[completions[rng.random_range(0..completions.len())]];
    match (e.kind, e.f.as_str()) {
        (EventType::Ok, "read") | (EventType::Info, "read") => {
            e.kind = EventType::Ok;
            e.value = if rng.random_bool(0.2) {
                Value::Null
            } else {
                json!(rng.random_range(0..3))
            };
        }
        // An acknowledged cas turned into a reported mismatch: its compare claimed to fail.
        (EventType::Ok, "cas") if rng.random_bool(0.5) => {
            e.kind = EventType::Fail;
            e.error = Some(CAS_MISMATCH.to_string());
        }
        (EventType::Ok, _) => e.kind = EventType::Fail,
        (EventType::Fail, _) | (EventType::Info, _) => {
            e.kind = EventType::Ok;
            e.error = None;
        }
        (EventType::Invoke, _) => {}
    }
}

/// The reference verdict: every key linearizable on its own.
fn reference(events: &[Event], initial: &Value, failed_cas: FailedCas) -> bool {
    let ops = pair(events).expect("generated histories pair");
    crate::search::partition::by_key(&ops)
        .iter()
        .all(|(_, ops)| linearizable(ops, initial, failed_cas))
}

/// For each key, in report order: `None` if linearizable, else the longest prefix's length.
fn reference_keys(events: &[Event], initial: &Value, failed_cas: FailedCas) -> Vec<Option<usize>> {
    let ops = pair(events).expect("generated histories pair");
    crate::search::partition::by_key(&ops)
        .iter()
        .map(|(_, ops)| {
            (!linearizable(ops, initial, failed_cas))
                .then(|| longest_prefix(ops, initial, failed_cas))
        })
        .collect()
}

/// Checks a witness order from the search against real time and the reference register.
fn assert_witness(events: &[Event], initial: &Value, failed_cas: FailedCas) {
    let ops = pair(events).unwrap();
    for (key, key_ops) in crate::search::partition::by_key(&ops) {
        let register = CasRegister::new(initial).with_failed_cas(failed_cas);
        let k = KeyCheck::new(key, key_ops, register).unwrap();
        let Linearization::Linearizable { order } = wgl::check(&k.model, &k.intervals, None) else {
            panic!("expected a witness for {events:#?}")
        };
        // Its constraints are sound: a linearizable key never shows a cycle.
        let cycle = crate::explain::cycle::find(k.model.init(), &k.intervals, &|i| {
            crate::history::op_summary::OpSummary::from(k.sources[i])
        });
        assert_eq!(
            cycle, None,
            "a cycle in a linearizable history: {events:#?}"
        );
        // Witness subsets are sound: every closed subset of a linearizable key is linearizable
        // (so a non-linearizable witness proves its key invalid). Each single operation's
        // closure, and the closure of every other operation, are checked by brute force.
        let sources = crate::explain::sources::Sources::new(&k.intervals);
        let n = k.intervals.len();
        let subsets = (0..n)
            .map(|i| vec![i])
            .chain([(0..n).step_by(2).collect(), (1..n).step_by(2).collect()]);
        for subset in subsets {
            let closed = sources.close(&subset);
            let kept: Vec<&Operation> = closed.iter().map(|&i| k.sources[i]).collect();
            assert!(
                linearizable(&kept, initial, failed_cas),
                "closure {closed:?} of {subset:?} is not linearizable in a linearizable \
                 history: {events:#?}"
            );
        }
        let witness: Vec<&Operation> = order.iter().map(|&i| k.sources[i]).collect();
        let mut state = initial.clone();
        for (pos, op) in witness.iter().enumerate() {
            state = apply(op, &state).expect("witness follows the register");
            assert!(!witness[pos + 1..].iter().any(|later| precedes(later, op)));
        }
        for op in k
            .ops
            .iter()
            .filter(|op| op.outcome == Outcome::Ok || observed_mismatch(op, failed_cas))
        {
            assert!(
                witness.iter().any(|w| w.id == op.id),
                "ok op missing from witness"
            );
        }
    }
}

/// Every invalid key's witness is, by brute force, not linearizable on its own: it proves the
/// key invalid.
fn assert_minimal_witnesses(
    events: &[Event],
    report: &crate::report::CheckReport,
    initial: &Value,
    failed_cas: FailedCas,
) {
    let ops = pair(events).unwrap();
    for key in &report.keys {
        let Some(witness) = key.anomaly.as_ref().and_then(|a| a.witness.as_ref()) else {
            continue;
        };
        let kept: Vec<&Operation> = ops
            .iter()
            .filter(|op| {
                witness
                    .operations
                    .iter()
                    .any(|w| w.span.invoke_index == op.span.invoke_index)
            })
            .collect();
        assert_eq!(kept.len(), witness.operations.len());
        assert!(
            !linearizable(&kept, initial, failed_cas),
            "the witness {:?} is linearizable\n{events:#?}",
            witness.timeline
        );
    }
}

#[test]
fn brute_force_agrees_on_known_histories() {
    use crate::testing::history_builder::*;
    let stale = history([
        invoke(0, 1, "write", json!(1)),
        ok(1, 1, "write", json!(1)),
        invoke(2, 1, "write", json!(2)),
        ok(3, 1, "write", json!(2)),
        invoke(4, 2, "read", json!(null)),
        ok(5, 2, "read", json!(1)),
    ]);
    assert!(!reference(&stale, &Value::Null, FailedCas::Observes));
    let info_then_seen = history([
        invoke(0, 1, "cas", json!([null, 1])),
        info(1, 1, "cas", json!([null, 1])),
        invoke(2, 2, "read", json!(null)),
        ok(3, 2, "read", json!(null)),
        invoke(4, 2, "read", json!(null)),
        ok(5, 2, "read", json!(1)),
    ]);
    assert!(reference(
        &info_then_seen,
        &Value::Null,
        FailedCas::Observes
    ));
    // The register holds 1 throughout the cas: its mismatch cannot have happened.
    let impossible_mismatch = history([
        invoke(0, 1, "write", json!(1)),
        ok(1, 1, "write", json!(1)),
        invoke(2, 2, "cas", json!([1, 2])),
        with_error(CAS_MISMATCH, fail(3, 2, "cas", json!([1, 2]))),
    ]);
    assert!(!reference(
        &impossible_mismatch,
        &Value::Null,
        FailedCas::Observes
    ));
    assert!(reference(
        &impossible_mismatch,
        &Value::Null,
        FailedCas::Dropped
    ));
}

#[test]
fn wgl_agrees_with_brute_force_on_random_histories() {
    const HISTORIES: usize = 50_000;
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(0x5eed_fa17);
    let (mut valid, mut invalid, mut observed_mismatches) = (0, 0, 0);
    for n in 0..HISTORIES {
        let cas = n % 2 == 0;
        let mut events = generate(&mut rng, cas, n % 5 == 4);
        for _ in 0..rng.random_range(0..=2) {
            mutate(&mut rng, &mut events);
        }
        let initial = if n % 7 == 0 { json!(0) } else { Value::Null };
        // Failed cas are mostly reported mismatches here: both readings must agree.
        let failed_cas = if n % 4 == 2 {
            FailedCas::Dropped
        } else {
            FailedCas::Observes
        };
        let opts = CheckOptions {
            model: if cas {
                ModelKind::CasRegister
            } else {
                ModelKind::Register
            },
            initial: initial.clone(),
            failed_cas,
            ..CheckOptions::default()
        };
        let report = check_events(&events, &opts).expect("generated histories are well-formed");
        let got: Vec<Option<usize>> = report
            .keys
            .iter()
            .map(|k| k.anomaly.as_ref().map(|a| a.longest_prefix))
            .collect();
        let expected = reference_keys(&events, &initial, failed_cas);
        if failed_cas == FailedCas::Observes
            && events
                .iter()
                .any(|e| e.error.as_deref() == Some(CAS_MISMATCH))
        {
            observed_mismatches += 1;
        }
        assert_eq!(
            got,
            expected,
            "history {n} (initial {initial}): per key, wgl's longest prefix if invalid vs brute \
             force's\n{}",
            events
                .iter()
                .map(|e| serde_json::to_string(e).unwrap())
                .collect::<Vec<_>>()
                .join("\n")
        );
        if expected.iter().all(Option::is_none) {
            valid += 1;
            assert_eq!(report.validity, Validity::Valid);
            assert_witness(&events, &initial, failed_cas);
        } else {
            invalid += 1;
            assert_eq!(report.validity, Validity::Invalid);
            assert_minimal_witnesses(&events, &report, &initial, failed_cas);
        }
    }
    // Both verdicts must be well represented, and mismatches common, or the test proves little.
    assert!(
        valid > HISTORIES / 5 && invalid > HISTORIES / 5,
        "{valid} valid, {invalid} invalid"
    );
    assert!(
        observed_mismatches > HISTORIES / 20,
        "{observed_mismatches} histories with a mismatch"
    );
    eprintln!(
        "{HISTORIES} histories ({valid} valid, {invalid} invalid; {observed_mismatches} with a \
         failed cas kept as an observation) in {:?}",
        started.elapsed()
    );
}

/// Issue 15's worst shape in miniature: one register, values repeating, cas, many indeterminate
/// operations (so many configurations differ only in which of them were used, which the memo's
/// dominance prunes, and runs of them lead from value to value in many ways, which
/// `wgl.rs`'s `pointless` prunes), a stale read in half of the histories and a read of anything
/// in a third. Every search (exact, pruned, pruned with every pending observation asked) must
/// agree with the brute-force reference, and a witness must follow the model.
#[test]
fn every_search_agrees_with_brute_force_on_repeated_values_and_indeterminate_cas() {
    searches_agree_on_repeated_values(30_000, 0xd0_4a1c, 1_000, |n, rng| {
        (
            4 + rng.below(12) as usize,
            2 + rng.below(5) as usize,
            0.2 + 0.1 * (n % 4) as f64,
        )
    });
}

/// The same with many clients, as in the bench's 20-client shape: nearly every operation
/// overlaps every other, so the `ok` candidates are many and runs of indeterminate operations
/// may end before any of them.
#[test]
fn every_search_agrees_with_brute_force_with_many_clients() {
    searches_agree_on_repeated_values(10_000, 0xc1_1e47, 500, |n, rng| {
        (
            8 + rng.below(6) as usize,
            6 + rng.below(15) as usize,
            0.1 + 0.1 * (n % 3) as f64,
        )
    });
}

/// Checks `histories` random single-register histories (values `0..2` to `0..4`, cas, a stale
/// read in half, a read of anything in a third), `shape` giving each one's operations, clients
/// and indeterminate rate, with every search against brute force; asserts that more than `least`
/// were valid, invalid, and had 3 or more optional operations, each (the histories tested what
/// they are for). Histories with more than 8 optional operations are skipped (the reference
/// tries every subset of them).
fn searches_agree_on_repeated_values(
    histories: u64,
    seed: u64,
    least: usize,
    shape: impl Fn(u64, &mut crate::testing::simulation::SplitMix) -> (usize, usize, f64),
) {
    use crate::search::budget::Budget;
    use crate::testing::simulation::{read_anything, Simulation, SplitMix, Values};
    let started = Instant::now();
    let mut rng = SplitMix::new(seed);
    let (mut valid, mut invalid, mut many_optional) = (0, 0, 0);
    for n in 0..histories {
        let (ops, clients, info_rate) = shape(n, &mut rng);
        let sim = Simulation {
            ops,
            clients,
            values: Values::Range(2 + rng.below(3)),
            cas: true,
            info_rate,
            stale_read: n % 2 == 0,
            seed: n,
            ..Simulation::default()
        };
        let mut events = sim.events();
        if n % 3 == 0 {
            read_anything(&mut events, json!(rng.below(3)));
        }
        let ops = pair(&events).unwrap();
        let refs: Vec<&Operation> = ops.iter().collect();
        let optional = refs
            .iter()
            .filter(|op| op.outcome == Outcome::Info && op.f != "read")
            .count();
        // The reference tries every subset of the optional operations: keep it to seconds.
        if optional > 8 {
            continue;
        }
        many_optional += usize::from(optional >= 3);
        let expected = linearizable(&refs, &Value::Null, FailedCas::Observes);
        let register = CasRegister::new(&Value::Null).with_failed_cas(FailedCas::Observes);
        let k = KeyCheck::new(Value::Null, refs.clone(), register).unwrap();
        let budget = Budget::unlimited();
        for (name, got) in [
            (
                "exact",
                wgl::check_within(&k.model, &k.intervals, &budget, None),
            ),
            (
                "pruned",
                wgl::decide_within(&k.model, &k.intervals, &budget, None),
            ),
            (
                "small",
                wgl::decide_small(&k.model, &k.intervals, &budget, None),
            ),
        ] {
            let got = got.expect("an unlimited search finishes");
            if let Linearization::Linearizable { order } = &got {
                let mut state = k.model.init();
                for &i in order {
                    state = k
                        .model
                        .step(&state, &k.intervals[i].op)
                        .expect("witness follows the model");
                }
            }
            assert_eq!(
                matches!(got, Linearization::Linearizable { .. }),
                expected,
                "history {n}: the {name} search disagrees with brute force\n{}",
                events
                    .iter()
                    .map(|e| serde_json::to_string(e).unwrap())
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        if expected {
            valid += 1;
        } else {
            invalid += 1;
        }
    }
    eprintln!(
        "{valid} valid, {invalid} invalid ({many_optional} with 3 or more optional operations) \
         in {:?}",
        started.elapsed()
    );
    assert!(
        valid > least && invalid > least && many_optional > least,
        "{valid} valid, {invalid} invalid, {many_optional} with 3 or more optional operations"
    );
}
