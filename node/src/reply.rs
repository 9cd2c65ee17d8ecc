//! Replies: RESP2 frames (`redis-protocol`'s), small constructors that keep them well-formed, and
//! a client's replies in the protocol its connection speaks.
//!
//! A connection speaks RESP2 until `HELLO 3`. RESP3 keeps RESP2's simple strings, errors,
//! integers, bulk strings and arrays byte for byte, and adds types where Redis uses them:
//!
//! | reply | RESP2 | RESP3 |
//! |---|---|---|
//! | null (GET of a missing key) | `$-1` | `_` |
//! | map (HELLO) | array of key, value, key, value ... | `%` pairs |
//! | set (SMEMBERS) | array | `~` |

use bytes::{Bytes, BytesMut};
use redis_protocol::bytes_utils::Str;
use redis_protocol::resp2::encode::extend_encode;
pub use redis_protocol::resp2::types::BytesFrame as Reply;

/// `+OK`.
pub fn ok() -> Reply {
    Reply::SimpleString(Bytes::from_static(b"OK"))
}

/// A simple string; `text` must not hold CR or LF (callers pass constants).
pub fn simple(text: &'static str) -> Reply {
    Reply::SimpleString(Bytes::from_static(text.as_bytes()))
}

/// A bulk string.
pub fn bulk(data: impl Into<Bytes>) -> Reply {
    Reply::BulkString(data.into())
}

/// An error reply; `text` starts with its code (`ERR`, `READONLY`, ...).
pub fn error(text: impl ToString) -> Reply {
    // Errors may quote client input, and a CR or LF inside would end the frame early.
    let text = text.to_string().replace(['\r', '\n'], " ");
    Reply::Error(Str::from(text))
}

/// An array of bulk strings.
pub fn bulks<I, B>(items: I) -> Reply
where
    I: IntoIterator<Item = B>,
    B: Into<Bytes>,
{
    Reply::Array(items.into_iter().map(bulk).collect())
}

/// The bulk strings of an array of them (`bulks`' frames read back); `None` for anything else.
pub fn words(reply: &Reply) -> Option<Vec<Bytes>> {
    match reply {
        Reply::Array(items) => items
            .iter()
            .map(|item| match item {
                Reply::BulkString(b) => Some(b.clone()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// An integer reply from a count.
pub fn count(n: usize) -> Reply {
    Reply::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

/// The protocol a client connection speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Protocol {
    /// RESP2: every connection's start, and `HELLO 2`'s.
    #[default]
    Resp2,
    /// RESP3, after `HELLO 3`.
    Resp3,
}

/// A reply to a client, with the types RESP3 tells apart and RESP2 does not.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    /// A frame both protocols have (a null, also inside an array, is RESP3's own `_`).
    Frame(Reply),
    /// A map: RESP2 sends it as a flat array of its keys and values.
    Map(Vec<(Reply, Reply)>),
    /// A set: RESP2 sends it as an array.
    Set(Vec<Reply>),
}

impl From<Reply> for Response {
    fn from(reply: Reply) -> Response {
        Response::Frame(reply)
    }
}

impl Response {
    /// Appends the reply to `out` in `protocol`.
    pub fn encode(&self, protocol: Protocol, out: &mut BytesMut) {
        match (self, protocol) {
            (Response::Frame(reply), Protocol::Resp2) => encode(reply, out),
            (Response::Frame(reply), Protocol::Resp3) => encode3(reply, out),
            (Response::Map(pairs), Protocol::Resp2) => {
                header(b'*', pairs.len() * 2, out);
                for (key, value) in pairs {
                    encode(key, out);
                    encode(value, out);
                }
            }
            (Response::Map(pairs), Protocol::Resp3) => {
                header(b'%', pairs.len(), out);
                for (key, value) in pairs {
                    encode3(key, out);
                    encode3(value, out);
                }
            }
            (Response::Set(items), protocol) => {
                let (kind, each): (u8, fn(&Reply, &mut BytesMut)) = match protocol {
                    Protocol::Resp2 => (b'*', encode),
                    Protocol::Resp3 => (b'~', encode3),
                };
                header(kind, items.len(), out);
                for item in items {
                    each(item, out);
                }
            }
        }
    }
}

/// An aggregate's header: its type byte and element count.
fn header(kind: u8, len: usize, out: &mut BytesMut) {
    out.extend_from_slice(&[kind]);
    out.extend_from_slice(len.to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends `reply` to `out` in RESP3: RESP2's bytes but for nulls, at any depth.
fn encode3(reply: &Reply, out: &mut BytesMut) {
    match reply {
        Reply::Null => out.extend_from_slice(b"_\r\n"),
        Reply::Array(items) => {
            header(b'*', items.len(), out);
            for item in items {
                encode3(item, out);
            }
        }
        other => encode(other, out),
    }
}

/// Appends `reply` to `out` in RESP2.
pub fn encode(reply: &Reply, out: &mut BytesMut) {
    // Encoding into a growable buffer only fails on frames we never build (see the constructors);
    // should it happen, the client still gets exactly one reply, so the connection stays in step.
    let before = out.len();
    if let Err(e) = extend_encode(out, reply, false) {
        tracing::error!("cannot encode reply {reply:?}: {e}");
        out.truncate(before);
        out.extend_from_slice(b"-ERR internal error encoding the reply\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(reply: Reply) -> Vec<u8> {
        let mut out = BytesMut::new();
        encode(&reply, &mut out);
        out.to_vec()
    }

    #[test]
    fn frames_encode_as_resp2() {
        assert_eq!(wire(ok()), b"+OK\r\n");
        assert_eq!(wire(Reply::Null), b"$-1\r\n");
        assert_eq!(
            wire(bulks(["a", "bc"])),
            b"*2\r\n$1\r\na\r\n$2\r\nbc\r\n".to_vec()
        );
    }

    fn wire_in(response: Response, protocol: Protocol) -> Vec<u8> {
        let mut out = BytesMut::new();
        response.encode(protocol, &mut out);
        out.to_vec()
    }

    #[test]
    fn resp3_types_and_their_resp2_forms() {
        let map = Response::Map(vec![(bulk("proto"), Reply::Integer(3))]);
        assert_eq!(
            wire_in(map.clone(), Protocol::Resp3),
            b"%1\r\n$5\r\nproto\r\n:3\r\n"
        );
        assert_eq!(
            wire_in(map, Protocol::Resp2),
            b"*2\r\n$5\r\nproto\r\n:3\r\n"
        );
        let set = Response::Set(vec![bulk("a")]);
        assert_eq!(wire_in(set.clone(), Protocol::Resp3), b"~1\r\n$1\r\na\r\n");
        assert_eq!(wire_in(set, Protocol::Resp2), b"*1\r\n$1\r\na\r\n");
        let nulls = Response::from(Reply::Array(vec![Reply::Null, Reply::Integer(1)]));
        assert_eq!(
            wire_in(nulls.clone(), Protocol::Resp3),
            b"*2\r\n_\r\n:1\r\n"
        );
        assert_eq!(wire_in(nulls, Protocol::Resp2), b"*2\r\n$-1\r\n:1\r\n");
        assert_eq!(wire_in(ok().into(), Protocol::Resp3), b"+OK\r\n");
    }

    #[test]
    fn errors_cannot_break_the_frame() {
        assert_eq!(wire(error("ERR a\r\nb")), b"-ERR a  b\r\n");
    }
}
