//! The indeterminate operations a search may still take, as chains of identical ones, indexed by
//! the state they can take effect in.
//!
//! An indeterminate operation stays a candidate from its call on, for ever: on one key of
//! 20,000 operations with 10 % of them indeterminate, a configuration has hundreds of them
//! pending. But identical ones are taken in call order only (`wgl.rs`'s `earlier_twins`: an
//! unused earlier one may stand in for a used later one), so of each chain of identical
//! operations only the first one not yet taken is a candidate, and with values drawn from
//! `0..5` there are at most 30 chains (5 writes, 25 cas). And of those, a model may say that an
//! operation can take effect in one state only (a cas in its expected value), so a scan from
//! state `s` walks the chains that apply anywhere and those that apply in `s`, nothing else:
//!
//! ```text
//!   chains:   write 1: [op 4, op 19, op 77]     used 1  → head op 19
//!             write 3: [op 8]                   used 0  → head op 8
//!             cas 1→3: [op 12, op 40]           used 0  → head op 12 (only in state 1)
//!             cas 2→0: [op 30]                  used 1  → exhausted
//!   scan from state 1:  heads of anywhere [write 1, write 3] and of in-state-1 [cas 1→3],
//!                       merged in call order: op 8, op 12, op 19
//! ```
//!
//! A chain's head is a candidate once it was invoked no later than the search's bound (the
//! first remaining return). The operations a configuration has taken are, in each chain, a
//! prefix: the chain's count. Heads are kept ordered by call, so a scan visits them in call
//! order, as a walk of every pending operation would, and stops at the bound.

use crate::models::model::Model;
use crate::search::fx_hash::FxBuildHasher;
use crate::search::interval::Interval;
use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;

/// Where a chain's head is in a scan: its call's event index, then the chain.
pub(crate) type Place = (u64, usize);

/// The indeterminate operations of a search as chains of identical ones.
pub(crate) struct Indeterminate<S> {
    /// Each chain's operations, in call order.
    chains: Vec<Vec<usize>>,
    /// How many of each chain's operations are taken.
    taken: Vec<usize>,
    /// Each operation's chain (`usize::MAX` for an `ok` one).
    chain_of: Vec<usize>,
    /// Each operation's call (event index).
    call: Vec<u64>,
    /// The heads of chains whose operations may take effect in more than one state, in call
    /// order.
    anywhere: BTreeSet<Place>,
    /// The heads of chains whose operations take effect in one state only, by that state.
    only_in: HashMap<S, BTreeSet<Place>, FxBuildHasher>,
    /// Each chain's state, if it takes effect in one only.
    state_of: Vec<Option<S>>,
    /// How many chains apply in more than one state without overwriting.
    roaming: usize,
}

impl<S: Clone + Eq + std::hash::Hash> Indeterminate<S> {
    /// The chains of the indeterminate operations of `ops` (those without a return), `by_call`
    /// giving every operation in call order.
    pub(crate) fn new<M: Model<State = S>>(
        model: &M,
        ops: &[Interval<M::Op>],
        by_call: &[usize],
    ) -> Self {
        let mut chains: Vec<Vec<usize>> = Vec::new();
        let mut chain_of = vec![usize::MAX; ops.len()];
        let mut by_op: HashMap<&M::Op, usize, FxBuildHasher> = HashMap::default();
        let mut state_of = Vec::new();
        let mut roaming = 0;
        for &i in by_call.iter().filter(|&&i| ops[i].ret.is_none()) {
            let chain = *by_op.entry(&ops[i].op).or_insert_with(|| {
                let only = model.applies_only_in(&ops[i].op);
                roaming += usize::from(only.is_none() && model.overwrites(&ops[i].op).is_none());
                state_of.push(only);
                chains.push(Vec::new());
                chains.len() - 1
            });
            chains[chain].push(i);
            chain_of[i] = chain;
        }
        let mut info = Indeterminate {
            taken: vec![0; chains.len()],
            call: ops.iter().map(|o| o.call).collect(),
            chains,
            chain_of,
            anywhere: BTreeSet::new(),
            only_in: HashMap::default(),
            state_of,
            roaming,
        };
        for chain in 0..info.chains.len() {
            info.place(chain, true);
        }
        info
    }

    /// Adds (or removes) `chain`'s head to (from) the heads it belongs with.
    fn place(&mut self, chain: usize, add: bool) {
        let Some(head) = self.head(chain) else {
            return;
        };
        let place = (self.call[head], chain);
        let set = match &self.state_of[chain] {
            None => &mut self.anywhere,
            Some(state) => self.only_in.entry(state.clone()).or_default(),
        };
        if add {
            set.insert(place);
        } else {
            set.remove(&place);
        }
    }

    /// The next candidate of a scan from `state` that has passed `after` (`None`: from the
    /// start): the first head, in call order, of a chain that applies anywhere or in `state`,
    /// invoked no later than `bound`.
    pub(crate) fn next(&self, state: &S, bound: u64, after: Option<Place>) -> Option<Place> {
        let from = match after {
            None => Bound::Unbounded,
            Some(place) => Bound::Excluded(place),
        };
        let first = |set: &BTreeSet<Place>| set.range((from, Bound::Unbounded)).next().copied();
        let anywhere = first(&self.anywhere);
        let only = self.only_in.get(state).and_then(first);
        let next = match (anywhere, only) {
            (Some(a), Some(o)) => a.min(o),
            (a, o) => a.or(o)?,
        };
        (next.0 <= bound).then_some(next)
    }

    /// The operation at a scan's place.
    pub(crate) fn op_at(&self, place: Place) -> usize {
        self.chains[place.1][self.taken[place.1]]
    }

    /// The heads a scan from `state` may visit, in no particular order.
    pub(crate) fn heads_from<'a>(&'a self, state: &S) -> impl Iterator<Item = usize> + 'a {
        let only = self.only_in.get(state).into_iter().flatten();
        self.anywhere
            .iter()
            .chain(only)
            .map(|&(_, chain)| self.op_at((0, chain)))
    }

    /// The heads of chains that apply in `state` only, in no particular order.
    pub(crate) fn heads_only_in<'a>(&'a self, state: &S) -> impl Iterator<Item = usize> + 'a {
        let only = self.only_in.get(state).into_iter().flatten();
        only.map(|&(_, chain)| self.op_at((0, chain)))
    }

    /// The first operation of `chain` not yet taken, if any.
    pub(crate) fn head(&self, chain: usize) -> Option<usize> {
        self.chains[chain].get(self.taken[chain]).copied()
    }

    /// Marks `op`, the head of its chain, taken.
    pub(crate) fn take(&mut self, op: usize) {
        let chain = self.chain_of[op];
        debug_assert_eq!(self.head(chain), Some(op), "taken in chain order");
        self.place(chain, false);
        self.taken[chain] += 1;
        self.place(chain, true);
    }

    /// Undoes [`Indeterminate::take`] of `op`, the last taken of its chain.
    pub(crate) fn untake(&mut self, op: usize) {
        let chain = self.chain_of[op];
        self.place(chain, false);
        self.taken[chain] -= 1;
        self.place(chain, true);
        debug_assert_eq!(self.head(chain), Some(op), "undone in reverse order");
    }

    /// Whether some chain applies in more than one state without overwriting
    /// ([`Model::overwrites`]): where a run of them may lead is not known from the state alone.
    pub(crate) fn roaming(&self) -> bool {
        self.roaming > 0
    }

    /// The chain of `op`, if it is indeterminate.
    pub(crate) fn chain(&self, op: usize) -> Option<usize> {
        Some(self.chain_of[op]).filter(|&c| c != usize::MAX)
    }

    /// The length of the longest chain.
    pub(crate) fn longest(&self) -> usize {
        self.chains.iter().map(Vec::len).max().unwrap_or(0)
    }

    /// How many chains there are.
    pub(crate) fn len(&self) -> usize {
        self.chains.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::cas_register::CasRegister;
    use crate::models::interner::Interner;
    use crate::models::register_op::RegisterOp;

    fn iv(op: RegisterOp, call: u64, ret: Option<u64>) -> Interval<RegisterOp> {
        Interval { op, call, ret }
    }

    #[test]
    fn scans_walk_heads_of_chains_that_apply_in_call_order() {
        let model = CasRegister::new(&serde_json::Value::Null);
        let mut values = Interner::new();
        let (a, b) = (values.intern(&1.into()), values.intern(&2.into()));
        let cas = RegisterOp::Cas {
            expected: a,
            new: b,
        };
        let ops = [
            iv(RegisterOp::Write(a), 5, None),
            iv(cas, 1, None),
            iv(RegisterOp::Read(a), 2, Some(3)),
            iv(RegisterOp::Write(a), 0, None),
            iv(cas, 4, None),
        ];
        let by_call = [3, 1, 2, 4, 0];
        let mut info = Indeterminate::new(&model, &ops, &by_call);
        assert_eq!(info.len(), 2);
        let scan = |info: &Indeterminate<_>, state, bound| {
            let mut seen = Vec::new();
            let mut at = None;
            while let Some(place) = info.next(state, bound, at) {
                seen.push(info.op_at(place));
                at = Some(place);
            }
            seen
        };
        // The write applies anywhere, the cas only in `a`; heads in call order, up to the bound.
        assert_eq!(scan(&info, &b, 10), [3]);
        assert_eq!(scan(&info, &a, 10), [3, 1]);
        assert_eq!(scan(&info, &a, 0), [3]);
        info.take(3);
        assert_eq!(scan(&info, &a, 10), [1, 0]);
        info.take(1);
        assert_eq!(scan(&info, &a, 10), [4, 0]);
        info.take(0);
        assert_eq!(scan(&info, &a, 10), [4]);
        assert!(scan(&info, &b, 10).is_empty());
        info.untake(0);
        info.untake(1);
        info.untake(3);
        assert_eq!(scan(&info, &a, 10), [3, 1]);
        assert!(!info.roaming());
    }
}
