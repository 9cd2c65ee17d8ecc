//! Throughput over time: completions per second in equal buckets of the run, by outcome.

use crate::axes::nice_step;
use checker::{Operation, Outcome};
use serde::Serialize;
use std::collections::BTreeMap;

/// Completions per second, bucket by bucket from time 0.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Throughput {
    /// Each bucket's width in seconds (a round value giving about a hundred buckets).
    pub bucket_secs: f64,
    /// `ok` completions per second in each bucket.
    pub ok: Vec<f64>,
    /// `fail` completions per second in each bucket.
    pub fail: Vec<f64>,
    /// `info` completions per second in each bucket (an operation that never completed counts
    /// in none).
    pub info: Vec<f64>,
    /// `ok` completions per second over the whole span.
    pub mean_ok: f64,
    /// The busiest bucket's `ok` completions per second.
    pub peak_ok: f64,
    /// Per node that answered, its `ok` completions per second in each bucket; empty when the
    /// history names no node. Clients moving from a stopped node to the survivors show here.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ok_by_node: BTreeMap<String, Vec<f64>>,
}

impl Throughput {
    /// The throughput of `ops` over `[0, span_secs]`.
    pub fn of(ops: &[Operation], span_secs: f64) -> Throughput {
        let bucket = nice_step(span_secs / 100.0).max(0.01);
        let n = ((span_secs / bucket).ceil() as usize).max(1);
        let (mut ok, mut fail, mut info) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let mut total_ok = 0usize;
        let mut ok_by_node: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for op in ops {
            let Some(done) = op.span.complete_time else {
                continue;
            };
            let i = ((done as f64 / 1e9 / bucket) as usize).min(n - 1);
            let series = match op.outcome {
                Outcome::Ok => {
                    total_ok += 1;
                    if let Some(node) = &op.node {
                        ok_by_node
                            .entry(node.clone())
                            .or_insert_with(|| vec![0.0; n])[i] += 1.0 / bucket;
                    }
                    &mut ok
                }
                Outcome::Fail { .. } => &mut fail,
                Outcome::Info => &mut info,
            };
            series[i] += 1.0 / bucket;
        }
        let peak_ok = ok.iter().copied().fold(0.0, f64::max);
        Throughput {
            bucket_secs: bucket,
            ok,
            fail,
            info,
            mean_ok: if span_secs > 0.0 {
                total_ok as f64 / span_secs
            } else {
                0.0
            },
            peak_ok,
            ok_by_node,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use checker::{EventType, Process};

    fn op(done: u64, outcome: Outcome) -> Operation {
        let events = [
            checker::Event {
                index: 0,
                time: 0,
                process: Process::Client(0),
                kind: EventType::Invoke,
                f: "read".into(),
                key: None,
                value: serde_json::Value::Null,
                error: None,
                node: None,
            },
            checker::Event {
                index: 1,
                time: done,
                process: Process::Client(0),
                kind: match outcome {
                    Outcome::Ok => EventType::Ok,
                    Outcome::Fail { .. } => EventType::Fail,
                    Outcome::Info => EventType::Info,
                },
                f: "read".into(),
                key: None,
                value: serde_json::Value::Null,
                error: None,
                node: None,
            },
        ];
        checker::pair(&events).unwrap().remove(0)
    }

    #[test]
    fn completions_fall_in_their_buckets() {
        let ops = vec![
            op(50_000_000, Outcome::Ok),
            op(60_000_000, Outcome::Ok),
            op(950_000_000, Outcome::Fail { error: None }),
        ];
        let t = Throughput::of(&ops, 1.0);
        assert_eq!(t.bucket_secs, 0.01);
        assert_eq!(t.ok.len(), 100);
        assert!((t.ok[5] - 100.0).abs() < 1e-9 && (t.ok[6] - 100.0).abs() < 1e-9);
        assert!((t.fail[95] - 100.0).abs() < 1e-9);
        assert!((t.mean_ok - 2.0).abs() < 1e-9);
        assert!(t.ok_by_node.is_empty(), "no node named, none per node");
    }

    #[test]
    fn ok_completions_count_for_the_node_that_answered_them() {
        let history = r#"{"index":0,"time":0,"process":0,"type":"invoke","f":"read","key":"k","value":null}
{"index":1,"time":50000000,"process":0,"type":"ok","f":"read","key":"k","value":null,"node":"n1"}
{"index":2,"time":60000000,"process":1,"type":"invoke","f":"read","key":"k","value":null}
{"index":3,"time":70000000,"process":1,"type":"fail","f":"read","key":"k","value":null,"node":"n1"}
{"index":4,"time":500000000,"process":1,"type":"invoke","f":"read","key":"k","value":null}
{"index":5,"time":520000000,"process":1,"type":"ok","f":"read","key":"k","value":null,"node":"n2"}"#;
        let events = checker::formats::read_jsonl(history.as_bytes()).unwrap();
        let ops = checker::pair(&events).unwrap();
        let t = Throughput::of(&ops, 1.0);
        let n1 = &t.ok_by_node["n1"];
        assert!(
            (n1[5] - 100.0).abs() < 1e-9 && n1.iter().sum::<f64>() == 100.0,
            "the fail is not counted"
        );
        assert!((t.ok_by_node["n2"][52] - 100.0).abs() < 1e-9);
        let per_node = crate::latency::quantiles_per_node(&ops);
        assert_eq!((per_node["n1"].count, per_node["n1"].max), (1, 50.0));
        assert_eq!((per_node["n2"].count, per_node["n2"].p50), (1, 20.0));
    }
}
