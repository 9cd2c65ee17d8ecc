//! What one etcd member says about itself and its cluster: Raft role and position, membership,
//! health.
//!
//! Each call opens its own short-lived connection to exactly one member, so the answer is that
//! member's view (a minority member still reports its stale leader and term), and a dead member
//! costs at most `timeout`.

use super::client::{connect, describe};
use etcd_client::{Client, GetOptions};
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

/// One member's Raft state, from the maintenance Status RPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberStatus {
    /// The member's own id (from the response header).
    pub member_id: u64,
    /// The id of the leader this member follows; 0 when it knows of none.
    pub leader_id: u64,
    /// Whether this member believes it is the leader.
    pub is_leader: bool,
    /// The member's Raft log index: its replication position.
    pub raft_index: u64,
    /// The member's Raft term as etcd 3.4 reports it: the term of the last entry it applied, so it
    /// moves past an election only once the new leader's first entry is applied.
    pub raft_term: u64,
    /// The etcd server version the member runs.
    pub version: String,
}

/// Runs `op` against the member at `client_addr`, connecting included, within `timeout`.
async fn with_member<T, Fut>(
    client_addr: SocketAddr,
    timeout: Duration,
    op: impl FnOnce(Client) -> Fut,
) -> Result<T, String>
where
    Fut: Future<Output = Result<T, String>>,
{
    let work = async {
        let client = connect(&[client_addr], timeout)
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        op(client).await
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(result) => result.map_err(|e| format!("etcd member {client_addr}: {e}")),
        Err(_) => Err(format!(
            "etcd member {client_addr} did not answer within {timeout:?}"
        )),
    }
}

/// The Raft state of the member serving clients at `client_addr`.
pub async fn member_status(
    client_addr: SocketAddr,
    timeout: Duration,
) -> Result<MemberStatus, String> {
    with_member(client_addr, timeout, |mut client| async move {
        let resp = client.status().await.map_err(|e| describe(&e))?;
        let member_id = resp
            .header()
            .map(|h| h.member_id())
            .ok_or("status response without a header")?;
        Ok(MemberStatus {
            member_id,
            leader_id: resp.leader(),
            // A member that knows no leader reports 0, which is never a member id.
            is_leader: resp.leader() == member_id,
            raft_index: resp.raft_index(),
            raft_term: resp.raft_term(),
            version: resp.version().to_string(),
        })
    })
    .await
}

/// The cluster's members as the member at `client_addr` knows them: (id, name) pairs.
///
/// This maps the ids in [`MemberStatus`] to the names given at launch. A member that has never
/// started has an empty name.
pub async fn member_names(
    client_addr: SocketAddr,
    timeout: Duration,
) -> Result<Vec<(u64, String)>, String> {
    with_member(client_addr, timeout, |mut client| async move {
        let resp = client.member_list().await.map_err(|e| describe(&e))?;
        Ok(resp
            .members()
            .iter()
            .map(|m| (m.id(), m.name().to_string()))
            .collect())
    })
    .await
}

/// Succeeds when the member at `client_addr` serves reads and knows a leader.
///
/// The read is serializable, so it answers from the member's own store without a Raft round: a
/// member that is up but partitioned away from the leader passes the read and fails the leader
/// check once it forgets its leader: a follower does when it campaigns, an isolated leader when
/// its quorum check fails (etcd enables CheckQuorum), both within about an election timeout.
pub async fn health(client_addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    with_member(client_addr, timeout, |mut client| async move {
        client
            .get("health", Some(GetOptions::new().with_serializable()))
            .await
            .map_err(|e| format!("read failed: {}", describe(&e)))?;
        let status = client.status().await.map_err(|e| describe(&e))?;
        if status.leader() == 0 {
            return Err("no leader".to_string());
        }
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A member that is not there: every call errors, naming the member, within the timeout.
    #[tokio::test]
    async fn an_absent_member_is_an_error_not_a_hang() {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let timeout = Duration::from_secs(2);
        let started = std::time::Instant::now();
        let e = member_status(addr, timeout).await.unwrap_err();
        assert!(e.contains(&addr.to_string()), "{e}");
        let e = member_names(addr, timeout).await.unwrap_err();
        assert!(e.contains(&addr.to_string()), "{e}");
        let e = health(addr, timeout).await.unwrap_err();
        assert!(e.contains(&addr.to_string()), "{e}");
        assert!(started.elapsed() < timeout * 3, "{:?}", started.elapsed());
    }
}
