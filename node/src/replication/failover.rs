//! Automatic failover without consensus (`--failover-after D --peer ADDR ... --rank R`).
//!
//! Every [`PROBE_EVERY`] the node asks each peer `INFO server replication` (name, role, epoch)
//! and [`decide`]s, on what it saw alone:
//!
//! - **a primary** that sees a primary beating it — a higher epoch, or the same epoch and a lower
//!   name — demotes itself and follows that one (full resync: its writes the other lacks vanish);
//! - **a replica** follows the best primary it sees when that one stands in a higher epoch than
//!   its own, or when its own primary has been silent for `D` (a primary that lost a tie);
//! - **a replica** whose primary has been silent for `D + R ×` [`STAGGER`] and that sees no
//!   primary in its epoch or later promotes itself, one epoch above the highest it saw. The stagger
//!   by rank makes one replica usually promote first and the others then find and follow it.
//!
//! Nothing is voted on, so nothing stops two sides of a partition from each having a primary:
//! the old primary, cut off, keeps acknowledging writes while a replica is promoted behind it.
//! After the heal it sees the newer epoch, demotes itself and resyncs, and the writes it
//! acknowledged alone are lost — the anomaly Jepsen found in Redis Sentinel.
//!
//! ```text
//!   n1 primary e0 ──── partition ─────────────── heal ── n1 sees n2 (e1) → replica of n2, resync
//!   n2 replica    ──── silent D ─ promote e1 ─────────── n2 primary e1
//!   n3 replica    ──── silent D+1s ─ sees n2 e1 → follows n2
//! ```

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::{interval, timeout, MissedTickBehavior};
use tracing::{debug, info};

use super::{Upstream, HEARTBEAT};
use crate::args::NodeArgs;
use crate::reply::{self, Reply};
use crate::state::{Role, Server};

/// How often a node asks its peers how they stand.
pub const PROBE_EVERY: Duration = Duration::from_millis(250);
/// How long one peer may take to answer a probe.
const PROBE_TIMEOUT: Duration = Duration::from_millis(400);
/// How much longer each rank waits before promoting itself.
pub const STAGGER: Duration = Duration::from_secs(1);

/// A node's failover settings.
#[derive(Debug, Clone)]
pub struct Plan {
    /// How long a replica's primary must be silent before the replica acts.
    pub after: Duration,
    /// This node's rank (0 for the first node): promotion waits `rank ×` [`STAGGER`] longer.
    pub rank: u32,
    /// The other nodes, `HOST:PORT` as this node reaches them.
    pub peers: Vec<String>,
}

impl Plan {
    /// The automatic failover `args` ask for, if any; errors name the option.
    pub fn from_args(args: &NodeArgs) -> anyhow::Result<Option<Plan>> {
        let Some(after) = args.failover_after else {
            return Ok(None);
        };
        if after <= HEARTBEAT {
            bail!(
                "--failover-after {after:?}: must be longer than the primary's heartbeat \
                 ({HEARTBEAT:?}), or a healthy primary looks silent between two"
            );
        }
        if let Some(bad) = args.peer.iter().find(|p| !p.contains(':')) {
            bail!("--peer {bad:?}: not HOST:PORT");
        }
        Ok(Some(Plan {
            after,
            rank: args.rank,
            peers: args.peer.clone(),
        }))
    }
}

/// How a peer answered a probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerView {
    /// Where this node reaches it.
    pub addr: String,
    /// Its `--name`.
    pub name: String,
    /// Whether it is a primary.
    pub primary: bool,
    /// Its epoch.
    pub epoch: u64,
}

/// How this node stands, for [`decide`].
#[derive(Debug, Clone)]
pub struct Standing<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its epoch.
    pub epoch: u64,
    /// For a replica: its primary's address and how long that primary has been silent.
    pub following: Option<(String, Duration)>,
}

/// What a node does after a round of probes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing.
    Stay,
    /// Follow the primary at this address, which stands in this epoch.
    Follow(String, u64),
    /// Become a primary in an epoch above this one (the highest seen).
    Promote(u64),
}

/// Whether a primary in `(epoch, name)` beats one in `other`: the higher epoch, then the lower name.
fn beats(a: (u64, &str), b: (u64, &str)) -> bool {
    a.0 > b.0 || (a.0 == b.0 && a.1 < b.1)
}

/// What a node standing as `me` does, given the peers that answered and the plan's timings.
pub fn decide(me: &Standing<'_>, peers: &[PeerView], plan: &Plan) -> Decision {
    let best = peers.iter().filter(|p| p.primary).reduce(|a, b| {
        match beats((b.epoch, &b.name), (a.epoch, &a.name)) {
            true => b,
            false => a,
        }
    });
    let follow = |p: &PeerView| Decision::Follow(p.addr.clone(), p.epoch);
    match (&me.following, best) {
        (None, Some(best)) if beats((best.epoch, &best.name), (me.epoch, me.name)) => follow(best),
        (None, _) => Decision::Stay,
        (Some((upstream, silent)), best) => {
            if let Some(best) = best.filter(|b| &b.addr != upstream) {
                if best.epoch > me.epoch || (*silent >= plan.after && best.epoch >= me.epoch) {
                    return follow(best);
                }
            }
            let newer_primary = best.is_some_and(|b| b.epoch >= me.epoch);
            if *silent >= plan.after + STAGGER * plan.rank && !newer_primary {
                let seen = peers.iter().map(|p| p.epoch).max().unwrap_or(0);
                return Decision::Promote(seen.max(me.epoch));
            }
            Decision::Stay
        }
    }
}

/// Runs for the node's life: probes the peers and acts on [`decide`]'s answer.
pub async fn watch(server: Arc<Server>, plan: Plan) {
    let mut tick = interval(PROBE_EVERY);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let peers = probe_all(&plan.peers).await;
        let role = server.role();
        let following = match &role {
            Role::Primary { .. } => None,
            Role::Replica(up) => Some((up.to_string(), up.silent_for())),
        };
        let me = Standing {
            name: &server.name,
            epoch: role.epoch(),
            following,
        };
        match decide(&me, &peers, &plan) {
            Decision::Stay => {}
            Decision::Follow(addr, epoch) => {
                let Ok(upstream) = Upstream::parse(&addr, epoch) else {
                    continue;
                };
                info!(primary = %addr, epoch, "failover: following the newest primary");
                server.follow(upstream);
            }
            Decision::Promote(seen) => {
                let silent = me.following.map(|(_, s)| s).unwrap_or_default();
                let epoch = server.promote(seen);
                info!(
                    epoch,
                    "failover: primary silent for {silent:?}, promoted myself"
                );
            }
        }
    }
}

/// Every peer's answer, leaving out those that did not answer in time.
async fn probe_all(peers: &[String]) -> Vec<PeerView> {
    let mut asks = JoinSet::new();
    for addr in peers {
        let addr = addr.clone();
        asks.spawn(async move {
            match timeout(PROBE_TIMEOUT, probe(&addr)).await {
                Ok(Ok(view)) => Some(view),
                Ok(Err(e)) => {
                    debug!(peer = %addr, "probe failed: {e:#}");
                    None
                }
                Err(_) => None,
            }
        });
    }
    let mut views = Vec::new();
    while let Some(done) = asks.join_next().await {
        views.extend(done.ok().flatten());
    }
    views
}

/// Asks one peer `INFO server replication`.
async fn probe(addr: &str) -> anyhow::Result<PeerView> {
    let mut stream = TcpStream::connect(addr).await.context("connect")?;
    let info = reply::bulks(["INFO", "server", "replication"]);
    let frame = crate::peer::ask(&mut stream, &info).await?;
    let Reply::BulkString(text) = frame else {
        bail!("INFO answered {frame:?}");
    };
    let text = String::from_utf8_lossy(&text);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.trim_end().strip_prefix(name)?.strip_prefix(':'))
            .with_context(|| format!("INFO has no {name}"))
    };
    Ok(PeerView {
        addr: addr.to_owned(),
        name: field("node_name")?.to_owned(),
        primary: field("role")? == "master",
        epoch: field("epoch")?.parse().context("epoch")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: Duration = Duration::from_secs(2);

    fn plan(rank: u32) -> Plan {
        Plan {
            after: D,
            rank,
            peers: Vec::new(),
        }
    }

    fn peer(name: &str, primary: bool, epoch: u64) -> PeerView {
        PeerView {
            addr: format!("{name}:1"),
            name: name.into(),
            primary,
            epoch,
        }
    }

    fn replica<'a>(name: &'a str, epoch: u64, of: &str, silent: Duration) -> Standing<'a> {
        Standing {
            name,
            epoch,
            following: Some((format!("{of}:1"), silent)),
        }
    }

    #[test]
    fn the_plan_refuses_a_timeout_within_a_heartbeat_and_a_peer_without_port() {
        let mut args = NodeArgs {
            name: "n2".into(),
            bind: "127.0.0.1".into(),
            port: 7002,
            replica_of: None,
            replication_delay: Duration::ZERO,
            log: None,
            fsync: crate::record_log::Fsync::EverySecond,
            failover_after: None,
            peer: vec!["127.0.0.1:7001".into()],
            rank: 1,
            mode: crate::mode::Mode::Async,
            read_quorum: None,
            write_quorum: None,
            quorum_timeout: Duration::from_secs(1),
            gossip_interval: Duration::from_millis(100),
        };
        assert!(Plan::from_args(&args).unwrap().is_none());
        args.failover_after = Some(Duration::from_secs(1));
        let err = Plan::from_args(&args).unwrap_err().to_string();
        assert!(err.starts_with("--failover-after 1s"), "{err}");
        args.failover_after = Some(D);
        let plan = Plan::from_args(&args).unwrap().unwrap();
        assert_eq!((plan.after, plan.rank, plan.peers.len()), (D, 1, 1));
        args.peer.push("localhost".into());
        let err = Plan::from_args(&args).unwrap_err().to_string();
        assert_eq!(err, "--peer \"localhost\": not HOST:PORT");
    }

    #[test]
    fn a_primary_yields_to_a_newer_epoch_or_a_tie_with_a_lower_name() {
        let n1 = Standing {
            name: "n1",
            epoch: 0,
            following: None,
        };
        let peers = [peer("n2", true, 1), peer("n3", false, 1)];
        assert_eq!(
            decide(&n1, &peers, &plan(0)),
            Decision::Follow("n2:1".into(), 1)
        );
        assert_eq!(
            decide(&n1, &[peer("n2", true, 0)], &plan(0)),
            Decision::Stay,
            "a tie goes to the lower name"
        );
        let n3 = Standing { name: "n3", ..n1 };
        assert_eq!(
            decide(&n3, &[peer("n2", true, 0)], &plan(2)),
            Decision::Follow("n2:1".into(), 0)
        );
    }

    #[test]
    fn a_replica_promotes_after_its_silence_and_its_rank_with_no_primary_in_sight() {
        let peers = [peer("n3", false, 0)];
        let early = replica("n2", 0, "n1", D);
        assert_eq!(decide(&early, &peers, &plan(1)), Decision::Stay);
        let late = replica("n2", 0, "n1", D + STAGGER);
        assert_eq!(decide(&late, &peers, &plan(1)), Decision::Promote(0));
        let behind = [peer("n3", false, 4)];
        assert_eq!(
            decide(&late, &behind, &plan(1)),
            Decision::Promote(4),
            "above the highest epoch seen"
        );
    }

    #[test]
    fn a_replica_follows_a_newer_primary_instead_of_promoting() {
        let n3 = replica("n3", 0, "n1", D + STAGGER * 2);
        let peers = [peer("n1", true, 0), peer("n2", true, 1)];
        assert_eq!(
            decide(&n3, &peers, &plan(2)),
            Decision::Follow("n2:1".into(), 1)
        );
        let linked = replica("n3", 0, "n1", Duration::ZERO);
        assert_eq!(
            decide(&linked, &peers, &plan(2)),
            Decision::Follow("n2:1".into(), 1),
            "a newer epoch wins even while the old primary still streams"
        );
        let on_n2 = replica("n3", 1, "n2", Duration::ZERO);
        assert_eq!(decide(&on_n2, &peers, &plan(2)), Decision::Stay);
    }

    #[test]
    fn an_old_primary_in_sight_does_not_stop_a_promotion_in_a_later_epoch() {
        // n2 already took epoch 1 from n4 once; n1 (epoch 0) is visible but older.
        let n2 = replica("n2", 1, "n4", D + STAGGER);
        let peers = [peer("n1", true, 0)];
        assert_eq!(decide(&n2, &peers, &plan(1)), Decision::Promote(1));
    }
}
