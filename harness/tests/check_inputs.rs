//! `faultline check` on what a new user hands it (issue 12): files that hold no history, both
//! layouts of Jepsen's log, run directories and stores, several files at once, and histories
//! without times. Each test is named after what went wrong before.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A file `name` holding `text` in a fresh directory of the case's store.
fn write(case: &Case, name: &str, text: &str) -> String {
    let dir = case.store.path().join("inputs");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// Current Jepsen's log layout: tab-separated prefix, the time bracketed before the process.
const NEW_LOG: &str = "\
2022-07-28 07:53:01,000{GMT}\tINFO\t[main] jepsen.core: Running test jepsen.etcd
2022-07-28 07:53:02,859{GMT}\tINFO\t[jepsen worker 0] jepsen.util: [ 1350999542 ] 0\t:invoke\t:write\t1
2022-07-28 07:53:02,860{GMT}\tINFO\t[jepsen worker 0] jepsen.util: [ 1360999542 ] 0\t:ok\t:write\t1
2022-07-28 07:53:02,900{GMT}\tINFO\t[jepsen nemesis] jepsen.util: [ 1400000000 ] :nemesis\t:info\t:add-server\t\"n5\"
2022-07-28 07:53:03,000{GMT}\tINFO\t[jepsen worker 2] jepsen.util: [ 2000000000 ] 2\t:invoke\t:read\tnil
2022-07-28 07:53:03,100{GMT}\tINFO\t[jepsen worker 2] jepsen.util: [ 2100000000 ] 2\t:ok\t:read\tREAD
2022-07-28 07:53:04,000{GMT}\tINFO\t[main] jepsen.core: Run complete, writing
";

/// The same history in the older layout, without times.
const OLD_LOG: &str = "\
INFO  jepsen.core - Running test
INFO  jepsen.util - 0\t:invoke\t:write\t1
INFO  jepsen.util - 0\t:ok\t:write\t1
INFO  jepsen.util - :nemesis\t:info\t:add-server\t\"n5\"
INFO  jepsen.util - 2\t:invoke\t:read\tnil
INFO  jepsen.util - 2\t:ok\t:read\tREAD
INFO  jepsen.core - Run complete
";

#[test]
fn files_without_operations_are_not_valid_histories() {
    let case = Case::new();
    for (name, text, format) in [
        ("empty.jsonl", "", "jsonl"),
        ("empty.edn", "", "edn"),
        ("hello.txt", "hello world\n", "jepsen-log"),
        ("hello", "hello world\n", "jepsen-log"),
    ] {
        let path = write(&case, name, text);
        let out = case.run(&["check", &path]);
        assert_eq!(out.status.code(), Some(2), "{name}: not a history");
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "{path}: no operations found reading it as {format}"
            )),
            "{name}: {err}"
        );
        assert!(err.contains("expected "), "{name}: says what was expected");
        assert!(
            !stdout(&out).contains("VALID"),
            "{name}: no verdict of valid"
        );
    }
}

#[test]
fn current_and_older_jepsen_logs_are_read() {
    let case = Case::new();
    for (name, log, at) in [
        ("new.log", NEW_LOG, "invoked at 2.000 s, ok at 2.100 s"),
        ("old.log", OLD_LOG, "invoked at event 3, ok at event 4"),
    ] {
        let good = write(&case, name, &log.replace("READ", "1"));
        let out = case.run(&["check", "--model", "cas-register", &good]);
        assert_eq!(out.status.code(), Some(0), "{name}");
        assert!(
            stdout(&out).contains("valid: 1 key checked, 0 invalid, 0 unknown (2 ok"),
            "{name}: the operations were read"
        );
        let bad = write(&case, name, &log.replace("READ", "7"));
        let out = case.run(&["check", &bad]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let text = stdout(&out);
        assert!(
            text.contains(&format!("read returned 7 by process 2: {at}")),
            "{name}: times as the log has them: {text}"
        );
        assert!(
            text.contains("model cas-register: picked from its operations"),
            "{text}"
        );
    }
}

#[test]
fn a_garbled_operation_line_is_an_error_with_its_line() {
    let case = Case::new();
    for (name, log) in [("new.log", NEW_LOG), ("old.log", OLD_LOG)] {
        let garbled = log
            .replace("READ", "1")
            .replace("2\t:ok\t:read", "2\t:okay\t:read");
        let path = write(&case, name, &garbled);
        let out = case.run(&["check", &path]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        assert!(
            stderr(&out).contains(&format!(
                "{path}: line 6, column 1: a jepsen.util line that looks like an operation"
            )),
            "{name}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn a_history_without_times_shows_event_numbers_in_every_part() {
    let case = Case::new();
    let out = case.run(&[
        "check",
        "--failed-cas",
        "observes",
        &fixture("failed-cas.edn"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("cas 1 -> 2 by process 1 (invoked event 2, fail at event 3)"),
        "the stuck operations: {text}"
    );
    assert!(
        text.contains("cas 1 -> 2 by process 1: invoked at event 2, failed at event 3"),
        "the witness: {text}"
    );
    assert!(!text.contains(" s,") && !text.contains(" s)"), "{text}");
}

#[test]
fn the_model_is_picked_from_the_operations_or_asked_for() {
    let case = Case::new();
    let set = write(
        &case,
        "set.jsonl",
        concat!(
            r#"{"index":0,"time":1000,"process":0,"type":"invoke","f":"add","value":1}"#,
            "\n",
            r#"{"index":1,"time":2000,"process":0,"type":"ok","f":"add","value":1}"#,
            "\n",
            r#"{"index":2,"time":3000,"process":1,"type":"invoke","f":"read","value":null}"#,
            "\n",
            r#"{"index":3,"time":4000,"process":1,"type":"ok","f":"read","value":[1]}"#,
            "\n",
        ),
    );
    let out = case.run(&["check", "--json", &set]);
    assert_eq!(out.status.code(), Some(0));
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reports[0]["model"], "set");
    assert_eq!(reports[0]["model_chosen"], "picked from its operations");

    let adds = write(
        &case,
        "adds.jsonl",
        r#"{"index":0,"time":1000,"process":0,"type":"invoke","f":"add","value":1}"#,
    );
    let out = case.run(&["check", &adds]);
    assert_eq!(out.status.code(), Some(2), "add alone: set or counter");
    assert!(
        stderr(&out).contains(
            "--model auto: cannot tell which model to check against: the operations' f values \
             are add, which set, counter could each read; name the model with --model"
        ),
        "{}",
        stderr(&out)
    );
    let out = case.run(&["check", "--model", "counter", &adds]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("model counter: as asked"));

    let unknown = write(
        &case,
        "incr.jsonl",
        r#"{"index":0,"time":1000,"process":0,"type":"invoke","f":"incr","value":1}"#,
    );
    let out = case.run(&["check", &unknown]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no model reads these operations: their f values are incr"),
        "{}",
        stderr(&out)
    );
}

/// One verdict per history, and one exit code: invalid 1 over unreadable 2 over unknown 3 over
/// valid 0, so that CI can tell a broken system from a broken input.
#[test]
fn several_histories_exit_invalid_over_unreadable_over_unknown_over_valid() {
    let case = Case::new();
    let empty = write(&case, "empty.jsonl", "");
    // Nemesis operations only: valid whatever the timeout, as no key needs searching.
    let quiet = write(
        &case,
        "quiet.jsonl",
        r#"{"index":0,"time":5,"process":"nemesis","type":"info","f":"start"}"#,
    );
    let valid = fixture("linearizable.jsonl");
    let invalid = fixture("stale-read.jsonl");
    let code = |args: &[&str]| {
        let out = case.run(args);
        let verdicts = stdout(&out).matches("verdict: ").count();
        (out.status.code(), verdicts)
    };
    assert_eq!(code(&["check", &invalid, &empty]), (Some(1), 2));
    assert_eq!(code(&["check", &empty, &invalid, &valid]), (Some(1), 3));
    // A zero timeout leaves the register history unknown.
    assert_eq!(
        code(&["check", "--timeout", "0s", &valid, &empty]),
        (Some(2), 2)
    );
    assert_eq!(
        code(&["check", "--timeout", "0s", &quiet, &valid]),
        (Some(3), 2)
    );
    assert_eq!(code(&["check", &quiet, &valid]), (Some(0), 2));
    let out = case.run(&["check", &valid, &empty, &invalid]);
    assert!(
        stdout(&out)
            .ends_with("3 histories: 1 valid, 1 invalid, 1 unreadable, 0 unknown; exit 1\n"),
        "{}",
        stdout(&out)
    );
}

/// A real run of the register workload in `store`, which must be valid.
fn register_run(case: &Case) -> PathBuf {
    let out = case.run(&[
        "test",
        "--time-limit",
        "2s",
        "--nemesis",
        "none",
        "--seed",
        "7",
    ]);
    assert_eq!(out.status.code(), Some(0), "the run is valid");
    case.latest()
}

#[test]
fn a_run_directory_and_a_store_are_rechecked_with_the_runs_checker() {
    let case = Case::new();
    let first = register_run(&case);
    let store = case.store.path().display().to_string();
    let latest = case.store.path().join("latest").display().to_string();

    // Before: VALID for the history, then exit 2 on replication.jsonl and results.json.
    let out = case.run(&["check", &latest]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert_eq!(text.matches("verdict: ").count(), 1, "one verdict: {text}");
    assert!(
        text.contains("model cas-register: the checker the run was judged by"),
        "{text}"
    );
    let mut results: Value =
        serde_json::from_str(&std::fs::read_to_string(first.join("results.json")).unwrap())
            .unwrap();
    // A run made before results.json named its checker: its workload's checker.
    let named = results["options"]
        .as_object_mut()
        .unwrap()
        .remove("checker");
    assert_eq!(named, Some(Value::from("cas-register")));
    let older = case.store.path().join("older");
    std::fs::create_dir(&older).unwrap();
    std::fs::copy(first.join("history.jsonl"), older.join("history.jsonl")).unwrap();
    std::fs::write(older.join("results.json"), results.to_string()).unwrap();
    let out = case.run(&["check", older.to_str().unwrap()]);
    assert!(
        stdout(&out).contains("model cas-register: the checker of the run's register workload"),
        "{}",
        stdout(&out)
    );
    std::fs::remove_dir_all(&older).unwrap();
    let counts = &results["check"]["counts"];
    assert!(
        text.contains(&format!(
            "({} ok, {} fail, {} info operations)",
            counts["ok"], counts["fail"], counts["info"]
        )),
        "the same operations as the run checked: {text}"
    );

    // A second run with the set workload, on own nodes: set-full judges it.
    let out = case.run(&[
        "test",
        "--net",
        "loopback",
        "--workload",
        "set",
        "--time-limit",
        "2s",
        "--nemesis",
        "none",
        "--seed",
        "7",
    ]);
    assert_eq!(out.status.code(), Some(0), "the set run is valid");
    let set_run = case.latest();

    // The store: every run once (not again through `latest`), `live/` skipped.
    let out = case.run(&["check", "--json", &store]);
    assert_eq!(out.status.code(), Some(0));
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    let reports = reports.as_array().unwrap();
    let runs: Vec<(PathBuf, String)> = reports
        .iter()
        .map(|r| {
            let run = Path::new(r["run"].as_str().expect("each report names its run"));
            let run = std::fs::canonicalize(run).unwrap();
            (run, r["model"].as_str().unwrap().to_string())
        })
        .collect();
    let mut expected = vec![
        (first.clone(), "cas-register".to_string()),
        (set_run.clone(), "set-full".to_string()),
    ];
    expected.sort();
    let mut runs = runs;
    runs.sort();
    assert_eq!(runs, expected);
    for r in reports {
        assert_eq!(r["report"]["validity"], "valid", "{r:#}");
    }

    // A test directory stands for its runs too.
    let test_dir = first.parent().unwrap().display().to_string();
    let out = case.run(&["check", &test_dir]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out).matches("verdict: ").count(), 1);

    // --model still wins over the run's checker.
    let first = first.display().to_string();
    let out = case.run(&["check", "--model", "register", &first]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "the run's cas are not a register's"
    );
}
