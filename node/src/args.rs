//! The command line of `faultline node`.

use std::time::Duration;

/// Command-line arguments of `faultline node`.
#[derive(clap::Args, Debug, Clone)]
pub struct NodeArgs {
    /// Name used in logs (e.g. n1).
    #[arg(long, default_value = "n1")]
    pub name: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Port to listen on.
    #[arg(long)]
    pub port: u16,
    /// Replicate from this primary (HOST:PORT); without it the node is a primary.
    #[arg(long)]
    pub replica_of: Option<String>,
    /// Hold the replication stream back by this long (e.g. 200ms) so replica reads go stale.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "0ms")]
    pub replication_delay: Duration,
}
