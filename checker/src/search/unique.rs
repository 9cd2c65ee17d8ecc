//! The fast path: deciding a register key in O(n log n) when every written value is unique.
//!
//! When no two writes (or cas) write the same value, and none writes the initial value, every
//! read names the one write it observed, and the search's exponential worst case disappears
//! (Gibbons & Korach, "Testing shared memories", 1997, for reads and writes; here extended to
//! indeterminate operations and compare-and-set).
//!
//! **Clusters.** A value's cluster is its write and the operations that observed it: its `ok`
//! reads, and the cas that swapped it out, if one did. The initial value's write is a virtual
//! one at -infinity. With unique values the register holds a value exactly from its write to the
//! next write, so a linearization is a sequence of clusters, each contiguous, write first.
//!
//! **Blocks.** A cas `a → b` both ends `a`'s cluster and starts `b`'s, atomically, so the
//! clusters a chain of cas links must be adjacent, in order: a block. Its operations must take
//! effect in the order write, reads of `a`, cas `a → b`, reads of `b`, …; whether real time
//! allows that is decided greedily, each operation as early as its group allows.
//!
//! **Zones.** Let `f` be the earliest completion among a block's operations and `s` the latest
//! invocation. If `f < s` the block must be current throughout `[f, s]` (a *forward* zone): its
//! first operation takes effect by `f`, its last not before `s`. Otherwise it fits at any single
//! instant of `[s, f]` (a *backward* zone), since every one of its operations spans it:
//!
//! ```text
//!   forward:   write 1 |--|            f = write's completion
//!              read 1         |--|     s = read's invocation: 1 is current across [f, s]
//!   backward:  write 2 |---------|
//!              read 2    |--------|    s ≤ f: 2 may live for an instant anywhere in [s, f]
//! ```
//!
//! **Theorem.** The key is linearizable iff every block is internally feasible, no two forward
//! zones overlap (touching is fine: intervals are closed), and no backward zone lies strictly
//! inside a forward one. *Necessity:* a forward block occupies at least `[f, s]` and blocks do
//! not interleave, so two forward zones cannot overlap; a backward block has an operation at or
//! around some instant of `[s, f]`, which strictly inside a forward zone would split that block.
//! *Sufficiency:* place each forward block's operations by its feasible order clamped into
//! `[f, s]` (clamping is monotone and keeps every point inside its operation's interval, as
//! every call is ≤ s and every return ≥ f), and each backward block at one instant of `[s, f]`
//! outside every forward interior (one exists unless `[s, f]` lies in a single interior). Sorted
//! by time, ties broken block by block, this is a legal sequential history in which every
//! operation takes effect within its interval.
//!
//! **Indeterminate operations.** Only values something must observe count: those an `ok`
//! operation read, wrote or compared against, closed under "the cas that wrote it compared
//! against this one". Every write and cas of such a value is kept (an indeterminate one with its
//! return at +infinity); every other indeterminate write or cas is dropped: in any linearization
//! it and the values it leads to are read by no kept operation, so removing them leaves the
//! kept operations' reads unchanged. Failed operations never happened and indeterminate reads
//! observe nothing; both are gone before this.
//!
//! **Mismatches.** A failed cas that observed a mismatch changes nothing, so leaving it out can
//! only add linearizations: if the rest is not linearizable, neither is the key, and that
//! verdict stands. If the rest is linearizable, the sufficiency proof's linearization is built
//! (`Built`) and each mismatch must find an instant of its interval where that linearization
//! does not hold its expected value; a mismatch inserted there changes nothing else, so the key
//! is linearizable. If one does not fit, another linearization might still have room for it:
//! [`decide`] answers `None` and the search decides the key.
//!
//! **Limits.** Repeated values (including a write of the initial value) make reads ambiguous:
//! [`decide`] answers `None` and the caller searches, except where an `ok` operation observed a
//! value (not the initial one) that no operation invoked before it completed writes: that is
//! invalid whatever the order, and the search would learn it only after exhausting every order
//! before that operation. Both
//! answers are proofs, never guesses;
//! the tests below hold them against the search and a brute force on 30,000 random histories.

use crate::models::interner::ValueId;
use crate::models::register_op::RegisterOp;
use crate::search::fx_hash::FxBuildHasher;
use crate::search::interval::Interval;
use std::collections::{BTreeSet, HashMap, HashSet};

/// The fast path's verdict on a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Some order of the operations is legal.
    Linearizable,
    /// None is, for this reason.
    NotLinearizable(Violation),
}

/// Why a unique-value key is not linearizable. Operations are positions in the input slice;
/// `None` stands for the virtual write of the initial value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Violation {
    /// An `ok` operation observed a value that no write (that may have happened) wrote.
    NeverWritten {
        /// The operation that observed it.
        reader: usize,
    },
    /// An `ok` operation observed a value (not the initial one) that every operation writing it
    /// was invoked after it completed: with values repeating, the first of those writes.
    WrittenTooLate {
        /// The operation that observed it.
        reader: usize,
        /// The earliest-invoked operation that writes the value.
        first_writer: usize,
    },
    /// `later` must take effect after `earlier` (the values pass from one to the next in that
    /// order), but completed before `earlier` was invoked.
    OutOfOrder {
        /// The operation that must come first.
        earlier: Option<usize>,
        /// The operation that must come after it.
        later: usize,
    },
    /// Two cas operations both swapped out the value only one write put in place.
    SwappedTwice {
        /// The first cas.
        first: usize,
        /// The second.
        second: usize,
    },
    /// Cas operations that each compared against the value another of them wrote.
    Cycle {
        /// The cas operations, in the cycle's order.
        ops: Vec<usize>,
    },
    /// Two values each had to be current throughout a period, and the periods overlap.
    Overlap {
        /// The first value's period.
        first: Zone,
        /// The second value's period.
        second: Zone,
    },
    /// A value was written and all its readers ran entirely while another value had to be
    /// current.
    Inside {
        /// The period of the value that had to be current.
        outer: Zone,
        /// The write whose value came and went within it.
        inner: Option<usize>,
    },
}

/// A period a value (or a cas-linked block of values) must be current for: from `completed`'s
/// completion to `invoked`'s invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Zone {
    /// The write that put the block's first value in place.
    pub(crate) writer: Option<usize>,
    /// The block operation that completed first.
    pub(crate) completed: Option<usize>,
    /// The block operation invoked last.
    pub(crate) invoked: Option<usize>,
}

impl Violation {
    /// The operations the violation names (not the initial value's virtual write).
    pub(crate) fn operations(&self) -> Vec<usize> {
        let zone = |z: &Zone| [z.writer, z.completed, z.invoked];
        match self {
            Violation::NeverWritten { reader } => vec![*reader],
            Violation::WrittenTooLate {
                reader,
                first_writer,
            } => vec![*first_writer, *reader],
            Violation::OutOfOrder { earlier, later } => {
                earlier.iter().copied().chain([*later]).collect()
            }
            Violation::SwappedTwice { first, second } => vec![*first, *second],
            Violation::Cycle { ops } => ops.clone(),
            Violation::Overlap { first, second } => zone(first)
                .into_iter()
                .chain(zone(second))
                .flatten()
                .collect(),
            Violation::Inside { outer, inner } => {
                zone(outer).into_iter().chain([*inner]).flatten().collect()
            }
        }
    }

    /// One sentence, naming each operation with `name` (e.g. `write 3 by process 1 (...)`).
    pub(crate) fn describe(&self, name: &dyn Fn(usize) -> String) -> String {
        let opt = |op: Option<usize>| op.map_or_else(|| "the initial value".to_string(), name);
        let zone = |z: &Zone| {
            format!(
                "the value of {} had to be current from the completion of {} to the invocation \
                 of {}",
                opt(z.writer),
                opt(z.completed),
                opt(z.invoked)
            )
        };
        match self {
            Violation::NeverWritten { reader } => format!(
                "{} observed a value that no operation that may have happened wrote",
                name(*reader)
            ),
            Violation::WrittenTooLate {
                reader,
                first_writer,
            } => format!(
                "{} observed a value that every operation writing it was invoked after it \
                 completed, the first of them {}",
                name(*reader),
                name(*first_writer)
            ),
            Violation::OutOfOrder { earlier, later } => format!(
                "{} must take effect after {}, but completed before it was invoked",
                name(*later),
                opt(*earlier)
            ),
            Violation::SwappedTwice { first, second } => format!(
                "{} and {} both swapped out the same value, which only one write put in place",
                name(*first),
                name(*second)
            ),
            Violation::Cycle { ops } => {
                let names: Vec<String> = ops.iter().map(|&op| name(op)).collect();
                format!(
                    "each of these cas operations needs the value another of them writes: {}",
                    names.join("; ")
                )
            }
            Violation::Overlap { first, second } => format!(
                "{}, and {}: the periods overlap, but a register holds one value at a time",
                zone(first),
                zone(second)
            ),
            Violation::Inside { outer, inner } => format!(
                "{} was written and read entirely while {}",
                opt(*inner),
                zone(outer)
            ),
        }
    }
}

/// "No operation" in the per-value tables.
const NONE: usize = usize::MAX;
/// The virtual write of the initial value.
const VIRTUAL: usize = usize::MAX - 1;

/// Times as the zones compare them: 0 is -infinity, `u64::MAX` +infinity, event index `i` is
/// `i + 1`.
fn call_time(op: usize, ops: &[Interval<RegisterOp>]) -> u64 {
    if op == VIRTUAL {
        return 0;
    }
    ops[op].call.saturating_add(1).min(u64::MAX - 1)
}

fn return_time(op: usize, ops: &[Interval<RegisterOp>]) -> u64 {
    if op == VIRTUAL {
        return 0;
    }
    match ops[op].ret {
        // A return before its own call would be malformed; the search treats it as
        // instantaneous, and so does this.
        Some(r) => r.max(ops[op].call).saturating_add(1).min(u64::MAX - 1),
        None => u64::MAX,
    }
}

fn as_op(op: usize) -> Option<usize> {
    (op != VIRTUAL).then_some(op)
}

/// One block's zone, with the operations that set its ends.
#[derive(Debug, Clone, Copy)]
struct BlockZone {
    f: u64,
    s: u64,
    zone: Zone,
}

/// Decides the key in O(n log n) if its written values are unique. If they are not, decides
/// only a key where an `ok` operation observed a value nothing wrote (invalid whatever the
/// order); `None` otherwise.
pub(crate) fn decide(initial: ValueId, ops: &[Interval<RegisterOp>]) -> Option<Decision> {
    // Values get dense local numbers; `writer[v]` is the one operation that wrote value v.
    let mut local: HashMap<ValueId, usize, FxBuildHasher> = HashMap::default();
    let mut writer: Vec<usize> = Vec::new();
    let mut id = |v: ValueId, writer: &mut Vec<usize>| {
        *local.entry(v).or_insert_with(|| {
            writer.push(NONE);
            writer.len() - 1
        })
    };
    let init = id(initial, &mut writer);
    writer[init] = VIRTUAL;
    // Each operation's values, by local number: what it observed, what it wrote.
    let mut observed = vec![NONE; ops.len()];
    let mut wrote = vec![NONE; ops.len()];
    // The values failed cas saw the register differ from (see "Mismatches" above).
    let mut mismatched: Vec<(usize, ValueId)> = Vec::new();
    let mut repeated = false;
    for (i, o) in ops.iter().enumerate() {
        match o.op {
            RegisterOp::Read(v) => observed[i] = id(v, &mut writer),
            RegisterOp::Write(v) => wrote[i] = id(v, &mut writer),
            RegisterOp::Cas { expected, new } => {
                observed[i] = id(expected, &mut writer);
                wrote[i] = id(new, &mut writer);
            }
            RegisterOp::CasMismatch(expected) => mismatched.push((i, expected)),
        }
        if wrote[i] != NONE {
            if writer[wrote[i]] != NONE {
                repeated = true;
            } else {
                writer[wrote[i]] = i;
            }
        }
    }
    if repeated {
        // Not for this path, but a value nothing wrote, or that every write of was invoked
        // after the operation that observed it completed, is never explained by any order: the
        // search would have to exhaust every order before that operation.
        let mut first_writer = vec![NONE; writer.len()];
        for (i, o) in ops.iter().enumerate() {
            let v = wrote[i];
            if v != NONE && (first_writer[v] == NONE || o.call < ops[first_writer[v]].call) {
                first_writer[v] = i;
            }
        }
        return (0..ops.len()).find_map(|i| {
            let (v, ret) = (observed[i], ops[i].ret?);
            if v == NONE || writer[v] == VIRTUAL {
                return None;
            }
            let violation = match first_writer[v] {
                NONE => Violation::NeverWritten { reader: i },
                w if ops[w].call > ret => Violation::WrittenTooLate {
                    reader: i,
                    first_writer: w,
                },
                _ => return None,
            };
            Some(Decision::NotLinearizable(violation))
        });
    }
    let values = writer.len();

    // The values something must observe, closed under "the cas that wrote it compared against".
    let mut needed = vec![false; values];
    let mut work: Vec<(usize, usize)> = Vec::new();
    for (i, o) in ops.iter().enumerate() {
        if o.ret.is_some() {
            work.extend(
                [observed[i], wrote[i]]
                    .into_iter()
                    .filter(|&v| v != NONE)
                    .map(|v| (v, i)),
            );
        }
    }
    while let Some((v, by)) = work.pop() {
        if needed[v] {
            continue;
        }
        needed[v] = true;
        match writer[v] {
            NONE => {
                return Some(Decision::NotLinearizable(Violation::NeverWritten {
                    reader: by,
                }))
            }
            VIRTUAL => {}
            w if observed[w] != NONE => work.push((observed[w], w)),
            _ => {}
        }
    }
    let kept = |i: usize| ops[i].ret.is_some() || (wrote[i] != NONE && needed[wrote[i]]);

    // The cas that swapped each value out, and each value's plain ok reads (grouped by value).
    let mut swapped = vec![NONE; values];
    let mut read_count = vec![0usize; values + 1];
    for i in 0..ops.len() {
        if observed[i] == NONE || !kept(i) {
            continue;
        }
        let v = observed[i];
        if wrote[i] == NONE {
            read_count[v + 1] += 1;
        } else if swapped[v] != NONE {
            let (first, second) = (swapped[v].min(i), swapped[v].max(i));
            return Some(Decision::NotLinearizable(Violation::SwappedTwice {
                first,
                second,
            }));
        } else {
            swapped[v] = i;
        }
    }
    for v in 0..values {
        read_count[v + 1] += read_count[v];
    }
    let start = read_count;
    let mut fill = start.clone();
    let mut reads = vec![0usize; start[values]];
    for i in 0..ops.len() {
        if observed[i] != NONE && wrote[i] == NONE && kept(i) {
            reads[fill[observed[i]]] = i;
            fill[observed[i]] += 1;
        }
    }

    // Walk each block from its head (a value not written by a cas), placing operations greedily.
    let mut visited = vec![false; values];
    let mut zones: Vec<BlockZone> = Vec::new();
    // For placing failed-cas observations afterwards: each operation's greedy instant, each
    // block's operations, and the block of each value.
    let mut greedy = vec![0u64; ops.len()];
    let mut members_of: Vec<Vec<usize>> = Vec::new();
    let mut block_of = vec![NONE; values];
    for head in 0..values {
        let w = writer[head];
        if !needed[head] || (w != VIRTUAL && observed[w] != NONE) {
            continue;
        }
        // `now` is the earliest instant the next group may take effect; `set_by` the
        // operation whose invocation forced it.
        let mut now = call_time(w, ops);
        let mut set_by = w;
        let mut zone = BlockZone {
            f: return_time(w, ops),
            s: now,
            zone: Zone {
                writer: as_op(w),
                completed: as_op(w),
                invoked: as_op(w),
            },
        };
        let mut members_here: Vec<usize> = Vec::new();
        if w != VIRTUAL {
            greedy[w] = now;
            members_here.push(w);
        }
        let mut v = head;
        loop {
            visited[v] = true;
            block_of[v] = zones.len();
            let group = &reads[start[v]..start[v + 1]];
            let swap = swapped[v];
            // The reads of v, then the cas that swapped it out (a group of its own).
            for members in [
                group,
                if swap == NONE {
                    &[][..]
                } else {
                    std::slice::from_ref(&swap)
                },
            ] {
                let (mut next, mut next_by) = (now, set_by);
                for &op in members {
                    let (call, ret) = (call_time(op, ops), return_time(op, ops));
                    if now > ret {
                        return Some(Decision::NotLinearizable(Violation::OutOfOrder {
                            earlier: as_op(set_by),
                            later: op,
                        }));
                    }
                    greedy[op] = now.max(call);
                    members_here.push(op);
                    if call > next {
                        (next, next_by) = (call, op);
                    }
                    if ret < zone.f {
                        zone.f = ret;
                        zone.zone.completed = Some(op);
                    }
                    if call > zone.s {
                        zone.s = call;
                        zone.zone.invoked = Some(op);
                    }
                }
                (now, set_by) = (next, next_by);
            }
            if swap == NONE {
                break;
            }
            v = wrote[swap];
        }
        zones.push(zone);
        members_of.push(members_here);
    }
    if let Some(v) = (0..values).find(|&v| needed[v] && !visited[v]) {
        // Not reachable from a head: following the cas that wrote each value leads round.
        let mut cycle = Vec::new();
        let mut at = v;
        while !cycle.contains(&writer[at]) {
            cycle.push(writer[at]);
            at = observed[writer[at]];
        }
        cycle.reverse();
        return Some(Decision::NotLinearizable(Violation::Cycle { ops: cycle }));
    }

    // Forward zones must not overlap; backward ones must not sit inside a forward one.
    let (mut forward, backward): (Vec<BlockZone>, Vec<BlockZone>) =
        zones.iter().copied().partition(|z| z.f < z.s);
    forward.sort_unstable_by_key(|z| (z.f, z.s));
    let mut reach: Option<BlockZone> = None;
    for z in &forward {
        if let Some(r) = reach {
            if z.f < r.s {
                return Some(Decision::NotLinearizable(Violation::Overlap {
                    first: r.zone,
                    second: z.zone,
                }));
            }
        }
        if reach.is_none_or(|r| z.s > r.s) {
            reach = Some(*z);
        }
    }
    for z in &backward {
        // Disjoint and sorted by start, the forward zones are sorted by end too: the last one
        // starting before this zone reaches furthest.
        let before = forward.partition_point(|fz| fz.f < z.s);
        if let Some(outer) = before.checked_sub(1).map(|i| forward[i]) {
            if z.f < outer.s {
                return Some(Decision::NotLinearizable(Violation::Inside {
                    outer: outer.zone,
                    inner: z.zone.writer,
                }));
            }
        }
    }
    // Linearizable without the mismatches; each must find a moment the value differed.
    if !mismatched.is_empty() {
        let values = Values {
            local: &local,
            writer: &writer,
            needed: &needed,
            swapped: &swapped,
            block_of: &block_of,
        };
        // Indeterminate writes the linearization left out, by invocation, that may still be
        // put in to overwrite a value sooner: any whose value no mismatch expects.
        let expected: HashSet<ValueId> = mismatched.iter().map(|&(_, e)| e).collect();
        let spare: BTreeSet<(u64, usize)> = (0..ops.len())
            .filter(|&i| match ops[i].op {
                RegisterOp::Write(v) => {
                    ops[i].ret.is_none() && !needed[wrote[i]] && !expected.contains(&v)
                }
                _ => false,
            })
            .map(|i| (call_time(i, ops), i))
            .collect();
        // Either linearization will do, as long as every mismatch fits the same one.
        let fits = |early| {
            let mut built = Built::new(ops, &zones, &forward, &members_of, &greedy, early);
            let mut spare = spare.clone();
            let placed = mismatched.iter().all(|&(m, e)| {
                built.mismatch_fits(ops, m, e, &values)
                    || built.overwrite_sooner(ops, m, e, &values, &mut spare)
                    || built.write_later(ops, m, e, &values, &members_of)
            });
            // A later repair may have taken room an earlier mismatch needed: all must fit the
            // final linearization.
            placed
                && mismatched
                    .iter()
                    .all(|&(m, e)| built.mismatch_fits(ops, m, e, &values))
        };
        if !fits(true) && !fits(false) {
            return None;
        }
    }
    Some(Decision::Linearizable)
}

/// What [`decide`] learnt about each value, for placing failed-cas observations.
struct Values<'a> {
    local: &'a HashMap<ValueId, usize, FxBuildHasher>,
    writer: &'a [usize],
    needed: &'a [bool],
    swapped: &'a [usize],
    block_of: &'a [usize],
}

/// The linearization the theorem's sufficiency proof builds, as an instant per operation: each
/// forward block's greedy order clamped into its zone, each backward block at one instant of its
/// zone outside every forward interior; blocks follow one another without interleaving. With
/// `early`, every block's operations are then pulled as early as the block before them allows:
/// values are overwritten sooner, which gives room to the mismatches that saw a value already
/// replaced.
struct Built {
    /// Each operation's instant (0 for the initial value's virtual write).
    at: Vec<u64>,
    virtual_at: u64,
    /// Where the block after each block begins; `u64::MAX` for the last.
    next_block: Vec<u64>,
    /// Where the first block begins; `u64::MAX` if there is none.
    first_block: u64,
    /// Where each block ends.
    last: Vec<u64>,
    /// The block before each, in the linearization's order (`NONE` for the first).
    previous: Vec<usize>,
    /// Where an indeterminate write put in after each block (see `overwrite_sooner`) ends its
    /// last value, if one was; `cut_first` the same before the first block.
    cut: Vec<u64>,
    cut_first: u64,
}

impl Built {
    fn new(
        ops: &[Interval<RegisterOp>],
        zones: &[BlockZone],
        forward: &[BlockZone],
        members_of: &[Vec<usize>],
        greedy: &[u64],
        early: bool,
    ) -> Built {
        let mut at = vec![0u64; ops.len()];
        let mut virtual_at = 0;
        let mut spans: Vec<(u64, u64, usize)> = Vec::with_capacity(zones.len());
        for (b, (z, members)) in zones.iter().zip(members_of).enumerate() {
            let place = |raw: u64| {
                if z.f < z.s {
                    raw.clamp(z.f, z.s)
                } else {
                    // Backward: its earliest instant not strictly inside a forward zone (the
                    // theorem showed one exists within [s, f]).
                    let before = forward.partition_point(|fz| fz.f < z.s);
                    match before.checked_sub(1).map(|i| forward[i]) {
                        Some(outer) if z.s < outer.s => outer.s,
                        _ => z.s,
                    }
                }
            };
            let (mut first, mut last) = (u64::MAX, 0);
            if z.zone.writer.is_none() {
                virtual_at = place(0);
                (first, last) = (virtual_at, virtual_at);
            }
            for &op in members {
                at[op] = place(greedy[op]);
                first = first.min(at[op]);
                last = last.max(at[op]);
            }
            spans.push((first, last, b));
        }
        spans.sort_unstable();
        if early {
            // The same order of blocks, each one's operations moved as early as their greedy
            // instants allow without reaching back into the block before. Every instant stays
            // within its operation's interval (it is at least the greedy one, and at most the
            // block's instant or zone end, which every return reaches), and blocks still follow
            // one another.
            let mut previous = 0;
            for span in &mut spans {
                let (z, members) = (&zones[span.2], &members_of[span.2]);
                // A forward block ends by its zone's end; a backward one by its instant (every
                // greedy instant is at most the block's latest invocation, which is at most that).
                let upper = if z.f < z.s { z.s } else { span.1 };
                let (mut first, mut last) = (u64::MAX, 0);
                if z.zone.writer.is_none() {
                    (first, last) = (virtual_at, virtual_at);
                }
                for &op in members {
                    at[op] = greedy[op].max(previous).min(upper);
                    first = first.min(at[op]);
                    last = last.max(at[op]);
                }
                if first <= last {
                    (span.0, span.1) = (first, last);
                }
                previous = span.1;
            }
        }
        let mut next_block = vec![u64::MAX; zones.len()];
        for pair in spans.windows(2) {
            next_block[pair[0].2] = pair[1].0;
        }
        let mut last = vec![0; zones.len()];
        let mut previous = vec![NONE; zones.len()];
        for (k, span) in spans.iter().enumerate() {
            last[span.2] = span.1;
            if k > 0 {
                previous[span.2] = spans[k - 1].2;
            }
        }
        Built {
            at,
            virtual_at,
            next_block,
            first_block: spans.first().map_or(u64::MAX, |s| s.0),
            last,
            previous,
            cut: vec![u64::MAX; zones.len()],
            cut_first: u64::MAX,
        }
    }

    /// Makes room for the failed cas `m` that does not fit: puts one of the `spare` indeterminate
    /// writes in right after the block that ends with `expected`, early enough for `m` to see it.
    /// Nothing reads that write's value and no mismatch expects it, so the rest still fits.
    fn overwrite_sooner(
        &mut self,
        ops: &[Interval<RegisterOp>],
        m: usize,
        expected: ValueId,
        values: &Values,
        spare: &mut BTreeSet<(u64, usize)>,
    ) -> bool {
        let Some(&v) = values.local.get(&expected) else {
            return false;
        };
        if values.swapped[v] != NONE {
            // A cas of the same block swaps it out: nothing can come between.
            return false;
        }
        let block = values.block_of[v];
        let (after, end) = match block {
            NONE => (0, self.first_block.min(self.cut_first)),
            b => (self.last[b], self.next_block[b].min(self.cut[b])),
        };
        let limit = return_time(m, ops).min(end);
        if after > limit {
            return false;
        }
        let Some(&(call, w)) = spare.range(..=(limit, usize::MAX)).next_back() else {
            return false;
        };
        spare.remove(&(call, w));
        let at = call.max(after);
        match block {
            NONE => self.cut_first = at,
            b => self.cut[b] = at,
        }
        true
    }

    /// Makes room for the failed cas `m` that does not fit by delaying the write of `expected`
    /// (and what follows it in its block) to `m`'s invocation, if every operation moved still
    /// ends after its new instant and the block still ends before the next one begins: `m` then
    /// goes just before that write, while the previous value is still current.
    fn write_later(
        &mut self,
        ops: &[Interval<RegisterOp>],
        m: usize,
        expected: ValueId,
        values: &Values,
        members_of: &[Vec<usize>],
    ) -> bool {
        let Some(&v) = values.local.get(&expected) else {
            return false;
        };
        let (w, block) = (values.writer[v], values.block_of[v]);
        if w == NONE || w == VIRTUAL || block == NONE {
            return false;
        }
        let members = &members_of[block];
        let Some(from) = members.iter().position(|&op| op == w) else {
            return false;
        };
        let t = call_time(m, ops);
        let moved = &members[from..];
        let end = self.next_block[block].min(self.cut[block]);
        let fits = moved
            .iter()
            .all(|&op| self.at[op].max(t) <= return_time(op, ops).min(end));
        if !fits {
            return false;
        }
        for &op in moved {
            self.at[op] = self.at[op].max(t);
        }
        self.last[block] = self.last[block].max(t);
        if from == 0 {
            // The block now begins later: the value before it lasts until then.
            match self.previous[block] {
                NONE => self.first_block = self.at[w],
                before => self.next_block[before] = self.at[w],
            }
        }
        true
    }

    /// Whether the failed cas `m`, which saw a value other than `expected`, fits: its interval
    /// reaches an instant where the built linearization does not hold `expected`. At an instant
    /// shared with other operations it can go first or last, so touching counts.
    fn mismatch_fits(
        &self,
        ops: &[Interval<RegisterOp>],
        m: usize,
        expected: ValueId,
        values: &Values,
    ) -> bool {
        let Some(&v) = values.local.get(&expected) else {
            // Nothing writes it and it is not the initial value.
            return true;
        };
        let w = values.writer[v];
        if w == NONE || (w != VIRTUAL && !values.needed[v]) {
            // Never current in the built linearization.
            return true;
        }
        let start = if w == VIRTUAL {
            self.virtual_at
        } else {
            self.at[w]
        };
        let end = match (values.swapped[v], values.block_of[v]) {
            // The initial value, which nothing needed: current until the first block.
            (_, NONE) => self.first_block.min(self.cut_first),
            (NONE, block) => self.next_block[block].min(self.cut[block]),
            (cas, _) => self.at[cas],
        };
        call_time(m, ops) <= start || return_time(m, ops) >= end
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::event::{Event, EventType};
    use crate::history::failed_cas::FailedCas;
    use crate::history::operation::{pair, Operation};
    use crate::key_check::KeyCheck;
    use crate::models::cas_register::CasRegister;
    use crate::models::model::Model;
    use crate::search::budget::{Budget, Stop};
    use crate::search::wgl::{self, Linearization};
    use crate::testing::history_builder::*;
    use crate::testing::simulation::{read_anything, Simulation, SplitMix, Values};
    use serde_json::{json, Value};
    use std::time::Instant;

    /// The fast path's answer on one key's events, with a null initial value.
    fn decide_on(events: Vec<Event>) -> Option<Decision> {
        decide_from(&history(events), &Value::Null)
    }

    fn decide_from(events: &[Event], initial: &Value) -> Option<Decision> {
        let ops = pair(events).unwrap();
        let register = CasRegister::new(initial).with_failed_cas(FailedCas::Observes);
        let k = KeyCheck::new(Value::Null, ops.iter().collect(), register).unwrap();
        decide(k.model.init(), &k.intervals)
    }

    fn invalid(v: Violation) -> Option<Decision> {
        Some(Decision::NotLinearizable(v))
    }

    #[test]
    fn the_module_example_is_linearizable() {
        assert_eq!(
            decide_on(vec![
                invoke(0, 1, "write", json!(1)),
                ok(1, 1, "write", json!(1)),
                invoke(2, 2, "write", json!(2)),
                invoke(3, 1, "read", json!(null)),
                invoke(4, 3, "read", json!(null)),
                ok(5, 1, "read", json!(1)),
                ok(6, 2, "write", json!(2)),
                ok(7, 3, "read", json!(2)),
            ]),
            Some(Decision::Linearizable)
        );
    }

    #[test]
    fn a_mismatch_fits_where_its_value_was_already_overwritten() {
        // write 2 completes only after the failed cas, but may have taken effect before it.
        let mismatch = |t: u64| {
            [
                invoke(t, 3, "cas", json!([1, 3])),
                with_error(
                    crate::history::event::CAS_MISMATCH,
                    fail(t + 10, 3, "cas", json!([1, 3])),
                ),
            ]
        };
        let overwritten = [
            vec![
                invoke(0, 1, "write", json!(1)),
                ok(10, 1, "write", json!(1)),
                invoke(20, 1, "write", json!(2)),
            ],
            mismatch(30).to_vec(),
            vec![
                ok(60, 1, "write", json!(2)),
                invoke(70, 2, "read", json!(null)),
                ok(80, 2, "read", json!(2)),
            ],
        ]
        .concat();
        assert_eq!(decide_on(overwritten), Some(Decision::Linearizable));
        // Before 1 is written, or long after it was overwritten: it fits too.
        let before = [
            mismatch(0).to_vec(),
            vec![
                invoke(20, 1, "write", json!(1)),
                ok(30, 1, "write", json!(1)),
            ],
        ]
        .concat();
        assert_eq!(decide_on(before), Some(Decision::Linearizable));
        // An indeterminate write nobody read may have overwritten 1 just in time.
        let unseen = [
            vec![
                invoke(0, 1, "write", json!(1)),
                ok(10, 1, "write", json!(1)),
                invoke(20, 4, "write", json!(5)),
                info(25, 4, "write", json!(5)),
            ],
            mismatch(30).to_vec(),
        ]
        .concat();
        assert_eq!(decide_on(unseen), Some(Decision::Linearizable));
    }

    #[test]
    fn a_mismatch_while_its_value_must_be_current_is_left_to_the_search() {
        let events = vec![
            invoke(0, 1, "write", json!(1)),
            ok(10, 1, "write", json!(1)),
            invoke(20, 3, "cas", json!([1, 3])),
            with_error(
                crate::history::event::CAS_MISMATCH,
                fail(30, 3, "cas", json!([1, 3])),
            ),
            invoke(40, 2, "read", json!(null)),
            ok(50, 2, "read", json!(1)),
        ];
        assert_eq!(decide_on(events), None);
    }

    #[test]
    fn repeated_values_are_left_to_the_search() {
        let twice = vec![
            invoke(0, 1, "write", json!(1)),
            ok(1, 1, "write", json!(1)),
            invoke(2, 1, "write", json!(1)),
            ok(3, 1, "write", json!(1)),
        ];
        assert_eq!(decide_on(twice), None);
        // Writing the initial value repeats it too; a failed write repeats nothing.
        assert_eq!(
            decide_on(vec![
                invoke(0, 1, "write", json!(null)),
                info(1, 1, "write", json!(null))
            ]),
            None
        );
        assert_eq!(
            decide_on(vec![
                invoke(0, 1, "write", json!(1)),
                fail(1, 1, "write", json!(1)),
                invoke(2, 1, "write", json!(1)),
                ok(3, 1, "write", json!(1)),
            ]),
            Some(Decision::Linearizable)
        );
    }

    #[test]
    fn with_values_repeating_only_a_value_nobody_wrote_is_decided() {
        let repeated = |read: Value| {
            vec![
                invoke(0, 1, "write", json!(1)),
                ok(1, 1, "write", json!(1)),
                invoke(2, 2, "write", json!(1)),
                ok(3, 2, "write", json!(1)),
                invoke(4, 1, "read", json!(null)),
                ok(5, 1, "read", read),
            ]
        };
        assert_eq!(decide_on(repeated(json!(1))), None);
        assert_eq!(decide_on(repeated(json!(null))), None);
        assert_eq!(
            decide_on(repeated(json!(7))),
            invalid(Violation::NeverWritten { reader: 2 })
        );
        // A value written only by operations invoked after the read completed.
        let mut too_late = repeated(json!(2));
        too_late.extend([
            invoke(6, 2, "write", json!(2)),
            ok(7, 2, "write", json!(2)),
            invoke(8, 1, "write", json!(2)),
            info(9, 1, "write", json!(2)),
        ]);
        assert_eq!(
            decide_on(too_late.clone()),
            invalid(Violation::WrittenTooLate {
                reader: 2,
                first_writer: 3
            })
        );
        let late = Violation::WrittenTooLate {
            reader: 2,
            first_writer: 3,
        };
        assert_eq!(
            late.operations(),
            [3, 2],
            "the writer first, as it is drawn"
        );
        assert_eq!(
            late.describe(&|i| format!("op {i}")),
            "op 2 observed a value that every operation writing it was invoked after it \
             completed, the first of them op 3"
        );
        // A write invoked before the read completed may precede it.
        too_late[4] = invoke(5, 1, "read", json!(null));
        too_late[5] = invoke(6, 2, "write", json!(2));
        too_late[6] = ok(6, 1, "read", json!(2));
        assert_eq!(decide_on(too_late), None);
    }

    #[test]
    fn a_value_nobody_wrote() {
        assert_eq!(
            decide_on(vec![
                invoke(0, 1, "read", json!(null)),
                ok(1, 1, "read", json!(5))
            ]),
            invalid(Violation::NeverWritten { reader: 0 })
        );
        // Only a failed write wrote it: it never happened.
        assert_eq!(
            decide_on(vec![
                invoke(0, 1, "write", json!(5)),
                fail(1, 1, "write", json!(5)),
                invoke(2, 1, "cas", json!([5, 6])),
                ok(3, 1, "cas", json!([5, 6])),
            ]),
            invalid(Violation::NeverWritten { reader: 0 })
        );
    }

    #[test]
    fn a_read_that_ended_before_its_write_began() {
        assert_eq!(
            decide_on(vec![
                invoke(0, 2, "read", json!(null)),
                ok(1, 2, "read", json!(1)),
                invoke(2, 1, "write", json!(1)),
                ok(3, 1, "write", json!(1)),
            ]),
            invalid(Violation::OutOfOrder {
                earlier: Some(1),
                later: 0
            })
        );
    }

    #[test]
    fn two_swaps_of_one_value() {
        assert_eq!(
            decide_on(vec![
                invoke(0, 1, "write", json!(1)),
                ok(1, 1, "write", json!(1)),
                invoke(2, 1, "cas", json!([1, 2])),
                invoke(3, 2, "cas", json!([1, 3])),
                ok(4, 1, "cas", json!([1, 2])),
                ok(5, 2, "cas", json!([1, 3])),
            ]),
            invalid(Violation::SwappedTwice {
                first: 1,
                second: 2
            })
        );
        // An indeterminate one that nothing depends on is simply left out.
        assert_eq!(
            decide_on(vec![
                invoke(0, 1, "write", json!(1)),
                ok(1, 1, "write", json!(1)),
                invoke(2, 1, "cas", json!([1, 2])),
                invoke(3, 2, "cas", json!([1, 3])),
                ok(4, 1, "cas", json!([1, 2])),
                info(5, 2, "cas", json!([1, 3])),
            ]),
            Some(Decision::Linearizable)
        );
    }

    #[test]
    fn cas_operations_in_a_circle() {
        assert_eq!(
            decide_on(vec![
                invoke(0, 1, "cas", json!([1, 2])),
                invoke(1, 2, "cas", json!([2, 1])),
                ok(2, 1, "cas", json!([1, 2])),
                ok(3, 2, "cas", json!([2, 1])),
            ]),
            invalid(Violation::Cycle { ops: vec![0, 1] })
        );
    }

    #[test]
    fn a_stale_read_puts_a_write_inside_a_period() {
        //   write 1 |--|                 1 current from here ...
        //   write 2      |--|
        //   read → 1          |--|       ... to here: write 2 came and went inside
        let events = vec![
            invoke(0, 1, "write", json!(1)),
            ok(1, 1, "write", json!(1)),
            invoke(2, 1, "write", json!(2)),
            ok(3, 1, "write", json!(2)),
            invoke(4, 2, "read", json!(null)),
            ok(5, 2, "read", json!(1)),
        ];
        let outer = Zone {
            writer: Some(0),
            completed: Some(0),
            invoked: Some(2),
        };
        let got = decide_on(events);
        assert_eq!(
            got,
            invalid(Violation::Inside {
                outer,
                inner: Some(1)
            })
        );
        let Some(Decision::NotLinearizable(v)) = got else {
            unreachable!()
        };
        assert_eq!(
            v.describe(&|i| format!("op {i}")),
            "op 1 was written and read entirely while the value of op 0 had to be current from \
             the completion of op 0 to the invocation of op 2"
        );
    }

    #[test]
    fn two_periods_that_overlap() {
        //   write 1 |--|            read → 1 |--|
        //   write 2       |--|                     read → 2 |--|
        let events = vec![
            invoke(0, 1, "write", json!(1)),
            ok(1, 1, "write", json!(1)),
            invoke(2, 1, "write", json!(2)),
            ok(3, 1, "write", json!(2)),
            invoke(4, 2, "read", json!(null)),
            ok(5, 2, "read", json!(1)),
            invoke(6, 2, "read", json!(null)),
            ok(7, 2, "read", json!(2)),
        ];
        assert_eq!(
            decide_on(events),
            invalid(Violation::Overlap {
                first: Zone {
                    writer: Some(0),
                    completed: Some(0),
                    invoked: Some(2)
                },
                second: Zone {
                    writer: Some(1),
                    completed: Some(1),
                    invoked: Some(3)
                },
            })
        );
    }

    #[test]
    fn reading_the_initial_value_after_a_write_completed() {
        let events = vec![
            invoke(0, 1, "write", json!(1)),
            ok(1, 1, "write", json!(1)),
            invoke(2, 2, "read", json!(null)),
            ok(3, 2, "read", json!(null)),
        ];
        assert_eq!(
            decide_on(events),
            invalid(Violation::Inside {
                outer: Zone {
                    writer: None,
                    completed: None,
                    invoked: Some(1)
                },
                inner: Some(0)
            })
        );
    }

    #[test]
    fn indeterminate_writes_take_effect_late_or_never() {
        let write = vec![
            invoke(0, 1, "write", json!(1)),
            info(1, 1, "write", json!(1)),
        ];
        let read =
            |t: u64, v: Value| vec![invoke(t, 2, "read", json!(null)), ok(t + 1, 2, "read", v)];
        let seen_late = [write.clone(), read(10, json!(null)), read(20, json!(1))].concat();
        assert_eq!(decide_on(seen_late), Some(Decision::Linearizable));
        // Once seen, it cannot be undone: the initial value had to last until the second read,
        // and the write and its read fall inside that.
        let undone = [write.clone(), read(10, json!(1)), read(20, json!(null))].concat();
        assert!(matches!(
            decide_on(undone),
            Some(Decision::NotLinearizable(Violation::Inside {
                inner: Some(0),
                ..
            }))
        ));
        let never = [write, read(10, json!(null))].concat();
        assert_eq!(decide_on(never), Some(Decision::Linearizable));
    }

    #[test]
    fn an_indeterminate_cas_links_values_when_its_value_is_seen() {
        let setup = vec![
            invoke(0, 1, "write", json!(1)),
            ok(1, 1, "write", json!(1)),
            invoke(2, 1, "cas", json!([1, 2])),
            info(3, 1, "cas", json!([1, 2])),
        ];
        let read =
            |t: u64, v: Value| vec![invoke(t, 2, "read", json!(null)), ok(t + 1, 2, "read", v)];
        let seen = [setup.clone(), read(10, json!(2))].concat();
        assert_eq!(decide_on(seen), Some(Decision::Linearizable));
        // Once 2 is seen, 1 is gone for good.
        let back = [setup.clone(), read(10, json!(2)), read(20, json!(1))].concat();
        assert!(matches!(
            decide_on(back),
            Some(Decision::NotLinearizable(Violation::OutOfOrder { .. }))
        ));
        // 2 seen before its cas was invoked.
        let early = [read(0, json!(2)), setup].concat();
        assert!(matches!(
            decide_on(early),
            Some(Decision::NotLinearizable(Violation::OutOfOrder { .. }))
        ));
    }

    /// Changes one completion so the history may stop being linearizable, keeping its values
    /// unique: a read returns another written value (or null), or a write's or cas's outcome
    /// flips between ok and fail or info.
    fn mutate(rng: &mut SplitMix, events: &mut [Event]) {
        let written: Vec<Value> = events
            .iter()
            .filter(|e| e.kind == EventType::Invoke)
            .filter_map(|e| match e.f.as_str() {
                "write" => Some(e.value.clone()),
                "cas" => Some(e.value[1].clone()),
                _ => None,
            })
            .collect();
        let completions: Vec<usize> = (0..events.len())
            .filter(|&i| events[i].kind != EventType::Invoke)
            .collect();
        if completions.is_empty() {
            return;
        }
        let e = &mut events[completions[rng.below(completions.len() as u64) as usize]];
        match (e.kind, e.f.as_str()) {
            (EventType::Ok | EventType::Info, "read") => {
                e.kind = EventType::Ok;
                e.value = if written.is_empty() || rng.chance(0.2) {
                    Value::Null
                } else {
                    written[rng.below(written.len() as u64) as usize].clone()
                };
            }
            (EventType::Ok, _) if rng.chance(0.5) => e.kind = EventType::Info,
            (EventType::Ok, _) => e.kind = EventType::Fail,
            (EventType::Fail | EventType::Info, _) => {
                e.kind = EventType::Ok;
                e.error = None;
            }
            _ => {}
        }
    }

    #[test]
    fn fast_path_agrees_with_the_search_and_brute_force() {
        const HISTORIES: u64 = 30_000;
        let started = Instant::now();
        let mut rng = SplitMix::new(0xfa57);
        let (mut valid, mut invalid, mut brute, mut undecided_search) = (0, 0, 0, 0);
        let (mut cycles, mut small_invalid, mut left_to_search) = (0, 0, 0);
        for n in 0..HISTORIES {
            let small = n % 2 == 0;
            let sim = Simulation {
                ops: if small {
                    1 + rng.below(7)
                } else {
                    8 + rng.below(60)
                } as usize,
                keys: 1,
                clients: 2 + rng.below(4) as usize,
                values: Values::Unique,
                cas: n % 3 != 0,
                info_rate: [0.0, 0.15, 0.3][(n % 3) as usize],
                fail_rate: 0.05,
                stale_read: n % 5 == 1,
                seed: n,
                ..Simulation::default()
            };
            let mut events = sim.events();
            for _ in 0..rng.below(3) {
                mutate(&mut rng, &mut events);
            }
            let initial = if n % 7 == 0 { json!(0) } else { Value::Null };
            let ops = pair(&events).unwrap();
            let refs: Vec<&Operation> = ops.iter().collect();
            let register = CasRegister::new(&initial).with_failed_cas(FailedCas::Observes);
            let k = KeyCheck::new(Value::Null, refs.clone(), register).unwrap();
            let fast = decide(k.model.init(), &k.intervals);
            let mismatches = k
                .intervals
                .iter()
                .any(|o| matches!(o.op, RegisterOp::CasMismatch(_)));
            // Values are unique: only a failed cas kept as an observation leaves a key to the
            // search, and then the search's verdict is the one compared with brute force.
            assert!(
                fast.is_some() || mismatches,
                "history {n}: values are unique"
            );
            left_to_search += u64::from(fast.is_none());
            let dump = || {
                let lines: Vec<String> = events
                    .iter()
                    .map(|e| serde_json::to_string(e).unwrap())
                    .collect();
                format!("history {n} (initial {initial}):\n{}", lines.join("\n"))
            };
            let searched = match wgl::check_within(
                &k.model,
                &k.intervals,
                &Budget::unlimited(),
                Some(1_000_000),
            ) {
                Ok(Linearization::Linearizable { .. }) => Some(true),
                Ok(_) => Some(false),
                Err(Stop::Steps) => {
                    undecided_search += 1;
                    None
                }
                Err(e) => panic!("{e}"),
            };
            let fast_valid = match (&fast, searched) {
                (Some(fast), Some(searched)) => {
                    let fast_valid = *fast == Decision::Linearizable;
                    assert_eq!(
                        fast_valid,
                        searched,
                        "search: valid {searched}, fast path: {fast:?}\n{}",
                        dump()
                    );
                    fast_valid
                }
                (Some(fast), None) => *fast == Decision::Linearizable,
                (None, Some(searched)) => searched,
                (None, None) => continue,
            };
            if k.intervals.len() <= 8 {
                brute += 1;
                let reference =
                    crate::testing::brute_force::linearizable(&refs, &initial, FailedCas::Observes);
                assert_eq!(fast_valid, reference, "brute force disagrees\n{}", dump());
            }
            // Cycles of ordering constraints are sound: never one in a linearizable key.
            if k.intervals.len() <= 20 {
                let cycle = crate::explain::cycle::find(k.model.init(), &k.intervals, &|i| {
                    crate::history::op_summary::OpSummary::from(k.sources[i])
                });
                assert!(
                    cycle.is_none() || !fast_valid,
                    "a cycle in a linearizable history: {cycle:?}\n{}",
                    dump()
                );
                cycles += u64::from(cycle.is_some());
                small_invalid += u64::from(!fast_valid);
            }
            if fast_valid {
                valid += 1;
            } else {
                invalid += 1;
            }
        }
        // Stale reads and reordered values are cycles: many invalid keys must show one.
        eprintln!(
            "{cycles} cycles among {small_invalid} small invalid keys; {left_to_search} keys left \
             to the search by a failed cas"
        );
        // Most keys stay on the fast path even with mismatches among them.
        assert!(
            left_to_search < HISTORIES / 3,
            "{left_to_search} left to the search"
        );
        assert!(
            cycles > small_invalid / 4,
            "{cycles} cycles among {small_invalid} small invalid keys"
        );
        assert!(
            valid > HISTORIES / 4 && invalid > HISTORIES / 4,
            "{valid} valid, {invalid} invalid"
        );
        assert!(brute > HISTORIES / 3, "{brute} checked by brute force");
        assert!(
            undecided_search < HISTORIES / 100,
            "{undecided_search} searches ran out"
        );
        eprintln!(
            "{HISTORIES} unique-value histories ({valid} valid, {invalid} invalid; {brute} also \
             by brute force; {undecided_search} too long for the search) in {:?}",
            started.elapsed()
        );
    }

    /// With values repeating, [`decide`] answers only where an `ok` operation observed a value
    /// (not the initial one) nothing invoked before it completed writes; on random such
    /// histories (a read of any of 0..5 in half of them) that answer is always invalid and
    /// brute force agrees, and every key it leaves to the search has no such operation.
    #[test]
    fn with_values_repeating_the_fast_path_agrees_with_brute_force() {
        const HISTORIES: u64 = 20_000;
        let mut rng = SplitMix::new(0x4e_7e4);
        let (mut decided, mut left, mut too_late) = (0, 0, 0);
        for n in 0..HISTORIES {
            let sim = Simulation {
                ops: 2 + rng.below(9) as usize,
                clients: 2 + rng.below(6) as usize,
                values: Values::Range(2 + rng.below(2)),
                cas: n % 3 != 0,
                info_rate: [0.0, 0.15, 0.3][(n % 3) as usize],
                fail_rate: 0.05,
                stale_read: n % 5 == 1,
                seed: n,
                ..Simulation::default()
            };
            let mut events = sim.events();
            if n % 2 == 0 {
                // Out of range in about half of these: 0..5 against values 0..2 or 0..3.
                read_anything(&mut events, json!(rng.below(5)));
            }
            let initial = if n % 7 == 0 { json!(0) } else { Value::Null };
            let ops = pair(&events).unwrap();
            let refs: Vec<&Operation> = ops.iter().collect();
            let register = CasRegister::new(&initial).with_failed_cas(FailedCas::Observes);
            let k = KeyCheck::new(Value::Null, refs.clone(), register).unwrap();
            let dump = || {
                let lines: Vec<String> = events
                    .iter()
                    .map(|e| serde_json::to_string(e).unwrap())
                    .collect();
                format!("history {n} (initial {initial}):\n{}", lines.join("\n"))
            };
            // An ok operation observing a value other than the initial one that no operation
            // invoked before it completed writes.
            let unexplained = k.intervals.iter().any(|o| {
                let (Some(ret), RegisterOp::Read(v) | RegisterOp::Cas { expected: v, .. }) =
                    (o.ret, o.op)
                else {
                    return false;
                };
                v != k.model.init()
                    && !k
                        .intervals
                        .iter()
                        .any(|w| w.op.wrote() == Some(v) && w.call <= ret)
            });
            let repeated = k.intervals.iter().filter_map(|o| o.op.wrote()).count()
                > k.intervals
                    .iter()
                    .filter_map(|o| o.op.wrote())
                    .collect::<HashSet<_>>()
                    .len()
                || k.intervals
                    .iter()
                    .any(|o| o.op.wrote() == Some(k.model.init()));
            if !repeated {
                continue;
            }
            // Only for the histories judged: the reference is exponential.
            let fast = decide(k.model.init(), &k.intervals);
            let reference =
                crate::testing::brute_force::linearizable(&refs, &initial, FailedCas::Observes);
            match fast {
                Some(Decision::NotLinearizable(
                    Violation::NeverWritten { .. } | Violation::WrittenTooLate { .. },
                )) => {
                    assert!(!reference, "brute force finds it linearizable\n{}", dump());
                    assert!(unexplained, "{}", dump());
                    decided += 1;
                    too_late += u64::from(matches!(
                        fast,
                        Some(Decision::NotLinearizable(Violation::WrittenTooLate { .. }))
                    ));
                }
                Some(other) => panic!("repeated values decided as {other:?}\n{}", dump()),
                None => {
                    assert!(
                        !unexplained,
                        "a never-written value left to search\n{}",
                        dump()
                    );
                    left += 1;
                }
            }
        }
        assert!(
            decided > 1_000 && left > 1_000 && too_late > 100,
            "{decided} decided ({too_late} written too late), {left} left"
        );
        eprintln!(
            "repeated values: {decided} decided ({too_late} written too late), {left} left to \
             search"
        );
    }
}
