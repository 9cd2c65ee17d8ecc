//! What the nemesis needs from a cluster, and where it reports what it did.

use crate::fault::Fault;
use crate::link::LinkFault;
use crate::partition::Grudge;
use serde_json::Value;
use std::future::Future;

/// The operations on a cluster that faults are made of.
pub trait ClusterControl: Send + Sync {
    /// The names of the nodes faults may target.
    fn node_names(&self) -> Vec<String>;
    /// Stops `node`'s process (SIGSTOP): it keeps its sockets but answers nothing.
    fn pause(&self, node: &str) -> Result<(), String>;
    /// Resumes `node`'s process (SIGCONT).
    fn resume(&self, node: &str) -> Result<(), String>;
    /// Kills `node`'s process (SIGKILL); its data directory stays.
    fn kill(&self, node: &str) -> Result<(), String>;
    /// Starts `node` again after a kill, as it was configured.
    fn restart(&self, node: &str) -> Result<(), String>;
    /// Cuts node-to-node traffic as `grudge` says (replacing any earlier cut).
    fn partition(&self, grudge: &Grudge) -> Result<(), String>;
    /// Degrades the links into `nodes` from the other nodes (replacing any earlier degradation).
    fn degrade(&self, nodes: &[String], fault: &LinkFault) -> Result<(), String>;
    /// Restores every node-to-node link: no cut, no degradation.
    fn heal_network(&self) -> Result<(), String>;
    /// Makes `node` lie (`true`: its reads answer values nobody wrote) or tell the truth again.
    fn lie(&self, node: &str, on: bool) -> Result<(), String> {
        let _ = on;
        Err(format!("{node} cannot be made to lie"))
    }
    /// The node that currently reports itself primary, if one does.
    fn primary(&self) -> impl Future<Output = Option<String>> + Send;
    /// Whether every node answers and the cluster is replicating; `Err` says what is unhealthy.
    fn health(&self) -> impl Future<Output = Result<(), String>> + Send;
}

/// Where the nemesis writes its events (the run's history).
pub trait FaultRecorder: Send + Sync {
    /// Records a nemesis event `f` with its details; `error` set means the action failed.
    fn record(&self, f: &str, value: Value, error: Option<String>);
    /// Says which fault is in force now (`None` once healed), for progress displays.
    fn active(&self, _fault: Option<&Fault>) {}
}

/// Applies `fault` to the cluster.
pub fn apply<C: ClusterControl>(control: &C, fault: &Fault) -> Result<(), String> {
    match fault {
        Fault::Pause { nodes } => each(nodes, |n| control.pause(n)),
        Fault::Kill { nodes } => each(nodes, |n| control.kill(n)),
        Fault::Partition { grudge, .. } => control.partition(grudge),
        Fault::Link { nodes, link, .. } => control.degrade(nodes, link),
        Fault::Lie { nodes } => each(nodes, |n| control.lie(n, true)),
    }
}

/// Undoes `fault`.
pub fn heal<C: ClusterControl>(control: &C, fault: &Fault) -> Result<(), String> {
    match fault {
        Fault::Pause { nodes } => each(nodes, |n| control.resume(n)),
        Fault::Kill { nodes } => each(nodes, |n| control.restart(n)),
        Fault::Partition { .. } | Fault::Link { .. } => control.heal_network(),
        Fault::Lie { nodes } => each(nodes, |n| control.lie(n, false)),
    }
}

/// Runs `action` on every node, even after one fails, and reports every failure.
fn each(nodes: &[String], action: impl Fn(&str) -> Result<(), String>) -> Result<(), String> {
    let errors: Vec<String> = nodes.iter().filter_map(|n| action(n).err()).collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}
