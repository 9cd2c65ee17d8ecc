//! The files a run leaves for machines: `history.csv` (one row per completed operation) and
//! `junit.xml` (a case per key, failures carrying the checker's words), and `faultline check
//! RUN_DIR` rewriting both from the history.

mod common;

use common::*;

#[test]
fn an_invalid_run_leaves_its_csv_and_junit_and_check_rewrites_them() {
    let case = Case::new();
    // Stale replica reads (as in cli.rs): invalid, with the stale reads named.
    let out = case.run(&words(&[
        &["test", "--net", "loopback", "--keys", "1"],
        &["--time-limit", "3s", "--seed", "3"],
        &LAGGING_REPLICA_READS,
    ]));
    assert_eq!(out.status.code(), Some(1), "invalid exits 1");
    let run = case.latest();
    let results = case.results();

    let rows = csv_rows(&run);
    assert_eq!(
        rows[0],
        [
            "process",
            "f",
            "key",
            "value",
            "invoke_ns",
            "complete_ns",
            "latency_ns",
            "type",
            "error"
        ]
    );
    assert_eq!(
        rows.len() - 1,
        completed_operations(&run),
        "a row per completed operation"
    );
    let counts = &results["check"]["counts"];
    let by_type = |t: &str| rows[1..].iter().filter(|r| r[7] == t).count() as u64;
    assert_eq!(by_type("ok"), counts["ok"].as_u64().unwrap());
    assert_eq!(by_type("fail"), counts["fail"].as_u64().unwrap());
    // Each row is one completion of the history: its process, time, type and error.
    let mut from_history: Vec<[String; 4]> = history_lines(&run)
        .iter()
        .filter(|e| e["process"] != "nemesis" && e["type"] != "invoke")
        .map(|e| {
            [
                e["process"].to_string(),
                e["time"].to_string(),
                e["type"].as_str().unwrap().to_string(),
                e["error"].as_str().unwrap_or_default().to_string(),
            ]
        })
        .collect();
    let mut from_csv: Vec<[String; 4]> = rows[1..]
        .iter()
        .map(|r| [r[0].clone(), r[5].clone(), r[7].clone(), r[8].clone()])
        .collect();
    from_history.sort();
    from_csv.sort();
    assert_eq!(from_csv, from_history);
    for row in &rows[1..] {
        let (invoke, complete, latency): (u64, u64, u64) = (
            row[4].parse().unwrap(),
            row[5].parse().unwrap(),
            row[6].parse().unwrap(),
        );
        assert_eq!(complete - invoke, latency, "{row:?}");
        assert_eq!(row[2], "k0", "the one key, bare");
    }

    let report = junit(&run.join("junit.xml"));
    assert_eq!(report.test_suites.len(), 1);
    let suite = &report.test_suites[0];
    assert_eq!(suite.name.as_str(), "own-register");
    let names: Vec<&str> = suite.test_cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["run", "key k0"]);
    assert_eq!(
        non_success(&suite.test_cases[0]),
        None,
        "the run itself completed"
    );
    let (kind, ty, message) = non_success(&suite.test_cases[1]).expect("the key failed");
    assert_eq!((kind, ty.as_str()), ("failure", "invalid"));
    assert_eq!(
        message,
        results["check"]["keys"][0]["anomaly"]["message"]
            .as_str()
            .unwrap(),
        "the failure's message is the checker's explanation"
    );

    // history.jsonl is the source of truth: check rewrites both files from it.
    let csv_before = std::fs::read(run.join("history.csv")).unwrap();
    let junit_before = std::fs::read_to_string(run.join("junit.xml")).unwrap();
    std::fs::write(run.join("history.csv"), "stale").unwrap();
    std::fs::remove_file(run.join("junit.xml")).unwrap();
    let run_arg = run.display().to_string();
    let out = case.run(&["check", &run_arg]);
    assert_eq!(out.status.code(), Some(1), "still invalid");
    assert_eq!(std::fs::read(run.join("history.csv")).unwrap(), csv_before);
    assert_eq!(
        std::fs::read_to_string(run.join("junit.xml")).unwrap(),
        junit_before
    );
}
