//! The systems faultline can test: each is one implementation of [`Target`], a small interface
//! saying how a node's daemons start, how to ask a node its role and replication position, and
//! when the cluster as a whole is healthy.
//!
//! `own` ([`own`]): faultline's own node. `redis` ([`redis`]): Debian's `redis-server`, one
//! primary and replicas, optionally with a `redis-sentinel` beside each node ([`sentinel`]).
//! `etcd` ([`etcd`]): a static etcd 3.4 cluster, one member per node.

pub mod etcd;
pub mod own;
pub mod redis;
pub mod sentinel;

use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

/// Which system a cluster runs (`--target`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// faultline's own node (`faultline node`).
    Own,
    /// Debian's `redis-server`, one primary and replicas via `replicaof`.
    Redis,
    /// Debian's `etcd` 3.4, one member per node.
    Etcd,
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Spelled as on the command line: clap's derive is the one list of names.
        f.write_str(
            self.to_possible_value()
                .expect("no skipped variant")
                .get_name(),
        )
    }
}

/// Which node a client's reads go to (`--read-from`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ReadFrom {
    /// The primary, like writes.
    Primary,
    /// A replica (clients are spread over the replicas).
    Replica,
    /// Any node (clients are spread over all nodes).
    Any,
}

/// How the system fails over when its primary is lost (`--failover`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Failover {
    /// Nothing promotes a replica: the first node stays the primary.
    #[default]
    None,
    /// A Redis Sentinel beside each node promotes a replica when a majority of them agree.
    Sentinel,
}

/// Redis persistence (`--persistence`): none, or the append-only file with its fsync policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Persistence {
    /// No RDB snapshots, no AOF: a killed node comes back empty and resyncs.
    #[default]
    None,
    /// AOF, fsync after every write.
    AofAlways,
    /// AOF, fsync once a second.
    AofEverysec,
    /// AOF, fsync left to the kernel.
    AofNo,
}

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

/// Everything a target needs to lay out one node's daemons.
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

/// A node's role as it reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Takes writes (Redis master, etcd leader).
    Primary,
    /// Follows a primary (Redis replica, etcd follower).
    Replica,
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

/// A boxed future, so that [`Target`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One system faultline can test.
pub trait Target: Send + Sync + fmt::Debug {
    /// Its `--target` name.
    fn kind(&self) -> TargetKind;
    /// The daemons of one node, its server first. Errors name a missing binary's Debian package.
    fn daemons(&self, node: &NodePlan<'_>) -> Result<Vec<DaemonSpec>, String>;
    /// What a step of [`NodeStatus::position`] counts, for messages ("8,966 bytes behind").
    fn position_unit(&self) -> &'static str;
    /// Asks one node its role and replication position, within `timeout`.
    fn status<'a>(
        &'a self,
        addrs: &'a NodeAddrs,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<NodeStatus, String>>;
    /// Whether the cluster is healthy, given every node's status (each node answered).
    fn judge(&self, nodes: &[(String, NodeAddrs, NodeStatus)]) -> Result<(), Unhealthy>;
}

/// Options that shape a target beyond its kind.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TargetOptions {
    /// Redis: how failover happens.
    #[serde(default)]
    pub failover: Failover,
    /// Redis: persistence.
    #[serde(default)]
    pub persistence: Persistence,
    /// Own nodes: how long replication is held back, in milliseconds.
    #[serde(default)]
    pub replication_delay_ms: u64,
    /// The faultline binary, started as `faultline node` for own nodes.
    #[serde(default)]
    pub own_exe: PathBuf,
}

/// The target `kind` shaped by `options`.
pub fn build(kind: TargetKind, options: &TargetOptions) -> Box<dyn Target> {
    match kind {
        TargetKind::Own => Box::new(own::OwnTarget {
            exe: options.own_exe.clone(),
            replication_delay_ms: options.replication_delay_ms,
        }),
        TargetKind::Redis => Box::new(redis::RedisTarget {
            failover: options.failover,
            persistence: options.persistence,
        }),
        TargetKind::Etcd => Box::new(etcd::EtcdTarget),
    }
}

/// The usual ports of a node in netns mode, where each node has an address of its own.
pub fn netns_ports(kind: TargetKind) -> (u16, u16) {
    match kind {
        TargetKind::Etcd => (2379, 2380),
        TargetKind::Own | TargetKind::Redis => (6379, 6379),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_are_spelled_as_serialised() {
        // results.json (serde) and the command line (clap) must spell every choice alike.
        fn same<T: ValueEnum + Serialize + fmt::Display>() {
            for v in T::value_variants() {
                let json = serde_json::to_value(v).unwrap();
                assert_eq!(json.as_str(), Some(v.to_string().as_str()));
                assert!(T::from_str(&v.to_string(), false).is_ok());
            }
        }
        same::<TargetKind>();
        assert_eq!(TargetKind::from_str("etcd", false), Ok(TargetKind::Etcd));
        let aof = serde_json::to_value(Persistence::AofEverysec).unwrap();
        let name = Persistence::AofEverysec.to_possible_value().unwrap();
        assert_eq!(aof.as_str(), Some(name.get_name()));
    }

    fn status(role: Role, link_up: Option<bool>) -> NodeStatus {
        NodeStatus {
            role,
            link_up,
            position: None,
            leader: None,
            sentinel: None,
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
