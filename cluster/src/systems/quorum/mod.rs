//! faultline's own node in `--mode quorum`: a leaderless cluster in which every node takes reads
//! and writes and coordinates each over read and write quorums (the node's `quorum` module has
//! the protocol). Each client is bound to one node, the clients spread over all of them, so a
//! partition leaves some clients with a minority that can only answer `NOQUORUM`.
//!
//! What the checker finds, by settings: with majorities (the default) reads and writes alone are
//! linearizable, faults or not; `CAS` and `INCRBY` (a quorum read, then a quorum write) are not,
//! and neither is anything with `--read-quorum` + `--write-quorum` ≤ `--nodes`.

use super::leaderless;
use super::own::{log_args, own_node_basics};
use super::Persistence;
use crate::client::{Client, ClientOptions};
use crate::system::{
    judge_peers, DaemonSpec, NodeAddrs, NodePlan, NodeStatus, System, SystemOption, Unhealthy,
};
use std::path::PathBuf;

/// How long a node waits for its quorum: well inside a client's default 1 s, so a client hears
/// `NOQUORUM` or `UNCERTAIN` from the node rather than timing out itself.
pub const QUORUM_TIMEOUT: &str = "500ms";

/// Own nodes in `--mode quorum`.
#[derive(Debug, Clone)]
pub struct QuorumSystem {
    /// The faultline binary.
    pub exe: PathBuf,
    /// Replicas a read waits for (`--read-quorum`); the node's default, a majority, if unset.
    pub read_quorum: Option<usize>,
    /// Replicas a write waits for (`--write-quorum`); a majority if unset.
    pub write_quorum: Option<usize>,
    /// Whether each replica keeps its data in a log on disk, and when it is fsynced
    /// (`--persistence`).
    pub persistence: Persistence,
}

impl System for QuorumSystem {
    fn position_unit(&self) -> &'static str {
        // Leaderless nodes report no replication position.
        "writes"
    }

    fn daemons(&self, node: &NodePlan<'_>) -> Result<Vec<DaemonSpec>, String> {
        let mut extra = vec!["--quorum-timeout".to_string(), QUORUM_TIMEOUT.into()];
        let sizes = [
            ("--read-quorum", self.read_quorum),
            ("--write-quorum", self.write_quorum),
        ];
        for (option, size) in sizes {
            if let Some(size) = size {
                extra.extend([option.into(), size.to_string()]);
            }
        }
        extra.extend(log_args(self.persistence, node.dir));
        Ok(vec![leaderless::daemon(&self.exe, node, "quorum", extra)])
    }

    own_node_basics!();

    fn judge(&self, nodes: &[(String, NodeAddrs, NodeStatus)]) -> Result<(), Unhealthy> {
        judge_peers(nodes)
    }

    fn noun(&self) -> &'static str {
        "own nodes in --mode quorum"
    }

    fn takes(&self, option: SystemOption) -> bool {
        matches!(
            option,
            SystemOption::Mode(_) | SystemOption::Cascade | SystemOption::Persistence
        )
    }

    fn check_cluster(&self, nodes: usize) -> Result<(), String> {
        let sizes = [
            ("--read-quorum", self.read_quorum),
            ("--write-quorum", self.write_quorum),
        ];
        for (option, size) in sizes {
            if let Some(size) = size.filter(|&s| s == 0 || s > nodes) {
                return Err(format!("{option} {size}: must be 1 to {nodes} (--nodes)"));
            }
        }
        Ok(())
    }

    fn check_clients(&self, _nodes: usize, clients: &ClientOptions) -> Result<(), String> {
        leaderless::check_read_from(clients, "quorum")
    }

    fn client(&self, nodes: &[NodeAddrs], worker: usize, opts: &ClientOptions) -> Client {
        leaderless::client(nodes, worker, opts)
    }

    fn node_client(&self, node: &NodeAddrs, opts: &ClientOptions) -> Client {
        leaderless::node_client(node, opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn every_node_lists_the_others_as_it_reaches_them_and_the_sizes_asked_for() {
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
            peers: vec![
                ("n1".into(), addrs(9001)),
                ("n2".into(), addrs(7002)),
                ("n3".into(), addrs(9003)),
            ],
            dir: Path::new("/tmp/x"),
            token: "t",
            source_ip: None,
            remote: false,
        };
        let mut system = QuorumSystem {
            exe: "/bin/faultline".into(),
            read_quorum: None,
            write_quorum: Some(3),
            persistence: Persistence::None,
        };
        let d = system.daemons(&plan).unwrap();
        let args = &d[0].launch.args;
        assert!(args.windows(2).any(|w| w == ["--mode", "quorum"]));
        let peers: Vec<&String> = args
            .windows(2)
            .filter(|w| w[0] == "--peer")
            .map(|w| &w[1])
            .collect();
        assert_eq!(peers, ["127.0.0.1:9001", "127.0.0.1:9003"]);
        assert!(args.windows(2).any(|w| w == ["--write-quorum", "3"]));
        assert!(!args.iter().any(|a| a == "--read-quorum"));
        assert!(!args.iter().any(|a| a == "--log"));
        system.persistence = Persistence::AofAlways;
        let d = system.daemons(&plan).unwrap();
        assert!(d[0]
            .launch
            .args
            .windows(4)
            .any(|w| w == ["--log", "/tmp/x/node.aof", "--fsync", "always"]));
        assert_eq!(system.check_cluster(3), Ok(()));
        system.read_quorum = Some(4);
        assert_eq!(
            system.check_cluster(3).unwrap_err(),
            "--read-quorum 4: must be 1 to 3 (--nodes)"
        );
    }
}
