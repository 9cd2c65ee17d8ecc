//! A suite's directory: `store/suites/<suite>/<timestamp>/`, beside the test directories, with
//! the suite's `junit.xml` (a `<testsuite>` per test) and `suite.json` (each test's verdict and
//! run directory). The runs themselves are in the store as any run is, under their test's name.

use crate::run_dir::create_stamped;
use crate::StoreError;
use std::path::{Path, PathBuf};

/// The store's sub-directory that holds suites (not a test: it has no run directories).
pub const SUITES: &str = "suites";

/// One run of a suite's files.
#[derive(Debug, Clone)]
pub struct SuiteDir {
    path: PathBuf,
}

impl SuiteDir {
    /// Creates `store/suites/<suite_name>/<timestamp>/`.
    pub fn create(store: &Path, suite_name: &str) -> Result<SuiteDir, StoreError> {
        let path = create_stamped(&store.join(SUITES).join(suite_name))?;
        Ok(SuiteDir { path })
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The suite's JUnit file.
    pub fn junit_path(&self) -> PathBuf {
        self.path.join("junit.xml")
    }

    /// The suite's summary for machines.
    pub fn summary_path(&self) -> PathBuf {
        self.path.join("suite.json")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_live_under_the_store_apart_from_tests() {
        let store = tempfile::tempdir().unwrap();
        let a = SuiteDir::create(store.path(), "own").unwrap();
        let b = SuiteDir::create(store.path(), "own").unwrap();
        assert_ne!(a.path(), b.path());
        assert!(a
            .path()
            .starts_with(store.path().join("suites").join("own")));
        assert_eq!(a.junit_path(), a.path().join("junit.xml"));
        // A suite is not a run: `latest` is left to the runs.
        assert!(!store.path().join("latest").exists());
    }
}
