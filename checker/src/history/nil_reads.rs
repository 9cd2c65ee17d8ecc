//! Knossos's reading of a read that returned nil: it observed nothing.
//!
//! In Jepsen a read of a key that does not exist returns nil, and Knossos's models accept a nil
//! read from any state; its verdicts on Jepsen's histories (the public corpus included) depend
//! on that. faultline's models take null as a value like any other, so this rewrites such reads
//! into what they mean there:
//!
//! ```text
//!   ok read nil                          ─►  info read (result unknown: constrains nothing)
//!   ok txn [[:read :x nil] [:write :y 2]] ─►  ok txn [[:write :y 2]]
//! ```
//!
//! Only whole reads of nil and nil micro-reads of a transaction are rewritten: a read that
//! returned a map holding a nil saw that map.

use crate::history::event::{Event, EventType, Process};
use serde_json::Value;

/// Rewrites every `ok` nil read as the module docs say, and returns how many events changed.
pub fn nil_reads_unknown(events: &mut [Event]) -> usize {
    let mut changed = 0;
    for e in events.iter_mut() {
        if e.process == Process::Nemesis || e.kind != EventType::Ok {
            continue;
        }
        match (e.f.as_str(), &mut e.value) {
            ("read", Value::Null) => e.kind = EventType::Info,
            ("txn", Value::Array(micro)) => {
                let before = micro.len();
                micro.retain(|m| !is_nil_read(m));
                if micro.len() == before {
                    continue;
                }
            }
            _ => continue,
        }
        changed += 1;
    }
    changed
}

/// `[:read register nil]`.
fn is_nil_read(micro: &Value) -> bool {
    matches!(micro.as_array().map(Vec::as_slice), Some([f, _, Value::Null]) if f == "read")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::history_builder::*;
    use serde_json::json;

    #[test]
    fn nil_reads_become_unknown() {
        let mut events = history([
            invoke(0, 1, "read", json!(null)),
            ok(1, 1, "read", json!(null)),
            ok(2, 2, "read", json!(0)),
            ok(3, 3, "read", json!({"x": null})),
            info(4, 4, "read", json!(null)),
            ok(
                5,
                5,
                "txn",
                json!([["read", "x", null], ["write", "y", 2], ["read", "y", 2]]),
            ),
            ok(6, 6, "txn", json!([["read", "x", 1]])),
            nemesis(7, EventType::Ok, "read"),
        ]);
        let before = events.clone();
        assert_eq!(nil_reads_unknown(&mut events), 2);
        assert_eq!(events[1].kind, EventType::Info);
        assert_eq!(
            events[5].value,
            json!([["write", "y", 2], ["read", "y", 2]])
        );
        for i in [0, 2, 3, 4, 6, 7] {
            assert_eq!(events[i], before[i], "event {i}");
        }
    }

    #[test]
    fn a_nil_read_then_checks_against_any_initial_value() {
        use crate::check::check_events;
        use crate::options::CheckOptions;
        use crate::validity::Validity;
        let mut events = history([
            invoke(0, 1, "read", json!(null)),
            ok(1, 1, "read", json!(null)),
            invoke(2, 1, "write", json!(1)),
            ok(3, 1, "write", json!(1)),
        ]);
        let zero = CheckOptions {
            initial: json!(0),
            ..CheckOptions::default()
        };
        assert_eq!(
            check_events(&events, &zero).unwrap().validity,
            Validity::Invalid
        );
        nil_reads_unknown(&mut events);
        let report = check_events(&events, &zero).unwrap();
        assert_eq!(report.validity, Validity::Valid);
        assert_eq!((report.counts.ok, report.counts.info), (1, 1));
    }
}
