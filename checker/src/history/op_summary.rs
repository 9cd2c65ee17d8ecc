//! How operations, keys and times are shown to people: in reports, anomaly messages and the
//! JSON verdict.

use crate::history::event::{EventType, Process};
use crate::history::operation::{Operation, Outcome};
use crate::history::span::Span;
use crate::history::times::Times;
use serde::Serialize;
use serde_json::Value;
use std::fmt;

/// An operation as a report shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpSummary {
    /// The client process that ran it.
    pub process: Process,
    /// Its function.
    pub f: String,
    /// What it was about: a read's result, a write's value, a cas's `[expected, new]`.
    pub value: Value,
    /// How it ended; `info` also when it never completed.
    #[serde(rename = "type")]
    pub outcome: EventType,
    /// When it was invoked and completed.
    #[serde(flatten)]
    pub span: Span,
    /// The node that answered it, when the history names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// How its history's times read (seconds, or event numbers for a history without times).
    #[serde(skip)]
    pub times: Times,
}

impl From<&Operation> for OpSummary {
    fn from(op: &Operation) -> Self {
        let (outcome, value) = match op.outcome {
            Outcome::Ok if op.f == "read" => (EventType::Ok, op.output.clone()),
            Outcome::Ok => (EventType::Ok, op.value.clone()),
            Outcome::Fail { .. } => (EventType::Fail, op.value.clone()),
            Outcome::Info => (EventType::Info, op.value.clone()),
        };
        OpSummary {
            process: op.process,
            f: op.f.clone(),
            value,
            outcome,
            span: op.span,
            node: op.node.clone(),
            times: op.times,
        }
    }
}

impl OpSummary {
    /// What the operation did, e.g. `write 3`, `read 3`, `cas 1 -> 2`.
    pub fn action(&self) -> String {
        action(&self.f, &self.value)
    }

    /// A time of its history as people read it: `1.204 s`, or `event 12` without times.
    pub fn at(&self, time: u64) -> String {
        self.times.at(time)
    }

    /// ` on n2` when the history names the node that answered it, else nothing.
    pub fn on_node(&self) -> String {
        self.node
            .as_ref()
            .map_or_else(String::new, |n| format!(" on {n}"))
    }

    /// When it ended, or was invoked if it never did, as [`OpSummary::at`] shows it.
    pub fn last_seen(&self) -> String {
        self.at(self.span.complete_time.unwrap_or(self.span.invoke_time))
    }
}

impl fmt::Display for OpSummary {
    /// `read 3 by process 2 (invoked 1.190 s, ok at 1.204 s)` (`by process 2 on n2` when the
    /// history names the node that answered); without times `(invoked event 4, ok at event 7)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} by process {}{} (invoked {}, ",
            self.action(),
            self.process,
            self.on_node(),
            self.at(self.span.invoke_time)
        )?;
        let ended = match self.outcome {
            EventType::Ok => "ok",
            EventType::Fail => "fail",
            EventType::Info | EventType::Invoke => "info",
        };
        match self.span.complete_time {
            Some(t) => write!(f, "{ended} at {})", self.at(t)),
            None => f.write_str("no reply)"),
        }
    }
}

/// `write 3`, `read 3`, `cas 1 -> 2`; any other function as `f value`.
pub(crate) fn action(f: &str, value: &Value) -> String {
    match (f, value.as_array().map(Vec::as_slice)) {
        ("cas", Some([expected, new])) => format!("cas {expected} -> {new}"),
        _ => format!("{f} {value}"),
    }
}

/// A key as prose: a string key bare (`x`), no key as `the register`, anything else as JSON.
pub fn describe_key(key: &Value) -> String {
    match key {
        Value::Null => "the register".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::operation::pair;
    use crate::testing::history_builder::*;
    use serde_json::json;

    #[test]
    fn summaries_read_naturally() {
        let ops = pair(&history([
            invoke(1190, 2, "read", json!(null)),
            invoke(1195, 3, "cas", json!([1, 2])),
            invoke(1196, 4, "write", json!("a")),
            ok(1204, 2, "read", json!(3)),
            info(2000, 4, "write", json!("a")),
        ]))
        .unwrap();
        let s: Vec<String> = ops
            .iter()
            .map(|op| OpSummary::from(op).to_string())
            .collect();
        assert_eq!(
            s,
            [
                "read 3 by process 2 (invoked 1.190 s, ok at 1.204 s)",
                "cas 1 -> 2 by process 3 (invoked 1.195 s, no reply)",
                r#"write "a" by process 4 (invoked 1.196 s, info at 2.000 s)"#,
            ]
        );
        let json = serde_json::to_value(OpSummary::from(&ops[0])).unwrap();
        assert_eq!(
            json,
            json!({"process": 2, "f": "read", "value": 3, "type": "ok", "invoke_index": 0,
                   "complete_index": 3, "invoke_time": 1_190_000_000u64,
                   "complete_time": 1_204_000_000u64})
        );
    }

    #[test]
    fn a_history_without_times_shows_event_numbers() {
        let mut events = history([
            invoke(0, 2, "read", json!(null)),
            ok(10, 2, "read", json!(3)),
            invoke(20, 3, "write", json!(4)),
        ]);
        for e in &mut events {
            e.time = e.index;
        }
        let s: Vec<String> = pair(&events)
            .unwrap()
            .iter()
            .map(|op| OpSummary::from(op).to_string())
            .collect();
        assert_eq!(
            s,
            [
                "read 3 by process 2 (invoked event 0, ok at event 1)",
                "write 4 by process 3 (invoked event 2, no reply)",
            ]
        );
    }

    #[test]
    fn keys() {
        assert_eq!(describe_key(&json!("x")), "x");
        assert_eq!(describe_key(&json!(7)), "7");
        assert_eq!(describe_key(&json!(null)), "the register");
    }
}
