//! The node's accept loop: a task per connection, all stopped together.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio::time::sleep;
use tracing::{error, info, warn, Instrument};

use crate::args::NodeArgs;
use crate::connection;
use crate::record_log::Fsync;
use crate::replication;
use crate::state::{Role, Server};

/// Accepts connections on `listener` forever, each served by its own task.
///
/// Every task (connections, replication links, a replica's link to its primary) lives in a
/// `JoinSet` owned by this future, so dropping the future stops the whole node at once: its
/// sockets close as a killed process's would, which is what tests of link loss rely on.
pub async fn run(args: NodeArgs, listener: TcpListener) -> anyhow::Result<()> {
    let addr: SocketAddr = listener
        .local_addr()
        .context("listener has no local address")?;
    let server = Arc::new(Server::new(&args, addr.port())?);
    let mut tasks = JoinSet::new();
    if args.log.is_some() && args.fsync == Fsync::EverySecond {
        let server = server.clone();
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                if let Err(e) = server.design.sync_log(&server.store) {
                    error!("{e}");
                }
            }
        });
    }
    match server.role() {
        Role::Primary { .. } => info!("listening on {addr} as primary"),
        Role::Replica(upstream) => info!("listening on {addr} as replica of {upstream}"),
    }
    tasks.spawn(replication::follower(server.clone()).in_current_span());
    if let Some(gossip) = server.design.gossip() {
        info!("gossiping every {:?}", args.gossip_interval);
        tasks.spawn(gossip.clone().spread().in_current_span());
    }
    if let Some(plan) = replication::failover::Plan::from_args(&args)? {
        info!(
            "automatic failover after {:?} of silence, rank {}, peers {}",
            plan.after,
            plan.rank,
            plan.peers.join(", ")
        );
        tasks.spawn(replication::failover::watch(server.clone(), plan).in_current_span());
    }
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let conn = connection::handle(server.clone(), stream, peer);
                    tasks.spawn(conn.in_current_span());
                }
                Err(e) => {
                    // Usually out of file descriptors: refusing one client beats stopping the node.
                    warn!("accept failed: {e}");
                    sleep(Duration::from_millis(100)).await;
                }
            },
            Some(done) = tasks.join_next() => {
                if let Err(e) = done {
                    error!("a connection task failed: {e}");
                }
            }
        }
    }
}
