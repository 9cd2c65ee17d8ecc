//! Jepsen's `independent` histories: many keys in one history, each operation's value a
//! `[key value]` tuple, which become an event's `key` and `value`.
//!
//! ```text
//!   {:process 0, :type :invoke, :f :cas,  :value [:x [1 2]]}  ─►  key "x", value [1, 2]
//!   {:process 1, :type :ok,     :f :read, :value [:y 3]}      ─►  key "y", value 3
//! ```
//!
//! A tuple cannot always be told from a plain value: a plain cas's value `[1 2]` is a pair too.
//! So [`Independent::Detect`] splits tuples only when the history says so beyond doubt, by this
//! rule: every client event is a `read`, `write` or `cas` without a key whose value is a pair,
//! and either some `read` invocation exists (a plain read is invoked with `nil`, never a pair)
//! or some cas value nests (`[k [old new]]`). A write-only independent history therefore needs
//! [`Independent::Always`] (`--independent`). Nemesis events are never split.

use crate::history::event::{Event, EventType, Process};
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

/// Whether `[key value]` tuples are read as a key and a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Independent {
    /// Split tuples when the history is unmistakably independent (see the module docs).
    #[default]
    Detect,
    /// Every client event's value is a tuple; one that is not is an error.
    Always,
    /// Values are taken as they are.
    Never,
}

impl fmt::Display for Independent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Independent::Detect => "detect",
            Independent::Always => "always",
            Independent::Never => "never",
        })
    }
}

/// A name that is not `detect`, `always` or `never`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown independent mode {name:?} (known: detect, always, never)")]
pub struct UnknownIndependent {
    /// The name given.
    pub name: String,
}

impl FromStr for Independent {
    type Err = UnknownIndependent;

    fn from_str(s: &str) -> Result<Self, UnknownIndependent> {
        match s {
            "detect" => Ok(Independent::Detect),
            "always" => Ok(Independent::Always),
            "never" => Ok(Independent::Never),
            _ => Err(UnknownIndependent { name: s.into() }),
        }
    }
}

/// The two halves of a `[key value]` pair.
fn pair(value: &Value) -> Option<(&Value, &Value)> {
    match value.as_array().map(Vec::as_slice) {
        Some([key, value]) => Some((key, value)),
        _ => None,
    }
}

/// Whether `events` are an independent history by the rule in the module docs.
pub fn is_independent(events: &[Event]) -> bool {
    let mut clients = 0;
    let mut evidence = false;
    for e in events.iter().filter(|e| e.process != Process::Nemesis) {
        clients += 1;
        let Some((_, inner)) = pair(&e.value) else {
            return false;
        };
        if e.key.is_some() || !matches!(e.f.as_str(), "read" | "write" | "cas") {
            return false;
        }
        evidence |= (e.f == "read" && e.kind == EventType::Invoke)
            || (e.f == "cas" && pair(inner).is_some());
    }
    clients > 0 && evidence
}

/// Splits every client event's tuple into its key and value, as `mode` says.
///
/// On error, gives the position in `events` of the first event that is not a tuple, and why.
pub(crate) fn apply(events: &mut [Event], mode: Independent) -> Result<(), (usize, String)> {
    let split = match mode {
        Independent::Never => false,
        Independent::Always => true,
        Independent::Detect => is_independent(events),
    };
    if !split {
        return Ok(());
    }
    for (i, e) in events.iter_mut().enumerate() {
        if e.process == Process::Nemesis {
            continue;
        }
        if e.key.is_some() {
            return Err((i, "it has a :key, and its value cannot name another".into()));
        }
        let Some((key, value)) = pair(&e.value) else {
            return Err((
                i,
                format!("its value {} is not a [key value] tuple", e.value),
            ));
        };
        let (key, value) = (key.clone(), value.clone());
        e.key = Some(key);
        e.value = value;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::history_builder::*;
    use serde_json::json;

    #[test]
    fn detects_reads_and_nested_cas_but_not_plain_cas() {
        let reads = history([
            invoke(0, 1, "read", json!(["x", null])),
            ok(1, 1, "read", json!(["x", 3])),
            nemesis(2, EventType::Info, "start"),
        ]);
        assert!(is_independent(&reads));
        let nested_cas = history([invoke(0, 1, "cas", json!([1, [1, 2]]))]);
        assert!(is_independent(&nested_cas));

        // Plain register histories: a cas [1 2], a read invoked with nil.
        let plain_cas = history([invoke(0, 1, "cas", json!([1, 2]))]);
        assert!(!is_independent(&plain_cas));
        let plain = history([
            invoke(0, 1, "read", json!(null)),
            invoke(1, 2, "cas", json!([1, [2, 3]])),
        ]);
        assert!(!is_independent(&plain));
        // Writes of pairs alone are ambiguous: not split without being told.
        let writes = history([invoke(0, 1, "write", json!(["x", 1]))]);
        assert!(!is_independent(&writes));
        // Multi-register transactions of two micro-operations are pairs too.
        let txn = history([invoke(
            0,
            1,
            "txn",
            json!([["read", "x", null], ["read", "y", null]]),
        )]);
        assert!(!is_independent(&txn));
        assert!(!is_independent(&[]));
    }

    #[test]
    fn splits_tuples_into_key_and_value() {
        let mut events = history([
            invoke(0, 1, "cas", json!(["x", [1, 2]])),
            nemesis(1, EventType::Info, "start"),
            ok(2, 1, "cas", json!(["x", [1, 2]])),
        ]);
        apply(&mut events, Independent::Detect).unwrap();
        assert_eq!(events[0].key, Some(json!("x")));
        assert_eq!(events[0].value, json!([1, 2]));
        assert_eq!(events[1].key, None);
        assert_eq!(events[2].value, json!([1, 2]));

        let mut writes = history([invoke(0, 1, "write", json!(["x", 1]))]);
        apply(&mut writes, Independent::Detect).unwrap();
        assert_eq!(writes[0].key, None);
        apply(&mut writes, Independent::Always).unwrap();
        assert_eq!(
            (writes[0].key.clone(), writes[0].value.clone()),
            (Some(json!("x")), json!(1))
        );
    }

    #[test]
    fn always_names_the_first_event_that_is_not_a_tuple() {
        let mut events = history([
            invoke(0, 1, "write", json!(["x", 1])),
            invoke(1, 2, "read", json!(null)),
        ]);
        let before = events.clone();
        assert_eq!(
            apply(&mut events.clone(), Independent::Always),
            Err((1, "its value null is not a [key value] tuple".into()))
        );
        apply(&mut events, Independent::Never).unwrap();
        assert_eq!(events, before);
        assert_eq!("always".parse(), Ok(Independent::Always));
        assert_eq!(
            "maybe".parse::<Independent>().unwrap_err().to_string(),
            r#"unknown independent mode "maybe" (known: detect, always, never)"#
        );
    }
}
