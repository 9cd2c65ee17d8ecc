//! Attaching to a cluster faultline did not start (`faultline test --attach ADDR,…`).
//!
//! faultline starts nothing: it asks each address its role (Redis's `INFO replication`, etcd's
//! maintenance status), takes the one primary as n1 and the others as n2, n3, … in the order
//! given, and refuses a cluster with no primary, several, an address that does not answer, or a
//! replica following a primary not in the list — each error naming the address. The workload's
//! keys all go under a prefix ([`crate::key_prefix`]); before the run the prefix must be unused
//! (so that the run starts from empty keys, as its checker assumes, and removing the prefix at
//! the end removes only the run's keys). Faults need the nodes' processes: with the pids given
//! (`--attach-pids`, local processes only) faultline may pause and resume them, each pid
//! checked first to be running the system's server with the node's port in its command line;
//! with the nodes' hosts given (`--nodes HOST,…`, node `i` on host `i`) it logs in to each, finds
//! the pid listening on the node's port there ([`crate::listening`]) and checks it runs the
//! system's server ([`on_host`]). It never kills them (it could not start them again) and never
//! stops them at teardown.

use crate::control::{Control, LocalControl, ProcessInfo};
use crate::ssh::SshTarget;
use crate::system::{KeysAction, NodeAddrs, NodeStatus, Role, System};
use crate::systems::redis::sentinel;
use crate::systems::{self, TargetKind, TargetOptions};
use serde::Serialize;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// What to attach to, validated by the caller's configuration.
#[derive(Debug, Clone)]
pub struct AttachSpec {
    /// The system running there.
    pub target: TargetKind,
    /// The nodes' client addresses, in the order the user gave them.
    pub addrs: Vec<SocketAddr>,
    /// The nodes' local process ids, one per address in the same order, when faultline may
    /// signal them.
    pub pids: Option<Vec<u32>>,
    /// The hosts the nodes run on, one per address in the same order (`--nodes`), when faultline
    /// may log in to them to find and signal the nodes' processes; empty otherwise.
    pub hosts: Vec<SshTarget>,
    /// The prefix every key of the run goes under.
    pub key_prefix: String,
    /// How long each node may take to answer.
    pub timeout: Duration,
}

/// One attached node, as found.
#[derive(Debug, Clone, Serialize)]
pub struct AttachedNode {
    /// The name faultline gives it (n1 is the primary).
    pub name: String,
    /// Its client address.
    pub addr: SocketAddr,
    /// Its pid, when faultline may signal it (on its host, with `--nodes`: found there later,
    /// by [`on_host`]).
    pub pid: Option<u32>,
    /// Its role when faultline attached.
    pub role: Role,
    /// The process the pid runs, checked before it is ever signalled.
    #[serde(skip)]
    pub process: Option<ProcessInfo>,
}

/// Parses one `--attach` address for `target`: `host:port`, or a URL with the system's scheme
/// (`redis://host:port`, `http://host:port` for etcd's client URLs).
pub fn parse_address(target: TargetKind, text: &str) -> Result<SocketAddr, String> {
    let scheme = match target {
        TargetKind::Etcd => "http://",
        _ => "redis://",
    };
    let bare = text.strip_prefix(scheme).unwrap_or(text);
    let bare = bare.strip_suffix('/').unwrap_or(bare);
    if bare.contains("://") {
        return Err(format!(
            "'{text}': --target {target} is reached at host:port or {scheme}host:port"
        ));
    }
    let mut found = bare
        .to_socket_addrs()
        .map_err(|e| format!("'{text}' is not host:port ({e})"))?;
    found
        .next()
        .ok_or_else(|| format!("'{text}' resolves to no address"))
}

/// Asks every address its status; the nodes named, primary first, or why they cannot be
/// attached to (naming the address at fault).
pub async fn discover(
    system: &dyn System,
    addrs: &[SocketAddr],
    timeout: Duration,
) -> Result<Vec<(SocketAddr, NodeStatus)>, String> {
    let asks = addrs.iter().map(|&addr| async move {
        let status = system.status(&node_addrs(addr), timeout).await;
        status
            .map(|s| (addr, s))
            .map_err(|e| format!("--attach {addr}: {e}"))
    });
    let answered = futures_util::future::join_all(asks)
        .await
        .into_iter()
        .collect::<Result<Vec<_>, String>>()?;
    let primaries: Vec<SocketAddr> = answered
        .iter()
        .filter(|(_, s)| s.role == Role::Primary)
        .map(|(a, _)| *a)
        .collect();
    let primary = match primaries[..] {
        [one] => one,
        [] => {
            return Err(format!(
                "--attach: no address given says it is the primary ({} answered as {}); give \
                 the addresses of a cluster with its primary (or leader) among them",
                list(addrs),
                if addrs.len() == 1 {
                    "a replica"
                } else {
                    "replicas"
                }
            ))
        }
        _ => {
            return Err(format!(
                "--attach: {} all say they are the primary; give the addresses of one cluster",
                list(&primaries)
            ))
        }
    };
    for (addr, status) in &answered {
        // Redis names its primary host:port; etcd names a member id, which does not parse.
        let follows = status.leader.as_deref().and_then(|l| l.parse().ok());
        if status.role == Role::Replica && follows.is_some_and(|l: SocketAddr| l != primary) {
            return Err(format!(
                "--attach {addr}: it replicates from {}, not from the primary {primary}",
                follows.unwrap_or(primary)
            ));
        }
    }
    let mut ordered: Vec<_> = answered
        .iter()
        .filter(|(a, _)| *a == primary)
        .cloned()
        .collect();
    ordered.extend(answered.into_iter().filter(|(a, _)| *a != primary));
    let named: Vec<(String, NodeAddrs, NodeStatus)> = ordered
        .iter()
        .enumerate()
        .map(|(i, (a, s))| (format!("n{}", i + 1), node_addrs(*a), s.clone()))
        .collect();
    system.judge(&named).map_err(|e| {
        let at = e
            .node
            .as_ref()
            .and_then(|n| named.iter().find(|(m, _, _)| m == n));
        match at {
            Some((_, addrs, _)) => format!("--attach {}: {}", addrs.client, e.why),
            None => format!("--attach: the cluster is not healthy: {}", e.why),
        }
    })?;
    Ok(ordered)
}

/// The nodes behind `addrs` and the sentinels among them: a Redis address that answers as a
/// sentinel stands for the primary and replicas it monitors (every sentinel given must name the
/// same primary); the others are nodes. Other targets' addresses are all nodes.
pub async fn through_sentinels(
    target: TargetKind,
    addrs: &[SocketAddr],
    timeout: Duration,
) -> Result<(Vec<SocketAddr>, Vec<SocketAddr>), String> {
    if target != TargetKind::Redis {
        return Ok((addrs.to_vec(), Vec::new()));
    }
    let mut nodes: Vec<SocketAddr> = Vec::new();
    let mut sentinels = Vec::new();
    let mut primary: Option<(SocketAddr, SocketAddr)> = None;
    for &addr in addrs {
        let monitored = sentinel::monitored(addr, timeout)
            .await
            .map_err(|e| format!("--attach {addr}: {e}"))?;
        let Some(m) = monitored else {
            if !nodes.contains(&addr) {
                nodes.push(addr);
            }
            continue;
        };
        match primary {
            Some((p, by)) if p != m.primary => {
                return Err(format!(
                    "--attach: sentinel {by} names {p} as the primary, sentinel {addr} names {}; \
                     give the sentinels of one cluster",
                    m.primary
                ))
            }
            _ => primary = Some((m.primary, addr)),
        }
        sentinels.push(addr);
        for node in std::iter::once(m.primary).chain(m.replicas) {
            if !nodes.contains(&node) {
                nodes.push(node);
            }
        }
    }
    Ok((nodes, sentinels))
}

/// Finds the nodes of `spec`, checks its pids and that its key prefix is unused; the nodes,
/// primary first.
pub async fn find(spec: &AttachSpec) -> Result<Vec<AttachedNode>, String> {
    let system = systems::build(spec.target, &TargetOptions::default());
    if !system.can_attach() {
        return Err(format!(
            "--attach: {} are started by faultline itself; attach to a running redis or etcd",
            system.noun()
        ));
    }
    let found = discover(&*system, &spec.addrs, spec.timeout).await?;
    let primary = node_addrs(found[0].0);
    let already = system
        .keys_under(&primary, &spec.key_prefix, KeysAction::Count, spec.timeout)
        .await
        .map_err(|e| format!("--key-prefix '{}': counting its keys: {e}", spec.key_prefix))?;
    if already > 0 {
        return Err(format!(
            "--key-prefix '{}': {already} key{} already under it on {}; choose another \
             prefix (the run's keys must start absent, and everything under the prefix is \
             removed at the end)",
            spec.key_prefix,
            if already == 1 { " is" } else { "s are" },
            primary.client
        ));
    }
    let control = LocalControl::root();
    found
        .into_iter()
        .enumerate()
        .map(|(i, (addr, status))| {
            let pid = spec.pids.as_ref().map(|pids| {
                let at = spec.addrs.iter().position(|a| *a == addr).unwrap_or(i);
                pids[at]
            });
            let process = pid
                .map(|pid| checked_process(&control, &*system, pid, addr))
                .transpose()?;
            Ok(AttachedNode {
                name: format!("n{}", i + 1),
                addr,
                pid,
                role: status.role,
                process,
            })
        })
        .collect()
}

/// Deletes the run's keys (everything under `prefix`) through the cluster's current primary;
/// returns how many were deleted.
pub async fn remove_keys(
    target: TargetKind,
    addrs: &[SocketAddr],
    prefix: &str,
    timeout: Duration,
) -> Result<u64, String> {
    let system = systems::build(target, &TargetOptions::default());
    let found = discover(&*system, addrs, timeout).await?;
    system
        .keys_under(&node_addrs(found[0].0), prefix, KeysAction::Delete, timeout)
        .await
}

/// The hosts of `spec` in the order of `nodes` (primary first): node `i` of the addresses as
/// given runs on host `i` as given.
pub fn hosts_in_order(spec: &AttachSpec, nodes: &[AttachedNode]) -> Vec<SshTarget> {
    nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| {
            let at = spec.addrs.iter().position(|a| *a == n.addr).unwrap_or(i);
            spec.hosts.get(at).cloned()
        })
        .collect()
}

/// The process serving the node at `addr` on `control`'s host (named `host` in errors): the one
/// listening on the node's port there, bound to the node's address or to every address (a
/// listener bound to another address is another node's, on a host given out of order), and
/// running `system`'s server. Refused, naming the host and port: nothing listening, a listener
/// whose process cannot be seen, one that is not the server, several servers.
pub fn on_host(
    control: &dyn Control,
    system: &dyn System,
    host: &str,
    addr: SocketAddr,
) -> Result<(u32, ProcessInfo), String> {
    let port = addr.port();
    let all = crate::listening::listeners(control, port).map_err(|e| format!("--nodes {e}"))?;
    let candidates: Vec<_> = all.iter().filter(|l| l.serves(addr.ip())).collect();
    if candidates.is_empty() {
        let elsewhere: Vec<String> = all
            .iter()
            .filter_map(|l| l.ip.map(|ip| ip.to_string()))
            .collect();
        let bound = if elsewhere.is_empty() {
            String::new()
        } else {
            format!(
                " (port {port} is bound there to {} only)",
                elsewhere.join(", ")
            )
        };
        return Err(format!(
            "--nodes {host}: nothing listens on {addr} there{bound}, so the node at {addr} does \
             not run on it (give one host per --attach address, in the same order)"
        ));
    }
    let mut pids: Vec<u32> = candidates.iter().flat_map(|l| l.pids.clone()).collect();
    pids.sort_unstable();
    pids.dedup();
    if pids.is_empty() {
        return Err(format!(
            "--nodes {host}: a socket listens on port {port} but ss shows no process holding it \
             (seeing another user's processes needs root: log in as root, or as a user with \
             passwordless sudo)"
        ));
    }
    let program = system.server_program().unwrap_or_default();
    let seen: Vec<(u32, Option<ProcessInfo>)> = pids
        .iter()
        .map(|&pid| (pid, control.process(pid)))
        .collect();
    let servers: Vec<(u32, ProcessInfo)> = seen
        .iter()
        .filter_map(|(pid, p)| Some((*pid, p.clone()?)))
        .filter(|(_, p)| p.state != 'Z' && runs_program(p, program))
        .collect();
    match &servers[..] {
        [one] => Ok(one.clone()),
        [] => {
            let shown: Vec<String> = seen
                .iter()
                .map(|(pid, p)| match p {
                    Some(p) => format!("pid {pid} '{}'", p.cmdline.join(" ")),
                    None => format!("pid {pid} (gone)"),
                })
                .collect();
            Err(format!(
                "--nodes {host}: the process listening on port {port} ({}) is not {program}; \
                 faultline signals only the system's own server, so the node at {addr} is not \
                 taken for it",
                shown.join(", ")
            ))
        }
        several => Err(format!(
            "--nodes {host}: several {program} processes listen on port {port} (pids {}); \
             faultline cannot tell which one is the node at {addr}",
            several
                .iter()
                .map(|(pid, _)| pid.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Whether `process` runs `program`: the file name of its command line's first word (Redis
/// rewrites its title to `redis-server 10.0.0.1:6379`, one word with spaces) or of its
/// executable (Debian's `redis-server` is a link to `redis-check-rdb`, so both are asked).
fn runs_program(process: &ProcessInfo, program: &str) -> bool {
    let file_name = |path: &str| {
        std::path::Path::new(path)
            .file_name()
            .is_some_and(|name| name == program)
    };
    let first = process
        .cmdline
        .first()
        .and_then(|a| a.split_whitespace().next());
    first.is_some_and(file_name)
        || process
            .exe
            .as_deref()
            .and_then(|e| e.to_str())
            .is_some_and(file_name)
}

/// Checks that `pid` runs `system`'s server and mentions `addr`'s port in its command line, so
/// that a mistyped pid never has a signal sent to an unrelated process.
fn checked_process(
    control: &LocalControl,
    system: &dyn System,
    pid: u32,
    addr: SocketAddr,
) -> Result<ProcessInfo, String> {
    let Some(process) = control.process(pid).filter(|p| p.state != 'Z') else {
        return Err(format!(
            "--attach-pids {pid}: no such process (given for {addr})"
        ));
    };
    let port = addr.port().to_string();
    if !process.cmdline.iter().any(|arg| arg.contains(&port)) {
        return Err(format!(
            "--attach-pids {pid}: its command line '{}' does not mention port {port}, so it is \
             not taken for the node at {addr} (start the node with its port on its command line)",
            process.cmdline.join(" ")
        ));
    }
    if process.exe.is_none() {
        return Err(format!(
            "--attach-pids {pid}: its executable cannot be read (given for {addr})"
        ));
    }
    let program = system.server_program().unwrap_or_default();
    if !runs_program(&process, program) {
        return Err(format!(
            "--attach-pids {pid}: it runs '{}', not {program} (given for {addr})",
            process.cmdline.join(" ")
        ));
    }
    Ok(process)
}

/// The addresses of an attached node: it is reached, by clients and peers, at `addr`.
pub fn node_addrs(addr: SocketAddr) -> NodeAddrs {
    NodeAddrs {
        client: addr,
        peer: addr,
        sentinel: None,
        announced: None,
    }
}

/// `a, b and c`.
fn list(addrs: &[SocketAddr]) -> String {
    let names: Vec<String> = addrs.iter().map(ToString::to_string).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_take_the_systems_scheme_or_none() {
        let a: SocketAddr = "127.0.0.1:2379".parse().unwrap();
        assert_eq!(
            parse_address(TargetKind::Etcd, "http://127.0.0.1:2379"),
            Ok(a)
        );
        assert_eq!(parse_address(TargetKind::Etcd, "127.0.0.1:2379/"), Ok(a));
        assert_eq!(
            parse_address(TargetKind::Redis, "redis://127.0.0.1:2379"),
            Ok(a)
        );
        let e = parse_address(TargetKind::Etcd, "https://127.0.0.1:2379").unwrap_err();
        assert!(e.contains("http://host:port"), "{e}");
        let e = parse_address(TargetKind::Redis, "127.0.0.1").unwrap_err();
        assert!(e.starts_with("'127.0.0.1' is not host:port"), "{e}");
    }

    #[test]
    fn a_pid_is_taken_only_with_its_nodes_port_on_its_command_line() {
        let me = std::process::id();
        let control = LocalControl::root();
        let redis = systems::build(TargetKind::Redis, &TargetOptions::default());
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        // This test binary's command line mentions no port 65431.
        let other: SocketAddr = "127.0.0.1:65431".parse().unwrap();
        let e = checked_process(&control, &*redis, me, other).unwrap_err();
        assert!(e.contains("does not mention port 65431"), "{e}");
        let e = checked_process(&control, &*redis, u32::MAX - 1, addr).unwrap_err();
        assert!(e.contains("no such process"), "{e}");
        assert_eq!(list(&[addr, other]), "127.0.0.1:1 and 127.0.0.1:65431");
    }

    /// A server is known by its command line's first word or its executable's name, never by
    /// a word elsewhere in its command line.
    #[test]
    fn a_process_runs_the_server_by_its_title_or_its_executable() {
        let process = |exe: &str, cmdline: &[&str]| ProcessInfo {
            state: 'S',
            exe: Some(exe.into()),
            cmdline: cmdline.iter().map(|a| a.to_string()).collect(),
        };
        let titled = process("/usr/bin/redis-check-rdb", &["redis-server 10.0.0.1:6379"]);
        assert!(runs_program(&titled, "redis-server"));
        let etcd = process("/usr/bin/etcd", &["etcd", "--name", "m1"]);
        assert!(runs_program(&etcd, "etcd"));
        let by_exe = process("/opt/etcd/etcd", &["./run-it"]);
        assert!(runs_program(&by_exe, "etcd"));
        let mention = process("/usr/bin/python3", &["python3", "redis-server", "6379"]);
        assert!(!runs_program(&mention, "redis-server"));
        let sentinel = process("/usr/bin/redis-check-rdb", &["redis-sentinel *:26379"]);
        assert!(!runs_program(&sentinel, "redis-server"));
    }
}
