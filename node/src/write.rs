//! A write as the replication stream carries it: the effect of a client command, not the command.
//!
//! Replicating effects keeps replicas deterministic without re-evaluating conditions: a CAS that
//! swapped travels as the `Set` it amounted to, and one that did not match travels not at all.

use std::collections::HashMap;

use bytes::Bytes;

/// One change to the data, applied identically on the primary and on every replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Store `value` under `key`.
    Set {
        /// The key written.
        key: Bytes,
        /// Its new value.
        value: Bytes,
    },
    /// Remove these keys (missing ones are ignored).
    Del(Vec<Bytes>),
    /// Remove every key.
    FlushAll,
}

impl Write {
    /// Applies the write to `data`; returns how many keys it removed.
    pub fn apply(&self, data: &mut HashMap<Bytes, Bytes>) -> usize {
        match self {
            Write::Set { key, value } => {
                data.insert(key.clone(), value.clone());
                0
            }
            Write::Del(keys) => keys.iter().filter(|k| data.remove(*k).is_some()).count(),
            Write::FlushAll => {
                let removed = data.len();
                data.clear();
                removed
            }
        }
    }

    /// The write as a command (`SET k v`, `DEL k...`, `FLUSHALL`), as sent on the stream.
    pub fn to_args(&self) -> Vec<Bytes> {
        match self {
            Write::Set { key, value } => {
                vec![Bytes::from_static(b"SET"), key.clone(), value.clone()]
            }
            Write::Del(keys) => std::iter::once(Bytes::from_static(b"DEL"))
                .chain(keys.iter().cloned())
                .collect(),
            Write::FlushAll => vec![Bytes::from_static(b"FLUSHALL")],
        }
    }

    /// Reads a write back from [`Write::to_args`]'s form; `None` if it is not one.
    pub fn from_args(args: &[Bytes]) -> Option<Write> {
        let (name, rest) = args.split_first()?;
        match (name.as_ref(), rest) {
            (b"SET", [key, value]) => Some(Write::Set {
                key: key.clone(),
                value: value.clone(),
            }),
            (b"DEL", keys) if !keys.is_empty() => Some(Write::Del(keys.to_vec())),
            (b"FLUSHALL", []) => Some(Write::FlushAll),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_round_trip() {
        let writes = [
            Write::Set {
                key: Bytes::from_static(b"k"),
                value: Bytes::from_static(b"\0v"),
            },
            Write::Del(vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")]),
            Write::FlushAll,
        ];
        for w in writes {
            assert_eq!(Write::from_args(&w.to_args()), Some(w));
        }
        assert_eq!(Write::from_args(&[Bytes::from_static(b"DEL")]), None);
        assert_eq!(Write::from_args(&[]), None);
    }

    #[test]
    fn del_counts_only_present_keys() {
        let mut data = HashMap::from([(Bytes::from_static(b"a"), Bytes::from_static(b"1"))]);
        let del = Write::Del(vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")]);
        assert_eq!(del.apply(&mut data), 1);
        assert!(data.is_empty());
    }
}
