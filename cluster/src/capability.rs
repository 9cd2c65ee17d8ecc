//! Whether this machine can run a given kind of cluster, and the test suite's policy when it cannot.

use std::path::PathBuf;

/// Finds `program` in `PATH` the way a shell would.
pub fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// For tests: whether a test needing `what` may run.
///
/// Where `present` is false it prints a SKIPPED line and returns false, unless the environment
/// variable FAULTLINE_REQUIRE_ALL is non-empty (CI sets it): there a skip would hide a broken
/// install step, so it panics instead.
pub fn available_for_test(present: bool, what: &str) -> bool {
    if !present {
        let required = std::env::var_os("FAULTLINE_REQUIRE_ALL").is_some_and(|v| !v.is_empty());
        assert!(
            !required,
            "{what} is missing but FAULTLINE_REQUIRE_ALL is set: the install step failed"
        );
        eprintln!("SKIPPED: {what} is not available here");
    }
    present
}

/// For tests: whether Debian's redis-server is installed, under [`available_for_test`]'s policy.
pub fn redis_for_test() -> bool {
    available_for_test(
        find_in_path("redis-server").is_some(),
        "redis-server (apt-get install redis-server)",
    )
}
