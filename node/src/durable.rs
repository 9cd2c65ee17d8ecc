//! The node's append-only log on disk (`--log FILE`): every write it applies, in offset order,
//! so that a restarted node comes back with its data instead of empty.
//!
//! The records are the replication stream's own messages (see [`crate::replication`]): a
//! `SNAPSHOT` with its `KV`s and `SKV`s (strings and sets) where a full resync replaced the data,
//! then a `WRITE` per write (`SET`, `SADD`, `DEL`, `FLUSHALL`). A
//! restart replays them; a record cut short by a crash mid-write ends the replay (what came
//! before it stands) and is cut off the file.
//!
//! How much a kill -9 may take with it is the fsync policy's promise (`--fsync`):
//! - `always`: each write is in the file and fsynced before the client hears "OK": nothing.
//! - `every-second`: written and fsynced once a second: up to a second of acknowledged writes.
//! - `never`: kept in the process's buffer until it fills: whatever the buffer held.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write as _};
use std::path::{Path, PathBuf};

use bytes::BytesMut;
use clap::ValueEnum;
use redis_protocol::resp2::decode::decode_bytes_mut;
use tracing::warn;

use crate::replication::Message;
use crate::snapshot::Snapshot;
use crate::write::Write;

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

/// The size of the buffer `never` keeps writes in.
const BUFFER: usize = 64 * 1024;

/// An open log, appended to as writes are applied.
pub struct DurableLog {
    path: PathBuf,
    out: BufWriter<File>,
    fsync: Fsync,
}

impl DurableLog {
    /// Opens the log at `path` (made if missing) and replays it: the data and offset it holds.
    pub fn open(path: &Path, fsync: Fsync) -> io::Result<(DurableLog, Snapshot)> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let (snapshot, valid) = replay(&bytes);
        if valid < bytes.len() {
            warn!(
                "{}: {} bytes after offset {} are not a whole record (cut off by a crash?): dropped",
                path.display(),
                bytes.len() - valid,
                snapshot.offset
            );
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        file.set_len(valid as u64)?;
        let log = DurableLog {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(BUFFER, file),
            fsync,
        };
        Ok((log, snapshot))
    }

    /// Appends the write applied at `offset`; under `always`, returns once it is on disk.
    pub fn append(&mut self, offset: u64, write: &Write) -> io::Result<()> {
        let mut record = BytesMut::new();
        Message::Write(offset, write.clone()).encode(&mut record);
        self.out.write_all(&record)?;
        if self.fsync == Fsync::Always {
            self.sync()?;
        }
        Ok(())
    }

    /// Replaces the whole log with `snapshot` (a replica's full resync), on disk before it returns.
    pub fn rewrite(&mut self, snapshot: &Snapshot) -> io::Result<()> {
        let mut records = BytesMut::new();
        let keys = snapshot.data.len();
        Message::Snapshot {
            offset: snapshot.offset,
            keys,
        }
        .encode(&mut records);
        for (key, value) in &snapshot.data {
            Message::Kv(key.clone(), value.clone()).encode(&mut records);
        }
        let fresh = self.path.with_extension("rewrite");
        std::fs::write(&fresh, &records)?;
        File::open(&fresh)?.sync_all()?;
        std::fs::rename(&fresh, &self.path)?;
        let file = OpenOptions::new().append(true).open(&self.path)?;
        self.out = BufWriter::with_capacity(BUFFER, file);
        Ok(())
    }

    /// Writes out the buffer and fsyncs: `every-second`'s tick.
    pub fn sync(&mut self) -> io::Result<()> {
        self.out.flush()?;
        self.out.get_ref().sync_data()
    }
}

/// The state the records in `bytes` build, and how many bytes of whole records there were.
fn replay(bytes: &[u8]) -> (Snapshot, usize) {
    let mut snapshot = Snapshot::default();
    let mut rest = BytesMut::from(bytes);
    let mut valid = 0;
    let mut kvs_due = 0usize;
    loop {
        let Ok(Some((frame, _, _))) = decode_bytes_mut(&mut rest) else {
            break;
        };
        let Ok(message) = Message::decode(frame) else {
            break;
        };
        match message {
            Message::Snapshot { offset, keys } => {
                snapshot = Snapshot {
                    offset,
                    data: Default::default(),
                };
                kvs_due = keys;
            }
            Message::Kv(key, value) if kvs_due > 0 => {
                snapshot.data.insert(key, value);
                kvs_due -= 1;
            }
            Message::Write(offset, write) if kvs_due == 0 && offset == snapshot.offset + 1 => {
                write.apply(&mut snapshot.data);
                snapshot.offset = offset;
            }
            // Out of order: something that is not this node's log; keep what came before.
            _ => break,
        }
        // A snapshot counts only once its last key is in.
        if kvs_due == 0 {
            valid = bytes.len() - rest.len();
        }
    }
    (snapshot, valid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;
    use bytes::Bytes;

    fn set(k: &'static str, v: &'static str) -> Write {
        Write::Set {
            key: Bytes::from_static(k.as_bytes()),
            value: Bytes::from_static(v.as_bytes()),
        }
    }

    fn sadd(k: &'static str, members: &[&'static str]) -> Write {
        Write::SAdd {
            key: Bytes::from_static(k.as_bytes()),
            members: members
                .iter()
                .map(|m| Bytes::from_static(m.as_bytes()))
                .collect(),
        }
    }

    fn string(v: &'static str) -> Value {
        Value::String(Bytes::from_static(v.as_bytes()))
    }

    fn members(ms: &[&'static str]) -> Value {
        Value::Set(
            ms.iter()
                .map(|m| Bytes::from_static(m.as_bytes()))
                .collect(),
        )
    }

    #[test]
    fn a_reopened_log_holds_every_write_and_the_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.aof");
        let (mut log, empty) = DurableLog::open(&path, Fsync::Always).unwrap();
        assert_eq!((empty.offset, empty.data.len()), (0, 0));
        log.append(1, &set("a", "1")).unwrap();
        log.append(2, &set("b", "2")).unwrap();
        log.append(3, &Write::Del(vec![Bytes::from_static(b"a")]))
            .unwrap();
        drop(log);
        let (_, back) = DurableLog::open(&path, Fsync::Always).unwrap();
        assert_eq!(back.offset, 3);
        assert_eq!(back.data.len(), 1);
        assert_eq!(back.data[&Bytes::from_static(b"b")], string("2"));
    }

    #[test]
    fn a_record_cut_short_is_dropped_and_what_came_before_stands() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.aof");
        let (mut log, _) = DurableLog::open(&path, Fsync::Always).unwrap();
        log.append(1, &set("a", "1")).unwrap();
        log.append(2, &set("a", "2")).unwrap();
        drop(log);
        let whole = std::fs::read(&path).unwrap();
        std::fs::write(&path, &whole[..whole.len() - 3]).unwrap();
        let (mut log, back) = DurableLog::open(&path, Fsync::Always).unwrap();
        assert_eq!(back.offset, 1);
        assert_eq!(back.data[&Bytes::from_static(b"a")], string("1"));
        // The torn tail is gone from the file, so the next write follows the last whole one.
        log.append(2, &set("a", "3")).unwrap();
        drop(log);
        let (_, again) = DurableLog::open(&path, Fsync::Always).unwrap();
        assert_eq!(again.offset, 2);
        assert_eq!(again.data[&Bytes::from_static(b"a")], string("3"));
    }

    #[test]
    fn a_rewrite_starts_the_log_over_from_a_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.aof");
        let (mut log, _) = DurableLog::open(&path, Fsync::EverySecond).unwrap();
        log.append(1, &set("old", "x")).unwrap();
        let mut snapshot = Snapshot {
            offset: 40,
            ..Snapshot::default()
        };
        snapshot.data.insert(Bytes::from_static(b"k"), string("v"));
        log.rewrite(&snapshot).unwrap();
        log.append(41, &set("k", "w")).unwrap();
        log.sync().unwrap();
        drop(log);
        let (_, back) = DurableLog::open(&path, Fsync::Never).unwrap();
        assert_eq!(back.offset, 41);
        assert_eq!(back.data.len(), 1, "the old key went with the rewrite");
        assert_eq!(back.data[&Bytes::from_static(b"k")], string("w"));
    }

    #[test]
    fn sets_come_back_from_writes_and_from_a_rewrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.aof");
        let (mut log, _) = DurableLog::open(&path, Fsync::Always).unwrap();
        log.append(1, &sadd("s", &["1", "2"])).unwrap();
        log.append(2, &set("k", "v")).unwrap();
        log.append(3, &sadd("s", &["3"])).unwrap();
        drop(log);
        let (mut log, back) = DurableLog::open(&path, Fsync::Always).unwrap();
        assert_eq!(back.offset, 3);
        assert_eq!(
            back.data[&Bytes::from_static(b"s")],
            members(&["1", "2", "3"])
        );
        // A full resync's snapshot holds sets as SKV records; they replay as sets.
        log.rewrite(&back).unwrap();
        log.append(4, &sadd("t", &["x"])).unwrap();
        drop(log);
        let (_, again) = DurableLog::open(&path, Fsync::Always).unwrap();
        assert_eq!(again.offset, 4);
        assert_eq!(again.data.len(), 3);
        assert_eq!(
            again.data[&Bytes::from_static(b"s")],
            members(&["1", "2", "3"])
        );
        assert_eq!(again.data[&Bytes::from_static(b"t")], members(&["x"]));
        assert_eq!(again.data[&Bytes::from_static(b"k")], string("v"));
    }

    #[test]
    fn never_keeps_writes_in_the_process_until_its_buffer_fills() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.aof");
        let (mut log, _) = DurableLog::open(&path, Fsync::Never).unwrap();
        log.append(1, &set("a", "1")).unwrap();
        // What a kill -9 would leave: the file as it is now.
        assert_eq!(std::fs::read(&path).unwrap().len(), 0);
        let (_, seen) = DurableLog::open(&path, Fsync::Never).unwrap();
        assert_eq!(seen.offset, 0, "the write died with the process's buffer");
        std::mem::forget(log);
    }
}
