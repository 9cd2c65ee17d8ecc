//! Keys checked while the run goes (`--ops-per-key`): the run's report is the one `faultline
//! check` gives on its history, and `--stop-on-anomaly` ends the workload at the first invalid
//! key.

mod common;

use common::*;
use serde_json::Value;

/// Each key's verdict and size, and the counts: what must not depend on when a key was checked.
fn verdicts(check: &Value) -> (Vec<(Value, Value, Value)>, Value, Value) {
    let keys = check["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("a report with keys: {check:#}"))
        .iter()
        .map(|k| {
            (
                k["key"].clone(),
                k["validity"].clone(),
                k["operations"].clone(),
            )
        })
        .collect();
    (keys, check["validity"].clone(), check["counts"].clone())
}

#[test]
fn keys_checked_while_the_run_goes_give_the_report_check_gives() {
    let case = Case::new();
    let out = case.run(&[
        "test",
        "--net",
        "loopback",
        "--ops-per-key",
        "10",
        "--time-limit",
        "4s",
        "--nemesis-interval",
        "500ms",
        "--seed",
        "5",
    ]);
    let results = case.results();
    assert_eq!(out.status.code(), Some(0), "valid exits 0: {results:#}");
    let checking = &results["checking"];
    let during = checking["keys_during_run"].as_u64().unwrap();
    let at_end = checking["keys_at_end"].as_u64().unwrap();
    let keys = results["check"]["keys"].as_array().unwrap().len() as u64;
    assert_eq!(during + at_end, keys, "{checking}");
    assert!(
        during > 0,
        "retired keys are checked during the run: {checking}"
    );
    assert!(
        stderr(&out).contains(&format!("checked {during} keys while the run went")),
        "{}",
        stderr(&out)
    );

    let run = case.latest();
    let again = case.run(&["check", "--json", run.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(verdicts(&again[0]["report"]), verdicts(&results["check"]));
}

#[test]
fn stop_on_anomaly_ends_the_workload_at_the_first_invalid_key() {
    let case = Case::new();
    // Replicas 300 ms behind, read from: a read soon after a write to a fresh key finds nothing.
    let out = case.run(&words(&[
        &["test", "--net", "loopback", "--ops-per-key", "10"],
        &["--time-limit", "60s", "--stop-on-anomaly", "--seed", "3"],
        &LAGGING_REPLICA_READS,
    ]));
    let results = case.results();
    assert_eq!(out.status.code(), Some(1), "invalid exits 1: {results:#}");
    assert_eq!(results["verdict"], "invalid");
    let reason = results["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("(--stop-on-anomaly)"), "{results:#}");
    // What the run recorded: a key found invalid while it went, and the workload over before
    // its time limit.
    assert!(results["checking"]["keys_during_run"].as_u64() > Some(0));
    assert!(
        results["duration_secs"].as_f64().unwrap() < 60.0,
        "{results:#}"
    );
    assert!(invalid_keys(&results) > 0, "{results:#}");
    assert_all_gone(&node_pids(&case.latest()));

    let alone = case.run(&["test", "--stop-on-anomaly"]);
    assert_eq!(alone.status.code(), Some(2));
    assert!(
        stderr(&alone).contains("--stop-on-anomaly: needs --ops-per-key"),
        "{}",
        stderr(&alone)
    );
}
