//! The faults the nemesis can inject: what `--nemesis` names, and one concrete fault.

use crate::link::LinkFault;
use crate::partition::{Grudge, PartitionSpec, Shape};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// One kind of fault a run may inject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// Pause processes (SIGSTOP), resume them at heal (SIGCONT).
    Pause,
    /// Kill processes (SIGKILL), restart them at heal with their data directory kept.
    Kill,
    /// A network partition of the given shape, or a random shape when `None`.
    Partition(Option<Shape>),
    /// The one partition given with `--partition`.
    Explicit(PartitionSpec),
    /// Degraded links into some nodes (latency, loss, bandwidth, blackhole, …), by name.
    Link(String),
}

/// The faults a run injects (`--nemesis pause,partition,kill`); empty means none.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct NemesisKinds(pub Vec<FaultKind>);

/// The names `--nemesis` accepts, for error messages and help.
pub const NEMESIS_NAMES: &str = "none, pause, kill, partition, partition-one, partition-halves, \
     partition-ring, partition-bridge, partition-primary, partition-one-way, latency, loss, \
     bandwidth, blackhole, reset, slow-close, half-open";

impl FromStr for NemesisKinds {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut kinds = Vec::new();
        for name in s.split(',').map(str::trim) {
            let kind = match name {
                "none" => continue,
                "pause" => FaultKind::Pause,
                "kill" => FaultKind::Kill,
                "partition" => FaultKind::Partition(None),
                "partition-one" => FaultKind::Partition(Some(Shape::One)),
                "partition-halves" => FaultKind::Partition(Some(Shape::Halves)),
                "partition-ring" => FaultKind::Partition(Some(Shape::Ring)),
                "partition-bridge" => FaultKind::Partition(Some(Shape::Bridge)),
                "partition-primary" => FaultKind::Partition(Some(Shape::Primary)),
                "partition-one-way" => FaultKind::Partition(Some(Shape::OneWay)),
                link if LinkFault::named(link).is_some() => FaultKind::Link(link.to_string()),
                other => {
                    return Err(format!(
                        "unknown nemesis '{other}' (known: {NEMESIS_NAMES})"
                    ))
                }
            };
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        Ok(NemesisKinds(kinds))
    }
}

impl fmt::Display for FaultKind {
    /// The name `--nemesis` knows it by (`--partition A|B` for an explicit partition), which is
    /// also how reports count the faults of this kind that were applied.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultKind::Pause => f.write_str("pause"),
            FaultKind::Kill => f.write_str("kill"),
            FaultKind::Partition(None) => f.write_str("partition"),
            FaultKind::Partition(Some(shape)) => write!(f, "partition-{shape}"),
            FaultKind::Explicit(spec) => {
                let sides: Vec<String> = spec.0.iter().map(|c| c.join(",")).collect();
                write!(f, "--partition {}", sides.join("|"))
            }
            FaultKind::Link(name) => f.write_str(name),
        }
    }
}

impl NemesisKinds {
    /// Whether any of these faults cuts the network (which needs a network that can be cut).
    pub fn partitions(&self) -> bool {
        self.0
            .iter()
            .any(|k| matches!(k, FaultKind::Partition(_) | FaultKind::Explicit(_)))
    }

    /// The link faults among these, with their names.
    pub fn link_faults(&self) -> Vec<(&str, LinkFault)> {
        self.0
            .iter()
            .filter_map(|k| match k {
                FaultKind::Link(name) => LinkFault::named(name).map(|f| (name.as_str(), f)),
                _ => None,
            })
            .collect()
    }
}

/// One concrete fault, with the nodes it hits.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "fault", rename_all = "lowercase")]
pub enum Fault {
    /// These nodes are paused.
    Pause {
        /// The paused nodes.
        nodes: Vec<String>,
    },
    /// These nodes are killed (restarted at heal).
    Kill {
        /// The killed nodes.
        nodes: Vec<String>,
    },
    /// The links into these nodes are degraded.
    Link {
        /// The fault's name (`latency`, `loss`, …).
        name: String,
        /// The nodes whose incoming links suffer it.
        nodes: Vec<String>,
        /// What the links suffer.
        link: LinkFault,
    },
    /// The network is cut as the grudge says.
    Partition {
        /// The shape's name (`explicit` for `--partition`).
        shape: String,
        /// For each node, whose traffic it drops.
        grudge: Grudge,
    },
}

impl Fault {
    /// The history's `f` for the start of this fault.
    pub fn start_f(&self) -> &'static str {
        match self {
            Fault::Pause { .. } => "pause",
            Fault::Kill { .. } => "kill",
            Fault::Partition { .. } => "partition",
            Fault::Link { .. } => "degrade",
        }
    }

    /// The history's `f` for the end of this fault.
    pub fn heal_f(&self) -> &'static str {
        match self {
            Fault::Pause { .. } => "resume",
            Fault::Kill { .. } => "restart",
            Fault::Partition { .. } | Fault::Link { .. } => "heal",
        }
    }
}

/// Which edge of a fault window a nemesis event of the history is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowEdge {
    /// A fault began (when the event is not a failure).
    Start,
    /// A fault ended.
    End,
}

impl WindowEdge {
    /// The edge a nemesis event's `f` marks, if any (`health`, `recovered` and the like mark none).
    pub fn of(f: &str) -> Option<WindowEdge> {
        match f {
            "pause" | "kill" | "partition" | "degrade" => Some(WindowEdge::Start),
            "resume" | "restart" | "heal" => Some(WindowEdge::End),
            _ => None,
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Pause { nodes } => write!(f, "pause {}", nodes.join(",")),
            Fault::Kill { nodes } => write!(f, "kill {}", nodes.join(",")),
            Fault::Link { name, nodes, .. } => write!(f, "{name} into {}", nodes.join(",")),
            Fault::Partition { shape, grudge } => {
                let cut: Vec<String> = grudge
                    .0
                    .iter()
                    .filter(|(_, from)| !from.is_empty())
                    .map(|(n, from)| {
                        format!("{n}!{}", from.iter().cloned().collect::<Vec<_>>().join(","))
                    })
                    .collect();
                write!(f, "partition {shape} ({})", cut.join(" "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_names_unknown() {
        let k: NemesisKinds = "pause,partition-ring,kill".parse().unwrap();
        assert_eq!(
            k.0,
            vec![
                FaultKind::Pause,
                FaultKind::Partition(Some(Shape::Ring)),
                FaultKind::Kill
            ]
        );
        assert!(k.partitions());
        let links: NemesisKinds = "latency,half-open".parse().unwrap();
        assert_eq!(
            links
                .link_faults()
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>(),
            ["latency", "half-open"]
        );
        assert!(!links.partitions());
        assert_eq!("none".parse::<NemesisKinds>().unwrap().0, vec![]);
        let err = "pause,flood".parse::<NemesisKinds>().unwrap_err();
        assert!(
            err.contains("'flood'") && err.contains("partition-one-way"),
            "{err}"
        );
    }

    #[test]
    fn kinds_are_named_as_typed_and_edges_follow_the_history_fs() {
        let k: NemesisKinds = "pause,partition,partition-one-way,latency".parse().unwrap();
        let names: Vec<String> = k.0.iter().map(ToString::to_string).collect();
        assert_eq!(
            names,
            ["pause", "partition", "partition-one-way", "latency"]
        );
        let spec: PartitionSpec = "n1,n2|n3".parse().unwrap();
        assert_eq!(
            FaultKind::Explicit(spec).to_string(),
            "--partition n1,n2|n3"
        );
        let faults = [
            Fault::Pause { nodes: vec![] },
            Fault::Kill { nodes: vec![] },
            Fault::Partition {
                shape: "ring".into(),
                grudge: Grudge::default(),
            },
            Fault::Link {
                name: "loss".into(),
                nodes: vec![],
                link: LinkFault::default(),
            },
        ];
        for fault in faults {
            assert_eq!(WindowEdge::of(fault.start_f()), Some(WindowEdge::Start));
            assert_eq!(WindowEdge::of(fault.heal_f()), Some(WindowEdge::End));
        }
        assert_eq!(WindowEdge::of("recovered"), None);
    }

    #[test]
    fn fault_serialises_with_its_nodes() {
        let v = serde_json::to_value(Fault::Pause {
            nodes: vec!["n2".into()],
        })
        .unwrap();
        assert_eq!(v, serde_json::json!({"fault": "pause", "nodes": ["n2"]}));
    }
}
