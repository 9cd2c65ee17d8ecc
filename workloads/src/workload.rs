//! What a workload is to a run: one unit declaring its generator, the client operations it needs,
//! the checker that judges it and its final phase. A run asks it instead of naming it; the
//! systems it runs on are the ones whose clients offer the operations it needs.

use crate::client::Operations;
use crate::op::Op;

/// One workload (`--workload`).
pub trait Workload: Send + Sync {
    /// The client operations it needs: it runs on the systems that offer them all.
    fn needs(&self) -> &'static [Operations];
    /// The checker that judges a run of it.
    fn model(&self) -> checker::ModelKind;
    /// Its generator for one run, shared by every client: `seed` and `keys` shape the
    /// operations of the workloads they apply to.
    fn generator(&self, seed: u64, keys: usize) -> Box<dyn Generator>;
    /// What follows the workload phase, once the faults heal and the cluster recovers.
    fn final_phase(&self) -> FinalPhase;
}

/// A seeded source of a workload's operations (the same seed gives the same stream).
pub trait Generator: Send {
    /// The next operation.
    fn next_op(&mut self) -> Op;
}

/// A workload's end, after the faults heal and the cluster recovers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinalPhase {
    /// Nothing: the history as the workload left it is judged.
    None,
    /// Every node first catches up with the primary's position, then this operation is run once
    /// through a client reading from that node only: its final read, recorded as such only
    /// for a node that caught up.
    ReadEveryNode(Op),
}
