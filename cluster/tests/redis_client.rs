//! The client's failure classification against a real redis-server: what certainly did not happen
//! becomes `fail`, what may have happened becomes `info`.
//!
//! Skips when redis-server is missing, unless FAULTLINE_REQUIRE_ALL is set (CI), where it fails.

use cluster::systems::redis::sentinel::SentinelLocator;
use cluster::systems::redis::RedisSystem;
use cluster::systems::Persistence;
use cluster::{Cluster, ClusterSpec, TargetKind, TargetOptions};
use nemesis::ClusterControl;
use std::net::SocketAddr;
use std::time::Duration;
use workloads::{ClientError, RegisterClient};

async fn redis_cluster(dir: &std::path::Path, nodes: usize) -> Cluster {
    redis_with(dir, nodes, Persistence::None).await
}

async fn redis_with(dir: &std::path::Path, nodes: usize, persistence: Persistence) -> Cluster {
    let spec = ClusterSpec {
        target: TargetKind::Redis,
        nodes,
        net: cluster::NetMode::Loopback,
        subnet_base: [10, 77],
        dir: dir.to_path_buf(),
        options: TargetOptions {
            persistence,
            ..TargetOptions::default()
        },
        ready_timeout: Duration::from_secs(10),
        lifetime: cluster::Lifetime::WithFaultline,
        record: None,
        seed: 1,
        remote_hosts: Vec::new(),
        install: false,
    };
    Cluster::start(spec).await.expect("a redis cluster starts")
}

#[tokio::test]
async fn timeout_is_info_refusal_and_error_replies_are_fail() {
    if !cluster::capability::redis_for_test() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = redis_cluster(dir.path(), 2).await;
    let primary = cluster.primary_addr();
    let replica = cluster.nodes()[1].addr;
    let timeout = Duration::from_millis(300);
    let mut client = RedisSystem::resp_client(primary, primary, timeout);

    client.write("k", 1).await.unwrap();
    assert_eq!(client.read("k").await.unwrap(), Some(1));
    assert!(
        client.cas("k", 1, 2).await.unwrap(),
        "the Lua cas swaps on a match"
    );
    assert!(
        !client.cas("k", 1, 3).await.unwrap(),
        "and reports a mismatch"
    );
    assert_eq!(client.read("k").await.unwrap(), Some(2));

    // A paused primary: the command was sent on an open connection and no reply came.
    cluster.pause("n1").unwrap();
    let err = client.write("k", 4).await.unwrap_err();
    assert!(
        matches!(err, ClientError::MayHaveHappened(ref m) if m.contains("timeout")),
        "{err:?}"
    );
    cluster.resume("n1").unwrap();
    // The write may have happened, and it did: Redis applied it once resumed.
    assert_eq!(client.read("k").await.unwrap(), Some(4));

    // A replica refuses writes with an error reply: certainly not applied.
    let mut to_replica = RedisSystem::resp_client(replica, replica, timeout);
    let err = to_replica.write("k", 5).await.unwrap_err();
    assert!(
        matches!(err, ClientError::DidNotHappen(ref m) if m.contains("read only replica")),
        "{err:?}"
    );

    // A stopped node refuses connections: nothing was sent.
    cluster.teardown();
    let mut fresh = RedisSystem::resp_client(primary, primary, timeout);
    let err = fresh.write("k", 6).await.unwrap_err();
    assert!(
        matches!(err, ClientError::DidNotHappen(ref m) if m.contains("cannot connect")),
        "{err:?}"
    );
}

/// A killed primary comes back with its acknowledged writes only with the append-only file.
#[tokio::test]
async fn the_append_only_file_keeps_writes_across_a_kill() {
    if !cluster::capability::redis_for_test() {
        return;
    }
    let timeout = Duration::from_secs(1);
    for (persistence, kept) in [(Persistence::AofAlways, Some(7)), (Persistence::None, None)] {
        let dir = tempfile::tempdir().unwrap();
        let cluster = redis_with(dir.path(), 1, persistence).await;
        let primary = cluster.primary_addr();
        RedisSystem::resp_client(primary, primary, timeout)
            .write("k", 7)
            .await
            .unwrap();
        cluster.kill("n1").unwrap();
        cluster.restart("n1").unwrap();
        cluster.wait_ready(Duration::from_secs(10)).await.unwrap();
        let mut fresh = RedisSystem::resp_client(primary, primary, timeout);
        assert_eq!(fresh.read("k").await.unwrap(), kept, "{persistence:?}");
    }
}

/// `WAIT` short of its replicas leaves the write indeterminate: it was applied on the primary
/// and may or may not survive.
#[tokio::test]
async fn a_wait_short_of_its_replicas_is_info() {
    if !cluster::capability::redis_for_test() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cluster = redis_cluster(dir.path(), 2).await;
    let primary = cluster.primary_addr();
    // A replica that has just synced may take a while to acknowledge under a loaded CI
    // machine: the healthy write gets a generous timeout (WAIT gets half of it), the write
    // that must fall short a short one, so the test stays quick.
    let healthy = Duration::from_secs(5);
    RedisSystem::resp_client(primary, primary, healthy)
        .with_wait(Some(1))
        .write("k", 1)
        .await
        .expect("one replica acknowledges");
    let timeout = Duration::from_millis(300);
    let mut client = RedisSystem::resp_client(primary, primary, timeout).with_wait(Some(1));
    cluster.kill("n2").unwrap();
    let err = client.write("k", 2).await.unwrap_err();
    assert!(
        matches!(err, ClientError::MayHaveHappened(ref m) if m.contains("WAIT 1: only 0")),
        "{err:?}"
    );
    assert_eq!(
        client.read("k").await.unwrap(),
        Some(2),
        "applied on the primary"
    );
}

/// With no sentinel to ask, nothing was sent anywhere: the operation certainly did not happen.
#[tokio::test]
async fn no_sentinel_to_ask_is_fail() {
    let closed = SocketAddr::from(([127, 0, 0, 1], cluster::ports::listen_port().unwrap()));
    let timeout = Duration::from_millis(300);
    let mut client = RedisSystem::resp_client(closed, closed, timeout)
        .with_locator(SentinelLocator::new(vec![closed]));
    let err = client.write("k", 1).await.unwrap_err();
    assert!(
        matches!(err, ClientError::DidNotHappen(ref m) if m.contains("no sentinel named the primary")),
        "{err:?}"
    );
}
