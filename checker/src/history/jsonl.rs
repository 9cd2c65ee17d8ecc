//! Reading faultline's JSONL history format: one [`Event`] per line, blank lines ignored.
//!
//! Errors name the file (when there is one) and the 1-based line, so a bad history can be fixed
//! with an editor: `history.jsonl: line 3, column 41: unknown variant `oops`, expected ...`.

use crate::history::event::Event;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

/// Why a history could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The history file could not be opened.
    #[error("cannot open history {}: {source}", .path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
    /// Reading failed part way through.
    #[error("{}line {line}: cannot read: {source}", location(.path))]
    Read {
        /// The file, if reading one.
        path: Option<PathBuf>,
        /// The 1-based line being read.
        line: usize,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
    /// A line is not a valid event.
    #[error("{}line {line}, column {column}: {message}", location(.path))]
    Malformed {
        /// The file, if reading one.
        path: Option<PathBuf>,
        /// The 1-based line.
        line: usize,
        /// The 1-based column where parsing stopped.
        column: usize,
        /// What was wrong, in serde's words (e.g. ``missing field `type` ``).
        message: String,
    },
    /// The file was read, but holds no operation at all: it is not a history.
    #[error(
        "{}: no operations found reading it as {format} ({chosen}); expected {expected}",
        .path.display()
    )]
    NoOperations {
        /// The file.
        path: PathBuf,
        /// The format it was read as.
        format: &'static str,
        /// How that format was chosen: `by its extension`, `by its content`, `as asked`.
        chosen: &'static str,
        /// What an operation of that format looks like.
        expected: &'static str,
    },
}

fn location(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| format!("{}: ", p.display()))
        .unwrap_or_default()
}

/// Reads every event from JSONL text, in file order.
pub fn read_jsonl<R: BufRead>(r: R) -> Result<Vec<Event>, ParseError> {
    read_events(r, None)
}

/// Reads every event from a JSONL file, in file order; errors name the file.
pub fn read_jsonl_file(path: &Path) -> Result<Vec<Event>, ParseError> {
    let unreadable = |source| ParseError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(unreadable)?;
    // Opening a directory succeeds on Linux; say so now rather than as a read error on line 1.
    if file.metadata().map_err(unreadable)?.is_dir() {
        return Err(unreadable(io::ErrorKind::IsADirectory.into()));
    }
    read_events(BufReader::new(file), Some(path))
}

fn read_events<R: BufRead>(mut r: R, path: Option<&Path>) -> Result<Vec<Event>, ParseError> {
    let mut events = Vec::new();
    // Bytes, not `lines()`: invalid UTF-8 then becomes serde's parse error with a column.
    let mut buf = Vec::new();
    let mut line = 0;
    loop {
        buf.clear();
        line += 1;
        let n = r
            .read_until(b'\n', &mut buf)
            .map_err(|source| ParseError::Read {
                path: path.map(Path::to_path_buf),
                line,
                source,
            })?;
        if n == 0 {
            return Ok(events);
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let event = serde_json::from_slice(&buf).map_err(|e| ParseError::Malformed {
            path: path.map(Path::to_path_buf),
            line,
            column: e.column(),
            message: without_position(&e),
        })?;
        events.push(event);
    }
}

/// serde's message without its " at line 1 column N": each line is parsed alone, so its line
/// number would always be 1 and mislead.
fn without_position(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    full.strip_suffix(&suffix).unwrap_or(&full).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::event::{EventType, Process};
    use serde_json::json;

    const WRITE_INVOKE: &str =
        r#"{"index":0,"time":5,"process":1,"type":"invoke","f":"write","key":"x","value":3}"#;
    const WRITE_OK: &str =
        r#"{"index":1,"time":9,"process":1,"type":"ok","f":"write","key":"x","value":3}"#;

    fn parse(text: &str) -> Result<Vec<Event>, ParseError> {
        read_jsonl(text.as_bytes())
    }

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("checker-jsonl-{}-{name}", std::process::id()))
    }

    #[test]
    fn reads_events_and_skips_blank_lines() {
        let text = format!("{WRITE_INVOKE}\n\n   \r\n{WRITE_OK}\r\n");
        let events = parse(&text).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[0],
            Event {
                index: 0,
                time: 5,
                process: Process::Client(1),
                kind: EventType::Invoke,
                f: "write".into(),
                key: Some(json!("x")),
                value: json!(3),
                error: None,
                node: None,
            }
        );
        assert_eq!(events[1].kind, EventType::Ok);
    }

    #[test]
    fn a_missing_final_newline_is_fine() {
        assert_eq!(parse(WRITE_INVOKE).unwrap().len(), 1);
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn malformed_line_three_is_named() {
        let text = format!("{WRITE_INVOKE}\n{WRITE_OK}\n{{\"index\":2,\n");
        let err = parse(&text).unwrap_err();
        let ParseError::Malformed { line, .. } = &err else {
            panic!("expected Malformed, got {err:?}")
        };
        assert_eq!(*line, 3);
        assert!(err.to_string().starts_with("line 3, column "), "{err}");
        assert!(err.to_string().contains("EOF while parsing"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_variant() {
        let text = WRITE_INVOKE.replace("\"invoke\"", "\"oops\"");
        let err = parse(&format!("\n{text}")).unwrap_err().to_string();
        assert!(err.starts_with("line 2, column "), "{err}");
        assert!(err.contains("unknown variant `oops`"), "{err}");
        assert!(!err.contains("at line 1"), "{err}");
    }

    #[test]
    fn missing_type_is_named() {
        let text = r#"{"index":0,"time":5,"process":1,"f":"read"}"#;
        let err = parse(text).unwrap_err().to_string();
        assert!(err.contains("missing field `type`"), "{err}");
    }

    #[test]
    fn nemesis_process_parses_and_other_strings_do_not() {
        let text = r#"{"index":0,"time":5,"process":"nemesis","type":"info","f":"partition","value":["n1"]}"#;
        let events = parse(text).unwrap();
        assert_eq!(events[0].process, Process::Nemesis);
        assert_eq!(events[0].value, json!(["n1"]));

        let bad = text.replace("\"nemesis\"", "\"chaos\"");
        let err = parse(&bad).unwrap_err().to_string();
        assert!(err.contains("process must be"), "{err}");
        let negative = WRITE_INVOKE.replace("\"process\":1", "\"process\":-1");
        assert!(parse(&negative).is_err());
    }

    #[test]
    fn garbage_never_panics() {
        let inputs: [&[u8]; 7] = [
            b"\xff\xfe\n",
            b"{\"f\":\"\xc3\x28\"}",
            b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
            b"null",
            b"{\"index\":1e400}",
            b"{\"index\":-1,\"time\":0,\"process\":1,\"type\":\"ok\",\"f\":\"read\"}",
            b"\"just a string\"",
        ];
        for input in inputs {
            let err = read_jsonl(input).unwrap_err();
            assert!(
                matches!(err, ParseError::Malformed { line: 1, .. }),
                "{err:?}"
            );
        }
    }

    #[test]
    fn file_errors_name_the_file() {
        let path = temp_path("bad.jsonl");
        std::fs::write(&path, format!("{WRITE_INVOKE}\n{WRITE_OK}\nnot json\n")).unwrap();
        let err = read_jsonl_file(&path).unwrap_err().to_string();
        std::fs::remove_file(&path).unwrap();
        assert!(
            err.starts_with(&format!("{}: line 3, column ", path.display())),
            "{err}"
        );

        let good = temp_path("good.jsonl");
        std::fs::write(&good, format!("{WRITE_INVOKE}\n{WRITE_OK}\n")).unwrap();
        let events = read_jsonl_file(&good).unwrap();
        std::fs::remove_file(&good).unwrap();
        assert_eq!(events.len(), 2);
    }

    #[test]
    fn unreadable_file_is_its_own_error() {
        let missing = temp_path("missing.jsonl");
        let err = read_jsonl_file(&missing).unwrap_err();
        assert!(matches!(err, ParseError::Unreadable { .. }), "{err:?}");
        assert!(err.to_string().starts_with("cannot open history "), "{err}");

        let dir = std::env::temp_dir();
        let err = read_jsonl_file(&dir).unwrap_err();
        assert!(matches!(err, ParseError::Unreadable { .. }), "{err:?}");
    }
}
