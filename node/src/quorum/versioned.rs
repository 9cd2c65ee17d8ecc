//! A replica's data in `--mode quorum`: every value carries the version it was written in, and a
//! replica keeps the newer of two versions — or, for sets, the union of both.
//!
//! A version is a counter and the name of the node that coordinated the write, compared in that
//! order, so two writes never tie. A coordinator picks its counter above the highest it read
//! from a read quorum, which is what makes a later write win over an earlier one it overlaps.
//!
//! With `--log`, a replica keeps every change in a [`RecordLog`], each record a `QSTORE` of what
//! the value brought: a string whole, for a set only the members it added (read repair sends a
//! set whole, so logging each `QSTORE` as it came would log the set again at every repair). It logs a change before it takes it in: under `--fsync always` nothing it acknowledged
//! (a peer's `QSTORE`, its own coordinator's store) is lost to a kill. A restart merges the
//! records back in order, which rebuilds the data and the clock.

use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use bytes::Bytes;

use crate::record_log::{Fsync, LogFailed, RecordLog, Replayed};
use crate::reply::{self, Reply};
use crate::value::Value;

/// When a value was written: compared by counter, then by the coordinating node's name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    /// Above every counter the coordinator read before writing.
    pub counter: u64,
    /// The coordinating node's name, breaking ties between coordinators.
    pub node: Bytes,
}

/// A value with its version, as replicas store and exchange it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// When it was written.
    pub version: Version,
    /// What was written.
    pub value: Value,
}

impl Versioned {
    /// Folds `other` into this one: the newer version wins, and two sets keep both their
    /// members (an add is never undone by a concurrent one). True if this one changed.
    pub fn merge(&mut self, other: Versioned) -> bool {
        let newer = other.version > self.version;
        match (&mut self.value, other.value) {
            (Value::Set(mine), Value::Set(theirs)) => {
                let before = mine.len();
                mine.extend(theirs);
                let grew = mine.len() > before;
                if newer {
                    self.version = other.version;
                }
                grew || newer
            }
            (_, value) if newer => {
                *self = Versioned {
                    version: other.version,
                    value,
                };
                true
            }
            _ => false,
        }
    }

    /// What merging `other` in would change, as a value that merged in instead changes this one
    /// the same way (for two sets, only the members this one lacks); `None` if nothing would.
    pub fn change(&self, other: &Versioned) -> Option<Versioned> {
        let newer = other.version > self.version;
        match (&self.value, &other.value) {
            (Value::Set(mine), Value::Set(theirs)) => {
                let added: std::collections::BTreeSet<Bytes> =
                    theirs.difference(mine).cloned().collect();
                match (added.is_empty(), newer) {
                    (true, false) => None,
                    // A newer version and nothing to add: one member it already holds carries the
                    // version (a set on the wire is never empty, so the record replays).
                    (true, true) => Some(Versioned {
                        version: other.version.clone(),
                        value: Value::Set(theirs.iter().take(1).cloned().collect()),
                    }),
                    (false, _) => Some(Versioned {
                        version: other.version.clone(),
                        value: Value::Set(added),
                    }),
                }
            }
            _ => newer.then(|| other.clone()),
        }
    }

    /// Its wire form, after the key: counter, node, `string` and the value, or `set` and the members.
    pub fn to_parts(&self) -> Vec<Bytes> {
        let mut parts = vec![
            Bytes::from(self.version.counter.to_string()),
            self.version.node.clone(),
        ];
        match &self.value {
            Value::String(s) => parts.extend([Bytes::from_static(b"string"), s.clone()]),
            Value::Set(members) => {
                parts.push(Bytes::from_static(b"set"));
                parts.extend(members.iter().cloned());
            }
        }
        parts
    }

    /// Reads [`Versioned::to_parts`]'s form back; `None` if it is not one.
    pub fn from_parts(parts: &[Bytes]) -> Option<Versioned> {
        let [counter, node, kind, rest @ ..] = parts else {
            return None;
        };
        let counter = std::str::from_utf8(counter).ok()?.parse().ok()?;
        let value = match (kind.as_ref(), rest) {
            (b"string", [s]) => Value::String(s.clone()),
            (b"set", members) if !members.is_empty() => {
                Value::Set(members.iter().cloned().collect())
            }
            _ => return None,
        };
        Some(Versioned {
            version: Version {
                counter,
                node: node.clone(),
            },
            value,
        })
    }

    /// The `QSTORE` request that stores it under `key`: what a coordinator sends its replicas,
    /// and what a replica's log records.
    pub fn qstore(&self, key: &Bytes) -> Reply {
        reply::bulks(
            [Bytes::from_static(b"QSTORE"), key.clone()]
                .into_iter()
                .chain(self.to_parts()),
        )
    }

    /// The reply carrying it (QFETCH's answer): an array of bulk strings.
    pub fn to_reply(&self) -> Reply {
        reply::bulks(self.to_parts())
    }

    /// Reads a QFETCH answer: nil for a key the replica lacks.
    pub fn from_reply(reply: &Reply) -> Result<Option<Versioned>, String> {
        match reply {
            Reply::Null => Ok(None),
            Reply::Array(items) => {
                let parts: Option<Vec<Bytes>> = items
                    .iter()
                    .map(|i| match i {
                        Reply::BulkString(b) => Some(b.clone()),
                        _ => None,
                    })
                    .collect();
                parts
                    .as_deref()
                    .and_then(Versioned::from_parts)
                    .map(Some)
                    .ok_or_else(|| format!("not a versioned value: {reply:?}"))
            }
            Reply::Error(e) => Err(e.to_string()),
            other => Err(format!("not a versioned value: {other:?}")),
        }
    }
}

/// This node's replica of the data, and the highest version counter it has seen.
#[derive(Default)]
pub struct Replica {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    data: HashMap<Bytes, Versioned>,
    clock: u64,
    /// The log on disk, with `--log`: every value that changed the data, logged before.
    log: Option<RecordLog>,
}

impl Inner {
    /// Merges `value` into what `key` holds; true if that changed.
    fn merge(&mut self, key: Bytes, value: Versioned) -> bool {
        self.clock = self.clock.max(value.version.counter);
        match self.data.get_mut(&key) {
            Some(held) => held.merge(value),
            None => {
                self.data.insert(key, value);
                true
            }
        }
    }
}

impl Replica {
    /// A replica that logs to `path` (made if missing), holding what the log held.
    pub fn durable(path: &Path, fsync: Fsync) -> io::Result<Replica> {
        let mut inner = Inner::default();
        let log = RecordLog::open(path, fsync, |record| {
            let words = reply::words(&record).unwrap_or_default();
            let [kind, key, parts @ ..] = &words[..] else {
                return Replayed::Foreign;
            };
            match Versioned::from_parts(parts) {
                Some(value) if kind.as_ref() == b"QSTORE" => {
                    inner.merge(key.clone(), value);
                    Replayed::Whole
                }
                _ => Replayed::Foreign,
            }
        })?;
        inner.log = Some(log);
        Ok(Replica {
            inner: Mutex::new(inner),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes out and fsyncs the log, if there is one (`--fsync every-second`'s tick).
    pub fn sync_log(&self) -> Result<(), LogFailed> {
        match &mut self.lock().log {
            Some(log) => Ok(log.sync()?),
            None => Ok(()),
        }
    }

    /// The value under `key`, with its version.
    pub fn fetch(&self, key: &[u8]) -> Option<Versioned> {
        self.lock().data.get(key).cloned()
    }

    /// Merges `value` into what `key` holds, its change logged first; true if that changed. A
    /// value the log refuses is not taken in (and must not be acknowledged).
    pub fn store(&self, key: Bytes, value: Versioned) -> Result<bool, LogFailed> {
        let mut inner = self.lock();
        if inner.log.is_none() {
            // Nothing to log: no change to work out either.
            return Ok(inner.merge(key, value));
        }
        let change = match inner.data.get(&key) {
            Some(held) => held.change(&value),
            None => Some(value),
        };
        let Some(change) = change else {
            return Ok(false);
        };
        if let Some(log) = &mut inner.log {
            log.append(&change.qstore(&key))?;
        }
        inner.merge(key, change);
        Ok(true)
    }

    /// A counter above every one this replica has seen and above `seen` (what a read quorum
    /// answered), for a new write it coordinates.
    pub fn next_counter(&self, seen: u64) -> u64 {
        let mut inner = self.lock();
        inner.clock = inner.clock.max(seen) + 1;
        inner.clock
    }

    /// How many keys it holds.
    pub fn len(&self) -> usize {
        self.lock().data.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn v(counter: u64, node: &'static str, value: Value) -> Versioned {
        Versioned {
            version: Version {
                counter,
                node: Bytes::from_static(node.as_bytes()),
            },
            value,
        }
    }

    fn s(text: &'static str) -> Value {
        Value::String(Bytes::from_static(text.as_bytes()))
    }

    fn set(members: &[&'static str]) -> Value {
        Value::Set(
            members
                .iter()
                .map(|m| Bytes::from_static(m.as_bytes()))
                .collect::<BTreeSet<_>>(),
        )
    }

    #[test]
    fn the_newer_version_wins_and_the_name_breaks_ties() {
        let mut held = v(3, "n2", s("a"));
        assert!(!held.merge(v(2, "n9", s("b"))), "older counter");
        assert!(!held.merge(v(3, "n1", s("b"))), "same counter, lower name");
        assert!(held.merge(v(3, "n3", s("c"))));
        assert_eq!(held.value, s("c"));
        assert!(
            held.merge(v(4, "n1", set(&["x"]))),
            "a newer set replaces a string"
        );
        assert_eq!(held.value, set(&["x"]));
    }

    #[test]
    fn sets_keep_every_member_whatever_the_versions() {
        let mut held = v(5, "n1", set(&["a", "b"]));
        assert!(
            held.merge(v(2, "n2", set(&["c"]))),
            "an older add still counts"
        );
        assert_eq!(held.value, set(&["a", "b", "c"]));
        assert_eq!(held.version.counter, 5);
        assert!(!held.merge(v(1, "n3", set(&["a"]))), "nothing new");
    }

    #[test]
    fn a_change_merged_in_is_the_value_merged_in() {
        let values = [
            v(3, "n2", s("a")),
            v(3, "n1", s("b")),
            v(4, "n1", set(&["x"])),
            v(2, "n2", set(&["x", "y"])),
            v(5, "n3", set(&["x"])),
            v(6, "n1", set(&["x", "z"])),
        ];
        for a in &values {
            for b in &values {
                let mut whole = a.clone();
                let changed = whole.merge(b.clone());
                let change = a.change(b);
                assert_eq!(change.is_some(), changed, "{a:?} ← {b:?}");
                let mut by_change = a.clone();
                if let Some(change) = change {
                    assert!(by_change.merge(change), "{a:?} ← {b:?}");
                }
                assert_eq!(by_change, whole, "{a:?} ← {b:?}");
            }
        }
    }

    #[test]
    fn a_sets_log_holds_each_member_once_not_every_set_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n1.log");
        let replica = Replica::durable(&path, Fsync::Never).unwrap();
        let key = || Bytes::from_static(b"s");
        let mut members = BTreeSet::new();
        for i in 0..200u64 {
            members.insert(Bytes::from(format!("{i:03}")));
            let whole = Versioned {
                version: Version {
                    counter: i + 1,
                    node: Bytes::from_static(b"n1"),
                },
                value: Value::Set(members.clone()),
            };
            assert!(replica.store(key(), whole).unwrap());
        }
        drop(replica);
        // Whole sets, as read repair sends them: 200 records of one new member each, a few KB,
        // where the sets as sent would be ~20,000 members' worth.
        let len = std::fs::metadata(&path).unwrap().len();
        assert!(len < 200 * 64, "{len} bytes");
        let back = Replica::durable(&path, Fsync::Never).unwrap();
        let held = back.fetch(b"s").unwrap();
        assert_eq!(held.value, Value::Set(members.clone()));
        assert_eq!(held.version.counter, 200);
        // Only a newer version, no new member (a repeated SADD): one member carries it.
        let bump = Versioned {
            version: Version {
                counter: 201,
                node: Bytes::from_static(b"n2"),
            },
            value: Value::Set(members),
        };
        let change = held.change(&bump).unwrap();
        assert_eq!(change.version.counter, 201);
        assert!(
            matches!(&change.value, Value::Set(m) if m.len() == 1),
            "{change:?}"
        );
    }

    #[test]
    fn a_durable_replica_comes_back_with_its_values_and_its_clock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n1.log");
        let k = || Bytes::from_static(b"k");
        let replica = Replica::durable(&path, Fsync::Always).unwrap();
        assert!(replica.store(k(), v(4, "n2", s("a"))).unwrap());
        assert!(replica
            .store(Bytes::from_static(b"s"), v(1, "n1", set(&["1"])))
            .unwrap());
        assert!(replica
            .store(Bytes::from_static(b"s"), v(7, "n3", set(&["2"])))
            .unwrap());
        assert!(!replica.store(k(), v(2, "n1", s("old"))).unwrap());
        let len = std::fs::metadata(&path).unwrap().len();
        drop(replica);
        let back = Replica::durable(&path, Fsync::Always).unwrap();
        assert_eq!(back.fetch(b"k"), Some(v(4, "n2", s("a"))));
        assert_eq!(back.fetch(b"s"), Some(v(7, "n3", set(&["1", "2"]))));
        assert_eq!(
            back.next_counter(0),
            8,
            "the clock is above every counter logged"
        );
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            len,
            "a value that changed nothing was not logged"
        );
    }

    #[test]
    fn parts_and_replies_round_trip() {
        for held in [v(7, "n1", s("\r\n0")), v(1, "n 2", set(&["1", "2"]))] {
            assert_eq!(Versioned::from_parts(&held.to_parts()), Some(held.clone()));
            assert_eq!(Versioned::from_reply(&held.to_reply()), Ok(Some(held)));
        }
        assert_eq!(Versioned::from_reply(&Reply::Null), Ok(None));
        let bad = reply::bulks(["x", "n1", "string", "v"]);
        assert!(Versioned::from_reply(&bad).is_err(), "counter not a number");
        let no_members = reply::bulks(["1", "n1", "set"]);
        assert!(Versioned::from_reply(&no_members).is_err());
    }

    #[test]
    fn a_replica_counts_above_everything_it_saw() {
        let replica = Replica::default();
        replica
            .store(Bytes::from_static(b"k"), v(9, "n2", s("a")))
            .unwrap();
        assert_eq!(replica.next_counter(3), 10);
        assert_eq!(replica.next_counter(40), 41);
        assert!(!replica
            .store(Bytes::from_static(b"k"), v(8, "n3", s("b")))
            .unwrap());
        assert_eq!(replica.fetch(b"k").unwrap().value, s("a"));
        assert_eq!(replica.len(), 1);
    }
}
