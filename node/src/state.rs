//! The node's shared state: its role, its data, and what every connection needs to know.
//!
//! The role changes at run time (`REPLICAOF`, or an automatic failover): it lives behind a lock
//! together with a *term* counter that moves on every change. Whatever belongs to one role — a
//! primary's replication links, a replica's link to its primary — watches the term and ends when
//! it moves, so a demoted primary stops streaming and a promoted replica stops following at once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::args::NodeArgs;
use crate::durable::DurableLog;
use crate::gossip::Gossip;
use crate::lie::Liar;
use crate::mode::Mode;
use crate::quorum::Quorum;
use crate::record_log::LogFailed;
use crate::replication::{Registry, Upstream};
use crate::store::Store;
use anyhow::{bail, Context};

/// Whether the node takes writes or follows a primary, and the epoch it stands in.
#[derive(Clone)]
pub enum Role {
    /// Takes writes and streams them to the replicas listed in its registry.
    Primary {
        /// The replicas linked to this primary.
        registry: Arc<Registry>,
        /// The epoch this node became primary in (0: primary since startup).
        epoch: u64,
    },
    /// Follows this primary and refuses writes; its epoch is the primary's.
    Replica(Arc<Upstream>),
}

impl Role {
    /// The epoch: a primary's own, a replica's primary's (as of its last full resync).
    pub fn epoch(&self) -> u64 {
        match self {
            Role::Primary { epoch, .. } => *epoch,
            Role::Replica(upstream) => upstream.epoch(),
        }
    }
}

/// The replication design a node runs (`--mode`), with what that design keeps.
pub enum Design {
    /// A primary streaming to replicas: the role below says which this node is.
    Async,
    /// Leaderless: the node coordinates every data command over a quorum of replicas.
    Quorum(Box<Quorum>),
    /// Peer to peer: the node answers from its own data and gossips it.
    Gossip(Arc<Gossip>),
}

impl Design {
    /// The design `args` ask for; errors name the options that do not go with it.
    fn from_args(args: &NodeArgs) -> anyhow::Result<Design> {
        match args.mode {
            Mode::Async => {
                if args.failover_after.is_none() && !args.peer.is_empty() {
                    bail!("--peer: goes with --failover-after or --mode quorum");
                }
                if args.read_quorum.is_some() || args.write_quorum.is_some() {
                    bail!("--read-quorum and --write-quorum: go with --mode quorum");
                }
                Ok(Design::Async)
            }
            Mode::Quorum | Mode::Gossip => {
                if args.replica_of.is_some() || args.failover_after.is_some() {
                    bail!(
                        "--mode {}: every node takes writes, so --replica-of and \
                         --failover-after do not apply",
                        if args.mode == Mode::Quorum {
                            "quorum"
                        } else {
                            "gossip"
                        }
                    );
                }
                match args.mode {
                    Mode::Quorum => Ok(Design::Quorum(Box::new(Quorum::from_args(args)?))),
                    _ => Ok(Design::Gossip(Arc::new(Gossip::from_args(args)?))),
                }
            }
        }
    }

    /// The quorum this node coordinates over, in `--mode quorum`.
    pub fn quorum(&self) -> Option<&Quorum> {
        match self {
            Design::Quorum(q) => Some(q.as_ref()),
            _ => None,
        }
    }

    /// Writes out and fsyncs the log of the design's data, if there is one (`--fsync
    /// every-second`'s tick): the store's in `async`, the replica's in the leaderless designs.
    pub fn sync_log(&self, store: &Store) -> Result<(), LogFailed> {
        match self {
            Design::Async => store.sync_log(),
            Design::Quorum(q) => q.replica.sync_log(),
            Design::Gossip(g) => g.sync_log(),
        }
    }

    /// The gossip this node takes part in, in `--mode gossip`.
    pub fn gossip(&self) -> Option<&Arc<Gossip>> {
        match self {
            Design::Gossip(g) => Some(g),
            _ => None,
        }
    }
}

/// Everything connections share.
pub struct Server {
    /// Name used in logs and INFO.
    pub name: String,
    /// The port clients reach this node on.
    pub port: u16,
    /// The data.
    pub store: Arc<Store>,
    /// How long a primary holds each write back before streaming it.
    pub delay: Duration,
    /// When the node started, for INFO's uptime.
    pub started: Instant,
    /// Whether its reads lie now (`LIE ON`, the Byzantine fault).
    pub liar: Liar,
    /// The replication design.
    pub design: Design,
    role: Mutex<Role>,
    /// Moves on every role change, always under the `role` lock.
    term: watch::Sender<u64>,
    next_client_id: AtomicU64,
}

/// The node's data: recovered from its log with `--log`, else empty. (A leaderless design
/// keeps its data, and its log, itself.)
fn open_store(args: &NodeArgs) -> anyhow::Result<Store> {
    let (Some(path), Mode::Async) = (&args.log, args.mode) else {
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
            None => Role::Primary {
                registry: Arc::default(),
                epoch: 0,
            },
            Some(primary) => Role::Replica(Arc::new(
                Upstream::parse(primary, 0).context("--replica-of")?,
            )),
        };
        Ok(Server {
            name: args.name.clone(),
            port,
            store: Arc::new(open_store(args)?),
            delay: args.replication_delay,
            started: Instant::now(),
            liar: Liar::default(),
            design: Design::from_args(args)?,
            role: Mutex::new(role),
            term: watch::Sender::new(0),
            next_client_id: AtomicU64::new(1),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Role> {
        self.role.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The role now.
    pub fn role(&self) -> Role {
        self.lock().clone()
    }

    /// Whether the node takes writes now.
    pub fn is_primary(&self) -> bool {
        matches!(*self.lock(), Role::Primary { .. })
    }

    /// The role now, and a receiver of the term that fires once the role changes after it.
    pub fn role_and_term(&self) -> (Role, watch::Receiver<u64>) {
        let role = self.lock();
        (role.clone(), self.term.subscribe())
    }

    /// Makes the node a primary in an epoch above both its own and `seen` (the highest a
    /// failover saw among its peers); a primary stays as it is. Returns the epoch.
    pub fn promote(&self, seen: u64) -> u64 {
        let mut role = self.lock();
        if let Role::Primary { epoch, .. } = &*role {
            return *epoch;
        }
        let epoch = role.epoch().max(seen) + 1;
        *role = Role::Primary {
            registry: Arc::default(),
            epoch,
        };
        self.term.send_modify(|t| *t += 1);
        tracing::info!(epoch, "promoted to primary");
        epoch
    }

    /// Makes the node follow `upstream` (a primary demoted, or a replica switching primaries).
    /// False if it already follows that address, which changes nothing.
    pub fn follow(&self, upstream: Upstream) -> bool {
        let mut role = self.lock();
        if let Role::Replica(now) = &*role {
            if (now.host.as_str(), now.port) == (upstream.host.as_str(), upstream.port) {
                return false;
            }
        }
        // The node keeps the higher of the epochs it knows until the new primary's snapshot.
        upstream.learn_epoch(upstream.epoch().max(role.epoch()));
        tracing::info!(primary = %upstream, "now a replica");
        *role = Role::Replica(Arc::new(upstream));
        self.term.send_modify(|t| *t += 1);
        true
    }

    /// A fresh id for a new client connection (CLIENT ID, HELLO).
    pub fn next_client_id(&self) -> u64 {
        self.next_client_id.fetch_add(1, Ordering::Relaxed)
    }
}
