//! A front: one listener per destination address (a node's port), for systems that hand the same
//! address to everyone — Sentinel telling replicas and clients where the primary is, replicas
//! announcing themselves, etcd members advertising one peer URL — so a listener per directed pair
//! cannot be configured into them. The front tells who connected, then hands the connection to
//! that link's fault pipeline (`LinkProxy`), with whatever it read to find out:
//!
//! ```text
//!                      front of n1:6379            link n2 → n1 (faults)
//!  n2 (127.0.K.12) ──► accept, identify ─► n2 ─► hold / delay / pace … ─► n1's real port
//!  faultline (127.0.0.1) ──►       └──► control: never faulted ─────────► n1's real port
//! ```
//!
//! Who connected ([`Identify`]):
//! - **By source address** (Redis, Sentinel): each node's daemons bind their outgoing connections
//!   to a loopback address of their own (`bind-source-addr`), so the peer address names the node.
//!   Any other source — 127.0.0.1: faultline's clients and probes — is the control side, which
//!   partitions never cut (Jepsen's control node keeps its access to every node).
//! - **By etcd's `X-Server-From` header**: every peer request etcd sends (Raft streams, pipeline
//!   and snapshot POSTs) names its sender's member id. The front reads the request head of each
//!   new connection (at most [`HEAD_LIMIT`] bytes within [`HEAD_WAIT`]) and maps the id to a node
//!   with what the mesh learned from the cluster's member list. A connection it cannot attribute —
//!   no header (`/version`, `/raft/probing`), an id not learned yet, a head too long, garbage — is
//!   of **unknown source**: it goes through the destination's unknown link, which is cut as soon as
//!   any node may not reach the destination (the sender could be that node; and Go's keep-alive
//!   lets a connection opened by an anonymous probe carry Raft messages later), and gets the
//!   destination's link faults otherwise. Connections of unknown source that exist when the ids
//!   are learned are reset, so that their senders reconnect and are told apart.

use super::link::{stopped, Handoff, LinkHandle};
use super::ProxyError;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// The most of a request head a front reads to find its sender.
pub const HEAD_LIMIT: usize = 16 * 1024;

/// How long a front waits for a request head before calling the connection's source unknown.
pub const HEAD_WAIT: Duration = Duration::from_secs(1);

/// The header etcd's peers name their sender in, as a member id in hex.
const SERVER_FROM: &str = "x-server-from";

/// How a front tells which node opened a connection.
#[derive(Debug, Clone)]
pub enum Identify {
    /// By the connection's source address: node by address; any other address is the control side.
    SourceIp(Arc<HashMap<IpAddr, String>>),
    /// By etcd's `X-Server-From` header: node by member id, learned once the cluster runs.
    ServerFrom(Arc<RwLock<HashMap<u64, String>>>),
}

/// Who opened a connection, as a front tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// This node.
    Node(String),
    /// faultline itself (clients, probes): never faulted.
    Control,
    /// Some node, but which one cannot be told.
    Unknown,
}

impl Identify {
    /// Tells who opened `stream`, connected from `peer`; returns the bytes it read to find out.
    pub async fn source<R: AsyncRead + Unpin>(
        &self,
        stream: &mut R,
        peer: IpAddr,
    ) -> (Source, Vec<u8>) {
        match self {
            Identify::SourceIp(nodes) => {
                let source = nodes
                    .get(&peer)
                    .map_or(Source::Control, |n| Source::Node(n.clone()));
                (source, Vec::new())
            }
            Identify::ServerFrom(ids) => {
                let head = read_head(stream, HEAD_LIMIT, HEAD_WAIT).await;
                let known = server_from(&head).and_then(|id| {
                    let ids = ids.read().unwrap_or_else(|e| e.into_inner());
                    ids.get(&id).cloned()
                });
                (known.map_or(Source::Unknown, Source::Node), head)
            }
        }
    }
}

/// Reads from `stream` until the end of an HTTP request head (a blank line), `limit` bytes, its
/// end, an error or `wait`, whichever comes first; returns what it read.
pub async fn read_head<R: AsyncRead + Unpin>(
    stream: &mut R,
    limit: usize,
    wait: Duration,
) -> Vec<u8> {
    let mut head = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    let mut buf = vec![0u8; limit.min(4096)];
    while head.len() < limit && !head_complete(&head) {
        let want = buf.len().min(limit - head.len());
        match tokio::time::timeout_at(deadline, stream.read(&mut buf[..want])).await {
            Ok(Ok(n)) if n > 0 => head.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    head
}

fn head_complete(head: &[u8]) -> bool {
    head.windows(4).any(|w| w == b"\r\n\r\n")
}

/// The member id in a request head's `X-Server-From` header (any case), if it has one.
pub fn server_from(head: &[u8]) -> Option<u64> {
    let end = head.windows(4).position(|w| w == b"\r\n\r\n")?;
    let text = std::str::from_utf8(&head[..end]).ok()?;
    // The first line is the request line; a header line is `name: value`.
    text.split("\r\n").skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        if !name.trim().eq_ignore_ascii_case(SERVER_FROM) {
            return None;
        }
        u64::from_str_radix(value.trim(), 16).ok()
    })
}

/// Where a front sends connections, by their source.
#[derive(Debug, Clone)]
pub(super) struct Routes {
    /// The node the front stands before.
    pub(super) to: String,
    /// Link `from → to` by `from`.
    pub(super) links: HashMap<String, LinkHandle>,
    /// Connections to `to` of unknown source.
    pub(super) unknown: LinkHandle,
    /// faultline's own connections, and a node's to itself: never faulted.
    pub(super) control: LinkHandle,
}

impl Routes {
    fn route(&self, source: &Source) -> &LinkHandle {
        match source {
            Source::Node(from) if *from != self.to => self.links.get(from).unwrap_or(&self.unknown),
            Source::Node(_) | Source::Control => &self.control,
            Source::Unknown => &self.unknown,
        }
    }
}

/// One front: a listener for one of node `to`'s addresses.
#[derive(Debug)]
pub struct Front {
    to: String,
    addr: SocketAddr,
    target: SocketAddr,
    stop: watch::Sender<bool>,
    accepting: JoinHandle<()>,
}

impl Front {
    /// Starts a front on a free loopback port for `target`, one of `routes.to`'s addresses.
    pub(super) async fn start(
        routes: Routes,
        target: SocketAddr,
        identify: Identify,
    ) -> Result<Front, ProxyError> {
        let bind = |source| ProxyError::Bind {
            from: "(front)".to_string(),
            to: routes.to.clone(),
            source,
        };
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(bind)?;
        let addr = listener.local_addr().map_err(bind)?;
        let (stop, stop_rx) = watch::channel(false);
        let to = routes.to.clone();
        let accepting = tokio::spawn(accept(
            listener,
            Arc::new(routes),
            target,
            identify,
            stop_rx,
        ));
        Ok(Front {
            to,
            addr,
            target,
            stop,
            accepting,
        })
    }

    /// The node it stands before.
    pub fn to(&self) -> &str {
        &self.to
    }

    /// Where everyone is told the node's address is.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The node's real address behind it.
    pub fn target(&self) -> SocketAddr {
        self.target
    }

    /// Closes the listener; connections being identified are closed, identified ones belong to
    /// their links from then on.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        if let Err(e) = self.accepting.await {
            tracing::warn!("front of {} ended badly: {e}", self.to);
        }
    }
}

async fn accept(
    listener: TcpListener,
    routes: Arc<Routes>,
    target: SocketAddr,
    identify: Identify,
    mut stop: watch::Receiver<bool>,
) {
    // Identifying may wait for a request head: one task per connection, aborted on shutdown.
    let mut identifying = JoinSet::new();
    loop {
        tokio::select! {
            () = stopped(&mut stop) => break,
            r = listener.accept() => match r {
                Ok((client, peer)) => {
                    let (routes, identify) = (routes.clone(), identify.clone());
                    identifying.spawn(hand_over(client, peer.ip(), target, routes, identify));
                }
                Err(e) => {
                    tracing::warn!("front for {target} cannot accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = identifying.join_next(), if !identifying.is_empty() => {}
        }
    }
    identifying.shutdown().await;
}

async fn hand_over(
    mut client: TcpStream,
    peer: IpAddr,
    target: SocketAddr,
    routes: Arc<Routes>,
    identify: Identify,
) {
    let (source, head) = identify.source(&mut client, peer).await;
    routes.route(&source).hand_over(Handoff {
        client,
        head,
        target,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    const HEAD: &[u8] = b"GET /raft/stream/message/8e9e05c52164694d HTTP/1.1\r\nHost: 127.0.0.1:2380\r\n\
        User-Agent: Go-http-client/1.1\r\nX-Server-From: 91bc3c398fb3c146\r\nX-Raft-To: 8e9e05c52164694d\r\n\r\n";

    #[test]
    fn server_from_reads_the_header_in_any_case() {
        assert_eq!(server_from(HEAD), Some(0x91bc_3c39_8fb3_c146));
        let lower = b"POST /raft HTTP/1.1\r\nx-server-from:  2a \r\nContent-Length: 3\r\n\r\nabc";
        assert_eq!(server_from(lower), Some(0x2a));
    }

    #[test]
    fn server_from_needs_a_whole_head_with_the_header() {
        // Cut before the blank line: the header may still be coming.
        assert_eq!(server_from(&HEAD[..HEAD.len() - 2]), None);
        assert_eq!(
            server_from(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n"),
            None
        );
        assert_eq!(
            server_from(b"GET / HTTP/1.1\r\nX-Server-From: zz\r\n\r\n"),
            None
        );
        assert_eq!(
            server_from(b"\xff\xfe\r\nX-Server-From: 1\xff\r\n\r\n"),
            None
        );
        // In a body, it is not a header.
        assert_eq!(
            server_from(b"POST / HTTP/1.1\r\n\r\nX-Server-From: 1\r\n\r\n"),
            None
        );
    }

    #[tokio::test]
    async fn a_head_split_across_reads_is_read_whole() {
        let (mut a, mut b) = tokio::io::duplex(64);
        let writer = tokio::spawn(async move {
            // Split inside the header's name and again inside the blank line.
            for part in [
                &HEAD[..70],
                &HEAD[70..110],
                &HEAD[110..HEAD.len() - 1],
                &HEAD[HEAD.len() - 1..],
            ] {
                a.write_all(part).await.unwrap();
                tokio::time::sleep(ms(20)).await;
            }
            a.write_all(b"body").await.unwrap();
            a
        });
        let head = read_head(&mut b, HEAD_LIMIT, Duration::from_secs(2)).await;
        assert!(
            head.starts_with(HEAD),
            "{:?}",
            String::from_utf8_lossy(&head)
        );
        assert_eq!(server_from(&head), Some(0x91bc_3c39_8fb3_c146));
        drop(writer.await.unwrap());
    }

    #[tokio::test]
    async fn an_oversized_or_silent_head_is_given_up_on_within_bounds() {
        let (mut a, mut b) = tokio::io::duplex(1 << 20);
        let garbage = vec![b'x'; 40_000];
        a.write_all(&garbage).await.unwrap();
        let head = read_head(&mut b, HEAD_LIMIT, Duration::from_secs(2)).await;
        assert_eq!(head.len(), HEAD_LIMIT, "stops at the limit");
        assert_eq!(server_from(&head), None);

        let (_quiet, mut c) = tokio::io::duplex(64);
        let t0 = tokio::time::Instant::now();
        assert!(read_head(&mut c, HEAD_LIMIT, ms(200)).await.is_empty());
        assert!(t0.elapsed() >= ms(200) && t0.elapsed() < ms(1000));
    }

    #[tokio::test]
    async fn sources_by_address_and_by_header() {
        let by_ip = Identify::SourceIp(Arc::new(HashMap::from([(
            "127.0.9.12".parse().unwrap(),
            "n2".to_string(),
        )])));
        let mut nothing: &[u8] = b"";
        assert_eq!(
            by_ip
                .source(&mut nothing, "127.0.9.12".parse().unwrap())
                .await,
            (Source::Node("n2".into()), Vec::new())
        );
        assert_eq!(
            by_ip
                .source(&mut nothing, Ipv4Addr::LOCALHOST.into())
                .await
                .0,
            Source::Control
        );

        let ids = Arc::new(RwLock::new(HashMap::new()));
        let by_header = Identify::ServerFrom(ids.clone());
        let local = Ipv4Addr::LOCALHOST.into();
        let mut request = HEAD;
        let (source, head) = by_header.source(&mut request, local).await;
        // Not learned yet: unknown, and every byte read is kept for the link.
        assert_eq!((source, head.as_slice()), (Source::Unknown, HEAD));
        ids.write()
            .unwrap()
            .insert(0x91bc_3c39_8fb3_c146, "n3".to_string());
        let mut request = HEAD;
        assert_eq!(
            by_header.source(&mut request, local).await.0,
            Source::Node("n3".into())
        );
        let mut probe: &[u8] = b"GET /version HTTP/1.1\r\n\r\n";
        assert_eq!(by_header.source(&mut probe, local).await.0, Source::Unknown);
    }
}
