//! The async design's append-only log on disk (`--log FILE`): every write the node applies, in
//! offset order, so that a restarted node comes back with its data instead of empty.
//!
//! The records are the replication stream's own messages (see [`crate::replication`]): a
//! `SNAPSHOT` with its `KV`s and `SKV`s (strings and sets) where a full resync replaced the data,
//! then a `WRITE` per write (`SET`, `SADD`, `DEL`, `FLUSHALL`). The file itself — framing, the
//! replay that stops at a torn record, the fsync policy's promise — is a [`RecordLog`].

use std::io;
use std::path::Path;

use crate::record_log::{Fsync, RecordLog, Replayed};
use crate::replication::Message;
use crate::reply::Reply;
use crate::snapshot::Snapshot;
use crate::write::Write;

/// An open log, appended to as writes are applied.
pub struct DurableLog {
    log: RecordLog,
}

impl DurableLog {
    /// Opens the log at `path` (made if missing) and replays it: the data and offset it holds.
    pub fn open(path: &Path, fsync: Fsync) -> io::Result<(DurableLog, Snapshot)> {
        let mut replay = Replay::default();
        let log = RecordLog::open(path, fsync, |record| replay.take(record))?;
        Ok((DurableLog { log }, replay.snapshot))
    }

    /// Appends the write applied at `offset`; under `always`, returns once it is on disk.
    pub fn append(&mut self, offset: u64, write: &Write) -> io::Result<()> {
        self.log
            .append(&Message::Write(offset, write.clone()).to_reply())
    }

    /// Replaces the whole log with `snapshot` (a replica's full resync), on disk before it returns.
    pub fn rewrite(&mut self, snapshot: &Snapshot) -> io::Result<()> {
        let head = Message::Snapshot {
            offset: snapshot.offset,
            keys: snapshot.data.len(),
        };
        let kvs = snapshot
            .data
            .iter()
            .map(|(key, value)| Message::Kv(key.clone(), value.clone()));
        self.log
            .rewrite(std::iter::once(head).chain(kvs).map(|m| m.to_reply()))
    }

    /// Writes out the buffer and fsyncs: `every-second`'s tick.
    pub fn sync(&mut self) -> io::Result<()> {
        self.log.sync()
    }
}

/// The state the records replayed so far build.
#[derive(Default)]
struct Replay {
    snapshot: Snapshot,
    /// The keys of the last snapshot still to come.
    kvs_due: usize,
}

impl Replay {
    fn take(&mut self, record: Reply) -> Replayed {
        let Ok(message) = Message::decode(record) else {
            return Replayed::Foreign;
        };
        match message {
            Message::Snapshot { offset, keys } => {
                self.snapshot = Snapshot {
                    offset,
                    data: Default::default(),
                };
                self.kvs_due = keys;
            }
            Message::Kv(key, value) if self.kvs_due > 0 => {
                self.snapshot.data.insert(key, value);
                self.kvs_due -= 1;
            }
            Message::Write(offset, write)
                if self.kvs_due == 0 && offset == self.snapshot.offset + 1 =>
            {
                write.apply(&mut self.snapshot.data);
                self.snapshot.offset = offset;
            }
            // Out of order: something that is not this node's log; keep what came before.
            _ => return Replayed::Foreign,
        }
        // A snapshot counts only once its last key is in.
        match self.kvs_due {
            0 => Replayed::Whole,
            _ => Replayed::Partial,
        }
    }
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
}
