//! The client a worker drives, whatever the system: each system makes its own (see
//! [`crate::system::System::client`]) and hands it out boxed as a [`Client`], so that workers stay
//! generic over one type and nothing outside a system's folder names its client.

use clap::ValueEnum;
use serde::Serialize;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;
use workloads::{ClientError, CounterClient, RegisterClient, SetClient};

/// A boxed future, so that the traits of clients and systems can be used as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Which node a client's reads go to (`--read-from`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ReadFrom {
    /// The primary, like writes.
    Primary,
    /// A replica (clients are spread over the replicas).
    Replica,
    /// Any node (clients are spread over all nodes).
    Any,
}

/// What shapes every client of a run; each system reads the options it takes.
#[derive(Debug, Clone, Copy)]
pub struct ClientOptions {
    /// Where reads go.
    pub read_from: ReadFrom,
    /// How long an operation may take before it is indeterminate.
    pub timeout: Duration,
    /// Replicas to wait for after each write (`--wait-replicas`).
    pub wait_replicas: Option<u32>,
    /// Serializable reads (`--read-consistency serializable`).
    pub serializable_reads: bool,
    /// Clients move to the next node when theirs stops answering (`--cascade`).
    pub cascade: bool,
}

/// The address client number `worker` reads from under `read_from`, of nodes whose client
/// addresses are `nodes` (the primary first).
pub fn read_addr(nodes: &[SocketAddr], read_from: ReadFrom, worker: usize) -> SocketAddr {
    let n = nodes.len();
    match read_from {
        ReadFrom::Replica if n > 1 => nodes[1 + worker % (n - 1)],
        ReadFrom::Any => nodes[worker % n],
        _ => nodes[0],
    }
}

/// Which node answered a client's last operation, where the client knows: the history names
/// it on each completion, so a stale or invented read points at the node that gave it.
pub trait Answered {
    /// The client address of the node its last operation was sent to, if known.
    fn answered_by(&self) -> Option<SocketAddr> {
        None
    }
}

/// A client of the cluster under test: whichever client its system made.
pub struct Client(Box<dyn AnyClient>);

impl Client {
    /// Boxes a system's own client.
    pub fn new(
        client: impl RegisterClient + SetClient + CounterClient + Answered + 'static,
    ) -> Client {
        Client(Box::new(client))
    }
}

impl Answered for Client {
    fn answered_by(&self) -> Option<SocketAddr> {
        self.0.answered_by()
    }
}

/// The workloads' client operations, in a form that can be boxed.
trait AnyClient: Send {
    fn read<'a>(&'a mut self, key: &'a str) -> BoxFuture<'a, Result<Option<i64>, ClientError>>;
    fn write<'a>(&'a mut self, key: &'a str, value: i64) -> BoxFuture<'a, Result<(), ClientError>>;
    fn cas<'a>(
        &'a mut self,
        key: &'a str,
        expected: i64,
        new: i64,
    ) -> BoxFuture<'a, Result<bool, ClientError>>;
    fn add<'a>(&'a mut self, key: &'a str, element: i64) -> BoxFuture<'a, Result<(), ClientError>>;
    fn read_set<'a>(&'a mut self, key: &'a str) -> BoxFuture<'a, Result<Vec<i64>, ClientError>>;
    fn incr<'a>(&'a mut self, key: &'a str, delta: i64) -> BoxFuture<'a, Result<(), ClientError>>;
    fn read_counter<'a>(&'a mut self, key: &'a str) -> BoxFuture<'a, Result<i64, ClientError>>;
    fn answered_by(&self) -> Option<SocketAddr>;
}

impl<C: RegisterClient + SetClient + CounterClient + Answered> AnyClient for C {
    fn answered_by(&self) -> Option<SocketAddr> {
        Answered::answered_by(self)
    }

    fn read<'a>(&'a mut self, key: &'a str) -> BoxFuture<'a, Result<Option<i64>, ClientError>> {
        Box::pin(RegisterClient::read(self, key))
    }

    fn write<'a>(&'a mut self, key: &'a str, value: i64) -> BoxFuture<'a, Result<(), ClientError>> {
        Box::pin(RegisterClient::write(self, key, value))
    }

    fn cas<'a>(
        &'a mut self,
        key: &'a str,
        expected: i64,
        new: i64,
    ) -> BoxFuture<'a, Result<bool, ClientError>> {
        Box::pin(RegisterClient::cas(self, key, expected, new))
    }

    fn add<'a>(&'a mut self, key: &'a str, element: i64) -> BoxFuture<'a, Result<(), ClientError>> {
        Box::pin(SetClient::add(self, key, element))
    }

    fn read_set<'a>(&'a mut self, key: &'a str) -> BoxFuture<'a, Result<Vec<i64>, ClientError>> {
        Box::pin(SetClient::read_set(self, key))
    }

    fn incr<'a>(&'a mut self, key: &'a str, delta: i64) -> BoxFuture<'a, Result<(), ClientError>> {
        Box::pin(CounterClient::incr(self, key, delta))
    }

    fn read_counter<'a>(&'a mut self, key: &'a str) -> BoxFuture<'a, Result<i64, ClientError>> {
        Box::pin(CounterClient::read_counter(self, key))
    }
}

impl RegisterClient for Client {
    async fn read(&mut self, key: &str) -> Result<Option<i64>, ClientError> {
        self.0.read(key).await
    }

    async fn write(&mut self, key: &str, value: i64) -> Result<(), ClientError> {
        self.0.write(key, value).await
    }

    async fn cas(&mut self, key: &str, expected: i64, new: i64) -> Result<bool, ClientError> {
        self.0.cas(key, expected, new).await
    }
}

impl SetClient for Client {
    async fn add(&mut self, key: &str, element: i64) -> Result<(), ClientError> {
        self.0.add(key, element).await
    }

    async fn read_set(&mut self, key: &str) -> Result<Vec<i64>, ClientError> {
        self.0.read_set(key).await
    }
}

impl CounterClient for Client {
    async fn incr(&mut self, key: &str, delta: i64) -> Result<(), ClientError> {
        self.0.incr(key, delta).await
    }

    async fn read_counter(&mut self, key: &str) -> Result<i64, ClientError> {
        self.0.read_counter(key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_spread_over_the_nodes_read_from_names() {
        let nodes: Vec<SocketAddr> = (1..=3)
            .map(|i| format!("127.0.0.1:{i}").parse().unwrap())
            .collect();
        let at = |from, worker| read_addr(&nodes, from, worker).port();
        assert_eq!([0, 1, 2].map(|w| at(ReadFrom::Primary, w)), [1, 1, 1]);
        assert_eq!([0, 1, 2].map(|w| at(ReadFrom::Replica, w)), [2, 3, 2]);
        assert_eq!([0, 1, 2].map(|w| at(ReadFrom::Any, w)), [1, 2, 3]);
        // One node has no replica: reads go to the primary.
        assert_eq!(read_addr(&nodes[..1], ReadFrom::Replica, 5).port(), 1);
    }
}
