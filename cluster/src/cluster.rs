//! A running cluster: its network, its nodes' processes, readiness, health, faults and teardown.

use crate::attach::AttachSpec;
use crate::client::{Client, ClientOptions};
use crate::control::{Control, Lifetime};
use crate::host_programs::{self, Installed};
use crate::live::{LiveDaemon, LiveNode, LiveRecord};
use crate::net::host_record::HostDaemon;
use crate::net::{NetMode, Network, NetworkLayout, ProxyPlan};
use crate::process::NodeProcess;
use crate::spec::ClusterSpec;
use crate::system::{DaemonSpec, Launch, NodeAddrs, NodePlan, NodeStatus, ProxyKind, Role, System};
use crate::systems::{self, TargetOptions};
use nemesis::Grudge;
use nix::sys::signal::Signal;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why a cluster could not be started or used.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The system's server binary is not installed.
    #[error("{0}")]
    MissingBinary(String),
    /// The hosts' network could not be created.
    #[error("{0}")]
    Network(String),
    /// A node directory or process could not be created.
    #[error("cannot start node {node}: {error}")]
    Start {
        /// The node.
        node: String,
        /// What failed (not a `source`: the message already says it, and would say it twice).
        error: std::io::Error,
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
    /// A running cluster could not be attached to (`--attach`); the message names the address,
    /// pid or option at fault.
    #[error("{0}")]
    Attach(String),
}

impl ClusterError {
    /// Whether a node could not listen because another process held its port.
    pub fn port_taken(&self) -> bool {
        match self {
            ClusterError::Start { error, .. } => {
                error.kind() == std::io::ErrorKind::AddrInUse
                    || crate::ports::port_taken(&error.to_string())
            }
            ClusterError::NotReady { tail, why, .. } => {
                crate::ports::port_taken(tail) || crate::ports::port_taken(why)
            }
            _ => false,
        }
    }
}

/// Moves the node directories (and network layout) of a failed start under
/// `start-attempt-N/`, so that the next attempt starts from empty directories and the failed
/// one's logs stay readable.
fn set_aside(dir: &Path, nodes: usize, attempt: usize) -> std::io::Result<()> {
    let aside = dir.join(format!("start-attempt-{attempt}"));
    std::fs::create_dir_all(&aside)?;
    let names = (1..=nodes)
        .map(|i| format!("n{i}"))
        .chain(std::iter::once("network.json".to_string()));
    for name in names {
        let from = dir.join(&name);
        if from.exists() {
            std::fs::rename(&from, aside.join(&name))?;
        }
    }
    Ok(())
}

/// One daemon of a node: the system's server, or a helper beside it (a sentinel).
#[derive(Debug)]
pub struct Daemon {
    /// `server`, or the helper's role.
    pub role: String,
    launch: Launch,
    marker: String,
    log: PathBuf,
    process: Mutex<NodeProcess>,
}

impl Daemon {
    fn lock(&self) -> std::sync::MutexGuard<'_, NodeProcess> {
        // A panic while holding the lock leaves the process handle itself intact.
        self.process.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.lock().pid()
    }
}

/// One node of a running cluster.
#[derive(Debug)]
pub struct Node {
    /// Its name (n1, n2, …); n1 starts as the primary.
    pub name: String,
    /// Where clients reach it.
    pub addr: SocketAddr,
    /// Every address it listens on.
    pub addrs: NodeAddrs,
    /// Its directory in the run directory (pid files; on a remote host, the logs brought back
    /// at teardown).
    pub dir: PathBuf,
    /// Its directory on its host (log, data): `dir` itself on this machine.
    pub host_dir: PathBuf,
    control: Arc<dyn Control>,
    /// Its daemons, the server first.
    daemons: Vec<Daemon>,
}

impl Node {
    /// Process id of the node's server; none for an attached node whose pid was not given.
    pub fn pid(&self) -> Option<u32> {
        self.server().ok().map(Daemon::pid)
    }

    /// The node's server daemon: the one faults act on. An attached node has none unless its
    /// pid was given.
    fn server(&self) -> Result<&Daemon, String> {
        self.daemons.first().ok_or_else(|| {
            format!(
                "{} ({}) is attached and faultline has no process of it to signal \
                 (give its pid with --attach-pids)",
                self.name, self.addr
            )
        })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, NodeProcess>, String> {
        Ok(self.server()?.lock())
    }

    /// The node's daemons, the server first.
    pub fn daemons(&self) -> &[Daemon] {
        &self.daemons
    }

    fn log(&self) -> PathBuf {
        self.server().map(|s| s.log.clone()).unwrap_or_default()
    }

    /// Brings the logs of a node on a remote host back into its run directory (each as
    /// `node.log`, `<role>.log`); nothing to do for a node on this machine.
    fn fetch_logs(&self) {
        if self.host_dir == self.dir {
            return;
        }
        for daemon in &self.daemons {
            let Some(name) = daemon.log.file_name() else {
                continue;
            };
            // Teardown runs again on drop, after the host's directory is gone.
            if self.dir.join(name).exists() {
                continue;
            }
            let copied = self.control.read_file(&daemon.log).and_then(|bytes| {
                std::fs::write(self.dir.join(name), bytes).map_err(|e| e.to_string())
            });
            if let Err(e) = copied {
                tracing::warn!(
                    "{}: cannot bring back {}: {e}",
                    self.name,
                    daemon.log.display()
                );
            }
        }
    }

    /// Its daemons as its host's record lists them: pid, program, marker.
    fn host_daemons(&self) -> Vec<HostDaemon> {
        self.daemons
            .iter()
            .map(|d| HostDaemon {
                pid: d.pid(),
                program: d.launch.program.clone(),
                marker: d.marker.clone(),
            })
            .collect()
    }

    /// Starts the server again (after a kill) and records its new pid.
    fn respawn(&self, slot: &mut NodeProcess, lifetime: Lifetime) -> Result<(), String> {
        let server = self.server()?;
        *slot = NodeProcess::start(self.control.clone(), &server.launch, &server.log, lifetime)
            .map_err(|e| format!("{}: {e}", self.name))?;
        write_pid(&self.dir, &server.role, slot.pid())
            .map_err(|e| format!("{}: writing pid file: {e}", self.name))
    }
}

/// The pid file lets people and tests find (and check the end of) every daemon: `pid` for the
/// server, `<role>.pid` for a helper.
fn write_pid(dir: &Path, role: &str, pid: u32) -> std::io::Result<()> {
    let name = if role == "server" {
        "pid".to_string()
    } else {
        format!("{role}.pid")
    };
    std::fs::write(dir.join(name), format!("{pid}\n"))
}

/// The log file of a daemon: `node.log` for the server, `<role>.log` for a helper.
fn log_path(dir: &Path, role: &str) -> PathBuf {
    if role == "server" {
        dir.join("node.log")
    } else {
        dir.join(format!("{role}.log"))
    }
}

/// A started cluster; dropping it stops every node and removes its network.
#[derive(Debug)]
pub struct Cluster {
    spec: ClusterSpec,
    system: Box<dyn System>,
    nodes: Vec<Node>,
    network: Network,
    /// Set by [`Cluster::detach`]: dropping the handle then leaves everything running.
    detached: bool,
    /// For a cluster faultline attached to (`--attach`): the prefix every key goes under.
    /// Faultline then never stops, kills or restarts its processes.
    key_prefix: Option<String>,
    /// Remote hosts: the packages `--install` installed on each.
    installed: Installed,
}

/// How long a single health probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_millis(1000);

/// Starts tried when nodes find their ports taken (see [`Cluster::start`]).
const START_ATTEMPTS: usize = 3;

impl Cluster {
    /// Lays out the network, starts every node and waits until the primary answers and every
    /// replica's link is up.
    ///
    /// On loopback, where faultline chooses the ports, a node that found its port taken by
    /// another process is a reason to start again on fresh ports (the failed attempt's node
    /// directories kept under `start-attempt-N/`), a few times.
    pub async fn start(spec: ClusterSpec) -> Result<Cluster, ClusterError> {
        let mut attempt = 1;
        loop {
            match Cluster::start_once(spec.clone()).await {
                Err(e) if attempt < START_ATTEMPTS && e.port_taken() && spec.net.shares_ports() => {
                    tracing::warn!("starting again on fresh ports: {e}");
                    set_aside(&spec.dir, spec.nodes, attempt).map_err(|source| {
                        ClusterError::Start {
                            node: "(earlier attempt)".into(),
                            error: source,
                        }
                    })?;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// One attempt of [`Cluster::start`].
    async fn start_once(spec: ClusterSpec) -> Result<Cluster, ClusterError> {
        let names: Vec<String> = (1..=spec.nodes).map(|i| format!("n{i}")).collect();
        let system = systems::build(spec.target, &spec.options);
        let plan = system.ports();
        // Per node: client port, peer port, helper port.
        let ports: Vec<[u16; 3]> = if spec.net.shares_ports() {
            crate::ports::listen_ports(spec.nodes * 3)
                .map_err(|source| ClusterError::Start {
                    node: "(ports)".into(),
                    error: source,
                })?
                .chunks(3)
                .map(|c| [c[0], c[1], c[2]])
                .collect()
        } else {
            // A host of its own per node, as a namespace is: the system's usual ports.
            let (client, peer) = plan.netns;
            vec![[client, peer, plan.helper.unwrap_or_default()]; spec.nodes]
        };
        let peer_is_client = plan.peer_is_client;
        // The proxies stand on the links nodes use to reach each other: the peer port.
        let link_ports: Vec<u16> = ports
            .iter()
            .map(|p| if peer_is_client { p[0] } else { p[1] })
            .collect();
        // Systems that hand one address per node to everyone get fronts, not per-pair links.
        let by_source = system.proxy() == ProxyKind::FrontsBySource;
        let sources = (spec.net == NetMode::Proxy && by_source).then(|| source_ips(spec.nodes));
        let proxy_plan = match &sources {
            Some(sources) => ProxyPlan::FrontsBySource {
                ports: ports
                    .iter()
                    .map(|p| {
                        let helper = plan.helper.map(|_| p[2]);
                        std::iter::once(p[0]).chain(helper).collect()
                    })
                    .collect(),
                sources: sources.clone(),
            },
            None if system.proxy() == ProxyKind::FrontsByHeader => ProxyPlan::FrontsByHeader {
                ports: link_ports.iter().map(|p| vec![*p]).collect(),
            },
            None => ProxyPlan::Links(link_ports),
        };
        let network = if spec.net == NetMode::Ssh {
            Network::Ssh(
                crate::net::ssh::SshNetwork::connect(&names, &spec.remote_hosts)
                    .map_err(ClusterError::Network)?,
            )
        } else {
            Network::create(spec.net, &names, spec.subnet_base, &proxy_plan, spec.seed)
                .await
                .map_err(ClusterError::Network)?
        };
        let addrs: Vec<NodeAddrs> = (0..spec.nodes)
            .map(|i| {
                let ip = network.host(i).0;
                let client = SocketAddr::new(ip, ports[i][0]);
                let announced = match &network {
                    Network::Proxy(mesh) => mesh.front_for(client),
                    _ => None,
                };
                NodeAddrs {
                    client,
                    peer: if peer_is_client {
                        client
                    } else {
                        SocketAddr::new(ip, ports[i][1])
                    },
                    sentinel: plan.helper.map(|_| SocketAddr::new(ip, ports[i][2])),
                    announced,
                }
            })
            .collect();
        // From here on, dropping `cluster` cleans up whatever was started.
        let mut cluster = Cluster {
            spec,
            system,
            nodes: Vec::new(),
            network,
            detached: false,
            key_prefix: None,
            installed: Installed::new(),
        };
        write_layout(&cluster.spec.dir, &cluster.network)?;
        // etcd refuses to join members of another cluster with the same token: make it unique.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let token = format!("faultline-{}-{nanos}", std::process::id());
        // Every node's daemons planned first, so that remote hosts get faultline all at once.
        let mut planned = Vec::with_capacity(names.len());
        for (i, name) in names.iter().cloned().enumerate() {
            let dir = cluster.spec.dir.join(&name);
            std::fs::create_dir_all(&dir).map_err(|source| ClusterError::Start {
                node: name.clone(),
                error: source,
            })?;
            let peers = names
                .iter()
                .zip(&addrs)
                .map(|(to, a)| {
                    let mut seen = *a;
                    seen.peer = cluster.network.route(&name, to, a.peer);
                    if peer_is_client {
                        seen.client = seen.peer;
                    }
                    seen.sentinel = a.sentinel.map(|s| cluster.network.route(&name, to, s));
                    (to.clone(), seen)
                })
                .collect();
            let host_dir = cluster.network.remote_dir(i).unwrap_or_else(|| dir.clone());
            let plan = NodePlan {
                name: &name,
                index: i,
                addrs: addrs[i],
                peers,
                dir: &host_dir,
                token: &token,
                source_ip: sources.as_ref().map(|s| s[i]),
                remote: cluster.network.remote_dir(i).is_some(),
            };
            let specs = cluster
                .system
                .daemons(&plan)
                .map_err(ClusterError::MissingBinary)?;
            planned.push((name, dir, host_dir, specs));
        }
        upload_own_exe(
            &cluster.network,
            &mut planned,
            &cluster.spec.options.own_exe,
        )?;
        if let Network::Ssh(net) = &cluster.network {
            let mut specs: Vec<&mut Vec<DaemonSpec>> =
                planned.iter_mut().map(|p| &mut p.3).collect();
            cluster.installed = host_programs::find_on_hosts(net, &mut specs, cluster.spec.install)
                .map_err(ClusterError::MissingBinary)?;
        }
        for (i, (name, dir, host_dir, specs)) in planned.into_iter().enumerate() {
            let control = cluster.network.host(i).1;
            let mut node = Node {
                name: name.clone(),
                addr: addrs[i].client,
                addrs: addrs[i],
                dir: dir.clone(),
                host_dir,
                control,
                daemons: Vec::new(),
            };
            for spec in specs {
                let daemon =
                    start_daemon(&node, spec, cluster.spec.lifetime).map_err(|source| {
                        ClusterError::Start {
                            node: name.clone(),
                            error: source,
                        }
                    })?;
                node.daemons.push(daemon);
                // Each pid on its host as soon as it exists: a faultline killed now leaves
                // nothing `cluster down --nodes` cannot find.
                cluster
                    .network
                    .record_daemons(i, node.host_daemons())
                    .map_err(ClusterError::Network)?;
            }
            cluster.nodes.push(node);
        }
        // Recorded before waiting, so that even a faultline killed during startup can be cleaned up.
        cluster
            .save_record()
            .map_err(|e| ClusterError::Network(format!("live record: {e}")))?;
        cluster.wait_ready(cluster.spec.ready_timeout).await?;
        let by_header = cluster.system.proxy() == ProxyKind::FrontsByHeader;
        if by_header && cluster.spec.net == NetMode::Proxy {
            cluster.learn_members().await?;
        }
        Ok(cluster)
    }

    /// Proxy mode with fronts that tell members by header: tells the fronts which member id is
    /// which node, so that they can attribute peer connections (until then, all of unknown
    /// source), then waits for the cluster to be healthy again after the reconnections that
    /// follow.
    async fn learn_members(&self) -> Result<(), ClusterError> {
        let ids = self
            .system
            .member_ids(self.nodes[0].addr, PROBE_TIMEOUT * 5)
            .await
            .map_err(ClusterError::Network)?;
        self.network.learn_members(ids).await;
        self.wait_ready(self.spec.ready_timeout).await
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

    /// The system the cluster runs.
    pub fn system(&self) -> &dyn System {
        &*self.system
    }

    /// The client of worker `worker`, as the system makes it.
    pub fn client(&self, worker: usize, opts: &ClientOptions) -> Client {
        let nodes: Vec<NodeAddrs> = self.nodes.iter().map(|n| n.addrs).collect();
        self.prefixed(self.system.client(&nodes, worker, opts))
    }

    /// Each node's client address with its name: who answered a client, by the address it used.
    pub fn client_addrs(&self) -> Vec<(SocketAddr, String)> {
        self.nodes
            .iter()
            .map(|n| (n.addrs.client, n.name.clone()))
            .collect()
    }

    /// A client that reads only from node number `i` (final reads, node by node).
    pub fn node_client(&self, i: usize, opts: &ClientOptions) -> Client {
        self.prefixed(self.system.node_client(&self.nodes[i].addrs, opts))
    }

    /// `client`, with its keys under the attached cluster's prefix where there is one.
    fn prefixed(&self, client: Client) -> Client {
        match &self.key_prefix {
            Some(prefix) => Client::new(crate::key_prefix::Prefixed::new(client, prefix)),
            None => client,
        }
    }

    /// Attaches to a running cluster faultline did not start (`--attach`): its nodes found and
    /// named (the primary n1), their pids checked where given, its key prefix found unused.
    /// With the nodes' hosts (`--nodes`), faultline logs in to each, finds the node's process
    /// there and records its pid on the host (as attached: never to be stopped) before anything
    /// is signalled; partitions and loss then go through the hosts' firewall rules.
    /// Dropping the handle leaves every node running (resuming any it paused, healing the rules).
    pub async fn attach_running(spec: AttachSpec, dir: PathBuf) -> Result<Cluster, ClusterError> {
        let found = crate::attach::find(&spec)
            .await
            .map_err(ClusterError::Attach)?;
        let key_prefix = spec.key_prefix.clone();
        let system = systems::build(spec.target, &TargetOptions::default());
        let names: Vec<String> = found.iter().map(|n| n.name.clone()).collect();
        let hosts = crate::attach::hosts_in_order(&spec, &found);
        let network = if hosts.is_empty() {
            Network::Loopback
        } else {
            Network::Ssh(
                crate::net::ssh::SshNetwork::connect(&names, &hosts)
                    .map_err(ClusterError::Network)?,
            )
        };
        if network.mode() == NetMode::Ssh {
            // Written first, as a started cluster's is: what was made on the hosts, for people
            // and tests, however attaching ends.
            write_layout(&dir, &network)?;
        }
        let mut nodes = Vec::with_capacity(found.len());
        for (i, mut n) in found.into_iter().enumerate() {
            let control = network.host(i).1;
            if network.mode() == NetMode::Ssh {
                let host = network.host_name(i);
                let (pid, process) = crate::attach::on_host(&*control, &*system, &host, n.addr)
                    .map_err(ClusterError::Attach)?;
                (n.pid, n.process) = (Some(pid), Some(process));
            }
            let daemon = n.pid.zip(n.process).map(|(pid, process)| {
                let marker = n.addr.port().to_string();
                let program = process.exe.unwrap_or_default();
                let log = PathBuf::new();
                Daemon {
                    role: "server".into(),
                    process: Mutex::new(NodeProcess::adopt(
                        control.clone(),
                        pid,
                        &program,
                        &marker,
                        &log,
                    )),
                    launch: Launch {
                        program,
                        args: process.cmdline.into_iter().skip(1).collect(),
                    },
                    marker,
                    log,
                }
            });
            let node = Node {
                dir: dir.join(&n.name),
                host_dir: network.remote_dir(i).unwrap_or_else(|| dir.join(&n.name)),
                name: n.name,
                addr: n.addr,
                addrs: crate::attach::node_addrs(n.addr),
                control,
                daemons: daemon.into_iter().collect(),
            };
            // On its host before the first signal: a faultline that dies leaves a record the
            // sweep (`cluster down --nodes`) resumes the process from, never stops it.
            network
                .record_attached(i, node.host_daemons())
                .map_err(ClusterError::Network)?;
            nodes.push(node);
        }
        let net = network.mode();
        let spec = ClusterSpec {
            target: spec.target,
            options: TargetOptions::default(),
            nodes: nodes.len(),
            net,
            subnet_base: [0, 0],
            dir,
            ready_timeout: spec.timeout,
            lifetime: Lifetime::Detached,
            // No live record: `cluster down` stops the daemons a live record names, and these
            // are not faultline's.
            record: None,
            seed: 0,
            remote_hosts: hosts,
            install: false,
        };
        Ok(Cluster {
            system,
            spec,
            nodes,
            network,
            detached: false,
            key_prefix: Some(key_prefix),
            installed: Installed::new(),
        })
    }

    /// The prefix every key goes under, for a cluster faultline attached to.
    pub fn key_prefix(&self) -> Option<&str> {
        self.key_prefix.as_deref()
    }

    /// What `--install` installed on the remote hosts as the cluster started: packages by host.
    pub fn installed(&self) -> &Installed {
        &self.installed
    }

    /// A manual failover: node `name` becomes the primary and every other node follows it, at
    /// its address as each reaches it. Returns what was done, a line per step.
    pub async fn promote(&self, name: &str) -> Result<Vec<String>, String> {
        let Some(node) = self.nodes.iter().find(|n| n.name == name) else {
            let names: Vec<&str> = self.nodes.iter().map(|n| n.name.as_str()).collect();
            return Err(format!(
                "no node {name} (the nodes are {})",
                names.join(", ")
            ));
        };
        let followers = self
            .nodes
            .iter()
            .filter(|n| n.name != name)
            .map(|n| crate::system::Follower {
                name: n.name.clone(),
                addrs: n.addrs,
                primary: self.network.route(&n.name, name, node.addrs.peer),
            })
            .collect();
        self.system
            .promote(name, &node.addrs, followers, PROBE_TIMEOUT)
            .await
    }

    /// Every node's status, in node order (an error for a node that did not answer).
    pub async fn statuses(&self, timeout: Duration) -> Vec<Result<NodeStatus, String>> {
        let asks = self.nodes.iter().map(|n| async move {
            self.system
                .status(&n.addrs, timeout)
                .await
                .map_err(|e| format!("{}: {e}", n.name))
        });
        futures_util::future::join_all(asks).await
    }

    /// Waits until every daemon runs and the cluster is healthy, or says what is not and shows
    /// the end of the log of the node at fault.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<(), ClusterError> {
        let until = tokio::time::Instant::now() + timeout;
        loop {
            for node in &self.nodes {
                for daemon in &node.daemons {
                    if let Some(status) = daemon.lock().exited() {
                        return Err(not_ready(
                            node,
                            &daemon.log,
                            timeout,
                            format!("{} process exited ({status})", daemon.role),
                        ));
                    }
                }
            }
            let Err((at, why)) = self.check_health().await else {
                return Ok(());
            };
            if tokio::time::Instant::now() >= until {
                let node = &self.nodes[at.unwrap_or(0)];
                return Err(not_ready(node, &node.log(), timeout, why));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Health, with the index of the node at fault where one is.
    async fn check_health(&self) -> Result<(), (Option<usize>, String)> {
        let mut answered = Vec::new();
        for (i, (node, status)) in self
            .nodes
            .iter()
            .zip(self.statuses(PROBE_TIMEOUT).await)
            .enumerate()
        {
            answered.push((
                node.name.clone(),
                node.addrs,
                status.map_err(|e| (Some(i), e))?,
            ));
        }
        self.system.judge(&answered).map_err(|e| {
            let at = e
                .node
                .as_ref()
                .and_then(|name| self.nodes.iter().position(|n| &n.name == name));
            (at, e.to_string())
        })
    }

    /// Stops every node (resuming paused ones first), then removes the network. Idempotent.
    /// An attached cluster's nodes are only resumed, and its hosts' rules removed: its
    /// processes were running before faultline came.
    pub fn teardown(&mut self) {
        if self.key_prefix.is_some() {
            for daemon in self.nodes.iter().flat_map(|n| &n.daemons) {
                let process = daemon.lock();
                if process.paused() {
                    let _ = process.signal(Signal::SIGCONT);
                }
            }
            // The hosts' rules, directories and records (`--nodes`); the processes stay.
            self.network.teardown();
            return;
        }
        for node in &self.nodes {
            for daemon in node.daemons.iter().rev() {
                daemon.lock().stop();
            }
            node.fetch_logs();
        }
        if let Network::Proxy(mesh) = &self.network {
            // What crossed each link, for the curious and for tests: `nodes/proxy-links.json`.
            let _ = std::fs::write(
                self.spec.dir.join("proxy-links.json"),
                serde_json::to_vec_pretty(&mesh.traffic()).unwrap_or_default(),
            );
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
            for daemon in &node.daemons {
                daemon.lock().release();
            }
        }
        self.network.detach();
        self.detached = true;
        Ok(())
    }

    /// Takes over the cluster a live record describes (started by an earlier faultline).
    pub fn attach(record: LiveRecord, path: &Path) -> Result<Cluster, String> {
        let network = Network::adopt(record.network.clone())?;
        let net = match record.network {
            NetworkLayout::Loopback | NetworkLayout::Proxy { .. } => NetMode::Loopback,
            NetworkLayout::Netns { .. } => NetMode::Netns,
            NetworkLayout::Ssh { .. } => NetMode::Ssh,
        };
        let nodes = record
            .nodes
            .into_iter()
            .enumerate()
            .map(|(i, n)| {
                let control = network.host(i).1;
                Node {
                    name: n.name,
                    addr: n.addrs.client,
                    addrs: n.addrs,
                    host_dir: network.remote_dir(i).unwrap_or_else(|| n.dir.clone()),
                    dir: n.dir,
                    control: control.clone(),
                    daemons: n
                        .daemons
                        .into_iter()
                        .map(|d| Daemon {
                            process: Mutex::new(NodeProcess::adopt(
                                control.clone(),
                                d.pid,
                                &d.launch.program,
                                &d.marker,
                                &d.log,
                            )),
                            role: d.role,
                            launch: d.launch,
                            marker: d.marker,
                            log: d.log,
                        })
                        .collect(),
                }
            })
            .collect::<Vec<_>>();
        let spec = ClusterSpec {
            target: record.target,
            options: record.options,
            nodes: nodes.len(),
            net,
            subnet_base: [0, 0],
            dir: record.dir,
            ready_timeout: Duration::from_secs(20),
            lifetime: Lifetime::Detached,
            record: Some(path.to_path_buf()),
            seed: 0,
            remote_hosts: Vec::new(),
            install: false,
        };
        Ok(Cluster {
            system: systems::build(spec.target, &spec.options),
            spec,
            nodes,
            network,
            detached: false,
            key_prefix: None,
            installed: Installed::new(),
        })
    }

    /// Whether node `name` is paused (SIGSTOP), for status displays.
    pub fn is_paused(&self, name: &str) -> bool {
        self.node(name)
            .and_then(Node::lock)
            .is_ok_and(|p| p.paused())
    }

    /// Whether node `name`'s process runs.
    pub fn is_running(&self, name: &str) -> bool {
        self.node(name)
            .and_then(Node::lock)
            .is_ok_and(|mut p| p.exited().is_none())
    }

    /// Writes the live record, if this cluster keeps one.
    fn save_record(&self) -> Result<(), String> {
        let Some(path) = &self.spec.record else {
            return Ok(());
        };
        let record = LiveRecord {
            target: self.spec.target,
            options: self.spec.options.clone(),
            dir: self.spec.dir.clone(),
            network: self.network.layout(),
            nodes: self
                .nodes
                .iter()
                .map(|n| LiveNode {
                    name: n.name.clone(),
                    addrs: n.addrs,
                    dir: n.dir.clone(),
                    daemons: n
                        .daemons
                        .iter()
                        .map(|d| LiveDaemon {
                            role: d.role.clone(),
                            launch: d.launch.clone(),
                            marker: d.marker.clone(),
                            log: d.log.clone(),
                            pid: d.pid(),
                        })
                        .collect(),
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

/// Writes `network`'s layout to `dir/network.json` (making `dir`).
fn write_layout(dir: &Path, network: &Network) -> Result<(), ClusterError> {
    std::fs::create_dir_all(dir)
        .and_then(|()| {
            std::fs::write(
                dir.join("network.json"),
                serde_json::to_vec_pretty(&network.layout())?,
            )
        })
        .map_err(|source| ClusterError::Start {
            node: "(network.json)".into(),
            error: source,
        })
}

/// Starts one daemon of `node`: its files first, then the process, then its pid file.
fn start_daemon(node: &Node, spec: DaemonSpec, lifetime: Lifetime) -> std::io::Result<Daemon> {
    for (path, contents) in &spec.files {
        node.control
            .write_file(path, contents.as_bytes())
            .map_err(std::io::Error::other)?;
    }
    let log = log_path(&node.host_dir, spec.role);
    let process = NodeProcess::start(node.control.clone(), &spec.launch, &log, lifetime)?;
    write_pid(&node.dir, spec.role, process.pid())?;
    Ok(Daemon {
        role: spec.role.to_string(),
        launch: spec.launch,
        marker: spec.marker,
        log,
        process: Mutex::new(process),
    })
}

/// The readiness error for `node`, with the end of `log`.
fn not_ready(node: &Node, log: &Path, timeout: Duration, why: String) -> ClusterError {
    ClusterError::NotReady {
        node: node.name.clone(),
        timeout,
        why,
        tail: log_tail(&*node.control, log, 10),
        log: log.display().to_string(),
    }
}

impl nemesis::ClusterControl for Cluster {
    fn node_names(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.name.clone()).collect()
    }

    fn pause(&self, node: &str) -> Result<(), String> {
        self.node(node)?.lock()?.signal(Signal::SIGSTOP)
    }

    fn resume(&self, node: &str) -> Result<(), String> {
        self.node(node)?.lock()?.signal(Signal::SIGCONT)
    }

    fn kill(&self, node: &str) -> Result<(), String> {
        let node = self.node(node)?;
        if self.key_prefix.is_some() {
            return Err(format!(
                "{} is attached: faultline does not kill a process it could not start again",
                node.name
            ));
        }
        let mut process = node.lock()?;
        process.signal(Signal::SIGKILL)?;
        process.stop();
        Ok(())
    }

    fn restart(&self, node: &str) -> Result<(), String> {
        let node = self.node(node)?;
        let mut process = node.lock()?;
        if process.exited().is_none() {
            return Ok(());
        }
        if self.key_prefix.is_some() {
            return Err(format!(
                "{} is attached and its process is gone: faultline cannot start it again",
                node.name
            ));
        }
        node.respawn(&mut process, self.spec.lifetime)?;
        drop(process);
        let i = self.nodes.iter().position(|n| n.name == node.name);
        if let Some(i) = i {
            self.network.record_daemons(i, node.host_daemons())?;
        }
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

    fn lie(&self, node: &str, on: bool) -> Result<(), String> {
        let node = self.node(node)?;
        self.system
            .lie(&node.addrs, on, PROBE_TIMEOUT)
            .map_err(|e| format!("{}: {e}", node.name))
    }

    async fn primary(&self) -> Option<String> {
        let statuses = self.statuses(PROBE_TIMEOUT / 2).await;
        // Of several (a split brain), the one in the highest epoch, else the first.
        let mut newest: Option<(&str, Option<u64>)> = None;
        for (node, status) in self.nodes.iter().zip(&statuses) {
            if let Some(s) = status.as_ref().ok().filter(|s| s.role == Role::Primary) {
                if newest.is_none_or(|(_, epoch)| s.epoch > epoch) {
                    newest = Some((&node.name, s.epoch));
                }
            }
        }
        newest.map(|(name, _)| name.to_string())
    }

    async fn health(&self) -> Result<(), String> {
        self.check_health().await.map_err(|(_, e)| e)
    }
}

/// Proxy mode with fronts that tell nodes by their source address: node `i`'s daemons bind their
/// outgoing connections to 127.0.K.(11+i), any loopback address working without setup on Linux.
/// K varies between runs (1–254, never 0, whose 127.0.0.1 is the control side), though a clash
/// would be harmless: fronts listen on ports of their own run.
fn source_ips(nodes: usize) -> Vec<IpAddr> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let k = 1 + ((nanos ^ std::process::id()) % 254) as u8;
    (0..nodes)
        .map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, k, 11 + i as u8)))
        .collect()
}

/// The last `lines` lines of a log file on `control`'s host, or a note that it cannot be read.
fn log_tail(control: &dyn Control, path: &Path, lines: usize) -> String {
    match control.read_file(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read log: {e})"),
    }
}

/// A node's daemons as planned: its name, its directory here, its directory on its host (the
/// same path for a local node), and its daemons.
type Planned = (String, PathBuf, PathBuf, Vec<DaemonSpec>);

/// On remote hosts: uploads the running faultline (`own_exe`, read once) into the directory of
/// every node whose daemons run it, to all hosts at once, and points those daemons there, so
/// `faultline node` runs on each host. The first failure is the error, naming its node.
fn upload_own_exe(
    network: &Network,
    planned: &mut [Planned],
    own_exe: &Path,
) -> Result<(), ClusterError> {
    let runs_it = |s: &DaemonSpec| !own_exe.as_os_str().is_empty() && s.launch.program == own_exe;
    let uploads: Vec<usize> = (0..planned.len())
        .filter(|&i| {
            let (_, dir, host_dir, specs) = &planned[i];
            host_dir != dir && specs.iter().any(runs_it)
        })
        .collect();
    let Some(&first) = uploads.first() else {
        return Ok(());
    };
    let failed = |node: &str, e: String| ClusterError::Start {
        node: node.to_string(),
        error: std::io::Error::other(e),
    };
    let bytes = std::fs::read(own_exe).map_err(|e| {
        failed(
            &planned[first].0,
            format!("cannot read {} to upload it: {e}", own_exe.display()),
        )
    })?;
    let outcomes = crate::net::at_once::at_once(&uploads, |_, &i| {
        let (control, remote) = (network.host(i).1, planned[i].2.join("faultline"));
        control.write_file(&remote, &bytes)?;
        control
            .run("chmod", &["755", &remote.display().to_string()], None)
            .map(|_| ())
    });
    for (&i, outcome) in uploads.iter().zip(outcomes) {
        if let Err(e) = outcome {
            return Err(failed(&planned[i].0, e));
        }
        let remote = planned[i].2.join("faultline");
        for spec in planned[i]
            .3
            .iter_mut()
            .filter(|s| s.launch.program == own_exe)
        {
            spec.launch.program = remote.clone();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_that_found_its_port_taken_reads_as_port_taken_and_nothing_else_does() {
        let not_ready = |tail: &str| ClusterError::NotReady {
            node: "n2".into(),
            timeout: Duration::from_secs(1),
            why: "server process exited (exit status: 1)".into(),
            log: "n2/node.log".into(),
            tail: tail.into(),
        };
        assert!(not_ready("Error: binding 127.0.0.1:35705: Address already in use").port_taken());
        assert!(!not_ready("Error: corrupt record log").port_taken());
        let start = |kind| ClusterError::Start {
            node: "n1".into(),
            error: std::io::Error::from(kind),
        };
        assert!(start(std::io::ErrorKind::AddrInUse).port_taken());
        assert!(!start(std::io::ErrorKind::NotFound).port_taken());
        assert!(!ClusterError::MissingBinary("redis-server".into()).port_taken());
    }

    #[test]
    fn a_failed_start_is_set_aside_whole_and_the_next_attempt_finds_empty_places() {
        let dir = tempfile::tempdir().unwrap();
        for node in ["n1", "n2"] {
            std::fs::create_dir_all(dir.path().join(node)).unwrap();
            std::fs::write(dir.path().join(node).join("node.log"), node).unwrap();
        }
        std::fs::write(dir.path().join("network.json"), "{}").unwrap();
        std::fs::write(dir.path().join("history.jsonl"), "").unwrap();
        // Three nodes asked for, two started before the failure.
        set_aside(dir.path(), 3, 1).unwrap();
        let aside = dir.path().join("start-attempt-1");
        assert_eq!(
            std::fs::read_to_string(aside.join("n2/node.log")).unwrap(),
            "n2"
        );
        assert!(aside.join("network.json").exists());
        assert!(!dir.path().join("n1").exists());
        assert!(!dir.path().join("network.json").exists());
        assert!(
            dir.path().join("history.jsonl").exists(),
            "not the cluster's"
        );
    }
}
