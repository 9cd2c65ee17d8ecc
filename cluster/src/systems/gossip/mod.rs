//! faultline's own node in `--mode gossip`: peer to peer, every node answers reads and writes
//! from its own data at once and gossips it to the others every [`GOSSIP_INTERVAL`], which merge
//! it (last writer wins for registers, union for sets, per-node counts for counters; the node's
//! `gossip` module has the protocol). Each client is bound to one node.
//!
//! What the checker finds: registers are not linearizable (a read on one node misses a write
//! another acknowledged until the next round, and a partition keeps the sides apart), but once
//! the faults heal the nodes converge — the final phase waits until every node reports the
//! same digest of its data — and no acknowledged add is lost from a set.

use super::leaderless;
use super::own::{log_args, own_node_basics};
use super::Persistence;
use crate::client::{Client, ClientOptions};
use crate::system::{
    judge_peers, DaemonSpec, NodeAddrs, NodePlan, NodeStatus, System, SystemOption, Unhealthy,
};
use std::path::PathBuf;

/// How often each node gossips with every peer whose data differs from its own.
pub const GOSSIP_INTERVAL: &str = "100ms";

/// Own nodes in `--mode gossip`.
#[derive(Debug, Clone)]
pub struct GossipSystem {
    /// The faultline binary.
    pub exe: PathBuf,
    /// Whether each node keeps its data in a log on disk, and when it is fsynced
    /// (`--persistence`).
    pub persistence: Persistence,
}

impl System for GossipSystem {
    fn position_unit(&self) -> &'static str {
        // Gossip nodes report a digest of their data, not a position.
        "writes"
    }

    fn daemons(&self, node: &NodePlan<'_>) -> Result<Vec<DaemonSpec>, String> {
        let mut extra = vec!["--gossip-interval".to_string(), GOSSIP_INTERVAL.into()];
        extra.extend(log_args(self.persistence, node.dir));
        Ok(vec![leaderless::daemon(&self.exe, node, "gossip", extra)])
    }

    own_node_basics!();

    fn judge(&self, nodes: &[(String, NodeAddrs, NodeStatus)]) -> Result<(), Unhealthy> {
        judge_peers(nodes)
    }

    fn noun(&self) -> &'static str {
        "own nodes in --mode gossip"
    }

    fn takes(&self, option: SystemOption) -> bool {
        matches!(
            option,
            SystemOption::Mode(_) | SystemOption::Cascade | SystemOption::Persistence
        )
    }

    fn check_clients(&self, _nodes: usize, clients: &ClientOptions) -> Result<(), String> {
        leaderless::check_read_from(clients, "gossip")
    }

    fn client(&self, nodes: &[NodeAddrs], worker: usize, opts: &ClientOptions) -> Client {
        leaderless::client(nodes, worker, opts)
    }

    fn node_client(&self, node: &NodeAddrs, opts: &ClientOptions) -> Client {
        leaderless::node_client(node, opts)
    }
}
