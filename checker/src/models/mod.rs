//! The sequential specifications a history is checked against.
//!
//! - `model.rs`: the `Model` trait the search runs (`init`, `step`, and `may_become_legal`, which
//!   lets the search drop a branch where an operation due soon could never take effect).
//! - `history_model.rs`: `HistoryModel`, a model that reads its operations from a history, and
//!   the hooks the one per-key check (`key_check.rs`) asks it: which operations reach the search
//!   (`op`), which indeterminate updates no observation shows and may be left out (`unobserved`),
//!   whether to probe (`PROBES`), a verdict before the search (`decide_first`), what a witness
//!   keeps together and shows (`ties`, `explainer`), and the words of a report (`NOUN`,
//!   `OBSERVING`, `leaves`, `stale_reads`).
//! - `cas_register.rs` with `register_op.rs`: the register and cas-register (one model: a
//!   register history has no cas). Its hooks are the unique-value fast path
//!   (`search/unique.rs`), the stale-read explanation (`explain/stale.rs`) and its sources
//!   (`explain/register_witness.rs`); it is not probed, so its reports keep naming the longest
//!   consistent order.
//! - `multi_register.rs`: Knossos's multi-register transactions (`txn` of named registers).
//! - `kv.rs`, `set.rs`, `counter.rs`, `queue.rs`: a string map with get, put and append; a set
//!   with add and whole-set reads; an integer counter; a FIFO queue.
//! - `interner.rs`: JSON values as small integers, so states stay small and cheap to hash.
//!
//! To add a model: write `models/<name>.rs` with the `Model` and `HistoryModel` impls (only
//! `op`, `from_initial` and the constants are required; `ties` and `unobserved` make witnesses
//! small and searches short), declare it here, add its `ModelKind` variant with its name and
//! functions (`options.rs`; `ModelKind::inferable` says whether `--model auto` may pick it),
//! and dispatch it in `check.rs`'s `check_model_keys`. Its reference
//! belongs in `testing/model_agreement.rs` and its tie property in `testing/stretched.rs`.

pub(crate) mod cas_register;
pub(crate) mod counter;
pub(crate) mod history_model;
pub(crate) mod interner;
pub(crate) mod kv;
pub(crate) mod model;
pub(crate) mod multi_register;
pub(crate) mod queue;
pub(crate) mod register_op;
pub(crate) mod set;
