//! The own node's `gossip` design (`--target own --mode gossip`): every node answers from its own
//! data and gossips it to the others, which merge it. Registers are not linearizable (a read on
//! one node misses what another acknowledged), but after the heal every node converges — the
//! final phase sees the same digest on all of them — and no acknowledged add is lost from a set,
//! on 3 nodes and on 5; with `--persistence aof-always` not even when every node is killed at
//! once, and with `aof-no` such a kill loses adds and the checker says so.

mod common;

use common::*;

/// An own gossip cluster through the fault proxy, without the workload and the faults.
const GOSSIP: [&str; 12] = [
    "test",
    "--target",
    "own",
    "--mode",
    "gossip",
    "--net",
    "proxy",
    "--concurrency",
    "10",
    "--time-limit",
    "10s",
    "--json",
];

/// Runs the gossip cluster with `extra` options; returns the exit code and results.json.
fn run(case: &Case, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let out = case.run(&words(&[&GOSSIP, extra]));
    assert_all_gone(&node_pids(&case.latest()));
    (out.status.code(), case.results())
}

#[test]
fn gossiped_sets_converge_after_the_heal_and_keep_every_acknowledged_add() {
    for nodes in ["3", "5"] {
        let case = Case::new();
        let extra = ["--workload", "set", "--nodes", nodes, "--seed", "5"];
        let (code, results) = run(&case, &[&extra[..], &PARTITION_PAUSE].concat());
        assert_converged_keeping_every_add(nodes, code, &results);
        // The rule the nodes state for concurrent writes is in results.json and the report.
        let rule = "last-writer-wins registers, union sets, per-node counters";
        assert_eq!(results["replication"]["conflict_rule"], rule);
        let page = std::fs::read_to_string(case.latest().join("report.html")).unwrap();
        assert!(page.contains(&format!("concurrent writes resolved by</span><b>{rule}")));
    }
}

/// Partitions and pauses, a fault every 2 s.
const PARTITION_PAUSE: [&str; 4] = ["--nemesis", "partition,pause", "--nemesis-interval", "2s"];

/// Asserts a valid set run on `nodes` nodes: exit 0, no acknowledged add lost, every node
/// converged to the same digest and read once at the end.
fn assert_converged_keeping_every_add(nodes: &str, code: Option<i32>, results: &serde_json::Value) {
    assert_eq!(code, Some(0), "{nodes} nodes: valid, exit 0: {results:#}");
    let set_full = &results["check"]["weak"];
    assert_eq!(set_full["validity"], "valid", "{set_full:#}");
    assert_eq!(set_full["lost"]["count"], 0, "{set_full:#}");
    let caught = &results["catch_up"]["nodes"];
    let digests: Vec<&serde_json::Value> = caught
        .as_object()
        .unwrap_or_else(|| panic!("a catch-up per node: {results:#}"))
        .values()
        .inspect(|n| assert_eq!(n["state"], "converged", "{caught:#}"))
        .map(|n| &n["digest"])
        .collect();
    assert_eq!(digests.len(), nodes.parse::<usize>().unwrap());
    assert!(digests.iter().all(|d| *d == digests[0]), "{caught:#}");
    assert_eq!(
        set_full["final_reads"].as_array().map(Vec::len),
        Some(digests.len()),
        "one final read per node, none taken before the heal: {set_full:#}"
    );
}

#[test]
fn gossiped_registers_are_not_linearizable() {
    for nodes in ["3", "5"] {
        some_run_finds_a_stale_read(nodes);
    }
}

/// Runs the register on `nodes` gossip nodes with each seed until one is invalid.
fn some_run_finds_a_stale_read(nodes: &str) {
    let mut missed = Vec::new();
    for seed in ["41", "42", "43"] {
        let case = Case::new();
        let extra = ["--workload", "register", "--nodes", nodes, "--seed", seed];
        let (code, results) = run(&case, &[&extra[..], &PARTITION_PAUSE].concat());
        if results["verdict"] == "invalid" {
            assert_eq!(code, Some(1), "an anomaly exits 1");
            assert!(invalid_keys(&results) >= 1, "{results:#}");
            return;
        }
        missed.push(common::missed(
            seed,
            "every key linearizable",
            code,
            &results,
        ));
    }
    panic!(
        "no run on {nodes} nodes found a stale read:\n{}",
        missed.join("\n")
    );
}

/// A set run through partitions, pauses and kills with `--persistence persistence`, on `nodes`
/// nodes with `seed`: a fault every second, so that each kind has its turn in the 10 s.
fn durable_run(
    case: &Case,
    nodes: &str,
    persistence: &str,
    seed: &str,
) -> (Option<i32>, serde_json::Value) {
    let extra = [
        "--workload",
        "set",
        "--nodes",
        nodes,
        "--nemesis",
        "partition,pause,kill",
        "--nemesis-interval",
        "1s",
        "--persistence",
        persistence,
        "--seed",
        seed,
    ];
    run(case, &extra)
}

#[test]
fn with_aof_always_no_acknowledged_add_is_lost_even_to_a_kill_of_every_node() {
    for nodes in ["3", "5"] {
        // Whatever the kills took, the run keeps every add it acknowledged.
        until_every_node_is_killed(
            nodes.parse().unwrap(),
            |case, seed| durable_run(case, nodes, "aof-always", seed),
            |code, results| assert_converged_keeping_every_add(nodes, code, results),
        );
    }
}

/// Whether `history` has a kill of all `nodes` nodes within `window_ns` after an add was
/// acknowledged: an add that, with `aof-no`, every node still held only in its buffer.
fn killed_every_node_right_after_an_add(
    history: &[serde_json::Value],
    nodes: usize,
    window_ns: u64,
) -> bool {
    kills_of_every_node(history, nodes).iter().any(|kill| {
        let at = kill["time"].as_u64().unwrap();
        history.iter().any(|e| {
            let t = e["time"].as_u64().unwrap_or(u64::MAX);
            e["type"] == "ok" && e["f"] == "add" && t <= at && at - t < window_ns
        })
    })
}

#[test]
fn with_aof_no_a_kill_of_every_node_loses_adds_and_the_checker_says_so() {
    let mut missed = Vec::new();
    for seed in KILL_ALL_FIRST {
        let case = Case::new();
        let extra = [
            "--workload",
            "set",
            "--nemesis",
            "kill",
            "--nemesis-interval",
            "2s",
            "--persistence",
            "aof-no",
            "--seed",
            seed,
        ];
        let (code, results) = run(&case, &extra);
        // An add acknowledged 100 ms before every node died sat in each node's 64 KiB buffer
        // (a node's buffer holds seconds of this load), and the kill took it from all of them.
        if killed_every_node_right_after_an_add(&history_lines(&case.latest()), 3, 100_000_000) {
            assert_eq!(code, Some(1), "invalid exits 1: {results:#}");
            let set_full = &results["check"]["weak"];
            assert_eq!(set_full["validity"], "invalid", "{set_full:#}");
            assert!(set_full["lost"]["count"].as_u64() > Some(0), "{set_full:#}");
            return;
        }
        missed.push(common::missed(
            seed,
            "no kill of every node right after an add",
            code,
            &results,
        ));
    }
    panic!(
        "no run killed every node right after an add:\n{}",
        missed.join("\n")
    );
}
