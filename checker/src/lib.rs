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

pub mod check;
pub mod explain;
pub mod history;
mod key_check;
pub mod key_progress;
pub mod models;
pub mod options;
pub mod report;
pub mod search;
pub mod testing;
pub mod validity;
pub mod weak;

// The old flat paths, kept until the public surface is trimmed.
pub use explain::{cycle, stale, ties, witness};
pub use history::{
    edn, event, failed_cas, history_error, history_file, independent, jepsen_log, jsonl,
    model_inference, nil_reads, op_summary, operation, times,
};
pub use models::{cas_register, counter, interner, kv, model, multi_register, queue, set};
pub use search::{budget, partition, wgl};
pub use testing::simulation;
pub use weak::{convergence, counter_bounds, set_full};

pub use budget::{parse_size, Budget, Bytes, Stop};
pub use cas_register::CasRegister;
pub use check::{check_events, check_operations};
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
pub use model_inference::{infer_model, NoModelFits};
pub use models::register_op::RegisterOp;
pub use multi_register::{MicroOp, MultiRegister};
pub use nil_reads::nil_reads_unknown;
pub use op_summary::OpSummary;
pub use operation::{pair, Operation, Outcome};
pub use options::{CheckOptions, ModelKind, UnknownModel};
pub use queue::{Queue, QueueOp};
pub use report::{Anomaly, CheckReport, Counts, KeyReport};
pub use set::{Set, SetOp};
pub use set_full::{check_set_full, SetFullOptions, SetFullReport, SetRead};
pub use simulation::{Object, Simulation, Values};
pub use stale::StaleRead;
pub use ties::Ties;
pub use times::Times;
pub use validity::Validity;
pub use weak::WeakReport;
pub use witness::Witness;
