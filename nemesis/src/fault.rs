//! The faults the nemesis can inject: what `--nemesis` names, and one concrete fault.

use crate::link::{LinkFault, LinkKind};
use crate::partition::{Grudge, PartitionSpec, Shape, SHAPES};
use clap::ValueEnum;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng;
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// One kind of fault a run may inject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// Pause processes (SIGSTOP), resume them at heal (SIGCONT).
    Pause,
    /// Kill processes (SIGKILL), restart them at heal with their data directory kept.
    Kill,
    /// A network partition of the given shape, or a random shape when `None`.
    Partition(Option<Shape>),
    /// The one partition given with `--partition`.
    Explicit(PartitionSpec),
    /// Degraded links into some nodes (latency, loss, bandwidth, blackhole, …).
    Link(LinkKind),
    /// One node lies: its reads answer values nobody wrote (the Byzantine fault; own nodes).
    Byzantine,
}

/// What a fault kind needs of the network (`--net`) it runs on.
#[derive(Debug, Clone, PartialEq)]
pub enum NetworkNeed {
    /// Nothing: it acts on processes.
    Nothing,
    /// Links that can be cut.
    Cut,
    /// Links that can be degraded like this.
    Degrade(LinkFault),
}

impl FaultKind {
    /// Every kind `--nemesis` can name, in the order help lists them.
    pub fn named() -> Vec<FaultKind> {
        let mut kinds = vec![
            FaultKind::Pause,
            FaultKind::Kill,
            FaultKind::Partition(None),
        ];
        kinds.extend(SHAPES.iter().map(|s| FaultKind::Partition(Some(*s))));
        kinds.extend(
            LinkKind::value_variants()
                .iter()
                .map(|l| FaultKind::Link(*l)),
        );
        kinds.push(FaultKind::Byzantine);
        kinds
    }

    /// A concrete fault of this kind among `nodes` (`primary` as the cluster reports it), its
    /// targets and shape drawn from `rng`.
    pub fn draw(&self, nodes: &[String], primary: Option<&str>, rng: &mut impl Rng) -> Fault {
        match self {
            FaultKind::Pause => Fault::Pause {
                nodes: process_targets(nodes, primary, rng),
            },
            FaultKind::Kill => Fault::Kill {
                nodes: process_targets(nodes, primary, rng),
            },
            FaultKind::Partition(shape) => {
                let shape = shape.unwrap_or_else(|| *SHAPES.choose(rng).expect("shapes"));
                Fault::Partition {
                    shape: shape.to_string(),
                    grudge: shape.grudge(nodes, primary, rng),
                }
            }
            FaultKind::Link(kind) => Fault::Link {
                link: kind.fault(),
                nodes: process_targets(nodes, primary, rng),
                name: kind.to_string(),
            },
            FaultKind::Byzantine => Fault::Lie {
                nodes: vec![nodes.choose(rng).expect("a cluster has nodes").clone()],
            },
            FaultKind::Explicit(spec) => Fault::Partition {
                shape: "explicit".into(),
                // The spec was checked against the node names when the run was configured.
                grudge: spec.grudge(nodes).unwrap_or_default(),
            },
        }
    }

    /// What this kind needs of the network it runs on, for networks to say whether they can.
    pub fn needs(&self) -> NetworkNeed {
        match self {
            FaultKind::Pause | FaultKind::Kill | FaultKind::Byzantine => NetworkNeed::Nothing,
            FaultKind::Partition(_) | FaultKind::Explicit(_) => NetworkNeed::Cut,
            FaultKind::Link(link) => NetworkNeed::Degrade(link.fault()),
        }
    }
}

/// results.json names a kind as `--nemesis` does, so a run's options can be typed again.
impl Serialize for FaultKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Jepsen's targets for a fault on nodes: one node, the primary, a minority, or all.
fn process_targets(nodes: &[String], primary: Option<&str>, rng: &mut impl Rng) -> Vec<String> {
    let mut shuffled = nodes.to_vec();
    shuffled.shuffle(rng);
    match rng.random_range(0..4) {
        0 => shuffled[..1].to_vec(),
        1 => vec![primary
            .map(str::to_string)
            .unwrap_or_else(|| nodes[0].clone())],
        // A minority: fewer than half, but at least one.
        2 => shuffled[..((nodes.len() - 1) / 2).max(1)].to_vec(),
        _ => nodes.to_vec(),
    }
}

/// The faults a run injects (`--nemesis pause,partition,kill`); empty means none.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct NemesisKinds(pub Vec<FaultKind>);

/// The names `--nemesis` accepts, comma-separated, for help and error messages.
pub fn nemesis_names() -> String {
    let mut names = vec!["none".to_string()];
    names.extend(FaultKind::named().iter().map(FaultKind::to_string));
    names.join(", ")
}

impl FromStr for NemesisKinds {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let names: Vec<&str> = s.split(',').map(str::trim).collect();
        if names.contains(&"none") {
            if names.len() > 1 {
                return Err(format!(
                    "'{s}': none means no faults and cannot be combined with others"
                ));
            }
            return Ok(NemesisKinds::default());
        }
        let named = FaultKind::named();
        let mut kinds = Vec::new();
        for name in names {
            let Some(kind) = named.iter().find(|k| k.to_string() == name) else {
                return Err(format!(
                    "unknown nemesis '{name}' (known: {})",
                    nemesis_names()
                ));
            };
            if !kinds.contains(kind) {
                kinds.push(kind.clone());
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
            FaultKind::Explicit(spec) => write!(f, "--partition {spec}"),
            FaultKind::Link(link) => write!(f, "{link}"),
            FaultKind::Byzantine => f.write_str("byzantine"),
        }
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
    /// These nodes lie: their reads answer values nobody wrote.
    Lie {
        /// The lying nodes.
        nodes: Vec<String>,
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
            Fault::Lie { .. } => "lie",
        }
    }

    /// The history's `f` for the end of this fault.
    pub fn heal_f(&self) -> &'static str {
        match self {
            Fault::Pause { .. } => "resume",
            Fault::Kill { .. } => "restart",
            Fault::Lie { .. } => "truth",
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
            "pause" | "kill" | "partition" | "degrade" | "lie" => Some(WindowEdge::Start),
            "resume" | "restart" | "heal" | "truth" => Some(WindowEdge::End),
            _ => None,
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Pause { nodes } => write!(f, "pause {}", nodes.join(",")),
            Fault::Kill { nodes } => write!(f, "kill {}", nodes.join(",")),
            Fault::Lie { nodes } => write!(f, "{} lying", nodes.join(",")),
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
        assert_eq!(k.0[1].needs(), NetworkNeed::Cut);
        assert_eq!(k.0[0].needs(), NetworkNeed::Nothing);
        let links: NemesisKinds = "latency,half-open".parse().unwrap();
        assert_eq!(
            links.0,
            [
                FaultKind::Link(LinkKind::Latency),
                FaultKind::Link(LinkKind::HalfOpen)
            ]
        );
        assert_eq!(
            links.0[1].needs(),
            NetworkNeed::Degrade(LinkKind::HalfOpen.fault())
        );
        assert_eq!("none".parse::<NemesisKinds>().unwrap().0, vec![]);
        let err = "pause,flood".parse::<NemesisKinds>().unwrap_err();
        assert!(
            err.contains("'flood'")
                && err.contains("partition-one-way")
                && err.contains("half-open"),
            "{err}"
        );
        let err = "none,pause".parse::<NemesisKinds>().unwrap_err();
        assert!(err.contains("cannot be combined"), "{err}");
    }

    #[test]
    fn every_named_kind_parses_back_from_its_name() {
        for kind in FaultKind::named() {
            let parsed: NemesisKinds = kind.to_string().parse().unwrap();
            assert_eq!(parsed.0, vec![kind.clone()]);
            let json = serde_json::to_value(&kind).unwrap();
            assert_eq!(json.as_str(), Some(kind.to_string().as_str()));
        }
        assert!(nemesis_names().starts_with("none, pause, kill, partition, partition-one,"));
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
