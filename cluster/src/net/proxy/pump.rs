//! One direction of a proxied connection: a reader that stamps each chunk with its release time,
//! a bounded queue, and a writer that waits for the release, for the faults to let it pass, and
//! for the bandwidth cap.
//!
//! ```text
//!  src ─► reader ─(chunk, release)─► queue (≤ QUEUE chunks) ─► writer ─► dst
//!          │ holds: stops reading           ▲                  │ holds: stops writing
//!          └ the kernel buffers the rest, TCP stalls the sender └ discards under blackhole
//! ```

use super::delay::Delays;
use super::faults::{Direction, Flow, LinkFaults};
use super::pacer::Pacer;
use super::CHUNK;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep_until, Instant};

/// Why a connection, or one of its pumps, ended.
#[derive(Debug)]
pub(super) enum End {
    /// Both sides closed and the closes were passed on.
    Closed,
    /// A socket failed (or the target refused): the other side gets a reset, as it would from
    /// the real peer.
    Broken(io::Error),
    /// A blackhole discarded bytes and has lifted: the stream can never be intact again.
    Tainted,
    /// The `reset` fault.
    Reset,
    /// The proxy shut down (or was dropped).
    Stopped,
}

/// Chunks in flight per direction: at most 1 MiB held in memory, about a TCP window's worth, so
/// latency does not throttle a busy link much more than a real one of the same delay.
const QUEUE: usize = 64;

/// What the reader hands the writer.
enum Item {
    /// Bytes to write at the instant.
    Chunk(Vec<u8>, Instant),
    /// The source closed its side: pass the close on at the instant.
    Eof(Instant),
}

/// Moves bytes from `src` to `dst` under the link's faults until `src` closes and the close has
/// been passed on; `moved` counts the bytes written.
pub(super) async fn pump<R, W>(
    dir: Direction,
    src: R,
    dst: W,
    faults: watch::Receiver<LinkFaults>,
    seed: u64,
    moved: &AtomicU64,
) -> Result<(), End>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::try_join!(
        read_side(dir, src, tx, faults.clone(), seed),
        write_side(dir, rx, dst, faults, moved)
    )?;
    Ok(())
}

/// Waits for the next change of the faults; their sender gone means the proxy is gone.
pub(super) async fn changed(faults: &mut watch::Receiver<LinkFaults>) -> Result<(), End> {
    faults.changed().await.map_err(|_| End::Stopped)
}

async fn read_side<R: AsyncRead + Unpin>(
    dir: Direction,
    mut src: R,
    tx: mpsc::Sender<Item>,
    mut faults: watch::Receiver<LinkFaults>,
    seed: u64,
) -> Result<(), End> {
    let mut delays = Delays::new(seed);
    let mut buf = vec![0u8; CHUNK];
    let mut discarded = false;
    loop {
        let current = faults.borrow_and_update().clone();
        match current.flow(dir) {
            Flow::Hold => {
                changed(&mut faults).await?;
                continue;
            }
            Flow::Discard => {
                tokio::select! {
                    r = src.read(&mut buf) => match r.map_err(End::Broken)? {
                        // Closed under a blackhole: nothing more to discard, wait for the change.
                        0 => changed(&mut faults).await?,
                        _ => discarded = true,
                    },
                    r = changed(&mut faults) => r?,
                }
                continue;
            }
            Flow::Pass if discarded => return Err(End::Tainted),
            Flow::Pass => {}
        }
        // Reading is cancel-safe: a fault change while waiting re-checks the flow, losing nothing.
        let n = tokio::select! {
            r = src.read(&mut buf) => r.map_err(End::Broken)?,
            r = changed(&mut faults) => { r?; continue; }
        };
        let now = Instant::now();
        if n == 0 {
            let late = current.slow_close.unwrap_or(Duration::ZERO);
            // A writer that is gone has ended the connection already; nothing left to tell it.
            let _ = tx
                .send(Item::Eof(delays.release(now, &current, late)))
                .await;
            return Ok(());
        }
        let at = delays.release(now, &current, Duration::ZERO);
        if tx.send(Item::Chunk(buf[..n].to_vec(), at)).await.is_err() {
            return Ok(());
        }
    }
}

async fn write_side<W: AsyncWrite + Unpin>(
    dir: Direction,
    mut rx: mpsc::Receiver<Item>,
    mut dst: W,
    mut faults: watch::Receiver<LinkFaults>,
    moved: &AtomicU64,
) -> Result<(), End> {
    let mut pacer = Pacer::default();
    let mut discarded = false;
    loop {
        let item = tokio::select! {
            item = rx.recv() => match item {
                Some(item) => item,
                None => return Ok(()),
            },
            // Bytes were thrown away: the stream is broken the moment the blackhole lifts.
            r = changed(&mut faults), if discarded => {
                r?;
                admit(dir, &mut faults, &mut discarded).await?;
                continue;
            }
        };
        match item {
            Item::Chunk(data, at) => {
                sleep_until(at).await;
                let mut rest = &data[..];
                while !rest.is_empty() {
                    if !admit(dir, &mut faults, &mut discarded).await? {
                        break;
                    }
                    let rate = faults.borrow().bandwidth;
                    let len = rate.map_or(rest.len(), |r| Pacer::slice(r).min(rest.len()));
                    sleep_until(pacer.reserve(Instant::now(), len, rate)).await;
                    dst.write_all(&rest[..len]).await.map_err(End::Broken)?;
                    moved.fetch_add(len as u64, Ordering::Relaxed);
                    rest = &rest[len..];
                }
            }
            Item::Eof(at) => {
                sleep_until(at).await;
                while !admit(dir, &mut faults, &mut discarded).await? {
                    changed(&mut faults).await?;
                }
                // Failing to pass a FIN on to a peer that is gone changes nothing for anyone.
                let _ = dst.shutdown().await;
                return Ok(());
            }
        }
    }
}

/// Waits until bytes in `dir` may move on; `false` when they are to be discarded instead.
async fn admit(
    dir: Direction,
    faults: &mut watch::Receiver<LinkFaults>,
    discarded: &mut bool,
) -> Result<bool, End> {
    loop {
        let flow = faults.borrow_and_update().flow(dir);
        match flow {
            Flow::Pass if *discarded => return Err(End::Tainted),
            Flow::Pass => return Ok(true),
            Flow::Discard => {
                *discarded = true;
                return Ok(false);
            }
            Flow::Hold => changed(faults).await?,
        }
    }
}
