//! The set workload's operations — add an element, read the whole set — as a client runs them.

use crate::client::SetClient;
use crate::completion::Completion;
use serde_json::{json, Value};

/// The key of the one set the workload adds to.
pub const SET_KEY: &str = "faultline-set";

/// Adds `element` to the set through `client` and says how it completed.
pub async fn add<C: SetClient>(client: &mut C, element: i64) -> Completion {
    Completion::of(
        client.add(SET_KEY, element).await.map(|()| json!(element)),
        json!(element),
    )
}

/// Reads the whole set through `client` (from the node it reads from): during the run, and as
/// each node's final read.
pub async fn read<C: SetClient>(client: &mut C) -> Completion {
    Completion::of(
        client.read_set(SET_KEY).await.map(|v| json!(v)),
        Value::Null,
    )
}
