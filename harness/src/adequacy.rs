//! Whether a run tested what was asked, judged from what it recorded.
//!
//! A valid verdict means "no anomaly was found *under these conditions*": it is worth nothing if
//! the conditions never happened. A run falls short when
//! - a requested fault kind was never applied (a 10 s run with `--nemesis partition,kill` and
//!   2 s windows has room for two faults; a kill that could not be applied counts as none);
//! - faults were requested and applied, yet no client operation overlapped any fault window
//!   (the window of a fault runs from its start event to its heal event in the history; an
//!   operation runs from its invocation to its completion, or forever without one);
//! - some key had fewer than [`MIN_OK_READS`] `ok` reads or [`MIN_OK_UPDATES`] `ok` updates
//!   (writes, cas, adds): with no acknowledged read or no acknowledged update, a key's check
//!   cannot fail, so its "valid" says nothing. One of each is the least that can show an anomaly
//!   (a read that misses an acknowledged update); final reads count as reads.
//!
//! A run that falls short is `unknown` (exit 3) unless `--accept-inadequate` accepts it; an
//! invalid verdict stays invalid whatever the shortfall, since an anomaly found is evidence.

use crate::catch_up::{CatchUp, NodeCatchUp};
use checker::{Event, Operation, Outcome};
use nemesis::{NemesisKinds, NemesisReport};
use report::{fault_windows, FaultWindow};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// The fewest `ok` reads a key needs for its check to mean anything.
pub const MIN_OK_READS: usize = 1;
/// The fewest `ok` updates (writes, cas, adds) a key needs for its check to mean anything.
pub const MIN_OK_UPDATES: usize = 1;

/// What the run recorded about its own adequacy, for results.json.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Adequacy {
    /// Why the run did not test what was asked; empty when it did.
    pub shortfalls: Vec<String>,
    /// Whether `--accept-inadequate` accepted the shortfalls (the verdict then stands).
    pub accepted: bool,
    /// Fault windows in the history (a fault applied, until its heal).
    pub fault_windows: usize,
    /// Client operations whose interval overlapped some fault window.
    pub operations_during_faults: usize,
}

impl Adequacy {
    /// Whether the run tested what was asked.
    pub fn adequate(&self) -> bool {
        self.shortfalls.is_empty()
    }
}

/// Judges a run from its history `events`, the `requested` fault kinds, what the nemesis
/// reported (`None` if it never finished, as in an interrupted run: then applied kinds are not
/// judged) and whether the nodes caught up before their final reads (a node that did not had
/// its read left unjudged). With `ops_per_key`, a key that had fewer operations than its share
/// was cut off by the run's end and need not be judgeable alone. `ran` is how long the workload
/// ran, for the messages.
pub fn judge(
    events: &[Event],
    requested: &NemesisKinds,
    nemesis: Option<&NemesisReport>,
    catch_up: Option<&CatchUp>,
    ops_per_key: Option<u64>,
    ran: Duration,
    accepted: bool,
) -> Adequacy {
    let mut shortfalls = Vec::new();
    if let Some(report) = nemesis {
        shortfalls.extend(never_applied(requested, report, ran));
    }
    // A history the pairing refuses is reported by the check itself; here it just has no operations.
    let ops = checker::pair(events).unwrap_or_default();
    let windows = fault_windows(events);
    let during = operations_during(&ops, &windows);
    if !requested.0.is_empty() && !windows.is_empty() && during == 0 {
        shortfalls.push(format!(
            "no client operation overlapped any of the {} fault window(s): the faults were \
             applied to an idle cluster; raise --rate or lengthen --nemesis-interval",
            windows.len()
        ));
    }
    shortfalls.extend(thin_keys(&ops, ops_per_key));
    if let Some(c) = catch_up {
        shortfalls.extend(c.nodes.values().filter_map(|n| match n {
            NodeCatchUp::Behind { why, .. } => {
                Some(format!("{why}: its final read was not judged"))
            }
            // A leaderless node's read is final whatever it holds: divergence is a finding.
            NodeCatchUp::CaughtUp { .. }
            | NodeCatchUp::Converged { .. }
            | NodeCatchUp::Diverged { .. } => None,
        }));
    }
    Adequacy {
        shortfalls,
        accepted,
        fault_windows: windows.len(),
        operations_during_faults: during,
    }
}

/// One line per requested kind the nemesis never applied.
fn never_applied(requested: &NemesisKinds, report: &NemesisReport, ran: Duration) -> Vec<String> {
    let ran = format!("{:.1} s", ran.as_secs_f64());
    requested
        .0
        .iter()
        .map(ToString::to_string)
        .filter(|kind| report.applied.get(kind).copied().unwrap_or(0) == 0)
        .map(|kind| {
            let failed: Vec<&str> = report
                .faults
                .iter()
                .filter(|f| f.kind == kind && !f.applied)
                .filter_map(|f| f.error.as_deref())
                .collect();
            match failed.last() {
                None => format!(
                    "{kind} was requested but never applied in {ran}; lengthen --time-limit \
                     (each fault needs a quiet and a fault window of --nemesis-interval)"
                ),
                Some(last) => format!(
                    "{kind} was requested but never applied in {ran}: {} attempt(s) failed \
                     (last: {last})",
                    failed.len()
                ),
            }
        })
        .collect()
}

/// How many client operations overlapped some window (one never completed lasts forever).
fn operations_during(ops: &[Operation], windows: &[FaultWindow]) -> usize {
    ops.iter()
        .filter(|op| {
            let (from, to) = (
                op.span.invoke_time,
                op.span.complete_time.unwrap_or(u64::MAX),
            );
            windows.iter().any(|w| w.overlaps(from, to))
        })
        .count()
}

/// One line naming the keys with too few acknowledged reads or updates, if any; one line if
/// there was no client operation at all.
fn thin_keys(ops: &[Operation], ops_per_key: Option<u64>) -> Option<String> {
    // Per key (as JSON text, so any key type orders): ok reads, ok updates, operations.
    let mut keys: BTreeMap<String, (usize, usize, u64)> = BTreeMap::new();
    for op in ops {
        let key = match &op.key {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => "(none)".to_string(),
        };
        let tally = keys.entry(key).or_default();
        tally.2 += 1;
        if op.outcome == Outcome::Ok {
            if op.f == "read" {
                tally.0 += 1;
            } else {
                tally.1 += 1;
            }
        }
    }
    if keys.is_empty() {
        return Some("no client operation was recorded".to_string());
    }
    let is_thin = |&(reads, updates, _): &(usize, usize, u64)| {
        reads < MIN_OK_READS || updates < MIN_OK_UPDATES
    };
    // A key the run's end cut off before its share was drawn is excused, as long as some key
    // was judgeable at all.
    let cut_off = |&(_, _, n): &(usize, usize, u64)| ops_per_key.is_some_and(|share| n < share);
    let any_judgeable = keys.values().any(|t| !is_thin(t));
    let thin: Vec<String> = keys
        .iter()
        .filter(|(_, t)| is_thin(t) && !(any_judgeable && cut_off(t)))
        .map(|(key, (reads, updates, _))| {
            format!("key {key}: {reads} ok read(s), {updates} ok update(s)")
        })
        .collect();
    (!thin.is_empty()).then(|| {
        format!(
            "too few acknowledged operations to judge {}: each key needs at least \
             {MIN_OK_READS} ok read and {MIN_OK_UPDATES} ok update; raise --rate or \
             --time-limit, or lower --keys",
            thin.join("; ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use checker::{EventType, Process};
    use nemesis::{Fault, FaultRecord};
    use serde_json::json;

    /// One event: time, process (`None`: the nemesis), type, f, key.
    type Row = (
        u64,
        Option<u64>,
        EventType,
        &'static str,
        Option<&'static str>,
    );

    /// Builds a history from rows.
    fn history(rows: &[Row]) -> Vec<Event> {
        rows.iter()
            .enumerate()
            .map(|(i, &(time, process, kind, f, key))| Event {
                index: i as u64,
                time,
                process: process.map_or(Process::Nemesis, Process::Client),
                kind,
                f: f.to_string(),
                key: key.map(|k| json!(k)),
                value: Value::Null,
                error: (kind == EventType::Fail && process.is_none()).then(|| "refused".into()),
                node: None,
            })
            .collect()
    }

    use EventType::{Fail, Info, Invoke, Ok};

    /// A key with one acknowledged write and read, from 0 to 40, on process 0.
    fn write_then_read(key: &'static str) -> Vec<Row> {
        vec![
            (0, Some(0), Invoke, "write", Some(key)),
            (10, Some(0), Ok, "write", Some(key)),
            (20, Some(0), Invoke, "read", Some(key)),
            (40, Some(0), Ok, "read", Some(key)),
        ]
    }

    fn kinds(s: &str) -> NemesisKinds {
        s.parse().unwrap()
    }

    fn report(applied: &[(&str, usize)], failed: &[(&str, &str)]) -> NemesisReport {
        NemesisReport {
            applied: applied.iter().map(|(k, n)| (k.to_string(), *n)).collect(),
            faults: failed
                .iter()
                .map(|(kind, error)| FaultRecord {
                    kind: kind.to_string(),
                    fault: Fault::Kill {
                        nodes: vec!["n1".into()],
                    },
                    applied: false,
                    error: Some(error.to_string()),
                })
                .collect(),
            unhealthy: vec![],
        }
    }

    const TEN: Duration = Duration::from_secs(10);

    #[test]
    fn a_requested_kind_never_applied_is_a_shortfall_naming_it() {
        let mut rows = write_then_read("k");
        rows.insert(1, (5, None, Info, "partition", None));
        rows.push((50, None, Info, "heal", None));
        let events = history(&rows);
        let a = judge(
            &events,
            &kinds("partition,kill"),
            Some(&report(&[("partition", 2), ("kill", 0)], &[])),
            None,
            None,
            TEN,
            false,
        );
        assert_eq!(a.shortfalls.len(), 1, "{a:?}");
        assert!(
            a.shortfalls[0].starts_with(
                "kill was requested but never applied in 10.0 s; lengthen --time-limit"
            ),
            "{a:?}"
        );
        assert_eq!((a.fault_windows, a.operations_during_faults), (1, 2));

        let refused = judge(
            &events,
            &kinds("partition,kill"),
            Some(&report(
                &[("partition", 1), ("kill", 0)],
                &[("kill", "no such pid")],
            )),
            None,
            None,
            TEN,
            true,
        );
        assert!(
            refused.shortfalls[0].contains("1 attempt(s) failed (last: no such pid)"),
            "{refused:?}"
        );
        assert!(refused.accepted && !refused.adequate());
    }

    #[test]
    fn every_kind_applied_with_operations_inside_is_adequate() {
        let mut rows = write_then_read("k");
        rows.insert(0, (0, None, Info, "pause", None));
        rows.insert(3, (15, None, Info, "resume", None));
        let a = judge(
            &history(&rows),
            &kinds("pause"),
            Some(&report(&[("pause", 1)], &[])),
            None,
            None,
            TEN,
            false,
        );
        assert!(a.adequate(), "{a:?}");
        assert_eq!((a.fault_windows, a.operations_during_faults), (1, 1));
    }

    #[test]
    fn faults_between_operations_overlap_none() {
        let mut rows = write_then_read("k");
        rows.push((50, None, Info, "kill", None));
        rows.push((60, None, Info, "restart", None));
        // A fault that could not be applied opens no window.
        rows.push((70, None, Fail, "kill", None));
        let a = judge(
            &history(&rows),
            &kinds("kill"),
            Some(&report(&[("kill", 1)], &[])),
            None,
            None,
            TEN,
            false,
        );
        assert_eq!(a.fault_windows, 1);
        assert_eq!(a.shortfalls.len(), 1, "{a:?}");
        assert!(
            a.shortfalls[0]
                .starts_with("no client operation overlapped any of the 1 fault window(s)"),
            "{a:?}"
        );
        // Without faults requested, an idle fault schedule is no shortfall.
        let calm = judge(
            &history(&write_then_read("k")),
            &kinds("none"),
            Some(&report(&[], &[])),
            None,
            None,
            TEN,
            false,
        );
        assert!(calm.adequate(), "{calm:?}");
    }

    #[test]
    fn an_operation_never_completed_lasts_into_every_later_window() {
        let rows = [
            (0, Some(1), Invoke, "write", Some("k")),
            (30, None, Info, "pause", None),
            (40, None, Info, "resume", None),
        ];
        let a = judge(
            &history(&rows),
            &kinds("pause"),
            None,
            None,
            None,
            TEN,
            false,
        );
        assert_eq!(a.operations_during_faults, 1, "{a:?}");
    }

    #[test]
    fn a_key_without_an_ok_read_or_update_is_named() {
        let mut rows = write_then_read("a");
        rows.extend([
            (50, Some(1), Invoke, "write", Some("b")),
            (60, Some(1), Ok, "write", Some("b")),
            (70, Some(2), Invoke, "read", Some("c")),
            (80, Some(2), Info, "read", Some("c")),
        ]);
        let a = judge(
            &history(&rows),
            &kinds("none"),
            None,
            None,
            None,
            TEN,
            false,
        );
        assert_eq!(a.shortfalls.len(), 1, "{a:?}");
        let text = &a.shortfalls[0];
        assert!(
            text.contains(
                "key b: 0 ok read(s), 1 ok update(s); key c: 0 ok read(s), 0 ok update(s)"
            ) && !text.contains("key a"),
            "{text}"
        );
        let nothing = judge(&[], &kinds("none"), None, None, None, TEN, false);
        assert_eq!(nothing.shortfalls, ["no client operation was recorded"]);

        // With --ops-per-key 2, b and c had fewer than their share: the run's end cut them off,
        // and a, with its two, was judgeable. A share of 1 would leave b and c full, and thin.
        let share = |n| {
            judge(
                &history(&rows),
                &kinds("none"),
                None,
                None,
                Some(n),
                TEN,
                false,
            )
        };
        assert!(share(2).adequate(), "{:?}", share(2));
        assert_eq!(share(1).shortfalls, a.shortfalls);
        // Cut-off keys are excused only beside a judgeable one.
        let only_thin = history(&rows[4..]);
        let a = judge(&only_thin, &kinds("none"), None, None, Some(5), TEN, false);
        assert!(!a.adequate(), "{a:?}");
    }
}
