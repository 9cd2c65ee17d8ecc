//! The progress bar of a run: elapsed time, operations, ok/fail/info and the fault in force.
//!
//! indicatif draws only when stderr is a terminal, so CI logs and pipes stay clean.

use crate::recorder::Recorder;
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// A bar over the run's time limit.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar for a workload phase of `limit`.
    pub fn new(limit: Duration) -> Progress {
        let bar = ProgressBar::new(limit.as_millis() as u64);
        bar.set_style(
            ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {msg}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        Progress { bar }
    }

    /// Redraws from the recorder's counts.
    pub fn update(&self, elapsed: Duration, recorder: &Recorder) {
        let c = &recorder.counts;
        let (ok, fail, info) = (
            c.ok.load(Ordering::Relaxed),
            c.fail.load(Ordering::Relaxed),
            c.info.load(Ordering::Relaxed),
        );
        let fault = recorder.current_fault().unwrap_or_else(|| "none".into());
        self.bar.set_position(elapsed.as_millis() as u64);
        self.bar.set_message(format!(
            "ops {} | ok {ok} fail {fail} info {info} | fault: {fault}",
            ok + fail + info
        ));
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
