//! `--net proxy`: every node-to-node link runs through a TCP proxy inside faultline, so partitions
//! and link faults need no root, and latency exists at all (this kernel has no `sch_netem`).
//!
//! One [`LinkProxy`] per directed pair: for `n2 → n1`, n2 is configured to reach n1 at the proxy's
//! port, and the proxy connects on to n1's real port. Systems that hand one address per node to
//! everyone (Sentinel, etcd) are given a [`Front`] per node address instead, which tells who
//! connected and hands the connection to that pair's link (see [`front`]). Each proxied
//! connection is two pumps:
//!
//! ```text
//!                       LinkProxy n2 → n1 (127.0.0.1:P)
//!   n2 ──connect P──► ┌────────────────────────────────────────┐ ──connect──► n1's real port
//!                     │ forward : read ─► delay ─► pace ─► write │
//!                     │ backward: write ◄─ pace ◄─ delay ◄─ read │
//!                     └────────────────────────────────────────┘
//! ```
//!
//! What each fault does ([`LinkFaults`]); faults change within milliseconds, live connections too:
//!
//! ```text
//!  fault       live connection                          new connection
//!  cut         both directions hold their bytes         accepted by the proxy, held before `to`
//!  half_open   to → from holds; from → to flows         held (a handshake needs both ways)
//!  blackhole   bytes read and discarded; RST when lifted accepted, input discarded
//!  reset       RST to both sides                        RST right after accept
//!  latency     each chunk released latency + [0, jitter] after it was read, order kept
//!  loss        a "lost" chunk is released a retransmission timeout late (see below)
//!  bandwidth   each direction paced to this many bytes per second
//!  slow_close  a FIN is passed on this much later
//! ```
//! Precedence: reset, then blackhole, then cut and half_open.
//!
//! **Cut holds, it does not discard.** Jepsen's partitions are DROP rules: packets vanish, TCP
//! retransmits them, and after the heal the stream resumes intact. Holding bytes gives the same
//! stream without unbounded memory: a held pump stops reading, so the bytes wait in kernel buffers
//! and TCP's flow control stalls the sender, as a real partition does. Two differences remain: a
//! client's `connect()` to the proxy succeeds (the kernel completes the handshake with the proxy's
//! listener), but nothing reaches `to` until the heal; and a held connection is never timed out.
//!
//! **Loss delays, it does not drop.** Removing bytes from inside a TCP stream would corrupt it,
//! which real loss never does. What a peer sees of loss is time: a lost segment arrives one
//! retransmission timeout later (200 ms, Linux's minimum, doubling while retransmissions are lost
//! too) and everything behind it waits for it.
//!
//! **Grudges** ([`ProxyMesh::partition`]): `to: {from}` means `to` drops `from`'s packets. Link
//! `a → b` carries the connections `a` opens to `b`: its forward direction holds `a`'s packets,
//! its backward direction `b`'s. So if `b` drops `a`, link `a → b` is cut, and if `a` drops `b`,
//! link `a → b` is half-open. TCP needs both directions, so either way its connections stall.

mod connection;
mod delay;
mod error;
mod faults;
pub mod front;
mod link;
mod mesh;
mod pacer;
mod pump;
mod seed;
mod stats;
#[cfg(test)]
mod test_target;

pub use error::ProxyError;
pub use faults::LinkFaults;
pub use front::{Front, Identify, Source};
pub use link::LinkProxy;
pub use mesh::{ProxyMesh, CONTROL, UNKNOWN};
pub use stats::LinkStats;

/// Largest chunk a pump reads at once.
const CHUNK: usize = 16 * 1024;
