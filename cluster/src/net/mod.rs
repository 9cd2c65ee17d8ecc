//! The network a cluster's nodes live on, and how it is cut.
//!
//! `loopback`: every node on 127.0.0.1 with its own port; nothing can be cut (no root needed).
//! `netns`: every node in its own network namespace, joined by veth pairs to a bridge in a private
//! /24 that exists only inside faultline's namespaces and on that bridge; partitions are DROP rules
//! inside the namespaces (the root namespace's own rules are never touched).
//! `proxy`: every node on a loopback port, every node-to-node link through a TCP proxy inside
//! faultline (one per directed pair); partitions and link faults are the proxy's (no root). Nodes
//! reach a link at its own listener, or — for systems that hand one address to everyone — at a
//! front per node address that tells who connected ([`ProxyPlan`]).

pub mod at_once;
mod can_apply;
pub mod host_record;
pub mod in_force;
pub mod netns;
pub mod proxy;
pub mod ssh;
pub mod subnet;

use crate::control::{Control, LocalControl};
use clap::ValueEnum;
use nemesis::{Grudge, LinkFault};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

/// How a local cluster's hosts are laid out (`--net`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetMode {
    /// Loopback ports on this machine's own network; no partitions.
    Loopback,
    /// A network namespace per node on a private bridge (needs root or CAP_NET_ADMIN).
    Netns,
    /// Loopback ports with every node-to-node link through faultline's fault proxy (no root).
    Proxy,
    /// Remote hosts reached over SSH (`--nodes HOST,…`), on their own network.
    Ssh,
}

/// What `--net` asks for: a layout, or `auto` to take the most realistic one this process may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NetChoice {
    /// Namespaces where this process may make them (root or CAP_NET_ADMIN), else the proxy.
    Auto,
    /// A network namespace per node on a private bridge (needs root or CAP_NET_ADMIN).
    Netns,
    /// Loopback ports, every node-to-node link through faultline's fault proxy (no root).
    Proxy,
    /// Plain loopback ports; no network faults.
    Loopback,
}

impl NetChoice {
    /// The layout this choice means on this machine, now.
    pub fn resolve(self) -> NetMode {
        match self {
            NetChoice::Auto => NetMode::auto(),
            NetChoice::Netns => NetMode::Netns,
            NetChoice::Proxy => NetMode::Proxy,
            NetChoice::Loopback => NetMode::Loopback,
        }
    }
}

impl NetMode {
    /// `--net auto`: the realistic namespaces where this process may make them, else the proxy.
    pub fn auto() -> NetMode {
        if crate::capability::can_admin_network() && crate::capability::netns_tools() {
            NetMode::Netns
        } else {
            NetMode::Proxy
        }
    }

    /// Whether nodes listen on this machine's loopback beside every other process, on ports
    /// faultline chooses (rather than on hosts of their own, at the system's usual ports).
    pub fn shares_ports(self) -> bool {
        matches!(self, NetMode::Loopback | NetMode::Proxy)
    }
}

impl fmt::Display for NetMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NetMode::Loopback => "loopback",
            NetMode::Netns => "netns",
            NetMode::Proxy => "proxy",
            NetMode::Ssh => "ssh",
        })
    }
}

/// How proxy mode stands between nodes.
#[derive(Debug, Clone)]
pub enum ProxyPlan {
    /// A listener per directed pair before node `i`'s port `ports[i]`: each node is configured
    /// with the address of the link it uses (own nodes, Redis without Sentinel).
    Links(Vec<u16>),
    /// A front before each of node `i`'s ports `ports[i]`, telling which node connected by the
    /// source address its daemons bind to, `sources[i]` (Redis with Sentinel).
    FrontsBySource {
        /// Per node, the ports other nodes connect to.
        ports: Vec<Vec<u16>>,
        /// Per node, the address its outgoing connections come from.
        sources: Vec<IpAddr>,
    },
    /// A front before each of node `i`'s ports `ports[i]`, telling which etcd member connected
    /// by the `X-Server-From` header of its requests, once the member ids are learned.
    FrontsByHeader {
        /// Per node, the ports other nodes connect to.
        ports: Vec<Vec<u16>>,
    },
}

/// A created network: where each node's host is and how to reach into it.
#[derive(Debug)]
pub enum Network {
    /// Everything on 127.0.0.1.
    Loopback,
    /// One namespace per node.
    Netns(netns::NetnsNetwork),
    /// Loopback, with a proxy on every node-to-node link.
    Proxy(proxy::ProxyMesh),
    /// Remote hosts over SSH.
    Ssh(ssh::SshNetwork),
}

impl Network {
    /// Lays out hosts for `nodes` in `mode`. `subnet_base` is the first two octets of the private
    /// range netns mode takes a /24 from; `proxy` says where proxy mode's proxies stand (the
    /// nodes' loopback ports); `seed` makes the proxy's jitter and loss repeatable.
    pub async fn create(
        mode: NetMode,
        nodes: &[String],
        subnet_base: [u8; 2],
        proxy: &ProxyPlan,
        seed: u64,
    ) -> Result<Network, String> {
        let local = |port: u16| SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port);
        let fronts = |ports: &[Vec<u16>]| -> Vec<(String, SocketAddr)> {
            nodes
                .iter()
                .zip(ports)
                .flat_map(|(n, ps)| ps.iter().map(|p| (n.clone(), local(*p))))
                .collect()
        };
        let mesh = match (mode, proxy) {
            (NetMode::Loopback, _) => return Ok(Network::Loopback),
            // Remote hosts are not laid out here but logged in to: `ssh::SshNetwork::connect`.
            (NetMode::Ssh, _) => return Err("remote hosts need their addresses (--nodes)".into()),
            (NetMode::Netns, _) => {
                return netns::NetnsNetwork::create(nodes, subnet_base).map(Network::Netns)
            }
            (NetMode::Proxy, ProxyPlan::Links(ports)) => {
                let mut links = Vec::new();
                for from in nodes {
                    for (to, port) in nodes.iter().zip(ports) {
                        if from != to {
                            links.push((from.clone(), to.clone(), local(*port)));
                        }
                    }
                }
                proxy::ProxyMesh::start(&links, seed).await
            }
            (NetMode::Proxy, ProxyPlan::FrontsBySource { ports, sources }) => {
                let by_ip = sources.iter().copied().zip(nodes.iter().cloned()).collect();
                let identify = proxy::Identify::SourceIp(std::sync::Arc::new(by_ip));
                proxy::ProxyMesh::with_fronts(nodes, &fronts(ports), identify, seed).await
            }
            (NetMode::Proxy, ProxyPlan::FrontsByHeader { ports }) => {
                let identify = proxy::Identify::ServerFrom(Default::default());
                proxy::ProxyMesh::with_fronts(nodes, &fronts(ports), identify, seed).await
            }
        };
        mesh.map(Network::Proxy)
            .map_err(|e| format!("cannot start the fault proxies: {e}"))
    }

    /// Where node `from` must connect to reach node `to` (at `direct`): through its proxy link or
    /// the front before `direct` in proxy mode, directly otherwise.
    pub fn route(&self, from: &str, to: &str, direct: SocketAddr) -> SocketAddr {
        match self {
            Network::Proxy(mesh) => mesh.addr(from, to, direct).unwrap_or(direct),
            _ => direct,
        }
    }

    /// Tells fronts that identify etcd members by id which id is which node (see
    /// [`proxy::ProxyMesh::learn_members`]); nothing to do elsewhere.
    pub async fn learn_members(&self, ids: Vec<(u64, String)>) {
        if let Network::Proxy(mesh) = self {
            mesh.learn_members(ids).await;
        }
    }

    /// Node `i`'s address and the control that runs things on its host.
    pub fn host(&self, i: usize) -> (IpAddr, Arc<dyn Control>) {
        match self {
            Network::Loopback | Network::Proxy(_) => (
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                Arc::new(LocalControl::root()),
            ),
            Network::Netns(n) => {
                let (ip, control) = n.host(i);
                (ip, Arc::new(control))
            }
            Network::Ssh(n) => n.host(i),
        }
    }

    /// Node `i`'s host as named to faultline: a remote host's name, else this machine's address.
    pub fn host_name(&self, i: usize) -> String {
        match self {
            Network::Ssh(n) => n.hosts()[i].target.host.clone(),
            _ => self.host(i).0.to_string(),
        }
    }

    /// Node `i`'s directory on its host, where that is not the run directory (a remote host).
    pub fn remote_dir(&self, i: usize) -> Option<PathBuf> {
        match self {
            Network::Ssh(n) => Some(n.dir(i)),
            _ => None,
        }
    }

    /// Records node `i`'s daemons on its host, where the host keeps a record of its own (a
    /// remote host: [`host_record`]); elsewhere the live record in the store suffices.
    pub fn record_daemons(
        &self,
        i: usize,
        daemons: Vec<host_record::HostDaemon>,
    ) -> Result<(), String> {
        match self {
            Network::Ssh(n) => n.record_daemons(i, daemons),
            _ => Ok(()),
        }
    }

    /// Records node `i`'s attached processes (`--attach`) on its host, where the host keeps a
    /// record ([`host_record`]); elsewhere nothing outlives faultline to clean up.
    pub fn record_attached(
        &self,
        i: usize,
        attached: Vec<host_record::HostDaemon>,
    ) -> Result<(), String> {
        match self {
            Network::Ssh(n) => n.record_attached(i, attached),
            _ => Ok(()),
        }
    }

    /// The layout this network has.
    pub fn mode(&self) -> NetMode {
        match self {
            Network::Loopback => NetMode::Loopback,
            Network::Netns(_) => NetMode::Netns,
            Network::Proxy(_) => NetMode::Proxy,
            Network::Ssh(_) => NetMode::Ssh,
        }
    }

    /// Cuts node-to-node traffic as `grudge` says, replacing any earlier cut.
    pub fn partition(&self, grudge: &Grudge) -> Result<(), String> {
        self.mode().can_partition()?;
        match self {
            Network::Loopback => Ok(()),
            Network::Netns(n) => n.partition(grudge),
            Network::Ssh(n) => n.partition(grudge),
            Network::Proxy(mesh) => {
                mesh.partition(grudge);
                Ok(())
            }
        }
    }

    /// Degrades the links into `nodes` as `fault` says.
    pub fn degrade(&self, nodes: &[String], fault: &LinkFault) -> Result<(), String> {
        self.mode().can_degrade(fault)?;
        match self {
            Network::Loopback => Ok(()),
            Network::Netns(n) => n.degrade(nodes, fault),
            Network::Ssh(n) => n.degrade(nodes, fault),
            // The links *into* each node, keeping whatever cut a partition made.
            Network::Proxy(mesh) => mesh.degrade(nodes, fault).map_err(|e| e.to_string()),
        }
    }

    /// Restores every link.
    pub fn heal(&self) -> Result<(), String> {
        match self {
            Network::Loopback => Ok(()),
            Network::Netns(n) => n.heal(),
            Network::Ssh(n) => n.heal(),
            Network::Proxy(mesh) => {
                mesh.heal();
                Ok(())
            }
        }
    }

    /// The partition and degraded links standing now.
    pub fn in_force(&self) -> in_force::FaultsInForce {
        match self {
            Network::Loopback => in_force::FaultsInForce::default(),
            Network::Netns(n) => n.in_force(),
            Network::Ssh(n) => n.in_force(),
            Network::Proxy(mesh) => mesh.in_force(),
        }
    }

    /// What was created, as written to `network.json` and the live record.
    pub fn layout(&self) -> NetworkLayout {
        match self {
            Network::Loopback => NetworkLayout::Loopback,
            Network::Netns(n) => n.layout(),
            Network::Ssh(n) => n.layout(),
            Network::Proxy(mesh) => NetworkLayout::Proxy {
                links: mesh
                    .links()
                    .filter_map(|l| Some((l.from().to_string(), l.to().to_string(), l.addr()?)))
                    .collect(),
                fronts: mesh
                    .fronts()
                    .iter()
                    .map(|f| (f.to().to_string(), f.addr(), f.target()))
                    .collect(),
            },
        }
    }

    /// Takes over a network an earlier faultline created and recorded.
    pub fn adopt(layout: NetworkLayout) -> Result<Network, String> {
        Ok(match layout {
            // The proxies lived inside the faultline that made them and died with it.
            NetworkLayout::Loopback | NetworkLayout::Proxy { .. } => Network::Loopback,
            netns @ NetworkLayout::Netns { .. } => {
                Network::Netns(netns::NetnsNetwork::adopt(netns))
            }
            NetworkLayout::Ssh { hosts, grudge } => {
                // A cut may stand that the record missed (it is written at start): removing
                // faultline's chain must be tried whatever the record says.
                Network::Ssh(ssh::SshNetwork::adopt(
                    hosts,
                    Some(grudge.unwrap_or_default()),
                )?)
            }
        })
    }

    /// Leaves everything in place when this handle is dropped (a lab cluster between commands).
    pub fn detach(&mut self) {
        match self {
            Network::Netns(n) => n.detach(),
            Network::Ssh(n) => n.detach(),
            Network::Loopback | Network::Proxy(_) => {}
        }
    }

    /// Removes everything the network created. Safe to call more than once.
    pub fn teardown(&mut self) {
        match self {
            Network::Netns(n) => n.teardown(),
            Network::Ssh(n) => n.teardown(),
            Network::Loopback | Network::Proxy(_) => {}
        }
    }
}

/// A network's layout, enough for a later faultline to find and remove all of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum NetworkLayout {
    /// Nothing was created.
    Loopback,
    /// Proxies inside faultline: (from, to, the proxy's address) per link with a listener of
    /// its own, and (node, the front's address, the node's real address) per front.
    Proxy {
        /// The links with listeners.
        links: Vec<(String, String, SocketAddr)>,
        /// The fronts.
        #[serde(default)]
        fronts: Vec<(String, SocketAddr, SocketAddr)>,
    },
    /// A bridge, and a namespace with a veth pair per node.
    Netns {
        /// The bridge's device name.
        bridge: String,
        /// One entry per node.
        hosts: Vec<netns::NsHost>,
        /// The subnet claim file.
        claim: PathBuf,
        /// The faults standing when it was recorded, so a later faultline keeps them.
        #[serde(default)]
        faults: in_force::FaultsInForce,
    },
    /// Remote hosts reached over SSH, a node's directory on each.
    Ssh {
        /// One entry per node.
        hosts: Vec<ssh::SshHost>,
        /// The cut standing when it was recorded (`None`: faultline's chain was never made).
        #[serde(default)]
        grudge: Option<nemesis::Grudge>,
    },
}
