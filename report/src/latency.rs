//! Latency per operation kind: each operation's latency, and the quantiles of those that
//! completed `ok` (a failed or indeterminate operation's latency says how long it took to give
//! up, not how fast the system answered).

use checker::{Operation, Outcome};
use serde::Serialize;
use std::collections::BTreeMap;

/// Latency quantiles of one kind of operation, in milliseconds (nearest rank).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quantiles {
    /// How many `ok` operations they are over.
    pub count: usize,
    /// The median.
    pub p50: f64,
    /// The 95th percentile.
    pub p95: f64,
    /// The 99th percentile.
    pub p99: f64,
    /// The slowest.
    pub max: f64,
}

impl Quantiles {
    /// The quantiles of `latencies` (any order); `None` when there are none.
    pub fn of(latencies: &mut [f64]) -> Option<Quantiles> {
        if latencies.is_empty() {
            return None;
        }
        latencies.sort_by(f64::total_cmp);
        let rank = |q: f64| {
            let i = (q * latencies.len() as f64).ceil() as usize;
            latencies[i.clamp(1, latencies.len()) - 1]
        };
        Some(Quantiles {
            count: latencies.len(),
            p50: rank(0.50),
            p95: rank(0.95),
            p99: rank(0.99),
            max: latencies[latencies.len() - 1],
        })
    }
}

/// An operation's latency in milliseconds, if it completed.
pub fn latency_ms(op: &Operation) -> Option<f64> {
    op.span
        .complete_time
        .map(|c| c.saturating_sub(op.span.invoke_time) as f64 / 1e6)
}

/// The quantiles of each kind (`f`) of operation over its `ok` completions.
pub fn quantiles_per_kind(ops: &[Operation]) -> BTreeMap<String, Quantiles> {
    quantiles_by(ops, |op| Some(op.f.clone()))
}

/// The quantiles of the `ok` completions each node answered (none when the history names no
/// node): a node that took over another's clients shows it in its latency.
pub fn quantiles_per_node(ops: &[Operation]) -> BTreeMap<String, Quantiles> {
    quantiles_by(ops, |op| op.node.clone())
}

/// The quantiles of `ok` completions grouped by `group` (left out where it gives `None`).
fn quantiles_by(
    ops: &[Operation],
    group: impl Fn(&Operation) -> Option<String>,
) -> BTreeMap<String, Quantiles> {
    let mut groups: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for op in ops.iter().filter(|op| op.outcome == Outcome::Ok) {
        if let (Some(ms), Some(g)) = (latency_ms(op), group(op)) {
            groups.entry(g).or_default().push(ms);
        }
    }
    groups
        .into_iter()
        .filter_map(|(g, mut l)| Quantiles::of(&mut l).map(|q| (g, q)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let mut l: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let q = Quantiles::of(&mut l).unwrap();
        assert_eq!(
            (q.count, q.p50, q.p95, q.p99, q.max),
            (100, 50.0, 95.0, 99.0, 100.0)
        );
        let q = Quantiles::of(&mut [7.0]).unwrap();
        assert_eq!((q.p50, q.p99, q.max), (7.0, 7.0, 7.0));
        assert_eq!(Quantiles::of(&mut []), None);
    }
}
