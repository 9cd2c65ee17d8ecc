//! When an operation ran: its invocation and completion, as event indices and times. An
//! operation and its summary in a report carry the same span.

use serde::Serialize;

/// An operation's invocation and, if it came, its completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Span {
    /// The invocation's event index.
    pub invoke_index: u64,
    /// The completion's event index; `None` if it never completed.
    pub complete_index: Option<u64>,
    /// The invocation's time, in nanoseconds.
    pub invoke_time: u64,
    /// The completion's time, in nanoseconds; `None` if it never completed.
    pub complete_time: Option<u64>,
}
