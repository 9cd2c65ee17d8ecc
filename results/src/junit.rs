//! `junit.xml`: a run's verdict as CI systems read test results.
//!
//! ```text
//! <testsuites name="own-register">
//!   <testsuite name="own-register" tests="4" failures="1" errors="1">
//!     <testcase classname="own-register" name="run"/>              the run itself: an <error>
//!                                                                  when it failed, was interrupted
//!                                                                  or tested less than asked
//!     <testcase classname="own-register" name="key k1"/>           one per key (linearizability)
//!     <testcase classname="own-register" name="key k2">            or one per checker (set-full,
//!       <failure type="invalid" message="...">the explanation</failure>   counter-bounds, ...)
//!     <testcase classname="own-register" name="key k3">
//!       <error type="unknown" message="why the checker could not decide"/>
//! ```
//!
//! An invalid key is a `<failure>` carrying the checker's explanation in words (the same text
//! `faultline check` prints); an undecided key is an `<error>` saying why, since a run that ends
//! unknown exits 3 and CI must not read it as passed. A suite's file (`faultline suite`) holds one
//! `<testsuite>` per test, read back from each run's own file. Written with `quick-junit`, which
//! escapes text and drops characters XML cannot hold.

use crate::StoreError;
use checker::report::describe_key;
use checker::report::WeakReport;
use checker::{CheckReport, KeyReport, Validity};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::path::Path;
use std::time::Duration;

/// What a run's `junit.xml` is made of.
#[derive(Debug, Clone, Copy)]
pub struct RunJunit<'a> {
    /// The test's name: the suite's name and every case's class name.
    pub test: &'a str,
    /// Why the run's verdict is not simply the check's (failed, interrupted, inconclusive), as
    /// `results.json` says; the `run` case is an error carrying it.
    pub reason: Option<&'a str>,
    /// The check of the history, if it could be checked.
    pub check: Option<&'a CheckReport>,
    /// How long the workload ran.
    pub duration: Duration,
}

impl RunJunit<'_> {
    /// The run as one `<testsuite>`.
    pub fn suite(&self) -> TestSuite {
        let mut suite = TestSuite::new(self.test);
        suite.set_time(self.duration);
        let mut run = match (self.reason, self.check) {
            (Some(why), _) => non_success(NonSuccessKind::Error, "run", why, None),
            (None, None) => non_success(
                NonSuccessKind::Error,
                "run",
                "the history was not checked",
                None,
            ),
            (None, Some(_)) => TestCase::new("run", TestCaseStatus::success()),
        };
        run.set_classname(self.test);
        suite.add_test_case(run);
        let Some(report) = self.check else {
            return suite;
        };
        let cases = match &report.weak {
            Some(weak) => vec![checker_case(weak)],
            None => report.keys.iter().map(|k| key_case(report, k)).collect(),
        };
        for mut case in cases {
            case.set_classname(self.test);
            suite.add_test_case(case);
        }
        suite
    }

    /// Writes the run's `junit.xml` to `path`.
    pub fn write(&self, path: &Path) -> Result<(), StoreError> {
        let mut report = Report::new(self.test);
        report.add_test_suite(self.suite());
        write_report(&report, path)
    }
}

/// Writes `report` to `path` (via a temporary file, so a reader never sees half a file).
pub fn write_report(report: &Report, path: &Path) -> Result<(), StoreError> {
    let xml = report.to_string().map_err(|e| {
        StoreError::io(
            path,
            std::io::Error::other(format!("cannot write JUnit XML: {e}")),
        )
    })?;
    let tmp = path.with_extension("xml.tmp");
    std::fs::write(&tmp, xml).map_err(|e| StoreError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| StoreError::io(path, e))
}

/// The `<testsuite>`s of a `junit.xml` written by [`RunJunit::write`], for a suite's file.
pub fn read_suites(path: &Path) -> Result<Vec<TestSuite>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Report::deserialize_from_str(&text)
        .map(|report| report.test_suites)
        .map_err(|e| format!("{}: not JUnit XML: {e}", path.display()))
}

/// One key's case: passed, failed with the explanation, or an error saying why it is unknown.
fn key_case(report: &CheckReport, key: &KeyReport) -> TestCase {
    let name = format!("key {}", describe_key(&key.key));
    match key.validity {
        Validity::Valid => TestCase::new(name, TestCaseStatus::success()),
        Validity::Invalid => {
            let message = key
                .anomaly
                .as_ref()
                .map_or("not linearizable", |a| a.message.as_str());
            let explanation = key_explanation(report, key);
            non_success(NonSuccessKind::Failure, name, message, Some(explanation))
        }
        Validity::Unknown => {
            let why = key
                .reason
                .as_deref()
                .unwrap_or("the checker could not decide");
            non_success(NonSuccessKind::Error, name, why, None)
        }
    }
}

/// The key's part of the checker's human summary: the report of this key alone, without the
/// summary's first line (the counts of the whole history). Taken from the checker's own text so
/// that JUnit says exactly what `faultline check` prints.
fn key_explanation(report: &CheckReport, key: &KeyReport) -> String {
    let alone = CheckReport {
        validity: key.validity,
        keys: vec![key.clone()],
        counts: report.counts,
        weak: None,
    };
    let text = alone.to_string();
    text.split_once('\n')
        .map_or(text.as_str(), |(_, rest)| rest)
        .trim_end()
        .to_string()
}

/// A weaker-guarantee checker's one case, named after the checker.
fn checker_case(weak: &WeakReport) -> TestCase {
    let name = serde_json::to_value(weak)
        .ok()
        .and_then(|v| v["checker"].as_str().map(String::from))
        .unwrap_or_else(|| "checker".into());
    let text = weak.to_string().trim_end().to_string();
    let first = text.lines().next().unwrap_or_default().to_string();
    match weak.validity() {
        Validity::Valid => TestCase::new(name, TestCaseStatus::success()),
        Validity::Invalid => non_success(NonSuccessKind::Failure, name, &first, Some(text)),
        Validity::Unknown => non_success(NonSuccessKind::Error, name, &first, Some(text)),
    }
}

/// A failed or erroneous case: `type` is `invalid` for a failure, `unknown` for an undecided
/// key or checker, `run` for the run's own case.
fn non_success(
    kind: NonSuccessKind,
    name: impl Into<String>,
    message: &str,
    description: Option<String>,
) -> TestCase {
    let name = name.into();
    let ty = match (kind, name.as_str()) {
        (NonSuccessKind::Failure, _) => "invalid",
        (NonSuccessKind::Error, "run") => "run",
        (NonSuccessKind::Error, _) => "unknown",
    };
    let mut status = TestCaseStatus::non_success(kind);
    status.set_message(message).set_type(ty);
    if let Some(text) = description {
        status.set_description(text);
    }
    TestCase::new(name, status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use checker::{CheckOptions, ModelKind};
    use quick_xml::events::Event as Xml;

    fn check(jsonl: &str, model: ModelKind) -> CheckReport {
        let events = checker::formats::read_jsonl(jsonl.as_bytes()).unwrap();
        let options = CheckOptions {
            model,
            ..CheckOptions::default()
        };
        checker::check_events(&events, &options).unwrap()
    }

    /// Key "a<&>\"b" read 1 though nothing wrote it (invalid); key "ok" fine.
    const STALE: &str = concat!(
        r#"{"index":0,"time":0,"process":1,"type":"invoke","f":"read","key":"a<&>\"b","value":null}"#,
        "\n",
        r#"{"index":1,"time":10,"process":1,"type":"ok","f":"read","key":"a<&>\"b","value":1}"#,
        "\n",
        r#"{"index":2,"time":20,"process":2,"type":"invoke","f":"write","key":"ok","value":1}"#,
        "\n",
        r#"{"index":3,"time":30,"process":2,"type":"ok","f":"write","key":"ok","value":1}"#,
        "\n",
    );

    /// An element as the strict parse below sees it: name, attributes, text.
    type Element = (String, Vec<(String, String)>, String);

    /// Parses `xml` strictly (every element closed, names matching, entities known) and returns
    /// each element's name with its attributes and text, in document order.
    fn parse(xml: &str) -> Vec<Element> {
        let mut reader = quick_xml::Reader::from_str(xml);
        reader.config_mut().check_end_names = true;
        let mut out: Vec<Element> = Vec::new();
        loop {
            match reader.read_event().expect("well-formed XML") {
                Xml::Start(e) | Xml::Empty(e) => {
                    let attrs = e
                        .attributes()
                        .map(|a| {
                            let a = a.expect("a well-formed attribute");
                            let value = a
                                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .expect("known entities");
                            (
                                String::from_utf8(a.key.0.to_vec()).unwrap(),
                                value.into_owned(),
                            )
                        })
                        .collect();
                    let name = String::from_utf8(e.name().0.to_vec()).unwrap();
                    out.push((name, attrs, String::new()));
                }
                Xml::Text(t) => {
                    if let Some(last) = out.last_mut() {
                        last.2 += &t.decode().expect("UTF-8 text");
                    }
                }
                Xml::GeneralRef(r) => {
                    let name = r.decode().unwrap();
                    let ch = quick_xml::escape::resolve_predefined_entity(&name)
                        .unwrap_or_else(|| panic!("unknown entity &{name};"));
                    if let Some(last) = out.last_mut() {
                        last.2 += ch;
                    }
                }
                Xml::Eof => break,
                _ => {}
            }
        }
        out
    }

    fn attr<'a>(element: &'a Element, name: &str) -> &'a str {
        element
            .1
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("{} has no {name}", element.0))
    }

    #[test]
    fn a_key_per_case_failures_carry_the_explanation_and_text_is_escaped() {
        let report = check(STALE, ModelKind::Register);
        assert_eq!(report.validity, Validity::Invalid);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junit.xml");
        RunJunit {
            test: "own-register",
            reason: None,
            check: Some(&report),
            duration: Duration::from_millis(1500),
        }
        .write(&path)
        .unwrap();
        let xml = std::fs::read_to_string(&path).unwrap();
        let elements = parse(&xml);
        let names: Vec<&str> = elements.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "testsuites",
                "testsuite",
                "testcase",
                "testcase",
                "failure",
                "testcase"
            ],
            "{xml}"
        );
        let suite = &elements[1];
        assert_eq!(attr(suite, "name"), "own-register");
        assert_eq!(attr(suite, "tests"), "3");
        assert_eq!(attr(suite, "failures"), "1");
        assert_eq!(attr(suite, "errors"), "0");
        assert_eq!(attr(&elements[2], "name"), "run");
        // The key's name went through escaping and came back whole.
        assert_eq!(attr(&elements[3], "name"), "key a<&>\"b");
        assert_eq!(attr(&elements[3], "classname"), "own-register");
        let failure = &elements[4];
        assert_eq!(attr(failure, "type"), "invalid");
        let anomaly = report.keys[0].anomaly.as_ref().unwrap();
        assert_eq!(attr(failure, "message"), anomaly.message);
        // The body is the checker's own words for this key.
        let printed = report.to_string();
        assert!(!failure.2.is_empty());
        assert!(
            printed.contains(failure.2.trim()),
            "{}\nvs\n{printed}",
            failure.2
        );
        assert!(failure.2.contains("a<&>\"b: invalid"), "{}", failure.2);
        assert_eq!(attr(&elements[5], "name"), "key ok");
        assert!(!dir.path().join("junit.xml.tmp").exists());
    }

    #[test]
    fn unknown_keys_and_failed_runs_are_errors_that_say_why() {
        let mut report = check(STALE, ModelKind::Register);
        report.keys[1].validity = Validity::Unknown;
        report.keys[1].reason = Some("timed out after 1 s".into());
        let suite = RunJunit {
            test: "t",
            reason: Some("interrupted by SIGINT after 2.0 s of workload"),
            check: Some(&report),
            duration: Duration::from_secs(2),
        }
        .suite();
        assert_eq!((suite.tests, suite.failures, suite.errors), (3, 1, 2));
        let mut whole = Report::new("t");
        whole.add_test_suite(suite);
        let elements = parse(&whole.to_string().unwrap());
        let errors: Vec<_> = elements.iter().filter(|e| e.0 == "error").collect();
        assert_eq!(attr(errors[0], "type"), "run");
        assert_eq!(
            attr(errors[0], "message"),
            "interrupted by SIGINT after 2.0 s of workload"
        );
        assert_eq!(attr(errors[1], "type"), "unknown");
        assert_eq!(attr(errors[1], "message"), "timed out after 1 s");

        // A run whose history could not be checked: the run's case alone, an error.
        let failed = RunJunit {
            test: "t",
            reason: Some("the run failed: starting the cluster: redis-server not found"),
            check: None,
            duration: Duration::ZERO,
        }
        .suite();
        assert_eq!((failed.tests, failed.errors), (1, 1));
    }

    #[test]
    fn a_weak_checker_is_one_case_named_after_it() {
        let lost = concat!(
            r#"{"index":0,"time":0,"process":1,"type":"invoke","f":"add","value":1}"#,
            "\n",
            r#"{"index":1,"time":10,"process":1,"type":"ok","f":"add","value":1}"#,
            "\n",
            r#"{"index":2,"time":20,"process":2,"type":"invoke","f":"read","value":null}"#,
            "\n",
            r#"{"index":3,"time":30,"process":2,"type":"ok","f":"read","value":[]}"#,
            "\n",
        );
        let report = check(lost, ModelKind::SetFull);
        assert_eq!(report.validity, Validity::Invalid);
        let suite = RunJunit {
            test: "redis-set",
            reason: None,
            check: Some(&report),
            duration: Duration::from_secs(1),
        }
        .suite();
        let names: Vec<&str> = suite.test_cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["run", "set-full"]);
        assert_eq!(suite.failures, 1);
        let TestCaseStatus::NonSuccess { description, .. } = &suite.test_cases[1].status else {
            panic!("set-full should fail");
        };
        let text = description.as_ref().unwrap().as_str();
        assert_eq!(text, report.weak.as_ref().unwrap().to_string().trim_end());
    }

    #[test]
    fn a_written_file_is_read_back_for_a_suite() {
        let report = check(STALE, ModelKind::Register);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junit.xml");
        let run = RunJunit {
            test: "own-register",
            reason: None,
            check: Some(&report),
            duration: Duration::from_secs(1),
        };
        run.write(&path).unwrap();
        assert_eq!(read_suites(&path).unwrap(), vec![run.suite()]);
        std::fs::write(&path, "<testsuites").unwrap();
        assert!(read_suites(&path).unwrap_err().contains("not JUnit XML"));
        let err = read_suites(&dir.path().join("none.xml")).unwrap_err();
        assert!(err.contains("none.xml"), "{err}");
    }
}
