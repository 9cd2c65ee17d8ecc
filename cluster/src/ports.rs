//! Listening ports for servers on loopback, chosen below the kernel's ephemeral range.
//!
//! A port the kernel picks for `bind(0)` comes from the range every outgoing connection takes
//! its source port from (`/proc/sys/net/ipv4/ip_local_port_range`). Released and bound again
//! later by a node, it may meanwhile be the source port of some client's connection, and the node
//! fails with "address already in use" — under a loaded test suite, now and then. Ports below the
//! ephemeral range are never handed out implicitly, so only another explicit binder can take
//! them; [`port_taken`] tells a caller when that happened, so that it can choose again.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The lowest port handed out: clear of the well-known and registered ports most services use.
const LOWEST: u16 = 10_000;

/// Where the ephemeral range starts when the kernel does not say (Linux's default).
const EPHEMERAL_DEFAULT: u16 = 32_768;

/// Tries per port before giving up on the range and asking the kernel.
const TRIES: usize = 64;

/// `n` distinct loopback ports free now, below the ephemeral range where it leaves room.
///
/// Every candidate is bound and held until all are chosen, so the same port is never handed out
/// twice in one call; they are released before returning, for the servers to bind.
pub fn listen_ports(n: usize) -> std::io::Result<Vec<u16>> {
    let top = ephemeral_start();
    let mut rng = StdRng::seed_from_u64(seed());
    let mut held: Vec<TcpListener> = Vec::with_capacity(n);
    while held.len() < n {
        let listener = match top.filter(|top| *top > LOWEST) {
            Some(top) => (0..TRIES)
                .map(|_| rng.random_range(LOWEST..top))
                .find_map(|port| TcpListener::bind(("127.0.0.1", port)).ok()),
            None => None,
        };
        // A crowded or odd range: the kernel's choice is still a free port, only racier.
        let listener = match listener {
            Some(l) => l,
            None => TcpListener::bind("127.0.0.1:0")?,
        };
        held.push(listener);
    }
    held.iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect()
}

/// One loopback port free now; see [`listen_ports`].
pub fn listen_port() -> std::io::Result<u16> {
    Ok(listen_ports(1)?[0])
}

/// Whether a server's log or error says its port was taken by someone else.
pub fn port_taken(text: &str) -> bool {
    text.to_ascii_lowercase().contains("address already in use")
}

/// The first port of the kernel's ephemeral range, or Linux's default when it cannot be read.
fn ephemeral_start() -> Option<u16> {
    match std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range") {
        Ok(text) => text.split_whitespace().next()?.parse().ok(),
        Err(_) => Some(EPHEMERAL_DEFAULT),
    }
}

/// A seed that differs between processes and between calls in one process, so that concurrent
/// runs rarely try the same ports.
fn seed() -> u64 {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    nanos ^ (u64::from(std::process::id()) << 32) ^ CALLS.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_bindable_and_below_the_ephemeral_range() {
        let ports = listen_ports(30).unwrap();
        let mut unique = ports.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 30, "{ports:?}");
        let top = ephemeral_start().unwrap();
        for port in ports {
            if top > LOWEST {
                assert!((LOWEST..top).contains(&port), "{port} not below {top}");
            }
            TcpListener::bind(("127.0.0.1", port)).expect("released for the server");
        }
    }

    #[test]
    fn a_port_in_use_is_never_handed_out() {
        let listeners: Vec<TcpListener> = listen_ports(200)
            .unwrap()
            .into_iter()
            .map(|p| TcpListener::bind(("127.0.0.1", p)).unwrap())
            .collect();
        let taken: Vec<u16> = listeners
            .iter()
            .map(|l| l.local_addr().unwrap().port())
            .collect();
        for port in listen_ports(200).unwrap() {
            assert!(!taken.contains(&port), "{port} is bound here");
        }
    }

    #[test]
    fn the_messages_of_redis_etcd_and_own_nodes_read_as_port_taken() {
        for log in [
            "# Warning: Could not create server TCP listening socket *:6379: bind: Address already in use",
            "listen tcp 127.0.0.1:2380: bind: address already in use",
            "Error: binding 127.0.0.1:35705: Address already in use (os error 98)",
        ] {
            assert!(port_taken(log), "{log}");
        }
        assert!(!port_taken("Connection refused"));
    }
}
