//! One client connection: read requests, execute them in order, write the replies.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::debug;

use crate::command::{Command, CommandError};
use crate::info;
use crate::replication::{self, Upstream};
use crate::reply::{self, Protocol, Reply, Response};
use crate::request;
use crate::state::{Role, Server};
use crate::store::Refused;

/// What a connection remembers between requests.
struct Session {
    id: u64,
    name: Option<Bytes>,
    /// The port a replica announced with `REPLCONF listening-port`.
    listening_port: Option<u16>,
    /// RESP2, or RESP3 after `HELLO 3`.
    protocol: Protocol,
}

/// What to do after a request.
enum Next {
    /// Send the reply and read on.
    Reply(Response),
    /// Send the reply and close (QUIT).
    Close(Reply),
    /// The peer is a replica that asked for FLSYNC: the connection becomes a replication link.
    Replicate,
    /// A data command this node coordinates over a quorum (`--mode quorum`).
    Coordinate(Command),
}

/// Serves one connection until the peer leaves, sends a malformed request, or the node stops.
pub async fn handle(server: Arc<Server>, mut stream: TcpStream, peer: SocketAddr) {
    // Replies are small and a harness measures latency: do not let Nagle hold them back.
    let _ = stream.set_nodelay(true);
    let mut session = Session {
        id: server.next_client_id(),
        name: None,
        listening_port: None,
        protocol: Protocol::default(),
    };
    let mut inbox = BytesMut::with_capacity(4096);
    let mut out = BytesMut::new();
    loop {
        // Answer every complete request already buffered (clients pipeline), then write once.
        let mut close = false;
        let mut replicate = false;
        while !close && !replicate {
            match request::parse(&mut inbox) {
                Ok(None) => break,
                Ok(Some(args)) if args.is_empty() => {}
                Ok(Some(args)) => match execute(&server, &mut session, args) {
                    Next::Reply(reply) => reply.encode(session.protocol, &mut out),
                    Next::Close(reply) => {
                        reply::encode(&reply, &mut out);
                        close = true;
                    }
                    Next::Replicate => replicate = true,
                    Next::Coordinate(command) => {
                        let quorum = server
                            .design
                            .quorum()
                            .expect("only quorum nodes coordinate");
                        let reply = quorum.execute(&command, &server.liar).await;
                        let reply = reply.expect("only data commands are coordinated");
                        reply.encode(session.protocol, &mut out);
                    }
                },
                Err(e) => {
                    debug!(%peer, "closing connection after malformed request: {e}");
                    reply::encode(&reply::error(format!("ERR Protocol error: {e}")), &mut out);
                    close = true;
                }
            }
        }
        if !out.is_empty() {
            if let Err(e) = stream.write_all(&out).await {
                debug!(%peer, "connection lost while writing: {e}");
                return;
            }
            out.clear();
        }
        if close {
            return;
        }
        if replicate {
            // The role is read again: it may have changed since FLSYNC was accepted.
            if let (Role::Primary { registry, epoch }, term) = server.role_and_term() {
                let primary = replication::Primary {
                    store: &server.store,
                    registry: &registry,
                    epoch,
                    delay: server.delay,
                };
                let port = session.listening_port;
                replication::serve_link(stream, inbox, peer, port, primary, term).await;
            }
            return;
        }
        inbox.reserve(4096);
        match stream.read_buf(&mut inbox).await {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) => {
                debug!(%peer, "connection lost while reading: {e}");
                return;
            }
        }
    }
}

fn execute(server: &Server, session: &mut Session, args: Vec<Bytes>) -> Next {
    let command = match Command::parse(args) {
        Ok(command) => command,
        Err(e) => return Next::Reply(reply::error(e).into()),
    };
    if let Some(quorum) = server.design.quorum() {
        match command {
            Command::Get(_)
            | Command::Set(..)
            | Command::Cas { .. }
            | Command::IncrBy(..)
            | Command::SAdd(..)
            | Command::SMembers(_) => return Next::Coordinate(command),
            Command::QFetch(key) => return Next::Reply(quorum.fetch(&key).into()),
            Command::QStore(key, parts) => {
                return Next::Reply(quorum.store_sent(key, &parts).into())
            }
            Command::DbSize => return Next::Reply(reply::count(quorum.replica.len()).into()),
            Command::Del(_) | Command::FlushAll | Command::Flsync | Command::Replicaof(_) => {
                return Next::Reply(
                    reply::error("ERR not supported by a node in --mode quorum").into(),
                )
            }
            _ => {}
        }
    }
    if let Some(gossip) = server.design.gossip() {
        if let Some(reply) = gossip.execute(&command, &server.liar) {
            return Next::Reply(reply);
        }
        match command {
            Command::Gossip(parts) => return Next::Reply(gossip.receive(&parts).into()),
            Command::DbSize => return Next::Reply(reply::count(gossip.keys()).into()),
            Command::Del(_)
            | Command::FlushAll
            | Command::Flsync
            | Command::Replicaof(_)
            | Command::QFetch(_)
            | Command::QStore(..) => {
                return Next::Reply(
                    reply::error("ERR not supported by a node in --mode gossip").into(),
                )
            }
            _ => {}
        }
    }
    let primary = server.is_primary();
    if command.is_write() && !primary {
        return Next::Reply(reply::error(CommandError::ReadOnly).into());
    }
    let store = &server.store;
    let reply = match command {
        Command::Ping(None) => reply::simple("PONG"),
        Command::Ping(Some(message)) | Command::Echo(message) => reply::bulk(message),
        Command::Hello(version) => return Next::Reply(hello(server, session, version)),
        Command::Client(sub, args) => client(session, &sub, &args),
        Command::Select(index) if index.as_ref() == b"0" => reply::ok(),
        Command::Select(_) => reply::error("ERR DB index is out of range"),
        Command::Introspect => Reply::Array(Vec::new()),
        Command::Get(key) => match store.get(&key) {
            Ok(value) => server
                .liar
                .get(&key, value)
                .map_or(Reply::Null, reply::bulk),
            Err(e) => reply::error(e),
        },
        Command::Set(key, value) => logged(store.set(key, value).map(|()| reply::ok())),
        Command::SAdd(key, members) => logged(store.sadd(key, members).map(reply::count)),
        Command::SMembers(key) => match store.members(&key) {
            Ok(members) => {
                let told = server.liar.members(&key, members);
                return Next::Reply(Response::Set(told.into_iter().map(reply::bulk).collect()));
            }
            Err(e) => reply::error(e),
        },
        Command::Del(keys) => logged(store.del(keys).map(reply::count)),
        Command::DbSize => reply::count(store.len()),
        Command::FlushAll => logged(store.flush_all().map(|()| reply::ok())),
        Command::Cas { key, expected, new } => logged(
            store
                .cas(key, &expected, new)
                .map(|swapped| Reply::Integer(i64::from(swapped))),
        ),
        Command::IncrBy(key, delta) => logged(store.incr_by(key, delta).map(|sum| match sum {
            Some(sum) => Reply::Integer(sum),
            None => reply::error("ERR value is not an integer or out of range"),
        })),
        Command::Info(sections) => reply::bulk(info::info(server, &sections)),
        Command::Role => info::role(server),
        Command::Replconf(args) => replconf(session, &args),
        Command::Flsync if primary => return Next::Replicate,
        Command::Flsync => reply::error("ERR FLSYNC is served by primaries only"),
        Command::Replicaof(None) => {
            server.promote(0);
            reply::ok()
        }
        Command::Replicaof(Some((host, port))) => replicaof(server, &host, &port),
        Command::Lie(on) => {
            server.liar.set(on, &server.name);
            reply::ok()
        }
        Command::QFetch(_) | Command::QStore(..) => {
            reply::error("ERR QFETCH and QSTORE are served by nodes in --mode quorum only")
        }
        Command::Gossip(_) => reply::error("ERR GOSSIP is served by nodes in --mode gossip only"),
        Command::Quit => return Next::Close(reply::ok()),
    };
    Next::Reply(reply.into())
}

/// The reply to a write, or why it was refused (a key of the other kind, or a log that refused
/// it): either way the write was not applied.
fn logged(result: Result<Reply, impl Into<Refused>>) -> Reply {
    result.unwrap_or_else(|e| match e.into() {
        Refused::WrongType(e) => reply::error(e),
        Refused::Log(e) => e.reply(),
    })
}

/// HELLO: switches the connection to the protocol asked for (2 or 3; none keeps the current one)
/// and answers, in it, with the node's description as a map.
fn hello(server: &Server, session: &mut Session, version: Option<Bytes>) -> Response {
    match version.as_deref() {
        None => {}
        Some(b"2") => session.protocol = Protocol::Resp2,
        Some(b"3") => session.protocol = Protocol::Resp3,
        Some(v) if std::str::from_utf8(v).is_ok_and(|v| v.parse::<u8>().is_ok()) => {
            return reply::error(CommandError::NoProto).into()
        }
        Some(_) => {
            return reply::error("ERR Protocol version is not an integer or out of range").into()
        }
    }
    info::hello(server, session.id, session.protocol)
}

/// CLIENT: enough for clients' connection setup (`redis` sends SETINFO on connect).
fn client(session: &mut Session, sub: &[u8], args: &[Bytes]) -> Reply {
    let name = String::from_utf8_lossy(sub).to_ascii_lowercase();
    let arity_ok = match name.as_str() {
        "setinfo" => args.len() == 2,
        "setname" => args.len() == 1,
        "getname" | "id" | "info" => args.is_empty(),
        _ => true,
    };
    if !arity_ok {
        return reply::error(CommandError::WrongArity(format!("client|{name}")));
    }
    match name.as_str() {
        "setinfo" => reply::ok(),
        "setname" => {
            session.name = Some(args[0].clone()).filter(|n| !n.is_empty());
            reply::ok()
        }
        "getname" => session.name.clone().map_or(Reply::Null, reply::bulk),
        "id" => Reply::Integer(i64::try_from(session.id).unwrap_or(i64::MAX)),
        "info" => {
            let name = session.name.as_deref().unwrap_or_default();
            reply::bulk(format!(
                "id={} name={}\n",
                session.id,
                String::from_utf8_lossy(name)
            ))
        }
        _ => reply::error(format!(
            "ERR unknown subcommand '{}'. Try CLIENT HELP.",
            String::from_utf8_lossy(sub)
        )),
    }
}

/// REPLICAOF host port: follow that primary (a primary is demoted and resyncs from it).
fn replicaof(server: &Server, host: &[u8], port: &[u8]) -> Reply {
    let port = std::str::from_utf8(port).ok().and_then(|p| p.parse().ok());
    let (Ok(host), Some(port)) = (std::str::from_utf8(host), port) else {
        return reply::error("ERR Invalid master port");
    };
    let epoch = server.role().epoch();
    match server.follow(Upstream::new(host, port, epoch)) {
        true => reply::ok(),
        false => reply::simple("OK Already connected to specified master"),
    }
}

/// REPLCONF: a replica announcing its port (ACKs arrive on the link, not here).
fn replconf(session: &mut Session, args: &[Bytes]) -> Reply {
    let pairs = args.chunks_exact(2);
    if !pairs.remainder().is_empty() {
        return reply::error("ERR syntax error");
    }
    for pair in pairs {
        let (option, value) = (&pair[0], &pair[1]);
        if option.eq_ignore_ascii_case(b"listening-port") {
            let port = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
            let Some(port) = port else {
                return reply::error("ERR value is not a valid port");
            };
            session.listening_port = Some(port);
        }
    }
    reply::ok()
}
