//! Explanations of an invalid key: witness, sources, ties, cycle, stale reads.

pub mod cycle;
pub(crate) mod ddmin;
pub(crate) mod explainer;
pub(crate) mod register_witness;
pub(crate) mod sources;
pub mod stale;
pub mod ties;
pub mod witness;
