//! What a failed compare-and-set tells the checker (`--failed-cas`).
//!
//! A cas that failed because its compare was evaluated and did not match did not change the
//! register, but it did *observe* it: at some instant within its interval the value differed
//! from the expected one. Porcupine's etcd model uses that; Knossos drops every failed
//! operation. faultline's JSONL says which failures were evaluated (`"error":"cas-mismatch"`),
//! so for it the observation is kept by default:
//!
//! ```text
//!   write 1      |--|                       the register holds 1 throughout...
//!   cas 1 → 2          |--| fail cas-mismatch  ...so this compare cannot have failed:
//!                                              observed, invalid; dropped, valid
//! ```
//!
//! Jepsen's formats do not say why a cas failed, so for them the default stays Knossos's; a
//! tool whose failed cas always means a mismatch (Jepsen's etcd tests) can say so with
//! `--failed-cas observes`, which marks every failed cas of such a history as a mismatch
//! ([`mark_failed_cas_as_mismatch`]).

use crate::history::event::{Event, EventType, CAS_MISMATCH};
use std::fmt;
use std::str::FromStr;

/// Whether a failed cas that reports a mismatch is kept as an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FailedCas {
    /// A cas that failed with error `cas-mismatch` observed a value other than its expected
    /// one, somewhere in its interval; other failed operations are dropped.
    #[default]
    Observes,
    /// Every failed operation is dropped, as Knossos does.
    Dropped,
}

impl FailedCas {
    /// The name `--failed-cas` takes.
    pub fn name(self) -> &'static str {
        match self {
            FailedCas::Observes => "observes",
            FailedCas::Dropped => "dropped",
        }
    }
}

impl fmt::Display for FailedCas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `--failed-cas` choice that is not `observes` or `dropped`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown choice {0:?} (known: observes, dropped)")]
pub struct UnknownFailedCas(pub String);

impl FromStr for FailedCas {
    type Err = UnknownFailedCas;

    fn from_str(s: &str) -> Result<Self, UnknownFailedCas> {
        match s {
            "observes" => Ok(FailedCas::Observes),
            "dropped" => Ok(FailedCas::Dropped),
            other => Err(UnknownFailedCas(other.to_string())),
        }
    }
}

/// Marks every failed cas completion as a mismatch (error `cas-mismatch`): for histories from
/// tools whose failed cas always means the compare did not match.
pub fn mark_failed_cas_as_mismatch(events: &mut [Event]) {
    for e in events {
        if e.kind == EventType::Fail && e.f == "cas" {
            e.error = Some(CAS_MISMATCH.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::history_builder::*;
    use serde_json::json;

    #[test]
    fn names_round_trip() {
        for choice in [FailedCas::Observes, FailedCas::Dropped] {
            assert_eq!(choice.to_string().parse::<FailedCas>(), Ok(choice));
        }
        assert_eq!(
            "knossos".parse::<FailedCas>().unwrap_err().to_string(),
            "unknown choice \"knossos\" (known: observes, dropped)"
        );
    }

    #[test]
    fn only_failed_cas_completions_are_marked() {
        let mut events = history([
            invoke(0, 1, "cas", json!([1, 2])),
            fail(1, 1, "cas", json!([1, 2])),
            invoke(2, 2, "write", json!(3)),
            fail(3, 2, "write", json!(3)),
            invoke(4, 3, "cas", json!([1, 2])),
            info(5, 3, "cas", json!([1, 2])),
        ]);
        mark_failed_cas_as_mismatch(&mut events);
        let errors: Vec<Option<&str>> = events.iter().map(|e| e.error.as_deref()).collect();
        assert_eq!(
            errors,
            [None, Some(CAS_MISMATCH), None, None, None, None],
            "invocations, failed writes and indeterminate cas stay as they were"
        );
    }
}
