//! What faultline prints for people: notes on stderr, the verdict, colours only on a terminal.

use crate::adequacy::Adequacy;
use checker::{CheckReport, Validity};
use results::RunDir;
use std::collections::BTreeMap;
use std::io::IsTerminal;

/// Prints an informational line on stderr.
pub fn note(text: &str) {
    eprintln!("{text}");
}

/// The verdict word, coloured when stdout is a terminal.
pub fn verdict(v: Validity) -> String {
    let (word, colour) = match v {
        Validity::Valid => ("VALID", "32"),
        Validity::Invalid => ("INVALID", "31"),
        Validity::Unknown => ("UNKNOWN", "33"),
    };
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
