//! An attached etcd's keys under a run's prefix: counted before the run (a prefix already in use
//! would mix the run's keys with someone else's) and deleted after it, each in one range request
//! (`[prefix, prefix + 1)`), so a key outside the prefix is never touched.

use super::api::{DeleteRangeRequest, DeleteRangeResponse, RangeRequest, RangeResponse};
use super::status::with_member;
use crate::system::KeysAction;
use std::net::SocketAddr;
use std::time::Duration;

/// Counts or deletes the keys under `prefix` through the member at `client_addr`, in one
/// request (a count is a linearizable read); returns how many.
pub async fn under_prefix(
    client_addr: SocketAddr,
    prefix: &str,
    action: KeysAction,
    timeout: Duration,
) -> Result<u64, String> {
    let key = prefix.as_bytes();
    with_member(client_addr, timeout, |mut gateway| async move {
        let answer = match action {
            KeysAction::Count => gateway
                .call("/v3/kv/range", &RangeRequest::prefix_keys(key, false))
                .await
                .map(|found: RangeResponse| found.kvs.len() as u64),
            KeysAction::Delete => gateway
                .call("/v3/kv/deleterange", &DeleteRangeRequest::prefix(key))
                .await
                .map(|gone: DeleteRangeResponse| gone.deleted),
        };
        answer.map_err(|e| format!("{action:?} under '{prefix}': {e}"))
    })
    .await
}
