//! `faultline test --like RUN_DIR`: a recorded run's command and seed again, against a fresh
//! cluster. Options given beside `--like` win over the recorded ones (the test command lets a
//! later option override an earlier one), so `--like RUN --time-limit 1m` repeats it, longer.

use std::path::Path;

/// The words to parse instead of `argv` when its test command asks for `--like`: the recorded
/// command, its seed, then the user's own options. `None` when `--like` is not asked for.
pub fn expand(argv: &[String]) -> Result<Option<Vec<String>>, String> {
    if argv.get(1).map(String::as_str) != Some("test") {
        return Ok(None);
    }
    let mut dir = None;
    let mut own = Vec::new();
    let mut words = argv[2..].iter();
    while let Some(word) = words.next() {
        if let Some(value) = word.strip_prefix("--like=") {
            dir = Some(value.to_string());
        } else if word == "--like" {
            let value = words.next().ok_or("--like: needs a run directory")?;
            dir = Some(value.clone());
        } else {
            own.push(word.clone());
        }
    }
    let Some(dir) = dir else { return Ok(None) };
    let results = Path::new(&dir).join("results.json");
    if !results.is_file() {
        return Err(format!(
            "--like {dir}: no results.json there; give the directory of a faultline run"
        ));
    }
    let (recorded, seed) =
        results::recorded_command(&results).map_err(|e| format!("--like {dir}: {e}"))?;
    if recorded.first().map(String::as_str) != Some("test") {
        return Err(format!(
            "--like {dir}: the recorded command is not a test: {}",
            recorded.join(" ")
        ));
    }
    let mut expanded = vec![argv[0].clone()];
    expanded.extend(recorded);
    expanded.extend(["--seed".to_string(), seed.to_string()]);
    expanded.extend(own);
    Ok(Some(expanded))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn the_recorded_command_and_seed_come_first_and_the_users_options_last() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().display().to_string();
        std::fs::write(
            dir.path().join("results.json"),
            r#"{"seed": 77, "options": {"command": ["test", "--target", "redis", "--time-limit", "5s"]}}"#,
        )
        .unwrap();
        let argv = words(&format!("faultline test --like {run} --time-limit 9s"));
        assert_eq!(
            expand(&argv).unwrap().unwrap(),
            words("faultline test --target redis --time-limit 5s --seed 77 --time-limit 9s")
        );
        let argv = words(&format!("faultline test --like={run}"));
        assert_eq!(expand(&argv).unwrap().unwrap().len(), 8);
        assert_eq!(expand(&words("faultline test --seed 3")).unwrap(), None);
        assert_eq!(expand(&words("faultline check --like x")).unwrap(), None);
    }

    #[test]
    fn a_directory_that_is_no_run_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().display().to_string();
        let err = expand(&words(&format!("faultline test --like {run}"))).unwrap_err();
        assert_eq!(
            err,
            format!("--like {run}: no results.json there; give the directory of a faultline run")
        );
        std::fs::write(
            dir.path().join("results.json"),
            r#"{"seed": 1, "options": {}}"#,
        )
        .unwrap();
        let err = expand(&words(&format!("faultline test --like {run}"))).unwrap_err();
        assert!(err.contains("no options.command"), "{err}");
        std::fs::write(
            dir.path().join("results.json"),
            r#"{"seed": 1, "options": {"command": ["check", "h.jsonl"]}}"#,
        )
        .unwrap();
        let err = expand(&words(&format!("faultline test --like {run}"))).unwrap_err();
        assert_eq!(
            err,
            format!("--like {run}: the recorded command is not a test: check h.jsonl")
        );
        let err = expand(&words("faultline test --like")).unwrap_err();
        assert_eq!(err, "--like: needs a run directory");
    }
}
