//! Reading Jepsen's EDN histories (`history.edn`) into [`Event`]s, and EDN values into JSON.
//!
//! Every shape Jepsen and Knossos write is accepted:
//!
//! ```text
//!   [{:process 0, :type :invoke, :f :read, :value nil}      one vector (or list) of op maps,
//!    {:process 0, :type :ok, :f :read, :value 3}]           as Knossos's test data has
//!
//!   {:index 0, :time 12, :type :invoke, :process 0, ...}    one op per line (Jepsen's
//!   #jepsen.history.Op{:index 1, :time 15, ...}             history.edn), plain or as records
//! ```
//!
//! An event's index is its position in the file (Jepsen's `:index` agrees when present); its
//! time is `:time` when present, else the index. `:process :nemesis` is [`Process::Nemesis`].
//! A `:key` field becomes the event's key; `independent` tuples are handled by
//! [`crate::history::independent`].
//!
//! Values become JSON: `nil` null, keywords and symbols strings without the colon, vectors,
//! lists and sets arrays, maps objects (keys as strings), tagged values their inner value.
//! Errors name the file, line and column; nothing here panics on bad input.

use crate::history::event::{Event, EventType, Process};
use crate::history::independent::{self, Independent};
use crate::history::jsonl::ParseError;
use clojure_reader::edn::{self as reader, Edn};
use clojure_reader::error::{Code, Error as ReaderError};
use serde_json::{Map, Number, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// Values nested deeper than this are refused: converting (and dropping) a JSON value recurses,
/// so unbounded depth would overflow the stack on hostile input. Jepsen values nest a few levels.
pub const MAX_DEPTH: usize = 100;

/// An EDN value that could not be read or has no JSON form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct EdnValueError {
    /// The 1-based line.
    pub line: usize,
    /// The 1-based column, in characters.
    pub column: usize,
    /// What was wrong.
    pub message: String,
}

/// Reads one EDN value (such as `nil` or `{:x 0 :y 0}`) as JSON; nothing may follow it.
pub fn parse_value(text: &str) -> Result<Value, EdnValueError> {
    let at = |offset: usize, message: String| {
        let (line, column) = line_column(text, offset);
        EdnValueError {
            line,
            column,
            message,
        }
    };
    let start = skip_blank(text, 0);
    if start == text.len() {
        return Err(at(start, "no value".into()));
    }
    let (edn, rest) = reader::read(&text[start..]).map_err(|e| {
        at(
            start + error_offset(&e, text.len() - start),
            describe_error(&e),
        )
    })?;
    let end = text.len() - rest.len();
    if skip_blank(text, end) != text.len() {
        return Err(at(
            skip_blank(text, end),
            "more text after the value".into(),
        ));
    }
    to_json(&edn).map_err(|message| at(start, message))
}

/// Reads every event of an EDN history, in file order.
///
/// `path` only names the file in errors; `independent` says how `[key value]` tuples are read.
pub fn read_edn(
    text: &str,
    path: Option<&Path>,
    independent: Independent,
) -> Result<Vec<Event>, ParseError> {
    let malformed = |offset: usize, message: String| {
        let (line, column) = line_column(text, offset);
        ParseError::Malformed {
            path: path.map(Path::to_path_buf),
            line,
            column,
            message,
        }
    };

    let mut pos = skip_blank(text, 0);
    // One vector or list of ops, or ops one after another at the top level.
    let close = match text[pos..].chars().next() {
        Some('[') => Some(']'),
        Some('(') => Some(')'),
        _ => None,
    };
    if close.is_some() {
        pos += 1;
    }
    let mut events = Vec::new();
    let mut starts = Vec::new();
    loop {
        pos = skip_blank(text, pos);
        let Some(next) = text[pos..].chars().next() else {
            if let Some(close) = close {
                return Err(malformed(
                    pos,
                    format!("unexpected end of input: the history's closing {close} is missing"),
                ));
            }
            break;
        };
        if Some(next) == close {
            let after = skip_blank(text, pos + 1);
            if after != text.len() {
                return Err(malformed(
                    after,
                    format!("more text after the history's closing {next}"),
                ));
            }
            break;
        }
        let (edn, rest) = reader::read(&text[pos..])
            .map_err(|e| malformed(pos + error_offset(&e, text.len() - pos), describe_error(&e)))?;
        let event = op_event(&edn, events.len())
            .map_err(|message| malformed(pos, format!("operation {}: {message}", events.len())))?;
        starts.push(pos);
        events.push(event);
        pos = text.len() - rest.len();
    }
    independent::apply(&mut events, independent)
        .map_err(|(i, why)| malformed(starts[i], format!("operation {i}: {why}")))?;
    Ok(events)
}

/// One op map (or `#jepsen.history.Op{...}` record) as the event at position `index`.
pub(crate) fn op_event(edn: &Edn<'_>, index: usize) -> Result<Event, String> {
    let map = match edn {
        Edn::Map(map) => map,
        Edn::Tagged(_, inner) => match &**inner {
            Edn::Map(map) => map,
            other => {
                return Err(format!(
                    "expected an op map, found a tagged {}",
                    kind(other)
                ))
            }
        },
        other => {
            return Err(format!(
                "expected an op map like {{:process 0, :type :invoke, :f :read, :value nil}}, \
                 found {}",
                kind(other)
            ))
        }
    };
    let field = |name: &'static str| map.get(&Edn::key(name));
    let process = match field("process") {
        Some(Edn::Int(p)) if *p >= 0 => Process::Client(*p as u64),
        Some(Edn::Key(k)) if k == "nemesis" => Process::Nemesis,
        Some(other) => {
            return Err(format!(
                ":process must be a non-negative integer or :nemesis, found {}",
                kind(other)
            ))
        }
        None => return Err("missing :process".into()),
    };
    let kind_field = match field("type") {
        Some(Edn::Key(t)) => match t.as_ref() {
            "invoke" => EventType::Invoke,
            "ok" => EventType::Ok,
            "fail" => EventType::Fail,
            "info" => EventType::Info,
            other => {
                return Err(format!(
                    ":type must be :invoke, :ok, :fail or :info, found :{other}"
                ))
            }
        },
        Some(other) => return Err(format!(":type must be a keyword, found {}", kind(other))),
        None => return Err("missing :type".into()),
    };
    let f = match field("f") {
        Some(Edn::Key(s) | Edn::Symbol(s) | Edn::Str(s)) => s.to_string(),
        Some(other) => return Err(format!(":f must be a keyword, found {}", kind(other))),
        None => return Err("missing :f".into()),
    };
    let time = match field("time") {
        Some(Edn::Int(t)) if *t >= 0 => *t as u64,
        None | Some(Edn::Nil) => index as u64,
        Some(other) => {
            return Err(format!(
                ":time must be a non-negative integer, found {}",
                kind(other)
            ))
        }
    };
    let value = field("value")
        .map(to_json)
        .transpose()?
        .unwrap_or(Value::Null);
    let key = field("key").map(to_json).transpose()?;
    let error = match field("error") {
        None | Some(Edn::Nil) => None,
        Some(Edn::Key(s) | Edn::Str(s) | Edn::Symbol(s)) => Some(s.to_string()),
        Some(other) => Some(to_json(other)?.to_string()),
    };
    Ok(Event {
        index: index as u64,
        time,
        process,
        kind: kind_field,
        f,
        key,
        value,
        error,
        node: None,
    })
}

/// An EDN value as JSON, by the rules in the module docs.
pub(crate) fn to_json(edn: &Edn<'_>) -> Result<Value, String> {
    to_json_at(edn, 0)
}

fn to_json_at(edn: &Edn<'_>, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "a value is nested more than {MAX_DEPTH} levels deep"
        ));
    }
    let all = |items: &mut dyn Iterator<Item = &Edn<'_>>| {
        items
            .map(|e| to_json_at(e, depth + 1))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array)
    };
    Ok(match edn {
        Edn::Nil => Value::Null,
        Edn::Bool(b) => Value::Bool(*b),
        Edn::Int(i) => Value::from(*i),
        Edn::Double(d) => Number::from_f64(d.into_inner())
            .map(Value::Number)
            .ok_or_else(|| format!("{} has no JSON form", d.into_inner()))?,
        // Exact, unlike a float: equal ratios stay equal values.
        Edn::Rational((n, d)) => Value::String(format!("{n}/{d}")),
        Edn::Key(s) | Edn::Symbol(s) | Edn::Str(s) => Value::String(s.to_string()),
        Edn::Char(c) => Value::String(c.to_string()),
        Edn::Vector(items) | Edn::List(items) => all(&mut items.iter())?,
        Edn::Set(items) => all(&mut items.iter())?,
        Edn::Map(map) => Value::Object(object(map, depth)?),
        Edn::Tagged(_, inner) => to_json_at(inner, depth + 1)?,
        other => return Err(format!("{} has no JSON form", kind(other))),
    })
}

fn object(map: &BTreeMap<Edn<'_>, Edn<'_>>, depth: usize) -> Result<Map<String, Value>, String> {
    map.iter()
        .map(|(k, v)| {
            let key = match k {
                Edn::Key(s) | Edn::Symbol(s) | Edn::Str(s) => s.to_string(),
                other => match to_json_at(other, depth + 1)? {
                    Value::String(s) => s,
                    json => json.to_string(),
                },
            };
            Ok((key, to_json_at(v, depth + 1)?))
        })
        .collect()
}

/// A short, bounded description of a value for messages (never the whole of a large one).
fn kind(edn: &Edn<'_>) -> String {
    match edn {
        Edn::Vector(_) => "a vector".into(),
        Edn::List(_) => "a list".into(),
        Edn::Set(_) => "a set".into(),
        Edn::Map(_) => "a map".into(),
        Edn::Tagged(tag, _) => format!("a #{tag} value"),
        Edn::Str(s) if s.len() > 40 => "a long string".into(),
        Edn::Nil => "nil".into(),
        other => other.to_string(),
    }
}

/// The byte offset (within the text given to the reader) where a reader error happened; the end
/// of the text when the reader gives none (it does not for some end-of-input errors).
fn error_offset(e: &ReaderError, len: usize) -> usize {
    e.ptr.map_or(len, |p| p.min(len))
}

/// A reader error in words.
fn describe_error(e: &ReaderError) -> String {
    match &e.code {
        Code::UnexpectedEOF => "unexpected end of input (an unclosed bracket or string?)".into(),
        Code::UnmatchedDelimiter(c) => format!("unmatched {c}"),
        Code::InvalidNumber => "invalid number".into(),
        Code::InvalidChar => "invalid character literal".into(),
        Code::InvalidEscape => "invalid escape in a string".into(),
        Code::InvalidKeyword => "invalid keyword".into(),
        Code::InvalidTag => "invalid tag".into(),
        Code::InvalidRadix(_) => "invalid radix number".into(),
        Code::HashMapDuplicateKey => "a map has the same key twice".into(),
        Code::SetDuplicateKey => "a set has the same element twice".into(),
        other => format!("cannot read EDN: {other:?}"),
    }
}

/// The offset of the first character after `pos` that is not whitespace, a comma or in a `;`
/// comment.
fn skip_blank(text: &str, mut pos: usize) -> usize {
    let bytes = text.as_bytes();
    while pos < bytes.len() {
        match bytes[pos] {
            b',' => pos += 1,
            b';' => {
                pos = text[pos..].find('\n').map_or(text.len(), |n| pos + n + 1);
            }
            _ => {
                let c = text[pos..].chars().next().expect("pos is below len");
                if !c.is_whitespace() {
                    break;
                }
                pos += c.len_utf8();
            }
        }
    }
    pos
}

/// The 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(text: &str) -> Result<Vec<Event>, ParseError> {
        read_edn(text, None, Independent::Detect)
    }

    fn error(text: &str) -> (usize, usize, String) {
        match read(text).unwrap_err() {
            ParseError::Malformed {
                line,
                column,
                message,
                ..
            } => (line, column, message),
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    #[test]
    fn reads_a_knossos_vector() {
        let text = "; a comment\n[{:process 70, :type :invoke, :f :read, :value nil}\n \
                    {:process 70, :type :ok, :f :read, :value 3}\n \
                    {:process :nemesis, :type :info, :f :start, :value \"cut\"}\n \
                    {:process 1, :type :fail, :f :cas, :value [1 2], :error [:timeout nil]}]\n";
        let events = read(text).unwrap();
        assert_eq!(
            events[0],
            Event {
                index: 0,
                time: 0,
                process: Process::Client(70),
                kind: EventType::Invoke,
                f: "read".into(),
                key: None,
                value: Value::Null,
                error: None,
                node: None,
            }
        );
        assert_eq!((events[1].index, events[1].time), (1, 1));
        assert_eq!(events[1].value, json!(3));
        assert_eq!(events[2].process, Process::Nemesis);
        assert_eq!(events[2].value, json!("cut"));
        assert_eq!(events[3].kind, EventType::Fail);
        assert_eq!(events[3].value, json!([1, 2]));
        assert_eq!(events[3].error.as_deref(), Some(r#"["timeout",null]"#));
    }

    #[test]
    fn reads_one_record_per_line_and_lists() {
        let text = "{:index 0, :time 5, :type :invoke, :process 0, :f :write, :key :x, :value 1}\n\
                    #jepsen.history.Op{:index 1, :time 9, :type :ok, :process 0, :f :write, \
                    :key :x, :value 1, :error :none}\n";
        let events = read(text).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!((events[1].index, events[1].time), (1, 9));
        assert_eq!(events[1].key, Some(json!("x")));
        assert_eq!(events[1].error.as_deref(), Some("none"));

        let list = "({:process 0, :type :invoke, :f :read})";
        assert_eq!(read(list).unwrap()[0].value, Value::Null);
        assert!(read("").unwrap().is_empty());
        assert!(read("[]").unwrap().is_empty());
        assert!(read(" ; only a comment\n").unwrap().is_empty());
    }

    #[test]
    fn values_become_json() {
        assert_eq!(parse_value("nil").unwrap(), Value::Null);
        assert_eq!(parse_value(" 0 ").unwrap(), json!(0));
        assert_eq!(parse_value("{:x 0 :y 0}").unwrap(), json!({"x": 0, "y": 0}));
        assert_eq!(
            parse_value(r#"[:read ns/x "s" \c true 1.5 1/2 #{2 1} (1) {1 :a} #inst "2020"]"#)
                .unwrap(),
            json!(["read", "ns/x", "s", "c", true, 1.5, "1/2", [1, 2], [1], {"1": "a"}, "2020"])
        );
        assert_eq!(
            parse_value("1 2").unwrap_err().to_string(),
            "line 1, column 3: more text after the value"
        );
        assert_eq!(
            parse_value("  ").unwrap_err().to_string(),
            "line 1, column 3: no value"
        );
        assert_eq!(
            parse_value("{:x").unwrap_err().message,
            "unexpected end of input (an unclosed bracket or string?)"
        );
    }

    #[test]
    fn independent_tuples_split_when_detected() {
        let text = "[{:process 0, :type :invoke, :f :read, :value [:k1 nil]}\n \
                    {:process 0, :type :ok, :f :read, :value [:k1 [1 2]]}]";
        let events = read(text).unwrap();
        assert_eq!(events[1].key, Some(json!("k1")));
        assert_eq!(events[1].value, json!([1, 2]));

        let plain = "[{:process 0, :type :invoke, :f :cas, :value [1 2]}]";
        assert_eq!(read(plain).unwrap()[0].key, None);
        let err = read_edn(
            "[{:process 0, :type :invoke, :f :write, :value [:k 1]}\n \
             {:process 1, :type :invoke, :f :write, :value 2}]",
            None,
            Independent::Always,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 2, column 2: operation 1: its value 2 is not a [key value] tuple"
        );
    }

    #[test]
    fn bad_ops_name_their_line() {
        let text = "[{:process 0, :type :invoke, :f :read}\n\n  {:process 0, :f :read}]";
        assert_eq!(error(text), (3, 3, "operation 1: missing :type".into()));
        assert_eq!(
            error("[{:process -1, :type :ok, :f :read}]").2,
            "operation 0: :process must be a non-negative integer or :nemesis, found -1"
        );
        assert_eq!(
            error("[{:process 1, :type :done, :f :read}]").2,
            "operation 0: :type must be :invoke, :ok, :fail or :info, found :done"
        );
        assert_eq!(
            error("[{:process 1, :type :ok}]").2,
            "operation 0: missing :f"
        );
        assert_eq!(
            error("[{:process 1, :type :ok, :f :read, :time -3}]").2,
            "operation 0: :time must be a non-negative integer, found -3"
        );
        assert_eq!(
            error("[{:process 1, :type :ok, :f :read}\n 3]").2,
            "operation 1: expected an op map like {:process 0, :type :invoke, :f :read, \
             :value nil}, found 3"
        );
        assert_eq!(
            error("#foo [1]").2,
            "operation 0: expected an op map, found a tagged a vector"
        );
    }

    #[test]
    fn garbage_truncation_and_depth_are_errors_not_panics() {
        assert_eq!(
            error("[{:process 0, :type :invoke, :f :read}\n {:process 0, :ty"),
            (
                2,
                18,
                "unexpected end of input (an unclosed bracket or string?)".into()
            )
        );
        assert_eq!(
            error("[{:process 0, :type :invoke, :f :read}"),
            (
                1,
                39,
                "unexpected end of input: the history's closing ] is missing".into()
            )
        );
        assert_eq!(error("[]\n[]").0, 2);
        assert_eq!(error("{:a 1 :a 2}").2, "a map has the same key twice");
        assert_eq!(error("}").2, "unmatched }");
        let deep = format!(
            "[{{:process 0, :type :ok, :f :read, :value {}1{}}}]",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert_eq!(
            error(&deep).2,
            format!("operation 0: a value is nested more than {MAX_DEPTH} levels deep")
        );
        let unclosed = "[".repeat(100_000);
        assert!(read(&unclosed).is_err());
        let garbage = [
            "\u{0}\u{1}\u{2}",
            "{:process 0 :type",
            "[{:process 0, :type :invoke, :f :read, :value \"abc",
            "#",
            "#{",
            "\\",
            ":",
            "[(]",
            "é ü ∞",
            "[{:process 99999999999999999999, :type :ok, :f :read}]",
            "[{:process 0, :type :ok, :f :read, :value 1e999}]",
            "[{:process 0, :type :ok, :f :read, :value ##NaN}]",
        ];
        for text in garbage {
            assert!(read(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn line_and_column_of_offsets() {
        let text = "ab\ncé\nx";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 3), (2, 1));
        assert_eq!(line_column(text, 6), (2, 3));
        assert_eq!(line_column(text, 5), (2, 2));
        assert_eq!(line_column(text, 100), (3, 2));
    }
}
