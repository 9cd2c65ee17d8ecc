//! What a run draws on the terminal while it goes: a line per phase (starting the cluster, the
//! workload, recovery, catch-up and final reads, the check), the workload's bar with its rate,
//! outcomes and the fault in force, and every note or log line printed above the bars instead of
//! through them.
//!
//! indicatif draws only when stderr is a terminal, so CI logs and pipes stay clean: there, notes
//! go straight to stderr and phases print nothing.

use crate::recorder::Recorder;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::sync::atomic::Ordering;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

/// Every bar of the process, so that lines printed above them do not tear them.
static BARS: LazyLock<MultiProgress> = LazyLock::new(MultiProgress::new);

/// Prints a line on stderr, above any bar being drawn.
pub fn println(text: &str) {
    if BARS.is_hidden() {
        eprintln!("{text}");
    } else {
        // A line that cannot go above the bars still must not be lost.
        if BARS.println(text).is_err() {
            eprintln!("{text}");
        }
    }
}

/// A `tracing` writer that prints each log event above the bars (one writer per event).
#[derive(Default)]
pub struct AboveBars(Vec<u8>);

impl std::io::Write for AboveBars {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for AboveBars {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.0);
        let text = text.trim_end_matches('\n');
        if !text.is_empty() {
            println(text);
        }
    }
}

/// One phase of a run other than the workload: a spinner with its elapsed time while it lasts,
/// and a line saying how long it took when it ends.
pub struct Phase {
    bar: ProgressBar,
    label: String,
    started: Instant,
}

impl Phase {
    /// Starts drawing `label` (e.g. "starting the cluster").
    pub fn start(label: impl Into<String>) -> Phase {
        let label = label.into();
        let bar = BARS.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("a valid template"),
        );
        bar.set_message(label.clone());
        bar.enable_steady_tick(Duration::from_millis(120));
        Phase {
            bar,
            label,
            started: Instant::now(),
        }
    }

    /// Ends the phase, leaving `label: outcome (time)` above the bars.
    pub fn finish(self, outcome: &str) {
        self.bar.finish_and_clear();
        BARS.remove(&self.bar);
        if !BARS.is_hidden() {
            println(&format!(
                "{}: {outcome} ({:.1} s)",
                self.label,
                self.started.elapsed().as_secs_f64()
            ));
        }
    }
}

/// A bar over the workload phase's time limit.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar for a workload phase of `limit`.
    pub fn new(limit: Duration) -> Progress {
        let bar = BARS.add(ProgressBar::new(limit.as_millis() as u64));
        bar.set_style(
            ProgressStyle::with_template("{elapsed:>4}/{prefix} [{bar:30}] {msg}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(format!("{}s", limit.as_secs()));
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
        let ops = ok + fail + info;
        let rate = ops as f64 / elapsed.as_secs_f64().max(0.001);
        self.bar.set_position(elapsed.as_millis() as u64);
        self.bar.set_message(format!(
            "ops {ops} ({rate:.0}/s) | ok {ok} fail {fail} info {info} | fault: {fault}"
        ));
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
        BARS.remove(&self.bar);
    }
}

/// A bar over the keys of a check, labelled `what` (a file, or the run's history).
pub fn key_bar(what: &str) -> ProgressBar {
    let bar = BARS.add(ProgressBar::new(0));
    bar.set_style(
        ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {pos}/{len} keys {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}
