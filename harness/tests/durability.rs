//! Own nodes with a log on disk: a node killed with SIGKILL and restarted comes back with every
//! write it acknowledged when the log is fsynced before each acknowledgement, and without them
//! when writes wait in the node's buffer — which the checker catches.

mod common;

use common::*;
use serde_json::Value;

/// One node under kills (a kill and a restart a second apart), registers on one key: its exit
/// code and results once a kill was applied. A run in which none was (a loaded machine can keep
/// the node from looking healthy when the kill is due) must say it is inconclusive, and gives
/// `None`.
fn killed_run(case: &Case, persistence: &str, seed: &str) -> Option<(Option<i32>, Value)> {
    let out = case.run(&[
        "test",
        "--nodes",
        "1",
        "--nemesis",
        "kill",
        "--nemesis-interval",
        "1s",
        "--time-limit",
        "4s",
        "--keys",
        "1",
        "--persistence",
        persistence,
        "--seed",
        seed,
    ]);
    let results = case.results();
    assert_all_gone(&node_pids(&case.latest()));
    if results["faults"]["applied"]["kill"].as_u64() > Some(0) {
        return Some((out.status.code(), results));
    }
    assert_eq!(
        out.status.code(),
        Some(3),
        "no kill is inconclusive: {results:#}"
    );
    assert_eq!(results["verdict"], "unknown", "{results:#}");
    None
}

#[test]
fn fsync_always_keeps_every_acknowledged_write_across_kills() {
    for seed in ["4", "5", "6"] {
        let case = Case::new();
        let Some((code, results)) = killed_run(&case, "aof-always", seed) else {
            continue;
        };
        assert_eq!(code, Some(0), "valid exits 0: {results:#}");
        assert_n1_logged(&case.latest());
        return;
    }
    panic!("no run of three applied a kill");
}

/// Whether the run saw a read return nothing after some write had been acknowledged: data the
/// node had confirmed, gone.
fn saw_a_write_vanish(run: &std::path::Path) -> bool {
    let mut acknowledged = false;
    for e in history_lines(run) {
        if e["type"] != "ok" {
            continue;
        }
        match e["f"].as_str() {
            Some("write") => acknowledged = true,
            Some("cas") => acknowledged = true,
            Some("read") if acknowledged && e["value"].is_null() => return true,
            _ => {}
        }
    }
    false
}

#[test]
fn fsync_never_loses_acknowledged_writes_to_a_kill_and_the_checker_says_so() {
    let mut seen = Vec::new();
    for seed in ["4", "5", "6"] {
        let case = Case::new();
        let Some((code, results)) = killed_run(&case, "aof-no", seed) else {
            seen.push(format!("seed {seed}: no kill applied"));
            continue;
        };
        // What the run recorded decides what it must show: once a read found nothing where an
        // acknowledged write had been, the history cannot be linearizable.
        if saw_a_write_vanish(&case.latest()) {
            assert_eq!(code, Some(1), "invalid exits 1: {results:#}");
            assert_eq!(results["verdict"], "invalid");
            return;
        }
        seen.push(format!("seed {seed}: verdict {}", results["verdict"]));
    }
    panic!("no run read after a kill before writing again: {seen:?}");
}
