//! One directed link's proxy: the link's current faults, the connections it carries, and where
//! they come from — a listener of its own on 127.0.0.1 that `from` connects to instead of `to`,
//! or a front (`super::front`) that accepted a connection for `to`, told that it came from
//! `from`, and handed it over, with the bytes it already read from it.

use super::connection::{self, no_delay};
use super::faults::LinkFaults;
use super::stats::{Counters, LinkStats, OpenGuard};
use super::{seed, ProxyError};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};

/// A connection handed to a link by a front: the accepted socket, the bytes already read from it
/// (passed on first, under the link's faults), and where it goes.
#[derive(Debug)]
pub(super) struct Handoff {
    /// The accepted connection.
    pub(super) client: TcpStream,
    /// Bytes already read from it.
    pub(super) head: Vec<u8>,
    /// The address it is proxied to.
    pub(super) target: SocketAddr,
}

/// Where a front hands connections to one link; dropping it never stops the link.
#[derive(Debug, Clone)]
pub(super) struct LinkHandle(mpsc::UnboundedSender<Handoff>);

impl LinkHandle {
    /// Runs `handoff` through the link's faults; a link that has shut down closes it.
    pub(super) fn hand_over(&self, handoff: Handoff) {
        // A stopped link drops the connection with the message: a FIN, as its shutdown gives.
        let _ = self.0.send(handoff);
    }
}

/// One directed link from node `from` to node `to`.
#[derive(Debug)]
pub struct LinkProxy {
    from: String,
    to: String,
    addr: Option<SocketAddr>,
    handoff: mpsc::UnboundedSender<Handoff>,
    faults: watch::Sender<LinkFaults>,
    stop: watch::Sender<bool>,
    counters: Arc<Counters>,
    accepting: JoinHandle<()>,
}

impl LinkProxy {
    /// Starts a healthy proxy on a free loopback port, forwarding to `target`; `seed` drives its
    /// jitter and loss.
    pub async fn start(
        from: &str,
        to: &str,
        target: SocketAddr,
        seed: u64,
    ) -> Result<LinkProxy, ProxyError> {
        let bind = |source| ProxyError::Bind {
            from: from.to_string(),
            to: to.to_string(),
            source,
        };
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(bind)?;
        let addr = listener.local_addr().map_err(bind)?;
        Ok(LinkProxy::with_listener(
            from,
            to,
            Some((listener, addr, target)),
            seed,
        ))
    }

    /// Starts a healthy link without a listener of its own: it carries only the connections
    /// fronts hand it ([`LinkProxy::handle`]).
    pub(super) fn behind_fronts(from: &str, to: &str, seed: u64) -> LinkProxy {
        LinkProxy::with_listener(from, to, None, seed)
    }

    fn with_listener(
        from: &str,
        to: &str,
        listener: Option<(TcpListener, SocketAddr, SocketAddr)>,
        seed: u64,
    ) -> LinkProxy {
        let addr = listener.as_ref().map(|(_, addr, _)| *addr);
        let listener = listener.map(|(l, _, target)| (l, target));
        let (faults, faults_rx) = watch::channel(LinkFaults::default());
        let (stop, stop_rx) = watch::channel(false);
        let (handoff, handoff_rx) = mpsc::unbounded_channel();
        let counters = Arc::new(Counters::default());
        let accepting = tokio::spawn(accept(
            listener,
            handoff_rx,
            faults_rx,
            stop_rx,
            counters.clone(),
            seed,
        ));
        LinkProxy {
            from: from.to_string(),
            to: to.to_string(),
            addr,
            handoff,
            faults,
            stop,
            counters,
            accepting,
        }
    }

    /// The connecting node.
    pub fn from(&self) -> &str {
        &self.from
    }

    /// The node connected to.
    pub fn to(&self) -> &str {
        &self.to
    }

    /// Where `from` should connect instead of `to`'s real address; `None` for a link behind
    /// fronts, which has no listener of its own.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// Where fronts hand this link connections they accepted from `from` for `to`.
    pub(super) fn handle(&self) -> LinkHandle {
        LinkHandle(self.handoff.clone())
    }

    /// Replaces the link's faults; live connections follow within milliseconds.
    pub fn set(&self, faults: LinkFaults) -> Result<(), ProxyError> {
        faults.validate()?;
        self.faults.send_replace(faults);
        Ok(())
    }

    /// Changes some of the link's faults in place.
    pub(super) fn modify(&self, change: impl FnOnce(&mut LinkFaults)) {
        self.faults.send_modify(change);
    }

    /// The link's current faults.
    pub fn faults(&self) -> LinkFaults {
        self.faults.borrow().clone()
    }

    /// Traffic so far.
    pub fn stats(&self) -> LinkStats {
        self.counters.snapshot()
    }

    /// Closes the listener and every connection (a FIN to both sides, or the kernel's RST where
    /// held bytes were never read), waits for all of the link's tasks to end, and returns the
    /// final traffic.
    pub async fn shutdown(self) -> LinkStats {
        let LinkProxy {
            from,
            to,
            stop,
            counters,
            accepting,
            ..
        } = self;
        stop.send_replace(true);
        if let Err(e) = accepting.await {
            tracing::warn!("proxy {from} → {to} ended badly: {e}");
        }
        counters.snapshot()
    }
}

/// Accepts connections on the link's own listener, if it has one, and takes those fronts hand
/// over, until stopped (or the proxy is dropped); then waits for them to end.
async fn accept(
    listener: Option<(TcpListener, SocketAddr)>,
    mut handoffs: mpsc::UnboundedReceiver<Handoff>,
    faults: watch::Receiver<LinkFaults>,
    mut stop: watch::Receiver<bool>,
    counters: Arc<Counters>,
    seed: u64,
) {
    // The connections' own copy: `stop` is borrowed by the select below.
    let stop_connections = stop.clone();
    let mut connections = JoinSet::new();
    let mut n = 0u64;
    loop {
        let handoff = tokio::select! {
            () = stopped(&mut stop) => break,
            r = accept_own(listener.as_ref()) => match r {
                Ok(handoff) => handoff,
                Err(e) => {
                    // Out of descriptors and the like: retrying at once would spin.
                    tracing::warn!("proxy cannot accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            Some(handoff) = handoffs.recv() => handoff,
            // Reaps finished connections so the set stays as small as the open ones.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let Handoff {
            client,
            head,
            target,
        } = handoff;
        no_delay(&client);
        let open = OpenGuard::accepted(&counters);
        connections.spawn(connection::run(
            client,
            head,
            target,
            faults.clone(),
            stop_connections.clone(),
            open,
            seed::derive(seed, n),
        ));
        n += 1;
    }
    drop(listener);
    // Connections handed over but not yet taken close with the channel.
    drop(handoffs);
    while connections.join_next().await.is_some() {}
}

/// The next connection on the link's own listener; never, for a link without one.
async fn accept_own(listener: Option<&(TcpListener, SocketAddr)>) -> std::io::Result<Handoff> {
    let Some((listener, target)) = listener else {
        return std::future::pending().await;
    };
    let (client, _) = listener.accept().await?;
    Ok(Handoff {
        client,
        head: Vec::new(),
        target: *target,
    })
}

/// Returns once the proxy (or front) stops or is dropped.
pub(super) async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns may not be held across an await: drop it here.
    let _ = stop.wait_for(|s| *s).await.is_ok();
}

#[cfg(test)]
mod tests {
    use super::super::test_target::{Behaviour, Target};
    use super::*;
    use nemesis::LinkFault;
    use std::future::Future;
    use std::io::ErrorKind;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio::time::{sleep, timeout, Instant};

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Every test ends within this, pass or fail.
    async fn bounded<F: Future>(f: F) -> F::Output {
        timeout(Duration::from_secs(8), f)
            .await
            .expect("test exceeded its time bound")
    }

    async fn echo_link() -> (Target, LinkProxy) {
        let target = Target::start(Behaviour::Echo).await;
        let proxy = LinkProxy::start("n2", "n1", target.addr, 42).await.unwrap();
        (target, proxy)
    }

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i % 251) as u8).collect()
    }

    /// Sends `data` and reads it back concurrently; returns how long that took.
    async fn echo(s: &mut TcpStream, data: &[u8]) -> Duration {
        let t0 = Instant::now();
        let (mut r, mut w) = s.split();
        let mut back = vec![0u8; data.len()];
        let (wrote, read) = tokio::join!(w.write_all(data), r.read_exact(&mut back));
        wrote.unwrap();
        read.unwrap();
        assert!(back == data, "echo came back altered");
        t0.elapsed()
    }

    /// Whether nothing (not even EOF) arrives on `s` within `d`.
    async fn silent_for(s: &mut TcpStream, d: Duration) -> bool {
        let mut b = [0u8; 1];
        timeout(d, s.read(&mut b)).await.is_err()
    }

    async fn until(cond: impl Fn() -> bool) {
        while !cond() {
            sleep(ms(5)).await;
        }
    }

    #[tokio::test]
    async fn healthy_link_echoes_bytes_both_ways() {
        bounded(async {
            let (target, proxy) = echo_link().await;
            let mut s = TcpStream::connect(proxy.addr().unwrap()).await.unwrap();
            echo(&mut s, &pattern(100_000)).await;
            drop(s);
            until(|| proxy.stats().open == 0).await;
            let expected = LinkStats {
                forward_bytes: 100_000,
                backward_bytes: 100_000,
                accepted: 1,
                open: 0,
            };
            assert_eq!(proxy.stats(), expected);
            assert_eq!(target.accepted(), 1);
            assert_eq!(proxy.shutdown().await, expected);
        })
        .await
    }

    #[tokio::test]
    async fn latency_delays_both_directions() {
        bounded(async {
            let (_target, proxy) = echo_link().await;
            let mut s = TcpStream::connect(proxy.addr().unwrap()).await.unwrap();
            let fast = echo(&mut s, b"ping").await;
            proxy
                .set(LinkFaults::from(LinkFault {
                    latency: ms(100),
                    ..LinkFault::default()
                }))
                .unwrap();
            let slow = echo(&mut s, b"ping").await;
            assert!(fast < ms(100), "healthy round trip took {fast:?}");
            assert!(
                slow >= ms(200) && slow < ms(600),
                "round trip took {slow:?}"
            );
        })
        .await
    }

    #[tokio::test]
    async fn jitter_keeps_the_stream_in_order() {
        bounded(async {
            let (_target, proxy) = echo_link().await;
            proxy
                .set(LinkFaults::from(LinkFault {
                    latency: ms(10),
                    jitter: ms(10),
                    ..LinkFault::default()
                }))
                .unwrap();
            let mut s = TcpStream::connect(proxy.addr().unwrap()).await.unwrap();
            let data = pattern(40 * 50);
            let (mut r, mut w) = s.split();
            let mut back = vec![0u8; data.len()];
            let write = async {
                for piece in data.chunks(50) {
                    w.write_all(piece).await.unwrap();
                    sleep(ms(2)).await;
                }
            };
            let (_, read) = tokio::join!(write, r.read_exact(&mut back));
            read.unwrap();
            assert!(back == data, "jitter reordered the stream");
        })
        .await
    }

    #[tokio::test]
    async fn cut_stalls_a_live_connection_and_heal_delivers_the_held_bytes() {
        bounded(async {
            let (target, proxy) = echo_link().await;
            let mut s = TcpStream::connect(proxy.addr().unwrap()).await.unwrap();
            echo(&mut s, b"hello").await;
            proxy
                .set(LinkFaults {
                    cut: true,
                    ..LinkFaults::default()
                })
                .unwrap();
            let data = pattern(64 * 1024);
            s.write_all(&data).await.unwrap();
            assert!(silent_for(&mut s, ms(300)).await);
            assert_eq!(target.received(), 5);
            proxy.set(LinkFaults::default()).unwrap();
            let mut back = vec![0u8; data.len()];
            s.read_exact(&mut back).await.unwrap();
            assert!(back == data, "held bytes came back altered");
        })
        .await
    }

    #[tokio::test]
    async fn cut_holds_a_new_connection_from_the_target_until_heal() {
        bounded(async {
            let (target, proxy) = echo_link().await;
            proxy
                .set(LinkFaults {
                    cut: true,
                    ..LinkFaults::default()
                })
                .unwrap();
            let mut s = TcpStream::connect(proxy.addr().unwrap()).await.unwrap();
            s.write_all(b"ping").await.unwrap();
            assert!(silent_for(&mut s, ms(300)).await);
            assert_eq!((target.accepted(), proxy.stats().accepted), (0, 1));
            proxy.set(LinkFaults::default()).unwrap();
            let mut back = [0u8; 4];
            s.read_exact(&mut back).await.unwrap();
            assert_eq!(&back, b"ping");
            assert_eq!(target.accepted(), 1);
        })
        .await
    }

    #[tokio::test]
    async fn blackhole_swallows_everything_and_resets_when_lifted() {
        bounded(async {
            let (target, proxy) = echo_link().await;
            let mut live = TcpStream::connect(proxy.addr().unwrap()).await.unwrap();
            echo(&mut live, b"hello").await;
            proxy
                .set(LinkFaults::from(LinkFault {
                    blackhole: true,
                    ..LinkFault::default()
                }))
                .unwrap();
            let mut new = TcpStream::connect(proxy.addr().unwrap()).await.unwrap();
            live.write_all(b"lost").await.unwrap();
            new.write_all(b"lost").await.unwrap();
            assert!(silent_for(&mut live, ms(300)).await);
            assert!(silent_for(&mut new, ms(10)).await);
            assert_eq!((target.accepted(), target.received()), (1, 5));
            // Both lost bytes: their streams can never be whole again.
            proxy.set(LinkFaults::default()).unwrap();
            let mut b = [0u8; 1];
            for s in [&mut live, &mut new] {
                let e = s.read(&mut b).await.unwrap_err();
                assert_eq!(e.kind(), ErrorKind::ConnectionReset);
            }
        })
        .await
    }

    #[tokio::test]
    async fn reset_closes_live_and_new_connections_with_rst() {
        bounded(async {
            let (_target, proxy) = echo_link().await;
            let mut live = TcpStream::connect(proxy.addr().unwrap()).await.unwrap();
            echo(&mut live, b"hello").await;
            let t0 = Instant::now();
            proxy
                .set(LinkFaults::from(LinkFault {
                    reset: true,
                    ..LinkFault::default()
                }))
                .unwrap();
            let mut b = [0u8; 1];
            let e = live.read(&mut b).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ConnectionReset);
            assert!(t0.elapsed() < ms(300), "reset took {:?}", t0.elapsed());
            let mut new = TcpStream::connect(proxy.addr().unwrap()).await.unwrap();
            let e = new.read(&mut b).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ConnectionReset);
            until(|| proxy.stats().open == 0).await;
        })
        .await
    }

    #[tokio::test]
    async fn bandwidth_paces_each_direction() {
        bounded(async {
            let (_target, proxy) = echo_link().await;
            proxy
                .set(LinkFaults::from(LinkFault {
                    bandwidth: Some(64 * 1024),
                    ..LinkFault::default()
                }))
                .unwrap();
            let mut s = TcpStream::connect(proxy.addr().unwrap()).await.unwrap();
            // 96 KiB at 64 KiB/s: 1.5 s each way, overlapping.
            let took = echo(&mut s, &pattern(96 * 1024)).await;
            assert!(took >= ms(1500) && took < ms(3000), "took {took:?}");
        })
        .await
    }

    #[tokio::test]
    async fn half_open_delivers_requests_but_holds_replies() {
        bounded(async {
            let (target, proxy) = echo_link().await;
            let mut s = TcpStream::connect(proxy.addr().unwrap()).await.unwrap();
            echo(&mut s, b"hello").await;
            proxy
                .set(LinkFaults::from(LinkFault {
                    half_open: true,
                    ..LinkFault::default()
                }))
                .unwrap();
            s.write_all(b"request").await.unwrap();
            until(|| target.received() == 12).await;
            assert!(silent_for(&mut s, ms(300)).await);
            proxy.set(LinkFaults::default()).unwrap();
            let mut back = [0u8; 7];
            s.read_exact(&mut back).await.unwrap();
            assert_eq!(&back, b"request");
        })
        .await
    }

    #[tokio::test]
    async fn half_open_holds_new_connections() {
        bounded(async {
            let (target, proxy) = echo_link().await;
            proxy
                .set(LinkFaults::from(LinkFault {
                    half_open: true,
                    ..LinkFault::default()
                }))
                .unwrap();
            let mut s = TcpStream::connect(proxy.addr().unwrap()).await.unwrap();
            s.write_all(b"request").await.unwrap();
            assert!(silent_for(&mut s, ms(200)).await);
            assert_eq!((target.accepted(), target.received()), (0, 0));
        })
        .await
    }

    #[tokio::test]
    async fn slow_close_delays_the_fin() {
        bounded(async {
            let target = Target::start(Behaviour::HangUp).await;
            let proxy = LinkProxy::start("n2", "n1", target.addr, 1).await.unwrap();
            proxy
                .set(LinkFaults::from(LinkFault {
                    slow_close: Some(ms(300)),
                    ..LinkFault::default()
                }))
                .unwrap();
            let t0 = Instant::now();
            let mut s = TcpStream::connect(proxy.addr().unwrap()).await.unwrap();
            let mut b = [0u8; 1];
            assert_eq!(s.read(&mut b).await.unwrap(), 0);
            let took = t0.elapsed();
            assert!(took >= ms(300) && took < ms(800), "EOF after {took:?}");
        })
        .await
    }

    #[tokio::test]
    async fn set_rejects_invalid_faults_and_keeps_the_old_ones() {
        bounded(async {
            let (_target, proxy) = echo_link().await;
            let slow = LinkFaults::from(LinkFault {
                latency: ms(5),
                ..LinkFault::default()
            });
            proxy.set(slow.clone()).unwrap();
            let bad = LinkFaults::from(LinkFault {
                loss: 2.0,
                ..LinkFault::default()
            });
            assert!(matches!(proxy.set(bad), Err(ProxyError::InvalidFaults(_))));
            assert_eq!(proxy.faults(), slow);
        })
        .await
    }

    #[tokio::test]
    async fn shutdown_ends_every_connection_and_the_listener() {
        bounded(async {
            let (_target, proxy) = echo_link().await;
            let addr = proxy.addr().unwrap();
            let mut live = TcpStream::connect(addr).await.unwrap();
            echo(&mut live, b"hello").await;
            proxy
                .set(LinkFaults {
                    cut: true,
                    ..LinkFaults::default()
                })
                .unwrap();
            let mut held = TcpStream::connect(addr).await.unwrap();
            until(|| proxy.stats().open == 2).await;
            let stats = proxy.shutdown().await;
            assert_eq!(
                stats,
                LinkStats {
                    forward_bytes: 5,
                    backward_bytes: 5,
                    accepted: 2,
                    open: 0,
                }
            );
            let mut b = [0u8; 1];
            assert_eq!(live.read(&mut b).await.unwrap(), 0);
            assert_eq!(held.read(&mut b).await.unwrap(), 0);
            let e = TcpStream::connect(addr).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
        })
        .await
    }
}
