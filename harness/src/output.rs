//! What faultline prints for people: notes on stderr, the verdict, colours only on a terminal.

use checker::{CheckReport, Validity};
use results::RunDir;
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

/// The end-of-run summary: counts, verdict, anomalies, where the files are.
pub fn print_run_summary(report: &CheckReport, run_dir: &RunDir, unrecovered: Option<String>) {
    let c = &report.counts;
    println!("operations: {} ok, {} fail, {} info", c.ok, c.fail, c.info);
    if let Some(why) = unrecovered {
        println!("warning: the cluster did not recover after the faults: {why}");
    }
    print!("{report}");
    println!("verdict: {}", verdict(report.validity));
    println!("results: {}", run_dir.path().display());
}
