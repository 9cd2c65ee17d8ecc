//! An attached etcd's keys under a run's prefix: counted before the run (a prefix already in use
//! would mix the run's keys with someone else's) and deleted after it, each in one range request
//! (`[prefix, prefix + 1)`), so a key outside the prefix is never touched.

use super::api::{DeleteRangeRequest, DeleteRangeResponse, RangeRequest, RangeResponse};
use super::status::with_member;
use std::net::SocketAddr;
use std::time::Duration;

/// Counts the keys under `prefix`, asking the member at `client_addr` (a linearizable read).
pub async fn count(
    client_addr: SocketAddr,
    prefix: &str,
    timeout: Duration,
) -> Result<u64, String> {
    with_member(client_addr, timeout, |mut gateway| async move {
        let found: RangeResponse = gateway
            .call(
                "/v3/kv/range",
                &RangeRequest::prefix_keys(prefix.as_bytes(), false),
            )
            .await
            .map_err(|e| format!("range under '{prefix}': {e}"))?;
        Ok(found.kvs.len() as u64)
    })
    .await
}

/// Deletes the keys under `prefix` through the member at `client_addr`; returns how many went.
pub async fn remove(
    client_addr: SocketAddr,
    prefix: &str,
    timeout: Duration,
) -> Result<u64, String> {
    with_member(client_addr, timeout, |mut gateway| async move {
        let gone: DeleteRangeResponse = gateway
            .call(
                "/v3/kv/deleterange",
                &DeleteRangeRequest::prefix(prefix.as_bytes()),
            )
            .await
            .map_err(|e| format!("delete under '{prefix}': {e}"))?;
        Ok(gone.deleted)
    })
    .await
}
