//! A cascade (`--cascade`): a client whose node stops answering moves to the next node, and
//! tries its own again after [`RETURN_AFTER`], as clients that follow the live nodes do. When a
//! node is paused or cut off, its clients' load falls on the survivors — visible in the report's
//! throughput and latency per node. Only for systems where any node serves any client (the own
//! node's leaderless designs).

use crate::client::Answered;
use crate::resp_client::RespClient;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use workloads::{ClientError, CounterClient, RegisterClient, SetClient};

/// How long a client that moved away stays before it tries its own node again.
pub const RETURN_AFTER: Duration = Duration::from_secs(2);

/// Makes the client of one node.
pub type Connect = Box<dyn Fn(SocketAddr) -> RespClient + Send>;

/// A client bound to its own node that moves on to the next one after any failed operation.
pub struct Cascading {
    nodes: Vec<SocketAddr>,
    home: usize,
    at: usize,
    /// When it left its own node, while it is away.
    left: Option<Instant>,
    connect: Connect,
    client: RespClient,
}

impl Cascading {
    /// A client of `nodes[home]`, moving over `nodes` in turn; `connect` makes each node's client.
    pub fn new(nodes: Vec<SocketAddr>, home: usize, connect: Connect) -> Cascading {
        let client = connect(nodes[home]);
        Cascading {
            nodes,
            home,
            at: home,
            left: None,
            connect,
            client,
        }
    }

    /// The node an operation goes to now: its own again once it has been away long enough.
    fn before(&mut self) {
        if self.left.is_some_and(|left| left.elapsed() >= RETURN_AFTER) {
            self.go(self.home);
        }
    }

    /// After an operation: on any failure (no answer, no quorum) on to the next node.
    fn after<T>(&mut self, outcome: &Result<T, ClientError>) {
        if outcome.is_err() && self.nodes.len() > 1 {
            self.go((self.at + 1) % self.nodes.len());
        }
    }

    fn go(&mut self, to: usize) {
        self.at = to;
        self.left = match (to == self.home, self.left) {
            (true, _) => None,
            (false, None) => Some(Instant::now()),
            (false, left) => left,
        };
        self.client = (self.connect)(self.nodes[to]);
    }
}

impl Answered for Cascading {
    fn answered_by(&self) -> Option<SocketAddr> {
        self.client.answered_by()
    }
}

impl Cascading {
    /// Runs `op` on the node the client is at, moving on after a failure.
    async fn call<T>(
        &mut self,
        op: impl AsyncFnOnce(&mut RespClient) -> Result<T, ClientError>,
    ) -> Result<T, ClientError> {
        self.before();
        let outcome = op(&mut self.client).await;
        self.after(&outcome);
        outcome
    }
}

impl RegisterClient for Cascading {
    async fn read(&mut self, key: &str) -> Result<Option<i64>, ClientError> {
        self.call(async |c| c.read(key).await).await
    }

    async fn write(&mut self, key: &str, value: i64) -> Result<(), ClientError> {
        self.call(async |c| c.write(key, value).await).await
    }

    async fn cas(&mut self, key: &str, expected: i64, new: i64) -> Result<bool, ClientError> {
        self.call(async |c| c.cas(key, expected, new).await).await
    }
}

impl SetClient for Cascading {
    async fn add(&mut self, key: &str, element: i64) -> Result<(), ClientError> {
        self.call(async |c| c.add(key, element).await).await
    }

    async fn read_set(&mut self, key: &str) -> Result<Vec<i64>, ClientError> {
        self.call(async |c| c.read_set(key).await).await
    }
}

impl CounterClient for Cascading {
    async fn incr(&mut self, key: &str, delta: i64) -> Result<(), ClientError> {
        self.call(async |c| c.incr(key, delta).await).await
    }

    async fn read_counter(&mut self, key: &str) -> Result<i64, ClientError> {
        self.call(async |c| c.read_counter(key).await).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_moves_on_and_the_client_comes_home_after_a_while() {
        let nodes: Vec<SocketAddr> = (1..=3)
            .map(|i| format!("127.0.0.1:{i}").parse().unwrap())
            .collect();
        let connect: Connect =
            Box::new(|a| RespClient::new(crate::systems::own::cas, a, a, Duration::from_secs(1)));
        let mut c = Cascading::new(nodes, 2, connect);
        let failed: Result<(), ClientError> = Err(ClientError::DidNotHappen("down".into()));
        c.after(&Ok::<(), ClientError>(()));
        assert_eq!(c.at, 2, "a success stays");
        c.after(&failed);
        assert_eq!(
            (c.at, c.left.is_some()),
            (0, true),
            "on to the next, wrapping"
        );
        c.after(&failed);
        assert_eq!(c.at, 1);
        c.before();
        assert_eq!(c.at, 1, "not back before its time");
        c.left = Some(Instant::now() - RETURN_AFTER);
        c.before();
        assert_eq!((c.at, c.left), (2, None), "home again");
    }
}
