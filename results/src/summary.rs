//! `results.json`: the machine-readable verdict of a run, and the exit code it maps to; what a
//! saved one says, read back.

use crate::StoreError;
use checker::{CheckReport, Counts, Validity};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

    /// The exit code of several verdicts (one per file or run): invalid over bad input over
    /// unknown over valid. An anomaly found anywhere says "the system is broken" whatever else
    /// went wrong; an input that could not be read says "the input is", and outranks an
    /// undecided check, which says neither.
    pub fn combine(self, other: ExitCode) -> ExitCode {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }

    /// The order of [`ExitCode::combine`].
    fn rank(self) -> u8 {
        match self {
            ExitCode::Valid => 0,
            ExitCode::Unknown => 1,
            ExitCode::BadInput => 2,
            ExitCode::Invalid => 3,
        }
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
    /// How the run ended: `completed`, `interrupted` (by a signal) or `failed`; a report of a
    /// run that did not complete is marked incomplete.
    pub ended: &'static str,
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
    /// Replication positions sampled during the run: rounds taken, rounds each node did not
    /// answer (the lag itself is in `figures`).
    pub replication: Value,
    /// Before the final reads: whether each node caught up with the primary's position.
    pub catch_up: Value,
    /// A cluster faultline attached to (`--attach`) rather than started: its nodes, the key
    /// prefix, the faults that were possible, and whether the run's keys were removed; absent
    /// for a cluster faultline started.
    #[serde(skip_serializing_if = "Value::is_null")]
    pub attached: Value,
    /// Remote hosts (`--nodes HOST,…`): what faultline changed on them beyond its own
    /// directories, `{"installed": {HOST: [PACKAGE, …]}}` with `--install`; absent when it
    /// installed nothing.
    #[serde(skip_serializing_if = "Value::is_null")]
    pub remote: Value,
    /// The figures the report draws: latency quantiles per kind of operation (ms, of `ok`
    /// completions), throughput over time, and the largest replication lag per replica.
    pub figures: Value,
    /// When the history was checked: `{"keys_during_run": N, "keys_at_end": M, "secs": S}`,
    /// keys checked as they retired while the run went, the rest after it, and how long the
    /// check after the run took.
    pub checking: Value,
    /// The checker's verdict in words, as the summary prints it (null when not checked).
    pub explanation: Option<String>,
    /// The checker's report on what the history holds: counts, per-key verdicts and anomalies;
    /// null only if the history could not be checked (`reason` says why).
    pub check: Option<&'a CheckReport>,
}

/// Why a saved run's `results.json` could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The file is not the results.json a run writes.
    #[error("{}: {reason}", .path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// A saved run's `results.json`, parsed; errors name the file.
fn read_recorded(results: &Path) -> Result<Value, RecordError> {
    let text = std::fs::read_to_string(results).map_err(|source| RecordError::Io {
        path: results.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| malformed(results, format!("not JSON: {e}")))
}

fn malformed(results: &Path, reason: String) -> RecordError {
    RecordError::Malformed {
        path: results.to_path_buf(),
        reason,
    }
}

/// How a saved run's `results.json` names the checker that judged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordedChecker {
    /// `options.checker`: the checker itself.
    Named(String),
    /// Runs made before the checker was recorded: their workload (`options.workload`), judged
    /// by that workload's own checker.
    OfWorkload(String),
}

/// The checker a saved run was judged by, read from its `results.json` once.
pub fn recorded_checker(results: &Path) -> Result<RecordedChecker, RecordError> {
    let value = read_recorded(results)?;
    let name = |field: &str, noun: &str| match &value["options"][field] {
        Value::String(name) => Ok(Some(name.clone())),
        Value::Null => Ok(None),
        other => Err(malformed(
            results,
            format!("options.{field} must be a {noun}'s name, found {other}"),
        )),
    };
    if let Some(checker) = name("checker", "checker")? {
        return Ok(RecordedChecker::Named(checker));
    }
    match name("workload", "workload")? {
        Some(workload) => Ok(RecordedChecker::OfWorkload(workload)),
        None => Err(malformed(
            results,
            "no options.workload: not the results.json of a faultline run".into(),
        )),
    }
}

/// The command a saved run was started with (`options.command`: the words after `faultline`)
/// and the seed it used, so that it can be run again alike.
pub fn recorded_command(results: &Path) -> Result<(Vec<String>, u64), RecordError> {
    let value = read_recorded(results)?;
    let seed = value["seed"].as_u64().ok_or_else(|| {
        malformed(
            results,
            "no seed: not the results.json of a faultline run".into(),
        )
    })?;
    let words = match &value["options"]["command"] {
        Value::Array(words) if !words.is_empty() => words
            .iter()
            .map(|w| w.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>(),
        _ => None,
    };
    let words = words.ok_or_else(|| {
        malformed(
            results,
            "no options.command: the run's command was not recorded (made by an older faultline)"
                .into(),
        )
    })?;
    Ok((words, seed))
}

/// What a saved run's `results.json` says of its outcome: what a suite's table and a re-checked
/// run's `junit.xml` need.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRun {
    /// The test's name.
    pub test: String,
    /// The run's verdict.
    pub verdict: Validity,
    /// Why the verdict is not simply the check's, if it is not.
    pub reason: Option<String>,
    /// The exit code the run ended with.
    pub exit_code: i32,
    /// Seconds the workload ran.
    pub duration_secs: f64,
    /// How the client operations ended; `None` if the history was not checked.
    pub counts: Option<Counts>,
    /// Faults applied per requested kind; empty when the nemesis did not finish.
    pub faults_applied: BTreeMap<String, usize>,
}

impl RecordedRun {
    /// Reads `results` (a run's `results.json`).
    pub fn read(results: &Path) -> Result<RecordedRun, RecordError> {
        let value = read_recorded(results)?;
        let bad = |reason: String| malformed(results, reason);
        let field = |name: &str| {
            value.get(name).ok_or_else(|| {
                bad(format!(
                    "no {name}: not the results.json of a faultline run"
                ))
            })
        };
        let typed = |name: &str, e: serde_json::Error| bad(format!("{name}: {e}"));
        let count = |kind: &str| value["check"]["counts"][kind].as_u64().map(|n| n as usize);
        let counts = match (count("ok"), count("fail"), count("info")) {
            (Some(ok), Some(fail), Some(info)) => Some(Counts { ok, fail, info }),
            _ => None,
        };
        let faults_applied = match &value["faults"]["applied"] {
            Value::Null => BTreeMap::new(),
            applied => {
                serde_json::from_value(applied.clone()).map_err(|e| typed("faults.applied", e))?
            }
        };
        Ok(RecordedRun {
            test: serde_json::from_value(field("test")?.clone()).map_err(|e| typed("test", e))?,
            verdict: serde_json::from_value(field("verdict")?.clone())
                .map_err(|e| typed("verdict", e))?,
            reason: serde_json::from_value(value["reason"].clone())
                .map_err(|e| typed("reason", e))?,
            exit_code: serde_json::from_value(field("exit_code")?.clone())
                .map_err(|e| typed("exit_code", e))?,
            duration_secs: serde_json::from_value(field("duration_secs")?.clone())
                .map_err(|e| typed("duration_secs", e))?,
            counts,
            faults_applied,
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workload_is_read_back_from_results_json() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.json");
        let report = checker::check_events(&[], &checker::CheckOptions::default()).unwrap();
        let summary = RunSummary {
            test: "redis-set",
            verdict: report.validity,
            exit_code: 0,
            ended: "completed",
            seed: 1,
            options: serde_json::json!({"workload": "set", "nodes": 3,
                "command": ["test", "--workload", "set"]}),
            duration_secs: 1.0,
            faults: Value::Null,
            adequacy: Value::Null,
            replication: Value::Null,
            catch_up: Value::Null,
            attached: Value::Null,
            remote: Value::Null,
            figures: Value::Null,
            checking: Value::Null,
            explanation: Some(report.describe()),
            reason: None,
            check: Some(&report),
        };
        summary.write(&path).unwrap();
        assert_eq!(
            recorded_checker(&path).unwrap(),
            RecordedChecker::OfWorkload("set".into())
        );
        let (words, seed) = recorded_command(&path).unwrap();
        assert_eq!((words.join(" "), seed), ("test --workload set".into(), 1));
        let recorded = RecordedRun::read(&path).unwrap();
        assert_eq!(
            recorded,
            RecordedRun {
                test: "redis-set".into(),
                verdict: Validity::Valid,
                reason: None,
                exit_code: 0,
                duration_secs: 1.0,
                counts: Some(Counts::default()),
                faults_applied: BTreeMap::new(),
            }
        );
        let mut failed: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        failed["check"] = Value::Null;
        failed["verdict"] = "unknown".into();
        failed["reason"] = "the run failed: no etcd".into();
        failed["faults"] = serde_json::json!({"applied": {"pause": 2, "kill": 0}});
        std::fs::write(&path, failed.to_string()).unwrap();
        let recorded = RecordedRun::read(&path).unwrap();
        assert_eq!(recorded.counts, None);
        assert_eq!(recorded.reason.as_deref(), Some("the run failed: no etcd"));
        assert_eq!(recorded.faults_applied["pause"], 2);
        failed["verdict"] = "maybe".into();
        std::fs::write(&path, failed.to_string()).unwrap();
        let err = RecordedRun::read(&path).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{}: verdict: ", path.display())),
            "{err}"
        );

        std::fs::write(&path, r#"{"seed": 3, "options": {}}"#).unwrap();
        let err = recorded_command(&path).unwrap_err().to_string();
        assert!(err.ends_with("no options.command: the run's command was not recorded (made by an older faultline)"), "{err}");
        assert_eq!(
            recorded_checker(&path).unwrap_err().to_string(),
            format!(
                "{}: no options.workload: not the results.json of a faultline run",
                path.display()
            )
        );
        std::fs::write(
            &path,
            r#"{"options": {"workload": "set", "checker": "counter"}}"#,
        )
        .unwrap();
        let named = recorded_checker(&path).unwrap();
        assert_eq!(
            named,
            RecordedChecker::Named("counter".into()),
            "the checker wins"
        );
        std::fs::write(&path, r#"{"options": {"checker": 7}}"#).unwrap();
        let err = recorded_checker(&path).unwrap_err().to_string();
        assert!(
            err.ends_with("options.checker must be a checker's name, found 7"),
            "{err}"
        );
        std::fs::write(&path, "{").unwrap();
        let err = recorded_checker(&path).unwrap_err().to_string();
        assert!(err.contains("not JSON"), "{err}");
        let missing = dir.path().join("nothing.json");
        assert!(matches!(
            recorded_checker(&missing),
            Err(RecordError::Io { .. })
        ));
    }

    #[test]
    fn several_verdicts_combine_invalid_over_bad_input_over_unknown_over_valid() {
        use ExitCode::*;
        let all = [Valid, Unknown, BadInput, Invalid];
        for (i, &a) in all.iter().enumerate() {
            for (j, &b) in all.iter().enumerate() {
                let expected = all[i.max(j)];
                assert_eq!(a.combine(b), expected, "{a:?} and {b:?}");
            }
        }
        assert_eq!(Invalid.combine(BadInput).code(), 1);
        assert_eq!(Unknown.combine(BadInput).code(), 2);
        assert_eq!(Valid.combine(Unknown).code(), 3);
    }
}
