//! The node's shared state: its role, its data, and what every connection needs to know.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::args::NodeArgs;
use crate::durable::DurableLog;
use crate::replication::{Registry, Upstream};
use crate::store::Store;
use anyhow::Context;

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

/// The node's data: recovered from its log with `--log`, else empty.
fn open_store(args: &NodeArgs) -> anyhow::Result<Store> {
    let Some(path) = &args.log else {
        return Ok(Store::new());
    };
    let (log, recovered) = DurableLog::open(path, args.fsync)
        .with_context(|| format!("opening the log {}", path.display()))?;
    tracing::info!(
        "recovered {} keys at offset {} from {}",
        recovered.data.len(),
        recovered.offset,
        path.display()
    );
    Ok(Store::durable(log, recovered))
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
            store: Arc::new(open_store(args)?),
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
