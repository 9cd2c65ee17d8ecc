//! Remote nodes over SSH (`faultline test --nodes HOST,…`), without remote machines: the test
//! makes network namespaces of its own (a bridge and a namespace per host, as netns mode
//! does), starts an sshd inside each with host keys and an authorized key made for the test,
//! and writes the known_hosts file, so host-key checking stays on. faultline then runs against
//! the namespaces' addresses as it would against machines.

mod common;

use common::hosts::*;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `faultline test` of own nodes on `hosts` (logged in as root) under `nemesis` every second,
/// for `time`.
fn own_args(hosts: &Hosts, nemesis: &str, time: &str, seed: &str) -> Vec<String> {
    let mut args: Vec<String> = [
        "test",
        "--target",
        "own",
        "--nemesis",
        nemesis,
        "--nemesis-interval",
        "1s",
        "--time-limit",
        time,
        "--seed",
        seed,
    ]
    .map(String::from)
    .to_vec();
    args.extend(hosts.ssh_args("user", &hosts.path("known_hosts")));
    args
}

/// A 5 s run of own nodes on `hosts` under `nemesis` with `seed`, asserted valid and complete.
fn own_run_is_valid(hosts: &Hosts, nemesis: &str, seed: &str) -> Case {
    let case = Case::new();
    let args = own_args(hosts, nemesis, "5s", seed);
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.push("--json");
    let out = case.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_run_dir_complete(&case, "valid");
    case
}

/// Own nodes on three hosts under pauses: faultline uploads itself, starts `faultline node` on
/// each host bound to the host's address, pauses and resumes by pid over SSH, brings the logs
/// back and leaves nothing on the hosts.
#[test]
fn own_nodes_on_remote_hosts_under_pauses_are_valid() {
    let Some(hosts) = Hosts::start(3) else {
        return;
    };
    let case = own_run_is_valid(&hosts, "pause", "5");
    let run = case.latest();
    let history = history_lines(&run);
    let pauses = history
        .iter()
        .filter(|e| e["process"] == "nemesis" && e["type"] == "info" && e["f"] == "pause")
        .count();
    assert!(pauses > 0, "a pause was applied: {history:?}");
    for i in 1..=hosts.ips.len() {
        let log = std::fs::read_to_string(run.join(format!("nodes/n{i}/node.log"))).unwrap();
        assert!(!log.is_empty(), "n{i}'s log brought back");
    }
    let layout = std::fs::read_to_string(run.join("nodes/network.json")).unwrap();
    for ip in &hosts.ips {
        assert!(layout.contains(ip.as_str()), "{layout}");
    }
    for dir in remote_dirs(&run) {
        assert!(!dir.exists(), "{} left on its host", dir.display());
    }
}

/// A host whose key is not in known_hosts is refused, naming the host and the way out; with
/// --ssh-accept-new it is trusted (loudly) and its key added.
#[test]
fn an_unknown_host_key_is_refused_unless_trusted_on_first_use() {
    let Some(hosts) = Hosts::start(1) else {
        return;
    };
    let case = Case::new();
    let empty = hosts.path("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    let quick = ["test", "--nemesis", "none", "--time-limit", "1s", "--json"];
    let out = run(&case, &quick, &hosts.ssh_args("user", &empty));
    let err = stderr(&out);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        err.contains(&format!("host {}", hosts.ips[0])) && err.contains("--ssh-accept-new"),
        "{err}"
    );
    let mut trusting = hosts.ssh_args("user", &empty);
    trusting.push("--ssh-accept-new".into());
    let out = run(&case, &quick, &trusting);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("WARNING: --ssh-accept-new"));
    // ssh may hash the names in known_hosts: ask ssh-keygen whether the host is there.
    let found = Command::new("ssh-keygen")
        .args(["-F", &hosts.ips[0], "-f"])
        .arg(&empty)
        .output()
        .unwrap();
    assert!(found.status.success(), "key added to {}", empty.display());
}

/// A key the host does not authorize, a port nothing listens on, and a changed host key each
/// stop the run before it starts, naming the host.
#[test]
fn login_failures_name_the_host() {
    let Some(hosts) = Hosts::start(1) else {
        return;
    };
    let case = Case::new();
    let ip = &hosts.ips[0];
    let quick = ["test", "--nemesis", "none", "--time-limit", "1s", "--json"];
    let known = hosts.path("known_hosts");

    let out = run(&case, &quick, &hosts.ssh_args("stranger", &known));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("host {ip}")) && err.contains("refused the key"),
        "{err}"
    );

    let mut closed = hosts.ssh_args("user", &known);
    closed.extend(["--ssh-port".into(), "2222".into()]);
    let out = run(&case, &quick, &closed);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("host {ip} is unreachable on port 2222")),
        "{err}"
    );

    // known_hosts holding another key for the host: refused even with --ssh-accept-new.
    let other = hosts.path("other_known_hosts");
    let public = std::fs::read_to_string(hosts.path("stranger.pub")).unwrap();
    let mut fields = public.split_whitespace();
    let (kind, blob) = (fields.next().unwrap(), fields.next().unwrap());
    std::fs::write(&other, format!("{ip} {kind} {blob}\n")).unwrap();
    let mut changed = hosts.ssh_args("user", &other);
    changed.push("--ssh-accept-new".into());
    let out = run(&case, &quick, &changed);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("host {ip}")) && err.contains("CHANGED"),
        "{err}"
    );
}

/// Own nodes on three hosts under partitions: DROP rules in faultline's chain on each host,
/// the control node never cut (clients and SSH go on), and no chain left at the end.
#[test]
fn own_nodes_on_remote_hosts_under_partitions() {
    let Some(hosts) = Hosts::start(3) else {
        return;
    };
    let case = own_run_is_valid(&hosts, "partition", "6");
    let history = history_lines(&case.latest());
    let cuts = history
        .iter()
        .filter(|e| e["process"] == "nemesis" && e["type"] == "info" && e["f"] == "partition")
        .count();
    assert!(cuts > 0, "a partition was applied: {history:?}");
    for i in 0..hosts.ips.len() {
        assert!(!hosts.has_chain(i), "host {i} keeps faultline's chain");
    }
}

/// Loss over SSH: random drops of the peers' packets in each host's chain while it holds, the
/// chain emptied at heal and gone at the end; latency, which would shape the host's interface
/// (faultline's own connection included), is refused.
#[test]
fn own_nodes_on_remote_hosts_under_loss() {
    let Some(hosts) = Hosts::start(3) else {
        return;
    };
    let ssh = hosts.ssh_args("user", &hosts.path("known_hosts"));
    // Applying a fault over SSH takes what the machine's load makes it take: a run whose record
    // shows no loss applied (inconclusive, exit 3) is a miss, and the next seed is tried.
    let mut missed = Vec::new();
    for seed in ["6", "7", "8"] {
        let case = Case::new();
        let args = [
            "test",
            "--target",
            "own",
            "--nemesis",
            "loss,partition",
            "--nemesis-interval",
            "1s",
            "--time-limit",
            "6s",
            "--seed",
            seed,
            "--json",
        ];
        let out = run(&case, &args, &ssh);
        let results = case.results();
        for i in 0..hosts.ips.len() {
            assert!(!hosts.has_chain(i), "host {i} keeps faultline's chain");
        }
        if out.status.code() == Some(3) {
            missed.push(common::missed(
                seed,
                "a fault never applied",
                Some(3),
                &results,
            ));
            continue;
        }
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_run_dir_complete(&case, "valid");
        assert!(
            results["faults"]["applied"]["loss"].as_u64() > Some(0),
            "loss was applied: {results:#}"
        );
        missed.clear();
        break;
    }
    assert!(
        missed.is_empty(),
        "no run applied loss and partition:\n{}",
        missed.join("\n")
    );
    let case = Case::new();
    let out = run(
        &case,
        &["test", "--target", "own", "--nemesis", "latency"],
        &ssh,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("remote hosts take loss only"),
        "{}",
        stderr(&out)
    );
}

/// Redis on remote hosts: redis-server found on each host's PATH and started there, with none
/// on the control node's.
#[test]
fn redis_on_remote_hosts_under_pauses_is_valid() {
    let Some(hosts) = Hosts::start(3) else {
        return;
    };
    if !cluster::capability::redis_for_test() {
        return;
    }
    let case = Case::new();
    let ssh = hosts.ssh_args("user", &hosts.path("known_hosts"));
    let quick = [
        "test",
        "--target",
        "redis",
        "--nemesis",
        "pause",
        "--nemesis-interval",
        "1s",
    ];
    // The control node has no redis-server of its own: only the hosts' PATHs are asked.
    let bin = tempfile::tempdir().unwrap();
    let ssh_client = cluster::capability::find_in_path("ssh").expect("an ssh client");
    std::os::unix::fs::symlink(&ssh_client, bin.path().join("ssh")).unwrap();
    let args: Vec<&str> = [&quick[..], &["--time-limit", "4s", "--seed", "8"]]
        .concat()
        .into_iter()
        .chain(ssh.iter().map(String::as_str))
        .collect();
    let out = case.cmd(&args).env("PATH", bin.path()).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_run_dir_complete(&case, "valid");
}

/// A host without the system's program stops the run before anything starts, naming the host,
/// the program and what to install (or that faultline can, with --install).
#[test]
fn a_missing_program_names_the_host() {
    // The host's logins find only what a shell and faultline's own commands need.
    let bin = tempfile::tempdir().unwrap();
    for tool in [
        "sh", "mkdir", "cat", "mv", "chmod", "rm", "rmdir", "kill", "setsid", "readlink", "true",
    ] {
        let real = cluster::capability::find_in_path(tool).unwrap();
        std::os::unix::fs::symlink(real, bin.path().join(tool)).unwrap();
    }
    let setup = Setup {
        path: Some(bin.path()),
        ..Setup::default()
    };
    let Some(hosts) = Hosts::start_with(1, &setup) else {
        return;
    };
    let case = Case::new();
    let ssh = hosts.ssh_args("user", &hosts.path("known_hosts"));
    let out = run(
        &case,
        &[
            "test",
            "--target",
            "redis",
            "--nemesis",
            "none",
            "--time-limit",
            "1s",
        ],
        &ssh,
    );
    let err = stderr(&out);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        err.contains(&format!(
            "command not found on host {}: redis-server (install redis-server, or pass --install)",
            hosts.ips[0]
        )),
        "{err}"
    );
}

/// The records a run keeps on its hosts, one per node, read from this machine's filesystem
/// (the namespace hosts share it; a real host's is read over SSH by `cluster down`).
fn host_records(run: &Path) -> Vec<cluster::net::host_record::HostRecord> {
    remote_dirs(run)
        .iter()
        .map(|dir| {
            let path = cluster::net::host_record::HostRecord::path_for(dir);
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{} on its host: {e}", path.display()));
            serde_json::from_str(&text).expect("a host record")
        })
        .collect()
}

/// The fault in force now by the history so far: the kind of the latest nemesis event, if it
/// starts a fault (`pause`, `partition`) rather than ends one.
fn in_force(history: &[serde_json::Value]) -> Option<String> {
    let last = history
        .iter()
        .rev()
        .find(|e| e["process"] == "nemesis" && e["type"] == "info")?;
    let f = last["f"].as_str()?;
    matches!(f, "pause" | "partition").then(|| f.to_string())
}

/// Interrupted (SIGINT) while a fault is in force on the hosts, a remote run still heals,
/// resumes, stops its daemons and leaves nothing on any host: no chain, no directory, no record.
#[test]
fn an_interrupted_remote_run_leaves_every_host_clean() {
    let Some(hosts) = Hosts::start(3) else {
        return;
    };
    let case = Case::new();
    let args = own_args(&hosts, "pause,partition", "60s", "4");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = spawn(&case, &args);
    let run = wait_for(&case, &mut child, "a fault in force", |run| {
        in_force(&history_so_far(run)).is_some()
    });
    let dirs = remote_dirs(&run);
    let records: Vec<PathBuf> = dirs
        .iter()
        .map(|d| cluster::net::host_record::HostRecord::path_for(d))
        .collect();
    let pids = node_pids(&run);
    assert_eq!(
        interrupt(&mut child),
        Some(130),
        "an interrupted run exits 130"
    );
    let history = history_lines(&run);
    let results = case.results();
    assert_eq!(results["ended"], "interrupted", "{results:#}");
    let reason = results["reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("interrupted by SIGINT"), "{results:#}");
    assert!(
        history.iter().any(|e| e["process"] == "nemesis"
            && e["type"] == "info"
            && matches!(e["f"].as_str(), Some("pause" | "partition"))),
        "a fault was applied before the interrupt"
    );
    assert_all_gone(&pids);
    for i in 0..hosts.ips.len() {
        assert!(!hosts.has_chain(i), "host {i} keeps faultline's chain");
    }
    for (dir, record) in dirs.iter().zip(&records) {
        assert!(!dir.exists(), "{} left on its host", dir.display());
        assert!(!record.exists(), "{} left on its host", record.display());
    }
    for i in 1..=hosts.ips.len() {
        let log = std::fs::read_to_string(run.join(format!("nodes/n{i}/node.log")));
        assert!(log.is_ok_and(|l| !l.is_empty()), "n{i}'s log brought back");
    }
}

/// `faultline cluster down --nodes` for `hosts` from `case`'s store, as JSON: one sweep per host.
fn cluster_down(case: &Case, hosts: &Hosts) -> Vec<serde_json::Value> {
    let ssh = hosts.ssh_args("user", &hosts.path("known_hosts"));
    let mut words = vec!["down"];
    words.extend(ssh.iter().map(String::as_str));
    words.push("--json");
    let out = case.cluster(&words);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("down --json");
    v["hosts"].as_array().expect("a sweep per host").clone()
}

/// Redis started on the hosts by its bare name runs as another file (Debian's `redis-server`
/// links to `redis-check-rdb`): after the control node is killed, `cluster down --nodes` still
/// knows the recorded servers for its own and stops them.
#[test]
fn cluster_down_stops_a_killed_runs_redis_servers() {
    let Some(hosts) = Hosts::start(2) else {
        return;
    };
    let case = Case::new();
    let ssh = hosts.ssh_args("user", &hosts.path("known_hosts"));
    let mut args = vec![
        "test",
        "--target",
        "redis",
        "--nemesis",
        "none",
        "--time-limit",
        "60s",
    ];
    args.extend(ssh.iter().map(String::as_str));
    let scratch = tempfile::tempdir().unwrap();
    let mut child = case
        .cmd(&args)
        .env("TMPDIR", scratch.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("faultline starts");
    let run = wait_for(&case, &mut child, "an acknowledged write", |run| {
        history_so_far(run)
            .iter()
            .any(|e| e["type"] == "ok" && e["f"] == "write")
    });
    let records = host_records(&run);
    child.kill().unwrap();
    child.wait().unwrap();
    let pids: Vec<u32> = records.iter().map(|r| r.daemons[0].pid).collect();
    for (i, pid) in pids.iter().enumerate() {
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).expect("it outlives faultline");
        assert_ne!(
            exe.file_name().unwrap(),
            "redis-server",
            "the case this test is for: n{} runs as {}",
            i + 1,
            exe.display()
        );
    }
    let swept = cluster_down(&Case::new(), &hosts);
    for (i, h) in swept.iter().enumerate() {
        assert_eq!(h["swept"]["stopped"], serde_json::json!([pids[i]]), "{h:#}");
    }
    assert_all_gone(&pids);
}

/// A suite file's `[nodes]` table names the hosts and the login once: every test that places
/// its nodes nowhere itself runs on those hosts, and one that asks for `net` runs here.
#[test]
fn a_suites_nodes_table_puts_its_tests_on_the_hosts() {
    let Some(hosts) = Hosts::start(3) else {
        return;
    };
    let case = Case::new();
    let file = case.store.path().join("remote.toml");
    let hosts_list: Vec<String> = hosts.ips.iter().map(|ip| format!("\"{ip}\"")).collect();
    std::fs::write(
        &file,
        format!(
            "name = \"remote\"\n\n[nodes]\nhosts = [{}]\nssh-user = \"root\"\n\
             ssh-key = \"{}\"\nssh-known-hosts = \"{}\"\n\n\
             [[test]]\nname = \"paused\"\ntarget = \"own\"\nnemesis = \"pause\"\n\
             nemesis-interval = \"1s\"\ntime-limit = \"4s\"\n\n\
             [[test]]\nname = \"here\"\ntarget = \"own\"\nnet = \"loopback\"\n\
             nemesis = \"none\"\ntime-limit = \"2s\"\n",
            hosts_list.join(", "),
            hosts.path("user").display(),
            hosts.path("known_hosts").display()
        ),
    )
    .unwrap();
    let store = case.store.path().display().to_string();
    let out = case.run(&["suite", &file.display().to_string(), "--store", &store]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let suites = case.store.path().join("suites/remote");
    let dir = std::fs::read_dir(&suites)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("suite.json")).unwrap()).unwrap();
    let layout = |i: usize| -> serde_json::Value {
        let run = PathBuf::from(summary["tests"][i]["run_dir"].as_str().unwrap());
        let text = std::fs::read_to_string(run.join("nodes/network.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let remote = layout(0);
    assert_eq!(remote["mode"], "ssh", "{remote:#}");
    let text = remote.to_string();
    for ip in &hosts.ips {
        assert!(text.contains(ip.as_str()), "{remote:#}");
    }
    assert_eq!(layout(1)["mode"], "loopback");
}

/// A node's pid as the run's pid file has it now.
fn pid_file(run: &Path, node: &str) -> Option<u32> {
    std::fs::read_to_string(run.join("nodes").join(node).join("pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The nodes of the first nemesis event `f` of `history` that did not fail.
fn first_fault(history: &[serde_json::Value], f: &str) -> Option<Vec<String>> {
    history
        .iter()
        .find(|e| e["process"] == "nemesis" && e["f"] == f && e["error"].is_null())
        .map(|e| {
            e["value"]["nodes"]
                .as_array()
                .map(|n| n.iter().map(|n| n.as_str().unwrap().to_string()).collect())
                .unwrap_or_default()
        })
}

/// A control node killed outright (SIGKILL: no teardown) leaves its daemons, its chain and its
/// directories on the hosts, and each host's record of them, kept current as the run went (a
/// killed node's restart recorded its new pid). `faultline cluster down --nodes` from a store
/// that knows nothing of the run logs in to each host, stops exactly the recorded daemons,
/// removes the chain and the directories, and says so; a second sweep finds nothing.
#[test]
fn cluster_down_on_the_hosts_cleans_up_after_the_control_node_is_killed() {
    let Some(hosts) = Hosts::start(3) else {
        return;
    };
    let case = Case::new();
    let args = own_args(&hosts, "kill,partition", "60s", "9");
    let all: Vec<&str> = args.iter().map(String::as_str).collect();
    // Its ssh connections' control directories go under a directory of the test's: a
    // faultline killed outright cannot remove them itself.
    let scratch = tempfile::tempdir().unwrap();
    let mut child = case
        .cmd(&all)
        .env("TMPDIR", scratch.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("faultline starts");
    // Each node's first pid: read before the history records any kill, so before any restart
    // (a restart follows its kill's record by an interval).
    let first: std::cell::RefCell<Option<Vec<u32>>> = Default::default();
    let run = wait_for(
        &case,
        &mut child,
        "a kill restarted and a partition",
        |run| {
            let pids: Option<Vec<u32>> = (1..=3).map(|i| pid_file(run, &format!("n{i}"))).collect();
            let history = history_so_far(run);
            if first.borrow().is_none() && first_fault(&history, "kill").is_none() {
                *first.borrow_mut() = pids;
            }
            first_fault(&history, "restart").is_some()
                && first_fault(&history, "partition").is_some()
        },
    );
    let first = first
        .into_inner()
        .expect("the nodes' pids were read before the first kill");
    let history = history_lines(&run);
    let killed = first_fault(&history, "restart").unwrap();
    let records = host_records(&run);
    for (i, record) in records.iter().enumerate() {
        let node = format!("n{}", i + 1);
        assert_eq!(record.node, node);
        assert_eq!(record.addr.to_string(), hosts.ips[i]);
        assert!(
            record.chain,
            "{node}: the chain is recorded before it is made"
        );
        let now = pid_file(&run, &node).unwrap();
        assert_eq!(
            record.daemons.iter().map(|d| d.pid).collect::<Vec<_>>(),
            vec![now],
            "{node}'s record holds its current pid"
        );
        if killed.contains(&node) {
            assert_ne!(now, first[i], "{node} was killed and restarted: a new pid");
        }
    }
    child.kill().unwrap(); // SIGKILL: no handler runs, nothing is torn down
    child.wait().unwrap();
    let pids: Vec<u32> = records.iter().map(|r| r.daemons[0].pid).collect();
    for (i, pid) in pids.iter().enumerate() {
        assert!(
            Path::new(&format!("/proc/{pid}")).exists(),
            "n{}'s daemon outlives the control node",
            i + 1
        );
        assert!(hosts.has_chain(i), "host {i} keeps the chain");
    }
    // Another store: nothing of the run is known here but the hosts.
    let elsewhere = Case::new();
    let swept = cluster_down(&elsewhere, &hosts);
    assert_eq!(swept.len(), 3);
    for (i, h) in swept.iter().enumerate() {
        assert_eq!(h["host"], hosts.ips[i].as_str());
        let s = &h["swept"];
        assert_eq!(s["records"], 1, "{h:#}");
        // Other tests' hosts may share the filesystem too: at least this run's two others.
        assert!(
            s["others"].as_u64() >= Some(2),
            "the other hosts' records are theirs: {h:#}"
        );
        assert_eq!(s["stopped"], serde_json::json!([pids[i]]), "{h:#}");
        assert_eq!(s["chain"], true, "{h:#}");
        assert_eq!(
            s["dirs"],
            serde_json::json!([records[i].dir.display().to_string()]),
            "{h:#}"
        );
    }
    assert_all_gone(&pids);
    for (i, record) in records.iter().enumerate() {
        assert!(!hosts.has_chain(i), "host {i} keeps faultline's chain");
        assert!(!record.dir.exists(), "{} left", record.dir.display());
        let file = cluster::net::host_record::HostRecord::path_for(&record.dir);
        assert!(!file.exists(), "{} left", file.display());
    }
    assert!(
        !records[0].dir.parent().unwrap().exists(),
        "the run's directory on the hosts is gone"
    );
    for h in cluster_down(&elsewhere, &hosts) {
        assert_eq!(h["swept"]["records"], 0, "{h:#}");
        assert_eq!(h["swept"]["stopped"], serde_json::json!([]), "{h:#}");
    }
}

/// A login that is not root runs every command through `sudo -n`; where sudo would ask a
/// password, the run stops before anything starts, naming the host, the login and the way out.
#[test]
fn sudo_wanting_a_password_names_the_host() {
    let setup = Setup {
        mounts: Some(WITH_USER),
        other_users: true,
        ..Setup::default()
    };
    if !cluster::capability::sudo_for_test() {
        return;
    }
    let Some(hosts) = Hosts::start_with(1, &setup) else {
        return;
    };
    let case = Case::new();
    let ssh = hosts.ssh_args_as(USER, "user", &hosts.path("known_hosts"));
    let quick = ["test", "--nemesis", "none", "--time-limit", "1s"];
    let out = run(&case, &quick, &ssh);
    let err = stderr(&out);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        err.contains(&format!(
            "host {ip}: sudo wants a password for {USER}@{ip}; give the user passwordless sudo",
            ip = hosts.ips[0]
        )),
        "{err}"
    );
}

/// A host whose disk is full (its /tmp a 1 MiB tmpfs: the node's directory and record fit, the
/// uploaded faultline does not) stops the run, naming the host and the lack of space, and
/// leaves nothing of the run on it.
#[test]
fn a_full_disk_names_the_host() {
    let setup = Setup {
        mounts: Some("mount -t tmpfs -o size=1m faultline-full /tmp"),
        ..Setup::default()
    };
    let Some(hosts) = Hosts::start_with(1, &setup) else {
        return;
    };
    let case = Case::new();
    let ssh = hosts.ssh_args("user", &hosts.path("known_hosts"));
    let quick = [
        "test",
        "--target",
        "own",
        "--nemesis",
        "none",
        "--time-limit",
        "1s",
    ];
    let out = run(&case, &quick, &ssh);
    let err = stderr(&out);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        err.contains(&format!("host {}: no space left on device", hosts.ips[0])),
        "{err}"
    );
    // The host's own /tmp, seen in its sshd's mount namespace: the run's directory is gone,
    // and so is its record.
    let left = Command::new("nsenter")
        .arg(format!("--mount=/proc/{}/ns/mnt", hosts.sshds[0].id()))
        .args([
            "sh",
            "-c",
            "ls -A /tmp; echo --; ls -A /tmp/faultline-records",
        ])
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&left.stdout);
    let (tmp, records) = listing.split_once("--\n").expect("both listings");
    assert!(
        tmp.lines().all(|l| l == "faultline-records"),
        "the host's /tmp: {tmp}"
    );
    assert_eq!(records.trim(), "", "records left on the host");
}

/// A file the test put on the hosts' shared filesystem, removed when dropped.
struct Planted(PathBuf);

impl Drop for Planted {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A record naming a directory faultline does not make (here /etc, with a daemon whose pid is
/// this test's own) is not acted on: nothing is signalled or removed, the record stays, and
/// `cluster down --nodes` fails naming the host and the record.
#[test]
fn a_record_naming_another_directory_is_left_alone() {
    let Some(hosts) = Hosts::start(1) else {
        return;
    };
    let record = cluster::net::host_record::HostRecord {
        node: "n1".into(),
        addr: hosts.ips[0].parse().unwrap(),
        dir: PathBuf::from("/etc"),
        chain: false,
        daemons: vec![cluster::net::host_record::HostDaemon {
            pid: std::process::id(),
            program: std::env::current_exe().unwrap(),
            marker: String::new(),
        }],
        attached: Vec::new(),
    };
    let path = Path::new(cluster::net::host_record::RECORDS_DIR)
        .join(format!("faultline-{}-0-planted.json", std::process::id()));
    std::fs::create_dir_all(cluster::net::host_record::RECORDS_DIR).unwrap();
    std::fs::write(&path, serde_json::to_string(&record).unwrap() + "\n").unwrap();
    let planted = Planted(path);
    let case = Case::new();
    let mut words = vec!["down".to_string()];
    words.extend(hosts.ssh_args("user", &hosts.path("known_hosts")));
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let out = case.cluster(&words);
    let err = stderr(&out);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        err.contains(&format!("host {}: ", hosts.ips[0]))
            && err.contains(&planted.0.display().to_string())
            && err.contains("names /etc, which is not a directory faultline makes"),
        "{err}"
    );
    assert!(planted.0.exists(), "the record is left");
    assert!(Path::new("/etc/passwd").exists());
}
