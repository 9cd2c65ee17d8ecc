//! faultline's checker: the history model and the verdicts drawn from it.
//!
//! ```text
//!   JSONL ─────┐
//!   Jepsen EDN ┼─► events ──pair──► operations ──check──┬─► weak/: set-full, counter bounds,
//!   Jepsen log ┘  (history/)                           │          convergence
//!                                                      └─► key_check, per key, in parallel:
//!        models/ (the model's operations) ─► search/ (fast path, probes, wgl) ─► verdict
//!        invalid: explain/ (stale reads, minimal witness, its context and cycle) ─► report
//! ```
//!
//! The rooms, each documented in its `mod.rs`: `history/` (events, formats, operations),
//! `models/` (the sequential specifications, and how to add one), `search/` (deciding a key),
//! `explain/` (why a key is invalid), `weak/` (checkers of weaker guarantees), [`testing`]
//! (simulated histories and brute-force references). At the top: `check.rs` (the entry point),
//! `key_check.rs` (the one per-key pipeline every model goes through), `options.rs` and
//! [`report`] (what goes in and what comes out; leaves that import nothing of the checking),
//! `validity.rs` and `key_progress.rs`. No file imports a file that imports it back
//! (`tests/import_cycles.rs`).
//!
//! Most callers want [`read_history_file`] (any format, chosen as [`Format`] says) and
//! [`check_events`]; [`formats`] has each format's own reader.

mod check;
mod explain;
mod history;
mod key_check;
mod key_progress;
mod models;
mod options;
pub mod report;
mod search;
pub mod testing;
mod validity;
mod weak;

/// The readers of each format, for callers that know theirs (`faultline run` reads its own
/// JSONL; the fuzz targets read one format each).
pub mod formats {
    pub use crate::history::edn::{parse_value, read_edn, EdnValueError};
    pub use crate::history::jepsen_log::read_jepsen_log;
    pub use crate::history::jsonl::{read_jsonl, read_jsonl_file};
}

pub use check::{check_events, check_events_reusing};
pub use history::event::{Event, EventType, Process, CAS_MISMATCH};
pub use history::failed_cas::{mark_failed_cas_as_mismatch, FailedCas};
pub use history::history_error::HistoryError;
pub use history::history_file::{
    history_files_in, read_history_file, read_history_file_with, Format, ReadOptions,
};
pub use history::independent::Independent;
pub use history::jsonl::ParseError;
pub use history::model_inference::infer_model;
pub use history::nil_reads::nil_reads_unknown;
pub use history::op_summary::describe_key;
pub use history::operation::{pair, Operation, Outcome};
pub use history::span::Span;
pub use key_progress::KeyProgress;
pub use options::{CheckOptions, ModelKind, UnknownModel};
pub use report::{Anomaly, CheckReport, Counts, KeyReport, Witness};
pub use search::budget::parse_size;
pub use validity::Validity;
