//! The own node's `quorum` design (`--target own --mode quorum`): leaderless, every node takes
//! reads and writes and waits for read and write quorums. What a quorum buys and what it does
//! not, as the checker sees it: with majorities, reads and writes stay linearizable through
//! partitions and pauses, on 3 nodes and on 5; a compare-and-set (a quorum read, then a quorum
//! write) is not; and with `--read-quorum 1 --write-quorum 1` a read misses acknowledged writes.

mod common;

use common::*;

/// A register run of own quorum nodes through the fault proxy, without the seed.
const QUORUM: [&str; 16] = [
    "test",
    "--target",
    "own",
    "--mode",
    "quorum",
    "--workload",
    "register",
    "--net",
    "proxy",
    "--concurrency",
    "12",
    "--time-limit",
    "10s",
    "--nemesis-interval",
    "2s",
    "--json",
];

/// Seeds tried in turn until a run records the anomaly a test is about.
const SEEDS: [&str; 3] = ["31", "32", "33"];

/// Runs the quorum register with `extra` options on `net`; returns the exit code and results.json.
fn run(case: &Case, net: &str, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let mut args = QUORUM.to_vec();
    args[8] = net;
    args.extend(extra);
    let out = case.run(&args);
    let run = case.latest();
    assert_all_gone(&node_pids(&run));
    if net == "netns" {
        assert_network_gone(&run);
    }
    (out.status.code(), case.results())
}

/// Majorities keep plain reads and writes linearizable through partitions and pauses.
fn majorities_stay_linearizable(net: &str, nodes: &str) {
    let case = Case::new();
    let extra = [
        "--nodes",
        nodes,
        "--mix",
        "read=1,write=1",
        "--nemesis",
        "partition,pause",
        "--seed",
        "7",
    ];
    let (code, results) = run(&case, net, &extra);
    assert_eq!(code, Some(0), "valid, exit 0: {results:#}");
    assert_eq!(results["verdict"], "valid");
    let applied = &results["faults"]["applied"];
    assert!(
        applied["partition"].as_u64() > Some(0) && applied["pause"].as_u64() > Some(0),
        "both faults were applied: {results:#}"
    );
}

#[test]
fn majority_quorums_keep_reads_and_writes_linearizable_on_three_nodes_in_namespaces() {
    if !cluster::capability::netns_for_test() {
        return;
    }
    majorities_stay_linearizable("netns", "3");
}

#[test]
fn majority_quorums_keep_reads_and_writes_linearizable_on_five_nodes_through_the_proxy() {
    majorities_stay_linearizable("proxy", "5");
}

/// Runs `extra` with each seed until a run is invalid; panics with every miss otherwise.
fn some_seed_is_invalid(nodes: &str, extra: &[&str]) {
    let mut missed = Vec::new();
    for seed in SEEDS {
        let case = Case::new();
        let args = words(&[&["--nodes", nodes, "--seed", seed], extra]);
        let (code, results) = run(&case, "proxy", &args);
        if results["verdict"] == "invalid" {
            assert_eq!(code, Some(1), "an anomaly exits 1");
            assert!(invalid_keys(&results) >= 1, "{results:#}");
            return;
        }
        let why = "every key linearizable";
        missed.push(common::missed(seed, why, code, &results));
    }
    panic!("no run found the anomaly:\n{}", missed.join("\n"));
}

#[test]
fn compare_and_set_over_quorums_is_not_linearizable() {
    // The register's default mix swaps: two clients read the same value from their quorums
    // and both write their new one.
    for nodes in ["3", "5"] {
        some_seed_is_invalid(nodes, &["--nemesis", "partition,pause,kill"]);
    }
}

#[test]
fn a_sloppy_quorum_reads_stale_values_under_partitions() {
    let sloppy = [
        "--read-quorum",
        "1",
        "--write-quorum",
        "1",
        "--mix",
        "read=1,write=1",
        "--nemesis",
        "partition",
    ];
    for nodes in ["3", "5"] {
        some_seed_is_invalid(nodes, &sloppy);
    }
}

#[test]
fn options_of_another_design_are_refused_by_name() {
    let case = Case::new();
    let out = case.run(&["test", "--mode", "quorum", "--persistence", "aof-always"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--persistence: does not apply to --mode quorum"),
        "{}",
        stderr(&out)
    );
    let out = case.run(&["test", "--target", "etcd", "--mode", "quorum"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--mode quorum: applies to --target own only"),
        "{}",
        stderr(&out)
    );
}
