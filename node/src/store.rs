//! The data (strings and sets under keys), its replication offset and the feed of writes, behind one mutex.
//!
//! Applying a write, numbering it and publishing it to the feed happen under the same lock, so the
//! stream every replica sees is exactly the order the primary applied writes in, and a snapshot
//! taken together with a feed subscription misses nothing and repeats nothing.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::durable::DurableLog;
use crate::record_log::LogFailed;
use crate::snapshot::Snapshot;
use crate::value::{Value, WrongType};
use crate::write::Write;

/// Writes a replica link may fall behind the feed before it is cut (and the replica resyncs).
const FEED_CAPACITY: usize = 16 * 1024;

/// A write with its place in the replication stream.
#[derive(Debug)]
pub struct Entry {
    /// The offset after this write: the first write of a fresh primary is offset 1.
    pub offset: u64,
    /// When the primary applied the write, which is when it acknowledged it to the client.
    pub acked_at: Instant,
    /// The change itself.
    pub write: Write,
}

/// A replicated write that did not follow the replica's offset: the stream lost or repeated something.
#[derive(Debug, thiserror::Error)]
#[error("replication stream out of order: at offset {have}, received write for offset {got}")]
pub struct OffsetGap {
    /// The replica's offset when the write arrived.
    pub have: u64,
    /// The offset the write carried.
    pub got: u64,
}

/// Why a client's command against a key was refused; either way nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// The key holds the other kind of value.
    #[error(transparent)]
    WrongType(#[from] WrongType),
    /// The node's log refused the write.
    #[error(transparent)]
    Log(#[from] LogFailed),
}

/// Why a replicated write was not applied; either way the link is cut and the replica resyncs.
#[derive(Debug, thiserror::Error)]
pub enum NotApplied {
    /// It did not follow the replica's offset.
    #[error(transparent)]
    Gap(#[from] OffsetGap),
    /// The replica's log refused it.
    #[error(transparent)]
    Log(#[from] LogFailed),
}

/// The node's data; shared by every connection.
pub struct Store {
    inner: Mutex<Inner>,
}

struct Inner {
    snapshot: Snapshot,
    feed: broadcast::Sender<Arc<Entry>>,
    /// The log on disk, with `--log`; every applied write goes to it first.
    log: Option<DurableLog>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// An empty store at offset 0, in memory only.
    pub fn new() -> Self {
        Store::with(Snapshot::default(), None)
    }

    /// A store that logs every write to `log`, starting from what the log held.
    pub fn durable(log: DurableLog, recovered: Snapshot) -> Self {
        Store::with(recovered, Some(log))
    }

    fn with(snapshot: Snapshot, log: Option<DurableLog>) -> Self {
        let (feed, _) = broadcast::channel(FEED_CAPACITY);
        Store {
            inner: Mutex::new(Inner {
                snapshot,
                feed,
                log,
            }),
        }
    }

    /// Writes out and fsyncs the log, if there is one (`--fsync every-second`'s tick).
    pub fn sync_log(&self) -> Result<(), LogFailed> {
        match &mut self.lock().log {
            Some(log) => Ok(log.sync()?),
            None => Ok(()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics while holding the lock, and the data stays consistent if something did.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The string under `key`; [`WrongType`] if it holds a set.
    pub fn get(&self, key: &[u8]) -> Result<Option<Bytes>, WrongType> {
        let inner = self.lock();
        inner
            .snapshot
            .data
            .get(key)
            .map(|v| v.string().cloned())
            .transpose()
    }

    /// The members of the set under `key`, in order (none for a missing key); [`WrongType`] if
    /// it holds a string.
    pub fn members(&self, key: &[u8]) -> Result<Vec<Bytes>, WrongType> {
        let inner = self.lock();
        match inner.snapshot.data.get(key) {
            None => Ok(Vec::new()),
            Some(value) => Ok(value.set()?.iter().cloned().collect()),
        }
    }

    /// How many keys are stored.
    pub fn len(&self) -> usize {
        self.lock().snapshot.data.len()
    }

    /// The offset of the last write applied.
    pub fn offset(&self) -> u64 {
        self.lock().snapshot.offset
    }

    /// Stores `value` under `key`.
    pub fn set(&self, key: Bytes, value: Bytes) -> Result<(), LogFailed> {
        self.lock().commit(Write::Set { key, value }).map(drop)
    }

    /// Removes `keys`; returns how many existed.
    pub fn del(&self, keys: Vec<Bytes>) -> Result<usize, LogFailed> {
        self.lock().commit(Write::Del(keys))
    }

    /// Removes every key.
    pub fn flush_all(&self) -> Result<(), LogFailed> {
        self.lock().commit(Write::FlushAll).map(drop)
    }

    /// Swaps `key` to `new` if its string is byte-equal to `expected`; a missing key never matches;
    /// [`WrongType`] if it holds a set.
    pub fn cas(&self, key: Bytes, expected: &[u8], new: Bytes) -> Result<bool, Refused> {
        let mut inner = self.lock();
        let current = inner
            .snapshot
            .data
            .get(&key)
            .map(Value::string)
            .transpose()?;
        if current.map(Bytes::as_ref) != Some(expected) {
            return Ok(false);
        }
        inner.commit(Write::Set { key, value: new })?;
        Ok(true)
    }

    /// Adds `delta` to the integer under `key` (a missing key counts from 0) and returns the sum;
    /// the stream carries the sum as a `Set`. `None` if the value is not an integer or the sum
    /// overflows, as Redis refuses those; [`WrongType`] if the key holds a set.
    pub fn incr_by(&self, key: Bytes, delta: i64) -> Result<Option<i64>, Refused> {
        let mut inner = self.lock();
        let current = match inner
            .snapshot
            .data
            .get(&key)
            .map(Value::string)
            .transpose()?
        {
            None => Some(0),
            Some(v) => std::str::from_utf8(v)
                .ok()
                .and_then(|v| v.parse::<i64>().ok()),
        };
        let Some(sum) = current.and_then(|c| c.checked_add(delta)) else {
            return Ok(None);
        };
        inner.commit(Write::Set {
            key,
            value: Bytes::from(sum.to_string()),
        })?;
        Ok(Some(sum))
    }

    /// Adds `members` to the set under `key` (made if missing); returns how many were not in it
    /// yet. Only those travel on the stream, and an SADD that added none writes nothing.
    /// [`WrongType`] if the key holds a string.
    pub fn sadd(&self, key: Bytes, members: Vec<Bytes>) -> Result<usize, Refused> {
        let mut inner = self.lock();
        let held = match inner.snapshot.data.get(&key) {
            None => None,
            Some(value) => Some(value.set()?),
        };
        let mut fresh: Vec<Bytes> = members
            .into_iter()
            .filter(|m| !held.is_some_and(|set| set.contains(m)))
            .collect();
        // `SADD k a a` adds one member, as in Redis.
        fresh.sort();
        fresh.dedup();
        if fresh.is_empty() {
            return Ok(0);
        }
        let added = fresh.len();
        inner.commit(Write::SAdd {
            key,
            members: fresh,
        })?;
        Ok(added)
    }

    /// A copy of the data and a feed of every write after it, taken atomically.
    pub fn subscribe(&self) -> (Snapshot, broadcast::Receiver<Arc<Entry>>) {
        let inner = self.lock();
        let snapshot = Snapshot {
            offset: inner.snapshot.offset,
            data: inner.snapshot.data.clone(),
        };
        (snapshot, inner.feed.subscribe())
    }

    /// Replaces all data and the offset with a primary's snapshot (a replica's full resync),
    /// and the log with it.
    pub fn load(&self, snapshot: Snapshot) -> Result<(), LogFailed> {
        let mut inner = self.lock();
        if let Some(log) = &mut inner.log {
            log.rewrite(&snapshot)?;
        }
        inner.snapshot = snapshot;
        Ok(())
    }

    /// Applies a write from the primary's stream, which must be the next one after ours.
    pub fn apply_replicated(&self, offset: u64, write: &Write) -> Result<(), NotApplied> {
        let mut inner = self.lock();
        let have = inner.snapshot.offset;
        if offset != have + 1 {
            return Err(OffsetGap { have, got: offset }.into());
        }
        if let Some(log) = &mut inner.log {
            log.append(offset, write).map_err(LogFailed)?;
        }
        write.apply(&mut inner.snapshot.data);
        inner.snapshot.offset = offset;
        Ok(())
    }
}

impl Inner {
    /// Applies a client's write and, if it changed anything, logs it, numbers it and publishes
    /// it. Returns how many keys it removed. A write the log refuses is not applied.
    fn commit(&mut self, write: Write) -> Result<usize, LogFailed> {
        if let Write::Del(keys) = &write {
            if !keys.iter().any(|k| self.snapshot.data.contains_key(k)) {
                return Ok(0);
            }
        }
        if let Some(log) = &mut self.log {
            log.append(self.snapshot.offset + 1, &write)?;
        }
        let removed = write.apply(&mut self.snapshot.data);
        self.snapshot.offset += 1;
        let entry = Entry {
            offset: self.snapshot.offset,
            acked_at: Instant::now(),
            write,
        };
        // An error only means no replica is listening right now.
        let _ = self.feed.send(Arc::new(entry));
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn b(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    #[test]
    fn cas_swaps_only_on_byte_equal_value() {
        let store = Store::new();
        assert!(
            !store.cas(b("k"), b"", b("x")).unwrap(),
            "missing key never matches"
        );
        store.set(b("k"), b("1")).unwrap();
        assert!(!store.cas(b("k"), b"2", b("3")).unwrap());
        assert!(store.cas(b("k"), b"1", b("3")).unwrap());
        assert_eq!(store.get(b"k").unwrap(), Some(b("3")));
        assert_eq!(store.offset(), 2, "one set and one successful cas");
    }

    #[test]
    fn incr_by_counts_from_zero_and_refuses_what_is_not_an_integer() {
        let store = Store::new();
        assert_eq!(store.incr_by(b("c"), 3).unwrap(), Some(3));
        assert_eq!(store.incr_by(b("c"), -5).unwrap(), Some(-2));
        assert_eq!(store.get(b"c").unwrap(), Some(b("-2")));
        store.set(b("s"), b("x")).unwrap();
        assert_eq!(store.incr_by(b("s"), 1).unwrap(), None);
        store
            .set(b("big"), Bytes::from(i64::MAX.to_string()))
            .unwrap();
        assert_eq!(store.incr_by(b("big"), 1).unwrap(), None);
        assert_eq!(
            store.offset(),
            4,
            "two sums and two sets; refusals write nothing"
        );
    }

    #[test]
    fn sadd_counts_new_members_and_streams_only_those() {
        let store = Store::new();
        let (_, mut feed) = store.subscribe();
        assert_eq!(store.sadd(b("s"), vec![b("2"), b("1"), b("2")]).unwrap(), 2);
        assert_eq!(store.sadd(b("s"), vec![b("1")]).unwrap(), 0);
        assert_eq!(store.sadd(b("s"), vec![b("1"), b("3")]).unwrap(), 1);
        assert_eq!(store.members(b"s").unwrap(), [b("1"), b("2"), b("3")]);
        assert_eq!(store.members(b"missing").unwrap(), Vec::<Bytes>::new());
        let streamed: Vec<Write> = std::iter::from_fn(|| feed.try_recv().ok())
            .map(|entry| entry.write.clone())
            .collect();
        let sadd = |members: &[&'static str]| Write::SAdd {
            key: b("s"),
            members: members.iter().map(|m| b(m)).collect(),
        };
        assert_eq!(streamed, [sadd(&["1", "2"]), sadd(&["3"])]);
        assert_eq!(
            store.offset(),
            2,
            "the SADD that added nothing wrote nothing"
        );
    }

    #[test]
    fn a_key_refuses_commands_for_the_other_kind() {
        let store = Store::new();
        store.set(b("str"), b("5")).unwrap();
        store.sadd(b("set"), vec![b("a")]).unwrap();
        fn wrong<T>(r: Result<T, Refused>) -> bool {
            matches!(r, Err(Refused::WrongType(WrongType)))
        }
        assert!(wrong(store.sadd(b("str"), vec![b("a")])));
        assert_eq!(store.members(b"str"), Err(WrongType));
        assert_eq!(store.get(b"set"), Err(WrongType));
        assert!(wrong(store.incr_by(b("set"), 1)));
        assert!(wrong(store.cas(b("set"), b"a", b("b"))));
        assert_eq!(store.offset(), 2, "refusals write nothing");
        // SET overwrites whatever a key holds, as in Redis; DEL and FLUSHALL remove sets too.
        store.set(b("set"), b("x")).unwrap();
        assert_eq!(store.get(b"set").unwrap(), Some(b("x")));
        store.sadd(b("other"), vec![b("a")]).unwrap();
        assert_eq!(store.del(vec![b("other")]).unwrap(), 1);
        store.sadd(b("other"), vec![b("a")]).unwrap();
        store.flush_all().unwrap();
        assert_eq!(store.len(), 0);
    }

    #[test]
    fn subscription_sees_exactly_the_writes_after_the_snapshot() {
        let store = Store::new();
        store.set(b("a"), b("1")).unwrap();
        let (snapshot, mut feed) = store.subscribe();
        assert_eq!(snapshot.offset, 1);
        assert_eq!(store.del(vec![b("missing")]).unwrap(), 0);
        store.set(b("a"), b("2")).unwrap();
        let entry = feed.try_recv().unwrap();
        assert_eq!(entry.offset, 2);
        assert_eq!(
            entry.write,
            Write::Set {
                key: b("a"),
                value: b("2")
            }
        );
        assert!(feed.try_recv().is_err(), "the no-op DEL was not streamed");
    }

    #[test]
    fn replicated_writes_must_follow_the_offset() {
        let store = Store::new();
        store
            .load(Snapshot {
                offset: 5,
                data: HashMap::from([(b("k"), Value::String(b("v")))]),
            })
            .unwrap();
        assert!(store.apply_replicated(7, &Write::FlushAll).is_err());
        store.apply_replicated(6, &Write::FlushAll).unwrap();
        assert_eq!((store.offset(), store.len()), (6, 0));
    }
}
