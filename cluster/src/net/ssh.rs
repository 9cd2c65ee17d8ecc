//! Remote hosts (`--nodes HOST,…`): each node on a machine of its own, reached over SSH, as
//! Jepsen's control node drives its database nodes.
//!
//! ```text
//!   control node (faultline, clients, checker)
//!        │ ssh (one multiplexed connection per host)      │ clients: TCP to HOST:port
//!        ▼                                                 ▼
//!   host1  /tmp/faultline-<id>/n1/{faultline, node.log, …}     host2 …  host3 …
//! ```
//! Each node gets a directory of its own on its host (its log, data and, for own nodes, the
//! uploaded faultline binary); the cluster reads the logs back into the run directory at
//! teardown, and the directories go with the network.
//!
//! Partitions are DROP rules against peers' addresses in a chain of faultline's own
//! ([`CHAIN`], jumped to from INPUT) on each host, rendered as netns mode renders its rules and
//! applied with `iptables-restore --noflush`, which replaces that chain alone: the host's own
//! firewall stays as it was. No rule ever names the control node's address (as each host sees
//! it), so a partition can never cut faultline off from its hosts. Healing empties the chain;
//! teardown removes it.
//!
//! Each host also holds a record of what the run left there ([`host_record`]: the node's
//! directory, its daemons' pids, whether the chain was made), kept current as the run goes, so
//! that `faultline cluster down --nodes HOST,…` can clean up after a control node that died.

use super::at_once::at_once;
use super::host_record::{self, HostDaemon, HostRecord};
use super::in_force::FaultsInForce;
use super::netns::{drop_lines, loss_lines};
use super::NetworkLayout;
use crate::control::Control;
use crate::ssh::{SshControl, SshTarget};
use nemesis::{Grudge, LinkFault};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{IpAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The firewall chain faultline's cuts live in on every host.
pub const CHAIN: &str = "FAULTLINE";

/// One node's remote host as recorded: enough for a later faultline to reach it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SshHost {
    /// The node it hosts.
    pub node: String,
    /// How to log in.
    pub target: SshTarget,
    /// The host's address: the node binds it, clients and peers connect to it.
    pub ip: IpAddr,
    /// The node's directory on the host.
    pub dir: PathBuf,
    /// The control node's address as the host sees it (from `$SSH_CONNECTION`): never cut.
    pub control_ip: Option<IpAddr>,
}

/// The remote hosts of a cluster, connected.
#[derive(Debug)]
pub struct SshNetwork {
    hosts: Vec<SshHost>,
    controls: Vec<Arc<SshControl>>,
    /// Set when the hosts' directories must outlive this handle (a detached lab cluster).
    detached: bool,
    /// The cut and the loss in force; `None` until a first cut or loss made the chain on the
    /// hosts.
    faults: Mutex<Option<FaultsInForce>>,
    /// What each host's record says, in host order.
    records: Vec<Mutex<HostRecord>>,
}

/// Whether commands on `target` go through `sudo -n`: a login other than root's.
fn needs_sudo(target: &SshTarget) -> bool {
    target.user.as_deref().is_some_and(|u| u != "root")
}

/// `target`'s address, resolving a name through the system's resolver.
fn resolve(target: &SshTarget) -> Result<IpAddr, String> {
    if let Ok(ip) = target.host.parse() {
        return Ok(ip);
    }
    (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|e| format!("host {}: cannot resolve: {e}", target.host))?
        .next()
        .map(|a| a.ip())
        .ok_or_else(|| format!("host {}: resolves to no address", target.host))
}

/// A directory name unique to this run on every host.
fn run_dir_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{}{}-{nanos}",
        host_record::RUN_DIR_PREFIX,
        std::process::id()
    )
}

impl SshNetwork {
    /// Logs in to every host (in parallel), learns how each sees the control node, and makes
    /// each node's directory; every error names the host.
    pub fn connect(nodes: &[String], targets: &[SshTarget]) -> Result<SshNetwork, String> {
        let base = PathBuf::from("/tmp").join(run_dir_name());
        let hosts: Vec<SshHost> = nodes
            .iter()
            .zip(targets)
            .map(|(node, target)| {
                Ok(SshHost {
                    node: node.clone(),
                    target: target.clone(),
                    ip: resolve(target)?,
                    dir: base.join(node),
                    control_ip: None,
                })
            })
            .collect::<Result<_, String>>()?;
        let mut net = SshNetwork::adopt(hosts, None)?;
        let seen = at_once(&net.hosts, |i, h| prepare(h, &net.controls[i]));
        let mut errors = Vec::new();
        for (h, seen) in net.hosts.iter_mut().zip(seen) {
            match seen {
                Ok(ip) => h.control_ip = ip,
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            // Directories made on the hosts that answered go now.
            net.teardown();
            return Err(errors.join("; "));
        }
        Ok(net)
    }

    /// Takes over recorded hosts (to act on their nodes, or to remove them) with the cut
    /// `grudge` standing (`None`: no chain was made); nothing connects until the first command.
    pub fn adopt(hosts: Vec<SshHost>, grudge: Option<Grudge>) -> Result<SshNetwork, String> {
        let controls = hosts
            .iter()
            .map(|h| {
                SshControl::new(h.target.clone(), needs_sudo(&h.target))
                    .map(Arc::new)
                    .map_err(|e| format!("host {}: {e}", h.target.host))
            })
            .collect::<Result<_, String>>()?;
        let records = hosts
            .iter()
            .map(|h| {
                let mut record = HostRecord::new(&h.node, h.ip, &h.dir);
                record.chain = grudge.is_some();
                Mutex::new(record)
            })
            .collect();
        Ok(SshNetwork {
            hosts,
            controls,
            detached: false,
            faults: Mutex::new(grudge.map(|grudge| FaultsInForce {
                grudge,
                degraded: BTreeMap::new(),
            })),
            records,
        })
    }

    /// Records node `i`'s daemons (their current pids) on its host.
    pub fn record_daemons(&self, i: usize, daemons: Vec<HostDaemon>) -> Result<(), String> {
        self.update_record(i, |record| record.daemons = daemons)
    }

    /// Records node `i`'s attached processes (`--attach`: not faultline's; a sweep after a crash
    /// resumes them and never stops them) on its host, before any of them is signalled.
    pub fn record_attached(&self, i: usize, attached: Vec<HostDaemon>) -> Result<(), String> {
        self.update_record(i, |record| record.attached = attached)
    }

    /// Changes node `i`'s host record as `change` says and writes it on the host.
    fn update_record(&self, i: usize, change: impl FnOnce(&mut HostRecord)) -> Result<(), String> {
        let mut record = self.records[i].lock().unwrap_or_else(|e| e.into_inner());
        change(&mut record);
        record
            .save(&*self.controls[i])
            .map_err(|e| format!("{}: host record: {e}", self.hosts[i].node))
    }

    /// Node `i`'s address and its host's control.
    pub fn host(&self, i: usize) -> (IpAddr, Arc<dyn Control>) {
        (self.hosts[i].ip, self.controls[i].clone())
    }

    /// Node `i`'s directory on its host.
    pub fn dir(&self, i: usize) -> PathBuf {
        self.hosts[i].dir.clone()
    }

    /// The hosts, for reports and cleanup.
    pub fn hosts(&self) -> &[SshHost] {
        &self.hosts
    }

    /// What this network is made of.
    pub fn layout(&self) -> NetworkLayout {
        NetworkLayout::Ssh {
            hosts: self.hosts.clone(),
            grudge: self.lock().as_ref().map(|f| f.grudge.clone()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<FaultsInForce>> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cut and the loss standing now.
    pub fn in_force(&self) -> FaultsInForce {
        self.lock().clone().unwrap_or_default()
    }

    /// Cuts links as `grudge` says, replacing any earlier cut (keeping any loss), on every host
    /// at once.
    pub fn partition(&self, grudge: &Grudge) -> Result<(), String> {
        let mut standing = self.lock();
        let mut faults = standing.clone().unwrap_or_default();
        faults.grudge = grudge.clone();
        self.render(&mut standing, faults)
    }

    /// Makes the links into `nodes` lose packets as `fault` says (loss only: see
    /// `NetMode::can_degrade`), keeping any cut.
    pub fn degrade(&self, nodes: &[String], fault: &LinkFault) -> Result<(), String> {
        let mut standing = self.lock();
        let mut faults = standing.clone().unwrap_or_default();
        for node in nodes {
            faults.degraded.insert(node.clone(), fault.clone());
        }
        self.render(&mut standing, faults)
    }

    /// Makes every host's chain say `faults`, replacing what it said.
    fn render(
        &self,
        standing: &mut Option<FaultsInForce>,
        faults: FaultsInForce,
    ) -> Result<(), String> {
        let rules: Vec<String> = self
            .hosts
            .iter()
            .map(|h| {
                rules(
                    &self.hosts,
                    h,
                    &faults.grudge,
                    faults.degraded.get(&h.node).map(|f| f.loss),
                )
            })
            .collect::<Result<_, _>>()?;
        if standing.is_none() {
            // Recorded before the chain exists, so a faultline killed meanwhile leaves no chain
            // its hosts' records do not mention.
            self.on_every_host(|i, c| {
                let mut record = self.records[i].lock().unwrap_or_else(|e| e.into_inner());
                record.chain = true;
                record.save(c)
            })?;
        }
        *standing = Some(faults);
        // One line per host: its chain replaced at once, then the jump to it made if missing.
        let script = format!(
            "iptables-restore --noflush && {{ iptables -C INPUT -j {CHAIN} 2>/dev/null || \
             iptables -I INPUT -j {CHAIN}; }}"
        );
        self.on_every_host(|i, c| c.run("sh", &["-c", &script], Some(&rules[i])).map(|_| ()))
            .map(|_| ())
    }

    /// Removes every cut and every loss.
    pub fn heal(&self) -> Result<(), String> {
        let mut standing = self.lock();
        if standing.is_none() {
            return Ok(());
        }
        self.render(&mut standing, FaultsInForce::default())
    }

    /// Runs `act` for every host (by its index) in parallel: what each answered, in host order,
    /// or the errors of all, each naming its node.
    pub(crate) fn on_every_host<T: Send>(
        &self,
        act: impl Fn(usize, &SshControl) -> Result<T, String> + Sync,
    ) -> Result<Vec<T>, String> {
        let outcomes = at_once(&self.hosts, |i, h| {
            act(i, &self.controls[i]).map_err(|e| format!("{}: {e}", h.node))
        });
        let (answers, errors): (Vec<_>, Vec<_>) = outcomes.into_iter().partition(Result::is_ok);
        if errors.is_empty() {
            Ok(answers.into_iter().flatten().collect())
        } else {
            Err(errors
                .into_iter()
                .filter_map(Result::err)
                .collect::<Vec<_>>()
                .join("; "))
        }
    }

    /// Leaves the hosts' directories in place when this handle is dropped.
    pub fn detach(&mut self) {
        self.detached = true;
    }

    /// Removes faultline's chain (if a cut ever made it) and each node's directory from its
    /// host. Safe to call more than once.
    pub fn teardown(&mut self) {
        if self.lock().take().is_some() {
            if let Err(e) = self.on_every_host(|_, c| remove_chain(c)) {
                tracing::warn!("teardown: removing the {CHAIN} chain: {e}");
            }
        }
        for (h, c) in self.hosts.iter().zip(&self.controls) {
            let dir = h.dir.display().to_string();
            // Only a directory this run named: /tmp/faultline-<pid>-<nanos>/<node>.
            if let Err(e) = c.run("rm", &["-rf", "--", &dir], None) {
                tracing::warn!("teardown of {}: {e}", h.node);
            }
            if let Some(base) = h.dir.parent() {
                let _ = c.run("rmdir", &["--", &base.display().to_string()], None);
            }
            if let Err(e) = HostRecord::remove(&h.dir, &**c) {
                tracing::warn!("teardown of {}: its host record: {e}", h.node);
            }
        }
    }
}

/// Removes faultline's chain (and the jump to it) from `control`'s host; nothing to remove is
/// no error.
pub fn remove_chain(control: &dyn Control) -> Result<(), String> {
    let script = format!(
        "iptables -D INPUT -j {CHAIN} 2>/dev/null; iptables -F {CHAIN} 2>/dev/null; \
         iptables -X {CHAIN} 2>/dev/null; true"
    );
    control.run("sh", &["-c", &script], None).map(|_| ())
}

/// Logs in to `target` and removes everything faultline's records on it name (the leftovers of
/// runs whose control node died): `faultline cluster down --nodes`.
pub fn sweep_host(target: &SshTarget) -> Result<host_record::Swept, String> {
    let control: Arc<dyn Control> = Arc::new(
        SshControl::new(target.clone(), needs_sudo(target))
            .map_err(|e| format!("host {}: {e}", target.host))?,
    );
    host_record::sweep(&control, remove_chain).map_err(|e| format!("host {}: {e}", target.host))
}

impl Drop for SshNetwork {
    fn drop(&mut self) {
        if !self.detached {
            self.teardown();
        }
    }
}

/// Logs in to `h`, makes the node's directory, and answers the control node's address as the
/// host sees it.
fn prepare(h: &SshHost, c: &SshControl) -> Result<Option<IpAddr>, String> {
    // The record first: a faultline killed right after `mkdir` leaves nothing unrecorded.
    HostRecord::new(&h.node, h.ip, &h.dir).save(c)?;
    let dir = h.dir.display().to_string();
    let said = c.run(
        "sh",
        &[
            "-c",
            r#"mkdir -p -- "$1" && echo "$SSH_CONNECTION""#,
            "sh",
            &dir,
        ],
        None,
    )?;
    Ok(said
        .split_whitespace()
        .next()
        .and_then(|ip| ip.parse().ok()))
}

/// The rules of `h`'s chain for `grudge` and `loss` (the share of packets from its peers lost):
/// a DROP for every peer it must not hear from, a random DROP for every other peer under loss.
/// Never one naming the control node's address: a peer that has it is refused, not cut.
fn rules(
    hosts: &[SshHost],
    h: &SshHost,
    grudge: &Grudge,
    loss: Option<f64>,
) -> Result<String, String> {
    let cut: Vec<&SshHost> = hosts
        .iter()
        .filter(|o| grudge.0.get(&h.node).is_some_and(|g| g.contains(&o.node)))
        .collect();
    let lossy: Vec<&SshHost> = match loss.filter(|l| *l > 0.0) {
        Some(_) => hosts
            .iter()
            .filter(|o| o.node != h.node && !cut.iter().any(|c| c.node == o.node))
            .collect(),
        None => Vec::new(),
    };
    for o in cut.iter().chain(&lossy) {
        if Some(o.ip) == h.control_ip {
            return Err(format!(
                "host {}: dropping packets from {} ({}) would drop the control node's, which {} \
                 sees at the same address; refusing",
                h.target.host, o.node, o.ip, h.target.host
            ));
        }
        if !o.ip.is_ipv4() {
            return Err(format!(
                "host {}: partitions over SSH need IPv4 addresses, {} has {}",
                h.target.host, o.node, o.ip
            ));
        }
    }
    Ok(format!(
        "*filter\n:{CHAIN} - [0:0]\n{}{}COMMIT\n",
        drop_lines(CHAIN, cut.iter().map(|o| o.ip)),
        loss_lines(CHAIN, lossy.iter().map(|o| o.ip), loss.unwrap_or(0.0))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(node: &str, ip: &str, control: &str) -> SshHost {
        SshHost {
            node: node.into(),
            target: SshTarget::new(ip),
            ip: ip.parse().unwrap(),
            dir: PathBuf::from("/tmp/x").join(node),
            control_ip: Some(control.parse().unwrap()),
        }
    }

    fn grudge(pairs: &[(&str, &[&str])]) -> Grudge {
        Grudge(
            pairs
                .iter()
                .map(|(n, from)| (n.to_string(), from.iter().map(|f| f.to_string()).collect()))
                .collect(),
        )
    }

    /// Every host drops its cut peers in faultline's chain, and no rule names the control node.
    #[test]
    fn rules_drop_peers_and_never_the_control_node() {
        let control = "10.0.0.1";
        let hosts = [
            host("n1", "10.0.0.11", control),
            host("n2", "10.0.0.12", control),
            host("n3", "10.0.0.13", control),
        ];
        let all = grudge(&[
            ("n1", &["n2", "n3"]),
            ("n2", &["n1", "n3"]),
            ("n3", &["n1", "n2"]),
        ]);
        for h in &hosts {
            let text = rules(&hosts, h, &all, None).unwrap();
            assert!(text.starts_with("*filter\n:FAULTLINE - [0:0]\n"), "{text}");
            assert!(text.ends_with("COMMIT\n"), "{text}");
            assert_eq!(text.matches("-j DROP").count(), 2, "{text}");
            assert!(!text.contains(&format!("{}/", h.ip)), "{text}");
            assert!(
                !text.contains(&format!(" {control}/")),
                "the control node is never cut: {text}"
            );
            assert!(
                !text.contains("INPUT"),
                "the host's own chains stay: {text}"
            );
        }
        let n1 = rules(&hosts, &hosts[0], &grudge(&[("n1", &["n3"])]), None).unwrap();
        assert_eq!(
            n1.lines().nth(2),
            Some("-A FAULTLINE -s 10.0.0.13/32 -j DROP")
        );
        // The heal: an empty chain.
        let healed = rules(&hosts, &hosts[1], &Grudge::default(), None).unwrap();
        assert_eq!(healed, "*filter\n:FAULTLINE - [0:0]\nCOMMIT\n");
        // Loss into n1 with n3 cut: n3 dropped outright, n2 at random, the control node never.
        let lossy = rules(&hosts, &hosts[0], &grudge(&[("n1", &["n3"])]), Some(0.2)).unwrap();
        assert_eq!(
            lossy,
            "*filter\n:FAULTLINE - [0:0]\n-A FAULTLINE -s 10.0.0.13/32 -j DROP\n\
             -A FAULTLINE -s 10.0.0.12/32 -m statistic --mode random --probability 0.2000 -j DROP\n\
             COMMIT\n"
        );
    }

    /// The directories a run makes on its hosts are ones the sweep after a crash acts on.
    #[test]
    fn a_runs_node_directories_are_ones_the_sweep_takes() {
        let dir = PathBuf::from("/tmp").join(run_dir_name()).join("n1");
        assert!(host_record::is_node_dir(&dir), "{}", dir.display());
    }

    /// A peer at the address a host sees the control node at is refused, naming the host.
    #[test]
    fn a_peer_at_the_control_nodes_address_is_refused() {
        let hosts = [
            host("n1", "10.0.0.11", "10.0.0.12"),
            host("n2", "10.0.0.12", "10.0.0.1"),
        ];
        let e = rules(&hosts, &hosts[0], &grudge(&[("n1", &["n2"])]), None).unwrap_err();
        assert!(
            e.contains("host 10.0.0.11") && e.contains("control node"),
            "{e}"
        );
        let e = rules(&hosts, &hosts[0], &Grudge::default(), Some(0.2)).unwrap_err();
        assert!(e.contains("control node"), "loss is refused there too: {e}");
    }
}
