//! End-to-end tests of the `faultline` binary: real nodes, real Redis, real signals.
//!
//! Each test gets its own store directory and a prepared command (ripgrep's pattern). Tests that
//! need `redis-server` skip with a message when it is missing, unless FAULTLINE_REQUIRE_ALL is set
//! (CI sets it), where a skip would hide a broken install, so they fail instead.

mod common;

use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn own_nodes_under_pauses_are_linearizable() {
    let case = Case::new();
    let out = case.run(&[
        "test",
        "--time-limit",
        "4s",
        "--nemesis-interval",
        "700ms",
        "--seed",
        "11",
        "--rate",
        "200",
    ]);
    assert_eq!(out.status.code(), Some(0), "valid exits 0");
    assert!(stdout(&out).contains("verdict: VALID"));
    assert_run_dir_complete(&case, "valid");
    let history = history_lines(&case.latest());
    let pauses = history
        .iter()
        .filter(|e| e["process"] == "nemesis" && e["f"] == "pause")
        .count();
    assert!(pauses >= 1, "the nemesis paused a node");
}

/// Jepsen's independent keys: with --ops-per-key, no key gets more than its share, fresh keys
/// take the retired ones' places, and each is checked on its own.
#[test]
fn keys_retire_after_their_share_of_operations() {
    let case = Case::new();
    let out = case.run(&[
        "test",
        "--nemesis",
        "none",
        "--time-limit",
        "2s",
        "--rate",
        "300",
        "--keys",
        "2",
        "--ops-per-key",
        "30",
        "--seed",
        "4",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "valid exits 0: {}",
        stdout(&out)
    );
    let mut per_key = std::collections::BTreeMap::<String, usize>::new();
    for e in history_lines(&case.latest()) {
        if e["type"] == "invoke" {
            *per_key
                .entry(e["key"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    assert!(per_key.values().all(|&n| n <= 30), "{per_key:?}");
    let checked = case.results()["check"]["keys"].as_array().unwrap().len();
    // The run's own count decides how many keys there must be: more than the share allows two.
    let ops: usize = per_key.values().sum();
    if ops > 2 * 30 {
        assert!(checked > 2, "{checked} keys for {ops} ops");
    }
    assert_eq!(checked, per_key.len());
}

/// `--mix` draws only the kinds it names, and the run records it.
#[test]
fn a_mix_draws_only_the_kinds_it_names() {
    let case = Case::new();
    let out = case.run(&[
        "test",
        "--nemesis",
        "none",
        "--time-limit",
        "1s",
        "--rate",
        "200",
        "--mix",
        "write=1,read=1",
        "--seed",
        "9",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let fs: std::collections::BTreeSet<String> = history_lines(&case.latest())
        .iter()
        .filter(|e| e["type"] == "invoke")
        .map(|e| e["f"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fs.into_iter().collect::<Vec<_>>(), ["read", "write"]);
    assert_eq!(case.results()["options"]["mix"], "write=1,read=1");
    let bad = case.run(&["test", "--mix", "add=1"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("--mix: the register workload has no operation 'add'"));
}

/// `--like RUN_DIR` repeats a recorded run's options and seed; options beside it win.
#[test]
fn like_repeats_a_recorded_run_with_its_seed() {
    let case = Case::new();
    let first = case.run(&[
        "test",
        "--nemesis",
        "none",
        "--time-limit",
        "1s",
        "--keys",
        "2",
    ]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let (run, recorded) = (case.latest(), case.results());
    let again = case.run(&[
        "test",
        "--like",
        run.to_str().unwrap(),
        "--time-limit",
        "2s",
    ]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let repeated = case.results();
    assert_ne!(case.latest(), run, "a fresh run directory");
    assert_eq!(repeated["seed"], recorded["seed"]);
    assert_eq!(repeated["options"]["time_limit"], 2.0);
    let (mut a, mut b) = (recorded["options"].clone(), repeated["options"].clone());
    for o in [&mut a, &mut b] {
        let o = o.as_object_mut().unwrap();
        o.remove("command");
        o.remove("time_limit");
    }
    assert_eq!(a, b, "every other option as recorded");
    let bad = case.run(&["test", "--like", case.store.path().to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("no results.json there"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn real_redis_primary_and_replicas_are_linearizable_from_the_primary() {
    if !cluster::capability::redis_for_test() {
        return;
    }
    let case = Case::new();
    let out = case.run(&[
        "test",
        "--target",
        "redis",
        "--time-limit",
        "4s",
        "--nemesis-interval",
        "700ms",
        "--seed",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(0), "valid exits 0");
    assert_run_dir_complete(&case, "valid");
    let log = std::fs::read_to_string(case.latest().join("nodes/n2/node.log")).unwrap();
    assert!(
        log.contains("MASTER <-> REPLICA sync"),
        "n2 replicated from n1:\n{log}"
    );
}

#[test]
fn delayed_replication_with_replica_reads_is_invalid_and_names_stale_reads() {
    let case = Case::new();
    let out = case.run(&words(&[
        &["test", "--time-limit", "3s", "--seed", "3", "--keys", "1"],
        &LAGGING_REPLICA_READS,
    ]));
    assert_eq!(out.status.code(), Some(1), "invalid exits 1");
    assert!(
        stdout(&out).contains("stale"),
        "the summary names stale reads"
    );
    let results = case.results();
    assert_eq!(results["verdict"], "invalid");
    let keys = results["check"]["keys"].as_array().unwrap();
    let stale: usize = keys
        .iter()
        .filter_map(|k| k["anomaly"]["stale_reads"].as_array())
        .map(|s| s.len())
        .sum();
    assert!(stale > 0, "results.json names the stale reads: {results:#}");
}

#[test]
fn check_names_the_stale_read_and_accepts_a_linearizable_history() {
    let case = Case::new();
    // A minute to explain: the witnesses asserted here must not depend on the machine's load.
    let bad = case.run(&[
        "check",
        "--explain-time",
        "1m",
        &fixture("stale-read.jsonl"),
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stdout(&bad).contains("stale"), "explains the stale read");
    assert!(
        stdout(&bad).contains(
            "minimal witness (1 of 3 operations, shown with 2 more for context):\n    \
             write 1 by process 0: invoked at 0.001 s, ok at 0.002 s (context)\n"
        ),
        "prints the witness as a timeline: {}",
        stdout(&bad)
    );
    let good = case.run(&["check", &fixture("linearizable.jsonl")]);
    assert_eq!(good.status.code(), Some(0));
    assert!(stdout(&good).contains("verdict: VALID"));
    let both = case.run(&[
        "check",
        "--json",
        "--explain-time",
        "1m",
        &fixture("linearizable.jsonl"),
        &fixture("stale-read.jsonl"),
    ]);
    assert_eq!(
        both.status.code(),
        Some(1),
        "any invalid file makes the exit 1"
    );
    let reports: Value = serde_json::from_slice(&both.stdout).expect("--json prints JSON");
    assert_eq!(reports[0]["report"]["validity"], "valid");
    assert_eq!(reports[1]["report"]["validity"], "invalid");
    let witness = &reports[1]["report"]["keys"][0]["anomaly"]["witness"];
    assert_eq!(witness["minimal"], true, "--json carries the witness");
    assert_eq!(witness["operations"].as_array().map(Vec::len), Some(1));
    assert_eq!(witness["context"].as_array().map(Vec::len), Some(2));
    assert_eq!(witness["cycle"]["steps"][0]["then"]["kind"], "real-time");
}

#[test]
fn a_failed_cas_observes_a_mismatch_in_jsonl_and_when_told_in_edn() {
    // The register holds 1 throughout the failed cas [1 2]: its compare cannot have failed.
    let case = Case::new();
    let code = |args: &[&str]| case.run(args).status.code();
    let jsonl = fixture("failed-cas.jsonl");
    let edn = fixture("failed-cas.edn");
    assert_eq!(code(&["check", &jsonl]), Some(1), "JSONL says cas-mismatch");
    assert_eq!(code(&["check", "--failed-cas", "dropped", &jsonl]), Some(0));
    assert_eq!(code(&["check", &edn]), Some(0), "EDN: dropped, as Knossos");
    assert_eq!(code(&["check", "--failed-cas", "observes", &edn]), Some(1));
    let out = case.run(&["check", "--failed-cas", "maybe", &edn]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("invalid value 'maybe' for '--failed-cas <FAILED_CAS>'")
            && err.contains("[possible values: auto, observes, dropped]"),
        "{err}"
    );
}

#[test]
fn bad_input_is_named_and_exits_2() {
    let case = Case::new();
    let out = case.run(&["test", "--target", "cassandra"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("'cassandra'") && err.contains("--target") && err.contains("own, redis, etcd"),
        "{err}"
    );

    let out = case.run(&["test", "--nemesis", "none,pause"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot be combined"),
        "{}",
        stderr(&out)
    );

    let out = case.run(&["test", "--time-limit", "forever"]);
    assert_eq!(out.status.code(), Some(2), "clap's usage errors exit 2 too");
    assert!(stderr(&out).contains("--time-limit"));

    let out = case.run(&["check", "/nonexistent/history.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/nonexistent/history.jsonl"));

    let out = case.run(&["check", &fixture("malformed.jsonl")]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("malformed.jsonl") && err.contains("line 3"),
        "{err}"
    );

    let out = case.run(&["check", "--model", "stack", &fixture("linearizable.jsonl")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--model"));
}

#[test]
fn missing_redis_server_names_the_package() {
    let case = Case::new();
    let empty = tempfile::tempdir().unwrap();
    let out = case
        .cmd(&["test", "--target", "redis", "--time-limit", "1s"])
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("redis-server") && err.contains("apt-get install redis-server"),
        "{err}"
    );
}

#[test]
fn a_node_that_fails_to_start_is_reported_and_the_rest_torn_down() {
    if !cluster::capability::redis_for_test() {
        return;
    }
    // A redis-server that works as a primary but dies as a replica: startup must fail on n2,
    // show its log, and stop n1, which did start.
    let bin = tempfile::tempdir().unwrap();
    let real = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v redis-server"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let fake = bin.path().join("redis-server");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\ncase \"$*\" in *--replicaof*) echo 'replica refuses to start' >&2; exit 7;; esac\nexec {} \"$@\"\n",
            real.trim()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let case = Case::new();
    let out = case
        .cmd(&[
            "test",
            "--target",
            "redis",
            "--nodes",
            "2",
            "--time-limit",
            "1s",
        ])
        .env("PATH", format!("{}:/usr/bin:/bin", bin.path().display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("node n2 not ready") && err.contains("replica refuses to start"),
        "{err}"
    );
    assert_all_gone(&node_pids(&case.latest()));
}

#[test]
fn sigint_mid_run_tears_everything_down() {
    let case = Case::new();
    let mut child = case
        .cmd(&[
            "test",
            "--time-limit",
            "60s",
            "--nemesis-interval",
            "200ms",
            "--seed",
            "2",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the run is under way and the nemesis has paused a node at least once.
    let deadline = Instant::now() + Duration::from_secs(20);
    let run = loop {
        assert!(Instant::now() < deadline, "the run never got going");
        if let Ok(run) = std::fs::canonicalize(case.store.path().join("latest")) {
            if history_so_far(&run).iter().any(|e| e["f"] == "pause") {
                break run;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let pids = node_pids(&run);
    assert_eq!(pids.len(), 3);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = wait_with_deadline(&mut child, Duration::from_secs(20));
    assert_eq!(status, Some(130), "an interrupted run exits 130");
    assert_all_gone(&pids);
    assert!(
        !history_lines(&run).is_empty(),
        "the history so far is kept"
    );
}

fn wait_with_deadline(child: &mut std::process::Child, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("faultline did not exit within {limit:?} of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn netns_partitions_and_pauses_on_own_nodes_are_linearizable() {
    if !cluster::capability::netns_for_test() {
        return;
    }
    let mut seen = Vec::new();
    for seed in ["8", "9", "10"] {
        let case = Case::new();
        let out = case.run(&[
            "test",
            "--net",
            "netns",
            "--nemesis",
            "partition,pause",
            "--time-limit",
            "4s",
            "--nemesis-interval",
            "500ms",
            "--seed",
            seed,
        ]);
        let run = case.latest();
        let history = history_lines(&run);
        // A fault may be given up only because the cluster was not healthy when it was due (a
        // loaded machine); applying or healing one never fails.
        for e in &history {
            if e["process"] == "nemesis" && e["type"] == "fail" {
                let error = e["error"].as_str().unwrap_or_default();
                assert!(error.starts_with("cluster unhealthy"), "{e}");
            }
        }
        assert_network_gone(&run);
        let results = case.results();
        if out.status.code() == Some(3) {
            // Then the record must show why: a kind never applied.
            let applied = results["faults"]["applied"].as_object().unwrap();
            assert!(applied.values().any(|n| n == 0), "{results:#}");
            seen.push(format!("seed {seed}: {}", results["faults"]["applied"]));
            continue;
        }
        assert_eq!(out.status.code(), Some(0), "valid exits 0: {results:#}");
        assert_run_dir_complete(&case, "valid");
        assert!(
            history.iter().any(|e| e["f"] == "partition"),
            "a partition was applied"
        );
        return;
    }
    panic!("no run of three applied both kinds: {seen:?}");
}

/// Starts a long netns run with a partition nemesis and returns it once a partition is in force
/// (its last nemesis event is the cut), with the run's directory.
// The child is returned to the caller, which signals and reaps it; clippy cannot see that far.
#[allow(clippy::zombie_processes)]
fn run_until_partitioned(case: &Case, seed: &str) -> (std::process::Child, PathBuf) {
    let mut child = case
        .cmd(&[
            "test",
            "--net",
            "netns",
            "--nemesis",
            "partition",
            "--time-limit",
            "60s",
            "--nemesis-interval",
            "300ms",
            "--seed",
            seed,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no partition within 20 s");
        }
        if let Ok(run) = std::fs::canonicalize(case.store.path().join("latest")) {
            let events = history_so_far(&run);
            let last = events.iter().rev().find(|e| e["process"] == "nemesis");
            if last.is_some_and(|e| e["f"] == "partition") {
                return (child, run);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigint_mid_partition_heals_and_removes_the_network() {
    if !cluster::capability::netns_for_test() {
        return;
    }
    let case = Case::new();
    let (mut child, run) = run_until_partitioned(&case, "4");
    let pids = node_pids(&run);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    assert_eq!(
        wait_with_deadline(&mut child, Duration::from_secs(20)),
        Some(130)
    );
    assert_all_gone(&pids);
    assert_network_gone(&run);
}

#[test]
fn cluster_down_cleans_up_after_a_sigkilled_run_mid_partition() {
    if !cluster::capability::netns_for_test() {
        return;
    }
    let case = Case::new();
    let (mut child, run) = run_until_partitioned(&case, "6");
    let pids = node_pids(&run);
    child.kill().unwrap(); // SIGKILL: no handler runs, no teardown happens
    child.wait().unwrap();
    assert_all_gone(&pids); // PDEATHSIG takes the nodes down with faultline
    let (namespaces, _) = network_made(&run);
    assert!(
        namespaces
            .iter()
            .all(|ns| Path::new("/run/netns").join(ns).exists()),
        "a SIGKILLed run leaves its namespaces behind, which is what cluster down is for"
    );
    let store = case.store.path().display().to_string();
    let out = case.run(&["cluster", "--store", &store, "down"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("took down"), "names what it removed");
    assert_network_gone(&run);
    let live = case.store.path().join("live");
    assert_eq!(
        std::fs::read_dir(&live).unwrap().count(),
        0,
        "no live record is left"
    );
    let again = case.run(&["cluster", "--store", &store, "down"]);
    assert!(stdout(&again).contains("nothing to take down"));
}

#[test]
fn lab_cluster_outlives_commands_until_down() {
    let case = Case::new();
    let store = case.store.path().display().to_string();
    let lab = |args: &[&str]| case.cluster_ok(args);
    let whole_status = |case: &Case| -> Value {
        let out = case.run(&["cluster", "--store", &store, "status", "--json"]);
        serde_json::from_slice(&out.stdout).expect("status --json")
    };
    let status = |case: &Case| whole_status(case)["nodes"].clone();
    // Loopback: the lab's mechanics need no root (and a loopback cluster refuses partitions).
    lab(&["up", "--nodes", "3", "--net", "loopback"]);
    let s = status(&case);
    assert_eq!(s[0]["role"], "primary");
    assert_eq!(
        (s[1]["role"].as_str(), s[1]["link"].as_str()),
        (Some("replica"), Some("up"))
    );
    let pids: Vec<u32> = (0..3)
        .map(|i| s[i]["pid"].as_u64().unwrap() as u32)
        .collect();

    assert_eq!(s[1]["lag"], 0, "a linked idle replica is not behind: {s:#}");
    assert_eq!(whole_status(&case)["faults_in_force"], json!([]));

    let said = lab(&["pause", "n2"]);
    assert_eq!(
        String::from_utf8_lossy(&said.stdout),
        "n2: paused (SIGSTOP)\n"
    );
    let s = whole_status(&case);
    assert_eq!(
        (
            s["nodes"][1]["process"].as_str(),
            s["nodes"][1]["role"].as_str()
        ),
        (Some("paused"), Some("unreachable"))
    );
    assert_eq!(s["faults_in_force"], json!(["n2 is paused"]));
    let text = String::from_utf8_lossy(&lab(&["status"]).stdout).into_owned();
    assert!(text.contains("faults in force:\n  n2 is paused"), "{text}");
    let said = lab(&["resume", "n2", "--json"]);
    let said: Value = serde_json::from_slice(&said.stdout).unwrap();
    assert_eq!(
        (said["action"].as_str(), said["node"].as_str()),
        (Some("resume"), Some("n2"))
    );
    assert_eq!(status(&case)[1]["process"], "running");

    lab(&["kill", "n3"]);
    assert_eq!(status(&case)[2]["process"], "stopped");
    assert_all_gone(&pids[2..]);
    lab(&["restart", "n3"]);
    let s = status(&case);
    assert_eq!(
        (s[2]["process"].as_str(), s[2]["link"].as_str()),
        (Some("running"), Some("up"))
    );
    let restarted = s[2]["pid"].as_u64().unwrap() as u32;

    let err = case.run(&["cluster", "--store", &store, "partition", "n1|n2"]);
    assert_eq!(
        err.status.code(),
        Some(2),
        "loopback clusters cannot be cut"
    );
    assert!(stderr(&err).contains("--net netns"));
    let err = case.run(&["cluster", "--store", &store, "pause", "n7"]);
    assert!(stderr(&err).contains("no node named n7"));

    lab(&["down"]);
    assert_all_gone(&[pids[0], pids[1], restarted]);
    let after = case.run(&["cluster", "--store", &store, "status"]);
    assert_eq!(after.status.code(), Some(2));
    assert!(stderr(&after).contains("no lab cluster is up"));
}

#[test]
fn netns_lab_cuts_and_degrades_by_hand() {
    if !cluster::capability::netns_for_test() {
        return;
    }
    let case = Case::new();
    let lab = |args: &[&str]| case.cluster(args);
    assert_eq!(
        lab(&["up", "--net", "netns", "--nodes", "3"]).status.code(),
        Some(0)
    );
    let run = std::fs::canonicalize(case.store.path().join("latest")).unwrap();
    let (namespaces, _) = network_made(&run);
    let rules = |ns: &str| {
        let out = Command::new("ip")
            .args(["netns", "exec", ns, "iptables", "-S", "INPUT"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let said = |out: std::process::Output| {
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let in_force = || {
        let out = said(lab(&["status", "--json"]));
        let s: Value = serde_json::from_str(&out).unwrap();
        s["faults_in_force"].clone()
    };
    assert_eq!(
        said(lab(&["partition", "n1|n2,n3"])),
        "partitioned the network: n1|n2,n3\n"
    );
    assert!(
        rules(&namespaces[1]).contains("-j DROP"),
        "n2 drops n1: {}",
        rules(&namespaces[1])
    );
    // A later command adds to what stands: the slow link keeps the partition, and status says both.
    assert!(said(lab(&["slow", "n3", "--loss", "0.5"])).starts_with("links into n3 now: loss 50%"));
    assert!(
        rules(&namespaces[1]).contains("-j DROP"),
        "the partition stands"
    );
    assert_eq!(
        in_force(),
        json!([
            "n1 drops traffic from n2, n3",
            "n2 drops traffic from n1",
            "n3 drops traffic from n1",
            "links into n3: loss 50%"
        ])
    );
    assert_eq!(said(lab(&["heal"])), "healed every link\n");
    assert_eq!(in_force(), json!([]));
    assert!(!rules(&namespaces[1]).contains("DROP"));
    assert_eq!(lab(&["slow", "n2", "--loss", "0.3"]).status.code(), Some(0));
    assert!(
        rules(&namespaces[1]).contains("statistic"),
        "{}",
        rules(&namespaces[1])
    );
    let bad = lab(&["slow", "n7", "--loss", "0.3"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("no node named n7"));
    if !cluster::capability::netem_available() {
        let late = lab(&["slow", "n2", "--latency", "100ms"]);
        assert_eq!(late.status.code(), Some(2));
        assert!(stderr(&late).contains("sch_netem"), "{}", stderr(&late));
    }
    assert_eq!(lab(&["down"]).status.code(), Some(0));
    assert_network_gone(&run);
}

/// Seconds until a write to `primary` is readable on `replica` (through redis-cli).
fn replication_delay(primary: &str, replica: &str, value: &str) -> Duration {
    let port = |addr: &str| addr.rsplit(':').next().unwrap().to_string();
    let cli = |addr: &str, args: &[&str]| -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &port(addr)])
            .args(args)
            .output()
            .expect("redis-cli runs");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let started = Instant::now();
    assert_eq!(cli(primary, &["SET", "lab-key", value]), "OK");
    while cli(replica, &["GET", "lab-key"]) != value {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never replicated"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    started.elapsed()
}

#[test]
fn proxy_lab_runs_in_a_daemon_with_latency_by_hand() {
    if !cluster::capability::redis_for_test() {
        return;
    }
    let case = Case::new();
    let store = case.store.path().display().to_string();
    let lab = |args: &[&str]| case.cluster_ok(args);
    lab(&["up", "--target", "redis", "--nodes", "2", "--net", "proxy"]);
    let live = case.store.path().join("live");
    assert!(live.join("lab.sock").exists(), "the daemon listens");
    let out = lab(&["status", "--json"]);
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &s["nodes"];
    let (n1, n2) = (
        s[0]["addr"].as_str().unwrap(),
        s[1]["addr"].as_str().unwrap(),
    );
    let pids: Vec<u32> = (0..2)
        .map(|i| s[i]["pid"].as_u64().unwrap() as u32)
        .collect();

    let before = replication_delay(n1, n2, "a");
    // n2 replicates over the connection it opened to n1: the link into n1 carries it.
    lab(&["slow", "n1", "--latency", "400ms"]);
    let out = lab(&["status", "--json"]);
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        s["faults_in_force"],
        json!(["links into n1: latency 400ms"]),
        "the daemon's proxy says what stands"
    );
    let slowed = replication_delay(n1, n2, "b");
    assert!(
        slowed >= Duration::from_millis(350),
        "latency on the link into n1 shows: {before:?} before, {slowed:?} slowed"
    );
    lab(&["heal"]);
    let healed = replication_delay(n1, n2, "c");
    assert!(
        healed < Duration::from_millis(300),
        "heal restores it: {healed:?}"
    );

    let err = case.run(&["cluster", "--store", &store, "pause", "n7"]);
    assert_eq!(err.status.code(), Some(2));
    assert!(
        stderr(&err).contains("no node named n7"),
        "the daemon's errors reach the user"
    );

    lab(&["down"]);
    assert_all_gone(&pids);
    assert!(!live.join("lab.sock").exists() && !live.join("lab.json").exists());
}

#[test]
fn a_sigkilled_proxy_lab_daemon_takes_its_nodes_and_down_sweeps_the_rest() {
    if !cluster::capability::redis_for_test() {
        return;
    }
    let case = Case::new();
    let store = case.store.path().display().to_string();
    let up = case.run(&[
        "cluster", "--store", &store, "up", "--target", "redis", "--net", "proxy",
    ]);
    assert_eq!(up.status.code(), Some(0));
    let out = case.run(&["cluster", "--store", &store, "status", "--json"]);
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pids: Vec<u32> = (0..3)
        .map(|i| s["nodes"][i]["pid"].as_u64().unwrap() as u32)
        .collect();
    // The daemon is the parent of the nodes.
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pids[0])).unwrap();
    let daemon: i32 = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert_all_gone(&pids);
    let status = case.cluster(&["status"]);
    assert_eq!(status.status.code(), Some(2));
    assert!(
        stderr(&status).contains("does not answer"),
        "a gone daemon is named, not waited for"
    );
    let down = case.run(&["cluster", "--store", &store, "down"]);
    assert_eq!(down.status.code(), Some(0));
    let live = case.store.path().join("live");
    assert!(!live.join("lab.sock").exists() && !live.join("lab.json").exists());
}

#[test]
fn a_full_disk_mid_run_stops_the_run_with_a_clear_error() {
    // A small tmpfs as the store: the history fills it during the run. Mounting needs root,
    // which CI has; elsewhere the policy of netns_for_test applies (root is what both need).
    if !cluster::capability::netns_for_test() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir(&store).unwrap();
    let mounted = Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            "size=256k",
            "faultline-test",
            &store.display().to_string(),
        ])
        .status()
        .expect("mount runs");
    assert!(mounted.success(), "mount a tmpfs");
    /// Unmounts even when an assertion fails.
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let unmount = Unmount(&store);
    let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args([
            "test",
            "--net",
            "loopback",
            "--nemesis",
            "none",
            "--rate",
            "3000",
        ])
        .args([
            "--concurrency",
            "20",
            "--time-limit",
            "20s",
            "--seed",
            "9",
            "--store",
        ])
        .arg(&store)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = stderr(&out);
    let run = std::fs::read_dir(store.join("own-register"))
        .ok()
        .and_then(|mut d| d.next())
        .map(|e| e.unwrap().path());
    let pids = run.as_deref().map(node_pids).unwrap_or_default();
    drop(unmount);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the history could not be written") && err.contains("No space left"),
        "{err}"
    );
    assert_all_gone(&pids);
}

/// On a terminal each phase shows and ends with its time, the workload bar its rate; piped, the
/// same run prints only its notes and summary, with no escape codes.
#[test]
fn the_terminal_shows_each_phase_and_pipes_stay_plain() {
    let case = Case::new();
    let args = [
        "test",
        "--nemesis",
        "none",
        "--time-limit",
        "1s",
        "--seed",
        "2",
    ];
    let piped = case.run(&args);
    assert_eq!(piped.status.code(), Some(0), "{}", stderr(&piped));
    for text in [stdout(&piped), stderr(&piped)] {
        assert!(
            !text.contains('\u{1b}'),
            "no escape codes in a pipe: {text:?}"
        );
        assert!(!text.contains("starting the cluster"), "{text}");
    }
    // `script` (util-linux) gives the run a pseudo-terminal and copies what it drew.
    let store = case.store.path().display().to_string();
    let line = format!(
        "{} {} --store {store}",
        env!("CARGO_BIN_EXE_faultline"),
        args.join(" ")
    );
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("script runs");
    let drawn = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{drawn}");
    for phase in [
        "starting the cluster (3 own nodes): ready (",
        "recovering: waiting for a healthy cluster: healthy (",
        "keys checking the history",
        "/s) | ok ",
        "verdict: \u{1b}[1;32mVALID",
    ] {
        assert!(drawn.contains(phase), "{phase:?} in {drawn:?}");
    }
}

/// `check --no-explain` gives verdicts only; `--fail-fast` stops at the first invalid key and
/// leaves the keys it did not decide unknown, saying why; `--explain-time` sets the explanations'
/// time, and with none left a witness says it was not shrunk.
#[test]
fn check_fail_fast_and_no_explain() {
    let case = Case::new();
    let mut lines = Vec::new();
    for key in ["a", "b", "c"] {
        // Each key: write 1 acknowledged, then a read of nothing: a stale read.
        for (process, kind, f, value) in [
            (0, "invoke", "write", json!(1)),
            (0, "ok", "write", json!(1)),
            (1, "invoke", "read", Value::Null),
            (1, "ok", "read", Value::Null),
        ] {
            let i = lines.len();
            lines.push(
                json!({"index": i, "time": i * 1000, "process": process, "type": kind, "f": f,
                       "key": key, "value": value})
                .to_string(),
            );
        }
    }
    let file = case.store.path().join("three-stale.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let file = file.to_str().unwrap();

    let terse = case.run(&["check", "--no-explain", file]);
    assert_eq!(terse.status.code(), Some(1));
    let text = stdout(&terse);
    assert_eq!(
        text.matches(": invalid (2 operations)").count(),
        3,
        "{text}"
    );
    assert!(!text.contains("minimal witness"), "{text}");

    let hurried = case.run(&["check", "--explain-time", "0", file]);
    assert_eq!(hurried.status.code(), Some(1));
    let text = stdout(&hurried);
    assert_eq!(
        text.matches("witness (2 of 2 operations; not shrunk: out of time):")
            .count(),
        3,
        "{text}"
    );
    let patient = case.run(&["check", "--explain-time", "1m", file]);
    assert_eq!(patient.status.code(), Some(1));
    let text = stdout(&patient);
    assert_eq!(
        text.matches("minimal witness (2 of 2 operations):").count(),
        3,
        "{text}"
    );

    let fast = case.run(&["check", "--fail-fast", "--json", file]);
    assert_eq!(fast.status.code(), Some(1));
    let json: Value = serde_json::from_str(&stdout(&fast)).unwrap();
    let keys = json[0]["report"]["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3);
    assert!(keys.iter().any(|k| k["validity"] == "invalid"), "{json:#}");
    for k in keys.iter().filter(|k| k["validity"] != "invalid") {
        assert_eq!(k["validity"], "unknown", "{k:#}");
        assert!(k.to_string().contains("fail fast"), "{k:#}");
    }
}
