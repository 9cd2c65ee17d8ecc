//! Which writes a register observation may have read from: what a witness must keep to stay
//! sound, and what it can show to explain the rest.
//!
//! A read (or a cas's compare) of `u` read from some write of `u` (or the initial value). A write
//! of `u` cannot be its source when no linearization allows it:
//!
//! ```text
//!   write 3  |--|                         ruled out: write 4 began after it ended and ended
//!   write 4        |--|ok                 before the read began, so write 4 always falls
//!   read → 3             |--|             between them
//!   write 3                   |--|        ruled out: began after the read ended
//! ```
//!
//! A witness keeps every write an operation in it may have read from ([`Sources::close`]), and
//! nothing more: deleting any other write from a linearization of the whole key changes the
//! value only where no kept operation reads it, so a non-linearizable witness proves the key
//! non-linearizable. What it leaves out because it was overwritten is then shown as context
//! ([`Sources::explain`]): the overwrite, the latest write it rules out, and one sentence, e.g.
//! "read of x returned 3 at 1.204 s, but write 4 to x was acknowledged at 1.180 s, and every
//! write of 3 before the read had completed before write 4 began".

use crate::history::op_summary::{describe_key, OpSummary};
use crate::models::interner::ValueId;
use crate::models::register_op::RegisterOp;
use crate::search::wgl::Interval;
use serde_json::Value;
use std::collections::HashMap;

/// The possible sources of each observation of one register key.
pub(crate) struct Sources<'a> {
    ops: &'a [Interval<RegisterOp>],
    /// Every write and cas, by the value it wrote.
    writers: HashMap<ValueId, Vec<usize>>,
    /// For each operation that observed a value, the writes it may have read from.
    possible: Vec<Vec<usize>>,
    /// Acknowledged writes by return: (return, call, position), and the position of the latest
    /// invocation among those returned so far.
    acked: Vec<(u64, u64, usize)>,
    latest: Vec<usize>,
}

/// Why an observation in a witness could not have read from the writes of its value left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Overwritten {
    /// The read or cas.
    pub(crate) observer: usize,
    /// The acknowledged write that began after each ruled-out write ended and ended before the
    /// observer began; `None` when no write of the value began before the observer ended.
    pub(crate) overwrite: Option<usize>,
    /// The latest-ending write of the observed value it rules out; `None` when only the initial
    /// value is ruled out.
    pub(crate) latest_ruled_out: Option<usize>,
    /// Whether the observed value is the initial value (ruled out too).
    pub(crate) initial: bool,
    /// Whether some write of the value may still have been read (it is in the witness).
    pub(crate) others_possible: bool,
}

impl Overwritten {
    /// `observer` saw a value no write it could have read from wrote, and not the initial one.
    fn unwritten(observer: usize) -> Self {
        Overwritten {
            observer,
            overwrite: None,
            latest_ruled_out: None,
            initial: false,
            others_possible: false,
        }
    }
}

impl<'a> Sources<'a> {
    /// The sources of every observation among `ops`.
    pub(crate) fn new(ops: &'a [Interval<RegisterOp>]) -> Self {
        let mut writers: HashMap<ValueId, Vec<usize>> = HashMap::new();
        for (i, o) in ops.iter().enumerate() {
            if let Some(v) = o.op.wrote() {
                writers.entry(v).or_default().push(i);
            }
        }
        let mut acked: Vec<(u64, u64, usize)> = writers
            .values()
            .flatten()
            .filter_map(|&w| Some((ops[w].ret?, ops[w].call, w)))
            .collect();
        acked.sort_unstable();
        let mut latest: Vec<usize> = Vec::with_capacity(acked.len());
        for (k, &(_, call, _)) in acked.iter().enumerate() {
            let keep = k > 0 && acked[latest[k - 1]].1 >= call;
            latest.push(if keep { latest[k - 1] } else { k });
        }
        let mut sources = Sources {
            ops,
            writers,
            possible: Vec::new(),
            acked,
            latest,
        };
        sources.possible = (0..ops.len())
            .map(|i| {
                let Some(v) = ops[i].op.observed() else {
                    return Vec::new();
                };
                let cut = sources.overwrite_before(i).map(|w| ops[w].call);
                sources
                    .writers
                    .get(&v)
                    .into_iter()
                    .flatten()
                    .copied()
                    .filter(|&w| ops[i].ret.is_none_or(|r| ops[w].call < r))
                    .filter(|&w| !ruled_out(ops[w].ret, cut))
                    .collect()
            })
            .collect();
        sources
    }

    /// The acknowledged write that began last among those that ended before `op` began: every
    /// write that ended before it began is overwritten before `op` in every linearization.
    fn overwrite_before(&self, op: usize) -> Option<usize> {
        let call = self.ops[op].call;
        let before = self.acked.partition_point(|&(ret, _, _)| ret < call);
        let k = self.latest.get(before.checked_sub(1)?)?;
        Some(self.acked[*k].2)
    }

    /// `subset` with every write an operation in it may have read from, repeatedly (a cas
    /// added observes a value too); with a failed cas that observed a mismatch, every write (it
    /// might see its expected value wherever a write is deleted).
    pub(crate) fn close(&self, subset: &[usize]) -> Vec<usize> {
        let mut kept = vec![false; self.ops.len()];
        let mut work: Vec<usize> = subset.to_vec();
        let mut all_writes = false;
        while let Some(i) = work.pop() {
            if std::mem::replace(&mut kept[i], true) {
                continue;
            }
            if matches!(self.ops[i].op, RegisterOp::CasMismatch(_)) {
                all_writes = true;
            }
            work.extend(self.possible[i].iter().copied().filter(|&w| !kept[w]));
        }
        if all_writes {
            // Every write, and so every source of a kept cas.
            for &w in self.writers.values().flatten() {
                kept[w] = true;
            }
        }
        (0..self.ops.len()).filter(|&i| kept[i]).collect()
    }

    /// For each observation in `witness` whose value had writes (or was the initial value) that
    /// an acknowledged overwrite rules out: that overwrite and what it rules out.
    pub(crate) fn explain(&self, witness: &[usize], initial: ValueId) -> Vec<Overwritten> {
        let mut found = Vec::new();
        for &i in witness {
            let Some(v) = self.ops[i].op.observed() else {
                continue;
            };
            let Some(overwrite) = self.overwrite_before(i) else {
                if self.possible[i].is_empty() && v != initial {
                    found.push(Overwritten::unwritten(i));
                }
                continue;
            };
            let cut = Some(self.ops[overwrite].call);
            let latest_ruled_out = self
                .writers
                .get(&v)
                .into_iter()
                .flatten()
                .copied()
                .filter(|&w| ruled_out(self.ops[w].ret, cut))
                .max_by_key(|&w| (self.ops[w].ret, w));
            let initial = v == initial;
            if latest_ruled_out.is_none() && !initial {
                if self.possible[i].is_empty() {
                    found.push(Overwritten::unwritten(i));
                }
                continue;
            }
            found.push(Overwritten {
                observer: i,
                overwrite: Some(overwrite),
                latest_ruled_out,
                initial,
                others_possible: !self.possible[i].is_empty(),
            });
        }
        found
    }
}

impl Overwritten {
    /// One sentence: "read of x returned 3 at 1.204 s, but write 4 to x was acknowledged at
    /// 1.180 s, and every write of 3 before the read had completed before write 4 began".
    pub(crate) fn describe(&self, key: &Value, name: &dyn Fn(usize) -> OpSummary) -> String {
        let k = describe_key(key);
        let observer = name(self.observer);
        let when = |o: &OpSummary| o.last_seen();
        let value = match observer.f.as_str() {
            "cas" => observer.value[0].clone(),
            _ => observer.value.clone(),
        };
        // Which node answered, when the history says: a lying or lagging node is named.
        let on = observer.on_node();
        let observed = match observer.f.as_str() {
            "cas" => format!("{} on {k} compared against {value}{on}", observer.action()),
            _ => format!("read of {k} returned {value}{on}"),
        };
        let Some(overwrite) = self.overwrite.map(name) else {
            return format!(
                "{observed} at {}, but no write of {value} that may have taken effect began \
                 before the {} ended",
                when(&observer),
                observer.f
            );
        };
        let preposition = if overwrite.f == "cas" { "on" } else { "to" };
        let mut text = format!(
            "{observed} at {}, but {} {preposition} {k} was acknowledged at {}",
            when(&observer),
            overwrite.action(),
            when(&overwrite),
        );
        let other = if self.others_possible { "other " } else { "" };
        if self.latest_ruled_out.is_some() {
            text.push_str(&format!(
                ", and every {other}write of {value} before the {} had completed before {} began",
                observer.f,
                overwrite.action()
            ));
        }
        if self.initial {
            text.push_str(&format!(" ({value} is the initial value)"));
        }
        text
    }
}

/// Whether a write returning at `ret` ended before an overwrite invoked at `cut` began.
fn ruled_out(ret: Option<u64>, cut: Option<u64>) -> bool {
    matches!((ret, cut), (Some(r), Some(c)) if r < c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::event::Event;
    use crate::history::operation::pair;
    use crate::models::cas_register::CasRegister;
    use crate::models::model::Model;
    use crate::testing::history_builder::*;
    use serde_json::json;

    fn with_sources<T>(events: Vec<Event>, f: impl FnOnce(&Sources, ValueId) -> T) -> T {
        let ops = pair(&history(events)).unwrap();
        let refs: Vec<_> = ops.iter().collect();
        let mut model = CasRegister::new(&Value::Null);
        let (intervals, _) = crate::search::wgl::intervals_of(&refs, |op| model.op(op)).unwrap();
        f(&Sources::new(&intervals), model.init())
    }

    #[test]
    fn overwritten_and_later_writes_are_not_sources() {
        let events = vec![
            invoke(0, 1, "write", json!(3)),
            invoke(5, 3, "write", json!(3)),
            ok(10, 1, "write", json!(3)),
            invoke(20, 1, "write", json!(4)),
            ok(30, 1, "write", json!(4)),
            invoke(40, 2, "read", json!(null)),
            ok(50, 2, "read", json!(3)),
            invoke(60, 1, "write", json!(3)),
            ok(70, 1, "write", json!(3)),
        ];
        with_sources(events, |s, init| {
            // Ops by invocation: 0 write 3, 1 info write 3 (from 5, never answered), 2 write 4,
            // 3 read 3, 4 write 3 (after the read).
            assert_eq!(
                s.close(&[3]),
                [1, 3],
                "only the indeterminate write may be read"
            );
            assert_eq!(
                s.explain(&[3], init),
                [Overwritten {
                    observer: 3,
                    overwrite: Some(2),
                    latest_ruled_out: Some(0),
                    initial: false,
                    others_possible: true,
                }]
            );
        });
    }

    #[test]
    fn a_read_nothing_could_have_written_is_said_so() {
        let events = vec![
            invoke(0, 2, "read", json!(null)),
            ok(10, 2, "read", json!(3)),
            invoke(20, 1, "write", json!(3)),
            ok(30, 1, "write", json!(3)),
        ];
        with_sources(events, |s, init| {
            assert_eq!(s.close(&[0]), [0]);
            let why = s.explain(&[0], init);
            let ops = pair(&history(vec![
                invoke(0, 2, "read", json!(null)),
                ok(10, 2, "read", json!(3)),
            ]))
            .unwrap();
            let name = |_| OpSummary::from(&ops[0]);
            assert_eq!(
                why[0].describe(&json!("x"), &name),
                "read of x returned 3 at 0.010 s, but no write of 3 that may have taken effect \
                 began before the read ended"
            );
        });
    }

    #[test]
    fn a_mismatch_keeps_every_write() {
        let events = vec![
            invoke(0, 1, "write", json!(3)),
            ok(10, 1, "write", json!(3)),
            invoke(20, 2, "cas", json!([5, 6])),
            with_error(
                crate::history::event::CAS_MISMATCH,
                fail(30, 2, "cas", json!([5, 6])),
            ),
        ];
        with_sources(events, |s, _| assert_eq!(s.close(&[1]), [0, 1]));
    }

    #[test]
    fn a_read_of_the_initial_value_after_a_write_is_explained_by_that_write() {
        let events = vec![
            invoke(0, 1, "write", json!(3)),
            ok(10, 1, "write", json!(3)),
            invoke(20, 2, "read", json!(null)),
            ok(30, 2, "read", json!(null)),
        ];
        with_sources(events, |s, init| {
            assert_eq!(s.close(&[1]), [1]);
            let why = s.explain(&[1], init);
            assert_eq!(why.len(), 1);
            assert_eq!((why[0].overwrite, why[0].initial), (Some(0), true));
        });
    }
}
