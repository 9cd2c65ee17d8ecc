//! Asking another node one request over its client port, as a client would: the failover's
//! probes and the quorum coordinator's requests to the replicas both go this way, so they cross
//! the same links (and the same faults) as everything else between nodes.

use std::sync::{Mutex, PoisonError};

use anyhow::{bail, Context};
use bytes::BytesMut;
use redis_protocol::resp2::decode::decode_bytes_mut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::reply::{self, Reply};

/// Idle connections kept per peer; more requests in flight than this open connections of their own.
const IDLE_PER_PEER: usize = 16;

/// Sends `request` on `stream` and reads its one reply.
pub async fn ask(stream: &mut TcpStream, request: &Reply) -> anyhow::Result<Reply> {
    let mut out = BytesMut::new();
    reply::encode(request, &mut out);
    stream.write_all(&out).await.context("write")?;
    let mut inbox = BytesMut::new();
    loop {
        if let Some((frame, _, _)) = decode_bytes_mut(&mut inbox).context("decode")? {
            return Ok(frame);
        }
        if stream.read_buf(&mut inbox).await.context("read")? == 0 {
            bail!("closed before answering");
        }
    }
}

/// Another node, with the connections to it that are idle now.
#[derive(Debug)]
pub struct Peer {
    /// `HOST:PORT` as this node reaches it.
    pub addr: String,
    idle: Mutex<Vec<TcpStream>>,
}

impl Peer {
    /// A peer at `addr`, no connection opened yet.
    pub fn new(addr: String) -> Peer {
        Peer {
            addr,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Sends `request` on an idle connection (or a new one) and returns its reply. A connection
    /// is kept only after a whole reply: one that failed, or whose caller gave up waiting (the
    /// future dropped), may still carry a late reply and is closed.
    pub async fn call(&self, request: &Reply) -> anyhow::Result<Reply> {
        // An idle connection may have been closed by a peer that restarted since: the
        // requests sent between nodes are idempotent, so such a failure is retried once afresh.
        let (stream, answer) = match self.take_idle() {
            Some(mut stream) => match ask(&mut stream, request).await {
                Ok(answer) => (stream, answer),
                Err(_) => self.fresh(request).await?,
            },
            None => self.fresh(request).await?,
        };
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < IDLE_PER_PEER {
            idle.push(stream);
        }
        Ok(answer)
    }

    async fn fresh(&self, request: &Reply) -> anyhow::Result<(TcpStream, Reply)> {
        let mut stream = TcpStream::connect(&self.addr).await.context("connect")?;
        let _ = stream.set_nodelay(true);
        let answer = ask(&mut stream, request).await?;
        Ok((stream, answer))
    }

    fn take_idle(&self) -> Option<TcpStream> {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
    }
}
