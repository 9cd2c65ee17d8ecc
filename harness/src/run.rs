//! The run interpreter of `faultline test`: cluster up, clients and nemesis, heal and recover,
//! check, results.
//!
//! Phases, in order; whatever happens, dropping the [`Cluster`] tears it down (resuming every
//! paused node first), so an error or an interrupt at any point leaves no process behind.

use crate::config::{ClusterChoice, TestConfig};
use crate::output;
use crate::progress::Progress;
use crate::recorder::Recorder;
use crate::replication::{self, ReplicationSummary};
use crate::target_client::{ClientOptions, TargetClient};
use crate::worker::{self, Shared};
use anyhow::{bail, Context, Result};
use checker::event::{EventType, Process};
use checker::{CheckOptions, ModelKind};
use cluster::target::TargetOptions;
use cluster::{Cluster, ClusterSpec, Lifetime};
use nemesis::{ClusterControl, FaultRecorder, Schedule};
use results::{Entry, ExitCode, HistoryLog, RunDir, RunSummary};
use serde_json::json;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use workloads::{Workload, WorkloadKind};

/// Runs one test and returns the exit code its verdict maps to.
pub async fn run_test(cfg: TestConfig, own_exe: PathBuf) -> Result<ExitCode> {
    let run_dir = RunDir::create(&cfg.store, &cfg.name)?;
    output::note(&format!(
        "run directory: {}  (seed {})",
        run_dir.path().display(),
        cfg.seed
    ));
    let id = run_dir
        .path()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let record = cluster::live_dir(&cfg.store).join(format!("{}-{id}.json", cfg.name));
    let spec = cluster_spec(
        &cfg.cluster,
        run_dir.path().join("nodes"),
        own_exe,
        Lifetime::WithFaultline,
        record,
        cfg.seed,
    );
    let mut cluster = Cluster::start(spec).await.context("starting the cluster")?;
    let recorder = Arc::new(Recorder::new(HistoryLog::create(&run_dir.history_path())?));

    let started = Instant::now();
    let replication_path = run_dir.path().join("replication.jsonl");
    let (faults, replication) = drive(&cfg, &cluster, &recorder, &replication_path).await;
    let duration = started.elapsed();
    if let Some(failure) = recorder.failure() {
        bail!("the history could not be written, so the run cannot be judged: {failure}");
    }

    // Recovery: every node resumed (the nemesis healed), the cluster answering and replicating.
    let recovered = nemesis::runner::wait_healthy(&cluster, cfg.cluster.ready_timeout).await;
    FaultRecorder::record(
        &*recorder,
        "recovered",
        json!({}),
        recovered
            .clone()
            .err()
            .map(|e| format!("cluster did not recover: {e}")),
    );
    if cfg.workload == WorkloadKind::Set {
        final_reads(&cfg, &cluster, &recorder).await;
        if let Some(failure) = recorder.failure() {
            bail!("the history could not be written, so the run cannot be judged: {failure}");
        }
    }
    cluster.teardown();

    // The file, not memory, is the source of truth: what is checked is what a re-check would read.
    let events = checker::jsonl::read_jsonl_file(&run_dir.history_path())?;
    let options = CheckOptions {
        model: match cfg.workload {
            WorkloadKind::Register => ModelKind::CasRegister,
            WorkloadKind::Set => ModelKind::SetFull,
        },
        initial: json!(null),
        // A run's history is checked on the machine that ran it: answer unknown rather than let a
        // pathological key's search take the machine's memory.
        memory_limit: Some(crate::memory_cap::default_check_memory()),
        ..CheckOptions::default()
    };
    let report = checker::check_events(&events, &options).context("checking the history")?;
    let exit = ExitCode::for_validity(report.validity);
    let summary = RunSummary {
        test: &cfg.name,
        verdict: report.validity,
        exit_code: exit.code(),
        seed: cfg.seed,
        options: serde_json::to_value(&cfg)?,
        duration_secs: duration.as_secs_f64(),
        faults: serde_json::to_value(&faults)?,
        replication: serde_json::to_value(&replication)?,
        check: &report,
    };
    summary.write(&run_dir.results_path())?;
    if cfg.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        output::print_run_summary(&report, &run_dir, recovered.err());
    }
    Ok(exit)
}

/// The cluster spec for `choice`, with its files under `dir` and its live record at `record`.
pub fn cluster_spec(
    choice: &ClusterChoice,
    dir: PathBuf,
    own_exe: PathBuf,
    lifetime: Lifetime,
    record: PathBuf,
    seed: u64,
) -> ClusterSpec {
    ClusterSpec {
        target: choice.target,
        options: TargetOptions {
            failover: choice.failover,
            persistence: choice.persistence,
            replication_delay_ms: choice.replication_delay.as_millis() as u64,
            own_exe,
        },
        nodes: choice.nodes,
        net: choice.net,
        subnet_base: choice.subnet_base,
        dir,
        ready_timeout: choice.ready_timeout,
        lifetime,
        record: Some(record),
        seed,
    }
}

/// The workload phase: clients and nemesis until the time limit, then stop and heal.
async fn drive(
    cfg: &TestConfig,
    cluster: &Cluster,
    recorder: &Arc<Recorder>,
    replication_path: &std::path::Path,
) -> (nemesis::NemesisReport, ReplicationSummary) {
    let (stop_tx, stop_rx) = watch::channel(false);
    let shared = Arc::new(Shared {
        generator: Mutex::new(Workload::new(cfg.workload, cfg.seed, cfg.keys)),
        recorder: recorder.clone(),
        concurrency: cfg.concurrency,
        mean_gap: Duration::from_secs_f64(cfg.concurrency as f64 / cfg.rate),
        seed: cfg.seed,
    });
    let workers: Vec<_> = (0..cfg.concurrency)
        .map(|id| {
            let client = TargetClient::for_worker(cluster, id, &client_options(cfg));
            tokio::spawn(worker::run(id, client, shared.clone(), stop_rx.clone()))
        })
        .collect();
    let schedule = Schedule::new(cfg.nemesis.clone(), cfg.nemesis_interval, cfg.seed);
    let progress = Progress::new(cfg.time_limit);
    let clock = async {
        let start = tokio::time::Instant::now();
        let end = start + cfg.time_limit;
        while tokio::time::Instant::now() < end && recorder.failure().is_none() {
            progress.update(start.elapsed(), recorder);
            tokio::time::sleep(Duration::from_millis(100).min(end - tokio::time::Instant::now()))
                .await;
        }
        progress.update(start.elapsed(), recorder);
        let _ = stop_tx.send(true);
    };
    let (report, (), replication) = tokio::join!(
        nemesis::run(cluster, schedule, &**recorder, stop_rx.clone()),
        clock,
        replication::sample(cluster, replication_path, SAMPLE_EVERY, stop_rx.clone())
    );
    for w in workers {
        let _ = w.await;
    }
    progress.finish();
    // Whatever the nemesis did, leave no node paused or killed and no link cut.
    for name in cluster.node_names() {
        let _ = cluster.resume(&name);
        let _ = cluster.restart(&name);
    }
    let _ = cluster.heal_network();
    (report, replication)
}

/// How often replication positions are sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(500);

/// The options every client of the run shares.
fn client_options(cfg: &TestConfig) -> ClientOptions {
    ClientOptions {
        read_from: cfg.read_from,
        timeout: cfg.op_timeout,
        wait_replicas: cfg.wait_replicas,
        serializable_reads: cfg.serializable_reads,
    }
}

/// The set workload's end: every node's copy of the set, read from that node, recorded as reads
/// by processes numbered after every worker's.
async fn final_reads(cfg: &TestConfig, cluster: &Cluster, recorder: &Recorder) {
    let base = 1_000_000_u64;
    for (i, node) in cluster.nodes().iter().enumerate() {
        let mut client = TargetClient::reading_from(cluster, i, &client_options(cfg));
        let entry = |kind, value, error| Entry {
            process: Process::Client(base + i as u64),
            kind,
            f: "read".to_string(),
            key: Some(serde_json::Value::from(workloads::SET_KEY)),
            value,
            error,
        };
        if recorder
            .record(entry(EventType::Invoke, json!(null), None))
            .is_err()
        {
            return;
        }
        let done = workloads::set::final_read(&mut client).await;
        let error = done
            .error
            .map(|e| format!("final read of {}: {e}", node.name));
        if recorder
            .record(entry(done.kind, done.value, error))
            .is_err()
        {
            return;
        }
    }
}
