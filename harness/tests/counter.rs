//! The counter workload end to end: adds and reads on one counter, a final read on every node.
//! Own nodes read from the primary promise linearizability, so the linearizable counter model
//! judges them (valid under pauses); Redis, and own nodes read from lagging replicas, are judged
//! by Jepsen's counter-bounds checker (valid, and invalid below the bounds — the same history is
//! not linearizable as a counter either).

mod common;

use common::*;
use serde_json::Value;

/// Runs the counter workload with `extra` options and returns its exit code and results.json.
fn counter_run(case: &Case, extra: &[&str]) -> (Option<i32>, Value) {
    let mut args = vec!["test", "--workload", "counter", "--time-limit", "3s"];
    args.extend_from_slice(extra);
    let out = case.run(&args);
    (out.status.code(), case.results())
}

/// How many nodes' final reads (processes numbered from 1,000,000) the run recorded as ok.
fn node_final_reads(case: &Case) -> usize {
    history_lines(&case.latest())
        .iter()
        .filter(|e| {
            e["type"] == "ok" && e["process"].as_u64() >= Some(results::FINAL_READ_PROCESSES)
        })
        .count()
}

/// The counter-bounds report, with the final reads every node made.
fn bounds(results: &Value) -> &Value {
    let weak = &results["check"]["weak"];
    assert_eq!(weak["checker"], "counter-bounds", "{results:#}");
    weak
}

#[test]
fn own_nodes_read_from_the_primary_are_a_linearizable_counter_under_pauses() {
    let case = Case::new();
    let (code, results) = counter_run(&case, &["--nemesis-interval", "700ms", "--seed", "5"]);
    assert_eq!(code, Some(0), "valid exits 0: {results:#}");
    assert_eq!(results["options"]["checker"], "counter", "{results:#}");
    let keys = results["check"]["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{results:#}");
    assert_eq!(keys[0]["validity"], "valid");
    // The final reads, one per node, are among what the model judged.
    assert_eq!(node_final_reads(&case), 3);
    assert_run_dir_complete(&case, "valid");
}

#[test]
fn reads_from_lagging_replicas_fall_below_their_bounds() {
    let case = Case::new();
    let (code, results) = counter_run(&case, &words(&[&LAGGING_REPLICA_READS, &["--seed", "3"]]));
    assert_eq!(code, Some(1), "invalid exits 1: {results:#}");
    assert_eq!(
        results["options"]["checker"], "counter-bounds",
        "replica reads promise less"
    );
    let weak = bounds(&results);
    let violations = weak["violations"].as_array().unwrap();
    assert!(!violations.is_empty(), "{weak:#}");
    for v in violations {
        // Below: a replica that had not yet applied adds acknowledged before the read began.
        assert!(v["value"].as_i64() < v["lower"].as_i64(), "{v}");
    }
    // The stronger question of the same history: not linearizable as a counter either.
    let history = case.latest().join("history.jsonl");
    let check = case.run(&["check", "--model", "counter", history.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(1), "{}", stdout(&check));
}

#[test]
fn redis_counters_under_pauses_stay_within_bounds() {
    if !cluster::capability::redis_for_test() {
        return;
    }
    let case = Case::new();
    let (code, results) = counter_run(
        &case,
        &[
            "--target",
            "redis",
            "--nemesis-interval",
            "700ms",
            "--seed",
            "6",
        ],
    );
    assert_eq!(code, Some(0), "valid exits 0: {results:#}");
    // Every node's final read; a worker's read that began after the last add ended counts as
    // final too, so the checker may count more.
    assert_eq!(node_final_reads(&case), 3);
    assert!(
        bounds(&results)["final_reads"].as_u64() >= Some(3),
        "{results:#}"
    );
    let log = std::fs::read_to_string(case.latest().join("history.jsonl")).unwrap();
    assert!(log.contains("\"faultline-counter\""), "one counter key");
}
