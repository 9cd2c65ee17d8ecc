//! An append-only file of records, replayed at start: what every design's log on disk is made
//! of. A record is a RESP2 array of bulk strings, the node's own wire framing; what the records
//! say is their owner's business (`durable`: async's replication messages; `quorum::versioned`
//! and `gossip`: the values a leaderless replica took in).
//!
//! Opening a log hands each whole record, in file order, to its owner. A record cut short by a
//! crash mid-write — or one its owner does not recognise — ends the replay: what came before it
//! stands, and it and everything after are cut off the file, so the next record appended follows
//! the last whole one.
//!
//! How much a kill -9 may take with it is the fsync policy's promise (`--fsync`):
//! - `always`: each record is in the file and fsynced before `append` returns, so before the
//!   node acknowledges what it records: nothing.
//! - `every-second`: written and fsynced once a second (the node's tick calls [`RecordLog::sync`]):
//!   up to a second of acknowledged records.
//! - `never`: kept in the process's buffer until it fills: whatever the buffer held.

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use bytes::BytesMut;
use clap::ValueEnum;
use redis_protocol::resp2::decode::decode_bytes_mut;
use tracing::warn;

use crate::reply::{self, Reply};

/// A write the node's log on disk refused (disk full, say): the write was not applied.
#[derive(Debug, thiserror::Error)]
#[error("the node's log cannot be written: {0}")]
pub struct LogFailed(#[from] pub std::io::Error);

impl LogFailed {
    /// The error a client hears for a write its node could not log: it was not applied.
    pub fn reply(&self) -> crate::reply::Reply {
        crate::reply::error(format!("ERR {self}"))
    }
}

/// When the log reaches the disk (`--fsync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Fsync {
    /// Before every write is acknowledged.
    Always,
    /// Once a second, in the background.
    EverySecond,
    /// Never by the node: writes wait in its buffer until it fills.
    Never,
}

/// The size of the buffer `never` keeps records in.
const BUFFER: usize = 64 * 1024;

/// What a log's owner made of one replayed record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replayed {
    /// Taken: the log is whole up to the end of this record.
    Whole,
    /// Taken, but one of a group that counts only once its last record is in (a snapshot and
    /// its keys): the log is whole only up to the group's start until then.
    Partial,
    /// Not a record of this log: the replay ends before it.
    Foreign,
}

/// An open log, appended to as its owner changes what it holds.
pub struct RecordLog {
    path: PathBuf,
    file: File,
    /// Records appended but not yet written to the file (`never`, `every-second`).
    pending: BytesMut,
    /// The file's length up to its last whole record written: where a failed write is cut back to.
    whole: u64,
    fsync: Fsync,
}

impl RecordLog {
    /// Opens the log at `path` (made if missing), handing every whole record in it to `take`
    /// in order; a torn or foreign tail is cut off the file.
    pub fn open(
        path: &Path,
        fsync: Fsync,
        mut take: impl FnMut(Reply) -> Replayed,
    ) -> io::Result<RecordLog> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let mut rest = BytesMut::from(&bytes[..]);
        let mut whole = 0;
        while let Ok(Some((frame, _, _))) = decode_bytes_mut(&mut rest) {
            match take(frame) {
                Replayed::Whole => whole = bytes.len() - rest.len(),
                Replayed::Partial => {}
                Replayed::Foreign => break,
            }
        }
        if whole < bytes.len() {
            warn!(
                "{}: the last {} bytes are not whole records of this log (cut off by a crash?): \
                 dropped",
                path.display(),
                bytes.len() - whole
            );
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        file.set_len(whole as u64)?;
        Ok(RecordLog {
            path: path.to_path_buf(),
            file,
            pending: BytesMut::new(),
            whole: whole as u64,
            fsync,
        })
    }

    /// Appends `record`; under `always`, returns once it is on disk. An error means the record
    /// is not in the log and never will be (see [`RecordLog::write_out`]).
    pub fn append(&mut self, record: &Reply) -> io::Result<()> {
        reply::encode(record, &mut self.pending);
        match self.fsync {
            Fsync::Always => self.write_out(true),
            _ if self.pending.len() >= BUFFER => self.write_out(false),
            _ => Ok(()),
        }
    }

    /// Writes the pending records to the file, fsynced if `sync`. On failure the file is cut
    /// back to its last whole record and the pending records are dropped: a record whose write
    /// failed was refused to its client, so it must not reach the file later with the next
    /// write, nor stand half-written before the records that follow.
    fn write_out(&mut self, sync: bool) -> io::Result<()> {
        let written = self.file.write_all(&self.pending).and_then(|()| {
            if sync {
                self.file.sync_data()
            } else {
                Ok(())
            }
        });
        match written {
            Ok(()) => self.whole += self.pending.len() as u64,
            Err(_) => {
                // Best effort: a file that cannot be cut is cut at the next open's replay.
                let _ = self.file.set_len(self.whole);
            }
        }
        self.pending.clear();
        written
    }

    /// Replaces the whole log with `records`, on disk before it returns: written beside it,
    /// fsynced, then renamed over it, so a crash leaves the old log or the new one whole.
    pub fn rewrite(&mut self, records: impl IntoIterator<Item = Reply>) -> io::Result<()> {
        let mut bytes = BytesMut::new();
        for record in records {
            reply::encode(&record, &mut bytes);
        }
        let fresh = self.path.with_extension("rewrite");
        std::fs::write(&fresh, &bytes)?;
        File::open(&fresh)?.sync_all()?;
        std::fs::rename(&fresh, &self.path)?;
        // The rename is the directory's to keep: without this a crash may bring the old log back.
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir)?.sync_all()?;
        }
        self.file = OpenOptions::new().append(true).open(&self.path)?;
        self.whole = bytes.len() as u64;
        // The records still pending are in the state the new log was written from.
        self.pending.clear();
        Ok(())
    }

    /// Writes out the pending records and fsyncs: `every-second`'s tick.
    pub fn sync(&mut self) -> io::Result<()> {
        self.write_out(true)
    }
}

impl Drop for RecordLog {
    /// A log closed in order keeps what it was given (a kill -9 runs no drop).
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            let _ = self.write_out(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record in the log at `path`, as its words, until a torn or foreign one.
    fn reopen(path: &Path) -> (RecordLog, Vec<Vec<String>>) {
        let mut seen = Vec::new();
        let log = RecordLog::open(path, Fsync::Always, |record| match reply::words(&record) {
            Some(words) if words.first().is_some_and(|w| w.as_ref() != b"FOREIGN") => {
                seen.push(
                    words
                        .iter()
                        .map(|w| String::from_utf8_lossy(w).into_owned())
                        .collect(),
                );
                Replayed::Whole
            }
            _ => Replayed::Foreign,
        })
        .unwrap();
        (log, seen)
    }

    #[test]
    fn records_come_back_in_order_and_a_torn_tail_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.log");
        let (mut log, none) = reopen(&path);
        assert!(none.is_empty());
        log.append(&reply::bulks(["A", "1"])).unwrap();
        log.append(&reply::bulks(["B", "\r\n"])).unwrap();
        drop(log);
        let whole = std::fs::read(&path).unwrap();
        std::fs::write(&path, &whole[..whole.len() - 2]).unwrap();
        let (mut log, back) = reopen(&path);
        assert_eq!(back, [["A", "1"]], "the torn second record is dropped");
        log.append(&reply::bulks(["C"])).unwrap();
        drop(log);
        let (_, again) = reopen(&path);
        assert_eq!(again, [vec!["A", "1"], vec!["C"]]);
    }

    #[test]
    fn a_foreign_record_ends_the_replay_and_what_follows_goes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.log");
        let (mut log, _) = reopen(&path);
        log.append(&reply::bulks(["A"])).unwrap();
        log.append(&reply::bulks(["FOREIGN"])).unwrap();
        log.append(&reply::bulks(["B"])).unwrap();
        drop(log);
        let (_, back) = reopen(&path);
        assert_eq!(back, [["A"]]);
        let (_, again) = reopen(&path);
        assert_eq!(again, [["A"]], "the file was cut after A");
    }

    #[test]
    fn a_group_counts_only_once_its_last_record_is_in() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.log");
        let (mut log, _) = reopen(&path);
        log.append(&reply::bulks(["A"])).unwrap();
        log.append(&reply::bulks(["G"])).unwrap();
        drop(log);
        let len = std::fs::read(&path).unwrap().len();
        // G opens a group of two records; only one is in the file.
        let log = RecordLog::open(&path, Fsync::Always, |record| {
            match reply::words(&record).unwrap()[0].as_ref() {
                b"G" => Replayed::Partial,
                _ => Replayed::Whole,
            }
        })
        .unwrap();
        drop(log);
        assert!(std::fs::read(&path).unwrap().len() < len, "G was cut off");
        assert_eq!(reopen(&path).1, [["A"]]);
    }

    /// A record whose write failed is refused: it is not written later with the next one.
    #[test]
    fn a_record_whose_write_failed_never_reaches_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.log");
        let (mut log, _) = reopen(&path);
        log.append(&reply::bulks(["A"])).unwrap();
        // A read-only handle: the next write fails, as on a full disk.
        let writable = std::mem::replace(&mut log.file, File::open(&path).unwrap());
        assert!(log.append(&reply::bulks(["B"])).is_err());
        log.file = writable;
        log.append(&reply::bulks(["C"])).unwrap();
        drop(log);
        assert_eq!(reopen(&path).1, [["A"], ["C"]]);
    }

    #[test]
    fn never_keeps_records_in_the_process_until_its_buffer_fills() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.log");
        let mut log = RecordLog::open(&path, Fsync::Never, |_| Replayed::Whole).unwrap();
        log.append(&reply::bulks(["A"])).unwrap();
        // What a kill -9 would leave: the file as it is now.
        assert_eq!(std::fs::read(&path).unwrap().len(), 0);
        log.sync().unwrap();
        assert!(
            !std::fs::read(&path).unwrap().is_empty(),
            "sync wrote it out"
        );
        log.append(&reply::bulks(["B"])).unwrap();
        std::mem::forget(log);
        assert_eq!(reopen(&path).1, [["A"]]);
    }
}
