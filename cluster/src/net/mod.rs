//! The network a cluster's nodes live on, and how it is cut.
//!
//! `loopback`: every node on 127.0.0.1 with its own port; nothing can be cut (no root needed).
//! `netns`: every node in its own network namespace, joined by veth pairs to a bridge in a private
//! /24 that exists only inside faultline's namespaces and on that bridge; partitions are DROP rules
//! inside the namespaces (the root namespace's own rules are never touched).

pub mod netns;
pub mod subnet;

use crate::control::LocalControl;
use nemesis::Grudge;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::str::FromStr;

/// How a local cluster's hosts are laid out (`--net`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetMode {
    /// Loopback ports on this machine's own network; no partitions.
    Loopback,
    /// A network namespace per node on a private bridge (needs root or CAP_NET_ADMIN).
    Netns,
}

impl FromStr for NetMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "loopback" => Ok(NetMode::Loopback),
            "netns" => Ok(NetMode::Netns),
            other => Err(format!("unknown net '{other}' (known: loopback, netns)")),
        }
    }
}

impl fmt::Display for NetMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NetMode::Loopback => "loopback",
            NetMode::Netns => "netns",
        })
    }
}

/// A created network: where each node's host is and how to reach into it.
#[derive(Debug)]
pub enum Network {
    /// Everything on 127.0.0.1.
    Loopback,
    /// One namespace per node.
    Netns(netns::NetnsNetwork),
}

impl Network {
    /// Lays out hosts for `nodes` in `mode`; `subnet_base` is the first two octets of the private
    /// range netns mode takes a /24 from.
    pub fn create(
        mode: NetMode,
        nodes: &[String],
        subnet_base: [u8; 2],
    ) -> Result<Network, String> {
        match mode {
            NetMode::Loopback => Ok(Network::Loopback),
            NetMode::Netns => netns::NetnsNetwork::create(nodes, subnet_base).map(Network::Netns),
        }
    }

    /// Node `i`'s address and the control that runs things on its host.
    pub fn host(&self, i: usize) -> (IpAddr, LocalControl) {
        match self {
            Network::Loopback => (IpAddr::V4(Ipv4Addr::LOCALHOST), LocalControl::root()),
            Network::Netns(n) => n.host(i),
        }
    }

    /// Cuts node-to-node traffic as `grudge` says, replacing any earlier cut.
    pub fn partition(&self, grudge: &Grudge) -> Result<(), String> {
        match self {
            Network::Loopback => {
                Err("partitions need a network that can be cut: use --net netns".to_string())
            }
            Network::Netns(n) => n.apply(grudge),
        }
    }

    /// Restores every link.
    pub fn heal(&self) -> Result<(), String> {
        match self {
            Network::Loopback => Ok(()),
            Network::Netns(n) => n.apply(&Grudge::default()),
        }
    }

    /// What was created, as written to `network.json` and the live record.
    pub fn layout(&self) -> NetworkLayout {
        match self {
            Network::Loopback => NetworkLayout::Loopback,
            Network::Netns(n) => n.layout(),
        }
    }

    /// Takes over a network an earlier faultline created and recorded.
    pub fn adopt(layout: NetworkLayout) -> Network {
        match layout {
            NetworkLayout::Loopback => Network::Loopback,
            netns @ NetworkLayout::Netns { .. } => {
                Network::Netns(netns::NetnsNetwork::adopt(netns))
            }
        }
    }

    /// Leaves everything in place when this handle is dropped (a lab cluster between commands).
    pub fn detach(&mut self) {
        if let Network::Netns(n) = self {
            n.detach();
        }
    }

    /// Removes everything the network created. Safe to call more than once.
    pub fn teardown(&mut self) {
        if let Network::Netns(n) = self {
            n.teardown();
        }
    }
}

/// A network's layout, enough for a later faultline to find and remove all of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum NetworkLayout {
    /// Nothing was created.
    Loopback,
    /// A bridge, and a namespace with a veth pair per node.
    Netns {
        /// The bridge's device name.
        bridge: String,
        /// One entry per node.
        hosts: Vec<netns::NsHost>,
        /// The subnet claim file.
        claim: PathBuf,
    },
}
