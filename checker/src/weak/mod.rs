//! Checkers of guarantees weaker than linearizability: set-full, counter bounds and
//! convergence. They judge a whole history at once (no per-key search), so their verdicts ride
//! in [`crate::CheckReport::weak`] instead of its per-key reports.
//!
//! - `set_full.rs`: Jepsen's set-full, simplified: every acknowledged add survives into the
//!   final reads.
//! - `counter_bounds.rs`: every counter read lies within what the adds before and around it
//!   allow.
//! - `convergence.rs`: replicas' final reads agree and keep every acknowledged write; with
//!   `final_reads.rs`, which reads are final.
//! - this file: [`WeakReport`], the verdict of whichever ran, and routing a model to its checker.

pub(crate) mod convergence;
pub(crate) mod counter_bounds;
pub(crate) mod final_reads;
pub(crate) mod set_full;

use crate::history::history_error::HistoryError;
use crate::history::operation::Operation;
use crate::options::{CheckOptions, ModelKind};
use crate::validity::Validity;
use crate::weak::convergence::{check_convergence, ConvergenceReport};
use crate::weak::counter_bounds::{check_counter_bounds, CounterBoundsReport};
use crate::weak::set_full::{check_set_full, SetFullOptions, SetFullReport};
use serde::Serialize;
use std::fmt;

/// The verdict of a weaker-guarantee checker, tagged with its name in JSON
/// (`{"checker": "set-full", ...}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "checker", rename_all = "kebab-case")]
pub enum WeakReport {
    /// Jepsen's set-full, simplified.
    SetFull(SetFullReport),
    /// Reads of a grow-only counter within their bounds.
    CounterBounds(CounterBoundsReport),
    /// Replicas agree after recovery and keep acknowledged writes.
    Convergence(ConvergenceReport),
}

impl WeakReport {
    /// The checker's verdict.
    pub fn validity(&self) -> Validity {
        match self {
            WeakReport::SetFull(r) => r.validity,
            WeakReport::CounterBounds(r) => r.validity,
            WeakReport::Convergence(r) => r.validity,
        }
    }
}

impl fmt::Display for WeakReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WeakReport::SetFull(r) => r.fmt(f),
            WeakReport::CounterBounds(r) => r.fmt(f),
            WeakReport::Convergence(r) => r.fmt(f),
        }
    }
}

/// Runs the weaker-guarantee checker `opts.model` names, or `None` if it names a
/// linearizability model, on a history whose nemesis's last event is `faults_end` (final reads
/// come after it). Set-full runs with stale reads allowed.
pub(crate) fn check_weak(
    ops: &[Operation],
    opts: &CheckOptions,
    faults_end: Option<u64>,
) -> Option<Result<WeakReport, HistoryError>> {
    Some(match opts.model {
        ModelKind::SetFull => {
            let options = SetFullOptions {
                linearizable_reads: false,
                faults_end,
            };
            check_set_full(ops, &options).map(WeakReport::SetFull)
        }
        ModelKind::CounterBounds => {
            check_counter_bounds(ops, &opts.initial, faults_end).map(WeakReport::CounterBounds)
        }
        ModelKind::Convergence => {
            check_convergence(ops, &opts.initial).map(WeakReport::Convergence)
        }
        ModelKind::Register
        | ModelKind::CasRegister
        | ModelKind::MultiRegister
        | ModelKind::Kv
        | ModelKind::Set
        | ModelKind::Counter
        | ModelKind::Queue => return None,
    })
}

#[cfg(test)]
mod tests {
    use crate::check::check_events;
    use crate::options::{CheckOptions, ModelKind};
    use crate::testing::history_builder::*;
    use crate::validity::Validity;
    use serde_json::{json, Value};

    fn opts(model: ModelKind) -> CheckOptions {
        CheckOptions {
            model,
            ..CheckOptions::default()
        }
    }

    #[test]
    fn a_read_before_the_nemesis_last_event_is_not_final() {
        use crate::history::event::EventType;
        // The read at 30 misses 1, but a fault still stood: only the read after the heal is final.
        let during = |read: Value| {
            history([
                invoke(0, 1, "add", json!(1)),
                ok(10, 1, "add", json!(1)),
                invoke(20, 2, "read", json!(null)),
                ok(30, 2, "read", json!([])),
                nemesis(40, EventType::Info, "heal"),
                invoke(50, 2, "read", json!(null)),
                ok(60, 2, "read", read),
            ])
        };
        let kept = check_events(&during(json!([1])), &opts(ModelKind::SetFull)).unwrap();
        assert_eq!(kept.validity, Validity::Valid, "{kept}");
        let lost = check_events(&during(json!([])), &opts(ModelKind::SetFull)).unwrap();
        assert_eq!(lost.validity, Validity::Invalid, "{lost}");
        let counter = |read: Value| {
            history([
                invoke(0, 1, "add", json!(2)),
                ok(10, 1, "add", json!(2)),
                invoke(20, 2, "read", json!(null)),
                ok(30, 2, "read", json!(0)),
                nemesis(40, EventType::Info, "heal"),
                invoke(50, 2, "read", json!(null)),
                ok(60, 2, "read", read),
            ])
        };
        let bounds = opts(ModelKind::CounterBounds);
        let report = check_events(&counter(json!(2)), &bounds).unwrap();
        let Some(super::WeakReport::CounterBounds(r)) = &report.weak else {
            panic!("{report}")
        };
        assert_eq!(
            r.final_reads, 1,
            "only the read after the heal is final: {report}"
        );
    }

    #[test]
    fn weak_checkers_are_routed_and_their_verdict_is_the_reports() {
        let events = history([
            invoke(0, 1, "add", json!(1)),
            ok(10, 1, "add", json!(1)),
            invoke(20, 2, "read", json!(null)),
            ok(30, 2, "read", json!([])),
        ]);
        let report = check_events(&events, &opts(ModelKind::SetFull)).unwrap();
        assert_eq!(report.validity, Validity::Invalid);
        assert_eq!(report.keys, []);
        assert_eq!((report.counts.ok, report.counts.info), (2, 0));
        let weak = report.weak.as_ref().unwrap();
        assert_eq!(weak.validity(), Validity::Invalid);
        assert_eq!(report.to_string(), weak.to_string());
        assert!(report
            .to_string()
            .starts_with("invalid: set-full: 1 of 1 elements acknowledged"));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["weak"]["checker"], json!("set-full"));
        assert_eq!(json["weak"]["lost"], json!({"count": 1, "elements": [1]}));

        let counter = history([
            invoke(0, 1, "add", json!(1)),
            ok(10, 1, "add", json!(1)),
            invoke(20, 2, "read", json!(null)),
            ok(30, 2, "read", json!(1)),
        ]);
        let report = check_events(&counter, &opts(ModelKind::CounterBounds)).unwrap();
        assert_eq!(report.validity, Validity::Valid);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["weak"]["checker"], json!("counter-bounds"));

        let converged = history([
            on(json!("n1"), invoke(0, 1, "final-read", Value::Null)),
            on(json!("n1"), ok(10, 1, "final-read", json!({"x": 1}))),
        ]);
        let report = check_events(&converged, &opts(ModelKind::Convergence)).unwrap();
        assert_eq!(report.validity, Validity::Invalid);
        assert_eq!(report.weak.unwrap().validity(), Validity::Invalid);
    }

    #[test]
    fn functions_outside_a_weak_checker_are_errors() {
        let events = history([invoke(0, 1, "write", json!(1))]);
        assert_eq!(
            check_events(&events, &opts(ModelKind::CounterBounds))
                .unwrap_err()
                .to_string(),
            "operation invoked at event 0: f \"write\" is not supported by the counter-bounds \
             model (it supports add, read)"
        );
    }

    #[test]
    fn linearizability_models_carry_no_weak_report() {
        let events = history([
            invoke(0, 1, "write", json!(1)),
            ok(10, 1, "write", json!(1)),
        ]);
        let report = check_events(&events, &CheckOptions::default()).unwrap();
        assert_eq!(report.weak, None);
        let json = serde_json::to_value(&report).unwrap();
        assert!(json.get("weak").is_none());
    }
}
