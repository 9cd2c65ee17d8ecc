//! `faultline test --attach ADDR,… --nodes HOST,…`: a Redis cluster started outside faultline
//! on hosts faultline reaches over SSH — here the test's own hosts (network namespaces with an
//! sshd each, `common::hosts`), a redis-server started by the test inside each namespace, a
//! child of the test stopped by pid when it ends. faultline logs in to each host, finds the pid
//! listening on the node's port there, checks it is redis-server, pauses it by pid and cuts the
//! hosts apart with its firewall chain; it never kills or stops the servers, and leaves no rule,
//! no paused process and none of the run's keys behind — after a crash of its own too, through
//! `cluster down --nodes`. What it cannot do is refused, naming the option, host or port.

mod common;

use common::hosts::*;
use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The port every node listens on, on its own host.
const PORT: u16 = 6379;

/// Starts `program args` inside host `i`'s namespace (`ip netns exec` execs in place: the
/// child's pid is the program's), its output in `log`.
fn in_host(hosts: &Hosts, i: usize, program: &str, args: &[String], log: &Path) -> Started {
    let out = std::fs::File::create(log).unwrap();
    let child = Command::new("ip")
        .args(["netns", "exec", &hosts.net.hosts()[i].netns, program])
        .args(args)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| panic!("{program} in host {i}: {e}"));
    Started { child }
}

/// A connection to the Redis at `ip:port`, retried while it starts (at most 10 s).
fn connect(ip: &str, port: u16) -> redis::Connection {
    let client = redis::Client::open(format!("redis://{ip}:{port}/")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match client.get_connection() {
            Ok(conn) => return conn,
            Err(e) if Instant::now() > deadline => panic!("redis at {ip}:{port}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// A redis-server on host `i` at `port`, its files under `dir`, replicating from `primary`
/// when given.
fn redis_on(hosts: &Hosts, i: usize, port: u16, primary: Option<&str>, dir: &Path) -> Started {
    let ip = &hosts.ips[i];
    let node_dir = dir.join(format!("h{}-{port}", i + 1));
    std::fs::create_dir_all(&node_dir).unwrap();
    let mut args: Vec<String> = [
        "--port",
        &port.to_string(),
        "--bind",
        ip,
        // Debian's default refuses clients from other addresses.
        "--protected-mode",
        "no",
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--dir",
        &node_dir.display().to_string(),
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    if let Some(primary) = primary {
        args.extend(["--replicaof".into(), primary.into(), PORT.to_string()]);
    }
    in_host(hosts, i, "redis-server", &args, &node_dir.join("log"))
}

/// A Redis primary on h1 and a replica on each other host, all at [`PORT`], linked, with a key
/// outside any run's prefix.
struct Servers {
    servers: Vec<Started>,
    ips: Vec<String>,
    // Dropped after the servers.
    _dir: tempfile::TempDir,
}

impl Servers {
    /// Started on `hosts` and replicating, or `None` where Redis is missing (the skip policy).
    fn start(hosts: &Hosts) -> Option<Servers> {
        if !cluster::capability::redis_for_test() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let primary = hosts.ips[0].clone();
        let mut servers = vec![redis_on(hosts, 0, PORT, None, dir.path())];
        let mut conn = connect(&primary, PORT);
        redis::cmd("SET")
            .arg("foreign")
            .arg("keep-me")
            .query::<()>(&mut conn)
            .unwrap();
        for i in 1..hosts.ips.len() {
            servers.push(redis_on(hosts, i, PORT, Some(&primary), dir.path()));
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        for ip in &hosts.ips[1..] {
            let mut conn = connect(ip, PORT);
            loop {
                let info: String = redis::cmd("INFO")
                    .arg("replication")
                    .query(&mut conn)
                    .unwrap();
                if info.contains("master_link_status:up") {
                    break;
                }
                assert!(Instant::now() < deadline, "{ip} never linked: {info}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Some(Servers {
            servers,
            ips: hosts.ips.clone(),
            _dir: dir,
        })
    }

    /// `--attach`'s value: every node at its host's address, h1 first.
    fn addrs(&self) -> String {
        self.ips
            .iter()
            .map(|ip| format!("{ip}:{PORT}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The servers' pids, h1 first.
    fn pids(&self) -> Vec<u32> {
        self.servers.iter().map(Started::pid).collect()
    }

    /// Every server runs unpaused with the pid the test started it with, and the primary holds
    /// the foreign key alone, as the test set it.
    fn assert_untouched(&mut self) {
        for (i, s) in self.servers.iter_mut().enumerate() {
            assert!(s.running(), "h{}'s redis-server runs, unpaused", i + 1);
        }
        let mut conn = connect(&self.ips[0], PORT);
        let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut conn).unwrap();
        assert_eq!(keys, ["foreign"], "only the key that was there before");
        let value: Option<String> = redis::cmd("GET").arg("foreign").query(&mut conn).unwrap();
        assert_eq!(value.as_deref(), Some("keep-me"));
    }
}

/// `faultline test --target redis --attach ADDRS --json EXTRA… SSH…`.
fn attach_run(case: &Case, addrs: &str, extra: &[&str], ssh: &[String]) -> std::process::Output {
    let mut args = vec!["test", "--target", "redis", "--attach", addrs, "--json"];
    args.extend_from_slice(extra);
    run(case, &args, ssh)
}

/// The nemesis events `f` of `history` that did not fail.
fn applied<'a>(history: &'a [Value], f: &str) -> Vec<&'a Value> {
    history
        .iter()
        .filter(|e| e["process"] == "nemesis" && e["f"] == f && e["error"].is_null())
        .collect()
}

/// The run's records on its hosts: gone, with the directories they named.
fn assert_nothing_left_on_the_hosts(hosts: &Hosts, run: &Path) {
    for i in 0..hosts.ips.len() {
        assert!(!hosts.has_chain(i), "host {i} keeps faultline's chain");
    }
    for dir in remote_dirs(run) {
        assert!(!dir.exists(), "{} left on its host", dir.display());
        let record = cluster::net::host_record::HostRecord::path_for(&dir);
        assert!(!record.exists(), "{} left on its host", record.display());
    }
}

/// A fault kind as a run records it: its name in results.json's `faults.applied`, and the
/// history's `f` for its start and for its heal.
type Edges = (&'static str, &'static str, &'static str);

/// Runs `--nemesis NEMESIS` against `servers` through `hosts` with each seed until a run's own
/// record shows every kind of `kinds` applied and each application healed; asserts that run
/// valid; returns its case (which holds the run's store) and its results. Every run, whatever its
/// verdict, must leave the servers, the hosts and the keys as they were.
fn valid_under(
    hosts: &Hosts,
    servers: &mut Servers,
    nemesis: &str,
    kinds: &[Edges],
    seeds: &[&str],
) -> (Case, Value) {
    let ssh = hosts.ssh_args("user", &hosts.path("known_hosts"));
    let addrs = servers.addrs();
    let mut misses = Vec::new();
    // Applying a fault over SSH takes what the machine's load makes it take: a run whose record
    // shows a requested kind never applied (inconclusive, exit 3) is a miss; the next seed is
    // tried.
    for seed in seeds {
        let case = Case::new();
        let out = attach_run(
            &case,
            &addrs,
            &[
                "--nemesis",
                nemesis,
                "--nemesis-interval",
                "1s",
                "--time-limit",
                "8s",
                "--rate",
                "50",
                "--seed",
                seed,
            ],
            &ssh,
        );
        let results = case.results();
        let run = case.latest();
        servers.assert_untouched();
        assert_nothing_left_on_the_hosts(hosts, &run);
        let attached = &results["attached"];
        assert_eq!(attached["keys"]["outcome"], "removed", "{attached:#}");
        if out.status.code() == Some(3) {
            misses.push(missed(seed, "a fault never applied", Some(3), &results));
            continue;
        }
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(results["verdict"], "valid", "{results:#}");
        let history = history_lines(&run);
        for (kind, start, heal) in kinds {
            let (started, healed) = (applied(&history, start), applied(&history, heal));
            assert!(!started.is_empty(), "no {start} in the history");
            assert_eq!(
                started.len(),
                healed.len(),
                "every {start} was healed: {started:?} {healed:?}"
            );
            assert!(
                results["faults"]["applied"][kind].as_u64() > Some(0),
                "{kind}: {:#}",
                results["faults"]
            );
        }
        // The faults cut or thinned the hosts' links to each other, never the control node's:
        // clients went on through every fault window.
        assert!(results["check"]["counts"]["ok"].as_u64() > Some(20));
        return (case, results);
    }
    panic!("no run applied {nemesis}:\n{}", misses.join("\n"));
}

/// The whole path: faultline finds each server's pid on its host, pauses servers by pid and
/// cuts the hosts apart (faults the run's own record shows applied and healed), checks a
/// register on the primary — valid, with no failover to lose a write — and leaves every server
/// running with its pid, no chain, no record and none of its keys.
#[test]
fn an_attached_redis_on_remote_hosts_is_paused_and_partitioned_and_left_as_it_was() {
    let Some(hosts) = Hosts::start(3) else {
        return;
    };
    let Some(mut servers) = Servers::start(&hosts) else {
        return;
    };
    let kinds = [
        ("pause", "pause", "resume"),
        ("partition", "partition", "heal"),
    ];
    let (case, results) = valid_under(
        &hosts,
        &mut servers,
        "partition,pause",
        &kinds,
        &["11", "12", "13"],
    );
    let attached = &results["attached"];
    assert!(
        attached["faults"].as_str().unwrap().contains("over SSH"),
        "{attached:#}"
    );
    // Each node with the pid of the server the test started on its host.
    for (i, node) in attached["nodes"].as_array().unwrap().iter().enumerate() {
        assert_eq!(node["name"], format!("n{}", i + 1));
        assert_eq!(node["addr"], format!("{}:{PORT}", hosts.ips[i]), "{node:#}");
        assert_eq!(node["host"], hosts.ips[i].as_str(), "{node:#}");
        assert_eq!(node["pid"], servers.pids()[i], "{node:#}");
    }
    let page = std::fs::read_to_string(case.latest().join("report.html")).unwrap();
    let shown = format!("{} on {}", servers.pids()[0], hosts.ips[0]);
    assert!(
        page.contains(&shown),
        "the report names n1's pid on its host"
    );
}

/// Loss between the attached hosts: random drops of the peers' packets in each host's chain
/// while it holds, healed, the chain gone at the end; a register on the primary stays valid.
#[test]
fn an_attached_redis_on_remote_hosts_under_loss_is_valid() {
    let Some(hosts) = Hosts::start(3) else {
        return;
    };
    let Some(mut servers) = Servers::start(&hosts) else {
        return;
    };
    let kinds = [("loss", "degrade", "heal")];
    valid_under(&hosts, &mut servers, "loss", &kinds, &["31", "32", "33"]);
}

/// A control node killed outright (SIGKILL: no teardown) while a server is paused leaves the
/// chain on the hosts and the server stopped; `faultline cluster down --nodes` from another
/// store resumes the server (recorded as attached) and removes the chain, and stops nothing.
#[test]
fn cluster_down_after_a_crash_resumes_the_attached_servers_and_never_stops_them() {
    let Some(hosts) = Hosts::start(3) else {
        return;
    };
    let Some(mut servers) = Servers::start(&hosts) else {
        return;
    };
    let ssh = hosts.ssh_args("user", &hosts.path("known_hosts"));
    let addrs = servers.addrs();
    let case = Case::new();
    let mut args = vec![
        "test",
        "--target",
        "redis",
        "--attach",
        &addrs,
        "--nemesis",
        "partition,pause",
        "--nemesis-interval",
        "1s",
        "--time-limit",
        "60s",
        "--rate",
        "20",
        "--seed",
        "21",
    ];
    args.extend(ssh.iter().map(String::as_str));
    // Its ssh connections' control directories go under a directory of the test's: a faultline
    // killed outright cannot remove them itself.
    let scratch = tempfile::tempdir().unwrap();
    let mut child = case
        .cmd(&args)
        .env("TMPDIR", scratch.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("faultline starts");
    let pids = servers.pids();
    let state = |pid: u32| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.rsplit_once(") ").and_then(|(_, s)| s.chars().next())
    };
    // A partition applied (the chain made and recorded), and a server stopped by a pause now.
    let run = wait_for(&case, &mut child, "a partition, then a pause", |run| {
        let history = history_lines(run);
        !applied(&history, "partition").is_empty() && pids.iter().any(|&p| state(p) == Some('T'))
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let paused: Vec<u32> = pids
        .iter()
        .copied()
        .filter(|&p| state(p) == Some('T'))
        .collect();
    assert!(!paused.is_empty(), "a server was left paused by the crash");
    assert!(
        (0..3).all(|i| hosts.has_chain(i)),
        "the chain outlived faultline"
    );
    // The hosts' records list the servers as attached, never as daemons to stop.
    for (i, dir) in remote_dirs(&run).iter().enumerate() {
        let path = cluster::net::host_record::HostRecord::path_for(dir);
        let record: cluster::net::host_record::HostRecord =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(record.daemons.is_empty(), "{record:?}");
        assert_eq!(
            record.attached.iter().map(|d| d.pid).collect::<Vec<_>>(),
            [pids[i]]
        );
    }
    let elsewhere = Case::new();
    let mut words = vec!["down"];
    words.extend(ssh.iter().map(String::as_str));
    words.push("--json");
    let out = elsewhere.cluster(&words);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).expect("down --json");
    let swept = v["hosts"].as_array().expect("a sweep per host");
    let mut resumed = Vec::new();
    for (i, h) in swept.iter().enumerate() {
        let s = &h["swept"];
        assert_eq!(s["records"], 1, "{h:#}");
        assert_eq!(
            s["stopped"],
            serde_json::json!([]),
            "nothing stopped: {h:#}"
        );
        assert_eq!(s["chain"], true, "{h:#}");
        for pid in s["resumed"].as_array().into_iter().flatten() {
            assert_eq!(pid.as_u64(), Some(u64::from(pids[i])), "{h:#}");
            resumed.push(pids[i]);
        }
    }
    resumed.sort_unstable();
    let mut want = paused.clone();
    want.sort_unstable();
    assert_eq!(resumed, want, "exactly the paused servers resumed");
    // The run's keys stay (nothing removed them), and the servers run as before.
    for (i, s) in servers.servers.iter_mut().enumerate() {
        assert!(s.running(), "h{}'s server runs, unpaused", i + 1);
    }
    assert_nothing_left_on_the_hosts(&hosts, &run);
}

/// What the options cannot mean is refused before anything runs, naming the option: hosts and
/// addresses that do not pair up, local pids with remote hosts, kill, and latency (the hosts'
/// rules take loss only).
#[test]
fn what_the_options_cannot_mean_is_refused_before_anything_runs() {
    let case = Case::new();
    let refused = |extra: &[&str]| {
        let mut args = vec![
            "test",
            "--target",
            "redis",
            "--attach",
            "10.0.0.1:6379,10.0.0.2:6379",
        ];
        args.extend_from_slice(extra);
        let out = case.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        stderr(&out)
    };
    let e = refused(&["--nodes", "10.0.0.1,10.0.0.2,10.0.0.3", "--nemesis", "none"]);
    assert!(
        e.contains("--nodes: 3 hosts for 2 --attach addresses"),
        "{e}"
    );
    let e = refused(&[
        "--nodes",
        "10.0.0.1,10.0.0.2",
        "--attach-pids",
        "1,2",
        "--nemesis",
        "pause",
    ]);
    assert!(
        e.contains("--attach-pids: local pids cannot name processes on the --nodes hosts"),
        "{e}"
    );
    let e = refused(&["--nodes", "10.0.0.1,10.0.0.2", "--nemesis", "kill"]);
    assert!(
        e.contains("--nemesis kill: faultline cannot start again a process it did not start"),
        "{e}"
    );
    let e = refused(&["--nodes", "10.0.0.1,10.0.0.2", "--nemesis", "latency"]);
    assert!(
        e.contains("--nemesis latency") && e.contains("remote hosts take loss only"),
        "{e}"
    );
    // Without hosts, network faults name the way to them.
    let e = refused(&["--nemesis", "partition"]);
    assert!(e.contains("--nodes HOST"), "{e}");
}

/// Hosts given in another order than the addresses: the node at h1's address is looked for on
/// h2, where nothing listens on it; refused naming the host and the address, nothing signalled,
/// nothing left.
#[test]
fn a_host_where_nothing_listens_on_the_nodes_address_is_refused() {
    let Some(hosts) = Hosts::start(2) else {
        return;
    };
    let Some(mut servers) = Servers::start(&hosts) else {
        return;
    };
    let case = Case::new();
    let mut ssh = hosts.ssh_args("user", &hosts.path("known_hosts"));
    let swapped = format!("{},{}", hosts.ips[1], hosts.ips[0]);
    ssh[1] = swapped;
    let out = attach_run(&case, &servers.addrs(), &["--nemesis", "pause"], &ssh);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let e = stderr(&out);
    assert!(
        e.contains(&format!(
            "--nodes {}: nothing listens on {}:{PORT} there",
            hosts.ips[1], hosts.ips[0]
        )),
        "{e}"
    );
    servers.assert_untouched();
    assert_nothing_left_on_the_hosts(&hosts, &case.latest());
}

/// The address answers as Redis, but through another program listening on the node's port (an
/// SSH tunnel in front of the server): faultline signals only redis-server, so it refuses,
/// naming the host, the port and what listens there; the server behind is untouched.
#[test]
fn a_process_on_the_nodes_port_that_is_not_the_server_is_refused() {
    let Some(hosts) = Hosts::start(1) else {
        return;
    };
    if !cluster::capability::redis_for_test() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ip = hosts.ips[0].clone();
    let behind = PORT + 1;
    let mut server = redis_on(&hosts, 0, behind, None, dir.path());
    connect(&ip, behind);
    // `ssh -L` listening on the node's port, forwarding to the server behind it.
    let forward = format!("{ip}:{PORT}:{ip}:{behind}");
    let tunnel_args: Vec<String> = [
        "-N",
        "-o",
        "ExitOnForwardFailure=yes",
        "-o",
        "BatchMode=yes",
        // Bind the forward to the host's address, not loopback alone.
        "-o",
        "GatewayPorts=yes",
        "-o",
        &format!("UserKnownHostsFile={}", hosts.path("known_hosts").display()),
        "-i",
        &hosts.path("user").display().to_string(),
        "-L",
        &forward,
        &format!("root@{ip}"),
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    let mut tunnel = in_host(
        &hosts,
        0,
        "ssh",
        &tunnel_args,
        &dir.path().join("tunnel.log"),
    );
    let mut conn = connect(&ip, PORT);
    let pong: String = redis::cmd("PING").query(&mut conn).unwrap();
    assert_eq!(pong, "PONG", "the tunnel reaches the server");
    let case = Case::new();
    let ssh = hosts.ssh_args("user", &hosts.path("known_hosts"));
    let out = attach_run(
        &case,
        &format!("{ip}:{PORT}"),
        &["--nemesis", "pause"],
        &ssh,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let e = stderr(&out);
    assert!(
        e.contains(&format!(
            "--nodes {ip}: the process listening on port {PORT} (pid {}",
            tunnel.pid()
        )) && e.contains("is not redis-server"),
        "{e}"
    );
    assert!(server.running() && tunnel.running());
    assert_nothing_left_on_the_hosts(&hosts, &case.latest());
}

/// An etcd cluster the test starts on the hosts (a member per host, outside faultline), attached
/// with `--nodes`: each member's pid found on its host, the leader's host cut off and members
/// paused over SSH; registers stay linearizable, as on a cluster faultline starts, and every
/// member runs on with its pid, no rule or run key left.
#[test]
fn an_attached_etcd_on_remote_hosts_stays_linearizable_under_partitions_and_pauses() {
    use cluster::systems::etcd::{etcd_args, find_etcd, unique_token, EtcdMember, EtcdTiming};
    if !cluster::capability::etcd_for_test() {
        return;
    }
    let Some(hosts) = Hosts::start(3) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let at = |ip: &str, port: u16| format!("{ip}:{port}").parse().unwrap();
    let members: Vec<EtcdMember> = (0..3)
        .map(|i| {
            let ip = &hosts.ips[i];
            EtcdMember::new(format!("m{}", i + 1), at(ip, 2379), at(ip, 2380))
        })
        .collect();
    let token = unique_token();
    let etcd = find_etcd(false).unwrap();
    let mut started: Vec<Started> = (0..3)
        .map(|i| {
            let data = dir.path().join(format!("m{}", i + 1));
            let args = etcd_args(&members[i], &members, &token, &data, EtcdTiming::default());
            let log = dir.path().join(format!("m{}.log", i + 1));
            in_host(&hosts, i, &etcd.display().to_string(), &args, &log)
        })
        .collect();
    let urls: Vec<String> = hosts
        .ips
        .iter()
        .map(|ip| format!("http://{ip}:2379"))
        .collect();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut foreign = runtime.block_on(async {
        use workloads::RegisterClient;
        let mut c = cluster::systems::etcd::EtcdClient::new(
            vec![at(&hosts.ips[0], 2379)],
            Default::default(),
            Duration::from_secs(2),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while c.write("foreign", 7).await.is_err() {
            assert!(
                Instant::now() < deadline,
                "the members never elected a leader"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        c
    });
    let pids: Vec<u32> = started.iter().map(Started::pid).collect();
    let ssh = hosts.ssh_args("user", &hosts.path("known_hosts"));
    let mut misses = Vec::new();
    for seed in ["21", "22", "23"] {
        let case = Case::new();
        let args = [
            "test",
            "--target",
            "etcd",
            "--attach",
            &urls.join(","),
            "--nemesis",
            "partition-primary,pause",
            "--nemesis-interval",
            "1500ms",
            "--time-limit",
            "10s",
            "--rate",
            "50",
            "--key-prefix",
            "/fl-attach/",
            "--seed",
            seed,
            "--json",
        ];
        let out = run(&case, &args, &ssh);
        let results = case.results();
        let run = case.latest();
        for (i, s) in started.iter_mut().enumerate() {
            assert!(s.running(), "m{}'s etcd runs on, unpaused", i + 1);
            assert_eq!(s.pid(), pids[i]);
        }
        assert_nothing_left_on_the_hosts(&hosts, &run);
        assert_eq!(
            results["attached"]["keys"]["outcome"], "removed",
            "{results:#}"
        );
        // The history holds no anomaly whether or not every kind found room.
        assert_eq!(results["check"]["validity"], "valid", "{results:#}");
        if out.status.code() == Some(3) {
            misses.push(missed(seed, "a fault never applied", Some(3), &results));
            continue;
        }
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let history = history_lines(&run);
        for (start, heal) in [("partition", "heal"), ("pause", "resume")] {
            let (started, healed) = (applied(&history, start), applied(&history, heal));
            assert!(!started.is_empty(), "no {start} in the history");
            assert_eq!(started.len(), healed.len(), "every {start} was healed");
        }
        let found: Vec<u64> = results["attached"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["pid"].as_u64().unwrap())
            .collect();
        let mut expected: Vec<u64> = pids.iter().map(|&p| u64::from(p)).collect();
        let mut found_sorted = found.clone();
        found_sorted.sort_unstable();
        expected.sort_unstable();
        assert_eq!(
            found_sorted, expected,
            "each member found by its pid on its host"
        );
        runtime.block_on(async {
            use workloads::RegisterClient;
            assert_eq!(foreign.read("foreign").await.unwrap(), Some(7));
        });
        return;
    }
    panic!("no run applied every fault:\n{}", misses.join("\n"));
}
