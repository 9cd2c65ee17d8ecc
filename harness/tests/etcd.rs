//! Jepsen's etcd 3.4.3 analysis (2020), reproduced: with linearizable reads, registers and sets
//! stay valid under partitions, pauses and kills, across leader changes; with serializable reads,
//! a partition lets an isolated member serve stale reads, which the checker flags and explains.
//! In network namespaces; unprivileged, through the fault proxy, whose fronts tell members
//! apart by the `X-Server-From` header of their peer requests; and over SSH on hosts of the
//! test's own, with the same verdicts.

mod common;

use common::hosts::{Hosts, Place};
use common::*;
use serde_json::Value;
use std::collections::BTreeSet;

fn etcd_here() -> bool {
    cluster::capability::etcd_for_test() && cluster::capability::netns_for_test()
}

/// The leaders the run's replication samples saw, by node.
fn leaders_seen(run: &std::path::Path) -> BTreeSet<String> {
    std::fs::read_to_string(run.join("replication.jsonl"))
        .expect("samples")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|s| s["role"] == "primary")
        .map(|s| s["node"].as_str().unwrap().to_string())
        .collect()
}

fn faulty_run(case: &Case, workload: &str, seed: &str) {
    faulty_run_on(case, Place::Net("netns"), workload, seed)
}

fn faulty_run_on(case: &Case, on: Place, workload: &str, seed: &str) {
    let place = on.args(3);
    let mut args = vec!["test", "--target", "etcd"];
    args.extend(place.iter().map(String::as_str));
    args.extend_from_slice(&[
        "--workload",
        workload,
        "--nemesis",
        "partition-primary,kill,pause",
        "--nemesis-interval",
        "1500ms",
        "--time-limit",
        "12s",
        "--seed",
        seed,
    ]);
    let out = case.run(&args);
    let run = case.latest();
    let results = case.results();
    // How many windows fit depends on how fast the cluster recovers (a loaded machine fits
    // fewer), so the assertion follows what the run recorded: the schedule cycles through the
    // kinds, and either each was applied and the run is valid, or the run says which was not
    // and is inconclusive rather than valid.
    let applied = results["faults"]["applied"].as_object().unwrap();
    assert_eq!(
        applied.len(),
        3,
        "every requested kind is counted: {applied:?}"
    );
    let missing: Vec<&String> = applied
        .iter()
        .filter(|(_, n)| n.as_u64() == Some(0))
        .map(|(k, _)| k)
        .collect();
    if missing.is_empty() {
        assert_eq!(out.status.code(), Some(0), "valid exits 0");
        assert_eq!(results["verdict"], "valid", "{results:#}");
    } else {
        assert_eq!(out.status.code(), Some(3), "inconclusive exits 3");
        assert_eq!(results["verdict"], "unknown", "{results:#}");
        // Inconclusive about the faults that did not come, but the history itself holds no anomaly.
        assert_eq!(results["check"]["validity"], "valid", "{results:#}");
        let reason = results["reason"].as_str().unwrap();
        for kind in missing {
            assert!(reason.contains(&format!("{kind} was requested but never applied")));
        }
    }
    // Whether the majority elected a new leader inside a 1.5 s window depends on the machine (CI
    // once saw the partition heal first), so the samples' leaders are reported, not required:
    // the verdict above is what these runs assert, across whatever leader changes happened.
    if applied["partition-primary"].as_u64() > Some(0) {
        eprintln!("leaders seen in the samples: {:?}", leaders_seen(&run));
    }
    assert_all_gone(&node_pids(&run));
    on.assert_left_clean(&run);
}

#[test]
fn linearizable_registers_survive_partitions_pauses_and_kills() {
    if !etcd_here() {
        return;
    }
    let case = Case::new();
    faulty_run(&case, "register", "21");
    let results = case.results();
    assert!(results["check"]["counts"]["ok"].as_u64().unwrap() > 100);
}

#[test]
fn sets_lose_nothing_under_the_same_faults() {
    if !etcd_here() {
        return;
    }
    let case = Case::new();
    faulty_run(&case, "set", "22");
    let weak = &case.results()["check"]["weak"];
    assert_eq!(weak["checker"], "set-full", "{weak:#}");
    assert_eq!(weak["lost"]["count"], 0);
    // One per member; a worker's read that began after the last add ended is final too.
    let members: BTreeSet<u64> = weak["final_reads"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["read"]["process"].as_u64())
        .filter(|&p| p >= results::FINAL_READ_PROCESSES)
        .collect();
    assert_eq!(members.len(), 3, "one per member: {weak:#}");
}

#[test]
fn counters_are_linearizable_under_the_same_faults() {
    if !etcd_here() {
        return;
    }
    let case = Case::new();
    faulty_run(&case, "counter", "24");
    // Linearizable reads: the linearizable counter model judges the run, final reads included.
    let results = case.results();
    assert_eq!(results["options"]["checker"], "counter", "{results:#}");
    assert_eq!(
        results["check"]["keys"][0]["validity"], "valid",
        "{results:#}"
    );
    let finals = history_lines(&case.latest())
        .iter()
        .filter(|e| {
            e["type"] == "ok" && e["process"].as_u64() >= Some(results::FINAL_READ_PROCESSES)
        })
        .count();
    assert_eq!(finals, 3, "one per member");
}

#[test]
fn through_the_fault_proxy_linearizable_registers_survive_partitions_pauses_and_kills() {
    if !cluster::capability::etcd_for_test() {
        return;
    }
    let case = Case::new();
    faulty_run_on(&case, Place::Net("proxy"), "register", "21");
    let results = case.results();
    assert!(results["check"]["counts"]["ok"].as_u64().unwrap() > 100);
    let layout = std::fs::read_to_string(case.latest().join("nodes/network.json")).unwrap();
    let layout: Value = serde_json::from_str(&layout).unwrap();
    assert_eq!(
        layout["fronts"].as_array().map(Vec::len),
        Some(3),
        "{layout:#}"
    );
}

#[test]
fn serializable_reads_in_a_partition_are_stale_and_explained() {
    if !etcd_here() {
        return;
    }
    stale_reads_on(Place::Net("netns"));
}

#[test]
fn through_the_fault_proxy_serializable_reads_in_a_partition_are_stale() {
    // Only if the fronts tell members apart is n1 cut off: a stream n1 opened to n2 carries n2's
    // messages to n1, so were it let through, n1 would keep up and serve no stale read.
    if !cluster::capability::etcd_for_test() {
        return;
    }
    stale_reads_on(Place::Net("proxy"));
}

/// Over SSH (issue 17: the same verdicts as local runs): etcd on hosts reached over SSH, the
/// leader partitioned by iptables rules on the hosts, paused and killed by pid; registers
/// linearizable as in namespaces.
#[test]
fn over_ssh_linearizable_registers_survive_partitions_pauses_and_kills() {
    if !cluster::capability::etcd_for_test() {
        return;
    }
    let Some(hosts) = Hosts::start(3) else {
        return;
    };
    let case = Case::new();
    faulty_run_on(&case, Place::Hosts(&hosts), "register", "21");
    assert!(case.results()["check"]["counts"]["ok"].as_u64().unwrap() > 100);
}

/// Over SSH, serializable reads of a member cut off by the hosts' rules are stale, as in
/// namespaces.
#[test]
fn over_ssh_serializable_reads_in_a_partition_are_stale() {
    if !cluster::capability::etcd_for_test() {
        return;
    }
    let Some(hosts) = Hosts::start(3) else {
        return;
    };
    stale_reads_on(Place::Hosts(&hosts));
}

fn stale_reads_on(on: Place) {
    // Whether n1 served a read after the majority had taken a newer write depends on how the
    // run's operations fell; a run that recorded no such read is retried with another seed.
    let mut missed = Vec::new();
    for seed in ["23", "24", "25"] {
        let (case, out) = partitioned_serializable_run(&on, seed);
        match isolated_read_after_a_majority_write(&case.latest()) {
            Ok(()) => return assert_stale_read_found(&on, &case, &out),
            Err(why) => {
                assert!(matches!(out.status.code(), Some(0 | 1)), "a verdict");
                missed.push(format!("seed {seed}: {why}"));
            }
        }
    }
    panic!("no run had n1 read after a majority write: {missed:?}");
}

/// A register run on etcd with serializable reads, n1 cut off from n2 and n3 from 4 s to 8 s.
fn partitioned_serializable_run(on: &Place, seed: &str) -> (Case, std::process::Output) {
    let case = Case::new();
    let place = on.args(3);
    let mut args = vec!["test", "--target", "etcd"];
    args.extend(place.iter().map(String::as_str));
    args.extend_from_slice(&[
        "--read-consistency",
        "serializable",
        "--nemesis",
        "none",
        "--partition",
        "n1|n2,n3",
        "--nemesis-interval",
        "4s",
        "--time-limit",
        "10s",
        "--seed",
        seed,
    ]);
    let out = case.run(&args);
    (case, out)
}

/// What the run recorded: during the partition, a write acknowledged through n2 or n3, then an
/// ok read of the same key through n1, invoked after that acknowledgement and done before the
/// heal. n1 cannot have that write (values are unique per key), so that read is stale.
fn isolated_read_after_a_majority_write(run: &std::path::Path) -> Result<(), String> {
    let history = history_lines(run);
    let nemesis = |f: &str| {
        history
            .iter()
            .find(|e| e["process"] == "nemesis" && e["f"] == f && e["type"] == "info")
            .and_then(|e| e["time"].as_u64())
    };
    let start = nemesis("partition").ok_or("the partition was never applied")?;
    let heal = nemesis("heal").unwrap_or(u64::MAX);
    // Clients are bound to members round-robin by worker: worker = process mod concurrency.
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap();
    let concurrency = results["options"]["concurrency"].as_u64().unwrap();
    let on_n1 = |process: u64| (process % concurrency).is_multiple_of(3);
    let mut invoked: std::collections::HashMap<u64, u64> = Default::default();
    let mut majority_write: std::collections::HashMap<String, u64> = Default::default();
    for e in &history {
        let (Some(process), Some(time)) = (e["process"].as_u64(), e["time"].as_u64()) else {
            continue;
        };
        if e["type"] == "invoke" {
            invoked.insert(process, time);
            continue;
        }
        let began = invoked.remove(&process).unwrap_or(time);
        let key = e["key"].to_string();
        let in_partition = began >= start && time <= heal;
        if e["type"] != "ok" || !in_partition {
            continue;
        }
        if e["f"] != "read" && !on_n1(process) {
            majority_write.entry(key).or_insert(time);
        } else if e["f"] == "read"
            && on_n1(process)
            && majority_write.get(&key).is_some_and(|&w| began > w)
        {
            return Ok(());
        }
    }
    Err(format!(
        "no ok read through n1 after a majority write to its key between {:.1} s and {:.1} s",
        start as f64 / 1e9,
        heal as f64 / 1e9
    ))
}

fn assert_stale_read_found(on: &Place, case: &Case, out: &std::process::Output) {
    let run = case.latest();
    let read = |f: &str| std::fs::read_to_string(run.join(f)).unwrap_or_default();
    assert_eq!(
        out.status.code(),
        Some(1),
        "an anomaly exits 1\nproxy links: {}\nnemesis: {:?}\nreplication: {}",
        read("nodes/proxy-links.json"),
        history_lines(&run)
            .iter()
            .filter(|e| e["process"] == "nemesis")
            .map(|e| e.to_string())
            .collect::<Vec<_>>(),
        read("replication.jsonl")
    );
    let text = stdout(out);
    assert!(
        text.contains("was acknowledged at") && text.contains("read of"),
        "the stale read is explained:\n{text}"
    );
    assert_eq!(case.results()["verdict"], "invalid");
    on.assert_left_clean(&case.latest());
}

#[test]
fn a_missing_etcd_names_the_package_and_the_run_still_ends_with_a_result() {
    let case = Case::new();
    let empty = tempfile::tempdir().unwrap();
    let out = case
        .cmd(&[
            "test",
            "--target",
            "etcd",
            "--net",
            "loopback",
            "--time-limit",
            "1s",
        ])
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "errors keep their code");
    let err = stderr(&out);
    assert!(err.contains("apt-get install etcd-server"), "{err}");
    // The run directory existed before the failure: it still ends with a result and a history.
    let results = case.results();
    assert_eq!(results["verdict"], "unknown");
    assert_eq!(results["exit_code"], 2);
    let reason = results["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("the run failed: starting the cluster")
            && reason.contains("etcd-server"),
        "{results:#}"
    );
    assert!(case.latest().join("history.jsonl").is_file());
}

#[test]
fn a_member_that_never_becomes_ready_is_an_error_not_a_hang() {
    // An `etcd` that starts and never answers: readiness must give up, name the node, and stop
    // every process it started.
    let bin = tempfile::tempdir().unwrap();
    let fake = bin.path().join("etcd");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho fake etcd starting\nexec sleep 600\n",
    )
    .unwrap();
    let mut perms = std::fs::metadata(&fake).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&fake, perms).unwrap();
    let case = Case::new();
    let started = std::time::Instant::now();
    let out = case
        .cmd(&[
            "test",
            "--target",
            "etcd",
            "--net",
            "loopback",
            "--ready-timeout",
            "2s",
            "--time-limit",
            "1s",
        ])
        .env("PATH", format!("{}:/usr/bin:/bin", bin.path().display()))
        .output()
        .unwrap();
    assert!(started.elapsed().as_secs() < 30, "gave up in time");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("not ready within") && err.contains("fake etcd starting"),
        "names the node and shows its log:\n{err}"
    );
    let run = case.latest();
    assert_all_gone(&node_pids(&run));
}
