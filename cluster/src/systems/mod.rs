//! The systems faultline can test, one folder each, and the one list that registers them.
//!
//! Each folder holds everything about its system: how its nodes launch, their status and the
//! cluster's health rule, its client, the options and client operations it takes, its ports and
//! how the fault proxy stands before it, all behind [`crate::system::System`].
//!
//! - [`own`]: faultline's own node (`faultline node`), asynchronous primary → replicas.
//! - [`quorum`]: faultline's own node in `--mode quorum`, leaderless with read and write quorums.
//! - [`gossip`]: faultline's own node in `--mode gossip`, peers gossiping mergeable data.
//! - [`redis`]: Debian's `redis-server`, one primary and replicas, optionally with a
//!   `redis-sentinel` beside each node ([`redis::sentinel`]).
//! - [`etcd`]: a static etcd 3.4 cluster, one member per node.
//!
//! Adding a system: its folder, a [`TargetKind`] variant (or, for another design of the own
//! node, a [`Mode`]) and its line in [`build`].

pub mod etcd;
pub mod failover;
pub mod gossip;
mod leaderless;
pub mod mode;
pub mod own;
pub mod persistence;
pub mod quorum;
pub mod redis;

pub use etcd::ReadConsistency;
pub use failover::Failover;
pub use mode::Mode;
pub use persistence::Persistence;

use crate::system::{System, SystemOption};
use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use workloads::Operations;

/// Which system a cluster runs (`--target`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// faultline's own node (`faultline node`).
    Own,
    /// Debian's `redis-server`, one primary and replicas via `replicaof`.
    Redis,
    /// Debian's `etcd` 3.4, one member per node.
    Etcd,
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Spelled as on the command line: clap's derive is the one list of names.
        f.write_str(
            self.to_possible_value()
                .expect("no skipped variant")
                .get_name(),
        )
    }
}

/// Options that shape a system beyond its kind; each system reads the ones it takes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TargetOptions {
    /// How failover happens (`--failover`).
    #[serde(default)]
    pub failover: Failover,
    /// Persistence (`--persistence`).
    #[serde(default)]
    pub persistence: Persistence,
    /// How long replication is held back, in milliseconds (`--replication-delay`).
    #[serde(default)]
    pub replication_delay_ms: u64,
    /// The faultline binary, started as `faultline node` for faultline's own nodes.
    #[serde(default)]
    pub own_exe: PathBuf,
    /// Own nodes: the replication design (`--mode`).
    #[serde(default)]
    pub mode: Mode,
    /// `--mode quorum`: replicas a read waits for (`--read-quorum`), a majority if unset.
    #[serde(default)]
    pub read_quorum: Option<usize>,
    /// `--mode quorum`: replicas a write waits for (`--write-quorum`), a majority if unset.
    #[serde(default)]
    pub write_quorum: Option<usize>,
}

/// The system `kind` shaped by `options`: the one list of systems.
pub fn build(kind: TargetKind, options: &TargetOptions) -> Box<dyn System> {
    match kind {
        TargetKind::Own => match options.mode {
            Mode::Async => Box::new(own::OwnSystem {
                exe: options.own_exe.clone(),
                failover: options.failover,
                replication_delay_ms: options.replication_delay_ms,
                persistence: options.persistence,
            }),
            Mode::Quorum => Box::new(quorum::QuorumSystem {
                exe: options.own_exe.clone(),
                read_quorum: options.read_quorum,
                write_quorum: options.write_quorum,
                persistence: options.persistence,
            }),
            Mode::Gossip => Box::new(gossip::GossipSystem {
                exe: options.own_exe.clone(),
                persistence: options.persistence,
            }),
        },
        TargetKind::Redis => Box::new(redis::RedisSystem {
            failover: options.failover,
            persistence: options.persistence,
        }),
        TargetKind::Etcd => Box::new(etcd::EtcdSystem),
    }
}

/// The names of the systems for which `offers` holds, as a choice: "redis or etcd".
fn which(offers: impl Fn(&dyn System) -> bool) -> String {
    let names: Vec<String> = TargetKind::value_variants()
        .iter()
        .filter(|&&kind| offers(&*build(kind, &TargetOptions::default())))
        .map(ToString::to_string)
        .collect();
    names.join(" or ")
}

/// The Debian package that provides `program`, one a system runs on its nodes (the program's own
/// name where none is known), for "install …" in errors.
pub fn package_of(program: &str) -> &str {
    match program {
        "redis-server" => redis::REDIS_PACKAGE,
        "redis-sentinel" => redis::sentinel::SENTINEL_PACKAGE,
        "etcd" => etcd::ETCD_PACKAGE,
        other => other,
    }
}

/// Refuses `option` unless `system` takes it; the error names the systems that do.
pub fn check_takes(system: &dyn System, option: SystemOption) -> Result<(), String> {
    match system.takes(option) {
        true => Ok(()),
        false => Err(option.refused(&which(|s| s.takes(option)))),
    }
}

/// Refuses workload `workload`, which needs the client operations `needs`, unless `system`
/// offers them; the error says what it keeps and names the systems that would do.
pub fn check_operations(
    system: &dyn System,
    workload: &str,
    needs: &[Operations],
) -> Result<(), String> {
    let offers = |s: &dyn System| needs.iter().all(|n| s.operations().contains(n));
    if offers(system) {
        return Ok(());
    }
    let kept: Vec<&str> = system.operations().iter().map(|o| o.noun()).collect();
    Err(format!(
        "--workload {workload}: {} keep {} only; use --target {}",
        system.noun(),
        kept.join(" and "),
        which(offers)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_named_by_the_package_that_provides_them() {
        assert_eq!(package_of("etcd"), "etcd-server");
        assert_eq!(package_of("redis-sentinel"), "redis-sentinel");
        assert_eq!(package_of("something-else"), "something-else");
    }

    #[test]
    fn choices_are_spelled_as_serialised() {
        // results.json (serde) and the command line (clap) must spell every choice alike.
        fn same<T: ValueEnum + Serialize + fmt::Display>() {
            for v in T::value_variants() {
                let json = serde_json::to_value(v).unwrap();
                assert_eq!(json.as_str(), Some(v.to_string().as_str()));
                assert!(T::from_str(&v.to_string(), false).is_ok());
            }
        }
        same::<TargetKind>();
        same::<Failover>();
        same::<Mode>();
        assert_eq!(TargetKind::from_str("etcd", false), Ok(TargetKind::Etcd));
        let aof = serde_json::to_value(Persistence::AofEverysec).unwrap();
        let name = Persistence::AofEverysec.to_possible_value().unwrap();
        assert_eq!(aof.as_str(), Some(name.get_name()));
    }

    #[test]
    fn refusals_name_the_systems_that_would_do() {
        let own = build(TargetKind::Own, &TargetOptions::default());
        assert_eq!(
            check_takes(&*own, SystemOption::WaitReplicas).unwrap_err(),
            "--wait-replicas: applies to --target redis only"
        );
        assert!(check_takes(&*own, SystemOption::ReplicationDelay).is_ok());
        // Each option's refusal in the words of the checks these replaced.
        let redis = build(TargetKind::Redis, &TargetOptions::default());
        assert_eq!(
            check_takes(&*redis, SystemOption::ReplicationDelay).unwrap_err(),
            "--replication-delay: applies to --target own only"
        );
        assert_eq!(
            check_takes(&*own, SystemOption::Failover(Failover::Sentinel)).unwrap_err(),
            "--failover sentinel: applies to --target redis only"
        );
        assert_eq!(
            check_takes(&*redis, SystemOption::Failover(Failover::Auto)).unwrap_err(),
            "--failover auto: applies to --target own only"
        );
        assert!(check_takes(&*own, SystemOption::Failover(Failover::Auto)).is_ok());
        assert_eq!(
            check_takes(&*redis, SystemOption::ReadConsistency).unwrap_err(),
            "--read-consistency: applies to --target etcd only"
        );
        // Every system offers every workload's operations today (own nodes keep sets since
        // they speak SADD and SMEMBERS), so no workload is refused on any target.
        for &kind in TargetKind::value_variants() {
            let system = build(kind, &TargetOptions::default());
            for workload in workloads::WorkloadKind::value_variants() {
                let needs = workload.unit().needs();
                let checked = check_operations(&*system, &workload.to_string(), needs);
                assert_eq!(checked, Ok(()), "--target {kind} --workload {workload}");
            }
        }
    }
}
