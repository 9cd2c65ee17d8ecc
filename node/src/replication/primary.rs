//! The primary's end of a replication link: snapshot, then the delayed stream of writes.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;
use tokio::time::{interval, sleep_until, Instant, MissedTickBehavior};
use tracing::{info, warn};

use super::registry::{Registration, Registry};
use super::{Message, HEARTBEAT};
use crate::request;
use crate::store::{Entry, Store};

/// Serves a replica that sent FLSYNC on `stream`, until the link breaks.
///
/// `inbox` holds whatever the replica sent after FLSYNC that the connection already read;
/// `listening_port` is what it announced with `REPLCONF listening-port`. The link ends (and the
/// replica resyncs elsewhere) when the node's role changes, which moves `term`.
pub async fn serve_link(
    stream: TcpStream,
    inbox: BytesMut,
    peer: SocketAddr,
    listening_port: Option<u16>,
    primary: Primary<'_>,
    mut term: watch::Receiver<u64>,
) {
    let Primary {
        store,
        registry,
        epoch,
        delay,
    } = primary;
    let port = listening_port.unwrap_or(peer.port());
    let replica = SocketAddr::new(peer.ip(), port);
    let (reader, mut writer) = stream.into_split();
    let (snapshot, feed) = store.subscribe();
    let (offset, keys) = (snapshot.offset, snapshot.data.len());
    let mut out = BytesMut::new();
    Message::Epoch(epoch).encode(&mut out);
    Message::Snapshot { offset, keys }.encode(&mut out);
    for (key, value) in snapshot.data {
        Message::Kv(key, value).encode(&mut out);
    }
    if let Err(e) = writer.write_all(&out).await {
        warn!(%replica, "replication link to replica failed during full resync: {e}");
        return;
    }
    let registration = registry.add(peer.ip(), port);
    info!(%replica, offset, keys, "replication link to replica up (full resync sent)");
    let link = Link {
        reader,
        writer,
        inbox,
        registration,
        delay,
    };
    tokio::select! {
        streamed = link.stream(feed) => match streamed {
            Ok(()) => info!(%replica, "replication link to replica down: replica closed it"),
            Err(e) => warn!(%replica, "replication link to replica down: {e:#}"),
        },
        _ = term.changed() => info!(%replica, "replication link to replica closed: no longer the primary"),
    }
}

/// What a primary's link serves from: the data, its replicas, its epoch and its delay.
pub struct Primary<'a> {
    /// The data and its feed of writes.
    pub store: &'a Store,
    /// Where the replica is listed while linked.
    pub registry: &'a Registry,
    /// The primary's epoch, sent with the snapshot.
    pub epoch: u64,
    /// How long each write is held back (`--replication-delay`).
    pub delay: Duration,
}

struct Link<'a> {
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
    inbox: BytesMut,
    registration: Registration<'a>,
    delay: Duration,
}

impl Link<'_> {
    /// Streams writes from `feed`, each once its delay has passed, with heartbeats and ACKs between.
    async fn stream(mut self, mut feed: broadcast::Receiver<Arc<Entry>>) -> anyhow::Result<()> {
        // Writes received but not yet due; their due times only grow, as acknowledgements do.
        let mut pending: VecDeque<Arc<Entry>> = VecDeque::new();
        let mut heartbeat = interval(HEARTBEAT);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut out = BytesMut::new();
        loop {
            let due = pending.front().map(|entry| entry.acked_at + self.delay);
            tokio::select! {
                read = self.reader.read_buf(&mut self.inbox) => {
                    if read.context("reading from replica")? == 0 {
                        return Ok(());
                    }
                    self.take_acks()?;
                }
                entry = feed.recv() => match entry {
                    Ok(entry) => pending.push_back(entry),
                    Err(RecvError::Lagged(n)) => {
                        bail!("replica fell {n} writes behind; cutting the link so it resyncs")
                    }
                    Err(RecvError::Closed) => return Ok(()),
                },
                // Wakes the loop when the oldest pending write falls due; sent below.
                _ = sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {}
                _ = heartbeat.tick() => Message::Ping.encode(&mut out),
            }
            let now = Instant::now();
            while let Some(entry) = pending.front() {
                if entry.acked_at + self.delay > now {
                    break;
                }
                Message::Write(entry.offset, entry.write.clone()).encode(&mut out);
                pending.pop_front();
            }
            if !out.is_empty() {
                self.writer
                    .write_all(&out)
                    .await
                    .context("writing to replica")?;
                out.clear();
            }
        }
    }

    /// Handles what the replica sent: `REPLCONF ACK <offset>`; anything else is ignored.
    fn take_acks(&mut self) -> anyhow::Result<()> {
        while let Some(args) = request::parse(&mut self.inbox).context("replica sent garbage")? {
            if let [cmd, sub, offset] = args.as_slice() {
                if cmd.eq_ignore_ascii_case(b"REPLCONF") && sub.eq_ignore_ascii_case(b"ACK") {
                    if let Some(offset) = super::number(offset) {
                        self.registration.ack(offset);
                    }
                }
            }
        }
        Ok(())
    }
}
