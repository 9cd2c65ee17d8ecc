//! Throughput over time: completions per second in equal buckets of the run, by outcome.

use crate::axes::nice_step;
use checker::{Operation, Outcome};
use serde::Serialize;

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
}

impl Throughput {
    /// The throughput of `ops` over `[0, span_secs]`.
    pub fn of(ops: &[Operation], span_secs: f64) -> Throughput {
        let bucket = nice_step(span_secs / 100.0).max(0.01);
        let n = ((span_secs / bucket).ceil() as usize).max(1);
        let (mut ok, mut fail, mut info) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let mut total_ok = 0usize;
        for op in ops {
            let Some(done) = op.span.complete_time else {
                continue;
            };
            let i = ((done as f64 / 1e9 / bucket) as usize).min(n - 1);
            let series = match op.outcome {
                Outcome::Ok => {
                    total_ok += 1;
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
    }
}
