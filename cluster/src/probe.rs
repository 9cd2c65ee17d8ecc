//! Asking a node how it is: does it answer, what is its role, is its replication link up.
//!
//! Probes open a fresh connection each time: a paused or dead node must show as such, and a
//! reused connection would hide a restart.

use redis::aio::MultiplexedConnection;
use redis::AsyncConnectionConfig;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

/// Opens a connection to `addr`, giving up after `timeout` (connect and each reply).
pub async fn connect(addr: SocketAddr, timeout: Duration) -> Result<MultiplexedConnection, String> {
    let client = redis::Client::open(format!("redis://{addr}/"))
        .map_err(|e| format!("bad address {addr}: {e}"))?;
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout));
    // The outer timeout is the one that counts: the handshake may wait on a paused node.
    match tokio::time::timeout(
        timeout,
        client.get_multiplexed_async_connection_with_config(&config),
    )
    .await
    {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(format!("cannot connect to {addr}: {e}")),
        Err(_) => Err(format!(
            "cannot connect to {addr}: no answer within {timeout:?}"
        )),
    }
}

/// A node's replication state as `INFO replication` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replication {
    /// `master` or `slave`.
    pub role: String,
    /// For a replica: whether its link to the primary is up.
    pub link_up: Option<bool>,
    /// The node's replication offset, where reported.
    pub offset: Option<i64>,
    /// For a replica: its primary's address, as configured.
    pub master: Option<String>,
    /// The own node's epoch (`epoch:`): which primary is newest when several say they are.
    pub epoch: Option<u64>,
    /// A gossip node's digest of its data (`digest:`).
    pub digest: Option<String>,
    /// How a multi-primary node resolves concurrent writes (`conflict_rule:`).
    pub conflict_rule: Option<String>,
}

/// PINGs the node and reads `INFO replication`, within `timeout`.
pub async fn replication(addr: SocketAddr, timeout: Duration) -> Result<Replication, String> {
    let mut conn = connect(addr, timeout).await?;
    let query = async {
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        redis::cmd("INFO")
            .arg("replication")
            .query_async::<String>(&mut conn)
            .await
    };
    let text = match tokio::time::timeout(timeout, query).await {
        Ok(Ok(text)) => text,
        Ok(Err(e)) => return Err(format!("{addr} answered with an error: {e}")),
        Err(_) => return Err(format!("{addr} did not answer within {timeout:?}")),
    };
    parse_replication(&text).ok_or_else(|| format!("{addr}: INFO replication has no role"))
}

/// A RESP node's role and replication position, as the target interface reports it.
pub async fn resp_status(
    addr: SocketAddr,
    timeout: Duration,
) -> Result<crate::system::NodeStatus, String> {
    use crate::system::{NodeStatus, Role};
    let r = replication(addr, timeout).await?;
    let role = match r.role.as_str() {
        "master" => Role::Primary,
        "slave" => Role::Replica,
        "peer" => Role::Peer,
        other => return Err(format!("{addr}: unexpected role {other}")),
    };
    Ok(NodeStatus {
        role,
        link_up: r.link_up,
        position: r.offset,
        leader: r.master,
        sentinel: None,
        epoch: r.epoch,
        digest: r.digest,
        conflict_rule: r.conflict_rule,
    })
}

/// Parses the fields of an `INFO` reply (`name:value` lines; `#` headers skipped).
pub fn parse_info(text: &str) -> BTreeMap<&str, &str> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.trim_end().split_once(':'))
        .collect()
}

fn parse_replication(text: &str) -> Option<Replication> {
    let fields = parse_info(text);
    let role = fields.get("role")?.to_string();
    let link_up = fields.get("master_link_status").map(|s| *s == "up");
    let offset = fields
        .get(if role == "master" {
            "master_repl_offset"
        } else {
            "slave_repl_offset"
        })
        .and_then(|s| s.parse().ok());
    let master = match (fields.get("master_host"), fields.get("master_port")) {
        (Some(h), Some(p)) => Some(format!("{h}:{p}")),
        _ => None,
    };
    Some(Replication {
        role,
        link_up,
        offset,
        master,
        epoch: fields.get("epoch").and_then(|e| e.parse().ok()),
        digest: fields.get("digest").map(|d| d.to_string()),
        conflict_rule: fields.get("conflict_rule").map(|d| d.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_redis_replica_info() {
        let text = "# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:7001\r\n\
                    master_link_status:up\r\nslave_repl_offset:42\r\n";
        let r = parse_replication(text).unwrap();
        assert_eq!(
            r,
            Replication {
                role: "slave".into(),
                link_up: Some(true),
                offset: Some(42),
                master: Some("127.0.0.1:7001".into()),
                epoch: None,
                digest: None,
                conflict_rule: None,
            }
        );
    }

    #[test]
    fn parses_primary_info() {
        let text =
            "# Replication\nrole:master\nconnected_slaves:2\nmaster_repl_offset:7\nepoch:2\n";
        let r = parse_replication(text).unwrap();
        assert_eq!(
            (r.role.as_str(), r.link_up, r.offset, r.epoch),
            ("master", None, Some(7), Some(2))
        );
        assert_eq!(parse_replication("# Replication\n"), None);
    }
}
