//! The models that take their operations from a history, and the hooks the per-key check
//! ([`crate::model_check`]) asks them.

use crate::explain::ties::Ties;
use crate::history::history_error::HistoryError;
use crate::history::operation::Operation;
use crate::models::model::Model;
use crate::search::wgl::Interval;
use serde_json::Value;

/// A sequential specification that takes its operations from a history.
///
/// Keys are searched in parallel, each by one thread with a model of its own, hence the `Send`
/// bounds.
pub trait HistoryModel: Model<Op: Send + Sync + Clone, State: Send> + Sized + Send {
    /// The model's name, as `--model` spells it.
    const NAME: &'static str;
    /// What the object is called in prose ("the set", "the value of x").
    const NOUN: &'static str;
    /// The functions whose `ok` completion carries what the operation returned.
    const OBSERVING: &'static [&'static str];

    /// A model whose object starts as `initial` says (`--initial`; null is always accepted and
    /// means the object's natural empty state).
    fn from_initial(initial: &Value) -> Result<Self, BadInitial>;

    /// Whether `op` never changes the state (a read): a witness may leave such an operation out
    /// without losing soundness (see [`crate::explain::witness`]). `false` is always safe.
    fn observes_only(op: &Self::Op) -> bool {
        let _ = op;
        false
    }

    /// What a witness must keep together among one key's operations (see [`crate::explain::ties`]).
    /// The default keeps every update and shrinks only observations: always sound.
    fn ties(&self, ops: &[Self::Op]) -> Ties {
        Ties::pin_updates(ops, Self::observes_only)
    }

    /// Which of one key's operations the search may leave out without changing the verdict:
    /// indeterminate updates whose effect no observation shows. Such an update may never have
    /// happened; and if a linearization has it, no observation follows it before its effect is
    /// gone, so deleting it leaves the linearization legal. The default leaves out nothing.
    fn unobserved(&self, ops: &[Interval<Self::Op>]) -> Vec<bool> {
        vec![false; ops.len()]
    }

    /// The operation the search must consider for `op`, or `None` if it cannot affect the
    /// outcome (a failed operation, an indeterminate read).
    fn op(&mut self, op: &Operation) -> Result<Option<Self::Op>, HistoryError>;
}

/// An initial value (`--initial`) a model cannot start from.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the {model} model cannot start from {value}: the initial value must be {expected}")]
pub struct BadInitial {
    /// The model's name.
    pub model: &'static str,
    /// The value given.
    pub value: Value,
    /// What the model accepts.
    pub expected: &'static str,
}
