//! The store's `index.html`: every run under the store (`<test>/<timestamp>/`), newest first,
//! with its test, time, verdict and a link to its report — a CI artifact folder browsed with no
//! server.

use crate::markup::escape;
use crate::page::ending;
use crate::run_files::ReportError;
use serde_json::Value;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// One run as the index lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexRow {
    /// The run directory relative to the store (`<test>/<timestamp>`).
    pub rel: PathBuf,
    /// The test's name.
    pub test: String,
    /// The directory's timestamp as people read it.
    pub time: String,
    /// The verdict (`unknown` when the run left no results.json).
    pub verdict: String,
    /// Why the run is incomplete, or the verdict's reason.
    pub note: String,
    /// Whether the run has a report.html to link to.
    pub has_report: bool,
}

/// The runs under `store`, newest first (a directory holding `history.jsonl` is a run).
pub fn runs(store: &Path) -> Vec<IndexRow> {
    let mut rows = Vec::new();
    let Ok(tests) = std::fs::read_dir(store) else {
        return rows;
    };
    for test in tests.flatten() {
        let name = test.file_name().to_string_lossy().into_owned();
        // `latest` points at a run listed under its own test; hidden entries are temporaries.
        if name == "latest" || name.starts_with('.') || !test.path().is_dir() {
            continue;
        }
        let Ok(stamps) = std::fs::read_dir(test.path()) else {
            continue;
        };
        for run in stamps.flatten() {
            let dir = run.path();
            if !dir.join("history.jsonl").is_file() {
                continue;
            }
            let stamp = run.file_name().to_string_lossy().into_owned();
            let results: Option<Value> = std::fs::read_to_string(dir.join("results.json"))
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok());
            let verdict = results
                .as_ref()
                .and_then(|r| r["verdict"].as_str())
                .unwrap_or("unknown")
                .to_string();
            let note = ending(results.as_ref())
                .or_else(|| {
                    results
                        .as_ref()
                        .and_then(|r| r["reason"].as_str().map(str::to_string))
                })
                .unwrap_or_default();
            rows.push(IndexRow {
                rel: PathBuf::from(&name).join(&stamp),
                test: name.clone(),
                time: readable_stamp(&stamp),
                verdict,
                note,
                has_report: dir.join("report.html").is_file(),
            });
        }
    }
    // Timestamps sort as text; newest first.
    rows.sort_by(|a, b| {
        let stamp = |r: &IndexRow| r.rel.file_name().map(|n| n.to_os_string());
        stamp(b).cmp(&stamp(a)).then(a.test.cmp(&b.test))
    });
    rows
}

/// `20261124T185921.123Z` as `2026-11-24 18:59:21.123 UTC`; anything else unchanged.
fn readable_stamp(stamp: &str) -> String {
    let b = stamp.as_bytes();
    if b.len() < 15 || b[8] != b'T' || !b[..8].iter().all(u8::is_ascii_digit) {
        return stamp.to_string();
    }
    let rest = stamp[15..].trim_end_matches('Z');
    let (frac, suffix) = match rest.split_once('Z') {
        Some((f, s)) => (f, s),
        None => (rest, ""),
    };
    format!(
        "{}-{}-{} {}:{}:{}{frac} UTC{suffix}",
        &stamp[0..4],
        &stamp[4..6],
        &stamp[6..8],
        &stamp[9..11],
        &stamp[11..13],
        &stamp[13..15]
    )
}

/// The index page of `rows`.
pub fn render(store: &Path, rows: &[IndexRow]) -> String {
    let mut p = String::new();
    let count = |v: &str| rows.iter().filter(|r| r.verdict == v).count();
    let _ = write!(
        p,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>faultline runs: {}</title><style>{}</style></head><body><main><h1>faultline runs</h1><p class="note">{} in {}: {} valid, {} invalid, {} unknown</p><section><table id="runs"><tr><th>time</th><th>test</th><th>verdict</th><th>note</th><th>report</th></tr>"#,
        escape(&store.display().to_string()),
        include_str!("page.css"),
        if rows.len() == 1 {
            "1 run".to_string()
        } else {
            format!("{} runs", rows.len())
        },
        escape(&store.display().to_string()),
        count("valid"),
        count("invalid"),
        count("unknown"),
    );
    for r in rows {
        let rel = r.rel.to_string_lossy();
        let link = if r.has_report {
            format!(r#"<a href="{}/report.html">report</a>"#, escape(&rel))
        } else {
            format!(r#"<a href="{}/">files</a>"#, escape(&rel))
        };
        let _ = write!(
            p,
            r#"<tr><td class="mono">{}</td><td>{}</td><td><span class="badge {v}">{v}</span></td><td>{}</td><td>{link}</td></tr>"#,
            escape(&r.time),
            escape(&r.test),
            escape(&r.note),
            v = escape(&r.verdict),
        );
    }
    p.push_str("</table></section></main></body></html>");
    p
}

/// Writes `store/index.html` listing every run; returns its path.
pub fn write_index(store: &Path) -> Result<PathBuf, ReportError> {
    let rows = runs(store);
    let path = store.join("index.html");
    crate::write_atomically(&path, &render(store, &rows))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_read_as_utc_times() {
        assert_eq!(
            readable_stamp("20261124T185921.123Z"),
            "2026-11-24 18:59:21.123 UTC"
        );
        assert_eq!(
            readable_stamp("20261124T185921.123Z-1"),
            "2026-11-24 18:59:21.123 UTC-1"
        );
        assert_eq!(readable_stamp("other"), "other");
    }

    #[test]
    fn lists_runs_newest_first_with_their_verdicts() {
        let store = tempfile::tempdir().unwrap();
        let mk = |test: &str, stamp: &str, results: Option<&str>| {
            let dir = store.path().join(test).join(stamp);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("history.jsonl"), "").unwrap();
            if let Some(r) = results {
                std::fs::write(dir.join("results.json"), r).unwrap();
            }
        };
        mk(
            "own-register",
            "20261124T100000.000Z",
            Some(r#"{"verdict":"valid","ended":"completed"}"#),
        );
        mk(
            "redis-set",
            "20261124T110000.000Z",
            Some(r#"{"verdict":"invalid","ended":"completed"}"#),
        );
        mk("own-register", "20261124T120000.000Z", None);
        std::fs::create_dir_all(store.path().join("live")).unwrap();
        let rows = runs(store.path());
        let verdicts: Vec<&str> = rows.iter().map(|r| r.verdict.as_str()).collect();
        assert_eq!(verdicts, ["unknown", "invalid", "valid"]);
        assert!(rows[0].note.starts_with("incomplete"));
        let path = write_index(store.path()).unwrap();
        let html = std::fs::read_to_string(path).unwrap();
        assert!(html.contains("3 runs in"));
        assert!(html.contains(r#"<a href="redis-set/20261124T110000.000Z/">files</a>"#));
    }
}
