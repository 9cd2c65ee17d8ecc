//! Deciding one key: the linearizability search and what makes it fast.
//!
//! - `wgl.rs`: the search, Wing & Gong / Lowe as Porcupine does it, with a cache of (linearized
//!   set, state) keyed compactly by `linearized.rs` (over `bitset.rs`), stored by `explored.rs`
//!   and hashed by `fx_hash.rs`. Indeterminate operations are tried last, identical ones in one
//!   order only, ones the next operation would undo never, and branches are dropped where an
//!   operation due soon could never take effect, as each model tells through
//!   `Model::may_become_legal`. When not linearizable it names the longest consistent order and
//!   the operations none of which can follow it.
//! - `unique.rs`: the O(n log n) fast path for register keys whose written values are unique
//!   (clusters, cas-linked blocks and zones after Gibbons & Korach, with the proof in its docs);
//!   the register's `HistoryModel::decide_first`.
//! - `probe.rs`: a key whose search does not end at once is probed with tiny closed subsets
//!   around each observation: a stale get among 1,000 operations is proven in microseconds where
//!   the search must exhaust every order.
//! - `budget.rs`: the deadline and memory budget every key's search draws on, shared across the
//!   keys of a check (`--timeout`, `--memory-limit`, `parse_size`).
//! - `partition.rs`: a history's operations by key, keys in a stable order (P-compositionality:
//!   a history is linearizable if and only if each key's history is).

pub(crate) mod bitset;
pub(crate) mod budget;
pub(crate) mod explored;
pub(crate) mod fx_hash;
pub(crate) mod indeterminate;
pub(crate) mod interval;
pub(crate) mod linearized;
pub(crate) mod partition;
pub(crate) mod probe;
pub(crate) mod unique;
pub(crate) mod wgl;
