//! The network faults in force on a cluster: what `cluster status` shows, and what a lab's live
//! record keeps so that a later `faultline cluster …` adds to them instead of silently
//! replacing them.

use nemesis::{Grudge, LinkFault};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A partition and the degraded links into nodes, as they stand now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultsInForce {
    /// For each node, whose packets it drops (empty: no partition).
    #[serde(default)]
    pub grudge: Grudge,
    /// The links into each node that are degraded, and how.
    #[serde(default)]
    pub degraded: BTreeMap<String, LinkFault>,
}

impl FaultsInForce {
    /// Whether every link is healthy.
    pub fn is_empty(&self) -> bool {
        self.grudge.0.values().all(|from| from.is_empty()) && self.degraded.is_empty()
    }

    /// One line per fault, e.g. `n3 drops traffic from n1, n2` or `links into n2: loss 20%`.
    pub fn describe(&self) -> Vec<String> {
        let cuts = self
            .grudge
            .0
            .iter()
            .filter(|(_, from)| !from.is_empty())
            .map(|(node, from)| {
                let from: Vec<&str> = from.iter().map(String::as_str).collect();
                format!("{node} drops traffic from {}", from.join(", "))
            });
        let degraded = self
            .degraded
            .iter()
            .map(|(node, fault)| format!("links into {node}: {fault}"));
        cuts.chain(degraded).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_cuts_and_degradations_and_survives_a_record() {
        let mut f = FaultsInForce::default();
        assert!(f.is_empty() && f.describe().is_empty());
        f.grudge = Grudge::from_components(&[vec!["n1".into()], vec!["n2".into(), "n3".into()]]);
        f.degraded
            .insert("n2".into(), nemesis::LinkKind::Loss.fault());
        assert_eq!(
            f.describe(),
            [
                "n1 drops traffic from n2, n3",
                "n2 drops traffic from n1",
                "n3 drops traffic from n1",
                "links into n2: loss 20%"
            ]
        );
        let text = serde_json::to_string(&f).unwrap();
        assert_eq!(serde_json::from_str::<FaultsInForce>(&text).unwrap(), f);
        assert!(!f.is_empty());
    }
}
