//! All the proxies of a cluster, one per directed link, and partitions applied to them as grudges.
//!
//! ```text
//!  grudge {n2: {n1}}  (n2 drops n1's packets)
//!
//!  n1 ──► n2   cut        n1's requests would vanish at n2
//!  n2 ──► n1   half-open  n2's requests arrive, n1's replies vanish at n2
//!  n1 ◄─► n3, n2 ◄─► n3   healthy
//! ```

use super::link::{LinkProxy, LinkStats};
use super::{seed, LinkFaults, ProxyError};
use nemesis::Grudge;
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// All proxies of a cluster, keyed by (from, to).
#[derive(Debug)]
pub struct ProxyMesh {
    links: BTreeMap<(String, String), LinkProxy>,
}

impl ProxyMesh {
    /// Starts a healthy proxy for every `(from, to, to's real address)`; each link's jitter and
    /// loss follow its own seed, derived from `seed` and the link's name.
    pub async fn start(
        links: &[(String, String, SocketAddr)],
        seed: u64,
    ) -> Result<ProxyMesh, ProxyError> {
        let mut mesh = ProxyMesh {
            links: BTreeMap::new(),
        };
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

    /// Where `from` should connect to reach `to`.
    pub fn addr(&self, from: &str, to: &str) -> Option<SocketAddr> {
        self.link(from, to).map(LinkProxy::addr)
    }

    /// The proxy of link `from → to`.
    pub fn link(&self, from: &str, to: &str) -> Option<&LinkProxy> {
        self.links.get(&(from.to_string(), to.to_string()))
    }

    /// Every link, ordered by (from, to).
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
    }

    /// Returns every link to health, clearing all faults, not only partitions.
    pub fn heal(&self) {
        for link in self.links.values() {
            link.modify(|f| *f = LinkFaults::default());
        }
    }

    /// Shuts every link down and returns their final traffic.
    pub async fn shutdown(self) -> BTreeMap<(String, String), LinkStats> {
        let mut stats = BTreeMap::new();
        for (key, link) in self.links {
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
            let mut cut = TcpStream::connect(mesh.addr("n1", "n2").unwrap())
                .await
                .unwrap();
            let mut ok = TcpStream::connect(mesh.addr("n1", "n3").unwrap())
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
            assert_eq!(mesh.addr("b", "a"), None);
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
            let addrs: Vec<SocketAddr> = mesh.links().map(LinkProxy::addr).collect();
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
}
