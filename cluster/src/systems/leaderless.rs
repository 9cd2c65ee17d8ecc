//! What the own node's leaderless designs (`quorum`, `gossip`) share: every node is started the
//! same way with every other node as a `--peer` (as it reaches it, so links and partitions act
//! on node-to-node traffic), stands as a peer, and serves the clients bound to it — each client
//! to one node, the clients spread over all of them.

use super::own::cas;
use crate::cascade::{Cascading, Connect};
use crate::client::{Client, ClientOptions, ReadFrom};
use crate::resp_client::RespClient;
use crate::system::{DaemonSpec, NodeAddrs, NodePlan};
use std::path::Path;

/// `faultline node --mode MODE` for `node`, its peers listed, then `extra` options.
pub(crate) fn daemon(
    exe: &Path,
    node: &NodePlan<'_>,
    mode: &str,
    extra: Vec<String>,
) -> DaemonSpec {
    let addr = node.addrs.client;
    let mut args = vec![
        "node".to_string(),
        "--mode".into(),
        mode.into(),
        "--name".into(),
        node.name.into(),
        "--bind".into(),
        addr.ip().to_string(),
        "--port".into(),
        addr.port().to_string(),
    ];
    for (name, peer) in &node.peers {
        if name != node.name {
            args.extend(["--peer".into(), peer.peer.to_string()]);
        }
    }
    args.extend(extra);
    DaemonSpec::server(exe.to_path_buf(), args, addr.port().to_string())
}

/// Worker `worker`'s client: reads and writes through one node (with `--cascade`, through the
/// next while its own fails).
pub(crate) fn client(nodes: &[NodeAddrs], worker: usize, opts: &ClientOptions) -> Client {
    let home = worker % nodes.len();
    if !opts.cascade {
        return node_client(&nodes[home], opts);
    }
    let timeout = opts.timeout;
    let connect: Connect = Box::new(move |a| RespClient::new(cas, a, a, timeout));
    let addrs = nodes.iter().map(|n| n.client).collect();
    Client::new(Cascading::new(addrs, home, connect))
}

/// A client of the node at `node` alone.
pub(crate) fn node_client(node: &NodeAddrs, opts: &ClientOptions) -> Client {
    Client::new(RespClient::new(cas, node.client, node.client, opts.timeout))
}

/// Refuses `--read-from` other than its default: there is no primary or replica to choose.
pub(crate) fn check_read_from(clients: &ClientOptions, design: &str) -> Result<(), String> {
    match clients.read_from {
        ReadFrom::Primary => Ok(()),
        _ => Err(format!(
            "--read-from: a {design} cluster has no primary or replicas; each client reads \
             and writes through one node, the clients spread over all of them"
        )),
    }
}
