//! faultline's nemesis: which faults exist, when they happen, and what they need from a cluster.
//!
//! The nemesis never knows what a cluster is made of: it drives the [`ClusterControl`] trait,
//! which each cluster implements, and reports every fault window through a [`FaultRecorder`].

pub mod control;
pub mod fault;
pub mod link;
pub mod partition;
pub mod runner;
pub mod schedule;

pub use control::{ClusterControl, FaultRecorder};
pub use fault::{nemesis_names, Fault, FaultKind, NemesisKinds, NetworkNeed, WindowEdge};
pub use link::{LinkFault, LinkKind};
pub use partition::{Grudge, PartitionSpec, Shape};
pub use runner::{run, FaultRecord, NemesisReport};
pub use schedule::Schedule;
