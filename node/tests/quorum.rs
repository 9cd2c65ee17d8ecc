//! `--mode quorum`: three nodes in this process, each coordinating over the others; what a
//! quorum answers, what it refuses when too few replicas answer, and the stale read a sloppy
//! quorum (`R + W ≤ N`) lets through.

mod common;

use clap::Parser;
use common::{Cli, Cluster};
use redis::aio::MultiplexedConnection;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::time::timeout;

/// Quorum nodes that wait 300 ms for their quorum.
const QUORUM: [&str; 2] = ["--quorum-timeout", "300ms"];

/// Starts node `i` of `cluster` in quorum mode with `extra` options.
fn start(
    cluster: &mut Cluster,
    i: usize,
    extra: &[&str],
) -> tokio::task::JoinHandle<anyhow::Result<()>> {
    cluster.start(i, "quorum", &[&QUORUM[..], extra].concat())
}

async fn get(c: &mut MultiplexedConnection, key: &str) -> redis::RedisResult<Option<String>> {
    redis::cmd("GET").arg(key).query_async(c).await
}

async fn set(c: &mut MultiplexedConnection, key: &str, value: &str) -> redis::RedisResult<String> {
    redis::cmd("SET").arg(key).arg(value).query_async(c).await
}

async fn cas(c: &mut MultiplexedConnection, key: &str, from: &str, to: &str) -> i64 {
    let cmd = redis::cmd("CAS").arg(key).arg(from).arg(to).clone();
    cmd.query_async(c).await.unwrap()
}

#[tokio::test]
async fn every_node_takes_writes_and_reads_what_any_other_wrote() {
    timeout(Duration::from_secs(30), async {
        let mut cluster = Cluster::bind(3).await;
        let _nodes: Vec<_> = (0..3).map(|i| start(&mut cluster, i, &[])).collect();
        let (mut n1, mut n2, mut n3) = (
            cluster.client(0).await,
            cluster.client(1).await,
            cluster.client(2).await,
        );
        assert_eq!(set(&mut n1, "k", "1").await.unwrap(), "OK");
        assert_eq!(get(&mut n2, "k").await.unwrap().as_deref(), Some("1"));
        assert_eq!(get(&mut n3, "k").await.unwrap().as_deref(), Some("1"));
        assert_eq!(cas(&mut n3, "k", "1", "2").await, 1);
        assert_eq!(cas(&mut n2, "k", "1", "3").await, 0, "k holds 2 now");
        assert_eq!(get(&mut n1, "k").await.unwrap().as_deref(), Some("2"));
        let sum: i64 = redis::cmd("INCRBY")
            .arg("c")
            .arg(5)
            .query_async(&mut n1)
            .await
            .unwrap();
        let sum2: i64 = redis::cmd("INCRBY")
            .arg("c")
            .arg(-2)
            .query_async(&mut n2)
            .await
            .unwrap();
        assert_eq!((sum, sum2), (5, 3));
        let _: i64 = redis::cmd("SADD")
            .arg("s")
            .arg("a")
            .query_async(&mut n1)
            .await
            .unwrap();
        let _: i64 = redis::cmd("SADD")
            .arg("s")
            .arg("b")
            .query_async(&mut n2)
            .await
            .unwrap();
        let mut members: Vec<String> = redis::cmd("SMEMBERS")
            .arg("s")
            .query_async(&mut n3)
            .await
            .unwrap();
        members.sort();
        assert_eq!(
            members,
            ["a", "b"],
            "adds from two coordinators are both kept"
        );
        let wrong = get(&mut n3, "s").await.unwrap_err();
        assert_eq!(wrong.code(), Some("WRONGTYPE"));
        let info: String = redis::cmd("INFO")
            .arg("replication")
            .query_async(&mut n2)
            .await
            .unwrap();
        assert!(info.contains("role:peer"), "{info}");
        assert!(
            info.contains("read_quorum:2") && info.contains("write_quorum:2"),
            "{info}"
        );
    })
    .await
    .expect("the test took over 30 s");
}

#[tokio::test]
async fn a_majority_answers_and_a_minority_refuses() {
    timeout(Duration::from_secs(30), async {
        let mut cluster = Cluster::bind(3).await;
        let nodes: Vec<_> = (0..3).map(|i| start(&mut cluster, i, &[])).collect();
        let mut n1 = cluster.client(0).await;
        nodes[2].abort();
        assert_eq!(
            set(&mut n1, "k", "1").await.unwrap(),
            "OK",
            "n1 and n2 are a majority"
        );
        assert_eq!(get(&mut n1, "k").await.unwrap().as_deref(), Some("1"));
        nodes[1].abort();
        let read = get(&mut n1, "k").await.unwrap_err();
        assert_eq!(read.code(), Some("NOQUORUM"), "{read}");
        assert!(
            read.to_string()
                .contains("1 of the 2 replicas a read needs"),
            "{read}"
        );
        let write = set(&mut n1, "k", "2").await.unwrap_err();
        assert_eq!(
            write.code(),
            Some("NOQUORUM"),
            "the version could not be read: {write}"
        );
    })
    .await
    .expect("the test took over 30 s");
}

#[tokio::test]
async fn a_write_short_of_its_quorum_is_uncertain_and_may_still_land() {
    timeout(Duration::from_secs(30), async {
        let mut cluster = Cluster::bind(3).await;
        let sizes = ["--read-quorum", "1", "--write-quorum", "3"];
        let nodes: Vec<_> = (0..3).map(|i| start(&mut cluster, i, &sizes)).collect();
        let mut n1 = cluster.client(0).await;
        let mut n2 = cluster.client(1).await;
        nodes[2].abort();
        let write = set(&mut n1, "k", "1").await.unwrap_err();
        assert_eq!(write.code(), Some("UNCERTAIN"), "{write}");
        assert!(write.to_string().contains("reached 2 of the 3"), "{write}");
        // n2 acknowledged it, so the write that "failed" is there: ask n2's replica itself (a
        // GET would fail too: its read repair must leave all 3 replicas holding the value).
        let held: Vec<String> = redis::cmd("QFETCH")
            .arg("k")
            .query_async(&mut n2)
            .await
            .unwrap();
        assert_eq!(held[1..], ["n1", "string", "1"]);
        let read = get(&mut n2, "k").await.unwrap_err();
        assert_eq!(read.code(), Some("NOQUORUM"), "{read}");
    })
    .await
    .expect("the test took over 30 s");
}

#[tokio::test]
async fn a_sloppy_quorum_reads_a_value_older_than_an_acknowledged_write() {
    timeout(Duration::from_secs(30), async {
        let mut cluster = Cluster::bind(3).await;
        let sloppy = ["--read-quorum", "1", "--write-quorum", "1"];
        let _n1 = start(&mut cluster, 0, &sloppy);
        let _n2 = start(&mut cluster, 1, &sloppy);
        let mut n1 = cluster.client(0).await;
        // n3 is down (its port refuses) while both writes are acknowledged by n1 alone.
        drop(cluster.listeners[2].take());
        assert_eq!(set(&mut n1, "k", "1").await.unwrap(), "OK");
        assert_eq!(set(&mut n1, "k", "2").await.unwrap(), "OK");
        cluster.listeners[2] = Some(TcpListener::bind(cluster.addrs[2]).await.unwrap());
        let _n3 = start(&mut cluster, 2, &sloppy);
        let mut n3 = cluster.client(2).await;
        assert_eq!(
            get(&mut n3, "k").await.unwrap(),
            None,
            "R + W ≤ N: n3's read quorum is itself, which never saw k"
        );
        // The same cluster with majorities would have met a replica holding the write.
        let mut n2 = cluster.client(1).await;
        assert_eq!(get(&mut n2, "k").await.unwrap().as_deref(), Some("2"));
    })
    .await
    .expect("the test took over 30 s");
}

#[tokio::test]
async fn options_that_do_not_fit_a_quorum_are_refused_by_name() {
    let cases: [(&[&str], &str); 4] = [
        (
            &["--read-quorum", "4", "--peer", "a:1", "--peer", "b:2"],
            "--read-quorum 4: must be 1 to 3",
        ),
        (&["--write-quorum", "0"], "--write-quorum 0: must be 1 to 1"),
        (
            &["--replica-of", "127.0.0.1:1"],
            "--replica-of and --failover-after do not apply",
        ),
        (&["--peer", "nowhere"], "--peer \"nowhere\": not HOST:PORT"),
    ];
    for (extra, expected) in cases {
        let mut argv = vec!["node", "--mode", "quorum", "--port", "0"];
        argv.extend(extra);
        let args = Cli::parse_from(&argv).node;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let err = node::serve(args, listener).await.unwrap_err();
        assert!(format!("{err:#}").contains(expected), "{argv:?}: {err:#}");
    }
    let args = Cli::parse_from(["node", "--port", "0", "--read-quorum", "1"]).node;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = node::serve(args, listener).await.unwrap_err();
    assert!(
        format!("{err:#}").contains("go with --mode quorum"),
        "{err:#}"
    );
}
