//! The figures of a run, computed once and used twice: `results.json` carries them, and the
//! report draws and tabulates them.

use crate::lag::{max_lag, LagSeries};
use crate::latency::{quantiles_per_kind, quantiles_per_node, Quantiles};
use crate::throughput::Throughput;
use checker::Operation;
use serde::Serialize;
use std::collections::BTreeMap;

/// Latency quantiles, throughput and replication lag maxima of one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    /// Per kind of operation, latency quantiles (milliseconds) of its `ok` completions.
    pub latency_ms: BTreeMap<String, Quantiles>,
    /// Per node that answered, latency quantiles (milliseconds) of its `ok` completions; empty
    /// when the history names no node.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub latency_by_node_ms: BTreeMap<String, Quantiles>,
    /// Completions per second over time.
    pub throughput: Throughput,
    /// Per replica, the largest lag behind the primary's position in any sampled round.
    pub max_lag: BTreeMap<String, i64>,
}

impl Figures {
    /// The figures of `ops` over `[0, span_secs]`, with the lag of `lag`.
    pub fn compute(ops: &[Operation], span_secs: f64, lag: &LagSeries) -> Figures {
        Figures {
            latency_ms: quantiles_per_kind(ops),
            latency_by_node_ms: quantiles_per_node(ops),
            throughput: Throughput::of(ops, span_secs),
            max_lag: max_lag(lag),
        }
    }
}
