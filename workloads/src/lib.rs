//! faultline's workloads: what clients do during a run, and what they need from a client.
//!
//! A workload is a pure generator of operations (seeded, so the same seed gives the same stream),
//! the client operations it needs (a trait the cluster's clients implement), and the mapping of a
//! client's answer onto history events.

pub mod client;
pub mod register;
pub mod set;
pub mod workload;

pub use client::{ClientError, RegisterClient, SetClient};
pub use register::{Completion, RegisterGenerator, RegisterOp};
pub use set::{SetGenerator, SET_KEY};
pub use workload::{Op, Workload, WorkloadKind};
