//! Before the final reads: every replica catches up with the primary, or is named as behind.
//!
//! A final read stands for "what this node kept". Taken from a replica still replaying the
//! primary's stream, it lacks the newest writes for no fault of the system: those look lost
//! though they are only late. So once the cluster has recovered, the primary's position (Redis's
//! `master_repl_offset`, etcd's raft index, an own node's write number) is the mark, and each
//! node must report a position at least that far, with its replication link up, before its
//! final read counts. A node that has not within the deadline is reported ("n2 still 8,966 bytes
//! behind the primary after 20.0 s") and its read is not taken as a final read.
//!
//! ```text
//!   heal     recovered   n1 (primary) at 47,800 = the mark
//!    │           │       n3 at 47,800 ─ caught up
//!    │           │       n2 at 38,834 … 47,800 ─ caught up 0.3 s later → its read is final
//! ```
//!
//! A leaderless cluster has no primary to catch up with. Gossip nodes report a digest of their
//! data: the wait is for every node to report the same one (converged); nodes that still differ
//! at the deadline are named, and their final reads are judged as they are — divergence after
//! the heal is a finding, not lateness. Quorum nodes report nothing to wait for: each final read
//! is a quorum read the node coordinates.

use cluster::system::{NodeStatus, Role};
use cluster::Cluster;
use nemesis::ClusterControl;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How one node stood against the mark.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum NodeCatchUp {
    /// It reached the mark (the primary reaches it at once).
    CaughtUp {
        /// Its position when it was seen at the mark or past it.
        position: i64,
        /// Seconds after the wait began.
        after_secs: f64,
    },
    /// A leaderless node whose data's digest is the one every node reached.
    Converged {
        /// The digest.
        digest: String,
        /// Seconds after the wait began.
        after_secs: f64,
    },
    /// A leaderless node whose data still differed from another's at the deadline; its final
    /// read is judged as it is.
    Diverged {
        /// Its last digest, if it answered.
        digest: Option<String>,
    },
    /// It did not within the deadline.
    Behind {
        /// Its last position, if it reported one.
        position: Option<i64>,
        /// Why its final read is not taken as final.
        why: String,
    },
}

/// The outcome of waiting for the replicas, for results.json and the final reads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CatchUp {
    /// The primary when the wait began.
    pub primary: Option<String>,
    /// Its position then: what every node had to reach.
    pub mark: Option<i64>,
    /// What a position counts (bytes, raft entries, writes).
    pub unit: &'static str,
    /// Per node.
    pub nodes: BTreeMap<String, NodeCatchUp>,
    /// Why no mark could be set, in which case every node's read is taken as final as it is.
    pub error: Option<String>,
}

impl CatchUp {
    /// Why `node`'s final read must not be taken as final, if it must not.
    pub fn behind(&self, node: &str) -> Option<&str> {
        match self.nodes.get(node) {
            Some(NodeCatchUp::Behind { why, .. }) => Some(why),
            _ => None,
        }
    }
}

/// Follows the nodes' positions against the mark, round after round of statuses.
#[derive(Debug)]
struct Tracker {
    unit: &'static str,
    primary: Option<(String, i64)>,
    caught: BTreeMap<String, (i64, f64)>,
    last: BTreeMap<String, Result<NodeStatus, String>>,
}

impl Tracker {
    fn new(unit: &'static str) -> Tracker {
        Tracker {
            unit,
            primary: None,
            caught: BTreeMap::new(),
            last: BTreeMap::new(),
        }
    }

    /// Takes one round of statuses (in `names` order) seen `secs` after the wait began; true once
    /// every node has caught up.
    fn observe(
        &mut self,
        names: &[String],
        statuses: Vec<Result<NodeStatus, String>>,
        secs: f64,
    ) -> bool {
        if self.primary.is_none() {
            // The mark is the position of the one node reporting itself primary.
            let primaries: Vec<(&String, i64)> = names
                .iter()
                .zip(&statuses)
                .filter_map(|(n, s)| match s {
                    Ok(s) if s.role == Role::Primary => Some((n, s.position?)),
                    _ => None,
                })
                .collect();
            if let [(name, position)] = primaries[..] {
                self.primary = Some((name.clone(), position));
            }
        }
        for (name, status) in names.iter().zip(statuses) {
            if let (Some((_, mark)), Ok(s)) = (&self.primary, &status) {
                let linked = s.role == Role::Primary || s.link_up != Some(false);
                if linked
                    && s.position.is_some_and(|p| p >= *mark)
                    && !self.caught.contains_key(name)
                {
                    self.caught
                        .insert(name.clone(), (s.position.unwrap_or_default(), secs));
                }
            }
            self.last.insert(name.clone(), status);
        }
        self.primary.is_some() && names.iter().all(|n| self.caught.contains_key(n))
    }

    /// The outcome once waiting is over, `waited` after it began.
    fn outcome(self, names: &[String], waited: Duration) -> CatchUp {
        let waited = format!("{:.1} s", waited.as_secs_f64());
        let Some((primary, mark)) = self.primary else {
            return CatchUp {
                primary: None,
                mark: None,
                unit: self.unit,
                nodes: BTreeMap::new(),
                error: Some(format!(
                    "no single primary reported a replication position within {waited}, so \
                     catching up could not be judged"
                )),
            };
        };
        let nodes = names
            .iter()
            .map(|name| {
                let state = match (self.caught.get(name), self.last.get(name)) {
                    (Some(&(position, after_secs)), _) => NodeCatchUp::CaughtUp {
                        position,
                        after_secs,
                    },
                    (None, Some(Ok(s))) => NodeCatchUp::Behind {
                        position: s.position,
                        why: match s.position {
                            Some(p) if s.link_up == Some(false) && p >= mark => {
                                format!("{name}'s replication link was still down after {waited}")
                            }
                            Some(p) => format!(
                                "{name} still {} {} behind the primary ({primary}) after {waited}",
                                thousands(mark - p),
                                self.unit
                            ),
                            None => format!("{name} reported no replication position"),
                        },
                    },
                    (None, Some(Err(e))) => NodeCatchUp::Behind {
                        position: None,
                        why: format!("{name} did not answer for {waited}: {e}"),
                    },
                    (None, None) => NodeCatchUp::Behind {
                        position: None,
                        why: format!("{name} was never asked"),
                    },
                };
                (name.clone(), state)
            })
            .collect();
        CatchUp {
            primary: Some(primary),
            mark: Some(mark),
            unit: self.unit,
            nodes,
            error: None,
        }
    }
}

/// `8966` as `8,966`.
fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// How often positions are asked while waiting.
const POLL: Duration = Duration::from_millis(100);

/// Waits until every node of `cluster` has reached the primary's position (or, leaderless,
/// the same data), or `deadline`.
pub async fn wait(cluster: &Cluster, deadline: Duration) -> CatchUp {
    let names = cluster.node_names();
    let mut tracker = Tracker::new(cluster.system().position_unit());
    let began = Instant::now();
    loop {
        let statuses = cluster.statuses(Duration::from_millis(500)).await;
        let secs = began.elapsed().as_secs_f64();
        if let Some(leaderless) = leaderless(&names, &statuses, secs, began.elapsed() >= deadline) {
            return leaderless;
        }
        if tracker.observe(&names, statuses, secs) || began.elapsed() >= deadline {
            return tracker.outcome(&names, began.elapsed());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// For a leaderless cluster (every node that answered stands as a peer): the outcome once the
/// nodes report the same digest, or none to wait for, or `over` (the deadline passed); `None`
/// while gossip nodes still differ, or for a cluster with a primary.
fn leaderless(
    names: &[String],
    statuses: &[Result<NodeStatus, String>],
    secs: f64,
    over: bool,
) -> Option<CatchUp> {
    let answered: Vec<&NodeStatus> = statuses.iter().filter_map(|s| s.as_ref().ok()).collect();
    if answered.is_empty() || answered.iter().any(|s| s.role != Role::Peer) {
        return None;
    }
    let outcome = |nodes, error| CatchUp {
        primary: None,
        mark: None,
        unit: "digest",
        nodes,
        error,
    };
    if answered.iter().all(|s| s.digest.is_none()) {
        let why = "leaderless nodes without a digest: nothing to wait for, each node's final \
                   read is a quorum read it coordinates";
        return Some(outcome(BTreeMap::new(), Some(why.into())));
    }
    let digests: Vec<Option<&String>> = statuses
        .iter()
        .map(|s| s.as_ref().ok().and_then(|s| s.digest.as_ref()))
        .collect();
    let converged = digests.iter().all(|d| d.is_some() && *d == digests[0]);
    if !converged && !over {
        return None;
    }
    let nodes = names
        .iter()
        .zip(&digests)
        .map(|(name, digest)| {
            let state = match (converged, digest) {
                (true, Some(d)) => NodeCatchUp::Converged {
                    digest: d.to_string(),
                    after_secs: secs,
                },
                (_, d) => NodeCatchUp::Diverged {
                    digest: d.map(|d| d.to_string()),
                },
            };
            (name.clone(), state)
        })
        .collect();
    let error = (!converged).then(|| {
        let each: Vec<String> = names
            .iter()
            .zip(&digests)
            .map(|(n, d)| format!("{n} {}", d.map_or("(no answer)", |d| d.as_str())))
            .collect();
        format!(
            "the nodes' data still differed after {secs:.1} s ({}): every final read is judged \
             as it is",
            each.join(", ")
        )
    });
    Some(outcome(nodes, error))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["n1".into(), "n2".into(), "n3".into()]
    }

    fn at(role: Role, position: i64, link_up: Option<bool>) -> Result<NodeStatus, String> {
        Ok(NodeStatus {
            role,
            link_up,
            position: Some(position),
            leader: None,
            sentinel: None,
            epoch: None,
            digest: None,
            conflict_rule: None,
        })
    }

    #[test]
    fn a_lagging_replica_is_waited_for_and_the_mark_is_the_primary_at_the_start() {
        let mut t = Tracker::new("bytes");
        let first = vec![
            at(Role::Primary, 47_800, None),
            at(Role::Replica, 38_834, Some(true)),
            at(Role::Replica, 47_800, Some(true)),
        ];
        assert!(!t.observe(&names(), first, 0.0));
        // The primary moves on (a PING); n2 reaches the mark, not the primary's new position.
        let second = vec![
            at(Role::Primary, 47_814, None),
            at(Role::Replica, 47_800, Some(true)),
            at(Role::Replica, 47_814, Some(true)),
        ];
        assert!(t.observe(&names(), second, 0.3));
        let c = t.outcome(&names(), Duration::from_millis(300));
        assert_eq!((c.primary.as_deref(), c.mark), (Some("n1"), Some(47_800)));
        assert_eq!(
            c.nodes["n2"],
            NodeCatchUp::CaughtUp {
                position: 47_800,
                after_secs: 0.3
            }
        );
        assert_eq!(c.behind("n2"), None);
    }

    #[test]
    fn a_replica_that_never_catches_up_is_named_with_its_distance() {
        let mut t = Tracker::new("bytes");
        let round = || {
            vec![
                at(Role::Primary, 47_800, None),
                at(Role::Replica, 38_834, Some(true)),
                Err("n3: connection refused".to_string()),
            ]
        };
        assert!(!t.observe(&names(), round(), 0.0));
        assert!(!t.observe(&names(), round(), 20.0));
        let c = t.outcome(&names(), Duration::from_secs(20));
        assert_eq!(
            c.behind("n2"),
            Some("n2 still 8,966 bytes behind the primary (n1) after 20.0 s")
        );
        assert_eq!(
            c.behind("n3"),
            Some("n3 did not answer for 20.0 s: n3: connection refused")
        );
        assert_eq!(c.behind("n1"), None);
    }

    #[test]
    fn a_demoted_node_ahead_but_unlinked_has_not_caught_up() {
        // An old primary demoted after a partition reports its own, longer offset until it
        // resynchronises: ahead of the mark, yet its data is not the primary's.
        let mut t = Tracker::new("bytes");
        let round = vec![
            at(Role::Replica, 52_000, Some(false)),
            at(Role::Primary, 47_800, None),
            at(Role::Replica, 47_800, Some(true)),
        ];
        assert!(!t.observe(&names(), round, 1.0));
        let c = t.outcome(&names(), Duration::from_secs(1));
        assert_eq!(
            c.behind("n1"),
            Some("n1's replication link was still down after 1.0 s")
        );
    }

    #[test]
    fn without_a_single_primary_nothing_is_judged() {
        let mut t = Tracker::new("raft entries");
        let round = vec![
            at(Role::Replica, 5, Some(true)),
            at(Role::Replica, 5, Some(true)),
            at(Role::Replica, 5, Some(true)),
        ];
        assert!(!t.observe(&names(), round, 0.0));
        let c = t.outcome(&names(), Duration::from_secs(2));
        assert!(c.error.unwrap().starts_with("no single primary"));
        assert!(c.nodes.is_empty());
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
    }
}
