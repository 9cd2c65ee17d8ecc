//! etcd as a system under test: launching members, talking to them as a workload client, and
//! asking them about their Raft state.
//!
//! - [`system`]: [`EtcdSystem`], etcd's side of the cluster's [`crate::system::System`]: its
//!   members' daemons, status and health rule, ports, proxy fronts, options and clients.
//! - [`launch`]: the `etcd` binary ([`find_etcd`], whose error names Debian's `etcd-server`) and
//!   the flags of one member of a statically bootstrapped cluster ([`etcd_args`]). Members are
//!   described by [`EtcdMember`] with separate client and peer addresses, so the same code serves
//!   loopback ports and one IP per network namespace.
//! - [`client`]: [`EtcdClient`], the workloads' register and set client, with the failure
//!   classification the checker depends on, and [`ReadConsistency`].
//! - `gateway`: one connection to a member's gRPC-JSON gateway (etcd's v3 API as JSON over
//!   HTTP/1.1: no protoc, prost or tonic in the build), over `http` (a minimal HTTP/1.1 client
//!   connection), with the calls' JSON shapes in `api` and their `bytes` fields in `base64`.
//! - [`status`]: one member's own view — [`member_status`] (id, leader, Raft index and term),
//!   [`member_names`] (ids to launch names) and [`health`] — for readiness, roles and the nemesis.
//! - [`keys`]: an attached cluster's keys under a run's prefix, counted and deleted.

mod api;
mod base64;
pub mod client;
mod gateway;
mod http;
pub mod keys;
pub mod launch;
pub mod status;
pub mod system;

pub use client::{EtcdClient, ReadConsistency};
pub use launch::{
    etcd_args, find_etcd, unique_token, EtcdMember, EtcdTiming, DEFAULT_CLIENT_PORT,
    DEFAULT_PEER_PORT, ETCD_PACKAGE,
};
pub use status::{health, member_names, member_status, MemberStatus};
pub use system::EtcdSystem;
