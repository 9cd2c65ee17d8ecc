//! The models that take their operations from a history, and the hooks the per-key check
//! ([`crate::key_check`]) asks them.

use crate::explain::explainer::Explainer;
use crate::explain::stale::StaleRead;
use crate::explain::ties::Ties;
use crate::history::history_error::HistoryError;
use crate::history::operation::Operation;
use crate::models::model::Model;
use crate::options::{CheckOptions, ModelKind};
use crate::search::wgl::Interval;
use serde_json::Value;

/// A sequential specification that takes its operations from a history.
///
/// Keys are searched in parallel, each by one thread with a model of its own, hence the `Send`
/// bounds.
pub(crate) trait HistoryModel:
    Model<Op: Send + Sync + Clone, State: Send> + Sized + Send
{
    /// The model, as `--model` names it.
    const KIND: ModelKind;
    /// What the object is called in prose ("the set", "the value of x").
    const NOUN: &'static str;
    /// The functions whose `ok` completion carries what the operation returned.
    const OBSERVING: &'static [&'static str];
    /// Whether a key the search does not decide at once is probed for a small proof of
    /// invalidity first ([`crate::search::probe`]).
    const PROBES: bool = true;

    /// A model whose object starts as `initial` says (`--initial`; null is always accepted and
    /// means the object's natural empty state).
    fn from_initial(initial: &Value) -> Result<Self, BadInitial>;

    /// The model a check with `opts` uses: by default the one [`HistoryModel::from_initial`]
    /// gives (the register also reads `--failed-cas`).
    fn for_check(opts: &CheckOptions) -> Result<Self, BadInitial> {
        Self::from_initial(&opts.initial)
    }

    /// A verdict on one key's operations (or a subset of them, for the witness) reached before
    /// any search, where the model has a faster proof: the register's unique-value fast path.
    /// `None` leaves the key to the search.
    fn decide_first(&self, ops: &[Interval<Self::Op>]) -> Option<Early> {
        let _ = ops;
        None
    }

    /// How the sentence on the longest consistent order ends: what it leaves the object as.
    fn leaves(&self, state: &Self::State) -> String {
        format!(
            ", after which the {} is {}",
            Self::NOUN,
            self.describe_state(state)
        )
    }

    /// The observations of an invalid key that returned an overwritten value, when the model
    /// can tell (the register, for unique values): they then explain the key instead of the
    /// longest order. `ops` are all of the key's operations.
    fn stale_reads(&self, key: &Value, ops: &[&Operation]) -> Vec<StaleRead> {
        let _ = (key, ops);
        Vec::new()
    }

    /// What a witness of the key `key`, whose operations are `ops`, keeps together and shows
    /// ([`crate::explain::explainer`]); by default the model's [`HistoryModel::ties`].
    fn explainer<'a>(
        &'a self,
        key: &'a Value,
        ops: &'a [Interval<Self::Op>],
    ) -> Box<dyn Explainer + 'a> {
        let _ = key;
        let ops: Vec<Self::Op> = ops.iter().map(|i| i.op.clone()).collect();
        Box::new(self.ties(&ops))
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
pub(crate) struct BadInitial {
    /// The model's name.
    pub model: &'static str,
    /// The value given.
    pub value: Value,
    /// What the model accepts.
    pub expected: &'static str,
}

/// A verdict reached before the search ([`HistoryModel::decide_first`]).
pub(crate) enum Early {
    /// Some order of the operations is legal.
    Linearizable,
    /// None is: the proof.
    NotLinearizable(Box<dyn Proof>),
}

/// Why a key has no legal order, as a model's own proof gives it.
pub(crate) trait Proof {
    /// The operations the proof names (positions among the key's operations): a witness tries
    /// them first.
    fn operations(&self) -> Vec<usize>;
    /// The proof in words, operations named by `name`.
    fn describe(&self, name: &dyn Fn(usize) -> String) -> String;
}
