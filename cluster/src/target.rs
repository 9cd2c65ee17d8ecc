//! The systems faultline can test, and how each one's node processes are launched.

use crate::capability::find_in_path;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Which system a cluster runs (`--target`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// faultline's own node (`faultline node`).
    Own,
    /// Debian's `redis-server`, one primary and replicas via `replicaof`.
    Redis,
}

impl FromStr for TargetKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "own" => Ok(TargetKind::Own),
            "redis" => Ok(TargetKind::Redis),
            other => Err(format!("unknown target '{other}' (known: own, redis)")),
        }
    }
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TargetKind::Own => "own",
            TargetKind::Redis => "redis",
        })
    }
}

/// Which node a client's reads go to (`--read-from`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReadFrom {
    /// The primary, like writes.
    Primary,
    /// A replica (clients are spread over the replicas).
    Replica,
    /// Any node (clients are spread over all nodes).
    Any,
}

impl FromStr for ReadFrom {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "primary" => Ok(ReadFrom::Primary),
            "replica" => Ok(ReadFrom::Replica),
            "any" => Ok(ReadFrom::Any),
            other => Err(format!(
                "unknown read-from '{other}' (known: primary, replica, any)"
            )),
        }
    }
}

/// How one node process is started: program and arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Launch {
    /// The program to run.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
}

/// Where a node listens and whom it replicates from.
pub struct NodePlan<'a> {
    /// The node's name (n1, n2, …).
    pub name: &'a str,
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The primary's address, for a replica.
    pub replica_of: Option<SocketAddr>,
    /// The node's own directory (data, log).
    pub dir: &'a Path,
}

/// The Debian package that provides `redis-server`, named in errors when it is missing.
pub const REDIS_PACKAGE: &str = "redis-server";

impl TargetKind {
    /// How to start `node`; `own_exe` is the faultline binary (for `faultline node`).
    pub fn launch(
        self,
        node: &NodePlan<'_>,
        own_exe: &Path,
        replication_delay_ms: u64,
    ) -> Result<Launch, String> {
        match self {
            TargetKind::Own => {
                let mut args = vec![
                    "node".to_string(),
                    "--name".into(),
                    node.name.into(),
                    "--bind".into(),
                    node.addr.ip().to_string(),
                    "--port".into(),
                    node.addr.port().to_string(),
                    "--replication-delay".into(),
                    format!("{replication_delay_ms}ms"),
                ];
                if let Some(primary) = node.replica_of {
                    args.extend(["--replica-of".into(), primary.to_string()]);
                }
                Ok(Launch {
                    program: own_exe.to_path_buf(),
                    args,
                })
            }
            TargetKind::Redis => {
                let program = find_in_path("redis-server").ok_or_else(|| {
                    format!(
                        "redis-server not found in PATH: install Debian's '{REDIS_PACKAGE}' package \
                         (apt-get install {REDIS_PACKAGE})"
                    )
                })?;
                let mut args = vec![
                    "--port".to_string(),
                    node.addr.port().to_string(),
                    "--bind".into(),
                    node.addr.ip().to_string(),
                    // Debian's 7.0 refuses non-loopback clients otherwise; harmless on loopback.
                    "--protected-mode".into(),
                    "no".into(),
                    "--daemonize".into(),
                    "no".into(),
                    // Persistence off: a test run's data is disposable and fsyncs slow pauses down.
                    "--save".into(),
                    "".into(),
                    "--appendonly".into(),
                    "no".into(),
                    "--dir".into(),
                    node.dir.display().to_string(),
                    "--logfile".into(),
                    "".into(),
                ];
                if let Some(primary) = node.replica_of {
                    args.extend([
                        "--replicaof".into(),
                        primary.ip().to_string(),
                        primary.port().to_string(),
                    ]);
                }
                Ok(Launch { program, args })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_are_named() {
        assert!("etcd".parse::<TargetKind>().unwrap_err().contains("'etcd'"));
        assert!("leader"
            .parse::<ReadFrom>()
            .unwrap_err()
            .contains("primary, replica, any"));
    }

    #[test]
    fn own_replica_points_at_primary() {
        let dir = Path::new("/tmp/x");
        let plan = NodePlan {
            name: "n2",
            addr: "127.0.0.1:7002".parse().unwrap(),
            replica_of: Some("127.0.0.1:7001".parse().unwrap()),
            dir,
        };
        let l = TargetKind::Own
            .launch(&plan, Path::new("/bin/faultline"), 250)
            .unwrap();
        assert_eq!(l.args[0], "node");
        assert!(l
            .args
            .windows(2)
            .any(|w| w == ["--replica-of", "127.0.0.1:7001"]));
        assert!(l
            .args
            .windows(2)
            .any(|w| w == ["--replication-delay", "250ms"]));
    }
}
