//! The run's recorder: the history log shared by every client and the nemesis, plus live counts.
//!
//! Every event is numbered and timed under the log's lock at the moment it is recorded, so the
//! history's order (index, time) agrees with real time. Writing is group commit
//! ([`results::history_log`]): an event is queued, and one writer hands the whole queue to the
//! kernel with one `write(2)`. What must be in the file before its recorder goes on waits for it:
//!
//! - a client's completion ([`Recorder::complete`]): once a worker moves on from an operation, a
//!   `kill -9` of faultline cannot lose that operation's outcome. The wait is asynchronous: while
//!   one task writes a batch, the others' completions queue up for the next one.
//! - the nemesis's events and the run's own (final reads), through [`Recorder::record`], which
//!   writes through synchronously; they are few.
//!
//! A client's invocation ([`Recorder::invoke`]) does not wait. The file is always a prefix of the
//! history in index order, so an invocation missing from it is at the file's end, after every
//! event written: no completion in the file can have seen the operation's effect (such a
//! completion would come later in real time, hence later in the history), and the history in
//! the file is that of a run that stopped just before the invocation. Its own completion, and
//! the end of the run ([`Recorder::flush`]), write it.

use crate::live_check::LiveCheck;
use checker::{EventType, Process};
use nemesis::{Fault, FaultRecorder};
use results::{Entry, HistoryLog, Stamp, StoreError};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

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

/// Records events into the history (see the module docs for when each is written).
pub struct Recorder {
    log: HistoryLog,
    /// Told after every batch written, so that completions waiting for one look again.
    written: Notify,
    /// Completion counts so far.
    pub counts: Counts,
    fault: Mutex<Option<String>>,
    /// Told every client event, to check keys as they finish.
    live: Option<Arc<LiveCheck>>,
}

impl Recorder {
    /// A recorder writing to `log`.
    pub fn new(log: HistoryLog) -> Recorder {
        Recorder {
            log,
            written: Notify::new(),
            counts: Counts::default(),
            fault: Mutex::new(None),
            live: None,
        }
    }

    /// This recorder, telling `live` every client event it records.
    pub fn watched_by(self, live: Arc<LiveCheck>) -> Recorder {
        Recorder {
            live: Some(live),
            ..self
        }
    }

    /// Records one event and returns once it is in the file; a write failure (full disk) is
    /// returned and remembered. Blocks while another writer finishes its batch: for the nemesis
    /// and the run's own events, not for clients' operations.
    pub fn record(&self, entry: Entry) -> Result<Stamp, StoreError> {
        let stamp = self.queue(entry)?;
        let result = self.log.write_through(stamp.index);
        self.written.notify_waiters();
        result.map(|()| stamp)
    }

    /// Records a client's invocation without waiting for the file (see the module docs for why
    /// that loses nothing); an error says the history already failed.
    pub fn invoke(&self, entry: Entry) -> Result<Stamp, StoreError> {
        self.queue(entry)
    }

    /// Records a client's completion and returns once it (and everything before it) is in the
    /// file: it writes the queue itself when no one else is writing, else awaits the batch that
    /// carries it.
    pub async fn complete(&self, entry: Entry) -> Result<Stamp, StoreError> {
        let stamp = self.queue(entry)?;
        loop {
            if self.log.written() > stamp.index {
                return Ok(stamp);
            }
            let notified = self.written.notified();
            tokio::pin!(notified);
            // Registered before looking again, so a batch finishing in between still wakes us.
            notified.as_mut().enable();
            if self.log.written() > stamp.index {
                return Ok(stamp);
            }
            match self.log.try_write() {
                Some(result) => {
                    self.written.notify_waiters();
                    result?;
                }
                None => notified.await,
            }
        }
    }

    /// Writes every event recorded so far (invocations whose completion never came included).
    pub fn flush(&self) -> Result<(), StoreError> {
        let result = self.log.flush();
        self.written.notify_waiters();
        result
    }

    /// Numbers, times and queues an event, and counts a client's completion.
    fn queue(&self, entry: Entry) -> Result<Stamp, StoreError> {
        if let Some(e) = self.log.failure() {
            return Err(e);
        }
        let kind = entry.kind;
        let client = matches!(entry.process, Process::Client(_));
        let seen = self
            .live
            .as_ref()
            .filter(|_| client)
            .map(|l| (l, entry.clone()));
        let stamp = self.log.append(entry);
        if let Some((live, entry)) = seen {
            live.observe(&entry, stamp);
        }
        let count = match kind {
            _ if !client => None,
            EventType::Ok => Some(&self.counts.ok),
            EventType::Fail => Some(&self.counts.fail),
            EventType::Info => Some(&self.counts.info),
            EventType::Invoke => None,
        };
        if let Some(count) = count {
            count.fetch_add(1, Ordering::Relaxed);
        }
        Ok(stamp)
    }

    /// Starts the history's clock: time 0 is now (see [`HistoryLog::start_clock`]).
    pub fn start_clock(&self) {
        self.log.start_clock();
    }

    /// The instant the history's times count from.
    pub fn origin(&self) -> std::time::Instant {
        self.log.start()
    }

    /// The first history write error, if any: the run cannot be trusted past it.
    pub fn failure(&self) -> Option<String> {
        // The log keeps the first write error itself: nothing to remember here.
        self.log.failure().map(|e| e.to_string())
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
        // A failure here is kept by the log and ends the run; nothing more to do.
        let _ = Recorder::record(
            self,
            Entry {
                process: Process::Nemesis,
                kind,
                f: f.to_string(),
                key: None,
                value,
                error,
                node: None,
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
    use std::path::Path;
    use std::sync::Arc;

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
            node: None,
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

    /// The file as another handle reads it now.
    fn on_disk(path: &std::path::Path) -> Vec<checker::Event> {
        checker::formats::read_jsonl_file(path).unwrap()
    }

    /// Clients on a multi-threaded runtime, as in a run: when `complete` returns, the file (read
    /// by another handle) holds the completion and its invocation, which never waited; indices
    /// and times in the file keep real-time order; the nemesis writing through meanwhile breaks
    /// none of it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_completion_is_in_the_file_when_complete_returns() {
        const CLIENTS: u64 = 16;
        const OPS: u64 = 100;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.jsonl");
        let recorder = Arc::new(Recorder::new(HistoryLog::create(&path).unwrap()));
        let mut tasks = tokio::task::JoinSet::new();
        for p in 0..CLIENTS {
            let (recorder, path) = (recorder.clone(), path.clone());
            tasks.spawn(async move {
                let event = |kind| Entry {
                    process: Process::Client(p),
                    kind,
                    f: "write".into(),
                    key: Some(json!("k")),
                    value: json!(p),
                    error: None,
                    node: None,
                };
                for _ in 0..OPS {
                    let invoked = recorder.invoke(event(EventType::Invoke)).unwrap();
                    tokio::task::yield_now().await;
                    let done = recorder.complete(event(EventType::Ok)).await.unwrap();
                    assert!(done.index > invoked.index && done.time >= invoked.time);
                    let text = std::fs::read_to_string(&path).unwrap();
                    let line = |i: u64| -> checker::Event {
                        serde_json::from_str(text.lines().nth(i as usize).expect("written"))
                            .unwrap()
                    };
                    let (done_line, invoked_line) = (line(done.index), line(invoked.index));
                    assert_eq!((done_line.index, done_line.time), (done.index, done.time));
                    assert_eq!(invoked_line.process, Process::Client(p));
                }
            });
        }
        let nemesis = {
            let recorder = recorder.clone();
            std::thread::spawn(move || {
                for _ in 0..20 {
                    FaultRecorder::record(&*recorder, "pause", json!({}), None);
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            })
        };
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        nemesis.join().unwrap();
        let back = on_disk(&path);
        assert_eq!(back.len() as u64, CLIENTS * OPS * 2 + 20);
        for (i, e) in back.iter().enumerate() {
            assert_eq!(e.index, i as u64);
        }
        assert!(back.windows(2).all(|w| w[0].time <= w[1].time));
        assert_eq!(recorder.counts.ok.load(Ordering::Relaxed), CLIENTS * OPS);
        assert_eq!(recorder.failure(), None);
    }

    #[test]
    fn flush_writes_invocations_that_never_completed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.jsonl");
        let recorder = Recorder::new(HistoryLog::create(&path).unwrap());
        let invoke = Entry {
            process: Process::Client(0),
            kind: EventType::Invoke,
            f: "read".into(),
            key: Some(json!("k")),
            value: json!(null),
            error: None,
            node: None,
        };
        recorder.invoke(invoke).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.is_empty(), "an invocation does not wait");
        recorder.flush().unwrap();
        assert_eq!(on_disk(&path).len(), 1);
    }

    #[test]
    fn a_write_error_fails_the_event_and_every_later_one() {
        // /dev/full takes the open and refuses every write (ENOSPC), as a full disk does.
        let recorder = Recorder::new(HistoryLog::create(Path::new("/dev/full")).unwrap());
        let event = |kind| Entry {
            process: Process::Nemesis,
            kind,
            f: "pause".into(),
            key: None,
            value: json!(null),
            error: None,
            node: None,
        };
        let err = recorder
            .record(event(EventType::Info))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/dev/full"), "{err}");
        let failure = recorder.failure().expect("the failure is kept");
        assert!(failure.contains("/dev/full"), "{failure}");
        assert!(
            recorder.invoke(event(EventType::Invoke)).is_err(),
            "no event after it"
        );
    }
}
