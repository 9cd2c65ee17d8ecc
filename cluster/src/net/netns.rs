//! One network namespace per node, joined by veth pairs to a bridge in the root namespace.
//!
//! ```text
//!   root namespace (the harness)         fl<id>-n1          fl<id>-n2
//!   bridge fl<id>b  A.B.X.1  ── veth ── eth0 A.B.X.11    eth0 A.B.X.12 ── veth ── (same bridge)
//! ```
//! The harness, like Jepsen's control node, reaches every node through the bridge. Partitions are
//! `iptables` DROP rules in each node's INPUT chain, applied with one `iptables-restore` per
//! namespace (atomic, and it replaces the previous rules, so applying the empty grudge heals).
//! The root namespace's firewall is never touched: with `bridge-nf-call-iptables=1` bridged
//! traffic crosses its FORWARD chain, which is why every rule lives inside the namespaces.

use super::subnet::SubnetClaim;
use super::NetworkLayout;
use crate::control::{Control, LocalControl};
use nemesis::Grudge;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};

/// One node's namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NsHost {
    /// The node it hosts.
    pub node: String,
    /// The namespace's name.
    pub netns: String,
    /// The root-side end of its veth pair.
    pub veth: String,
    /// The node's address.
    pub ip: Ipv4Addr,
}

/// A created namespace network; [`NetnsNetwork::teardown`] removes all of it.
#[derive(Debug)]
pub struct NetnsNetwork {
    bridge: String,
    hosts: Vec<NsHost>,
    claim: Option<SubnetClaim>,
    /// Set when the network must outlive this handle (a detached lab cluster).
    detached: bool,
}

impl NetnsNetwork {
    /// Creates the bridge, a namespace per node and their links; on failure removes what it made.
    pub fn create(nodes: &[String], base: [u8; 2]) -> Result<NetnsNetwork, String> {
        let id = run_id();
        let bridge = format!("fl{id}b");
        let claim = SubnetClaim::take(base, &bridge, (id_number(&id) % 256) as u8)?;
        let [a, b, x] = claim.prefix;
        let hosts: Vec<NsHost> = nodes
            .iter()
            .enumerate()
            .map(|(i, node)| NsHost {
                node: node.clone(),
                netns: format!("fl{id}-{node}"),
                veth: format!("fl{id}{}", i + 1),
                ip: Ipv4Addr::new(a, b, x, 11 + i as u8),
            })
            .collect();
        let mut net = NetnsNetwork {
            detached: false,
            bridge,
            hosts,
            claim: Some(claim),
        };
        if let Err(e) = net.build(Ipv4Addr::new(a, b, x, 1)) {
            net.teardown();
            return Err(format!("cannot create the namespace network: {e}"));
        }
        Ok(net)
    }

    fn build(&self, gateway: Ipv4Addr) -> Result<(), String> {
        let root = LocalControl::root();
        let br = &self.bridge;
        let mut batch = format!(
            "link add {br} type bridge\nlink set {br} up\naddr add {gateway}/24 dev {br}\n"
        );
        for h in &self.hosts {
            batch.push_str(&format!(
                "netns add {ns}\nlink add {v} type veth peer name eth0 netns {ns}\nlink set {v} master {br} up\n",
                ns = h.netns,
                v = h.veth
            ));
        }
        root.run("ip", &["-batch", "-"], Some(&batch))?;
        for h in &self.hosts {
            let inside = format!(
                "addr add {}/24 dev eth0\nlink set eth0 up\nlink set lo up\n",
                h.ip
            );
            root.run("ip", &["-n", &h.netns, "-batch", "-"], Some(&inside))?;
        }
        Ok(())
    }

    /// Node `i`'s address and the control that runs things in its namespace.
    pub fn host(&self, i: usize) -> (IpAddr, LocalControl) {
        let h = &self.hosts[i];
        (IpAddr::V4(h.ip), LocalControl::netns(&h.netns))
    }

    /// What this network is made of.
    pub fn layout(&self) -> NetworkLayout {
        NetworkLayout::Netns {
            bridge: self.bridge.clone(),
            hosts: self.hosts.clone(),
            claim: self
                .claim
                .as_ref()
                .map(|c| c.path().to_path_buf())
                .unwrap_or_default(),
        }
    }

    /// Takes over a recorded network (to act on it, or to remove it).
    pub fn adopt(layout: NetworkLayout) -> NetnsNetwork {
        let NetworkLayout::Netns {
            bridge,
            hosts,
            claim,
        } = layout
        else {
            unreachable!("Network::adopt hands over netns layouts only")
        };
        NetnsNetwork {
            bridge,
            hosts,
            claim: Some(SubnetClaim::adopt(claim)),
            detached: false,
        }
    }

    /// Leaves the network in place when this handle is dropped.
    pub fn detach(&mut self) {
        self.detached = true;
    }

    /// The bridge's device name.
    pub fn bridge(&self) -> &str {
        &self.bridge
    }

    /// The namespaces, for reports and cleanup.
    pub fn hosts(&self) -> &[NsHost] {
        &self.hosts
    }

    /// Makes each namespace drop exactly what `grudge` says it drops, and nothing else.
    pub fn apply(&self, grudge: &Grudge) -> Result<(), String> {
        let mut errors = Vec::new();
        for h in &self.hosts {
            let mut rules = String::from(
                "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n",
            );
            for from in grudge.0.get(&h.node).into_iter().flatten() {
                let Some(src) = self.hosts.iter().find(|o| o.node == *from) else {
                    errors.push(format!("grudge names {from}, which is not a node"));
                    continue;
                };
                rules.push_str(&format!("-A INPUT -s {}/32 -j DROP\n", src.ip));
            }
            rules.push_str("COMMIT\n");
            // Every namespace is attempted, so a heal after a partial failure still heals the rest.
            if let Err(e) = LocalControl::netns(&h.netns).run("iptables-restore", &[], Some(&rules))
            {
                errors.push(format!("{}: {e}", h.node));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    /// Deletes the veth pairs, the namespaces, the bridge and the subnet claim.
    ///
    /// Veths are deleted explicitly: the kernel removes them with their namespace, but
    /// asynchronously, and teardown must be finished when it returns.
    pub fn teardown(&mut self) {
        let exists = |dir: &str, name: &str| std::path::Path::new(dir).join(name).exists();
        let mut batch = String::new();
        for h in &self.hosts {
            if exists("/sys/class/net", &h.veth) {
                batch.push_str(&format!("link del {}\n", h.veth));
            }
            if exists("/run/netns", &h.netns) {
                batch.push_str(&format!("netns del {}\n", h.netns));
            }
        }
        if exists("/sys/class/net", &self.bridge) {
            batch.push_str(&format!("link del {}\n", self.bridge));
        }
        if !batch.is_empty() {
            // -force: carry on past a failing line, so one stuck device does not keep the rest.
            if let Err(e) = LocalControl::root().run("ip", &["-force", "-batch", "-"], Some(&batch))
            {
                tracing::warn!("teardown: {e}");
            }
        }
        self.claim = None;
    }
}

impl Drop for NetnsNetwork {
    fn drop(&mut self) {
        if self.detached {
            if let Some(claim) = self.claim.take() {
                claim.keep();
            }
        } else {
            self.teardown();
        }
    }
}

/// A short id that keeps this network's device names apart from any other's (names are ≤ 15
/// bytes): the process id and a per-process counter, so parallel tests in one process differ too.
fn run_id() -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(
        "{:05x}",
        (std::process::id().wrapping_mul(16) ^ n) & 0xfffff
    )
}

fn id_number(id: &str) -> u32 {
    u32::from_str_radix(id, 16).unwrap_or_default()
}
