//! Linearizability search: Wing & Gong's algorithm with Lowe's just-in-time linearization and
//! memoisation, as Porcupine implements it.
//!
//! The history becomes a list of call and return entries in event order. An operation whose
//! outcome is indeterminate has its return at +infinity (after every other entry):
//!
//! ```text
//!   events:   0          1       2          3      4
//!   A         call ─────────────── ret                      A: write 1, ok
//!   B                    call ──────────────────── ret      B: read → 1, ok
//!   C                            call ────────────────────…  C: write 2, info (ret at +inf)
//!   entries:  A.call  B.call  C.call  A.ret  B.ret  C.ret
//! ```
//!
//! The search walks the list from its head. At a call entry it asks the model whether that
//! operation can take effect now; if so, and the resulting configuration (set of linearized
//! operations, model state) has never been seen, it linearizes the operation: lifts its call and
//! return out of the list, pushes it on a stack, and restarts from the head. Only calls before
//! the first remaining return are ever tried, because that return's operation must take effect
//! before anything invoked after it. Reaching a return entry means no candidate works: pop the
//! last linearized operation, put its entries back, and try the candidate after it. The history
//! is linearizable once every operation that completed `ok` is linearized; indeterminate ones
//! may be left out (never happened). Intervals are closed: a call and a return at the same
//! event index overlap.
//!
//! The memo of explored configurations is what keeps this from being exponential on ordinary
//! histories; its keys are compact (see `linearized.rs`) so that it stays small too.

use crate::linearized::{Linearized, LinearizedKey};
use crate::model::Model;
use std::collections::HashSet;
use std::time::Instant;

/// How often (in search steps) the deadline is checked: reading the clock costs more than a step.
const DEADLINE_CHECK_EVERY: u64 = 1000;

/// One operation to linearize: the model's operation and its real-time interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval<O> {
    /// The operation, with what it observed.
    pub op: O,
    /// The event index of its invocation.
    pub call: u64,
    /// The event index of its `ok` completion; `None` if indeterminate (+infinity, optional).
    pub ret: Option<u64>,
}

/// The search's answer. Operations are named by their position in the input slice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Linearization<S> {
    /// A witness order: every `ok` operation and the indeterminate ones that took effect.
    Linearizable {
        /// Operations in the order they took effect.
        order: Vec<usize>,
    },
    /// No order works.
    NotLinearizable {
        /// The longest order found that is consistent so far.
        longest_prefix: Vec<usize>,
        /// The operations that could have come next after that prefix, none of which led to a
        /// complete order.
        stuck: Vec<usize>,
        /// The model state after the longest prefix.
        state: S,
    },
    /// The deadline passed before the search finished.
    Unknown,
}

/// Decides whether `ops` can be linearized against `model`, giving up with
/// [`Linearization::Unknown`] once `deadline` has passed (even before starting).
pub fn check<M: Model>(
    model: &M,
    ops: &[Interval<M::Op>],
    deadline: Option<Instant>,
) -> Linearization<M::State> {
    let past = |d: Instant| Instant::now() >= d;
    if deadline.is_some_and(past) {
        return Linearization::Unknown;
    }

    let mut list = EntryList::new(ops);
    let mut required = ops.iter().filter(|o| o.ret.is_some()).count();
    // Operations are numbered in call order inside the set: it is then nearly a prefix.
    let mut by_call: Vec<usize> = (0..ops.len()).collect();
    by_call.sort_by_key(|&i| (ops[i].call, i));
    let mut rank = vec![0; ops.len()];
    for (r, &i) in by_call.iter().enumerate() {
        rank[i] = r;
    }
    let mut linearized = Linearized::new(ops.len());
    let mut seen: HashSet<(LinearizedKey, M::State)> = HashSet::new();
    // The linearized calls, each with the state before it: undoing one restores that state.
    let mut stack: Vec<(usize, M::State)> = Vec::new();
    let mut state = model.init();
    let mut deepest: DeadEnd<M::State> = DeadEnd {
        prefix: Vec::new(),
        agree: 0,
        stuck: Vec::new(),
        state: None,
    };
    let mut entry = list.first();
    let mut until_clock = DEADLINE_CHECK_EVERY;

    while required > 0 {
        until_clock -= 1;
        if until_clock == 0 {
            until_clock = DEADLINE_CHECK_EVERY;
            if deadline.is_some_and(past) {
                return Linearization::Unknown;
            }
        }
        if let Some(op) = list.call_op(entry) {
            if let Some(next) = model.step(&state, &ops[op].op) {
                linearized.insert(rank[op]);
                if seen.insert((linearized.key(), next.clone())) {
                    stack.push((entry, std::mem::replace(&mut state, next)));
                    if ops[op].ret.is_some() {
                        required -= 1;
                    }
                    list.lift(entry);
                    entry = list.first();
                    continue;
                }
                linearized.remove(rank[op]);
            }
            entry = list.next(entry);
            continue;
        }

        // A return entry (or the end): every candidate before it has failed.
        if deepest.state.is_none() || stack.len() > deepest.prefix.len() {
            deepest.prefix.truncate(deepest.agree);
            let changed = stack[deepest.agree..]
                .iter()
                .map(|&(call, _)| list.op(call));
            deepest.prefix.extend(changed);
            deepest.agree = stack.len();
            deepest.stuck = list.calls_before(entry);
            deepest.state = Some(state.clone());
        }
        let Some((call, before)) = stack.pop() else {
            return Linearization::NotLinearizable {
                longest_prefix: deepest.prefix,
                stuck: deepest.stuck,
                state: deepest.state.expect("a dead end was just recorded"),
            };
        };
        deepest.agree = deepest.agree.min(stack.len());
        state = before;
        let op = list.op(call);
        linearized.remove(rank[op]);
        if ops[op].ret.is_some() {
            required += 1;
        }
        list.unlift(call);
        entry = list.next(call);
    }
    Linearization::Linearizable {
        order: stack.iter().map(|&(call, _)| list.op(call)).collect(),
    }
}

/// The deepest point where the search had to back up.
///
/// Its prefix shares its first `agree` operations with the current stack, so recording a deeper
/// point copies only what was pushed since (O(1) amortised per push, not O(depth) per record).
struct DeadEnd<S> {
    prefix: Vec<usize>,
    agree: usize,
    stuck: Vec<usize>,
    /// `None` until the first dead end.
    state: Option<S>,
}

const NIL: usize = usize::MAX;
const HEAD: usize = 0;

/// One list node: the head sentinel (node 0) or a call or return entry.
#[derive(Debug, Clone)]
struct Node {
    prev: usize,
    next: usize,
    op: usize,
    is_call: bool,
    /// A call's return node, or a return's call node.
    partner: usize,
}

/// The call/return entries as a doubly linked list in an arena, so that lifting an operation
/// out and putting it back (dancing links) are O(1).
struct EntryList {
    nodes: Vec<Node>,
}

impl EntryList {
    fn new<O>(ops: &[Interval<O>]) -> Self {
        // Sort key (index, rank, op): calls before returns at the same index (closed
        // intervals overlap), indeterminate returns after everything.
        let mut entries: Vec<((u64, u8, usize), bool)> = Vec::with_capacity(2 * ops.len());
        for (i, o) in ops.iter().enumerate() {
            entries.push(((o.call, 0, i), true));
            let ret = match o.ret {
                // A return before its own call would be malformed; treat it as instantaneous.
                Some(r) => (r.max(o.call), 1, i),
                None => (u64::MAX, 2, i),
            };
            entries.push((ret, false));
        }
        entries.sort_unstable();

        let mut nodes = Vec::with_capacity(entries.len() + 1);
        nodes.push(Node {
            prev: NIL,
            next: if entries.is_empty() { NIL } else { 1 },
            op: usize::MAX,
            is_call: false,
            partner: NIL,
        });
        let mut call_node = vec![NIL; ops.len()];
        let last = entries.len();
        for (k, &((_, _, op), is_call)) in entries.iter().enumerate() {
            let node = k + 1;
            if is_call {
                call_node[op] = node;
            }
            nodes.push(Node {
                prev: k,
                next: if node == last { NIL } else { node + 1 },
                op,
                is_call,
                partner: NIL,
            });
        }
        for node in 1..nodes.len() {
            if !nodes[node].is_call {
                let call = call_node[nodes[node].op];
                nodes[node].partner = call;
                nodes[call].partner = node;
            }
        }
        EntryList { nodes }
    }

    fn first(&self) -> usize {
        self.nodes[HEAD].next
    }

    fn next(&self, node: usize) -> usize {
        self.nodes[node].next
    }

    fn op(&self, node: usize) -> usize {
        self.nodes[node].op
    }

    /// The operation of `node` if it is a call entry.
    fn call_op(&self, node: usize) -> Option<usize> {
        (node != NIL && self.nodes[node].is_call).then(|| self.nodes[node].op)
    }

    /// The operations of the call entries from the head up to `end` (exclusive).
    fn calls_before(&self, end: usize) -> Vec<usize> {
        let mut calls = Vec::new();
        let mut node = self.first();
        while node != end {
            if let Some(op) = self.call_op(node) {
                calls.push(op);
            }
            node = self.next(node);
        }
        calls
    }

    fn unlink(&mut self, node: usize) {
        let Node { prev, next, .. } = self.nodes[node];
        self.nodes[prev].next = next;
        if next != NIL {
            self.nodes[next].prev = prev;
        }
    }

    fn relink(&mut self, node: usize) {
        let Node { prev, next, .. } = self.nodes[node];
        self.nodes[prev].next = node;
        if next != NIL {
            self.nodes[next].prev = node;
        }
    }

    /// Removes a call entry and its return entry.
    fn lift(&mut self, call: usize) {
        self.unlink(call);
        self.unlink(self.nodes[call].partner);
    }

    /// Undoes [`EntryList::lift`]; must be applied in reverse order of the lifts.
    fn unlift(&mut self, call: usize) {
        self.relink(self.nodes[call].partner);
        self.relink(call);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;
    use std::time::Duration;

    /// A register of small integers, independent of JSON, to test the search on its own.
    struct IntRegister;

    #[derive(Debug, Clone, Copy)]
    enum Op {
        Read(u8),
        Write(u8),
        Cas(u8, u8),
    }

    impl Model for IntRegister {
        type State = u8;
        type Op = Op;
        fn init(&self) -> u8 {
            0
        }
        fn step(&self, s: &u8, op: &Op) -> Option<u8> {
            match *op {
                Op::Read(v) => (v == *s).then_some(*s),
                Op::Write(v) => Some(v),
                Op::Cas(e, n) => (e == *s).then_some(n),
            }
        }
        fn describe(&self, op: &Op) -> String {
            format!("{op:?}")
        }
        fn describe_state(&self, s: &u8) -> String {
            s.to_string()
        }
    }

    fn iv(op: Op, call: u64, ret: Option<u64>) -> Interval<Op> {
        Interval { op, call, ret }
    }

    /// Checks that a witness respects real time and the model.
    fn assert_witness(ops: &[Interval<Op>], order: &[usize]) {
        let mut s = IntRegister.init();
        for (pos, &i) in order.iter().enumerate() {
            s = IntRegister
                .step(&s, &ops[i].op)
                .expect("witness follows the model");
            for &later in &order[pos + 1..] {
                assert!(
                    ops[later].ret.is_none_or(|r| r >= ops[i].call),
                    "op {later} returned before op {i} was called, but is ordered after it"
                );
            }
        }
        for (i, o) in ops.iter().enumerate() {
            if o.ret.is_some() {
                assert!(order.contains(&i), "ok op {i} missing from witness");
            }
        }
    }

    #[test]
    fn empty_history_is_linearizable() {
        assert_eq!(
            check(&IntRegister, &[], None),
            Linearization::Linearizable { order: vec![] }
        );
    }

    #[test]
    fn concurrent_read_may_see_either_value() {
        //   write 1  |-----------|
        //   read → 0     |--|           (linearized before the write)
        //   read → 1          |--|      (linearized after it)
        let ops = [
            iv(Op::Write(1), 0, Some(5)),
            iv(Op::Read(0), 1, Some(2)),
            iv(Op::Read(1), 3, Some(4)),
        ];
        let Linearization::Linearizable { order } = check(&IntRegister, &ops, None) else {
            panic!("expected linearizable")
        };
        assert_eq!(order, [1, 0, 2]);
        assert_witness(&ops, &order);

        // The other way round, the second read would undo the write.
        let ops = [
            iv(Op::Write(1), 0, Some(5)),
            iv(Op::Read(1), 1, Some(2)),
            iv(Op::Read(0), 3, Some(4)),
        ];
        assert!(matches!(
            check(&IntRegister, &ops, None),
            Linearization::NotLinearizable { .. }
        ));
    }

    #[test]
    fn stale_read_is_not_linearizable() {
        //   write 1 |--|
        //   write 2       |--|
        //   read → 1            |--|
        let ops = [
            iv(Op::Write(1), 0, Some(1)),
            iv(Op::Write(2), 2, Some(3)),
            iv(Op::Read(1), 4, Some(5)),
        ];
        assert_eq!(
            check(&IntRegister, &ops, None),
            Linearization::NotLinearizable {
                longest_prefix: vec![0, 1],
                stuck: vec![2],
                state: 2
            }
        );
    }

    #[test]
    fn stuck_lists_every_candidate_at_the_deepest_point() {
        //   write 1  |--|
        //   read → 2      |--------|
        //   read → 3         |--|
        let ops = [
            iv(Op::Write(1), 0, Some(1)),
            iv(Op::Read(2), 2, Some(5)),
            iv(Op::Read(3), 3, Some(4)),
        ];
        assert_eq!(
            check(&IntRegister, &ops, None),
            Linearization::NotLinearizable {
                longest_prefix: vec![0],
                stuck: vec![1, 2],
                state: 1
            }
        );
    }

    #[test]
    fn indeterminate_ops_are_optional() {
        //   write 1 (info) |-------------…
        //   read → 0          |--|
        //   read → 1               |--|
        // The write may take effect between the reads.
        let mut ops = vec![
            iv(Op::Write(1), 0, None),
            iv(Op::Read(0), 1, Some(2)),
            iv(Op::Read(1), 3, Some(4)),
        ];
        let Linearization::Linearizable { order } = check(&IntRegister, &ops, None) else {
            panic!("expected linearizable")
        };
        assert_eq!(order, [1, 0, 2]);

        // Never observed: left out entirely.
        let unseen = [iv(Op::Write(1), 0, None), iv(Op::Read(0), 1, Some(2))];
        assert_eq!(
            check(&IntRegister, &unseen, None),
            Linearization::Linearizable { order: vec![1] }
        );

        // But once 1 has been seen it stays: a later read of 0 is invalid.
        ops.push(iv(Op::Read(0), 5, Some(6)));
        assert_eq!(
            check(&IntRegister, &ops, None),
            Linearization::NotLinearizable {
                longest_prefix: vec![1, 0, 2],
                stuck: vec![3],
                state: 1
            }
        );
    }

    #[test]
    fn an_indeterminate_cas_that_cannot_apply_is_left_out() {
        let ops = [iv(Op::Cas(5, 6), 0, None), iv(Op::Read(0), 1, Some(2))];
        assert_eq!(
            check(&IntRegister, &ops, None),
            Linearization::Linearizable { order: vec![1] }
        );
    }

    #[test]
    fn closed_intervals_touching_at_an_index_overlap() {
        // The read's call and the write's return share event index 1: they overlap, so the
        // read may be ordered before the write.
        let ops = [iv(Op::Write(1), 0, Some(1)), iv(Op::Read(0), 1, Some(2))];
        assert_eq!(
            check(&IntRegister, &ops, None),
            Linearization::Linearizable { order: vec![1, 0] }
        );
    }

    #[test]
    fn backtracks_out_of_a_wrong_first_choice() {
        //   write 1  |------------|
        //   write 2  |------------|
        //   read → 1                |--|
        //   read → 2     |--|            (forces write 2 first, then write 1)
        let ops = [
            iv(Op::Write(1), 0, Some(4)),
            iv(Op::Write(2), 1, Some(5)),
            iv(Op::Read(1), 6, Some(7)),
            iv(Op::Read(2), 2, Some(3)),
        ];
        let Linearization::Linearizable { order } = check(&IntRegister, &ops, None) else {
            panic!("expected linearizable")
        };
        assert_eq!(order, [1, 3, 0, 2]);
        assert_witness(&ops, &order);
    }

    #[test]
    fn past_deadline_is_unknown() {
        let ops = [iv(Op::Write(1), 0, Some(1))];
        let past = Instant::now() - Duration::from_millis(1);
        assert_eq!(
            check(&IntRegister, &ops, Some(past)),
            Linearization::Unknown
        );
        assert_eq!(check(&IntRegister, &[], Some(past)), Linearization::Unknown);
    }

    #[test]
    fn a_long_search_stops_at_the_deadline() {
        // Many concurrent writes of distinct values and a read of a value nobody wrote: every
        // order of the writes is explored (2^n configurations) before the search gives up.
        let mut ops: Vec<_> = (0..40)
            .map(|i| iv(Op::Write(i as u8 + 1), 0, Some(100)))
            .collect();
        ops.push(iv(Op::Read(200), 0, Some(100)));
        let deadline = Instant::now() + Duration::from_millis(50);
        let started = Instant::now();
        assert_eq!(
            check(&IntRegister, &ops, Some(deadline)),
            Linearization::Unknown
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn many_sequential_operations_are_fast() {
        // Sequential write/read pairs: the search never backtracks.
        let n = 20_000u64;
        let ops: Vec<_> = (0..n)
            .flat_map(|i| {
                let v = (i % 7) as u8;
                [
                    iv(Op::Write(v), 4 * i, Some(4 * i + 1)),
                    iv(Op::Read(v), 4 * i + 2, Some(4 * i + 3)),
                ]
            })
            .collect();
        let Linearization::Linearizable { order } = check(&IntRegister, &ops, None) else {
            panic!("expected linearizable")
        };
        assert_eq!(order.len(), ops.len());
    }
}
