//! A link's traffic: the counters its connections add to, and the snapshot the mesh reports.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Traffic through one link since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LinkStats {
    /// Bytes written on to `to`.
    pub forward_bytes: u64,
    /// Bytes written back to `from`.
    pub backward_bytes: u64,
    /// Connections accepted from `from`.
    pub accepted: u64,
    /// Connections accepted and not yet closed.
    pub open: u64,
}

/// The live counters behind [`LinkStats`].
#[derive(Debug, Default)]
pub(super) struct Counters {
    /// Bytes written on to `to`.
    pub(super) forward: AtomicU64,
    /// Bytes written back to `from`.
    pub(super) backward: AtomicU64,
    accepted: AtomicU64,
    open: AtomicU64,
}

impl Counters {
    /// The counters' values now.
    pub(super) fn snapshot(&self) -> LinkStats {
        LinkStats {
            forward_bytes: self.forward.load(Ordering::Relaxed),
            backward_bytes: self.backward.load(Ordering::Relaxed),
            accepted: self.accepted.load(Ordering::Relaxed),
            open: self.open.load(Ordering::Relaxed),
        }
    }
}

/// Counts one connection as open for as long as it lives.
pub(super) struct OpenGuard(Arc<Counters>);

impl OpenGuard {
    /// Counts a connection just accepted, open until the guard is dropped.
    pub(super) fn accepted(counters: &Arc<Counters>) -> OpenGuard {
        counters.accepted.fetch_add(1, Ordering::Relaxed);
        counters.open.fetch_add(1, Ordering::Relaxed);
        OpenGuard(counters.clone())
    }

    /// The link's counters.
    pub(super) fn counters(&self) -> &Counters {
        &self.0
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}
