//! The whole data set at one offset: what a full resync sends, a replica loads, and the log on
//! disk replays into.

use std::collections::HashMap;

use bytes::Bytes;

use crate::value::Value;

/// The whole data set at one offset.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Offset of the last write the snapshot includes.
    pub offset: u64,
    /// Every key and its value (a string or a set).
    pub data: HashMap<Bytes, Value>,
}
