//! The leaderless designs' logs on disk (`--log FILE --fsync POLICY`), with nodes in processes
//! of their own killed by SIGKILL: under `always` everything a node acknowledged — a quorum
//! coordinator's own store, a replica's `QSTORE` ack, a gossip node's write and the merged
//! state it served — comes back when it restarts on its log; a record torn by the crash is
//! dropped and the rest replayed; under `never` the kill takes what the buffer held.

mod common;

use common::{free_addrs, query, NodeProcess};
use redis::aio::MultiplexedConnection;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio::time::{sleep, timeout, Instant};

/// The options of node `i` of a cluster at `addrs` in `--mode mode`, logging in `dir`.
fn options(mode: &str, i: usize, addrs: &[SocketAddr], dir: &Path, fsync: &str) -> Vec<String> {
    let mut args: Vec<String> = ["--mode", mode, "--name", &format!("n{}", i + 1)]
        .map(String::from)
        .to_vec();
    for (j, addr) in addrs.iter().enumerate() {
        if j != i {
            args.extend(["--peer".into(), addr.to_string()]);
        }
    }
    let log = dir.join(format!("n{}.log", i + 1));
    args.extend(["--log".into(), log.display().to_string()]);
    args.extend(["--fsync".into(), fsync.into()]);
    match mode {
        "quorum" => args.extend(["--quorum-timeout".into(), "300ms".into()]),
        _ => args.extend(["--gossip-interval".into(), "20ms".into()]),
    }
    args
}

/// Starts node `i` of the cluster at `addrs`.
async fn start(mode: &str, i: usize, addrs: &[SocketAddr], dir: &Path, fsync: &str) -> NodeProcess {
    NodeProcess::start(addrs[i], &options(mode, i, addrs, dir, fsync)).await
}

async fn members(c: &mut MultiplexedConnection, key: &str) -> Vec<String> {
    let mut members: Vec<String> = query(c, &["SMEMBERS", key]).await;
    members.sort_by_key(|m| m.parse::<u64>().unwrap_or(u64::MAX));
    members
}

fn numbers(range: std::ops::Range<u64>) -> Vec<String> {
    range.map(|i| i.to_string()).collect()
}

/// Cuts `bytes` off the end of the file at `path`: a record torn by a crash mid-write.
fn tear(path: &Path, bytes: usize) {
    let whole = std::fs::read(path).unwrap();
    std::fs::write(path, &whole[..whole.len() - bytes]).unwrap();
}

async fn bounded(body: impl std::future::Future<Output = ()>) {
    timeout(Duration::from_secs(60), body)
        .await
        .expect("the test took over 60 s");
}

#[tokio::test]
async fn quorum_nodes_killed_together_come_back_with_every_acknowledged_write() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let addrs = free_addrs(3);
        let mut nodes = Vec::new();
        for i in 0..3 {
            nodes.push(start("quorum", i, &addrs, dir.path(), "always").await);
        }
        let mut n1 = nodes[0].client().await;
        for i in 0..20 {
            let ok: String = query(&mut n1, &["SET", &format!("k{i}"), &format!("v{i}")]).await;
            assert_eq!(ok, "OK");
            let _: i64 = query(&mut n1, &["SADD", "s", &i.to_string()]).await;
        }
        drop(n1);
        for node in nodes.drain(..) {
            node.kill();
        }
        // n1 alone: its replica holds every write it coordinated (its own store comes first).
        let first = start("quorum", 0, &addrs, dir.path(), "always").await;
        let mut n1 = first.client().await;
        for i in 0..20 {
            let held: Vec<String> = query(&mut n1, &["QFETCH", &format!("k{i}")]).await;
            assert_eq!(held[1..], ["n1", "string", &format!("v{i}")], "k{i}");
        }
        let held: Vec<String> = query(&mut n1, &["QFETCH", "s"]).await;
        assert_eq!(held.len(), 3 + 20, "s holds 20 members: {held:?}");
        // The whole cluster back: a quorum read anywhere finds every acknowledged write.
        let _n2 = start("quorum", 1, &addrs, dir.path(), "always").await;
        let n3 = start("quorum", 2, &addrs, dir.path(), "always").await;
        let mut n3 = n3.client().await;
        for i in 0..20 {
            let value: Option<String> = query(&mut n3, &["GET", &format!("k{i}")]).await;
            assert_eq!(value, Some(format!("v{i}")));
        }
        assert_eq!(members(&mut n3, "s").await, numbers(0..20));
        // Counters go on above every version the log held: a new write wins.
        let _: String = query(&mut n3, &["SET", "k0", "after"]).await;
        let value: Option<String> = query(&mut n1, &["GET", "k0"]).await;
        assert_eq!(value.as_deref(), Some("after"));
    })
    .await;
}

#[tokio::test]
async fn a_quorum_replica_keeps_each_qstore_it_acknowledged_and_drops_a_torn_record() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let addrs = free_addrs(1);
        let log = dir.path().join("n1.log");
        let node = start("quorum", 0, &addrs, dir.path(), "always").await;
        let mut c = node.client().await;
        for (key, counter, value) in [("a", "5", "x"), ("b", "6", "y")] {
            let acked: i64 = query(&mut c, &["QSTORE", key, counter, "n2", "string", value]).await;
            assert_eq!(acked, 1);
        }
        node.kill();
        let node = start("quorum", 0, &addrs, dir.path(), "always").await;
        let mut c = node.client().await;
        let a: Vec<String> = query(&mut c, &["QFETCH", "a"]).await;
        let b: Vec<String> = query(&mut c, &["QFETCH", "b"]).await;
        assert_eq!(a, ["5", "n2", "string", "x"]);
        assert_eq!(b, ["6", "n2", "string", "y"]);
        node.kill();
        // The crash tore the last record (b's): it goes, a stands.
        tear(&log, 3);
        let node = start("quorum", 0, &addrs, dir.path(), "always").await;
        let mut c = node.client().await;
        let a: Vec<String> = query(&mut c, &["QFETCH", "a"]).await;
        assert_eq!(a, ["5", "n2", "string", "x"]);
        let b: Option<Vec<String>> = query(&mut c, &["QFETCH", "b"]).await;
        assert_eq!(b, None, "the torn record was dropped");
        let acked: i64 = query(&mut c, &["QSTORE", "c", "7", "n3", "set", "1", "2"]).await;
        assert_eq!(acked, 1);
        node.kill();
        // The torn bytes were cut off the file, so c's record follows a's and replays.
        let node = start("quorum", 0, &addrs, dir.path(), "always").await;
        let mut c = node.client().await;
        let held: Vec<String> = query(&mut c, &["QFETCH", "c"]).await;
        assert_eq!(held, ["7", "n3", "set", "1", "2"]);
        let a: Vec<String> = query(&mut c, &["QFETCH", "a"]).await;
        assert_eq!(a[0], "5");
    })
    .await;
}

#[tokio::test]
async fn gossip_nodes_killed_together_keep_their_writes_and_what_they_merged() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let addrs = free_addrs(3);
        let mut nodes = Vec::new();
        for i in 0..3 {
            nodes.push(start("gossip", i, &addrs, dir.path(), "always").await);
        }
        let mut n1 = nodes[0].client().await;
        for i in 0..30 {
            let _: i64 = query(&mut n1, &["SADD", "s", &i.to_string()]).await;
        }
        let _: String = query(&mut n1, &["SET", "r", "x"]).await;
        let _: i64 = query(&mut n1, &["INCRBY", "c", "5"]).await;
        // n2 serves what it merged from n1's gossip.
        let mut n2 = nodes[1].client().await;
        let began = Instant::now();
        loop {
            let counter: Option<String> = query(&mut n2, &["GET", "c"]).await;
            let register: Option<String> = query(&mut n2, &["GET", "r"]).await;
            if members(&mut n2, "s").await.len() == 30
                && counter.as_deref() == Some("5")
                && register.as_deref() == Some("x")
            {
                break;
            }
            assert!(
                began.elapsed() < Duration::from_secs(10),
                "n2 never merged n1's writes"
            );
            sleep(Duration::from_millis(20)).await;
        }
        drop((n1, n2));
        for node in nodes.drain(..) {
            node.kill();
        }
        // n2 alone, its peers down: what it served came from its own log.
        let n2 = start("gossip", 1, &addrs, dir.path(), "always").await;
        let mut n2 = n2.client().await;
        assert_eq!(members(&mut n2, "s").await, numbers(0..30));
        let register: Option<String> = query(&mut n2, &["GET", "r"]).await;
        let counter: Option<String> = query(&mut n2, &["GET", "c"]).await;
        assert_eq!(
            (register.as_deref(), counter.as_deref()),
            (Some("x"), Some("5"))
        );
        // n1 alone keeps its own writes; its clock is above the register it wrote, so a new
        // write wins.
        drop(n2);
        let n1 = start("gossip", 0, &addrs, dir.path(), "always").await;
        let mut n1 = n1.client().await;
        assert_eq!(members(&mut n1, "s").await, numbers(0..30));
        let sum: i64 = query(&mut n1, &["INCRBY", "c", "1"]).await;
        assert_eq!(sum, 6, "the counter went on from its logged count");
    })
    .await;
}

#[tokio::test]
async fn a_gossip_node_drops_a_torn_record_and_replays_the_rest() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let addrs = free_addrs(1);
        let node = start("gossip", 0, &addrs, dir.path(), "always").await;
        let mut c = node.client().await;
        for member in ["1", "2", "3"] {
            let _: i64 = query(&mut c, &["SADD", "s", member]).await;
        }
        node.kill();
        tear(&dir.path().join("n1.log"), 2);
        let node = start("gossip", 0, &addrs, dir.path(), "always").await;
        let mut c = node.client().await;
        assert_eq!(
            members(&mut c, "s").await,
            ["1", "2"],
            "the add of 3 was torn"
        );
        let _: i64 = query(&mut c, &["SADD", "s", "4"]).await;
        node.kill();
        let node = start("gossip", 0, &addrs, dir.path(), "always").await;
        let mut c = node.client().await;
        assert_eq!(members(&mut c, "s").await, ["1", "2", "4"]);
    })
    .await;
}

#[tokio::test]
async fn with_fsync_never_a_kill_takes_the_writes_the_buffer_held() {
    bounded(async {
        for mode in ["gossip", "quorum"] {
            let dir = tempfile::tempdir().unwrap();
            let addrs = free_addrs(1);
            let node = start(mode, 0, &addrs, dir.path(), "never").await;
            let mut c = node.client().await;
            for i in 0..10 {
                let _: i64 = query(&mut c, &["SADD", "s", &i.to_string()]).await;
            }
            assert_eq!(members(&mut c, "s").await.len(), 10, "{mode}");
            node.kill();
            let node = start(mode, 0, &addrs, dir.path(), "never").await;
            let mut c = node.client().await;
            assert!(
                members(&mut c, "s").await.is_empty(),
                "{mode}: ten small adds never filled the 64 KiB buffer, so none reached the file"
            );
        }
    })
    .await;
}

/// `every-second` (the default `--fsync`): the node's tick writes out and fsyncs each design's
/// log, so a kill more than a second after the writes keeps them. Without the tick reaching the
/// leaderless designs' logs the writes would wait in the process's buffer and die with it.
#[tokio::test]
async fn every_second_the_tick_puts_each_leaderless_log_on_disk() {
    bounded(async {
        for mode in ["quorum", "gossip"] {
            let dir = tempfile::tempdir().unwrap();
            let addrs = free_addrs(1);
            let log = dir.path().join("n1.log");
            let node = start(mode, 0, &addrs, dir.path(), "every-second").await;
            let mut c = node.client().await;
            for i in 0..10 {
                let _: i64 = query(&mut c, &["SADD", "s", &i.to_string()]).await;
            }
            // Bounded: the tick comes once a second.
            let deadline = Instant::now() + Duration::from_secs(5);
            while std::fs::metadata(&log).map_or(0, |m| m.len()) == 0 {
                assert!(
                    Instant::now() < deadline,
                    "{mode}: the tick never wrote the log"
                );
                sleep(Duration::from_millis(100)).await;
            }
            sleep(Duration::from_millis(1500)).await;
            node.kill();
            let node = start(mode, 0, &addrs, dir.path(), "every-second").await;
            let mut c = node.client().await;
            assert_eq!(members(&mut c, "s").await, numbers(0..10), "{mode}");
        }
    })
    .await;
}
