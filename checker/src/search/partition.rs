//! Splitting a history by key: a register per key is linearizable on its own, and checking
//! each key separately keeps the search's states small (linearizability is compositional).

use crate::history::operation::Operation;
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::HashMap;

/// The operations of each key, keys in a deterministic order (see [`compare_keys`]); operations
/// without a key form one group under `null`. Each group keeps the input order.
pub fn by_key(ops: &[Operation]) -> Vec<(Value, Vec<&Operation>)> {
    let mut groups: HashMap<&Value, Vec<&Operation>> = HashMap::new();
    for op in ops {
        groups
            .entry(op.key.as_ref().unwrap_or(&Value::Null))
            .or_default()
            .push(op);
    }
    let mut keyed: Vec<(Value, Vec<&Operation>)> =
        groups.into_iter().map(|(k, v)| (k.clone(), v)).collect();
    keyed.sort_by(|a, b| compare_keys(&a.0, &b.0));
    keyed
}

/// A total order on JSON keys: null, booleans, numbers (numerically), strings, arrays
/// (element-wise), objects; ties broken by the JSON text so that `1` and `1.0` differ.
pub fn compare_keys(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Number(_) => 2,
            Value::String(_) => 3,
            Value::Array(_) => 4,
            Value::Object(_) => 5,
        }
    }
    let by_content = match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(x), Some(y)) => x.cmp(&y),
                _ => {
                    let (x, y) = (x.as_f64(), y.as_f64());
                    x.partial_cmp(&y).unwrap_or(Ordering::Equal)
                }
            },
        },
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => x
            .iter()
            .zip(y)
            .map(|(x, y)| compare_keys(x, y))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| x.len().cmp(&y.len())),
        _ => Ordering::Equal,
    };
    rank(a)
        .cmp(&rank(b))
        .then(by_content)
        .then_with(|| a.to_string().cmp(&b.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::operation::pair;
    use crate::testing::history_builder::*;
    use serde_json::json;

    #[test]
    fn groups_by_key_in_a_stable_order() {
        let ops = pair(&history([
            on(json!("b"), invoke(0, 1, "write", json!(1))),
            on(json!(10), invoke(1, 2, "write", json!(1))),
            invoke(2, 3, "read", json!(null)),
            on(json!("a"), invoke(3, 4, "write", json!(1))),
            on(json!(9), invoke(4, 5, "write", json!(1))),
            on(json!("b"), invoke(5, 6, "read", json!(null))),
            on(json!(null), invoke(6, 7, "read", json!(null))),
        ]))
        .unwrap();
        let groups: Vec<(Value, Vec<usize>)> = by_key(&ops)
            .into_iter()
            .map(|(k, ops)| (k, ops.iter().map(|op| op.id).collect()))
            .collect();
        assert_eq!(
            groups,
            [
                (json!(null), vec![2, 6]),
                (json!(9), vec![4]),
                (json!(10), vec![1]),
                (json!("a"), vec![3]),
                (json!("b"), vec![0, 5]),
            ]
        );
    }

    #[test]
    fn key_order_is_total() {
        let mut keys = vec![
            json!({"a": 1}),
            json!([1, 2]),
            json!([1]),
            json!("z"),
            json!(1.0),
            json!(1),
            json!(-5),
            json!(u64::MAX),
            json!(2.5),
            json!(true),
            json!(false),
            json!(null),
        ];
        keys.sort_by(compare_keys);
        assert_eq!(
            keys,
            [
                json!(null),
                json!(false),
                json!(true),
                json!(-5),
                json!(1),
                json!(1.0),
                json!(2.5),
                json!(u64::MAX),
                json!("z"),
                json!([1]),
                json!([1, 2]),
                json!({"a": 1}),
            ]
        );
    }
}
