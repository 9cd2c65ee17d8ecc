//! The history as it is recorded: each event appended and flushed the moment it happens.

use crate::StoreError;
use checker::{Event, EventType, Process};
use serde_json::Value;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

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
}

/// Appends history events to `history.jsonl`, numbering and timing them.
///
/// Every event is flushed before `record` returns, so a run that crashes leaves a history that
/// can still be checked (its open invocations count as indeterminate).
pub struct HistoryLog {
    out: BufWriter<File>,
    path: PathBuf,
    start: Instant,
    next_index: u64,
    line: Vec<u8>,
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
            out: BufWriter::new(file),
            path: path.to_path_buf(),
            start: Instant::now(),
            next_index: 0,
            line: Vec::with_capacity(256),
        })
    }

    /// The instant the run's clock counts from.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Moves time 0 to now: a run creates its history before starting the cluster (so that
    /// even a run whose cluster never starts has one) and starts the clock with the workload.
    /// Ignored once an event is recorded, since times must never run backwards.
    pub fn start_clock(&mut self) {
        if self.next_index == 0 {
            self.start = Instant::now();
        }
    }

    /// Records one event now (numbered and timed here) and returns it as written.
    pub fn record(&mut self, entry: Entry) -> Result<Event, StoreError> {
        let event = Event {
            index: self.next_index,
            time: self.start.elapsed().as_nanos() as u64,
            process: entry.process,
            kind: entry.kind,
            f: entry.f,
            key: entry.key,
            value: entry.value,
            error: entry.error,
        };
        self.append(&event)?;
        self.next_index += 1;
        Ok(event)
    }

    fn append(&mut self, event: &Event) -> Result<(), StoreError> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, event).expect("an event always serialises");
        self.line.push(b'\n');
        self.out
            .write_all(&self.line)
            .and_then(|_| self.out.flush())
            .map_err(|e| StoreError::io(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_is_on_disk_when_record_returns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        let mut log = HistoryLog::create(&path).unwrap();
        log.record(Entry {
            process: Process::Client(0),
            kind: EventType::Invoke,
            f: "write".into(),
            key: Some("k".into()),
            value: 3.into(),
            error: None,
        })
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 1);
        let back: Event = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(back.index, 0);
        assert_eq!(back.f, "write");
        assert_eq!(back.value, Value::from(3));
        log.record(Entry {
            process: Process::Client(0),
            kind: EventType::Ok,
            f: "write".into(),
            key: Some("k".into()),
            value: 3.into(),
            error: None,
        })
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let second: Event = serde_json::from_str(text.lines().nth(1).unwrap()).unwrap();
        assert_eq!(second.index, 1);
        assert!(second.time >= back.time);
    }

    #[test]
    fn the_clock_starts_over_only_before_the_first_event() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = HistoryLog::create(&dir.path().join("history.jsonl")).unwrap();
        assert!(
            dir.path().join("history.jsonl").is_file(),
            "exists from creation"
        );
        let created = log.start();
        std::thread::sleep(std::time::Duration::from_millis(5));
        log.start_clock();
        let started = log.start();
        assert!(started > created);
        let entry = Entry {
            process: Process::Nemesis,
            kind: EventType::Info,
            f: "pause".into(),
            key: None,
            value: Value::Null,
            error: None,
        };
        log.record(entry).unwrap();
        log.start_clock();
        assert_eq!(log.start(), started, "times never run backwards");
    }

    #[test]
    fn full_disk_is_an_error_naming_the_file() {
        // /dev/full accepts opens and fails every write with ENOSPC.
        let mut log = HistoryLog::create(Path::new("/dev/full")).unwrap();
        let err = log
            .record(Entry {
                process: Process::Nemesis,
                kind: EventType::Info,
                f: "pause".into(),
                key: None,
                value: Value::Null,
                error: None,
            })
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("/dev/full") && msg.contains("No space"),
            "{msg}"
        );
    }
}
