//! Reading the operations out of a Jepsen log (`jepsen.log`): every line jepsen.util logs for an
//! operation, tab-separated after the logger's prefix (`→` marks a tab here):
//!
//! ```text
//!   INFO  jepsen.util - 3→:invoke→:cas→[1 4]
//!   INFO  jepsen.util - 3→:fail→:cas→[1 4]→:timeout          (an error, when there is one)
//!   INFO  jepsen.util - :nemesis→:info→:start→nil
//!   INFO  jepsen.core - Run complete, writing                (not an operation: ignored)
//! ```
//!
//! A line is an operation when its second tab-separated field is `:invoke`, `:ok`, `:fail` or
//! `:info` and its first ends with a process (a number or `:nemesis`); every other line is
//! ignored. The value is EDN, converted as [`crate::edn`] says; the error is taken as EDN when it
//! reads as EDN (Jepsen logs it with `str`), else as text. A log has no event times, so an
//! event's time is its index.

use crate::edn;
use crate::event::{Event, EventType, Process};
use crate::independent::{self, Independent};
use crate::jsonl::ParseError;
use serde_json::Value;
use std::path::Path;

/// Reads every operation line of a Jepsen log, in file order.
///
/// `path` only names the file in errors; `independent` says how `[key value]` tuples are read.
pub fn read_jepsen_log(
    text: &str,
    path: Option<&Path>,
    independent: Independent,
) -> Result<Vec<Event>, ParseError> {
    let malformed = |line: usize, column: usize, message: String| ParseError::Malformed {
        path: path.map(Path::to_path_buf),
        line,
        column,
        message,
    };
    let mut events = Vec::new();
    let mut lines = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        let fields: Vec<&str> = line.trim_end_matches('\r').split('\t').collect();
        let Some(op) = op_fields(&fields) else {
            continue;
        };
        // Columns are 1-based, counted in characters up to the field.
        let column = |field: usize| {
            fields[..field]
                .iter()
                .map(|f| f.chars().count() + 1)
                .sum::<usize>()
                + 1
        };
        let f = match fields.get(2).map(|f| f.trim()) {
            Some(f) if f.len() > 1 && f.starts_with(':') => f[1..].to_string(),
            other => {
                return Err(malformed(
                    line_no,
                    column(2),
                    format!(
                        "the operation's function must be a keyword like :read, found {:?}",
                        other.unwrap_or("")
                    ),
                ))
            }
        };
        let value = match fields.get(3) {
            None => Value::Null,
            Some(text) => edn::parse_value(text).map_err(|e| {
                malformed(
                    line_no,
                    column(3) + e.column - 1,
                    format!("the operation's value: {}", e.message),
                )
            })?,
        };
        // Jepsen logs the error with `str`, not as EDN: take it as EDN when it reads as EDN.
        let error = fields.get(4..).unwrap_or_default().join("\t");
        let error = match error.trim() {
            "" => None,
            text => Some(match edn::parse_value(text) {
                Ok(Value::String(s)) => s,
                Ok(Value::Null) => text.to_string(),
                Ok(other) => other.to_string(),
                Err(_) => text.to_string(),
            }),
        };
        let index = events.len() as u64;
        events.push(Event {
            index,
            time: index,
            process: op.0,
            kind: op.1,
            f,
            key: None,
            value,
            error,
        });
        lines.push(line_no);
    }
    independent::apply(&mut events, independent)
        .map_err(|(i, why)| malformed(lines[i], 1, format!("operation {i}: {why}")))?;
    Ok(events)
}

/// The process and type of an operation line, or `None` for any other line.
fn op_fields(fields: &[&str]) -> Option<(Process, EventType)> {
    let kind = match fields.get(1)?.trim() {
        ":invoke" => EventType::Invoke,
        ":ok" => EventType::Ok,
        ":fail" => EventType::Fail,
        ":info" => EventType::Info,
        _ => return None,
    };
    let process = match fields[0].split_whitespace().last()? {
        ":nemesis" => Process::Nemesis,
        p => Process::Client(p.parse().ok()?),
    };
    Some((process, kind))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(text: &str) -> Result<Vec<Event>, ParseError> {
        read_jepsen_log(text, None, Independent::Detect)
    }

    const LOG: &str = "\
2017-03-02 12:00:00,000{GMT}\tINFO\t[main] jepsen.core: Running test
INFO  jepsen.util - 3\t:invoke\t:cas\t[1 4]
INFO  jepsen.util - :nemesis\t:info\t:start\tnil
INFO  jepsen.util - 3\t:fail\t:cas\t[1 4]\t:timeout
INFO [jepsen worker 2] jepsen.util: 12\t:ok\t:read\t{:x 1}\r
INFO  jepsen.core - Everything looks good! ヽ('ー`)ノ
";

    #[test]
    fn reads_operation_lines_and_ignores_the_rest() {
        let events = read(LOG).unwrap();
        assert_eq!(events.len(), 4);
        assert_eq!(
            events[0],
            Event {
                index: 0,
                time: 0,
                process: Process::Client(3),
                kind: EventType::Invoke,
                f: "cas".into(),
                key: None,
                value: json!([1, 4]),
                error: None,
            }
        );
        assert_eq!(events[1].process, Process::Nemesis);
        assert_eq!(events[1].value, Value::Null);
        assert_eq!(events[2].kind, EventType::Fail);
        assert_eq!(events[2].error.as_deref(), Some("timeout"));
        assert_eq!((events[3].index, events[3].time), (3, 3));
        assert_eq!(events[3].process, Process::Client(12));
        assert_eq!(events[3].value, json!({"x": 1}));
    }

    #[test]
    fn errors_name_line_and_column() {
        let text =
            "INFO  jepsen.util - 3\t:invoke\t:cas\t[1 4]\nINFO  jepsen.util - 3\t:ok\t:cas\t[1 4";
        let err = read(text).unwrap_err().to_string();
        assert_eq!(
            err,
            "line 2, column 36: the operation's value: unexpected end of input \
             (an unclosed bracket or string?)"
        );
        let err = read("INFO  jepsen.util - 3\t:ok\tcas\t1")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "line 1, column 27: the operation's function must be a keyword like :read, \
             found \"cas\""
        );
        let err = read("x 3\t:ok\t:read\t1 2").unwrap_err().to_string();
        assert_eq!(
            err,
            "line 1, column 17: the operation's value: more text after the value"
        );
    }

    #[test]
    fn independent_tuples_and_plain_errors() {
        let text = "x 3\t:invoke\t:read\t[:k nil]\nx 3\t:ok\t:read\t[:k 2]\t[:timeout nil]";
        let events = read(text).unwrap();
        assert_eq!(events[1].key, Some(json!("k")));
        assert_eq!(events[1].value, json!(2));
        assert_eq!(events[1].error.as_deref(), Some(r#"["timeout",null]"#));
        let err = read_jepsen_log("x 3\t:invoke\t:read\tnil", None, Independent::Always)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "line 1, column 1: operation 0: its value null is not a [key value] tuple"
        );
    }

    #[test]
    fn garbage_is_ignored_or_an_error_never_a_panic() {
        for text in [
            "",
            "\t\t\t",
            "\u{0}\t:ok",
            "3\t:ok",
            ":nemesis\t:info\t:\t",
            "3\t:ok\t:read\t[[[[[",
        ] {
            let _ = read(text);
        }
        assert!(read("no operations here\n\tat all\n").unwrap().is_empty());
        // No value field: the value is nil.
        assert_eq!(read("1\t:invoke\t:read").unwrap()[0].value, Value::Null);
    }
}
