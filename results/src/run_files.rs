//! The files a run directory holds for machines beside `results.json`: `history.csv` and
//! `junit.xml`. Both are derived: written when a run ends (however it ended, from what was
//! recorded) and rewritten by `faultline check RUN_DIR` from `history.jsonl`, the source of
//! truth, and the new check.

use crate::junit::RunJunit;
use crate::run_dir::RunDir;
use crate::summary::RecordedRun;
use crate::{write_history_csv, StoreError};
use checker::{CheckReport, Event};
use std::time::Duration;

/// Writes `history.csv` from `events` and `junit.xml` from `junit` into `run_dir`.
pub fn write(run_dir: &RunDir, events: &[Event], junit: &RunJunit) -> Result<(), StoreError> {
    write_history_csv(events, &run_dir.csv_path())?;
    junit.write(&run_dir.junit_path())
}

/// Rewrites a saved run's files after a new check: the CSV from its history file, the JUnit
/// from `report` with what the run's `results.json` says of the run itself (its name, how long
/// it ran, why its verdict was not simply the check's). Errors name the file.
pub fn rewrite(run_dir: &RunDir, report: &CheckReport) -> Result<(), String> {
    let recorded = RecordedRun::read(&run_dir.results_path()).map_err(|e| e.to_string())?;
    let events =
        checker::formats::read_jsonl_file(&run_dir.history_path()).map_err(|e| e.to_string())?;
    let junit = RunJunit {
        test: &recorded.test,
        reason: recorded.reason.as_deref(),
        check: Some(report),
        duration: Duration::try_from_secs_f64(recorded.duration_secs).unwrap_or_default(),
    };
    write(run_dir, &events, &junit).map_err(|e| e.to_string())
}
