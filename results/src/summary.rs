//! `results.json`: the machine-readable verdict of a run, and the exit code it maps to.

use crate::StoreError;
use checker::{CheckReport, Validity};
use serde::Serialize;
use serde_json::Value;
use std::path::Path;

/// The process exit codes faultline promises (documented in the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExitCode {
    /// The history is valid.
    Valid = 0,
    /// The history is invalid: an anomaly was found.
    Invalid = 1,
    /// Bad usage or input (including a missing server binary or an unusable cluster).
    BadInput = 2,
    /// The checker could not decide (timeout, memory cap).
    Unknown = 3,
}

impl ExitCode {
    /// The exit code for a verdict.
    pub fn for_validity(v: Validity) -> ExitCode {
        match v {
            Validity::Valid => ExitCode::Valid,
            Validity::Invalid => ExitCode::Invalid,
            Validity::Unknown => ExitCode::Unknown,
        }
    }

    /// The numeric code handed to the operating system.
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// Everything `results.json` holds about one run.
#[derive(Debug, Serialize)]
pub struct RunSummary<'a> {
    /// The test's name (the store's sub-directory).
    pub test: &'a str,
    /// The overall verdict.
    pub verdict: Validity,
    /// Why the verdict is not simply the check's: the run was interrupted or failed (then
    /// `unknown`, or `invalid` if what was recorded already shows an anomaly), or it did not
    /// test what was asked (see `adequacy`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The exit code the run ended with.
    pub exit_code: i32,
    /// The seed that reproduces the operation stream and fault schedule.
    pub seed: u64,
    /// The resolved options the run used.
    pub options: Value,
    /// Wall-clock seconds the workload phase ran.
    pub duration_secs: f64,
    /// Faults the nemesis applied (per requested kind, with counts), and those it could not;
    /// null when the run ended before the nemesis did.
    pub faults: Value,
    /// Whether the run tested what was asked: faults applied, operations during them, enough
    /// acknowledged operations per key.
    pub adequacy: Value,
    /// Replication positions sampled during the run: samples taken, largest lag per node.
    pub replication: Value,
    /// Before the final reads: whether each node caught up with the primary's position.
    pub catch_up: Value,
    /// The checker's report on what the history holds: counts, per-key verdicts and anomalies;
    /// null only if the history could not be checked (`reason` says why).
    pub check: Option<&'a CheckReport>,
}

impl RunSummary<'_> {
    /// Writes the summary as pretty JSON to `path` (via a temporary file, so it is never half-written).
    pub fn write(&self, path: &Path) -> Result<(), StoreError> {
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(self).expect("a summary always serialises");
        std::fs::write(&tmp, text).map_err(|e| StoreError::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| StoreError::io(path, e))
    }
}
