//! The replica's end of a replication link: connect, resync, apply, and start over when it breaks.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{bail, Context};
use bytes::BytesMut;
use redis_protocol::resp2::decode::decode_bytes_mut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::time::{interval, sleep, sleep_until, timeout, Instant, MissedTickBehavior};
use tracing::{debug, info, warn};

use super::{Message, LINK_TIMEOUT};
use crate::reply::{self, Reply};
use crate::snapshot::Snapshot;
use crate::state::{Role, Server};
use crate::store::Store;

/// First wait before reconnecting after a link breaks.
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_millis(500);
/// How long a TCP connect to the primary may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How often the replica considers sending `REPLCONF ACK`.
const ACK_TICK: Duration = Duration::from_millis(100);
/// Longest time between two ACKs even when the offset has not moved (keeps the primary's lag honest).
const ACK_REFRESH: Duration = Duration::from_secs(1);

/// The primary a replica follows, whether its link is up, and the epoch it stands in.
#[derive(Debug)]
pub struct Upstream {
    /// The primary's host, as given on the command line or to REPLICAOF.
    pub host: String,
    /// The primary's port.
    pub port: u16,
    link_up: AtomicBool,
    /// The primary's epoch, from its last snapshot (until then, the highest the node knew).
    epoch: AtomicU64,
    /// When the replica last heard from the primary (or began to follow it).
    last_heard: Mutex<Instant>,
}

impl Upstream {
    /// The primary at `host`:`port`, believed to stand in `epoch`; not linked yet.
    pub fn new(host: &str, port: u16, epoch: u64) -> Upstream {
        Upstream {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port,
            link_up: AtomicBool::new(false),
            epoch: AtomicU64::new(epoch),
            last_heard: Mutex::new(Instant::now()),
        }
    }

    /// Parses `HOST:PORT`, a primary believed to stand in `epoch`.
    pub fn parse(primary: &str, epoch: u64) -> anyhow::Result<Upstream> {
        let (host, port) = primary
            .rsplit_once(':')
            .with_context(|| format!("primary address {primary:?} is not HOST:PORT"))?;
        let port = port
            .parse()
            .with_context(|| format!("primary address {primary:?} has no valid port"))?;
        Ok(Upstream::new(host, port, epoch))
    }

    /// Whether the replica currently has a synced link to the primary.
    pub fn link_up(&self) -> bool {
        self.link_up.load(Ordering::SeqCst)
    }

    /// The primary's epoch as this replica knows it.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Records the primary's epoch (from its snapshot).
    pub fn learn_epoch(&self, epoch: u64) {
        self.epoch.store(epoch, Ordering::SeqCst);
    }

    /// How long since the replica last heard from its primary (or began to follow it).
    pub fn silent_for(&self) -> Duration {
        self.last_heard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .elapsed()
    }

    fn heard(&self) {
        *self
            .last_heard
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// Runs for the node's life: while the node is a replica, follows its primary; when its role
/// changes (the term moves), drops that link and follows the new primary, or waits as a primary.
pub async fn follower(server: Arc<Server>) {
    loop {
        let (role, mut term) = server.role_and_term();
        match role {
            Role::Replica(upstream) => {
                info!(primary = %upstream, "following");
                tokio::select! {
                    () = follow(upstream, server.store.clone(), server.port) => {}
                    _ = term.changed() => {}
                }
            }
            Role::Primary { .. } => {
                if term.changed().await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Follows the primary until cancelled: each time the link breaks, marks it down and reconnects
/// with a full resync. `listening_port` is announced to the primary for its INFO and ROLE.
async fn follow(upstream: Arc<Upstream>, store: Arc<Store>, listening_port: u16) {
    let mut backoff = MIN_BACKOFF;
    // Failed attempts since the link was last up: the first is worth a warning, retries are not.
    let mut failures = 0u64;
    loop {
        let Err(error) = link(&upstream, &store, listening_port).await;
        if upstream.link_up.swap(false, Ordering::SeqCst) {
            warn!(primary = %upstream, "replication link to primary down: {error:#}");
            backoff = MIN_BACKOFF;
            failures = 0;
        } else {
            failures += 1;
            if failures == 1 {
                warn!(primary = %upstream, "cannot sync with primary, retrying: {error:#}");
            } else {
                debug!(primary = %upstream, failures, "cannot sync with primary: {error:#}");
            }
        }
        sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One link: handshake, full resync, then apply the stream until something breaks.
async fn link(
    upstream: &Upstream,
    store: &Store,
    listening_port: u16,
) -> anyhow::Result<Infallible> {
    let stream = timeout(
        CONNECT_TIMEOUT,
        TcpStream::connect((upstream.host.as_str(), upstream.port)),
    )
    .await
    .context("connect timed out")?
    .context("connect")?;
    stream.set_nodelay(true)?;
    let (reader, writer) = stream.into_split();
    let mut link = Link {
        reader,
        writer,
        inbox: BytesMut::new(),
    };
    link.send(&[
        reply::bulks(["REPLCONF", "listening-port", &listening_port.to_string()].map(String::from)),
        reply::bulks(["FLSYNC"]),
    ])
    .await?;
    match link.next_within().await? {
        Reply::SimpleString(_) => {}
        Reply::Error(e) => bail!("primary refused REPLCONF: {e}"),
        other => bail!("unexpected reply to REPLCONF: {other:?}"),
    }

    let epoch = match Message::decode(link.next_within().await?)? {
        Message::Epoch(epoch) => epoch,
        other => bail!("expected the primary's epoch, got {other:?}"),
    };
    let (offset, keys) = match Message::decode(link.next_within().await?)? {
        Message::Snapshot { offset, keys } => (offset, keys),
        other => bail!("expected a snapshot, got {other:?}"),
    };
    // Capacity from the peer is capped: it is a hint, not a promise.
    let mut data = HashMap::with_capacity(keys.min(1 << 16));
    for _ in 0..keys {
        match Message::decode(link.next_within().await?)? {
            Message::Kv(key, value) => data.insert(key, value),
            other => bail!("expected a snapshot key, got {other:?}"),
        };
    }
    store.load(Snapshot { offset, data })?;
    upstream.learn_epoch(epoch);
    upstream.heard();
    upstream.link_up.store(true, Ordering::SeqCst);
    info!(primary = %upstream, offset, keys, epoch, "replication link to primary up (full resync)");

    let mut acked = None;
    let mut last_ack = Instant::now();
    let mut last_heard = Instant::now();
    let mut ack_tick = interval(ACK_TICK);
    ack_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            // Read first: after this process is paused and resumed, queued data beats the timeout.
            biased;
            frame = link.next() => {
                last_heard = Instant::now();
                upstream.heard();
                match Message::decode(frame?)? {
                    Message::Write(offset, write) => store.apply_replicated(offset, &write)?,
                    Message::Ping => {}
                    other => bail!("unexpected message mid-stream: {other:?}"),
                }
            }
            _ = sleep_until(last_heard + LINK_TIMEOUT) => {
                bail!("no word from the primary for {LINK_TIMEOUT:?}")
            }
            _ = ack_tick.tick() => {
                let offset = store.offset();
                if acked != Some(offset) || last_ack.elapsed() >= ACK_REFRESH {
                    let ack = ["REPLCONF", "ACK", &offset.to_string()].map(String::from);
                    link.send(&[reply::bulks(ack)]).await?;
                    acked = Some(offset);
                    last_ack = Instant::now();
                }
            }
        }
    }
}

struct Link {
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
    inbox: BytesMut,
}

impl Link {
    /// Sends requests to the primary.
    async fn send(&mut self, requests: &[Reply]) -> anyhow::Result<()> {
        let mut out = BytesMut::new();
        for request in requests {
            reply::encode(request, &mut out);
        }
        self.writer
            .write_all(&out)
            .await
            .context("writing to primary")
    }

    /// The next frame from the primary. Cancel-safe: a partial frame stays in `inbox`.
    async fn next(&mut self) -> anyhow::Result<Reply> {
        loop {
            if let Some((frame, _, _)) = decode_bytes_mut(&mut self.inbox)? {
                return Ok(frame);
            }
            self.inbox.reserve(16 * 1024);
            if self.reader.read_buf(&mut self.inbox).await? == 0 {
                bail!("primary closed the connection");
            }
        }
    }

    /// The next frame, if it arrives within [`LINK_TIMEOUT`].
    async fn next_within(&mut self) -> anyhow::Result<Reply> {
        timeout(LINK_TIMEOUT, self.next())
            .await
            .context("primary went silent")?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_parses_host_and_port() {
        let up = Upstream::parse("127.0.0.1:7001", 3).unwrap();
        assert_eq!(
            (up.host.as_str(), up.port, up.link_up(), up.epoch()),
            ("127.0.0.1", 7001, false, 3)
        );
        assert_eq!(Upstream::parse("[::1]:7001", 0).unwrap().host, "::1");
        assert!(Upstream::parse("localhost", 0).is_err());
        assert!(Upstream::parse("h:notaport", 0).is_err());
    }
}
