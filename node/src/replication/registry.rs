//! A primary's list of its connected replicas, as INFO and ROLE report them.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::time::Instant;

/// What a primary knows of one connected replica.
#[derive(Debug, Clone)]
pub struct ReplicaState {
    /// The replica's address as the primary sees it.
    pub ip: IpAddr,
    /// The port the replica serves clients on (from `REPLCONF listening-port`).
    pub port: u16,
    /// The last offset the replica acknowledged (0 before its first ACK).
    pub acked: u64,
    /// When that acknowledgement arrived (or the link came up).
    pub last_ack: Instant,
}

/// The replicas with a live link, in the order they connected.
#[derive(Debug, Default)]
pub struct Registry {
    inner: Mutex<Replicas>,
}

#[derive(Debug, Default)]
struct Replicas {
    next_id: u64,
    links: BTreeMap<u64, ReplicaState>,
}

/// A replica's place in the registry, held by its link; dropping it (link down) removes the replica.
pub struct Registration<'a> {
    registry: &'a Registry,
    id: u64,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, Replicas> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lists a replica whose link just came up.
    pub fn add(&self, ip: IpAddr, port: u16) -> Registration<'_> {
        let mut inner = self.lock();
        let id = inner.next_id;
        inner.next_id += 1;
        let state = ReplicaState {
            ip,
            port,
            acked: 0,
            last_ack: Instant::now(),
        };
        inner.links.insert(id, state);
        Registration { registry: self, id }
    }

    /// The connected replicas.
    pub fn list(&self) -> Vec<ReplicaState> {
        self.lock().links.values().cloned().collect()
    }
}

impl Registration<'_> {
    /// Records the replica's acknowledgement of `offset`.
    pub fn ack(&self, offset: u64) {
        if let Some(state) = self.registry.lock().links.get_mut(&self.id) {
            state.acked = offset;
            state.last_ack = Instant::now();
        }
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.registry.lock().links.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn a_replica_is_listed_while_its_registration_lives() {
        let registry = Registry::default();
        let first = registry.add(Ipv4Addr::LOCALHOST.into(), 7001);
        {
            let _second = registry.add(Ipv4Addr::LOCALHOST.into(), 7002);
            first.ack(3);
            let listed: Vec<_> = registry.list().iter().map(|r| (r.port, r.acked)).collect();
            assert_eq!(listed, vec![(7001, 3), (7002, 0)]);
        }
        assert_eq!(registry.list().len(), 1);
    }
}
