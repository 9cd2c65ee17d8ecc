//! What a key holds: a string or a set of strings, as in Redis; a command meant for one kind
//! refuses a key holding the other with Redis's `WRONGTYPE` error.

use std::collections::BTreeSet;

use bytes::Bytes;

/// The value under one key.
///
/// A set is never empty: Redis removes a key whose set loses its last member, and the only way
/// to make a set here is to add to it. Its members are kept sorted so that SMEMBERS, snapshots and
/// logs come out the same on every node and every run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A string (GET, SET, CAS, INCRBY).
    String(Bytes),
    /// A set of strings (SADD, SMEMBERS).
    Set(BTreeSet<Bytes>),
}

/// A command against a key holding the other kind of value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
pub struct WrongType;

impl Value {
    /// The string, or [`WrongType`] for a set.
    pub fn string(&self) -> Result<&Bytes, WrongType> {
        match self {
            Value::String(s) => Ok(s),
            Value::Set(_) => Err(WrongType),
        }
    }

    /// The set, or [`WrongType`] for a string.
    pub fn set(&self) -> Result<&BTreeSet<Bytes>, WrongType> {
        match self {
            Value::Set(members) => Ok(members),
            Value::String(_) => Err(WrongType),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_refuses_the_other_with_redis_words() {
        let s = Value::String(Bytes::from_static(b"1"));
        let set = Value::Set(BTreeSet::from([Bytes::from_static(b"a")]));
        assert_eq!(s.string().unwrap().as_ref(), b"1");
        assert_eq!(set.set().unwrap().len(), 1);
        assert_eq!(s.set(), Err(WrongType));
        assert_eq!(
            set.string().unwrap_err().to_string(),
            "WRONGTYPE Operation against a key holding the wrong kind of value"
        );
    }
}
