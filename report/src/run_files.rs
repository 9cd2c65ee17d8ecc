//! What a report is made from: the files a run leaves in its directory, read back (a report
//! rebuilt later and one written at the end of a run are the same).

use crate::fault_windows::{fault_windows, FaultWindow};
use crate::figures::Figures;
use crate::lag::{lag_series, parse_samples, LagSeries};
use checker::{Event, Operation};
use results::RunDir;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Why a run's report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The directory holds no history: it is not a run directory.
    #[error("{}: not a run directory (no history.jsonl)", .0.display())]
    NotARun(PathBuf),
    /// A file of the run could not be read or parsed.
    #[error("{}: {reason}", .path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The report or index could not be written.
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

/// A run's files, read back.
#[derive(Debug)]
pub struct RunFiles {
    /// The run directory.
    pub dir: PathBuf,
    /// `results.json`; `None` when the run never wrote it (killed before it concluded).
    pub results: Option<Value>,
    /// The client operations of the history, in invocation order.
    pub ops: Vec<Operation>,
    /// The fault windows the nemesis recorded in the history.
    pub windows: Vec<FaultWindow>,
    /// The time of the history's last event, in seconds.
    pub span_secs: f64,
    /// Replication lag per replica over time (empty when the run sampled none).
    pub lag: LagSeries,
    /// The run's figures.
    pub figures: Figures,
}

impl RunFiles {
    /// Reads the run in `dir`.
    pub fn read(dir: &Path) -> Result<RunFiles, ReportError> {
        let run = RunDir::open(dir);
        let history = run.history_path();
        if !history.is_file() {
            return Err(ReportError::NotARun(dir.to_path_buf()));
        }
        let events =
            checker::formats::read_jsonl_file(&history).map_err(|e| ReportError::Unreadable {
                path: history.clone(),
                reason: e.to_string(),
            })?;
        let results = match std::fs::read_to_string(run.results_path()) {
            Ok(text) => Some(
                serde_json::from_str(&text).map_err(|e| ReportError::Unreadable {
                    path: run.results_path(),
                    reason: format!("not JSON: {e}"),
                })?,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(ReportError::Unreadable {
                    path: run.results_path(),
                    reason: e.to_string(),
                })
            }
        };
        // A run that never sampled replication (or a system without positions) has no file.
        let samples = std::fs::read_to_string(dir.join("replication.jsonl"))
            .map(|text| parse_samples(&text))
            .unwrap_or_default();
        RunFiles::from_parts(dir, results, &events, &samples)
    }

    /// A run's files from what is already in memory (the run that just ended holds its events).
    pub fn from_parts(
        dir: &Path,
        results: Option<Value>,
        events: &[Event],
        replication: &[Value],
    ) -> Result<RunFiles, ReportError> {
        let ops = checker::pair(events).map_err(|e| ReportError::Unreadable {
            path: RunDir::open(dir).history_path(),
            reason: e.to_string(),
        })?;
        let span_secs = events.iter().map(|e| e.time).max().unwrap_or(0) as f64 / 1e9;
        let lag = lag_series(replication);
        let figures = Figures::compute(&ops, span_secs, &lag);
        Ok(RunFiles {
            dir: dir.to_path_buf(),
            results,
            windows: fault_windows(events),
            ops,
            span_secs,
            lag,
            figures,
        })
    }
}
