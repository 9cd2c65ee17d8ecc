//! The command line of `faultline node`.

use crate::mode::Mode;
use crate::record_log::Fsync;
use std::path::PathBuf;
use std::time::Duration;

/// Command-line arguments of `faultline node`.
#[derive(clap::Args, Debug, Clone)]
pub struct NodeArgs {
    /// The replication design: async (a primary streams its writes to replicas), quorum
    /// (leaderless: every node coordinates reads and writes over its --peer nodes) or gossip
    /// (every node answers alone and gossips its data to its --peer nodes).
    #[arg(long, value_enum, default_value = "async")]
    pub mode: Mode,
    /// Name used in logs (e.g. n1).
    #[arg(long, default_value = "n1")]
    pub name: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Port to listen on.
    #[arg(long)]
    pub port: u16,
    /// Replicate from this primary (HOST:PORT); without it the node is a primary.
    #[arg(long)]
    pub replica_of: Option<String>,
    /// Hold the replication stream back by this long (e.g. 200ms) so replica reads go stale.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "0ms")]
    pub replication_delay: Duration,
    /// Keep every write in this append-only file and recover from it at start; without it the
    /// data lives in memory only and a restarted node comes back empty.
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// With --log: when writes reach the disk (always: before each is acknowledged;
    /// every-second; never: they wait in the node's buffer, so a kill -9 loses them).
    #[arg(long, value_enum, default_value = "every-second")]
    pub fsync: Fsync,
    /// Automatic failover, with no consensus: a replica whose primary has been silent this long
    /// (plus a second per --rank) promotes itself; every node follows the newest primary among
    /// its --peer nodes. Longer than the primary's 1 s heartbeat.
    #[arg(long, value_parser = humantime::parse_duration, requires = "peer")]
    pub failover_after: Option<Duration>,
    /// Another node, HOST:PORT as this node reaches it (repeat per node): the nodes a
    /// failover probes (--failover-after), or the replicas a quorum node coordinates over.
    #[arg(long)]
    pub peer: Vec<String>,
    /// With --failover-after: this node's rank, 0 for the first node; staggers promotions so
    /// that usually one replica promotes and the others follow it.
    #[arg(long, default_value_t = 0)]
    pub rank: u32,
    /// --mode quorum: replicas that must answer a read, this node included (default: a majority).
    #[arg(long)]
    pub read_quorum: Option<usize>,
    /// --mode quorum: replicas that must acknowledge a write, this node included (default: a
    /// majority).
    #[arg(long)]
    pub write_quorum: Option<usize>,
    /// --mode quorum: how long a coordinator waits for its quorum before it answers NOQUORUM
    /// or UNCERTAIN.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "1s")]
    pub quorum_timeout: Duration,
    /// --mode gossip: how often a node pushes its data to each peer whose data differs.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "100ms")]
    pub gossip_interval: Duration,
}
