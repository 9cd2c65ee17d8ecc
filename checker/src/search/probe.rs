//! Probes: tiny sound subsets of a key, searched before the whole key, that can prove it
//! invalid in microseconds where the whole search must exhaust every order.
//!
//! A stale observation is usually visible from close by: the observation, the few updates
//! acknowledged last before it began, and what the model ties to them ([`crate::explain::ties`]):
//!
//! ```text
//!   put "a;"  |--|                       the get's spelling: put "a;", append "b;"
//!   append "b;"   |--|
//!   put "c;"           |--|ok            acknowledged last before the get began
//!   get → "a;b;"             |--|        ─► {put a, append b, put c, get}: no legal order
//! ```
//!
//! Such a subset is closed under the ties, so its non-linearizability proves the key's (the
//! argument is in `ties.rs`, the property test in `stretched.rs`). A valid key passes every
//! probe, so probing is bounded: subsets of at most [`MAX_PROBE`] operations, each searched for
//! at most [`PER_PROBE_STEPS`] steps, and all probes of a key together for at most [`PROBE_TIME`]
//! of this thread's CPU time. Both bounds count work, not wall-clock time, so a loaded machine
//! (a thread descheduled for a while) probes exactly as far as an idle one: the same key gets the
//! same verdict and the same proof either way.

use crate::explain::explainer::Explainer;
use crate::models::history_model::HistoryModel;
use crate::search::budget::Budget;
use crate::search::budget::Stop;
use crate::search::wgl::{self, Interval, Linearization};
use std::time::Duration;

/// The largest subset worth probing: beyond it the search on the subset is no longer tiny. A kv
/// get's subset holds every append its string is spelled from: on Porcupine's kv shape (few
/// puts, long strings) a stale get's subset often has 30 to 80 operations, which the small
/// search ([`wgl::decide_small`]) still decides in a few thousand steps.
const MAX_PROBE: usize = 256;
/// How many acknowledged updates before an observation each probe takes, in turn.
const WINDOWS: [usize; 2] = [1, 3];
/// The most CPU time (of the probing thread) all probes of one key may take.
const PROBE_TIME: Duration = Duration::from_millis(50);
/// The most search steps one probe may take: one awkward subset must not use up every probe's
/// time (at 20,000, a handful of hopeless subsets of long overlapping appends used up all of
/// [`PROBE_TIME`] before the stale get's own probe ran).
const PER_PROBE_STEPS: u64 = 2_000;

/// A proof found by probing: a closed subset with no legal order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    /// The subset's positions among the key's operations, in order.
    pub(crate) subset: Vec<usize>,
    /// The positions (among the key's operations) that could not follow the subset's longest
    /// legal order.
    pub(crate) stuck: Vec<usize>,
}

/// Probes around each observation of `intervals`, in order; the first subset shown not
/// linearizable, if any is found within the probes' time.
pub(crate) fn probe<M: HistoryModel>(
    model: &M,
    intervals: &[Interval<M::Op>],
    ties: &dyn Explainer,
    budget: &Budget,
) -> Option<Found> {
    let started = thread_cpu_time();
    // Acknowledged updates by the time they returned.
    let mut acked: Vec<(u64, usize)> = intervals
        .iter()
        .enumerate()
        .filter(|(_, i)| !M::observes_only(&i.op))
        .filter_map(|(at, i)| Some((i.ret?, at)))
        .collect();
    acked.sort_unstable();
    let mut tried: Vec<Vec<usize>> = Vec::new();
    for (at, observation) in intervals.iter().enumerate() {
        if !M::observes_only(&observation.op) {
            continue;
        }
        let before = acked.partition_point(|&(ret, _)| ret < observation.call);
        for k in WINDOWS {
            let window: Vec<usize> = acked[before.saturating_sub(k)..before]
                .iter()
                .map(|&(_, u)| u)
                .chain([at])
                .collect();
            let subset = ties.close(&window);
            if subset.len() > MAX_PROBE {
                break;
            }
            if tried.contains(&subset) {
                continue;
            }
            let sub: Vec<Interval<M::Op>> = subset.iter().map(|&i| intervals[i].clone()).collect();
            if thread_cpu_time().saturating_sub(started) > PROBE_TIME {
                return None;
            }
            match wgl::decide_small(model, &sub, budget, Some(PER_PROBE_STEPS)) {
                Ok(Linearization::NotLinearizable { stuck, .. }) => {
                    // The pruned search may stop short of the subset's longest order: the
                    // exact one names what cannot follow it, where it ends as soon.
                    let stuck = match wgl::check_within(model, &sub, budget, Some(PER_PROBE_STEPS))
                    {
                        Ok(Linearization::NotLinearizable { stuck, .. }) => stuck,
                        _ => stuck,
                    };
                    let stuck = stuck.iter().map(|&j| subset[j]).collect();
                    return Some(Found { subset, stuck });
                }
                Ok(Linearization::Linearizable { .. }) => tried.push(subset),
                // The check's own deadline or memory ran out: the whole search reports it.
                Err(Stop::Deadline | Stop::Memory(_) | Stop::Halted) => return None,
                // Out of this probe's steps: a wider window holds this subset and would fare no
                // better; the next observation's probe may.
                Ok(Linearization::Unknown) | Err(Stop::Steps) => break,
            }
        }
        tried.clear();
    }
    None
}

/// CPU time this thread has used: the probes' clock, blind to how loaded the machine is.
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for the call to fill; the clock id is a constant.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) } == 0;
    if !ok {
        // Never seen on Linux; without the clock, probing stops at once and the search decides.
        return Duration::MAX;
    }
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::history_model::HistoryModel;
    use crate::models::kv::{Kv, KvOp};
    use std::time::Instant;

    fn at(call: u64, ret: Option<u64>, op: KvOp) -> Interval<KvOp> {
        Interval { op, call, ret }
    }

    #[test]
    fn a_stale_get_is_caught_with_the_put_acknowledged_before_it() {
        let kv = Kv::new("");
        let (a, b, c) = (kv.intern("a;"), kv.intern("b;"), kv.intern("c;"));
        let ab = kv.intern("a;b;");
        let mut ops = vec![
            at(0, Some(1), KvOp::Put(a)),
            at(2, Some(3), KvOp::Append(b)),
            at(4, Some(5), KvOp::Get(ab)),
        ];
        // Fifty unrelated appends, then an acknowledged put, then the stale get.
        for i in 0..50 {
            ops.push(at(
                6 + 2 * i,
                Some(7 + 2 * i),
                KvOp::Append(kv.intern(&format!("{i};"))),
            ));
        }
        ops.push(at(200, Some(201), KvOp::Put(c)));
        ops.push(at(202, Some(203), KvOp::Get(ab)));
        let plain: Vec<KvOp> = ops.iter().map(|i| i.op.clone()).collect();
        let ties = kv.ties(&plain);
        let found = probe(&kv, &ops, &ties, &Budget::unlimited()).expect("a proof");
        assert_eq!(found.subset, [0, 1, 53, 54]);
        assert_eq!(found.stuck, [54]);
        // Without the stale get every probe passes.
        ops.pop();
        let plain: Vec<KvOp> = ops.iter().map(|i| i.op.clone()).collect();
        let ties = kv.ties(&plain);
        assert_eq!(probe(&kv, &ops, &ties, &Budget::unlimited()), None);
    }

    #[test]
    fn no_time_left_means_no_proof_and_the_search_decides() {
        let kv = Kv::new("");
        let a = kv.intern("a;");
        let ops = vec![
            at(0, Some(1), KvOp::Put(a)),
            at(2, Some(3), KvOp::Put(kv.intern("b;"))),
            at(4, Some(5), KvOp::Get(a)),
        ];
        let plain: Vec<KvOp> = ops.iter().map(|i| i.op.clone()).collect();
        let ties = kv.ties(&plain);
        assert!(probe(&kv, &ops, &ties, &Budget::unlimited()).is_some());
        let past = Budget::new(Some(Instant::now() - Duration::from_millis(1)), None);
        assert_eq!(probe(&kv, &ops, &ties, &past), None);
    }
}
