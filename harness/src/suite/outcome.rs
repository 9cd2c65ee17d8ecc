//! What a suite learned of each test, and the suite's three outputs made of it: the table people
//! read, `suite.json` and the suite's `junit.xml` (a `<testsuite>` per test, read back from each
//! run's own `junit.xml`).

use checker::Validity;
use results::{junit, ExitCode, RecordedRun, RunDir, RunJunit, StoreError, SuiteDir};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How one test of a suite ended.
#[derive(Debug, Clone, Serialize)]
pub struct TestOutcome {
    /// Its position in the suite file, from 1.
    pub index: usize,
    /// The test's name (its directory in the store).
    pub test: String,
    /// The run's verdict; null when the run left none (it could not start, or never ran).
    pub verdict: Option<Validity>,
    /// The run's exit code, as `faultline test` would have ended; null for a test not run.
    pub exit_code: Option<i32>,
    /// Client operations the history holds (ok, fail and info); null if it was not checked.
    pub operations: Option<usize>,
    /// Faults applied per requested kind.
    pub faults_applied: BTreeMap<String, usize>,
    /// Seconds the workload ran.
    pub duration_secs: f64,
    /// The run directory, when the run made one.
    pub run_dir: Option<PathBuf>,
    /// Why the verdict is not simply the check's, or why there is none.
    pub reason: Option<String>,
}

impl TestOutcome {
    /// A test that ended with `code` (`None`: not run), from what its run directory holds, with
    /// `error` when the run itself failed.
    pub fn of(
        index: usize,
        test: &str,
        run_dir: Option<&RunDir>,
        code: Option<i32>,
        error: Option<String>,
    ) -> TestOutcome {
        let recorded = run_dir.map(|d| RecordedRun::read(&d.results_path()));
        let mut outcome = TestOutcome {
            index,
            test: test.to_string(),
            verdict: None,
            exit_code: code,
            operations: None,
            faults_applied: BTreeMap::new(),
            duration_secs: 0.0,
            run_dir: run_dir.map(|d| d.path().to_path_buf()),
            reason: error.clone(),
        };
        match recorded {
            Some(Ok(run)) => {
                outcome.verdict = Some(run.verdict);
                outcome.operations = run.counts.map(|c| c.ok + c.fail + c.info);
                outcome.faults_applied = run.faults_applied;
                outcome.duration_secs = run.duration_secs;
                outcome.reason = run.reason.or(error);
            }
            Some(Err(e)) if error.is_none() => outcome.reason = Some(e.to_string()),
            _ => {}
        }
        outcome
    }

    /// The exit code this test contributes to the suite's (a test not run contributes none).
    pub fn exit(&self) -> Option<ExitCode> {
        Some(match self.exit_code? {
            0 => ExitCode::Valid,
            1 => ExitCode::Invalid,
            3 => ExitCode::Unknown,
            _ => ExitCode::BadInput,
        })
    }

    /// The verdict column: the exit code's word, so that a run that failed reads as an error
    /// and not as an undecided check.
    fn verdict_word(&self) -> &'static str {
        match self.exit_code {
            None => "NOT RUN",
            Some(0) => "VALID",
            Some(1) => "INVALID",
            Some(3) => "UNKNOWN",
            Some(crate::signals::INTERRUPTED) => "INTERRUPTED",
            Some(_) => "ERROR",
        }
    }

    /// `pause 3, kill 1`, or `-`.
    fn faults_text(&self) -> String {
        let applied: Vec<String> = self
            .faults_applied
            .iter()
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect();
        match applied.is_empty() {
            true => "-".into(),
            false => applied.join(", "),
        }
    }
}

/// The suite's exit code: every test's by [`ExitCode::combine`] (invalid over error over unknown
/// over valid), as `faultline check` combines its histories.
pub fn suite_exit(outcomes: &[TestOutcome]) -> ExitCode {
    outcomes
        .iter()
        .filter_map(TestOutcome::exit)
        .fold(ExitCode::Valid, ExitCode::combine)
}

/// The summary table, one row per test, then the reasons of the rows that have one.
pub fn table(outcomes: &[TestOutcome]) -> String {
    let header = [
        "#",
        "test",
        "verdict",
        "ops",
        "faults applied",
        "duration",
        "run dir",
    ]
    .map(String::from);
    let rows: Vec<[String; 7]> = outcomes
        .iter()
        .map(|o| {
            [
                o.index.to_string(),
                o.test.clone(),
                o.verdict_word().into(),
                o.operations.map_or("-".into(), |n| n.to_string()),
                o.faults_text(),
                format!("{:.1} s", o.duration_secs),
                o.run_dir
                    .as_ref()
                    .map_or("-".into(), |d| d.display().to_string()),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String; 7]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_string() + "\n"
    };
    let mut text = line(&header);
    for row in &rows {
        text += &line(row);
    }
    for o in outcomes {
        if let Some(reason) = &o.reason {
            text += &format!("{} {}: {reason}\n", o.index, o.test);
        }
    }
    text
}

/// `suite.json`: the suite, its exit code and every test's outcome.
#[derive(Debug, Serialize)]
pub struct SuiteSummary<'a> {
    /// The suite's name.
    pub suite: &'a str,
    /// The suite file.
    pub file: &'a Path,
    /// The suite's exit code.
    pub exit_code: i32,
    /// Each test, in file order.
    pub tests: &'a [TestOutcome],
}

/// Writes `suite.json` and the suite's `junit.xml` into `dir`.
pub fn write(dir: &SuiteDir, summary: &SuiteSummary<'_>) -> Result<(), StoreError> {
    let path = dir.summary_path();
    let text = serde_json::to_vec_pretty(summary).expect("a suite summary serialises");
    std::fs::write(&path, text).map_err(|e| StoreError::io(&path, e))?;
    let mut report = quick_junit::Report::new(summary.suite);
    for outcome in summary.tests {
        report.add_test_suites(test_suites(outcome));
    }
    junit::write_report(&report, &dir.junit_path())
}

/// A test's `<testsuite>`s: its run's own, or one whose `run` case says why there is none.
fn test_suites(outcome: &TestOutcome) -> Vec<quick_junit::TestSuite> {
    let read = outcome
        .run_dir
        .as_ref()
        .map(|d| junit::read_suites(&RunDir::open(d).junit_path()));
    let why = match read {
        Some(Ok(suites)) => return suites,
        Some(Err(e)) => outcome.reason.clone().unwrap_or(e),
        None => outcome.reason.clone().unwrap_or_else(|| "not run".into()),
    };
    let run = RunJunit {
        test: &outcome.test,
        reason: Some(&why),
        check: None,
        duration: Duration::try_from_secs_f64(outcome.duration_secs).unwrap_or_default(),
    };
    vec![run.suite()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(index: usize, code: Option<i32>) -> TestOutcome {
        TestOutcome {
            index,
            test: format!("t{index}"),
            verdict: None,
            exit_code: code,
            operations: Some(10 * index),
            faults_applied: BTreeMap::from([("pause".to_string(), index)]),
            duration_secs: 1.25,
            run_dir: None,
            reason: None,
        }
    }

    #[test]
    fn the_suite_exits_invalid_over_error_over_unknown_over_valid() {
        let codes = |c: &[Option<i32>]| {
            let all: Vec<_> = c.iter().enumerate().map(|(i, &c)| outcome(i, c)).collect();
            suite_exit(&all).code()
        };
        assert_eq!(codes(&[Some(0), Some(0)]), 0);
        assert_eq!(codes(&[Some(0), Some(3)]), 3);
        assert_eq!(codes(&[Some(3), Some(2), Some(0)]), 2);
        assert_eq!(codes(&[Some(2), Some(1), Some(3)]), 1);
        // An interrupted run is an error; a test not run counts for nothing.
        assert_eq!(codes(&[Some(0), Some(130), None]), 2);
    }

    #[test]
    fn the_table_has_a_row_per_test_in_aligned_columns_and_the_reasons_below() {
        let mut failed = outcome(2, Some(2));
        failed.test = "redis-register-long-name".into();
        failed.operations = None;
        failed.faults_applied.clear();
        failed.reason = Some("the run failed: starting the cluster".into());
        let text = table(&[outcome(1, Some(0)), failed, outcome(3, None)]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "#  test                      verdict  ops  faults applied  duration  run dir",
                "1  t1                        VALID    10   pause 1         1.2 s     -",
                "2  redis-register-long-name  ERROR    -    -               1.2 s     -",
                "3  t3                        NOT RUN  30   pause 3         1.2 s     -",
                "2 redis-register-long-name: the run failed: starting the cluster",
            ]
        );
    }
}
