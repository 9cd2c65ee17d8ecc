//! The client a worker drives, whatever the target: one enum so the worker stays generic over a
//! single type and each target keeps its own client.

use cluster::etcd::{EtcdClient, ReadConsistency};
use cluster::{Cluster, ReadFrom, RespClient, TargetKind};
use std::time::Duration;
use workloads::{ClientError, RegisterClient, SetClient};

/// A client of the cluster under test.
// One per worker, made once and never moved on a hot path: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum TargetClient {
    /// Own nodes and Redis speak RESP.
    Resp(RespClient),
    /// etcd through its JSON gateway.
    Etcd(EtcdClient),
}

/// What shapes every client of a run.
#[derive(Debug, Clone, Copy)]
pub struct ClientOptions {
    /// Where reads go.
    pub read_from: ReadFrom,
    /// How long an operation may take before it is indeterminate.
    pub timeout: Duration,
    /// Redis: replicas to WAIT for after each write.
    pub wait_replicas: Option<u32>,
    /// etcd: serializable reads.
    pub serializable_reads: bool,
}

impl TargetClient {
    /// The client of worker `id`: with Sentinel it asks its "own" node's sentinel first (worker
    /// `id` lives beside node `id mod n`), as Jepsen's clients each used their node's sentinel.
    pub fn for_worker(cluster: &Cluster, id: usize, opts: &ClientOptions) -> TargetClient {
        let target = cluster.target().kind();
        if target == TargetKind::Etcd {
            // As Jepsen's etcd clients: each bound to one member, spread over all of them.
            let nodes = cluster.nodes();
            let consistency = if opts.serializable_reads {
                ReadConsistency::Serializable
            } else {
                ReadConsistency::Linearizable
            };
            let member = nodes[id % nodes.len()].addr;
            return TargetClient::Etcd(EtcdClient::new(vec![member], consistency, opts.timeout));
        }
        let reader = cluster.read_addr(opts.read_from, id);
        let mut client = RespClient::new(target, cluster.primary_addr(), reader, opts.timeout)
            .with_wait(opts.wait_replicas);
        if let Some(mut order) = cluster.sentinels() {
            let first = id % order.len().max(1);
            order.rotate_left(first);
            client = client.with_sentinels(order);
        }
        TargetClient::Resp(client)
    }

    /// A client that reads only from node `i` (final reads, node by node).
    pub fn reading_from(cluster: &Cluster, i: usize, opts: &ClientOptions) -> TargetClient {
        let addr = cluster.nodes()[i].addr;
        match cluster.target().kind() {
            // A serializable read is the member's own copy, which is what a final read is for.
            TargetKind::Etcd => TargetClient::Etcd(EtcdClient::new(
                vec![addr],
                ReadConsistency::Serializable,
                opts.timeout,
            )),
            target => TargetClient::Resp(RespClient::new(target, addr, addr, opts.timeout)),
        }
    }
}

impl RegisterClient for TargetClient {
    async fn read(&mut self, key: &str) -> Result<Option<i64>, ClientError> {
        match self {
            TargetClient::Resp(c) => c.read(key).await,
            TargetClient::Etcd(c) => c.read(key).await,
        }
    }

    async fn write(&mut self, key: &str, value: i64) -> Result<(), ClientError> {
        match self {
            TargetClient::Resp(c) => c.write(key, value).await,
            TargetClient::Etcd(c) => c.write(key, value).await,
        }
    }

    async fn cas(&mut self, key: &str, expected: i64, new: i64) -> Result<bool, ClientError> {
        match self {
            TargetClient::Resp(c) => c.cas(key, expected, new).await,
            TargetClient::Etcd(c) => c.cas(key, expected, new).await,
        }
    }
}

impl SetClient for TargetClient {
    async fn add(&mut self, key: &str, element: i64) -> Result<(), ClientError> {
        match self {
            TargetClient::Resp(c) => c.add(key, element).await,
            TargetClient::Etcd(c) => c.add(key, element).await,
        }
    }

    async fn read_set(&mut self, key: &str) -> Result<Vec<i64>, ClientError> {
        match self {
            TargetClient::Resp(c) => c.read_set(key).await,
            TargetClient::Etcd(c) => c.read_set(key).await,
        }
    }
}
