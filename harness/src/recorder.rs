//! The run's recorder: the history log shared by every client and the nemesis, plus live counts.

use checker::{EventType, Process};
use nemesis::{Fault, FaultRecorder};
use results::{Entry, HistoryLog, StoreError};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Live counts of client operations' completions, for the progress bar (the nemesis's events
/// are not operations, so they are not counted, as the checker's counts do not count them).
#[derive(Debug, Default)]
pub struct Counts {
    /// Operations completed ok.
    pub ok: AtomicU64,
    /// Operations that certainly failed.
    pub fail: AtomicU64,
    /// Indeterminate operations.
    pub info: AtomicU64,
}

/// Records events into the history; the lock makes index order agree with real-time order.
pub struct Recorder {
    log: Mutex<HistoryLog>,
    /// Completion counts so far.
    pub counts: Counts,
    fault: Mutex<Option<String>>,
    failure: Mutex<Option<String>>,
}

impl Recorder {
    /// A recorder writing to `log`.
    pub fn new(log: HistoryLog) -> Recorder {
        Recorder {
            log: Mutex::new(log),
            counts: Counts::default(),
            fault: Mutex::new(None),
            failure: Mutex::new(None),
        }
    }

    /// Records one client event; a write failure (full disk) is returned and remembered.
    pub fn record(&self, entry: Entry) -> Result<(), StoreError> {
        let kind = entry.kind;
        let client = matches!(entry.process, Process::Client(_));
        let result = self.log.lock().expect("history lock").record(entry);
        match &result {
            Ok(_) if !client => 0,
            Ok(_) => match kind {
                EventType::Ok => self.counts.ok.fetch_add(1, Ordering::Relaxed),
                EventType::Fail => self.counts.fail.fetch_add(1, Ordering::Relaxed),
                EventType::Info => self.counts.info.fetch_add(1, Ordering::Relaxed),
                EventType::Invoke => 0,
            },
            Err(e) => {
                self.failure
                    .lock()
                    .expect("failure lock")
                    .get_or_insert_with(|| e.to_string());
                0
            }
        };
        result.map(|_| ())
    }

    /// Starts the history's clock: time 0 is now (see [`HistoryLog::start_clock`]).
    pub fn start_clock(&self) {
        self.log.lock().expect("history lock").start_clock();
    }

    /// The instant the history's times count from.
    pub fn origin(&self) -> std::time::Instant {
        self.log.lock().expect("history lock").start()
    }

    /// The first history write error, if any: the run cannot be trusted past it.
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().expect("failure lock").clone()
    }

    /// The fault in force now, as text.
    pub fn current_fault(&self) -> Option<String> {
        self.fault.lock().expect("fault lock").clone()
    }
}

impl FaultRecorder for Recorder {
    fn record(&self, f: &str, value: Value, error: Option<String>) {
        let kind = if error.is_some() {
            EventType::Fail
        } else {
            EventType::Info
        };
        // A failure here is remembered by `record` and ends the run; nothing more to do.
        let _ = Recorder::record(
            self,
            Entry {
                process: Process::Nemesis,
                kind,
                f: f.to_string(),
                key: None,
                value,
                error,
            },
        );
    }

    fn active(&self, fault: Option<&Fault>) {
        *self.fault.lock().expect("fault lock") = fault.map(|f| f.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn live_counts_are_client_operations_only() {
        let dir = tempfile::tempdir().unwrap();
        let recorder = Recorder::new(HistoryLog::create(&dir.path().join("h.jsonl")).unwrap());
        let client = |kind| Entry {
            process: Process::Client(0),
            kind,
            f: "read".into(),
            key: Some(json!("k")),
            value: json!(null),
            error: None,
        };
        recorder.record(client(EventType::Invoke)).unwrap();
        recorder.record(client(EventType::Info)).unwrap();
        // A fault applied and one that could not be: nemesis events, not operations.
        FaultRecorder::record(&recorder, "pause", json!({}), None);
        FaultRecorder::record(&recorder, "kill", json!({}), Some("no such node".into()));
        let c = &recorder.counts;
        assert_eq!(
            [&c.ok, &c.fail, &c.info].map(|n| n.load(Ordering::Relaxed)),
            [0, 0, 1]
        );
    }
}
