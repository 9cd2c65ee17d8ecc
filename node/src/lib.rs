//! faultline's own node: a key-value store spoken to over RESP (Redis's protocol, RESP2 or RESP3
//! after `HELLO 3`), so the `redis` client drives it as it drives Redis, replicated in one of
//! the designs `--mode` names: asynchronous primary → replica replication (`async`), a
//! leaderless cluster of read and write quorums (`quorum`), or peers gossiping mergeable data
//! (`gossip`).
//!
//! In `async` mode a node is a primary, or (with `--replica-of`) a read-only replica of one. A key holds a string
//! or a set (`value`). Besides GET, SET, DEL, SADD, SMEMBERS and friends it offers
//! `CAS key expected new`, a compare-and-set for register workloads.
//! The `replication` module's documentation describes the replication protocol; `store`'s, the data
//! and its offsets; `durable`'s, the log on disk that lets a killed node come back with its data.

mod args;
mod command;
mod connection;
mod durable;
mod gossip;
mod info;
mod lie;
mod mode;
mod peer;
mod quorum;
mod record_log;
mod replication;
mod reply;
mod request;
mod server;
mod snapshot;
mod state;
mod store;
mod value;
mod write;

use anyhow::Context;
use tokio::net::TcpListener;
use tracing::Instrument;

pub use args::NodeArgs;
pub use mode::Mode;
pub use record_log::Fsync;

/// How the node reads bytes a client sent, without a connection (for fuzzing): each complete
/// request at the front of `bytes` is taken off and its command parsed, until the bytes run out
/// or a request is malformed (which would close the connection). Returns how many requests
/// were read whole; a refused command (unknown, wrong arity) counts, as the node answers it.
pub fn read_requests(bytes: &[u8]) -> usize {
    let mut buf = bytes::BytesMut::from(bytes);
    let mut read = 0;
    while let Ok(Some(args)) = request::parse(&mut buf) {
        if !args.is_empty() {
            let _ = command::Command::parse(args);
        }
        read += 1;
    }
    read
}

/// Runs a node until it is killed (builds its own tokio runtime). Errors (e.g. port in use) are returned.
pub fn main(args: NodeArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("building the tokio runtime")?;
    runtime.block_on(async {
        let listener = TcpListener::bind((args.bind.as_str(), args.port))
            .await
            .with_context(|| format!("binding {}:{}", args.bind, args.port))?;
        serve(args, listener).await
    })
}

/// Serves on an already-bound listener; for tests and embedding. Runs forever unless an error occurs.
pub async fn serve(args: NodeArgs, listener: TcpListener) -> anyhow::Result<()> {
    let span = tracing::info_span!("node", name = %args.name);
    server::run(args, listener).instrument(span).await
}
