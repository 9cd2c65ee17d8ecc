//! Cycles of ordering constraints: why a register witness cannot be linearized, as a loop of
//! "this must take effect before that" steps a person can follow.
//!
//! When every written value is unique (and none is the initial value), each read names the one
//! write it observed, and these orders hold in *every* linearization:
//!
//! ```text
//!   real time        a completed before b was invoked                 a → b
//!   read from        w wrote the value r observed (r a read or cas)   w → r
//!   initial value    the initial value is in place before any write   init → w
//!   write order      r read from w, and w' must precede r:
//!                    w' cannot fall between w and r, so               w' → w
//!   read first       r read from w, and w must precede w':
//!                    r cannot come after w', so                       r → w'
//! ```
//!
//! The last two are derived from the graph itself, so they are added until nothing changes. All
//! edges are sound, so a cycle proves the operations not linearizable; a linearizable history
//! never gets one. The cycle named is a shortest one (petgraph finds the strongly connected
//! components; a breadth-first search inside one finds the loop):
//!
//! ```text
//!   write 1 → (real time) write 2 → (read 1 follows it, yet returned write 1's value) write 1
//! ```

use crate::history::op_summary::OpSummary;
use crate::models::interner::ValueId;
use crate::models::register_op::RegisterOp;
use crate::search::wgl::Interval;
use petgraph::algo::{has_path_connecting, tarjan_scc};
use petgraph::graph::{DiGraph, NodeIndex};
use serde::Serialize;
use std::collections::{HashMap, HashSet, VecDeque};

/// A loop of ordering constraints no linearization can satisfy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cycle {
    /// The operations around the loop, each with why the next one must come after it; the last
    /// leads back to the first.
    pub steps: Vec<CycleStep>,
    /// The loop in one line of words.
    pub message: String,
}

/// One operation of a cycle and the constraint that leads on from it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CycleStep {
    /// The operation; `None` for the initial value (a write before everything).
    pub op: Option<OpSummary>,
    /// Why the next operation must take effect after this one.
    pub then: Constraint,
}

/// Why one operation must take effect before another.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Constraint {
    /// It completed before the next was invoked.
    RealTime,
    /// The next observed the value it wrote.
    ReadFrom,
    /// It is the initial value, in place before any write.
    Initial,
    /// `read` must follow it, yet observed the next one's value: it cannot fall between them.
    WriteOrder {
        /// The operation that observed the next one's value.
        read: OpSummary,
    },
    /// It observed the value of `write`, which must precede the next: the next overwrites it.
    ReadFirst {
        /// The write whose value it observed.
        write: Option<OpSummary>,
    },
}

/// How an edge was found; the node a derived edge's reason names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edge {
    RealTime,
    ReadFrom,
    Initial,
    WriteOrder(NodeIndex),
    ReadFirst(NodeIndex),
}

/// Graphs larger than this are not searched: a witness is a few operations, and the derived
/// edges cost a reachability test per (read, write) pair per round.
const MAX_NODES: usize = 40;

/// A shortest cycle of sound ordering constraints among `ops` (a register witness), each named
/// by `name`, if the written values are unique and the constraints form one.
pub(crate) fn find(
    initial: ValueId,
    ops: &[Interval<RegisterOp>],
    name: &dyn Fn(usize) -> OpSummary,
) -> Option<Cycle> {
    if ops.len() + 1 > MAX_NODES {
        return None;
    }
    // Unique values: one writer per value, and none writes the initial value.
    let mut writer: HashMap<ValueId, usize> = HashMap::new();
    for (i, o) in ops.iter().enumerate() {
        if let Some(v) = o.op.wrote() {
            if v == initial || writer.insert(v, i).is_some() {
                return None;
            }
        }
    }
    // The operations every linearization contains: ok ones, and indeterminate writes whose
    // value one of those (transitively) observed.
    let mut linearized: HashSet<usize> = HashSet::new();
    let mut work: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].ret.is_some()).collect();
    while let Some(i) = work.pop() {
        if !linearized.insert(i) {
            continue;
        }
        if let Some(&w) = ops[i].op.observed().and_then(|v| writer.get(&v)) {
            work.push(w);
        }
    }

    let mut g: DiGraph<Option<usize>, Edge> = DiGraph::new();
    let init = g.add_node(None);
    let mut node: HashMap<usize, NodeIndex> = HashMap::new();
    for i in 0..ops.len() {
        if linearized.contains(&i) {
            node.insert(i, g.add_node(Some(i)));
        }
    }
    let add = |g: &mut DiGraph<Option<usize>, Edge>, a: NodeIndex, b: NodeIndex, e: Edge| {
        if a != b && g.find_edge(a, b).is_none() {
            g.add_edge(a, b, e);
            true
        } else {
            false
        }
    };
    // Each observation with the node of the write it read from (the initial value's, `init`).
    let mut reads: Vec<(NodeIndex, NodeIndex)> = Vec::new();
    let writers: Vec<NodeIndex> = node
        .iter()
        .filter(|(&i, _)| ops[i].op.wrote().is_some())
        .map(|(_, &n)| n)
        .collect();
    let mut sorted: Vec<(&usize, &NodeIndex)> = node.iter().collect();
    sorted.sort();
    for &(&a, &na) in &sorted {
        for &(&b, &nb) in &sorted {
            if ops[a].ret.is_some_and(|r| r < ops[b].call) {
                add(&mut g, na, nb, Edge::RealTime);
            }
        }
    }
    for &(&r, &nr) in &sorted {
        let Some(v) = ops[r].op.observed() else {
            continue;
        };
        let source = if v == initial {
            init
        } else {
            match writer.get(&v).and_then(|w| node.get(w)) {
                Some(&nw) => nw,
                // A value nothing here wrote: not an ordering problem.
                None => continue,
            }
        };
        add(&mut g, source, nr, Edge::ReadFrom);
        reads.push((nr, source));
    }
    for &w in &writers {
        add(&mut g, init, w, Edge::Initial);
    }
    // Derived edges, until none is new.
    loop {
        let mut changed = false;
        for &(r, w) in &reads {
            for &w2 in &writers {
                if w2 == w || w2 == r {
                    continue;
                }
                if has_path_connecting(&g, w2, r, None) {
                    changed |= add(&mut g, w2, w, Edge::WriteOrder(r));
                }
                if has_path_connecting(&g, w, w2, None) {
                    changed |= add(&mut g, r, w2, Edge::ReadFirst(w));
                }
            }
        }
        if !changed {
            break;
        }
    }

    let cycle = shortest_cycle(&g)?;
    let summary = |n: NodeIndex| g[n].map(name);
    let steps: Vec<CycleStep> = cycle
        .iter()
        .enumerate()
        .map(|(k, &n)| {
            let next = cycle[(k + 1) % cycle.len()];
            let edge = g[g
                .find_edge(n, next)
                .expect("consecutive cycle nodes are joined")];
            let then = match edge {
                Edge::RealTime => Constraint::RealTime,
                Edge::ReadFrom => Constraint::ReadFrom,
                Edge::Initial => Constraint::Initial,
                Edge::WriteOrder(r) => Constraint::WriteOrder {
                    read: summary(r).expect("a read is an operation"),
                },
                Edge::ReadFirst(w) => Constraint::ReadFirst { write: summary(w) },
            };
            CycleStep {
                op: summary(n),
                then,
            }
        })
        .collect();
    let message = describe(&steps);
    Some(Cycle { steps, message })
}

/// The nodes of a shortest cycle, in order, if the graph has one.
fn shortest_cycle(g: &DiGraph<Option<usize>, Edge>) -> Option<Vec<NodeIndex>> {
    let mut best: Option<Vec<NodeIndex>> = None;
    for component in tarjan_scc(g).into_iter().filter(|c| c.len() > 1) {
        let inside: HashSet<NodeIndex> = component.iter().copied().collect();
        let mut starts = component.clone();
        starts.sort();
        for start in starts {
            // Breadth-first from `start` back to itself, inside the component.
            let mut parent: HashMap<NodeIndex, NodeIndex> = HashMap::new();
            let mut queue = VecDeque::from([start]);
            let mut closing = None;
            while let Some(n) = queue.pop_front() {
                let mut next: Vec<NodeIndex> = g.neighbors(n).collect();
                next.sort();
                for m in next {
                    if m == start {
                        closing = Some(n);
                        break;
                    }
                    if inside.contains(&m) && !parent.contains_key(&m) {
                        parent.insert(m, n);
                        queue.push_back(m);
                    }
                }
                if closing.is_some() {
                    break;
                }
            }
            let Some(mut at) = closing else { continue };
            let mut path = vec![at];
            while at != start {
                at = parent[&at];
                path.push(at);
            }
            path.reverse();
            if best.as_ref().is_none_or(|b| path.len() < b.len()) {
                best = Some(path);
            }
        }
    }
    best
}

/// `write 1 (process 1) → (real time) write 2 (process 1) → (...) write 1 (process 1)`.
fn describe(steps: &[CycleStep]) -> String {
    let name = |op: &Option<OpSummary>| match op {
        Some(o) => format!("{} (process {})", o.action(), o.process),
        None => "the initial value".to_string(),
    };
    let short = |op: &Option<OpSummary>| match op {
        Some(o) => o.action(),
        None => "the initial value".to_string(),
    };
    let mut text = name(&steps[0].op);
    for (k, step) in steps.iter().enumerate() {
        let next = &steps[(k + 1) % steps.len()].op;
        let why = match &step.then {
            Constraint::RealTime => "real time".to_string(),
            Constraint::ReadFrom => "read from".to_string(),
            Constraint::Initial => "the initial value comes first".to_string(),
            Constraint::WriteOrder { read } => format!(
                "{} follows it, yet returned the value of {}",
                read.action(),
                short(next)
            ),
            Constraint::ReadFirst { write } => format!(
                "it observed {}, which {} overwrites",
                short(write),
                short(next)
            ),
        };
        text.push_str(&format!(" → ({why}) {}", name(next)));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::event::Event;
    use crate::history::operation::pair;
    use crate::models::cas_register::CasRegister;
    use crate::models::model::Model;
    use crate::testing::history_builder::*;
    use serde_json::{json, Value};

    fn cycle_of(events: Vec<Event>) -> Option<Cycle> {
        let ops = pair(&history(events)).unwrap();
        let refs: Vec<_> = ops.iter().collect();
        let mut model = CasRegister::new(&Value::Null);
        let (intervals, sources) =
            crate::search::wgl::intervals_of(&refs, |op| model.op(op)).unwrap();
        find(model.init(), &intervals, &|i| OpSummary::from(sources[i]))
    }

    #[test]
    fn a_stale_read_is_a_cycle_of_real_time_and_write_order() {
        let cycle = cycle_of(stale_read()).expect("a stale read is a cycle");
        assert_eq!(
            cycle.message,
            "write 1 (process 1) → (real time) write 2 (process 1) → (read 1 follows it, yet \
             returned the value of write 1) write 1 (process 1)"
        );
        assert_eq!(cycle.steps.len(), 2);
        assert_eq!(cycle.steps[0].then, Constraint::RealTime);
        assert!(matches!(
            &cycle.steps[1].then,
            Constraint::WriteOrder { read } if read.span.invoke_index == 4
        ));
        let json = serde_json::to_value(&cycle.steps[0]).unwrap();
        assert_eq!(json["then"], json!({"kind": "real-time"}));
    }

    #[test]
    fn reading_the_initial_value_after_a_write_goes_round_through_it() {
        let cycle = cycle_of(vec![
            invoke(0, 1, "write", json!(1)),
            ok(10, 1, "write", json!(1)),
            invoke(20, 2, "read", json!(null)),
            ok(30, 2, "read", json!(null)),
        ])
        .expect("a cycle");
        assert_eq!(
            cycle.message,
            "the initial value → (the initial value comes first) write 1 (process 1) → (read \
             null follows it, yet returned the value of the initial value) the initial value"
        );
    }

    #[test]
    fn a_read_from_the_future_is_a_cycle_of_real_time_and_read_from() {
        let cycle = cycle_of(vec![
            invoke(0, 2, "read", json!(null)),
            ok(10, 2, "read", json!(1)),
            invoke(20, 1, "write", json!(1)),
            ok(30, 1, "write", json!(1)),
        ])
        .expect("a cycle");
        assert_eq!(
            cycle.message,
            "read 1 (process 2) → (real time) write 1 (process 1) → (read from) read 1 (process 2)"
        );
    }

    #[test]
    fn valid_histories_have_no_cycle() {
        // Concurrent writes and reads in a legal order, a cas chain, an indeterminate write
        // seen late.
        assert_eq!(
            cycle_of(vec![
                invoke(0, 1, "write", json!(1)),
                invoke(5, 2, "read", json!(null)),
                ok(10, 1, "write", json!(1)),
                ok(15, 2, "read", json!(null)),
                invoke(20, 1, "cas", json!([1, 2])),
                ok(30, 1, "cas", json!([1, 2])),
                invoke(40, 3, "write", json!(3)),
                info(50, 3, "write", json!(3)),
                invoke(60, 2, "read", json!(null)),
                ok(70, 2, "read", json!(2)),
                invoke(80, 2, "read", json!(null)),
                ok(90, 2, "read", json!(3)),
            ]),
            None
        );
    }

    #[test]
    fn repeated_values_are_not_explained() {
        assert_eq!(
            cycle_of(vec![
                invoke(0, 1, "write", json!(1)),
                ok(10, 1, "write", json!(1)),
                invoke(20, 1, "write", json!(2)),
                ok(30, 1, "write", json!(2)),
                invoke(40, 1, "write", json!(1)),
                ok(50, 1, "write", json!(1)),
                invoke(60, 2, "read", json!(null)),
                ok(70, 2, "read", json!(2)),
            ]),
            None
        );
    }
}
