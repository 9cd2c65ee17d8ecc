//! What can be wrong with a history as a whole, as opposed to one unparsable line
//! ([`crate::history::jsonl::ParseError`]): events that do not pair up, or operations a model
//! cannot judge.

use crate::history::event::Process;
use serde_json::Value;

/// A history that is well-formed JSON but cannot be checked as it stands.
///
/// Indexes are event indexes (the `index` field), so a message points straight at the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// A completion arrived from a process with no open invocation.
    #[error("event {index}: process {process} completed {f:?} without an open invocation")]
    CompletionWithoutInvocation {
        /// The completion's event index.
        index: u64,
        /// The process that completed.
        process: Process,
        /// The completion's function.
        f: String,
    },
    /// A completion names a different function than the invocation it completes.
    #[error(
        "event {index}: process {process} completed {completed:?}, \
         but its invocation at event {invoke_index} was {invoked:?}"
    )]
    FunctionMismatch {
        /// The completion's event index.
        index: u64,
        /// The process that completed.
        process: Process,
        /// The invocation's event index.
        invoke_index: u64,
        /// The invocation's function.
        invoked: String,
        /// The completion's function.
        completed: String,
    },
    /// A process invoked a second operation before its first one completed.
    #[error(
        "event {index}: process {process} invoked {f:?} while its invocation \
         at event {open_index} is still open"
    )]
    ProcessBusy {
        /// The second invocation's event index.
        index: u64,
        /// The busy process.
        process: Process,
        /// The second invocation's function.
        f: String,
        /// The event index of the invocation still open.
        open_index: u64,
    },
    /// An operation's function is not one the chosen model knows.
    #[error(
        "operation invoked at event {index}: f {f:?} is not supported by the {model} model \
         (it supports {supported})"
    )]
    UnsupportedFunction {
        /// The invocation's event index.
        index: u64,
        /// The unsupported function.
        f: String,
        /// The model's name.
        model: String,
        /// The functions the model supports, comma-separated.
        supported: String,
    },
    /// An operation's argument does not have the shape its function needs.
    #[error("operation invoked at event {index}: {f} value {value} is malformed: {reason}")]
    MalformedValue {
        /// The invocation's event index.
        index: u64,
        /// The operation's function.
        f: String,
        /// The offending value.
        value: Value,
        /// What shape was expected.
        reason: String,
    },
}
