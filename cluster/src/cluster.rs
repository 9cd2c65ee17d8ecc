//! A running cluster: its nodes' processes, readiness, health, and teardown.

use crate::probe;
use crate::process::NodeProcess;
use crate::spec::ClusterSpec;
use crate::target::{NodePlan, ReadFrom};
use nix::sys::signal::Signal;
use std::path::PathBuf;
use std::time::Duration;

/// Why a cluster could not be started or used.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The target's server binary is not installed.
    #[error("{0}")]
    MissingBinary(String),
    /// A node directory or process could not be created.
    #[error("cannot start node {node}: {source}")]
    Start {
        /// The node.
        node: String,
        /// What failed.
        source: std::io::Error,
    },
    /// A node did not become ready in time; its log's last lines are included.
    #[error(
        "node {node} not ready within {timeout:?}: {why}\n--- last lines of {log} ---\n{tail}"
    )]
    NotReady {
        /// The node.
        node: String,
        /// How long it was given.
        timeout: Duration,
        /// The last probe's answer.
        why: String,
        /// Its log file.
        log: String,
        /// The end of its log.
        tail: String,
    },
}

/// One node of a running cluster.
#[derive(Debug)]
pub struct Node {
    /// Its name (n1, n2, …); n1 is the primary.
    pub name: String,
    /// Its loopback port.
    pub port: u16,
    /// Its directory (log, data).
    pub dir: PathBuf,
    process: NodeProcess,
}

impl Node {
    /// Process id of the node's server.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }
}

/// A started cluster; dropping it stops every node.
#[derive(Debug)]
pub struct Cluster {
    spec: ClusterSpec,
    nodes: Vec<Node>,
}

/// How long a single health probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_millis(1000);

impl Cluster {
    /// Starts every node of `spec` and waits until the primary answers and every replica's link is up.
    pub async fn start(spec: ClusterSpec) -> Result<Cluster, ClusterError> {
        let ports = free_ports(spec.nodes).map_err(|source| ClusterError::Start {
            node: "(ports)".into(),
            source,
        })?;
        let mut cluster = Cluster {
            spec,
            nodes: Vec::new(),
        };
        let delay_ms = cluster.spec.replication_delay.as_millis() as u64;
        for (i, &port) in ports.iter().enumerate() {
            let name = format!("n{}", i + 1);
            let dir = cluster.spec.dir.join(&name);
            std::fs::create_dir_all(&dir).map_err(|source| ClusterError::Start {
                node: name.clone(),
                source,
            })?;
            let plan = NodePlan {
                name: &name,
                port,
                replica_of: (i > 0).then_some(ports[0]),
                dir: &dir,
            };
            let launch = cluster
                .spec
                .target
                .launch(&plan, &cluster.spec.own_exe, delay_ms)
                .map_err(ClusterError::MissingBinary)?;
            let process = NodeProcess::start(&launch, &dir.join("node.log")).map_err(|source| {
                ClusterError::Start {
                    node: name.clone(),
                    source,
                }
            })?;
            // The pid file lets people and tests find (and check the end of) every node process.
            std::fs::write(dir.join("pid"), format!("{}\n", process.pid())).map_err(|source| {
                ClusterError::Start {
                    node: name.clone(),
                    source,
                }
            })?;
            cluster.nodes.push(Node {
                name,
                port,
                dir,
                process,
            });
        }
        cluster.wait_ready(cluster.spec.ready_timeout).await?;
        Ok(cluster)
    }

    /// The nodes, primary first.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The primary's port.
    pub fn primary_port(&self) -> u16 {
        self.nodes[0].port
    }

    /// The port client number `worker` reads from under `read_from`.
    pub fn read_port(&self, read_from: ReadFrom, worker: usize) -> u16 {
        let n = self.nodes.len();
        match read_from {
            ReadFrom::Replica if n > 1 => self.nodes[1 + worker % (n - 1)].port,
            ReadFrom::Any => self.nodes[worker % n].port,
            _ => self.primary_port(),
        }
    }

    /// Waits until every node is ready, or says which is not and shows the end of its log.
    pub async fn wait_ready(&mut self, timeout: Duration) -> Result<(), ClusterError> {
        let until = tokio::time::Instant::now() + timeout;
        for i in 0..self.nodes.len() {
            loop {
                let why = match self.nodes[i].process.exited() {
                    Some(status) => Some(format!("process exited ({status})")),
                    None => node_health(&self.nodes[i], i == 0).await.err(),
                };
                let Some(why) = why else { break };
                let exited = why.starts_with("process exited");
                if exited || tokio::time::Instant::now() >= until {
                    let node = &self.nodes[i];
                    let log = node.process.log().display().to_string();
                    return Err(ClusterError::NotReady {
                        node: node.name.clone(),
                        timeout,
                        why,
                        tail: log_tail(node.process.log(), 10),
                        log,
                    });
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(())
    }

    /// Stops every node (resuming paused ones first). Safe to call more than once.
    pub fn teardown(&mut self) {
        for node in &mut self.nodes {
            node.process.stop();
        }
    }

    fn node(&self, name: &str) -> Result<&Node, String> {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .ok_or_else(|| format!("no node named {name}"))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// A node is healthy when it answers, and a replica also when its link to the primary is up.
async fn node_health(node: &Node, primary: bool) -> Result<(), String> {
    let r = probe::replication(node.port, PROBE_TIMEOUT)
        .await
        .map_err(|e| format!("{}: {e}", node.name))?;
    match (primary, r.role.as_str(), r.link_up) {
        (true, "master", _) => Ok(()),
        (false, "slave", Some(true)) => Ok(()),
        (false, "slave", _) => Err(format!("{}: replication link down", node.name)),
        (_, role, _) => Err(format!("{}: unexpected role {role}", node.name)),
    }
}

impl nemesis::ClusterControl for Cluster {
    fn node_names(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.name.clone()).collect()
    }

    fn pause(&self, node: &str) -> Result<(), String> {
        self.node(node)?.process.signal(Signal::SIGSTOP)
    }

    fn resume(&self, node: &str) -> Result<(), String> {
        self.node(node)?.process.signal(Signal::SIGCONT)
    }

    async fn health(&self) -> Result<(), String> {
        for (i, node) in self.nodes.iter().enumerate() {
            node_health(node, i == 0).await?;
        }
        Ok(())
    }
}

/// Asks the kernel for `n` distinct free loopback ports.
///
/// The listeners are closed before the nodes bind, so another process could take a port in
/// between; a node that cannot bind exits, and readiness reports that with its log.
fn free_ports(n: usize) -> std::io::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect()
}

/// The last `lines` lines of a log file, or a note that it cannot be read.
fn log_tail(path: &std::path::Path, lines: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read log: {e})"),
    }
}
