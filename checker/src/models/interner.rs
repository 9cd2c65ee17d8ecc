//! Interning JSON values as small integers, so a model state is a `u32` to hash and compare
//! instead of a tree of JSON.

use serde_json::Value;
use std::collections::HashMap;

/// A small integer standing for one JSON value within one [`Interner`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(u32);

/// A two-way map between JSON values and [`ValueId`]s; equal values get equal ids.
///
/// Equality is `serde_json::Value`'s: `1` and `1.0` are different values.
#[derive(Debug, Clone, Default)]
pub struct Interner {
    ids: HashMap<Value, ValueId>,
    values: Vec<Value>,
}

impl Interner {
    /// An interner holding no values.
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of `value`, allocating one the first time it is seen.
    pub fn intern(&mut self, value: &Value) -> ValueId {
        if let Some(&id) = self.ids.get(value) {
            return id;
        }
        // More than 2^32 distinct values would not fit in memory as JSON anyway.
        let id =
            ValueId(u32::try_from(self.values.len()).expect("fewer than 2^32 distinct values"));
        self.ids.insert(value.clone(), id);
        self.values.push(value.clone());
        id
    }

    /// The value an id stands for.
    pub fn value(&self, id: ValueId) -> &Value {
        &self.values[id.0 as usize]
    }

    /// How many distinct values have been interned.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.values.len()
    }
}

#[cfg(test)]
mod tests {
    use super::Interner;
    use serde_json::json;

    #[test]
    fn equal_values_share_an_id() {
        let mut i = Interner::new();
        let a = i.intern(&json!(1));
        let b = i.intern(&json!("x"));
        let c = i.intern(&json!(1));
        let d = i.intern(&json!(1.0));
        assert_eq!(a, c);
        assert_ne!(a, b);
        assert_ne!(a, d);
        assert_eq!(i.len(), 3);
        assert_eq!(i.value(b), &json!("x"));
        assert_eq!(i.value(d), &json!(1.0));
    }
}
