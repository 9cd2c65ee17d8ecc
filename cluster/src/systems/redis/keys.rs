//! An attached Redis's keys under a run's prefix: counted before the run (a prefix already in
//! use would mix the run's keys with someone else's) and deleted after it.
//!
//! Both walk the keyspace with `SCAN … MATCH <prefix>*`, never `KEYS` (which blocks the server)
//! and never `FLUSHALL`: a key outside the prefix is not touched. The prefix is escaped for
//! Redis's glob, so a `*` or `[` in it matches only itself.

use crate::probe;
use crate::system::KeysAction;
use redis::aio::MultiplexedConnection;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Keys asked for per `SCAN` step (a hint to Redis, which may return more or fewer).
const SCAN_COUNT: usize = 500;

/// The glob pattern matching exactly the keys that start with `prefix`.
pub fn prefix_pattern(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('*');
    pattern
}

/// Counts or deletes (found by `SCAN`, then `UNLINK`ed in batches) the keys under `prefix` on
/// the node at `addr`, within `timeout` in all; returns how many.
pub async fn under_prefix(
    addr: SocketAddr,
    prefix: &str,
    action: KeysAction,
    timeout: Duration,
) -> Result<u64, String> {
    let deadline = Instant::now() + timeout;
    let mut conn = probe::connect(addr, timeout).await?;
    let keys = scan(&mut conn, addr, prefix, timeout).await?;
    if action == KeysAction::Count {
        return Ok(keys.len() as u64);
    }
    let mut removed = 0u64;
    for batch in keys.chunks(SCAN_COUNT) {
        let left = deadline.saturating_duration_since(Instant::now());
        let unlink = redis::cmd("UNLINK").arg(batch).clone();
        removed += match tokio::time::timeout(left, unlink.query_async::<u64>(&mut conn)).await {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return Err(format!("{addr}: UNLINK: {e}")),
            Err(_) => return Err(format!("{addr}: UNLINK did not answer within {timeout:?}")),
        };
    }
    Ok(removed)
}

/// Every key `SCAN 0 MATCH <prefix>*` finds, walked to its end; gives up once `timeout` has
/// passed (a keyspace too large to walk in time is an error, not a partial answer).
async fn scan(
    conn: &mut MultiplexedConnection,
    addr: SocketAddr,
    prefix: &str,
    timeout: Duration,
) -> Result<Vec<String>, String> {
    let pattern = prefix_pattern(prefix);
    let deadline = Instant::now() + timeout;
    let mut cursor = 0u64;
    let mut found = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "{addr}: scanning for keys under '{prefix}' took longer than {timeout:?}"
            ));
        }
        let step = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(SCAN_COUNT)
            .clone();
        let (next, keys): (u64, Vec<String>) =
            match tokio::time::timeout(left, step.query_async(conn)).await {
                Ok(Ok(answer)) => answer,
                Ok(Err(e)) => return Err(format!("{addr}: SCAN: {e}")),
                Err(_) => return Err(format!("{addr}: SCAN did not answer within {timeout:?}")),
            };
        found.extend(keys);
        if next == 0 {
            // SCAN may return a key twice (when the keyspace is rehashed during the walk).
            found.sort();
            found.dedup();
            return Ok(found);
        }
        cursor = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pattern_matches_only_the_prefix_itself() {
        assert_eq!(prefix_pattern("faultline:r1:"), "faultline:r1:*");
        assert_eq!(prefix_pattern("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\*");
    }
}
