//! What a workload is to a run: one unit declaring its generator, the client operations it needs,
//! the checker that judges it and its final phase. A run asks it instead of naming it; the
//! systems it runs on are the ones whose clients offer the operations it needs.

use crate::client::Operations;
use crate::mix::Weights;
use crate::op::Op;

/// One workload (`--workload`).
pub trait Workload: Send + Sync {
    /// The client operations it needs: it runs on the systems that offer them all.
    fn needs(&self) -> &'static [Operations];
    /// The checker that judges a run of it.
    fn model(&self) -> checker::ModelKind;
    /// The stronger, linearizable model that judges it instead on a system whose options
    /// promise linearizable reads and writes; `None` where [`Workload::model`] already is one,
    /// or where no stronger question is asked.
    fn linearizable_model(&self) -> Option<checker::ModelKind> {
        None
    }
    /// Its generator for one run, shared by every client, drawing as `shape` says.
    fn generator(&self, shape: &Shape) -> Box<dyn Generator>;
    /// Its kinds of operation, by the history's names, with the weights they are drawn with
    /// unless `--mix` says otherwise.
    fn kinds(&self) -> &'static [(&'static str, u32)];
    /// Whether its operations spread over keys, so that `--keys` and `--ops-per-key` shape it;
    /// a workload on one key says nothing.
    fn keyed(&self) -> bool {
        false
    }
    /// What follows the workload phase, once the faults heal and the cluster recovers.
    fn final_phase(&self) -> FinalPhase;
}

/// What shapes a run's operation stream; each workload uses the parts that apply to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    /// The seed: the same shape gives the same stream.
    pub seed: u64,
    /// How many keys are in use at once.
    pub keys: usize,
    /// After this many operations a key is retired and a fresh one takes its place (Jepsen's
    /// `independent` keys), so a long run never builds one enormous key; `None` keeps the keys.
    pub ops_per_key: Option<u64>,
    /// How often each of the workload's kinds is drawn (`None`: its own weights).
    pub weights: Option<Weights>,
}

impl Shape {
    /// The weights to draw `kinds` with: the run's mix, or the kinds' own defaults.
    pub fn weights_or(&self, kinds: &[(&str, u32)]) -> Weights {
        self.weights
            .clone()
            .unwrap_or_else(|| Weights::defaults(kinds))
    }
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
