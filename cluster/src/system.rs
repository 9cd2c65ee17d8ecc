//! What a system under test is to the cluster: one implementation of [`System`], a small
//! interface saying how a node's daemons start, how to ask a node its role and replication
//! position, when the cluster as a whole is healthy, where its nodes listen and how the fault
//! proxy stands before them, which options and client operations it takes, and the client a
//! worker drives. The systems themselves, one folder each, are in [`crate::systems`].

use crate::client::{BoxFuture, Client, ClientOptions};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;
use workloads::Operations;

/// How one daemon is started: program and arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Launch {
    /// The program to run.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
}

/// One daemon of a node: what it is, how it starts, and the files it needs first.
#[derive(Debug, Clone)]
pub struct DaemonSpec {
    /// Its role on the node: `server` for the system itself, else a helper such as `sentinel`.
    pub role: &'static str,
    /// How it starts.
    pub launch: Launch,
    /// A string its command line always contains (its port), so a later faultline adopting it
    /// by pid can tell it is still the same process.
    pub marker: String,
    /// Files written (through the node's control) before it starts: path and contents.
    pub files: Vec<(PathBuf, String)>,
}

impl DaemonSpec {
    /// The system's own server on a node: `program args`, known again by `marker`, no files.
    pub fn server(program: PathBuf, args: Vec<String>, marker: String) -> DaemonSpec {
        DaemonSpec {
            role: "server",
            launch: Launch { program, args },
            marker,
            files: Vec::new(),
        }
    }
}

/// Where one node listens, as the cluster laid it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeAddrs {
    /// Where clients reach it.
    pub client: SocketAddr,
    /// Where its peers reach it (etcd's peer port; the client address for the others).
    pub peer: SocketAddr,
    /// Its sentinel, with `--failover sentinel`.
    pub sentinel: Option<SocketAddr>,
    /// Where other nodes are told its client address is, when that differs from `client`: the
    /// proxy's front before it.
    #[serde(default)]
    pub announced: Option<SocketAddr>,
}

/// Everything a system needs to lay out one node's daemons.
pub struct NodePlan<'a> {
    /// The node's name (n1, n2, …).
    pub name: &'a str,
    /// Its position: 0 is the first node, the initial primary.
    pub index: usize,
    /// Where it listens.
    pub addrs: NodeAddrs,
    /// Every node's name and addresses, as *this* node reaches them (through the fault proxy in
    /// proxy mode), its own included.
    pub peers: Vec<(String, NodeAddrs)>,
    /// The node's own directory (data, logs, configuration).
    pub dir: &'a Path,
    /// A token unique to this cluster (etcd's cluster token).
    pub token: &'a str,
    /// The address the node's daemons bind their outgoing connections to, so that the proxy's
    /// fronts can tell which node connected (proxy mode with Sentinel).
    pub source_ip: Option<IpAddr>,
    /// The node runs on a remote host: its programs are found on that host's PATH, not on
    /// this machine's (which need not have them).
    pub remote: bool,
}

impl NodePlan<'_> {
    /// The first node (the initial primary) as this node reaches it.
    pub fn first(&self) -> &NodeAddrs {
        &self.peers[0].1
    }

    /// This node as every node reaches it (its own fronts in proxy mode with fronts).
    pub fn me(&self) -> &NodeAddrs {
        &self.peers[self.index].1
    }
}

/// One node to point at the new primary: its name, its addresses, and the new primary's address
/// as that node reaches it (through the fault proxy in proxy mode).
#[derive(Debug, Clone)]
pub struct Follower {
    /// Its name.
    pub name: String,
    /// Where it listens.
    pub addrs: NodeAddrs,
    /// The new primary as it reaches it.
    pub primary: SocketAddr,
}

/// A node's role as it reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Takes writes (Redis master, etcd leader).
    Primary,
    /// Follows a primary (Redis replica, etcd follower).
    Replica,
    /// One of equals in a leaderless cluster: takes reads and writes, follows no one.
    Peer,
}

/// What a node says about itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeStatus {
    /// Primary or replica.
    pub role: Role,
    /// For a replica: whether its link to the primary is up, where the system says.
    pub link_up: Option<bool>,
    /// Its replication position: Redis's replication offset, etcd's raft index.
    pub position: Option<i64>,
    /// Whom it follows, as the system names it (a Redis master's address, an etcd leader id).
    pub leader: Option<String>,
    /// With Sentinel: what this node's sentinel believes.
    pub sentinel: Option<SentinelView>,
    /// An own node's epoch: of several primaries, the one in the highest epoch is the newest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
    /// A gossip node's digest of its data: peers holding the same data report the same one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// How the node resolves concurrent writes, as it states it (`conflict_rule:`), where it
    /// takes writes that may conflict (a gossip peer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict_rule: Option<String>,
}

/// One sentinel's view of the monitored primary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SentinelView {
    /// The primary's address as the sentinel has it.
    pub primary: SocketAddr,
    /// How many other sentinels it knows.
    pub other_sentinels: usize,
    /// Its flags for the primary (`master`, `s_down`, `o_down`, …).
    pub flags: String,
}

/// Why a cluster is not healthy, and the node at fault when one is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unhealthy {
    /// The node at fault, by name; `None` when the fault is the cluster's as a whole.
    pub node: Option<String>,
    /// What is wrong.
    pub why: String,
}

impl Unhealthy {
    /// A fault of the cluster as a whole (no primary, disagreement).
    pub fn cluster(why: impl Into<String>) -> Self {
        Unhealthy {
            node: None,
            why: why.into(),
        }
    }

    /// A fault of one node.
    pub fn node(name: &str, why: impl Into<String>) -> Self {
        Unhealthy {
            node: Some(name.to_string()),
            why: why.into(),
        }
    }
}

impl fmt::Display for Unhealthy {
    /// `n2: replication link down`, or the reason alone.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.node {
            Some(node) => write!(f, "{node}: {}", self.why),
            None => f.write_str(&self.why),
        }
    }
}

/// Where a system's nodes listen, as the cluster lays them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortPlan {
    /// Whether peers reach a node at its client address (else at a peer port of its own).
    pub peer_is_client: bool,
    /// The usual client and peer ports in netns mode, where each node has an address of its own.
    pub netns: (u16, u16),
    /// A helper daemon beside each node listening on a port of its own (a sentinel), with its
    /// usual port in netns mode.
    pub helper: Option<u16>,
}

/// How the fault proxy (`--net proxy`) tells which node a connection between nodes comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    /// A listener per directed pair: each node is configured with the link it uses.
    Links,
    /// A front per node address that tells nodes by the source address their daemons bind to.
    FrontsBySource,
    /// A front per node address that tells nodes by a header naming the sender's member id,
    /// learned through [`System::member_ids`] once the cluster is up.
    FrontsByHeader,
}

/// An option of a run or a cluster that only some systems take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemOption {
    /// `--replication-delay`.
    ReplicationDelay,
    /// `--failover` with this choice.
    Failover(crate::systems::failover::Failover),
    /// `--persistence`.
    Persistence,
    /// `--wait-replicas`.
    WaitReplicas,
    /// `--read-consistency serializable`.
    ReadConsistency,
    /// `--mode` with this choice.
    Mode(crate::systems::mode::Mode),
    /// `--cascade`.
    Cascade,
}

impl SystemOption {
    /// The error for this option used with a system that does not take it; `takers` names the
    /// systems that do ("redis", "redis or etcd").
    pub fn refused(self, takers: &str) -> String {
        format!("{}: applies to --target {takers} only", self.flag())
    }

    /// The option as written on the command line (`--failover auto`).
    pub fn flag(self) -> String {
        match self {
            SystemOption::ReplicationDelay => "--replication-delay".to_string(),
            SystemOption::Failover(choice) => format!("--failover {choice}"),
            SystemOption::Persistence => "--persistence".into(),
            SystemOption::WaitReplicas => "--wait-replicas".into(),
            SystemOption::ReadConsistency => "--read-consistency".into(),
            SystemOption::Mode(choice) => format!("--mode {choice}"),
            SystemOption::Cascade => "--cascade".into(),
        }
    }
}

/// A node's answer to [`System::status`], on its way.
pub type StatusFuture<'a> = BoxFuture<'a, Result<NodeStatus, String>>;

/// One system faultline can test.
pub trait System: Send + Sync + fmt::Debug {
    /// The daemons of one node, its server first. Errors name a missing binary's Debian package.
    fn daemons(&self, node: &NodePlan<'_>) -> Result<Vec<DaemonSpec>, String>;
    /// What a step of [`NodeStatus::position`] counts, for messages ("8,966 bytes behind").
    fn position_unit(&self) -> &'static str;
    /// Asks one node its role and replication position, within `timeout`.
    fn status<'a>(&'a self, addrs: &'a NodeAddrs, timeout: Duration) -> StatusFuture<'a>;
    /// Whether the cluster is healthy, given every node's status (each node answered).
    fn judge(&self, nodes: &[(String, NodeAddrs, NodeStatus)]) -> Result<(), Unhealthy>;
    /// Where its nodes listen.
    fn ports(&self) -> PortPlan;
    /// How the fault proxy stands before its nodes.
    fn proxy(&self) -> ProxyKind;
    /// With [`ProxyKind::FrontsByHeader`]: every member's id and node name, asked of the node
    /// whose client address is `client`.
    fn member_ids<'a>(
        &'a self,
        client: SocketAddr,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Vec<(u64, String)>, String>> {
        let _ = (client, timeout);
        Box::pin(async { Ok(Vec::new()) })
    }
    /// How its nodes are named in messages ("own nodes").
    fn noun(&self) -> &'static str;
    /// Whether its nodes can be made to lie (`--nemesis byzantine`).
    fn can_lie(&self) -> bool {
        false
    }
    /// Makes the node at `node` lie (`true`: its reads answer values nobody wrote) or tell the
    /// truth again, within `timeout`.
    fn lie(&self, node: &NodeAddrs, on: bool, timeout: Duration) -> Result<(), String> {
        let _ = (node, on, timeout);
        Err(format!("{} cannot be made to lie", self.noun()))
    }
    /// The client operations its client offers (a workload runs on it if it offers the ones the
    /// workload needs).
    fn operations(&self) -> &'static [Operations];
    /// Whether it takes `option`.
    fn takes(&self, option: SystemOption) -> bool;
    /// Whether, with clients shaped by `clients`, it promises linearizable reads and writes, so
    /// that a workload is judged by its linearizable model.
    fn linearizable(&self, clients: &ClientOptions) -> bool {
        let _ = clients;
        false
    }
    /// Its own rules on a cluster of `nodes` nodes shaped as it was built; errors name the
    /// option.
    fn check_cluster(&self, nodes: usize) -> Result<(), String> {
        let _ = nodes;
        Ok(())
    }
    /// Its own rules on the clients' options for a cluster of `nodes` nodes; errors name the
    /// option.
    fn check_clients(&self, nodes: usize, clients: &ClientOptions) -> Result<(), String> {
        let _ = (nodes, clients);
        Ok(())
    }
    /// The client of worker `worker` of a cluster whose nodes (primary first) are at `nodes`.
    fn client(&self, nodes: &[NodeAddrs], worker: usize, opts: &ClientOptions) -> Client;
    /// A client that reads only from the node at `node` (final reads, node by node).
    fn node_client(&self, node: &NodeAddrs, opts: &ClientOptions) -> Client;
    /// A manual failover: makes node `name` (at `node`) the primary and points `followers` at
    /// it, each within `timeout`; returns what was done, a line per step.
    fn promote<'a>(
        &'a self,
        name: &'a str,
        node: &'a NodeAddrs,
        followers: Vec<Follower>,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Vec<String>, String>> {
        let _ = (name, node, followers, timeout);
        let noun = self.noun();
        Box::pin(async move { Err(format!("{noun} have no manual failover")) })
    }
    /// Whether faultline can attach to a running cluster of it (`--attach`), whose keys it then
    /// counts and removes by prefix ([`System::keys_under`]).
    fn can_attach(&self) -> bool {
        false
    }
    /// The program its server runs as (the file name of the command line's first word, or of
    /// the executable), by which an attached node's process is recognized before faultline
    /// ever signals it; `None` for a system that cannot be attached to.
    fn server_program(&self) -> Option<&'static str> {
        None
    }
    /// Does `action` to the keys whose names start with `prefix`, through the primary at
    /// `primary`, and to no other key; returns how many keys it counted or deleted.
    fn keys_under<'a>(
        &'a self,
        primary: &'a NodeAddrs,
        prefix: &'a str,
        action: KeysAction,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<u64, String>> {
        let _ = (primary, prefix, action, timeout);
        let noun = self.noun();
        Box::pin(async move { Err(format!("{noun} cannot be attached to")) })
    }
}

/// What [`System::keys_under`] does to the keys under a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeysAction {
    /// Counts them (before a run: its prefix must be unused).
    Count,
    /// Deletes them (after a run, unless `--keep-data`).
    Delete,
}

/// The health rule of a primary/replica system: exactly one primary, every replica linked.
pub fn judge_primary_replica(nodes: &[(String, NodeAddrs, NodeStatus)]) -> Result<(), Unhealthy> {
    let primaries: Vec<&str> = nodes
        .iter()
        .filter(|(_, _, s)| s.role == Role::Primary)
        .map(|(n, _, _)| n.as_str())
        .collect();
    match primaries[..] {
        [_] => {}
        [] => return Err(Unhealthy::cluster("no node is the primary")),
        _ => {
            return Err(Unhealthy::cluster(format!(
                "several nodes are primaries: {}",
                primaries.join(", ")
            )))
        }
    }
    for (name, _, status) in nodes {
        if status.role == Role::Replica && status.link_up != Some(true) {
            return Err(Unhealthy::node(name, "replication link down"));
        }
    }
    Ok(())
}

/// The health rule of a leaderless cluster: every node answered and stands as a peer.
pub fn judge_peers(nodes: &[(String, NodeAddrs, NodeStatus)]) -> Result<(), Unhealthy> {
    match nodes.iter().find(|(_, _, s)| s.role != Role::Peer) {
        Some((name, _, status)) => Err(Unhealthy::node(
            name,
            format!(
                "stands as {:?}, not as a peer of a leaderless cluster",
                status.role
            ),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(role: Role, link_up: Option<bool>) -> NodeStatus {
        NodeStatus {
            role,
            link_up,
            position: None,
            leader: None,
            sentinel: None,
            epoch: None,
            digest: None,
            conflict_rule: None,
        }
    }

    #[test]
    fn primary_replica_health_wants_one_primary_and_linked_replicas() {
        let a: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let addrs = NodeAddrs {
            client: a,
            peer: a,
            sentinel: None,
            announced: None,
        };
        let n = |name: &str, s| (name.to_string(), addrs, s);
        let ok = [
            n("n1", status(Role::Primary, None)),
            n("n2", status(Role::Replica, Some(true))),
        ];
        assert!(judge_primary_replica(&ok).is_ok());
        let two = [
            n("n1", status(Role::Primary, None)),
            n("n2", status(Role::Primary, None)),
        ];
        let several = judge_primary_replica(&two).unwrap_err();
        assert_eq!(several.node, None);
        assert!(several.why.contains("n1, n2"));
        let down = [
            n("n1", status(Role::Primary, None)),
            n("n2", status(Role::Replica, Some(false))),
        ];
        assert_eq!(
            judge_primary_replica(&down).unwrap_err(),
            Unhealthy::node("n2", "replication link down")
        );
        assert_eq!(
            judge_primary_replica(&down[1..]).unwrap_err().to_string(),
            "no node is the primary"
        );
    }
}
