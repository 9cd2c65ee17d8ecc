//! Reading the operations out of a Jepsen log (`jepsen.log`): every line jepsen.util logs for an
//! operation, tab-separated after the logger's prefix (`→` marks a tab here). Two layouts:
//!
//! ```text
//!   INFO  jepsen.util - 3→:invoke→:cas→[1 4]                              (older Jepsen)
//!   INFO  jepsen.util - 3→:fail→:cas→[1 4]→:timeout                       (an error, when there is one)
//!   INFO  jepsen.util - :nemesis→:info→:start→nil
//!
//!   2022-07-28 07:53:02,859{GMT}→INFO→[jepsen worker 2] jepsen.util: [ 1350999542 ] 2→:invoke→:read→nil
//!   2022-07-28 07:53:03,112{GMT}→INFO→[jepsen nemesis] jepsen.util: [ 1603118001 ] :nemesis→:info→:add-server→"n5"
//!                                                                   (current Jepsen: the operation's
//!                                                                    time in nanoseconds, bracketed)
//!   INFO  jepsen.core - Run complete, writing                          (not an operation: ignored)
//! ```
//!
//! An operation line is one with a field that is exactly `:invoke`, `:ok`, `:fail` or `:info`
//! after the first: the field before it ends with the process (a number or `:nemesis`), preceded
//! by the bracketed time when there is one; the fields after it are the function, the value and
//! the error. A line of the jepsen.util logger with a tab but no such field looks like an
//! operation and is an error, as is an operation line whose process, function or value cannot be
//! read: nothing that looks like an operation is skipped in silence. Every other line is ignored.
//!
//! The value is EDN, converted as [`crate::history::edn`] says; the error is taken as EDN when it
//! reads as EDN (Jepsen logs it with `str`), else as text. An event's time is its bracketed time;
//! a log without times (the older layout) numbers each event's time by its index
//! ([`crate::history::times::Times::EventOrder`]). A log whose operation lines have times on some
//! lines only is an error.

use crate::history::edn;
use crate::history::event::{Event, EventType, Process};
use crate::history::independent::{self, Independent};
use crate::history::jsonl::ParseError;
use serde_json::Value;
use std::path::Path;

/// The four event types, as Jepsen logs them.
const TYPES: [(&str, EventType); 4] = [
    (":invoke", EventType::Invoke),
    (":ok", EventType::Ok),
    (":fail", EventType::Fail),
    (":info", EventType::Info),
];

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
    // The first operation line, and whether it had a time: every other must agree.
    let mut timed: Option<(usize, bool)> = None;
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        let line = line.trim_end_matches('\r');
        let fields: Vec<&str> = line.split('\t').collect();
        // Columns are 1-based, counted in characters up to the field.
        let column = |field: usize| {
            fields[..field]
                .iter()
                .map(|f| f.chars().count() + 1)
                .sum::<usize>()
                + 1
        };
        let Some(at) = (1..fields.len()).find(|&i| type_of(fields[i]).is_some()) else {
            if looks_like_an_operation(line) {
                return Err(malformed(
                    line_no,
                    1,
                    "a jepsen.util line that looks like an operation, but none of its \
                     tab-separated fields is :invoke, :ok, :fail or :info"
                        .into(),
                ));
            }
            continue;
        };
        let kind = type_of(fields[at]).expect("found above");
        let (time, process) = time_and_process(fields[at - 1])
            .map_err(|message| malformed(line_no, column(at - 1), message))?;
        match timed {
            None => timed = Some((line_no, time.is_some())),
            Some((first, had)) if had != time.is_some() => {
                let (with, without) = if had {
                    (first, line_no)
                } else {
                    (line_no, first)
                };
                return Err(malformed(
                    line_no,
                    1,
                    format!(
                        "line {with}'s operation has a time ([ nanoseconds ] before the process) \
                         but line {without}'s has none: a log's operations have times on every \
                         line or on none"
                    ),
                ));
            }
            Some(_) => {}
        }
        let f = match fields.get(at + 1).map(|f| f.trim()) {
            Some(f) if f.len() > 1 && f.starts_with(':') => f[1..].to_string(),
            other => {
                return Err(malformed(
                    line_no,
                    column(at + 1),
                    format!(
                        "the operation's function must be a keyword like :read, found {:?}",
                        other.unwrap_or("")
                    ),
                ))
            }
        };
        let value = match fields.get(at + 2) {
            None => Value::Null,
            Some(text) => edn::parse_value(text).map_err(|e| {
                malformed(
                    line_no,
                    column(at + 2) + e.column - 1,
                    format!("the operation's value: {}", e.message),
                )
            })?,
        };
        // Jepsen logs the error with `str`, not as EDN: take it as EDN when it reads as EDN.
        let error = fields.get(at + 3..).unwrap_or_default().join("\t");
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
            time: time.unwrap_or(index),
            process,
            kind,
            f,
            key: None,
            value,
            error,
            node: None,
        });
        lines.push(line_no);
    }
    independent::apply(&mut events, independent)
        .map_err(|(i, why)| malformed(lines[i], 1, format!("operation {i}: {why}")))?;
    Ok(events)
}

/// The event type a field names, if it is exactly one of them.
fn type_of(field: &str) -> Option<EventType> {
    let field = field.trim();
    TYPES
        .iter()
        .find(|(name, _)| *name == field)
        .map(|&(_, t)| t)
}

/// Whether a line with no type field still looks like an operation: jepsen.util's logger
/// followed by a tab, which only its operation lines have.
fn looks_like_an_operation(line: &str) -> bool {
    line.find("jepsen.util")
        .is_some_and(|at| line[at..].contains('\t'))
}

/// The bracketed time (if any) and the process that end the field before an operation's type:
/// `INFO  jepsen.util - 3`, `[jepsen worker 2] jepsen.util: [ 1350999542 ] 2`.
fn time_and_process(field: &str) -> Result<(Option<u64>, Process), String> {
    let field = field.trim_end();
    let (before, token) = match field.rfind(char::is_whitespace) {
        Some(at) => (&field[..at], field[at..].trim_start()),
        None => ("", field),
    };
    let process = match token {
        ":nemesis" => Process::Nemesis,
        p => match p.parse() {
            Ok(p) => Process::Client(p),
            Err(_) => {
                return Err(format!(
                    "the operation's process must be a non-negative integer or :nemesis, \
                     found {token:?}"
                ))
            }
        },
    };
    // `[ 1350999542 ]` right before the process; a bracket holding anything else (a thread name
    // such as `[jepsen worker 2]` with no time after it) is not a time.
    let before = before.trim_end();
    let time = before
        .strip_suffix(']')
        .and_then(|b| b.rfind('[').map(|open| b[open + 1..].trim()))
        .and_then(|t| t.parse().ok());
    Ok((time, process))
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
                node: None,
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

    /// Current Jepsen's layout (issue 12, point 3): the log4j prefix is tab-separated too, and
    /// the operation's time in nanoseconds comes bracketed before the process.
    const NEW_LOG: &str = "\
2022-07-28 07:53:02,001{GMT}\tINFO\t[main] jepsen.core: Running test jepsen.etcd
2022-07-28 07:53:02,859{GMT}\tINFO\t[jepsen worker 2] jepsen.util: [ 1350999542 ] 2\t:invoke\t:read\tnil
2022-07-28 07:53:02,860{GMT}\tINFO\t[jepsen nemesis] jepsen.util: [ 1351000100 ] :nemesis\t:info\t:add-server\t\"n5\"
2022-07-28 07:53:02,861{GMT}\tINFO\t[jepsen worker 2] jepsen.util: [ 1352000000 ] 2\t:ok\t:read\t3
2022-07-28 07:53:02,862{GMT}\tINFO\t[jepsen worker 0] jepsen.util: [ 1353000000 ] 0\t:info\t:cas\t[1 4]\t:timeout
2022-07-28 07:53:05,000{GMT}\tINFO\t[main] jepsen.core: Run complete, writing
";

    #[test]
    fn reads_current_jepsen_logs_with_their_times() {
        let events = read(NEW_LOG).unwrap();
        let seen: Vec<(u64, u64, Process, EventType, &str, Value)> = events
            .iter()
            .map(|e| {
                (
                    e.index,
                    e.time,
                    e.process,
                    e.kind,
                    e.f.as_str(),
                    e.value.clone(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                (
                    0,
                    1_350_999_542,
                    Process::Client(2),
                    EventType::Invoke,
                    "read",
                    Value::Null
                ),
                (
                    1,
                    1_351_000_100,
                    Process::Nemesis,
                    EventType::Info,
                    "add-server",
                    json!("n5")
                ),
                (
                    2,
                    1_352_000_000,
                    Process::Client(2),
                    EventType::Ok,
                    "read",
                    json!(3)
                ),
                (
                    3,
                    1_353_000_000,
                    Process::Client(0),
                    EventType::Info,
                    "cas",
                    json!([1, 4])
                ),
            ]
        );
        assert_eq!(events[3].error.as_deref(), Some("timeout"));
        assert_eq!(
            crate::history::times::Times::of(&events),
            crate::history::times::Times::Nanos
        );
    }

    #[test]
    fn older_logs_have_no_times_and_count_events() {
        let events = read(LOG).unwrap();
        assert_eq!(
            crate::history::times::Times::of(&events),
            crate::history::times::Times::EventOrder
        );
        // A bracketed thread name before the process is not a time.
        let events = read("INFO [jepsen worker 2] 12\t:ok\t:read\t1").unwrap();
        assert_eq!(
            (events[0].time, events[0].process),
            (0, Process::Client(12))
        );
    }

    #[test]
    fn lines_that_look_like_operations_but_cannot_be_read_are_errors() {
        let new_invoke = NEW_LOG.lines().nth(1).unwrap();
        let old_invoke = "INFO  jepsen.util - 3\t:invoke\t:read\tnil";
        // A garbled type: jepsen.util and a tab, but no type field.
        let garbled = format!("{old_invoke}\nINFO  jepsen.util - 3\t:okk\t:read\t1\n");
        assert_eq!(
            read(&garbled).unwrap_err().to_string(),
            "line 2, column 1: a jepsen.util line that looks like an operation, but none of its \
             tab-separated fields is :invoke, :ok, :fail or :info"
        );
        // A garbled process, in either layout.
        let garbled = new_invoke.replace("] 2\t", "] two\t");
        assert_eq!(
            read(&format!("\n{garbled}")).unwrap_err().to_string(),
            "line 2, column 35: the operation's process must be a non-negative integer or \
             :nemesis, found \"two\""
        );
        assert!(read("INFO  jepsen.util - p3\t:invoke\t:read\tnil")
            .unwrap_err()
            .to_string()
            .starts_with("line 1, column 1: the operation's process"));
        // Times on some lines only.
        let mixed = format!("{new_invoke}\n{old_invoke}\n");
        assert_eq!(
            read(&mixed).unwrap_err().to_string(),
            "line 2, column 1: line 1's operation has a time ([ nanoseconds ] before the \
             process) but line 2's has none: a log's operations have times on every line or \
             on none"
        );
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
