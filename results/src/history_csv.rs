//! `history.csv`: the run's completed operations, one row each, for spreadsheets and scripts.
//!
//! ```text
//! process,f,key,value,invoke_ns,complete_ns,latency_ns,type,error
//! 3,write,k1,7,1200345,1900012,699667,ok,
//! 4,cas,k2,"[1,2]",1300000,2300000,1000000,fail,cas-mismatch
//! ```
//!
//! A derived file: `history.jsonl` stays the source of truth, and this one is rewritten from it
//! (at the end of a run, however it ended, and by `faultline check RUN_DIR`). Rows are in
//! invocation order; an invocation that never completed (an interrupted run's last operations)
//! has no row, and nemesis events are not operations. Times are nanoseconds since the run
//! started. `value` is what the completion returned (a read's value) when it returned anything,
//! else the invocation's argument; `error` is the completion's (a fail's or an info's). Keys and
//! values that are JSON strings are written bare, null as an empty field, anything else as
//! compact JSON; quoting is RFC 4180's.

use crate::StoreError;
use checker::{pair, Event, EventType, Operation, Outcome};
use serde_json::Value;
use std::collections::HashMap;
use std::io;
use std::path::Path;

/// The header row.
pub const HEADER: [&str; 9] = [
    "process",
    "f",
    "key",
    "value",
    "invoke_ns",
    "complete_ns",
    "latency_ns",
    "type",
    "error",
];

/// Writes `events`' completed operations as CSV to `path` (via a temporary file, so a reader
/// never sees half a file).
pub fn write_history_csv(events: &[Event], path: &Path) -> Result<(), StoreError> {
    let completions: HashMap<u64, &Event> = events
        .iter()
        .filter(|e| e.kind != EventType::Invoke)
        .map(|e| (e.index, e))
        .collect();
    let ops = pair(events).map_err(|e| {
        StoreError::io(
            path,
            io::Error::new(io::ErrorKind::InvalidData, format!("the history: {e}")),
        )
    })?;
    let tmp = path.with_extension("csv.tmp");
    let write = || -> Result<(), csv::Error> {
        let mut out = csv::Writer::from_path(&tmp)?;
        out.write_record(HEADER)?;
        for op in &ops {
            let completion = op.span.complete_index.and_then(|i| completions.get(&i));
            if let Some(row) = completion.map(|c| row(op, c)) {
                out.write_record(&row)?;
            }
        }
        out.flush()?;
        Ok(())
    };
    write().map_err(|e| StoreError::io(&tmp, e.into()))?;
    std::fs::rename(&tmp, path).map_err(|e| StoreError::io(path, e))
}

/// A completed operation's row, from its pairing and its completion event (whose error an
/// `info` keeps too, such as a timeout).
fn row(op: &Operation, completion: &Event) -> [String; 9] {
    let kind = match &op.outcome {
        Outcome::Ok => "ok",
        Outcome::Fail { .. } => "fail",
        Outcome::Info => "info",
    };
    let value = match &completion.value {
        Value::Null => &op.value,
        returned => returned,
    };
    [
        op.process.to_string(),
        op.f.clone(),
        op.key.as_ref().map_or_else(String::new, field),
        field(value),
        op.span.invoke_time.to_string(),
        completion.time.to_string(),
        completion
            .time
            .saturating_sub(op.span.invoke_time)
            .to_string(),
        kind.into(),
        completion.error.clone().unwrap_or_default(),
    ]
}

/// A JSON value as a CSV field: strings bare, null empty, the rest compact JSON.
fn field(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(jsonl: &str) -> Vec<Event> {
        checker::formats::read_jsonl(jsonl.as_bytes()).unwrap()
    }

    fn read_back(path: &Path) -> Vec<Vec<String>> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_path(path)
            .unwrap();
        reader
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect()
    }

    #[test]
    fn one_row_per_completed_operation_with_values_quoted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.csv");
        let history = events(concat!(
            r#"{"index":0,"time":1000,"process":1,"type":"invoke","f":"write","key":"k,1","value":"a \"quoted\", comma"}"#,
            "\n",
            r#"{"index":1,"time":1500,"process":2,"type":"invoke","f":"cas","key":"k2","value":[1,2]}"#,
            "\n",
            r#"{"index":2,"time":1700,"process":"nemesis","type":"info","f":"pause","value":null}"#,
            "\n",
            r#"{"index":3,"time":2000,"process":1,"type":"ok","f":"write","key":"k,1","value":"a \"quoted\", comma"}"#,
            "\n",
            r#"{"index":4,"time":2600,"process":2,"type":"fail","f":"cas","key":"k2","value":[1,2],"error":"cas-mismatch"}"#,
            "\n",
            r#"{"index":5,"time":3000,"process":3,"type":"invoke","f":"read","key":"k2","value":null}"#,
            "\n",
            r#"{"index":6,"time":3500,"process":3,"type":"ok","f":"read","key":"k2","value":{"line":"one\ntwo"}}"#,
            "\n",
            r#"{"index":7,"time":4000,"process":4,"type":"invoke","f":"read","key":"k2","value":null}"#,
            "\n",
            r#"{"index":8,"time":4100,"process":5,"type":"invoke","f":"write","key":"k2","value":9}"#,
            "\n",
            r#"{"index":9,"time":9100,"process":5,"type":"info","f":"write","key":"k2","value":9,"error":"timed out"}"#,
            "\n",
        ));
        write_history_csv(&history, &path).unwrap();
        let rows = read_back(&path);
        assert_eq!(rows[0], HEADER);
        let expected: Vec<Vec<&str>> = vec![
            vec![
                "1",
                "write",
                "k,1",
                "a \"quoted\", comma",
                "1000",
                "2000",
                "1000",
                "ok",
                "",
            ],
            vec![
                "2",
                "cas",
                "k2",
                "[1,2]",
                "1500",
                "2600",
                "1100",
                "fail",
                "cas-mismatch",
            ],
            vec![
                "3",
                "read",
                "k2",
                r#"{"line":"one\ntwo"}"#,
                "3000",
                "3500",
                "500",
                "ok",
                "",
            ],
            vec![
                "5",
                "write",
                "k2",
                "9",
                "4100",
                "9100",
                "5000",
                "info",
                "timed out",
            ],
        ];
        // Process 4's read never completed: no row.
        assert_eq!(rows[1..], expected);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(r#""a ""quoted"", comma""#),
            "RFC 4180 quoting: {text}"
        );
        assert!(!dir.path().join("history.csv.tmp").exists());
    }

    #[test]
    fn an_empty_history_has_the_header_only_and_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.csv");
        write_history_csv(&[], &path).unwrap();
        assert_eq!(read_back(&path), vec![HEADER.map(String::from).to_vec()]);

        let unpaired =
            events(r#"{"index":0,"time":1,"process":1,"type":"ok","f":"read","value":1}"#);
        let err = write_history_csv(&unpaired, &path).unwrap_err().to_string();
        assert!(
            err.contains("history.csv") && err.contains("the history"),
            "{err}"
        );
        let nowhere = Path::new("/proc/faultline-no/history.csv");
        let err = write_history_csv(&[], nowhere).unwrap_err().to_string();
        assert!(err.contains("/proc/faultline-no/history.csv.tmp"), "{err}");
    }
}
