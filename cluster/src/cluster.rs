//! A running cluster: its network, its nodes' processes, readiness, health, faults and teardown.

use crate::control::{Control, LocalControl};
use crate::live::{LiveNode, LiveRecord};
use crate::net::{NetMode, Network, NetworkLayout};
use crate::probe;
use crate::process::{Lifetime, NodeProcess};
use crate::spec::ClusterSpec;
use crate::target::{Launch, NodePlan, ReadFrom};
use nemesis::Grudge;
use nix::sys::signal::Signal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// Why a cluster could not be started or used.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The target's server binary is not installed.
    #[error("{0}")]
    MissingBinary(String),
    /// The hosts' network could not be created.
    #[error("{0}")]
    Network(String),
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
    /// Its name (n1, n2, …); n1 starts as the primary.
    pub name: String,
    /// Where clients reach it.
    pub addr: SocketAddr,
    /// Its directory (log, data, pid).
    pub dir: PathBuf,
    control: LocalControl,
    launch: Launch,
    process: Mutex<NodeProcess>,
}

impl Node {
    /// Process id of the node's server.
    pub fn pid(&self) -> u32 {
        self.lock().pid()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, NodeProcess> {
        // A panic while holding the lock leaves the process handle itself intact.
        self.process.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn log(&self) -> PathBuf {
        self.dir.join("node.log")
    }

    /// Starts the node's process again (after a kill) and records its new pid.
    fn respawn(&self, slot: &mut NodeProcess, lifetime: Lifetime) -> Result<(), String> {
        *slot = self
            .control
            .start(&self.launch, &self.log(), lifetime)
            .map_err(|e| format!("{}: {e}", self.name))?;
        self.write_pid_of(slot.pid())
            .map_err(|e| format!("{}: writing pid file: {e}", self.name))
    }

    fn write_pid(&self) -> std::io::Result<()> {
        self.write_pid_of(self.pid())
    }

    /// The pid file lets people and tests find (and check the end of) every node process.
    fn write_pid_of(&self, pid: u32) -> std::io::Result<()> {
        std::fs::write(self.dir.join("pid"), format!("{pid}\n"))
    }
}

/// A started cluster; dropping it stops every node and removes its network.
#[derive(Debug)]
pub struct Cluster {
    spec: ClusterSpec,
    nodes: Vec<Node>,
    network: Network,
    /// Set by [`Cluster::detach`]: dropping the handle then leaves everything running.
    detached: bool,
}

/// How long a single health probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_millis(1000);

/// The port every node listens on in netns mode, where each node has an address of its own.
const NETNS_PORT: u16 = 6379;

impl Cluster {
    /// Lays out the network, starts every node and waits until the primary answers and every
    /// replica's link is up.
    pub async fn start(spec: ClusterSpec) -> Result<Cluster, ClusterError> {
        let names: Vec<String> = (1..=spec.nodes).map(|i| format!("n{i}")).collect();
        let ports = match spec.net {
            NetMode::Loopback | NetMode::Proxy => {
                free_ports(spec.nodes).map_err(|source| ClusterError::Start {
                    node: "(ports)".into(),
                    source,
                })?
            }
            NetMode::Netns => vec![NETNS_PORT; spec.nodes],
        };
        let network = Network::create(spec.net, &names, spec.subnet_base, &ports, spec.seed)
            .await
            .map_err(ClusterError::Network)?;
        let addrs: Vec<SocketAddr> = (0..spec.nodes)
            .map(|i| SocketAddr::new(network.host(i).0, ports[i]))
            .collect();
        // From here on, dropping `cluster` cleans up whatever was started.
        let mut cluster = Cluster {
            spec,
            nodes: Vec::new(),
            network,
            detached: false,
        };
        let layout = cluster.spec.dir.join("network.json");
        std::fs::create_dir_all(&cluster.spec.dir)
            .and_then(|()| {
                std::fs::write(
                    &layout,
                    serde_json::to_vec_pretty(&cluster.network.layout())?,
                )
            })
            .map_err(|source| ClusterError::Start {
                node: "(network.json)".into(),
                source,
            })?;
        let delay_ms = cluster.spec.replication_delay.as_millis() as u64;
        for (i, name) in names.iter().cloned().enumerate() {
            let dir = cluster.spec.dir.join(&name);
            std::fs::create_dir_all(&dir).map_err(|source| ClusterError::Start {
                node: name.clone(),
                source,
            })?;
            let plan = NodePlan {
                name: &name,
                addr: addrs[i],
                replica_of: (i > 0).then(|| cluster.network.route(&name, &names[0], addrs[0])),
                dir: &dir,
            };
            let launch = cluster
                .spec
                .target
                .launch(&plan, &cluster.spec.own_exe, delay_ms)
                .map_err(ClusterError::MissingBinary)?;
            let control = cluster.network.host(i).1;
            let process = control.start(&launch, &dir.join("node.log"), cluster.spec.lifetime);
            let process = process.map_err(|source| ClusterError::Start {
                node: name.clone(),
                source,
            })?;
            let node = Node {
                name,
                addr: addrs[i],
                dir,
                control,
                launch,
                process: Mutex::new(process),
            };
            node.write_pid().map_err(|source| ClusterError::Start {
                node: node.name.clone(),
                source,
            })?;
            cluster.nodes.push(node);
        }
        // Recorded before waiting, so that even a faultline killed during startup can be cleaned up.
        cluster
            .save_record()
            .map_err(|e| ClusterError::Network(format!("live record: {e}")))?;
        cluster.wait_ready(cluster.spec.ready_timeout).await?;
        Ok(cluster)
    }

    /// The nodes, primary first.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The network the nodes live on.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The address writes go to.
    pub fn primary_addr(&self) -> SocketAddr {
        self.nodes[0].addr
    }

    /// The address client number `worker` reads from under `read_from`.
    pub fn read_addr(&self, read_from: ReadFrom, worker: usize) -> SocketAddr {
        let n = self.nodes.len();
        match read_from {
            ReadFrom::Replica if n > 1 => self.nodes[1 + worker % (n - 1)].addr,
            ReadFrom::Any => self.nodes[worker % n].addr,
            _ => self.primary_addr(),
        }
    }

    /// Waits until every node is ready, or says which is not and shows the end of its log.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<(), ClusterError> {
        let until = tokio::time::Instant::now() + timeout;
        for (i, node) in self.nodes.iter().enumerate() {
            loop {
                let exited = node.lock().exited();
                let why = match &exited {
                    Some(status) => Some(format!("process exited ({status})")),
                    None => node_health(node, i == 0).await.err(),
                };
                let Some(why) = why else { break };
                if exited.is_some() || tokio::time::Instant::now() >= until {
                    let log = node.log();
                    return Err(ClusterError::NotReady {
                        node: node.name.clone(),
                        timeout,
                        why,
                        tail: log_tail(&log, 10),
                        log: log.display().to_string(),
                    });
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(())
    }

    /// Stops every node (resuming paused ones first), then removes the network. Idempotent.
    pub fn teardown(&mut self) {
        for node in &self.nodes {
            node.lock().stop();
        }
        self.network.teardown();
        if let Some(record) = &self.spec.record {
            let _ = std::fs::remove_file(record);
        }
    }

    /// Leaves the cluster running after this handle is gone (`faultline cluster up`), with its live
    /// record up to date.
    pub fn detach(mut self) -> Result<(), String> {
        self.save_record()?;
        for node in &self.nodes {
            node.lock().release();
        }
        self.network.detach();
        self.detached = true;
        Ok(())
    }

    /// Takes over the cluster a live record describes (started by an earlier faultline).
    pub fn attach(record: LiveRecord, path: &Path) -> Cluster {
        let network = Network::adopt(record.network.clone());
        let net = match record.network {
            NetworkLayout::Loopback | NetworkLayout::Proxy { .. } => NetMode::Loopback,
            NetworkLayout::Netns { .. } => NetMode::Netns,
        };
        let nodes = record
            .nodes
            .into_iter()
            .enumerate()
            .map(|(i, n)| {
                let marker = n.addr.port().to_string();
                let process =
                    NodeProcess::adopt(n.pid, &n.launch.program, &marker, &n.dir.join("node.log"));
                Node {
                    name: n.name,
                    addr: n.addr,
                    dir: n.dir,
                    control: network.host(i).1,
                    launch: n.launch,
                    process: Mutex::new(process),
                }
            })
            .collect::<Vec<_>>();
        let spec = ClusterSpec {
            target: record.target,
            nodes: nodes.len(),
            net,
            subnet_base: [0, 0],
            dir: record.dir,
            own_exe: PathBuf::new(),
            replication_delay: Duration::ZERO,
            ready_timeout: Duration::from_secs(20),
            lifetime: Lifetime::Detached,
            record: Some(path.to_path_buf()),
            seed: 0,
        };
        Cluster {
            spec,
            nodes,
            network,
            detached: false,
        }
    }

    /// Whether node `name` is paused (SIGSTOP), for status displays.
    pub fn is_paused(&self, name: &str) -> bool {
        self.node(name).is_ok_and(|n| n.lock().paused())
    }

    /// Whether node `name`'s process runs.
    pub fn is_running(&self, name: &str) -> bool {
        self.node(name).is_ok_and(|n| n.lock().exited().is_none())
    }

    /// Writes the live record, if this cluster keeps one.
    fn save_record(&self) -> Result<(), String> {
        let Some(path) = &self.spec.record else {
            return Ok(());
        };
        let record = LiveRecord {
            target: self.spec.target,
            dir: self.spec.dir.clone(),
            network: self.network.layout(),
            nodes: self
                .nodes
                .iter()
                .map(|n| LiveNode {
                    name: n.name.clone(),
                    addr: n.addr,
                    dir: n.dir.clone(),
                    launch: n.launch.clone(),
                    pid: n.pid(),
                })
                .collect(),
        };
        record
            .write(path)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
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
        if !self.detached {
            self.teardown();
        }
    }
}

/// A node is healthy when it answers, and a replica also when its link to the primary is up.
async fn node_health(node: &Node, primary: bool) -> Result<(), String> {
    let r = probe::replication(node.addr, PROBE_TIMEOUT)
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
        self.node(node)?.lock().signal(Signal::SIGSTOP)
    }

    fn resume(&self, node: &str) -> Result<(), String> {
        self.node(node)?.lock().signal(Signal::SIGCONT)
    }

    fn kill(&self, node: &str) -> Result<(), String> {
        let node = self.node(node)?;
        let mut process = node.lock();
        process.signal(Signal::SIGKILL)?;
        process.stop();
        Ok(())
    }

    fn restart(&self, node: &str) -> Result<(), String> {
        let node = self.node(node)?;
        let mut process = node.lock();
        if process.exited().is_none() {
            return Ok(());
        }
        node.respawn(&mut process, self.spec.lifetime)?;
        drop(process);
        self.save_record()
    }

    fn partition(&self, grudge: &Grudge) -> Result<(), String> {
        self.network.partition(grudge)
    }

    fn degrade(&self, nodes: &[String], fault: &nemesis::LinkFault) -> Result<(), String> {
        for name in nodes {
            self.node(name)?;
        }
        self.network.degrade(nodes, fault)
    }

    fn heal_network(&self) -> Result<(), String> {
        self.network.heal()
    }

    async fn primary(&self) -> Option<String> {
        for node in &self.nodes {
            let role = probe::replication(node.addr, PROBE_TIMEOUT / 2).await;
            if role.is_ok_and(|r| r.role == "master") {
                return Some(node.name.clone());
            }
        }
        None
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
fn log_tail(path: &Path, lines: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read log: {e})"),
    }
}
