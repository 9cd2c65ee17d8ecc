//! A register operation — read, write, compare-and-set — as the history names it and as a
//! client runs it.

use crate::client::RegisterClient;
use crate::completion::Completion;
use checker::{EventType, CAS_MISMATCH};
use serde_json::{json, Value};

/// One register operation as the generator chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterOp {
    /// Read the key.
    Read,
    /// Write this value.
    Write(i64),
    /// Compare-and-set: expected value, new value.
    Cas(i64, i64),
}

impl RegisterOp {
    /// The history's `f` for this operation.
    pub fn f(&self) -> &'static str {
        match self {
            RegisterOp::Read => "read",
            RegisterOp::Write(_) => "write",
            RegisterOp::Cas(..) => "cas",
        }
    }

    /// The history's invocation `value`: null, the value written, or `[expected, new]`.
    pub fn invoke_value(&self) -> Value {
        match self {
            RegisterOp::Read => Value::Null,
            RegisterOp::Write(v) => json!(v),
            RegisterOp::Cas(e, n) => json!([e, n]),
        }
    }
}

/// Runs `op` on `key` through `client` and says how it completed.
pub async fn invoke<C: RegisterClient>(client: &mut C, key: &str, op: &RegisterOp) -> Completion {
    let result = match op {
        RegisterOp::Read => client.read(key).await.map(|v| json!(v)),
        RegisterOp::Write(v) => client.write(key, *v).await.map(|()| json!(v)),
        RegisterOp::Cas(e, n) => match client.cas(key, *e, *n).await {
            Ok(true) => Ok(json!([e, n])),
            Ok(false) => {
                return Completion {
                    kind: EventType::Fail,
                    value: op.invoke_value(),
                    error: Some(CAS_MISMATCH.to_string()),
                }
            }
            Err(e) => Err(e),
        },
    };
    Completion::of(result, op.invoke_value())
}
