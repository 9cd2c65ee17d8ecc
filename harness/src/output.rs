//! What faultline prints for people: notes on stderr, the verdict, colours only on a terminal.

use crate::adequacy::Adequacy;
use checker::{CheckReport, Validity};
use results::{ExitCode, RunDir};
use std::collections::BTreeMap;
use std::fmt;
use std::io::IsTerminal;
use std::path::Path;

/// Prints an informational line on stderr (above any progress bar).
pub fn note(text: &str) {
    crate::progress::println(text);
}

/// The verdict word, coloured when stdout is a terminal.
pub fn verdict(v: Validity) -> String {
    match v {
        Validity::Valid => coloured("VALID", "32"),
        Validity::Invalid => coloured("INVALID", "31"),
        Validity::Unknown => coloured("UNKNOWN", "33"),
    }
}

/// `check`'s entry for a history that could not be read or checked (the error itself went to
/// stderr): every input gets a verdict line, so a list of files reads as one table.
pub fn print_unreadable(file: &Path) {
    println!("== {}", file.display());
    println!(
        "verdict: {} (the error is on stderr)",
        coloured("UNREADABLE", "35")
    );
}

/// How many of `check`'s histories got each verdict, and the exit code they make together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Valid histories.
    pub valid: usize,
    /// Invalid histories.
    pub invalid: usize,
    /// Histories (or inputs) that could not be read or checked.
    pub unreadable: usize,
    /// Histories the checker could not decide.
    pub unknown: usize,
}

impl Tally {
    /// Counts one decided history.
    pub fn count(&mut self, v: Validity) {
        match v {
            Validity::Valid => self.valid += 1,
            Validity::Invalid => self.invalid += 1,
            Validity::Unknown => self.unknown += 1,
        }
    }

    /// Every history counted.
    pub fn total(&self) -> usize {
        self.valid + self.invalid + self.unreadable + self.unknown
    }

    /// The exit code of them all, as [`ExitCode::combine`] orders them.
    pub fn exit_code(&self) -> ExitCode {
        [
            (self.valid, ExitCode::Valid),
            (self.unknown, ExitCode::Unknown),
            (self.unreadable, ExitCode::BadInput),
            (self.invalid, ExitCode::Invalid),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .fold(ExitCode::Valid, |code, (_, c)| code.combine(c))
    }
}

impl fmt::Display for Tally {
    /// `4 histories: 1 valid, 1 invalid, 1 unreadable, 1 unknown; exit 1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} histories: {} valid, {} invalid, {} unreadable, {} unknown; exit {}",
            self.total(),
            self.valid,
            self.invalid,
            self.unreadable,
            self.unknown,
            self.exit_code().code()
        )
    }
}

/// `word` in `colour` (an ANSI code) when stdout is a terminal.
fn coloured(word: &str, colour: &str) -> String {
    if std::io::stdout().is_terminal() {
        format!("\x1b[1;{colour}m{word}\x1b[0m")
    } else {
        word.to_string()
    }
}

/// What the end-of-run summary shows.
pub struct Conclusion<'a> {
    /// The check of the history, if it could be checked.
    pub check: Option<&'a CheckReport>,
    /// The run's verdict (not always the check's: see `reason`).
    pub verdict: Validity,
    /// Why the verdict is what it is, when it is not simply the check's.
    pub reason: Option<&'a str>,
    /// Faults applied per requested kind, when the nemesis finished.
    pub applied: Option<&'a BTreeMap<String, usize>>,
    /// What stayed unhealthy after the faults, if anything did.
    pub unrecovered: Option<&'a String>,
    /// Whether the run tested what was asked.
    pub adequacy: &'a Adequacy,
    /// Where the files are.
    pub run_dir: &'a RunDir,
}

/// The end-of-run summary: counts, faults applied, verdict and why, anomalies, where the files are.
pub fn print_run_summary(c: &Conclusion<'_>) {
    if let Some(report) = c.check {
        let n = &report.counts;
        println!("operations: {} ok, {} fail, {} info", n.ok, n.fail, n.info);
    }
    if let Some(applied) = c.applied.filter(|a| !a.is_empty()) {
        let kinds: Vec<String> = applied
            .iter()
            .map(|(kind, n)| match n {
                0 => format!("{kind} 0 (requested, never applied)"),
                n => format!("{kind} {n}"),
            })
            .collect();
        println!("faults applied: {}", kinds.join(", "));
    }
    if let Some(why) = c.unrecovered {
        println!("warning: the cluster did not recover after the faults: {why}");
    }
    if let Some(report) = c.check {
        print!("{report}");
    }
    // Shortfalls when they did not decide the verdict (accepted, or the run invalid); with a
    // reason they are in it (inconclusive) or beside the point (interrupted, failed).
    if !c.adequacy.adequate() && c.reason.is_none() {
        let accepted = if c.adequacy.accepted {
            " (accepted with --accept-inadequate)"
        } else {
            ""
        };
        println!("warning: this run did not test everything asked{accepted}:");
        for shortfall in &c.adequacy.shortfalls {
            println!("  - {shortfall}");
        }
    }
    match c.reason {
        Some(why) => println!("verdict: {} ({why})", verdict(c.verdict)),
        None => println!("verdict: {}", verdict(c.verdict)),
    }
    println!("results: {}", c.run_dir.path().display());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tally_exits_invalid_over_unreadable_over_unknown_over_valid() {
        let mut tally = Tally::default();
        assert_eq!(tally.exit_code(), ExitCode::Valid);
        tally.count(Validity::Valid);
        assert_eq!(tally.exit_code(), ExitCode::Valid);
        tally.count(Validity::Unknown);
        assert_eq!(tally.exit_code(), ExitCode::Unknown);
        tally.unreadable += 1;
        assert_eq!(tally.exit_code(), ExitCode::BadInput);
        tally.count(Validity::Invalid);
        assert_eq!(tally.exit_code(), ExitCode::Invalid);
        assert_eq!(
            tally.to_string(),
            "4 histories: 1 valid, 1 invalid, 1 unreadable, 1 unknown; exit 1"
        );
    }
}
