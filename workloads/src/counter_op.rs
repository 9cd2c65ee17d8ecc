//! The counter workload's operations — add a delta, read the counter — as a client runs them.

use crate::client::CounterClient;
use crate::completion::Completion;
use serde_json::{json, Value};

/// The key of the one counter the workload adds to.
pub const COUNTER_KEY: &str = "faultline-counter";

/// Adds `delta` to the counter through `client` and says how it completed.
pub async fn add<C: CounterClient>(client: &mut C, delta: i64) -> Completion {
    Completion::of(
        client.incr(COUNTER_KEY, delta).await.map(|()| json!(delta)),
        json!(delta),
    )
}

/// Reads the counter through `client` (from the node it reads from): during the run, and as each
/// node's final read. A counter never added to reads as 0.
pub async fn read<C: CounterClient>(client: &mut C) -> Completion {
    Completion::of(
        client.read_counter(COUNTER_KEY).await.map(|v| json!(v)),
        Value::Null,
    )
}
