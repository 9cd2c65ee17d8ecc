//! Histories of simulated clients against a linearizable register: workloads for benchmarks and
//! randomized tests, reproducible from a seed.
//!
//! Each client runs one operation at a time. An operation is invoked, takes effect on the
//! register at one instant of its choosing (its linearization point), then completes; the
//! clients' steps interleave at random, so operations overlap as real ones do:
//!
//! ```text
//!   client 0  |--write 3---*--|ok                       * where it took effect
//!   client 1      |--read--------*--|ok 3
//!   client 2        |--cas 3 4--…  info (it may take effect later, or never)
//! ```
//!
//! An operation that ends `info` has, as after a real timeout, either taken effect, or not yet
//! and perhaps never, or will later; its client then continues under a new process id, as
//! Jepsen's do. Operations still running when the history ends are left without completion.
//! Such a history is linearizable by construction; [`Simulation::stale_read`] makes one read
//! return an overwritten value, which (with unique values) makes it certainly not.
//!
//! The object is a register (read, write, cas) or, for the `kv` model, a key-value store of
//! strings (get, put, append) in the shape of Porcupine's kv tests.

use crate::history::event::{Event, EventType, Process, CAS_MISMATCH};
use serde_json::{json, Value};
use std::collections::HashMap;

/// Which values writes use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Values {
    /// Every write and cas writes a value never written before (a counter).
    Unique,
    /// Values drawn from `0..n`, as Jepsen's register tests do (`n` = 5).
    Range(u64),
}

/// What the clients operate on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    /// A register per key: read, write and (optionally) cas, values as JSON numbers.
    Register,
    /// A string per key: get, put and append (equally often, unless [`Simulation::mix`] says
    /// otherwise); a value `v` is the string `"v;"`,
    /// so a get returns the concatenation of the put and what was appended since.
    Kv,
}

/// How to simulate a history.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulation {
    /// What the clients operate on.
    pub object: Object,
    /// Client operations to invoke.
    pub ops: usize,
    /// Registers; 1 gives operations without a key.
    pub keys: usize,
    /// Concurrent clients.
    pub clients: usize,
    /// Which values are written.
    pub values: Values,
    /// Whether clients also issue compare-and-set (read, write and cas equally often).
    pub cas: bool,
    /// The fraction of operations that end `info`.
    pub info_rate: f64,
    /// Whether indeterminate operations come in bursts, as under a network partition: the
    /// history alternates between calm stretches (a third of `info_rate`) and faulty ones
    /// (three times it), each some 40 completions long.
    pub bursty: bool,
    /// The fraction of writes and cas that certainly fail (and do not take effect).
    pub fail_rate: f64,
    /// How often each kind of operation is drawn; `None`: equally often (read, write and, for
    /// kv or with `cas`, the third kind).
    pub mix: Option<Mix>,
    /// The fraction of updates (writes, appends, cas) that are slow: each stays in flight about
    /// [`SLOWDOWN`] times as long as other operations, as a client retrying against a slow
    /// leader does, overlapping much of its key's history.
    pub long_updates: f64,
    /// Whether events carry no times, only their order (as Porcupine's and Knossos's histories):
    /// each event's time is its index, and reports show event numbers.
    pub event_order: bool,
    /// Make one read stale: return the value of a write that was overwritten before the read
    /// began (see the module docs). For kv, one get per key: it returns what an earlier get
    /// returned before an acknowledged put or append that ended before it began.
    pub stale_read: bool,
    /// The seed; equal simulations give equal histories.
    pub seed: u64,
}

impl Default for Simulation {
    /// Jepsen's register test in miniature: 100 operations by 5 clients on one register.
    fn default() -> Self {
        Simulation {
            object: Object::Register,
            ops: 100,
            keys: 1,
            clients: 5,
            values: Values::Range(5),
            cas: true,
            info_rate: 0.1,
            bursty: false,
            fail_rate: 0.02,
            mix: None,
            long_updates: 0.0,
            event_order: false,
            stale_read: false,
            seed: 0,
        }
    }
}

/// How many times longer a slow update ([`Simulation::long_updates`]) stays in flight.
pub const SLOWDOWN: u64 = 20;

/// Relative weights of the kinds of operation a client draws, e.g. Porcupine's kv shape: 44 gets,
/// 5 puts, 51 appends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mix {
    /// Reads (gets, for kv).
    pub read: u64,
    /// Plain writes (puts, for kv).
    pub write: u64,
    /// The third kind: appends for kv, cas for a register (whatever `cas` says).
    pub third: u64,
}

impl Mix {
    /// Draws a kind: 0 read, 1 write, 2 the third kind.
    fn draw(self, rng: &mut SplitMix) -> u64 {
        let roll = rng.below((self.read + self.write + self.third).max(1));
        if roll < self.read {
            0
        } else if roll < self.read + self.write {
            1
        } else {
            2
        }
    }
}

/// SplitMix64: a tiny, good-enough generator, so that a seed means the same history on every
/// platform and version (a dependency's generator may change its stream between releases).
#[derive(Debug, Clone)]
pub(crate) struct SplitMix(u64);

impl SplitMix {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum F {
    Read,
    Write(u64),
    Cas(u64, u64),
    Append(u64),
}

/// A key's contents: the values written since the last plain write (at most one for a
/// register).
type Contents = Vec<u64>;

/// An operation a client has invoked and not yet completed.
#[derive(Debug, Clone)]
struct Flight {
    key: usize,
    f: F,
    /// A slow update: it moves on only one time in [`SLOWDOWN`] its client is scheduled.
    slow: bool,
    /// Once it has taken effect: what it returned (a read's value, whether a cas swapped).
    effect: Option<Effect>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Effect {
    Read(Contents),
    Wrote,
    Swapped(bool),
}

/// An acknowledged write: its key, value and event indexes, for stale-read injection.
#[derive(Debug, Clone, Copy)]
struct AckedWrite {
    key: usize,
    value: u64,
    invoke: u64,
    complete: u64,
}

/// Makes the first ok read of `events` return `value` instead: a read the simulated register
/// may never have held, so the history may or may not be linearizable (for the references to
/// decide).
#[cfg(test)]
pub fn read_anything(events: &mut [Event], value: Value) {
    if let Some(e) = events
        .iter_mut()
        .find(|e| e.kind == EventType::Ok && e.f == "read")
    {
        e.value = value;
    }
}

impl Simulation {
    /// The history, as events indexed from 0 (times are 1 µs apart, or the index itself with
    /// `event_order`).
    pub fn events(&self) -> Vec<Event> {
        let mut rng = SplitMix::new(self.seed);
        let clients = self.clients.max(1);
        // Every key starts empty (null).
        let mut registers: Vec<Contents> = vec![Vec::new(); self.keys.max(1)];
        let mut next_value = 0u64;
        let mut process: Vec<u64> = (0..clients as u64).collect();
        let mut next_process = clients as u64;
        let mut flights: Vec<Option<(Flight, u64)>> = vec![None; clients];
        // Indeterminate operations that may still take effect.
        let mut zombies: Vec<Flight> = Vec::new();
        let mut events: Vec<Event> = Vec::with_capacity(self.ops * 2 + 2);
        let mut acked: Vec<AckedWrite> = Vec::new();
        let mut invoked = 0;
        let mut faulty = false;
        let keyed = self.keys > 1;

        let kv = self.object == Object::Kv;
        let event_order = self.event_order;
        let emit = |events: &mut Vec<Event>, p: u64, kind, key: usize, f: F, out: Value| {
            let index = events.len() as u64;
            let (name, value) = match (kind, f, kv) {
                (EventType::Ok, F::Read, false) => ("read", out),
                (EventType::Ok, F::Read, true) => ("get", out),
                (_, F::Read, false) => ("read", Value::Null),
                (_, F::Read, true) => ("get", Value::Null),
                (_, F::Write(v), false) => ("write", json!(v)),
                (_, F::Write(v), true) => ("put", json!(format!("{v};"))),
                (_, F::Append(v), _) => ("append", json!(format!("{v};"))),
                (_, F::Cas(e, n), _) => ("cas", json!([e, n])),
            };
            events.push(Event {
                index,
                time: if event_order { index } else { index * 1000 },
                process: Process::Client(p),
                kind,
                f: name.to_string(),
                key: keyed.then(|| json!(key)),
                value,
                error: None,
                node: None,
            });
            index
        };

        loop {
            if invoked == self.ops && flights.iter().all(Option::is_none) {
                break;
            }
            // A lost message arriving late: an indeterminate operation takes effect now.
            if !zombies.is_empty() && rng.chance(0.02) {
                let i = rng.below(zombies.len() as u64) as usize;
                let z = zombies.swap_remove(i);
                apply(&mut registers[z.key], z.f);
            }
            let w = rng.below(clients as u64) as usize;
            match &mut flights[w] {
                None if invoked < self.ops => {
                    invoked += 1;
                    let key = rng.below(registers.len() as u64) as usize;
                    let third = kv || self.cas;
                    let kind = match self.mix {
                        Some(mix) => mix.draw(&mut rng),
                        None => rng.below(if third { 3 } else { 2 }),
                    };
                    let f = match kind {
                        0 => F::Read,
                        1 => F::Write(fresh(self.values, &mut next_value, &mut rng)),
                        _ if kv => F::Append(fresh(self.values, &mut next_value, &mut rng)),
                        _ => {
                            let expected = match (self.values, registers[key].last().copied()) {
                                // Unique values: mostly the current one, so cas often succeeds.
                                (Values::Unique, Some(v)) if rng.chance(0.7) => v,
                                (Values::Unique, _) => rng.below(next_value + 1),
                                (Values::Range(n), _) => rng.below(n.max(1)),
                            };
                            F::Cas(expected, fresh(self.values, &mut next_value, &mut rng))
                        }
                    };
                    // Drawn only when asked for, so that other simulations keep their histories.
                    let slow = !matches!(f, F::Read)
                        && self.long_updates > 0.0
                        && rng.chance(self.long_updates);
                    let at = emit(
                        &mut events,
                        process[w],
                        EventType::Invoke,
                        key,
                        f,
                        Value::Null,
                    );
                    flights[w] = Some((
                        Flight {
                            key,
                            f,
                            slow,
                            effect: None,
                        },
                        at,
                    ));
                }
                None => {}
                Some((flight, _)) if flight.slow && rng.below(SLOWDOWN) != 0 => {}
                Some((flight, _)) if flight.effect.is_none() && rng.chance(0.5) => {
                    let fails = !matches!(flight.f, F::Read) && rng.chance(self.fail_rate);
                    if !fails {
                        flight.effect = Some(apply(&mut registers[flight.key], flight.f));
                    }
                }
                Some(_) => {
                    let (flight, invoke) = flights[w].take().expect("matched Some");
                    let p = process[w];
                    if self.bursty && rng.chance(1.0 / 40.0) {
                        faulty = !faulty;
                    }
                    let info_rate = match (self.bursty, faulty) {
                        (false, _) => self.info_rate,
                        (true, false) => self.info_rate / 3.0,
                        (true, true) => (self.info_rate * 3.0).min(0.9),
                    };
                    if rng.chance(info_rate) {
                        emit(
                            &mut events,
                            p,
                            EventType::Info,
                            flight.key,
                            flight.f,
                            Value::Null,
                        );
                        if flight.effect.is_none() && rng.chance(0.5) {
                            zombies.push(flight);
                        }
                        process[w] = next_process;
                        next_process += 1;
                        continue;
                    }
                    let effect = match flight.effect {
                        Some(e) => e,
                        // Not yet applied: a write may certainly fail; otherwise it applies now.
                        None if !matches!(flight.f, F::Read) && rng.chance(self.fail_rate) => {
                            emit(
                                &mut events,
                                p,
                                EventType::Fail,
                                flight.key,
                                flight.f,
                                Value::Null,
                            );
                            continue;
                        }
                        None => apply(&mut registers[flight.key], flight.f),
                    };
                    match effect {
                        Effect::Read(contents) => {
                            let out = match (kv, contents.as_slice()) {
                                (_, []) => Value::Null,
                                (false, [.., v]) => json!(v),
                                (true, all) => {
                                    json!(all.iter().map(|v| format!("{v};")).collect::<String>())
                                }
                            };
                            emit(&mut events, p, EventType::Ok, flight.key, flight.f, out);
                        }
                        Effect::Wrote | Effect::Swapped(true) => {
                            let complete = emit(
                                &mut events,
                                p,
                                EventType::Ok,
                                flight.key,
                                flight.f,
                                Value::Null,
                            );
                            if let F::Write(value) = flight.f {
                                acked.push(AckedWrite {
                                    key: flight.key,
                                    value,
                                    invoke,
                                    complete,
                                });
                            }
                        }
                        Effect::Swapped(false) => {
                            let at = emit(
                                &mut events,
                                p,
                                EventType::Fail,
                                flight.key,
                                flight.f,
                                Value::Null,
                            );
                            events[at as usize].error = Some(CAS_MISMATCH.to_string());
                        }
                    }
                }
            }
            // Once every operation is invoked, stop now and then with some still running: they
            // stay pending (indeterminate, no completion).
            if invoked == self.ops && rng.chance(0.05) {
                break;
            }
        }
        match (self.stale_read, kv) {
            (true, false) => make_stale(&mut events, &acked, &mut rng),
            (true, true) => make_stale_gets(&mut events, &mut rng),
            (false, _) => {}
        }
        events
    }
}

/// A value to write: the next unused one, or one drawn from the range.
fn fresh(values: Values, next_value: &mut u64, rng: &mut SplitMix) -> u64 {
    match values {
        Values::Unique => {
            *next_value += 1;
            *next_value
        }
        Values::Range(n) => rng.below(n.max(1)),
    }
}

/// Applies `f` to a key; what it returned.
fn apply(contents: &mut Contents, f: F) -> Effect {
    match f {
        F::Read => Effect::Read(contents.clone()),
        F::Write(v) => {
            contents.clear();
            contents.push(v);
            Effect::Wrote
        }
        F::Append(v) => {
            contents.push(v);
            Effect::Wrote
        }
        F::Cas(e, n) => {
            let swapped = contents.last() == Some(&e);
            if swapped {
                *contents = vec![n];
            }
            Effect::Swapped(swapped)
        }
    }
}

/// Rewrites one ok read (from the later half of the history, if one qualifies) to return the
/// value of an acknowledged write W1 such that another acknowledged write W2 of the same key
/// was invoked after W1 completed and completed before the read was invoked. Where it can, it
/// picks a W1 whose value no other operation could have written after W2 began, which makes the
/// read certainly stale even when values repeat.
fn make_stale(events: &mut [Event], acked: &[AckedWrite], rng: &mut SplitMix) {
    let key_of = |e: &Event| {
        e.key
            .as_ref()
            .map_or(0, |k| k.as_u64().unwrap_or(0) as usize)
    };
    let (invoke_of, completion) = pairs(events);
    // The latest event index at which each (key, value) may have been written.
    let mut last_written: HashMap<(usize, u64), u64> = HashMap::new();
    for (i, e) in events.iter().enumerate() {
        let written = match (e.kind, e.f.as_str()) {
            (EventType::Invoke, "write") => e.value.as_u64(),
            (EventType::Invoke, "cas") => e.value[1].as_u64(),
            _ => None,
        };
        let Some(v) = written else { continue };
        let bound = match completion[i].map(|c| (c, events[c].kind)) {
            Some((_, EventType::Fail)) => continue,
            Some((c, EventType::Ok)) => c as u64,
            _ => u64::MAX,
        };
        let entry = last_written.entry((key_of(e), v)).or_insert(0);
        *entry = (*entry).max(bound);
    }
    let start = rng.below(events.len().max(1) as u64) as usize / 2 + events.len() / 2;
    for certain in [true, false] {
        for r in (start..events.len()).chain(0..start) {
            let e = &events[r];
            if e.kind != EventType::Ok || e.f != "read" {
                continue;
            }
            let invoke = invoke_of[r] as u64;
            let key = key_of(e);
            let Some(w2) = acked
                .iter()
                .filter(|w| w.key == key && w.complete < invoke)
                .max_by_key(|w| w.complete)
            else {
                continue;
            };
            let mut earlier: Vec<&AckedWrite> = acked
                .iter()
                .filter(|w| w.key == key && w.complete < w2.invoke)
                .collect();
            earlier.sort_by_key(|w| std::cmp::Reverse(w.complete));
            let w1 = earlier.into_iter().find(|w1| {
                events[r].value != json!(w1.value)
                    && (!certain || last_written[&(key, w1.value)] < w2.invoke)
            });
            if let Some(w1) = w1 {
                events[r].value = json!(w1.value);
                return;
            }
        }
    }
}

/// Each completion's invocation (`usize::MAX` for invocations) and each invocation's
/// completion, by pairing on process.
fn pairs(events: &[Event]) -> (Vec<usize>, Vec<Option<usize>>) {
    let mut open = HashMap::new();
    let mut completion: Vec<Option<usize>> = vec![None; events.len()];
    let mut invoke_of = vec![usize::MAX; events.len()];
    for (i, e) in events.iter().enumerate() {
        if e.kind == EventType::Invoke {
            open.insert(e.process, i);
        } else if let Some(inv) = open.remove(&e.process) {
            invoke_of[i] = inv;
            completion[inv] = Some(i);
        }
    }
    (invoke_of, completion)
}

/// Rewrites one ok get per key (from the later half of the history where one qualifies) to
/// return what an earlier ok get G of that key returned, where an acknowledged put or append W
/// of the key began after G ended and ended before the get began. With unique values that is
/// certainly stale: every string the key holds after W ends in something written at or after
/// W, which G cannot have seen.
fn make_stale_gets(events: &mut [Event], rng: &mut SplitMix) {
    let (invoke_of, _) = pairs(events);
    let key_of = |e: &Event| e.key.as_ref().and_then(Value::as_u64).unwrap_or(0);
    let ok = |e: &Event, fs: &[&str]| e.kind == EventType::Ok && fs.contains(&e.f.as_str());
    let mut keys: Vec<u64> = events.iter().map(key_of).collect();
    keys.sort_unstable();
    keys.dedup();
    let start = rng.below(events.len().max(1) as u64) as usize / 2 + events.len() / 2;
    for key in keys {
        let of_key = |e: &Event| key_of(e) == key;
        let stale = (start..events.len()).chain(0..start).find_map(|r| {
            let e = &events[r];
            if !of_key(e) || !ok(e, &["get"]) {
                return None;
            }
            let began = invoke_of[r];
            // The acknowledged update of the key that ended last before the get began.
            let w = (0..began)
                .rev()
                .find(|&c| of_key(&events[c]) && ok(&events[c], &["put", "append"]))?;
            let w_began = invoke_of[w];
            let seen = (0..w_began)
                .rev()
                .map(|c| &events[c])
                .find(|g| of_key(g) && ok(g, &["get"]) && g.value != e.value)?;
            Some((r, seen.value.clone()))
        });
        if let Some((r, value)) = stale {
            events[r].value = value;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check_events;
    use crate::history::operation::{pair, Outcome};
    use crate::options::CheckOptions;
    use crate::validity::Validity;
    use std::time::Duration;

    #[test]
    fn same_seed_same_history() {
        let sim = Simulation {
            seed: 42,
            ..Simulation::default()
        };
        assert_eq!(sim.events(), sim.events());
        let other = Simulation {
            seed: 43,
            ..Simulation::default()
        };
        assert_ne!(sim.events(), other.events());
    }

    #[test]
    fn histories_pair_and_have_the_asked_for_shape() {
        let sim = Simulation {
            ops: 2000,
            keys: 10,
            clients: 8,
            info_rate: 0.2,
            seed: 1,
            ..Simulation::default()
        };
        let ops = pair(&sim.events()).unwrap();
        assert_eq!(ops.len(), 2000);
        let info = ops.iter().filter(|o| o.outcome == Outcome::Info).count();
        assert!((300..500).contains(&info), "{info} info");
        let processes: std::collections::HashSet<_> = ops.iter().map(|o| o.process).collect();
        assert!(processes.len() > 300, "a new process after each info");
        let keys: std::collections::HashSet<_> = ops.iter().map(|o| o.key.clone()).collect();
        assert_eq!(keys.len(), 10);
    }

    #[test]
    fn simulated_histories_are_valid_and_stale_ones_invalid() {
        for seed in 0..20 {
            let sim = Simulation {
                ops: 300,
                clients: 6,
                values: Values::Unique,
                seed,
                ..Simulation::default()
            };
            let valid = check_events(&sim.events(), &CheckOptions::default()).unwrap();
            assert_eq!(valid.validity, Validity::Valid, "seed {seed}");
            let stale = Simulation {
                stale_read: true,
                ..sim
            };
            let invalid = check_events(&stale.events(), &CheckOptions::default()).unwrap();
            assert_eq!(invalid.validity, Validity::Invalid, "seed {seed}");
        }
    }

    #[test]
    fn kv_histories_get_what_was_put_and_appended() {
        let sim = Simulation {
            object: Object::Kv,
            ops: 400,
            keys: 3,
            clients: 6,
            seed: 3,
            ..Simulation::default()
        };
        let events = sim.events();
        let functions: std::collections::BTreeSet<&str> =
            events.iter().map(|e| e.f.as_str()).collect();
        assert_eq!(functions, ["append", "get", "put"].into());
        let longest = events
            .iter()
            .filter(|e| e.kind == EventType::Ok && e.f == "get")
            .filter_map(|e| e.value.as_str().map(str::len))
            .max();
        assert!(longest > Some(4), "appends accumulate: {longest:?}");
        let kv = CheckOptions {
            model: crate::options::ModelKind::Kv,
            ..CheckOptions::default()
        };
        assert_eq!(
            check_events(&events, &kv).unwrap().validity,
            Validity::Valid
        );
    }

    #[test]
    fn a_stale_kv_history_has_a_stale_get_on_every_key() {
        let sim = Simulation {
            object: Object::Kv,
            ops: 600,
            keys: 4,
            clients: 8,
            values: Values::Unique,
            stale_read: true,
            seed: 5,
            ..Simulation::default()
        };
        // The default explanation time follows the verdicts' and a loaded machine can leave it
        // short: this test is about the witnesses' size, so it gives them time enough.
        let kv = CheckOptions {
            model: crate::options::ModelKind::Kv,
            memory_limit: Some(2 << 30),
            explain_time: Some(Duration::from_secs(300)),
            ..CheckOptions::default()
        };
        let report = check_events(&sim.events(), &kv).unwrap();
        let verdicts: Vec<Validity> = report.keys.iter().map(|k| k.validity).collect();
        assert_eq!(verdicts, [Validity::Invalid; 4]);
        for key in &report.keys {
            let witness = key.anomaly.as_ref().and_then(|a| a.witness.as_ref());
            let witness = witness.expect("every invalid key has a witness");
            assert!(witness.shrunk && witness.minimal, "{:?}", witness.timeline);
            assert!(witness.operations.len() <= 10, "{:?}", witness.timeline);
            assert_eq!(witness.because.len(), 1);
        }
        // With no time to explain, each verdict stands with its unshrunk witness, and says so.
        let hurried = CheckOptions {
            explain_time: Some(Duration::ZERO),
            ..kv.clone()
        };
        let report = check_events(&sim.events(), &hurried).unwrap();
        for key in &report.keys {
            assert_eq!(key.validity, Validity::Invalid);
            let anomaly = key
                .anomaly
                .as_ref()
                .expect("an invalid key names its anomaly");
            let witness = anomaly.witness.as_ref().expect("and shows a witness");
            assert!(!witness.shrunk && !witness.minimal);
            assert!(
                witness.heading().contains("not shrunk: out of time"),
                "{}",
                witness.heading()
            );
        }
        let fresh = Simulation {
            stale_read: false,
            ..sim
        };
        assert_eq!(
            check_events(&fresh.events(), &kv).unwrap().validity,
            Validity::Valid
        );
    }

    #[test]
    fn split_mix_is_uniform_enough() {
        let mut rng = SplitMix::new(7);
        let mut counts = [0u32; 4];
        for _ in 0..40_000 {
            counts[rng.below(4) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (9_500..10_500).contains(&c)),
            "{counts:?}"
        );
    }
}
