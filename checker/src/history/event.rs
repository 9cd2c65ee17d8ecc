//! One line of a history: an invocation or a completion, as faultline's JSONL format writes it.
//!
//! The semantics are Jepsen's. Each `invoke` gets exactly one completion from the same process:
//! `ok` took effect, `fail` certainly did not, `info` is indeterminate (it may take effect at any
//! time after its invocation, or never). See `docs/history-format.md`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// Who issued an event: a client process (a number, never reused after `info`) or the nemesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Process {
    /// A client process id.
    Client(u64),
    /// The fault injector; its events mark the start and end of faults.
    Nemesis,
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Process::Client(p) => write!(f, "{p}"),
            Process::Nemesis => f.write_str("nemesis"),
        }
    }
}

impl Serialize for Process {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Process::Client(p) => s.serialize_u64(*p),
            Process::Nemesis => s.serialize_str("nemesis"),
        }
    }
}

impl<'de> Deserialize<'de> for Process {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Number(n) => n.as_u64().map(Process::Client).ok_or_else(|| {
                serde::de::Error::custom("process must be a non-negative integer or \"nemesis\"")
            }),
            Value::String(s) if s == "nemesis" => Ok(Process::Nemesis),
            other => Err(serde::de::Error::custom(format!(
                "process must be a non-negative integer or \"nemesis\", got {other}"
            ))),
        }
    }
}

/// What an event says about its operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    /// The operation began.
    Invoke,
    /// The operation took effect.
    Ok,
    /// The operation certainly did not take effect.
    Fail,
    /// The operation may or may not have taken effect (timeout, crash).
    Info,
}

/// The `error` of a failed cas whose compare was evaluated and did not match.
pub const CAS_MISMATCH: &str = "cas-mismatch";

/// One history event, exactly as one JSONL line holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position of the event in the history, from 0.
    pub index: u64,
    /// Monotonic nanoseconds since the run began.
    pub time: u64,
    /// The client process (or the nemesis) that issued it.
    pub process: Process,
    /// Invocation or one of the three completions.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// The operation's function: `read`, `write`, `cas`, or a nemesis fault name.
    pub f: String,
    /// The key the operation addressed, if the workload has keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Value>,
    /// The operation's argument (invoke) or result (ok); null when absent.
    #[serde(default)]
    pub value: Value,
    /// Why a `fail` (or `info`) happened; `"cas-mismatch"` for an evaluated, unmatched compare.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// On a completion: the node that answered it, where the client knows (Jepsen's `:node`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}
