//! The plots over the run's time, as `<svg>` elements: latency of every completed operation per
//! kind (points coloured by outcome, log scale), throughput by outcome, and replication lag per
//! replica; each with the fault windows shaded, on the same time axis.

use crate::axes::{Frame, Scale};
use crate::fault_windows::FaultWindow;
use crate::lag::LagSeries;
use crate::latency::latency_ms;
use crate::markup::{escape, num};
use crate::throughput::Throughput;
use checker::{Operation, Outcome};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Size of every plot's SVG.
const WIDTH: f64 = 560.0;
const HEIGHT: f64 = 250.0;
const FRAME: Frame = Frame {
    left: 58.0,
    top: 12.0,
    width: WIDTH - 58.0 - 12.0,
    height: HEIGHT - 12.0 - 46.0,
};

/// Colours of lag series, one per replica in turn.
const PALETTE: [&str; 6] = [
    "#1f77b4", "#9467bd", "#17becf", "#8c564b", "#e377c2", "#7f7f7f",
];

/// One latency plot per kind of operation, in name order: `(kind, svg)`.
pub fn latency_plots(
    ops: &[&Operation],
    span: f64,
    windows: &[FaultWindow],
) -> Vec<(String, String)> {
    let mut by_kind: BTreeMap<&str, Vec<(f64, f64, &'static str)>> = BTreeMap::new();
    for op in ops {
        let Some(ms) = latency_ms(op) else {
            continue;
        };
        let class = match op.outcome {
            Outcome::Ok => "ok",
            Outcome::Fail { .. } => "fail",
            Outcome::Info => "info",
        };
        by_kind
            .entry(&op.f)
            .or_default()
            .push((op.span.invoke_time as f64 / 1e9, ms, class));
    }
    by_kind
        .into_iter()
        .map(|(kind, points)| {
            let (lo, hi) = points
                .iter()
                .fold((f64::MAX, 0f64), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
            let x = time_scale(span);
            let y = Scale::log(lo.max(0.001), hi, (FRAME.bottom(), FRAME.top));
            let mut s = open_svg(&format!("latency of {kind}"));
            s.push_str(&shade(windows, &x));
            s.push_str(&FRAME.axes(&x, &y, "time (s)", "latency (ms)"));
            // Successful points first: the rarer failures stay visible on top.
            let mut points = points;
            points.sort_by_key(|p| p.2 != "ok");
            for (t, ms, class) in points {
                let _ = write!(
                    s,
                    r#"<circle class="pt {class}" cx="{}" cy="{}" r="1.8"/>"#,
                    num(x.at(t)),
                    num(y.at(ms))
                );
            }
            s.push_str(&legend(&[("ok", "ok"), ("fail", "fail"), ("info", "info")]));
            s.push_str("</svg>");
            (kind.to_string(), s)
        })
        .collect()
}

/// Completions per second by outcome.
pub fn throughput_plot(t: &Throughput, span: f64, windows: &[FaultWindow]) -> String {
    let peak =
        t.ok.iter()
            .chain(&t.fail)
            .chain(&t.info)
            .copied()
            .fold(0.0, f64::max);
    let x = time_scale(span);
    let y = Scale::linear((0.0, (peak * 1.1).max(1.0)), (FRAME.bottom(), FRAME.top));
    let mut s = open_svg("throughput");
    s.push_str(&shade(windows, &x));
    s.push_str(&FRAME.axes(&x, &y, "time (s)", "completions per second"));
    for (class, series) in [("info", &t.info), ("fail", &t.fail), ("ok", &t.ok)] {
        if series.iter().all(|&v| v == 0.0) && class != "ok" {
            continue;
        }
        let _ = write!(
            s,
            r#"<polyline class="line {class}" points="{}"/>"#,
            bucket_points(series, t.bucket_secs, &x, &y)
        );
    }
    s.push_str(&legend(&[("ok", "ok"), ("fail", "fail"), ("info", "info")]));
    s.push_str("</svg>");
    s
}

/// Replication lag per replica (positions behind the primary).
pub fn lag_plot(lag: &LagSeries, span: f64, windows: &[FaultWindow]) -> String {
    let peak = lag
        .values()
        .flatten()
        .map(|&(_, l)| l)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let x = time_scale(span);
    let y = Scale::linear((0.0, peak * 1.1), (FRAME.bottom(), FRAME.top));
    let mut s = open_svg("replication lag");
    s.push_str(&shade(windows, &x));
    s.push_str(&FRAME.axes(&x, &y, "time (s)", "positions behind the primary"));
    let mut keys = Vec::new();
    for (i, (node, points)) in lag.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let line: Vec<String> = points
            .iter()
            .map(|&(t, l)| format!("{},{}", num(x.at(t)), num(y.at(l as f64))))
            .collect();
        let _ = write!(
            s,
            r#"<polyline class="lag" stroke="{colour}" points="{}"/>"#,
            line.join(" ")
        );
        for &(t, l) in points {
            let _ = write!(
                s,
                r#"<circle cx="{}" cy="{}" r="2" fill="{colour}"><title>{}: {l} behind at {t:.1} s</title></circle>"#,
                num(x.at(t)),
                num(y.at(l as f64)),
                escape(node)
            );
        }
        keys.push((node.as_str(), colour));
    }
    s.push_str(&node_legend(&keys));
    s.push_str("</svg>");
    s
}

/// `ok` completions per second of each node that answered: when a node stops answering and its
/// clients move to the survivors (a cascade), its line falls as theirs rise.
pub fn node_throughput_plot(t: &Throughput, span: f64, windows: &[FaultWindow]) -> String {
    let peak = t.ok_by_node.values().flatten().copied().fold(0.0, f64::max);
    let x = time_scale(span);
    let y = Scale::linear((0.0, (peak * 1.1).max(1.0)), (FRAME.bottom(), FRAME.top));
    let mut s = open_svg("throughput per node");
    s.push_str(&shade(windows, &x));
    s.push_str(&FRAME.axes(&x, &y, "time (s)", "ok per second, by node"));
    let mut keys = Vec::new();
    for (i, (node, series)) in t.ok_by_node.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let _ = write!(
            s,
            r#"<polyline class="lag" stroke="{colour}" points="{}"><title>{}</title></polyline>"#,
            bucket_points(series, t.bucket_secs, &x, &y),
            escape(node)
        );
        keys.push((node.as_str(), colour));
    }
    s.push_str(&node_legend(&keys));
    s.push_str("</svg>");
    s
}

/// A polyline's points for per-bucket rates, each at its bucket's middle.
fn bucket_points(series: &[f64], bucket_secs: f64, x: &Scale, y: &Scale) -> String {
    let points: Vec<String> = series
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let mid = (i as f64 + 0.5) * bucket_secs;
            format!("{},{}", num(x.at(mid)), num(y.at(v)))
        })
        .collect();
    points.join(" ")
}

/// A key of nodes and their line colours down the top right corner.
fn node_legend(keys: &[(&str, &str)]) -> String {
    let mut s = String::new();
    for (i, (node, colour)) in keys.iter().enumerate() {
        let y = FRAME.top + 10.0 + i as f64 * 14.0;
        let _ = write!(
            s,
            r#"<rect x="{}" y="{}" width="10" height="3" fill="{colour}"/><text class="legend" x="{}" y="{}">{}</text>"#,
            num(FRAME.right() - 60.0),
            num(y - 4.0),
            num(FRAME.right() - 46.0),
            num(y),
            escape(node)
        );
    }
    s
}

fn time_scale(span: f64) -> Scale {
    Scale::linear((0.0, span.max(0.001)), (FRAME.left, FRAME.right()))
}

fn open_svg(label: &str) -> String {
    format!(
        r#"<svg class="plot" viewBox="0 0 {} {}" role="img" aria-label="{}">"#,
        num(WIDTH),
        num(HEIGHT),
        escape(label)
    )
}

/// The fault windows as shaded bands across the drawing area.
fn shade(windows: &[FaultWindow], x: &Scale) -> String {
    let mut s = String::new();
    for w in windows {
        let x0 = x.at(w.start as f64 / 1e9);
        let x1 = if w.healed() {
            x.at(w.end as f64 / 1e9)
        } else {
            FRAME.right()
        };
        let _ = write!(
            s,
            r#"<rect class="fault" x="{}" y="{}" width="{}" height="{}"><title>{}</title></rect>"#,
            num(x0),
            num(FRAME.top),
            num((x1 - x0).max(1.0)),
            num(FRAME.height),
            escape(&w.label)
        );
    }
    s
}

/// A key of classes and names in the top right corner.
fn legend(entries: &[(&str, &str)]) -> String {
    let mut s = String::new();
    for (i, (class, name)) in entries.iter().enumerate() {
        let x = FRAME.right() - 150.0 + i as f64 * 50.0;
        let _ = write!(
            s,
            r#"<circle class="pt {class}" cx="{}" cy="{}" r="3.5"/><text class="legend" x="{}" y="{}">{}</text>"#,
            num(x),
            num(FRAME.top + 10.0),
            num(x + 6.0),
            num(FRAME.top + 14.0),
            escape(name)
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use checker::{Event, EventType, Process};
    use serde_json::json;

    #[test]
    fn one_latency_plot_per_kind_with_a_point_per_completion() {
        let ev = |index, time, p, kind, f: &str| Event {
            index,
            time,
            process: Process::Client(p),
            kind,
            f: f.into(),
            key: None,
            value: json!(1),
            error: None,
            node: None,
        };
        let events = vec![
            ev(0, 0, 0, EventType::Invoke, "read"),
            ev(1, 1, 1, EventType::Invoke, "write"),
            ev(2, 2_000_000, 0, EventType::Ok, "read"),
            ev(3, 3_000_000, 1, EventType::Fail, "write"),
            ev(4, 4_000_000, 2, EventType::Invoke, "write"),
        ];
        let ops = checker::pair(&events).unwrap();
        let plots = latency_plots(&ops.iter().collect::<Vec<_>>(), 0.005, &[]);
        let kinds: Vec<&str> = plots.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(kinds, ["read", "write"]);
        // The write never completed: only the failed one is a point (legend dots aside).
        assert_eq!(plots[1].1.matches(r#"class="pt fail" cx"#).count(), 2);
        assert_eq!(plots[0].1.matches(r#"r="1.8""#).count(), 1);
    }

    #[test]
    fn lag_plot_draws_each_replica() {
        let mut lag = LagSeries::new();
        lag.insert("n2".into(), vec![(0.5, 3), (1.0, 0)]);
        lag.insert("n3".into(), vec![(0.5, 7)]);
        let svg = lag_plot(&lag, 1.0, &[]);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("<title>n3: 7 behind at 0.5 s</title>"));
    }
}
