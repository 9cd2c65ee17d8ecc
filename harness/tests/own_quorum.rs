//! The own node's `quorum` design (`--target own --mode quorum`): leaderless, every node takes
//! reads and writes and waits for read and write quorums. What a quorum buys and what it does
//! not, as the checker sees it: with majorities, reads and writes stay linearizable through
//! partitions and pauses, on 3 nodes and on 5; a compare-and-set (a quorum read, then a quorum
//! write) is not; and with `--read-quorum 1 --write-quorum 1` a read misses acknowledged writes.
//! With `--persistence aof-always` they stay linearizable through kills as well, even of every
//! node at once; without persistence such a kill loses acknowledged writes, and the checker
//! says so.

mod common;

use common::*;

/// A register run of own quorum nodes through the fault proxy, without the seed and the faults.
const QUORUM: [&str; 14] = [
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
    "--json",
];

/// A fault every 2 s.
const EVERY_2S: [&str; 2] = ["--nemesis-interval", "2s"];

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
    let (code, results) = run(&case, net, &[&extra[..], &EVERY_2S].concat());
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
        let args = words(&[&["--nodes", nodes, "--seed", seed], extra, &EVERY_2S]);
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
    let out = case.run(&["test", "--mode", "quorum", "--replication-delay", "100ms"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--replication-delay: does not apply to --mode quorum"),
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

/// Majorities whose replicas fsync each value before acknowledging it stay linearizable through
/// partitions, pauses and kills (a fault a second, so each kind has its turn in the 10 s); at
/// least one run kills every node at once.
fn durable_majorities_stay_linearizable(net: &str, nodes: &str) {
    let run_seed = |case: &Case, seed: &str| {
        let extra = [
            "--nodes",
            nodes,
            "--mix",
            "read=1,write=1",
            "--nemesis",
            "partition,pause,kill",
            "--nemesis-interval",
            "1s",
            "--persistence",
            "aof-always",
            "--seed",
            seed,
        ];
        run(case, net, &extra)
    };
    // Whatever the faults took, the run stays linearizable.
    until_every_node_is_killed(nodes.parse().unwrap(), run_seed, |code, results| {
        assert_eq!(code, Some(0), "valid, exit 0: {results:#}");
        assert_eq!(results["verdict"], "valid");
    });
}

#[test]
fn with_aof_always_majority_quorums_stay_linearizable_through_kills_on_three_nodes() {
    let net = match cluster::capability::netns_for_test() {
        true => "netns",
        false => "proxy",
    };
    durable_majorities_stay_linearizable(net, "3");
}

#[test]
fn with_aof_always_majority_quorums_stay_linearizable_through_kills_on_five_nodes() {
    durable_majorities_stay_linearizable("proxy", "5");
}

/// Whether `history` shows a write lost to a kill of all `nodes` nodes: after such a kill, a
/// read of a key found nothing though a write to it had been acknowledged before the kill.
fn a_write_vanished_with_every_node(history: &[serde_json::Value], nodes: usize) -> bool {
    kills_of_every_node(history, nodes).iter().any(|kill| {
        let at = kill["index"].as_u64().unwrap();
        let index = |e: &serde_json::Value| e["index"].as_u64().unwrap_or(0);
        let written: std::collections::HashSet<&str> = history
            .iter()
            .filter(|e| index(e) < at && e["type"] == "ok" && e["f"] == "write")
            .filter_map(|e| e["key"].as_str())
            .collect();
        history.iter().any(|e| {
            index(e) > at
                && e["type"] == "ok"
                && e["f"] == "read"
                && e["value"].is_null()
                && e["key"].as_str().is_some_and(|k| written.contains(k))
        })
    })
}

#[test]
fn without_persistence_a_kill_of_every_node_loses_acknowledged_writes_and_the_checker_says_so() {
    let mut missed = Vec::new();
    for seed in KILL_ALL_FIRST {
        let case = Case::new();
        let extra = [
            "--nodes",
            "3",
            "--mix",
            "read=1,write=1",
            "--nemesis",
            "kill",
            "--seed",
            seed,
        ];
        let (code, results) = run(&case, "proxy", &[&extra[..], &EVERY_2S].concat());
        // What the run recorded decides what it must show: a read that found nothing where an
        // acknowledged write had been cannot be linearizable.
        if a_write_vanished_with_every_node(&history_lines(&case.latest()), 3) {
            assert_eq!(code, Some(1), "invalid exits 1: {results:#}");
            assert_eq!(results["verdict"], "invalid");
            assert!(invalid_keys(&results) >= 1, "{results:#}");
            return;
        }
        let why = "no read found a write gone with every node";
        missed.push(common::missed(seed, why, code, &results));
    }
    panic!(
        "no run lost a write to a kill of every node:\n{}",
        missed.join("\n")
    );
}
