//! `--mode gossip`: peer to peer, every node takes reads and writes on its own data and answers
//! at once; every `--gossip-interval` it sends its whole state to each peer whose data it does
//! not know to be the same (anti-entropy, push-pull: a peer holding more answers with its own
//! state), and replicas merge what they receive (`crdt`). Concurrent writes are resolved by a
//! stated rule: the last writer wins for registers, sets take the union, counters keep every
//! node's increments.
//!
//! ```text
//!   n1: SADD s 1 ─ ok            n2: SADD s 2 ─ ok          (each answers alone, at once)
//!   n1 ── GOSSIP d1 s {1} ──► n2 merges: {1,2}, differs from d1 → answers d2 s {1,2}
//!   n1 merges: {1,2} = d2                                   (converged: gossip goes quiet)
//! ```
//!
//! Not linearizable — a read on one node misses a write acknowledged by another until the next
//! round, and a partition keeps the sides apart for as long as it holds — but after the heal
//! every replica converges, and no acknowledged add or increment is ever lost. The tests that
//! fit it are the set and counter workloads' final reads on every node, not linearizability.
//!
//! With `--log` a replica keeps every change to its data in a [`RecordLog`] — a `MERGE` record
//! of each key's delta (what it added), one record per write or per gossip exchange — logged
//! before the change is taken in, so under `--fsync always` nothing a node acknowledged to a
//! client or sent to a peer is lost to a kill; a restart merges the records back in order
//! (which also puts its hybrid clock above every register it held).

mod crdt;

use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use bytes::Bytes;
use tokio::task::JoinSet;
use tokio::time::{interval, timeout, MissedTickBehavior};
use tracing::debug;

use crate::args::NodeArgs;
use crate::command::Command;
use crate::lie::Liar;
use crate::peer::Peer;
use crate::record_log::{Fsync, LogFailed, RecordLog, Replayed};
use crate::reply::{self, Reply, Response};

use crdt::Crdt;

/// A node's part in a gossip cluster: its replica, its clock and its peers.
pub struct Gossip {
    /// This node's name, the tie-breaker of register writes and its counters' entry.
    name: Bytes,
    /// The other nodes, each with the digest it last reported.
    peers: Vec<(Arc<Peer>, Mutex<Option<u64>>)>,
    /// How often it gossips.
    every: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    data: BTreeMap<Bytes, Crdt>,
    /// A hybrid logical clock: milliseconds, kept above every register timestamp seen.
    clock: u64,
    /// The log on disk, with `--log`: every change, logged before it is taken in.
    log: Option<RecordLog>,
}

/// Keys and values in the wire form `GOSSIP`, `MERGE` records and [`parse_values`] share: each
/// key, then its value's words.
fn encode_values<'a>(values: impl Iterator<Item = (&'a Bytes, &'a Crdt)>) -> Vec<Bytes> {
    let mut parts = Vec::new();
    for (key, value) in values {
        parts.push(key.clone());
        value.encode(&mut parts);
    }
    parts
}

/// Reads `key value ...` in gossip's wire form; `None` if it is not that.
fn parse_values(parts: &[Bytes]) -> Option<Vec<(Bytes, Crdt)>> {
    let mut values = Vec::new();
    let mut rest = parts.iter();
    while let Some(key) = rest.next() {
        values.push((key.clone(), Crdt::decode(&mut rest)?));
    }
    Some(values)
}

impl State {
    /// A replica logging to `path` (made if missing), holding what the log held.
    fn durable(path: &Path, fsync: Fsync) -> io::Result<State> {
        let mut state = State::default();
        let log = RecordLog::open(path, fsync, |record| {
            let words = reply::words(&record).unwrap_or_default();
            match words
                .split_first()
                .map(|(kind, rest)| (kind.as_ref(), parse_values(rest)))
            {
                Some((b"MERGE", Some(values))) => {
                    for (key, value) in values {
                        state.apply(key, value);
                    }
                    Replayed::Whole
                }
                _ => Replayed::Foreign,
            }
        })?;
        state.log = Some(log);
        Ok(state)
    }

    fn tick(&mut self) -> u64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        self.clock = now.max(self.clock + 1);
        self.clock
    }

    fn apply(&mut self, key: Bytes, value: Crdt) {
        if let Crdt::Register { at, .. } = value {
            self.clock = self.clock.max(at);
        }
        match self.data.get_mut(&key) {
            Some(held) => {
                held.merge(&value);
            }
            None => {
                self.data.insert(key, value);
            }
        }
    }

    /// Merges `values` in, each key's delta logged first (one record for them all): a value the
    /// log refuses is not taken in.
    fn commit(&mut self, values: Vec<(Bytes, Crdt)>) -> Result<(), LogFailed> {
        let Some(log) = &mut self.log else {
            // Nothing to log: no delta to work out either.
            for (key, value) in values {
                self.apply(key, value);
            }
            return Ok(());
        };
        let deltas: Vec<(Bytes, Crdt)> = values
            .into_iter()
            .filter_map(|(key, value)| {
                let delta = match self.data.get(&key) {
                    Some(held) => held.delta(&value)?,
                    None => value,
                };
                Some((key, delta))
            })
            .collect();
        if deltas.is_empty() {
            return Ok(());
        }
        let record = std::iter::once(Bytes::from_static(b"MERGE"))
            .chain(encode_values(deltas.iter().map(|(k, v)| (k, v))));
        log.append(&reply::bulks(record))?;
        for (key, delta) in deltas {
            self.apply(key, delta);
        }
        Ok(())
    }

    fn encode(&self) -> Vec<Bytes> {
        encode_values(self.data.iter())
    }

    /// A hash of the whole state: equal on two replicas holding the same data.
    fn digest(&self) -> u64 {
        let mut hasher = DefaultHasher::new();
        self.encode().hash(&mut hasher);
        hasher.finish()
    }
}

/// The error for a command against a key holding another kind of value.
const WRONG_TYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// A digest as it travels and as INFO shows it.
fn hex(digest: u64) -> String {
    format!("{digest:016x}")
}

impl Gossip {
    /// The gossip settings `args` ask for; errors name the option.
    pub fn from_args(args: &NodeArgs) -> anyhow::Result<Gossip> {
        if let Some(bad) = args.peer.iter().find(|p| !p.contains(':')) {
            bail!("--peer {bad:?}: not HOST:PORT");
        }
        if args.gossip_interval.is_zero() {
            bail!("--gossip-interval: must be longer than 0s");
        }
        Ok(Gossip {
            name: Bytes::from(args.name.clone()),
            peers: args
                .peer
                .iter()
                .map(|p| (Arc::new(Peer::new(p.clone())), Mutex::new(None)))
                .collect(),
            every: args.gossip_interval,
            state: Mutex::new(match &args.log {
                None => State::default(),
                Some(path) => {
                    let state = State::durable(path, args.fsync)
                        .with_context(|| format!("opening the log {}", path.display()))?;
                    tracing::info!(
                        "recovered {} keys from {}",
                        state.data.len(),
                        path.display()
                    );
                    state
                }
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The nodes, this one included.
    pub fn nodes(&self) -> usize {
        self.peers.len() + 1
    }

    /// How many keys this replica holds.
    pub fn keys(&self) -> usize {
        self.lock().data.len()
    }

    /// Writes out and fsyncs the log, if there is one (`--fsync every-second`'s tick).
    pub fn sync_log(&self) -> Result<(), LogFailed> {
        match &mut self.lock().log {
            Some(log) => Ok(log.sync()?),
            None => Ok(()),
        }
    }

    /// The digest of this replica's data, as INFO shows it.
    pub fn digest(&self) -> String {
        hex(self.lock().digest())
    }

    /// Runs a client's data command on this replica alone; `None` for a command that is not one.
    pub fn execute(&self, command: &Command, liar: &Liar) -> Option<Response> {
        let mut state = self.lock();
        let reply = match command {
            Command::Get(key) => {
                let truth = match state.data.get(key) {
                    None => None,
                    Some(Crdt::Register { value, .. }) => Some(value.clone()),
                    Some(Crdt::Counter(counts)) => Some(Bytes::from(Crdt::sum(counts).to_string())),
                    Some(Crdt::Set(_)) => return Some(reply::error(WRONG_TYPE).into()),
                };
                liar.get(key, truth).map_or(Reply::Null, reply::bulk)
            }
            Command::Set(key, value) => match state.data.get(key) {
                Some(Crdt::Set(_) | Crdt::Counter(_)) => reply::error(WRONG_TYPE),
                _ => {
                    let at = state.tick();
                    let node = self.name.clone();
                    let value = value.clone();
                    let write = Crdt::Register { at, node, value };
                    match state.commit(vec![(key.clone(), write)]) {
                        Ok(()) => reply::ok(),
                        Err(e) => e.reply(),
                    }
                }
            },
            Command::Cas { key, expected, new } => match state.data.get(key) {
                Some(Crdt::Register { value, .. }) if value == expected => {
                    let at = state.tick();
                    let node = self.name.clone();
                    let value = new.clone();
                    let write = Crdt::Register { at, node, value };
                    match state.commit(vec![(key.clone(), write)]) {
                        Ok(()) => Reply::Integer(1),
                        Err(e) => e.reply(),
                    }
                }
                Some(Crdt::Set(_) | Crdt::Counter(_)) => reply::error(WRONG_TYPE),
                _ => Reply::Integer(0),
            },
            Command::IncrBy(key, delta) => {
                let mut mine = match state.data.get(key) {
                    None => Default::default(),
                    Some(Crdt::Counter(counts)) => {
                        counts.get(&self.name).copied().unwrap_or_default()
                    }
                    Some(_) => return Some(reply::error(WRONG_TYPE).into()),
                };
                match *delta >= 0 {
                    true => mine.0 += delta.unsigned_abs(),
                    false => mine.1 += delta.unsigned_abs(),
                }
                // Merged as this node's entry alone: the larger of each count wins.
                let mine = BTreeMap::from([(self.name.clone(), mine)]);
                match state.commit(vec![(key.clone(), Crdt::Counter(mine))]) {
                    Ok(()) => match state.data.get(key) {
                        Some(Crdt::Counter(counts)) => Reply::Integer(Crdt::sum(counts)),
                        _ => unreachable!("a counter was just merged under {key:?}"),
                    },
                    Err(e) => e.reply(),
                }
            }
            Command::SAdd(key, members) => {
                let new = match state.data.get(key) {
                    None => members.len(),
                    Some(Crdt::Set(held)) => members.iter().filter(|m| !held.contains(*m)).count(),
                    Some(_) => return Some(reply::error(WRONG_TYPE).into()),
                };
                let add = Crdt::Set(members.iter().cloned().collect());
                match state.commit(vec![(key.clone(), add)]) {
                    Ok(()) => reply::count(new),
                    Err(e) => e.reply(),
                }
            }
            Command::SMembers(key) => {
                let members = match state.data.get(key) {
                    None => Vec::new(),
                    Some(Crdt::Set(held)) => held.iter().cloned().collect(),
                    Some(_) => return Some(reply::error(WRONG_TYPE).into()),
                };
                let told = liar.members(key, members);
                return Some(Response::Set(told.into_iter().map(reply::bulk).collect()));
            }
            _ => return None,
        };
        Some(reply.into())
    }

    /// Merges a list of `key value ...` in gossip's wire form (logged first); else why not.
    fn merge_parts(&self, parts: &[Bytes]) -> Result<(), String> {
        let received = parse_values(parts).ok_or("not a state in gossip's form")?;
        self.lock().commit(received).map_err(|e| e.to_string())
    }

    /// `GOSSIP digest key value ...` from a peer: its whole state, merged into this replica.
    /// Answers this replica's digest after; and, when that differs from the sender's (this one
    /// holds something it lacks, as after the sender restarted empty), this whole state too, so
    /// one exchange leaves both the same (push-pull anti-entropy).
    pub fn receive(&self, parts: &[Bytes]) -> Reply {
        let Some((theirs, values)) = parts.split_first() else {
            return reply::error("ERR GOSSIP takes the sender's digest, then key value pairs");
        };
        if let Err(why) = self.merge_parts(values) {
            return reply::error(format!("ERR GOSSIP of key value pairs: {why}"));
        }
        let state = self.lock();
        let mine = Bytes::from(hex(state.digest()));
        match mine == *theirs {
            true => reply::bulk(mine),
            false => reply::bulks(std::iter::once(mine).chain(state.encode())),
        }
    }

    /// Takes a peer's answer to GOSSIP: merges the state it sent back, if any; its digest.
    fn answered(&self, answer: Reply) -> Result<u64, String> {
        let parse = |text: &[u8]| {
            std::str::from_utf8(text)
                .ok()
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("not a digest: {text:?}"))
        };
        match answer {
            Reply::BulkString(digest) => parse(&digest),
            Reply::Array(items) => {
                let parts: Option<Vec<Bytes>> = items
                    .into_iter()
                    .map(|i| match i {
                        Reply::BulkString(b) => Some(b),
                        _ => None,
                    })
                    .collect();
                let parts = parts.ok_or("GOSSIP answered an array of other than strings")?;
                let (digest, values) = parts.split_first().ok_or("GOSSIP answered []")?;
                self.merge_parts(values)
                    .map_err(|why| format!("GOSSIP's answer: {why}"))?;
                parse(digest)
            }
            other => Err(format!("GOSSIP answered {other:?}")),
        }
    }

    /// Runs for the node's life: every interval, sends the whole state to each peer whose last
    /// reported digest is not this replica's, and merges what the peer sends back.
    pub async fn spread(self: Arc<Self>) {
        let mut tick = interval(self.every);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let (digest, request) = {
                let state = self.lock();
                let digest = state.digest();
                let mut args = vec![Bytes::from_static(b"GOSSIP"), Bytes::from(hex(digest))];
                args.extend(state.encode());
                (digest, reply::bulks(args))
            };
            let mut pushes = JoinSet::new();
            for (i, (peer, known)) in self.peers.iter().enumerate() {
                if *known.lock().unwrap_or_else(PoisonError::into_inner) == Some(digest) {
                    continue;
                }
                let (peer, request) = (peer.clone(), request.clone());
                // A peer cut off or paused costs one interval's wait at most.
                let wait = self.every.max(Duration::from_millis(200));
                pushes.spawn(async move { (i, timeout(wait, peer.call(&request)).await) });
            }
            while let Some(done) = pushes.join_next().await {
                let Ok((i, answer)) = done else { continue };
                let (peer, known) = &self.peers[i];
                let reported = match answer {
                    Ok(Ok(reply)) => self.answered(reply),
                    Ok(Err(e)) => Err(format!("{e:#}")),
                    Err(_) => Err("no answer in time".into()),
                };
                if let Err(e) = &reported {
                    debug!(peer = %peer.addr, "gossip failed: {e}");
                }
                *known.lock().unwrap_or_else(PoisonError::into_inner) = reported.ok();
            }
        }
    }
}
