//! How a client of own nodes with `--failover auto` finds the primary: it asks every node its
//! role and epoch and takes the primary in the highest epoch, the rule the nodes themselves
//! follow. During a split brain a client that reaches both primaries writes to the newer one; a
//! client that still holds the old one's connection keeps writing there until it asks again.

use crate::client::BoxFuture;
use crate::probe;
use crate::resp_client::LocatePrimary;
use std::net::SocketAddr;
use std::time::Duration;

/// Longest a client waits for one node's answer while locating: a paused node must not hold
/// every relocation for the client's whole timeout.
const ASK_TIMEOUT: Duration = Duration::from_millis(200);

/// Finds the primary in the highest epoch among the nodes at `nodes` (first node first).
pub struct EpochLocator {
    nodes: Vec<SocketAddr>,
}

impl EpochLocator {
    /// A locator asking the nodes at `nodes`, in node order (the tie-break, as the nodes' own).
    pub fn new(nodes: Vec<SocketAddr>) -> EpochLocator {
        EpochLocator { nodes }
    }

    /// The newest primary, by every node's answer within `timeout` (at most [`ASK_TIMEOUT`]).
    pub async fn locate(&self, timeout: Duration) -> Result<SocketAddr, String> {
        let wait = timeout.min(ASK_TIMEOUT);
        let asks = self.nodes.iter().map(|&at| probe::replication(at, wait));
        let answers = futures_util::future::join_all(asks).await;
        let mut best: Option<(u64, SocketAddr)> = None;
        let mut errors = Vec::new();
        for (&at, answer) in self.nodes.iter().zip(answers) {
            match answer {
                Ok(r) if r.role == "master" => {
                    let epoch = r.epoch.unwrap_or_default();
                    if best.is_none_or(|(e, _)| epoch > e) {
                        best = Some((epoch, at));
                    }
                }
                Ok(_) => {}
                Err(e) => errors.push(e),
            }
        }
        best.map(|(_, at)| at).ok_or_else(|| {
            let why = match errors.is_empty() {
                true => String::new(),
                false => format!(" ({})", errors.join("; ")),
            };
            format!("no node says it is the primary{why}")
        })
    }
}

impl LocatePrimary for EpochLocator {
    fn locate(&mut self, timeout: Duration) -> BoxFuture<'_, Result<SocketAddr, String>> {
        Box::pin(EpochLocator::locate(self, timeout))
    }
}
