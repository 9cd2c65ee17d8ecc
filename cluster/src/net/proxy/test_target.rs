//! A target server for the proxy's tests: counts what reaches it, echoes or hangs up.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the target does with a connection.
#[derive(Debug, Clone, Copy)]
pub(super) enum Behaviour {
    /// Writes back every byte it reads; closes its side after the client's close.
    Echo,
    /// Closes the connection as soon as it is accepted.
    HangUp,
}

/// A running target; its task ends with the test's runtime.
pub(super) struct Target {
    /// Where it listens.
    pub addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    received: Arc<AtomicUsize>,
}

impl Target {
    /// Starts a target on a fresh loopback port.
    pub async fn start(behaviour: Behaviour) -> Target {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let received = Arc::new(AtomicUsize::new(0));
        let (acc, rec) = (accepted.clone(), received.clone());
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                acc.fetch_add(1, Ordering::SeqCst);
                if let Behaviour::HangUp = behaviour {
                    continue;
                }
                let rec = rec.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 {
                            let _ = s.shutdown().await;
                            return;
                        }
                        rec.fetch_add(n, Ordering::SeqCst);
                        if s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Target {
            addr,
            accepted,
            received,
        }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Bytes read so far, over all connections.
    pub fn received(&self) -> usize {
        self.received.load(Ordering::SeqCst)
    }
}
