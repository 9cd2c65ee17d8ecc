//! The three verdicts a checker can reach, and how verdicts combine.
//!
//! Composition follows Jepsen: one invalid part makes the whole invalid; otherwise one part the
//! checker could not decide makes the whole unknown; only all-valid parts make a valid whole.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Whether a history satisfies the property a checker tests.
///
/// The variants are declared in merge order (valid < unknown < invalid) so that `Ord` is the
/// merge: the combined verdict of several parts is their maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Validity {
    /// The history satisfies the property.
    Valid,
    /// The checker could not decide (it ran out of time, for example).
    Unknown,
    /// The history certainly violates the property.
    Invalid,
}

impl Validity {
    /// Combines two verdicts: invalid beats unknown, unknown beats valid.
    pub fn merge(self, other: Validity) -> Validity {
        self.max(other)
    }

    /// Combines any number of verdicts; no verdicts at all is valid (nothing was violated).
    pub fn merge_all<I: IntoIterator<Item = Validity>>(verdicts: I) -> Validity {
        verdicts.into_iter().fold(Validity::Valid, Validity::merge)
    }
}

impl fmt::Display for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Validity::Valid => "valid",
            Validity::Unknown => "unknown",
            Validity::Invalid => "invalid",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Validity::{self, *};

    #[test]
    fn merge_prefers_invalid_then_unknown() {
        assert_eq!(Valid.merge(Valid), Valid);
        assert_eq!(Valid.merge(Unknown), Unknown);
        assert_eq!(Unknown.merge(Valid), Unknown);
        assert_eq!(Unknown.merge(Invalid), Invalid);
        assert_eq!(Invalid.merge(Valid), Invalid);
        assert_eq!(Validity::merge_all([Valid, Unknown, Valid]), Unknown);
        assert_eq!(Validity::merge_all([Valid, Invalid, Unknown]), Invalid);
        assert_eq!(Validity::merge_all([]), Valid);
    }

    #[test]
    fn serializes_lowercase() {
        assert_eq!(serde_json::to_string(&Invalid).unwrap(), r#""invalid""#);
        assert_eq!(serde_json::to_string(&Unknown).unwrap(), r#""unknown""#);
        let v: Validity = serde_json::from_str(r#""valid""#).unwrap();
        assert_eq!(v, Valid);
        assert_eq!(Invalid.to_string(), "invalid");
    }
}
