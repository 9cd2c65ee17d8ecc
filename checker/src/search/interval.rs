//! One operation as every search sees it: the model's operation and its real-time interval.

/// One operation to linearize: the model's operation and its real-time interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval<O> {
    /// The operation, with what it observed.
    pub op: O,
    /// The event index of its invocation.
    pub call: u64,
    /// The event index of its `ok` completion; `None` if indeterminate (+infinity, optional).
    pub ret: Option<u64>,
}
