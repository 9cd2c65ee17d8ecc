//! faultline's checker: the history model and the verdicts drawn from it.
//!
//! ```text
//!   JSONL ──────jsonl──────┐
//!   Jepsen EDN ──edn───────┼─► events ──operation::pair──► operations ──check──► CheckReport
//!   Jepsen log ──jepsen_log┘                                            │
//!   per key (partition): cas_register or multi_register ─► wgl search ◄─┤
//!                                          stale reads (explanations) ◄─┤
//!          invalid keys: minimal witness (ddmin, sound subsets) + cycle ◄─┘
//! ```
//!
//! Most callers want [`read_history_file`] (any format; [`history_file`] says how it is chosen)
//! and [`check_events`].

pub mod budget;
pub mod cas_register;
pub mod check;
pub mod convergence;
pub mod counter;
pub mod counter_bounds;
pub mod cycle;
pub mod edn;
pub mod event;
pub mod failed_cas;
pub mod history_error;
pub mod history_file;
pub mod independent;
pub mod interner;
pub mod jepsen_log;
pub mod jsonl;
pub mod key_progress;
pub mod kv;
pub mod model;
pub mod model_check;
pub mod model_inference;
pub mod multi_register;
pub mod nil_reads;
pub mod op_summary;
pub mod operation;
pub mod partition;
pub mod queue;
pub mod set;
pub mod set_full;
pub mod simulation;
pub mod stale;
pub mod ties;
pub mod times;
pub mod validity;
pub mod weak;
pub mod wgl;
pub mod witness;

mod bitset;
#[cfg(test)]
mod brute_force;
mod ddmin;
mod explored;
mod final_reads;
mod fx_hash;
#[cfg(test)]
mod history_builder;
mod linearized;
#[cfg(test)]
mod model_agreement;
mod probe;
mod sources;
#[cfg(test)]
mod stretched;
mod unique;

pub use budget::{parse_size, Budget, Bytes, Stop};
pub use cas_register::{CasRegister, RegisterOp};
pub use check::{
    check_events, check_operations, Anomaly, CheckOptions, CheckReport, Counts, KeyReport,
    ModelKind, UnknownModel,
};
pub use convergence::{
    check_convergence, ConvergenceReport, DivergentKey, LostWrite, UnexpectedValue,
};
pub use counter::{Counter, CounterOp};
pub use counter_bounds::{check_counter_bounds, BoundsViolation, CounterBoundsReport};
pub use cycle::{Constraint, Cycle, CycleStep};
pub use event::{Event, EventType, Process, CAS_MISMATCH};
pub use failed_cas::{mark_failed_cas_as_mismatch, FailedCas, UnknownFailedCas};
pub use history_error::HistoryError;
pub use history_file::{
    history_files_in, read_history_file, read_history_file_with, Format, HistoryFile, ReadOptions,
    UnknownFormat,
};
pub use independent::Independent;
pub use jsonl::{read_jsonl, read_jsonl_file, ParseError};
pub use key_progress::KeyProgress;
pub use kv::{Kv, KvOp};
pub use model::Model;
pub use model_check::{BadInitial, HistoryModel};
pub use model_inference::{infer_model, NoModelFits};
pub use multi_register::{MicroOp, MultiRegister};
pub use nil_reads::nil_reads_unknown;
pub use op_summary::OpSummary;
pub use operation::{pair, Operation, Outcome};
pub use queue::{Queue, QueueOp};
pub use set::{Set, SetOp};
pub use set_full::{check_set_full, SetFullOptions, SetFullReport, SetRead};
pub use simulation::{Object, Simulation, Values};
pub use stale::StaleRead;
pub use ties::Ties;
pub use times::Times;
pub use validity::Validity;
pub use weak::WeakReport;
pub use witness::Witness;
