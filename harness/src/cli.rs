//! The command line as the user types it, every subcommand's `Args` in one place; `config.rs` turns
//! them into a validated run config.

use crate::check_readings::{FailedCasReading, NilReads};
use clap::{Args, Parser, Subcommand};
use cluster::systems::{Failover, Mode, Persistence, ReadConsistency};
use cluster::{NetChoice, ReadFrom, TargetKind};
use nemesis::{NemesisKinds, PartitionSpec};
use std::path::PathBuf;
use std::time::Duration;
use workloads::WorkloadKind;

/// faultline: a Jepsen-style test harness for distributed systems.
#[derive(Parser, Debug)]
#[command(name = "faultline", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// faultline's subcommands.
#[derive(Subcommand, Debug)]
// Parsed once per process: boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Start a cluster, run a workload under faults, check the history, write the run directory.
    // A later option overrides an earlier one: `--like` puts the recorded options first.
    #[command(args_override_self = true)]
    Test(TestArgs),
    /// Check saved histories (faultline JSONL, Jepsen EDN, Jepsen logs) for linearizability.
    Check(CheckArgs),
    /// Rebuild report.html of run directories from their files, and the store's index.html.
    Report(ReportArgs),
    /// A cluster to experiment with by hand: up, status, partition, heal, pause, resume, kill,
    /// restart, down.
    Cluster(ClusterArgs),
    /// Run one of faultline's own demo nodes (started by `test` for `--target own`).
    Node(node::NodeArgs),
    /// Run the tests of a suite file (TOML; each test takes `faultline test`'s options) in
    /// sequence: one summary table, a suite junit.xml and suite.json, one exit code.
    Suite(SuiteArgs),
    /// Measure faultline itself: `bench check` times the checker on simulated workloads, `bench
    /// faults` applying and healing faults, `bench throughput` the run's operations per second.
    Bench(BenchArgs),
}

/// Options of `faultline test` as typed; validated by `TestConfig::resolve` (config.rs).
#[derive(Args, Debug, Clone)]
pub struct TestArgs {
    /// The cluster to start.
    #[command(flatten)]
    pub cluster: ClusterOpts,
    /// Number of concurrent clients.
    #[arg(long, default_value_t = 5)]
    pub concurrency: usize,
    /// Target operations per second over all clients.
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    /// How long clients issue operations (e.g. 10s, 1m).
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    pub time_limit: Duration,
    /// Where reads go: the primary, a replica (spread over the replicas) or any node.
    #[arg(long, value_enum, default_value = "primary")]
    pub read_from: ReadFrom,
    /// What clients do: register (read, write, cas on a few keys; checked for linearizability)
    /// or set (add unique integers; every node's set read at the end; checked for lost adds).
    #[arg(long, value_enum, default_value = "register")]
    pub workload: WorkloadKind,
    /// Redis: after every write, WAIT until this many replicas acknowledged it (fewer within
    /// half of --op-timeout leaves the write indeterminate).
    #[arg(long)]
    pub wait_replicas: Option<u32>,
    /// etcd: linearizable reads (through the leader's read index) or serializable (any member's
    /// local state, possibly stale).
    #[arg(long, value_enum, default_value = "linearizable")]
    pub read_consistency: ReadConsistency,
    /// Own nodes in --mode quorum or gossip: a client whose node stops answering moves to the
    /// next node, and tries its own again 2 s later, so a paused or cut-off node's load falls
    /// on the survivors (the report's throughput and latency per node show it).
    #[arg(long)]
    pub cascade: bool,
    // Help is built from the one list of fault names (nemesis::nemesis_names), so it cannot drift.
    #[arg(long, default_value = "pause", help = nemesis_help())]
    pub nemesis: NemesisKinds,
    /// An explicit partition to inject, as components: "n1,n2|n3,n4,n5" (needs --net netns or
    /// proxy).
    #[arg(long)]
    pub partition: Option<PartitionSpec>,
    /// Length of each quiet and each fault window.
    #[arg(long, value_parser = parse_duration, default_value = "2s")]
    pub nemesis_interval: Duration,
    /// Seed for the operation stream and the fault schedule (random when absent; printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Number of keys the register workload uses at once.
    #[arg(long, default_value_t = 3)]
    pub keys: usize,
    /// Register: retire a key after this many operations and move on to a fresh one (Jepsen's
    /// independent keys), so a long run checks many small keys instead of a few huge ones.
    #[arg(long)]
    pub ops_per_key: Option<u64>,
    /// End the workload as soon as a key is found not linearizable (keys are checked as they
    /// retire, so this needs --ops-per-key): heal, tear down, and report it (exit 1).
    #[arg(long)]
    pub stop_on_anomaly: bool,
    /// How often each kind of operation is drawn, by the history's names: e.g. "read=1,write=1"
    /// for the register (read=2,write=1,cas=1 unless given), "add=1,read=1" for set or counter;
    /// a kind left out is not drawn.
    #[arg(long)]
    pub mix: Option<workloads::Mix>,
    /// How long a client waits for a reply before the operation is indeterminate.
    #[arg(long, value_parser = parse_duration, default_value = "1s")]
    pub op_timeout: Duration,
    /// Directory of the run store.
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
    /// Name of the test (the store sub-directory); defaults to <target>-<workload>.
    #[arg(long)]
    pub name: Option<String>,
    /// Print results.json to stdout instead of the human summary.
    #[arg(long)]
    pub json: bool,
    /// Repeat a recorded run: its command and seed, against a fresh cluster; options given
    /// beside it override the recorded ones.
    #[arg(long, value_name = "RUN_DIR")]
    pub like: Option<PathBuf>,
    /// Let a run that did not test what was asked (a requested fault never applied, no operation
    /// during a fault, a key without an acknowledged read or update) keep its verdict instead of
    /// `unknown` (exit 3); the shortfall stays in results.json.
    #[arg(long)]
    pub accept_inadequate: bool,
    /// A running cluster to attach to instead of starting one.
    #[command(flatten)]
    pub attach: AttachOpts,
}

/// `faultline test --attach …`: a cluster started outside faultline, driven and checked but
/// never started, stopped or written to outside the run's key prefix.
#[derive(Args, Debug, Clone, Default)]
pub struct AttachOpts {
    /// Attach to a running cluster instead of starting one: Redis nodes as host:port (primary
    /// and replicas in any order: each is asked its role), etcd members' client URLs
    /// (http://host:port). Faults need control of the nodes: their hosts with --nodes (over SSH:
    /// pause, partitions, loss), or their local pids with --attach-pids (pause); else --nemesis
    /// none. Never kill.
    #[arg(long, value_delimiter = ',', value_name = "ADDR,...")]
    pub attach: Vec<String>,
    /// With --attach: the nodes' local process ids, one per address in the same order, so that
    /// --nemesis pause can pause and resume them (each must show its node's port on its command
    /// line). faultline never kills or stops them.
    #[arg(long, value_delimiter = ',', value_name = "PID,...")]
    pub attach_pids: Vec<u32>,
    /// With --attach: every key the workload uses goes under this prefix (default
    /// faultline:<run directory name>:); it must hold no key when the run starts.
    #[arg(long, value_name = "PREFIX")]
    pub key_prefix: Option<String>,
    /// With --attach: leave the run's keys in the cluster at the end (by default everything under
    /// --key-prefix is deleted, and nothing else).
    #[arg(long)]
    pub keep_data: bool,
}

/// Options of `faultline suite`.
#[derive(Args, Debug, Clone)]
pub struct SuiteArgs {
    /// The suite file: `[[test]]` tables whose fields are `faultline test`'s options, named as
    /// on the command line (`time-limit = "5s"`, `nemesis = "pause,kill"`); see the README.
    pub file: PathBuf,
    /// Directory of the run store: every test's run goes there as `faultline test` puts it, and
    /// the suite's files under suites/<suite>/<timestamp>/.
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
}

/// What cluster to start: shared by `faultline test` and `faultline cluster up`.
#[derive(Args, Debug, Clone)]
pub struct ClusterOpts {
    /// System under test: own (faultline's nodes), redis (Debian's redis-server) or etcd
    /// (Debian's etcd-server).
    #[arg(long, value_enum, default_value = "own")]
    pub target: TargetKind,
    /// Own nodes: the replication design, async (one primary streams to replicas), quorum
    /// (leaderless: every node takes writes and waits for read and write quorums) or gossip
    /// (every node answers alone and gossips its data to the others, which merge it).
    #[arg(long, value_enum, default_value = "async")]
    pub mode: Mode,
    /// --mode quorum: replicas a read waits for (default: a majority of --nodes).
    #[arg(long)]
    pub read_quorum: Option<usize>,
    /// --mode quorum: replicas a write waits for (default: a majority of --nodes); with
    /// --read-quorum + --write-quorum ≤ --nodes a read can miss the last write.
    #[arg(long)]
    pub write_quorum: Option<usize>,
    /// How a lost primary is replaced: each choice names the system that takes it.
    #[arg(long, value_enum, default_value = "none")]
    pub failover: Failover,
    /// Redis and own nodes: none, or an append-only file with its fsync policy (aof-no: own
    /// nodes keep writes in their buffer, so a kill -9 loses them).
    #[arg(long, value_enum, default_value = "none")]
    pub persistence: Persistence,
    /// Number of nodes (one primary, the rest replicas), or the remote hosts to run them on,
    /// one node each, reached over SSH: "host1,host2,host3" (the first starts as the primary).
    /// With --attach: the hosts the attached nodes run on, one per address in the same order.
    #[arg(long, default_value = "3", value_parser = parse_nodes, value_name = "N|HOST,...")]
    pub nodes: NodesArg,
    /// How to reach remote nodes (`--nodes HOST,…`) over SSH.
    #[command(flatten)]
    pub ssh: SshOpts,
    /// Remote nodes: where a host lacks a program its node runs (redis-server, redis-sentinel,
    /// etcd), install its Debian package first (apt-get install, through `sudo -n` for a login
    /// other than root), one apt-get per host, all hosts at once.
    #[arg(long)]
    pub install: bool,
    /// How the nodes' hosts are laid out: netns (a network namespace per node on a private
    /// bridge; needs root), proxy (loopback ports, node-to-node links through faultline's fault
    /// proxy, for every target, Sentinel and etcd included; no root), loopback (plain loopback
    /// ports; no network faults), or auto (netns where permitted, else proxy).
    #[arg(long, value_enum, default_value = "auto")]
    pub net: NetChoice,
    /// netns mode: the private /16 a run's /24 is taken from, as its first two octets.
    #[arg(long, default_value = "10.77")]
    pub subnet: String,
    /// How long the cluster may take to become ready (and to recover after the faults) before
    /// that is an error.
    #[arg(long, value_parser = parse_duration, default_value = "20s")]
    pub ready_timeout: Duration,
    /// Own nodes only: hold replication back this long, so replica reads go stale.
    #[arg(long, value_parser = parse_duration)]
    pub replication_delay: Option<Duration>,
}

/// `--nodes`: how many nodes to start on this machine, or the remote hosts to start them on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodesArg {
    /// A count of nodes on this machine (`--nodes 3`).
    Count(usize),
    /// One node per remote host, in order (`--nodes host1,host2,host3`).
    Hosts(Vec<String>),
}

impl NodesArg {
    /// The number of nodes either form asks for.
    pub fn count(&self) -> usize {
        match self {
            NodesArg::Count(n) => *n,
            NodesArg::Hosts(hosts) => hosts.len(),
        }
    }
}

/// Reads `--nodes`: a number, or host names or addresses separated by commas.
pub fn parse_nodes(text: &str) -> Result<NodesArg, String> {
    let text = text.trim();
    if let Ok(n) = text.parse::<usize>() {
        return Ok(NodesArg::Count(n));
    }
    let hosts: Vec<String> = text.split(',').map(|h| h.trim().to_string()).collect();
    for host in &hosts {
        // Names, IPv4 and IPv6 addresses; anything else (spaces, user@, :port) is a mistake
        // better named now than by ssh later.
        let plain = !host.is_empty()
            && !host.starts_with('-')
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b));
        if !plain || host.parse::<u64>().is_ok() {
            return Err(format!(
                "`{host}` is neither a count of nodes nor a host name or address \
                 (give a number, or hosts as host1,host2,…; the user and port go in \
                 --ssh-user and --ssh-port)"
            ));
        }
        if hosts.iter().filter(|h| *h == host).count() > 1 {
            return Err(format!("host {host} is given twice (one node per host)"));
        }
    }
    Ok(NodesArg::Hosts(hosts))
}

/// How faultline logs in to remote hosts (`--nodes HOST,…`).
#[derive(Args, Debug, Clone, Default)]
pub struct SshOpts {
    /// Remote nodes: the user to log in as (default: ssh's, the local user); a user other than
    /// root needs passwordless sudo (commands run through `sudo -n`).
    #[arg(long, value_name = "USER")]
    pub ssh_user: Option<String>,
    /// Remote nodes: the private key to log in with (default: ssh's keys and agent).
    #[arg(long, value_name = "FILE")]
    pub ssh_key: Option<PathBuf>,
    /// Remote nodes: the hosts' SSH port.
    #[arg(long, value_name = "PORT")]
    pub ssh_port: Option<u16>,
    /// Remote nodes: the known_hosts file their host keys are checked against (default: the
    /// user's ~/.ssh/known_hosts).
    #[arg(long, value_name = "FILE")]
    pub ssh_known_hosts: Option<PathBuf>,
    /// Remote nodes: trust a host whose key is not yet known, and add its key to known_hosts
    /// (trust on first use; a key that differs from the known one is still refused).
    #[arg(long)]
    pub ssh_accept_new: bool,
}

/// Options of `faultline check`.
#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    /// History files (faultline JSONL, Jepsen EDN or a Jepsen log), run directories (checked
    /// with the run's checker), stores or test directories (every run under them), or other
    /// directories (their .jsonl, .json, .edn, .log, .txt files, in name order).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Format of the files: auto (by extension, else by content), jsonl, edn or jepsen-log.
    #[arg(long, default_value = "auto")]
    pub format: String,
    // Help is built from the checker's one list of models (ModelKind::ALL).
    #[arg(long, default_value = "auto", help = model_help())]
    pub model: String,
    /// The initial value, as JSON or EDN (e.g. 0, nil, {:x 0 :y 0} for multi-register).
    #[arg(long, default_value = "null")]
    pub initial: String,
    /// Every operation's value is a Jepsen `independent` [key value] tuple (without this flag
    /// tuples are split only when unmistakable: reads invoked with a tuple, or [k [old new]]).
    #[arg(long)]
    pub independent: bool,
    /// What an ok read of nil saw: value (the value nil), unknown (nothing, as Knossos reads
    /// it) or auto (unknown for EDN and Jepsen logs, value for JSONL).
    #[arg(long, value_enum, default_value = "auto")]
    pub nil_reads: NilReads,
    /// What a failed cas tells: observes (it saw a value other than its expected one: in JSONL
    /// where its error is "cas-mismatch", in EDN and Jepsen logs every failed cas), dropped (it
    /// never happened, as Knossos reads it) or auto (observes for JSONL, dropped otherwise).
    #[arg(long, value_enum, default_value = "auto")]
    pub failed_cas: FailedCasReading,
    /// Give up after this long and answer unknown (e.g. 30s).
    #[arg(long, value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Answer unknown rather than let the search's memory grow past SIZE (e.g. 512M, 2G);
    /// default: half of this machine's RAM.
    #[arg(long, value_name = "SIZE", value_parser = checker::parse_size)]
    pub memory_limit: Option<u64>,
    /// Stop at the first invalid key, for CI speed: keys not yet decided are reported unknown
    /// (the invalid ones found are still explained).
    #[arg(long)]
    pub fail_fast: bool,
    /// Skip the explanations (exact longest order, minimal witness, cycle): verdicts only.
    #[arg(long)]
    pub no_explain: bool,
    /// How long explaining every invalid key may take together (e.g. 30s); default: twice
    /// what the verdicts took plus 200 ms, at most 10 s. A witness not shrunk in time says so.
    #[arg(long, value_parser = parse_duration)]
    pub explain_time: Option<Duration>,
    /// Print the reports as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `faultline report`.
#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// Run directories (their report.html is rebuilt from history.jsonl, results.json and
    /// replication.jsonl) or stores (every run's report.html, and the store's index.html).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// `faultline cluster …`: the hands-on lab.
#[derive(Args, Debug, Clone)]
pub struct ClusterArgs {
    /// Directory of the run store (the cluster's record and files live under it).
    #[arg(long, default_value = "store", global = true)]
    pub store: PathBuf,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub action: ClusterAction,
}

/// The lab's actions.
#[derive(Subcommand, Debug, Clone)]
pub enum ClusterAction {
    /// Start a cluster that keeps running until `cluster down`.
    Up(ClusterOpts),
    /// The daemon a proxy-mode lab runs in (started by `up`; not for direct use).
    #[command(hide = true)]
    Serve(ClusterOpts),
    /// Each node's process, role, replication link and offset.
    Status,
    /// Cut the network: "n1,n2|n3,n4,n5" (a netns or proxy cluster).
    Partition {
        /// The components, separated by `|`.
        spec: String,
    },
    /// Restore every link.
    Heal,
    /// Pause a node (SIGSTOP).
    Pause {
        /// The node, e.g. n2.
        node: String,
    },
    /// Resume a paused node (SIGCONT).
    Resume {
        /// The node.
        node: String,
    },
    /// Kill a node (SIGKILL); its data directory stays.
    Kill {
        /// The node.
        node: String,
    },
    /// Start a killed node again.
    Restart {
        /// The node.
        node: String,
    },
    /// Degrade the links into a node: latency (proxy mode; netns needs sch_netem), loss,
    /// bandwidth. Replaces the node's previous degradation (a link has one at a time).
    Slow {
        /// The node, e.g. n2.
        node: String,
        /// Added delay, e.g. 100ms.
        #[arg(long, value_parser = parse_duration)]
        latency: Option<std::time::Duration>,
        /// Probability a packet from another node is lost, 0 to 1.
        #[arg(long)]
        loss: Option<f64>,
        /// Bytes per second the node may send.
        #[arg(long)]
        bandwidth: Option<u64>,
    },
    /// Manual failover (own nodes, Redis): make a node the primary (`REPLICAOF NO ONE`) and
    /// point every other node at it (`REPLICAOF`); a demoted primary resyncs from it.
    Promote {
        /// The node, e.g. n2.
        node: String,
    },
    /// Stop every node and remove every network faultline made under this store: the lab
    /// cluster, and what crashed or killed test runs left behind; with `--nodes HOST,…`, also
    /// whatever the records on those hosts name (runs whose control node died).
    Down(DownArgs),
}

/// Options of `faultline cluster down`.
#[derive(Args, Debug, Clone, Default)]
pub struct DownArgs {
    /// Remote hosts to clean as well, "host1,host2,…": every run's daemons, firewall chain and
    /// directories their records (/tmp/faultline-records/) name.
    #[arg(long, value_parser = parse_nodes, value_name = "HOST,...")]
    pub nodes: Option<NodesArg>,
    /// How to log in to them.
    #[command(flatten)]
    pub ssh: SshOpts,
}

/// `faultline bench …`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// What to measure.
    #[command(subcommand)]
    pub what: BenchWhat,
}

/// The benchmarks.
#[derive(Subcommand, Debug, Clone)]
pub enum BenchWhat {
    /// Time the linearizability checker on simulated workloads and the Knossos corpus.
    Check(BenchCheckArgs),
    /// Time applying and healing each fault, in each network mode this machine allows.
    Faults(BenchFaultsArgs),
    /// Operations per second of `faultline test` against one local redis-server, beside
    /// redis-benchmark's requests per second with as many clients: is the harness the bottleneck?
    Throughput(BenchThroughputArgs),
}

/// Options of `faultline bench check`.
#[derive(Args, Debug, Clone)]
pub struct BenchCheckArgs {
    /// Smaller large workloads and fewer runs: about half a minute in all.
    #[arg(long)]
    pub quick: bool,
    /// Runs per workload; the median is shown (default 5, 3 with --quick).
    #[arg(long)]
    pub runs: Option<usize>,
    /// Only these workloads, comma-separated (see the table for names).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// The Knossos corpus directory (default: $FAULTLINE_CORPUS, else shared/corpus/knossos
    /// beside the workspace).
    #[arg(long)]
    pub corpus: Option<PathBuf>,
    /// Print the rows as JSON.
    #[arg(long)]
    pub json: bool,
    /// Run one workload in this process and print its row as JSON (how the parent runs each).
    #[arg(long, hide = true)]
    pub child: Option<String>,
}

/// Options of `faultline bench faults`.
#[derive(Args, Debug, Clone)]
pub struct BenchFaultsArgs {
    /// How many times each fault is applied and healed.
    #[arg(long, default_value_t = 20)]
    pub rounds: usize,
    /// Nodes in the cluster.
    #[arg(long, default_value_t = 5)]
    pub nodes: usize,
}

/// Options of `faultline bench throughput`.
#[derive(Args, Debug, Clone)]
pub struct BenchThroughputArgs {
    /// Rounds of (redis-benchmark, faultline test); medians are shown.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Concurrent clients of both (redis-benchmark -c, faultline --concurrency).
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// redis-benchmark's requests per command (SET, then GET).
    #[arg(long, default_value_t = 100_000)]
    pub requests: u64,
    /// faultline's workload phase in each round.
    #[arg(long, value_parser = parse_duration, default_value = "5s")]
    pub time_limit: Duration,
    /// Keys of faultline's register workload.
    #[arg(long, default_value_t = 100)]
    pub keys: usize,
    /// The faultline binary whose `test` is measured (default: this one), to compare builds.
    #[arg(long)]
    pub faultline: Option<PathBuf>,
}

/// A duration as Jepsen users type it: a bare number is seconds (`--time-limit 10`), anything else
/// a unit-suffixed span (`1500ms`, `2m`, `1m 30s`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(secs)
            .map_err(|_| format!("'{text}' is not a duration: seconds must be 0 or more"));
    }
    humantime::parse_duration(text)
        .map_err(|e| format!("'{text}' is not a duration ({e}): write 10, 10s, 1500ms or 2m"))
}

/// `--model`'s help, listing every model from the checker's one list.
fn model_help() -> String {
    let names: Vec<&str> = checker::ModelKind::ALL.iter().map(|m| m.name()).collect();
    format!(
        "Model or checker: {}; or auto: a run's own checker, else the one model the history's \
         operations fit (an error names the candidates when several fit)",
        names.join(", ")
    )
}

/// `--nemesis`'s help, listing every fault name from the one definition.
fn nemesis_help() -> String {
    format!(
        "Faults to inject, comma-separated ('partition' picks a random shape each time; link \
         faults hit the links into some nodes; blackhole, reset, slow-close and half-open need \
         --net proxy): {}",
        nemesis::nemesis_names()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_number_is_seconds() {
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("-1").unwrap_err().contains("0 or more"));
        assert!(parse_duration("soon").unwrap_err().contains("'soon'"));
    }

    #[test]
    fn help_lists_every_choice_from_its_definition() {
        use clap::CommandFactory;
        let mut cmd = Cli::command();
        let test = cmd.find_subcommand_mut("test").unwrap();
        let help = test.render_long_help().to_string();
        for kind in nemesis::FaultKind::named() {
            assert!(
                help.contains(&kind.to_string()),
                "--nemesis help lacks {kind}"
            );
        }
        for name in [
            "own",
            "redis",
            "etcd",
            "aof-everysec",
            "sentinel",
            "loopback",
            "replica",
        ] {
            assert!(help.contains(name), "help lacks {name}");
        }
        assert!(help.contains("<target>-<workload>"));
        let check = cmd.find_subcommand_mut("check").unwrap();
        let help = check.render_long_help().to_string();
        for model in checker::ModelKind::ALL {
            assert!(
                help.contains(model.name()),
                "--model help lacks {}",
                model.name()
            );
        }
        assert!(
            !help.contains("needs --net netns)"),
            "--partition works with proxy too"
        );
    }
}
