//! `faultline suite SUITE.toml`: several tests in sequence, one table, one exit code.
//!
//! ```text
//!   suite_file.rs  the file → each test's `faultline test` arguments (clap's own parsing)
//!   this file      every test resolved before any runs; each run in the store as `test` makes
//!                  it; a signal stops the suite after the run it interrupted
//!   outcome.rs     each test's outcome (read back from its results.json), the table,
//!                  suite.json and the suite's junit.xml
//! ```
//!
//! Every test is validated (`TestConfig::resolve`) before the first starts, so a typo in the
//! last test does not surface after the first ten minutes. The suite exits as `faultline check`
//! does over several histories: 1 if any test is invalid, else 2 if any could not run or failed,
//! else 3 if any is unknown, else 0 (130 when interrupted).

mod outcome;
mod suite_file;

use crate::cli::SuiteArgs;
use crate::config::TestConfig;
use crate::output;
use crate::run::{self, RunEnd};
use crate::signals;
use outcome::{SuiteSummary, TestOutcome};
use results::{ExitCode, RunDir, SuiteDir};
use std::collections::BTreeMap;
use suite_file::SuiteFile;

/// Runs the suite `args.file`; returns the exit code.
pub fn run(args: SuiteArgs) -> i32 {
    let suite = match SuiteFile::read(&args.file) {
        Ok(suite) => suite,
        Err(e) => return bad_input(&e),
    };
    let configs = match resolve(&suite, &args) {
        Ok(configs) => configs,
        Err(errors) => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            return ExitCode::BadInput.code();
        }
    };
    let exe = match run::own_exe() {
        Ok(exe) => exe,
        Err(e) => return bad_input(&format!("{e:#}")),
    };
    let dir = match SuiteDir::create(&args.store, &suite.name) {
        Ok(dir) => dir,
        Err(e) => return bad_input(&e.to_string()),
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let total = configs.len();
    let mut outcomes = Vec::new();
    let mut interrupted = None;
    for (i, cfg) in configs.into_iter().enumerate() {
        let (index, name) = (i + 1, cfg.name.clone());
        if interrupted.is_some() {
            outcomes.push(TestOutcome::of(index, &name, None, None, None));
            continue;
        }
        output::note(&format!(
            "== suite {}: test {index}/{total}: {name}",
            suite.name
        ));
        let run_dir = match RunDir::create(&cfg.store, &cfg.name) {
            Ok(run_dir) => run_dir,
            Err(e) => {
                let error = Some(e.to_string());
                let code = Some(ExitCode::BadInput.code());
                outcomes.push(TestOutcome::of(index, &name, None, code, error));
                continue;
            }
        };
        let (code, error) =
            match runtime.block_on(run::run_test_in(cfg, exe.clone(), run_dir.clone())) {
                Ok(RunEnd::Finished(code)) => (code.code(), None),
                Ok(RunEnd::Interrupted(signal)) => {
                    interrupted = Some(signal);
                    (signals::INTERRUPTED, None)
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    (ExitCode::BadInput.code(), Some(format!("{e:#}")))
                }
            };
        outcomes.push(TestOutcome::of(
            index,
            &name,
            Some(&run_dir),
            Some(code),
            error,
        ));
    }
    let exit = match interrupted {
        Some(_) => signals::INTERRUPTED,
        None => outcome::suite_exit(&outcomes).code(),
    };
    let summary = SuiteSummary {
        suite: &suite.name,
        file: &suite.path,
        exit_code: exit,
        tests: &outcomes,
    };
    let written = outcome::write(&dir, &summary);
    if let Err(e) = &written {
        eprintln!("error: the suite's files: {e}");
    }
    let exit = match (interrupted, written) {
        (Some(_), _) | (None, Ok(())) => exit,
        // The files are part of the suite's answer: missing, they are an error by precedence.
        (None, Err(_)) => outcome::suite_exit(&outcomes)
            .combine(ExitCode::BadInput)
            .code(),
    };
    println!();
    print!("{}", outcome::table(&outcomes));
    println!("suite: {}  (exit {exit})", dir.path().display());
    if let Some(signal) = interrupted {
        eprintln!("interrupted by {signal}: the tests after it were not run");
    }
    exit
}

/// Every test's validated config, run in the suite's store; or every error, each naming the
/// file and the test.
fn resolve(suite: &SuiteFile, args: &SuiteArgs) -> Result<Vec<TestConfig>, Vec<String>> {
    let mut configs = Vec::new();
    let mut errors = Vec::new();
    let mut names: BTreeMap<String, &str> = BTreeMap::new();
    for test in &suite.tests {
        let mut test_args = test.args.clone();
        test_args.store = args.store.clone();
        match TestConfig::resolve(test_args) {
            Ok(mut cfg) => {
                // What ran, as `faultline test` words: `--like` on the run repeats it.
                cfg.command = test.command.clone();
                cfg.command.push("--store".into());
                cfg.command.push(args.store.display().to_string());
                if let Some(first) = names.insert(cfg.name.clone(), &test.label) {
                    errors.push(format!(
                        "{}: {} and {first} are both named `{}`: give one a `name` (the \
                         table and junit.xml tell tests by name)",
                        suite.path.display(),
                        test.label,
                        cfg.name
                    ));
                }
                configs.push(cfg);
            }
            Err(e) => errors.push(format!("{}: {}: {e}", suite.path.display(), test.label)),
        }
    }
    match errors.is_empty() {
        true => Ok(configs),
        false => Err(errors),
    }
}

fn bad_input(message: &str) -> i32 {
    eprintln!("error: {message}");
    ExitCode::BadInput.code()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    #[test]
    fn the_example_suites_resolve_one_per_target() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../suites");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        files.sort();
        let names: Vec<String> = files
            .iter()
            .map(|f| f.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["etcd", "own", "redis"]);
        for file in &files {
            let suite = SuiteFile::read(file).unwrap();
            let args = SuiteArgs {
                file: file.clone(),
                store: PathBuf::from("store"),
            };
            let configs = resolve(&suite, &args).unwrap_or_else(|e| panic!("{e:?}"));
            for cfg in configs {
                assert_eq!(
                    cfg.cluster.target.to_string(),
                    suite.name,
                    "{}",
                    file.display()
                );
                assert!(
                    cfg.time_limit.as_secs() <= 6,
                    "example suites stay short: {}",
                    file.display()
                );
            }
        }
    }

    #[test]
    fn tests_with_one_name_are_refused() {
        let suite = SuiteFile::parse(
            Path::new("s.toml"),
            "[[test]]\nnemesis = \"none\"\n[[test]]\nnemesis = \"none\"\nname = \"own-register\"\n",
        )
        .unwrap();
        let args = SuiteArgs {
            file: "s.toml".into(),
            store: "store".into(),
        };
        assert_eq!(
            resolve(&suite, &args).unwrap_err(),
            [
                "s.toml: test 2 (own-register) and test 1 are both named `own-register`: give one \
              a `name` (the table and junit.xml tell tests by name)"
            ]
        );
    }
}
