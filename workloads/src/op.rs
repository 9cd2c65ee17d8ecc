//! One operation a workload drew, as the history records it and as a client runs it, and how it
//! completed.

use crate::client::{ClientError, RegisterClient, SetClient};
use crate::register::{self, RegisterOp};
use crate::set::{self, SET_KEY};
use checker::event::EventType;
use serde_json::{json, Value};

/// One operation a workload drew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A register operation on a key.
    Register(String, RegisterOp),
    /// Add an element to the set.
    Add(i64),
    /// Read the whole set (from the node the client reads from).
    ReadSet,
}

impl Op {
    /// The history's `f`.
    pub fn f(&self) -> &'static str {
        match self {
            Op::Register(_, op) => op.f(),
            Op::Add(_) => "add",
            Op::ReadSet => "read",
        }
    }

    /// The history's `key`.
    pub fn key(&self) -> &str {
        match self {
            Op::Register(key, _) => key,
            Op::Add(_) | Op::ReadSet => SET_KEY,
        }
    }

    /// The history's invocation value.
    pub fn invoke_value(&self) -> Value {
        match self {
            Op::Register(_, op) => op.invoke_value(),
            Op::Add(e) => json!(e),
            Op::ReadSet => Value::Null,
        }
    }

    /// Runs the operation through `client`.
    pub async fn invoke<C: RegisterClient + SetClient>(&self, client: &mut C) -> Completion {
        match self {
            Op::Register(key, op) => register::invoke(client, key, op).await,
            Op::Add(e) => set::add(client, *e).await,
            Op::ReadSet => set::final_read(client).await,
        }
    }
}

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
