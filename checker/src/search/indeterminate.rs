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
//!   scan from state 1:  anywhere [write 1, write 3] ++ in state 1 [cas 1→3]
//! ```
//!
//! A chain's head is a candidate once it was invoked no later than the search's bound (the
//! first remaining return). The operations a configuration has taken are, in each chain, a
//! prefix: the chain's count.

use crate::models::model::Model;
use crate::search::fx_hash::FxBuildHasher;
use crate::search::wgl::Interval;
use std::collections::HashMap;

/// The indeterminate operations of a search as chains of identical ones.
pub(crate) struct Indeterminate<S> {
    /// Each chain's operations, in call order.
    chains: Vec<Vec<usize>>,
    /// How many of each chain's operations are taken.
    taken: Vec<usize>,
    /// Each operation's chain (`usize::MAX` for an `ok` one).
    chain_of: Vec<usize>,
    /// Chains whose operations may take effect in more than one state.
    anywhere: Vec<usize>,
    /// Chains whose operations take effect in one state only, by that state.
    only_in: HashMap<S, Vec<usize>, FxBuildHasher>,
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
        let mut anywhere = Vec::new();
        let mut only_in: HashMap<S, Vec<usize>, FxBuildHasher> = HashMap::default();
        for &i in by_call.iter().filter(|&&i| ops[i].ret.is_none()) {
            let chain = *by_op.entry(&ops[i].op).or_insert_with(|| {
                let chain = chains.len();
                chains.push(Vec::new());
                match model.applies_only_in(&ops[i].op) {
                    Some(state) => only_in.entry(state).or_default().push(chain),
                    None => anywhere.push(chain),
                }
                chain
            });
            chains[chain].push(i);
            chain_of[i] = chain;
        }
        Indeterminate {
            taken: vec![0; chains.len()],
            chains,
            chain_of,
            anywhere,
            only_in,
        }
    }

    /// The chains a scan from `state` walks: those that apply anywhere, then those that apply
    /// in `state` only.
    pub(crate) fn scan<'a>(&'a self, state: &S) -> (&'a [usize], &'a [usize]) {
        let only = self.only_in.get(state).map_or(&[][..], Vec::as_slice);
        (&self.anywhere, only)
    }

    /// The first operation of `chain` not yet taken, if any.
    pub(crate) fn head(&self, chain: usize) -> Option<usize> {
        self.chains[chain].get(self.taken[chain]).copied()
    }

    /// Marks `op`, the head of its chain, taken.
    pub(crate) fn take(&mut self, op: usize) {
        let chain = self.chain_of[op];
        debug_assert_eq!(self.head(chain), Some(op), "taken in chain order");
        self.taken[chain] += 1;
    }

    /// Undoes [`Indeterminate::take`] of `op`, the last taken of its chain.
    pub(crate) fn untake(&mut self, op: usize) {
        let chain = self.chain_of[op];
        self.taken[chain] -= 1;
        debug_assert_eq!(self.head(chain), Some(op), "undone in reverse order");
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
    fn chains_of_identical_operations_indexed_by_state() {
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
        // The write applies anywhere, the cas only in `a`.
        let (anywhere, only) = info.scan(&b);
        assert_eq!((anywhere.len(), only.len()), (1, 0));
        let (anywhere, only) = info.scan(&a);
        assert_eq!((anywhere.len(), only.len()), (1, 1));
        let (write, cas) = (anywhere[0], only[0]);
        // Heads in call order.
        assert_eq!(info.head(write), Some(3));
        info.take(3);
        assert_eq!(info.head(write), Some(0));
        info.take(0);
        assert_eq!(info.head(write), None);
        info.untake(0);
        info.untake(3);
        assert_eq!(info.head(write), Some(3));
        assert_eq!(info.head(cas), Some(1));
    }
}
