//! What a node says about itself: INFO, ROLE and HELLO, in Redis's formats so Redis tooling reads them.

use std::fmt::Write as _;

use bytes::Bytes;

use crate::reply::{self, Protocol, Reply, Response};
use crate::state::{Design, Role, Server};

/// Sections INFO knows, in the order INFO without arguments prints them.
const SECTIONS: [&str; 3] = ["server", "replication", "keyspace"];

/// INFO's text for the requested sections (all of them when none, `all`, `default` or `everything`).
pub fn info(server: &Server, requested: &[Bytes]) -> String {
    let requested: Vec<String> = requested
        .iter()
        .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
        .collect();
    let everything = requested.is_empty()
        || requested
            .iter()
            .any(|s| matches!(s.as_str(), "all" | "default" | "everything"));
    let mut text = String::new();
    for section in SECTIONS {
        if !everything && !requested.iter().any(|s| s == section) {
            continue;
        }
        if !text.is_empty() {
            text.push_str("\r\n");
        }
        match section {
            "server" => server_section(server, &mut text),
            "replication" => replication_section(server, &mut text),
            _ => keyspace_section(server, &mut text),
        }
    }
    text
}

// Writing to a String cannot fail, hence the ignored results below.

fn server_section(server: &Server, text: &mut String) {
    let _ = write!(
        text,
        "# Server\r\n\
         faultline_version:{}\r\n\
         node_name:{}\r\n\
         redis_mode:standalone\r\n\
         process_id:{}\r\n\
         tcp_port:{}\r\n\
         uptime_in_seconds:{}\r\n",
        env!("CARGO_PKG_VERSION"),
        server.name,
        std::process::id(),
        server.port,
        server.started.elapsed().as_secs(),
    );
}

fn replication_section(server: &Server, text: &mut String) {
    let offset = server.store.offset();
    text.push_str("# Replication\r\n");
    if let Some(gossip) = server.design.gossip() {
        let _ = write!(
            text,
            "role:peer\r\nmode:gossip\r\nnodes:{}\r\ndigest:{}\r\n\
             conflict_rule:last-writer-wins registers, union sets, per-node counters\r\n",
            gossip.nodes(),
            gossip.digest()
        );
        return;
    }
    if let Some(quorum) = server.design.quorum() {
        let (read, write) = quorum.sizes();
        let _ = write!(
            text,
            "role:peer\r\nmode:quorum\r\nnodes:{}\r\nread_quorum:{read}\r\nwrite_quorum:{write}\r\n",
            quorum.nodes()
        );
        return;
    }
    let role = server.role();
    match &role {
        Role::Primary { registry, .. } => {
            let replicas = registry.list();
            let _ = write!(
                text,
                "role:master\r\nconnected_slaves:{}\r\n",
                replicas.len()
            );
            for (i, r) in replicas.iter().enumerate() {
                let _ = write!(
                    text,
                    "slave{i}:ip={},port={},state=online,offset={},lag={}\r\n",
                    r.ip,
                    r.port,
                    r.acked,
                    r.last_ack.elapsed().as_secs()
                );
            }
            let _ = write!(text, "master_repl_offset:{offset}\r\n");
        }
        Role::Replica(upstream) => {
            let status = if upstream.link_up() { "up" } else { "down" };
            let _ = write!(
                text,
                "role:slave\r\n\
                 master_host:{}\r\n\
                 master_port:{}\r\n\
                 master_link_status:{status}\r\n\
                 slave_repl_offset:{offset}\r\n\
                 slave_read_only:1\r\n\
                 connected_slaves:0\r\n\
                 master_repl_offset:{offset}\r\n",
                upstream.host, upstream.port,
            );
        }
    }
    let _ = write!(text, "epoch:{}\r\n", role.epoch());
}

fn keyspace_section(server: &Server, text: &mut String) {
    text.push_str("# Keyspace\r\n");
    let keys = match &server.design {
        Design::Quorum(quorum) => quorum.replica.len(),
        Design::Gossip(gossip) => gossip.keys(),
        Design::Async => server.store.len(),
    };
    if keys > 0 {
        let _ = write!(text, "db0:keys={keys},expires=0,avg_ttl=0\r\n");
    }
}

/// ROLE's reply, shaped as Redis's, with the node's epoch as a last element of its own.
pub fn role(server: &Server) -> Reply {
    if let Some(quorum) = server.design.quorum() {
        return Reply::Array(vec![reply::bulk("peer"), reply::count(quorum.nodes())]);
    }
    if let Some(gossip) = server.design.gossip() {
        return Reply::Array(vec![reply::bulk("peer"), reply::count(gossip.nodes())]);
    }
    let offset = int(server.store.offset());
    let role = server.role();
    let epoch = int(role.epoch());
    match &role {
        Role::Primary { registry, .. } => {
            let replicas = registry
                .list()
                .into_iter()
                .map(|r| reply::bulks([r.ip.to_string(), r.port.to_string(), r.acked.to_string()]))
                .collect();
            Reply::Array(vec![
                reply::bulk("master"),
                offset,
                Reply::Array(replicas),
                epoch,
            ])
        }
        Role::Replica(upstream) => {
            let state = if upstream.link_up() {
                "connected"
            } else {
                "connect"
            };
            Reply::Array(vec![
                reply::bulk("slave"),
                reply::bulk(upstream.host.clone()),
                Reply::Integer(upstream.port.into()),
                reply::bulk(state),
                offset,
                epoch,
            ])
        }
    }
}

/// HELLO's reply for a connection now speaking `protocol`: a map, as Redis's (RESP2 sends it as
/// a flat array of field, value pairs).
pub fn hello(server: &Server, client_id: u64, protocol: Protocol) -> Response {
    let role = match (&server.design, server.is_primary()) {
        (Design::Quorum(_) | Design::Gossip(_), _) => "peer",
        (Design::Async, true) => "master",
        (Design::Async, false) => "replica",
    };
    let proto = match protocol {
        Protocol::Resp2 => 2,
        Protocol::Resp3 => 3,
    };
    Response::Map(vec![
        (reply::bulk("server"), reply::bulk("faultline")),
        (
            reply::bulk("version"),
            reply::bulk(env!("CARGO_PKG_VERSION")),
        ),
        (reply::bulk("proto"), Reply::Integer(proto)),
        (reply::bulk("id"), int(client_id)),
        (reply::bulk("mode"), reply::bulk("standalone")),
        (reply::bulk("role"), reply::bulk(role)),
        (reply::bulk("modules"), Reply::Array(Vec::new())),
    ])
}

fn int(n: u64) -> Reply {
    Reply::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}
