//! The run interpreter of `faultline test`: cluster up, clients and nemesis, heal and recover,
//! catch up, final reads, check, results.
//!
//! The phases run as one future, raced against SIGINT/SIGTERM. Whatever ends it — the end of the
//! run, an error, a signal — dropping it drops the [`Cluster`], which tears everything down
//! (resuming every paused node first), and then the run is concluded the same way: the history
//! (created before the cluster starts, so it always exists) is read back from its file and
//! checked, and `results.json` is written with the verdict and why it is what it is, and beside
//! it `history.csv` and `junit.xml` (`results::run_files`).

use crate::adequacy;
use crate::attach::Attached;
use crate::catch_up::{self, CatchUp};
use crate::config::TestConfig;
use crate::live_check::{Decided, LiveCheck};
use crate::output::{self, Conclusion};
use crate::progress::{self, Phase, Progress};
use crate::recorder::Recorder;
use crate::replication::{self, ReplicationSummary};
use crate::signals;
use crate::worker::{self, Shared};
use anyhow::{anyhow, bail, Context, Result};
use checker::{CheckOptions, KeyProgress, Validity};
use checker::{EventType, Process};
use cluster::{ClientOptions, Cluster, Lifetime};
use nemesis::{ClusterControl, FaultRecorder, NemesisReport, Schedule};
use results::{run_files, Entry, ExitCode, HistoryLog, RunDir, RunJunit, RunSummary};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use workloads::{FinalPhase, Op};

/// How a run ended, for `main`.
#[derive(Debug)]
pub enum RunEnd {
    /// The run went to its end: exit with this code.
    Finished(ExitCode),
    /// A signal stopped it (exit 130); results.json was written all the same.
    Interrupted(&'static str),
}

/// What the phases learned so far, kept outside their future so that a run that ends early
/// still reports it.
#[derive(Debug, Default)]
struct Learned {
    /// When the workload began.
    started: Option<Instant>,
    /// How long the workload phase ran, once it ended.
    duration: Option<Duration>,
    faults: Option<NemesisReport>,
    replication: Option<ReplicationSummary>,
    /// The recovery after the faults: `Err` says what stayed unhealthy.
    recovered: Option<Result<(), String>>,
    catch_up: Option<CatchUp>,
    /// The invalid key that ended the workload early (`--stop-on-anomaly`), and when.
    stopped_on: Option<(Value, Duration)>,
    /// The cluster attached to (`--attach`), once attaching succeeded: only then may the keys
    /// under its prefix be the run's, and removed.
    attached: Option<Attached>,
    /// What `--install` installed on the remote hosts: packages by host.
    installed: cluster::host_programs::Installed,
}

impl Learned {
    /// How long the workload ran (so far, for a run that ended during it).
    fn ran(&self) -> Duration {
        self.duration
            .or_else(|| self.started.map(|s| s.elapsed()))
            .unwrap_or_default()
    }
}

/// How the phases ended.
enum Ended {
    Completed,
    Failed(anyhow::Error),
    Interrupted(&'static str),
}

/// This binary, which `--target own` starts as its nodes (`faultline node`).
pub fn own_exe() -> Result<PathBuf> {
    std::env::current_exe().context("cannot locate the faultline binary to start own nodes")
}

/// Runs one test and says how it ended; every run that made its directory leaves a results.json.
pub async fn run_test(cfg: TestConfig, own_exe: PathBuf) -> Result<RunEnd> {
    let run_dir = RunDir::create(&cfg.store, &cfg.name)?;
    run_test_in(cfg, own_exe, run_dir).await
}

/// [`run_test`] in a run directory already made (a suite makes it, to find the run's files
/// however the run ends).
pub async fn run_test_in(cfg: TestConfig, own_exe: PathBuf, run_dir: RunDir) -> Result<RunEnd> {
    output::note(&format!(
        "run directory: {}  (seed {})",
        run_dir.path().display(),
        cfg.seed
    ));
    let mut learned = Learned::default();
    // Keys that retire can be checked as they do (see live_check).
    let live = cfg
        .ops_per_key
        .map(|n| LiveCheck::start(n, check_options(&cfg, false)));
    let ended = match HistoryLog::create(&run_dir.history_path()) {
        Err(e) => Ended::Failed(e.into()),
        Ok(log) => {
            let recorder = match &live {
                Some(live) => Recorder::new(log).watched_by(live.clone()),
                None => Recorder::new(log),
            };
            let recorder = Arc::new(recorder);
            let live = live.as_deref();
            let ended = tokio::select! {
                result = phases(&cfg, own_exe, &run_dir, &recorder, live, &mut learned) => match result {
                    Ok(()) => Ended::Completed,
                    Err(e) => Ended::Failed(e),
                },
                signal = signals::interrupted() => Ended::Interrupted(signal),
            };
            // Workers' invocations do not wait for the file: those of operations cut short by
            // an interruption or an error are written now, before the history is read back.
            // (A failure to write is already remembered, and the run already failed with it.)
            let _ = recorder.flush();
            ended
        }
    };
    // The phases' future is gone, and with it the cluster: every node stopped, the network removed.
    if let Ended::Interrupted(signal) = ended {
        output::note(&format!(
            "interrupted by {signal}: cluster torn down; checking the history so far \
             (another signal exits at once)"
        ));
        tokio::spawn(async {
            let again = signals::interrupted().await;
            eprintln!("{again} again: exiting before results.json is written");
            std::process::exit(signals::INTERRUPTED);
        });
    }
    if let (Some(attached), Some(choice)) = (learned.attached.as_mut(), &cfg.attach) {
        let (target, timeout) = (cfg.cluster.target, cfg.cluster.ready_timeout);
        attached.finish(choice, target, timeout).await;
        output::note(&attached.keys_line());
    }
    let decided = live.map(|l| l.finish()).unwrap_or_default();
    conclude(&cfg, &run_dir, &learned, ended, decided)
}

/// The run's phases, recording what they learn in `learned` as they go.
async fn phases(
    cfg: &TestConfig,
    own_exe: PathBuf,
    run_dir: &RunDir,
    recorder: &Arc<Recorder>,
    live: Option<&LiveCheck>,
    learned: &mut Learned,
) -> Result<()> {
    let id = run_dir
        .path()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let record = cluster::live_dir(&cfg.store).join(format!("{}-{id}.json", cfg.name));
    let spec = cfg.cluster.spec(
        run_dir.path().join("nodes"),
        own_exe,
        Lifetime::WithFaultline,
        record,
        cfg.seed,
    );
    let mut cluster = match &cfg.attach {
        None => {
            let starting = Phase::start(format!(
                "starting the cluster ({} {} nodes)",
                cfg.cluster.nodes, cfg.cluster.target
            ));
            if let Some(warning) = crate::remote::trust_warning(&cfg.cluster.remote_hosts) {
                eprintln!("{warning}");
            }
            let started = Cluster::start(spec).await;
            starting.finish(if started.is_ok() { "ready" } else { "failed" });
            let cluster = started.context("starting the cluster")?;
            learned.installed = cluster.installed().clone();
            cluster
        }
        Some(choice) => {
            if let Some(warning) = crate::remote::trust_warning(&choice.hosts) {
                eprintln!("{warning}");
            }
            let attaching = Phase::start(format!(
                "attaching to the running {} cluster ({} nodes)",
                cfg.cluster.target, cfg.cluster.nodes
            ));
            let found = choice
                .spec(
                    cfg.cluster.target,
                    choice.prefix_for(&id),
                    cfg.cluster.ready_timeout,
                )
                .await;
            let attached = match found {
                Ok((spec, sentinels)) => {
                    Cluster::attach_running(spec, run_dir.path().join("nodes"))
                        .await
                        .map(|c| (c, sentinels))
                        .map_err(anyhow::Error::from)
                }
                Err(e) => Err(anyhow::anyhow!(e)),
            };
            attaching.finish(if attached.is_ok() {
                "attached"
            } else {
                "failed"
            });
            let (cluster, sentinels) = attached.context("attaching to the cluster")?;
            for s in &sentinels {
                output::note(&format!("through sentinel {s}"));
            }
            let record = Attached::new(choice, &cluster, sentinels);
            for node in &record.nodes {
                output::note(&format!("attached: {} at {}", node.name, node.addr));
            }
            output::note(&format!("faults: {}", record.faults));
            learned.attached = Some(record);
            cluster
        }
    };

    recorder.start_clock();
    learned.started = Some(Instant::now());
    let replication_path = run_dir.path().join("replication.jsonl");
    let stop_on = live.filter(|_| cfg.stop_on_anomaly);
    let (faults, replication) = drive(cfg, &cluster, recorder, stop_on, &replication_path).await;
    learned.duration = learned.started.map(|s| s.elapsed());
    learned.stopped_on = stop_on.and_then(|l| l.anomaly()).and_then(|a| {
        let at = a.at.checked_duration_since(learned.started?)?;
        Some((a.key, at))
    });
    learned.faults = Some(faults);
    learned.replication = Some(replication);
    if let Some(failure) = recorder.failure() {
        bail!("the history could not be written, so the run cannot be judged: {failure}");
    }

    // Recovery: every node resumed (the nemesis healed), the cluster answering and replicating.
    let recovering = Phase::start("recovering: waiting for a healthy cluster");
    let recovered = nemesis::runner::wait_healthy(&cluster, cfg.cluster.ready_timeout).await;
    recovering.finish(if recovered.is_ok() {
        "healthy"
    } else {
        "not healthy"
    });
    FaultRecorder::record(
        &**recorder,
        "recovered",
        json!({}),
        recovered
            .clone()
            .err()
            .map(|e| format!("cluster did not recover: {e}")),
    );
    learned.recovered = Some(recovered);
    if let FinalPhase::ReadEveryNode(read) = cfg.workload.unit().final_phase() {
        // A final read taken while a replica still replays the primary's stream would call its
        // late elements lost: wait for every node to reach the primary's position first.
        let catching_up = Phase::start("final reads: every node catching up with the primary");
        let caught = catch_up::wait(&cluster, cfg.cluster.ready_timeout).await;
        FaultRecorder::record(&**recorder, "caught-up", json!(caught), None);
        final_reads(cfg, &cluster, recorder, &caught, &read).await;
        catching_up.finish("read");
        learned.catch_up = Some(caught);
        if let Some(failure) = recorder.failure() {
            bail!("the history could not be written, so the run cannot be judged: {failure}");
        }
    }
    cluster.teardown();
    Ok(())
}

/// Checks whatever history the run left, decides the verdict, writes results.json and prints
/// the summary.
fn conclude(
    cfg: &TestConfig,
    run_dir: &RunDir,
    learned: &Learned,
    ended: Ended,
    decided: Decided,
) -> Result<RunEnd> {
    let stopped_early = !matches!(ended, Ended::Completed);
    let checking = Instant::now();
    let (during, waited) = (decided.reports.len(), decided.waited);
    let (events, check) = match checker::formats::read_jsonl_file(&run_dir.history_path()) {
        Ok(events) => {
            let bar = progress::key_bar("checking the history");
            let ticks = bar.clone();
            let options = CheckOptions {
                progress: Some(KeyProgress::new(move |done, total| {
                    ticks.set_length(total as u64);
                    ticks.set_position(done as u64);
                })),
                ..check_options(cfg, stopped_early)
            };
            let check = checker::check_events_reusing(&events, &options, decided.reports)
                .map_err(|e| anyhow!("checking the history: {e}"));
            bar.finish_and_clear();
            (events, check)
        }
        Err(e) => (Vec::new(), Err(anyhow!("reading the history: {e}"))),
    };
    // A run that completed but whose history cannot be checked has failed.
    let (ended, check) = match (ended, check) {
        (Ended::Completed, Err(e)) => (Ended::Failed(e), None),
        (ended, Err(e)) => {
            output::note(&format!("the history so far could not be checked: {e:#}"));
            (ended, None)
        }
        (ended, Ok(report)) => (ended, Some(report)),
    };
    let adequacy = adequacy::judge(
        &events,
        &cfg.nemesis,
        learned.faults.as_ref(),
        learned.catch_up.as_ref(),
        cfg.ops_per_key,
        learned.ran(),
        cfg.accept_inadequate,
    );
    let checking = json!({
        "keys_during_run": during,
        "keys_at_end": check.as_ref().map_or(0, |c| c.keys.len().saturating_sub(during)),
        "secs": (waited + checking.elapsed()).as_secs_f64(),
    });
    if during > 0 {
        output::note(&format!(
            "checked {during} keys while the run went and {} after it, in {:.3} s",
            checking["keys_at_end"],
            checking["secs"].as_f64().unwrap_or_default(),
        ));
    }
    let checked = check.as_ref().map_or(Validity::Unknown, |r| r.validity);
    // An anomaly found is evidence however the run ended; anything else needs a whole run.
    let early = |why: String| {
        let verdict = match checked {
            Validity::Invalid => Validity::Invalid,
            _ => Validity::Unknown,
        };
        (verdict, Some(why))
    };
    let (verdict, reason, code) = match &ended {
        Ended::Interrupted(signal) => {
            let (v, r) = early(format!(
                "interrupted by {signal} after {:.1} s of workload: the history so far was \
                 checked, but the run did not finish",
                learned.ran().as_secs_f64()
            ));
            (v, r, signals::INTERRUPTED)
        }
        Ended::Failed(e) => {
            let (v, r) = early(format!("the run failed: {e:#}"));
            (v, r, ExitCode::BadInput.code())
        }
        Ended::Completed => {
            let inconclusive =
                !adequacy.adequate() && !adequacy.accepted && checked != Validity::Invalid;
            let (v, r) = match inconclusive {
                true => (
                    Validity::Unknown,
                    Some(format!("inconclusive: {}", adequacy.shortfalls.join("; "))),
                ),
                false => (checked, None),
            };
            let r = r.or_else(|| {
                let (key, at) = learned.stopped_on.as_ref()?;
                Some(format!(
                    "stopped after {:.1} s of the {:.1} s time limit: key {} is not \
                     linearizable (--stop-on-anomaly)",
                    at.as_secs_f64(),
                    cfg.time_limit.as_secs_f64(),
                    checker::describe_key(key),
                ))
            });
            (v, r, ExitCode::for_validity(v).code())
        }
    };
    // The report and results.json share one computation of the figures.
    let samples = std::fs::read_to_string(run_dir.path().join("replication.jsonl"))
        .map(|text| report::lag::parse_samples(&text))
        .unwrap_or_default();
    let mut files = report::RunFiles::from_parts(run_dir.path(), None, &events, &samples)
        .map_err(|e| output::note(&format!("no report: {e}")))
        .ok();
    let summary = RunSummary {
        test: &cfg.name,
        verdict,
        reason: reason.clone(),
        exit_code: code,
        ended: match ended {
            Ended::Completed => "completed",
            Ended::Interrupted(_) => "interrupted",
            Ended::Failed(_) => "failed",
        },
        figures: serde_json::to_value(files.as_ref().map(|f| &f.figures))?,
        seed: cfg.seed,
        options: serde_json::to_value(cfg)?,
        duration_secs: learned.ran().as_secs_f64(),
        faults: serde_json::to_value(&learned.faults)?,
        adequacy: serde_json::to_value(&adequacy)?,
        replication: serde_json::to_value(&learned.replication)?,
        catch_up: serde_json::to_value(&learned.catch_up)?,
        attached: serde_json::to_value(&learned.attached)?,
        remote: if learned.installed.is_empty() {
            Value::Null
        } else {
            json!({ "installed": learned.installed })
        },
        checking,
        explanation: check.as_ref().map(|c| c.describe()),
        check: check.as_ref(),
    };
    let junit = RunJunit {
        test: &cfg.name,
        reason: reason.as_deref(),
        check: check.as_ref(),
        duration: learned.ran(),
    };
    let written = summary
        .write(&run_dir.results_path())
        .and_then(|()| run_files::write(run_dir, &events, &junit));
    if let Err(e) = written {
        match ended {
            // The run's own failure is the news (a full disk fails both).
            Ended::Failed(_) => output::note(&format!("results not all written: {e}")),
            _ => return Err(e.into()),
        }
    }
    if cfg.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        output::print_run_summary(&Conclusion {
            check: check.as_ref(),
            verdict,
            reason: reason.as_deref(),
            applied: learned.faults.as_ref().map(|f| &f.applied),
            unrecovered: learned.recovered.as_ref().and_then(|r| r.as_ref().err()),
            adequacy: &adequacy,
            run_dir,
        });
    }
    if let Some(files) = files.as_mut() {
        files.results = Some(serde_json::to_value(&summary)?);
        write_report(files, &cfg.store);
    }
    match ended {
        Ended::Completed => Ok(RunEnd::Finished(ExitCode::for_validity(verdict))),
        Ended::Interrupted(signal) => Ok(RunEnd::Interrupted(signal)),
        Ended::Failed(e) => Err(e),
    }
}

/// Writes the run's report.html and the store's index.html; a failure is said, not fatal (the
/// verdict and results.json stand without them).
fn write_report(files: &report::RunFiles, store: &std::path::Path) {
    match report::write_report(files) {
        Ok(path) => output::note(&format!("report: {}", path.display())),
        Err(e) => output::note(&format!("report.html not written: {e}")),
    }
    if let Err(e) = report::write_index(store) {
        output::note(&format!("index.html not written: {e}"));
    }
}

/// How a run's history is checked. A run stopped early is checked within a bound: whoever
/// stopped it is waiting.
fn check_options(cfg: &TestConfig, stopped_early: bool) -> CheckOptions {
    CheckOptions {
        model: cfg.checker,
        initial: json!(null),
        timeout: stopped_early.then_some(EARLY_CHECK_TIMEOUT),
        // A run's history is checked on the machine that ran it: answer unknown rather than let a
        // pathological key's search take the machine's memory.
        memory_limit: Some(crate::memory_cap::default_check_memory()),
        ..CheckOptions::default()
    }
}

/// How long the check of a run stopped early may take before it answers unknown.
const EARLY_CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// The workload phase: clients and nemesis until the time limit, then stop and heal.
async fn drive(
    cfg: &TestConfig,
    cluster: &Cluster,
    recorder: &Arc<Recorder>,
    stop_on: Option<&LiveCheck>,
    replication_path: &std::path::Path,
) -> (nemesis::NemesisReport, ReplicationSummary) {
    let (stop_tx, stop_rx) = watch::channel(false);
    let shared = Arc::new(Shared {
        generator: Mutex::new(cfg.workload.unit().generator(&workloads::Shape {
            seed: cfg.seed,
            keys: cfg.keys,
            ops_per_key: cfg.ops_per_key,
            weights: Some(cfg.weights.clone()),
        })),
        recorder: recorder.clone(),
        concurrency: cfg.concurrency,
        mean_gap: Duration::from_secs_f64(cfg.concurrency as f64 / cfg.rate),
        seed: cfg.seed,
        nodes: cluster.client_addrs(),
    });
    // A JoinSet aborts its tasks when dropped: a run interrupted here leaves no worker recording
    // into the history while the run is concluded from it.
    let mut workers = tokio::task::JoinSet::new();
    for id in 0..cfg.concurrency {
        let client = cluster.client(id, &client_options(cfg));
        workers.spawn(worker::run(id, client, shared.clone(), stop_rx.clone()));
    }
    let schedule = Schedule::new(cfg.nemesis.clone(), cfg.nemesis_interval, cfg.seed);
    let progress = Progress::new(cfg.time_limit);
    let clock = async {
        let start = tokio::time::Instant::now();
        let end = start + cfg.time_limit;
        while tokio::time::Instant::now() < end && recorder.failure().is_none() {
            if let Some(anomaly) = stop_on.and_then(LiveCheck::anomaly) {
                output::note(&format!(
                    "key {} is not linearizable: stopping the workload (--stop-on-anomaly)",
                    checker::describe_key(&anomaly.key)
                ));
                break;
            }
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
        replication::sample(
            cluster,
            replication_path,
            SAMPLE_EVERY,
            recorder.origin(),
            stop_rx.clone()
        )
    );
    while workers.join_next().await.is_some() {}
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
        cascade: cfg.cascade,
    }
}

/// A workload's final reads: `read` run on every node through a client reading from that node,
/// recorded by processes numbered after every worker's. The read of a node that did not catch up
/// with the primary is recorded as `fail`, with what it returned and why: it is not a final read
/// (a failed read counts for no checker), and "lost" keeps meaning absent where it must be
/// present.
async fn final_reads(
    cfg: &TestConfig,
    cluster: &Cluster,
    recorder: &Recorder,
    caught: &CatchUp,
    read: &Op,
) {
    for (i, node) in cluster.nodes().iter().enumerate() {
        let mut client = cluster.node_client(i, &client_options(cfg));
        let entry = |kind, value, error| Entry {
            process: Process::Client(results::FINAL_READ_PROCESSES + i as u64),
            kind,
            f: read.f().to_string(),
            key: Some(serde_json::Value::from(read.key())),
            value,
            error,
            node: None,
        };
        if recorder
            .record(entry(EventType::Invoke, read.invoke_value(), None))
            .is_err()
        {
            return;
        }
        let done = read.invoke(&mut client).await;
        let (kind, error) = match (done.kind, caught.behind(&node.name)) {
            (EventType::Ok, Some(why)) => {
                (EventType::Fail, Some(format!("not a final read: {why}")))
            }
            (kind, _) => (
                kind,
                done.error
                    .map(|e| format!("final read of {}: {e}", node.name)),
            ),
        };
        if recorder.record(entry(kind, done.value, error)).is_err() {
            return;
        }
    }
}
