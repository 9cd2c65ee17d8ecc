//! Sequential specifications: what a single-copy object does when operations hit it one at a
//! time. The linearizability search ([`crate::wgl`]) asks a model whether each operation can
//! happen next, from each state it reaches.
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
    /// reject an operation whose observation this state could not produce. Comparable, so the
    /// search can tell identical indeterminate operations apart from the rest (it tries only
    /// one of each kind at a time).
    type Op: Debug + PartialEq;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// The state after `op` is applied to `state`, or `None` if `op` cannot happen there (a
    /// read that returned something else, a cas whose compare would fail).
    fn step(&self, state: &Self::State, op: &Self::Op) -> Option<Self::State>;

    /// A short human description of an operation, e.g. `write 3`.
    fn describe(&self, op: &Self::Op) -> String;

    /// A short human description of a state, e.g. `3`.
    fn describe_state(&self, state: &Self::State) -> String;
}
