//! Faults on a real namespace network: each one observable, each heal restoring, and teardown
//! leaving no namespace, device or claim behind. Needs root; skips without it unless
//! FAULTLINE_REQUIRE_ALL is set (CI), where it fails.

use cluster::control::Control;
use cluster::net::Network;
use cluster::{Cluster, ClusterSpec, NetMode, TargetKind};
use nemesis::{ClusterControl, PartitionSpec};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

fn netns_and_redis() -> bool {
    cluster::capability::netns_for_test() && cluster::capability::redis_for_test()
}

async fn redis_cluster(dir: &Path, nodes: usize) -> Cluster {
    let spec = ClusterSpec {
        target: TargetKind::Redis,
        nodes,
        net: NetMode::Netns,
        subnet_base: [10, 77],
        dir: dir.to_path_buf(),
        options: cluster::TargetOptions::default(),
        ready_timeout: Duration::from_secs(15),
        lifetime: cluster::Lifetime::WithFaultline,
        record: None,
        seed: 1,
        remote_hosts: Vec::new(),
        install: false,
    };
    Cluster::start(spec)
        .await
        .expect("a redis cluster starts in namespaces")
}

/// Whether a TCP connection from inside `from`'s namespace to `to` succeeds within a second.
fn connects(from: &std::sync::Arc<dyn Control>, to: SocketAddr) -> bool {
    let script = format!("exec 3<>/dev/tcp/{}/{}", to.ip(), to.port());
    from.run("timeout", &["1", "bash", "-c", &script], None)
        .is_ok()
}

/// Whether the node at `addr` answers PING from the harness within 500 ms.
async fn answers(addr: SocketAddr) -> bool {
    cluster::probe::replication(addr, Duration::from_millis(500))
        .await
        .is_ok()
}

/// Every namespace and device the cluster's network made.
fn made_by(cluster: &Cluster) -> (Vec<String>, Vec<String>) {
    let Network::Netns(n) = cluster.network() else {
        panic!("netns mode")
    };
    let namespaces = n.hosts().iter().map(|h| h.netns.clone()).collect();
    let mut devices: Vec<String> = n.hosts().iter().map(|h| h.veth.clone()).collect();
    devices.push(n.bridge().to_string());
    (namespaces, devices)
}

#[tokio::test]
async fn partition_pause_and_kill_are_observable_and_heal() {
    if !netns_and_redis() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = redis_cluster(dir.path(), 3).await;
    let addr = |i: usize| cluster.nodes()[i].addr;
    let host = |i: usize| cluster.network().host(i).1;
    assert!(
        matches!(addr(0).ip(), std::net::IpAddr::V4(v) if v.is_private()),
        "nodes live on the private bridge"
    );
    assert!(
        connects(&host(1), addr(0)) && connects(&host(2), addr(1)),
        "all links up"
    );

    // n1 | n2 n3: the peers cannot reach n1 nor n1 them; the harness still reaches everyone.
    let spec: PartitionSpec = "n1|n2,n3".parse().unwrap();
    cluster
        .partition(&spec.grudge(&cluster.node_names()).unwrap())
        .unwrap();
    assert!(!connects(&host(1), addr(0)), "n2 cannot connect to n1");
    assert!(!connects(&host(0), addr(2)), "n1 cannot connect to n3");
    assert!(connects(&host(1), addr(2)), "n2 and n3 stay joined");
    assert!(answers(addr(0)).await, "the control side keeps its access");
    cluster.heal_network().unwrap();
    assert!(connects(&host(1), addr(0)), "heal restores n2 -> n1");

    // One-way: n3 drops what n1 sends; n3 -> n1 still works.
    let mut one_way = nemesis::Grudge::default();
    one_way.0.insert("n3".into(), ["n1".to_string()].into());
    cluster.partition(&one_way).unwrap();
    assert!(
        !connects(&host(0), addr(2)),
        "n1 -> n3 is cut (no SYN reaches n3)"
    );
    cluster.heal_network().unwrap();

    cluster.pause("n2").unwrap();
    assert!(!answers(addr(1)).await, "a paused node does not answer");
    cluster.resume("n2").unwrap();
    assert!(answers(addr(1)).await, "a resumed node answers");

    cluster.kill("n3").unwrap();
    assert!(
        !connects(&host(0), addr(2)),
        "a killed node's port is closed"
    );
    cluster.restart("n3").unwrap();
    cluster
        .wait_ready(Duration::from_secs(15))
        .await
        .expect("restarted node rejoins");

    let (namespaces, devices) = made_by(&cluster);
    assert!(devices
        .iter()
        .all(|d| Path::new("/sys/class/net").join(d).exists()));
    cluster.teardown();
    for ns in namespaces {
        assert!(
            !Path::new("/run/netns").join(&ns).exists(),
            "namespace {ns} removed"
        );
    }
    for d in devices {
        assert!(
            !Path::new("/sys/class/net").join(&d).exists(),
            "device {d} removed"
        );
    }
}

/// Seconds to fetch a value of `len` bytes from `addr` (the reply is what the node sends).
async fn fetch_secs(addr: SocketAddr, key: &str) -> f64 {
    let mut conn = cluster::probe::connect(addr, Duration::from_secs(10))
        .await
        .unwrap();
    let start = std::time::Instant::now();
    let v: Vec<u8> = redis::cmd("GET")
        .arg(key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!v.is_empty());
    start.elapsed().as_secs_f64()
}

#[tokio::test]
async fn loss_and_bandwidth_are_observable_and_heal() {
    if !netns_and_redis() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cluster = redis_cluster(dir.path(), 2).await;
    let n1 = cluster.nodes()[0].addr;
    let host = |i: usize| cluster.network().host(i).1;

    // Total loss into n1 from the other nodes: n2 cannot connect; the harness still can.
    let lossy = nemesis::LinkFault {
        loss: 1.0,
        ..Default::default()
    };
    cluster.degrade(&["n1".into()], &lossy).unwrap();
    assert!(
        !connects(&host(1), n1),
        "every packet n2 sends to n1 is lost"
    );
    assert!(answers(n1).await, "the control side is not degraded");
    cluster.heal_network().unwrap();
    assert!(connects(&host(1), n1));

    // 64 KiB/s out of n1: a 160 KiB reply takes over two seconds; healed, a blink.
    let mut conn = cluster::probe::connect(n1, Duration::from_secs(5))
        .await
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("big")
        .arg(vec![b'x'; 160 * 1024])
        .query_async(&mut conn)
        .await
        .unwrap();
    let slow = nemesis::LinkFault {
        bandwidth: Some(64 * 1024),
        ..Default::default()
    };
    cluster.degrade(&["n1".into()], &slow).unwrap();
    let shaped = fetch_secs(n1, "big").await;
    assert!(shaped > 2.0, "shaped fetch took {shaped:.2} s");
    cluster.heal_network().unwrap();
    let free = fetch_secs(n1, "big").await;
    assert!(free < 0.5, "healed fetch took {free:.2} s");

    // Latency needs sch_netem; without it the error says what to use instead.
    let late = nemesis::LinkFault::named("latency").unwrap();
    match (
        cluster.degrade(&["n1".into()], &late),
        cluster::capability::netem_available(),
    ) {
        (Ok(()), true) => cluster.heal_network().unwrap(),
        (Err(e), false) => assert!(e.contains("sch_netem") && e.contains("--net proxy"), "{e}"),
        (r, netem) => panic!("latency gave {r:?} with netem available = {netem}"),
    }
    let half = nemesis::LinkFault::named("half-open").unwrap();
    let e = cluster.degrade(&["n1".into()], &half).unwrap_err();
    assert!(e.contains("half-open needs --net proxy"), "{e}");
}
