//! The Byzantine fault: an own node told to lie answers reads with values nobody wrote, says so
//! in its log, and the checker finds the history invalid; systems that cannot lie refuse it.

mod common;

use common::*;

#[test]
fn a_lying_node_is_caught_and_its_lies_are_in_its_log() {
    let mut seen = Vec::new();
    for seed in ["2", "3", "4"] {
        let case = Case::new();
        let out = case.run(&[
            "test",
            "--net",
            "loopback",
            "--nemesis",
            "byzantine",
            "--read-from",
            "any",
            "--time-limit",
            "4s",
            "--nemesis-interval",
            "1s",
            "--seed",
            seed,
        ]);
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
                .is_ok_and(|log| log.contains("lie: GET"))
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
        // The anomaly is a read of a value nobody wrote: an invented one.
        let explained = results["explanation"].as_str().unwrap_or_default();
        assert!(explained.contains("returned 10000000"), "{explained}");
        // ... and names the node that answered it, one of those told to lie.
        assert!(
            liars
                .iter()
                .any(|n| explained.contains(&format!(" on {n} at "))),
            "the lying node is named ({liars:?}): {explained}"
        );
        return;
    }
    panic!("no run had a lying node answer a read: {seen:?}");
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
