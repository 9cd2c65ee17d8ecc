//! `faultline bench check`: how fast the checker decides, on workloads simulated in-process
//! (seeded, so every run checks the same histories) and on the Knossos corpus.
//!
//! Each workload runs in a child process (this binary, with a hidden `--child` flag), so that
//! its peak memory (`VmHWM`) is its own and a workload that crashes fails one row, not the table.
//! A child generates its histories once, then times `check_events` on them `runs` times; the
//! table shows the median run, and for a workload of many histories also the hardest one (the
//! largest per-history median). For a workload with invalid histories it also measures their
//! minimal witnesses: how many have at most 10 operations, and shrinking time against checking
//! time (the check's own time, shrinking excluded).
//!
//! ```text
//!   parent ──spawn──► child "etcd"   ─► generate, check ×runs ─► one JSON row + VmHWM
//!          ──spawn──► child "unique-10" …
//!          ◄── rows ─► table
//! ```

use crate::cli::BenchCheckArgs;
use anyhow::{anyhow, bail, Context, Result};
use checker::testing::{Mix, Object, Simulation, Values};
use checker::{
    check_events, nil_reads_unknown, read_history_file, CheckOptions, CheckReport, Event,
    EventType, FailedCas, Format, ModelKind, Validity, Witness,
};
use results::ExitCode;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// One workload: a name, what it is, and how to make its histories.
struct Workload {
    name: &'static str,
    about: &'static str,
    /// Runs only when named with `--only`: it takes minutes, or is a comparison, not a target.
    extra: bool,
    cases: fn(&BenchCheckArgs) -> Result<Cases>,
}

/// A workload's histories, each with the options it is checked with and the verdict it must
/// get (`None`: whatever the checker says).
struct Cases {
    histories: Vec<(Vec<Event>, CheckOptions, Option<Validity>)>,
    clients: Option<usize>,
    /// The verdict every key of every history must get, an invalid one with its witness
    /// (`None`: only the histories' verdicts are expected).
    every_key: Option<Validity>,
}

/// One row of the table.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Row {
    workload: String,
    histories: usize,
    ops: usize,
    keys: usize,
    clients: Option<usize>,
    runs: usize,
    /// The median over runs of the time to check every history.
    median: f64,
    /// The largest per-history median, for workloads of several histories.
    hardest: Option<f64>,
    /// The child's peak resident memory, in bytes.
    peak: Option<u64>,
    verdict: String,
    /// How the minimal witnesses of the invalid histories came out (last run), if any.
    #[serde(default)]
    witnesses: Option<WitnessStats>,
}

/// The witness goal, measured: small witnesses, found in at most twice the check's own time.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct WitnessStats {
    /// Invalid histories (each counted by its largest witness).
    invalid: usize,
    /// Of those, how many got a witness of at most 10 operations.
    small: usize,
    /// How many witnesses are proven 1-minimal.
    minimal: usize,
    /// How many were shrunk in at most twice the check's own time (that time without shrinking).
    in_time: usize,
    /// The largest witness, in operations.
    largest: usize,
    /// How many, with the operations shown only for context, still show at most 10.
    small_shown: usize,
    /// The largest witness with its context.
    largest_shown: usize,
    /// Seconds spent shrinking, in all.
    shrinking: f64,
    /// Seconds spent checking those histories, shrinking excluded.
    checking: f64,
}

impl WitnessStats {
    /// Adds one invalid history, checked in `took` seconds in all.
    fn add(&mut self, report: &CheckReport, took: f64) {
        let witnesses: Vec<&Witness> = report
            .keys
            .iter()
            .filter_map(|k| k.anomaly.as_ref()?.witness.as_ref())
            .collect();
        let size = witnesses.iter().map(|w| w.operations.len()).max();
        let shown = witnesses
            .iter()
            .map(|w| w.operations.len() + w.context.len())
            .max();
        self.small_shown += usize::from(shown.is_some_and(|n| n <= 10));
        self.largest_shown = self.largest_shown.max(shown.unwrap_or(0));
        let shrinking: f64 = witnesses.iter().map(|w| w.seconds).sum();
        let checking = (took - shrinking).max(0.0);
        self.invalid += 1;
        self.small += usize::from(size.is_some_and(|n| n <= 10));
        self.minimal += usize::from(!witnesses.is_empty() && witnesses.iter().all(|w| w.minimal));
        self.in_time += usize::from(!witnesses.is_empty() && shrinking <= 2.0 * checking);
        self.largest = self.largest.max(size.unwrap_or(0));
        self.shrinking += shrinking;
        self.checking += checking;
    }
}

/// Keys against the verdict each must get (`Cases::every_key`), an invalid one with its witness.
#[derive(Debug, Default)]
struct KeyTally {
    keys: usize,
    as_expected: usize,
    /// Invalid keys reported without a witness.
    unexplained: usize,
    /// Witnesses given as found, because explaining ran out of its time.
    out_of_time: usize,
}

impl KeyTally {
    fn add(&mut self, report: &CheckReport, expected: Validity) {
        for key in &report.keys {
            self.keys += 1;
            self.as_expected += usize::from(key.validity == expected);
            if key.validity == Validity::Invalid {
                match key.anomaly.as_ref().and_then(|a| a.witness.as_ref()) {
                    None => self.unexplained += 1,
                    Some(w) => self.out_of_time += usize::from(!w.minimal),
                }
            }
        }
    }

    /// Keys that missed their verdict, and invalid keys without a witness.
    fn unexpected(&self) -> usize {
        self.keys - self.as_expected + self.unexplained
    }

    fn describe(&self, expected: Validity) -> String {
        format!(
            "{} of {} keys {expected}, {} without a witness, {} not shrunk to minimal",
            self.as_expected, self.keys, self.unexplained, self.out_of_time
        )
    }
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "etcd",
        about: "102 etcd-like histories: 73-90 ops, cas-register, values 0..4, 5 clients, 15% \
                info in bursts",
        extra: false,
        cases: etcd,
    },
    Workload {
        name: "unique-10",
        about: "unique values, 20,000 ops, 1 key, 10 clients, 10% info",
        extra: false,
        cases: |a| unique(a, 10, false),
    },
    Workload {
        name: "unique-10-stale",
        about: "the same with one stale read (invalid)",
        extra: false,
        cases: |a| unique(a, 10, true),
    },
    Workload {
        name: "unique-20",
        about: "unique values, 20,000 ops, 1 key, 20 clients, 10% info",
        extra: false,
        cases: |a| unique(a, 20, false),
    },
    Workload {
        name: "large",
        about: "unique values, 1,000,000 ops, 1,000 keys, 50 clients, 10% info (--quick: 200,000 \
                ops, 200 keys)",
        extra: false,
        cases: |a| large(a, Values::Unique),
    },
    Workload {
        name: "large-search",
        about: "the same with values 0..4, so every key goes to the search",
        extra: true,
        cases: |a| large(a, Values::Range(5)),
    },
    Workload {
        name: "kv",
        about: "kv get/put/append, 10,000 ops (--quick: 2,000), 10 keys, 50 clients, 5% info",
        extra: false,
        cases: kv,
    },
    Workload {
        name: "kv-1700",
        about: "kv get/put/append at the size Porcupine's kv benchmark uses: 1,700 ops, 10 keys, \
                50 clients, 5% info",
        extra: false,
        cases: |a| Ok(kv_sized(a, Object::Kv, Some(1_700))),
    },
    Workload {
        name: "kv-stale",
        about: "a bad kv history: unique values, 10,000 ops (--quick: 2,000), 10 keys, 50 \
                clients, 5% info, a stale get on every key (every key must be decided invalid, \
                each with its witness)",
        extra: false,
        cases: kv_stale,
    },
    Workload {
        name: "kv-50-stale",
        about: "Porcupine's bad 50-client kv shape: 2,000 ops, 10 keys (about 200 each), 51% \
                appends, 44% gets, 5% puts, no times (event order only), 50 clients nearly \
                always in flight, a stale get on every key (every key must be decided invalid, \
                each with its witness)",
        extra: false,
        cases: kv_50_stale,
    },
    Workload {
        name: "register-10",
        about: "the register equivalent of kv: values 0..4, 10,000 ops (--quick: 2,000), 10 keys, \
                50 clients, 5% info",
        extra: false,
        cases: register_like_kv,
    },
    Workload {
        name: "cas-info-2k",
        about: "issue 15's worst shape: 1 key, values 0..4, cas, 20 clients, 10% info; 3 \
                histories of 2,000 ops (seeds 0 to 2)",
        extra: false,
        cases: |_| Ok(cas_info(2_000, Anomaly::None)),
    },
    Workload {
        name: "cas-info-20k",
        about: "the same at 20,000 ops (3 histories, seeds 0 to 2; 60 s timeout, 4 GiB memory \
                limit each)",
        extra: true,
        cases: |_| Ok(cas_info(20_000, Anomaly::None)),
    },
    Workload {
        name: "cas-info-20k-stale",
        about: "the same with one read halfway of a value nothing writes (invalid; a stale read \
                is often explainable here: indeterminate writes of every value stay pending)",
        extra: true,
        cases: |_| Ok(cas_info(20_000, Anomaly::NeverWritten)),
    },
    Workload {
        name: "cas-info-20k-future",
        about: "the same with one read halfway of a value first written by a write invoked after \
                it returned (invalid; without the fast path's check for it, the search would have \
                to exhaust every order before that read)",
        extra: true,
        cases: |_| Ok(cas_info(20_000, Anomaly::Future)),
    },
    Workload {
        name: "knossos",
        about: "the Knossos corpus (../shared/corpus/knossos), each file's verdict as Knossos's",
        extra: false,
        cases: knossos,
    },
];

/// Runs the benchmark; the exit code is 0 when every workload got its expected verdicts.
pub fn main(args: &BenchCheckArgs) -> i32 {
    let result = match &args.child {
        Some(name) => child(args, name),
        None => parent(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: faultline bench check: {e:#}");
            ExitCode::BadInput.code()
        }
    }
}

fn runs(args: &BenchCheckArgs) -> usize {
    args.runs.unwrap_or(if args.quick { 3 } else { 5 }).max(1)
}

fn parent(args: &BenchCheckArgs) -> Result<i32> {
    for name in &args.only {
        if !WORKLOADS.iter().any(|w| w.name == name) {
            let names: Vec<&str> = WORKLOADS.iter().map(|w| w.name).collect();
            bail!("--only: no workload {name:?} (known: {})", names.join(", "));
        }
    }
    let exe = std::env::current_exe().context("locating the faultline binary")?;
    let chosen: Vec<&Workload> = WORKLOADS
        .iter()
        .filter(|w| {
            if args.only.is_empty() {
                !w.extra
            } else {
                args.only.iter().any(|n| n == w.name)
            }
        })
        .collect();
    if !args.json {
        println!(
            "faultline bench check: median of {} runs{}, each workload in its own process",
            runs(args),
            if args.quick { " (--quick)" } else { "" }
        );
        for w in &chosen {
            println!("  {:<16} {}", w.name, w.about);
        }
        println!();
        println!("{}", header());
    }
    let mut rows = Vec::new();
    let mut ok = true;
    for w in chosen {
        let mut cmd = Command::new(&exe);
        cmd.args(["bench", "check", "--child", w.name, "--runs"])
            .arg(runs(args).to_string());
        if args.quick {
            cmd.arg("--quick");
        }
        if let Some(dir) = &args.corpus {
            cmd.arg("--corpus").arg(dir);
        }
        let out = cmd
            .output()
            .with_context(|| format!("running workload {}", w.name))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let row: Option<Row> = stdout
            .lines()
            .last()
            .and_then(|l| serde_json::from_str(l).ok());
        match row {
            Some(row) => {
                if !args.json {
                    print_row(&row);
                }
                ok &= !row.verdict.contains("unexpected");
                rows.push(row);
            }
            None => {
                ok = false;
                let stderr = String::from_utf8_lossy(&out.stderr);
                let why = stderr.lines().last().unwrap_or("no output").to_string();
                if !args.json {
                    println!("{:<16} failed ({}): {why}", w.name, out.status);
                }
            }
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    }
    Ok(if ok { 0 } else { ExitCode::Invalid.code() })
}

fn header() -> String {
    format!(
        "{:<22} {:>9} {:>10} {:>5} {:>7} {:>11} {:>12} {:>9}  verdict",
        "workload", "histories", "ops", "keys", "clients", "median", "ops/s", "peak mem"
    )
}

fn print_row(row: &Row) {
    let clients = row.clients.map_or("-".to_string(), |c| c.to_string());
    let peak = row
        .peak
        .map_or("-".to_string(), |b| format!("{} MiB", b >> 20));
    println!(
        "{:<22} {:>9} {:>10} {:>5} {:>7} {:>11} {:>12.0} {:>9}  {}",
        row.workload,
        row.histories,
        row.ops,
        row.keys,
        clients,
        duration(row.median),
        row.ops as f64 / row.median.max(1e-9),
        peak,
        row.verdict
    );
    if let Some(hardest) = row.hardest {
        println!("{:<22} {:>47}", "  hardest history", duration(hardest));
    }
    if let Some(w) = &row.witnesses {
        let percent = |n: usize| 100.0 * n as f64 / w.invalid.max(1) as f64;
        println!(
            "  witnesses: {} invalid, {} ({:.0}%) in at most 10 operations (largest {}; with \
             context {} ({:.0}%), largest {}), {} proven minimal; shrinking took {} against {} \
             of checking ({:.2}x), {} ({:.0}%) within twice their check",
            w.invalid,
            w.small,
            percent(w.small),
            w.largest,
            w.small_shown,
            percent(w.small_shown),
            w.largest_shown,
            w.minimal,
            duration(w.shrinking),
            duration(w.checking),
            w.shrinking / w.checking.max(1e-9),
            w.in_time,
            percent(w.in_time)
        );
    }
}

/// `12.3 ms`, `1.234 s`.
fn duration(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("{:.2} ms", seconds * 1e3)
    } else {
        format!("{seconds:.3} s")
    }
}

fn child(args: &BenchCheckArgs, name: &str) -> Result<i32> {
    let w = WORKLOADS
        .iter()
        .find(|w| w.name == name)
        .ok_or_else(|| anyhow!("no workload {name:?}"))?;
    let cases = (w.cases)(args)?;
    let runs = runs(args);
    let n = cases.histories.len();
    let mut per_history = vec![Vec::with_capacity(runs); n];
    let mut totals = Vec::with_capacity(runs);
    let mut verdicts = vec![Validity::Valid; n];
    let mut witnesses = WitnessStats::default();
    let mut keys_as_expected = KeyTally::default();
    for run in 0..runs {
        let mut total = Duration::ZERO;
        for (i, (events, options, _)) in cases.histories.iter().enumerate() {
            let started = Instant::now();
            let report = check_events(events, options)
                .with_context(|| format!("{name}: history {i} is malformed"))?;
            let took = started.elapsed();
            total += took;
            per_history[i].push(took.as_secs_f64());
            verdicts[i] = report.validity;
            if run + 1 == runs && report.validity == Validity::Invalid {
                witnesses.add(&report, took.as_secs_f64());
            }
            if let (true, Some(expected)) = (run + 1 == runs, cases.every_key) {
                keys_as_expected.add(&report, expected);
            }
        }
        totals.push(total.as_secs_f64());
    }
    let unexpected = cases
        .histories
        .iter()
        .zip(&verdicts)
        .filter(|((_, _, expected), got)| expected.is_some_and(|e| e != **got))
        .count()
        + keys_as_expected.unexpected();
    let merged = Validity::merge_all(verdicts.iter().copied());
    let verdict = if n > 1 {
        let count = |v| verdicts.iter().filter(|&&x| x == v).count();
        let mut parts = vec![format!(
            "{} valid, {} invalid, {} unknown",
            count(Validity::Valid),
            count(Validity::Invalid),
            count(Validity::Unknown)
        )];
        if cases.histories.iter().any(|(_, _, e)| e.is_some()) {
            parts.push(match unexpected {
                0 => "all as expected".to_string(),
                u => format!("{u} unexpected"),
            });
        }
        parts.join("; ")
    } else if unexpected > 0 {
        format!("{merged} (unexpected)")
    } else {
        merged.to_string()
    };
    let verdict = match cases.every_key {
        Some(expected) => format!("{verdict}; {}", keys_as_expected.describe(expected)),
        None => verdict,
    };
    let all_events = cases.histories.iter().flat_map(|(e, _, _)| e);
    let ops = all_events
        .clone()
        .filter(|e| e.kind == EventType::Invoke && e.process != checker::Process::Nemesis)
        .count();
    let keys = cases
        .histories
        .iter()
        .map(|(events, _, _)| {
            let keys: HashSet<String> = events
                .iter()
                .map(|e| e.key.as_ref().map_or("null".into(), |k| k.to_string()))
                .collect();
            keys.len()
        })
        .max()
        .unwrap_or(0);
    let row = Row {
        workload: name.to_string(),
        histories: n,
        ops,
        keys,
        clients: cases.clients,
        runs,
        median: median(&mut totals),
        hardest: (n > 1).then(|| {
            per_history
                .iter_mut()
                .map(|t| median(t))
                .fold(0.0, f64::max)
        }),
        peak: peak_memory(),
        verdict,
        witnesses: (witnesses.invalid > 0).then_some(witnesses),
    };
    println!("{}", serde_json::to_string(&row)?);
    Ok(0)
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(0.0)
}

/// This process's peak resident memory (`VmHWM` in /proc/self/status), in bytes.
fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    crate::memory_cap::proc_bytes(&status, "VmHWM:")
}

fn cas_register() -> CheckOptions {
    CheckOptions::default()
}

/// Jepsen's etcd test as Porcupine's benchmark has it: many short histories of a cas register
/// with values 0..4, 5 clients renewed after each info.
fn etcd(_: &BenchCheckArgs) -> Result<Cases> {
    let histories = (0..102u64)
        .map(|i| {
            let sim = Simulation {
                ops: 73 + (i as usize * 7) % 18,
                clients: 5,
                values: Values::Range(5),
                cas: true,
                info_rate: 0.15,
                bursty: true,
                // Jepsen found etcd serving stale reads: most of these histories are invalid,
                // and an invalid history is the search's worst case (it must exhaust every
                // order). With values 0..4 a stale read may still be explainable, so the verdict
                // is not fixed in advance.
                stale_read: i % 5 != 0,
                seed: 1000 + i,
                ..Simulation::default()
            };
            let expected = (i % 5 == 0).then_some(Validity::Valid);
            (sim.events(), cas_register(), expected)
        })
        .collect();
    Ok(Cases {
        histories,
        clients: Some(5),
        every_key: None,
    })
}

fn unique(_: &BenchCheckArgs, clients: usize, stale_read: bool) -> Result<Cases> {
    let sim = Simulation {
        ops: 20_000,
        clients,
        values: Values::Unique,
        info_rate: 0.1,
        stale_read,
        seed: 20_000 + clients as u64,
        ..Simulation::default()
    };
    let expected = if stale_read {
        Validity::Invalid
    } else {
        Validity::Valid
    };
    Ok(Cases {
        histories: vec![(sim.events(), cas_register(), Some(expected))],
        clients: Some(clients),
        every_key: None,
    })
}

fn large(args: &BenchCheckArgs, values: Values) -> Result<Cases> {
    let (ops, keys) = if args.quick {
        (200_000, 200)
    } else {
        (1_000_000, 1_000)
    };
    let sim = Simulation {
        ops,
        keys,
        clients: 50,
        values,
        info_rate: 0.1,
        seed: 1_000_000,
        ..Simulation::default()
    };
    Ok(Cases {
        histories: vec![(sim.events(), cas_register(), Some(Validity::Valid))],
        clients: Some(50),
        every_key: None,
    })
}

/// A kv-shaped workload of `ops` operations (default 10,000; 2,000 with --quick).
fn kv_sized(args: &BenchCheckArgs, object: Object, ops: Option<usize>) -> Cases {
    kv_cases(kv_simulation(args, object, ops), Validity::Valid)
}

/// The simulation behind the kv-shaped workloads: 10 keys, 50 clients, values 0..4, 5% info.
fn kv_simulation(args: &BenchCheckArgs, object: Object, ops: Option<usize>) -> Simulation {
    Simulation {
        object,
        ops: ops.unwrap_or(if args.quick { 2_000 } else { 10_000 }),
        keys: 10,
        clients: 50,
        values: Values::Range(5),
        info_rate: 0.05,
        seed: 50,
        ..Simulation::default()
    }
}

/// `sim`'s history, checked with its object's model, expected to be `expected`.
fn kv_cases(sim: Simulation, expected: Validity) -> Cases {
    let options = CheckOptions {
        model: match sim.object {
            Object::Kv => ModelKind::Kv,
            Object::Register => ModelKind::CasRegister,
        },
        // A runaway search answers unknown rather than holding up the table.
        timeout: Some(Duration::from_secs(60)),
        ..CheckOptions::default()
    };
    Cases {
        histories: vec![(sim.events(), options, Some(expected))],
        clients: Some(sim.clients),
        every_key: None,
    }
}

/// Porcupine's hard case: a bad 50-client kv history in which every key must be decided.
fn kv_stale(args: &BenchCheckArgs) -> Result<Cases> {
    let sim = Simulation {
        values: Values::Unique,
        stale_read: true,
        seed: 51,
        ..kv_simulation(args, Object::Kv, None)
    };
    Ok(kv_cases(sim, Validity::Invalid))
}

/// The history of issue 15: Porcupine's kv shape (a 6.824 key-value service under 50 clients),
/// where every key is invalid and each must be decided and explained, not only the first.
fn kv_50_stale(_: &BenchCheckArgs) -> Result<Cases> {
    let sim = Simulation {
        object: Object::Kv,
        ops: 2_000,
        keys: 10,
        clients: 50,
        values: Values::Unique,
        mix: Some(Mix {
            read: 44,
            write: 5,
            third: 51,
        }),
        event_order: true,
        long_updates: 0.2,
        // Porcupine's kv histories have no indeterminate operations, only ones still running
        // when the history ends.
        info_rate: 0.0,
        fail_rate: 0.0,
        stale_read: true,
        seed: 15,
        ..Simulation::default()
    };
    let mut cases = kv_cases(sim, Validity::Invalid);
    cases.every_key = Some(Validity::Invalid);
    Ok(cases)
}

/// Issue 15's worst shape for the search: one key, values repeating (0..4), 20 clients, 10%
/// indeterminate operations with cas, each of which may or may not have happened. Seeds 0 to 2,
/// as the issue measured them; a runaway search answers unknown at 60 s or 4 GiB rather than
/// holding up the table (or the machine).
fn cas_info(ops: usize, anomaly: Anomaly) -> Cases {
    let histories = (0..3u64)
        .map(|seed| {
            let sim = Simulation {
                ops,
                clients: 20,
                values: Values::Range(5),
                cas: true,
                info_rate: 0.1,
                seed,
                ..Simulation::default()
            };
            let options = CheckOptions {
                timeout: Some(Duration::from_secs(60)),
                memory_limit: Some(4 << 30),
                ..cas_register()
            };
            let mut events = sim.events();
            if anomaly != Anomaly::None {
                inject(&mut events, anomaly);
            }
            let expected = if anomaly == Anomaly::None {
                Validity::Valid
            } else {
                Validity::Invalid
            };
            (events, options, Some(expected))
        })
        .collect();
    Cases {
        histories,
        clients: Some(20),
        every_key: None,
    }
}

/// The certain anomaly a `cas-info` history gets. A stale read is none here: with values 0..4
/// and hundreds of indeterminate writes and cas pending for ever, some may have written the
/// stale value just before the read (the search found two of three such histories valid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Anomaly {
    /// None: the history is valid.
    None,
    /// A read halfway returns 5, which no operation writes: invalid whatever the order (the
    /// fast path sees it without searching).
    NeverWritten,
    /// A read halfway returns 5, and the first write invoked after that read returned writes
    /// 5: the only write of it began too late, so no order explains the read (the fast path
    /// sees it; a search would have to exhaust every order before the read).
    Future,
}

/// Injects `anomaly` (not [`Anomaly::None`]) into a simulated register history.
fn inject(events: &mut [Event], anomaly: Anomaly) {
    let half = events.len() / 2;
    let read = half
        + events[half..]
            .iter()
            .position(|e| e.kind == EventType::Ok && e.f == "read")
            .expect("a history of reads, writes and cas has a read in its second half");
    events[read].value = serde_json::json!(5);
    if anomaly == Anomaly::Future {
        // The first write invoked after the read returned whose completion is ok, invocation
        // and completion both.
        let (invoke, done) = (read + 1..events.len())
            .filter(|&i| events[i].kind == EventType::Invoke && events[i].f == "write")
            .find_map(|i| {
                let process = &events[i].process;
                let done = (i + 1..events.len()).find(|&j| events[j].process == *process)?;
                (events[done].kind == EventType::Ok).then_some((i, done))
            })
            .expect("an ok write follows the read");
        events[invoke].value = serde_json::json!(5);
        events[done].value = serde_json::json!(5);
    }
}

fn kv(args: &BenchCheckArgs) -> Result<Cases> {
    Ok(kv_sized(args, Object::Kv, None))
}

fn register_like_kv(args: &BenchCheckArgs) -> Result<Cases> {
    Ok(kv_sized(args, Object::Register, None))
}

/// The corpus directory: `--corpus`, `$FAULTLINE_CORPUS` (the directory or its parent), or
/// `shared/corpus/knossos` beside the workspace.
fn corpus_dir(args: &BenchCheckArgs) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(dir) = &args.corpus {
        candidates.push(dir.clone());
    }
    if let Some(dir) = std::env::var_os("FAULTLINE_CORPUS") {
        let dir = PathBuf::from(dir);
        candidates.push(dir.join("knossos"));
        candidates.push(dir);
    }
    candidates.push(PathBuf::from("../shared/corpus/knossos"));
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/knossos"));
    candidates
        .into_iter()
        .find(|d| d.join("EXPECTED.tsv").is_file())
}

/// Every history of the Knossos corpus, read as `faultline check` reads EDN (nil reads observe
/// nothing), with the model, initial value and verdict `EXPECTED.tsv` gives.
fn knossos(args: &BenchCheckArgs) -> Result<Cases> {
    let dir = corpus_dir(args).ok_or_else(|| {
        anyhow!("skipped: the Knossos corpus is missing (give --corpus or FAULTLINE_CORPUS)")
    })?;
    let table = std::fs::read_to_string(dir.join("EXPECTED.tsv"))?;
    let mut histories = Vec::new();
    for line in table.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [path, model, initial, expected] = cols[..] else {
            bail!("EXPECTED.tsv: not four columns: {line:?}");
        };
        let mut events = read_history_file(&dir.join(path), Format::Auto)?;
        nil_reads_unknown(&mut events);
        let options = CheckOptions {
            model: model.parse()?,
            initial: checker::formats::parse_value(initial)?,
            // As `faultline check` reads EDN by default, and as Knossos's verdicts assume.
            failed_cas: FailedCas::Dropped,
            ..CheckOptions::default()
        };
        let expected: Validity = serde_json::from_value(serde_json::json!(expected))?;
        histories.push((events, options, Some(expected)));
    }
    Ok(Cases {
        histories,
        clients: None,
        every_key: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_durations() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0]), 4.0);
        assert_eq!(duration(0.01234), "12.34 ms");
        assert_eq!(duration(1.5), "1.500 s");
    }

    #[test]
    fn workload_names_are_unique() {
        let names: HashSet<&str> = WORKLOADS.iter().map(|w| w.name).collect();
        assert_eq!(names.len(), WORKLOADS.len());
    }

    #[test]
    fn peak_memory_is_read() {
        assert!(peak_memory().is_some_and(|b| b > 0));
    }
}
