//! The validated configuration of a test run: parsed once, used everywhere after.

use crate::attach::AttachChoice;
use crate::cli::{ClusterOpts, TestArgs};
use cluster::system::{System, SystemOption};
use cluster::systems::{self, Failover, Mode, Persistence, ReadConsistency};
use cluster::{ClientOptions, ClusterSpec, Lifetime, TargetOptions};
use cluster::{NetMode, ReadFrom, TargetKind};
use nemesis::{FaultKind, NemesisKinds};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;
use workloads::WorkloadKind;

/// Everything a run needs, checked for consistency.
#[derive(Debug, Clone, Serialize)]
pub struct TestConfig {
    /// The test's name (store sub-directory).
    pub name: String,
    /// The cluster.
    #[serde(flatten)]
    pub cluster: ClusterChoice,
    /// Number of concurrent clients.
    pub concurrency: usize,
    /// Operations per second over all clients.
    pub rate: f64,
    /// How long clients issue operations.
    #[serde(with = "secs")]
    pub time_limit: Duration,
    /// Where reads go.
    pub read_from: ReadFrom,
    /// What clients do.
    pub workload: WorkloadKind,
    /// The checker that judges it: the workload's, or its linearizable model where the system
    /// so configured promises linearizability.
    pub checker: checker::ModelKind,
    /// Redis: replicas to WAIT for after each write.
    pub wait_replicas: Option<u32>,
    /// etcd: serializable reads instead of linearizable ones.
    pub serializable_reads: bool,
    /// Clients move to the next node when theirs stops answering.
    pub cascade: bool,
    /// Which faults.
    pub nemesis: NemesisKinds,
    /// Quiet and fault window length.
    #[serde(with = "secs")]
    pub nemesis_interval: Duration,
    /// The seed.
    pub seed: u64,
    /// Number of keys in use at once.
    pub keys: usize,
    /// Register: operations a key receives before a fresh key replaces it.
    pub ops_per_key: Option<u64>,
    /// End the workload at the first key found not linearizable while the run goes.
    pub stop_on_anomaly: bool,
    /// The mix as given (`--mix`), for the record.
    #[serde(serialize_with = "as_text")]
    pub mix: Option<workloads::Mix>,
    /// The weights the workload draws its kinds with.
    #[serde(skip)]
    pub weights: workloads::Weights,
    /// Client operation timeout.
    #[serde(with = "secs")]
    pub op_timeout: Duration,
    /// The run store.
    pub store: PathBuf,
    /// JSON output.
    pub json: bool,
    /// Keep the verdict of a run that did not test what was asked.
    pub accept_inadequate: bool,
    /// The words after `faultline` that asked for this run (`--like` repeats them).
    pub command: Vec<String>,
    /// A running cluster to attach to (`--attach`) instead of starting one.
    pub attach: Option<AttachChoice>,
}

/// A validated choice of cluster: target, size, network.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterChoice {
    /// System under test.
    pub target: TargetKind,
    /// Number of nodes.
    pub nodes: usize,
    /// How the hosts are laid out.
    pub net: NetMode,
    /// netns mode: first two octets of the private range.
    pub subnet_base: [u8; 2],
    /// Own nodes' replication delay.
    #[serde(with = "secs")]
    pub replication_delay: Duration,
    /// Own nodes: the replication design.
    pub mode: Mode,
    /// `--mode quorum`: replicas a read waits for, if set.
    pub read_quorum: Option<usize>,
    /// `--mode quorum`: replicas a write waits for, if set.
    pub write_quorum: Option<usize>,
    /// Redis and own nodes: how failover happens.
    pub failover: Failover,
    /// Redis and own nodes: persistence.
    pub persistence: Persistence,
    /// How long startup and recovery may take.
    #[serde(with = "secs")]
    pub ready_timeout: Duration,
    /// Remote nodes (`--nodes HOST,…`): node `i`'s host; empty for nodes on this machine.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remote_hosts: Vec<cluster::ssh::SshTarget>,
    /// Remote nodes: install the packages of programs a host lacks (`--install`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub install: bool,
}

impl ClusterChoice {
    /// Validates the cluster options; every error names the option at fault.
    pub fn resolve(opts: &ClusterOpts) -> Result<ClusterChoice, String> {
        let (target, failover, persistence) = (opts.target, opts.failover, opts.persistence);
        let remote_hosts = crate::remote::resolve(opts)?;
        let net = if remote_hosts.is_empty() {
            opts.net.resolve()
        } else {
            NetMode::Ssh
        };
        let subnet_base = parse_subnet(&opts.subnet).map_err(|e| format!("--subnet: {e}"))?;
        let nodes = opts.nodes.count();
        if nodes == 0 || nodes > 9 {
            return Err(format!("--nodes: must be 1 to 9, got {nodes}"));
        }
        if opts.ready_timeout.is_zero() {
            return Err("--ready-timeout: must be longer than 0s".into());
        }
        let mode = opts.mode;
        let sizes = [
            ("--read-quorum", opts.read_quorum),
            ("--write-quorum", opts.write_quorum),
        ];
        if let Some((option, _)) = sizes.iter().find(|(_, size)| size.is_some()) {
            if (target, mode) != (TargetKind::Own, Mode::Quorum) {
                return Err(format!(
                    "{option}: applies to --target own --mode quorum only"
                ));
            }
        }
        let options = TargetOptions {
            failover,
            persistence,
            replication_delay_ms: opts.replication_delay.unwrap_or_default().as_millis() as u64,
            own_exe: PathBuf::new(),
            mode,
            read_quorum: opts.read_quorum,
            write_quorum: opts.write_quorum,
        };
        let system = systems::build(target, &options);
        let used = [
            (mode != Mode::Async, SystemOption::Mode(mode)),
            (
                opts.replication_delay.is_some(),
                SystemOption::ReplicationDelay,
            ),
            (failover != Failover::None, SystemOption::Failover(failover)),
            (persistence != Persistence::None, SystemOption::Persistence),
        ];
        for (_, option) in used.into_iter().filter(|(used, _)| *used) {
            if target == TargetKind::Own && mode != Mode::Async && !system.takes(option) {
                // The target takes it in another design: name the design that does not.
                return Err(format!(
                    "{}: does not apply to --mode {mode}",
                    option.flag()
                ));
            }
            systems::check_takes(&*system, option)?;
        }
        system.check_cluster(nodes)?;
        if net == NetMode::Netns && !cluster::capability::can_admin_network() {
            return Err(
                "--net netns: needs root or CAP_NET_ADMIN to create network namespaces".into(),
            );
        }
        Ok(ClusterChoice {
            target,
            nodes,
            net,
            subnet_base,
            replication_delay: opts.replication_delay.unwrap_or_default(),
            mode,
            read_quorum: opts.read_quorum,
            write_quorum: opts.write_quorum,
            failover,
            persistence,
            ready_timeout: opts.ready_timeout,
            remote_hosts,
            install: opts.install,
        })
    }

    /// The cluster spec of this choice, with its files under `dir` and its live record at
    /// `record`.
    pub fn spec(
        &self,
        dir: PathBuf,
        own_exe: PathBuf,
        lifetime: Lifetime,
        record: PathBuf,
        seed: u64,
    ) -> ClusterSpec {
        ClusterSpec {
            target: self.target,
            options: self.options(own_exe),
            nodes: self.nodes,
            net: self.net,
            subnet_base: self.subnet_base,
            dir,
            ready_timeout: self.ready_timeout,
            lifetime,
            record: Some(record),
            seed,
            remote_hosts: self.remote_hosts.clone(),
            install: self.install,
        }
    }

    /// The system this choice runs, shaped by its options (for its rules: it is never started).
    pub fn system(&self) -> Box<dyn System> {
        systems::build(self.target, &self.options(PathBuf::new()))
    }

    /// The options that shape the system, own nodes started from `own_exe`.
    fn options(&self, own_exe: PathBuf) -> TargetOptions {
        TargetOptions {
            failover: self.failover,
            persistence: self.persistence,
            replication_delay_ms: self.replication_delay.as_millis() as u64,
            own_exe,
            mode: self.mode,
            read_quorum: self.read_quorum,
            write_quorum: self.write_quorum,
        }
    }

    /// The node names n1, n2, … of this choice.
    pub fn node_names(&self) -> Vec<String> {
        (1..=self.nodes).map(|i| format!("n{i}")).collect()
    }
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
        let mut cluster = ClusterChoice::resolve(&args.cluster)?;
        let (read_from, workload) = (args.read_from, args.workload);
        let mut nemesis = args.nemesis;
        if let Some(spec) = args.partition {
            spec.grudge(&cluster.node_names())
                .map_err(|e| format!("--partition: {e}"))?;
            nemesis.0.push(FaultKind::Explicit(spec));
        }
        // An attached cluster has the nodes it was given, on a network faultline did not make:
        // one it reaches only as a client, or its hosts' own, cut by their rules (`--nodes`).
        let attach =
            AttachChoice::resolve(&args.attach, &args.cluster, &cluster.remote_hosts, &nemesis)?;
        if let Some(attach) = &attach {
            cluster.nodes = attach.addrs.len();
            if attach.hosts.is_empty() {
                cluster.net = NetMode::Loopback;
            }
        }
        for kind in &nemesis.0 {
            cluster
                .net
                .can_apply(kind)
                .map_err(|e| format!("--nemesis {kind}: {e}"))?;
        }
        let system = cluster.system();
        if nemesis.0.contains(&FaultKind::Byzantine) && !system.can_lie() {
            return Err(format!(
                "--nemesis byzantine: {} cannot be made to lie (own nodes can: --target own)",
                system.noun()
            ));
        }
        let needs = workload.unit().needs();
        systems::check_operations(&*system, &workload.to_string(), needs)?;
        let serializable_reads = args.read_consistency == ReadConsistency::Serializable;
        let clients = ClientOptions {
            read_from,
            timeout: args.op_timeout,
            wait_replicas: args.wait_replicas,
            serializable_reads,
            cascade: args.cascade,
        };
        if clients.wait_replicas.is_some() {
            systems::check_takes(&*system, SystemOption::WaitReplicas)?;
        }
        if clients.cascade && !system.takes(SystemOption::Cascade) {
            return Err(format!(
                "--cascade: {} have a client per node it cannot leave; use --target own \
                 --mode quorum or gossip",
                system.noun()
            ));
        }
        system.check_clients(cluster.nodes, &clients)?;
        let unit = workload.unit();
        let checker = match unit.linearizable_model() {
            Some(model) if system.linearizable(&clients) => model,
            _ => unit.model(),
        };
        if serializable_reads {
            systems::check_takes(&*system, SystemOption::ReadConsistency)?;
        }
        if read_from == ReadFrom::Replica && cluster.nodes < 2 {
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
        if args.ops_per_key == Some(0) {
            return Err("--ops-per-key: must be at least 1".into());
        }
        let weights = workloads::Weights::resolve(workload.unit().kinds(), args.mix.as_ref())
            .map_err(|e| format!("--mix: the {workload} workload has {e}"))?;
        if args.ops_per_key.is_some() && !workload.unit().keyed() {
            return Err(format!(
                "--ops-per-key: the {workload} workload keeps one key, so it has no keys to move on from"
            ));
        }
        if args.stop_on_anomaly && args.ops_per_key.is_none() {
            return Err(
                "--stop-on-anomaly: needs --ops-per-key (a key is checked while the run \
                        goes once it has had its operations)"
                    .into(),
            );
        }
        if args.op_timeout.is_zero() {
            return Err("--op-timeout: must be longer than 0s".into());
        }
        let seed = args.seed.unwrap_or_else(fresh_seed);
        Ok(TestConfig {
            name: args.name.unwrap_or_else(|| match cluster.mode {
                Mode::Async => format!("{}-{workload}", cluster.target),
                mode => format!("{}-{mode}-{workload}", cluster.target),
            }),
            cluster,
            concurrency: args.concurrency,
            rate: args.rate,
            time_limit: args.time_limit,
            read_from,
            workload,
            checker,
            wait_replicas: args.wait_replicas,
            serializable_reads,
            cascade: args.cascade,
            nemesis,
            nemesis_interval: args.nemesis_interval,
            seed,
            keys: args.keys,
            ops_per_key: args.ops_per_key,
            stop_on_anomaly: args.stop_on_anomaly,
            mix: args.mix,
            weights,
            op_timeout: args.op_timeout,
            store: args.store,
            json: args.json,
            accept_inadequate: args.accept_inadequate,
            command: Vec::new(),
            attach,
        })
    }
}

/// Records an option by its text, as typed (`read=1,write=1`).
fn as_text<T: std::fmt::Display, S: serde::Serializer>(
    value: &Option<T>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => s.serialize_str(&v.to_string()),
        None => s.serialize_none(),
    }
}

/// Parses `A.B`, the first two octets of a private /16.
fn parse_subnet(text: &str) -> Result<[u8; 2], String> {
    let octets: Vec<u8> = text
        .split('.')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| format!("'{text}' is not two octets like 10.77"))?;
    match octets[..] {
        [a, b] if a == 10 || (a == 172 && (16..32).contains(&b)) || (a == 192 && b == 168) => {
            Ok([a, b])
        }
        [_, _] => Err(format!(
            "'{text}' is not a private range (10.x, 172.16-31.x or 192.168)"
        )),
        _ => Err(format!("'{text}' is not two octets like 10.77")),
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

    /// Parses and validates `faultline test EXTRA…`; either step's error, as text.
    fn resolve(extra: &[&str]) -> Result<TestConfig, String> {
        let mut argv = vec!["faultline", "test"];
        argv.extend_from_slice(extra);
        match crate::cli::Cli::try_parse_from(argv)
            .map_err(|e| e.to_string())?
            .command
        {
            crate::cli::Command::Test(a) => TestConfig::resolve(a),
            _ => unreachable!(),
        }
    }

    #[test]
    fn defaults_are_own_nodes_with_pauses() {
        let c = resolve(&["--seed", "4", "--net", "loopback"]).unwrap();
        assert_eq!(
            (c.cluster.target, c.cluster.nodes, c.seed, c.cluster.net),
            (TargetKind::Own, 3, 4, NetMode::Loopback)
        );
        assert_eq!(c.nemesis.0, vec![FaultKind::Pause]);
        assert_eq!(c.name, "own-register");
    }

    #[test]
    fn the_quorum_design_takes_its_own_options_and_refuses_the_async_ones() {
        let quorum = ["--mode", "quorum", "--net", "proxy"];
        let ok = |extra: &[&str]| resolve(&[&quorum[..], extra].concat());
        let c = ok(&["--read-quorum", "1", "--write-quorum", "3"]).unwrap();
        assert_eq!(c.name, "own-quorum-register");
        assert_eq!(
            (c.cluster.read_quorum, c.cluster.write_quorum),
            (Some(1), Some(3))
        );
        let e = |extra: &[&str]| ok(extra).unwrap_err();
        assert_eq!(
            e(&["--write-quorum", "4"]),
            "--write-quorum 4: must be 1 to 3 (--nodes)"
        );
        assert_eq!(
            e(&["--replication-delay", "100ms"]),
            "--replication-delay: does not apply to --mode quorum"
        );
        let durable = ok(&["--persistence", "aof-always"]).unwrap();
        assert_eq!(durable.cluster.persistence, Persistence::AofAlways);
        assert_eq!(
            e(&["--failover", "auto"]),
            "--failover auto: does not apply to --mode quorum"
        );
        assert!(
            e(&["--read-from", "any"]).starts_with("--read-from: a quorum cluster has no primary")
        );
        assert_eq!(
            resolve(&["--read-quorum", "2"]).unwrap_err(),
            "--read-quorum: applies to --target own --mode quorum only"
        );
        assert_eq!(
            resolve(&["--target", "redis", "--mode", "quorum"]).unwrap_err(),
            "--mode quorum: applies to --target own only"
        );
    }

    #[test]
    fn errors_name_the_option() {
        let err = |args: &[&str]| resolve(args).unwrap_err();
        // Choices are refused by clap, which names the option and the possible values.
        let e = err(&["--target", "mongo"]);
        assert!(
            e.contains("'mongo'") && e.contains("--target") && e.contains("own, redis, etcd"),
            "{e}"
        );
        assert!(err(&["--read-from", "x"]).contains("--read-from"));
        let e = err(&["--nemesis", "x"]);
        assert!(e.contains("--nemesis") && e.contains("half-open"), "{e}");
        let e = err(&["--nemesis", "none,pause"]);
        assert!(e.contains("cannot be combined"), "{e}");
        assert!(err(&["--nodes", "0"]).starts_with("--nodes"));
        assert!(err(&["--rate", "0"]).starts_with("--rate"));
        let e = err(&["--target", "redis", "--replication-delay", "1s"]);
        assert!(e.starts_with("--replication-delay"), "{e}");
        let e = err(&["--nemesis", "loss", "--net", "loopback"]);
        assert!(
            e.starts_with("--nemesis loss: link faults need --net proxy"),
            "{e}"
        );
        let e = err(&["--nemesis", "pause,partition", "--net", "loopback"]);
        assert!(e.contains("--net netns or proxy"), "{e}");
        assert!(resolve(&["--nemesis", "half-open,partition", "--net", "proxy"]).is_ok());
        assert!(err(&["--partition", "n1|n9", "--net", "proxy"]).contains("n9"));
        assert!(err(&["--subnet", "8.8"]).starts_with("--subnet"));
        let e = err(&["--net", "wifi"]);
        assert!(
            e.contains("--net") && e.contains("auto, netns, proxy, loopback"),
            "{e}"
        );
        let e = err(&["--nodes", "1", "--read-from", "replica"]);
        assert!(e.contains("--read-from replica"), "{e}");
        assert!(err(&["--failover", "sentinel"]).starts_with("--failover sentinel: applies"));
        assert!(resolve(&[
            "--target",
            "redis",
            "--failover",
            "sentinel",
            "--net",
            "proxy",
        ])
        .is_ok());
        assert!(resolve(&["--target", "etcd", "--net", "proxy"]).is_ok());
        let e = err(&[
            "--target",
            "redis",
            "--failover",
            "sentinel",
            "--nodes",
            "2",
        ]);
        assert!(e.contains("--nodes 3"), "{e}");
        // Own nodes keep sets: the set workload runs on the default target.
        assert_eq!(
            resolve(&["--workload", "set"]).unwrap().workload,
            WorkloadKind::Set
        );
        assert!(err(&["--workload", "bank"]).contains("--workload"));
        let e = err(&["--ops-per-key", "0"]);
        assert_eq!(e, "--ops-per-key: must be at least 1");
        let e = err(&[
            "--workload",
            "set",
            "--target",
            "redis",
            "--ops-per-key",
            "9",
        ]);
        assert!(
            e.starts_with("--ops-per-key: the set workload keeps one key"),
            "{e}"
        );
        assert_eq!(
            resolve(&["--ops-per-key", "9"]).unwrap().ops_per_key,
            Some(9)
        );
        // The counter is judged by its linearizable model where the system so configured
        // promises it, by its bounds elsewhere.
        let checker = |args: &[&str]| {
            let mut all = vec!["--workload", "counter"];
            all.extend_from_slice(args);
            resolve(&all).unwrap().checker.name()
        };
        assert_eq!(checker(&[]), "counter");
        assert_eq!(checker(&["--read-from", "replica"]), "counter-bounds");
        assert_eq!(checker(&["--target", "redis"]), "counter-bounds");
        assert_eq!(checker(&["--target", "etcd"]), "counter");
        let serializable = ["--target", "etcd", "--read-consistency", "serializable"];
        assert_eq!(checker(&serializable), "counter-bounds");
        assert_eq!(resolve(&[]).unwrap().checker.name(), "cas-register");
        let e = err(&["--mix", "add=1"]);
        assert_eq!(
            e,
            "--mix: the register workload has no operation 'add'; its operations: read, write, cas"
        );
        let c = resolve(&["--mix", "read=1,cas=1"]).unwrap();
        let register = WorkloadKind::Register.unit().kinds();
        let asked = "read=1,cas=1".parse().unwrap();
        assert_eq!(
            c.weights,
            workloads::Weights::resolve(register, Some(&asked)).unwrap()
        );
        assert_eq!(serde_json::to_value(&c).unwrap()["mix"], "read=1,cas=1");
        assert!(err(&["--wait-replicas", "1"]).starts_with("--wait-replicas"));
        let e = err(&["--target", "redis", "--wait-replicas", "3"]);
        assert!(e.contains("at most 2 replicas"), "{e}");
        let c = resolve(&[
            "--time-limit",
            "10",
            "--nemesis-interval",
            "1.5",
            "--net",
            "proxy",
        ]);
        let c = c.unwrap();
        assert_eq!(
            (c.time_limit, c.nemesis_interval),
            (Duration::from_secs(10), Duration::from_millis(1500))
        );
        assert!(err(&["--time-limit", "soon"]).contains("--time-limit"));
        let e = err(&["--target", "etcd", "--read-consistency", "eventual"]);
        assert!(
            e.contains("'eventual'") && e.contains("--read-consistency"),
            "{e}"
        );
        let e = err(&["--target", "etcd", "--persistence", "aof-always"]);
        assert_eq!(e, "--persistence: applies to --target own or redis only");
        assert!(
            resolve(&["--persistence", "aof-always"]).is_ok(),
            "own nodes keep a log"
        );
    }
}
