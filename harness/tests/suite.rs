//! `faultline suite`: tests in sequence against own nodes, Redis and etcd (real daemons, under
//! the skip-or-fail policy of `cluster::capability`), one table, a suite junit.xml and suite.json,
//! one exit code; and suite files that are refused before anything runs.
//!
//! Whether a run under faults is valid or inconclusive depends on the machine's load, so the
//! assertions follow what each run recorded in its results.json.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

/// The repository's example suite `name`.
fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../suites")
        .join(name)
}

/// Runs `faultline suite FILE --store <the case's store>`.
fn suite(case: &Case, file: &Path) -> Output {
    let (file, store) = (
        file.display().to_string(),
        case.store.path().display().to_string(),
    );
    case.run(&["suite", &file, "--store", &store])
}

/// The table's rows (header left out), each cell trimmed: cells are separated by two spaces or
/// more, and no cell holds two spaces.
fn table_rows(text: &str) -> Vec<Vec<String>> {
    let lines: Vec<&str> = text.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.starts_with("#  test"))
        .unwrap_or_else(|| panic!("a table in:\n{text}"));
    assert_eq!(
        cells(lines[header]),
        [
            "#",
            "test",
            "verdict",
            "ops",
            "faults applied",
            "duration",
            "run dir"
        ]
    );
    lines[header + 1..]
        .iter()
        .take_while(|l| l.starts_with(|c: char| c.is_ascii_digit()) && l.contains("  "))
        .map(|l| cells(l))
        .collect()
}

fn cells(line: &str) -> Vec<String> {
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(String::from)
        .collect()
}

/// The suite directory the run left (one per case here), with its suite.json.
fn suite_json(case: &Case, name: &str) -> (PathBuf, Value) {
    let parent = case.store.path().join("suites").join(name);
    let dirs: Vec<PathBuf> = std::fs::read_dir(&parent)
        .unwrap_or_else(|e| panic!("{} exists: {e}", parent.display()))
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "one suite directory: {dirs:?}");
    let text = std::fs::read_to_string(dirs[0].join("suite.json")).expect("suite.json");
    (
        dirs[0].clone(),
        serde_json::from_str(&text).expect("suite.json is JSON"),
    )
}

/// The word the table shows for a run's exit code.
fn verdict_word(code: i64) -> &'static str {
    match code {
        0 => "VALID",
        1 => "INVALID",
        3 => "UNKNOWN",
        _ => "ERROR",
    }
}

/// The suite's exit code from the runs' own, by faultline's one precedence (an interrupted or
/// failed run is an error).
fn combined(codes: &[i64]) -> i32 {
    use results::ExitCode;
    codes
        .iter()
        .map(|c| match c {
            0 => ExitCode::Valid,
            1 => ExitCode::Invalid,
            3 => ExitCode::Unknown,
            _ => ExitCode::BadInput,
        })
        .fold(ExitCode::Valid, ExitCode::combine)
        .code()
}

/// Asserts that the table, suite.json and the suite's junit.xml agree with what every test's
/// run recorded, and that the suite exited by their precedence; returns the runs' results.json.
fn assert_suite_reports_its_runs(
    case: &Case,
    out: &Output,
    name: &str,
    tests: &[&str],
) -> Vec<Value> {
    let rows = table_rows(&stdout(out));
    let (dir, summary) = suite_json(case, name);
    assert_eq!(summary["suite"], name);
    let entries = summary["tests"].as_array().expect("tests in suite.json");
    assert_eq!(rows.len(), tests.len(), "a row per test");
    assert_eq!(entries.len(), tests.len(), "an entry per test");
    let junit = junit(&dir.join("junit.xml"));
    assert_eq!(junit.name.as_deref(), Some(name));
    let mut codes = Vec::new();
    let mut all_results = Vec::new();
    // Each test's suite in the file is its run's own: a run case, then its keys or checker.
    let mut suites = junit.test_suites.iter();
    for (i, test) in tests.iter().enumerate() {
        let (row, entry) = (&rows[i], &entries[i]);
        let run = PathBuf::from(entry["run_dir"].as_str().expect("a run directory"));
        assert!(
            run.starts_with(case.store.path().join(test)),
            "{run:?} is the store's"
        );
        let results: Value =
            serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap())
                .unwrap();
        let code = results["exit_code"].as_i64().unwrap();
        let counts = &results["check"]["counts"];
        let ops: u64 = ["ok", "fail", "info"]
            .iter()
            .map(|k| counts[k].as_u64().unwrap())
            .sum();
        assert_eq!(row[0], (i + 1).to_string());
        assert_eq!(row[1], *test);
        assert_eq!(row[2], verdict_word(code), "{results:#}");
        assert_eq!(row[3], ops.to_string());
        assert_eq!(row[6], run.display().to_string());
        assert_eq!(entry["test"], *test);
        assert_eq!(entry["exit_code"], code);
        assert_eq!(entry["verdict"], results["verdict"]);
        assert_eq!(entry["operations"], ops);
        assert_eq!(entry["faults_applied"], results["faults"]["applied"]);
        let applied = results["faults"]["applied"].as_object().unwrap();
        for (kind, n) in applied {
            assert!(row[4].contains(&format!("{kind} {n}")), "{row:?}");
        }
        let own = run_junit(&run);
        let in_suite = suites.next().expect("a testsuite per test");
        assert_eq!(in_suite.name.as_str(), *test);
        assert_eq!(*in_suite, own, "the run's own junit.xml, as it is");
        let not_passed = in_suite.failures + in_suite.errors;
        assert_eq!(
            not_passed == 0,
            code == 0,
            "{test}: exit {code}, junit: {in_suite:?}"
        );
        codes.push(code);
        all_results.push(results);
    }
    assert!(suites.next().is_none(), "no testsuite beyond the tests");
    let expected = combined(&codes);
    assert_eq!(
        out.status.code(),
        Some(expected),
        "the runs exited {codes:?}"
    );
    assert_eq!(summary["exit_code"], expected);
    all_results
}

/// The junit.xml of one run directory: its one testsuite.
fn run_junit(run: &Path) -> quick_junit::TestSuite {
    let mut report = junit(&run.join("junit.xml"));
    assert_eq!(report.test_suites.len(), 1);
    report.test_suites.remove(0)
}

#[test]
fn the_own_example_suite_runs_and_reports_each_test() {
    let case = Case::new();
    let out = suite(&case, &example("own.toml"));
    let results = assert_suite_reports_its_runs(
        &case,
        &out,
        "own",
        &["own-register-pause", "own-register-partition"],
    );
    for r in &results {
        // Own nodes keep registers linearizable under pauses and partitions; a loaded machine
        // may leave a fault without room (inconclusive), never an anomaly.
        assert_eq!(r["check"]["validity"], "valid", "{r:#}");
    }
    // Each run records the `faultline test` words it stands for: `--like` repeats it.
    let store = case.store.path().display().to_string();
    let command: Vec<&str> = results[0]["options"]["command"]
        .as_array()
        .expect("the run's command")
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(command[0], "test");
    assert!(
        command
            .windows(2)
            .any(|w| w == ["--name", "own-register-pause"]),
        "{command:?}"
    );
    assert!(command.ends_with(&["--store", &store]), "{command:?}");
    let (_, summary) = suite_json(&case, "own");
    let first = summary["tests"][0]["run_dir"].as_str().unwrap();
    let out = case.run(&[
        "test",
        "--like",
        first,
        "--time-limit",
        "1s",
        "--nemesis",
        "none",
    ]);
    assert!(
        matches!(out.status.code(), Some(0 | 3)),
        "repeated: {out:?}"
    );
    assert_eq!(
        case.results()["seed"],
        results[0]["seed"],
        "the seed is the suite's run's"
    );
    assert_eq!(case.results()["test"], "own-register-pause");
}

#[test]
fn a_suite_across_own_redis_and_etcd_exits_invalid_when_one_test_is() {
    let mut text = String::from(
        r#"name = "mixed"

# Invalid by design: replica reads while replication is held back 300 ms.
[[test]]
name = "own-stale"
net = "loopback"
nemesis = "none"
replication-delay = "300ms"
read-from = "replica"
keys = 1
time-limit = "3s"
seed = 3
"#,
    );
    let mut tests = vec!["own-stale"];
    if cluster::capability::redis_for_test() {
        text += r#"
[[test]]
name = "redis-pause"
target = "redis"
net = "proxy"
nemesis = "pause"
nemesis-interval = "1s"
time-limit = "3s"
seed = 1
"#;
        tests.push("redis-pause");
    }
    if cluster::capability::etcd_for_test() {
        text += r#"
[[test]]
name = "etcd-set"
target = "etcd"
workload = "set"
net = "proxy"
nemesis = "pause"
nemesis-interval = "1s"
time-limit = "3s"
seed = 1
"#;
        tests.push("etcd-set");
    }
    let case = Case::new();
    let file = case.store.path().join("mixed.toml");
    std::fs::write(&file, text).unwrap();
    let out = suite(&case, &file);
    assert_eq!(
        out.status.code(),
        Some(1),
        "one invalid test makes the suite invalid"
    );
    let results = assert_suite_reports_its_runs(&case, &out, "mixed", &tests);
    assert_eq!(results[0]["verdict"], "invalid");
    let rows = table_rows(&stdout(&out));
    assert_eq!(rows[0][2], "INVALID");
    // The invalid key's failure in the suite's junit.xml carries the checker's explanation.
    let (dir, _) = suite_json(&case, "mixed");
    let report = junit(&dir.join("junit.xml"));
    let key = &report.test_suites[0].test_cases[1];
    let (kind, _, message) = non_success(key).expect("the stale key fails");
    assert_eq!(kind, "failure");
    assert_eq!(
        message,
        results[0]["check"]["keys"][0]["anomaly"]["message"]
            .as_str()
            .unwrap()
    );
    if tests.contains(&"etcd-set") {
        let set = report.test_suites.last().unwrap();
        let names: Vec<&str> = set.test_cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["run", "set-full"], "a weak checker is one case");
    }
}

#[test]
fn a_test_that_cannot_start_is_an_error_row_and_the_suite_exits_2() {
    let case = Case::new();
    let file = case.store.path().join("broken.toml");
    std::fs::write(
        &file,
        r#"
[[test]]
name = "own-quiet"
net = "loopback"
nemesis = "none"
time-limit = "2s"

[[test]]
name = "etcd-missing"
target = "etcd"
net = "loopback"
nemesis = "none"
time-limit = "1s"
"#,
    )
    .unwrap();
    // No etcd on this PATH: the second run fails to start (own nodes are this binary).
    let empty = tempfile::tempdir().unwrap();
    let store = case.store.path().display().to_string();
    let out = case
        .cmd(&["suite", &file.display().to_string(), "--store", &store])
        .env("PATH", empty.path())
        .output()
        .unwrap();
    eprintln!("{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(2), "an error outranks valid");
    let rows = table_rows(&stdout(&out));
    assert_eq!(rows[0][2], "VALID");
    assert_eq!(rows[1][2], "ERROR");
    let text = stdout(&out);
    let reason = text
        .lines()
        .find(|l| l.starts_with("2 etcd-missing: "))
        .unwrap_or_else(|| panic!("the error's reason below the table:\n{text}"));
    assert!(reason.contains("etcd-server"), "{reason}");
    let (dir, summary) = suite_json(&case, "broken");
    assert_eq!(summary["exit_code"], 2);
    assert_eq!(summary["tests"][1]["exit_code"], 2);
    let report = junit(&dir.join("junit.xml"));
    let run_case = &report.test_suites[1].test_cases[0];
    let (kind, ty, message) = non_success(run_case).expect("the failed run is an error");
    assert_eq!((kind, ty.as_str()), ("error", "run"));
    assert!(
        message.starts_with("the run failed: starting the cluster"),
        "{message}"
    );
}

#[test]
fn a_bad_suite_file_is_refused_before_any_test_runs() {
    let cases: [(&str, &str); 5] = [
        (
            "[[test]]\nnemesis = \"none\"\ntime-limit = \"1s\"\n[[test]]\nname = \"b\"\nconcurency = 2\n",
            "test 2 (b): unknown field `concurency` (the options of `faultline test`: ",
        ),
        (
            "[[test]]\nnemesis = \"none\"\n[[test]]\nname = \"liar\"\ntarget = \"redis\"\n\
             nemesis = \"byzantine\"\n",
            "test 2 (liar): --nemesis byzantine: Redis nodes cannot be made to lie",
        ),
        (
            "[[test]]\nnemesis = \"none\"\n[[test]]\nnemesis = \"pause\"\n",
            "test 2 and test 1 are both named `own-register`: give one a `name`",
        ),
        (
            "[[test]]\nnodes = 12\n",
            "test 1: --nodes: must be 1 to 9, got 12",
        ),
        ("[[test]\n", "not a suite file (TOML): "),
    ];
    for (text, expected) in cases {
        let case = Case::new();
        let file = case.store.path().join("bad.toml");
        std::fs::write(&file, text).unwrap();
        let out = suite(&case, &file);
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = stderr(&out);
        let expected = format!("error: {}: {expected}", file.display());
        assert!(
            err.contains(&expected),
            "{text}\n{err}\nexpected: {expected}"
        );
        let left: Vec<String> = std::fs::read_dir(case.store.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            left,
            ["bad.toml"],
            "nothing ran, no suite directory: {text}"
        );
    }
    let case = Case::new();
    let missing = case.store.path().join("none.toml");
    let out = suite(&case, &missing);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(&format!("cannot read {}", missing.display())));
}

#[test]
fn an_interrupted_suite_stops_writes_its_files_and_exits_130() {
    let case = Case::new();
    let file = case.store.path().join("long.toml");
    std::fs::write(
        &file,
        r#"
[[test]]
name = "long"
net = "loopback"
nemesis = "none"
time-limit = "60s"

[[test]]
name = "after"
net = "loopback"
nemesis = "none"
time-limit = "1s"
"#,
    )
    .unwrap();
    let (file, store) = (
        file.display().to_string(),
        case.store.path().display().to_string(),
    );
    let mut child = spawn(&case, &["suite", &file, "--store", &store]);
    wait_for(&case, &mut child, "operations in the first test", |run| {
        history_lines(run)
            .iter()
            .filter(|e| e["type"] == "ok")
            .count()
            > 20
    });
    assert_eq!(interrupt(&mut child), Some(130));
    let mut text = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut text).unwrap();
    let rows = table_rows(&text);
    assert_eq!(rows[0][2], "INTERRUPTED", "{text}");
    assert_eq!(&rows[1][1..4], ["after", "NOT RUN", "-"], "{text}");
    assert!(text.contains("(exit 130)"), "{text}");
    let (dir, summary) = suite_json(&case, "long");
    assert_eq!(summary["exit_code"], 130);
    assert_eq!(summary["tests"][0]["exit_code"], 130);
    assert!(summary["tests"][1]["exit_code"].is_null(), "{summary:#}");
    assert!(
        !case.store.path().join("after").exists(),
        "the second test never ran"
    );
    let report = junit(&dir.join("junit.xml"));
    let messages: Vec<String> = report
        .test_suites
        .iter()
        .map(|s| non_success(&s.test_cases[0]).expect("an error").2)
        .collect();
    assert!(
        messages[0].starts_with("interrupted by SIGINT"),
        "{messages:?}"
    );
    assert_eq!(messages[1], "not run");
}
