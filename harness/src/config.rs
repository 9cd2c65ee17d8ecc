//! The validated configuration of a test run: parsed once, used everywhere after.

use crate::cli::TestArgs;
use cluster::{ReadFrom, TargetKind};
use nemesis::NemesisKind;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

/// Everything a run needs, checked for consistency.
#[derive(Debug, Clone, Serialize)]
pub struct TestConfig {
    /// The test's name (store sub-directory).
    pub name: String,
    /// System under test.
    pub target: TargetKind,
    /// Number of nodes.
    pub nodes: usize,
    /// Number of concurrent clients.
    pub concurrency: usize,
    /// Operations per second over all clients.
    pub rate: f64,
    /// How long clients issue operations.
    #[serde(with = "secs")]
    pub time_limit: Duration,
    /// Where reads go.
    pub read_from: ReadFrom,
    /// Which faults.
    pub nemesis: NemesisKind,
    /// Quiet and fault window length.
    #[serde(with = "secs")]
    pub nemesis_interval: Duration,
    /// The seed.
    pub seed: u64,
    /// Number of keys.
    pub keys: usize,
    /// Client operation timeout.
    #[serde(with = "secs")]
    pub op_timeout: Duration,
    /// Own nodes' replication delay.
    #[serde(with = "secs")]
    pub replication_delay: Duration,
    /// The run store.
    pub store: PathBuf,
    /// JSON output.
    pub json: bool,
}

/// Durations in results.json are seconds as floats.
mod secs {
    use serde::Serializer;
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}

impl TestConfig {
    /// Validates `args`; every error names the option at fault.
    pub fn resolve(args: TestArgs) -> Result<TestConfig, String> {
        let target: TargetKind = args.target.parse().map_err(|e| format!("--target: {e}"))?;
        let read_from: ReadFrom = args
            .read_from
            .parse()
            .map_err(|e| format!("--read-from: {e}"))?;
        let nemesis: NemesisKind = args
            .nemesis
            .parse()
            .map_err(|e| format!("--nemesis: {e}"))?;
        if args.nodes == 0 || args.nodes > 9 {
            return Err(format!("--nodes: must be 1 to 9, got {}", args.nodes));
        }
        if read_from == ReadFrom::Replica && args.nodes < 2 {
            return Err("--read-from replica needs --nodes 2 or more".into());
        }
        if args.concurrency == 0 || args.concurrency > 1000 {
            return Err(format!(
                "--concurrency: must be 1 to 1000, got {}",
                args.concurrency
            ));
        }
        if !(args.rate.is_finite() && args.rate > 0.0) {
            return Err(format!(
                "--rate: must be a positive number, got {}",
                args.rate
            ));
        }
        if args.time_limit.is_zero() {
            return Err("--time-limit: must be longer than 0s".into());
        }
        if args.nemesis_interval < Duration::from_millis(10) {
            return Err("--nemesis-interval: must be at least 10ms".into());
        }
        if args.keys == 0 {
            return Err("--keys: must be at least 1".into());
        }
        if args.op_timeout.is_zero() {
            return Err("--op-timeout: must be longer than 0s".into());
        }
        if args.replication_delay.is_some() && target != TargetKind::Own {
            return Err("--replication-delay: applies to --target own only".into());
        }
        let seed = args.seed.unwrap_or_else(fresh_seed);
        Ok(TestConfig {
            name: args.name.unwrap_or_else(|| format!("{target}-register")),
            target,
            nodes: args.nodes,
            concurrency: args.concurrency,
            rate: args.rate,
            time_limit: args.time_limit,
            read_from,
            nemesis,
            nemesis_interval: args.nemesis_interval,
            seed,
            keys: args.keys,
            op_timeout: args.op_timeout,
            replication_delay: args.replication_delay.unwrap_or_default(),
            store: args.store,
            json: args.json,
        })
    }
}

/// A seed for a run that was given none: not secret, only different from run to run.
fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    // Keep it short enough to retype from the terminal.
    (nanos ^ u64::from(std::process::id()).rotate_left(32)) % 1_000_000_000
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn resolve(extra: &[&str]) -> Result<TestConfig, String> {
        let mut argv = vec!["faultline", "test"];
        argv.extend_from_slice(extra);
        match crate::cli::Cli::try_parse_from(argv).unwrap().command {
            crate::cli::Command::Test(a) => TestConfig::resolve(a),
            _ => unreachable!(),
        }
    }

    #[test]
    fn defaults_are_own_nodes_with_pauses() {
        let c = resolve(&["--seed", "4"]).unwrap();
        assert_eq!(
            (c.target, c.nodes, c.nemesis, c.seed),
            (TargetKind::Own, 3, NemesisKind::Pause, 4)
        );
        assert_eq!(c.name, "own-register");
    }

    #[test]
    fn errors_name_the_option() {
        assert!(resolve(&["--target", "mongo"])
            .unwrap_err()
            .starts_with("--target: unknown target 'mongo'"));
        assert!(resolve(&["--read-from", "x"])
            .unwrap_err()
            .starts_with("--read-from"));
        assert!(resolve(&["--nemesis", "x"])
            .unwrap_err()
            .starts_with("--nemesis"));
        assert!(resolve(&["--nodes", "0"])
            .unwrap_err()
            .starts_with("--nodes"));
        assert!(resolve(&["--rate", "0"]).unwrap_err().starts_with("--rate"));
        let e = resolve(&["--target", "redis", "--replication-delay", "1s"]).unwrap_err();
        assert!(e.starts_with("--replication-delay"), "{e}");
        let e = resolve(&["--nodes", "1", "--read-from", "replica"]).unwrap_err();
        assert!(e.contains("--read-from replica"), "{e}");
    }
}
