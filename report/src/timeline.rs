//! The timeline: each client's operations as bars from invocation to completion, one lane per
//! worker (a worker whose operation ended `info` goes on under a new process id, in the same
//! lane), coloured by outcome; fault windows shaded across every lane; the witness's operations
//! outlined; for a linearizability failure the stretch the longest linearizable prefix certainly
//! covers, and the operations none of which could come next.
//!
//! The bars live in an inner `<svg>` whose viewBox the page's script narrows and shifts (zoom and
//! pan) with `preserveAspectRatio="none"`, so lanes keep their height while time stretches.
//! Coordinates are pixels of the unzoomed view: a bar is at least one pixel wide there.
//!
//! ```text
//!   worker 0 |[==ok==]   [=fail=]      [====info=====>
//!   worker 1 |   [==ok==][##witness##]
//!            |      ░░░░ pause n2 ░░░░
//! ```

use crate::axes::{Frame, Scale};
use crate::fault_windows::FaultWindow;
use crate::marks::Marks;
use crate::markup::{escape, num};
use checker::report::OpSummary;
use checker::{Operation, Outcome, Process};
use results::FINAL_READ_PROCESSES;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Height of one lane, in pixels: roomy for a few workers, tighter for many.
fn lane_height(lanes: usize) -> f64 {
    match lanes {
        0..=10 => 22.0,
        11..=40 => 16.0,
        _ => 10.0,
    }
}
/// Left margin for lane labels.
const LEFT: f64 = 110.0;
/// Width of the drawing area.
const WIDTH: f64 = 1000.0;

/// What one timeline shows.
pub struct TimelineSpec<'a> {
    /// The element id (the page's script finds zoomable timelines by `data-zoom`).
    pub id: &'a str,
    /// The operations drawn.
    pub ops: Vec<&'a Operation>,
    /// The time interval shown, in nanoseconds.
    pub from: u64,
    /// The end of the interval shown.
    pub to: u64,
    /// The run's concurrency, when known: lanes are workers (process modulo it).
    pub concurrency: Option<u64>,
    /// Fault windows to shade.
    pub windows: &'a [FaultWindow],
    /// Operations to single out.
    pub marks: &'a Marks,
    /// Whether to write each operation's action on its bar (for a handful of operations).
    pub labels: bool,
}

/// The lane an operation's process belongs to, as a sortable key and a label.
fn lane_of(process: Process, concurrency: Option<u64>) -> (u64, String) {
    match (process, concurrency) {
        (Process::Client(p), _) if p >= FINAL_READ_PROCESSES => {
            (p, format!("final read {}", p - FINAL_READ_PROCESSES + 1))
        }
        (Process::Client(p), Some(c)) if c > 0 => (p % c, format!("worker {}", p % c)),
        (Process::Client(p), _) => (p, format!("process {p}")),
        (Process::Nemesis, _) => (u64::MAX, "nemesis".into()),
    }
}

/// The timeline as an `<svg>` element.
pub fn timeline_svg(spec: &TimelineSpec) -> String {
    let mut lanes: BTreeMap<u64, String> = BTreeMap::new();
    for op in &spec.ops {
        let (k, label) = lane_of(op.process, spec.concurrency);
        lanes.entry(k).or_insert(label);
    }
    let row: BTreeMap<u64, usize> = lanes.keys().enumerate().map(|(i, &k)| (k, i)).collect();
    let lane_h = lane_height(lanes.len());
    let inner_height = (lanes.len().max(1) as f64) * lane_h;
    let top = 8.0;
    let height = top + inner_height + 40.0;
    let span = spec.to.saturating_sub(spec.from).max(1);
    let x = Scale::linear(
        (spec.from as f64, spec.from as f64 + span as f64),
        (0.0, WIDTH),
    );
    let secs = Scale::linear(
        (spec.from as f64 / 1e9, (spec.from + span) as f64 / 1e9),
        (LEFT, LEFT + WIDTH),
    );
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="timeline" id="{id}" viewBox="0 0 {w} {h}" data-zoom="1" data-from="{from}" data-to="{to}" data-left="{LEFT}" data-width="{WIDTH}" data-top="{top}" data-height="{ih}" role="img" aria-label="timeline">"#,
        id = escape(spec.id),
        w = num(LEFT + WIDTH + 10.0),
        h = num(height),
        from = spec.from as f64 / 1e9,
        to = (spec.from + span) as f64 / 1e9,
        ih = num(inner_height),
    );
    for (i, label) in lanes.values().enumerate() {
        let y = top + i as f64 * lane_h + lane_h / 2.0 + 4.0;
        let _ = write!(
            s,
            r#"<text class="lane" x="{}" y="{}" text-anchor="end">{}</text>"#,
            num(LEFT - 6.0),
            num(y),
            escape(label)
        );
    }
    let _ = write!(
        s,
        r#"<svg class="zoomable" x="{LEFT}" y="{top}" width="{WIDTH}" height="{ih}" viewBox="0 0 {WIDTH} {ih}" preserveAspectRatio="none">"#,
        ih = num(inner_height)
    );
    for i in (0..lanes.len()).step_by(2) {
        let _ = write!(
            s,
            r#"<rect class="stripe" x="0" y="{}" width="{WIDTH}" height="{lane_h}"/>"#,
            num(i as f64 * lane_h)
        );
    }
    for p in &spec.marks.prefixes {
        if p.until > spec.from {
            let end = x.at(p.until as f64);
            let _ = write!(
                s,
                r#"<rect class="prefix" x="0" y="0" width="{}" height="{}"><title>key {}: the longest linearizable prefix covers {} operations; every operation of the key completed before this line is in it, and none of the operations outlined in orange can take effect after it</title></rect><line class="prefix-end" x1="{e}" x2="{e}" y1="0" y2="{}" vector-effect="non-scaling-stroke"/>"#,
                num(end),
                num(inner_height),
                escape(&p.key.to_string()),
                p.operations,
                num(inner_height),
                e = num(end),
            );
        }
    }
    for w in spec.windows {
        if w.end < spec.from || w.start > spec.to {
            continue;
        }
        let x0 = x.at(w.start as f64);
        let x1 = x.at(w.end.min(spec.to) as f64).max(x0 + 1.0);
        let _ = write!(
            s,
            r#"<rect class="fault" x="{}" y="0" width="{}" height="{}"><title>{}: {} to {}</title></rect>"#,
            num(x0),
            num(x1 - x0),
            num(inner_height),
            escape(&w.label),
            seconds(w.start),
            if w.healed() {
                seconds(w.end)
            } else {
                "never healed".into()
            }
        );
    }
    // Marked operations last, so they are drawn on top.
    let mut ordered: Vec<&&Operation> = spec.ops.iter().collect();
    ordered.sort_by_key(|op| marked(spec.marks, op).is_some());
    for op in ordered {
        let lane = row[&lane_of(op.process, spec.concurrency).0];
        let x0 = x.at(op.span.invoke_time as f64);
        let end = op.span.complete_time.unwrap_or(spec.to);
        let x1 = x.at(end as f64).max(x0 + 1.0);
        let class = match op.outcome {
            Outcome::Ok => "ok",
            Outcome::Fail { .. } => "fail",
            Outcome::Info => "info",
        };
        let mark = match marked(spec.marks, op) {
            Some(m) => format!(" {m}"),
            None => String::new(),
        };
        let summary = OpSummary::from(*op);
        let key = op
            .key
            .as_ref()
            .map(|k| format!(" on key {k}"))
            .unwrap_or_default();
        let when = match op.span.complete_time {
            Some(c) => format!(
                "{} to {} ({:.1} ms)",
                seconds(op.span.invoke_time),
                seconds(c),
                c.saturating_sub(op.span.invoke_time) as f64 / 1e6
            ),
            None => format!("{} to never (no completion)", seconds(op.span.invoke_time)),
        };
        let error = match &op.outcome {
            Outcome::Fail { error: Some(e) } => format!(": {e}"),
            _ => String::new(),
        };
        let _ = write!(
            s,
            r#"<rect class="op {class}{mark}" x="{}" y="{}" width="{}" height="{}"{ve}><title>process {} {}{key}: {class}{} · {when}</title></rect>"#,
            num(x0),
            num(lane as f64 * lane_h + lane_h * 0.18),
            num(x1 - x0),
            num(lane_h * 0.64),
            op.process,
            escape(&truncate(&summary.action(), 120)),
            escape(&error),
            ve = if mark.is_empty() {
                ""
            } else {
                r#" vector-effect="non-scaling-stroke""#
            },
        );
        if spec.labels {
            let _ = write!(
                s,
                r#"<text class="op-label" x="{}" y="{}">{}</text>"#,
                num(x0 + 3.0),
                num(lane as f64 * lane_h + lane_h * 0.66),
                escape(&truncate(&summary.action(), 40))
            );
        }
    }
    s.push_str("</svg>");
    let frame = Frame {
        left: LEFT,
        top,
        width: WIDTH,
        height: inner_height,
    };
    let _ = write!(
        s,
        r#"<g class="time-axis">{}</g>"#,
        time_axis(&frame, &secs)
    );
    s.push_str("</svg>");
    s
}

/// The class an operation is singled out with, if any.
fn marked(marks: &Marks, op: &Operation) -> Option<&'static str> {
    if marks.witness.contains(&op.span.invoke_index) {
        Some("witness")
    } else if marks.stuck.contains(&op.span.invoke_index) {
        Some("stuck")
    } else {
        None
    }
}

/// Tick labels (seconds) under the lanes; the page's script redraws them after a zoom.
fn time_axis(frame: &Frame, secs: &Scale) -> String {
    let mut s = String::from(r#"<g class="ticks">"#);
    for t in secs.ticks(10) {
        let px = num(secs.at(t));
        let _ = write!(
            s,
            r#"<line class="tick" x1="{px}" x2="{px}" y1="{}" y2="{}"/><text x="{px}" y="{}" text-anchor="middle">{}</text>"#,
            num(frame.bottom()),
            num(frame.bottom() + 4.0),
            num(frame.bottom() + 16.0),
            crate::axes::tick_label(t)
        );
    }
    s.push_str("</g>");
    let _ = write!(
        s,
        r#"<text class="title" x="{}" y="{}" text-anchor="middle">time since the run started (s)</text>"#,
        num(frame.left + frame.width / 2.0),
        num(frame.bottom() + 32.0)
    );
    s
}

/// Nanoseconds as seconds with millisecond precision.
fn seconds(ns: u64) -> String {
    format!("{:.3} s", ns as f64 / 1e9)
}

/// `text` cut to `max` characters, with an ellipsis when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max - 1).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use checker::{Event, EventType};
    use serde_json::json;

    fn ev(
        index: u64,
        time: u64,
        p: u64,
        kind: EventType,
        f: &str,
        value: serde_json::Value,
    ) -> Event {
        Event {
            index,
            time,
            process: Process::Client(p),
            kind,
            f: f.into(),
            key: Some(json!("x")),
            value,
            error: None,
            node: None,
        }
    }

    #[test]
    fn bars_per_worker_lane_coloured_and_marked() {
        let events = vec![
            ev(0, 0, 0, EventType::Invoke, "write", json!(1)),
            ev(
                1,
                FINAL_READ_PROCESSES,
                1,
                EventType::Invoke,
                "read",
                json!(null),
            ),
            ev(2, 5_000_000, 0, EventType::Info, "write", json!(1)),
            ev(3, 6_000_000, 1, EventType::Ok, "read", json!(1)),
            ev(4, 7_000_000, 2, EventType::Invoke, "read", json!(null)),
            ev(5, 9_000_000, 2, EventType::Fail, "read", json!(null)),
        ];
        let ops = checker::pair(&events).unwrap();
        let marks = Marks {
            witness: [1].into(),
            ..Marks::default()
        };
        let windows = [FaultWindow {
            start: 2_000_000,
            end: 3_000_000,
            label: "pause n2".into(),
        }];
        let svg = timeline_svg(&TimelineSpec {
            id: "t",
            ops: ops.iter().collect(),
            from: 0,
            to: 10_000_000,
            concurrency: Some(2),
            windows: &windows,
            marks: &marks,
            labels: false,
        });
        // Process 2 is worker 0 again (its process 0 ended info): two lanes.
        assert_eq!(svg.matches(r#"class="lane""#).count(), 2);
        assert!(svg.contains(">worker 0<") && svg.contains(">worker 1<"));
        assert_eq!(svg.matches(r#"class="op info""#).count(), 1);
        assert_eq!(svg.matches(r#"class="op fail""#).count(), 1);
        assert_eq!(svg.matches(r#"class="op ok witness""#).count(), 1);
        assert!(svg.contains("<title>pause n2: 0.002 s to 0.003 s</title>"));
        assert!(svg.contains("process 1 read 1 on key \"x\": ok · 0.001 s to 0.006 s (5.0 ms)"));
        // The fault window spans from 200 px to 300 px of the 1000 px drawing.
        assert!(svg.contains(r#"<rect class="fault" x="200" y="0" width="100""#));
    }

    #[test]
    fn final_reads_get_their_own_lanes() {
        assert_eq!(
            lane_of(Process::Client(1_000_001), Some(5)).1,
            "final read 2"
        );
        assert_eq!(lane_of(Process::Client(7), None).1, "process 7");
    }
}
