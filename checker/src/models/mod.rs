//! The sequential specifications a history is checked against.

pub mod cas_register;
pub mod counter;
pub(crate) mod history_model;
pub mod interner;
pub mod kv;
pub mod model;
pub mod multi_register;
pub mod queue;
pub mod register_op;
pub mod set;
