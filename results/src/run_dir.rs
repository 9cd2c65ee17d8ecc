//! The run directory: one per run, under the store, with a `latest` link to the newest.

use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Why a run directory could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file or directory of the store could not be created or written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The underlying error (a full disk shows here).
        source: io::Error,
    },
}

impl StoreError {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }
}

/// A run's directory: holds the history, results.json and the node logs.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// Creates `store/<test_name>/<timestamp>/` and points `store/latest` at it.
    pub fn create(store: &Path, test_name: &str) -> Result<RunDir, StoreError> {
        let path = create_stamped(&store.join(test_name))?;
        let dir = RunDir { path };
        dir.point_latest(store)?;
        Ok(dir)
    }

    /// Opens an existing run directory (for re-checking a saved run).
    pub fn open(path: impl Into<PathBuf>) -> RunDir {
        RunDir { path: path.into() }
    }

    /// Whether `path` is a run directory: it holds `history.jsonl` and `results.json`.
    pub fn is_run(path: &Path) -> bool {
        let dir = RunDir::open(path);
        dir.history_path().is_file() && dir.results_path().is_file()
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the history is written.
    pub fn history_path(&self) -> PathBuf {
        self.path.join("history.jsonl")
    }

    /// Where the verdict is written.
    pub fn results_path(&self) -> PathBuf {
        self.path.join("results.json")
    }

    /// Where the completed operations are written as CSV (`history_csv.rs`).
    pub fn csv_path(&self) -> PathBuf {
        self.path.join("history.csv")
    }

    /// Where the verdict is written as JUnit XML (`junit.rs`).
    pub fn junit_path(&self) -> PathBuf {
        self.path.join("junit.xml")
    }

    /// Where node `name` keeps its log and data.
    pub fn node_dir(&self, name: &str) -> Result<PathBuf, StoreError> {
        let dir = self.path.join("nodes").join(name);
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        Ok(dir)
    }

    fn point_latest(&self, store: &Path) -> Result<(), StoreError> {
        let latest = store.join("latest");
        // A relative link keeps the store movable.
        let target = self
            .path
            .strip_prefix(store)
            .unwrap_or(&self.path)
            .to_path_buf();
        let tmp = store.join(format!(".latest-{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(&target, &tmp).map_err(|e| StoreError::io(&tmp, e))?;
        // rename over the old link is atomic, so readers never see no `latest`.
        std::fs::rename(&tmp, &latest).map_err(|e| StoreError::io(&latest, e))
    }
}

/// Creates `parent/<timestamp>/` (with its parents), a directory no other run or suite has.
pub(crate) fn create_stamped(parent: &Path) -> Result<PathBuf, StoreError> {
    let stamp = timestamp(SystemTime::now());
    let mut path = parent.join(&stamp);
    // Two runs in the same millisecond (tests do this) must not share a directory.
    let mut n = 1;
    while path.exists() {
        path = parent.join(format!("{stamp}-{n}"));
        n += 1;
    }
    std::fs::create_dir_all(&path).map_err(|e| StoreError::io(&path, e))?;
    Ok(path)
}

/// A sortable, filesystem-friendly UTC timestamp such as `20261124T185921.123Z`.
fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t)
        .to_string()
        .replace(['-', ':'], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_dir_and_latest_link() {
        let store = tempfile::tempdir().unwrap();
        let a = RunDir::create(store.path(), "register").unwrap();
        let b = RunDir::create(store.path(), "register").unwrap();
        assert_ne!(a.path(), b.path());
        assert!(a.path().starts_with(store.path().join("register")));
        let latest = std::fs::canonicalize(store.path().join("latest")).unwrap();
        assert_eq!(latest, std::fs::canonicalize(b.path()).unwrap());
    }

    #[test]
    fn timestamp_is_compact_utc() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
        assert_eq!(timestamp(t), "20231114T221320.123Z");
    }

    #[test]
    fn unwritable_store_names_the_path() {
        let err = RunDir::create(Path::new("/proc/faultline-cannot-write"), "t").unwrap_err();
        assert!(
            err.to_string().contains("/proc/faultline-cannot-write"),
            "{err}"
        );
    }
}
