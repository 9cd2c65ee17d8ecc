//! A RESP client of one cluster, implementing the workloads' register and set operations, for
//! the systems that speak RESP: each gives the command its compare-and-set is ([`CasCommand`]),
//! and may find the primary through a [`LocatePrimary`] of its own.
//!
//! Writes go to the primary: a fixed node, or the node a locator names (asked on every new
//! connection and every [`RELOCATE_EVERY`], as Redis clients with sentinel support do). Reads go
//! to the primary or to a fixed node chosen by `--read-from`.
//!
//! Failures are sorted by what they mean for the history: a connection that could not be made,
//! or an error reply, means the command certainly did not run (`fail`); a timeout or a connection
//! lost after sending means it may have (`info`), and that connection is dropped so no late reply
//! is mistaken for the next command's. So does an `UNCERTAIN` reply (a quorum write that
//! reached fewer replicas than its quorum, which may yet take effect). A `READONLY` reply (a demoted primary) is a `fail` that
//! also drops the connection, so the next command asks the locator again.

use crate::client::BoxFuture;
use crate::probe;
use redis::aio::MultiplexedConnection;
use redis::{FromRedisValue, RedisError};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use workloads::{ClientError, CounterClient, RegisterClient, SetClient};

/// The command that sets `key` to `new` if it holds `expected`, answering 1 if it did, in a
/// system's dialect.
pub type CasCommand = fn(key: &str, expected: i64, new: i64) -> redis::Cmd;

/// Finds where the primary is now (through a system's own helpers, such as sentinels).
pub trait LocatePrimary: Send {
    /// The primary's address, or why none could be found within `timeout`.
    fn locate(&mut self, timeout: Duration) -> BoxFuture<'_, Result<SocketAddr, String>>;
}

/// Where a client finds the primary.
enum Primary {
    /// Always this node.
    Fixed(SocketAddr),
    /// Whichever node the locator names.
    Located(Box<dyn LocatePrimary>),
}

/// One worker's connections to a cluster.
pub struct RespClient {
    cas: CasCommand,
    primary: Primary,
    /// A fixed node for reads, or `None` to read from the primary.
    reader: Option<SocketAddr>,
    timeout: Duration,
    /// `WAIT` for this many replicas after each write.
    wait_replicas: Option<u32>,
    write_conn: Option<(SocketAddr, MultiplexedConnection)>,
    read_conn: Option<(SocketAddr, MultiplexedConnection)>,
    /// With a locator: when it was last asked.
    located: Option<Instant>,
    /// The node the last command was sent to.
    last: Option<SocketAddr>,
}

/// With a locator, how often a connected client asks it again whether the primary moved, as
/// clients that follow Sentinel's `+switch-master` announcements learn of a failover.
pub const RELOCATE_EVERY: Duration = Duration::from_millis(250);

impl RespClient {
    /// A client writing to `primary` and reading from `reader`, whose compare-and-set is `cas`;
    /// nothing is connected yet.
    pub fn new(
        cas: CasCommand,
        primary: SocketAddr,
        reader: SocketAddr,
        timeout: Duration,
    ) -> RespClient {
        RespClient {
            cas,
            primary: Primary::Fixed(primary),
            reader: (reader != primary).then_some(reader),
            timeout,
            wait_replicas: None,
            write_conn: None,
            read_conn: None,
            located: None,
            last: None,
        }
    }

    /// Finds the primary through `locator` instead of a fixed node.
    pub fn with_locator(mut self, locator: impl LocatePrimary + 'static) -> RespClient {
        self.primary = Primary::Located(Box::new(locator));
        self
    }

    /// After every write, `WAIT` until `replicas` replicas acknowledged it (`--wait-replicas`);
    /// fewer within the timeout leaves the write indeterminate.
    pub fn with_wait(mut self, replicas: Option<u32>) -> RespClient {
        self.wait_replicas = replicas.filter(|&n| n > 0);
        self
    }

    async fn primary_addr(&mut self) -> Result<SocketAddr, ClientError> {
        match &mut self.primary {
            Primary::Fixed(addr) => Ok(*addr),
            Primary::Located(locator) => {
                self.located = Some(Instant::now());
                locator
                    .locate(self.timeout)
                    .await
                    .map_err(ClientError::DidNotHappen)
            }
        }
    }

    /// With a locator: drops the primary connection when it now names another node.
    async fn follow_failover(&mut self) {
        let Primary::Located(_) = &self.primary else {
            return;
        };
        if self.write_conn.is_none() || self.located.is_some_and(|t| t.elapsed() < RELOCATE_EVERY) {
            return;
        }
        // A locator that cannot answer says nothing new: keep the connection.
        if let Ok(now) = self.primary_addr().await {
            if self.write_conn.as_ref().is_some_and(|(at, _)| *at != now) {
                self.write_conn = None;
            }
        }
    }

    /// The connection slot reads (`read`) or writes use: a fixed reader's, else the primary's.
    fn slot(&mut self, read: bool) -> &mut Option<(SocketAddr, MultiplexedConnection)> {
        if read && self.reader.is_some() {
            &mut self.read_conn
        } else {
            &mut self.write_conn
        }
    }

    /// The connection for reads or writes, made (and the primary located) if there is none.
    async fn conn(
        &mut self,
        read: bool,
    ) -> Result<&mut (SocketAddr, MultiplexedConnection), ClientError> {
        let fixed_reader = if read { self.reader } else { None };
        if fixed_reader.is_none() {
            self.follow_failover().await;
        }
        if self.slot(read).is_none() {
            let addr = match fixed_reader {
                Some(addr) => addr,
                None => self.primary_addr().await?,
            };
            let conn = probe::connect(addr, self.timeout)
                .await
                .map_err(ClientError::DidNotHappen)?;
            *self.slot(read) = Some((addr, conn));
        }
        Ok(self.slot(read).as_mut().expect("connected above"))
    }

    async fn run<T: FromRedisValue>(
        &mut self,
        cmd: redis::Cmd,
        read: bool,
    ) -> Result<T, ClientError> {
        let timeout = self.timeout;
        self.last = None;
        let (addr, conn) = self.conn(read).await?;
        let addr = *addr;
        let outcome = tokio::time::timeout(timeout, cmd.query_async::<T>(conn)).await;
        self.last = Some(addr);
        let (err, demoted) = match outcome {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(e)) => {
                let demoted = e.code() == Some("READONLY");
                (classify(e, addr, timeout), demoted)
            }
            Err(_) => (timed_out(addr, timeout), false),
        };
        // A connection that may hold a late reply, or that reaches a demoted primary, is dropped.
        if demoted || matches!(err, ClientError::MayHaveHappened(_)) {
            *self.slot(read) = None;
        }
        Err(err)
    }

    /// Runs a write, then `WAIT`s for replicas if asked to.
    async fn write_cmd<T: FromRedisValue>(&mut self, cmd: redis::Cmd) -> Result<T, ClientError> {
        let value = self.run(cmd, false).await?;
        if let Some(want) = self.wait_replicas {
            // Half the operation timeout: WAIT answers when its own time is up, and that answer
            // must arrive before the client gives up on the connection.
            let wait_ms = (self.timeout.as_millis() as u64 / 2).max(1);
            let cmd = redis::cmd("WAIT").arg(want).arg(wait_ms).clone();
            let acked: i64 = self.run(cmd, false).await.map_err(|e| {
                // The write itself was acknowledged: whatever WAIT says, it may stand.
                ClientError::MayHaveHappened(format!("write done, then WAIT failed: {e}"))
            })?;
            if acked < i64::from(want) {
                return Err(ClientError::MayHaveHappened(format!(
                    "WAIT {want}: only {acked} replicas acknowledged within {wait_ms} ms"
                )));
            }
        }
        Ok(value)
    }
}

/// An error reply means the server refused the command — except `UNCERTAIN`, an own quorum
/// node's word for a write that reached some replicas but not its quorum; anything else
/// happened on the wire.
fn classify(e: RedisError, addr: SocketAddr, timeout: Duration) -> ClientError {
    if e.is_timeout() {
        timed_out(addr, timeout)
    } else if e.code() == Some("UNCERTAIN") {
        ClientError::MayHaveHappened(format!("{addr} replied {e}"))
    } else if e.code().is_some() {
        ClientError::DidNotHappen(format!("{addr} replied {e}"))
    } else {
        ClientError::MayHaveHappened(format!("{addr}: {e}"))
    }
}

/// The crate's response timeout and ours are the same event; say so in the same words.
fn timed_out(addr: SocketAddr, timeout: Duration) -> ClientError {
    ClientError::MayHaveHappened(format!("timeout: {addr} did not answer within {timeout:?}"))
}

impl crate::client::Answered for RespClient {
    fn answered_by(&self) -> Option<SocketAddr> {
        self.last
    }
}

impl RegisterClient for RespClient {
    async fn read(&mut self, key: &str) -> Result<Option<i64>, ClientError> {
        self.run(redis::cmd("GET").arg(key).clone(), true).await
    }

    async fn write(&mut self, key: &str, value: i64) -> Result<(), ClientError> {
        let _: String = self
            .write_cmd(redis::cmd("SET").arg(key).arg(value).clone())
            .await?;
        Ok(())
    }

    async fn cas(&mut self, key: &str, expected: i64, new: i64) -> Result<bool, ClientError> {
        let cmd = (self.cas)(key, expected, new);
        let swapped: i64 = self.write_cmd(cmd).await?;
        Ok(swapped == 1)
    }
}

impl SetClient for RespClient {
    async fn add(&mut self, key: &str, element: i64) -> Result<(), ClientError> {
        let _: i64 = self
            .write_cmd(redis::cmd("SADD").arg(key).arg(element).clone())
            .await?;
        Ok(())
    }

    async fn read_set(&mut self, key: &str) -> Result<Vec<i64>, ClientError> {
        let mut elements: Vec<i64> = self
            .run(redis::cmd("SMEMBERS").arg(key).clone(), true)
            .await?;
        elements.sort_unstable();
        Ok(elements)
    }
}

impl CounterClient for RespClient {
    async fn incr(&mut self, key: &str, delta: i64) -> Result<(), ClientError> {
        let _: i64 = self
            .write_cmd(redis::cmd("INCRBY").arg(key).arg(delta).clone())
            .await?;
        Ok(())
    }

    async fn read_counter(&mut self, key: &str) -> Result<i64, ClientError> {
        let value: Option<i64> = self.run(redis::cmd("GET").arg(key).clone(), true).await?;
        Ok(value.unwrap_or(0))
    }
}
