//! `faultline bench`: measures faultline itself. `check` times the checker on simulated
//! workloads and the Knossos corpus ([`check`]); `faults` times applying and healing each fault
//! ([`faults`]).

mod check;
mod faults;

use crate::cli::{BenchArgs, BenchWhat};

/// Runs the benchmark asked for and returns its exit code.
pub fn run(args: BenchArgs) -> i32 {
    match &args.what {
        BenchWhat::Check(args) => check::main(args),
        BenchWhat::Faults(args) => faults::main(args),
    }
}
