//! One proxied connection, from accept to close:
//!
//! ```text
//!  accepted ─► held while cut / half-open (input discarded under blackhole)
//!           ─► connect to the target ─► two pumps ─► closed: FIN when both sides closed,
//!                                                    RST on reset, error or lifted blackhole
//! ```
//! A `reset` fault or the proxy's shutdown end it at any step.
//!
//! A connection may arrive with bytes already read from it (a front that peeked at a request to
//! tell who sent it): they go first, under the same faults as every later byte.

use super::faults::{Direction, Flow, LinkFaults};
use super::pump::{changed, pump, End};
use super::stats::{Counters, OpenGuard};
use super::{seed, CHUNK};
use std::net::SocketAddr;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::watch;

/// Proxies `client` to `target` until the connection ends; `head` holds bytes already read from
/// `client`, passed on before any other.
pub(super) async fn run(
    mut client: TcpStream,
    mut head: Vec<u8>,
    target: SocketAddr,
    mut faults: watch::Receiver<LinkFaults>,
    mut stop: watch::Receiver<bool>,
    open: OpenGuard,
    conn_seed: u64,
) {
    let counters = open.counters();
    let outcome = tokio::select! {
        r = reach(&mut client, &mut head, target, faults.clone()) => r,
        end = ended(&mut faults, &mut stop) => Err(end),
    };
    let mut server = match outcome {
        Ok(server) => server,
        Err(end) => return close(end, &[&client]),
    };
    let pumps_faults = faults.clone();
    let end = tokio::select! {
        r = both_ways(&mut client, &head, &mut server, &pumps_faults, counters, conn_seed) => {
            r.err().unwrap_or(End::Closed)
        }
        end = ended(&mut faults, &mut stop) => end,
    };
    close(end, &[&client, &server]);
}

/// Ends with `Reset` once the reset fault is set, or `Stopped` once the proxy stops.
async fn ended(faults: &mut watch::Receiver<LinkFaults>, stop: &mut watch::Receiver<bool>) -> End {
    tokio::select! {
        r = faults.wait_for(|f| f.reset) => if r.is_ok() { End::Reset } else { End::Stopped },
        _ = stop.wait_for(|s| *s) => End::Stopped,
    }
}

/// Holds a new connection while the link may not open connections, then connects to the target.
/// A blackhole discards `head` too.
async fn reach(
    client: &mut TcpStream,
    head: &mut Vec<u8>,
    target: SocketAddr,
    mut faults: watch::Receiver<LinkFaults>,
) -> Result<TcpStream, End> {
    let mut discarded = false;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let flow = faults.borrow_and_update().connect_flow();
        match flow {
            Flow::Hold => changed(&mut faults).await?,
            Flow::Discard if !head.is_empty() => {
                head.clear();
                discarded = true;
            }
            Flow::Discard => tokio::select! {
                r = client.read(&mut buf) => match r.map_err(End::Broken)? {
                    0 => changed(&mut faults).await?,
                    _ => discarded = true,
                },
                r = changed(&mut faults) => r?,
            },
            Flow::Pass if discarded => return Err(End::Tainted),
            Flow::Pass => {
                let server = TcpStream::connect(target).await.map_err(End::Broken)?;
                no_delay(&server);
                return Ok(server);
            }
        }
    }
}

/// Runs both pumps until both directions have closed, or the first one fails; the forward pump
/// reads `head` before the client's socket.
async fn both_ways(
    client: &mut TcpStream,
    head: &[u8],
    server: &mut TcpStream,
    faults: &watch::Receiver<LinkFaults>,
    counters: &Counters,
    conn_seed: u64,
) -> Result<(), End> {
    let (client_read, client_write) = client.split();
    let (server_read, server_write) = server.split();
    tokio::try_join!(
        pump(
            Direction::Forward,
            head.chain(client_read),
            server_write,
            faults.clone(),
            seed::derive(conn_seed, 0),
            &counters.forward,
        ),
        pump(
            Direction::Backward,
            server_read,
            client_write,
            faults.clone(),
            seed::derive(conn_seed, 1),
            &counters.backward,
        ),
    )?;
    Ok(())
}

/// Closes `sockets` as `end` requires: a reset (RST) unless the connection ended in order.
fn close(end: End, sockets: &[&TcpStream]) {
    let abort = matches!(end, End::Broken(_) | End::Tainted | End::Reset);
    if let End::Broken(e) = &end {
        tracing::debug!("proxied connection broke: {e}");
    }
    if abort {
        for s in sockets {
            // Linger 0 makes the close send RST; failing to set it degrades to a FIN.
            let _ = s.set_zero_linger();
        }
    }
}

/// Disables Nagle's algorithm: the proxy must not add delays of its own to small writes.
pub(super) fn no_delay(s: &TcpStream) {
    let _ = s.set_nodelay(true);
}
