//! faultline's results: where a run's files land and how they are written.
//!
//! A run directory is `store/<test-name>/<timestamp>/`; `store/latest` points at the newest one.
//! The history is written as the run goes, in batches of whole lines (group commit), so a crashed
//! run can still be checked; `results.json` is written once the verdict is known, and with it
//! the files for machines: `history.csv` (`history_csv.rs`) and `junit.xml` (`junit.rs`),
//! written and rewritten together (`run_files.rs`). A suite's files go to
//! `store/suites/<suite>/<timestamp>/` (`suite_dir.rs`).

pub mod history_csv;
pub mod history_log;
pub mod junit;
pub mod run_dir;
pub mod run_files;
pub mod suite_dir;
pub mod summary;

pub use history_csv::write_history_csv;
pub use history_log::{Entry, HistoryLog, Stamp, FINAL_READ_PROCESSES};
pub use junit::RunJunit;
pub use run_dir::{RunDir, StoreError};
pub use suite_dir::SuiteDir;
pub use summary::{
    recorded_checker, recorded_command, ExitCode, RecordError, RecordedChecker, RecordedRun,
    RunSummary,
};
