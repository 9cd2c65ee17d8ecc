//! The register's witness rules: a witness keeps every write its observations may have read
//! from ([`Sources::close`]), and shows what rules out the others: the acknowledged overwrite,
//! the latest write it rules out, one sentence per observation ([`Sources::explain`]), and the
//! cycle of ordering constraints they form ([`crate::explain::cycle`]).

use crate::explain::cycle;
use crate::explain::explainer::{Context, Explainer};
use crate::explain::sources::Sources;
use crate::history::op_summary::OpSummary;
use crate::models::interner::ValueId;
use crate::models::register_op::RegisterOp;
use crate::search::wgl::Interval;
use serde_json::Value;

/// The witness rules of one register key.
pub(crate) struct RegisterWitness<'a> {
    key: &'a Value,
    initial: ValueId,
    ops: &'a [Interval<RegisterOp>],
    sources: Sources<'a>,
}

impl<'a> RegisterWitness<'a> {
    /// The rules for `ops`, the operations of `key` whose register starts as `initial`.
    pub(crate) fn new(key: &'a Value, initial: ValueId, ops: &'a [Interval<RegisterOp>]) -> Self {
        RegisterWitness {
            key,
            initial,
            ops,
            sources: Sources::new(ops),
        }
    }
}

impl Explainer for RegisterWitness<'_> {
    fn close(&self, subset: &[usize]) -> Vec<usize> {
        self.sources.close(subset)
    }

    /// What rules out the earlier writes of each observed value, and (with it) the cycle of
    /// ordering constraints, over a sound closure so that the cycle is a proof.
    fn context(&self, kept: &[usize], name: &dyn Fn(usize) -> OpSummary) -> Option<Context> {
        let why = self.sources.explain(kept, self.initial);
        let mut context: Vec<usize> = why
            .iter()
            .flat_map(|w| [w.overwrite, w.latest_ruled_out])
            .flatten()
            .filter(|i| !kept.contains(i))
            .collect();
        let shown = self
            .sources
            .close(&[kept.to_vec(), context.clone()].concat());
        let sub: Vec<Interval<RegisterOp>> = shown.iter().map(|&i| self.ops[i].clone()).collect();
        let cycle = cycle::find(self.initial, &sub, &|j| name(shown[j]));
        if let Some(cycle) = &cycle {
            // The cycle may pass through a write the closure added: show it too.
            for step in cycle.steps.iter().filter_map(|s| s.op.as_ref()) {
                if let Some(&i) = shown.iter().find(|&&i| {
                    name(i).span.invoke_index == step.span.invoke_index && !kept.contains(&i)
                }) {
                    context.push(i);
                }
            }
        }
        let because = why.iter().map(|w| w.describe(self.key, name)).collect();
        Some(Context {
            context,
            because,
            cycle,
        })
    }
}
