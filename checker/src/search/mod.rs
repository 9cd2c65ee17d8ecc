//! The linearizability search and what speeds it up.

pub(crate) mod bitset;
pub mod budget;
pub(crate) mod explored;
pub(crate) mod fx_hash;
pub(crate) mod linearized;
pub mod partition;
pub(crate) mod probe;
pub(crate) mod unique;
pub mod wgl;
