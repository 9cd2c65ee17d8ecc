//! Debian's Redis 7.0: one primary and replicas via `replicaof`, persistence as chosen, and with
//! `--failover sentinel` a `redis-sentinel` beside each node ([`sentinel`]).

pub mod keys;
pub mod sentinel;

use super::{Failover, Persistence};
use crate::capability::find_in_path;
use crate::client::{self, BoxFuture, Client, ClientOptions};
use crate::probe;
use crate::resp_client::RespClient;
use crate::system::{
    judge_primary_replica, DaemonSpec, KeysAction, NodeAddrs, NodePlan, NodeStatus, PortPlan,
    ProxyKind, StatusFuture, System, SystemOption, Unhealthy,
};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use workloads::Operations;

/// The Debian package that provides `redis-server`, named in errors when it is missing.
pub const REDIS_PACKAGE: &str = "redis-server";

/// Compare-and-set on real Redis: a Lua script runs atomically, so the compare and the set cannot
/// interleave with another client's write.
const CAS_SCRIPT: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
                          redis.call('SET', KEYS[1], ARGV[2]) return 1 else return 0 end";

/// Redis's compare-and-set: [`CAS_SCRIPT`] run by `EVAL`.
fn cas(key: &str, expected: i64, new: i64) -> redis::Cmd {
    redis::cmd("EVAL")
        .arg(CAS_SCRIPT)
        .arg(1)
        .arg(key)
        .arg(expected)
        .arg(new)
        .clone()
}

/// Redis, shaped by the run's failover and persistence options.
#[derive(Debug, Clone)]
pub struct RedisSystem {
    /// Whether sentinels run beside the nodes.
    pub failover: Failover,
    /// Whether and how the append-only file is written.
    pub persistence: Persistence,
}

/// Finds `program` in PATH, or says which Debian package provides it.
pub fn find_program(program: &str, package: &str, remote: bool) -> Result<PathBuf, String> {
    if remote {
        // Found on the node's host at start, where a missing one is named with its host.
        return Ok(PathBuf::from(program));
    }
    find_in_path(program).ok_or_else(|| {
        format!(
            "{program} not found in PATH: install Debian's '{package}' package \
             (apt-get install {package})"
        )
    })
}

impl RedisSystem {
    fn server(&self, node: &NodePlan<'_>) -> Result<DaemonSpec, String> {
        let program = find_program("redis-server", REDIS_PACKAGE, node.remote)?;
        let addr = node.addrs.client;
        let mut args = vec![
            "--port".to_string(),
            addr.port().to_string(),
            "--bind".into(),
            addr.ip().to_string(),
            // Debian's 7.0 refuses non-loopback clients otherwise; harmless on loopback.
            "--protected-mode".into(),
            "no".into(),
            "--daemonize".into(),
            "no".into(),
            // No RDB snapshots: a test run's data is disposable and forks slow pauses down.
            "--save".into(),
            "".into(),
            "--dir".into(),
            node.dir.display().to_string(),
            "--logfile".into(),
            "".into(),
        ];
        args.extend(persistence_args(self.persistence));
        args.extend(proxy_args(node));
        if node.index > 0 {
            let primary = node.first().client;
            args.extend([
                "--replicaof".into(),
                primary.ip().to_string(),
                primary.port().to_string(),
            ]);
        }
        Ok(DaemonSpec::server(program, args, addr.port().to_string()))
    }
}

/// In proxy mode with fronts: outgoing connections from the node's own source address (so the
/// fronts can tell who connected), and its front announced to the primary as its address (so the
/// primary's `INFO replication`, and the sentinels reading it, hand out the front).
fn proxy_args(node: &NodePlan<'_>) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(ip) = node.source_ip {
        args.extend(["--bind-source-addr".to_string(), ip.to_string()]);
    }
    let seen = node.me().client;
    if seen != node.addrs.client {
        args.extend([
            "--replica-announce-ip".to_string(),
            seen.ip().to_string(),
            "--replica-announce-port".to_string(),
            seen.port().to_string(),
        ]);
    }
    args
}

/// The `redis-server` arguments for `persistence`.
fn persistence_args(persistence: Persistence) -> Vec<String> {
    let fsync = match persistence {
        Persistence::None => return vec!["--appendonly".into(), "no".into()],
        Persistence::AofAlways => "always",
        Persistence::AofEverysec => "everysec",
        Persistence::AofNo => "no",
    };
    ["--appendonly", "yes", "--appendfsync", fsync]
        .map(String::from)
        .to_vec()
}

impl System for RedisSystem {
    fn position_unit(&self) -> &'static str {
        // master_repl_offset / slave_repl_offset count bytes of the replication stream.
        "bytes"
    }

    fn daemons(&self, node: &NodePlan<'_>) -> Result<Vec<DaemonSpec>, String> {
        let mut daemons = vec![self.server(node)?];
        if self.failover == Failover::Sentinel {
            daemons.push(sentinel::daemon(node)?);
        }
        Ok(daemons)
    }

    fn status<'a>(&'a self, addrs: &'a NodeAddrs, timeout: Duration) -> StatusFuture<'a> {
        Box::pin(async move {
            let mut status = probe::resp_status(addrs.client, timeout).await?;
            if let Some(at) = addrs.sentinel {
                status.sentinel = Some(sentinel::view(at, timeout).await?);
            }
            Ok(status)
        })
    }

    fn judge(&self, nodes: &[(String, NodeAddrs, NodeStatus)]) -> Result<(), Unhealthy> {
        judge_primary_replica(nodes)?;
        if self.failover == Failover::Sentinel {
            sentinel::judge(nodes)?;
        }
        Ok(())
    }

    fn ports(&self) -> PortPlan {
        PortPlan {
            peer_is_client: true,
            netns: (6379, 6379),
            helper: (self.failover == Failover::Sentinel).then_some(sentinel::NETNS_PORT),
        }
    }

    /// Sentinels hand one address per node to everyone (where the primary is, replicas as they
    /// announce themselves): fronts that tell nodes by source address, not per-pair links.
    fn proxy(&self) -> ProxyKind {
        match self.failover {
            Failover::Sentinel => ProxyKind::FrontsBySource,
            Failover::None | Failover::Auto => ProxyKind::Links,
        }
    }

    fn noun(&self) -> &'static str {
        "Redis nodes"
    }

    fn operations(&self) -> &'static [Operations] {
        &[Operations::Register, Operations::Set, Operations::Counter]
    }

    fn takes(&self, option: SystemOption) -> bool {
        matches!(
            option,
            SystemOption::Failover(Failover::None | Failover::Sentinel)
                | SystemOption::Persistence
                | SystemOption::WaitReplicas
        )
    }

    fn check_cluster(&self, nodes: usize) -> Result<(), String> {
        if self.failover == Failover::Sentinel && nodes < 3 {
            return Err(
                "--failover sentinel: needs --nodes 3 or more, so a majority of \
                        sentinels can outvote a lost primary"
                    .into(),
            );
        }
        Ok(())
    }

    fn check_clients(&self, nodes: usize, clients: &ClientOptions) -> Result<(), String> {
        if clients.wait_replicas.is_some_and(|n| n as usize >= nodes) {
            return Err(format!(
                "--wait-replicas: {} nodes have at most {} replicas",
                nodes,
                nodes - 1
            ));
        }
        Ok(())
    }

    /// With Sentinel, worker `worker` asks its "own" node's sentinel first (it lives beside node
    /// `worker mod n`), as Jepsen's clients each used their node's sentinel.
    fn client(&self, nodes: &[NodeAddrs], worker: usize, opts: &ClientOptions) -> Client {
        let clients: Vec<_> = nodes.iter().map(|n| n.client).collect();
        let reader = client::read_addr(&clients, opts.read_from, worker);
        let mut resp =
            Self::resp_client(clients[0], reader, opts.timeout).with_wait(opts.wait_replicas);
        let sentinels: Option<Vec<SocketAddr>> = nodes.iter().map(|n| n.sentinel).collect();
        if let Some(mut order) = sentinels {
            let first = worker % order.len().max(1);
            order.rotate_left(first);
            resp = resp.with_locator(sentinel::SentinelLocator::new(order));
        }
        Client::new(resp)
    }

    fn node_client(&self, node: &NodeAddrs, opts: &ClientOptions) -> Client {
        Client::new(Self::resp_client(node.client, node.client, opts.timeout))
    }

    fn promote<'a>(
        &'a self,
        name: &'a str,
        node: &'a NodeAddrs,
        followers: Vec<crate::system::Follower>,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Vec<String>, String>> {
        Box::pin(async move { crate::replicaof::promote(name, node, &followers, timeout).await })
    }

    fn can_attach(&self) -> bool {
        true
    }

    fn server_program(&self) -> Option<&'static str> {
        Some("redis-server")
    }

    fn keys_under<'a>(
        &'a self,
        primary: &'a NodeAddrs,
        prefix: &'a str,
        action: KeysAction,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<u64, String>> {
        Box::pin(keys::under_prefix(primary.client, prefix, action, timeout))
    }
}

impl RedisSystem {
    /// A client of the Redis nodes whose primary is at `primary`, reading from `reader`: what
    /// [`System::client`] starts from, and what tests that drive one client by hand use.
    pub fn resp_client(primary: SocketAddr, reader: SocketAddr, timeout: Duration) -> RespClient {
        RespClient::new(cas, primary, reader, timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persistence_maps_to_appendonly_and_fsync() {
        assert_eq!(persistence_args(Persistence::None), ["--appendonly", "no"]);
        assert_eq!(
            persistence_args(Persistence::AofEverysec),
            ["--appendonly", "yes", "--appendfsync", "everysec"]
        );
    }

    #[test]
    fn a_missing_program_names_its_package() {
        let e = find_program("no-such-redis-binary", "redis-sentinel", false).unwrap_err();
        assert_eq!(
            find_program("no-such-redis-binary", "redis-sentinel", true),
            Ok(PathBuf::from("no-such-redis-binary")),
            "a remote host's program is looked for there"
        );
        assert!(e.contains("apt-get install redis-sentinel"), "{e}");
    }
}
