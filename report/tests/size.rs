//! A long run's report stays small: 10,000 operations (with faults, failures, indeterminate
//! operations and replication samples) make a report.html under 5 MB that still draws every one.

use serde_json::json;
use std::fmt::Write;

/// Writes a run directory of `n` operations by 10 workers over 100 s.
fn generated_run(dir: &std::path::Path, n: u64) {
    let mut history = String::new();
    let mut index = 0;
    let mut line = |time: u64,
                    process: Value,
                    kind: &str,
                    f: &str,
                    key: Option<u64>,
                    value: Value| {
        let mut e = json!({"index": index, "time": time, "process": process, "type": kind, "f": f, "value": value});
        if let Some(k) = key {
            e["key"] = json!(format!("k{k}"));
        }
        index += 1;
        writeln!(history, "{e}").unwrap();
    };
    use serde_json::Value;
    let workers = 10;
    let mut process: Vec<u64> = (0..workers).collect();
    let step = 100_000_000_000 / n * workers; // each worker's operations, back to back
    for i in 0..n {
        let w = i % workers;
        let start = (i / workers) * step + w * 1_000_000;
        let latency = 200_000 + (i * 7919 % 50) * 100_000;
        if i % 2_000 == 0 {
            line(
                start,
                json!("nemesis"),
                "info",
                "pause",
                None,
                json!({"fault": "pause", "nodes": ["n2"]}),
            );
        }
        if i % 2_000 == 1_000 {
            line(
                start,
                json!("nemesis"),
                "info",
                "resume",
                None,
                json!({"fault": "pause", "nodes": ["n2"]}),
            );
        }
        let (f, value) = match i % 3 {
            0 => ("read", Value::Null),
            1 => ("write", json!(i)),
            _ => ("cas", json!([i - 1, i])),
        };
        let p = process[w as usize];
        let key = Some(i % 20);
        line(start, json!(p), "invoke", f, key, value.clone());
        let (kind, out) = match i % 17 {
            0 => ("info", value),
            1 | 2 => ("fail", value),
            _ if f == "read" => ("ok", json!(i / 2)),
            _ => ("ok", value),
        };
        line(start + latency, json!(p), kind, f, key, out);
        if kind == "info" {
            process[w as usize] += workers;
        }
    }
    std::fs::write(dir.join("history.jsonl"), history).unwrap();
    let mut samples = String::new();
    for round in 0..200 {
        let t = round as f64 * 0.5;
        writeln!(
            samples,
            "{}",
            json!({"time": t, "node": "n1", "role": "primary", "position": round * 100})
        )
        .unwrap();
        writeln!(
            samples,
            "{}",
            json!({"time": t, "node": "n2", "role": "replica", "position": round * 100 - round % 7})
        )
        .unwrap();
    }
    std::fs::write(dir.join("replication.jsonl"), samples).unwrap();
    let results = json!({
        "test": "generated", "verdict": "valid", "exit_code": 0, "ended": "completed", "seed": 7,
        "options": {"workload": "register", "concurrency": workers},
        "duration_secs": 100.0, "faults": {"applied": {"pause": 5}},
        "adequacy": {"shortfalls": [], "accepted": false, "fault_windows": 5, "operations_during_faults": 5000},
        "check": {"validity": "valid", "keys": [], "counts": {"ok": 0, "fail": 0, "info": 0}},
    });
    std::fs::write(dir.join("results.json"), results.to_string()).unwrap();
}

#[test]
fn ten_thousand_operations_make_a_report_under_five_megabytes() {
    let dir = tempfile::tempdir().unwrap();
    generated_run(dir.path(), 10_000);
    let path = report::rebuild_report(dir.path()).unwrap();
    let html = std::fs::read_to_string(&path).unwrap();
    let size = html.len();
    eprintln!("report.html of 10,000 operations: {size} bytes");
    assert!(size < 5 * 1024 * 1024, "{size} bytes");
    assert_eq!(
        html.matches(r#"<rect class="op "#).count(),
        10_000,
        "a bar per operation"
    );
    // 5 windows, each on the timeline and on 5 plots (latency of read, write, cas; throughput; lag).
    assert_eq!(html.matches(r#"<rect class="fault""#).count(), 5 * 6);
    assert!(html.contains(r#"<figure data-plot="lag">"#));
    // Self-contained: nothing linked or sourced; the only URL is the SVG namespace the script names.
    assert!(!html.contains("<link") && !html.contains(" src="));
    let urls = html.matches("http").count();
    assert_eq!(
        urls,
        html.matches("http://www.w3.org/2000/svg").count(),
        "no URL but SVG's namespace"
    );
}

/// Past what a page can draw, the report draws a share and says so; its figures count everything.
#[test]
fn two_hundred_thousand_operations_are_drawn_in_part_and_the_page_says_so() {
    let dir = tempfile::tempdir().unwrap();
    generated_run(dir.path(), 200_000);
    let began = std::time::Instant::now();
    let path = report::rebuild_report(dir.path()).unwrap();
    let html = std::fs::read_to_string(&path).unwrap();
    eprintln!(
        "report.html of 200,000 operations: {} bytes in {:?}",
        html.len(),
        began.elapsed()
    );
    assert!(html.len() < 10 * 1024 * 1024, "{} bytes", html.len());
    assert_eq!(html.matches(r#"<rect class="op "#).count(), 20_000);
    assert!(
        html.contains("20000 of 200000 operations drawn"),
        "the page says what it left out"
    );
    // Failed and indeterminate operations come first: here there are more of them (3 in 17)
    // than the page draws, so they are all it draws.
    let not_ok = html.matches(r#"<rect class="op fail"#).count()
        + html.matches(r#"<rect class="op info"#).count();
    assert_eq!(not_ok, 20_000);
}
