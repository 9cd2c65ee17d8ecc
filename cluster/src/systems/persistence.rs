//! Whether nodes keep their data on disk (`--persistence`), for every system that can: none, or
//! an append-only file with its fsync policy. Each system says it in its own words (Redis's
//! `appendfsync`, the own node's `--fsync`).

use clap::ValueEnum;
use serde::{Deserialize, Serialize};

/// Persistence (`--persistence`): none, or the append-only file with its fsync policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Persistence {
    /// Nothing on disk: a killed node comes back empty and resyncs.
    #[default]
    None,
    /// Append-only file, fsynced before each write is acknowledged.
    AofAlways,
    /// Append-only file, fsynced once a second.
    AofEverysec,
    /// Append-only file, never fsynced by the node: Redis leaves it to the kernel, the own node
    /// keeps it in its buffer, so a kill -9 loses what the buffer held.
    AofNo,
}
