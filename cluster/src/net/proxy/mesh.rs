//! All the proxies of a cluster, one per directed link, and partitions applied to them as grudges.
//! Links have listeners of their own ([`ProxyMesh::start`]), or sit behind fronts, one per node
//! address, that tell who connected ([`ProxyMesh::with_fronts`], `super::front`).
//!
//! ```text
//!  grudge {n2: {n1}}  (n2 drops n1's packets)
//!
//!  n1 ──► n2   cut        n1's requests would vanish at n2
//!  n2 ──► n1   half-open  n2's requests arrive, n1's replies vanish at n2
//!  n1 ◄─► n3, n2 ◄─► n3   healthy
//! ```

use super::front::{Front, Identify, Routes};
use super::link::LinkProxy;
use super::stats::LinkStats;
use super::{seed, LinkFaults, ProxyError};
use crate::net::in_force::FaultsInForce;
use nemesis::{Grudge, LinkFault};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

/// The name of the pseudo-node that connections of unknown source come from.
pub const UNKNOWN: &str = "(unknown)";

/// The name of faultline's own side, whose connections are never faulted.
pub const CONTROL: &str = "(control)";

/// All proxies of a cluster, keyed by (from, to).
#[derive(Debug)]
pub struct ProxyMesh {
    links: BTreeMap<(String, String), LinkProxy>,
    /// With fronts: the fronts, one per node address.
    fronts: Vec<Front>,
    /// With fronts: per node, the link its connections of unknown source take.
    unknown: BTreeMap<String, LinkProxy>,
    /// With fronts: the link faultline's own connections take.
    control: Option<LinkProxy>,
    /// With fronts: how they tell who connected.
    identify: Option<Identify>,
}

impl ProxyMesh {
    /// Starts a healthy proxy for every `(from, to, to's real address)`; each link's jitter and
    /// loss follow its own seed, derived from `seed` and the link's name.
    pub async fn start(
        links: &[(String, String, SocketAddr)],
        seed: u64,
    ) -> Result<ProxyMesh, ProxyError> {
        let mut mesh = ProxyMesh::empty();
        for (from, to, target) in links {
            let key = (from.clone(), to.clone());
            let started = if mesh.links.contains_key(&key) {
                Err(ProxyError::DuplicateLink {
                    from: from.clone(),
                    to: to.clone(),
                })
            } else {
                LinkProxy::start(from, to, *target, seed::for_link(seed, from, to)).await
            };
            match started {
                Ok(link) => {
                    mesh.links.insert(key, link);
                }
                Err(e) => {
                    mesh.shutdown().await;
                    return Err(e);
                }
            }
        }
        Ok(mesh)
    }

    fn empty() -> ProxyMesh {
        ProxyMesh {
            links: BTreeMap::new(),
            fronts: Vec::new(),
            unknown: BTreeMap::new(),
            control: None,
            identify: None,
        }
    }

    /// Starts a healthy link for every ordered pair of `nodes`, behind a front for every
    /// `(node, its real address)` in `addrs`; fronts tell who connected as `identify` says.
    pub async fn with_fronts(
        nodes: &[String],
        addrs: &[(String, SocketAddr)],
        identify: Identify,
        seed: u64,
    ) -> Result<ProxyMesh, ProxyError> {
        let mut mesh = ProxyMesh::empty();
        for from in nodes {
            for to in nodes.iter().filter(|to| *to != from) {
                let link_seed = seed::for_link(seed, from, to);
                let link = LinkProxy::behind_fronts(from, to, link_seed);
                mesh.links.insert((from.clone(), to.clone()), link);
            }
        }
        for to in nodes {
            let link = LinkProxy::behind_fronts(UNKNOWN, to, seed::for_link(seed, UNKNOWN, to));
            mesh.unknown.insert(to.clone(), link);
        }
        let control = LinkProxy::behind_fronts(CONTROL, "*", 0);
        mesh.identify = Some(identify.clone());
        for (to, target) in addrs {
            let Some(unknown) = mesh.unknown.get(to) else {
                mesh.shutdown().await;
                return Err(ProxyError::UnknownLink {
                    from: UNKNOWN.to_string(),
                    to: to.clone(),
                });
            };
            let routes = Routes {
                to: to.clone(),
                links: nodes
                    .iter()
                    .filter_map(|from| Some((from.clone(), mesh.link(from, to)?.handle())))
                    .collect(),
                unknown: unknown.handle(),
                control: control.handle(),
            };
            match Front::start(routes, *target, identify.clone()).await {
                Ok(front) => mesh.fronts.push(front),
                Err(e) => {
                    mesh.control = Some(control);
                    mesh.shutdown().await;
                    return Err(e);
                }
            }
        }
        mesh.control = Some(control);
        Ok(mesh)
    }

    /// Where `from` should connect to reach `to`, whose real address is `direct`: the link's own
    /// listener, or the front before `direct`.
    pub fn addr(&self, from: &str, to: &str, direct: SocketAddr) -> Option<SocketAddr> {
        self.link(from, to)
            .and_then(LinkProxy::addr)
            .or_else(|| self.front_for(direct))
    }

    /// The front before the real address `direct`, if there is one.
    pub fn front_for(&self, direct: SocketAddr) -> Option<SocketAddr> {
        self.fronts
            .iter()
            .find(|f| f.target() == direct)
            .map(Front::addr)
    }

    /// The fronts, in the order they were laid out.
    pub fn fronts(&self) -> &[Front] {
        &self.fronts
    }

    /// The link connections to `to` of unknown source take (with fronts).
    pub fn unknown_link(&self, to: &str) -> Option<&LinkProxy> {
        self.unknown.get(to)
    }

    /// Teaches fronts that tell etcd members by their `X-Server-From` header which member id is
    /// which node, then resets the connections they could not attribute until now, so that their
    /// senders reconnect and are told apart. Other fronts ignore it.
    pub async fn learn_members(&self, ids: impl IntoIterator<Item = (u64, String)>) {
        let Some(Identify::ServerFrom(known)) = &self.identify else {
            return;
        };
        known.write().unwrap_or_else(|e| e.into_inner()).extend(ids);
        for link in self.unknown.values() {
            link.modify(|f| f.reset = true);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while self.unknown.values().any(|l| l.stats().open > 0)
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        for link in self.unknown.values() {
            link.modify(|f| f.reset = false);
        }
    }

    /// The proxy of link `from → to`.
    pub fn link(&self, from: &str, to: &str) -> Option<&LinkProxy> {
        self.links.get(&(from.to_string(), to.to_string()))
    }

    /// Every link between two nodes, ordered by (from, to).
    pub fn links(&self) -> impl Iterator<Item = &LinkProxy> {
        self.links.values()
    }

    /// Replaces the faults of link `from → to`.
    pub fn set(&self, from: &str, to: &str, faults: LinkFaults) -> Result<(), ProxyError> {
        self.link(from, to)
            .ok_or_else(|| ProxyError::UnknownLink {
                from: from.to_string(),
                to: to.to_string(),
            })?
            .set(faults)
    }

    /// Cuts links as `grudge` says, replacing any earlier partition and keeping other faults:
    /// link `a → b` is cut if `b` drops `a`, and half-open if `a` drops `b` (its replies vanish).
    pub fn partition(&self, grudge: &Grudge) {
        for ((from, to), link) in &self.links {
            let cut = !grudge.allows(from, to);
            let half_open = !cut && !grudge.allows(to, from);
            link.modify(|f| {
                f.cut = cut;
                f.half_open = half_open;
            });
        }
        // Connections of unknown source into `to` are cut as soon as the grudge keeps any node
        // from connecting to it: the sender could be that node, and Go's keep-alive lets a
        // connection opened by an anonymous request (/raft/probing) later carry that node's Raft
        // messages. Only the partition decides: a degradation standing on a link (a blackhole
        // also holds connections) is not a cut, and is kept on the unknown link as it is.
        for (to, link) in &self.unknown {
            let touched = self
                .links
                .keys()
                .filter(|(_, t)| t == to)
                .any(|(from, to)| !grudge.allows(from, to) || !grudge.allows(to, from));
            link.modify(|f| f.cut = touched);
        }
    }

    /// Degrades the links into `nodes` (and their connections of unknown source) as `fault`
    /// says, keeping whatever cut a partition made.
    pub fn degrade(&self, nodes: &[String], fault: &LinkFault) -> Result<(), ProxyError> {
        let into = self
            .links
            .values()
            .chain(self.unknown.values())
            .filter(|l| nodes.iter().any(|n| n == l.to()));
        for link in into {
            let faults = LinkFaults {
                cut: link.faults().cut,
                link: fault.clone(),
            };
            link.set(faults)?;
        }
        Ok(())
    }

    /// The cut and the degradations standing now, read back from the links between nodes.
    pub fn in_force(&self) -> FaultsInForce {
        let mut in_force = FaultsInForce::default();
        for ((from, to), link) in &self.links {
            let faults = link.faults();
            if faults.cut {
                let drops = in_force.grudge.0.entry(to.clone()).or_default();
                drops.insert(from.clone());
            }
            if faults.link != LinkFault::default() {
                in_force.degraded.insert(to.clone(), faults.link.clone());
            }
        }
        in_force
    }

    /// Returns every link to health, clearing all faults, not only partitions.
    pub fn heal(&self) {
        for link in self.links.values().chain(self.unknown.values()) {
            link.modify(|f| *f = LinkFaults::default());
        }
    }

    /// Traffic so far on every link: between nodes, of unknown source and the control side's,
    /// as (from, to, traffic).
    pub fn traffic(&self) -> Vec<(String, String, LinkStats)> {
        let others = self.unknown.values().chain(&self.control);
        self.links
            .values()
            .chain(others)
            .map(|l| (l.from().to_string(), l.to().to_string(), l.stats()))
            .collect()
    }

    /// Shuts every front and link down and returns the links' final traffic.
    pub async fn shutdown(self) -> BTreeMap<(String, String), LinkStats> {
        for front in self.fronts {
            front.shutdown().await;
        }
        let mut stats = BTreeMap::new();
        let others = self.unknown.into_values().chain(self.control);
        for link in self.links.into_values().chain(others) {
            let key = (link.from().to_string(), link.to().to_string());
            stats.insert(key, link.shutdown().await);
        }
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_target::{Behaviour, Target};
    use super::*;
    use nemesis::LinkFault;
    use std::collections::BTreeSet;
    use std::io::ErrorKind;
    use std::sync::Arc;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio::time::timeout;

    const NODES: [&str; 3] = ["n1", "n2", "n3"];

    /// A mesh of every directed link between three echo targets.
    async fn three_nodes() -> (BTreeMap<&'static str, Target>, ProxyMesh) {
        let mut targets = BTreeMap::new();
        for n in NODES {
            targets.insert(n, Target::start(Behaviour::Echo).await);
        }
        let mut links = Vec::new();
        for from in NODES {
            for to in NODES.iter().filter(|to| **to != from) {
                links.push((from.to_string(), to.to_string(), targets[to].addr));
            }
        }
        (targets, ProxyMesh::start(&links, 9).await.unwrap())
    }

    /// (from, to, cut, half_open) for every link.
    fn cuts(mesh: &ProxyMesh) -> Vec<(String, String, bool, bool)> {
        mesh.links()
            .map(|l| {
                let f = l.faults();
                (l.from().to_string(), l.to().to_string(), f.cut, f.half_open)
            })
            .collect()
    }

    fn row(from: &str, to: &str, cut: bool, half_open: bool) -> (String, String, bool, bool) {
        (from.to_string(), to.to_string(), cut, half_open)
    }

    #[tokio::test]
    async fn partition_cuts_exactly_the_grudged_links() {
        timeout(Duration::from_secs(8), async {
            let (targets, mesh) = three_nodes().await;
            let slow = LinkFaults::from(LinkFault {
                latency: Duration::from_millis(5),
                ..LinkFault::default()
            });
            mesh.set("n1", "n3", slow.clone()).unwrap();
            // n2 drops n1's packets, n3 drops n2's.
            let grudge = Grudge(BTreeMap::from([
                ("n2".to_string(), BTreeSet::from(["n1".to_string()])),
                ("n3".to_string(), BTreeSet::from(["n2".to_string()])),
            ]));
            mesh.partition(&grudge);
            assert_eq!(
                cuts(&mesh),
                vec![
                    row("n1", "n2", true, false),
                    row("n1", "n3", false, false),
                    row("n2", "n1", false, true),
                    row("n2", "n3", true, false),
                    row("n3", "n1", false, false),
                    row("n3", "n2", false, true),
                ]
            );
            assert_eq!(
                mesh.link("n1", "n3").unwrap().faults().latency,
                slow.latency
            );

            // The cut link holds a new connection; a healthy one passes.
            let mut cut = TcpStream::connect(mesh.link("n1", "n2").unwrap().addr().unwrap())
                .await
                .unwrap();
            let mut ok = TcpStream::connect(mesh.link("n1", "n3").unwrap().addr().unwrap())
                .await
                .unwrap();
            cut.write_all(b"x").await.unwrap();
            ok.write_all(b"y").await.unwrap();
            let mut b = [0u8; 1];
            ok.read_exact(&mut b).await.unwrap();
            assert!(timeout(Duration::from_millis(200), cut.read(&mut b))
                .await
                .is_err());
            assert_eq!((targets["n2"].accepted(), targets["n3"].accepted()), (0, 1));

            // A new partition replaces the old one; heal clears everything.
            mesh.partition(&Grudge::default());
            assert!(cuts(&mesh).iter().all(|(_, _, c, h)| !c && !h));
            assert_eq!(mesh.link("n1", "n3").unwrap().faults(), slow);
            cut.read_exact(&mut b).await.unwrap();
            assert_eq!(&b, b"x");
            mesh.heal();
            assert!(mesh.links().all(|l| l.faults() == LinkFaults::default()));
        })
        .await
        .expect("test exceeded its time bound")
    }

    #[tokio::test]
    async fn unknown_and_duplicate_links_are_errors() {
        timeout(Duration::from_secs(5), async {
            let target = Target::start(Behaviour::Echo).await;
            let link = |f: &str, t: &str| (f.to_string(), t.to_string(), target.addr);
            let dup = ProxyMesh::start(&[link("a", "b"), link("a", "b")], 0).await;
            assert_eq!(dup.unwrap_err().to_string(), "link a → b is listed twice");
            let mesh = ProxyMesh::start(&[link("a", "b")], 0).await.unwrap();
            assert!(mesh.link("b", "a").is_none());
            let e = mesh.set("b", "a", LinkFaults::default()).unwrap_err();
            assert_eq!(e.to_string(), "no proxied link b → a");
            mesh.shutdown().await;
        })
        .await
        .expect("test exceeded its time bound")
    }

    #[tokio::test]
    async fn shutdown_closes_every_link() {
        timeout(Duration::from_secs(5), async {
            let (_targets, mesh) = three_nodes().await;
            let addrs: Vec<SocketAddr> = mesh.links().filter_map(LinkProxy::addr).collect();
            let mut s = TcpStream::connect(addrs[0]).await.unwrap();
            s.write_all(b"hi").await.unwrap();
            let mut b = [0u8; 2];
            s.read_exact(&mut b).await.unwrap();
            let stats = mesh.shutdown().await;
            assert_eq!(stats.len(), 6);
            assert!(stats.values().all(|s| s.open == 0));
            assert_eq!(
                stats[&("n1".to_string(), "n2".to_string())].forward_bytes,
                2
            );
            for addr in addrs {
                let e = TcpStream::connect(addr).await.unwrap_err();
                assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
            }
        })
        .await
        .expect("test exceeded its time bound")
    }

    /// Three echo targets behind fronts, and the grudge "n1 is cut off from n2 and n3".
    async fn fronted(identify: Identify) -> (BTreeMap<&'static str, Target>, ProxyMesh) {
        let mut targets = BTreeMap::new();
        let mut addrs = Vec::new();
        for n in NODES {
            let t = Target::start(Behaviour::Echo).await;
            addrs.push((n.to_string(), t.addr));
            targets.insert(n, t);
        }
        let nodes: Vec<String> = NODES.iter().map(|n| n.to_string()).collect();
        let mesh = ProxyMesh::with_fronts(&nodes, &addrs, identify, 3)
            .await
            .unwrap();
        (targets, mesh)
    }

    fn isolate_n1() -> Grudge {
        let all = |ns: &[&str]| ns.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>();
        Grudge(BTreeMap::from([
            ("n1".to_string(), all(&["n2", "n3"])),
            ("n2".to_string(), all(&["n1"])),
            ("n3".to_string(), all(&["n1"])),
        ]))
    }

    /// Connects to `to` from the loopback address `from`.
    async fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket
            .bind(SocketAddr::new(from.parse().unwrap(), 0))
            .unwrap();
        socket.connect(to).await.unwrap()
    }

    /// Whether `data` comes back from the echo target within a while.
    async fn echoes(s: &mut TcpStream, data: &[u8]) -> bool {
        s.write_all(data).await.unwrap();
        let mut back = vec![0u8; data.len()];
        match timeout(Duration::from_millis(300), s.read_exact(&mut back)).await {
            Ok(r) => {
                r.unwrap();
                back == data
            }
            Err(_) => false,
        }
    }

    #[tokio::test]
    async fn fronts_tell_nodes_by_source_address_and_cut_only_their_links() {
        timeout(Duration::from_secs(10), async {
            let sources = (1..=3)
                .map(|i| {
                    (
                        format!("127.0.9.{}", 10 + i).parse().unwrap(),
                        format!("n{i}"),
                    )
                })
                .collect();
            let (targets, mesh) = fronted(Identify::SourceIp(Arc::new(sources))).await;
            let front = mesh.front_for(targets["n1"].addr).unwrap();
            assert_eq!(mesh.addr("n2", "n1", targets["n1"].addr), Some(front));
            let mut live = connect_from("127.0.9.12", front).await;
            assert!(echoes(&mut live, b"before").await);
            assert_eq!(mesh.link("n2", "n1").unwrap().stats().accepted, 1);

            mesh.partition(&isolate_n1());
            // n2's live connection and a new one are held; nothing new reaches n1 from n2.
            assert!(!echoes(&mut live, b"during").await);
            let mut new = connect_from("127.0.9.12", front).await;
            assert!(!echoes(&mut new, b"new").await);
            assert_eq!(targets["n1"].accepted(), 1);
            // The control side (127.0.0.1) and a node's own daemons are never cut.
            let mut control = TcpStream::connect(front).await.unwrap();
            assert!(echoes(&mut control, b"control").await);
            let mut own = connect_from("127.0.9.11", front).await;
            assert!(echoes(&mut own, b"own").await);
            // n2 still reaches n3.
            let mut side =
                connect_from("127.0.9.12", mesh.front_for(targets["n3"].addr).unwrap()).await;
            assert!(echoes(&mut side, b"n3").await);
            assert_eq!(mesh.link("n2", "n3").unwrap().stats().accepted, 1);

            mesh.heal();
            let mut b = [0u8; 6];
            live.read_exact(&mut b).await.unwrap();
            assert_eq!(&b, b"during");
            let mut b = [0u8; 3];
            new.read_exact(&mut b).await.unwrap();
            assert_eq!(&b, b"new");
            let stats = mesh.shutdown().await;
            assert_eq!(stats[&(CONTROL.to_string(), "*".to_string())].accepted, 2);
        })
        .await
        .expect("test exceeded its time bound")
    }

    fn request(from: Option<&str>) -> Vec<u8> {
        let header = from.map_or(String::new(), |id| format!("X-Server-From: {id}\r\n"));
        format!("GET /raft/stream/message/1 HTTP/1.1\r\nHost: x\r\n{header}\r\n").into_bytes()
    }

    #[tokio::test]
    async fn a_degradation_standing_is_no_cut_for_connections_of_unknown_source() {
        timeout(Duration::from_secs(10), async {
            let (_targets, mesh) = fronted(Identify::ServerFrom(Default::default())).await;
            let blackhole = LinkFault {
                blackhole: true,
                ..LinkFault::default()
            };
            mesh.degrade(&["n2".to_string()], &blackhole).unwrap();
            // A partition that keeps no node from any other, while the blackhole stands.
            mesh.partition(&Grudge(BTreeMap::new()));
            let unknown = mesh.unknown_link("n2").unwrap().faults();
            assert!(!unknown.cut, "{unknown:?}");
            assert!(unknown.link.blackhole, "the degradation stays: {unknown:?}");
            // A real partition still cuts them, into n1 and into the nodes n1 may not reach.
            mesh.partition(&isolate_n1());
            for n in NODES {
                assert!(mesh.unknown_link(n).unwrap().faults().cut, "{n}");
            }
            mesh.shutdown().await;
        })
        .await
        .expect("test exceeded its time bound")
    }

    #[tokio::test]
    async fn fronts_tell_etcd_members_by_header_once_learned() {
        timeout(Duration::from_secs(10), async {
            let (targets, mesh) = fronted(Identify::ServerFrom(Default::default())).await;
            let front = |n: &str| mesh.front_for(targets[n].addr).unwrap();
            // Before the ids are learned, a member's connection is of unknown source.
            let mut early = TcpStream::connect(front("n1")).await.unwrap();
            assert!(echoes(&mut early, &request(Some("b2"))).await);
            assert_eq!(mesh.unknown_link("n1").unwrap().stats().accepted, 1);
            // Learning resets it, so that its sender reconnects and is told apart.
            mesh.learn_members([
                (0xa1, "n1".to_string()),
                (0xb2, "n2".to_string()),
                (0xc3, "n3".to_string()),
            ])
            .await;
            let mut b = [0u8; 1];
            assert!(early.read(&mut b).await.is_err(), "reset");
            let mut n2 = TcpStream::connect(front("n1")).await.unwrap();
            assert!(echoes(&mut n2, &request(Some("b2"))).await);
            assert_eq!(mesh.link("n2", "n1").unwrap().stats().accepted, 1);

            mesh.partition(&isolate_n1());
            // Cut: n2's live stream is held, and so is a new request from n2 to n1 or n1 to n3.
            assert!(!echoes(&mut n2, b"more").await);
            let mut again = TcpStream::connect(front("n1")).await.unwrap();
            assert!(!echoes(&mut again, &request(Some("b2"))).await);
            let mut out = TcpStream::connect(front("n3")).await.unwrap();
            assert!(!echoes(&mut out, &request(Some("a1"))).await);
            // n3 still reaches n2.
            let mut ok = TcpStream::connect(front("n2")).await.unwrap();
            assert!(echoes(&mut ok, &request(Some("c3"))).await);
            // Unknown source: held into n1 and into n2 (cut from n1, so the sender could be n1).
            let mut probe = TcpStream::connect(front("n1")).await.unwrap();
            assert!(!echoes(&mut probe, &request(None)).await);
            let mut probe2 = TcpStream::connect(front("n2")).await.unwrap();
            assert!(!echoes(&mut probe2, &request(None)).await);
            // Healed, it passes; a head too long to be read is of unknown source too, and passed
            // on whole.
            mesh.heal();
            let mut probe3 = TcpStream::connect(front("n2")).await.unwrap();
            assert!(echoes(&mut probe3, &request(None)).await);
            let mut long = TcpStream::connect(front("n2")).await.unwrap();
            let garbage = vec![b'x'; super::super::front::HEAD_LIMIT + 100];
            let (mut r, mut w) = long.split();
            let mut back = vec![0u8; garbage.len()];
            let (wrote, read) = tokio::join!(w.write_all(&garbage), r.read_exact(&mut back));
            wrote.unwrap();
            read.unwrap();
            assert!(back == garbage);
            assert_eq!(mesh.unknown_link("n2").unwrap().stats().accepted, 3);
            mesh.shutdown().await;
        })
        .await
        .expect("test exceeded its time bound")
    }
}
