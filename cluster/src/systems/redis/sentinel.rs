//! Redis Sentinel beside each Redis node: a majority of sentinels that cannot reach the primary
//! for `down-after-milliseconds` elect one of themselves to promote a replica, and later
//! reconfigure the old primary as a replica of the new one. Clients ask the sentinels where the
//! primary is, as real Redis clients do.

use super::find_program;
use crate::client::BoxFuture;
use crate::probe;
use crate::resp_client::LocatePrimary;
use crate::system::{
    DaemonSpec, Launch, NodeAddrs, NodePlan, NodeStatus, Role, SentinelView, Unhealthy,
};
use redis::aio::MultiplexedConnection;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

/// The Debian package that provides `redis-sentinel`.
pub const SENTINEL_PACKAGE: &str = "redis-sentinel";

/// The port a sentinel listens on in netns mode (Redis's usual one).
pub const NETNS_PORT: u16 = 26379;

/// The name every sentinel monitors the primary under.
pub const MASTER_NAME: &str = "faultline";

/// How long a sentinel waits before it believes the primary is down. Short, so that a test's
/// partition of a few seconds sees a failover, as Jepsen's did.
pub const DOWN_AFTER_MS: u64 = 1000;

/// How long one failover attempt may take before another sentinel may try.
pub const FAILOVER_TIMEOUT_MS: u64 = 3000;

/// The configuration file of node `node`'s sentinel, monitoring the first node.
pub fn config(node: &NodePlan<'_>, listen: SocketAddr) -> String {
    let primary = node.first().client;
    let quorum = node.peers.len() / 2 + 1;
    // Proxy mode with fronts: connect from the node's source address, announce the front.
    let mut proxied = String::new();
    if let Some(ip) = node.source_ip {
        proxied.push_str(&format!("bind-source-addr {ip}\n"));
    }
    if let Some(seen) = node.me().sentinel.filter(|s| *s != listen) {
        proxied.push_str(&format!(
            "sentinel announce-ip {}\nsentinel announce-port {}\n",
            seen.ip(),
            seen.port()
        ));
    }
    let text = format!(
        "port {port}\nbind {ip}\nprotected-mode no\ndaemonize no\ndir {dir}\nlogfile \"\"\n\
         sentinel monitor {MASTER_NAME} {pip} {pport} {quorum}\n\
         sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n\
         sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}\n\
         sentinel parallel-syncs {MASTER_NAME} 1\n",
        port = listen.port(),
        ip = listen.ip(),
        dir = node.dir.display(),
        pip = primary.ip(),
        pport = primary.port(),
    );
    text + &proxied
}

/// The sentinel daemon of `node`: its configuration file is written first (Sentinel rewrites it
/// as it learns about replicas and other sentinels, so it must be a file of its own).
pub fn daemon(node: &NodePlan<'_>) -> Result<DaemonSpec, String> {
    let program = find_program("redis-sentinel", SENTINEL_PACKAGE, node.remote)?;
    let listen = node
        .addrs
        .sentinel
        .ok_or_else(|| format!("{}: no sentinel address was laid out", node.name))?;
    let path = node.dir.join("sentinel.conf");
    Ok(DaemonSpec {
        role: "sentinel",
        launch: Launch {
            program,
            args: vec![path.display().to_string()],
        },
        // Sentinel rewrites its process title to `redis-sentinel IP:PORT [sentinel]`: the config
        // path is gone from it, the port stays.
        marker: listen.port().to_string(),
        files: vec![(path, config(node, listen))],
    })
}

/// Asks the sentinel at `addr` what it believes about the primary.
pub async fn view(addr: SocketAddr, timeout: Duration) -> Result<SentinelView, String> {
    let mut conn = probe::connect(addr, timeout).await?;
    let cmd = redis::cmd("SENTINEL")
        .arg("master")
        .arg(MASTER_NAME)
        .clone();
    let query = cmd.query_async::<HashMap<String, String>>(&mut conn);
    let fields = match tokio::time::timeout(timeout, query).await {
        Ok(Ok(f)) => f,
        Ok(Err(e)) => return Err(format!("sentinel {addr}: {e}")),
        Err(_) => return Err(format!("sentinel {addr} did not answer within {timeout:?}")),
    };
    let field = |name: &str| {
        fields
            .get(name)
            .cloned()
            .ok_or_else(|| format!("sentinel {addr}: SENTINEL master has no '{name}'"))
    };
    let primary = format!("{}:{}", field("ip")?, field("port")?)
        .parse()
        .map_err(|e| format!("sentinel {addr}: bad primary address: {e}"))?;
    Ok(SentinelView {
        primary,
        other_sentinels: field("num-other-sentinels")?.parse().unwrap_or(0),
        flags: field("flags")?,
    })
}

/// What a sentinel someone else runs monitors: the primary and its replicas, as it knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Monitored {
    /// The name the primary is monitored under.
    pub name: String,
    /// The primary's address.
    pub primary: SocketAddr,
    /// The replicas the sentinel sees up, in the order it lists them.
    pub replicas: Vec<SocketAddr>,
}

/// Asks `addr` whether it is a sentinel (`INFO server`'s `redis_mode`) and, if so, what it
/// monitors: `None` for a plain Redis node. A sentinel monitoring several primaries is an
/// error, for faultline would not know which cluster is meant.
pub async fn monitored(addr: SocketAddr, timeout: Duration) -> Result<Option<Monitored>, String> {
    let conn = probe::connect(addr, timeout).await?;
    // A multiplexed connection's clones share one socket.
    let ask = |cmd: redis::Cmd| {
        let mut conn = conn.clone();
        async move {
            match tokio::time::timeout(timeout, cmd.query_async::<redis::Value>(&mut conn)).await {
                Ok(Ok(v)) => Ok(v),
                Ok(Err(e)) => Err(format!("{addr}: {e}")),
                Err(_) => Err(format!("{addr} did not answer within {timeout:?}")),
            }
        }
    };
    let info: String =
        redis::from_redis_value(ask(redis::cmd("INFO").arg("server").clone()).await?)
            .map_err(|e| format!("{addr}: INFO server: {e}"))?;
    if probe::parse_info(&info).get("redis_mode") != Some(&"sentinel") {
        return Ok(None);
    }
    let masters: Vec<HashMap<String, String>> =
        redis::from_redis_value(ask(redis::cmd("SENTINEL").arg("masters").clone()).await?)
            .map_err(|e| format!("sentinel {addr}: SENTINEL masters: {e}"))?;
    let master = match &masters[..] {
        [one] => one,
        [] => return Err(format!("sentinel {addr} monitors no primary")),
        many => {
            let names: Vec<&str> = many
                .iter()
                .filter_map(|m| m.get("name").map(String::as_str))
                .collect();
            return Err(format!(
                "sentinel {addr} monitors {} primaries ({}); give the nodes' addresses instead",
                many.len(),
                names.join(", ")
            ));
        }
    };
    let at = |fields: &HashMap<String, String>| -> Result<SocketAddr, String> {
        let (ip, port) = (fields.get("ip"), fields.get("port"));
        format!(
            "{}:{}",
            ip.map_or("", String::as_str),
            port.map_or("", String::as_str)
        )
        .parse()
        .map_err(|_| format!("sentinel {addr}: an entry without an address: {fields:?}"))
    };
    let name = master.get("name").cloned().unwrap_or_default();
    let replicas: Vec<HashMap<String, String>> = redis::from_redis_value(
        ask(redis::cmd("SENTINEL").arg("replicas").arg(&name).clone()).await?,
    )
    .map_err(|e| format!("sentinel {addr}: SENTINEL replicas: {e}"))?;
    // A replica the sentinel believes down or cut off would only make the attach fail later.
    let down = |r: &HashMap<String, String>| {
        r.get("flags").is_some_and(|f| {
            f.contains("s_down") || f.contains("o_down") || f.contains("disconnected")
        })
    };
    Ok(Some(Monitored {
        primary: at(master)?,
        replicas: replicas
            .iter()
            .filter(|r| !down(r))
            .map(at)
            .collect::<Result<_, _>>()?,
        name,
    }))
}

/// Finds the primary as a Redis client with sentinel support does: asks the sentinels in its
/// order, the first that answers wins, and keeps that sentinel's connection for the next time
/// (a client asks again every few hundred milliseconds: a new connection each time would be
/// most of its work).
pub struct SentinelLocator {
    order: Vec<SocketAddr>,
    conn: Option<MultiplexedConnection>,
}

impl SentinelLocator {
    /// A locator asking the sentinels at `order`, first to last.
    pub fn new(order: Vec<SocketAddr>) -> SentinelLocator {
        SentinelLocator { order, conn: None }
    }

    /// Where the primary is now, by the first sentinel that answers within `timeout`.
    pub async fn locate(&mut self, timeout: Duration) -> Result<SocketAddr, String> {
        if let Some(conn) = &mut self.conn {
            match ask_primary(conn, timeout).await {
                Ok(primary) => return Ok(primary),
                Err(_) => self.conn = None,
            }
        }
        let mut errors = Vec::new();
        for &at in &self.order {
            let mut conn = match probe::connect(at, timeout).await {
                Ok(conn) => conn,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            match ask_primary(&mut conn, timeout).await {
                Ok(primary) => {
                    self.conn = Some(conn);
                    return Ok(primary);
                }
                Err(e) => errors.push(format!("{at}: {e}")),
            }
        }
        Err(format!(
            "no sentinel named the primary ({})",
            errors.join("; ")
        ))
    }
}

impl LocatePrimary for SentinelLocator {
    fn locate(&mut self, timeout: Duration) -> BoxFuture<'_, Result<SocketAddr, String>> {
        Box::pin(SentinelLocator::locate(self, timeout))
    }
}

/// One sentinel's answer to where the primary is.
async fn ask_primary(
    conn: &mut MultiplexedConnection,
    timeout: Duration,
) -> Result<SocketAddr, String> {
    let cmd = redis::cmd("SENTINEL")
        .arg("get-master-addr-by-name")
        .arg(MASTER_NAME)
        .clone();
    let query = cmd.query_async::<Option<(String, u16)>>(conn);
    match tokio::time::timeout(timeout, query).await {
        Ok(Ok(Some((ip, port)))) => ip
            .parse()
            .map(|ip| SocketAddr::new(ip, port))
            .map_err(|_| format!("bad address {ip}")),
        Ok(Ok(None)) => Err("does not know the primary".into()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {timeout:?}")),
    }
}

/// Sentinel health: every sentinel knows all the others, sees the primary up, and names the node
/// that really is the primary.
pub fn judge(nodes: &[(String, NodeAddrs, NodeStatus)]) -> Result<(), Unhealthy> {
    let (primary, announced) = nodes
        .iter()
        .find(|(_, _, s)| s.role == Role::Primary)
        .map(|(_, a, _)| (a.client, a.announced))
        .ok_or_else(|| Unhealthy::cluster("no node is the primary"))?;
    for (name, _, status) in nodes {
        let Some(view) = &status.sentinel else {
            return Err(Unhealthy::node(name, "no sentinel view"));
        };
        // Through the proxy's fronts the sentinels know the primary by its front.
        if view.primary != primary && Some(view.primary) != announced {
            return Err(Unhealthy::node(
                name,
                format!(
                    "its sentinel names {} as the primary, not {primary}",
                    view.primary
                ),
            ));
        }
        if view.other_sentinels + 1 < nodes.len() {
            return Err(Unhealthy::node(
                name,
                format!(
                    "its sentinel knows {} of the {} other sentinels",
                    view.other_sentinels,
                    nodes.len() - 1
                ),
            ));
        }
        if view.flags != "master" {
            return Err(Unhealthy::node(
                name,
                format!("its sentinel flags the primary {}", view.flags),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn health_wants_every_sentinel_to_know_the_real_primary_and_names_the_node_that_does_not() {
        let at = |port: u16| -> SocketAddr { format!("127.0.0.1:{port}").parse().unwrap() };
        let addrs = |port: u16| NodeAddrs {
            client: at(port),
            peer: at(port),
            sentinel: Some(at(port + 20000)),
            announced: None,
        };
        let view = |primary: u16, flags: &str| SentinelView {
            primary: at(primary),
            other_sentinels: 1,
            flags: flags.to_string(),
        };
        let node = |name: &str, port: u16, role, seen: Option<SentinelView>| {
            let status = NodeStatus {
                role,
                link_up: Some(true),
                position: None,
                leader: None,
                sentinel: seen,
                epoch: None,
                digest: None,
                conflict_rule: None,
            };
            (name.to_string(), addrs(port), status)
        };
        let healthy = [
            node("n1", 6001, Role::Primary, Some(view(6001, "master"))),
            node("n2", 6002, Role::Replica, Some(view(6001, "master"))),
        ];
        assert_eq!(judge(&healthy), Ok(()));
        let stale = [
            node("n1", 6001, Role::Primary, Some(view(6001, "master"))),
            node("n2", 6002, Role::Replica, Some(view(6002, "master"))),
        ];
        assert_eq!(
            judge(&stale).unwrap_err().to_string(),
            "n2: its sentinel names 127.0.0.1:6002 as the primary, not 127.0.0.1:6001"
        );
        let blind = [
            node("n1", 6001, Role::Primary, Some(view(6001, "s_down,master"))),
            node("n2", 6002, Role::Replica, None),
        ];
        assert_eq!(
            judge(&blind).unwrap_err(),
            Unhealthy::node("n1", "its sentinel flags the primary s_down,master")
        );
        assert_eq!(
            judge(&blind[1..]).unwrap_err(),
            Unhealthy::cluster("no node is the primary")
        );
    }

    #[test]
    fn config_monitors_the_first_node_with_a_majority_quorum() {
        let addrs = |ip: &str| NodeAddrs {
            client: format!("{ip}:6379").parse().unwrap(),
            peer: format!("{ip}:6379").parse().unwrap(),
            sentinel: Some(format!("{ip}:26379").parse().unwrap()),
            announced: None,
        };
        let peers: Vec<_> = (1..=5)
            .map(|i| (format!("n{i}"), addrs(&format!("10.77.3.{}", 10 + i))))
            .collect();
        let plan = NodePlan {
            name: "n3",
            index: 2,
            addrs: peers[2].1,
            peers: peers.clone(),
            dir: Path::new("/run/x/n3"),
            token: "t",
            source_ip: None,
            remote: false,
        };
        let text = config(&plan, plan.addrs.sentinel.unwrap());
        assert!(text.contains("port 26379\nbind 10.77.3.13\n"), "{text}");
        assert!(
            text.contains("sentinel monitor faultline 10.77.3.11 6379 3\n"),
            "{text}"
        );
        assert!(
            text.contains("down-after-milliseconds faultline 1000"),
            "{text}"
        );
    }

    #[test]
    fn through_fronts_the_sentinel_binds_its_source_and_announces_its_front() {
        let at = |port: u16| -> SocketAddr { format!("127.0.0.1:{port}").parse().unwrap() };
        let real = NodeAddrs {
            client: at(7001),
            peer: at(7001),
            sentinel: Some(at(27001)),
            announced: Some(at(9001)),
        };
        let front = |i: u16| NodeAddrs {
            client: at(9000 + i),
            peer: at(9000 + i),
            sentinel: Some(at(29000 + i)),
            announced: None,
        };
        let plan = NodePlan {
            name: "n1",
            index: 0,
            addrs: real,
            peers: (1..=3).map(|i| (format!("n{i}"), front(i))).collect(),
            dir: Path::new("/run/x/n1"),
            token: "t",
            source_ip: Some("127.0.7.11".parse().unwrap()),
            remote: false,
        };
        let text = config(&plan, at(27001));
        assert!(text.contains("port 27001\n"), "{text}");
        assert!(
            text.contains("sentinel monitor faultline 127.0.0.1 9001 2\n"),
            "{text}"
        );
        assert!(text.contains("bind-source-addr 127.0.7.11\n"), "{text}");
        assert!(
            text.contains("sentinel announce-ip 127.0.0.1\nsentinel announce-port 29001\n"),
            "{text}"
        );
    }
}
