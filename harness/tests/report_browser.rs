//! report.html in a real browser: headless Chromium (Debian's `chromium`) opens the report of a
//! real valid run and of a real invalid run, and the test asserts what the page rendered after
//! its script ran — the verdict, the timeline, every plot, the witness for the invalid run, no
//! script or console error — and keeps a screenshot of each for a person to look at (the paths
//! are printed; they live under the target directory's tmp/report_browser/).

mod common;

use common::Case;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// What the browser gives back.
struct Rendered {
    /// The DOM after the page's scripts ran.
    dom: String,
    /// The browser's own log, console messages included.
    log: String,
}

/// Runs headless Chromium on `page` with `args`, in its own profile directory, within 90 s.
fn chromium(page: &Path, args: &[String]) -> Rendered {
    let profile = tempfile::tempdir().expect("a profile directory");
    let child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    // Output is read while the browser runs (a DOM bigger than a pipe's buffer would otherwise
    // block it); a browser that hangs is killed by its pid.
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(Duration::from_secs(90)) {
        Ok(out) => out.expect("chromium's output"),
        Err(_) => {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            panic!(
                "chromium did not finish with {} within 90 s",
                page.display()
            );
        }
    };
    Rendered {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        log: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Opens the report of `run`, asserts what every report must show, keeps a screenshot named
/// `name`, and returns the DOM for the caller's own assertions.
fn render_and_check(run: &Path, name: &str) -> String {
    let page = run.join("report.html");
    let size = std::fs::metadata(&page)
        .expect("the run wrote report.html")
        .len();
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap();
    let verdict = results["verdict"].as_str().unwrap();

    let rendered = chromium(&page, &["--dump-dom".to_string()]);
    let dom = &rendered.dom;
    let console: Vec<&str> = rendered
        .log
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert!(
        dom.contains(r#"data-ready="1""#),
        "the page's script ran to its end"
    );
    // The page's onerror marks the root element with the error's message.
    let root = dom.split('>').nth(1).unwrap_or_default();
    assert_eq!(
        root, "\n<html lang=\"en\"",
        "no script error marked the page"
    );
    assert!(
        dom.contains(r#"<div id="script-errors" hidden=""></div>"#),
        "the error box stayed empty"
    );
    assert!(
        dom.contains(&format!(
            r#"<header class="verdict {verdict}" id="verdict"><span class="word">{}</span>"#,
            verdict.to_uppercase()
        )),
        "the verdict is at the top"
    );
    // The timeline: a lane per worker and a bar per operation; the script drew its ticks.
    let timeline = dom
        .split(r#"id="timeline" viewBox"#)
        .nth(1)
        .expect("the run's timeline");
    let operations = results["check"]["counts"]["ok"].as_u64().unwrap()
        + results["check"]["counts"]["fail"].as_u64().unwrap();
    let bars = timeline.matches(r#"<rect class="op "#).count() as u64;
    assert!(
        bars >= operations,
        "{bars} bars for {operations} ok and fail operations"
    );
    assert!(timeline.contains(">worker 0<"));
    assert!(
        timeline
            .split(r#"<g class="ticks">"#)
            .nth(1)
            .is_some_and(|t| t.contains("<text")),
        "the timeline's axis has ticks"
    );
    // Every plot the figures call for, each with something drawn in it.
    let mut plots: Vec<String> = results["figures"]["latency_ms"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| format!("latency-{k}"))
        .collect();
    plots.push("throughput".into());
    if results["figures"]["max_lag"]
        .as_object()
        .is_some_and(|m| !m.is_empty())
    {
        plots.push("lag".into());
    }
    for plot in &plots {
        let figure = dom
            .split(&format!(r#"<figure data-plot="{plot}">"#))
            .nth(1)
            .unwrap_or_else(|| panic!("no {plot} plot"))
            .split("</figure>")
            .next()
            .unwrap();
        assert!(
            figure.contains(r#"<circle class="pt"#) || figure.contains("<polyline"),
            "the {plot} plot draws data"
        );
    }
    // Faults applied show in the table and as shaded windows.
    let windows = results["adequacy"]["fault_windows"].as_u64().unwrap();
    assert!(windows > 0, "the run applied faults: {results:#}");
    assert!(timeline.matches(r#"<rect class="fault""#).count() as u64 >= windows);

    // Zoom: opened on a stretch of the run, the script narrows the timeline's view to it and
    // redraws the ticks for it.
    let span = results["duration_secs"].as_f64().unwrap();
    let (from, to) = (span * 0.25, span * 0.5);
    let zoomed = chromium(
        &PathBuf::from(format!("{}#t={from:.3}-{to:.3}", page.display())),
        &["--dump-dom".to_string()],
    )
    .dom;
    let view = zoomed
        .split(r#"id="timeline" viewBox"#)
        .nth(1)
        .and_then(|s| s.split(r#"<svg class="zoomable""#).nth(1))
        .and_then(|s| s.split(r#"viewBox=""#).nth(1))
        .and_then(|s| s.split('"').next())
        .expect("the zoomable view");
    let x: Vec<f64> = view.split(' ').map(|v| v.parse().unwrap()).collect();
    assert!(
        x[0] > 0.0 && x[2] < 1000.0 * 0.5,
        "the view narrowed to the stretch: {view}"
    );
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report_browser");
    std::fs::create_dir_all(&dir).unwrap();
    let shot = dir.join(format!("{name}.png"));
    let _ = std::fs::remove_file(&shot);
    chromium(
        &page,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1300,3200".into(),
            "--hide-scrollbars".into(),
        ],
    );
    let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "a real screenshot"
    );
    std::fs::copy(&page, dir.join(format!("{name}.html"))).unwrap();
    eprintln!(
        "{name} report ({size} bytes) rendered; screenshot: {}",
        shot.display()
    );
    rendered.dom
}

/// A test run of own nodes on loopback with pauses; returns its exit code and run directory.
fn own_run(case: &Case, seed: u64, extra: &[&str]) -> (Option<i32>, PathBuf) {
    let seed = seed.to_string();
    let mut args = vec![
        "test",
        "--target",
        "own",
        "--net",
        "loopback",
        "--nemesis",
        "pause",
        "--nemesis-interval",
        "1s",
        "--time-limit",
        "4s",
        "--seed",
        &seed,
    ];
    args.extend_from_slice(extra);
    let out = case.run(&args);
    (out.status.code(), case.latest())
}

#[test]
fn a_valid_run_s_report_renders_its_verdict_timeline_and_plots() {
    if !cluster::capability::chromium_for_test() {
        return;
    }
    let case = Case::new();
    // Own nodes read from the primary under pauses: linearizable.
    let (code, run) = own_run(&case, 3, &[]);
    assert_eq!(code, Some(0), "a valid run");
    let dom = render_and_check(&run, "valid");
    assert!(
        !dom.contains(r#"id="incomplete""#),
        "a finished run is complete"
    );
    assert!(!dom.contains(r#"class="explain""#), "nothing to explain");
    // The store's index lists the run and links its report.
    let index = std::fs::read_to_string(case.store.path().join("index.html")).unwrap();
    let rel = run
        .strip_prefix(std::fs::canonicalize(case.store.path()).unwrap())
        .unwrap();
    assert!(index.contains(&format!(
        r#"<a href="{}/report.html">report</a>"#,
        rel.display()
    )));
    assert!(index.contains(r#"<span class="badge valid">valid</span>"#));
}

#[test]
fn an_invalid_run_s_report_shows_its_witness() {
    if !cluster::capability::chromium_for_test() {
        return;
    }
    let case = Case::new();
    // Replicas held 300 ms behind, reads from them: stale reads are likely, not certain. Judge
    // each run by what it recorded, and try a few seeds.
    let extra = [
        "--replication-delay",
        "300ms",
        "--read-from",
        "replica",
        "--keys",
        "1",
    ];
    let mut found = None;
    for seed in 1..=4 {
        let (code, run) = own_run(&case, seed, &extra);
        let results: Value =
            serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap())
                .unwrap();
        let has_witness = results["check"]["keys"]
            .as_array()
            .is_some_and(|keys| keys.iter().any(|k| k["anomaly"]["witness"].is_object()));
        if results["verdict"] == "invalid" && has_witness {
            assert_eq!(code, Some(1));
            found = Some(run);
            break;
        }
        eprintln!(
            "seed {seed}: verdict {}, no witness; next seed",
            results["verdict"]
        );
    }
    let run = found.expect("none of 4 runs reading stale replicas found an anomaly");
    let dom = render_and_check(&run, "invalid");
    assert!(dom.contains(r#"class="explain""#), "the key's explanation");
    assert!(dom.contains("Minimal witness"), "the witness is named");
    assert!(
        dom.matches(r#" witness" "#).count() >= 2,
        "the witness's operations are outlined on the timeline"
    );
    assert!(
        dom.contains(r#"<svg class="timeline" id="witness-"#),
        "the witness has its own timeline"
    );
    // Where the search named the longest linearizable prefix, the timeline marks its end.
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap();
    let named_prefix = results["check"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| {
            k["anomaly"]["unlinearizable"]
                .as_array()
                .is_some_and(|u| !u.is_empty())
        });
    assert_eq!(dom.contains(r#"<line class="prefix-end""#), named_prefix);
}
