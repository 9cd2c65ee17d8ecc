//! `--net proxy` on real Redis replication: a partition holds the replication stream and heal
//! releases it intact; latency on the link shows in how late a write reaches the replica; pause
//! and kill are seen and undone as in netns mode. No root needed. Skips without redis-server
//! unless FAULTLINE_REQUIRE_ALL is set (CI).

use cluster::{Cluster, ClusterSpec, NetMode, TargetKind};
use nemesis::{ClusterControl, PartitionSpec};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

async fn proxied_redis(dir: &std::path::Path) -> Cluster {
    let spec = ClusterSpec {
        target: TargetKind::Redis,
        nodes: 2,
        net: NetMode::Proxy,
        subnet_base: [10, 77],
        dir: dir.to_path_buf(),
        options: cluster::TargetOptions::default(),
        ready_timeout: Duration::from_secs(15),
        lifetime: cluster::Lifetime::WithFaultline,
        record: None,
        seed: 3,
        remote_hosts: Vec::new(),
        install: false,
    };
    Cluster::start(spec)
        .await
        .expect("a proxied redis cluster starts")
}

async fn set(addr: SocketAddr, key: &str, value: &str) {
    let mut c = cluster::probe::connect(addr, Duration::from_secs(2))
        .await
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(key)
        .arg(value)
        .query_async(&mut c)
        .await
        .unwrap();
}

/// Polls the replica until `key` reads `value`, giving up after `limit`; returns how long it took.
async fn seen_after(addr: SocketAddr, key: &str, value: &str, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut c = cluster::probe::connect(addr, Duration::from_secs(2))
        .await
        .unwrap();
    while start.elapsed() < limit {
        let v: Option<String> = redis::cmd("GET")
            .arg(key)
            .query_async(&mut c)
            .await
            .unwrap();
        if v.as_deref() == Some(value) {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

#[tokio::test]
async fn partition_holds_replication_and_latency_delays_it() {
    if !cluster::capability::redis_for_test() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cluster = proxied_redis(dir.path()).await;
    let (n1, n2) = (cluster.nodes()[0].addr, cluster.nodes()[1].addr);
    set(n1, "k", "1").await;
    assert!(
        seen_after(n2, "k", "1", Duration::from_secs(5))
            .await
            .is_some(),
        "replicates via the proxy"
    );

    let spec: PartitionSpec = "n1|n2".parse().unwrap();
    cluster
        .partition(&spec.grudge(&cluster.node_names()).unwrap())
        .unwrap();
    set(n1, "k", "2").await; // the control side still reaches n1
    assert_eq!(
        seen_after(n2, "k", "2", Duration::from_millis(700)).await,
        None,
        "held by the cut"
    );
    cluster.heal_network().unwrap();
    assert!(
        seen_after(n2, "k", "2", Duration::from_secs(5))
            .await
            .is_some(),
        "released intact by heal"
    );

    let late = nemesis::LinkFault {
        latency: Duration::from_millis(300),
        ..Default::default()
    };
    cluster.degrade(&["n1".into()], &late).unwrap();
    set(n1, "k", "3").await;
    let took = seen_after(n2, "k", "3", Duration::from_secs(5))
        .await
        .expect("arrives late");
    assert!(
        took >= Duration::from_millis(280),
        "latency shows: {took:?}"
    );
    cluster.heal_network().unwrap();
    set(n1, "k", "4").await;
    let took = seen_after(n2, "k", "4", Duration::from_secs(5))
        .await
        .unwrap();
    assert!(took < Duration::from_millis(200), "healed: {took:?}");
}

#[tokio::test]
async fn pause_and_kill_are_observable_and_heal_in_proxy_mode() {
    if !cluster::capability::redis_for_test() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cluster = proxied_redis(dir.path()).await;
    let n2 = cluster.nodes()[1].addr;
    let quick = Duration::from_millis(300);
    cluster.pause("n2").unwrap();
    assert!(
        cluster::probe::replication(n2, quick).await.is_err(),
        "a paused node does not answer"
    );
    cluster.resume("n2").unwrap();
    assert!(
        cluster::probe::replication(n2, quick).await.is_ok(),
        "resumed"
    );

    cluster.kill("n2").unwrap();
    assert!(
        std::net::TcpStream::connect_timeout(&n2, quick).is_err(),
        "a killed node's port is closed"
    );
    cluster.restart("n2").unwrap();
    cluster
        .wait_ready(Duration::from_secs(10))
        .await
        .expect("the restarted node rejoins");
    assert!(cluster.health().await.is_ok());
}
