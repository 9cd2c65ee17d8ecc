//! How a lost primary is replaced (`--failover`), for every system that can: the one list of
//! choices that parsing, errors and help all read. Which system takes which choice is each
//! system's [`crate::system::System::takes`] of [`crate::system::SystemOption::Failover`].

use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How failover happens (`--failover`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Failover {
    /// Nothing promotes a replica: the first node stays the primary.
    #[default]
    None,
    /// Redis: a Redis Sentinel beside each node promotes a replica when a majority of them agree.
    Sentinel,
    /// Own nodes: a replica that misses its primary for a while promotes itself, with no
    /// consensus; the others follow the primary in the highest epoch (split brain, lost writes).
    Auto,
}

impl fmt::Display for Failover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Spelled as on the command line: clap's derive is the one list of names.
        f.write_str(
            self.to_possible_value()
                .expect("no skipped variant")
                .get_name(),
        )
    }
}
