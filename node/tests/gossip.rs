//! `--mode gossip`: three nodes in this process, each answering alone and gossiping its data to
//! the others; what each node answers at once, how they converge, and how a node restarted
//! empty gets everything back from its peers.

mod common;

use common::{query, Cluster};
use redis::aio::MultiplexedConnection;
use std::time::Duration;
use tokio::time::{sleep, timeout, Instant};

/// Gossip every 20 ms, so convergence takes a few rounds of that.
const FAST: [&str; 2] = ["--gossip-interval", "20ms"];

/// Waits (at most 10 s) until every client reads the same answer to `args`; returns it.
async fn agreed(clients: &mut [MultiplexedConnection], args: &[&str]) -> String {
    let began = Instant::now();
    loop {
        let mut answers = Vec::new();
        for c in clients.iter_mut() {
            let value: redis::Value = query(c, args).await;
            answers.push(format!("{value:?}"));
        }
        if answers.iter().all(|a| a == &answers[0]) {
            return answers.swap_remove(0);
        }
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "{args:?} never agreed: {answers:?}"
        );
        sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn every_node_answers_alone_and_all_converge() {
    timeout(Duration::from_secs(30), async {
        let mut cluster = Cluster::bind(3).await;
        let _nodes: Vec<_> = (0..3).map(|i| cluster.start(i, "gossip", &FAST)).collect();
        let mut clients = Vec::new();
        for i in 0..3 {
            clients.push(cluster.client(i).await);
        }
        for (i, c) in clients.iter_mut().enumerate() {
            let added: i64 = query(c, &["SADD", "s", &i.to_string()]).await;
            assert_eq!(added, 1);
            let sum: i64 = query(c, &["INCRBY", "c", &(i + 1).to_string()]).await;
            assert!(sum >= (i + 1) as i64, "at least its own increment: {sum}");
            let _: String = query(c, &["SET", "r", &format!("from n{}", i + 1)]).await;
        }
        let mut members: Vec<String> = {
            agreed(&mut clients, &["SMEMBERS", "s"]).await;
            query(&mut clients[2], &["SMEMBERS", "s"]).await
        };
        members.sort();
        assert_eq!(members, ["0", "1", "2"], "no add is lost");
        agreed(&mut clients, &["GET", "c"]).await;
        let total: String = query(&mut clients[0], &["GET", "c"]).await;
        assert_eq!(total, "6", "every node's increments are kept");
        agreed(&mut clients, &["GET", "r"]).await;
        let info: String = query(&mut clients[1], &["INFO", "replication"]).await;
        assert!(
            info.contains("role:peer") && info.contains("mode:gossip"),
            "{info}"
        );
        assert!(info.contains("conflict_rule:last-writer-wins"), "{info}");
    })
    .await
    .expect("the test took over 30 s");
}

#[tokio::test]
async fn a_node_restarted_empty_gets_everything_back_from_its_peers() {
    timeout(Duration::from_secs(30), async {
        let mut cluster = Cluster::bind(3).await;
        let nodes: Vec<_> = (0..3).map(|i| cluster.start(i, "gossip", &FAST)).collect();
        let mut n1 = cluster.client(0).await;
        for i in 0..50 {
            let _: i64 = query(&mut n1, &["SADD", "s", &i.to_string()]).await;
        }
        let mut n3 = cluster.client(2).await;
        let began = Instant::now();
        while query::<Vec<String>>(&mut n3, &["SMEMBERS", "s"])
            .await
            .len()
            < 50
        {
            assert!(
                began.elapsed() < Duration::from_secs(10),
                "n3 never got the adds"
            );
            sleep(Duration::from_millis(20)).await;
        }
        nodes[2].abort();
        sleep(Duration::from_millis(50)).await;
        cluster.listeners[2] = Some(
            tokio::net::TcpListener::bind(cluster.addrs[2])
                .await
                .unwrap(),
        );
        let _n3 = cluster.start(2, "gossip", &FAST);
        let mut n3 = cluster.client(2).await;
        let began = Instant::now();
        loop {
            let members: Vec<String> = query(&mut n3, &["SMEMBERS", "s"]).await;
            if members.len() == 50 {
                break;
            }
            assert!(
                began.elapsed() < Duration::from_secs(10),
                "the restarted n3 holds {} of 50",
                members.len()
            );
            sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the test took over 30 s");
}

#[tokio::test]
async fn commands_against_the_other_kind_are_wrongtype_and_del_is_refused() {
    timeout(Duration::from_secs(30), async {
        let mut cluster = Cluster::bind(1).await;
        let _n1 = cluster.start(0, "gossip", &FAST);
        let mut c = cluster.client(0).await;
        let _: i64 = query(&mut c, &["SADD", "s", "a"]).await;
        let err = redis::cmd("GET")
            .arg("s")
            .query_async::<String>(&mut c)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("WRONGTYPE"));
        let err = redis::cmd("DEL")
            .arg("s")
            .query_async::<i64>(&mut c)
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("not supported by a node in --mode gossip"),
            "{err}"
        );
        let _: String = query(&mut c, &["SET", "r", "1"]).await;
        let swapped: i64 = query(&mut c, &["CAS", "r", "1", "2"]).await;
        let missed: i64 = query(&mut c, &["CAS", "r", "1", "3"]).await;
        assert_eq!((swapped, missed), (1, 0));
    })
    .await
    .expect("the test took over 30 s");
}
