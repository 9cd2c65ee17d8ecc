//! Asynchronous primary → replica replication: its wire protocol, its timings, and failover.
//!
//! # Offsets
//! The replication offset counts *writes*, not bytes: every write a primary applies that changes (or
//! may change) data gets the next offset — each SET, FLUSHALL, successful CAS, SADD that added a
//! member and DEL that removed a key. A fresh primary is at offset 0 and its first write is offset 1. A replica's offset is the
//! offset of the last write it applied, so "caught up" means equal offsets.
//!
//! # The link
//! A replica connects to its primary's ordinary RESP port, so the link crosses the same network
//! (and the same faults) as client traffic. Every message is a RESP2 array of bulk strings:
//!
//! ```text
//!   replica                                   primary
//!   REPLCONF listening-port <port>  ───────►
//!                                   ◄───────  +OK
//!   FLSYNC                          ───────►  (the connection is now a replication link)
//!                                   ◄───────  EPOCH <epoch>
//!                                   ◄───────  SNAPSHOT <offset> <key count>
//!                                   ◄───────  KV <key> <value>              (a string; or
//!                                   ◄───────  SKV <key> <member> ...         a set: key count times)
//!                                   ◄───────  WRITE <offset> SET <key> <value>
//!                                   ◄───────  WRITE <offset> SADD <key> <member> ...
//!                                   ◄───────  WRITE <offset> DEL <key> ...
//!                                   ◄───────  WRITE <offset> FLUSHALL
//!                                   ◄───────  PING                          (every second)
//!   REPLCONF ACK <offset>           ───────►  (no reply; at most every 100 ms, at least every second)
//! ```
//!
//! The snapshot replaces the replica's data wholesale; the writes follow it with consecutive offsets
//! and a replica cuts the link on any gap. Writes travel as effects (see [`crate::write`]): a CAS
//! that swapped is sent as the SET it amounted to.
//!
//! # Asynchrony and delay
//! A primary acknowledges a write to its client as soon as it has applied it, and never waits for
//! replicas. Each link sends a write no earlier than `--replication-delay` after its acknowledgement
//! (the snapshot is not delayed), so reads on replicas return stale values for that long; PINGs are
//! not held back, so a long delay does not look like a dead link.
//!
//! # Failures
//! A replica that hears nothing for [`LINK_TIMEOUT`] (a paused or partitioned primary), or sees the
//! connection close or misbehave, marks its link down, retries every 100–500 ms, and on reconnect
//! does a full resync: there is no partial resync in version 0. A primary cuts a link whose replica
//! falls more than the feed's capacity behind (see [`crate::store`]), which forces the same resync.
//!
//! # Roles, epochs and failover
//! A node's role changes at run time, as Redis's does:
//!
//! - `REPLICAOF NO ONE` promotes a replica. It becomes a primary in a new **epoch**, one above
//!   the highest it knows, keeping its data and offset; its own link to the old primary ends.
//! - `REPLICAOF host port` makes a node follow another. A primary so demoted ends every link it
//!   served and does a **full resync** from its new primary: the snapshot replaces its data
//!   wholesale, so the writes it acknowledged that the new primary never received are gone —
//!   that is how acknowledged writes get lost.
//!
//! The epoch is the node's term: a primary's is the one it was promoted in (0 for a primary
//! since startup), a replica's is its primary's, learned from the snapshot. INFO replication
//! (`epoch:`) and ROLE (last element) report it, so that a client or a peer that finds two
//! primaries can tell the newer one. Offsets are not comparable across epochs; they need not
//! be, since every link starts with a full resync.
//!
//! With `--failover-after`, a node also watches its peers and fails over by itself, with no
//! consensus ([`failover`]): split brain and lost writes on purpose, small enough to read.

pub mod failover;
mod primary;
mod registry;
mod replica;

pub use primary::{serve_link, Primary};
pub use registry::Registry;
pub use replica::{follower, Upstream};

use std::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::reply::{self, Reply};
use crate::value::Value;
use crate::write::Write;

/// How often a primary sends PING on an idle link.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// Silence after which a replica gives up on its primary (several missed heartbeats).
pub const LINK_TIMEOUT: Duration = Duration::from_secs(5);

/// One message from a primary to a replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Start of a full resync: the data as of `offset`, in `keys` [`Message::Kv`] messages.
    Snapshot {
        /// Offset of the last write the snapshot includes.
        offset: u64,
        /// How many key-value messages follow.
        keys: usize,
    },
    /// The primary's epoch, sent before its snapshot; the replica takes it as its own.
    Epoch(u64),
    /// One key of a snapshot: `KV key value` for a string, `SKV key member...` for a set.
    Kv(Bytes, Value),
    /// A write at its offset.
    Write(u64, Write),
    /// Heartbeat.
    Ping,
}

/// A message a replica cannot understand; the link is cut and retried.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The primary answered with an error (it may not be a faultline primary at all).
    #[error("primary refused: {0}")]
    Refused(String),
    /// Something that is not a message of this protocol.
    #[error("malformed replication message: {0:?}")]
    Malformed(Reply),
}

impl Message {
    /// Appends the message to `out` as a RESP2 array of bulk strings.
    pub fn encode(&self, out: &mut BytesMut) {
        reply::encode(&self.to_reply(), out);
    }

    /// The message as an array of bulk strings: on the wire and in the log on disk alike.
    pub fn to_reply(&self) -> Reply {
        let words: Vec<Bytes> = match self {
            Message::Snapshot { offset, keys } => vec![
                Bytes::from_static(b"SNAPSHOT"),
                offset.to_string().into(),
                keys.to_string().into(),
            ],
            Message::Kv(key, Value::String(value)) => {
                vec![Bytes::from_static(b"KV"), key.clone(), value.clone()]
            }
            Message::Kv(key, Value::Set(members)) => [Bytes::from_static(b"SKV"), key.clone()]
                .into_iter()
                .chain(members.iter().cloned())
                .collect(),
            Message::Epoch(epoch) => vec![Bytes::from_static(b"EPOCH"), epoch.to_string().into()],
            Message::Write(offset, write) => {
                [Bytes::from_static(b"WRITE"), offset.to_string().into()]
                    .into_iter()
                    .chain(write.to_args())
                    .collect()
            }
            Message::Ping => vec![Bytes::from_static(b"PING")],
        };
        reply::bulks(words)
    }

    /// Reads a message back from a decoded frame.
    pub fn decode(frame: Reply) -> Result<Message, StreamError> {
        if let Reply::Error(e) = &frame {
            return Err(StreamError::Refused(e.to_string()));
        }
        let words = reply::words(&frame);
        let message = words.and_then(|words| match words.as_slice() {
            [kind, offset, keys] if kind.as_ref() == b"SNAPSHOT" => Some(Message::Snapshot {
                offset: number(offset)?,
                keys: number(keys)?,
            }),
            [kind, epoch] if kind.as_ref() == b"EPOCH" => Some(Message::Epoch(number(epoch)?)),
            [kind, key, value] if kind.as_ref() == b"KV" => {
                Some(Message::Kv(key.clone(), Value::String(value.clone())))
            }
            // A set is never empty (see `Value`).
            [kind, key, members @ ..] if kind.as_ref() == b"SKV" && !members.is_empty() => Some(
                Message::Kv(key.clone(), Value::Set(members.iter().cloned().collect())),
            ),
            [kind, offset, write @ ..] if kind.as_ref() == b"WRITE" => {
                Some(Message::Write(number(offset)?, Write::from_args(write)?))
            }
            [kind] if kind.as_ref() == b"PING" => Some(Message::Ping),
            _ => None,
        });
        message.ok_or(StreamError::Malformed(frame))
    }
}

/// A decimal number sent as a bulk string.
fn number<T: std::str::FromStr>(word: &[u8]) -> Option<T> {
    std::str::from_utf8(word).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis_protocol::resp2::decode::decode_bytes_mut;

    fn round_trip(message: Message) -> Message {
        let mut wire = BytesMut::new();
        message.encode(&mut wire);
        let (frame, _, _) = decode_bytes_mut(&mut wire).unwrap().unwrap();
        assert!(wire.is_empty());
        Message::decode(frame).unwrap()
    }

    #[test]
    fn messages_round_trip() {
        let messages = [
            Message::Snapshot { offset: 7, keys: 2 },
            Message::Epoch(3),
            Message::Kv(
                Bytes::from_static(b"k"),
                Value::String(Bytes::from_static(b"\r\n")),
            ),
            Message::Kv(
                Bytes::from_static(b"s"),
                Value::Set([Bytes::from_static(b"1"), Bytes::from_static(b"")].into()),
            ),
            Message::Write(
                9,
                Write::SAdd {
                    key: Bytes::from_static(b"s"),
                    members: vec![Bytes::from_static(b"2")],
                },
            ),
            Message::Write(8, Write::Del(vec![Bytes::from_static(b"k")])),
            Message::Ping,
        ];
        for m in messages {
            assert_eq!(round_trip(m.clone()), m);
        }
    }

    #[test]
    fn foreign_frames_are_refused() {
        assert!(matches!(
            Message::decode(reply::error("ERR unknown command 'FLSYNC'")),
            Err(StreamError::Refused(_))
        ));
        assert!(matches!(
            Message::decode(reply::bulks(["WRITE", "x", "FLUSHALL"])),
            Err(StreamError::Malformed(_))
        ));
        assert!(matches!(
            Message::decode(reply::bulks(["SKV", "empty-set"])),
            Err(StreamError::Malformed(_))
        ));
    }
}
