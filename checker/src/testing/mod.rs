//! Simulated histories and brute-force references: for benchmarks and tests, apart from the
//! product code.
//!
//! - `simulation.rs`: seeded simulated histories (register or kv, unique or repeated values,
//!   indeterminate operations, an injected stale read), for `faultline bench check` and the
//!   randomized tests; the one part callers reach (`checker::testing`).
//! - `brute_force.rs`, `model_agreement.rs` (tests only): references that try every order, and
//!   the tests that every model's verdict agrees with them on random histories.
//! - `stretched.rs` (tests only): property tests: sequential runs stretched into overlapping
//!   intervals are linearizable, stale reads are not, and every subset closed under a model's
//!   ties stays linearizable.
//! - `history_builder.rs` (tests only): shorthand for writing histories in tests.

#[cfg(test)]
pub(crate) mod brute_force;
#[cfg(test)]
pub(crate) mod history_builder;
#[cfg(test)]
pub(crate) mod model_agreement;
pub(crate) mod simulation;
#[cfg(test)]
pub(crate) mod stretched;

pub use simulation::{Mix, Object, Simulation, Values};
