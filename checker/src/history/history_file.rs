//! Reading a history file in any format faultline knows: its own JSONL, Jepsen's EDN, or the
//! operation lines of a Jepsen log.
//!
//! [`Format::Auto`] picks by extension (`.jsonl`/`.json` JSONL, `.edn` EDN, `.log`/`.txt` Jepsen
//! log), and otherwise by the first character that is not blank: `{"` JSONL; `[`, `(`, `#`, `;`
//! or `{` followed by anything else (`{:process`) EDN; anything else a Jepsen log.

use crate::history::edn::read_edn;
use crate::history::event::Event;
use crate::history::independent::{self, Independent};
use crate::history::jepsen_log::read_jepsen_log;
use crate::history::jsonl::{read_jsonl, ParseError};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A history file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// Decide from the file's extension, else its first character.
    #[default]
    Auto,
    /// faultline's JSONL: one event object per line.
    Jsonl,
    /// Jepsen's EDN: a vector of op maps, or one op map (or `#jepsen.history.Op` record) per line.
    Edn,
    /// The operation lines of a Jepsen log.
    JepsenLog,
}

impl Format {
    /// Every format, in the order help text lists them.
    pub const ALL: [Format; 4] = [Format::Auto, Format::Jsonl, Format::Edn, Format::JepsenLog];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Jsonl => "jsonl",
            Format::Edn => "edn",
            Format::JepsenLog => "jepsen-log",
        }
    }

    /// The format a file's extension names, if it names one.
    pub fn from_extension(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "jsonl" | "json" => Some(Format::Jsonl),
            "edn" => Some(Format::Edn),
            "log" | "txt" => Some(Format::JepsenLog),
            _ => None,
        }
    }

    /// The format the text looks like, by its first character that is not blank.
    pub fn from_content(text: &str) -> Format {
        let mut rest = text.trim_start();
        match rest.chars().next() {
            Some('[' | '(' | '#' | ';') => Format::Edn,
            Some('{') => {
                rest = rest[1..].trim_start();
                if rest.starts_with('"') || rest.starts_with('}') {
                    Format::Jsonl
                } else {
                    Format::Edn
                }
            }
            // An empty file has no events in any format.
            None => Format::Jsonl,
            Some(_) => Format::JepsenLog,
        }
    }

    /// This format, or for [`Format::Auto`] the one `path` and `text` call for.
    pub fn resolve(self, path: &Path, text: &str) -> Format {
        self.resolve_saying_how(path, text).0
    }

    /// [`Format::resolve`], and how the format was chosen (for messages): `by its extension`,
    /// `by its content` or `as asked`.
    fn resolve_saying_how(self, path: &Path, text: &str) -> (Format, &'static str) {
        match self {
            Format::Auto => match Format::from_extension(path) {
                Some(format) => (format, "by its extension"),
                None => (Format::from_content(text), "by its content"),
            },
            known => (known, "as asked"),
        }
    }

    /// What an operation looks like in this format, for a file in which none was found.
    pub fn expected(self) -> &'static str {
        match self {
            Format::Jsonl | Format::Auto => {
                "one event per line, such as \
                 {\"index\":0,\"time\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}"
            }
            Format::Edn => {
                "op maps in a vector or one per line, such as \
                 {:process 0, :type :invoke, :f :read, :value nil}"
            }
            Format::JepsenLog => {
                "jepsen.util operation lines, such as \
                 `INFO  jepsen.util - 3<TAB>:invoke<TAB>:read<TAB>nil` or \
                 `2022-07-28 07:53:02,859{GMT}<TAB>INFO<TAB>[jepsen worker 2] jepsen.util: \
                 [ 1350999542 ] 2<TAB>:invoke<TAB>:read<TAB>nil`"
            }
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A format name that is not one of [`Format::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format {name:?} (known formats: auto, jsonl, edn, jepsen-log)")]
pub struct UnknownFormat {
    /// The name given.
    pub name: String,
}

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, UnknownFormat> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownFormat { name: s.into() })
    }
}

/// How to read a history file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadOptions {
    /// The file's format (default: auto).
    pub format: Format,
    /// How `[key value]` tuples are read (default: detect).
    pub independent: Independent,
}

/// A history as read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryFile {
    /// The format it was read as (never [`Format::Auto`]).
    pub format: Format,
    /// Its events, in file order.
    pub events: Vec<Event>,
}

/// Reads every event of a history file in `format` (tuples detected as
/// [`Independent::Detect`] says); errors name the file and line.
pub fn read_history_file(path: &Path, format: Format) -> Result<Vec<Event>, ParseError> {
    let options = ReadOptions {
        format,
        ..ReadOptions::default()
    };
    Ok(read_history_file_with(path, &options)?.events)
}

/// Reads every event of a history file as `options` say, and the format it was read as.
pub fn read_history_file_with(
    path: &Path,
    options: &ReadOptions,
) -> Result<HistoryFile, ParseError> {
    let unreadable = |source| ParseError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    if std::fs::metadata(path).map_err(unreadable)?.is_dir() {
        return Err(unreadable(io::ErrorKind::IsADirectory.into()));
    }
    let bytes = std::fs::read(path).map_err(unreadable)?;
    let text = match std::str::from_utf8(&bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).expect("valid prefix");
            let (line, column) = crate::history::edn::line_column(valid, valid.len());
            return Err(ParseError::Malformed {
                path: Some(path.to_path_buf()),
                line,
                column,
                message: "not UTF-8 text".into(),
            });
        }
    };
    let (format, chosen) = options.format.resolve_saying_how(path, text);
    let file = path;
    let path = Some(path);
    let events = match format {
        Format::Edn => read_edn(text, path, options.independent)?,
        Format::JepsenLog => read_jepsen_log(text, path, options.independent)?,
        Format::Jsonl | Format::Auto => {
            let mut events = match read_jsonl(text.as_bytes()) {
                Ok(events) => events,
                Err(ParseError::Malformed {
                    line,
                    column,
                    message,
                    ..
                }) => {
                    return Err(ParseError::Malformed {
                        path: path.map(Path::to_path_buf),
                        line,
                        column,
                        message,
                    })
                }
                Err(other) => return Err(other),
            };
            independent::apply(&mut events, options.independent).map_err(|(i, why)| {
                ParseError::Malformed {
                    path: path.map(Path::to_path_buf),
                    line: jsonl_line(text, i),
                    column: 1,
                    message: format!("event {i}: {why}"),
                }
            })?;
            events
        }
    };
    // A file with no operation is not a history: saying "valid" of it would pass any file at
    // all, and an empty or mis-formatted history is exactly what a user must be told of. (A
    // history of nemesis operations only is one: Jepsen records such runs, and Knossos calls
    // them valid.)
    if events.is_empty() {
        return Err(ParseError::NoOperations {
            path: file.to_path_buf(),
            format: format.name(),
            chosen,
            expected: format.expected(),
        });
    }
    Ok(HistoryFile { format, events })
}

/// The 1-based line of the `n`th event of JSONL text (blank lines hold none).
fn jsonl_line(text: &str, n: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .nth(n)
        .map_or(0, |(i, _)| i + 1)
}

/// The history files directly inside `dir` (those whose extension names a format; hidden files
/// skipped), sorted by name: a directory of results, logs and histories yields the histories.
pub fn history_files_in(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if !hidden && path.is_file() && Format::from_extension(&path).is_some() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::event::Process;
    use serde_json::json;

    /// A fresh directory for one test.
    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "checker-history-file-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    const JSONL: &str = r#"{"index":0,"time":5,"process":1,"type":"invoke","f":"write","value":3}"#;
    const EDN: &str = "[{:process 1, :type :invoke, :f :write, :value 3}]";
    const LOG: &str = "INFO  jepsen.util - 1\t:invoke\t:write\t3\n";

    #[test]
    fn names_parse_and_print() {
        for f in Format::ALL {
            assert_eq!(f.name().parse(), Ok(f));
            assert_eq!(f.to_string(), f.name());
        }
        assert_eq!(
            "xml".parse::<Format>().unwrap_err().to_string(),
            r#"unknown format "xml" (known formats: auto, jsonl, edn, jepsen-log)"#
        );
    }

    #[test]
    fn auto_picks_by_extension_then_content() {
        let p = |s: &str| Format::from_extension(Path::new(s));
        assert_eq!(p("a/history.jsonl"), Some(Format::Jsonl));
        assert_eq!(p("x.JSON"), Some(Format::Jsonl));
        assert_eq!(p("history.edn"), Some(Format::Edn));
        assert_eq!(p("jepsen.log"), Some(Format::JepsenLog));
        assert_eq!(p("ops.txt"), Some(Format::JepsenLog));
        assert_eq!(p("history"), None);
        assert_eq!(p("results.csv"), None);

        assert_eq!(Format::from_content(JSONL), Format::Jsonl);
        assert_eq!(Format::from_content("\n  { \"index\": 0}"), Format::Jsonl);
        assert_eq!(Format::from_content(EDN), Format::Edn);
        assert_eq!(Format::from_content("{:process 0}"), Format::Edn);
        assert_eq!(Format::from_content("#jepsen.history.Op{}"), Format::Edn);
        assert_eq!(Format::from_content("; comment\n[]"), Format::Edn);
        assert_eq!(Format::from_content("(\n{:process 0})"), Format::Edn);
        assert_eq!(Format::from_content(LOG), Format::JepsenLog);
        assert_eq!(Format::from_content("2017-01-01 INFO"), Format::JepsenLog);
        assert_eq!(Format::from_content(" \n"), Format::Jsonl);

        let history = Path::new("history");
        assert_eq!(Format::Auto.resolve(history, EDN), Format::Edn);
        assert_eq!(
            Format::Edn.resolve(Path::new("h.jsonl"), JSONL),
            Format::Edn
        );
        assert_eq!(
            Format::Auto.resolve(Path::new("h.log"), EDN),
            Format::JepsenLog
        );
    }

    #[test]
    fn reads_every_format_to_the_same_events() {
        let dir = temp_dir("formats");
        let mut all = Vec::new();
        for (name, text) in [
            ("h.jsonl", JSONL),
            ("h.edn", EDN),
            ("h.log", LOG),
            ("noext", EDN),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            let events = read_history_file(&path, Format::Auto).unwrap();
            assert_eq!(events.len(), 1, "{name}");
            assert_eq!(events[0].process, Process::Client(1));
            assert_eq!(events[0].value, json!(3));
            all.push(
                read_history_file_with(&path, &ReadOptions::default())
                    .unwrap()
                    .format,
            );
        }
        assert_eq!(
            all,
            [Format::Jsonl, Format::Edn, Format::JepsenLog, Format::Edn]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_name_the_file() {
        let dir = temp_dir("errors");
        let edn = dir.join("bad.edn");
        std::fs::write(
            &edn,
            "[{:process 1, :type :invoke, :f :read}\n {:process 1}]",
        )
        .unwrap();
        let err = read_history_file(&edn, Format::Auto)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!(
                "{}: line 2, column 2: operation 1: missing :type",
                edn.display()
            )
        );

        let jsonl = dir.join("bad.jsonl");
        std::fs::write(&jsonl, format!("{JSONL}\n\n{JSONL}\n")).unwrap();
        let options = ReadOptions {
            format: Format::Auto,
            independent: Independent::Always,
        };
        let err = read_history_file_with(&jsonl, &options)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!(
                "{}: line 1, column 1: event 0: its value 3 is not a [key value] tuple",
                jsonl.display()
            )
        );
        std::fs::write(&jsonl, format!("{JSONL}\nnope\n")).unwrap();
        let err = read_history_file(&jsonl, Format::Auto)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("{}: line 2, column ", jsonl.display())),
            "{err}"
        );

        let binary = dir.join("binary.edn");
        std::fs::write(&binary, b"[\n{:f \xff}]").unwrap();
        let err = read_history_file(&binary, Format::Auto)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!("{}: line 2, column 5: not UTF-8 text", binary.display())
        );

        let missing = dir.join("missing.edn");
        let err = read_history_file(&missing, Format::Auto).unwrap_err();
        assert!(matches!(err, ParseError::Unreadable { .. }), "{err:?}");
        let err = read_history_file(&dir, Format::Auto).unwrap_err();
        assert!(matches!(err, ParseError::Unreadable { .. }), "{err:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Issue 12, point 2: each of these was checked as "valid: 0 keys checked".
    #[test]
    fn a_file_without_operations_is_not_a_history() {
        let dir = temp_dir("empty");
        for (name, text, format, chosen) in [
            ("empty.jsonl", "", "jsonl", "by its extension"),
            ("empty.edn", "", "edn", "by its extension"),
            ("vector.edn", "[]", "edn", "by its extension"),
            (
                "hello.txt",
                "hello world\n",
                "jepsen-log",
                "by its extension",
            ),
            ("hello", "hello world\n", "jepsen-log", "by its content"),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            let err = read_history_file(&path, Format::Auto).unwrap_err();
            assert!(matches!(err, ParseError::NoOperations { .. }), "{err:?}");
            let expected = Format::from_str(format).unwrap().expected();
            assert_eq!(
                err.to_string(),
                format!(
                    "{}: no operations found reading it as {format} ({chosen}); \
                     expected {expected}",
                    path.display()
                ),
                "{name}"
            );
        }
        // Nemesis operations only: a history (Jepsen records such runs), with no client keys.
        let faults = dir.join("faults.jsonl");
        std::fs::write(
            &faults,
            r#"{"index":0,"time":5,"process":"nemesis","type":"info","f":"start"}"#,
        )
        .unwrap();
        assert_eq!(read_history_file(&faults, Format::Auto).unwrap().len(), 1);
        let path = dir.join("told.log");
        std::fs::write(&path, "").unwrap();
        let err = read_history_file(&path, Format::Edn).unwrap_err();
        assert!(
            err.to_string().contains("reading it as edn (as asked)"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_directory_lists_its_histories_sorted() {
        let dir = temp_dir("listing");
        for name in [
            "b.edn",
            "a.jsonl",
            "c.log",
            "notes.md",
            ".hidden.edn",
            "d.txt",
        ] {
            std::fs::write(dir.join(name), "").unwrap();
        }
        std::fs::create_dir(dir.join("sub.edn")).unwrap();
        let names: Vec<String> = history_files_in(&dir)
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.jsonl", "b.edn", "c.log", "d.txt"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
