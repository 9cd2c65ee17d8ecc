//! How one etcd member is launched: the binary, and the flags of a statically bootstrapped cluster.
//!
//! Every member is told the whole membership up front (`--initial-cluster`), so no discovery
//! service is involved and the cluster forms as soon as a majority is up. The same flags serve a
//! restart: once a data directory holds a write-ahead log, etcd ignores the `--initial-*` flags
//! and rejoins with the membership it recorded.

use crate::capability::find_in_path;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The Debian package that installs `/usr/bin/etcd`, named in every missing-binary error.
pub const ETCD_PACKAGE: &str = "etcd-server";

/// etcd's conventional client port, for network modes where every member has its own address.
pub const DEFAULT_CLIENT_PORT: u16 = 2379;

/// etcd's conventional peer (Raft) port, for network modes where every member has its own address.
pub const DEFAULT_PEER_PORT: u16 = 2380;

/// One member of a cluster: its name and where it serves clients and peers.
///
/// The two addresses are separate so a caller can give each member its own IP with the
/// conventional ports (netns mode) or put every member on loopback with distinct ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdMember {
    /// The member's name (`--name`), unique in the cluster; faultline uses its node names.
    pub name: String,
    /// Where the member serves the gRPC client API.
    pub client_addr: SocketAddr,
    /// Where the member talks Raft to its peers: the peer URL it advertises.
    pub peer_addr: SocketAddr,
    /// Where it listens for its peers, when not at `peer_addr` (a proxy stands there).
    pub listen_peer_addr: Option<SocketAddr>,
}

impl EtcdMember {
    /// A member named `name` serving clients on `client_addr` and peers on `peer_addr`.
    pub fn new(name: impl Into<String>, client_addr: SocketAddr, peer_addr: SocketAddr) -> Self {
        EtcdMember {
            name: name.into(),
            client_addr,
            peer_addr,
            listen_peer_addr: None,
        }
    }

    /// The same member, listening for its peers at `addr` while advertising `peer_addr`.
    pub fn listening_on(mut self, addr: SocketAddr) -> Self {
        if addr != self.peer_addr {
            self.listen_peer_addr = Some(addr);
        }
        self
    }

    /// The client URL, as etcd's flags and the client crate spell it.
    pub fn client_url(&self) -> String {
        // SocketAddr's Display brackets IPv6 hosts, as a URL needs.
        format!("http://{}", self.client_addr)
    }

    /// The peer URL, as `--initial-cluster` and the peer flags spell it.
    pub fn peer_url(&self) -> String {
        format!("http://{}", self.peer_addr)
    }
}

/// Raft timing in milliseconds (`--heartbeat-interval`, `--election-timeout`).
///
/// The defaults are etcd 3.4's own, passed explicitly so a run's failover time does not change with
/// a packaged default: short enough that a killed leader is replaced within a few seconds, long
/// enough that a loaded two-core machine does not see spurious elections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EtcdTiming {
    /// How often a leader sends heartbeats, in milliseconds.
    pub heartbeat_interval_ms: u64,
    /// How long a follower waits without heartbeats before campaigning, in milliseconds.
    pub election_timeout_ms: u64,
}

impl Default for EtcdTiming {
    fn default() -> Self {
        EtcdTiming {
            heartbeat_interval_ms: 100,
            election_timeout_ms: 1000,
        }
    }
}

/// The command-line flags that start `member` as part of the new cluster `all`.
///
/// `token` must be unique per run (see [`unique_token`]): etcd refuses messages from peers with a
/// different cluster id, which is derived from it, so members left over from another run can never
/// join this one. `data_dir` should be empty on the first start and kept for restarts.
pub fn etcd_args(
    member: &EtcdMember,
    all: &[EtcdMember],
    token: &str,
    data_dir: &Path,
    timing: EtcdTiming,
) -> Vec<String> {
    let initial_cluster = all
        .iter()
        .map(|m| format!("{}={}", m.name, m.peer_url()))
        .collect::<Vec<_>>()
        .join(",");
    let pairs: [(&str, String); 13] = [
        ("--name", member.name.clone()),
        ("--data-dir", data_dir.display().to_string()),
        ("--listen-client-urls", member.client_url()),
        ("--advertise-client-urls", member.client_url()),
        (
            "--listen-peer-urls",
            member
                .listen_peer_addr
                .map_or_else(|| member.peer_url(), |a| format!("http://{a}")),
        ),
        ("--initial-advertise-peer-urls", member.peer_url()),
        ("--initial-cluster", initial_cluster),
        ("--initial-cluster-state", "new".to_string()),
        ("--initial-cluster-token", token.to_string()),
        // zap to stderr: the node's log file captures it, one JSON object per line.
        ("--logger", "zap".to_string()),
        ("--log-outputs", "stderr".to_string()),
        (
            "--heartbeat-interval",
            timing.heartbeat_interval_ms.to_string(),
        ),
        ("--election-timeout", timing.election_timeout_ms.to_string()),
    ];
    pairs
        .into_iter()
        .flat_map(|(flag, value)| [flag.to_string(), value])
        .collect()
}

/// A cluster token no other run shares: process id, wall-clock nanoseconds and a counter.
pub fn unique_token() -> String {
    // The counter keeps two clusters started by one process in the same clock tick apart.
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("faultline-{}-{nanos}-{n}", std::process::id())
}

/// The `etcd` binary on `PATH`, or an error naming the Debian package that provides it; on a
/// remote host (`remote`), the bare name, looked for there at start.
pub fn find_etcd(remote: bool) -> Result<PathBuf, String> {
    if remote {
        return Ok(PathBuf::from("etcd"));
    }
    find_in_path("etcd").ok_or_else(missing_etcd)
}

/// The error for a machine without etcd: what to install, not just what is missing.
fn missing_etcd() -> String {
    format!(
        "etcd not found in PATH: install Debian's {ETCD_PACKAGE} (apt-get install {ETCD_PACKAGE})"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members() -> Vec<EtcdMember> {
        (1..=3)
            .map(|i| {
                EtcdMember::new(
                    format!("n{i}"),
                    format!("10.77.0.{i}:{DEFAULT_CLIENT_PORT}")
                        .parse()
                        .unwrap(),
                    format!("10.77.0.{i}:{DEFAULT_PEER_PORT}").parse().unwrap(),
                )
            })
            .collect()
    }

    /// The value following `flag`, asserting the flag appears exactly once.
    fn flag<'a>(args: &'a [String], flag: &str) -> &'a str {
        let at: Vec<usize> = (0..args.len()).filter(|&i| args[i] == flag).collect();
        assert_eq!(at.len(), 1, "{flag} in {args:?}");
        &args[at[0] + 1]
    }

    #[test]
    fn args_name_the_member_its_urls_and_the_whole_cluster() {
        let all = members();
        let args = etcd_args(
            &all[1],
            &all,
            "tok-1",
            Path::new("/run/n2/data"),
            EtcdTiming::default(),
        );
        assert_eq!(flag(&args, "--name"), "n2");
        assert_eq!(flag(&args, "--data-dir"), "/run/n2/data");
        assert_eq!(flag(&args, "--listen-client-urls"), "http://10.77.0.2:2379");
        assert_eq!(
            flag(&args, "--advertise-client-urls"),
            "http://10.77.0.2:2379"
        );
        assert_eq!(flag(&args, "--listen-peer-urls"), "http://10.77.0.2:2380");
        assert_eq!(
            flag(&args, "--initial-advertise-peer-urls"),
            "http://10.77.0.2:2380"
        );
        assert_eq!(
            flag(&args, "--initial-cluster"),
            "n1=http://10.77.0.1:2380,n2=http://10.77.0.2:2380,n3=http://10.77.0.3:2380"
        );
        assert_eq!(flag(&args, "--initial-cluster-state"), "new");
        assert_eq!(flag(&args, "--initial-cluster-token"), "tok-1");
        assert_eq!(flag(&args, "--logger"), "zap");
        assert_eq!(flag(&args, "--log-outputs"), "stderr");
        assert_eq!(flag(&args, "--heartbeat-interval"), "100");
        assert_eq!(flag(&args, "--election-timeout"), "1000");
        assert_eq!(args.len(), 26, "every flag has exactly one value");
    }

    #[test]
    fn timing_and_ipv6_addresses_are_rendered() {
        let m = EtcdMember::new(
            "a",
            "[::1]:4001".parse().unwrap(),
            "[::1]:4002".parse().unwrap(),
        );
        let timing = EtcdTiming {
            heartbeat_interval_ms: 50,
            election_timeout_ms: 500,
        };
        let args = etcd_args(&m, std::slice::from_ref(&m), "t", Path::new("d"), timing);
        assert_eq!(flag(&args, "--listen-client-urls"), "http://[::1]:4001");
        assert_eq!(flag(&args, "--initial-cluster"), "a=http://[::1]:4002");
        assert_eq!(flag(&args, "--heartbeat-interval"), "50");
        assert_eq!(flag(&args, "--election-timeout"), "500");
    }

    #[test]
    fn tokens_differ_between_calls() {
        assert_ne!(unique_token(), unique_token());
    }

    #[test]
    fn missing_etcd_names_the_debian_package() {
        assert!(missing_etcd().contains("apt-get install etcd-server"));
    }
}
