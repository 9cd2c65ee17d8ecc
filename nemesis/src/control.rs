//! What the nemesis needs from a cluster, and where it reports what it did.

use crate::fault::Fault;
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
