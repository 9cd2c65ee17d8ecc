//! A manual failover of a RESP primary/replica system (Redis's and the own node's `REPLICAOF`):
//! the chosen node stops following (`REPLICAOF NO ONE`), then every other node is pointed at it.

use crate::probe;
use crate::system::{Follower, NodeAddrs};
use std::net::SocketAddr;
use std::time::Duration;

/// Sends one `REPLICAOF` to the node at `addr`: `NO ONE`, or the primary at `of`.
async fn replicaof(
    addr: SocketAddr,
    of: Option<SocketAddr>,
    timeout: Duration,
) -> Result<(), String> {
    let mut conn = probe::connect(addr, timeout).await?;
    let cmd = match of {
        None => redis::cmd("REPLICAOF").arg("NO").arg("ONE").clone(),
        Some(of) => redis::cmd("REPLICAOF")
            .arg(of.ip().to_string())
            .arg(of.port())
            .clone(),
    };
    match tokio::time::timeout(timeout, cmd.query_async::<redis::Value>(&mut conn)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("{addr} refused REPLICAOF: {e}")),
        Err(_) => Err(format!(
            "{addr} did not answer REPLICAOF within {timeout:?}"
        )),
    }
}

/// Promotes the node at `node`, then points each of `followers` at it; returns a line per step.
/// A follower that cannot be told (a paused or cut-off node) is named in the result and the
/// others are still told, as an operator would go on.
pub async fn promote(
    name: &str,
    node: &NodeAddrs,
    followers: &[Follower],
    timeout: Duration,
) -> Result<Vec<String>, String> {
    replicaof(node.client, None, timeout)
        .await
        .map_err(|e| format!("{name}: {e}"))?;
    let mut done = vec![format!("{name}: REPLICAOF NO ONE (now a primary)")];
    let mut failed = Vec::new();
    for f in followers {
        match replicaof(f.addrs.client, Some(f.primary), timeout).await {
            Ok(()) => done.push(format!(
                "{}: REPLICAOF {} (follows {name})",
                f.name, f.primary
            )),
            Err(e) => failed.push(format!("{}: {e}", f.name)),
        }
    }
    match failed.is_empty() {
        true => Ok(done),
        false => Err(format!(
            "{} but could not repoint {}",
            done.join("; "),
            failed.join("; ")
        )),
    }
}
