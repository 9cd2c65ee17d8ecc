//! What one etcd member says about itself and its cluster: Raft role and position, membership,
//! health.
//!
//! Each call opens its own short-lived connection to exactly one member, so the answer is that
//! member's view (a minority member still reports its stale leader and term), and a dead member
//! costs at most `timeout`.

use super::api::{Empty, MemberListResponse, RangeRequest, RangeResponse, StatusResponse};
use super::gateway::Gateway;
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
pub(crate) async fn with_member<T, Fut>(
    client_addr: SocketAddr,
    timeout: Duration,
    op: impl FnOnce(Gateway) -> Fut,
) -> Result<T, String>
where
    Fut: Future<Output = Result<T, String>>,
{
    let work = async {
        // Half the time for the connect, so a member that accepts no connections says so.
        let gateway = Gateway::connect(client_addr, timeout / 2)
            .await
            .map_err(|e| e.to_string())?;
        op(gateway).await
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(result) => result.map_err(|e| format!("etcd member {client_addr}: {e}")),
        Err(_) => Err(format!(
            "etcd member {client_addr} did not answer within {timeout:?}"
        )),
    }
}

/// The maintenance status of the member `gateway` talks to.
async fn status(gateway: &mut Gateway) -> Result<StatusResponse, String> {
    gateway
        .call("/v3/maintenance/status", &Empty {})
        .await
        .map_err(|e| format!("status: {e}"))
}

/// The Raft state of the member serving clients at `client_addr`.
pub async fn member_status(
    client_addr: SocketAddr,
    timeout: Duration,
) -> Result<MemberStatus, String> {
    with_member(client_addr, timeout, |mut gateway| async move {
        let resp = status(&mut gateway).await?;
        let member_id = resp
            .header
            .map(|h| h.member_id)
            .filter(|&id| id != 0)
            .ok_or("status response without the member's id in its header")?;
        Ok(MemberStatus {
            member_id,
            leader_id: resp.leader,
            // A member that knows no leader reports 0, which is never a member id.
            is_leader: resp.leader == member_id,
            raft_index: resp.raft_index,
            raft_term: resp.raft_term,
            version: resp.version,
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
    with_member(client_addr, timeout, |mut gateway| async move {
        let resp: MemberListResponse = gateway
            .call("/v3/cluster/member/list", &Empty {})
            .await
            .map_err(|e| format!("member list: {e}"))?;
        Ok(resp.members.into_iter().map(|m| (m.id, m.name)).collect())
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
    with_member(client_addr, timeout, |mut gateway| async move {
        let _: RangeResponse = gateway
            .call("/v3/kv/range", &RangeRequest::key(b"health", true))
            .await
            .map_err(|e| format!("read failed: {e}"))?;
        if status(&mut gateway).await?.leader == 0 {
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
