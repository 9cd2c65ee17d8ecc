//! The node's replication design (`faultline node --mode`).

/// How a node replicates: the designs a course on replication names, one per choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Mode {
    /// One primary acknowledges writes, then streams them to its replicas (`replication`).
    #[default]
    Async,
    /// Leaderless: every node coordinates reads and writes over read and write quorums (`quorum`).
    Quorum,
    /// Peer to peer: every node answers from its own data and gossips it to the others, which
    /// merge it (`gossip`).
    Gossip,
}
