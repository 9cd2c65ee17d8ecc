//! Debian's Redis 7.0: one primary and replicas via `replicaof`, persistence as chosen, and with
//! `--failover sentinel` a `redis-sentinel` beside each node ([`super::sentinel`]).

use super::sentinel;
use super::{
    BoxFuture, DaemonSpec, Failover, Launch, NodeAddrs, NodePlan, NodeStatus, Persistence, Target,
    TargetKind, Unhealthy,
};
use crate::capability::find_in_path;
use crate::probe;
use std::path::PathBuf;
use std::time::Duration;

/// The Debian package that provides `redis-server`, named in errors when it is missing.
pub const REDIS_PACKAGE: &str = "redis-server";

/// Redis, shaped by the run's failover and persistence options.
#[derive(Debug, Clone)]
pub struct RedisTarget {
    /// Whether sentinels run beside the nodes.
    pub failover: Failover,
    /// Whether and how the append-only file is written.
    pub persistence: Persistence,
}

/// Finds `program` in PATH, or says which Debian package provides it.
pub fn find_program(program: &str, package: &str) -> Result<PathBuf, String> {
    find_in_path(program).ok_or_else(|| {
        format!(
            "{program} not found in PATH: install Debian's '{package}' package \
             (apt-get install {package})"
        )
    })
}

impl RedisTarget {
    fn server(&self, node: &NodePlan<'_>) -> Result<DaemonSpec, String> {
        let program = find_program("redis-server", REDIS_PACKAGE)?;
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
        Ok(DaemonSpec {
            role: "server",
            launch: Launch { program, args },
            marker: addr.port().to_string(),
            files: Vec::new(),
        })
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

impl Target for RedisTarget {
    fn kind(&self) -> TargetKind {
        TargetKind::Redis
    }

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

    fn status<'a>(
        &'a self,
        addrs: &'a NodeAddrs,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<NodeStatus, String>> {
        Box::pin(async move {
            let mut status = probe::resp_status(addrs.client, timeout).await?;
            if let Some(at) = addrs.sentinel {
                status.sentinel = Some(sentinel::view(at, timeout).await?);
            }
            Ok(status)
        })
    }

    fn judge(&self, nodes: &[(String, NodeAddrs, NodeStatus)]) -> Result<(), Unhealthy> {
        super::judge_primary_replica(nodes)?;
        if self.failover == Failover::Sentinel {
            sentinel::judge(nodes)?;
        }
        Ok(())
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
        let e = find_program("no-such-redis-binary", "redis-sentinel").unwrap_err();
        assert!(e.contains("apt-get install redis-sentinel"), "{e}");
    }
}
