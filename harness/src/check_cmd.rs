//! `faultline check`: re-check saved histories (faultline's JSONL, Jepsen's EDN or a Jepsen log),
//! one verdict per file and one exit code.

use crate::cli::CheckArgs;
use crate::output;
use checker::{
    history_files_in, mark_failed_cas_as_mismatch, nil_reads_unknown, read_history_file_with,
    CheckOptions, FailedCas, Format, Independent, KeyProgress, ModelKind, ReadOptions, Validity,
};
use results::ExitCode;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// What an ok read of nil saw (`--nil-reads`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NilReads {
    /// Knossos's reading for Jepsen's formats, the value null for faultline's own.
    Auto,
    /// The value null.
    Value,
    /// Nothing: the read constrains no state.
    Unknown,
}

impl NilReads {
    fn parse(s: &str) -> Option<NilReads> {
        match s {
            "auto" => Some(NilReads::Auto),
            "value" => Some(NilReads::Value),
            "unknown" => Some(NilReads::Unknown),
            _ => None,
        }
    }

    /// Whether a file read as `format` gets Knossos's reading.
    fn unknown_for(self, format: Format) -> bool {
        match self {
            NilReads::Auto => matches!(format, Format::Edn | Format::JepsenLog),
            NilReads::Value => false,
            NilReads::Unknown => true,
        }
    }
}

/// What a failed cas says (`--failed-cas`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FailedCasArg {
    /// Observes for faultline's JSONL (which marks evaluated mismatches), dropped for Jepsen's
    /// formats (which do not say why a cas failed), as Knossos reads them.
    Auto,
    /// As told: `observes` (in JSONL where the error says `cas-mismatch`, in Jepsen's formats
    /// every failed cas) or `dropped`.
    Told(FailedCas),
}

impl FailedCasArg {
    fn parse(s: &str) -> Result<FailedCasArg, String> {
        match s {
            "auto" => Ok(FailedCasArg::Auto),
            told => told
                .parse()
                .map(FailedCasArg::Told)
                .map_err(|_| format!("unknown choice {told:?} (known: auto, observes, dropped)")),
        }
    }

    /// How failed cas of a file read as `format` are checked, and whether each of its failed
    /// cas must first be marked as a mismatch (Jepsen's formats do not say so themselves).
    fn resolve(self, format: Format) -> (FailedCas, bool) {
        let jepsen = matches!(format, Format::Edn | Format::JepsenLog);
        match self {
            FailedCasArg::Auto if jepsen => (FailedCas::Dropped, false),
            FailedCasArg::Auto => (FailedCas::Observes, false),
            FailedCasArg::Told(FailedCas::Observes) => (FailedCas::Observes, jepsen),
            FailedCasArg::Told(FailedCas::Dropped) => (FailedCas::Dropped, false),
        }
    }
}

/// Checks every file; exit 1 if any is invalid, else 3 if any is unknown, else 0; 2 for bad input.
pub fn run(args: CheckArgs) -> i32 {
    let model: ModelKind = match args.model.parse() {
        Ok(m) => m,
        Err(e) => return usage(&format!("--model: {e}")),
    };
    let format: Format = match args.format.parse() {
        Ok(f) => f,
        Err(e) => return usage(&format!("--format: {e}")),
    };
    let Some(nil_reads) = NilReads::parse(&args.nil_reads) else {
        return usage(&format!(
            "--nil-reads: unknown choice {:?} (known: auto, value, unknown)",
            args.nil_reads
        ));
    };
    let failed_cas = match FailedCasArg::parse(&args.failed_cas) {
        Ok(f) => f,
        Err(e) => return usage(&format!("--failed-cas: {e}")),
    };
    let initial = match parse_initial(&args.initial) {
        Ok(v) => v,
        Err(e) => return usage(&format!("--initial: {e}")),
    };
    let options = CheckOptions {
        model,
        initial,
        timeout: args.timeout,
        memory_limit: Some(
            args.memory_limit
                .unwrap_or_else(crate::memory_cap::default_check_memory),
        ),
        failed_cas: FailedCas::default(),
        progress: None,
    };
    let read = ReadOptions {
        format,
        independent: if args.independent {
            Independent::Always
        } else {
            Independent::Detect
        },
    };

    let mut overall = Validity::Valid;
    let mut bad_input = false;
    let mut reports = Vec::new();
    let mut fail = |reports: &mut Vec<Value>, file: &Path, e: String| {
        bad_input = true;
        eprintln!("error: {e}");
        reports.push(json!({"file": file, "error": e}));
    };
    for file in expand(&args.files, &mut |file, e| fail(&mut reports, file, e)) {
        let checked = read_history_file_with(&file, &read)
            .map_err(|e| e.to_string())
            .and_then(|mut history| {
                if nil_reads.unknown_for(history.format) {
                    nil_reads_unknown(&mut history.events);
                }
                let (failed_cas, mark) = failed_cas.resolve(history.format);
                if mark {
                    mark_failed_cas_as_mismatch(&mut history.events);
                }
                let bar = key_bar(&file);
                let ticks = bar.clone();
                let options = CheckOptions {
                    failed_cas,
                    progress: Some(KeyProgress::new(move |done, total| {
                        ticks.set_length(total as u64);
                        ticks.set_position(done as u64);
                    })),
                    ..options.clone()
                };
                let checked = checker::check_events(&history.events, &options);
                bar.finish_and_clear();
                checked
                    .map(|report| (history.format, report))
                    .map_err(|e| format!("{}: {e}", file.display()))
            });
        match checked {
            Ok((format, report)) => {
                overall = overall.merge(report.validity);
                if args.json {
                    reports.push(json!({"file": file, "format": format.name(), "report": report}));
                } else {
                    println!("== {} ({format})", file.display());
                    print!("{report}");
                    println!("verdict: {}", output::verdict(report.validity));
                }
            }
            Err(e) => fail(&mut reports, &file, e),
        }
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&reports).expect("reports serialise")
        );
    }
    if bad_input {
        ExitCode::BadInput.code()
    } else {
        ExitCode::for_validity(overall).code()
    }
}

/// The files to check: each path given, a directory replaced by its history files. A directory
/// that cannot be listed or holds no history is reported through `bad` (it is bad input).
fn expand(paths: &[PathBuf], bad: &mut dyn FnMut(&Path, String)) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        match history_files_in(path) {
            Ok(found) if found.is_empty() => bad(
                path,
                format!(
                    "{}: no history files (.jsonl, .json, .edn, .log, .txt) in the directory",
                    path.display()
                ),
            ),
            Ok(found) => files.extend(found),
            Err(e) => bad(path, format!("cannot list {}: {e}", path.display())),
        }
    }
    files
}

/// `--initial` as JSON (`0`, `"a"`, `{"x": 0}`) or, failing that, EDN (`nil`, `{:x 0 :y 0}`).
fn parse_initial(text: &str) -> Result<Value, String> {
    if let Ok(v) = serde_json::from_str(text) {
        return Ok(v);
    }
    checker::edn::parse_value(text).map_err(|e| format!("not a JSON or EDN value ({e}): {text}"))
}

fn usage(msg: &str) -> i32 {
    eprintln!("error: {msg}");
    ExitCode::BadInput.code()
}

/// A bar over a file's keys, drawn (by indicatif) only when stderr is a terminal.
fn key_bar(file: &Path) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {pos}/{len} keys {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_message(file.display().to_string());
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_values_read_as_json_or_edn() {
        assert_eq!(parse_initial("0"), Ok(json!(0)));
        assert_eq!(parse_initial("null"), Ok(Value::Null));
        assert_eq!(parse_initial("nil"), Ok(Value::Null));
        assert_eq!(parse_initial(r#"{"x": 0}"#), Ok(json!({"x": 0})));
        assert_eq!(parse_initial("{:x 0 :y 0}"), Ok(json!({"x": 0, "y": 0})));
        assert_eq!(parse_initial(":a"), Ok(json!("a")));
        assert_eq!(
            parse_initial("{:x"),
            Err(
                "not a JSON or EDN value (line 1, column 4: unexpected end of input \
                 (an unclosed bracket or string?)): {:x"
                    .into()
            )
        );
    }

    #[test]
    fn nil_reads_follow_the_format_unless_told() {
        assert!(NilReads::Auto.unknown_for(Format::Edn));
        assert!(NilReads::Auto.unknown_for(Format::JepsenLog));
        assert!(!NilReads::Auto.unknown_for(Format::Jsonl));
        assert!(!NilReads::Value.unknown_for(Format::Edn));
        assert!(NilReads::Unknown.unknown_for(Format::Jsonl));
        assert_eq!(NilReads::parse("knossos"), None);
    }

    #[test]
    fn failed_cas_observes_for_jsonl_and_is_dropped_for_jepsen_unless_told() {
        let [auto, observes, dropped] =
            ["auto", "observes", "dropped"].map(|s| FailedCasArg::parse(s).unwrap());
        assert_eq!(auto.resolve(Format::Jsonl), (FailedCas::Observes, false));
        assert_eq!(auto.resolve(Format::Edn), (FailedCas::Dropped, false));
        assert_eq!(auto.resolve(Format::JepsenLog), (FailedCas::Dropped, false));
        // Told so, every failed cas of a Jepsen history is a mismatch; JSONL says which are.
        assert_eq!(observes.resolve(Format::Edn), (FailedCas::Observes, true));
        assert_eq!(
            observes.resolve(Format::Jsonl),
            (FailedCas::Observes, false)
        );
        assert_eq!(dropped.resolve(Format::Jsonl), (FailedCas::Dropped, false));
        assert_eq!(
            FailedCasArg::parse("knossos").unwrap_err(),
            "unknown choice \"knossos\" (known: auto, observes, dropped)"
        );
    }
}
