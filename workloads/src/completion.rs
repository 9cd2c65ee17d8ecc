//! How one operation completed, ready to be recorded: ok, fail (certainly did not happen) or
//! info (may have happened), from what the client said.

use crate::client::ClientError;
use checker::EventType;
use serde_json::Value;

/// The completion of one operation, ready to be recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// ok, fail or info.
    pub kind: EventType,
    /// The completion's value: what a read returned, else the invocation's value.
    pub value: Value,
    /// Why it failed or is indeterminate.
    pub error: Option<String>,
}

impl Completion {
    /// The completion of an operation invoked with `invoked` whose client call gave `result`
    /// (on success, the value to record).
    pub fn of(result: Result<Value, ClientError>, invoked: Value) -> Completion {
        match result {
            Ok(value) => Completion {
                kind: EventType::Ok,
                value,
                error: None,
            },
            Err(ClientError::DidNotHappen(e)) => Completion {
                kind: EventType::Fail,
                value: invoked,
                error: Some(e),
            },
            Err(ClientError::MayHaveHappened(e)) => Completion {
                kind: EventType::Info,
                value: invoked,
                error: Some(e),
            },
        }
    }
}
