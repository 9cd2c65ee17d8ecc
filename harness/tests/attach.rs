//! `faultline test --attach`: a cluster started outside faultline — here by the test itself, a
//! Redis primary and replica (and an etcd member) on loopback ports, stopped by pid when the test
//! ends, failed or not — is driven, sampled and checked; faultline starts and stops nothing,
//! writes only under its key prefix and removes that at the end (unless `--keep-data`), pauses
//! only the pids it is given and resumes them, and refuses what it cannot do, naming the option.

mod common;

use common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A server this test started, on loopback.
struct Server {
    process: Started,
    port: u16,
}

impl Server {
    fn pid(&self) -> u32 {
        self.process.pid()
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn state(&self) -> Option<char> {
        self.process.state()
    }

    fn running(&mut self) -> bool {
        self.process.running()
    }
}

/// A port free on loopback now.
fn free_port() -> u16 {
    cluster::ports::listen_port().expect("a free port")
}

/// Starts a redis-server on a free loopback port, with its files under `dir`, replicating from
/// `primary` when given.
fn redis_server(dir: &Path, primary: Option<u16>) -> Server {
    let port = free_port();
    let node_dir = dir.join(port.to_string());
    std::fs::create_dir_all(&node_dir).unwrap();
    let mut cmd = Command::new("redis-server");
    cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .arg("--dir")
        .arg(&node_dir);
    if let Some(primary) = primary {
        cmd.args(["--replicaof", "127.0.0.1", &primary.to_string()]);
    }
    let log = std::fs::File::create(node_dir.join("log")).unwrap();
    let child = cmd
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .expect("redis-server starts");
    Server {
        process: Started { child },
        port,
    }
}

/// A connection to the Redis on `port`, retried while it starts (at most 10 s).
fn connect(port: u16) -> redis::Connection {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match client.get_connection() {
            Ok(conn) => return conn,
            Err(e) if Instant::now() > deadline => panic!("redis on {port}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// A Redis primary and a replica whose link is up, and a key outside any run's prefix.
fn redis_pair(dir: &Path) -> (Server, Server) {
    let primary = redis_server(dir, None);
    let replica = redis_server(dir, Some(primary.port));
    let mut conn = connect(primary.port);
    redis::cmd("SET")
        .arg("foreign")
        .arg("keep-me")
        .query::<()>(&mut conn)
        .unwrap();
    let mut rconn = connect(replica.port);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info: String = redis::cmd("INFO")
            .arg("replication")
            .query(&mut rconn)
            .unwrap();
        if info.contains("master_link_status:up") {
            break;
        }
        assert!(Instant::now() < deadline, "replica never linked: {info}");
        std::thread::sleep(Duration::from_millis(50));
    }
    (primary, replica)
}

/// A Redis primary and replica started for one test, in a directory of their own.
struct Pair {
    primary: Server,
    replica: Server,
    // Dropped after the servers, which are stopped first.
    dir: tempfile::TempDir,
}

impl Pair {
    /// Started, or `None` where Redis is missing and the skip policy allows it.
    fn start() -> Option<Pair> {
        if !cluster::capability::redis_for_test() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let (primary, replica) = redis_pair(dir.path());
        Some(Pair {
            primary,
            replica,
            dir,
        })
    }

    /// `--attach`'s value: primary, replica.
    fn addrs(&self) -> String {
        format!("{},{}", self.primary.addr(), self.replica.addr())
    }

    /// `--attach-pids`'s value, in the same order.
    fn pids(&self) -> String {
        format!("{},{}", self.primary.pid(), self.replica.pid())
    }

    /// Nothing but the foreign key, as the test set it, and both servers running unpaused.
    fn assert_untouched(&mut self) {
        assert_eq!(all_keys(self.primary.port), ["foreign"]);
        assert_eq!(foreign(self.primary.port).as_deref(), Some("keep-me"));
        assert!(self.primary.running() && self.replica.running());
    }
}

/// Every key the Redis on `port` holds.
fn all_keys(port: u16) -> Vec<String> {
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query(&mut connect(port))
        .unwrap();
    keys.sort();
    keys
}

/// The foreign key, as the test set it.
fn foreign(port: u16) -> Option<String> {
    redis::cmd("GET")
        .arg("foreign")
        .query(&mut connect(port))
        .unwrap()
}

/// `faultline test --target redis --attach ADDRS --json EXTRA…`.
fn attach_args<'a>(addrs: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "test",
        "--target",
        "redis",
        "--attach",
        addrs,
        "--time-limit",
        "3s",
        "--rate",
        "50",
        "--json",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn a_register_run_on_an_attached_redis_is_checked_and_leaves_only_what_was_there() {
    let Some(mut pair) = Pair::start() else {
        return;
    };
    let case = Case::new();
    // The replica first: roles are asked, not assumed from the order.
    let addrs = format!("{},{}", pair.replica.addr(), pair.primary.addr());
    let prefix = "itest:attach:";
    let out = case.run(&attach_args(
        &addrs,
        &["--nemesis", "none", "--key-prefix", prefix],
    ));
    assert_eq!(out.status.code(), Some(0), "a valid run");
    let results = case.results();
    assert_eq!(results["verdict"], "valid", "{results:#}");
    assert!(results["check"]["counts"]["ok"].as_u64().unwrap() > 10);
    let attached = &results["attached"];
    assert_eq!(attached["nodes"][0]["name"], "n1");
    assert_eq!(
        attached["nodes"][0]["addr"],
        pair.primary.addr(),
        "{attached:#}"
    );
    assert_eq!(attached["nodes"][1]["addr"], pair.replica.addr());
    assert_eq!(attached["nodes"][0]["pid"], Value::Null);
    assert_eq!(attached["key_prefix"], prefix);
    assert!(attached["faults"].as_str().unwrap().starts_with("none"));
    assert_eq!(attached["keys"]["outcome"], "removed", "{attached:#}");
    assert!(attached["keys"]["count"].as_u64().unwrap() >= 1);
    // The history keeps the workload's names; the cluster saw them under the prefix.
    let history = history_lines(&case.latest());
    let key = history.iter().find_map(|e| e["key"].as_str()).unwrap();
    assert!(!key.starts_with(prefix), "{key}");
    // Replication was sampled on both nodes while the run went.
    let samples = std::fs::read_to_string(case.latest().join("replication.jsonl")).unwrap();
    assert!(samples.contains("\"node\":\"n2\"") && samples.contains("\"position\":"));
    // Nothing of the run is left, the foreign key is untouched, both servers still run.
    pair.assert_untouched();
}

/// A redis-sentinel the test starts, monitoring the pair's primary under `mymaster`, once it
/// lists the replica up.
fn sentinel_of(pair: &Pair) -> Server {
    let port = free_port();
    let dir = pair.dir.path().join(format!("sentinel-{port}"));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("sentinel.conf");
    std::fs::write(
        &conf,
        format!(
            "port {port}\nbind 127.0.0.1\ndir {}\nsentinel monitor mymaster 127.0.0.1 {} 1\n\
             sentinel down-after-milliseconds mymaster 60000\n",
            dir.display(),
            pair.primary.port
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.join("log")).unwrap();
    let child = Command::new("redis-sentinel")
        .arg(&conf)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .expect("redis-sentinel starts");
    let sentinel = Server {
        process: Started { child },
        port,
    };
    // A sentinel learns the replicas from the primary's INFO, a few seconds after it starts.
    let mut conn = connect(port);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let replicas: Vec<std::collections::HashMap<String, String>> = redis::cmd("SENTINEL")
            .arg("replicas")
            .arg("mymaster")
            .query(&mut conn)
            .unwrap();
        let up = replicas.iter().any(|r| {
            r.get("port") == Some(&pair.replica.port.to_string())
                && r.get("flags")
                    .is_some_and(|f| !f.contains("down") && !f.contains("disconnected"))
        });
        if up {
            return sentinel;
        }
        assert!(
            Instant::now() < deadline,
            "the sentinel never listed the replica: {replicas:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn attached_through_a_sentinel_the_nodes_it_monitors_are_found_and_checked() {
    let Some(mut pair) = Pair::start() else {
        return;
    };
    let sentinel = sentinel_of(&pair);
    let case = Case::new();
    let out = case.run(&attach_args(&sentinel.addr(), &["--nemesis", "none"]));
    assert_eq!(out.status.code(), Some(0), "a valid run");
    let results = case.results();
    assert_eq!(results["verdict"], "valid", "{results:#}");
    let attached = &results["attached"];
    assert_eq!(
        attached["sentinels"],
        serde_json::json!([sentinel.addr()]),
        "{attached:#}"
    );
    assert_eq!(
        attached["nodes"][0]["addr"],
        pair.primary.addr(),
        "{attached:#}"
    );
    assert_eq!(attached["nodes"][1]["addr"], pair.replica.addr());
    assert_eq!(attached["keys"]["outcome"], "removed", "{attached:#}");
    assert!(stderr(&out).contains(&format!("through sentinel {}", sentinel.addr())));
    let page = std::fs::read_to_string(case.latest().join("report.html")).unwrap();
    assert!(page.contains(&format!("found through sentinel {}", sentinel.addr())));
    pair.assert_untouched();

    // Pids name processes, and a sentinel's address stands for several: refused, named.
    let case = Case::new();
    let out = case.run(&attach_args(
        &sentinel.addr(),
        &["--nemesis", "pause", "--attach-pids", "1"],
    ));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "--attach-pids: {} answered as sentinels",
            sentinel.addr()
        )),
        "{}",
        stderr(&out)
    );
    pair.assert_untouched();
}

#[test]
fn keep_data_leaves_the_runs_keys_under_its_default_prefix() {
    let Some(mut pair) = Pair::start() else {
        return;
    };
    let case = Case::new();
    let addrs = pair.addrs();
    let args = attach_args(
        &addrs,
        &["--nemesis", "none", "--workload", "set", "--keep-data"],
    );
    let out = case.run(&args);
    assert_eq!(out.status.code(), Some(0));
    let results = case.results();
    assert_eq!(results["verdict"], "valid", "{results:#}");
    let run = case.latest();
    let name = run.file_name().unwrap().to_string_lossy();
    let prefix = format!("faultline:{name}:");
    assert_eq!(results["attached"]["key_prefix"], prefix.as_str());
    assert_eq!(results["attached"]["keys"]["outcome"], "kept");
    // Every node caught up and was read at the end, through the prefix.
    assert_eq!(results["catch_up"]["nodes"]["n2"]["state"], "caught-up");
    let keys = all_keys(pair.primary.port);
    assert!(keys.contains(&"foreign".to_string()), "{keys:?}");
    let run_keys: Vec<&String> = keys.iter().filter(|k| k.starts_with(&prefix)).collect();
    assert_eq!(run_keys.len() + 1, keys.len(), "{keys:?}");
    assert!(!run_keys.is_empty());
    assert_eq!(foreign(pair.primary.port).as_deref(), Some("keep-me"));
    assert!(pair.primary.running() && pair.replica.running());
}

#[test]
fn pause_by_pid_pauses_the_attached_nodes_and_resumes_them() {
    let Some(mut pair) = Pair::start() else {
        return;
    };
    let case = Case::new();
    let (addrs, pids) = (pair.addrs(), pair.pids());
    let out = case.run(&attach_args(
        &addrs,
        &[
            "--attach-pids",
            &pids,
            "--nemesis",
            "pause",
            "--nemesis-interval",
            "500ms",
            "--time-limit",
            "4s",
            "--seed",
            "5",
        ],
    ));
    let results = case.results();
    assert!(matches!(out.status.code(), Some(0 | 3)), "{results:#}");
    assert_eq!(results["ended"], "completed");
    let attached = &results["attached"];
    assert_eq!(attached["nodes"][0]["pid"], pair.primary.pid());
    assert!(attached["faults"].as_str().unwrap().starts_with("pause"));
    // The run's own record: pauses were applied to these processes.
    let history = history_lines(&case.latest());
    let paused = history
        .iter()
        .filter(|e| e["process"] == "nemesis" && e["f"] == "pause" && e["type"] == "info")
        .count();
    assert!(paused > 0, "no pause recorded: {:#}", results["faults"]);
    assert_eq!(attached["keys"]["outcome"], "removed", "{attached:#}");
    pair.assert_untouched();
}

#[test]
fn an_interrupted_run_resumes_the_nodes_it_paused_and_removes_its_keys() {
    let Some(mut pair) = Pair::start() else {
        return;
    };
    let case = Case::new();
    let (addrs, pids) = (pair.addrs(), pair.pids());
    let args = attach_args(
        &addrs,
        &[
            "--attach-pids",
            &pids,
            "--nemesis",
            "pause",
            "--nemesis-interval",
            "2s",
        ],
    );
    let mut args = args;
    args[6] = "60s";
    let mut faultline = case.cmd(&args).stdout(Stdio::null()).spawn().unwrap();
    // Wait (at most 20 s) until a node is stopped by the run's SIGSTOP, then interrupt it.
    let deadline = Instant::now() + Duration::from_secs(20);
    while pair.primary.state() != Some('T') && pair.replica.state() != Some('T') {
        assert!(Instant::now() < deadline, "no node paused within 20 s");
        std::thread::sleep(Duration::from_millis(10));
    }
    kill(Pid::from_raw(faultline.id() as i32), Signal::SIGINT).unwrap();
    let status = faultline.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let results = case.results();
    assert_eq!(results["ended"], "interrupted");
    assert_eq!(results["attached"]["keys"]["outcome"], "removed");
    pair.assert_untouched();
}

#[test]
fn what_cannot_be_attached_or_done_is_refused_naming_the_address_or_option() {
    let case = Case::new();
    let refused = |args: &[&str]| {
        let out = case.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        stderr(&out)
    };
    let addrs = "127.0.0.1:7000,127.0.0.1:7001";
    let e = refused(&attach_args(addrs, &[]));
    assert!(
        e.contains("--nemesis pause") && e.contains("--attach-pids"),
        "the default fault needs pids: {e}"
    );
    let e = refused(&attach_args(
        addrs,
        &["--nemesis", "kill", "--attach-pids", "1,2"],
    ));
    assert!(e.contains("--nemesis kill"), "{e}");
    let e = refused(&attach_args(addrs, &["--nemesis", "partition"]));
    assert!(
        e.contains("--nemesis partition") && e.contains("network"),
        "{e}"
    );
    let e = refused(&attach_args(
        addrs,
        &["--nemesis", "pause", "--attach-pids", "1"],
    ));
    assert!(e.contains("--attach-pids: 1 pids for 2"), "{e}");
    let e = refused(&attach_args(
        addrs,
        &["--nemesis", "none", "--net", "netns"],
    ));
    assert!(e.contains("--net"), "{e}");
    let e = refused(&attach_args(
        addrs,
        &["--nemesis", "none", "--key-prefix", ""],
    ));
    assert!(e.contains("--key-prefix"), "{e}");
    let e = refused(&attach_args("127.0.0.1", &["--nemesis", "none"]));
    assert!(e.contains("--attach '127.0.0.1'"), "{e}");
    let e = refused(&[
        "test",
        "--target",
        "own",
        "--attach",
        addrs,
        "--nemesis",
        "none",
    ]);
    assert!(e.contains("--attach") && e.contains("own nodes"), "{e}");
    let e = refused(&["test", "--keep-data"]);
    assert!(e.contains("--keep-data: only with --attach"), "{e}");
}

#[test]
fn an_unreachable_address_a_missing_primary_a_wrong_pid_and_a_used_prefix_are_named() {
    let Some(mut pair) = Pair::start() else {
        return;
    };
    let case = Case::new();
    let failed = |args: &[&str]| {
        let out = case.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        stderr(&out)
    };
    let closed = format!("127.0.0.1:{}", free_port());
    let addrs = format!("{},{closed}", pair.primary.addr());
    let e = failed(&attach_args(&addrs, &["--nemesis", "none"]));
    assert!(e.contains(&format!("--attach {closed}")), "{e}");
    let e = failed(&attach_args(&pair.replica.addr(), &["--nemesis", "none"]));
    assert!(e.contains("no address given says it is the primary"), "{e}");
    // A replica of some other primary is not part of this cluster.
    let stray = redis_server(pair.dir.path(), Some(free_port()));
    let addrs = format!("{},{}", pair.primary.addr(), stray.addr());
    connect(stray.port);
    let e = failed(&attach_args(&addrs, &["--nemesis", "none"]));
    let expected = format!("--attach {}: it replicates from", stray.addr());
    assert!(
        e.contains(&expected) && e.contains(&pair.primary.addr()),
        "{e}"
    );
    // This test's own pid shows no Redis port on its command line.
    let addrs = pair.addrs();
    let wrong = format!("{},{}", pair.primary.pid(), std::process::id());
    let args = ["--nemesis", "pause", "--attach-pids", wrong.as_str()];
    let e = failed(&attach_args(&addrs, &args));
    assert!(
        e.contains(&format!("--attach-pids {}", std::process::id())),
        "{e}"
    );
    // A prefix that already holds a key is refused, and that key is left alone.
    let e = failed(&attach_args(
        &addrs,
        &["--nemesis", "none", "--key-prefix", "forei"],
    ));
    assert!(
        e.contains("--key-prefix 'forei': 1 key is already under it"),
        "{e}"
    );
    pair.assert_untouched();
}

#[test]
fn an_attached_etcd_member_is_checked_and_its_run_keys_removed() {
    use cluster::systems::etcd::{etcd_args, find_etcd, unique_token, EtcdMember, EtcdTiming};
    if !cluster::capability::etcd_for_test() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (client, peer) = (free_port(), free_port());
    let at = |port: u16| format!("127.0.0.1:{port}").parse().unwrap();
    let member = EtcdMember::new("m1", at(client), at(peer));
    let args = etcd_args(
        &member,
        std::slice::from_ref(&member),
        &unique_token(),
        &dir.path().join("data"),
        EtcdTiming::default(),
    );
    let log = std::fs::File::create(dir.path().join("etcd.log")).unwrap();
    let child = Command::new(find_etcd(false).unwrap())
        .args(&args)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .expect("etcd starts");
    let mut etcd = Server {
        process: Started { child },
        port: client,
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let foreign_value = runtime.block_on(async {
        use workloads::RegisterClient;
        let mut c = cluster::systems::etcd::EtcdClient::new(
            vec![at(client)],
            Default::default(),
            Duration::from_secs(2),
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while c.write("foreign", 7).await.is_err() {
            assert!(Instant::now() < deadline, "etcd never took a write");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        c
    });
    let case = Case::new();
    let url = format!("http://127.0.0.1:{client}");
    let out = case.run(&[
        "test",
        "--target",
        "etcd",
        "--attach",
        &url,
        "--nemesis",
        "none",
        "--time-limit",
        "3s",
        "--rate",
        "50",
        "--key-prefix",
        "/itest/",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let results = case.results();
    assert_eq!(results["verdict"], "valid", "{results:#}");
    assert_eq!(results["attached"]["keys"]["outcome"], "removed");
    assert!(results["attached"]["keys"]["count"].as_u64().unwrap() >= 1);
    let mut c = foreign_value;
    runtime.block_on(async {
        use workloads::RegisterClient;
        assert_eq!(c.read("foreign").await.unwrap(), Some(7));
        for key in ["/itest/k0", "/itest/k1", "/itest/k2"] {
            assert_eq!(c.read(key).await.unwrap(), None, "{key} removed");
        }
    });
    assert!(etcd.running());
}
