//! The own node's `gossip` design (`--target own --mode gossip`): every node answers from its own
//! data and gossips it to the others, which merge it. Registers are not linearizable (a read on
//! one node misses what another acknowledged), but after the heal every node converges — the
//! final phase sees the same digest on all of them — and no acknowledged add is lost from a set,
//! on 3 nodes and on 5.

mod common;

use common::*;

/// An own gossip cluster through the fault proxy, partitioned every 2 s, without the workload.
const GOSSIP: [&str; 16] = [
    "test",
    "--target",
    "own",
    "--mode",
    "gossip",
    "--net",
    "proxy",
    "--nemesis",
    "partition,pause",
    "--concurrency",
    "10",
    "--time-limit",
    "10s",
    "--nemesis-interval",
    "2s",
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
        let (code, results) = run(&case, &extra);
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
        let (code, results) = run(&case, &extra);
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
