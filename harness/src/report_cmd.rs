//! `faultline report`: rebuilds report.html from a run directory's files, or every run's and the
//! index of a store, so a report can be remade after faultline changes or for a copied store.

use crate::cli::ReportArgs;
use results::{ExitCode, RunDir};
use std::path::Path;

/// Rebuilds each path's reports; exit 0 when every one was written, 2 otherwise.
pub fn run(args: ReportArgs) -> i32 {
    let mut code = ExitCode::Valid;
    for path in &args.paths {
        let written = if path.join("history.jsonl").is_file() {
            rebuild(path)
        } else if path.is_dir() {
            store(path)
        } else {
            Err(format!(
                "{}: neither a run directory (with history.jsonl) nor a store",
                path.display()
            ))
        };
        if let Err(e) = written {
            eprintln!("error: {e}");
            code = code.combine(ExitCode::BadInput);
        }
    }
    code.code()
}

/// One run's report.
fn rebuild(dir: &Path) -> Result<(), String> {
    let path = report::rebuild_report(dir).map_err(|e| e.to_string())?;
    println!("{}", path.display());
    Ok(())
}

/// Every run's report under a store, then its index; a run whose report fails is named and the
/// others are still written.
fn store(store: &Path) -> Result<(), String> {
    let runs = report::index::runs(store);
    if runs.is_empty() {
        return Err(format!(
            "{}: no run directories (<test>/<timestamp>/history.jsonl) under it",
            store.display()
        ));
    }
    let mut failed = Vec::new();
    for run in &runs {
        let dir = RunDir::open(store.join(&run.rel));
        if let Err(e) = rebuild(dir.path()) {
            eprintln!("error: {e}");
            failed.push(run.rel.display().to_string());
        }
    }
    let index = report::write_index(store).map_err(|e| e.to_string())?;
    println!("{}", index.display());
    match failed.is_empty() {
        true => Ok(()),
        false => Err(format!("no report for {}", failed.join(", "))),
    }
}
