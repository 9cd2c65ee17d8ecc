//! The Byzantine fault: an own node told to lie answers reads with values nobody wrote, says so
//! in its log, and the checker finds the history invalid and names the node — in every design
//! (async replicas, quorum coordinators, gossip peers); systems that cannot lie refuse it.

mod common;

use common::*;

/// How a design's anomaly names an invented answer and the node that gave it.
struct Lie {
    /// The design's options (target, mode, workload, where reads go).
    design: &'static [&'static str],
    /// In the explanation: the invented value.
    invented: &'static str,
    /// In the explanation, with the liar's name in place of `{}`: where it answered.
    named: &'static str,
}

/// Runs `lie.design` under the Byzantine fault until a seed has a lying node answer a read;
/// asserts the run is invalid, the invented value is the anomaly and the liar is named.
fn a_lie_is_caught(lie: &Lie) {
    let mut seen = Vec::new();
    for seed in ["2", "3", "4"] {
        let case = Case::new();
        let out = case.run(&words(&[
            &["test", "--net", "loopback", "--nemesis", "byzantine"],
            lie.design,
            &[
                "--time-limit",
                "4s",
                "--nemesis-interval",
                "1s",
                "--seed",
                seed,
            ],
        ]));
        let run = case.latest();
        let results = case.results();
        assert_all_gone(&node_pids(&run));
        // What the run recorded decides: the nodes that lied, and a client read answered by one.
        let liars: Vec<String> = history_lines(&run)
            .iter()
            .filter(|e| e["process"] == "nemesis" && e["f"] == "lie" && e["type"] == "info")
            .flat_map(|e| e["value"]["nodes"].as_array().cloned().unwrap_or_default())
            .filter_map(|n| n.as_str().map(str::to_string))
            .collect();
        let lied = liars.iter().any(|n| {
            std::fs::read_to_string(run.join("nodes").join(n).join("node.log"))
                .is_ok_and(|log| log.contains("lie: "))
        });
        if !lied {
            seen.push(format!(
                "seed {seed}: liars {liars:?}, no read answered by one"
            ));
            continue;
        }
        assert_eq!(out.status.code(), Some(1), "a lie is caught: {results:#}");
        assert_eq!(results["verdict"], "invalid");
        assert!(results["faults"]["applied"]["byzantine"].as_u64() > Some(0));
        let explained = results["explanation"].as_str().unwrap_or_default();
        assert!(explained.contains(lie.invented), "{explained}");
        // ... and names the node that answered it, one of those told to lie.
        assert!(
            liars
                .iter()
                .any(|n| explained.contains(&lie.named.replace("{}", n))),
            "the lying node is named ({liars:?}): {explained}"
        );
        return;
    }
    panic!("no run had a lying node answer a read: {seen:?}");
}

#[test]
fn a_lying_replica_is_caught_and_named() {
    a_lie_is_caught(&Lie {
        design: &["--read-from", "any"],
        invented: "returned 10000000",
        named: " on {} at ",
    });
}

#[test]
fn a_lying_quorum_coordinator_is_caught_and_named() {
    a_lie_is_caught(&Lie {
        design: &["--target", "own", "--mode", "quorum"],
        invented: "returned 10000000",
        named: " on {} at ",
    });
}

#[test]
fn a_lying_gossip_peer_is_caught_by_the_set_checker_and_named() {
    a_lie_is_caught(&Lie {
        design: &["--target", "own", "--mode", "gossip", "--workload", "set"],
        invented: "unexpected: [-1000000000]",
        named: " on {} (invoked ",
    });
}

#[test]
fn systems_whose_nodes_cannot_lie_refuse_the_fault() {
    let case = Case::new();
    let out = case.run(&["test", "--target", "etcd", "--nemesis", "byzantine"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "--nemesis byzantine: etcd members cannot be made to lie (own nodes can: --target own)"
        ),
        "{}",
        stderr(&out)
    );
}
