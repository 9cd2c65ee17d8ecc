//! `faultline bench`: measures faultline itself. `check` times the checker on simulated
//! workloads and the Knossos corpus ([`check`]); `faults` times applying and healing each fault
//! ([`faults`]); `throughput` sets a run's operations per second beside redis-benchmark's
//! ([`throughput`]).

mod check;
mod faults;
mod throughput;

use crate::cli::{BenchArgs, BenchWhat};

/// Runs the benchmark asked for and returns its exit code.
pub fn run(args: BenchArgs) -> i32 {
    match &args.what {
        BenchWhat::Check(args) => check::main(args),
        BenchWhat::Faults(args) => faults::main(args),
        BenchWhat::Throughput(args) => throughput::main(args),
    }
}
