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

use super::NetworkLayout;
use crate::control::Control;
use crate::ssh::{SshControl, SshTarget};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;

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
    format!("faultline-{}-{nanos}", std::process::id())
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
        let mut net = SshNetwork::adopt(hosts)?;
        let seen: Vec<Result<Option<IpAddr>, String>> = std::thread::scope(|scope| {
            let jobs: Vec<_> = net
                .hosts
                .iter()
                .zip(&net.controls)
                .map(|(h, c)| scope.spawn(move || prepare(h, c)))
                .collect();
            jobs.into_iter()
                .map(|j| {
                    j.join()
                        .unwrap_or_else(|_| Err("a login thread panicked".into()))
                })
                .collect()
        });
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

    /// Takes over recorded hosts (to act on their nodes, or to remove them); nothing connects
    /// until the first command.
    pub fn adopt(hosts: Vec<SshHost>) -> Result<SshNetwork, String> {
        let controls = hosts
            .iter()
            .map(|h| {
                SshControl::new(h.target.clone(), needs_sudo(&h.target))
                    .map(Arc::new)
                    .map_err(|e| format!("host {}: {e}", h.target.host))
            })
            .collect::<Result<_, String>>()?;
        Ok(SshNetwork {
            hosts,
            controls,
            detached: false,
        })
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
        }
    }

    /// Leaves the hosts' directories in place when this handle is dropped.
    pub fn detach(&mut self) {
        self.detached = true;
    }

    /// Removes each node's directory from its host. Safe to call more than once.
    pub fn teardown(&mut self) {
        for (h, c) in self.hosts.iter().zip(&self.controls) {
            let dir = h.dir.display().to_string();
            // Only a directory this run named: /tmp/faultline-<pid>-<nanos>/<node>.
            if let Err(e) = c.run("rm", &["-rf", "--", &dir], None) {
                tracing::warn!("teardown of {}: {e}", h.node);
            }
            if let Some(base) = h.dir.parent() {
                let _ = c.run("rmdir", &["--", &base.display().to_string()], None);
            }
        }
    }
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
