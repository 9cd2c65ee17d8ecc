//! `faultline test --attach`: the options validated ([`AttachChoice`]), and what the run
//! records about the cluster it attached to ([`Attached`]), the removal of its keys included.
//!
//! An attached cluster is not faultline's: it takes no option that shapes a cluster faultline
//! starts (`--net`, `--failover`, `--persistence`, `--replication-delay`), and faults that need
//! control faultline lacks are refused before anything runs ([`NodeControl`]): every fault
//! without control; with `--attach-pids` (local processes) every fault but `pause`; with the
//! nodes' hosts (`--nodes HOST,…`, over SSH) pause and the network faults the hosts' firewall
//! rules make (partitions, loss). `kill` never: a killed process could not be started again.

use crate::cli::{AttachOpts, ClusterOpts};
use cluster::attach::{self, AttachSpec};
use cluster::ssh::SshTarget;
use cluster::systems::{Failover, Persistence};
use cluster::{Cluster, NetChoice, TargetKind};
use nemesis::{FaultKind, NemesisKinds};
use serde::Serialize;
use std::net::SocketAddr;
use std::time::Duration;

/// A validated `--attach`.
#[derive(Debug, Clone, Serialize)]
pub struct AttachChoice {
    /// The nodes' addresses, as given.
    pub addrs: Vec<SocketAddr>,
    /// Their pids, one per address, when given.
    pub pids: Option<Vec<u32>>,
    /// Their hosts, one per address in the same order (`--nodes HOST,…`), when given (recorded
    /// once, as the cluster's `remote_hosts`).
    #[serde(skip)]
    pub hosts: Vec<SshTarget>,
    /// The key prefix asked for; `None`: `faultline:<run directory name>:`.
    pub key_prefix: Option<String>,
    /// Leave the run's keys at the end.
    pub keep_data: bool,
}

impl AttachChoice {
    /// Validates the attach options against the cluster options, the remote hosts resolved
    /// from them (`--nodes HOST,…`) and the faults asked for; `None` without `--attach`. Every
    /// error names the option.
    pub fn resolve(
        opts: &AttachOpts,
        cluster: &ClusterOpts,
        hosts: &[SshTarget],
        nemesis: &NemesisKinds,
    ) -> Result<Option<AttachChoice>, String> {
        if opts.attach.is_empty() {
            let given = [
                (!opts.attach_pids.is_empty(), "--attach-pids"),
                (opts.key_prefix.is_some(), "--key-prefix"),
                (opts.keep_data, "--keep-data"),
            ];
            if let Some((_, flag)) = given.iter().find(|(given, _)| *given) {
                return Err(format!(
                    "{flag}: only with --attach (a cluster faultline starts is its own)"
                ));
            }
            return Ok(None);
        }
        let target = cluster.target;
        if target == TargetKind::Own {
            return Err(
                "--attach: own nodes are started by faultline itself; attach to a running \
                 --target redis or etcd"
                    .into(),
            );
        }
        let mut addrs = Vec::new();
        for text in &opts.attach {
            let addr = attach::parse_address(target, text).map_err(|e| format!("--attach {e}"))?;
            if addrs.contains(&addr) {
                return Err(format!("--attach: {addr} is given twice"));
            }
            addrs.push(addr);
        }
        let shaping = [
            (
                !matches!(cluster.net, NetChoice::Auto | NetChoice::Loopback),
                "--net",
            ),
            (cluster.failover != Failover::None, "--failover"),
            (cluster.persistence != Persistence::None, "--persistence"),
            (cluster.replication_delay.is_some(), "--replication-delay"),
        ];
        if let Some((_, flag)) = shaping.iter().find(|(given, _)| *given) {
            return Err(format!(
                "{flag}: shapes a cluster faultline starts; an attached cluster runs as it was \
                 started (leave {flag} out with --attach)"
            ));
        }
        let pids = (!opts.attach_pids.is_empty()).then(|| opts.attach_pids.clone());
        if !hosts.is_empty() {
            if pids.is_some() {
                return Err(
                    "--attach-pids: local pids cannot name processes on the --nodes hosts; with \
                     --nodes faultline finds each node's pid on its host itself (leave \
                     --attach-pids out)"
                        .into(),
                );
            }
            if hosts.len() != addrs.len() {
                return Err(format!(
                    "--nodes: {} host{} for {} --attach address{}; give one host per address, in \
                     the same order (the node at the i-th address runs on the i-th host)",
                    hosts.len(),
                    if hosts.len() == 1 { "" } else { "s" },
                    addrs.len(),
                    if addrs.len() == 1 { "" } else { "es" },
                ));
            }
        }
        if let Some(pids) = &pids {
            if pids.len() != addrs.len() {
                return Err(format!(
                    "--attach-pids: {} pids for {} --attach addresses; give one per address, \
                     in the same order",
                    pids.len(),
                    addrs.len()
                ));
            }
        }
        if opts.key_prefix.as_deref() == Some("") {
            return Err(
                "--key-prefix: must not be empty (everything under it is removed at the end)"
                    .into(),
            );
        }
        let choice = AttachChoice {
            addrs,
            pids,
            hosts: hosts.to_vec(),
            key_prefix: opts.key_prefix.clone(),
            keep_data: opts.keep_data,
        };
        for kind in &nemesis.0 {
            allowed(kind, choice.control()).map_err(|e| format!("--nemesis {kind}: {e}"))?;
        }
        Ok(Some(choice))
    }

    /// The key prefix of the run whose directory is named `run`.
    pub fn prefix_for(&self, run: &str) -> String {
        self.key_prefix
            .clone()
            .unwrap_or_else(|| format!("faultline:{run}:"))
    }

    /// What to attach to, for `target`, with keys under `key_prefix`: the nodes behind the
    /// addresses given (a sentinel's stand for the nodes it monitors), and the sentinels among
    /// them.
    pub async fn spec(
        &self,
        target: TargetKind,
        key_prefix: String,
        timeout: Duration,
    ) -> Result<(AttachSpec, Vec<SocketAddr>), String> {
        let (addrs, sentinels) = attach::through_sentinels(target, &self.addrs, timeout).await?;
        if self.pids.is_some() && !sentinels.is_empty() {
            return Err(format!(
                "--attach-pids: {} answered as sentinels, whose nodes' pids cannot be matched to \
                 the pids given; give the nodes' own addresses with --attach-pids",
                sentinels
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !self.hosts.is_empty() && !sentinels.is_empty() {
            return Err(format!(
                "--nodes: {} answered as sentinels, whose nodes cannot be matched to the hosts \
                 given in order; give the nodes' own addresses with --nodes",
                sentinels
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let spec = AttachSpec {
            target,
            addrs,
            pids: self.pids.clone(),
            hosts: self.hosts.clone(),
            key_prefix,
            timeout,
        };
        Ok((spec, sentinels))
    }

    /// How faultline controls the attached nodes' processes.
    fn control(&self) -> NodeControl {
        match (&self.pids, self.hosts.is_empty()) {
            (_, false) => NodeControl::Hosts,
            (Some(_), true) => NodeControl::Pids,
            (None, true) => NodeControl::None,
        }
    }

    /// The faults faultline can inject into this cluster, in words for results.json.
    fn faults(&self) -> &'static str {
        match self.control() {
            NodeControl::Hosts => {
                "pause and resume by pid over SSH (--nodes), partitions and loss by firewall \
                 rules between the hosts; never kill"
            }
            NodeControl::Pids => "pause and resume by pid (--attach-pids); never kill",
            NodeControl::None => {
                "none: faultline controls no process of the attached nodes (no --attach-pids \
                 or --nodes)"
            }
        }
    }
}

/// How faultline controls an attached cluster's processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NodeControl {
    /// Not at all: only `--nemesis none`.
    None,
    /// Local pids (`--attach-pids`): pause.
    Pids,
    /// The nodes' hosts over SSH (`--nodes`): pause, and the hosts' firewall rules.
    Hosts,
}

/// Whether an attached cluster whose processes faultline controls as `control` says takes
/// faults of `kind`. Over SSH a network fault is then asked of the hosts' network, which says
/// what its rules cannot do (latency, bandwidth).
fn allowed(kind: &FaultKind, control: NodeControl) -> Result<(), String> {
    let lacking = "needs control of the attached nodes: give their hosts with --nodes HOST,… \
                   (SSH), or their local pids with --attach-pids, or use --nemesis none";
    match (kind, control) {
        (FaultKind::Kill, _) => Err(
            "faultline cannot start again a process it did not start, so it never kills an \
             attached node; an attached cluster takes --nemesis none, pause with \
             --attach-pids, or pause and network faults with --nodes"
                .into(),
        ),
        (FaultKind::Pause, NodeControl::None) => Err(lacking.into()),
        (FaultKind::Pause, _) => Ok(()),
        (_, NodeControl::Hosts) => Ok(()),
        (_, NodeControl::Pids) => Err(
            "a local attached cluster's network is not faultline's to cut or slow; give the \
             nodes' hosts with --nodes HOST,… for partitions and loss between them, or use \
             --nemesis none or pause"
                .into(),
        ),
        (_, NodeControl::None) => Err(
            "an attached cluster's network is cut only through its hosts: give them with \
             --nodes HOST,… (SSH), or use --nemesis none"
                .into(),
        ),
    }
}

/// What results.json says about the attached cluster.
#[derive(Debug, Clone, Serialize)]
pub struct Attached {
    /// The nodes as found: name (n1 the primary), address, pid where given.
    pub nodes: Vec<AttachedNode>,
    /// The sentinels among the addresses given, through which the nodes were found.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sentinels: Vec<SocketAddr>,
    /// The prefix every key of the run went under.
    pub key_prefix: String,
    /// The faults faultline could inject.
    pub faults: &'static str,
    /// What became of the run's keys at the end.
    pub keys: Option<KeysAtEnd>,
}

/// One attached node, for results.json.
#[derive(Debug, Clone, Serialize)]
pub struct AttachedNode {
    /// Its name in the history and the report.
    pub name: String,
    /// Its client address.
    pub addr: SocketAddr,
    /// Its pid, when faultline could signal it.
    pub pid: Option<u32>,
    /// The host it runs on, where faultline logs in to it (`--nodes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// What became of an attached run's keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum KeysAtEnd {
    /// Everything under the prefix was deleted: this many keys.
    Removed {
        /// How many.
        count: u64,
    },
    /// Left in place (`--keep-data`).
    Kept,
    /// They could not be deleted: why.
    NotRemoved {
        /// The error.
        error: String,
    },
}

impl Attached {
    /// The record of `cluster`, attached as `choice` asked.
    pub fn new(choice: &AttachChoice, cluster: &Cluster, sentinels: Vec<SocketAddr>) -> Attached {
        Attached {
            sentinels,
            nodes: cluster
                .nodes()
                .iter()
                .enumerate()
                .map(|(i, n)| AttachedNode {
                    name: n.name.clone(),
                    addr: n.addr,
                    pid: n.pid(),
                    host: (!choice.hosts.is_empty()).then(|| cluster.network().host_name(i)),
                })
                .collect(),
            key_prefix: cluster.key_prefix().unwrap_or_default().to_string(),
            faults: choice.faults(),
            keys: None,
        }
    }

    /// Removes the run's keys unless `--keep-data`, and records what became of them.
    pub async fn finish(&mut self, choice: &AttachChoice, target: TargetKind, timeout: Duration) {
        self.keys = Some(if choice.keep_data {
            KeysAtEnd::Kept
        } else {
            // Through the nodes found: a sentinel given in their place holds no keys.
            let nodes: Vec<SocketAddr> = self.nodes.iter().map(|n| n.addr).collect();
            match attach::remove_keys(target, &nodes, &self.key_prefix, timeout).await {
                Ok(count) => KeysAtEnd::Removed { count },
                Err(error) => KeysAtEnd::NotRemoved { error },
            }
        });
    }

    /// One line for people: where the run's keys are now.
    pub fn keys_line(&self) -> String {
        let prefix = &self.key_prefix;
        match &self.keys {
            Some(KeysAtEnd::Removed { count }) => {
                format!("attached cluster: removed the run's {count} keys under '{prefix}'")
            }
            Some(KeysAtEnd::Kept) => {
                format!("attached cluster: the run's keys are kept under '{prefix}' (--keep-data)")
            }
            Some(KeysAtEnd::NotRemoved { error }) => format!(
                "attached cluster: the run's keys under '{prefix}' could not be removed: {error}"
            ),
            None => format!("attached cluster: keys under '{prefix}'"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nemesis::LinkKind;

    /// Kill never; pause with any control; network faults only through the hosts (whose own
    /// network then says which it can make).
    #[test]
    fn each_kind_of_control_takes_its_faults() {
        let partition = FaultKind::Partition(None);
        let loss = FaultKind::Link(LinkKind::Loss);
        for control in [NodeControl::None, NodeControl::Pids, NodeControl::Hosts] {
            let e = allowed(&FaultKind::Kill, control).unwrap_err();
            assert!(e.contains("never kills an attached node"), "{e}");
        }
        assert!(allowed(&FaultKind::Pause, NodeControl::None)
            .unwrap_err()
            .contains("--nodes HOST"));
        assert_eq!(allowed(&FaultKind::Pause, NodeControl::Pids), Ok(()));
        assert_eq!(allowed(&FaultKind::Pause, NodeControl::Hosts), Ok(()));
        for kind in [&partition, &loss] {
            assert_eq!(allowed(kind, NodeControl::Hosts), Ok(()), "{kind}");
            let e = allowed(kind, NodeControl::Pids).unwrap_err();
            assert!(e.contains("--nodes HOST"), "{e}");
            let e = allowed(kind, NodeControl::None).unwrap_err();
            assert!(e.contains("--nodes HOST"), "{e}");
        }
    }
}
