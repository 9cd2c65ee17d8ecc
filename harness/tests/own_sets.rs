//! The set workload on faultline's own nodes: adds go to the primary (SADD), reads and every
//! node's final read are SMEMBERS; before the final reads each replica catches up with the
//! primary's write number. Every acknowledged add must be in every node's final read.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeSet;

/// Processes at and above this number are the final reads, one per node.
const FINAL_READER: u64 = 1_000_000;

/// Runs the set workload on own nodes with `extra` options: its exit code and results.json.
fn set_run(case: &Case, extra: &[&str]) -> (Option<i32>, Value) {
    let mut args = vec!["test", "--target", "own", "--workload", "set"];
    args.extend_from_slice(extra);
    let out = case.run(&args);
    (out.status.code(), case.results())
}

/// The elements whose adds the run recorded as acknowledged (`ok`).
fn acknowledged_adds(run: &std::path::Path) -> BTreeSet<i64> {
    history_lines(run)
        .iter()
        .filter(|e| e["type"] == "ok" && e["f"] == "add")
        .filter_map(|e| e["value"].as_i64())
        .collect()
}

/// Each node's final read as the run recorded it: process number and the elements it read.
fn final_reads(run: &std::path::Path) -> Vec<(u64, BTreeSet<i64>)> {
    history_lines(run)
        .iter()
        .filter(|e| e["type"] == "ok" && e["f"] == "read")
        .filter_map(|e| {
            let process = e["process"].as_u64().filter(|&p| p >= FINAL_READER)?;
            let read = e["value"].as_array()?.iter().filter_map(Value::as_i64);
            Some((process, read.collect()))
        })
        .collect()
}

/// Asserts the run's verdict is set-full's valid, nothing lost, and that each of the three nodes'
/// final reads, as the history holds them, contains every acknowledged add.
fn assert_every_node_kept_every_add(case: &Case, results: &Value) {
    let weak = &results["check"]["weak"];
    assert_eq!(weak["checker"], "set-full", "{results:#}");
    assert_eq!(weak["lost"]["count"], 0, "{weak:#}");
    let run = case.latest();
    let acked = acknowledged_adds(&run);
    assert!(acked.len() > 50, "a 4 s run acknowledges adds: {acked:?}");
    let finals = final_reads(&run);
    assert_eq!(finals.len(), 3, "one final read per node: {finals:?}");
    for (process, read) in &finals {
        let missing: Vec<_> = acked.difference(read).collect();
        assert!(missing.is_empty(), "process {process} lacks {missing:?}");
    }
    // Every replica reached the primary's write number before its read was taken as final.
    let catch_up = &results["catch_up"];
    assert_eq!(catch_up["unit"], "writes", "{catch_up:#}");
    let nodes = catch_up["nodes"].as_object().unwrap();
    assert_eq!(nodes.len(), 3, "{catch_up:#}");
    for (node, state) in nodes {
        assert_eq!(state["state"], "caught-up", "{node}: {catch_up:#}");
    }
    assert_run_dir_complete(case, "valid");
}

#[test]
fn own_nodes_keep_every_acknowledged_add_under_pauses() {
    let mut seen = Vec::new();
    for seed in ["3", "4", "5"] {
        let case = Case::new();
        let (code, results) = set_run(
            &case,
            &["--nemesis", "pause", "--time-limit", "4s", "--seed", seed],
        );
        // Judged by what the run recorded: a run in which no pause was applied (a loaded machine
        // can hold the nemesis back until the end) is inconclusive, and the next seed is tried.
        let pauses = results["faults"]["applied"]["pause"].as_u64().unwrap_or(0);
        if pauses == 0 {
            assert_eq!(code, Some(3), "no pause is inconclusive: {results:#}");
            seen.push(format!("seed {seed}: no pause applied"));
            continue;
        }
        assert_eq!(code, Some(0), "valid exits 0: {results:#}");
        assert_every_node_kept_every_add(&case, &results);
        return;
    }
    panic!("no run of three applied a pause: {seen:?}");
}

#[test]
fn lagging_replicas_catch_up_before_their_final_reads() {
    let case = Case::new();
    // Replicas hold every write back 300 ms, so when the clients stop they are behind; their
    // final reads count only once they have caught up, and then hold every add.
    let (code, results) = set_run(
        &case,
        &[
            "--nemesis",
            "none",
            "--replication-delay",
            "300ms",
            "--time-limit",
            "3s",
            "--seed",
            "8",
        ],
    );
    assert_eq!(code, Some(0), "valid exits 0: {results:#}");
    assert_every_node_kept_every_add(&case, &results);
}
