//! What the end-to-end test files share: a prepared command per test with its own store, and
//! checks that a run left its directory complete and nothing running.

#![allow(dead_code)] // Each test file uses its own subset.

pub mod hosts;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Own nodes with no faults whose replicas apply the primary's writes 300 ms late, read from:
/// a read soon after a write finds the value before it, so stale reads are all but certain.
pub const LAGGING_REPLICA_READS: [&str; 6] = [
    "--nemesis",
    "none",
    "--replication-delay",
    "300ms",
    "--read-from",
    "replica",
];

/// The words of one command, from parts: `words(&[&["test"], &LAGGING_REPLICA_READS])`.
pub fn words<'a>(parts: &[&[&'a str]]) -> Vec<&'a str> {
    parts.concat()
}

/// How many keys a run's results.json judged invalid.
pub fn invalid_keys(results: &Value) -> usize {
    results["check"]["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("a check with keys: {results:#}"))
        .iter()
        .filter(|k| k["validity"] == "invalid")
        .count()
}

/// For a test that retries seeds until a run records what it needs: a run without it must still
/// have ended with a verdict; says why it missed, for the failure message if none hits.
pub fn missed(seed: &str, why: &str, code: Option<i32>, results: &Value) -> String {
    assert!(
        matches!(code, Some(0 | 1 | 3)),
        "a verdict, not an error: {results:#}"
    );
    format!("seed {seed}: {why} (verdict {})", results["verdict"])
}

/// One test's faultline: its own store, taken down on drop.
pub struct Case {
    pub store: tempfile::TempDir,
}

impl Case {
    /// A case with a fresh temporary store.
    pub fn new() -> Case {
        Case {
            store: tempfile::tempdir().expect("a temporary store"),
        }
    }

    /// The faultline command with `args` (and this store for `test`), not yet run.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_faultline"));
        cmd.args(args);
        if args.first() == Some(&"test") {
            cmd.arg("--store").arg(self.store.path());
        }
        cmd.stdin(Stdio::null());
        cmd
    }

    /// Runs faultline with `args`, echoing its output for the test log.
    pub fn run(&self, args: &[&str]) -> Output {
        let out = self.cmd(args).output().expect("faultline runs");
        eprintln!(
            "faultline {args:?} -> {:?}\n--- stdout\n{}--- stderr\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Runs `faultline cluster --store <this case's store> ARGS`.
    pub fn cluster(&self, args: &[&str]) -> Output {
        let store = self.store.path().display().to_string();
        let mut all = vec!["cluster", "--store", store.as_str()];
        all.extend_from_slice(args);
        self.run(&all)
    }

    /// [`Case::cluster`], which must exit 0.
    pub fn cluster_ok(&self, args: &[&str]) -> Output {
        let out = self.cluster(args);
        assert_eq!(out.status.code(), Some(0), "cluster {args:?}");
        out
    }

    /// The latest run directory of this store.
    pub fn latest(&self) -> PathBuf {
        std::fs::canonicalize(self.store.path().join("latest")).expect("store/latest exists")
    }

    /// The latest run's results.json.
    pub fn results(&self) -> Value {
        let text =
            std::fs::read_to_string(self.latest().join("results.json")).expect("results.json");
        serde_json::from_str(&text).expect("results.json is JSON")
    }
}

/// Whatever a test leaves running — a lab it did not take down because an assertion failed, a
/// run it killed — is taken down with its store, so a failing test leaves no namespace behind.
impl Drop for Case {
    fn drop(&mut self) {
        let live = self.store.path().join("live");
        if std::fs::read_dir(&live).is_ok_and(|mut d| d.next().is_some()) {
            let _ = Command::new(env!("CARGO_BIN_EXE_faultline"))
                .args(["cluster", "--store"])
                .arg(self.store.path())
                .arg("down")
                .output();
        }
    }
}

/// The path of a file under tests/fixtures.
pub fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

/// A command's standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A command's standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Pids of every node of the latest run, from the pid files the cluster writes.
pub fn node_pids(run: &Path) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir(run.join("nodes")).expect("nodes dir") {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let text = std::fs::read_to_string(path.join("pid")).expect("pid file");
            pids.push(text.trim().parse().expect("a pid"));
        }
    }
    pids
}

/// A pid is gone when /proc has no such process (or only an unrelated reuse, which we rule out by
/// requiring it not to be ours: its parent would not be a faultline test).
pub fn assert_all_gone(pids: &[u32]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    for pid in pids {
        while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(stat.is_empty(), "node process {pid} is still there: {stat}");
    }
}

/// The events of a run's history.jsonl.
pub fn history_lines(run: &Path) -> Vec<Value> {
    std::fs::read_to_string(run.join("history.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("history lines are JSON"))
        .collect()
}

/// The events of a history.jsonl a run is still writing: its whole lines only (the last may
/// be half written as it is read).
pub fn history_so_far(run: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(run.join("history.jsonl")).unwrap_or_default();
    let whole = text.rfind('\n').map_or("", |end| &text[..end]);
    whole
        .lines()
        .map(|l| serde_json::from_str(l).expect("whole history lines are JSON"))
        .collect()
}

/// Asserts a run ended with `verdict`, a real history, node logs and no node left.
pub fn assert_run_dir_complete(case: &Case, verdict: &str) {
    let run = case.latest();
    let results = case.results();
    assert_eq!(results["verdict"], verdict, "{results:#}");
    let history = history_lines(&run);
    assert!(
        history.len() > 20,
        "the history has operations ({} lines)",
        history.len()
    );
    let ok = results["check"]["counts"]["ok"].as_u64().unwrap();
    assert!(ok > 10, "operations succeeded: {ok}");
    assert!(results["seed"].is_u64());
    assert!(
        run.join("nodes/n1/node.log").is_file(),
        "node logs are kept"
    );
    assert_all_gone(&node_pids(&run));
}

/// Namespaces and devices a run's network.json lists.
pub fn network_made(run: &Path) -> (Vec<String>, Vec<String>) {
    let text = std::fs::read_to_string(run.join("nodes/network.json")).expect("network.json");
    let v: Value = serde_json::from_str(&text).unwrap();
    let hosts = v["hosts"].as_array().expect("netns hosts");
    let namespaces = hosts
        .iter()
        .map(|h| h["netns"].as_str().unwrap().to_string())
        .collect();
    let mut devices: Vec<String> = hosts
        .iter()
        .map(|h| h["veth"].as_str().unwrap().to_string())
        .collect();
    devices.push(v["bridge"].as_str().unwrap().to_string());
    (namespaces, devices)
}

/// Asserts no namespace or device a run made is left.
pub fn assert_network_gone(run: &Path) {
    let (namespaces, devices) = network_made(run);
    for ns in namespaces {
        assert!(
            !Path::new("/run/netns").join(&ns).exists(),
            "namespace {ns} left behind"
        );
    }
    for d in devices {
        assert!(
            !Path::new("/sys/class/net").join(&d).exists(),
            "device {d} left behind"
        );
    }
}

/// A run's history.csv as rows (the header first), read back by a CSV reader.
pub fn csv_rows(run: &Path) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(run.join("history.csv"))
        .unwrap_or_else(|e| panic!("{} has history.csv: {e}", run.display()));
    reader
        .records()
        .map(|r| r.expect("a CSV row").iter().map(String::from).collect())
        .collect()
}

/// How many client operations of a run's history.jsonl completed (each is one CSV row).
pub fn completed_operations(run: &Path) -> usize {
    history_lines(run)
        .iter()
        .filter(|e| e["process"] != "nemesis" && e["type"] != "invoke")
        .count()
}

/// A JUnit file, parsed (strictly: quick-junit's reader rejects malformed XML).
pub fn junit(path: &Path) -> quick_junit::Report {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} is readable: {e}", path.display()));
    quick_junit::Report::deserialize_from_str(&text)
        .unwrap_or_else(|e| panic!("{} is JUnit XML: {e}\n{text}", path.display()))
}

/// A test case's (kind, type, message) when it did not pass.
pub fn non_success(case: &quick_junit::TestCase) -> Option<(&'static str, String, String)> {
    match &case.status {
        quick_junit::TestCaseStatus::NonSuccess {
            kind, message, ty, ..
        } => Some((
            match kind {
                quick_junit::NonSuccessKind::Failure => "failure",
                quick_junit::NonSuccessKind::Error => "error",
            },
            ty.as_ref().map(|t| t.to_string()).unwrap_or_default(),
            message.as_ref().map(|m| m.to_string()).unwrap_or_default(),
        )),
        _ => None,
    }
}

/// Starts `faultline ARGS` in the background.
pub fn spawn(case: &Case, args: &[&str]) -> Child {
    case.cmd(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("faultline starts")
}

/// Waits until the latest run directory satisfies `ready`, or fails the test (killing `child`).
pub fn wait_for(
    case: &Case,
    child: &mut Child,
    what: &str,
    ready: impl Fn(&PathBuf) -> bool,
) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(run) = std::fs::canonicalize(case.store.path().join("latest")) {
            if ready(&run) {
                return run;
            }
        }
        if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} never happened");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SIGINTs `child` and returns its exit code, within 30 s.
pub fn interrupt(child: &mut Child) -> Option<i32> {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("faultline did not exit within 30 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What a run recorded of a failover under a partition, in seconds of the run.
#[derive(Debug, Clone, Copy)]
pub struct FailoverWindow {
    /// When the partition was applied.
    pub partition: f64,
    /// The first replication sample showing another node than the old primary as primary.
    pub promoted: f64,
    /// When the partition was healed (infinity if it never was).
    pub heal: f64,
}

/// What the run recorded of the scenario: the partition applied, and a node other than `old`
/// reporting itself the primary before the heal. Err says what the run lacked.
pub fn failover_during_partition(run: &Path, old: &str) -> Result<FailoverWindow, String> {
    let history = history_lines(run);
    let applied = |f: &str| {
        history
            .iter()
            .find(|e| e["process"] == "nemesis" && e["f"] == f && e["type"] == "info")
            .and_then(|e| e["time"].as_u64())
            .map(|nanos| nanos as f64 / 1e9)
    };
    let partition = applied("partition").ok_or("the partition was never applied")?;
    let heal = applied("heal").unwrap_or(f64::INFINITY);
    let samples = std::fs::read_to_string(run.join("replication.jsonl")).expect("samples");
    let promoted = samples
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|s| s["role"] == "primary" && s["node"] != old)
        .filter_map(|s| s["time"].as_f64())
        .find(|time| (partition..=heal).contains(time));
    match promoted {
        Some(promoted) => Ok(FailoverWindow {
            partition,
            promoted,
            heal,
        }),
        None => Err(format!(
            "no node but {old} reported itself the primary between the partition \
             ({partition:.1} s) and the heal ({heal:.1} s)"
        )),
    }
}

/// Seeds whose fault schedule (a pure function of the seed) kills every node at once among the
/// first faults of `--nemesis partition,pause,kill`: 30 first, 11 and 16 second.
pub const KILL_ALL_MIXED: [&str; 3] = ["30", "11", "16"];

/// Asserts n1's append-only log of `run` holds something: the kills had a log to replay.
pub fn assert_n1_logged(run: &Path) {
    let log = run.join("nodes/n1/node.aof");
    let len = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    assert!(len > 0, "{} is empty or missing", log.display());
}

/// Runs `run` with each of [`KILL_ALL_MIXED`]'s seeds until one run kills all `nodes` nodes at
/// once, judging every run that applied a kill with `judge` (exit code, results.json) and the
/// one that killed them all also by its n1 log; a run with no kill must say it is inconclusive
/// (exit 3). Panics with every seed's miss if no run killed them all.
pub fn until_every_node_is_killed(
    nodes: usize,
    run: impl Fn(&Case, &str) -> (Option<i32>, Value),
    judge: impl Fn(Option<i32>, &Value),
) {
    let mut missed = Vec::new();
    for seed in KILL_ALL_MIXED {
        let case = Case::new();
        let (code, results) = run(&case, seed);
        assert_ne!(code, Some(2), "the run failed: {results:#}");
        let kills = &results["faults"]["applied"]["kill"];
        if kills.as_u64().unwrap_or(0) == 0 {
            assert_eq!(code, Some(3), "no kill: inconclusive exits 3: {results:#}");
            missed.push(format!("seed {seed}: no kill applied"));
            continue;
        }
        judge(code, &results);
        if !kills_of_every_node(&history_lines(&case.latest()), nodes).is_empty() {
            assert_n1_logged(&case.latest());
            return;
        }
        missed.push(format!(
            "seed {seed}: no kill of all {nodes} nodes at once (kills applied: {kills})"
        ));
    }
    panic!("{nodes} nodes:\n{}", missed.join("\n"));
}

/// Seeds whose schedule of `--nemesis kill` kills every one of 3 nodes at its first fault.
pub const KILL_ALL_FIRST: [&str; 3] = ["3", "11", "12"];

/// The kills in `history` that took all `nodes` nodes at once (applied, not failed): the fault
/// that leaves no node holding what was only in memory.
pub fn kills_of_every_node(history: &[Value], nodes: usize) -> Vec<&Value> {
    history
        .iter()
        .filter(|e| e["process"] == "nemesis" && e["f"] == "kill" && e["type"] == "info")
        .filter(|e| e["value"]["nodes"].as_array().map(Vec::len) == Some(nodes))
        .collect()
}

/// A daemon a test started itself (outside faultline); resumed and killed by its pid when
/// dropped, the test failed or not.
pub struct Started {
    /// The process.
    pub child: Child,
}

impl Started {
    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its state letter in /proc (R, S, T for stopped, …); `None` once it is gone.
    pub fn state(&self) -> Option<char> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).ok()?;
        // The state follows the command name in parentheses.
        stat.rsplit_once(") ")?.1.chars().next()
    }

    /// Whether it still runs, unpaused, as the test started it.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_none()
            && !matches!(self.state(), None | Some('T' | 'Z'))
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.pid() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
