//! `--mode quorum`: a leaderless cluster in which every node takes reads and writes and
//! coordinates them over the others, acknowledging after a quorum answered — the Dynamo design,
//! with ABD's two phases so that reads and writes alone are linearizable when `R + W > N`.
//!
//! ```text
//!  client ── SET k 3 ──► n1 (coordinator)
//!                         ├─ QFETCH k ─► R replicas (itself included): highest version c
//!                         ├─ QSTORE k c+1 n1 string 3 ─► every replica, waits for W acks
//!                         └─ +OK
//!  client ── GET k ────► n2 (coordinator)
//!                         ├─ QFETCH k ─► R replicas: the newest answer wins
//!                         ├─ read repair: QSTORE the newest to replicas that lacked it,
//!                         │  until W hold it (a later read quorum must meet one of them)
//!                         └─ $1 3
//! ```
//!
//! What a quorum does not buy, and the checker shows: `CAS` and `INCRBY` are a quorum read
//! followed by a quorum write, not one atomic step, so two concurrent compare-and-sets can both
//! succeed and concurrent increments can be lost; with `R + W ≤ N` a read quorum can miss the
//! last write's replicas entirely (stale reads). A partition leaves a minority's coordinators
//! unable to gather a quorum: they answer `NOQUORUM` (nothing was written) or, when a write
//! reached some replicas but not `W`, `UNCERTAIN` (it may yet take effect: the client records
//! it as indeterminate). Sets merge by union, so an acknowledged add is never lost.

mod versioned;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};

use crate::args::NodeArgs;
use crate::command::Command;
use crate::lie::Liar;
use crate::peer::Peer;
use crate::reply::{self, Reply, Response};
use crate::value::{Value, WrongType};

pub use versioned::{Replica, Version, Versioned};

/// A node's part in a quorum cluster: its replica of the data and how it coordinates.
pub struct Quorum {
    /// This node's name, the tie-breaker in the versions it writes.
    name: Bytes,
    /// The other nodes.
    peers: Vec<Arc<Peer>>,
    /// Replicas that must answer a read, this node included.
    read: usize,
    /// Replicas that must acknowledge a write, this node included.
    write: usize,
    /// How long a coordinator waits for its quorum.
    wait: Duration,
    /// This node's replica.
    pub replica: Replica,
}

/// Who answered: this node, or the peer at this index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Me,
    Peer(usize),
}

impl Quorum {
    /// The quorum settings `args` ask for; errors name the option.
    pub fn from_args(args: &NodeArgs) -> anyhow::Result<Quorum> {
        let n = args.peer.len() + 1;
        let sizes = [
            ("--read-quorum", args.read_quorum),
            ("--write-quorum", args.write_quorum),
        ];
        for (option, size) in sizes {
            if let Some(size) = size.filter(|&s| s == 0 || s > n) {
                bail!(
                    "{option} {size}: must be 1 to {n}, the nodes (this one and its --peer nodes)"
                );
            }
        }
        let majority = n / 2 + 1;
        if let Some(bad) = args.peer.iter().find(|p| !p.contains(':')) {
            bail!("--peer {bad:?}: not HOST:PORT");
        }
        Ok(Quorum {
            name: Bytes::from(args.name.clone()),
            peers: args
                .peer
                .iter()
                .map(|p| Arc::new(Peer::new(p.clone())))
                .collect(),
            read: args.read_quorum.unwrap_or(majority),
            write: args.write_quorum.unwrap_or(majority),
            wait: args.quorum_timeout,
            replica: match &args.log {
                None => Replica::default(),
                Some(path) => {
                    let replica = Replica::durable(path, args.fsync)
                        .with_context(|| format!("opening the log {}", path.display()))?;
                    tracing::info!("recovered {} keys from {}", replica.len(), path.display());
                    replica
                }
            },
        })
    }

    /// The nodes, this one included.
    pub fn nodes(&self) -> usize {
        self.peers.len() + 1
    }

    /// How many replicas a read and a write wait for.
    pub fn sizes(&self) -> (usize, usize) {
        (self.read, self.write)
    }

    /// Runs a client's data command as its coordinator; `None` for a command that is not one.
    pub async fn execute(&self, command: &Command, liar: &Liar) -> Option<Response> {
        if let Command::SMembers(key) = command {
            return Some(match self.read(key).await {
                Ok(None) => Response::Set(Vec::new()),
                Ok(Some(held)) => match held.value.set() {
                    Ok(members) => {
                        let told = liar.members(key, members.iter().cloned().collect());
                        Response::Set(told.into_iter().map(reply::bulk).collect())
                    }
                    Err(e) => reply::error(e).into(),
                },
                Err(e) => e.into(),
            });
        }
        let reply = match command {
            Command::Get(key) => match self.read(key).await {
                Ok(held) => match string(held) {
                    Ok(value) => liar.get(key, value).map_or(Reply::Null, reply::bulk),
                    Err(e) => reply::error(e),
                },
                Err(e) => e,
            },
            Command::Set(key, value) => self
                .overwrite(key, Value::String(value.clone()))
                .await
                .map_or_else(|e| e, |()| reply::ok()),
            Command::Cas { key, expected, new } => {
                self.cas(key, expected, new).await.unwrap_or_else(|e| e)
            }
            Command::IncrBy(key, delta) => self.incr_by(key, *delta).await.unwrap_or_else(|e| e),
            Command::SAdd(key, members) => self.sadd(key, members).await.unwrap_or_else(|e| e),
            _ => return None,
        };
        Some(reply.into())
    }

    /// The newest value of `key` among a read quorum, written back until a write quorum holds it.
    async fn read(&self, key: &Bytes) -> Result<Option<Versioned>, Reply> {
        let answers = self.query(key).await?;
        let mut newest: Option<Versioned> = None;
        for held in answers.iter().filter_map(|(_, v)| v.clone()) {
            match &mut newest {
                Some(n) => {
                    n.merge(held);
                }
                None => newest = Some(held),
            }
        }
        let Some(newest) = newest else {
            return Ok(None);
        };
        let holding: Vec<Who> = answers
            .iter()
            .filter(|(_, v)| v.as_ref() == Some(&newest))
            .map(|(who, _)| *who)
            .collect();
        if holding.len() < self.write {
            self.store(key, &newest, &holding)
                .await
                .map_err(|(acked, why)| {
                    reply::error(format!(
                        "NOQUORUM read repair reached {acked} of the {} replicas a read must \
                         leave holding its value: {why}",
                        self.write
                    ))
                })?;
        }
        Ok(Some(newest))
    }

    /// Every answer to `QFETCH key` within the wait, once at least a read quorum answered.
    async fn query(&self, key: &Bytes) -> Result<Vec<(Who, Option<Versioned>)>, Reply> {
        let mut answers = vec![(Who::Me, self.replica.fetch(key))];
        let request = reply::bulks([Bytes::from_static(b"QFETCH"), key.clone()]);
        let all: Vec<usize> = (0..self.peers.len()).collect();
        let (got, failed) = self
            .gather(&all, request, self.read - 1, |r| Versioned::from_reply(&r))
            .await;
        answers.extend(got.into_iter().map(|(i, v)| (Who::Peer(i), v)));
        if answers.len() < self.read {
            return Err(reply::error(format!(
                "NOQUORUM {} of the {} replicas a read needs answered within {:?}{}",
                answers.len(),
                self.read,
                self.wait,
                because(&failed)
            )));
        }
        Ok(answers)
    }

    /// Writes `value` under `key` in a version above every one a read quorum holds.
    async fn overwrite(&self, key: &Bytes, value: Value) -> Result<(), Reply> {
        let seen = self
            .query(key)
            .await?
            .iter()
            .filter_map(|(_, v)| v.as_ref().map(|v| v.version.counter))
            .max()
            .unwrap_or(0);
        self.write_new(key, value, seen).await
    }

    /// Writes `value` in a fresh version above `seen`, acknowledged once a write quorum holds it.
    async fn write_new(&self, key: &Bytes, value: Value, seen: u64) -> Result<(), Reply> {
        let version = Version {
            counter: self.replica.next_counter(seen),
            node: self.name.clone(),
        };
        let written = Versioned { version, value };
        self.store(key, &written, &[])
            .await
            .map_err(|(acked, why)| {
                reply::error(format!(
                "UNCERTAIN the write reached {acked} of the {} replicas it needs within {:?} and \
                 may yet take effect{why}",
                self.write, self.wait
            ))
            })
    }

    /// Stores `value` here and on every peer not in `holding`, until `W` replicas hold it
    /// (`holding` already does); else how many did, and why the rest did not. Peers still
    /// receive it after the quorum answered: every replica gets every write.
    async fn store(
        &self,
        key: &Bytes,
        value: &Versioned,
        holding: &[Who],
    ) -> Result<(), (usize, String)> {
        let mut acked = holding.len();
        let mut failed = Vec::new();
        if !holding.contains(&Who::Me) {
            match self.replica.store(key.clone(), value.clone()) {
                Ok(_) => acked += 1,
                Err(e) => failed.push(format!("this node: {e}")),
            }
        }
        let targets: Vec<usize> = (0..self.peers.len())
            .filter(|i| !holding.contains(&Who::Peer(*i)))
            .collect();
        let request = value.qstore(key);
        let need = self.write.saturating_sub(acked);
        let (got, failed_peers) = self
            .gather(&targets, request, need, |r| match r {
                Reply::Integer(_) => Ok(()),
                other => Err(format!("answered {other:?}")),
            })
            .await;
        acked += got.len();
        failed.extend(failed_peers);
        match acked >= self.write {
            true => Ok(()),
            false => Err((acked, because(&failed))),
        }
    }

    /// Sends `request` to each peer in `targets` and waits, at most the quorum wait, until
    /// `need` answered well (or every one answered); the answers that `parse` took, by peer
    /// index, and why the others failed. Requests still out finish in the background.
    async fn gather<T: Send + 'static>(
        &self,
        targets: &[usize],
        request: Reply,
        need: usize,
        parse: fn(Reply) -> Result<T, String>,
    ) -> (Vec<(usize, T)>, Vec<String>) {
        let (mut got, mut failed) = (Vec::new(), Vec::new());
        if need == 0 && targets.is_empty() {
            return (got, failed);
        }
        let (tx, mut rx) = mpsc::channel(targets.len().max(1));
        for &i in targets {
            let (peer, request, tx, wait) = (
                self.peers[i].clone(),
                request.clone(),
                tx.clone(),
                self.wait,
            );
            tokio::spawn(async move {
                let answer = match timeout(wait, peer.call(&request)).await {
                    Ok(Ok(reply)) => parse(reply),
                    Ok(Err(e)) => Err(format!("{}: {e:#}", peer.addr)),
                    Err(_) => Err(format!("{}: no answer within {wait:?}", peer.addr)),
                };
                let _ = tx.send((i, answer)).await;
            });
        }
        drop(tx);
        let deadline = Instant::now() + self.wait;
        while got.len() < need {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some((i, Ok(answer)))) => got.push((i, answer)),
                Ok(Some((_, Err(why)))) => failed.push(why),
                Ok(None) | Err(_) => break,
            }
        }
        (got, failed)
    }

    /// `CAS key expected new`: a quorum read, then, if it matched, a quorum write; 1 if swapped.
    async fn cas(&self, key: &Bytes, expected: &Bytes, new: &Bytes) -> Result<Reply, Reply> {
        let held = self.read(key).await?;
        let seen = held.as_ref().map_or(0, |h| h.version.counter);
        match string(held).map_err(reply::error)? {
            Some(now) if now == expected => {
                self.write_new(key, Value::String(new.clone()), seen)
                    .await?;
                Ok(Reply::Integer(1))
            }
            _ => Ok(Reply::Integer(0)),
        }
    }

    /// `INCRBY key delta`: a quorum read, then a quorum write of the sum.
    async fn incr_by(&self, key: &Bytes, delta: i64) -> Result<Reply, Reply> {
        let held = self.read(key).await?;
        let seen = held.as_ref().map_or(0, |h| h.version.counter);
        let now = match string(held).map_err(reply::error)? {
            None => 0,
            Some(text) => std::str::from_utf8(&text)
                .ok()
                .and_then(|t| t.parse::<i64>().ok())
                .ok_or_else(|| reply::error("ERR value is not an integer or out of range"))?,
        };
        let sum = now
            .checked_add(delta)
            .ok_or_else(|| reply::error("ERR increment or decrement would overflow"))?;
        self.write_new(key, Value::String(Bytes::from(sum.to_string())), seen)
            .await?;
        Ok(Reply::Integer(sum))
    }

    /// `SADD key member...`: the members as a set in a fresh version; replicas take the union,
    /// so no read is needed. Answers how many this node's replica did not hold yet.
    async fn sadd(&self, key: &Bytes, members: &[Bytes]) -> Result<Reply, Reply> {
        let local = self.replica.fetch(key);
        let new = match &local {
            Some(held) => {
                let set = held.value.set().map_err(reply::error)?;
                members.iter().filter(|m| !set.contains(*m)).count()
            }
            None => members.len(),
        };
        let seen = local.map_or(0, |h| h.version.counter);
        let set = Value::Set(members.iter().cloned().collect());
        self.write_new(key, set, seen).await?;
        Ok(reply::count(new))
    }

    /// `QFETCH key`, from a coordinator: this replica's versioned value, or nil.
    pub fn fetch(&self, key: &[u8]) -> Reply {
        self.replica
            .fetch(key)
            .map_or(Reply::Null, |v| v.to_reply())
    }

    /// `QSTORE key counter node kind value...`, from a coordinator: merged into this replica;
    /// answers 1 if it changed anything.
    pub fn store_sent(&self, key: Bytes, parts: &[Bytes]) -> Reply {
        match Versioned::from_parts(parts) {
            Some(value) => match self.replica.store(key, value) {
                Ok(changed) => Reply::Integer(i64::from(changed)),
                Err(e) => e.reply(),
            },
            None => reply::error("ERR QSTORE takes key counter node string|set value..."),
        }
    }
}

/// The string a key holds, if any; a set is the wrong type.
fn string(held: Option<Versioned>) -> Result<Option<Bytes>, WrongType> {
    match held {
        None => Ok(None),
        Some(v) => v.value.string().cloned().map(Some),
    }
}

/// Why some replicas did not answer, for an error reply: the first reason and how many more.
fn because(failed: &[String]) -> String {
    match failed {
        [] => String::new(),
        [one] => format!(" ({one})"),
        [first, rest @ ..] => format!(" ({first}; {} more)", rest.len()),
    }
}
