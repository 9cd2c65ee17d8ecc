//! Clusters of nodes in the test's own process, for the leaderless designs' tests.
#![allow(dead_code)]

use clap::Parser;
use node::NodeArgs;
use redis::aio::MultiplexedConnection;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The node's own command line, so that every option takes its default.
#[derive(Parser)]
pub struct Cli {
    /// The node's options.
    #[command(flatten)]
    pub node: NodeArgs,
}

/// Three quorum nodes' listeners, bound before any starts so each knows the others' addresses.
pub struct Cluster {
    /// Each node's address, n1 first.
    pub addrs: Vec<SocketAddr>,
    /// Each node's listener until it starts (dropped: its port refuses).
    pub listeners: Vec<Option<TcpListener>>,
}

impl Cluster {
    /// Binds `n` loopback listeners.
    pub async fn bind(n: usize) -> Cluster {
        let mut listeners = Vec::new();
        for _ in 0..n {
            listeners.push(Some(TcpListener::bind("127.0.0.1:0").await.unwrap()));
        }
        let addrs = listeners
            .iter()
            .map(|l| l.as_ref().unwrap().local_addr().unwrap())
            .collect();
        Cluster { addrs, listeners }
    }

    /// Starts node `i` (n1 is 0) in `--mode mode` with `extra` options; aborting the handle stops
    /// it as a kill would.
    pub fn start(
        &mut self,
        i: usize,
        mode: &str,
        extra: &[&str],
    ) -> JoinHandle<anyhow::Result<()>> {
        let name = format!("n{}", i + 1);
        let mut argv = vec![
            "node".to_string(),
            "--mode".into(),
            mode.into(),
            "--name".into(),
            name,
            "--port".into(),
            "0".into(),
        ];
        for (j, addr) in self.addrs.iter().enumerate() {
            if j != i {
                argv.extend(["--peer".into(), addr.to_string()]);
            }
        }
        argv.extend(extra.iter().map(|s| s.to_string()));
        let args = Cli::parse_from(argv).node;
        let listener = self.listeners[i].take().expect("each node starts once");
        tokio::spawn(node::serve(args, listener))
    }

    /// A client of node `i`.
    pub async fn client(&self, i: usize) -> MultiplexedConnection {
        let client = redis::Client::open(format!("redis://{}/", self.addrs[i])).unwrap();
        client.get_multiplexed_async_connection().await.unwrap()
    }
}
