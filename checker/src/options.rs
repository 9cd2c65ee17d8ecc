//! How to check a history: the model to check it against and the limits of the search.
//!
//! A leaf: everything that checks a history reads these, and they read nothing of the checking.

use crate::history::failed_cas::FailedCas;
use crate::history::history_error::HistoryError;
use crate::history::operation::Operation;
use crate::key_progress::KeyProgress;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Which sequential specification to check a history against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// A read/write register: `cas` is an error.
    Register,
    /// A register with compare-and-set.
    #[default]
    CasRegister,
    /// Knossos's multi-register: named registers read and written together (`txn`).
    MultiRegister,
    /// A key-value map of strings with get, put and append, checked key by key.
    Kv,
    /// A set with add and whole-set reads.
    Set,
    /// An integer counter with add and read.
    Counter,
    /// A FIFO queue with enqueue and dequeue.
    Queue,
    /// Not linearizability: Jepsen's set-full (acknowledged adds survive into final reads).
    SetFull,
    /// Not linearizability: every counter read within the adds' bounds.
    CounterBounds,
    /// Not linearizability: replicas' final reads agree and keep acknowledged writes.
    Convergence,
}

impl ModelKind {
    /// Every model, in the order help text lists them.
    pub const ALL: [ModelKind; 10] = [
        ModelKind::Register,
        ModelKind::CasRegister,
        ModelKind::MultiRegister,
        ModelKind::Kv,
        ModelKind::Set,
        ModelKind::Counter,
        ModelKind::Queue,
        ModelKind::SetFull,
        ModelKind::CounterBounds,
        ModelKind::Convergence,
    ];

    /// The name used on the command line and in suite files.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Register => "register",
            ModelKind::CasRegister => "cas-register",
            ModelKind::MultiRegister => "multi-register",
            ModelKind::Kv => "kv",
            ModelKind::Set => "set",
            ModelKind::Counter => "counter",
            ModelKind::Queue => "queue",
            ModelKind::SetFull => "set-full",
            ModelKind::CounterBounds => "counter-bounds",
            ModelKind::Convergence => "convergence",
        }
    }

    /// The error for `op`, whose function this model does not accept.
    pub(crate) fn unsupported(self, op: &Operation) -> HistoryError {
        HistoryError::UnsupportedFunction {
            index: op.span.invoke_index,
            f: op.f.clone(),
            model: self.name().into(),
            supported: self.functions().join(", "),
        }
    }

    /// Whether `--model auto` may pick it: the linearizability models a history's operations
    /// can tell apart. The plain register reads what the cas-register reads, and the weak
    /// checkers judge guarantees a history cannot say it wants.
    pub fn inferable(self) -> bool {
        !matches!(
            self,
            ModelKind::Register
                | ModelKind::SetFull
                | ModelKind::CounterBounds
                | ModelKind::Convergence
        )
    }

    /// The operation functions (`f`) the model accepts.
    pub fn functions(self) -> &'static [&'static str] {
        match self {
            ModelKind::Register => &["read", "write"],
            ModelKind::CasRegister => &["read", "write", "cas"],
            ModelKind::MultiRegister => &["txn", "read", "write"],
            ModelKind::Kv => &["get", "put", "append"],
            ModelKind::Set | ModelKind::Counter => &["add", "read"],
            ModelKind::Queue => &["enqueue", "dequeue"],
            ModelKind::SetFull | ModelKind::CounterBounds => &["add", "read"],
            ModelKind::Convergence => &["write", "read", "final-read"],
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A model name that is not one of [`ModelKind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown model {name:?} (known models: {})",
    ModelKind::ALL.map(ModelKind::name).join(", ")
)]
pub struct UnknownModel {
    /// The name given.
    pub name: String,
}

impl FromStr for ModelKind {
    type Err = UnknownModel;

    fn from_str(s: &str) -> Result<Self, UnknownModel> {
        ModelKind::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| UnknownModel {
                name: s.to_string(),
            })
    }
}

/// How to check a history.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CheckOptions {
    /// The model to check against (default: cas-register).
    pub model: ModelKind,
    /// Every key's value before any write (default: null, as in Jepsen); for the
    /// multi-register, a map of register to value.
    pub initial: Value,
    /// Give up (answer unknown) after this long, across all keys; `None` searches to the end.
    pub timeout: Option<Duration>,
    /// Give up (answer unknown) rather than let the searches' caches grow past this many bytes,
    /// across all keys (approximately: the caches and stacks are counted, not the history).
    pub memory_limit: Option<u64>,
    /// Whether a cas that failed with error `cas-mismatch` is kept as an observation (default)
    /// or dropped as Knossos drops every failed operation.
    pub failed_cas: FailedCas,
    /// Told each time a key is decided (for a progress bar over the keys).
    pub progress: Option<KeyProgress>,
    /// Stop at the first invalid key (for CI): keys not decided by then are unknown, with the
    /// reason; the invalid ones found are still explained.
    pub fail_fast: bool,
    /// Skip the explanations (the exact longest order, witnesses, cycles): verdicts only.
    pub no_explain: bool,
    /// How long the explanations of every invalid key may take together, and each witness's
    /// shrinking within them (still within `timeout`); `None`: together twice what the verdicts
    /// took plus 200 ms, at most 10 s, and each witness twice its key's verdict plus 10 ms. A
    /// witness the time did not let shrink says so ("not shrunk: out of time").
    pub explain_time: Option<Duration>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn model_names_parse() {
        assert_eq!("register".parse::<ModelKind>(), Ok(ModelKind::Register));
        assert_eq!(
            "cas-register".parse::<ModelKind>(),
            Ok(ModelKind::CasRegister)
        );
        assert_eq!("set-full".parse::<ModelKind>(), Ok(ModelKind::SetFull));
        let err = "stack".parse::<ModelKind>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown model \"stack\" (known models: register, cas-register, multi-register, kv, \
             set, counter, queue, set-full, counter-bounds, convergence)"
        );
        for m in ModelKind::ALL {
            assert_eq!(m.to_string().parse::<ModelKind>(), Ok(m));
            assert_eq!(serde_json::to_value(m).unwrap(), json!(m.name()));
        }
    }
}
