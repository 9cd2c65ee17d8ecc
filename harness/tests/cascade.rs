//! A cascade (`--cascade`): when a node is paused, the clients homed on it move to the
//! survivors, whose answers carry the load; without it they wait on their own node. Asserted
//! from what each run recorded — which node answered each completion and when the nemesis
//! paused which node — never from the schedule.

mod common;

use common::*;
use serde_json::Value;

/// Clients in these runs; worker `w` is homed on node `w % NODES`.
const CONCURRENCY: u64 = 6;
/// Nodes in these runs.
const NODES: u64 = 3;

/// A quorum register run through the proxy with pauses, plus `extra`.
fn quorum_run(case: &Case, extra: &[&str]) -> (Option<i32>, Value, std::path::PathBuf) {
    let mut args = vec![
        "test",
        "--target",
        "own",
        "--mode",
        "quorum",
        "--workload",
        "register",
        "--mix",
        "read=1,write=1",
        "--net",
        "proxy",
        "--nodes",
        "3",
        "--concurrency",
        "6",
        "--nemesis",
        "pause",
        "--nemesis-interval",
        "2s",
        "--time-limit",
        "8s",
        "--seed",
        "5",
        "--json",
    ];
    args.extend(extra);
    let out = case.run(&args);
    let run = case.latest();
    assert_all_gone(&node_pids(&run));
    (out.status.code(), case.results(), run)
}

/// The node a client's process is homed on (processes advance by the concurrency after an
/// indeterminate completion, so the worker is the process modulo the concurrency).
fn home(process: u64) -> String {
    format!("n{}", (process % CONCURRENCY) % NODES + 1)
}

/// The windows (start, end in ns) in which one node alone was paused, with that node.
fn single_pauses(history: &[Value]) -> Vec<(u64, u64, String)> {
    let mut windows = Vec::new();
    let mut open: Option<(u64, String)> = None;
    for e in history.iter().filter(|e| e["process"] == "nemesis") {
        let nodes: Vec<&str> = e["value"]["nodes"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let time = e["time"].as_u64().unwrap();
        match e["f"].as_str() {
            Some("pause") if nodes.len() == 1 => open = Some((time, nodes[0].to_string())),
            Some("resume") => {
                if let Some((start, node)) = open.take() {
                    windows.push((start, time, node));
                }
            }
            _ => {}
        }
    }
    windows
}

/// An `ok` operation: invoked and completed (ns), its process's home node, the node that answered.
type Answer = (u64, u64, String, String);

/// Every `ok` operation of the clients.
fn answers(history: &[Value]) -> Vec<Answer> {
    let mut invoked = std::collections::HashMap::new();
    let mut out = Vec::new();
    for e in history.iter().filter(|e| e["process"].is_u64()) {
        let (process, time) = (e["process"].as_u64().unwrap(), e["time"].as_u64().unwrap());
        if e["type"] == "invoke" {
            invoked.insert(process, time);
        } else if let (true, Some(node), Some(&at)) =
            (e["type"] == "ok", e["node"].as_str(), invoked.get(&process))
        {
            out.push((at, time, home(process), node.to_string()));
        }
    }
    out
}

#[test]
fn a_paused_nodes_clients_move_to_the_survivors_and_only_with_cascade() {
    let case = Case::new();
    let (code, results, run) = quorum_run(&case, &["--cascade"]);
    assert_eq!(code, Some(0), "valid, exit 0: {results:#}");
    assert_eq!(
        results["options"]["cascade"], true,
        "{:#}",
        results["options"]
    );
    let history = history_lines(&run);
    let windows = single_pauses(&history);
    assert!(
        !windows.is_empty(),
        "the run paused a single node: {results:#}"
    );
    let answered = answers(&history);
    // Operations invoked after a pause began and completed before it ended cannot have been
    // answered by the paused node; those of its clients went to the survivors. Only pauses long
    // enough for a client to time out (1 s) and move are asked to show a move.
    let mut long = 0;
    for (start, end, paused) in &windows {
        let within: Vec<&Answer> = answered
            .iter()
            .filter(|(from, to, _, _)| from > start && to < end)
            .collect();
        assert!(
            within.iter().all(|(_, _, _, by)| by != paused),
            "{paused} answered nothing while paused: {within:?}"
        );
        if end - start < 1_500_000_000 {
            continue;
        }
        long += 1;
        assert!(
            within
                .iter()
                .any(|(_, _, home, by)| home == paused && by != paused),
            "clients homed on {paused} were answered by the survivors while it was paused \
             ({start}..{end} ns): {within:?}"
        );
    }
    assert!(
        long > 0,
        "a single node was paused for 1.5 s or more: {windows:?}"
    );
    // The report shows it: ok completions per second by the node that answered them.
    let by_node = &results["figures"]["throughput"]["ok_by_node"];
    for n in ["n1", "n2", "n3"] {
        assert!(by_node[n].is_array(), "{n} in ok_by_node: {by_node:#}");
    }
    let page = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(page.contains(r#"data-plot="throughput-per-node""#));

    // Without --cascade, every client stays on its own node.
    let case = Case::new();
    let (code, results, run) = quorum_run(&case, &[]);
    assert_eq!(code, Some(0), "valid, exit 0: {results:#}");
    let history = history_lines(&run);
    assert!(!single_pauses(&history).is_empty(), "{results:#}");
    let away: Vec<_> = answers(&history)
        .into_iter()
        .filter(|(_, _, home, by)| home != by)
        .collect();
    assert!(away.is_empty(), "no client left its node: {away:?}");
}

#[test]
fn systems_whose_clients_cannot_move_refuse_cascade() {
    let case = Case::new();
    for target in [
        &["--target", "etcd"][..],
        &["--target", "own", "--mode", "async"],
    ] {
        let out = case.run(&words(&[&["test"], target, &["--cascade"]]));
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("--cascade:") && stderr(&out).contains("--mode quorum or gossip"),
            "{}",
            stderr(&out)
        );
    }
}
