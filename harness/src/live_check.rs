//! Checking a run's keys while it goes. With `--ops-per-key N` the generator retires a key after
//! its N-th operation, so once N invocations of a key have completed its history is final and
//! its verdict cannot change: it is checked then, on a thread of its own, instead of at the
//! run's end. The end checks only the keys still open and takes the others' reports as they are
//! ([`checker::check_events_reusing`]), which gives the report checking the whole history would.
//!
//! With `--stop-on-anomaly` the first invalid key ends the workload early.

use checker::{CheckOptions, Event, EventType, KeyReport, Process, Validity};
use results::{Entry, Stamp};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The keys of a run checked as they finish.
pub struct LiveCheck {
    ops_per_key: u64,
    keys: Mutex<Keys>,
    /// Finished keys on their way to the checking thread; `None` once the run has ended.
    queue: Mutex<Option<mpsc::Sender<FinishedKey>>>,
    found: Arc<Found>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// A key whose operations have all completed, with its events.
type FinishedKey = (Value, Vec<Event>);

/// The keys still open, and which key each client's open invocation addresses.
#[derive(Default)]
struct Keys {
    open: HashMap<Value, OpenKey>,
    by_process: HashMap<u64, Value>,
}

/// A key not yet finished: its events so far, how many operations were invoked on it and how
/// many of those have not completed.
#[derive(Default)]
struct OpenKey {
    events: Vec<Event>,
    invoked: u64,
    in_flight: u64,
}

/// What the checking thread has found, shared with the run.
#[derive(Default)]
struct Found {
    reports: Mutex<Vec<KeyReport>>,
    /// The first invalid key's summary, with when it was found.
    anomaly: Mutex<Option<Anomaly>>,
    /// Set when the run has ended: the thread stops taking keys (the end checks them).
    closing: AtomicBool,
}

/// An invalid key found while the run went.
#[derive(Debug, Clone)]
pub struct Anomaly {
    /// The key, as the history writes it.
    pub key: Value,
    /// When its verdict was known.
    pub at: Instant,
}

/// What the live check did, once the run ended.
#[derive(Debug, Default)]
pub struct Decided {
    /// The reports of the keys checked during the run.
    pub reports: Vec<KeyReport>,
    /// How long the run's end waited for a key being checked when it came.
    pub waited: Duration,
}

impl LiveCheck {
    /// A live check of keys that each get `ops_per_key` operations, checked with `options`.
    pub fn start(ops_per_key: u64, options: CheckOptions) -> Arc<LiveCheck> {
        let (tx, rx) = mpsc::channel::<FinishedKey>();
        let found = Arc::new(Found::default());
        let thread = {
            let found = found.clone();
            std::thread::Builder::new()
                .name("live-check".into())
                .spawn(move || check_keys(&rx, &options, &found))
                .expect("a thread for the live check")
        };
        Arc::new(LiveCheck {
            ops_per_key,
            keys: Mutex::new(Keys::default()),
            queue: Mutex::new(Some(tx)),
            found,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Takes note of one client event as the history recorded it; a key whose last operation
    /// this completes goes to be checked.
    pub fn observe(&self, entry: &Entry, stamp: Stamp) {
        let Process::Client(process) = entry.process else {
            return;
        };
        let mut keys = self.keys.lock().expect("live keys");
        let key = match entry.kind {
            EventType::Invoke => {
                let key = entry.key.clone().unwrap_or(Value::Null);
                keys.by_process.insert(process, key.clone());
                key
            }
            _ => match keys.by_process.remove(&process) {
                Some(key) => key,
                None => return,
            },
        };
        let open = keys.open.entry(key.clone()).or_default();
        if entry.kind == EventType::Invoke {
            open.invoked += 1;
            open.in_flight += 1;
        } else {
            open.in_flight = open.in_flight.saturating_sub(1);
        }
        open.events.push(Event {
            index: stamp.index,
            time: stamp.time,
            process: entry.process,
            kind: entry.kind,
            f: entry.f.clone(),
            key: entry.key.clone(),
            value: entry.value.clone(),
            error: entry.error.clone(),
            node: None,
        });
        if open.invoked >= self.ops_per_key && open.in_flight == 0 {
            let done = keys.open.remove(&key).expect("the key just seen");
            drop(keys);
            if let Some(queue) = self.queue.lock().expect("live queue").as_ref() {
                // A send fails only once the thread is gone; the end then checks the key.
                let _ = queue.send((key, done.events));
            }
        }
    }

    /// The first invalid key found so far.
    pub fn anomaly(&self) -> Option<Anomaly> {
        self.found.anomaly.lock().expect("live anomaly").clone()
    }

    /// Ends the live check: keys still queued are left to the end's check, the one being
    /// checked is waited for. Returns the reports of every key checked.
    pub fn finish(&self) -> Decided {
        let began = Instant::now();
        self.found.closing.store(true, Ordering::SeqCst);
        self.queue.lock().expect("live queue").take();
        if let Some(thread) = self.thread.lock().expect("live thread").take() {
            // A panic in a check leaves its key to the end's check, which reports it.
            let _ = thread.join();
        }
        Decided {
            reports: std::mem::take(&mut *self.found.reports.lock().expect("live reports")),
            waited: began.elapsed(),
        }
    }
}

/// The checking thread: each finished key's events, checked as the end's check would check
/// them, until the run ends.
fn check_keys(rx: &mpsc::Receiver<FinishedKey>, options: &CheckOptions, found: &Found) {
    while let Ok((key, mut events)) = rx.recv() {
        if found.closing.load(Ordering::SeqCst) {
            return;
        }
        // Clients record concurrently: a key's events may have been seen a little out of order.
        events.sort_by_key(|e| e.index);
        // A key whose events cannot be checked is left to the end's check, which names why.
        let Ok(report) = checker::check_events(&events, options) else {
            continue;
        };
        for report in report.keys {
            if report.validity == Validity::Invalid {
                let mut anomaly = found.anomaly.lock().expect("live anomaly");
                if anomaly.is_none() {
                    *anomaly = Some(Anomaly {
                        key: key.clone(),
                        at: Instant::now(),
                    });
                }
            }
            found.reports.lock().expect("live reports").push(report);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(process: u64, kind: EventType, f: &str, key: &str, value: Value) -> Entry {
        Entry {
            process: Process::Client(process),
            kind,
            f: f.into(),
            key: Some(json!(key)),
            value,
            error: None,
            node: None,
        }
    }

    /// Feeds `events` in the order given, stamped with their position, then ends the check.
    fn decided(ops_per_key: u64, events: &[(usize, Entry)]) -> Decided {
        let live = LiveCheck::start(ops_per_key, CheckOptions::default());
        for (index, e) in events {
            let at = *index as u64;
            live.observe(
                e,
                Stamp {
                    index: at,
                    time: at,
                },
            );
        }
        // The thread checks what was queued before the end closes it.
        let deadline = Instant::now() + Duration::from_secs(30);
        while live.found.reports.lock().unwrap().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        live.finish()
    }

    #[test]
    fn a_key_is_checked_once_its_last_operation_completes() {
        use EventType::*;
        let events = [
            (0, entry(1, Invoke, "write", "a", json!(1))),
            (2, entry(2, Invoke, "read", "a", Value::Null)),
            (1, entry(1, Ok, "write", "a", json!(1))),
            // Seen before the invocation's index was: the check orders by index.
            (4, entry(2, Ok, "read", "a", Value::Null)),
            (3, entry(3, Invoke, "write", "b", json!(1))),
        ];
        let d = decided(2, &events);
        assert_eq!(d.reports.len(), 1, "b is still in flight");
        let a = &d.reports[0];
        assert_eq!(a.key, json!("a"));
        assert_eq!(a.operations, 2);
        // The read of nothing began after the write of 1 was acknowledged.
        assert_eq!(a.validity, Validity::Invalid);
    }
}
