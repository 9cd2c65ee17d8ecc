//! A callback told how many keys (parts) of a history are decided, so a caller can show a
//! progress bar over a long check. Keys finish in any order on rayon's threads.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Called with (keys decided, keys in all) each time a key is decided, from any thread.
#[derive(Clone)]
pub struct KeyProgress(Arc<dyn Fn(usize, usize) + Send + Sync>);

impl KeyProgress {
    /// Wraps `report`.
    pub fn new(report: impl Fn(usize, usize) + Send + Sync + 'static) -> KeyProgress {
        KeyProgress(Arc::new(report))
    }
}

impl fmt::Debug for KeyProgress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyProgress")
    }
}

impl PartialEq for KeyProgress {
    /// The same callback, not an equal one: closures cannot be compared.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Counts decided keys for one check and reports each to the callback, if there is one.
pub(crate) struct KeyCounter<'a> {
    progress: Option<&'a KeyProgress>,
    done: AtomicUsize,
    total: usize,
}

impl<'a> KeyCounter<'a> {
    /// A counter for `total` keys.
    pub(crate) fn new(progress: Option<&'a KeyProgress>, total: usize) -> KeyCounter<'a> {
        if let Some(p) = progress {
            (p.0)(0, total);
        }
        KeyCounter {
            progress,
            done: AtomicUsize::new(0),
            total,
        }
    }

    /// One more key is decided.
    pub(crate) fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(p) = self.progress {
            (p.0)(done, self.total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn reports_start_and_every_key() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let progress = KeyProgress::new(move |d, t| log.lock().unwrap().push((d, t)));
        let counter = KeyCounter::new(Some(&progress), 2);
        counter.tick();
        counter.tick();
        assert_eq!(*seen.lock().unwrap(), [(0, 2), (1, 2), (2, 2)]);
        assert_eq!(progress, progress.clone());
        KeyCounter::new(None, 3).tick();
    }

    #[test]
    fn a_check_reports_every_key_decided() {
        let text = [
            r#"{"index":0,"time":1,"process":0,"type":"invoke","f":"write","key":"a","value":1}"#,
            r#"{"index":1,"time":2,"process":0,"type":"ok","f":"write","key":"a","value":1}"#,
            r#"{"index":2,"time":3,"process":1,"type":"invoke","f":"read","key":"b","value":null}"#,
            r#"{"index":3,"time":4,"process":1,"type":"ok","f":"read","key":"b","value":null}"#,
        ]
        .join("\n");
        let events = crate::history::jsonl::read_jsonl(text.as_bytes()).unwrap();
        let last = Arc::new(Mutex::new((9, 9)));
        let log = last.clone();
        let options = crate::options::CheckOptions {
            progress: Some(KeyProgress::new(move |d, t| *log.lock().unwrap() = (d, t))),
            ..crate::options::CheckOptions::default()
        };
        let report = crate::check::check_events(&events, &options).unwrap();
        assert_eq!(report.keys.len(), 2);
        assert_eq!(*last.lock().unwrap(), (2, 2));
    }
}
