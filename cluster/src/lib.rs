//! faultline's clusters: the node processes of a system under test, how to tell they are ready,
//! and clients.
//!
//! A [`Cluster`] is started from a [`ClusterSpec`]: one primary and replicas of one of the
//! [`systems`] (each a folder implementing [`system::System`]), on loopback ports or a network of
//! their own, each node with its log and data under the run directory. It implements the
//! nemesis's [`nemesis::ClusterControl`] and hands out each worker's [`Client`], which implements
//! the workloads' client operations.

pub mod attach;
pub mod capability;
pub mod cascade;
pub mod client;
pub mod cluster;
pub mod control;
pub mod host_programs;
pub mod key_prefix;
pub mod listening;
pub mod live;
pub mod net;
pub mod ports;
pub mod probe;
pub mod process;
pub mod replicaof;
pub mod resp_client;
pub mod spec;
pub mod ssh;
pub mod system;
pub mod systems;

pub use attach::AttachSpec;
pub use client::{Client, ClientOptions, ReadFrom};
pub use cluster::{Cluster, ClusterError};
pub use control::Lifetime;
pub use live::{live_dir, LiveRecord};
pub use net::{NetChoice, NetMode};
pub use resp_client::RespClient;
pub use spec::ClusterSpec;
pub use systems::{TargetKind, TargetOptions};
