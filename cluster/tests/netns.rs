//! Faults on a real namespace network: each one observable, each heal restoring, and teardown
//! leaving no namespace, device or claim behind. Needs root; skips without it unless
//! FAULTLINE_REQUIRE_ALL is set (CI), where it fails.

use cluster::control::{Control, LocalControl};
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
        own_exe: "/nonexistent/own-nodes-unused".into(),
        replication_delay: Duration::ZERO,
        ready_timeout: Duration::from_secs(15),
        lifetime: cluster::Lifetime::WithFaultline,
        record: None,
    };
    Cluster::start(spec)
        .await
        .expect("a redis cluster starts in namespaces")
}

/// Whether a TCP connection from inside `from`'s namespace to `to` succeeds within a second.
fn connects(from: &LocalControl, to: SocketAddr) -> bool {
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
