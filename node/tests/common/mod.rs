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

/// A node in a process of its own (the `faultline-node` binary), so that a test can kill it
/// with SIGKILL: nothing in its buffers reaches the disk, as after a crash. Killed on drop.
pub struct NodeProcess {
    /// Where it listens.
    pub addr: SocketAddr,
    child: std::process::Child,
}

impl NodeProcess {
    /// Starts `faultline-node` on `addr` with `args`, and waits (at most 10 s) until it accepts
    /// connections.
    pub async fn start(addr: SocketAddr, args: &[String]) -> NodeProcess {
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_faultline-node"))
            .args(["--port", &addr.port().to_string()])
            .args(args)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("faultline-node starts");
        let node = NodeProcess { addr, child };
        let began = tokio::time::Instant::now();
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            assert!(
                began.elapsed() < std::time::Duration::from_secs(10),
                "the node on {addr} never listened"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        node
    }

    /// Kills it with SIGKILL (by its pid) and waits for it to be gone.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// A client of it.
    pub async fn client(&self) -> MultiplexedConnection {
        let client = redis::Client::open(format!("redis://{}/", self.addr)).unwrap();
        client.get_multiplexed_async_connection().await.unwrap()
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `n` loopback addresses with free ports (below the ephemeral range, which other tests'
/// connections take source ports from), for nodes in processes.
pub fn free_addrs(n: usize) -> Vec<SocketAddr> {
    cluster::ports::listen_ports(n)
        .unwrap()
        .into_iter()
        .map(|port| SocketAddr::from(([127, 0, 0, 1], port)))
        .collect()
}

/// Sends `args` (a command and its arguments) and reads the answer as `T`; fails the test,
/// naming the command, on an error.
pub async fn query<T: redis::FromRedisValue>(c: &mut MultiplexedConnection, args: &[&str]) -> T {
    redis::cmd(args[0])
        .arg(&args[1..])
        .query_async(c)
        .await
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}
