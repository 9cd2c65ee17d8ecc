//! What a model tells the witness of an invalid key: which operations must stay together for a
//! subset to be a sound witness, and what to show around the witness it shrank to.
//!
//! Two kinds exist: the [`Ties`] every model but the register declares (closure only; the
//! per-key check then says in a sentence how far the witness's longest legal order gets), and
//! the register's sources ([`crate::explain::register_witness`]), which also show the
//! overwrites that rule out the other writes of an observed value and the cycle they form.

use crate::explain::cycle::Cycle;
use crate::explain::ties::Ties;
use crate::history::op_summary::OpSummary;

/// A model's rules for the witnesses of one key's operations.
pub(crate) trait Explainer {
    /// `subset` (positions among the key's operations) with everything its members need to
    /// stay a sound witness; in order.
    fn close(&self, subset: &[usize]) -> Vec<usize>;

    /// What to show around the witness `kept`, operations named by `name`; `None` when the
    /// model has nothing of its own to show.
    fn context(&self, kept: &[usize], name: &dyn Fn(usize) -> OpSummary) -> Option<Context>;
}

/// What a witness shows besides its own operations.
pub(crate) struct Context {
    /// Operations outside the witness that explain it (positions among the key's operations).
    pub(crate) context: Vec<usize>,
    /// One sentence per reason.
    pub(crate) because: Vec<String>,
    /// The cycle of ordering constraints the witness breaks, if one was found.
    pub(crate) cycle: Option<Cycle>,
}

impl Explainer for Ties {
    fn close(&self, subset: &[usize]) -> Vec<usize> {
        Ties::close(self, subset)
    }

    fn context(&self, _kept: &[usize], _name: &dyn Fn(usize) -> OpSummary) -> Option<Context> {
        None
    }
}
