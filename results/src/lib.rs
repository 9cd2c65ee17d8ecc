//! faultline's results: where a run's files land and how they are written.
//!
//! A run directory is `store/<test-name>/<timestamp>/`; `store/latest` points at the newest one.
//! The history is written as the run goes, in batches of whole lines (group commit), so a crashed
//! run can still be checked; `results.json` is written once the verdict is known.

pub mod history_log;
pub mod run_dir;
pub mod summary;

pub use history_log::{Entry, HistoryLog, Stamp};
pub use run_dir::{RunDir, StoreError};
pub use summary::{recorded_command, recorded_workload, ExitCode, RecordError, RunSummary};
