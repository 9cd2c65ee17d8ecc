//! `faultline report` and the reports `test` and `check` leave: rebuilt from a run's files, for a
//! run that never wrote results.json (marked incomplete), for a whole store with its index, and
//! rewritten by `faultline check`.

mod common;

use common::{stderr, stdout, Case};

#[test]
fn reports_are_rebuilt_from_the_files_of_runs_and_stores() {
    let case = Case::new();
    let out = case.run(&[
        "test",
        "--net",
        "loopback",
        "--nemesis",
        "none",
        "--time-limit",
        "1s",
        "--seed",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(0), "a valid run");
    let run = case.latest();
    let report = run.join("report.html");
    assert!(stderr(&out).contains(&format!("report: {}", report.display())));
    let first = std::fs::read_to_string(&report).unwrap();
    assert!(first.contains(r#"<header class="verdict valid""#));

    // Rebuilt from the files: the same page.
    std::fs::remove_file(&report).unwrap();
    let out = case.run(&["report", run.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out).trim(), report.display().to_string());
    assert_eq!(std::fs::read_to_string(&report).unwrap(), first);

    // `check` rewrites it with the verdict it reached.
    std::fs::write(&report, "stale").unwrap();
    let out = case.run(&["check", run.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("report rewritten"));
    assert!(std::fs::read_to_string(&report)
        .unwrap()
        .contains(r#"<span class="badge valid">valid</span>"#));

    // A run killed before it concluded has no results.json: its report says it is incomplete.
    std::fs::remove_file(run.join("results.json")).unwrap();
    let store = case.store.path().to_str().unwrap();
    let out = case.run(&["report", store]);
    assert_eq!(out.status.code(), Some(0));
    let page = std::fs::read_to_string(&report).unwrap();
    assert!(page.contains(
        r#"<div class="incomplete" id="incomplete">incomplete: the run left no results.json"#
    ));
    let index = std::fs::read_to_string(case.store.path().join("index.html")).unwrap();
    assert!(
        index.contains("1 run in") && index.contains("incomplete: the run left no results.json")
    );

    // Neither a run nor a store.
    let empty = tempfile::tempdir().unwrap();
    let out = case.run(&["report", empty.path().to_str().unwrap(), "/nonexistent/run"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("no run directories (<test>/<timestamp>/history.jsonl) under it"),
        "{err}"
    );
    assert!(
        err.contains("/nonexistent/run: neither a run directory"),
        "{err}"
    );
}
