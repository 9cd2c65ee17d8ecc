//! A RESP client of one cluster, implementing the workloads' register operations.
//!
//! Writes and cas go to the primary; reads to the node chosen by `--read-from`. Failures are
//! sorted by what they mean for the history: a connection that could not be made, or an error
//! reply, means the command certainly did not run (`fail`); a timeout or a connection lost after
//! sending means it may have (`info`), and that connection is dropped so no late reply is
//! mistaken for the next command's.

use crate::probe;
use crate::target::TargetKind;
use redis::aio::MultiplexedConnection;
use redis::{FromRedisValue, RedisError};
use std::net::SocketAddr;
use std::time::Duration;
use workloads::{ClientError, RegisterClient};

/// Compare-and-set on real Redis: a Lua script runs atomically, so the compare and the set cannot
/// interleave with another client's write.
const REDIS_CAS: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
                         redis.call('SET', KEYS[1], ARGV[2]) return 1 else return 0 end";

/// One worker's connections to a cluster.
pub struct RespClient {
    target: TargetKind,
    primary: SocketAddr,
    reader: SocketAddr,
    timeout: Duration,
    write_conn: Option<MultiplexedConnection>,
    read_conn: Option<MultiplexedConnection>,
}

impl RespClient {
    /// A client writing to `primary` and reading from `reader`; nothing is connected yet.
    pub fn new(
        target: TargetKind,
        primary: SocketAddr,
        reader: SocketAddr,
        timeout: Duration,
    ) -> RespClient {
        RespClient {
            target,
            primary,
            reader,
            timeout,
            write_conn: None,
            read_conn: None,
        }
    }

    async fn run<T: FromRedisValue>(
        &mut self,
        cmd: redis::Cmd,
        read: bool,
    ) -> Result<T, ClientError> {
        let (addr, slot) = if read && self.reader != self.primary {
            (self.reader, &mut self.read_conn)
        } else {
            (self.primary, &mut self.write_conn)
        };
        if slot.is_none() {
            let conn = probe::connect(addr, self.timeout)
                .await
                .map_err(ClientError::DidNotHappen)?;
            *slot = Some(conn);
        }
        let conn = slot.as_mut().expect("connected above");
        match tokio::time::timeout(self.timeout, cmd.query_async::<T>(conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                let err = classify(e, addr, self.timeout);
                if matches!(err, ClientError::MayHaveHappened(_)) {
                    *slot = None;
                }
                Err(err)
            }
            Err(_) => {
                *slot = None;
                Err(timed_out(addr, self.timeout))
            }
        }
    }
}

/// An error reply means the server refused the command; anything else happened on the wire.
fn classify(e: RedisError, addr: SocketAddr, timeout: Duration) -> ClientError {
    if e.is_timeout() {
        timed_out(addr, timeout)
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

impl RegisterClient for RespClient {
    async fn read(&mut self, key: &str) -> Result<Option<i64>, ClientError> {
        self.run(redis::cmd("GET").arg(key).clone(), true).await
    }

    async fn write(&mut self, key: &str, value: i64) -> Result<(), ClientError> {
        let _: String = self
            .run(redis::cmd("SET").arg(key).arg(value).clone(), false)
            .await?;
        Ok(())
    }

    async fn cas(&mut self, key: &str, expected: i64, new: i64) -> Result<bool, ClientError> {
        let cmd = match self.target {
            TargetKind::Own => redis::cmd("CAS").arg(key).arg(expected).arg(new).clone(),
            TargetKind::Redis => redis::cmd("EVAL")
                .arg(REDIS_CAS)
                .arg(1)
                .arg(key)
                .arg(expected)
                .arg(new)
                .clone(),
        };
        let swapped: i64 = self.run(cmd, false).await?;
        Ok(swapped == 1)
    }
}
