//! How a run ends: every run that made its directory leaves a results.json (finished, failed or
//! interrupted), and a run that did not test what was asked is not passed off as valid.

mod common;

use common::*;
use serde_json::Value;
use std::process::Stdio;

/// Own nodes through the fault proxy (no root), asking for two fault kinds in a run with room
/// for one: 2 s quiet, then the first fault, then the end at 3 s.
const NO_ROOM: [&str; 14] = [
    "test",
    "--target",
    "own",
    "--net",
    "proxy",
    "--nemesis",
    "partition,kill",
    "--nemesis-interval",
    "2s",
    "--time-limit",
    "3s",
    "--seed",
    "7",
    "--rate",
];

fn no_room(case: &Case, extra: &[&str]) -> std::process::Output {
    let mut args = NO_ROOM.to_vec();
    args.push("200");
    args.extend_from_slice(extra);
    case.run(&args)
}

/// The requested kinds results.json says were never applied.
fn never_applied(results: &Value) -> Vec<String> {
    results["faults"]["applied"]
        .as_object()
        .unwrap_or_else(|| panic!("faults applied per kind: {results:#}"))
        .iter()
        .filter(|(_, n)| n.as_u64() == Some(0))
        .map(|(k, _)| k.clone())
        .collect()
}

#[test]
fn a_requested_fault_never_applied_makes_the_run_inconclusive() {
    let case = Case::new();
    let out = no_room(&case, &[]);
    assert_eq!(out.status.code(), Some(3), "inconclusive exits 3");
    let results = case.results();
    assert_eq!(results["verdict"], "unknown", "{results:#}");
    let missing = never_applied(&results);
    assert!(!missing.is_empty(), "{results:#}");
    let reason = results["reason"].as_str().expect("a reason");
    for kind in &missing {
        let said = format!("{kind} was requested but never applied");
        assert!(
            reason.starts_with("inconclusive: ") && reason.contains(&said),
            "{reason}"
        );
    }
    let text = stdout(&out);
    assert!(text.contains("verdict: UNKNOWN (inconclusive: "), "{text}");
    assert!(text.contains("0 (requested, never applied)"), "{text}");
    assert_eq!(results["adequacy"]["accepted"], false);
    assert_all_gone(&node_pids(&case.latest()));
}

#[test]
fn accept_inadequate_keeps_the_verdict_and_the_warning() {
    let case = Case::new();
    let out = no_room(&case, &["--accept-inadequate"]);
    assert_eq!(out.status.code(), Some(0), "valid exits 0");
    let results = case.results();
    assert_eq!(results["verdict"], "valid", "{results:#}");
    assert!(results.get("reason").is_none(), "{results:#}");
    assert!(!never_applied(&results).is_empty(), "{results:#}");
    let adequacy = &results["adequacy"];
    assert_eq!(adequacy["accepted"], true);
    assert!(
        adequacy["shortfalls"][0]
            .as_str()
            .is_some_and(|s| s.contains("was requested but never applied")),
        "{adequacy:#}"
    );
    let text = stdout(&out);
    assert!(
        text.contains("(accepted with --accept-inadequate)") && text.contains("verdict: VALID"),
        "{text}"
    );
}

/// The results.json of `run`.
fn results_of(run: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(run.join("results.json"))
        .unwrap_or_else(|e| panic!("{} has results.json: {e}", run.display()));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn sigint_during_startup_leaves_results_with_the_reason() {
    // An `etcd` that starts and never answers keeps the run in its startup phase for as long as
    // --ready-timeout allows: the signal certainly arrives during startup.
    let bin = tempfile::tempdir().unwrap();
    let fake = bin.path().join("etcd");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho fake etcd starting\nexec sleep 600\n",
    )
    .unwrap();
    let mut perms = std::fs::metadata(&fake).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&fake, perms).unwrap();
    let case = Case::new();
    let mut child = case
        .cmd(&[
            "test",
            "--target",
            "etcd",
            "--net",
            "loopback",
            "--ready-timeout",
            "60s",
        ])
        .env("PATH", format!("{}:/usr/bin:/bin", bin.path().display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let run = wait_for(&case, &mut child, "three started members", |run| {
        (1..=3).all(|i| run.join(format!("nodes/n{i}/pid")).is_file())
    });
    let pids = node_pids(&run);
    assert_eq!(
        interrupt(&mut child),
        Some(130),
        "an interrupted run exits 130"
    );
    assert_all_gone(&pids);
    assert!(
        run.join("history.jsonl").is_file(),
        "the history exists from the start"
    );
    let results = results_of(&run);
    assert_eq!(results["verdict"], "unknown", "{results:#}");
    assert_eq!(results["exit_code"], 130);
    let reason = results["reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("interrupted by SIGINT"), "{results:#}");
    assert_eq!(
        results["check"]["counts"]["ok"], 0,
        "nothing ran: {results:#}"
    );
    assert!(
        results["faults"].is_null(),
        "the nemesis never ran: {results:#}"
    );
    // The files for machines too: no operation, and a run case saying why there is no verdict.
    assert_eq!(csv_rows(&run).len(), 1, "history.csv has its header only");
    let junit = junit(&run.join("junit.xml"));
    let cases = &junit.test_suites[0].test_cases;
    assert_eq!(cases.len(), 1, "nothing checked but the run");
    let (kind, _, message) = non_success(&cases[0]).expect("the run case is an error");
    assert_eq!(kind, "error");
    assert_eq!(message, reason);
}

#[test]
fn sigint_mid_run_leaves_results_with_the_counts_so_far() {
    let case = Case::new();
    let mut child = spawn(
        &case,
        &[
            "test",
            "--net",
            "loopback",
            "--time-limit",
            "60s",
            "--nemesis-interval",
            "300ms",
            "--seed",
            "2",
        ],
    );
    let run = wait_for(&case, &mut child, "a pause and some operations", |run| {
        let history = history_so_far(run);
        history.iter().any(|e| e["f"] == "pause")
            && history.iter().filter(|e| e["type"] == "ok").count() > 20
    });
    let pids = node_pids(&run);
    assert_eq!(interrupt(&mut child), Some(130));
    assert_all_gone(&pids);
    let results = results_of(&run);
    // Own nodes under pauses keep registers linearizable: nothing found, and the run unfinished.
    assert_eq!(results["verdict"], "unknown", "{results:#}");
    assert!(
        results["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("interrupted by SIGINT after")),
        "{results:#}"
    );
    let history = history_lines(&run);
    let ok_in_history = history
        .iter()
        .filter(|e| e["type"] == "ok" && e["process"] != "nemesis")
        .count();
    assert_eq!(
        results["check"]["counts"]["ok"].as_u64(),
        Some(ok_in_history as u64),
        "the counts are the history's"
    );
    assert!(results["duration_secs"].as_f64().unwrap() > 0.0);
    // history.csv holds what was recorded; junit.xml says the run did not finish.
    assert_eq!(csv_rows(&run).len() - 1, completed_operations(&run));
    let junit = junit(&run.join("junit.xml"));
    let (kind, ty, message) =
        non_success(&junit.test_suites[0].test_cases[0]).expect("the run case is an error");
    assert_eq!((kind, ty.as_str()), ("error", "run"));
    assert!(
        message.starts_with("interrupted by SIGINT after"),
        "{message}"
    );
    // The report of the history so far says plainly that the run did not finish.
    assert_eq!(results["ended"], "interrupted", "{results:#}");
    let report = std::fs::read_to_string(run.join("report.html")).expect("report.html");
    let banner = report
        .split(r#"<div class="incomplete" id="incomplete">"#)
        .nth(1)
        .expect("the report is marked incomplete");
    assert!(
        banner.starts_with("incomplete: the run was interrupted — interrupted by SIGINT after"),
        "{}",
        &banner[..banner.len().min(200)]
    );
    let index = std::fs::read_to_string(case.store.path().join("index.html")).unwrap();
    assert!(
        index.contains("incomplete: the run was interrupted"),
        "the index says so too"
    );
}
