//! One node in a process of its own — `faultline node` without the rest of faultline — so that
//! the node's tests can kill it with SIGKILL, as a crash would, and restart it on its log.

use clap::Parser;

/// `faultline node`'s options.
#[derive(Parser)]
#[command(name = "faultline-node")]
struct Cli {
    #[command(flatten)]
    node: node::NodeArgs,
}

fn main() -> anyhow::Result<()> {
    node::main(Cli::parse().node)
}
