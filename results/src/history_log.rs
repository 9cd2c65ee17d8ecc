//! The history as it is recorded: every event numbered and timed the moment it happens, and
//! written to the file by group commit.
//!
//! Events are appended, under a short lock, to a queue in index order ([`HistoryLog::append`]);
//! whoever needs an event in the file ([`HistoryLog::write_through`], [`HistoryLog::try_write`])
//! writes the whole queue with one `write(2)`, unless another writer is already at it, in which
//! case that writer's batch or the next one carries the event. The file is therefore always a
//! prefix of the history in index order, and many events cost one system call when clients are
//! many.
//!
//! Written means handed to the kernel (`write(2)` returned), not fsynced: a killed faultline
//! loses nothing written, a crashed machine may.

use crate::StoreError;
use checker::{Event, EventType, Process};
use serde_json::Value;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, TryLockError};
use std::time::Instant;

/// The process of a run's first final read (the read of node n1 after recovery; n2's is the
/// next): numbered after every worker's, so a history tells final reads apart by process.
pub const FINAL_READ_PROCESSES: u64 = 1_000_000;

/// An event as its recorder knows it, before the log gives it an index and a time.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Who: a client process or the nemesis.
    pub process: Process,
    /// invoke, ok, fail or info.
    pub kind: EventType,
    /// The operation.
    pub f: String,
    /// The key it addresses, if any.
    pub key: Option<Value>,
    /// Its value.
    pub value: Value,
    /// Why it failed or is indeterminate.
    pub error: Option<String>,
    /// On a completion: the node that answered, where the client knows.
    pub node: Option<String>,
}

/// Where and when an appended event landed in the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Its index: its position in the history and in the file.
    pub index: u64,
    /// Nanoseconds since the run's clock started.
    pub time: u64,
}

/// Appends history events to `history.jsonl`, numbering and timing them, written by group commit.
///
/// Index and time are given under one lock, so history order agrees with real time. An event is
/// in the file once [`HistoryLog::write_through`] returns for it (or [`HistoryLog::record`], which
/// appends and writes through), so a run that crashes leaves a history that can still be checked
/// (its open invocations count as indeterminate).
pub struct HistoryLog {
    path: PathBuf,
    /// The clock, the next index and the events not yet handed to a writer.
    pending: Mutex<Pending>,
    /// The file; holding it is being the writer, so batches go out one at a time, in order.
    writer: Mutex<Writer>,
    /// Events `0..written` are in the file.
    written: AtomicU64,
    /// The first write error: the file is incomplete past it, so every later write refuses.
    failure: OnceLock<(io::ErrorKind, String)>,
}

/// What [`HistoryLog::append`] changes, under the short lock.
struct Pending {
    start: Instant,
    next_index: u64,
    /// Events `written..next_index` not yet taken by a writer, as JSON lines in index order.
    queue: Vec<u8>,
}

/// The file and the batch being written.
struct Writer {
    file: File,
    /// The batch taken from the queue: swapped with it, so neither buffer is reallocated.
    batch: Vec<u8>,
}

impl HistoryLog {
    /// Creates (or truncates) the history file; time 0 is now.
    pub fn create(path: &Path) -> Result<HistoryLog, StoreError> {
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)
            .map_err(|e| StoreError::io(path, e))?;
        Ok(HistoryLog {
            path: path.to_path_buf(),
            pending: Mutex::new(Pending {
                start: Instant::now(),
                next_index: 0,
                queue: Vec::with_capacity(64 * 1024),
            }),
            writer: Mutex::new(Writer {
                file,
                batch: Vec::with_capacity(64 * 1024),
            }),
            written: AtomicU64::new(0),
            failure: OnceLock::new(),
        })
    }

    /// The instant the run's clock counts from.
    pub fn start(&self) -> Instant {
        self.pending().start
    }

    /// Moves time 0 to now: a run creates its history before starting the cluster (so that
    /// even a run whose cluster never starts has one) and starts the clock with the workload.
    /// Ignored once an event is recorded, since times must never run backwards.
    pub fn start_clock(&self) {
        let mut pending = self.pending();
        if pending.next_index == 0 {
            pending.start = Instant::now();
        }
    }

    /// Numbers and times one event now and queues it for the file, without waiting for a write:
    /// it reaches the file with the next batch written (see [`HistoryLog::write_through`]).
    pub fn append(&self, entry: Entry) -> Stamp {
        let mut pending = self.pending();
        let stamp = Stamp {
            index: pending.next_index,
            time: pending.start.elapsed().as_nanos() as u64,
        };
        let event = Event {
            index: stamp.index,
            time: stamp.time,
            process: entry.process,
            kind: entry.kind,
            f: entry.f,
            key: entry.key,
            value: entry.value,
            error: entry.error,
            node: entry.node,
        };
        serde_json::to_writer(&mut pending.queue, &event).expect("an event always serialises");
        pending.queue.push(b'\n');
        pending.next_index += 1;
        stamp
    }

    /// Records one event now and returns once it is in the file: [`HistoryLog::append`], then
    /// [`HistoryLog::write_through`].
    pub fn record(&self, entry: Entry) -> Result<Stamp, StoreError> {
        let stamp = self.append(entry);
        self.write_through(stamp.index)?;
        Ok(stamp)
    }

    /// How many events are in the file: events `0..written()`.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Acquire)
    }

    /// Returns once event `index` is in the file, writing the queue if no one else is; blocks
    /// while another writer finishes its batch.
    pub fn write_through(&self, index: u64) -> Result<(), StoreError> {
        while self.written() <= index {
            let writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
            // The writer just waited for may have carried this event.
            if self.written() > index {
                break;
            }
            self.write_queue(writer)?;
        }
        Ok(())
    }

    /// Writes the queue if no one else is writing (`None` if someone is: that writer's batch, or
    /// the next one, carries what is queued now). Never blocks on another writer.
    pub fn try_write(&self) -> Option<Result<(), StoreError>> {
        let writer = match self.writer.try_lock() {
            Ok(writer) => writer,
            Err(TryLockError::WouldBlock) => return None,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
        };
        Some(self.write_queue(writer))
    }

    /// Writes every event appended so far.
    pub fn flush(&self) -> Result<(), StoreError> {
        // Read apart from the match: the write below takes this lock again.
        let next = self.pending().next_index;
        match next {
            0 => Ok(()),
            next => self.write_through(next - 1),
        }
    }

    /// The first write error, if a write failed: the file holds no event past it.
    pub fn failure(&self) -> Option<StoreError> {
        self.failure
            .get()
            .map(|(kind, msg)| StoreError::io(&self.path, io::Error::new(*kind, msg.clone())))
    }

    /// Takes the whole queue and writes it with one `write(2)` (more if the kernel takes part).
    fn write_queue(&self, mut writer: MutexGuard<'_, Writer>) -> Result<(), StoreError> {
        if let Some(e) = self.failure() {
            return Err(e);
        }
        let writer = &mut *writer;
        let upto = {
            let mut pending = self.pending();
            std::mem::swap(&mut pending.queue, &mut writer.batch);
            pending.next_index
        };
        let result = writer.file.write_all(&writer.batch);
        writer.batch.clear();
        match result {
            Ok(()) => {
                self.written.store(upto, Ordering::Release);
                Ok(())
            }
            Err(e) => {
                let _ = self.failure.set((e.kind(), e.to_string()));
                Err(StoreError::io(&self.path, e))
            }
        }
    }

    fn pending(&self) -> MutexGuard<'_, Pending> {
        // Nothing panics while holding it: a poisoned lock still holds consistent state.
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for HistoryLog {
    /// Whatever was appended and not yet written goes out now: a history is never cut short by
    /// its own queue.
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn entry(process: Process, kind: EventType, f: &str) -> Entry {
        Entry {
            process,
            kind,
            f: f.into(),
            key: Some("k".into()),
            value: 3.into(),
            error: None,
            node: None,
        }
    }

    /// The file as another handle reads it now.
    fn on_disk(path: &Path) -> Vec<Event> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn each_event_is_on_disk_when_record_returns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        let log = HistoryLog::create(&path).unwrap();
        let first = log
            .record(entry(Process::Client(0), EventType::Invoke, "write"))
            .unwrap();
        let back = on_disk(&path);
        assert_eq!(back.len(), 1);
        assert_eq!((back[0].index, back[0].time), (0, first.time));
        assert_eq!(back[0].f, "write");
        assert_eq!(back[0].value, Value::from(3));
        let second = log
            .record(entry(Process::Client(0), EventType::Ok, "write"))
            .unwrap();
        let back = on_disk(&path);
        assert_eq!(back[1].index, 1);
        assert!(second.time >= first.time);
    }

    #[test]
    fn an_appended_event_waits_for_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        let log = HistoryLog::create(&path).unwrap();
        let invoke = log.append(entry(Process::Client(0), EventType::Invoke, "read"));
        assert_eq!(on_disk(&path).len(), 0, "an append alone does not write");
        assert_eq!(log.written(), 0);
        let done = log.append(entry(Process::Client(0), EventType::Ok, "read"));
        assert_eq!(log.try_write().map(|r| r.is_ok()), Some(true));
        assert_eq!(log.written(), 2, "one batch carried both");
        let back = on_disk(&path);
        assert_eq!(
            back.iter().map(|e| e.index).collect::<Vec<_>>(),
            [invoke.index, done.index]
        );
        log.append(entry(Process::Client(1), EventType::Invoke, "read"));
        drop(log);
        assert_eq!(on_disk(&path).len(), 3, "dropping the log writes its queue");
    }

    /// Many threads appending and writing through at once: every event each one waited for is
    /// in the file (read by another handle) when its wait returns, and the file's indices run
    /// 0, 1, 2, ... with times that never go back and each thread's events in its own order.
    #[test]
    fn concurrent_records_are_durable_and_ordered() {
        const THREADS: u64 = 8;
        const OPS: u64 = 150;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        let log = Arc::new(HistoryLog::create(&path).unwrap());
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (log, path) = (log.clone(), path.clone());
                std::thread::spawn(move || {
                    for _ in 0..OPS {
                        log.append(entry(Process::Client(t), EventType::Invoke, "read"));
                        let done = log
                            .record(entry(Process::Client(t), EventType::Ok, "read"))
                            .unwrap();
                        let text = std::fs::read_to_string(&path).unwrap();
                        let line = text.lines().nth(done.index as usize);
                        let line: Event = serde_json::from_str(line.expect("written")).unwrap();
                        assert_eq!((line.index, line.time), (done.index, done.time));
                        assert_eq!(line.process, Process::Client(t));
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        let back = on_disk(&path);
        assert_eq!(back.len() as u64, THREADS * OPS * 2);
        for (i, pair) in back.windows(2).enumerate() {
            assert_eq!(pair[0].index, i as u64);
            assert!(pair[0].time <= pair[1].time, "time went back at {i}");
        }
        for t in 0..THREADS {
            let kinds: Vec<_> = back
                .iter()
                .filter(|e| e.process == Process::Client(t))
                .map(|e| e.kind)
                .collect();
            assert!(kinds
                .chunks(2)
                .all(|c| c == [EventType::Invoke, EventType::Ok]));
        }
    }

    #[test]
    fn the_clock_starts_over_only_before_the_first_event() {
        let dir = tempfile::tempdir().unwrap();
        let log = HistoryLog::create(&dir.path().join("history.jsonl")).unwrap();
        assert!(
            dir.path().join("history.jsonl").is_file(),
            "exists from creation"
        );
        let created = log.start();
        std::thread::sleep(std::time::Duration::from_millis(5));
        log.start_clock();
        let started = log.start();
        assert!(started > created);
        log.record(entry(Process::Nemesis, EventType::Info, "pause"))
            .unwrap();
        log.start_clock();
        assert_eq!(log.start(), started, "times never run backwards");
    }

    #[test]
    fn full_disk_is_an_error_naming_the_file() {
        // /dev/full accepts opens and fails every write with ENOSPC.
        let log = HistoryLog::create(Path::new("/dev/full")).unwrap();
        let err = log
            .record(entry(Process::Nemesis, EventType::Info, "pause"))
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("/dev/full") && msg.contains("No space"),
            "{msg}"
        );
        // The file has a hole now: every later write refuses, with the same cause.
        let later = log.record(entry(Process::Nemesis, EventType::Info, "pause"));
        assert!(later.unwrap_err().to_string().contains("No space"));
        assert!(log.failure().is_some());
    }
}
