//! Which replication design faultline's own nodes run (`--mode`): the one list of choices that
//! parsing, errors and help read. Each design is a system of its own, in its own folder.

use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The own nodes' replication design (`--mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// One primary acknowledges writes and streams them to replicas afterwards (`own`).
    #[default]
    Async,
    /// Leaderless: every node takes reads and writes and waits for read and write quorums
    /// (`quorum`).
    Quorum,
    /// Peer to peer: every node answers from its own data and gossips it to the others, which
    /// merge it (`gossip`).
    Gossip,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Spelled as on the command line: clap's derive is the one list of names.
        f.write_str(
            self.to_possible_value()
                .expect("no skipped variant")
                .get_name(),
        )
    }
}
