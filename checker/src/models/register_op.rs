//! A register's operations, with values interned: the vocabulary the register model, the
//! unique-value fast path, the witness's sources and the cycle all speak.

use crate::history::history_error::HistoryError;
use crate::history::operation::Operation;
use crate::models::interner::ValueId;
use serde_json::Value;

/// One register operation, with values interned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegisterOp {
    /// A read that returned this value.
    Read(ValueId),
    /// A write of this value.
    Write(ValueId),
    /// A compare-and-set that swapped `expected` for `new`.
    Cas {
        /// The value the register had to hold.
        expected: ValueId,
        /// The value it then held.
        new: ValueId,
    },
    /// A compare-and-set that failed its compare: the register held something other than this.
    CasMismatch(ValueId),
}

impl RegisterOp {
    /// The value the operation wrote, if it writes.
    pub fn wrote(&self) -> Option<ValueId> {
        match *self {
            RegisterOp::Write(v) | RegisterOp::Cas { new: v, .. } => Some(v),
            RegisterOp::Read(_) | RegisterOp::CasMismatch(_) => None,
        }
    }

    /// The value the operation observed exactly, if it observes one. A mismatch saw *some other*
    /// value: no single write to order it after.
    pub fn observed(&self) -> Option<ValueId> {
        match *self {
            RegisterOp::Read(v) | RegisterOp::Cas { expected: v, .. } => Some(v),
            RegisterOp::Write(_) | RegisterOp::CasMismatch(_) => None,
        }
    }
}

/// A cas's `[expected, new]` argument.
pub(crate) fn cas_arguments(op: &Operation) -> Result<(&Value, &Value), HistoryError> {
    match op.value.as_array().map(Vec::as_slice) {
        Some([expected, new]) => Ok((expected, new)),
        _ => Err(HistoryError::MalformedValue {
            index: op.span.invoke_index,
            f: op.f.clone(),
            value: op.value.clone(),
            reason: "a cas value must be [expected, new]".into(),
        }),
    }
}
