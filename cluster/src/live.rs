//! The live-cluster record: what a running cluster is made of, on disk, so that a later faultline
//! can act on it (`faultline cluster pause n2`) or remove it (`faultline cluster down`, also after
//! a faultline that was killed with SIGKILL).
//!
//! Records live in `<store>/live/<id>.json`: `lab` for the cluster of `faultline cluster up`, and
//! one per `faultline test` run while it runs. A clean teardown removes its record.

use crate::net::NetworkLayout;
use crate::system::{Launch, NodeAddrs};
use crate::systems::{TargetKind, TargetOptions};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One daemon of a node as recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LiveDaemon {
    /// `server`, or a helper's role (`sentinel`).
    pub role: String,
    /// How it is started (the unwrapped command: what its /proc cmdline shows).
    pub launch: Launch,
    /// A string its command line contains, checked before it is ever signalled.
    pub marker: String,
    /// Its log file.
    pub log: PathBuf,
    /// Its current process id.
    pub pid: u32,
}

/// One node as recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LiveNode {
    /// Its name.
    pub name: String,
    /// Where it listens.
    pub addrs: NodeAddrs,
    /// Its directory (log, data).
    pub dir: PathBuf,
    /// Its daemons, the server first.
    pub daemons: Vec<LiveDaemon>,
}

/// A running cluster as recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LiveRecord {
    /// The system it runs.
    pub target: TargetKind,
    /// The options that shaped it.
    #[serde(default)]
    pub options: TargetOptions,
    /// The cluster's directory.
    pub dir: PathBuf,
    /// Its network.
    pub network: NetworkLayout,
    /// Its nodes, primary first.
    pub nodes: Vec<LiveNode>,
}

/// The directory of live records in a store.
pub fn live_dir(store: &Path) -> PathBuf {
    store.join("live")
}

impl LiveRecord {
    /// Writes the record to `path` atomically (temporary file, then rename).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(self).expect("a record serialises"),
        )?;
        std::fs::rename(&tmp, path)
    }

    /// Reads the record at `path`, naming the file in errors.
    pub fn read(path: &Path) -> Result<LiveRecord, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a live-cluster record: {e}", path.display()))
    }

    /// Every record file in `dir`, sorted (none when the directory does not exist).
    pub fn files(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files
    }
}
