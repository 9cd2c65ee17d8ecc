//! `faultline check`: re-check saved histories, one verdict per file and one exit code.

use crate::cli::CheckArgs;
use crate::output;
use checker::{CheckOptions, ModelKind, Validity};
use results::ExitCode;
use serde_json::json;

/// Checks every file; exit 1 if any is invalid, else 3 if any is unknown, else 0; 2 for bad input.
pub fn run(args: CheckArgs) -> i32 {
    let model: ModelKind = match args.model.parse() {
        Ok(m) => m,
        Err(e) => return usage(&format!("--model: {e}")),
    };
    let initial = match serde_json::from_str(&args.initial) {
        Ok(v) => v,
        Err(e) => {
            return usage(&format!(
                "--initial: not a JSON value ({e}): {}",
                args.initial
            ))
        }
    };
    let options = CheckOptions {
        model,
        initial,
        timeout: args.timeout,
    };
    let mut overall = Validity::Valid;
    let mut bad_input = false;
    let mut reports = Vec::new();
    for file in &args.files {
        let checked = checker::jsonl::read_jsonl_file(file)
            .map_err(|e| e.to_string())
            .and_then(|events| {
                checker::check_events(&events, &options)
                    .map_err(|e| format!("{}: {e}", file.display()))
            });
        match checked {
            Ok(report) => {
                overall = overall.merge(report.validity);
                if args.json {
                    reports.push(json!({"file": file, "report": report}));
                } else {
                    println!("== {}", file.display());
                    print!("{report}");
                    println!("verdict: {}", output::verdict(report.validity));
                }
            }
            Err(e) => {
                bad_input = true;
                eprintln!("error: {e}");
                reports.push(json!({"file": file, "error": e}));
            }
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

fn usage(msg: &str) -> i32 {
    eprintln!("error: {msg}");
    ExitCode::BadInput.code()
}
