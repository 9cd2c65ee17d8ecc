//! faultline's report: what people read after a run.
//!
//! ```text
//!   run directory: history.jsonl, results.json, replication.jsonl
//!        │  run_files.rs (read back; the same whether the run just ended or is rebuilt later)
//!        ▼
//!   figures.rs ── latency.rs (quantiles per kind), throughput.rs, lag.rs ──► results.json too
//!        │
//!        ▼
//!   page.rs: report.html ◄── timeline.rs (bars per worker, faults, witness, prefix; zoomable)
//!                        ◄── plots.rs (latency, throughput, lag)  ◄── axes.rs, markup.rs
//!                        ◄── marks.rs (what the verdict singles out), fault_windows.rs
//!   index.rs: the store's index.html, every run with its verdict
//! ```
//!
//! Everything is written directly as HTML and SVG with its styles and script inline: a report
//! opens from a CI artifact folder in any browser, with no server and no network.

mod axes;
mod drawn;
pub mod fault_windows;
pub mod figures;
pub mod index;
pub mod lag;
pub mod latency;
pub mod marks;
mod markup;
pub mod page;
mod plots;
pub mod run_files;
pub mod throughput;
mod timeline;

pub use fault_windows::{fault_windows, FaultWindow};
pub use figures::Figures;
pub use index::write_index;
pub use run_files::{ReportError, RunFiles};

use std::path::{Path, PathBuf};

/// The report's file name in a run directory.
pub const REPORT_FILE: &str = "report.html";

/// Writes `report.html` into the run directory of `files`; returns its path.
pub fn write_report(files: &RunFiles) -> Result<PathBuf, ReportError> {
    let path = files.dir.join(REPORT_FILE);
    write_atomically(&path, &page::render(files))?;
    Ok(path)
}

/// Reads the run in `dir` back from its files and writes its `report.html`.
pub fn rebuild_report(dir: &Path) -> Result<PathBuf, ReportError> {
    write_report(&RunFiles::read(dir)?)
}

/// Writes `text` to `path` through a temporary file, so a reader never sees half a page.
fn write_atomically(path: &Path, text: &str) -> Result<(), ReportError> {
    let tmp = path.with_extension("html.tmp");
    let fail = |source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    };
    std::fs::write(&tmp, text).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}
