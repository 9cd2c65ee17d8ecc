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

use super::at_once::at_once;
use super::in_force::FaultsInForce;
use super::subnet::SubnetClaim;
use super::NetworkLayout;
use crate::control::{Control, LocalControl};
use nemesis::{Grudge, LinkFault};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;

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
    /// The cuts and degradations in force.
    faults: Mutex<NetFaults>,
}

/// The network faults in force, rendered together because they share each namespace's firewall.
#[derive(Debug, Default)]
struct NetFaults {
    grudge: Grudge,
    degraded: BTreeMap<String, LinkFault>,
    /// Nodes whose interface may carry a qdisc of ours: only these need `tc` to un-shape.
    maybe_shaped: BTreeSet<String>,
}

/// Whether `fault` needs a qdisc (bandwidth or latency).
fn shapes(fault: Option<&LinkFault>) -> bool {
    fault.is_some_and(|f| !f.latency.is_zero() || f.bandwidth.is_some())
}

/// Puts `fault`'s bandwidth and latency on the namespace's interface, or removes any shaping.
fn shape(ns: &LocalControl, fault: Option<&LinkFault>) -> Result<(), String> {
    let fault = fault.filter(|f| shapes(Some(f)));
    let Some(fault) = fault else {
        // Nothing to shape: remove a qdisc if one is there (deleting the default one fails).
        let current = ns.run("tc", &["qdisc", "show", "dev", "eth0", "root"], None)?;
        if current.contains("tbf") || current.contains("netem") {
            ns.run("tc", &["qdisc", "del", "dev", "eth0", "root"], None)?;
        }
        return Ok(());
    };
    let mut args: Vec<String> = ["qdisc", "replace", "dev", "eth0", "root"]
        .map(String::from)
        .to_vec();
    if fault.latency.is_zero() {
        let rate = fault.bandwidth.unwrap_or(u64::MAX / 16) * 8;
        args.extend(
            [
                "tbf",
                "rate",
                &format!("{rate}bit"),
                "burst",
                "32kbit",
                "latency",
                "400ms",
            ]
            .map(String::from),
        );
    } else {
        args.extend(
            [
                "netem",
                "delay",
                &format!("{}ms", fault.latency.as_millis()),
                &format!("{}ms", fault.jitter.as_millis()),
            ]
            .map(String::from),
        );
        if let Some(b) = fault.bandwidth {
            args.extend(["rate".to_string(), format!("{}bit", b * 8)]);
        }
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ns.run("tc", &args, None).map(|_| ()).map_err(|e| {
        if e.contains("qdisc kind is unknown") {
            format!(
                "latency needs sch_netem, which this kernel does not have: use --net proxy ({e})"
            )
        } else {
            e
        }
    })
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
            faults: Mutex::default(),
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
            faults: self.in_force(),
        }
    }

    /// The cut and the degradations standing now.
    pub fn in_force(&self) -> FaultsInForce {
        let faults = self.lock_faults();
        FaultsInForce {
            grudge: faults.grudge.clone(),
            degraded: faults.degraded.clone(),
        }
    }

    /// Takes over a recorded network (to act on it, or to remove it).
    pub fn adopt(layout: NetworkLayout) -> NetnsNetwork {
        let NetworkLayout::Netns {
            bridge,
            hosts,
            claim,
            faults,
        } = layout
        else {
            unreachable!("Network::adopt hands over netns layouts only")
        };
        // An earlier faultline may have shaped any interface: un-shaping must look at all of them.
        let maybe_shaped = hosts.iter().map(|h| h.node.clone()).collect();
        NetnsNetwork {
            bridge,
            hosts,
            claim: Some(SubnetClaim::adopt(claim)),
            detached: false,
            // The rules stand in the namespaces: remember them, so the next change keeps them.
            faults: Mutex::new(NetFaults {
                grudge: faults.grudge,
                degraded: faults.degraded,
                maybe_shaped,
            }),
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

    /// Cuts links as `grudge` says (keeping any degradation).
    pub fn partition(&self, grudge: &Grudge) -> Result<(), String> {
        let mut faults = self.lock_faults();
        faults.grudge = grudge.clone();
        self.render(&mut faults)
    }

    /// Degrades the links into `nodes` (keeping any cut).
    ///
    /// Loss applies to traffic from the other nodes into these nodes (iptables' random
    /// `statistic` match). Bandwidth and latency are qdiscs, which shape what an interface
    /// *sends*: they apply to everything these nodes send. Latency needs `sch_netem`, which this
    /// machine kind's kernel lacks; then the error says to use `--net proxy`.
    pub fn degrade(&self, nodes: &[String], fault: &LinkFault) -> Result<(), String> {
        let mut faults = self.lock_faults();
        for node in nodes {
            faults.degraded.insert(node.clone(), fault.clone());
        }
        self.render(&mut faults)
    }

    /// Removes every cut and every degradation.
    pub fn heal(&self) -> Result<(), String> {
        let mut faults = self.lock_faults();
        // Not a fresh NetFaults: which interfaces may still carry a qdisc must survive the heal.
        faults.grudge = Grudge::default();
        faults.degraded.clear();
        self.render(&mut faults)
    }

    fn lock_faults(&self) -> std::sync::MutexGuard<'_, NetFaults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes every namespace's firewall and qdisc say exactly what `faults` says.
    ///
    /// Namespaces are rendered in parallel (each is a couple of short-lived processes), and `tc`
    /// runs only where something is or may have been shaped: together that keeps a cut or a
    /// heal well under 50 ms on five nodes.
    fn render(&self, faults: &mut NetFaults) -> Result<(), String> {
        let faults_now: &NetFaults = faults;
        let errors: Vec<String> = at_once(&self.hosts, |_, h| {
            let ns = LocalControl::netns(&h.netns);
            let mut errors = Vec::new();
            // iptables-restore replaces the whole filter table at once: no half-applied state.
            if let Err(e) = ns.run("iptables-restore", &[], Some(&self.rules(h, faults_now))) {
                errors.push(format!("{}: {e}", h.node));
            }
            let fault = faults_now.degraded.get(&h.node);
            if shapes(fault) || faults_now.maybe_shaped.contains(&h.node) {
                if let Err(e) = shape(&ns, fault) {
                    errors.push(format!("{}: {e}", h.node));
                }
            }
            match errors.is_empty() {
                true => Ok(()),
                false => Err(errors.join("; ")),
            }
        })
        .into_iter()
        .filter_map(Result::err)
        .collect();
        faults.maybe_shaped = faults
            .degraded
            .iter()
            .filter(|(_, f)| shapes(Some(f)))
            .map(|(n, _)| n.clone())
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    /// The filter table of `h`'s namespace: drops for its grudge, random drops for its loss.
    fn rules(&self, h: &NsHost, faults: &NetFaults) -> String {
        let mut rules = String::from(
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n",
        );
        let cut = self.hosts.iter().filter(|o| {
            faults
                .grudge
                .0
                .get(&h.node)
                .is_some_and(|g| g.contains(&o.node))
        });
        rules.push_str(&drop_lines("INPUT", cut.map(|o| IpAddr::V4(o.ip))));
        if let Some(loss) = faults
            .degraded
            .get(&h.node)
            .map(|f| f.loss)
            .filter(|l| *l > 0.0)
        {
            let peers = self.hosts.iter().filter(|o| o.node != h.node);
            rules.push_str(&loss_lines("INPUT", peers.map(|o| IpAddr::V4(o.ip)), loss));
        }
        rules.push_str("COMMIT\n");
        rules
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
        // A bridge that would not go still routes the /24: its claim stays, so no later run
        // puts a second bridge on it (the claim goes stale, and is taken over, once it is gone).
        match (self.claim.take(), exists("/sys/class/net", &self.bridge)) {
            (Some(claim), true) => {
                tracing::warn!(
                    "teardown: {} remains; its subnet stays claimed",
                    self.bridge
                );
                claim.keep();
            }
            (claim, _) => drop(claim),
        }
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

/// iptables-restore lines that drop, in `chain`, every packet from each of `sources`: how a
/// partition reads in a firewall, in a namespace (INPUT) as on a remote host (its own chain).
pub(super) fn drop_lines(chain: &str, sources: impl Iterator<Item = IpAddr>) -> String {
    sources
        .map(|ip| {
            let bits = if ip.is_ipv4() { 32 } else { 128 };
            format!("-A {chain} -s {ip}/{bits} -j DROP\n")
        })
        .collect()
}

/// iptables-restore lines that drop, in `chain`, each packet from `sources` with probability
/// `loss` (the `statistic` match): link loss, in a namespace as on a remote host.
pub(super) fn loss_lines(chain: &str, sources: impl Iterator<Item = IpAddr>, loss: f64) -> String {
    sources
        .map(|ip| {
            let bits = if ip.is_ipv4() { 32 } else { 128 };
            format!("-A {chain} -s {ip}/{bits} -m statistic --mode random --probability {loss:.4} -j DROP\n")
        })
        .collect()
}

/// A short id that keeps this network's device names apart from any other's (names are ≤ 15
/// bytes): the process id and a per-process counter, so parallel tests in one process differ too,
/// skipping any a bridge or namespace on this machine has (a killed run's leftovers keep their
/// names until `cluster down`, and a reused pid must not collide with them).
fn run_id() -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    loop {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = format!(
            "{:05x}",
            (std::process::id().wrapping_mul(16) ^ n) & 0xfffff
        );
        let taken = std::path::Path::new("/sys/class/net")
            .join(format!("fl{id}b"))
            .exists()
            || std::fs::read_dir("/run/netns").is_ok_and(|names| {
                names.flatten().any(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with(&format!("fl{id}-"))
                })
            });
        if !taken {
            return id;
        }
    }
}

fn id_number(id: &str) -> u32 {
    u32::from_str_radix(id, 16).unwrap_or_default()
}
