//! The faults the nemesis can inject.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// Which faults a run injects (`--nemesis`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NemesisKind {
    /// No faults.
    None,
    /// Pause and resume a random node (SIGSTOP / SIGCONT).
    Pause,
}

impl FromStr for NemesisKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(NemesisKind::None),
            "pause" => Ok(NemesisKind::Pause),
            other => Err(format!("unknown nemesis '{other}' (known: none, pause)")),
        }
    }
}

impl fmt::Display for NemesisKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NemesisKind::None => "none",
            NemesisKind::Pause => "pause",
        })
    }
}

/// One concrete fault, with the node(s) it hits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "fault", rename_all = "lowercase")]
pub enum Fault {
    /// `node` is paused.
    Pause {
        /// The paused node.
        node: String,
    },
}

impl Fault {
    /// The history's `f` for the start of this fault.
    pub fn start_f(&self) -> &'static str {
        match self {
            Fault::Pause { .. } => "pause",
        }
    }

    /// The history's `f` for the end of this fault.
    pub fn heal_f(&self) -> &'static str {
        match self {
            Fault::Pause { .. } => "resume",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Pause { node } => write!(f, "pause {node}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_and_names_unknown() {
        assert_eq!("pause".parse::<NemesisKind>(), Ok(NemesisKind::Pause));
        assert_eq!("none".parse::<NemesisKind>(), Ok(NemesisKind::None));
        let err = "partition-everything".parse::<NemesisKind>().unwrap_err();
        assert!(
            err.contains("partition-everything") && err.contains("pause"),
            "{err}"
        );
    }

    #[test]
    fn fault_serialises_with_its_node() {
        let v = serde_json::to_value(Fault::Pause { node: "n2".into() }).unwrap();
        assert_eq!(v, serde_json::json!({"fault": "pause", "node": "n2"}));
    }
}
