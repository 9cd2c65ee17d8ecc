//! The verdicts: on a whole history ([`CheckReport`]), on each key ([`KeyReport`]), and why a
//! key is not linearizable ([`Anomaly`]), with the human summary `faultline check` prints.
//!
//! A leaf: the checking fills these in; they import only what they hold.

pub use crate::history::op_summary::describe_key;
use crate::validity::Validity;

// What the reports hold, nameable by callers as `checker::report::…`.
pub use crate::explain::cycle::{Constraint, Cycle, CycleStep};
pub use crate::explain::stale::StaleRead;
pub use crate::explain::witness::Witness;
pub use crate::history::op_summary::OpSummary;
pub use crate::history::times::Times;
pub use crate::weak::convergence::{ConvergenceReport, DivergentKey, LostWrite, UnexpectedValue};
pub use crate::weak::counter_bounds::{BoundsViolation, CounterBoundsReport};
pub use crate::weak::set_full::{SetFullReport, SetRead};
pub use crate::weak::WeakReport;
use serde::Serialize;
use serde_json::Value;
use std::fmt;

/// The verdict on a whole history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    /// The merge of the keys' verdicts (valid when there are no keys).
    pub validity: Validity,
    /// One report per key, keys in `search::partition::compare_keys` order.
    pub keys: Vec<KeyReport>,
    /// How the client operations ended.
    pub counts: Counts,
    /// The verdict of a weaker-guarantee checker (set-full, counter-bounds, convergence), which
    /// has no per-key reports; `None` (and absent from JSON) for the linearizability models.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weak: Option<WeakReport>,
}

/// How many client operations ended each way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counts {
    /// Completed `ok`.
    pub ok: usize,
    /// Completed `fail`.
    pub fail: usize,
    /// Completed `info`, or never completed.
    pub info: usize,
}

/// The verdict on one key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyReport {
    /// The key; null for operations without one.
    pub key: Value,
    /// Whether this key's operations are linearizable.
    pub validity: Validity,
    /// How many client operations addressed the key, whatever their outcome.
    pub operations: usize,
    /// Why the verdict is unknown.
    pub reason: Option<String>,
    /// What is wrong, when invalid.
    pub anomaly: Option<Anomaly>,
}

/// Why a key's history is not linearizable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Anomaly {
    /// The operations that could have come next after the longest consistent order, none of
    /// which can.
    pub unlinearizable: Vec<OpSummary>,
    /// How many operations the longest consistent order covers; 0, with `unlinearizable` empty,
    /// when the unique-value fast path or a probe proved the key invalid and the search did not
    /// name that order (the message then says why).
    pub longest_prefix: usize,
    /// Reads that returned an overwritten value (unique-value keys only).
    pub stale_reads: Vec<StaleRead>,
    /// A human explanation: the stale reads if any, else the point where every order fails.
    pub message: String,
    /// A small subset of the key's operations that is already not linearizable.
    pub witness: Option<Witness>,
    /// Indeterminate updates the search left out because no observation shows their effect
    /// (see `HistoryModel::unobserved`): the longest order is over the rest.
    pub left_out: usize,
}

/// `1 key`, `2 keys`.
fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// At most this many stuck operations are listed per key in the human summary.
const SHOWN_PER_KEY: usize = 5;

/// At most this many witness operations are listed per key in the human summary.
const SHOWN_WITNESS: usize = 20;

impl fmt::Display for CheckReport {
    /// A few lines: the verdict with counts, then each key that is not valid and why.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(weak) = &self.weak {
            return weak.fmt(f);
        }
        let count = |v| self.keys.iter().filter(|k| k.validity == v).count();
        writeln!(
            f,
            "{}: {} checked, {} invalid, {} unknown ({} ok, {} fail, {} info operations)",
            self.validity,
            counted(self.keys.len(), "key"),
            count(Validity::Invalid),
            count(Validity::Unknown),
            self.counts.ok,
            self.counts.fail,
            self.counts.info
        )?;
        for key in self.keys.iter().filter(|k| k.validity != Validity::Valid) {
            let name = describe_key(&key.key);
            let operations = counted(key.operations, "operation");
            write!(f, "{name}: {} ({operations})", key.validity)?;
            if let Some(reason) = &key.reason {
                write!(f, ": {reason}")?;
            }
            writeln!(f)?;
            let Some(anomaly) = &key.anomaly else {
                continue;
            };
            if anomaly.stale_reads.is_empty() && anomaly.unlinearizable.is_empty() {
                // Proven without naming the longest order: by the unique-value fast path, or by
                // a probe (the message says which).
                writeln!(f, "  {}", anomaly.message)?;
            } else if anomaly.stale_reads.is_empty() {
                let left_out = match anomaly.left_out {
                    0 => String::new(),
                    n => format!(" ({n} unobserved indeterminate updates left out)"),
                };
                writeln!(
                    f,
                    "  consistent for {} operations{left_out}; then none of these can take \
                     effect:",
                    anomaly.longest_prefix
                )?;
                for op in anomaly.unlinearizable.iter().take(SHOWN_PER_KEY) {
                    writeln!(f, "    {op}")?;
                }
                let hidden = anomaly.unlinearizable.len().saturating_sub(SHOWN_PER_KEY);
                if hidden > 0 {
                    writeln!(f, "    ... and {hidden} more")?;
                }
            } else {
                for stale in anomaly.stale_reads.iter().take(SHOWN_PER_KEY) {
                    writeln!(f, "  {}", stale.message)?;
                }
                let hidden = anomaly.stale_reads.len().saturating_sub(SHOWN_PER_KEY);
                if hidden > 0 {
                    writeln!(f, "  ... and {hidden} more stale reads")?;
                }
            }
            if let Some(witness) = &anomaly.witness {
                writeln!(f, "  {}", witness.heading())?;
                for line in witness.timeline.iter().take(SHOWN_WITNESS) {
                    writeln!(f, "    {line}")?;
                }
                let hidden = witness.timeline.len().saturating_sub(SHOWN_WITNESS);
                if hidden > 0 {
                    writeln!(f, "    ... and {hidden} more (all of them in --json)")?;
                }
                for because in &witness.because {
                    writeln!(f, "  because: {because}")?;
                }
                if let Some(cycle) = &witness.cycle {
                    writeln!(f, "  cycle: {}", cycle.message)?;
                }
            }
        }
        Ok(())
    }
}

impl CheckReport {
    /// The human summary the harness prints (the same text as `Display`).
    pub fn describe(&self) -> String {
        self.to_string()
    }
}

#[cfg(test)]
mod tests {
    use crate::check::check_events;
    use crate::testing::history_builder::*;
    use serde_json::json;

    #[test]
    fn report_serializes_as_documented() {
        let report = check_events(
            &history(vec![
                on(json!("x"), invoke(0, 1, "write", json!(1))),
                on(json!("x"), fail(10, 1, "write", json!(1))),
                on(json!("x"), invoke(20, 2, "read", json!(null))),
                on(json!("x"), ok(30, 2, "read", json!(1))),
            ]),
            &patient(),
        )
        .unwrap();
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["validity"], json!("invalid"));
        assert_eq!(json["counts"], json!({"ok": 1, "fail": 1, "info": 0}));
        let key = &json["keys"][0];
        assert_eq!(key["key"], json!("x"));
        assert_eq!(key["validity"], json!("invalid"));
        assert_eq!(key["operations"], json!(2));
        assert_eq!(key["reason"], json!(null));
        assert_eq!(key["anomaly"]["longest_prefix"], json!(0));
        assert_eq!(key["anomaly"]["stale_reads"], json!([]));
        assert_eq!(key["anomaly"]["unlinearizable"][0]["f"], json!("read"));
        assert_eq!(key["anomaly"]["unlinearizable"][0]["type"], json!("ok"));
        let witness = &key["anomaly"]["witness"];
        assert_eq!(witness["minimal"], json!(true));
        assert_eq!(witness["shrunk_from"], json!(1));
        assert_eq!(witness["operations"][0]["f"], json!("read"));
        assert_eq!(
            witness["timeline"],
            json!(["read returned 1 by process 2: invoked at 0.020 s, ok at 0.030 s"])
        );
    }
}
