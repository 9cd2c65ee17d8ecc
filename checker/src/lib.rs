//! faultline's checker: the history model and the verdicts drawn from it.
//!
//! ```text
//!   JSONL ──jsonl──► events ──operation::pair──► operations ──check──► CheckReport
//!                                                                 │
//!                                     partition (per key) ─► cas_register model ─► wgl search
//!                                                                 └─► stale reads (explanations)
//! ```
//!
//! Most callers want [`read_jsonl_file`] and [`check_events`].

pub mod cas_register;
pub mod check;
pub mod event;
pub mod history_error;
pub mod interner;
pub mod jsonl;
pub mod model;
pub mod op_summary;
pub mod operation;
pub mod partition;
pub mod stale;
pub mod validity;
pub mod wgl;

mod bitset;
#[cfg(test)]
mod brute_force;
#[cfg(test)]
mod history_builder;
mod linearized;

pub use cas_register::{CasRegister, RegisterOp};
pub use check::{
    check_events, check_operations, Anomaly, CheckOptions, CheckReport, Counts, KeyReport,
    ModelKind, UnknownModel,
};
pub use event::{Event, EventType, Process};
pub use history_error::HistoryError;
pub use jsonl::{read_jsonl, read_jsonl_file, ParseError};
pub use model::Model;
pub use op_summary::OpSummary;
pub use operation::{pair, Operation, Outcome};
pub use stale::StaleRead;
pub use validity::Validity;
