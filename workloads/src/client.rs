//! The operations workloads need from a client, one trait per family ([`Operations`]), and how a
//! client reports failure.

use std::future::Future;

/// Why a client operation did not succeed, split by what it means for the history.
///
/// "Certainly did not happen" and "may have happened" are different types on purpose: the first
/// becomes `fail` in the history, the second `info`, and confusing them makes the checker lie.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The operation certainly did not take effect (refused before sending, or an error reply).
    #[error("{0}")]
    DidNotHappen(String),
    /// The operation may or may not have taken effect (timeout, connection lost after sending).
    #[error("{0}")]
    MayHaveHappened(String),
}

/// A family of client operations, one trait each: what a workload needs and a system offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operations {
    /// [`RegisterClient`]: read, write and compare-and-set on integer registers.
    Register,
    /// [`SetClient`]: add to and read a grow-only set of integers.
    Set,
    /// [`CounterClient`]: add to and read an integer counter.
    Counter,
}

impl Operations {
    /// What a store offering these operations keeps, for messages ("registers").
    pub fn noun(self) -> &'static str {
        match self {
            Operations::Register => "registers",
            Operations::Set => "sets",
            Operations::Counter => "counters",
        }
    }
}

/// A client of a key-value register store; values are integers, a missing key reads as `None`.
pub trait RegisterClient: Send {
    /// Reads the value of `key`.
    fn read(&mut self, key: &str) -> impl Future<Output = Result<Option<i64>, ClientError>> + Send;
    /// Writes `value` to `key`.
    fn write(
        &mut self,
        key: &str,
        value: i64,
    ) -> impl Future<Output = Result<(), ClientError>> + Send;
    /// Sets `key` to `new` if it holds `expected`; `Ok(false)` means the compare did not match.
    fn cas(
        &mut self,
        key: &str,
        expected: i64,
        new: i64,
    ) -> impl Future<Output = Result<bool, ClientError>> + Send;
}

/// A client of a grow-only set of integers under one key: the set workload's operations.
pub trait SetClient: Send {
    /// Adds `element` to the set `key`.
    fn add(
        &mut self,
        key: &str,
        element: i64,
    ) -> impl Future<Output = Result<(), ClientError>> + Send;
    /// Reads every element of the set `key`, from the node this client reads from.
    fn read_set(&mut self, key: &str)
        -> impl Future<Output = Result<Vec<i64>, ClientError>> + Send;
}

/// A client of integer counters: the counter workload's operations.
pub trait CounterClient: Send {
    /// Adds `delta` to the counter `key` (a missing counter counts from 0).
    fn incr(
        &mut self,
        key: &str,
        delta: i64,
    ) -> impl Future<Output = Result<(), ClientError>> + Send;
    /// Reads the counter `key` from the node this client reads from; a missing counter is 0.
    fn read_counter(&mut self, key: &str) -> impl Future<Output = Result<i64, ClientError>> + Send;
}
