//! The node's shared state and its accept loop.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio::time::{sleep, Instant};
use tracing::{error, info, warn, Instrument};

use crate::args::NodeArgs;
use crate::connection;
use crate::replication::{self, Registry, Upstream};
use crate::store::Store;

/// Whether the node takes writes or follows a primary; fixed at startup in version 0.
pub enum Role {
    /// Takes writes and streams them to the replicas listed here.
    Primary(Registry),
    /// Follows this primary and refuses writes.
    Replica(Arc<Upstream>),
}

/// Everything connections share.
pub struct Server {
    /// Name used in logs and INFO.
    pub name: String,
    /// The port clients reach this node on.
    pub port: u16,
    /// Primary or replica.
    pub role: Role,
    /// The data.
    pub store: Arc<Store>,
    /// How long a primary holds each write back before streaming it.
    pub delay: Duration,
    /// When the node started, for INFO's uptime.
    pub started: Instant,
    next_client_id: AtomicU64,
}

impl Server {
    /// State for a node started with `args`, serving on `port`.
    pub fn new(args: &NodeArgs, port: u16) -> anyhow::Result<Server> {
        let role = match &args.replica_of {
            None => Role::Primary(Registry::default()),
            Some(primary) => Role::Replica(Arc::new(Upstream::parse(primary)?)),
        };
        Ok(Server {
            name: args.name.clone(),
            port,
            role,
            store: Arc::new(Store::new()),
            delay: args.replication_delay,
            started: Instant::now(),
            next_client_id: AtomicU64::new(1),
        })
    }

    /// A fresh id for a new client connection (CLIENT ID, HELLO).
    pub fn next_client_id(&self) -> u64 {
        self.next_client_id.fetch_add(1, Ordering::Relaxed)
    }
}

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
    match &server.role {
        Role::Primary(_) => info!("listening on {addr} as primary"),
        Role::Replica(upstream) => {
            info!("listening on {addr} as replica of {upstream}");
            let follow = replication::follow(upstream.clone(), server.store.clone(), addr.port());
            tasks.spawn(follow.in_current_span());
        }
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
