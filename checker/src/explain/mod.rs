//! Why a key is not linearizable: the stale reads, a minimal witness, and what it shows.
//!
//! - `witness.rs`: the minimal witness of an invalid key, by delta debugging (`ddmin.rs`) with
//!   the key's own check as the oracle, under a deadline of twice the check's time, over sound
//!   subsets only: a subset whose non-linearizability proves the whole key's.
//! - `explainer.rs`: what a model tells the witness (`HistoryModel::explainer`): the closure
//!   that keeps a subset sound, and the context shown around the result.
//! - `ties.rs`: the closure of every model but the register (`HistoryModel::ties`): a set read
//!   needs the adds of what it returned, a queue element's enqueues and dequeues go together, a
//!   kv get needs the puts and appends that can spell its string. A witness of those models ends
//!   with a sentence naming how far its longest legal order gets.
//! - `sources.rs` and `register_witness.rs`: the register's: which writes an observation may
//!   have read from (what a witness must keep), and the overwrites that rule out the others,
//!   shown as context with one sentence each.
//! - `cycle.rs`: the cycle of ordering constraints a register witness breaks (petgraph: real
//!   time, read-from, and the write orders they imply).
//! - `stale.rs`: reads that returned an overwritten value (unique-value register keys), which
//!   then explain the key instead of the longest order.

pub(crate) mod cycle;
pub(crate) mod ddmin;
pub(crate) mod explainer;
pub(crate) mod register_witness;
pub(crate) mod sources;
pub(crate) mod stale;
pub(crate) mod ties;
pub(crate) mod witness;
