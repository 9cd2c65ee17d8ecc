//! What `faultline check` was given, as the histories to check:
//!
//! ```text
//!   FILE                          the file itself
//!   store/<test>/<timestamp>/     a run directory (history.jsonl + results.json): its history,
//!                                 judged by the checker the run used
//!   store/<test>/  or  store/     every run directory under it, in name order (the `latest`
//!                                 link and `live/` skipped: they are not runs)
//!   any other directory           its history files (.jsonl, .json, .edn, .log, .txt)
//! ```

use checker::history_files_in;
use results::RunDir;
use std::path::{Path, PathBuf};

/// One history to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The history file.
    pub file: PathBuf,
    /// The run directory the history belongs to, when a run was given (its `results.json`
    /// names the workload, and so the checker).
    pub run: Option<PathBuf>,
}

/// Every history the paths stand for, in the order given (a directory's in name order). A path
/// that stands for none is reported through `bad` (it is bad input), and so is a run that ended
/// before its verdict.
pub fn expand(paths: &[PathBuf], bad: &mut dyn FnMut(&Path, String)) -> Vec<Input> {
    let mut inputs = Vec::new();
    for path in paths {
        if !path.is_dir() {
            inputs.push(Input {
                file: path.clone(),
                run: None,
            });
            continue;
        }
        if RunDir::is_run(path) {
            inputs.push(run_input(path));
            continue;
        }
        let runs = match runs_under(path, bad) {
            Ok(runs) => runs,
            Err(e) => {
                bad(path, format!("cannot list {}: {e}", path.display()));
                continue;
            }
        };
        if !runs.is_empty() {
            inputs.extend(runs.iter().map(|run| run_input(run)));
            continue;
        }
        match history_files_in(path) {
            Ok(found) if found.is_empty() => bad(
                path,
                format!(
                    "{}: no history files (.jsonl, .json, .edn, .log, .txt) and no run \
                     directories (history.jsonl with results.json) in the directory",
                    path.display()
                ),
            ),
            Ok(found) => inputs.extend(found.into_iter().map(|file| Input { file, run: None })),
            Err(e) => bad(path, format!("cannot list {}: {e}", path.display())),
        }
    }
    inputs
}

fn run_input(dir: &Path) -> Input {
    Input {
        file: RunDir::open(dir).history_path(),
        run: Some(dir.to_path_buf()),
    }
}

/// The run directories directly inside `dir` (a test directory) or one level further (a
/// store), sorted by path. Symbolic links (`latest`), `live/` and hidden entries are not runs.
/// A directory with a history but no `results.json` (a run that ended before its verdict) is
/// reported through `bad`.
fn runs_under(dir: &Path, bad: &mut dyn FnMut(&Path, String)) -> std::io::Result<Vec<PathBuf>> {
    let mut runs = Vec::new();
    for child in subdirectories(dir)? {
        if RunDir::is_run(&child) {
            runs.push(child);
            continue;
        }
        if unfinished(&child) {
            bad(&child, unfinished_message(&child));
            continue;
        }
        for grandchild in subdirectories(&child)? {
            if RunDir::is_run(&grandchild) {
                runs.push(grandchild);
            } else if unfinished(&grandchild) {
                bad(&grandchild, unfinished_message(&grandchild));
            }
        }
    }
    runs.sort();
    Ok(runs)
}

/// A run directory whose run ended before writing its verdict.
fn unfinished(dir: &Path) -> bool {
    let run = RunDir::open(dir);
    run.history_path().is_file() && !run.results_path().is_file()
}

fn unfinished_message(dir: &Path) -> String {
    format!(
        "{}: a run without results.json (it ended before its verdict), so the checker it used \
         is not known: check {} on its own",
        dir.display(),
        RunDir::open(dir).history_path().display()
    )
}

/// The real directories inside `dir`, sorted: no symbolic links, hidden entries or `live/`.
fn subdirectories(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "live" || !entry.file_type()?.is_dir() {
            continue;
        }
        found.push(entry.path());
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_dir(path: &Path) {
        std::fs::create_dir_all(path.join("nodes")).unwrap();
        std::fs::write(path.join("history.jsonl"), "").unwrap();
        std::fs::write(path.join("results.json"), "{}").unwrap();
        std::fs::write(path.join("replication.jsonl"), "").unwrap();
    }

    #[test]
    fn stores_tests_and_runs_expand_to_their_runs() {
        let store = tempfile::tempdir().unwrap();
        let s = store.path();
        run_dir(&s.join("own-register/20260101T000000.000Z"));
        run_dir(&s.join("own-register/20260101T000001.000Z"));
        run_dir(&s.join("redis-set/20260101T000002.000Z"));
        std::os::unix::fs::symlink("redis-set/20260101T000002.000Z", s.join("latest")).unwrap();
        std::fs::create_dir_all(s.join("live")).unwrap();
        std::fs::write(s.join("live/own-register-x.json"), "{}").unwrap();
        let unfinished = s.join("redis-set/20260101T000003.000Z");
        std::fs::create_dir_all(&unfinished).unwrap();
        std::fs::write(unfinished.join("history.jsonl"), "").unwrap();

        let mut errors = Vec::new();
        let mut bad = |p: &Path, e: String| errors.push((p.to_path_buf(), e));
        let inputs = expand(&[s.to_path_buf()], &mut bad);
        let runs: Vec<PathBuf> = inputs.iter().map(|i| i.run.clone().unwrap()).collect();
        assert_eq!(
            runs,
            [
                s.join("own-register/20260101T000000.000Z"),
                s.join("own-register/20260101T000001.000Z"),
                s.join("redis-set/20260101T000002.000Z"),
            ]
        );
        assert_eq!(inputs[0].file, runs[0].join("history.jsonl"));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].0, unfinished);
        assert!(errors[0].1.contains("without results.json"), "{errors:?}");

        // A test directory, a run directory, and the latest link to one.
        let mut bad = |_: &Path, _: String| {};
        let inputs = expand(&[s.join("own-register")], &mut bad);
        assert_eq!(inputs.len(), 2);
        let inputs = expand(&[s.join("latest")], &mut bad);
        assert_eq!(
            inputs,
            [Input {
                file: s.join("latest/history.jsonl"),
                run: Some(s.join("latest")),
            }]
        );
    }

    #[test]
    fn other_directories_are_their_history_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.edn"), "").unwrap();
        std::fs::write(dir.path().join("a.jsonl"), "").unwrap();
        let mut bad = |_: &Path, e: String| panic!("{e}");
        let inputs = expand(&[dir.path().to_path_buf()], &mut bad);
        let files: Vec<PathBuf> = inputs.iter().map(|i| i.file.clone()).collect();
        assert_eq!(
            files,
            [dir.path().join("a.jsonl"), dir.path().join("b.edn")]
        );
        assert!(inputs.iter().all(|i| i.run.is_none()));

        let empty = tempfile::tempdir().unwrap();
        let mut errors = Vec::new();
        expand(&[empty.path().to_path_buf()], &mut |_, e| errors.push(e));
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("no history files"), "{errors:?}");
    }
}
