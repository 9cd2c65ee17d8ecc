//! What cluster to start: target, size, network, and where its files go.

use crate::control::Lifetime;
use crate::net::NetMode;
use crate::ssh::SshTarget;
use crate::systems::{TargetKind, TargetOptions};
use std::path::PathBuf;
use std::time::Duration;

/// A validated description of the cluster a run starts.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    /// The system under test.
    pub target: TargetKind,
    /// What shapes it beyond its kind (failover, persistence, own nodes' binary and delay).
    pub options: TargetOptions,
    /// Number of nodes: the first is the primary, the rest replicate from it.
    pub nodes: usize,
    /// How the nodes' hosts are laid out.
    pub net: NetMode,
    /// netns mode: the first two octets of the private range a /24 is taken from.
    pub subnet_base: [u8; 2],
    /// Directory under which each node gets `<name>/` for its log and data.
    pub dir: PathBuf,
    /// How long the cluster may take to become ready before that is an error.
    pub ready_timeout: Duration,
    /// Whether the nodes die with this faultline or outlive it.
    pub lifetime: Lifetime,
    /// Where the live record is kept while the cluster runs (`<store>/live/<id>.json`).
    pub record: Option<PathBuf>,
    /// The run's seed (the proxy's jitter and loss follow it).
    pub seed: u64,
    /// With [`NetMode::Ssh`]: node `i`'s host is `remote_hosts[i]` (empty otherwise).
    pub remote_hosts: Vec<SshTarget>,
    /// With [`NetMode::Ssh`]: install the Debian packages of the programs a host lacks
    /// (`--install`) instead of refusing to start.
    pub install: bool,
}
