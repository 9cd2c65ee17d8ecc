//! A write as the replication stream carries it: the effect of a client command, not the command.
//!
//! Replicating effects keeps replicas deterministic without re-evaluating conditions: a CAS that
//! swapped travels as the `Set` it amounted to, and one that did not match travels not at all; an
//! SADD travels as the members it actually added, and one that added none travels not at all.

use std::collections::HashMap;

use bytes::Bytes;

use crate::value::Value;

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
    /// Add `members` to the set under `key`, making the set if the key is missing.
    SAdd {
        /// The set's key.
        key: Bytes,
        /// Members the set did not hold yet, at least one.
        members: Vec<Bytes>,
    },
    /// Remove these keys (missing ones are ignored).
    Del(Vec<Bytes>),
    /// Remove every key.
    FlushAll,
}

impl Write {
    /// Applies the write to `data`; returns how many keys it removed.
    pub fn apply(&self, data: &mut HashMap<Bytes, Value>) -> usize {
        match self {
            Write::Set { key, value } => {
                data.insert(key.clone(), Value::String(value.clone()));
                0
            }
            Write::SAdd { key, members } => {
                match data.get_mut(key) {
                    Some(Value::Set(set)) => set.extend(members.iter().cloned()),
                    // The primary streams an SADD only for a key holding a set or nothing (it
                    // answers WRONGTYPE otherwise) and every node applies the same stream, so no
                    // node holds a string here; were one there, the set would replace it everywhere.
                    _ => {
                        data.insert(key.clone(), Value::Set(members.iter().cloned().collect()));
                    }
                }
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

    /// The write as a command (`SET k v`, `SADD k m...`, `DEL k...`, `FLUSHALL`), as sent on the stream.
    pub fn to_args(&self) -> Vec<Bytes> {
        match self {
            Write::Set { key, value } => {
                vec![Bytes::from_static(b"SET"), key.clone(), value.clone()]
            }
            Write::SAdd { key, members } => [Bytes::from_static(b"SADD"), key.clone()]
                .into_iter()
                .chain(members.iter().cloned())
                .collect(),
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
            (b"SADD", [key, members @ ..]) if !members.is_empty() => Some(Write::SAdd {
                key: key.clone(),
                members: members.to_vec(),
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
            Write::SAdd {
                key: Bytes::from_static(b"s"),
                members: vec![Bytes::from_static(b"1"), Bytes::from_static(b"\r\n")],
            },
            Write::Del(vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")]),
            Write::FlushAll,
        ];
        for w in writes {
            assert_eq!(Write::from_args(&w.to_args()), Some(w));
        }
        assert_eq!(Write::from_args(&[Bytes::from_static(b"DEL")]), None);
        let no_member = [Bytes::from_static(b"SADD"), Bytes::from_static(b"s")];
        assert_eq!(Write::from_args(&no_member), None);
        assert_eq!(Write::from_args(&[]), None);
    }

    #[test]
    fn del_counts_only_present_keys() {
        let mut data = HashMap::from([(
            Bytes::from_static(b"a"),
            Value::String(Bytes::from_static(b"1")),
        )]);
        let sadd = Write::SAdd {
            key: Bytes::from_static(b"s"),
            members: vec![Bytes::from_static(b"x")],
        };
        sadd.apply(&mut data);
        let del = Write::Del(vec![
            Bytes::from_static(b"a"),
            Bytes::from_static(b"b"),
            Bytes::from_static(b"s"),
        ]);
        assert_eq!(del.apply(&mut data), 2, "a string and a set; b was missing");
        assert!(data.is_empty());
    }

    #[test]
    fn sadd_makes_the_set_or_adds_to_it() {
        let mut data = HashMap::new();
        let add = |members: &[&'static str]| Write::SAdd {
            key: Bytes::from_static(b"s"),
            members: members
                .iter()
                .map(|m| Bytes::from_static(m.as_bytes()))
                .collect(),
        };
        add(&["b"]).apply(&mut data);
        add(&["a", "c"]).apply(&mut data);
        let Some(Value::Set(set)) = data.get(b"s".as_slice()) else {
            panic!("no set under s: {data:?}");
        };
        assert_eq!(
            set.iter().map(|m| m.as_ref()).collect::<Vec<_>>(),
            [b"a", b"b", b"c"]
        );
    }
}
