//! Network partitions as grudges: for each node, the nodes whose traffic it drops.
//!
//! Every shape is a pure function of the node list and a random source, so the same seed gives the
//! same partitions. Jepsen's shapes and names:
//!
//! ```text
//!  one        n1 | n2 n3 n4 n5            isolate one node
//!  halves     n1 n2 | n3 n4 n5            two random halves (the smaller first)
//!  ring       each node sees a majority, no two nodes the same majority
//!  bridge     n1 n2 | n4 n5, n3 sees both  two halves joined through one node
//!  one-way    n1 ──x──► others, others ──► n1   the others drop what n1 sends
//! ```
//! A grudge only drops *node-to-node* traffic: the control side (the harness) keeps its access to
//! every node, as Jepsen's control node does.

use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

/// For each node, the set of nodes whose packets it drops.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Grudge(pub BTreeMap<String, BTreeSet<String>>);

impl Grudge {
    /// The grudge that cuts every link between different components (a complete partition).
    pub fn from_components(components: &[Vec<String>]) -> Grudge {
        let mut g = Grudge::default();
        for (i, a) in components.iter().enumerate() {
            for (j, b) in components.iter().enumerate() {
                if i != j {
                    for x in a {
                        g.0.entry(x.clone()).or_default().extend(b.iter().cloned());
                    }
                }
            }
        }
        g
    }

    /// Whether `from`'s traffic reaches `to`.
    pub fn allows(&self, from: &str, to: &str) -> bool {
        self.0.get(to).is_none_or(|dropped| !dropped.contains(from))
    }
}

/// The shapes a partition can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// One random node cut off from the rest.
    One,
    /// Two random halves.
    Halves,
    /// Each node sees a majority; no two see the same one.
    Ring,
    /// Two halves joined through one node that sees both.
    Bridge,
    /// The primary cut off from the rest.
    Primary,
    /// One node's outgoing traffic dropped by the rest; it still hears them.
    OneWay,
}

/// Every random shape, for `--nemesis partition`.
pub const SHAPES: [Shape; 6] = [
    Shape::One,
    Shape::Halves,
    Shape::Ring,
    Shape::Bridge,
    Shape::Primary,
    Shape::OneWay,
];

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Shape::One => "one",
            Shape::Halves => "halves",
            Shape::Ring => "ring",
            Shape::Bridge => "bridge",
            Shape::Primary => "primary",
            Shape::OneWay => "one-way",
        })
    }
}

impl Shape {
    /// The grudge of this shape over `nodes`; `primary` is the node the cluster reports as primary.
    pub fn grudge(self, nodes: &[String], primary: Option<&str>, rng: &mut impl Rng) -> Grudge {
        let mut shuffled = nodes.to_vec();
        shuffled.shuffle(rng);
        let n = shuffled.len();
        match self {
            Shape::One => {
                Grudge::from_components(&[shuffled[..1].to_vec(), shuffled[1..].to_vec()])
            }
            Shape::Primary => {
                let p = primary
                    .map(str::to_string)
                    .unwrap_or_else(|| nodes[0].clone());
                let rest: Vec<String> = nodes.iter().filter(|x| **x != p).cloned().collect();
                Grudge::from_components(&[vec![p], rest])
            }
            Shape::Halves => {
                let (a, b) = shuffled.split_at(n / 2);
                Grudge::from_components(&[a.to_vec(), b.to_vec()])
            }
            Shape::Bridge => {
                // n1 n2 | n3 | n4 n5: the middle node is the bridge and keeps both sides.
                let half = n.saturating_sub(1) / 2;
                let (a, rest) = shuffled.split_at(half);
                let b = &rest[1.min(rest.len())..];
                let mut g = Grudge::default();
                for x in a {
                    g.0.entry(x.clone()).or_default().extend(b.iter().cloned());
                }
                for x in b {
                    g.0.entry(x.clone()).or_default().extend(a.iter().cloned());
                }
                g
            }
            Shape::Ring => {
                // In ring order, each node hears the majority-sized window centred on itself.
                let majority = n / 2 + 1;
                let mut g = Grudge::default();
                for (i, x) in shuffled.iter().enumerate() {
                    let sees: BTreeSet<usize> = (0..majority)
                        .map(|k| (i + n + k - majority / 2) % n)
                        .collect();
                    let dropped = (0..n)
                        .filter(|j| !sees.contains(j))
                        .map(|j| shuffled[j].clone());
                    g.0.insert(x.clone(), dropped.collect());
                }
                g
            }
            Shape::OneWay => {
                let (a, rest) = shuffled.split_at(1);
                let mut g = Grudge::default();
                for x in rest {
                    g.0.entry(x.clone()).or_default().insert(a[0].clone());
                }
                g
            }
        }
    }
}

/// An explicit partition given as components, `n1,n2|n3,n4,n5` (`--partition`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct PartitionSpec(pub Vec<Vec<String>>);

impl FromStr for PartitionSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let components: Vec<Vec<String>> = s
            .split('|')
            .map(|c| {
                c.split(',')
                    .map(|n| n.trim().to_string())
                    .filter(|n| !n.is_empty())
                    .collect()
            })
            .collect();
        if components.len() < 2 || components.iter().any(Vec::is_empty) {
            return Err(format!(
                "'{s}' is not a partition: write components like n1,n2|n3,n4,n5"
            ));
        }
        let mut seen = BTreeSet::new();
        for n in components.iter().flatten() {
            if !seen.insert(n) {
                return Err(format!("'{s}': node {n} is in two components"));
            }
        }
        Ok(PartitionSpec(components))
    }
}

/// Written as typed: `n1,n2|n3,n4,n5`.
impl fmt::Display for PartitionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let components: Vec<String> = self.0.iter().map(|c| c.join(",")).collect();
        f.write_str(&components.join("|"))
    }
}

impl PartitionSpec {
    /// Checks every node named exists, then gives the grudge (unnamed nodes join no side and keep
    /// every link).
    pub fn grudge(&self, nodes: &[String]) -> Result<Grudge, String> {
        if let Some(bad) = self.0.iter().flatten().find(|n| !nodes.contains(n)) {
            return Err(format!(
                "partition names {bad}, which is not a node ({})",
                nodes.join(", ")
            ));
        }
        Ok(Grudge::from_components(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn nodes(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    fn reachable(g: &Grudge, from: &str, to: &str) -> bool {
        g.allows(from, to) && g.allows(to, from)
    }

    #[test]
    fn explicit_spec_cuts_exactly_between_components() {
        let spec: PartitionSpec = "n1,n2|n3,n4,n5".parse().unwrap();
        let g = spec.grudge(&nodes(5)).unwrap();
        assert!(reachable(&g, "n1", "n2") && reachable(&g, "n3", "n5"));
        assert!(!g.allows("n1", "n3") && !g.allows("n4", "n2"));
        assert!("n1|".parse::<PartitionSpec>().is_err());
        assert!("n1,n2|n2"
            .parse::<PartitionSpec>()
            .unwrap_err()
            .contains("two components"));
        assert!(spec.grudge(&nodes(3)).unwrap_err().contains("n4"));
    }

    #[test]
    fn every_shape_on_five_nodes() {
        let mut rng = StdRng::seed_from_u64(1);
        let ns = nodes(5);
        for shape in SHAPES {
            let g = shape.grudge(&ns, Some("n3"), &mut rng);
            let cut: usize = g.0.values().map(BTreeSet::len).sum();
            assert!(cut > 0, "{shape} cuts something");
            match shape {
                Shape::Primary => {
                    assert!(ns
                        .iter()
                        .filter(|n| *n != "n3")
                        .all(|n| !reachable(&g, "n3", n)));
                }
                Shape::Ring => {
                    for n in &ns {
                        let sees = ns.iter().filter(|m| g.allows(m, n)).count();
                        assert_eq!(sees, 3, "{n} hears a majority (itself included)");
                    }
                    let views: BTreeSet<_> = g.0.values().collect();
                    assert_eq!(views.len(), 5, "no two nodes share a view");
                }
                Shape::Bridge => {
                    let bridges: Vec<_> = ns.iter().filter(|n| !g.0.contains_key(*n)).collect();
                    assert_eq!(bridges.len(), 1, "one bridge node keeps every link");
                    assert!(ns.iter().all(|n| reachable(&g, bridges[0], n)));
                }
                Shape::OneWay => {
                    let victim = &ns.iter().find(|n| !g.0.contains_key(*n)).unwrap().clone();
                    for n in ns.iter().filter(|n| *n != victim) {
                        assert!(!g.allows(victim, n) && g.allows(n, victim));
                    }
                }
                Shape::One | Shape::Halves => {
                    let minority = ns.iter().filter(|n| g.0[*n].len() >= 3).count();
                    assert_eq!(minority, if shape == Shape::One { 1 } else { 2 });
                }
            }
        }
    }
}
