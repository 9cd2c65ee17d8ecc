//! One operation a workload drew, as the history records it and as a client runs it.

use crate::client::{CounterClient, RegisterClient, SetClient};
use crate::completion::Completion;
use crate::counter_op::{self, COUNTER_KEY};
use crate::register_op::{self, RegisterOp};
use crate::set_op::{self, SET_KEY};
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
    /// Add this delta to the counter.
    Incr(i64),
    /// Read the counter (from the node the client reads from).
    ReadCounter,
}

impl Op {
    /// The history's `f`.
    pub fn f(&self) -> &'static str {
        match self {
            Op::Register(_, op) => op.f(),
            Op::Add(_) | Op::Incr(_) => "add",
            Op::ReadSet | Op::ReadCounter => "read",
        }
    }

    /// The history's `key`.
    pub fn key(&self) -> &str {
        match self {
            Op::Register(key, _) => key,
            Op::Add(_) | Op::ReadSet => SET_KEY,
            Op::Incr(_) | Op::ReadCounter => COUNTER_KEY,
        }
    }

    /// The history's invocation value.
    pub fn invoke_value(&self) -> Value {
        match self {
            Op::Register(_, op) => op.invoke_value(),
            Op::Add(e) | Op::Incr(e) => json!(e),
            Op::ReadSet | Op::ReadCounter => Value::Null,
        }
    }

    /// Runs the operation through `client`.
    pub async fn invoke<C: RegisterClient + SetClient + CounterClient>(
        &self,
        client: &mut C,
    ) -> Completion {
        match self {
            Op::Register(key, op) => register_op::invoke(client, key, op).await,
            Op::Add(e) => set_op::add(client, *e).await,
            Op::ReadSet => set_op::read(client).await,
            Op::Incr(delta) => counter_op::add(client, *delta).await,
            Op::ReadCounter => counter_op::read(client).await,
        }
    }
}
