//! `faultline check`: re-check saved histories (faultline's JSONL, Jepsen's EDN or a Jepsen log)
//! and saved runs, one verdict per history and one exit code. A saved run's `history.csv` and
//! `junit.xml` are rewritten from its history and the new check.

use crate::check_inputs::{self, Input};
use crate::cli::CheckArgs;
use crate::output;
use checker::{
    infer_model, mark_failed_cas_as_mismatch, nil_reads_unknown, read_history_file_with,
    CheckOptions, Event, FailedCas, Format, Independent, KeyProgress, ModelKind, ReadOptions,
};
use results::{run_files, ExitCode, RecordedChecker, RunDir};
use serde_json::{json, Value};
use std::path::Path;
use workloads::WorkloadKind;

/// `--model`: a model, or `auto` (the run's checker for a run directory, else the one model the
/// history's operations fit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ModelArg {
    /// Choose per history.
    Auto,
    /// This model for every history.
    Told(ModelKind),
}

impl ModelArg {
    fn parse(s: &str) -> Result<ModelArg, String> {
        match s {
            "auto" => Ok(ModelArg::Auto),
            told => told
                .parse()
                .map(ModelArg::Told)
                .map_err(|e: checker::UnknownModel| format!("{e}, or auto")),
        }
    }

    /// The model for `input`, whose events are `events`, and how it was chosen (for the
    /// summary and `--json`).
    fn resolve(self, input: &Input, events: &[Event]) -> Result<(ModelKind, String), String> {
        match (self, &input.run) {
            (ModelArg::Told(model), _) => Ok((model, "as asked".into())),
            (ModelArg::Auto, Some(run)) => {
                let results = RunDir::open(run).results_path();
                let named = results::recorded_checker(&results).map_err(|e| e.to_string())?;
                match named {
                    RecordedChecker::Named(name) => {
                        let model = name
                            .parse::<ModelKind>()
                            .map_err(|e| format!("{}: options.checker: {e}", results.display()))?;
                        Ok((model, "the checker the run was judged by".into()))
                    }
                    RecordedChecker::OfWorkload(workload) => {
                        let kind = <WorkloadKind as clap::ValueEnum>::from_str(&workload, false)
                            .map_err(|e| format!("{}: options.workload: {e}", results.display()))?;
                        Ok((
                            kind.model(),
                            format!("the checker of the run's {kind} workload"),
                        ))
                    }
                }
            }
            (ModelArg::Auto, None) => infer_model(events)
                .map(|model| (model, "picked from its operations".into()))
                .map_err(|e| {
                    format!(
                        "{}: --model auto: {e}; name the model with --model",
                        input.file.display()
                    )
                }),
        }
    }
}

/// Checks every history; one verdict each, and one exit code for all by
/// [`ExitCode::combine`]: 1 if any is invalid, else 2 if any could not be read (or a run's files
/// could not be rewritten), else 3 if any is unknown, else 0.
pub fn run(args: CheckArgs) -> i32 {
    let model = match ModelArg::parse(&args.model) {
        Ok(m) => m,
        Err(e) => return usage(&format!("--model: {e}")),
    };
    let format: Format = match args.format.parse() {
        Ok(f) => f,
        Err(e) => return usage(&format!("--format: {e}")),
    };
    let (nil_reads, failed_cas) = (args.nil_reads, args.failed_cas);
    let initial = match parse_initial(&args.initial) {
        Ok(v) => v,
        Err(e) => return usage(&format!("--initial: {e}")),
    };
    let options = CheckOptions {
        model: ModelKind::default(),
        initial,
        timeout: args.timeout,
        memory_limit: Some(
            args.memory_limit
                .unwrap_or_else(crate::memory_cap::default_check_memory),
        ),
        failed_cas: FailedCas::default(),
        progress: None,
        fail_fast: args.fail_fast,
        no_explain: args.no_explain,
        explain_time: args.explain_time,
    };
    let read = ReadOptions {
        format,
        independent: if args.independent {
            Independent::Always
        } else {
            Independent::Detect
        },
    };

    let json = args.json;
    let mut tally = output::Tally::default();
    let mut unwritten = false;
    let mut reports = Vec::new();
    let fail = |reports: &mut Vec<Value>, tally: &mut output::Tally, file: &Path, e: String| {
        tally.unreadable += 1;
        eprintln!("error: {e}");
        if json {
            reports.push(json!({"file": file, "error": e}));
        } else {
            output::print_unreadable(file);
        }
    };
    let inputs = check_inputs::expand(&args.files, &mut |file, e| {
        fail(&mut reports, &mut tally, file, e)
    });
    for input in inputs {
        let file = &input.file;
        let checked = read_history_file_with(file, &read)
            .map_err(|e| e.to_string())
            .and_then(|mut history| {
                let (model, chosen) = model.resolve(&input, &history.events)?;
                if nil_reads.unknown_for(history.format) {
                    nil_reads_unknown(&mut history.events);
                }
                let (failed_cas, mark) = failed_cas.resolve(history.format);
                if mark {
                    mark_failed_cas_as_mismatch(&mut history.events);
                }
                let bar = key_bar(file);
                let ticks = bar.clone();
                let options = CheckOptions {
                    model,
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
                    .map(|report| (history.format, model, chosen, report))
                    .map_err(|e| format!("{}: {e}", file.display()))
            });
        match checked {
            Ok((format, model, chosen, report)) => {
                tally.count(report.validity);
                // A saved run's derived files and report follow its new check.
                if let Some(run) = &input.run {
                    if let Err(e) = run_files::rewrite(&RunDir::open(run), &report) {
                        eprintln!(
                            "error: {}: history.csv and junit.xml not rewritten: {e}",
                            run.display()
                        );
                        unwritten = true;
                    }
                    if let Err(e) = rewrite_report(run, &report) {
                        eprintln!("error: {}: report.html not rewritten: {e}", run.display());
                        unwritten = true;
                    }
                }
                if json {
                    reports.push(json!({
                        "file": file,
                        "run": input.run,
                        "format": format.name(),
                        "model": model.name(),
                        "model_chosen": chosen,
                        "report": report,
                    }));
                } else {
                    println!("== {} ({format}, model {model}: {chosen})", file.display());
                    print!("{report}");
                    println!("verdict: {}", output::verdict(report.validity));
                }
            }
            Err(e) => fail(&mut reports, &mut tally, file, e),
        }
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&reports).expect("reports serialise")
        );
    } else if tally.total() > 1 {
        println!("{tally}");
    }
    let code = tally.exit_code();
    match unwritten {
        true => code.combine(ExitCode::BadInput).code(),
        false => code.code(),
    }
}

/// Rewrites a run's report.html with the verdict just reached (results.json keeps the run's
/// own).
fn rewrite_report(run: &Path, check: &checker::CheckReport) -> Result<(), String> {
    let mut files = report::RunFiles::read(run).map_err(|e| e.to_string())?;
    if let Some(Value::Object(results)) = files.results.as_mut() {
        results.insert("check".into(), json!(check));
        results.insert("explanation".into(), json!(check.describe()));
    }
    let path = report::write_report(&files).map_err(|e| e.to_string())?;
    eprintln!("report rewritten: {}", path.display());
    Ok(())
}

/// `--initial` as JSON (`0`, `"a"`, `{"x": 0}`) or, failing that, EDN (`nil`, `{:x 0 :y 0}`).
fn parse_initial(text: &str) -> Result<Value, String> {
    if let Ok(v) = serde_json::from_str(text) {
        return Ok(v);
    }
    checker::formats::parse_value(text)
        .map_err(|e| format!("not a JSON or EDN value ({e}): {text}"))
}

fn usage(msg: &str) -> i32 {
    eprintln!("error: {msg}");
    ExitCode::BadInput.code()
}

/// A bar over a file's keys, drawn (by indicatif) only when stderr is a terminal.
fn key_bar(file: &Path) -> indicatif::ProgressBar {
    crate::progress::key_bar(&file.display().to_string())
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
}
