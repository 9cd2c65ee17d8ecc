//! Simulated histories and brute-force references for benchmarks and tests.

#[cfg(test)]
pub(crate) mod brute_force;
#[cfg(test)]
pub(crate) mod history_builder;
#[cfg(test)]
pub(crate) mod model_agreement;
pub(crate) mod simulation;
#[cfg(test)]
pub(crate) mod stretched;

pub use simulation::{Object, Simulation, Values};
