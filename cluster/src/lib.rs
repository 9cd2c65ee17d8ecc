//! faultline's clusters: the node processes of a target, how to tell they are ready, and clients.
//!
//! A [`Cluster`] is started from a [`ClusterSpec`]: one primary and replicas of either
//! faultline's own node or Debian's `redis-server`, on loopback ports, each with its log and data
//! under the run directory. It implements the nemesis's [`nemesis::ClusterControl`] and hands out
//! [`RespClient`]s implementing the workloads' [`workloads::RegisterClient`].

pub mod capability;
pub mod client;
pub mod cluster;
pub mod control;
pub mod etcd;
pub mod live;
pub mod net;
pub mod probe;
pub mod process;
pub mod spec;
pub mod target;

pub use client::RespClient;
pub use cluster::{Cluster, ClusterError};
pub use control::Lifetime;
pub use live::{live_dir, LiveRecord};
pub use net::{NetChoice, NetMode};
pub use spec::ClusterSpec;
pub use target::{ReadFrom, TargetKind};
