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
//! Two departures from Porcupine, both about order, neither about what is explored:
//!
//! - Indeterminate operations are tried after every `ok` candidate, not in call order. They
//!   stay candidates forever (their return never comes), so in call order a long history puts
//!   hundreds of them first at every step, and a search that takes them eagerly then backs out
//!   of each. Taking the `ok` operations first follows the history as it happened and reaches
//!   for an indeterminate one only when nothing else fits. They live in a list of their own,
//!   so a scan of the `ok` candidates never walks over them, and are scanned as chains of
//!   identical ones indexed by the state they can take effect in (`indeterminate.rs`): a scan
//!   visits the first unused operation of each chain that applies, not every pending one.
//! - The memo is hashed with [`crate::search::fx_hash`], not SipHash.
//!
//! And six that cut what is explored without changing the verdict:
//!
//! - identical operations are tried in one order only (see `earlier_twins`);
//! - [`decide_within`] tries, where an `ok` candidate that only observes can take effect now
//!   (a read of the current value), that one alone (see `forced_observation`): on one key with
//!   20 clients, values repeating and indeterminate cas, 20,000 operations went from a minute
//!   and more to a tenth of a second;
//! - [`decide_within`] counts a configuration as explored when one with the same `ok`
//!   operations and state, whose exploration has ended, used a subset of its indeterminate
//!   operations (see `explored.rs`): on one key with values repeating and many indeterminate
//!   cas, 2,000 operations went from seconds to under one;
//! - [`decide_within`] skips an indeterminate operation whose effect the next one undoes
//!   (see `absorbed`);
//! - [`decide_within`] takes, of the runs of indeterminate operations between two `ok` ones,
//!   only those no single candidate does the same as, that do not come back where they
//!   started, and that may end where an `ok` candidate needs them (see `pointless`): a write
//!   of 3 is left for later where a pending cas from the current value to 3 does the same,
//!   and so is a detour through other values;
//! - [`decide_within`] drops a configuration in which some candidate could never take effect,
//!   whatever still comes before it (see `doomed`): the plain search learns so only once that
//!   candidate is due, after every order of what lies between.
//!
//! The memo of explored configurations is what keeps this from being exponential on ordinary
//! histories; its keys are compact (see `linearized.rs`) so that it stays small too. Its memory
//! is charged to a [`Budget`], and the clock is read every few hundred steps, so a search stops
//! (as [`Stop`]) soon after its deadline and before it runs out of memory.

use crate::history::history_error::HistoryError;
use crate::history::operation::{Operation, Outcome};
use crate::models::model::Model;
use crate::search::budget::{Budget, Reservation, Stop};
use crate::search::explored::{At, Explored};
use crate::search::fx_hash::FxBuildHasher;
use crate::search::indeterminate::{Indeterminate, Place};
use crate::search::linearized::{lane_bits, Split};
use std::collections::HashMap;
use std::hash::Hash;

/// How often (in search steps) the deadline is checked. A step costs well under a microsecond
/// on ordinary keys and a few on huge ones, so this reads the clock every millisecond or less;
/// reading it costs about as much as a step.
const CLOCK_EVERY: u32 = 256;
pub use crate::search::interval::Interval;

/// The search's input for one key: each operation the model keeps, as an interval, beside the
/// history operation it came from (so results can name it).
pub(crate) fn intervals_of<'a, O>(
    ops: &[&'a Operation],
    mut to_op: impl FnMut(&Operation) -> Result<Option<O>, HistoryError>,
) -> Result<(Vec<Interval<O>>, Vec<&'a Operation>), HistoryError> {
    let mut intervals = Vec::new();
    let mut sources = Vec::new();
    for &op in ops {
        let Some(model_op) = to_op(op)? else { continue };
        // An ok completion bounds the interval, and so does a failure the model keeps (a cas
        // mismatch: evaluated before it failed); an indeterminate operation may take effect at
        // any later time.
        let ret = match op.outcome {
            Outcome::Ok | Outcome::Fail { .. } => op.span.complete_index,
            Outcome::Info => None,
        };
        intervals.push(Interval {
            op: model_op,
            call: op.span.invoke_index,
            ret,
        });
        sources.push(op);
    }
    Ok((intervals, sources))
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
    /// The deadline passed before the search finished. Only the tests' `check` answers it:
    /// the checker's searches say why they stopped (`Err(Stop)`); their callers still match it.
    #[cfg_attr(not(test), allow(dead_code))]
    Unknown,
}

/// Decides whether `ops` can be linearized against `model`, giving up with
/// [`Linearization::Unknown`] once `deadline` has passed (even before starting). Tests' shorthand
/// for [`check_within`].
#[cfg(test)]
pub fn check<M: Model>(
    model: &M,
    ops: &[Interval<M::Op>],
    deadline: Option<std::time::Instant>,
) -> Linearization<M::State> {
    check_within(model, ops, &Budget::new(deadline, None), None).unwrap_or(Linearization::Unknown)
}

/// Decides whether `ops` can be linearized against `model` within `budget` and, if given,
/// `max_steps` search steps. Never answers `Ok(Linearization::Unknown)`: a search that stops
/// early says why. When not linearizable, the longest prefix is exactly the longest order
/// consistent so far.
pub fn check_within<M: Model>(
    model: &M,
    ops: &[Interval<M::Op>],
    budget: &Budget,
    max_steps: Option<u64>,
) -> Result<Linearization<M::State>, Stop> {
    search(model, ops, budget, max_steps, Pruning::Off)
}

/// [`check_within`], minus configurations that cannot lead to a linearization:
///
/// - every sibling of a read that can take effect now (see `forced_observation`);
/// - branches where an indeterminate operation's effect is undone by the next operation
///   (see `absorbed`);
/// - configurations covered by an explored one: the same `ok` operations and state, a subset of
///   the indeterminate operations used (see `explored.rs`);
/// - runs of indeterminate operations another candidate does the same as, that come back
///   where they started, or that lead nowhere an `ok` candidate needs (see `pointless`);
/// - configurations in which some candidate could never take effect, whatever may still come
///   before it (see `doomed`): a get of `"1;2;"` after an append made the key `"1;3;"`,
///   with no put pending that could start it again. The plain search finds out only once
///   that get is due, after trying every order of everything in between.
///
/// The verdict is the same; a `NotLinearizable` answer's longest prefix may stop short of the
/// true one (the longest order may run through a pruned configuration), which the explanation
/// of an invalid key mends with [`check_within`] where that ends soon (`key_check.rs`). On the 1,700-operation kv history of the bench the second
/// pruning cut the explored configurations from 134,000 to 11,000.
pub fn decide_within<M: Model>(
    model: &M,
    ops: &[Interval<M::Op>],
    budget: &Budget,
    max_steps: Option<u64>,
) -> Result<Linearization<M::State>, Stop> {
    search(model, ops, budget, max_steps, Pruning::Candidates)
}

/// [`decide_within`], asking about every `ok` operation still to linearize whether it could
/// ever take effect, not only about the candidates: a get invoked late, behind long
/// overlapping appends, shows at once that an order of those appends is a dead end, where the
/// candidates alone show it only once the get is due, after every order of the appends (on
/// Porcupine's kv shape, probes that ran out of 20,000 steps now end within 2,000). Each step
/// then costs a walk of all the operations left, so this is for small searches: probes and a
/// witness's oracle.
pub fn decide_small<M: Model>(
    model: &M,
    ops: &[Interval<M::Op>],
    budget: &Budget,
    max_steps: Option<u64>,
) -> Result<Linearization<M::State>, Stop> {
    search(model, ops, budget, max_steps, Pruning::Everything)
}

/// Which configurations the search drops as dead ends before exploring them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pruning {
    /// None: the exact search, whose longest prefix is the true one.
    Off,
    /// `absorbed` branches, and configurations `doomed` by a candidate.
    Candidates,
    /// The same, and configurations doomed by any `ok` operation still to linearize.
    Everything,
}

/// How many steps the exact search may take to explain a verdict already reached: the
/// explanation is worth a few tens of milliseconds, not the exponential worst case.
pub(crate) const DETAIL_STEPS: u64 = 50_000;

/// The search; `pruning` as [`decide_within`] and [`decide_small`] say.
fn search<M: Model>(
    model: &M,
    ops: &[Interval<M::Op>],
    budget: &Budget,
    max_steps: Option<u64>,
    pruning: Pruning,
) -> Result<Linearization<M::State>, Stop> {
    let prune = pruning != Pruning::Off;
    let everything = pruning == Pruning::Everything;
    budget.check_clock()?;
    let mut memory = Reservation::new(budget);

    let mut list = EntryList::new(ops);
    let mut required = ops.iter().filter(|o| o.ret.is_some()).count();
    // Operations are numbered in call order inside the set: it is then nearly a prefix.
    let mut by_call: Vec<usize> = (0..ops.len()).collect();
    by_call.sort_by_key(|&i| (ops[i].call, i));
    let mut rank = vec![0; ops.len()];
    for (r, &i) in by_call.iter().enumerate() {
        rank[i] = r;
    }
    // The indeterminate candidates (chains of identical ones), and where their scan is.
    let mut info = Indeterminate::new(model, ops, &by_call);
    let mut info_at: Option<Place> = None;
    let bits = lane_bits(info.longest());
    let mut linearized = Split::new(ops.len(), &by_call, |i| info.chain(i), bits);
    let twin = earlier_twins(ops, &by_call);
    let mut done = vec![false; ops.len()];
    // Covering configurations (see `explored.rs`) prune only the searches that may stop short
    // of the true longest prefix.
    let mut seen: Explored<M::State> = Explored::new(prune).with_lanes(bits);
    let mut key: Vec<u64> = Vec::new();
    let mut scratch = Scratch::default();
    // What the search holds besides the memo: the entry list, ranks, and the longest prefix.
    let fixed = list.nodes.len() * size_of::<Node>() + ops.len() * 4 * size_of::<usize>();
    memory.cover(fixed as u64)?;
    // The linearized calls, each with the state before it: undoing one restores that state.
    let mut stack: Vec<Frame<M::State>> = Vec::new();
    let mut state = model.init();
    let mut deepest: DeadEnd<M::State> = DeadEnd {
        prefix: Vec::new(),
        agree: 0,
        stuck: Vec::new(),
        state: None,
    };
    // Where the scan is, and, once it has passed the `ok` candidates, the event index of the
    // first remaining return: indeterminate calls up to it are candidates too.
    let mut entry = list.first();
    let mut bound: Option<u64> = None;
    // Whether the configuration's scan tries only a read that can take effect now (see
    // `forced_observation`), and whether it is over: that read led nowhere.
    let mut forcing = false;
    let mut exhausted = false;
    if prune {
        if let Some(read) = forced_observation(model, &list, ops, &state, &twin, &done) {
            (entry, forcing) = (read, true);
        }
    }
    let mut targets: Targets<M::State> = Targets {
        needed: Vec::new(),
        reach: Vec::new(),
    };
    let mut until_clock = CLOCK_EVERY;
    let mut steps_left = max_steps.unwrap_or(u64::MAX);

    'search: while required > 0 {
        until_clock -= 1;
        if until_clock == 0 {
            until_clock = CLOCK_EVERY;
            budget.check_clock()?;
            steps_left = steps_left.saturating_sub(u64::from(CLOCK_EVERY));
            if steps_left == 0 {
                return Err(Stop::Steps);
            }
        }
        let candidate = match bound {
            _ if exhausted => None,
            None if list.is_call(entry) => Some(entry),
            None => {
                // The `ok` candidates are exhausted: on to the indeterminate ones.
                bound = Some(list.index(entry));
                info_at = None;
                continue;
            }
            Some(b) => info.next(&state, b, info_at).map(|place| {
                info_at = Some(place);
                list.call_node[info.op_at(place)]
            }),
        };
        if let Some(call) = candidate {
            let op = list.op(call);
            'attempt: {
                // Identical operations are taken in the order `earlier_twins` gives them
                // (indeterminate ones are, by their chains).
                if twin[op] != NIL && !done[twin[op]] {
                    break 'attempt;
                }
                let Some(next) = model.step(&state, &ops[op].op) else {
                    break 'attempt;
                };
                if prune
                    && M::PRUNE_ABSORBED
                    && absorbed(model, &stack, ops, &list, &ops[op].op, &next)
                {
                    break 'attempt;
                }
                if prune
                    && bound.is_some_and(|b| {
                        pointless(
                            model,
                            &info,
                            &stack,
                            &list,
                            ops,
                            &state,
                            b,
                            op,
                            &next,
                            &mut targets,
                        )
                    })
                {
                    break 'attempt;
                }
                linearized.insert(op);
                linearized.write_key(&mut key);
                let Some(memo) = seen.insert(&key, next.clone(), linearized.used()) else {
                    linearized.remove(op);
                    break 'attempt;
                };
                list.lift(call);
                // An operation that leaves the state as it was blocks no candidate that
                // was not blocked before: checking after every read would double the
                // cost of a register search and prune next to nothing.
                if prune
                    && next != state
                    && doomed(model, &list, &info, ops, &next, &mut scratch, everything)
                {
                    seen.close(memo);
                    list.unlift(call);
                    linearized.remove(op);
                    break 'attempt;
                }
                let used = fixed + seen.bytes() + stack.capacity() * size_of::<Frame<M::State>>();
                memory.cover(used as u64)?;
                stack.push(Frame {
                    call,
                    before: std::mem::replace(&mut state, next),
                    bound: bound.unwrap_or(0),
                    info_at,
                    memo,
                    forced: forcing,
                });
                if ops[op].ret.is_some() {
                    required -= 1;
                } else {
                    info.take(op);
                }
                done[op] = true;
                entry = list.first();
                bound = None;
                forcing = false;
                if prune {
                    if let Some(read) = forced_observation(model, &list, ops, &state, &twin, &done)
                    {
                        (entry, forcing) = (read, true);
                    }
                }
                continue 'search;
            }
            if forcing {
                // The read was left out: so is every other candidate.
                forcing = false;
                exhausted = true;
                bound = Some(list.index(list.first_return()));
                continue;
            }
            // Not taken: the next candidate (`info_at` has passed it already).
            if bound.is_none() {
                entry = list.next(call);
            }
            continue;
        }

        // Every candidate has failed.
        if deepest.state.is_none() || stack.len() > deepest.prefix.len() {
            deepest.prefix.truncate(deepest.agree);
            let changed = stack[deepest.agree..].iter().map(|f| list.op(f.call));
            deepest.prefix.extend(changed);
            deepest.agree = stack.len();
            let mut stuck = list.candidates(bound.expect("dead ends come after the ok scan"));
            stuck.sort_unstable_by_key(|&op| rank[op]);
            deepest.stuck = stuck;
            deepest.state = Some(state.clone());
        }
        let Some(frame) = stack.pop() else {
            return Ok(Linearization::NotLinearizable {
                longest_prefix: deepest.prefix,
                stuck: deepest.stuck,
                state: deepest.state.expect("a dead end was just recorded"),
            });
        };
        deepest.agree = deepest.agree.min(stack.len());
        seen.close(frame.memo);
        state = frame.before;
        let op = list.op(frame.call);
        linearized.remove(op);
        done[op] = false;
        if ops[op].ret.is_some() {
            required += 1;
            bound = None;
            entry = list.next(frame.call);
        } else {
            info.untake(op);
            bound = Some(frame.bound);
            info_at = frame.info_at;
        }
        list.unlift(frame.call);
        // After a forced read, the configuration has no other candidate worth trying.
        exhausted = frame.forced;
        if exhausted {
            bound = Some(list.index(list.first_return()));
        }
    }
    Ok(Linearization::Linearizable {
        order: stack.iter().map(|f| list.op(f.call)).collect(),
    })
}

/// Whether taking the indeterminate `op` (reaching `next`) is to be left out because of the
/// run of indeterminate operations it would end, the block: those on top of the stack (taken
/// since the last `ok` one), then `op`. With `start` the state before the block:
///
/// - the block is a loop, `next == start`: its configuration has the same `ok` operations and
///   state as the one before the block, fewer indeterminate operations left, and that one's
///   `ok` candidates were all tried before any indeterminate one (only where the model lets
///   the search leave out undone effects, [`Model::PRUNE_ABSORBED`]: a loop's effect is
///   undone too, and on kv histories leaving loops out made searches take the long way round,
///   2,000,000 steps where 60,000 did);
/// - or one other candidate `h` does what the block does (it is *direct* to `next`): it can
///   take effect only in `start` and leads to `next` there (a cas), or it overwrites with
///   `next` and so does the block's first operation (a write; see [`Model::overwrites`]). The
///   configuration taking `h` instead of the block, a sibling of the block's first operation,
///   has the block's operations left where this one has `h`, and the block can stand in for
///   `h` wherever `h` could take effect later: whatever completes this configuration
///   completes that one;
/// - or `next` is not a state the block needs to reach, and every state it needs to reach has
///   a direct candidate (see [`needed`]): any longer block through `next` to a needed state
///   would be left out by the rule above.
///
/// So a write of 3 is left out where a cas from the current value to 3 is pending, and so is
/// a detour through other values where one operation leads to the same value: of the many
/// runs of indeterminate operations from one state to another, one.
#[allow(clippy::too_many_arguments)]
fn pointless<M: Model>(
    model: &M,
    info: &Indeterminate<M::State>,
    stack: &[Frame<M::State>],
    list: &EntryList,
    ops: &[Interval<M::Op>],
    state: &M::State,
    bound: u64,
    op: usize,
    next: &M::State,
    scratch: &mut Targets<M::State>,
) -> bool {
    let (mut start, mut first) = (state, op);
    for frame in stack.iter().rev() {
        let taken = list.op(frame.call);
        if ops[taken].ret.is_some() {
            break;
        }
        (start, first) = (&frame.before, taken);
    }
    if next == start && M::PRUNE_ABSORBED {
        return true;
    }
    let starts_overwriting = model.overwrites(&ops[first].op).is_some();
    let direct = |to: &M::State| {
        info.heads_from(start).any(|h| {
            let o = &ops[h].op;
            h != op
                && ops[h].call <= bound
                && match model.overwrites(o) {
                    Some(v) => starts_overwriting && v == *to,
                    None => {
                        model.applies_only_in(o).as_ref() == Some(start)
                            && model.step(start, o).as_ref() == Some(to)
                    }
                }
        })
    };
    if direct(next) {
        return true;
    }
    // Where the block may go on from `next`: not back to `start` (a loop), and, when the
    // search leaves out an indeterminate operation the next one undoes, not by overwriting
    // (`absorbed`), so only by operations that take effect in one state. (Asked before the
    // scan of the `ok` candidates below, which costs far more.)
    if !M::PRUNE_ABSORBED || info.roaming() {
        return false;
    }
    if !needed(model, list, ops, start, &mut scratch.needed) || scratch.needed.contains(next) {
        return false;
    }
    let reach = &mut scratch.reach;
    reach.clear();
    reach.push(next.clone());
    let mut at = 0;
    while at < reach.len() {
        let from = reach[at].clone();
        for h in info.heads_only_in(&from).filter(|&h| ops[h].call <= bound) {
            if let Some(to) = model.step(&from, &ops[h].op) {
                if to != *start && !reach.contains(&to) {
                    reach.push(to);
                }
            }
        }
        at += 1;
    }
    scratch
        .needed
        .iter()
        .all(|n| direct(n) || !scratch.reach.contains(n))
}

/// The call entry of an `ok` candidate that observes only ([`Model::observes_only`]) and can
/// take effect in `state`, whose identical twin, if any, is taken: the one candidate a pruned
/// search need try.
///
/// If the configuration has a completion, taking that read first has one too: move the read to
/// the front of the completion. It can take effect now and changes nothing, so every later
/// operation sees the same states; and it is a candidate, invoked no later than the first
/// remaining return, so no operation still to come returned before it was invoked. So if the
/// read leads nowhere, neither does any other candidate, `ok` or indeterminate. On one key with
/// 20 clients the scan otherwise tries every order of writes and reads of the current value.
fn forced_observation<M: Model>(
    model: &M,
    list: &EntryList,
    ops: &[Interval<M::Op>],
    state: &M::State,
    twin: &[usize],
    done: &[bool],
) -> Option<usize> {
    let mut node = list.first();
    while list.is_call(node) {
        let op = list.op(node);
        if M::observes_only(&ops[op].op)
            && (twin[op] == NIL || done[twin[op]])
            && model.legal(state, &ops[op].op)
        {
            return Some(node);
        }
        node = list.next(node);
    }
    None
}

/// Buffers [`pointless`] reuses.
struct Targets<S> {
    /// The states a block may need to reach.
    needed: Vec<S>,
    /// The states a block may go on to.
    reach: Vec<S>,
}

/// The states a block of indeterminate operations from `start` may need to reach, into
/// `states`, or `false` if any may be. The `ok` operation after a block must be one that could
/// not take effect in `start`. One that could is not needed there: if it can take effect in
/// just one state, the block is a loop; if it overwrites, it leads where it would have led
/// without the block, which the search tried before any indeterminate operation; if it
/// observes only ([`Model::observes_only`]), taking it before the block reaches the same
/// configuration. So the states are those where the `ok` candidates that cannot take effect
/// in `start` can ([`Model::applies_only_in`]); any state if one of them says nothing of
/// where it can.
fn needed<M: Model>(
    model: &M,
    list: &EntryList,
    ops: &[Interval<M::Op>],
    start: &M::State,
    states: &mut Vec<M::State>,
) -> bool {
    states.clear();
    let mut node = list.first();
    while list.is_call(node) {
        let o = &ops[list.op(node)].op;
        let only_in = model.applies_only_in(o);
        if !model.legal(start, o) {
            match only_in {
                Some(s) => {
                    if !states.contains(&s) {
                        states.push(s);
                    }
                }
                None => return false,
            }
        } else if only_in.is_none() && model.overwrites(o).is_none() && !M::observes_only(o) {
            // It could take effect in `start` and in other states, and might lead elsewhere
            // after the block.
            return false;
        }
        node = list.next(node);
    }
    true
}

/// Whether taking `op` (reaching `next`) now would undo the indeterminate operation on top of
/// the stack: `op` leads to `next` from the state before it as well, so that operation's effect
/// is lost.
///
/// Such a branch is never needed. The configuration without the indeterminate operation but
/// with `op` has the same state and one more operation still optional, so every completion of
/// this branch completes it too; and it is a child of an ancestor on the current path (one of
/// the nearest that `op` does not undo), which the search expands in any case. By induction on
/// the length of the shortest completion, some such configuration is expanded, memo or not.
/// The pruning depends on the path, not just the configuration, which is why it needs that
/// argument rather than being obvious; the randomized tests check it against brute force.
fn absorbed<M: Model>(
    model: &M,
    stack: &[Frame<M::State>],
    ops: &[Interval<M::Op>],
    list: &EntryList,
    op: &M::Op,
    next: &M::State,
) -> bool {
    let Some(top) = stack.last() else {
        return false;
    };
    if ops[list.op(top.call)].ret.is_some() {
        return false;
    }
    model.step(&top.before, op).as_ref() == Some(next)
}

/// Whether the configuration the search is entering (the list with its linearized operations
/// lifted, and `state`) has no completion because some `ok` candidate could never take
/// effect: not now, and not after any of the operations that may still come before it, those
/// invoked before it returned (see [`Model::may_become_legal`]).
///
/// Only candidates are asked about, unless `everything`: they are what the search will try
/// next, and the few operations a dead end is usually about. Asking costs a model step per
/// candidate and a walk of the list to the last blocked one's return. With `everything`, each
/// other `ok` operation still to linearize that cannot take effect now is asked too, with every
/// operation left as what may precede it (a superset of what may, which keeps the answer
/// sound: [`Model::may_become_legal`] answers for any of the updates, in any order).
fn doomed<M: Model>(
    model: &M,
    list: &EntryList,
    info: &Indeterminate<M::State>,
    ops: &[Interval<M::Op>],
    state: &M::State,
    scratch: &mut Scratch,
    everything: bool,
) -> bool {
    let Scratch {
        pending,
        blocked,
        heads,
    } = scratch;
    pending.clear();
    blocked.clear();
    heads.clear();
    let mut node = list.first();
    while list.is_call(node) {
        let op = list.op(node);
        pending.push(op);
        if !model.legal(state, &ops[op].op) {
            blocked.push(op);
        }
        node = list.next(node);
    }
    // The indeterminate operations that may precede a blocked candidate, in call order: all of
    // them, or, for a model that asks only which distinct updates are pending, each chain's
    // first one not yet taken (found once, when first needed).
    let as_set = M::UPDATES_AS_SET;
    let mut info_node = list.first_info();
    let mut heads_at = 0;
    while !blocked.is_empty() && node != NIL {
        let op = list.op(node);
        if list.is_call(node) {
            pending.push(op);
        } else if let Some(at) = blocked.iter().position(|&b| b == op) {
            // A blocked candidate's return: everything that may precede it is known now.
            blocked.swap_remove(at);
            let until = list.index(node);
            if as_set {
                if heads.is_empty() {
                    heads.extend((0..info.len()).filter_map(|c| info.head(c)));
                    heads.sort_unstable_by_key(|&op| ops[op].call);
                }
                while heads_at < heads.len() && ops[heads[heads_at]].call <= until {
                    pending.push(heads[heads_at]);
                    heads_at += 1;
                }
            } else {
                while info_node != NIL && list.index(info_node) <= until {
                    pending.push(list.op(info_node));
                    info_node = list.next(info_node);
                }
            }
            let mut before = pending.iter().map(|&i| &ops[i].op);
            if !model.may_become_legal(state, &ops[op].op, &mut before) {
                return true;
            }
        }
        node = list.next(node);
    }
    if everything {
        pending.clear();
        let mut node = list.first();
        while node != NIL {
            if list.is_call(node) {
                pending.push(list.op(node));
            }
            node = list.next(node);
        }
        let mut node = list.first_info();
        while node != NIL {
            pending.push(list.op(node));
            node = list.next(node);
        }
        for &op in pending.iter() {
            if ops[op].ret.is_some() && !model.legal(state, &ops[op].op) {
                let mut before = pending.iter().map(|&i| &ops[i].op);
                if !model.may_become_legal(state, &ops[op].op, &mut before) {
                    return true;
                }
            }
        }
    }
    false
}

/// Buffers [`doomed`] reuses from one configuration to the next.
#[derive(Default)]
struct Scratch {
    /// Operations that may come before the blocked candidate being asked about.
    pending: Vec<usize>,
    /// Candidates that cannot take effect now, not yet asked about.
    blocked: Vec<usize>,
    /// The first indeterminate operation not yet taken of each chain, in call order.
    heads: Vec<usize>,
}

/// How far back (in identical operations of the same kind, indeterminate or `ok`)
/// `earlier_twins` looks for a twin.
const TWIN_WINDOW: usize = 64;

/// For each operation, an identical operation invoked no later that the search must take first
/// (its twin), else `NIL`.
///
/// Identical operations whose intervals are nested the same way, A invoked no later than B
/// and returning no later, are interchangeable: in a linearization that takes B at p and A at
/// a later q, A may take p (it was invoked by then, and returns after q) and B q (it was
/// invoked before p, and returns no earlier than A), leaving every state as it was. Each such
/// swap raises the sum of call rank × position, so swapping ends, in a linearization where
/// every operation comes after its twin. The search therefore takes an operation only once its
/// twin is taken: twenty concurrent `read 3`s or `append "2;"`s are tried in one order, not in
/// every order.
///
/// - An `ok` operation's twin is the nearest earlier-invoked identical `ok` one that returned
///   no later.
/// - An indeterminate one's is the nearest earlier-invoked identical indeterminate one: both
///   stay candidates from their calls on, and an unused earlier one may stand in for a used
///   later one, so the ones used can be the earliest of their chain, in call order.
///
/// The two kinds never twin each other, so the two arguments do not interfere. A chain broken
/// by [`TWIN_WINDOW`] is only less pruning, never a wrong answer.
fn earlier_twins<O: Eq + Hash>(ops: &[Interval<O>], by_call: &[usize]) -> Vec<usize> {
    let mut twin = vec![NIL; ops.len()];
    // The latest operation of each kind and value so far, and each operation's previous
    // identical one of its kind: a list per value without a vector per value (with unique
    // values, one per operation).
    let mut latest: [HashMap<&O, usize, FxBuildHasher>; 2] = Default::default();
    let mut previous = vec![NIL; ops.len()];
    for &i in by_call {
        let kind = usize::from(ops[i].ret.is_none());
        if let Some(last) = latest[kind].insert(&ops[i].op, i) {
            previous[i] = last;
        }
        let mut j = previous[i];
        for _ in 0..TWIN_WINDOW {
            if j == NIL || ops[j].ret <= ops[i].ret {
                break;
            }
            j = previous[j];
        }
        twin[i] = if j != NIL && ops[j].ret <= ops[i].ret {
            j
        } else {
            NIL
        };
    }
    twin
}

/// One linearized operation on the search's stack.
struct Frame<S> {
    /// Its call entry.
    call: usize,
    /// The model state before it.
    before: S,
    /// For an indeterminate operation, the candidates' bound when it was taken, and where the
    /// scan of indeterminate candidates was, to resume it there when it is undone.
    bound: u64,
    info_at: Option<Place>,
    /// Its configuration in the memo, closed when it is undone (see `explored.rs`).
    memo: At,
    /// Whether it was the one candidate its configuration tried (`forced_observation`).
    forced: bool,
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
/// The head sentinel of the list of `ok` operations' calls and returns.
const HEAD: usize = 0;
/// The head sentinel of the list of indeterminate operations' calls.
const INFO_HEAD: usize = 1;

/// One list node: a head sentinel, or a call or return entry.
#[derive(Debug, Clone)]
struct Node {
    prev: usize,
    next: usize,
    op: usize,
    is_call: bool,
    /// A call's return node, or a return's call node; `NIL` for an indeterminate call.
    partner: usize,
    /// The entry's event index (+infinity for the end).
    index: u64,
}

/// The entries as two doubly linked lists in one arena, so that lifting an operation out and
/// putting it back (dancing links) are O(1): the `ok` operations' calls and returns in event
/// order, and the indeterminate operations' calls in event order (their returns, at +infinity,
/// are never reached: the search ends when the last `ok` operation is linearized).
struct EntryList {
    nodes: Vec<Node>,
    /// Each operation's call node, by operation.
    call_node: Vec<usize>,
}

impl EntryList {
    fn new<O>(ops: &[Interval<O>]) -> Self {
        // Sort key (index, rank, op): calls before returns at the same index (closed
        // intervals overlap).
        let mut main: Vec<(u64, u8, usize)> = Vec::with_capacity(2 * ops.len());
        let mut info: Vec<(u64, u8, usize)> = Vec::new();
        for (i, o) in ops.iter().enumerate() {
            match o.ret {
                Some(r) => {
                    main.push((o.call, 0, i));
                    // A return before its own call would be malformed; treat it as instantaneous.
                    main.push((r.max(o.call), 1, i));
                }
                None => info.push((o.call, 0, i)),
            }
        }
        main.sort_unstable();
        info.sort_unstable();

        let sentinel = Node {
            prev: NIL,
            next: NIL,
            op: usize::MAX,
            is_call: false,
            partner: NIL,
            index: u64::MAX,
        };
        let mut nodes = vec![sentinel.clone(), sentinel];
        let mut call_node = vec![NIL; ops.len()];
        for (head, entries) in [(HEAD, &main), (INFO_HEAD, &info)] {
            let mut prev = head;
            for &(index, kind, op) in entries.iter() {
                let node = nodes.len();
                let is_call = kind == 0;
                let mut partner = NIL;
                if is_call {
                    call_node[op] = node;
                } else {
                    partner = call_node[op];
                    nodes[partner].partner = node;
                }
                nodes.push(Node {
                    prev,
                    next: NIL,
                    op,
                    is_call,
                    partner,
                    index,
                });
                nodes[prev].next = node;
                prev = node;
            }
        }
        EntryList { nodes, call_node }
    }

    /// The first entry of the `ok` list.
    fn first(&self) -> usize {
        self.nodes[HEAD].next
    }

    /// The first return entry of the `ok` list (`NIL` if none).
    fn first_return(&self) -> usize {
        let mut node = self.first();
        while self.is_call(node) {
            node = self.next(node);
        }
        node
    }

    /// The first entry of the indeterminate list.
    fn first_info(&self) -> usize {
        self.nodes[INFO_HEAD].next
    }

    fn next(&self, node: usize) -> usize {
        self.nodes[node].next
    }

    fn op(&self, node: usize) -> usize {
        self.nodes[node].op
    }

    /// The event index of `node`; +infinity past the end.
    fn index(&self, node: usize) -> u64 {
        if node == NIL {
            u64::MAX
        } else {
            self.nodes[node].index
        }
    }

    /// Whether `node` is a call entry.
    fn is_call(&self, node: usize) -> bool {
        node != NIL && self.nodes[node].is_call
    }

    /// The candidates now: the `ok` calls before the first return, and the indeterminate calls
    /// at or before `bound`, that return's index.
    fn candidates(&self, bound: u64) -> Vec<usize> {
        let mut calls = Vec::new();
        let mut node = self.first();
        while self.is_call(node) {
            calls.push(self.op(node));
            node = self.next(node);
        }
        let mut node = self.first_info();
        while node != NIL && self.nodes[node].index <= bound {
            calls.push(self.op(node));
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

    /// Removes a call entry and its return entry, if it has one.
    fn lift(&mut self, call: usize) {
        self.unlink(call);
        let ret = self.nodes[call].partner;
        if ret != NIL {
            self.unlink(ret);
        }
    }

    /// Undoes [`EntryList::lift`]; must be applied in reverse order of the lifts.
    fn unlift(&mut self, call: usize) {
        let ret = self.nodes[call].partner;
        if ret != NIL {
            self.relink(ret);
        }
        self.relink(call);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::model::Model;
    use std::time::{Duration, Instant};

    /// A register of small integers, independent of JSON, to test the search on its own.
    struct IntRegister;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
        fn may_become_legal(
            &self,
            _: &u8,
            op: &Op,
            updates: &mut dyn Iterator<Item = &Op>,
        ) -> bool {
            let (Op::Read(v) | Op::Cas(v, _)) = *op else {
                return true;
            };
            let mut written = updates.filter_map(|u| match *u {
                Op::Write(w) | Op::Cas(_, w) => Some(w),
                Op::Read(_) => None,
            });
            written.any(|w| w == v)
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

    /// Many concurrent writes of distinct values and a read of a value nobody wrote: the exact
    /// search explores every order of the writes (2^40 configurations) before it gives up.
    fn hopeless() -> Vec<Interval<Op>> {
        let mut ops: Vec<_> = (0..40)
            .map(|i| iv(Op::Write(i as u8 + 1), 0, Some(100)))
            .collect();
        ops.push(iv(Op::Read(200), 0, Some(100)));
        ops
    }

    #[test]
    fn a_long_search_stops_at_the_deadline() {
        let ops = hopeless();
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
    fn a_tiny_memory_limit_stops_a_hard_search() {
        let ops = hopeless();
        let budget = Budget::new(None, Some(1 << 20));
        assert_eq!(
            check_within(&IntRegister, &ops, &budget, None),
            Err(Stop::Memory(1 << 20))
        );
        // Whatever it held is given back.
        assert_eq!(budget.reserved(), 0);
    }

    #[test]
    fn a_step_limit_stops_a_search() {
        let ops = hopeless();
        assert_eq!(
            check_within(&IntRegister, &ops, &Budget::unlimited(), Some(10_000)),
            Err(Stop::Steps)
        );
    }

    #[test]
    fn a_read_no_pending_write_can_satisfy_ends_the_pruned_search_at_once() {
        // The exact search tries every order of the 40 writes before the read is due; the
        // pruned one sees after the first write that the read never can be.
        let mut ops = hopeless();
        let unlimited = Budget::unlimited();
        assert_eq!(
            check_within(&IntRegister, &ops, &unlimited, Some(10_000)),
            Err(Stop::Steps)
        );
        let Ok(Linearization::NotLinearizable { longest_prefix, .. }) =
            decide_within(&IntRegister, &ops, &unlimited, Some(1_000))
        else {
            panic!("the pruned search should decide within 1,000 steps");
        };
        assert!(longest_prefix.is_empty(), "{longest_prefix:?}");
        // Once the write of 200's value is pending, the read may yet succeed: nothing is cut.
        ops.push(iv(Op::Write(200), 0, Some(100)));
        let Ok(Linearization::Linearizable { order }) =
            decide_within(&IntRegister, &ops, &unlimited, Some(1_000))
        else {
            panic!("a write of 200 makes it linearizable");
        };
        assert_witness(&ops, &order);
    }

    #[test]
    fn pending_writes_do_not_slow_a_sequential_history() {
        // 200 writes that never completed, invoked first, then 2,000 sequential operations
        // none of which saw them. Tried first (Porcupine's order), each pending write would be
        // taken and backed out of at every step; tried last, none is ever taken.
        let mut ops: Vec<_> = (0..200)
            .map(|i| iv(Op::Write(100 + (i % 100) as u8), i, None))
            .collect();
        for i in 0..1000u64 {
            let t = 1000 + 4 * i;
            let v = (i % 7) as u8;
            ops.push(iv(Op::Write(v), t, Some(t + 1)));
            ops.push(iv(Op::Read(v), t + 2, Some(t + 3)));
        }
        let got = check_within(&IntRegister, &ops, &Budget::unlimited(), Some(4_000));
        let Ok(Linearization::Linearizable { order }) = got else {
            panic!("expected linearizable within the step limit, got {got:?}")
        };
        assert_eq!(order.len(), 2000);
    }

    /// Whether the exact and both pruned searches ([`decide_within`], [`decide_small`]) agree
    /// on `ops`: the verdict, or `None` if a search ran out of steps. A pruned search's witness
    /// must follow the model.
    fn pruned_agrees<M: Model>(model: &M, ops: &[Interval<M::Op>], n: u64) -> Option<bool> {
        let budget = Budget::unlimited();
        let exact = check_within(model, ops, &budget, Some(2_000_000));
        let verdict = |r: &Result<Linearization<_>, Stop>| match r {
            Ok(Linearization::Linearizable { .. }) => Some(true),
            Ok(_) => Some(false),
            Err(_) => None,
        };
        let e = verdict(&exact);
        let mut agreed = e;
        for pruned in [
            decide_within(model, ops, &budget, Some(2_000_000)),
            decide_small(model, ops, &budget, Some(2_000_000)),
        ] {
            let p = verdict(&pruned);
            assert!(
                p.is_some() || e.is_none(),
                "history {n}: only the pruned search ran out"
            );
            if let Ok(Linearization::Linearizable { order }) = &pruned {
                let mut state = model.init();
                for &i in order {
                    state = model
                        .step(&state, &ops[i].op)
                        .expect("witness follows the model");
                }
            }
            if let (Some(e), Some(p)) = (e, p) {
                assert_eq!(e, p, "history {n}: exact says {e}, pruned says {p}");
            } else {
                agreed = None;
            }
        }
        agreed
    }

    /// Random single-key histories with many indeterminate operations and repeated values,
    /// where the pruning of `decide_within` cuts most: stale reads, and in a third of them an
    /// observation that returns something else, make about half of them invalid.
    fn random_histories(
        object: crate::testing::simulation::Object,
        count: u64,
        seed: u64,
    ) -> impl Iterator<Item = (u64, Vec<crate::history::operation::Operation>)> {
        use crate::testing::simulation::{Simulation, SplitMix, Values};
        let mut rng = SplitMix::new(seed);
        (0..count).map(move |n| {
            let sim = Simulation {
                object,
                ops: 10 + rng.below(50) as usize,
                clients: 2 + rng.below(4) as usize,
                values: Values::Range(2 + rng.below(3)),
                info_rate: 0.1 + 0.3 * (n % 3) as f64,
                stale_read: n % 2 == 0,
                seed: n,
                ..Simulation::default()
            };
            let mut events = sim.events();
            if n % 3 == 0 {
                if let Some(e) = events.iter_mut().find(|e| {
                    e.kind == crate::history::event::EventType::Ok
                        && (e.f == "read" || e.f == "get")
                }) {
                    e.value = match object {
                        crate::testing::simulation::Object::Register => {
                            serde_json::json!(rng.below(3))
                        }
                        crate::testing::simulation::Object::Kv => {
                            serde_json::json!(format!("{};", rng.below(3)))
                        }
                    };
                }
            }
            (n, crate::history::operation::pair(&events).unwrap())
        })
    }

    /// Asserts that at least `each` of `verdicts` are valid and as many invalid.
    fn assert_both_kinds(verdicts: impl Iterator<Item = Option<bool>>, each: usize) {
        let decided: Vec<bool> = verdicts.flatten().collect();
        let valid = decided.iter().filter(|&&v| v).count();
        let invalid = decided.len() - valid;
        assert!(
            valid > each && invalid > each,
            "{valid} valid, {invalid} invalid"
        );
        eprintln!("pruned and exact agree: {valid} valid, {invalid} invalid");
    }

    #[test]
    fn pruned_and_exact_searches_agree_on_random_histories() {
        use crate::key_check::KeyCheck;
        use crate::models::cas_register::CasRegister;
        let histories = random_histories(
            crate::testing::simulation::Object::Register,
            20_000,
            0xdec1de,
        );
        let verdicts = histories.map(|(n, ops)| {
            let null = serde_json::Value::Null;
            let observes = crate::history::failed_cas::FailedCas::Observes;
            let register = CasRegister::new(&null).with_failed_cas(observes);
            let k = KeyCheck::new(null.clone(), ops.iter().collect(), register).unwrap();
            pruned_agrees(&k.model, &k.intervals, n)
        });
        assert_both_kinds(verdicts, 4000);
    }

    #[test]
    fn a_read_that_can_take_effect_is_the_one_candidate_tried() {
        // 20 clients on one register, values 0..4, cas, 10 % indeterminate: trying writes and
        // indeterminate operations beside a read of the current value took the pruned search
        // tens of millions of steps on 20,000 operations; taking the read alone, about 10,000
        // on 2,000.
        use crate::key_check::KeyCheck;
        use crate::models::cas_register::CasRegister;
        use crate::testing::simulation::{Simulation, Values};
        const STEPS: u64 = 50_000;
        for seed in 0..3 {
            let sim = Simulation {
                ops: 2_000,
                clients: 20,
                values: Values::Range(5),
                info_rate: 0.1,
                seed,
                ..Simulation::default()
            };
            let ops = crate::history::operation::pair(&sim.events()).unwrap();
            let null = serde_json::Value::Null;
            let register = CasRegister::new(&null);
            let k = KeyCheck::new(null.clone(), ops.iter().collect(), register).unwrap();
            let got = decide_within(&k.model, &k.intervals, &Budget::unlimited(), Some(STEPS));
            assert!(
                matches!(got, Ok(Linearization::Linearizable { .. })),
                "seed {seed}: {got:?}"
            );
        }
    }

    #[test]
    fn pruned_and_exact_searches_agree_on_many_client_cas_histories() {
        // The bench's cas-info shape at sizes brute force cannot reach but the exact search
        // can: 12 to 35 operations by 6 to 20 clients, values 0..3 to 0..4, cas, 10 % to 30 %
        // indeterminate, so runs of indeterminate operations between `ok` ones are long and
        // `pointless` and the memo's dominance cut most; a stale read in half, and in a third a
        // read of anything.
        use crate::key_check::KeyCheck;
        use crate::models::cas_register::CasRegister;
        use crate::testing::simulation::{read_anything, Simulation, SplitMix, Values};
        let mut rng = SplitMix::new(0xca5_1f0);
        let verdicts = (0..6_000u64).map(|n| {
            let sim = Simulation {
                ops: 12 + rng.below(24) as usize,
                clients: 6 + rng.below(15) as usize,
                values: Values::Range(4 + rng.below(2)),
                cas: true,
                info_rate: 0.1 + 0.1 * (n % 3) as f64,
                stale_read: n % 2 == 0,
                seed: n,
                ..Simulation::default()
            };
            let mut events = sim.events();
            if n % 3 == 0 {
                read_anything(&mut events, serde_json::json!(rng.below(5)));
            }
            let ops = crate::history::operation::pair(&events).unwrap();
            let null = serde_json::Value::Null;
            let observes = crate::history::failed_cas::FailedCas::Observes;
            let register = CasRegister::new(&null).with_failed_cas(observes);
            let k = KeyCheck::new(null.clone(), ops.iter().collect(), register).unwrap();
            pruned_agrees(&k.model, &k.intervals, n)
        });
        assert_both_kinds(verdicts, 1000);
    }

    #[test]
    fn pruned_and_exact_searches_agree_on_random_kv_histories() {
        use crate::key_check::KeyCheck;
        use crate::models::history_model::HistoryModel;
        use crate::models::kv::Kv;
        let histories = random_histories(crate::testing::simulation::Object::Kv, 10_000, 0xa99e7d);
        let verdicts = histories.map(|(n, ops)| {
            let model = Kv::from_initial(&serde_json::Value::Null).unwrap();
            let k = KeyCheck::new(serde_json::Value::Null, ops.iter().collect(), model).unwrap();
            pruned_agrees(&k.model, &k.intervals, n)
        });
        assert_both_kinds(verdicts, 2000);
    }

    #[test]
    fn pruned_and_exact_searches_agree_on_porcupine_shaped_kv_histories() {
        // Mostly appends and gets, a few puts, slow appends overlapping many others, unique
        // values with stale gets: where asking every pending get (`decide_small`) cuts most.
        use crate::key_check::KeyCheck;
        use crate::models::history_model::HistoryModel;
        use crate::models::kv::Kv;
        use crate::testing::simulation::{Mix, Object, Simulation, SplitMix, Values};
        let mut rng = SplitMix::new(0x9012c);
        let verdicts = (0..3_000u64).map(|n| {
            let sim = Simulation {
                object: Object::Kv,
                ops: 8 + rng.below(22) as usize,
                clients: 2 + rng.below(6) as usize,
                values: if n % 2 == 0 {
                    Values::Unique
                } else {
                    Values::Range(3)
                },
                mix: Some(Mix {
                    read: 44,
                    write: 5 + 20 * (n % 3),
                    third: 51,
                }),
                long_updates: 0.3,
                info_rate: 0.1 * (n % 3) as f64,
                stale_read: n % 4 != 3,
                seed: n,
                ..Simulation::default()
            };
            let ops = crate::history::operation::pair(&sim.events()).unwrap();
            let model = Kv::from_initial(&serde_json::Value::Null).unwrap();
            let k = KeyCheck::new(serde_json::Value::Null, ops.iter().collect(), model).unwrap();
            pruned_agrees(&k.model, &k.intervals, n)
        });
        assert_both_kinds(verdicts, 300);
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
