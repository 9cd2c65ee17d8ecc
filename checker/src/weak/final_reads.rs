//! Which reads are final: those that began after every update had ended, and after the
//! nemesis's last event when the history has one (a read taken while a fault may still stand —
//! a replica still cut off — says nothing of what the system finally kept; Jepsen's final reads
//! come after the final heal).
//!
//! ```text
//!   add 1   |----|
//!   add 2      |--------|info
//!   add 3         |----------------…      (never completed: ended at its invocation)
//!   read      |--|                          not final
//!   read                   |--|             final: after every add's last event
//! ```
//!
//! A final read is where lost updates show: everything acknowledged must be in it. An update that
//! never completed counts as ended at its invocation; it may still take effect later, but that
//! only matters to checkers for updates that were not acknowledged, which need not be seen.

use crate::history::operation::Operation;

/// The boundary after which a read is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FinalReads {
    /// The last event index of any update, or of the nemesis if later; `None` when there were
    /// neither.
    last_update: Option<u64>,
}

impl FinalReads {
    /// The boundary for `ops`, whose updates are the operations with function `update`, in a
    /// history whose nemesis's last event is `faults_end` (if it has one).
    pub(crate) fn new(ops: &[Operation], update: &str, faults_end: Option<u64>) -> Self {
        let last_update = ops
            .iter()
            .filter(|op| op.f == update)
            .map(|op| op.span.complete_index.unwrap_or(op.span.invoke_index))
            .max();
        FinalReads {
            last_update: last_update.max(faults_end),
        }
    }

    /// Whether `read` began after every update had ended.
    pub(crate) fn is_final(&self, read: &Operation) -> bool {
        self.last_update
            .is_none_or(|last| read.span.invoke_index > last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::operation::pair;
    use crate::testing::history_builder::*;
    use serde_json::json;

    #[test]
    fn final_reads_begin_after_the_last_update_event() {
        let ops = pair(&history([
            invoke(0, 1, "add", json!(1)),
            invoke(1, 2, "read", json!(null)),
            ok(2, 1, "add", json!(1)),
            invoke(3, 1, "add", json!(2)),
            ok(4, 2, "read", json!([1])),
            info(5, 1, "add", json!(2)),
            invoke(6, 2, "read", json!(null)),
            ok(7, 2, "read", json!([1])),
        ]))
        .unwrap();
        let boundary = FinalReads::new(&ops, "add", None);
        let finals: Vec<bool> = ops
            .iter()
            .filter(|op| op.f == "read")
            .map(|op| boundary.is_final(op))
            .collect();
        assert_eq!(finals, [false, true]);

        let pending = pair(&history([
            invoke(0, 1, "read", json!(null)),
            ok(1, 1, "read", json!([])),
            invoke(2, 2, "add", json!(1)),
            invoke(3, 1, "read", json!(null)),
        ]))
        .unwrap();
        let boundary = FinalReads::new(&pending, "add", None);
        assert!(!boundary.is_final(&pending[0]));
        assert!(boundary.is_final(&pending[2]));
        assert!(FinalReads::new(&pending[..1], "add", None).is_final(&pending[0]));
    }
}
