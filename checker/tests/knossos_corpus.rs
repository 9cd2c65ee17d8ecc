//! The checker against Knossos's own test histories: every file must get exactly the verdict
//! Knossos's tests assert, with the model and initial value `EXPECTED.tsv` gives.
//!
//! The corpus lives outside the repository, in `shared/corpus/knossos/` beside the workspace
//! (or wherever `FAULTLINE_CORPUS` points: the `knossos` directory or its parent). When it is
//! missing the test is skipped with a message, unless `FAULTLINE_REQUIRE_ALL` is set.
//!
//! Knossos reads a nil read as one that observed nothing ([`checker::nil_reads_unknown`]); its
//! verdicts depend on that, so the histories are checked that way.

use checker::{
    check_events, infer_model, nil_reads_unknown, read_history_file, CheckOptions, Event,
    FailedCas, Format, ModelKind, Validity,
};
use serde_json::json;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Long enough for any history here in a debug build; a search that runs out shows as a
/// failure with verdict `unknown` instead of a hung test.
const PER_FILE_TIMEOUT: Duration = Duration::from_secs(60);

/// One row of `EXPECTED.tsv`.
struct Expected {
    path: String,
    model: ModelKind,
    initial: serde_json::Value,
    validity: Validity,
}

/// The corpus directory, if there is one.
fn corpus_dir() -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = match std::env::var_os("FAULTLINE_CORPUS") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            vec![dir.clone(), dir.join("knossos")]
        }
        None => vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/knossos")],
    };
    candidates
        .into_iter()
        .find(|d| d.join("EXPECTED.tsv").is_file())
}

fn expected_rows(dir: &Path) -> Vec<Expected> {
    let table = std::fs::read_to_string(dir.join("EXPECTED.tsv")).expect("EXPECTED.tsv reads");
    let mut lines = table.lines();
    assert_eq!(
        lines.next(),
        Some("path\tmodel\tinitial\texpected"),
        "EXPECTED.tsv header"
    );
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            let [path, model, initial, expected] = cols[..] else {
                panic!("EXPECTED.tsv: not four columns: {line:?}")
            };
            Expected {
                path: path.to_string(),
                model: model.parse().expect("a known model"),
                initial: checker::formats::parse_value(initial).expect("an EDN initial value"),
                validity: serde_json::from_value(json!(expected)).expect("valid or invalid"),
            }
        })
        .collect()
}

/// Every `.edn` file under `dir`, relative to it.
fn edn_files(dir: &Path, under: &Path, found: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).expect("corpus directory lists") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            edn_files(&path, under, found);
        } else if path.extension().is_some_and(|e| e == "edn") {
            let relative = path.strip_prefix(under).expect("under the corpus");
            found.insert(relative.to_string_lossy().into_owned());
        }
    }
}

#[test]
fn every_knossos_history_gets_its_expected_verdict() {
    let Some(dir) = corpus_dir() else {
        let required = std::env::var_os("FAULTLINE_REQUIRE_ALL").is_some_and(|v| !v.is_empty());
        assert!(
            !required,
            "FAULTLINE_REQUIRE_ALL is set but the Knossos corpus is missing (looked in \
             FAULTLINE_CORPUS, else ../shared/corpus/knossos beside the workspace)"
        );
        eprintln!(
            "SKIPPED: the Knossos corpus is missing (set FAULTLINE_CORPUS to its directory; \
             FAULTLINE_REQUIRE_ALL=1 makes this a failure)"
        );
        return;
    };
    let rows = expected_rows(&dir);
    let mut on_disk = BTreeSet::new();
    edn_files(&dir, &dir, &mut on_disk);
    let listed: BTreeSet<String> = rows.iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        on_disk, listed,
        "EXPECTED.tsv lists exactly the corpus's .edn files"
    );

    let started = Instant::now();
    let mut failures = Vec::new();
    let mut timings = Vec::new();
    for row in &rows {
        let path = dir.join(&row.path);
        let file_started = Instant::now();
        let mut events = match read_history_file(&path, Format::Auto) {
            Ok(events) => events,
            Err(e) => {
                failures.push(format!("{}: cannot read: {e}", row.path));
                continue;
            }
        };
        // `faultline check --model auto` must pick the model Knossos's tests use.
        match infer_model(&events) {
            Ok(model) if model == row.model => {}
            inferred => failures.push(format!(
                "{}: --model auto picks {inferred:?}, expected {}",
                row.path, row.model
            )),
        }
        nil_reads_unknown(&mut events);
        let options = CheckOptions {
            model: row.model,
            initial: row.initial.clone(),
            timeout: Some(PER_FILE_TIMEOUT),
            // Knossos drops failed operations; so does `faultline check` for EDN by default.
            failed_cas: FailedCas::Dropped,
            ..CheckOptions::default()
        };
        let verdict = match check_events(&events, &options) {
            Ok(report) => report.validity,
            Err(e) => {
                failures.push(format!("{}: cannot check: {e}", row.path));
                continue;
            }
        };
        let took = file_started.elapsed();
        let ops = events
            .iter()
            .filter(|e| e.kind == checker::EventType::Invoke)
            .count();
        println!(
            "{:<50} {:>6} ops  {:<7} (expected {:<7}) {:>9.3} s",
            row.path,
            ops,
            verdict.to_string(),
            row.validity.to_string(),
            took.as_secs_f64()
        );
        timings.push((took, row.path.clone()));
        if verdict != row.validity {
            failures.push(format!(
                "{}: {verdict}, expected {} ({ops} ops, {:.3} s)",
                row.path,
                row.validity,
                took.as_secs_f64()
            ));
        }
    }
    timings.sort();
    let slowest: Vec<String> = timings
        .iter()
        .rev()
        .take(5)
        .map(|(t, p)| format!("{p} {:.3} s", t.as_secs_f64()))
        .collect();
    println!(
        "{} histories in {:.3} s; slowest: {}",
        rows.len(),
        started.elapsed().as_secs_f64(),
        slowest.join(", ")
    );
    assert!(
        failures.is_empty(),
        "{} of {} histories got the wrong verdict:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

/// One small history in Jepsen's written forms.
const VECTOR: &str = "[{:process 0, :type :invoke, :f :write, :value 0}
 {:process 0, :type :ok, :f :write, :value 0}
 {:process 1, :type :invoke, :f :read, :value nil}
 {:process :nemesis, :type :info, :f :start, :value nil}
 {:process 2, :type :invoke, :f :cas, :value [0 4]}
 {:process 1, :type :ok, :f :read, :value READ}
 {:process 2, :type :ok, :f :cas, :value [0 4]}]";

const RECORDS: &str = "\
#jepsen.history.Op{:index 0, :time 10, :type :invoke, :process 0, :f :write, :value 0}
#jepsen.history.Op{:index 1, :time 20, :type :ok, :process 0, :f :write, :value 0}
#jepsen.history.Op{:index 2, :time 30, :type :invoke, :process 1, :f :read, :value nil}
#jepsen.history.Op{:index 3, :time 35, :type :info, :process :nemesis, :f :start, :value nil}
#jepsen.history.Op{:index 4, :time 40, :type :invoke, :process 2, :f :cas, :value [0 4]}
#jepsen.history.Op{:index 5, :time 50, :type :ok, :process 1, :f :read, :value READ}
#jepsen.history.Op{:index 6, :time 60, :type :ok, :process 2, :f :cas, :value [0 4]}
";

const LOG: &str = "\
INFO  jepsen.core - Running test
INFO  jepsen.util - 0\t:invoke\t:write\t0
INFO  jepsen.util - 0\t:ok\t:write\t0
INFO  jepsen.util - 1\t:invoke\t:read\tnil
INFO  jepsen.util - :nemesis\t:info\t:start\tnil
INFO  jepsen.util - 2\t:invoke\t:cas\t[0 4]
INFO  jepsen.util - 1\t:ok\t:read\tREAD
INFO  jepsen.util - 2\t:ok\t:cas\t[0 4]
INFO  jepsen.core - Run complete
";

/// Current Jepsen's log layout: the times are the records' times.
const NEW_LOG: &str = "\
2022-07-28 07:53:02,000{GMT}\tINFO\t[main] jepsen.core: Running test
2022-07-28 07:53:02,010{GMT}\tINFO\t[jepsen worker 0] jepsen.util: [ 10 ] 0\t:invoke\t:write\t0
2022-07-28 07:53:02,020{GMT}\tINFO\t[jepsen worker 0] jepsen.util: [ 20 ] 0\t:ok\t:write\t0
2022-07-28 07:53:02,030{GMT}\tINFO\t[jepsen worker 1] jepsen.util: [ 30 ] 1\t:invoke\t:read\tnil
2022-07-28 07:53:02,035{GMT}\tINFO\t[jepsen nemesis] jepsen.util: [ 35 ] :nemesis\t:info\t:start\tnil
2022-07-28 07:53:02,040{GMT}\tINFO\t[jepsen worker 2] jepsen.util: [ 40 ] 2\t:invoke\t:cas\t[0 4]
2022-07-28 07:53:02,050{GMT}\tINFO\t[jepsen worker 1] jepsen.util: [ 50 ] 1\t:ok\t:read\tREAD
2022-07-28 07:53:02,060{GMT}\tINFO\t[jepsen worker 2] jepsen.util: [ 60 ] 2\t:ok\t:cas\t[0 4]
2022-07-28 07:53:03,000{GMT}\tINFO\t[main] jepsen.core: Run complete
";

/// The events, without times (only the records carry them).
fn timeless(mut events: Vec<Event>) -> Vec<Event> {
    for e in &mut events {
        e.time = 0;
    }
    events
}

#[test]
fn records_and_log_lines_read_as_the_edn_vector() {
    let dir = std::env::temp_dir().join(format!("knossos-forms-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The read is concurrent with the write of 4: it may see 0 or 4, never 3.
    for (read, expected) in [
        ("0", Validity::Valid),
        ("4", Validity::Valid),
        ("3", Validity::Invalid),
    ] {
        let mut verdicts = Vec::new();
        let mut histories = Vec::new();
        for (name, text) in [
            ("vector.edn", VECTOR),
            ("records.edn", RECORDS),
            ("ops.log", LOG),
            ("new.log", NEW_LOG),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, text.replace("READ", read)).unwrap();
            let events = read_history_file(&path, Format::Auto).unwrap();
            let report = check_events(
                &events,
                &CheckOptions {
                    initial: json!(0),
                    ..CheckOptions::default()
                },
            )
            .unwrap();
            verdicts.push(report.validity);
            histories.push(events);
        }
        assert_eq!(
            histories[1], histories[3],
            "current log = records, times too"
        );
        let histories: Vec<Vec<Event>> = histories.into_iter().map(timeless).collect();
        assert_eq!(verdicts, [expected; 4], "read {read}");
        assert_eq!(histories[0].len(), 7);
        assert_eq!(histories[0], histories[1], "records, read {read}");
        assert_eq!(histories[0], histories[2], "log, read {read}");
        assert_eq!(histories[0], histories[3], "current log, read {read}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
