//! Which operations the timeline singles out, read from the verdict in `results.json`: each
//! invalid key's witness (and the operations its cycle names), the operations
//! none of which could come next after the longest linearizable prefix, and where that prefix
//! certainly ends.
//!
//! Operations are named by their invocation's event index, which the verdict's operation
//! summaries carry (`invoke_index`) and which is unique in a history.

use serde_json::Value;
use std::collections::BTreeSet;

/// The operations of the verdict the timeline highlights.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Marks {
    /// Operations of a witness or its cycle (not every stale read: a run can have hundreds, and
    /// the witness already holds the smallest set that shows the anomaly).
    pub witness: BTreeSet<u64>,
    /// Operations none of which can take effect after the longest linearizable prefix.
    pub stuck: BTreeSet<u64>,
    /// Per invalid key whose search named its longest prefix: the key (as the verdict shows it),
    /// how many operations the prefix covers, and the invocation time (ns) of its earliest stuck
    /// operation — every operation of the key completed before it is in the prefix.
    pub prefixes: Vec<Prefix>,
}

impl Marks {
    /// Whether `op` is one the verdict singles out (a witness's or one that cannot follow the
    /// prefix).
    pub fn singles_out(&self, op: &checker::Operation) -> bool {
        self.witness.contains(&op.span.invoke_index) || self.stuck.contains(&op.span.invoke_index)
    }
}

/// Where one key's longest linearizable prefix certainly reaches.
#[derive(Debug, Clone, PartialEq)]
pub struct Prefix {
    /// The key, as the verdict holds it.
    pub key: Value,
    /// How many operations the longest consistent order covers.
    pub operations: u64,
    /// The earliest invocation (ns) among the operations that could not come next.
    pub until: u64,
}

impl Marks {
    /// The marks of a verdict (`results.json`'s `check`; null gives none).
    pub fn of(check: &Value) -> Marks {
        let mut marks = Marks::default();
        let keys = check["keys"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        for key in keys {
            let anomaly = &key["anomaly"];
            if anomaly.is_null() {
                continue;
            }
            let witness = &anomaly["witness"];
            for op in list(&witness["operations"]) {
                marks.witness.extend(index(op));
            }
            for step in list(&witness["cycle"]["steps"]) {
                marks.witness.extend(index(&step["op"]));
            }
            let stuck = list(&anomaly["unlinearizable"]);
            marks.stuck.extend(stuck.iter().filter_map(index));
            let until = stuck
                .iter()
                .filter_map(|op| op["invoke_time"].as_u64())
                .min();
            if let (Some(until), Some(n)) = (until, anomaly["longest_prefix"].as_u64()) {
                marks.prefixes.push(Prefix {
                    key: key["key"].clone(),
                    operations: n,
                    until,
                });
            }
        }
        marks
    }
}

fn list(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or(&[])
}

fn index(op: &Value) -> Option<u64> {
    op["invoke_index"].as_u64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn witness_cycle_stale_and_stuck_operations_are_marked() {
        let check = json!({"keys": [
            {"key": "x", "anomaly": null},
            {"key": "y", "anomaly": {
                "longest_prefix": 4,
                "unlinearizable": [{"invoke_index": 9, "invoke_time": 900},
                                   {"invoke_index": 7, "invoke_time": 700}],
                "stale_reads": [{"read": {"invoke_index": 20}, "writer": null,
                                 "overwrite": {"invoke_index": 21}}],
                "witness": {"operations": [{"invoke_index": 3}],
                            "cycle": {"steps": [{"op": null}, {"op": {"invoke_index": 5}}]}}
            }}
        ]});
        let m = Marks::of(&check);
        assert_eq!(m.witness, BTreeSet::from([3, 5]));
        assert_eq!(m.stuck, BTreeSet::from([7, 9]));
        assert_eq!(
            m.prefixes,
            vec![Prefix {
                key: json!("y"),
                operations: 4,
                until: 700
            }]
        );
        assert_eq!(Marks::of(&Value::Null), Marks::default());
    }
}
