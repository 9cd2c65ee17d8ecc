//! faultline's own node (`faultline node`): one primary and replicas it streams writes to, over
//! RESP, with a `CAS` command of its own; it keeps registers, counters (`INCRBY`) and sets
//! (`SADD`, `SMEMBERS`), spoken to by the same RESP client as Redis.
//!
//! With `--failover auto` each node runs with `--failover-after` [`FAILOVER_AFTER`], its rank and
//! its peers as it reaches them: a replica that misses its primary promotes itself with no
//! consensus, and clients write to the primary in the highest epoch ([`locator`]).

pub mod locator;

use super::{Failover, Persistence};
use crate::client::BoxFuture;
use crate::client::{self, Client, ClientOptions};
use crate::replicaof;
use crate::resp_client::RespClient;
use crate::system::{
    judge_primary_replica, DaemonSpec, Follower, NodeAddrs, NodePlan, NodeStatus, System,
    SystemOption, Unhealthy,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// faultline's own node, started from the faultline binary itself.
#[derive(Debug, Clone)]
pub struct OwnSystem {
    /// The faultline binary.
    pub exe: PathBuf,
    /// How long replicas hold replication back (milliseconds), so replica reads go stale.
    pub replication_delay_ms: u64,
    /// Whether nodes keep a log on disk, and when it is fsynced (`--persistence`).
    pub persistence: Persistence,
    /// `none` (the first node stays the primary) or `auto` (`--failover`).
    pub failover: Failover,
}

/// With `--failover auto`: how long a replica's primary must be silent before it acts. Twice
/// the primary's heartbeat, so one lost heartbeat is not a failover; the node adds a second per
/// rank before promoting itself.
pub const FAILOVER_AFTER: &str = "2s";

/// An own node's options for `persistence`, in any design: `--log` in its directory `dir` and
/// its `--fsync`, or none for a node that keeps its data in memory.
pub(crate) fn log_args(persistence: Persistence, dir: &Path) -> Vec<String> {
    let fsync = match persistence {
        Persistence::None => return Vec::new(),
        Persistence::AofAlways => "always",
        Persistence::AofEverysec => "every-second",
        Persistence::AofNo => "never",
    };
    let log = dir.join("node.aof").display().to_string();
    vec!["--log".into(), log, "--fsync".into(), fsync.into()]
}

/// The [`System`] answers every design of the own node gives alike, for inside each design's
/// `impl System`: health by RESP `INFO`, one port for clients and peers (6379 on a host of its
/// own), proxy links between nodes, lies on request (`LIE`), and registers, sets and counters.
macro_rules! own_node_basics {
    () => {
        fn status<'a>(
            &'a self,
            addrs: &'a $crate::system::NodeAddrs,
            timeout: std::time::Duration,
        ) -> $crate::system::StatusFuture<'a> {
            Box::pin($crate::probe::resp_status(addrs.client, timeout))
        }

        fn ports(&self) -> $crate::system::PortPlan {
            $crate::system::PortPlan {
                peer_is_client: true,
                netns: (6379, 6379),
                helper: None,
            }
        }

        fn proxy(&self) -> $crate::system::ProxyKind {
            $crate::system::ProxyKind::Links
        }

        fn can_lie(&self) -> bool {
            true
        }

        fn lie(
            &self,
            node: &$crate::system::NodeAddrs,
            on: bool,
            timeout: std::time::Duration,
        ) -> Result<(), String> {
            $crate::systems::own::lie(node, on, timeout)
        }

        fn operations(&self) -> &'static [workloads::Operations] {
            &[
                workloads::Operations::Register,
                workloads::Operations::Set,
                workloads::Operations::Counter,
            ]
        }
    };
}
pub(crate) use own_node_basics;

/// The own node's compare-and-set: its `CAS` command answers 1 when it swapped.
pub(crate) fn cas(key: &str, expected: i64, new: i64) -> redis::Cmd {
    redis::cmd("CAS").arg(key).arg(expected).arg(new).clone()
}

/// `LIE ON|OFF` to an own node of any design, sent and answered in plain blocking I/O: the
/// nemesis asks it between two waits, and a node's answer on its client port is a few bytes away.
pub(crate) fn lie(node: &NodeAddrs, on: bool, timeout: Duration) -> Result<(), String> {
    use std::io::{Read, Write};
    let word = if on { "ON" } else { "OFF" };
    let failed = |e: std::io::Error| format!("LIE {word} to {}: {e}", node.client);
    let mut s = std::net::TcpStream::connect_timeout(&node.client, timeout).map_err(failed)?;
    s.set_read_timeout(Some(timeout)).map_err(failed)?;
    s.set_write_timeout(Some(timeout)).map_err(failed)?;
    let request = format!("*2\r\n$3\r\nLIE\r\n${}\r\n{word}\r\n", word.len());
    s.write_all(request.as_bytes()).map_err(failed)?;
    let mut answer = [0u8; 5];
    s.read_exact(&mut answer).map_err(failed)?;
    match &answer {
        b"+OK\r\n" => Ok(()),
        other => Err(format!(
            "LIE {word} to {}: answered {:?}",
            node.client,
            String::from_utf8_lossy(other)
        )),
    }
}

impl System for OwnSystem {
    fn position_unit(&self) -> &'static str {
        // A node's offset is the number of the last write it applied.
        "writes"
    }

    fn daemons(&self, node: &NodePlan<'_>) -> Result<Vec<DaemonSpec>, String> {
        let addr = node.addrs.client;
        let mut args = vec![
            "node".to_string(),
            "--name".into(),
            node.name.into(),
            "--bind".into(),
            addr.ip().to_string(),
            "--port".into(),
            addr.port().to_string(),
            "--replication-delay".into(),
            format!("{}ms", self.replication_delay_ms),
        ];
        if node.index > 0 {
            args.extend(["--replica-of".into(), node.first().peer.to_string()]);
        }
        if self.failover == Failover::Auto {
            args.extend([
                "--failover-after".into(),
                FAILOVER_AFTER.into(),
                "--rank".into(),
                node.index.to_string(),
            ]);
            for (name, peer) in &node.peers {
                if name != node.name {
                    args.extend(["--peer".into(), peer.peer.to_string()]);
                }
            }
        }
        args.extend(log_args(self.persistence, node.dir));
        Ok(vec![DaemonSpec::server(
            self.exe.clone(),
            args,
            addr.port().to_string(),
        )])
    }

    own_node_basics!();

    fn judge(&self, nodes: &[(String, NodeAddrs, NodeStatus)]) -> Result<(), Unhealthy> {
        judge_primary_replica(nodes)
    }

    fn noun(&self) -> &'static str {
        "own nodes"
    }

    fn takes(&self, option: SystemOption) -> bool {
        matches!(
            option,
            SystemOption::ReplicationDelay
                | SystemOption::Persistence
                | SystemOption::Failover(Failover::None | Failover::Auto)
                | SystemOption::Mode(_)
        )
    }

    fn check_cluster(&self, nodes: usize) -> Result<(), String> {
        if self.failover == Failover::Auto && nodes < 2 {
            return Err("--failover auto: needs --nodes 2 or more, a replica to promote".into());
        }
        Ok(())
    }

    /// One primary takes every write; reads from it see them all.
    fn linearizable(&self, clients: &ClientOptions) -> bool {
        clients.read_from == client::ReadFrom::Primary
    }

    fn client(&self, nodes: &[NodeAddrs], worker: usize, opts: &ClientOptions) -> Client {
        let clients: Vec<_> = nodes.iter().map(|n| n.client).collect();
        let reader = client::read_addr(&clients, opts.read_from, worker);
        let resp = RespClient::new(cas, clients[0], reader, opts.timeout);
        Client::new(match self.failover {
            Failover::Auto => resp.with_locator(locator::EpochLocator::new(clients)),
            Failover::None | Failover::Sentinel => resp,
        })
    }

    fn node_client(&self, node: &NodeAddrs, opts: &ClientOptions) -> Client {
        Client::new(RespClient::new(cas, node.client, node.client, opts.timeout))
    }

    fn promote<'a>(
        &'a self,
        name: &'a str,
        node: &'a NodeAddrs,
        followers: Vec<Follower>,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Vec<String>, String>> {
        Box::pin(async move { replicaof::promote(name, node, &followers, timeout).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn replica_points_at_the_first_node_as_it_reaches_it() {
        let addrs = |port: u16| NodeAddrs {
            client: format!("127.0.0.1:{port}").parse().unwrap(),
            peer: format!("127.0.0.1:{port}").parse().unwrap(),
            sentinel: None,
            announced: None,
        };
        let plan = NodePlan {
            name: "n2",
            index: 1,
            addrs: addrs(7002),
            peers: vec![("n1".into(), addrs(9001)), ("n2".into(), addrs(7002))],
            dir: Path::new("/tmp/x"),
            token: "t",
            source_ip: None,
            remote: false,
        };
        let mut target = OwnSystem {
            exe: "/bin/faultline".into(),
            replication_delay_ms: 250,
            persistence: Persistence::None,
            failover: Failover::None,
        };
        let d = target.daemons(&plan).unwrap();
        assert!(!d[0].launch.args.iter().any(|a| a == "--log"));
        target.persistence = Persistence::AofNo;
        let d = target.daemons(&plan).unwrap();
        let args = &d[0].launch.args;
        assert!(args
            .windows(4)
            .any(|w| w == ["--log", "/tmp/x/node.aof", "--fsync", "never"]));
        assert_eq!(args[0], "node");
        assert!(args
            .windows(2)
            .any(|w| w == ["--replica-of", "127.0.0.1:9001"]));
        assert!(args
            .windows(2)
            .any(|w| w == ["--replication-delay", "250ms"]));
        assert_eq!(d[0].marker, "7002");
        assert!(!args.iter().any(|a| a == "--failover-after"));
        target.failover = Failover::Auto;
        let d = target.daemons(&plan).unwrap();
        let args = &d[0].launch.args;
        assert!(args.windows(2).any(|w| w == ["--failover-after", "2s"]));
        assert!(args.windows(2).any(|w| w == ["--rank", "1"]));
        let peers: Vec<&String> = args
            .windows(2)
            .filter(|w| w[0] == "--peer")
            .map(|w| &w[1])
            .collect();
        assert_eq!(
            peers,
            ["127.0.0.1:9001"],
            "every node but itself, as it reaches them"
        );
    }
}
