//! Sequential specifications: what a single-copy object does when operations hit it one at a
//! time. The linearizability search ([`crate::search::wgl`]) asks a model whether each operation
//! can happen next, from each state it reaches.
//!
//! A model must be pure: `step` depends only on its arguments, so the search may try an
//! operation from the same state many times and cache what it learnt. States should be small,
//! because the search stores one per explored configuration; checking each key of a keyed
//! history on its own (partitioning) keeps them so.

use std::fmt::Debug;
use std::hash::Hash;

/// A sequential specification of an object.
pub trait Model {
    /// The object's state. Hashed and compared once per explored configuration: keep it cheap.
    type State: Clone + Eq + Hash + Debug;
    /// An operation together with what it observed (a read's result), so that `step` can
    /// reject an operation whose observation this state could not produce. Hashable, so the
    /// search can find identical operations (it tries them in one order only).
    type Op: Debug + Eq + Hash;

    /// Whether [`crate::search::wgl::decide_within`] may skip an indeterminate operation whose
    /// effect the next operation undoes. It spares registers trying their pending writes in every
    /// combination, but on the kv model (a put undoing an append) it led the search the long
    /// way round: 1.5 s against 55 ms on the bench's 10,000-operation history. The same holds
    /// for a run of indeterminate operations that comes back to the state it started from.
    const PRUNE_ABSORBED: bool = true;

    /// Whether [`Model::may_become_legal`] depends only on which distinct updates it is given,
    /// not on how many of each (a register's reads need *a* write of their value; a queue's
    /// dequeues count the dequeues before them). The search then asks it with one of each
    /// chain of identical pending indeterminate operations instead of all of them.
    const UPDATES_AS_SET: bool = false;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// The state after `op` is applied to `state`, or `None` if `op` cannot happen there (a
    /// read that returned something else, a cas whose compare would fail).
    fn step(&self, state: &Self::State, op: &Self::Op) -> Option<Self::State>;

    /// Whether `op` can happen from `state`: [`Model::step`] without building the next state,
    /// for models whose states are costly to build.
    fn legal(&self, state: &Self::State, op: &Self::Op) -> bool {
        self.step(state, op).is_some()
    }

    /// Whether `op`, which cannot happen from `state`, could happen after some of `updates`,
    /// each applied at most once, in some order. The search drops a configuration in which the
    /// operation it must take soonest never could. Answering `true` when unsure is always
    /// sound; the default does.
    fn may_become_legal(
        &self,
        state: &Self::State,
        op: &Self::Op,
        updates: &mut dyn Iterator<Item = &Self::Op>,
    ) -> bool {
        let _ = (state, op, updates);
        true
    }

    /// Whether `op` never changes the state (a read): a witness may leave such an operation out
    /// without losing soundness (see [`crate::explain::witness`]), and the search need not take
    /// it right after indeterminate operations if it could have been taken before them.
    /// `false` is always safe.
    fn observes_only(op: &Self::Op) -> bool {
        let _ = op;
        false
    }

    /// The one state in which `op` can take effect, if there is exactly one (a cas: its
    /// expected value). The search then looks at an indeterminate `op` only from that state.
    /// `None` (the default) is always sound.
    fn applies_only_in(&self, op: &Self::Op) -> Option<Self::State> {
        let _ = op;
        None
    }

    /// The state `op` leaves wherever it takes effect, if it can take effect in every state and
    /// always leaves the same one (a register's write). Besides, as one of the updates
    /// [`Model::may_become_legal`] is given, it must make legal whatever any other operation
    /// leaving that state would. The search then knows that such an operation can stand in for
    /// any run of indeterminate ones that starts with one and ends in its state. `None` (the
    /// default) is always sound.
    fn overwrites(&self, op: &Self::Op) -> Option<Self::State> {
        let _ = op;
        None
    }

    /// A short human description of an operation, e.g. `write 3`: how the tests read what a
    /// model made of a history's operations.
    #[cfg(test)]
    fn describe(&self, op: &Self::Op) -> String;

    /// A short human description of a state, e.g. `3`.
    fn describe_state(&self, state: &Self::State) -> String;
}
